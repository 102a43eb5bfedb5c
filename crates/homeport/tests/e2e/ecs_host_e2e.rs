//! ECS on one host over time, end to end: real `homeport agent` processes sharing the real
//! Docker, a real control plane, observed with the real aws CLI and `docker`.
//!
//! Covered: container health checks reported as ECS does (`healthStatus` of each container
//! and of the task: an essential container's `HEALTHY` decides, a non-essential one's
//! `UNHEALTHY` does not), and a service's task turning `UNHEALTHY` stopped and replaced; after `deregister-container-instance --force`, the orphaned task
//! keeps its last reported state until `stop-task` stops it at once, and the agent of that
//! host, registered again (with `register --force`, or after removing `ecs.json`), stops and
//! removes the orphaned containers while another agent's containers on the same Docker run on.
//!
//! Without Docker (or busybox) the test says it did not run, except in CI, where it fails.
//! Every container it creates carries its own cluster's label and is removed when the test
//! ends, failed or not.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::time::Duration;

use serde_json::{Value, json};

use common::ecs::{Containers, ECS_POLICY, Ecs, IMAGE, SSM_POLICY, busybox_ready, docker, instance_role, wait_for};
use common::{Agent, Server, register_agent, registered_id};

/// The ARN of the container instance registered by `mi`, once it is connected.
fn instance_of(ecs: &Ecs<'_>, mi: &str) -> String {
    wait_for(&format!("a connected container instance of {mi}"), Duration::from_secs(60), || {
        let listed = ecs.call(&["list-container-instances"]);
        let arns: Vec<&str> = listed["containerInstanceArns"].as_array()?.iter().filter_map(Value::as_str).collect();
        if arns.is_empty() {
            return None;
        }
        let mut args = vec!["describe-container-instances", "--container-instances"];
        args.extend(arns);
        let described = ecs.call(&args)["containerInstances"].as_array()?.clone();
        let found = described.iter().find(|i| i["ec2InstanceId"] == mi && i["agentConnected"] == true)?;
        Some(found["containerInstanceArn"].as_str()?.to_owned())
    })
}

/// StartTask of `family` on `instance`: the task's ARN.
fn start_on(ecs: &Ecs<'_>, family: &str, instance: &str) -> String {
    let answer = ecs.call(&["start-task", "--task-definition", family, "--container-instances", instance]);
    assert_eq!(answer["failures"], json!([]), "{answer}");
    answer["tasks"][0]["taskArn"].as_str().unwrap().to_owned()
}

/// Stops an agent with SIGTERM and waits for it to end.
fn stop(agent: Agent) -> Agent {
    let mut agent = agent;
    agent.signal("TERM");
    let _ = agent.child.wait();
    agent
}

fn health(task: &Value, container: &str) -> Value {
    task["containers"].as_array().unwrap().iter().find(|c| c["name"] == container).unwrap()["healthStatus"].clone()
}

#[test]
fn health_is_reported_and_a_registered_again_agent_removes_its_orphans() {
    let Some(dir) = busybox_ready("the ECS host end-to-end test", "ecs-host") else { return };
    let cluster = format!("host-{}", std::process::id());
    let containers = Containers { cluster: cluster.clone() };
    let server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    instance_role(&server, &[SSM_POLICY, ECS_POLICY]);
    server.aws_json(&root, &["ecs", "create-cluster", "--cluster-name", &cluster]);
    let activation = server
        .aws_json(&root, &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole", "--registration-limit", "3"]);
    let (one, two) = (dir.join("one"), dir.join("two"));
    let mi_one = registered_id(&register_agent(&server, &activation, &cluster, &one, &[]));
    let mi_two = registered_id(&register_agent(&server, &activation, &cluster, &two, &[]));
    let agent_one = Agent::start(&one);
    let agent_two = Agent::start(&two);
    let ecs = Ecs { server: &server, cluster: cluster.clone() };
    let (arn_one, arn_two) = (instance_of(&ecs, &mi_one), instance_of(&ecs, &mi_two));

    // Health: the essential container's check passes, a non-essential one's fails.
    let check = |command: &str| json!({"command": ["CMD-SHELL", command], "interval": 5, "timeout": 2, "retries": 1});
    ecs.register_definition(json!({
        "family": "checked",
        "containerDefinitions": [
            {"name": "app", "image": IMAGE, "memory": 16, "essential": true, "stopTimeout": 2,
             "command": ["sleep", "600"], "healthCheck": check("true")},
            {"name": "side", "image": IMAGE, "memory": 16, "essential": false, "stopTimeout": 2,
             "command": ["sleep", "600"], "healthCheck": check("false")},
            {"name": "plain", "image": IMAGE, "memory": 16, "essential": false, "stopTimeout": 2,
             "command": ["sleep", "600"]},
        ],
    }));
    ecs.register_definition(json!({
        "family": "idle",
        "containerDefinitions": [{"name": "app", "image": IMAGE, "memory": 16, "stopTimeout": 2,
                                  "command": ["sleep", "600"]}],
    }));
    let checked = start_on(&ecs, "checked", &arn_one);
    let neighbour = start_on(&ecs, "idle", &arn_two);
    // (UNKNOWN until the first check has run: the reconciler's unit tests cover it, since a
    // loaded machine may see RUNNING only after the first check.)
    ecs.await_status(std::slice::from_ref(&checked), "RUNNING", Duration::from_secs(60));
    let task = wait_for("the task HEALTHY", Duration::from_secs(60), || {
        let task = ecs.task(&checked);
        (task["healthStatus"] == "HEALTHY" && health(&task, "side") == "UNHEALTHY").then_some(task)
    });
    assert_eq!(health(&task, "app"), "HEALTHY", "{task}");
    assert_eq!(health(&task, "plain"), "UNKNOWN", "no health check: {task}");
    ecs.await_status(std::slice::from_ref(&neighbour), "RUNNING", Duration::from_secs(60));
    let neighbour_container = containers.of_task(&neighbour, false).remove(0);
    assert_eq!(containers.of_task(&checked, false).len(), 3);

    // A service's task that turns UNHEALTHY is stopped and replaced, as ECS's scheduler does.
    ecs.register_definition(json!({
        "family": "sick",
        "containerDefinitions": [{"name": "app", "image": IMAGE, "memory": 16, "stopTimeout": 2,
                                  "command": ["sleep", "600"], "healthCheck": check("false")}],
    }));
    ecs.call(&[
        "create-service",
        "--service-name",
        "sick",
        "--task-definition",
        "sick",
        "--desired-count",
        "1",
        "--launch-type",
        "EXTERNAL",
    ]);
    let first = wait_for("the service's first task", Duration::from_secs(60), || {
        ecs.service_tasks("sick").first().map(|t| t["taskArn"].as_str().unwrap().to_owned())
    });
    let failed = ecs.await_status(std::slice::from_ref(&first), "STOPPED", Duration::from_secs(90)).remove(0);
    assert_eq!(failed["stoppedReason"], "Task failed container health checks", "{failed}");
    assert_eq!(failed["stopCode"], "ServiceSchedulerInitiated");
    assert_eq!(failed["healthStatus"], "UNHEALTHY");
    wait_for("a replacement task", Duration::from_secs(60), || {
        ecs.service_tasks("sick").iter().any(|t| t["taskArn"] != first.as_str()).then_some(())
    });
    let events = ecs.call(&["describe-services", "--services", "sick"])["services"][0]["events"].clone();
    let wanted = format!("(service sick) (task {}) failed container health checks.", first.rsplit('/').next().unwrap());
    assert!(events.as_array().unwrap().iter().any(|e| e["message"] == wanted.as_str()), "{events}");
    ecs.call(&["delete-service", "--service", "sick", "--force"]);
    wait_for("the service's tasks stopped", Duration::from_secs(90), || {
        let listed = ecs.call(&["list-tasks", "--family", "sick"]);
        listed["taskArns"].as_array().unwrap().is_empty().then_some(())
    });

    // Every container carries its agent's identity; the two agents' differ.
    let agent_label = |id: &str| docker(&["inspect", "--format", "{{index .Config.Labels \"homeport.agent-id\"}}", id]);
    let id_one = std::fs::read_to_string(one.join("agent-id")).unwrap();
    let id_two = std::fs::read_to_string(two.join("agent-id")).unwrap();
    assert_ne!(id_one, id_two);
    assert_eq!(agent_label(&containers.of_task(&checked, false)[0]).trim(), id_one.trim());
    assert_eq!(agent_label(&neighbour_container).trim(), id_two.trim());

    // Forced deregistration orphans the task: it stays as last reported, its containers run.
    ecs.call(&["deregister-container-instance", "--container-instance", &arn_one, "--force"]);
    let orphan = ecs.task(&checked);
    assert_eq!((orphan["lastStatus"].as_str(), orphan["desiredStatus"].as_str()), (Some("RUNNING"), Some("RUNNING")));
    assert_eq!(containers.of_task(&checked, false).len(), 3, "orphaned, not stopped");

    // The host's agent, registered again with --force (a new managed instance), removes them.
    let agent_one = stop(agent_one);
    let mark = agent_one.lines();
    registered_id(&register_agent(&server, &activation, &cluster, &one, &["--force"]));
    let agent_one = Agent::start(&one);
    let line = agent_one.await_line(mark, &["removing container", "deregistered"], Duration::from_secs(60));
    assert!(line.contains(&arn_one), "{line}");
    wait_for("the orphaned containers removed", Duration::from_secs(60), || {
        containers.of_task(&checked, true).is_empty().then_some(())
    });
    // StopTask on the orphan: STOPPED at once (no agent will report it), and true to Docker.
    let stopped = ecs.call(&["stop-task", "--task", &checked, "--reason", "orphaned"])["task"].clone();
    assert_eq!(stopped["lastStatus"], "STOPPED", "{stopped}");
    // The other agent's container on the same Docker was never touched.
    assert_eq!(containers.of_task(&neighbour, false), std::slice::from_ref(&neighbour_container));

    // The same after removing ecs.json (the same managed instance, a new container instance).
    let mi_one = std::fs::read_to_string(one.join("instance.json")).unwrap();
    let mi_one = serde_json::from_str::<Value>(&mi_one).unwrap()["instanceId"].as_str().unwrap().to_owned();
    let arn_again = instance_of(&ecs, &mi_one);
    assert_ne!(arn_again, arn_one);
    let second = start_on(&ecs, "idle", &arn_again);
    ecs.await_status(std::slice::from_ref(&second), "RUNNING", Duration::from_secs(60));
    let mark = agent_one.lines();
    ecs.call(&["deregister-container-instance", "--container-instance", &arn_again, "--force"]);
    // The running agent learns it is deregistered and says what to do, once.
    let line = agent_one.await_line(mark, &["was deregistered", "remove ecs.json"], Duration::from_secs(60));
    assert!(line.contains("without logging each refusal"), "{line}");
    std::thread::sleep(Duration::from_secs(3));
    let said = agent_one.log().lines().skip(mark).filter(|line| line.contains("remove ecs.json")).count();
    assert_eq!(said, 1, "{}", agent_one.log());
    let agent_one = stop(agent_one);
    let mark = agent_one.lines();
    std::fs::remove_file(one.join("ecs.json")).unwrap();
    let agent_one = Agent::start(&one);
    agent_one.await_line(mark, &["removing container", &arn_again], Duration::from_secs(60));
    wait_for("the second orphan removed", Duration::from_secs(60), || {
        containers.of_task(&second, true).is_empty().then_some(())
    });
    assert_eq!(containers.of_task(&neighbour, false), [neighbour_container], "still untouched");
    assert_ne!(instance_of(&ecs, &mi_one), arn_again, "a new container instance");

    drop(agent_one);
    drop(agent_two);
    drop(containers);
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
