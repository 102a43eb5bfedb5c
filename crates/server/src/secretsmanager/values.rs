//! A secret's values and their stages: GetSecretValue, PutSecretValue,
//! UpdateSecretVersionStage, ListSecretVersionIds, BatchGetSecretValue, and the new version
//! CreateSecret and UpdateSecret record.
//!
//! Stages move as AWS moves them ([`move_stages`]): a stage is on one version at a time; a
//! version that loses `AWSCURRENT` takes `AWSPREVIOUS` (which leaves the version that had
//! it). A version without stages is deprecated, and the oldest deprecated ones go once a
//! secret holds more than [`MAX_VERSIONS`]. A version id (`ClientRequestToken`) is
//! idempotent: the same value again answers the version as it is, another value is refused.

use std::collections::BTreeMap;

use aws_protocol::AwsError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value as Json, json};
use store::Statement;

use crate::authz::{Check, ResourcePolicy, context};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, RACE_ATTEMPTS, internal, json as json_op};
use crate::secretsmanager::model::{self, Change, Secret, SecretVersion, Written, seal_context};
use crate::secretsmanager::{invalid_parameter, live_secret, marked_for_deletion, not_found, put, secret_resource};

pub const CURRENT: &str = "AWSCURRENT";
pub const PREVIOUS: &str = "AWSPREVIOUS";
/// Versions a secret keeps before its oldest deprecated ones go.
const MAX_VERSIONS: usize = 100;
/// The largest value, in bytes.
const MAX_VALUE: usize = 65_536;

operation!(secretsmanager, GET_SECRET_VALUE, "GetSecretValue", Read, secret_resource, |ctx| json_op(get_secret_value(
    ctx
)));
operation!(secretsmanager, PUT_SECRET_VALUE, "PutSecretValue", Write, secret_resource, |ctx| json_op(
    put_secret_value(ctx)
));
operation!(secretsmanager, UPDATE_SECRET_VERSION_STAGE, "UpdateSecretVersionStage", Write, secret_resource, |ctx| {
    json_op(update_secret_version_stage(ctx))
});
operation!(secretsmanager, LIST_SECRET_VERSION_IDS, "ListSecretVersionIds", Read, secret_resource, |ctx| json_op(
    list_secret_version_ids(ctx)
));
operation!(
    secretsmanager,
    BATCH_GET_SECRET_VALUE,
    "BatchGetSecretValue",
    Read,
    crate::operations::account_wide,
    |ctx| json_op(batch_get_secret_value(ctx))
);

/// The stages of every version once `target` takes `stages` (`versions`: id to stages,
/// `target` among them).
pub fn move_stages(versions: &mut BTreeMap<String, Vec<String>>, target: &str, stages: &[String]) {
    let mut lost_current = None;
    for stage in stages {
        for (id, held) in versions.iter_mut() {
            if id != target && held.contains(stage) {
                held.retain(|s| s != stage);
                if stage == CURRENT {
                    lost_current = Some(id.clone());
                }
            }
        }
        if let Some(held) = versions.get_mut(target) {
            if !held.contains(stage) {
                held.push(stage.clone());
            }
        }
    }
    if let Some(previous) = lost_current {
        for (id, held) in versions.iter_mut() {
            if *id == previous {
                if !held.iter().any(|s| s == PREVIOUS) {
                    held.push(PREVIOUS.to_owned());
                }
            } else {
                held.retain(|s| s != PREVIOUS);
            }
        }
    }
}

/// A value a request carries: `SecretString` or `SecretBinary` (base64 on the wire), never both.
pub enum NewValue {
    Text(String),
    Binary(Vec<u8>),
}

impl NewValue {
    /// The request's value, if it has one.
    pub fn from_body(body: &Json) -> Result<Option<NewValue>, AwsError> {
        let text = body.get("SecretString").and_then(Json::as_str);
        let binary = body.get("SecretBinary").and_then(Json::as_str);
        let value = match (text, binary) {
            (Some(_), Some(_)) => {
                return Err(invalid_parameter(
                    "You can't specify both a binary secret value and a string secret value in the same secret.",
                ));
            }
            (Some(text), None) => NewValue::Text(text.to_owned()),
            (None, Some(encoded)) => NewValue::Binary(
                STANDARD.decode(encoded).map_err(|_| invalid_parameter("SecretBinary is not valid base64."))?,
            ),
            (None, None) => return Ok(None),
        };
        if value.bytes().len() > MAX_VALUE {
            return Err(invalid_parameter(format!("The secret value is larger than {MAX_VALUE} bytes.")));
        }
        Ok(Some(value))
    }

    fn bytes(&self) -> &[u8] {
        match self {
            NewValue::Text(text) => text.as_bytes(),
            NewValue::Binary(bytes) => bytes,
        }
    }

    fn is_binary(&self) -> bool {
        matches!(self, NewValue::Binary(_))
    }
}

/// `ClientRequestToken` (32 to 64 characters), or a new UUID.
pub fn version_id(body: &Json) -> Result<String, AwsError> {
    match body.get("ClientRequestToken").and_then(Json::as_str) {
        Some(token) if (32..=64).contains(&token.len()) => Ok(token.to_owned()),
        Some(_) => Err(crate::secretsmanager::validation(
            "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64",
        )),
        None => ids::uuid().map_err(internal),
    }
}

/// The version a new value becomes (sealed for the secret's ARN).
pub fn sealed_version(
    ctx: &Ctx<'_>,
    arn: &str,
    id: &str,
    value: &NewValue,
    stages: Vec<String>,
) -> Result<SecretVersion, AwsError> {
    let sealed = ctx.app.sealer.seal(value.bytes(), &seal_context(arn, id)).map_err(internal)?;
    Ok(SecretVersion {
        version_id: id.to_owned(),
        sealed,
        is_binary: value.is_binary(),
        stages,
        created_at: ids::now(),
    })
}

/// A version's value, opened.
fn opened(ctx: &Ctx<'_>, arn: &str, version: &SecretVersion) -> Result<Vec<u8>, AwsError> {
    ctx.app.sealer.open(&version.sealed, &seal_context(arn, &version.version_id)).map_err(internal)
}

/// What adding a version does, or that the id already holds the same value.
pub enum Added {
    /// The statements that record it and move the stages.
    Write(Vec<Statement>, Vec<String>),
    /// The version exists with this value already: nothing to write.
    Same(Vec<String>),
}

/// Adds `value` as version `id` of `secret` with `stages` (AWSCURRENT by default).
pub fn add_version(
    ctx: &Ctx<'_>,
    secret: &Secret,
    versions: &[SecretVersion],
    id: &str,
    value: &NewValue,
    stages: Vec<String>,
) -> Result<Added, AwsError> {
    if let Some(existing) = versions.iter().find(|v| v.version_id == id) {
        if opened(ctx, &secret.arn, existing)? == value.bytes() && existing.is_binary == value.is_binary() {
            return Ok(Added::Same(existing.stages.clone()));
        }
        return Err(AwsError::new(
            "ResourceExistsException",
            400,
            "You can't modify an existing version, you can only create a new version.",
        ));
    }
    let (account, region) = (ctx.account(), ctx.region());
    let mut map: BTreeMap<String, Vec<String>> =
        versions.iter().map(|v| (v.version_id.clone(), v.stages.clone())).collect();
    map.insert(id.to_owned(), Vec::new());
    move_stages(&mut map, id, &stages);
    let mut statements = vec![model::insert_version(
        account,
        region,
        &secret.arn,
        &sealed_version(ctx, &secret.arn, id, value, map.get(id).cloned().unwrap_or_default())?,
    )];
    for version in versions {
        let after = map.get(&version.version_id).cloned().unwrap_or_default();
        if after != version.stages {
            statements.push(model::set_stages(account, region, &secret.arn, &version.version_id, &after));
        }
    }
    // The oldest deprecated versions go beyond the limit.
    let excess = (versions.len() + 1).saturating_sub(MAX_VERSIONS);
    let deprecated = versions.iter().filter(|v| map.get(&v.version_id).is_none_or(Vec::is_empty));
    for version in deprecated.take(excess) {
        statements.push(model::delete_version(account, region, &secret.arn, &version.version_id));
    }
    statements.push(model::change(account, region, &secret.arn, Change::ChangedAt(ids::now())));
    let stages = map.remove(id).unwrap_or_default();
    Ok(Added::Write(statements, stages))
}

/// `VersionStages` (each 1 to 256 characters, at most 20), or AWSCURRENT.
fn stages_member(body: &Json) -> Result<Vec<String>, AwsError> {
    let Some(items) = body.get("VersionStages").and_then(Json::as_array) else { return Ok(vec![CURRENT.to_owned()]) };
    let stages: Vec<String> = items.iter().filter_map(Json::as_str).map(str::to_owned).collect();
    if stages.is_empty() || stages.len() > 20 || stages.iter().any(|s| s.is_empty() || s.len() > 256) {
        return Err(invalid_parameter("VersionStages must hold 1 to 20 labels of 1 to 256 characters."));
    }
    Ok(stages)
}

async fn put_secret_value(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    if ctx.body.get("RotationToken").is_some_and(|token| !token.is_null()) {
        return Err(invalid_parameter("RotationToken: this server runs no rotation functions."));
    }
    let value = NewValue::from_body(ctx.body)?
        .ok_or_else(|| invalid_parameter("You must provide either SecretString or SecretBinary."))?;
    let id = version_id(ctx.body)?;
    let stages = stages_member(ctx.body)?;
    for _ in 0..RACE_ATTEMPTS {
        let secret = live_secret(ctx).await?;
        let versions = model::versions(&ctx.app.store, ctx.account(), ctx.region(), &secret.arn).await?;
        let answer = |stages: Vec<String>| json!({"ARN": secret.arn, "Name": secret.name, "VersionId": id, "VersionStages": stages});
        match add_version(ctx, &secret, &versions, &id, &value, stages.clone())? {
            Added::Same(stages) => return Ok(answer(stages)),
            Added::Write(statements, stages) => {
                if model::write(&ctx.app.store, ctx.account(), ctx.region(), &secret, statements).await?
                    == Written::Done
                {
                    return Ok(answer(stages));
                }
            }
        }
    }
    Err(internal("PutSecretValue lost every race"))
}

/// The version `VersionId` and/or `VersionStage` pick (AWSCURRENT when neither is given).
fn pick<'a>(
    versions: &'a [SecretVersion],
    version_id: Option<&str>,
    stage: Option<&str>,
) -> Result<&'a SecretVersion, AwsError> {
    let stage = match (version_id, stage) {
        (None, None) => Some(CURRENT),
        (_, stage) => stage,
    };
    versions
        .iter()
        .find(|v| {
            version_id.is_none_or(|id| v.version_id == id) && stage.is_none_or(|s| v.stages.iter().any(|x| x == s))
        })
        .ok_or_else(|| {
            let what = match (version_id, stage) {
                (Some(id), _) => format!("VersionId: {id}"),
                (None, Some(stage)) => format!("staging label: {stage}"),
                (None, None) => String::new(),
            };
            AwsError::new(
                "ResourceNotFoundException",
                400,
                format!("Secrets Manager can't find the specified secret value for {what}"),
            )
        })
}

/// A version's value as GetSecretValue answers it (and records the secret was accessed today).
async fn value_json(ctx: &Ctx<'_>, secret: &Secret, version: &SecretVersion) -> Result<Json, AwsError> {
    let bytes = opened(ctx, &secret.arn, version)?;
    let mut answer = json!({
        "ARN": secret.arn,
        "Name": secret.name,
        "VersionId": version.version_id,
        "VersionStages": version.stages,
        "CreatedDate": version.created_at,
    });
    if version.is_binary {
        put(&mut answer, "SecretBinary", STANDARD.encode(bytes));
    } else {
        put(&mut answer, "SecretString", String::from_utf8(bytes).map_err(internal)?);
    }
    // AWS keeps the date only; the row is written at most once a day.
    let today = ids::now() / 86_400 * 86_400;
    if secret.accessed_at != Some(today) {
        let change = model::change(ctx.account(), ctx.region(), &secret.arn, Change::AccessedAt(today));
        ctx.app.store.transaction(vec![change]).await.map_err(internal)?;
    }
    Ok(answer)
}

async fn get_secret_value(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let secret = live_secret(ctx).await?;
    let versions = model::versions(&ctx.app.store, ctx.account(), ctx.region(), &secret.arn).await?;
    let version_id = ctx.body.get("VersionId").and_then(Json::as_str);
    let stage = ctx.body.get("VersionStage").and_then(Json::as_str);
    let version = pick(&versions, version_id, stage)?;
    value_json(ctx, &secret, version).await
}

async fn update_secret_version_stage(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let stage = ctx
        .body
        .get("VersionStage")
        .and_then(Json::as_str)
        .ok_or_else(|| crate::operations::missing("VersionStage"))?;
    let remove_from = ctx.body.get("RemoveFromVersionId").and_then(Json::as_str);
    let move_to = ctx.body.get("MoveToVersionId").and_then(Json::as_str);
    for _ in 0..RACE_ATTEMPTS {
        let secret = live_secret(ctx).await?;
        let versions = model::versions(&ctx.app.store, ctx.account(), ctx.region(), &secret.arn).await?;
        let holder = versions.iter().find(|v| v.stages.iter().any(|s| s == stage)).map(|v| v.version_id.as_str());
        for id in [remove_from, move_to].into_iter().flatten() {
            if !versions.iter().any(|v| v.version_id == id) {
                return Err(invalid_parameter(format!("The version {id} does not exist.")));
            }
        }
        if let Some(holder) = holder {
            if move_to.is_some() && remove_from != Some(holder) && move_to != Some(holder) {
                return Err(invalid_parameter(format!(
                    "The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently attached to version {holder}, so you must explicitly reference that version in RemoveFromVersionId."
                )));
            }
        }
        if remove_from.is_some() && holder != remove_from {
            return Err(invalid_parameter(format!(
                "The staging label {stage} is not attached to the version {}.",
                remove_from.unwrap_or_default()
            )));
        }
        if stage == CURRENT && move_to.is_none() {
            return Err(invalid_parameter(
                "You can't remove the staging label AWSCURRENT from a version without moving it to another version.",
            ));
        }
        let mut map: BTreeMap<String, Vec<String>> =
            versions.iter().map(|v| (v.version_id.clone(), v.stages.clone())).collect();
        match move_to {
            Some(target) => move_stages(&mut map, target, &[stage.to_owned()]),
            None => {
                if let Some(held) = remove_from.and_then(|id| map.get_mut(id)) {
                    held.retain(|s| s != stage);
                }
            }
        }
        let mut statements: Vec<Statement> = versions
            .iter()
            .filter_map(|version| {
                let after = map.get(&version.version_id)?;
                (after != &version.stages)
                    .then(|| model::set_stages(ctx.account(), ctx.region(), &secret.arn, &version.version_id, after))
            })
            .collect();
        statements.push(model::change(ctx.account(), ctx.region(), &secret.arn, Change::ChangedAt(ids::now())));
        if model::write(&ctx.app.store, ctx.account(), ctx.region(), &secret, statements).await? == Written::Done {
            return Ok(json!({"ARN": secret.arn, "Name": secret.name}));
        }
    }
    Err(internal("UpdateSecretVersionStage lost every race"))
}

async fn list_secret_version_ids(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (start, size) = crate::secretsmanager::listing::page(ctx.body)?;
    let secret = crate::secretsmanager::existing_secret(ctx).await?;
    let include_deprecated = ctx.body.get("IncludeDeprecated").and_then(Json::as_bool).unwrap_or(false);
    let versions = model::versions(&ctx.app.store, ctx.account(), ctx.region(), &secret.arn).await?;
    let listed: Vec<Json> = versions
        .iter()
        .rev()
        .filter(|v| include_deprecated || !v.stages.is_empty())
        .map(|v| json!({"VersionId": v.version_id, "VersionStages": v.stages, "CreatedDate": v.created_at}))
        .collect();
    let mut answer = crate::operations::json_page("Versions", "NextToken", listed, start, size);
    put(&mut answer, "ARN", secret.arn.as_str());
    put(&mut answer, "Name", secret.name.as_str());
    Ok(answer)
}

/// Whether the caller may read `secret`'s value (`secretsmanager:GetSecretValue` on its ARN,
/// its resource policy taking part), recorded with the operation's audit record.
async fn may_read(ctx: &Ctx<'_>, secret: &Secret) -> Result<bool, AwsError> {
    let policy = crate::secretsmanager::policy_of(ctx, secret).await?;
    let resource_policy = policy.as_ref().map(|policy| ResourcePolicy {
        id: "secret-policy",
        policy,
        kind: iam_policy::ResourcePolicyKind::Ordinary,
    });
    let check = Check { action: "secretsmanager:GetSecretValue", resource: &secret.arn, passed_to: "" };
    Ok(crate::authz::check(ctx, check, &context(ctx.identity, ctx.facts), resource_policy).await.is_ok())
}

async fn batch_get_secret_value(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let ids: Option<Vec<&str>> =
        ctx.body.get("SecretIdList").and_then(Json::as_array).map(|ids| ids.iter().filter_map(Json::as_str).collect());
    let has_filters = ctx.body.get("Filters").is_some_and(|filters| !filters.is_null());
    let (mut values, mut errors) = (Vec::new(), Vec::new());
    let mut next = None;
    match (ids, has_filters) {
        (Some(_), true) | (None, false) => {
            return Err(invalid_parameter("You must provide either SecretIdList or Filters, but not both."));
        }
        (Some(ids), false) => {
            if ids.is_empty() || ids.len() > 20 || ctx.body.get("MaxResults").is_some() {
                return Err(invalid_parameter(
                    "SecretIdList must hold 1 to 20 secrets, and MaxResults can be used only with Filters.",
                ));
            }
            for id in ids {
                let error = |code: &str, message: &str| json!({"SecretId": id, "ErrorCode": code, "Message": message});
                match crate::secretsmanager::find_secret(ctx, id).await? {
                    None => errors.push(error("ResourceNotFoundException", &not_found().message)),
                    Some(secret) if !may_read(ctx, &secret).await? => errors.push(error(
                        "AccessDeniedException",
                        &format!("You are not authorized to perform secretsmanager:GetSecretValue on {}", secret.arn),
                    )),
                    Some(secret) if secret.deletion_date.is_some() => {
                        errors.push(error("InvalidRequestException", &marked_for_deletion().message));
                    }
                    Some(secret) => {
                        let versions =
                            model::versions(&ctx.app.store, ctx.account(), ctx.region(), &secret.arn).await?;
                        match pick(&versions, None, None) {
                            Ok(version) => values.push(value_json(ctx, &secret, version).await?),
                            Err(failed) => errors.push(error(&failed.code, &failed.message)),
                        }
                    }
                }
            }
        }
        (None, true) => {
            let (start, size) = crate::secretsmanager::listing::page_of(ctx.body, 20)?;
            let filters = crate::secretsmanager::listing::filters(ctx.body)?;
            let secrets = crate::secretsmanager::listing::matching(ctx, &filters, false).await?;
            let end = start.saturating_add(size).min(secrets.len());
            for secret in secrets.get(start..end).unwrap_or_default() {
                if !may_read(ctx, secret).await? {
                    errors.push(json!({"SecretId": secret.arn, "ErrorCode": "AccessDeniedException",
                        "Message": format!("You are not authorized to perform secretsmanager:GetSecretValue on {}", secret.arn)}));
                    continue;
                }
                let versions = model::versions(&ctx.app.store, ctx.account(), ctx.region(), &secret.arn).await?;
                if let Ok(version) = pick(&versions, None, None) {
                    values.push(value_json(ctx, secret, version).await?);
                }
            }
            if end < secrets.len() {
                next = Some(end.to_string());
            }
        }
    }
    let mut answer = json!({"SecretValues": values, "Errors": errors});
    if let Some(token) = next {
        put(&mut answer, "NextToken", token);
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    fn stages(map: &BTreeMap<String, Vec<String>>) -> Vec<(String, Vec<String>)> {
        map.iter().map(|(id, stages)| (id.clone(), stages.clone())).collect()
    }

    #[test]
    fn stages_move_as_aws_moves_them() {
        let mut map = BTreeMap::new();
        map.insert("a".to_owned(), vec![CURRENT.to_owned()]);
        map.insert("b".to_owned(), Vec::new());
        move_stages(&mut map, "b", &[CURRENT.to_owned()]);
        assert_eq!(
            stages(&map),
            [("a".to_owned(), vec![PREVIOUS.to_owned()]), ("b".to_owned(), vec![CURRENT.to_owned()])]
        );
        map.insert("c".to_owned(), Vec::new());
        move_stages(&mut map, "c", &[CURRENT.to_owned()]);
        assert_eq!(map["a"], Vec::<String>::new(), "the previous previous is deprecated");
        assert_eq!(map["b"], [PREVIOUS]);
        assert_eq!(map["c"], [CURRENT]);
        // A custom stage moves alone.
        move_stages(&mut map, "a", &["AWSPENDING".to_owned()]);
        assert_eq!(map["a"], ["AWSPENDING"]);
        move_stages(&mut map, "b", &["AWSPENDING".to_owned()]);
        assert_eq!(map["a"], Vec::<String>::new());
        assert_eq!(map["b"], [PREVIOUS, "AWSPENDING"]);
        assert_eq!(map["c"], [CURRENT]);
    }
}
