//! `Poll`, the control plane's channel to the agent (`docs/ecs-agent-protocol.md`, section 2):
//! the agent's long-poll request and the answer's messages.
//!
//! A message is tagged by its `type` (`TaskMessage`, `TaskManifest`, `StopVerificationAck`,
//! `Heartbeat`). [`PollAnswer`] is generic over its messages so a reader can take each message
//! on its own (`PollAnswer<serde_json::Value>`, then [`PollMessage`] one by one): one message
//! it cannot read does not spoil the others.

use serde::{Deserialize, Serialize};

use crate::task::TaskPayload;

/// The longest a poll waits for news, in seconds.
pub const MAX_WAIT_SECONDS: u64 = 20;

/// A poll: what the agent has applied, and how long it will wait for news.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollRequest {
    #[serde(default)]
    pub cluster: String,
    #[serde(default)]
    pub container_instance: String,
    /// The highest sequence number the agent has applied (0 at first, or to hear every task
    /// again).
    #[serde(default)]
    pub sequence_number: i64,
    /// Ids of the messages it has applied since its last poll.
    #[serde(default)]
    pub acks: Vec<String>,
    /// Tasks it runs that the last manifest did not list (stop verification).
    #[serde(default)]
    pub stop_candidates: Vec<String>,
    /// At most [`MAX_WAIT_SECONDS`]; absent means the most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u64>,
}

/// A poll's answer: the sequence number to ask from next, and the messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollAnswer<M = PollMessage> {
    pub sequence_number: i64,
    #[serde(default = "Vec::new")]
    pub messages: Vec<M>,
}

/// One message of a poll's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PollMessage {
    /// A task changed (or is sent again): run it, or stop it.
    #[serde(rename = "TaskMessage")]
    Task(TaskMessage),
    /// Every task the instance should run, with its desired status.
    #[serde(rename = "TaskManifest")]
    Manifest(TaskManifest),
    /// Which of the agent's stop candidates are indeed to stop.
    StopVerificationAck(StopVerificationAck),
    /// Nothing new within the wait.
    Heartbeat(Heartbeat),
}

impl PollMessage {
    /// The id the agent acknowledges it by.
    pub fn id(&self) -> &str {
        match self {
            PollMessage::Task(TaskMessage { message_id, .. })
            | PollMessage::Manifest(TaskManifest { message_id, .. })
            | PollMessage::StopVerificationAck(StopVerificationAck { message_id, .. })
            | PollMessage::Heartbeat(Heartbeat { message_id }) => message_id,
        }
    }

    /// Its `type` on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            PollMessage::Task(_) => "TaskMessage",
            PollMessage::Manifest(_) => "TaskManifest",
            PollMessage::StopVerificationAck(_) => "StopVerificationAck",
            PollMessage::Heartbeat(_) => "Heartbeat",
        }
    }
}

/// What every message has, read on its own: its id and `type`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageHeader {
    #[serde(default)]
    pub message_id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskMessage {
    #[serde(default)]
    pub message_id: String,
    /// The task's sequence number (it changes whenever its desired state does).
    #[serde(default)]
    pub seq_num: i64,
    pub task: TaskPayload,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskManifest {
    #[serde(default)]
    pub message_id: String,
    #[serde(default)]
    pub seq_num: i64,
    #[serde(default)]
    pub tasks: Vec<ManifestEntry>,
}

/// A task of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestEntry {
    pub task_arn: String,
    /// `RUNNING` or `STOPPED`.
    #[serde(default = "running")]
    pub desired_status: String,
}

fn running() -> String {
    "RUNNING".to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopVerificationAck {
    #[serde(default)]
    pub message_id: String,
    /// The candidates to stop; the others are to run.
    #[serde(default)]
    pub stop_tasks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Heartbeat {
    #[serde(default)]
    pub message_id: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::pinning::pins;
    use crate::task::ContainerDefinition;

    const A: &str = "arn:aws:ecs:us-east-1:111122223333:task/edge/aaaa";

    #[test]
    fn a_poll_request_pins_its_member_names() {
        pins(
            r#"{"cluster": "edge", "containerInstance": "arn:ci", "sequenceNumber": 41,
                "acks": ["task-41"], "stopCandidates": ["arn:b"], "waitSeconds": 20}"#,
            &PollRequest {
                cluster: "edge".into(),
                container_instance: "arn:ci".into(),
                sequence_number: 41,
                acks: vec!["task-41".into()],
                stop_candidates: vec!["arn:b".into()],
                wait_seconds: Some(20),
            },
        );
        let least: PollRequest = serde_json::from_str(r#"{"containerInstance": "arn:ci"}"#).unwrap();
        assert_eq!(least, PollRequest { container_instance: "arn:ci".into(), ..PollRequest::default() });
    }

    fn task() -> TaskPayload {
        TaskPayload {
            task_arn: A.into(),
            family: "web".into(),
            revision: 1,
            desired_status: "RUNNING".into(),
            network_mode: Some("bridge".into()),
            task_role_arn: None,
            execution_role_arn: None,
            containers: vec![ContainerDefinition {
                name: "app".into(),
                image: "busybox".into(),
                ..ContainerDefinition::default()
            }],
            settings: Box::default(),
        }
    }

    #[test]
    fn each_message_pins_its_type_and_member_names() {
        pins(
            &format!(
                r#"{{"messageId": "task-43", "type": "TaskMessage", "seqNum": 43,
                    "task": {{"taskArn": "{A}", "family": "web", "revision": 1, "desiredStatus": "RUNNING",
                             "networkMode": "bridge", "containers": [{{"name": "app", "image": "busybox"}}]}}}}"#
            ),
            &PollMessage::Task(TaskMessage { message_id: "task-43".into(), seq_num: 43, task: task() }),
        );
        pins(
            &format!(
                r#"{{"messageId": "manifest-44", "type": "TaskManifest", "seqNum": 44,
                    "tasks": [{{"taskArn": "{A}", "desiredStatus": "STOPPED"}}]}}"#
            ),
            &PollMessage::Manifest(TaskManifest {
                message_id: "manifest-44".into(),
                seq_num: 44,
                tasks: vec![ManifestEntry { task_arn: A.into(), desired_status: "STOPPED".into() }],
            }),
        );
        pins(
            &format!(r#"{{"messageId": "stop-verification-41", "type": "StopVerificationAck", "stopTasks": ["{A}"]}}"#),
            &PollMessage::StopVerificationAck(StopVerificationAck {
                message_id: "stop-verification-41".into(),
                stop_tasks: vec![A.into()],
            }),
        );
        pins(
            r#"{"messageId": "heartbeat-44", "type": "Heartbeat"}"#,
            &PollMessage::Heartbeat(Heartbeat { message_id: "heartbeat-44".into() }),
        );
    }

    #[test]
    fn an_answer_pins_its_member_names_and_reads_message_by_message() {
        let answer = PollAnswer {
            sequence_number: 44,
            messages: vec![PollMessage::Heartbeat(Heartbeat { message_id: "heartbeat-44".into() })],
        };
        pins(r#"{"sequenceNumber": 44, "messages": [{"messageId": "heartbeat-44", "type": "Heartbeat"}]}"#, &answer);
        let loose: PollAnswer<serde_json::Value> = serde_json::from_str(
            r#"{"sequenceNumber": 44, "messages": [{"messageId": "x", "type": "Telemetry"}, {"type": "Heartbeat"}]}"#,
        )
        .unwrap();
        let header: MessageHeader = serde_json::from_value(loose.messages[0].clone()).unwrap();
        assert_eq!((header.message_id.as_str(), header.kind.as_str()), ("x", "Telemetry"));
        assert!(serde_json::from_value::<PollMessage>(loose.messages[0].clone()).is_err());
        let heartbeat: PollMessage = serde_json::from_value(loose.messages[1].clone()).unwrap();
        assert_eq!((heartbeat.id(), heartbeat.kind()), ("", "Heartbeat"));
        assert!(serde_json::from_str::<PollAnswer>(r#"{"messages": []}"#).is_err(), "the number is required");
    }
}
