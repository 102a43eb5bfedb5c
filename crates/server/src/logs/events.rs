//! CloudWatch Logs events: PutLogEvents, GetLogEvents and FilterLogEvents (the group named by
//! `logGroupName` or `logGroupIdentifier`, never both).
//!
//! PutLogEvents keeps CloudWatch's rules: at most 10,000 events and 1,048,576 bytes (message
//! bytes plus 26 per event) per call, in chronological order, spanning at most 24 hours;
//! events older than 14 days, older than the group's retention, or more than 2 hours ahead are
//! rejected (reported in `rejectedLogEventsInfo`) and the rest stored in one transaction.
//! Reading orders events by timestamp, then by arrival; GetLogEvents' tokens are positions in
//! that order, so paging forward or backward never skips or repeats an event.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use crate::ids;
use crate::logs::model::event::{self, Destination, Direction, Page, Position, StreamEvents};
use crate::logs::{self, group_name, invalid_parameter, no_stream, stream_name};
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op, put};
use logs_filter::Pattern;

const MAX_EVENTS: usize = 10_000;
const MAX_BATCH_BYTES: usize = 1_048_576;
const EVENT_OVERHEAD_BYTES: usize = 26;
const DAY_MS: i64 = 24 * 3_600_000;
const MAX_AGE_MS: i64 = 14 * DAY_MS;
const MAX_AHEAD_MS: i64 = 2 * 3_600_000;
/// The most matching work one FilterLogEvents call does (in bytes looked at, as
/// [`Pattern::cost`] counts them): past it the call answers what it found with a `nextToken`
/// where it stopped, as CloudWatch Logs may ("this operation can return empty results while
/// there are more log events available through the token"). About 30 ms of matching.
const FILTER_WORK_BUDGET: usize = 32 * 1024 * 1024;
/// What reading one row counts against that budget.
const ROW_COST: usize = 256;
/// The most rows FilterLogEvents reads from the store at once.
const MAX_ROWS_PER_READ: i64 = 1000;
/// FilterLogEvents' `logStreamNames` limit.
const MAX_STREAM_NAMES: usize = 100;

operation!(
    logs,
    PUT_LOG_EVENTS,
    "PutLogEvents",
    AgentTraffic,
    |ctx| Box::pin(async move { logs::stream_resource(ctx) }),
    |ctx| { json_op(put_log_events(ctx)) }
);
operation!(
    logs,
    GET_LOG_EVENTS,
    "GetLogEvents",
    Read,
    |ctx| Box::pin(async move { logs::named_group_resource(ctx) }),
    |ctx| { json_op(get_log_events(ctx)) }
);
operation!(
    logs,
    FILTER_LOG_EVENTS,
    "FilterLogEvents",
    Read,
    |ctx| Box::pin(async move { logs::named_group_resource(ctx) }),
    |ctx| { json_op(filter_log_events(ctx)) }
);

async fn put_log_events(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let group = group_name(ctx.body)?;
    let stream = stream_name(ctx.body)?;
    let events = ctx.body.get("logEvents").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(invalid_parameter("logEvents must have between 1 and 10000 events."));
    }
    let mut parsed = Vec::with_capacity(events.len());
    let mut bytes = 0_usize;
    for event in events {
        let timestamp = event
            .get("timestamp")
            .and_then(Json::as_i64)
            .ok_or_else(|| invalid_parameter("Each log event needs a timestamp."))?;
        let message = event
            .get("message")
            .and_then(Json::as_str)
            .ok_or_else(|| invalid_parameter("Each log event needs a message."))?;
        if message.is_empty() {
            return Err(invalid_parameter("Log event messages cannot be empty."));
        }
        bytes += message.len() + EVENT_OVERHEAD_BYTES;
        parsed.push((timestamp, message));
    }
    if bytes > MAX_BATCH_BYTES {
        return Err(invalid_parameter("Upload too large: the batch exceeds 1048576 bytes."));
    }
    if parsed.windows(2).any(|pair| matches!(pair, [(a, _), (b, _)] if b < a)) {
        return Err(invalid_parameter("Log events in a single PutLogEvents request must be in chronological order."));
    }
    if let (Some((first, _)), Some((last, _))) = (parsed.first(), parsed.last()) {
        if last - first > DAY_MS {
            return Err(invalid_parameter(
                "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
            ));
        }
    }
    let scope = ctx.scope();
    let retention_days = match event::destination(&ctx.app.store, scope, group, stream).await? {
        Destination::NoGroup => return Err(logs::no_group()),
        Destination::NoStream => return Err(no_stream()),
        Destination::Stream { retention_days } => retention_days,
    };
    let retention_ms = retention_days.map(|days| days * DAY_MS);
    let now_ms = ids::now() * 1000;
    // Events are in order, so the rejected ones are a prefix (too old, expired) and a suffix (too new).
    let too_old = parsed.iter().take_while(|(t, _)| *t < now_ms - MAX_AGE_MS).count();
    let expired = retention_ms.map_or(0, |keep| parsed.iter().take_while(|(t, _)| *t < now_ms - keep).count());
    let too_new = parsed.iter().rev().take_while(|(t, _)| *t > now_ms + MAX_AHEAD_MS).count();
    let accepted_start = too_old.max(expired);
    let accepted_end = parsed.len() - too_new;
    let accepted = parsed.get(accepted_start..accepted_end).unwrap_or_default();
    event::append(&ctx.app.store, scope, group, stream, accepted, now_ms).await?;
    let mut answer = json!({"nextSequenceToken": format!("{:056}", now_ms)});
    if too_old + expired + too_new > 0 {
        let mut rejected = json!({});
        let index = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        if too_old > 0 {
            put(&mut rejected, "tooOldLogEventEndIndex", index(too_old));
        }
        if expired > 0 {
            put(&mut rejected, "expiredLogEventEndIndex", index(expired));
        }
        if too_new > 0 {
            put(&mut rejected, "tooNewLogEventStartIndex", index(accepted_end));
        }
        put(&mut answer, "rejectedLogEventsInfo", rejected);
    }
    Ok(answer)
}

fn token(direction: char, position: Position) -> String {
    format!("{direction}/{:020}/{:020}", position.0, position.1)
}

fn parse_token(token: &str) -> Result<(char, Position), AwsError> {
    let invalid = || invalid_parameter("The specified nextToken is invalid.");
    let mut parts = token.split('/');
    let direction =
        parts.next().and_then(|d| d.chars().next()).filter(|d| *d == 'f' || *d == 'b').ok_or_else(invalid)?;
    let timestamp = parts.next().and_then(|t| t.parse::<i64>().ok()).ok_or_else(invalid)?;
    let seq = parts.next().and_then(|s| s.parse::<i64>().ok()).ok_or_else(invalid)?;
    Ok((direction, (timestamp, seq)))
}

/// GetLogEvents' `limit`: 1 to 10,000 (the pipeline has checked the model's range; a
/// fraction is truncated, as AWS reads it), 10,000 when absent.
fn limit(body: &Json) -> i64 {
    body.get("limit").and_then(Json::as_f64).map_or(10_000, |limit| limit.trunc() as i64)
}

/// The time window a request asks for (`startTime` inclusive, `endTime` exclusive).
fn window(body: &Json) -> (i64, i64) {
    let bound = |member: &str| body.get(member).and_then(Json::as_i64);
    (bound("startTime").unwrap_or(i64::MIN), bound("endTime").unwrap_or(i64::MAX))
}

async fn get_log_events(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let stream = stream_name(ctx.body)?;
    let group = logs::named_group(ctx, ctx.body)?;
    if !group.here {
        return Err(logs::no_group());
    }
    let group = group.name;
    let limit = limit(ctx.body);
    let (start, end) = window(ctx.body);
    let from_head = ctx.body.get("startFromHead").and_then(Json::as_bool).unwrap_or(false);
    let (direction, position) = match ctx.body.get("nextToken").and_then(Json::as_str) {
        Some(token) => parse_token(token)?,
        None if from_head => ('f', (i64::MIN, i64::MIN)),
        None => ('b', (i64::MAX, i64::MAX)),
    };
    let page = Page {
        window: (start, end),
        direction: if direction == 'f' { Direction::Forward } else { Direction::Backward },
        from: position,
        limit,
    };
    let events = match event::of_existing_stream(&ctx.app.store, ctx.scope(), group, stream, page).await? {
        StreamEvents::NoGroup => return Err(logs::no_group()),
        StreamEvents::NoStream => return Err(no_stream()),
        StreamEvents::Events(events) => events,
    };
    let found: Vec<(Position, Json)> = events
        .into_iter()
        .map(|event| {
            let json =
                json!({"timestamp": event.timestamp, "message": event.message, "ingestionTime": event.ingestion_time});
            (event.position(), json)
        })
        .collect();
    // With no events the tokens stay where the request was.
    let first = found.first().map_or(position, |(p, _)| *p);
    let last = found.last().map_or(position, |(p, _)| *p);
    Ok(json!({
        "events": found.into_iter().map(|(_, event)| event).collect::<Vec<_>>(),
        "nextForwardToken": token('f', last),
        "nextBackwardToken": token('b', first),
    }))
}

async fn filter_log_events(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let group = logs::existing_group(ctx, ctx.body).await?;
    let names: Vec<&str> = ctx
        .body
        .get("logStreamNames")
        .and_then(Json::as_array)
        .map(|n| n.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    if names.len() > MAX_STREAM_NAMES {
        return Err(invalid_parameter(format!(
            "1 validation error detected: Value at 'logStreamNames' failed to satisfy constraint: Member must have length less than or equal to {MAX_STREAM_NAMES}"
        )));
    }
    let prefix = ctx.body.get("logStreamNamePrefix").and_then(Json::as_str);
    if !names.is_empty() && prefix.is_some() {
        return Err(invalid_parameter("logStreamNames and logStreamNamePrefix cannot both be specified."));
    }
    let pattern = Pattern::parse(ctx.body.get("filterPattern").and_then(Json::as_str).unwrap_or_default())
        .map_err(|error| invalid_parameter(error.0))?;
    let limit = usize::try_from(limit(ctx.body)).unwrap_or(10_000);
    let (start, end) = window(ctx.body);
    let after = match ctx.body.get("nextToken").and_then(Json::as_str) {
        Some(token) => parse_token(token)?.1,
        None => (i64::MIN, i64::MIN),
    };
    let mut events = Vec::new();
    let mut position = after;
    let mut work = 0usize;
    let mut stopped_early = false;
    // Pages of the group's events in order; the pattern is applied as they are read. The
    // first page is as long as the answer may be, so a pattern that matches most events reads
    // little more than it answers; each page after doubles, up to a thousand rows.
    let mut rows = i64::try_from(limit).unwrap_or(MAX_ROWS_PER_READ).clamp(1, MAX_ROWS_PER_READ);
    'pages: loop {
        let page = event::of_group_after(&ctx.app.store, ctx.scope(), group, (start, end), position, rows).await?;
        rows = rows.saturating_mul(2).min(MAX_ROWS_PER_READ);
        if page.is_empty() {
            break;
        }
        for event in page {
            position = event.position();
            let wanted_stream = if names.is_empty() {
                prefix.is_none_or(|p| event.stream.starts_with(p))
            } else {
                names.contains(&event.stream.as_str())
            };
            // Reading a row is work too, whether or not its stream is wanted.
            work = work.saturating_add(ROW_COST);
            if wanted_stream {
                work = work.saturating_add(pattern.cost(event.message.len()));
            }
            if wanted_stream && pattern.matches(&event.message) {
                events.push(json!({
                    "logStreamName": event.stream,
                    "timestamp": event.timestamp,
                    "message": event.message,
                    "ingestionTime": event.ingestion_time,
                    "eventId": format!("{:056}", event.seq),
                }));
                if events.len() == limit {
                    break 'pages;
                }
            }
            if work >= FILTER_WORK_BUDGET {
                stopped_early = true;
                break 'pages;
            }
        }
    }
    // A full page may have more after it, and so may a search that spent its budget.
    let full = events.len() == limit || stopped_early;
    let mut answer = json!({"events": events, "searchedLogStreams": []});
    if full {
        put(&mut answer, "nextToken", token('f', position));
    }
    Ok(answer)
}
