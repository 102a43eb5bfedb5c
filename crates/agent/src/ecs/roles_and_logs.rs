//! What lives beside a task's containers: its role credentials (`crate::task_roles`) and
//! the shipping of its `awslogs` containers' output (`crate::awslogs`).
//!
//! Guarantees:
//! - A task with a task role or an execution role has its credentials tracked from the first
//!   plan on; its task role's credentials stop being served once it has stopped, and both
//!   are forgotten once its stop is acknowledged and its last lines are shipped.
//! - A container's output is shipped from the moment it has started (never before: its log
//!   would end at once), one shipper per container, signed with the execution role (the
//!   instance role when the task has none).

use super::engine::Engine;
use crate::awslogs::{self, Destination, ShipOrder, Signer};
use crate::docker::DockerApi;
use crate::log;
use crate::reconcile::{ContainerState, Status};
use crate::task_roles::{Fetch, TaskSecret};
use crate::task_spec::task_id;

impl<D: DockerApi> Engine<D> {
    /// Keeps the role credentials of the tasks that run (or are to) and lets go of the
    /// others': served while the task runs, forgotten once its stop is acknowledged and its
    /// logs are shipped.
    pub(super) fn track_roles(&mut self) {
        let fetch = Fetch {
            cluster: self.cluster.clone(),
            container_instance_arn: self.instance_arn.clone(),
            credentials: self.signers.instance.clone(),
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
            if !self.signers.task_roles.tracks(&task.arn) {
                let secret = task.credentials_secret.clone();
                self.signers.task_roles.track(spec, secret, stopped, &self.control_plane, fetch.clone());
            }
            if stopped {
                self.signers.task_roles.stop_serving(&task.arn);
            }
        }
        for arn in self.signers.task_roles.tracked() {
            if !live.contains(&arn) {
                self.signers.task_roles.forget(&arn);
            }
        }
    }

    /// Starts shipping the log of every container that has one to ship and no shipper yet.
    pub(super) fn start_shippers(&mut self) {
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
                    Some(_) => Signer::Execution { roles: self.signers.task_roles.clone(), task_arn: task.arn.clone() },
                    None => Signer::Instance(self.signers.instance.clone()),
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
}
