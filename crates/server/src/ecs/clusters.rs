//! ECS clusters: Create/Describe/List/Delete/UpdateCluster.
//!
//! A deleted cluster stays describable as `INACTIVE`; creating it again makes it `ACTIVE`. A
//! cluster is deleted only when no container instance, service or unstopped task is in it,
//! checked in the deleting statement.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};
use store::Value;

use super::model::container_instance::ContainerInstanceStatus;
use super::model::task::TaskStatus;
use super::service_plan::ServiceStatus;
use crate::app::App;
use crate::ecs::{self, cluster_arn, cluster_not_found, invalid_parameter};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, json as json_op};

operation!(
    ecs,
    CREATE_CLUSTER,
    "CreateCluster",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, &named(ctx.body))]) }),
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
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| { json_op(delete_cluster(ctx)) }
);
operation!(
    ecs,
    UPDATE_CLUSTER,
    "UpdateCluster",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| { json_op(update_cluster(ctx)) }
);

/// CreateCluster names its cluster with `clusterName`, the others with `cluster`.
fn named(body: &Json) -> Json {
    json!({"cluster": body.get("clusterName").and_then(Json::as_str).unwrap_or("default")})
}

/// A stored cluster.
pub(crate) struct Cluster {
    pub arn: String,
    pub name: String,
    pub status: String,
    pub settings: Json,
}

/// The cluster a `cluster` member names, in any status.
pub(crate) async fn find_cluster(app: &App, body: &Json) -> Result<Option<Cluster>, AwsError> {
    let arn = cluster_arn(app, body);
    let rows = app
        .store
        .query(
            "SELECT arn, name, status, settings FROM ecs_clusters WHERE arn = ? AND account_id = ?",
            vec![arn.as_str().into(), app.account_id.as_str().into()],
        )
        .await
        .map_err(internal)?;
    rows.first()
        .map(|row| {
            Ok(Cluster {
                arn: row.text(0).map_err(internal)?,
                name: row.text(1).map_err(internal)?,
                status: row.text(2).map_err(internal)?,
                settings: ecs::json_column(row, 3)?,
            })
        })
        .transpose()
}

/// The `ACTIVE` cluster a request names, or ClusterNotFoundException.
pub(crate) async fn active_cluster(app: &App, body: &Json) -> Result<Cluster, AwsError> {
    find_cluster(app, body).await?.filter(|cluster| cluster.status == "ACTIVE").ok_or_else(cluster_not_found)
}

/// ECS's `Cluster` shape, with the counts ECS keeps.
async fn describe(app: &App, cluster: &Cluster, include: &[&str]) -> Result<Json, AwsError> {
    let rows = app
        .store
        .query(
            "SELECT (SELECT COUNT(*) FROM ecs_container_instances WHERE cluster_arn = ? AND status <> ?),
                    (SELECT COUNT(*) FROM ecs_tasks WHERE cluster_arn = ? AND last_status = ?),
                    (SELECT COUNT(*) FROM ecs_tasks WHERE cluster_arn = ? AND last_status IN (?, ?, ?)),
                    (SELECT COUNT(*) FROM ecs_services WHERE cluster_arn = ? AND status = ?)",
            {
                let cluster: Value = cluster.arn.as_str().into();
                let word = |status: &'static str| Value::from(status);
                vec![
                    cluster.clone(),
                    word(ContainerInstanceStatus::Inactive.as_str()),
                    cluster.clone(),
                    word(TaskStatus::Running.as_str()),
                    cluster.clone(),
                    word(TaskStatus::Provisioning.as_str()),
                    word(TaskStatus::Pending.as_str()),
                    word(TaskStatus::Activating.as_str()),
                    cluster,
                    word(ServiceStatus::Active.as_str()),
                ]
            },
        )
        .await
        .map_err(internal)?;
    let row = rows.first().ok_or_else(|| internal("no count row"))?;
    let count = |index| row.int(index).map_err(internal);
    let (instances, running, pending, services) = (count(0)?, count(1)?, count(2)?, count(3)?);
    let mut described = json!({
        "clusterArn": cluster.arn,
        "clusterName": cluster.name,
        "status": cluster.status,
        "registeredContainerInstancesCount": instances,
        "runningTasksCount": running,
        "pendingTasksCount": pending,
        "activeServicesCount": services,
        "statistics": [],
        "tags": [],
        "settings": cluster.settings,
        "capacityProviders": [],
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
    let settings = settings(ctx.body)?.unwrap_or_else(|| json!([{"name": "containerInsights", "value": "disabled"}]));
    let tags = ecs::tags_from_body(ctx.body)?;
    let arn = ecs::arn(ctx.app, "cluster", name);
    let account = ctx.account();
    // Creating an existing cluster returns it (reactivated if it was deleted).
    let mut statements = vec![
        store::Statement::new(
            "UPDATE ecs_clusters SET status = 'ACTIVE' WHERE arn = ? AND account_id = ?",
            vec![arn.as_str().into(), account.into()],
        ),
        store::Statement::new(
            "INSERT INTO ecs_clusters (arn, account_id, name, status, settings, created_at)
             SELECT ?, ?, ?, 'ACTIVE', ?, ? WHERE NOT EXISTS (SELECT 1 FROM ecs_clusters WHERE arn = ?)",
            vec![
                arn.as_str().into(),
                account.into(),
                name.into(),
                settings.to_string().into(),
                Value::Int(ids::now()),
                arn.as_str().into(),
            ],
        ),
    ];
    statements.extend(ecs::set_tags(account, &arn, &tags));
    ctx.app.store.transaction(statements).await.map_err(internal)?;
    let cluster = find_cluster(ctx.app, &json!({"cluster": arn})).await?.ok_or_else(cluster_not_found)?;
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
        match find_cluster(ctx.app, &json!({"cluster": name})).await? {
            Some(cluster) => clusters.push(describe(ctx.app, &cluster, &include).await?),
            None => failures.push(json!({"arn": cluster_arn(ctx.app, &json!({"cluster": name})), "reason": "MISSING"})),
        }
    }
    Ok(json!({"clusters": clusters, "failures": failures}))
}

async fn list_clusters(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let page = ecs::Page::from_body(ctx.body, 100, 100)?;
    let rows = ctx
        .app
        .store
        .query(
            "SELECT arn FROM ecs_clusters WHERE account_id = ? AND status = 'ACTIVE' ORDER BY arn",
            vec![ctx.account().into()],
        )
        .await
        .map_err(internal)?;
    let arns = rows.iter().map(|row| row.text(0).map(Json::String).map_err(internal)).collect::<Result<_, _>>()?;
    Ok(page.answer("clusterArns", arns))
}

async fn delete_cluster(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    let arn = cluster.arn.as_str();
    let refuse = |code: &str, message: &str| AwsError::new(code, 400, message);
    // Whether the cluster holds a row of `table` whose `column` is not `word`.
    let holds = |table: &'static str, column: &'static str, word: &'static str| {
        let store = &ctx.app.store;
        let sql = format!("SELECT 1 FROM {table} WHERE cluster_arn = ? AND {column} <> ?");
        async move { store.query(&sql, vec![arn.into(), word.into()]).await.map(|rows| !rows.is_empty()).map_err(internal) }
    };
    if holds("ecs_container_instances", "status", ContainerInstanceStatus::Inactive.as_str()).await? {
        return Err(refuse(
            "ClusterContainsContainerInstancesException",
            "The Cluster cannot be deleted while Container Instances are active or draining.",
        ));
    }
    if holds("ecs_services", "status", ServiceStatus::Inactive.as_str()).await? {
        return Err(refuse(
            "ClusterContainsServicesException",
            "The Cluster cannot be deleted while Services are active.",
        ));
    }
    if holds("ecs_tasks", "last_status", TaskStatus::Stopped.as_str()).await? {
        return Err(refuse("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active."));
    }
    ctx.app
        .store
        .execute("UPDATE ecs_clusters SET status = 'INACTIVE' WHERE arn = ?", vec![arn.into()])
        .await
        .map_err(internal)?;
    let cluster = Cluster { status: "INACTIVE".to_owned(), ..cluster };
    Ok(json!({"cluster": describe(ctx.app, &cluster, &[]).await?}))
}

async fn update_cluster(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    let settings = settings(ctx.body)?.unwrap_or(cluster.settings.clone());
    ctx.app
        .store
        .execute(
            "UPDATE ecs_clusters SET settings = ? WHERE arn = ?",
            vec![settings.to_string().into(), cluster.arn.as_str().into()],
        )
        .await
        .map_err(internal)?;
    let cluster = Cluster { settings, ..cluster };
    Ok(json!({"cluster": describe(ctx.app, &cluster, &[]).await?}))
}
