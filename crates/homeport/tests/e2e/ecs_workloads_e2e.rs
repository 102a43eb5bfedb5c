//! Real workloads end to end: a real `homeport agent` runs tasks with the real Docker, their
//! definitions registered and their tasks run with the real aws CLI.
//!
//! Covered: a task writes to a `shared` Docker volume (autoprovisioned with the definition's
//! driver and labels), is stopped, and its successor reads the data; a host path mounted
//! `readOnly` cannot be written; a container reads its own metadata (its `ContainerARN`
//! is DescribeTasks' own), its task's (with its tags through `taskWithTags`) and its
//! stats from `ECS_CONTAINER_METADATA_URI_V4` (and v3) in ECS's shapes, and neither its
//! task's answer nor its environment says anything of another task's, whose id it cannot
//! guess (a wrong id is a 404); a sidecar reading through `volumesFrom`; a task-scoped
//! volume named for its task; the container settings the agent hands to Docker
//! (`linuxParameters`, `ulimits`, `extraHosts`, `dnsServers`, `systemControls`, `pidMode`, `ipcMode`, the
//! `json-file` driver's options) as `docker inspect` shows them; RegisterTaskDefinition's
//! refusals in ECS's words (an unknown volume, a GPU requirement).
//!
//! Without Docker (or busybox) the test says it did not run, except in CI, where it fails.
//! Every container it creates carries its own cluster's label and is removed when the test
//! ends, failed or not; so are its volumes.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use common::ecs::{Containers, ECS_POLICY, Ecs, IMAGE, SSM_POLICY, busybox_ready, docker, instance_role, wait_for};
use common::{Agent, Server, register_agent};

/// Removes the test's volumes when dropped (declared before `Containers`, so after the
/// containers that use them are removed).
#[derive(Default)]
struct Volumes(std::cell::RefCell<Vec<String>>);

impl Volumes {
    fn add(&self, name: &str) -> String {
        self.0.borrow_mut().push(name.to_owned());
        name.to_owned()
    }
}

impl Drop for Volumes {
    fn drop(&mut self) {
        for name in self.0.borrow().iter() {
            let _ = Command::new("docker").args(["volume", "rm", "-f", name]).output();
        }
    }
}

/// The one running container of a task.
fn container_of(containers: &Containers, task: &str) -> String {
    wait_for("the task's container", Duration::from_secs(30), || containers.of_task(task, false).into_iter().next())
}

/// The running container `name` of a task.
fn named_container(task: &str, name: &str) -> String {
    wait_for(&format!("container {name}"), Duration::from_secs(30), || {
        let task_filter = format!("label=com.amazonaws.ecs.task-arn={task}");
        let name_filter = format!("label=com.amazonaws.ecs.container-name={name}");
        let ids = docker(&["ps", "-q", "--no-trunc", "--filter", &task_filter, "--filter", &name_filter]);
        ids.lines().next().map(str::to_owned)
    })
}

/// A variable of a container's environment.
fn container_env(id: &str, name: &str) -> String {
    let env: Vec<String> = serde_json::from_str(&docker(&["inspect", "--format", "{{json .Config.Env}}", id])).unwrap();
    env.iter().find_map(|entry| entry.strip_prefix(&format!("{name}="))).unwrap().to_owned()
}

/// `docker exec`s a shell command in a container: its status and output.
fn exec(id: &str, script: &str) -> (bool, String) {
    let output = Command::new("docker").args(["exec", id, "sh", "-c", script]).output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
}

/// GETs a metadata path from inside a container: the JSON answer, or `None` when refused.
fn metadata(id: &str, url: &str) -> Option<Value> {
    let (ok, body) = exec(id, &format!("wget -q -O - '{url}'"));
    ok.then(|| serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}")))
}

/// The output a container has written so far.
fn logs(id: &str) -> String {
    let output = Command::new("docker").args(["logs", id]).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// RegisterTaskDefinition expected to be refused: the CLI's error text.
fn refused_registration(server: &Server, definition: &Value) -> String {
    let file = server.data_dir.with_file_name("refused-definition.json");
    std::fs::write(&file, definition.to_string()).unwrap();
    let argument = format!("file://{}", file.display());
    let output =
        server.aws(&server.root_credentials(), &["ecs", "register-task-definition", "--cli-input-json", &argument]);
    assert!(!output.status.success(), "registered: {definition}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn volumes_metadata_and_container_settings_reach_docker() {
    let Some(dir) = busybox_ready("the ECS workloads end-to-end test", "ecs-workloads") else { return };
    let cluster = format!("workloads-{}", std::process::id());
    // Declared first, dropped last: after the containers that use it are removed.
    let volumes_made = Volumes::default();
    let shared = volumes_made.add(&format!("homeport-test-data-{}", std::process::id()));
    let containers = Containers { cluster: cluster.clone() };
    let server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    instance_role(&server, &[SSM_POLICY, ECS_POLICY]);
    server.aws_json(&root, &["ecs", "create-cluster", "--cluster-name", &cluster]);
    let activation = server.aws_json(&root, &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole"]);
    let state = dir.join("agent");
    let registered = register_agent(&server, &activation, &cluster, &state, &[]);
    assert!(registered.status.success(), "{}", String::from_utf8_lossy(&registered.stderr));
    let _agent = Agent::start(&state);
    let ecs = Ecs { server: &server, cluster: cluster.clone() };
    wait_for("a connected container instance", Duration::from_secs(60), || {
        let listed = ecs.call(&["list-container-instances"]);
        (!listed["containerInstanceArns"].as_array()?.is_empty()).then_some(())
    });

    // RegisterTaskDefinition refuses what cannot run, in ECS's words.
    let unknown = refused_registration(
        &server,
        &json!({"family": "broken", "containerDefinitions": [{"name": "app", "image": IMAGE, "memory": 16,
                "mountPoints": [{"sourceVolume": "nowhere", "containerPath": "/data"}]}]}),
    );
    assert!(unknown.contains("(ClientException)") && unknown.contains("Unknown volume 'nowhere'."), "{unknown}");
    let gpu = refused_registration(
        &server,
        &json!({"family": "broken", "containerDefinitions": [{"name": "app", "image": IMAGE, "memory": 16,
                "resourceRequirements": [{"type": "GPU", "value": "1"}]}]}),
    );
    assert!(gpu.contains("(ClientException)") && gpu.contains("'GPU'"), "{gpu}");

    // A shared volume outlives the task that wrote to it; its successor reads the data.
    let volume = json!([{"name": "data", "dockerVolumeConfiguration": {
        "scope": "shared", "autoprovision": true, "driver": "local", "labels": {"team": "ops"}}}]);
    // (The shared volume's Docker name is the definition's volume name: unique per run here.)
    let volumes = json!([{"name": shared, "dockerVolumeConfiguration": volume[0]["dockerVolumeConfiguration"]}]);
    let mount = json!([{"sourceVolume": shared, "containerPath": "/data"}]);
    let mut writer_volumes = volumes.clone();
    writer_volumes
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "scratch", "dockerVolumeConfiguration": {"scope": "task"}}));
    let mut writer_mounts = mount.clone();
    writer_mounts.as_array_mut().unwrap().push(json!({"sourceVolume": "scratch", "containerPath": "/scratch"}));
    ecs.register_definition(json!({
        "family": "writer", "volumes": writer_volumes,
        "containerDefinitions": [{"name": "app", "image": IMAGE, "memory": 16, "stopTimeout": 2, "mountPoints": writer_mounts,
            "command": ["sh", "-c", "echo persisted-across-tasks > /data/greeting && echo written && exec sleep 600"]}],
    }));
    let writer = ecs.run_task("writer", &[]).remove(0);
    ecs.await_status(std::slice::from_ref(&writer), "RUNNING", Duration::from_secs(60));
    let writer_container = container_of(&containers, &writer);
    wait_for("the writer's line", Duration::from_secs(20), || {
        logs(&writer_container).contains("written").then_some(())
    });
    // The task's own volume is named for it (removed with it after ECS's three-hour clean-up wait).
    let scratch = format!("ecs-writer-1-scratch-{}", &writer.rsplit('/').next().unwrap()[..12]);
    assert_eq!(docker(&["volume", "inspect", "--format", "{{.Name}}", &scratch]).trim(), scratch);
    volumes_made.add(&scratch);
    let labels = docker(&["volume", "inspect", "--format", "{{json .Labels}}", &shared]);
    assert_eq!(serde_json::from_str::<Value>(&labels).unwrap()["team"], "ops", "{labels}");
    ecs.call(&["stop-task", "--task", &writer]);
    ecs.await_status(std::slice::from_ref(&writer), "STOPPED", Duration::from_secs(60));
    ecs.register_definition(json!({
        "family": "reader", "volumes": volumes,
        "containerDefinitions": [{"name": "app", "image": IMAGE, "memory": 16, "stopTimeout": 2, "mountPoints": mount,
            "command": ["sh", "-c", "cat /data/greeting; exec sleep 600"]}],
    }));
    let reader = ecs.run_task("reader", &[]).remove(0);
    ecs.await_status(std::slice::from_ref(&reader), "RUNNING", Duration::from_secs(60));
    let reader_container = container_of(&containers, &reader);
    let read = wait_for("the reader's line", Duration::from_secs(20), || {
        let text = logs(&reader_container);
        (!text.is_empty()).then_some(text)
    });
    assert_eq!(read.trim(), "persisted-across-tasks");
    ecs.call(&["stop-task", "--task", &reader]);

    // A host path mounted readOnly is read, never written.
    let host_dir = dir.join("config");
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::write(host_dir.join("setting"), "from-the-host\n").unwrap();
    ecs.register_definition(json!({
        "family": "bound",
        "volumes": [{"name": "config", "host": {"sourcePath": host_dir.to_str().unwrap()}}],
        "containerDefinitions": [
            {"name": "app", "image": IMAGE, "memory": 16, "stopTimeout": 2,
             "mountPoints": [{"sourceVolume": "config", "containerPath": "/config", "readOnly": true}],
             "command": ["sh", "-c", "cat /config/setting; (echo x > /config/new) 2>/dev/null && echo WRITABLE || echo READ-ONLY; exec sleep 600"]},
            {"name": "side", "image": IMAGE, "memory": 16, "stopTimeout": 2, "essential": false,
             "volumesFrom": [{"sourceContainer": "app", "readOnly": true}],
             "command": ["sh", "-c", "cat /config/setting; exec sleep 600"]},
        ],
    }));
    let bound = ecs.run_task("bound", &[]).remove(0);
    ecs.await_status(std::slice::from_ref(&bound), "RUNNING", Duration::from_secs(60));
    let bound_container = named_container(&bound, "app");
    let said = wait_for("the bound task's lines", Duration::from_secs(20), || {
        let text = logs(&bound_container);
        (text.lines().count() >= 2).then_some(text)
    });
    assert_eq!(said.lines().collect::<Vec<_>>(), ["from-the-host", "READ-ONLY"]);
    assert!(!host_dir.join("new").exists(), "nothing was written through the read-only mount");
    // The sidecar mounts what the app mounts (`volumesFrom`), once the app exists.
    let side = named_container(&bound, "side");
    let side_said = wait_for("the sidecar's line", Duration::from_secs(20), || {
        let text = logs(&side);
        (!text.is_empty()).then_some(text)
    });
    assert_eq!(side_said.trim(), "from-the-host");

    // Task metadata: each container reads its own, and nothing of the other task's.
    ecs.register_definition(json!({
        "family": "meta", "cpu": "256", "memory": "64",
        "containerDefinitions": [{"name": "app", "image": IMAGE, "memory": 16, "cpu": 64, "stopTimeout": 2,
                                  "dockerLabels": {"team": "ops"}, "command": ["sleep", "600"]}],
    }));
    let tasks = ecs.run_task("meta", &["--count", "2", "--tags", "key=team,value=ops"]);
    ecs.await_status(&tasks, "RUNNING", Duration::from_secs(60));
    let ids: Vec<String> = tasks.iter().map(|task| container_of(&containers, task)).collect();
    let uris: Vec<String> = ids.iter().map(|id| container_env(id, "ECS_CONTAINER_METADATA_URI_V4")).collect();
    assert!(uris[0].starts_with("http://169.254.170.2:") && uris[0].contains("/v4/"), "{}", uris[0]);
    assert_ne!(uris[0], uris[1]);
    let own = metadata(&ids[0], &uris[0]).expect("its own metadata");
    assert_eq!(own["DockerId"], ids[0].as_str(), "{own}");
    assert_eq!((own["Name"].as_str(), own["KnownStatus"].as_str()), (Some("app"), Some("RUNNING")), "{own}");
    assert_eq!(own["Labels"]["com.amazonaws.ecs.task-arn"], tasks[0].as_str(), "{own}");
    assert_eq!(own["Labels"]["team"], "ops", "{own}");
    assert!(own["Labels"].get("homeport.agent-id").is_none(), "Homeport's bookkeeping is not the task's: {own}");
    assert_eq!(own["Limits"], json!({"CPU": 64, "Memory": 16}), "{own}");
    assert!(own["ImageID"].as_str().unwrap().starts_with("sha256:"), "{own}");
    assert_eq!(own["Networks"][0]["NetworkMode"], "bridge", "{own}");
    let task = metadata(&ids[0], &format!("{}/task", uris[0])).expect("its task's metadata");
    assert_eq!((task["TaskARN"].as_str(), task["Cluster"].as_str()), (Some(tasks[0].as_str()), Some(cluster.as_str())));
    assert_eq!((task["Family"].as_str(), task["Revision"].as_str()), (Some("meta"), Some("1")), "{task}");
    assert_eq!(task["Limits"], json!({"CPU": 0.25, "Memory": 64}), "{task}");
    assert_eq!(task["LaunchType"], "EXTERNAL");
    assert_eq!(task["Containers"].as_array().unwrap().len(), 1, "{task}");
    let described = ecs.task(&tasks[0]);
    assert_eq!(own["ContainerARN"], described["containers"][0]["containerArn"], "{own}");
    // With tags, read as the instance role (its managed policy allows ecs:ListTagsForResource).
    let tagged = metadata(&ids[0], &format!("{}/taskWithTags", uris[0])).expect("its task's metadata with tags");
    assert_eq!(tagged["TaskTags"], json!({"team": "ops"}), "{tagged}");
    assert_eq!(tagged["ContainerInstanceTags"], json!({}), "{tagged}");
    assert!(tagged.get("Errors").is_none(), "{tagged}");
    assert_eq!(tagged["TaskARN"], task["TaskARN"]);
    let stats = metadata(&ids[0], &format!("{}/stats", uris[0])).expect("its stats");
    assert!(stats.get("memory_stats").is_some() && stats.get("cpu_stats").is_some(), "{stats}");
    assert!(stats["network_rate_stats"]["rx_bytes_per_sec"].is_number(), "v4 adds network rates: {stats}");
    let task_stats = metadata(&ids[0], &format!("{}/task/stats", uris[0])).expect("its task's stats");
    assert!(task_stats.get(&ids[0]).is_some_and(|s| s.get("cpu_stats").is_some()), "{task_stats}");
    let v3 = container_env(&ids[0], "ECS_CONTAINER_METADATA_URI");
    assert_eq!(metadata(&ids[0], &v3).expect("v3")["DockerId"], ids[0].as_str());
    // The other task: its id appears nowhere the first can read, and no guess opens it.
    let other_id = uris[1].rsplit("/v4/").next().unwrap().split('-').next().unwrap().to_owned();
    let (_, environment) = exec(&ids[0], "env");
    assert!(!environment.contains(&other_id) && !task.to_string().contains(&other_id));
    assert!(!task.to_string().contains(&tasks[1]), "{task}");
    let own_id = uris[0].rsplit("/v4/").next().unwrap().split('-').next().unwrap().to_owned();
    let base = uris[0].split("/v4/").next().unwrap();
    let flipped = format!("{}{}", &own_id[..31], if own_id.ends_with('0') { '1' } else { '0' });
    for guess in [format!("{base}/v4/{flipped}-app"), format!("{base}/v4/{own_id}-other"), format!("{base}/v4/app")] {
        assert!(metadata(&ids[0], &guess).is_none(), "{guess} answered");
        assert!(metadata(&ids[0], &format!("{guess}/task")).is_none(), "{guess}/task answered");
    }
    for task in &tasks {
        ecs.call(&["stop-task", "--task", task]);
    }

    // The container settings reach Docker as Docker's members.
    ecs.register_definition(json!({
        "family": "tuned", "pidMode": "host", "ipcMode": "none",
        "containerDefinitions": [{"name": "app", "image": IMAGE, "memory": 32, "stopTimeout": 2,
            "command": ["sleep", "600"],
            "linuxParameters": {"initProcessEnabled": true, "capabilities": {"drop": ["NET_RAW"]},
                                "tmpfs": [{"containerPath": "/scratch", "size": 8}], "sharedMemorySize": 16},
            "ulimits": [{"name": "nofile", "softLimit": 512, "hardLimit": 1024}],
            "extraHosts": [{"hostname": "db.internal", "ipAddress": "10.1.2.3"}],
            "dnsServers": ["10.0.0.2"],
            "systemControls": [{"namespace": "net.core.somaxconn", "value": "512"}],
            "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "1m"}}}],
    }));
    let tuned = ecs.run_task("tuned", &[]).remove(0);
    ecs.await_status(std::slice::from_ref(&tuned), "RUNNING", Duration::from_secs(60));
    let tuned_container = container_of(&containers, &tuned);
    let host: Value =
        serde_json::from_str(&docker(&["inspect", "--format", "{{json .HostConfig}}", &tuned_container])).unwrap();
    assert_eq!(host["Init"], true, "{host}");
    assert_eq!((host["PidMode"].as_str(), host["IpcMode"].as_str()), (Some("host"), Some("none")), "{host}");
    assert_eq!(host["CapDrop"], json!(["NET_RAW"]), "{host}");
    assert_eq!(host["Tmpfs"], json!({"/scratch": "size=8m"}), "{host}");
    assert_eq!(host["ShmSize"], 16 * 1024 * 1024, "{host}");
    assert_eq!(host["Ulimits"], json!([{"Name": "nofile", "Soft": 512, "Hard": 1024}]), "{host}");
    assert_eq!(host["ExtraHosts"], json!(["db.internal:10.1.2.3"]), "{host}");
    assert_eq!(host["Dns"], json!(["10.0.0.2"]), "{host}");
    assert_eq!(host["Sysctls"], json!({"net.core.somaxconn": "512"}), "{host}");
    // (The daemon may add its own defaults to the options.)
    assert_eq!(
        (host["LogConfig"]["Type"].as_str(), host["LogConfig"]["Config"]["max-size"].as_str()),
        (Some("json-file"), Some("1m"))
    );
    let (_, hosts) = exec(&tuned_container, "cat /etc/hosts");
    assert!(hosts.contains("10.1.2.3\tdb.internal") || hosts.contains("10.1.2.3 db.internal"), "{hosts}");
    ecs.call(&["stop-task", "--task", &tuned]);
}
