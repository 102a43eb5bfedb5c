//! The ECS operations only ECS's own container agent makes, as Homeport answers them: what
//! Homeport's agent does not need (it polls this server with its own protocol,
//! `docs/ecs-agent-protocol.md`) is still answered as ECS would, for an agent that asks.
//!
//! - DiscoverPollEndpoint (instance-only, as `Poll`, for the caller's own container instance):
//!   the endpoint to poll is this server's public URL; Homeport keeps no telemetry or Service Connect endpoint, so none is named.
//! - SubmitAttachmentStateChanges (instance-only, from a container instance of the cluster):
//!   Homeport makes no attachments (no awsvpc
//!   network interfaces, no Service Connect), so a report names one that does not exist and is
//!   refused; an empty report is acknowledged.
//! - UpdateContainerAgent: an external instance's agent is updated on its machine, not by
//!   ECS; ECS refuses it, and Homeport with it.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::clusters::active_cluster;
use super::container_instances::instance_arn;
use super::model::tags::{self as resources, Taggable};
use crate::ecs::{self, cluster_arn, invalid_parameter};
use crate::operations::{Ctx, account_wide, json as json_op, operation};

operation!(
    ecs,
    DISCOVER_POLL_ENDPOINT,
    "DiscoverPollEndpoint",
    AgentTraffic,
    account_wide,
    |ctx| json_op(discover_poll_endpoint(ctx)),
    authorization = Instance
);
operation!(
    ecs,
    SUBMIT_ATTACHMENT_STATE_CHANGES,
    "SubmitAttachmentStateChanges",
    AgentTraffic,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| json_op(submit_attachment_state_changes(ctx)),
    authorization = Instance
);
operation!(
    ecs,
    UPDATE_CONTAINER_AGENT,
    "UpdateContainerAgent",
    Write,
    |ctx| Box::pin(async move {
        let cluster = cluster_arn(ctx.scope(), ctx.body);
        Ok(vec![instance_arn(ctx.scope(), &cluster, ecs::required(ctx.body, "containerInstance")?)])
    }),
    |ctx| json_op(update_container_agent(ctx))
);

async fn discover_poll_endpoint(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    // A container instance named is the caller's own, as Poll's is.
    if let Some(reference) = ctx.body.get("containerInstance").and_then(Json::as_str) {
        let arn = instance_arn(ctx.scope(), &cluster_arn(ctx.scope(), ctx.body), reference);
        let owner = super::model::container_instance::owner(&ctx.app.store, &arn).await?;
        if owner.is_none() || owner.as_deref() != super::container_instances::caller_instance(ctx) {
            return Err(AwsError::new(
                "AccessDeniedException",
                403,
                "Only a container instance's own agent discovers its endpoint.",
            ));
        }
    }
    Ok(json!({"endpoint": format!("{}/", ctx.app.public_url.trim_end_matches('/'))}))
}

async fn submit_attachment_state_changes(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    // Only an agent of the cluster reports: its caller's container instance is registered there.
    let specs = &crate::ecs::channel::channels(ctx.app)?.specs;
    let registered = match super::container_instances::caller_instance(ctx) {
        Some(instance) => {
            super::model::container_instance::registration_of(&ctx.app.store, specs, &cluster.arn, instance).await?
        }
        None => None,
    };
    if registered.is_none() {
        return Err(AwsError::new(
            "AccessDeniedException",
            403,
            "Only a container instance of the cluster reports its attachments.",
        ));
    }
    let attachments = ctx.body.get("attachments").and_then(Json::as_array).cloned().unwrap_or_default();
    if let Some(attachment) = attachments.first() {
        let arn = attachment.get("attachmentArn").and_then(Json::as_str).unwrap_or_default();
        return Err(invalid_parameter(format!("The attachment {arn} does not exist.")));
    }
    Ok(json!({"acknowledgment": "ACK"}))
}

async fn update_container_agent(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let arn = instance_arn(ctx.scope(), &cluster.arn, ecs::required(ctx.body, "containerInstance")?);
    let status = resources::status_of(&ctx.app.store, ctx.scope(), Taggable::ContainerInstance, &arn).await?;
    if status.is_none() {
        return Err(invalid_parameter(format!("The container instance {arn} was not found.")));
    }
    Err(invalid_parameter(
        "UpdateContainerAgent is not supported for external container instances: update the agent on the instance itself.",
    ))
}
