//! The container definition's settings beyond the basics (`task_spec` maps those), as members
//! of Docker's container-create body (`task_spec::container_config`'s, which `apply` extends
//! before `ecs::containers` sends it), each in a function of its own: the task's volumes mounted (`mountPoints`, `volumesFrom`), the
//! Linux settings (`linuxParameters`, `ulimits`, `systemControls`, `privileged`,
//! `readonlyRootFilesystem`, `pidMode`/`ipcMode`), name resolution (`extraHosts`,
//! `dnsServers`, `dnsSearchDomains`) and Docker's own log drivers.
//!
//! What the control plane accepted is applied as ECS's agent applies it: sizes in MiB become
//! bytes, `maxSwap` is added to the memory limit (Docker's `MemorySwap` counts both), a
//! `tmpfs` size is Docker's `size=Nm` option, a device's permissions are cgroup letters. The
//! task's Docker volumes are named here too ([`docker_volume_name`]), for `ecs::volumes` to
//! create and remove.

use serde_json::{Map, Value, json};

use crate::task_spec::{ContainerDefinition, TaskPayload, Volume, docker_name, docker_name_of};

/// The log driver the agent ships itself; Docker keeps such a container's output in its
/// default driver for the agent to read.
const AGENT_LOG_DRIVER: &str = "awslogs";

const MIB: i64 = 1024 * 1024;

/// Adds the definition's settings to `config`, the body of `POST /containers/create`.
pub fn apply(task: &TaskPayload, container: &ContainerDefinition, config: &mut Value) {
    let Some(config) = config.as_object_mut() else { return };
    let mut host = match config.remove("HostConfig") {
        Some(Value::Object(host)) => host,
        _ => Map::new(),
    };
    mounts(task, container, &mut host);
    linux(container, &mut host);
    namespaces(task, &mut host);
    name_resolution(container, &mut host);
    logging(container, &mut host);
    config.insert("HostConfig".to_owned(), Value::Object(host));
}

/// The Docker volume a task volume is: a shared volume by its own name, the task's own
/// (`task` scope, or a volume with neither a host path nor a configuration) by
/// `ecs-FAMILY-REVISION-VOLUME-TASKID12`; `None` for a host path.
pub fn docker_volume_name(task: &TaskPayload, volume: &Volume) -> Option<String> {
    if volume.host.as_ref().and_then(|h| h.source_path.as_deref()).is_some_and(|p| !p.is_empty()) {
        return None;
    }
    match &volume.docker_volume_configuration {
        Some(configuration) if configuration.is_shared() => Some(volume.name.clone()),
        _ => Some(docker_name(&task.family, task.revision, &volume.name, task.task_id())),
    }
}

/// `mountPoints` as `Binds` (`SOURCE:PATH[:ro]`), `volumesFrom` as `VolumesFrom`.
fn mounts(task: &TaskPayload, container: &ContainerDefinition, host: &mut Map<String, Value>) {
    let binds: Vec<String> = container
        .mount_points()
        .iter()
        .filter_map(|mount| {
            let volume = task.volume(&mount.source_volume)?;
            let source = match docker_volume_name(task, volume) {
                Some(name) => name,
                None => volume.host.as_ref()?.source_path.clone()?,
            };
            let mode = if mount.read_only == Some(true) { ":ro" } else { "" };
            Some(format!("{source}:{}{mode}", mount.container_path))
        })
        .collect();
    if !binds.is_empty() {
        host.insert("Binds".to_owned(), json!(binds));
    }
    let from: Vec<String> = container
        .volumes_from()
        .iter()
        .map(|from| {
            let mode = if from.read_only == Some(true) { "ro" } else { "rw" };
            format!("{}:{mode}", docker_name_of(task, &from.source_container))
        })
        .collect();
    if !from.is_empty() {
        host.insert("VolumesFrom".to_owned(), json!(from));
    }
}

fn member<'a>(container: &'a ContainerDefinition, name: &str) -> Option<&'a Value> {
    container.other.get(name).filter(|value| !value.is_null())
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    value.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
}

/// `linuxParameters`, `ulimits`, `systemControls`, `privileged`, `readonlyRootFilesystem`.
fn linux(container: &ContainerDefinition, host: &mut Map<String, Value>) {
    let mut set = |name: &str, value: Value| {
        host.insert(name.to_owned(), value);
    };
    if let Some(linux) = member(container, "linuxParameters") {
        let capabilities = linux.get("capabilities");
        for (list, docker) in [("add", "CapAdd"), ("drop", "CapDrop")] {
            let names = strings(capabilities.and_then(|c| c.get(list)));
            if !names.is_empty() {
                set(docker, json!(names));
            }
        }
        if linux.get("initProcessEnabled") == Some(&Value::Bool(true)) {
            set("Init", json!(true));
        }
        let devices: Vec<Value> = linux
            .get("devices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|device| {
                let host_path = device.get("hostPath").and_then(Value::as_str).unwrap_or_default();
                let permissions = strings(device.get("permissions"));
                let letters: String = if permissions.is_empty() {
                    "rwm".to_owned()
                } else {
                    [("read", 'r'), ("write", 'w'), ("mknod", 'm')]
                        .iter()
                        .filter(|(word, _)| permissions.contains(word))
                        .map(|(_, letter)| *letter)
                        .collect()
                };
                json!({
                    "PathOnHost": host_path,
                    "PathInContainer": device.get("containerPath").and_then(Value::as_str).unwrap_or(host_path),
                    "CgroupPermissions": letters,
                })
            })
            .collect();
        if !devices.is_empty() {
            set("Devices", json!(devices));
        }
        let tmpfs: Map<String, Value> = linux
            .get("tmpfs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|mount| {
                let path = mount.get("containerPath").and_then(Value::as_str)?;
                let size = mount.get("size").and_then(Value::as_i64)?;
                let mut options = vec![format!("size={size}m")];
                options.extend(strings(mount.get("mountOptions")).into_iter().map(str::to_owned));
                Some((path.to_owned(), json!(options.join(","))))
            })
            .collect();
        if !tmpfs.is_empty() {
            set("Tmpfs", Value::Object(tmpfs));
        }
        if let Some(size) = linux.get("sharedMemorySize").and_then(Value::as_i64) {
            set("ShmSize", json!(size.saturating_mul(MIB)));
        }
        if let (Some(swap), Some(memory)) = (linux.get("maxSwap").and_then(Value::as_i64), container.memory) {
            set("MemorySwap", json!(memory.saturating_add(swap).saturating_mul(MIB)));
        }
        if let Some(swappiness) = linux.get("swappiness").and_then(Value::as_i64) {
            set("MemorySwappiness", json!(swappiness));
        }
    }
    let ulimits: Vec<Value> = member(container, "ulimits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|ulimit| json!({"Name": ulimit.get("name"), "Soft": ulimit.get("softLimit"), "Hard": ulimit.get("hardLimit")}))
        .collect();
    if !ulimits.is_empty() {
        set("Ulimits", json!(ulimits));
    }
    let sysctls: Map<String, Value> = member(container, "systemControls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|control| {
            let namespace = control.get("namespace").and_then(Value::as_str)?;
            Some((namespace.to_owned(), json!(control.get("value").and_then(Value::as_str).unwrap_or_default())))
        })
        .collect();
    if !sysctls.is_empty() {
        set("Sysctls", Value::Object(sysctls));
    }
    for (definition, docker) in [("privileged", "Privileged"), ("readonlyRootFilesystem", "ReadonlyRootfs")] {
        if member(container, definition) == Some(&Value::Bool(true)) {
            set(docker, json!(true));
        }
    }
}

/// The task's `pidMode` and `ipcMode` (`host`, or `none` for IPC).
fn namespaces(task: &TaskPayload, host: &mut Map<String, Value>) {
    for (mode, docker) in [(&task.settings.pid_mode, "PidMode"), (&task.settings.ipc_mode, "IpcMode")] {
        if let Some(mode) = mode.as_deref().filter(|mode| matches!(*mode, "host" | "none")) {
            host.insert(docker.to_owned(), json!(mode));
        }
    }
}

/// `extraHosts` (`HOST:IP`), `dnsServers`, `dnsSearchDomains`.
fn name_resolution(container: &ContainerDefinition, host: &mut Map<String, Value>) {
    let extra: Vec<String> = member(container, "extraHosts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let name = entry.get("hostname").and_then(Value::as_str)?;
            let address = entry.get("ipAddress").and_then(Value::as_str)?;
            Some(format!("{name}:{address}"))
        })
        .collect();
    if !extra.is_empty() {
        host.insert("ExtraHosts".to_owned(), json!(extra));
    }
    for (definition, docker) in [("dnsServers", "Dns"), ("dnsSearchDomains", "DnsSearch")] {
        let values = strings(member(container, definition));
        if !values.is_empty() {
            host.insert(docker.to_owned(), json!(values));
        }
    }
}

/// A log driver of Docker's own (`json-file`, `syslog`, `journald`, `fluentd`, `gelf`,
/// `none`) as `LogConfig`, its options passed as they are.
fn logging(container: &ContainerDefinition, host: &mut Map<String, Value>) {
    let Some(logging) = &container.log_configuration else { return };
    if logging.log_driver.is_empty() || logging.log_driver == AGENT_LOG_DRIVER {
        return;
    }
    host.insert("LogConfig".to_owned(), json!({"Type": logging.log_driver, "Config": logging.options}));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    const ARN: &str = "arn:aws:ecs:us-east-1:111122223333:task/edge/0123456789abcdef0123456789abcdef";

    fn task(payload: Value) -> TaskPayload {
        serde_json::from_value(payload).unwrap()
    }

    fn host_config(task: &TaskPayload, container: &str) -> Value {
        let mut config = json!({"HostConfig": {"NetworkMode": "bridge", "Memory": 1}});
        apply(task, task.container(container).unwrap(), &mut config);
        config["HostConfig"].clone()
    }

    #[test]
    fn volumes_become_binds_and_named_volumes() {
        let spec = task(json!({
            "taskArn": ARN, "family": "db", "revision": 2,
            "volumes": [
                {"name": "data", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true}},
                {"name": "cache", "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}},
                {"name": "config", "host": {"sourcePath": "/etc/app"}},
                {"name": "scratch", "host": {}},
                {"name": "bare"},
            ],
            "containers": [
                {"name": "app", "image": "busybox",
                 "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"},
                                 {"sourceVolume": "cache", "containerPath": "/cache", "readOnly": false},
                                 {"sourceVolume": "config", "containerPath": "/config", "readOnly": true},
                                 {"sourceVolume": "scratch", "containerPath": "/scratch"},
                                 {"sourceVolume": "bare", "containerPath": "/bare"}]},
                {"name": "side", "image": "busybox", "volumesFrom": [{"sourceContainer": "app", "readOnly": true}]},
            ]
        }));
        let app = host_config(&spec, "app");
        assert_eq!(
            app["Binds"],
            json!([
                "data:/data",
                "ecs-db-2-cache-0123456789ab:/cache",
                "/etc/app:/config:ro",
                "ecs-db-2-scratch-0123456789ab:/scratch",
                "ecs-db-2-bare-0123456789ab:/bare",
            ])
        );
        assert_eq!(app["NetworkMode"], "bridge", "what task_spec set is kept");
        assert!(app.get("VolumesFrom").is_none());
        let side = host_config(&spec, "side");
        assert_eq!(side["VolumesFrom"], json!(["ecs-db-2-app-0123456789ab:ro"]));
        assert!(side.get("Binds").is_none());
        assert_eq!(docker_volume_name(&spec, spec.volume("config").unwrap()), None);
        // volumesFrom makes the source a START dependency (it must exist to be named).
        assert_eq!(spec.container("side").unwrap().dependencies()[0].container_name, "app");
    }

    #[test]
    fn linux_settings_names_and_drivers_map_to_docker_members() {
        let spec = task(json!({
            "taskArn": ARN, "family": "web", "revision": 1, "pidMode": "host", "ipcMode": "none",
            "containers": [{
                "name": "app", "image": "busybox", "memory": 64,
                "linuxParameters": {
                    "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"], "drop": ["MKNOD"]},
                    "initProcessEnabled": true,
                    "devices": [{"hostPath": "/dev/fuse", "permissions": ["read", "write"]},
                                {"hostPath": "/dev/null", "containerPath": "/dev/nothing"}],
                    "tmpfs": [{"containerPath": "/run", "size": 64, "mountOptions": ["noexec", "nosuid"]}],
                    "sharedMemorySize": 128, "maxSwap": 32, "swappiness": 10
                },
                "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
                "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
                "privileged": true, "readonlyRootFilesystem": true,
                "extraHosts": [{"hostname": "db", "ipAddress": "10.0.0.1"}],
                "dnsServers": ["10.0.0.2"], "dnsSearchDomains": ["corp.example"],
                "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}
            }, {
                "name": "quiet", "image": "busybox", "privileged": false, "linuxParameters": {},
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}}
            }]
        }));
        assert_eq!(
            host_config(&spec, "app"),
            json!({
                "NetworkMode": "bridge", "Memory": 1,
                "CapAdd": ["NET_ADMIN", "SYS_TIME"], "CapDrop": ["MKNOD"], "Init": true,
                "Devices": [
                    {"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rw"},
                    {"PathOnHost": "/dev/null", "PathInContainer": "/dev/nothing", "CgroupPermissions": "rwm"},
                ],
                "Tmpfs": {"/run": "size=64m,noexec,nosuid"},
                "ShmSize": 134_217_728,
                "MemorySwap": 100_663_296,
                "MemorySwappiness": 10,
                "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 4096}],
                "Sysctls": {"net.core.somaxconn": "1024"},
                "Privileged": true, "ReadonlyRootfs": true,
                "PidMode": "host", "IpcMode": "none",
                "ExtraHosts": ["db:10.0.0.1"], "Dns": ["10.0.0.2"], "DnsSearch": ["corp.example"],
                "LogConfig": {"Type": "json-file", "Config": {"max-file": "3", "max-size": "10m"}},
            })
        );
        assert_eq!(
            host_config(&spec, "quiet"),
            json!({"NetworkMode": "bridge", "Memory": 1, "PidMode": "host", "IpcMode": "none"}),
            "awslogs is the agent's: Docker keeps its default driver for the agent to read"
        );
        let none = task(json!({"taskArn": ARN, "containers": [
            {"name": "app", "image": "busybox", "logConfiguration": {"logDriver": "none"}}]}));
        assert_eq!(host_config(&none, "app")["LogConfig"], json!({"Type": "none", "Config": {}}));
    }
}
