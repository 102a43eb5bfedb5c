//! A task's Docker volumes: created before any of its containers (after its images), and its
//! own ones removed when the task is forgotten.
//!
//! Guarantees:
//! - A `task`-scoped volume (and a volume with neither a host path nor a configuration) is
//!   created for the task, named `ecs-FAMILY-REVISION-VOLUME-TASKID12`
//!   (`crate::docker_options::docker_volume_name`), with its driver, options and labels, and
//!   removed once the task's containers are removed; a removal Docker refuses is logged and
//!   the volume left (a crash between the two leaves it too: `docker volume prune` clears it).
//! - A `shared` volume keeps its own name and outlives the task: used as it is when it
//!   exists (a different driver than the definition names stops the task), created when
//!   `autoprovision` is set, and otherwise its absence stops the task.
//! - Docker's refusal stops the task with `CannotCreateVolumeError: ...`; Docker being
//!   unreachable is tried again, as for images.

use std::collections::BTreeMap;

use serde_json::json;

use super::engine::{Engine, Outcome};
use super::images::ImagesError;
use crate::docker::{DockerApi, DockerError};
use crate::docker_options::docker_volume_name;
use crate::log;
use crate::task_spec::{TaskPayload, task_id};

fn refused(volume: &str, why: String) -> ImagesError {
    ImagesError::Pull { image: String::new(), reason: format!("CannotCreateVolumeError: volume {volume}: {why}") }
}

fn unreachable(error: DockerError) -> ImagesError {
    match error {
        error @ DockerError::Api { .. } => ImagesError::Pull {
            image: String::new(),
            reason: format!("CannotCreateVolumeError: {}", error.daemon_message()),
        },
        other => ImagesError::Unreachable(other.to_string()),
    }
}

/// Creates the task's Docker volumes (or checks the shared ones).
pub(super) async fn ensure_volumes<D: DockerApi>(docker: &D, spec: &TaskPayload) -> Result<(), ImagesError> {
    for volume in spec.volumes() {
        let Some(name) = docker_volume_name(spec, volume) else { continue };
        let configuration = volume.docker_volume_configuration.clone().unwrap_or_default();
        let driver = configuration.driver.clone().unwrap_or_else(|| "local".to_owned());
        if configuration.is_shared() {
            match docker.volume_driver(&name).await.map_err(unreachable)? {
                Some(existing) if configuration.driver.is_some() && existing != driver => {
                    return Err(refused(
                        &name,
                        format!("it exists with driver {existing}, the task definition names {driver}"),
                    ));
                }
                Some(_) => continue,
                None if configuration.autoprovision != Some(true) => {
                    return Err(refused(&name, "it does not exist and autoprovision is not set".to_owned()));
                }
                None => {}
            }
        }
        let body = json!({
            "Name": name,
            "Driver": driver,
            "DriverOpts": configuration.driver_opts.clone().unwrap_or_default(),
            "Labels": configuration.labels.clone().unwrap_or_else(BTreeMap::new),
        });
        docker.create_volume(&body).await.map_err(unreachable)?;
    }
    Ok(())
}

/// The names of the task's own volumes (removed with it).
pub(super) fn task_scoped(spec: &TaskPayload) -> Vec<String> {
    spec.volumes()
        .iter()
        .filter(|volume| !volume.docker_volume_configuration.as_ref().is_some_and(|c| c.is_shared()))
        .filter_map(|volume| docker_volume_name(spec, volume))
        .collect()
}

impl<D: DockerApi> Engine<D> {
    /// Removes a forgotten task's own volumes (its containers are gone).
    pub(super) fn start_volume_removal(&mut self, task: &str, volumes: Vec<String>) {
        for volume in volumes {
            let docker = self.docker.clone();
            let task = task.to_owned();
            self.ops.spawn(async move {
                let result = docker.remove_volume(&volume).await;
                Outcome::VolumeRemoved { task, volume, result }
            });
        }
    }

    pub(super) fn settle_volume_removed(&mut self, task: &str, volume: &str, result: Result<(), DockerError>) {
        match result {
            Ok(()) => log::event(&format!("ecs: task {}: removed volume {volume}", task_id(task))),
            Err(error) => {
                log::event(&format!("ecs: task {}: cannot remove volume {volume}: {error}", task_id(task)));
            }
        }
    }
}

/// The volumes `ensure_volumes` created, from a fake Docker's journal.
#[cfg(test)]
pub(super) fn created(calls: &[String]) -> Vec<&str> {
    calls.iter().filter_map(|call| call.strip_prefix("create_volume ")).collect()
}
