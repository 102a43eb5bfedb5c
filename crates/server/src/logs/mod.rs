//! CloudWatch Logs: what its operations share (target prefix, errors, names, ARNs, paging)
//! and the retention pass. Log groups and streams are in `groups`
//! (Create/Delete/DescribeLogGroups, Create/Delete/DescribeLogStreams,
//! Put/DeleteRetentionPolicy), events in `events`, group tags in `tags`, metric and
//! subscription filters and resource policies in `filters`, Logs Insights queries in
//! `queries` (Start/Stop/DescribeQueries, GetQueryResults, GetLogRecord) with their
//! background run in `query_run` and their language in the `logs-insights` crate, saved
//! queries in `query_definitions` (Put/Describe/DeleteQueryDefinition).
//!
//! Names follow CloudWatch's rules (groups `[.\-_/#A-Za-z0-9]{1,512}`, streams without `:` or
//! `*`). A group's retention, when set, is one of CloudWatch's allowed day counts, and events
//! older than it are deleted by the server's periodic pass (`expire`) and never returned.
//! What CloudWatch Logs stores, and the SQL, is the domain layer's (`model`).

pub(crate) mod errors;
pub(crate) mod events;
pub(crate) mod filters;
pub(crate) mod groups;
pub(crate) mod model;
pub(crate) mod queries;
pub(crate) mod query_definitions;
pub(crate) mod query_run;
pub(crate) mod tags;

use aws_protocol::AwsError;
use serde_json::Value as Json;

use crate::app::App;
use crate::ids;
use crate::operations::Ctx;
use crate::regions::Scope;

/// The `X-Amz-Target` prefix of CloudWatch Logs.
pub const LOGS_TARGET: &str = "Logs_20140328";

use errors::validation;
pub use errors::{invalid_parameter, no_group, no_stream};

/// The service as the pipeline routes it.
pub const SERVICE: crate::operations::Service = crate::operations::Service {
    name: "logs",
    protocol: aws_protocol::Protocol::Json,
    namespace: LOGS_TARGET,
    authorization: crate::operations::Authorization::Policies,
    internal_error: errors::internal_error,
    admits: crate::operations::admit_all,
};

/// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME`.
pub fn group_arn(scope: Scope<'_>, group: &str) -> String {
    model::group::arn(scope, group)
}

/// The log-group resource a request names (`logGroupName`).
pub fn group_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![group_arn(ctx.scope(), group_name(ctx.body)?)])
}

/// The log-stream resource a request names (`logGroupName` and `logStreamName`).
pub fn stream_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![format!("{}:log-stream:{}", group_arn(ctx.scope(), group_name(ctx.body)?), stream_name(ctx.body)?)])
}

/// The `logGroupName` member, checked against CloudWatch's pattern.
pub fn group_name(body: &Json) -> Result<&str, AwsError> {
    let name = body.get("logGroupName").and_then(Json::as_str).unwrap_or_default();
    let valid =
        !name.is_empty() && name.len() <= 512 && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c));
    if valid {
        Ok(name)
    } else {
        Err(validation("logGroupName", name, "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"))
    }
}

/// The `logStreamName` member, checked against CloudWatch's pattern.
pub fn stream_name(body: &Json) -> Result<&str, AwsError> {
    let name = body.get("logStreamName").and_then(Json::as_str).unwrap_or_default();
    if name.is_empty() || name.len() > 512 || name.contains(':') || name.contains('*') {
        return Err(validation("logStreamName", name, "Member must satisfy regular expression pattern: [^:*]*"));
    }
    Ok(name)
}

/// CloudWatch Logs' refusal of a KMS key it cannot use: Homeport runs no KMS, so every key id
/// names a key that does not exist.
pub fn no_kms_key(key: &str) -> AwsError {
    invalid_parameter(format!(
        "The specified KMS key {key} does not exist or is not allowed to be used: Homeport runs no KMS, so log groups cannot be encrypted with a KMS key."
    ))
}

/// Whether a log group exists.
pub async fn group_exists(app: &App, scope: Scope<'_>, group: &str) -> Result<bool, AwsError> {
    Ok(model::group::exists(&app.store, scope, group).await?)
}

/// `limit` (1 to 50, default 50) and an offset `nextToken`.
fn page(body: &Json) -> Result<(usize, usize), AwsError> {
    let limit = match body.get("limit") {
        None | Some(Json::Null) => 50,
        Some(value) => value
            .as_u64()
            .filter(|n| (1..=50).contains(n))
            .ok_or_else(|| validation("limit", &value.to_string(), "Member must have value between 1 and 50"))?,
    };
    let start = match body.get("nextToken").and_then(Json::as_str) {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| invalid_parameter("The specified nextToken is invalid."))?,
    };
    Ok((start, usize::try_from(limit).unwrap_or(50)))
}

fn paged(list: &str, items: Vec<Json>, start: usize, limit: usize) -> Json {
    crate::operations::json_page(list, "nextToken", items, start, limit)
}

/// Moves the events stored before migration 31 (one row each) into batches; run at start,
/// before the server takes a request.
pub async fn convert_legacy_events(app: &App) -> Result<(), crate::errors::StartError> {
    let moved = model::legacy_events::convert(&app.store)
        .await
        .map_err(|error| crate::errors::StartError(format!("cannot move log events into batches: {error}")))?;
    if moved > 0 {
        tracing::info!("moved {moved} log events stored one per row into batches");
    }
    Ok(())
}

/// Deletes the batches of events older than their group's retention (run periodically, and at once when
/// a retention is set).
pub async fn expire(app: &App) -> Result<(), AwsError> {
    Ok(model::event::expire(&app.store, ids::now() * 1000).await?)
}
