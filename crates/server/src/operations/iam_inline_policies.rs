//! Inline policies of users and groups: Put/Get/List/Delete{User,Group}Policy. One set of
//! handlers serves every owner kind; only names, quotas and messages differ.

use aws_protocol::query::XmlResponse;
use aws_protocol::sigv4::uri_encode;
use aws_protocol::{AwsError, Protocol};
use iam_policy::{ErrorCode, PolicyKind, SizeQuota};

use super::iam_groups::{find_group, group_resource};
use super::iam_users::{find_user, user_resource};
use super::{
    Authorization, Ctx, IAM_NAMESPACE, Operation, Page, check_name, iam_operation, internal, no_such_user, query,
};

/// Who an inline policy belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    User,
    Group,
}

impl Owner {
    /// The `owner_kind` column value.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Owner::User => "user",
            Owner::Group => "group",
        }
    }

    pub(crate) fn param(self) -> &'static str {
        match self {
            Owner::User => "UserName",
            Owner::Group => "GroupName",
        }
    }

    /// The owner's name as stored, or IAM's NoSuchEntity.
    pub(crate) async fn existing(self, ctx: &Ctx<'_>) -> Result<String, AwsError> {
        let name = ctx.required(self.param())?;
        match self {
            Owner::User => Ok(find_user(ctx, name).await?.ok_or_else(|| no_such_user(name))?.name),
            Owner::Group => {
                Ok(find_group(ctx, name).await?.ok_or_else(|| super::iam_groups::no_such_group(name))?.name)
            }
        }
    }

    fn quota(self, name: &str) -> SizeQuota<'_> {
        match self {
            Owner::User => SizeQuota::UserInline(name),
            Owner::Group => SizeQuota::GroupInline(name),
        }
    }

    fn no_such_policy(self, policy_name: &str) -> AwsError {
        AwsError::new(
            "NoSuchEntity",
            404,
            format!("The {} policy with name {policy_name} cannot be found.", self.kind()),
        )
    }
}

fn policy_error(error: iam_policy::PolicyError) -> AwsError {
    match error.code {
        ErrorCode::MalformedPolicyDocument => AwsError::new("MalformedPolicyDocument", 400, error.message),
        ErrorCode::LimitExceeded => AwsError::new("LimitExceeded", 409, error.message),
        ErrorCode::ValidationError => AwsError::new("ValidationError", 400, error.message),
    }
}

iam_operation!(PUT_USER_POLICY, "PutUserPolicy", |ctx| Box::pin(user_resource(ctx, false)), |ctx| query(put_policy(
    ctx,
    Owner::User
)));
iam_operation!(GET_USER_POLICY, "GetUserPolicy", |ctx| Box::pin(user_resource(ctx, false)), |ctx| query(get_policy(
    ctx,
    Owner::User
)));
iam_operation!(LIST_USER_POLICIES, "ListUserPolicies", |ctx| Box::pin(user_resource(ctx, false)), |ctx| query(
    list_policies(ctx, Owner::User)
));
iam_operation!(DELETE_USER_POLICY, "DeleteUserPolicy", |ctx| Box::pin(user_resource(ctx, false)), |ctx| query(
    delete_policy(ctx, Owner::User)
));
iam_operation!(PUT_GROUP_POLICY, "PutGroupPolicy", |ctx| Box::pin(group_resource(ctx)), |ctx| query(put_policy(
    ctx,
    Owner::Group
)));
iam_operation!(GET_GROUP_POLICY, "GetGroupPolicy", |ctx| Box::pin(group_resource(ctx)), |ctx| query(get_policy(
    ctx,
    Owner::Group
)));
iam_operation!(LIST_GROUP_POLICIES, "ListGroupPolicies", |ctx| Box::pin(group_resource(ctx)), |ctx| query(
    list_policies(ctx, Owner::Group)
));
iam_operation!(DELETE_GROUP_POLICY, "DeleteGroupPolicy", |ctx| Box::pin(group_resource(ctx)), |ctx| query(
    delete_policy(ctx, Owner::Group)
));

async fn put_policy(ctx: &Ctx<'_>, owner: Owner) -> Result<XmlResponse, AwsError> {
    let policy_name = ctx.required("PolicyName")?;
    check_name(policy_name, "policyName", 128)?;
    let document = ctx.required("PolicyDocument")?;
    iam_policy::validate(document, PolicyKind::Identity).map_err(policy_error)?;
    let name = owner.existing(ctx).await?;
    let key = name.to_lowercase();
    let others = ctx
        .app
        .store
        .query(
            "SELECT document FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name <> ?",
            vec![ctx.account().into(), owner.kind().into(), key.as_str().into(), policy_name.into()],
        )
        .await
        .map_err(internal)?;
    let others: Vec<String> = others.iter().map(|row| row.text(0).map_err(internal)).collect::<Result<_, _>>()?;
    owner
        .quota(&name)
        .check(others.iter().map(String::as_str).chain(std::iter::once(document)))
        .map_err(policy_error)?;
    let target = vec![ctx.account().into(), owner.kind().into(), key.as_str().into(), policy_name.into()];
    let mut insert = target.clone();
    insert.push(document.into());
    ctx.app
        .store
        .transaction(vec![
            store::Statement::new(
                "DELETE FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name = ?",
                target,
            ),
            store::Statement::new(
                "INSERT INTO inline_policies (account_id, owner_kind, owner_key, policy_name, document) VALUES (?, ?, ?, ?, ?)",
                insert,
            ),
        ])
        .await
        .map_err(internal)?;
    Ok(ctx.response())
}

async fn get_policy(ctx: &Ctx<'_>, owner: Owner) -> Result<XmlResponse, AwsError> {
    let policy_name = ctx.required("PolicyName")?;
    let name = owner.existing(ctx).await?;
    let rows = ctx
        .app
        .store
        .query(
            "SELECT document FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name = ?",
            vec![ctx.account().into(), owner.kind().into(), name.to_lowercase().into(), policy_name.into()],
        )
        .await
        .map_err(internal)?;
    let document = rows
        .first()
        .map(|row| row.text(0).map_err(internal))
        .transpose()?
        .ok_or_else(|| owner.no_such_policy(policy_name))?;
    let mut xml = ctx.response();
    // IAM returns policy documents URL-encoded.
    xml.element(owner.param(), &name)
        .element("PolicyName", policy_name)
        .element("PolicyDocument", &uri_encode(&document, false));
    Ok(xml)
}

async fn list_policies(ctx: &Ctx<'_>, owner: Owner) -> Result<XmlResponse, AwsError> {
    let name = owner.existing(ctx).await?;
    let page = Page::from_params(ctx)?;
    let rows = ctx
        .app
        .store
        .query(
            "SELECT policy_name FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name > ? ORDER BY policy_name",
            vec![ctx.account().into(), owner.kind().into(), name.to_lowercase().into(), page.after.as_str().into()],
        )
        .await
        .map_err(internal)?;
    let names: Vec<String> = rows.iter().map(|row| row.text(0).map_err(internal)).collect::<Result<_, _>>()?;
    let (shown, next) = page.cut(&names, Clone::clone);
    let mut xml = ctx.response();
    xml.nest("PolicyNames", |xml| {
        for name in shown {
            xml.element("member", name);
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

async fn delete_policy(ctx: &Ctx<'_>, owner: Owner) -> Result<XmlResponse, AwsError> {
    let policy_name = ctx.required("PolicyName")?;
    let name = owner.existing(ctx).await?;
    let deleted = ctx
        .app
        .store
        .execute(
            "DELETE FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name = ?",
            vec![ctx.account().into(), owner.kind().into(), name.to_lowercase().into(), policy_name.into()],
        )
        .await
        .map_err(internal)?;
    if deleted == 0 {
        return Err(owner.no_such_policy(policy_name));
    }
    Ok(ctx.response())
}
