//! Attach/Detach/ListAttached{User,Group,Role}Policies. The attachments, and their quota,
//! are [`super::model::attachments`]. Each operation hands its typed input's `PolicyArn`
//! (`aws_model::iam::Attach{User,Group,Role}PolicyRequest`, ...) to the shared handler.

use aws_model::iam::{
    AttachGroupPolicyRequest, AttachRolePolicyRequest, AttachUserPolicyRequest, DetachGroupPolicyRequest,
    DetachRolePolicyRequest, DetachUserPolicyRequest,
};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::entities::{Kind, existing, existing_modifiable, resource};
use super::model::Added;
use super::model::attachments::{self as model, PER_OWNER};
use super::policies::attachable_policy;
use crate::operations::operation;
use crate::operations::{Ctx, query};

operation!(iam, ATTACH_USER_POLICY, "AttachUserPolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| {
    query(attach(ctx, Kind::User, ctx.input::<AttachUserPolicyRequest>().policy_arn))
});
operation!(iam, DETACH_USER_POLICY, "DetachUserPolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| {
    query(detach(ctx, Kind::User, ctx.input::<DetachUserPolicyRequest>().policy_arn))
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
    |ctx| query(attach(ctx, Kind::Group, ctx.input::<AttachGroupPolicyRequest>().policy_arn))
);
operation!(
    iam,
    DETACH_GROUP_POLICY,
    "DetachGroupPolicy",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::Group)),
    |ctx| query(detach(ctx, Kind::Group, ctx.input::<DetachGroupPolicyRequest>().policy_arn))
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
    query(attach(ctx, Kind::Role, ctx.input::<AttachRolePolicyRequest>().policy_arn))
});
operation!(iam, DETACH_ROLE_POLICY, "DetachRolePolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| {
    query(detach(ctx, Kind::Role, ctx.input::<DetachRolePolicyRequest>().policy_arn))
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

/// `arn`: the request's `PolicyArn`.
async fn attach(ctx: &Ctx<'_>, kind: Kind, arn: &str) -> Result<XmlResponse, AwsError> {
    attachable_policy(ctx, arn).await?;
    let key = existing_modifiable(ctx, kind).await?.key();
    match model::attach(&ctx.app.store, ctx.account(), kind, &key, arn).await? {
        // Attaching twice is not an error.
        Added::New | Added::Already => Ok(ctx.response()),
        Added::OverQuota => Err(AwsError::new(
            "LimitExceeded",
            409,
            format!("Cannot exceed quota for {}: {PER_OWNER}", quota_name(kind)),
        )),
    }
}

/// `arn`: the request's `PolicyArn`.
async fn detach(ctx: &Ctx<'_>, kind: Kind, arn: &str) -> Result<XmlResponse, AwsError> {
    let key = existing_modifiable(ctx, kind).await?.key();
    if !model::detach(&ctx.app.store, ctx.account(), kind, &key, arn).await? {
        return Err(AwsError::new("NoSuchEntity", 404, format!("Policy {arn} was not found.")));
    }
    Ok(ctx.response())
}

async fn list_attached(ctx: &Ctx<'_>, kind: Kind) -> Result<XmlResponse, AwsError> {
    let key = existing(ctx, kind).await?.key();
    let arns = model::of_entity(&ctx.app.store, ctx.account(), kind, &key).await?;
    let mut xml = ctx.response();
    xml.nest("AttachedPolicies", |xml| write_members(xml, &arns));
    xml.element("IsTruncated", "false");
    Ok(xml)
}

/// A `member` (name and ARN) per attached policy.
pub(crate) fn write_members(xml: &mut XmlResponse, arns: &[String]) {
    for arn in arns {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        xml.nest("member", |xml| {
            xml.element("PolicyName", name).element("PolicyArn", arn);
        });
    }
}
