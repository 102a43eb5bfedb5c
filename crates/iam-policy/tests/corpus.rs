//! Runs every case of `tests/corpus/*.json` through the simulator and checks the decisions.
//!
//! The corpus format is described in `tests/corpus/README.md`. The same files are replayed
//! through the `homeport policy simulate` CLI by the homeport crate's tests.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "a test fails loudly on any surprise")]

use std::path::{Path, PathBuf};

use iam_policy::simulate::{Extensions, SimulateCustomPolicyRequest, simulate_with, stringify_policy};
use iam_policy::{Caller, ResourcePolicyKind};
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

struct Case {
    file: String,
    id: String,
    request: SimulateCustomPolicyRequest,
    extensions: Extensions,
    expect: Vec<String>,
}

fn load_cases() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|error| panic!("{file}: {error}"));
        for case in doc["cases"].as_array().unwrap_or_else(|| panic!("{file}: no cases")) {
            let id = case["id"].as_str().unwrap().to_owned();
            assert!(case["source"].as_str().is_some_and(|s| !s.is_empty()), "{id}: every case names its source");
            let request = SimulateCustomPolicyRequest::from_json(case["request"].clone())
                .unwrap_or_else(|error| panic!("{id}: {error}"));
            let mut extensions = Extensions::default();
            if let Some(policies) = case.get("sessionPolicies").and_then(Value::as_array) {
                extensions.session_policies = policies
                    .iter()
                    .map(|policy| {
                        let mut policy = policy.clone();
                        stringify_policy(&mut policy);
                        policy.as_str().unwrap().to_owned()
                    })
                    .collect();
            }
            if let Some(service) = case.get("callerService").and_then(Value::as_str) {
                extensions.caller = Some(Caller::Service { name: service.to_owned() });
            }
            if let Some(role_arn) = case.get("callerRoleArn").and_then(Value::as_str) {
                let session = request.caller_arn.as_deref().unwrap();
                extensions.caller = Some(Caller::role_session(session, role_arn).unwrap());
            }
            if case.get("resourcePolicyKind").and_then(Value::as_str) == Some("trust") {
                extensions.resource_policy_kind = ResourcePolicyKind::Trust;
            }
            let expect = case["expect"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()).collect();
            cases.push(Case { file: file.clone(), id, request, extensions, expect });
        }
    }
    cases
}

#[test]
fn corpus_decisions_match_the_documented_ones() {
    let cases = load_cases();
    assert!(cases.len() >= 500, "the corpus has {} cases; the issue asks for at least 500", cases.len());
    let mut ids = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for case in &cases {
        assert!(ids.insert(case.id.clone()), "duplicate case id {}", case.id);
        let mut request = case.request.clone();
        request.max_items = Some(1000);
        match simulate_with(&request, &case.extensions) {
            Err(error) => failures.push(format!("{} {}: {error}", case.file, case.id)),
            Ok(response) => {
                let got: Vec<&str> = response.evaluation_results.iter().map(|r| r.eval_decision.as_str()).collect();
                if got != case.expect {
                    failures.push(format!("{} {}: expected {:?}, got {:?}", case.file, case.id, case.expect, got));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cases disagree:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
