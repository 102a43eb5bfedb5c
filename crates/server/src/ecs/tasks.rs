//! ECS tasks: RunTask, StartTask, StopTask, DescribeTasks, ListTasks, the agent's
//! SubmitTaskStateChange / SubmitContainerStateChange, and Poll, the agent's long-poll
//! channel (`docs/ecs-agent-protocol.md`).
//!
//! Guarantees: a task is recorded (with its placement and the resources it reserves) before
//! RunTask answers, so nothing acknowledged is lost across a restart; every change of a task's
//! desired state takes a new sequence number, and a poll returns every task on the instance
//! changed after the agent's last applied number, so the agent converges whatever it missed;
//! task updates are optimistic (a version check in the writing statement), so concurrent
//! StopTask and state reports never overwrite each other.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};
use store::{Statement, Value};

use super::clusters::{Cluster, active_cluster};
use super::container_instances::{ContainerInstance, Groups, caller_instance, find_instance, instances_of};
use super::scheduler::{self, Demand, Placement};
use super::task_definitions::{check_task_role, find_task_definition};
use super::unsupported;
use crate::app::App;
use crate::ecs::{self, client, cluster_arn, invalid_parameter, put};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, json as json_op};

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
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| { json_op(describe_tasks(ctx)) }
);
operation!(
    ecs,
    LIST_TASKS,
    "ListTasks",
    Read,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| { json_op(list_tasks(ctx)) }
);
operation!(
    ecs,
    SUBMIT_TASK_STATE_CHANGE,
    "SubmitTaskStateChange",
    AgentTraffic,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| json_op(submit_task_state_change(ctx)),
    authorization = Instance
);
operation!(
    ecs,
    SUBMIT_CONTAINER_STATE_CHANGE,
    "SubmitContainerStateChange",
    AgentTraffic,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
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
    let stored = match find_task_definition(ctx.app, reference).await {
        Ok(definition) => definition,
        // A malformed reference is refused by the operation, after authorization.
        Err(error) if error.status == 400 => None,
        Err(error) => return Err(error),
    };
    let stored = stored.as_ref().and_then(|definition| definition.get("taskDefinitionArn")).and_then(Json::as_str);
    Ok(vec![match stored {
        Some(arn) => arn.to_owned(),
        None if reference.starts_with("arn:") => reference.to_owned(),
        None => ecs::arn(ctx.app, "task-definition", reference),
    }])
}

fn task_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let cluster = cluster_arn(ctx.app, ctx.body);
    Ok(vec![task_arn(ctx.app, &cluster, ecs::required(ctx.body, "task")?)])
}

fn container_instance_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![ecs::required(ctx.body, "containerInstance")?.to_owned()])
}

/// The task ARN a reference names (an ARN, or the id within the cluster).
fn task_arn(app: &App, cluster: &str, reference: &str) -> String {
    if reference.starts_with("arn:") {
        return reference.to_owned();
    }
    let cluster_name = cluster.rsplit('/').next().unwrap_or_default();
    ecs::arn(app, "task", &format!("{cluster_name}/{reference}"))
}

/// The id of a task: the last part of its ARN (also its role sessions' name).
pub(crate) fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// A stored task.
#[derive(Debug, Clone)]
pub(crate) struct TaskRow {
    pub arn: String,
    pub cluster_arn: String,
    pub container_instance_arn: Option<String>,
    pub desired_status: String,
    pub last_status: String,
    pub body: Json,
    pub payload: Json,
    pub version: i64,
    pub updated_seq: i64,
    pub reserved_cpu: i64,
    pub reserved_memory: i64,
}

impl TaskRow {
    const COLUMNS: &str =
        "arn, cluster_arn, container_instance_arn, desired_status, last_status, body, payload, version, updated_seq,
                           reserved_cpu, reserved_memory";

    fn from_row(row: &store::Row) -> Result<TaskRow, AwsError> {
        Ok(TaskRow {
            arn: row.text(0).map_err(internal)?,
            cluster_arn: row.text(1).map_err(internal)?,
            container_instance_arn: row.opt_text(2).map_err(internal)?,
            desired_status: row.text(3).map_err(internal)?,
            last_status: row.text(4).map_err(internal)?,
            body: ecs::json_column(row, 5)?,
            payload: ecs::json_column(row, 6)?,
            version: row.int(7).map_err(internal)?,
            updated_seq: row.int(8).map_err(internal)?,
            reserved_cpu: row.int(9).map_err(internal)?,
            reserved_memory: row.int(10).map_err(internal)?,
        })
    }

    /// ECS's `Task` shape: the stored document with the current statuses.
    pub(crate) fn describe(&self) -> Json {
        let mut task = self.body.clone();
        put(&mut task, "lastStatus", self.last_status.as_str());
        put(&mut task, "desiredStatus", self.desired_status.as_str());
        put(&mut task, "version", self.version + 1);
        task
    }

    /// What the agent needs to run it (a `TaskMessage`'s `task`).
    fn message(&self) -> Json {
        let mut payload = self.payload.clone();
        put(&mut payload, "taskArn", self.arn.as_str());
        put(&mut payload, "desiredStatus", self.desired_status.as_str());
        payload
    }
}

pub(crate) async fn load_tasks(app: &App, condition: &str, params: Vec<Value>) -> Result<Vec<TaskRow>, AwsError> {
    let rows = app
        .store
        .query(&format!("SELECT {} FROM ecs_tasks WHERE {condition}", TaskRow::COLUMNS), params)
        .await
        .map_err(internal)?;
    rows.iter().map(TaskRow::from_row).collect()
}

pub(crate) async fn load_task(app: &App, arn: &str) -> Result<Option<TaskRow>, AwsError> {
    Ok(load_tasks(app, "arn = ? AND account_id = ?", vec![arn.into(), app.account_id.as_str().into()])
        .await?
        .into_iter()
        .next())
}

/// The statements that take the next task sequence number and give it to `arn`.
fn sequence_statements(arn: &str) -> [Statement; 2] {
    [
        Statement::new("UPDATE ecs_sequence SET value = value + 1 WHERE name = 'tasks'", Vec::new()),
        Statement::new(
            "UPDATE ecs_tasks SET updated_seq = (SELECT value FROM ecs_sequence WHERE name = 'tasks') WHERE arn = ?",
            vec![arn.into()],
        ),
    ]
}

/// Applies `change` to a task and writes it if it still has the version it was read at,
/// retrying on a concurrent change. `change` returns whether the agent must hear of it (its
/// desired state changed), which takes a new sequence number and wakes its poll.
pub(crate) async fn update_task(
    app: &App,
    arn: &str,
    mut change: impl FnMut(&mut TaskRow) -> Result<bool, AwsError>,
) -> Result<TaskRow, AwsError> {
    for _ in 0..8 {
        let mut task =
            load_task(app, arn).await?.ok_or_else(|| invalid_parameter("The referenced task was not found."))?;
        let version = task.version;
        let before = task.last_status.clone();
        let notify = change(&mut task)?;
        task.version = version + 1;
        let stopped_at = task.body.get("stoppedAt").and_then(Json::as_i64);
        let mut statements = vec![Statement::guard(
            "UPDATE ecs_tasks SET desired_status = ?, last_status = ?, body = ?, version = ?, stopped_at = ?
             WHERE arn = ? AND version = ?",
            vec![
                task.desired_status.as_str().into(),
                task.last_status.as_str().into(),
                task.body.to_string().into(),
                Value::Int(task.version),
                Value::from(stopped_at),
                arn.into(),
                Value::Int(version),
            ],
        )];
        if notify {
            statements.extend(sequence_statements(arn));
        }
        statements.extend(counter_statement(&task, &before));
        match app.store.transaction(statements).await {
            Ok(_) => {
                if let (true, Some(instance)) = (notify, &task.container_instance_arn) {
                    app.ecs_channels.wake(instance);
                }
                return Ok(task);
            }
            Err(store::StoreError::Unmet(_)) => continue,
            Err(error) => return Err(internal(error)),
        }
    }
    Err(AwsError::new("ServerException", 500, "The task is changing too quickly; retry."))
}

/// What a task's move from `before` to its current state changes in its instance's counters:
/// a task that stops frees what it reserved; one that starts running moves from pending to
/// running.
fn counter_statement(task: &TaskRow, before: &str) -> Option<Statement> {
    let instance = task.container_instance_arn.as_deref()?;
    let (was_live, is_live) = (before != "STOPPED", task.last_status != "STOPPED");
    let (was_running, is_running) = (before == "RUNNING", task.last_status == "RUNNING");
    let counter = |running: bool| if running { "running_tasks" } else { "pending_tasks" };
    if was_live && !is_live {
        Some(Statement::new(
            format!(
                "UPDATE ecs_container_instances SET reserved_cpu = reserved_cpu - ?, reserved_memory = reserved_memory - ?,
                        {0} = {0} - 1 WHERE arn = ?",
                counter(was_running)
            ),
            vec![Value::Int(task.reserved_cpu), Value::Int(task.reserved_memory), instance.into()],
        ))
    } else if was_live && !was_running && is_running {
        Some(Statement::new(
            "UPDATE ecs_container_instances SET pending_tasks = pending_tasks - 1, running_tasks = running_tasks + 1 WHERE arn = ?",
            vec![instance.into()],
        ))
    } else {
        None
    }
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

/// A validated launch: the task definition with overrides, and how tasks are labelled.
pub(crate) struct Launch {
    pub definition: Json,
    pub containers: Vec<Json>,
    pub overrides: Json,
    pub demand: Demand,
    pub started_by: Option<String>,
    pub group: String,
    pub tags: Vec<(String, String)>,
    pub service_name: Option<String>,
    pub client_token: Option<String>,
}

/// Reads the launch parameters RunTask, StartTask, CreateService and UpdateService share,
/// checking that the caller may pass (`iam:PassRole` to `ecs-tasks.amazonaws.com`) every role
/// the tasks will run with: the task definition's own task and execution roles as much as
/// those the overrides name. Whoever registered the definition passed them to it, not to
/// this caller's tasks.
pub(crate) async fn launch(ctx: &Ctx<'_>, body: &Json) -> Result<Launch, AwsError> {
    let launched = launch_from(ctx.app, body).await?;
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
pub(crate) async fn launch_from(app: &App, body: &Json) -> Result<Launch, AwsError> {
    let reference = ecs::required(body, "taskDefinition")?;
    let definition = find_task_definition(app, reference)
        .await?
        .filter(|d| d.get("status").and_then(Json::as_str) == Some("ACTIVE") || reference.contains(':'))
        .ok_or_else(|| client("Unable to describe task definition."))?;
    if definition.get("networkMode").and_then(Json::as_str) == Some("awsvpc") {
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

/// Records one task per placement (and what it reserves, in its instance's counters) and
/// wakes the agents: what RunTask, StartTask and the service scheduler have in common. The
/// caller holds the cluster's placement lock.
pub(crate) async fn create_tasks(
    app: &App,
    cluster: &Cluster,
    launch: &Launch,
    placed: &[String],
) -> Result<Vec<TaskRow>, AwsError> {
    let now = ids::now();
    let cluster_name = cluster.name.as_str();
    let mut statements = Vec::new();
    let mut tasks = Vec::new();
    for instance_arn in placed {
        let id = ids::uuid().map_err(internal)?.replace('-', "");
        let arn = ecs::arn(app, "task", &format!("{cluster_name}/{id}"));
        let containers: Vec<Json> = launch
            .containers
            .iter()
            .map(|c| {
                let name = c.get("name").and_then(Json::as_str).unwrap_or_default();
                let mut container = json!({
                    "containerArn": ecs::arn(app, "container", &format!("{cluster_name}/{id}/{}", ids::uuid().unwrap_or_default())),
                    "taskArn": arn,
                    "name": name,
                    "image": c.get("image").cloned().unwrap_or(Json::Null),
                    "lastStatus": "PENDING",
                    "networkBindings": [],
                    "networkInterfaces": [],
                    "healthStatus": "UNKNOWN",
                    "cpu": c.get("cpu").and_then(Json::as_i64).unwrap_or(0).to_string(),
                });
                if let Some(memory) = c.get("memory").and_then(Json::as_i64) {
                    put(&mut container, "memory", memory.to_string());
                }
                if let Some(reservation) = c.get("memoryReservation").and_then(Json::as_i64) {
                    put(&mut container, "memoryReservation", reservation.to_string());
                }
                container
            })
            .collect();
        let mut body = json!({
            "taskArn": arn,
            "clusterArn": cluster.arn,
            "taskDefinitionArn": launch.definition.get("taskDefinitionArn").cloned().unwrap_or(Json::Null),
            "containerInstanceArn": instance_arn,
            "overrides": launch.overrides,
            "cpu": launch.demand.cpu.to_string(),
            "memory": launch.demand.memory.to_string(),
            "containers": containers,
            "createdAt": now,
            "group": launch.group,
            "launchType": "EXTERNAL",
            "attachments": [],
            "tags": launch.tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
            "healthStatus": "UNKNOWN",
            "enableExecuteCommand": false,
        });
        if let Some(started_by) = &launch.started_by {
            put(&mut body, "startedBy", started_by.as_str());
        }
        let mut payload = json!({
            "family": launch.definition.get("family").cloned().unwrap_or(Json::Null),
            "revision": launch.definition.get("revision").cloned().unwrap_or(Json::Null),
            "networkMode": launch.definition.get("networkMode").cloned().unwrap_or(json!("bridge")),
            "containers": launch.containers,
        });
        for member in ["taskRoleArn", "executionRoleArn"] {
            if let Some(value) = launch.definition.get(member) {
                put(&mut payload, member, value.clone());
            }
        }
        statements.push(Statement::new(
            "INSERT INTO ecs_tasks (arn, account_id, cluster_arn, container_instance_arn, task_definition_arn, service_name, started_by,
                                    task_group, desired_status, last_status, body, payload, version, reserved_cpu, reserved_memory,
                                    reserved_ports, client_token, created_at, updated_seq)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'RUNNING', 'PENDING', ?, ?, 0, ?, ?, ?, ?, ?, 0)",
            vec![
                arn.as_str().into(),
                app.account_id.as_str().into(),
                cluster.arn.as_str().into(),
                instance_arn.as_str().into(),
                launch.definition.get("taskDefinitionArn").and_then(Json::as_str).unwrap_or_default().into(),
                Value::from(launch.service_name.clone()),
                Value::from(launch.started_by.clone()),
                launch.group.as_str().into(),
                body.to_string().into(),
                payload.to_string().into(),
                Value::Int(launch.demand.cpu),
                Value::Int(launch.demand.memory),
                serde_json::to_string(&launch.demand.ports).map_err(internal)?.into(),
                Value::from(launch.client_token.clone()),
                Value::Int(now),
            ],
        ));
        statements.extend(sequence_statements(&arn));
        statements.push(Statement::new(
            "UPDATE ecs_container_instances SET reserved_cpu = reserved_cpu + ?, reserved_memory = reserved_memory + ?,
                    pending_tasks = pending_tasks + 1 WHERE arn = ?",
            vec![Value::Int(launch.demand.cpu), Value::Int(launch.demand.memory), instance_arn.as_str().into()],
        ));
        statements.extend(ecs::set_tags(&app.account_id, &arn, &launch.tags));
        tasks.push(TaskRow {
            arn,
            cluster_arn: cluster.arn.clone(),
            container_instance_arn: Some(instance_arn.clone()),
            desired_status: "RUNNING".to_owned(),
            last_status: "PENDING".to_owned(),
            body,
            payload,
            version: 0,
            updated_seq: 0,
            reserved_cpu: launch.demand.cpu,
            reserved_memory: launch.demand.memory,
        });
    }
    app.store.transaction(statements).await.map_err(internal)?;
    for instance in placed {
        app.ecs_channels.wake(instance);
    }
    Ok(tasks)
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
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    check_launch_type(ctx.body)?;
    unsupported::check_launch(ctx.operation.name, ctx.body)?;
    if ctx.body.get("networkConfiguration").is_some() {
        return Err(invalid_parameter(
            "Network Configuration is not valid for the given networkMode of this task definition.",
        ));
    }
    let count = count(ctx.body)?;
    let launch = launch(ctx, ctx.body).await?;
    if let Some(token) = &launch.client_token {
        let existing = load_tasks(
            ctx.app,
            "cluster_arn = ? AND client_token = ?",
            vec![cluster.arn.as_str().into(), token.as_str().into()],
        )
        .await?;
        if !existing.is_empty() {
            return Ok(json!({"tasks": existing.iter().map(TaskRow::describe).collect::<Vec<_>>(), "failures": []}));
        }
    }
    let mut constraints = scheduler::constraints(ctx.body.get("placementConstraints"))?;
    constraints.extend(scheduler::constraints(launch.definition.get("placementConstraints"))?);
    let strategies = scheduler::strategies(ctx.body.get("placementStrategy"))?;
    let lock = ctx.app.ecs_channels.placement_lock(&cluster.arn);
    let _placing = lock.lock().await;
    let groups = scheduler::groups_needed(&constraints, &launch.group);
    let (instances, reserved) = instances_of(ctx.app, &cluster.arn, groups).await?;
    let now = ids::now();
    let seed = u64::try_from(now).unwrap_or(0) ^ 0x5eed;
    let placement = scheduler::place(
        &instances,
        &reserved,
        &launch.demand,
        count,
        &launch.group,
        &constraints,
        &strategies,
        now,
        seed,
    );
    let tasks = create_tasks(ctx.app, &cluster, &launch, &placement.placed).await?;
    Ok(json!({"tasks": tasks.iter().map(TaskRow::describe).collect::<Vec<_>>(), "failures": failures(&placement)}))
}

async fn start_task(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    unsupported::check_launch(ctx.operation.name, ctx.body)?;
    let references: Vec<&str> = ecs::strings(ctx.body, "containerInstances");
    if references.is_empty() || references.len() > MAX_TASKS_PER_CALL {
        return Err(invalid_parameter("containerInstances must have between 1 and 10 items."));
    }
    let launch = launch(ctx, ctx.body).await?;
    let lock = ctx.app.ecs_channels.placement_lock(&cluster.arn);
    let _placing = lock.lock().await;
    let (instances, reserved) = instances_of(ctx.app, &cluster.arn, Groups::None).await?;
    let cluster_name = cluster.name.as_str();
    let now = ids::now();
    let mut placed = Vec::new();
    let mut placement = Placement::default();
    for reference in references {
        let arn = match reference.starts_with("arn:") {
            true => reference.to_owned(),
            false => ecs::arn(ctx.app, "container-instance", &format!("{cluster_name}/{reference}")),
        };
        let Some(instance) = instances.iter().find(|i| i.arn == arn && i.status == "ACTIVE") else {
            placement.failures.push((Some(arn), "MISSING".to_owned()));
            continue;
        };
        // StartTask names the instance; it still must have room.
        let one = scheduler::place(
            std::slice::from_ref(instance),
            &reserved,
            &launch.demand,
            1,
            &launch.group,
            &[],
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

/// Marks a task to stop (ECS's `stopCode` and `stoppedReason`); a task whose instance is gone
/// stops at once, since no agent will report it.
pub(crate) async fn stop(app: &App, arn: &str, stop_code: &str, reason: &str) -> Result<TaskRow, AwsError> {
    let instance_gone = match load_task(app, arn).await?.and_then(|t| t.container_instance_arn) {
        Some(instance) => app
            .store
            .query(
                "SELECT 1 FROM ecs_container_instances WHERE arn = ? AND status <> 'INACTIVE'",
                vec![instance.as_str().into()],
            )
            .await
            .map_err(internal)?
            .is_empty(),
        None => true,
    };
    let now = ids::now();
    update_task(app, arn, |task| {
        if task.desired_status == "STOPPED" {
            return Ok(false);
        }
        task.desired_status = "STOPPED".to_owned();
        put(&mut task.body, "stoppingAt", now);
        put(&mut task.body, "stopCode", stop_code);
        put(&mut task.body, "stoppedReason", reason);
        if instance_gone {
            task.last_status = "STOPPED".to_owned();
            put(&mut task.body, "stoppedAt", now);
        }
        Ok(true)
    })
    .await
}

async fn stop_task(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    let arn = task_arn(ctx.app, &cluster.arn, ecs::required(ctx.body, "task")?);
    let reason = ctx.body.get("reason").and_then(Json::as_str).unwrap_or("Task stopped by user");
    if reason.len() > 255 {
        return Err(invalid_parameter("reason can have at most 255 characters."));
    }
    let task = stop(ctx.app, &arn, "UserInitiated", reason).await?;
    Ok(json!({"task": task.describe()}))
}

async fn describe_tasks(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    let references: Vec<&str> = ecs::strings(ctx.body, "tasks");
    if references.is_empty() || references.len() > 100 {
        return Err(invalid_parameter("Tasks cannot be empty and can have at most 100 items."));
    }
    let include_tags = ecs::includes(ctx.body, "TAGS");
    let mut tasks = Vec::new();
    let mut failures = Vec::new();
    for reference in references {
        let arn = task_arn(ctx.app, &cluster.arn, reference);
        match load_task(ctx.app, &arn).await?.filter(|t| t.cluster_arn == cluster.arn) {
            Some(task) => {
                let mut described = task.describe();
                if !include_tags {
                    put(&mut described, "tags", json!([]));
                }
                tasks.push(described);
            }
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    Ok(json!({"tasks": tasks, "failures": failures}))
}

async fn list_tasks(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    let page = ecs::Page::from_body(ctx.body, 100, 100)?;
    let desired = ctx.body.get("desiredStatus").and_then(Json::as_str).unwrap_or("RUNNING");
    if !["RUNNING", "PENDING", "STOPPED"].contains(&desired) {
        return Err(invalid_parameter("desiredStatus must be RUNNING, PENDING or STOPPED."));
    }
    let text = |member: &str| ctx.body.get(member).and_then(Json::as_str);
    let mut condition = String::from("cluster_arn = ?");
    let mut params: Vec<Value> = vec![cluster.arn.as_str().into()];
    // PENDING lists tasks meant to run that do not run yet.
    match desired {
        "PENDING" => condition.push_str(" AND desired_status = 'RUNNING' AND last_status <> 'RUNNING'"),
        status => {
            condition.push_str(" AND desired_status = ?");
            params.push(status.into());
        }
    }
    if let Some(instance) = text("containerInstance") {
        let arn = match instance.starts_with("arn:") {
            true => instance.to_owned(),
            false => ecs::arn(ctx.app, "container-instance", &format!("{}/{instance}", cluster.name)),
        };
        condition.push_str(" AND container_instance_arn = ?");
        params.push(arn.into());
    }
    if let Some(started_by) = text("startedBy") {
        condition.push_str(" AND started_by = ?");
        params.push(started_by.into());
    }
    if let Some(service) = text("serviceName") {
        condition.push_str(" AND service_name = ?");
        params.push(service.into());
    }
    if let Some(family) = text("family") {
        condition.push_str(" AND task_group = ?");
        params.push(format!("family:{family}").into());
    }
    condition.push_str(" ORDER BY created_at, arn");
    let tasks = load_tasks(ctx.app, &condition, params).await?;
    Ok(page.answer("taskArns", tasks.into_iter().map(|t| Json::String(t.arn)).collect()))
}

/// The task a state report names, which must run on the reporting instance.
async fn reported_task(ctx: &Ctx<'_>) -> Result<(Cluster, String), AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    let arn = task_arn(ctx.app, &cluster.arn, ecs::required(ctx.body, "task")?);
    let task =
        load_task(ctx.app, &arn).await?.ok_or_else(|| invalid_parameter("The referenced task was not found."))?;
    let reporter = caller_instance(ctx);
    let owner = match &task.container_instance_arn {
        Some(instance) => ctx
            .app
            .store
            .query("SELECT instance_id FROM ecs_container_instances WHERE arn = ?", vec![instance.as_str().into()])
            .await
            .map_err(internal)?
            .first()
            .and_then(|row| row.text(0).ok()),
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

/// The order of task states: a report never moves a task back.
fn rank(status: &str) -> u8 {
    match status {
        "PROVISIONING" => 0,
        "PENDING" => 1,
        "ACTIVATING" => 2,
        "RUNNING" => 3,
        "DEACTIVATING" | "STOPPING" | "DEPROVISIONING" => 4,
        "STOPPED" => 5,
        _ => 0,
    }
}

/// Applies one container's reported state to a task document.
fn apply_container(body: &mut Json, report: &Json) {
    let name = report.get("containerName").and_then(Json::as_str).unwrap_or_default();
    let Some(containers) = body.get_mut("containers").and_then(Json::as_array_mut) else { return };
    let Some(container) = containers.iter_mut().find(|c| c.get("name").and_then(Json::as_str) == Some(name)) else {
        return;
    };
    if let Some(status) = report.get("status").and_then(Json::as_str) {
        put(container, "lastStatus", status);
    }
    for member in ["runtimeId", "exitCode", "reason", "networkBindings"] {
        if let Some(value) = report.get(member).filter(|v| !v.is_null()) {
            put(container, member, value.clone());
        }
    }
    // Homeport's agent adds the container's health (ECS's agent sends it on its own channel).
    if let Some(health) = report.get("healthStatus").and_then(Json::as_str).filter(|h| HEALTH.contains(h)) {
        put(container, "healthStatus", health);
    }
}

const HEALTH: [&str; 3] = ["HEALTHY", "UNHEALTHY", "UNKNOWN"];

/// The task's health from its containers', as ECS decides it: the essential containers
/// with a health check count (the others only when no essential one has a check); any
/// `UNHEALTHY` makes the task `UNHEALTHY`, else any `UNKNOWN` makes it `UNKNOWN`, else it is
/// `HEALTHY`; without a counted container it is `UNKNOWN`.
pub(crate) fn task_health(body: &Json, payload: &Json) -> &'static str {
    let definitions = payload.get("containers").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    let checked = |essential: bool| -> Vec<&str> {
        definitions
            .iter()
            .filter(|d| d.get("healthCheck").is_some_and(|h| !h.is_null()))
            .filter(|d| d.get("essential").and_then(Json::as_bool).unwrap_or(true) == essential)
            .filter_map(|d| d.get("name").and_then(Json::as_str))
            .collect()
    };
    let mut counted = checked(true);
    if counted.is_empty() {
        counted = checked(false);
    }
    let containers = body.get("containers").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    let health = |name: &str| {
        containers
            .iter()
            .find(|c| c.get("name").and_then(Json::as_str) == Some(name))
            .and_then(|c| c.get("healthStatus").and_then(Json::as_str))
            .unwrap_or("UNKNOWN")
    };
    let statuses: Vec<&str> = counted.iter().map(|name| health(name)).collect();
    if statuses.contains(&"UNHEALTHY") {
        "UNHEALTHY"
    } else if statuses.is_empty() || statuses.contains(&"UNKNOWN") {
        "UNKNOWN"
    } else {
        "HEALTHY"
    }
}

/// Applies a report's containers and recomputes the task's health.
fn apply_containers(task: &mut TaskRow, reports: &[Json]) {
    for report in reports {
        apply_container(&mut task.body, report);
    }
    let health = task_health(&task.body, &task.payload);
    put(&mut task.body, "healthStatus", health);
}

async fn submit_task_state_change(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (_, arn) = reported_task(ctx).await?;
    let status = ecs::required(ctx.body, "status")?.to_owned();
    if !["PENDING", "RUNNING", "STOPPED"].contains(&status.as_str()) {
        return Err(invalid_parameter("status must be PENDING, RUNNING or STOPPED."));
    }
    let now = ids::now();
    let body = ctx.body.clone();
    update_task(ctx.app, &arn, |task| {
        // A report never moves a task back, and a stopped task stays as it stopped: the agent
        // retries a report until it is acknowledged (and reports a stop again for a task it
        // learns of only once it is stopped), which must not move stoppedAt or its reason.
        if rank(&status) < rank(&task.last_status) || (status == "STOPPED" && task.last_status == "STOPPED") {
            return Ok(false);
        }
        let reports = body.get("containers").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
        apply_containers(task, reports);
        for member in ["pullStartedAt", "pullStoppedAt", "executionStoppedAt"] {
            if let Some(value) = body.get(member).and_then(crate::ssm::epoch) {
                put(&mut task.body, member, value);
            }
        }
        task.last_status = status.clone();
        let mut desired_changed = false;
        match status.as_str() {
            "RUNNING" => {
                if task.body.get("startedAt").is_none() {
                    put(&mut task.body, "startedAt", now);
                }
                put(&mut task.body, "connectivity", "CONNECTED");
                put(&mut task.body, "connectivityAt", now);
            }
            "STOPPED" => {
                put(&mut task.body, "stoppedAt", now);
                if task.desired_status != "STOPPED" {
                    // It stopped on its own: ECS records why and no longer wants it running.
                    task.desired_status = "STOPPED".to_owned();
                    desired_changed = true;
                    let reason =
                        body.get("reason").and_then(Json::as_str).unwrap_or("Essential container in task exited");
                    let code = if task.body.get("startedAt").is_some() {
                        "EssentialContainerExited"
                    } else {
                        "TaskFailedToStart"
                    };
                    put(&mut task.body, "stopCode", code);
                    put(&mut task.body, "stoppedReason", reason);
                    put(&mut task.body, "stoppingAt", now);
                }
            }
            _ => {}
        }
        Ok(desired_changed)
    })
    .await?;
    Ok(json!({"acknowledgment": "ACK"}))
}

async fn submit_container_state_change(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (_, arn) = reported_task(ctx).await?;
    let report = ctx.body.clone();
    update_task(ctx.app, &arn, |task| {
        apply_containers(task, std::slice::from_ref(&report));
        Ok(false)
    })
    .await?;
    Ok(json!({"acknowledgment": "ACK"}))
}

/// The instance a poll comes from, which must be the caller's own.
pub(crate) async fn polling_instance(ctx: &Ctx<'_>) -> Result<ContainerInstance, AwsError> {
    let arn = ecs::required(ctx.body, "containerInstance")?;
    let cluster = cluster_arn(ctx.app, ctx.body);
    let instance = find_instance(ctx.app, arn)
        .await?
        .filter(|i| {
            i.status != "INACTIVE"
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

/// The tasks on an instance whose desired state changed after sequence number `after`.
async fn changed_since(app: &App, instance: &str, after: i64) -> Result<Vec<TaskRow>, AwsError> {
    load_tasks(
        app,
        "container_instance_arn = ? AND updated_seq > ? ORDER BY updated_seq",
        vec![instance.into(), Value::Int(after)],
    )
    .await
}

fn message_id(kind: &str, seq: i64) -> String {
    format!("{kind}-{seq}")
}

async fn poll(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let instance = polling_instance(ctx).await?;
    let after = ctx.body.get("sequenceNumber").and_then(Json::as_i64).unwrap_or(0).max(0);
    let wait =
        ctx.body.get("waitSeconds").and_then(Json::as_u64).unwrap_or(MAX_POLL_WAIT_SECONDS).min(MAX_POLL_WAIT_SECONDS);
    let notify = ctx.app.ecs_channels.notifier(&instance.arn);
    // Connectedness is kept to the second it matters at (60 s): record a poll every 10 s.
    let now = ids::now();
    if instance.last_poll_at.is_none_or(|at| now - at >= POLL_RECORD_SECONDS) {
        ctx.app
            .store
            .execute(
                "UPDATE ecs_container_instances SET last_poll_at = ?, acked_seq = ? WHERE arn = ?",
                vec![Value::Int(now), Value::Int(after), instance.arn.as_str().into()],
            )
            .await
            .map_err(internal)?;
    }
    let mut messages = Vec::new();
    // Stop verification: of the tasks the agent runs unlisted, those that are not to run.
    let candidates: Vec<&str> = ctx
        .body
        .get("stopCandidates")
        .and_then(Json::as_array)
        .map(|c| c.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    if !candidates.is_empty() {
        let mut stop = Vec::new();
        for arn in candidates {
            let keep = load_task(ctx.app, arn).await?.is_some_and(|t| {
                t.desired_status == "RUNNING" && t.container_instance_arn.as_deref() == Some(instance.arn.as_str())
            });
            if !keep {
                stop.push(arn.to_owned());
            }
        }
        messages.push(json!({"messageId": message_id("stop-verification", after), "type": "StopVerificationAck", "stopTasks": stop}));
    }
    let mut tasks = changed_since(ctx.app, &instance.arn, after).await?;
    let manifest_due = ctx.app.ecs_channels.manifest_due(&instance.arn, MANIFEST_EVERY);
    if tasks.is_empty() && messages.is_empty() && !manifest_due && wait > 0 {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(wait), notify.notified()).await;
        tasks = changed_since(ctx.app, &instance.arn, after).await?;
    }
    let mut sequence = after;
    for task in &tasks {
        sequence = sequence.max(task.updated_seq);
        messages.push(json!({
            "messageId": message_id("task", task.updated_seq),
            "type": "TaskMessage",
            "seqNum": task.updated_seq,
            "task": task.message(),
        }));
    }
    if manifest_due {
        let all = load_tasks(
            ctx.app,
            "container_instance_arn = ? AND (desired_status = 'RUNNING' OR last_status <> 'STOPPED')",
            vec![instance.arn.as_str().into()],
        )
        .await?;
        let listed: Vec<Json> =
            all.iter().map(|t| json!({"taskArn": t.arn, "desiredStatus": t.desired_status})).collect();
        messages.push(json!({"messageId": message_id("manifest", sequence), "type": "TaskManifest", "seqNum": sequence, "tasks": listed}));
    }
    if messages.is_empty() {
        messages.push(json!({"messageId": message_id("heartbeat", sequence), "type": "Heartbeat"}));
    }
    Ok(json!({"sequenceNumber": sequence, "messages": messages}))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn task_health_follows_the_counted_containers() {
        let payload = json!({"containers": [
            {"name": "web", "essential": true, "healthCheck": {"command": ["CMD", "true"]}},
            {"name": "db", "healthCheck": {"command": ["CMD", "true"]}},
            {"name": "side", "essential": false, "healthCheck": {"command": ["CMD", "true"]}},
            {"name": "plain"},
        ]});
        let body = |web: &str, db: &str, side: &str| {
            json!({"containers": [
                {"name": "web", "healthStatus": web}, {"name": "db", "healthStatus": db},
                {"name": "side", "healthStatus": side}, {"name": "plain", "healthStatus": "UNKNOWN"},
            ]})
        };
        for (web, db, side, task) in [
            ("HEALTHY", "HEALTHY", "UNHEALTHY", "HEALTHY"),
            ("HEALTHY", "UNKNOWN", "HEALTHY", "UNKNOWN"),
            ("UNKNOWN", "UNHEALTHY", "HEALTHY", "UNHEALTHY"),
            ("UNKNOWN", "UNKNOWN", "HEALTHY", "UNKNOWN"),
        ] {
            assert_eq!(task_health(&body(web, db, side), &payload), task, "{web} {db} {side}");
        }
        // Only non-essential containers have checks: they count.
        let sidecar_only = json!({"containers": [
            {"name": "web"}, {"name": "side", "essential": false, "healthCheck": {"command": ["CMD", "true"]}},
        ]});
        let reported = |side: &str| json!({"containers": [{"name": "web"}, {"name": "side", "healthStatus": side}]});
        assert_eq!(task_health(&reported("HEALTHY"), &sidecar_only), "HEALTHY");
        assert_eq!(task_health(&reported("UNHEALTHY"), &sidecar_only), "UNHEALTHY");
        // No health check at all: UNKNOWN.
        assert_eq!(
            task_health(&json!({"containers": [{"name": "web"}]}), &json!({"containers": [{"name": "web"}]})),
            "UNKNOWN"
        );
    }
}
