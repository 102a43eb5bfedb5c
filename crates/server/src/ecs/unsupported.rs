//! What Homeport does not act on yet, refused rather than accepted and ignored.
//!
//! Task definitions (RegisterTaskDefinition): the lists are allowlists, so a member ECS knows
//! and Homeport does not act on, or one added to ECS later, is refused with ECS's
//! `ClientException` and a message naming it (no task then runs without its secret or its
//! volume). A member set to its empty value (`[]`, `{}`, `""`, `false`, `null`) asks for
//! nothing and is accepted, so the output of DescribeTaskDefinition (`"mountPoints": []`,
//! `"volumesFrom": []`) registers again. `task_definition_checks` then checks the values of
//! what is allowed here. What the agent honours is listed in
//! `crates/agent/src/task_spec.rs` and `crates/agent/src/docker_options.rs`; the lists change
//! together.
//!
//! Launches (RunTask, StartTask, CreateService, UpdateService): the parameters that ask for
//! something Homeport does not do (ECS Exec, capacity providers, task volumes, Service Connect, ...) are refused with `InvalidParameterException`;
//! the overrides are allowlisted as the task definition is.

use aws_protocol::AwsError;
use serde_json::Value as Json;

use crate::ecs::task_definition_checks::LOG_DRIVERS;
use crate::ecs::{client, invalid_parameter};

/// Task definition members Homeport acts on (or that only label the definition).
const TASK_MEMBERS: &[&str] = &[
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "placementConstraints",
    // Placement: a task goes only to an instance of its platform (`scheduler`).
    "runtimePlatform",
    "tags",
    "volumes",
    "pidMode",
    "ipcMode",
];

/// Volume members the agent acts on (a host path, or a Docker volume).
const VOLUME_MEMBERS: &[&str] = &["name", "host", "dockerVolumeConfiguration"];

/// Container definition members the agent acts on.
const CONTAINER_MEMBERS: &[&str] = &[
    "name",
    "image",
    "essential",
    "command",
    "entryPoint",
    "environment",
    "workingDirectory",
    "user",
    "hostname",
    "portMappings",
    "cpu",
    "memory",
    "memoryReservation",
    "dependsOn",
    "links",
    "stopTimeout",
    "dockerLabels",
    "healthCheck",
    "logConfiguration",
    "mountPoints",
    "volumesFrom",
    "linuxParameters",
    "ulimits",
    "extraHosts",
    "dnsServers",
    "dnsSearchDomains",
    "privileged",
    "readonlyRootFilesystem",
    "systemControls",
    "startTimeout",
    "resourceRequirements",
    // Resolved by the agent at start with the execution role (`task_secrets`).
    "secrets",
    "repositoryCredentials",
];

/// Container members the agent applies only in the `bridge` network mode (Docker refuses
/// them with another network's).
const BRIDGE_ONLY_MEMBERS: &[&str] = &["hostname", "links", "extraHosts", "dnsServers", "dnsSearchDomains"];

/// Port mapping members: the agent binds `containerPort` to `hostPort` over `protocol`;
/// `name` and `appProtocol` only label the mapping for Service Connect, on ECS as here.
const PORT_MAPPING_MEMBERS: &[&str] = &["containerPort", "hostPort", "protocol", "name", "appProtocol"];

/// The log driver the agent ships for itself, and the options it reads; the other drivers
/// (`task_definition_checks::LOG_DRIVERS`) are Docker's, their options passed to it.
const LOG_DRIVER: &str = "awslogs";
const AWSLOGS_OPTIONS: &[&str] = &["awslogs-group", "awslogs-region", "awslogs-stream-prefix", "awslogs-create-group"];

/// True for a value that asks for nothing.
fn is_unset(value: &Json) -> bool {
    match value {
        Json::Null | Json::Bool(false) => true,
        Json::String(text) => text.is_empty(),
        Json::Array(items) => items.is_empty(),
        Json::Object(members) => members.is_empty(),
        Json::Bool(true) | Json::Number(_) => false,
    }
}

/// The first member of `object` that is set and not in `known`.
fn unsupported_member<'a>(object: &'a serde_json::Map<String, Json>, known: &[&str]) -> Option<&'a str> {
    object
        .iter()
        .find(|(name, value)| !known.contains(&name.as_str()) && !is_unset(value))
        .map(|(name, _)| name.as_str())
}

fn not_supported(what: String) -> AwsError {
    client(format!("Homeport does not support {what} yet; remove it from the task definition."))
}

/// Refuses a RegisterTaskDefinition request that sets a member Homeport would not act on.
pub fn check(body: &Json) -> Result<(), AwsError> {
    let Some(task) = body.as_object() else { return Ok(()) };
    if let Some(member) = unsupported_member(task, TASK_MEMBERS) {
        return Err(not_supported(format!("the task definition parameter '{member}'")));
    }
    for volume in task.get("volumes").and_then(Json::as_array).into_iter().flatten() {
        if let Some(member) = volume.as_object().and_then(|v| unsupported_member(v, VOLUME_MEMBERS)) {
            return Err(not_supported(format!("the volume parameter '{member}'")));
        }
    }
    for container in task.get("containerDefinitions").and_then(Json::as_array).into_iter().flatten() {
        let Some(container) = container.as_object() else { continue };
        let name = container.get("name").and_then(Json::as_str).unwrap_or_default();
        if let Some(member) = unsupported_member(container, CONTAINER_MEMBERS) {
            return Err(not_supported(format!("the container definition parameter '{member}' (container '{name}')")));
        }
        crate::ecs::task_secrets::check(container, name)?;
        // Docker applies these only to a container on the bridge network.
        let network_mode = task.get("networkMode").and_then(Json::as_str).unwrap_or("bridge");
        for member in BRIDGE_ONLY_MEMBERS {
            if network_mode != "bridge" && container.get(*member).is_some_and(|value| !is_unset(value)) {
                return Err(not_supported(format!(
                    "the container definition parameter '{member}' with networkMode {network_mode} (container '{name}')"
                )));
            }
        }
        for mapping in container.get("portMappings").and_then(Json::as_array).into_iter().flatten() {
            if let Some(member) = mapping.as_object().and_then(|m| unsupported_member(m, PORT_MAPPING_MEMBERS)) {
                return Err(not_supported(format!("the port mapping parameter '{member}' (container '{name}')")));
            }
        }
        let Some(logging) = container.get("logConfiguration").and_then(Json::as_object) else { continue };
        let driver = logging.get("logDriver").and_then(Json::as_str).unwrap_or_default();
        if !LOG_DRIVERS.contains(&driver) {
            return Err(not_supported(format!(
                "the log driver '{driver}' (container '{name}'); the supported ones are {}",
                LOG_DRIVERS.join(", ")
            )));
        }
        if let Some(member) = unsupported_member(logging, &["logDriver", "options"]) {
            return Err(not_supported(format!("the log configuration parameter '{member}' (container '{name}')")));
        }
        if driver != LOG_DRIVER {
            continue;
        }
        let options = logging.get("options").and_then(Json::as_object);
        if let Some(option) =
            options.and_then(|options| options.keys().find(|o| !AWSLOGS_OPTIONS.contains(&o.as_str())))
        {
            return Err(not_supported(format!("the awslogs option '{option}' (container '{name}')")));
        }
    }
    Ok(())
}

/// Whether a parameter's value asks for something.
type Asks = fn(&Json) -> bool;

/// Launch parameters that ask for something Homeport does not do, with the test of whether
/// a value asks for it.
const LAUNCH_PARAMETERS: &[(&str, Asks)] = &[
    ("enableExecuteCommand", |v| *v == Json::Bool(true)),
    ("capacityProviderStrategy", |v| !is_unset(v)),
    ("volumeConfigurations", |v| !is_unset(v)),
    ("platformVersion", |v| !is_unset(v)),
    ("serviceRegistries", |v| !is_unset(v)),
    ("loadBalancers", |v| !is_unset(v)),
    ("serviceConnectConfiguration", |v| v.get("enabled") == Some(&Json::Bool(true))),
    ("deploymentController", |v| {
        !is_unset(v) && !matches!(v.get("type").and_then(Json::as_str), Some("ECS" | "EXTERNAL"))
    }),
    // A service's IAM role is for load balancers, which Homeport does not attach.
    ("role", |v| !is_unset(v)),
    ("vpcLatticeConfigurations", |v| !is_unset(v)),
];

/// `deploymentConfiguration` members Homeport honours: the rolling update's percentages and
/// circuit breaker. Alarms (no CloudWatch alarms here) and the blue/green, linear and canary
/// strategies with their hooks and bake time are refused.
const DEPLOYMENT_CONFIGURATION: &[&str] = &["maximumPercent", "minimumHealthyPercent", "deploymentCircuitBreaker"];

/// Task overrides the control plane applies.
const OVERRIDES: &[&str] = &["containerOverrides", "taskRoleArn", "executionRoleArn", "cpu", "memory"];

/// Container overrides the control plane applies.
const CONTAINER_OVERRIDES: &[&str] = &["name", "command", "cpu", "memory", "memoryReservation", "environment"];

fn parameter_not_supported(operation: &str, what: String) -> AwsError {
    invalid_parameter(format!("Homeport does not support the {operation} parameter {what} yet."))
}

/// Refuses a RunTask, StartTask, CreateService or UpdateService request that asks for
/// something Homeport would not do.
pub fn check_launch(operation: &str, body: &Json) -> Result<(), AwsError> {
    for (member, asks) in LAUNCH_PARAMETERS {
        if body.get(*member).is_some_and(asks) {
            return Err(parameter_not_supported(operation, format!("'{member}'")));
        }
    }
    if let Some(configuration) = body.get("deploymentConfiguration").and_then(Json::as_object) {
        let rolling = configuration.get("strategy").is_none_or(|s| s.as_str() == Some("ROLLING"));
        let alarms = configuration.get("alarms").is_some_and(|a| a.get("enable") == Some(&Json::Bool(true)));
        let known = |member: &str| {
            DEPLOYMENT_CONFIGURATION.contains(&member)
                || member == "strategy" && rolling
                || member == "alarms" && !alarms
        };
        if let Some((member, _)) = configuration.iter().find(|(member, value)| !known(member) && !is_unset(value)) {
            return Err(parameter_not_supported(operation, format!("'deploymentConfiguration.{member}'")));
        }
    }
    let Some(overrides) = body.get("overrides").and_then(Json::as_object) else { return Ok(()) };
    if let Some(member) = unsupported_member(overrides, OVERRIDES) {
        return Err(parameter_not_supported(operation, format!("'overrides.{member}'")));
    }
    for container in overrides.get("containerOverrides").and_then(Json::as_array).into_iter().flatten() {
        if let Some(member) = container.as_object().and_then(|c| unsupported_member(c, CONTAINER_OVERRIDES)) {
            return Err(parameter_not_supported(operation, format!("'overrides.containerOverrides.{member}'")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;

    /// A task definition with `container` merged into its one container and `task` into it.
    fn definition(task: Json, container: Json) -> Json {
        let mut app = json!({"name": "app", "image": "busybox", "memory": 64});
        for (key, value) in container.as_object().unwrap() {
            app[key] = value.clone();
        }
        let mut body = json!({"family": "web", "containerDefinitions": [app]});
        for (key, value) in task.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    }

    #[test]
    fn members_homeport_does_not_act_on_are_refused_by_name() {
        // (task members, container members, the quoted name the message must carry)
        let refused = [
            (
                json!({}),
                json!({"environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::b/f.env"}]}),
                "'environmentFiles'",
            ),
            (json!({}), json!({"restartPolicy": {"enabled": true}}), "'restartPolicy'"),
            (json!({}), json!({"someFutureMember": 1}), "'someFutureMember'"),
            (
                json!({}),
                json!({"portMappings": [{"containerPort": 80, "containerPortRange": "80-90"}]}),
                "'containerPortRange'",
            ),
            (
                json!({}),
                json!({"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g", "mode": "non-blocking"}}}),
                "'mode'",
            ),
            (
                json!({}),
                json!({"logConfiguration": {"logDriver": "awslogs", "secretOptions": [{"name": "k", "valueFrom": "v"}]}}),
                "'secretOptions'",
            ),
            (json!({"networkMode": "host"}), json!({"hostname": "app"}), "'hostname' with networkMode host"),
            (json!({"networkMode": "none"}), json!({"links": ["db"]}), "'links' with networkMode none"),
            (json!({"networkMode": "host"}), json!({"dnsServers": ["10.0.0.2"]}), "'dnsServers' with networkMode host"),
            (json!({}), json!({"logConfiguration": {"logDriver": "splunk"}}), "'splunk'"),
            (json!({}), json!({"dockerSecurityOptions": ["no-new-privileges"]}), "'dockerSecurityOptions'"),
            (
                json!({"volumes": [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]}),
                json!({}),
                "'efsVolumeConfiguration'",
            ),
            (json!({"volumes": [{"name": "data", "configuredAtLaunch": true}]}), json!({}), "'configuredAtLaunch'"),
            (json!({"proxyConfiguration": {"containerName": "envoy"}}), json!({}), "'proxyConfiguration'"),
            (json!({"ephemeralStorage": {"sizeInGiB": 30}}), json!({}), "'ephemeralStorage'"),
            (json!({"enableFaultInjection": true}), json!({}), "'enableFaultInjection'"),
        ];
        for (task, container, named) in refused {
            let body = definition(task, container);
            let error = check(&body).expect_err(&body.to_string());
            assert_eq!(error.code, "ClientException", "{body}");
            assert!(error.message.contains(named), "{body}: {}", error.message);
            assert!(error.message.contains("Homeport does not support"), "{}", error.message);
        }
    }

    #[test]
    fn launch_parameters_that_ask_for_what_homeport_does_not_do_are_refused() {
        let refused = [
            (json!({"enableExecuteCommand": true}), "'enableExecuteCommand'"),
            (json!({"capacityProviderStrategy": [{"capacityProvider": "cp"}]}), "'capacityProviderStrategy'"),
            (json!({"volumeConfigurations": [{"name": "data"}]}), "'volumeConfigurations'"),
            (json!({"platformVersion": "LATEST"}), "'platformVersion'"),
            (json!({"serviceRegistries": [{"registryArn": "arn"}]}), "'serviceRegistries'"),
            (json!({"loadBalancers": [{"targetGroupArn": "arn", "containerName": "app"}]}), "'loadBalancers'"),
            (json!({"serviceConnectConfiguration": {"enabled": true}}), "'serviceConnectConfiguration'"),
            (json!({"deploymentController": {"type": "CODE_DEPLOY"}}), "'deploymentController'"),
            (json!({"overrides": {"ephemeralStorage": {"sizeInGiB": 30}}}), "'overrides.ephemeralStorage'"),
            (
                json!({"overrides": {"containerOverrides": [{"name": "app", "environmentFiles": [{"type": "s3", "value": "v"}]}]}}),
                "'overrides.containerOverrides.environmentFiles'",
            ),
        ];
        for (body, named) in refused {
            let error = check_launch("RunTask", &body).expect_err(&body.to_string());
            assert_eq!(error.code, "InvalidParameterException", "{body}");
            assert_eq!(error.message, format!("Homeport does not support the RunTask parameter {named} yet."));
        }
        let accepted = [
            json!({}),
            json!({"enableExecuteCommand": false, "enableECSManagedTags": false, "propagateTags": "NONE",
                   "capacityProviderStrategy": [], "serviceRegistries": [], "deploymentController": {"type": "ECS"},
                   "serviceConnectConfiguration": {"enabled": false}, "referenceId": "r", "startedBy": "me"}),
            json!({"overrides": {"taskRoleArn": "arn", "executionRoleArn": "arn", "cpu": "256", "memory": "512",
                   "inferenceAcceleratorOverrides": [],
                   "containerOverrides": [{"name": "app", "command": ["true"], "cpu": 1, "memory": 8,
                                           "memoryReservation": 8, "environment": [{"name": "A", "value": "b"}]}]}}),
        ];
        for body in accepted {
            assert!(check_launch("CreateService", &body).is_ok(), "{body}");
        }
    }

    #[test]
    fn members_it_acts_on_and_empty_values_are_accepted() {
        let accepted = [
            (json!({}), json!({})),
            (
                json!({"taskRoleArn": "arn:aws:iam::1:role/t", "executionRoleArn": "arn:aws:iam::1:role/e",
                       "networkMode": "bridge", "requiresCompatibilities": ["EXTERNAL"], "cpu": "256",
                       "memory": "512", "placementConstraints": [{"type": "memberOf", "expression": "attribute:zone == lab"}],
                       "tags": [{"key": "team", "value": "ops"}], "pidMode": "host", "ipcMode": "none",
                       "volumes": [{"name": "data", "host": {"sourcePath": "/srv"}},
                                   {"name": "db", "dockerVolumeConfiguration": {"scope": "shared", "driver": "local"}}]}),
                json!({"essential": true, "command": ["sh"], "entryPoint": ["/bin/env"],
                       "environment": [{"name": "A", "value": "b"}], "workingDirectory": "/srv", "user": "1000",
                       "hostname": "app", "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp", "name": "web", "appProtocol": "http"}],
                       "cpu": 128, "memoryReservation": 32, "dependsOn": [], "links": [], "stopTimeout": 5,
                       "dockerLabels": {"team": "ops"}, "healthCheck": {"command": ["CMD-SHELL", "true"]},
                       "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}],
                       "volumesFrom": [{"sourceContainer": "other", "readOnly": true}],
                       "linuxParameters": {"initProcessEnabled": true}, "privileged": true, "readonlyRootFilesystem": true,
                       "ulimits": [{"name": "nofile", "softLimit": 1, "hardLimit": 2}], "startTimeout": 30,
                       "extraHosts": [{"hostname": "db", "ipAddress": "10.0.0.1"}], "dnsServers": ["10.0.0.2"],
                       "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web",
                           "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web", "awslogs-create-group": "true"},
                           "secretOptions": []}}),
            ),
            (json!({}), json!({"logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m"}}})),
            (json!({}), json!({"logConfiguration": {"logDriver": "none"}})),
            // What DescribeTaskDefinition answers registers again.
            (
                json!({"volumes": [], "pidMode": "", "proxyConfiguration": null, "enableFaultInjection": false}),
                json!({"mountPoints": [], "volumesFrom": [], "secrets": [], "systemControls": [], "privileged": false,
                       "linuxParameters": {}, "ulimits": []}),
            ),
        ];
        for (task, container) in accepted {
            let body = definition(task, container);
            assert!(check(&body).is_ok(), "{body}: {:?}", check(&body));
        }
    }
}
