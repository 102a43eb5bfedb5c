//! The awsJson walk against the vendored ECS, ECR, Logs, SSM and Secrets Manager models: each
//! constraint kind, nested paths, several violations at once, each service's refusal, and the
//! type mismatches AWS's deserializer refuses first.

use serde_json::{Value, json};

use super::*;

/// The refusal `service` answers for `operation` with `body`: its code and message, or `None`
/// when the body is valid.
fn refused(service: &str, operation: &str, body: Value) -> Option<(String, String)> {
    let input = input(service, operation).unwrap_or_else(|| panic!("{service} {operation} is in no model"));
    input.validate_json(&body).err().map(|error| {
        assert_eq!(error.status, 400);
        (error.code, error.message)
    })
}

fn one(path_and_rest: &str) -> String {
    format!("1 validation error detected: {path_and_rest}")
}

#[test]
fn the_json_services_are_described() {
    for (service, operation) in [
        ("ecs", "RegisterTaskDefinition"),
        ("ecr", "CreateRepository"),
        ("logs", "CreateLogGroup"),
        ("ssm", "CreateActivation"),
        ("secretsmanager", "CreateSecret"),
    ] {
        let input = input(service, operation).unwrap();
        assert_eq!(input.model.protocol, aws_protocol::Protocol::Json, "{service}");
    }
}

#[test]
fn each_service_answers_with_its_own_code() {
    let codes: Vec<(&str, &str)> = MODELS.iter().map(|model| (model.service, model.refusal())).collect();
    assert_eq!(
        codes,
        vec![
            ("ecr", "InvalidParameterException"),
            ("ecs", "InvalidParameterException"),
            ("iam", "ValidationError"),
            ("logs", "InvalidParameterException"),
            ("secretsmanager", "ValidationException"),
            ("ssm", "ValidationException"),
            ("sts", "ValidationError"),
        ]
    );
}

#[test]
fn each_constraint_kind_has_aws_words() {
    let long = "g".repeat(513);
    type Case<'a> = (&'a str, &'a str, Value, Option<(&'a str, String)>);
    let cases: Vec<Case> = vec![
        ("logs", "CreateLogGroup", json!({"logGroupName": "/ecs/app"}), None),
        (
            "logs",
            "CreateLogGroup",
            json!({"logGroupName": long}),
            Some((
                "InvalidParameterException",
                one(&format!(
                    "Value '{long}' at 'logGroupName' failed to satisfy constraint: Member must have length less than or equal to 512"
                )),
            )),
        ),
        (
            "logs",
            "CreateLogGroup",
            json!({}),
            Some((
                "InvalidParameterException",
                one("Value null at 'logGroupName' failed to satisfy constraint: Member must not be null"),
            )),
        ),
        (
            "logs",
            "CreateLogGroup",
            json!({"logGroupName": null}),
            Some((
                "InvalidParameterException",
                one("Value null at 'logGroupName' failed to satisfy constraint: Member must not be null"),
            )),
        ),
        (
            "logs",
            "GetLogEvents",
            json!({"logStreamName": "s", "limit": 10001}),
            Some((
                "InvalidParameterException",
                one(
                    "Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000",
                ),
            )),
        ),
        (
            "ecs",
            "ListTasks",
            json!({"desiredStatus": "SLEEPING"}),
            Some((
                "InvalidParameterException",
                one(
                    "Value 'SLEEPING' at 'desiredStatus' failed to satisfy constraint: Member must satisfy enum value set: [RUNNING, PENDING, STOPPED]",
                ),
            )),
        ),
        ("ecs", "ListTasks", json!({"desiredStatus": "STOPPED", "unknownMember": 1}), None),
        (
            "ssm",
            "CreateActivation",
            // The wire says `RegistrationLimit`; AWS's path says `registrationLimit`.
            json!({"IamRole": "r", "RegistrationLimit": 0}),
            Some((
                "ValidationException",
                one(
                    "Value '0' at 'registrationLimit' failed to satisfy constraint: Member must have value greater than or equal to 1",
                ),
            )),
        ),
        (
            "secretsmanager",
            "CreateSecret",
            json!({"Name": "n", "SecretString": ""}),
            Some((
                "ValidationException",
                // A sensitive member's value is never shown.
                one(
                    "Value at 'secretString' failed to satisfy constraint: Member must have length greater than or equal to 1",
                ),
            )),
        ),
        (
            "ecr",
            "CreateRepository",
            json!({"repositoryName": "MyApp"}),
            Some((
                "InvalidParameterException",
                one(
                    r"Value 'MyApp' at 'repositoryName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*",
                ),
            )),
        ),
    ];
    for (service, operation, body, expected) in cases {
        let got = refused(service, operation, body.clone());
        let expected = expected.map(|(code, message)| (code.to_owned(), message));
        assert_eq!(got, expected, "{service} {operation} {body}");
    }
}

#[test]
fn several_violations_are_joined_in_member_order() {
    let (_, message) = refused("logs", "PutRetentionPolicy", json!({"logGroupName": "a b"})).expect("two violations");
    assert_eq!(
        message,
        r"2 validation errors detected: Value 'a b' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+; Value null at 'retentionInDays' failed to satisfy constraint: Member must not be null"
    );
}

#[test]
fn nested_members_are_named_by_their_path() {
    let body = json!({
        "family": "web",
        "containerDefinitions": [
            {"name": "a", "image": "nginx"},
            {"name": "b", "image": "nginx", "logConfiguration": {"options": {"awslogs-group": "g"}},
             "portMappings": [{"containerPort": 80, "protocol": "sctp"}]},
        ],
    });
    let (code, message) = refused("ecs", "RegisterTaskDefinition", body).expect("nested violations");
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        message,
        "2 validation errors detected: Value 'sctp' at 'containerDefinitions.2.member.portMappings.1.member.protocol' failed to satisfy constraint: Member must satisfy enum value set: [tcp, udp]; Value null at 'containerDefinitions.2.member.logConfiguration.logDriver' failed to satisfy constraint: Member must not be null"
    );
}

#[test]
fn lists_and_maps_are_sized_and_their_scalars_checked_once() {
    // Logs tags: a map of 1 to 50 entries, keys and values with patterns.
    let tags: serde_json::Map<String, Value> = (0..51).map(|i| (format!("k{i:02}"), json!("v"))).collect();
    let (_, message) = refused("logs", "CreateLogGroup", json!({"logGroupName": "g", "tags": tags})).unwrap();
    assert!(message.starts_with("1 validation error detected: Value '{k00=v, k01=v,"), "{message}");
    assert!(
        message.ends_with("at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")
    );
    let (_, message) =
        refused("logs", "CreateLogGroup", json!({"logGroupName": "g", "tags": {"bad#key": "v"}})).unwrap();
    assert_eq!(
        message,
        one(
            r"Value '{bad#key=v}' at 'tags' failed to satisfy constraint: Map key must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$]"
        )
    );
    // ECR: a list of 1 to 100 image ids; an empty one breaks the minimum.
    let (_, message) = refused("ecr", "BatchGetImage", json!({"repositoryName": "app", "imageIds": []})).unwrap();
    assert_eq!(
        message,
        one(
            "Value '[]' at 'imageIds' failed to satisfy constraint: Member must have length greater than or equal to 1"
        )
    );
    // A list of strings whose element breaks a constraint: once, on the list.
    let (_, message) =
        refused("logs", "FilterLogEvents", json!({"logGroupName": "g", "logStreamNames": ["ok", "a:b"]})).unwrap();
    assert_eq!(
        message,
        one(
            "Value '[ok, a:b]' at 'logStreamNames' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 512, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [^:*]*]"
        )
    );
}

#[test]
fn lengths_count_utf16_units() {
    // 256 characters outside the Basic Multilingual Plane are 512 UTF-16 units: within 512.
    let wide = "\u{1F600}".repeat(256);
    assert_eq!(refused("ssm", "CreateActivation", json!({"IamRole": "r", "Description": "é".repeat(256)})), None);
    let (_, message) = refused("ssm", "CreateActivation", json!({"IamRole": "r", "Description": wide})).unwrap();
    assert!(message.ends_with("Member must have length less than or equal to 256"), "{message}");
}

#[test]
fn a_value_of_the_wrong_json_type_is_a_serialization_exception() {
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            "logs",
            "GetLogEvents",
            json!({"logStreamName": "s", "limit": "10"}),
            "STRING_VALUE can not be converted to an Integer",
        ),
        (
            "logs",
            "GetLogEvents",
            json!({"logStreamName": "s", "limit": true}),
            "TRUE_VALUE can not be converted to an Integer",
        ),
        ("logs", "CreateLogGroup", json!({"logGroupName": 7}), "NUMBER_VALUE can not be converted to a String"),
        ("logs", "CreateLogGroup", json!({"logGroupName": ["g"]}), "Start of list found where not expected"),
        (
            "logs",
            "CreateLogGroup",
            json!({"logGroupName": {"a": 1}}),
            "Start of structure or map found where not expected.",
        ),
        ("ecs", "DescribeClusters", json!({"clusters": "c"}), "Expected list or null"),
        ("ecs", "DescribeClusters", json!({"clusters": [1]}), "NUMBER_VALUE can not be converted to a String"),
        ("ecs", "DescribeClusters", json!({"clusters": {}}), "Start of structure or map found where not expected."),
        (
            "ecs",
            "RegisterTaskDefinition",
            json!({"family": "f", "containerDefinitions": [], "runtimePlatform": "x"}),
            "Expected null",
        ),
        ("ecs", "ListTasks", json!({"maxResults": false}), "FALSE_VALUE can not be converted to an Integer"),
        (
            "ecr",
            "CreateRepository",
            json!({"repositoryName": "app", "imageScanningConfiguration": {"scanOnPush": "yes"}}),
            "STRING_VALUE can not be converted to an Boolean",
        ),
    ];
    for (service, operation, body, message) in cases {
        let error = input(service, operation).unwrap().validate_json(&body).unwrap_err();
        assert_eq!((error.code.as_str(), error.message.as_str()), ("SerializationException", message), "{body}");
    }
    // The type is read before any constraint: a missing required member does not hide it.
    let error = input("logs", "GetLogEvents").unwrap().validate_json(&json!({"limit": "1"})).unwrap_err();
    assert_eq!(error.code, "SerializationException");
}

#[test]
fn nulls_are_absent_and_fractions_are_truncated() {
    assert_eq!(refused("ecs", "ListTasks", json!({"desiredStatus": null, "maxResults": null})), None);
    assert_eq!(refused("ecs", "DescribeClusters", json!({"clusters": ["a", null]})), None);
    assert_eq!(refused("logs", "GetLogEvents", json!({"logStreamName": "s", "limit": 5.7})), None);
    let (_, message) = refused("logs", "GetLogEvents", json!({"logStreamName": "s", "limit": 0.5})).unwrap();
    assert_eq!(
        message,
        one("Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
    );
    // Timestamps: epoch seconds as the SDKs send them.
    assert_eq!(
        refused("logs", "GetLogEvents", json!({"logStreamName": "s", "startTime": 1_700_000_000_000_i64})),
        None
    );
}

#[test]
fn a_valid_task_definition_of_ten_containers_passes() {
    assert_eq!(refused("ecs", "RegisterTaskDefinition", task_definition(10)), None);
}

/// A RegisterTaskDefinition body as the CLI sends one: `count` containers with ports,
/// environment, awslogs and a health check.
pub(crate) fn task_definition(count: usize) -> Value {
    let containers: Vec<Value> = (0..count)
        .map(|i| {
            json!({
                "name": format!("container-{i}"),
                "image": "public.ecr.aws/nginx/nginx:latest",
                "cpu": 128,
                "memory": 256,
                "essential": i == 0,
                "portMappings": [{"containerPort": 8000 + i, "hostPort": 0, "protocol": "tcp"}],
                "environment": [{"name": "MODE", "value": "production"}, {"name": "INDEX", "value": i.to_string()}],
                "command": ["serve", "--port", (8000 + i).to_string()],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web",
                }},
                "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], "interval": 30},
            })
        })
        .collect();
    json!({
        "family": "web",
        "taskRoleArn": "arn:aws:iam::123456789012:role/task",
        "executionRoleArn": "arn:aws:iam::123456789012:role/execution",
        "networkMode": "bridge",
        "requiresCompatibilities": ["EXTERNAL"],
        "containerDefinitions": containers,
        "tags": [{"key": "team", "value": "web"}],
    })
}

/// What validation costs stays small: a RegisterTaskDefinition body of ten containers (the
/// release figure comes from `cargo run -p aws-model --release --example validation_cost`).
#[test]
fn validation_is_cheap() {
    let body = task_definition(10);
    let input = input("ecs", "RegisterTaskDefinition").unwrap();
    assert!(input.validate_json(&body).is_ok());
    let rounds = 2_000;
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        assert!(input.validate_json(std::hint::black_box(&body)).is_ok());
    }
    let each = started.elapsed() / rounds;
    // Generous even for an unoptimized build on a busy machine.
    assert!(each < std::time::Duration::from_millis(2), "{each:?}");
}

#[test]
fn utf16_lengths_are_javas() {
    for text in ["", "abc", "é", "日本語", "\u{1F600}", "a\u{1F600}é\u{10FFFF}z"] {
        assert_eq!(utf16_length(text), text.encode_utf16().count(), "{text:?}");
    }
}
