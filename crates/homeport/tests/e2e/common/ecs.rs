//! What the tests that run ECS tasks with the real Docker share: the busybox image, the
//! cleanup of a cluster's containers, waiting, and the aws CLI's ECS calls.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    dead_code,
    reason = "test support: fails loudly on any surprise; each test binary uses part of it"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Agent, Server, register_agent, registered_id};

pub const IMAGE: &str = "homeport-test/busybox:latest";
pub const SSM_TRUST: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
pub const ECS_POLICY: &str = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role";
pub const SSM_POLICY: &str = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
/// The trust policy of a role that ECS tasks assume (a task role or an execution role).
pub const TASKS_TRUST: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
pub const EXECUTION_POLICY: &str = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

/// Creates `ecsAnywhereRole`, trusting SSM, with `policies` attached (as the seed does).
pub fn instance_role(server: &Server, policies: &[&str]) {
    let root = server.root_credentials();
    server.aws_json(
        &root,
        &["iam", "create-role", "--role-name", "ecsAnywhereRole", "--assume-role-policy-document", SSM_TRUST],
    );
    for policy in policies {
        server
            .aws_json(&root, &["iam", "attach-role-policy", "--role-name", "ecsAnywhereRole", "--policy-arn", policy]);
    }
}

/// Creates `role`, which ECS tasks assume, with the managed execution policy attached and
/// `inline` (a policy document) as its inline policy named `inline_name`, if given.
pub fn execution_role(server: &Server, role: &str, inline: Option<(&str, &str)>) {
    let root = server.root_credentials();
    server.aws_json(&root, &["iam", "create-role", "--role-name", role, "--assume-role-policy-document", TASKS_TRUST]);
    server.aws_json(&root, &["iam", "attach-role-policy", "--role-name", role, "--policy-arn", EXECUTION_POLICY]);
    if let Some((name, document)) = inline {
        server.aws_json(
            &root,
            &["iam", "put-role-policy", "--role-name", role, "--policy-name", name, "--policy-document", document],
        );
    }
}

/// Creates `cluster`, registers an agent into it with an activation of `ecsAnywhereRole`
/// (state in `state_dir`), starts it and waits until its container instance is connected:
/// the agent and its managed instance's id.
pub fn cluster_with_agent(server: &Server, cluster: &str, state_dir: &Path) -> (Agent, String) {
    let root = server.root_credentials();
    server.aws_json(&root, &["ecs", "create-cluster", "--cluster-name", cluster]);
    let activation = server.aws_json(&root, &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole"]);
    let instance_id = registered_id(&register_agent(server, &activation, cluster, state_dir, &[]));
    let agent = Agent::start(state_dir);
    let ecs = Ecs { server, cluster: cluster.to_owned() };
    wait_for("a connected container instance", Duration::from_secs(30), || {
        let listed = ecs.call(&["list-container-instances"]);
        (listed["containerInstanceArns"].as_array()?.len() == 1).then_some(())
    });
    (agent, instance_id)
}

/// awslogs options shipping to `group` under `prefix`, creating the group if need be.
pub fn awslogs(group: &str, prefix: &str) -> Value {
    json!({"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-region": "us-east-1",
        "awslogs-stream-prefix": prefix, "awslogs-create-group": "true"}})
}

/// Every message of a log stream, oldest first (none while the stream does not exist).
pub fn log_messages(server: &Server, group: &str, stream: &str) -> Vec<String> {
    let output = server.aws(
        &server.root_credentials(),
        &["logs", "get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--start-from-head"],
    );
    if !output.status.success() {
        return Vec::new();
    }
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    answer["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap().to_owned()).collect()
}

pub fn docker(args: &[&str]) -> String {
    let output = Command::new("docker").args(args).output().unwrap();
    assert!(output.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// `homeport-test/busybox:latest`: the static busybox with its applets as symlinks.
/// The prologue of every test that runs tasks in Docker: the aws CLI and Docker are there
/// (in CI their absence fails the test, elsewhere `test` says it did not run), a fresh
/// directory named after `dir_name`, and the busybox image imported. `None`: skip.
pub fn busybox_ready(test: &str, dir_name: &str) -> Option<PathBuf> {
    if !super::aws_cli_available() || !super::docker_available(test) {
        return None;
    }
    let dir = super::fresh_dir(dir_name);
    import_busybox(&dir).then_some(dir)
}

pub fn import_busybox(dir: &Path) -> bool {
    let busybox = Path::new("/bin/busybox");
    let is_static = Command::new("ldd").arg(busybox).output().is_ok_and(|output| {
        String::from_utf8_lossy(&output.stdout).contains("not a dynamic")
            || String::from_utf8_lossy(&output.stderr).contains("not a dynamic")
    });
    if !busybox.exists() || !is_static {
        assert!(std::env::var_os("CI").is_none(), "CI must install busybox-static (.ci/run does)");
        eprintln!("no static /bin/busybox (apt-get install busybox-static): the ECS end-to-end test did NOT RUN");
        return false;
    }
    let root = dir.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
    for applet in
        ["sh", "sleep", "echo", "true", "false", "cat", "env", "ls", "kill", "httpd", "pwd", "id", "wget", "grep"]
    {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    let tarball = dir.join("rootfs.tar");
    let status = Command::new("tar").arg("-C").arg(&root).arg("-cf").arg(&tarball).arg(".").status().unwrap();
    assert!(status.success());
    docker(&["import", tarball.to_str().unwrap(), IMAGE]);
    true
}

/// Removes every container of the test's cluster when dropped, also on a failure.
pub struct Containers {
    pub cluster: String,
}

impl Containers {
    pub fn ids(&self, extra_filter: Option<&str>, all: bool) -> Vec<String> {
        let cluster = format!("label=com.amazonaws.ecs.cluster={}", self.cluster);
        let mut args = vec!["ps", "-q", "--no-trunc", "--filter", &cluster];
        if let Some(filter) = extra_filter {
            args.extend(["--filter", filter]);
        }
        if all {
            args.push("-a");
        }
        docker(&args).lines().map(str::to_owned).collect()
    }

    /// Running containers of one task.
    pub fn of_task(&self, task_arn: &str, all: bool) -> Vec<String> {
        self.ids(Some(&format!("label=com.amazonaws.ecs.task-arn={task_arn}")), all)
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        let ids = self.ids(None, true);
        if !ids.is_empty() {
            let _ = Command::new("docker").args(["rm", "-f"]).args(&ids).output();
        }
    }
}

/// Calls `check` every half second until it gives something, for at most `within`.
pub fn wait_for<T>(what: &str, within: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

pub struct Ecs<'a> {
    pub server: &'a Server,
    pub cluster: String,
}

impl Ecs<'_> {
    pub fn call(&self, args: &[&str]) -> Value {
        let mut full = vec!["ecs"];
        full.extend_from_slice(args);
        full.extend(["--cluster", &self.cluster]);
        self.server.aws_json(&self.server.root_credentials(), &full)
    }

    pub fn tasks(&self, arns: &[String]) -> Vec<Value> {
        let mut args = vec!["describe-tasks", "--tasks"];
        args.extend(arns.iter().map(String::as_str));
        self.call(&args)["tasks"].as_array().unwrap().clone()
    }

    pub fn task(&self, arn: &str) -> Value {
        self.tasks(&[arn.to_owned()]).remove(0)
    }

    pub fn await_status(&self, arns: &[String], status: &str, within: Duration) -> Vec<Value> {
        wait_for(&format!("tasks {status}"), within, || {
            let tasks = self.tasks(arns);
            tasks.iter().all(|t| t["lastStatus"] == status).then_some(tasks)
        })
    }

    pub fn run_task(&self, definition: &str, extra: &[&str]) -> Vec<String> {
        let mut args = vec!["run-task", "--task-definition", definition, "--launch-type", "EXTERNAL"];
        args.extend_from_slice(extra);
        let answer = self.call(&args);
        assert_eq!(answer["failures"], json!([]), "{answer}");
        answer["tasks"].as_array().unwrap().iter().map(|t| t["taskArn"].as_str().unwrap().to_owned()).collect()
    }

    pub fn register_definition(&self, definition: Value) {
        let file = self.server.data_dir.with_file_name("task-definition.json");
        std::fs::write(&file, definition.to_string()).unwrap();
        let argument = format!("file://{}", file.display());
        self.server.aws_json(
            &self.server.root_credentials(),
            &["ecs", "register-task-definition", "--cli-input-json", &argument],
        );
    }

    pub fn service_tasks(&self, service: &str) -> Vec<Value> {
        let listed = self.call(&["list-tasks", "--service-name", service]);
        let arns: Vec<String> =
            listed["taskArns"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect();
        if arns.is_empty() { Vec::new() } else { self.tasks(&arns) }
    }
}
