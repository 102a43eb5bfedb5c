//! A CI system reaches Homeport as it reaches AWS: boto3 registers an OpenID Connect provider
//! (a local issuer over HTTPS with its own CA, trusted by its thumbprint) and a role trusting
//! it for one repository, then assumes the role with a GitHub-Actions-shaped token through
//! `AssumeRoleWithWebIdentity` as botocore sends it (unsigned), and uses the session. Every
//! answer is checked against botocore's model by `boto3_calls.py`. The refusals' codes and
//! messages are covered in process (`crates/server/tests/fast/sts_web_identity.rs`); here one
//! of them shows botocore reads them.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;
#[path = "../../../server/tests/fast/support/oidc_issuer.rs"]
#[allow(dead_code, reason = "shared with the fast tier, which uses all of it")]
mod oidc_issuer;

use serde_json::json;

use common::{Server, boto3_available, fresh_dir};
use oidc_issuer::{Issuer, Signer};

#[test]
fn a_github_actions_token_assumes_a_role_through_boto3() {
    if !boto3_available() {
        return;
    }
    let issuer = Issuer::shared();
    let dir = fresh_dir("web-identity");
    let server = Server::start(&dir.join("data"), None);
    let url = format!("{}/gha", issuer.origin);
    let host = url.trim_start_matches("https://");
    let account = server.boto3(&[json!({"service": "sts", "operation": "get_caller_identity", "params": {}})])[0]
        ["response"]["Account"]
        .as_str()
        .unwrap()
        .to_owned();
    let provider_arn = format!("arn:aws:iam::{account}:oidc-provider/{host}");
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {format!("{host}:aud"): "sts.amazonaws.com"},
            "StringLike": {format!("{host}:sub"): "repo:org/repo:*"}
        }
    }]});
    let read = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims = |aud: &str| {
        json!({"iss": url, "sub": "repo:org/repo:ref:refs/heads/main", "aud": aud, "iat": now, "nbf": now,
               "exp": now + 600, "repository": "org/repo", "ref": "refs/heads/main"})
    };
    let token = issuer.token(Signer::Rsa, &claims("sts.amazonaws.com"));
    let role_arn = format!("arn:aws:iam::{account}:role/gha-deploy");
    let assume = |token: &str| {
        json!({"service": "sts", "operation": "assume_role_with_web_identity",
               "params": {"RoleArn": role_arn, "RoleSessionName": "run-42", "WebIdentityToken": token}})
    };
    let answers = server.boto3(&[
        json!({"operation": "create_open_id_connect_provider", "params": {"Url": url,
            "ClientIDList": ["sts.amazonaws.com"], "ThumbprintList": [issuer.ca_thumbprint]}}),
        json!({"operation": "create_role", "params": {"RoleName": "gha-deploy", "AssumeRolePolicyDocument": trust.to_string()}}),
        json!({"operation": "put_role_policy", "params": {"RoleName": "gha-deploy", "PolicyName": "read", "PolicyDocument": read}}),
        assume(&token),
        assume(&issuer.token(Signer::Rsa, &claims("another-audience"))),
    ]);
    for answer in &answers[..4] {
        assert!(answer.get("response").is_some(), "{answer}");
    }
    let assumed = &answers[3]["response"];
    assert_eq!(assumed["Provider"], provider_arn);
    assert_eq!(assumed["Audience"], "sts.amazonaws.com");
    assert_eq!(assumed["SubjectFromWebIdentityToken"], "repo:org/repo:ref:refs/heads/main");
    assert_eq!(assumed["AssumedRoleUser"]["Arn"], format!("arn:aws:sts::{account}:assumed-role/gha-deploy/run-42"));
    assert_eq!(answers[4]["error"]["Code"], "InvalidIdentityToken", "{}", answers[4]);
    assert_eq!(answers[4]["error"]["Message"], "Incorrect token audience");

    let credentials = &assumed["Credentials"];
    let session = json!([credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]]);
    let answers = server.boto3(&[
        json!({"service": "sts", "operation": "get_caller_identity", "params": {}, "credentials": session}),
        json!({"operation": "list_users", "params": {}, "credentials": session}),
        json!({"operation": "list_roles", "params": {}, "credentials": session}),
    ]);
    assert_eq!(answers[0]["response"]["Arn"], format!("arn:aws:sts::{account}:assumed-role/gha-deploy/run-42"));
    assert!(answers[1].get("response").is_some(), "the role's permissions: {}", answers[1]);
    assert_eq!(answers[2]["error"]["Code"], "AccessDenied", "and no more: {}", answers[2]);
}
