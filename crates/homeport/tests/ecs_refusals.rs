//! What the control plane refuses rather than accepts and ignores, through boto3 against the
//! real server (no agent, no Docker): task definitions with members Homeport does not act on
//! (`secrets`, `volumes`, `mountPoints`, other log drivers, ...) refused at registration with
//! ECS's `ClientException` naming the member, and launch parameters it would not act on (ECS
//! Exec, capacity providers, propagated tags, environment files) with
//! `InvalidParameterException`; RunTask, StartTask, CreateService and
//! UpdateService refusing a deregistered (INACTIVE) revision as ECS does, while a service
//! already on it keeps it; an operation Homeport does not route (`ExecuteCommand`) named in
//! its `UnknownOperationException`; a service event that ends in exactly one period; and
//! `HEAD` on the public paths answering as `GET` does, without the body.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

mod common;

use std::io::{Read, Write};

use serde_json::{Value, json};

use common::{Server, boto3_available, fresh_dir};

fn ecs(operation: &str, params: Value) -> Value {
    json!({"service": "ecs", "operation": operation, "params": params})
}

/// The error of an answer, or a failure naming the call.
fn error<'a>(answer: &'a Value, call: &Value) -> &'a Value {
    answer.get("error").unwrap_or_else(|| panic!("{call} succeeded: {answer}"))
}

fn container(extra: Value) -> Value {
    let mut app = json!({"name": "app", "image": "busybox", "memory": 64});
    for (key, value) in extra.as_object().unwrap() {
        app[key] = value.clone();
    }
    app
}

#[test]
fn task_definition_members_homeport_does_not_act_on_are_refused_at_registration() {
    if !boto3_available() {
        return;
    }
    let dir = fresh_dir("refusals-members");
    let server = Server::start(&dir.join("data"), None);
    // (extra task members, extra container members, the member the message names)
    let cases = [
        (
            json!({}),
            json!({"secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:111122223333:parameter/db"}]}),
            "'secrets'",
        ),
        (json!({}), json!({"mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}]}), "'mountPoints'"),
        (json!({"volumes": [{"name": "data", "host": {"sourcePath": "/srv/data"}}]}), json!({}), "'volumes'"),
        (
            json!({}),
            json!({"logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m"}}}),
            "'json-file'",
        ),
        (json!({}), json!({"ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}]}), "'ulimits'"),
        (json!({"pidMode": "host"}), json!({}), "'pidMode'"),
    ];
    let calls: Vec<Value> = cases
        .iter()
        .map(|(task, extra, _)| {
            let mut params = json!({"family": "refused", "containerDefinitions": [container(extra.clone())]});
            for (key, value) in task.as_object().unwrap() {
                params[key] = value.clone();
            }
            ecs("register_task_definition", params)
        })
        .collect();
    let answers = server.boto3(&calls);
    for ((call, answer), (_, _, named)) in calls.iter().zip(&answers).zip(&cases) {
        let error = error(answer, call);
        assert_eq!(error["Code"], "ClientException", "{call}: {answer}");
        let message = error["Message"].as_str().unwrap();
        assert!(message.contains(named) && message.contains("Homeport does not support"), "{message}");
    }
    // Nothing was stored, and the same definition without them registers; empty lists (as
    // DescribeTaskDefinition answers them) are no request for anything.
    let answers = server.boto3(&[
        ecs("list_task_definitions", json!({"familyPrefix": "refused"})),
        ecs(
            "register_task_definition",
            json!({"family": "refused", "volumes": [],
                   "containerDefinitions": [container(json!({"secrets": [], "mountPoints": [], "volumesFrom": []}))]}),
        ),
    ]);
    assert_eq!(answers[0]["response"]["taskDefinitionArns"], json!([]), "{}", answers[0]);
    assert_eq!(answers[1]["response"]["taskDefinition"]["revision"], 1, "{}", answers[1]);
}

#[test]
fn launch_parameters_homeport_does_not_act_on_are_refused() {
    if !boto3_available() {
        return;
    }
    let dir = fresh_dir("refusals-launch");
    let server = Server::start(&dir.join("data"), None);
    let setup = [
        ecs("create_cluster", json!({"clusterName": "edge"})),
        ecs("register_task_definition", json!({"family": "web", "containerDefinitions": [container(json!({}))]})),
        ecs(
            "create_service",
            json!({"cluster": "edge", "serviceName": "web", "taskDefinition": "web", "desiredCount": 0}),
        ),
    ];
    for (call, answer) in setup.iter().zip(server.boto3(&setup)) {
        assert!(answer.get("response").is_some(), "{call}: {answer}");
    }
    // (the call, the operation and parameter the message names)
    let cases = [
        (
            ecs("run_task", json!({"cluster": "edge", "taskDefinition": "web", "enableExecuteCommand": true})),
            "RunTask parameter 'enableExecuteCommand'",
        ),
        (
            ecs(
                "run_task",
                json!({"cluster": "edge", "taskDefinition": "web", "overrides": {"containerOverrides": [
                    {"name": "app", "environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::bucket/app.env"}]}]}}),
            ),
            "RunTask parameter 'overrides.containerOverrides.environmentFiles'",
        ),
        (
            ecs(
                "start_task",
                json!({"cluster": "edge", "taskDefinition": "web", "containerInstances": ["0123456789abcdef"],
                       "propagateTags": "TASK_DEFINITION"}),
            ),
            "StartTask parameter 'propagateTags'",
        ),
        (
            ecs(
                "create_service",
                json!({"cluster": "edge", "serviceName": "other", "taskDefinition": "web", "desiredCount": 1,
                       "capacityProviderStrategy": [{"capacityProvider": "spot"}]}),
            ),
            "CreateService parameter 'capacityProviderStrategy'",
        ),
        (
            ecs("update_service", json!({"cluster": "edge", "service": "web", "enableExecuteCommand": true})),
            "UpdateService parameter 'enableExecuteCommand'",
        ),
    ];
    let calls: Vec<Value> = cases.iter().map(|(call, _)| call.clone()).collect();
    for ((call, answer), (_, named)) in calls.iter().zip(server.boto3(&calls)).zip(&cases) {
        let error = error(&answer, call);
        assert_eq!(error["Code"], "InvalidParameterException", "{call}: {answer}");
        assert_eq!(error["Message"], format!("Homeport does not support the {named} yet."), "{call}");
    }
}

#[test]
fn an_inactive_task_definition_starts_no_new_task_or_service() {
    if !boto3_available() {
        return;
    }
    let dir = fresh_dir("refusals-inactive");
    let server = Server::start(&dir.join("data"), None);
    let definition = json!({"family": "web", "containerDefinitions": [container(json!({}))]});
    let setup = [
        ecs("create_cluster", json!({"clusterName": "edge"})),
        ecs("register_task_definition", definition.clone()),
        ecs("register_task_definition", definition),
        ecs(
            "create_service",
            json!({"cluster": "edge", "serviceName": "kept", "taskDefinition": "web:2", "desiredCount": 0}),
        ),
        ecs("deregister_task_definition", json!({"taskDefinition": "web:1"})),
        ecs("deregister_task_definition", json!({"taskDefinition": "web:2"})),
    ];
    for (call, answer) in setup.iter().zip(server.boto3(&setup)) {
        assert!(answer.get("response").is_some(), "{call}: {answer}");
    }
    let refused = [
        ecs("run_task", json!({"cluster": "edge", "taskDefinition": "web:1", "launchType": "EXTERNAL"})),
        ecs(
            "run_task",
            json!({"cluster": "edge", "taskDefinition": "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"}),
        ),
        ecs(
            "start_task",
            json!({"cluster": "edge", "taskDefinition": "web:1", "containerInstances": ["0123456789abcdef"]}),
        ),
        ecs(
            "create_service",
            json!({"cluster": "edge", "serviceName": "new", "taskDefinition": "web:1", "desiredCount": 1}),
        ),
        ecs("update_service", json!({"cluster": "edge", "service": "kept", "taskDefinition": "web:1"})),
    ];
    let account = server.boto3(&[json!({"service": "sts", "operation": "get_caller_identity", "params": {}})])[0]
        ["response"]["Account"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused: Vec<Value> = refused
        .iter()
        .map(|call| serde_json::from_str(&call.to_string().replace("000000000000", &account)).unwrap())
        .collect();
    for (call, answer) in refused.iter().zip(server.boto3(&refused)) {
        let error = error(&answer, call);
        assert_eq!(error["Code"], "InvalidParameterException", "{call}: {answer}");
        assert_eq!(error["Message"], "TaskDefinition is inactive", "{call}");
    }
    // The family has no ACTIVE revision left: by family name it is not found at all.
    let by_family = ecs("run_task", json!({"cluster": "edge", "taskDefinition": "web"}));
    let answer = server.boto3(std::slice::from_ref(&by_family)).remove(0);
    assert_eq!(error(&answer, &by_family)["Code"], "ClientException", "{answer}");
    // A service already on a revision keeps it through a deregistration and may scale.
    let kept = [
        ecs("update_service", json!({"cluster": "edge", "service": "kept", "desiredCount": 0})),
        ecs("describe_services", json!({"cluster": "edge", "services": ["kept", "new"]})),
    ];
    let answers = server.boto3(&kept);
    assert!(answers[0].get("response").is_some(), "{}", answers[0]);
    let services = &answers[1]["response"];
    assert_eq!(services["services"][0]["taskDefinition"].as_str().unwrap().rsplit('/').next(), Some("web:2"));
    assert_eq!(services["failures"][0]["reason"], "MISSING", "the refused service was not created: {services}");
}

#[test]
fn unrouted_operations_are_named_and_service_events_end_once() {
    if !boto3_available() {
        return;
    }
    let dir = fresh_dir("refusals-unrouted");
    let server = Server::start(&dir.join("data"), None);
    let calls = [
        ecs(
            "execute_command",
            json!({"cluster": "edge", "task": "0123456789abcdef", "command": "sh", "interactive": true}),
        ),
        ecs("create_cluster", json!({"clusterName": "edge"})),
        ecs("register_task_definition", json!({"family": "web", "containerDefinitions": [container(json!({}))]})),
        // No container instance: the scheduler records why it placed nothing.
        ecs(
            "create_service",
            json!({"cluster": "edge", "serviceName": "web", "taskDefinition": "web", "desiredCount": 1}),
        ),
        ecs("describe_services", json!({"cluster": "edge", "services": ["web"]})),
    ];
    let answers = server.boto3(&calls);
    let unrouted = error(&answers[0], &calls[0]);
    assert_eq!(unrouted["Code"], "UnknownOperationException", "{}", answers[0]);
    assert_eq!(unrouted["Message"], "Homeport does not support the ecs operation ExecuteCommand.");
    let events = answers[4]["response"]["services"][0]["events"].as_array().unwrap().clone();
    let messages: Vec<&str> = events.iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert!(
        messages.iter().any(|m| m.ends_with("Reason: No Container Instances were found in your cluster.")),
        "{messages:?}"
    );
    assert!(messages.iter().all(|m| m.ends_with('.') && !m.ends_with("..")), "{messages:?}");
}

/// Sends `METHOD PATH` and returns the status, the headers (lowercased names) and the body.
fn request(address: &str, method: &str, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = common::connect(address);
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(response[..split].to_vec()).unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers, response[split + 4..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[test]
fn head_on_the_public_paths_answers_as_get_without_the_body() {
    let dir = fresh_dir("refusals-head");
    let server = Server::start(&dir.join("data"), None);
    for path in ["/health", "/install.sh", "/download/homeport"] {
        let (get_status, get_headers, get_body) = request(&server.address, "GET", path);
        let (status, headers, body) = request(&server.address, "HEAD", path);
        assert_eq!((get_status, status), (200, 200), "{path}");
        assert!(!get_body.is_empty() && body.is_empty(), "{path}: HEAD sent {} bytes", body.len());
        assert_eq!(header(&headers, "content-type"), header(&get_headers, "content-type"), "{path}");
        assert_eq!(header(&headers, "content-length"), Some(get_body.len().to_string().as_str()), "{path}");
    }
}
