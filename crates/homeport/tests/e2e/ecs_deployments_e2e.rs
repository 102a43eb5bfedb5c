//! ECS service deployments end to end: real `homeport agent` processes make this machine
//! container instances of a real control plane, and the aws CLI drives services as a user
//! would, with Docker running the tasks.
//!
//! Covered: a REPLICA service of 10 tasks with container health checks rolls from revision 1
//! to 2 at 50%-100%, sampled through DescribeServices so that its running count drops (the
//! old tasks make room) but never below 5, ending with one deployment `COMPLETED`, the
//! steady-state event and `aws ecs wait services-stable` succeeding; `forceNewDeployment` at
//! 100%-200% never drops below 10 (the time each took is printed: the figure the issue asks
//! for); a revision whose container fails its health check trips the deployment
//! circuit breaker (`failedTasks`, the `FAILED` rollout in ECS's words, the events) and rolls
//! back to revision 2, which becomes steady again, and the service deployments record it
//! (`SUCCESSFUL` rolling updates, `ROLLBACK_SUCCESSFUL` with the breaker `TRIGGERED`); an `EXTERNAL` service's task sets run
//! their scale's tasks, and a blue/green switch (primary, scale, delete) leaves the green set
//! alone and steady; a DAEMON service runs one task on each
//! instance, starts one on an instance that joins, and stops it when that instance drains.
//!
//! Without Docker (or busybox) the test says it did not run, except in CI, where it fails.
//! Every container it creates carries its cluster's label and is removed when it ends.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::ecs::{Containers, ECS_POLICY, Ecs, IMAGE, SSM_POLICY, busybox_ready, instance_role, wait_for};
use common::{Agent, register_agent, registered_id};

/// A revision of family `web`: a container that runs until told to stop, with a health check
/// running `check` every 5 seconds (one failure makes it unhealthy).
fn web(revision: &str, check: &str) -> Value {
    json!({
        "family": "web",
        "containerDefinitions": [{
            "name": "app", "image": IMAGE, "memory": 8, "essential": true, "stopTimeout": 2,
            "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
            "environment": [{"name": "REVISION", "value": revision}],
            "healthCheck": {"command": ["CMD-SHELL", check], "interval": 5, "timeout": 2, "retries": 1},
        }],
    })
}

fn service(ecs: &Ecs<'_>, name: &str) -> Value {
    ecs.call(&["describe-services", "--services", name])["services"][0].clone()
}

fn messages(service: &Value) -> Vec<String> {
    service["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap().to_owned()).collect()
}

/// A service deployment as DescribeServiceDeployments answers it.
fn service_deployment(ecs: &Ecs<'_>, arn: &str) -> Value {
    // No `--cluster`: a deployment's ARN names it.
    let root = ecs.server.root_credentials();
    let described =
        ecs.server.aws_json(&root, &["ecs", "describe-service-deployments", "--service-deployment-arns", arn]);
    described["serviceDeployments"][0].clone()
}

/// Samples the service until its one deployment runs `definition` and has `COMPLETED`,
/// asserting that its running count never drops below `minimum` on the way; returns the
/// settled service and the lowest running count seen.
fn settle(ecs: &Ecs<'_>, name: &str, definition: &str, minimum: i64, within: Duration) -> (Value, i64) {
    let mut lowest = i64::MAX;
    let settled = wait_for(&format!("{name} steady on {definition}"), within, || {
        let described = service(ecs, name);
        let running = described["runningCount"].as_i64().unwrap();
        lowest = lowest.min(running);
        assert!(running >= minimum, "{running} running, below {minimum}: {described}");
        let deployments = described["deployments"].as_array().unwrap();
        let done = deployments.len() == 1
            && deployments[0]["rolloutState"] == "COMPLETED"
            && deployments[0]["taskDefinition"].as_str().unwrap().ends_with(definition)
            && running == described["desiredCount"].as_i64().unwrap();
        done.then_some(described)
    });
    (settled, lowest)
}

/// The fewest tasks of `service` RUNNING at once from `since` (epoch seconds) until now, from
/// the tasks' own `startedAt` and `stoppedAt`: exact, where sampling `runningCount` can miss
/// a short dip on a loaded machine.
fn lowest_running(ecs: &Ecs<'_>, service: &str, since: f64) -> i64 {
    let mut arns = Vec::new();
    for status in ["RUNNING", "STOPPED"] {
        let listed = ecs.call(&["list-tasks", "--service-name", service, "--desired-status", status]);
        arns.extend(listed["taskArns"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()));
    }
    let mut running = 0;
    let mut changes = Vec::new();
    for task in ecs.tasks(&arns) {
        let Some(started) = task["startedAt"].as_f64() else { continue };
        let stopped = task["stoppedAt"].as_f64();
        if started < since && stopped.is_none_or(|stopped| stopped >= since) {
            running += 1;
        } else if started >= since {
            changes.push((started, 1));
        }
        if let Some(stopped) = stopped.filter(|stopped| *stopped >= since) {
            changes.push((stopped, -1));
        }
    }
    // At one instant a start counts before a stop: no dip is invented between them.
    changes.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut lowest = running;
    for (_, change) in changes {
        running += change;
        lowest = lowest.min(running);
    }
    lowest
}

#[test]
fn services_roll_out_trip_the_circuit_breaker_and_run_daemons_with_docker() {
    let Some(dir) = busybox_ready("the ECS deployments end-to-end test", "ecs-deployments") else { return };
    let cluster = format!("deploy-{}", std::process::id());
    let containers = Containers { cluster: cluster.clone() };
    let server = common::Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    instance_role(&server, &[SSM_POLICY, ECS_POLICY]);
    server.aws_json(&root, &["ecs", "create-cluster", "--cluster-name", &cluster]);
    let activation = server
        .aws_json(&root, &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole", "--registration-limit", "3"]);
    let states: Vec<_> = ["one", "two", "three"].iter().map(|name| dir.join(name)).collect();
    for state in &states[..2] {
        registered_id(&register_agent(&server, &activation, &cluster, state, &[]));
    }
    let agents: Vec<Agent> = states[..2].iter().map(|state| Agent::start(state)).collect();
    let ecs = Ecs { server: &server, cluster: cluster.clone() };
    wait_for("two container instances", Duration::from_secs(30), || {
        (ecs.call(&["list-container-instances"])["containerInstanceArns"].as_array()?.len() == 2).then_some(())
    });

    // A service of 10 healthy tasks, then revision 2 at 50% minimum healthy, 200% maximum.
    ecs.register_definition(web("1", "true"));
    ecs.register_definition(web("2", "true"));
    ecs.register_definition(web("3", "exit 1"));
    ecs.call(&[
        "create-service",
        "--service-name",
        "web",
        "--task-definition",
        "web:1",
        "--desired-count",
        "10",
        "--launch-type",
        "EXTERNAL",
        "--deployment-configuration",
        "minimumHealthyPercent=50,maximumPercent=100,deploymentCircuitBreaker={enable=true,rollback=true}",
    ]);
    let (first, _) = settle(&ecs, "web", "web:1", 0, Duration::from_secs(120));
    assert!(messages(&first).iter().any(|m| m == "(service web) has reached a steady state."), "{first}");

    // At 50%-100% the old tasks make room first: the count drops, but never below 5.
    let started = Instant::now();
    let updated = ecs.call(&["update-service", "--service", "web", "--task-definition", "web:2"]);
    let deployed_at = updated["service"]["deployments"][0]["createdAt"].as_f64().unwrap();
    let mut waiter = server
        .aws_command(&root, &["ecs", "wait", "services-stable", "--cluster", &cluster, "--services", "web"])
        .spawn()
        .unwrap();
    let (rolled, _) = settle(&ecs, "web", "web:2", 5, Duration::from_secs(180));
    let took = started.elapsed();
    // Its service deployment succeeded with the rollout, from revision 1's to revision 2's.
    let rolling = service_deployment(&ecs, rolled["currentServiceDeployment"].as_str().unwrap());
    assert_eq!(rolling["status"], "SUCCESSFUL", "{rolling}");
    assert_eq!(rolling["targetServiceRevision"]["runningTaskCount"], 10, "{rolling}");
    assert_eq!(rolling["sourceServiceRevisions"].as_array().unwrap().len(), 1, "{rolling}");
    assert_eq!(rolling["deploymentCircuitBreaker"]["status"], "MONITORING_COMPLETE", "{rolling}");
    assert!(waiter.wait().unwrap().success(), "aws ecs wait services-stable");
    let lowest = lowest_running(&ecs, "web", deployed_at);
    assert!((5..10).contains(&lowest), "the deployment went in steps: the lowest running count was {lowest}");
    eprintln!(
        "a deployment of 10 tasks on 2 instances (health checks every 5 s, 50%-100%) completed {took:?} after \
         UpdateService; the running count went down to {lowest}"
    );
    // At ECS's defaults (100%-200%) the new tasks start first and the count never drops.
    let started = Instant::now();
    let updated = ecs.call(&[
        "update-service",
        "--service",
        "web",
        "--force-new-deployment",
        "--deployment-configuration",
        "minimumHealthyPercent=100,maximumPercent=200",
    ]);
    let deployed_at = updated["service"]["deployments"][0]["createdAt"].as_f64().unwrap();
    let (second, _) = settle(&ecs, "web", "web:2", 10, Duration::from_secs(180));
    let lowest = lowest_running(&ecs, "web", deployed_at);
    assert_eq!(lowest, 10, "at 100%-200% no old task stops before its replacement runs");
    eprintln!(
        "a deployment of 10 tasks on 2 instances (health checks every 5 s, 100%-200%) completed {:?} after \
         UpdateService; the running count never went below {lowest}",
        started.elapsed()
    );
    assert_eq!(
        second["deploymentConfiguration"]["deploymentCircuitBreaker"],
        json!({"enable": true, "rollback": true}),
        "the breaker kept"
    );
    let tasks = ecs.service_tasks("web");
    let running: Vec<&Value> = tasks.iter().filter(|t| t["lastStatus"] == "RUNNING").collect();
    assert_eq!(running.len(), 10);
    assert!(running.iter().all(|t| t["taskDefinitionArn"].as_str().unwrap().ends_with("web:2")));
    assert!(running.iter().all(|t| t["healthStatus"] == "HEALTHY"), "{running:?}");
    let good_deployment = second["deployments"][0]["id"].as_str().unwrap().to_owned();

    // Revision 3 fails its health check: the breaker fails it and rolls back to revision 2.
    ecs.call(&["update-service", "--service", "web", "--task-definition", "web:3", "--desired-count", "4"]);
    let failed = wait_for("the circuit breaker", Duration::from_secs(120), || {
        let described = service(&ecs, "web");
        let events = messages(&described);
        events.iter().any(|m| m.starts_with("(service web) rolling back to deployment")).then_some(described)
    });
    let events = messages(&failed);
    let failure = events.iter().find(|m| m.contains("deployment failed")).unwrap();
    assert!(failure.ends_with(") deployment failed: tasks failed to start."), "{failure}");
    assert!(events.contains(&format!("(service web) rolling back to deployment {good_deployment}.")), "{events:?}");
    assert!(events.iter().any(|m| m.contains("failed container health checks.")), "{events:?}");
    if let Some(bad) = failed["deployments"].as_array().unwrap().iter().find(|d| d["rolloutState"] == "FAILED") {
        assert_eq!(bad["rolloutStateReason"], "ECS deployment circuit breaker: tasks failed to start.");
        assert!(bad["failedTasks"].as_i64().unwrap() >= 3, "{bad}");
        assert_eq!(bad["status"], "ACTIVE");
    }
    let (rolled_back, _) = settle(&ecs, "web", "web:2", 2, Duration::from_secs(120));
    assert_eq!(rolled_back["taskDefinition"].as_str().map(|d| d.ends_with("web:2")), Some(true));
    assert_eq!(rolled_back["deployments"][0]["id"], good_deployment.as_str());
    // Revision 3's service deployment was rolled back by the breaker to the forced deployment's
    // revision, and the rollback completed.
    let listed = ecs.call(&["list-service-deployments", "--service", "web"]);
    let briefs = listed["serviceDeployments"].as_array().unwrap();
    assert_eq!(briefs.len(), 4, "{listed}");
    let tripped = service_deployment(&ecs, briefs[0]["serviceDeploymentArn"].as_str().unwrap());
    assert_eq!(tripped["status"], "ROLLBACK_SUCCESSFUL", "{tripped}");
    assert_eq!(tripped["deploymentCircuitBreaker"]["status"], "TRIGGERED", "{tripped}");
    assert!(tripped["deploymentCircuitBreaker"]["failureCount"].as_i64().unwrap() >= 3, "{tripped}");
    assert_eq!(tripped["rollback"]["serviceRevisionArn"], briefs[1]["targetServiceRevisionArn"], "{tripped}");
    assert!(briefs[1..].iter().all(|b| b["status"] == "SUCCESSFUL"), "{listed}");
    ecs.call(&["delete-service", "--service", "web", "--force"]);

    // The EXTERNAL controller: a blue/green tool's task sets, each running its scale's tasks.
    ecs.call(&[
        "create-service",
        "--service-name",
        "edge",
        "--desired-count",
        "2",
        "--launch-type",
        "EXTERNAL",
        "--deployment-controller",
        "type=EXTERNAL",
    ]);
    let set = |definition: &str, scale: &str| {
        let created = ecs.call(&[
            "create-task-set",
            "--service",
            "edge",
            "--task-definition",
            definition,
            "--scale",
            &format!("value={scale},unit=PERCENT"),
        ]);
        created["taskSet"]["id"].as_str().unwrap().to_owned()
    };
    let running_of = |id: &str| {
        ecs.service_tasks("edge").into_iter().filter(|t| t["startedBy"] == id && t["lastStatus"] == "RUNNING").count()
    };
    let blue = set("web:1", "100");
    let green = set("web:2", "50");
    wait_for("blue 2 and green 1 running", Duration::from_secs(60), || {
        (running_of(&blue) == 2 && running_of(&green) == 1).then_some(())
    });
    ecs.call(&["update-service-primary-task-set", "--service", "edge", "--primary-task-set", &green]);
    ecs.call(&["update-task-set", "--service", "edge", "--task-set", &green, "--scale", "value=100,unit=PERCENT"]);
    ecs.call(&["update-task-set", "--service", "edge", "--task-set", &blue, "--scale", "value=0,unit=PERCENT"]);
    ecs.call(&["delete-task-set", "--service", "edge", "--task-set", &blue]);
    let edge = wait_for("green alone, steady", Duration::from_secs(60), || {
        let described = service(&ecs, "edge");
        let sets = described["taskSets"].as_array()?.clone();
        let steady = sets.len() == 1 && sets[0]["stabilityStatus"] == "STEADY_STATE" && running_of(&green) == 2;
        (steady && running_of(&blue) == 0).then_some(described)
    });
    assert!(edge["taskDefinition"].as_str().unwrap().ends_with("web:2"), "the primary's definition: {edge}");
    ecs.call(&["delete-service", "--service", "edge", "--force"]);

    // A DAEMON service: one task per instance, one more when an instance joins, and that one
    // stopped when its instance drains.
    ecs.register_definition(json!({
        "family": "shipper",
        "containerDefinitions": [{
            "name": "ship", "image": IMAGE, "memory": 8, "stopTimeout": 2,
            "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
        }],
    }));
    ecs.call(&[
        "create-service",
        "--service-name",
        "shipper",
        "--task-definition",
        "shipper",
        "--scheduling-strategy",
        "DAEMON",
        "--launch-type",
        "EXTERNAL",
    ]);
    let on_each = |count: usize| {
        wait_for(&format!("the daemon on {count} instances"), Duration::from_secs(60), || {
            let described = service(&ecs, "shipper");
            let tasks = ecs.service_tasks("shipper");
            let running: Vec<&Value> = tasks.iter().filter(|t| t["lastStatus"] == "RUNNING").collect();
            let mut hosts: Vec<&str> = running.iter().map(|t| t["containerInstanceArn"].as_str().unwrap()).collect();
            hosts.sort_unstable();
            hosts.dedup();
            let settled = running.len() == count && hosts.len() == count && described["desiredCount"] == count;
            settled.then(|| hosts.iter().map(|h| (*h).to_owned()).collect::<Vec<String>>())
        })
    };
    let before = on_each(2);
    let three = registered_id(&register_agent(&server, &activation, &cluster, &states[2], &[]));
    let agent_three = Agent::start(&states[2]);
    let after = on_each(3);
    let joined = after.iter().find(|arn| !before.contains(arn)).unwrap().clone();
    let described = ecs.call(&["describe-container-instances", "--container-instances", &joined]);
    assert_eq!(described["containerInstances"][0]["ec2InstanceId"], three.as_str());
    ecs.call(&["update-container-instances-state", "--container-instances", &joined, "--status", "DRAINING"]);
    assert_eq!(on_each(2), before, "the drained instance's task stopped, the others ran on");
    let drained = ecs.call(&["list-tasks", "--container-instance", &joined, "--desired-status", "STOPPED"]);
    let stopped = ecs.tasks(&[drained["taskArns"][0].as_str().unwrap().to_owned()]).remove(0);
    assert_eq!(stopped["stoppedReason"], "Container instance is draining", "{stopped}");
    ecs.call(&["delete-service", "--service", "shipper", "--force"]);

    drop(agent_three);
    drop(agents);
    drop(containers);
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
