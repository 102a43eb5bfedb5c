//! GetTaskCredentials: the agent's request for a task's role credentials, Homeport's form of
//! the `IAMRoleCredentials` messages ECS pushes on its ACS channel
//! (`docs/ecs-agent-protocol.md`, section 4).
//!
//! Authorized as `ecs:Poll` on the container instance (the action
//! AmazonEC2ContainerServiceforEC2Role grants for the agent's channel), and answered only to
//! the agent of the instance the task is placed on (the caller's session must be that managed
//! instance's own: a task's session never is, whatever its policies allow), and only while the
//! task has not stopped (its execution role for three hours more, for the agent to ship its
//! last output). The role is the task's `taskRoleArn` (`TaskApplication`) or
//! `executionRoleArn` (`TaskExecution`), which RegisterTaskDefinition, RunTask, StartTask and
//! the service operations checked (`iam:PassRole`); its trust in `ecs-tasks.amazonaws.com` is
//! checked again on every request, so removing it stops running tasks from getting
//! credentials. The session is named after the task id, so the task acts as
//! `arn:aws:sts::ACCOUNT:assumed-role/ROLE/TASKID`, lasts an hour, is issued to the task (a
//! `Task` session) and is revoked with the managed instance (deregistering it ends the
//! session).

use agent_protocol::credentials::{RoleType, TaskCredentials, TaskCredentialsAnswer, TaskCredentialsRequest};
use aws_protocol::AwsError;
use serde_json::Value as Json;

use super::model::task::{TaskStatus, load_task, task_id};
use super::tasks::polling_instance;
use crate::auth::SessionKind;
use crate::ecs::{self, invalid_parameter};
use crate::iam::roles::find_role;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};
use crate::sts::sessions::{SessionGrant, issue_role_session};

/// How long task credentials live (ECS's are an hour too; a role allows at least that).
const TASK_SESSION_SECONDS: i64 = 3_600;
/// How long after a task stops its execution role is still issued (the agent's clean-up wait).
const EXECUTION_AFTER_STOP_SECONDS: i64 = 3 * 3_600;

operation!(
    ecs,
    GET_TASK_CREDENTIALS,
    "GetTaskCredentials",
    AgentTraffic,
    |ctx| Box::pin(async move { Ok(vec![ecs::required(ctx.body, "containerInstance")?.to_owned()]) }),
    |ctx| json_op(get_task_credentials(ctx)),
    authorization = Instance,
    action = "ecs:Poll"
);

/// The member of a task naming one of its roles.
fn role_member(role_type: RoleType) -> &'static str {
    match role_type {
        RoleType::Application => "taskRoleArn",
        RoleType::Execution => "executionRoleArn",
    }
}

async fn get_task_credentials(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let instance = polling_instance(ctx).await?;
    let request: TaskCredentialsRequest = ecs::agent_request(ctx.body)?;
    let task_arn = ecs::not_blank(&request.task_arn, "taskArn")?;
    let role_type = ecs::not_blank(&request.role_type, "roleType")?;
    let role_type = RoleType::parse(role_type).ok_or_else(|| {
        invalid_parameter(format!("roleType `{role_type}` is not valid; expected TaskApplication or TaskExecution."))
    })?;
    let member = role_member(role_type);
    let not_here = || invalid_parameter("The referenced task was not found on this container instance.");
    let task = load_task(&ctx.app.store, &ctx.app.account_id, task_arn).await?.ok_or_else(not_here)?;
    if task.container_instance_arn.as_deref() != Some(instance.arn.as_str()) {
        return Err(not_here());
    }
    if task.last_status == TaskStatus::Stopped {
        // The execution role outlives the task a little: the agent ships the last lines of
        // its output with it (until its containers are cleaned up, as ECS's agent keeps them).
        let stopped_at = task.body.get("stoppedAt").and_then(Json::as_i64).unwrap_or(0);
        let cleaning_up = crate::ids::now() - stopped_at < EXECUTION_AFTER_STOP_SECONDS;
        if role_type != RoleType::Execution || !cleaning_up {
            return Err(invalid_parameter("The task has stopped; its credentials are no longer issued."));
        }
    }
    let role_arn = task
        .payload
        .get(member)
        .and_then(Json::as_str)
        .ok_or_else(|| invalid_parameter(format!("The task has no {member}.")))?;
    let prefix = format!("arn:aws:iam::{}:role/", ctx.account());
    let name = role_arn.strip_prefix(&prefix).and_then(|rest| rest.rsplit('/').next()).unwrap_or_default();
    // The role must still be there and still trust ECS tasks (on behalf of this task, its
    // `aws:SourceArn`): ECS assumes it anew for every set of credentials, so a trust removed
    // since the task started ends its credentials.
    let role = find_role(&ctx.app.store, ctx.account(), name)
        .await?
        .filter(|role| role.arn(ctx.account()) == role_arn)
        .filter(|role| {
            let service = "ecs-tasks.amazonaws.com";
            crate::authz::trusts_service(ctx.app, &role.trust_policy, role_arn, service, Some(task_arn))
        })
        .ok_or_else(|| {
            ecs::client(format!(
                "ECS was unable to assume the role '{role_arn}' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role."
            ))
        })?;
    let session_name = task_id(task_arn);
    // The task's session, which ends with its instance but never acts as it.
    let grant = SessionGrant {
        policy: None,
        policy_arns: &[],
        tags: &[],
        kind: &SessionKind::Task,
        revoked_with: Some(&instance.instance_id),
        mfa_at: None,
        source_identity: None,
        transitive: &[],
    };
    let duration = TASK_SESSION_SECONDS.min(role.max_session_duration);
    let issued = issue_role_session(ctx.app, &role, session_name, duration, &grant, &ctx.facts.region).await?;
    ecs::agent_json(&TaskCredentialsAnswer {
        credentials: TaskCredentials {
            access_key_id: issued.access_key_id,
            secret_access_key: issued.secret_access_key,
            session_token: issued.session_token,
            expiration: issued.expires_at,
            role_arn: role_arn.to_owned(),
            role_type,
        },
    })
}
