//! ECS services: Create/Update/Delete/Describe/ListServices, and the service scheduler that
//! keeps each one's tasks running (`reconcile`, run every second by the server).
//!
//! The scheduler's rules, as ECS's: a `REPLICA` service keeps `desiredCount` tasks of its
//! primary deployment running; a new deployment (a new task definition, or
//! `forceNewDeployment`) starts tasks up to `maximumPercent` of the desired count and stops old
//! ones while at least `minimumHealthyPercent` stay healthy (running, and passing their
//! container health checks if they have any); tasks on `DRAINING` instances are replaced the
//! same way; tasks on instances whose agent has been gone longer than the disconnect timeout
//! are stopped and replaced; a `DAEMON` service runs one task on every `ACTIVE` instance that
//! meets its constraints; the deployment circuit breaker fails a deployment whose tasks keep
//! failing, and rolls back to the last completed one if asked. Every change is written to the
//! store before it is acted on, so a restart of the control plane resumes where it was. The
//! decisions are `service_plan::plan`'s (pure, with the rules in full); `reconcile_service`
//! observes and applies.

use std::collections::HashMap;

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::clusters::{Cluster, active_cluster, find_cluster};
use super::model::container_instance::{ContainerInstance, Reserved};
use super::model::container_instance::{Groups, Which, instances_where};
use super::model::service::{self as service_model, Service, ServiceStatus};
use super::model::task::{self as task_model, Launch, TaskRow, TaskStatus, create_tasks, stop};
use super::scheduler;
use super::service_deployments;
use super::service_plan::{self as plan, Action, Event, StopReason};
use super::tagging::{self, Propagate, TaskTagging};
use super::task_sets;
use super::tasks::{launch, launch_from};
use super::unsupported;
use crate::app::App;
use crate::ecs::{self, cluster_arn, invalid_parameter, put};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, json as json_op};
use crate::regions::Scope;

/// Events a service keeps.
const MAX_EVENTS: usize = 100;

/// Where a service's document keeps the latest deployment that completed (`id`,
/// `taskDefinition`), which a failed deployment rolls back to; never shown to clients.
pub(crate) const LAST_COMPLETED: &str = "homeport:lastCompletedDeployment";

operation!(
    ecs,
    CREATE_SERVICE,
    "CreateService",
    Write,
    |ctx| Box::pin(async move { service_resource(ctx, "serviceName") }),
    |ctx| { json_op(create_service(ctx)) }
);
operation!(
    ecs,
    UPDATE_SERVICE,
    "UpdateService",
    Write,
    |ctx| Box::pin(async move { service_resource(ctx, "service") }),
    |ctx| { json_op(update_service(ctx)) }
);
operation!(
    ecs,
    DELETE_SERVICE,
    "DeleteService",
    Write,
    |ctx| Box::pin(async move { service_resource(ctx, "service") }),
    |ctx| { json_op(delete_service(ctx)) }
);
operation!(
    ecs,
    DESCRIBE_SERVICES,
    "DescribeServices",
    Read,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| { json_op(describe_services(ctx)) }
);
operation!(
    ecs,
    LIST_SERVICES,
    "ListServices",
    Read,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| { json_op(list_services(ctx)) }
);

fn service_arn(scope: Scope<'_>, cluster: &str, reference: &str) -> String {
    if reference.starts_with("arn:") {
        return reference.to_owned();
    }
    let cluster_name = cluster.rsplit('/').next().unwrap_or_default();
    ecs::arn(scope, "service", &format!("{cluster_name}/{reference}"))
}

pub(crate) fn service_resource(ctx: &Ctx<'_>, member: &str) -> Result<Vec<String>, AwsError> {
    let cluster = cluster_arn(ctx.scope(), ctx.body);
    Ok(vec![service_arn(ctx.scope(), &cluster, ecs::required(ctx.body, member)?)])
}

fn not_found() -> AwsError {
    AwsError::new("ServiceNotFoundException", 400, "Service not found.")
}

/// The service's tasks that are meant to run (by deployment id in `startedBy`).
pub(crate) async fn service_tasks(app: &App, service: &Service) -> Result<Vec<TaskRow>, AwsError> {
    task_model::of_service(&app.store, &service.cluster_arn, &service.name).await
}

pub(crate) fn deployment_of(task: &TaskRow) -> &str {
    task.body.get("startedBy").and_then(Json::as_str).unwrap_or_default()
}

/// ECS's `Service` shape with its running and pending counts.
async fn describe(app: &App, service: &Service, include_tags: bool) -> Result<Json, AwsError> {
    let tasks = service_tasks(app, service).await?;
    let running = |deployment: Option<&str>| {
        tasks
            .iter()
            .filter(|t| t.last_status == TaskStatus::Running && deployment.is_none_or(|d| deployment_of(t) == d))
            .count()
    };
    let pending = |deployment: Option<&str>| {
        tasks
            .iter()
            .filter(|t| t.last_status != TaskStatus::Running && deployment.is_none_or(|d| deployment_of(t) == d))
            .count()
    };
    let mut described = service.body.clone();
    // Homeport's own members (the last completed deployment, the service deployment records).
    if let Some(document) = described.as_object_mut() {
        document.retain(|member, _| !member.starts_with("homeport:"));
    }
    put(&mut described, "runningCount", running(None));
    put(&mut described, "pendingCount", pending(None));
    if let Some(deployments) = described.get_mut("deployments").and_then(Json::as_array_mut) {
        for deployment in deployments {
            let id = deployment.get("id").and_then(Json::as_str).unwrap_or_default().to_owned();
            put(deployment, "runningCount", running(Some(&id)));
            put(deployment, "pendingCount", pending(Some(&id)));
        }
    }
    service_deployments::describe_current(service, &mut described);
    if task_sets::is_external(service) {
        let sets = task_sets::counted_sets(app, service).await?;
        put(&mut described, "taskSets", sets.into_iter().map(task_sets::without_tags).collect::<Vec<_>>());
    }
    if include_tags {
        put(&mut described, "tags", ecs::load_tags(&app.store, &app.account_id, &service.arn).await?);
    }
    Ok(described)
}

fn deployment(id: &str, task_definition: &str, desired: i64, now: i64) -> Json {
    json!({
        "id": id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": desired,
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": "EXTERNAL",
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": "ECS deployment in progress.",
    })
}

pub(crate) fn deployment_id() -> Result<String, AwsError> {
    let digits: String = ids::uuid().map_err(internal)?.chars().filter(char::is_ascii_digit).take(16).collect();
    Ok(format!("ecs-svc/{digits:0>16}"))
}

/// The service's `deploymentConfiguration`: the request's members over the current ones, over
/// ECS's defaults (a rolling update of 100% to 200%; a daemon's 0% to 100%, its maximum fixed,
/// since one instance runs one of its tasks). What Homeport cannot honour was refused by
/// `unsupported::check_launch`.
fn deployment_configuration(value: Option<&Json>, current: Option<&Json>, daemon: bool) -> Result<Json, AwsError> {
    let member = |name: &str| value.and_then(|v| v.get(name)).or_else(|| current.and_then(|c| c.get(name)));
    let percent = |name: &str, default: i64| member(name).and_then(Json::as_i64).unwrap_or(default);
    let (maximum, minimum) = if daemon {
        (percent("maximumPercent", 100), percent("minimumHealthyPercent", 0))
    } else {
        (percent("maximumPercent", 200), percent("minimumHealthyPercent", 100))
    };
    if daemon && maximum != 100 {
        return Err(invalid_parameter("The maximumPercent of a DAEMON service must be 100."));
    }
    if !(100..=200).contains(&maximum) && maximum != 0 || !(0..=100).contains(&minimum) || maximum < minimum {
        return Err(invalid_parameter("maximumPercent must be 100-200 and minimumHealthyPercent 0-100, not above it."));
    }
    let breaker = member("deploymentCircuitBreaker");
    let flag = |name: &str| breaker.and_then(|b| b.get(name)).and_then(Json::as_bool).unwrap_or(false);
    Ok(json!({
        "deploymentCircuitBreaker": {"enable": flag("enable"), "rollback": flag("rollback")},
        "maximumPercent": maximum,
        "minimumHealthyPercent": minimum,
        "strategy": "ROLLING",
    }))
}

/// A daemon runs on every instance: placement strategies do not apply to it.
fn check_daemon_placement(daemon: bool, body: &Json) -> Result<(), AwsError> {
    if daemon && body.get("placementStrategy").and_then(Json::as_array).is_some_and(|s| !s.is_empty()) {
        return Err(invalid_parameter("Placement strategies are not supported with the DAEMON scheduling strategy."));
    }
    Ok(())
}

/// `healthCheckGracePeriodSeconds`, validated (`None` when absent).
fn grace_period(body: &Json) -> Result<Option<i64>, AwsError> {
    match body.get("healthCheckGracePeriodSeconds") {
        None | Some(Json::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .filter(|seconds| (0..=i64::from(i32::MAX)).contains(seconds))
            .map(Some)
            .ok_or_else(|| invalid_parameter("healthCheckGracePeriodSeconds must be between 0 and 2147483647.")),
    }
}

async fn create_service(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    unsupported::check_launch(ctx.operation.name, ctx.body)?;
    let name = ecs::required(ctx.body, "serviceName")?;
    if name.len() > 255 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(invalid_parameter("Service names can have up to 255 letters, numbers, hyphens and underscores."));
    }
    if ctx.body.get("networkConfiguration").is_some() {
        return Err(invalid_parameter(
            "Network Configuration is not valid for the given networkMode of this task definition.",
        ));
    }
    let strategy = ctx.body.get("schedulingStrategy").and_then(Json::as_str).unwrap_or("REPLICA");
    // `ECS` (the rolling update) or `EXTERNAL` (task sets); `check_launch` refused the rest.
    let controller = ctx.body.pointer("/deploymentController/type").and_then(Json::as_str).unwrap_or("ECS");
    let external = controller == "EXTERNAL";
    let desired = match (strategy, ctx.body.get("desiredCount").and_then(Json::as_i64)) {
        ("REPLICA", Some(desired)) if desired >= 0 => desired,
        ("REPLICA", None) if external => 0,
        ("REPLICA", _) => return Err(invalid_parameter("desiredCount is required for REPLICA services.")),
        ("DAEMON", _) => 0,
        _ => return Err(invalid_parameter("schedulingStrategy must be REPLICA or DAEMON.")),
    };
    let daemon = strategy == "DAEMON";
    check_daemon_placement(daemon, ctx.body)?;
    if daemon && external {
        return Err(invalid_parameter(
            "The DAEMON scheduling strategy is not supported with the EXTERNAL deployment controller.",
        ));
    }
    if external && ctx.body.get("taskDefinition").is_some() {
        return Err(invalid_parameter(
            "A service using the EXTERNAL deployment controller takes its task definition from its task sets.",
        ));
    }
    scheduler::constraints(ctx.body.get("placementConstraints"))?;
    scheduler::strategies(ctx.body.get("placementStrategy"))?;
    // Validates the task definition, the overrides-free launch and the roles it passes (an
    // EXTERNAL service's task sets each have theirs).
    let definition = if external { None } else { Some(launch(ctx, ctx.body).await?.definition) };
    let task_definition = definition
        .as_ref()
        .and_then(|d| d.get("taskDefinitionArn"))
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned();
    let tags = ecs::tags_from_body(ctx.body)?;
    let propagate = propagate_tags_word(ctx.body)?.unwrap_or("NONE");
    let managed = tagging::managed(ctx.body)?;
    let arn = service_arn(ctx.scope(), &cluster.arn, name);
    ecs::authorize_tags(ctx, &arn, &tags).await?;
    let now = ids::now();
    let configuration = deployment_configuration(ctx.body.get("deploymentConfiguration"), None, daemon)?;
    let grace = grace_period(ctx.body)?.unwrap_or(0);
    let rebalancing = ctx.body.get("availabilityZoneRebalancing").and_then(Json::as_str).unwrap_or("DISABLED");
    let first = deployment_id()?;
    let mut body = json!({
        "serviceArn": arn,
        "serviceName": name,
        "clusterArn": cluster.arn,
        "loadBalancers": [],
        "serviceRegistries": [],
        "status": ServiceStatus::Active.as_str(),
        "desiredCount": desired,
        "runningCount": 0,
        "pendingCount": 0,
        "launchType": "EXTERNAL",
        "taskDefinition": task_definition,
        "deploymentConfiguration": configuration,
        "deployments": if external { json!([]) } else { json!([deployment(&first, &task_definition, desired, now)]) },
        "events": [],
        "createdAt": now,
        "placementConstraints": ctx.body.get("placementConstraints").cloned().unwrap_or(json!([])),
        "placementStrategy": ctx.body.get("placementStrategy").cloned().unwrap_or(json!([])),
        "schedulingStrategy": strategy,
        "createdBy": ctx.identity.arn(),
        "enableECSManagedTags": managed,
        "propagateTags": propagate,
        "enableExecuteCommand": false,
        "healthCheckGracePeriodSeconds": grace,
        "availabilityZoneRebalancing": rebalancing,
        "deploymentController": {"type": controller},
    });
    if external && let Some(document) = body.as_object_mut() {
        document.remove("taskDefinition");
        document.insert("taskSets".to_owned(), json!([]));
    }
    let existing = service_model::find(&ctx.app.store, &arn).await?;
    if existing.as_ref().is_some_and(|service| service.status() != ServiceStatus::Inactive) {
        return Err(invalid_parameter("Creation of service was not idempotent."));
    }
    let mut service = Service { arn, cluster_arn: cluster.arn.clone(), name: name.to_owned(), body };
    let records = if external {
        Vec::new()
    } else {
        service_deployments::begin(ctx.app, &mut service, &first, definition.as_ref(), now).await?
    };
    service_model::create(&ctx.app.store, ctx.account(), &service, &tags, now, existing.is_some(), records).await?;
    reconcile(ctx.app, &cluster, service.clone()).await?;
    let service = service_model::find(&ctx.app.store, &service.arn).await?.ok_or_else(not_found)?;
    Ok(json!({"service": describe(ctx.app, &service, true).await?}))
}

pub(crate) async fn named_service(ctx: &Ctx<'_>, cluster: &Cluster) -> Result<Service, AwsError> {
    let arn = service_arn(ctx.scope(), &cluster.arn, ecs::required(ctx.body, "service")?);
    service_model::find_in_account(&ctx.app.store, ctx.account(), &arn).await?.ok_or_else(not_found)
}

async fn update_service(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    unsupported::check_launch(ctx.operation.name, ctx.body)?;
    if ctx.body.get("networkConfiguration").is_some() {
        return Err(invalid_parameter(
            "Network Configuration is not valid for the given networkMode of this task definition.",
        ));
    }
    // Read, change and save under the cluster's placement lock, which the scheduler's pass
    // holds while it reads and saves the service: neither overwrites the other's change.
    let lock = crate::ecs::channel::channels(ctx.app)?.placement_lock(&cluster.arn);
    let placing = lock.lock().await;
    let mut service = named_service(ctx, &cluster).await?;
    if service.status() != ServiceStatus::Active {
        return Err(AwsError::new("ServiceNotActiveException", 400, "Service was not ACTIVE."));
    }
    let now = ids::now();
    if let Some(desired) = ctx.body.get("desiredCount") {
        let desired =
            desired.as_i64().filter(|n| *n >= 0).ok_or_else(|| invalid_parameter("desiredCount must be >= 0."))?;
        put(&mut service.body, "desiredCount", desired);
    }
    let daemon = service.body.get("schedulingStrategy").and_then(Json::as_str) == Some("DAEMON");
    if let Some(configuration) = ctx.body.get("deploymentConfiguration") {
        let merged =
            deployment_configuration(Some(configuration), service.body.get("deploymentConfiguration"), daemon)?;
        put(&mut service.body, "deploymentConfiguration", merged);
    }
    if let Some(grace) = grace_period(ctx.body)? {
        put(&mut service.body, "healthCheckGracePeriodSeconds", grace);
    }
    if let Some(rebalancing) = ctx.body.get("availabilityZoneRebalancing").and_then(Json::as_str) {
        put(&mut service.body, "availabilityZoneRebalancing", rebalancing);
    }
    check_daemon_placement(daemon, ctx.body)?;
    for member in ["placementConstraints", "placementStrategy"] {
        if let Some(value) = ctx.body.get(member) {
            put(&mut service.body, member, value.clone());
        }
    }
    // How the tasks launched from now on are tagged.
    if let Some(propagate) = propagate_tags_word(ctx.body)? {
        put(&mut service.body, "propagateTags", propagate);
    }
    if ctx.body.get("enableECSManagedTags").is_some() {
        put(&mut service.body, "enableECSManagedTags", tagging::managed(ctx.body)?);
    }
    let force = ctx.body.get("forceNewDeployment").and_then(Json::as_bool).unwrap_or(false);
    if task_sets::is_external(&service) {
        // Its task sets carry what a deployment changes; UpdateService scales them.
        if ctx.body.get("taskDefinition").is_some() || force {
            return Err(invalid_parameter(
                "A service using the EXTERNAL deployment controller is deployed with task sets: create one.",
            ));
        }
        task_sets::recompute(&mut service);
        service_model::save(&ctx.app.store, &service).await?;
        drop(placing);
        reconcile(ctx.app, &cluster, service.clone()).await?;
        let service = named_service(ctx, &cluster).await?;
        return Ok(json!({"service": describe(ctx.app, &service, false).await?}));
    }
    let current = service.body.get("taskDefinition").and_then(Json::as_str).unwrap_or_default().to_owned();
    let launched = match ctx.body.get("taskDefinition").and_then(Json::as_str) {
        Some(_) => Some(launch(ctx, ctx.body).await?.definition),
        None => None,
    };
    let new_definition =
        launched.as_ref().and_then(|d| d.get("taskDefinitionArn")).and_then(Json::as_str).map(str::to_owned);
    let desired = service.body.get("desiredCount").and_then(Json::as_i64).unwrap_or(0);
    let mut records = Vec::new();
    if force || new_definition.as_ref().is_some_and(|d| *d != current) {
        let launched = launched.filter(|_| new_definition.is_some());
        let definition = new_definition.unwrap_or(current);
        put(&mut service.body, "taskDefinition", definition.as_str());
        let mut deployments: Vec<Json> =
            service.body.get("deployments").and_then(Json::as_array).cloned().unwrap_or_default();
        for old in &mut deployments {
            put(old, "status", "ACTIVE");
        }
        let id = deployment_id()?;
        deployments.insert(0, deployment(&id, &definition, desired, now));
        put(&mut service.body, "deployments", deployments);
        records = service_deployments::begin(ctx.app, &mut service, &id, launched.as_ref(), now).await?;
    } else if let Some(primary) =
        service.body.get_mut("deployments").and_then(Json::as_array_mut).and_then(|d| d.first_mut())
    {
        put(primary, "desiredCount", desired);
        put(primary, "updatedAt", now);
    }
    service_model::save_with(&ctx.app.store, &service, records).await?;
    drop(placing);
    reconcile(ctx.app, &cluster, service.clone()).await?;
    let service = named_service(ctx, &cluster).await?;
    Ok(json!({"service": describe(ctx.app, &service, false).await?}))
}

async fn delete_service(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    // Under the placement lock, as UpdateService.
    let lock = crate::ecs::channel::channels(ctx.app)?.placement_lock(&cluster.arn);
    let placing = lock.lock().await;
    let mut service = named_service(ctx, &cluster).await?;
    let force = ctx.body.get("force").and_then(Json::as_bool).unwrap_or(false);
    let replica = service.body.get("schedulingStrategy").and_then(Json::as_str) != Some("DAEMON");
    if replica && service.body.get("desiredCount").and_then(Json::as_i64).unwrap_or(0) > 0 && !force {
        return Err(invalid_parameter("The service cannot be stopped while it is scaled above 0."));
    }
    if service.status() == ServiceStatus::Inactive {
        return Err(AwsError::new("ServiceNotActiveException", 400, "Service was not ACTIVE."));
    }
    put(&mut service.body, "desiredCount", 0);
    put(&mut service.body, "status", ServiceStatus::Draining.as_str());
    service_model::save(&ctx.app.store, &service).await?;
    drop(placing);
    reconcile(ctx.app, &cluster, service.clone()).await?;
    let service = named_service(ctx, &cluster).await?;
    Ok(json!({"service": describe(ctx.app, &service, false).await?}))
}

async fn describe_services(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let references: Vec<&str> = ctx
        .body
        .get("services")
        .and_then(Json::as_array)
        .map(|s| s.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    if references.is_empty() || references.len() > 10 {
        return Err(invalid_parameter("services must have between 1 and 10 items."));
    }
    let include_tags = ecs::includes(ctx.body, "TAGS");
    let mut services = Vec::new();
    let mut failures = Vec::new();
    for reference in references {
        let arn = service_arn(ctx.scope(), &cluster.arn, reference);
        match service_model::find(&ctx.app.store, &arn).await? {
            Some(service) => services.push(describe(ctx.app, &service, include_tags).await?),
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    Ok(json!({"services": services, "failures": failures}))
}

async fn list_services(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let page = ecs::Page::from_body(ctx.body, 100, 10)?;
    // Both filters are the model's enums, refused outside them before this runs. Every
    // service Homeport runs is EXTERNAL: another launch type lists none.
    let strategy = ctx.body.get("schedulingStrategy").and_then(Json::as_str);
    let launch_type = ctx.body.get("launchType").and_then(Json::as_str);
    let services = service_model::of_cluster(&ctx.app.store, &cluster.arn).await?;
    let arns = services
        .into_iter()
        .filter(|s| launch_type.is_none_or(|wanted| s.body.get("launchType").and_then(Json::as_str) == Some(wanted)))
        .filter(|s| {
            strategy.is_none_or(|wanted| s.body.get("schedulingStrategy").and_then(Json::as_str) == Some(wanted))
        })
        .map(|s| Json::String(s.arn))
        .collect();
    Ok(page.answer("serviceArns", arns))
}

/// Adds an event (newest first), unless it repeats the latest one.
fn event(service: &mut Service, event: &Event) {
    let message = event.message(&service.name);
    let now = ids::now();
    let mut events: Vec<Json> = service.body.get("events").and_then(Json::as_array).cloned().unwrap_or_default();
    if events.first().and_then(|e| e.get("message")).and_then(Json::as_str) == Some(message.as_str()) {
        return;
    }
    let id = ids::uuid().unwrap_or_default();
    events.insert(0, json!({"id": id, "createdAt": now, "message": message}));
    events.truncate(MAX_EVENTS);
    put(&mut service.body, "events", events);
}

/// One pass of the service scheduler over every service, bringing each towards its desired
/// state. Errors of one service do not stop the others.
pub async fn reconcile_all(app: &App) -> Result<(), AwsError> {
    let services = service_model::all_live(&app.store).await?;
    for service in services {
        let scope = Scope { account: &app.account_id, region: ecs::region_of(&service.cluster_arn) };
        let Some(cluster) = find_cluster(app, scope, &json!({"cluster": service.cluster_arn})).await? else { continue };
        if let Err(error) = reconcile(app, &cluster, service).await {
            tracing::error!("service scheduler: {error}");
        }
    }
    Ok(())
}

/// Polls recorded before this are too old for their instance to count as connected: the
/// disconnect timeout beyond the longest a connected agent's last recorded poll can be old
/// (a poll is recorded at most every `POLL_RECORD_SECONDS`, and the next may then wait
/// `MAX_POLL_WAIT_SECONDS` for its answer).
fn lost_cutoff(app: &App, now: i64) -> i64 {
    let wait = i64::try_from(super::tasks::MAX_POLL_WAIT_SECONDS).unwrap_or(0);
    now - app.instance_disconnect_timeout - wait - super::tasks::POLL_RECORD_SECONDS
}

/// Brings one service towards its desired state (one step; the next pass continues):
/// observes the service, its tasks and its cluster's instances, plans (`service_plan`),
/// and carries the plan out.
pub(crate) async fn reconcile(app: &App, cluster: &Cluster, service: Service) -> Result<(), AwsError> {
    // Placements into a cluster are serialized (and so are passes over one service), so this
    // pass and RunTask never both spend the same free resources.
    let lock = crate::ecs::channel::channels(app)?.placement_lock(&cluster.arn);
    let _placing = lock.lock().await;
    // The service as it is now, not as the caller read it before waiting for the lock.
    let Some(mut service) = service_model::find(&app.store, &service.arn).await? else {
        return Ok(());
    };
    if task_sets::is_external(&service) {
        return task_sets::reconcile(app, cluster, service).await;
    }
    let primary = service.body.pointer("/deployments/0/id").and_then(Json::as_str).unwrap_or_default().to_owned();
    let definition = service.body.get("taskDefinition").cloned().unwrap_or(Json::Null);
    let launch = service_launch(app, &service, &definition, &primary).await;
    // Host ports matter only to placing a task that takes fixed ones.
    let ports = launch.as_ref().is_ok_and(|(_, template)| !template.demand.ports.is_empty());
    let observed = observe(app, cluster, &service, ports).await?;
    let planned =
        observed_service(&service, launch.as_ref().map(|(_, template)| template.clone()).map_err(Clone::clone));
    let actions = plan::plan(&planned, &observed.tasks, &observed.instances(), observed.now);
    let launch = launch.map(|(launch, _)| launch);
    apply(app, cluster, &mut service, launch.as_ref(), actions, observed.now).await
}

/// What one pass of the scheduler sees of a service: its tasks (and its primary
/// deployment's failure history) and its cluster's instances, at `now`.
pub(crate) struct Observed {
    pub tasks: Vec<plan::Task>,
    list: Vec<ContainerInstance>,
    reserved: HashMap<String, Reserved>,
    lost_before: i64,
    pub now: i64,
}

impl Observed {
    pub(crate) fn instances(&self) -> plan::Instances<'_> {
        plan::Instances { list: &self.list, reserved: &self.reserved, lost_before: self.lost_before }
    }
}

/// Observes `service` for a pass; `ports` reads the host ports instances' tasks hold.
pub(crate) async fn observe(
    app: &App,
    cluster: &Cluster,
    service: &Service,
    ports: bool,
) -> Result<Observed, AwsError> {
    let mut tasks = service_tasks(app, service).await?;
    tasks.extend(failure_history(app, service).await?);
    let group = format!("service:{}", service.name);
    let channels = crate::ecs::channel::channels(app)?;
    let (list, reserved) =
        instances_where(&app.store, &channels.specs, &cluster.arn, Which::All, Groups::Only(&group), ports).await?;
    let now = ids::now();
    let protected = super::model::task_protection::protected_in(&app.store, &cluster.arn, now).await?;
    let tasks = tasks.iter().map(|task| observed_task(task, &protected)).collect();
    Ok(Observed { tasks, list, reserved, lost_before: lost_cutoff(app, now), now })
}

/// The primary deployment's stopped tasks, newest first, while it rolls out: what its failure
/// count reads (at most as many as the highest circuit breaker threshold).
async fn failure_history(app: &App, service: &Service) -> Result<Vec<TaskRow>, AwsError> {
    let Some(primary) = service.body.get("deployments").and_then(Json::as_array).and_then(|d| d.first()) else {
        return Ok(Vec::new());
    };
    if plan::RolloutState::parse(primary.get("rolloutState").and_then(Json::as_str))
        != Some(plan::RolloutState::InProgress)
    {
        return Ok(Vec::new());
    }
    let id = primary.get("id").and_then(Json::as_str).unwrap_or_default();
    let since = primary.get("createdAt").and_then(Json::as_i64).unwrap_or(0);
    let limit = plan::failure_threshold(i64::MAX);
    task_model::stopped_of_deployment(&app.store, &service.cluster_arn, &service.name, id, since, limit).await
}

/// The service as the plan sees it.
pub(crate) fn observed_service(service: &Service, template: Result<plan::TaskTemplate, String>) -> plan::Service {
    let body = &service.body;
    let text = |member: &str| body.get(member).and_then(Json::as_str);
    let configuration = body.get("deploymentConfiguration");
    let percent = |member: &str, default: i64| {
        configuration.and_then(|c| c.get(member)).and_then(Json::as_i64).unwrap_or(default)
    };
    let deployments = body
        .get("deployments")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|d| plan::Deployment {
            id: d.get("id").and_then(Json::as_str).unwrap_or_default().to_owned(),
            rollout: plan::RolloutState::parse(d.get("rolloutState").and_then(Json::as_str)),
            failed_tasks: d.get("failedTasks").and_then(Json::as_i64).unwrap_or(0),
        })
        .collect();
    let breaker = configuration.and_then(|c| c.get("deploymentCircuitBreaker"));
    let flag = |member: &str| breaker.and_then(|b| b.get(member)).and_then(Json::as_bool).unwrap_or(false);
    let latest_event = body
        .get("events")
        .and_then(Json::as_array)
        .and_then(|events| events.first())
        .and_then(|e| e.get("message"))
        .and_then(Json::as_str)
        .map(str::to_owned);
    plan::Service {
        name: service.name.clone(),
        status: ServiceStatus::parse(text("status")),
        strategy: plan::SchedulingStrategy::parse(text("schedulingStrategy")),
        desired_count: body.get("desiredCount").and_then(Json::as_i64).unwrap_or(0),
        deployments,
        maximum_percent: percent("maximumPercent", 200),
        minimum_healthy_percent: percent("minimumHealthyPercent", 100),
        circuit_breaker: plan::CircuitBreaker { enable: flag("enable"), rollback: flag("rollback") },
        health_check_grace_period: body.get("healthCheckGracePeriodSeconds").and_then(Json::as_i64).unwrap_or(0),
        last_completed: body.get(LAST_COMPLETED).and_then(|d| d.get("id")).and_then(Json::as_str).map(str::to_owned),
        template,
        latest_event,
    }
}

/// A task as the plan sees it.
fn observed_task(task: &TaskRow, protected: &std::collections::HashSet<String>) -> plan::Task {
    let text = |member: &str| task.body.get(member).and_then(Json::as_str);
    let checks_health = task
        .payload
        .get("containers")
        .and_then(Json::as_array)
        .is_some_and(|containers| containers.iter().any(|c| c.get("healthCheck").is_some_and(|h| !h.is_null())));
    // Stopped on its own (never ran, or an essential container exited), or by the scheduler
    // for failing its health checks.
    let failed = task.last_status == TaskStatus::Stopped
        && match text("stopCode") {
            Some("TaskFailedToStart" | "EssentialContainerExited") => true,
            Some("ServiceSchedulerInitiated") => text("stoppedReason") == Some(StopReason::Unhealthy.text()),
            _ => false,
        };
    plan::Task {
        arn: task.arn.clone(),
        desired: task.desired_status.into(),
        last: task.last_status.into(),
        health: plan::Health::parse(text("healthStatus")),
        checks_health,
        instance: task.container_instance_arn.clone(),
        deployment: deployment_of(task).to_owned(),
        created_at: task.body.get("createdAt").and_then(Json::as_i64).unwrap_or(0),
        started_at: task.body.get("startedAt").and_then(Json::as_i64),
        stopped_at: task.body.get("stoppedAt").and_then(Json::as_i64),
        failed,
        protected: protected.contains(&task.arn),
    }
}

/// A CreateService's or UpdateService's `propagateTags`, validated (`None` when absent).
fn propagate_tags_word(body: &Json) -> Result<Option<&'static str>, AwsError> {
    if body.get("propagateTags").is_none_or(Json::is_null) {
        return Ok(None);
    }
    Ok(Some(match tagging::propagate(body, true)? {
        Propagate::None => "NONE",
        Propagate::TaskDefinition => "TASK_DEFINITION",
        Propagate::Service => "SERVICE",
    }))
}

/// How the service's new tasks (of its primary deployment) are launched and placed, or why
/// they cannot be, in the error's words.
pub(crate) async fn service_launch(
    app: &App,
    service: &Service,
    task_definition: &Json,
    started_by: &str,
) -> Result<(Launch, plan::TaskTemplate), String> {
    let body = json!({
        "taskDefinition": task_definition,
        "startedBy": started_by,
        "group": format!("service:{}", service.name),
    });
    let message = |error: AwsError| error.message;
    let scope = Scope { account: &app.account_id, region: ecs::region_of(&service.cluster_arn) };
    let mut launched: Launch = launch_from(app, scope, &body).await.map_err(message)?;
    launched.service_name = Some(service.name.clone());
    let tagging = TaskTagging {
        given: &[],
        propagate: tagging::propagate(&service.body, true).map_err(message)?,
        managed: tagging::managed(&service.body).map_err(message)?,
        cluster_arn: &service.cluster_arn,
        definition_arn: launched.definition.get("taskDefinitionArn").and_then(Json::as_str).unwrap_or_default(),
        service_arn: Some(&service.arn),
    };
    launched.tags = tagging::task_tags(&app.store, scope, &tagging).await.map_err(message)?;
    let mut constraints = scheduler::constraints(service.body.get("placementConstraints")).map_err(message)?;
    constraints.extend(scheduler::definition_constraints(&launched.definition).map_err(message)?);
    let strategies = scheduler::strategies(service.body.get("placementStrategy")).map_err(message)?;
    let template =
        plan::TaskTemplate { demand: launched.demand.clone(), group: launched.group.clone(), constraints, strategies };
    Ok((launched, template))
}

/// Carries out the plan's actions in order, then writes the service if they changed it.
pub(crate) async fn apply(
    app: &App,
    cluster: &Cluster,
    service: &mut Service,
    launch: Result<&Launch, &String>,
    actions: Vec<Action>,
    now: i64,
) -> Result<(), AwsError> {
    let mut changed = false;
    let mut progress = service_deployments::Progress::default();
    for action in actions {
        match action {
            Action::Stop { task, reason: StopReason::InstanceLost } => stop_lost(app, &task, now).await?,
            Action::Stop { task, reason } => {
                stop(app, &task, "ServiceSchedulerInitiated", reason.text()).await?;
            }
            Action::Start { deployment: _, instances } => {
                let started = match launch {
                    Ok(launch) => create_tasks(app, cluster, launch, &instances).await.map_err(|e| e.message),
                    Err(reason) => Err(reason.clone()),
                };
                match started {
                    Ok(tasks) => event(service, &Event::Started { tasks: tasks.into_iter().map(|t| t.arn).collect() }),
                    Err(reason) => event(service, &Event::UnableToPlace { reason }),
                }
                changed = true;
            }
            Action::Event(what) => {
                event(service, &what);
                changed = true;
            }
            Action::SetDesiredCount(desired) => {
                put(&mut service.body, "desiredCount", desired);
                changed = true;
            }
            Action::Deactivate => {
                put(&mut service.body, "status", ServiceStatus::Inactive.as_str());
                progress.deleted = true;
                changed = true;
            }
            Action::EndDeployments(ended) => {
                if let Some(deployments) = service.body.get_mut("deployments").and_then(Json::as_array_mut) {
                    deployments.retain(|d| {
                        let id = d.get("id").and_then(Json::as_str).unwrap_or_default();
                        !ended.iter().any(|e| e == id)
                    });
                }
                changed = true;
            }
            Action::Rollout(state) => {
                progress.rollout = Some(state);
                let mut completed = None;
                if let Some(primary) =
                    service.body.get_mut("deployments").and_then(Json::as_array_mut).and_then(|d| d.first_mut())
                {
                    put(primary, "rolloutState", state.as_str());
                    put(primary, "rolloutStateReason", state.reason());
                    put(primary, "updatedAt", now);
                    if state == plan::RolloutState::Completed {
                        let member = |name: &str| primary.get(name).cloned().unwrap_or(Json::Null);
                        completed = Some(json!({"id": member("id"), "taskDefinition": member("taskDefinition")}));
                    }
                }
                if let Some(completed) = completed {
                    put(&mut service.body, LAST_COMPLETED, completed);
                }
                changed = true;
            }
            Action::FailedTasks(failed) => {
                progress.failed_tasks = Some(failed);
                if let Some(primary) =
                    service.body.get_mut("deployments").and_then(Json::as_array_mut).and_then(|d| d.first_mut())
                {
                    put(primary, "failedTasks", failed);
                    put(primary, "updatedAt", now);
                }
                changed = true;
            }
            Action::RollBack { to } => {
                roll_back(service, &to, now);
                progress.rolled_back_to = Some(to);
                changed = true;
            }
        }
    }
    // The service deployment follows what the pass did (and leaves `PENDING` at the first).
    let records = service_deployments::advance(app, service, &progress, now).await?;
    if changed || !records.is_empty() { service_model::save_with(&app.store, service, records).await } else { Ok(()) }
}

/// Makes deployment `to` (the latest that completed) the primary again, `IN_PROGRESS`, with
/// its task definition; the failed primary stays as an `ACTIVE` deployment whose tasks the
/// next passes replace. A deployment that has ended is taken up again under its id.
pub(crate) fn roll_back(service: &mut Service, to: &str, now: i64) {
    let completed = service.body.get(LAST_COMPLETED).cloned().unwrap_or(Json::Null);
    let desired = service.body.get("desiredCount").and_then(Json::as_i64).unwrap_or(0);
    let Some(deployments) = service.body.get_mut("deployments").and_then(Json::as_array_mut) else { return };
    for deployment in deployments.iter_mut() {
        put(deployment, "status", "ACTIVE");
    }
    let position = deployments.iter().position(|d| d.get("id").and_then(Json::as_str) == Some(to));
    let mut target = match position {
        Some(index) => deployments.remove(index),
        None => {
            let definition = completed.get("taskDefinition").and_then(Json::as_str).unwrap_or_default();
            deployment(to, definition, desired, now)
        }
    };
    put(&mut target, "status", "PRIMARY");
    put(&mut target, "rolloutState", plan::RolloutState::InProgress.as_str());
    put(&mut target, "rolloutStateReason", plan::RolloutState::InProgress.reason());
    put(&mut target, "failedTasks", 0);
    put(&mut target, "updatedAt", now);
    let definition = target.get("taskDefinition").cloned().unwrap_or(Json::Null);
    deployments.insert(0, target);
    put(&mut service.body, "taskDefinition", definition);
}

/// Stops a task whose instance is lost: `STOPPED` at once, since no agent will report it.
async fn stop_lost(app: &App, arn: &str, now: i64) -> Result<(), AwsError> {
    task_model::update_task(app, arn, |task| {
        task.record_lost(StopReason::InstanceLost.text(), now);
        Ok(true)
    })
    .await?;
    Ok(())
}
