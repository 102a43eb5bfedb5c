//! The task a `TaskMessage` carries (`docs/ecs-agent-protocol.md`, section 2): what the agent
//! needs to run it, the task definition's container definitions with the task's overrides
//! applied.
//!
//! The members the agent acts on are typed, with ECS's defaults as methods (`essential`
//! unless it says otherwise, a 30 s `stopTimeout`, `bridge` networking, `tcp` ports). Every
//! other member of a container definition (`mountPoints`, `volumesFrom`, ...) travels in
//! `other` exactly as the task definition has it, so the control plane sends the whole
//! definition, as ECS does, and a new member reaches the agent without a change here. A list
//! or map member is `None` when the definition lacks it and written back the same way.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// ECS's default grace between SIGTERM and SIGKILL, in seconds.
pub const DEFAULT_STOP_TIMEOUT: u64 = 30;

/// A task to run (or stop): a `TaskMessage`'s `task`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskPayload {
    pub task_arn: String,
    #[serde(default)]
    pub family: String,
    #[serde(default)]
    pub revision: i64,
    /// `RUNNING` or `STOPPED`.
    #[serde(default = "running")]
    pub desired_status: String,
    /// `bridge`, `host` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// The role its containers act as (served by the agent's credentials endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    /// The role the agent pulls its images and ships its logs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    #[serde(default)]
    pub containers: Vec<ContainerDefinition>,
    /// The task-level settings, members of the task on the wire (boxed: most tasks have
    /// none, and the poll's messages stay small).
    #[serde(flatten)]
    pub settings: Box<TaskSettings>,
}

/// A task definition's task-level settings the agent applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskSettings {
    /// The task definition's `volumes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// `host`, `task` or `none` (absent: each container its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<String>,
    /// The service that started the task, if one did (its task metadata says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// The task-level CPU units and MiB, as the task definition writes them (`"256"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

fn running() -> String {
    "RUNNING".to_owned()
}

impl TaskPayload {
    /// The task id: the last part of its ARN.
    pub fn task_id(&self) -> &str {
        task_id(&self.task_arn)
    }

    /// Its network mode, `bridge` unless it says otherwise.
    pub fn network_mode(&self) -> &str {
        self.network_mode.as_deref().unwrap_or("bridge")
    }

    pub fn container(&self, name: &str) -> Option<&ContainerDefinition> {
        self.containers.iter().find(|c| c.name == name)
    }

    pub fn volumes(&self) -> &[Volume] {
        self.settings.volumes.as_deref().unwrap_or_default()
    }

    pub fn volume(&self, name: &str) -> Option<&Volume> {
        self.volumes().iter().find(|v| v.name == name)
    }
}

/// A task definition `volumes` entry: a bind mount of a host path (`host.sourcePath`), a
/// Docker volume (`dockerVolumeConfiguration`), or, with neither, a Docker volume the task's
/// containers share for the task's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostVolume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_volume_configuration: Option<DockerVolumeConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct HostVolume {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
}

/// A Docker volume's configuration, as ECS has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DockerVolumeConfiguration {
    /// `task` (the default: created for the task, removed with it) or `shared` (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// For a `shared` volume: create it if it does not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoprovision: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_opts: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

impl DockerVolumeConfiguration {
    /// Whether the volume outlives the task (`scope` `shared`).
    pub fn is_shared(&self) -> bool {
        self.scope.as_deref() == Some("shared")
    }
}

/// A container's `mountPoints` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MountPoint {
    #[serde(default)]
    pub source_volume: String,
    #[serde(default)]
    pub container_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// A container's `volumesFrom` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct VolumeFrom {
    #[serde(default)]
    pub source_container: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// The last part of a task ARN (`arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID`).
pub fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// One container definition, the task's overrides applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    pub name: String,
    #[serde(default)]
    pub image: String,
    /// The task's container's ARN (what its metadata's `ContainerARN` says); the control
    /// plane adds it to each container of a task it sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Vec<KeyValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_mappings: Option<Vec<PortMapping>>,
    /// CPU units (Docker's CPU shares).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i64>,
    /// The hard memory limit, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    /// The soft memory limit, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<Dependency>>,
    /// `NAME` or `NAME:ALIAS` of the task's other containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<String>>,
    /// Seconds between SIGTERM and SIGKILL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_points: Option<Vec<MountPoint>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes_from: Option<Vec<VolumeFrom>>,
    /// Seconds to wait for its dependencies before giving up on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timeout: Option<u64>,
    /// The definition's other members, as it has them.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl ContainerDefinition {
    /// ECS's default: a container is essential unless it says otherwise.
    pub fn is_essential(&self) -> bool {
        self.essential.unwrap_or(true)
    }

    pub fn stop_timeout(&self) -> u64 {
        self.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT)
    }

    pub fn environment(&self) -> &[KeyValue] {
        self.environment.as_deref().unwrap_or_default()
    }

    pub fn port_mappings(&self) -> &[PortMapping] {
        self.port_mappings.as_deref().unwrap_or_default()
    }

    pub fn depends_on(&self) -> &[Dependency] {
        self.depends_on.as_deref().unwrap_or_default()
    }

    pub fn links(&self) -> &[String] {
        self.links.as_deref().unwrap_or_default()
    }

    pub fn mount_points(&self) -> &[MountPoint] {
        self.mount_points.as_deref().unwrap_or_default()
    }

    pub fn volumes_from(&self) -> &[VolumeFrom] {
        self.volumes_from.as_deref().unwrap_or_default()
    }

    /// Its Docker labels (none when it has none).
    pub fn docker_labels(&self) -> impl Iterator<Item = (&String, &String)> {
        self.docker_labels.iter().flatten()
    }

    /// What this container waits for before it starts: its `dependsOn`, and a `START`
    /// condition on each container it links to (Docker starts a container only once the
    /// containers it links to run) or takes volumes from (they must exist to be named).
    pub fn dependencies(&self) -> Vec<Dependency> {
        let mut dependencies = self.depends_on().to_vec();
        let links = self.links().iter().map(|link| link.split(':').next().unwrap_or_default());
        let sources = self.volumes_from().iter().map(|from| from.source_container.as_str());
        for target in links.chain(sources) {
            if !dependencies.iter().any(|d| d.container_name == target) {
                dependencies.push(Dependency { container_name: target.to_owned(), condition: Condition::Start });
            }
        }
        dependencies
    }
}

/// An `environment` variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    pub container_port: u16,
    /// 0 (or absent) asks for a dynamic host port in `bridge` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

impl PortMapping {
    /// `tcp` unless it says otherwise.
    pub fn protocol(&self) -> &str {
        self.protocol.as_deref().unwrap_or("tcp")
    }
}

/// A `dependsOn` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    pub container_name: String,
    pub condition: Condition,
}

/// A `dependsOn` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Condition {
    /// The dependency has started.
    Start,
    /// The dependency has run to completion (any exit code).
    Complete,
    /// The dependency has exited with code 0.
    Success,
    /// The dependency's health check passes.
    Healthy,
}

/// A container's `healthCheck` (seconds, as ECS has them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<u64>,
}

/// A container's `logConfiguration`: the driver and its options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    #[serde(default)]
    pub log_driver: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// Its other members (`secretOptions`), as the definition has them.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::pinning::pins;

    const ARN: &str = "arn:aws:ecs:us-east-1:111122223333:task/edge/0123456789abcdef0123456789abcdef";

    fn web() -> ContainerDefinition {
        ContainerDefinition {
            name: "web".into(),
            image: "busybox".into(),
            container_arn: Some("arn:aws:ecs:us-east-1:111122223333:container/edge/0123456789abcdef/c-web".into()),
            essential: Some(true),
            command: Some(vec!["sh".into(), "-c".into(), "sleep 60".into()]),
            entry_point: Some(vec!["/bin/env".into()]),
            environment: Some(vec![KeyValue { name: "MODE".into(), value: "prod".into() }]),
            working_directory: Some("/srv".into()),
            user: Some("1000".into()),
            hostname: Some("web".into()),
            port_mappings: Some(vec![PortMapping {
                container_port: 80,
                host_port: Some(0),
                protocol: Some("tcp".into()),
            }]),
            cpu: Some(256),
            memory: Some(128),
            memory_reservation: Some(64),
            depends_on: Some(vec![Dependency { container_name: "db".into(), condition: Condition::Healthy }]),
            links: Some(vec!["db:database".into()]),
            stop_timeout: Some(5),
            docker_labels: Some(BTreeMap::from([("team".into(), "ops".into())])),
            health_check: Some(HealthCheck {
                command: vec!["CMD-SHELL".into(), "true".into()],
                interval: Some(5),
                timeout: Some(2),
                retries: Some(3),
                start_period: Some(0),
            }),
            log_configuration: Some(LogConfiguration {
                log_driver: "awslogs".into(),
                options: BTreeMap::from([("awslogs-group".into(), "/ecs/web".into())]),
                other: BTreeMap::new(),
            }),
            mount_points: Some(vec![]),
            volumes_from: None,
            start_timeout: None,
            other: BTreeMap::from([("ulimits".into(), Value::Array(vec![]))]),
        }
    }

    #[test]
    fn a_task_payload_pins_its_member_names() {
        let payload = TaskPayload {
            task_arn: ARN.into(),
            family: "web".into(),
            revision: 3,
            desired_status: "RUNNING".into(),
            network_mode: Some("bridge".into()),
            task_role_arn: Some("arn:aws:iam::111122223333:role/app".into()),
            execution_role_arn: Some("arn:aws:iam::111122223333:role/exec".into()),
            containers: vec![web()],
            settings: Box::default(),
        };
        pins(
            &format!(
                r#"{{"taskArn": "{ARN}", "family": "web", "revision": 3, "desiredStatus": "RUNNING",
                    "networkMode": "bridge", "taskRoleArn": "arn:aws:iam::111122223333:role/app",
                    "executionRoleArn": "arn:aws:iam::111122223333:role/exec",
                    "containers": [{{"name": "web", "image": "busybox",
                        "containerArn": "arn:aws:ecs:us-east-1:111122223333:container/edge/0123456789abcdef/c-web",
                        "essential": true,
                        "command": ["sh", "-c", "sleep 60"], "entryPoint": ["/bin/env"],
                        "environment": [{{"name": "MODE", "value": "prod"}}], "workingDirectory": "/srv",
                        "user": "1000", "hostname": "web",
                        "portMappings": [{{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}}],
                        "cpu": 256, "memory": 128, "memoryReservation": 64,
                        "dependsOn": [{{"containerName": "db", "condition": "HEALTHY"}}],
                        "links": ["db:database"], "stopTimeout": 5, "dockerLabels": {{"team": "ops"}},
                        "healthCheck": {{"command": ["CMD-SHELL", "true"], "interval": 5, "timeout": 2,
                                         "retries": 3, "startPeriod": 0}},
                        "logConfiguration": {{"logDriver": "awslogs", "options": {{"awslogs-group": "/ecs/web"}}}},
                        "mountPoints": [], "ulimits": []}}]}}"#
            ),
            &payload,
        );
    }

    #[test]
    fn absent_members_stay_absent_and_read_with_ecs_defaults() {
        let bare = TaskPayload {
            task_arn: ARN.into(),
            family: String::new(),
            revision: 0,
            desired_status: "RUNNING".into(),
            network_mode: None,
            task_role_arn: None,
            execution_role_arn: None,
            containers: vec![ContainerDefinition { name: "app".into(), ..ContainerDefinition::default() }],
            settings: Box::default(),
        };
        let read: TaskPayload =
            serde_json::from_str(&format!(r#"{{"taskArn": "{ARN}", "containers": [{{"name": "app"}}]}}"#)).unwrap();
        assert_eq!(read, bare);
        assert_eq!(
            serde_json::to_value(&bare).unwrap(),
            serde_json::json!({"taskArn": ARN, "family": "", "revision": 0, "desiredStatus": "RUNNING",
                               "containers": [{"name": "app", "image": ""}]})
        );
        assert_eq!((read.task_id(), read.network_mode()), ("0123456789abcdef0123456789abcdef", "bridge"));
        let app = read.container("app").unwrap();
        assert!(app.is_essential());
        assert_eq!(app.stop_timeout(), DEFAULT_STOP_TIMEOUT);
        assert!(app.environment().is_empty() && app.port_mappings().is_empty() && app.links().is_empty());
    }

    #[test]
    fn links_are_start_dependencies() {
        let app = ContainerDefinition {
            name: "app".into(),
            links: Some(vec!["db:database".into(), "cache".into()]),
            depends_on: Some(vec![Dependency { container_name: "db".into(), condition: Condition::Healthy }]),
            ..ContainerDefinition::default()
        };
        assert_eq!(
            app.dependencies(),
            [
                Dependency { container_name: "db".into(), condition: Condition::Healthy },
                Dependency { container_name: "cache".into(), condition: Condition::Start },
            ]
        );
    }

    #[test]
    fn a_log_configuration_keeps_what_it_does_not_type() {
        pins(
            r#"{"logDriver": "awslogs", "options": {"awslogs-group": "g"},
                "secretOptions": [{"name": "k", "valueFrom": "arn"}]}"#,
            &LogConfiguration {
                log_driver: "awslogs".into(),
                options: BTreeMap::from([("awslogs-group".into(), "g".into())]),
                other: BTreeMap::from([(
                    "secretOptions".into(),
                    serde_json::json!([{"name": "k", "valueFrom": "arn"}]),
                )]),
            },
        );
    }
}
