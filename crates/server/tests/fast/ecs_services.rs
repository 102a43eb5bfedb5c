//! ECS services (with no container instance to place on), in process: created, described,
//! scaled and deleted; ECS's errors for bad input (today's codes and messages); refusals.

use crate::support::{Case, TestServer, ecs, merged, unique};
use serde_json::{Value, json};

crate::support::on_both_stores!(
    services_are_created_described_and_refused_while_scaled_up,
    scaled_services,
    deployment_settings_are_kept_and_what_homeport_cannot_honour_is_refused,
    task_sets_run_an_external_service,
    bad_services_are_refused_with_ecss_messages,
    a_user_without_permissions_is_refused_every_service_operation
);

/// A cluster and an ACTIVE task definition family, made by root; their names.
fn cluster_and_family(server: &TestServer) -> (String, String) {
    let cluster = unique("svc-cluster");
    let family = unique("svc-family");
    server.ecs(&server.root, "CreateCluster", &json!({"clusterName": cluster})).ok();
    server
        .ecs(
            &server.root,
            "RegisterTaskDefinition",
            &json!({"family": family, "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 64}]}),
        )
        .ok();
    (cluster, family)
}

fn service(cluster: &str, name: &str, family: &str, extra: Value) -> Value {
    merged(json!({"cluster": cluster, "serviceName": name, "taskDefinition": family, "desiredCount": 1}), extra)
}

fn services_are_created_described_and_refused_while_scaled_up(server: &TestServer) {
    let root = &server.root;
    let (cluster, family) = cluster_and_family(server);
    let name = unique("svc");
    let arn = format!("arn:aws:ecs:us-east-1:{}:service/{cluster}/{name}", server.account_id);
    let definition = format!("arn:aws:ecs:us-east-1:{}:task-definition/{family}:1", server.account_id);
    // Only reads and refusals after the create: the scheduler's passes write this service (its
    // events), and a write racing them can be lost today (see `scaled_services`).
    server.run(&[
        Case::ok("create", root, ecs("CreateService", service(&cluster, &name, &family, json!({}))))
            .json("/service/serviceArn", arn.as_str())
            .json("/service/status", "ACTIVE")
            .json("/service/desiredCount", 1)
            .json("/service/runningCount", 0)
            .json("/service/launchType", "EXTERNAL")
            .json("/service/taskDefinition", definition.as_str())
            .json("/service/deploymentConfiguration/maximumPercent", 200)
            .json("/service/createdBy", format!("arn:aws:iam::{}:root", server.account_id))
            .json(
                "/service/events/0/message",
                format!("(service {name}) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster."),
            ),
        Case::error("create again", root, ecs("CreateService", service(&cluster, &name, &family, json!({}))), 400,
            "InvalidParameterException", "Creation of service was not idempotent."),
        Case::ok("described", root, ecs("DescribeServices", json!({"cluster": cluster, "services": [name]})))
            .json("/services/0/serviceName", name.as_str())
            .json_len("/failures", 0),
        Case::ok("one nobody made is a failure", root,
            ecs("DescribeServices", json!({"cluster": cluster, "services": ["nobody-made-me"]})))
            .json_len("/services", 0)
            .json("/failures/0/reason", "MISSING"),
        Case::ok("listed", root, ecs("ListServices", json!({"cluster": cluster}))).json("/serviceArns", json!([arn])),
        Case::ok("listed as EXTERNAL", root, ecs("ListServices", json!({"cluster": cluster, "launchType": "EXTERNAL"})))
            .json("/serviceArns", json!([arn])),
        Case::ok("not as FARGATE", root, ecs("ListServices", json!({"cluster": cluster, "launchType": "FARGATE"})))
            .json_len("/serviceArns", 0),
        Case::ok("as REPLICA", root, ecs("ListServices", json!({"cluster": cluster, "schedulingStrategy": "REPLICA"})))
            .json("/serviceArns", json!([arn])),
        Case::ok("not as DAEMON", root, ecs("ListServices", json!({"cluster": cluster, "schedulingStrategy": "DAEMON"})))
            .json_len("/serviceArns", 0),
        Case::error("a launch type ECS does not have", root,
            ecs("ListServices", json!({"cluster": cluster, "launchType": "LAMBDA"})), 400, "InvalidParameterException",
            "Value 'LAMBDA' at 'launchType' failed to satisfy constraint: Member must satisfy enum value set"),
        Case::error("a strategy ECS does not have", root,
            ecs("ListServices", json!({"cluster": cluster, "schedulingStrategy": "ONCE"})), 400,
            "InvalidParameterException",
            "Value 'ONCE' at 'schedulingStrategy' failed to satisfy constraint: Member must satisfy enum value set"),
        Case::error("deleted while scaled up", root, ecs("DeleteService", json!({"cluster": cluster, "service": name})), 400,
            "InvalidParameterException", "The service cannot be stopped while it is scaled above 0."),
        Case::error("the cluster has a service", root, ecs("DeleteCluster", json!({"cluster": cluster})), 400,
            "ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active."),
    ]);
}

/// Services of no tasks, which the scheduler's passes leave alone once created.
fn scaled_services(server: &TestServer) {
    let root = &server.root;
    let (cluster, family) = cluster_and_family(server);
    let name = unique("idle");
    server.run(&[
        Case::ok("create at zero", root, ecs("CreateService", service(&cluster, &name, &family, json!({"desiredCount": 0}))))
            .json("/service/desiredCount", 0)
            .json("/service/events/0/message", format!("(service {name}) has reached a steady state.")),
        Case::error("scaled below zero", root,
            ecs("UpdateService", json!({"cluster": cluster, "service": name, "desiredCount": -1})), 400,
            "InvalidParameterException", "desiredCount must be >= 0."),
        Case::ok("a gentler deployment", root, ecs("UpdateService", json!({
            "cluster": cluster, "service": name, "deploymentConfiguration": {"minimumHealthyPercent": 50},
        })))
        .json("/service/deploymentConfiguration/minimumHealthyPercent", 50)
        .json("/service/deploymentConfiguration/maximumPercent", 200),
        Case::error("a minimum above the maximum", root, ecs("UpdateService", json!({
            "cluster": cluster, "service": name, "deploymentConfiguration": {"maximumPercent": 100, "minimumHealthyPercent": 150},
        })), 400, "InvalidParameterException",
            "maximumPercent must be 100-200 and minimumHealthyPercent 0-100, not above it."),
        // With no task left to drain, the scheduler's pass in DeleteService ends it at once.
        Case::ok("deleted", root, ecs("DeleteService", json!({"cluster": cluster, "service": name})))
            .json("/service/status", "INACTIVE"),
        Case::error("updated once deleted", root,
            ecs("UpdateService", json!({"cluster": cluster, "service": name, "desiredCount": 1})), 400,
            "ServiceNotActiveException", "Service was not ACTIVE."),
        Case::ok("no longer listed", root, ecs("ListServices", json!({"cluster": cluster}))).json_len("/serviceArns", 0),
    ]);
}

/// The circuit breaker, the grace period and a daemon's defaults are kept and answered;
/// deployment features Homeport does not have (alarms, blue/green, a load balancer's role)
/// are refused, never dropped.
fn deployment_settings_are_kept_and_what_homeport_cannot_honour_is_refused(server: &TestServer) {
    let root = &server.root;
    let (cluster, family) = cluster_and_family(server);
    let create = |name: &str, extra: Value| {
        ecs("CreateService", service(&cluster, name, &family, merged(json!({"desiredCount": 0}), extra)))
    };
    let name = unique("breaker");
    let refused = |what: &str| format!("Homeport does not support the CreateService parameter {what} yet.");
    server.run(&[
        Case::ok("a breaker and a grace period", root, create(&name, json!({
            "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}, "minimumHealthyPercent": 50},
            "healthCheckGracePeriodSeconds": 30,
        })))
        .json("/service/deploymentConfiguration/deploymentCircuitBreaker", json!({"enable": true, "rollback": true}))
        .json("/service/deploymentConfiguration/minimumHealthyPercent", 50)
        .json("/service/deploymentConfiguration/strategy", "ROLLING")
        .json("/service/healthCheckGracePeriodSeconds", 30)
        .json("/service/deploymentController/type", "ECS")
        .json("/service/deployments/0/failedTasks", 0),
        Case::ok("the breaker kept when the percentages change", root, ecs("UpdateService", json!({
            "cluster": cluster, "service": name, "deploymentConfiguration": {"maximumPercent": 150},
            "healthCheckGracePeriodSeconds": 5,
        })))
        .json("/service/deploymentConfiguration/deploymentCircuitBreaker/rollback", true)
        .json("/service/deploymentConfiguration/maximumPercent", 150)
        .json("/service/healthCheckGracePeriodSeconds", 5),
        Case::ok("a daemon's defaults", root, create(&unique("daemon"), json!({"schedulingStrategy": "DAEMON"})))
            .json("/service/deploymentConfiguration/maximumPercent", 100)
            .json("/service/deploymentConfiguration/minimumHealthyPercent", 0),
        Case::error("a daemon above 100%", root,
            create(&unique("daemon"), json!({"schedulingStrategy": "DAEMON", "deploymentConfiguration": {"maximumPercent": 200}})),
            400, "InvalidParameterException", "The maximumPercent of a DAEMON service must be 100."),
        Case::error("a daemon with a placement strategy", root,
            create(&unique("daemon"), json!({"schedulingStrategy": "DAEMON", "placementStrategy": [{"type": "random"}]})),
            400, "InvalidParameterException", "Placement strategies are not supported with the DAEMON scheduling strategy."),
        Case::error("alarms", root, create(&unique("s"), json!({"deploymentConfiguration": {
            "alarms": {"alarmNames": ["high-errors"], "enable": true, "rollback": true}}})),
            400, "InvalidParameterException", refused("'deploymentConfiguration.alarms'")),
        Case::ok("alarms turned off are nothing to honour", root, create(&unique("s"), json!({"deploymentConfiguration": {
            "alarms": {"alarmNames": [], "enable": false, "rollback": false}}}))),
        Case::error("blue/green", root, create(&unique("s"), json!({"deploymentConfiguration": {"strategy": "BLUE_GREEN"}})),
            400, "InvalidParameterException", refused("'deploymentConfiguration.strategy'")),
        Case::error("a bake time", root, create(&unique("s"), json!({"deploymentConfiguration": {"bakeTimeInMinutes": 5}})),
            400, "InvalidParameterException", refused("'deploymentConfiguration.bakeTimeInMinutes'")),
        Case::error("a load balancer's role", root, create(&unique("s"), json!({"role": "ecsServiceRole"})),
            400, "InvalidParameterException", refused("'role'")),
        Case::error("a negative grace period", root, create(&unique("s"), json!({"healthCheckGracePeriodSeconds": -1})),
            400, "InvalidParameterException", "healthCheckGracePeriodSeconds must be between 0 and 2147483647."),
    ]);
}

fn bad_services_are_refused_with_ecss_messages(server: &TestServer) {
    let root = &server.root;
    let (cluster, family) = cluster_and_family(server);
    let create = |name: &str, extra: Value| ecs("CreateService", service(&cluster, name, &family, extra));
    server.run(&[
        Case::error(
            "a cluster nobody made",
            root,
            ecs("CreateService", service("nobody-made-me", "s", &family, json!({}))),
            400,
            "ClusterNotFoundException",
            "Cluster not found.",
        ),
        Case::error(
            "a name with a space",
            root,
            create("a b", json!({})),
            400,
            "InvalidParameterException",
            "Service names can have up to 255 letters, numbers, hyphens and underscores.",
        ),
        Case::error(
            "no desired count",
            root,
            ecs(
                "CreateService",
                json!({
                    "cluster": cluster, "serviceName": unique("s"), "taskDefinition": family,
                }),
            ),
            400,
            "InvalidParameterException",
            "desiredCount is required for REPLICA services.",
        ),
        Case::error(
            "an unknown strategy",
            root,
            create(&unique("s"), json!({"schedulingStrategy": "SOMETIMES"})),
            400,
            "InvalidParameterException",
            "1 validation error detected: Value 'SOMETIMES' at 'schedulingStrategy' failed to satisfy constraint: Member must satisfy enum value set: [REPLICA, DAEMON]",
        ),
        Case::error(
            "a network configuration",
            root,
            create(&unique("s"), json!({"networkConfiguration": {}})),
            400,
            "InvalidParameterException",
            "Network Configuration is not valid for the given networkMode of this task definition.",
        ),
        Case::error(
            "a maximum under 100%",
            root,
            create(&unique("s"), json!({"deploymentConfiguration": {"maximumPercent": 50}})),
            400,
            "InvalidParameterException",
            "maximumPercent must be 100-200 and minimumHealthyPercent 0-100, not above it.",
        ),
        Case::error(
            "a family nobody registered",
            root,
            ecs("CreateService", service(&cluster, &unique("s"), "nobody-made-me", json!({}))),
            400,
            "ClientException",
            "Unable to describe task definition.",
        ),
        Case::error(
            "describe none",
            root,
            ecs("DescribeServices", json!({"cluster": cluster, "services": []})),
            400,
            "InvalidParameterException",
            "services must have between 1 and 10 items.",
        ),
        Case::error(
            "update one nobody made",
            root,
            ecs("UpdateService", json!({"cluster": cluster, "service": "nobody-made-me", "desiredCount": 1})),
            400,
            "ServiceNotFoundException",
            "Service not found.",
        ),
    ]);
}

fn a_user_without_permissions_is_refused_every_service_operation(server: &TestServer) {
    let nobody = server.nobody();
    let (cluster, family) = cluster_and_family(server);
    let arn = |name: &str| format!("arn:aws:ecs:us-east-1:{}:service/{cluster}/{name}", server.account_id);
    let denied =
        |action: &str, resource: &str| format!("is not authorized to perform: ecs:{action} on resource: {resource}");
    server.run(&[
        Case::denied(
            "create",
            nobody,
            ecs("CreateService", service(&cluster, "s1", &family, json!({}))),
            denied("CreateService", &arn("s1")),
        ),
        Case::denied(
            "update",
            nobody,
            ecs("UpdateService", json!({"cluster": cluster, "service": "s2", "desiredCount": 0})),
            denied("UpdateService", &arn("s2")),
        ),
        Case::denied(
            "delete",
            nobody,
            ecs("DeleteService", json!({"cluster": cluster, "service": "s3"})),
            denied("DeleteService", &arn("s3")),
        ),
        // DescribeServices is authorized on the cluster today, not on each service.
        Case::denied(
            "describe",
            nobody,
            ecs("DescribeServices", json!({"cluster": cluster, "services": ["s4"]})),
            denied("DescribeServices", &format!("arn:aws:ecs:us-east-1:{}:cluster/{cluster}", server.account_id)),
        ),
        Case::denied("list", nobody, ecs("ListServices", json!({"cluster": cluster})), "ecs:ListServices"),
    ]);
}

/// UpdateService changes a service under the cluster's placement lock, which the scheduler's
/// pass holds while it reads and saves the same service: a pass never saves a copy read
/// before the update over it. (Found by this tier: the update had been saved outside the lock,
/// and a pass recording that it could not place the service's task, in a cluster with no
/// instances, wrote the old desired count back.) Each change is read back a second later,
/// after at least one pass. On the embedded store only: the lock is the server's, whatever
/// the store, and the test's four seconds of waiting would be the PostgreSQL run's longest.
#[test]
fn an_update_is_never_overwritten_by_a_scheduler_pass() {
    let server = crate::support::shared();
    let (cluster, family) = cluster_and_family(server);
    let name = unique("contended");
    server.ecs(&server.root, "CreateService", &service(&cluster, &name, &family, json!({}))).ok();
    for round in 0..4_i64 {
        let wanted = round % 2;
        let update = json!({"cluster": cluster, "service": name, "desiredCount": wanted});
        server.ecs(&server.root, "UpdateService", &update).ok();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let described =
            server.ecs(&server.root, "DescribeServices", &json!({"cluster": cluster, "services": [name]})).ok().value();
        assert_eq!(described["services"][0]["desiredCount"], wanted, "round {round}: {described}");
    }
}

/// The EXTERNAL deployment controller: a service without a task definition, run by task sets
/// whose counts are their scale of the service's desired count, rounded up; the primary set
/// gives the service its task definition; a set scaled to 0 is deleted (draining, then gone).
fn task_sets_run_an_external_service(server: &TestServer) {
    let root = &server.root;
    let (cluster, family) = cluster_and_family(server);
    let name = unique("blue-green");
    let definition = format!("arn:aws:ecs:us-east-1:{}:task-definition/{family}:1", server.account_id);
    let service_arn = format!("arn:aws:ecs:us-east-1:{}:service/{cluster}/{name}", server.account_id);
    let external = json!({"cluster": cluster, "serviceName": name, "desiredCount": 3, "deploymentController": {"type": "EXTERNAL"}});
    let set = |extra: Value| {
        ecs("CreateTaskSet", merged(json!({"cluster": cluster, "service": name, "taskDefinition": family}), extra))
    };
    server.run(&[
        Case::ok("an external service", root, ecs("CreateService", external.clone()))
            .json("/service/deploymentController/type", "EXTERNAL")
            .json_len("/service/deployments", 0)
            .json_len("/service/taskSets", 0),
        Case::error("a task definition belongs to task sets", root,
            ecs("CreateService", merged(external.clone(), json!({"serviceName": unique("s"), "taskDefinition": family}))),
            400, "InvalidParameterException",
            "A service using the EXTERNAL deployment controller takes its task definition from its task sets."),
        Case::ok("the blue set", root, set(json!({"externalId": "blue", "scale": {"value": 100, "unit": "PERCENT"}})))
            .json("/taskSet/status", "PRIMARY")
            .json("/taskSet/computedDesiredCount", 3)
            .json("/taskSet/taskDefinition", definition.as_str())
            .json("/taskSet/externalId", "blue")
            .json("/taskSet/serviceArn", service_arn.as_str())
            .json("/taskSet/stabilityStatus", "STABILIZING"),
        Case::ok("the green set", root, set(json!({"externalId": "green", "scale": {"value": 50, "unit": "PERCENT"}})))
            .json("/taskSet/status", "ACTIVE")
            .json("/taskSet/computedDesiredCount", 2),
        Case::ok("the service shows both", root, ecs("DescribeServices", json!({"cluster": cluster, "services": [name]})))
            .json_len("/services/0/taskSets", 2)
            .json("/services/0/taskDefinition", definition.as_str()),
        Case::error("a set of a service that is not EXTERNAL", root,
            ecs("CreateTaskSet", json!({"cluster": cluster, "service": "nobody-made-me", "taskDefinition": family})),
            400, "ServiceNotFoundException", "Service not found."),
        Case::error("a set nobody made", root,
            ecs("UpdateTaskSet", json!({"cluster": cluster, "service": name, "taskSet": "ecs-svc/0", "scale": {"value": 1, "unit": "PERCENT"}})),
            400, "TaskSetNotFoundException", "The specified task set does not exist."),
        Case::error("a scale above 100%", root, set(json!({"scale": {"value": 150, "unit": "PERCENT"}})),
            400, "InvalidParameterException", "The scale value must be between 0 and 100."),
    ]);
    let sets = server.ecs(root, "DescribeTaskSets", &json!({"cluster": cluster, "service": name})).ok().value();
    let id = |external: &str| {
        sets["taskSets"].as_array().unwrap().iter().find(|s| s["externalId"] == external).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (blue, green) = (id("blue"), id("green"));
    server.run(&[
        Case::ok("green becomes primary", root,
            ecs("UpdateServicePrimaryTaskSet", json!({"cluster": cluster, "service": name, "primaryTaskSet": green})))
            .json("/taskSet/status", "PRIMARY"),
        Case::ok("green at full scale", root,
            ecs("UpdateTaskSet", json!({"cluster": cluster, "service": name, "taskSet": green, "scale": {"value": 100, "unit": "PERCENT"}})))
            .json("/taskSet/computedDesiredCount", 3),
        Case::error("blue still scaled up", root,
            ecs("DeleteTaskSet", json!({"cluster": cluster, "service": name, "taskSet": blue})),
            400, "InvalidParameterException", "The task set cannot be deleted while it is scaled above 0; scale it to 0 or use force."),
        Case::ok("blue scaled down", root,
            ecs("UpdateTaskSet", json!({"cluster": cluster, "service": name, "taskSet": blue, "scale": {"value": 0, "unit": "PERCENT"}})))
            .json("/taskSet/computedDesiredCount", 0)
            .json("/taskSet/status", "ACTIVE"),
        Case::ok("tags only when asked", root,
            ecs("DescribeTaskSets", json!({"cluster": cluster, "service": name, "taskSets": [blue.clone()], "include": ["TAGS"]})))
            .json("/taskSets/0/tags", json!([])),
        Case::ok("the service scaled: the sets follow", root,
            ecs("UpdateService", json!({"cluster": cluster, "service": name, "desiredCount": 4})))
            .json("/service/taskSets/0/computedDesiredCount", 0)
            .json("/service/taskSets/1/computedDesiredCount", 4),
        Case::error("no deployment of an external service", root,
            ecs("UpdateService", json!({"cluster": cluster, "service": name, "forceNewDeployment": true})),
            400, "InvalidParameterException",
            "A service using the EXTERNAL deployment controller is deployed with task sets: create one."),
    ]);
    server.run(&[
        Case::ok(
            "blue deleted",
            root,
            ecs("DeleteTaskSet", json!({"cluster": cluster, "service": name, "taskSet": blue})),
        )
        .json("/taskSet/status", "DRAINING"),
        Case::ok(
            "blue is gone",
            root,
            ecs("DescribeTaskSets", json!({"cluster": cluster, "service": name, "taskSets": [blue]})),
        )
        .json_len("/taskSets", 0)
        .json("/failures/0/reason", "MISSING"),
        Case::ok("green remains, primary", root, ecs("DescribeTaskSets", json!({"cluster": cluster, "service": name})))
            .json_len("/taskSets", 1)
            .json("/taskSets/0/status", "PRIMARY"),
    ]);
}
