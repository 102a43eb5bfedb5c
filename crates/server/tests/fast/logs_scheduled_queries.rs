//! CloudWatch Logs' scheduled queries, in process on both stores: created, read, listed,
//! updated, tagged and deleted; what Homeport cannot run refused; the role they pass; and a
//! query that fires when the schedule's clock comes (the data directory's clock hook), runs
//! its Insights query for real and records the run, whose query answers its rows.

use std::time::{Duration, Instant};

use crate::support::{Case, TestServer, logs, now_ms, unique};
use serde_json::{Value, json};

crate::support::on_both_stores!(
    scheduled_queries_are_created_read_updated_and_deleted,
    what_homeport_cannot_run_is_refused,
    a_scheduled_query_passes_its_role_and_is_authorized_on_its_arn,
    a_scheduled_query_runs_when_its_time_comes
);

fn role(server: &TestServer) -> String {
    format!("arn:aws:iam::{}:role/scheduled-queries", server.account_id)
}

fn group(server: &TestServer) -> String {
    let group = format!("/scheduled/{}", unique("g"));
    server.logs(&server.root, "CreateLogGroup", &json!({"logGroupName": group})).ok();
    group
}

/// A scheduled query that starts firing tomorrow (so the clock hook of the case that runs one
/// does not fire it).
fn create_body(server: &TestServer, name: &str, group: &str) -> Value {
    json!({"name": name, "scheduleStartTime": now_ms() + 86_400_000, "queryLanguage": "CWLI", "queryString": "fields @message | limit 5",
        "logGroupIdentifiers": [group], "scheduleExpression": "cron(0 * * * ? *)", "startTimeOffset": 3600,
        "executionRoleArn": role(server), "tags": {"team": "edge"}})
}

fn scheduled_queries_are_created_read_updated_and_deleted(server: &TestServer) {
    let root = &server.root;
    let name = unique("sq-");
    let group = group(server);
    let created = server.logs(root, "CreateScheduledQuery", &create_body(server, &name, &group)).ok().value();
    let arn = created["scheduledQueryArn"].as_str().unwrap().to_owned();
    assert!(arn.starts_with(&format!("arn:aws:logs:us-east-1:{}:scheduled-query:", server.account_id)), "{created}");
    assert_eq!(created["state"], "ENABLED");
    let mut update = create_body(server, &name, &group);
    update.as_object_mut().unwrap().remove("name");
    update.as_object_mut().unwrap().remove("tags");
    update["identifier"] = json!(arn);
    update["scheduleExpression"] = json!("rate(5 minutes)");
    update["state"] = json!("DISABLED");
    update["description"] = json!("every five minutes");
    server.run(&[
        Case::ok("read by name", root, logs("GetScheduledQuery", json!({"identifier": name})))
            .json("/scheduledQueryArn", arn.as_str())
            .json("/queryLanguage", "CWLI")
            .json("/logGroupIdentifiers/0", group.as_str())
            .json("/scheduleExpression", "cron(0 * * * ? *)")
            .json("/startTimeOffset", 3600)
            .json("/executionRoleArn", role(server))
            .json("/state", "ENABLED"),
        Case::ok("read by ARN", root, logs("GetScheduledQuery", json!({"identifier": arn})))
            .json("/name", name.as_str()),
        Case::ok("listed", root, logs("ListScheduledQueries", json!({"state": "ENABLED"})))
            .contains(format!("\"name\":\"{name}\"")),
        Case::error(
            "the name again",
            root,
            logs("CreateScheduledQuery", create_body(server, &name, &group)),
            400,
            "ConflictException",
            "already exists",
        ),
        Case::ok("its tags by ARN", root, logs("ListTagsForResource", json!({"resourceArn": arn})))
            .json("/tags", json!({"team": "edge"})),
        Case::ok("updated", root, logs("UpdateScheduledQuery", update))
            .json("/scheduleExpression", "rate(5 minutes)")
            .json("/state", "DISABLED")
            .json("/description", "every five minutes"),
        Case::ok("not listed as enabled", root, logs("ListScheduledQueries", json!({"state": "DISABLED"})))
            .contains(format!("\"name\":\"{name}\"")),
        Case::ok(
            "no history yet",
            root,
            logs("GetScheduledQueryHistory", json!({"identifier": name, "startTime": 0, "endTime": now_ms()})),
        )
        .json_len("/triggerHistory", 0)
        .json("/scheduledQueryArn", arn.as_str()),
        Case::ok("deleted", root, logs("DeleteScheduledQuery", json!({"identifier": arn}))),
        Case::error(
            "deleted again",
            root,
            logs("DeleteScheduledQuery", json!({"identifier": name})),
            400,
            "ResourceNotFoundException",
            "does not exist",
        ),
        Case::error(
            "its tags went with it",
            root,
            logs("ListTagsForResource", json!({"resourceArn": arn})),
            400,
            "ResourceNotFoundException",
            "does not exist",
        ),
    ]);
}

fn what_homeport_cannot_run_is_refused(server: &TestServer) {
    let root = &server.root;
    let group = group(server);
    let with = |change: Value| {
        let mut body = create_body(server, &unique("sq-"), &group);
        for (member, value) in change.as_object().unwrap() {
            body[member] = value.clone();
        }
        logs("CreateScheduledQuery", body)
    };
    let refused = |name: &str, change: Value, code: &'static str, message: &str| {
        Case::error(name, root, with(change), 400, code, message)
    };
    server.run(&[
        refused("SQL", json!({"queryLanguage": "SQL"}), "ValidationException", "Logs Insights QL (CWLI) queries only"),
        refused("a query that does not parse", json!({"queryString": "fields |"}), "ValidationException", "does not parse"),
        refused("no group", json!({"logGroupIdentifiers": null}), "ValidationException", "logGroupIdentifiers"),
        refused(
            "a group that does not exist",
            json!({"logGroupIdentifiers": ["/scheduled/nobody-made-me"]}),
            "ResourceNotFoundException",
            "does not exist",
        ),
        refused("a schedule that is none", json!({"scheduleExpression": "every minute"}), "ValidationException", "schedule expression"),
        refused("30 February", json!({"scheduleExpression": "cron(0 0 30 2 ? *)"}), "ValidationException", "never fires"),
        refused("a time zone", json!({"timezone": "Europe/Paris"}), "ValidationException", "UTC only"),
        refused(
            "an S3 destination",
            json!({"destinationConfiguration": {"s3Configuration": {"destinationIdentifier": "s3://results/q", "roleArn": role(server)}}}),
            "ResourceNotFoundException",
            "S3 bucket",
        ),
        refused("an end before its start", json!({"scheduleStartTime": 2000, "scheduleEndTime": 1000}), "ValidationException", "after"),
        Case::error(
            "a query nobody made",
            root,
            logs("GetScheduledQuery", json!({"identifier": "nobody-made-me"})),
            400,
            "ResourceNotFoundException",
            "does not exist",
        ),
    ]);
}

fn a_scheduled_query_passes_its_role_and_is_authorized_on_its_arn(server: &TestServer) {
    let logs_only = server.user_with_policy(
        &unique("sq-writer"),
        Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}"#),
    );
    let group = group(server);
    let name = unique("sq-");
    let created = server.logs(&server.root, "CreateScheduledQuery", &create_body(server, &name, &group)).ok().value();
    let arn = created["scheduledQueryArn"].as_str().unwrap().to_owned();
    server.run(&[
        Case::denied(
            "without iam:PassRole",
            &logs_only,
            logs("CreateScheduledQuery", create_body(server, &unique("sq-"), &group)),
            format!("is not authorized to perform: iam:PassRole on resource: {}", role(server)),
        ),
        Case::denied(
            "a user without permissions",
            server.nobody(),
            logs("GetScheduledQuery", json!({"identifier": name})),
            format!("logs:GetScheduledQuery on resource: {arn}"),
        ),
        Case::ok("deleted", &server.root, logs("DeleteScheduledQuery", json!({"identifier": name}))),
    ]);
}

/// The clock hook moves the schedule's clock of the whole server: no other case depends on
/// it (a scheduled query created elsewhere only fires sooner), and it is removed at the end.
fn a_scheduled_query_runs_when_its_time_comes(server: &TestServer) {
    let root = &server.root;
    let group = group(server);
    server.logs(root, "CreateLogStream", &json!({"logGroupName": group, "logStreamName": "s"})).ok();
    let events = json!([{"timestamp": now_ms() - 60_000, "message": "first"}, {"timestamp": now_ms() - 30_000, "message": "second"}]);
    server.logs(root, "PutLogEvents", &json!({"logGroupName": group, "logStreamName": "s", "logEvents": events})).ok();
    let name = unique("sq-");
    let mut body = create_body(server, &name, &group);
    body["scheduleExpression"] = json!("rate(1 minute)");
    body["queryString"] = json!("fields @message | sort @timestamp asc");
    body.as_object_mut().unwrap().remove("scheduleStartTime");
    server.logs(root, "CreateScheduledQuery", &body).ok();
    // Two minutes ahead: its first firing (within a minute of now) is due.
    let hook = server.data_dir.join("logs-schedule-clock-offset");
    std::fs::write(&hook, "120").unwrap();
    let history = json!({"identifier": name, "startTime": 0, "endTime": now_ms() + 3_600_000});
    let deadline = Instant::now() + Duration::from_secs(20);
    let record = loop {
        let answer = server.logs(root, "GetScheduledQueryHistory", &history).ok().value();
        let complete = answer["triggerHistory"]
            .as_array()
            .unwrap()
            .iter()
            .find(|record| record["executionStatus"] == "Complete")
            .cloned();
        if let Some(record) = complete {
            break record;
        }
        assert!(Instant::now() < deadline, "no complete run: {answer}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = std::fs::remove_file(&hook);
    let query_id = record["queryId"].as_str().unwrap();
    let results = server.logs(root, "GetQueryResults", &json!({"queryId": query_id})).ok().value();
    let messages: Vec<&str> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|row| row.as_array().unwrap().iter().find(|f| f["field"] == "@message"))
        .map(|field| field["value"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["first", "second"], "{results}");
    let described = server.logs(root, "GetScheduledQuery", &json!({"identifier": name})).ok().value();
    assert_eq!(described["lastExecutionStatus"], "Complete", "{described}");
    assert!(described["lastTriggeredTime"].as_i64().unwrap() > 0, "{described}");
    server.logs(root, "DeleteScheduledQuery", &json!({"identifier": name})).ok();
}
