//! `SubmitTaskStateChange` and `SubmitContainerStateChange` as the agent sends them
//! (`docs/ecs-agent-protocol.md`, section 3). They are public ECS operations: the member
//! names are ECS's, and Homeport's agent adds only a container's `healthStatus`.
//!
//! Statuses travel as words (`PENDING`, `RUNNING`, `STOPPED`), so the control plane names a
//! word it refuses; times are epoch seconds (an AWS SDK may send fractions, so they are
//! [`serde_json::Number`]s).

use serde::{Deserialize, Serialize};
use serde_json::Number;

/// A task's transition (`SubmitTaskStateChange`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStateChange {
    #[serde(default)]
    pub cluster: String,
    /// The task's ARN.
    #[serde(default)]
    pub task: String,
    #[serde(default)]
    pub status: String,
    /// Why it stopped, in ECS's words (`Essential container in task exited`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub containers: Vec<ContainerReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_started_at: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_stopped_at: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_stopped_at: Option<Number>,
}

/// One container's transition (`SubmitContainerStateChange`): its report, with the task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateChange {
    #[serde(default)]
    pub cluster: String,
    /// The task's ARN.
    #[serde(default)]
    pub task: String,
    #[serde(flatten)]
    pub container: ContainerReport,
}

/// A container's state, in a task's report or on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerReport {
    #[serde(default)]
    pub container_name: String,
    /// The Docker container id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_bindings: Option<Vec<NetworkBinding>>,
    /// `HEALTHY`, `UNHEALTHY` or `UNKNOWN`, for a container with a health check (Homeport's
    /// addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_status: Option<String>,
}

/// A host port bound for a container port. The agent writes every member; a member another
/// client leaves out reads as empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkBinding {
    #[serde(rename = "bindIP", default)]
    pub bind_ip: String,
    #[serde(default)]
    pub container_port: u16,
    #[serde(default)]
    pub host_port: u16,
    #[serde(default)]
    pub protocol: String,
}

/// The answer to either report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgment {
    pub acknowledgment: String,
}

impl Acknowledgment {
    /// What the control plane answers a report it recorded.
    pub fn ack() -> Acknowledgment {
        Acknowledgment { acknowledgment: "ACK".to_owned() }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::pinning::pins;

    const A: &str = "arn:aws:ecs:us-east-1:111122223333:task/edge/aaaa";

    fn web() -> ContainerReport {
        ContainerReport {
            container_name: "web".into(),
            runtime_id: Some("c0ffee".into()),
            status: Some("STOPPED".into()),
            exit_code: Some(137),
            reason: Some("killed".into()),
            network_bindings: Some(vec![NetworkBinding {
                bind_ip: "0.0.0.0".into(),
                container_port: 80,
                host_port: 32768,
                protocol: "tcp".into(),
            }]),
            health_status: Some("UNHEALTHY".into()),
        }
    }

    const WEB: &str = r#"{"containerName": "web", "runtimeId": "c0ffee", "status": "STOPPED", "exitCode": 137,
        "reason": "killed", "healthStatus": "UNHEALTHY",
        "networkBindings": [{"bindIP": "0.0.0.0", "containerPort": 80, "hostPort": 32768, "protocol": "tcp"}]"#;

    #[test]
    fn a_task_state_change_pins_its_member_names() {
        pins(
            &format!(
                r#"{{"cluster": "edge", "task": "{A}", "status": "STOPPED",
                    "reason": "Essential container in task exited", "containers": [{WEB}}}],
                    "pullStartedAt": 1795000000, "pullStoppedAt": 1795000001, "executionStoppedAt": 1795000060}}"#
            ),
            &TaskStateChange {
                cluster: "edge".into(),
                task: A.into(),
                status: "STOPPED".into(),
                reason: Some("Essential container in task exited".into()),
                containers: vec![web()],
                pull_started_at: Some(1_795_000_000.into()),
                pull_stopped_at: Some(1_795_000_001.into()),
                execution_stopped_at: Some(1_795_000_060.into()),
            },
        );
        let fractions: TaskStateChange =
            serde_json::from_str(r#"{"task": "t", "status": "RUNNING", "pullStartedAt": 1795000000.5}"#).unwrap();
        assert_eq!(fractions.pull_started_at.and_then(|n| n.as_f64()), Some(1_795_000_000.5));
    }

    #[test]
    fn a_container_state_change_pins_its_member_names() {
        pins(
            &format!(r#"{{"cluster": "edge", "task": "{A}", {}}}"#, WEB.trim_start_matches('{')),
            &ContainerStateChange { cluster: "edge".into(), task: A.into(), container: web() },
        );
        pins(
            r#"{"cluster": "edge", "task": "t", "containerName": "app"}"#,
            &ContainerStateChange {
                cluster: "edge".into(),
                task: "t".into(),
                container: ContainerReport { container_name: "app".into(), ..ContainerReport::default() },
            },
        );
    }

    #[test]
    fn the_answer_pins_its_member_name() {
        pins(r#"{"acknowledgment": "ACK"}"#, &Acknowledgment::ack());
    }
}
