//! ECS end to end: two real `homeport agent` processes (each its own state directory) make
//! this machine two container instances of a real control plane and run their tasks with the
//! real Docker, driven and observed with the real aws CLI and `docker`.
//!
//! Covered: registration with the machine's resources and the ECS attributes; RunTask of 3
//! with spread placement landing on both instances, the containers really running (found by
//! label) with their dynamic host ports reported; StopTask stopping a container with SIGTERM
//! (its exit code reported); dependsOn (`SUCCESS`) and an essential container's exit stopping
//! its task with ECS's reason; an image that cannot be pulled (`CannotPullContainerError`, from
//! a registry on a closed loopback port, so nothing leaves the machine); an agent restart adopting its containers (same ids, no
//! duplicates); a control-plane crash losing no task; a service of 2 healing after one agent
//! is killed (`--instance-disconnect-timeout 5`); the seed's least-privilege advice as `homeport
//! iam suggest-policy --apply` (as root): after a task without an execution role (so the instance
//! role pulls its image from Homeport's registry and ships its awslogs output), both managed
//! policies swapped for the generated one, a fraction of their size, with the same agent
//! running a new task (pulled, its logs shipped) and heartbeating, and a fresh agent registered
//! with a new activation running one; and, once that policy is detached, a restarted agent's
//! registration failing with AccessDeniedException.
//!
//! The image is made here: the static busybox (`busybox-static`) in a root filesystem of
//! symlinks, `docker import`ed. Without Docker (or busybox) the test says it did not run,
//! except in CI, where it fails. Every container it creates carries its own cluster's label
//! and is removed when the test ends, failed or not.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::ecs::{Containers, ECS_POLICY, Ecs, IMAGE, SSM_POLICY, busybox_ready, docker, instance_role, wait_for};
use common::{Agent, Server, ecr_login, register_agent, registered_id};

#[test]
fn two_agents_run_stop_adopt_and_heal_tasks_with_docker() {
    let Some(dir) = busybox_ready("the ECS end-to-end test", "ecs") else { return };
    let cluster = format!("e2e-{}", std::process::id());
    let containers = Containers { cluster: cluster.clone() };
    let flags = ["--instance-disconnect-timeout", "5"];
    let mut server = Server::start_with(&dir.join("data"), None, &flags);
    let root = server.root_credentials();
    instance_role(&server, &[SSM_POLICY, ECS_POLICY]);
    server.aws_json(&root, &["ecs", "create-cluster", "--cluster-name", &cluster]);
    let activation = server
        .aws_json(&root, &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole", "--registration-limit", "2"]);
    let (one, two) = (dir.join("one"), dir.join("two"));
    let id_one = registered_id(&register_agent(&server, &activation, &cluster, &one, &["--attribute", "zone=lab"]));
    let id_two = registered_id(&register_agent(&server, &activation, &cluster, &two, &[]));
    let mut agent_one = Agent::start(&one);
    let agent_two = Agent::start(&two);

    // Both register as container instances with the machine's resources and attributes.
    let ecs = Ecs { server: &server, cluster: cluster.clone() };
    let instances: Vec<Value> = wait_for("two connected container instances", Duration::from_secs(30), || {
        let listed = ecs.call(&["list-container-instances"]);
        let arns: Vec<&str> = listed["containerInstanceArns"].as_array()?.iter().filter_map(Value::as_str).collect();
        if arns.len() != 2 {
            return None;
        }
        let mut args = vec!["describe-container-instances", "--container-instances"];
        args.extend(arns);
        let described = ecs.call(&args)["containerInstances"].as_array()?.clone();
        described.iter().all(|i| i["agentConnected"] == true).then_some(described)
    });
    let instance_of = |mi: &str| {
        instances.iter().find(|i| i["ec2InstanceId"] == mi).unwrap()["containerInstanceArn"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (arn_one, arn_two) = (instance_of(&id_one), instance_of(&id_two));
    let first = instances.iter().find(|i| i["ec2InstanceId"] == id_one.as_str()).unwrap();
    let resource = |name: &str| {
        first["registeredResources"].as_array().unwrap().iter().find(|r| r["name"] == name).unwrap().clone()
    };
    let cpus: i64 = docker(&["info", "--format", "{{.NCPU}}"]).trim().parse().unwrap();
    assert_eq!(resource("CPU")["integerValue"], cpus * 1024);
    assert!(resource("MEMORY")["integerValue"].as_i64().unwrap() > 0);
    assert_eq!(resource("PORTS")["stringSetValue"], json!(["22", "2375", "2376", "51678", "51679"]));
    let attribute = |name: &str| {
        first["attributes"].as_array().unwrap().iter().find(|a| a["name"] == name).map(|a| a.get("value").cloned())
    };
    assert_eq!(attribute("ecs.capability.external"), Some(None));
    assert_eq!(attribute("ecs.os-type"), Some(Some(json!("linux"))));
    assert!(attribute("ecs.cpu-architecture").is_some());
    assert_eq!(attribute("zone"), Some(Some(json!("lab"))));
    assert!(first["versionInfo"]["dockerVersion"].as_str().unwrap().starts_with("DockerVersion: "));

    // RunTask count 3, spread over instances: on both, really running, ports reported.
    ecs.register_definition(json!({
        "family": "sleeper",
        "containerDefinitions": [{
            "name": "app", "image": IMAGE, "memory": 16, "essential": true, "stopTimeout": 10,
            // SIGTERM ends it with 0: a stop that reached it as SIGTERM, not SIGKILL.
            "command": ["sh", "-c", "trap 'exit 0' TERM; echo \"$GREETING\"; while true; do sleep 1; done"],
            "environment": [{"name": "GREETING", "value": "hello from ecs"}],
            "portMappings": [{"containerPort": 8080, "hostPort": 0}],
        }],
    }));
    let sleepers = ecs.run_task("sleeper", &["--count", "3", "--placement-strategy", "type=spread,field=instanceId"]);
    assert_eq!(sleepers.len(), 3);
    let running = ecs.await_status(&sleepers, "RUNNING", Duration::from_secs(30));
    let placed: Vec<&str> = running.iter().map(|t| t["containerInstanceArn"].as_str().unwrap()).collect();
    assert!(placed.contains(&arn_one.as_str()) && placed.contains(&arn_two.as_str()), "{placed:?}");
    for task in &running {
        let arn = task["taskArn"].as_str().unwrap();
        let ids = containers.of_task(arn, false);
        assert_eq!(ids.len(), 1, "one running container for {arn}");
        let container = &task["containers"][0];
        assert_eq!(container["runtimeId"].as_str(), Some(ids[0].as_str()));
        assert_eq!(container["lastStatus"], "RUNNING");
        let binding = &container["networkBindings"][0];
        assert_eq!(binding["containerPort"], 8080);
        assert!(binding["hostPort"].as_i64().unwrap() > 0, "a dynamic host port: {binding}");
        let labels = docker(&["inspect", "--format", "{{json .Config.Labels}}", &ids[0]]);
        let labels: Value = serde_json::from_str(&labels).unwrap();
        assert_eq!(labels["homeport.container-instance-arn"], task["containerInstanceArn"]);
        assert_eq!(labels["com.amazonaws.ecs.task-definition-family"], "sleeper");
        let name = docker(&["inspect", "--format", "{{.Name}}", &ids[0]]);
        assert!(name.trim().starts_with("/ecs-sleeper-1-app-"), "{name}");
        let logs = Command::new("docker").args(["logs", &ids[0]]).output().unwrap();
        assert!(String::from_utf8_lossy(&logs.stdout).contains("hello from ecs"));
    }

    // StopTask: SIGTERM reaches the container, its exit code is reported.
    let stopped_arn = sleepers[0].clone();
    let stopped_container = containers.of_task(&stopped_arn, false).remove(0);
    ecs.call(&["stop-task", "--task", &stopped_arn, "--reason", "e2e stop"]);
    let stopped = ecs.await_status(std::slice::from_ref(&stopped_arn), "STOPPED", Duration::from_secs(20)).remove(0);
    assert_eq!(stopped["stoppedReason"], "e2e stop");
    assert_eq!(stopped["containers"][0]["exitCode"], 0, "{stopped}");
    assert!(containers.of_task(&stopped_arn, false).is_empty(), "the container no longer runs");
    assert_eq!(docker(&["inspect", "--format", "{{.State.Status}}", &stopped_container]).trim(), "exited");

    // dependsOn SUCCESS, then an essential container's exit stops the task.
    ecs.register_definition(json!({
        "family": "job",
        "containerDefinitions": [
            {"name": "init", "image": IMAGE, "memory": 16, "essential": false, "command": ["sh", "-c", "exit 0"]},
            {"name": "main", "image": IMAGE, "memory": 16, "essential": true,
             "command": ["sh", "-c", "sleep 1; exit 3"], "workingDirectory": "/tmp",
             "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]},
        ],
    }));
    let job = ecs.run_task("job", &[]).remove(0);
    let finished = ecs.await_status(std::slice::from_ref(&job), "STOPPED", Duration::from_secs(30)).remove(0);
    assert_eq!(finished["stoppedReason"], "Essential container in task exited", "{finished}");
    assert_eq!(finished["stopCode"], "EssentialContainerExited");
    let exit = |name: &str| {
        finished["containers"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["exitCode"].clone()
    };
    assert_eq!((exit("init"), exit("main")), (json!(0), json!(3)));
    let started_at = |name: &str| {
        let id = containers.of_task(&job, true).into_iter().find(|id| {
            docker(&["inspect", "--format", "{{index .Config.Labels \"com.amazonaws.ecs.container-name\"}}", id]).trim()
                == name
        });
        docker(&["inspect", "--format", "{{.State.StartedAt}} {{.State.FinishedAt}}", &id.unwrap()])
    };
    let (init, main) = (started_at("init"), started_at("main"));
    let init_finished = instant(init.split_whitespace().nth(1).unwrap());
    let main_started = instant(main.split_whitespace().next().unwrap());
    assert!(main_started >= init_finished, "main started ({main}) after init finished ({init})");

    // An image that cannot be pulled (a registry on a closed loopback port): ECS's reason.
    ecs.register_definition(json!({
        "family": "broken",
        "containerDefinitions": [{"name": "app", "image": "127.0.0.1:1/homeport-test/absent:1", "memory": 16}],
    }));
    let broken = ecs.run_task("broken", &[]).remove(0);
    let failed = ecs.await_status(std::slice::from_ref(&broken), "STOPPED", Duration::from_secs(30)).remove(0);
    let reason = failed["stoppedReason"].as_str().unwrap();
    assert!(reason.starts_with("CannotPullContainerError: Error response from daemon: "), "{failed}");
    assert_eq!(failed["stopCode"], "TaskFailedToStart");
    assert_eq!(failed["containers"][0]["reason"].as_str(), Some(reason));
    assert!(containers.of_task(&broken, true).is_empty(), "nothing was created");

    // An agent restart adopts its containers: same ids, no duplicates, still RUNNING.
    let on_one: Vec<String> =
        sleepers[1..].iter().filter(|arn| ecs.task(arn)["containerInstanceArn"] == arn_one.as_str()).cloned().collect();
    assert!(!on_one.is_empty(), "spread put a sleeper on instance one");
    let before: Vec<Vec<String>> = on_one.iter().map(|arn| containers.of_task(arn, true)).collect();
    agent_one.signal("TERM");
    let _ = agent_one.child.wait();
    let mark = agent_one.lines();
    agent_one = Agent::start(&one);
    agent_one.await_line(mark, &["container(s) of this instance found in Docker"], Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(3));
    let after: Vec<Vec<String>> = on_one.iter().map(|arn| containers.of_task(arn, true)).collect();
    assert_eq!(before, after, "the same containers, none started again");
    ecs.await_status(&on_one, "RUNNING", Duration::from_secs(30));

    // A control-plane crash loses no task; the agents come back and new tasks run.
    let crashed = server.crash();
    std::thread::sleep(Duration::from_secs(2));
    server = crashed.start_again(&flags);
    let ecs = Ecs { server: &server, cluster: cluster.clone() };
    let alive: Vec<String> = sleepers[1..].to_vec();
    ecs.await_status(&alive, "RUNNING", Duration::from_secs(30));
    let after_restart = ecs.run_task("sleeper", &["--count", "2"]);
    ecs.await_status(&after_restart, "RUNNING", Duration::from_secs(90));
    for arn in after_restart.iter().chain(&alive) {
        ecs.call(&["stop-task", "--task", arn]);
    }
    let all: Vec<String> = after_restart.iter().chain(&alive).cloned().collect();
    ecs.await_status(&all, "STOPPED", Duration::from_secs(30));

    // A service of 2 heals when an agent is killed: its task is replaced on the other.
    ecs.call(&[
        "create-service",
        "--service-name",
        "web",
        "--task-definition",
        "sleeper",
        "--desired-count",
        "2",
        "--launch-type",
        "EXTERNAL",
    ]);
    let serving = wait_for("two service tasks RUNNING", Duration::from_secs(30), || {
        let tasks = ecs.service_tasks("web");
        let running: Vec<Value> = tasks.into_iter().filter(|t| t["lastStatus"] == "RUNNING").collect();
        (running.len() == 2).then_some(running)
    });
    let lost: Vec<&Value> = serving.iter().filter(|t| t["containerInstanceArn"] == arn_two.as_str()).collect();
    assert_eq!(lost.len(), 1, "one service task per instance");
    let lost_arn = lost[0]["taskArn"].as_str().unwrap().to_owned();
    let mut agent_two = agent_two;
    agent_two.signal("KILL");
    let _ = agent_two.child.wait();
    let killed = Instant::now();
    wait_for("the service healed on instance one", Duration::from_secs(90), || {
        let tasks = ecs.service_tasks("web");
        let running: Vec<&Value> = tasks.iter().filter(|t| t["lastStatus"] == "RUNNING").collect();
        let healed = running.len() == 2 && running.iter().all(|t| t["containerInstanceArn"] == arn_one.as_str());
        healed.then_some(())
    });
    eprintln!(
        "service healed {:?} after the agent was killed (disconnect timeout 5 s, plus up to 30 s for a connected agent's last recorded poll)",
        killed.elapsed()
    );
    let replaced = ecs.task(&lost_arn);
    assert_eq!(replaced["lastStatus"], "STOPPED");
    assert_eq!(replaced["stopCode"], "ServiceSchedulerInitiated");
    ecs.call(&["update-service", "--service", "web", "--desired-count", "0"]);
    ecs.call(&["delete-service", "--service", "web"]);

    let started = Instant::now();
    let (least_privilege, agent_three) = least_privilege(&server, &ecs, &dir, (&agent_one, &id_one, &arn_one));
    eprintln!("least privilege (push, 3 tasks, suggest-policy --apply, a fresh agent) took {:?}", started.elapsed());

    // Detach the generated policy: the restarted agent's registration is refused, in AWS's words.
    server.aws_json(
        &root,
        &["iam", "detach-role-policy", "--role-name", "ecsAnywhereRole", "--policy-arn", &least_privilege],
    );
    agent_one.signal("TERM");
    let _ = agent_one.child.wait();
    let mark = agent_one.lines();
    let agent_one = Agent::start(&one);
    let line = agent_one.await_line(mark, &["container instance registration failed"], Duration::from_secs(20));
    assert!(line.contains("AccessDeniedException") && line.contains("ecs:RegisterContainerInstance"), "{line}");
    assert!(line.contains("AmazonEC2ContainerServiceforEC2Role"), "says what is missing: {line}");

    // Nothing secret reached a log.
    let (_, secret, token) = common::read_credentials(&one.join("credentials"));
    for log in [agent_one.log(), agent_two.log(), agent_three.log()] {
        for secret in [secret.as_str(), token.as_str(), activation["ActivationCode"].as_str().unwrap()] {
            assert!(!log.contains(secret), "a secret in the agent's log");
        }
    }
    drop(agent_one);
    drop(agent_two);
    drop(agent_three);
    drop(containers);
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `homeport iam suggest-policy --role ecsAnywhereRole --apply ecsAnywhereLeastPrivilege`, as
/// root, once agent one (`(agent, mi- id, container instance ARN)`) has run a task with no
/// execution role, so the instance role pulled its image from Homeport's registry and shipped
/// its awslogs output; then agent one and a fresh agent (registered with a new activation for
/// the role) each run such a task. Returns the generated policy's ARN and the fresh agent.
fn least_privilege(
    server: &Server,
    ecs: &Ecs<'_>,
    dir: &std::path::Path,
    one: (&Agent, &str, &str),
) -> (String, Agent) {
    let (agent_one, id_one, arn_one) = one;
    let root = server.root_credentials();
    let account = server.aws_json(&root, &["sts", "get-caller-identity"])["Account"].as_str().unwrap().to_owned();
    server.aws_json(&root, &["ecr", "create-repository", "--repository-name", "least"]);
    let image = format!("{}/least:1", server.address);
    let docker_config = dir.join("docker-root");
    ecr_login(server, &root, &docker_config);
    docker(&["tag", IMAGE, &image]);
    let pushed = Command::new("docker").env("DOCKER_CONFIG", &docker_config).args(["push", &image]).output().unwrap();
    assert!(pushed.status.success(), "push: {}", String::from_utf8_lossy(&pushed.stderr));
    // Untagged before each task, so the task's pull goes to the registry as the instance role.
    let forget = || {
        let output = Command::new("docker").args(["rmi", "-f", &image]).output().unwrap();
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success() || text.contains("No such image"), "rmi: {text}");
    };
    server.aws_json(&root, &["logs", "create-log-group", "--log-group-name", "/ecs/least"]);
    ecs.register_definition(json!({
        "family": "least",
        "containerDefinitions": [{
            "name": "app", "image": image, "memory": 16, "essential": true, "stopTimeout": 2,
            "command": ["sh", "-c", "trap 'exit 0' TERM; i=0; while true; do echo \"tick $i\"; i=$((i+1)); sleep 1; done"],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/least",
                "awslogs-region": "us-east-1", "awslogs-stream-prefix": "least"}},
        }],
    }));
    // Runs `least` on one container instance: RUNNING, pulled, and its ticks shipped.
    let run_on = |instance: &str| {
        forget();
        let started = ecs.call(&["start-task", "--task-definition", "least", "--container-instances", instance]);
        let arn = started["tasks"][0]["taskArn"].as_str().unwrap_or_else(|| panic!("{started}")).to_owned();
        let running = ecs.await_status(std::slice::from_ref(&arn), "RUNNING", Duration::from_secs(60)).remove(0);
        assert!(running.get("pullStartedAt").is_some(), "pulled from the registry: {running}");
        let stream = format!("least/app/{}", arn.rsplit('/').next().unwrap());
        wait_for("three ticks shipped with the instance role", Duration::from_secs(30), || {
            let events = server.aws_json(
                &root,
                &["logs", "get-log-events", "--log-group-name", "/ecs/least", "--log-stream-name", &stream],
            );
            (events["events"].as_array()?.len() >= 3).then_some(())
        });
    };
    run_on(arn_one);

    let output = Command::new(env!("CARGO_BIN_EXE_homeport"))
        .args(["iam", "suggest-policy", "--role", "ecsAnywhereRole", "--apply", "ecsAnywhereLeastPrivilege"])
        .args(["--output", "json"])
        .envs(server.endpoint_env())
        .env("AWS_SHARED_CREDENTIALS_FILE", &root)
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "suggest-policy: {stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let count = |name: &str| report["ActionCounts"][name].as_u64().unwrap();
    let (managed, generated) = (count("ManagedPolicyEntries"), count("GeneratedActions"));
    eprintln!(
        "suggest-policy: {managed} action entries in the managed policies, {generated} generated actions: {}",
        report["GeneratedActions"]
    );
    assert_eq!(managed, 42, "AmazonSSMManagedInstanceCore's 25 and AmazonEC2ContainerServiceforEC2Role's 17");
    assert!(generated * 3 <= managed, "a small fraction: {generated} of {managed}");
    let actions: Vec<&str> =
        report["GeneratedActions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    for used in [
        "ssm:UpdateInstanceInformation",
        "ecs:RegisterContainerInstance",
        "ecs:Poll",
        "ecr:BatchGetImage",
        "logs:PutLogEvents",
    ] {
        assert!(actions.contains(&used), "{used} in {actions:?}");
    }
    let unused = &report["ReplacedPolicies"];
    assert!(unused.to_string().contains("ecs:CreateCluster"), "never used, so listed: {unused}");
    let generated_arn = format!("arn:aws:iam::{account}:policy/ecsAnywhereLeastPrivilege");
    assert_eq!(report["Applied"]["Created"], json!([generated_arn]), "{report}");
    let mut detached: Vec<&str> =
        report["Applied"]["Detached"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    detached.sort_unstable();
    assert_eq!(detached, [SSM_POLICY, ECS_POLICY], "both managed policies, and nothing else");
    let attached = server.aws_json(&root, &["iam", "list-attached-role-policies", "--role-name", "ecsAnywhereRole"]);
    assert_eq!(
        attached["AttachedPolicies"],
        json!([{"PolicyName": "ecsAnywhereLeastPrivilege", "PolicyArn": generated_arn}])
    );

    // The same agent goes on: a new task pulled and shipped, heartbeats recorded, nothing denied.
    let mark = agent_one.lines();
    let ping = || {
        let filter = format!("Key=InstanceIds,Values={id_one}");
        let answer = server.aws_json(&root, &["ssm", "describe-instance-information", "--filters", &filter]);
        let instance = &answer["InstanceInformationList"][0];
        (instance["PingStatus"].as_str().unwrap().to_owned(), instance["LastPingDateTime"].to_string())
    };
    let (_, swapped_at) = ping();
    run_on(arn_one);
    wait_for("a heartbeat after the swap", Duration::from_secs(30), || {
        let (status, last) = ping();
        (status == "Online" && last != swapped_at).then_some(())
    });
    let log = agent_one.log();
    let denied: Vec<&str> = log.lines().skip(mark).filter(|line| line.contains("AccessDenied")).collect();
    assert!(denied.is_empty(), "agent one was refused something after the swap: {denied:?}");

    // A fresh agent, with a new activation for the same role, registers and runs a task.
    let activation = server.aws_json(&root, &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole"]);
    let three = dir.join("three");
    let id_three = registered_id(&register_agent(server, &activation, &ecs.cluster, &three, &[]));
    let agent_three = Agent::start(&three);
    let arn_three = wait_for("the fresh agent's container instance", Duration::from_secs(30), || {
        let listed = ecs.call(&["list-container-instances"]);
        let mut args = vec!["describe-container-instances", "--container-instances"];
        args.extend(listed["containerInstanceArns"].as_array()?.iter().filter_map(Value::as_str));
        let described = ecs.call(&args);
        let fresh =
            described["containerInstances"].as_array()?.iter().find(|i| i["ec2InstanceId"] == id_three.as_str())?;
        (fresh["agentConnected"] == true).then(|| fresh["containerInstanceArn"].as_str().unwrap().to_owned())
    });
    run_on(&arn_three);
    forget();
    (generated_arn, agent_three)
}

/// Docker's RFC 3339 time (`2026-11-28T06:10:01.12Z`, trailing zeros of the fraction
/// dropped) as something that orders correctly: the whole seconds and the nanoseconds.
fn instant(text: &str) -> (String, u64) {
    let text = text.trim().trim_end_matches('Z');
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
    let nanos = format!("{fraction:0<9}").get(..9).unwrap().parse().unwrap();
    (seconds.to_owned(), nanos)
}
