//! Access keys: CreateAccessKey, ListAccessKeys, DeleteAccessKey. Secrets are sealed before
//! they reach the store and returned exactly once, by CreateAccessKey.

use aws_model::iam::{DeleteAccessKeyRequest, GetAccessKeyLastUsedRequest, UpdateAccessKeyRequest};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::model::access_keys::{self as model, KeyStatus, KeyUse};
use super::users::{find_user, user_resource};
use crate::auth::Principal;
use crate::iam::errors::no_such_user;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, Page, internal, query};

fn no_such_key(access_key_id: &str) -> AwsError {
    AwsError::new("NoSuchEntity", 404, format!("The Access Key with id {access_key_id} cannot be found."))
}

/// The user a request is about: `UserName`, else the caller itself. `None` is the root user.
pub(crate) async fn subject(ctx: &Ctx<'_>) -> Result<Option<String>, AwsError> {
    let name = match (ctx.params.get("UserName"), &ctx.identity.principal) {
        (Some(name), _) => name.to_owned(),
        (None, Principal::User { name, .. }) => name.clone(),
        (None, Principal::Root) => return Ok(None),
        (None, Principal::RoleSession { .. } | Principal::FederatedUser { .. }) => {
            return Err(crate::operations::validation("Must specify userName when calling with non-User credentials"));
        }
    };
    let user = find_user(ctx, &name).await?.ok_or_else(|| no_such_user(&name))?;
    Ok(Some(user.name))
}

operation!(iam, CREATE_ACCESS_KEY, "CreateAccessKey", IamWrite, |ctx| Box::pin(user_resource(ctx, true)), |ctx| query(
    create_access_key(ctx)
));

async fn create_access_key(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let user = subject(ctx).await?;
    let user_key = user.as_ref().map(|name| name.to_lowercase());
    let access_key_id = ids::access_key_id(ctx.account()).map_err(internal)?;
    let secret = ids::secret_access_key().map_err(internal)?;
    let sealed = ctx.app.sealer.seal(secret.as_bytes(), &access_key_id).map_err(internal)?;
    let created_at = ids::now();
    if !model::create(&ctx.app.store, ctx.account(), user_key.as_deref(), &access_key_id, sealed, created_at).await? {
        return Err(AwsError::new("LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2"));
    }
    let mut xml = ctx.response();
    xml.nest("AccessKey", |xml| {
        if let Some(name) = &user {
            xml.element("UserName", name);
        }
        xml.element("AccessKeyId", &access_key_id)
            .element("Status", KeyStatus::Active.as_str())
            .element("SecretAccessKey", &secret)
            .element("CreateDate", &ids::iso8601(created_at));
    });
    Ok(xml)
}

operation!(iam, LIST_ACCESS_KEYS, "ListAccessKeys", Read, |ctx| Box::pin(user_resource(ctx, true)), |ctx| query(
    list_access_keys(ctx)
));

async fn list_access_keys(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let user = subject(ctx).await?;
    let page = Page::from_params(ctx)?;
    let user_key = user.as_ref().map(|name| name.to_lowercase());
    let keys = model::after(&ctx.app.store, ctx.account(), user_key.as_deref(), &page.after).await?;
    let (shown, next) = page.cut(&keys, |key| key.id.clone());
    let mut xml = ctx.response();
    xml.nest("AccessKeyMetadata", |xml| {
        for key in shown {
            xml.nest("member", |xml| {
                if let Some(name) = &user {
                    xml.element("UserName", name);
                }
                xml.element("AccessKeyId", &key.id)
                    .element("Status", key.status.as_str())
                    .element("CreateDate", &ids::iso8601(key.created_at));
            });
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

operation!(iam, DELETE_ACCESS_KEY, "DeleteAccessKey", IamWrite, |ctx| Box::pin(user_resource(ctx, true)), |ctx| query(
    delete_access_key(ctx)
));

async fn delete_access_key(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let DeleteAccessKeyRequest { access_key_id, .. } = ctx.input();
    let user = subject(ctx).await?;
    let user_key = user.as_ref().map(|name| name.to_lowercase());
    if !model::delete(&ctx.app.store, ctx.account(), user_key.as_deref(), access_key_id).await? {
        return Err(no_such_key(access_key_id));
    }
    ctx.app.signing_keys.forget(access_key_id);
    Ok(ctx.response())
}

operation!(iam, UPDATE_ACCESS_KEY, "UpdateAccessKey", IamWrite, |ctx| Box::pin(user_resource(ctx, true)), |ctx| query(
    update_access_key(ctx)
));

async fn update_access_key(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let UpdateAccessKeyRequest { access_key_id, status, .. } = ctx.input();
    let status = parse_status(status)?;
    let user = subject(ctx).await?;
    let user_key = user.as_ref().map(|name| name.to_lowercase());
    if !model::set_status(&ctx.app.store, ctx.account(), user_key.as_deref(), access_key_id, status).await? {
        return Err(no_such_key(access_key_id));
    }
    Ok(ctx.response())
}

/// A request's `Status` (Active or Inactive), as the Update operations of every credential
/// take it. The pipeline has checked the model's enum, so the error is there for a caller that
/// was not validated.
pub(crate) fn parse_status(text: &str) -> Result<KeyStatus, AwsError> {
    KeyStatus::parse(text).ok_or_else(|| {
        crate::operations::validation(format!(
            "1 validation error detected: Value '{text}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
        ))
    })
}

/// The user a request about a user's own credentials is about (`UserName`, else the calling
/// user), as stored; the root user and role sessions must name one.
pub(crate) async fn user_subject(ctx: &Ctx<'_>) -> Result<String, AwsError> {
    subject(ctx)
        .await?
        .ok_or_else(|| crate::operations::validation("Must specify userName when calling with non-User credentials"))
}

operation!(
    iam,
    GET_ACCESS_KEY_LAST_USED,
    "GetAccessKeyLastUsed",
    Read,
    |ctx| Box::pin(key_owner_resource(ctx)),
    |ctx| query(get_access_key_last_used(ctx))
);

/// The key the request's `AccessKeyId` names, as stored: owner (None for root) and last use.
async fn find_key(ctx: &Ctx<'_>) -> Result<Option<KeyUse>, AwsError> {
    let GetAccessKeyLastUsedRequest { access_key_id } = ctx.input();
    Ok(model::last_use(&ctx.app.store, ctx.account(), access_key_id).await?)
}

/// GetAccessKeyLastUsed is authorized on the user who owns the key.
async fn key_owner_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let owner = find_key(ctx).await?.and_then(|key| key.owner);
    Ok(vec![match owner {
        Some(name) => match find_user(ctx, &name).await? {
            Some(user) => crate::auth::user_arn(ctx.account(), &user.path, &user.name),
            None => crate::auth::user_arn(ctx.account(), "/", &name),
        },
        None => format!("arn:aws:iam::{}:root", ctx.account()),
    }])
}

async fn get_access_key_last_used(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let GetAccessKeyLastUsedRequest { access_key_id } = ctx.input();
    // Last use is recorded by the audit importer: let it catch up with this replica.
    ctx.app.audit.sync().await.map_err(internal)?;
    let KeyUse { owner, used_at, service, region } = find_key(ctx).await?.ok_or_else(|| no_such_key(access_key_id))?;
    let mut xml = ctx.response();
    if let Some(name) = &owner {
        xml.element("UserName", name);
    }
    xml.nest("AccessKeyLastUsed", |xml| {
        if let Some(at) = used_at {
            xml.element("LastUsedDate", &ids::iso8601(at));
        }
        xml.element("ServiceName", service.as_deref().unwrap_or("N/A"))
            .element("Region", region.as_deref().unwrap_or("N/A"));
    });
    Ok(xml)
}
