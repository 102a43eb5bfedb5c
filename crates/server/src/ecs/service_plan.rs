//! The service scheduler's decisions: given one service, its tasks, its cluster's container
//! instances and the time, what to do next (`plan`). Pure: no store, no clock, no randomness
//! (placement's `random` strategy is seeded with `now`); `services::reconcile_service`
//! observes, plans and applies.
//!
//! Rules, as ECS's scheduler follows them (one pass takes one step; the next pass continues):
//! - Tasks on a lost instance (its last recorded poll older than the disconnect timeout
//!   allows, or the instance `INACTIVE`) are stopped first, and replaced like any missing task;
//!   a lost instance takes no new task.
//! - A task whose health is `UNHEALTHY` is stopped (`Task failed container health checks`),
//!   with the event `(task ID) failed container health checks.`, and replaced.
//! - A `DRAINING` service (being deleted) stops every task (`has stopped N running tasks`),
//!   then becomes `INACTIVE` (`has been deleted.`).
//! - `REPLICA`: the primary deployment (the first) keeps `desiredCount` tasks. Missing tasks
//!   are started while the service's tasks stay within `maximumPercent` of the desired count;
//!   tasks of older deployments, and tasks on `DRAINING` instances, are stopped while at least
//!   `minimumHealthyPercent` of the desired count stays `RUNNING` (at once if they are not
//!   running, or the desired count is 0; a task on a draining instance counts as running until
//!   it is stopped, as ECS counts it); extra tasks of the primary deployment are stopped
//!   newest first. A deployment without tasks ends; the primary with only its own tasks, all
//!   `RUNNING` and as many as desired, is `COMPLETED`, reported once as `has reached a steady
//!   state.`
//! - `DAEMON`: one task on every `ACTIVE`, connected instance that is not lost; tasks on
//!   `DRAINING` instances are stopped; the desired count is the number of `ACTIVE` instances.
//!   Each instance is placed on its own: one that cannot take its task is an event (one per
//!   pass, with the distinct reasons of every such instance), and the others are still placed.
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
}

impl RolloutState {
    /// The stored state; `None` for one the scheduler does not set (or none).
    pub(crate) fn parse(text: Option<&str>) -> Option<RolloutState> {
        match text {
            Some("IN_PROGRESS") => Some(RolloutState::InProgress),
            Some("COMPLETED") => Some(RolloutState::Completed),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RolloutState::InProgress => "IN_PROGRESS",
            RolloutState::Completed => "COMPLETED",
        }
    }

    /// ECS's `rolloutStateReason`.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            RolloutState::InProgress => "ECS deployment in progress.",
            RolloutState::Completed => "ECS deployment completed.",
        }
    }
}

/// One deployment of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Deployment {
    /// `ecs-svc/...`: its tasks' `startedBy`.
    pub id: String,
    pub rollout: Option<RolloutState>,
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

/// One of the service's tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Task {
    pub arn: String,
    /// Only tasks meant to run count; one already told to stop is left alone.
    pub desired: TaskStatus,
    pub last: TaskStatus,
    pub health: Health,
    pub instance: Option<String>,
    /// The deployment that started it (its `startedBy`).
    pub deployment: String,
    /// When it was created: scale-in stops the newest first.
    pub created_at: i64,
    /// Protected from scale-in (UpdateTaskProtection): neither scale-in nor a deployment
    /// stops it while its protection lasts (a deployment waits for it).
    pub protected: bool,
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
    Unhealthy { task: String },
    Started { tasks: Vec<String> },
    Stopped { tasks: Vec<String> },
    UnableToPlace { reason: String },
    SteadyState,
    Deleted,
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

/// The next steps for `service`, whose tasks are `tasks` (any order), in a cluster whose
/// container instances are `instances`, at `now` (seconds).
pub(crate) fn plan(service: &Service, tasks: &[Task], instances: &Instances<'_>, now: i64) -> Vec<Action> {
    let mut steps =
        Steps { actions: Vec::new(), latest_event: service.latest_event.clone(), name: service.name.clone() };
    if service.status == ServiceStatus::Inactive {
        return steps.actions;
    }
    let mut tasks: Vec<&Task> = tasks.iter().filter(|t| t.desired == TaskStatus::Running).collect();
    tasks.sort_by(|a, b| (a.created_at, &a.arn).cmp(&(b.created_at, &b.arn)));
    let (lost, tasks): (Vec<&Task>, Vec<&Task>) = tasks.into_iter().partition(|t| instances.lost(t));
    for task in lost {
        steps.stop(task, StopReason::InstanceLost);
    }
    if service.status == ServiceStatus::Draining {
        if tasks.is_empty() {
            steps.push(Action::Deactivate);
            steps.event(Event::Deleted);
        } else {
            for task in &tasks {
                steps.stop(task, StopReason::ServiceDeleted);
            }
            steps.event(Event::Stopped { tasks: tasks.iter().map(|t| t.arn.clone()).collect() });
        }
        return steps.actions;
    }
    let (unhealthy, tasks): (Vec<&Task>, Vec<&Task>) = tasks.into_iter().partition(|t| t.health == Health::Unhealthy);
    for task in unhealthy {
        steps.stop(task, StopReason::Unhealthy);
        steps.event(Event::Unhealthy { task: task.arn.clone() });
    }
    match service.strategy {
        SchedulingStrategy::Daemon => plan_daemon(service, &tasks, instances, now, steps),
        SchedulingStrategy::Replica => plan_replica(service, &tasks, instances, now, steps),
    }
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
    mut steps: Steps,
) -> Vec<Action> {
    let mut placed = Vec::new();
    let mut refusals: Vec<String> = Vec::new();
    let uncovered = instances.list.iter().filter(|i| {
        InstanceStatus::of(i) == InstanceStatus::Active
            && i.connected(now)
            && !instances.is_lost(i)
            && !tasks.iter().any(|t| t.instance.as_deref() == Some(i.arn.as_str()))
    });
    for instance in uncovered {
        let one = std::slice::from_ref(instance);
        match service.template.as_ref().map_err(Clone::clone).and_then(|t| place(t, one, instances.reserved, 1, now)) {
            Ok(arns) => placed.extend(arns),
            Err(reason) if !refusals.contains(&reason) => refusals.push(reason),
            Err(_) => {}
        }
    }
    if !placed.is_empty() {
        steps.push(Action::Start { deployment: service.primary().to_owned(), instances: placed });
    }
    if !refusals.is_empty() {
        steps.event(Event::UnableToPlace { reason: refusals.join(", ") });
    }
    for task in tasks.iter().filter(|t| instances.draining(t)) {
        steps.stop(task, StopReason::InstanceDraining);
    }
    let desired = count(instances.list.iter().filter(|i| InstanceStatus::of(i) == InstanceStatus::Active).count());
    // Written with the pass's other changes to the service (none: nothing is written).
    let changes_service = steps.actions.iter().any(|a| !matches!(a, Action::Stop { .. }));
    if desired != service.desired_count && changes_service {
        steps.push(Action::SetDesiredCount(desired));
    }
    steps.actions
}

fn plan_replica(
    service: &Service,
    tasks: &[&Task],
    instances: &Instances<'_>,
    now: i64,
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

    // 1. Start what is missing, within maximumPercent.
    let room = (max_total - total).max(0);
    let wanted = usize::try_from((desired - kept).max(0).min(room)).unwrap_or(0);
    if wanted > 0 {
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

    // 2. Stop replaced tasks while minimumHealthyPercent stays running. A task on a draining
    // instance runs until it is stopped, so it counts (else, at 100%, it would never stop).
    let running_healthy = count(tasks.iter().filter(|t| t.last == TaskStatus::Running).count());
    let mut can_stop = (running_healthy - min_healthy).max(0);
    let mut stopped: Vec<&Task> = Vec::new();
    for task in replace.into_iter().filter(|task| !task.protected) {
        let running = task.last == TaskStatus::Running;
        if can_stop > 0 || !running || desired == 0 {
            steps.stop(task, StopReason::Deployment);
            stopped.push(task);
            if running {
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

    // Deployments without tasks end; a primary with every task running is steady.
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
    if let Some(first) = service.deployments.first() {
        let only_primary = left.iter().all(|t| t.deployment == primary);
        let running_primary =
            count(left.iter().filter(|t| t.deployment == primary && t.last == TaskStatus::Running).count());
        let complete = only_primary && running_primary == desired;
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
            health: Health::Healthy,
            instance: Some(instance_arn(on)),
            deployment: deployment.to_owned(),
            created_at,
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
            deployments: vec![Deployment { id: "ecs-svc/1".to_owned(), rollout: Some(RolloutState::InProgress) }],
            maximum_percent: 200,
            minimum_healthy_percent: 100,
            template: Ok(template()),
            latest_event: None,
        }
    }

    fn daemon() -> Service {
        Service { strategy: SchedulingStrategy::Daemon, desired_count: 0, ..service(0) }
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
        service
            .deployments
            .insert(0, Deployment { id: "ecs-svc/2".to_owned(), rollout: Some(RolloutState::InProgress) });
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
            ["start ecs-svc/1 on b", "stop t2 (InstanceDraining)", "desired count 4"],
            "none on the draining (c), disconnected (d), lost (e) or registering (f) instance"
        );
        let settled = Service { desired_count: 4, ..daemon() };
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
        assert_eq!(RolloutState::parse(Some("FAILED")), None);
        assert_eq!(InstanceStatus::of(&instance("a", "DEREGISTERING")), InstanceStatus::Other);
    }
}
