//! CloudWatch Logs Insights through the aws CLI against the real server: `aws logs
//! start-query`, then `get-query-results` until Complete, `get-log-record` with a row's
//! `@ptr`, `describe-queries`, and a malformed query refused with MalformedQueryException.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use serde_json::{Value, json};

use common::{Server, aws_cli_available, fresh_dir};

#[test]
fn start_query_then_get_query_results_until_complete() {
    if !aws_cli_available() {
        return;
    }
    let dir = fresh_dir("logs-insights");
    let server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    let aws = |args: &[&str]| server.aws_json(&root, args);
    let group = "/homeport/insights";
    aws(&["logs", "create-log-group", "--log-group-name", group]);
    aws(&["logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", "app"]);
    let now =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap();
    let events: Vec<Value> = [("info", 12), ("error", 250), ("info", 30), ("error", 900)]
        .iter()
        .enumerate()
        .map(|(i, (level, ms))| {
            json!({"timestamp": now - 60_000 + i as i64, "message": json!({"level": level, "ms": ms}).to_string()})
        })
        .collect();
    let events = events.iter().map(Value::to_string).collect::<Vec<_>>();
    let mut put = vec!["logs", "put-log-events", "--log-group-name", group, "--log-stream-name", "app", "--log-events"];
    put.extend(events.iter().map(String::as_str));
    aws(&put);

    let (start, end) = ((now / 1000 - 3600).to_string(), (now / 1000 + 60).to_string());
    let started = aws(&[
        "logs",
        "start-query",
        "--log-group-name",
        group,
        "--start-time",
        &start,
        "--end-time",
        &end,
        "--query-string",
        "filter ms > 20 | stats count(*) as n, max(ms) as slowest by level | sort level",
    ]);
    let query_id = started["queryId"].as_str().unwrap().to_owned();
    let results = wait_for(&aws, &query_id);
    let rows: Vec<Vec<(String, String)>> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|f| (f["field"].as_str().unwrap().to_owned(), f["value"].as_str().unwrap().to_owned()))
                .collect()
        })
        .collect();
    let pair = |f: &str, v: &str| (f.to_owned(), v.to_owned());
    assert_eq!(
        rows,
        [
            vec![pair("level", "error"), pair("n", "2"), pair("slowest", "900")],
            vec![pair("level", "info"), pair("n", "1"), pair("slowest", "30")],
        ],
        "{results}"
    );
    assert_eq!(results["statistics"]["recordsScanned"], 4.0);
    assert_eq!(results["statistics"]["recordsMatched"], 3.0);

    // Rows of events carry `@ptr`, which GetLogRecord reads back whole.
    let started = aws(&[
        "logs",
        "start-query",
        "--log-group-names",
        group,
        "--start-time",
        &start,
        "--end-time",
        &end,
        "--query-string",
        "fields ms | sort ms desc | limit 1",
    ]);
    let newest = wait_for(&aws, started["queryId"].as_str().unwrap());
    let row = newest["results"][0].as_array().unwrap();
    assert_eq!(row[0], json!({"field": "ms", "value": "900"}));
    let pointer = row.iter().find(|f| f["field"] == "@ptr").unwrap()["value"].as_str().unwrap();
    let record = aws(&["logs", "get-log-record", "--log-record-pointer", pointer]);
    assert_eq!(record["logRecord"]["level"], "error", "{record}");
    assert_eq!(record["logRecord"]["@logStream"], "app");

    let described = aws(&["logs", "describe-queries", "--log-group-name", group, "--status", "Complete"]);
    assert_eq!(described["queries"].as_array().unwrap().len(), 2, "{described}");

    let refused = server.aws(
        &root,
        &[
            "logs",
            "start-query",
            "--log-group-name",
            group,
            "--start-time",
            &start,
            "--end-time",
            &end,
            "--query-string",
            "stats count(*) by",
        ],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("MalformedQueryException") && stderr.contains("unexpected symbol found"), "{stderr}");
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Polls GetQueryResults until the query is Complete (at most ten seconds).
fn wait_for(aws: &dyn Fn(&[&str]) -> Value, query_id: &str) -> Value {
    for _ in 0..50 {
        let answer = aws(&["logs", "get-query-results", "--query-id", query_id]);
        match answer["status"].as_str().unwrap() {
            "Complete" => return answer,
            "Running" | "Scheduled" => std::thread::sleep(std::time::Duration::from_millis(200)),
            other => panic!("query {query_id} is {other}: {answer}"),
        }
    }
    panic!("query {query_id} did not complete in ten seconds");
}
