//! Task IAM roles end to end: a real `homeport agent` runs tasks with the real Docker, serves
//! their task role's credentials to the containers, and ships their output to the Logs API
//! with their execution role, observed with the real aws CLI.
//!
//! Covered: awslogs (create-group, `PREFIX/CONTAINER/TASKID` streams) shipping stdout and
//! stderr while the control plane is killed and started again, every line arriving once and
//! in order; an unmodified botocore inside a container (host network) calling STS
//! GetCallerIdentity with the task role's credentials and printing
//! `arn:aws:sts::ACCOUNT:assumed-role/ROLE/TASKID` to its awslogs stream; a bridge-mode
//! container reaching the endpoint at 169.254.170.2; one task's credentials id refused with
//! another's token (both ways), and a stopped task's credentials refused; no token in the
//! agent's log. Pulls from Homeport's registry: with the execution role (the task runs), with
//! the instance role when the task has none (stopped with `CannotPullECRContainerError` when
//! that role may not call ecr:GetAuthorizationToken, with `CannotPullContainerError` naming
//! ecr:BatchGetImage and the repository when it may not pull), and refused by a repository
//! policy that denies the execution role. An awslogs group or stream that cannot be created
//! (no logs:CreateLogGroup; a missing group without awslogs-create-group) stopping the task
//! with Docker's driver's words.
//!
//! The Python image is built here from the host's interpreter (its shared libraries, a pruned
//! standard library, botocore with only the STS model, and its dependencies), `docker
//! import`ed under a tag naming a hash of its contents, so a rerun reuses it. Without Docker,
//! busybox or that Python the test says it did not run, except in CI, where it fails.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use common::ecs::{
    Containers, ECS_POLICY, Ecs, IMAGE, SSM_POLICY, TASKS_TRUST, awslogs, busybox_ready, cluster_with_agent, docker,
    execution_role, instance_role, log_messages, wait_for,
};
use common::{Agent, Server, ecr_login};

/// awslogs-create-group needs logs:CreateLogGroup, which the managed policy lacks (as on AWS).
const CREATE_GROUP_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"logs:CreateLogGroup","Resource":"*"}}"#;

const DENY_PUT_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"logs:PutLogEvents","Resource":"*"}}"#;

/// What the Python container runs: an unmodified botocore, credentials from the container
/// provider (the environment the agent set), STS at the control plane.
const WHOAMI: &str = "import os, botocore.session\n\
    session = botocore.session.get_session()\n\
    open('/homeport-ca.pem', 'w').write(os.environ['CA_PEM'])\n\
    sts = session.create_client('sts', region_name='us-east-1', endpoint_url=os.environ['STS_ENDPOINT'], verify='/homeport-ca.pem')\n\
    print('ARN=' + sts.get_caller_identity()['Arn'], flush=True)\n";

/// The host's Python, if it has botocore: its real executable and prefix.
fn host_python() -> Option<(PathBuf, PathBuf)> {
    let output = Command::new("python3")
        .args(["-c", "import os, sys, botocore; print(os.path.realpath(sys.executable)); print(sys.prefix)"])
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    let text = String::from_utf8(output.stdout).ok()?;
    let mut lines = text.lines();
    Some((PathBuf::from(lines.next()?), PathBuf::from(lines.next()?)))
}

/// The shared libraries `ldd` lists for `file` (and the loader).
fn libraries(file: &Path, into: &mut BTreeSet<PathBuf>) {
    let Ok(output) = Command::new("ldd").arg(file).output() else { return };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let path = match line.split_once("=>") {
            Some((_, right)) => right.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(path) = path.filter(|p| p.starts_with('/')) {
            into.insert(PathBuf::from(path));
        }
    }
}

/// Every file under `dir` (recursively), but for the directory names in `skip`.
fn files_under(dir: &Path, skip: &[&str], into: &mut BTreeSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            if !skip.contains(&name.as_str()) {
                files_under(&path, skip, into);
            }
        } else {
            into.insert(path);
        }
    }
}

/// `homeport-test/python-botocore:HASH`: the host's Python with botocore, at the same paths
/// as on the host. Built once per content hash. `None` if the host has no such Python.
fn python_image(dir: &Path) -> Option<(String, PathBuf)> {
    let Some((executable, prefix)) = host_python() else {
        assert!(std::env::var_os("CI").is_none(), "CI must have python3 with botocore");
        eprintln!("no python3 with botocore: the task role test did NOT RUN");
        return None;
    };
    let version = executable.file_name()?.to_string_lossy().replace("python", "");
    let stdlib = prefix.join("lib").join(format!("python{version}"));
    let site = stdlib.join("site-packages");
    let mut files = BTreeSet::new();
    files.insert(executable.clone());
    libraries(&executable, &mut files);
    let pruned =
        ["site-packages", "test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "__pycache__"];
    files_under(&stdlib, &pruned, &mut files);
    for package in ["dateutil", "jmespath", "urllib3"] {
        files_under(&site.join(package), &["__pycache__"], &mut files);
    }
    files.insert(site.join("six.py"));
    let botocore = site.join("botocore");
    files_under(&botocore, &["__pycache__", "data"], &mut files);
    for entry in std::fs::read_dir(botocore.join("data")).ok()?.flatten() {
        if entry.file_type().ok()?.is_file() {
            files.insert(entry.path());
        }
    }
    files_under(&botocore.join("data/sts"), &[], &mut files);
    let modules: Vec<PathBuf> = files.iter().filter(|f| f.extension().is_some_and(|e| e == "so")).cloned().collect();
    for module in modules {
        libraries(&module, &mut files);
    }
    let mut manifest = String::new();
    for file in &files {
        let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        manifest.push_str(&format!("{} {size}\n", file.display()));
    }
    let hash = aws_protocol::sigv4::sha256_hex(manifest.as_bytes());
    let tag = format!("homeport-test/python-botocore:{}", &hash[..16]);
    let present = Command::new("docker").args(["image", "inspect", &tag]).output().unwrap().status.success();
    if !present {
        let list = dir.join("python-files");
        let relative: Vec<String> =
            files.iter().map(|f| f.display().to_string().trim_start_matches('/').to_owned()).collect();
        std::fs::write(&list, relative.join("\n") + "\n").unwrap();
        let tarball = dir.join("python.tar");
        // Dereferenced: a library that is a symlink goes in as the file it names.
        let status = Command::new("tar")
            .args(["-C", "/", "--dereference", "-cf"])
            .arg(&tarball)
            .arg("--files-from")
            .arg(&list)
            .status()
            .unwrap();
        assert!(status.success(), "tar of the Python image");
        docker(&["import", tarball.to_str().unwrap(), &tag]);
        let _ = std::fs::remove_file(&tarball);
    }
    Some((tag, executable))
}

/// `GET` of a credentials URL with an `Authorization` token: status and body.
fn get_credentials(url: &str, token: &str) -> (u16, Value) {
    let rest = url.strip_prefix("http://").unwrap();
    let (address, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET /{path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: {token}\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, common::body(&response))
}

/// The id of the one container of a task (running or not).
fn container_of(task_arn: &str) -> String {
    let filter = format!("label=com.amazonaws.ecs.task-arn={task_arn}");
    docker(&["ps", "-aq", "--no-trunc", "--filter", &filter]).trim().to_owned()
}

/// The value of `name` in a container's environment.
fn container_env(id: &str, name: &str) -> String {
    let env: Vec<String> = serde_json::from_str(&docker(&["inspect", "--format", "{{json .Config.Env}}", id])).unwrap();
    env.iter().find_map(|entry| entry.strip_prefix(&format!("{name}="))).unwrap().to_owned()
}

fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

#[test]
fn task_roles_and_awslogs_with_docker() {
    let Some(dir) = busybox_ready("the task role end-to-end test", "exec-role") else { return };
    let Some((python, interpreter)) = python_image(&dir) else { return };
    let cluster = format!("exec-{}", std::process::id());
    let _containers = Containers { cluster: cluster.clone() };
    let mut server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    instance_role(&server, &[SSM_POLICY, ECS_POLICY]);
    let account = server.aws_json(&root, &["sts", "get-caller-identity"])["Account"].as_str().unwrap().to_owned();
    let role_arn = |name: &str| format!("arn:aws:iam::{account}:role/{name}");
    server.aws_json(
        &root,
        &["iam", "create-role", "--role-name", "appRole", "--assume-role-policy-document", TASKS_TRUST],
    );
    execution_role(&server, "execRole", Some(("create-groups", CREATE_GROUP_POLICY)));
    let state = dir.join("agent");
    let (agent, _) = cluster_with_agent(&server, &cluster, &state);
    let line = agent.await_line(0, &["serving task credentials at http://"], Duration::from_secs(30));
    let endpoint = line.split("at ").last().unwrap().trim().to_owned();
    assert!(endpoint.starts_with("http://169.254.170.2:"), "served on ECS's address: {line}");
    let ecs = Ecs { server: &server, cluster: cluster.clone() };

    // awslogs: stdout and stderr, shipped with the execution role across a control-plane crash.
    ecs.register_definition(json!({
        "family": "chatty", "executionRoleArn": role_arn("execRole"),
        "containerDefinitions": [{
            "name": "app", "image": IMAGE, "memory": 16, "essential": true,
            "command": ["sh", "-c", "i=0; while [ $i -lt 60 ]; do echo \"out $i\"; echo \"err $i\" >&2; i=$((i+1)); sleep 0.2; done"],
            "logConfiguration": awslogs("/ecs/chatty", "chatty"),
        }]
    }));
    let chatty = ecs.run_task("chatty", &[]).remove(0);
    ecs.await_status(std::slice::from_ref(&chatty), "RUNNING", Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));
    let crashed = server.crash();
    std::thread::sleep(Duration::from_secs(4));
    server = crashed.start_again(&[]);
    let ecs = Ecs { server: &server, cluster: cluster.clone() };
    // And the agent, killed while the task prints, resumes where it left off.
    std::thread::sleep(Duration::from_secs(2));
    let before = agent.lines();
    drop(agent);
    std::thread::sleep(Duration::from_secs(1));
    let agent = Agent::start(&state);
    // Port 0 (the tests' choice) is a new port after a restart.
    let line = agent.await_line(before, &["serving task credentials at http://"], Duration::from_secs(30));
    let endpoint = line.split("at ").last().unwrap().trim().to_owned();
    let stopped = ecs.await_status(std::slice::from_ref(&chatty), "STOPPED", Duration::from_secs(60));
    assert_eq!(stopped[0]["stoppedReason"], "Essential container in task exited", "{}", stopped[0]);
    let stream = format!("chatty/app/{}", task_id(&chatty));
    let expected: BTreeSet<String> = (0..60).flat_map(|i| [format!("out {i}"), format!("err {i}")]).collect();
    let messages = wait_for("every line of chatty in its stream", Duration::from_secs(90), || {
        let messages = log_messages(&server, "/ecs/chatty", &stream);
        (messages.len() >= expected.len()).then_some(messages)
    });
    assert_eq!(messages.iter().cloned().collect::<BTreeSet<_>>(), expected, "nothing lost");
    // Delivery is at least once: a disruption (here the control plane's crash, then the
    // agent's) between a batch's acceptance and the agent keeping its position ships that one
    // batch again, and nothing else twice. So no line is there three times, and the repeated
    // lines are at most one run of consecutive lines per disruption. (GetLogEvents orders by
    // event time, so a repeated batch interleaves with its first copy: runs are counted by
    // the lines' own numbers.)
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for message in &messages {
        *counts.entry(message.as_str()).or_default() += 1;
    }
    assert!(counts.values().all(|&count| count <= 2), "a line shipped three times: {messages:?}");
    let mut repeated: Vec<usize> = counts
        .iter()
        .filter(|(_, count)| **count == 2)
        .map(|(message, _)| message.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    repeated.sort_unstable();
    repeated.dedup();
    let runs = repeated.windows(2).filter(|pair| pair[1] > pair[0] + 1).count() + usize::from(!repeated.is_empty());
    assert!(runs <= 2, "more than one batch per disruption twice: {messages:?}");
    let mut first_copies = BTreeSet::new();
    let firsts: Vec<&String> = messages.iter().filter(|m| first_copies.insert(m.as_str())).collect();
    for kind in ["out", "err"] {
        let order: Vec<&String> = firsts.iter().copied().filter(|m| m.starts_with(kind)).collect();
        let wanted: Vec<String> = (0..60).map(|i| format!("{kind} {i}")).collect();
        assert_eq!(order, wanted.iter().collect::<Vec<_>>(), "{kind} in order");
    }
    agent.await_line(0, &["awslogs: cannot ship to /ecs/chatty/", "retrying"], Duration::from_secs(5));
    let resumed = std::fs::read_to_string(state.join("awslogs").join(container_of(&chatty))).unwrap();
    assert!(resumed.trim().parse::<i64>().unwrap() > 0, "the shipped position is kept: {resumed}");

    // The task role: botocore in a host-network container is the task's assumed role.
    ecs.register_definition(json!({
        "family": "whoami", "networkMode": "host",
        "taskRoleArn": role_arn("appRole"), "executionRoleArn": role_arn("execRole"),
        "containerDefinitions": [{
            "name": "py", "image": python, "memory": 256, "essential": true,
            "command": [interpreter.to_str().unwrap(), "-c", WHOAMI],
            "environment": [
                {"name": "STS_ENDPOINT", "value": server.url()},
                {"name": "CA_PEM", "value": std::fs::read_to_string(server.ca_file()).unwrap()},
            ],
            "logConfiguration": awslogs("/ecs/whoami", "whoami"),
        }]
    }));
    let whoami = ecs.run_task("whoami", &[]).remove(0);
    let stopped = ecs.await_status(std::slice::from_ref(&whoami), "STOPPED", Duration::from_secs(90));
    let stream = format!("whoami/py/{}", task_id(&whoami));
    let messages = wait_for("whoami's output", Duration::from_secs(30), || {
        let messages = log_messages(&server, "/ecs/whoami", &stream);
        (!messages.is_empty()).then_some(messages)
    });
    let wanted = format!("ARN=arn:aws:sts::{account}:assumed-role/appRole/{}", task_id(&whoami));
    assert_eq!(messages, [wanted], "task: {}", stopped[0]);
    assert_eq!(stopped[0]["containers"][0]["exitCode"], 0, "{}", stopped[0]);

    // Two bridge-mode tasks: each reaches 169.254.170.2 and gets its role; neither can use
    // the other's id or token.
    ecs.register_definition(json!({
        "family": "holder", "taskRoleArn": role_arn("appRole"),
        "containerDefinitions": [{
            "name": "app", "image": IMAGE, "memory": 16, "essential": true, "stopTimeout": 2,
            "command": ["sh", "-c", "wget -q -O - --header \"Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN\" \
                \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\" | grep -o '\"RoleArn\":\"[^\"]*\"'; exec sleep 600"],
        }]
    }));
    let holders = ecs.run_task("holder", &["--count", "2"]);
    ecs.await_status(&holders, "RUNNING", Duration::from_secs(30));
    let containers = Containers { cluster: cluster.clone() };
    let ids: Vec<String> = holders.iter().map(|arn| containers.of_task(arn, false).remove(0)).collect();
    let uris: Vec<String> = ids.iter().map(|id| container_env(id, "AWS_CONTAINER_CREDENTIALS_FULL_URI")).collect();
    let tokens: Vec<String> = ids.iter().map(|id| container_env(id, "AWS_CONTAINER_AUTHORIZATION_TOKEN")).collect();
    for id in &ids {
        let printed = wait_for("a bridge-mode container's credentials", Duration::from_secs(20), || {
            let output = Command::new("docker").args(["logs", id]).output().unwrap();
            let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            (!text.is_empty()).then_some(text)
        });
        assert_eq!(printed, format!("\"RoleArn\":\"{}\"", role_arn("appRole")));
    }
    for (uri, token) in uris.iter().zip(&tokens) {
        assert!(uri.starts_with(&format!("{endpoint}/v2/credentials/")), "{uri}");
        let (status, body) = get_credentials(uri, token);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["RoleArn"], role_arn("appRole"));
        assert!(body["AccessKeyId"].as_str().unwrap().starts_with("ASIA"), "{body}");
        assert!(body["Expiration"].as_str().unwrap().ends_with('Z'), "{body}");
    }
    for (uri, token) in [(&uris[0], &tokens[1]), (&uris[1], &tokens[0])] {
        let (status, body) = get_credentials(uri, token);
        assert_eq!((status, body["code"].as_str()), (403, Some("InvalidIdInRequest")), "{body}");
    }
    ecs.call(&["stop-task", "--task", &holders[0]]);
    ecs.await_status(&holders[..1], "STOPPED", Duration::from_secs(30));
    let (status, _) = get_credentials(&uris[0], &tokens[0]);
    assert!((400..500).contains(&status) || status == 503, "a stopped task's credentials are not served: {status}");
    assert_eq!(get_credentials(&uris[1], &tokens[1]).0, 200, "the other task's still are");

    // GetTaskCredentials answers the instance the task runs on, for a task that has not stopped.
    let instance_arn = ecs.call(&["list-container-instances"])["containerInstanceArns"][0].as_str().unwrap().to_owned();
    let (id, secret, token) = common::read_credentials(&state.join("credentials"));
    let instance = common::Key { id: &id, secret: &secret, token: Some(&token) };
    let (root_id, root_secret, _) = common::read_credentials(&server.root_credentials());
    let root = common::Key { id: &root_id, secret: &root_secret, token: None };
    let ask = |key: &common::Key<'_>, task: &str, role: &str| {
        let body = json!({"cluster": cluster, "containerInstance": instance_arn, "taskArn": task, "roleType": role});
        let target = "AmazonEC2ContainerServiceV20141113.GetTaskCredentials";
        let (status, response) = common::post(&server.address, Some(key), "ecs", Some(target), &body.to_string());
        (status, common::body(&response))
    };
    let (status, answer) = ask(&instance, &holders[1], "TaskApplication");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["credentials"]["roleArn"], role_arn("appRole"));
    let session = common::Key {
        id: answer["credentials"]["accessKeyId"].as_str().unwrap(),
        secret: answer["credentials"]["secretAccessKey"].as_str().unwrap(),
        token: answer["credentials"]["sessionToken"].as_str(),
    };
    let (_, identity) =
        common::post(&server.address, Some(&session), "sts", None, "Action=GetCallerIdentity&Version=2011-06-15");
    let wanted = format!("<Arn>arn:aws:sts::{account}:assumed-role/appRole/{}</Arn>", task_id(&holders[1]));
    assert!(identity.contains(&wanted), "{identity}");
    // A stopped task's execution role is still issued (for its last lines), its task role not.
    let (status, answer) = ask(&instance, &chatty, "TaskExecution");
    assert_eq!((status, &answer["credentials"]["roleArn"]), (200, &json!(role_arn("execRole"))), "{answer}");
    for (key, task, role, status, code) in [
        (&instance, holders[1].as_str(), "TaskExecution", 400, "InvalidParameterException"),
        (&instance, holders[0].as_str(), "TaskApplication", 400, "InvalidParameterException"),
        (&instance, whoami.as_str(), "Other", 400, "InvalidParameterException"),
        (&root, holders[1].as_str(), "TaskApplication", 403, "AccessDeniedException"),
    ] {
        let (got, answer) = ask(key, task, role);
        assert_eq!((got, answer["__type"].as_str()), (status, Some(code)), "{task} {role}: {answer}");
    }

    // Lines a task printed before it stopped, which its execution role could not ship then, are
    // shipped by the next run of the agent (the role is still issued for a stopped task). The
    // role may create the stream (or the container would not start, as with Docker's driver)
    // but not put events, until the denial is lifted.
    let deny = ["iam", "put-role-policy", "--role-name", "execRole", "--policy-name", "no-put", "--policy-document"];
    let mut deny = deny.to_vec();
    deny.push(DENY_PUT_POLICY);
    server.aws_json(&server.root_credentials(), &deny);
    ecs.register_definition(json!({
        "family": "late", "executionRoleArn": role_arn("execRole"),
        "containerDefinitions": [{
            "name": "app", "image": IMAGE, "memory": 16, "essential": true,
            "command": ["sh", "-c", "echo one; echo two; echo three"],
            "logConfiguration": awslogs("/ecs/late", "late"),
        }]
    }));
    let late = ecs.run_task("late", &[]).remove(0);
    ecs.await_status(std::slice::from_ref(&late), "STOPPED", Duration::from_secs(30));
    agent.await_line(0, &["awslogs: cannot ship to /ecs/late/", "AccessDenied"], Duration::from_secs(20));
    let before = agent.lines();
    drop(agent);
    let lift = ["iam", "delete-role-policy", "--role-name", "execRole", "--policy-name", "no-put"];
    server.aws_json(&server.root_credentials(), &lift);
    let agent = Agent::start(&state);
    let stream = format!("late/app/{}", task_id(&late));
    let messages = wait_for("the stopped task's lines", Duration::from_secs(60), || {
        let messages = log_messages(&server, "/ecs/late", &stream);
        (messages.len() >= 3).then_some(messages)
    });
    assert_eq!(
        messages,
        ["one", "two", "three"],
        "agent log since the restart:\n{}",
        agent.log().lines().skip(before).collect::<Vec<_>>().join("\n")
    );

    let log = agent.log();
    for token in &tokens {
        assert!(!log.contains(token.as_str()), "a token in the agent's log");
    }
    drop(agent);
    server.kill();
    drop(containers);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An instance role that may run the agent but use no part of ECR.
const AGENT_ONLY_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecs:*","Resource":"*"}}"#;
const TOKEN_ONLY_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}}"#;

#[test]
fn pulls_from_homeports_registry_with_the_right_role() {
    let Some(dir) = busybox_ready("the task role end-to-end test", "exec-pulls") else { return };
    let cluster = format!("pulls-{}", std::process::id());
    let _containers = Containers { cluster: cluster.clone() };
    let server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    let account = server.aws_json(&root, &["sts", "get-caller-identity"])["Account"].as_str().unwrap().to_owned();
    let role_arn = |name: &str| format!("arn:aws:iam::{account}:role/{name}");
    instance_role(&server, &[SSM_POLICY]);
    let put_policy = |role: &str, name: &str, document: &str| {
        server.aws_json(
            &root,
            &["iam", "put-role-policy", "--role-name", role, "--policy-name", name, "--policy-document", document],
        );
    };
    put_policy("ecsAnywhereRole", "agent", AGENT_ONLY_POLICY);
    execution_role(&server, "execRole", None);

    // An image in Homeport's registry, pushed by root and then gone from Docker.
    server.aws_json(&root, &["ecr", "create-repository", "--repository-name", "app"]);
    let image = format!("{}/app:1", server.address);
    let docker_config = dir.join("docker-root");
    ecr_login(&server, &root, &docker_config);
    docker(&["tag", IMAGE, &image]);
    let pushed = Command::new("docker").env("DOCKER_CONFIG", &docker_config).args(["push", &image]).output().unwrap();
    assert!(pushed.status.success(), "push: {}", String::from_utf8_lossy(&pushed.stderr));
    // Forced: a running container may use it (its tag goes, the image stays for the container).
    let forget = || {
        let output = Command::new("docker").args(["rmi", "-f", &image]).output().unwrap();
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success() || text.contains("No such image"), "rmi: {text}");
    };
    forget();

    let (agent, instance_id) = cluster_with_agent(&server, &cluster, &dir.join("agent"));
    let ecs = Ecs { server: &server, cluster: cluster.clone() };
    let definition = |family: &str, execution_role: Option<String>| {
        let mut definition = json!({
            "family": family,
            "containerDefinitions": [{"name": "app", "image": image, "memory": 16, "essential": true,
                "stopTimeout": 2, "command": ["sleep", "600"]}]
        });
        if let Some(role) = execution_role {
            definition["executionRoleArn"] = json!(role);
        }
        ecs.register_definition(definition);
    };
    let session = format!("arn:aws:sts::{account}:assumed-role/ecsAnywhereRole/{instance_id}");
    let repository = format!("arn:aws:ecr:us-east-1:{account}:repository/app");

    // The execution role pulls it: the task runs.
    definition("with-role", Some(role_arn("execRole")));
    let pulled = ecs.run_task("with-role", &[]);
    let running = ecs.await_status(&pulled, "RUNNING", Duration::from_secs(60));
    assert!(running[0].get("pullStartedAt").is_some(), "it was pulled: {}", running[0]);
    forget();

    // Without an execution role the instance role pulls; it may not get a token.
    definition("without-role", None);
    let refused = ecs.run_task("without-role", &[]);
    let stopped = ecs.await_status(&refused, "STOPPED", Duration::from_secs(60));
    let reason = stopped[0]["stoppedReason"].as_str().unwrap();
    let wanted = format!(
        "CannotPullECRContainerError: AccessDeniedException: User: {session} is not authorized to perform: ecr:GetAuthorizationToken"
    );
    assert!(reason.starts_with(&wanted), "{reason}");

    // With a token but no pull permission, the registry refuses, naming the repository.
    put_policy("ecsAnywhereRole", "token", TOKEN_ONLY_POLICY);
    let refused = ecs.run_task("without-role", &[]);
    let stopped = ecs.await_status(&refused, "STOPPED", Duration::from_secs(60));
    let reason = stopped[0]["stoppedReason"].as_str().unwrap();
    assert!(reason.starts_with("CannotPullContainerError: "), "{reason}");
    let wanted = format!("User: {session} is not authorized to perform: ecr:BatchGetImage on resource: {repository}");
    assert!(reason.contains(&wanted), "{reason}");

    // A repository policy that denies the execution role blocks its pull.
    let deny = json!({"Version": "2012-10-17", "Statement": [{"Sid": "noexec", "Effect": "Deny",
        "Principal": {"AWS": role_arn("execRole")}, "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]});
    server.aws_json(
        &root,
        &["ecr", "set-repository-policy", "--repository-name", "app", "--policy-text", &deny.to_string()],
    );
    let refused = ecs.run_task("with-role", &[]);
    let stopped = ecs.await_status(&refused, "STOPPED", Duration::from_secs(60));
    let reason = stopped[0]["stoppedReason"].as_str().unwrap();
    assert!(reason.starts_with("CannotPullContainerError: "), "{reason}");
    let task_session = format!("arn:aws:sts::{account}:assumed-role/execRole/{}", task_id(&refused[0]));
    let wanted =
        format!("User: {task_session} is not authorized to perform: ecr:BatchGetImage on resource: {repository}");
    assert!(reason.contains(&wanted) && reason.contains("explicit deny"), "{reason}");

    drop(agent);
    forget();
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// As Docker's awslogs driver fails a container's start when it cannot create the group or
/// the stream, so does the agent: the task stops with ECS's reason instead of running with
/// its output going nowhere.
#[test]
fn awslogs_that_cannot_be_set_up_stops_the_task_with_the_reason() {
    let Some(dir) = busybox_ready("the task role end-to-end test", "exec-awslogs") else { return };
    let cluster = format!("awslogs-{}", std::process::id());
    let containers = Containers { cluster: cluster.clone() };
    let server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    instance_role(&server, &[SSM_POLICY, ECS_POLICY]);
    let account = server.aws_json(&root, &["sts", "get-caller-identity"])["Account"].as_str().unwrap().to_owned();
    // The managed execution policy: streams and events, not groups (as on AWS).
    execution_role(&server, "plainExecRole", None);
    let (agent, _) = cluster_with_agent(&server, &cluster, &dir.join("agent"));
    let ecs = Ecs { server: &server, cluster: cluster.clone() };
    let execution_role = format!("arn:aws:iam::{account}:role/plainExecRole");
    let definition = |family: &str, options: Value| {
        json!({
            "family": family, "executionRoleArn": execution_role,
            "containerDefinitions": [{
                "name": "app", "image": IMAGE, "memory": 16, "essential": true,
                "command": ["sh", "-c", "echo hello; sleep 600"],
                "logConfiguration": {"logDriver": "awslogs", "options": options},
            }]
        })
    };
    let stopped_reason = |family: &str| {
        let task = ecs.run_task(family, &[]).remove(0);
        let stopped = ecs.await_status(std::slice::from_ref(&task), "STOPPED", Duration::from_secs(60)).remove(0);
        assert_eq!(stopped["stopCode"], "TaskFailedToStart", "{stopped}");
        assert!(containers.of_task(&task, false).is_empty(), "nothing runs");
        let reason = stopped["stoppedReason"].as_str().unwrap().to_owned();
        assert_eq!(stopped["containers"][0]["reason"].as_str(), Some(reason.as_str()), "{stopped}");
        reason
    };

    // awslogs-create-group without logs:CreateLogGroup: AccessDenied, in Docker's words.
    ecs.register_definition(definition(
        "create-denied",
        json!({"awslogs-group": "/ecs/denied", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "d",
               "awslogs-create-group": "true"}),
    ));
    let reason = stopped_reason("create-denied");
    let wanted = "CannotStartContainerError: Error response from daemon: failed to initialize logging driver: \
                  failed to create Cloudwatch log group: AccessDeniedException: ";
    assert!(reason.starts_with(wanted), "{reason}");
    assert!(reason.contains("logs:CreateLogGroup") && reason.contains("plainExecRole"), "{reason}");

    // A group that does not exist, without awslogs-create-group: ResourceNotFoundException.
    ecs.register_definition(definition(
        "no-group",
        json!({"awslogs-group": "/ecs/absent", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "a"}),
    ));
    let reason = stopped_reason("no-group");
    let wanted = "CannotStartContainerError: Error response from daemon: failed to initialize logging driver: \
                  failed to create Cloudwatch log stream: ResourceNotFoundException";
    assert!(reason.starts_with(wanted), "{reason}");

    // The group made by an administrator: the same role's task runs and its output arrives.
    server.aws_json(&root, &["logs", "create-log-group", "--log-group-name", "/ecs/absent"]);
    let task = ecs.run_task("no-group", &[]).remove(0);
    ecs.await_status(std::slice::from_ref(&task), "RUNNING", Duration::from_secs(60));
    let stream = format!("a/app/{}", task_id(&task));
    let messages = wait_for("hello in its stream", Duration::from_secs(30), || {
        let messages = log_messages(&server, "/ecs/absent", &stream);
        (!messages.is_empty()).then_some(messages)
    });
    assert_eq!(messages, ["hello"]);
    ecs.call(&["stop-task", "--task", &task]);
    ecs.await_status(std::slice::from_ref(&task), "STOPPED", Duration::from_secs(60));
    drop(agent);
    drop(containers);
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
