//! ECS's capacity providers and the operations of ECS's own agent, in process: ECS's reserved
//! `FARGATE` and `FARGATE_SPOT` described and associated with a cluster, a provider of an
//! Auto Scaling group refused as ECS refuses a group that does not exist (Homeport has none),
//! UpdateClusterSettings, and what ECS answers for ECS Exec, agent updates and Service
//! Connect namespaces on external instances.

use crate::support::{Case, TestServer, ecs, unique};
use serde_json::json;

crate::support::on_both_stores!(
    reserved_providers_are_described_and_associated_and_no_other_is_made,
    what_an_external_fleet_cannot_do_is_refused_as_ecs_refuses_it,
    capacity_provider_operations_need_their_permissions
);

fn reserved_providers_are_described_and_associated_and_no_other_is_made(server: &TestServer) {
    let root = &server.root;
    let account = &server.account_id;
    let cluster = unique("capacity");
    let fargate = format!("arn:aws:ecs:us-east-1:{account}:capacity-provider/FARGATE");
    server.ecs(root, "CreateCluster", &json!({"clusterName": cluster})).ok();
    let group = format!("arn:aws:autoscaling:us-east-1:{account}:autoScalingGroup:1-2:autoScalingGroupName/asg");
    let put = |providers: serde_json::Value, strategy: serde_json::Value| {
        ecs(
            "PutClusterCapacityProviders",
            json!({"cluster": cluster, "capacityProviders": providers, "defaultCapacityProviderStrategy": strategy}),
        )
    };
    server.run(&[
        Case::ok("the account's", root, ecs("DescribeCapacityProviders", json!({})))
            .json("/capacityProviders/0", json!({"capacityProviderArn": fargate, "name": "FARGATE", "status": "ACTIVE",
                                                  "type": "FARGATE", "tags": []}))
            .json("/capacityProviders/1/name", "FARGATE_SPOT")
            .json_len("/capacityProviders", 2),
        Case::ok("one a page", root, ecs("DescribeCapacityProviders", json!({"maxResults": 1})))
            .json_len("/capacityProviders", 1)
            .json("/nextToken", "1"),
        Case::ok("by name and ARN, one missing", root,
            ecs("DescribeCapacityProviders", json!({"capacityProviders": [fargate, "FARGATE_SPOT", "mine"]})))
            .json_len("/capacityProviders", 2)
            .json("/failures/0", json!({"arn": format!("arn:aws:ecs:us-east-1:{account}:capacity-provider/mine"),
                                        "reason": "MISSING"})),
        Case::error("a provider of a group Homeport does not have", root,
            ecs("CreateCapacityProvider", json!({"name": "ondemand",
                                                 "autoScalingGroupProvider": {"autoScalingGroupArn": group}})),
            400, "ClientException", "The specified Auto Scaling group ARN is invalid or does not exist"),
        Case::error("nor of nothing", root, ecs("CreateCapacityProvider", json!({"name": "ondemand"})), 400,
            "InvalidParameterException", "autoScalingGroupProvider or managedInstancesProvider must be specified."),
        Case::error("a reserved prefix", root, ecs("CreateCapacityProvider", json!({"name": "FargateMine"})), 400,
            "ClientException", "can't be prefixed with 'aws', 'ecs', or 'fargate'"),
        Case::error("Managed Instances", root,
            ecs("CreateCapacityProvider", json!({"name": "managed", "managedInstancesProvider": {
                "infrastructureRoleArn": "arn:aws:iam::111122223333:role/r",
                "instanceLaunchTemplate": {"ec2InstanceProfileArn": "arn:aws:iam::111122223333:instance-profile/p",
                    "networkConfiguration": {"subnets": ["subnet-1"]}}}})), 400,
            "UnsupportedFeatureException", "ECS Managed Instances"),
        Case::error("FARGATE is not updated", root, ecs("UpdateCapacityProvider", json!({"name": "FARGATE"})), 400,
            "ClientException", "The FARGATE capacity provider is reserved and can't be updated."),
        Case::error("nor deleted", root, ecs("DeleteCapacityProvider", json!({"capacityProvider": fargate})), 400,
            "ClientException", "The FARGATE capacity provider is reserved and can't be deleted."),
        Case::error("one nobody made", root, ecs("DeleteCapacityProvider", json!({"capacityProvider": "mine"})), 400,
            "ClientException", "The specified capacity provider does not exist: mine."),
        Case::ok("associate both", root, put(json!(["FARGATE", fargate, "FARGATE_SPOT"]), json!([])))
            .json("/cluster/capacityProviders", json!(["FARGATE", "FARGATE_SPOT"]))
            .json("/cluster/defaultCapacityProviderStrategy", json!([])),
        Case::ok("described", root, ecs("DescribeClusters", json!({"clusters": [cluster]})))
            .json("/clusters/0/capacityProviders", json!(["FARGATE", "FARGATE_SPOT"])),
        Case::error("a provider nobody made", root, put(json!(["mine"]), json!([])), 400, "InvalidParameterException",
            "The specified capacity provider mine does not exist."),
        Case::error("a default strategy would launch on Fargate", root,
            put(json!(["FARGATE"]), json!([{"capacityProvider": "FARGATE", "weight": 1}])), 400,
            "InvalidParameterException",
            "Homeport does not support the PutClusterCapacityProviders parameter 'defaultCapacityProviderStrategy' yet."),
        Case::ok("none", root, put(json!([]), json!([]))).json("/cluster/capacityProviders", json!([])),
        Case::ok("at creation", root,
            ecs("CreateCluster", json!({"clusterName": unique("capacity"), "capacityProviders": ["FARGATE_SPOT"]})))
            .json("/cluster/capacityProviders", json!(["FARGATE_SPOT"])),
        Case::ok("settings", root, ecs("UpdateClusterSettings",
            json!({"cluster": cluster, "settings": [{"name": "containerInsights", "value": "enhanced"}]})))
            .json("/cluster/settings/0/value", "enhanced"),
        Case::error("ECS Exec's configuration", root,
            ecs("UpdateCluster", json!({"cluster": cluster,
                "configuration": {"executeCommandConfiguration": {"logging": "DEFAULT"}}})), 400,
            "InvalidParameterException", "Homeport does not support the UpdateCluster parameter 'configuration' yet."),
    ]);
}

fn what_an_external_fleet_cannot_do_is_refused_as_ecs_refuses_it(server: &TestServer) {
    let root = &server.root;
    let cluster = unique("external");
    server.ecs(root, "CreateCluster", &json!({"clusterName": cluster})).ok();
    let task = "0123456789abcdef0123456789abcdef";
    server.run(&[
        Case::error(
            "exec into a task nobody ran",
            root,
            ecs("ExecuteCommand", json!({"cluster": cluster, "task": task, "command": "sh", "interactive": true})),
            400,
            "InvalidParameterException",
            "The referenced task was not found.",
        ),
        Case::error(
            "update the agent of an instance nobody registered",
            root,
            ecs("UpdateContainerAgent", json!({"cluster": cluster, "containerInstance": task})),
            400,
            "InvalidParameterException",
            "was not found.",
        ),
        Case::ok(
            "protect a task nobody ran",
            root,
            ecs("UpdateTaskProtection", json!({"cluster": cluster, "tasks": [task], "protectionEnabled": true})),
        )
        .json_len("/protectedTasks", 0)
        .json("/failures/0/reason", "MISSING"),
        Case::ok("its protection", root, ecs("GetTaskProtection", json!({"cluster": cluster, "tasks": [task]})))
            .json("/failures/0/arn", format!("arn:aws:ecs:us-east-1:{}:task/{cluster}/{task}", server.account_id)),
        Case::error(
            "for three days",
            root,
            ecs(
                "UpdateTaskProtection",
                json!({"cluster": cluster, "tasks": [task], "protectionEnabled": true,
                                               "expiresInMinutes": 4320}),
            ),
            400,
            "InvalidParameterException",
            "expiresInMinutes must be between 1 and 2880.",
        ),
        Case::error(
            "no task",
            root,
            ecs("GetTaskProtection", json!({"cluster": cluster, "tasks": []})),
            400,
            "InvalidParameterException",
            "tasks must have between 1 and 10 items.",
        ),
        Case::error(
            "a namespace",
            root,
            ecs("ListServicesByNamespace", json!({"namespace": "local"})),
            400,
            "NamespaceNotFoundException",
            "The namespace local was not found.",
        ),
        Case::denied(
            "the agent's own call, by root",
            root,
            ecs("DiscoverPollEndpoint", json!({"cluster": cluster})),
            "ecs:DiscoverPollEndpoint",
        ),
    ]);
}

fn capacity_provider_operations_need_their_permissions(server: &TestServer) {
    let nobody = server.nobody();
    let arn = format!("arn:aws:ecs:us-east-1:{}:capacity-provider/FARGATE", server.account_id);
    server.run(&[
        Case::denied(
            "describe",
            nobody,
            ecs("DescribeCapacityProviders", json!({})),
            "ecs:DescribeCapacityProviders on resource: *",
        ),
        Case::denied(
            "delete",
            nobody,
            ecs("DeleteCapacityProvider", json!({"capacityProvider": "FARGATE"})),
            format!("ecs:DeleteCapacityProvider on resource: {arn}"),
        ),
        Case::denied(
            "exec",
            nobody,
            ecs("ExecuteCommand", json!({"task": "t", "command": "sh", "interactive": true})),
            "ecs:ExecuteCommand",
        ),
        Case::denied(
            "protect",
            nobody,
            ecs("UpdateTaskProtection", json!({"cluster": "c", "tasks": ["t"], "protectionEnabled": true})),
            "ecs:UpdateTaskProtection",
        ),
    ]);
}
