//! Destinations, the targets of cross-account subscriptions: PutDestination,
//! DescribeDestinations, DeleteDestination and PutDestinationPolicy, and what a subscription
//! filter naming one checks (`subscribed_destination`).
//!
//! Guarantees: a destination's `targetArn` is a Kinesis stream's or a Firehose delivery
//! stream's ARN, the only targets CloudWatch Logs delivers to through a destination; its
//! `roleArn` needs `iam:PassRole` to `logs.amazonaws.com` (with the destination as
//! `iam:AssociatedResourceArn`), as PutDestination documents; its `tags` are added to those
//! it has, whether it is new or put again; an access policy is a JSON
//! policy document of at most 5,120 bytes, and replaces the one before (`forceUpdate` only
//! affirms, so it changes nothing here). Destinations are stored and answered: Homeport runs
//! no Kinesis or Firehose, so nothing is delivered to their target. Homeport serves one
//! account, so the access policy takes part in no decision, and a subscription filter may name
//! a destination of its own account and region only, which must exist.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::errors::no_destination;
use super::model::destinations::{self, Destination};
use super::{invalid_parameter, page, paged};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op, missing, put};
use crate::regions::Scope;

operation!(
    logs,
    PUT_DESTINATION,
    "PutDestination",
    Write,
    |ctx| Box::pin(async move { destination_resource(ctx) }),
    |ctx| json_op(put_destination(ctx))
);
operation!(logs, DESCRIBE_DESTINATIONS, "DescribeDestinations", Read, crate::operations::account_wide, |ctx| json_op(
    describe_destinations(ctx)
));
operation!(
    logs,
    DELETE_DESTINATION,
    "DeleteDestination",
    Write,
    |ctx| Box::pin(async move { destination_resource(ctx) }),
    |ctx| json_op(delete_destination(ctx))
);
operation!(
    logs,
    PUT_DESTINATION_POLICY,
    "PutDestinationPolicy",
    Write,
    |ctx| Box::pin(async move { destination_resource(ctx) }),
    |ctx| json_op(put_destination_policy(ctx))
);

/// An access policy's size limit (PutDestinationPolicy's documentation).
const MAX_ACCESS_POLICY_BYTES: usize = 5120;

/// The `destinationName` member (the model has checked its length and pattern).
fn destination_name(body: &Json) -> Result<&str, AwsError> {
    body.get("destinationName").and_then(Json::as_str).ok_or_else(|| missing("destinationName"))
}

/// The destination a request names, as the resource it is authorized on.
fn destination_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![destinations::arn(ctx.scope(), destination_name(ctx.body)?)])
}

/// A string member the operation needs.
fn text<'a>(body: &'a Json, member: &str) -> Result<&'a str, AwsError> {
    body.get(member).and_then(Json::as_str).ok_or_else(|| missing(member))
}

/// Whether `arn` names a Kinesis data stream or a Firehose delivery stream.
fn is_delivery_target(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, service, region, account, resource] => {
            !partition.is_empty()
                && !region.is_empty()
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && match *service {
                    "kinesis" => resource.strip_prefix("stream/").is_some_and(|name| !name.is_empty()),
                    "firehose" => resource.strip_prefix("deliverystream/").is_some_and(|name| !name.is_empty()),
                    _ => false,
                }
        }
        _ => false,
    }
}

/// A destination as DescribeDestinations and PutDestination answer it.
fn destination_json(scope: Scope<'_>, destination: Destination) -> Json {
    let mut answer = json!({
        "destinationName": destination.name,
        "targetArn": destination.target_arn,
        "roleArn": destination.role_arn,
        "arn": destinations::arn(scope, &destination.name),
        "creationTime": destination.created_at,
    });
    if let Some(policy) = destination.access_policy {
        put(&mut answer, "accessPolicy", policy);
    }
    answer
}

/// The destination of `name`, if the region has one.
async fn find(ctx: &Ctx<'_>, name: &str) -> Result<Option<Destination>, AwsError> {
    let found = destinations::list(&ctx.app.store, ctx.scope(), name).await?;
    Ok(found.into_iter().find(|destination| destination.name == name))
}

async fn put_destination(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = destination_name(ctx.body)?;
    let target_arn = text(ctx.body, "targetArn")?;
    let role_arn = text(ctx.body, "roleArn")?;
    let tags = super::tags::tag_map(ctx.body, "tags")?;
    if !is_delivery_target(target_arn) {
        return Err(invalid_parameter(format!(
            "The targetArn {target_arn} is not the ARN of a Kinesis data stream or a Firehose delivery stream."
        )));
    }
    if tags.len() > usize::try_from(super::model::tags::PER_GROUP).unwrap_or(50) {
        return Err(invalid_parameter("A destination can have at most 50 tags."));
    }
    let arn = destinations::arn(ctx.scope(), name);
    // The role is passed to CloudWatch Logs, which would deliver to the target with it.
    crate::authz::pass_role(ctx, role_arn, "logs.amazonaws.com", &arn).await?;
    let destination = Destination {
        name: name.to_owned(),
        target_arn: target_arn.to_owned(),
        role_arn: role_arn.to_owned(),
        access_policy: None,
        created_at: ids::now() * 1000,
    };
    destinations::put(&ctx.app.store, ctx.scope(), &destination, &tags).await?;
    // Answered as stored: a destination put again keeps its creation time and access policy.
    let stored = find(ctx, name).await?.unwrap_or(destination);
    Ok(json!({ "destination": destination_json(ctx.scope(), stored) }))
}

async fn describe_destinations(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (start, limit) = page(ctx.body)?;
    let prefix = ctx.body.get("DestinationNamePrefix").and_then(Json::as_str).unwrap_or_default();
    let found = destinations::list(&ctx.app.store, ctx.scope(), prefix)
        .await?
        .into_iter()
        .map(|destination| destination_json(ctx.scope(), destination))
        .collect();
    Ok(paged("destinations", found, start, limit))
}

async fn delete_destination(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = destination_name(ctx.body)?;
    if destinations::delete(&ctx.app.store, ctx.scope(), name).await? { Ok(json!({})) } else { Err(no_destination()) }
}

async fn put_destination_policy(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = destination_name(ctx.body)?;
    let policy = text(ctx.body, "accessPolicy")?;
    if policy.len() > MAX_ACCESS_POLICY_BYTES {
        return Err(invalid_parameter(format!(
            "The accessPolicy is {} bytes; an access policy can be up to {MAX_ACCESS_POLICY_BYTES} bytes.",
            policy.len()
        )));
    }
    let parsed: Option<Json> = serde_json::from_str(policy).ok();
    if parsed.as_ref().is_none_or(|document| document.get("Statement").is_none()) {
        return Err(invalid_parameter("The accessPolicy is not a JSON policy document."));
    }
    if destinations::set_policy(&ctx.app.store, ctx.scope(), name, policy).await? {
        Ok(json!({}))
    } else {
        Err(no_destination())
    }
}

/// What a subscription filter's `destinationArn` naming a CloudWatch Logs destination
/// (`arn:aws:logs:REGION:ACCOUNT:destination:NAME`) needs: the destination, in the filter's
/// own account and region. Other destination ARNs (Kinesis, Firehose, Lambda) are not
/// CloudWatch Logs' and are answered `Ok`.
pub async fn subscribed_destination(ctx: &Ctx<'_>, destination_arn: &str) -> Result<(), AwsError> {
    let Some(rest) = destination_arn.strip_prefix("arn:aws:logs:") else { return Ok(()) };
    let mut parts = rest.splitn(4, ':');
    let (Some(region), Some(account), Some("destination"), Some(name)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid_parameter(format!(
            "The destinationArn {destination_arn} is not the ARN of a CloudWatch Logs destination."
        )));
    };
    if region != ctx.region() {
        return Err(invalid_parameter("A subscription's destination must be in the log group's region."));
    }
    if account != ctx.account() || !destinations::exists(&ctx.app.store, ctx.scope(), name).await? {
        return Err(no_destination());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_targets_a_kinesis_or_firehose_stream() {
        for good in [
            "arn:aws:kinesis:us-east-1:111122223333:stream/logs",
            "arn:aws:firehose:us-east-1:111122223333:deliverystream/logs",
        ] {
            assert!(is_delivery_target(good), "{good}");
        }
        for bad in [
            "arn:aws:lambda:us-east-1:111122223333:function:f",
            "arn:aws:kinesis:us-east-1:111122223333:stream/",
            "arn:aws:kinesis:us-east-1:1111:stream/logs",
            "kinesis-stream",
        ] {
            assert!(!is_delivery_target(bad), "{bad}");
        }
    }
}
