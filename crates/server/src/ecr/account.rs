//! The registry as a whole, per account and region: DescribeRegistry, the registry policy
//! (Put/Get/DeleteRegistryPolicy), PutReplicationConfiguration, the registry scanning
//! configuration (Put/GetRegistryScanningConfiguration) and account settings
//! (Get/PutAccountSetting). Each is authorized on `*` by the caller's policies, as AWS scopes
//! these actions (they have no resource type).
//!
//! What is kept is answered back as it was put, and nothing is accepted that Homeport would
//! not honour:
//! - the registry policy is validated as a resource-based policy and stored; it grants
//!   other accounts replication and pull-through access on AWS, and Homeport has one
//!   account, so it takes part in no decision;
//! - a replication rule may name only this registry (another account's is refused) and
//!   other regions; images pushed afterwards are replicated (`ecr::replication`);
//! - Homeport has no vulnerability scanner: the scanning configuration is `BASIC` with no
//!   rules, and a rule or `ENHANCED` scanning is refused (`ecr::scanning` answers the image
//!   scan operations);
//! - pull-time update exclusions (principals whose pulls do not update an image's last pull
//!   time) are kept and listed, at most 100; Homeport records no pull times, so every
//!   principal is, in effect, excluded;
//! - account settings: `BASIC_SCAN_TYPE_VERSION` (`AWS_NATIVE`), `REGISTRY_POLICY_SCOPE`
//!   (`V1` by default, `V2`), `BLOB_MOUNTING` (`DISABLED`: the registry never mounts a blob
//!   across repositories, so `ENABLED` is refused).

use aws_protocol::AwsError;
use iam_policy::PolicyKind;
use serde_json::{Value as Json, json};

use crate::ecr::model::settings;
use crate::ecr::{invalid_member, invalid_parameter};
use crate::operations::operation;
use crate::operations::{Ctx, account_wide, json as json_op};

operation!(
    ecr,
    DESCRIBE_REGISTRY,
    "DescribeRegistry",
    Read,
    account_wide,
    |ctx| json_op(describe_registry(ctx)),
    authorization = Policies
);
operation!(
    ecr,
    PUT_REGISTRY_POLICY,
    "PutRegistryPolicy",
    Write,
    account_wide,
    |ctx| json_op(put_registry_policy(ctx)),
    authorization = Policies
);
operation!(
    ecr,
    GET_REGISTRY_POLICY,
    "GetRegistryPolicy",
    Read,
    account_wide,
    |ctx| json_op(get_registry_policy(ctx)),
    authorization = Policies
);
operation!(
    ecr,
    DELETE_REGISTRY_POLICY,
    "DeleteRegistryPolicy",
    Write,
    account_wide,
    |ctx| json_op(delete_registry_policy(ctx)),
    authorization = Policies
);
operation!(
    ecr,
    PUT_REPLICATION_CONFIGURATION,
    "PutReplicationConfiguration",
    Write,
    account_wide,
    |ctx| json_op(put_replication_configuration(ctx)),
    authorization = Policies
);
operation!(
    ecr,
    PUT_REGISTRY_SCANNING_CONFIGURATION,
    "PutRegistryScanningConfiguration",
    Write,
    account_wide,
    |ctx| { json_op(put_scanning_configuration(ctx)) },
    authorization = Policies
);
operation!(
    ecr,
    GET_REGISTRY_SCANNING_CONFIGURATION,
    "GetRegistryScanningConfiguration",
    Read,
    account_wide,
    |ctx| { json_op(get_scanning_configuration(ctx)) },
    authorization = Policies
);
operation!(
    ecr,
    GET_ACCOUNT_SETTING,
    "GetAccountSetting",
    Read,
    account_wide,
    |ctx| json_op(get_account_setting(ctx)),
    authorization = Policies
);
operation!(
    ecr,
    REGISTER_PULL_TIME_UPDATE_EXCLUSION,
    "RegisterPullTimeUpdateExclusion",
    Write,
    account_wide,
    |ctx| { json_op(register_exclusion(ctx)) },
    authorization = Policies
);
operation!(
    ecr,
    DEREGISTER_PULL_TIME_UPDATE_EXCLUSION,
    "DeregisterPullTimeUpdateExclusion",
    Write,
    account_wide,
    |ctx| { json_op(deregister_exclusion(ctx)) },
    authorization = Policies
);
operation!(
    ecr,
    LIST_PULL_TIME_UPDATE_EXCLUSIONS,
    "ListPullTimeUpdateExclusions",
    Read,
    account_wide,
    |ctx| json_op(list_exclusions(ctx)),
    authorization = Policies
);
operation!(
    ecr,
    PUT_ACCOUNT_SETTING,
    "PutAccountSetting",
    Write,
    account_wide,
    |ctx| json_op(put_account_setting(ctx)),
    authorization = Policies
);

const REGISTRY_POLICY: &str = "registry-policy";
const REPLICATION: &str = "replication";
const MAX_POLICY: usize = 10_240;

async fn setting(ctx: &Ctx<'_>, name: &str) -> Result<Option<String>, AwsError> {
    Ok(settings::registry_setting(&ctx.app.store, ctx.account(), ctx.region(), name).await?)
}

async fn set_setting(ctx: &Ctx<'_>, name: &str, value: Option<&str>) -> Result<bool, AwsError> {
    Ok(settings::set_registry_setting(&ctx.app.store, ctx.account(), ctx.region(), name, value).await?)
}

/// The stored replication configuration, or the empty one.
async fn replication(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    match setting(ctx, REPLICATION).await? {
        Some(text) => serde_json::from_str(&text).map_err(crate::operations::internal),
        None => Ok(json!({ "rules": [] })),
    }
}

async fn describe_registry(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    Ok(json!({ "registryId": ctx.account(), "replicationConfiguration": replication(ctx).await? }))
}

fn no_registry_policy(ctx: &Ctx<'_>) -> AwsError {
    AwsError::new(
        "RegistryPolicyNotFoundException",
        400,
        format!("Registry policy does not exist in the registry with id '{}'", ctx.account()),
    )
}

async fn put_registry_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let Some(text) = ctx.body.get("policyText").and_then(Json::as_str) else {
        return Err(invalid_member("policyText", "null", "Member must not be null"));
    };
    if text.len() > MAX_POLICY {
        return Err(invalid_member("policyText", "...", "Member must have length less than or equal to 10240"));
    }
    iam_policy::validate(text, PolicyKind::Resource).map_err(|_| {
        invalid_parameter(
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy provided'",
        )
    })?;
    set_setting(ctx, REGISTRY_POLICY, Some(text)).await?;
    Ok(json!({ "registryId": ctx.account(), "policyText": text }))
}

async fn get_registry_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let text = setting(ctx, REGISTRY_POLICY).await?.ok_or_else(|| no_registry_policy(ctx))?;
    Ok(json!({ "registryId": ctx.account(), "policyText": text }))
}

async fn delete_registry_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let text = setting(ctx, REGISTRY_POLICY).await?.ok_or_else(|| no_registry_policy(ctx))?;
    set_setting(ctx, REGISTRY_POLICY, None).await?;
    Ok(json!({ "registryId": ctx.account(), "policyText": text }))
}

/// `[0-9a-z-]{2,25}`: a region's name as the model allows it.
fn valid_region(region: &str) -> bool {
    (2..=25).contains(&region.len())
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A replication configuration, checked against the model's limits and Homeport's one
/// registry; returned as it will be stored (the members the model has, in its shape).
fn replication_configuration(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let Some(configuration) = ctx.body.get("replicationConfiguration").filter(|value| value.is_object()) else {
        return Err(invalid_member("replicationConfiguration", "null", "Member must not be null"));
    };
    let rules = configuration
        .get("rules")
        .and_then(Json::as_array)
        .ok_or_else(|| invalid_member("replicationConfiguration.rules", "null", "Member must not be null"))?;
    if rules.len() > 10 {
        return Err(invalid_member(
            "replicationConfiguration.rules",
            "[...]",
            "Member must have length less than or equal to 10",
        ));
    }
    let mut kept = Vec::new();
    let mut destinations_total = 0;
    for rule in rules {
        let destinations = rule.get("destinations").and_then(Json::as_array).cloned().unwrap_or_default();
        destinations_total += destinations.len();
        let mut kept_destinations = Vec::new();
        for destination in &destinations {
            let region = destination.get("region").and_then(Json::as_str).unwrap_or_default();
            let registry = destination.get("registryId").and_then(Json::as_str).unwrap_or_default();
            if !valid_region(region) {
                return Err(invalid_member(
                    "replicationConfiguration.rules.destinations.region",
                    region,
                    "Member must satisfy regular expression pattern: [0-9a-z-]{2,25}",
                ));
            }
            if registry != ctx.account() {
                return Err(invalid_parameter(format!(
                    "Invalid parameter at 'registryId' failed to satisfy constraint: 'The registry {registry} is not this registry ({}); Homeport replicates only within its own registry'",
                    ctx.account()
                )));
            }
            if region == ctx.region() {
                return Err(invalid_parameter(
                    "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: 'Replication destination cannot be the source region of the same registry'",
                ));
            }
            kept_destinations.push(json!({ "region": region, "registryId": registry }));
        }
        let mut kept_rule = json!({ "destinations": kept_destinations });
        if let Some(filters) = rule.get("repositoryFilters").filter(|value| !value.is_null()) {
            let filters = filters.as_array().cloned().unwrap_or_default();
            if filters.is_empty() || filters.len() > 100 {
                return Err(invalid_member(
                    "replicationConfiguration.rules.repositoryFilters",
                    "[...]",
                    "Member must have length between 1 and 100",
                ));
            }
            let mut kept_filters = Vec::new();
            for filter in &filters {
                let value = filter.get("filter").and_then(Json::as_str).unwrap_or_default();
                let kind = filter.get("filterType").and_then(Json::as_str).unwrap_or_default();
                if !(2..=256).contains(&value.len()) {
                    return Err(invalid_member(
                        "replicationConfiguration.rules.repositoryFilters.filter",
                        value,
                        "Member must have length between 2 and 256",
                    ));
                }
                if kind != "PREFIX_MATCH" {
                    return Err(invalid_member(
                        "replicationConfiguration.rules.repositoryFilters.filterType",
                        kind,
                        "Member must satisfy enum value set: [PREFIX_MATCH]",
                    ));
                }
                kept_filters.push(json!({ "filter": value, "filterType": kind }));
            }
            crate::operations::put(&mut kept_rule, "repositoryFilters", kept_filters);
        }
        kept.push(kept_rule);
    }
    if destinations_total > 25 {
        return Err(invalid_parameter(
            "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: 'A replication configuration can have at most 25 unique destinations'",
        ));
    }
    Ok(json!({ "rules": kept }))
}

async fn put_replication_configuration(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let configuration = replication_configuration(ctx)?;
    set_setting(ctx, REPLICATION, Some(&configuration.to_string())).await?;
    Ok(json!({ "replicationConfiguration": configuration }))
}

/// The only scanning configuration a registry without a scanner has.
fn basic_scanning() -> Json {
    json!({ "scanType": "BASIC", "rules": [] })
}

async fn put_scanning_configuration(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let scan_type = ctx.body.get("scanType").and_then(Json::as_str).unwrap_or("BASIC");
    if !matches!(scan_type, "BASIC" | "ENHANCED") {
        return Err(invalid_member("scanType", scan_type, "Member must satisfy enum value set: [BASIC, ENHANCED]"));
    }
    let rules = ctx.body.get("rules").and_then(Json::as_array).map_or(0, Vec::len);
    if rules > 2 {
        return Err(invalid_member("rules", "[...]", "Member must have length less than or equal to 2"));
    }
    if scan_type == "ENHANCED" || rules > 0 {
        return Err(AwsError::new(
            "ValidationException",
            400,
            "Image scanning is not available: Homeport has no vulnerability scanner, so the registry's scanning configuration is BASIC with no rules",
        ));
    }
    Ok(json!({ "registryScanningConfiguration": basic_scanning() }))
}

async fn get_scanning_configuration(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    Ok(json!({ "registryId": ctx.account(), "scanningConfiguration": basic_scanning() }))
}

/// An account setting's values: its default first, then every value a Put may set.
fn setting_values(name: &str) -> Option<(&'static str, &'static [&'static str])> {
    match name {
        "BASIC_SCAN_TYPE_VERSION" => Some(("AWS_NATIVE", &["AWS_NATIVE"])),
        "REGISTRY_POLICY_SCOPE" => Some(("V1", &["V2"])),
        "BLOB_MOUNTING" => Some(("DISABLED", &["DISABLED"])),
        _ => None,
    }
}

fn setting_name<'a>(ctx: &'a Ctx<'a>) -> Result<(&'a str, &'static str, &'static [&'static str]), AwsError> {
    let name = ctx.body.get("name").and_then(Json::as_str).unwrap_or_default();
    if name.is_empty() || name.len() > 64 {
        return Err(invalid_member("name", name, "Member must have length between 1 and 64"));
    }
    let (default, allowed) = setting_values(name).ok_or_else(|| {
        AwsError::new(
            "ValidationException",
            400,
            format!("Invalid account setting name '{name}': valid names are BASIC_SCAN_TYPE_VERSION, REGISTRY_POLICY_SCOPE and BLOB_MOUNTING"),
        )
    })?;
    Ok((name, default, allowed))
}

async fn get_account_setting(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (name, default, _) = setting_name(ctx)?;
    let value = setting(ctx, &format!("account:{name}")).await?.unwrap_or_else(|| default.to_owned());
    Ok(json!({ "name": name, "value": value }))
}

async fn put_account_setting(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (name, _, allowed) = setting_name(ctx)?;
    let value = ctx.body.get("value").and_then(Json::as_str).unwrap_or_default();
    if !allowed.contains(&value) {
        let reason = if name == "BLOB_MOUNTING" && value == "ENABLED" {
            "Homeport's registry does not mount blobs across repositories".to_owned()
        } else {
            format!("valid values are {}", allowed.join(", "))
        };
        return Err(AwsError::new(
            "ValidationException",
            400,
            format!("Invalid value '{value}' for account setting {name}: {reason}"),
        ));
    }
    set_setting(ctx, &format!("account:{name}"), Some(value)).await?;
    Ok(json!({ "name": name, "value": value }))
}

const EXCLUSION: &str = "pull-time-exclusion:";
const MAX_EXCLUSIONS: usize = 100;

/// `principalArn`: an IAM user's or role's ARN, as the model's pattern has it.
fn principal_arn<'a>(ctx: &'a Ctx<'a>) -> Result<&'a str, AwsError> {
    let arn = ctx.body.get("principalArn").and_then(Json::as_str).unwrap_or_default();
    let fits = arn.len() <= 200
        && arn.split_once(":iam::").is_some_and(|(partition, rest)| {
            partition.strip_prefix("arn:aws").is_some_and(|tail| tail.is_empty() || tail.starts_with('-'))
                && rest.split_once(':').is_some_and(|(account, resource)| {
                    account.len() == 12
                        && account.bytes().all(|b| b.is_ascii_digit())
                        && resource.split_once('/').is_some_and(|(kind, path)| {
                            matches!(kind, "user" | "role")
                                && path.split('/').all(|part| {
                                    !part.is_empty()
                                        && part.chars().all(|c| c.is_alphanumeric() || "_+=,.@-".contains(c))
                                })
                        })
                })
        });
    if fits {
        Ok(arn)
    } else {
        Err(invalid_member(
            "principalArn",
            arn,
            "Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[\\w+=,.@-]+(/[\\w+=,.@-]+)*$",
        ))
    }
}

async fn register_exclusion(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let arn = principal_arn(ctx)?;
    let existing = settings::registry_settings_named(&ctx.app.store, ctx.account(), ctx.region(), EXCLUSION).await?;
    if existing.iter().any(|(name, _)| name.strip_prefix(EXCLUSION) == Some(arn)) {
        return Err(AwsError::new(
            "ExclusionAlreadyExistsException",
            400,
            format!("The principal '{arn}' is already excluded from pull time updates"),
        ));
    }
    if existing.len() >= MAX_EXCLUSIONS {
        return Err(AwsError::new(
            "LimitExceededException",
            400,
            "The registry already has 100 pull time update exclusions, the most it can have",
        ));
    }
    let now = crate::ids::now();
    set_setting(ctx, &format!("{EXCLUSION}{arn}"), Some(&now.to_string())).await?;
    Ok(json!({ "principalArn": arn, "createdAt": now }))
}

async fn deregister_exclusion(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let arn = principal_arn(ctx)?;
    if !set_setting(ctx, &format!("{EXCLUSION}{arn}"), None).await? {
        return Err(AwsError::new(
            "ExclusionNotFoundException",
            400,
            format!("The principal '{arn}' is not excluded from pull time updates"),
        ));
    }
    Ok(json!({ "principalArn": arn }))
}

async fn list_exclusions(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (start, size) = crate::ecr::page(ctx.body)?;
    let arns: Vec<Json> = settings::registry_settings_named(&ctx.app.store, ctx.account(), ctx.region(), EXCLUSION)
        .await?
        .into_iter()
        .filter_map(|(name, _)| name.strip_prefix(EXCLUSION).map(Json::from))
        .collect();
    Ok(crate::operations::json_page("pullTimeUpdateExclusions", "nextToken", arns, start, size))
}
