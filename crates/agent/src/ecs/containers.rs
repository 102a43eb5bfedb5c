//! One container's life as the engine carries it out: created (unless it exists), its
//! `awslogs` destination made, started and inspected; stopped; inspected for its exit code;
//! removed.
//!
//! Guarantees:
//! - A container is created with this instance's labels (`crate::task_spec::container_config`),
//!   the environment that points it at its task metadata (`crate::metadata_endpoint`) and, for
//!   a task with a task role, at its credentials.
//! - A container an earlier run created without recording it (the name is taken) is found
//!   by name, never created twice.
//! - The `awslogs` group (if the options ask) and stream are created before the container
//!   starts, as Docker's driver does: a refusal fails the start with Docker's words
//!   (`CannotStartContainerError`), an unreachable control plane is tried again.
//! - Docker's refusals become ECS's reasons (`CannotCreateContainerError`,
//!   `CannotStartContainerError`); Docker being unreachable is retried a second later.
//! - A container with `awslogs` output is removed only after its last lines are shipped.

use super::CREDENTIALS_WAIT;
use super::DOCKER_RETRY;
use super::engine::{Engine, Outcome};
use crate::awslogs::{self, Destination};
use crate::control_plane::{ControlPlane, Credentials, current_credentials};
use crate::credentials::RoleCredentials;
use crate::docker::{DockerApi, DockerError};
use crate::log;
use crate::reconcile::{self, LaunchResult};
use crate::task_roles::{RoleType, TaskRoles, TaskSecret};
use crate::task_spec::{Placement, TaskPayload, container_config, docker_name_of, host_mode_bindings, task_id};

impl<D: DockerApi> Engine<D> {
    /// Creates (unless it exists) and starts one container of a task.
    pub(super) fn start_launch(&mut self, task: String, container: String) {
        let docker = self.docker.clone();
        let Some(record) = self.tasks.get(&task) else { return };
        let Some(spec) = record.spec.clone() else { return };
        let runtime_id = record.containers.iter().find(|c| c.name == container).and_then(|c| c.runtime_id.clone());
        let (cluster, instance, agent_id) =
            (self.cluster.clone(), self.instance_arn.clone(), self.signers.agent_id.clone());
        let mut environment =
            credentials_environment(&spec, record.credentials_secret.as_ref(), &self.signers.credentials_url);
        if let (Some(url), Some(id)) = (&self.signers.credentials_url, &record.metadata_id) {
            environment.extend(crate::metadata_endpoint::environment(url, id, &container));
        }
        // Its secrets, resolved with the execution role before its images were pulled.
        environment.extend(self.secrets.get(&task).map(|secrets| secrets.of(&container)).unwrap_or_default());
        let logs = LogSigner {
            control_plane: self.control_plane.clone(),
            roles: self.signers.task_roles.clone(),
            instance: self.signers.instance.clone(),
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

    /// Stops a container (SIGKILL after `grace` seconds, else its own stop timeout), then
    /// learns its exit code.
    pub(super) fn start_stop(&mut self, task: String, container: String, runtime_id: String, grace: Option<u64>) {
        log::event(&format!(
            "ecs: stopping container {container} of task {} ({})",
            task_id(&task),
            grace.map_or("its own stop timeout".to_owned(), |g| format!("SIGKILL after {g}s"))
        ));
        let docker = self.docker.clone();
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

    /// Learns a stopped container's exit code.
    pub(super) fn start_inspect(&mut self, task: String, container: String, runtime_id: String) {
        let docker = self.docker.clone();
        self.ops.spawn(async move {
            let result = exit_code(&docker, &runtime_id).await;
            if result.is_err() {
                tokio::time::sleep(DOCKER_RETRY).await;
            }
            Outcome::Exited { task, container, result }
        });
    }

    /// Removes a container, once its last lines are shipped.
    pub(super) fn start_remove(&mut self, task: String, container: String, runtime_id: String) {
        let docker = self.docker.clone();
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

    pub(super) fn settle_launch(&mut self, task: &str, container: &str, result: Result<LaunchResult, String>) {
        let generation = self.observation.generation;
        let Some(record) = self.tasks.get_mut(task) else { return };
        match result {
            Ok(launched) => {
                if let LaunchResult::CreateFailed(why) | LaunchResult::StartFailed { message: why, .. } = &launched {
                    log::event(&format!("ecs: task {}: container {container} failed: {why}", task_id(task)));
                }
                reconcile::apply_launch(record, container, launched, generation);
            }
            Err(error) => {
                log::event(&format!("ecs: task {}: container {container}: {error}", task_id(task)));
                reconcile::apply_retry(record, container);
            }
        }
    }

    pub(super) fn settle_exit(&mut self, task: &str, container: &str, result: Result<Option<i64>, DockerError>) {
        let generation = self.observation.generation;
        let Some(record) = self.tasks.get_mut(task) else { return };
        match result {
            Ok(code) => {
                let code_text = code.map_or("no exit code".to_owned(), |c| format!("exit code {c}"));
                log::event(&format!("ecs: task {}: container {container} stopped ({code_text})", task_id(task)));
                reconcile::apply_exit(record, container, code, generation);
            }
            Err(error) => {
                log::event(&format!("ecs: task {}: container {container}: {error}", task_id(task)));
                reconcile::apply_retry(record, container);
            }
        }
    }

    /// A removal's outcome (`task`: `None` for a duplicate or an orphan, outside the table).
    pub(super) fn settle_removed(&mut self, task: Option<String>, container: &str, result: Result<(), DockerError>) {
        match (task, result) {
            (Some(task), Ok(())) => {
                if let Some(record) = self.tasks.get_mut(&task) {
                    if let Some(runtime_id) =
                        record.containers.iter().find(|c| c.name == container).and_then(|c| c.runtime_id.clone())
                    {
                        self.shippers.remove(&runtime_id);
                        awslogs::forget_position(&self.state_dir, &runtime_id);
                    }
                    reconcile::apply_removed(record, container);
                }
            }
            (Some(task), Err(error)) => {
                log::event(&format!("ecs: task {}: cannot remove container {container}: {error}", task_id(&task)));
                if let Some(record) = self.tasks.get_mut(&task) {
                    reconcile::apply_retry(record, container);
                }
            }
            (None, Ok(())) => {}
            (None, Err(error)) => log::event(&format!("ecs: cannot remove container {container}: {error}")),
        }
    }
}

/// The environment that points a task's containers at its role credentials (none without a
/// task role or an endpoint).
fn credentials_environment(
    spec: &TaskPayload,
    secret: Option<&TaskSecret>,
    base_url: &Option<String>,
) -> Vec<(String, String)> {
    match (&spec.task_role_arn, secret, base_url) {
        (Some(_), Some(secret), Some(url)) => secret.environment(url),
        _ => Vec::new(),
    }
}

/// What creating a container's `awslogs` destination needs: the credentials that will ship
/// its output (the execution role's, else the instance's).
pub(super) struct LogSigner {
    control_plane: ControlPlane,
    roles: TaskRoles,
    instance: Credentials,
    task_arn: String,
}

impl LogSigner {
    async fn credentials(&self, spec: &TaskPayload) -> Option<RoleCredentials> {
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
pub(super) async fn launch<D: DockerApi>(
    docker: &D,
    spec: &TaskPayload,
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
            let name = docker_name_of(spec, container);
            let mut config = container_config(spec, definition, placement);
            crate::docker_options::apply(spec, definition, &mut config);
            match docker.create(&name, &config).await {
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
        inspected.bindings = host_mode_bindings(definition);
    }
    Ok(LaunchResult::Launched(inspected))
}

/// A stopped container's exit code (`None`: it is gone).
async fn exit_code<D: DockerApi>(docker: &D, id: &str) -> Result<Option<i64>, DockerError> {
    match docker.inspect(id).await {
        Ok(inspected) if inspected.running => Err(DockerError::BadResponse(format!("container {id} still runs"))),
        Ok(inspected) => Ok(Some(inspected.exit_code)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}
