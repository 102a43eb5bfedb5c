//! Managed policies attached to users, groups and roles:
//! Attach/Detach/ListAttached{User,Group,Role}Policies. An attachment names the policy by ARN
//! and never copies it, so decisions follow the policy's current default version (or the
//! catalogue, for AWS managed policies).

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::entities::{Kind, existing, resource};
use super::policies::{check_arn, find_policy};
use crate::operations::operation;
use crate::operations::{Ctx, internal, query};

/// Managed policies per user or group (IAM's default quota).
const ATTACHED_PER_OWNER: i64 = 10;

operation!(iam, ATTACH_USER_POLICY, "AttachUserPolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| {
    query(attach(ctx, Kind::User))
});
operation!(iam, DETACH_USER_POLICY, "DetachUserPolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| {
    query(detach(ctx, Kind::User))
});
operation!(
    iam,
    LIST_ATTACHED_USER_POLICIES,
    "ListAttachedUserPolicies",
    Read,
    |ctx| Box::pin(resource(ctx, Kind::User)),
    |ctx| query(list_attached(ctx, Kind::User))
);
operation!(
    iam,
    ATTACH_GROUP_POLICY,
    "AttachGroupPolicy",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::Group)),
    |ctx| query(attach(ctx, Kind::Group))
);
operation!(
    iam,
    DETACH_GROUP_POLICY,
    "DetachGroupPolicy",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::Group)),
    |ctx| query(detach(ctx, Kind::Group))
);
operation!(
    iam,
    LIST_ATTACHED_GROUP_POLICIES,
    "ListAttachedGroupPolicies",
    Read,
    |ctx| Box::pin(resource(ctx, Kind::Group)),
    |ctx| query(list_attached(ctx, Kind::Group))
);
operation!(iam, ATTACH_ROLE_POLICY, "AttachRolePolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| {
    query(attach(ctx, Kind::Role))
});
operation!(iam, DETACH_ROLE_POLICY, "DetachRolePolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| {
    query(detach(ctx, Kind::Role))
});
operation!(
    iam,
    LIST_ATTACHED_ROLE_POLICIES,
    "ListAttachedRolePolicies",
    Read,
    |ctx| Box::pin(resource(ctx, Kind::Role)),
    |ctx| query(list_attached(ctx, Kind::Role))
);

fn quota_name(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "PoliciesPerUser",
        // Instance profiles hold no policies; no operation asks.
        Kind::Group | Kind::InstanceProfile => "PoliciesPerGroup",
        Kind::Role => "PoliciesPerRole",
    }
}

async fn attach(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let arn = ctx.required("PolicyArn")?;
    check_arn(arn)?;
    if find_policy(ctx, arn).await?.is_none() {
        return Err(AwsError::new("NoSuchEntity", 404, format!("Policy {arn} does not exist or is not attachable.")));
    }
    let key = existing(ctx, kind).await?.name.to_lowercase();
    let account = ctx.account();
    // Attaching twice is not an error; the quota check and the insert are one statement.
    let attached = ctx
        .app
        .store
        .query(
            "SELECT 1 FROM policy_attachments WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_arn = ?",
            vec![account.into(), kind.noun().into(), key.as_str().into(), arn.into()],
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
                kind.noun().into(),
                key.as_str().into(),
                arn.into(),
                account.into(),
                kind.noun().into(),
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
            format!("Cannot exceed quota for {}: {ATTACHED_PER_OWNER}", quota_name(kind)),
        )),
        Err(error) => Err(internal(error)),
    }
}

async fn detach(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let arn = ctx.required("PolicyArn")?;
    let key = existing(ctx, kind).await?.name.to_lowercase();
    let removed = ctx
        .app
        .store
        .execute(
            "DELETE FROM policy_attachments WHERE account_id = ? AND owner_kind = ? AND owner_key = ? AND policy_arn = ?",
            vec![ctx.account().into(), kind.noun().into(), key.as_str().into(), arn.into()],
        )
        .await
        .map_err(internal)?;
    if removed == 0 {
        return Err(AwsError::new("NoSuchEntity", 404, format!("Policy {arn} was not found.")));
    }
    Ok(ctx.response())
}

async fn list_attached(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let key = existing(ctx, kind).await?.name.to_lowercase();
    let rows = ctx
        .app
        .store
        .query(
            "SELECT policy_arn FROM policy_attachments WHERE account_id = ? AND owner_kind = ? AND owner_key = ? ORDER BY policy_arn",
            vec![ctx.account().into(), kind.noun().into(), key.as_str().into()],
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
