//! Task sets: the `EXTERNAL` deployment controller's way to run a service
//! (Create/Describe/Update/DeleteTaskSet, UpdateServicePrimaryTaskSet), for blue/green tools
//! that drive deployments themselves, and the scheduler's pass over such a service.
//!
//! A task set lives in its service's document (`taskSets`, as ECS's `Service` shape answers
//! it), so it is written with the service under the cluster's placement lock. Each keeps
//! `computedDesiredCount` = its `scale` (a percentage) of the service's desired count,
//! rounded up, of its own task definition's tasks (their `startedBy` is the set's id); the
//! scheduler plans each set as a one-deployment `REPLICA` service (`service_plan::plan`:
//! missing tasks started, extra and unhealthy ones stopped), and a set is `STEADY_STATE`
//! when all its tasks run healthy. A deleted set is `DRAINING` until its tasks have stopped,
//! then gone. The first set made is the primary; `UpdateServicePrimaryTaskSet` moves it, and
//! the service's `taskDefinition` follows the primary's.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::clusters::{Cluster, active_cluster};
use super::model::service::{self as service_model, Service, ServiceStatus};
use super::service_plan::{self as plan, Action, RolloutState};
use super::services::{self, named_service, service_resource};
use super::tasks::launch;
use super::unsupported;
use crate::app::App;
use crate::ecs::{self, invalid_parameter, put};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};

operation!(
    ecs,
    CREATE_TASK_SET,
    "CreateTaskSet",
    Write,
    |ctx| Box::pin(async move { service_resource(ctx, "service") }),
    |ctx| { json_op(create_task_set(ctx)) }
);
operation!(
    ecs,
    DESCRIBE_TASK_SETS,
    "DescribeTaskSets",
    Read,
    |ctx| Box::pin(async move { service_resource(ctx, "service") }),
    |ctx| { json_op(describe_task_sets(ctx)) }
);
operation!(
    ecs,
    UPDATE_TASK_SET,
    "UpdateTaskSet",
    Write,
    |ctx| Box::pin(async move { task_set_resource(ctx) }),
    |ctx| { json_op(update_task_set(ctx)) }
);
operation!(
    ecs,
    DELETE_TASK_SET,
    "DeleteTaskSet",
    Write,
    |ctx| Box::pin(async move { task_set_resource(ctx) }),
    |ctx| { json_op(delete_task_set(ctx)) }
);
operation!(
    ecs,
    UPDATE_SERVICE_PRIMARY_TASK_SET,
    "UpdateServicePrimaryTaskSet",
    Write,
    |ctx| Box::pin(async move { service_resource(ctx, "service") }),
    |ctx| { json_op(update_primary(ctx)) }
);

/// `task-set/CLUSTER/SERVICE/ID`.
fn task_set_arn(service_arn: &str, id: &str) -> String {
    let (prefix, path) = service_arn.split_once(":service/").unwrap_or((service_arn, ""));
    format!("{prefix}:task-set/{path}/{id}")
}

/// The task set a request names (its id or ARN) under the named service.
fn task_set_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let service = service_resource(ctx, "service")?.remove(0);
    let named = ecs::required(ctx.body, "taskSet")?;
    Ok(vec![if named.starts_with("arn:") { named.to_owned() } else { task_set_arn(&service, named) }])
}

fn not_found() -> AwsError {
    AwsError::new("TaskSetNotFoundException", 400, "The specified task set does not exist.")
}

fn not_external() -> AwsError {
    invalid_parameter("Task sets are only supported for services using the EXTERNAL deployment controller.")
}

/// Whether a service is run by task sets.
pub(crate) fn is_external(service: &Service) -> bool {
    service.body.pointer("/deploymentController/type").and_then(Json::as_str) == Some("EXTERNAL")
}

/// The named `EXTERNAL` service, `ACTIVE`, for a change of its task sets.
async fn external_service(ctx: &Ctx<'_>, cluster: &Cluster) -> Result<Service, AwsError> {
    let service = named_service(ctx, cluster).await?;
    if service.status() != ServiceStatus::Active {
        return Err(AwsError::new("ServiceNotActiveException", 400, "Service was not ACTIVE."));
    }
    if !is_external(&service) {
        return Err(not_external());
    }
    Ok(service)
}

fn task_sets(service: &Service) -> &[Json] {
    service.body.get("taskSets").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default()
}

fn task_sets_mut(service: &mut Service) -> Option<&mut Vec<Json>> {
    let sets = service.body.as_object_mut()?.entry("taskSets").or_insert_with(|| json!([]));
    if !sets.is_array() {
        *sets = json!([]);
    }
    sets.as_array_mut()
}

fn id_of(set: &Json) -> &str {
    set.get("id").and_then(Json::as_str).unwrap_or_default()
}

/// The set `named` (id or ARN) of the service, by position.
fn position(service: &Service, named: &str) -> Option<usize> {
    task_sets(service).iter().position(|set| names(set, named))
}

/// Whether `named` (a task set's id or ARN) names `set`.
fn names(set: &Json, named: &str) -> bool {
    id_of(set) == named || set.get("taskSetArn").and_then(Json::as_str) == Some(named)
}

/// `scale` of a request: a percentage from 0 to 100 (ECS's only unit).
fn scale(body: &Json) -> Result<Json, AwsError> {
    let Some(scale) = body.get("scale") else { return Ok(json!({"value": 100.0, "unit": "PERCENT"})) };
    let value = scale.get("value").and_then(Json::as_f64).unwrap_or(0.0);
    if !(0.0..=100.0).contains(&value) {
        return Err(invalid_parameter("The scale value must be between 0 and 100."));
    }
    if scale.get("unit").and_then(Json::as_str).is_some_and(|unit| unit != "PERCENT") {
        return Err(invalid_parameter("The scale unit must be PERCENT."));
    }
    Ok(json!({"value": value, "unit": "PERCENT"}))
}

/// The tasks a set of `scale` percent keeps of a service's `desired` count: rounded up.
fn computed(desired: i64, scale: &Json) -> i64 {
    let value = scale.get("value").and_then(Json::as_f64).unwrap_or(0.0);
    #[expect(clippy::cast_possible_truncation, reason = "a percentage of an i32-sized count")]
    let count = (value * desired as f64 / 100.0).ceil() as i64;
    count.max(0)
}

/// Recomputes every set's `computedDesiredCount` from the service's desired count.
pub(crate) fn recompute(service: &mut Service) {
    let desired = service.body.get("desiredCount").and_then(Json::as_i64).unwrap_or(0);
    for set in task_sets_mut(service).into_iter().flatten() {
        let wanted = if set.get("status").and_then(Json::as_str) == Some("DRAINING") {
            0
        } else {
            computed(desired, set.get("scale").unwrap_or(&Json::Null))
        };
        put(set, "computedDesiredCount", wanted);
    }
}

async fn create_task_set(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    unsupported::check_launch(ctx.operation.name, ctx.body)?;
    if ctx.body.get("networkConfiguration").is_some() {
        return Err(invalid_parameter(
            "Network Configuration is not valid for the given networkMode of this task definition.",
        ));
    }
    let launched = launch(ctx, ctx.body).await?;
    let definition = launched.definition.get("taskDefinitionArn").cloned().unwrap_or(Json::Null);
    let scale = scale(ctx.body)?;
    let tags = ecs::tags_from_body(ctx.body)?;
    let lock = crate::ecs::channel::channels(ctx.app)?.placement_lock(&cluster.arn);
    let placing = lock.lock().await;
    let mut service = external_service(ctx, &cluster).await?;
    let id = services::deployment_id()?;
    let arn = task_set_arn(&service.arn, &id);
    ecs::authorize_tags(ctx, &arn, &tags).await?;
    let now = ids::now();
    let status = if task_sets(&service).iter().any(|s| s.get("status").and_then(Json::as_str) == Some("PRIMARY")) {
        "ACTIVE"
    } else {
        "PRIMARY"
    };
    let set = json!({
        "id": id,
        "taskSetArn": arn,
        "serviceArn": service.arn,
        "clusterArn": cluster.arn,
        "externalId": ctx.body.get("externalId").cloned().unwrap_or(Json::Null),
        "status": status,
        "taskDefinition": definition,
        "computedDesiredCount": 0,
        "pendingCount": 0,
        "runningCount": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": "EXTERNAL",
        "loadBalancers": [],
        "serviceRegistries": [],
        "scale": scale,
        "stabilityStatus": "STABILIZING",
        "stabilityStatusAt": now,
        "tags": tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
    });
    let set = strip_nulls(set);
    task_sets_mut(&mut service).ok_or_else(not_found)?.push(set);
    if status == "PRIMARY" {
        put(&mut service.body, "taskDefinition", definition);
    }
    recompute(&mut service);
    service_model::save(&ctx.app.store, &service).await?;
    drop(placing);
    services::reconcile(ctx.app, &cluster, service.clone()).await?;
    answer_set(ctx, &cluster, &id).await
}

/// ECS leaves members without a value out.
fn strip_nulls(mut value: Json) -> Json {
    if let Some(object) = value.as_object_mut() {
        object.retain(|_, v| !v.is_null());
    }
    value
}

/// `{"taskSet": ...}` for the set `id` as it is now, with its counts.
async fn answer_set(ctx: &Ctx<'_>, cluster: &Cluster, id: &str) -> Result<Json, AwsError> {
    let service = named_service(ctx, cluster).await?;
    let counted = counted_sets(ctx.app, &service).await?;
    let set = counted.into_iter().find(|s| id_of(s) == id).ok_or_else(not_found)?;
    Ok(json!({"taskSet": without_tags(set)}))
}

/// A set as answered without `include: ["TAGS"]`.
pub(crate) fn without_tags(mut set: Json) -> Json {
    if let Some(object) = set.as_object_mut() {
        object.remove("tags");
    }
    set
}

/// The service's task sets with their running and pending counts.
pub(crate) async fn counted_sets(app: &App, service: &Service) -> Result<Vec<Json>, AwsError> {
    let tasks = services::service_tasks(app, service).await?;
    let mut sets = task_sets(service).to_vec();
    for set in &mut sets {
        let id = id_of(set).to_owned();
        let own = tasks.iter().filter(|t| services::deployment_of(t) == id);
        let running = own.clone().filter(|t| t.last_status == super::model::task::TaskStatus::Running).count();
        let pending = own.count() - running;
        put(set, "runningCount", running);
        put(set, "pendingCount", pending);
    }
    Ok(sets)
}

async fn describe_task_sets(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let service = named_service(ctx, &cluster).await?;
    if !is_external(&service) {
        return Err(not_external());
    }
    let include_tags = ecs::includes(ctx.body, "TAGS");
    let named: Option<Vec<&str>> =
        ctx.body.get("taskSets").and_then(Json::as_array).map(|s| s.iter().filter_map(Json::as_str).collect());
    let counted = counted_sets(ctx.app, &service).await?;
    let keep = |set: &Json| if include_tags { set.clone() } else { without_tags(set.clone()) };
    let Some(named) = named.filter(|n| !n.is_empty()) else {
        return Ok(json!({"taskSets": counted.iter().map(keep).collect::<Vec<_>>(), "failures": []}));
    };
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for name in named {
        match counted.iter().find(|set| names(set, name)) {
            Some(set) => found.push(keep(set)),
            None => failures.push(json!({"arn": name, "reason": "MISSING"})),
        }
    }
    Ok(json!({"taskSets": found, "failures": failures}))
}

/// Runs `change` on the named set of the named service under the placement lock, saves,
/// runs the scheduler's pass, and answers the set.
async fn change_set(
    ctx: &Ctx<'_>,
    member: &str,
    change: impl FnOnce(&mut Service, usize) -> Result<(), AwsError>,
) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let named = ecs::required(ctx.body, member)?;
    let lock = crate::ecs::channel::channels(ctx.app)?.placement_lock(&cluster.arn);
    let placing = lock.lock().await;
    let mut service = external_service(ctx, &cluster).await?;
    let index = position(&service, named).ok_or_else(not_found)?;
    let id = task_sets(&service).get(index).map(|s| id_of(s).to_owned()).unwrap_or_default();
    change(&mut service, index)?;
    if let Some(set) = task_sets_mut(&mut service).and_then(|sets| sets.get_mut(index)) {
        put(set, "updatedAt", ids::now());
    }
    recompute(&mut service);
    let changed = task_sets(&service).get(index).cloned().ok_or_else(not_found)?;
    service_model::save(&ctx.app.store, &service).await?;
    drop(placing);
    services::reconcile(ctx.app, &cluster, service.clone()).await?;
    match answer_set(ctx, &cluster, &id).await {
        // A deleted set without tasks is gone after the pass: it is answered as it was left.
        Err(error) if error.code == "TaskSetNotFoundException" => Ok(json!({"taskSet": without_tags(changed)})),
        answer => answer,
    }
}

async fn update_task_set(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    // Required: the generated validation refused a request without it.
    let scale = scale(ctx.body)?;
    change_set(ctx, "taskSet", |service, index| {
        if let Some(set) = task_sets_mut(service).and_then(|sets| sets.get_mut(index)) {
            put(set, "scale", scale);
            put(set, "stabilityStatus", "STABILIZING");
        }
        Ok(())
    })
    .await
}

async fn delete_task_set(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let force = ctx.body.get("force").and_then(Json::as_bool).unwrap_or(false);
    change_set(ctx, "taskSet", |service, index| {
        let set = task_sets_mut(service).and_then(|sets| sets.get_mut(index)).ok_or_else(not_found)?;
        let scaled = set.pointer("/scale/value").and_then(Json::as_f64).unwrap_or(0.0) > 0.0;
        if scaled && !force {
            return Err(invalid_parameter(
                "The task set cannot be deleted while it is scaled above 0; scale it to 0 or use force.",
            ));
        }
        if set.get("status").and_then(Json::as_str) == Some("PRIMARY") && !force {
            return Err(invalid_parameter("The primary task set cannot be deleted; make another one primary first."));
        }
        put(set, "status", "DRAINING");
        Ok(())
    })
    .await
}

async fn update_primary(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    change_set(ctx, "primaryTaskSet", |service, index| {
        if task_sets(service).get(index).and_then(|s| s.get("status")).and_then(Json::as_str) == Some("DRAINING") {
            return Err(invalid_parameter("A task set that is being deleted cannot become the primary one."));
        }
        let mut definition = Json::Null;
        for (at, set) in task_sets_mut(service).into_iter().flatten().enumerate() {
            if at == index {
                put(set, "status", "PRIMARY");
                definition = set.get("taskDefinition").cloned().unwrap_or(Json::Null);
            } else if set.get("status").and_then(Json::as_str) == Some("PRIMARY") {
                put(set, "status", "ACTIVE");
            }
        }
        put(&mut service.body, "taskDefinition", definition);
        Ok(())
    })
    .await
}

/// One scheduler pass over an `EXTERNAL` service (the caller holds the placement lock and
/// has read the service): each set planned as a one-deployment service of its computed
/// count, with its own launch; sets left `DRAINING` without tasks removed.
pub(crate) async fn reconcile(app: &App, cluster: &Cluster, mut service: Service) -> Result<(), AwsError> {
    let parts = services::observe(app, cluster, &service, true).await?;
    if service.status() != ServiceStatus::Active {
        // Being deleted: every task stops, as for any service.
        let observed = services::observed_service(&service, Err(String::new()));
        let actions = plan::plan(&observed, &parts.tasks, &parts.instances(), parts.now);
        return services::apply(app, cluster, &mut service, Err(&String::new()), actions, parts.now).await;
    }
    let mut changed = false;
    for set in task_sets(&service).to_vec() {
        let id = id_of(&set).to_owned();
        let definition = set.get("taskDefinition").cloned().unwrap_or(Json::Null);
        let launch = services::service_launch(app, &service, &definition, &id).await;
        let template = launch.as_ref().map(|(_, t)| t.clone()).map_err(Clone::clone);
        let mut observed = services::observed_service(&service, template);
        let stable = set.get("stabilityStatus").and_then(Json::as_str) == Some("STEADY_STATE");
        let rollout = if stable { RolloutState::Completed } else { RolloutState::InProgress };
        observed.deployments = vec![plan::Deployment { id: id.clone(), rollout: Some(rollout), failed_tasks: 0 }];
        observed.desired_count = set.get("computedDesiredCount").and_then(Json::as_i64).unwrap_or(0);
        observed.strategy = plan::SchedulingStrategy::Replica;
        observed.circuit_breaker = plan::CircuitBreaker::default();
        let own: Vec<plan::Task> = parts.tasks.iter().filter(|t| t.deployment == id).cloned().collect();
        let draining = set.get("status").and_then(Json::as_str) == Some("DRAINING");
        if draining && own.iter().all(|t| t.desired != plan::TaskStatus::Running) {
            if let Some(sets) = task_sets_mut(&mut service) {
                sets.retain(|s| id_of(s) != id);
            }
            changed = true;
            continue;
        }
        // A set has no circuit breaker: its failure count is not kept.
        let mut actions = plan::plan(&observed, &own, &parts.instances(), parts.now);
        actions.retain(|action| !matches!(action, Action::FailedTasks(_)));
        for action in &actions {
            if let Action::Rollout(state) = action
                && let Some(index) = position(&service, &id)
                && let Some(set) = task_sets_mut(&mut service).and_then(|sets| sets.get_mut(index))
            {
                let word = if *state == RolloutState::Completed { "STEADY_STATE" } else { "STABILIZING" };
                put(set, "stabilityStatus", word);
                put(set, "stabilityStatusAt", parts.now);
                changed = true;
            }
        }
        let launch = launch.as_ref().map(|(launch, _)| launch);
        services::apply(app, cluster, &mut service, launch, actions, parts.now).await?;
    }
    if changed {
        service_model::save(&app.store, &service).await?;
    }
    Ok(())
}
