//! IAM users: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser (tags and permissions
//! boundaries travel with the user: set on create, moved on rename, removed on delete).

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::boundaries;
use super::entities::{Entity, Kind, find, find_stored, insert, list, resource};
use super::tags::{self, Tagged};
use crate::auth::Principal;
use crate::iam::errors::no_such_user;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, check_name, check_path, internal, query};

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
    let tags = tags::from_params(ctx)?;
    let boundary = boundaries::from_params(ctx).await?;
    let account = ctx.account();
    let user = insert(ctx, Kind::User, Vec::new(), |key| {
        let mut also = tags::set_statements(account, USER, key, &tags);
        if let Some(arn) = &boundary {
            also.extend(boundaries::set_statements(account, Kind::User, key, arn));
        }
        also
    })
    .await?;
    let mut xml = ctx.response();
    xml.nest("User", |xml| {
        user.write(xml, account);
        boundaries::write(xml, boundary.as_deref());
        tags::write(xml, &tags);
    });
    Ok(xml)
}

const USER: Tagged = Tagged::Entity(Kind::User);

operation!(iam, GET_USER, "GetUser", Read, |ctx| Box::pin(user_resource(ctx, true)), |ctx| query(get_user(ctx)));

async fn get_user(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let user = match (ctx.params.get("UserName"), &ctx.identity.principal) {
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
    let permissions = crate::authz::owner_permissions(ctx.app, ctx.account(), "user", &key).await?;
    let boundary = permissions.boundary.as_ref().map(|(arn, _)| arn.as_str());
    let tags: Vec<tags::Tag> =
        permissions.tags.iter().map(|(key, value)| tags::Tag { key: key.clone(), value: value.clone() }).collect();
    let mut xml = ctx.response();
    xml.nest("User", |xml| {
        user.write(xml, ctx.account());
        boundaries::write(xml, boundary);
        tags::write(xml, &tags);
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
    let name = ctx.required("UserName")?;
    let key = name.to_lowercase();
    let store = &ctx.app.store;
    // The guards and the delete are one statement: nothing can be attached in between.
    let deleted = store
        .transaction(vec![store::Statement::guard(
            "DELETE FROM users WHERE account_id = ? AND name_key = ?
               AND NOT EXISTS (SELECT 1 FROM access_keys WHERE account_id = ? AND user_name_key = ?)
               AND NOT EXISTS (SELECT 1 FROM inline_policies WHERE account_id = ? AND owner_kind = 'user' AND owner_key = ?)
               AND NOT EXISTS (SELECT 1 FROM group_members WHERE account_id = ? AND user_key = ?)
               AND NOT EXISTS (SELECT 1 FROM policy_attachments WHERE account_id = ? AND owner_kind = 'user' AND owner_key = ?)",
            vec![
                ctx.account().into(),
                key.as_str().into(),
                ctx.account().into(),
                key.as_str().into(),
                ctx.account().into(),
                key.as_str().into(),
                ctx.account().into(),
                key.as_str().into(),
                ctx.account().into(),
                key.as_str().into(),
            ],
        ),
        boundaries::delete_statement(ctx.account(), Kind::User, &key),
        tags::delete_all(ctx.account(), USER, &key),
        ])
        .await;
    match deleted {
        Ok(_) => return Ok(ctx.response()),
        Err(store::StoreError::Unmet(_)) => {}
        Err(error) => return Err(internal(error)),
    }
    if find_stored(ctx, Kind::User, name).await?.is_none() {
        return Err(no_such_user(name));
    }
    let attached = |sql: &'static str| {
        let params = vec![ctx.account().into(), key.as_str().into()];
        async move { store.query(sql, params).await.map(|rows| !rows.is_empty()).map_err(internal) }
    };
    let message = if attached("SELECT 1 FROM access_keys WHERE account_id = ? AND user_name_key = ?").await? {
        "Cannot delete entity, must delete access keys first."
    } else if attached("SELECT 1 FROM group_members WHERE account_id = ? AND user_key = ?").await? {
        "Cannot delete entity, must remove user from group first."
    } else if attached(
        "SELECT 1 FROM policy_attachments WHERE account_id = ? AND owner_kind = 'user' AND owner_key = ?",
    )
    .await?
    {
        "Cannot delete entity, must detach all policies first."
    } else {
        "Cannot delete entity, must delete policies first."
    };
    Err(AwsError::new("DeleteConflict", 409, message))
}

operation!(iam, UPDATE_USER, "UpdateUser", IamWrite, |ctx| Box::pin(update_user_resources(ctx)), |ctx| query(
    update_user(ctx)
));

/// UpdateUser is authorized on the user as it is and, when it is renamed or moved, on the user
/// as it will be (as IAM documents): a caller cannot move itself under a path, or to a name,
/// that its policies would not let it act on.
async fn update_user_resources(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let mut resources = resource(ctx, Kind::User).await?;
    if let Some(user) = ctx.target.get() {
        let name = ctx.params.get("NewUserName").unwrap_or(&user.name);
        let path = ctx.params.get("NewPath").unwrap_or(&user.path);
        let renamed = super::entities::arn(Kind::User, ctx.account(), path, name);
        if !resources.contains(&renamed) {
            resources.push(renamed);
        }
    }
    Ok(resources)
}

async fn update_user(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let name = ctx.required("UserName")?;
    let user = find_user(ctx, name).await?.ok_or_else(|| no_such_user(name))?;
    let new_name = ctx.params.get("NewUserName").unwrap_or(&user.name).to_owned();
    check_name(&new_name, "newUserName", 64)?;
    let new_path = ctx.params.get("NewPath").unwrap_or(&user.path).to_owned();
    check_path(&new_path)?;
    let (old_key, new_key) = (user.name.to_lowercase(), new_name.to_lowercase());
    let account = ctx.account();
    // The user, its keys, its policies and its memberships move together.
    let rename = |table: &str, column: &str, condition: &str| {
        store::Statement::new(
            format!("UPDATE {table} SET {column} = ? WHERE account_id = ? AND {column} = ?{condition}"),
            vec![new_key.as_str().into(), account.into(), old_key.as_str().into()],
        )
    };
    let updated = ctx
        .app
        .store
        .transaction(vec![
            store::Statement::new(
                "UPDATE users SET name_key = ?, name = ?, path = ? WHERE account_id = ? AND name_key = ?",
                vec![
                    new_key.as_str().into(),
                    new_name.as_str().into(),
                    new_path.as_str().into(),
                    account.into(),
                    old_key.as_str().into(),
                ],
            ),
            rename("access_keys", "user_name_key", ""),
            rename("inline_policies", "owner_key", " AND owner_kind = 'user'"),
            rename("group_members", "user_key", ""),
            rename("policy_attachments", "owner_key", " AND owner_kind = 'user'"),
            rename("permissions_boundaries", "owner_key", " AND owner_kind = 'user'"),
            rename("tags", "resource_key", " AND resource_kind = 'user'"),
        ])
        .await;
    match updated {
        Ok(_) => Ok(ctx.response()),
        Err(store::StoreError::Conflict) => {
            Err(AwsError::new("EntityAlreadyExists", 409, format!("User with name {new_name} already exists.")))
        }
        Err(error) => Err(internal(error)),
    }
}
