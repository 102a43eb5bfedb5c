//! Field indexes: DescribeFieldIndexes and DescribeIndexPolicies.
//!
//! Homeport keeps no field indexes and no index policies (PutIndexPolicy is not served, and
//! Logs Insights scans a group's events in time order without them), so for groups that
//! exist both answer an empty list; a group that does not exist is CloudWatch's
//! `ResourceNotFoundException`. The groups are named by `logGroupIdentifiers` (names or this
//! account's and region's group ARNs) and each is authorized on its own ARN.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::{NamedGroup, group_exists, identified_group, no_group};
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};

operation!(
    logs,
    DESCRIBE_FIELD_INDEXES,
    "DescribeFieldIndexes",
    Read,
    |ctx| Box::pin(async move { Ok(groups(ctx).into_iter().map(|group| group.arn).collect()) }),
    |ctx| json_op(describe(ctx, "fieldIndexes"))
);
operation!(
    logs,
    DESCRIBE_INDEX_POLICIES,
    "DescribeIndexPolicies",
    Read,
    |ctx| Box::pin(async move { Ok(groups(ctx).into_iter().map(|group| group.arn).collect()) }),
    |ctx| json_op(describe(ctx, "indexPolicies"))
);

/// The groups `logGroupIdentifiers` names (the model has checked it lists 1 to 100).
fn groups<'a>(ctx: &'a Ctx<'_>) -> Vec<NamedGroup<'a>> {
    ctx.body
        .get("logGroupIdentifiers")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .map(|identifier| identified_group(ctx.scope(), identifier))
        .collect()
}

async fn describe(ctx: &Ctx<'_>, list: &str) -> Result<Json, AwsError> {
    // No page is ever cut short, so no token was ever handed out.
    if ctx.body.get("nextToken").is_some() {
        return Err(super::invalid_parameter("The specified nextToken is invalid."));
    }
    for group in groups(ctx) {
        if !group.here || !group_exists(ctx.app, ctx.scope(), group.name).await? {
            return Err(no_group());
        }
    }
    let mut answer = json!({});
    crate::operations::put(&mut answer, list, json!([]));
    Ok(answer)
}
