//! IAM Access Analyzer's policy checks over restJson1, end to end: the real binary, driven by
//! boto3's `accessanalyzer` client in one python process (`boto3_calls.py`), so the method,
//! path, query string, body, signature and error header are the SDK's own, and every answer
//! is checked against the service model botocore ships.
//!
//! Needs python3 with boto3; `.ci/run` installs it and CI fails without it.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "a test fails loudly on any surprise")]

mod common;

use common::{Server, boto3_available, fresh_dir};
use serde_json::json;

#[test]
fn access_analyzer_checks_answer_boto3() {
    if !boto3_available() {
        return;
    }
    let dir = fresh_dir("access-analyzer");
    let server = Server::start(&dir.join("data"), None);
    let admin = r#"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let read = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::amzn-s3-demo-bucket","arn:aws:s3:::amzn-s3-demo-bucket/*"]}]}"#;
    let call = |operation: &str, params: serde_json::Value| json!({"service": "accessanalyzer", "operation": operation, "params": params});
    let answers = server.boto3(&[
        call("validate_policy", json!({"policyDocument": admin, "policyType": "IDENTITY_POLICY"})),
        // `maxResults` and `nextToken` travel in the query string.
        call("validate_policy", json!({"policyDocument": admin, "policyType": "IDENTITY_POLICY", "maxResults": 1, "nextToken": "1"})),
        call("check_no_new_access", json!({"newPolicyDocument": admin, "existingPolicyDocument": read, "policyType": "IDENTITY_POLICY"})),
        call("check_access_not_granted", json!({"policyDocument": read, "access": [{"actions": ["s3:DeleteBucket"]}], "policyType": "IDENTITY_POLICY"})),
        call("validate_policy", json!({"policyDocument": admin, "policyType": "SESSION_POLICY"})).as_object().map(|call| {
            let mut call = call.clone();
            call.insert("validate".to_owned(), json!(false));
            serde_json::Value::Object(call)
        }).unwrap(),
    ]);
    let response = |index: usize| answers[index].get("response").unwrap_or_else(|| panic!("{}", answers[index]));

    let findings = response(0)["findings"].as_array().unwrap();
    let codes: Vec<&str> = findings.iter().map(|finding| finding["issueCode"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "EMPTY_SID_VALUE",
            "PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE",
            "CREATE_SLR_WITH_STAR_IN_ACTION_AND_RESOURCE"
        ]
    );
    assert_eq!(findings[0]["locations"][0]["path"], json!([{"value": "Statement"}, {"index": 0}, {"value": "Sid"}]));
    assert_eq!(findings[0]["locations"][0]["span"]["start"], json!({"line": 1, "column": 44, "offset": 44}));
    let page = response(1);
    assert_eq!(page["findings"].as_array().unwrap().len(), 1);
    assert_eq!(page["findings"][0]["issueCode"], "PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE");
    assert_eq!(page["nextToken"], "2");

    assert_eq!(response(2)["result"], "FAIL");
    assert_eq!(
        response(2)["reasons"],
        json!([{"description": "New access in the statement with index: 0.", "statementIndex": 0}])
    );
    assert_eq!(response(3)["result"], "PASS");
    assert_eq!(
        response(3)["message"],
        "The policy document does not grant access to perform one or more of the listed actions."
    );

    // The error's code comes from `x-amzn-ErrorType`, its status and message from the answer.
    let error = &answers[4]["error"];
    assert_eq!((error["Code"].as_str(), error["Status"].as_u64()), (Some("ValidationException"), Some(400)), "{error}");
    assert!(error["Message"].as_str().unwrap().contains("policyType"), "{error}");

    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}
