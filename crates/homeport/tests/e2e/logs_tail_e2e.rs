//! `aws logs tail` against the real server: with `--follow` it prints events written after it
//! started, and `--since` chooses how far back it begins. The aws CLI v1 that CI installs has
//! no `tail`: it comes from the `awscli-plugin-logs-tail` package (a backport of CLI v2's
//! command, FilterLogEvents with `startTime` and `interleaved`, polling every 5 s), enabled
//! by the test's own config file. Then boto3: destinations, KMS key ids, ListLogGroups and
//! GetLogGroupFields as the SDK sends and parses them.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{Server, aws_cli_available, boto3_available, fresh_dir};

fn logs(operation: &str, params: Value) -> Value {
    json!({"service": "logs", "operation": operation, "params": params, "validate": false})
}

/// Whether the aws CLI has `logs tail` (the plugin is importable); in CI its absence fails.
fn tail_plugin_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import awscli_plugin_logs_tail"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must install awscli-plugin-logs-tail (pip)");
        eprintln!("awscli-plugin-logs-tail not found: the aws logs tail tests did NOT RUN");
    }
    found
}

/// `aws logs tail ARGS` as root, with the plugin enabled; unbuffered, so each line is read
/// as it is printed.
fn tail(server: &Server, config: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("aws");
    command
        .args(["logs", "tail"])
        .args(args)
        .envs(server.endpoint_env())
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_SHARED_CREDENTIALS_FILE", server.root_credentials())
        .env("AWS_CONFIG_FILE", config)
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN");
    command
}

fn now_ms() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

fn put(server: &Server, group: &str, events: &[(i64, &str)]) {
    let events: Vec<Value> = events.iter().map(|(t, m)| json!({"timestamp": t, "message": m})).collect();
    let answers = server.boto3(&[logs(
        "put_log_events",
        json!({"logGroupName": group, "logStreamName": "web/1", "logEvents": events}),
    )]);
    assert!(answers[0].get("response").is_some(), "{}", answers[0]);
}

/// Reads `lines` (keeping them in `seen`) until one contains `needle`: false if none has
/// within `within`.
fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str, within: Duration, seen: &mut Vec<String>) -> bool {
    let deadline = Instant::now() + within;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

#[test]
fn aws_logs_tail_follows_new_events_and_starts_where_since_says() {
    if !aws_cli_available() || !boto3_available() || !tail_plugin_available() {
        return;
    }
    let dir = fresh_dir("logs-tail");
    let server = Server::start(&dir.join("data"), None);
    let config = dir.join("aws-config");
    std::fs::write(&config, "[plugins]\nlogs_tail = awscli_plugin_logs_tail\n").unwrap();
    let group = "/homeport/tail";
    let made = server.boto3(&[
        logs("create_log_group", json!({"logGroupName": group})),
        logs("create_log_stream", json!({"logGroupName": group, "logStreamName": "web/1"})),
    ]);
    assert!(made.iter().all(|answer| answer.get("response").is_some()), "{made:?}");
    let now = now_ms();
    put(&server, group, &[(now - 2 * 3_600_000, "two hours ago"), (now - 60_000, "a minute ago")]);

    // --since: from an hour back only the newer event; from three hours back both.
    let recent = tail(&server, &config, &[group, "--since", "1h"]).output().unwrap();
    assert!(recent.status.success(), "{}", String::from_utf8_lossy(&recent.stderr));
    let recent = String::from_utf8(recent.stdout).unwrap();
    assert!(recent.contains("web/1 a minute ago"), "{recent}");
    assert!(!recent.contains("two hours ago"), "{recent}");
    let older = tail(&server, &config, &[group, "--since", "3h", "--format", "short"]).output().unwrap();
    let older = String::from_utf8(older.stdout).unwrap();
    let lines: Vec<&str> = older.lines().collect();
    assert_eq!(lines.len(), 2, "{older}");
    assert!(lines[0].ends_with(" two hours ago") && lines[1].ends_with(" a minute ago"), "in time order: {older}");

    // --follow: it prints what was there, then what is written after it started.
    let mut child = tail(&server, &config, &[group, "--follow", "--since", "5m"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let started = wait_for_line(&lines, "a minute ago", Duration::from_secs(30), &mut seen);
    if !started {
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        panic!("tail --follow printed {seen:?}; stderr: {}", String::from_utf8_lossy(&output.stderr));
    }
    put(&server, group, &[(now_ms(), "written while following")]);
    // The command polls every 5 s.
    let followed = wait_for_line(&lines, "written while following", Duration::from_secs(30), &mut seen);
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    reader.join().unwrap();
    assert!(followed, "tail --follow printed {seen:?}; stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(seen.iter().filter(|line| line.contains("a minute ago")).count(), 1, "never twice: {seen:?}");
    assert!(!seen.iter().any(|line| line.contains("two hours ago")), "{seen:?}");

    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn destinations_kms_keys_and_group_listings_through_boto3() {
    if !boto3_available() {
        return;
    }
    let dir = fresh_dir("logs-destinations");
    let server = Server::start(&dir.join("data"), None);
    let account = server.boto3(&[json!({"service": "sts", "operation": "get_caller_identity", "params": {}})])[0]
        ["response"]["Account"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = format!("arn:aws:kms:us-east-1:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    let target = format!("arn:aws:kinesis:us-east-1:{account}:stream/ship");
    let role = format!("arn:aws:iam::{account}:role/ship");
    let now = now_ms();
    let answers = server.boto3(&[
        logs(
            "put_destination",
            json!({"destinationName": "ship", "targetArn": target, "roleArn": role, "tags": {"team": "edge"}}),
        ),
        logs(
            "put_destination_policy",
            json!({"destinationName": "ship", "accessPolicy": r#"{"Version":"2012-10-17","Statement":[]}"#}),
        ),
        logs("describe_destinations", json!({"DestinationNamePrefix": "sh"})),
        logs("create_log_group", json!({"logGroupName": "/app/web", "kmsKeyId": key})),
        logs("create_log_group", json!({"logGroupName": "/app/api", "logGroupClass": "INFREQUENT_ACCESS"})),
        logs("describe_log_groups", json!({"logGroupNamePrefix": "/app/web"})),
        logs("list_log_groups", json!({"logGroupNamePattern": "^/app", "limit": 1})),
        logs("create_log_stream", json!({"logGroupName": "/app/web", "logStreamName": "s"})),
        logs(
            "put_log_events",
            json!({"logGroupName": "/app/web", "logStreamName": "s",
            "logEvents": [{"timestamp": now, "message": "{\"level\":\"info\"}"}]}),
        ),
        logs(
            "get_log_group_fields",
            json!({"logGroupIdentifier": format!("arn:aws:logs:us-east-1:{account}:log-group:/app/web")}),
        ),
        logs(
            "put_subscription_filter",
            json!({"logGroupName": "/app/web", "filterName": "ship", "filterPattern": "",
            "destinationArn": format!("arn:aws:logs:us-east-1:{account}:destination:ship")}),
        ),
        logs("describe_log_streams", json!({"logGroupName": "/app/web", "logGroupIdentifier": "/app/web"})),
        logs("delete_destination", json!({"destinationName": "ship"})),
        logs("delete_destination", json!({"destinationName": "ship"})),
    ]);
    let ok = |i: usize| -> &Value {
        assert!(answers[i].get("response").is_some(), "call {i}: {}", answers[i]);
        &answers[i]["response"]
    };
    assert_eq!(ok(0)["destination"]["arn"], format!("arn:aws:logs:us-east-1:{account}:destination:ship"));
    ok(1);
    assert_eq!(ok(2)["destinations"][0]["accessPolicy"], r#"{"Version":"2012-10-17","Statement":[]}"#);
    ok(3);
    ok(4);
    assert_eq!(ok(5)["logGroups"][0]["kmsKeyId"], key.as_str());
    let listed = ok(6);
    assert_eq!(
        listed["logGroups"],
        json!([{"logGroupName": "/app/api",
        "logGroupArn": format!("arn:aws:logs:us-east-1:{account}:log-group:/app/api"), "logGroupClass": "INFREQUENT_ACCESS"}])
    );
    assert_eq!(listed["nextToken"], "1");
    let fields = ok(9)["logGroupFields"].as_array().unwrap();
    assert!(fields.contains(&json!({"name": "level", "percent": 100})), "{fields:?}");
    ok(10);
    assert_eq!(answers[11]["error"]["Code"], "ValidationException", "{}", answers[11]);
    assert_eq!(answers[11]["error"]["Message"], "LogGroup name and LogGroup ARN are mutually exclusive parameters.");
    ok(12);
    assert_eq!(answers[13]["error"]["Code"], "ResourceNotFoundException", "{}", answers[13]);
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
