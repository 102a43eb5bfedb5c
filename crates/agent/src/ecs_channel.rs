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

use serde_json::{Value, json};

use crate::reconcile::{Status, TaskRecord, stop_candidates};
use crate::task_spec::TaskSpec;

/// How long a poll asks the control plane to wait (its maximum).
pub const WAIT_SECONDS: u64 = 20;

/// One message of a poll's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Task {
        id: String,
        seq: i64,
        task: Box<TaskSpec>,
    },
    Manifest {
        id: String,
        seq: i64,
        tasks: Vec<(String, String)>,
    },
    StopVerificationAck {
        id: String,
        stop_tasks: Vec<String>,
    },
    Heartbeat {
        id: String,
    },
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
            Message::Task { id, .. }
            | Message::Manifest { id, .. }
            | Message::StopVerificationAck { id, .. }
            | Message::Heartbeat { id }
            | Message::Unreadable { id, .. } => id,
        }
    }
}

/// A poll's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollResponse {
    pub sequence_number: i64,
    pub messages: Vec<Message>,
}

/// Reads a poll's answer; one unreadable message does not spoil the others.
pub fn parse_poll_response(value: &Value) -> Result<PollResponse, String> {
    let sequence_number =
        value.get("sequenceNumber").and_then(Value::as_i64).ok_or("a poll answer without sequenceNumber")?;
    let mut messages = Vec::new();
    for message in value.get("messages").and_then(Value::as_array).into_iter().flatten() {
        let id = message.get("messageId").and_then(Value::as_str).unwrap_or_default().to_owned();
        let seq = message.get("seqNum").and_then(Value::as_i64).unwrap_or(0);
        let strings = |member: &str| -> Vec<String> {
            message
                .get(member)
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let parsed = match message.get("type").and_then(Value::as_str).unwrap_or_default() {
            "TaskMessage" => match message.get("task").map(|task| serde_json::from_value::<TaskSpec>(task.clone())) {
                Some(Ok(task)) => Message::Task { id, seq, task: Box::new(task) },
                Some(Err(error)) => Message::Unreadable { id, why: format!("a task that cannot be read: {error}") },
                None => Message::Unreadable { id, why: "a TaskMessage without a task".to_owned() },
            },
            "TaskManifest" => {
                let tasks = message
                    .get("tasks")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|entry| {
                        let arn = entry.get("taskArn").and_then(Value::as_str)?;
                        let desired = entry.get("desiredStatus").and_then(Value::as_str).unwrap_or("RUNNING");
                        Some((arn.to_owned(), desired.to_owned()))
                    })
                    .collect();
                Message::Manifest { id, seq, tasks }
            }
            "StopVerificationAck" => Message::StopVerificationAck { id, stop_tasks: strings("stopTasks") },
            "Heartbeat" => Message::Heartbeat { id },
            other => Message::Unreadable { id, why: format!("an unknown message type `{other}`") },
        };
        messages.push(parsed);
    }
    Ok(PollResponse { sequence_number, messages })
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

    /// The next poll's body; it carries (and so forgets) the acks and candidates.
    pub fn next_request(&mut self, cluster: &str, container_instance: &str) -> Value {
        let sequence_number = if self.resync { 0 } else { self.sequence_number };
        self.resync = false;
        json!({
            "cluster": cluster,
            "containerInstance": container_instance,
            "sequenceNumber": sequence_number,
            "acks": std::mem::take(&mut self.acks),
            "stopCandidates": std::mem::take(&mut self.candidates),
            "waitSeconds": WAIT_SECONDS,
        })
    }

    /// A poll failed: what it carried goes again with the next one.
    pub fn failed(&mut self, request: &Value) {
        let strings = |member: &str| -> Vec<String> {
            request
                .get(member)
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let mut acks = strings("acks");
        acks.append(&mut self.acks);
        self.acks = acks;
        let mut candidates = strings("stopCandidates");
        candidates.retain(|c| !self.candidates.contains(c));
        self.candidates.append(&mut candidates);
        if request.get("sequenceNumber").and_then(Value::as_i64) == Some(0) && self.sequence_number != 0 {
            self.resync = true;
        }
    }

    /// Applies a poll's answer to `tasks`.
    pub fn apply(&mut self, tasks: &mut BTreeMap<String, TaskRecord>, response: PollResponse) -> Applied {
        let mut applied = Applied::default();
        for message in response.messages {
            self.acks.push(message.id().to_owned());
            match message {
                Message::Task { task, .. } => {
                    let stop = task.desired_status == "STOPPED";
                    match tasks.get_mut(&task.task_arn) {
                        Some(record) => {
                            if stop && record.desired != Status::Stopped {
                                applied.stops.push(task.task_arn.clone());
                            }
                            record.apply_desired(*task);
                        }
                        None => {
                            if !stop {
                                applied.new_tasks.push(task.task_arn.clone());
                            }
                            tasks.insert(task.task_arn.clone(), TaskRecord::from_spec(*task));
                        }
                    }
                }
                Message::Manifest { tasks: listed, .. } => {
                    let arns: Vec<String> = listed.iter().map(|(arn, _)| arn.clone()).collect();
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
                Message::StopVerificationAck { stop_tasks, .. } => {
                    for arn in stop_tasks {
                        if let Some(record) = tasks.get_mut(&arn) {
                            if record.desired != Status::Stopped {
                                record.desired = Status::Stopped;
                                applied.verified_stops.push(arn);
                            }
                        }
                    }
                }
                Message::Heartbeat { .. } => {}
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

    use super::*;

    const A: &str = "arn:aws:ecs:us-east-1:111122223333:task/edge/aaaa";
    const B: &str = "arn:aws:ecs:us-east-1:111122223333:task/edge/bbbb";

    fn task_message(arn: &str, seq: i64, desired: &str) -> Value {
        json!({"messageId": format!("task-{seq}"), "type": "TaskMessage", "seqNum": seq,
               "task": {"taskArn": arn, "family": "web", "revision": 1, "desiredStatus": desired,
                        "networkMode": "bridge", "containers": [{"name": "app", "image": "busybox"}]}})
    }

    fn poll_answer(sequence_number: i64, messages: Vec<Value>) -> PollResponse {
        parse_poll_response(&json!({"sequenceNumber": sequence_number, "messages": messages})).unwrap()
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
        let Message::Task { seq, task, .. } = &answer.messages[0] else { panic!() };
        assert_eq!((*seq, task.task_arn.as_str(), task.containers[0].image.as_str()), (43, A, "busybox"));
        assert_eq!(
            answer.messages[1],
            Message::Manifest { id: "manifest-44".into(), seq: 44, tasks: vec![(A.into(), "RUNNING".into())] }
        );
        assert_eq!(
            answer.messages[2],
            Message::StopVerificationAck { id: "stop-verification-41".into(), stop_tasks: vec![B.into()] }
        );
        assert_eq!(answer.messages[3], Message::Heartbeat { id: "heartbeat-44".into() });
        assert!(matches!(&answer.messages[4], Message::Unreadable { why, .. } if why.contains("cannot be read")));
        assert!(matches!(&answer.messages[5], Message::Unreadable { why, .. } if why.contains("Telemetry")));
        assert!(parse_poll_response(&json!({"messages": []})).is_err());
    }

    #[test]
    fn applying_records_tasks_acks_and_moves_the_sequence_number() {
        let mut channel = Channel::new(0);
        let mut tasks = BTreeMap::new();
        let first = channel.next_request("edge", "ci");
        assert_eq!(
            first,
            json!({"cluster": "edge", "containerInstance": "ci", "sequenceNumber": 0, "acks": [],
                   "stopCandidates": [], "waitSeconds": 20})
        );
        let applied = channel.apply(&mut tasks, poll_answer(43, vec![task_message(A, 43, "RUNNING")]));
        assert_eq!(applied.new_tasks, [A]);
        assert_eq!(tasks[A].desired, Status::Running);
        let second = channel.next_request("edge", "ci");
        assert_eq!((second["sequenceNumber"].as_i64(), second["acks"].clone()), (Some(43), json!(["task-43"])));
        assert_eq!(channel.next_request("edge", "ci")["acks"], json!([]), "acks go once");
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
        assert_eq!((again["sequenceNumber"].as_i64(), again["acks"].clone()), (Some(8), json!(["task-8"])));
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
        assert_eq!(request["stopCandidates"], json!([B]));
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
        assert_eq!(request["sequenceNumber"], 0);
        channel.apply(&mut tasks, poll_answer(9, vec![task_message(A, 3, "RUNNING")]));
        assert!(tasks.contains_key(A));
        assert_eq!(channel.next_request("edge", "ci")["sequenceNumber"], 9);
    }
}
