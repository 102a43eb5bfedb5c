//! CloudWatch Logs through boto3 against the real server: PutLogEvents' batch rules, paging
//! GetLogEvents forward and backward, filter patterns and retention.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use serde_json::{Value, json};

use common::{Server, boto3_available, fresh_dir};

fn logs(operation: &str, params: Value) -> Value {
    json!({"service": "logs", "operation": operation, "params": params, "validate": false})
}

#[test]
fn log_events_keep_cloudwatch_rules_and_page_without_gaps() {
    if !boto3_available() {
        return;
    }
    let dir = fresh_dir("logs");
    let server = Server::start(&dir.join("data"), None);
    let now =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap();
    let (group, stream) = ("/homeport/test", "app/main/1");
    let events: Vec<Value> =
        (0..5).map(|n| json!({"timestamp": now - 5000 + n, "message": format!("line {n}")})).collect();
    let day = 24 * 3_600_000;
    let calls = vec![
        logs("create_log_group", json!({"logGroupName": group})),
        logs("create_log_group", json!({"logGroupName": group})),
        logs("create_log_stream", json!({"logGroupName": group, "logStreamName": stream})),
        logs("put_log_events", json!({"logGroupName": group, "logStreamName": stream, "logEvents": events})),
        // Out of order, spanning more than a day, and partly too old / too new.
        logs(
            "put_log_events",
            json!({"logGroupName": group, "logStreamName": stream,
            "logEvents": [{"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}]}),
        ),
        logs(
            "put_log_events",
            json!({"logGroupName": group, "logStreamName": stream,
            "logEvents": [{"timestamp": now - day - 10, "message": "a"}, {"timestamp": now, "message": "b"}]}),
        ),
        logs(
            "put_log_events",
            json!({"logGroupName": group, "logStreamName": "missing",
            "logEvents": [{"timestamp": now, "message": "x"}]}),
        ),
        logs(
            "get_log_events",
            json!({"logGroupName": group, "logStreamName": stream, "startFromHead": true, "limit": 2}),
        ),
        logs("get_log_events", json!({"logGroupName": group, "logStreamName": stream, "limit": 2})),
        logs("filter_log_events", json!({"logGroupName": group, "filterPattern": "?\"line 1\" ?\"line 3\""})),
        logs("put_retention_policy", json!({"logGroupName": group, "retentionInDays": 1})),
        logs("put_retention_policy", json!({"logGroupName": group, "retentionInDays": 4})),
        // botocore checks no maximum length and no pattern: the server's model does.
        logs("create_log_group", json!({"logGroupName": "g".repeat(513)})),
        logs("create_log_stream", json!({"logGroupName": "a b", "logStreamName": "x:y"})),
    ];
    let answers = server.boto3(&calls);
    assert!(answers[0].get("response").is_some(), "{}", answers[0]);
    assert_eq!(answers[1]["error"]["Code"], "ResourceAlreadyExistsException");
    assert!(answers[3].get("response").is_some(), "{}", answers[3]);
    assert_eq!(answers[4]["error"]["Code"], "InvalidParameterException");
    assert!(answers[4]["error"]["Message"].as_str().unwrap().contains("chronological order"), "{}", answers[4]);
    assert!(answers[5]["error"]["Message"].as_str().unwrap().contains("24 hours"), "{}", answers[5]);
    assert_eq!(answers[6]["error"]["Code"], "ResourceNotFoundException");
    assert_eq!(answers[6]["error"]["Message"], "The specified log stream does not exist.");
    let head = &answers[7]["response"];
    let messages = |page: &Value| -> Vec<String> {
        page["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(messages(head), ["line 0", "line 1"]);
    let tail = &answers[8]["response"];
    assert_eq!(messages(tail), ["line 3", "line 4"], "without startFromHead the newest come back");
    let filtered = &answers[9]["response"];
    assert_eq!(messages(filtered), ["line 1", "line 3"]);
    assert!(answers[10].get("response").is_some(), "{}", answers[10]);
    assert_eq!(
        answers[11]["error"]["Code"], "InvalidParameterException",
        "4 days is not a retention CloudWatch offers"
    );
    assert_eq!(answers[12]["error"]["Code"], "InvalidParameterException", "{}", answers[12]);
    assert_eq!(
        answers[12]["error"]["Message"],
        format!(
            "1 validation error detected: Value '{}' at 'logGroupName' failed to satisfy constraint: Member must have length less than or equal to 512",
            "g".repeat(513)
        )
    );
    assert_eq!(
        answers[13]["error"]["Message"],
        r"2 validation errors detected: Value 'a b' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+; Value 'x:y' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*",
        "{}",
        answers[13]
    );

    // Paging: forward from the head's token, backward from the tail's, never a gap or a repeat.
    let forward = head["nextForwardToken"].as_str().unwrap();
    let backward = tail["nextBackwardToken"].as_str().unwrap();
    let more = server.boto3(&[
        logs(
            "get_log_events",
            json!({"logGroupName": group, "logStreamName": stream, "nextToken": forward, "limit": 2}),
        ),
        logs(
            "get_log_events",
            json!({"logGroupName": group, "logStreamName": stream, "nextToken": backward, "limit": 2}),
        ),
        logs(
            "put_log_events",
            json!({"logGroupName": group, "logStreamName": stream,
            "logEvents": [{"timestamp": now - 3 * day, "message": "expired"}, {"timestamp": now - 3 * day + 1, "message": "expired"}]}),
        ),
    ]);
    assert_eq!(messages(&more[0]["response"]), ["line 2", "line 3"]);
    assert_eq!(messages(&more[1]["response"]), ["line 1", "line 2"]);
    assert_eq!(more[2]["response"]["rejectedLogEventsInfo"], json!({"expiredLogEventEndIndex": 2}), "{}", more[2]);
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
