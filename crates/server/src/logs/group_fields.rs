//! GetLogGroupFields: the fields of a group's events, with the percentage of events that
//! have each, as Logs Insights discovers them (`logs_insights::discovered_fields`: `@timestamp`,
//! `@message`, `@logStream`, `@log`, `@ingestionTime`, and a JSON message's members as dotted
//! paths).
//!
//! Guarantees: the events looked at are those of the documented window (8 minutes either side
//! of `time`, in epoch seconds; the last 15 minutes when it is absent), read in time order
//! through the events model, at most [`MAX_EVENTS`] of them (CloudWatch too answers from a
//! sample); a field is counted once per event; the answer is sorted by percentage, highest
//! first, then by name. The group is named by `logGroupName` or `logGroupIdentifier`.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

use super::model::event;
use super::query_run;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, json as json_op};

operation!(
    logs,
    GET_LOG_GROUP_FIELDS,
    "GetLogGroupFields",
    Read,
    |ctx| Box::pin(async move { super::named_group_resource(ctx) }),
    |ctx| json_op(get_log_group_fields(ctx))
);

/// The most events one call looks at.
pub const MAX_EVENTS: usize = 10_000;
/// Events read from the store at once.
const PAGE: i64 = 1000;
const MINUTE_MS: i64 = 60_000;

/// The window a request asks about, in epoch milliseconds, both ends inclusive.
fn window(body: &Json, now_ms: i64) -> (i64, i64) {
    match body.get("time").and_then(Json::as_i64) {
        Some(seconds) => {
            let center = seconds.saturating_mul(1000);
            (center.saturating_sub(8 * MINUTE_MS), center.saturating_add(8 * MINUTE_MS))
        }
        None => (now_ms - 15 * MINUTE_MS, now_ms),
    }
}

async fn get_log_group_fields(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let group = super::existing_group(ctx, ctx.body).await?;
    // The clock reads whole seconds: the window ends with the current second, so an event
    // stamped a few milliseconds into it (as a client's millisecond clock stamps it) is seen.
    let window = window(ctx.body, ids::now() * 1000 + 999);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen = 0usize;
    let mut after = None;
    while seen < MAX_EVENTS {
        let page = event::scan_group(&ctx.app.store, ctx.scope(), group, window, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.position());
        for stored in page.into_iter().take(MAX_EVENTS - seen) {
            seen += 1;
            let event = query_run::insights_event(stored, format!("{}:{group}", ctx.account()).into(), 0);
            let mut names: Vec<String> =
                logs_insights::discovered_fields(&event).into_iter().map(|(name, _)| name).collect();
            names.sort_unstable();
            names.dedup();
            for name in names {
                *counts.entry(name).or_default() += 1;
            }
        }
    }
    let mut fields: Vec<(String, usize)> =
        counts.into_iter().map(|(name, count)| (name, (count * 100 + seen / 2) / seen.max(1))).collect();
    fields.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let fields: Vec<Json> =
        fields.into_iter().map(|(name, percent)| json!({"name": name, "percent": percent})).collect();
    Ok(json!({ "logGroupFields": fields }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_sixteen_minutes_around_time_or_the_last_fifteen() {
        assert_eq!(window(&json!({"time": 1_000}), 0), (1_000_000 - 480_000, 1_000_000 + 480_000));
        assert_eq!(window(&json!({}), 2_000_000), (2_000_000 - 900_000, 2_000_000));
    }
}
