//! ECS service deployments and service revisions: ListServiceDeployments,
//! DescribeServiceDeployments, DescribeServiceRevisions, StopServiceDeployment and
//! ContinueServiceDeployment, and the records the scheduler keeps for them.
//!
//! Every CreateService, and every UpdateService that starts a deployment (a new task
//! definition, or `forceNewDeployment`), of a service run by the `ECS` controller records a
//! service revision (what the deployment deploys: its task definition, launch type, load
//! balancers, service registries and container images, the digest where the image names one)
//! and a service deployment (`begin`). The deployment's status follows the scheduler
//! (`advance`, called by `services::apply` with what the pass did): `PENDING` until the first
//! pass after it, then `IN_PROGRESS`; `SUCCESSFUL` when its rollout completes; with the
//! circuit breaker, `STOPPED` when it fails, or `ROLLBACK_IN_PROGRESS` when it rolls back and
//! `ROLLBACK_SUCCESSFUL` or `ROLLBACK_FAILED` as the deployment rolled back to completes or
//! fails. StopServiceDeployment's `ROLLBACK` rolls the service back as the circuit breaker
//! does (`ROLLBACK_REQUESTED`, then as above). A newer deployment stops the one before it if
//! it had not finished (`STOPPED`). The service's document keeps, in members no client sees,
//! its current service deployment and status (so a pass reads no record unless something
//! moves) and the revision of each of its deployments; a record and the service are written in
//! one transaction. A service deleted loses its records, as ECS deletes them.
//!
//! What is not recorded: services of the `EXTERNAL` controller (ECS keeps service deployments
//! for its own controller), and services created before migration 33, which have no revision
//! (ECS cannot describe revisions from before October 25, 2024): they list none, and their
//! ARNs are `MISSING`. Lifecycle hooks are refused at CreateService and UpdateService, so no
//! deployment is ever paused at one: ContinueServiceDeployment answers as for a deployment not
//! paused.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};
use store::Statement;

use super::clusters::{active_cluster, find_cluster};
use super::model::service::{self as service_model, Service};
use super::model::service_deployment::{self as model, DeploymentStatus, ServiceDeployment};
use super::model::task::TaskStatus;
use super::model::task_definition;
use super::service_plan::{self as plan, RolloutState};
use super::services::{self, LAST_COMPLETED, named_service, service_resource};
use crate::app::App;
use crate::ecs::{self, invalid_parameter, put};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, json as json_op};
use crate::regions::Scope;

/// Where a service's document keeps its current service deployment: `arn`, `status`,
/// `deployment` (the id of the service's deployment it deploys) and, while it rolls back,
/// `rollbackTo` (the id of the deployment it rolls back to).
pub(crate) const CURRENT: &str = "homeport:serviceDeployment";
/// Where a service's document keeps the revision ARN of each of its deployments, by id.
pub(crate) const REVISIONS: &str = "homeport:serviceRevisions";
/// The most ARNs DescribeServiceDeployments and DescribeServiceRevisions take.
const MAX_DESCRIBED: usize = 20;

operation!(
    ecs,
    LIST_SERVICE_DEPLOYMENTS,
    "ListServiceDeployments",
    Read,
    |ctx| Box::pin(async move { service_resource(ctx, "service") }),
    |ctx| { json_op(list_service_deployments(ctx)) }
);
operation!(
    ecs,
    DESCRIBE_SERVICE_DEPLOYMENTS,
    "DescribeServiceDeployments",
    Read,
    |ctx| Box::pin(async move { described_arns(ctx, "serviceDeploymentArns") }),
    |ctx| { json_op(describe_service_deployments(ctx)) }
);
operation!(
    ecs,
    DESCRIBE_SERVICE_REVISIONS,
    "DescribeServiceRevisions",
    Read,
    |ctx| Box::pin(async move { described_arns(ctx, "serviceRevisionArns") }),
    |ctx| { json_op(describe_service_revisions(ctx)) }
);
operation!(
    ecs,
    STOP_SERVICE_DEPLOYMENT,
    "StopServiceDeployment",
    Write,
    |ctx| Box::pin(async move { Ok(vec![ecs::required(ctx.body, "serviceDeploymentArn")?.to_owned()]) }),
    |ctx| { json_op(stop_service_deployment(ctx)) }
);
operation!(
    ecs,
    CONTINUE_SERVICE_DEPLOYMENT,
    "ContinueServiceDeployment",
    Write,
    |ctx| Box::pin(async move { Ok(vec![ecs::required(ctx.body, "serviceDeploymentArn")?.to_owned()]) }),
    |ctx| { json_op(continue_service_deployment(ctx)) }
);

/// The ARNs a Describe names (each is authorized as it is written, which is how it is
/// stored: records are found by exact ARN), at most `MAX_DESCRIBED`.
fn described_arns(ctx: &Ctx<'_>, member: &str) -> Result<Vec<String>, AwsError> {
    let arns = ecs::strings(ctx.body, member);
    if arns.is_empty() || arns.len() > MAX_DESCRIBED {
        return Err(invalid_parameter(format!("{member} must have between 1 and {MAX_DESCRIBED} items.")));
    }
    Ok(arns.into_iter().map(str::to_owned).collect())
}

fn not_found() -> AwsError {
    AwsError::new("ServiceDeploymentNotFoundException", 400, "Service deployment not found.")
}

/// `arn:...:KIND/CLUSTER/SERVICE/ID` for a service's `arn:...:service/CLUSTER/SERVICE`.
fn child_arn(service_arn: &str, kind: &str, id: &str) -> String {
    let (prefix, path) = service_arn.split_once(":service/").unwrap_or((service_arn, ""));
    format!("{prefix}:{kind}/{path}/{id}")
}

/// A service deployment's id (ECS's are 21 letters, digits, `-` and `_`) and a service
/// revision's (a decimal number below 2^63).
fn new_ids() -> Result<(String, String), AwsError> {
    let hex: String = ids::uuid().map_err(internal)?.chars().filter(char::is_ascii_hexdigit).collect();
    let more: String = ids::uuid().map_err(internal)?.chars().filter(char::is_ascii_hexdigit).collect();
    let deployment = ids::base32(hex.as_bytes()).chars().filter(char::is_ascii_alphanumeric).take(21).collect();
    let number = u64::from_str_radix(more.get(..16).unwrap_or("1"), 16).map_err(internal)? >> 1;
    Ok((deployment, number.to_string()))
}

fn text<'a>(value: &'a Json, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Json::as_str).unwrap_or_default()
}

/// The task definition document `arn` names (`family:revision`), if it is stored.
async fn load_definition(app: &App, service: &Service, arn: &str) -> Result<Option<Json>, AwsError> {
    let Some((family, revision)) = arn.rsplit('/').next().and_then(|name| name.rsplit_once(':')) else {
        return Ok(None);
    };
    let Ok(revision) = revision.parse::<i64>() else { return Ok(None) };
    let scope = Scope { account: &app.account_id, region: ecs::region_of(&service.cluster_arn) };
    Ok(task_definition::find_revision(&app.store, scope, family, revision).await?.map(|d| d.document))
}

/// `containerImages`: each container's image, and the digest where the image names one.
fn container_images(definition: Option<&Json>) -> Vec<Json> {
    let containers = definition.and_then(|d| d.get("containerDefinitions")).and_then(Json::as_array);
    containers
        .into_iter()
        .flatten()
        .map(|container| {
            let image = text(container, "/image");
            let mut entry = json!({"containerName": text(container, "/name"), "image": image});
            if let Some((_, digest)) = image.split_once('@') {
                put(&mut entry, "imageDigest", digest);
            }
            entry
        })
        .collect()
}

/// The running and pending tasks of each of the service's deployments.
async fn task_counts(app: &App, service: &Service) -> Result<Vec<(String, i64, i64)>, AwsError> {
    let tasks = services::service_tasks(app, service).await?;
    let mut counts: Vec<(String, i64, i64)> = Vec::new();
    for task in &tasks {
        let id = services::deployment_of(task);
        let running = i64::from(task.last_status == TaskStatus::Running);
        match counts.iter_mut().find(|(of, _, _)| of == id) {
            Some(entry) => {
                entry.1 += running;
                entry.2 += 1 - running;
            }
            None => counts.push((id.to_owned(), running, 1 - running)),
        }
    }
    Ok(counts)
}

fn counted(counts: &[(String, i64, i64)], id: &str) -> (i64, i64) {
    counts.iter().find(|(of, _, _)| of == id).map_or((0, 0), |(_, running, pending)| (*running, *pending))
}

/// Writes the running and pending counts into the record's revision summaries (its target,
/// and its sources in the order it keeps their ids).
fn put_counts(record: &mut ServiceDeployment, counts: &[(String, i64, i64)], desired: Option<i64>) {
    let target = text(&record.body, "/homeport:target").to_owned();
    let sources: Vec<String> = record
        .body
        .get("homeport:sources")
        .and_then(Json::as_array)
        .map(|ids| ids.iter().filter_map(Json::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if let Some(summary) = record.body.get_mut("targetServiceRevision") {
        let (running, pending) = counted(counts, &target);
        put(summary, "runningTaskCount", running);
        put(summary, "pendingTaskCount", pending);
        if let Some(desired) = desired {
            put(summary, "requestedTaskCount", desired);
        }
    }
    let summaries = record.body.get_mut("sourceServiceRevisions").and_then(Json::as_array_mut);
    for (summary, id) in summaries.into_iter().flatten().zip(&sources) {
        let (running, pending) = counted(counts, id);
        put(summary, "runningTaskCount", running);
        put(summary, "pendingTaskCount", pending);
    }
}

/// The revision ARN of each of the service's deployments (by id).
fn revisions(service: &Service) -> serde_json::Map<String, Json> {
    service.body.get(REVISIONS).and_then(Json::as_object).cloned().unwrap_or_default()
}

fn deployment_ids(service: &Service) -> Vec<String> {
    let deployments = service.body.get("deployments").and_then(Json::as_array);
    deployments.into_iter().flatten().map(|d| text(d, "/id").to_owned()).collect()
}

/// Records the service deployment of the service's new primary deployment `id` (already
/// first in its document) and the revision it deploys, and stops the service deployment
/// before it if that had not finished. Returns the statements to write with the service.
/// `definition` is the task definition document when the caller has it.
pub(crate) async fn begin(
    app: &App,
    service: &mut Service,
    id: &str,
    definition: Option<&Json>,
    now: i64,
) -> Result<Vec<Statement>, AwsError> {
    let definition_arn = text(&service.body, "/taskDefinition").to_owned();
    let definition = match definition {
        Some(definition) => Some(definition.clone()),
        None => load_definition(app, service, &definition_arn).await?,
    };
    let (deployment_id, revision_id) = new_ids()?;
    let revision_arn = child_arn(&service.arn, "service-revision", &revision_id);
    let arn = child_arn(&service.arn, "service-deployment", &deployment_id);
    let revision = json!({
        "serviceRevisionArn": revision_arn,
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "taskDefinition": definition_arn,
        "launchType": "EXTERNAL",
        "loadBalancers": service.body.get("loadBalancers").cloned().unwrap_or(json!([])),
        "serviceRegistries": service.body.get("serviceRegistries").cloned().unwrap_or(json!([])),
        "containerImages": container_images(definition.as_ref()),
        "guardDutyEnabled": false,
        "createdAt": now,
    });
    let mut statements = vec![model::insert_revision(&app.account_id, &service.arn, now, &revision)];
    let known = revisions(service);
    let counts = if service.body.get("deployments").and_then(Json::as_array).is_some_and(|d| d.len() > 1) {
        task_counts(app, service).await?
    } else {
        Vec::new()
    };
    // The deployments it replaces that have a revision: those from before migration 33 have
    // none, and ECS cannot describe revisions from before October 25, 2024.
    let mut sources = Vec::new();
    let mut source_ids = Vec::new();
    for old in service.body.get("deployments").and_then(Json::as_array).into_iter().flatten() {
        let old_id = text(old, "/id");
        let Some(old_revision) = known.get(old_id).and_then(Json::as_str).filter(|_| old_id != id) else { continue };
        let (running, pending) = counted(&counts, old_id);
        sources.push(json!({
            "arn": old_revision,
            "requestedTaskCount": old.get("desiredCount").and_then(Json::as_i64).unwrap_or(0),
            "runningTaskCount": running,
            "pendingTaskCount": pending,
        }));
        source_ids.push(old_id.to_owned());
    }
    if let Some(previous) = service.body.get(CURRENT).cloned() {
        let status = DeploymentStatus::parse(text(&previous, "/status"));
        if status.is_some_and(DeploymentStatus::is_ongoing)
            && let Some(mut record) =
                model::find_deployment(&app.store, &app.account_id, text(&previous, "/arn")).await?
        {
            record.set_status(DeploymentStatus::Stopped);
            put(&mut record.body, "statusReason", "ECS deployment stopped: a newer deployment replaced it.");
            for member in ["stoppedAt", "finishedAt", "updatedAt"] {
                put(&mut record.body, member, now);
            }
            put_counts(&mut record, &counts, None);
            statements.push(model::save_deployment(&record));
        }
    }
    let desired = service.body.get("desiredCount").and_then(Json::as_i64).unwrap_or(0);
    let configuration = service.body.get("deploymentConfiguration").cloned().unwrap_or(json!({}));
    let breaker = configuration.get("deploymentCircuitBreaker");
    let enabled = breaker.and_then(|b| b.get("enable")).and_then(Json::as_bool).unwrap_or(false);
    let body = json!({
        "serviceDeploymentArn": arn,
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "createdAt": now,
        "updatedAt": now,
        "sourceServiceRevisions": sources,
        "targetServiceRevision": {
            "arn": revision_arn,
            "requestedTaskCount": desired,
            "runningTaskCount": 0,
            "pendingTaskCount": 0,
        },
        "status": DeploymentStatus::Pending.as_str(),
        "deploymentConfiguration": configuration,
        "deploymentCircuitBreaker": {
            "status": if enabled { "MONITORING" } else { "DISABLED" },
            "failureCount": 0,
            "threshold": plan::failure_threshold(desired),
        },
        "alarms": {"status": "DISABLED"},
        "homeport:target": id,
        "homeport:sources": source_ids,
    });
    let record = ServiceDeployment {
        arn,
        service_arn: service.arn.clone(),
        status: DeploymentStatus::Pending,
        created_at: now,
        body,
    };
    statements.push(model::insert_deployment(&app.account_id, &record));
    // Keep the revisions of the deployments still listed, and of the one a rollback returns to.
    let mut kept = deployment_ids(service);
    kept.push(text(&service.body, &format!("/{LAST_COMPLETED}/id")).to_owned());
    let mut map: serde_json::Map<String, Json> = known.into_iter().filter(|(of, _)| kept.contains(of)).collect();
    map.insert(id.to_owned(), Json::String(revision_arn));
    put(&mut service.body, REVISIONS, Json::Object(map));
    put(
        &mut service.body,
        CURRENT,
        json!({"arn": record.arn, "status": DeploymentStatus::Pending.as_str(), "deployment": id}),
    );
    Ok(statements)
}

/// What one scheduler pass did that moves a service deployment.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// The primary deployment's rollout moved to this.
    pub rollout: Option<RolloutState>,
    /// Its failed task count is now this.
    pub failed_tasks: Option<i64>,
    /// The circuit breaker rolled the service back to this deployment.
    pub rolled_back_to: Option<String>,
    /// The service was deleted.
    pub deleted: bool,
}

/// Moves the service's current service deployment as the pass's `progress` says, in its
/// document and in its record. Returns the statements to write with the service (none when
/// nothing moved, without reading the record).
pub(crate) async fn advance(
    app: &App,
    service: &mut Service,
    progress: &Progress,
    now: i64,
) -> Result<Vec<Statement>, AwsError> {
    if progress.deleted {
        return Ok(model::delete_of_service(&service.arn));
    }
    let Some(current) = service.body.get(CURRENT).cloned() else { return Ok(Vec::new()) };
    let Some(status) = DeploymentStatus::parse(text(&current, "/status")).filter(|s| s.is_ongoing()) else {
        return Ok(Vec::new());
    };
    let primary = text(&service.body, "/deployments/0/id").to_owned();
    let target = text(&current, "/deployment");
    let rollback_to = text(&current, "/rollbackTo");
    let mut next = match status {
        DeploymentStatus::Pending => DeploymentStatus::InProgress,
        DeploymentStatus::RollbackRequested => DeploymentStatus::RollbackInProgress,
        other => other,
    };
    let mut tripped = false;
    match progress.rollout {
        Some(RolloutState::Failed) => {
            tripped = true;
            next = match (&progress.rolled_back_to, next) {
                (Some(_), _) => DeploymentStatus::RollbackInProgress,
                (None, DeploymentStatus::RollbackInProgress) => DeploymentStatus::RollbackFailed,
                (None, _) => DeploymentStatus::Stopped,
            };
        }
        Some(RolloutState::Completed) if next == DeploymentStatus::InProgress && primary == target => {
            next = DeploymentStatus::Successful;
        }
        Some(RolloutState::Completed) if next == DeploymentStatus::RollbackInProgress && primary == rollback_to => {
            next = DeploymentStatus::RollbackSuccessful;
        }
        _ => {}
    }
    if next == status && progress.failed_tasks.is_none() {
        return Ok(Vec::new());
    }
    let Some(mut record) = model::find_deployment(&app.store, &app.account_id, text(&current, "/arn")).await? else {
        return Ok(Vec::new());
    };
    put(&mut record.body, "updatedAt", now);
    if let Some(failed) = progress.failed_tasks {
        if let Some(breaker) = record.body.get_mut("deploymentCircuitBreaker") {
            put(breaker, "failureCount", failed);
        }
    }
    if status == DeploymentStatus::Pending {
        put(&mut record.body, "startedAt", now);
    }
    if tripped {
        put(&mut record.body, "statusReason", RolloutState::Failed.reason());
        if let Some(breaker) = record.body.get_mut("deploymentCircuitBreaker") {
            put(breaker, "status", "TRIGGERED");
        }
    }
    let mut marker = current.clone();
    if let Some(to) = &progress.rolled_back_to {
        let revision = revisions(service).get(to).cloned();
        let mut rollback = json!({"reason": RolloutState::Failed.reason(), "startedAt": now});
        if let Some(revision) = revision {
            put(&mut rollback, "serviceRevisionArn", revision);
        }
        put(&mut record.body, "rollback", rollback);
        put(&mut marker, "rollbackTo", to.as_str());
    }
    if !next.is_ongoing() {
        put(&mut record.body, "finishedAt", now);
        if next == DeploymentStatus::Stopped {
            put(&mut record.body, "stoppedAt", now);
        }
        if matches!(next, DeploymentStatus::Successful | DeploymentStatus::RollbackSuccessful) {
            put(&mut record.body, "statusReason", RolloutState::Completed.reason());
            let monitored = text(&record.body, "/deploymentCircuitBreaker/status") == "MONITORING";
            if monitored && let Some(breaker) = record.body.get_mut("deploymentCircuitBreaker") {
                put(breaker, "status", "MONITORING_COMPLETE");
            }
        }
        let counts = task_counts(app, service).await?;
        put_counts(&mut record, &counts, service.body.get("desiredCount").and_then(Json::as_i64));
    }
    record.set_status(next);
    put(&mut marker, "status", next.as_str());
    put(&mut service.body, CURRENT, marker);
    Ok(vec![model::save_deployment(&record)])
}

/// `currentServiceDeployment` and `currentServiceRevisions` of DescribeServices' answer, from
/// the service's document and its `deployments` as answered (with their counts).
pub(crate) fn describe_current(service: &Service, described: &mut Json) {
    let Some(current) = service.body.get(CURRENT) else { return };
    put(described, "currentServiceDeployment", text(current, "/arn"));
    let known = revisions(service);
    let deployments = described.get("deployments").and_then(Json::as_array).cloned().unwrap_or_default();
    let summaries: Vec<Json> = deployments
        .iter()
        .filter_map(|deployment| {
            let revision = known.get(text(deployment, "/id"))?;
            let count = |member: &str| deployment.get(member).and_then(Json::as_i64).unwrap_or(0);
            Some(json!({
                "arn": revision,
                "requestedTaskCount": count("desiredCount"),
                "runningTaskCount": count("runningCount"),
                "pendingTaskCount": count("pendingCount"),
            }))
        })
        .collect();
    put(described, "currentServiceRevisions", summaries);
}

/// A record as ECS answers it: without Homeport's members, with the task counts of now while
/// it is under way.
async fn answered(app: &App, mut record: ServiceDeployment) -> Result<Json, AwsError> {
    if record.status.is_ongoing()
        && let Some(service) = service_model::find(&app.store, &record.service_arn).await?
    {
        let counts = task_counts(app, &service).await?;
        put_counts(&mut record, &counts, service.body.get("desiredCount").and_then(Json::as_i64));
    }
    if let Some(document) = record.body.as_object_mut() {
        document.retain(|member, _| !member.starts_with("homeport:"));
    }
    Ok(record.body)
}

async fn list_service_deployments(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let service = named_service(ctx, &cluster).await?;
    let page = ecs::Page::from_body(ctx.body, 100, 20)?;
    // The statuses are the model's enum, refused outside it before this runs.
    let statuses = ecs::strings(ctx.body, "status");
    let bound = |member: &str| ctx.body.pointer(&format!("/createdAt/{member}")).and_then(Json::as_f64);
    let (after, before) = (bound("after"), bound("before"));
    // Seconds since 1970 are well within f64's exact integers.
    let created = |record: &ServiceDeployment| record.created_at as f64;
    let briefs = model::of_service(&ctx.app.store, &service.arn)
        .await?
        .into_iter()
        .filter(|record| statuses.is_empty() || statuses.contains(&record.status.as_str()))
        .filter(|record| after.is_none_or(|after| created(record) >= after))
        .filter(|record| before.is_none_or(|before| created(record) <= before))
        .map(|record| {
            let mut brief = json!({
                "serviceDeploymentArn": record.arn,
                "serviceArn": record.service_arn,
                "clusterArn": service.cluster_arn,
                "createdAt": record.created_at,
                "targetServiceRevisionArn": text(&record.body, "/targetServiceRevision/arn"),
                "status": record.status.as_str(),
            });
            for member in ["startedAt", "finishedAt", "statusReason"] {
                if let Some(value) = record.body.get(member) {
                    put(&mut brief, member, value.clone());
                }
            }
            brief
        })
        .collect();
    Ok(page.answer("serviceDeployments", briefs))
}

async fn describe_service_deployments(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for arn in described_arns(ctx, "serviceDeploymentArns")? {
        match model::find_deployment(&ctx.app.store, ctx.account(), &arn).await? {
            Some(record) => found.push(answered(ctx.app, record).await?),
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    Ok(json!({"serviceDeployments": found, "failures": failures}))
}

async fn describe_service_revisions(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for arn in described_arns(ctx, "serviceRevisionArns")? {
        match model::find_revision(&ctx.app.store, ctx.account(), &arn).await? {
            Some(revision) => found.push(revision),
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    Ok(json!({"serviceRevisions": found, "failures": failures}))
}

/// The named service deployment's record and its service, which must exist.
async fn named_record(ctx: &Ctx<'_>) -> Result<(ServiceDeployment, Service), AwsError> {
    let arn = ecs::required(ctx.body, "serviceDeploymentArn")?;
    let record = model::find_deployment(&ctx.app.store, ctx.account(), arn).await?.ok_or_else(not_found)?;
    let service = service_model::find(&ctx.app.store, &record.service_arn).await?.ok_or_else(not_found)?;
    Ok((record, service))
}

async fn stop_service_deployment(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    // `ROLLBACK` (the only stop type ECS documents as valid) when absent.
    if ctx.body.get("stopType").and_then(Json::as_str) == Some("ABORT") {
        return Err(invalid_parameter("The stop type ABORT is not supported. The valid stop type is ROLLBACK."));
    }
    let (record, service) = named_record(ctx).await?;
    let scope = Scope { account: ctx.account(), region: ecs::region_of(&service.cluster_arn) };
    let cluster =
        find_cluster(ctx.app, scope, &json!({"cluster": service.cluster_arn})).await?.ok_or_else(not_found)?;
    // Under the cluster's placement lock, as UpdateService: the pass does not overwrite it.
    let lock = crate::ecs::channel::channels(ctx.app)?.placement_lock(&cluster.arn);
    let placing = lock.lock().await;
    let mut record = model::find_deployment(&ctx.app.store, ctx.account(), &record.arn).await?.ok_or_else(not_found)?;
    let mut service = service_model::find(&ctx.app.store, &service.arn).await?.ok_or_else(not_found)?;
    let answer = json!({"serviceDeploymentArn": record.arn});
    match record.status {
        // Already stopping or rolling back: it goes on.
        DeploymentStatus::StopRequested
        | DeploymentStatus::RollbackRequested
        | DeploymentStatus::RollbackInProgress => {
            return Ok(answer);
        }
        DeploymentStatus::Pending | DeploymentStatus::InProgress => {}
        finished => {
            return Err(AwsError::new(
                "ConflictException",
                400,
                format!("The service deployment is {} and cannot be stopped.", finished.as_str()),
            ));
        }
    }
    let target = text(&record.body, "/homeport:target").to_owned();
    let last_completed = text(&service.body, &format!("/{LAST_COMPLETED}/id")).to_owned();
    let previous = deployment_ids(&service).into_iter().find(|id| *id != target);
    let to = Some(last_completed).filter(|id| !id.is_empty() && *id != target).or(previous).ok_or_else(|| {
        AwsError::new(
            "ConflictException",
            400,
            "The service deployment has no source service revision to roll back to.",
        )
    })?;
    let now = ids::now();
    services::roll_back(&mut service, &to, now);
    let reason = "Service deployment rolled back by a StopServiceDeployment request.";
    let mut rollback = json!({"reason": reason, "startedAt": now});
    if let Some(revision) = revisions(&service).get(&to) {
        put(&mut rollback, "serviceRevisionArn", revision.clone());
    }
    record.set_status(DeploymentStatus::RollbackRequested);
    put(&mut record.body, "rollback", rollback);
    put(&mut record.body, "statusReason", reason);
    put(&mut record.body, "updatedAt", now);
    put(
        &mut service.body,
        CURRENT,
        json!({"arn": record.arn, "status": record.status.as_str(), "deployment": target, "rollbackTo": to}),
    );
    service_model::save_with(&ctx.app.store, &service, vec![model::save_deployment(&record)]).await?;
    drop(placing);
    services::reconcile(ctx.app, &cluster, service).await?;
    Ok(answer)
}

async fn continue_service_deployment(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (record, _) = named_record(ctx).await?;
    let hook = ecs::required(ctx.body, "hookId")?;
    Err(invalid_parameter(format!(
        "The service deployment {} is not paused at lifecycle hook {hook}: it has no lifecycle hooks.",
        record.arn
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn arns_are_made_beside_the_service_and_ids_are_of_ecs_form() {
        let service = "arn:aws:ecs:us-east-1:111122223333:service/edge/web";
        assert_eq!(
            child_arn(service, "service-revision", "42"),
            "arn:aws:ecs:us-east-1:111122223333:service-revision/edge/web/42"
        );
        let (deployment, revision) = new_ids().unwrap();
        assert_eq!(deployment.len(), 21, "{deployment}");
        assert!(deployment.chars().all(|c| c.is_ascii_alphanumeric()), "{deployment}");
        assert!(revision.parse::<i64>().unwrap() >= 0);
        assert_ne!(new_ids().unwrap().0, deployment);
    }

    #[test]
    fn container_images_carry_the_digest_an_image_names() {
        let definition = json!({"containerDefinitions": [
            {"name": "web", "image": "nginx:1.27"},
            {"name": "side", "image": "registry.example/app@sha256:abc"},
        ]});
        assert_eq!(
            container_images(Some(&definition)),
            [
                json!({"containerName": "web", "image": "nginx:1.27"}),
                json!({"containerName": "side", "image": "registry.example/app@sha256:abc", "imageDigest": "sha256:abc"}),
            ]
        );
    }
}
