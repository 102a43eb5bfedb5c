//! The ECS part of `agent run`, for an instance registered with a cluster: it registers the
//! container instance, keeps the `Poll` channel open, and converges Docker to the tasks the
//! control plane wants, reporting each task's progress.
//!
//! One engine owns all state (the task table, the channel, the report queue); everything
//! that waits (the poll, a report, each Docker operation, each listing of Docker's
//! containers) runs as its own task and hands its outcome back, so a 30-second container
//! stop never holds up a poll, and a poll never holds up a stop.
//!
//! This module registers the container instance and restarts the engine when the control
//! plane asks for a new registration; the engine is split along its seams:
//! - `engine`: the state it owns and its loop (plan, dispatch, settle, observe Docker);
//! - `adoption`: what is found in Docker before the first poll (adopted, duplicates, orphans);
//! - `images`: the images of a task, present before any of its containers is created;
//! - `volumes`: the task's Docker volumes, created after its images, its own removed with it;
//! - `containers`: creating, starting, stopping, inspecting and removing one container;
//! - `roles_and_logs`: what lives beside a task's containers (role credentials, log shipping);
//! - `secrets`: a task's secrets and private registries' credentials, read with its execution role;
//! - `polling` and `reporting`: the `Poll` channel and the queue of state reports.
//!
//! Docker is reached through [`DockerApi`], so the engine's ordering guarantees are tested
//! against an in-memory Docker (`tests`).
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

mod adoption;
mod containers;
mod engine;
mod images;
mod polling;
mod reporting;
mod roles_and_logs;
mod secrets;
#[cfg(test)]
mod tests;
mod volumes;

use std::time::Duration;

use serde_json::Value;

use crate::api::{self, CallError};
use crate::backoff::{Backoff, jitter};
use crate::control_plane::{ControlPlane, Credentials, current_credentials};
use crate::credentials_endpoint::CredentialsEndpoint;
use crate::docker::{Docker, DockerApi, DockerError};
use crate::ecs_registration::{Attribute, EcsState, register_request, registered_arn};
use crate::log;
use crate::metadata_endpoint::{TagReader, TaskMetadata};
use crate::state::StateDir;
use crate::task_roles::TaskRoles;
use engine::{Engine, Signers};

/// How long a stopped task's containers are kept (ECS's `ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION`).
pub const DEFAULT_CLEANUP_AFTER: Duration = Duration::from_secs(3 * 60 * 60);
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
    let metadata = TaskMetadata::reading_tags(TagReader {
        control_plane: control_plane.clone(),
        credentials: credentials.clone(),
    });
    let credentials_url = match CredentialsEndpoint::bind(options.credentials_port).await {
        Ok(endpoint) => {
            let url = endpoint.base_url.clone();
            tokio::spawn(endpoint.serve(roles.clone(), metadata.clone(), docker.clone()));
            Some(url)
        }
        Err(error) => {
            log::event(&format!(
                "ecs: cannot serve task credentials and metadata on port {} ({error}); tasks get neither",
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
                        task_roles: roles.clone(),
                        credentials_url: credentials_url.clone(),
                        agent_id: agent_id.clone(),
                        metadata: metadata.clone(),
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
async fn register<D: DockerApi>(
    docker: &D,
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
