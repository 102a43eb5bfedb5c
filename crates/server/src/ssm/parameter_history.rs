//! Parameter Store's metadata: GetParameterHistory, LabelParameterVersion,
//! UnlabelParameterVersion, DescribeParameters, and the tags of `Parameter` resources (the
//! tagging operations of `instances` hand them here).
//!
//! A label names one version of a parameter at a time: labelling another version moves it.
//! A version holds at most 10 labels. Labels and tags are written under the generation the
//! writer read, so a concurrent write is never lost.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::operations::operation;
use crate::operations::{Ctx, RACE_ATTEMPTS, json as json_op};
use crate::ssm::model::parameter::{self as model, ParameterVersion, Written};
use crate::ssm::parameter_names::{parameter_arn, parameter_not_found, reference, shown_value, version_not_found};
use crate::ssm::parameters::{name_member, named, passes, resolve};
use crate::ssm::{self, validation_exception};

/// Labels one version may carry.
const LABELS_PER_VERSION: usize = 10;

operation!(ssm, GET_PARAMETER_HISTORY, "GetParameterHistory", Read, |ctx| Box::pin(async move { named(ctx) }), |ctx| {
    json_op(get_parameter_history(ctx))
});
operation!(
    ssm,
    LABEL_PARAMETER_VERSION,
    "LabelParameterVersion",
    Write,
    |ctx| Box::pin(async move { named(ctx) }),
    |ctx| json_op(label_parameter_version(ctx))
);
operation!(
    ssm,
    UNLABEL_PARAMETER_VERSION,
    "UnlabelParameterVersion",
    Write,
    |ctx| Box::pin(async move { named(ctx) }),
    |ctx| json_op(unlabel_parameter_version(ctx))
);
operation!(ssm, DESCRIBE_PARAMETERS, "DescribeParameters", Read, crate::operations::account_wide, |ctx| json_op(
    describe_parameters(ctx)
));

fn too_many_updates() -> AwsError {
    AwsError::new(
        "TooManyUpdates",
        400,
        "There are concurrent updates for a resource that supports one update at a time.",
    )
}

async fn get_parameter_history(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let page = ssm::Page::from_body(ctx.body, 1..=50, 50)?;
    let reference = reference(ctx, name_member(ctx)?)?;
    let (_, versions) = resolve(ctx, &reference).await?.ok_or_else(|| parameter_not_found(&reference.spelled))?;
    let decrypt = crate::ssm::parameter_names::with_decryption(ctx.body);
    let mut history = Vec::new();
    for version in &versions {
        let mut entry = metadata_json(ctx, version);
        // ParameterHistory has no ARN (ParameterMetadata has).
        if let Some(map) = entry.as_object_mut() {
            map.remove("ARN");
        }
        ssm::put(&mut entry, "Value", shown_value(ctx, version, decrypt)?);
        ssm::put(&mut entry, "Labels", json!(version.labels));
        history.push(entry);
    }
    Ok(page.answer("Parameters", history))
}

/// The metadata of a version, as DescribeParameters and GetParameterHistory show it.
fn metadata_json(ctx: &Ctx<'_>, version: &ParameterVersion) -> Json {
    let mut entry = json!({
        "Name": version.name,
        "ARN": parameter_arn(ctx, &version.name),
        "Type": version.kind,
        "LastModifiedDate": version.modified_at,
        "LastModifiedUser": version.modified_by,
        "Version": version.version,
        "Tier": version.tier,
        "Policies": [],
        "DataType": version.data_type,
    });
    for (member, value) in [
        ("KeyId", &version.key_id),
        ("Description", &version.description),
        ("AllowedPattern", &version.allowed_pattern),
    ] {
        if let Some(value) = value {
            ssm::put(&mut entry, member, value.as_str());
        }
    }
    entry
}

/// Whether `label` is one Parameter Store accepts: 1 to 100 letters, digits, `.`, `-`, `_`,
/// not starting with a digit, `aws` or `ssm`.
fn valid_label(label: &str) -> bool {
    let lower = label.to_ascii_lowercase();
    (1..=100).contains(&label.chars().count())
        && label.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !label.starts_with(|c: char| c.is_ascii_digit())
        && !lower.starts_with("aws")
        && !lower.starts_with("ssm")
}

fn labels_member(body: &Json) -> Result<Vec<String>, AwsError> {
    let labels: Vec<String> = body
        .get("Labels")
        .and_then(Json::as_array)
        .ok_or_else(|| crate::operations::missing("Labels"))?
        .iter()
        .filter_map(Json::as_str)
        .map(str::to_owned)
        .collect();
    if labels.is_empty() || labels.len() > LABELS_PER_VERSION {
        return Err(validation_exception(
            "1 validation error detected: Value at 'labels' failed to satisfy constraint: Member must have length less than or equal to 10, Member must have length greater than or equal to 1",
        ));
    }
    Ok(labels)
}

async fn label_parameter_version(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let reference = reference(ctx, name_member(ctx)?)?;
    let labels = labels_member(ctx.body)?;
    let asked = ctx.body.get("ParameterVersion").and_then(Json::as_i64);
    for _ in 0..RACE_ATTEMPTS {
        let (parameter, versions) =
            resolve(ctx, &reference).await?.ok_or_else(|| parameter_not_found(&reference.spelled))?;
        let number = asked.unwrap_or(parameter.version);
        let target = versions
            .iter()
            .find(|v| v.version == number)
            .ok_or_else(|| version_not_found(&parameter.name, &number.to_string()))?;
        let (valid, invalid): (Vec<String>, Vec<String>) = labels.iter().cloned().partition(|label| valid_label(label));
        let mut updated: Vec<(i64, Vec<String>)> = Vec::new();
        // Each valid label leaves the version that held it.
        for version in &versions {
            if version.version != number && version.labels.iter().any(|label| valid.contains(label)) {
                let kept = version.labels.iter().filter(|label| !valid.contains(label)).cloned().collect();
                updated.push((version.version, kept));
            }
        }
        let mut target_labels = target.labels.clone();
        for label in &valid {
            if !target_labels.contains(label) {
                target_labels.push(label.clone());
            }
        }
        if target_labels.len() > LABELS_PER_VERSION {
            return Err(AwsError::new(
                "ParameterVersionLabelLimitExceeded",
                400,
                "A parameter version can have maximum 10 labels. Move one or more labels to another version and try again.",
            ));
        }
        updated.push((number, target_labels));
        if model::set_labels(&ctx.app.store, ctx.account(), ctx.region(), &parameter, &updated).await? == Written::Done
        {
            return Ok(json!({"InvalidLabels": invalid, "ParameterVersion": number}));
        }
    }
    Err(too_many_updates())
}

async fn unlabel_parameter_version(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let reference = reference(ctx, name_member(ctx)?)?;
    let labels = labels_member(ctx.body)?;
    let number = ctx
        .body
        .get("ParameterVersion")
        .and_then(Json::as_i64)
        .ok_or_else(|| crate::operations::missing("ParameterVersion"))?;
    for _ in 0..RACE_ATTEMPTS {
        let (parameter, versions) =
            resolve(ctx, &reference).await?.ok_or_else(|| parameter_not_found(&reference.spelled))?;
        let target = versions
            .iter()
            .find(|v| v.version == number)
            .ok_or_else(|| version_not_found(&parameter.name, &number.to_string()))?;
        let (removed, invalid): (Vec<String>, Vec<String>) =
            labels.iter().cloned().partition(|label| target.labels.contains(label));
        let kept: Vec<String> = target.labels.iter().filter(|label| !removed.contains(label)).cloned().collect();
        if model::set_labels(&ctx.app.store, ctx.account(), ctx.region(), &parameter, &[(number, kept)]).await?
            == Written::Done
        {
            return Ok(json!({"RemovedLabels": removed, "InvalidLabels": invalid}));
        }
    }
    Err(too_many_updates())
}

/// A DescribeParameters filter: key, option, values.
type Filter = (String, String, Vec<String>);

/// `Filters` (Name, Type, KeyId: equality) or `ParameterFilters` (Name, Type, KeyId, Path,
/// Tier, DataType, Label, `tag:KEY`, with their options), never both.
fn describe_filters(body: &Json) -> Result<Vec<Filter>, AwsError> {
    let present = |member: &str| body.get(member).and_then(Json::as_array).is_some_and(|list| !list.is_empty());
    if present("Filters") && present("ParameterFilters") {
        return Err(validation_exception("You can use either Filters or ParameterFilters in a single request."));
    }
    let mut filters = Vec::new();
    for (list, key_member, values_member) in [("Filters", "Key", "Values"), ("ParameterFilters", "Key", "Values")] {
        let Some(items) = body.get(list).and_then(Json::as_array) else { continue };
        for item in items {
            let key = item.get(key_member).and_then(Json::as_str).unwrap_or_default();
            let known: &[&str] = if list == "Filters" {
                &["Name", "Type", "KeyId"]
            } else {
                &["Name", "Type", "KeyId", "Path", "Tier", "DataType", "Label"]
            };
            let tag = list == "ParameterFilters" && key.starts_with("tag:");
            if !(known.contains(&key) || tag) {
                return Err(AwsError::new(
                    "InvalidFilterKey",
                    400,
                    format!("The following filter key is not valid: {key}"),
                ));
            }
            let option =
                item.get("Option").and_then(Json::as_str).unwrap_or(if key == "Path" { "OneLevel" } else { "Equals" });
            let allowed: &[&str] = match key {
                "Path" => &["Recursive", "OneLevel"],
                "Name" => &["Equals", "BeginsWith", "Contains"],
                "Type" | "KeyId" | "Tier" | "DataType" => &["Equals", "BeginsWith"],
                _ => &["Equals"],
            };
            if !allowed.contains(&option) {
                return Err(AwsError::new(
                    "InvalidFilterOption",
                    400,
                    format!("The following filter option is not valid: {option}. Valid options include: {allowed:?}."),
                ));
            }
            let values: Vec<String> = item
                .get(values_member)
                .and_then(Json::as_array)
                .map(|values| values.iter().filter_map(Json::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            if values.is_empty() && !key.starts_with("tag:") {
                return Err(AwsError::new(
                    "InvalidFilterValue",
                    400,
                    format!("The filter {key} needs at least one value."),
                ));
            }
            // `Filters` compares names by prefix, as Parameter Store's older filter does.
            let option = if list == "Filters" && key == "Name" { "BeginsWith" } else { option };
            filters.push((key.to_owned(), option.to_owned(), values));
        }
    }
    Ok(filters)
}

/// Whether a name is under one of `paths` (`OneLevel`: a direct child; `Recursive`: any).
fn under_path(name: &str, option: &str, paths: &[String]) -> bool {
    paths.iter().any(|path| {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        name.strip_prefix(&prefix).is_some_and(|rest| option == "Recursive" || !rest.contains('/'))
    })
}

async fn describe_parameters(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let page = ssm::Page::from_body(ctx.body, 1..=50, 50)?;
    let filters = describe_filters(ctx.body)?;
    // Parameters shared with this account by others: there are no other accounts here.
    if ctx.body.get("Shared").and_then(Json::as_bool) == Some(true) {
        return Ok(page.answer("Parameters", Vec::new()));
    }
    let (paths, others): (Vec<Filter>, Vec<Filter>) = filters.into_iter().partition(|(key, _, _)| key == "Path");
    let labels: Vec<Filter> = others.iter().filter(|(key, _, _)| key == "Label").cloned().collect();
    let others: Vec<Filter> = others.into_iter().filter(|(key, _, _)| key != "Label").collect();
    let mut found = Vec::new();
    for (version, tags) in model::all_latest(&ctx.app.store, ctx.account(), ctx.region()).await? {
        if !paths.iter().all(|(_, option, values)| under_path(&version.name, option, values)) {
            continue;
        }
        if !passes(&version, &tags, &others) {
            continue;
        }
        // A label filter matches a parameter any of whose versions holds the label.
        if !labels.is_empty() {
            let all = model::versions(&ctx.app.store, ctx.account(), ctx.region(), &version.name).await?;
            if !labels.iter().all(|filter| all.iter().any(|v| passes(v, &[], std::slice::from_ref(filter)))) {
                continue;
            }
        }
        found.push(metadata_json(ctx, &version));
    }
    Ok(page.answer("Parameters", found))
}

/// The ARN of the parameter a tagging request names (`ResourceId`, a name).
pub(crate) fn tagged_parameter_arn(ctx: &Ctx<'_>, id: &str) -> Result<String, AwsError> {
    Ok(reference(ctx, id)?.arn(ctx))
}

fn invalid_resource(id: &str) -> AwsError {
    AwsError::new("InvalidResourceId", 400, format!("The resource ID {id} is not valid."))
}

/// Adds or replaces tags of a parameter (AddTagsToResource).
pub(crate) async fn add_parameter_tags(ctx: &Ctx<'_>, id: &str, tags: &[(String, String)]) -> Result<Json, AwsError> {
    let reference = reference(ctx, id)?;
    for _ in 0..RACE_ATTEMPTS {
        let (parameter, _) = resolve(ctx, &reference).await?.ok_or_else(|| invalid_resource(id))?;
        let mut merged = parameter.tags.clone();
        for (key, value) in tags {
            match merged.iter_mut().find(|(k, _)| k == key) {
                Some(existing) => existing.1 = value.clone(),
                None => merged.push((key.clone(), value.clone())),
            }
        }
        if merged.len() > usize::try_from(ssm::TAGS_PER_RESOURCE).unwrap_or(usize::MAX) {
            return Err(ssm::too_many_tags());
        }
        merged.sort();
        if model::set_tags(&ctx.app.store, ctx.account(), ctx.region(), &parameter, &merged).await? == Written::Done {
            return Ok(json!({}));
        }
    }
    Err(too_many_updates())
}

/// Removes tags of a parameter (RemoveTagsFromResource).
pub(crate) async fn remove_parameter_tags(ctx: &Ctx<'_>, id: &str, keys: &[&str]) -> Result<Json, AwsError> {
    let reference = reference(ctx, id)?;
    for _ in 0..RACE_ATTEMPTS {
        let (parameter, _) = resolve(ctx, &reference).await?.ok_or_else(|| invalid_resource(id))?;
        let kept: Vec<(String, String)> =
            parameter.tags.iter().filter(|(key, _)| !keys.contains(&key.as_str())).cloned().collect();
        if model::set_tags(&ctx.app.store, ctx.account(), ctx.region(), &parameter, &kept).await? == Written::Done {
            return Ok(json!({}));
        }
    }
    Err(too_many_updates())
}

/// A parameter's tags (ListTagsForResource).
pub(crate) async fn list_parameter_tags(ctx: &Ctx<'_>, id: &str) -> Result<Json, AwsError> {
    let reference = reference(ctx, id)?;
    let (parameter, _) = resolve(ctx, &reference).await?.ok_or_else(|| invalid_resource(id))?;
    Ok(json!({"TagList": ssm::tags_json(parameter.tags)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_paths() {
        for good in ["prod", "v1.2", "Blue_Green-x"] {
            assert!(valid_label(good), "{good}");
        }
        for bad in ["1st", "aws-x", "SSMy", "a b", "", "a/b"] {
            assert!(!valid_label(bad), "{bad}");
        }
        let paths = vec!["/app".to_owned()];
        assert!(under_path("/app/db", "OneLevel", &paths));
        assert!(!under_path("/app/db/x", "OneLevel", &paths));
        assert!(under_path("/app/db/x", "Recursive", &paths));
        assert!(!under_path("/apple", "Recursive", &paths));
    }
}
