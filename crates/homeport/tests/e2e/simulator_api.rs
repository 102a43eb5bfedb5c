//! IAM's policy simulator over the server's API, end to end: the real binary, driven by
//! boto3 (`boto3_calls.py`), replaying the evaluation corpus of `crates/iam-policy/tests/corpus`
//! through `SimulateCustomPolicy`, and checking what comes back against the library.
//!
//! Needs python3 with boto3; `.ci/run` installs it and CI fails without it.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, boto3_available, fresh_dir};

use iam_policy::simulate::{SimulateCustomPolicyRequest, simulate_custom_policy};
use serde_json::{Value, json};

/// Fields of a corpus case that the simulator's API cannot express: the rule of
/// `policy_cli.rs`, which replays the same cases through `homeport policy simulate`.
const LIBRARY_ONLY: &[&str] = &["sessionPolicies", "callerService", "callerRoleArn", "resourcePolicyKind"];

/// The corpus cases that fit the API: (id, request as the API takes it, expected decisions).
fn api_cases() -> Vec<(String, SimulateCustomPolicyRequest, Vec<String>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../iam-policy/tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            if LIBRARY_ONLY.iter().any(|field| case.get(field).is_some()) {
                continue;
            }
            // Policies written as JSON objects become the same text the CLI gives the library,
            // so statement positions can be compared.
            let request = SimulateCustomPolicyRequest::from_json(case["request"].clone()).unwrap();
            let expect = case["expect"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()).collect();
            cases.push((case["id"].as_str().unwrap().to_owned(), request, expect));
        }
    }
    cases
}

fn decisions(response: &Value) -> Vec<String> {
    response["EvaluationResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["EvalDecision"].as_str().unwrap().to_owned())
        .collect()
}

/// `homeport policy simulate` (the library behind the CLI) on one request.
fn cli_simulate(request: &SimulateCustomPolicyRequest) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_homeport"))
        .args(["policy", "simulate", "--cli-input-json", &serde_json::to_string(request).unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// True if a result, or one of its resource-specific results, reports a missing key.
fn reports_missing_keys(result: &Value) -> bool {
    let nonempty = |value: &Value| value["MissingContextValues"].as_array().is_some_and(|keys| !keys.is_empty());
    nonempty(result)
        || result["ResourceSpecificResults"].as_array().is_some_and(|specific| specific.iter().any(nonempty))
}

#[test]
fn simulate_custom_policy_replays_the_corpus_through_boto3() {
    if !boto3_available() {
        return;
    }
    let dir = fresh_dir("corpus");
    let server = Server::start(&dir.join("data"), None);
    let cases = api_cases();
    let calls: Vec<Value> = cases
        .iter()
        .map(|(_, request, _)| {
            json!({"operation": "simulate_custom_policy", "params": request, "allPages": "EvaluationResults"})
        })
        .collect();
    let answers = server.boto3(&calls);

    let mut replayed = 0;
    let mut disagreements = Vec::new();
    let mut unlike_library = Vec::new();
    let mut with_positions = None;
    let mut with_missing_keys = None;
    for ((id, request, expect), answer) in cases.iter().zip(&answers) {
        replayed += 1;
        let Some(response) = answer.get("response") else {
            disagreements.push(format!("{id}: expected {expect:?}, got {}", answer["error"]));
            continue;
        };
        let got = decisions(response);
        if &got != expect {
            disagreements.push(format!("{id}: expected {expect:?}, got {got:?}"));
        }
        // Everything else boto3 read from the XML (statements and their positions, missing
        // keys, boundary details, resource-specific results) is what the library answers.
        let library = simulate_custom_policy(request).unwrap();
        assert!(!library.is_truncated, "{id}: the corpus fits one page");
        let library = serde_json::to_value(&library).unwrap();
        if response != &library {
            unlike_library.push(format!("{id}:\n  boto3:   {response}\n  library: {library}"));
        }
        let results = response["EvaluationResults"].as_array().unwrap();
        if with_positions.is_none()
            && results.iter().any(|result| result["MatchedStatements"].as_array().is_some_and(|s| !s.is_empty()))
        {
            with_positions = Some((id, request, response));
        }
        if with_missing_keys.is_none() && results.iter().any(reports_missing_keys) {
            with_missing_keys = Some((id, request, response));
        }
    }
    let first = |list: &[String]| list.iter().take(5).cloned().collect::<Vec<_>>().join("\n");
    assert!(replayed > 1_000, "only {replayed} corpus cases fit the simulator's API");
    assert!(
        disagreements.is_empty(),
        "{} of {replayed} cases disagree with the corpus; the first:\n{}",
        disagreements.len(),
        first(&disagreements)
    );
    assert!(
        unlike_library.is_empty(),
        "{} of {replayed} responses differ from the library's; the first:\n{}",
        unlike_library.len(),
        first(&unlike_library)
    );
    eprintln!("simulator API: {replayed} corpus cases replayed through boto3, all agree");

    // Positions and missing keys, through boto3, equal what `homeport policy simulate` prints.
    for (what, found) in [("MatchedStatements", with_positions), ("MissingContextValues", with_missing_keys)] {
        let (id, request, response) = found.unwrap_or_else(|| panic!("no corpus case reports {what}"));
        let cli = cli_simulate(request);
        assert_eq!(response["EvaluationResults"], cli["EvaluationResults"], "{id}: {what}");
    }
    let (_, _, response) = with_positions.unwrap();
    let statement = response["EvaluationResults"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|result| result["MatchedStatements"].get(0))
        .unwrap();
    assert!(statement["StartPosition"]["Line"].as_u64().unwrap() >= 1, "{statement}");
    assert!(statement["EndPosition"]["Column"].as_u64().unwrap() >= 1, "{statement}");

    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn simulator_operations_answer_boto3_as_iam_does() {
    if !boto3_available() {
        return;
    }
    let dir = fresh_dir("operations");
    let server = Server::start(&dir.join("data"), None);
    // The example of `aws iam get-context-keys-for-custom-policy` in AWS's documentation.
    let documented = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}"#;
    let second = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"},"StringNotEquals":{"aws:USERNAME":"root"}}}}"#;
    let allow_s3 = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
    let answers = server.boto3(&[
        json!({"operation": "get_context_keys_for_custom_policy", "params": {"PolicyInputList": [documented]}}),
        json!({"operation": "get_context_keys_for_custom_policy", "params": {"PolicyInputList": [documented, second]}}),
        json!({"operation": "get_context_keys_for_custom_policy", "params": {"PolicyInputList": [allow_s3, "{"]}}),
        json!({"operation": "get_context_keys_for_custom_policy", "params": {}, "validate": false}),
        json!({"operation": "simulate_custom_policy", "params": {"PolicyInputList": ["{"], "ActionNames": ["s3:GetObject"]}}),
        json!({"operation": "simulate_custom_policy", "params": {"PolicyInputList": [allow_s3]}, "validate": false}),
        json!({"operation": "simulate_custom_policy", "params": {"ActionNames": ["s3:GetObject"]}, "validate": false}),
        json!({"operation": "simulate_custom_policy", "params": {"PolicyInputList": [allow_s3], "ActionNames": []}}),
        json!({"operation": "simulate_custom_policy", "params": {"PolicyInputList": [allow_s3], "ActionNames": ["s3:GetObject"], "Marker": "x"}}),
        json!({"operation": "simulate_custom_policy", "params": {"PolicyInputList": [allow_s3], "ActionNames": ["s3:GetObject"], "MaxItems": 1001}}),
        json!({"operation": "simulate_custom_policy", "params": {
            "PolicyInputList": [allow_s3],
            "ActionNames": (0..5).map(|n| format!("s3:Action{n}")).collect::<Vec<_>>(),
            "ResourceHandlingOption": "EC2-VPC-InstanceStore",
            "MaxItems": 2,
            "Marker": "2"
        }}),
    ]);
    let ok = |index: usize| answers[index].get("response").unwrap_or_else(|| panic!("{}", answers[index]));
    let error = |index: usize| {
        let error = &answers[index]["error"];
        (error["Code"].as_str().unwrap_or_else(|| panic!("{}", answers[index])), error["Status"].as_u64().unwrap())
    };

    assert_eq!(ok(0)["ContextKeyNames"], json!(["aws:username", "aws:CurrentTime"]));
    // Across policies each key appears once, as first written.
    assert_eq!(ok(1)["ContextKeyNames"], json!(["aws:username", "aws:CurrentTime", "aws:SecureTransport"]));
    assert_eq!(error(2), ("MalformedPolicyDocument", 400));
    assert!(answers[2]["error"]["Message"].as_str().unwrap().starts_with("PolicyInputList.2: "), "{}", answers[2]);
    assert_eq!(error(3), ("ValidationError", 400));
    assert!(answers[3]["error"]["Message"].as_str().unwrap().contains("'policyInputList'"), "{}", answers[3]);

    assert_eq!(error(4), ("MalformedPolicyDocument", 400));
    assert_eq!(error(5), ("ValidationError", 400));
    assert!(answers[5]["error"]["Message"].as_str().unwrap().contains("'actionNames'"), "{}", answers[5]);
    assert_eq!(error(6), ("ValidationError", 400));
    assert!(answers[6]["error"]["Message"].as_str().unwrap().contains("'policyInputList'"), "{}", answers[6]);
    assert_eq!(error(7), ("InvalidInput", 400), "an empty ActionNames list is the simulator's to refuse");
    assert_eq!(error(8), ("InvalidInput", 400));
    assert_eq!(error(9), ("ValidationError", 400));

    let page = ok(10);
    let actions: Vec<&str> = page["EvaluationResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["EvalActionName"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["s3:Action2", "s3:Action3"]);
    assert_eq!((page["IsTruncated"].as_bool(), page["Marker"].as_str()), (Some(true), Some("4")));

    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}
