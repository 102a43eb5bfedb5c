//! A task's secrets and its private registries' credentials, read with its execution role
//! (`crate::task_secrets`) while its images are checked, before any container is created.
//!
//! Guarantees:
//! - Nothing is read for a task without `secrets` or `repositoryCredentials`.
//! - A task with them and without an execution role, a refusal, or a missing secret stops
//!   the task with ECS's `ResourceInitializationError: ...`; an unreachable control plane is
//!   tried again, as a pull is.
//! - The values go to the engine's memory only, to be handed to Docker's create call.

use super::CREDENTIALS_WAIT;
use super::images::{ImagesError, Pulls};
use crate::credentials::RoleCredentials;
use crate::task_roles::RoleType;
use crate::task_secrets::{self, Resolved, SecretsError};
use crate::task_spec::TaskPayload;

const NO_EXECUTION_ROLE: &str = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: the task definition has no executionRoleArn to read its secrets with";

/// The images of `task` that come from private registries, with the secret of each.
pub(super) fn private_images(task: &TaskPayload) -> Vec<(String, String)> {
    task.containers
        .iter()
        .filter_map(|container| Some((container.image.clone(), task_secrets::repository_credentials(container)?)))
        .collect()
}

impl Pulls {
    /// The execution role's credentials, or the reason the task stops without them.
    async fn execution_credentials(&self, image: &str) -> Result<RoleCredentials, ImagesError> {
        let refused = |reason: &str| ImagesError::Pull { image: image.to_owned(), reason: reason.to_owned() };
        if !self.execution_role {
            return Err(refused(NO_EXECUTION_ROLE));
        }
        match self.roles.wait_for(&self.task_arn, RoleType::Execution, CREDENTIALS_WAIT).await {
            Some(role) => Ok(role.credentials),
            None => Err(ImagesError::Unreachable("its execution role's credentials are not here yet".to_owned())),
        }
    }

    /// The `X-Registry-Auth` of a private registry's image (`None`: it has no credentials).
    pub(super) async fn private_registry_auth(&self, image: &str) -> Result<Option<String>, ImagesError> {
        let Some((_, parameter)) = self.private.iter().find(|(private, _)| private == image) else { return Ok(None) };
        let credentials = self.execution_credentials(image).await?;
        match task_secrets::private_registry_auth(&self.control_plane, &credentials, parameter, image).await {
            Ok(auth) => Ok(Some(auth)),
            Err(error) => Err(images_error(image, error)),
        }
    }
}

fn images_error(image: &str, error: SecretsError) -> ImagesError {
    match error {
        SecretsError::Refused(reason) => ImagesError::Pull { image: image.to_owned(), reason },
        SecretsError::Unreachable(why) => ImagesError::Unreachable(format!("cannot read the task's secrets: {why}")),
    }
}

/// Resolves the secrets of `task` (`None`: it has none).
pub(super) async fn resolve_task(pulls: &Pulls, task: Option<&TaskPayload>) -> Result<Option<Resolved>, ImagesError> {
    let Some(task) = task.filter(|task| task_secrets::has_secrets(task)) else { return Ok(None) };
    // The reason names no image: it is the task's (every container keeps its own state).
    let credentials = pulls.execution_credentials("").await?;
    task_secrets::resolve(&pulls.control_plane, &credentials, task)
        .await
        .map(Some)
        .map_err(|error| images_error("", error))
}
