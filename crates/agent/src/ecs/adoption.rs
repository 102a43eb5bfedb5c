//! What the engine finds in Docker before its first poll: the containers labelled for this
//! container instance are adopted into the task table, a second container for one task's
//! container is removed, and the containers this agent made for an earlier container
//! instance (orphans) are stopped and removed.
//!
//! Guarantees:
//! - Nothing is polled until Docker has answered the listing (retried with backoff), so a
//!   restarted agent never starts a task twice: a task it knows finds its containers, and a
//!   task it does not know is adopted from the labels (never started, stopped only when stop
//!   verification confirms the control plane does not want it).
//! - Orphans are found by this agent's own `homeport.agent-id` label and a different
//!   `homeport.container-instance-arn`: another agent's containers, and this instance's, are
//!   never touched.

use super::engine::{Engine, Outcome};
use crate::awslogs;
use crate::backoff::{Backoff, jitter};
use crate::docker::DockerApi;
use crate::log;
use crate::reconcile;
use crate::task_spec::{LABEL_AGENT, LABEL_INSTANCE, LABEL_TASK_ARN, task_id};

impl<D: DockerApi> Engine<D> {
    /// Lists this instance's containers before the first poll, until Docker answers.
    pub(super) async fn adopt(&mut self) {
        let labels = self.labels();
        let mut backoff = Backoff::new();
        loop {
            match self.docker.containers(&labels).await {
                Ok(listed) => {
                    self.observation.generation += 1;
                    let before: Vec<String> = self.tasks.keys().cloned().collect();
                    let duplicates = reconcile::observe(&mut self.tasks, &listed, self.observation.generation);
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
    pub(super) async fn remove_orphans(&mut self) {
        if self.signers.agent_id.is_empty() {
            return;
        }
        let listed = match self.docker.containers(&[format!("{LABEL_AGENT}={}", self.signers.agent_id)]).await {
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

    pub(super) fn remove_duplicates(&mut self, duplicates: Vec<String>) {
        for id in duplicates {
            log::event(&format!("ecs: removing container {id}: a second container for one task's container"));
            let docker = self.docker.clone();
            self.ops.spawn(async move {
                let result = docker.remove(&id).await;
                Outcome::Removed { task: None, container: id, result }
            });
        }
    }
}
