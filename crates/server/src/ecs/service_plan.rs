//! The service scheduler's decisions: given one service, its tasks, its cluster's container
//! instances and the time, what to do next (`plan`). Pure: no store, no clock, no randomness
//! (placement's `random` strategy is seeded with `now`); `services::reconcile_service`
//! observes, plans and applies.
//!
//! Rules, as ECS's scheduler follows them (one pass takes one step; the next pass continues):
//! - Tasks on a lost instance (its last recorded poll older than the disconnect timeout
//!   allows, or the instance `INACTIVE`) are stopped first, and replaced like any missing task;
//!   a lost instance takes no new task.
//! - A task whose health is `UNHEALTHY` once the service's `healthCheckGracePeriodSeconds`
//!   have passed since it started is stopped (`Task failed container health checks`), with the
//!   event `(task ID) failed container health checks.`, and replaced.
//! - A task is healthy when it is `RUNNING` and, if its containers have health checks, its
//!   health is `HEALTHY`: only healthy tasks count towards `minimumHealthyPercent` and a
//!   deployment's completion.
//! - A `DRAINING` service (being deleted) stops every task (`has stopped N running tasks`),
//!   then becomes `INACTIVE` (`has been deleted.`).
//! - `REPLICA`: the primary deployment (the first) keeps `desiredCount` tasks. Missing tasks
//!   are started while the service's tasks stay within `maximumPercent` of the desired count;
//!   tasks of older deployments, and tasks on `DRAINING` instances, are stopped while at least
//!   `minimumHealthyPercent` of the desired count stays healthy (at once if they are not
//!   healthy, or the desired count is 0; a task on a draining instance counts until it is
//!   stopped, as ECS counts it); extra tasks of the primary deployment are stopped newest
//!   first.
//! - `DAEMON`: one task of the primary deployment on every `ACTIVE`, connected instance that
//!   is not lost and meets the `memberOf` constraints; the desired count is the number of such
//!   instances. A task of an older deployment is stopped while `minimumHealthyPercent` of them
//!   stays healthy, and its instance takes the new one once nothing of the service runs there
//!   (`maximumPercent` is 100); tasks on `DRAINING` instances, or on instances that no longer
//!   meet the constraints, are stopped. Each instance is placed on its own: one that cannot
//!   take its task is an event (one per pass, with the distinct reasons of every such
//!   instance), and the others are still placed.
//! - Deployments: one without tasks ends; the primary with only its own tasks, all healthy
//!   and as many as desired, is `COMPLETED`, reported once as `has reached a steady state.`
//!   The primary's `failedTasks` counts its consecutive failed tasks, newest first, until one
//!   that was healthy (a task fails when it stops before it runs, an essential container exits,
//!   or its health checks fail). With the circuit breaker on, as many as half the desired
//!   count (at least 3, at most 200) fail the deployment: `FAILED`, the event `(deployment
//!   ID) deployment failed: tasks failed to start.`, and no new task for it; with rollback, the
//!   latest deployment that completed becomes the primary again (`rolling back to deployment
//!   ID.`) and replaces the failed one's tasks.
//! - Throttling: when the primary deployment's newest tasks failed before they ever ran (3 or
//!   more in a row), its next task waits 10 s after the latest of them stopped, twice as long
//!   for each further one, at most 27 minutes, with the event `is unable to consistently start
//!   tasks successfully.` (ECS's service throttle logic; a new deployment starts afresh).
//! - A task that cannot be placed is the event `was unable to place a task because no container
//!   instance met all of its requirements. Reason: ...`. An event that repeats the service's
//!   latest one is not recorded again.

use std::collections::HashMap;

use super::model::container_instance::{ContainerInstance, ContainerInstanceStatus, Reserved};
pub(crate) use super::model::service::ServiceStatus;
use super::model::task;
use super::scheduler::{self, Constraint, Demand, Strategy};

/// How a service decides how many tasks it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SchedulingStrategy {
    /// `desiredCount` tasks, placed by the placement strategies.
    Replica,
    /// One task on every instance.
    Daemon,
}

impl SchedulingStrategy {
    /// The stored strategy (`REPLICA` when absent).
    pub(crate) fn parse(text: Option<&str>) -> SchedulingStrategy {
        match text {
            Some("DAEMON") => SchedulingStrategy::Daemon,
            _ => SchedulingStrategy::Replica,
        }
    }
}

/// Where a deployment's rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RolloutState {
    InProgress,
    Completed,
    /// The circuit breaker stopped it.
    Failed,
}

impl RolloutState {
    /// The stored state; `None` for one the scheduler does not set (or none).
    pub(crate) fn parse(text: Option<&str>) -> Option<RolloutState> {
        match text {
            Some("IN_PROGRESS") => Some(RolloutState::InProgress),
            Some("COMPLETED") => Some(RolloutState::Completed),
            Some("FAILED") => Some(RolloutState::Failed),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RolloutState::InProgress => "IN_PROGRESS",
            RolloutState::Completed => "COMPLETED",
            RolloutState::Failed => "FAILED",
        }
    }

    /// ECS's `rolloutStateReason`.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            RolloutState::InProgress => "ECS deployment in progress.",
            RolloutState::Completed => "ECS deployment completed.",
            RolloutState::Failed => "ECS deployment circuit breaker: tasks failed to start.",
        }
    }
}

/// One deployment of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Deployment {
    /// `ecs-svc/...`: its tasks' `startedBy`.
    pub id: String,
    pub rollout: Option<RolloutState>,
    /// Its `failedTasks` as last recorded.
    pub failed_tasks: i64,
}

/// `deploymentConfiguration.deploymentCircuitBreaker`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
}

/// What the service's new tasks need, for placement.
#[derive(Debug, Clone)]
pub(crate) struct TaskTemplate {
    pub demand: Demand,
    /// `service:NAME`.
    pub group: String,
    /// The service's and the task definition's.
    pub constraints: Vec<Constraint>,
    pub strategies: Vec<Strategy>,
}

/// A service as the scheduler sees it.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub name: String,
    pub status: ServiceStatus,
    pub strategy: SchedulingStrategy,
    pub desired_count: i64,
    /// The primary (newest) first.
    pub deployments: Vec<Deployment>,
    pub maximum_percent: i64,
    pub minimum_healthy_percent: i64,
    pub circuit_breaker: CircuitBreaker,
    /// `healthCheckGracePeriodSeconds`: how long after a task starts its health is not acted on.
    pub health_check_grace_period: i64,
    /// The latest deployment that completed: what a failed one rolls back to.
    pub last_completed: Option<String>,
    /// How its new tasks are placed, or why none can be (an invalid task definition or
    /// placement rule, in the words of the error).
    pub template: Result<TaskTemplate, String>,
    /// The latest event's message.
    pub latest_event: Option<String>,
}

impl Service {
    /// The primary deployment's id (`""` without one).
    fn primary(&self) -> &str {
        self.deployments.first().map(|d| d.id.as_str()).unwrap_or_default()
    }

    /// Whether the primary deployment failed: it starts no task and replaces none.
    fn stalled(&self) -> bool {
        self.deployments.first().is_some_and(|d| d.rollout == Some(RolloutState::Failed))
    }

    /// Whether `task` is past the health check grace period (its health is acted on).
    fn past_grace(&self, task: &Task, now: i64) -> bool {
        now - task.started_at.unwrap_or(task.created_at) >= self.health_check_grace_period
    }
}

/// A task's status (`PROVISIONING`, `ACTIVATING` and the like count as `Pending`: the
/// scheduler only asks whether it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskStatus {
    Pending,
    Running,
    Stopped,
}

impl From<task::TaskStatus> for TaskStatus {
    fn from(status: task::TaskStatus) -> TaskStatus {
        match status {
            task::TaskStatus::Running => TaskStatus::Running,
            task::TaskStatus::Stopped => TaskStatus::Stopped,
            task::TaskStatus::Provisioning
            | task::TaskStatus::Pending
            | task::TaskStatus::Activating
            | task::TaskStatus::Deactivating
            | task::TaskStatus::Stopping
            | task::TaskStatus::Deprovisioning => TaskStatus::Pending,
        }
    }
}

impl From<task::DesiredStatus> for TaskStatus {
    fn from(status: task::DesiredStatus) -> TaskStatus {
        match status {
            task::DesiredStatus::Running => TaskStatus::Running,
            task::DesiredStatus::Pending => TaskStatus::Pending,
            task::DesiredStatus::Stopped => TaskStatus::Stopped,
        }
    }
}

/// A task's health, as ECS computes it from its containers'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    Healthy,
    Unhealthy,
    Unknown,
}

impl Health {
    pub(crate) fn parse(text: Option<&str>) -> Health {
        match text {
            Some("HEALTHY") => Health::Healthy,
            Some("UNHEALTHY") => Health::Unhealthy,
            _ => Health::Unknown,
        }
    }
}

/// One of the service's tasks: one meant to run, or a stopped one of the
/// primary deployment (for its failure count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Task {
    pub arn: String,
    /// Only tasks meant to run count; one already told to stop is left alone.
    pub desired: TaskStatus,
    pub last: TaskStatus,
    pub health: Health,
    /// Whether its health comes from container health checks (else running is healthy).
    pub checks_health: bool,
    pub instance: Option<String>,
    /// The deployment that started it (its `startedBy`).
    pub deployment: String,
    /// When it was created: scale-in stops the newest first.
    pub created_at: i64,
    /// When it first ran.
    pub started_at: Option<i64>,
    /// When it stopped.
    pub stopped_at: Option<i64>,
    /// Stopped on its own as a failure: it never ran, an essential container exited, or its
    /// health checks failed.
    pub failed: bool,
    /// Protected from scale-in (UpdateTaskProtection): neither scale-in nor a deployment
    /// stops it while its protection lasts (a deployment waits for it).
    pub protected: bool,
}

impl Task {
    /// Running, and healthy if its containers' health is checked.
    fn healthy(&self) -> bool {
        self.last == TaskStatus::Running
            && match self.health {
                Health::Healthy => true,
                Health::Unhealthy => false,
                Health::Unknown => !self.checks_health,
            }
    }
}

/// A container instance's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InstanceStatus {
    Active,
    Draining,
    Inactive,
    /// Registering, deregistering and the like: takes no task, drains none.
    Other,
}

impl InstanceStatus {
    pub(crate) fn of(instance: &ContainerInstance) -> InstanceStatus {
        match instance.status {
            ContainerInstanceStatus::Active => InstanceStatus::Active,
            ContainerInstanceStatus::Draining => InstanceStatus::Draining,
            ContainerInstanceStatus::Inactive => InstanceStatus::Inactive,
            ContainerInstanceStatus::Registering
            | ContainerInstanceStatus::Deregistering
            | ContainerInstanceStatus::RegistrationFailed => InstanceStatus::Other,
        }
    }
}

/// The cluster's container instances (every status) and what their tasks reserve.
pub(crate) struct Instances<'a> {
    pub list: &'a [ContainerInstance],
    pub reserved: &'a HashMap<String, Reserved>,
    /// A poll recorded before this is too old for its instance to count as connected: the
    /// instance is lost.
    pub lost_before: i64,
}

impl Instances<'_> {
    fn find(&self, arn: Option<&str>) -> Option<&ContainerInstance> {
        arn.and_then(|arn| self.list.iter().find(|i| i.arn == arn))
    }

    fn is_lost(&self, instance: &ContainerInstance) -> bool {
        InstanceStatus::of(instance) == InstanceStatus::Inactive
            || instance.last_poll_at.is_some_and(|at| at < self.lost_before)
    }

    fn draining(&self, task: &Task) -> bool {
        self.find(task.instance.as_deref()).is_some_and(|i| InstanceStatus::of(i) == InstanceStatus::Draining)
    }

    fn lost(&self, task: &Task) -> bool {
        self.find(task.instance.as_deref()).is_some_and(|i| self.is_lost(i))
    }

    /// Instances a new task may go to (placement itself keeps to `ACTIVE`, connected ones).
    fn reachable(&self) -> Vec<ContainerInstance> {
        self.list.iter().filter(|i| i.last_poll_at.is_none_or(|at| at >= self.lost_before)).cloned().collect()
    }

    /// The instances a daemon runs on: `ACTIVE`, not lost, meeting the `memberOf` constraints
    /// (all of them when the template is unknown). One whose agent is briefly disconnected
    /// keeps its task, but takes a new one only once it is connected again.
    fn daemon_hosts(&self, template: Option<&TaskTemplate>, now: i64) -> Vec<&ContainerInstance> {
        self.list
            .iter()
            .filter(|i| InstanceStatus::of(i) == InstanceStatus::Active && !self.is_lost(i))
            .filter(|i| {
                template.is_none_or(|t| {
                    let reserved = self.reserved.get(&i.arn).cloned().unwrap_or_default();
                    scheduler::satisfies_member_of(i, &reserved, &t.constraints, now)
                })
            })
            .collect()
    }
}

/// Why the scheduler stops a task (its `stoppedReason`; the stop code is always
/// `ServiceSchedulerInitiated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// Its instance is lost: the task is `STOPPED` at once, no agent will report it.
    InstanceLost,
    Unhealthy,
    ServiceDeleted,
    InstanceDraining,
    /// Replaced by a newer deployment, or moved off a draining instance.
    Deployment,
    ScaleIn,
}

impl StopReason {
    pub(crate) fn text(self) -> &'static str {
        match self {
            StopReason::InstanceLost => {
                "Task stopped because its container instance lost its connection to the control plane."
            }
            StopReason::Unhealthy => "Task failed container health checks",
            StopReason::ServiceDeleted => "Service is being deleted",
            StopReason::InstanceDraining => "Container instance is draining",
            StopReason::Deployment => "Task stopped by the service scheduler (deployment)",
            StopReason::ScaleIn => "Scaling activity initiated by (deployment)",
        }
    }
}

/// A service event (ECS's wording, after `(service NAME) `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Unhealthy {
        task: String,
    },
    Started {
        tasks: Vec<String>,
    },
    Stopped {
        tasks: Vec<String>,
    },
    UnableToPlace {
        reason: String,
    },
    SteadyState,
    Deleted,
    /// The circuit breaker failed the deployment.
    DeploymentFailed {
        deployment: String,
    },
    RollingBack {
        to: String,
    },
    /// Its tasks keep failing before they run: new ones wait (the service throttle).
    Throttled,
}

impl Event {
    /// The event's message for service `name`.
    pub(crate) fn message(&self, name: &str) -> String {
        let what = match self {
            Event::Unhealthy { task } => {
                format!("{} failed container health checks.", task_ids(std::slice::from_ref(task)))
            }
            Event::Started { tasks } => format!("has started {} tasks: {}.", tasks.len(), task_ids(tasks)),
            Event::Stopped { tasks } => format!("has stopped {} running tasks: {}.", tasks.len(), task_ids(tasks)),
            Event::UnableToPlace { reason } => format!(
                "was unable to place a task because no container instance met all of its requirements. Reason: {}.",
                reason.trim_end_matches('.')
            ),
            Event::SteadyState => "has reached a steady state.".to_owned(),
            Event::Deleted => "has been deleted.".to_owned(),
            Event::DeploymentFailed { deployment } => {
                format!("(deployment {deployment}) deployment failed: tasks failed to start.")
            }
            Event::RollingBack { to } => format!("rolling back to deployment {to}."),
            Event::Throttled => "is unable to consistently start tasks successfully.".to_owned(),
        };
        format!("(service {name}) {what}")
    }
}

/// `(task ID) (task ID) ...` for task ARNs.
fn task_ids(arns: &[String]) -> String {
    arns.iter()
        .map(|arn| format!("(task {})", arn.rsplit('/').next().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One step for the caller to carry out, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Tell the task to stop.
    Stop {
        task: String,
        reason: StopReason,
    },
    /// Record new tasks of the deployment, one on each instance (in placement order), then
    /// the event `Started` naming them (or, if they cannot be recorded, `UnableToPlace`).
    Start {
        deployment: String,
        instances: Vec<String>,
    },
    Event(Event),
    SetDesiredCount(i64),
    /// The service is deleted: `INACTIVE`.
    Deactivate,
    /// These deployments have no task left: they end.
    EndDeployments(Vec<String>),
    /// The primary deployment's rollout moved (its `updatedAt` is now).
    Rollout(RolloutState),
    /// The primary deployment's `failedTasks` is now this.
    FailedTasks(i64),
    /// The failed primary deployment gives way to this one, which completed before: it is
    /// the primary again, `IN_PROGRESS`, with its task definition.
    RollBack {
        to: String,
    },
}

/// The actions, and the latest event they record (to leave out repeats).
struct Steps {
    actions: Vec<Action>,
    latest_event: Option<String>,
    name: String,
}

impl Steps {
    fn push(&mut self, action: Action) {
        if let Action::Start { .. } = action {
            // Its event names the tasks it records: a message no event here repeats.
            self.latest_event = None;
        }
        self.actions.push(action);
    }

    fn event(&mut self, event: Event) {
        let message = event.message(&self.name);
        if self.latest_event.as_deref() != Some(message.as_str()) {
            self.latest_event = Some(message);
            self.actions.push(Action::Event(event));
        }
    }

    fn stop(&mut self, task: &Task, reason: StopReason) {
        self.actions.push(Action::Stop { task: task.arn.clone(), reason });
    }
}

/// `percent` of `count`, rounded down or up.
fn percent(count: i64, percent: i64, round_up: bool) -> i64 {
    let scaled = count.saturating_mul(percent);
    if round_up { scaled.saturating_add(99) / 100 } else { scaled / 100 }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// How many consecutive failed tasks fail a deployment of `desired` tasks: half of them, at
/// least 3 and at most 200.
pub(crate) fn failure_threshold(desired: i64) -> i64 {
    (desired.max(0).saturating_add(1) / 2).clamp(3, 200)
}

/// The primary deployment's consecutive failures, newest task first, up to the newest task
/// that was healthy. `unhealthy` are the tasks this pass stops for failing health checks.
fn consecutive_failures(service: &Service, tasks: &[Task], unhealthy: &[&Task]) -> i64 {
    let primary = service.primary();
    let mut own: Vec<&Task> = tasks.iter().filter(|t| t.deployment == primary).collect();
    own.sort_by(|a, b| (b.created_at, &b.arn).cmp(&(a.created_at, &a.arn)));
    let mut failures = 0;
    for task in own {
        let failed = task.failed || unhealthy.iter().any(|u| u.arn == task.arn);
        let succeeded = !failed
            && (task.desired == TaskStatus::Running && task.healthy()
                || task.last == TaskStatus::Stopped && task.started_at.is_some());
        if failed {
            failures += 1;
        } else if succeeded {
            break;
        }
    }
    failures
}

/// Consecutive failures before running that start the service throttle, its first wait, and
/// its longest.
const THROTTLE_AFTER: u32 = 3;
const THROTTLE_FIRST_WAIT: i64 = 10;
const THROTTLE_LONGEST_WAIT: i64 = 27 * 60;

/// Whether the primary deployment's new tasks must wait (ECS's service throttle): its newest
/// tasks failed before they ever ran, and the wait since the latest of them has not passed.
fn throttled(service: &Service, tasks: &[Task], now: i64) -> bool {
    let primary = service.primary();
    let mut own: Vec<&Task> = tasks.iter().filter(|t| t.deployment == primary).collect();
    own.sort_by(|a, b| (b.created_at, &b.arn).cmp(&(a.created_at, &a.arn)));
    let unstarted: Vec<&Task> = own
        .into_iter()
        .skip_while(|t| t.desired == TaskStatus::Running && t.started_at.is_none())
        .take_while(|t| t.failed && t.started_at.is_none())
        .collect();
    let Some(failures) = u32::try_from(unstarted.len()).ok().filter(|n| *n >= THROTTLE_AFTER) else {
        return false;
    };
    let doublings = (failures - THROTTLE_AFTER).min(10);
    let wait = THROTTLE_FIRST_WAIT.saturating_mul(1 << doublings).min(THROTTLE_LONGEST_WAIT);
    let latest = unstarted.iter().filter_map(|t| t.stopped_at).max().unwrap_or(0);
    now < latest.saturating_add(wait)
}

/// The next steps for `service`, whose tasks are `tasks` (any order), in a cluster whose
/// container instances are `instances`, at `now` (seconds).
pub(crate) fn plan(service: &Service, tasks: &[Task], instances: &Instances<'_>, now: i64) -> Vec<Action> {
    let mut steps =
        Steps { actions: Vec::new(), latest_event: service.latest_event.clone(), name: service.name.clone() };
    if service.status == ServiceStatus::Inactive {
        return steps.actions;
    }
    let mut live: Vec<&Task> = tasks.iter().filter(|t| t.desired == TaskStatus::Running).collect();
    live.sort_by(|a, b| (a.created_at, &a.arn).cmp(&(b.created_at, &b.arn)));
    let (lost, live): (Vec<&Task>, Vec<&Task>) = live.into_iter().partition(|t| instances.lost(t));
    for task in lost {
        steps.stop(task, StopReason::InstanceLost);
    }
    if service.status == ServiceStatus::Draining {
        if live.is_empty() {
            steps.push(Action::Deactivate);
            steps.event(Event::Deleted);
        } else {
            for task in &live {
                steps.stop(task, StopReason::ServiceDeleted);
            }
            steps.event(Event::Stopped { tasks: live.iter().map(|t| t.arn.clone()).collect() });
        }
        return steps.actions;
    }
    let (unhealthy, live): (Vec<&Task>, Vec<&Task>) =
        live.into_iter().partition(|t| t.health == Health::Unhealthy && service.past_grace(t, now));
    for task in &unhealthy {
        steps.stop(task, StopReason::Unhealthy);
        steps.event(Event::Unhealthy { task: task.arn.clone() });
    }
    if trip_circuit_breaker(service, tasks, &unhealthy, &mut steps) {
        return steps.actions;
    }
    let may_start = !service.stalled() && !throttled(service, tasks, now);
    match service.strategy {
        SchedulingStrategy::Daemon => plan_daemon(service, &live, instances, now, may_start, steps),
        SchedulingStrategy::Replica => plan_replica(service, &live, instances, now, may_start, steps),
    }
}

/// Records the primary deployment's failure count while it rolls out, and fails it (and
/// rolls back) when the circuit breaker says so. Returns whether it did: the pass ends there,
/// since the service's deployments changed under it.
fn trip_circuit_breaker(service: &Service, tasks: &[Task], unhealthy: &[&Task], steps: &mut Steps) -> bool {
    let Some(primary) = service.deployments.first() else { return false };
    if primary.rollout != Some(RolloutState::InProgress) {
        return false;
    }
    let failures = consecutive_failures(service, tasks, unhealthy);
    if failures != primary.failed_tasks {
        steps.push(Action::FailedTasks(failures));
    }
    if !service.circuit_breaker.enable || failures < failure_threshold(service.desired_count) {
        return false;
    }
    steps.push(Action::Rollout(RolloutState::Failed));
    steps.event(Event::DeploymentFailed { deployment: primary.id.clone() });
    if service.circuit_breaker.rollback
        && let Some(to) = service.last_completed.as_ref().filter(|id| **id != primary.id)
    {
        steps.push(Action::RollBack { to: to.clone() });
        steps.event(Event::RollingBack { to: to.clone() });
    }
    true
}

/// Where `count` tasks of the service go, or why none can.
fn place(
    template: &TaskTemplate,
    candidates: &[ContainerInstance],
    reserved: &HashMap<String, Reserved>,
    count: usize,
    now: i64,
) -> Result<Vec<String>, String> {
    let placement = scheduler::place(
        candidates,
        reserved,
        &template.demand,
        count,
        &template.group,
        &template.constraints,
        &template.strategies,
        now,
        u64::try_from(now).unwrap_or(0),
    );
    if placement.placed.is_empty() {
        return Err(placement.failures.first().map(|(_, reason)| reason.clone()).unwrap_or_default());
    }
    Ok(placement.placed)
}

fn plan_daemon(
    service: &Service,
    tasks: &[&Task],
    instances: &Instances<'_>,
    now: i64,
    may_start: bool,
    mut steps: Steps,
) -> Vec<Action> {
    let primary = service.primary();
    let hosts = instances.daemon_hosts(service.template.as_ref().ok(), now);
    let on = |task: &Task, host: &ContainerInstance| task.instance.as_deref() == Some(host.arn.as_str());
    let desired = count(hosts.len());

    // Tasks off the hosts (draining, or no longer meeting the constraints) stop; so do older
    // deployments' tasks while minimumHealthyPercent of the desired count stays healthy.
    let mut stopped: Vec<&Task> = Vec::new();
    for task in tasks.iter().filter(|t| !hosts.iter().any(|h| on(t, h))) {
        let reason = if instances.draining(task) { StopReason::InstanceDraining } else { StopReason::Deployment };
        steps.stop(task, reason);
        stopped.push(task);
    }
    if !service.stalled() {
        let healthy = count(tasks.iter().filter(|t| t.healthy() && !stopped.contains(t)).count());
        let mut can_stop = (healthy - percent(desired, service.minimum_healthy_percent, true)).max(0);
        let older: Vec<&Task> =
            tasks.iter().copied().filter(|t| t.deployment != primary && !t.protected && !stopped.contains(t)).collect();
        for task in older {
            if can_stop > 0 || !task.healthy() {
                steps.stop(task, StopReason::Deployment);
                stopped.push(task);
                if task.healthy() {
                    can_stop -= 1;
                }
            }
        }
    }

    // A connected instance with nothing of the service on it (meant to run, or still
    // stopping: its group's tasks not yet stopped) takes one.
    let mut placed = Vec::new();
    let mut refusals: Vec<String> = Vec::new();
    let group = format!("service:{}", service.name);
    let holds = |host: &ContainerInstance| {
        instances.reserved.get(&host.arn).is_some_and(|r| r.groups.contains(&group))
            || tasks.iter().any(|t| on(t, host))
    };
    let empty = hosts.iter().filter(|h| h.connected(now) && !holds(h));
    let empty: Vec<_> = empty.collect();
    if !empty.is_empty() && !service.stalled() && !may_start {
        steps.event(Event::Throttled);
    }
    for host in empty.into_iter().filter(|_| may_start) {
        let one = std::slice::from_ref(*host);
        match service.template.as_ref().map_err(Clone::clone).and_then(|t| place(t, one, instances.reserved, 1, now)) {
            Ok(arns) => placed.extend(arns),
            Err(reason) if !refusals.contains(&reason) => refusals.push(reason),
            Err(_) => {}
        }
    }
    if !placed.is_empty() {
        steps.push(Action::Start { deployment: primary.to_owned(), instances: placed });
    }
    if !refusals.is_empty() {
        steps.event(Event::UnableToPlace { reason: refusals.join(", ") });
    }
    if !stopped.is_empty() {
        steps.event(Event::Stopped { tasks: stopped.iter().map(|t| t.arn.clone()).collect() });
    }
    if desired != service.desired_count {
        steps.push(Action::SetDesiredCount(desired));
    }
    finish(service, tasks, &stopped, desired, steps)
}

fn plan_replica(
    service: &Service,
    tasks: &[&Task],
    instances: &Instances<'_>,
    now: i64,
    may_start: bool,
    mut steps: Steps,
) -> Vec<Action> {
    let primary = service.primary();
    let desired = service.desired_count;
    let max_total = percent(desired, service.maximum_percent, false).max(desired);
    let min_healthy = percent(desired, service.minimum_healthy_percent, true);

    // Tasks that count towards the target: the primary deployment's, not on draining instances.
    let (keep, replace): (Vec<&Task>, Vec<&Task>) =
        tasks.iter().copied().partition(|t| t.deployment == primary && !instances.draining(t));
    let (total, kept) = (count(tasks.len()), count(keep.len()));

    // 1. Start what is missing, within maximumPercent (a failed deployment starts nothing, a
    // throttled one waits).
    let room = (max_total - total).max(0);
    let wanted = usize::try_from((desired - kept).max(0).min(room)).unwrap_or(0);
    if wanted > 0 && !service.stalled() && !may_start {
        steps.event(Event::Throttled);
    }
    if wanted > 0 && may_start {
        let placed = service
            .template
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|t| place(t, &instances.reachable(), instances.reserved, wanted, now));
        match placed {
            Ok(placed) => steps.push(Action::Start { deployment: primary.to_owned(), instances: placed }),
            Err(reason) => steps.event(Event::UnableToPlace { reason }),
        }
    }

    // 2. Stop replaced tasks while minimumHealthyPercent stays healthy. A task on a draining
    // instance runs until it is stopped, so it counts (else, at 100%, it would never stop).
    let healthy = count(tasks.iter().filter(|t| t.healthy()).count());
    let mut can_stop = (healthy - min_healthy).max(0);
    let mut stopped: Vec<&Task> = Vec::new();
    let replaceable = replace.into_iter().filter(|task| !task.protected && !service.stalled());
    for task in replaceable {
        if can_stop > 0 || !task.healthy() || desired == 0 {
            steps.stop(task, StopReason::Deployment);
            stopped.push(task);
            if task.healthy() {
                can_stop -= 1;
            }
        }
    }
    // 3. Scale in: stop the newest extra tasks of the primary deployment.
    let extra = usize::try_from(kept - desired).unwrap_or(0);
    for task in keep.iter().rev().filter(|task| !task.protected).take(extra) {
        steps.stop(task, StopReason::ScaleIn);
        stopped.push(task);
    }
    if !stopped.is_empty() {
        steps.event(Event::Stopped { tasks: stopped.iter().map(|t| t.arn.clone()).collect() });
    }
    finish(service, tasks, &stopped, desired, steps)
}

/// Ends the deployments left without tasks, and moves the primary's rollout: `COMPLETED`
/// (once, with the steady-state event) when only its own tasks are left, all healthy and
/// `desired` of them; back to `IN_PROGRESS` when that stops being so. A failed rollout stays.
fn finish(service: &Service, tasks: &[&Task], stopped: &[&Task], desired: i64, mut steps: Steps) -> Vec<Action> {
    let primary = service.primary();
    let left: Vec<&Task> = tasks.iter().copied().filter(|t| !stopped.iter().any(|s| s.arn == t.arn)).collect();
    let ended: Vec<String> = service
        .deployments
        .iter()
        .filter(|d| d.id != primary && !left.iter().any(|t| t.deployment == d.id))
        .map(|d| d.id.clone())
        .collect();
    if !ended.is_empty() {
        steps.push(Action::EndDeployments(ended));
    }
    if let Some(first) = service.deployments.first().filter(|d| d.rollout != Some(RolloutState::Failed)) {
        let only_primary = left.iter().all(|t| t.deployment == primary);
        let healthy_primary = count(left.iter().filter(|t| t.deployment == primary && t.healthy()).count());
        let complete = only_primary && healthy_primary == desired;
        let state = if complete { RolloutState::Completed } else { RolloutState::InProgress };
        if first.rollout != Some(state) {
            steps.push(Action::Rollout(state));
            if complete {
                steps.event(Event::SteadyState);
            }
        }
    }
    steps.actions
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail loudly")]

    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::ecs::model::container_instance::Spec;

    const NOW: i64 = 10_000;
    /// Instances polled before this are lost.
    const LOST_BEFORE: i64 = NOW - 300;

    fn instance_arn(id: &str) -> String {
        format!("arn:aws:ecs:us-east-1:111122223333:container-instance/edge/{id}")
    }

    /// An instance with 1024 CPU units and `memory` MiB, last polled at `last_poll`.
    fn instance_with(id: &str, status: &str, last_poll: i64, memory: i64) -> ContainerInstance {
        ContainerInstance {
            arn: instance_arn(id),
            instance_id: format!("mi-{id}"),
            status: ContainerInstanceStatus::parse(status).unwrap(),
            status_reason: None,
            spec: Arc::new(
                Spec::from_json(
                    &json!([
                        {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                        {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
                    ]),
                    &json!([]),
                )
                .unwrap(),
            ),
            registered_at: 0,
            last_poll_at: Some(last_poll),
        }
    }

    /// A connected instance with room for ten tasks.
    fn instance(id: &str, status: &str) -> ContainerInstance {
        instance_with(id, status, NOW - 5, 1000)
    }

    fn task(id: &str, deployment: &str, last: TaskStatus, on: &str, created_at: i64) -> Task {
        Task {
            arn: format!("arn:aws:ecs:us-east-1:111122223333:task/edge/{id}"),
            desired: TaskStatus::Running,
            last,
            health: Health::Unknown,
            checks_health: false,
            instance: Some(instance_arn(on)),
            deployment: deployment.to_owned(),
            created_at,
            started_at: (last == TaskStatus::Running).then_some(created_at),
            stopped_at: None,
            failed: false,
            protected: false,
        }
    }

    fn running(id: &str, deployment: &str, on: &str) -> Task {
        task(id, deployment, TaskStatus::Running, on, id.trim_start_matches('t').parse().unwrap_or(0))
    }

    fn template() -> TaskTemplate {
        TaskTemplate {
            demand: Demand { cpu: 0, memory: 100, ports: Vec::new() },
            group: "service:web".to_owned(),
            constraints: Vec::new(),
            strategies: vec![Strategy::Spread { field: "instanceId".to_owned() }],
        }
    }

    /// A REPLICA service `web` of `desired` tasks whose one deployment `ecs-svc/1` is rolling out.
    fn service(desired: i64) -> Service {
        Service {
            name: "web".to_owned(),
            status: ServiceStatus::Active,
            strategy: SchedulingStrategy::Replica,
            desired_count: desired,
            deployments: vec![deployment("ecs-svc/1", RolloutState::InProgress)],
            maximum_percent: 200,
            minimum_healthy_percent: 100,
            circuit_breaker: CircuitBreaker::default(),
            health_check_grace_period: 0,
            last_completed: None,
            template: Ok(template()),
            latest_event: None,
        }
    }

    fn deployment(id: &str, rollout: RolloutState) -> Deployment {
        Deployment { id: id.to_owned(), rollout: Some(rollout), failed_tasks: 0 }
    }

    fn daemon() -> Service {
        Service {
            strategy: SchedulingStrategy::Daemon,
            desired_count: 0,
            maximum_percent: 100,
            minimum_healthy_percent: 0,
            ..service(0)
        }
    }

    fn short(arn: &str) -> &str {
        arn.rsplit('/').next().unwrap()
    }

    /// The plan, compactly: `start ecs-svc/1 on a,b`, `stop t2 (ScaleIn)`, `event ...`.
    fn run(service: &Service, tasks: &[Task], instances: &[ContainerInstance]) -> Vec<String> {
        let reserved = reserved(tasks);
        let instances = Instances { list: instances, reserved: &reserved, lost_before: LOST_BEFORE };
        plan(service, tasks, &instances, NOW).iter().map(describe).collect()
    }

    /// What the tasks meant to run hold on their instances (as the store counts it).
    fn reserved(tasks: &[Task]) -> HashMap<String, Reserved> {
        let mut reserved: HashMap<String, Reserved> = HashMap::new();
        for task in tasks.iter().filter(|t| t.desired == TaskStatus::Running) {
            let held = reserved.entry(task.instance.clone().unwrap()).or_default();
            held.memory += 100;
            match task.last {
                TaskStatus::Running => held.running += 1,
                _ => held.pending += 1,
            }
        }
        reserved
    }

    fn describe(action: &Action) -> String {
        match action {
            Action::Stop { task, reason } => format!("stop {} ({reason:?})", short(task)),
            Action::Start { deployment, instances } => {
                format!("start {deployment} on {}", instances.iter().map(|i| short(i)).collect::<Vec<_>>().join(","))
            }
            Action::Event(event) => format!("event {}", event.message("web")),
            Action::SetDesiredCount(count) => format!("desired count {count}"),
            Action::Deactivate => "deactivate".to_owned(),
            Action::EndDeployments(ids) => format!("end {}", ids.join(",")),
            Action::Rollout(state) => format!("rollout {}", state.as_str()),
            Action::FailedTasks(count) => format!("failed tasks {count}"),
            Action::RollBack { to } => format!("roll back to {to}"),
        }
    }

    const UNABLE: &str =
        "event (service web) was unable to place a task because no container instance met all of its requirements.";

    #[test]
    fn a_replica_service_starts_what_is_missing_and_stops_the_newest_extra_tasks() {
        let two = [instance("a", "ACTIVE"), instance("b", "ACTIVE")];
        // (desired count, tasks running, what the pass does)
        let cases: [(i64, &[Task], &[&str]); 5] = [
            (3, &[], &["start ecs-svc/1 on a,b,a"]),
            (3, &[running("t1", "ecs-svc/1", "a")], &["start ecs-svc/1 on b,a"]),
            (
                2,
                &[running("t1", "ecs-svc/1", "a"), running("t2", "ecs-svc/1", "b")],
                &["rollout COMPLETED", "event (service web) has reached a steady state."],
            ),
            (
                1,
                // Created at 10, 30, 20: the newest is t30, then t20.
                &[running("t10", "ecs-svc/1", "a"), running("t30", "ecs-svc/1", "b"), running("t20", "ecs-svc/1", "a")],
                &[
                    "stop t30 (ScaleIn)",
                    "stop t20 (ScaleIn)",
                    "event (service web) has stopped 2 running tasks: (task t30) (task t20).",
                    "rollout COMPLETED",
                    "event (service web) has reached a steady state.",
                ],
            ),
            (
                0,
                &[running("t1", "ecs-svc/1", "a")],
                &[
                    "stop t1 (ScaleIn)",
                    "event (service web) has stopped 1 running tasks: (task t1).",
                    "rollout COMPLETED",
                    "event (service web) has reached a steady state.",
                ],
            ),
        ];
        for (desired, tasks, expected) in cases {
            assert_eq!(run(&service(desired), tasks, &two), expected, "desired {desired}, {} tasks", tasks.len());
        }
    }

    #[test]
    fn a_protected_task_is_neither_scaled_in_nor_replaced_by_a_deployment() {
        let two = [instance("a", "ACTIVE"), instance("b", "ACTIVE")];
        let mut protected = running("t30", "ecs-svc/1", "b");
        protected.protected = true;
        let tasks = [running("t10", "ecs-svc/1", "a"), protected.clone(), running("t20", "ecs-svc/1", "a")];
        let stops: Vec<String> =
            run(&service(1), &tasks, &two).into_iter().filter(|line| line.starts_with("stop")).collect();
        assert_eq!(stops, ["stop t20 (ScaleIn)", "stop t10 (ScaleIn)"], "the newest unprotected ones");
        // A deployment of a new revision leaves the protected task of the old one running.
        let mut old = protected;
        old.deployment = "ecs-svc/0".to_owned();
        let plan = run(&service(1), &[old, running("t40", "ecs-svc/1", "a")], &two);
        assert!(plan.iter().all(|line| !line.starts_with("stop t30")), "{plan:?}");
    }

    #[test]
    fn a_task_not_yet_running_counts_but_does_not_make_the_service_steady() {
        let tasks = [running("t1", "ecs-svc/1", "a"), task("t2", "ecs-svc/1", TaskStatus::Pending, "b", 2)];
        assert_eq!(run(&service(2), &tasks, &[instance("a", "ACTIVE"), instance("b", "ACTIVE")]), Vec::<String>::new());
    }

    #[test]
    fn an_unhealthy_task_is_stopped_with_an_event_and_replaced() {
        let mut sick = running("t2", "ecs-svc/1", "b");
        sick.health = Health::Unhealthy;
        let tasks = [running("t1", "ecs-svc/1", "a"), sick];
        assert_eq!(
            run(&service(2), &tasks, &[instance("a", "ACTIVE"), instance("b", "ACTIVE")]),
            [
                "stop t2 (Unhealthy)",
                "event (service web) (task t2) failed container health checks.",
                "failed tasks 1",
                "start ecs-svc/1 on a",
            ]
        );
        assert_eq!(StopReason::Unhealthy.text(), "Task failed container health checks");
    }

    #[test]
    fn a_stopped_task_is_left_alone_and_replaced() {
        let mut exited = task("t2", "ecs-svc/1", TaskStatus::Stopped, "b", 2);
        exited.desired = TaskStatus::Stopped;
        let mut stopping = running("t3", "ecs-svc/1", "b");
        stopping.desired = TaskStatus::Stopped;
        let tasks = [running("t1", "ecs-svc/1", "a"), exited, stopping];
        assert_eq!(
            run(&service(2), &tasks, &[instance("a", "ACTIVE"), instance("b", "ACTIVE")]),
            ["start ecs-svc/1 on b"],
            "neither the stopped task nor the stopping one counts, and neither is stopped again"
        );
    }

    /// A deployment from `ecs-svc/1` to `ecs-svc/2` of a service of 4, played pass by pass:
    /// what each pass starts runs before the next.
    fn roll_out(minimum: i64, maximum: i64) -> Vec<Vec<String>> {
        let instances: Vec<ContainerInstance> = ["a", "b", "c", "d"].iter().map(|id| instance(id, "ACTIVE")).collect();
        let mut service = Service { minimum_healthy_percent: minimum, maximum_percent: maximum, ..service(4) };
        service.deployments.insert(0, deployment("ecs-svc/2", RolloutState::InProgress));
        let mut tasks: Vec<Task> = (1..=4).map(|n| running(&format!("t{n}"), "ecs-svc/1", "a")).collect();
        let mut passes = Vec::new();
        for pass in 0..10 {
            let reserved = reserved(&tasks);
            let actions = plan(
                &service,
                &tasks,
                &Instances { list: &instances, reserved: &reserved, lost_before: LOST_BEFORE },
                NOW,
            );
            if actions.is_empty() {
                return passes;
            }
            for action in &actions {
                match action {
                    Action::Stop { task, .. } => tasks.retain(|t| t.arn != *task),
                    Action::Start { deployment, instances } => {
                        for (n, on) in instances.iter().enumerate() {
                            tasks.push(task(
                                &format!("n{pass}{n}"),
                                deployment,
                                TaskStatus::Pending,
                                short(on),
                                100 + pass,
                            ));
                        }
                    }
                    Action::EndDeployments(ended) => service.deployments.retain(|d| !ended.contains(&d.id)),
                    Action::Rollout(state) => service.deployments[0].rollout = Some(*state),
                    Action::Event(event) => service.latest_event = Some(event.message("web")),
                    _ => {}
                }
            }
            let running = tasks.iter().filter(|t| t.last == TaskStatus::Running).count() as i64;
            assert!(running >= percent(4, minimum, true), "pass {pass}: {running} running, below {minimum}%");
            assert!(tasks.len() as i64 <= percent(4, maximum, false).max(4), "pass {pass}: above {maximum}%");
            for task in &mut tasks {
                task.last = TaskStatus::Running;
            }
            passes.push(actions.iter().map(describe).collect());
        }
        panic!("no steady state after 10 passes: {passes:?}");
    }

    #[test]
    fn a_deployment_replaces_tasks_within_minimum_healthy_and_maximum_percent() {
        // (minimumHealthyPercent, maximumPercent, the first pass, passes until steady)
        let cases: [(i64, i64, &[&str], usize); 4] = [
            (100, 200, &["start ecs-svc/2 on b,c,d,b"], 2),
            (
                50,
                100,
                &[
                    "stop t1 (Deployment)",
                    "stop t2 (Deployment)",
                    "event (service web) has stopped 2 running tasks: (task t1) (task t2).",
                ],
                5,
            ),
            (
                50,
                150,
                &[
                    "start ecs-svc/2 on b,c",
                    "stop t1 (Deployment)",
                    "stop t2 (Deployment)",
                    "event (service web) has stopped 2 running tasks: (task t1) (task t2).",
                ],
                3,
            ),
            (
                0,
                100,
                &[
                    "stop t1 (Deployment)",
                    "stop t2 (Deployment)",
                    "stop t3 (Deployment)",
                    "stop t4 (Deployment)",
                    "event (service web) has stopped 4 running tasks: (task t1) (task t2) (task t3) (task t4).",
                    "end ecs-svc/1",
                ],
                3,
            ),
        ];
        for (minimum, maximum, first, count) in cases {
            let passes = roll_out(minimum, maximum);
            assert_eq!(passes[0], first, "{minimum}%-{maximum}%: {passes:?}");
            assert_eq!(passes.len(), count, "{minimum}%-{maximum}%: {passes:?}");
            let last = passes.last().unwrap();
            assert!(
                last.ends_with(&[
                    "rollout COMPLETED".to_owned(),
                    "event (service web) has reached a steady state.".to_owned()
                ]),
                "{last:?}"
            );
            let steady = passes.iter().flatten().filter(|a| a.contains("steady state")).count();
            assert_eq!(steady, 1, "the steady state is reported once");
            assert!(passes.iter().flatten().any(|a| a == "end ecs-svc/1"), "the old deployment ends: {passes:?}");
        }
    }

    #[test]
    fn the_steady_state_is_reported_once() {
        let tasks = [running("t1", "ecs-svc/1", "a")];
        let instances = [instance("a", "ACTIVE")];
        assert_eq!(
            run(&service(1), &tasks, &instances),
            ["rollout COMPLETED", "event (service web) has reached a steady state."]
        );
        let mut steady = service(1);
        steady.deployments[0].rollout = Some(RolloutState::Completed);
        assert_eq!(run(&steady, &tasks, &instances), Vec::<String>::new(), "nothing to do, nothing written");
        assert_eq!(
            run(&steady, &[], &instances),
            ["start ecs-svc/1 on a", "rollout IN_PROGRESS"],
            "a lost task undoes it"
        );
    }

    #[test]
    fn tasks_on_a_draining_instance_are_replaced_then_stopped() {
        let instances = [instance("a", "ACTIVE"), instance("b", "DRAINING")];
        let mut steady = service(1);
        steady.deployments[0].rollout = Some(RolloutState::Completed);
        let on_draining = running("t1", "ecs-svc/1", "b");
        assert_eq!(
            run(&steady, std::slice::from_ref(&on_draining), &instances),
            ["start ecs-svc/1 on a"],
            "the task on the draining instance still runs: the service stays steady"
        );
        assert_eq!(
            run(&steady, &[on_draining, running("t2", "ecs-svc/1", "a")], &instances),
            ["stop t1 (Deployment)", "event (service web) has stopped 1 running tasks: (task t1)."],
            "at 100% minimum healthy, once its replacement runs"
        );
    }

    #[test]
    fn the_tasks_of_a_lost_instance_are_stopped_and_started_elsewhere() {
        let mut steady = service(2);
        steady.deployments[0].rollout = Some(RolloutState::Completed);
        let tasks = [running("t1", "ecs-svc/1", "a"), running("t2", "ecs-svc/1", "b")];
        for lost in [instance_with("b", "ACTIVE", LOST_BEFORE - 1, 1000), instance("b", "INACTIVE")] {
            assert_eq!(
                run(&steady, &tasks, &[instance("a", "ACTIVE"), lost]),
                ["stop t2 (InstanceLost)", "start ecs-svc/1 on a", "rollout IN_PROGRESS"],
            );
        }
        // Disconnected, not yet lost: its task stays (placement keeps new ones off it).
        let quiet = instance_with("b", "ACTIVE", LOST_BEFORE + 1, 1000);
        assert_eq!(run(&steady, &tasks, &[instance("a", "ACTIVE"), quiet.clone()]), Vec::<String>::new());
        assert_eq!(run(&service(3), &tasks, &[instance("a", "ACTIVE"), quiet]), ["start ecs-svc/1 on a"]);
    }

    #[test]
    fn a_placement_failure_is_an_event_in_ecs_words_and_not_repeated() {
        let mut unplaceable = service(1);
        let actions = run(&unplaceable, &[], &[]);
        assert_eq!(actions, [format!("{UNABLE} Reason: No Container Instances were found in your cluster.")]);
        unplaceable.latest_event = Some(actions[0].trim_start_matches("event ").to_owned());
        assert_eq!(run(&unplaceable, &[], &[]), Vec::<String>::new(), "the same event is not recorded twice");
        let full = [instance_with("a", "ACTIVE", NOW - 5, 50)];
        assert_eq!(run(&service(1), &[], &full), [format!("{UNABLE} Reason: RESOURCE:MEMORY.")]);
        let broken = Service { template: Err("Unable to describe task definition.".to_owned()), ..service(1) };
        assert_eq!(run(&broken, &[], &full), [format!("{UNABLE} Reason: Unable to describe task definition.")]);
    }

    #[test]
    fn a_daemon_runs_one_task_on_every_active_connected_instance() {
        let instances = [
            instance("a", "ACTIVE"),
            instance("b", "ACTIVE"),
            instance("c", "DRAINING"),
            instance_with("d", "ACTIVE", NOW - 120, 1000),
            instance_with("e", "ACTIVE", LOST_BEFORE - 1, 1000),
            instance("f", "REGISTERING"),
        ];
        let tasks = [running("t1", "ecs-svc/1", "a"), running("t2", "ecs-svc/1", "c")];
        assert_eq!(
            run(&daemon(), &tasks, &instances),
            [
                "stop t2 (InstanceDraining)",
                "start ecs-svc/1 on b",
                "event (service web) has stopped 1 running tasks: (task t2).",
                "desired count 3",
            ],
            "none on the draining (c), disconnected (d), lost (e) or registering (f) instance; \
             the disconnected one counts, since it keeps its task"
        );
        let settled = Service { desired_count: 3, ..daemon() };
        let tasks = [running("t1", "ecs-svc/1", "a"), running("t3", "ecs-svc/1", "b")];
        assert_eq!(run(&settled, &tasks, &instances), Vec::<String>::new());
    }

    #[test]
    fn a_daemon_instance_that_cannot_take_its_task_does_not_block_the_others() {
        let instances = [instance("a", "ACTIVE"), instance_with("b", "ACTIVE", NOW - 5, 50), instance("c", "ACTIVE")];
        let actions = run(&daemon(), &[], &instances);
        assert_eq!(
            actions,
            [
                "start ecs-svc/1 on a,c".to_owned(),
                format!("{UNABLE} Reason: RESOURCE:MEMORY."),
                "desired count 3".to_owned(),
            ]
        );
        let next = Service {
            desired_count: 3,
            latest_event: Some(actions[1].trim_start_matches("event ").to_owned()),
            ..daemon()
        };
        let tasks = [running("t1", "ecs-svc/1", "a"), running("t2", "ecs-svc/1", "c")];
        assert_eq!(run(&next, &tasks, &instances), Vec::<String>::new(), "the next pass writes nothing");
        let broken = Service { template: Err("Unable to describe task definition.".to_owned()), ..daemon() };
        assert_eq!(
            run(&broken, &tasks, &instances),
            [format!("{UNABLE} Reason: Unable to describe task definition."), "desired count 3".to_owned()]
        );
    }

    #[test]
    fn a_deleted_service_stops_its_tasks_then_becomes_inactive() {
        let draining = Service { status: ServiceStatus::Draining, ..service(0) };
        let mut sick = running("t2", "ecs-svc/1", "a");
        sick.health = Health::Unhealthy;
        let lost = instance_with("b", "ACTIVE", LOST_BEFORE - 1, 1000);
        let tasks = [running("t1", "ecs-svc/1", "a"), sick, running("t3", "ecs-svc/1", "b")];
        assert_eq!(
            run(&draining, &tasks, &[instance("a", "ACTIVE"), lost]),
            [
                "stop t3 (InstanceLost)",
                "stop t1 (ServiceDeleted)",
                "stop t2 (ServiceDeleted)",
                "event (service web) has stopped 2 running tasks: (task t1) (task t2).",
            ]
        );
        assert_eq!(run(&draining, &[], &[]), ["deactivate", "event (service web) has been deleted."]);
        let inactive = Service { status: ServiceStatus::Inactive, ..service(2) };
        assert_eq!(run(&inactive, &[], &[instance("a", "ACTIVE")]), Vec::<String>::new());
    }

    /// A task whose container health is checked, with that health.
    fn checked(mut task: Task, health: Health) -> Task {
        task.checks_health = true;
        task.health = health;
        task
    }

    #[test]
    fn a_task_with_health_checks_counts_only_once_healthy() {
        let two = [instance("a", "ACTIVE"), instance("b", "ACTIVE")];
        // Old revision running (no checks); the new one runs but its health is not known yet.
        let mut service = service(1);
        service.deployments.insert(0, deployment("ecs-svc/2", RolloutState::InProgress));
        let old = running("t1", "ecs-svc/1", "a");
        let starting = checked(running("t2", "ecs-svc/2", "b"), Health::Unknown);
        assert_eq!(
            run(&service, &[old.clone(), starting], &two),
            Vec::<String>::new(),
            "at 100% minimum healthy the old task waits for the new one to be healthy"
        );
        let healthy = checked(running("t2", "ecs-svc/2", "b"), Health::Healthy);
        assert_eq!(
            run(&service, &[old, healthy.clone()], &two),
            [
                "stop t1 (Deployment)",
                "event (service web) has stopped 1 running tasks: (task t1).",
                "end ecs-svc/1",
                "rollout COMPLETED",
                "event (service web) has reached a steady state."
            ]
        );
        // Alone and healthy-unknown, a checked task does not complete its deployment.
        let unknown = checked(running("t2", "ecs-svc/1", "b"), Health::Unknown);
        assert_eq!(run(&super::tests::service(1), &[unknown], &two), Vec::<String>::new());
    }

    #[test]
    fn an_unhealthy_task_is_left_alone_during_the_grace_period() {
        let two = [instance("a", "ACTIVE"), instance("b", "ACTIVE")];
        // Started at NOW - 20.
        let sick = checked(task("t2", "ecs-svc/1", TaskStatus::Running, "b", NOW - 20), Health::Unhealthy);
        let patient = Service { health_check_grace_period: 30, ..service(1) };
        assert_eq!(run(&patient, std::slice::from_ref(&sick), &two), Vec::<String>::new());
        let hasty = Service { health_check_grace_period: 20, ..service(1) };
        assert_eq!(run(&hasty, &[sick], &two)[0], "stop t2 (Unhealthy)");
    }

    /// A stopped task of `deployment` that failed (or, if `failed` is false, ran and was
    /// replaced), created at `created_at`.
    fn stopped(id: &str, deployment: &str, created_at: i64, failed: bool) -> Task {
        let mut task = task(id, deployment, TaskStatus::Stopped, "a", created_at);
        task.desired = TaskStatus::Stopped;
        task.failed = failed;
        task.started_at = (!failed).then_some(created_at);
        task
    }

    #[test]
    fn failed_tasks_count_the_consecutive_failures_since_the_newest_healthy_task() {
        assert_eq!(failure_threshold(1), 3);
        assert_eq!(failure_threshold(10), 5);
        assert_eq!(failure_threshold(11), 6);
        assert_eq!(failure_threshold(1000), 200);
        let history = [
            stopped("t1", "ecs-svc/1", 1, true),
            stopped("t2", "ecs-svc/1", 2, false),
            stopped("t3", "ecs-svc/1", 3, true),
            stopped("t4", "ecs-svc/1", 4, true),
            task("t5", "ecs-svc/1", TaskStatus::Pending, "a", 5),
        ];
        let unhealthy = [];
        assert_eq!(consecutive_failures(&service(2), &history, &unhealthy), 2, "t4 and t3; t2 ran");
        let mut recorded = service(2);
        recorded.deployments[0].failed_tasks = 2;
        let plan = run(&recorded, &history, &[instance("a", "ACTIVE")]);
        assert!(plan.iter().all(|line| !line.starts_with("failed tasks")), "unchanged, not written: {plan:?}");
        // Another deployment's failures do not count.
        let other = stopped("t6", "ecs-svc/0", 6, true);
        assert_eq!(consecutive_failures(&service(2), &[other], &unhealthy), 0);
    }

    #[test]
    fn the_circuit_breaker_fails_the_deployment_and_rolls_back_to_the_last_completed_one() {
        let two = [instance("a", "ACTIVE"), instance("b", "ACTIVE")];
        let mut service = service(2);
        service.deployments.insert(0, deployment("ecs-svc/2", RolloutState::InProgress));
        service.deployments[1].rollout = Some(RolloutState::Completed);
        service.circuit_breaker = CircuitBreaker { enable: true, rollback: true };
        service.last_completed = Some("ecs-svc/1".to_owned());
        let old = [running("t1", "ecs-svc/1", "a"), running("t2", "ecs-svc/1", "b")];
        let failures = |n: usize| -> Vec<Task> {
            (0..n).map(|i| stopped(&format!("f{i}"), "ecs-svc/2", 10 + i as i64, true)).collect()
        };
        let below: Vec<Task> = old.iter().cloned().chain(failures(2)).collect();
        let plan = run(&service, &below, &two);
        assert_eq!(plan[0], "failed tasks 2");
        assert!(plan.iter().any(|line| line.starts_with("start ecs-svc/2")), "it keeps trying below 3: {plan:?}");
        let at: Vec<Task> = old.iter().cloned().chain(failures(3)).collect();
        assert_eq!(
            run(&service, &at, &two),
            [
                "failed tasks 3",
                "rollout FAILED",
                "event (service web) (deployment ecs-svc/2) deployment failed: tasks failed to start.",
                "roll back to ecs-svc/1",
                "event (service web) rolling back to deployment ecs-svc/1.",
            ]
        );
        // Without rollback the failed deployment stalls: nothing starts, nothing is replaced.
        service.circuit_breaker.rollback = false;
        let plan = run(&service, &at, &two);
        assert_eq!(
            plan.last().unwrap(),
            "event (service web) (deployment ecs-svc/2) deployment failed: tasks failed to start."
        );
        service.deployments[0].rollout = Some(RolloutState::Failed);
        assert_eq!(run(&service, &at, &two), Vec::<String>::new(), "stalled");
        // Without the breaker, failures are counted and the deployment goes on.
        let mut off = super::tests::service(2);
        off.deployments.insert(0, deployment("ecs-svc/2", RolloutState::InProgress));
        let plan = run(&off, &at, &two);
        assert_eq!(plan[0], "failed tasks 3");
        assert!(plan.iter().all(|line| !line.contains("FAILED")), "{plan:?}");
        // No completed deployment to return to: it fails and stalls.
        let mut first = service.clone();
        first.deployments[0].rollout = Some(RolloutState::InProgress);
        first.circuit_breaker.rollback = true;
        first.last_completed = None;
        let plan = run(&first, &at, &two);
        assert!(plan.contains(&"rollout FAILED".to_owned()), "{plan:?}");
        assert!(plan.iter().all(|line| !line.contains("roll back") && !line.contains("rolling back")), "{plan:?}");
    }

    #[test]
    fn tasks_that_keep_failing_before_they_run_are_throttled() {
        let one = [instance("a", "ACTIVE")];
        let never_ran = |id: &str, created: i64, stopped_at: i64| {
            let mut task = stopped(id, "ecs-svc/1", created, true);
            task.stopped_at = Some(stopped_at);
            task
        };
        let starts = |tasks: &[Task]| run(&service(1), tasks, &one);
        let two = [never_ran("f1", 1, NOW - 5), never_ran("f2", 2, NOW - 4)];
        assert_eq!(starts(&two), ["failed tasks 2", "start ecs-svc/1 on a"], "two failures: no throttle yet");
        let three = [two[0].clone(), two[1].clone(), never_ran("f3", 3, NOW - 3)];
        assert_eq!(
            starts(&three),
            ["failed tasks 3", "event (service web) is unable to consistently start tasks successfully."],
            "the third: 10 s after it stopped"
        );
        let waited = [never_ran("f1", 1, NOW - 12), never_ran("f2", 2, NOW - 11), never_ran("f3", 3, NOW - 10)];
        assert!(starts(&waited).contains(&"start ecs-svc/1 on a".to_owned()), "10 s later it starts");
        // Each further failure doubles the wait: the fifth waits 40 s.
        let five: Vec<Task> = (1..=5).map(|n| never_ran(&format!("f{n}"), n, NOW - 39)).collect();
        assert!(!starts(&five).iter().any(|a| a.starts_with("start")), "39 s of 40");
        // A task that ran (and was replaced) ends the run of failures; a new deployment has none.
        let mut ran = five.clone();
        ran.push(stopped("ok", "ecs-svc/1", 9, false));
        assert!(starts(&ran).iter().any(|a| a.starts_with("start")));
        let mut renewed = service(1);
        renewed.deployments.insert(0, deployment("ecs-svc/2", RolloutState::InProgress));
        assert!(run(&renewed, &five, &one).iter().any(|a| a.starts_with("start ecs-svc/2")));
        // Failures after running (an essential container exited) do not throttle.
        let exited: Vec<Task> = (1..=5)
            .map(|n| {
                let mut task = stopped(&format!("e{n}"), "ecs-svc/1", n, true);
                task.started_at = Some(task.created_at);
                task.stopped_at = Some(NOW - 1);
                task
            })
            .collect();
        assert!(starts(&exited).iter().any(|a| a.starts_with("start")));
    }

    #[test]
    fn a_daemon_deployment_replaces_each_instance_task_within_minimum_healthy() {
        let three = [instance("a", "ACTIVE"), instance("b", "ACTIVE"), instance("c", "ACTIVE")];
        let mut service = Service { desired_count: 3, minimum_healthy_percent: 50, ..daemon() };
        service.deployments.insert(0, deployment("ecs-svc/2", RolloutState::InProgress));
        let old = [running("t1", "ecs-svc/1", "a"), running("t2", "ecs-svc/1", "b"), running("t3", "ecs-svc/1", "c")];
        // 50% of 3 is 2 that must stay healthy: one old task stops; its instance is taken only
        // once nothing of the service holds it (the stopping task is still in its group).
        assert_eq!(
            run(&service, &old, &three),
            ["stop t1 (Deployment)", "event (service web) has stopped 1 running tasks: (task t1)."]
        );
        let mut reserved = reserved(&old[1..]);
        reserved.entry(instance_arn("a")).or_default().groups.push("service:web".to_owned());
        let instances = Instances { list: &three, reserved: &reserved, lost_before: LOST_BEFORE };
        assert!(plan(&service, &old[1..], &instances, NOW).is_empty(), "a still holds the stopping task");
        let reserved = super::tests::reserved(&old[1..]);
        let instances = Instances { list: &three, reserved: &reserved, lost_before: LOST_BEFORE };
        let actions: Vec<String> = plan(&service, &old[1..], &instances, NOW).iter().map(describe).collect();
        assert_eq!(actions, ["start ecs-svc/2 on a"]);
    }

    #[test]
    fn a_daemon_stops_its_task_where_the_constraints_no_longer_hold() {
        let mut labelled = instance("a", "ACTIVE");
        let mut plain = instance("b", "ACTIVE");
        labelled.spec = Arc::new(
            Spec::from_json(
                &json!([{"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                        {"name": "MEMORY", "type": "INTEGER", "integerValue": 1000}]),
                &json!([{"name": "role", "value": "edge"}]),
            )
            .unwrap(),
        );
        plain.spec = Arc::clone(&plain.spec);
        let query = super::super::query::Query::parse("attribute:role == edge").unwrap();
        let mut template = template();
        template.constraints = vec![Constraint::MemberOf(query)];
        let service = Service { desired_count: 2, template: Ok(template), ..daemon() };
        let tasks = [running("t1", "ecs-svc/1", "a"), running("t2", "ecs-svc/1", "b")];
        assert_eq!(
            run(&service, &tasks, &[labelled, plain]),
            [
                "stop t2 (Deployment)",
                "event (service web) has stopped 1 running tasks: (task t2).",
                "desired count 1",
                "rollout COMPLETED",
                "event (service web) has reached a steady state.",
            ]
        );
    }

    #[test]
    fn stored_words_read_into_the_plan_types() {
        assert_eq!(ServiceStatus::parse(None), ServiceStatus::Active);
        assert_eq!(ServiceStatus::parse(Some("DRAINING")), ServiceStatus::Draining);
        assert_eq!(SchedulingStrategy::parse(Some("DAEMON")), SchedulingStrategy::Daemon);
        assert_eq!(SchedulingStrategy::parse(None), SchedulingStrategy::Replica);
        assert_eq!(TaskStatus::from(task::TaskStatus::Activating), TaskStatus::Pending);
        assert_eq!(TaskStatus::from(task::TaskStatus::Deprovisioning), TaskStatus::Pending);
        assert_eq!(TaskStatus::from(task::DesiredStatus::Stopped), TaskStatus::Stopped);
        assert_eq!(Health::parse(Some("UNHEALTHY")), Health::Unhealthy);
        assert_eq!(RolloutState::parse(Some("FAILED")), Some(RolloutState::Failed));
        assert_eq!(RolloutState::parse(Some("PENDING")), None);
        assert_eq!(InstanceStatus::of(&instance("a", "DEREGISTERING")), InstanceStatus::Other);
    }
}
