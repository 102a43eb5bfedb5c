//! ECS task definitions: Register/Deregister/Describe/ListTaskDefinitions,
//! ListTaskDefinitionFamilies and DeleteTaskDefinitions.
//!
//! A task definition is validated as ECS validates one for the EC2 and EXTERNAL launch types
//! (network modes `bridge`, `host`, `none`; every container with a memory limit or
//! reservation unless the task has one; at least one essential container), and for Fargate's
//! rules when it requires FARGATE (`fargate`: stored, never run), and stored as the
//! document DescribeTaskDefinition returns, defaults filled in. A member Homeport would not
//! act on is refused (`unsupported`), never stored and ignored. Revisions of
//! a family count up from 1 and are never reused. Passing a task or execution role needs
//! `iam:PassRole` for `ecs-tasks.amazonaws.com`, and the role must trust that service.

use aws_protocol::AwsError;
use serde_json::{Map, Value as Json, json};

use super::fargate::{self, Size};
use super::model::task_definition::{self as model, NewRevision, TaskDefinitionStatus};
use super::{task_definition_checks, unsupported};
use crate::app::App;
use crate::ecs::{self, client, invalid_parameter, put};
use crate::iam::roles::find_role;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};
use crate::regions::Scope;

operation!(
    ecs,
    REGISTER_TASK_DEFINITION,
    "RegisterTaskDefinition",
    Write,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| json_op(register_task_definition(ctx))
);
operation!(
    ecs,
    DESCRIBE_TASK_DEFINITION,
    "DescribeTaskDefinition",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| json_op(describe_task_definition(ctx))
);
operation!(
    ecs,
    LIST_TASK_DEFINITIONS,
    "ListTaskDefinitions",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| { json_op(list_task_definitions(ctx)) }
);
operation!(
    ecs,
    LIST_TASK_DEFINITION_FAMILIES,
    "ListTaskDefinitionFamilies",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| json_op(list_task_definition_families(ctx))
);
operation!(
    ecs,
    DEREGISTER_TASK_DEFINITION,
    "DeregisterTaskDefinition",
    Write,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| json_op(deregister_task_definition(ctx))
);
operation!(
    ecs,
    DELETE_TASK_DEFINITIONS,
    "DeleteTaskDefinitions",
    Write,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| json_op(delete_task_definitions(ctx))
);

/// Containers a task definition may have.
const MAX_CONTAINERS: usize = 10;

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks a task or execution role: the caller may pass it to ECS tasks, and it trusts them.
pub(crate) async fn check_task_role(ctx: &Ctx<'_>, role_arn: &str, associated: &str) -> Result<(), AwsError> {
    crate::authz::pass_role(ctx, role_arn, "ecs-tasks.amazonaws.com", associated).await?;
    let prefix = format!("arn:aws:iam::{}:role/", ctx.account());
    let name = role_arn.strip_prefix(&prefix).and_then(|rest| rest.rsplit('/').next()).unwrap_or_default();
    let role = find_role(&ctx.app.store, ctx.account(), name).await?.filter(|role| role.arn(ctx.account()) == role_arn);
    let trusted = role.is_some_and(|role| {
        crate::authz::trusts_service(ctx.app, &role.trust_policy, role_arn, "ecs-tasks.amazonaws.com", None)
    });
    if trusted {
        Ok(())
    } else {
        Err(client(format!(
            "ECS was unable to assume the role '{role_arn}' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role."
        )))
    }
}

/// Validates one container definition and fills in ECS's defaults.
fn container(value: &Json, network_mode: &str, task_memory: bool) -> Result<Json, AwsError> {
    let Some(object) = value.as_object() else { return Err(client("Container definitions must be objects.")) };
    let mut container: Map<String, Json> = object.clone();
    let name = object.get("name").and_then(Json::as_str).unwrap_or_default();
    if !valid_name(name) {
        return Err(client(
            "Container name should be between 1 and 255 characters and can contain letters, numbers, hyphens and underscores.",
        ));
    }
    if object.get("image").and_then(Json::as_str).is_none_or(str::is_empty) {
        return Err(client(format!("Container.image should not be null or empty for container '{name}'.")));
    }
    let memory = object.get("memory").and_then(Json::as_i64);
    let reservation = object.get("memoryReservation").and_then(Json::as_i64);
    if memory.is_none() && reservation.is_none() && !task_memory {
        return Err(client(format!(
            "Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified."
        )));
    }
    if let (Some(memory), Some(reservation)) = (memory, reservation) {
        if reservation > memory {
            return Err(client(format!(
                "Invalid setting for container '{name}'. 'memory' must be greater than or equal to 'memoryReservation'."
            )));
        }
    }
    if memory.is_some_and(|memory| memory < 6) {
        return Err(client(format!(
            "Invalid setting for container '{name}'. The minimum allowed value for 'memory' is 6 MiB."
        )));
    }
    let mut mappings = Vec::new();
    for mapping in object.get("portMappings").and_then(Json::as_array).into_iter().flatten() {
        let container_port = mapping.get("containerPort").and_then(Json::as_i64).unwrap_or(0);
        if !(1..=65_535).contains(&container_port) {
            return Err(client(format!(
                "Invalid containerPort for container '{name}'; it must be between 1 and 65535."
            )));
        }
        let host_port = mapping.get("hostPort").and_then(Json::as_i64);
        let host_port = match network_mode {
            "host" => {
                if host_port.is_some_and(|port| port != container_port) {
                    return Err(client(
                        "When networkMode=host, containerPort and hostPort must be the same (or hostPort omitted).",
                    ));
                }
                container_port
            }
            // 0 asks for a dynamic host port.
            _ => host_port.unwrap_or(0),
        };
        if !(0..=65_535).contains(&host_port) {
            return Err(client(format!("Invalid hostPort for container '{name}'; it must be between 0 and 65535.")));
        }
        // `tcp` or `udp`: the pipeline has checked the model's enum.
        let protocol = mapping.get("protocol").and_then(Json::as_str).unwrap_or("tcp");
        mappings.push(json!({"containerPort": container_port, "hostPort": host_port, "protocol": protocol}));
    }
    if network_mode == "none" && !mappings.is_empty() {
        return Err(client("Port mappings are not allowed when networkMode=none."));
    }
    container.insert("portMappings".to_owned(), Json::Array(mappings));
    for (member, default) in [
        ("cpu", json!(0)),
        ("essential", json!(true)),
        ("environment", json!([])),
        ("mountPoints", json!([])),
        ("volumesFrom", json!([])),
    ] {
        container.entry(member.to_owned()).or_insert(default);
    }
    Ok(Json::Object(container))
}

async fn register_task_definition(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let body = ctx.body;
    let family = body.get("family").and_then(Json::as_str).unwrap_or_default();
    if !valid_name(family) {
        return Err(client(
            "Family must be between 1 and 255 characters and can contain letters, numbers, hyphens and underscores.",
        ));
    }
    unsupported::check(body)?;
    // The network mode and compatibilities are words of the model's enums (the pipeline has
    // checked them).
    let network_mode = body.get("networkMode").and_then(Json::as_str).unwrap_or("bridge");
    let requires: Vec<&str> = body
        .get("requiresCompatibilities")
        .and_then(Json::as_array)
        .map(|items| items.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let volume_names = task_definition_checks::volumes(body)?;
    task_definition_checks::namespaces(body)?;
    if requires.contains(&"EXTERNAL") && network_mode == "awsvpc" {
        return Err(client("Task definition does not support launch_type EXTERNAL with networkMode awsvpc."));
    }
    let task_memory = body.get("memory").and_then(Json::as_str).is_some();
    let definitions = body.get("containerDefinitions").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    if definitions.is_empty() {
        return Err(client("Container list cannot be empty."));
    }
    if definitions.len() > MAX_CONTAINERS {
        return Err(client(format!("Too many containers: a task definition can have at most {MAX_CONTAINERS}.")));
    }
    let containers = definitions
        .iter()
        .map(|definition| container(definition, network_mode, task_memory))
        .collect::<Result<Vec<_>, _>>()?;
    let names: Vec<&str> = containers.iter().filter_map(|c| c.get("name").and_then(Json::as_str)).collect();
    if let Some(duplicate) =
        names.iter().enumerate().find(|(index, name)| names.get(..*index).is_some_and(|before| before.contains(name)))
    {
        return Err(client(format!("Duplicate container name '{}' in the task definition.", duplicate.1)));
    }
    if !containers.iter().any(|c| c.get("essential") == Some(&json!(true))) {
        return Err(client("Task definition must have at least one essential container."));
    }
    for container in containers.iter().filter_map(Json::as_object) {
        task_definition_checks::mounts(container, &volume_names, &names)?;
        task_definition_checks::settings(container)?;
    }
    for container in &containers {
        for dependency in container.get("dependsOn").and_then(Json::as_array).into_iter().flatten() {
            // Its condition is required and one of the model's enum, refused before this runs.
            let target = dependency.get("containerName").and_then(Json::as_str).unwrap_or_default();
            if !names.contains(&target) {
                return Err(client(format!(
                    "Container dependency on '{target}', which is not in the task definition."
                )));
            }
        }
    }
    let tags = ecs::tags_from_body(body)?;
    // Its revision is not known yet: authorized on every revision of the family.
    ecs::authorize_tags(ctx, &ecs::arn(ctx.scope(), "task-definition", &format!("{family}:*")), &tags).await?;
    let scope = ctx.scope();
    for member in ["taskRoleArn", "executionRoleArn"] {
        if let Some(role_arn) = role_member(body, member) {
            check_task_role(ctx, role_arn, &ecs::arn(ctx.scope(), "task-definition", family)).await?;
        }
    }

    let now = ids::now();
    let mut document = json!({
        "family": family,
        "containerDefinitions": containers,
        "networkMode": network_mode,
        "volumes": body.get("volumes").filter(|v| v.is_array()).cloned().unwrap_or(json!([])),
        "status": TaskDefinitionStatus::Active.as_str(),
        "requiresAttributes": [],
        "placementConstraints": body.get("placementConstraints").cloned().unwrap_or(json!([])),
        "requiresCompatibilities": requires,
        "registeredAt": now,
        "registeredBy": ctx.identity.arn(),
    });
    for member in ["taskRoleArn", "executionRoleArn"] {
        if let Some(role_arn) = role_member(body, member) {
            put(&mut document, member, role_arn);
        }
    }
    if let Some(platform) = body.get("runtimePlatform").filter(|p| p.as_object().is_some_and(|p| !p.is_empty())) {
        put(&mut document, "runtimePlatform", platform.clone());
    }
    for (member, size) in [("cpu", Size::Cpu), ("memory", Size::Memory)] {
        if let Some(value) = body.get(member).and_then(Json::as_str).filter(|v| !v.is_empty()) {
            put(&mut document, member, fargate::normalized(size, value).map_err(client)?);
        }
    }
    for member in ["pidMode", "ipcMode"] {
        if let Some(value) = body.get(member).filter(|value| value.as_str().is_some_and(|v| !v.is_empty())) {
            put(&mut document, member, value.clone());
        }
    }
    if requires.contains(&"FARGATE") {
        if let Some(violation) = fargate::violation(&document) {
            return Err(client(violation));
        }
    }
    let compatibilities = fargate::compatibilities(&document);
    put(&mut document, "compatibilities", compatibilities);
    // The next revision: one more than any this family ever had, claimed by the insert's
    // unique key, so concurrent registrations get distinct revisions.
    for _ in 0..5 {
        let revision = model::next_revision(&ctx.app.store, scope, family).await?;
        let arn = ecs::arn(ctx.scope(), "task-definition", &format!("{family}:{revision}"));
        put(&mut document, "taskDefinitionArn", arn.as_str());
        put(&mut document, "revision", revision);
        let new = NewRevision { arn: &arn, family, revision, document: &document, registered_at: now };
        if model::register(&ctx.app.store, scope, &new, &tags).await? {
            let tags: Vec<Json> = tags.iter().map(|(key, value)| json!({"key": key, "value": value})).collect();
            return Ok(json!({"taskDefinition": document, "tags": tags}));
        }
    }
    Err(ecs::errors::server("Too many concurrent registrations of this family; retry."))
}

/// A role member of a task definition (`taskRoleArn`, `executionRoleArn`): an empty string is
/// no role, as ECS reads it (Ansible's `ecs_taskdefinition` sends `taskRoleArn: ""`).
fn role_member<'a>(body: &'a Json, member: &str) -> Option<&'a str> {
    body.get(member).and_then(Json::as_str).filter(|role_arn| !role_arn.is_empty())
}

/// The task definition a `taskDefinition` member names: `family` (its latest ACTIVE
/// revision), `family:revision` or an ARN.
pub(crate) async fn find_task_definition(
    app: &App,
    scope: Scope<'_>,
    reference: &str,
) -> Result<Option<Json>, AwsError> {
    let reference = match reference.split_once(":task-definition/") {
        Some((_, rest)) if reference.starts_with("arn:") => rest,
        _ => reference,
    };
    let found = match reference.split_once(':') {
        Some((family, revision)) => {
            let revision = revision.parse::<i64>().map_err(|_| client("Invalid revision number."))?;
            model::find_revision(&app.store, scope, family, revision).await?
        }
        None => model::find_latest_active(&app.store, scope, reference).await?,
    };
    Ok(found.map(model::TaskDefinition::into_document))
}

fn unable_to_describe() -> AwsError {
    client("Unable to describe task definition.")
}

async fn describe_task_definition(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let reference = ecs::required(ctx.body, "taskDefinition")?;
    let document = find_task_definition(ctx.app, ctx.scope(), reference).await?.ok_or_else(unable_to_describe)?;
    let mut answer = json!({"taskDefinition": document});
    let include_tags =
        ctx.body.get("include").and_then(Json::as_array).is_some_and(|items| items.iter().any(|i| i == "TAGS"));
    if include_tags {
        let arn = document.get("taskDefinitionArn").and_then(Json::as_str).unwrap_or_default();
        put(&mut answer, "tags", ecs::load_tags(&ctx.app.store, ctx.account(), arn).await?);
    }
    Ok(answer)
}

fn status_filter(body: &Json, allowed: &[&str], default: &str) -> Result<String, AwsError> {
    let status = body.get("status").and_then(Json::as_str).unwrap_or(default);
    if allowed.contains(&status) {
        Ok(status.to_owned())
    } else {
        Err(invalid_parameter(format!("Invalid status '{status}'.")))
    }
}

async fn list_task_definitions(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let page = ecs::Page::from_body(ctx.body, 100, 100)?;
    let status = status_filter(ctx.body, &["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"], "ACTIVE")?;
    // Despite its name, ListTaskDefinitions' `familyPrefix` is a whole family's name (as ECS
    // documents it); ListTaskDefinitionFamilies' is a prefix.
    let family_name = ctx.body.get("familyPrefix").and_then(Json::as_str);
    let descending = ctx.body.get("sort").and_then(Json::as_str) == Some("DESC");
    let status = TaskDefinitionStatus::parse(&status).unwrap_or(TaskDefinitionStatus::Active);
    let mut arns = Vec::new();
    for (arn, family) in model::arns(&ctx.app.store, ctx.scope(), status, descending).await? {
        if family_name.is_none_or(|name| family == name) {
            arns.push(Json::String(arn));
        }
    }
    Ok(page.answer("taskDefinitionArns", arns))
}

async fn list_task_definition_families(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let page = ecs::Page::from_body(ctx.body, 100, 100)?;
    let status = status_filter(ctx.body, &["ACTIVE", "INACTIVE", "ALL"], "ACTIVE")?;
    let prefix = ctx.body.get("familyPrefix").and_then(Json::as_str).unwrap_or_default();
    // A family is ACTIVE while one of its revisions is, INACTIVE once none is.
    let mut families = Vec::new();
    for (family, active) in model::families(&ctx.app.store, ctx.scope()).await? {
        let wanted = match status.as_str() {
            "ALL" => true,
            "ACTIVE" => active,
            _ => !active,
        };
        if wanted && family.starts_with(prefix) {
            families.push(Json::String(family));
        }
    }
    Ok(page.answer("families", families))
}

async fn deregister_task_definition(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let reference = ecs::required(ctx.body, "taskDefinition")?;
    if !reference.contains(':') || reference.ends_with(':') {
        return Err(client("The specified task definition identifier is invalid. Specify a valid revision."));
    }
    let document = find_task_definition(ctx.app, ctx.scope(), reference).await?.ok_or_else(unable_to_describe)?;
    let arn = document.get("taskDefinitionArn").and_then(Json::as_str).unwrap_or_default().to_owned();
    model::deregister(&ctx.app.store, &arn, ids::now()).await?;
    let document = find_task_definition(ctx.app, ctx.scope(), reference).await?.ok_or_else(unable_to_describe)?;
    Ok(json!({"taskDefinition": document}))
}

async fn delete_task_definitions(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let references: Vec<&str> = ecs::strings(ctx.body, "taskDefinitions");
    if references.is_empty() || references.len() > 10 {
        return Err(invalid_parameter("taskDefinitions must have between 1 and 10 items."));
    }
    let mut deleted = Vec::new();
    let mut failures = Vec::new();
    for reference in references {
        let document =
            if reference.contains(':') { find_task_definition(ctx.app, ctx.scope(), reference).await? } else { None };
        let Some(document) = document else {
            failures.push(json!({"arn": reference, "reason": "TASK_DEFINITION_NOT_FOUND"}));
            continue;
        };
        let arn = document.get("taskDefinitionArn").and_then(Json::as_str).unwrap_or_default().to_owned();
        let changed = model::mark_deleting(&ctx.app.store, &arn).await?;
        if !changed {
            failures.push(json!({"arn": arn, "reason": "The specified task definition is still in ACTIVE status. Deregister the task definition first."}));
            continue;
        }
        let mut document = document;
        put(&mut document, "status", TaskDefinitionStatus::DeleteInProgress.as_str());
        put(&mut document, "deleteRequestedAt", ids::now());
        deleted.push(document);
    }
    Ok(json!({"taskDefinitions": deleted, "failures": failures}))
}
