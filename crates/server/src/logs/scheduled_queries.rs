//! Scheduled queries: CreateScheduledQuery, GetScheduledQuery, ListScheduledQueries,
//! UpdateScheduledQuery, DeleteScheduledQuery and GetScheduledQueryHistory, and the pass that
//! runs them ([`run_due`], every second of the server's background loop).
//!
//! Guarantees: a scheduled query is a Logs Insights QL (`CWLI`) query that parses, over 1 to
//! 50 log groups of this account and region that exist, on a schedule `logs::schedule`
//! parses (`rate(...)` or `cron(...)`, in UTC: another `timezone` is refused, Homeport has no
//! time zone database); its `executionRoleArn` needs `iam:PassRole` to `logs.amazonaws.com`
//! (the scheduled query as `iam:AssociatedResourceArn`). When it fires (once, whichever
//! replica claims it, `model::scheduled_query::claim`) it starts a real Insights query over
//! `[firing - startTimeOffset, firing]` (the offset defaults to 900 seconds, a decision:
//! AWS documents none), whose id is the run's `queryId`: its status is the run's
//! `executionStatus` and GetQueryResults answers its rows. A run whose group is gone, or that
//! finds the region's 100 running queries, is recorded `Failed` with the reason. The only
//! destination AWS offers is S3, which Homeport does not run: a `destinationConfiguration` is
//! refused as naming a bucket that does not exist, so results stay with the query. SQL and
//! PPL are refused (Homeport runs Logs Insights QL only). The role is checked when passed,
//! not assumed when the query runs: the run reads the groups as the scheduled query's owner.
//!
//! The schedule's clock is the system's, moved ahead by the seconds in the data directory's
//! [`CLOCK_OFFSET_FILE`] when present (a test hook, as ECR's lifecycle clock).

use std::path::{Path, PathBuf};

use aws_protocol::AwsError;
use serde_json::{Map, Value as Json, json};

use super::deliveries::invalid;
use super::model::query::{self, Status, StoredQuery};
use super::model::scheduled_query::{self, Run, ScheduledQuery};
use super::query_run::{self, Job};
use super::schedule::Schedule;
use crate::app::App;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op, missing, put};
use crate::regions::Scope;

operation!(
    logs,
    CREATE_SCHEDULED_QUERY,
    "CreateScheduledQuery",
    Write,
    |ctx| Box::pin(async move { Ok(vec![scheduled_query::arn(ctx.scope(), "*")]) }),
    |ctx| json_op(create_scheduled_query(ctx))
);
operation!(
    logs,
    GET_SCHEDULED_QUERY,
    "GetScheduledQuery",
    Read,
    |ctx| Box::pin(async move { identified_resource(ctx).await }),
    |ctx| json_op(get_scheduled_query(ctx))
);
operation!(logs, LIST_SCHEDULED_QUERIES, "ListScheduledQueries", Read, crate::operations::account_wide, |ctx| json_op(
    list_scheduled_queries(ctx)
));
operation!(
    logs,
    UPDATE_SCHEDULED_QUERY,
    "UpdateScheduledQuery",
    Write,
    |ctx| Box::pin(async move { identified_resource(ctx).await }),
    |ctx| json_op(update_scheduled_query(ctx))
);
operation!(
    logs,
    DELETE_SCHEDULED_QUERY,
    "DeleteScheduledQuery",
    Write,
    |ctx| Box::pin(async move { identified_resource(ctx).await }),
    |ctx| json_op(delete_scheduled_query(ctx))
);
operation!(
    logs,
    GET_SCHEDULED_QUERY_HISTORY,
    "GetScheduledQueryHistory",
    Read,
    |ctx| Box::pin(async move { identified_resource(ctx).await }),
    |ctx| json_op(get_history(ctx))
);

/// The file, in the data directory, whose integer content is a number of seconds the
/// schedule's clock runs ahead of the system's: a test hook (tests fire a schedule without
/// waiting for it). Absent or unreadable, the clock is the system's.
pub const CLOCK_OFFSET_FILE: &str = "logs-schedule-clock-offset";

/// Scheduled queries a region may hold (a decision: AWS's quota is not in the model).
const QUOTA: i64 = 1000;
/// The lookback of a query that names no `startTimeOffset`, in seconds (a decision).
const DEFAULT_OFFSET: i64 = 900;
/// CloudWatch's limits, as StartQuery's.
const MAX_GROUPS: usize = 50;
const MAX_RUNNING: i64 = 100;
const RESULT_LIMIT: i64 = 10_000;
/// Firings one pass starts at most; the rest wait for the next second.
const FIRINGS_PER_PASS: i64 = 100;
/// The configuration members a scheduled query keeps as given.
const KEPT: [&str; 10] = [
    "description",
    "queryLanguage",
    "queryString",
    "logGroupIdentifiers",
    "scheduleExpression",
    "timezone",
    "startTimeOffset",
    "scheduleStartTime",
    "scheduleEndTime",
    "executionRoleArn",
];

/// The schedule's clock, kept for the life of the server.
#[derive(Debug)]
pub struct ScheduleClock {
    offset_file: PathBuf,
}

impl ScheduleClock {
    pub fn new(data_dir: &Path) -> ScheduleClock {
        ScheduleClock { offset_file: data_dir.join(CLOCK_OFFSET_FILE) }
    }

    /// Now, in epoch milliseconds, as schedules see it.
    pub fn now_ms(&self) -> i64 {
        let offset: i64 =
            std::fs::read_to_string(&self.offset_file).ok().and_then(|text| text.trim().parse().ok()).unwrap_or(0);
        ids::now().saturating_add(offset).saturating_mul(1000)
    }
}

fn now_ms(app: &App) -> i64 {
    app.service_state.get::<ScheduleClock>().map_or_else(|_| ids::now() * 1000, ScheduleClock::now_ms)
}

fn text<'a>(body: &'a Json, member: &str) -> Result<&'a str, AwsError> {
    body.get(member).and_then(Json::as_str).ok_or_else(|| missing(member))
}

fn not_found(message: impl Into<String>) -> AwsError {
    AwsError::new("ResourceNotFoundException", 400, message)
}

fn no_scheduled_query(identifier: &str) -> AwsError {
    not_found(format!("Scheduled query {identifier} does not exist."))
}

/// What an `identifier` names: the id of an ARN of this region, or a name (or id).
fn identifier_key<'a>(scope: Scope<'_>, identifier: &'a str) -> &'a str {
    let prefix = scheduled_query::arn(scope, "");
    identifier.strip_prefix(prefix.as_str()).unwrap_or(identifier)
}

/// The stored scheduled query an `identifier` (name or ARN) names, if any.
async fn identified(ctx: &Ctx<'_>) -> Result<Option<ScheduledQuery>, AwsError> {
    let identifier = text(ctx.body, "identifier")?;
    if identifier.starts_with("arn:") && identifier_key(ctx.scope(), identifier) == identifier {
        return Ok(None);
    }
    Ok(scheduled_query::find(&ctx.app.store, ctx.scope(), identifier_key(ctx.scope(), identifier)).await?)
}

/// The resource a request naming a scheduled query is authorized on: the stored query's ARN,
/// or, for one that does not exist, every scheduled query of the region (then not found).
async fn identified_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(vec![match identified(ctx).await? {
        Some(stored) => scheduled_query::arn(ctx.scope(), &stored.id),
        None => scheduled_query::arn(ctx.scope(), "*"),
    }])
}

/// The scheduled query a request names, which must exist.
async fn existing(ctx: &Ctx<'_>) -> Result<ScheduledQuery, AwsError> {
    identified(ctx)
        .await?
        .ok_or_else(|| no_scheduled_query(ctx.body.get("identifier").and_then(Json::as_str).unwrap_or_default()))
}

/// A scheduled query's configuration, checked.
struct Config {
    detail: Json,
    schedule: Schedule,
    state: String,
    start: Option<i64>,
    end: Option<i64>,
}

/// An optional epoch-milliseconds member.
fn time(body: &Json, member: &str) -> Result<Option<i64>, AwsError> {
    match body.get(member).filter(|value| !value.is_null()) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .filter(|t| *t >= 0)
            .map(Some)
            .ok_or_else(|| invalid(format!("{member} must be a time in epoch milliseconds."))),
    }
}

/// The groups a configuration names, as names: each of this account and region, existing.
async fn groups(ctx: &Ctx<'_>, detail: &Json) -> Result<Vec<String>, AwsError> {
    let identifiers: Vec<&str> = detail
        .get("logGroupIdentifiers")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .collect();
    if identifiers.is_empty() || identifiers.len() > MAX_GROUPS {
        return Err(invalid("A Logs Insights QL scheduled query needs between 1 and 50 logGroupIdentifiers."));
    }
    let mut names = Vec::new();
    for identifier in identifiers {
        let group = super::identified_group(ctx.scope(), identifier);
        if !group.here || !super::group_exists(ctx.app, ctx.scope(), group.name).await? {
            return Err(not_found(format!(
                "Log group '{identifier}' does not exist for account ID '{}'",
                ctx.account()
            )));
        }
        names.push(group.name.to_owned());
    }
    Ok(names)
}

/// Checks a Create or Update body and keeps what it configures.
async fn config(ctx: &Ctx<'_>) -> Result<Config, AwsError> {
    let body = ctx.body;
    match text(body, "queryLanguage")? {
        "CWLI" => {}
        other => {
            return Err(invalid(format!(
                "The queryLanguage {other} is not available: Homeport runs Logs Insights QL (CWLI) queries only."
            )));
        }
    }
    let query_string = text(body, "queryString")?;
    logs_insights::Query::parse(query_string)
        .map_err(|error| invalid(format!("The queryString does not parse: {}", error.message)))?;
    let expression = text(body, "scheduleExpression")?;
    let schedule = Schedule::parse(expression).map_err(|error| invalid(error.0))?;
    match body.get("timezone").and_then(Json::as_str) {
        None | Some("UTC" | "Etc/UTC") => {}
        Some(zone) => {
            return Err(invalid(format!(
                "The timezone {zone} is not available: Homeport evaluates schedules in UTC only."
            )));
        }
    }
    if let Some(offset) = body.get("startTimeOffset").filter(|value| !value.is_null()) {
        if offset.as_i64().is_none_or(|offset| offset < 0) {
            return Err(invalid("startTimeOffset must be a number of seconds, 0 or more."));
        }
    }
    if let Some(destination) = body.get("destinationConfiguration").filter(|value| !value.is_null()) {
        let uri = destination
            .get("s3Configuration")
            .and_then(|s3| s3.get("destinationIdentifier"))
            .and_then(Json::as_str)
            .unwrap_or_default();
        return Err(not_found(format!(
            "The S3 bucket of {uri} does not exist: Homeport runs no Amazon S3, so results cannot be delivered there."
        )));
    }
    let (start, end) = (time(body, "scheduleStartTime")?, time(body, "scheduleEndTime")?);
    if let (Some(start), Some(end)) = (start, end)
        && end <= start
    {
        return Err(invalid("scheduleEndTime must be after scheduleStartTime."));
    }
    let state = body.get("state").and_then(Json::as_str).unwrap_or("ENABLED").to_owned();
    let mut detail = Map::new();
    for member in KEPT {
        if let Some(value) = body.get(member).filter(|value| !value.is_null()) {
            detail.insert(member.to_owned(), value.clone());
        }
    }
    let detail = Json::Object(detail);
    groups(ctx, &detail).await?;
    if schedule.next_after(now_ms(ctx.app) / 1000).is_none() {
        return Err(invalid(format!("The schedule expression {expression} never fires.")));
    }
    Ok(Config { detail, schedule, state, start, end })
}

/// When a query next fires after `after_ms`: on its schedule, not before its start, none past
/// its end or while disabled.
fn next_run(schedule: &Schedule, state: &str, window: (Option<i64>, Option<i64>), after_ms: i64) -> Option<i64> {
    if state != "ENABLED" {
        return None;
    }
    let after = after_ms.max(window.0.map_or(0, |start| start - 1)).div_euclid(1000);
    let next = schedule.next_after(after)?.checked_mul(1000)?;
    window.1.is_none_or(|end| next <= end).then_some(next)
}

/// A run's `executionStatus`: its query's, once it has one.
async fn run_status(app: &App, scope: Scope<'_>, run: &Run) -> Result<String, AwsError> {
    if run.status != "Running" {
        return Ok(run.status.clone());
    }
    let status = query::get(&app.store, scope, &run.query_id).await?.map(|stored| stored.status);
    Ok(match status {
        Some(Status::Running | Status::Scheduled) | None => "Running",
        Some(Status::Complete) => "Complete",
        Some(Status::Timeout) => "Timeout",
        Some(Status::Failed | Status::Cancelled | Status::Unknown) => "Failed",
    }
    .to_owned())
}

/// The latest run's status, if it ran.
async fn last_status(ctx: &Ctx<'_>, stored: &ScheduledQuery) -> Result<Option<String>, AwsError> {
    let runs = scheduled_query::runs(&ctx.app.store, ctx.scope(), &stored.id, (0, i64::MAX)).await?;
    match runs.first() {
        Some(run) => Ok(Some(run_status(ctx.app, ctx.scope(), run).await?)),
        None => Ok(None),
    }
}

/// A scheduled query as Get and Update answer it (`full`), or as List summarizes it.
async fn described(ctx: &Ctx<'_>, stored: &ScheduledQuery, full: bool) -> Result<Json, AwsError> {
    let mut answer = json!({
        "scheduledQueryArn": scheduled_query::arn(ctx.scope(), &stored.id),
        "name": stored.name,
        "state": stored.state,
        "creationTime": stored.created_at,
        "lastUpdatedTime": stored.updated_at,
    });
    let members: &[&str] = if full { &KEPT } else { &["scheduleExpression", "timezone"] };
    for member in members {
        if let Some(value) = stored.detail.get(*member) {
            put(&mut answer, member, value.clone());
        }
    }
    if let Some(triggered) = stored.last_triggered {
        put(&mut answer, "lastTriggeredTime", triggered);
    }
    if let Some(status) = last_status(ctx, stored).await? {
        put(&mut answer, "lastExecutionStatus", status);
    }
    Ok(answer)
}

async fn create_scheduled_query(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let name = text(ctx.body, "name")?;
    let role = text(ctx.body, "executionRoleArn")?;
    let tags = super::tags::tag_map(ctx.body, "tags")?;
    let config = config(ctx).await?;
    let id = ids::uuid().map_err(crate::operations::internal)?;
    let arn = scheduled_query::arn(ctx.scope(), &id);
    crate::authz::pass_role(ctx, role, "logs.amazonaws.com", &arn).await?;
    let now = ids::now() * 1000;
    let stored = ScheduledQuery {
        name: name.to_owned(),
        id,
        next_run: next_run(&config.schedule, &config.state, (config.start, config.end), now_ms(ctx.app)),
        detail: config.detail,
        state: config.state,
        last_triggered: None,
        created_at: now,
        updated_at: now,
    };
    if !scheduled_query::create(&ctx.app.store, ctx.scope(), &stored, &tags, QUOTA).await? {
        return Err(if scheduled_query::find(&ctx.app.store, ctx.scope(), name).await?.is_some() {
            AwsError::new("ConflictException", 400, format!("A scheduled query named {name} already exists."))
        } else {
            AwsError::new(
                "ServiceQuotaExceededException",
                400,
                format!("A region can have at most {QUOTA} scheduled queries."),
            )
        });
    }
    Ok(json!({"scheduledQueryArn": arn, "state": stored.state}))
}

async fn get_scheduled_query(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let stored = existing(ctx).await?;
    described(ctx, &stored, true).await
}

/// `nextToken` (an offset this server handed out) and the page size `member` (default
/// `default`).
fn paging(body: &Json, member: &str, default: usize) -> Result<(usize, usize), AwsError> {
    let size = body.get(member).and_then(Json::as_u64).map_or(default, |n| usize::try_from(n).unwrap_or(default));
    let start = match body.get("nextToken").and_then(Json::as_str) {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| invalid("The specified nextToken is invalid."))?,
    };
    Ok((start, size.max(1)))
}

async fn list_scheduled_queries(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let (start, size) = paging(ctx.body, "maxResults", 1000)?;
    let state = ctx.body.get("state").and_then(Json::as_str);
    let mut found = Vec::new();
    for stored in scheduled_query::list(&ctx.app.store, ctx.scope()).await? {
        if state.is_none_or(|state| stored.state == state) {
            found.push(stored);
        }
    }
    let mut page = Vec::new();
    for stored in found.iter().skip(start).take(size) {
        page.push(described(ctx, stored, false).await?);
    }
    let mut answer = json!({ "scheduledQueries": page });
    if start.saturating_add(size) < found.len() {
        put(&mut answer, "nextToken", (start + size).to_string());
    }
    Ok(answer)
}

async fn update_scheduled_query(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let stored = existing(ctx).await?;
    let role = text(ctx.body, "executionRoleArn")?;
    let config = config(ctx).await?;
    crate::authz::pass_role(ctx, role, "logs.amazonaws.com", &scheduled_query::arn(ctx.scope(), &stored.id)).await?;
    let updated = ScheduledQuery {
        next_run: next_run(&config.schedule, &config.state, (config.start, config.end), now_ms(ctx.app)),
        detail: config.detail,
        state: config.state,
        updated_at: ids::now() * 1000,
        ..stored
    };
    if !scheduled_query::update(&ctx.app.store, ctx.scope(), &updated).await? {
        return Err(no_scheduled_query(&updated.name));
    }
    described(ctx, &updated, true).await
}

async fn delete_scheduled_query(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let stored = existing(ctx).await?;
    if scheduled_query::delete(&ctx.app.store, ctx.scope(), &stored.id).await? {
        Ok(json!({}))
    } else {
        Err(no_scheduled_query(&stored.name))
    }
}

async fn get_history(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let stored = existing(ctx).await?;
    let window = (time(ctx.body, "startTime")?.unwrap_or(0), time(ctx.body, "endTime")?.unwrap_or(0));
    if window.1 < window.0 {
        return Err(invalid("endTime must not be before startTime."));
    }
    let statuses: Option<Vec<&str>> = ctx
        .body
        .get("executionStatuses")
        .and_then(Json::as_array)
        .map(|list| list.iter().filter_map(Json::as_str).collect());
    let (start, size) = paging(ctx.body, "maxResults", 1000)?;
    query::abandon_stale(&ctx.app.store, ctx.scope(), ids::now() * 1000).await?;
    let mut records = Vec::new();
    for run in scheduled_query::runs(&ctx.app.store, ctx.scope(), &stored.id, window).await? {
        let status = run_status(ctx.app, ctx.scope(), &run).await?;
        if statuses.as_ref().is_some_and(|statuses| !statuses.contains(&status.as_str())) {
            continue;
        }
        let mut record = json!({
            "queryId": run.query_id,
            "executionStatus": status,
            "triggeredTimestamp": run.triggered_at,
            "destinations": [],
        });
        if let Some(message) = run.error_message {
            put(&mut record, "errorMessage", message);
        }
        records.push(record);
    }
    let total = records.len();
    let page: Vec<Json> = records.into_iter().skip(start).take(size).collect();
    let mut answer = json!({
        "name": stored.name,
        "scheduledQueryArn": scheduled_query::arn(ctx.scope(), &stored.id),
        "triggerHistory": page,
    });
    if start.saturating_add(size) < total {
        put(&mut answer, "nextToken", (start + size).to_string());
    }
    Ok(answer)
}

/// Fires every scheduled query that is due: each starts its Insights query (or records why it
/// could not). A query whose firing fails is logged and the others go on.
pub async fn run_due(app: &App) -> Result<(), AwsError> {
    let now = now_ms(app);
    for due in scheduled_query::due(&app.store, now, FIRINGS_PER_PASS).await? {
        if let Err(error) = fire(app, &due, now).await {
            tracing::error!(account = due.account, region = due.region, "scheduled query {}: {error}", due.query.name);
        }
    }
    Ok(())
}

async fn fire(app: &App, due: &scheduled_query::Due, now: i64) -> Result<(), AwsError> {
    let scope = Scope { account: &due.account, region: &due.region };
    let stored = &due.query;
    let detail = &stored.detail;
    let Some(due_ms) = stored.next_run else { return Ok(()) };
    let schedule = Schedule::parse(detail.get("scheduleExpression").and_then(Json::as_str).unwrap_or_default())
        .map_err(|error| crate::operations::internal(error.0))?;
    let window =
        (detail.get("scheduleStartTime").and_then(Json::as_i64), detail.get("scheduleEndTime").and_then(Json::as_i64));
    let next = next_run(&schedule, &stored.state, window, now);
    let query_id = ids::uuid().map_err(crate::operations::internal)?;
    let run =
        Run { query_id: query_id.clone(), triggered_at: due_ms, status: "Running".to_owned(), error_message: None };
    if !scheduled_query::claim(&app.store, scope, stored, due_ms, next, &run).await? {
        return Ok(());
    }
    let text = detail.get("queryString").and_then(Json::as_str).unwrap_or_default();
    let parsed = match logs_insights::Query::parse(text) {
        Ok(parsed) => parsed,
        Err(error) => return Ok(scheduled_query::fail_run(&app.store, scope, &query_id, &error.message).await?),
    };
    let mut groups = Vec::new();
    for identifier in
        detail.get("logGroupIdentifiers").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str)
    {
        let group = super::identified_group(scope, identifier);
        if !group.here || !super::group_exists(app, scope, group.name).await? {
            let message = format!("Log group '{identifier}' does not exist for account ID '{}'", scope.account);
            return Ok(scheduled_query::fail_run(&app.store, scope, &query_id, &message).await?);
        }
        groups.push(group.name.to_owned());
    }
    let offset = detail.get("startTimeOffset").and_then(Json::as_i64).unwrap_or(DEFAULT_OFFSET);
    let from = due_ms.saturating_sub(offset.saturating_mul(1000)).max(0);
    let query = StoredQuery {
        id: query_id.clone(),
        query_string: text.to_owned(),
        log_groups: groups.clone(),
        start_time: from / 1000,
        end_time: due_ms / 1000,
        limit: RESULT_LIMIT,
        status: Status::Running,
        created_at: ids::now() * 1000,
        results: None,
        statistics: None,
    };
    if !query::create(&app.store, scope, &query, MAX_RUNNING).await? {
        let message = format!("Account maximum query concurrency limit of [{MAX_RUNNING}] reached.");
        return Ok(scheduled_query::fail_run(&app.store, scope, &query_id, &message).await?);
    }
    let job = Job {
        account: due.account.clone(),
        region: due.region.clone(),
        id: query_id,
        query: parsed,
        groups,
        window: (from, due_ms),
        limit: usize::try_from(RESULT_LIMIT).unwrap_or(10_000),
    };
    query_run::spawn(app.store.clone(), job);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn a_query_fires_within_its_window_and_only_while_enabled() {
        let every_minute = Schedule::parse("rate(1 minute)").unwrap();
        assert_eq!(next_run(&every_minute, "ENABLED", (None, None), 90_000), Some(120_000));
        assert_eq!(next_run(&every_minute, "DISABLED", (None, None), 90_000), None);
        assert_eq!(
            next_run(&every_minute, "ENABLED", (Some(600_000), None), 90_000),
            Some(600_000),
            "not before its start"
        );
        assert_eq!(next_run(&every_minute, "ENABLED", (None, Some(100_000)), 90_000), None, "past its end");
    }
}
