//! ECS Exec's ExecuteCommand, refused as ECS refuses it for a task without the exec agent:
//! Homeport's agent runs no execute-command agent and every task it runs has
//! `enableExecuteCommand` false (a launch asking for it is refused, `ecs::unsupported`).
//! Authorized as `ecs:ExecuteCommand` on the task.

use aws_protocol::AwsError;
use serde_json::Value as Json;

use super::clusters::active_cluster;
use super::model::tags::{self as resources, Taggable};
use super::tasks::task_resource;
use crate::ecs::{self, invalid_parameter};
use crate::operations::{Ctx, json as json_op, operation};

operation!(ecs, EXECUTE_COMMAND, "ExecuteCommand", Write, |ctx| Box::pin(async move { task_resource(ctx) }), |ctx| {
    json_op(execute_command(ctx))
});

async fn execute_command(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    ecs::required(ctx.body, "command")?;
    let arn = task_resource(ctx)?.into_iter().next().unwrap_or_default();
    if resources::status_of(&ctx.app.store, ctx.scope(), Taggable::Task, &arn).await?.is_none() {
        return Err(invalid_parameter("The referenced task was not found."));
    }
    Err(invalid_parameter(
        "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn't running. Wait and try again or run a new task with execute command enabled and try again.",
    ))
}
