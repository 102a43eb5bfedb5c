//! The ECS part of `agent run`, for an instance registered with a cluster: it registers the
//! container instance, keeps the `Poll` channel open, and converges Docker to the tasks the
//! control plane wants, reporting each task's progress.
//!
//! One engine owns all state (the task table, the channel, the report queue); everything
//! that waits (the poll, a report, each Docker operation, each listing of Docker's
//! containers) runs as its own task and hands its outcome back, so a 30-second container
//! stop never holds up a poll, and a poll never holds up a stop.
//!
//! Guarantees:
//! - Before the first poll the agent lists the containers labelled for its container
//!   instance and adopts them: a restarted agent never starts a task twice, and containers of
//!   tasks it no longer knows are stopped only when stop verification confirms it.
//! - The task table and the sequence number are persisted (`ecs.json`) after every change
//!   and before the next poll carries the number.
//! - Every report is retried (with backoff) until the control plane acknowledges it, in
//!   order; only a refusal that retrying cannot cure (`InvalidParameterException`,
//!   `ClientException`) drops one, with a line in the log.
//! - Polls are retried forever with capped, jittered backoff: a control-plane restart
//!   costs at most a minute after it ends, and the control plane's task list makes up for
//!   anything missed. A poll answered "deregistered" sends the agent back to registration.
//! - Stopping the agent leaves the containers running, to be adopted by the next run.
//! - Containers this agent (its state directory, `homeport.agent-id`) created for an earlier
//!   container instance, orphaned when that was deregistered, are stopped and removed when
//!   it starts on a new one; no other agent's container is ever touched.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::api::{self, CallError};
use crate::awslogs::{self, Destination, ShipOrder, Shipper, Signer};
use crate::backoff::{Backoff, jitter};
use crate::control_plane::{ControlPlane, Credentials, current_credentials};
use crate::credentials::RoleCredentials;
use crate::credentials_endpoint::CredentialsEndpoint;
use crate::docker::{Docker, DockerError, ListedContainer};
use crate::ecs_channel::{self, Channel, parse_poll_response};
use crate::ecs_registration::{Attribute, EcsState, register_request, registered_arn};
use crate::log;
use crate::reconcile::{self, Action, ContainerState, LaunchResult, Report, Status, TaskRecord};
use crate::state::StateDir;
use crate::task_roles::{Fetch, RoleType, TaskRoles, TaskSecret};
use crate::task_spec::{LABEL_AGENT, LABEL_INSTANCE, LABEL_TASK_ARN, Placement, TaskSpec, container_config, task_id};

/// How long a stopped task's containers are kept (ECS's `ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION`).
pub const DEFAULT_CLEANUP_AFTER: Duration = Duration::from_secs(3 * 60 * 60);
/// How often Docker is listed while tasks are on the machine, and when none are.
const OBSERVE_BUSY: Duration = Duration::from_secs(1);
const OBSERVE_IDLE: Duration = Duration::from_secs(10);
/// How long a failed Docker operation waits before it is tried again.
const DOCKER_RETRY: Duration = Duration::from_secs(1);
/// An ordinary ECS call's time limit; a poll's is its wait plus this.
const CALL_LIMIT: Duration = Duration::from_secs(20);
/// What a refused re-registration of a deregistered container instance says to do.
const DEREGISTERED: &str = " (the container instance was deregistered: stop the agent, remove ecs.json from the state \
     directory and start it again; it registers a new container instance and removes the old one's containers)";
/// How often a deregistered container instance's registration is tried again.
const DEREGISTERED_RETRY: Duration = Duration::from_secs(10 * 60);
/// How long a task's start waits for its role credentials.
const CREDENTIALS_WAIT: Duration = Duration::from_secs(30);

/// What the ECS part is asked to do.
#[derive(Debug, Clone)]
pub struct EcsOptions {
    pub cluster: String,
    pub attributes: Vec<Attribute>,
    pub reserved_memory_mib: i64,
    pub cleanup_after: Duration,
    /// The task credentials endpoint's port (0: any free one).
    pub credentials_port: u16,
}

/// Runs the ECS part forever.
pub async fn run(state: StateDir, control_plane: ControlPlane, options: EcsOptions, credentials: Credentials) {
    let docker = match Docker::from_env() {
        Ok(docker) => docker,
        Err(error) => {
            log::event(&format!("ecs: {error}; this instance runs no tasks"));
            return std::future::pending().await;
        }
    };
    let mut saved = match EcsState::load(&state, &options.cluster) {
        Ok(saved) => saved,
        Err(error) => {
            log::event(&format!("ecs: {error}; starting with an empty task table"));
            EcsState { cluster: options.cluster.clone(), ..EcsState::default() }
        }
    };
    let agent_id = match state.agent_id() {
        Ok(id) => id,
        Err(error) => {
            log::event(&format!(
                "ecs: {error}; containers are labelled without this agent's identity, and those of its earlier \
                 container instances are not recognized"
            ));
            String::new()
        }
    };
    let roles = TaskRoles::new();
    let credentials_url = match CredentialsEndpoint::bind(options.credentials_port).await {
        Ok(endpoint) => {
            let url = endpoint.base_url.clone();
            tokio::spawn(endpoint.serve(roles.clone()));
            Some(url)
        }
        Err(error) => {
            log::event(&format!(
                "ecs: cannot serve task credentials on port {} ({error}); tasks with a task role get none",
                options.credentials_port
            ));
            None
        }
    };
    let mut backoff = Backoff::new();
    let mut last_failure = String::new();
    loop {
        match register(&docker, &control_plane, &options, &saved, &credentials).await {
            Ok((arn, summary)) => {
                backoff.reset();
                last_failure.clear();
                log::event(&format!(
                    "ecs: registered container instance {arn} in cluster {} ({summary})",
                    options.cluster
                ));
                saved.container_instance_arn = Some(arn.clone());
                if let Err(error) = saved.save(&state) {
                    log::event(&format!("ecs: {error}"));
                }
                let engine = Engine::new(
                    state.clone(),
                    control_plane.clone(),
                    &options,
                    docker.clone(),
                    arn,
                    saved,
                    Signers {
                        instance: credentials.clone(),
                        tasks: roles.clone(),
                        credentials_url: credentials_url.clone(),
                        agent_id: agent_id.clone(),
                    },
                );
                saved = engine.serve().await;
            }
            Err(failure) if failure.contains(DEREGISTERED) => {
                // Nothing on the control plane brings a deregistered container instance back:
                // said once, with what to do, then asked rarely and quietly.
                if failure != last_failure {
                    log::event(&format!(
                        "ecs: {failure}; asking again every {}s without logging each refusal",
                        DEREGISTERED_RETRY.as_secs()
                    ));
                }
                last_failure = failure;
                tokio::time::sleep(DEREGISTERED_RETRY).await;
            }
            Err(failure) => {
                let delay = backoff.next_delay(jitter());
                // The same failure again is logged at most once a minute's worth of backoff.
                if failure != last_failure || delay >= Backoff::CAP / 2 {
                    log::event(&format!("ecs: {failure}; retrying in {}s", delay.as_secs().max(1)));
                }
                last_failure = failure;
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Docker's facts, then `RegisterContainerInstance`: the ARN and a summary for the log, or
/// why not (with what to do).
async fn register(
    docker: &Docker,
    control_plane: &ControlPlane,
    options: &EcsOptions,
    saved: &EcsState,
    credentials: &Credentials,
) -> Result<(String, String), String> {
    let unreachable = |error: DockerError| format!("{error} (is Docker running, and may this user use its socket?)");
    let version = docker.version().await.map_err(unreachable)?;
    let resources = docker.info().await.map_err(unreachable)?;
    let request = register_request(
        &options.cluster,
        &resources,
        &version,
        options.reserved_memory_mib,
        &options.attributes,
        saved.container_instance_arn.as_deref(),
    );
    let mut credentials = credentials.clone();
    let held = current_credentials(&mut credentials).await;
    let answer = api::ecs_call(
        &control_plane.endpoint,
        &control_plane.region,
        &held,
        "RegisterContainerInstance",
        &request,
        CALL_LIMIT,
    )
    .await
    .map_err(|error| format!("container instance registration failed: {error}{}", registration_advice(&error)))?;
    let arn = registered_arn(&answer).ok_or("container instance registration answered without an ARN")?;
    let memory = request.pointer("/totalResources/1/integerValue").and_then(Value::as_i64).unwrap_or(0);
    Ok((arn, format!("CPU {}, MEMORY {memory} MiB, Docker {version}", resources.cpus * 1024)))
}

fn registration_advice(error: &CallError) -> &'static str {
    match error {
        CallError::Service { code, .. } if code == "AccessDeniedException" => {
            " (the instance role needs the ECS permissions of AmazonEC2ContainerServiceforEC2Role)"
        }
        CallError::Service { code, .. } if code == "ClusterNotFoundException" => {
            " (create the cluster with `aws ecs create-cluster`, or register with another --cluster)"
        }
        CallError::Service { message, .. } if message.contains("is not registered to this instance") => DEREGISTERED,
        _ => "",
    }
}

/// What a background operation came back with (a launch's `Err`: Docker or the control
/// plane could not be reached, and it is tried again).
enum Outcome {
    Observed { generation: u64, result: Result<Vec<ListedContainer>, DockerError> },
    Images { task: String, result: Result<Option<(i64, i64)>, ImagesError> },
    Launched { task: String, container: String, result: Result<LaunchResult, String> },
    Exited { task: String, container: String, result: Result<Option<i64>, DockerError> },
    Removed { task: Option<String>, container: String, result: Result<(), DockerError> },
    Polled { request: Value, result: Result<Value, CallError> },
    Reported { result: Result<(), CallError> },
}

enum ImagesError {
    /// The image cannot be had: ECS's reason for stopping the task.
    Pull { image: String, reason: String },
    /// Docker or the control plane could not be reached: tried again.
    Unreachable(String),
}

/// The credentials the engine works with: the instance role's, and its tasks' roles (with
/// the endpoint that serves them); and the agent's identity its containers are labelled with.
struct Signers {
    instance: Credentials,
    tasks: TaskRoles,
    credentials_url: Option<String>,
    agent_id: String,
}

struct Engine {
    state_dir: StateDir,
    control_plane: ControlPlane,
    cluster: String,
    instance_arn: String,
    /// The label value of this agent's containers (empty: unknown).
    agent_id: String,
    docker: Docker,
    cleanup_after: i64,
    credentials: Credentials,
    tasks: BTreeMap<String, TaskRecord>,
    channel: Channel,
    reports: VecDeque<Report>,
    ops: JoinSet<Outcome>,
    generation: u64,
    observing: bool,
    next_observe: Instant,
    polling: bool,
    poll_backoff: Backoff,
    poll_delay: Duration,
    reporting: bool,
    report_backoff: Backoff,
    report_delay: Duration,
    saved: Vec<u8>,
    reregister: bool,
    roles: TaskRoles,
    /// The credentials endpoint's `http://HOST:PORT`, if it listens.
    credentials_url: Option<String>,
    /// Log shipping under way or done, by container runtime id.
    shippers: HashMap<String, Shipper>,
}

impl Engine {
    fn new(
        state_dir: StateDir,
        control_plane: ControlPlane,
        options: &EcsOptions,
        docker: Docker,
        instance_arn: String,
        saved: EcsState,
        signers: Signers,
    ) -> Engine {
        let Signers { instance: credentials, tasks: roles, credentials_url, agent_id } = signers;
        Engine {
            state_dir,
            control_plane,
            cluster: options.cluster.clone(),
            instance_arn,
            agent_id,
            docker,
            cleanup_after: i64::try_from(options.cleanup_after.as_secs()).unwrap_or(i64::MAX),
            credentials,
            tasks: saved.tasks,
            channel: Channel::new(saved.sequence_number),
            reports: VecDeque::new(),
            ops: JoinSet::new(),
            generation: 0,
            observing: false,
            next_observe: Instant::now(),
            polling: false,
            poll_backoff: Backoff::new(),
            poll_delay: Duration::ZERO,
            reporting: false,
            report_backoff: Backoff::new(),
            report_delay: Duration::ZERO,
            saved: Vec::new(),
            reregister: false,
            roles,
            credentials_url,
            shippers: HashMap::new(),
        }
    }

    fn state(&self) -> EcsState {
        EcsState {
            cluster: self.cluster.clone(),
            container_instance_arn: Some(self.instance_arn.clone()),
            sequence_number: self.channel.sequence_number,
            tasks: self.tasks.clone(),
        }
    }

    /// Runs until the control plane says the instance must register again; returns the state.
    async fn serve(mut self) -> EcsState {
        self.adopt().await;
        while !self.reregister {
            self.plan();
            self.save();
            if !self.polling {
                self.start_poll();
            }
            if !self.reporting && !self.reports.is_empty() {
                self.start_report();
            }
            tokio::select! {
                Some(joined) = self.ops.join_next(), if !self.ops.is_empty() => match joined {
                    Ok(outcome) => self.settle(outcome),
                    Err(error) => log::event(&format!("ecs: an operation failed: {error}")),
                },
                () = tokio::time::sleep_until(self.next_observe) => self.start_observe(),
            }
        }
        // What was under way will not report back: the next engine starts it again.
        self.ops.abort_all();
        for task in self.tasks.values_mut() {
            task.forget_progress();
        }
        self.state()
    }

    /// Lists this instance's containers before the first poll, until Docker answers.
    async fn adopt(&mut self) {
        let labels = self.labels();
        let mut backoff = Backoff::new();
        loop {
            match self.docker.containers(&labels).await {
                Ok(listed) => {
                    self.generation += 1;
                    let before: Vec<String> = self.tasks.keys().cloned().collect();
                    let duplicates = reconcile::observe(&mut self.tasks, &listed, self.generation);
                    let adopted = self.tasks.keys().filter(|arn| !before.contains(arn)).count();
                    log::event(&format!(
                        "ecs: {} container(s) of this instance found in Docker; {} task(s) known, {adopted} adopted from labels only",
                        listed.len(),
                        self.tasks.len()
                    ));
                    self.remove_duplicates(duplicates);
                    self.remove_orphans().await;
                    return;
                }
                Err(error) => {
                    let delay = backoff.next_delay(jitter());
                    log::event(&format!(
                        "ecs: cannot list containers ({error}); retrying in {}s",
                        delay.as_secs().max(1)
                    ));
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Stops and removes the containers this agent made for its earlier container instances
    /// (deregistered: the control plane no longer tracks their tasks, and no agent would
    /// ever stop them). Found by this agent's label, so another agent's are never touched.
    async fn remove_orphans(&mut self) {
        if self.agent_id.is_empty() {
            return;
        }
        let listed = match self.docker.containers(&[format!("{LABEL_AGENT}={}", self.agent_id)]).await {
            Ok(listed) => listed,
            Err(error) => {
                log::event(&format!("ecs: cannot list the containers of earlier container instances: {error}"));
                return;
            }
        };
        for container in listed {
            let Some(earlier) = container.label(LABEL_INSTANCE).filter(|arn| *arn != self.instance_arn) else {
                continue;
            };
            let task = container.label(LABEL_TASK_ARN).map(task_id).unwrap_or("?");
            log::event(&format!(
                "ecs: removing container {} of task {task}: it belongs to container instance {earlier}, \
                 deregistered; this agent is now {}",
                container.id, self.instance_arn
            ));
            awslogs::forget_position(&self.state_dir, &container.id);
            let docker = self.docker.clone();
            let id = container.id.clone();
            self.ops.spawn(async move {
                // Gracefully (its own stop timeout) if it runs; removed either way.
                let stopped = match container.state.as_str() {
                    "running" => docker.stop(&id, None).await,
                    _ => Ok(()),
                };
                if let Err(error) = stopped {
                    log::event(&format!("ecs: cannot stop container {id}: {error}; removing it anyway"));
                }
                let result = docker.remove(&id).await;
                Outcome::Removed { task: None, container: id, result }
            });
        }
    }

    fn labels(&self) -> Vec<String> {
        vec![format!("{LABEL_INSTANCE}={}", self.instance_arn)]
    }

    fn save(&mut self) {
        let state = self.state();
        let Ok(bytes) = serde_json::to_vec(&state) else { return };
        if bytes == self.saved {
            return;
        }
        match state.save(&self.state_dir) {
            Ok(()) => self.saved = bytes,
            Err(error) => log::event(&format!("ecs: {error}")),
        }
    }

    /// Plans every task and starts what the plans ask for.
    fn plan(&mut self) {
        // Shippers first: whether a stopped task still ships decides whether its execution
        // role is kept.
        self.start_shippers();
        self.track_roles();
        let now = crate::now();
        let mut actions = Vec::new();
        for task in self.tasks.values_mut() {
            actions.extend(reconcile::plan(task, now, self.cleanup_after));
        }
        for action in actions {
            self.dispatch(action);
        }
    }

    /// Keeps the role credentials of the tasks that run (or are to) and lets go of the
    /// others': served while the task runs, forgotten once its stop is acknowledged and its
    /// logs are shipped.
    fn track_roles(&mut self) {
        let fetch = Fetch {
            cluster: self.cluster.clone(),
            container_instance_arn: self.instance_arn.clone(),
            credentials: self.credentials.clone(),
        };
        let mut live = Vec::new();
        for task in self.tasks.values_mut() {
            let Some(spec) = &task.spec else { continue };
            let stopped = task.desired == Status::Stopped && !task.has_running_container();
            let shipping = self.shippers.values().any(|s| s.task_arn == task.arn && !*s.done.borrow());
            // Its execution role is kept until its last lines are shipped.
            if task.reported == Some(Status::Stopped) && !shipping {
                continue;
            }
            live.push(task.arn.clone());
            if !stopped && spec.task_role_arn.is_some() && task.credentials_secret.is_none() {
                task.credentials_secret = TaskSecret::generate();
            }
            if !self.roles.tracks(&task.arn) {
                let secret = task.credentials_secret.clone();
                self.roles.track(spec, secret, stopped, &self.control_plane, fetch.clone());
            }
            if stopped {
                self.roles.stop_serving(&task.arn);
            }
        }
        for arn in self.roles.tracked() {
            if !live.contains(&arn) {
                self.roles.forget(&arn);
            }
        }
    }

    /// Starts shipping the log of every container that has one to ship and no shipper yet.
    fn start_shippers(&mut self) {
        for task in self.tasks.values() {
            let Some(spec) = &task.spec else { continue };
            for record in &task.containers {
                let Some(runtime_id) = &record.runtime_id else { continue };
                // A container that has not started yet has nothing to ship (and following its
                // log would end at once).
                let unstarted = matches!(record.state, ContainerState::Waiting | ContainerState::Created);
                if self.shippers.contains_key(runtime_id) || unstarted {
                    continue;
                }
                let Some(definition) = spec.container(&record.name) else { continue };
                let destination = match Destination::of(spec, definition, runtime_id) {
                    None => continue,
                    Some(Ok(destination)) => destination,
                    Some(Err(why)) => {
                        log::event(&format!("ecs: task {}: container {}: {why}", task_id(&task.arn), record.name));
                        continue;
                    }
                };
                let signer = match spec.execution_role_arn {
                    Some(_) => Signer::Execution { roles: self.roles.clone(), task_arn: task.arn.clone() },
                    None => Signer::Instance(self.credentials.clone()),
                };
                log::event(&format!(
                    "ecs: task {}: shipping the output of container {} to {}/{}",
                    task_id(&task.arn),
                    record.name,
                    destination.group,
                    destination.stream
                ));
                let shipper = awslogs::start(ShipOrder {
                    state: self.state_dir.clone(),
                    docker: self.docker.clone(),
                    control_plane: self.control_plane.clone(),
                    runtime_id: runtime_id.clone(),
                    task_arn: task.arn.clone(),
                    destination,
                    signer,
                });
                self.shippers.insert(runtime_id.clone(), shipper);
            }
        }
    }

    fn dispatch(&mut self, action: Action) {
        let docker = self.docker.clone();
        match action {
            Action::EnsureImages { task, images } => {
                let pulls = Pulls {
                    control_plane: self.control_plane.clone(),
                    roles: self.roles.clone(),
                    instance: self.credentials.clone(),
                    task_arn: task.clone(),
                    execution_role: self
                        .tasks
                        .get(&task)
                        .and_then(|t| t.spec.as_ref())
                        .is_some_and(|s| s.execution_role_arn.is_some()),
                };
                self.ops.spawn(async move {
                    // A task's containers start with their role credentials at hand.
                    if !pulls.roles.wait_ready(&task, CREDENTIALS_WAIT).await {
                        log::event(&format!(
                            "ecs: task {}: its role credentials are not here yet; starting without waiting longer",
                            task_id(&task)
                        ));
                    }
                    let result = ensure_images(&docker, &images, &pulls).await;
                    if matches!(result, Err(ImagesError::Unreachable(_))) {
                        tokio::time::sleep(DOCKER_RETRY).await;
                    }
                    Outcome::Images { task, result }
                });
            }
            Action::Launch { task, container } => {
                let Some(record) = self.tasks.get(&task) else { return };
                let Some(spec) = record.spec.clone() else { return };
                let runtime_id =
                    record.containers.iter().find(|c| c.name == container).and_then(|c| c.runtime_id.clone());
                let (cluster, instance, agent_id) =
                    (self.cluster.clone(), self.instance_arn.clone(), self.agent_id.clone());
                let environment =
                    credentials_environment(&spec, record.credentials_secret.as_ref(), &self.credentials_url);
                let logs = LogSigner {
                    control_plane: self.control_plane.clone(),
                    roles: self.roles.clone(),
                    instance: self.credentials.clone(),
                    task_arn: task.clone(),
                };
                self.ops.spawn(async move {
                    let placement = Placement {
                        cluster: &cluster,
                        container_instance_arn: &instance,
                        agent_id: &agent_id,
                        environment: &environment,
                    };
                    let result = launch(&docker, &spec, &container, runtime_id, &placement, &logs).await;
                    if result.is_err() {
                        tokio::time::sleep(DOCKER_RETRY).await;
                    }
                    Outcome::Launched { task, container, result }
                });
            }
            Action::Stop { task, container, runtime_id, grace } => {
                log::event(&format!(
                    "ecs: stopping container {container} of task {} ({})",
                    task_id(&task),
                    grace.map_or("its own stop timeout".to_owned(), |g| format!("SIGKILL after {g}s"))
                ));
                self.ops.spawn(async move {
                    let result = match docker.stop(&runtime_id, grace).await {
                        Ok(()) | Err(DockerError::Api { status: 404, .. }) => exit_code(&docker, &runtime_id).await,
                        Err(error) => Err(error),
                    };
                    if result.is_err() {
                        tokio::time::sleep(DOCKER_RETRY).await;
                    }
                    Outcome::Exited { task, container, result }
                });
            }
            Action::Inspect { task, container, runtime_id } => {
                self.ops.spawn(async move {
                    let result = exit_code(&docker, &runtime_id).await;
                    if result.is_err() {
                        tokio::time::sleep(DOCKER_RETRY).await;
                    }
                    Outcome::Exited { task, container, result }
                });
            }
            Action::Remove { task, container, runtime_id } => {
                let mut shipped = self.shippers.get(&runtime_id).map(|s| s.done.clone());
                self.ops.spawn(async move {
                    // Its last lines are shipped before it goes.
                    if let Some(done) = &mut shipped {
                        while !*done.borrow_and_update() {
                            if done.changed().await.is_err() {
                                break;
                            }
                        }
                    }
                    let result = docker.remove(&runtime_id).await;
                    if result.is_err() {
                        tokio::time::sleep(DOCKER_RETRY).await;
                    }
                    Outcome::Removed { task: Some(task), container, result }
                });
            }
            Action::Report(report) => self.reports.push_back(report),
            Action::Forget { task } => {
                self.tasks.remove(&task);
            }
        }
    }

    fn remove_duplicates(&mut self, duplicates: Vec<String>) {
        for id in duplicates {
            log::event(&format!("ecs: removing container {id}: a second container for one task's container"));
            let docker = self.docker.clone();
            self.ops.spawn(async move {
                let result = docker.remove(&id).await;
                Outcome::Removed { task: None, container: id, result }
            });
        }
    }

    fn start_observe(&mut self) {
        // Often while something runs or is under way; stopped tasks kept for clean-up only
        // need the idle pace.
        let busy = self.tasks.values().any(|t| {
            t.desired == Status::Running
                || t.containers
                    .iter()
                    .any(|c| c.busy || matches!(c.state, ContainerState::Running | ContainerState::Created))
        });
        self.next_observe = Instant::now() + if busy { OBSERVE_BUSY } else { OBSERVE_IDLE };
        if self.observing {
            return;
        }
        self.observing = true;
        self.generation += 1;
        let generation = self.generation;
        let docker = self.docker.clone();
        let labels = self.labels();
        self.ops.spawn(async move { Outcome::Observed { generation, result: docker.containers(&labels).await } });
    }

    fn start_poll(&mut self) {
        self.polling = true;
        let request = self.channel.next_request(&self.cluster, &self.instance_arn);
        let delay = std::mem::take(&mut self.poll_delay);
        let mut credentials = self.credentials.clone();
        let control_plane = self.control_plane.clone();
        self.ops.spawn(async move {
            tokio::time::sleep(delay).await;
            let held = current_credentials(&mut credentials).await;
            let limit = CALL_LIMIT + Duration::from_secs(ecs_channel::WAIT_SECONDS);
            let result =
                api::ecs_call(&control_plane.endpoint, &control_plane.region, &held, "Poll", &request, limit).await;
            Outcome::Polled { request, result }
        });
    }

    fn start_report(&mut self) {
        let Some(report) = self.reports.front().cloned() else { return };
        self.reporting = true;
        let delay = std::mem::take(&mut self.report_delay);
        let mut credentials = self.credentials.clone();
        let control_plane = self.control_plane.clone();
        let cluster = self.cluster.clone();
        self.ops.spawn(async move {
            tokio::time::sleep(delay).await;
            let held = current_credentials(&mut credentials).await;
            let (operation, body) = report.request(&cluster);
            let result =
                api::ecs_call(&control_plane.endpoint, &control_plane.region, &held, operation, &body, CALL_LIMIT)
                    .await
                    .map(drop);
            Outcome::Reported { result }
        });
    }

    fn settle(&mut self, outcome: Outcome) {
        let generation = self.generation;
        match outcome {
            Outcome::Observed { generation: listed_at, result } => {
                self.observing = false;
                match result {
                    Ok(listed) => {
                        let duplicates = reconcile::observe(&mut self.tasks, &listed, listed_at);
                        self.remove_duplicates(duplicates);
                    }
                    Err(error) => log::event(&format!("ecs: cannot list containers: {error}")),
                }
            }
            Outcome::Images { task, result } => {
                let Some(record) = self.tasks.get_mut(&task) else { return };
                match result {
                    Ok(pulled) => reconcile::apply_images(record, Ok(pulled)),
                    Err(ImagesError::Pull { image, reason }) => {
                        log::event(&format!("ecs: task {}: cannot pull {image}: {reason}", task_id(&task)));
                        reconcile::apply_images(record, Err((image, reason)));
                    }
                    Err(ImagesError::Unreachable(error)) => {
                        log::event(&format!("ecs: task {}: {error}", task_id(&task)));
                        record.pulling = false;
                    }
                }
            }
            Outcome::Launched { task, container, result } => {
                let Some(record) = self.tasks.get_mut(&task) else { return };
                match result {
                    Ok(launched) => {
                        if let LaunchResult::CreateFailed(why) | LaunchResult::StartFailed { message: why, .. } =
                            &launched
                        {
                            log::event(&format!("ecs: task {}: container {container} failed: {why}", task_id(&task)));
                        }
                        reconcile::apply_launch(record, &container, launched, generation);
                    }
                    Err(error) => {
                        log::event(&format!("ecs: task {}: container {container}: {error}", task_id(&task)));
                        reconcile::apply_retry(record, &container);
                    }
                }
            }
            Outcome::Exited { task, container, result } => {
                let Some(record) = self.tasks.get_mut(&task) else { return };
                match result {
                    Ok(code) => {
                        let code_text = code.map_or("no exit code".to_owned(), |c| format!("exit code {c}"));
                        log::event(&format!(
                            "ecs: task {}: container {container} stopped ({code_text})",
                            task_id(&task)
                        ));
                        reconcile::apply_exit(record, &container, code, generation);
                    }
                    Err(error) => {
                        log::event(&format!("ecs: task {}: container {container}: {error}", task_id(&task)));
                        reconcile::apply_retry(record, &container);
                    }
                }
            }
            Outcome::Removed { task, container, result } => match (task, result) {
                (Some(task), Ok(())) => {
                    if let Some(record) = self.tasks.get_mut(&task) {
                        if let Some(runtime_id) =
                            record.containers.iter().find(|c| c.name == container).and_then(|c| c.runtime_id.clone())
                        {
                            self.shippers.remove(&runtime_id);
                            awslogs::forget_position(&self.state_dir, &runtime_id);
                        }
                        reconcile::apply_removed(record, &container);
                    }
                }
                (Some(task), Err(error)) => {
                    log::event(&format!("ecs: task {}: cannot remove container {container}: {error}", task_id(&task)));
                    if let Some(record) = self.tasks.get_mut(&task) {
                        reconcile::apply_retry(record, &container);
                    }
                }
                (None, Ok(())) => {}
                (None, Err(error)) => log::event(&format!("ecs: cannot remove container {container}: {error}")),
            },
            Outcome::Polled { request, result } => self.settle_poll(&request, result),
            Outcome::Reported { result } => self.settle_report(result),
        }
    }

    fn settle_poll(&mut self, request: &Value, result: Result<Value, CallError>) {
        self.polling = false;
        let answer = match result {
            Ok(answer) => answer,
            Err(error) => {
                self.channel.failed(request);
                if let CallError::Service { message, .. } = &error {
                    if message.contains("register again") {
                        log::event(&format!("ecs: poll refused: {error}; registering again"));
                        self.reregister = true;
                        return;
                    }
                }
                self.poll_delay = self.poll_backoff.next_delay(jitter());
                let advice = match error.code() {
                    Some("AccessDeniedException") => {
                        " (the instance role needs ecs:Poll, as AmazonEC2ContainerServiceforEC2Role grants)"
                    }
                    None => " (the control plane is unreachable or not answering as expected)",
                    Some(_) => "",
                };
                log::event(&format!(
                    "ecs: poll failed: {error}{advice}; retrying in {}s",
                    self.poll_delay.as_secs().max(1)
                ));
                return;
            }
        };
        if self.poll_backoff.failing() {
            log::event("ecs: polling again");
        }
        self.poll_backoff.reset();
        let response = match parse_poll_response(&answer) {
            Ok(response) => response,
            Err(why) => {
                self.channel.failed(request);
                self.poll_delay = self.poll_backoff.next_delay(jitter());
                log::event(&format!("ecs: unreadable poll answer: {why}"));
                return;
            }
        };
        let applied = self.channel.apply(&mut self.tasks, response);
        for arn in &applied.new_tasks {
            let spec = self.tasks.get(arn).and_then(|t| t.spec.as_ref());
            let what = spec.map(|s| format!("{}:{}", s.family, s.revision)).unwrap_or_default();
            log::event(&format!("ecs: task {} ({what}) to run", task_id(arn)));
        }
        for arn in applied.stops.iter().chain(&applied.verified_stops) {
            log::event(&format!("ecs: task {} to stop", task_id(arn)));
        }
        if !applied.candidates.is_empty() {
            log::event(&format!(
                "ecs: the manifest lacks {} task(s) this instance runs; verifying",
                applied.candidates.len()
            ));
        }
        if applied.resync {
            log::event("ecs: the manifest lists tasks this agent was never sent; asking for every task again");
        }
        for why in applied.unreadable {
            log::event(&format!("ecs: ignored {why}"));
        }
    }

    fn settle_report(&mut self, result: Result<(), CallError>) {
        self.reporting = false;
        let Some(report) = self.reports.front().cloned() else { return };
        let describe = |report: &Report| match report {
            Report::Task { status, .. } => format!("task {} {}", task_id(report.task_arn()), status.as_str()),
            Report::Container { container, .. } => {
                format!(
                    "container {} of task {} {}",
                    container.container_name,
                    task_id(report.task_arn()),
                    container.status.as_str()
                )
            }
        };
        match result {
            Ok(()) => {
                self.reports.pop_front();
                self.report_backoff.reset();
                if let Some(record) = self.tasks.get_mut(report.task_arn()) {
                    reconcile::apply_acknowledged(record, &report);
                }
                if let Report::Task { status, reason, .. } = &report {
                    let why = reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
                    log::event(&format!("ecs: reported task {} {}{why}", task_id(report.task_arn()), status.as_str()));
                }
            }
            Err(CallError::Service { code, message, .. })
                if matches!(code.as_str(), "InvalidParameterException" | "ClientException") =>
            {
                self.reports.pop_front();
                log::event(&format!(
                    "ecs: the control plane refused the report of {}: {code}: {message}; dropped",
                    describe(&report)
                ));
                if let Some(record) = self.tasks.get_mut(report.task_arn()) {
                    reconcile::apply_abandoned(record, &report);
                }
            }
            Err(error) => {
                self.report_delay = self.report_backoff.next_delay(jitter());
                log::event(&format!(
                    "ecs: reporting {} failed: {error}; retrying in {}s",
                    describe(&report),
                    self.report_delay.as_secs().max(1)
                ));
            }
        }
    }
}

/// The environment that points a task's containers at its role credentials (none without a
/// task role or an endpoint).
fn credentials_environment(
    spec: &TaskSpec,
    secret: Option<&TaskSecret>,
    base_url: &Option<String>,
) -> Vec<(String, String)> {
    match (&spec.task_role_arn, secret, base_url) {
        (Some(_), Some(secret), Some(url)) => secret.environment(url),
        _ => Vec::new(),
    }
}

/// What pulling a task's images needs to authenticate to Homeport's registry.
struct Pulls {
    control_plane: ControlPlane,
    roles: TaskRoles,
    instance: Credentials,
    task_arn: String,
    execution_role: bool,
}

impl Pulls {
    /// The `X-Registry-Auth` for `image` if Homeport's registry serves it. A refusal stops
    /// the task with ECS's `CannotPullECRContainerError`; an unreachable control plane is
    /// tried again.
    async fn auth_for(&self, image: &str) -> Result<Option<String>, ImagesError> {
        if !crate::registry_auth::is_served_by(image, self.control_plane.endpoint.host()) {
            return Ok(None);
        }
        let refused = |why: String| ImagesError::Pull {
            image: image.to_owned(),
            reason: format!("CannotPullECRContainerError: {why}"),
        };
        let credentials = if self.execution_role {
            self.roles
                .wait_for(&self.task_arn, RoleType::Execution, CREDENTIALS_WAIT)
                .await
                .ok_or_else(|| refused("engine ecr credentials: not found".to_owned()))?
                .credentials
        } else {
            current_credentials(&mut self.instance.clone()).await
        };
        match crate::registry_auth::registry_auth(&self.control_plane, &credentials).await {
            Ok(auth) => Ok(Some(auth)),
            Err(error @ CallError::Service { .. }) => Err(refused(error.to_string())),
            Err(error) => Err(ImagesError::Unreachable(format!("cannot get a token for {image}: {error}"))),
        }
    }
}

/// Checks each image, pulling those that are missing (ECS's `prefer-cached` behaviour): when
/// a pull was needed, when it started and stopped.
async fn ensure_images(docker: &Docker, images: &[String], pulls: &Pulls) -> Result<Option<(i64, i64)>, ImagesError> {
    let mut pulled: Option<(i64, i64)> = None;
    for image in images {
        if docker.image_exists(image).await.map_err(|error| ImagesError::Unreachable(error.to_string()))? {
            continue;
        }
        let started = pulled.map_or_else(crate::now, |(started, _)| started);
        log::event(&format!("ecs: pulling {image}"));
        let auth = pulls.auth_for(image).await?;
        match docker.pull(image, auth.as_deref()).await {
            Ok(()) => pulled = Some((started, crate::now())),
            Err(error @ DockerError::Api { .. }) => {
                let reason = format!("CannotPullContainerError: {}", error.daemon_message());
                return Err(ImagesError::Pull { image: image.clone(), reason });
            }
            Err(error) => return Err(ImagesError::Unreachable(error.to_string())),
        }
    }
    Ok(pulled)
}

/// What creating a container's `awslogs` destination needs: the credentials that will ship
/// its output (the execution role's, else the instance's).
struct LogSigner {
    control_plane: ControlPlane,
    roles: TaskRoles,
    instance: Credentials,
    task_arn: String,
}

impl LogSigner {
    async fn credentials(&self, spec: &TaskSpec) -> Option<RoleCredentials> {
        match spec.execution_role_arn {
            Some(_) => {
                Some(self.roles.wait_for(&self.task_arn, RoleType::Execution, CREDENTIALS_WAIT).await?.credentials)
            }
            None => Some(current_credentials(&mut self.instance.clone()).await),
        }
    }
}

/// Creates (unless it exists), starts and inspects one container. Its `awslogs` group (if
/// the options ask) and stream are created first, as Docker's driver does at start: a
/// refusal fails the start with Docker's words; an unreachable control plane is tried again.
async fn launch(
    docker: &Docker,
    spec: &crate::task_spec::TaskSpec,
    container: &str,
    runtime_id: Option<String>,
    placement: &Placement<'_>,
    logs: &LogSigner,
) -> Result<LaunchResult, String> {
    let Some(definition) = spec.container(container) else {
        return Ok(LaunchResult::CreateFailed(format!("no container {container} in the task")));
    };
    let id = match runtime_id {
        Some(id) => id,
        None => {
            let name = spec.docker_name(container);
            match docker.create(&name, &container_config(spec, definition, placement)).await {
                Ok(id) => id,
                // Created by a run of the agent that stopped before recording it.
                Err(DockerError::Api { status: 409, .. }) => docker.inspect(&name).await.map_err(|e| e.to_string())?.id,
                Err(error @ DockerError::Api { .. }) => return Ok(LaunchResult::CreateFailed(error.daemon_message())),
                Err(error) => return Err(error.to_string()),
            }
        }
    };
    let destination = match Destination::of(spec, definition, &id) {
        Some(Err(why)) => {
            let message = format!("Error response from daemon: failed to initialize logging driver: {why}");
            return Ok(LaunchResult::StartFailed { runtime_id: id, message });
        }
        Some(Ok(destination)) => Some(destination),
        None => None,
    };
    if let Some(destination) = destination {
        let credentials = logs
            .credentials(spec)
            .await
            .ok_or_else(|| "its execution role's credentials are not here yet".to_owned())?;
        match awslogs::create_destination(&logs.control_plane, &destination, &credentials).await {
            Ok(()) => {}
            Err(failed) if failed.is_temporary() => {
                return Err(format!(
                    "cannot create its awslogs destination {}/{}: {}",
                    destination.group, destination.stream, failed.error
                ));
            }
            Err(failed) => return Ok(LaunchResult::StartFailed { runtime_id: id, message: failed.start_error() }),
        }
    }
    match docker.start(&id).await {
        Ok(()) => {}
        Err(error @ DockerError::Api { .. }) => {
            return Ok(LaunchResult::StartFailed { runtime_id: id, message: error.daemon_message() });
        }
        Err(error) => return Err(error.to_string()),
    }
    let mut inspected = docker.inspect(&id).await.map_err(|e| e.to_string())?;
    if spec.network_mode() == "host" {
        inspected.bindings = crate::task_spec::host_mode_bindings(definition);
    }
    Ok(LaunchResult::Launched(inspected))
}

/// A stopped container's exit code (`None`: it is gone).
async fn exit_code(docker: &Docker, id: &str) -> Result<Option<i64>, DockerError> {
    match docker.inspect(id).await {
        Ok(inspected) if inspected.running => Err(DockerError::BadResponse(format!("container {id} still runs"))),
        Ok(inspected) => Ok(Some(inspected.exit_code)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}
