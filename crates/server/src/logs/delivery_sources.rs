//! Delivery sources and deliveries of vended logs: PutDeliverySource, GetDeliverySource,
//! DescribeDeliverySources, DeleteDeliverySource, CreateDelivery, GetDelivery,
//! DescribeDeliveries, DeleteDelivery, UpdateDeliveryConfiguration and
//! DescribeConfigurationTemplates.
//!
//! A delivery source is a resource of a service that vends logs (Bedrock, CloudFront, WorkMail
//! and the others CloudWatch Logs lists as Supported [V2 Permissions]). None of the services
//! Homeport serves (IAM, STS, SSM, ECS, ECR, CloudWatch Logs, Secrets Manager, CloudTrail,
//! Access Analyzer) is one, so a decision follows: PutDeliverySource refuses a resource of one
//! of them as AWS refuses a resource that vends no logs (`ValidationException`), and any other
//! resource as one that does not exist here (`ResourceNotFoundException`). No source is ever
//! stored, so no delivery can be created (its source does not exist), the reads of one answer
//! `ResourceNotFoundException`, the lists are empty (their paging still checked), and there
//! is no configuration template to describe.

use aws_protocol::AwsError;
use serde_json::Value as Json;

use super::deliveries::invalid;
use super::model::deliveries;
use super::{page, paged};
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op, missing};

operation!(
    logs,
    PUT_DELIVERY_SOURCE,
    "PutDeliverySource",
    Write,
    |ctx| Box::pin(async move { source(ctx, "name") }),
    |ctx| json_op(put_delivery_source(ctx))
);
operation!(
    logs,
    GET_DELIVERY_SOURCE,
    "GetDeliverySource",
    Read,
    |ctx| Box::pin(async move { source(ctx, "name") }),
    |ctx| json_op(no_source(ctx, "name"))
);
operation!(logs, DESCRIBE_DELIVERY_SOURCES, "DescribeDeliverySources", Read, crate::operations::account_wide, |ctx| {
    json_op(none_listed(ctx, "deliverySources"))
});
operation!(
    logs,
    DELETE_DELIVERY_SOURCE,
    "DeleteDeliverySource",
    Write,
    |ctx| Box::pin(async move { source(ctx, "name") }),
    |ctx| json_op(no_source(ctx, "name"))
);
operation!(logs, CREATE_DELIVERY, "CreateDelivery", Write, |ctx| Box::pin(async move { delivery_parts(ctx) }), |ctx| {
    json_op(no_source(ctx, "deliverySourceName"))
});
operation!(logs, GET_DELIVERY, "GetDelivery", Read, |ctx| Box::pin(async move { delivery(ctx) }), |ctx| json_op(
    no_delivery(ctx)
));
operation!(logs, DESCRIBE_DELIVERIES, "DescribeDeliveries", Read, crate::operations::account_wide, |ctx| json_op(
    none_listed(ctx, "deliveries")
));
operation!(
    logs,
    DELETE_DELIVERY,
    "DeleteDelivery",
    Write,
    |ctx| Box::pin(async move { delivery(ctx) }),
    |ctx| json_op(no_delivery(ctx))
);
operation!(
    logs,
    UPDATE_DELIVERY_CONFIGURATION,
    "UpdateDeliveryConfiguration",
    Write,
    |ctx| Box::pin(async move { delivery(ctx) }),
    |ctx| json_op(no_delivery(ctx))
);
operation!(
    logs,
    DESCRIBE_CONFIGURATION_TEMPLATES,
    "DescribeConfigurationTemplates",
    Read,
    crate::operations::account_wide,
    |ctx| json_op(none_listed(ctx, "configurationTemplates"))
);

/// The services Homeport serves, as they appear in an ARN: none vends logs.
const HOMEPORT_SERVICES: &[&str] =
    &["iam", "sts", "ssm", "ecs", "ecr", "logs", "secretsmanager", "cloudtrail", "access-analyzer"];

fn text<'a>(body: &'a Json, member: &str) -> Result<&'a str, AwsError> {
    body.get(member).and_then(Json::as_str).ok_or_else(|| missing(member))
}

/// The delivery source a request names in `member`, as the resource it is authorized on.
fn source(ctx: &Ctx<'_>, member: &str) -> Result<Vec<String>, AwsError> {
    Ok(vec![deliveries::source_arn(ctx.scope(), text(ctx.body, member)?)])
}

/// The delivery a request names by `id`.
fn delivery(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![deliveries::delivery_arn(ctx.scope(), text(ctx.body, "id")?)])
}

/// What CreateDelivery is authorized on: its source, and its destination (canonical when it
/// is one of this region's, else the ARN as given).
fn delivery_parts(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let destination = text(ctx.body, "deliveryDestinationArn")?;
    let ours = deliveries::destination_arn(ctx.scope(), "");
    let destination = match destination.strip_prefix(&ours) {
        Some(name) if !name.is_empty() && !name.contains(':') => deliveries::destination_arn(ctx.scope(), name),
        _ => destination.to_owned(),
    };
    let mut resources = source(ctx, "deliverySourceName")?;
    resources.push(destination);
    Ok(resources)
}

/// Why a resource cannot be a delivery source here.
fn refused_source(resource: &str, log_type: &str) -> AwsError {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, service, _, _, _] if HOMEPORT_SERVICES.contains(service) => invalid(format!(
            "The resource {resource} does not vend logs: the logType {log_type} cannot be delivered from it."
        )),
        ["arn", _, service, _, _, rest] if !service.is_empty() && !rest.is_empty() => AwsError::new(
            "ResourceNotFoundException",
            400,
            format!("The resource {resource} does not exist: Homeport hosts no {service} resource that vends logs."),
        ),
        _ => invalid(format!("The resourceArn {resource} is not a valid ARN.")),
    }
}

async fn put_delivery_source(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    text(ctx.body, "name")?;
    let resource = text(ctx.body, "resourceArn")?;
    let log_type = text(ctx.body, "logType")?;
    Err(refused_source(resource, log_type))
}

/// The answer to a request that needs a delivery source: none exists.
async fn no_source(ctx: &Ctx<'_>, member: &str) -> Result<Json, AwsError> {
    let name = text(ctx.body, member)?;
    Err(AwsError::new("ResourceNotFoundException", 400, format!("Delivery source {name} does not exist.")))
}

/// The answer to a request that names a delivery: none exists.
async fn no_delivery(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let id = text(ctx.body, "id")?;
    Err(AwsError::new("ResourceNotFoundException", 400, format!("Delivery {id} does not exist.")))
}

/// An empty list, its paging checked.
async fn none_listed(ctx: &Ctx<'_>, list: &str) -> Result<Json, AwsError> {
    let (start, limit) = page(ctx.body)?;
    Ok(paged(list, Vec::new(), start, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_of_homeports_services_vends_nothing_and_others_are_not_here() {
        let code = |arn: &str| refused_source(arn, "ACCESS_LOGS").code;
        assert_eq!(code("arn:aws:ecs:us-east-1:111122223333:cluster/c"), "ValidationException");
        assert_eq!(code("arn:aws:logs:us-east-1:111122223333:log-group:g"), "ValidationException");
        assert_eq!(code("arn:aws:cloudfront::111122223333:distribution/E1"), "ResourceNotFoundException");
        assert_eq!(code("not-an-arn"), "ValidationException");
    }
}
