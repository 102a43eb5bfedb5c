//! ECS Express services: CreateExpressGatewayService, DescribeExpressGatewayService,
//! UpdateExpressGatewayService and DeleteExpressGatewayService.
//!
//! An Express service is, in ECS's words, one that "provisions and configures Application
//! Load Balancers, target groups, security groups, and auto-scaling policies" and runs its
//! tasks on AWS Fargate. Homeport has neither Fargate (its tasks run on external instances;
//! `FARGATE` in a task definition is refused) nor load balancers (`loadBalancers` on a
//! service is refused), so CreateExpressGatewayService is refused with
//! `UnsupportedFeatureException`, after the checks that come first (the cluster,
//! `ClusterNotFoundException`; the tags), as CreateCapacityProvider refuses a Managed
//! Instances provider. No Express service ever exists, so:
//! - DescribeExpressGatewayService answers `ResourceNotFoundException` (its model's error
//!   for a missing service), UpdateExpressGatewayService and DeleteExpressGatewayService
//!   `ServiceNotFoundException` ("Service not found.", as for an ECS service), after the
//!   service ARN's form (`InvalidParameterException`) and its cluster
//!   (`ClusterNotFoundException`). An ARN naming an ordinary ECS service names no Express
//!   service and is answered the same: it is neither described, changed nor deleted here.
//!
//! Authorization: Create on the service's ARN (`service/CLUSTER/NAME`; `service/CLUSTER/*`
//! when ECS would choose the name); the others on the `serviceArn` they name.

use aws_protocol::AwsError;
use serde_json::Value as Json;

use super::clusters::active_cluster;
use super::model::cluster as cluster_model;
use crate::ecs::{self, cluster_not_found, invalid_parameter};
use crate::operations::{Ctx, json as json_op, operation};

operation!(
    ecs,
    CREATE_EXPRESS_GATEWAY_SERVICE,
    "CreateExpressGatewayService",
    Write,
    |ctx| Box::pin(async move { Ok(vec![created_arn(ctx)]) }),
    |ctx| json_op(create(ctx))
);
operation!(
    ecs,
    DESCRIBE_EXPRESS_GATEWAY_SERVICE,
    "DescribeExpressGatewayService",
    Read,
    |ctx| Box::pin(async move { named(ctx) }),
    |ctx| json_op(no_such_service(ctx))
);
operation!(
    ecs,
    UPDATE_EXPRESS_GATEWAY_SERVICE,
    "UpdateExpressGatewayService",
    Write,
    |ctx| Box::pin(async move { named(ctx) }),
    |ctx| json_op(no_such_service(ctx))
);
operation!(
    ecs,
    DELETE_EXPRESS_GATEWAY_SERVICE,
    "DeleteExpressGatewayService",
    Write,
    |ctx| Box::pin(async move { named(ctx) }),
    |ctx| json_op(no_such_service(ctx))
);

/// The ARN CreateExpressGatewayService would give its service.
fn created_arn(ctx: &Ctx<'_>) -> String {
    let cluster = ecs::cluster_arn(ctx.scope(), ctx.body);
    let cluster_name = cluster.rsplit('/').next().unwrap_or_default();
    let name = ctx.body.get("serviceName").and_then(Json::as_str).filter(|name| !name.is_empty()).unwrap_or("*");
    ecs::arn(ctx.scope(), "service", &format!("{cluster_name}/{name}"))
}

/// The service ARN as named: ARNs are exact.
fn named(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![ecs::required(ctx.body, "serviceArn")?.to_owned()])
}

async fn create(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    if let Some(name) = ctx.body.get("serviceName").and_then(Json::as_str) {
        let valid = !name.is_empty()
            && name.len() <= 255
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(invalid_parameter(
                "Service name can have up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.",
            ));
        }
    }
    active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    ecs::tags_from_body(ctx.body)?;
    Err(AwsError::new(
        "UnsupportedFeatureException",
        400,
        "Express services run on AWS Fargate behind Application Load Balancers, which Homeport does not have; run the service on the cluster's external instances with CreateService.",
    ))
}

/// `arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME`: its region, account and cluster.
fn parse_service_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:aws:ecs:")?;
    let (region, rest) = rest.split_once(':')?;
    let (account, rest) = rest.split_once(':')?;
    let (cluster, name) = rest.strip_prefix("service/")?.split_once('/')?;
    let valid = !region.is_empty() && !account.is_empty() && !cluster.is_empty() && !name.is_empty();
    valid.then_some((region, account, cluster))
}

async fn no_such_service(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let arn = ecs::required(ctx.body, "serviceArn")?;
    let (region, account, cluster) =
        parse_service_arn(arn).ok_or_else(|| invalid_parameter(format!("Invalid service ARN: {arn}.")))?;
    let scope = ctx.scope();
    if region == scope.region && account == scope.account {
        let found = cluster_model::find(&ctx.app.store, scope, &ecs::arn(scope, "cluster", cluster)).await?;
        if found.is_none() {
            return Err(cluster_not_found());
        }
    }
    Err(if ctx.operation.name == "DescribeExpressGatewayService" {
        AwsError::new("ResourceNotFoundException", 400, "The specified Express service does not exist.")
    } else {
        AwsError::new("ServiceNotFoundException", 400, "Service not found.")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_arns_name_their_cluster() {
        assert_eq!(
            parse_service_arn("arn:aws:ecs:us-east-1:111122223333:service/prod/web"),
            Some(("us-east-1", "111122223333", "prod"))
        );
        for bad in ["arn:aws:ecs:us-east-1:111122223333:service/web", "web", "arn:aws:ecs:us-east-1:1:task/prod/x"] {
            assert_eq!(parse_service_arn(bad), None, "{bad}");
        }
    }
}
