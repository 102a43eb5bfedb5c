//! ECS tasks: RunTask, StartTask, StopTask, DescribeTasks, ListTasks, the agent's
//! SubmitTaskStateChange / SubmitContainerStateChange, and Poll, the agent's long-poll
//! channel (`docs/ecs-agent-protocol.md`).
//!
//! Guarantees: a task is recorded (with its placement and the resources it reserves) before
//! RunTask answers, so nothing acknowledged is lost across a restart; a poll returns every
//! task on the instance changed after the agent's last applied number, so the agent converges
//! whatever it missed. The task model, its state machine and its SQL are `model::task`; this
//! module decodes, calls it, and encodes.

use std::collections::HashMap;

use agent_protocol::poll::{
    Heartbeat, ManifestEntry, PollAnswer, PollMessage, PollRequest, StopVerificationAck, TaskManifest, TaskMessage,
};
use agent_protocol::state_change::{Acknowledgment, ContainerStateChange, TaskStateChange};
use agent_protocol::task::TaskPayload;
use aws_protocol::AwsError;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::clusters::{Cluster, active_cluster};
use super::container_instances::{caller_instance, named_instances};
use super::model::container_instance::{
    self as instance_model, AGENT_CONNECTED_SECONDS, ContainerInstance, ContainerInstanceStatus, Reserved, Which,
    instances_where,
};
use super::model::task::{
    self as model, DesiredStatus, Launch, StateReport, TaskCursor, TaskFilter, TaskRow, TaskStatus, create_tasks,
    load_task, update_task,
};
use super::scheduler::{self, Demand, Placement};
use super::tagging::{self, TaskTagging};
use super::task_definitions::{check_task_role, find_task_definition};
use super::unsupported;
use crate::app::App;
use crate::ecs::{self, client, cluster_arn, invalid_parameter, put};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, encoded_json, json as json_op};
use crate::regions::Scope;

/// Tasks RunTask and StartTask start at most per call.
const MAX_TASKS_PER_CALL: usize = 10;
/// How long a poll may wait, and how often an instance gets a full manifest.
pub(crate) const MAX_POLL_WAIT_SECONDS: u64 = 20;
const MANIFEST_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// How often a poll is written down as the instance's last contact.
pub(crate) const POLL_RECORD_SECONDS: i64 = 10;

operation!(ecs, RUN_TASK, "RunTask", Write, |ctx| Box::pin(task_definition_resource(ctx)), |ctx| json_op(run_task(
    ctx
)));
operation!(ecs, START_TASK, "StartTask", Write, |ctx| Box::pin(task_definition_resource(ctx)), |ctx| json_op(
    start_task(ctx)
));
operation!(ecs, STOP_TASK, "StopTask", Write, |ctx| Box::pin(async move { task_resource(ctx) }), |ctx| json_op(
    stop_task(ctx)
));
operation!(
    ecs,
    DESCRIBE_TASKS,
    "DescribeTasks",
    Read,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| { encoded_json(describe_tasks(ctx)) }
);
operation!(
    ecs,
    LIST_TASKS,
    "ListTasks",
    Read,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| { json_op(list_tasks(ctx)) }
);
operation!(
    ecs,
    SUBMIT_TASK_STATE_CHANGE,
    "SubmitTaskStateChange",
    AgentTraffic,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| json_op(submit_task_state_change(ctx)),
    authorization = Instance
);
operation!(
    ecs,
    SUBMIT_CONTAINER_STATE_CHANGE,
    "SubmitContainerStateChange",
    AgentTraffic,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| json_op(submit_container_state_change(ctx)),
    authorization = Instance
);
operation!(
    ecs,
    POLL,
    "Poll",
    AgentTraffic,
    |ctx| Box::pin(async move { container_instance_resource(ctx) }),
    |ctx| json_op(poll(ctx)),
    authorization = Instance
);

/// RunTask and StartTask are authorized on the task definition (as ECS does), with the
/// cluster as `ecs:cluster` in the policy's eyes through the request: on the ARN of the
/// revision the reference resolves to (`family` is its latest; an ARN's region and account
/// do not choose it), so a Deny on `family:*` holds however the request spells it.
async fn task_definition_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let reference = ecs::required(ctx.body, "taskDefinition")?;
    let stored = match find_task_definition(ctx.app, ctx.scope(), reference).await {
        Ok(definition) => definition,
        // A malformed reference is refused by the operation, after authorization.
        Err(error) if error.status == 400 => None,
        Err(error) => return Err(error),
    };
    let stored = stored.as_ref().and_then(|definition| definition.get("taskDefinitionArn")).and_then(Json::as_str);
    Ok(vec![match stored {
        Some(arn) => arn.to_owned(),
        None if reference.starts_with("arn:") => reference.to_owned(),
        None => ecs::arn(ctx.scope(), "task-definition", reference),
    }])
}

/// A launch's tags need `ecs:TagResource` on its tasks (their ids not known yet: every task
/// of the cluster), as [`ecs::authorize_tags`] says.
async fn authorize_task_tags(ctx: &Ctx<'_>, cluster: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
    let cluster_name = cluster.rsplit('/').next().unwrap_or_default();
    ecs::authorize_tags(ctx, &ecs::arn(ctx.scope(), "task", &format!("{cluster_name}/*")), tags).await
}

/// The tags of a RunTask's or StartTask's tasks: the request's, propagated from the task
/// definition with `propagateTags`, and ECS's managed ones with `enableECSManagedTags`.
async fn standalone_tags(ctx: &Ctx<'_>, cluster: &str, launch: &Launch) -> Result<Vec<(String, String)>, AwsError> {
    let tagging = TaskTagging {
        given: &launch.tags,
        propagate: tagging::propagate(ctx.body, false)?,
        managed: tagging::managed(ctx.body)?,
        cluster_arn: cluster,
        definition_arn: launch.definition.get("taskDefinitionArn").and_then(Json::as_str).unwrap_or_default(),
        service_arn: None,
    };
    tagging::task_tags(&ctx.app.store, ctx.scope(), &tagging).await
}

pub(crate) fn task_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let cluster = cluster_arn(ctx.scope(), ctx.body);
    Ok(vec![task_arn(ctx.scope(), &cluster, ecs::required(ctx.body, "task")?)])
}

fn container_instance_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![ecs::required(ctx.body, "containerInstance")?.to_owned()])
}

/// The task ARN a reference names (an ARN, or the id within the cluster).
pub(crate) fn task_arn(scope: Scope<'_>, cluster: &str, reference: &str) -> String {
    if reference.starts_with("arn:") {
        return reference.to_owned();
    }
    let cluster_name = cluster.rsplit('/').next().unwrap_or_default();
    ecs::arn(scope, "task", &format!("{cluster_name}/{reference}"))
}

/// A container definition with a `containerOverrides` entry applied.
fn apply_override(definition: &Json, overrides: &[Json]) -> Json {
    let mut definition = definition.clone();
    let name = definition.get("name").and_then(Json::as_str).unwrap_or_default().to_owned();
    let Some(over) = overrides.iter().find(|o| o.get("name").and_then(Json::as_str) == Some(name.as_str())) else {
        return definition;
    };
    for member in ["command", "cpu", "memory", "memoryReservation"] {
        if let Some(value) = over.get(member) {
            put(&mut definition, member, value.clone());
        }
    }
    if let Some(extra) = over.get("environment").and_then(Json::as_array) {
        let mut environment: Vec<Json> =
            definition.get("environment").and_then(Json::as_array).cloned().unwrap_or_default();
        for variable in extra {
            environment.retain(|existing| existing.get("name") != variable.get("name"));
            environment.push(variable.clone());
        }
        put(&mut definition, "environment", environment);
    }
    definition
}

/// What a task of `definition` (overrides applied to `containers`) reserves.
fn demand(definition: &Json, containers: &[Json]) -> Demand {
    let task_level =
        |member: &str| definition.get(member).and_then(Json::as_str).and_then(|v| v.trim().parse::<i64>().ok());
    let sum = |pick: &dyn Fn(&Json) -> i64| containers.iter().map(pick).sum::<i64>();
    let cpu = task_level("cpu").unwrap_or_else(|| sum(&|c| c.get("cpu").and_then(Json::as_i64).unwrap_or(0)));
    let memory = task_level("memory").unwrap_or_else(|| {
        sum(&|c| c.get("memory").or_else(|| c.get("memoryReservation")).and_then(Json::as_i64).unwrap_or(0))
    });
    let mut ports = Vec::new();
    for container in containers {
        for mapping in container.get("portMappings").and_then(Json::as_array).into_iter().flatten() {
            let host_port = mapping.get("hostPort").and_then(Json::as_i64).unwrap_or(0);
            if host_port > 0 {
                let udp = mapping.get("protocol").and_then(Json::as_str) == Some("udp");
                ports.push(if udp { format!("{host_port}/udp") } else { host_port.to_string() });
            }
        }
    }
    Demand { cpu, memory, ports }
}

/// Reads the launch parameters RunTask, StartTask, CreateService and UpdateService share,
/// checking that the caller may pass (`iam:PassRole` to `ecs-tasks.amazonaws.com`) every role
/// the tasks will run with: the task definition's own task and execution roles as much as
/// those the overrides name. Whoever registered the definition passed them to it, not to
/// this caller's tasks.
pub(crate) async fn launch(ctx: &Ctx<'_>, body: &Json) -> Result<Launch, AwsError> {
    let launched = launch_from(ctx.app, ctx.scope(), body).await?;
    // New tasks and services need an ACTIVE revision; the service scheduler (which calls
    // `launch_from`) goes on running one deregistered under a service, as ECS does.
    if launched.definition.get("status").and_then(Json::as_str) != Some("ACTIVE") {
        return Err(invalid_parameter("TaskDefinition is inactive"));
    }
    let associated = launched.definition.get("taskDefinitionArn").and_then(Json::as_str).unwrap_or_default();
    for member in TASK_ROLES {
        if let Some(role) = launched.definition.get(member).and_then(Json::as_str) {
            check_task_role(ctx, role, associated).await?;
        }
    }
    Ok(launched)
}

/// The members of a task definition (and of a task's overrides) that name a role its tasks
/// run with.
pub(crate) const TASK_ROLES: [&str; 2] = ["taskRoleArn", "executionRoleArn"];

/// The launch a request body describes (task definition, overrides, labels), validated.
pub(crate) async fn launch_from(app: &App, scope: Scope<'_>, body: &Json) -> Result<Launch, AwsError> {
    let reference = ecs::required(body, "taskDefinition")?;
    let definition = find_task_definition(app, scope, reference)
        .await?
        .filter(|d| d.get("status").and_then(Json::as_str) == Some("ACTIVE") || reference.contains(':'))
        .ok_or_else(|| client("Unable to describe task definition."))?;
    // Definitions stored before `compatibilities` was computed listed EC2 and EXTERNAL.
    let external = definition
        .get("compatibilities")
        .and_then(Json::as_array)
        .is_none_or(|launch_types| launch_types.iter().any(|launch_type| launch_type == "EXTERNAL"));
    if !external || definition.get("networkMode").and_then(Json::as_str) == Some("awsvpc") {
        return Err(invalid_parameter("Task definition does not support launch_type EXTERNAL."));
    }
    let overrides = body.get("overrides").cloned().unwrap_or(json!({}));
    let container_overrides = overrides.get("containerOverrides").and_then(Json::as_array).cloned().unwrap_or_default();
    let definitions = definition.get("containerDefinitions").and_then(Json::as_array).cloned().unwrap_or_default();
    for over in &container_overrides {
        let name = over.get("name").and_then(Json::as_str).unwrap_or_default();
        if !definitions.iter().any(|d| d.get("name").and_then(Json::as_str) == Some(name)) {
            return Err(invalid_parameter(format!(
                "Override for container named {name} is not a container in the TaskDefinition."
            )));
        }
    }
    let containers: Vec<Json> = definitions.iter().map(|d| apply_override(d, &container_overrides)).collect();
    let mut definition = definition;
    for member in ["taskRoleArn", "executionRoleArn", "cpu", "memory"] {
        if let Some(value) = overrides.get(member) {
            put(&mut definition, member, value.clone());
        }
    }
    let family = definition.get("family").and_then(Json::as_str).unwrap_or_default().to_owned();
    let started_by = body.get("startedBy").and_then(Json::as_str).map(str::to_owned);
    if started_by.as_ref().is_some_and(|s| s.len() > 128) {
        return Err(invalid_parameter("startedBy can have at most 128 characters."));
    }
    let demand = demand(&definition, &containers);
    Ok(Launch {
        containers,
        overrides: json!({
            "containerOverrides": container_overrides,
            "inferenceAcceleratorOverrides": [],
        }),
        demand,
        started_by,
        group: body
            .get("group")
            .and_then(Json::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("family:{family}")),
        tags: ecs::tags_from_body(body)?,
        service_name: None,
        client_token: body.get("clientToken").and_then(Json::as_str).map(str::to_owned),
        definition,
    })
}

fn failures(placement: &Placement) -> Vec<Json> {
    placement
        .failures
        .iter()
        .map(|(arn, reason)| match arn {
            Some(arn) => json!({"arn": arn, "reason": reason}),
            None => json!({"reason": reason}),
        })
        .collect()
}

fn count(body: &Json) -> Result<usize, AwsError> {
    match body.get("count") {
        None | Some(Json::Null) => Ok(1),
        Some(value) => value
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1..=MAX_TASKS_PER_CALL).contains(n))
            .ok_or_else(|| invalid_parameter("count must be between 1 and 10.")),
    }
}

fn check_launch_type(body: &Json) -> Result<(), AwsError> {
    match body.get("launchType").and_then(Json::as_str) {
        None | Some("EXTERNAL") | Some("EC2") => Ok(()),
        Some(other) => {
            Err(invalid_parameter(format!("Launch type {other} is not supported: Homeport runs EXTERNAL tasks.")))
        }
    }
}

async fn run_task(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    check_launch_type(ctx.body)?;
    unsupported::check_launch(ctx.operation.name, ctx.body)?;
    if ctx.body.get("networkConfiguration").is_some() {
        return Err(invalid_parameter(
            "Network Configuration is not valid for the given networkMode of this task definition.",
        ));
    }
    let count = count(ctx.body)?;
    let mut launch = launch(ctx, ctx.body).await?;
    authorize_task_tags(ctx, &cluster.arn, &launch.tags).await?;
    launch.tags = standalone_tags(ctx, &cluster.arn, &launch).await?;
    if let Some(token) = &launch.client_token {
        let existing = model::started_with_token(&ctx.app.store, &cluster.arn, token).await?;
        if !existing.is_empty() {
            let mut tasks = Vec::with_capacity(existing.len());
            for task in &existing {
                let mut described = task.describe();
                put(&mut described, "tags", ecs::load_tags(&ctx.app.store, ctx.account(), &task.arn).await?);
                tasks.push(described);
            }
            return Ok(json!({"tasks": tasks, "failures": []}));
        }
    }
    let mut constraints = scheduler::constraints(ctx.body.get("placementConstraints"))?;
    constraints.extend(scheduler::definition_constraints(&launch.definition)?);
    let strategies = scheduler::strategies(ctx.body.get("placementStrategy"))?;
    let lock = crate::ecs::channel::channels(ctx.app)?.placement_lock(&cluster.arn);
    let _placing = lock.lock().await;
    let groups = scheduler::groups_needed(&constraints, &launch.group);
    let now = ids::now();
    let seed = u64::try_from(now).unwrap_or(0) ^ 0x5eed;
    let specs = &crate::ecs::channel::channels(ctx.app)?.specs;
    let ports = !launch.demand.ports.is_empty();
    let place = |instances: &[ContainerInstance], reserved: &HashMap<String, Reserved>| {
        scheduler::place(
            instances,
            reserved,
            &launch.demand,
            count,
            &launch.group,
            &constraints,
            &strategies,
            now,
            seed,
        )
    };
    // First among the instances that may take a task (ACTIVE, agent connected): where the
    // strategies rank each instance by itself, the others are never chosen, so where all
    // tasks fit this is the placement over the whole cluster. Otherwise (a strategy that
    // reads other instances, or tasks left unplaced, whose failures name every instance
    // that refused) every instance is read.
    let mut placement = None;
    if scheduler::ranks_each_instance_alone(&strategies) {
        let which = Which::Candidates { connected_since: now - AGENT_CONNECTED_SECONDS };
        let (instances, reserved) = instances_where(&ctx.app.store, specs, &cluster.arn, which, groups, ports).await?;
        placement = Some(place(&instances, &reserved)).filter(|p| p.placed.len() == count);
    }
    let placement = match placement {
        Some(placement) => placement,
        None => {
            let (instances, reserved) =
                instances_where(&ctx.app.store, specs, &cluster.arn, Which::All, groups, ports).await?;
            place(&instances, &reserved)
        }
    };
    let tasks = create_tasks(ctx.app, &cluster, &launch, &placement.placed).await?;
    Ok(json!({"tasks": tasks.iter().map(TaskRow::describe).collect::<Vec<_>>(), "failures": failures(&placement)}))
}

async fn start_task(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    unsupported::check_launch(ctx.operation.name, ctx.body)?;
    let references: Vec<&str> = ecs::strings(ctx.body, "containerInstances");
    if references.is_empty() || references.len() > MAX_TASKS_PER_CALL {
        return Err(invalid_parameter("containerInstances must have between 1 and 10 items."));
    }
    let mut launch = launch(ctx, ctx.body).await?;
    authorize_task_tags(ctx, &cluster.arn, &launch.tags).await?;
    launch.tags = standalone_tags(ctx, &cluster.arn, &launch).await?;
    let lock = crate::ecs::channel::channels(ctx.app)?.placement_lock(&cluster.arn);
    let _placing = lock.lock().await;
    let cluster_name = cluster.name.as_str();
    let arns: Vec<String> = references
        .iter()
        .map(|reference| match reference.starts_with("arn:") {
            true => (*reference).to_owned(),
            false => ecs::arn(ctx.scope(), "container-instance", &format!("{cluster_name}/{reference}")),
        })
        .collect();
    let (instances, reserved) = named_instances(ctx, &cluster.arn, &arns, !launch.demand.ports.is_empty()).await?;
    let now = ids::now();
    let mut placed = Vec::new();
    let mut placement = Placement::default();
    let platform = scheduler::platform_constraints(&launch.definition)?;
    for arn in arns {
        let Some(instance) = instances.iter().find(|i| i.arn == arn && i.status == ContainerInstanceStatus::Active)
        else {
            placement.failures.push((Some(arn), "MISSING".to_owned()));
            continue;
        };
        // StartTask names the instance; it still must have room, and the definition's platform.
        let one = scheduler::place(
            std::slice::from_ref(instance),
            &reserved,
            &launch.demand,
            1,
            &launch.group,
            &platform,
            &[],
            now,
            0,
        );
        placed.extend(one.placed);
        placement.failures.extend(one.failures);
    }
    let tasks = create_tasks(ctx.app, &cluster, &launch, &placed).await?;
    Ok(json!({"tasks": tasks.iter().map(TaskRow::describe).collect::<Vec<_>>(), "failures": failures(&placement)}))
}

async fn stop_task(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let arn = task_arn(ctx.scope(), &cluster.arn, ecs::required(ctx.body, "task")?);
    let reason = ctx.body.get("reason").and_then(Json::as_str).unwrap_or("Task stopped by user");
    if reason.len() > 255 {
        return Err(invalid_parameter("reason can have at most 255 characters."));
    }
    let task = model::stop(ctx.app, &arn, "UserInitiated", reason).await?;
    let mut described = task.describe();
    put(&mut described, "tags", ecs::load_tags(&ctx.app.store, ctx.account(), &task.arn).await?);
    Ok(json!({"task": described}))
}

/// DescribeTasks: each task's stored body is spliced into the answer as stored (see
/// `model::DescribedTask`), never parsed and written again.
async fn describe_tasks(ctx: &Ctx<'_>) -> Result<Vec<u8>, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let references: Vec<&str> = ecs::strings(ctx.body, "tasks");
    if references.is_empty() || references.len() > 100 {
        return Err(invalid_parameter("Tasks cannot be empty and can have at most 100 items."));
    }
    let include_tags = ecs::includes(ctx.body, "TAGS");
    let arns: Vec<String> = references.iter().map(|reference| task_arn(ctx.scope(), &cluster.arn, reference)).collect();
    let found = model::load_described(&ctx.app.store, &ctx.app.account_id, &arns).await?;
    let mut out = Vec::with_capacity(found.iter().map(|task| task.body_len() + 160).sum::<usize>() + 64);
    out.extend_from_slice(br#"{"tasks":["#);
    let mut failures = Vec::new();
    let mut first = true;
    for arn in arns {
        match found.iter().find(|t| t.arn == arn && t.cluster_arn == cluster.arn) {
            Some(task) => {
                // The tags as they are now (TagResource changes them), not as launched.
                let tags = if include_tags {
                    Json::Array(ecs::load_tags(&ctx.app.store, ctx.account(), &task.arn).await?)
                } else {
                    json!([])
                };
                if !first {
                    out.push(b',');
                }
                first = false;
                task.write(&tags, &mut out)?;
            }
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    out.extend_from_slice(br#"],"failures":"#);
    serde_json::to_writer(&mut out, &failures).map_err(crate::operations::internal)?;
    out.push(b'}');
    Ok(out)
}

async fn list_tasks(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let limit = ecs::max_results(ctx.body, 100, 100)?;
    let after = ctx.body.get("nextToken").and_then(Json::as_str).map(parse_cursor).transpose()?;
    // The pipeline has refused a word outside the model's enum (RUNNING, PENDING, STOPPED).
    let desired = ctx.body.get("desiredStatus").and_then(Json::as_str).and_then(DesiredStatus::parse);
    let desired = desired.unwrap_or(DesiredStatus::Running);
    let text = |member: &str| ctx.body.get(member).and_then(Json::as_str);
    let filter = TaskFilter {
        cluster_arn: &cluster.arn,
        desired,
        container_instance_arn: text("containerInstance").map(|instance| match instance.starts_with("arn:") {
            true => instance.to_owned(),
            false => ecs::arn(ctx.scope(), "container-instance", &format!("{}/{instance}", cluster.name)),
        }),
        started_by: text("startedBy"),
        service_name: text("serviceName"),
        family: text("family"),
    };
    let page = model::list(&ctx.app.store, &filter, after.as_ref(), limit).await?;
    let mut answer = json!({"taskArns": page.arns});
    if let Some(next) = page.next {
        put(&mut answer, "nextToken", format!("{}.{}", next.created_at, next.arn));
    }
    Ok(answer)
}

/// The task a ListTasks `nextToken` (`CREATED_AT.ARN`, as `list_tasks` hands it out) says the
/// next page starts after.
fn parse_cursor(token: &str) -> Result<TaskCursor, AwsError> {
    let (created_at, arn) = token.split_once('.').ok_or_else(ecs::invalid_token)?;
    let created_at = created_at.parse::<i64>().map_err(|_| ecs::invalid_token())?;
    if !arn.starts_with("arn:") {
        return Err(ecs::invalid_token());
    }
    Ok(TaskCursor { created_at, arn: arn.to_owned() })
}

/// The task a state report names, which must run on the reporting instance.
async fn reported_task(ctx: &Ctx<'_>) -> Result<(Cluster, String), AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let arn = task_arn(ctx.scope(), &cluster.arn, ecs::required(ctx.body, "task")?);
    let task = load_task(&ctx.app.store, &ctx.app.account_id, &arn)
        .await?
        .ok_or_else(|| invalid_parameter("The referenced task was not found."))?;
    let reporter = caller_instance(ctx);
    let owner = match &task.container_instance_arn {
        Some(instance) => instance_model::owner(&ctx.app.store, instance).await?,
        None => None,
    };
    if reporter.is_none() || reporter != owner.as_deref() {
        return Err(AwsError::new(
            "AccessDeniedException",
            403,
            "Only the container instance running a task reports its state.",
        ));
    }
    Ok((cluster, arn))
}

async fn submit_task_state_change(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (_, arn) = reported_task(ctx).await?;
    let change: TaskStateChange = ecs::agent_request(ctx.body)?;
    let status = TaskStatus::reported(ecs::not_blank(&change.status, "status")?)
        .ok_or_else(|| invalid_parameter("status must be PENDING, RUNNING or STOPPED."))?;
    let containers = change.containers.iter().map(ecs::agent_json).collect::<Result<Vec<_>, _>>()?;
    let times = [
        ("pullStartedAt", change.pull_started_at),
        ("pullStoppedAt", change.pull_stopped_at),
        ("executionStoppedAt", change.execution_stopped_at),
    ];
    let report = StateReport {
        status,
        containers: &containers,
        times: times
            .into_iter()
            .filter_map(|(member, at)| Some((member, crate::ssm::epoch(&Json::Number(at?))?.into())))
            .collect(),
        reason: change.reason.as_deref(),
    };
    let now = ids::now();
    update_task(ctx.app, &arn, |task| Ok(task.record_report(&report, now))).await?;
    ecs::agent_json(&Acknowledgment::ack())
}

async fn submit_container_state_change(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (_, arn) = reported_task(ctx).await?;
    let change: ContainerStateChange = ecs::agent_request(ctx.body)?;
    let report = ecs::agent_json(&change.container)?;
    update_task(ctx.app, &arn, |task| {
        task.apply_containers(std::slice::from_ref(&report));
        Ok(false)
    })
    .await?;
    ecs::agent_json(&Acknowledgment::ack())
}

/// The instance a poll comes from, which must be the caller's own.
pub(crate) async fn polling_instance(ctx: &Ctx<'_>) -> Result<ContainerInstance, AwsError> {
    let arn = ecs::required(ctx.body, "containerInstance")?;
    let cluster = cluster_arn(ctx.scope(), ctx.body);
    let instance = instance_model::find_instance(
        &ctx.app.store,
        &crate::ecs::channel::channels(ctx.app)?.specs,
        &ctx.app.account_id,
        arn,
    )
    .await?
    .filter(|i| {
        i.status.is_registered()
            && i.arn.starts_with(&format!("{}/", cluster.replace(":cluster/", ":container-instance/")))
    })
    .ok_or_else(|| invalid_parameter("Container instance not found or deregistered; register again."))?;
    if caller_instance(ctx) != Some(instance.instance_id.as_str()) {
        return Err(AwsError::new(
            "AccessDeniedException",
            403,
            "A container instance polls with its own credentials only.",
        ));
    }
    Ok(instance)
}

fn message_id(kind: &str, seq: i64) -> String {
    format!("{kind}-{seq}")
}

async fn poll(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let instance = polling_instance(ctx).await?;
    let request: PollRequest = ecs::agent_request(ctx.body)?;
    let after = request.sequence_number.max(0);
    let wait = request.wait_seconds.unwrap_or(MAX_POLL_WAIT_SECONDS).min(MAX_POLL_WAIT_SECONDS);
    let notify = crate::ecs::channel::channels(ctx.app)?.notifier(&instance.arn);
    // Connectedness is kept to the second it matters at (60 s): record a poll every 10 s.
    let now = ids::now();
    if instance.last_poll_at.is_none_or(|at| now - at >= POLL_RECORD_SECONDS) {
        instance_model::record_poll(&ctx.app.store, &instance.arn, now, after).await?;
    }
    let mut messages = Vec::new();
    // Stop verification: of the tasks the agent runs unlisted, those that are not to run.
    if !request.stop_candidates.is_empty() {
        let known = model::load_many(&ctx.app.store, &ctx.app.account_id, &request.stop_candidates).await?;
        let mut stop_tasks = Vec::new();
        for arn in request.stop_candidates {
            let keep = known.iter().any(|t| t.arn == arn && t.meant_to_run_on(&instance.arn));
            if !keep {
                stop_tasks.push(arn);
            }
        }
        let message_id = message_id("stop-verification", after);
        messages.push(PollMessage::StopVerificationAck(StopVerificationAck { message_id, stop_tasks }));
    }
    let mut tasks = model::changed_since(&ctx.app.store, &instance.arn, after).await?;
    let manifest_due = crate::ecs::channel::channels(ctx.app)?.manifest_due(&instance.arn, MANIFEST_EVERY);
    if tasks.is_empty() && messages.is_empty() && !manifest_due && wait > 0 {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(wait), notify.notified()).await;
        tasks = model::changed_since(&ctx.app.store, &instance.arn, after).await?;
    }
    let mut sequence = after;
    for task in &tasks {
        sequence = sequence.max(task.updated_seq);
        match TaskPayload::deserialize(&task.message()) {
            Ok(payload) => messages.push(PollMessage::Task(TaskMessage {
                message_id: message_id("task", task.updated_seq),
                seq_num: task.updated_seq,
                task: payload,
            })),
            // Its definition has a member of a shape no agent reads: the task cannot run (an
            // agent would acknowledge it and do nothing), and the poll goes on past it.
            Err(error) => tracing::error!("poll: task {} cannot be sent to its agent: {error}", task.arn),
        }
    }
    if manifest_due {
        let all = model::on_instance(&ctx.app.store, &instance.arn).await?;
        let tasks = all
            .into_iter()
            .map(|(task_arn, desired)| ManifestEntry { task_arn, desired_status: desired.as_str().to_owned() })
            .collect();
        messages.push(PollMessage::Manifest(TaskManifest {
            message_id: message_id("manifest", sequence),
            seq_num: sequence,
            tasks,
        }));
    }
    if messages.is_empty() {
        messages.push(PollMessage::Heartbeat(Heartbeat { message_id: message_id("heartbeat", sequence) }));
    }
    ecs::agent_json(&PollAnswer { sequence_number: sequence, messages })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    /// A task's stored payload, as `create_tasks` writes it from a registered definition (its
    /// defaults filled in), goes to the agent member for member.
    #[test]
    fn a_stored_payload_is_sent_as_it_is() {
        let arn = "arn:aws:ecs:us-east-1:111122223333:task/edge/0123456789abcdef0123456789abcdef";
        let payload = json!({
            "family": "web", "revision": 3, "networkMode": "bridge",
            "executionRoleArn": "arn:aws:iam::111122223333:role/exec",
            "containers": [{
                "name": "app", "image": "busybox", "essential": true, "cpu": 0, "memory": 64,
                "environment": [{"name": "MODE", "value": "prod"}], "mountPoints": [], "volumesFrom": [],
                "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}},
            }],
        });
        let task = TaskRow {
            arn: arn.to_owned(),
            cluster_arn: "arn:aws:ecs:us-east-1:111122223333:cluster/edge".to_owned(),
            container_instance_arn: None,
            desired_status: DesiredStatus::Stopped,
            last_status: TaskStatus::Running,
            body: json!({}),
            payload,
            version: 0,
            updated_seq: 7,
            reserved_cpu: 0,
            reserved_memory: 64,
        };
        let sent = TaskPayload::deserialize(&task.message()).unwrap();
        assert_eq!((sent.task_arn.as_str(), sent.desired_status.as_str()), (arn, "STOPPED"));
        assert_eq!(ecs::agent_json(&sent).unwrap(), task.message());
    }
}
