//! CloudWatch Logs destinations, a group's KMS key, ListLogGroups, GetLogGroupFields and
//! `logGroupIdentifier`, in process on both stores: the happy paths, CloudWatch's errors, and
//! the role a destination passes.

use crate::support::{Case, TestServer, logs, now_ms, unique};
use serde_json::json;

crate::support::on_both_stores!(
    destinations_are_put_described_tagged_and_deleted,
    a_destination_passes_its_role_to_logs,
    a_group_records_a_kms_key_arn_of_its_region,
    list_log_groups_filters_by_pattern_class_and_tags,
    group_fields_are_discovered_from_recent_events,
    a_group_is_named_by_name_or_identifier_never_both,
    deletion_protection_blocks_the_groups_deletion
);

const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:111122223333:stream/ship";

fn role(server: &TestServer) -> String {
    format!("arn:aws:iam::{}:role/logs-to-kinesis", server.account_id)
}

fn destinations_are_put_described_tagged_and_deleted(server: &TestServer) {
    let root = &server.root;
    let name = unique("dest");
    let arn = format!("arn:aws:logs:us-east-1:{}:destination:{name}", server.account_id);
    let group = format!("/dest/{}", unique("group"));
    let put = |target: &str| {
        logs(
            "PutDestination",
            json!({"destinationName": name, "targetArn": target, "roleArn": role(server), "tags": {"team": "edge"}}),
        )
    };
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"logs:PutSubscriptionFilter","Resource":"*"}]}"#;
    let subscribe = |destination: &str| {
        logs(
            "PutSubscriptionFilter",
            json!({"logGroupName": group, "filterName": "ship", "filterPattern": "", "destinationArn": destination}),
        )
    };
    server.run(&[
        Case::ok("put", root, put(STREAM_ARN))
            .json("/destination/destinationName", name.as_str())
            .json("/destination/arn", arn.as_str())
            .json("/destination/targetArn", STREAM_ARN),
        Case::ok("described by prefix", root, logs("DescribeDestinations", json!({"DestinationNamePrefix": name})))
            .json_len("/destinations", 1)
            .json("/destinations/0/roleArn", role(server)),
        Case::ok(
            "a prefix nothing has",
            root,
            logs("DescribeDestinations", json!({"DestinationNamePrefix": "zz-none"})),
        )
        .json_len("/destinations", 0),
        Case::error(
            "a target that is no stream",
            root,
            put("arn:aws:lambda:us-east-1:111122223333:function:f"),
            400,
            "InvalidParameterException",
            "is not the ARN of a Kinesis data stream or a Firehose delivery stream",
        ),
        Case::ok(
            "its policy",
            root,
            logs("PutDestinationPolicy", json!({"destinationName": name, "accessPolicy": policy})),
        ),
        Case::ok("put again keeps the policy", root, put("arn:aws:firehose:us-east-1:111122223333:deliverystream/d"))
            .json("/destination/accessPolicy", policy)
            .json("/destination/targetArn", "arn:aws:firehose:us-east-1:111122223333:deliverystream/d"),
        Case::error(
            "a policy that is no policy",
            root,
            logs("PutDestinationPolicy", json!({"destinationName": name, "accessPolicy": "nope"})),
            400,
            "InvalidParameterException",
            "not a JSON policy document",
        ),
        Case::error(
            "the policy of a destination nobody made",
            root,
            logs("PutDestinationPolicy", json!({"destinationName": "nobody-made-me", "accessPolicy": policy})),
            400,
            "ResourceNotFoundException",
            "The specified destination does not exist.",
        ),
        Case::ok("its tags by ARN", root, logs("ListTagsForResource", json!({"resourceArn": arn})))
            .json("/tags", json!({"team": "edge"})),
        Case::ok("tagged by ARN", root, logs("TagResource", json!({"resourceArn": arn, "tags": {"tier": "web"}}))),
        Case::ok("untagged by ARN", root, logs("UntagResource", json!({"resourceArn": arn, "tagKeys": ["team"]}))),
        Case::ok("one left", root, logs("ListTagsForResource", json!({"resourceArn": arn})))
            .json("/tags", json!({"tier": "web"})),
        Case::ok("a group", root, logs("CreateLogGroup", json!({"logGroupName": group}))),
        Case::ok("subscribed to the destination", root, subscribe(&arn)),
        Case::ok("described", root, logs("DescribeSubscriptionFilters", json!({"logGroupName": group})))
            .json("/subscriptionFilters/0/destinationArn", arn.as_str()),
        Case::error(
            "a destination nobody made",
            root,
            subscribe(&format!("arn:aws:logs:us-east-1:{}:destination:nobody-made-me", server.account_id)),
            400,
            "ResourceNotFoundException",
            "The specified destination does not exist.",
        ),
        Case::error(
            "another account's destination",
            root,
            subscribe("arn:aws:logs:us-east-1:999988887777:destination:theirs"),
            400,
            "ResourceNotFoundException",
            "The specified destination does not exist.",
        ),
        Case::error(
            "another region's destination",
            root,
            subscribe(&arn.replace("us-east-1", "eu-west-1")),
            400,
            "InvalidParameterException",
            "region",
        ),
        Case::ok("deleted", root, logs("DeleteDestination", json!({"destinationName": name}))),
        Case::error(
            "deleted again",
            root,
            logs("DeleteDestination", json!({"destinationName": name})),
            400,
            "ResourceNotFoundException",
            "The specified destination does not exist.",
        ),
        Case::error(
            "its tags went with it",
            root,
            logs("ListTagsForResource", json!({"resourceArn": arn})),
            400,
            "ResourceNotFoundException",
            "The specified destination does not exist.",
        ),
        Case::error(
            "a name with a colon",
            root,
            logs("DeleteDestination", json!({"destinationName": "a:b"})),
            400,
            "InvalidParameterException",
            "Member must satisfy regular expression pattern: [^:*]*",
        ),
    ]);
}

fn a_destination_passes_its_role_to_logs(server: &TestServer) {
    let logs_only = server.user_with_policy(
        &unique("dest-writer"),
        Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}"#),
    );
    let name = unique("dest");
    server.run(&[
        Case::denied(
            "without iam:PassRole",
            &logs_only,
            logs(
                "PutDestination",
                json!({"destinationName": name, "targetArn": STREAM_ARN, "roleArn": role(server)}),
            ),
            format!("is not authorized to perform: iam:PassRole on resource: {}", role(server)),
        ),
        Case::ok("described (nothing was made)", &logs_only, logs("DescribeDestinations", json!({"DestinationNamePrefix": name})))
            .json_len("/destinations", 0),
        Case::denied(
            "a user without permissions",
            server.nobody(),
            logs("DeleteDestination", json!({"destinationName": name})),
            format!(
                "is not authorized to perform: logs:DeleteDestination on resource: arn:aws:logs:us-east-1:{}:destination:{name}",
                server.account_id
            ),
        ),
    ]);
}

fn a_group_records_a_kms_key_arn_of_its_region(server: &TestServer) {
    let root = &server.root;
    let group = format!("/kms/{}", unique("group"));
    let group_arn = format!("arn:aws:logs:us-east-1:{}:log-group:{group}", server.account_id);
    let key = format!("arn:aws:kms:us-east-1:{}:key/1234abcd-12ab-34cd-56ef-1234567890ab", server.account_id);
    let other = key.replace("1234abcd-", "5678abcd-");
    let refused = format!("The specified KMS key does not exist or is not allowed to be used with Arn '{group_arn}'");
    let describe = || logs("DescribeLogGroups", json!({"logGroupNamePrefix": group}));
    server.run(&[
        Case::error(
            "created with an alias",
            root,
            logs("CreateLogGroup", json!({"logGroupName": group, "kmsKeyId": "alias/mine"})),
            400,
            "AccessDeniedException",
            refused.as_str(),
        ),
        Case::ok("created with a key ARN", root, logs("CreateLogGroup", json!({"logGroupName": group, "kmsKeyId": key}))),
        Case::ok("recorded", root, describe()).json("/logGroups/0/kmsKeyId", key.as_str()),
        Case::ok("another key", root, logs("AssociateKmsKey", json!({"logGroupName": group, "kmsKeyId": other}))),
        Case::ok("replaces it", root, describe()).json("/logGroups/0/kmsKeyId", other.as_str()),
        Case::error(
            "another region's key",
            root,
            logs("AssociateKmsKey", json!({"logGroupName": group, "kmsKeyId": key.replace("us-east-1", "eu-west-1")})),
            400,
            "AccessDeniedException",
            refused.as_str(),
        ),
        Case::ok("disassociated by ARN", root, logs("DisassociateKmsKey", json!({"resourceIdentifier": group_arn}))),
        Case::error(
            "both a name and an ARN",
            root,
            logs("DisassociateKmsKey", json!({"logGroupName": group, "resourceIdentifier": group_arn})),
            400,
            "InvalidParameterException",
            "not both",
        ),
        Case::error(
            "query results",
            root,
            logs(
                "AssociateKmsKey",
                json!({"resourceIdentifier": format!("arn:aws:logs:us-east-1:{}:query-result:*", server.account_id), "kmsKeyId": key}),
            ),
            400,
            "InvalidParameterException",
            "query-result",
        ),
        Case::error(
            "a group nobody made",
            root,
            logs("AssociateKmsKey", json!({"logGroupName": "/nobody/made/me", "kmsKeyId": key})),
            400,
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        ),
        Case::error(
            "no key",
            root,
            logs("AssociateKmsKey", json!({"logGroupName": group})),
            400,
            "InvalidParameterException",
            "kmsKeyId",
        ),
    ]);
    let described = server.logs(root, "DescribeLogGroups", &json!({"logGroupNamePrefix": group})).ok().value();
    assert!(described["logGroups"][0].get("kmsKeyId").is_none(), "disassociated: {described}");
}

fn list_log_groups_filters_by_pattern_class_and_tags(server: &TestServer) {
    let root = &server.root;
    let base = format!("/list/{}", unique("g"));
    let (web, api, cold) = (format!("{base}/web"), format!("{base}/api"), format!("{base}/cold"));
    server.logs(root, "CreateLogGroup", &json!({"logGroupName": web, "tags": {"team": "edge"}})).ok();
    server.logs(root, "CreateLogGroup", &json!({"logGroupName": api, "tags": {"team": "core"}})).ok();
    server.logs(root, "CreateLogGroup", &json!({"logGroupName": cold, "logGroupClass": "INFREQUENT_ACCESS"})).ok();
    let id = base.trim_start_matches("/list/");
    let list = |extra: serde_json::Value| {
        let mut body = json!({"logGroupNamePattern": format!("^/list/{id}")});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        logs("ListLogGroups", body)
    };
    server.run(&[
        Case::ok("by prefix", root, list(json!({})))
            .json_len("/logGroups", 3)
            .json("/logGroups/0/logGroupName", api.as_str())
            .json("/logGroups/0/logGroupArn", format!("arn:aws:logs:us-east-1:{}:log-group:{api}", server.account_id))
            .json("/logGroups/0/logGroupClass", "STANDARD"),
        Case::ok("a page", root, list(json!({"limit": 2}))).json_len("/logGroups", 2).json("/nextToken", "2"),
        Case::ok("the next", root, list(json!({"limit": 2, "nextToken": "2"}))).json_len("/logGroups", 1),
        Case::ok("by class", root, list(json!({"logGroupClass": "INFREQUENT_ACCESS"})))
            .json_len("/logGroups", 1)
            .json("/logGroups/0/logGroupName", cold.as_str()),
        Case::ok("by tag", root, list(json!({"logGroupTags": [{"key": "team", "values": ["edge"]}]})))
            .json_len("/logGroups", 1)
            .json("/logGroups/0/logGroupName", web.as_str()),
        Case::ok("by tag key", root, list(json!({"logGroupTags": [{"key": "team"}]}))).json_len("/logGroups", 2),
        Case::ok("field indexes nothing has", root, list(json!({"fieldIndexNames": ["requestId"]})))
            .json_len("/logGroups", 0),
        Case::ok(
            "a substring or another",
            root,
            logs("ListLogGroups", json!({"logGroupNamePattern": format!("{id}/web|{id}/api")})),
        )
        .json_len("/logGroups", 2),
        Case::ok("case-sensitive", root, logs("ListLogGroups", json!({"logGroupNamePattern": format!("{}/WEB", id)})))
            .json_len("/logGroups", 0),
        Case::ok(
            "this account",
            root,
            list(json!({"includeLinkedAccounts": true, "accountIdentifiers": [server.account_id]})),
        )
        .json_len("/logGroups", 3),
        Case::error(
            "another account",
            root,
            list(json!({"includeLinkedAccounts": true, "accountIdentifiers": ["999988887777"]})),
            400,
            "InvalidParameterException",
            "no linked accounts",
        ),
        Case::error(
            "a pattern too short",
            root,
            logs("ListLogGroups", json!({"logGroupNamePattern": "ab"})),
            400,
            "InvalidParameterException",
            "Member must have length greater than or equal to 3",
        ),
        Case::error(
            "a limit too large",
            root,
            logs("ListLogGroups", json!({"limit": 1001})),
            400,
            "InvalidParameterException",
            "Member must have value less than or equal to 1000",
        ),
        Case::error(
            "DescribeLogGroups: a prefix and a pattern",
            root,
            logs("DescribeLogGroups", json!({"logGroupNamePrefix": "/a", "logGroupNamePattern": "abc"})),
            400,
            "InvalidParameterException",
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        ),
        Case::ok(
            "DescribeLogGroups by identifiers",
            root,
            logs(
                "DescribeLogGroups",
                json!({"logGroupIdentifiers": [
                    web.clone(), format!("arn:aws:logs:us-east-1:{}:log-group:{api}", server.account_id),
                ]}),
            ),
        )
        .json_len("/logGroups", 2),
        Case::ok(
            "DescribeLogGroups by class",
            root,
            logs("DescribeLogGroups", json!({"logGroupNamePrefix": base, "logGroupClass": "INFREQUENT_ACCESS"})),
        )
        .json_len("/logGroups", 1),
    ]);
}

fn group_fields_are_discovered_from_recent_events(server: &TestServer) {
    let root = &server.root;
    let group = format!("/fields/{}", unique("group"));
    server.logs(root, "CreateLogGroup", &json!({"logGroupName": group})).ok();
    server.logs(root, "CreateLogStream", &json!({"logGroupName": group, "logStreamName": "s"})).ok();
    let now = now_ms();
    let messages = [
        r#"{"level":"error","user":{"name":"ana"}}"#,
        r#"{"level":"info","latency":12}"#,
        r#"{"level":"info"}"#,
        "plain text",
    ];
    let events: Vec<_> =
        messages.iter().enumerate().map(|(i, m)| json!({"timestamp": now - 1000 + i as i64, "message": m})).collect();
    server.logs(root, "PutLogEvents", &json!({"logGroupName": group, "logStreamName": "s", "logEvents": events})).ok();
    let fields = server.logs(root, "GetLogGroupFields", &json!({"logGroupName": group})).ok().value();
    let percent = |name: &str| {
        fields["logGroupFields"].as_array().unwrap().iter().find(|f| f["name"] == name).map(|f| f["percent"].clone())
    };
    for name in ["@timestamp", "@message", "@logStream", "@log"] {
        assert_eq!(percent(name), Some(json!(100)), "{name}: {fields}");
    }
    assert_eq!(percent("level"), Some(json!(75)), "{fields}");
    assert_eq!(percent("user.name"), Some(json!(25)), "{fields}");
    assert_eq!(percent("latency"), Some(json!(25)), "{fields}");
    assert_eq!(fields["logGroupFields"][0]["percent"], 100, "highest first: {fields}");
    let arn = format!("arn:aws:logs:us-east-1:{}:log-group:{group}", server.account_id);
    server.run(&[
        Case::ok(
            "by ARN, an hour ago: nothing",
            root,
            logs("GetLogGroupFields", json!({"logGroupIdentifier": arn, "time": now / 1000 - 3600})),
        )
        .json_len("/logGroupFields", 0),
        Case::ok(
            "by ARN, around now",
            root,
            logs("GetLogGroupFields", json!({"logGroupIdentifier": arn, "time": now / 1000})),
        )
        .json("/logGroupFields/0/percent", 100),
        Case::error(
            "a group nobody made",
            root,
            logs("GetLogGroupFields", json!({"logGroupName": "/nobody/made/me"})),
            400,
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        ),
    ]);
}

fn a_group_is_named_by_name_or_identifier_never_both(server: &TestServer) {
    let root = &server.root;
    let group = format!("/ident/{}", unique("group"));
    let arn = format!("arn:aws:logs:us-east-1:{}:log-group:{group}", server.account_id);
    server.logs(root, "CreateLogGroup", &json!({"logGroupName": group})).ok();
    server.logs(root, "CreateLogStream", &json!({"logGroupName": group, "logStreamName": "s"})).ok();
    let now = now_ms();
    server
        .logs(
            root,
            "PutLogEvents",
            &json!({"logGroupName": group, "logStreamName": "s",
            "logEvents": [{"timestamp": now, "message": "hello"}]}),
        )
        .ok();
    let both = "LogGroup name and LogGroup ARN are mutually exclusive parameters.";
    server.run(&[
        Case::ok("streams by ARN", root, logs("DescribeLogStreams", json!({"logGroupIdentifier": arn})))
            .json("/logStreams/0/logStreamName", "s"),
        Case::ok(
            "streams by name as identifier",
            root,
            logs("DescribeLogStreams", json!({"logGroupIdentifier": group})),
        )
        .json_len("/logStreams", 1),
        Case::ok(
            "events by ARN",
            root,
            logs("GetLogEvents", json!({"logGroupIdentifier": arn, "logStreamName": "s", "startFromHead": true})),
        )
        .json("/events/0/message", "hello"),
        Case::ok("filtered by ARN", root, logs("FilterLogEvents", json!({"logGroupIdentifier": arn})))
            .json("/events/0/message", "hello"),
        Case::error(
            "both",
            root,
            logs("DescribeLogStreams", json!({"logGroupName": group, "logGroupIdentifier": group})),
            400,
            "ValidationException",
            both,
        ),
        Case::error(
            "both, filtering",
            root,
            logs("FilterLogEvents", json!({"logGroupName": group, "logGroupIdentifier": arn})),
            400,
            "ValidationException",
            both,
        ),
        Case::error(
            "neither",
            root,
            logs("GetLogEvents", json!({"logStreamName": "s"})),
            400,
            "InvalidParameterException",
            "Value null at 'logGroupName' failed to satisfy constraint: Member must not be null",
        ),
        Case::error(
            "an ARN with :*",
            root,
            logs("FilterLogEvents", json!({"logGroupIdentifier": format!("{arn}:*")})),
            400,
            "InvalidParameterException",
            "Member must satisfy regular expression pattern",
        ),
        Case::error(
            "another region's ARN",
            root,
            logs("FilterLogEvents", json!({"logGroupIdentifier": arn.replace("us-east-1", "eu-west-1")})),
            400,
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        ),
        Case::denied(
            "authorized on the group's ARN",
            server.nobody(),
            logs("GetLogEvents", json!({"logGroupIdentifier": group, "logStreamName": "s"})),
            format!("is not authorized to perform: logs:GetLogEvents on resource: {arn}"),
        ),
    ]);
}

fn deletion_protection_blocks_the_groups_deletion(server: &TestServer) {
    let root = &server.root;
    let group = format!("/protected/{}", unique("group"));
    let arn = format!("arn:aws:logs:us-east-1:{}:log-group:{group}", server.account_id);
    let describe = || logs("DescribeLogGroups", json!({"logGroupNamePrefix": group}));
    let delete = || logs("DeleteLogGroup", json!({"logGroupName": group}));
    let protect = |enabled: bool| {
        logs("PutLogGroupDeletionProtection", json!({"logGroupIdentifier": arn, "deletionProtectionEnabled": enabled}))
    };
    server.run(&[
        Case::ok(
            "created protected",
            root,
            logs("CreateLogGroup", json!({"logGroupName": group, "deletionProtectionEnabled": true})),
        ),
        Case::ok("described", root, describe()).json("/logGroups/0/deletionProtectionEnabled", true),
        Case::error("not deleted", root, delete(), 400, "ValidationException", "deletion protection enabled"),
        Case::ok(
            "a stream still comes and goes",
            root,
            logs("CreateLogStream", json!({"logGroupName": group, "logStreamName": "s"})),
        ),
        Case::ok("unprotected by ARN", root, protect(false)),
        Case::ok("described unprotected", root, describe()).json("/logGroups/0/deletionProtectionEnabled", false),
        Case::ok("deleted", root, delete()),
        Case::error(
            "a group nobody made",
            root,
            protect(true),
            400,
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        ),
    ]);
}
