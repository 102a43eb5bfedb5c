//! SigV4 authentication across every service, in process: the unsigned, the badly signed,
//! unknown keys and sessions are refused before any operation runs, each service answering in
//! its own protocol's codes (awsQuery's `SignatureDoesNotMatch`, awsJson's
//! `InvalidSignatureException`, ...) with AWS's messages.

use crate::support::{Call, Case, Key, cloudtrail, ecr, ecs, iam, logs, shared, ssm, sts};
use serde_json::json;

/// One read operation of each service, and whether it speaks awsQuery.
fn one_call_per_service() -> Vec<(&'static str, Call, bool)> {
    vec![
        ("iam", iam("ListUsers", &[]), true),
        ("sts", sts("GetCallerIdentity", &[]), true),
        ("ecs", ecs("ListClusters", json!({})), false),
        ("ecr", ecr("DescribeRepositories", json!({})), false),
        ("logs", logs("DescribeLogGroups", json!({})), false),
        ("ssm", ssm("DescribeActivations", json!({})), false),
        ("cloudtrail", cloudtrail("LookupEvents", json!({})), false),
    ]
}

#[test]
fn every_service_refuses_what_is_not_signed_by_a_known_key() {
    let server = shared();
    let root = &server.root;
    let wrong_secret = Key { secret: format!("{}x", root.secret), ..root.clone() };
    let unknown = Key { id: "AKIAUNKNOWNUNKNOWN00".to_owned(), ..root.clone() };
    let no_such_session = Key {
        id: "ASIAUNKNOWNUNKNOWN00".to_owned(),
        secret: "secret".to_owned(),
        token: Some("not-a-session-token".to_owned()),
    };
    let invalid_token = "The security token included in the request is invalid.";
    let mismatch = "The request signature we calculated does not match the signature you provided.";
    let mut cases = Vec::new();
    for (service, call, query) in one_call_per_service() {
        let code = |query_code: &'static str, json_code: &'static str| if query { query_code } else { json_code };
        cases.extend([
            Case::ok(&format!("{service}: root"), root, call.clone()),
            Case::unsigned(
                &format!("{service}: unsigned"),
                call.clone(),
                403,
                code("MissingAuthenticationToken", "MissingAuthenticationTokenException"),
                "Request is missing Authentication Token",
            ),
            Case::error(
                &format!("{service}: a wrong secret"),
                &wrong_secret,
                call.clone(),
                403,
                code("SignatureDoesNotMatch", "InvalidSignatureException"),
                mismatch,
            ),
            Case::error(
                &format!("{service}: an unknown key"),
                &unknown,
                call.clone(),
                403,
                code("InvalidClientTokenId", "UnrecognizedClientException"),
                invalid_token,
            ),
            Case::error(
                &format!("{service}: a session nobody issued"),
                &no_such_session,
                call,
                403,
                code("InvalidClientTokenId", "UnrecognizedClientException"),
                invalid_token,
            ),
        ]);
    }
    server.run(&cases);
}

#[test]
fn a_deleted_or_inactive_key_signs_nothing() {
    let server = shared();
    let root = &server.root;
    let name = crate::support::unique("revoked");
    let key = server.user_with_policy(&name, Some(crate::support::ALLOW_ALL));
    server.run(&[
        Case::ok("active", &key, sts("GetCallerIdentity", &[])).xml("Arn", server.user_arn(&name)),
        Case::ok(
            "deactivate",
            root,
            iam("UpdateAccessKey", &[("UserName", &name), ("AccessKeyId", &key.id), ("Status", "Inactive")]),
        ),
        Case::error(
            "inactive, awsQuery",
            &key,
            sts("GetCallerIdentity", &[]),
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ),
        Case::error(
            "inactive, awsJson",
            &key,
            ecs("ListClusters", json!({})),
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        Case::ok(
            "reactivate",
            root,
            iam("UpdateAccessKey", &[("UserName", &name), ("AccessKeyId", &key.id), ("Status", "Active")]),
        ),
        Case::ok("active again", &key, ecs("ListClusters", json!({}))),
        Case::ok("delete", root, iam("DeleteAccessKey", &[("UserName", &name), ("AccessKeyId", &key.id)])),
        Case::error(
            "deleted",
            &key,
            ecs("ListClusters", json!({})),
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
    ]);
}
