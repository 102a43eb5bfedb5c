//! ECS task definitions, in process: registering revisions, describing and deregistering
//! them, ECS's errors for bad definitions (today's codes and messages), and refusals.

use crate::support::{Case, TestServer, ecs, iam, unique};
use serde_json::{Value, json};

crate::support::on_both_stores!(
    revisions_are_registered_described_listed_and_deregistered,
    bad_task_definitions_are_refused_with_ecss_messages,
    fargate_definitions_are_stored_as_ecs_stores_them_and_not_run,
    a_user_without_permissions_is_refused_every_task_definition_operation
);

fn web(family: &str) -> Value {
    json!({"family": family, "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 128}]})
}

/// `family` with one container made of `container`'s members.
fn with_container(family: &str, container: Value) -> Value {
    json!({"family": family, "containerDefinitions": [container]})
}

fn revisions_are_registered_described_listed_and_deregistered(server: &TestServer) {
    let root = &server.root;
    // Ends in `-td`: a prefix of it cut short (`family21-t`) is no other test's family.
    let family = format!("{}-td", unique("family"));
    let arn =
        |revision: u32| format!("arn:aws:ecs:us-east-1:{}:task-definition/{family}:{revision}", server.account_id);
    server.run(&[
        Case::ok("register", root, ecs("RegisterTaskDefinition", web(&family)))
            .json("/taskDefinition/taskDefinitionArn", arn(1))
            .json("/taskDefinition/revision", 1)
            .json("/taskDefinition/status", "ACTIVE")
            .json("/taskDefinition/networkMode", "bridge")
            .json("/taskDefinition/containerDefinitions/0/essential", true)
            .json("/taskDefinition/containerDefinitions/0/cpu", 0),
        Case::ok("a second revision", root, ecs("RegisterTaskDefinition", json!({
            "family": family,
            "networkMode": "host",
            "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 128, "portMappings": [{"containerPort": 80}]}],
        })))
        .json("/taskDefinition/revision", 2)
        .json("/taskDefinition/containerDefinitions/0/portMappings/0", json!({"containerPort": 80, "hostPort": 80, "protocol": "tcp"})),
        Case::ok("the family names the latest", root, ecs("DescribeTaskDefinition", json!({"taskDefinition": family})))
            .json("/taskDefinition/revision", 2),
        // Ansible's ecs_taskdefinition sends a runtime platform (placement honours it) and an
        // empty task role (no role); a platform outside the model's enums is refused.
        Case::ok("a runtime platform", root, ecs("RegisterTaskDefinition", json!({
            "family": unique("platform"), "taskRoleArn": "",
            "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"},
            "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 128}],
        })))
        .json("/taskDefinition/runtimePlatform", json!({"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"}))
        .json("/taskDefinition/taskRoleArn", Value::Null),
        Case::error("a platform ECS does not have", root, ecs("RegisterTaskDefinition", json!({
            "family": unique("platform"), "runtimePlatform": {"cpuArchitecture": "MIPS"},
            "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 128}],
        })), 400, "InvalidParameterException", "Value 'MIPS' at 'runtimePlatform.cpuArchitecture' failed to satisfy constraint: Member must satisfy enum value set"),
        Case::ok("a revision by number", root,
            ecs("DescribeTaskDefinition", json!({"taskDefinition": format!("{family}:1")})))
            .json("/taskDefinition/networkMode", "bridge"),
        Case::ok("listed by family", root, ecs("ListTaskDefinitions", json!({"familyPrefix": family})))
            .json("/taskDefinitionArns", json!([arn(1), arn(2)])),
        Case::ok("its family", root, ecs("ListTaskDefinitionFamilies", json!({"familyPrefix": family})))
            .json("/families", json!([family])),
        // ListTaskDefinitions' familyPrefix is a whole family name; the families' a prefix.
        Case::ok("not by a prefix of the family", root,
            ecs("ListTaskDefinitions", json!({"familyPrefix": &family[..family.len() - 1]})))
            .json_len("/taskDefinitionArns", 0),
        Case::ok("a family by a prefix", root,
            ecs("ListTaskDefinitionFamilies", json!({"familyPrefix": &family[..family.len() - 1], "status": "ALL"})))
            .contains(format!("\"{family}\"")),
        Case::ok("deregister 1", root, ecs("DeregisterTaskDefinition", json!({"taskDefinition": format!("{family}:1")})))
            .json("/taskDefinition/status", "INACTIVE"),
        Case::ok("only 2 is active", root, ecs("ListTaskDefinitions", json!({"familyPrefix": family, "status": "ACTIVE"})))
            .json("/taskDefinitionArns", json!([arn(2)])),
        Case::ok("1 is inactive", root, ecs("ListTaskDefinitions", json!({"familyPrefix": family, "status": "INACTIVE"})))
            .json("/taskDefinitionArns", json!([arn(1)])),
        Case::error("deregister without a revision", root, ecs("DeregisterTaskDefinition", json!({"taskDefinition": family})),
            400, "ClientException", "The specified task definition identifier is invalid. Specify a valid revision."),
        Case::error("a revision nobody registered", root,
            ecs("DescribeTaskDefinition", json!({"taskDefinition": format!("{family}:9")})), 400, "ClientException",
            "Unable to describe task definition."),
        Case::error("an unknown status filter", root, ecs("ListTaskDefinitions", json!({"status": "SLEEPING"})), 400,
            "InvalidParameterException",
            "1 validation error detected: Value 'SLEEPING' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [ACTIVE, INACTIVE, DELETE_IN_PROGRESS]"),
        Case::error("delete none", root, ecs("DeleteTaskDefinitions", json!({"taskDefinitions": []})), 400,
            "InvalidParameterException", "taskDefinitions must have between 1 and 10 items."),
    ]);
}

fn fargate_definitions_are_stored_as_ecs_stores_them_and_not_run(server: &TestServer) {
    let root = &server.root;
    let family = unique("fargate");
    let cluster = unique("fargate");
    let sized = |cpu: &str, memory: &str| {
        json!({"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": cpu,
               "memory": memory, "containerDefinitions": [{"name": "web", "image": "nginx"}]})
    };
    let mut host_pid = sized("256", "512");
    host_pid["pidMode"] = json!("host");
    server.run(&[
        Case::ok("sizes in vCPU and GB", root, ecs("RegisterTaskDefinition", sized("0.25 vCPU", "0.5 GB")))
            .json("/taskDefinition/cpu", "256")
            .json("/taskDefinition/memory", "512")
            .json("/taskDefinition/requiresCompatibilities", json!(["FARGATE"]))
            .json("/taskDefinition/compatibilities", json!(["EC2", "FARGATE"])),
        Case::ok("bridge mode runs on EC2 and EXTERNAL only", root, ecs("RegisterTaskDefinition", web(&family)))
            .json("/taskDefinition/compatibilities", json!(["EC2", "EXTERNAL"])),
        Case::error("a size Fargate does not offer", root, ecs("RegisterTaskDefinition", sized("256", "4096")), 400,
            "ClientException",
            "No Fargate configuration exists for given values: 256 CPU, 4096 memory. See the Amazon ECS documentation for the valid values."),
        Case::error("no task memory", root, ecs("RegisterTaskDefinition", {
            let mut body = sized("256", "512");
            body.as_object_mut().unwrap().remove("memory");
            body["containerDefinitions"][0]["memory"] = json!(128);
            body
        }), 400, "ClientException", "Fargate requires that 'memory' be defined at the task level."),
        Case::error("the host's process namespace", root, ecs("RegisterTaskDefinition", host_pid), 400, "ClientException",
            "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'."),
        Case::error("a size in no unit", root, ecs("RegisterTaskDefinition", sized("a quarter", "512")), 400,
            "ClientException", "Invalid 'cpu' setting for task."),
        Case::ok("a cluster", root, ecs("CreateCluster", json!({"clusterName": cluster}))),
        Case::error("run on an external instance", root,
            ecs("RunTask", json!({"cluster": cluster, "taskDefinition": format!("{family}:1")})), 400,
            "InvalidParameterException", "Task definition does not support launch_type EXTERNAL."),
    ]);
}

fn bad_task_definitions_are_refused_with_ecss_messages(server: &TestServer) {
    let root = &server.root;
    let family = unique("bad");
    let one = |container: Value| ecs("RegisterTaskDefinition", with_container(&family, container));
    let mut body = web(&family);
    body["networkMode"] = json!("bridged");
    let mut fargate = web(&family);
    fargate["requiresCompatibilities"] = json!(["FARGATE"]);
    let mut external_awsvpc = web(&family);
    external_awsvpc["requiresCompatibilities"] = json!(["EXTERNAL"]);
    external_awsvpc["networkMode"] = json!("awsvpc");
    let mut unknown_compatibility = web(&family);
    unknown_compatibility["requiresCompatibilities"] = json!(["MOON"]);
    let mut untrusted_role = web(&family);
    let role = unique("nottrusting");
    let ec2_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    server.call(root, &iam("CreateRole", &[("RoleName", &role), ("AssumeRolePolicyDocument", ec2_trust)])).ok();
    let role_arn = format!("arn:aws:iam::{}:role/{role}", server.account_id);
    untrusted_role["taskRoleArn"] = json!(role_arn);
    server.run(&[
        Case::error("no family", root, ecs("RegisterTaskDefinition", with_container("", json!({"name": "a", "image": "i", "memory": 64}))),
            400, "ClientException",
            "Family must be between 1 and 255 characters and can contain letters, numbers, hyphens and underscores."),
        Case::error("no containers", root, ecs("RegisterTaskDefinition", json!({"family": family, "containerDefinitions": []})),
            400, "ClientException", "Container list cannot be empty."),
        Case::error("no image", root, one(json!({"name": "web", "memory": 64})), 400, "ClientException",
            "Container.image should not be null or empty for container 'web'."),
        Case::error("a container name with a space", root, one(json!({"name": "w b", "image": "i", "memory": 64})), 400,
            "ClientException",
            "Container name should be between 1 and 255 characters and can contain letters, numbers, hyphens and underscores."),
        Case::error("no memory anywhere", root, one(json!({"name": "web", "image": "i"})), 400, "ClientException",
            "Invalid setting for container 'web'. At least one of 'memory' or 'memoryReservation' must be specified."),
        Case::error("a reservation above the limit", root,
            one(json!({"name": "web", "image": "i", "memory": 64, "memoryReservation": 128})), 400, "ClientException",
            "Invalid setting for container 'web'. 'memory' must be greater than or equal to 'memoryReservation'."),
        Case::error("memory under 6 MiB", root, one(json!({"name": "web", "image": "i", "memory": 4})), 400,
            "ClientException", "Invalid setting for container 'web'. The minimum allowed value for 'memory' is 6 MiB."),
        Case::error("container port 0", root,
            one(json!({"name": "web", "image": "i", "memory": 64, "portMappings": [{"containerPort": 0}]})), 400,
            "ClientException", "Invalid containerPort for container 'web'; it must be between 1 and 65535."),
        Case::error("host port past 65535", root,
            one(json!({"name": "web", "image": "i", "memory": 64, "portMappings": [{"containerPort": 80, "hostPort": 70000}]})),
            400, "ClientException", "Invalid hostPort for container 'web'; it must be between 0 and 65535."),
        Case::error("an unknown protocol", root,
            one(json!({"name": "web", "image": "i", "memory": 64, "portMappings": [{"containerPort": 80, "protocol": "sctp"}]})),
            400, "InvalidParameterException",
            "1 validation error detected: Value 'sctp' at 'containerDefinitions.1.member.portMappings.1.member.protocol' failed to satisfy constraint: Member must satisfy enum value set: [tcp, udp]"),
        Case::error("an unknown network mode", root, ecs("RegisterTaskDefinition", body), 400,
            "InvalidParameterException",
            "1 validation error detected: Value 'bridged' at 'networkMode' failed to satisfy constraint: Member must satisfy enum value set: [bridge, host, awsvpc, none]"),
        Case::error("FARGATE in bridge mode", root, ecs("RegisterTaskDefinition", fargate), 400, "ClientException",
            "Fargate only supports network mode 'awsvpc'."),
        Case::error("EXTERNAL with awsvpc", root, ecs("RegisterTaskDefinition", external_awsvpc), 400, "ClientException",
            "Task definition does not support launch_type EXTERNAL with networkMode awsvpc."),
        Case::error("an unknown compatibility", root, ecs("RegisterTaskDefinition", unknown_compatibility), 400,
            "InvalidParameterException",
            "1 validation error detected: Value '[MOON]' at 'requiresCompatibilities' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]]"),
        Case::error("two containers of one name", root, ecs("RegisterTaskDefinition", json!({
            "family": family,
            "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}, {"name": "a", "image": "i", "memory": 64}],
        })), 400, "ClientException", "Duplicate container name 'a' in the task definition."),
        Case::error("nothing essential", root, one(json!({"name": "a", "image": "i", "memory": 64, "essential": false})), 400,
            "ClientException", "Task definition must have at least one essential container."),
        Case::error("a dependency on a stranger", root, one(json!({
            "name": "a", "image": "i", "memory": 64, "dependsOn": [{"containerName": "b", "condition": "START"}],
        })), 400, "ClientException", "Container dependency on 'b', which is not in the task definition."),
        // The model's enums answer first (the server has no check of its own for these).
        Case::error("a dependency condition ECS does not have", root, one(json!({
            "name": "a", "image": "i", "memory": 64, "dependsOn": [{"containerName": "a", "condition": "BOOTED"}],
        })), 400, "InvalidParameterException",
            "Value 'BOOTED' at 'containerDefinitions.1.member.dependsOn.1.member.condition' failed to satisfy constraint: Member must satisfy enum value set"),
        Case::error("a device permission ECS does not have", root, one(json!({
            "name": "a", "image": "i", "memory": 64,
            "linuxParameters": {"devices": [{"hostPath": "/dev/null", "permissions": ["execute"]}]},
        })), 400, "InvalidParameterException", "Member must satisfy enum value set: [read, write, mknod]"),
        Case::error("a volume scope ECS does not have", root, ecs("RegisterTaskDefinition", json!({
            "family": family, "volumes": [{"name": "v", "dockerVolumeConfiguration": {"scope": "global"}}],
            "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}],
        })), 400, "InvalidParameterException",
            "Value 'global' at 'volumes.1.member.dockerVolumeConfiguration.scope' failed to satisfy constraint: Member must satisfy enum value set: [task, shared]"),
        Case::error("a task role ECS may not assume", root, ecs("RegisterTaskDefinition", untrusted_role), 400,
            "ClientException", format!("ECS was unable to assume the role '{role_arn}' that was provided for this task.")),
        Case::error("none of them registered", root, ecs("DescribeTaskDefinition", json!({"taskDefinition": family})), 400,
            "ClientException", "Unable to describe task definition."),
    ]);
}

fn a_user_without_permissions_is_refused_every_task_definition_operation(server: &TestServer) {
    let nobody = server.nobody();
    let family = unique("guarded");
    server.ecs(&server.root, "RegisterTaskDefinition", &web(&family)).ok();
    server.run(&[
        Case::denied("register", nobody, ecs("RegisterTaskDefinition", web(&family)), "ecs:RegisterTaskDefinition"),
        Case::denied(
            "describe",
            nobody,
            ecs("DescribeTaskDefinition", json!({"taskDefinition": family})),
            "ecs:DescribeTaskDefinition",
        ),
        Case::denied(
            "deregister",
            nobody,
            ecs("DeregisterTaskDefinition", json!({"taskDefinition": format!("{family}:1")})),
            "ecs:DeregisterTaskDefinition",
        ),
        Case::denied("list", nobody, ecs("ListTaskDefinitions", json!({})), "ecs:ListTaskDefinitions"),
        Case::ok(
            "and it is still there",
            &server.root,
            ecs("DescribeTaskDefinition", json!({"taskDefinition": family})),
        )
        .json("/taskDefinition/status", "ACTIVE"),
    ]);
}
