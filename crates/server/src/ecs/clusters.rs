//! ECS clusters: Create/Describe/List/Delete/UpdateCluster and UpdateClusterSettings.
//!
//! A deleted cluster stays describable as `INACTIVE`; creating it again makes it `ACTIVE`. A
//! cluster is deleted only when no container instance, service or unstopped task is in it,
//! checked in the deleting statement.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

pub(crate) use super::model::cluster::Cluster;
use super::model::cluster::{self as model, ClusterStatus, Counts, Occupant};
use crate::app::App;
use crate::ecs::{self, cluster_arn, cluster_not_found, invalid_parameter};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};
use crate::regions::Scope;

operation!(
    ecs,
    CREATE_CLUSTER,
    "CreateCluster",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), &named(ctx.body))]) }),
    |ctx| { json_op(create_cluster(ctx)) }
);
operation!(ecs, DESCRIBE_CLUSTERS, "DescribeClusters", Read, |_| Box::pin(async { Ok(vec!["*".to_owned()]) }), |ctx| {
    json_op(describe_clusters(ctx))
});
operation!(ecs, LIST_CLUSTERS, "ListClusters", Read, |_| Box::pin(async { Ok(vec!["*".to_owned()]) }), |ctx| json_op(
    list_clusters(ctx)
));
operation!(
    ecs,
    DELETE_CLUSTER,
    "DeleteCluster",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| { json_op(delete_cluster(ctx)) }
);
operation!(
    ecs,
    UPDATE_CLUSTER,
    "UpdateCluster",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| { json_op(update_cluster(ctx)) }
);

operation!(
    ecs,
    UPDATE_CLUSTER_SETTINGS,
    "UpdateClusterSettings",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| { json_op(update_cluster(ctx)) }
);

/// Cluster members that ask for what Homeport does not do (ECS Exec's logging and keys,
/// Service Connect's namespace), refused rather than ignored.
const UNSUPPORTED_MEMBERS: [&str; 2] = ["configuration", "serviceConnectDefaults"];

fn check_supported(ctx: &Ctx<'_>) -> Result<(), AwsError> {
    for member in UNSUPPORTED_MEMBERS {
        let asks = ctx.body.get(member).is_some_and(|value| !value.is_null() && *value != json!({}));
        if asks {
            return Err(invalid_parameter(format!(
                "Homeport does not support the {} parameter '{member}' yet.",
                ctx.operation.name
            )));
        }
    }
    Ok(())
}

/// CreateCluster names its cluster with `clusterName`, the others with `cluster`.
fn named(body: &Json) -> Json {
    json!({"cluster": body.get("clusterName").and_then(Json::as_str).unwrap_or("default")})
}

/// The cluster a `cluster` member names, in any status.
pub(crate) async fn find_cluster(app: &App, scope: Scope<'_>, body: &Json) -> Result<Option<Cluster>, AwsError> {
    model::find(&app.store, scope, &cluster_arn(scope, body)).await
}

/// The `ACTIVE` cluster a request names, or ClusterNotFoundException.
pub(crate) async fn active_cluster(app: &App, scope: Scope<'_>, body: &Json) -> Result<Cluster, AwsError> {
    find_cluster(app, scope, body)
        .await?
        .filter(|cluster| cluster.status == ClusterStatus::Active)
        .ok_or_else(cluster_not_found)
}

/// ECS's `Cluster` shape of the cluster `arn` names, as it is now.
pub(crate) async fn describe_named(app: &App, scope: Scope<'_>, arn: &str) -> Result<Json, AwsError> {
    let cluster = find_cluster(app, scope, &json!({"cluster": arn})).await?.ok_or_else(cluster_not_found)?;
    describe(app, &cluster, &[]).await
}

/// ECS's `Cluster` shape, with the counts ECS keeps.
async fn describe(app: &App, cluster: &Cluster, include: &[&str]) -> Result<Json, AwsError> {
    let counts = model::counts(&app.store, &cluster.arn).await?;
    describe_counted(app, cluster, counts, include).await
}

/// [`describe`] with the counts already read.
async fn describe_counted(app: &App, cluster: &Cluster, counts: Counts, include: &[&str]) -> Result<Json, AwsError> {
    let (instances, running, pending, services) =
        (counts.instances, counts.running_tasks, counts.pending_tasks, counts.active_services);
    let mut described = json!({
        "clusterArn": cluster.arn,
        "clusterName": cluster.name,
        "status": cluster.status.as_str(),
        "registeredContainerInstancesCount": instances,
        "runningTasksCount": running,
        "pendingTasksCount": pending,
        "activeServicesCount": services,
        "statistics": [],
        "tags": [],
        "settings": cluster.settings,
        "capacityProviders": cluster.capacity_providers,
        "defaultCapacityProviderStrategy": [],
    });
    if include.contains(&"STATISTICS") {
        let statistic = |name: &str, value: i64| json!({"name": name, "value": value.to_string()});
        ecs::put(
            &mut described,
            "statistics",
            json!([
                statistic("runningEC2TasksCount", 0),
                statistic("runningExternalTasksCount", running),
                statistic("pendingEC2TasksCount", 0),
                statistic("pendingExternalTasksCount", pending),
                statistic("activeEC2ServiceCount", 0),
                statistic("activeExternalServiceCount", services),
                statistic("drainingEC2ServiceCount", 0),
                statistic("drainingExternalServiceCount", 0),
            ]),
        );
    }
    if include.contains(&"TAGS") {
        ecs::put(&mut described, "tags", ecs::load_tags(&app.store, &app.account_id, &cluster.arn).await?);
    }
    Ok(described)
}

/// ECS's cluster settings: only `containerInsights` (`enabled` / `disabled` / `enhanced`).
fn settings(body: &Json) -> Result<Option<Json>, AwsError> {
    let Some(items) = body.get("settings").and_then(Json::as_array) else { return Ok(None) };
    for item in items {
        let name = item.get("name").and_then(Json::as_str).unwrap_or_default();
        let value = item.get("value").and_then(Json::as_str).unwrap_or_default();
        if name != "containerInsights" || !["enabled", "disabled", "enhanced"].contains(&value) {
            return Err(invalid_parameter(format!("Invalid cluster setting: {name}={value}.")));
        }
    }
    Ok(Some(Json::Array(items.clone())))
}

async fn create_cluster(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = ctx.body.get("clusterName").and_then(Json::as_str).unwrap_or("default");
    let valid = !name.is_empty()
        && name.len() <= 255
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(invalid_parameter(
            "Cluster name can have up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.",
        ));
    }
    check_supported(ctx)?;
    let settings = match settings(ctx.body)? {
        Some(settings) => settings,
        // The account setting is each new cluster's default.
        None => {
            let insights = super::account_settings::effective_for_caller(ctx, "containerInsights").await?;
            json!([{"name": "containerInsights", "value": insights}])
        }
    };
    let tags = ecs::tags_from_body(ctx.body)?;
    let capacity_providers = super::capacity_providers::associations(ctx)?;
    let arn = ecs::arn(ctx.scope(), "cluster", name);
    ecs::authorize_tags(ctx, &arn, &tags).await?;
    let scope = ctx.scope();
    // Creating an existing cluster returns it (reactivated if it was deleted).
    model::create(&ctx.app.store, scope, &arn, name, &settings, &tags, ids::now()).await?;
    if let Some(names) = capacity_providers {
        model::set_capacity_providers(&ctx.app.store, &arn, &names).await?;
    }
    let cluster = find_cluster(ctx.app, ctx.scope(), &json!({"cluster": arn})).await?.ok_or_else(cluster_not_found)?;
    Ok(json!({"cluster": describe(ctx.app, &cluster, &["TAGS"]).await?}))
}

async fn describe_clusters(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let names: Vec<String> = match ctx.body.get("clusters").and_then(Json::as_array) {
        Some(items) => items.iter().filter_map(Json::as_str).map(str::to_owned).collect(),
        None => vec!["default".to_owned()],
    };
    if names.len() > 100 {
        return Err(invalid_parameter("clusters can have at most 100 items."));
    }
    let include: Vec<&str> = ecs::strings(ctx.body, "include");
    let mut clusters = Vec::new();
    let mut failures = Vec::new();
    for name in &names {
        let arn = cluster_arn(ctx.scope(), &json!({"cluster": name}));
        match model::find_counted(&ctx.app.store, ctx.scope(), &arn).await? {
            Some((cluster, counts)) => clusters.push(describe_counted(ctx.app, &cluster, counts, &include).await?),
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    Ok(json!({"clusters": clusters, "failures": failures}))
}

async fn list_clusters(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let page = ecs::Page::from_body(ctx.body, 100, 100)?;
    let arns = model::active_arns(&ctx.app.store, ctx.scope()).await?.into_iter().map(Json::String).collect();
    Ok(page.answer("clusterArns", arns))
}

async fn delete_cluster(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let refuse = |code: &str, message: &str| Err(AwsError::new(code, 400, message));
    match model::occupant(&ctx.app.store, &cluster.arn).await? {
        Some(Occupant::ContainerInstances) => {
            return refuse(
                "ClusterContainsContainerInstancesException",
                "The Cluster cannot be deleted while Container Instances are active or draining.",
            );
        }
        Some(Occupant::Services) => {
            return refuse(
                "ClusterContainsServicesException",
                "The Cluster cannot be deleted while Services are active.",
            );
        }
        Some(Occupant::Tasks) => {
            return refuse("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.");
        }
        None => {}
    }
    model::deactivate(&ctx.app.store, &cluster.arn).await?;
    let cluster = Cluster { status: ClusterStatus::Inactive, ..cluster };
    Ok(json!({"cluster": describe(ctx.app, &cluster, &[]).await?}))
}

/// UpdateCluster and UpdateClusterSettings (whose `settings` is required).
async fn update_cluster(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    check_supported(ctx)?;
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let settings = settings(ctx.body)?.unwrap_or(cluster.settings.clone());
    model::set_settings(&ctx.app.store, &cluster.arn, &settings).await?;
    let cluster = Cluster { settings, ..cluster };
    Ok(json!({"cluster": describe(ctx.app, &cluster, &[]).await?}))
}
