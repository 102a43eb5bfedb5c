//! A task's images (and then its volumes, `super::volumes`), before any of its containers is created: each is checked and pulled if
//! missing (ECS's `prefer-cached` behaviour), from Homeport's own registry with ECR
//! credentials (`crate::registry_auth`).
//!
//! Guarantees:
//! - A task's containers are launched only once every image of the task is present (the
//!   reconciler waits for [`Outcome::Images`]).
//! - The pull waits (at most 30 s) for the task's role credentials first, so its containers
//!   start with them at hand.
//! - A task's secrets (`super::secrets`) are resolved before its images are pulled: a
//!   secret that cannot be had stops the task with ECS's `ResourceInitializationError`.
//! - An image that cannot be had stops the task with ECS's reason: `CannotPullContainerError:
//!   Error response from daemon: ...` for Docker's refusal, `CannotPullECRContainerError: ...`
//!   when the registry's credentials are refused. Docker or the control plane being
//!   unreachable is not a reason: the images are checked again a second later.

use super::engine::{Engine, Outcome};
use super::secrets::ExecutionRole;
use super::{CREDENTIALS_WAIT, DOCKER_RETRY};
use crate::api::CallError;
use crate::control_plane::{ControlPlane, Credentials, current_credentials};
use crate::docker::{DockerApi, DockerError};
use crate::log;
use crate::reconcile;
use crate::task_roles::{RoleType, TaskRoles};
use crate::task_secrets::SecretsError;
use crate::task_spec::task_id;

/// Why a task's images are not all here.
#[derive(Debug)]
pub(super) enum ImagesError {
    /// The image cannot be had: ECS's reason for stopping the task.
    Pull { image: String, reason: String },
    /// Docker or the control plane could not be reached: tried again.
    Unreachable(String),
}

/// What pulling a task's images needs to authenticate to Homeport's registry.
pub(super) struct Pulls {
    pub(super) control_plane: ControlPlane,
    pub(super) roles: TaskRoles,
    pub(super) instance: Credentials,
    pub(super) task_arn: String,
    pub(super) execution_role: bool,
    /// The images of private registries and the Secrets Manager secret each is pulled with
    /// (`repositoryCredentials`).
    pub(super) private: Vec<(String, String)>,
}

impl Pulls {
    /// The `X-Registry-Auth` for `image` if Homeport's registry serves it. A refusal stops
    /// the task with ECS's `CannotPullECRContainerError`; an unreachable control plane is
    /// tried again.
    async fn auth_for(&self, image: &str) -> Result<Option<String>, ImagesError> {
        if !crate::registry_auth::is_served_by(image, self.control_plane.endpoint.host()) {
            // A private registry's image is pulled with the secret its container names.
            let Some((_, parameter)) = self.private.iter().find(|(private, _)| private == image) else {
                return Ok(None);
            };
            return self
                .execution()
                .registry_auth(parameter, image)
                .await
                .map(Some)
                .map_err(|e| secrets_error(image, e));
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

impl Pulls {
    fn execution(&self) -> ExecutionRole<'_> {
        ExecutionRole {
            control_plane: &self.control_plane,
            roles: &self.roles,
            task_arn: &self.task_arn,
            present: self.execution_role,
        }
    }
}

/// A secret that could not be had, as the images phase answers it (`image` empty for the
/// task's `secrets`: the reason is the task's).
fn secrets_error(image: &str, error: SecretsError) -> ImagesError {
    match error {
        SecretsError::Refused(reason) => ImagesError::Pull { image: image.to_owned(), reason },
        SecretsError::Unreachable(why) => ImagesError::Unreachable(format!("cannot read the task's secrets: {why}")),
    }
}

/// Checks each image, pulling those that are missing (ECS's `prefer-cached` behaviour): when
/// a pull was needed, when it started and stopped.
pub(super) async fn ensure_images<D: DockerApi>(
    docker: &D,
    images: &[String],
    pulls: &Pulls,
) -> Result<Option<(i64, i64)>, ImagesError> {
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

impl<D: DockerApi> Engine<D> {
    /// Gets the task's images (after its role credentials, for at most 30 s).
    pub(super) fn start_images(&mut self, task: String, images: Vec<String>) {
        let docker = self.docker.clone();
        let pulls = Pulls {
            control_plane: self.control_plane.clone(),
            roles: self.signers.task_roles.clone(),
            instance: self.signers.instance.clone(),
            task_arn: task.clone(),
            execution_role: self
                .tasks
                .get(&task)
                .and_then(|t| t.spec.as_ref())
                .is_some_and(|s| s.execution_role_arn.is_some()),
            private: self
                .tasks
                .get(&task)
                .and_then(|t| t.spec.as_ref())
                .map(super::secrets::private_images)
                .unwrap_or_default(),
        };
        let spec = self.tasks.get(&task).and_then(|t| t.spec.clone());
        self.ops.spawn(async move {
            // A task's containers start with their role credentials at hand.
            if !pulls.roles.wait_ready(&task, CREDENTIALS_WAIT).await {
                log::event(&format!(
                    "ecs: task {}: its role credentials are not here yet; starting without waiting longer",
                    task_id(&task)
                ));
            }
            // Its secrets first, as ECS resolves them before pulling.
            let (mut result, secrets) = match pulls.execution().resolve(spec.as_ref()).await {
                Ok(secrets) => (ensure_images(&docker, &images, &pulls).await, secrets),
                Err(error) => (Err(secrets_error("", error)), None),
            };
            if let (Ok(_), Some(spec)) = (&result, &spec) {
                if let Err(error) = super::volumes::ensure_volumes(&docker, spec).await {
                    result = Err(error);
                }
            }
            if matches!(result, Err(ImagesError::Unreachable(_))) {
                tokio::time::sleep(DOCKER_RETRY).await;
            }
            Outcome::Images { task, result, secrets }
        });
    }

    pub(super) fn settle_images(
        &mut self,
        task: &str,
        result: Result<Option<(i64, i64)>, ImagesError>,
        secrets: Option<crate::task_secrets::Resolved>,
    ) {
        if let Some(secrets) = secrets {
            self.secrets.insert(task.to_owned(), secrets);
        }
        let Some(record) = self.tasks.get_mut(task) else { return };
        match result {
            Ok(pulled) => reconcile::apply_images(record, Ok(pulled)),
            Err(ImagesError::Pull { image, reason }) => {
                let what = if image.is_empty() { "its volumes" } else { image.as_str() };
                log::event(&format!("ecs: task {}: cannot prepare {what}: {reason}", task_id(task)));
                reconcile::apply_images(record, Err((image, reason)));
            }
            Err(ImagesError::Unreachable(error)) => {
                log::event(&format!("ecs: task {}: {error}", task_id(task)));
                record.pulling = false;
            }
        }
    }
}
