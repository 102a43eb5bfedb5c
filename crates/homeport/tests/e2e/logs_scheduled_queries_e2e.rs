//! A CloudWatch Logs scheduled query through boto3 against the real server: made over a group
//! with events, it fires once the schedule's clock comes (the test hook file
//! `logs-schedule-clock-offset` in the data directory moves it two minutes ahead), its run is
//! in GetScheduledQueryHistory, and GetQueryResults answers the run's query with the events.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{Server, boto3_available, fresh_dir};

fn logs(operation: &str, params: Value) -> Value {
    json!({"service": "logs", "operation": operation, "params": params})
}

fn answered(server: &Server, call: Value) -> Value {
    let answer = server.boto3(std::slice::from_ref(&call)).remove(0);
    assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    answer["response"].clone()
}

#[test]
fn a_scheduled_query_runs_on_its_schedule_and_its_results_are_read() {
    if !boto3_available() {
        return;
    }
    let dir = fresh_dir("logs-scheduled");
    let server = Server::start(&dir.join("data"), None);
    let account =
        answered(&server, json!({"service": "sts", "operation": "get_caller_identity", "params": {}}))["Account"]
            .as_str()
            .unwrap()
            .to_owned();
    let now =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap();
    let group = "/scheduled/e2e";
    let setup = vec![
        logs("create_log_group", json!({"logGroupName": group})),
        logs("create_log_stream", json!({"logGroupName": group, "logStreamName": "s"})),
        logs(
            "put_log_events",
            json!({"logGroupName": group, "logStreamName": "s", "logEvents": [
                {"timestamp": now - 90_000, "message": "{\"level\": \"error\"}"},
                {"timestamp": now - 60_000, "message": "{\"level\": \"info\"}"},
                {"timestamp": now - 30_000, "message": "{\"level\": \"error\"}"}]}),
        ),
        logs(
            "create_scheduled_query",
            json!({"name": "errors", "queryLanguage": "CWLI",
                "queryString": "filter level = 'error' | stats count(*) as errors",
                "logGroupIdentifiers": [format!("arn:aws:logs:us-east-1:{account}:log-group:{group}")],
                "scheduleExpression": "rate(1 minute)", "startTimeOffset": 3600,
                "executionRoleArn": format!("arn:aws:iam::{account}:role/insights")}),
        ),
    ];
    let answers = server.boto3(&setup);
    for (call, answer) in setup.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    let arn = answers[3]["response"]["scheduledQueryArn"].as_str().unwrap().to_owned();
    assert!(arn.starts_with(&format!("arn:aws:logs:us-east-1:{account}:scheduled-query:")), "{arn}");

    // Two minutes ahead: its first firing, within a minute of now, is due.
    std::fs::write(server.data_dir.join("logs-schedule-clock-offset"), "120").unwrap();
    let history =
        logs("get_scheduled_query_history", json!({"identifier": arn, "startTime": 0, "endTime": now + 3_600_000}));
    let deadline = Instant::now() + Duration::from_secs(30);
    let record = loop {
        let answer = answered(&server, history.clone());
        let records = answer["triggerHistory"].as_array().unwrap();
        if let Some(record) = records.iter().find(|record| record["executionStatus"] == "Complete") {
            break record.clone();
        }
        assert!(Instant::now() < deadline, "no complete run: {answer}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(record["triggeredTimestamp"].as_i64().unwrap() >= now, "{record}");
    let results = answered(&server, logs("get_query_results", json!({"queryId": record["queryId"]})));
    assert_eq!(results["status"], "Complete", "{results}");
    assert_eq!(results["results"][0][0]["field"], "errors", "{results}");
    assert_eq!(results["results"][0][0]["value"], "2", "{results}");
    let described = answered(&server, logs("get_scheduled_query", json!({"identifier": "errors"})));
    assert_eq!(described["lastExecutionStatus"], "Complete", "{described}");
    let listed = answered(&server, logs("list_scheduled_queries", json!({"state": "ENABLED"})));
    assert_eq!(listed["scheduledQueries"][0]["scheduledQueryArn"], arn.as_str(), "{listed}");
    answered(&server, logs("delete_scheduled_query", json!({"identifier": "errors"})));
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
