//! CloudWatch Logs: what its operations share (target prefix, errors, names, ARNs, paging)
//! and the retention pass. Log groups and streams are in `groups`
//! (Create/Delete/DescribeLogGroups, Create/Delete/DescribeLogStreams,
//! Put/DeleteRetentionPolicy), events in `events`, group tags in `tags`, metric and
//! subscription filters and resource policies in `filters`, Logs Insights queries in
//! `queries` (Start/Stop/DescribeQueries, GetQueryResults, GetLogRecord) with their
//! background run in `query_run` and their language in the `logs-insights` crate, saved
//! queries in `query_definitions` (Put/Describe/DeleteQueryDefinition), destinations in
//! `destinations` (Put/Describe/DeleteDestination, PutDestinationPolicy), a group's KMS key
//! id in `kms` (Associate/DisassociateKmsKey), ListLogGroups in `list_groups` and
//! GetLogGroupFields in `group_fields`, DescribeFieldIndexes and DescribeIndexPolicies (empty:
//! Homeport keeps no indexes) in `field_indexes`, Put/Describe/DeleteAccountPolicy
//! (subscription filter policies) in `account_policies`, PutLogGroupDeletionProtection in
//! `protection`, vended-log delivery destinations in `deliveries` and their sources and
//! deliveries (none can exist) in `delivery_sources`, scheduled queries (run by the
//! background loop's `scheduled_queries::run_due`) in `scheduled_queries` with their
//! schedules in `schedule`. Reads of one group take it by `logGroupName` or
//! `logGroupIdentifier` ([`named_group`]).
//!
//! Names follow CloudWatch's rules (groups `[.\-_/#A-Za-z0-9]{1,512}`, streams without `:` or
//! `*`). A group's retention, when set, is one of CloudWatch's allowed day counts, and events
//! older than it are deleted by the server's periodic pass (`expire`) and never returned.
//! What CloudWatch Logs stores, and the SQL, is the domain layer's (`model`).

pub(crate) mod account_policies;
pub(crate) mod deliveries;
pub(crate) mod delivery_sources;
pub(crate) mod destinations;
pub(crate) mod errors;
pub(crate) mod events;
pub(crate) mod field_indexes;
pub(crate) mod filters;
pub(crate) mod group_fields;
pub(crate) mod groups;
pub(crate) mod kms;
pub(crate) mod list_groups;
pub(crate) mod lookup_tables;
pub(crate) mod model;
pub(crate) mod protection;
pub(crate) mod queries;
pub(crate) mod query_definitions;
pub(crate) mod query_run;
pub(crate) mod schedule;
pub(crate) mod scheduled_queries;
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

/// A log group as a request names it: by `logGroupName`, or by `logGroupIdentifier` (its
/// name, or its ARN without `:*`, as the model's pattern requires).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedGroup<'a> {
    /// The group's name.
    pub name: &'a str,
    /// The ARN it is authorized as: the group's own, or, for an ARN of another account or
    /// region, that ARN as given.
    pub arn: String,
    /// Whether it names a group of the request's account and region (Homeport has no linked
    /// accounts, so no other group can be read).
    pub here: bool,
}

/// The group a request names by `logGroupName` or `logGroupIdentifier`: exactly one of them
/// (both is CloudWatch's `ValidationException`).
pub fn named_group<'a>(ctx: &Ctx<'_>, body: &'a Json) -> Result<NamedGroup<'a>, AwsError> {
    let identifier = body.get("logGroupIdentifier").and_then(Json::as_str);
    match (body.get("logGroupName").filter(|name| !name.is_null()), identifier) {
        (Some(_), Some(_)) => Err(AwsError::new(
            "ValidationException",
            400,
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        )),
        (None, Some(identifier)) => Ok(identified_group(ctx.scope(), identifier)),
        (_, None) => {
            if body.get("logGroupName").is_none_or(Json::is_null) {
                return Err(invalid_parameter(
                    "1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null",
                ));
            }
            let name = group_name(body)?;
            Ok(NamedGroup { name, arn: group_arn(ctx.scope(), name), here: true })
        }
    }
}

/// The group a `logGroupIdentifier` names: an ARN `arn:aws:logs:REGION:ACCOUNT:log-group:NAME`
/// (of this account and region, or not), or else a name.
pub fn identified_group<'a>(scope: Scope<'_>, identifier: &'a str) -> NamedGroup<'a> {
    let mut parts = identifier.splitn(7, ':');
    let parsed =
        match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("arn"), Some(_), Some("logs"), Some(region), Some(account), Some("log-group"), Some(name)) => {
                Some((region, account, name))
            }
            _ => None,
        };
    match parsed {
        Some((region, account, name)) => {
            let here = region == scope.region && account == scope.account && !name.contains(':');
            let arn = if here { group_arn(scope, name) } else { identifier.to_owned() };
            NamedGroup { name, arn, here }
        }
        None => NamedGroup { name: identifier, arn: group_arn(scope, identifier), here: true },
    }
}

/// The log-group resource a request names by `logGroupName` or `logGroupIdentifier`.
pub fn named_group_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![named_group(ctx, ctx.body)?.arn])
}

/// The group a request names by `logGroupName` or `logGroupIdentifier`, which must exist:
/// its name.
pub async fn existing_group<'a>(ctx: &Ctx<'_>, body: &'a Json) -> Result<&'a str, AwsError> {
    let group = named_group(ctx, body)?;
    if group.here && group_exists(ctx.app, ctx.scope(), group.name).await? { Ok(group.name) } else { Err(no_group()) }
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

/// Whether a log group exists.
pub async fn group_exists(app: &App, scope: Scope<'_>, group: &str) -> Result<bool, AwsError> {
    Ok(model::group::exists(&app.store, scope, group).await?)
}

/// `accountIdentifiers` (DescribeLogGroups, ListLogGroups): Homeport has no linked source
/// accounts, so it may name only the caller's own account (and `includeLinkedAccounts` adds
/// no group).
pub fn no_linked_accounts(ctx: &Ctx<'_>) -> Result<(), AwsError> {
    let accounts = ctx.body.get("accountIdentifiers").and_then(Json::as_array).into_iter().flatten();
    for account in accounts.filter_map(Json::as_str) {
        if account != ctx.account() {
            return Err(invalid_parameter(format!(
                "Account {account} is not a source account linked to this account: Homeport has no linked accounts."
            )));
        }
    }
    Ok(())
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
