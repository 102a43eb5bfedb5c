//! ECS's tagging operations, in process: TagResource, UntagResource and ListTagsForResource on
//! clusters, services and task definitions, ECS's refusals of ARNs it does not tag, tags on the
//! creating calls, and the tagging authorization ECS applies by default (a create that sets
//! tags needs `ecs:TagResource` too, with `ecs:CreateAction`).

use crate::support::{Case, TestServer, ecs, unique};
use serde_json::json;

crate::support::on_both_stores!(
    resources_are_tagged_listed_and_untagged_by_arn,
    arns_ecs_does_not_tag_are_refused_as_ecs_refuses_them,
    a_tagged_create_needs_tag_resource_unless_the_setting_is_off,
    tagging_is_authorized_on_the_resource_with_its_tags,
    a_resources_tags_are_its_resource_tag_keys
);

fn resources_are_tagged_listed_and_untagged_by_arn(server: &TestServer) {
    let root = &server.root;
    let account = &server.account_id;
    let cluster = unique("tagged-cluster");
    let family = unique("tagged-family");
    let cluster_arn = format!("arn:aws:ecs:us-east-1:{account}:cluster/{cluster}");
    let definition_arn = format!("arn:aws:ecs:us-east-1:{account}:task-definition/{family}:1");
    let service_arn = format!("arn:aws:ecs:us-east-1:{account}:service/{cluster}/api");
    server
        .ecs(root, "CreateCluster", &json!({"clusterName": cluster, "tags": [{"key": "team", "value": "blue"}]}))
        .ok();
    let container = json!([{"name": "web", "image": "nginx", "memory": 64}]);
    server.ecs(root, "RegisterTaskDefinition", &json!({"family": family, "containerDefinitions": container})).ok();
    server
        .ecs(
            root,
            "CreateService",
            &json!({"cluster": cluster, "serviceName": "api", "taskDefinition": family, "desiredCount": 0,
                    "propagateTags": "SERVICE", "enableECSManagedTags": true, "tags": [{"key": "svc", "value": "a"}]}),
        )
        .ok();
    let tag = |arn: &str, key: &str, value: &str| {
        ecs("TagResource", json!({"resourceArn": arn, "tags": [{"key": key, "value": value}]}))
    };
    let list = |arn: &str| ecs("ListTagsForResource", json!({"resourceArn": arn}));
    server.run(&[
        Case::ok("a cluster's tags from its creation", root, list(&cluster_arn))
            .json("/tags", json!([{"key": "team", "value": "blue"}])),
        Case::ok("tag the cluster", root, tag(&cluster_arn, "env", "test")).json("", json!({})),
        Case::ok("tag it again: the value is replaced", root, tag(&cluster_arn, "team", "green")),
        Case::ok("both listed, by key", root, list(&cluster_arn))
            .json("/tags", json!([{"key": "env", "value": "test"}, {"key": "team", "value": "green"}])),
        Case::ok(
            "described with them",
            root,
            ecs("DescribeClusters", json!({"clusters": [cluster], "include": ["TAGS"]})),
        )
        .json_len("/clusters/0/tags", 2),
        Case::ok("keys are case-sensitive", root, tag(&cluster_arn, "Env", "x")),
        Case::ok(
            "untag two, one never set",
            root,
            ecs("UntagResource", json!({"resourceArn": cluster_arn, "tagKeys": ["env", "Env", "missing"]})),
        )
        .json("", json!({})),
        Case::ok("one left", root, list(&cluster_arn)).json("/tags", json!([{"key": "team", "value": "green"}])),
        Case::ok("tag a task definition", root, tag(&definition_arn, "owner", "me")),
        Case::ok("its tags", root, list(&definition_arn)).json("/tags/0/key", "owner"),
        Case::ok(
            "described with them",
            root,
            ecs("DescribeTaskDefinition", json!({"taskDefinition": definition_arn, "include": ["TAGS"]})),
        )
        .json("/tags/0/value", "me"),
        Case::ok("a service's tags from its creation", root, list(&service_arn))
            .json("/tags", json!([{"key": "svc", "value": "a"}])),
        Case::ok(
            "the service keeps how it tags its tasks",
            root,
            ecs("DescribeServices", json!({"cluster": cluster, "services": ["api"]})),
        )
        .json("/services/0/propagateTags", "SERVICE")
        .json("/services/0/enableECSManagedTags", true),
        Case::ok("tag the service", root, tag(&service_arn, "tier", "back")),
        Case::ok("its tags now", root, list(&service_arn)).json_len("/tags", 2),
        Case::error(
            "ECS's own keys are not the caller's to set",
            root,
            tag(&cluster_arn, "aws:ecs:clusterName", "x"),
            400,
            "InvalidParameterException",
            "Tag keys may not start with 'aws:'.",
        ),
        Case::error(
            "nor to remove",
            root,
            ecs("UntagResource", json!({"resourceArn": cluster_arn, "tagKeys": ["aws:ecs:clusterName"]})),
            400,
            "InvalidParameterException",
            "Tag keys may not start with 'aws:'.",
        ),
        Case::error(
            "no tags",
            root,
            ecs("TagResource", json!({"resourceArn": cluster_arn, "tags": []})),
            400,
            "InvalidParameterException",
            "Tags can not be empty.",
        ),
        Case::error(
            "a standalone task has no service to propagate from",
            root,
            ecs("RunTask", json!({"cluster": cluster, "taskDefinition": family, "propagateTags": "SERVICE"})),
            400,
            "InvalidParameterException",
            "Invalid value for propagateTags: SERVICE. Valid values are TASK_DEFINITION and NONE.",
        ),
        Case::ok(
            "from the task definition",
            root,
            ecs(
                "RunTask",
                json!({"cluster": cluster, "taskDefinition": family, "propagateTags": "TASK_DEFINITION",
                                  "enableECSManagedTags": true}),
            ),
        )
        .json("/failures/0/reason", "No Container Instances were found in your cluster."),
        Case::error(
            "a propagation a service does not know",
            root,
            ecs("UpdateService", json!({"cluster": cluster, "service": "api", "propagateTags": "CLUSTER"})),
            400,
            "InvalidParameterException",
            "Value 'CLUSTER' at 'propagateTags' failed to satisfy constraint: Member must satisfy enum value set",
        ),
    ]);
    // Fifty tags at most on a resource, counting those it has.
    let many: Vec<_> = (0..49).map(|n| json!({"key": format!("k{n}"), "value": "v"})).collect();
    server.ecs(root, "TagResource", &json!({"resourceArn": cluster_arn, "tags": many})).ok();
    server.run(&[
        Case::ok("fifty", root, list(&cluster_arn)).json_len("/tags", 50),
        Case::ok("a key it has is no more", root, tag(&cluster_arn, "k0", "w")),
        Case::error(
            "fifty-one",
            root,
            tag(&cluster_arn, "one-more", "v"),
            400,
            "InvalidParameterException",
            "The maximum number of tags on a resource is 50.",
        ),
    ]);
    server.ecs(root, "DeleteService", &json!({"cluster": cluster, "service": "api", "force": true})).ok();
}

fn arns_ecs_does_not_tag_are_refused_as_ecs_refuses_them(server: &TestServer) {
    let root = &server.root;
    let account = &server.account_id;
    let cluster = unique("gone-cluster");
    server.ecs(root, "CreateCluster", &json!({"clusterName": cluster})).ok();
    server.ecs(root, "DeleteCluster", &json!({"cluster": cluster})).ok();
    let arn = |resource: &str| format!("arn:aws:ecs:us-east-1:{account}:{resource}");
    let tag = |arn: String| ecs("TagResource", json!({"resourceArn": arn, "tags": [{"key": "k", "value": "v"}]}));
    let list = |arn: String| ecs("ListTagsForResource", json!({"resourceArn": arn}));
    server.run(&[
        Case::error(
            "not an ARN",
            root,
            list("web".to_owned()),
            400,
            "InvalidParameterException",
            "The ARN provided is invalid.",
        ),
        Case::error(
            "another service's ARN",
            root,
            list(format!("arn:aws:ecr:us-east-1:{account}:repository/web")),
            400,
            "InvalidParameterException",
            "The ARN provided is invalid.",
        ),
        Case::error(
            "a type ECS does not have",
            root,
            list(arn("widget/x")),
            400,
            "InvalidParameterException",
            "The ARN provided is invalid.",
        ),
        Case::error(
            "a service ARN in the short format",
            root,
            tag(arn("service/api")),
            400,
            "InvalidParameterException",
            "Long arn format must be used for tagging operations",
        ),
        Case::error(
            "a cluster nobody made",
            root,
            tag(arn("cluster/nobody-made-me")),
            400,
            "ClusterNotFoundException",
            "Cluster not found.",
        ),
        Case::error(
            "a deleted cluster",
            root,
            tag(arn(&format!("cluster/{cluster}"))),
            400,
            "InvalidParameterException",
            "The specified cluster is inactive. Specify an active cluster and try again.",
        ),
        Case::ok("whose tags still read", root, list(arn(&format!("cluster/{cluster}")))).json_len("/tags", 0),
        Case::error(
            "a task nobody ran",
            root,
            tag(arn(&format!("task/{cluster}/0123456789abcdef"))),
            400,
            "ResourceNotFoundException",
            "The specified resource could not be found.",
        ),
        Case::error(
            "a capacity provider (Homeport makes none)",
            root,
            list(arn("capacity-provider/mine")),
            400,
            "ResourceNotFoundException",
            "The specified resource could not be found.",
        ),
        Case::error(
            "another region's cluster",
            root,
            list(format!("arn:aws:ecs:eu-west-3:{account}:cluster/{cluster}")),
            400,
            "ClusterNotFoundException",
            "Cluster not found.",
        ),
    ]);
}

fn a_tagged_create_needs_tag_resource_unless_the_setting_is_off(server: &TestServer) {
    let name = unique("tag-on-create");
    let policy = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecs:CreateCluster", "ecs:PutAccountSetting"], "Resource": "*"}]}"#;
    let key = server.user_with_policy(&name, Some(policy));
    let create = |tagged: bool| {
        let mut body = json!({"clusterName": unique("toc")});
        if tagged {
            body["tags"] = json!([{"key": "team", "value": "blue"}]);
        }
        ecs("CreateCluster", body)
    };
    let cluster_arn = format!("arn:aws:ecs:us-east-1:{}:cluster/", server.account_id);
    server.run(&[
        Case::ok("untagged needs only CreateCluster", &key, create(false)),
        Case::denied(
            "tagged needs TagResource too",
            &key,
            create(true),
            "is not authorized to perform: ecs:TagResource",
        )
        .contains(cluster_arn.as_str()),
        Case::ok(
            "the caller turns it off for itself",
            &key,
            ecs("PutAccountSetting", json!({"name": "tagResourceAuthorization", "value": "off"})),
        )
        .json("/setting/principalArn", server.user_arn(&name)),
        Case::ok("tagged with CreateCluster alone", &key, create(true)),
    ]);
    // With TagResource allowed where the create is CreateCluster (`ecs:CreateAction`).
    let conditioned = unique("tag-on-create-allowed");
    let policy = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecs:CreateCluster", "Resource": "*"},
        {"Effect": "Allow", "Action": "ecs:TagResource", "Resource": "*",
         "Condition": {"StringEquals": {"ecs:CreateAction": "CreateCluster", "aws:RequestTag/team": "blue"}}}]}"#;
    let key = server.user_with_policy(&conditioned, Some(policy));
    server.run(&[
        Case::ok("tagged as the condition says", &key, create(true)),
        Case::denied(
            "tagged otherwise",
            &key,
            ecs("CreateCluster", json!({"clusterName": unique("toc"), "tags": [{"key": "team", "value": "red"}]})),
            "is not authorized to perform: ecs:TagResource",
        ),
        Case::denied(
            "TagResource itself is no create",
            &key,
            ecs(
                "TagResource",
                json!({"resourceArn": format!("{cluster_arn}x"), "tags": [{"key": "team", "value": "blue"}]}),
            ),
            "is not authorized to perform: ecs:TagResource",
        ),
    ]);
}

fn tagging_is_authorized_on_the_resource_with_its_tags(server: &TestServer) {
    let root = &server.root;
    let cluster = unique("guarded-tags");
    let other = unique("other-tags");
    let arn = |name: &str| format!("arn:aws:ecs:us-east-1:{}:cluster/{name}", server.account_id);
    for name in [&cluster, &other] {
        server.ecs(root, "CreateCluster", &json!({"clusterName": name})).ok();
    }
    let policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [
            {{"Effect": "Allow", "Action": ["ecs:TagResource", "ecs:UntagResource", "ecs:ListTagsForResource"],
              "Resource": "{}"}},
            {{"Effect": "Deny", "Action": ["ecs:TagResource", "ecs:UntagResource"], "Resource": "*",
              "Condition": {{"ForAnyValue:StringEquals": {{"aws:TagKeys": ["owner"]}}}}}}]}}"#,
        arn(&cluster)
    );
    let key = server.user_with_policy(&unique("tagger"), Some(&policy));
    let tag = |name: &str, key: &str| {
        ecs("TagResource", json!({"resourceArn": arn(name), "tags": [{"key": key, "value": "v"}]}))
    };
    server.run(&[
        Case::ok("its cluster", &key, tag(&cluster, "env")),
        Case::denied("another cluster", &key, tag(&other, "env"), "ecs:TagResource"),
        Case::denied("a denied key", &key, tag(&cluster, "owner"), "ecs:TagResource"),
        Case::denied(
            "nor removed",
            &key,
            ecs("UntagResource", json!({"resourceArn": arn(&cluster), "tagKeys": ["owner"]})),
            "ecs:UntagResource",
        ),
        Case::ok("listed", &key, ecs("ListTagsForResource", json!({"resourceArn": arn(&cluster)})))
            .json("/tags/0/key", "env"),
        Case::denied(
            "nobody",
            server.nobody(),
            ecs("ListTagsForResource", json!({"resourceArn": arn(&cluster)})),
            "ecs:ListTagsForResource",
        ),
    ]);
}

fn a_resources_tags_are_its_resource_tag_keys(server: &TestServer) {
    let root = &server.root;
    let (blue, red) = (unique("blue-team"), unique("red-team"));
    for (name, team) in [(&blue, "blue"), (&red, "red")] {
        server.ecs(root, "CreateCluster", &json!({"clusterName": name, "tags": [{"key": "team", "value": team}]})).ok();
    }
    let policy = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecs:DeleteCluster", "ecs:UpdateCluster"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}}},
        {"Effect": "Allow", "Action": "ecs:ListTagsForResource", "Resource": "*",
         "Condition": {"StringEquals": {"ecs:ResourceTag/team": "blue"}}}]}"#;
    let key = server.user_with_policy(&unique("blue-operator"), Some(policy));
    let arn = |name: &str| format!("arn:aws:ecs:us-east-1:{}:cluster/{name}", server.account_id);
    let settings = json!([{"name": "containerInsights", "value": "enabled"}]);
    server.run(&[
        Case::ok("its team's cluster", &key, ecs("UpdateCluster", json!({"cluster": blue, "settings": settings}))),
        Case::denied(
            "another team's",
            &key,
            ecs("UpdateCluster", json!({"cluster": red, "settings": settings})),
            "ecs:UpdateCluster",
        ),
        Case::ok("ecs:ResourceTag too", &key, ecs("ListTagsForResource", json!({"resourceArn": arn(&blue)}))),
        Case::denied(
            "not another's",
            &key,
            ecs("ListTagsForResource", json!({"resourceArn": arn(&red)})),
            "ecs:ListTagsForResource",
        ),
        // Retagged, the cluster is no longer the team's.
        Case::ok(
            "retag",
            root,
            ecs(
                "TagResource",
                json!({"resourceArn": arn(&blue),
                                                            "tags": [{"key": "team", "value": "red"}]}),
            ),
        ),
        Case::denied("then refused", &key, ecs("DeleteCluster", json!({"cluster": blue})), "ecs:DeleteCluster"),
    ]);
}
