//! Delivery destinations of vended logs: PutDeliveryDestination, GetDeliveryDestination,
//! DescribeDeliveryDestinations, DeleteDeliveryDestination and
//! Put/Get/DeleteDeliveryDestinationPolicy. Sources and deliveries are in `delivery_sources`.
//!
//! Guarantees: a delivery destination is durable and names a log group of this account and
//! region that exists (`CWL`, the only destination Homeport has): an S3 bucket or a Firehose
//! delivery stream is answered `ResourceNotFoundException` (Homeport runs neither, so none
//! exists), an X-Ray trace destination `ValidationException` (Homeport has no X-Ray), as is a
//! `deliveryDestinationType` that is not the resource's or a `parquet` output to a log group.
//! A policy is a JSON policy document, stored and answered: Homeport serves one account, so
//! it takes part in no decision. Nothing is ever delivered to a destination, because no
//! delivery can exist (`delivery_sources`), so none is deleted with a `ConflictException`.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::model::deliveries::{self, DeliveryDestination};
use super::{page, paged};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op, missing, put};

operation!(
    logs,
    PUT_DELIVERY_DESTINATION,
    "PutDeliveryDestination",
    Write,
    |ctx| Box::pin(async move { named(ctx, "name") }),
    |ctx| json_op(put_delivery_destination(ctx))
);
operation!(
    logs,
    GET_DELIVERY_DESTINATION,
    "GetDeliveryDestination",
    Read,
    |ctx| Box::pin(async move { named(ctx, "name") }),
    |ctx| json_op(get_delivery_destination(ctx))
);
operation!(
    logs,
    DESCRIBE_DELIVERY_DESTINATIONS,
    "DescribeDeliveryDestinations",
    Read,
    crate::operations::account_wide,
    |ctx| json_op(describe_delivery_destinations(ctx))
);
operation!(
    logs,
    DELETE_DELIVERY_DESTINATION,
    "DeleteDeliveryDestination",
    Write,
    |ctx| Box::pin(async move { named(ctx, "name") }),
    |ctx| json_op(delete_delivery_destination(ctx))
);
operation!(
    logs,
    PUT_DELIVERY_DESTINATION_POLICY,
    "PutDeliveryDestinationPolicy",
    Write,
    |ctx| Box::pin(async move { named(ctx, "deliveryDestinationName") }),
    |ctx| json_op(put_policy(ctx))
);
operation!(
    logs,
    GET_DELIVERY_DESTINATION_POLICY,
    "GetDeliveryDestinationPolicy",
    Read,
    |ctx| Box::pin(async move { named(ctx, "deliveryDestinationName") }),
    |ctx| json_op(get_policy(ctx))
);
operation!(
    logs,
    DELETE_DELIVERY_DESTINATION_POLICY,
    "DeleteDeliveryDestinationPolicy",
    Write,
    |ctx| Box::pin(async move { named(ctx, "deliveryDestinationName") }),
    |ctx| json_op(delete_policy(ctx))
);

/// Tags a delivery destination may carry (the model's `Tags` bound).
const MAX_TAGS: usize = 50;

/// CloudWatch Logs' `ValidationException`, the refusal these operations model.
pub fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", 400, message)
}

fn not_found(message: impl Into<String>) -> AwsError {
    AwsError::new("ResourceNotFoundException", 400, message)
}

fn no_delivery_destination(name: &str) -> AwsError {
    not_found(format!("Delivery destination {name} does not exist."))
}

fn text<'a>(body: &'a Json, member: &str) -> Result<&'a str, AwsError> {
    body.get(member).and_then(Json::as_str).ok_or_else(|| missing(member))
}

/// The delivery destination a request names in `member`, as the resource it is authorized on.
fn named(ctx: &Ctx<'_>, member: &str) -> Result<Vec<String>, AwsError> {
    Ok(vec![deliveries::destination_arn(ctx.scope(), text(ctx.body, member)?)])
}

/// The destination types, by the service of the resource ARN they name.
fn type_of_service(service: &str) -> Option<&'static str> {
    match service {
        "logs" => Some("CWL"),
        "s3" => Some("S3"),
        "firehose" => Some("FH"),
        _ => None,
    }
}

/// The log group a `CWL` destination names: `arn:aws:logs:REGION:ACCOUNT:log-group:NAME` of
/// this account and region (another's is one Homeport does not have), which must exist.
async fn destination_group(ctx: &Ctx<'_>, arn: &str) -> Result<(), AwsError> {
    let group = arn.strip_prefix(&super::group_arn(ctx.scope(), "")).filter(|name| !name.is_empty());
    let Some(name) = group else {
        return Err(if arn.contains(":log-group:") {
            not_found("The specified log group does not exist.")
        } else {
            invalid(format!("The destinationResourceArn {arn} is not the ARN of a log group."))
        });
    };
    if super::group_exists(ctx.app, ctx.scope(), name).await? {
        Ok(())
    } else {
        Err(not_found("The specified log group does not exist."))
    }
}

/// What a destination's configuration names, checked: its type (`CWL`) and resource ARN.
async fn checked_destination(ctx: &Ctx<'_>) -> Result<(&'static str, String), AwsError> {
    let given_type = ctx.body.get("deliveryDestinationType").and_then(Json::as_str);
    let resource = ctx
        .body
        .get("deliveryDestinationConfiguration")
        .and_then(|configuration| configuration.get("destinationResourceArn"))
        .and_then(Json::as_str);
    let Some(resource) = resource else {
        return Err(match given_type {
            Some("XRAY") => invalid("Homeport has no AWS X-Ray: traces cannot be delivered to it."),
            _ => invalid(
                "deliveryDestinationConfiguration is required for a CloudWatch Logs, Amazon S3 or Firehose delivery destination.",
            ),
        });
    };
    let service = resource.split(':').nth(2).filter(|_| resource.starts_with("arn:")).unwrap_or_default();
    let Some(resource_type) = type_of_service(service) else {
        return Err(invalid(format!(
            "The destinationResourceArn {resource} is not the ARN of a log group, an S3 bucket or a Firehose delivery stream."
        )));
    };
    if given_type.is_some_and(|given| given != resource_type) {
        return Err(invalid(format!(
            "The deliveryDestinationType {} does not match the destinationResourceArn {resource}.",
            given_type.unwrap_or_default()
        )));
    }
    match resource_type {
        "CWL" => destination_group(ctx, resource).await?,
        "S3" => return Err(not_found(format!("The S3 bucket of {resource} does not exist."))),
        _ => return Err(not_found(format!("The Firehose delivery stream {resource} does not exist."))),
    }
    if ctx.body.get("outputFormat").and_then(Json::as_str) == Some("parquet") {
        return Err(invalid("The outputFormat parquet is valid only for an Amazon S3 delivery destination."));
    }
    Ok(("CWL", resource.to_owned()))
}

/// A delivery destination as its operations answer it.
fn destination_json(ctx: &Ctx<'_>, destination: &DeliveryDestination, tags: Vec<(String, String)>) -> Json {
    let mut answer = json!({
        "name": destination.name,
        "arn": deliveries::destination_arn(ctx.scope(), &destination.name),
        "deliveryDestinationType": destination.destination_type,
        "deliveryDestinationConfiguration": {"destinationResourceArn": destination.resource_arn},
    });
    if let Some(format) = &destination.output_format {
        put(&mut answer, "outputFormat", format.as_str());
    }
    if !tags.is_empty() {
        let map: serde_json::Map<String, Json> =
            tags.into_iter().map(|(key, value)| (key, Json::String(value))).collect();
        put(&mut answer, "tags", map);
    }
    answer
}

/// A stored destination's tags.
async fn tags_of(ctx: &Ctx<'_>, name: &str) -> Result<Vec<(String, String)>, AwsError> {
    let arn = deliveries::destination_arn(ctx.scope(), name);
    crate::tags::of(&ctx.app.store, ctx.account(), super::model::tags::KIND, &arn)
        .await
        .map_err(crate::errors::internal)
}

/// The delivery destination of `name`, which must exist.
async fn existing(ctx: &Ctx<'_>, name: &str) -> Result<DeliveryDestination, AwsError> {
    deliveries::get(&ctx.app.store, ctx.scope(), name).await?.ok_or_else(|| no_delivery_destination(name))
}

async fn put_delivery_destination(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = text(ctx.body, "name")?;
    let tags = super::tags::tag_map(ctx.body, "tags")?;
    if tags.len() > MAX_TAGS {
        return Err(invalid(format!("A delivery destination can have at most {MAX_TAGS} tags.")));
    }
    let (destination_type, resource_arn) = checked_destination(ctx).await?;
    let destination = DeliveryDestination {
        name: name.to_owned(),
        destination_type: destination_type.to_owned(),
        output_format: ctx.body.get("outputFormat").and_then(Json::as_str).map(str::to_owned),
        resource_arn,
        policy: None,
        created_at: ids::now() * 1000,
    };
    deliveries::put(&ctx.app.store, ctx.scope(), &destination, &tags).await?;
    let stored = existing(ctx, name).await?;
    let tags = tags_of(ctx, name).await?;
    Ok(json!({ "deliveryDestination": destination_json(ctx, &stored, tags) }))
}

async fn get_delivery_destination(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = text(ctx.body, "name")?;
    let destination = existing(ctx, name).await?;
    let tags = tags_of(ctx, name).await?;
    Ok(json!({ "deliveryDestination": destination_json(ctx, &destination, tags) }))
}

async fn describe_delivery_destinations(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (start, limit) = page(ctx.body)?;
    let mut found = Vec::new();
    for destination in deliveries::list(&ctx.app.store, ctx.scope()).await? {
        let tags = tags_of(ctx, &destination.name).await?;
        found.push(destination_json(ctx, &destination, tags));
    }
    Ok(paged("deliveryDestinations", found, start, limit))
}

async fn delete_delivery_destination(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = text(ctx.body, "name")?;
    if deliveries::delete(&ctx.app.store, ctx.scope(), name).await? {
        Ok(json!({}))
    } else {
        Err(no_delivery_destination(name))
    }
}

async fn put_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = text(ctx.body, "deliveryDestinationName")?;
    let policy = text(ctx.body, "deliveryDestinationPolicy")?;
    let parsed: Option<Json> = serde_json::from_str(policy).ok();
    if parsed.as_ref().is_none_or(|document| document.get("Statement").is_none()) {
        return Err(invalid("Invalid Delivery Destination resource Policy is provided."));
    }
    if deliveries::set_policy(&ctx.app.store, ctx.scope(), name, Some(policy)).await? {
        Ok(json!({ "policy": {"deliveryDestinationPolicy": policy} }))
    } else {
        Err(no_delivery_destination(name))
    }
}

async fn get_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = text(ctx.body, "deliveryDestinationName")?;
    let destination = existing(ctx, name).await?;
    let mut policy = json!({});
    if let Some(document) = destination.policy {
        put(&mut policy, "deliveryDestinationPolicy", document);
    }
    Ok(json!({ "policy": policy }))
}

async fn delete_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = text(ctx.body, "deliveryDestinationName")?;
    if existing(ctx, name).await?.policy.is_none() {
        return Err(not_found(format!("Delivery destination {name} has no policy.")));
    }
    deliveries::set_policy(&ctx.app.store, ctx.scope(), name, None).await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_type_is_its_resource_services() {
        assert_eq!(type_of_service("logs"), Some("CWL"));
        assert_eq!(type_of_service("s3"), Some("S3"));
        assert_eq!(type_of_service("firehose"), Some("FH"));
        assert_eq!(type_of_service("kinesis"), None);
    }
}
