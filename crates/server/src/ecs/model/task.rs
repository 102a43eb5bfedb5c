//! The task model: a task's statuses (`TaskStatus`, `DesiredStatus`), its state machine (what
//! may follow what; how a report, a stop and a lost instance are recorded), `TaskRow`, and
//! the SQL of `ecs_tasks` (with the instance counters and the sequence number its writes
//! keep).
//!
//! Guarantees: a task is recorded (with its placement and the resources it reserves) in one
//! transaction; every change of a task's desired state takes a new sequence number, so a
//! poll that asks for every change after the agent's last applied number converges whatever
//! it missed; task updates are optimistic (a version check in the writing statement), so
//! concurrent StopTask and state reports never overwrite each other; a task's status never
//! moves back, and a stopped task keeps how it stopped.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};
use store::{Statement, Store, Value};

use crate::app::App;
use crate::ecs::model::cluster::Cluster;
use crate::ecs::model::container_instance;
use crate::ecs::scheduler::Demand;
use crate::ecs::{self, invalid_parameter, put};
use crate::ids;
use crate::operations::internal;

/// A task's `lastStatus`: ECS's lifecycle, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskStatus {
    Provisioning,
    Pending,
    Activating,
    Running,
    Deactivating,
    Stopping,
    Deprovisioning,
    Stopped,
}

impl TaskStatus {
    pub(crate) const ALL: [TaskStatus; 8] = [
        TaskStatus::Provisioning,
        TaskStatus::Pending,
        TaskStatus::Activating,
        TaskStatus::Running,
        TaskStatus::Deactivating,
        TaskStatus::Stopping,
        TaskStatus::Deprovisioning,
        TaskStatus::Stopped,
    ];

    /// The word ECS uses (stored and answered as is).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Provisioning => "PROVISIONING",
            TaskStatus::Pending => "PENDING",
            TaskStatus::Activating => "ACTIVATING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Deactivating => "DEACTIVATING",
            TaskStatus::Stopping => "STOPPING",
            TaskStatus::Deprovisioning => "DEPROVISIONING",
            TaskStatus::Stopped => "STOPPED",
        }
    }

    /// The status `word` names, if it is one.
    pub(crate) fn parse(word: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|status| status.as_str() == word)
    }

    /// The statuses an agent reports (SubmitTaskStateChange's `status`).
    pub(crate) fn reported(word: &str) -> Option<TaskStatus> {
        TaskStatus::parse(word).filter(|s| matches!(s, TaskStatus::Pending | TaskStatus::Running | TaskStatus::Stopped))
    }

    /// Its place in the lifecycle: the stages of stopping share one.
    fn rank(self) -> u8 {
        match self {
            TaskStatus::Provisioning => 0,
            TaskStatus::Pending => 1,
            TaskStatus::Activating => 2,
            TaskStatus::Running => 3,
            TaskStatus::Deactivating | TaskStatus::Stopping | TaskStatus::Deprovisioning => 4,
            TaskStatus::Stopped => 5,
        }
    }

    /// Whether a task in this status may be reported as `next`: never back, and a stopped
    /// task never stops again (the agent retries a stop report until it is acknowledged,
    /// which must not move `stoppedAt` or its reason).
    pub(crate) fn may_become(self, next: TaskStatus) -> bool {
        next.rank() >= self.rank() && !(self == TaskStatus::Stopped && next == TaskStatus::Stopped)
    }

    /// Whether the task still holds what it reserved on its instance.
    pub(crate) fn is_live(self) -> bool {
        self != TaskStatus::Stopped
    }
}

/// A task's `desiredStatus`. Homeport stores `RUNNING` or `STOPPED`; `PENDING` is a filter of
/// ListTasks (meant to run, not running yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DesiredStatus {
    Running,
    Pending,
    Stopped,
}

impl DesiredStatus {
    pub(crate) const ALL: [DesiredStatus; 3] = [DesiredStatus::Running, DesiredStatus::Pending, DesiredStatus::Stopped];

    /// The word ECS uses (stored and answered as is).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DesiredStatus::Running => "RUNNING",
            DesiredStatus::Pending => "PENDING",
            DesiredStatus::Stopped => "STOPPED",
        }
    }

    /// The desired status `word` names, if it is one.
    pub(crate) fn parse(word: &str) -> Option<DesiredStatus> {
        DesiredStatus::ALL.into_iter().find(|status| status.as_str() == word)
    }
}

fn stored<T>(word: &str, parse: fn(&str) -> Option<T>) -> Result<T, AwsError> {
    parse(word).ok_or_else(|| internal(format!("unknown task status `{word}`")))
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
    pub desired_status: DesiredStatus,
    pub last_status: TaskStatus,
    pub body: Json,
    pub payload: Json,
    pub version: i64,
    pub updated_seq: i64,
    pub reserved_cpu: i64,
    pub reserved_memory: i64,
}

/// What an agent reported of a task (SubmitTaskStateChange), decoded.
pub(crate) struct StateReport<'a> {
    pub status: TaskStatus,
    /// Its containers' reports.
    pub containers: &'a [Json],
    /// `pullStartedAt` and the like, as epoch seconds.
    pub times: Vec<(&'static str, Json)>,
    /// Why it stopped, if it stopped on its own.
    pub reason: Option<&'a str>,
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
            desired_status: stored(&row.text(3).map_err(internal)?, DesiredStatus::parse)?,
            last_status: stored(&row.text(4).map_err(internal)?, TaskStatus::parse)?,
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
    pub(crate) fn message(&self) -> Json {
        let mut payload = self.payload.clone();
        put(&mut payload, "taskArn", self.arn.as_str());
        put(&mut payload, "desiredStatus", self.desired_status.as_str());
        payload
    }

    /// Whether the task is to run on `instance` (what stop verification keeps).
    pub(crate) fn meant_to_run_on(&self, instance: &str) -> bool {
        self.desired_status == DesiredStatus::Running && self.container_instance_arn.as_deref() == Some(instance)
    }

    /// Records an agent's report; returns whether the desired state changed (the agent must
    /// hear of it). A report that would move the task back, or stop it again, changes
    /// nothing.
    pub(crate) fn record_report(&mut self, report: &StateReport<'_>, now: i64) -> bool {
        if !self.last_status.may_become(report.status) {
            return false;
        }
        self.apply_containers(report.containers);
        for (member, value) in &report.times {
            put(&mut self.body, member, value.clone());
        }
        self.last_status = report.status;
        match report.status {
            TaskStatus::Running => {
                if self.body.get("startedAt").is_none() {
                    put(&mut self.body, "startedAt", now);
                }
                put(&mut self.body, "connectivity", "CONNECTED");
                put(&mut self.body, "connectivityAt", now);
                false
            }
            TaskStatus::Stopped => {
                put(&mut self.body, "stoppedAt", now);
                if self.desired_status == DesiredStatus::Stopped {
                    return false;
                }
                // It stopped on its own: ECS records why and no longer wants it running.
                self.desired_status = DesiredStatus::Stopped;
                let reason = report.reason.unwrap_or("Essential container in task exited");
                let code =
                    if self.body.get("startedAt").is_some() { "EssentialContainerExited" } else { "TaskFailedToStart" };
                put(&mut self.body, "stopCode", code);
                put(&mut self.body, "stoppedReason", reason);
                put(&mut self.body, "stoppingAt", now);
                true
            }
            _ => false,
        }
    }

    /// Records that the task is to stop (ECS's `stopCode` and `stoppedReason`); returns
    /// whether that is news (a task already told to stop keeps its first reason). A task whose
    /// instance is gone is stopped at once, since no agent will report it.
    pub(crate) fn record_stop(&mut self, stop_code: &str, reason: &str, now: i64, instance_gone: bool) -> bool {
        if self.desired_status == DesiredStatus::Stopped {
            return false;
        }
        self.desired_status = DesiredStatus::Stopped;
        put(&mut self.body, "stoppingAt", now);
        put(&mut self.body, "stopCode", stop_code);
        put(&mut self.body, "stoppedReason", reason);
        if instance_gone {
            self.last_status = TaskStatus::Stopped;
            put(&mut self.body, "stoppedAt", now);
        }
        true
    }

    /// Records that the task stopped with its lost instance (the service scheduler's doing).
    pub(crate) fn record_lost(&mut self, reason: &str, now: i64) {
        self.desired_status = DesiredStatus::Stopped;
        self.last_status = TaskStatus::Stopped;
        put(&mut self.body, "stopCode", "ServiceSchedulerInitiated");
        put(&mut self.body, "stoppedReason", reason);
        put(&mut self.body, "stoppingAt", now);
        put(&mut self.body, "stoppedAt", now);
    }

    /// Applies containers' reports and recomputes the task's health.
    pub(crate) fn apply_containers(&mut self, reports: &[Json]) {
        for report in reports {
            apply_container(&mut self.body, report);
        }
        let health = task_health(&self.body, &self.payload);
        put(&mut self.body, "healthStatus", health);
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

/// The tasks matching `condition` (SQL over `ecs_tasks`, with `?` for `params`).
pub(crate) async fn load_tasks(store: &Store, condition: &str, params: Vec<Value>) -> Result<Vec<TaskRow>, AwsError> {
    let rows = store
        .query(&format!("SELECT {} FROM ecs_tasks WHERE {condition}", TaskRow::COLUMNS), params)
        .await
        .map_err(internal)?;
    rows.iter().map(TaskRow::from_row).collect()
}

/// One task of `account` by ARN.
pub(crate) async fn load_task(store: &Store, account: &str, arn: &str) -> Result<Option<TaskRow>, AwsError> {
    Ok(load_tasks(store, "arn = ? AND account_id = ?", vec![arn.into(), account.into()]).await?.into_iter().next())
}

/// The tasks a RunTask with this client token already started in the cluster.
pub(crate) async fn started_with_token(
    store: &Store,
    cluster_arn: &str,
    token: &str,
) -> Result<Vec<TaskRow>, AwsError> {
    load_tasks(store, "cluster_arn = ? AND client_token = ?", vec![cluster_arn.into(), token.into()]).await
}

/// The tasks on an instance whose desired state changed after sequence number `after`, in
/// the order of their changes.
pub(crate) async fn changed_since(store: &Store, instance: &str, after: i64) -> Result<Vec<TaskRow>, AwsError> {
    load_tasks(
        store,
        "container_instance_arn = ? AND updated_seq > ? ORDER BY updated_seq",
        vec![instance.into(), Value::Int(after)],
    )
    .await
}

/// The tasks an instance is to run or has not yet stopped (its manifest).
pub(crate) async fn on_instance(store: &Store, instance: &str) -> Result<Vec<TaskRow>, AwsError> {
    load_tasks(
        store,
        "container_instance_arn = ? AND (desired_status = ? OR last_status <> ?)",
        vec![instance.into(), DesiredStatus::Running.as_str().into(), TaskStatus::Stopped.as_str().into()],
    )
    .await
}

/// A service's tasks that are meant to run, oldest first.
pub(crate) async fn of_service(store: &Store, cluster_arn: &str, service: &str) -> Result<Vec<TaskRow>, AwsError> {
    load_tasks(
        store,
        "cluster_arn = ? AND service_name = ? AND desired_status = ? ORDER BY created_at, arn",
        vec![cluster_arn.into(), service.into(), DesiredStatus::Running.as_str().into()],
    )
    .await
}

/// What ListTasks filters on.
pub(crate) struct TaskFilter<'a> {
    pub cluster_arn: &'a str,
    /// `Pending` lists tasks meant to run that do not run yet.
    pub desired: DesiredStatus,
    pub container_instance_arn: Option<String>,
    pub started_by: Option<&'a str>,
    pub service_name: Option<&'a str>,
    pub family: Option<&'a str>,
}

/// The ARNs of the tasks `filter` matches, oldest first.
pub(crate) async fn list(store: &Store, filter: &TaskFilter<'_>) -> Result<Vec<String>, AwsError> {
    let mut condition = String::from("cluster_arn = ?");
    let mut params: Vec<Value> = vec![filter.cluster_arn.into()];
    match filter.desired {
        DesiredStatus::Pending => {
            condition.push_str(" AND desired_status = ? AND last_status <> ?");
            params.push(DesiredStatus::Running.as_str().into());
            params.push(TaskStatus::Running.as_str().into());
        }
        status => {
            condition.push_str(" AND desired_status = ?");
            params.push(status.as_str().into());
        }
    }
    if let Some(arn) = &filter.container_instance_arn {
        condition.push_str(" AND container_instance_arn = ?");
        params.push(arn.as_str().into());
    }
    if let Some(started_by) = filter.started_by {
        condition.push_str(" AND started_by = ?");
        params.push(started_by.into());
    }
    if let Some(service) = filter.service_name {
        condition.push_str(" AND service_name = ?");
        params.push(service.into());
    }
    if let Some(family) = filter.family {
        condition.push_str(" AND task_group = ?");
        params.push(format!("family:{family}").into());
    }
    condition.push_str(" ORDER BY created_at, arn");
    Ok(load_tasks(store, &condition, params).await?.into_iter().map(|t| t.arn).collect())
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

/// A task as written by `update`, and whether its agent must hear of it.
pub(crate) struct Updated {
    pub task: TaskRow,
    pub notify: bool,
}

/// Applies `change` to a task of `account` and writes it if it still has the version it was
/// read at, retrying on a concurrent change. `change` returns whether the agent must hear of
/// it (its desired state changed), which takes a new sequence number.
pub(crate) async fn update(
    store: &Store,
    account: &str,
    arn: &str,
    mut change: impl FnMut(&mut TaskRow) -> Result<bool, AwsError>,
) -> Result<Updated, AwsError> {
    for _ in 0..8 {
        let mut task = load_task(store, account, arn)
            .await?
            .ok_or_else(|| invalid_parameter("The referenced task was not found."))?;
        let version = task.version;
        let before = task.last_status;
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
        statements.extend(counter_statement(&task, before));
        match store.transaction(statements).await {
            Ok(_) => return Ok(Updated { task, notify }),
            Err(store::StoreError::Unmet(_)) => continue,
            Err(error) => return Err(internal(error)),
        }
    }
    Err(AwsError::new("ServerException", 500, "The task is changing too quickly; retry."))
}

/// `update`, then wakes the poll of the task's instance when its agent must hear of it.
pub(crate) async fn update_task(
    app: &App,
    arn: &str,
    change: impl FnMut(&mut TaskRow) -> Result<bool, AwsError>,
) -> Result<TaskRow, AwsError> {
    let Updated { task, notify } = update(&app.store, &app.account_id, arn, change).await?;
    if let (true, Some(instance)) = (notify, &task.container_instance_arn) {
        crate::ecs::channel::channels(app)?.wake(instance);
    }
    Ok(task)
}

/// What a task's move from `before` to its current state changes in its instance's counters:
/// a task that stops frees what it reserved; one that starts running moves from pending to
/// running.
fn counter_statement(task: &TaskRow, before: TaskStatus) -> Option<Statement> {
    let instance = task.container_instance_arn.as_deref()?;
    let (was_live, is_live) = (before.is_live(), task.last_status.is_live());
    let (was_running, is_running) = (before == TaskStatus::Running, task.last_status == TaskStatus::Running);
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

/// Marks a task to stop (ECS's `stopCode` and `stoppedReason`); a task whose instance is gone
/// stops at once, since no agent will report it.
pub(crate) async fn stop(app: &App, arn: &str, stop_code: &str, reason: &str) -> Result<TaskRow, AwsError> {
    let instance_gone = match load_task(&app.store, &app.account_id, arn).await?.and_then(|t| t.container_instance_arn)
    {
        Some(instance) => !container_instance::is_registered(&app.store, &instance).await?,
        None => true,
    };
    let now = ids::now();
    update_task(app, arn, |task| Ok(task.record_stop(stop_code, reason, now, instance_gone))).await
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
        tasks.push(TaskRow {
            arn,
            cluster_arn: cluster.arn.clone(),
            container_instance_arn: Some(instance_arn.clone()),
            desired_status: DesiredStatus::Running,
            last_status: TaskStatus::Pending,
            body,
            payload,
            version: 0,
            updated_seq: 0,
            reserved_cpu: launch.demand.cpu,
            reserved_memory: launch.demand.memory,
        });
    }
    insert(&app.store, &app.account_id, &tasks, launch, now).await?;
    for instance in placed {
        crate::ecs::channel::channels(app)?.wake(instance);
    }
    Ok(tasks)
}

/// Records new tasks of a launch (their rows, sequence numbers, tags, and what they reserve
/// in their instances' counters) in one transaction.
pub(crate) async fn insert(
    store: &Store,
    account: &str,
    tasks: &[TaskRow],
    launch: &Launch,
    now: i64,
) -> Result<(), AwsError> {
    let mut statements = Vec::new();
    for task in tasks {
        statements.push(Statement::new(
        "INSERT INTO ecs_tasks (arn, account_id, cluster_arn, container_instance_arn, task_definition_arn, service_name, started_by,
                                task_group, desired_status, last_status, body, payload, version, reserved_cpu, reserved_memory,
                                reserved_ports, client_token, created_at, updated_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, 0)",
        vec![
            task.arn.as_str().into(),
            account.into(),
            task.cluster_arn.as_str().into(),
            Value::from(task.container_instance_arn.clone()),
            launch.definition.get("taskDefinitionArn").and_then(Json::as_str).unwrap_or_default().into(),
            Value::from(launch.service_name.clone()),
            Value::from(launch.started_by.clone()),
            launch.group.as_str().into(),
            task.desired_status.as_str().into(),
            task.last_status.as_str().into(),
            task.body.to_string().into(),
            task.payload.to_string().into(),
            Value::Int(task.reserved_cpu),
            Value::Int(task.reserved_memory),
            serde_json::to_string(&launch.demand.ports).map_err(internal)?.into(),
            Value::from(launch.client_token.clone()),
            Value::Int(now),
        ],
    ));
        statements.extend(sequence_statements(&task.arn));
        statements.extend(ecs::set_tags(account, &task.arn, &launch.tags));
        let Some(instance_arn) = task.container_instance_arn.as_deref() else { continue };
        statements.push(Statement::new(
            "UPDATE ecs_container_instances SET reserved_cpu = reserved_cpu + ?, reserved_memory = reserved_memory + ?,
                pending_tasks = pending_tasks + 1 WHERE arn = ?",
            vec![Value::Int(task.reserved_cpu), Value::Int(task.reserved_memory), instance_arn.into()],
        ));
    }
    store.transaction(statements).await.map_err(internal)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::ecs::model::container_instance::tests::{ACCOUNT, CLUSTER, register, temp_store};
    use crate::ecs::model::container_instance::{SpecCache, find_instance, instances_of};

    fn task_arn(id: &str) -> String {
        format!("arn:aws:ecs:us-east-1:111122223333:task/edge/{id}")
    }

    /// A new task (as `create_tasks` makes it) on `instance`, reserving 256 CPU and 512 MiB.
    fn new_task(id: &str, instance: &str) -> TaskRow {
        TaskRow {
            arn: task_arn(id),
            cluster_arn: CLUSTER.to_owned(),
            container_instance_arn: Some(instance.to_owned()),
            desired_status: DesiredStatus::Running,
            last_status: TaskStatus::Pending,
            body: json!({"taskArn": task_arn(id), "containers": [{"name": "web", "lastStatus": "PENDING"}]}),
            payload: json!({"containers": [{"name": "web"}]}),
            version: 0,
            updated_seq: 0,
            reserved_cpu: 256,
            reserved_memory: 512,
        }
    }

    fn launch(group: &str) -> Launch {
        Launch {
            definition: json!({"taskDefinitionArn": "arn:aws:ecs:us-east-1:111122223333:task-definition/web:1"}),
            containers: Vec::new(),
            overrides: json!({}),
            demand: Demand { cpu: 256, memory: 512, ports: Vec::new() },
            started_by: None,
            group: group.to_owned(),
            tags: Vec::new(),
            service_name: None,
            client_token: Some("token-1".to_owned()),
        }
    }

    fn report(status: TaskStatus) -> StateReport<'static> {
        StateReport { status, containers: &[], times: Vec::new(), reason: None }
    }

    #[test]
    fn statuses_round_trip_through_their_words() {
        for status in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(status.as_str()), Some(status));
        }
        for status in DesiredStatus::ALL {
            assert_eq!(DesiredStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(TaskStatus::parse("DEPROVISIONING"), Some(TaskStatus::Deprovisioning));
        assert_eq!(TaskStatus::parse("running"), None, "words are case-sensitive, as ECS's");
        assert_eq!(DesiredStatus::parse("ACTIVATING"), None);
        // An agent reports three of them only.
        let reported: Vec<_> =
            TaskStatus::ALL.into_iter().filter(|s| TaskStatus::reported(s.as_str()).is_some()).collect();
        assert_eq!(reported, [TaskStatus::Pending, TaskStatus::Running, TaskStatus::Stopped]);
        assert!(stored("GONE", TaskStatus::parse).is_err());
    }

    #[test]
    fn a_status_never_moves_back_and_a_stopped_task_never_stops_again() {
        use TaskStatus::*;
        let allowed = [
            (Provisioning, Pending),
            (Pending, Pending),
            (Pending, Running),
            (Pending, Stopped),
            (Running, Running),
            (Running, Stopping),
            (Running, Stopped),
            (Stopping, Deprovisioning),
            (Deactivating, Stopped),
        ];
        for (from, to) in allowed {
            assert!(from.may_become(to), "{from:?} -> {to:?}");
        }
        let refused =
            [(Running, Pending), (Stopped, Running), (Stopped, Pending), (Stopped, Stopped), (Stopping, Running)];
        for (from, to) in refused {
            assert!(!from.may_become(to), "{from:?} -> {to:?}");
        }
        assert!(Running.is_live() && Stopping.is_live() && !Stopped.is_live());
    }

    #[test]
    fn a_report_records_running_and_a_stop_on_its_own_with_ecs_reasons() {
        let mut task = new_task("a", "i");
        assert!(!task.record_report(&report(TaskStatus::Running), 100), "running is no news to the agent");
        assert_eq!(task.last_status, TaskStatus::Running);
        assert_eq!(
            (task.body["startedAt"].as_i64(), task.body["connectivity"].as_str()),
            (Some(100), Some("CONNECTED"))
        );
        // A late PENDING changes nothing.
        let before = task.body.clone();
        assert!(!task.record_report(&report(TaskStatus::Pending), 101));
        assert_eq!((task.last_status, &task.body), (TaskStatus::Running, &before));
        // It stopped on its own: no longer wanted, and the agent hears of it.
        let exited = StateReport { reason: Some("web exited"), ..report(TaskStatus::Stopped) };
        assert!(task.record_report(&exited, 200));
        assert_eq!((task.desired_status, task.last_status), (DesiredStatus::Stopped, TaskStatus::Stopped));
        assert_eq!(task.body["stopCode"], "EssentialContainerExited");
        assert_eq!(task.body["stoppedReason"], "web exited");
        // The agent's retry of the stop report moves nothing.
        assert!(!task.record_report(&report(TaskStatus::Stopped), 300));
        assert_eq!(task.body["stoppedAt"], 200);

        let mut never_started = new_task("b", "i");
        assert!(never_started.record_report(&report(TaskStatus::Stopped), 50));
        assert_eq!(never_started.body["stopCode"], "TaskFailedToStart");
        assert_eq!(never_started.body["stoppedReason"], "Essential container in task exited");
    }

    #[test]
    fn a_stop_keeps_its_first_reason_and_stops_at_once_without_an_instance() {
        let mut task = new_task("a", "i");
        assert!(task.record_stop("UserInitiated", "first", 10, false));
        assert_eq!((task.desired_status, task.last_status), (DesiredStatus::Stopped, TaskStatus::Pending));
        assert!(task.body.get("stoppedAt").is_none(), "the agent reports when it has stopped");
        assert!(!task.record_stop("ServiceSchedulerInitiated", "second", 20, false));
        assert_eq!(
            (task.body["stopCode"].as_str(), task.body["stoppedReason"].as_str()),
            (Some("UserInitiated"), Some("first"))
        );

        let mut orphan = new_task("b", "i");
        assert!(orphan.record_stop("UserInitiated", "gone", 30, true));
        assert_eq!((orphan.last_status, orphan.body["stoppedAt"].as_i64()), (TaskStatus::Stopped, Some(30)));

        let mut lost = new_task("c", "i");
        lost.record_lost("lost", 40);
        assert_eq!((lost.desired_status, lost.last_status), (DesiredStatus::Stopped, TaskStatus::Stopped));
        assert_eq!(lost.body["stopCode"], "ServiceSchedulerInitiated");
    }

    #[test]
    fn containers_reports_update_the_containers_and_the_health() {
        let mut task = new_task("a", "i");
        task.payload = json!({"containers": [{"name": "web", "healthCheck": {"command": ["CMD", "true"]}}]});
        task.apply_containers(&[
            json!({"containerName": "web", "status": "RUNNING", "exitCode": null, "healthStatus": "HEALTHY"}),
        ]);
        assert_eq!(task.body["containers"][0]["lastStatus"], "RUNNING");
        assert!(task.body["containers"][0].get("exitCode").is_none(), "a null is not recorded");
        assert_eq!(task.body["healthStatus"], "HEALTHY");
        task.apply_containers(&[json!({"containerName": "web", "healthStatus": "SICK"})]);
        assert_eq!(task.body["healthStatus"], "HEALTHY", "a health ECS does not know is ignored");
    }

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

    #[tokio::test]
    async fn a_task_reserves_on_its_instance_until_it_stops_and_each_desired_change_takes_a_sequence_number() {
        let temp = temp_store().await;
        let store = &temp.store;
        let specs = SpecCache::default();
        let instance = register(store, "a").await;
        insert(store, ACCOUNT, &[new_task("t1", &instance), new_task("t2", &instance)], &launch("family:web"), 1000)
            .await
            .unwrap();
        let counters = || async {
            instances_of(store, &specs, CLUSTER, crate::ecs::model::container_instance::Groups::None).await.unwrap().1
        };
        let held = counters().await[&instance].clone();
        assert_eq!((held.cpu, held.memory, held.pending, held.running), (512, 1024, 2, 0));
        let t1 = load_task(store, ACCOUNT, &task_arn("t1")).await.unwrap().unwrap();
        assert_eq!(
            (t1.desired_status, t1.last_status, t1.updated_seq),
            (DesiredStatus::Running, TaskStatus::Pending, 1)
        );
        assert!(load_task(store, "999988887777", &task_arn("t1")).await.unwrap().is_none(), "another account's");
        assert_eq!(started_with_token(store, CLUSTER, "token-1").await.unwrap().len(), 2);

        // Running moves it from pending to running; no news for the agent, no new number.
        let updated =
            update(store, ACCOUNT, &task_arn("t1"), |t| Ok(t.record_report(&report(TaskStatus::Running), 1010)))
                .await
                .unwrap();
        assert_eq!((updated.notify, updated.task.version), (false, 1));
        let held = counters().await[&instance].clone();
        assert_eq!((held.pending, held.running), (1, 1));
        assert_eq!(
            changed_since(store, &instance, 1).await.unwrap().iter().map(|t| t.arn.clone()).collect::<Vec<_>>(),
            [task_arn("t2")]
        );

        // A stop is news: a new sequence number; once stopped it frees what it held.
        let stopping =
            update(store, ACCOUNT, &task_arn("t1"), |t| Ok(t.record_stop("UserInitiated", "bye", 1020, false)))
                .await
                .unwrap();
        assert!(stopping.notify);
        let changed = changed_since(store, &instance, 2).await.unwrap();
        assert_eq!((changed.len(), changed[0].arn.as_str(), changed[0].updated_seq), (1, task_arn("t1").as_str(), 3));
        assert_eq!(counters().await[&instance].running, 1, "still running until the agent says it stopped");
        update(store, ACCOUNT, &task_arn("t1"), |t| Ok(t.record_report(&report(TaskStatus::Stopped), 1030)))
            .await
            .unwrap();
        let held = counters().await[&instance].clone();
        assert_eq!((held.cpu, held.memory, held.pending, held.running), (256, 512, 1, 0));
        let stored = store
            .query(
                "SELECT desired_status, last_status, stopped_at FROM ecs_tasks WHERE arn = ?",
                vec![task_arn("t1").into()],
            )
            .await
            .unwrap();
        assert_eq!(
            (stored[0].text(0).unwrap(), stored[0].text(1).unwrap(), stored[0].opt_int(2).unwrap()),
            ("STOPPED".to_owned(), "STOPPED".to_owned(), Some(1030))
        );
        assert_eq!(find_instance(store, &specs, ACCOUNT, &instance).await.unwrap().unwrap().arn, instance);
    }

    #[tokio::test]
    async fn list_filters_by_desired_status_with_pending_as_meant_to_run_but_not_running() {
        let temp = temp_store().await;
        let store = &temp.store;
        let instance = register(store, "a").await;
        let tasks = [new_task("pending", &instance), new_task("running", &instance), new_task("stopped", &instance)];
        insert(store, ACCOUNT, &tasks, &launch("family:web"), 1000).await.unwrap();
        update(store, ACCOUNT, &task_arn("running"), |t| Ok(t.record_report(&report(TaskStatus::Running), 1)))
            .await
            .unwrap();
        update(store, ACCOUNT, &task_arn("stopped"), |t| Ok(t.record_stop("UserInitiated", "x", 2, true)))
            .await
            .unwrap();
        let listed = |desired, family: Option<&'static str>| {
            let filter = TaskFilter {
                cluster_arn: CLUSTER,
                desired,
                container_instance_arn: Some(instance.clone()),
                started_by: None,
                service_name: None,
                family,
            };
            async move { list(store, &filter).await.unwrap() }
        };
        assert_eq!(listed(DesiredStatus::Running, None).await, [task_arn("pending"), task_arn("running")]);
        assert_eq!(listed(DesiredStatus::Pending, None).await, [task_arn("pending")]);
        assert_eq!(listed(DesiredStatus::Stopped, None).await, [task_arn("stopped")]);
        assert_eq!(listed(DesiredStatus::Running, Some("web")).await.len(), 2);
        assert!(listed(DesiredStatus::Running, Some("db")).await.is_empty());
        let manifest: Vec<String> = on_instance(store, &instance).await.unwrap().into_iter().map(|t| t.arn).collect();
        assert_eq!(manifest.len(), 2, "a stopped task leaves the manifest: {manifest:?}");
        assert!(!manifest.contains(&task_arn("stopped")));
    }

    #[tokio::test]
    async fn an_update_of_a_missing_task_says_so_and_an_unknown_stored_status_is_refused() {
        let temp = temp_store().await;
        let store = &temp.store;
        let missing = update(store, ACCOUNT, &task_arn("none"), |_| Ok(true)).await.err().unwrap();
        assert_eq!((missing.status, missing.message.as_str()), (400, "The referenced task was not found."));
        let instance = register(store, "a").await;
        insert(store, ACCOUNT, &[new_task("t", &instance)], &launch("g"), 1).await.unwrap();
        store.execute("UPDATE ecs_tasks SET last_status = 'LOST'", Vec::new()).await.unwrap();
        assert_eq!(load_task(store, ACCOUNT, &task_arn("t")).await.err().unwrap().status, 500);
    }
}
