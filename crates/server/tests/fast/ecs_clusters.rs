//! ECS clusters, in process: the happy path, ECS's errors for bad input (today's codes and
//! messages), and refusals of a caller without permissions.

use crate::support::{Case, TestServer, ecs, unique};
use serde_json::json;

crate::support::on_both_stores!(
    clusters_are_created_described_listed_and_deleted,
    bad_cluster_input_is_refused_with_ecss_messages,
    a_user_without_permissions_is_refused_every_cluster_operation
);

fn clusters_are_created_described_listed_and_deleted(server: &TestServer) {
    let root = &server.root;
    let name = unique("cluster");
    let arn = format!("arn:aws:ecs:us-east-1:{}:cluster/{name}", server.account_id);
    server.run(&[
        Case::ok(
            "create",
            root,
            ecs("CreateCluster", json!({"clusterName": name, "tags": [{"key": "team", "value": "blue"}]})),
        )
        .json("/cluster/clusterArn", arn.as_str())
        .json("/cluster/status", "ACTIVE")
        .json("/cluster/settings/0", json!({"name": "containerInsights", "value": "disabled"}))
        .json("/cluster/tags/0/key", "team"),
        Case::ok("create again returns it", root, ecs("CreateCluster", json!({"clusterName": name})))
            .json("/cluster/clusterArn", arn.as_str()),
        Case::ok("describe by name", root, ecs("DescribeClusters", json!({"clusters": [name]})))
            .json("/clusters/0/clusterName", name.as_str())
            .json("/clusters/0/registeredContainerInstancesCount", 0)
            .json_len("/failures", 0),
        Case::ok(
            "describe by ARN with tags",
            root,
            ecs("DescribeClusters", json!({"clusters": [arn], "include": ["TAGS"]})),
        )
        .json("/clusters/0/tags/0/value", "blue"),
        Case::ok("describe one nobody made", root, ecs("DescribeClusters", json!({"clusters": ["nobody-made-me"]})))
            .json_len("/clusters", 0)
            .json("/failures/0/reason", "MISSING")
            .json("/failures/0/arn", format!("arn:aws:ecs:us-east-1:{}:cluster/nobody-made-me", server.account_id)),
        Case::ok("listed", root, ecs("ListClusters", json!({}))),
        // Tags are given at creation only today: ECS's tagging operations are not routed.
        Case::error(
            "tag it later",
            root,
            ecs("TagResource", json!({"resourceArn": arn, "tags": [{"key": "env", "value": "test"}]})),
            400,
            "UnknownOperationException",
            "Homeport does not support the ecs operation TagResource.",
        ),
        Case::ok(
            "turn insights on",
            root,
            ecs(
                "UpdateCluster",
                json!({
                    "cluster": name, "settings": [{"name": "containerInsights", "value": "enabled"}],
                }),
            ),
        )
        .json("/cluster/settings/0/value", "enabled"),
        Case::error(
            "an unknown insights value",
            root,
            ecs(
                "UpdateCluster",
                json!({
                    "cluster": name, "settings": [{"name": "containerInsights", "value": "loud"}],
                }),
            ),
            400,
            "InvalidParameterException",
            "Invalid cluster setting: containerInsights=loud.",
        ),
        Case::ok("delete", root, ecs("DeleteCluster", json!({"cluster": name}))).json("/cluster/status", "INACTIVE"),
        Case::error(
            "delete again",
            root,
            ecs("DeleteCluster", json!({"cluster": name})),
            400,
            "ClusterNotFoundException",
            "Cluster not found.",
        ),
        Case::ok(
            "an inactive cluster is described as such",
            root,
            ecs("DescribeClusters", json!({"clusters": [name]})),
        )
        .json("/clusters/0/status", "INACTIVE"),
    ]);
    let listed = server.ecs(root, "ListClusters", &json!({})).ok().value();
    assert!(
        !listed["clusterArns"].as_array().unwrap().iter().any(|a| a == arn.as_str()),
        "a deleted cluster is not listed"
    );
}

fn bad_cluster_input_is_refused_with_ecss_messages(server: &TestServer) {
    let root = &server.root;
    let name_rule =
        "Cluster name can have up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.";
    server.run(&[
        Case::error(
            "a space in the name",
            root,
            ecs("CreateCluster", json!({"clusterName": "a b"})),
            400,
            "InvalidParameterException",
            name_rule,
        ),
        Case::error(
            "an empty name",
            root,
            ecs("CreateCluster", json!({"clusterName": ""})),
            400,
            "InvalidParameterException",
            name_rule,
        ),
        Case::error(
            "a name too long",
            root,
            ecs("CreateCluster", json!({"clusterName": "c".repeat(256)})),
            400,
            "InvalidParameterException",
            name_rule,
        ),
        Case::error(
            "an unknown setting",
            root,
            ecs("CreateCluster", json!({"clusterName": unique("c"), "settings": [{"name": "speed", "value": "fast"}]})),
            400,
            "InvalidParameterException",
            "1 validation error detected: Value 'speed' at 'settings.1.member.name' failed to satisfy constraint: Member must satisfy enum value set: [containerInsights]",
        ),
        Case::error(
            "an aws: tag",
            root,
            ecs("CreateCluster", json!({"clusterName": unique("c"), "tags": [{"key": "aws:x", "value": "v"}]})),
            400,
            "InvalidParameterException",
            "Tag keys may not start with 'aws:'.",
        ),
        Case::error(
            "delete one nobody made",
            root,
            ecs("DeleteCluster", json!({"cluster": "nobody-made-me"})),
            400,
            "ClusterNotFoundException",
            "Cluster not found.",
        ),
        Case::error(
            "describe too many",
            root,
            ecs("DescribeClusters", json!({"clusters": (0..101).map(|i| format!("c{i}")).collect::<Vec<_>>()})),
            400,
            "InvalidParameterException",
            "clusters can have at most 100 items.",
        ),
        Case::error(
            "list with a page of none",
            root,
            ecs("ListClusters", json!({"maxResults": 0})),
            400,
            "InvalidParameterException",
            "maxResults must be between 1 and 100.",
        ),
        Case::error(
            "list with a token it never gave",
            root,
            ecs("ListClusters", json!({"nextToken": "what"})),
            400,
            "InvalidParameterException",
            "Invalid nextToken.",
        ),
        Case::error(
            "an operation ECS does not have",
            root,
            ecs("CreateUnicorn", json!({})),
            400,
            "UnknownOperationException",
            "",
        ),
    ]);
}

fn a_user_without_permissions_is_refused_every_cluster_operation(server: &TestServer) {
    let nobody = server.nobody();
    let arn = |name: &str| format!("arn:aws:ecs:us-east-1:{}:cluster/{name}", server.account_id);
    let denied =
        |action: &str, resource: &str| format!("is not authorized to perform: ecs:{action} on resource: {resource}");
    server.run(&[
        Case::denied(
            "create",
            nobody,
            ecs("CreateCluster", json!({"clusterName": "k1"})),
            format!("User: {} {}", server.nobody_arn(), denied("CreateCluster", &arn("k1"))),
        ),
        Case::denied(
            "describe",
            nobody,
            ecs("DescribeClusters", json!({"clusters": ["k2"]})),
            denied("DescribeClusters", "*"),
        ),
        Case::denied(
            "delete",
            nobody,
            ecs("DeleteCluster", json!({"cluster": "k3"})),
            denied("DeleteCluster", &arn("k3")),
        ),
        Case::denied("list", nobody, ecs("ListClusters", json!({})), "ecs:ListClusters"),
        Case::denied(
            "update settings",
            nobody,
            ecs(
                "UpdateCluster",
                json!({
                    "cluster": "k4", "settings": [{"name": "containerInsights", "value": "enabled"}],
                }),
            ),
            denied("UpdateCluster", &arn("k4")),
        ),
    ]);
}
