//! CloudWatch Logs groups, streams and events, in process: the happy path, Logs' errors for
//! bad input (today's codes and messages), and refusals of a caller without permissions.

use crate::support::{Case, TestServer, logs, now_ms, unique};
use serde_json::json;

crate::support::on_both_stores!(
    groups_and_streams_are_created_described_and_deleted,
    events_are_put_read_back_and_checked,
    a_user_without_permissions_is_refused_every_logs_operation,
    filter_patterns_pick_the_events_they_describe,
    tags_are_a_groups_by_name_and_by_arn,
    filters_and_resource_policies_are_kept_within_their_quotas
);

fn groups_and_streams_are_created_described_and_deleted(server: &TestServer) {
    let root = &server.root;
    let group = format!("/app/{}", unique("group"));
    let stream = unique("stream");
    let group_arn = format!("arn:aws:logs:us-east-1:{}:log-group:{group}", server.account_id);
    server.run(&[
        Case::ok("create a group", root, logs("CreateLogGroup", json!({"logGroupName": group}))),
        Case::error("create it again", root, logs("CreateLogGroup", json!({"logGroupName": group})), 400,
            "ResourceAlreadyExistsException", "The specified log group already exists"),
        Case::ok("described by prefix", root, logs("DescribeLogGroups", json!({"logGroupNamePrefix": group})))
            .json("/logGroups/0/logGroupName", group.as_str())
            .json("/logGroups/0/arn", format!("{group_arn}:*")),
        Case::ok("keep a week", root, logs("PutRetentionPolicy", json!({"logGroupName": group, "retentionInDays": 7}))),
        Case::ok("kept a week", root, logs("DescribeLogGroups", json!({"logGroupNamePrefix": group})))
            .json("/logGroups/0/retentionInDays", 7),
        Case::error("keep 8 days", root, logs("PutRetentionPolicy", json!({"logGroupName": group, "retentionInDays": 8})),
            400, "InvalidParameterException", "retentionInDays"),
        Case::ok("keep forever", root, logs("DeleteRetentionPolicy", json!({"logGroupName": group}))),
        Case::ok("create a stream", root, logs("CreateLogStream", json!({"logGroupName": group, "logStreamName": stream}))),
        Case::error("create it again", root,
            logs("CreateLogStream", json!({"logGroupName": group, "logStreamName": stream})), 400,
            "ResourceAlreadyExistsException", "The specified log stream already exists"),
        Case::ok("described", root, logs("DescribeLogStreams", json!({"logGroupName": group})))
            .json("/logStreams/0/logStreamName", stream.as_str())
            .json_len("/logStreams", 1),
        Case::error("streams of a group nobody made", root,
            logs("DescribeLogStreams", json!({"logGroupName": "nobody-made-me"})), 400, "ResourceNotFoundException",
            "The specified log group does not exist."),
        Case::error("a stream in a group nobody made", root,
            logs("CreateLogStream", json!({"logGroupName": "nobody-made-me", "logStreamName": "s"})), 400,
            "ResourceNotFoundException", "The specified log group does not exist."),
        Case::error("order by time with a prefix", root, logs("DescribeLogStreams", json!({
            "logGroupName": group, "orderBy": "LastEventTime", "logStreamNamePrefix": "s",
        })), 400, "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix."),
        Case::ok("delete the stream", root, logs("DeleteLogStream", json!({"logGroupName": group, "logStreamName": stream}))),
        Case::error("delete it again", root,
            logs("DeleteLogStream", json!({"logGroupName": group, "logStreamName": stream})), 400,
            "ResourceNotFoundException", "The specified log stream does not exist."),
        Case::ok("delete the group", root, logs("DeleteLogGroup", json!({"logGroupName": group}))),
        Case::error("delete it again", root, logs("DeleteLogGroup", json!({"logGroupName": group})), 400,
            "ResourceNotFoundException", "The specified log group does not exist."),
        Case::error("a name with a space", root, logs("CreateLogGroup", json!({"logGroupName": "a b"})), 400,
            "InvalidParameterException",
            "1 validation error detected: Value 'a b' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"),
        Case::error("no name", root, logs("CreateLogGroup", json!({})), 400, "InvalidParameterException", "logGroupName"),
        Case::error("a stream name with a colon", root,
            logs("CreateLogStream", json!({"logGroupName": group, "logStreamName": "a:b"})), 400,
            "InvalidParameterException", "Member must satisfy regular expression pattern: [^:*]*"),
        Case::error("an operation Logs does not have", root, logs("CreateUnicorn", json!({})), 400,
            "UnknownOperationException", ""),
    ]);
}

fn events_are_put_read_back_and_checked(server: &TestServer) {
    let root = &server.root;
    let group = unique("events");
    let stream = "s";
    server.logs(root, "CreateLogGroup", &json!({"logGroupName": group})).ok();
    server.logs(root, "CreateLogStream", &json!({"logGroupName": group, "logStreamName": stream})).ok();
    let now = now_ms();
    let put = |events: serde_json::Value| {
        logs("PutLogEvents", json!({"logGroupName": group, "logStreamName": stream, "logEvents": events}))
    };
    server.run(&[
        Case::ok("put two", root, put(json!([{"timestamp": now, "message": "one"}, {"timestamp": now + 1, "message": "two"}]))),
        Case::ok("read them from the start", root,
            logs("GetLogEvents", json!({"logGroupName": group, "logStreamName": stream, "startFromHead": true})))
            .json_len("/events", 2)
            .json("/events/0/message", "one")
            .json("/events/1/message", "two"),
        Case::ok("filtered", root, logs("FilterLogEvents", json!({"logGroupName": group, "filterPattern": "two"})))
            .json_len("/events", 1)
            .json("/events/0/message", "two"),
        Case::error("none", root, put(json!([])), 400, "InvalidParameterException",
            "1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        Case::error("no timestamp", root, put(json!([{"message": "m"}])), 400, "InvalidParameterException",
            "1 validation error detected: Value null at 'logEvents.1.member.timestamp' failed to satisfy constraint: Member must not be null"),
        Case::error("no message", root, put(json!([{"timestamp": now}])), 400, "InvalidParameterException",
            "1 validation error detected: Value null at 'logEvents.1.member.message' failed to satisfy constraint: Member must not be null"),
        Case::error("an empty message", root, put(json!([{"timestamp": now, "message": ""}])), 400,
            "InvalidParameterException",
            "1 validation error detected: Value '' at 'logEvents.1.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        Case::error("out of order", root, put(json!([{"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}])),
            400, "InvalidParameterException",
            "Log events in a single PutLogEvents request must be in chronological order."),
        Case::error("to a stream nobody made", root, logs("PutLogEvents", json!({
            "logGroupName": group, "logStreamName": "nobody-made-me", "logEvents": [{"timestamp": now, "message": "m"}],
        })), 400, "ResourceNotFoundException", "The specified log stream does not exist."),
        Case::error("a limit of none", root,
            logs("GetLogEvents", json!({"logGroupName": group, "logStreamName": stream, "limit": 0})), 400,
            "InvalidParameterException",
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"),
        Case::error("a token it never gave", root,
            logs("GetLogEvents", json!({"logGroupName": group, "logStreamName": stream, "nextToken": "what"})), 400,
            "InvalidParameterException", "The specified nextToken is invalid."),
        Case::error("names and a prefix", root, logs("FilterLogEvents", json!({
            "logGroupName": group, "logStreamNames": ["s"], "logStreamNamePrefix": "s",
        })), 400, "InvalidParameterException", "logStreamNames and logStreamNamePrefix cannot both be specified."),
        Case::error("filter a group nobody made", root, logs("FilterLogEvents", json!({"logGroupName": "nobody-made-me"})),
            400, "ResourceNotFoundException", "The specified log group does not exist."),
    ]);
}

fn a_user_without_permissions_is_refused_every_logs_operation(server: &TestServer) {
    let nobody = server.nobody();
    let group = |name: &str| format!("arn:aws:logs:us-east-1:{}:log-group:{name}", server.account_id);
    let denied =
        |action: &str, resource: &str| format!("is not authorized to perform: logs:{action} on resource: {resource}");
    server.run(&[
        Case::denied(
            "create a group",
            nobody,
            logs("CreateLogGroup", json!({"logGroupName": "g1"})),
            denied("CreateLogGroup", &group("g1")),
        ),
        Case::denied(
            "delete a group",
            nobody,
            logs("DeleteLogGroup", json!({"logGroupName": "g2"})),
            denied("DeleteLogGroup", &group("g2")),
        ),
        Case::denied(
            "create a stream",
            nobody,
            logs("CreateLogStream", json!({"logGroupName": "g3", "logStreamName": "s"})),
            denied("CreateLogStream", &format!("{}:log-stream:s", group("g3"))),
        ),
        Case::denied(
            "put events",
            nobody,
            logs(
                "PutLogEvents",
                json!({
                    "logGroupName": "g4", "logStreamName": "s", "logEvents": [{"timestamp": now_ms(), "message": "m"}],
                }),
            ),
            "logs:PutLogEvents",
        ),
        Case::denied(
            "read events",
            nobody,
            logs("GetLogEvents", json!({"logGroupName": "g5", "logStreamName": "s"})),
            "logs:GetLogEvents",
        ),
        Case::denied("describe groups", nobody, logs("DescribeLogGroups", json!({})), "logs:DescribeLogGroups"),
    ]);
}

fn filter_patterns_pick_the_events_they_describe(server: &TestServer) {
    let root = &server.root;
    let group = unique("filtered");
    server.logs(root, "CreateLogGroup", &json!({"logGroupName": group})).ok();
    server.logs(root, "CreateLogStream", &json!({"logGroupName": group, "logStreamName": "s"})).ok();
    let now = now_ms();
    let messages = [
        "ERROR disk full",
        "WARN disk at 90%",
        "INFO all good",
        r#"{"level":"error","latency":250,"user":{"name":"ana"}}"#,
        r#"{"level":"info","latency":12,"user":{"name":"bo"}}"#,
    ];
    let events: Vec<_> =
        messages.iter().enumerate().map(|(i, m)| json!({"timestamp": now + i as i64, "message": m})).collect();
    server.logs(root, "PutLogEvents", &json!({"logGroupName": group, "logStreamName": "s", "logEvents": events})).ok();
    let filter = |pattern: &str| logs("FilterLogEvents", json!({"logGroupName": group, "filterPattern": pattern}));
    // (pattern, how many match, the first match)
    let table: &[(&str, usize, &str)] = &[
        ("", 5, messages[0]),
        ("disk", 2, messages[0]),
        ("ERROR", 1, messages[0]),
        ("disk -ERROR", 1, messages[1]),
        ("?ERROR ?WARN", 2, messages[0]),
        ("\"all good\"", 1, messages[2]),
        ("error", 1, messages[3]),
        ("{ $.latency > 100 }", 1, messages[3]),
        ("{ $.level = \"info\" }", 1, messages[4]),
        ("{ $.user.name = \"a*\" }", 1, messages[3]),
        ("{ $.level = \"error\" || $.latency < 20 }", 2, messages[3]),
        ("{ $.missing NOT EXISTS }", 2, messages[3]),
        ("nothing-like-this", 0, ""),
    ];
    let mut cases: Vec<Case> = table
        .iter()
        .map(|(pattern, count, first)| {
            let case = Case::ok(&format!("pattern {pattern:?}"), root, filter(pattern)).json_len("/events", *count);
            if *count > 0 { case.json("/events/0/message", *first) } else { case }
        })
        .collect();
    cases.extend([
        Case::error(
            "a space-delimited pattern",
            root,
            filter("[ip, user]"),
            400,
            "InvalidParameterException",
            "Space-delimited filter patterns are not supported by Homeport.",
        ),
        Case::error("a pattern too long", root, filter(&"x".repeat(1025)), 400, "InvalidParameterException",
            format!("1 validation error detected: Value '{}' at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to 1024", "x".repeat(1025))),
        // Today an unclosed `{` makes a term pattern (`{`, `$.level`, `=`), which no event has.
        Case::ok("a JSON pattern left open", root, filter("{ $.level = ")).json_len("/events", 0),
    ]);
    server.run(&cases);
}

fn tags_are_a_groups_by_name_and_by_arn(server: &TestServer) {
    let root = &server.root;
    let group = format!("/tags/{}", unique("group"));
    let arn = format!("arn:aws:logs:us-east-1:{}:log-group:{group}", server.account_id);
    let fifty: serde_json::Map<String, serde_json::Value> = (0..50).map(|n| (format!("k{n}"), json!("v"))).collect();
    server.run(&[
        Case::ok(
            "created with tags",
            root,
            logs("CreateLogGroup", json!({"logGroupName": group, "tags": {"team": "edge", "tier": "web"}})),
        ),
        Case::ok("listed by name", root, logs("ListTagsLogGroup", json!({"logGroupName": group})))
            .json("/tags", json!({"team": "edge", "tier": "web"})),
        Case::ok("tagged by ARN", root, logs("TagResource", json!({"resourceArn": arn, "tags": {"team": "core"}}))),
        Case::ok("listed by ARN", root, logs("ListTagsForResource", json!({"resourceArn": arn})))
            .json("/tags", json!({"team": "core", "tier": "web"})),
        Case::ok("untagged by name", root, logs("UntagLogGroup", json!({"logGroupName": group, "tags": ["tier"]}))),
        Case::ok("untagged by ARN", root, logs("UntagResource", json!({"resourceArn": arn, "tagKeys": ["team"]}))),
        Case::ok("none left", root, logs("ListTagsForResource", json!({"resourceArn": arn}))).json("/tags", json!({})),
        Case::ok("fifty fit", root, logs("TagLogGroup", json!({"logGroupName": group, "tags": fifty}))),
        Case::error(
            "fifty-one do not, by ARN",
            root,
            logs("TagResource", json!({"resourceArn": arn, "tags": {"one": "more"}})),
            400,
            "TooManyTagsException",
            "50",
        ),
        Case::error(
            "nor by name",
            root,
            logs("TagLogGroup", json!({"logGroupName": group, "tags": {"one": "more"}})),
            400,
            "InvalidParameterException",
            "50",
        ),
        Case::error(
            "an ARN with :*",
            root,
            logs("ListTagsForResource", json!({"resourceArn": format!("{arn}:*")})),
            400,
            "InvalidParameterException",
            // The model's pattern has no `*`: the pipeline refuses it before the handler.
            format!(
                "1 validation error detected: Value '{arn}:*' at 'resourceArn' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=/:,.@-]*"
            ),
        ),
        Case::error(
            "another region's group",
            root,
            logs("ListTagsForResource", json!({"resourceArn": arn.replace("us-east-1", "eu-west-1")})),
            400,
            "ResourceNotFoundException",
            "does not exist",
        ),
        Case::error(
            "a group nobody made",
            root,
            logs("ListTagsLogGroup", json!({"logGroupName": "/nobody/made/me"})),
            400,
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        ),
        Case::error(
            "a KMS alias (a key ARN is recorded: logs_destinations.rs)",
            root,
            logs("CreateLogGroup", json!({"logGroupName": format!("{group}-kms"), "kmsKeyId": "alias/mine"})),
            400,
            "AccessDeniedException",
            "The specified KMS key does not exist or is not allowed to be used with Arn",
        ),
        Case::ok(
            "infrequent access",
            root,
            logs(
                "CreateLogGroup",
                json!({"logGroupName": format!("{group}-ia"), "logGroupClass": "INFREQUENT_ACCESS"}),
            ),
        ),
        Case::ok("its class", root, logs("DescribeLogGroups", json!({"logGroupNamePrefix": format!("{group}-ia")})))
            .json("/logGroups/0/logGroupClass", "INFREQUENT_ACCESS"),
        Case::ok("deleted with its tags", root, logs("DeleteLogGroup", json!({"logGroupName": group}))),
        Case::ok("made again", root, logs("CreateLogGroup", json!({"logGroupName": group}))),
        Case::ok("without the old tags", root, logs("ListTagsLogGroup", json!({"logGroupName": group})))
            .json("/tags", json!({})),
    ]);
}

fn filters_and_resource_policies_are_kept_within_their_quotas(server: &TestServer) {
    let root = &server.root;
    let group = format!("/filters/{}", unique("group"));
    let transformation = json!([{"metricName": "Errors", "metricNamespace": "Web", "metricValue": "1"}]);
    let metric = |name: &str, pattern: &str| {
        logs(
            "PutMetricFilter",
            json!({"logGroupName": group, "filterName": name, "filterPattern": pattern,
            "metricTransformations": transformation}),
        )
    };
    let subscription = |name: &str| {
        logs(
            "PutSubscriptionFilter",
            json!({"logGroupName": group, "filterName": name, "filterPattern": "",
            "destinationArn": "arn:aws:lambda:us-east-1:123456789012:function:ship"}),
        )
    };
    let policy = |name: String| {
        logs(
            "PutResourcePolicy",
            json!({"policyName": name, "policyDocument": r#"{"Version":"2012-10-17","Statement":[]}"#}),
        )
    };
    server.run(&[
        Case::error(
            "a group nobody made",
            root,
            metric("errors", "ERROR"),
            400,
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        ),
        Case::ok("the group", root, logs("CreateLogGroup", json!({"logGroupName": group}))),
        Case::ok("a metric filter", root, metric("errors", "ERROR")),
        Case::ok("put again replaces it", root, metric("errors", "{ $.level = \"error\" }")),
        Case::ok("another", root, metric("warnings", "WARN")),
        Case::error(
            "a pattern that does not parse",
            root,
            metric("bad", "{ level = 1 }"),
            400,
            "InvalidParameterException",
            "Invalid filter pattern",
        ),
        Case::ok("described", root, logs("DescribeMetricFilters", json!({"logGroupName": group})))
            .json_len("/metricFilters", 2)
            .json("/metricFilters/0/filterName", "errors")
            .json("/metricFilters/0/filterPattern", "{ $.level = \"error\" }")
            .json("/metricFilters/0/metricTransformations/0/metricName", "Errors"),
        Case::ok(
            "by prefix",
            root,
            logs("DescribeMetricFilters", json!({"logGroupName": group, "filterNamePrefix": "warn"})),
        )
        .json_len("/metricFilters", 1),
        Case::ok("counted on the group", root, logs("DescribeLogGroups", json!({"logGroupNamePrefix": group})))
            .json("/logGroups/0/metricFilterCount", 2),
        Case::ok(
            "tested",
            root,
            logs(
                "TestMetricFilter",
                json!({"filterPattern": "ERROR", "logEventMessages": ["ERROR one", "fine", "ERROR two"]}),
            ),
        )
        .json_len("/matches", 2)
        .json("/matches/1/eventNumber", 3),
        Case::ok("deleted", root, logs("DeleteMetricFilter", json!({"logGroupName": group, "filterName": "warnings"}))),
        Case::error(
            "deleted again",
            root,
            logs("DeleteMetricFilter", json!({"logGroupName": group, "filterName": "warnings"})),
            400,
            "ResourceNotFoundException",
            "filter does not exist",
        ),
        Case::ok("a subscription", root, subscription("one")),
        Case::ok("a second", root, subscription("two")),
        Case::error("a third", root, subscription("three"), 400, "LimitExceededException", "Resource limit exceeded."),
        Case::ok("subscriptions described", root, logs("DescribeSubscriptionFilters", json!({"logGroupName": group})))
            .json_len("/subscriptionFilters", 2)
            .json("/subscriptionFilters/0/distribution", "ByLogStream"),
        Case::ok("the group goes with its filters", root, logs("DeleteLogGroup", json!({"logGroupName": group}))),
        Case::ok("made again", root, logs("CreateLogGroup", json!({"logGroupName": group}))),
        Case::ok("without them", root, logs("DescribeMetricFilters", json!({"logGroupName": group})))
            .json_len("/metricFilters", 0),
    ]);
    // Ten resource policies per region; an eleventh is refused, one replaced is not new.
    let names: Vec<String> = (0..10).map(|n| unique(&format!("policy{n}"))).collect();
    for name in &names {
        server.call(root, &policy(name.clone())).ok();
    }
    let over = server.call(root, &policy(unique("eleventh")));
    assert_eq!((over.status, over.code()), (400, "LimitExceededException".to_owned()));
    server.call(root, &policy(names[0].clone())).ok();
    for name in &names {
        server.call(root, &logs("DeleteResourcePolicy", json!({"policyName": name}))).ok();
    }
    let gone = server.call(root, &logs("DeleteResourcePolicy", json!({"policyName": names[0]})));
    assert_eq!((gone.status, gone.code()), (400, "ResourceNotFoundException".to_owned()));
}
