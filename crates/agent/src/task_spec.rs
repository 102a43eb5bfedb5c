//! The Docker container configuration each container of a task becomes (the task as the
//! control plane hands it over is `agent_protocol::task::TaskPayload`).
//!
//! What the agent acts on follows ECS:
//! `image`, `command`, `entryPoint`, `environment`, `workingDirectory`, `user`, `hostname`,
//! `portMappings` (hostPort 0 is a dynamic port), `cpu` (CPU shares, at least 2 as ECS's agent
//! does, since Docker reads 0 as 1024), `memory` (a hard limit) and `memoryReservation` (a
//! soft one) in MiB, `essential`, `dependsOn`, `links`, `stopTimeout` (30 s by default),
//! `dockerLabels` and `healthCheck`; the rest of the settings (volumes, Linux settings, name
//! resolution, Docker's log drivers) are added by `crate::docker_options` (`docker_options::apply`
//! on this body, which `ecs::containers` sends); `secrets` and `repositoryCredentials` are
//! resolved by `crate::task_secrets` and reach the configuration as environment variables and
//! Docker's pull credentials. Names are `ecs-FAMILY-REVISION-CONTAINER-TASKID12`, and
//! every container carries the labels that let a restarted agent adopt it.

pub use agent_protocol::task::{ContainerDefinition, HealthCheck, TaskPayload, Volume, task_id};
use serde_json::{Map, Value, json};

pub const LABEL_TASK_ARN: &str = "com.amazonaws.ecs.task-arn";
pub const LABEL_CONTAINER_NAME: &str = "com.amazonaws.ecs.container-name";
pub const LABEL_CLUSTER: &str = "com.amazonaws.ecs.cluster";
pub const LABEL_FAMILY: &str = "com.amazonaws.ecs.task-definition-family";
pub const LABEL_VERSION: &str = "com.amazonaws.ecs.task-definition-version";
/// Which container instance a container belongs to: two agents can share one Docker daemon
/// (the tests run two), and each adopts only its own.
pub const LABEL_INSTANCE: &str = "homeport.container-instance-arn";
/// Which agent (state directory) created a container, across its container instances: a
/// re-registered agent removes the containers of its earlier ones, and only those.
pub const LABEL_AGENT: &str = "homeport.agent-id";

/// Docker's name of one of a task's containers.
pub fn docker_name_of(task: &TaskPayload, container: &str) -> String {
    docker_name(&task.family, task.revision, container, task.task_id())
}

/// `ecs-FAMILY-REVISION-CONTAINER-` and the first 12 characters of the task id.
pub fn docker_name(family: &str, revision: i64, container: &str, task_id: &str) -> String {
    let prefix: String = task_id.chars().take(12).collect();
    let clean = |text: &str| -> String {
        text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect()
    };
    format!("ecs-{}-{revision}-{}-{prefix}", clean(family), clean(container))
}

/// Where a container runs: its cluster and container instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement<'a> {
    pub cluster: &'a str,
    pub container_instance_arn: &'a str,
    /// The agent's identity ([`crate::state::StateDir::agent_id`]).
    pub agent_id: &'a str,
    /// Variables the agent adds to every container of the task (the task role's credentials
    /// endpoint), after the container's own.
    pub environment: &'a [(String, String)],
}

/// The body of `POST /containers/create` for one container of a task.
pub fn container_config(task: &TaskPayload, container: &ContainerDefinition, placement: &Placement<'_>) -> Value {
    let mut labels: Map<String, Value> =
        container.docker_labels().map(|(name, value)| (name.clone(), json!(value))).collect();
    for (name, value) in [
        (LABEL_TASK_ARN, task.task_arn.clone()),
        (LABEL_CONTAINER_NAME, container.name.clone()),
        (LABEL_CLUSTER, placement.cluster.to_owned()),
        (LABEL_FAMILY, task.family.clone()),
        (LABEL_VERSION, task.revision.to_string()),
        (LABEL_INSTANCE, placement.container_instance_arn.to_owned()),
        (LABEL_AGENT, placement.agent_id.to_owned()),
    ] {
        labels.insert(name.to_owned(), json!(value));
    }
    let network_mode = task.network_mode();
    let mut exposed = Map::new();
    let mut bindings = Map::new();
    for mapping in container.port_mappings() {
        let key = format!("{}/{}", mapping.container_port, mapping.protocol());
        exposed.insert(key.clone(), json!({}));
        if network_mode == "bridge" {
            // An empty HostPort asks Docker for a dynamic one.
            let host_port = mapping.host_port.filter(|port| *port > 0).map(|p| p.to_string()).unwrap_or_default();
            let entry = bindings.entry(key).or_insert_with(|| json!([]));
            if let Some(list) = entry.as_array_mut() {
                list.push(json!({"HostPort": host_port}));
            }
        }
    }
    let mebibytes = |mib: i64| mib.saturating_mul(1024 * 1024);
    let mut host_config = json!({
        "NetworkMode": network_mode,
        "CpuShares": container.cpu.unwrap_or(0).max(2),
    });
    if let Some(object) = host_config.as_object_mut() {
        if !bindings.is_empty() {
            object.insert("PortBindings".to_owned(), Value::Object(bindings));
        }
        if let Some(memory) = container.memory {
            object.insert("Memory".to_owned(), json!(mebibytes(memory)));
        }
        if let Some(reservation) = container.memory_reservation {
            object.insert("MemoryReservation".to_owned(), json!(mebibytes(reservation)));
        }
        if network_mode == "bridge" && !container.links().is_empty() {
            let links: Vec<String> = container
                .links()
                .iter()
                .map(|link| {
                    let (target, alias) = link.split_once(':').unwrap_or((link.as_str(), link.as_str()));
                    format!("{}:{alias}", docker_name_of(task, target))
                })
                .collect();
            object.insert("Links".to_owned(), json!(links));
        }
    }
    let mut config = json!({
        "Image": container.image,
        "Labels": labels,
        "Env": container
            .environment()
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str()))
            .chain(placement.environment.iter().map(|(name, value)| (name.as_str(), value.as_str())))
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>(),
        "StopTimeout": container.stop_timeout(),
        "HostConfig": host_config,
    });
    if let Some(object) = config.as_object_mut() {
        if !exposed.is_empty() {
            object.insert("ExposedPorts".to_owned(), Value::Object(exposed));
        }
        let optional = [
            ("Cmd", container.command.as_ref().map(|c| json!(c))),
            ("Entrypoint", container.entry_point.as_ref().map(|e| json!(e))),
            ("WorkingDir", container.working_directory.as_ref().map(|w| json!(w))),
            ("User", container.user.as_ref().map(|u| json!(u))),
            ("Hostname", container.hostname.as_ref().filter(|_| network_mode == "bridge").map(|h| json!(h))),
            ("Healthcheck", container.health_check.as_ref().map(health_check)),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                object.insert(name.to_owned(), value);
            }
        }
    }
    config
}

/// The bindings of a container in `host` network mode, which Docker does not list: each
/// port mapping is the host's own port.
pub fn host_mode_bindings(container: &ContainerDefinition) -> Vec<crate::docker::NetworkBinding> {
    container
        .port_mappings()
        .iter()
        .map(|mapping| crate::docker::NetworkBinding {
            bind_ip: "0.0.0.0".to_owned(),
            container_port: mapping.container_port,
            host_port: mapping.host_port.filter(|port| *port > 0).unwrap_or(mapping.container_port),
            protocol: mapping.protocol().to_owned(),
        })
        .collect()
}

/// ECS's `healthCheck` (seconds) as Docker's `Healthcheck` (nanoseconds); ECS's defaults.
fn health_check(check: &HealthCheck) -> Value {
    let nanos = |seconds: u64| seconds.saturating_mul(1_000_000_000);
    json!({
        "Test": check.command,
        "Interval": nanos(check.interval.unwrap_or(30)),
        "Timeout": nanos(check.timeout.unwrap_or(5)),
        "Retries": check.retries.unwrap_or(3),
        "StartPeriod": nanos(check.start_period.unwrap_or(0)),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    const ARN: &str = "arn:aws:ecs:us-east-1:111122223333:task/edge/0123456789abcdef0123456789abcdef";

    fn task(payload: Value) -> TaskPayload {
        serde_json::from_value(payload).unwrap()
    }

    fn placement() -> Placement<'static> {
        Placement {
            cluster: "edge",
            container_instance_arn: "arn:aws:ecs:us-east-1:111122223333:container-instance/edge/ci1",
            agent_id: "0123456789abcdef0123456789abcdef",
            environment: &[],
        }
    }

    #[test]
    fn a_payload_reads_with_ecs_defaults() {
        let spec = task(json!({
            "taskArn": ARN, "family": "web", "revision": 3, "desiredStatus": "RUNNING",
            "containers": [{"name": "app", "image": "busybox", "memory": 64, "unknownMember": {"x": 1}}]
        }));
        assert_eq!(spec.task_id(), "0123456789abcdef0123456789abcdef");
        assert_eq!(spec.network_mode(), "bridge");
        let app = spec.container("app").unwrap();
        assert!(app.is_essential());
        assert_eq!(app.stop_timeout(), 30);
        assert_eq!(docker_name_of(&spec, "app"), "ecs-web-3-app-0123456789ab");
    }

    #[test]
    fn the_container_config_carries_everything_ecs_sets() {
        let spec = task(json!({
            "taskArn": ARN, "family": "web", "revision": 3, "networkMode": "bridge",
            "containers": [
                {"name": "db", "image": "busybox", "memory": 32},
                {"name": "app", "image": "homeport-test/busybox:latest", "essential": true,
                 "command": ["sh", "-c", "sleep 60"], "entryPoint": ["/bin/env"],
                 "environment": [{"name": "MODE", "value": "prod"}, {"name": "EMPTY", "value": ""}],
                 "workingDirectory": "/srv", "user": "1000", "hostname": "app",
                 "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"},
                                  {"containerPort": 53, "hostPort": 5353, "protocol": "udp"}],
                 "cpu": 256, "memory": 128, "memoryReservation": 64, "stopTimeout": 5,
                 "links": ["db:database"], "dockerLabels": {"team": "ops"},
                 "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}}
            ]
        }));
        let credentials = [("AWS_CONTAINER_AUTHORIZATION_TOKEN".to_owned(), "t".to_owned())];
        let config = container_config(
            &spec,
            spec.container("app").unwrap(),
            &Placement { environment: &credentials, ..placement() },
        );
        assert_eq!(
            config,
            json!({
                "Image": "homeport-test/busybox:latest",
                "Cmd": ["sh", "-c", "sleep 60"],
                "Entrypoint": ["/bin/env"],
                "Env": ["MODE=prod", "EMPTY=", "AWS_CONTAINER_AUTHORIZATION_TOKEN=t"],
                "WorkingDir": "/srv",
                "User": "1000",
                "Hostname": "app",
                "StopTimeout": 5,
                "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
                "Labels": {
                    "team": "ops",
                    "com.amazonaws.ecs.task-arn": ARN,
                    "com.amazonaws.ecs.container-name": "app",
                    "com.amazonaws.ecs.cluster": "edge",
                    "com.amazonaws.ecs.task-definition-family": "web",
                    "com.amazonaws.ecs.task-definition-version": "3",
                    "homeport.container-instance-arn": "arn:aws:ecs:us-east-1:111122223333:container-instance/edge/ci1",
                    "homeport.agent-id": "0123456789abcdef0123456789abcdef",
                },
                "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000_u64, "Timeout": 5_000_000_000_u64,
                                "Retries": 3, "StartPeriod": 0},
                "HostConfig": {
                    "NetworkMode": "bridge",
                    "CpuShares": 256,
                    "Memory": 134_217_728,
                    "MemoryReservation": 67_108_864,
                    "PortBindings": {"80/tcp": [{"HostPort": ""}], "53/udp": [{"HostPort": "5353"}]},
                    "Links": ["ecs-web-3-db-0123456789ab:database"],
                },
            })
        );
        let db = container_config(&spec, spec.container("db").unwrap(), &placement());
        assert_eq!(db["HostConfig"]["CpuShares"], 2, "cpu 0 is 2 shares, as ECS's agent sets it");
        assert!(db.get("Cmd").is_none() && db.get("ExposedPorts").is_none());
        assert_eq!(db["StopTimeout"], 30);
    }

    #[test]
    fn host_and_none_network_modes_bind_no_ports() {
        let spec = task(json!({
            "taskArn": ARN, "family": "web", "revision": 1, "networkMode": "host",
            "containers": [{"name": "app", "image": "busybox", "hostname": "ignored",
                            "portMappings": [{"containerPort": 8080, "hostPort": 8080}]}]
        }));
        let config = container_config(&spec, &spec.containers[0], &placement());
        assert_eq!(config["HostConfig"]["NetworkMode"], "host");
        assert!(config["HostConfig"].get("PortBindings").is_none());
        assert!(config.get("Hostname").is_none(), "a host-mode container has the host's name");
        assert_eq!(config["ExposedPorts"], json!({"8080/tcp": {}}));
        let bindings = host_mode_bindings(&spec.containers[0]);
        assert_eq!(
            serde_json::to_value(bindings).unwrap(),
            json!([{"bindIP": "0.0.0.0", "containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}])
        );
    }

    #[test]
    fn names_stay_docker_safe() {
        assert_eq!(docker_name("web", 1, "app", "abc"), "ecs-web-1-app-abc");
        assert_eq!(docker_name("we b", 1, "a/p", "0123456789abcdef"), "ecs-we-b-1-a-p-0123456789ab");
    }
}
