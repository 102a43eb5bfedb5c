//! What ECS in Homeport refuses rather than accepts and ignores, in process: task definition
//! members Homeport does not act on (`secrets`, EFS volumes, the `splunk` log driver,
//! `pidMode` `task`, GPUs, ...) refused at registration with `ClientException` naming the
//! member, a mount point naming no volume refused in ECS's words, and nothing stored;
//! launch parameters it would not act on (ECS Exec, capacity providers, propagated tags,
//! environment files) refused with `InvalidParameterException`; a deregistered (INACTIVE)
//! revision refused by RunTask, StartTask, CreateService and UpdateService as ECS refuses it,
//! while a service already on it keeps it; an operation Homeport does not route
//! (`ExecuteCommand`) named in its `UnknownOperationException`; and service events that end
//! in exactly one period.

use crate::support::{Case, TestServer, ecs, logs, merged, unique};
use serde_json::{Value, json};

crate::support::on_both_stores!(
    task_definition_members_homeport_does_not_act_on_are_refused_at_registration,
    launch_parameters_homeport_does_not_act_on_are_refused,
    an_inactive_task_definition_starts_no_new_task_or_service,
    unrouted_operations_are_named_and_service_events_end_once
);

fn container(extra: Value) -> Value {
    merged(json!({"name": "app", "image": "busybox", "memory": 64}), extra)
}

fn task_definition_members_homeport_does_not_act_on_are_refused_at_registration(server: &TestServer) {
    let root = &server.root;
    let family = unique("refused");
    let register = |task: Value, extra: Value| {
        ecs(
            "RegisterTaskDefinition",
            merged(json!({"family": family, "containerDefinitions": [container(extra)]}), task),
        )
    };
    let refused = |name: &str, call, member: &str| {
        Case::error(name, root, call, 400, "ClientException", "Homeport does not support").contains(member)
    };
    // (extra task members, extra container members, the member the message names)
    let cases = [
        (
            json!({}),
            json!({"environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::bucket/app.env"}]}),
            "'environmentFiles'",
        ),
        (
            json!({"volumes": [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]}),
            json!({}),
            "'efsVolumeConfiguration'",
        ),
        (json!({}), json!({"logConfiguration": {"logDriver": "splunk", "options": {"splunk-url": "u"}}}), "'splunk'"),
        (json!({}), json!({"dockerSecurityOptions": ["no-new-privileges"]}), "'dockerSecurityOptions'"),
        (json!({"pidMode": "task"}), json!({}), "'pidMode'"),
        (json!({}), json!({"resourceRequirements": [{"type": "GPU", "value": "1"}]}), "'GPU'"),
    ];
    let mut table: Vec<Case> =
        cases.into_iter().map(|(task, extra, member)| refused(member, register(task, extra), member)).collect();
    table.push(Case::error(
        "a mount point naming no volume",
        root,
        register(json!({}), json!({"mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}]})),
        400,
        "ClientException",
        "Unknown volume 'data'.",
    ));
    table.extend([
        // Nothing was stored, and the same definition without them registers; empty lists (as
        // DescribeTaskDefinition answers them) are no request for anything.
        Case::ok("nothing stored", root, ecs("ListTaskDefinitions", json!({"familyPrefix": family})))
            .json("/taskDefinitionArns", json!([])),
        Case::ok(
            "empty lists are no request",
            root,
            register(json!({"volumes": []}), json!({"secrets": [], "mountPoints": [], "volumesFrom": []})),
        )
        .json("/taskDefinition/revision", 1),
    ]);
    server.run(&table);
}

fn launch_parameters_homeport_does_not_act_on_are_refused(server: &TestServer) {
    let root = &server.root;
    let cluster = unique("edge");
    let family = unique("web");
    let service = unique("web");
    server.ecs(root, "CreateCluster", &json!({"clusterName": cluster})).ok();
    server
        .ecs(root, "RegisterTaskDefinition", &json!({"family": family, "containerDefinitions": [container(json!({}))]}))
        .ok();
    let create = json!({"cluster": cluster, "serviceName": service, "taskDefinition": family, "desiredCount": 0});
    server.ecs(root, "CreateService", &create).ok();
    let launch = |extra: Value| merged(json!({"cluster": cluster, "taskDefinition": family}), extra);
    let refused = |call, named: &str| {
        let message = format!("Homeport does not support the {named} yet.");
        Case::error(named, root, call, 400, "InvalidParameterException", message)
    };
    server.run(&[
        refused(
            ecs("RunTask", launch(json!({"enableExecuteCommand": true}))),
            "RunTask parameter 'enableExecuteCommand'",
        ),
        refused(
            ecs(
                "RunTask",
                launch(json!({"overrides": {"containerOverrides": [
                    {"name": "app", "environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::bucket/app.env"}]}]}})),
            ),
            "RunTask parameter 'overrides.containerOverrides.environmentFiles'",
        ),
        refused(
            ecs(
                "StartTask",
                launch(json!({"containerInstances": ["0123456789abcdef"],
                              "volumeConfigurations": [{"name": "data", "managedEBSVolume": {"sizeInGiB": 1,
                                  "roleArn": "arn:aws:iam::111122223333:role/ebs"}}]})),
            ),
            "StartTask parameter 'volumeConfigurations'",
        ),
        refused(
            ecs(
                "CreateService",
                launch(json!({"serviceName": unique("other"), "desiredCount": 1,
                              "capacityProviderStrategy": [{"capacityProvider": "spot"}]})),
            ),
            "CreateService parameter 'capacityProviderStrategy'",
        ),
        refused(
            ecs("UpdateService", json!({"cluster": cluster, "service": service, "enableExecuteCommand": true})),
            "UpdateService parameter 'enableExecuteCommand'",
        ),
    ]);
}

fn an_inactive_task_definition_starts_no_new_task_or_service(server: &TestServer) {
    let root = &server.root;
    let cluster = unique("edge");
    let family = unique("web");
    let kept = unique("kept");
    let new = unique("new");
    let definition = json!({"family": family, "containerDefinitions": [container(json!({}))]});
    server.ecs(root, "CreateCluster", &json!({"clusterName": cluster})).ok();
    server.ecs(root, "RegisterTaskDefinition", &definition).ok();
    server.ecs(root, "RegisterTaskDefinition", &definition).ok();
    let create =
        json!({"cluster": cluster, "serviceName": kept, "taskDefinition": format!("{family}:2"), "desiredCount": 0});
    server.ecs(root, "CreateService", &create).ok();
    for revision in [1, 2] {
        server.ecs(root, "DeregisterTaskDefinition", &json!({"taskDefinition": format!("{family}:{revision}")})).ok();
    }
    let first = format!("{family}:1");
    let arn = |revision: &str| format!("arn:aws:ecs:us-east-1:{}:task-definition/{revision}", server.account_id);
    let inactive = |name: &str, call| {
        Case::error(name, root, call, 400, "InvalidParameterException", "TaskDefinition is inactive")
    };
    server.run(&[
        inactive(
            "RunTask, EXTERNAL",
            ecs("RunTask", json!({"cluster": cluster, "taskDefinition": first, "launchType": "EXTERNAL"})),
        ),
        inactive("RunTask by ARN", ecs("RunTask", json!({"cluster": cluster, "taskDefinition": arn(&first)}))),
        inactive(
            "StartTask",
            ecs(
                "StartTask",
                json!({"cluster": cluster, "taskDefinition": first, "containerInstances": ["0123456789abcdef"]}),
            ),
        ),
        inactive(
            "CreateService",
            ecs(
                "CreateService",
                json!({"cluster": cluster, "serviceName": new, "taskDefinition": first, "desiredCount": 1}),
            ),
        ),
        inactive(
            "UpdateService",
            ecs("UpdateService", json!({"cluster": cluster, "service": kept, "taskDefinition": first})),
        ),
        // The family has no ACTIVE revision left: by family name it is not found at all.
        Case::error(
            "RunTask by family",
            root,
            ecs("RunTask", json!({"cluster": cluster, "taskDefinition": family})),
            400,
            "ClientException",
            "",
        ),
        // A service already on a revision keeps it through a deregistration and may scale.
        Case::ok(
            "the kept service scales",
            root,
            ecs("UpdateService", json!({"cluster": cluster, "service": kept, "desiredCount": 0})),
        ),
        Case::ok(
            "it keeps its revision",
            root,
            ecs("DescribeServices", json!({"cluster": cluster, "services": [kept, new]})),
        )
        .json("/services/0/taskDefinition", arn(&format!("{family}:2")))
        // The refused service was not created.
        .json("/failures/0/reason", "MISSING"),
    ]);
}

fn unrouted_operations_are_named_and_service_events_end_once(server: &TestServer) {
    let root = &server.root;
    let cluster = unique("edge");
    let family = unique("web");
    let service = unique("web");
    // Every ECS operation is routed now; CloudWatch Logs' transformers are not yet.
    server.run(&[Case::error(
        "GetTransformer",
        root,
        logs("GetTransformer", json!({"logGroupIdentifier": unique("group")})),
        400,
        "UnknownOperationException",
        "Homeport does not support the logs operation GetTransformer.",
    )]);
    server.ecs(root, "CreateCluster", &json!({"clusterName": cluster})).ok();
    server
        .ecs(root, "RegisterTaskDefinition", &json!({"family": family, "containerDefinitions": [container(json!({}))]}))
        .ok();
    // No container instance: the scheduler records why it placed nothing.
    let create = json!({"cluster": cluster, "serviceName": service, "taskDefinition": family, "desiredCount": 1});
    server.ecs(root, "CreateService", &create).ok();
    let described =
        server.ecs(root, "DescribeServices", &json!({"cluster": cluster, "services": [service]})).ok().value();
    let events = described["services"][0]["events"].as_array().cloned().unwrap_or_default();
    let messages: Vec<&str> = events.iter().filter_map(|event| event["message"].as_str()).collect();
    assert!(
        messages.iter().any(|m| m.ends_with("Reason: No Container Instances were found in your cluster.")),
        "{messages:?}"
    );
    assert!(messages.iter().all(|m| m.ends_with('.') && !m.ends_with("..")), "{messages:?}");
}
