//! CloudWatch Logs Insights: StartQuery, GetQueryResults, StopQuery, DescribeQueries and
//! GetLogRecord, over the events this region stores. The language is `logs_insights`; the
//! background run is `query_run`; the stored queries are `model::query`.
//!
//! StartQuery keeps CloudWatch's rules: exactly one of `logGroupName`, `logGroupNames` and
//! `logGroupIdentifiers` (names, or ARNs of this account and region), at most 50 groups, each
//! existing; `startTime` and `endTime` in epoch seconds, both inclusive, the end not before the
//! start; a query string of at most 10,000 characters in Logs Insights QL (`CWLI`; SQL and
//! PPL are refused); `limit` 1 to 10,000 rows (the default); at most 100 queries running per
//! account and region. A query that does not parse is `MalformedQueryException` with its
//! `queryCompileError` (message and character offsets). StartQuery is authorized on every
//! group it reads; GetQueryResults on the groups its query read; StopQuery, DescribeQueries and
//! GetLogRecord on `*`, as CloudWatch's actions have no resource types for them. GetLogRecord's
//! `unmask` changes nothing: Homeport has no data protection policies, so nothing is masked.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::ids;
use crate::logs::model::event;
use crate::logs::model::query::{self, Status, Stopping, StoredQuery};
use crate::logs::query_run::{self, Job};
use crate::logs::{errors::validation, invalid_parameter};
use crate::operations::operation;
use crate::operations::{Ctx, account_wide, json as json_op, put};

/// CloudWatch's limits.
const MAX_GROUPS: usize = 50;
const MAX_QUERY_LENGTH: usize = 10_000;
const DEFAULT_LIMIT: i64 = 10_000;
const MAX_LIMIT: i64 = 10_000;
const MAX_RUNNING: i64 = 100;
const MAX_ITEMS: i64 = 10_000;
const MAX_DESCRIBED: i64 = 1000;

operation!(
    logs,
    START_QUERY,
    "StartQuery",
    Write,
    |ctx| Box::pin(async move { Ok(named_groups(ctx)?.iter().map(|g| group_arn(ctx, g)).collect()) }),
    |ctx| json_op(start_query(ctx))
);
operation!(
    logs,
    GET_QUERY_RESULTS,
    "GetQueryResults",
    Read,
    |ctx| Box::pin(async move { query_groups(ctx).await }),
    |ctx| json_op(get_query_results(ctx))
);
operation!(logs, STOP_QUERY, "StopQuery", Write, account_wide, |ctx| json_op(stop_query(ctx)));
operation!(logs, DESCRIBE_QUERIES, "DescribeQueries", Read, account_wide, |ctx| json_op(describe_queries(ctx)));
operation!(logs, GET_LOG_RECORD, "GetLogRecord", Read, account_wide, |ctx| json_op(get_log_record(ctx)));

fn group_arn(ctx: &Ctx<'_>, group: &str) -> String {
    crate::logs::group_arn(ctx.scope(), group)
}

fn valid_group_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 512 && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c))
}

/// The groups a StartQuery names: exactly one of its three members, names checked, ARNs of
/// this account and region read as their names.
fn named_groups(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let body = ctx.body;
    let list = |member: &str| -> Option<Vec<String>> {
        body.get(member)
            .and_then(Json::as_array)
            .map(|items| items.iter().map(|item| item.as_str().unwrap_or_default().to_owned()).collect())
    };
    let single = body.get("logGroupName").and_then(Json::as_str).map(|name| vec![name.to_owned()]);
    let (names, identifiers) = (list("logGroupNames"), list("logGroupIdentifiers"));
    let exactly_one =
        || invalid_parameter("Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be specified.");
    let (member, groups) = match (single, names, identifiers) {
        (Some(single), None, None) => ("logGroupName", single),
        (None, Some(names), None) => ("logGroupNames", names),
        (None, None, Some(identifiers)) => {
            let prefix = format!("arn:aws:logs:{}:{}:log-group:", ctx.region(), ctx.account());
            let names = identifiers
                .into_iter()
                .map(|identifier| match identifier.strip_prefix(&prefix) {
                    Some(name) => Ok(name.to_owned()),
                    None if identifier.starts_with("arn:") => Err(AwsError::new(
                        "ResourceNotFoundException",
                        400,
                        format!("Log group '{identifier}' does not exist for account ID '{}'", ctx.account()),
                    )),
                    None => Ok(identifier),
                })
                .collect::<Result<Vec<_>, _>>()?;
            ("logGroupIdentifiers", names)
        }
        _ => return Err(exactly_one()),
    };
    if groups.is_empty() || groups.len() > MAX_GROUPS {
        return Err(validation(
            member,
            &format!("{} log groups", groups.len()),
            "Member must have length between 1 and 50",
        ));
    }
    if let Some(bad) = groups.iter().find(|name| !valid_group_name(name)) {
        return Err(validation(member, bad, "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"));
    }
    Ok(groups)
}

fn query_id(body: &Json) -> Result<&str, AwsError> {
    let id = body.get("queryId").and_then(Json::as_str).unwrap_or_default();
    if id.is_empty() || id.len() > 256 {
        return Err(validation("queryId", id, "Member must have length between 1 and 256"));
    }
    Ok(id)
}

fn no_query() -> AwsError {
    AwsError::new("ResourceNotFoundException", 400, "The specified query does not exist.")
}

/// GetQueryResults' resources: the groups its query read (a query that does not exist is
/// authorized on every group, and then not found).
async fn query_groups(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let id = query_id(ctx.body)?;
    match query::get(&ctx.app.store, ctx.scope(), id).await? {
        Some(stored) => Ok(stored.log_groups.iter().map(|group| group_arn(ctx, group)).collect()),
        None => Ok(vec![group_arn(ctx, "*")]),
    }
}

fn time(body: &Json, member: &str) -> Result<i64, AwsError> {
    match body.get(member) {
        Some(value) => value
            .as_i64()
            .filter(|t| *t >= 0)
            .ok_or_else(|| validation(member, &value.to_string(), "Member must have value greater than or equal to 0")),
        None => Err(invalid_parameter(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))),
    }
}

async fn start_query(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let body = ctx.body;
    let groups = named_groups(ctx)?;
    match body.get("queryLanguage").and_then(Json::as_str) {
        None | Some("CWLI") => {}
        Some(other) => {
            return Err(invalid_parameter(format!("Query language {other} is not supported; use CWLI.")));
        }
    }
    let (start, end) = (time(body, "startTime")?, time(body, "endTime")?);
    if end < start {
        return Err(invalid_parameter("End time cannot be less than Start time"));
    }
    let text = body.get("queryString").and_then(Json::as_str).unwrap_or_default();
    if text.chars().count() > MAX_QUERY_LENGTH {
        return Err(validation("queryString", text, "Member must have length less than or equal to 10000"));
    }
    let limit = match body.get("limit") {
        None | Some(Json::Null) => DEFAULT_LIMIT,
        Some(value) => value
            .as_i64()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| validation("limit", &value.to_string(), "Member must have value between 1 and 10000"))?,
    };
    let parsed = logs_insights::Query::parse(text).map_err(|error| {
        AwsError::new("MalformedQueryException", 400, error.message.clone()).with_member(
            "queryCompileError",
            json!({
                "location": {"startCharOffset": error.start, "endCharOffset": error.end},
                "message": error.message,
            }),
        )
    })?;
    for group in &groups {
        if !event_group_exists(ctx, group).await? {
            return Err(AwsError::new(
                "ResourceNotFoundException",
                400,
                format!("Log group '{group}' does not exist for account ID '{}'", ctx.account()),
            ));
        }
    }
    let id = ids::uuid().map_err(crate::operations::internal)?;
    let scope = ctx.scope();
    let stored = StoredQuery {
        id: id.clone(),
        query_string: text.to_owned(),
        log_groups: groups.clone(),
        start_time: start,
        end_time: end,
        limit,
        status: Status::Running,
        created_at: ids::now() * 1000,
        results: None,
        statistics: None,
    };
    if !query::create(&ctx.app.store, scope, &stored, MAX_RUNNING).await? {
        return Err(AwsError::new(
            "LimitExceededException",
            400,
            format!("Account maximum query concurrency limit of [{MAX_RUNNING}] reached."),
        ));
    }
    let window = (start.saturating_mul(1000), end.saturating_mul(1000).saturating_add(999));
    let limit = usize::try_from(limit).unwrap_or(10_000);
    let job = Job {
        account: scope.account.to_owned(),
        region: scope.region.to_owned(),
        id: id.clone(),
        query: parsed,
        groups,
        window,
        limit,
    };
    query_run::spawn(ctx.app.store.clone(), job);
    Ok(json!({"queryId": id}))
}

async fn event_group_exists(ctx: &Ctx<'_>, group: &str) -> Result<bool, AwsError> {
    crate::logs::group_exists(ctx.app, ctx.scope(), group).await
}

fn statistics(stored: &StoredQuery) -> Json {
    stored.statistics.as_deref().and_then(|text| serde_json::from_str(text).ok()).unwrap_or_else(|| {
        json!({"recordsMatched": 0.0, "recordsScanned": 0.0, "estimatedRecordsSkipped": 0.0, "bytesScanned": 0.0,
               "estimatedBytesSkipped": 0.0, "logGroupsScanned": 0.0})
    })
}

async fn get_query_results(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let id = query_id(ctx.body)?;
    let scope = ctx.scope();
    query::abandon_stale(&ctx.app.store, scope, ids::now() * 1000).await?;
    let stored = query::get(&ctx.app.store, scope, id).await?.ok_or_else(no_query)?;
    let max_items = match ctx.body.get("maxItems") {
        None | Some(Json::Null) => MAX_ITEMS,
        Some(value) => value
            .as_i64()
            .filter(|n| (0..=MAX_ITEMS).contains(n))
            .ok_or_else(|| validation("maxItems", &value.to_string(), "Member must have value between 0 and 10000"))?,
    };
    let start = match ctx.body.get("nextToken").and_then(Json::as_str) {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| invalid_parameter("The specified nextToken is invalid."))?,
    };
    let rows: Vec<Json> =
        stored.results.as_deref().and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default();
    let size = usize::try_from(max_items).unwrap_or(10_000);
    let mut answer = crate::operations::json_page("results", "nextToken", rows, start, size);
    put(&mut answer, "queryLanguage", "CWLI");
    put(&mut answer, "status", stored.status.as_str());
    put(&mut answer, "statistics", statistics(&stored));
    Ok(answer)
}

async fn stop_query(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let id = query_id(ctx.body)?;
    match query::stop(&ctx.app.store, ctx.scope(), id).await? {
        Stopping::Stopped => Ok(json!({"success": true})),
        Stopping::NotRunning => Ok(json!({"success": false})),
        Stopping::NoSuchQuery => Err(no_query()),
    }
}

async fn describe_queries(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let body = ctx.body;
    let status = match body.get("status").and_then(Json::as_str) {
        None => None,
        Some(text) => Some(Status::parse(text).ok_or_else(|| {
            validation(
                "status",
                text,
                "Member must satisfy enum value set: [Scheduled, Running, Complete, Failed, Cancelled, Timeout, Unknown]",
            )
        })?),
    };
    let group = match body.get("logGroupName") {
        None => None,
        Some(_) => Some(crate::logs::group_name(body)?),
    };
    let max = match body.get("maxResults") {
        None | Some(Json::Null) => MAX_DESCRIBED,
        Some(value) => value
            .as_i64()
            .filter(|n| (1..=MAX_DESCRIBED).contains(n))
            .ok_or_else(|| validation("maxResults", &value.to_string(), "Member must have value between 1 and 1000"))?,
    };
    let start = match body.get("nextToken").and_then(Json::as_str) {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| invalid_parameter("The specified nextToken is invalid."))?,
    };
    let language = body.get("queryLanguage").and_then(Json::as_str);
    let scope = ctx.scope();
    query::abandon_stale(&ctx.app.store, scope, ids::now() * 1000).await?;
    let queries: Vec<Json> = query::all(&ctx.app.store, scope, status)
        .await?
        .into_iter()
        .filter(|stored| group.is_none_or(|g| stored.log_groups.iter().any(|name| name == g)))
        .filter(|_| language.is_none_or(|l| l == "CWLI"))
        .map(|stored| {
            let mut info = json!({
                "queryLanguage": "CWLI",
                "queryId": stored.id,
                "queryString": stored.query_string,
                "status": stored.status.as_str(),
                "createTime": stored.created_at,
            });
            if let Some(first) = stored.log_groups.first() {
                put(&mut info, "logGroupName", first.as_str());
            }
            info
        })
        .collect();
    Ok(crate::operations::json_page("queries", "nextToken", queries, start, usize::try_from(max).unwrap_or(1000)))
}

async fn get_log_record(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let pointer = ctx.body.get("logRecordPointer").and_then(Json::as_str).unwrap_or_default();
    let (group, seq) = query_run::read_pointer(pointer)
        .ok_or_else(|| invalid_parameter("The specified logRecordPointer is invalid."))?;
    let found = event::by_seq(&ctx.app.store, ctx.scope(), &group, seq).await?;
    let stored = found
        .ok_or_else(|| AwsError::new("ResourceNotFoundException", 400, "The specified log record does not exist."))?;
    let event = query_run::insights_event(stored, format!("{}:{group}", ctx.account()).into(), 0);
    let record: serde_json::Map<String, Json> = logs_insights::discovered_fields(&event)
        .into_iter()
        .map(|(field, value)| (field, Json::String(value)))
        .collect();
    Ok(json!({"logRecord": record}))
}
