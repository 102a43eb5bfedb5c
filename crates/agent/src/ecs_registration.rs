//! `RegisterContainerInstance`: the machine's real resources and attributes, and the state the
//! ECS part keeps between runs (`ecs.json`).
//!
//! Resources as ECS's agent registers them: CPU is Docker's CPU count × 1024, MEMORY the
//! memory Docker sees in MiB less a reserve for the machine itself (`--reserved-memory`, 512
//! MiB by default, ECS's `ECS_RESERVED_MEMORY`), PORTS the ports ECS's agent reserves (SSH,
//! Docker's and its own). Attributes: `ecs.capability.external`, `ecs.os-type`,
//! `ecs.cpu-architecture` (`x86_64` or `arm64`) and the operator's own (`--attribute`).
//!
//! `ecs.json` (0600, replaced atomically like every state file) holds the cluster, the
//! container instance ARN (sent again when re-registering, so the instance and its tasks
//! stay the same), the channel's sequence number and the task table; it is rewritten after
//! every change, before the next poll carries the sequence number.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use crate::attribute::Attribute;
use crate::docker::HostResources;
use crate::reconcile::TaskRecord;
use crate::state::{StateDir, StateError, write_private};

/// Host ports ECS's agent reserves on every instance.
pub const RESERVED_PORTS: [&str; 5] = ["22", "2375", "2376", "51678", "51679"];
/// MiB left to the machine unless told otherwise.
pub const DEFAULT_RESERVED_MEMORY: i64 = 512;

const STATE_FILE: &str = "ecs.json";

/// ECS's name for this machine's architecture.
pub fn cpu_architecture(arch: &str) -> &str {
    match arch {
        "aarch64" => "arm64",
        other => other,
    }
}

/// The `RegisterContainerInstance` request.
pub fn register_request(
    cluster: &str,
    resources: &HostResources,
    docker_version: &str,
    reserved_memory_mib: i64,
    attributes: &[Attribute],
    existing_arn: Option<&str>,
) -> Value {
    let memory_mib = (resources.memory_bytes / (1024 * 1024) - reserved_memory_mib).max(0);
    let mut all = vec![
        json!({"name": "ecs.capability.external"}),
        json!({"name": "ecs.os-type", "value": "linux"}),
        json!({"name": "ecs.cpu-architecture", "value": cpu_architecture(std::env::consts::ARCH)}),
    ];
    all.extend(attributes.iter().map(|a| serde_json::to_value(a).unwrap_or(Value::Null)));
    let mut request = json!({
        "cluster": cluster,
        "totalResources": [
            {"name": "CPU", "type": "INTEGER", "integerValue": resources.cpus.saturating_mul(1024)},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": memory_mib},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": RESERVED_PORTS},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
        ],
        "versionInfo": {
            "agentVersion": crate::AGENT_VERSION,
            "agentHash": "homeport",
            "dockerVersion": format!("DockerVersion: {docker_version}"),
        },
        "attributes": all,
    });
    if let (Some(arn), Some(object)) = (existing_arn, request.as_object_mut()) {
        object.insert("containerInstanceArn".to_owned(), json!(arn));
    }
    request
}

/// The container instance ARN of a `RegisterContainerInstance` answer.
pub fn registered_arn(response: &Value) -> Option<String> {
    let arn = response.get("containerInstance")?.get("containerInstanceArn")?.as_str()?;
    arn.starts_with("arn:").then(|| arn.to_owned())
}

/// What the ECS part keeps in `ecs.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcsState {
    pub cluster: String,
    #[serde(default)]
    pub container_instance_arn: Option<String>,
    #[serde(default)]
    pub sequence_number: i64,
    #[serde(default)]
    pub tasks: BTreeMap<String, TaskRecord>,
}

impl EcsState {
    /// The saved state for `cluster`; a file for another cluster (the instance moved) or none
    /// starts afresh.
    pub fn load(state: &StateDir, cluster: &str) -> Result<EcsState, StateError> {
        let path = state.path().join(STATE_FILE);
        let fresh = EcsState { cluster: cluster.to_owned(), ..EcsState::default() };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(fresh),
            Err(source) => return Err(StateError { action: "read", path, source }),
        };
        let saved: EcsState = serde_json::from_str(&text).map_err(|error| StateError {
            action: "parse",
            path,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, error),
        })?;
        Ok(if saved.cluster == cluster { saved } else { fresh })
    }

    /// Forgets the saved state: a new registration of the machine (`register --force`) is a
    /// new managed instance, whose container instance is not the old one's.
    pub fn remove(state: &StateDir) {
        let _ = std::fs::remove_file(state.path().join(STATE_FILE));
    }

    pub fn save(&self, state: &StateDir) -> Result<(), StateError> {
        let path = state.path().join(STATE_FILE);
        let text = serde_json::to_vec(self).map_err(|error| StateError {
            action: "encode",
            path: path.clone(),
            source: std::io::Error::other(error),
        })?;
        write_private(&path, &text)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn the_request_registers_real_resources_and_attributes() {
        let resources = HostResources { cpus: 2, memory_bytes: 8 * 1024 * 1024 * 1024 };
        let custom = [Attribute::parse("zone=lab").unwrap(), Attribute::parse("gpu").unwrap()];
        let request = register_request("edge", &resources, "24.0.7", 512, &custom, None);
        let arch = cpu_architecture(std::env::consts::ARCH);
        assert_eq!(
            request,
            json!({
                "cluster": "edge",
                "totalResources": [
                    {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                    {"name": "MEMORY", "type": "INTEGER", "integerValue": 7680},
                    {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2375", "2376", "51678", "51679"]},
                    {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
                ],
                "versionInfo": {"agentVersion": crate::AGENT_VERSION, "agentHash": "homeport", "dockerVersion": "DockerVersion: 24.0.7"},
                "attributes": [
                    {"name": "ecs.capability.external"},
                    {"name": "ecs.os-type", "value": "linux"},
                    {"name": "ecs.cpu-architecture", "value": arch},
                    {"name": "zone", "value": "lab"},
                    {"name": "gpu"},
                ],
            })
        );
        let again =
            register_request("edge", &resources, "24.0.7", 0, &[], Some("arn:aws:ecs:r:1:container-instance/edge/x"));
        assert_eq!(again["containerInstanceArn"], "arn:aws:ecs:r:1:container-instance/edge/x");
        assert_eq!(again["totalResources"][1]["integerValue"], 8192);
        let tiny = register_request("edge", &HostResources { cpus: 1, memory_bytes: 100 << 20 }, "v", 512, &[], None);
        assert_eq!(tiny["totalResources"][1]["integerValue"], 0, "never negative");
    }

    #[test]
    fn architectures_use_ecs_names() {
        assert_eq!(cpu_architecture("x86_64"), "x86_64");
        assert_eq!(cpu_architecture("aarch64"), "arm64");
    }

    #[test]
    fn the_answer_gives_the_arn() {
        let answer = json!({"containerInstance": {"containerInstanceArn": "arn:aws:ecs:us-east-1:1:container-instance/edge/abc"}});
        assert_eq!(registered_arn(&answer).as_deref(), Some("arn:aws:ecs:us-east-1:1:container-instance/edge/abc"));
        assert_eq!(registered_arn(&json!({})), None);
    }

    #[test]
    fn the_state_round_trips_and_another_cluster_starts_afresh() {
        let dir = std::env::temp_dir().join(format!("homeport-ecs-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let state = StateDir::create(&dir).unwrap();
        assert_eq!(EcsState::load(&state, "edge").unwrap(), EcsState { cluster: "edge".into(), ..EcsState::default() });
        let mut saved = EcsState {
            cluster: "edge".into(),
            container_instance_arn: Some("arn:x".into()),
            sequence_number: 41,
            ..EcsState::default()
        };
        saved.tasks.insert("arn:t".into(), TaskRecord::adopted("arn:t"));
        saved.save(&state).unwrap();
        assert_eq!(EcsState::load(&state, "edge").unwrap(), saved);
        assert_eq!(EcsState::load(&state, "other").unwrap().sequence_number, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
