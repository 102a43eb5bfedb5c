//! Metric filters (Put/Describe/Delete/TestMetricFilter), subscription filters
//! (Put/Describe/DeleteSubscriptionFilter) and resource policies
//! (Put/Describe/DeleteResourcePolicy).
//!
//! Guarantees: a filter's pattern is parsed with FilterLogEvents' language
//! (`logs_filter`) before it is stored, and TestMetricFilter matches with the same parser;
//! a group holds at most 100 metric filters and 2 subscription filters, a region 10 resource
//! policies (`LimitExceededException`). Metric filters are stored and answered: Homeport
//! runs no CloudWatch metrics, so no metric is published. Subscription filters are stored and
//! answered: nothing is delivered to their destination (a subscription's `roleArn` needs
//! `iam:PassRole` to `logs.amazonaws.com`, as on AWS); a destination that is a CloudWatch Logs
//! destination must exist in the group's account and region (`logs::destinations`).

use aws_protocol::AwsError;
use logs_filter::Pattern;
use serde_json::{Value as Json, json};

use super::model::filters::{self, Filter, FilterKind, Put, ResourcePolicy};
use super::{group_name, group_resource, invalid_parameter, no_group, page, paged};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op, missing};

operation!(
    logs,
    PUT_METRIC_FILTER,
    "PutMetricFilter",
    Write,
    |ctx| Box::pin(async move { group_resource(ctx) }),
    |ctx| json_op(put_filter(ctx, FilterKind::Metric))
);
operation!(
    logs,
    DESCRIBE_METRIC_FILTERS,
    "DescribeMetricFilters",
    Read,
    |ctx| Box::pin(async move { groups_resource(ctx) }),
    |ctx| json_op(describe_filters(ctx, FilterKind::Metric))
);
operation!(
    logs,
    DELETE_METRIC_FILTER,
    "DeleteMetricFilter",
    Write,
    |ctx| Box::pin(async move { group_resource(ctx) }),
    |ctx| json_op(delete_filter(ctx, FilterKind::Metric))
);
operation!(logs, TEST_METRIC_FILTER, "TestMetricFilter", Read, crate::operations::account_wide, |ctx| json_op(
    test_metric_filter(ctx)
));
operation!(
    logs,
    PUT_SUBSCRIPTION_FILTER,
    "PutSubscriptionFilter",
    Write,
    |ctx| Box::pin(async move { group_resource(ctx) }),
    |ctx| json_op(put_filter(ctx, FilterKind::Subscription))
);
operation!(
    logs,
    DESCRIBE_SUBSCRIPTION_FILTERS,
    "DescribeSubscriptionFilters",
    Read,
    |ctx| Box::pin(async move { group_resource(ctx) }),
    |ctx| json_op(describe_filters(ctx, FilterKind::Subscription))
);
operation!(
    logs,
    DELETE_SUBSCRIPTION_FILTER,
    "DeleteSubscriptionFilter",
    Write,
    |ctx| Box::pin(async move { group_resource(ctx) }),
    |ctx| json_op(delete_filter(ctx, FilterKind::Subscription))
);
operation!(logs, PUT_RESOURCE_POLICY, "PutResourcePolicy", Write, crate::operations::account_wide, |ctx| json_op(
    put_resource_policy(ctx)
));
operation!(
    logs,
    DESCRIBE_RESOURCE_POLICIES,
    "DescribeResourcePolicies",
    Read,
    crate::operations::account_wide,
    |ctx| json_op(describe_resource_policies(ctx))
);
operation!(
    logs,
    DELETE_RESOURCE_POLICY,
    "DeleteResourcePolicy",
    Write,
    crate::operations::account_wide,
    |ctx| json_op(delete_resource_policy(ctx))
);

/// Metric filters a group may hold, subscription filters a group may hold, and resource
/// policies a region may hold (CloudWatch Logs' quotas).
const METRIC_FILTERS_PER_GROUP: i64 = 100;
const SUBSCRIPTION_FILTERS_PER_GROUP: i64 = 2;
const RESOURCE_POLICIES_PER_REGION: i64 = 10;

fn limit_exceeded() -> AwsError {
    AwsError::new("LimitExceededException", 400, "Resource limit exceeded.")
}

/// A string member the operation needs.
fn text<'a>(body: &'a Json, member: &str) -> Result<&'a str, AwsError> {
    body.get(member).and_then(Json::as_str).ok_or_else(|| missing(member))
}

/// DescribeMetricFilters' resource: the group it names, or every group of the region.
fn groups_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    match ctx.body.get("logGroupName") {
        Some(_) => group_resource(ctx),
        None => Ok(vec![format!("arn:aws:logs:{}:{}:log-group:*", ctx.region(), ctx.account())]),
    }
}

/// A filter pattern, parsed as FilterLogEvents parses one.
fn pattern(body: &Json) -> Result<&str, AwsError> {
    let text = text(body, "filterPattern")?;
    Pattern::parse(text).map_err(|error| invalid_parameter(format!("Invalid filter pattern: {}", error.0)))?;
    Ok(text)
}

/// What a filter of `kind` adds to its pattern, as stored: a metric filter's one
/// transformation; a subscription filter's destination, role and distribution.
fn detail(body: &Json, kind: FilterKind) -> Result<Json, AwsError> {
    if body.get("applyOnTransformedLogs").and_then(Json::as_bool) == Some(true) {
        return Err(invalid_parameter("Homeport runs no log transformers: applyOnTransformedLogs must be false."));
    }
    match kind {
        FilterKind::Metric => {
            let transformations = body.get("metricTransformations").ok_or_else(|| missing("metricTransformations"))?;
            let [transformation] = transformations.as_array().map(Vec::as_slice).unwrap_or_default() else {
                return Err(invalid_parameter("A metric filter has exactly one metric transformation."));
            };
            for member in ["metricName", "metricNamespace", "metricValue"] {
                text(transformation, member)?;
            }
            Ok(transformations.clone())
        }
        FilterKind::Subscription => {
            let distribution = body.get("distribution").and_then(Json::as_str).unwrap_or("ByLogStream");
            Ok(json!({
                "destinationArn": text(body, "destinationArn")?,
                "roleArn": body.get("roleArn").cloned().unwrap_or(Json::Null),
                "distribution": distribution,
            }))
        }
    }
}

async fn put_filter(ctx: &Ctx<'_>, kind: FilterKind) -> Result<Json, AwsError> {
    let group = group_name(ctx.body)?;
    let filter = Filter {
        group: group.to_owned(),
        name: text(ctx.body, "filterName")?.to_owned(),
        pattern: pattern(ctx.body)?.to_owned(),
        detail: detail(ctx.body, kind)?.to_string(),
        created_at: ids::now() * 1000,
    };
    if kind == FilterKind::Subscription {
        super::destinations::subscribed_destination(ctx, text(ctx.body, "destinationArn")?).await?;
    }
    // A subscription's role is passed to CloudWatch Logs, which would deliver with it.
    if let Some(role_arn) = ctx.body.get("roleArn").and_then(Json::as_str).filter(|_| kind == FilterKind::Subscription)
    {
        crate::authz::pass_role(ctx, role_arn, "logs.amazonaws.com", &super::group_arn(ctx.scope(), group)).await?;
    }
    let quota = match kind {
        FilterKind::Metric => METRIC_FILTERS_PER_GROUP,
        FilterKind::Subscription => SUBSCRIPTION_FILTERS_PER_GROUP,
    };
    match filters::put(&ctx.app.store, ctx.scope(), kind, &filter, quota).await? {
        Put::Written => Ok(json!({})),
        Put::OverQuota => Err(limit_exceeded()),
        Put::NoGroup => Err(no_group()),
    }
}

/// A filter as DescribeMetricFilters or DescribeSubscriptionFilters answers it.
fn filter_json(filter: Filter, kind: FilterKind) -> Json {
    let detail: Json = serde_json::from_str(&filter.detail).unwrap_or(Json::Null);
    let mut answer = json!({
        "filterName": filter.name,
        "filterPattern": filter.pattern,
        "logGroupName": filter.group,
        "creationTime": filter.created_at,
    });
    match (kind, detail) {
        (FilterKind::Metric, transformations) => {
            crate::operations::put(&mut answer, "metricTransformations", transformations);
            crate::operations::put(&mut answer, "applyOnTransformedLogs", false);
        }
        (FilterKind::Subscription, Json::Object(members)) => {
            for (name, value) in members.into_iter().filter(|(_, value)| !value.is_null()) {
                crate::operations::put(&mut answer, &name, value);
            }
            crate::operations::put(&mut answer, "applyOnTransformedLogs", false);
        }
        (FilterKind::Subscription, _) => {}
    }
    answer
}

async fn describe_filters(ctx: &Ctx<'_>, kind: FilterKind) -> Result<Json, AwsError> {
    let (start, limit) = page(ctx.body)?;
    let group = ctx.body.get("logGroupName").map(|_| group_name(ctx.body)).transpose()?;
    if kind == FilterKind::Subscription && group.is_none() {
        return Err(missing("logGroupName"));
    }
    let prefix = ctx.body.get("filterNamePrefix").and_then(Json::as_str);
    if prefix.is_some() && group.is_none() {
        return Err(invalid_parameter("filterNamePrefix requires logGroupName."));
    }
    let metric =
        (ctx.body.get("metricName").and_then(Json::as_str), ctx.body.get("metricNamespace").and_then(Json::as_str));
    if metric.0.is_some() != metric.1.is_some() {
        return Err(invalid_parameter("metricName and metricNamespace must be given together."));
    }
    if let Some(group) = group
        && !super::group_exists(ctx.app, ctx.scope(), group).await?
    {
        return Err(no_group());
    }
    let names_metric = |filter: &Filter| match metric {
        (Some(name), Some(namespace)) => {
            let detail: Json = serde_json::from_str(&filter.detail).unwrap_or(Json::Null);
            detail
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["metricName"] == name && t["metricNamespace"] == namespace)
        }
        _ => true,
    };
    let found: Vec<Json> = filters::list(&ctx.app.store, ctx.scope(), kind, group)
        .await?
        .into_iter()
        .filter(|filter| prefix.is_none_or(|prefix| filter.name.starts_with(prefix)) && names_metric(filter))
        .map(|filter| filter_json(filter, kind))
        .collect();
    let list = match kind {
        FilterKind::Metric => "metricFilters",
        FilterKind::Subscription => "subscriptionFilters",
    };
    Ok(paged(list, found, start, limit))
}

async fn delete_filter(ctx: &Ctx<'_>, kind: FilterKind) -> Result<Json, AwsError> {
    let group = group_name(ctx.body)?;
    let name = text(ctx.body, "filterName")?;
    if filters::delete(&ctx.app.store, ctx.scope(), kind, group, name).await? {
        return Ok(json!({}));
    }
    if !super::group_exists(ctx.app, ctx.scope(), group).await? {
        return Err(no_group());
    }
    Err(AwsError::new("ResourceNotFoundException", 400, "The specified filter does not exist."))
}

async fn test_metric_filter(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let parsed = Pattern::parse(pattern(ctx.body)?)
        .map_err(|error| invalid_parameter(format!("Invalid filter pattern: {}", error.0)))?;
    let messages =
        ctx.body.get("logEventMessages").and_then(Json::as_array).ok_or_else(|| missing("logEventMessages"))?;
    let matches: Vec<Json> = messages
        .iter()
        .filter_map(Json::as_str)
        .enumerate()
        .filter(|(_, message)| parsed.matches(message))
        .map(|(index, message)| json!({"eventNumber": index + 1, "eventMessage": message, "extractedValues": {}}))
        .collect();
    Ok(json!({ "matches": matches }))
}

async fn put_resource_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    if ctx.body.get("resourceArn").is_some() {
        return Err(invalid_parameter(
            "Resource policies on a single log group (resourceArn) are not supported by Homeport: omit it for an account policy.",
        ));
    }
    let document = text(ctx.body, "policyDocument")?;
    serde_json::from_str::<Json>(document)
        .ok()
        .filter(Json::is_object)
        .ok_or_else(|| invalid_parameter("The policyDocument is not a JSON policy document."))?;
    let policy = ResourcePolicy {
        name: text(ctx.body, "policyName")?.to_owned(),
        document: document.to_owned(),
        updated_at: ids::now() * 1000,
    };
    match filters::put_policy(&ctx.app.store, ctx.scope(), &policy, RESOURCE_POLICIES_PER_REGION).await? {
        Put::Written => Ok(json!({ "resourcePolicy": policy_json(policy) })),
        Put::OverQuota | Put::NoGroup => Err(limit_exceeded()),
    }
}

fn policy_json(policy: ResourcePolicy) -> Json {
    json!({
        "policyName": policy.name,
        "policyDocument": policy.document,
        "lastUpdatedTime": policy.updated_at,
        "policyScope": "ACCOUNT",
    })
}

async fn describe_resource_policies(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (start, limit) = page(ctx.body)?;
    let found = filters::policies(&ctx.app.store, ctx.scope()).await?.into_iter().map(policy_json).collect();
    Ok(paged("resourcePolicies", found, start, limit))
}

async fn delete_resource_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = text(ctx.body, "policyName")?;
    if filters::delete_policy(&ctx.app.store, ctx.scope(), name).await? {
        Ok(json!({}))
    } else {
        Err(AwsError::new(
            "ResourceNotFoundException",
            400,
            "Policy with name [".to_owned() + name + "] does not exist",
        ))
    }
}
