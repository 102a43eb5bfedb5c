//! A task's secrets and its private registries' credentials, read with its execution role
//! (`crate::task_secrets`) while its images are checked (`images` calls these), before any
//! container is created.
//!
//! Guarantees:
//! - Nothing is read for a task without `secrets` or `repositoryCredentials`.
//! - A task with them and without an execution role, a refusal, or a missing secret stops
//!   the task with ECS's `ResourceInitializationError: ...`; an unreachable control plane is
//!   tried again, as a pull is.
//! - The values go to the engine's memory only, to be handed to Docker's create call.

use super::CREDENTIALS_WAIT;
use crate::control_plane::ControlPlane;
use crate::credentials::RoleCredentials;
use crate::task_roles::{RoleType, TaskRoles};
use crate::task_secrets::{self, Resolved, SecretsError};
use crate::task_spec::TaskPayload;

const NO_EXECUTION_ROLE: &str = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: the task definition has no executionRoleArn to read its secrets with";

/// What reading a task's secrets needs: where, and its execution role.
pub(super) struct ExecutionRole<'a> {
    pub(super) control_plane: &'a ControlPlane,
    pub(super) roles: &'a TaskRoles,
    pub(super) task_arn: &'a str,
    /// Whether the task has one.
    pub(super) present: bool,
}

/// The images of `task` that come from private registries, with the secret of each.
pub(super) fn private_images(task: &TaskPayload) -> Vec<(String, String)> {
    task.containers
        .iter()
        .filter_map(|container| Some((container.image.clone(), task_secrets::repository_credentials(container)?)))
        .collect()
}

impl ExecutionRole<'_> {
    /// The execution role's credentials, or why the task stops (or waits) without them.
    async fn credentials(&self) -> Result<RoleCredentials, SecretsError> {
        if !self.present {
            return Err(SecretsError::Refused(NO_EXECUTION_ROLE.to_owned()));
        }
        match self.roles.wait_for(self.task_arn, RoleType::Execution, CREDENTIALS_WAIT).await {
            Some(role) => Ok(role.credentials),
            None => Err(SecretsError::Unreachable("its execution role's credentials are not here yet".to_owned())),
        }
    }

    /// The `X-Registry-Auth` of `image` from the secret `credentials_parameter`.
    pub(super) async fn registry_auth(&self, credentials_parameter: &str, image: &str) -> Result<String, SecretsError> {
        let credentials = self.credentials().await?;
        task_secrets::private_registry_auth(self.control_plane, &credentials, credentials_parameter, image).await
    }

    /// Resolves the secrets of `task` (`None`: it has none).
    pub(super) async fn resolve(&self, task: Option<&TaskPayload>) -> Result<Option<Resolved>, SecretsError> {
        let Some(task) = task.filter(|task| task_secrets::has_secrets(task)) else { return Ok(None) };
        let credentials = self.credentials().await?;
        task_secrets::resolve(self.control_plane, &credentials, task).await.map(Some)
    }
}
