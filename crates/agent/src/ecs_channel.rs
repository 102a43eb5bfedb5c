//! The control plane's channel to the agent: the `Poll` long poll of
//! `docs/ecs-agent-protocol.md`, its messages typed, and how a poll's answer changes the
//! agent's tasks.
//!
//! Guarantees:
//! - `sequenceNumber` only moves forward once the messages up to it are applied (recorded in
//!   the task table, which the engine persists before the next poll carries the number), so
//!   a restart of either side re-delivers whatever was not applied.
//! - Every applied message's id is acknowledged on the next poll.
//! - A `TaskManifest` is compared with the tasks the agent means to run: those it lacks go
//!   back as `stopCandidates`, and only the control plane's `StopVerificationAck` stops them.
//! - A manifest that twice lists a task the agent has never been sent (its table was lost, or
//!   it knows the task only from its containers' labels) makes the next poll ask from
//!   sequence number 0, which re-sends every task.

use std::collections::BTreeMap;

use agent_protocol::poll::{
    MAX_WAIT_SECONDS, MessageHeader, PollAnswer, PollMessage, PollRequest, StopVerificationAck, TaskManifest,
    TaskMessage,
};
use serde_json::Value;

use crate::reconcile::{Status, TaskRecord, stop_candidates};

/// How long a poll asks the control plane to wait (its maximum).
pub const WAIT_SECONDS: u64 = MAX_WAIT_SECONDS;

/// One message of a poll's answer, as the agent reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Read(PollMessage),
    /// A message this agent does not understand (or a task it cannot read): acknowledged,
    /// logged, not acted on.
    Unreadable {
        id: String,
        why: String,
    },
}

impl Message {
    pub fn id(&self) -> &str {
        match self {
            Message::Read(message) => message.id(),
            Message::Unreadable { id, .. } => id,
        }
    }
}

/// A poll's answer, each message read on its own.
pub type PollResponse = PollAnswer<Message>;

/// Reads a poll's answer; one unreadable message does not spoil the others.
pub fn parse_poll_response(value: Value) -> Result<PollResponse, String> {
    let answer: PollAnswer<Value> =
        serde_json::from_value(value).map_err(|error| format!("a poll answer that cannot be read: {error}"))?;
    Ok(PollAnswer {
        sequence_number: answer.sequence_number,
        messages: answer.messages.into_iter().map(read).collect(),
    })
}

fn read(message: Value) -> Message {
    let header: MessageHeader = serde_json::from_value(message.clone()).unwrap_or_default();
    match serde_json::from_value::<PollMessage>(message) {
        Ok(message) => Message::Read(message),
        Err(error) => {
            let why = match header.kind.as_str() {
                "TaskMessage" => format!("a task that cannot be read: {error}"),
                kind @ ("TaskManifest" | "StopVerificationAck" | "Heartbeat") => {
                    format!("a {kind} that cannot be read: {error}")
                }
                other => format!("an unknown message type `{other}`"),
            };
            Message::Unreadable { id: header.message_id, why }
        }
    }
}

/// The channel's side of the agent: what the next poll says.
#[derive(Debug, Clone, Default)]
pub struct Channel {
    /// The highest sequence number applied.
    pub sequence_number: i64,
    /// Ids of messages applied since the last poll.
    acks: Vec<String>,
    /// Tasks the last manifest lacked, to verify.
    candidates: Vec<String>,
    /// Tasks the last manifest listed that the agent was never sent.
    unknown: Vec<String>,
    /// Ask from 0 next time.
    resync: bool,
}

/// What applying a poll's answer did, for the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub new_tasks: Vec<String>,
    pub stops: Vec<String>,
    pub verified_stops: Vec<String>,
    pub candidates: Vec<String>,
    pub unreadable: Vec<String>,
    pub resync: bool,
}

impl Channel {
    pub fn new(sequence_number: i64) -> Channel {
        Channel { sequence_number, ..Channel::default() }
    }

    /// The next poll; it carries (and so forgets) the acks and candidates.
    pub fn next_request(&mut self, cluster: &str, container_instance: &str) -> PollRequest {
        let sequence_number = if self.resync { 0 } else { self.sequence_number };
        self.resync = false;
        PollRequest {
            cluster: cluster.to_owned(),
            container_instance: container_instance.to_owned(),
            sequence_number,
            acks: std::mem::take(&mut self.acks),
            stop_candidates: std::mem::take(&mut self.candidates),
            wait_seconds: Some(WAIT_SECONDS),
        }
    }

    /// A poll failed: what it carried goes again with the next one.
    pub fn failed(&mut self, request: &PollRequest) {
        let mut acks = request.acks.clone();
        acks.append(&mut self.acks);
        self.acks = acks;
        let mut candidates = request.stop_candidates.clone();
        candidates.retain(|c| !self.candidates.contains(c));
        self.candidates.append(&mut candidates);
        if request.sequence_number == 0 && self.sequence_number != 0 {
            self.resync = true;
        }
    }

    /// Applies a poll's answer to `tasks`.
    pub fn apply(&mut self, tasks: &mut BTreeMap<String, TaskRecord>, response: PollResponse) -> Applied {
        let mut applied = Applied::default();
        for message in response.messages {
            self.acks.push(message.id().to_owned());
            match message {
                Message::Read(PollMessage::Task(TaskMessage { task, .. })) => {
                    let stop = task.desired_status == "STOPPED";
                    match tasks.get_mut(&task.task_arn) {
                        Some(record) => {
                            if stop && record.desired != Status::Stopped {
                                applied.stops.push(task.task_arn.clone());
                            }
                            record.apply_desired(task);
                        }
                        None => {
                            if !stop {
                                applied.new_tasks.push(task.task_arn.clone());
                            }
                            tasks.insert(task.task_arn.clone(), TaskRecord::from_spec(task));
                        }
                    }
                }
                Message::Read(PollMessage::Manifest(TaskManifest { tasks: listed, .. })) => {
                    let arns: Vec<String> = listed.into_iter().map(|entry| entry.task_arn).collect();
                    self.candidates = stop_candidates(tasks, &arns);
                    applied.candidates = self.candidates.clone();
                    // Never sent: unknown, or known only from its containers' labels.
                    let unknown: Vec<String> =
                        arns.into_iter().filter(|arn| tasks.get(arn).is_none_or(|t| t.spec.is_none())).collect();
                    if unknown.iter().any(|arn| self.unknown.contains(arn)) {
                        self.resync = true;
                        applied.resync = true;
                    }
                    self.unknown = unknown;
                }
                Message::Read(PollMessage::StopVerificationAck(StopVerificationAck { stop_tasks, .. })) => {
                    for arn in stop_tasks {
                        if let Some(record) = tasks.get_mut(&arn) {
                            if record.desired != Status::Stopped {
                                record.desired = Status::Stopped;
                                applied.verified_stops.push(arn);
                            }
                        }
                    }
                }
                Message::Read(PollMessage::Heartbeat(_)) => {}
                Message::Unreadable { why, .. } => applied.unreadable.push(why),
            }
        }
        // The answer's number is at least the one asked from (or the highest task's, after a
        // resync from 0).
        self.sequence_number = response.sequence_number.max(0);
        applied
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail loudly")]

    use agent_protocol::poll::{Heartbeat, ManifestEntry};
    use serde_json::json;

    use super::*;

    const A: &str = "arn:aws:ecs:us-east-1:111122223333:task/edge/aaaa";
    const B: &str = "arn:aws:ecs:us-east-1:111122223333:task/edge/bbbb";

    fn task_message(arn: &str, seq: i64, desired: &str) -> Value {
        json!({"messageId": format!("task-{seq}"), "type": "TaskMessage", "seqNum": seq,
               "task": {"taskArn": arn, "family": "web", "revision": 1, "desiredStatus": desired,
                        "networkMode": "bridge", "containers": [{"name": "app", "image": "busybox"}]}})
    }

    fn poll_answer(sequence_number: i64, messages: Vec<Value>) -> PollResponse {
        parse_poll_response(json!({"sequenceNumber": sequence_number, "messages": messages})).unwrap()
    }

    #[test]
    fn answers_parse_into_typed_messages() {
        let answer = poll_answer(
            44,
            vec![
                task_message(A, 43, "RUNNING"),
                json!({"messageId": "manifest-44", "type": "TaskManifest", "seqNum": 44,
                       "tasks": [{"taskArn": A, "desiredStatus": "RUNNING"}]}),
                json!({"messageId": "stop-verification-41", "type": "StopVerificationAck", "stopTasks": [B]}),
                json!({"messageId": "heartbeat-44", "type": "Heartbeat"}),
                json!({"messageId": "x", "type": "TaskMessage", "task": {"family": "no arn"}}),
                json!({"messageId": "y", "type": "Telemetry"}),
            ],
        );
        assert_eq!(answer.sequence_number, 44);
        let Message::Read(PollMessage::Task(TaskMessage { seq_num, task, .. })) = &answer.messages[0] else { panic!() };
        assert_eq!((*seq_num, task.task_arn.as_str(), task.containers[0].image.as_str()), (43, A, "busybox"));
        assert_eq!(
            answer.messages[1],
            Message::Read(PollMessage::Manifest(TaskManifest {
                message_id: "manifest-44".into(),
                seq_num: 44,
                tasks: vec![ManifestEntry { task_arn: A.into(), desired_status: "RUNNING".into() }]
            }))
        );
        assert_eq!(
            answer.messages[2],
            Message::Read(PollMessage::StopVerificationAck(StopVerificationAck {
                message_id: "stop-verification-41".into(),
                stop_tasks: vec![B.into()]
            }))
        );
        assert_eq!(
            answer.messages[3],
            Message::Read(PollMessage::Heartbeat(Heartbeat { message_id: "heartbeat-44".into() }))
        );
        assert!(
            matches!(&answer.messages[4], Message::Unreadable { id, why } if id == "x" && why.contains("cannot be read"))
        );
        assert!(matches!(&answer.messages[5], Message::Unreadable { why, .. } if why.contains("Telemetry")));
        assert!(parse_poll_response(json!({"messages": []})).is_err());
    }

    #[test]
    fn applying_records_tasks_acks_and_moves_the_sequence_number() {
        let mut channel = Channel::new(0);
        let mut tasks = BTreeMap::new();
        let first = channel.next_request("edge", "ci");
        assert_eq!(
            serde_json::to_value(&first).unwrap(),
            json!({"cluster": "edge", "containerInstance": "ci", "sequenceNumber": 0, "acks": [],
                   "stopCandidates": [], "waitSeconds": 20})
        );
        let applied = channel.apply(&mut tasks, poll_answer(43, vec![task_message(A, 43, "RUNNING")]));
        assert_eq!(applied.new_tasks, [A]);
        assert_eq!(tasks[A].desired, Status::Running);
        let second = channel.next_request("edge", "ci");
        assert_eq!((second.sequence_number, second.acks), (43, vec!["task-43".to_owned()]));
        assert!(channel.next_request("edge", "ci").acks.is_empty(), "acks go once");
        // The same message again (a lost answer) changes nothing; a stop is taken.
        channel.apply(&mut tasks, poll_answer(43, vec![task_message(A, 43, "RUNNING")]));
        let applied = channel.apply(&mut tasks, poll_answer(45, vec![task_message(A, 45, "STOPPED")]));
        assert_eq!(applied.stops, [A]);
        assert_eq!(tasks[A].desired, Status::Stopped);
        assert_eq!(channel.sequence_number, 45);
        // A heartbeat-only answer keeps the number.
        channel.apply(&mut tasks, poll_answer(45, vec![json!({"messageId": "heartbeat-45", "type": "Heartbeat"})]));
        assert_eq!(channel.sequence_number, 45);
    }

    #[test]
    fn a_failed_poll_sends_its_acks_and_candidates_again() {
        let mut channel = Channel::new(7);
        let mut tasks = BTreeMap::new();
        channel.apply(&mut tasks, poll_answer(8, vec![task_message(A, 8, "RUNNING")]));
        let request = channel.next_request("edge", "ci");
        channel.failed(&request);
        let again = channel.next_request("edge", "ci");
        assert_eq!((again.sequence_number, again.acks), (8, vec!["task-8".to_owned()]));
    }

    #[test]
    fn the_manifest_makes_stop_candidates_and_only_verification_stops_them() {
        let mut channel = Channel::new(0);
        let mut tasks = BTreeMap::new();
        channel.apply(&mut tasks, poll_answer(2, vec![task_message(A, 1, "RUNNING"), task_message(B, 2, "RUNNING")]));
        let manifest = json!({"messageId": "manifest-2", "type": "TaskManifest", "seqNum": 2,
                              "tasks": [{"taskArn": A, "desiredStatus": "RUNNING"}]});
        let applied = channel.apply(&mut tasks, poll_answer(2, vec![manifest]));
        assert_eq!(applied.candidates, [B]);
        assert_eq!(tasks[B].desired, Status::Running, "a candidate runs until verified");
        let request = channel.next_request("edge", "ci");
        assert_eq!(request.stop_candidates, [B]);
        let ack = json!({"messageId": "stop-verification-2", "type": "StopVerificationAck", "stopTasks": [B]});
        let applied = channel.apply(&mut tasks, poll_answer(2, vec![ack]));
        assert_eq!(applied.verified_stops, [B]);
        assert_eq!((tasks[A].desired, tasks[B].desired), (Status::Running, Status::Stopped));
    }

    #[test]
    fn a_task_listed_twice_but_never_sent_asks_for_everything_again() {
        let mut channel = Channel::new(9);
        let mut tasks = BTreeMap::new();
        let manifest = || {
            json!({"messageId": "manifest-9", "type": "TaskManifest", "seqNum": 9,
                   "tasks": [{"taskArn": A, "desiredStatus": "RUNNING"}]})
        };
        assert!(!channel.apply(&mut tasks, poll_answer(9, vec![manifest()])).resync, "once may be a race");
        assert!(channel.apply(&mut tasks, poll_answer(9, vec![manifest()])).resync);
        let mut adopted_only = BTreeMap::from([(A.to_owned(), TaskRecord::adopted(A))]);
        let mut other = Channel::new(9);
        other.apply(&mut adopted_only, poll_answer(9, vec![manifest()]));
        assert!(
            other.apply(&mut adopted_only, poll_answer(9, vec![manifest()])).resync,
            "a task adopted from labels needs its spec"
        );
        let request = channel.next_request("edge", "ci");
        assert_eq!(request.sequence_number, 0);
        channel.apply(&mut tasks, poll_answer(9, vec![task_message(A, 3, "RUNNING")]));
        assert!(tasks.contains_key(A));
        assert_eq!(channel.next_request("edge", "ci").sequence_number, 9);
    }
}
