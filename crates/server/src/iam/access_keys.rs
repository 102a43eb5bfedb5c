//! Access keys: CreateAccessKey, ListAccessKeys, DeleteAccessKey. Secrets are sealed before
//! they reach the store and returned exactly once, by CreateAccessKey.

use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;
use store::Value;

use super::users::{find_user, user_resource};
use crate::auth::Principal;
use crate::iam::errors::no_such_user;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, Page, internal, query};

/// Long-term access keys a user may have (IAM's default quota).
const KEYS_PER_USER: i64 = 2;

/// The user a request is about: `UserName`, else the caller itself. `None` is the root user.
async fn subject(ctx: &Ctx<'_>) -> Result<Option<String>, AwsError> {
    let name = match (ctx.params.get("UserName"), &ctx.identity.principal) {
        (Some(name), _) => name.to_owned(),
        (None, Principal::User { name, .. }) => name.clone(),
        (None, Principal::Root) => return Ok(None),
        (None, Principal::RoleSession { .. }) => {
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
    let access_key_id = ids::access_key_id().map_err(internal)?;
    let secret = ids::secret_access_key().map_err(internal)?;
    let sealed = ctx.app.sealer.seal(secret.as_bytes(), &access_key_id).map_err(internal)?;
    let created_at = ids::now();
    // The quota check and the insert are one statement, so two concurrent requests cannot
    // both take the last slot.
    let inserted = ctx
        .app
        .store
        .execute(
            "INSERT INTO access_keys (access_key_id, account_id, user_name_key, secret_sealed, status, created_at)
             SELECT ?, ?, ?, ?, 'Active', ?
             WHERE (SELECT COUNT(*) FROM access_keys WHERE account_id = ? AND user_name_key = ?) < ?",
            vec![
                access_key_id.as_str().into(),
                ctx.account().into(),
                Value::from(user_key.clone()),
                sealed.into(),
                Value::Int(created_at),
                ctx.account().into(),
                Value::from(user_key),
                Value::Int(KEYS_PER_USER),
            ],
        )
        .await
        .map_err(internal)?;
    if inserted == 0 {
        return Err(AwsError::new("LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2"));
    }
    let mut xml = ctx.response();
    xml.nest("AccessKey", |xml| {
        if let Some(name) = &user {
            xml.element("UserName", name);
        }
        xml.element("AccessKeyId", &access_key_id)
            .element("Status", "Active")
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
    let (filter, mut params) = match &user {
        Some(name) => ("user_name_key = ?", vec![Value::from(name.to_lowercase())]),
        None => ("user_name_key IS NULL", vec![]),
    };
    params.insert(0, ctx.account().into());
    params.push(page.after.as_str().into());
    let rows = ctx
        .app
        .store
        .query(
            &format!(
                "SELECT access_key_id, status, created_at FROM access_keys WHERE account_id = ? AND {filter} AND access_key_id > ? ORDER BY access_key_id"
            ),
            params,
        )
        .await
        .map_err(internal)?;
    let keys: Vec<(String, String, i64)> = rows
        .iter()
        .map(|row| Ok((row.text(0).map_err(internal)?, row.text(1).map_err(internal)?, row.int(2).map_err(internal)?)))
        .collect::<Result<_, AwsError>>()?;
    let (shown, next) = page.cut(&keys, |(id, _, _)| id.clone());
    let mut xml = ctx.response();
    xml.nest("AccessKeyMetadata", |xml| {
        for (id, status, created_at) in shown {
            xml.nest("member", |xml| {
                if let Some(name) = &user {
                    xml.element("UserName", name);
                }
                xml.element("AccessKeyId", id)
                    .element("Status", status)
                    .element("CreateDate", &ids::iso8601(*created_at));
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
    let access_key_id = ctx.required("AccessKeyId")?;
    let user = subject(ctx).await?;
    let (filter, owner) = match &user {
        Some(name) => ("user_name_key = ?", vec![Value::from(name.to_lowercase())]),
        None => ("user_name_key IS NULL", vec![]),
    };
    let mut params = vec![Value::from(access_key_id), ctx.account().into()];
    params.extend(owner);
    let deleted = ctx
        .app
        .store
        .execute(&format!("DELETE FROM access_keys WHERE access_key_id = ? AND account_id = ? AND {filter}"), params)
        .await
        .map_err(internal)?;
    if deleted == 0 {
        return Err(AwsError::new(
            "NoSuchEntity",
            404,
            format!("The Access Key with id {access_key_id} cannot be found."),
        ));
    }
    ctx.app.signing_keys.forget(access_key_id);
    Ok(ctx.response())
}

operation!(iam, UPDATE_ACCESS_KEY, "UpdateAccessKey", IamWrite, |ctx| Box::pin(user_resource(ctx, true)), |ctx| query(
    update_access_key(ctx)
));

async fn update_access_key(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let access_key_id = ctx.required("AccessKeyId")?;
    let status = ctx.required("Status")?;
    if status != "Active" && status != "Inactive" {
        return Err(crate::operations::validation(format!(
            "1 validation error detected: Value '{status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
        )));
    }
    let user = subject(ctx).await?;
    let (filter, owner) = match &user {
        Some(name) => ("user_name_key = ?", vec![Value::from(name.to_lowercase())]),
        None => ("user_name_key IS NULL", vec![]),
    };
    let mut params = vec![Value::from(status), Value::from(access_key_id), ctx.account().into()];
    params.extend(owner);
    let updated = ctx
        .app
        .store
        .execute(
            &format!("UPDATE access_keys SET status = ? WHERE access_key_id = ? AND account_id = ? AND {filter}"),
            params,
        )
        .await
        .map_err(internal)?;
    if updated == 0 {
        return Err(AwsError::new(
            "NoSuchEntity",
            404,
            format!("The Access Key with id {access_key_id} cannot be found."),
        ));
    }
    Ok(ctx.response())
}

operation!(
    iam,
    GET_ACCESS_KEY_LAST_USED,
    "GetAccessKeyLastUsed",
    Read,
    |ctx| Box::pin(key_owner_resource(ctx)),
    |ctx| query(get_access_key_last_used(ctx))
);

/// The key as stored: owner (None for root) and last use.
async fn find_key(
    ctx: &Ctx<'_>,
) -> Result<Option<(Option<String>, Option<i64>, Option<String>, Option<String>)>, AwsError> {
    let access_key_id = ctx.required("AccessKeyId")?;
    let rows = ctx
        .app
        .store
        .query(
            "SELECT users.name, keys.last_used_at, keys.last_used_service, keys.last_used_region
             FROM access_keys keys LEFT JOIN users ON users.account_id = keys.account_id AND users.name_key = keys.user_name_key
             WHERE keys.access_key_id = ? AND keys.account_id = ?",
            vec![access_key_id.into(), ctx.account().into()],
        )
        .await
        .map_err(internal)?;
    rows.first()
        .map(|row| {
            Ok((
                row.opt_text(0).map_err(internal)?,
                row.opt_int(1).map_err(internal)?,
                row.opt_text(2).map_err(internal)?,
                row.opt_text(3).map_err(internal)?,
            ))
        })
        .transpose()
}

/// GetAccessKeyLastUsed is authorized on the user who owns the key.
async fn key_owner_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let owner = find_key(ctx).await?.and_then(|(owner, ..)| owner);
    Ok(vec![match owner {
        Some(name) => match find_user(ctx, &name).await? {
            Some(user) => crate::auth::user_arn(ctx.account(), &user.path, &user.name),
            None => crate::auth::user_arn(ctx.account(), "/", &name),
        },
        None => format!("arn:aws:iam::{}:root", ctx.account()),
    }])
}

async fn get_access_key_last_used(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let access_key_id = ctx.required("AccessKeyId")?;
    // Last use is recorded by the audit importer: let it catch up with this replica.
    ctx.app.audit.sync().await.map_err(internal)?;
    let (owner, used_at, service, region) = find_key(ctx).await?.ok_or_else(|| {
        AwsError::new("NoSuchEntity", 404, format!("The Access Key with id {access_key_id} cannot be found."))
    })?;
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
