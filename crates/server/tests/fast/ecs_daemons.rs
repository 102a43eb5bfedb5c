//! ECS daemon task definitions, daemons and Express services, in process: daemon task
//! definitions registered, described, listed, tagged and deleted; daemons refused at their
//! capacity providers (an external fleet has no ECS Managed Instances provider) and found
//! nowhere; Express services refused (no Fargate, no load balancers) and found nowhere; and
//! authorization on the stored revision's ARN.

use crate::support::{Case, TestServer, ecs, unique};
use serde_json::{Value, json};

crate::support::on_both_stores!(
    daemon_task_definitions_are_registered_described_listed_and_deleted,
    bad_daemon_task_definitions_are_refused_with_ecss_messages,
    daemons_are_refused_at_their_capacity_providers_and_found_nowhere,
    express_services_are_refused_and_found_nowhere,
    daemon_operations_are_authorized_on_the_stored_revision
);

fn probe(family: &str) -> Value {
    json!({"family": family, "containerDefinitions": [{"name": "probe", "image": "busybox", "memory": 32}]})
}

fn daemon_task_definitions_are_registered_described_listed_and_deleted(server: &TestServer) {
    let root = &server.root;
    // `agent7-daemon`: its prefix `agent7-` is no other test's family's (`agent70-...` is not).
    let stem = format!("{}-", unique("agent"));
    let family = format!("{stem}daemon");
    let arn = |revision: u32| {
        format!("arn:aws:ecs:us-east-1:{}:daemon-task-definition/{family}:{revision}", server.account_id)
    };
    let second = json!({
        "family": family, "cpu": "256", "memory": "128",
        "volumes": [{"name": "logs", "host": {"sourcePath": "/var/log"}}],
        "containerDefinitions": [
            {"name": "shipper", "image": "fluent-bit", "mountPoints": [{"sourceVolume": "logs", "containerPath": "/logs"}],
             "logConfiguration": {"logDriver": "splunk", "options": {"splunk-url": "https://splunk.example.com"}},
             "dependsOn": [{"containerName": "init", "condition": "COMPLETE"}]},
            {"name": "init", "image": "busybox", "essential": false, "restartPolicy": {"enabled": true}},
        ],
        "tags": [{"key": "team", "value": "ops"}],
    });
    server.run(&[
        Case::ok("register", root, ecs("RegisterDaemonTaskDefinition", probe(&family)))
            .json("/daemonTaskDefinitionArn", arn(1)),
        Case::ok("a second revision", root, ecs("RegisterDaemonTaskDefinition", second))
            .json("/daemonTaskDefinitionArn", arn(2)),
        Case::ok(
            "the family names the latest",
            root,
            ecs("DescribeDaemonTaskDefinition", json!({"daemonTaskDefinition": family})),
        )
        .json("/daemonTaskDefinition/daemonTaskDefinitionArn", arn(2))
        .json("/daemonTaskDefinition/revision", 2)
        .json("/daemonTaskDefinition/status", "ACTIVE")
        .json("/daemonTaskDefinition/cpu", "256")
        .json("/daemonTaskDefinition/volumes/0/host/sourcePath", "/var/log")
        .json("/daemonTaskDefinition/containerDefinitions/0/essential", true)
        .json("/daemonTaskDefinition/containerDefinitions/1/essential", false)
        .json("/daemonTaskDefinition/containerDefinitions/0/logConfiguration/logDriver", "splunk")
        .json("/daemonTaskDefinition/registeredBy", format!("arn:aws:iam::{}:root", server.account_id)),
        Case::ok(
            "a revision by number",
            root,
            ecs("DescribeDaemonTaskDefinition", json!({"daemonTaskDefinition": format!("{family}:1")})),
        )
        .json("/daemonTaskDefinition/containerDefinitions/0/cpu", 0)
        .json("/daemonTaskDefinition/containerDefinitions/0/mountPoints", json!([])),
        Case::ok("by ARN", root, ecs("DescribeDaemonTaskDefinition", json!({"daemonTaskDefinition": arn(1)})))
            .json("/daemonTaskDefinition/revision", 1),
        Case::ok("its tags", root, ecs("ListTagsForResource", json!({"resourceArn": arn(2)})))
            .json("/tags", json!([{"key": "team", "value": "ops"}])),
        Case::ok("listed by family", root, ecs("ListDaemonTaskDefinitions", json!({"family": family})))
            .json("/daemonTaskDefinitions/0/arn", arn(1))
            .json("/daemonTaskDefinitions/1/arn", arn(2))
            .json("/daemonTaskDefinitions/1/status", "ACTIVE")
            .json_len("/daemonTaskDefinitions", 2),
        Case::ok(
            "by a prefix, newest first",
            root,
            ecs("ListDaemonTaskDefinitions", json!({"familyPrefix": stem, "sort": "DESC"})),
        )
        .json("/daemonTaskDefinitions/0/arn", arn(2)),
        Case::ok(
            "only the last registered",
            root,
            ecs("ListDaemonTaskDefinitions", json!({"family": family, "revision": "LAST_REGISTERED"})),
        )
        .json("/daemonTaskDefinitions/0/arn", arn(2))
        .json_len("/daemonTaskDefinitions", 1),
        Case::ok("one a page", root, ecs("ListDaemonTaskDefinitions", json!({"family": family, "maxResults": 1})))
            .json_len("/daemonTaskDefinitions", 1)
            .json("/nextToken", "1"),
        Case::ok(
            "the next page",
            root,
            ecs("ListDaemonTaskDefinitions", json!({"family": family, "maxResults": 1, "nextToken": "1"})),
        )
        .json("/daemonTaskDefinitions/0/arn", arn(2)),
        Case::error(
            "a family and a prefix",
            root,
            ecs("ListDaemonTaskDefinitions", json!({"family": family, "familyPrefix": "a"})),
            400,
            "InvalidParameterException",
            "family and familyPrefix can not be specified together.",
        ),
        Case::error(
            "a status of task definitions",
            root,
            ecs("ListDaemonTaskDefinitions", json!({"status": "INACTIVE"})),
            400,
            "InvalidParameterException",
            "Member must satisfy enum value set: [ACTIVE, DELETE_IN_PROGRESS, ALL]",
        ),
        Case::error(
            "delete without a revision",
            root,
            ecs("DeleteDaemonTaskDefinition", json!({"daemonTaskDefinition": family})),
            400,
            "ClientException",
            "The specified daemon task definition identifier is invalid. Specify a valid revision.",
        ),
        Case::ok("delete 2", root, ecs("DeleteDaemonTaskDefinition", json!({"daemonTaskDefinition": arn(2)})))
            .json("/daemonTaskDefinitionArn", arn(2)),
        Case::error(
            "delete 2 again",
            root,
            ecs("DeleteDaemonTaskDefinition", json!({"daemonTaskDefinition": format!("{family}:2")})),
            400,
            "ClientException",
            "is not in ACTIVE status",
        ),
        Case::ok(
            "2 is being deleted",
            root,
            ecs("DescribeDaemonTaskDefinition", json!({"daemonTaskDefinition": format!("{family}:2")})),
        )
        .json("/daemonTaskDefinition/status", "DELETE_IN_PROGRESS")
        .contains("deleteRequestedAt"),
        Case::ok(
            "the family names 1 now",
            root,
            ecs("DescribeDaemonTaskDefinition", json!({"daemonTaskDefinition": family})),
        )
        .json("/daemonTaskDefinition/revision", 1),
        Case::ok("only 1 is active", root, ecs("ListDaemonTaskDefinitions", json!({"family": family})))
            .json("/daemonTaskDefinitions/0/arn", arn(1))
            .json_len("/daemonTaskDefinitions", 1),
        Case::ok(
            "2 is listed being deleted",
            root,
            ecs("ListDaemonTaskDefinitions", json!({"family": family, "status": "DELETE_IN_PROGRESS"})),
        )
        .json("/daemonTaskDefinitions/0/arn", arn(2))
        .contains("deleteRequestedAt")
        .json_len("/daemonTaskDefinitions", 1),
        Case::ok("all of them", root, ecs("ListDaemonTaskDefinitions", json!({"family": family, "status": "ALL"})))
            .json_len("/daemonTaskDefinitions", 2),
        Case::ok("revisions are never reused", root, ecs("RegisterDaemonTaskDefinition", probe(&family)))
            .json("/daemonTaskDefinitionArn", arn(3)),
        Case::error(
            "a revision nobody registered",
            root,
            ecs("DescribeDaemonTaskDefinition", json!({"daemonTaskDefinition": format!("{family}:9")})),
            400,
            "ClientException",
            "Unable to describe daemon task definition.",
        ),
        Case::error(
            "another region's ARN names nothing here",
            root,
            ecs(
                "DescribeDaemonTaskDefinition",
                json!({"daemonTaskDefinition": arn(1).replace(":us-east-1:", ":eu-west-3:")}),
            ),
            400,
            "ClientException",
            "Unable to describe daemon task definition.",
        ),
        Case::ok(
            "a task definition family of the same name is another registry",
            root,
            ecs("ListTaskDefinitions", json!({"familyPrefix": family})),
        )
        .json_len("/taskDefinitionArns", 0),
    ]);
}

fn bad_daemon_task_definitions_are_refused_with_ecss_messages(server: &TestServer) {
    let root = &server.root;
    let register = |body: Value| ecs("RegisterDaemonTaskDefinition", body);
    let with = |container: Value| json!({"family": unique("bad"), "containerDefinitions": [container]});
    server.run(&[
        Case::error(
            "no family",
            root,
            register(json!({"containerDefinitions": []})),
            400,
            "InvalidParameterException",
            "Value null at 'family' failed to satisfy constraint: Member must not be null",
        ),
        Case::error(
            "a family ECS does not take",
            root,
            register(probe("web server")),
            400,
            "ClientException",
            "Family must be between 1 and 255 characters",
        ),
        Case::error(
            "no containers",
            root,
            register(json!({"family": unique("bad"), "containerDefinitions": []})),
            400,
            "ClientException",
            "Container list cannot be empty.",
        ),
        Case::error(
            "no image",
            root,
            register(json!({"family": unique("bad"), "containerDefinitions": [{"name": "x", "memory": 8}]})),
            400,
            "InvalidParameterException",
            "Value null at 'containerDefinitions.1.member.image'",
        ),
        Case::error(
            "no memory",
            root,
            register(with(json!({"name": "x", "image": "busybox"}))),
            400,
            "ClientException",
            "At least one of 'memory' or 'memoryReservation' must be specified.",
        ),
        Case::error(
            "a reservation over the limit",
            root,
            register(with(json!({"name": "x", "image": "busybox", "memory": 8, "memoryReservation": 16}))),
            400,
            "ClientException",
            "'memory' must be greater than or equal to 'memoryReservation'.",
        ),
        Case::error(
            "no essential container",
            root,
            register(with(json!({"name": "x", "image": "busybox", "memory": 8, "essential": false}))),
            400,
            "ClientException",
            "Task definition must have at least one essential container.",
        ),
        Case::error(
            "duplicate names",
            root,
            register(json!({"family": unique("bad"), "containerDefinitions": [
                {"name": "x", "image": "busybox", "memory": 8}, {"name": "x", "image": "busybox", "memory": 8}]})),
            400,
            "ClientException",
            "Duplicate container name 'x'",
        ),
        Case::error(
            "an unknown volume",
            root,
            register(with(json!({"name": "x", "image": "busybox", "memory": 8,
                                 "mountPoints": [{"sourceVolume": "nope", "containerPath": "/data"}]}))),
            400,
            "ClientException",
            "Unknown volume 'nope'.",
        ),
        Case::error(
            "a relative host path",
            root,
            register(json!({"family": unique("bad"),
                "volumes": [{"name": "v", "host": {"sourcePath": "var/log"}}],
                "containerDefinitions": [{"name": "x", "image": "busybox", "memory": 8}]})),
            400,
            "ClientException",
            "it must be absolute",
        ),
        Case::error(
            "a dependency on no container",
            root,
            register(with(json!({"name": "x", "image": "busybox", "memory": 8,
                                 "dependsOn": [{"containerName": "y", "condition": "START"}]}))),
            400,
            "ClientException",
            "Container dependency on 'y'",
        ),
        Case::error(
            "a capability Linux does not have",
            root,
            register(with(json!({"name": "x", "image": "busybox", "memory": 8,
                                 "linuxParameters": {"capabilities": {"add": ["FLY"]}}}))),
            400,
            "ClientException",
            "'FLY' is not a valid Linux capability.",
        ),
        Case::error(
            "a log driver outside the model",
            root,
            register(with(
                json!({"name": "x", "image": "busybox", "memory": 8, "logConfiguration": {"logDriver": "none"}}),
            )),
            400,
            "InvalidParameterException",
            "logConfiguration.logDriver",
        ),
        Case::error(
            "an aws: tag",
            root,
            register(json!({"family": unique("bad"), "tags": [{"key": "aws:x", "value": "y"}],
                "containerDefinitions": [{"name": "x", "image": "busybox", "memory": 8}]})),
            400,
            "InvalidParameterException",
            "Tag keys may not start with 'aws:'.",
        ),
        Case::error(
            "a task role that does not exist",
            root,
            register(json!({"family": unique("bad"),
                "taskRoleArn": format!("arn:aws:iam::{}:role/missing", server.account_id),
                "containerDefinitions": [{"name": "x", "image": "busybox", "memory": 8}]})),
            400,
            "ClientException",
            "ECS was unable to assume the role",
        ),
    ]);
}

fn daemons_are_refused_at_their_capacity_providers_and_found_nowhere(server: &TestServer) {
    let root = &server.root;
    let account = &server.account_id;
    let cluster = unique("fleet");
    let family = unique("agent");
    server.ecs(root, "CreateCluster", &json!({"clusterName": cluster})).ok();
    server.ecs(root, "RegisterDaemonTaskDefinition", &probe(&family)).ok();
    let daemon = format!("arn:aws:ecs:us-east-1:{account}:daemon/{cluster}/probe");
    let create = |providers: Value, cluster: &str, definition: &str| {
        ecs(
            "CreateDaemon",
            json!({"daemonName": "probe", "clusterArn": cluster,
            "daemonTaskDefinitionArn": definition, "capacityProviderArns": providers}),
        )
    };
    let fargate = format!("arn:aws:ecs:us-east-1:{account}:capacity-provider/FARGATE");
    server.run(&[
        Case::error("a reserved provider is no Managed Instances one", root,
            create(json!([fargate]), &cluster, &family),
            400, "InvalidParameterException",
            "The capacity provider FARGATE is not an Amazon ECS Managed Instances capacity provider. ECS Managed Daemons is only supported for Amazon ECS Managed Instances Capacity Providers."),
        Case::error("any other provider does not exist", root, create(json!(["managed"]), &cluster, &family),
            400, "InvalidParameterException", "The specified capacity provider managed does not exist."),
        Case::error("no provider", root, create(json!([]), &cluster, &family),
            400, "InvalidParameterException", "capacityProviderArns can not be empty."),
        Case::error("no such cluster", root, create(json!(["FARGATE"]), &unique("gone"), &family),
            400, "ClusterNotFoundException", "Cluster not found."),
        Case::error("no such daemon task definition", root, create(json!(["FARGATE"]), &cluster, &unique("gone")),
            400, "ClientException", "Unable to describe daemon task definition."),
        Case::error("a name ECS does not take", root,
            ecs("CreateDaemon", json!({"daemonName": "a probe", "clusterArn": cluster,
                "daemonTaskDefinitionArn": family, "capacityProviderArns": ["FARGATE"]})),
            400, "InvalidParameterException", "Daemon name can have up to 255 letters"),
        Case::error("describe", root, ecs("DescribeDaemon", json!({"daemonArn": daemon})),
            400, "DaemonNotFoundException", "The specified daemon does not exist."),
        Case::error("update", root, ecs("UpdateDaemon", json!({"daemonArn": daemon,
                "daemonTaskDefinitionArn": family, "capacityProviderArns": ["FARGATE"]})),
            400, "DaemonNotFoundException", "The specified daemon does not exist."),
        Case::error("delete", root, ecs("DeleteDaemon", json!({"daemonArn": daemon})),
            400, "DaemonNotFoundException", "The specified daemon does not exist."),
        Case::error("a daemon of no cluster", root,
            ecs("DescribeDaemon", json!({"daemonArn": daemon.replace(&cluster, "gone-cluster")})),
            400, "ClusterNotFoundException", "Cluster not found."),
        Case::error("not a daemon ARN", root, ecs("DeleteDaemon", json!({"daemonArn": "probe"})),
            400, "InvalidParameterException", "Invalid daemon ARN: probe."),
        Case::ok("no daemons", root, ecs("ListDaemons", json!({})))
            .json("/daemonSummariesList", json!([])),
        Case::ok("none in the cluster", root, ecs("ListDaemons", json!({"clusterArn": cluster, "maxResults": 5})))
            .json("/daemonSummariesList", json!([])),
        Case::error("none in no cluster", root, ecs("ListDaemons", json!({"clusterArn": unique("gone")})),
            400, "ClusterNotFoundException", "Cluster not found."),
        Case::error("a page size ECS does not take", root, ecs("ListDaemons", json!({"maxResults": 101})),
            400, "InvalidParameterException", "maxResults must be between 1 and 100."),
        Case::error("a token never handed out", root, ecs("ListDaemons", json!({"nextToken": "1"})),
            400, "InvalidParameterException", "Invalid nextToken."),
        Case::ok("no deployments", root, ecs("ListDaemonDeployments", json!({"daemonArn": daemon, "status": ["PENDING"]})))
            .json("/daemonDeployments", json!([])),
        Case::ok("each deployment missing", root, ecs("DescribeDaemonDeployments",
                json!({"daemonDeploymentArns": [format!("{daemon}/1"), "x"]})))
            .json("/daemonDeployments", json!([]))
            .json("/failures/0", json!({"arn": format!("{daemon}/1"), "reason": "MISSING"}))
            .json_len("/failures", 2),
        Case::ok("each revision missing", root, ecs("DescribeDaemonRevisions", json!({"daemonRevisionArns": ["r"]})))
            .json("/daemonRevisions", json!([]))
            .json("/failures/0/reason", "MISSING"),
        Case::error("no revision named", root, ecs("DescribeDaemonRevisions", json!({"daemonRevisionArns": []})),
            400, "InvalidParameterException", "daemonRevisionArns must have between 1 and 20 items."),
    ]);
}

fn express_services_are_refused_and_found_nowhere(server: &TestServer) {
    let root = &server.root;
    let account = &server.account_id;
    let cluster = unique("fleet");
    server.ecs(root, "CreateCluster", &json!({"clusterName": cluster})).ok();
    let family = unique("web");
    server
        .ecs(
            root,
            "RegisterTaskDefinition",
            &json!({"family": family,
            "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 64}]}),
        )
        .ok();
    server
        .ecs(
            root,
            "CreateService",
            &json!({"cluster": cluster, "serviceName": "site", "taskDefinition": family,
            "desiredCount": 0, "launchType": "EXTERNAL"}),
        )
        .ok();
    let role = format!("arn:aws:iam::{account}:role/r");
    let create = |cluster: &str| {
        ecs(
            "CreateExpressGatewayService",
            json!({"cluster": cluster, "serviceName": "site-express",
            "executionRoleArn": role, "infrastructureRoleArn": role, "primaryContainer": {"image": "nginx"}}),
        )
    };
    let site = format!("arn:aws:ecs:us-east-1:{account}:service/{cluster}/site");
    server.run(&[
        Case::error(
            "create",
            root,
            create(&cluster),
            400,
            "UnsupportedFeatureException",
            "Express services run on AWS Fargate behind Application Load Balancers, which Homeport does not have",
        ),
        Case::error(
            "create in no cluster",
            root,
            create(&unique("gone")),
            400,
            "ClusterNotFoundException",
            "Cluster not found.",
        ),
        Case::error(
            "describe",
            root,
            ecs("DescribeExpressGatewayService", json!({"serviceArn": site})),
            400,
            "ResourceNotFoundException",
            "The specified Express service does not exist.",
        ),
        Case::error(
            "update",
            root,
            ecs("UpdateExpressGatewayService", json!({"serviceArn": site, "cpu": "512"})),
            400,
            "ServiceNotFoundException",
            "Service not found.",
        ),
        Case::error(
            "delete",
            root,
            ecs("DeleteExpressGatewayService", json!({"serviceArn": site})),
            400,
            "ServiceNotFoundException",
            "Service not found.",
        ),
        Case::error(
            "in no cluster",
            root,
            ecs("DeleteExpressGatewayService", json!({"serviceArn": site.replace(&cluster, "gone-cluster")})),
            400,
            "ClusterNotFoundException",
            "Cluster not found.",
        ),
        Case::error(
            "not a service ARN",
            root,
            ecs("DescribeExpressGatewayService", json!({"serviceArn": "site"})),
            400,
            "InvalidParameterException",
            "Invalid service ARN: site.",
        ),
        Case::ok(
            "the ECS service of that ARN is untouched",
            root,
            ecs("DescribeServices", json!({"cluster": cluster, "services": ["site"]})),
        )
        .json("/services/0/status", "ACTIVE"),
    ]);
}

fn daemon_operations_are_authorized_on_the_stored_revision(server: &TestServer) {
    let root = &server.root;
    let family = unique("guarded");
    server.ecs(root, "RegisterDaemonTaskDefinition", &probe(&family)).ok();
    let canonical = format!("arn:aws:ecs:us-east-1:{}:daemon-task-definition/{family}:1", server.account_id);
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ecs:*", "Resource": canonical},
    ]});
    let denied_one = server.user_with_policy(&unique("denied"), Some(&policy.to_string()));
    let nobody = server.nobody();
    server.run(&[
        Case::denied(
            "the family is its latest revision",
            &denied_one,
            ecs("DescribeDaemonTaskDefinition", json!({"daemonTaskDefinition": family})),
            canonical.clone(),
        ),
        Case::denied(
            "deleting it",
            &denied_one,
            ecs("DeleteDaemonTaskDefinition", json!({"daemonTaskDefinition": format!("{family}:1")})),
            canonical.clone(),
        ),
        Case::ok("another family", &denied_one, ecs("RegisterDaemonTaskDefinition", probe(&unique("mine")))),
        Case::denied(
            "register",
            nobody,
            ecs("RegisterDaemonTaskDefinition", probe(&family)),
            "ecs:RegisterDaemonTaskDefinition",
        ),
        Case::denied("list", nobody, ecs("ListDaemonTaskDefinitions", json!({})), "ecs:ListDaemonTaskDefinitions"),
        Case::denied("list daemons", nobody, ecs("ListDaemons", json!({})), "ecs:ListDaemons"),
        Case::denied(
            "create a daemon",
            nobody,
            ecs(
                "CreateDaemon",
                json!({"daemonName": "d",
                "daemonTaskDefinitionArn": family, "capacityProviderArns": ["FARGATE"]}),
            ),
            "ecs:CreateDaemon",
        ),
        Case::ok(
            "and it is still there",
            root,
            ecs("DescribeDaemonTaskDefinition", json!({"daemonTaskDefinition": family})),
        )
        .json("/daemonTaskDefinition/status", "ACTIVE"),
    ]);
}
