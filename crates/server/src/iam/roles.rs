//! IAM roles: Create/Get/List/Update/DeleteRole, UpdateRoleDescription,
//! UpdateAssumeRolePolicy and CreateServiceLinkedRole.
//!
//! A role's trust policy is validated as a trust policy (it must name principals) and sized
//! against IAM's 2,048-character quota; a role is deleted only when no inline policy,
//! attachment or instance profile holds it, checked in the deleting statement itself.

use aws_model::iam::{
    CreateRoleRequest, UpdateAssumeRolePolicyRequest, UpdateRoleDescriptionRequest, UpdateRoleRequest,
};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use aws_protocol::sigv4::uri_encode;
use iam_policy::{PolicyKind, SizeQuota};

use super::boundaries;
use super::entities::{self, Entity, Kind, insert, resource};
use super::inline_policies::policy_error;
use super::model::roles::{self as model, RoleDetail, RoleHeldBy};
use super::model::tags::{self, Tagged};
use super::tag_list;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, Page, query, validation};

pub(crate) use super::model::roles::Role;

/// Session lengths a role may allow, in seconds, and the default.
pub(crate) const MAX_SESSION_DURATION: std::ops::RangeInclusive<i64> = 3_600..=43_200;

/// The fields of IAM's `Role` shape that ListRoles returns too.
pub(crate) fn write_summary(xml: &mut XmlResponse, role: &Role, account: &str) {
    entities::write(xml, &role.entity, account);
    // IAM returns policy documents URL-encoded.
    xml.element("AssumeRolePolicyDocument", &uri_encode(&role.trust_policy, false));
    if let Some(description) = &role.description {
        xml.element("Description", description);
    }
    xml.element("MaxSessionDuration", &role.max_session_duration.to_string());
}

/// The role of that name (case-insensitively), if it exists (what other services ask).
pub(crate) async fn find_role(store: &store::Store, account: &str, name: &str) -> Result<Option<Role>, AwsError> {
    Ok(model::find(store, account, name).await?)
}

/// Whether `role` is the role the request was authorized on, when the request's target is a
/// role: one replaced under the same name since is not (the caller gets NoSuchEntity, as if
/// it had been read a moment later).
fn is_target(ctx: &Ctx<'_>, role: &Entity) -> bool {
    ctx.target
        .get()
        .filter(|target| target.kind == Kind::Role && target.key() == role.key())
        .is_none_or(|target| target.id == role.id)
}

/// The role the request's `RoleName` names, or NoSuchEntity.
pub(crate) async fn existing_role(ctx: &Ctx<'_>) -> Result<Role, AwsError> {
    let name = ctx.required("RoleName")?;
    find_role(&ctx.app.store, ctx.account(), name)
        .await?
        .filter(|role| is_target(ctx, &role.entity))
        .ok_or_else(|| entities::no_such(Kind::Role, name))
}

/// The role the request's `RoleName` names, with its boundary and tags, or NoSuchEntity.
async fn existing_role_detail(ctx: &Ctx<'_>) -> Result<RoleDetail, AwsError> {
    let name = ctx.required("RoleName")?;
    model::detail(&ctx.app.store, ctx.account(), name)
        .await?
        .filter(|detail| is_target(ctx, &detail.role.entity))
        .ok_or_else(|| entities::no_such(Kind::Role, name))
}

/// `role` with its boundary and tags as stored now (after a write that set them).
pub(crate) async fn with_detail(ctx: &Ctx<'_>, role: Role) -> Result<RoleDetail, AwsError> {
    let key = role.entity.key();
    let boundary = super::model::boundaries::boundary_of(&ctx.app.store, ctx.account(), Kind::Role, &key).await?;
    let tags = tags::load(&ctx.app.store, ctx.account(), Tagged::Entity(Kind::Role), &key).await?;
    Ok(RoleDetail { role, boundary, tags })
}

/// The full `Role` shape of GetRole, CreateRole and UpdateRoleDescription.
pub(crate) fn write_role(xml: &mut XmlResponse, detail: &RoleDetail, account: &str) {
    let role = &detail.role;
    xml.nest("Role", |xml| {
        write_summary(xml, role, account);
        boundaries::write(xml, detail.boundary.as_deref());
        tag_list::write(xml, &detail.tags);
        xml.nest("RoleLastUsed", |xml| {
            if let Some((at, region)) = &role.last_used {
                xml.element("LastUsedDate", &ids::iso8601(*at)).element("Region", region);
            }
        });
    });
}

/// Validates a trust policy document as IAM does for CreateRole and UpdateAssumeRolePolicy,
/// and binds the users and roles it names to their unique ids (what is stored beside it).
async fn check_trust_policy(ctx: &Ctx<'_>, document: &str) -> Result<String, AwsError> {
    iam_policy::validate(document, PolicyKind::Trust).map_err(policy_error)?;
    SizeQuota::TrustPolicy.check([document]).map_err(policy_error)?;
    crate::principals::bind(&ctx.app.store, ctx.account(), document, false).await.map_err(|error| match error {
        crate::principals::BindError::NoSuchPrincipal(arn) => {
            AwsError::new("MalformedPolicyDocument", 400, format!("Invalid principal in policy: \"AWS\":\"{arn}\""))
        }
        crate::principals::BindError::Store(error) => error,
    })
}

/// A `MaxSessionDuration` that is not a number: the model's range is checked by the pipeline,
/// but a value that does not parse passes it, and is refused rather than dropped.
fn check_max_session_duration(ctx: &Ctx<'_>, seconds: Option<i64>) -> Result<Option<i64>, AwsError> {
    match (seconds, ctx.params.get("MaxSessionDuration")) {
        (None, Some(text)) => Err(validation(format!(
            "1 validation error detected: Value '{text}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200"
        ))),
        _ => Ok(seconds),
    }
}

operation!(iam, CREATE_ROLE, "CreateRole", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| query(
    create_role(ctx)
));

async fn create_role(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let CreateRoleRequest {
        assume_role_policy_document: trust_policy,
        description,
        max_session_duration,
        permissions_boundary,
        tags,
        ..
    } = ctx.input();
    let description = description.map(str::to_owned);
    let max_session_duration =
        check_max_session_duration(ctx, max_session_duration)?.unwrap_or(*MAX_SESSION_DURATION.start());
    let trust_principals = check_trust_policy(ctx, trust_policy).await?;
    let tags = tag_list::from_members(&tags)?;
    let boundary = boundaries::checked(ctx, permissions_boundary).await?;
    let columns = model::columns(description.clone(), max_session_duration, trust_policy, Some(trust_principals));
    let account = ctx.account();
    let entity = insert(ctx, Kind::Role, columns, |key| {
        let mut also = tags::set_statements(account, Tagged::Entity(Kind::Role), key, &tags);
        if let Some(arn) = &boundary {
            also.extend(super::model::boundaries::set(account, Kind::Role, key, arn));
        }
        also
    })
    .await?;
    let role =
        Role { entity, description, max_session_duration, trust_policy: trust_policy.to_owned(), last_used: None };
    let detail = with_detail(ctx, role).await?;
    let mut xml = ctx.response();
    write_role(&mut xml, &detail, ctx.account());
    Ok(xml)
}

operation!(iam, GET_ROLE, "GetRole", Read, |ctx| Box::pin(role_detail_resource(ctx)), |ctx| query(get_role(ctx)));

/// GetRole's resource, as [`resource`] finds it, read with its boundary and tags in the same
/// statement: the role becomes the request's target and the handler answers from this read.
async fn role_detail_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let name = ctx.required("RoleName")?;
    let Some(detail) = model::detail(&ctx.app.store, ctx.account(), name).await? else {
        return resource(ctx, Kind::Role).await;
    };
    let arn = detail.role.arn(ctx.account());
    let _ = ctx.target.set(detail.role.entity.clone());
    ctx.prefetch(detail);
    Ok(vec![arn])
}

async fn get_role(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let mut xml = ctx.response();
    match ctx.prefetched::<RoleDetail>() {
        Some(detail) => write_role(&mut xml, detail, ctx.account()),
        None => write_role(&mut xml, &existing_role_detail(ctx).await?, ctx.account()),
    }
    Ok(xml)
}

operation!(
    iam,
    LIST_ROLES,
    "ListRoles",
    Read,
    |ctx| Box::pin(async move { Ok(vec![format!("arn:aws:iam::{}:role/", ctx.account())]) }),
    |ctx| query(list_roles(ctx))
);

async fn list_roles(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let page = Page::from_params(ctx)?;
    let listed = model::page(&ctx.app.store, ctx.account(), entities::window(ctx, &page)).await?;
    let (roles, next) = page.cut(&listed, |role| role.entity.key());
    let mut xml = ctx.response();
    xml.nest("Roles", |xml| {
        for role in roles {
            xml.nest("member", |xml| write_summary(xml, role, ctx.account()));
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

operation!(iam, UPDATE_ROLE, "UpdateRole", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| query(
    update_role(ctx)
));

async fn update_role(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UpdateRoleRequest { description, max_session_duration, .. } = ctx.input();
    let role = existing_role(ctx).await?;
    let description = description.map(str::to_owned).or(role.description);
    let max_session_duration =
        check_max_session_duration(ctx, max_session_duration)?.unwrap_or(role.max_session_duration);
    set_role_fields(ctx, &role.entity, description, max_session_duration).await?;
    Ok(ctx.response())
}

async fn set_role_fields(
    ctx: &Ctx<'_>,
    entity: &Entity,
    description: Option<String>,
    max_session_duration: i64,
) -> Result<(), AwsError> {
    Ok(model::set_fields(&ctx.app.store, ctx.account(), &entity.id, description, max_session_duration).await?)
}

operation!(
    iam,
    UPDATE_ROLE_DESCRIPTION,
    "UpdateRoleDescription",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::Role)),
    |ctx| { query(update_role_description(ctx)) }
);

async fn update_role_description(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UpdateRoleDescriptionRequest { description, .. } = ctx.input();
    let mut role = existing_role(ctx).await?;
    role.description = Some(description.to_owned());
    set_role_fields(ctx, &role.entity, role.description.clone(), role.max_session_duration).await?;
    let detail = with_detail(ctx, role).await?;
    let mut xml = ctx.response();
    write_role(&mut xml, &detail, ctx.account());
    Ok(xml)
}

operation!(
    iam,
    UPDATE_ASSUME_ROLE_POLICY,
    "UpdateAssumeRolePolicy",
    IamWrite,
    |ctx| Box::pin(resource(ctx, Kind::Role)),
    |ctx| { query(update_assume_role_policy(ctx)) }
);

async fn update_assume_role_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UpdateAssumeRolePolicyRequest { policy_document: document, .. } = ctx.input();
    let trust_principals = check_trust_policy(ctx, document).await?;
    let role = existing_role(ctx).await?;
    entities::modifiable(&role.entity)?;
    model::set_trust_policy(&ctx.app.store, ctx.account(), &role.entity.id, document, &trust_principals).await?;
    Ok(ctx.response())
}

operation!(iam, DELETE_ROLE, "DeleteRole", IamWrite, |ctx| Box::pin(resource(ctx, Kind::Role)), |ctx| query(
    delete_role(ctx)
));

async fn delete_role(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let role = existing_role(ctx).await?;
    entities::modifiable(&role.entity)?;
    let key = role.entity.key();
    if model::delete(&ctx.app.store, ctx.account(), &key).await? {
        return Ok(ctx.response());
    }
    let message = match model::held_by(&ctx.app.store, ctx.account(), &key).await? {
        Some(RoleHeldBy::InstanceProfiles) => "Cannot delete entity, must remove roles from instance profile first.",
        Some(RoleHeldBy::AttachedPolicies) => "Cannot delete entity, must detach all policies first.",
        Some(RoleHeldBy::InlinePolicies) | None => "Cannot delete entity, must delete policies first.",
    };
    Err(AwsError::new("DeleteConflict", 409, message))
}
