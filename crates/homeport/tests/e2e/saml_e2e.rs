//! An enterprise identity provider's users reach Homeport as they reach AWS: boto3 registers a
//! SAML provider (the identity provider's metadata) and a role trusting it, then assumes the
//! role with a signed SAML response through `AssumeRoleWithSAML` as botocore sends it
//! (unsigned), and uses the session. Every answer is checked against botocore's model by
//! `boto3_calls.py`. The refusals' codes and messages are covered in process
//! (`crates/server/tests/fast/sts_saml.rs`); here one of them shows botocore reads them.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;
#[path = "../../../server/tests/fast/support/saml_idp.rs"]
#[allow(dead_code, reason = "shared with the fast tier, which uses all of it")]
mod saml_idp;

use serde_json::json;

use common::{Server, boto3_available, fresh_dir};
use saml_idp::{Claims, Idp, SIGN_IN, response};

#[test]
fn a_saml_assertion_assumes_a_role_through_boto3() {
    if !boto3_available() {
        return;
    }
    let dir = fresh_dir("saml");
    let server = Server::start(&dir.join("data"), None);
    let account = server.boto3(&[json!({"service": "sts", "operation": "get_caller_identity", "params": {}})])[0]
        ["response"]["Account"]
        .as_str()
        .unwrap()
        .to_owned();
    let idp = Idp::new();
    let provider_arn = format!("arn:aws:iam::{account}:saml-provider/corp");
    let role_arn = format!("arn:aws:iam::{account}:role/corp-admin");
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithSAML",
        "Condition": {"StringEquals": {"saml:aud": SIGN_IN}}
    }]});
    let read = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#;
    let claims = Claims::new(&role_arn, &provider_arn);
    let assume = |assertion: String| {
        json!({"service": "sts", "operation": "assume_role_with_saml",
               "params": {"RoleArn": role_arn, "PrincipalArn": provider_arn, "SAMLAssertion": assertion}})
    };
    let answers = server.boto3(&[
        json!({"operation": "create_saml_provider", "params": {"Name": "corp", "SAMLMetadataDocument": idp.metadata()}}),
        json!({"operation": "create_role", "params": {"RoleName": "corp-admin", "AssumeRolePolicyDocument": trust.to_string()}}),
        json!({"operation": "put_role_policy", "params": {"RoleName": "corp-admin", "PolicyName": "read", "PolicyDocument": read}}),
        assume(response(&idp.sign(&claims.assertion()))),
        assume(response(&idp.sign(&claims.assertion()).replace(">alice<", ">mallory<"))),
    ]);
    for answer in &answers[..4] {
        assert!(answer.get("response").is_some(), "{answer}");
    }
    let assumed = &answers[3]["response"];
    assert_eq!(assumed["Subject"], "alice");
    assert_eq!(assumed["SubjectType"], "persistent");
    assert_eq!(assumed["Audience"], SIGN_IN);
    let session_arn = format!("arn:aws:sts::{account}:assumed-role/corp-admin/alice@example.com");
    assert_eq!(assumed["AssumedRoleUser"]["Arn"], session_arn);
    assert_eq!(answers[4]["error"]["Code"], "InvalidIdentityToken", "{}", answers[4]);
    assert_eq!(answers[4]["error"]["Message"], "Response signature invalid");

    let credentials = &assumed["Credentials"];
    let session = json!([credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]]);
    let answers = server.boto3(&[
        json!({"service": "sts", "operation": "get_caller_identity", "params": {}, "credentials": session}),
        json!({"operation": "list_users", "params": {}, "credentials": session}),
        json!({"operation": "list_roles", "params": {}, "credentials": session}),
    ]);
    assert_eq!(answers[0]["response"]["Arn"], session_arn);
    assert!(answers[1].get("response").is_some(), "the role's permissions: {}", answers[1]);
    assert_eq!(answers[2]["error"]["Code"], "AccessDenied", "and no more: {}", answers[2]);
}
