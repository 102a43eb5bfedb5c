//! `GetTaskCredentials` (`docs/ecs-agent-protocol.md`, section 4): the agent asks for a task
//! role's credentials, with the instance's own, when it starts a task with a role and again at
//! half the credentials' remaining life.

use serde::{Deserialize, Serialize};

/// Which of a task's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RoleType {
    /// The task role (`taskRoleArn`): what the containers act as.
    #[serde(rename = "TaskApplication")]
    Application,
    /// The execution role (`executionRoleArn`): what the agent pulls and ships logs as.
    #[serde(rename = "TaskExecution")]
    Execution,
}

impl RoleType {
    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleType::Application => "TaskApplication",
            RoleType::Execution => "TaskExecution",
        }
    }

    /// The role type a word names.
    pub fn parse(word: &str) -> Option<RoleType> {
        [RoleType::Application, RoleType::Execution].into_iter().find(|role| role.as_str() == word)
    }
}

/// The request. `roleType` is the word (a [`RoleType`]'s), so the control plane can name one
/// it refuses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskCredentialsRequest {
    #[serde(default)]
    pub cluster: String,
    #[serde(default)]
    pub container_instance: String,
    #[serde(default)]
    pub task_arn: String,
    #[serde(default)]
    pub role_type: String,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskCredentialsAnswer {
    pub credentials: TaskCredentials,
}

/// A task role's temporary credentials.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// When they expire, in epoch seconds.
    pub expiration: i64,
    pub role_arn: String,
    pub role_type: RoleType,
}

/// Never the secret: credentials end up in logs through `{:?}` otherwise.
impl std::fmt::Debug for TaskCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .field("role_arn", &self.role_arn)
            .field("role_type", &self.role_type)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::pinning::pins;

    #[test]
    fn the_request_pins_its_member_names() {
        pins(
            r#"{"cluster": "edge", "containerInstance": "arn:ci", "taskArn": "arn:t", "roleType": "TaskExecution"}"#,
            &TaskCredentialsRequest {
                cluster: "edge".into(),
                container_instance: "arn:ci".into(),
                task_arn: "arn:t".into(),
                role_type: RoleType::Execution.as_str().into(),
            },
        );
    }

    #[test]
    fn the_answer_pins_its_member_names() {
        pins(
            r#"{"credentials": {"accessKeyId": "ASIA1", "secretAccessKey": "s", "sessionToken": "t",
                "expiration": 1795003600, "roleArn": "arn:aws:iam::111122223333:role/app",
                "roleType": "TaskApplication"}}"#,
            &TaskCredentialsAnswer {
                credentials: TaskCredentials {
                    access_key_id: "ASIA1".into(),
                    secret_access_key: "s".into(),
                    session_token: "t".into(),
                    expiration: 1_795_003_600,
                    role_arn: "arn:aws:iam::111122223333:role/app".into(),
                    role_type: RoleType::Application,
                },
            },
        );
        let debug = format!(
            "{:?}",
            TaskCredentials {
                access_key_id: "ASIA1".into(),
                secret_access_key: "hidden".into(),
                session_token: "hidden".into(),
                expiration: 0,
                role_arn: String::new(),
                role_type: RoleType::Execution,
            }
        );
        assert!(!debug.contains("hidden"), "{debug}");
    }

    #[test]
    fn role_types_read_their_words() {
        for role in [RoleType::Application, RoleType::Execution] {
            assert_eq!(RoleType::parse(role.as_str()), Some(role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        assert_eq!(RoleType::parse("Task"), None);
    }
}
