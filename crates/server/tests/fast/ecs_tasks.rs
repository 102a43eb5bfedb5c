//! ECS tasks on a cluster with no container instance, in process: what RunTask answers when
//! nothing can take the task, ECS's errors for bad launches (today's codes and messages), and
//! refusals.

use crate::support::{Case, TestServer, ecs, merged, unique};
use serde_json::json;

crate::support::on_both_stores!(
    tasks_without_instances_and_bad_launches,
    a_user_without_permissions_is_refused_every_task_operation
);

fn tasks_without_instances_and_bad_launches(server: &TestServer) {
    let root = &server.root;
    let cluster = unique("task-cluster");
    let family = unique("task-family");
    let vpc = unique("vpc-family");
    server.ecs(root, "CreateCluster", &json!({"clusterName": cluster})).ok();
    let container = json!([{"name": "web", "image": "nginx", "memory": 64}]);
    server.ecs(root, "RegisterTaskDefinition", &json!({"family": family, "containerDefinitions": container})).ok();
    server
        .ecs(
            root,
            "RegisterTaskDefinition",
            &json!({"family": vpc, "networkMode": "awsvpc", "containerDefinitions": container}),
        )
        .ok();
    let run =
        |extra: serde_json::Value| ecs("RunTask", merged(json!({"cluster": cluster, "taskDefinition": family}), extra));
    server.run(&[
        Case::ok("nothing to run it on", root, run(json!({})))
            .json_len("/tasks", 0)
            .json("/failures/0/reason", "No Container Instances were found in your cluster."),
        Case::ok("no tasks listed", root, ecs("ListTasks", json!({"cluster": cluster}))).json_len("/taskArns", 0),
        Case::error("eleven at once", root, run(json!({"count": 11})), 400, "InvalidParameterException",
            "count must be between 1 and 10."),
        Case::error("none at all", root, run(json!({"count": 0})), 400, "InvalidParameterException",
            "count must be between 1 and 10."),
        Case::error("on Fargate", root, run(json!({"launchType": "FARGATE"})), 400, "InvalidParameterException",
            "Launch type FARGATE is not supported: Homeport runs EXTERNAL tasks."),
        Case::error("with a network configuration", root, run(json!({"networkConfiguration": {}})), 400,
            "InvalidParameterException",
            "Network Configuration is not valid for the given networkMode of this task definition."),
        Case::error("an awsvpc definition", root, ecs("RunTask", json!({"cluster": cluster, "taskDefinition": vpc})), 400,
            "InvalidParameterException", "Task definition does not support launch_type EXTERNAL."),
        Case::error("an override for a stranger", root,
            run(json!({"overrides": {"containerOverrides": [{"name": "db"}]}})), 400, "InvalidParameterException",
            "Override for container named db is not a container in the TaskDefinition."),
        Case::error("startedBy too long", root, run(json!({"startedBy": "x".repeat(129)})), 400,
            "InvalidParameterException", "startedBy can have at most 128 characters."),
        Case::error("a family nobody registered", root,
            ecs("RunTask", json!({"cluster": cluster, "taskDefinition": "nobody-made-me"})), 400, "ClientException",
            "Unable to describe task definition."),
        Case::error("a cluster nobody made", root,
            ecs("RunTask", json!({"cluster": "nobody-made-me", "taskDefinition": family})), 400,
            "ClusterNotFoundException", "Cluster not found."),
        Case::error("stop a task nobody ran", root, ecs("StopTask", json!({
            "cluster": cluster,
            "task": format!("arn:aws:ecs:us-east-1:{}:task/{cluster}/0123456789abcdef0123456789abcdef", server.account_id),
        })), 400, "InvalidParameterException", "The referenced task was not found."),
        Case::error("describe none", root, ecs("DescribeTasks", json!({"cluster": cluster, "tasks": []})), 400,
            "InvalidParameterException", "Tasks cannot be empty and can have at most 100 items."),
        Case::error("list by a status ECS does not have", root,
            ecs("ListTasks", json!({"cluster": cluster, "desiredStatus": "SLEEPING"})), 400, "InvalidParameterException",
            "1 validation error detected: Value 'SLEEPING' at 'desiredStatus' failed to satisfy constraint: Member must satisfy enum value set: [RUNNING, PENDING, STOPPED]"),
        Case::ok("no container instances", root, ecs("ListContainerInstances", json!({"cluster": cluster})))
            .json_len("/containerInstanceArns", 0),
    ]);
}

fn a_user_without_permissions_is_refused_every_task_operation(server: &TestServer) {
    let nobody = server.nobody();
    let cluster = unique("guarded-tasks");
    server.ecs(&server.root, "CreateCluster", &json!({"clusterName": cluster})).ok();
    server.run(&[
        Case::denied("run", nobody, ecs("RunTask", json!({"cluster": cluster, "taskDefinition": "f"})), "ecs:RunTask"),
        Case::denied("list", nobody, ecs("ListTasks", json!({"cluster": cluster})), "ecs:ListTasks"),
        Case::denied("stop", nobody, ecs("StopTask", json!({"cluster": cluster, "task": "t"})), "ecs:StopTask"),
        Case::denied(
            "describe",
            nobody,
            ecs("DescribeTasks", json!({"cluster": cluster, "tasks": ["t"]})),
            "ecs:DescribeTasks",
        ),
        Case::denied(
            "list its instances",
            nobody,
            ecs("ListContainerInstances", json!({"cluster": cluster})),
            "ecs:ListContainerInstances",
        ),
    ]);
}
