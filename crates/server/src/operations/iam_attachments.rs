//! Managed policies attached to users and groups: Attach/Detach/ListAttached{User,Group}Policies.
//! Only the AWS managed catalogue exists so far (customer managed policies arrive with roles).

use aws_protocol::query::XmlResponse;
use aws_protocol::{AwsError, Protocol};

use super::iam_groups::group_resource;
use super::iam_inline_policies::Owner;
use super::iam_users::user_resource;
use super::{Authorization, Ctx, IAM_NAMESPACE, Operation, iam_operation, internal, query};
use crate::managed;

/// Managed policies per user or group (IAM's default quota).
const ATTACHED_PER_OWNER: i64 = 10;

iam_operation!(ATTACH_USER_POLICY, "AttachUserPolicy", |ctx| Box::pin(user_resource(ctx, false)), |ctx| query(attach(
    ctx,
    Owner::User
)));
iam_operation!(DETACH_USER_POLICY, "DetachUserPolicy", |ctx| Box::pin(user_resource(ctx, false)), |ctx| query(detach(
    ctx,
    Owner::User
)));
iam_operation!(
    LIST_ATTACHED_USER_POLICIES,
    "ListAttachedUserPolicies",
    |ctx| Box::pin(user_resource(ctx, false)),
    |ctx| query(list_attached(ctx, Owner::User))
);
iam_operation!(ATTACH_GROUP_POLICY, "AttachGroupPolicy", |ctx| Box::pin(group_resource(ctx)), |ctx| query(attach(
    ctx,
    Owner::Group
)));
iam_operation!(DETACH_GROUP_POLICY, "DetachGroupPolicy", |ctx| Box::pin(group_resource(ctx)), |ctx| query(detach(
    ctx,
    Owner::Group
)));
iam_operation!(LIST_ATTACHED_GROUP_POLICIES, "ListAttachedGroupPolicies", |ctx| Box::pin(group_resource(ctx)), |ctx| {
    query(list_attached(ctx, Owner::Group))
});

fn quota_name(owner: Owner) -> &'static str {
    match owner {
        Owner::User => "PoliciesPerUser",
        Owner::Group => "PoliciesPerGroup",
    }
}

async fn attach(ctx: &Ctx<'_>, owner: Owner) -> Result<XmlResponse, AwsError> {
    let arn = ctx.required("PolicyArn")?;
    if managed::find(arn).is_none() {
        return Err(AwsError::new("NoSuchEntity", 404, format!("Policy {arn} does not exist or is not attachable.")));
    }
    let key = owner.existing(ctx).await?.to_lowercase();
    let account = ctx.account();
    // Attaching twice is not an error; the quota check and the insert are one statement.
    let attached = ctx
        .app
        .store
        .query(
            "SELECT 1 FROM policy_attachments WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_arn = ?",
            vec![account.into(), owner.kind().into(), key.as_str().into(), arn.into()],
        )
        .await
        .map_err(internal)?;
    if !attached.is_empty() {
        return Ok(ctx.response());
    }
    let inserted = ctx
        .app
        .store
        .execute(
            "INSERT INTO policy_attachments (account_id, owner_kind, owner_key, policy_arn)
             SELECT ?, ?, ?, ?
             WHERE (SELECT COUNT(*) FROM policy_attachments WHERE account_id = ? AND owner_kind = ? AND owner_key = ?) < ?",
            vec![
                account.into(),
                owner.kind().into(),
                key.as_str().into(),
                arn.into(),
                account.into(),
                owner.kind().into(),
                key.as_str().into(),
                store::Value::Int(ATTACHED_PER_OWNER),
            ],
        )
        .await;
    match inserted {
        Ok(1) | Err(store::StoreError::Conflict) => Ok(ctx.response()),
        Ok(_) => Err(AwsError::new(
            "LimitExceeded",
            409,
            format!("Cannot exceed quota for {}: {ATTACHED_PER_OWNER}", quota_name(owner)),
        )),
        Err(error) => Err(internal(error)),
    }
}

async fn detach(ctx: &Ctx<'_>, owner: Owner) -> Result<XmlResponse, AwsError> {
    let arn = ctx.required("PolicyArn")?;
    let key = owner.existing(ctx).await?.to_lowercase();
    let removed = ctx
        .app
        .store
        .execute(
            "DELETE FROM policy_attachments WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_arn = ?",
            vec![ctx.account().into(), owner.kind().into(), key.as_str().into(), arn.into()],
        )
        .await
        .map_err(internal)?;
    if removed == 0 {
        return Err(AwsError::new("NoSuchEntity", 404, format!("Policy {arn} was not found.")));
    }
    Ok(ctx.response())
}

async fn list_attached(ctx: &Ctx<'_>, owner: Owner) -> Result<XmlResponse, AwsError> {
    let key = owner.existing(ctx).await?.to_lowercase();
    let rows = ctx
        .app
        .store
        .query(
            "SELECT policy_arn FROM policy_attachments WHERE account_id = ? AND owner_kind = ? AND owner_key = ? ORDER BY policy_arn",
            vec![ctx.account().into(), owner.kind().into(), key.as_str().into()],
        )
        .await
        .map_err(internal)?;
    let arns: Vec<String> = rows.iter().map(|row| row.text(0).map_err(internal)).collect::<Result<_, _>>()?;
    let mut xml = ctx.response();
    xml.nest("AttachedPolicies", |xml| {
        for arn in &arns {
            let name = arn.rsplit('/').next().unwrap_or(arn);
            xml.nest("member", |xml| {
                xml.element("PolicyName", name).element("PolicyArn", arn);
            });
        }
    });
    xml.element("IsTruncated", "false");
    Ok(xml)
}
