//! ECS daemon task definitions: RegisterDaemonTaskDefinition, DescribeDaemonTaskDefinition,
//! ListDaemonTaskDefinitions and DeleteDaemonTaskDefinition.
//!
//! A daemon task definition is a registry entry of its own: revisions of a family count up
//! from 1 and are never reused, each `ACTIVE` until DeleteDaemonTaskDefinition moves it to
//! `DELETE_IN_PROGRESS` (ECS's `DaemonTaskDefinitionStatus`; there is no `INACTIVE` for
//! daemon task definitions). Nothing runs one here: a daemon needs an ECS Managed Instances
//! capacity provider, which an external fleet has none of (`ecs::daemons`), so a revision is
//! only stored, described and listed, and every member the model admits is kept as sent.
//!
//! Checks, beyond the model's (which the pipeline makes first): the family's and containers'
//! names, between 1 and 10 containers with distinct names, a memory limit or reservation for
//! each container unless the task has one, at least one essential container, `dependsOn`
//! naming containers of the definition; volumes, mount points and container settings by the
//! task definition's own checks (`task_definition_checks`), whose shapes these share. A task
//! or execution role needs `iam:PassRole` to `ecs-tasks.amazonaws.com` and must trust it, as
//! for task definitions. Errors are ECS's `ClientException` with its task definition words.
//!
//! Authorization: Register on `*` (as RegisterTaskDefinition; its revision is not known
//! yet), tags on every revision of the family (`daemon-task-definition/FAMILY:*`); Describe
//! and Delete on the stored revision's canonical ARN
//! (`arn:aws:ecs:REGION:ACCOUNT:daemon-task-definition/FAMILY:REVISION`), resolved from the
//! name, `family:revision` or ARN the request gives; List on `*`.

use aws_protocol::AwsError;
use serde_json::{Map, Value as Json, json};

use super::model::daemon_task_definition::{self as model, DaemonTaskDefinition, DaemonTaskDefinitionStatus};
use super::task_definition_checks;
use super::task_definitions::check_task_role;
use crate::ecs::{self, client, invalid_parameter, put};
use crate::ids;
use crate::operations::{Ctx, json as json_op, operation};
use crate::regions::Scope;

operation!(
    ecs,
    REGISTER_DAEMON_TASK_DEFINITION,
    "RegisterDaemonTaskDefinition",
    Write,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| json_op(register(ctx))
);
operation!(
    ecs,
    DESCRIBE_DAEMON_TASK_DEFINITION,
    "DescribeDaemonTaskDefinition",
    Read,
    |ctx| Box::pin(resource(ctx)),
    |ctx| json_op(describe(ctx))
);
operation!(
    ecs,
    LIST_DAEMON_TASK_DEFINITIONS,
    "ListDaemonTaskDefinitions",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| json_op(list(ctx))
);
operation!(
    ecs,
    DELETE_DAEMON_TASK_DEFINITION,
    "DeleteDaemonTaskDefinition",
    Write,
    |ctx| Box::pin(resource(ctx)),
    |ctx| json_op(delete(ctx))
);

/// The resource type of a daemon task definition's ARN.
const KIND: &str = "daemon-task-definition";

/// Containers a daemon task definition may have (as a task definition).
const MAX_CONTAINERS: usize = 10;

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The stored revision a `daemonTaskDefinition` member names: `family` (its latest `ACTIVE`
/// revision), `family:revision` or an ARN of this scope.
pub(crate) async fn find(
    store: &store::Store,
    scope: Scope<'_>,
    reference: &str,
) -> Result<Option<DaemonTaskDefinition>, AwsError> {
    let reference = match reference.split_once(":daemon-task-definition/") {
        Some((prefix, rest)) if reference.starts_with("arn:") => {
            // Another account's or region's ARN names nothing here.
            if prefix != format!("arn:aws:ecs:{}:{}", scope.region, scope.account) {
                return Ok(None);
            }
            rest
        }
        _ => reference,
    };
    match reference.split_once(':') {
        Some((family, revision)) => {
            let revision = revision.parse::<i64>().map_err(|_| client("Invalid revision number."))?;
            model::find_revision(store, scope, family, revision).await
        }
        None => model::find_latest_active(store, scope, reference).await,
    }
}

/// What Describe and Delete are authorized on: the stored revision's ARN, or, for one that
/// does not exist (refused after authorization), the reference as an ARN.
async fn resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let reference = ecs::required(ctx.body, "daemonTaskDefinition")?;
    let stored = match find(&ctx.app.store, ctx.scope(), reference).await {
        Ok(definition) => definition,
        // A malformed reference is refused by the operation, after authorization.
        Err(error) if error.status == 400 => None,
        Err(error) => return Err(error),
    };
    Ok(vec![match stored {
        Some(definition) => definition.arn,
        None if reference.starts_with("arn:") => reference.to_owned(),
        None => ecs::arn(ctx.scope(), KIND, reference),
    }])
}

/// Validates one container definition and fills in ECS's defaults.
fn container(value: &Json, task_memory: bool) -> Result<Json, AwsError> {
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
    for (member, default) in
        [("cpu", json!(0)), ("essential", json!(true)), ("environment", json!([])), ("mountPoints", json!([]))]
    {
        container.entry(member.to_owned()).or_insert(default);
    }
    Ok(Json::Object(container))
}

/// The containers of a request, validated as a whole.
fn containers(body: &Json) -> Result<Vec<Json>, AwsError> {
    let task_memory = body.get("memory").and_then(Json::as_str).is_some_and(|memory| !memory.is_empty());
    let definitions = body.get("containerDefinitions").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    if definitions.is_empty() {
        return Err(client("Container list cannot be empty."));
    }
    if definitions.len() > MAX_CONTAINERS {
        return Err(client(format!(
            "Too many containers: a daemon task definition can have at most {MAX_CONTAINERS}."
        )));
    }
    let containers =
        definitions.iter().map(|definition| container(definition, task_memory)).collect::<Result<Vec<_>, _>>()?;
    let names: Vec<&str> = containers.iter().filter_map(|c| c.get("name").and_then(Json::as_str)).collect();
    if let Some(duplicate) =
        names.iter().enumerate().find(|(index, name)| names.get(..*index).is_some_and(|before| before.contains(name)))
    {
        return Err(client(format!("Duplicate container name '{}' in the task definition.", duplicate.1)));
    }
    if !containers.iter().any(|c| c.get("essential") == Some(&json!(true))) {
        return Err(client("Task definition must have at least one essential container."));
    }
    let volume_names = task_definition_checks::volumes(body)?;
    for container in containers.iter().filter_map(Json::as_object) {
        task_definition_checks::mounts(container, &volume_names, &names)?;
        task_definition_checks::settings(container)?;
        for dependency in container.get("dependsOn").and_then(Json::as_array).into_iter().flatten() {
            let target = dependency.get("containerName").and_then(Json::as_str).unwrap_or_default();
            if !names.contains(&target) {
                return Err(client(format!(
                    "Container dependency on '{target}', which is not in the task definition."
                )));
            }
        }
    }
    Ok(containers)
}

/// A string member that is set: an empty string (a role of none) is absent, as ECS reads it.
fn non_empty<'a>(body: &'a Json, member: &str) -> Option<&'a str> {
    body.get(member).and_then(Json::as_str).filter(|role_arn| !role_arn.is_empty())
}

async fn register(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let body = ctx.body;
    let family = body.get("family").and_then(Json::as_str).unwrap_or_default();
    if !valid_name(family) {
        return Err(client(
            "Family must be between 1 and 255 characters and can contain letters, numbers, hyphens and underscores.",
        ));
    }
    let containers = containers(body)?;
    let tags = ecs::tags_from_body(body)?;
    let scope = ctx.scope();
    ecs::authorize_tags(ctx, &ecs::arn(scope, KIND, &format!("{family}:*")), &tags).await?;
    for member in ["taskRoleArn", "executionRoleArn"] {
        if let Some(role_arn) = non_empty(body, member) {
            check_task_role(ctx, role_arn, &ecs::arn(scope, KIND, family)).await?;
        }
    }
    let now = ids::now();
    let mut document = json!({
        "family": family,
        "containerDefinitions": containers,
        "volumes": body.get("volumes").filter(|v| v.is_array()).cloned().unwrap_or(json!([])),
        "status": DaemonTaskDefinitionStatus::Active.as_str(),
        "registeredAt": now,
        "registeredBy": ctx.identity.arn(),
    });
    for member in ["taskRoleArn", "executionRoleArn", "cpu", "memory"] {
        if let Some(value) = non_empty(body, member) {
            put(&mut document, member, value);
        }
    }
    // The next revision: one more than any this family ever had, claimed by the insert's
    // unique key, so concurrent registrations get distinct revisions.
    for _ in 0..5 {
        let revision = model::next_revision(&ctx.app.store, scope, family).await?;
        let arn = ecs::arn(scope, KIND, &format!("{family}:{revision}"));
        put(&mut document, "daemonTaskDefinitionArn", arn.as_str());
        put(&mut document, "revision", revision);
        let new = model::NewRevision { arn: &arn, family, revision, document: &document, registered_at: now };
        if model::register(&ctx.app.store, scope, &new, &tags).await? {
            return Ok(json!({"daemonTaskDefinitionArn": arn}));
        }
    }
    Err(ecs::errors::server("Too many concurrent registrations of this family; retry."))
}

fn unable_to_describe() -> AwsError {
    client("Unable to describe daemon task definition.")
}

async fn describe(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let reference = ecs::required(ctx.body, "daemonTaskDefinition")?;
    let found = find(&ctx.app.store, ctx.scope(), reference).await?.ok_or_else(unable_to_describe)?;
    Ok(json!({"daemonTaskDefinition": found.into_document()}))
}

async fn list(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let body = ctx.body;
    let page = ecs::Page::from_body(body, 100, 100)?;
    // The model's enums (ACTIVE, DELETE_IN_PROGRESS, ALL; LAST_REGISTERED; ASC, DESC) are
    // checked by the pipeline before this runs.
    let statuses: &[DaemonTaskDefinitionStatus] = match body.get("status").and_then(Json::as_str) {
        Some("ALL") => &DaemonTaskDefinitionStatus::ALL,
        Some("DELETE_IN_PROGRESS") => &[DaemonTaskDefinitionStatus::DeleteInProgress],
        _ => &[DaemonTaskDefinitionStatus::Active],
    };
    let descending = body.get("sort").and_then(Json::as_str) == Some("DESC");
    let last_registered = body.get("revision").and_then(Json::as_str) == Some("LAST_REGISTERED");
    let family = body.get("family").and_then(Json::as_str);
    let prefix = body.get("familyPrefix").and_then(Json::as_str).unwrap_or_default();
    if family.is_some() && !prefix.is_empty() {
        return Err(invalid_parameter("family and familyPrefix can not be specified together."));
    }
    let mut found = model::list(&ctx.app.store, ctx.scope(), statuses, descending).await?;
    found.retain(|definition| {
        family.is_none_or(|family| definition.family == family) && definition.family.starts_with(prefix)
    });
    if last_registered {
        // The highest revision of each family among those listed.
        let highest = |family: &str, found: &[DaemonTaskDefinition]| {
            found.iter().filter(|d| d.family == family).map(|d| d.revision).max().unwrap_or_default()
        };
        let kept: Vec<bool> = found.iter().map(|d| d.revision == highest(&d.family, &found)).collect();
        let mut kept = kept.into_iter();
        found.retain(|_| kept.next().unwrap_or(false));
    }
    let summaries = found.iter().map(DaemonTaskDefinition::summary).collect();
    Ok(page.answer("daemonTaskDefinitions", summaries))
}

async fn delete(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let reference = ecs::required(ctx.body, "daemonTaskDefinition")?;
    let named = reference.split_once(":daemon-task-definition/").map_or(reference, |(_, rest)| rest);
    if !named.contains(':') || named.ends_with(':') {
        return Err(client("The specified daemon task definition identifier is invalid. Specify a valid revision."));
    }
    let found = find(&ctx.app.store, ctx.scope(), reference).await?.ok_or_else(unable_to_describe)?;
    if !model::mark_deleting(&ctx.app.store, &found.arn, ids::now()).await? {
        return Err(client(
            "The specified daemon task definition is not in ACTIVE status. Only an ACTIVE daemon task definition can be deleted.",
        ));
    }
    Ok(json!({"daemonTaskDefinitionArn": found.arn}))
}
