//! The model's constraints, enforced by the pipeline for every IAM and STS operation and every
//! awsJson operation of ECS, ECR, Logs and SSM (generated from botocore's models by
//! `cargo run -p xtask -- codegen`): AWS's exact message, with each service's code
//! (`ValidationError`, `InvalidParameterException`, `ValidationException`), after
//! authentication and before authorization; a JSON value of the wrong type is
//! `SerializationException`.

use serde_json::json;

use crate::support::{Case, TestServer, ecr, ecs, iam, logs, shared, ssm, sts, unique};

/// Calls `call` as `key` and checks the answer is `ValidationError` 400 with exactly `message`.
fn refused(server: &TestServer, key: &crate::support::Key, call: &crate::support::Call, message: &str) {
    let response = server.call(key, call);
    assert_eq!((response.status, response.code().as_str()), (400, "ValidationError"), "{}", response.body);
    assert_eq!(response.message(), message);
}

#[test]
fn model_constraints_are_refused_with_aws_words() {
    let server = shared();
    let root = &server.root;
    let long = "a".repeat(65);
    refused(
        server,
        root,
        &iam("CreateUser", &[("UserName", &long)]),
        &format!(
            "1 validation error detected: Value '{long}' at 'userName' failed to satisfy constraint: Member must have length less than or equal to 64"
        ),
    );
    // 51 keys: the model allows 50 (the policy need not exist: the input is refused first).
    let keys: Vec<String> = (1..=51).map(|n| format!("key{n}")).collect();
    let mut untag: Vec<(String, String)> =
        vec![("PolicyArn".to_owned(), format!("arn:aws:iam::{}:policy/nobody-made-me", server.account_id))];
    untag.extend(keys.iter().enumerate().map(|(i, key)| (format!("TagKeys.member.{}", i + 1), key.clone())));
    let untag: Vec<(&str, &str)> = untag.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    refused(
        server,
        root,
        &iam("UntagPolicy", &untag),
        &format!(
            "1 validation error detected: Value '[{}]' at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to 50",
            keys.join(", ")
        ),
    );
    refused(
        server,
        root,
        &iam("UpdateAccessKey", &[("AccessKeyId", "AKIAIOSFODNN7EXAMPLE"), ("Status", "Paused")]),
        "1 validation error detected: Value 'Paused' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]",
    );
    refused(
        server,
        root,
        &iam("ListUsers", &[("MaxItems", "1001")]),
        "1 validation error detected: Value '1001' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );
    refused(
        server,
        root,
        &iam(
            "TagUser",
            &[
                ("UserName", "someone"),
                ("Tags.member.1.Key", "team"),
                ("Tags.member.1.Value", "red"),
                ("Tags.member.2.Key", "k#2"),
            ],
        ),
        "2 validation errors detected: Value 'k#2' at 'tags.2.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+; Value null at 'tags.2.member.value' failed to satisfy constraint: Member must not be null",
    );
    refused(
        server,
        root,
        &iam("AddUserToGroup", &[("GroupName", "ops")]),
        "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null",
    );
    refused(
        server,
        root,
        &sts(
            "AssumeRole",
            &[
                ("RoleArn", &format!("arn:aws:iam::{}:role/r", server.account_id)),
                ("RoleSessionName", "session"),
                ("DurationSeconds", "60"),
            ],
        ),
        "1 validation error detected: Value '60' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    );
}

/// As on AWS's front end: an unsigned request is refused as unsigned whatever its input, and a
/// signed one is validated before it is authorized (a caller without permissions learns the
/// input is invalid, not that it is denied).
#[test]
fn validation_comes_after_authentication_and_before_authorization() {
    let server = shared();
    let long = "b".repeat(65);
    let call = iam("CreateUser", &[("UserName", &long)]);
    server.run(&[
        Case::unsigned(
            "unsigned",
            call.clone(),
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ),
        Case::error("no permissions", server.nobody(), call, 400, "ValidationError", "at 'userName' failed"),
        Case::denied(
            "valid input, no permissions",
            server.nobody(),
            iam("CreateUser", &[("UserName", "valid-name")]),
            "is not authorized to perform: iam:CreateUser",
        ),
    ]);
}

/// Calls `call` as `key` and checks the answer is exactly `code` (400) with `message`.
fn answered(server: &TestServer, key: &crate::support::Key, call: &crate::support::Call, code: &str, message: &str) {
    let response = server.call(key, call);
    assert_eq!((response.status, response.code().as_str()), (400, code), "{}", response.body);
    assert_eq!(response.message(), message);
}

#[test]
fn json_bodies_are_checked_against_their_model_as_each_service_answers() {
    let server = shared();
    let root = &server.root;
    let long = "g".repeat(513);
    answered(
        server,
        root,
        &logs("CreateLogGroup", json!({"logGroupName": long})),
        "InvalidParameterException",
        &format!(
            "1 validation error detected: Value '{long}' at 'logGroupName' failed to satisfy constraint: Member must have length less than or equal to 512"
        ),
    );
    answered(
        server,
        root,
        &ecs("ListTasks", json!({"desiredStatus": "SLEEPING"})),
        "InvalidParameterException",
        "1 validation error detected: Value 'SLEEPING' at 'desiredStatus' failed to satisfy constraint: Member must satisfy enum value set: [RUNNING, PENDING, STOPPED]",
    );
    answered(
        server,
        root,
        &ecr("PutImageTagMutability", json!({"repositoryName": "nobody-made-me"})),
        "InvalidParameterException",
        "1 validation error detected: Value null at 'imageTagMutability' failed to satisfy constraint: Member must not be null",
    );
    answered(
        server,
        root,
        &ssm("CreateActivation", json!({"RegistrationLimit": 1001})),
        "ValidationException",
        "2 validation errors detected: Value null at 'iamRole' failed to satisfy constraint: Member must not be null; Value '1001' at 'registrationLimit' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );
    answered(
        server,
        root,
        &ecs(
            "RegisterTaskDefinition",
            json!({"family": unique("nested"), "containerDefinitions": [
                {"name": "web", "image": "nginx", "memory": 64},
                {"name": "log", "image": "nginx", "memory": 64, "logConfiguration": {"options": {"awslogs-group": "g"}}},
            ]}),
        ),
        "InvalidParameterException",
        "1 validation error detected: Value null at 'containerDefinitions.2.member.logConfiguration.logDriver' failed to satisfy constraint: Member must not be null",
    );
    answered(
        server,
        root,
        &logs("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "limit": "10"})),
        "SerializationException",
        "STRING_VALUE can not be converted to an Integer",
    );
    answered(
        server,
        root,
        &ecs("DescribeClusters", json!({"clusters": "default"})),
        "SerializationException",
        "Expected list or null",
    );
}

/// A request the model refuses is refused before authorization, whoever sends it; a valid one
/// from a caller without permissions is denied.
#[test]
fn json_validation_comes_before_authorization() {
    let server = shared();
    server.run(&[
        Case::error(
            "no permissions, bad input",
            server.nobody(),
            logs("CreateLogGroup", json!({"logGroupName": "a b"})),
            400,
            "InvalidParameterException",
            "at 'logGroupName' failed to satisfy constraint",
        ),
        Case::denied(
            "no permissions, valid input",
            server.nobody(),
            logs("CreateLogGroup", json!({"logGroupName": unique("ok")})),
            "is not authorized to perform: logs:CreateLogGroup",
        ),
    ]);
}

/// Ansible's `ecs_taskdefinition` sends `taskRoleArn: ""` for "no role": ECS registers the
/// definition without one.
#[test]
fn an_empty_task_role_is_no_role() {
    let server = shared();
    let family = unique("no-role");
    let registered = server
        .ecs(
            &server.root,
            "RegisterTaskDefinition",
            &json!({"family": family, "taskRoleArn": "", "executionRoleArn": "",
                "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 64}]}),
        )
        .ok()
        .value();
    let definition = &registered["taskDefinition"];
    assert_eq!(definition["family"], family.as_str());
    assert!(definition.get("taskRoleArn").is_none(), "{definition}");
    assert!(definition.get("executionRoleArn").is_none(), "{definition}");
}
