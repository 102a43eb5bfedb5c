//! ECS's capacity providers: DescribeCapacityProviders, CreateCapacityProvider,
//! UpdateCapacityProvider, DeleteCapacityProvider and PutClusterCapacityProviders.
//!
//! Every account has ECS's two reserved providers, `FARGATE` and `FARGATE_SPOT`, described as
//! ECS describes them and never changed or deleted. Any other provider scales an Auto Scaling
//! group (`autoScalingGroupProvider`) or is an ECS Managed Instances provider
//! (`managedInstancesProvider`), both EC2; Homeport has no Auto Scaling groups and runs no
//! EC2 instances (external instances belong to no group), so every group ARN names a group
//! that does not exist and CreateCapacityProvider answers as ECS does for one:
//! `ClientException`; a Managed Instances provider is `UnsupportedFeatureException`. Hence no
//! provider of the caller's own ever exists, and Update and Delete find none.
//!
//! A cluster may have `FARGATE` and `FARGATE_SPOT` associated (DescribeClusters lists them),
//! which launches nothing by itself; a default capacity provider strategy would launch on
//! them and is refused, as are the launches' own strategies (`ecs::unsupported`).

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::clusters::active_cluster;
use super::model::cluster as cluster_model;
use crate::ecs::{self, client, cluster_arn, invalid_parameter};
use crate::operations::{Ctx, account_wide, json as json_op, operation};
use crate::regions::Scope;

operation!(ecs, DESCRIBE_CAPACITY_PROVIDERS, "DescribeCapacityProviders", Read, account_wide, |ctx| json_op(
    describe_capacity_providers(ctx)
));
operation!(
    ecs,
    CREATE_CAPACITY_PROVIDER,
    "CreateCapacityProvider",
    Write,
    |ctx| Box::pin(async move { Ok(vec![provider_arn(ctx.scope(), ecs::required(ctx.body, "name")?)]) }),
    |ctx| json_op(create_capacity_provider(ctx))
);
operation!(
    ecs,
    UPDATE_CAPACITY_PROVIDER,
    "UpdateCapacityProvider",
    Write,
    |ctx| Box::pin(async move { Ok(vec![provider_arn(ctx.scope(), ecs::required(ctx.body, "name")?)]) }),
    |ctx| json_op(update_capacity_provider(ctx))
);
operation!(
    ecs,
    DELETE_CAPACITY_PROVIDER,
    "DeleteCapacityProvider",
    Write,
    |ctx| Box::pin(async move { Ok(vec![provider_arn(ctx.scope(), ecs::required(ctx.body, "capacityProvider")?)]) }),
    |ctx| json_op(delete_capacity_provider(ctx))
);
operation!(
    ecs,
    PUT_CLUSTER_CAPACITY_PROVIDERS,
    "PutClusterCapacityProviders",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| json_op(put_cluster_capacity_providers(ctx))
);

/// ECS's reserved providers, in the order ECS lists them.
const RESERVED: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];

/// A provider's ARN from its name or ARN.
fn provider_arn(scope: Scope<'_>, reference: &str) -> String {
    if reference.starts_with("arn:") { reference.to_owned() } else { ecs::arn(scope, "capacity-provider", reference) }
}

/// The reserved provider a name or ARN names, if it is one of this scope's.
fn reserved(scope: Scope<'_>, reference: &str) -> Option<&'static str> {
    RESERVED.into_iter().find(|name| *name == reference || provider_arn(scope, name) == reference)
}

/// ECS's `CapacityProvider` shape of a reserved provider.
fn describe(scope: Scope<'_>, name: &str) -> Json {
    json!({
        "capacityProviderArn": provider_arn(scope, name),
        "name": name,
        "status": "ACTIVE",
        "type": name,
        "tags": [],
    })
}

async fn describe_capacity_providers(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    if ctx.body.get("cluster").is_some() {
        active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    }
    let page = ecs::Page::from_body(ctx.body, 10, 10)?;
    let named = ecs::strings(ctx.body, "capacityProviders");
    if named.len() > 100 {
        return Err(invalid_parameter("capacityProviders can have at most 100 items."));
    }
    let scope = ctx.scope();
    if named.is_empty() {
        return Ok(page.answer("capacityProviders", RESERVED.iter().map(|name| describe(scope, name)).collect()));
    }
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for reference in named {
        match reserved(scope, reference) {
            Some(name) => found.push(describe(scope, name)),
            None => failures.push(json!({"arn": provider_arn(scope, reference), "reason": "MISSING"})),
        }
    }
    let mut answer = page.answer("capacityProviders", found);
    ecs::put(&mut answer, "failures", failures);
    Ok(answer)
}

async fn create_capacity_provider(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = ecs::required(ctx.body, "name")?;
    let valid = name.len() <= 255 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(client(
            "The name can have up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.",
        ));
    }
    let lower = name.to_lowercase();
    if ["aws", "ecs", "fargate"].iter().any(|prefix| lower.starts_with(prefix)) {
        return Err(client("The capacity provider name can't be prefixed with 'aws', 'ecs', or 'fargate'."));
    }
    ecs::tags_from_body(ctx.body)?;
    if ctx.body.get("cluster").is_some() {
        active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    }
    if ctx.body.get("managedInstancesProvider").is_some() {
        return Err(AwsError::new(
            "UnsupportedFeatureException",
            400,
            "ECS Managed Instances run on EC2, which Homeport does not have.",
        ));
    }
    let group = ctx
        .body
        .get("autoScalingGroupProvider")
        .and_then(|provider| provider.get("autoScalingGroupArn"))
        .and_then(Json::as_str)
        .ok_or_else(|| invalid_parameter("autoScalingGroupProvider or managedInstancesProvider must be specified."))?;
    // Homeport has no Auto Scaling groups: every ARN names one that does not exist.
    Err(client(format!("The specified Auto Scaling group ARN is invalid or does not exist: {group}.")))
}

/// ECS's refusal to change or delete a provider: a reserved one, or one that does not exist.
fn no_such_provider(scope: Scope<'_>, reference: &str, verb: &str) -> AwsError {
    match reserved(scope, reference) {
        Some(name) => client(format!("The {name} capacity provider is reserved and can't be {verb}.")),
        None => client(format!("The specified capacity provider does not exist: {reference}.")),
    }
}

async fn update_capacity_provider(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    Err(no_such_provider(ctx.scope(), ecs::required(ctx.body, "name")?, "updated"))
}

async fn delete_capacity_provider(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    Err(no_such_provider(ctx.scope(), ecs::required(ctx.body, "capacityProvider")?, "deleted"))
}

/// A request's `capacityProviders` (names or ARNs of this scope's reserved providers), as
/// names, and its `defaultCapacityProviderStrategy`, which must be empty: the cluster's
/// associations, or ECS's refusal. CreateCluster takes the same members.
pub(crate) fn associations(ctx: &Ctx<'_>) -> Result<Option<Vec<String>>, AwsError> {
    let strategy = ctx.body.get("defaultCapacityProviderStrategy").and_then(Json::as_array);
    if strategy.is_some_and(|items| !items.is_empty()) {
        return Err(invalid_parameter(format!(
            "Homeport does not support the {} parameter 'defaultCapacityProviderStrategy' yet.",
            ctx.operation.name
        )));
    }
    let Some(items) = ctx.body.get("capacityProviders").and_then(Json::as_array) else { return Ok(None) };
    let mut names = Vec::new();
    for item in items {
        let reference = item.as_str().unwrap_or_default();
        let name = reserved(ctx.scope(), reference)
            .ok_or_else(|| invalid_parameter(format!("The specified capacity provider {reference} does not exist.")))?;
        if !names.iter().any(|known: &String| known == name) {
            names.push(name.to_owned());
        }
    }
    Ok(Some(names))
}

async fn put_cluster_capacity_providers(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let names = associations(ctx)?.unwrap_or_default();
    cluster_model::set_capacity_providers(&ctx.app.store, &cluster.arn, &names).await?;
    let described = super::clusters::describe_named(ctx.app, ctx.scope(), &cluster.arn).await?;
    Ok(json!({"cluster": described}))
}
