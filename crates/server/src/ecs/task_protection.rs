//! ECS's task scale-in protection: UpdateTaskProtection and GetTaskProtection, for the tasks
//! of a service (a standalone task has no scale-in to be protected from).
//!
//! A protection lasts `expiresInMinutes` (1 to 2,880; 120 when not given) and is kept with
//! its expiry (`model::task_protection`); while it lasts, the service scheduler neither scales
//! the task in nor replaces it in a deployment (`service_plan`). Each task is answered on
//! its own: one that is not in the cluster is a `MISSING` failure, one that is not a
//! service's or has been told to stop `TASK_NOT_VALID`. Both are authorized on the tasks'
//! ARNs (`ecs:UpdateTaskProtection`, `ecs:GetTaskProtection`).

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::clusters::active_cluster;
use super::model::task::{DesiredStatus, load_task};
use super::model::task_protection as model;
use super::tasks::task_arn;
use crate::ecs::{self, cluster_arn, invalid_parameter};
use crate::ids;
use crate::operations::{Ctx, json as json_op, operation};

operation!(
    ecs,
    UPDATE_TASK_PROTECTION,
    "UpdateTaskProtection",
    Write,
    |ctx| Box::pin(async move { tasks(ctx) }),
    |ctx| { json_op(update_task_protection(ctx)) }
);
operation!(ecs, GET_TASK_PROTECTION, "GetTaskProtection", Read, |ctx| Box::pin(async move { tasks(ctx) }), |ctx| {
    json_op(get_task_protection(ctx))
});

/// The ARNs of the tasks a request names (1 to 10).
fn tasks(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let references = ecs::strings(ctx.body, "tasks");
    if references.is_empty() || references.len() > 10 {
        return Err(invalid_parameter("tasks must have between 1 and 10 items."));
    }
    let cluster = cluster_arn(ctx.scope(), ctx.body);
    Ok(references.iter().map(|reference| task_arn(ctx.scope(), &cluster, reference)).collect())
}

/// Why a task cannot be protected, as a `Failure`; `None` for a live task of a service.
async fn refusal(ctx: &Ctx<'_>, cluster: &str, arn: &str) -> Result<Option<Json>, AwsError> {
    let task = load_task(&ctx.app.store, ctx.account(), arn).await?.filter(|task| task.cluster_arn == cluster);
    let Some(task) = task else { return Ok(Some(json!({"arn": arn, "reason": "MISSING"}))) };
    let of_service = task.body.get("group").and_then(Json::as_str).is_some_and(|group| group.starts_with("service:"));
    if !of_service {
        return Ok(Some(
            json!({"arn": arn, "reason": "TASK_NOT_VALID", "detail": "The task is not part of a service."}),
        ));
    }
    if task.desired_status == DesiredStatus::Stopped {
        return Ok(Some(json!({"arn": arn, "reason": "TASK_NOT_VALID", "detail": "The task is stopping or stopped."})));
    }
    Ok(None)
}

/// ECS's `ProtectedTask` shape.
fn protected_task(arn: &str, expires_at: Option<i64>) -> Json {
    match expires_at {
        Some(at) => json!({"taskArn": arn, "protectionEnabled": true, "expirationDate": at}),
        None => json!({"taskArn": arn, "protectionEnabled": false}),
    }
}

async fn update_task_protection(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let enabled = ctx
        .body
        .get("protectionEnabled")
        .and_then(Json::as_bool)
        .ok_or_else(|| invalid_parameter("protectionEnabled can not be blank."))?;
    let minutes = match ctx.body.get("expiresInMinutes") {
        None | Some(Json::Null) => 120,
        Some(value) => value
            .as_i64()
            .filter(|minutes| (1..=2880).contains(minutes))
            .ok_or_else(|| invalid_parameter("expiresInMinutes must be between 1 and 2880."))?,
    };
    let expires_at = enabled.then(|| ids::now() + minutes * 60);
    let (mut protected, mut failures) = (Vec::new(), Vec::new());
    for arn in tasks(ctx)? {
        match refusal(ctx, &cluster.arn, &arn).await? {
            Some(failure) => failures.push(failure),
            None => {
                model::set(&ctx.app.store, ctx.scope(), &arn, &cluster.arn, expires_at).await?;
                protected.push(protected_task(&arn, expires_at));
            }
        }
    }
    Ok(json!({"protectedTasks": protected, "failures": failures}))
}

async fn get_task_protection(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let now = ids::now();
    let (mut protected, mut failures) = (Vec::new(), Vec::new());
    for arn in tasks(ctx)? {
        match refusal(ctx, &cluster.arn, &arn).await? {
            Some(failure) => failures.push(failure),
            None => protected.push(protected_task(&arn, model::of(&ctx.app.store, ctx.scope(), &arn, now).await?)),
        }
    }
    Ok(json!({"protectedTasks": protected, "failures": failures}))
}
