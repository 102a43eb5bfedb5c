//! CloudWatch Logs events stored one row each before migration 31 (`log_events`), on a
//! server that restarts on that store: they move into batches at start and read back through
//! every API that reads events, exactly as they were, on SQLite and on PostgreSQL.

use crate::support::{TestServer, fresh_postgres, now_ms};
use serde_json::{Value, json};
use store::Value as Sql;

#[test]
fn events_stored_one_per_row_are_read_back_after_a_restart_on_sqlite() {
    events_stored_one_per_row_are_read_back_after_a_restart(TestServer::start());
}

#[test]
fn events_stored_one_per_row_are_read_back_after_a_restart_on_postgres() {
    if let Some(url) = fresh_postgres("legacy_events") {
        events_stored_one_per_row_are_read_back_after_a_restart(TestServer::start_on(Some(url)));
    }
}

fn messages(answer: &Value) -> Vec<String> {
    answer["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap().to_owned()).collect()
}

fn events_stored_one_per_row_are_read_back_after_a_restart(first: TestServer) {
    let root = first.root.clone();
    let group = "/legacy/web";
    first.logs(&root, "CreateLogGroup", &json!({"logGroupName": group})).ok();
    for stream in ["a", "b"] {
        first.logs(&root, "CreateLogStream", &json!({"logGroupName": group, "logStreamName": stream})).ok();
    }
    // As two PutLogEvents calls to `a` and one to `b` stored them before: one row per event,
    // the stream's counters moved.
    let base = (now_ms() - 3_600_000) / 1000 * 1000;
    let legacy = [
        ("a", base + 2_000, base + 10_000, "GET /home 200"),
        ("a", base + 2_000, base + 10_000, "GET /pay 500"),
        ("b", base + 1_000, base + 10_000, "b's only event"),
        ("a", base + 1_000, base + 20_000, "POST /pay 200, earlier but later"),
        ("a", base + 3_000, base + 20_000, "GET /home 503"),
    ];
    let account = first.account_id.clone();
    let mut history: Vec<(&str, Vec<Sql>)> = legacy
        .iter()
        .map(|(stream, time, ingested, message)| {
            let sql = "INSERT INTO log_events (account_id, region, group_name, stream_name, event_time, ingestion_time, message)
                       VALUES (?, 'us-east-1', ?, ?, ?, ?, ?)";
            let params = vec![
                Sql::from(account.as_str()),
                group.into(),
                (*stream).into(),
                Sql::Int(*time),
                Sql::Int(*ingested),
                (*message).into(),
            ];
            (sql, params)
        })
        .collect();
    history.push((
        "UPDATE log_streams SET first_event_at = ?, last_event_at = ?, last_ingestion_at = ?, stored_bytes = 58 WHERE name = 'a'",
        vec![Sql::Int(base + 1_000), Sql::Int(base + 3_000), Sql::Int(base + 20_000)],
    ));
    first.rewrite_history(&history);

    let server = first.restart();
    let head = json!({"logGroupName": group, "logStreamName": "a", "startFromHead": true});
    let all = server.logs(&root, "GetLogEvents", &head).ok().value();
    let in_order = ["POST /pay 200, earlier but later", "GET /home 200", "GET /pay 500", "GET /home 503"];
    assert_eq!(messages(&all), in_order, "{all}");
    assert_eq!(all["events"][0]["ingestionTime"], base + 20_000);
    assert_eq!(all["events"][1]["ingestionTime"], base + 10_000);
    assert_eq!(all["events"][1]["timestamp"], base + 2_000);

    // Paging with the tokens, forward then back, neither skips nor repeats.
    let mut forward = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let mut request = json!({"logGroupName": group, "logStreamName": "a", "startFromHead": true, "limit": 1});
        if let Some(token) = &token {
            request["nextToken"] = json!(token);
        }
        let page = server.logs(&root, "GetLogEvents", &request).ok().value();
        let next = page["nextForwardToken"].as_str().unwrap().to_owned();
        if token.as_deref() == Some(next.as_str()) {
            break;
        }
        forward.extend(messages(&page));
        token = Some(next);
    }
    assert_eq!(forward, in_order);
    let tail =
        server.logs(&root, "GetLogEvents", &json!({"logGroupName": group, "logStreamName": "a", "limit": 2})).ok();
    let tail = tail.value();
    assert_eq!(messages(&tail), &in_order[2..]);
    let back = json!({"logGroupName": group, "logStreamName": "a", "nextToken": tail["nextBackwardToken"]});
    assert_eq!(messages(&server.logs(&root, "GetLogEvents", &back).ok().value()), &in_order[..2]);

    let filtered =
        server.logs(&root, "FilterLogEvents", &json!({"logGroupName": group, "filterPattern": "?500 ?503 ?only"}));
    let filtered = filtered.ok().value();
    assert_eq!(messages(&filtered), ["b's only event", "GET /pay 500", "GET /home 503"], "{filtered}");

    let streams = server.logs(&root, "DescribeLogStreams", &json!({"logGroupName": group})).ok().value();
    assert_eq!(streams["logStreams"][0]["storedBytes"], 58, "{streams}");
    assert_eq!(streams["logStreams"][0]["firstEventTimestamp"], base + 1_000);

    // Logs Insights reads them, and GetLogRecord reads one back by its pointer.
    let now = now_ms() / 1000;
    let started = server.logs(
        &root,
        "StartQuery",
        &json!({"logGroupName": group, "startTime": now - 7200, "endTime": now,
                "queryString": "filter @message like /pay/ | fields @message | sort @timestamp asc"}),
    );
    let id = started.ok().value()["queryId"].as_str().unwrap().to_owned();
    let mut answer = Value::Null;
    for _ in 0..200 {
        answer = server.logs(&root, "GetQueryResults", &json!({"queryId": id})).ok().value();
        if answer["status"] != "Running" && answer["status"] != "Scheduled" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert_eq!(answer["status"], "Complete", "{answer}");
    let rows = answer["results"].as_array().unwrap();
    let field = |row: &Value, name: &str| {
        row.as_array().unwrap().iter().find(|f| f["field"] == name).map(|f| f["value"].as_str().unwrap().to_owned())
    };
    let found: Vec<String> = rows.iter().filter_map(|row| field(row, "@message")).collect();
    assert_eq!(found, ["POST /pay 200, earlier but later", "GET /pay 500"], "{answer}");
    let pointer = field(&rows[1], "@ptr").unwrap();
    let record = server.logs(&root, "GetLogRecord", &json!({"logRecordPointer": pointer})).ok().value();
    assert_eq!(record["logRecord"]["@message"], "GET /pay 500", "{record}");
    assert_eq!(record["logRecord"]["@logStream"], "a", "{record}");

    // New events go after them, in the same order.
    let put = json!({"logGroupName": group, "logStreamName": "a", "logEvents": [{"timestamp": base + 2_000, "message": "new at the same time"}]});
    server.logs(&root, "PutLogEvents", &put).ok();
    let all = server.logs(&root, "GetLogEvents", &head).ok().value();
    let mut with_new = in_order.to_vec();
    with_new.insert(3, "new at the same time");
    assert_eq!(messages(&all), with_new, "{all}");
}
