//! ECR features whose machinery Homeport's registry does not have, answered as ECR answers a
//! registry without them, and refused where a caller asks for them (never kept and
//! ignored):
//! - pull-through cache rules (Create, Describe, Update, Delete, Validate): the registry
//!   never pulls from an upstream registry, so none exists; creating one is refused as ECR
//!   refuses an upstream it does not support (`UnsupportedUpstreamRegistryException`);
//! - repository creation templates (Create, Describe, Update, Delete): repositories are
//!   created only by CreateRepository, never on push, by replication or by a pull-through
//!   cache, which is all a template applies to; none exists and creating one is refused;
//! - the signing configuration (Put, Get, Delete): there is no signer; none exists and
//!   putting one is refused.
//!
//! Each is authorized on `*` by the caller's policies, as AWS scopes these actions.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::ecr::invalid_member;
use crate::operations::operation;
use crate::operations::{Ctx, account_wide, json as json_op};

operation!(
    ecr,
    CREATE_PULL_THROUGH_CACHE_RULE,
    "CreatePullThroughCacheRule",
    Write,
    account_wide,
    |ctx| json_op(create_pull_through_cache_rule(ctx)),
    authorization = Policies
);
operation!(
    ecr,
    DESCRIBE_PULL_THROUGH_CACHE_RULES,
    "DescribePullThroughCacheRules",
    Read,
    account_wide,
    |ctx| json_op(describe_pull_through_cache_rules(ctx)),
    authorization = Policies
);
operation!(
    ecr,
    UPDATE_PULL_THROUGH_CACHE_RULE,
    "UpdatePullThroughCacheRule",
    Write,
    account_wide,
    |ctx| json_op(no_pull_through_cache_rule(ctx)),
    authorization = Policies
);
operation!(
    ecr,
    DELETE_PULL_THROUGH_CACHE_RULE,
    "DeletePullThroughCacheRule",
    Write,
    account_wide,
    |ctx| json_op(no_pull_through_cache_rule(ctx)),
    authorization = Policies
);
operation!(
    ecr,
    VALIDATE_PULL_THROUGH_CACHE_RULE,
    "ValidatePullThroughCacheRule",
    Read,
    account_wide,
    |ctx| json_op(no_pull_through_cache_rule(ctx)),
    authorization = Policies
);
operation!(
    ecr,
    CREATE_REPOSITORY_CREATION_TEMPLATE,
    "CreateRepositoryCreationTemplate",
    Write,
    account_wide,
    |ctx| { json_op(create_template(ctx)) },
    authorization = Policies
);
operation!(
    ecr,
    DESCRIBE_REPOSITORY_CREATION_TEMPLATES,
    "DescribeRepositoryCreationTemplates",
    Read,
    account_wide,
    |ctx| { json_op(describe_templates(ctx)) },
    authorization = Policies
);
operation!(
    ecr,
    UPDATE_REPOSITORY_CREATION_TEMPLATE,
    "UpdateRepositoryCreationTemplate",
    Write,
    account_wide,
    |ctx| { json_op(no_template(ctx)) },
    authorization = Policies
);
operation!(
    ecr,
    DELETE_REPOSITORY_CREATION_TEMPLATE,
    "DeleteRepositoryCreationTemplate",
    Write,
    account_wide,
    |ctx| { json_op(no_template(ctx)) },
    authorization = Policies
);
operation!(
    ecr,
    PUT_SIGNING_CONFIGURATION,
    "PutSigningConfiguration",
    Write,
    account_wide,
    |ctx| json_op(put_signing_configuration(ctx)),
    authorization = Policies
);
operation!(
    ecr,
    GET_SIGNING_CONFIGURATION,
    "GetSigningConfiguration",
    Read,
    account_wide,
    |ctx| json_op(no_signing_configuration(ctx)),
    authorization = Policies
);
operation!(
    ecr,
    DELETE_SIGNING_CONFIGURATION,
    "DeleteSigningConfiguration",
    Write,
    account_wide,
    |ctx| json_op(no_signing_configuration(ctx)),
    authorization = Policies
);

/// A pull-through cache rule's or template's prefix: ECR's repository name pattern with an
/// optional trailing `/`, or `ROOT` (templates only), within `max` characters.
fn prefix<'a>(ctx: &'a Ctx<'a>, member: &str, min: usize, max: usize, root: bool) -> Result<&'a str, AwsError> {
    let value = ctx.body.get(member).and_then(Json::as_str).unwrap_or_default();
    let name = value.strip_suffix('/').unwrap_or(value);
    let pattern_fits =
        (root && value == "ROOT") || (!name.is_empty() && name.split('/').all(crate::ecr::valid_name_component));
    let fits = (min..=max).contains(&value.len()) && pattern_fits;
    if fits {
        Ok(value)
    } else {
        Err(invalid_member(
            member,
            value,
            &format!(
                "Member must have length between {min} and {max} and satisfy regular expression pattern: ^([a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(\\/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*\\/?|ROOT)$"
            ),
        ))
    }
}

async fn create_pull_through_cache_rule(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    crate::ecr::check_registry(ctx)?;
    prefix(ctx, "ecrRepositoryPrefix", 2, 30, true)?;
    let Some(url) = ctx.body.get("upstreamRegistryUrl").and_then(Json::as_str) else {
        return Err(invalid_member("upstreamRegistryUrl", "null", "Member must not be null"));
    };
    Err(AwsError::new(
        "UnsupportedUpstreamRegistryException",
        400,
        format!(
            "The upstream registry '{url}' is not supported: Homeport's registry does not pull from upstream registries"
        ),
    ))
}

fn pull_through_cache_rule_not_found(ctx: &Ctx<'_>, prefix: &str) -> AwsError {
    AwsError::new(
        "PullThroughCacheRuleNotFoundException",
        400,
        format!(
            "The pull through cache rule with prefix '{prefix}' does not exist in the registry with id '{}'",
            ctx.account()
        ),
    )
}

async fn describe_pull_through_cache_rules(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    crate::ecr::check_registry(ctx)?;
    crate::ecr::page(ctx.body)?;
    match crate::ecr::strings(ctx.body, "ecrRepositoryPrefixes").first() {
        Some(prefix) => Err(pull_through_cache_rule_not_found(ctx, prefix)),
        None => Ok(json!({ "pullThroughCacheRules": [] })),
    }
}

async fn no_pull_through_cache_rule(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    crate::ecr::check_registry(ctx)?;
    let prefix = prefix(ctx, "ecrRepositoryPrefix", 2, 30, true)?;
    Err(pull_through_cache_rule_not_found(ctx, prefix))
}

async fn create_template(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    prefix(ctx, "prefix", 1, 256, true)?;
    if ctx.body.get("appliedFor").and_then(Json::as_array).is_none() {
        return Err(invalid_member("appliedFor", "null", "Member must not be null"));
    }
    Err(AwsError::new(
        "ValidationException",
        400,
        "Repository creation templates are not supported: Homeport creates repositories only through CreateRepository, never on push, by replication or for a pull through cache",
    ))
}

async fn describe_templates(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    crate::ecr::page(ctx.body)?;
    Ok(json!({ "registryId": ctx.account(), "repositoryCreationTemplates": [] }))
}

async fn no_template(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let prefix = prefix(ctx, "prefix", 1, 256, true)?;
    Err(AwsError::new(
        "TemplateNotFoundException",
        400,
        format!(
            "The repository creation template with prefix '{prefix}' does not exist in the registry with id '{}'",
            ctx.account()
        ),
    ))
}

async fn put_signing_configuration(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    if ctx.body.get("signingConfiguration").filter(|value| value.is_object()).is_none() {
        return Err(invalid_member("signingConfiguration", "null", "Member must not be null"));
    }
    Err(AwsError::new(
        "ValidationException",
        400,
        "Image signing is not supported: Homeport has no signer, so a registry keeps no signing configuration",
    ))
}

async fn no_signing_configuration(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    Err(AwsError::new(
        "SigningConfigurationNotFoundException",
        400,
        format!("Signing configuration does not exist in the registry with id '{}'", ctx.account()),
    ))
}
