//! The Logs Insights query model: the SQL of `logs_queries`. A query is created `Running` by
//! the replica that will run it, which moves its `heartbeat_at` while it runs and writes its
//! answer once; a stop is a status change the runner sees at its next heartbeat.
//!
//! Guarantees: a query ends once (`finish` and `stop` only move a `Running` query, so a stop
//! and a finish never both win); a `Running` query whose heartbeat is older than
//! [`STALE_MS`] (its replica stopped or died) is answered `Failed` ([`abandon_stale`]), never
//! left `Running`; every statement is keyed by account and region.

use store::{Store, Value};

use crate::logs::model::ModelError;
use crate::regions::Scope;

/// How long a running query's heartbeat may be silent before it counts as abandoned.
pub const STALE_MS: i64 = 30_000;

/// Where a query is, with CloudWatch's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Scheduled,
    Running,
    Complete,
    Failed,
    Cancelled,
    Timeout,
    Unknown,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Scheduled,
        Status::Running,
        Status::Complete,
        Status::Failed,
        Status::Cancelled,
        Status::Timeout,
        Status::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "Scheduled",
            Status::Running => "Running",
            Status::Complete => "Complete",
            Status::Failed => "Failed",
            Status::Cancelled => "Cancelled",
            Status::Timeout => "Timeout",
            Status::Unknown => "Unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

/// A stored query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredQuery {
    pub id: String,
    pub query_string: String,
    pub log_groups: Vec<String>,
    /// Epoch seconds, both inclusive.
    pub start_time: i64,
    pub end_time: i64,
    pub limit: i64,
    pub status: Status,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// GetQueryResults' `results` and `statistics` as JSON text, once it ended.
    pub results: Option<String>,
    pub statistics: Option<String>,
}

fn scoped(scope: Scope<'_>) -> Vec<Value> {
    vec![scope.account.into(), scope.region.into()]
}

/// Stores a new `Running` query, unless `max_running` of the scope's queries already run
/// (then `false`).
pub async fn create(
    store: &Store,
    scope: Scope<'_>,
    query: &StoredQuery,
    max_running: i64,
) -> Result<bool, ModelError> {
    let groups = serde_json::to_string(&query.log_groups).unwrap_or_default();
    let mut params = vec![
        scope.account.into(),
        scope.region.into(),
        query.id.as_str().into(),
        query.query_string.as_str().into(),
        groups.into(),
        Value::Int(query.start_time),
        Value::Int(query.end_time),
        Value::Int(query.limit),
        Value::Int(query.created_at),
        Value::Int(query.created_at),
    ];
    params.extend(scoped(scope));
    params.push(Value::Int(max_running));
    let inserted = store
        .execute(
            "INSERT INTO logs_queries (account_id, region, query_id, query_string, log_groups, start_time, end_time,
                 result_limit, status, created_at, heartbeat_at)
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, 'Running', ?, ?
             WHERE (SELECT COUNT(*) FROM logs_queries WHERE account_id = ? AND region = ? AND status = 'Running') < ?",
            params,
        )
        .await?;
    Ok(inserted == 1)
}

const COLUMNS: &str =
    "query_id, query_string, log_groups, start_time, end_time, result_limit, status, created_at, results, statistics";

fn query_of(row: &store::Row, with_answer: bool) -> Result<StoredQuery, ModelError> {
    Ok(StoredQuery {
        id: row.text(0)?,
        query_string: row.text(1)?,
        log_groups: serde_json::from_str(&row.text(2)?).unwrap_or_default(),
        start_time: row.int(3)?,
        end_time: row.int(4)?,
        limit: row.int(5)?,
        status: Status::parse(&row.text(6)?).unwrap_or(Status::Unknown),
        created_at: row.int(7)?,
        results: if with_answer { row.opt_text(8)? } else { None },
        statistics: if with_answer { row.opt_text(9)? } else { None },
    })
}

/// One query, with its answer.
pub async fn get(store: &Store, scope: Scope<'_>, id: &str) -> Result<Option<StoredQuery>, ModelError> {
    let mut params = scoped(scope);
    params.push(id.into());
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM logs_queries WHERE account_id = ? AND region = ? AND query_id = ?"),
            params,
        )
        .await?;
    rows.first().map(|row| query_of(row, true)).transpose()
}

/// The scope's queries, newest first, without their answers.
pub async fn all(store: &Store, scope: Scope<'_>, status: Option<Status>) -> Result<Vec<StoredQuery>, ModelError> {
    let mut params = scoped(scope);
    let mut sql = String::from(
        "SELECT query_id, query_string, log_groups, start_time, end_time, result_limit, status, created_at, NULL, NULL
         FROM logs_queries WHERE account_id = ? AND region = ?",
    );
    if let Some(status) = status {
        sql.push_str(" AND status = ?");
        params.push(status.as_str().into());
    }
    sql.push_str(" ORDER BY created_at DESC, query_id");
    store.query(&sql, params).await?.iter().map(|row| query_of(row, false)).collect()
}

/// The runner's heartbeat: `true` while the query is still `Running` (not stopped).
pub async fn heartbeat(store: &Store, scope: Scope<'_>, id: &str, now_ms: i64) -> Result<bool, ModelError> {
    let mut params = vec![Value::Int(now_ms)];
    params.extend(scoped(scope));
    params.push(id.into());
    let moved = store
        .execute(
            "UPDATE logs_queries SET heartbeat_at = ? WHERE account_id = ? AND region = ? AND query_id = ? AND status = 'Running'",
            params,
        )
        .await?;
    Ok(moved == 1)
}

/// Ends a running query with `status` and, for `Complete`, its answer.
pub async fn finish(
    store: &Store,
    scope: Scope<'_>,
    id: &str,
    status: Status,
    answer: Option<(String, String)>,
) -> Result<(), ModelError> {
    let (results, statistics) = match answer {
        Some((results, statistics)) => (Value::from(results), Value::from(statistics)),
        None => (Value::Null, Value::Null),
    };
    let mut params = vec![status.as_str().into(), results, statistics];
    params.extend(scoped(scope));
    params.push(id.into());
    store
        .execute(
            "UPDATE logs_queries SET status = ?, results = ?, statistics = ?
             WHERE account_id = ? AND region = ? AND query_id = ? AND status = 'Running'",
            params,
        )
        .await?;
    Ok(())
}

/// What a stop did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopping {
    Stopped,
    /// It had already ended.
    NotRunning,
    NoSuchQuery,
}

/// Cancels a running query.
pub async fn stop(store: &Store, scope: Scope<'_>, id: &str) -> Result<Stopping, ModelError> {
    let mut params = scoped(scope);
    params.push(id.into());
    let moved = store
        .execute(
            "UPDATE logs_queries SET status = 'Cancelled'
             WHERE account_id = ? AND region = ? AND query_id = ? AND status IN ('Scheduled', 'Running')",
            params,
        )
        .await?;
    if moved == 1 {
        return Ok(Stopping::Stopped);
    }
    Ok(if get(store, scope, id).await?.is_some() { Stopping::NotRunning } else { Stopping::NoSuchQuery })
}

/// Answers as `Failed` the scope's running queries whose runner has been silent for
/// [`STALE_MS`] at `now_ms`.
pub async fn abandon_stale(store: &Store, scope: Scope<'_>, now_ms: i64) -> Result<(), ModelError> {
    let mut params = scoped(scope);
    params.push(Value::Int(now_ms - STALE_MS));
    store
        .execute(
            "UPDATE logs_queries SET status = 'Failed'
             WHERE account_id = ? AND region = ? AND status = 'Running' AND heartbeat_at < ?",
            params,
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, SCOPE, temp_store};

    fn query(id: &str, at: i64) -> StoredQuery {
        StoredQuery {
            id: id.into(),
            query_string: "stats count(*)".into(),
            log_groups: vec!["/web".into()],
            start_time: 0,
            end_time: 10,
            limit: 10_000,
            status: Status::Running,
            created_at: at,
            results: None,
            statistics: None,
        }
    }

    #[tokio::test]
    async fn a_query_ends_once_and_a_silent_runner_fails_it() {
        let temp = temp_store().await;
        let store = &temp.store;
        let east = SCOPE;
        let west = Scope { account: ACCOUNT, region: "us-west-2" };
        assert!(create(store, east, &query("q1", 1000), 2).await.unwrap());
        assert!(create(store, east, &query("q2", 1000), 2).await.unwrap());
        assert!(!create(store, east, &query("q3", 1000), 2).await.unwrap(), "two already run");
        assert!(create(store, west, &query("q3", 1000), 2).await.unwrap(), "another region's count");
        assert!(get(store, west, "q1").await.unwrap().is_none(), "regions do not share queries");

        assert_eq!(stop(store, east, "q1").await.unwrap(), Stopping::Stopped);
        assert!(!heartbeat(store, east, "q1", 2000).await.unwrap(), "the runner sees the stop");
        finish(store, east, "q1", Status::Complete, Some(("[]".into(), "{}".into()))).await.unwrap();
        assert_eq!(get(store, east, "q1").await.unwrap().unwrap().status, Status::Cancelled, "the stop won");
        assert_eq!(stop(store, east, "q1").await.unwrap(), Stopping::NotRunning);
        assert_eq!(stop(store, east, "nope").await.unwrap(), Stopping::NoSuchQuery);

        assert!(heartbeat(store, east, "q2", 40_000).await.unwrap());
        abandon_stale(store, east, 40_000 + STALE_MS).await.unwrap();
        assert_eq!(get(store, east, "q2").await.unwrap().unwrap().status, Status::Running, "just in time");
        abandon_stale(store, east, 40_001 + STALE_MS).await.unwrap();
        let failed = get(store, east, "q2").await.unwrap().unwrap();
        assert_eq!(failed.status, Status::Failed);
        assert_eq!(failed.results, None);

        let listed = all(store, east, Some(Status::Failed)).await.unwrap();
        assert_eq!(listed.iter().map(|q| q.id.as_str()).collect::<Vec<_>>(), ["q2"]);
        assert_eq!(all(store, east, None).await.unwrap().len(), 2);
    }
}
