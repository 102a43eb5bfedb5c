//! StartLiveTail through boto3 against the real server (HTTPS), as a user's script does it:
//! botocore's default sends it to `stream-` before the endpoint's host (the operation's
//! `hostPrefix`), which names nothing for an endpoint that is an address, so the client turns
//! host prefix injection off; then the session's stream is read while events are put, and
//! closed (`live_tail_client.py`).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use common::{Server, boto3_available, fresh_dir};

fn logs(operation: &str, params: Value) -> Value {
    json!({"service": "logs", "operation": operation, "params": params})
}

#[test]
fn a_boto3_session_reads_the_events_put_after_it_started() {
    if !boto3_available() {
        return;
    }
    let dir = fresh_dir("live-tail");
    let server = Server::start(&dir.join("data"), None);
    let group = "/live/tail";
    let answers = server.boto3(&[
        logs("create_log_group", json!({"logGroupName": group})),
        logs("create_log_stream", json!({"logGroupName": group, "logStreamName": "app-1"})),
        logs("create_log_stream", json!({"logGroupName": group, "logStreamName": "db"})),
    ]);
    assert!(answers.iter().all(|answer| answer.get("response").is_some()), "{answers:?}");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/live_tail_client.py");
    let output = server.as_root(Command::new("python3").arg(script).arg(server.url()).arg(group)).output().unwrap();
    assert!(output.status.success(), "live_tail_client.py failed: {}", String::from_utf8_lossy(&output.stderr));
    let out: Value = serde_json::from_slice(&output.stdout).unwrap();
    eprintln!("{out}");
    let port = server.address.rsplit(':').next().unwrap();
    assert_eq!(out["default_url"], format!("https://stream-127.0.0.1:{port}/"), "{out}");
    let arn = out["start"]["sessionStart"]["logGroupIdentifiers"][0].as_str().unwrap().to_owned();
    assert!(arn.ends_with(":log-group:/live/tail"), "{out}");
    assert_eq!(out["start"]["sessionStart"]["logStreamNamePrefixes"], json!(["app-"]));
    assert_eq!(out["start"]["sessionStart"]["logEventFilterPattern"], "ERROR");
    let received = out["received"].as_array().unwrap();
    assert_eq!(received.len(), 1, "{out}");
    assert_eq!(received[0]["message"], "ERROR boom");
    assert_eq!(received[0]["logStreamName"], "app-1");
    assert_eq!(received[0]["logGroupIdentifier"], arn.as_str());
    assert_eq!(out["sampled"], false);
    let latency = out["latency_ms"].as_i64().unwrap();
    assert!(latency < 2_500, "the events took {latency} ms to arrive: {out}");
    assert_eq!(out["missing_group"], "ResourceNotFoundException");
    assert_eq!(out["names_and_prefixes"], "InvalidParameterException");
    assert!(out.get("unexpected").is_none(), "{out}");
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
