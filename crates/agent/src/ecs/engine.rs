//! The engine of one registration: it owns the task table, the channel and the report queue,
//! and one loop plans every task (`reconcile::plan`, pure), starts what the plans ask for as
//! background operations, and settles each operation's outcome back into the table.
//!
//! Guarantees:
//! - Only the loop touches the state; every operation that waits (a Docker call, a listing,
//!   the poll, a report) runs as its own task and hands back an [`Outcome`], so none holds
//!   up another.
//! - The task table and the sequence number are saved (`ecs.json`) after every change, before
//!   the next poll carries the number.
//! - Docker is listed every second while something runs or is under way, every ten seconds
//!   otherwise, one listing at a time; an outcome is judged against the listing generation
//!   it started in, so a stale listing never undoes a newer launch or exit.
//! - When the control plane asks for a new registration, the operations under way are
//!   dropped and the state is handed back with their progress forgotten, to be started again
//!   by the next engine.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use agent_protocol::poll::PollRequest;
use serde_json::Value;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::EcsOptions;
use super::images::ImagesError;
use super::polling::Polling;
use super::reporting::Reporting;
use crate::api::CallError;
use crate::awslogs::Shipper;
use crate::control_plane::{ControlPlane, Credentials};
use crate::docker::{DockerApi, DockerError, ListedContainer};
use crate::ecs_channel::Channel;
use crate::ecs_registration::EcsState;
use crate::log;
use crate::metadata_endpoint::TaskMetadata;
use crate::reconcile::{self, Action, ContainerState, LaunchResult, Status, TaskRecord};
use crate::state::StateDir;
use crate::task_roles::TaskRoles;
use crate::task_spec::LABEL_INSTANCE;

/// How often Docker is listed while tasks are on the machine, and when none are.
const OBSERVE_BUSY: Duration = Duration::from_secs(1);
const OBSERVE_IDLE: Duration = Duration::from_secs(10);

/// What a background operation came back with (a launch's `Err`: Docker or the control
/// plane could not be reached, and it is tried again).
pub(super) enum Outcome {
    Observed {
        generation: u64,
        result: Result<Vec<ListedContainer>, DockerError>,
    },
    Images {
        task: String,
        result: Result<Option<(i64, i64)>, ImagesError>,
        secrets: Option<crate::task_secrets::Resolved>,
    },
    Launched {
        task: String,
        container: String,
        result: Result<LaunchResult, String>,
    },
    Exited {
        task: String,
        container: String,
        result: Result<Option<i64>, DockerError>,
    },
    Removed {
        task: Option<String>,
        container: String,
        result: Result<(), DockerError>,
    },
    VolumeRemoved {
        task: String,
        volume: String,
        result: Result<(), DockerError>,
    },
    Polled {
        request: PollRequest,
        result: Result<Value, CallError>,
    },
    Reported {
        result: Result<(), CallError>,
    },
}

/// The credentials the engine works with: the instance role's, and its tasks' roles (with
/// the endpoint that serves them); and the agent's identity its containers are labelled with.
pub(super) struct Signers {
    pub(super) instance: Credentials,
    pub(super) task_roles: TaskRoles,
    /// The credentials endpoint's `http://HOST:PORT`, if it listens.
    pub(super) credentials_url: Option<String>,
    /// The label value of this agent's containers (empty: unknown).
    pub(super) agent_id: String,
    /// What the task metadata endpoint serves (the engine publishes its table there).
    pub(super) metadata: TaskMetadata,
}

/// Where the engine is in listing Docker's containers.
pub(super) struct Observation {
    /// The listing generation: bumped by every listing, and stamped on what settles.
    pub(super) generation: u64,
    /// A listing is under way.
    pub(super) listing: bool,
    /// When the next listing is due.
    pub(super) next: Instant,
}

/// One registration's engine, over a Docker `D`.
pub(super) struct Engine<D> {
    pub(super) state_dir: StateDir,
    pub(super) control_plane: ControlPlane,
    pub(super) cluster: String,
    pub(super) instance_arn: String,
    pub(super) docker: D,
    pub(super) signers: Signers,
    pub(super) cleanup_after: i64,
    pub(super) tasks: BTreeMap<String, TaskRecord>,
    pub(super) channel: Channel,
    pub(super) polling: Polling,
    pub(super) reporting: Reporting,
    pub(super) ops: JoinSet<Outcome>,
    pub(super) observation: Observation,
    /// The bytes of `ecs.json` last saved.
    pub(super) saved: Vec<u8>,
    pub(super) reregister: bool,
    /// Log shipping under way or done, by container runtime id.
    pub(super) shippers: HashMap<String, Shipper>,
    /// The resolved secrets of tasks whose containers are still to be created, by task ARN:
    /// in memory only (`crate::task_secrets`), dropped with the task.
    pub(super) secrets: HashMap<String, crate::task_secrets::Resolved>,
}

impl<D: DockerApi> Engine<D> {
    pub(super) fn new(
        state_dir: StateDir,
        control_plane: ControlPlane,
        options: &EcsOptions,
        docker: D,
        instance_arn: String,
        saved: EcsState,
        signers: Signers,
    ) -> Engine<D> {
        Engine {
            state_dir,
            control_plane,
            cluster: options.cluster.clone(),
            instance_arn,
            docker,
            signers,
            cleanup_after: i64::try_from(options.cleanup_after.as_secs()).unwrap_or(i64::MAX),
            tasks: saved.tasks,
            channel: Channel::new(saved.sequence_number),
            polling: Polling::new(),
            reporting: Reporting::new(),
            ops: JoinSet::new(),
            observation: Observation { generation: 0, listing: false, next: Instant::now() },
            saved: Vec::new(),
            reregister: false,
            shippers: HashMap::new(),
            secrets: HashMap::new(),
        }
    }

    pub(super) fn state(&self) -> EcsState {
        EcsState {
            cluster: self.cluster.clone(),
            container_instance_arn: Some(self.instance_arn.clone()),
            sequence_number: self.channel.sequence_number,
            tasks: self.tasks.clone(),
        }
    }

    /// Runs until the control plane says the instance must register again; returns the state.
    pub(super) async fn serve(mut self) -> EcsState {
        self.adopt().await;
        while !self.reregister {
            self.plan();
            self.save();
            if !self.polling.active {
                self.start_poll();
            }
            if !self.reporting.active && !self.reporting.queue.is_empty() {
                self.start_report();
            }
            tokio::select! {
                Some(joined) = self.ops.join_next(), if !self.ops.is_empty() => match joined {
                    Ok(outcome) => self.settle(outcome),
                    Err(error) => log::event(&format!("ecs: an operation failed: {error}")),
                },
                () = tokio::time::sleep_until(self.observation.next) => self.start_observe(),
            }
        }
        // What was under way will not report back: the next engine starts it again.
        self.ops.abort_all();
        for task in self.tasks.values_mut() {
            task.forget_progress();
        }
        self.state()
    }

    /// Gives each task that will create containers its metadata endpoint id (before the
    /// first container is created with it in its environment).
    fn assign_metadata_ids(&mut self) {
        for task in self.tasks.values_mut() {
            if task.spec.is_some() && task.desired == Status::Running && task.metadata_id.is_none() {
                task.metadata_id = crate::task_roles::random_hex::<16>();
            }
        }
    }

    /// The label every container of this container instance carries.
    pub(super) fn labels(&self) -> Vec<String> {
        vec![format!("{LABEL_INSTANCE}={}", self.instance_arn)]
    }

    pub(super) fn save(&mut self) {
        let state = self.state();
        let Ok(bytes) = serde_json::to_vec(&state) else { return };
        if bytes == self.saved {
            return;
        }
        match state.save(&self.state_dir) {
            Ok(()) => self.saved = bytes,
            Err(error) => log::event(&format!("ecs: {error}")),
        }
        self.signers.metadata.publish(&self.cluster, &self.instance_arn, &self.tasks);
    }

    /// Plans every task and starts what the plans ask for.
    pub(super) fn plan(&mut self) {
        // Shippers first: whether a stopped task still ships decides whether its execution
        // role is kept.
        self.start_shippers();
        self.track_roles();
        self.assign_metadata_ids();
        let now = crate::now();
        let mut actions = Vec::new();
        for task in self.tasks.values_mut() {
            actions.extend(reconcile::plan(task, now, self.cleanup_after));
        }
        for action in actions {
            self.dispatch(action);
        }
    }

    fn dispatch(&mut self, action: Action) {
        match action {
            Action::EnsureImages { task, images } => self.start_images(task, images),
            Action::Launch { task, container } => self.start_launch(task, container),
            Action::Stop { task, container, runtime_id, grace } => self.start_stop(task, container, runtime_id, grace),
            Action::Inspect { task, container, runtime_id } => self.start_inspect(task, container, runtime_id),
            Action::Remove { task, container, runtime_id } => self.start_remove(task, container, runtime_id),
            Action::Report(report) => self.reporting.queue.push_back(report),
            Action::Forget { task } => {
                if let Some(spec) = self.tasks.remove(&task).and_then(|record| record.spec) {
                    self.start_volume_removal(&task, super::volumes::task_scoped(&spec));
                }
                self.secrets.remove(&task);
            }
        }
    }

    /// Lists this instance's containers (unless a listing is under way) and sets when the
    /// next one is due.
    pub(super) fn start_observe(&mut self) {
        // Often while something runs or is under way; stopped tasks kept for clean-up only
        // need the idle pace.
        let busy = self.tasks.values().any(|t| {
            t.desired == Status::Running
                || t.containers
                    .iter()
                    .any(|c| c.busy || matches!(c.state, ContainerState::Running | ContainerState::Created))
        });
        self.observation.next = Instant::now() + if busy { OBSERVE_BUSY } else { OBSERVE_IDLE };
        if self.observation.listing {
            return;
        }
        self.observation.listing = true;
        self.observation.generation += 1;
        let generation = self.observation.generation;
        let docker = self.docker.clone();
        let labels = self.labels();
        self.ops.spawn(async move { Outcome::Observed { generation, result: docker.containers(&labels).await } });
    }

    pub(super) fn settle(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Observed { generation, result } => {
                self.observation.listing = false;
                match result {
                    Ok(listed) => {
                        let duplicates = reconcile::observe(&mut self.tasks, &listed, generation);
                        self.remove_duplicates(duplicates);
                    }
                    Err(error) => log::event(&format!("ecs: cannot list containers: {error}")),
                }
            }
            Outcome::Images { task, result, secrets } => self.settle_images(&task, result, secrets),
            Outcome::Launched { task, container, result } => self.settle_launch(&task, &container, result),
            Outcome::Exited { task, container, result } => self.settle_exit(&task, &container, result),
            Outcome::Removed { task, container, result } => self.settle_removed(task, &container, result),
            Outcome::VolumeRemoved { task, volume, result } => self.settle_volume_removed(&task, &volume, result),
            Outcome::Polled { request, result } => self.settle_poll(&request, result),
            Outcome::Reported { result } => self.settle_report(result),
        }
    }
}
