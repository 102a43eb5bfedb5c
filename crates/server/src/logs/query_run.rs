//! Running a Logs Insights query in the background: StartQuery stores the query `Running`
//! and hands it to [`spawn`], which reads each log group's events in time order, a page at a
//! time (range scans of `log_batches_by_group`), pushes them through the query
//! (`logs_insights`), and stores the answer once it is complete.
//!
//! Guarantees: memory is a page of events plus what the query keeps (its groups, its
//! result's limit), never the events scanned; the runner moves the query's heartbeat at least
//! every [`HEARTBEAT`] and stops within that time of a StopQuery (which it sees as the
//! heartbeat finding the query no longer `Running`); a run past [`TIMEOUT`] ends as
//! `Timeout`, one that fails as `Failed`, and a runner that dies leaves a query the model
//! answers as `Failed` (`model::query::abandon_stale`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value as Json, json};
use store::Store;

use crate::ids;
use crate::logs::model::event::LogEvent;
use crate::logs::model::query::{self, Status};
use crate::logs::model::{ModelError, event};
use crate::regions::Scope;

/// How many events one read takes from the store.
pub const PAGE: i64 = 5_000;
/// How often a running query reports that it is alive (and learns whether it was stopped).
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// CloudWatch's limit on a query's run time.
pub const TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// What a query runs over.
pub struct Job {
    pub account: String,
    pub region: String,
    pub id: String,
    pub query: logs_insights::Query,
    pub groups: Vec<String>,
    /// Epoch milliseconds, both inclusive.
    pub window: (i64, i64),
    pub limit: usize,
}

impl Job {
    fn scope(&self) -> Scope<'_> {
        Scope { account: &self.account, region: &self.region }
    }
}

/// Why a run ended without an answer.
enum Stop {
    Cancelled,
    Timeout,
    Failed(String),
}

impl From<ModelError> for Stop {
    fn from(error: ModelError) -> Stop {
        Stop::Failed(error.to_string())
    }
}

/// Runs `job` on its own task; its end is written to the store.
pub fn spawn(store: Store, job: Job) {
    tokio::spawn(async move {
        let (status, answer) = match run(&store, &job).await {
            Ok(answer) => (Status::Complete, Some(answer)),
            Err(Stop::Cancelled) => return,
            Err(Stop::Timeout) => (Status::Timeout, None),
            Err(Stop::Failed(reason)) => {
                tracing::error!("logs insights query {}: {reason}", job.id);
                (Status::Failed, None)
            }
        };
        if let Err(error) = query::finish(&store, job.scope(), &job.id, status, answer).await {
            tracing::error!("logs insights query {}: storing its end: {error}", job.id);
        }
    });
}

/// The query's answer: GetQueryResults' `results` and `statistics`, as JSON text.
async fn run(store: &Store, job: &Job) -> Result<(String, String), Stop> {
    let started = Instant::now();
    let mut beat = Instant::now();
    let mut run = job.query.run(job.limit);
    'groups: for (source, group) in job.groups.iter().enumerate() {
        let log: Arc<str> = Arc::from(format!("{}:{group}", job.account));
        let source = u32::try_from(source).unwrap_or(u32::MAX);
        let mut after = None;
        loop {
            let page = event::scan_group(store, job.scope(), group, job.window, after, PAGE).await?;
            let full = i64::try_from(page.len()).is_ok_and(|n| n == PAGE);
            for stored in page {
                after = Some(stored.position());
                let event = insights_event(stored, Arc::clone(&log), source);
                run.push(event).map_err(|error| Stop::Failed(error.0))?;
            }
            if run.done() {
                break 'groups;
            }
            if beat.elapsed() >= HEARTBEAT {
                beat = Instant::now();
                if !query::heartbeat(store, job.scope(), &job.id, ids::now() * 1000).await? {
                    return Err(Stop::Cancelled);
                }
                if started.elapsed() >= TIMEOUT {
                    return Err(Stop::Timeout);
                }
            }
            if !full {
                break;
            }
            // A page is a few milliseconds of work: let the server's other tasks run between.
            tokio::task::yield_now().await;
        }
    }
    let outcome = run.finish().map_err(|error| Stop::Failed(error.0))?;
    let results: Vec<Json> = outcome
        .rows
        .iter()
        .map(|row| {
            let mut fields: Vec<Json> =
                row.fields.iter().map(|(field, value)| json!({"field": field, "value": value})).collect();
            if let Some((source, seq)) = row.origin {
                let group = job.groups.get(usize::try_from(source).unwrap_or(usize::MAX));
                if let Some(group) = group {
                    fields.push(json!({"field": "@ptr", "value": pointer(group, seq)}));
                }
            }
            Json::Array(fields)
        })
        .collect();
    let statistics = json!({
        "recordsMatched": outcome.records_matched as f64,
        "recordsScanned": outcome.records_scanned as f64,
        "estimatedRecordsSkipped": 0.0,
        "bytesScanned": outcome.bytes_scanned as f64,
        "estimatedBytesSkipped": 0.0,
        "logGroupsScanned": job.groups.len() as f64,
    });
    Ok((Json::Array(results).to_string(), statistics.to_string()))
}

/// Runs a query over one group at once, awaited rather than spawned, and answers its
/// `results` and `statistics` as JSON text: for benchmarks (`benches/insights.rs`), which time
/// the same reading and evaluation StartQuery's runs do.
pub async fn run_now(
    store: &Store,
    account: &str,
    region: &str,
    group: &str,
    window: (i64, i64),
    text: &str,
) -> Result<(String, String), String> {
    let parsed = logs_insights::Query::parse(text).map_err(|error| error.message)?;
    let scope = Scope { account, region };
    let id = ids::uuid().map_err(|error| error.to_string())?;
    let stored = query::StoredQuery {
        id: id.clone(),
        query_string: text.to_owned(),
        log_groups: vec![group.to_owned()],
        start_time: window.0 / 1000,
        end_time: window.1 / 1000,
        limit: 10_000,
        status: Status::Running,
        created_at: ids::now() * 1000,
        results: None,
        statistics: None,
    };
    query::create(store, scope, &stored, i64::MAX).await.map_err(|error| error.to_string())?;
    let job = Job {
        account: account.to_owned(),
        region: region.to_owned(),
        id,
        query: parsed,
        groups: vec![group.to_owned()],
        window,
        limit: 10_000,
    };
    run(store, &job).await.map_err(|stop| match stop {
        Stop::Cancelled => "cancelled".to_owned(),
        Stop::Timeout => "timed out".to_owned(),
        Stop::Failed(reason) => reason,
    })
}

/// `@ptr`: which event of which group (of the caller's account and region), opaque to the
/// caller.
pub fn pointer(group: &str, seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("1\n{group}\n{seq}"))
}

/// The group and event a `@ptr` names.
pub fn read_pointer(pointer: &str) -> Option<(String, i64)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(pointer).ok()?).ok()?;
    let mut parts = text.split('\n');
    let (Some("1"), Some(group), Some(seq), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    Some((group.to_owned(), seq.parse().ok()?))
}

/// A stored event as Logs Insights reads it: `log` is its `@log` (`ACCOUNT:GROUP`), `source`
/// the query's source it came from.
pub(crate) fn insights_event(stored: LogEvent, log: Arc<str>, source: u32) -> logs_insights::Event {
    logs_insights::Event {
        timestamp: stored.timestamp,
        ingestion_time: stored.ingestion_time,
        message: stored.message,
        stream: stored.stream,
        log,
        source,
        id: stored.seq,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_read_back_and_nothing_else_reads() {
        assert_eq!(read_pointer(&pointer("/a/b", 42)), Some(("/a/b".to_owned(), 42)));
        assert_eq!(read_pointer("bm9wZQ"), None);
        assert_eq!(read_pointer("!!"), None);
    }
}
