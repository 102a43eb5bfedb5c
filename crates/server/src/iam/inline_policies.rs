//! Inline policies of users, groups and roles: Put/Get/List/Delete{User,Group,Role}Policy. One
//! set of handlers serves every owner kind; only names, quotas and messages differ. A role's
//! trust policy is not among them (it is the role's own field).

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use aws_protocol::sigv4::uri_encode;
use iam_policy::{ErrorCode, PolicyKind, SizeQuota};

use super::entities::{Kind, existing, resource};
use crate::operations::operation;
use crate::operations::{Ctx, Page, check_name, internal, query};

fn quota(kind: Kind, name: &str) -> SizeQuota<'_> {
    match kind {
        Kind::User => SizeQuota::UserInline(name),
        // Instance profiles hold no policies; no operation asks.
        Kind::Group | Kind::InstanceProfile => SizeQuota::GroupInline(name),
        Kind::Role => SizeQuota::RoleInline(name),
    }
}

fn no_such_policy(kind: Kind, policy_name: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("The {} policy with name {policy_name} cannot be found.", kind.noun()))
}

pub(crate) fn policy_error(error: iam_policy::PolicyError) -> AwsError {
    match error.code {
        ErrorCode::MalformedPolicyDocument => AwsError::new("MalformedPolicyDocument", 400, error.message),
        ErrorCode::LimitExceeded => AwsError::new("LimitExceeded", 409, error.message),
        ErrorCode::ValidationError => AwsError::new("ValidationError", 400, error.message),
    }
}

operation!(iam, PUT_USER_POLICY, "PutUserPolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| query(
    put_policy(ctx, Kind::User)
));
operation!(iam, GET_USER_POLICY, "GetUserPolicy", Read, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| query(
    get_policy(ctx, Kind::User)
));
operation!(iam, LIST_USER_POLICIES, "ListUserPolicies", Read, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| query(
    list_policies(ctx, Kind::User)
));
operation!(iam, DELETE_USER_POLICY, "DeleteUserPolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| {
    query(delete_policy(ctx, Kind::User))
});
operation!(iam, PUT_GROUP_POLICY, "PutGroupPolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Group)), |ctx| query(
    put_policy(ctx, Kind::Group)
));
operation!(iam, GET_GROUP_POLICY, "GetGroupPolicy", Read, |ctx| Box::pin(resource(ctx, Kind::Group)), |ctx| query(
    get_policy(ctx, Kind::Group)
));
operation!(iam, LIST_GROUP_POLICIES, "ListGroupPolicies", Read, |ctx| Box::pin(resource(ctx, Kind::Group)), |ctx| {
    query(list_policies(ctx, Kind::Group))
});
operation!(
    iam,
    DELETE_GROUP_POLICY,
    "DeleteGroupPolicy",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::Group)),
    |ctx| query(delete_policy(ctx, Kind::Group))
);
operation!(iam, PUT_ROLE_POLICY, "PutRolePolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| query(
    put_policy(ctx, Kind::Role)
));
operation!(iam, GET_ROLE_POLICY, "GetRolePolicy", Read, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| query(
    get_policy(ctx, Kind::Role)
));
operation!(iam, LIST_ROLE_POLICIES, "ListRolePolicies", Read, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| query(
    list_policies(ctx, Kind::Role)
));
operation!(iam, DELETE_ROLE_POLICY, "DeleteRolePolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| {
    query(delete_policy(ctx, Kind::Role))
});

async fn put_policy(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let policy_name = ctx.required("PolicyName")?;
    check_name(policy_name, "policyName", 128)?;
    let document = ctx.required("PolicyDocument")?;
    iam_policy::validate(document, PolicyKind::Identity).map_err(policy_error)?;
    // The size quota counts the owner's other policies: the write happens only while they
    // are the ones checked (and the owner exists), else the check runs again.
    for _ in 0..crate::operations::RACE_ATTEMPTS {
        let name = existing(ctx, kind).await?.name;
        let key = name.to_lowercase();
        let others = ctx
            .app
            .store
            .query(
                "SELECT policy_name, document FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name <> ?",
                vec![ctx.account().into(), kind.noun().into(), key.as_str().into(), policy_name.into()],
            )
            .await
            .map_err(internal)?;
        let others: Vec<(String, String)> = others
            .iter()
            .map(|row| Ok((row.text(0).map_err(internal)?, row.text(1).map_err(internal)?)))
            .collect::<Result<_, AwsError>>()?;
        quota(kind, &name)
            .check(others.iter().map(|(_, document)| document.as_str()).chain(std::iter::once(document)))
            .map_err(policy_error)?;
        let target = vec![ctx.account().into(), kind.noun().into(), key.as_str().into(), policy_name.into()];
        let mut insert = target.clone();
        insert.push(document.into());
        let written = ctx
            .app
            .store
            .transaction(vec![
                unchanged(ctx.account(), kind, &key, policy_name, &others),
                store::Statement::new(
                    "DELETE FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name = ?",
                    target,
                ),
                store::Statement::new(
                    "INSERT INTO inline_policies (account_id, owner_kind, owner_key, policy_name, document) VALUES (?, ?, ?, ?, ?)",
                    insert,
                ),
            ])
            .await;
        match written {
            Ok(_) => return Ok(ctx.response()),
            Err(store::StoreError::Unmet(_)) => {}
            Err(error) => return Err(internal(error)),
        }
    }
    Err(crate::iam::errors::concurrent_modification())
}

/// The guard of a PutXPolicy: changes the owner's row only while it exists and its policies
/// other than `policy_name` are exactly `others` (name and document), the set the size
/// quota was checked against.
fn unchanged(account: &str, kind: Kind, key: &str, policy_name: &str, others: &[(String, String)]) -> store::Statement {
    let owner = || -> Vec<store::Value> { vec![account.into(), kind.noun().into(), key.into(), policy_name.into()] };
    let counted = i64::try_from(others.len()).unwrap_or(i64::MAX);
    let mut sql = format!(
        "UPDATE {} SET name = name WHERE account_id = ? AND name_key = ?
           AND (SELECT COUNT(*) FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name <> ?) = ?",
        kind.table()
    );
    let mut params: Vec<store::Value> = vec![account.into(), key.into()];
    params.extend(owner());
    params.push(store::Value::Int(counted));
    if !others.is_empty() {
        let pairs = vec!["(policy_name = ? AND document = ?)"; others.len()].join(" OR ");
        sql.push_str(&format!(
            "
           AND (SELECT COUNT(*) FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name <> ? AND ({pairs})) = ?"
        ));
        params.extend(owner());
        for (name, document) in others {
            params.push(name.as_str().into());
            params.push(document.as_str().into());
        }
        params.push(store::Value::Int(counted));
    }
    store::Statement::guard(sql, params)
}

async fn get_policy(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let policy_name = ctx.required("PolicyName")?;
    let name = existing(ctx, kind).await?.name;
    let rows = ctx
        .app
        .store
        .query(
            "SELECT document FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name = ?",
            vec![ctx.account().into(), kind.noun().into(), name.to_lowercase().into(), policy_name.into()],
        )
        .await
        .map_err(internal)?;
    let document = rows
        .first()
        .map(|row| row.text(0).map_err(internal))
        .transpose()?
        .ok_or_else(|| no_such_policy(kind, policy_name))?;
    let mut xml = ctx.response();
    // IAM returns policy documents URL-encoded.
    xml.element(kind.param(), &name)
        .element("PolicyName", policy_name)
        .element("PolicyDocument", &uri_encode(&document, false));
    Ok(xml)
}

async fn list_policies(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let name = existing(ctx, kind).await?.name;
    let page = Page::from_params(ctx)?;
    let rows = ctx
        .app
        .store
        .query(
            "SELECT policy_name FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name > ? ORDER BY policy_name",
            vec![ctx.account().into(), kind.noun().into(), name.to_lowercase().into(), page.after.as_str().into()],
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

async fn delete_policy(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let policy_name = ctx.required("PolicyName")?;
    let name = existing(ctx, kind).await?.name;
    let deleted = ctx
        .app
        .store
        .execute(
            "DELETE FROM inline_policies WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_name = ?",
            vec![ctx.account().into(), kind.noun().into(), name.to_lowercase().into(), policy_name.into()],
        )
        .await
        .map_err(internal)?;
    if deleted == 0 {
        return Err(no_such_policy(kind, policy_name));
    }
    Ok(ctx.response())
}
