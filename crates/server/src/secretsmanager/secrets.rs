//! Secrets themselves: CreateSecret, DescribeSecret, ListSecrets, UpdateSecret,
//! DeleteSecret, RestoreSecret.
//!
//! DeleteSecret schedules the deletion `RecoveryWindowInDays` (7 to 30, 30 by default) days
//! ahead, or deletes at once with `ForceDeleteWithoutRecovery`; until then RestoreSecret
//! takes it back, and the secret refuses everything else as AWS does. Once the window has
//! passed the secret is gone for good (`model::purge_expired`), and its name is free.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, RACE_ATTEMPTS, ResourcesFuture, internal, json as json_op};
use crate::secretsmanager::listing::{filters, matching, page};
use crate::secretsmanager::model::{self, Change, NewSecret, Secret, Written};
use crate::secretsmanager::values::{self, Added, NewValue, add_version, sealed_version, version_id};
use crate::secretsmanager::{
    arn_prefix, check_name, existing_secret, invalid_parameter, invalid_request, kms_key_id, live_secret, put,
    secret_resource, validation,
};

/// Days of a recovery window, and the default.
const RECOVERY_WINDOW: std::ops::RangeInclusive<i64> = 7..=30;
const DEFAULT_RECOVERY_WINDOW: i64 = 30;
/// Tags a secret may carry.
pub const MAX_TAGS: usize = 50;

operation!(secretsmanager, CREATE_SECRET, "CreateSecret", Write, new_secret_resource, |ctx| json_op(create_secret(
    ctx
)));
operation!(secretsmanager, DESCRIBE_SECRET, "DescribeSecret", Read, secret_resource, |ctx| json_op(describe_secret(
    ctx
)));
operation!(secretsmanager, LIST_SECRETS, "ListSecrets", Read, crate::operations::account_wide, |ctx| json_op(
    list_secrets(ctx)
));
operation!(secretsmanager, UPDATE_SECRET, "UpdateSecret", Write, secret_resource, |ctx| json_op(update_secret(ctx)));
operation!(secretsmanager, DELETE_SECRET, "DeleteSecret", Write, secret_resource, |ctx| json_op(delete_secret(ctx)));
operation!(secretsmanager, RESTORE_SECRET, "RestoreSecret", Write, secret_resource, |ctx| json_op(restore_secret(ctx)));

/// CreateSecret's resource: the ARN the new secret will have, its random suffix chosen here
/// (and kept in the context for the handler).
fn new_secret_resource<'a>(ctx: &'a Ctx<'a>) -> ResourcesFuture<'a> {
    Box::pin(async move {
        let name = ctx.body.get("Name").and_then(Json::as_str).ok_or_else(|| crate::operations::missing("Name"))?;
        check_name(name)?;
        let arn = format!("{}{name}-{}", arn_prefix(ctx), ids::secret_suffix().map_err(internal)?);
        let arn = ctx.created.get_or_init(|| arn).clone();
        Ok(vec![arn])
    })
}

/// `Tags` (`[{"Key", "Value"}]`, at most 50; keys 1 to 128 characters, values at most 256).
pub fn tags_member(body: &Json) -> Result<Vec<(String, String)>, AwsError> {
    let Some(items) = body.get("Tags").and_then(Json::as_array) else { return Ok(Vec::new()) };
    let mut tags: Vec<(String, String)> = Vec::new();
    for item in items {
        let key = item.get("Key").and_then(Json::as_str).unwrap_or_default();
        let value = item.get("Value").and_then(Json::as_str).unwrap_or_default();
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(validation(format!(
                "1 validation error detected: Value '{key}' at 'tags' failed to satisfy constraint: a key has 1 to 128 characters, a value at most 256"
            )));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid_parameter("Invalid tag key: a tag key can't start with aws:."));
        }
        match tags.iter_mut().find(|(k, _)| k == key) {
            Some(existing) => existing.1 = value.to_owned(),
            None => tags.push((key.to_owned(), value.to_owned())),
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(validation("Number of tags exceeds the limit of 50."));
    }
    Ok(tags)
}

fn description_member(body: &Json) -> Result<Option<&str>, AwsError> {
    match body.get("Description").and_then(Json::as_str) {
        Some(text) if text.chars().count() > 2048 => Err(validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 2048",
        )),
        other => Ok(other),
    }
}

async fn create_secret(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let body = ctx.body;
    let name = body.get("Name").and_then(Json::as_str).ok_or_else(|| crate::operations::missing("Name"))?;
    check_name(name)?;
    let arn = ctx.created.get().cloned().ok_or_else(|| internal("CreateSecret ran without its resource"))?;
    let description = description_member(body)?;
    let key = kms_key_id(body)?;
    let tags = tags_member(body)?;
    for refused in ["AddReplicaRegions", "ForceOverwriteReplicaSecret"] {
        if body.get(refused).is_some_and(|value| !value.is_null() && value != &json!(false)) {
            return Err(invalid_request(format!("{refused}: this server has no other region to replicate to.")));
        }
    }
    refuse_type(body)?;
    let value = NewValue::from_body(body)?;
    let id = version_id(body)?;
    let first = match &value {
        Some(value) => Some(sealed_version(ctx, &arn, &id, value, vec![values::CURRENT.to_owned()])?),
        None => None,
    };
    let new = NewSecret { name, arn: &arn, description, kms_key_id: key, tags: &tags, created_at: ids::now() };
    let statement = first.as_ref().map(|version| model::insert_version(ctx.account(), ctx.region(), &arn, version));
    if !model::create(&ctx.app.store, ctx.account(), ctx.region(), &new, statement).await? {
        // The name is taken: by a secret scheduled for deletion too, as AWS says.
        let existing =
            model::find(&ctx.app.store, ctx.account(), ctx.region(), model::By::Name(name), ids::now()).await?;
        if existing.is_some_and(|secret| secret.deletion_date.is_some()) {
            return Err(invalid_request(
                "You can't create this secret because a secret with this name is already scheduled for deletion.",
            ));
        }
        return Err(AwsError::new(
            "ResourceExistsException",
            400,
            format!("The operation failed because the secret {name} already exists."),
        ));
    }
    let mut answer = json!({"ARN": arn, "Name": name});
    if first.is_some() {
        put(&mut answer, "VersionId", id);
    }
    Ok(answer)
}

/// The `SecretListEntry` / DescribeSecret shape of a secret.
async fn secret_json(ctx: &Ctx<'_>, secret: &Secret, stages_member: &str) -> Result<Json, AwsError> {
    let versions = model::versions(&ctx.app.store, ctx.account(), ctx.region(), &secret.arn).await?;
    let stages: serde_json::Map<String, Json> =
        versions.iter().filter(|v| !v.stages.is_empty()).map(|v| (v.version_id.clone(), json!(v.stages))).collect();
    let mut answer = json!({
        "ARN": secret.arn,
        "Name": secret.name,
        "RotationEnabled": false,
        "LastChangedDate": secret.changed_at,
        "CreatedDate": secret.created_at,
        "Tags": secret.tags.iter().map(|(key, value)| json!({"Key": key, "Value": value})).collect::<Vec<_>>(),
        stages_member: stages,
    });
    for (member, value) in [("Description", &secret.description), ("KmsKeyId", &secret.kms_key_id)] {
        if let Some(value) = value {
            put(&mut answer, member, value.as_str());
        }
    }
    if let Some(at) = secret.accessed_at {
        put(&mut answer, "LastAccessedDate", at);
    }
    if let Some(at) = secret.deletion_date {
        put(&mut answer, "DeletedDate", at);
    }
    Ok(answer)
}

async fn describe_secret(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let secret = existing_secret(ctx).await?;
    secret_json(ctx, &secret, "VersionIdsToStages").await
}

async fn list_secrets(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (start, size) = page(ctx.body)?;
    let filters = filters(ctx.body)?;
    let planned = ctx.body.get("IncludePlannedDeletion").and_then(Json::as_bool).unwrap_or(false);
    let mut secrets = matching(ctx, &filters, planned).await?;
    // SortBy: the creation date by default; the stable sort keeps names in order among equals.
    match ctx.body.get("SortBy").and_then(Json::as_str) {
        None | Some("created-date") => secrets.sort_by_key(|secret| secret.created_at),
        Some("last-accessed-date") => secrets.sort_by_key(|secret| secret.accessed_at),
        Some("last-changed-date") => secrets.sort_by_key(|secret| secret.changed_at),
        Some("name") => secrets.sort_by(|a, b| a.name.cmp(&b.name)),
        Some(other) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [created-date, last-accessed-date, last-changed-date, name]"
            )));
        }
    }
    match ctx.body.get("SortOrder").and_then(Json::as_str) {
        None | Some("asc") => {}
        Some("desc") => secrets.reverse(),
        Some(other) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]"
            )));
        }
    }
    let end = start.saturating_add(size).min(secrets.len());
    let mut listed = Vec::new();
    for secret in secrets.get(start..end).unwrap_or_default() {
        listed.push(secret_json(ctx, secret, "SecretVersionsToStages").await?);
    }
    let mut answer = json!({"SecretList": listed});
    if end < secrets.len() {
        put(&mut answer, "NextToken", end.to_string());
    }
    Ok(answer)
}

/// `Type` names a secret managed by a partner service, which this server has none of.
fn refuse_type(body: &Json) -> Result<(), AwsError> {
    match body.get("Type").and_then(Json::as_str) {
        Some(kind) => Err(invalid_request(format!(
            "The secret type {kind} is not supported: this server has no partner that manages secrets."
        ))),
        None => Ok(()),
    }
}

async fn update_secret(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    refuse_type(ctx.body)?;
    let description = description_member(ctx.body)?;
    let key = kms_key_id(ctx.body)?;
    let value = NewValue::from_body(ctx.body)?;
    let id = version_id(ctx.body)?;
    for _ in 0..RACE_ATTEMPTS {
        let secret = live_secret(ctx).await?;
        let (account, region) = (ctx.account(), ctx.region());
        let mut statements = Vec::new();
        if description.is_some() {
            statements.push(model::change(account, region, &secret.arn, Change::Description(description)));
        }
        if key.is_some() {
            statements.push(model::change(account, region, &secret.arn, Change::KmsKeyId(key)));
        }
        let mut answer = json!({"ARN": secret.arn, "Name": secret.name});
        if let Some(value) = &value {
            let versions = model::versions(&ctx.app.store, account, region, &secret.arn).await?;
            match add_version(ctx, &secret, &versions, &id, value, vec![values::CURRENT.to_owned()])? {
                Added::Same(_) => {}
                Added::Write(more, _) => statements.extend(more),
            }
            put(&mut answer, "VersionId", id.as_str());
        }
        statements.push(model::change(account, region, &secret.arn, Change::ChangedAt(ids::now())));
        if model::write(&ctx.app.store, account, region, &secret, statements).await? == Written::Done {
            return Ok(answer);
        }
    }
    Err(internal("UpdateSecret lost every race"))
}

async fn delete_secret(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let window = ctx.body.get("RecoveryWindowInDays").filter(|value| !value.is_null());
    let force = ctx.body.get("ForceDeleteWithoutRecovery").and_then(Json::as_bool).unwrap_or(false);
    if window.is_some() && force {
        return Err(invalid_parameter(
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        ));
    }
    let days = match window {
        None => DEFAULT_RECOVERY_WINDOW,
        Some(value) => value.as_i64().filter(|days| RECOVERY_WINDOW.contains(days)).ok_or_else(|| {
            invalid_parameter("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
        })?,
    };
    for _ in 0..RACE_ATTEMPTS {
        let secret = existing_secret(ctx).await?;
        if force {
            model::delete(&ctx.app.store, ctx.account(), ctx.region(), &secret.arn).await?;
            return Ok(json!({"ARN": secret.arn, "Name": secret.name, "DeletionDate": ids::now()}));
        }
        if secret.deletion_date.is_some() {
            return Err(crate::secretsmanager::marked_for_deletion());
        }
        let date = ids::now() + days * 86_400;
        let change = model::change(ctx.account(), ctx.region(), &secret.arn, Change::DeletionDate(Some(date)));
        if model::write(&ctx.app.store, ctx.account(), ctx.region(), &secret, vec![change]).await? == Written::Done {
            return Ok(json!({"ARN": secret.arn, "Name": secret.name, "DeletionDate": date}));
        }
    }
    Err(internal("DeleteSecret lost every race"))
}

async fn restore_secret(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    for _ in 0..RACE_ATTEMPTS {
        let secret = existing_secret(ctx).await?;
        let change = model::change(ctx.account(), ctx.region(), &secret.arn, Change::DeletionDate(None));
        if model::write(&ctx.app.store, ctx.account(), ctx.region(), &secret, vec![change]).await? == Written::Done {
            return Ok(json!({"ARN": secret.arn, "Name": secret.name}));
        }
    }
    Err(internal("RestoreSecret lost every race"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_bounded_and_keys_unique() {
        let tags =
            tags_member(&json!({"Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]})).unwrap_or_default();
        assert_eq!(tags, [("a".to_owned(), "2".to_owned())]);
        assert!(tags_member(&json!({"Tags": [{"Key": "aws:x", "Value": "1"}]})).is_err());
        let many: Vec<Json> = (0..51).map(|n| json!({"Key": format!("k{n}"), "Value": "v"})).collect();
        assert!(tags_member(&json!({"Tags": many})).is_err());
    }
}
