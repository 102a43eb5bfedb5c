//! `homeport policy ...` end to end: the real binary, the shared corpus, and the exit codes.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "a test fails loudly on any surprise")]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn homeport(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_homeport")).args(args).output().unwrap()
}

fn corpus_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../iam-policy/tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

/// Fields of a corpus case that the simulator's API cannot express.
const LIBRARY_ONLY: &[&str] = &["sessionPolicies", "callerService", "callerRoleArn", "resourcePolicyKind"];

#[test]
fn simulate_replays_the_corpus_through_the_binary() {
    let mut replayed = 0;
    let mut failures = Vec::new();
    for path in corpus_files() {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            if LIBRARY_ONLY.iter().any(|field| case.get(field).is_some()) {
                continue;
            }
            let id = case["id"].as_str().unwrap();
            let output = homeport(&["policy", "simulate", "--cli-input-json", &case["request"].to_string()]);
            replayed += 1;
            if !output.status.success() {
                failures.push(format!("{id}: {}", String::from_utf8_lossy(&output.stderr)));
                continue;
            }
            let response: Value = serde_json::from_slice(&output.stdout).unwrap();
            let got: Vec<&str> = response["EvaluationResults"]
                .as_array()
                .unwrap()
                .iter()
                .map(|result| result["EvalDecision"].as_str().unwrap())
                .collect();
            let expected: Vec<&str> = case["expect"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
            if got != expected {
                failures.push(format!("{id}: expected {expected:?}, got {got:?}"));
            }
        }
    }
    assert!(replayed >= 1_000, "only {replayed} corpus cases fit the simulator's API");
    assert!(failures.is_empty(), "{} of {replayed} cases disagree:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn simulate_reads_files_and_merges_pages_like_the_aws_cli() {
    let dir = std::env::temp_dir().join(format!("homeport-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let request = serde_json::json!({
        "PolicyInputList": [r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecs:*","Resource":"*"}}"#],
        "ActionNames": (0..150).map(|n| format!("ecs:Action{n}")).collect::<Vec<_>>(),
    });
    let path = dir.join("req.json");
    std::fs::write(&path, request.to_string()).unwrap();
    let output = homeport(&["policy", "simulate", "--cli-input-json", &format!("file://{}", path.display())]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let response: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(response["EvaluationResults"].as_array().unwrap().len(), 150);
    assert_eq!(response["IsTruncated"], false);
    assert_eq!(response["EvaluationResults"][149]["EvalDecision"], "allowed");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn simulate_refuses_bad_requests_with_aws_cli_exit_codes() {
    let not_json = homeport(&["policy", "simulate", "--cli-input-json", "{not json"]);
    assert_eq!(not_json.status.code(), Some(252));
    let malformed = serde_json::json!({"PolicyInputList": ["{"], "ActionNames": ["s3:GetObject"]});
    let output = homeport(&["policy", "simulate", "--cli-input-json", &malformed.to_string()]);
    assert_eq!(output.status.code(), Some(254));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("(InvalidInput)") && stderr.contains("PolicyInputList.1"), "{stderr}");
}

#[test]
fn validate_applies_the_rules_of_the_policy_kind() {
    let dir = std::env::temp_dir().join(format!("homeport-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trust = dir.join("ssm-trust-policy.json");
    std::fs::write(
        &trust,
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\n    \"Effect\": \"Allow\",\n    \"Principal\": {\"Service\": [\n      \"ssm.amazonaws.com\"\n    ]},\n    \"Action\": \"sts:AssumeRole\"\n  }\n}\n",
    )
    .unwrap();
    let trust = trust.to_str().unwrap();

    let as_trust = homeport(&["policy", "validate", trust, "--type", "trust"]);
    assert!(as_trust.status.success());
    assert_eq!(String::from_utf8_lossy(&as_trust.stdout).trim(), "valid");

    let as_identity = homeport(&["policy", "validate", trust, "--output", "json"]);
    assert_eq!(as_identity.status.code(), Some(1));
    let result: Value = serde_json::from_slice(&as_identity.stdout).unwrap();
    assert_eq!(result["Error"]["Code"], "MalformedPolicyDocument");
    assert_eq!(result["Error"]["Message"], "Policy document should not specify a principal.");
    assert_eq!(result["Error"]["Location"], serde_json::json!({"Line": 3, "Column": 16}));

    let admin = dir.join("admin.json");
    std::fs::write(&admin, r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .unwrap();
    let output = homeport(&["policy", "validate", admin.to_str().unwrap()]);
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("SECURITY_WARNING FULL_ACCESS (line 1, column 38)"), "{stdout}");

    let missing = homeport(&["policy", "validate", "/nonexistent/policy.json"]);
    assert_eq!(missing.status.code(), Some(252));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let request = serde_json::json!({
        "PolicyInputList": [r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecs:*","Resource":"*"}}"#],
        "ActionNames": (0..1000).map(|n| format!("ecs:Action{n}")).collect::<Vec<_>>(),
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_homeport"))
        .args(["policy", "simulate", "--cli-input-json", &request.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Like `| head -1`: close the pipe long before the output (~600 KB) is written.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_ne!(output.status.code(), Some(101), "a panic exits with 101");
}
