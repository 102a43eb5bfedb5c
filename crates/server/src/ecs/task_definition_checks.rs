//! RegisterTaskDefinition's checks of what the agent acts on beyond the basics: the task's
//! `volumes` and its containers' `mountPoints` and `volumesFrom`, `pidMode` and `ipcMode`,
//! and the container settings the agent hands to Docker (`linuxParameters`, `ulimits`,
//! `systemControls`, `logConfiguration`'s driver, `resourceRequirements`).
//!
//! Guarantees: every reference resolves (a mount point names a volume of the task, a
//! `volumesFrom` another container of it), every value is one Docker accepts in the place
//! the agent puts it, and what the agent would not honour is refused with ECS's
//! `ClientException`; nothing is stored that the agent would ignore. These run after
//! `unsupported::check`, so only allowlisted members reach them.

use aws_protocol::AwsError;
use serde_json::{Map, Value as Json};

use crate::ecs::client;

/// The log drivers the agent starts containers with: `awslogs` (shipped by the agent) and
/// Docker's own, with their options passed to Docker as they are.
pub const LOG_DRIVERS: &[&str] = &["awslogs", "json-file", "syslog", "journald", "fluentd", "gelf", "none"];

/// The Linux capabilities ECS's `KernelCapabilities` accepts.
const CAPABILITIES: &[&str] = &[
    "ALL",
    "AUDIT_CONTROL",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

/// ECS's `UlimitName` values.
const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// `linuxParameters` members the agent applies.
const LINUX_PARAMETERS: &[&str] =
    &["capabilities", "devices", "initProcessEnabled", "sharedMemorySize", "tmpfs", "maxSwap", "swappiness"];

fn text<'a>(object: &'a Map<String, Json>, member: &str) -> &'a str {
    object.get(member).and_then(Json::as_str).unwrap_or_default()
}

fn items(value: Option<&Json>) -> impl Iterator<Item = &Json> {
    value.and_then(Json::as_array).into_iter().flatten()
}

fn valid_volume_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The task's volumes checked: their names (unique), one kind each, a `dockerVolumeConfiguration`
/// ECS would take. Returns the names.
pub fn volumes(task: &Json) -> Result<Vec<String>, AwsError> {
    let mut names: Vec<String> = Vec::new();
    for volume in items(task.get("volumes")) {
        let Some(volume) = volume.as_object() else { return Err(client("Volumes must be objects.")) };
        let name = text(volume, "name");
        if !valid_volume_name(name) {
            return Err(client(
                "Volume name should be between 1 and 255 characters and can contain letters, numbers, hyphens and underscores.",
            ));
        }
        if names.iter().any(|known| known == name) {
            return Err(client(format!("Duplicate volume name '{name}'.")));
        }
        let host = volume.get("host").filter(|h| !h.is_null());
        let docker = volume.get("dockerVolumeConfiguration").filter(|d| !d.is_null());
        if host.is_some() && docker.is_some() {
            return Err(client(format!(
                "Volume '{name}' cannot specify both host and dockerVolumeConfiguration; specify one of them."
            )));
        }
        if let Some(host) = host {
            // `host: {}` asks Docker for a volume of its own; a sourcePath must name something.
            let source = host.get("sourcePath").filter(|p| !p.is_null());
            if source.is_some_and(|p| p.as_str().is_none_or(str::is_empty)) {
                return Err(client("host.sourcePath should not be blank."));
            }
            let source = source.and_then(Json::as_str).unwrap_or_default();
            if !source.is_empty() && !source.starts_with('/') {
                return Err(client(format!("Invalid sourcePath '{source}' for volume '{name}'; it must be absolute.")));
            }
        }
        if let Some(docker) = docker.and_then(Json::as_object) {
            // `task` or `shared`: the model's enum, refused outside it before this runs.
            let scope = docker.get("scope").and_then(Json::as_str).unwrap_or("task");
            if docker.get("autoprovision") == Some(&Json::Bool(true)) && scope != "shared" {
                return Err(client(format!(
                    "Invalid dockerVolumeConfiguration for volume '{name}': autoprovision is only supported when scope is shared."
                )));
            }
            for member in ["driverOpts", "labels"] {
                let map = docker.get(member).filter(|m| !m.is_null());
                if map.is_some_and(|m| m.as_object().is_none_or(|m| m.values().any(|v| !v.is_string()))) {
                    return Err(client(format!(
                        "Invalid {member} for volume '{name}'; it must map strings to strings."
                    )));
                }
            }
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// A container's `mountPoints` and `volumesFrom` resolve in the task.
pub fn mounts(container: &Map<String, Json>, volumes: &[String], containers: &[&str]) -> Result<(), AwsError> {
    let name = text(container, "name");
    for mount in items(container.get("mountPoints")) {
        let Some(mount) = mount.as_object() else { return Err(client("Mount points must be objects.")) };
        let source = text(mount, "sourceVolume");
        if !volumes.iter().any(|volume| volume == source) {
            return Err(client(format!("Unknown volume '{source}'.")));
        }
        let path = text(mount, "containerPath");
        if !path.starts_with('/') {
            return Err(client(format!(
                "Invalid containerPath '{path}' in the mount points of container '{name}'; it must be absolute."
            )));
        }
    }
    for from in items(container.get("volumesFrom")) {
        let source = from.get("sourceContainer").and_then(Json::as_str).unwrap_or_default();
        if source == name || !containers.contains(&source) {
            return Err(client(format!("Invalid 'volumesFrom' setting. Unknown container: '{source}'.")));
        }
    }
    Ok(())
}

/// `pidMode` and `ipcMode`: ECS's values; `task` (namespaces shared by the task's containers,
/// which ECS does with a pause container the agent does not run) is refused.
pub fn namespaces(task: &Json) -> Result<(), AwsError> {
    for (member, allowed) in [("pidMode", &["host", "task"][..]), ("ipcMode", &["host", "task", "none"][..])] {
        match task.get(member) {
            None | Some(Json::Null) => {}
            Some(Json::String(mode)) if mode == "task" => {
                return Err(client(format!(
                    "Homeport does not support the task definition parameter '{member}' with the value 'task' yet; use host or leave it out."
                )));
            }
            Some(Json::String(mode)) if mode.is_empty() || allowed.contains(&mode.as_str()) => {}
            Some(other) => {
                return Err(client(format!("Invalid {member} {other}; use one of {}.", allowed.join(", "))));
            }
        }
    }
    Ok(())
}

/// The settings of one container the agent hands to Docker.
pub fn settings(container: &Map<String, Json>) -> Result<(), AwsError> {
    let name = text(container, "name");
    let invalid = |what: String| client(format!("Invalid setting for container '{name}'. {what}"));
    if let Some(linux) = container.get("linuxParameters").and_then(Json::as_object) {
        if let Some((member, _)) =
            linux.iter().find(|(member, value)| !LINUX_PARAMETERS.contains(&member.as_str()) && !value.is_null())
        {
            return Err(client(format!(
                "Homeport does not support the linuxParameters parameter '{member}' (container '{name}') yet; remove it from the task definition."
            )));
        }
        let capabilities = linux.get("capabilities");
        for capability in ["add", "drop"].iter().flat_map(|list| items(capabilities.and_then(|c| c.get(*list)))) {
            let capability = capability.as_str().unwrap_or_default();
            if !CAPABILITIES.contains(&capability) {
                return Err(invalid(format!("'{capability}' is not a valid Linux capability.")));
            }
        }
        for device in items(linux.get("devices")) {
            if device.get("hostPath").and_then(Json::as_str).is_none_or(|p| !p.starts_with('/')) {
                return Err(invalid("Each device needs an absolute hostPath.".to_owned()));
            }
            // Its permissions are the model's enum (read, write, mknod), refused before this runs.
        }
        for mount in items(linux.get("tmpfs")) {
            if mount.get("containerPath").and_then(Json::as_str).is_none_or(|p| !p.starts_with('/')) {
                return Err(invalid("Each tmpfs mount needs an absolute containerPath.".to_owned()));
            }
            if mount.get("size").and_then(Json::as_i64).is_none_or(|size| size <= 0) {
                return Err(invalid("The tmpfs size must be greater than 0.".to_owned()));
            }
        }
        if linux.get("sharedMemorySize").and_then(Json::as_i64).is_some_and(|size| size <= 0) {
            return Err(invalid("sharedMemorySize must be greater than 0.".to_owned()));
        }
        if linux.get("swappiness").and_then(Json::as_i64).is_some_and(|value| !(0..=100).contains(&value)) {
            return Err(invalid("swappiness must be between 0 and 100.".to_owned()));
        }
        if let Some(swap) = linux.get("maxSwap").and_then(Json::as_i64) {
            if swap < 0 {
                return Err(invalid("maxSwap must be 0 or greater.".to_owned()));
            }
            // Docker's swap limit counts the memory limit in.
            if container.get("memory").and_then(Json::as_i64).is_none() {
                return Err(invalid("maxSwap needs the container's 'memory' limit.".to_owned()));
            }
        }
    }
    for ulimit in items(container.get("ulimits")) {
        let limit = ulimit.get("name").and_then(Json::as_str).unwrap_or_default();
        if !ULIMITS.contains(&limit) {
            return Err(invalid(format!("'{limit}' is not a valid ulimit name.")));
        }
        let soft = ulimit.get("softLimit").and_then(Json::as_i64).unwrap_or(0);
        let hard = ulimit.get("hardLimit").and_then(Json::as_i64).unwrap_or(0);
        if soft > hard {
            return Err(invalid(format!("The soft limit of ulimit '{limit}' is greater than its hard limit.")));
        }
    }
    for control in items(container.get("systemControls")) {
        if control.get("namespace").and_then(Json::as_str).is_none_or(str::is_empty) {
            return Err(invalid("Each systemControl needs a namespace.".to_owned()));
        }
    }
    for host in items(container.get("extraHosts")) {
        if host.get("hostname").and_then(Json::as_str).is_none_or(str::is_empty)
            || host.get("ipAddress").and_then(Json::as_str).is_none_or(str::is_empty)
        {
            return Err(invalid("Each extraHost needs a hostname and an ipAddress.".to_owned()));
        }
    }
    if let Some(requirement) = items(container.get("resourceRequirements")).next() {
        let kind = requirement.get("type").and_then(Json::as_str).unwrap_or_default();
        // A GPU would have to be counted per instance and handed to one task at a time
        // (ECS registers each GPU's id); until the agent does, it is refused, never shared.
        return Err(client(format!(
            "Homeport does not support the resource requirement '{kind}' (container '{name}') yet; remove it from the task definition."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;

    #[test]
    fn volumes_and_mounts_resolve_or_are_refused_with_ecs_words() {
        let task = json!({"volumes": [
            {"name": "data", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true, "driver": "local",
                                                           "driverOpts": {"type": "tmpfs"}, "labels": {"a": "b"}}},
            {"name": "config", "host": {"sourcePath": "/etc/app"}},
            {"name": "scratch", "host": {}},
            {"name": "plain"},
        ]});
        let names = volumes(&task).unwrap();
        assert_eq!(names, ["data", "config", "scratch", "plain"]);
        let app = json!({"name": "app", "mountPoints": [{"sourceVolume": "data", "containerPath": "/data", "readOnly": true}],
                         "volumesFrom": [{"sourceContainer": "side"}]});
        assert!(mounts(app.as_object().unwrap(), &names, &["app", "side"]).is_ok());
        let refused = [
            (
                json!({"name": "app", "mountPoints": [{"sourceVolume": "nope", "containerPath": "/x"}]}),
                "Unknown volume 'nope'.",
            ),
            (
                json!({"name": "app", "mountPoints": [{"sourceVolume": "data", "containerPath": "x"}]}),
                "Invalid containerPath 'x' in the mount points of container 'app'; it must be absolute.",
            ),
            (
                json!({"name": "app", "volumesFrom": [{"sourceContainer": "ghost"}]}),
                "Invalid 'volumesFrom' setting. Unknown container: 'ghost'.",
            ),
            (
                json!({"name": "app", "volumesFrom": [{"sourceContainer": "app"}]}),
                "Invalid 'volumesFrom' setting. Unknown container: 'app'.",
            ),
        ];
        for (container, message) in refused {
            let error = mounts(container.as_object().unwrap(), &names, &["app", "side"]).unwrap_err();
            assert_eq!((error.code.as_str(), error.message.as_str()), ("ClientException", message));
        }
        let bad_volumes = [
            (json!([{"name": "a"}, {"name": "a"}]), "Duplicate volume name 'a'."),
            (json!([{"name": "a b"}]), "Volume name should be"),
            (json!([{"name": "a", "host": {}, "dockerVolumeConfiguration": {}}]), "cannot specify both"),
            (
                json!([{"name": "a", "dockerVolumeConfiguration": {"autoprovision": true}}]),
                "only supported when scope is shared",
            ),
            (
                json!([{"name": "a", "dockerVolumeConfiguration": {"scope": "shared", "labels": {"a": 1}}}]),
                "Invalid labels",
            ),
            (json!([{"name": "a", "host": {"sourcePath": "relative"}}]), "it must be absolute"),
            (json!([{"name": "a", "host": {"sourcePath": ""}}]), "host.sourcePath should not be blank."),
        ];
        for (list, message) in bad_volumes {
            let error = volumes(&json!({"volumes": list})).unwrap_err();
            assert_eq!(error.code, "ClientException");
            assert!(error.message.contains(message), "{list}: {}", error.message);
        }
    }

    #[test]
    fn container_settings_docker_would_refuse_are_refused_first() {
        let accepted = json!({"name": "app",
            "linuxParameters": {"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}, "initProcessEnabled": true,
                                "devices": [{"hostPath": "/dev/null", "containerPath": "/dev/nothing", "permissions": ["read"]}],
                                "tmpfs": [{"containerPath": "/run", "size": 64, "mountOptions": ["noexec"]}],
                                "sharedMemorySize": 128, "maxSwap": 0, "swappiness": 10}, "memory": 64,
            "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
            "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
            "extraHosts": [{"hostname": "db", "ipAddress": "10.0.0.1"}]});
        assert!(settings(accepted.as_object().unwrap()).is_ok());
        let refused = [
            (
                json!({"linuxParameters": {"capabilities": {"add": ["SUPERPOWER"]}}}),
                "'SUPERPOWER' is not a valid Linux capability.",
            ),
            (
                json!({"linuxParameters": {"tmpfs": [{"containerPath": "/run"}]}}),
                "The tmpfs size must be greater than 0.",
            ),
            (json!({"linuxParameters": {"swappiness": 101}}), "swappiness must be between 0 and 100."),
            (json!({"linuxParameters": {"maxSwap": 64}}), "maxSwap needs the container's 'memory' limit."),
            (json!({"linuxParameters": {"devices": [{"containerPath": "/dev/x"}]}}), "absolute hostPath"),
            (json!({"linuxParameters": {"futureThing": 1}}), "linuxParameters parameter 'futureThing'"),
            (
                json!({"ulimits": [{"name": "files", "softLimit": 1, "hardLimit": 1}]}),
                "'files' is not a valid ulimit name.",
            ),
            (json!({"ulimits": [{"name": "nofile", "softLimit": 2, "hardLimit": 1}]}), "greater than its hard limit"),
            (json!({"resourceRequirements": [{"type": "GPU", "value": "1"}]}), "resource requirement 'GPU'"),
        ];
        for (container, message) in refused {
            let mut container = container.as_object().unwrap().clone();
            container.insert("name".to_owned(), json!("app"));
            let error = settings(&container).unwrap_err();
            assert_eq!(error.code, "ClientException");
            assert!(error.message.contains(message), "{container:?}: {}", error.message);
        }
        assert!(namespaces(&json!({"pidMode": "host", "ipcMode": "none"})).is_ok());
        assert!(namespaces(&json!({"pidMode": "task"})).unwrap_err().message.contains("Homeport does not support"));
        assert!(namespaces(&json!({"pidMode": "", "ipcMode": null})).is_ok());
        assert!(namespaces(&json!({"pidMode": "none"})).unwrap_err().message.contains("pidMode"));
    }
}
