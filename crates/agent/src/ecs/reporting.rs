//! The queue of state reports (`SubmitTaskStateChange`, `SubmitContainerStateChange`): what
//! the reconciler decided to report, sent one at a time, in order.
//!
//! Guarantees:
//! - Reports reach the control plane in the order they were planned; the head is retried
//!   (with backoff) until it is acknowledged, and only then is the next sent.
//! - Only a refusal that retrying cannot cure (`InvalidParameterException`,
//!   `ClientException`) drops a report, with a line in the log; the reconciler then treats it
//!   as abandoned rather than acknowledged.

use std::collections::VecDeque;
use std::time::Duration;

use super::CALL_LIMIT;
use super::engine::{Engine, Outcome};
use crate::api::{self, CallError};
use crate::backoff::{Backoff, jitter};
use crate::control_plane::current_credentials;
use crate::docker::DockerApi;
use crate::log;
use crate::reconcile::{self, Report};
use crate::task_spec::task_id;

/// The reports waiting to be acknowledged (the head is the one under way or next), and how
/// long the next attempt waits after failures.
pub(super) struct Reporting {
    pub(super) queue: VecDeque<Report>,
    pub(super) active: bool,
    backoff: Backoff,
    delay: Duration,
}

impl Reporting {
    pub(super) fn new() -> Reporting {
        Reporting { queue: VecDeque::new(), active: false, backoff: Backoff::new(), delay: Duration::ZERO }
    }
}

impl<D: DockerApi> Engine<D> {
    pub(super) fn start_report(&mut self) {
        let Some(report) = self.reporting.queue.front().cloned() else { return };
        self.reporting.active = true;
        let delay = std::mem::take(&mut self.reporting.delay);
        let mut credentials = self.signers.instance.clone();
        let control_plane = self.control_plane.clone();
        let cluster = self.cluster.clone();
        self.ops.spawn(async move {
            tokio::time::sleep(delay).await;
            let held = current_credentials(&mut credentials).await;
            let (operation, body) = report.request(&cluster);
            let result =
                api::ecs_call(&control_plane.endpoint, &control_plane.region, &held, operation, &body, CALL_LIMIT)
                    .await
                    .map(drop);
            Outcome::Reported { result }
        });
    }

    pub(super) fn settle_report(&mut self, result: Result<(), CallError>) {
        self.reporting.active = false;
        let Some(report) = self.reporting.queue.front().cloned() else { return };
        let describe = |report: &Report| match report {
            Report::Task { status, .. } => format!("task {} {}", task_id(report.task_arn()), status.as_str()),
            Report::Container { container, .. } => {
                format!(
                    "container {} of task {} {}",
                    container.container_name,
                    task_id(report.task_arn()),
                    container.status.as_str()
                )
            }
        };
        match result {
            Ok(()) => {
                self.reporting.queue.pop_front();
                self.reporting.backoff.reset();
                if let Some(record) = self.tasks.get_mut(report.task_arn()) {
                    reconcile::apply_acknowledged(record, &report);
                }
                if let Report::Task { status, reason, .. } = &report {
                    let why = reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
                    log::event(&format!("ecs: reported task {} {}{why}", task_id(report.task_arn()), status.as_str()));
                }
            }
            Err(CallError::Service { code, message, .. })
                if matches!(code.as_str(), "InvalidParameterException" | "ClientException") =>
            {
                self.reporting.queue.pop_front();
                log::event(&format!(
                    "ecs: the control plane refused the report of {}: {code}: {message}; dropped",
                    describe(&report)
                ));
                if let Some(record) = self.tasks.get_mut(report.task_arn()) {
                    reconcile::apply_abandoned(record, &report);
                }
            }
            Err(error) => {
                self.reporting.delay = self.reporting.backoff.next_delay(jitter());
                log::event(&format!(
                    "ecs: reporting {} failed: {error}; retrying in {}s",
                    describe(&report),
                    self.reporting.delay.as_secs().max(1)
                ));
            }
        }
    }
}
