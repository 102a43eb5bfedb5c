//! CloudWatch Logs account policies (subscription filter policies only) and field indexes
//! (none kept), in process on both stores.

use crate::support::{Case, TestServer, logs, unique};
use serde_json::json;

crate::support::on_both_stores!(
    one_subscription_filter_policy_per_region_is_kept,
    field_indexes_are_none_for_groups_that_exist
);

fn one_subscription_filter_policy_per_region_is_kept(server: &TestServer) {
    // The only test that puts account policies: the one a region may hold is this test's.
    let region = "us-east-1";
    let root = &server.root;
    let document = |destination: &str| {
        json!({"DestinationArn": destination, "FilterPattern": "ERROR", "Distribution": "Random"}).to_string()
    };
    let lambda = format!("arn:aws:lambda:{region}:{}:function:ship", server.account_id);
    let put = |name: &str, document: String| {
        logs(
            "PutAccountPolicy",
            json!({"policyName": name, "policyType": "SUBSCRIPTION_FILTER_POLICY", "policyDocument": document}),
        )
    };
    let cases = [
        Case::ok("a subscription filter policy", root, put("ship-all", document(&lambda)))
            .json("/accountPolicy/policyName", "ship-all")
            .json("/accountPolicy/scope", "ALL")
            .json("/accountPolicy/accountId", server.account_id.as_str()),
        Case::ok("put again by its name", root, put("ship-all", document(&lambda))),
        Case::error("a second", root, put("another", document(&lambda)), 400, "LimitExceededException", "one"),
        Case::ok(
            "described",
            root,
            logs("DescribeAccountPolicies", json!({"policyType": "SUBSCRIPTION_FILTER_POLICY"})),
        )
        .json_len("/accountPolicies", 1)
        .json("/accountPolicies/0/policyDocument", document(&lambda)),
        Case::ok(
            "none of another type",
            root,
            logs("DescribeAccountPolicies", json!({"policyType": "DATA_PROTECTION_POLICY"})),
        )
        .json_len("/accountPolicies", 0),
        Case::error(
            "a data protection policy",
            root,
            logs(
                "PutAccountPolicy",
                json!({"policyName": "mask", "policyType": "DATA_PROTECTION_POLICY", "policyDocument": "{}"}),
            ),
            400,
            "InvalidParameterException",
            "SUBSCRIPTION_FILTER_POLICY",
        ),
        Case::error(
            "a pattern that does not parse",
            root,
            put("ship-all", json!({"DestinationArn": lambda, "FilterPattern": "{ level = 1 }"}).to_string()),
            400,
            "InvalidParameterException",
            "Invalid filter pattern",
        ),
        Case::error(
            "no destination",
            root,
            put("ship-all", "{}".to_owned()),
            400,
            "InvalidParameterException",
            "DestinationArn",
        ),
        Case::error(
            "a destination nobody made",
            root,
            put("ship-all", document(&format!("arn:aws:logs:{region}:{}:destination:nobody", server.account_id))),
            400,
            "ResourceNotFoundException",
            "The specified destination does not exist.",
        ),
        Case::ok(
            "deleted",
            root,
            logs("DeleteAccountPolicy", json!({"policyName": "ship-all", "policyType": "SUBSCRIPTION_FILTER_POLICY"})),
        ),
        Case::error(
            "deleted again",
            root,
            logs("DeleteAccountPolicy", json!({"policyName": "ship-all", "policyType": "SUBSCRIPTION_FILTER_POLICY"})),
            400,
            "ResourceNotFoundException",
            "Policy with name [ship-all] does not exist",
        ),
    ];
    server.run(&cases);
}

fn field_indexes_are_none_for_groups_that_exist(server: &TestServer) {
    let root = &server.root;
    let group = format!("/indexes/{}", unique("group"));
    server.logs(root, "CreateLogGroup", &json!({"logGroupName": group})).ok();
    let arn = format!("arn:aws:logs:us-east-1:{}:log-group:{group}", server.account_id);
    server.run(&[
        Case::ok("by name and ARN", root, logs("DescribeFieldIndexes", json!({"logGroupIdentifiers": [group, arn]})))
            .json_len("/fieldIndexes", 0),
        Case::ok("index policies", root, logs("DescribeIndexPolicies", json!({"logGroupIdentifiers": [group]})))
            .json_len("/indexPolicies", 0),
        Case::error(
            "a group nobody made",
            root,
            logs("DescribeFieldIndexes", json!({"logGroupIdentifiers": [group, "/nobody/made/me"]})),
            400,
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        ),
        Case::denied(
            "authorized on each group",
            server.nobody(),
            logs("DescribeFieldIndexes", json!({"logGroupIdentifiers": [group]})),
            format!("is not authorized to perform: logs:DescribeFieldIndexes on resource: {arn}"),
        ),
    ]);
}
