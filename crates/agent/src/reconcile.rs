//! The agent as a reconciler: what it knows of each task (`TaskRecord`), how Docker's view
//! updates that (`observe`), and what to do next (`plan`). Pure: no I/O, no clock (the
//! caller passes `now`); the engine (`crate::ecs`) carries out the actions and feeds their
//! results back through the `apply_*` functions.
//!
//! Rules, as ECS's agent follows them:
//! - A task to run gets its images (a missing one pulled; a failed pull stops the task with
//!   `CannotPullContainerError: ...`), then each container is created and started once its
//!   `dependsOn` conditions hold (`START`: the dependency has started; `COMPLETE`: it has
//!   exited; `SUCCESS`: it has exited 0; `HEALTHY`: its health check passes). A condition
//!   that can no longer hold stops the container before it starts.
//! - The task is `PENDING` until every essential container runs, then `RUNNING`. When an
//!   essential container exits, the task stops (`Essential container in task exited`); a
//!   non-essential one exiting is reported as a container change and the task runs on.
//! - Stopping stops each running container (SIGTERM, then SIGKILL after its `stopTimeout`)
//!   once the containers that depend on it have stopped; the task is `STOPPED`, with every
//!   container's exit code, when all are.
//! - Each status is reported once, in order (`PENDING`, `RUNNING`, `STOPPED`), and again
//!   after a restart until acknowledged.
//! - A container with a health check in its definition reports its health as ECS names it
//!   (`HEALTHY`, `UNHEALTHY`, `UNKNOWN` while Docker says `starting`) with every report, and
//!   on its own (a container state change) whenever it changes while the container runs.
//!   Docker's health of a check the image carries is not ECS's: such a container reports none. A stopped task's containers are removed
//!   `cleanup_after` seconds after it stopped, and then the record is forgotten.
//! - A container with this instance's labels that the agent has no record of is adopted
//!   (`spec: None`): it is never started or restarted, only stopped when the control plane
//!   confirms it is not wanted (stop verification) and then reported `STOPPED`.

use std::collections::BTreeMap;

use agent_protocol::state_change as wire;
use agent_protocol::task::{Condition, Dependency};
use serde::{Deserialize, Serialize};

use crate::docker::{Inspected, ListedContainer, NetworkBinding};
use crate::task_spec::{LABEL_CONTAINER_NAME, LABEL_TASK_ARN, TaskPayload};

/// ECS's reason when an essential container exits.
pub const ESSENTIAL_EXITED: &str = "Essential container in task exited";

/// A task's (or container's) status as reported, in the order it moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pending,
    Running,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Running => "RUNNING",
            Status::Stopped => "STOPPED",
        }
    }
}

/// Where one container is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContainerState {
    /// Not created yet.
    Waiting,
    /// Created, not started.
    Created,
    Running,
    /// Exited, failed, or never to start.
    Stopped,
}

/// What the agent knows of one container of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerRecord {
    pub name: String,
    #[serde(default)]
    pub runtime_id: Option<String>,
    pub state: ContainerState,
    /// It has run (a `START` dependency is met even after it exits).
    #[serde(default)]
    pub started: bool,
    #[serde(default)]
    pub exit_code: Option<i64>,
    /// Whether the exit code is settled (read from Docker, or there is none to read).
    #[serde(default)]
    pub exit_known: bool,
    #[serde(default)]
    pub reason: Option<String>,
    /// Docker's health (`starting`, `healthy`, `unhealthy`), if it has a health check.
    #[serde(default)]
    pub health: Option<String>,
    /// The health status the control plane last acknowledged (`None`: none yet, which it
    /// shows as `UNKNOWN`).
    #[serde(default)]
    pub health_reported: Option<String>,
    #[serde(default)]
    pub bindings: Vec<NetworkBinding>,
    /// When it began waiting for its dependencies (its `startTimeout` counts from then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<i64>,
    /// Its exit was acknowledged by a container state change.
    #[serde(default)]
    pub exit_reported: bool,
    /// An operation on it is under way.
    #[serde(skip)]
    pub busy: bool,
    #[serde(skip)]
    pub exit_report_queued: bool,
    /// A report of this health status is queued.
    #[serde(skip)]
    pub health_queued: Option<&'static str>,
    /// The observation generation when an operation last settled its state (see `observe`).
    #[serde(skip)]
    pub stamp: u64,
}

impl ContainerRecord {
    pub fn new(name: &str) -> ContainerRecord {
        ContainerRecord {
            name: name.to_owned(),
            runtime_id: None,
            state: ContainerState::Waiting,
            started: false,
            exit_code: None,
            exit_known: false,
            reason: None,
            health: None,
            health_reported: None,
            bindings: Vec::new(),
            waiting_since: None,
            exit_reported: false,
            busy: false,
            exit_report_queued: false,
            health_queued: None,
            stamp: 0,
        }
    }

    fn stop_without_running(&mut self, reason: Option<String>) {
        self.state = ContainerState::Stopped;
        self.exit_known = true;
        if self.reason.is_none() {
            self.reason = reason;
        }
    }

    fn status(&self) -> Status {
        match self.state {
            ContainerState::Waiting | ContainerState::Created => Status::Pending,
            ContainerState::Running => Status::Running,
            ContainerState::Stopped => Status::Stopped,
        }
    }

    /// Its health as ECS reports it, if its definition (in `spec`) has a health check.
    fn health_status(&self, spec: Option<&TaskPayload>) -> Option<&'static str> {
        let checked = spec.and_then(|s| s.container(&self.name)).is_some_and(|c| c.health_check.is_some());
        checked.then_some(match self.health.as_deref() {
            Some("healthy") => "HEALTHY",
            Some("unhealthy") => "UNHEALTHY",
            _ => "UNKNOWN",
        })
    }

    fn report(&self, spec: Option<&TaskPayload>) -> ContainerReport {
        ContainerReport {
            container_name: self.name.clone(),
            runtime_id: self.runtime_id.clone(),
            status: self.status(),
            exit_code: self.exit_code,
            reason: self.reason.clone(),
            network_bindings: self.bindings.clone(),
            health_status: self.health_status(spec),
        }
    }
}

/// What the agent knows of one task: the control plane's spec, what it wants, what Docker
/// shows, and what has been reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    pub arn: String,
    /// `None` for a task adopted from Docker's labels that the control plane never described.
    #[serde(default)]
    pub spec: Option<TaskPayload>,
    /// `RUNNING` or `STOPPED`: the control plane's wish, or the agent's own decision to stop.
    pub desired: Status,
    /// Why the agent stopped it on its own (ECS's wording).
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The last status the control plane acknowledged.
    #[serde(default)]
    pub reported: Option<Status>,
    pub containers: Vec<ContainerRecord>,
    #[serde(default)]
    pub pull_started_at: Option<i64>,
    #[serde(default)]
    pub pull_stopped_at: Option<i64>,
    #[serde(default)]
    pub execution_stopped_at: Option<i64>,
    /// The id and token its containers present to the credentials endpoint (a task with a
    /// task role only).
    #[serde(default)]
    pub credentials_secret: Option<crate::task_roles::TaskSecret>,
    /// The task's 128 random bits in its containers' metadata endpoint URIs
    /// (`crate::metadata_endpoint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_id: Option<String>,
    #[serde(skip)]
    pub images_ready: bool,
    #[serde(skip)]
    pub pulling: bool,
    /// A report of this status is queued and not yet acknowledged.
    #[serde(skip)]
    pub queued: Option<Status>,
}

impl TaskRecord {
    /// A task the control plane sent.
    pub fn from_spec(spec: TaskPayload) -> TaskRecord {
        let desired = if spec.desired_status == "STOPPED" { Status::Stopped } else { Status::Running };
        let containers = spec.containers.iter().map(|c| ContainerRecord::new(&c.name)).collect();
        TaskRecord {
            arn: spec.task_arn.clone(),
            spec: Some(spec),
            desired,
            stop_reason: None,
            reported: None,
            containers,
            pull_started_at: None,
            pull_stopped_at: None,
            execution_stopped_at: None,
            credentials_secret: None,
            metadata_id: None,
            images_ready: false,
            pulling: false,
            queued: None,
        }
    }

    /// A task known only from its containers' labels.
    pub fn adopted(arn: &str) -> TaskRecord {
        TaskRecord {
            arn: arn.to_owned(),
            spec: None,
            desired: Status::Running,
            stop_reason: None,
            reported: None,
            containers: Vec::new(),
            pull_started_at: None,
            pull_stopped_at: None,
            execution_stopped_at: None,
            credentials_secret: None,
            metadata_id: None,
            images_ready: false,
            pulling: false,
            queued: None,
        }
    }

    pub fn container_mut(&mut self, name: &str) -> Option<&mut ContainerRecord> {
        self.containers.iter_mut().find(|c| c.name == name)
    }

    pub fn container(&self, name: &str) -> Option<&ContainerRecord> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// Forgets what was under way (operations that will not report back, as after a
    /// restart): planning starts them again from what is known.
    pub fn forget_progress(&mut self) {
        self.images_ready = false;
        self.pulling = false;
        self.queued = None;
        for container in &mut self.containers {
            container.busy = false;
            container.exit_report_queued = false;
            container.health_queued = None;
        }
    }

    /// Whether the agent means it to run (a stop candidate if the manifest lacks it).
    pub fn wanted_running(&self) -> bool {
        self.desired == Status::Running
    }

    /// Whether any of its containers runs.
    pub fn has_running_container(&self) -> bool {
        self.containers.iter().any(|c| c.state == ContainerState::Running)
    }

    /// Applies the control plane's desired status: a stop is always taken; a run never
    /// restarts a task the agent has stopped (it has reported, or will report, why).
    pub fn apply_desired(&mut self, spec: TaskPayload) {
        if spec.desired_status == "STOPPED" {
            self.desired = Status::Stopped;
        }
        if self.spec.is_none() {
            for container in &spec.containers {
                if self.container(&container.name).is_none() {
                    self.containers.push(ContainerRecord::new(&container.name));
                }
            }
            self.images_ready = false;
            self.spec = Some(spec);
        }
    }

    /// The status the task is in now, as it would be reported.
    pub fn status(&self) -> Option<Status> {
        let settled = |c: &ContainerRecord| c.state == ContainerState::Stopped && c.exit_known && !c.busy;
        if self.desired == Status::Stopped {
            return self.containers.iter().all(settled).then_some(Status::Stopped);
        }
        let spec = self.spec.as_ref()?;
        let essentials_run = spec
            .containers
            .iter()
            .filter(|c| c.is_essential())
            .all(|c| self.container(&c.name).is_some_and(|record| record.state == ContainerState::Running));
        Some(if essentials_run { Status::Running } else { Status::Pending })
    }
}

/// One container's part of a state report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerReport {
    pub container_name: String,
    pub runtime_id: Option<String>,
    pub status: Status,
    pub exit_code: Option<i64>,
    pub reason: Option<String>,
    pub network_bindings: Vec<NetworkBinding>,
    /// `HEALTHY`, `UNHEALTHY` or `UNKNOWN`, for a container with a health check.
    pub health_status: Option<&'static str>,
}

impl ContainerReport {
    /// This report as the control plane receives it.
    fn to_wire(&self) -> wire::ContainerReport {
        wire::ContainerReport {
            container_name: self.container_name.clone(),
            runtime_id: self.runtime_id.clone(),
            status: Some(self.status.as_str().to_owned()),
            exit_code: self.exit_code,
            reason: self.reason.as_deref().map(|reason| truncate(reason, MAX_REASON_CHARS)),
            network_bindings: Some(self.network_bindings.clone()),
            health_status: self.health_status.map(str::to_owned),
        }
    }
}

/// A state change to report, retried until acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    Task {
        task_arn: String,
        status: Status,
        reason: Option<String>,
        containers: Vec<ContainerReport>,
        pull_started_at: Option<i64>,
        pull_stopped_at: Option<i64>,
        execution_stopped_at: Option<i64>,
    },
    Container {
        task_arn: String,
        container: ContainerReport,
    },
}

impl Report {
    pub fn task_arn(&self) -> &str {
        match self {
            Report::Task { task_arn, .. } | Report::Container { task_arn, .. } => task_arn,
        }
    }

    /// The ECS operation and its request.
    pub fn request(&self, cluster: &str) -> (&'static str, StateChange) {
        match self {
            Report::Task {
                task_arn,
                status,
                reason,
                containers,
                pull_started_at,
                pull_stopped_at,
                execution_stopped_at,
            } => {
                let change = wire::TaskStateChange {
                    cluster: cluster.to_owned(),
                    task: task_arn.clone(),
                    status: status.as_str().to_owned(),
                    reason: reason.as_deref().map(|reason| truncate(reason, MAX_REASON_CHARS)),
                    containers: containers.iter().map(ContainerReport::to_wire).collect(),
                    pull_started_at: pull_started_at.map(Into::into),
                    pull_stopped_at: pull_stopped_at.map(Into::into),
                    execution_stopped_at: execution_stopped_at.map(Into::into),
                };
                ("SubmitTaskStateChange", StateChange::Task(change))
            }
            Report::Container { task_arn, container } => {
                let change = wire::ContainerStateChange {
                    cluster: cluster.to_owned(),
                    task: task_arn.clone(),
                    container: container.to_wire(),
                };
                ("SubmitContainerStateChange", StateChange::Container(change))
            }
        }
    }
}

/// A report's request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum StateChange {
    Task(wire::TaskStateChange),
    Container(wire::ContainerStateChange),
}

/// The longest task or container reason reported, as ECS's agent sends them (a pull refusal
/// quoting AWS's AccessDenied sentence after Docker's words needs more than 255).
const MAX_REASON_CHARS: usize = 1024;

fn truncate(text: &str, limit: usize) -> String {
    text.chars().take(limit).collect()
}

/// Something for the engine to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Make sure the images are here, pulling the missing ones.
    EnsureImages {
        task: String,
        images: Vec<String>,
    },
    /// Create the container (unless it has a runtime id), start it, inspect it.
    Launch {
        task: String,
        container: String,
    },
    /// Stop it (SIGTERM, SIGKILL after `grace` seconds; `None`: its own StopTimeout), then
    /// read its exit code.
    Stop {
        task: String,
        container: String,
        runtime_id: String,
        grace: Option<u64>,
    },
    /// Read an exited container's exit code.
    Inspect {
        task: String,
        container: String,
        runtime_id: String,
    },
    /// Remove a stopped container (its task stopped long enough ago).
    Remove {
        task: String,
        container: String,
        runtime_id: String,
    },
    Report(Report),
    /// Drop the record: the task is stopped, reported and cleaned up.
    Forget {
        task: String,
    },
}

/// Whether a dependency's condition holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DependencyState {
    Met,
    Waiting,
    /// It can no longer hold; why, in words.
    Failed(String),
}

/// Whether `dependency` holds, given what the task's records say.
pub fn dependency_state(task: &TaskRecord, dependency: &Dependency) -> DependencyState {
    let name = &dependency.container_name;
    let Some(record) = task.container(name) else {
        return DependencyState::Failed(format!("dependency {name} is not a container of the task"));
    };
    let stopped = record.state == ContainerState::Stopped;
    match dependency.condition {
        Condition::Start if record.started => DependencyState::Met,
        Condition::Start if stopped => DependencyState::Failed(format!("dependency {name} never started")),
        Condition::Complete if stopped && record.started => DependencyState::Met,
        Condition::Complete if stopped => DependencyState::Failed(format!("dependency {name} never started")),
        Condition::Success if stopped && record.exit_known => match record.exit_code {
            Some(0) => DependencyState::Met,
            Some(code) => {
                DependencyState::Failed(format!("dependency {name} exited with code {code} (condition SUCCESS)"))
            }
            None => DependencyState::Failed(format!("dependency {name} stopped without an exit code")),
        },
        Condition::Healthy if record.health.as_deref() == Some("healthy") => DependencyState::Met,
        Condition::Healthy if stopped => DependencyState::Failed(format!("dependency {name} stopped before healthy")),
        Condition::Healthy
            if record.state == ContainerState::Running
                && task.spec.as_ref().and_then(|s| s.container(name)).is_some_and(|c| c.health_check.is_none()) =>
        {
            DependencyState::Failed(format!("dependency {name} has no health check (condition HEALTHY)"))
        }
        _ => DependencyState::Waiting,
    }
}

/// Whether a container that `name`'s dependents rely on may stop: every container that
/// depends on it has stopped (dependents stop first).
fn dependents_stopped(task: &TaskRecord, name: &str) -> bool {
    let Some(spec) = &task.spec else { return true };
    spec.containers
        .iter()
        .filter(|c| c.dependencies().iter().any(|d| d.container_name == name))
        .all(|dependent| task.container(&dependent.name).is_none_or(|r| r.state != ContainerState::Running && !r.busy))
}

/// The next actions for one task, marking what they start as under way (so planning again
/// before their results arrive repeats nothing). `cleanup_after` is how long a stopped
/// task's containers are kept, in seconds.
pub fn plan(task: &mut TaskRecord, now: i64, cleanup_after: i64) -> Vec<Action> {
    let mut actions = Vec::new();
    if task.desired == Status::Running {
        if let Some(spec) = task.spec.clone() {
            if !task.images_ready && !task.pulling {
                let mut images: Vec<String> = Vec::new();
                for container in &spec.containers {
                    let waiting = task.container(&container.name).is_some_and(|r| r.state == ContainerState::Waiting);
                    if waiting && !images.contains(&container.image) {
                        images.push(container.image.clone());
                    }
                }
                if images.is_empty() {
                    task.images_ready = true;
                } else {
                    task.pulling = true;
                    actions.push(Action::EnsureImages { task: task.arn.clone(), images });
                }
            }
            if task.images_ready {
                for container in &spec.containers {
                    let ready = task.container(&container.name).is_some_and(|r| {
                        !r.busy && matches!(r.state, ContainerState::Waiting | ContainerState::Created)
                    });
                    if !ready {
                        continue;
                    }
                    let states: Vec<DependencyState> =
                        container.dependencies().iter().map(|d| dependency_state(task, d)).collect();
                    let failed = states.iter().find_map(|s| match s {
                        DependencyState::Failed(why) => Some(why.clone()),
                        _ => None,
                    });
                    let Some(record) = task.container_mut(&container.name) else { continue };
                    let all_met = states.iter().all(|s| *s == DependencyState::Met);
                    // `startTimeout`: how long it may wait for its dependencies.
                    let since = *record.waiting_since.get_or_insert(now);
                    let timed_out = container.start_timeout.filter(|limit| {
                        !all_met && now.saturating_sub(since) >= i64::try_from(*limit).unwrap_or(i64::MAX)
                    });
                    if let Some(why) = failed {
                        record.stop_without_running(Some(format!("CannotStartContainerError: {why}")));
                    } else if let Some(limit) = timed_out {
                        record.stop_without_running(Some(format!(
                            "CannotStartContainerError: its dependencies were not met within its startTimeout of {limit}s"
                        )));
                    } else if all_met {
                        record.busy = true;
                        actions.push(Action::Launch { task: task.arn.clone(), container: container.name.clone() });
                    }
                }
            }
            // An essential container stopped: the task stops, for ECS's reason (or, if it
            // never started, for the reason it could not).
            let essential_stopped = spec
                .containers
                .iter()
                .filter(|c| c.is_essential())
                .filter_map(|c| task.container(&c.name))
                .find(|r| r.state == ContainerState::Stopped && !r.busy);
            if let Some(record) = essential_stopped {
                let reason = match (&record.reason, record.started) {
                    (Some(reason), false) => reason.clone(),
                    _ => ESSENTIAL_EXITED.to_owned(),
                };
                task.desired = Status::Stopped;
                task.stop_reason.get_or_insert(reason);
            }
        }
    }
    if task.desired == Status::Stopped {
        let spec = task.spec.clone();
        let names: Vec<String> = task.containers.iter().map(|c| c.name.clone()).collect();
        for name in names {
            let may_stop = dependents_stopped(task, &name);
            let Some(record) = task.container_mut(&name) else { continue };
            if record.busy {
                continue;
            }
            match record.state {
                ContainerState::Waiting | ContainerState::Created => record.stop_without_running(None),
                ContainerState::Running if may_stop => {
                    if let Some(runtime_id) = record.runtime_id.clone() {
                        record.busy = true;
                        let grace = spec.as_ref().and_then(|s| s.container(&name)).map(|c| c.stop_timeout());
                        actions.push(Action::Stop { task: task.arn.clone(), container: name, runtime_id, grace });
                    } else {
                        record.stop_without_running(None);
                    }
                }
                _ => {}
            }
        }
    }
    // Exit codes of containers that exited on their own.
    for record in &mut task.containers {
        if record.state == ContainerState::Stopped && !record.exit_known && !record.busy {
            match record.runtime_id.clone() {
                Some(runtime_id) => {
                    record.busy = true;
                    actions.push(Action::Inspect {
                        task: task.arn.clone(),
                        container: record.name.clone(),
                        runtime_id,
                    });
                }
                None => record.exit_known = true,
            }
        }
    }
    // Reports: the task's status when it moved on, a non-essential exit while it runs.
    if let Some(status) = task.status() {
        let last = task.queued.max(task.reported);
        let adopted_not_stopped = task.spec.is_none() && status != Status::Stopped;
        if last.is_none_or(|last| status > last) && !adopted_not_stopped {
            if status == Status::Stopped {
                task.execution_stopped_at.get_or_insert(now);
            }
            task.queued = Some(status);
            actions.push(Action::Report(Report::Task {
                task_arn: task.arn.clone(),
                status,
                reason: if status == Status::Stopped { task.stop_reason.clone() } else { None },
                containers: task.containers.iter().map(|c| c.report(task.spec.as_ref())).collect(),
                pull_started_at: task.pull_started_at,
                pull_stopped_at: task.pull_stopped_at,
                execution_stopped_at: task.execution_stopped_at.filter(|_| status == Status::Stopped),
            }));
        }
    }
    if task.desired == Status::Running {
        let spec = task.spec.as_ref();
        for record in &mut task.containers {
            let exited = record.state == ContainerState::Stopped && record.exit_known && !record.busy;
            if exited && !record.exit_reported && !record.exit_report_queued {
                record.exit_report_queued = true;
                actions.push(Action::Report(Report::Container {
                    task_arn: task.arn.clone(),
                    container: record.report(spec),
                }));
            }
        }
        // A running container's health changed since the control plane last heard it (once
        // the task itself has been reported: the first report carries the health).
        let heard_of = task.reported.is_some() || task.queued.is_some();
        for record in task.containers.iter_mut().filter(|r| r.state == ContainerState::Running && heard_of) {
            let Some(health) = record.health_status(spec) else { continue };
            let known = record.health_queued.or(record.health_reported.as_deref()).unwrap_or("UNKNOWN");
            if known != health {
                record.health_queued = Some(health);
                actions.push(Action::Report(Report::Container {
                    task_arn: task.arn.clone(),
                    container: record.report(spec),
                }));
            }
        }
    }
    // Clean-up once the stop is acknowledged.
    if task.reported == Some(Status::Stopped) && task.desired == Status::Stopped {
        let due = task.execution_stopped_at.is_none_or(|at| now >= at.saturating_add(cleanup_after));
        let mut left = false;
        for record in &mut task.containers {
            if let Some(runtime_id) = record.runtime_id.clone() {
                left = true;
                if due && !record.busy {
                    record.busy = true;
                    actions.push(Action::Remove { task: task.arn.clone(), container: record.name.clone(), runtime_id });
                }
            }
        }
        if !left {
            actions.push(Action::Forget { task: task.arn.clone() });
        }
    }
    actions
}

/// Takes in Docker's view: the containers labelled for this instance. Unknown tasks are
/// adopted; a container that vanished (not listed, and last settled before this listing
/// began, generation `generation`) counts as stopped. Returns the ids of duplicate
/// containers (a second container for one task's container), which must go.
pub fn observe(tasks: &mut BTreeMap<String, TaskRecord>, listed: &[ListedContainer], generation: u64) -> Vec<String> {
    let mut duplicates = Vec::new();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for container in listed {
        let (Some(arn), Some(name)) = (container.label(LABEL_TASK_ARN), container.label(LABEL_CONTAINER_NAME)) else {
            continue;
        };
        let task = tasks.entry(arn.to_owned()).or_insert_with(|| {
            let mut adopted = TaskRecord::adopted(arn);
            if !matches!(container.state.as_str(), "running" | "restarting" | "paused" | "created") {
                adopted.desired = Status::Stopped;
            }
            adopted
        });
        if task.container(name).is_none() {
            task.containers.push(ContainerRecord::new(name));
        }
        let Some(record) = task.container_mut(name) else { continue };
        if record.runtime_id.as_deref().is_some_and(|id| id != container.id) {
            duplicates.push(container.id.clone());
            continue;
        }
        seen.push((arn, name));
        if record.busy {
            continue;
        }
        record.runtime_id = Some(container.id.clone());
        record.health = container.health().map(str::to_owned);
        match container.state.as_str() {
            "running" | "restarting" | "paused" => {
                if record.state != ContainerState::Running && record.state != ContainerState::Stopped {
                    record.state = ContainerState::Running;
                    record.started = true;
                }
            }
            "created" => {
                if record.state == ContainerState::Waiting {
                    record.state = ContainerState::Created;
                }
            }
            _ => {
                if record.state != ContainerState::Stopped {
                    record.state = ContainerState::Stopped;
                    record.started = true;
                    record.exit_known = false;
                }
            }
        }
    }
    for task in tasks.values_mut() {
        let arn = task.arn.clone();
        for record in &mut task.containers {
            let live = matches!(record.state, ContainerState::Created | ContainerState::Running);
            let listed = seen.iter().any(|(a, n)| *a == arn && *n == record.name);
            if live && !listed && !record.busy && record.runtime_id.is_some() && record.stamp < generation {
                record.state = ContainerState::Stopped;
                record.exit_known = true;
                record.reason.get_or_insert_with(|| "The container was removed outside the agent".to_owned());
                record.runtime_id = None;
            }
        }
    }
    duplicates
}

/// The result of launching a container.
#[derive(Debug)]
pub enum LaunchResult {
    Launched(Inspected),
    /// Docker would not create it (ECS: `CannotCreateContainerError`).
    CreateFailed(String),
    /// Created, but it would not start (ECS: `CannotStartContainerError`).
    StartFailed {
        runtime_id: String,
        message: String,
    },
}

pub fn apply_launch(task: &mut TaskRecord, container: &str, result: LaunchResult, generation: u64) {
    let Some(record) = task.container_mut(container) else { return };
    record.busy = false;
    record.stamp = generation;
    match result {
        LaunchResult::Launched(inspected) => {
            record.runtime_id = Some(inspected.id.clone());
            record.bindings = inspected.bindings;
            if inspected.running {
                record.state = ContainerState::Running;
                record.started = true;
            } else if inspected.status == "created" {
                record.state = ContainerState::Created;
            } else {
                record.state = ContainerState::Stopped;
                record.started = true;
                record.exit_code = Some(inspected.exit_code);
                record.exit_known = true;
                if !inspected.error.is_empty() {
                    record.reason = Some(format!("CannotStartContainerError: {}", inspected.error));
                }
            }
        }
        LaunchResult::CreateFailed(message) => {
            record.stop_without_running(Some(format!("CannotCreateContainerError: {message}")));
        }
        LaunchResult::StartFailed { runtime_id, message } => {
            record.runtime_id = Some(runtime_id);
            record.stop_without_running(Some(format!("CannotStartContainerError: {message}")));
        }
    }
}

/// A stop or inspection settled: the exit code (`None`: the container is gone, or has none).
pub fn apply_exit(task: &mut TaskRecord, container: &str, exit_code: Option<i64>, generation: u64) {
    let Some(record) = task.container_mut(container) else { return };
    record.busy = false;
    record.stamp = generation;
    if record.state != ContainerState::Stopped {
        record.started = record.started || record.state == ContainerState::Running;
        record.state = ContainerState::Stopped;
    }
    record.exit_code = exit_code;
    record.exit_known = true;
}

/// An operation failed in a way worth retrying (Docker was unreachable): nothing changed.
pub fn apply_retry(task: &mut TaskRecord, container: &str) {
    if let Some(record) = task.container_mut(container) {
        record.busy = false;
    }
}

/// The images are here (`Ok`), with when a pull started and stopped if one was needed, or
/// one could not be pulled: the image and ECS's reason (`CannotPullContainerError: ...`, or
/// `CannotPullECRContainerError: ...` when the registry's credentials could not be had),
/// which stops the task.
pub fn apply_images(task: &mut TaskRecord, result: Result<Option<(i64, i64)>, (String, String)>) {
    task.pulling = false;
    match result {
        Ok(pulled) => {
            task.images_ready = true;
            if let Some((started, stopped)) = pulled {
                task.pull_started_at.get_or_insert(started);
                task.pull_stopped_at = Some(stopped);
            }
        }
        Err((image, reason)) => {
            let images: Vec<(String, String)> =
                task.spec.iter().flat_map(|s| s.containers.iter().map(|c| (c.name.clone(), c.image.clone()))).collect();
            for (name, container_image) in images {
                if container_image == image {
                    if let Some(record) = task.container_mut(&name) {
                        record.reason.get_or_insert_with(|| reason.clone());
                    }
                }
            }
            task.stop_reason.get_or_insert(reason);
            task.desired = Status::Stopped;
        }
    }
}

/// A container was removed.
pub fn apply_removed(task: &mut TaskRecord, container: &str) {
    if let Some(record) = task.container_mut(container) {
        record.busy = false;
        record.runtime_id = None;
    }
}

/// A report was acknowledged.
pub fn apply_acknowledged(task: &mut TaskRecord, report: &Report) {
    let heard = |record: &mut ContainerRecord, container: &ContainerReport| {
        if let Some(health) = container.health_status {
            record.health_reported = Some(health.to_owned());
            if record.health_queued == Some(health) {
                record.health_queued = None;
            }
        }
    };
    match report {
        Report::Task { status, containers, .. } => {
            task.reported = Some(task.reported.map_or(*status, |r| r.max(*status)));
            if task.queued.is_some_and(|q| q <= *status) {
                task.queued = None;
            }
            for container in containers {
                if let Some(record) = task.container_mut(&container.container_name) {
                    heard(record, container);
                }
            }
        }
        Report::Container { container, .. } => {
            if let Some(record) = task.container_mut(&container.container_name) {
                // A health change of a running container says nothing of its exit.
                if container.status == Status::Stopped {
                    record.exit_reported = true;
                    record.exit_report_queued = false;
                }
                heard(record, container);
            }
        }
    }
}

/// A report was given up (the control plane refused it for good): plan it again only if it
/// changes.
pub fn apply_abandoned(task: &mut TaskRecord, report: &Report) {
    apply_acknowledged(task, report);
}

/// Tasks the agent means to run (or still runs) that the manifest does not list: the stop
/// candidates.
pub fn stop_candidates(tasks: &BTreeMap<String, TaskRecord>, manifest: &[String]) -> Vec<String> {
    tasks
        .values()
        .filter(|t| (t.wanted_running() || t.has_running_container()) && !manifest.contains(&t.arn))
        .map(|t| t.arn.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail loudly")]

    use serde_json::{Value, json};

    use super::*;

    const ARN: &str = "arn:aws:ecs:us-east-1:111122223333:task/edge/0123456789abcdef";

    fn record(containers: Value) -> TaskRecord {
        TaskRecord::from_spec(
            serde_json::from_value(json!({
                "taskArn": ARN, "family": "web", "revision": 1, "desiredStatus": "RUNNING", "containers": containers
            }))
            .unwrap(),
        )
    }

    fn inspected(id: &str, running: bool, exit_code: i64) -> Inspected {
        Inspected {
            id: id.into(),
            status: if running { "running" } else { "exited" }.into(),
            running,
            exit_code,
            error: String::new(),
            bindings: Vec::new(),
        }
    }

    fn listed(id: &str, container: &str, state: &str) -> ListedContainer {
        ListedContainer {
            id: id.into(),
            labels: [
                (LABEL_TASK_ARN.to_owned(), ARN.to_owned()),
                (LABEL_CONTAINER_NAME.to_owned(), container.to_owned()),
            ]
            .into_iter()
            .collect(),
            state: state.into(),
            status: String::new(),
        }
    }

    /// The kinds of `actions`, compactly: `launch:app`, `report:RUNNING`, ...
    fn kinds(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .map(|action| match action {
                Action::EnsureImages { images, .. } => format!("images:{}", images.join(",")),
                Action::Launch { container, .. } => format!("launch:{container}"),
                Action::Stop { container, grace, .. } => format!("stop:{container}:{grace:?}"),
                Action::Inspect { container, .. } => format!("inspect:{container}"),
                Action::Remove { container, .. } => format!("remove:{container}"),
                Action::Report(Report::Task { status, .. }) => format!("report:{}", status.as_str()),
                Action::Report(Report::Container { container, .. }) => {
                    format!("container-report:{}", container.container_name)
                }
                Action::Forget { .. } => "forget".to_owned(),
            })
            .collect()
    }

    fn acknowledge(task: &mut TaskRecord, actions: &[Action]) {
        for action in actions {
            if let Action::Report(report) = action {
                apply_acknowledged(task, report);
            }
        }
    }

    #[test]
    fn a_task_pulls_launches_runs_and_is_reported_once_per_status() {
        let mut task = record(json!([{"name": "app", "image": "busybox", "essential": true}]));
        let actions = plan(&mut task, 100, 3600);
        assert_eq!(kinds(&actions), ["images:busybox", "report:PENDING"]);
        assert_eq!(kinds(&plan(&mut task, 100, 3600)), Vec::<String>::new(), "nothing twice while under way");
        apply_images(&mut task, Ok(None));
        assert_eq!(kinds(&plan(&mut task, 100, 3600)), ["launch:app"]);
        apply_launch(&mut task, "app", LaunchResult::Launched(inspected("c1", true, 0)), 1);
        let actions = plan(&mut task, 101, 3600);
        assert_eq!(kinds(&actions), ["report:RUNNING"]);
        let Action::Report(Report::Task { containers, .. }) = &actions[0] else { panic!() };
        assert_eq!((containers[0].runtime_id.as_deref(), containers[0].status), (Some("c1"), Status::Running));
        acknowledge(&mut task, &actions);
        assert_eq!(task.reported, Some(Status::Running));
        assert!(plan(&mut task, 102, 3600).is_empty());
    }

    #[test]
    fn a_failed_pull_stops_the_task_with_ecs_reason() {
        let mut task = record(json!([{"name": "app", "image": "nope:1"}]));
        plan(&mut task, 100, 3600);
        apply_images(
            &mut task,
            Err(("nope:1".into(), "CannotPullContainerError: Error response from daemon: pull access denied".into())),
        );
        let actions = plan(&mut task, 105, 3600);
        assert_eq!(kinds(&actions), ["report:STOPPED"]);
        let Action::Report(Report::Task { reason, containers, execution_stopped_at, .. }) = &actions[0] else {
            panic!()
        };
        let expected = "CannotPullContainerError: Error response from daemon: pull access denied";
        assert_eq!(reason.as_deref(), Some(expected));
        assert_eq!(containers[0].reason.as_deref(), Some(expected));
        assert_eq!(*execution_stopped_at, Some(105));
        acknowledge(&mut task, &actions);
        assert_eq!(kinds(&plan(&mut task, 106, 3600)), ["forget"], "nothing was created: nothing to clean");
    }

    #[test]
    fn a_container_waiting_past_its_start_timeout_never_starts() {
        let mut task = record(json!([
            {"name": "db", "image": "d", "essential": false, "healthCheck": {"command": ["CMD", "true"]}},
            {"name": "app", "image": "a", "essential": true, "startTimeout": 10,
             "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]},
        ]));
        plan(&mut task, 0, 0);
        apply_images(&mut task, Ok(None));
        assert_eq!(kinds(&plan(&mut task, 100, 0)), ["launch:db"]);
        apply_launch(&mut task, "db", LaunchResult::Launched(inspected("db1", true, 0)), 1);
        assert!(kinds(&plan(&mut task, 109, 0)).is_empty(), "app waits up to 10 s for db to be healthy");
        plan(&mut task, 110, 0);
        let app = task.container("app").unwrap();
        assert_eq!(app.state, ContainerState::Stopped);
        assert_eq!(
            app.reason.as_deref(),
            Some("CannotStartContainerError: its dependencies were not met within its startTimeout of 10s")
        );
        assert_eq!(task.desired, Status::Stopped, "an essential container that cannot start stops the task");
    }

    #[test]
    fn depends_on_orders_the_starts() {
        let mut task = record(json!([
            {"name": "init", "image": "i", "essential": false},
            {"name": "db", "image": "d", "essential": true},
            {"name": "app", "image": "a", "essential": true,
             "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}, {"containerName": "db", "condition": "START"}]},
            {"name": "sidecar", "image": "a", "essential": false,
             "dependsOn": [{"containerName": "app", "condition": "HEALTHY"}]},
        ]));
        plan(&mut task, 0, 0);
        apply_images(&mut task, Ok(Some((1, 2))));
        assert_eq!(kinds(&plan(&mut task, 2, 0)), ["launch:init", "launch:db"]);
        apply_launch(&mut task, "db", LaunchResult::Launched(inspected("db1", true, 0)), 1);
        assert!(kinds(&plan(&mut task, 2, 0)).is_empty(), "app waits for init to succeed");
        apply_launch(&mut task, "init", LaunchResult::Launched(inspected("init1", true, 0)), 1);
        assert!(kinds(&plan(&mut task, 2, 0)).is_empty());
        // init exits 0: observed, inspected, then app starts.
        let mut tasks = BTreeMap::from([(ARN.to_owned(), task)]);
        observe(&mut tasks, &[listed("db1", "db", "running"), listed("init1", "init", "exited")], 2);
        let mut task = tasks.remove(ARN).unwrap();
        assert_eq!(kinds(&plan(&mut task, 3, 0)), ["inspect:init"]);
        apply_exit(&mut task, "init", Some(0), 2);
        assert_eq!(kinds(&plan(&mut task, 3, 0)), ["launch:app", "container-report:init"]);
        apply_launch(&mut task, "app", LaunchResult::Launched(inspected("app1", true, 0)), 2);
        let actions = plan(&mut task, 4, 0);
        assert_eq!(
            kinds(&actions),
            ["report:RUNNING", "container-report:sidecar"],
            "every essential container runs; the sidecar can never start"
        );
        let Action::Report(Report::Task { pull_started_at, pull_stopped_at, .. }) = &actions[0] else { panic!() };
        assert_eq!((*pull_started_at, *pull_stopped_at), (Some(1), Some(2)));
        // app has no health check: HEALTHY can never hold, so the sidecar never starts.
        let sidecar = task.container("sidecar").unwrap();
        assert_eq!(sidecar.state, ContainerState::Stopped);
        assert!(sidecar.reason.as_deref().unwrap().contains("has no health check"), "{:?}", sidecar.reason);
    }

    #[test]
    fn health_is_reported_with_the_task_and_again_when_it_changes() {
        let mut task = record(json!([
            {"name": "app", "image": "a", "healthCheck": {"command": ["CMD-SHELL", "true"]}},
            {"name": "plain", "image": "a", "essential": false},
        ]));
        plan(&mut task, 0, 0);
        apply_images(&mut task, Ok(None));
        plan(&mut task, 0, 0);
        apply_launch(&mut task, "app", LaunchResult::Launched(inspected("a1", true, 0)), 1);
        apply_launch(&mut task, "plain", LaunchResult::Launched(inspected("p1", true, 0)), 1);
        let health_of = |actions: &[Action]| -> Vec<(String, Option<&'static str>)> {
            let mut seen = Vec::new();
            for action in actions {
                match action {
                    Action::Report(Report::Task { containers, .. }) => {
                        seen.extend(containers.iter().map(|c| (c.container_name.clone(), c.health_status)));
                    }
                    Action::Report(Report::Container { container, .. }) => {
                        seen.push((container.container_name.clone(), container.health_status));
                    }
                    _ => {}
                }
            }
            seen
        };
        // Docker says `starting`: UNKNOWN; a container without a check in its definition
        // reports none, whatever its image carries.
        let mut tasks = BTreeMap::from([(ARN.to_owned(), task)]);
        let mut app = listed("a1", "app", "running");
        app.status = "Up 1 second (health: starting)".into();
        let mut plain = listed("p1", "plain", "running");
        plain.status = "Up 1 second (healthy)".into();
        observe(&mut tasks, &[app.clone(), plain.clone()], 2);
        let mut task = tasks.remove(ARN).unwrap();
        let actions = plan(&mut task, 1, 0);
        assert_eq!(kinds(&actions), ["report:RUNNING"]);
        assert_eq!(health_of(&actions), [("app".into(), Some("UNKNOWN")), ("plain".into(), None)]);
        acknowledge(&mut task, &actions);
        assert!(plan(&mut task, 1, 0).is_empty(), "UNKNOWN is what the control plane shows");
        // Healthy: one container state change, not repeated while it is queued or once heard.
        app.status = "Up 9 seconds (healthy)".into();
        let mut tasks = BTreeMap::from([(ARN.to_owned(), task)]);
        observe(&mut tasks, &[app.clone(), plain.clone()], 3);
        let mut task = tasks.remove(ARN).unwrap();
        let actions = plan(&mut task, 2, 0);
        assert_eq!(kinds(&actions), ["container-report:app"]);
        assert_eq!(health_of(&actions), [("app".into(), Some("HEALTHY"))]);
        let Action::Report(Report::Container { container, .. }) = &actions[0] else { panic!() };
        assert_eq!(container.status, Status::Running);
        assert!(plan(&mut task, 2, 0).is_empty(), "queued already");
        acknowledge(&mut task, &actions);
        assert!(plan(&mut task, 3, 0).is_empty());
        assert!(!task.container("app").unwrap().exit_reported, "a health change is not an exit");
        // Unhealthy: reported again.
        task.container_mut("app").unwrap().health = Some("unhealthy".into());
        let actions = plan(&mut task, 4, 0);
        assert_eq!(health_of(&actions), [("app".into(), Some("UNHEALTHY"))]);
        // The acknowledged health survives a restart; what was queued is asked again.
        let restored: TaskRecord = serde_json::from_str(&serde_json::to_string(&task).unwrap()).unwrap();
        assert_eq!(restored.container("app").unwrap().health_reported.as_deref(), Some("HEALTHY"));
        let mut restored = restored;
        assert_eq!(health_of(&plan(&mut restored, 5, 0)), [("app".into(), Some("UNHEALTHY"))]);
    }

    #[test]
    fn conditions_hold_fail_or_wait() {
        let mut task = record(json!([{"name": "dep", "image": "x", "healthCheck": {"command": ["CMD", "true"]}}]));
        let check = |task: &TaskRecord, condition| {
            dependency_state(task, &Dependency { container_name: "dep".into(), condition })
        };
        for condition in [Condition::Start, Condition::Complete, Condition::Success, Condition::Healthy] {
            assert_eq!(check(&task, condition), DependencyState::Waiting, "{condition:?} before anything");
        }
        apply_launch(&mut task, "dep", LaunchResult::Launched(inspected("d", true, 0)), 1);
        assert_eq!(check(&task, Condition::Start), DependencyState::Met);
        assert_eq!(check(&task, Condition::Complete), DependencyState::Waiting);
        assert_eq!(check(&task, Condition::Healthy), DependencyState::Waiting, "health: starting");
        task.container_mut("dep").unwrap().health = Some("healthy".into());
        assert_eq!(check(&task, Condition::Healthy), DependencyState::Met);
        apply_exit(&mut task, "dep", Some(3), 1);
        assert_eq!(check(&task, Condition::Start), DependencyState::Met, "it did start");
        assert_eq!(check(&task, Condition::Complete), DependencyState::Met);
        assert!(matches!(check(&task, Condition::Success), DependencyState::Failed(why) if why.contains("code 3")));
        let missing =
            dependency_state(&task, &Dependency { container_name: "ghost".into(), condition: Condition::Start });
        assert!(matches!(missing, DependencyState::Failed(_)));
    }

    #[test]
    fn an_essential_exit_stops_the_others_and_the_task() {
        let mut task = record(json!([
            {"name": "app", "image": "a", "essential": true},
            {"name": "helper", "image": "a", "essential": false, "stopTimeout": 2},
        ]));
        plan(&mut task, 0, 0);
        apply_images(&mut task, Ok(None));
        plan(&mut task, 0, 0);
        apply_launch(&mut task, "app", LaunchResult::Launched(inspected("a1", true, 0)), 1);
        apply_launch(&mut task, "helper", LaunchResult::Launched(inspected("h1", true, 0)), 1);
        let actions = plan(&mut task, 1, 0);
        acknowledge(&mut task, &actions);
        let mut tasks = BTreeMap::from([(ARN.to_owned(), task)]);
        observe(&mut tasks, &[listed("a1", "app", "exited"), listed("h1", "helper", "running")], 2);
        let mut task = tasks.remove(ARN).unwrap();
        assert_eq!(kinds(&plan(&mut task, 5, 0)), ["stop:helper:Some(2)", "inspect:app"]);
        assert_eq!(task.stop_reason.as_deref(), Some(ESSENTIAL_EXITED));
        apply_exit(&mut task, "app", Some(7), 2);
        assert!(plan(&mut task, 5, 0).is_empty(), "STOPPED waits for the helper");
        apply_exit(&mut task, "helper", Some(143), 2);
        let actions = plan(&mut task, 6, 0);
        assert_eq!(kinds(&actions), ["report:STOPPED"]);
        let Action::Report(Report::Task { reason, containers, .. }) = &actions[0] else { panic!() };
        assert_eq!(reason.as_deref(), Some(ESSENTIAL_EXITED));
        let codes: Vec<Option<i64>> = containers.iter().map(|c| c.exit_code).collect();
        assert_eq!(codes, [Some(7), Some(143)]);
        acknowledge(&mut task, &actions);
        assert_eq!(kinds(&plan(&mut task, 6, 0)), ["remove:app", "remove:helper"], "no clean-up wait here");
        apply_removed(&mut task, "app");
        apply_removed(&mut task, "helper");
        assert_eq!(kinds(&plan(&mut task, 7, 0)), ["forget"]);
    }

    #[test]
    fn stopping_stops_dependents_first_and_waits_for_clean_up() {
        let mut task = record(json!([
            {"name": "db", "image": "d"},
            {"name": "app", "image": "a", "dependsOn": [{"containerName": "db", "condition": "START"}]},
        ]));
        plan(&mut task, 0, 60);
        apply_images(&mut task, Ok(None));
        plan(&mut task, 0, 60);
        apply_launch(&mut task, "db", LaunchResult::Launched(inspected("d1", true, 0)), 1);
        plan(&mut task, 0, 60);
        apply_launch(&mut task, "app", LaunchResult::Launched(inspected("a1", true, 0)), 1);
        let actions = plan(&mut task, 0, 60);
        acknowledge(&mut task, &actions);
        task.desired = Status::Stopped;
        assert_eq!(kinds(&plan(&mut task, 10, 60)), ["stop:app:Some(30)"]);
        apply_exit(&mut task, "app", Some(143), 1);
        assert_eq!(kinds(&plan(&mut task, 11, 60)), ["stop:db:Some(30)"]);
        apply_exit(&mut task, "db", Some(0), 1);
        let actions = plan(&mut task, 12, 60);
        assert_eq!(kinds(&actions), ["report:STOPPED"]);
        let Action::Report(Report::Task { reason, .. }) = &actions[0] else { panic!() };
        assert_eq!(*reason, None, "the control plane stopped it and keeps its own reason");
        acknowledge(&mut task, &actions);
        assert!(plan(&mut task, 71, 60).is_empty(), "kept for the clean-up wait");
        assert_eq!(kinds(&plan(&mut task, 72, 60)), ["remove:db", "remove:app"]);
    }

    #[test]
    fn a_stop_before_anything_ran_reports_stopped_without_docker() {
        let mut task = record(json!([{"name": "app", "image": "a"}]));
        task.desired = Status::Stopped;
        let actions = plan(&mut task, 1, 60);
        assert_eq!(kinds(&actions), ["report:STOPPED"]);
        acknowledge(&mut task, &actions);
        assert_eq!(kinds(&plan(&mut task, 1, 60)), ["forget"]);
    }

    #[test]
    fn create_and_start_failures_stop_the_task() {
        let mut task = record(json!([{"name": "app", "image": "a"}, {"name": "b", "image": "a"}]));
        plan(&mut task, 0, 0);
        apply_images(&mut task, Ok(None));
        plan(&mut task, 0, 0);
        apply_launch(&mut task, "app", LaunchResult::CreateFailed("Error response from daemon: bad".into()), 1);
        apply_launch(
            &mut task,
            "b",
            LaunchResult::StartFailed { runtime_id: "b1".into(), message: "exec: not found".into() },
            1,
        );
        let actions = plan(&mut task, 1, 0);
        assert_eq!(kinds(&actions), ["report:STOPPED"]);
        let Action::Report(Report::Task { containers, reason, .. }) = &actions[0] else { panic!() };
        let create = "CannotCreateContainerError: Error response from daemon: bad";
        assert_eq!(reason.as_deref(), Some(create), "an essential container that never started says why");
        assert_eq!(
            containers[0].reason.as_deref(),
            Some("CannotCreateContainerError: Error response from daemon: bad")
        );
        assert_eq!(containers[1].reason.as_deref(), Some("CannotStartContainerError: exec: not found"));
    }

    #[test]
    fn observation_adopts_unknown_containers_and_notices_vanished_ones() {
        let mut tasks = BTreeMap::new();
        let other = "arn:aws:ecs:us-east-1:111122223333:task/edge/ffff";
        let mut stray = listed("s1", "app", "running");
        stray.labels.insert(LABEL_TASK_ARN.into(), other.into());
        let duplicates = observe(&mut tasks, &[stray.clone(), listed("x1", "web", "exited")], 1);
        assert!(duplicates.is_empty());
        let adopted = &tasks[other];
        assert!(adopted.spec.is_none() && adopted.wanted_running() && adopted.has_running_container());
        assert_eq!(tasks[ARN].desired, Status::Stopped, "an exited unknown task is not wanted");
        // The adopted task is a stop candidate unless the manifest lists it.
        assert_eq!(stop_candidates(&tasks, &[]), [other]);
        assert!(stop_candidates(&tasks, &[other.to_owned()]).is_empty());
        // Adopted tasks are never reported PENDING or RUNNING.
        let mut adopted = tasks.remove(other).unwrap();
        assert!(plan(&mut adopted, 0, 0).is_empty());
        adopted.desired = Status::Stopped;
        assert_eq!(kinds(&plan(&mut adopted, 0, 0)), ["stop:app:None"], "its own StopTimeout");
        // A second container for the same task container is a duplicate.
        let mut tasks = BTreeMap::from([(other.to_owned(), TaskRecord::adopted(other))]);
        observe(&mut tasks, &[stray.clone()], 1);
        let mut twin = stray.clone();
        twin.id = "s2".into();
        assert_eq!(observe(&mut tasks, &[stray, twin], 2), ["s2"]);
        // Not listed any more, and settled before the listing: it vanished.
        observe(&mut tasks, &[], 3);
        let record = &tasks[other].containers[0];
        assert_eq!((record.state, record.runtime_id.as_deref()), (ContainerState::Stopped, None));
    }

    #[test]
    fn a_launch_that_settles_after_a_listing_began_is_not_vanished() {
        let mut task = record(json!([{"name": "app", "image": "a"}]));
        plan(&mut task, 0, 0);
        apply_images(&mut task, Ok(None));
        plan(&mut task, 0, 0);
        apply_launch(&mut task, "app", LaunchResult::Launched(inspected("a1", true, 0)), 5);
        let mut tasks = BTreeMap::from([(ARN.to_owned(), task)]);
        observe(&mut tasks, &[], 5);
        assert_eq!(tasks[ARN].containers[0].state, ContainerState::Running);
        observe(&mut tasks, &[], 6);
        assert_eq!(tasks[ARN].containers[0].state, ContainerState::Stopped);
    }

    #[test]
    fn a_restart_picks_up_where_it_was() {
        // Persisted mid-launch: created by the previous run, not yet recorded.
        let mut task = record(json!([{"name": "app", "image": "a"}]));
        plan(&mut task, 0, 0);
        let text = serde_json::to_string(&task).unwrap();
        let mut restored: TaskRecord = serde_json::from_str(&text).unwrap();
        assert!(!restored.images_ready && restored.queued.is_none(), "in-memory progress starts over");
        let mut forgotten = task.clone();
        forgotten.forget_progress();
        assert_eq!(forgotten, restored, "forgetting progress is what a restart does");
        assert_eq!(restored.reported, None);
        let mut tasks = BTreeMap::from([(ARN.to_owned(), restored.clone())]);
        observe(&mut tasks, &[listed("a1", "app", "created")], 1);
        restored = tasks.remove(ARN).unwrap();
        assert_eq!(restored.containers[0].runtime_id.as_deref(), Some("a1"));
        assert_eq!(
            kinds(&plan(&mut restored, 1, 0)),
            ["launch:app", "report:PENDING"],
            "images are checked only for containers not yet created; it is started, not created again"
        );
    }

    #[test]
    fn the_control_plane_never_restarts_a_stopped_task() {
        let mut task = record(json!([{"name": "app", "image": "a"}]));
        task.desired = Status::Stopped;
        task.stop_reason = Some(ESSENTIAL_EXITED.into());
        let spec = task.spec.clone().unwrap();
        task.apply_desired(spec);
        assert_eq!(task.desired, Status::Stopped);
        let mut adopted = TaskRecord::adopted(ARN);
        adopted.apply_desired(record(json!([{"name": "app", "image": "a"}])).spec.unwrap());
        assert!(adopted.spec.is_some() && adopted.containers.len() == 1, "an adopted task learns its spec");
    }

    #[test]
    fn reports_serialize_as_the_ecs_requests() {
        let report = Report::Task {
            task_arn: ARN.into(),
            status: Status::Stopped,
            reason: Some(ESSENTIAL_EXITED.into()),
            containers: vec![ContainerReport {
                container_name: "app".into(),
                runtime_id: Some("c1".into()),
                status: Status::Stopped,
                exit_code: Some(1),
                reason: None,
                network_bindings: vec![NetworkBinding {
                    bind_ip: "0.0.0.0".into(),
                    container_port: 80,
                    host_port: 49153,
                    protocol: "tcp".into(),
                }],
                health_status: Some("UNHEALTHY"),
            }],
            pull_started_at: None,
            pull_stopped_at: None,
            execution_stopped_at: Some(1_795_000_000),
        };
        let (operation, body) = report.request("edge");
        assert_eq!(operation, "SubmitTaskStateChange");
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"cluster": "edge", "task": ARN, "status": "STOPPED", "reason": ESSENTIAL_EXITED,
                   "executionStoppedAt": 1_795_000_000,
                   "containers": [{"containerName": "app", "runtimeId": "c1", "status": "STOPPED", "exitCode": 1,
                                   "healthStatus": "UNHEALTHY",
                                   "networkBindings": [{"bindIP": "0.0.0.0", "containerPort": 80, "hostPort": 49153, "protocol": "tcp"}]}]})
        );
        let Report::Task { containers, .. } = report else { panic!() };
        let (operation, body) =
            Report::Container { task_arn: ARN.into(), container: containers[0].clone() }.request("edge");
        let body = serde_json::to_value(&body).unwrap();
        assert_eq!(operation, "SubmitContainerStateChange");
        assert_eq!(
            (body["cluster"].as_str(), body["task"].as_str(), body["exitCode"].as_i64()),
            (Some("edge"), Some(ARN), Some(1))
        );
    }
}
