//! The `Poll` channel (`docs/ecs-agent-protocol.md`): one long poll at a time, carrying the
//! sequence number and the acknowledgements of what was applied; its answer is applied to the
//! task table (`crate::ecs_channel`).
//!
//! Guarantees:
//! - Exactly one poll is under way while the engine runs; a failed one is retried forever with
//!   capped, jittered backoff (a control-plane restart costs at most a minute after it ends),
//!   and what it would have acknowledged is acknowledged by the next.
//! - A poll refused with "register again" ends the engine, which registers again.
//! - Polls are signed with the instance role's current, unexpired credentials.

use std::time::Duration;

use agent_protocol::poll::PollRequest;
use serde_json::Value;

use super::CALL_LIMIT;
use super::engine::{Engine, Outcome};
use crate::api::{self, CallError};
use crate::backoff::{Backoff, jitter};
use crate::control_plane::current_credentials;
use crate::docker::DockerApi;
use crate::ecs_channel::{self, parse_poll_response};
use crate::log;
use crate::task_spec::task_id;

/// Whether a poll is under way, and how long the next waits after failures.
pub(super) struct Polling {
    pub(super) active: bool,
    backoff: Backoff,
    delay: Duration,
}

impl Polling {
    pub(super) fn new() -> Polling {
        Polling { active: false, backoff: Backoff::new(), delay: Duration::ZERO }
    }
}

impl<D: DockerApi> Engine<D> {
    pub(super) fn start_poll(&mut self) {
        self.polling.active = true;
        let request = self.channel.next_request(&self.cluster, &self.instance_arn);
        let delay = std::mem::take(&mut self.polling.delay);
        let mut credentials = self.signers.instance.clone();
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

    pub(super) fn settle_poll(&mut self, request: &PollRequest, result: Result<Value, CallError>) {
        self.polling.active = false;
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
                self.polling.delay = self.polling.backoff.next_delay(jitter());
                let advice = match error.code() {
                    Some("AccessDeniedException") => {
                        " (the instance role needs ecs:Poll, as AmazonEC2ContainerServiceforEC2Role grants)"
                    }
                    None => " (the control plane is unreachable or not answering as expected)",
                    Some(_) => "",
                };
                log::event(&format!(
                    "ecs: poll failed: {error}{advice}; retrying in {}s",
                    self.polling.delay.as_secs().max(1)
                ));
                return;
            }
        };
        if self.polling.backoff.failing() {
            log::event("ecs: polling again");
        }
        self.polling.backoff.reset();
        let response = match parse_poll_response(answer) {
            Ok(response) => response,
            Err(why) => {
                self.channel.failed(request);
                self.polling.delay = self.polling.backoff.next_delay(jitter());
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
}
