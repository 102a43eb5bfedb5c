//! IAM users: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser (tags and permissions
//! boundaries travel with the user: set on create, moved on rename, removed on delete).
//! Handlers read their typed input (`aws_model::iam::*Request`): the pipeline has checked the
//! model's constraints (names, paths, the boundary's ARN length, the tags' size and characters).

use aws_model::iam::{CreateUserRequest, DeleteUserRequest, GetUserRequest, UpdateUserRequest};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::boundaries;
use super::entities::{self, Entity, Kind, find, find_stored, insert, list, resource, resource_and_renamed};
use super::model::tags::{self, Tag, Tagged};
use super::model::users::{self as model, UserHeldBy};
use super::tag_list;
use crate::auth::Principal;
use crate::iam::errors::no_such_user;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, query};

/// The stored user of that name (compared case-insensitively, as IAM does).
pub(crate) async fn find_user(ctx: &Ctx<'_>, name: &str) -> Result<Option<Entity>, AwsError> {
    find(ctx, Kind::User, name).await
}

/// The ARN of the user a request names (with its path when it exists, else the `Path`
/// parameter or `/`), or of the caller when it names none and `or_caller` allows it.
pub(crate) async fn user_resource(ctx: &Ctx<'_>, or_caller: bool) -> Result<Vec<String>, AwsError> {
    if or_caller && ctx.params.get("UserName").is_none() {
        return Ok(vec![ctx.identity.arn()]);
    }
    resource(ctx, Kind::User).await
}

operation!(iam, CREATE_USER, "CreateUser", IamWrite, |ctx| Box::pin(user_resource(ctx, false)), |ctx| query(
    create_user(ctx)
));

async fn create_user(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let CreateUserRequest { permissions_boundary, tags, .. } = ctx.input();
    let tags = tag_list::from_members(&tags)?;
    let boundary = boundaries::checked(ctx, permissions_boundary).await?;
    let account = ctx.account();
    let user = insert(ctx, Kind::User, Vec::new(), |key| {
        let mut also = tags::set_statements(account, USER, key, &tags);
        if let Some(arn) = &boundary {
            also.extend(super::model::boundaries::set(account, Kind::User, key, arn));
        }
        also
    })
    .await?;
    let mut xml = ctx.response();
    xml.nest("User", |xml| {
        entities::write(xml, &user, account);
        boundaries::write(xml, boundary.as_deref());
        tag_list::write(xml, &tags);
    });
    Ok(xml)
}

const USER: Tagged = Tagged::Entity(Kind::User);

operation!(iam, GET_USER, "GetUser", Read, |ctx| Box::pin(user_resource(ctx, true)), |ctx| query(get_user(ctx)));

async fn get_user(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let GetUserRequest { user_name } = ctx.input();
    let user = match (user_name, &ctx.identity.principal) {
        // The caller itself, as authenticated (the cache behind it never outlives a change).
        (named, Principal::User { name, user_id, path, created_at })
            if named.is_none_or(|named| named.to_lowercase() == name.to_lowercase()) =>
        {
            Entity {
                kind: Kind::User,
                name: name.clone(),
                id: user_id.clone(),
                path: path.clone(),
                created_at: *created_at,
            }
        }
        (Some(name), _) => find_user(ctx, name).await?.ok_or_else(|| no_such_user(name))?,
        (None, _) => {
            // The root user describes itself as AWS does: its account id and root ARN.
            let mut xml = ctx.response();
            xml.nest("User", |xml| {
                xml.element("UserId", ctx.account())
                    .element("Arn", &ctx.identity.arn())
                    .element("CreateDate", &ids::iso8601(0));
            });
            return Ok(xml);
        }
    };
    // Its boundary and tags are part of its permissions, which the cache holds (a user
    // asking about itself, the common case, then costs no query).
    let key = user.name.to_lowercase();
    let permissions = crate::authz::owner_permissions(ctx.app, ctx.account(), Kind::User, &key).await?;
    let boundary = permissions.boundary.as_ref().map(|(arn, _)| arn.as_str());
    let tags: Vec<Tag> =
        permissions.tags.iter().map(|(key, value)| Tag { key: key.clone(), value: value.clone() }).collect();
    let mut xml = ctx.response();
    xml.nest("User", |xml| {
        entities::write(xml, &user, ctx.account());
        boundaries::write(xml, boundary);
        tag_list::write(xml, &tags);
    });
    Ok(xml)
}

operation!(
    iam,
    LIST_USERS,
    "ListUsers",
    Read,
    |ctx| Box::pin(async move { Ok(vec![format!("arn:aws:iam::{}:user/", ctx.account())]) }),
    |ctx| query(list(ctx, Kind::User))
);

operation!(iam, DELETE_USER, "DeleteUser", IamWrite, |ctx| Box::pin(user_resource(ctx, false)), |ctx| query(
    delete_user(ctx)
));

async fn delete_user(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let DeleteUserRequest { user_name: name } = ctx.input();
    let key = name.to_lowercase();
    let store = &ctx.app.store;
    // The guards and the delete are one statement: nothing can be attached in between.
    if model::delete(store, ctx.account(), &key).await? {
        return Ok(ctx.response());
    }
    if find_stored(ctx, Kind::User, name).await?.is_none() {
        return Err(no_such_user(name));
    }
    let message = match model::held_by(store, ctx.account(), &key).await? {
        Some(UserHeldBy::LoginProfile) => "Cannot delete entity, must delete login profile first.",
        Some(UserHeldBy::AccessKeys) => "Cannot delete entity, must delete access keys first.",
        Some(UserHeldBy::MfaDevices) => "Cannot delete entity, must delete MFA device first.",
        Some(UserHeldBy::SigningCertificates) => "Cannot delete entity, must delete certificates first.",
        Some(UserHeldBy::ReferencedObjects) => "Cannot delete entity, must remove referenced objects first.",
        Some(UserHeldBy::Groups) => "Cannot delete entity, must remove user from group first.",
        Some(UserHeldBy::AttachedPolicies) => "Cannot delete entity, must detach all policies first.",
        Some(UserHeldBy::InlinePolicies) | None => "Cannot delete entity, must delete policies first.",
    };
    Err(AwsError::new("DeleteConflict", 409, message))
}

operation!(
    iam,
    UPDATE_USER,
    "UpdateUser",
    IamWrite,
    |ctx| Box::pin(resource_and_renamed(ctx, Kind::User, "NewUserName")),
    |ctx| query(update_user(ctx))
);

async fn update_user(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UpdateUserRequest { user_name: name, new_path, new_user_name } = ctx.input();
    let user = find_user(ctx, name).await?.ok_or_else(|| no_such_user(name))?;
    let new_name = new_user_name.unwrap_or(&user.name);
    let new_path = new_path.unwrap_or(&user.path);
    // The user, its keys, its policies and its memberships move together.
    if !model::rename(&ctx.app.store, ctx.account(), &user.key(), new_name, new_path).await? {
        return Err(AwsError::new("EntityAlreadyExists", 409, format!("User with name {new_name} already exists.")));
    }
    Ok(ctx.response())
}
