//! Inline policies of users, groups and roles: Put/Get/List/Delete{User,Group,Role}Policy. One
//! set of handlers serves every owner kind; only names, quotas and messages differ. A role's
//! trust policy is not among them (it is the role's own field). Each operation hands its typed
//! input's members (`aws_model::iam::Put{User,Group,Role}PolicyRequest`, ...) to the shared
//! handler; the pipeline has checked the model's constraints.

use aws_model::iam::{
    DeleteGroupPolicyRequest, DeleteRolePolicyRequest, DeleteUserPolicyRequest, GetGroupPolicyRequest,
    GetRolePolicyRequest, GetUserPolicyRequest, PutGroupPolicyRequest, PutRolePolicyRequest, PutUserPolicyRequest,
};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use aws_protocol::sigv4::uri_encode;
use iam_policy::{ErrorCode, PolicyKind, SizeQuota};

use super::entities::{Kind, existing, existing_modifiable, resource};
use super::model::inline as model;
use crate::operations::operation;
use crate::operations::{Ctx, Page, query};

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

operation!(iam, PUT_USER_POLICY, "PutUserPolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| {
    let PutUserPolicyRequest { policy_name, policy_document, .. } = ctx.input();
    query(put_policy(ctx, Kind::User, policy_name, policy_document))
});
operation!(iam, GET_USER_POLICY, "GetUserPolicy", Read, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| query(
    get_policy(ctx, Kind::User, ctx.input::<GetUserPolicyRequest>().policy_name)
));
operation!(iam, LIST_USER_POLICIES, "ListUserPolicies", Read, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| query(
    list_policies(ctx, Kind::User)
));
operation!(iam, DELETE_USER_POLICY, "DeleteUserPolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::User)), |ctx| {
    query(delete_policy(ctx, Kind::User, ctx.input::<DeleteUserPolicyRequest>().policy_name))
});
operation!(iam, PUT_GROUP_POLICY, "PutGroupPolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Group)), |ctx| {
    let PutGroupPolicyRequest { policy_name, policy_document, .. } = ctx.input();
    query(put_policy(ctx, Kind::Group, policy_name, policy_document))
});
operation!(iam, GET_GROUP_POLICY, "GetGroupPolicy", Read, |ctx| Box::pin(resource(ctx, Kind::Group)), |ctx| query(
    get_policy(ctx, Kind::Group, ctx.input::<GetGroupPolicyRequest>().policy_name)
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
    |ctx| query(delete_policy(ctx, Kind::Group, ctx.input::<DeleteGroupPolicyRequest>().policy_name))
);
operation!(iam, PUT_ROLE_POLICY, "PutRolePolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| {
    let PutRolePolicyRequest { policy_name, policy_document, .. } = ctx.input();
    query(put_policy(ctx, Kind::Role, policy_name, policy_document))
});
operation!(iam, GET_ROLE_POLICY, "GetRolePolicy", Read, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| query(
    get_policy(ctx, Kind::Role, ctx.input::<GetRolePolicyRequest>().policy_name)
));
operation!(iam, LIST_ROLE_POLICIES, "ListRolePolicies", Read, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| query(
    list_policies(ctx, Kind::Role)
));
operation!(iam, DELETE_ROLE_POLICY, "DeleteRolePolicy", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| {
    query(delete_policy(ctx, Kind::Role, ctx.input::<DeleteRolePolicyRequest>().policy_name))
});

async fn put_policy(ctx: &Ctx<'_>, kind: Kind, policy_name: &str, document: &str) -> Result<XmlResponse, AwsError> {
    iam_policy::validate(document, PolicyKind::Identity).map_err(policy_error)?;
    // The size quota counts the owner's other policies: the write happens only while they
    // are the ones checked (and the owner exists), else the check runs again.
    for _ in 0..crate::operations::RACE_ATTEMPTS {
        let name = existing_modifiable(ctx, kind).await?.name;
        let key = name.to_lowercase();
        let others = model::others(&ctx.app.store, ctx.account(), kind, &key, policy_name).await?;
        quota(kind, &name)
            .check(others.iter().map(|(_, document)| document.as_str()).chain(std::iter::once(document)))
            .map_err(policy_error)?;
        if model::put(&ctx.app.store, ctx.account(), kind, &key, policy_name, document, &others).await? {
            return Ok(ctx.response());
        }
    }
    Err(crate::iam::errors::concurrent_modification())
}

async fn get_policy(ctx: &Ctx<'_>, kind: Kind, policy_name: &str) -> Result<XmlResponse, AwsError> {
    let name = existing(ctx, kind).await?.name;
    let document = model::document(&ctx.app.store, ctx.account(), kind, &name.to_lowercase(), policy_name)
        .await?
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
    let names = model::names_after(&ctx.app.store, ctx.account(), kind, &name.to_lowercase(), &page.after).await?;
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

async fn delete_policy(ctx: &Ctx<'_>, kind: Kind, policy_name: &str) -> Result<XmlResponse, AwsError> {
    let name = existing_modifiable(ctx, kind).await?.name;
    if !model::delete(&ctx.app.store, ctx.account(), kind, &name.to_lowercase(), policy_name).await? {
        return Err(no_such_policy(kind, policy_name));
    }
    Ok(ctx.response())
}
