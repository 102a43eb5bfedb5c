//! Log group and destination tags: TagLogGroup, UntagLogGroup and ListTagsLogGroup (by group
//! name), and TagResource, UntagResource and ListTagsForResource (by the group's ARN, without
//! `:*`, a destination's, a delivery destination's, a lookup table's or a scheduled
//! query's), and the `tags` of
//! CreateLogGroup, PutDestination, PutDeliveryDestination and CreateScheduledQuery. Both families act on the same tags.
//!
//! Guarantees: a group or destination holds at most 50 tags, counted in the transaction that
//! adds them (`TooManyTagsException` by ARN, `InvalidParameterException` by name, as
//! CloudWatch answers); a resource ARN must name a log group or destination of this account
//! and region.

use aws_protocol::AwsError;
use serde_json::{Map, Value as Json, json};

use super::model::tags::{self, PER_GROUP, Resource, Tagged};
use super::model::{deliveries, destinations, lookup_table, scheduled_query};
use super::{group_arn, group_name, group_resource, invalid_parameter, no_group};
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};
use crate::regions::Scope;

operation!(logs, TAG_LOG_GROUP, "TagLogGroup", Write, |ctx| Box::pin(async move { group_resource(ctx) }), |ctx| {
    json_op(tag_by_name(ctx))
});
operation!(logs, UNTAG_LOG_GROUP, "UntagLogGroup", Write, |ctx| Box::pin(async move { group_resource(ctx) }), |ctx| {
    json_op(untag_by_name(ctx))
});
operation!(
    logs,
    LIST_TAGS_LOG_GROUP,
    "ListTagsLogGroup",
    Read,
    |ctx| Box::pin(async move { group_resource(ctx) }),
    |ctx| json_op(list_by_name(ctx))
);
operation!(
    logs,
    TAG_RESOURCE,
    "TagResource",
    Write,
    |ctx| Box::pin(async move { resource_arn(ctx).map(|arn| vec![arn.to_owned()]) }),
    |ctx| json_op(tag_resource(ctx))
);
operation!(
    logs,
    UNTAG_RESOURCE,
    "UntagResource",
    Write,
    |ctx| Box::pin(async move { resource_arn(ctx).map(|arn| vec![arn.to_owned()]) }),
    |ctx| json_op(untag_resource(ctx))
);
operation!(
    logs,
    LIST_TAGS_FOR_RESOURCE,
    "ListTagsForResource",
    Read,
    |ctx| Box::pin(async move { resource_arn(ctx).map(|arn| vec![arn.to_owned()]) }),
    |ctx| json_op(list_for_resource(ctx))
);

/// A tag map member (`{"key": "value"}`; none when absent), as CloudWatch Logs sends tags.
pub fn tag_map(body: &Json, member: &str) -> Result<Vec<(String, String)>, AwsError> {
    let Some(map) = body.get(member).filter(|value| !value.is_null()) else { return Ok(Vec::new()) };
    let map = map.as_object().ok_or_else(|| invalid_parameter(format!("{member} must be a map of strings.")))?;
    map.iter()
        .map(|(key, value)| match value.as_str() {
            Some(value) => Ok((key.clone(), value.to_owned())),
            None => Err(invalid_parameter(format!("The value of the tag {key} must be a string."))),
        })
        .collect()
}

/// The keys a list member names (`tags` of UntagLogGroup, `tagKeys` of UntagResource).
fn keys<'a>(body: &'a Json, member: &str) -> Vec<&'a str> {
    body.get(member)
        .and_then(Json::as_array)
        .map(|keys| keys.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default()
}

/// The `resourceArn` member.
fn resource_arn<'a>(ctx: &'a Ctx<'_>) -> Result<&'a str, AwsError> {
    ctx.body.get("resourceArn").and_then(Json::as_str).ok_or_else(|| crate::operations::missing("resourceArn"))
}

/// The log group or destination a resource ARN names: `arn:aws:logs:REGION:ACCOUNT:log-group:NAME`
/// or `...:destination:NAME` of this account and region. Any other resource is not one of
/// this region's.
fn resource_of_arn<'a>(scope: Scope<'_>, arn: &'a str) -> Result<Resource<'a>, AwsError> {
    let plain = |name: &str| !name.is_empty() && !name.contains(':');
    if let Some(name) = arn.strip_prefix(&group_arn(scope, "")) {
        return match plain(name) {
            true => Ok(Resource::Group(name)),
            false => {
                Err(invalid_parameter(format!("The resource ARN {arn} names no log group (write it without :*).")))
            }
        };
    }
    if let Some(name) = arn.strip_prefix(&lookup_table::arn(scope, "")) {
        return match plain(name) {
            true => Ok(Resource::LookupTable(name)),
            false => Err(invalid_parameter(format!("The resource ARN {arn} names no lookup table."))),
        };
    }
    if let Some(id) = arn.strip_prefix(&scheduled_query::arn(scope, "")) {
        return match plain(id) {
            true => Ok(Resource::ScheduledQuery(id)),
            false => Err(invalid_parameter(format!("The resource ARN {arn} names no scheduled query."))),
        };
    }
    if let Some(name) = arn.strip_prefix(&deliveries::destination_arn(scope, "")) {
        return match plain(name) {
            true => Ok(Resource::DeliveryDestination(name)),
            false => Err(invalid_parameter(format!("The resource ARN {arn} names no delivery destination."))),
        };
    }
    match arn.strip_prefix(&destinations::arn(scope, "")) {
        Some(name) if plain(name) => Ok(Resource::Destination(name)),
        Some(_) => Err(invalid_parameter(format!("The resource ARN {arn} names no destination."))),
        None if arn.starts_with("arn:aws:logs:") => {
            Err(AwsError::new("ResourceNotFoundException", 400, format!("The resource {arn} does not exist.")))
        }
        None => Err(invalid_parameter(format!("Invalid resource ARN: {arn}"))),
    }
}

/// A resource's ARN, and CloudWatch's answer when it does not exist.
fn described(scope: Scope<'_>, resource: Resource<'_>) -> (String, AwsError) {
    match resource {
        Resource::Group(name) => (group_arn(scope, name), no_group()),
        Resource::Destination(name) => (destinations::arn(scope, name), super::errors::no_destination()),
        Resource::LookupTable(name) => (
            lookup_table::arn(scope, name),
            AwsError::new("ResourceNotFoundException", 400, format!("Lookup table {name} does not exist.")),
        ),
        Resource::ScheduledQuery(id) => (
            scheduled_query::arn(scope, id),
            AwsError::new("ResourceNotFoundException", 400, format!("Scheduled query {id} does not exist.")),
        ),
        Resource::DeliveryDestination(name) => (
            deliveries::destination_arn(scope, name),
            AwsError::new("ResourceNotFoundException", 400, format!("Delivery destination {name} does not exist.")),
        ),
    }
}

async fn add(
    ctx: &Ctx<'_>,
    resource: Resource<'_>,
    member: &str,
    too_many: fn(&str) -> AwsError,
) -> Result<Json, AwsError> {
    let new = tag_map(ctx.body, member)?;
    let (arn, missing) = described(ctx.scope(), resource);
    match tags::add(&ctx.app.store, ctx.scope(), resource, &arn, &new).await? {
        Tagged::Done => Ok(json!({})),
        Tagged::NoResource => Err(missing),
        Tagged::TooMany => Err(too_many(&arn)),
    }
}

async fn list(ctx: &Ctx<'_>, resource: Resource<'_>) -> Result<Json, AwsError> {
    let scope = ctx.scope();
    let (arn, missing) = described(scope, resource);
    let exists = match resource {
        Resource::Group(name) => super::group_exists(ctx.app, scope, name).await?,
        Resource::Destination(name) => destinations::exists(&ctx.app.store, scope, name).await?,
        Resource::DeliveryDestination(name) => deliveries::get(&ctx.app.store, scope, name).await?.is_some(),
        Resource::LookupTable(name) => lookup_table::get(&ctx.app.store, scope, name).await?.is_some(),
        Resource::ScheduledQuery(id) => {
            scheduled_query::find(&ctx.app.store, scope, id).await?.is_some_and(|q| q.id == id)
        }
    };
    if !exists {
        return Err(missing);
    }
    let stored =
        crate::tags::of(&ctx.app.store, scope.account, tags::KIND, &arn).await.map_err(crate::errors::internal)?;
    let map: Map<String, Json> = stored.into_iter().map(|(key, value)| (key, Json::String(value))).collect();
    Ok(json!({ "tags": map }))
}

async fn remove(ctx: &Ctx<'_>, resource: Resource<'_>, member: &str) -> Result<Json, AwsError> {
    let (arn, missing) = described(ctx.scope(), resource);
    if tags::remove(&ctx.app.store, ctx.scope(), resource, &arn, &keys(ctx.body, member)).await? {
        Ok(json!({}))
    } else {
        Err(missing)
    }
}

fn too_many_by_name(_arn: &str) -> AwsError {
    invalid_parameter(format!("A log group can have at most {PER_GROUP} tags."))
}

fn too_many_by_arn(arn: &str) -> AwsError {
    AwsError::new("TooManyTagsException", 400, format!("A resource can have at most {PER_GROUP} tags."))
        .with_member("resourceName", json!(arn))
}

async fn tag_by_name(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    add(ctx, Resource::Group(group_name(ctx.body)?), "tags", too_many_by_name).await
}

async fn untag_by_name(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    remove(ctx, Resource::Group(group_name(ctx.body)?), "tags").await
}

async fn list_by_name(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    list(ctx, Resource::Group(group_name(ctx.body)?)).await
}

async fn tag_resource(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    add(ctx, resource_of_arn(ctx.scope(), resource_arn(ctx)?)?, "tags", too_many_by_arn).await
}

async fn untag_resource(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    remove(ctx, resource_of_arn(ctx.scope(), resource_arn(ctx)?)?, "tagKeys").await
}

async fn list_for_resource(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    list(ctx, resource_of_arn(ctx.scope(), resource_arn(ctx)?)?).await
}
