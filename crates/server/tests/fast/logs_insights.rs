//! CloudWatch Logs Insights through the pipeline: StartQuery runs in the background and
//! GetQueryResults answers it once Complete (rows of `{field, value}` with `@ptr`, statistics),
//! GetLogRecord reads a row's event back, DescribeQueries lists and StopQuery stops; Logs'
//! errors for bad input, and refusals of a caller without permissions; saved query
//! definitions.

use crate::support::{Case, TestServer, logs, now_ms, unique};
use serde_json::{Value, json};

crate::support::on_both_stores!(
    queries_run_in_the_background_and_answer_with_pointers,
    bad_queries_are_refused_with_logs_errors,
    query_definitions_are_saved_replaced_and_deleted,
    a_user_without_permissions_is_refused_insights
);

/// A group with six events, one minute apart, in two streams: three JSON, three text.
fn group_with_events(server: &TestServer) -> (String, i64) {
    let root = &server.root;
    let group = format!("/insights/{}", unique("g"));
    server.logs(root, "CreateLogGroup", &json!({"logGroupName": group})).ok();
    // Five-minute aligned, an hour back, so every event is within the window and its bins.
    let base = (now_ms() - 3_600_000) / 300_000 * 300_000;
    for stream in ["api", "web"] {
        server.logs(root, "CreateLogStream", &json!({"logGroupName": group, "logStreamName": stream})).ok();
    }
    let api: Vec<Value> = [(0, 200, 12), (1, 500, 250), (6, 200, 30)]
        .iter()
        .map(|(minute, status, ms)| {
            json!({"timestamp": base + minute * 60_000, "message": json!({"status": status, "ms": ms, "user": {"id": "u1"}}).to_string()})
        })
        .collect();
    let web: Vec<Value> = ["GET /home 200 took=5", "POST /pay 503 took=90", "GET /pay 200 took=7"]
        .iter()
        .enumerate()
        .map(|(i, message)| json!({"timestamp": base + (2 + 5 * i as i64) * 60_000, "message": message}))
        .collect();
    for (stream, events) in [("api", api), ("web", web)] {
        server
            .logs(root, "PutLogEvents", &json!({"logGroupName": group, "logStreamName": stream, "logEvents": events}))
            .ok();
    }
    (group, base)
}

/// Starts a query over the group's last two hours and waits for it to complete.
fn query(server: &TestServer, group: &str, text: &str) -> Value {
    let now = now_ms() / 1000;
    let started = server
        .logs(
            &server.root,
            "StartQuery",
            &json!({"logGroupName": group, "startTime": now - 7200, "endTime": now, "queryString": text}),
        )
        .ok()
        .value();
    let id = started["queryId"].as_str().unwrap().to_owned();
    for _ in 0..200 {
        let answer = server.logs(&server.root, "GetQueryResults", &json!({"queryId": id})).ok().value();
        match answer["status"].as_str().unwrap() {
            "Running" | "Scheduled" => std::thread::sleep(std::time::Duration::from_millis(25)),
            "Complete" => return json!({"queryId": id, "answer": answer}),
            other => panic!("{text}: {other}: {answer}"),
        }
    }
    panic!("{text}: still running after five seconds");
}

/// The rows as `field=value` lists (without `@ptr`).
fn rows(answer: &Value) -> Vec<String> {
    answer["answer"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .filter(|f| f["field"] != "@ptr")
                .map(|f| format!("{}={}", f["field"].as_str().unwrap(), f["value"].as_str().unwrap()))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn queries_run_in_the_background_and_answer_with_pointers(server: &TestServer) {
    let root = &server.root;
    let (group, base) = group_with_events(server);
    let bins = query(server, &group, "stats count(*) by bin(5m)");
    let bin = |minutes: i64| {
        let ms = base + minutes * 60_000;
        let seconds = ms / 1000;
        let (h, m) = (seconds / 3600 % 24, seconds / 60 % 60);
        format!("{h:02}:{m:02}:00.000")
    };
    let got = rows(&bins);
    assert_eq!(got.len(), 3, "{got:?}");
    for (row, (minutes, count)) in got.iter().zip([(0, 3), (5, 2), (10, 1)]) {
        assert!(row.contains(&bin(minutes)) && row.ends_with(&format!("count(*)={count}")), "{row}");
    }
    assert_eq!(bins["answer"]["statistics"]["recordsScanned"], 6.0);
    assert_eq!(bins["answer"]["statistics"]["recordsMatched"], 6.0);

    let slow = query(server, &group, "filter ms > 20 | fields status, ms, user.id | sort ms desc");
    assert_eq!(rows(&slow), ["status=500 ms=250 user.id=u1", "status=200 ms=30 user.id=u1"]);
    let parsed = query(
        server,
        &group,
        "parse @message '* * * took=*' as verb, path, code, took | filter code != 200 | display path, took",
    );
    assert_eq!(rows(&parsed), ["path=/pay took=90"]);

    let newest = query(server, &group, "fields @message, @logStream | limit 1");
    let row = newest["answer"]["results"][0].as_array().unwrap().clone();
    assert_eq!(row[0]["value"], "GET /pay 200 took=7", "without a sort, the newest first");
    let pointer = row.iter().find(|f| f["field"] == "@ptr").unwrap()["value"].as_str().unwrap().to_owned();
    let query_id = newest["queryId"].as_str().unwrap().to_owned();
    let api_pointer =
        slow["answer"]["results"][0].as_array().unwrap().iter().find(|f| f["field"] == "@ptr").unwrap()["value"]
            .as_str()
            .unwrap()
            .to_owned();
    server.run(&[
        Case::ok("a record by its pointer", root, logs("GetLogRecord", json!({"logRecordPointer": pointer})))
            .json("/logRecord/@message", "GET /pay 200 took=7")
            .json("/logRecord/@logStream", "web")
            .json("/logRecord/@log", format!("{}:{group}", server.account_id)),
        Case::ok("a JSON record's fields", root, logs("GetLogRecord", json!({"logRecordPointer": api_pointer})))
            .json("/logRecord/status", "500")
            .json("/logRecord/user.id", "u1")
            .json("/logRecord/@timestamp", (base + 60_000).to_string()),
        Case::error(
            "a pointer it never gave",
            root,
            logs("GetLogRecord", json!({"logRecordPointer": "bm9wZQ"})),
            400,
            "InvalidParameterException",
            "The specified logRecordPointer is invalid.",
        ),
        Case::ok(
            "a second page of one row",
            root,
            logs("GetQueryResults", json!({"queryId": query_id, "maxItems": 0})),
        )
        .json_len("/results", 0)
        .json("/nextToken", "0")
        .json("/status", "Complete"),
        Case::ok("stop a finished query", root, logs("StopQuery", json!({"queryId": query_id})))
            .json("/success", false),
        Case::ok("described", root, logs("DescribeQueries", json!({"logGroupName": group, "status": "Complete"})))
            .json_len("/queries", 4)
            .json("/queries/0/logGroupName", group.as_str())
            .json("/queries/0/queryLanguage", "CWLI"),
        Case::ok(
            "none cancelled",
            root,
            logs("DescribeQueries", json!({"logGroupName": group, "status": "Cancelled"})),
        )
        .json_len("/queries", 0),
        Case::ok("one at a time", root, logs("DescribeQueries", json!({"logGroupName": group, "maxResults": 1})))
            .json_len("/queries", 1)
            .json("/nextToken", "1"),
    ]);
}

fn bad_queries_are_refused_with_logs_errors(server: &TestServer) {
    let root = &server.root;
    let (group, _) = group_with_events(server);
    let start = |body: Value| {
        let mut request = json!({"startTime": 0, "endTime": 10, "queryString": "fields @message"});
        for (key, value) in body.as_object().unwrap() {
            request[key] = value.clone();
        }
        logs("StartQuery", request)
    };
    server.run(&[
        Case::error("a query that does not parse", root, start(json!({"logGroupName": group, "queryString": "fields @message |"})),
            400, "MalformedQueryException", "unexpected symbol found <EOF> at line 1 and position 17")
            .json("/queryCompileError/location/startCharOffset", 17)
            .json("/queryCompileError/message", "unexpected symbol found <EOF> at line 1 and position 17"),
        Case::error("an unknown function", root, start(json!({"logGroupName": group, "queryString": "fields nope(x)"})),
            400, "MalformedQueryException", "Unknown function name: nope"),
        Case::error("a group nobody made", root, start(json!({"logGroupName": "nobody-made-me"})), 400,
            "ResourceNotFoundException",
            format!("Log group 'nobody-made-me' does not exist for account ID '{}'", server.account_id)),
        Case::error("no group", root, start(json!({})), 400, "InvalidParameterException",
            "Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be specified."),
        Case::error("a name and names", root, start(json!({"logGroupName": group, "logGroupNames": [group]})), 400,
            "InvalidParameterException", "Exactly one of"),
        Case::error("51 groups", root, start(json!({"logGroupNames": vec![group.clone(); 51]})), 400,
            "InvalidParameterException", "Member must have length between 1 and 50"),
        Case::error("another region's ARN", root,
            start(json!({"logGroupIdentifiers": [format!("arn:aws:logs:eu-west-1:{}:log-group:{group}", server.account_id)]})),
            400, "ResourceNotFoundException", "does not exist"),
        Case::ok("this region's ARN", root,
            start(json!({"logGroupIdentifiers": [format!("arn:aws:logs:us-east-1:{}:log-group:{group}", server.account_id)]}))),
        Case::error("the end before the start", root, start(json!({"logGroupName": group, "startTime": 10, "endTime": 9})),
            400, "InvalidParameterException", "End time cannot be less than Start time"),
        Case::error("no start", root, logs("StartQuery", json!({"logGroupName": group, "endTime": 9, "queryString": "x"})),
            400, "InvalidParameterException", "startTime"),
        Case::error("SQL", root, start(json!({"logGroupName": group, "queryLanguage": "SQL"})), 400,
            "InvalidParameterException", "Query language SQL is not supported"),
        Case::error("a limit of none", root, start(json!({"logGroupName": group, "limit": 0})), 400,
            "InvalidParameterException", "limit"),
        Case::error("a query too long", root, start(json!({"logGroupName": group, "queryString": "x".repeat(10_001)})), 400,
            "InvalidParameterException", "Member must have length less than or equal to 10000"),
        Case::error("results of no query", root, logs("GetQueryResults", json!({"queryId": "nope"})), 400,
            "ResourceNotFoundException", "The specified query does not exist."),
        Case::error("stop no query", root, logs("StopQuery", json!({"queryId": "nope"})), 400,
            "ResourceNotFoundException", "The specified query does not exist."),
        Case::error("describe a status Logs lacks", root, logs("DescribeQueries", json!({"status": "Asleep"})), 400,
            "InvalidParameterException", "Member must satisfy enum value set"),
    ]);
}

fn a_user_without_permissions_is_refused_insights(server: &TestServer) {
    let nobody = server.nobody();
    let arn = format!("arn:aws:logs:us-east-1:{}:log-group:/secret", server.account_id);
    server.run(&[
        Case::denied(
            "start a query",
            nobody,
            logs(
                "StartQuery",
                json!({"logGroupName": "/secret", "startTime": 0, "endTime": 1, "queryString": "fields @message"}),
            ),
            format!("is not authorized to perform: logs:StartQuery on resource: {arn}"),
        ),
        Case::denied("results", nobody, logs("GetQueryResults", json!({"queryId": "q"})), "logs:GetQueryResults"),
        Case::denied("stop", nobody, logs("StopQuery", json!({"queryId": "q"})), "logs:StopQuery"),
        Case::denied("describe", nobody, logs("DescribeQueries", json!({})), "logs:DescribeQueries"),
        Case::denied("a record", nobody, logs("GetLogRecord", json!({"logRecordPointer": "p"})), "logs:GetLogRecord"),
        Case::denied(
            "save a query",
            nobody,
            logs("PutQueryDefinition", json!({"name": "n", "queryString": "x"})),
            "logs:PutQueryDefinition on resource: *",
        ),
    ]);
}

fn query_definitions_are_saved_replaced_and_deleted(server: &TestServer) {
    let root = &server.root;
    let prefix = unique("saved-");
    let name = format!("{prefix}/errors");
    let token = format!("{}-a-client-token-of-at-least-thirty-six-characters", unique("t"));
    let put = |body: Value| logs("PutQueryDefinition", body);
    let created = server
        .logs(
            root,
            "PutQueryDefinition",
            &json!({"name": name, "queryString": "filter level = 'error'",
            "logGroupNames": ["/a"], "clientToken": token,
            "parameters": [{"name": "level", "defaultValue": "error"}]}),
        )
        .ok()
        .value();
    let id = created["queryDefinitionId"].as_str().unwrap().to_owned();
    server.run(&[
        Case::ok("the same token again", root, put(json!({"name": name, "queryString": "x", "clientToken": token})))
            .json("/queryDefinitionId", id.as_str()),
        Case::ok(
            "described by prefix",
            root,
            logs("DescribeQueryDefinitions", json!({"queryDefinitionNamePrefix": prefix})),
        )
        .json_len("/queryDefinitions", 1)
        .json("/queryDefinitions/0/name", name.as_str())
        .json("/queryDefinitions/0/logGroupNames/0", "/a")
        .json("/queryDefinitions/0/parameters/0/defaultValue", "error")
        .json("/queryDefinitions/0/queryLanguage", "CWLI"),
        Case::ok(
            "replaced whole",
            root,
            put(json!({"queryDefinitionId": id, "name": name, "queryString": "stats count(*)"})),
        )
        .json("/queryDefinitionId", id.as_str()),
        Case::ok(
            "nothing of the old kept",
            root,
            logs("DescribeQueryDefinitions", json!({"queryDefinitionNamePrefix": prefix})),
        )
        .json("/queryDefinitions/0/queryString", "stats count(*)")
        .json_len("/queryDefinitions/0/logGroupNames", 0),
        Case::error(
            "update one nobody made",
            root,
            put(json!({"queryDefinitionId": "nope", "name": "n", "queryString": "x"})),
            400,
            "ResourceNotFoundException",
            "The specified query definition does not exist.",
        ),
        Case::error("no name", root, put(json!({"queryString": "x"})), 400, "InvalidParameterException", "'name'"),
        Case::error(
            "a short token",
            root,
            put(json!({"name": "n", "queryString": "x", "clientToken": "short"})),
            400,
            "InvalidParameterException",
            "Member must have length greater than or equal to 36",
        ),
        Case::error(
            "a parameter name Logs refuses",
            root,
            put(json!({"name": "n", "queryString": "x", "parameters": [{"name": "1st"}]})),
            400,
            "InvalidParameterException",
            "^[a-zA-Z_][a-zA-Z0-9_]*",
        ),
        Case::ok("deleted", root, logs("DeleteQueryDefinition", json!({"queryDefinitionId": id})))
            .json("/success", true),
        Case::error(
            "deleted again",
            root,
            logs("DeleteQueryDefinition", json!({"queryDefinitionId": id})),
            400,
            "ResourceNotFoundException",
            "The specified query definition does not exist.",
        ),
    ]);
}
