//! A log group's deletion protection: PutLogGroupDeletionProtection (and CreateLogGroup's
//! `deletionProtectionEnabled`, DescribeLogGroups' answer of it).
//!
//! Guarantees: while it is on, DeleteLogGroup deletes nothing and answers
//! `ValidationException` (the error the model added to DeleteLogGroup with the feature; the
//! message is Homeport's, AWS's was not found); the check is made in the deletion's own
//! transaction (`model::group::delete`). Only the group's deletion is blocked: its streams,
//! retention and filters change as before.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::model::group;
use super::{identified_group, no_group};
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op, missing};

operation!(
    logs,
    PUT_LOG_GROUP_DELETION_PROTECTION,
    "PutLogGroupDeletionProtection",
    Write,
    |ctx| Box::pin(async move { Ok(vec![identified_group(ctx.scope(), identifier(ctx.body)?).arn]) }),
    |ctx| json_op(put_protection(ctx))
);

/// DeleteLogGroup's refusal of a protected group.
pub fn protected(name: &str) -> AwsError {
    AwsError::new(
        "ValidationException",
        400,
        format!(
            "The log group {name} has deletion protection enabled: disable it with PutLogGroupDeletionProtection before deleting the group."
        ),
    )
}

/// The `logGroupIdentifier` member (a name or ARN; the model has checked it).
fn identifier(body: &Json) -> Result<&str, AwsError> {
    body.get("logGroupIdentifier").and_then(Json::as_str).ok_or_else(|| missing("logGroupIdentifier"))
}

async fn put_protection(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let group = identified_group(ctx.scope(), identifier(ctx.body)?);
    let enabled = ctx
        .body
        .get("deletionProtectionEnabled")
        .and_then(Json::as_bool)
        .ok_or_else(|| missing("deletionProtectionEnabled"))?;
    if group.here && group::set_deletion_protection(&ctx.app.store, ctx.scope(), group.name, enabled).await? {
        Ok(json!({}))
    } else {
        Err(no_group())
    }
}
