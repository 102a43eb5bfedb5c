//! Task IAM roles on the agent: the credentials of each task's task role and execution role,
//! obtained from the control plane (`GetTaskCredentials`, `docs/ecs-agent-protocol.md`) and
//! refreshed at half their remaining life, and the per-task secrets the credentials endpoint
//! (`crate::credentials_endpoint`) checks.
//!
//! Guarantees:
//! - A task's credentials are served only for its own credentials id together with its own
//!   token (compared in constant time); ids and tokens are 128 and 256 random bits.
//! - The task role's credentials are served only while the task runs: once it has stopped
//!   the endpoint refuses them, and once its stop is acknowledged the agent forgets them.
//! - Refreshes happen at half the remaining life, failures retry with [`Backoff`]; a refusal
//!   saying the task stopped ends the refreshing.
//! - Neither `Debug` nor the log shows a secret access key, session token or endpoint token.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_protocol::credentials::TaskCredentialsRequest;
use aws_protocol::sigv4::constant_time_eq;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::api::{self, CallError, TaskRoleCredentials};
use crate::backoff::{Backoff, jitter};
use crate::control_plane::{ControlPlane, Credentials, current_credentials};
#[cfg(test)]
use crate::credentials::RoleCredentials;
use crate::credentials::refresh_delay;
use crate::log;
use crate::task_spec::{TaskPayload, task_id};

/// The address the credentials endpoint listens on (ECS's), and ECS's port for it.
pub const ENDPOINT_ADDRESS: &str = "169.254.170.2";
pub const DEFAULT_PORT: u16 = 51679;

/// The environment variables that point a container's AWS SDK at its task's credentials.
pub const ENV_FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const ENV_TOKEN: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";

/// A task's credentials id and token: what its containers present to the endpoint. Kept
/// with the task (`ecs.json`, 0600), so a restarted agent serves the containers it adopts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSecret {
    pub id: String,
    pub token: String,
}

impl fmt::Debug for TaskSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSecret").field("id", &self.id).finish_non_exhaustive()
    }
}

impl TaskSecret {
    /// A fresh id (128 random bits) and token (256), as hex; `None` if the system has no
    /// randomness to give.
    pub fn generate() -> Option<TaskSecret> {
        Some(TaskSecret { id: random_hex::<16>()?, token: random_hex::<32>()? })
    }

    /// The environment a container of the task gets, given the endpoint's base URL
    /// (`http://169.254.170.2:51679`).
    pub fn environment(&self, base_url: &str) -> Vec<(String, String)> {
        vec![
            (ENV_FULL_URI.to_owned(), format!("{base_url}/v2/credentials/{}", self.id)),
            (ENV_TOKEN.to_owned(), self.token.clone()),
        ]
    }
}

pub(crate) fn random_hex<const N: usize>() -> Option<String> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Which role of a task.
pub use agent_protocol::credentials::RoleType;

/// What the endpoint may answer for one credentials id.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(TaskRoleCredentials),
    /// No task has this id (or the token is not its token: the two are not told apart).
    Refused,
    /// The task is known but has no credentials yet (or no longer: it stopped).
    Unavailable,
}

#[derive(Default)]
struct TaskEntry {
    secret: Option<TaskSecret>,
    serving: bool,
    application: Option<TaskRoleCredentials>,
    execution: Option<TaskRoleCredentials>,
    has_execution_role: bool,
    refresher: Option<tokio::task::AbortHandle>,
}

/// Every task's role credentials and endpoint secret, shared by the engine, the endpoint,
/// the log shippers and the pulls.
#[derive(Clone)]
pub struct TaskRoles {
    tasks: Arc<Mutex<HashMap<String, TaskEntry>>>,
    changed: Arc<watch::Sender<u64>>,
}

impl Default for TaskRoles {
    fn default() -> TaskRoles {
        TaskRoles::new()
    }
}

impl TaskRoles {
    pub fn new() -> TaskRoles {
        TaskRoles { tasks: Arc::default(), changed: Arc::new(watch::channel(0).0) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, TaskEntry>) -> T) -> T {
        match self.tasks.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Whether the task is tracked.
    pub fn tracks(&self, task_arn: &str) -> bool {
        self.with(|tasks| tasks.contains_key(task_arn))
    }

    /// Starts tracking a task with a task role or an execution role: its credentials are
    /// fetched now and refreshed at half-life, and `secret` (for a task role) is served. A
    /// task that has already stopped (tracked again after a restart, to ship its last lines)
    /// gets its execution role only.
    pub fn track(
        &self,
        spec: &TaskPayload,
        secret: Option<TaskSecret>,
        stopped: bool,
        control_plane: &ControlPlane,
        context: Fetch,
    ) {
        let mut roles = Vec::new();
        if spec.task_role_arn.is_some() && !stopped {
            roles.push(RoleType::Application);
        }
        if spec.execution_role_arn.is_some() {
            roles.push(RoleType::Execution);
        }
        if roles.is_empty() || self.tracks(&spec.task_arn) {
            return;
        }
        let handle = tokio::spawn(refresh(self.clone(), spec.task_arn.clone(), roles, control_plane.clone(), context));
        self.with(|tasks| {
            tasks.insert(
                spec.task_arn.clone(),
                TaskEntry {
                    secret: secret.filter(|_| spec.task_role_arn.is_some()),
                    serving: !stopped,
                    has_execution_role: spec.execution_role_arn.is_some(),
                    refresher: Some(handle.abort_handle()),
                    ..TaskEntry::default()
                },
            )
        });
    }

    /// The task has stopped: its task role's credentials are no longer served.
    pub fn stop_serving(&self, task_arn: &str) {
        self.with(|tasks| {
            if let Some(entry) = tasks.get_mut(task_arn) {
                entry.serving = false;
            }
        });
    }

    /// Forgets a task (its stop is acknowledged and its logs are shipped).
    pub fn forget(&self, task_arn: &str) {
        if let Some(entry) = self.with(|tasks| tasks.remove(task_arn)) {
            if let Some(refresher) = entry.refresher {
                refresher.abort();
            }
        }
    }

    /// Every tracked task.
    pub fn tracked(&self) -> Vec<String> {
        self.with(|tasks| tasks.keys().cloned().collect())
    }

    /// What the endpoint answers for `id` presented with `token`.
    pub fn lookup(&self, id: &str, token: &str) -> Lookup {
        self.with(|tasks| {
            let entry = tasks.values().find(|entry| {
                entry.secret.as_ref().is_some_and(|secret| {
                    // Every comparison runs whole: nothing tells how much of a guess was right.
                    let id_matches = constant_time_eq(secret.id.as_bytes(), id.as_bytes());
                    let token_matches = constant_time_eq(secret.token.as_bytes(), token.as_bytes());
                    id_matches & token_matches
                })
            });
            match entry {
                None => Lookup::Refused,
                Some(entry) if !entry.serving => Lookup::Unavailable,
                Some(entry) => entry.application.clone().map_or(Lookup::Unavailable, Lookup::Found),
            }
        })
    }

    /// Whether the task has an execution role.
    pub fn has_execution_role(&self, task_arn: &str) -> bool {
        self.with(|tasks| tasks.get(task_arn).is_some_and(|entry| entry.has_execution_role))
    }

    /// The task's current credentials for `role`, if it has them now (unexpired).
    pub fn current(&self, task_arn: &str, role: RoleType) -> Option<TaskRoleCredentials> {
        self.with(|tasks| {
            let entry = tasks.get(task_arn)?;
            let held = match role {
                RoleType::Application => entry.application.clone(),
                RoleType::Execution => entry.execution.clone(),
            };
            held.filter(|held| !held.credentials.expired(crate::now()))
        })
    }

    /// Waits at most `within` for the task's credentials for `role`.
    pub async fn wait_for(&self, task_arn: &str, role: RoleType, within: Duration) -> Option<TaskRoleCredentials> {
        let mut changes = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(held) = self.current(task_arn, role) {
                return Some(held);
            }
            if !self.tracks(task_arn) {
                return None;
            }
            if tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
                return None;
            }
        }
    }

    /// Whether every role of the task has credentials now.
    pub fn ready(&self, task_arn: &str) -> bool {
        self.with(|tasks| {
            tasks.get(task_arn).is_some_and(|entry| {
                (entry.secret.is_none() || entry.application.is_some())
                    && (!entry.has_execution_role || entry.execution.is_some())
            })
        })
    }

    /// Waits at most `within` until every role of the task has credentials.
    pub async fn wait_ready(&self, task_arn: &str, within: Duration) -> bool {
        let mut changes = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if !self.tracks(task_arn) || self.ready(task_arn) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
                return false;
            }
        }
    }

    fn store(&self, task_arn: &str, role: RoleType, held: TaskRoleCredentials) {
        let stored = self.with(|tasks| {
            let Some(entry) = tasks.get_mut(task_arn) else { return false };
            match role {
                RoleType::Application => entry.application = Some(held),
                RoleType::Execution => entry.execution = Some(held),
            }
            true
        });
        if stored {
            self.changed.send_modify(|version| *version = version.wrapping_add(1));
        }
    }
}

/// What a refresher needs besides the task: the cluster, the container instance and the
/// instance's own credentials, which sign `GetTaskCredentials`.
#[derive(Clone)]
pub struct Fetch {
    pub cluster: String,
    pub container_instance_arn: String,
    pub credentials: Credentials,
}

/// Fetches the task's credentials for each role, then again at half their remaining life;
/// a role the control plane no longer issues (the task stopped, or is gone) is dropped, and
/// the refreshing ends with the last one.
async fn refresh(roles: TaskRoles, task_arn: String, wanted: Vec<RoleType>, control_plane: ControlPlane, fetch: Fetch) {
    let mut wanted = wanted;
    let mut backoff = Backoff::new();
    let mut credentials = fetch.credentials.clone();
    while !wanted.is_empty() {
        let instance = current_credentials(&mut credentials).await;
        let mut next = Duration::from_secs(3600);
        let mut failed = None;
        let mut ended = Vec::new();
        for role in &wanted {
            let request = TaskCredentialsRequest {
                cluster: fetch.cluster.clone(),
                container_instance: fetch.container_instance_arn.clone(),
                task_arn: task_arn.clone(),
                role_type: role.as_str().to_owned(),
            };
            match api::get_task_credentials(&control_plane.endpoint, &control_plane.region, &instance, &request).await {
                Ok(held) => {
                    next = next.min(refresh_delay(crate::now(), held.credentials.expires_at));
                    roles.store(&task_arn, *role, held);
                }
                Err(CallError::Service { code, message, .. })
                    if code == "InvalidParameterException"
                        && (message.contains("stopped") || message.contains("not found")) =>
                {
                    log::event(&format!(
                        "ecs: task {}: no more {} credentials: {message}",
                        task_id(&task_arn),
                        role.as_str()
                    ));
                    ended.push(*role);
                }
                Err(error) => {
                    failed = Some(error);
                    break;
                }
            }
        }
        wanted.retain(|role| !ended.contains(role));
        let delay = match failed {
            None => {
                if backoff.failing() {
                    log::event(&format!("ecs: task {}: role credentials obtained again", task_id(&task_arn)));
                }
                backoff.reset();
                next
            }
            Some(error) => {
                let delay = backoff.next_delay(jitter());
                log::event(&format!(
                    "ecs: task {}: cannot obtain role credentials: {error}; retrying in {}s",
                    task_id(&task_arn),
                    delay.as_secs().max(1)
                ));
                delay
            }
        };
        if !wanted.is_empty() {
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    fn held(key: &str, expires_at: i64) -> TaskRoleCredentials {
        TaskRoleCredentials {
            role_arn: "arn:aws:iam::123456789012:role/app".into(),
            credentials: RoleCredentials {
                access_key_id: key.into(),
                secret_access_key: "secret".into(),
                session_token: "token".into(),
                expires_at,
            },
        }
    }

    fn entry(secret: TaskSecret) -> TaskEntry {
        TaskEntry { secret: Some(secret), serving: true, ..TaskEntry::default() }
    }

    #[test]
    fn secrets_are_random_and_hidden() {
        let a = TaskSecret::generate().unwrap();
        let b = TaskSecret::generate().unwrap();
        assert_eq!((a.id.len(), a.token.len()), (32, 64));
        assert_ne!(a, b);
        let shown = format!("{a:?}");
        assert!(shown.contains(&a.id) && !shown.contains(&a.token), "{shown}");
        let environment = a.environment("http://169.254.170.2:51679");
        assert_eq!(environment[0].0, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
        assert_eq!(environment[0].1, format!("http://169.254.170.2:51679/v2/credentials/{}", a.id));
        assert_eq!(environment[1], ("AWS_CONTAINER_AUTHORIZATION_TOKEN".to_owned(), a.token.clone()));
    }

    #[test]
    fn a_task_is_served_only_its_own_id_with_its_own_token() {
        let roles = TaskRoles::new();
        let first = TaskSecret::generate().unwrap();
        let second = TaskSecret::generate().unwrap();
        roles.with(|tasks| {
            tasks.insert("task/1".into(), entry(first.clone()));
            tasks.insert("task/2".into(), entry(second.clone()));
        });
        assert_eq!(roles.lookup(&first.id, &first.token), Lookup::Unavailable, "no credentials yet");
        roles.store("task/1", RoleType::Application, held("ASIAONE", crate::now() + 3600));
        roles.store("task/2", RoleType::Application, held("ASIATWO", crate::now() + 3600));
        match roles.lookup(&first.id, &first.token) {
            Lookup::Found(found) => assert_eq!(found.credentials.access_key_id, "ASIAONE"),
            other => panic!("{other:?}"),
        }
        assert_eq!(roles.lookup(&second.id, &first.token), Lookup::Refused, "another task's id with my token");
        assert_eq!(roles.lookup(&first.id, &second.token), Lookup::Refused, "my id with another task's token");
        assert_eq!(roles.lookup(&first.id, ""), Lookup::Refused);
        assert_eq!(roles.lookup("", ""), Lookup::Refused);
        roles.stop_serving("task/1");
        assert_eq!(roles.lookup(&first.id, &first.token), Lookup::Unavailable, "stopped");
        roles.forget("task/1");
        assert_eq!(roles.lookup(&first.id, &first.token), Lookup::Refused, "forgotten");
        assert!(matches!(roles.lookup(&second.id, &second.token), Lookup::Found(_)));
    }

    #[test]
    fn readiness_needs_every_role() {
        let roles = TaskRoles::new();
        let secret = TaskSecret::generate().unwrap();
        roles.with(|tasks| {
            tasks.insert("task/1".into(), TaskEntry { has_execution_role: true, ..entry(secret) });
        });
        assert!(!roles.ready("task/1"));
        roles.store("task/1", RoleType::Application, held("ASIAONE", crate::now() + 3600));
        assert!(!roles.ready("task/1"));
        assert_eq!(roles.current("task/1", RoleType::Execution), None);
        roles.store("task/1", RoleType::Execution, held("ASIAEXEC", crate::now() + 3600));
        assert!(roles.ready("task/1"));
        assert_eq!(roles.current("task/1", RoleType::Execution).unwrap().credentials.access_key_id, "ASIAEXEC");
        roles.store("task/1", RoleType::Execution, held("ASIAOLD", crate::now() - 10));
        assert_eq!(roles.current("task/1", RoleType::Execution), None, "expired credentials are not handed out");
    }
}
