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

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Server;

pub const IMAGE: &str = "homeport-test/busybox:latest";
pub const SSM_TRUST: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
pub const ECS_POLICY: &str = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role";
pub const SSM_POLICY: &str = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";

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

pub fn docker(args: &[&str]) -> String {
    let output = Command::new("docker").args(args).output().unwrap();
    assert!(output.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// `homeport-test/busybox:latest`: the static busybox with its applets as symlinks.
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
