//! Parameter Store's reads and writes: PutParameter, GetParameter, GetParameters,
//! GetParametersByPath, DeleteParameter, DeleteParameters.
//!
//! A SecureString's value is sealed with the master key before it is stored, bound to the
//! account, region, name and version; it is opened only for a caller that asked
//! `WithDecryption` (and is authorized for the parameter). Homeport has no KMS: the `KeyId`
//! (`alias/aws/ssm` by default, or an alias, key id or key ARN as given) is recorded and
//! answered, and no `kms:Decrypt` is asked for.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, RACE_ATTEMPTS, internal, json as json_op};
use crate::ssm::model::parameter::{self as model, NewVersion, ParameterVersion, StoredValue, Written, seal_context};
use crate::ssm::parameter_names::{
    ADVANCED_VALUE, Reference, STANDARD_VALUE, check_name, check_path, key_id, parameter_arn, parameter_json,
    parameter_not_found, reference, select, version_not_found, with_decryption,
};
use crate::ssm::{self, tags_from_body, validation_exception};

operation!(ssm, PUT_PARAMETER, "PutParameter", Write, |ctx| Box::pin(async move { named(ctx) }), |ctx| json_op(
    put_parameter(ctx)
));
operation!(ssm, GET_PARAMETER, "GetParameter", Read, |ctx| Box::pin(async move { named(ctx) }), |ctx| json_op(
    get_parameter(ctx)
));
operation!(ssm, GET_PARAMETERS, "GetParameters", Read, |ctx| Box::pin(async move { names(ctx) }), |ctx| json_op(
    get_parameters(ctx)
));
operation!(
    ssm,
    GET_PARAMETERS_BY_PATH,
    "GetParametersByPath",
    Read,
    |ctx| Box::pin(async move {
        let path = ctx.body.get("Path").and_then(Json::as_str).unwrap_or_default();
        check_path(path)?;
        Ok(vec![parameter_arn(ctx, path.trim_end_matches('/'))])
    }),
    |ctx| json_op(get_parameters_by_path(ctx))
);
operation!(ssm, DELETE_PARAMETER, "DeleteParameter", Write, |ctx| Box::pin(async move { named(ctx) }), |ctx| {
    json_op(delete_parameter(ctx))
});
operation!(ssm, DELETE_PARAMETERS, "DeleteParameters", Write, |ctx| Box::pin(async move { names(ctx) }), |ctx| {
    json_op(delete_parameters(ctx))
});

/// The `Name` member, required; spaces at its ends are dropped, as Parameter Store drops them.
pub(crate) fn name_member<'a>(ctx: &'a Ctx<'_>) -> Result<&'a str, AwsError> {
    ctx.body.get("Name").and_then(Json::as_str).map(str::trim).ok_or_else(|| crate::operations::missing("Name"))
}

/// The resource of an operation on one parameter: its ARN.
pub(crate) fn named(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![reference(ctx, name_member(ctx)?)?.arn(ctx)])
}

/// The `Names` member (1 to 10 names).
fn names_member<'a>(ctx: &'a Ctx<'_>) -> Result<Vec<&'a str>, AwsError> {
    let names: Vec<&str> = ctx
        .body
        .get("Names")
        .and_then(Json::as_array)
        .ok_or_else(|| crate::operations::missing("Names"))?
        .iter()
        .filter_map(Json::as_str)
        .map(str::trim)
        .collect();
    if names.is_empty() || names.len() > 10 {
        return Err(validation_exception(format!(
            "1 validation error detected: Value '{names:?}' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10, Member must have length greater than or equal to 1"
        )));
    }
    Ok(names)
}

/// The resources of an operation on several parameters: each one's ARN.
fn names(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let mut arns = Vec::new();
    for name in names_member(ctx)? {
        let arn = reference(ctx, name)?.arn(ctx);
        if !arns.contains(&arn) {
            arns.push(arn);
        }
    }
    Ok(arns)
}

/// The stored parameter a reference names and its versions (none: it does not exist).
pub(crate) async fn resolve(
    ctx: &Ctx<'_>,
    reference: &Reference,
) -> Result<Option<(model::Parameter, Vec<ParameterVersion>)>, AwsError> {
    for name in &reference.candidates {
        if let Some(parameter) = model::find(&ctx.app.store, ctx.account(), ctx.region(), name).await? {
            let versions = model::versions(&ctx.app.store, ctx.account(), ctx.region(), name).await?;
            return Ok(Some((parameter, versions)));
        }
    }
    Ok(None)
}

fn text_member<'a>(body: &'a Json, member: &str, max: usize) -> Result<Option<&'a str>, AwsError> {
    match body.get(member) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(text)) if text.chars().count() <= max => Ok(Some(text)),
        Some(_) => Err(validation_exception(format!(
            "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must have length less than or equal to {max}",
            crate::operations::lower_first(member)
        ))),
    }
}

/// The tier a write lands in: as asked (`Intelligent-Tiering` picks the smallest that
/// holds the value), never back from Advanced to Standard.
fn tier_of(asked: Option<&str>, previous: Option<&str>, value: &str) -> Result<&'static str, AwsError> {
    let length = value.chars().count();
    let too_long = || {
        validation_exception(format!(
            "Standard tier parameters support a maximum parameter value of {STANDARD_VALUE} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
        ))
    };
    if length > ADVANCED_VALUE {
        return Err(validation_exception(format!(
            "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length less than or equal to {ADVANCED_VALUE}"
        )));
    }
    let advanced_before = previous == Some("Advanced");
    let tier = match asked {
        None if advanced_before => "Advanced",
        None | Some("Standard") => {
            if advanced_before {
                return Err(validation_exception(
                    "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.",
                ));
            }
            "Standard"
        }
        Some("Advanced") => "Advanced",
        Some("Intelligent-Tiering") => {
            if advanced_before || length > STANDARD_VALUE {
                "Advanced"
            } else {
                "Standard"
            }
        }
        Some(other) => {
            return Err(validation_exception(format!(
                "1 validation error detected: Value '{other}' at 'tier' failed to satisfy constraint: Member must satisfy enum value set: [Standard, Advanced, Intelligent-Tiering]"
            )));
        }
    };
    if tier == "Standard" && length > STANDARD_VALUE {
        return Err(too_long());
    }
    Ok(tier)
}

/// `AllowedPattern`, a regular expression the whole value must match.
fn check_pattern(pattern: &str, value: &str) -> Result<(), AwsError> {
    let translated = aws_model::java_regex::translate(pattern);
    let regex = regex::RegexBuilder::new(&format!("^(?:{translated})$")).size_limit(1 << 20).build().map_err(|_| {
        AwsError::new("InvalidAllowedPatternException", 400, "The allowed pattern must be a valid regular expression.")
    })?;
    if regex.is_match(value) {
        Ok(())
    } else {
        Err(AwsError::new(
            "ParameterPatternMismatchException",
            400,
            format!("Parameter value, cannot be validated against allowedPattern: {pattern}"),
        ))
    }
}

async fn put_parameter(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let body = ctx.body;
    let name = name_member(ctx)?;
    check_name(name)?;
    let value = body.get("Value").and_then(Json::as_str).ok_or_else(|| crate::operations::missing("Value"))?;
    if value.is_empty() {
        return Err(validation_exception(
            "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let overwrite = body.get("Overwrite").and_then(Json::as_bool).unwrap_or(false);
    let tags = tags_from_body(body)?;
    if overwrite && body.get("Tags").is_some_and(|tags| !tags.is_null()) {
        return Err(validation_exception(
            "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
        ));
    }
    if tags.len() > usize::try_from(ssm::TAGS_PER_RESOURCE).unwrap_or(usize::MAX) {
        return Err(ssm::too_many_tags());
    }
    if body.get("Policies").is_some_and(|policies| !policies.is_null()) {
        return Err(AwsError::new(
            "InvalidPolicyTypeException",
            400,
            "Parameter policies (Expiration, ExpirationNotification, NoChangeNotification) are not supported by this server.",
        ));
    }
    let description = text_member(body, "Description", 1024)?;
    let allowed_pattern = text_member(body, "AllowedPattern", 1024)?;
    let data_type = text_member(body, "DataType", 128)?.unwrap_or("text");
    if data_type != "text" {
        return Err(validation_exception(format!(
            "The following data type is not supported: {data_type} (Data type names are all lowercase.)"
        )));
    }
    let asked_tier = text_member(body, "Tier", 32)?;
    let asked_key = text_member(body, "KeyId", 2048)?;
    if let Some(pattern) = allowed_pattern {
        check_pattern(pattern, value)?;
    }
    for _ in 0..RACE_ATTEMPTS {
        let existing = model::find(&ctx.app.store, ctx.account(), ctx.region(), name).await?;
        let mut versions = match &existing {
            Some(_) => model::versions(&ctx.app.store, ctx.account(), ctx.region(), name).await?,
            None => Vec::new(),
        };
        // The version a new one pushes out must have no label.
        let full = i64::try_from(versions.len()).unwrap_or(i64::MAX) >= model::MAX_VERSIONS;
        if let Some(oldest) = versions.first().filter(|oldest| full && overwrite && !oldest.labels.is_empty()) {
            return Err(AwsError::new(
                "ParameterMaxVersionLimitExceeded",
                400,
                format!(
                    "You attempted to create a new version of {name} by calling the PutParameter API with the overwrite flag. Version {}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.",
                    oldest.version
                ),
            ));
        }
        let latest = versions.pop();
        if existing.is_some() && !overwrite {
            return Err(AwsError::new(
                "ParameterAlreadyExists",
                400,
                "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
            ));
        }
        // Type is required when creating; an overwrite keeps the type it does not name.
        let kind = match (body.get("Type").and_then(Json::as_str), &latest) {
            (Some(kind @ ("String" | "StringList" | "SecureString")), _) => kind.to_owned(),
            (Some(other), _) => {
                return Err(validation_exception(format!(
                    "1 validation error detected: Value '{other}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]"
                )));
            }
            (None, Some(latest)) => latest.kind.clone(),
            (None, None) => {
                return Err(validation_exception("A parameter type is required when you create a parameter."));
            }
        };
        if kind == "StringList" && value.split(',').any(str::is_empty) {
            return Err(validation_exception("StringList values can't contain empty items."));
        }
        let key = if kind == "SecureString" {
            Some(match (asked_key, &latest) {
                (None, Some(latest)) if latest.kind == "SecureString" => {
                    latest.key_id.clone().unwrap_or_else(|| crate::ssm::parameter_names::DEFAULT_KEY.to_owned())
                }
                (asked, _) => key_id(asked)?,
            })
        } else if asked_key.is_some() {
            return Err(validation_exception("KeyId is required for SecureString type parameter only."));
        } else {
            None
        };
        let tier = tier_of(asked_tier, latest.as_ref().map(|l| l.tier.as_str()), value)?;
        let version = existing.as_ref().map_or(1, |parameter| parameter.version + 1);
        let stored = if kind == "SecureString" {
            let context = seal_context(ctx.account(), ctx.region(), name, version);
            StoredValue::Sealed(ctx.app.sealer.seal(value.as_bytes(), &context).map_err(internal)?)
        } else {
            StoredValue::Plain(value.to_owned())
        };
        let modified_by = ctx.identity.arn();
        let new = NewVersion {
            name,
            version,
            kind: &kind,
            value: stored,
            key_id: key.as_deref(),
            description: description.or_else(|| latest.as_ref().and_then(|l| l.description.as_deref())),
            allowed_pattern: allowed_pattern.or_else(|| latest.as_ref().and_then(|l| l.allowed_pattern.as_deref())),
            data_type,
            tier,
            modified_at: ids::now(),
            modified_by: &modified_by,
        };
        let done = match &existing {
            None => model::create(&ctx.app.store, ctx.account(), ctx.region(), &new, &tags).await?,
            Some(parameter) => {
                model::add_version(&ctx.app.store, ctx.account(), ctx.region(), parameter, &new).await? == Written::Done
            }
        };
        if done {
            return Ok(json!({"Version": version, "Tier": tier}));
        }
    }
    Err(AwsError::new(
        "TooManyUpdates",
        400,
        "There are concurrent updates for a resource that supports one update at a time.",
    ))
}

async fn get_parameter(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let reference = reference(ctx, name_member(ctx)?)?;
    let (_, versions) = resolve(ctx, &reference).await?.ok_or_else(|| parameter_not_found(&reference.spelled))?;
    let version = select(&versions, reference.selector.as_ref()).ok_or_else(|| match &reference.selector {
        Some(selector) => version_not_found(&reference.spelled, &selector.text()),
        None => parameter_not_found(&reference.spelled),
    })?;
    let selector = reference.selector.as_ref().map(|s| s.text());
    Ok(json!({"Parameter": parameter_json(ctx, version, with_decryption(ctx.body), selector.as_deref())?}))
}

async fn get_parameters(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let decrypt = with_decryption(ctx.body);
    let (mut found, mut invalid) = (Vec::new(), Vec::new());
    for name in names_member(ctx)? {
        let reference = reference(ctx, name)?;
        let resolved = resolve(ctx, &reference).await?;
        let picked = resolved.as_ref().and_then(|(_, versions)| select(versions, reference.selector.as_ref()));
        match picked {
            Some(version) => {
                let selector = reference.selector.as_ref().map(|s| s.text());
                found.push(parameter_json(ctx, version, decrypt, selector.as_deref())?);
            }
            None => invalid.push(json!(name)),
        }
    }
    Ok(json!({"Parameters": found, "InvalidParameters": invalid}))
}

/// `ParameterFilters` as GetParametersByPath takes them: `Type`, `KeyId` and `Label`, each
/// `Equals` (or `BeginsWith` for KeyId), values alternatives.
fn path_filters(body: &Json) -> Result<Vec<(String, String, Vec<String>)>, AwsError> {
    let Some(items) = body.get("ParameterFilters").and_then(Json::as_array) else { return Ok(Vec::new()) };
    items
        .iter()
        .map(|item| {
            let key = item.get("Key").and_then(Json::as_str).unwrap_or_default();
            if !matches!(key, "Type" | "KeyId" | "Label") && !key.starts_with("tag:") {
                return Err(AwsError::new(
                    "InvalidFilterKey",
                    400,
                    format!("The following filter key is not valid: {key}. Valid filter keys include: [Type, KeyId, Label, tag]."),
                ));
            }
            let option = item.get("Option").and_then(Json::as_str).unwrap_or("Equals");
            if !matches!(option, "Equals" | "BeginsWith") {
                return Err(AwsError::new(
                    "InvalidFilterOption",
                    400,
                    format!("The following filter option is not valid: {option}. Valid options include: [Equals, BeginsWith]."),
                ));
            }
            let values = item
                .get("Values")
                .and_then(Json::as_array)
                .map(|values| values.iter().filter_map(Json::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            Ok((key.to_owned(), option.to_owned(), values))
        })
        .collect()
}

/// Whether `version` (with its parameter's tags) passes every filter.
pub(crate) fn passes(
    version: &ParameterVersion,
    tags: &[(String, String)],
    filters: &[(String, String, Vec<String>)],
) -> bool {
    filters.iter().all(|(key, option, values)| {
        let candidates: Vec<&str> = match key.as_str() {
            "Type" => vec![version.kind.as_str()],
            "KeyId" => version.key_id.as_deref().into_iter().collect(),
            "Label" => version.labels.iter().map(String::as_str).collect(),
            "Name" => vec![version.name.as_str()],
            "Tier" => vec![version.tier.as_str()],
            "DataType" => vec![version.data_type.as_str()],
            other => match other.strip_prefix("tag:") {
                Some(tag) => tags.iter().filter(|(k, _)| k == tag).map(|(_, v)| v.as_str()).collect(),
                None => Vec::new(),
            },
        };
        // A tag filter without values matches a parameter that has the key.
        if values.is_empty() && key.starts_with("tag:") {
            return !candidates.is_empty();
        }
        candidates.iter().any(|candidate| {
            values.iter().any(|value| match option.as_str() {
                "BeginsWith" => candidate.starts_with(value.as_str()),
                "Contains" => candidate.contains(value.as_str()),
                _ => candidate == value,
            })
        })
    })
}

async fn get_parameters_by_path(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let page = ssm::Page::from_body(ctx.body, 1..=10, 10)?;
    let path = ctx.body.get("Path").and_then(Json::as_str).unwrap_or_default();
    check_path(path)?;
    let recursive = ctx.body.get("Recursive").and_then(Json::as_bool).unwrap_or(false);
    let filters = path_filters(ctx.body)?;
    let decrypt = with_decryption(ctx.body);
    let prefix = format!("{}/", path.trim_end_matches('/'));
    let mut found = Vec::new();
    for (version, tags) in model::all_latest(&ctx.app.store, ctx.account(), ctx.region()).await? {
        let Some(rest) = version.name.strip_prefix(&prefix) else { continue };
        if (!recursive && rest.contains('/')) || !passes(&version, &tags, &filters) {
            continue;
        }
        found.push(parameter_json(ctx, &version, decrypt, None)?);
    }
    Ok(page.answer("Parameters", found))
}

async fn delete_parameter(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let reference = reference(ctx, name_member(ctx)?)?;
    for name in &reference.candidates {
        if model::delete(&ctx.app.store, ctx.account(), ctx.region(), name).await? {
            return Ok(json!({}));
        }
    }
    Err(parameter_not_found(&reference.spelled))
}

async fn delete_parameters(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (mut deleted, mut invalid) = (Vec::new(), Vec::new());
    for name in names_member(ctx)? {
        let reference = reference(ctx, name)?;
        let mut gone = false;
        for candidate in &reference.candidates {
            if model::delete(&ctx.app.store, ctx.account(), ctx.region(), candidate).await? {
                gone = true;
                break;
            }
        }
        if gone { deleted.push(json!(name)) } else { invalid.push(json!(name)) }
    }
    Ok(json!({"DeletedParameters": deleted, "InvalidParameters": invalid}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_hold_their_sizes_and_never_go_back() {
        let standard = "x".repeat(STANDARD_VALUE);
        let bigger = "x".repeat(STANDARD_VALUE + 1);
        assert_eq!(tier_of(None, None, &standard).ok(), Some("Standard"));
        assert!(tier_of(None, None, &bigger).is_err());
        assert_eq!(tier_of(Some("Advanced"), None, &bigger).ok(), Some("Advanced"));
        assert_eq!(tier_of(Some("Intelligent-Tiering"), None, &bigger).ok(), Some("Advanced"));
        assert_eq!(tier_of(Some("Intelligent-Tiering"), None, "small").ok(), Some("Standard"));
        assert_eq!(tier_of(None, Some("Advanced"), "small").ok(), Some("Advanced"));
        assert!(tier_of(Some("Standard"), Some("Advanced"), "small").is_err());
        assert!(tier_of(Some("Advanced"), None, &"x".repeat(ADVANCED_VALUE + 1)).is_err());
    }

    #[test]
    fn allowed_patterns_match_the_whole_value() {
        assert!(check_pattern("^\\d+$", "123").is_ok());
        assert!(check_pattern("\\d+", "123").is_ok());
        assert_eq!(check_pattern("\\d+", "12a").unwrap_err().code, "ParameterPatternMismatchException");
        assert_eq!(check_pattern("(", "x").unwrap_err().code, "InvalidAllowedPatternException");
    }
}
