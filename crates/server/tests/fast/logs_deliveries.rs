//! CloudWatch Logs' vended-log deliveries, in process on both stores: delivery destinations
//! (a log group of the region) put, read, tagged, given a policy and deleted; the
//! destinations Homeport has no service for refused; delivery sources refused (no resource
//! Homeport hosts vends logs), so no delivery exists; and who may do what, by canonical ARN.

use crate::support::{Case, TestServer, logs, unique};
use serde_json::json;

crate::support::on_both_stores!(
    delivery_destinations_are_put_read_tagged_and_deleted,
    destinations_homeport_has_no_service_for_are_refused,
    no_resource_here_is_a_delivery_source,
    deliveries_are_authorized_on_their_canonical_arns
);

fn group_arn(server: &TestServer, group: &str) -> String {
    format!("arn:aws:logs:us-east-1:{}:log-group:{group}", server.account_id)
}

fn delivery_destinations_are_put_read_tagged_and_deleted(server: &TestServer) {
    let root = &server.root;
    let name = unique("dd-");
    let group = format!("/vended/{}", unique("g"));
    let other = format!("/vended/{}", unique("g"));
    let arn = format!("arn:aws:logs:us-east-1:{}:delivery-destination:{name}", server.account_id);
    let put = |group: &str| {
        logs(
            "PutDeliveryDestination",
            json!({"name": name, "outputFormat": "json", "tags": {"team": "edge"},
                "deliveryDestinationConfiguration": {"destinationResourceArn": group_arn(server, group)}}),
        )
    };
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"logs:CreateDelivery","Resource":"*"}]}"#;
    server.run(&[
        Case::error(
            "a group that does not exist",
            root,
            put(&group),
            400,
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        ),
        Case::ok("a group", root, logs("CreateLogGroup", json!({"logGroupName": group}))),
        Case::ok("another", root, logs("CreateLogGroup", json!({"logGroupName": other}))),
        Case::ok("put", root, put(&group))
            .json("/deliveryDestination/name", name.as_str())
            .json("/deliveryDestination/arn", arn.as_str())
            .json("/deliveryDestination/deliveryDestinationType", "CWL")
            .json("/deliveryDestination/outputFormat", "json")
            .json(
                "/deliveryDestination/deliveryDestinationConfiguration/destinationResourceArn",
                group_arn(server, &group),
            )
            .json("/deliveryDestination/tags/team", "edge"),
        Case::ok("read", root, logs("GetDeliveryDestination", json!({"name": name})))
            .json("/deliveryDestination/arn", arn.as_str()),
        Case::ok("described", root, logs("DescribeDeliveryDestinations", json!({"limit": 50})))
            .contains(format!("\"name\":\"{name}\"")),
        Case::ok("no policy yet", root, logs("GetDeliveryDestinationPolicy", json!({"deliveryDestinationName": name})))
            .json("/policy", json!({})),
        Case::error(
            "a policy that is no policy",
            root,
            logs(
                "PutDeliveryDestinationPolicy",
                json!({"deliveryDestinationName": name, "deliveryDestinationPolicy": "nope"}),
            ),
            400,
            "ValidationException",
            "Invalid Delivery Destination resource Policy is provided.",
        ),
        Case::ok(
            "a policy",
            root,
            logs(
                "PutDeliveryDestinationPolicy",
                json!({"deliveryDestinationName": name, "deliveryDestinationPolicy": policy}),
            ),
        )
        .json("/policy/deliveryDestinationPolicy", policy),
        Case::ok("put again: another group, the policy kept", root, put(&other)).json(
            "/deliveryDestination/deliveryDestinationConfiguration/destinationResourceArn",
            group_arn(server, &other),
        ),
        Case::ok("its policy", root, logs("GetDeliveryDestinationPolicy", json!({"deliveryDestinationName": name})))
            .json("/policy/deliveryDestinationPolicy", policy),
        Case::ok("tagged by ARN", root, logs("TagResource", json!({"resourceArn": arn, "tags": {"tier": "web"}}))),
        Case::ok("its tags", root, logs("ListTagsForResource", json!({"resourceArn": arn})))
            .json("/tags", json!({"team": "edge", "tier": "web"})),
        Case::ok(
            "policy deleted",
            root,
            logs("DeleteDeliveryDestinationPolicy", json!({"deliveryDestinationName": name})),
        ),
        Case::error(
            "policy deleted again",
            root,
            logs("DeleteDeliveryDestinationPolicy", json!({"deliveryDestinationName": name})),
            400,
            "ResourceNotFoundException",
            "has no policy",
        ),
        Case::ok("deleted", root, logs("DeleteDeliveryDestination", json!({"name": name}))),
        Case::error(
            "deleted again",
            root,
            logs("DeleteDeliveryDestination", json!({"name": name})),
            400,
            "ResourceNotFoundException",
            "does not exist",
        ),
        Case::error(
            "read once deleted",
            root,
            logs("GetDeliveryDestination", json!({"name": name})),
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
        Case::error(
            "the policy of one nobody made",
            root,
            logs(
                "PutDeliveryDestinationPolicy",
                json!({"deliveryDestinationName": "nobody-made-me", "deliveryDestinationPolicy": policy}),
            ),
            400,
            "ResourceNotFoundException",
            "does not exist",
        ),
    ]);
}

fn destinations_homeport_has_no_service_for_are_refused(server: &TestServer) {
    let root = &server.root;
    let group = format!("/vended/{}", unique("g"));
    let put = |body: serde_json::Value| {
        let mut body = body;
        body["name"] = json!(unique("dd-"));
        logs("PutDeliveryDestination", body)
    };
    let to = |arn: &str| json!({"deliveryDestinationConfiguration": {"destinationResourceArn": arn}});
    server.run(&[
        Case::ok("a group", root, logs("CreateLogGroup", json!({"logGroupName": group}))),
        Case::error(
            "an S3 bucket",
            root,
            put(to("arn:aws:s3:::vended-logs")),
            400,
            "ResourceNotFoundException",
            "S3 bucket",
        ),
        Case::error(
            "a Firehose stream",
            root,
            put(to(&format!("arn:aws:firehose:us-east-1:{}:deliverystream/logs", server.account_id))),
            400,
            "ResourceNotFoundException",
            "Firehose delivery stream",
        ),
        Case::error(
            "X-Ray",
            root,
            put(json!({"deliveryDestinationType": "XRAY"})),
            400,
            "ValidationException",
            "X-Ray",
        ),
        Case::error(
            "no configuration",
            root,
            put(json!({"outputFormat": "json"})),
            400,
            "ValidationException",
            "deliveryDestinationConfiguration is required",
        ),
        Case::error(
            "a type that is not the resource's",
            root,
            put(json!({"deliveryDestinationType": "S3",
                "deliveryDestinationConfiguration": {"destinationResourceArn": group_arn(server, &group)}})),
            400,
            "ValidationException",
            "does not match",
        ),
        Case::error(
            "parquet to a log group",
            root,
            put(json!({"outputFormat": "parquet",
                "deliveryDestinationConfiguration": {"destinationResourceArn": group_arn(server, &group)}})),
            400,
            "ValidationException",
            "parquet",
        ),
        Case::error(
            "a Kinesis stream",
            root,
            put(to(&format!("arn:aws:kinesis:us-east-1:{}:stream/logs", server.account_id))),
            400,
            "ValidationException",
            "is not the ARN of a log group",
        ),
        Case::error(
            "another account's group",
            root,
            put(to("arn:aws:logs:us-east-1:999988887777:log-group:theirs")),
            400,
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        ),
        Case::error(
            "a name out of pattern",
            root,
            logs("PutDeliveryDestination", json!({"name": "a/b"})),
            400,
            "InvalidParameterException",
            "Member must satisfy regular expression pattern",
        ),
    ]);
}

fn no_resource_here_is_a_delivery_source(server: &TestServer) {
    let root = &server.root;
    let cluster = format!("arn:aws:ecs:us-east-1:{}:cluster/default", server.account_id);
    let destination = format!("arn:aws:logs:us-east-1:{}:delivery-destination:dd", server.account_id);
    server.run(&[
        Case::error(
            "a Homeport resource vends no logs",
            root,
            logs("PutDeliverySource", json!({"name": "src", "resourceArn": cluster, "logType": "APPLICATION_LOGS"})),
            400,
            "ValidationException",
            "does not vend logs",
        ),
        Case::error(
            "a resource of a service Homeport does not run",
            root,
            logs(
                "PutDeliverySource",
                json!({"name": "src", "resourceArn": "arn:aws:cloudfront::111122223333:distribution/E1", "logType": "ACCESS_LOGS"}),
            ),
            400,
            "ResourceNotFoundException",
            "does not exist",
        ),
        Case::error("no source to read", root, logs("GetDeliverySource", json!({"name": "src"})), 400, "ResourceNotFoundException", "Delivery source src does not exist."),
        Case::error("no source to delete", root, logs("DeleteDeliverySource", json!({"name": "src"})), 400, "ResourceNotFoundException", "does not exist"),
        Case::ok("no sources", root, logs("DescribeDeliverySources", json!({}))).json_len("/deliverySources", 0),
        Case::error(
            "no delivery without a source",
            root,
            logs("CreateDelivery", json!({"deliverySourceName": "src", "deliveryDestinationArn": destination})),
            400,
            "ResourceNotFoundException",
            "Delivery source src does not exist.",
        ),
        Case::error("no delivery to read", root, logs("GetDelivery", json!({"id": "abc123"})), 400, "ResourceNotFoundException", "Delivery abc123 does not exist."),
        Case::error("no delivery to delete", root, logs("DeleteDelivery", json!({"id": "abc123"})), 400, "ResourceNotFoundException", "does not exist"),
        Case::error(
            "no delivery to configure",
            root,
            logs("UpdateDeliveryConfiguration", json!({"id": "abc123", "fieldDelimiter": ","})),
            400,
            "ResourceNotFoundException",
            "does not exist",
        ),
        Case::ok("no deliveries", root, logs("DescribeDeliveries", json!({"limit": 10}))).json_len("/deliveries", 0),
        Case::ok("no templates", root, logs("DescribeConfigurationTemplates", json!({"service": "cloudfront"})))
            .json_len("/configurationTemplates", 0),
        Case::error(
            "a token nobody handed out",
            root,
            logs("DescribeDeliveries", json!({"nextToken": "x"})),
            400,
            "InvalidParameterException",
            "nextToken",
        ),
    ]);
}

fn deliveries_are_authorized_on_their_canonical_arns(server: &TestServer) {
    let account = &server.account_id;
    let name = unique("dd-");
    let only_one = server.user_with_policy(
        &unique("dd-reader"),
        Some(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"logs:GetDeliveryDestination","Resource":"arn:aws:logs:us-east-1:{account}:delivery-destination:{name}"}}]}}"#
        )),
    );
    server.run(&[
        Case::error(
            "allowed on its own ARN (and then not found)",
            &only_one,
            logs("GetDeliveryDestination", json!({"name": name})),
            400,
            "ResourceNotFoundException",
            "does not exist",
        ),
        Case::denied(
            "another destination",
            &only_one,
            logs("GetDeliveryDestination", json!({"name": "another"})),
            format!(
                "logs:GetDeliveryDestination on resource: arn:aws:logs:us-east-1:{account}:delivery-destination:another"
            ),
        ),
        Case::denied(
            "a source",
            server.nobody(),
            logs("GetDeliverySource", json!({"name": "src"})),
            format!("logs:GetDeliverySource on resource: arn:aws:logs:us-east-1:{account}:delivery-source:src"),
        ),
        Case::denied(
            "a delivery",
            server.nobody(),
            logs("GetDelivery", json!({"id": "abc123"})),
            format!("logs:GetDelivery on resource: arn:aws:logs:us-east-1:{account}:delivery:abc123"),
        ),
        Case::denied(
            "the destinations",
            server.nobody(),
            logs("DescribeDeliveryDestinations", json!({})),
            "logs:DescribeDeliveryDestinations on resource: *",
        ),
    ]);
}
