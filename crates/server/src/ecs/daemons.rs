//! ECS Managed Daemons: CreateDaemon, UpdateDaemon, DeleteDaemon, DescribeDaemon,
//! ListDaemons, ListDaemonDeployments, DescribeDaemonDeployments and
//! DescribeDaemonRevisions.
//!
//! ECS documents Managed Daemons as "only supported for Amazon ECS Managed Instances
//! Capacity Providers" (CreateDaemon, UpdateDaemon and DeleteDaemon in the API reference). A
//! Homeport cluster is a fleet of external instances: its only capacity providers are ECS's
//! reserved `FARGATE` and `FARGATE_SPOT`, and no Managed Instances provider can be made
//! (`capacity_providers`: CreateCapacityProvider refuses one). So every CreateDaemon and
//! UpdateDaemon is refused at its capacity providers, after the checks ECS makes first, and
//! no daemon, deployment or revision ever exists:
//! - CreateDaemon: the name, the cluster (`ClusterNotFoundException`), the tags, the daemon
//!   task definition (it must exist and be `ACTIVE`), then each capacity provider: a reserved
//!   one is not a Managed Instances provider and any other does not exist, both
//!   `InvalidParameterException`, as PutClusterCapacityProviders words an unknown provider.
//! - UpdateDaemon, DeleteDaemon, DescribeDaemon: the daemon's ARN must be an ECS daemon ARN
//!   (`InvalidParameterException` "Invalid daemon ARN: ..."), its cluster must exist
//!   (`ClusterNotFoundException`), and then the daemon does not (`DaemonNotFoundException`).
//! - ListDaemons and ListDaemonDeployments: validated (cluster or daemon ARN, `maxResults`
//!   1 to 100, a `nextToken` Homeport never handed out is refused), an empty page.
//! - DescribeDaemonDeployments and DescribeDaemonRevisions: 1 to 20 ARNs, each answered as a
//!   `MISSING` failure, as ECS's Describe operations answer what they do not find.
//!
//! ARNs, as the ARNs ECS forms for a cluster's resources: a daemon is
//! `arn:aws:ecs:REGION:ACCOUNT:daemon/CLUSTER/NAME`. Authorization: CreateDaemon on the
//! daemon's ARN; Update, Delete, Describe and ListDaemonDeployments on the daemon ARN they
//! name; the two Describe operations on each ARN they name; ListDaemons on `*`.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::clusters::active_cluster;
use super::daemon_task_definitions;
use super::model::cluster as cluster_model;
use super::model::daemon_task_definition::DaemonTaskDefinitionStatus;
use crate::ecs::{self, client, cluster_not_found, invalid_parameter};
use crate::operations::{Ctx, json as json_op, operation};
use crate::regions::Scope;

operation!(
    ecs,
    CREATE_DAEMON,
    "CreateDaemon",
    Write,
    |ctx| Box::pin(async move { Ok(vec![created_arn(ctx)?]) }),
    |ctx| json_op(create_daemon(ctx))
);
operation!(ecs, UPDATE_DAEMON, "UpdateDaemon", Write, |ctx| Box::pin(async move { named(ctx) }), |ctx| json_op(
    no_such_daemon(ctx)
));
operation!(ecs, DELETE_DAEMON, "DeleteDaemon", Write, |ctx| Box::pin(async move { named(ctx) }), |ctx| json_op(
    no_such_daemon(ctx)
));
operation!(ecs, DESCRIBE_DAEMON, "DescribeDaemon", Read, |ctx| Box::pin(async move { named(ctx) }), |ctx| json_op(
    no_such_daemon(ctx)
));
operation!(ecs, LIST_DAEMONS, "ListDaemons", Read, |_| Box::pin(async { Ok(vec!["*".to_owned()]) }), |ctx| json_op(
    list_daemons(ctx)
));
operation!(
    ecs,
    LIST_DAEMON_DEPLOYMENTS,
    "ListDaemonDeployments",
    Read,
    |ctx| Box::pin(async move { named(ctx) }),
    |ctx| json_op(list_daemon_deployments(ctx))
);
operation!(
    ecs,
    DESCRIBE_DAEMON_DEPLOYMENTS,
    "DescribeDaemonDeployments",
    Read,
    |ctx| Box::pin(async move { listed(ctx, "daemonDeploymentArns") }),
    |ctx| json_op(describe_missing(ctx, "daemonDeploymentArns", "daemonDeployments"))
);
operation!(
    ecs,
    DESCRIBE_DAEMON_REVISIONS,
    "DescribeDaemonRevisions",
    Read,
    |ctx| Box::pin(async move { listed(ctx, "daemonRevisionArns") }),
    |ctx| json_op(describe_missing(ctx, "daemonRevisionArns", "daemonRevisions"))
);

/// ARNs a Describe operation takes at once.
const MAX_DESCRIBED: usize = 20;

/// The message ECS gives with the refusal of a capacity provider that is not an ECS Managed
/// Instances one (the API reference's note on CreateDaemon, UpdateDaemon and DeleteDaemon).
const MANAGED_INSTANCES_ONLY: &str =
    "ECS Managed Daemons is only supported for Amazon ECS Managed Instances Capacity Providers.";

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A daemon ARN's cluster and name: `arn:aws:ecs:REGION:ACCOUNT:daemon/CLUSTER/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DaemonArn<'a> {
    region: &'a str,
    account: &'a str,
    cluster: &'a str,
    name: &'a str,
}

fn parse_daemon_arn(arn: &str) -> Option<DaemonArn<'_>> {
    let rest = arn.strip_prefix("arn:aws:ecs:")?;
    let (region, rest) = rest.split_once(':')?;
    let (account, rest) = rest.split_once(':')?;
    let (cluster, name) = rest.strip_prefix("daemon/")?.split_once('/')?;
    let valid = !region.is_empty() && account.len() == 12 && valid_name(cluster) && valid_name(name);
    valid.then_some(DaemonArn { region, account, cluster, name })
}

/// The daemon ARN a request names (`daemonArn`), or ECS's refusal of its form.
fn daemon_arn<'a>(ctx: &Ctx<'a>) -> Result<DaemonArn<'a>, AwsError> {
    let arn = ecs::required(ctx.body, "daemonArn")?;
    parse_daemon_arn(arn).ok_or_else(|| invalid_parameter(format!("Invalid daemon ARN: {arn}.")))
}

/// What UpdateDaemon, DeleteDaemon, DescribeDaemon and ListDaemonDeployments are authorized
/// on: the daemon ARN as named (ARNs are exact; a malformed one is refused after).
fn named(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![ecs::required(ctx.body, "daemonArn")?.to_owned()])
}

/// What the Describe operations are authorized on: every ARN named (`*` for none, which
/// the operation then refuses).
fn listed(ctx: &Ctx<'_>, member: &str) -> Result<Vec<String>, AwsError> {
    let arns: Vec<String> = ecs::strings(ctx.body, member).into_iter().take(MAX_DESCRIBED).map(str::to_owned).collect();
    Ok(if arns.is_empty() { vec!["*".to_owned()] } else { arns })
}

/// The ARN CreateDaemon would give its daemon.
fn created_arn(ctx: &Ctx<'_>) -> Result<String, AwsError> {
    let name = ecs::required(ctx.body, "daemonName")?;
    let cluster = cluster_of(ctx.scope(), ctx.body);
    let cluster_name = cluster.rsplit('/').next().unwrap_or_default();
    Ok(ecs::arn(ctx.scope(), "daemon", &format!("{cluster_name}/{name}")))
}

/// The cluster ARN a `clusterArn` member names (`default` when absent; a name is taken as
/// ECS takes a cluster's name).
fn cluster_of(scope: Scope<'_>, body: &Json) -> String {
    let cluster = body.get("clusterArn").and_then(Json::as_str).filter(|c| !c.is_empty()).unwrap_or("default");
    ecs::cluster_arn(scope, &json!({"cluster": cluster}))
}

async fn create_daemon(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let body = ctx.body;
    let name = ecs::required(body, "daemonName")?;
    if !valid_name(name) {
        return Err(invalid_parameter(
            "Daemon name can have up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.",
        ));
    }
    active_cluster(ctx.app, ctx.scope(), &json!({"cluster": cluster_of(ctx.scope(), body)})).await?;
    ecs::tags_from_body(body)?;
    let reference = ecs::required(body, "daemonTaskDefinitionArn")?;
    let definition = daemon_task_definitions::find(&ctx.app.store, ctx.scope(), reference)
        .await?
        .ok_or_else(|| client("Unable to describe daemon task definition."))?;
    if definition.status != DaemonTaskDefinitionStatus::Active {
        return Err(client(format!("The daemon task definition {} is not ACTIVE.", definition.arn)));
    }
    refuse_capacity_providers(ctx.scope(), body)
}

/// The refusal of a request's `capacityProviderArns`: none can be an ECS Managed Instances
/// capacity provider of a Homeport cluster.
fn refuse_capacity_providers(scope: Scope<'_>, body: &Json) -> Result<Json, AwsError> {
    let providers = ecs::strings(body, "capacityProviderArns");
    let Some(first) = providers.first() else {
        return Err(invalid_parameter("capacityProviderArns can not be empty."));
    };
    let reserved = ["FARGATE", "FARGATE_SPOT"]
        .into_iter()
        .find(|name| *first == *name || *first == ecs::arn(scope, "capacity-provider", name));
    Err(match reserved {
        Some(name) => invalid_parameter(format!(
            "The capacity provider {name} is not an Amazon ECS Managed Instances capacity provider. {MANAGED_INSTANCES_ONLY}"
        )),
        None => invalid_parameter(format!("The specified capacity provider {first} does not exist.")),
    })
}

/// ECS's answer for a daemon that does not exist: every daemon, here.
async fn no_such_daemon(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let daemon = daemon_arn(ctx)?;
    let scope = ctx.scope();
    let here = daemon.region == scope.region && daemon.account == scope.account;
    if here {
        let cluster = cluster_model::find(&ctx.app.store, scope, &ecs::arn(scope, "cluster", daemon.cluster)).await?;
        if cluster.is_none() {
            return Err(cluster_not_found());
        }
    }
    if ctx.operation.name == "UpdateDaemon" {
        ecs::required(ctx.body, "daemonTaskDefinitionArn")?;
    }
    Err(AwsError::new("DaemonNotFoundException", 400, "The specified daemon does not exist."))
}

/// A `nextToken`: Homeport hands out none for daemons, so any is refused.
fn no_token(body: &Json) -> Result<(), AwsError> {
    match body.get("nextToken") {
        None | Some(Json::Null) => Ok(()),
        Some(_) => Err(ecs::invalid_token()),
    }
}

async fn list_daemons(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    ecs::max_results(ctx.body, 100, 100)?;
    no_token(ctx.body)?;
    if ctx.body.get("clusterArn").and_then(Json::as_str).is_some() {
        active_cluster(ctx.app, ctx.scope(), &json!({"cluster": cluster_of(ctx.scope(), ctx.body)})).await?;
    }
    Ok(json!({"daemonSummariesList": []}))
}

async fn list_daemon_deployments(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let daemon = daemon_arn(ctx)?;
    ecs::max_results(ctx.body, 100, 20)?;
    no_token(ctx.body)?;
    let scope = ctx.scope();
    if daemon.region == scope.region && daemon.account == scope.account {
        let cluster = cluster_model::find(&ctx.app.store, scope, &ecs::arn(scope, "cluster", daemon.cluster)).await?;
        if cluster.is_none() {
            return Err(cluster_not_found());
        }
    }
    Ok(json!({"daemonDeployments": []}))
}

async fn describe_missing(ctx: &Ctx<'_>, member: &str, list: &str) -> Result<Json, AwsError> {
    let arns = ecs::strings(ctx.body, member);
    if arns.is_empty() || arns.len() > MAX_DESCRIBED {
        return Err(invalid_parameter(format!("{member} must have between 1 and {MAX_DESCRIBED} items.")));
    }
    let failures: Vec<Json> = arns.iter().map(|arn| json!({"arn": arn, "reason": "MISSING"})).collect();
    Ok(json!({list: [], "failures": failures}))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn daemon_arns_name_a_cluster_and_a_daemon() {
        let arn = "arn:aws:ecs:us-east-1:111122223333:daemon/prod/falcon";
        assert_eq!(
            parse_daemon_arn(arn),
            Some(DaemonArn { region: "us-east-1", account: "111122223333", cluster: "prod", name: "falcon" })
        );
        for bad in [
            "arn:aws:ecs:us-east-1:111122223333:daemon/falcon",
            "arn:aws:ecs:us-east-1:111122223333:service/prod/falcon",
            "arn:aws:ecs:us-east-1:1111:daemon/prod/falcon",
            "arn:aws:ecs:us-east-1:111122223333:daemon/prod/fal/con",
            "falcon",
        ] {
            assert_eq!(parse_daemon_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn no_capacity_provider_of_an_external_fleet_takes_a_daemon() {
        let scope = crate::testing::SCOPE;
        for (providers, named) in [
            (json!(["FARGATE"]), "The capacity provider FARGATE is not an Amazon ECS Managed Instances"),
            (
                json!(["arn:aws:ecs:us-east-1:111122223333:capacity-provider/FARGATE_SPOT"]),
                "The capacity provider FARGATE_SPOT is not",
            ),
            (json!(["mine"]), "The specified capacity provider mine does not exist."),
            (json!([]), "capacityProviderArns can not be empty."),
        ] {
            let error = refuse_capacity_providers(scope, &json!({"capacityProviderArns": providers})).unwrap_err();
            assert_eq!(error.code, "InvalidParameterException");
            assert_eq!(error.status, 400);
            assert!(error.message.starts_with(named), "{}", error.message);
        }
    }
}
