//! The model's constraints, enforced by the pipeline for every IAM and STS operation (generated
//! from botocore's models by `cargo run -p xtask -- codegen`): AWS's exact `ValidationError`,
//! after authentication and before authorization.

use crate::support::{Case, TestServer, iam, shared, sts};

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
