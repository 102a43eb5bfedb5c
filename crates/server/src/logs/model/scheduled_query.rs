//! Scheduled queries and the record of their runs: the SQL of `logs_scheduled_queries` and
//! `logs_scheduled_query_runs` (migration 36).
//!
//! Guarantees: a name is one scheduled query per account and region, and a region holds at
//! most the quota, counted in the statement that adds one; a run is claimed once: the replica
//! whose update finds `next_run` still at the time it read moves it on and records the run in
//! the same transaction, so two replicas never both run one firing; runs older than
//! [`HISTORY_MS`] are deleted when a newer one is recorded; a scheduled query is deleted with
//! its runs and tags in one transaction.

use serde_json::Value as Json;
use store::{Statement, Store, StoreError, Value};

use crate::logs::model::ModelError;
use crate::regions::Scope;

/// How long the record of a run is kept (the history GetScheduledQueryHistory can read).
pub const HISTORY_MS: i64 = 30 * 86_400 * 1000;

/// `arn:aws:logs:REGION:ACCOUNT:scheduled-query:ID`.
pub fn arn(scope: Scope<'_>, id: &str) -> String {
    format!("arn:aws:logs:{}:{}:scheduled-query:{id}", scope.region, scope.account)
}

/// A stored scheduled query. Times are epoch milliseconds, as CloudWatch Logs answers them.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledQuery {
    pub name: String,
    pub id: String,
    /// Its configuration as the request gave it (query, groups, schedule, role, offsets).
    pub detail: Json,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    /// When it next fires; none while disabled or past its end.
    pub next_run: Option<i64>,
    pub last_triggered: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One run: the Insights query it started (its results are that query's), or why it could
/// not start one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub query_id: String,
    pub triggered_at: i64,
    /// `Running` while its query decides, or the end it came to without one (`Failed`).
    pub status: String,
    pub error_message: Option<String>,
}

const COLUMNS: &str = "name, id, detail, state, next_run, last_triggered, created_at, updated_at";

fn of_row(row: &store::Row) -> Result<ScheduledQuery, StoreError> {
    Ok(ScheduledQuery {
        name: row.text(0)?,
        id: row.text(1)?,
        detail: serde_json::from_str(&row.text(2)?).unwrap_or(Json::Null),
        state: row.text(3)?,
        next_run: row.opt_int(4)?,
        last_triggered: row.opt_int(5)?,
        created_at: row.int(6)?,
        updated_at: row.int(7)?,
    })
}

/// Stores a new scheduled query with its tags; false when its name is taken or the region
/// holds `quota` already.
pub async fn create(
    store: &Store,
    scope: Scope<'_>,
    query: &ScheduledQuery,
    tags: &[(String, String)],
    quota: i64,
) -> Result<bool, ModelError> {
    let mut statements = vec![Statement::guard(
        "INSERT INTO logs_scheduled_queries (account_id, region, name, id, detail, state, next_run, created_at, updated_at)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?
         WHERE (SELECT COUNT(*) FROM logs_scheduled_queries WHERE account_id = ? AND region = ?) < ?
           AND NOT EXISTS (SELECT 1 FROM logs_scheduled_queries WHERE account_id = ? AND region = ? AND name = ?)",
        vec![
            scope.account.into(),
            scope.region.into(),
            query.name.as_str().into(),
            query.id.as_str().into(),
            query.detail.to_string().into(),
            query.state.as_str().into(),
            Value::from(query.next_run),
            Value::Int(query.created_at),
            Value::Int(query.updated_at),
            scope.account.into(),
            scope.region.into(),
            Value::Int(quota),
            scope.account.into(),
            scope.region.into(),
            query.name.as_str().into(),
        ],
    )];
    statements.extend(crate::tags::set(scope.account, super::tags::KIND, &arn(scope, &query.id), tags));
    match store.transaction(statements).await {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_) | StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The region's scheduled queries, by name (byte order).
pub async fn list(store: &Store, scope: Scope<'_>) -> Result<Vec<ScheduledQuery>, ModelError> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM logs_scheduled_queries WHERE account_id = ? AND region = ?"),
            vec![scope.account.into(), scope.region.into()],
        )
        .await?;
    let mut found = rows.iter().map(of_row).collect::<Result<Vec<_>, _>>()?;
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// The scheduled query of `name`, or of `id`.
pub async fn find(store: &Store, scope: Scope<'_>, name_or_id: &str) -> Result<Option<ScheduledQuery>, ModelError> {
    let rows = store
        .query(
            &format!(
                "SELECT {COLUMNS} FROM logs_scheduled_queries WHERE account_id = ? AND region = ? AND (name = ? OR id = ?)"
            ),
            vec![scope.account.into(), scope.region.into(), name_or_id.into(), name_or_id.into()],
        )
        .await?;
    let found = rows.iter().map(of_row).collect::<Result<Vec<_>, _>>()?;
    // A name wins over an id that happens to spell it.
    Ok(found.iter().find(|query| query.name == name_or_id).or(found.first()).cloned())
}

/// Replaces a scheduled query's configuration, state and next run; false when it is gone.
pub async fn update(store: &Store, scope: Scope<'_>, query: &ScheduledQuery) -> Result<bool, ModelError> {
    let changed = store
        .execute(
            "UPDATE logs_scheduled_queries SET detail = ?, state = ?, next_run = ?, updated_at = ?
             WHERE account_id = ? AND region = ? AND id = ?",
            vec![
                query.detail.to_string().into(),
                query.state.as_str().into(),
                Value::from(query.next_run),
                Value::Int(query.updated_at),
                scope.account.into(),
                scope.region.into(),
                query.id.as_str().into(),
            ],
        )
        .await?;
    Ok(changed > 0)
}

/// Deletes a scheduled query with its runs and tags; false when it is gone.
pub async fn delete(store: &Store, scope: Scope<'_>, id: &str) -> Result<bool, ModelError> {
    let deleted = store
        .transaction(vec![
            Statement::guard(
                "DELETE FROM logs_scheduled_queries WHERE account_id = ? AND region = ? AND id = ?",
                vec![scope.account.into(), scope.region.into(), id.into()],
            ),
            Statement::new(
                "DELETE FROM logs_scheduled_query_runs WHERE account_id = ? AND region = ? AND scheduled_query_id = ?",
                vec![scope.account.into(), scope.region.into(), id.into()],
            ),
            super::tags::delete_all(scope.account, &arn(scope, id)),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// A scheduled query that is due, with the account and region it belongs to.
pub struct Due {
    pub account: String,
    pub region: String,
    pub query: ScheduledQuery,
}

/// The enabled scheduled queries of every account and region due at `now_ms`, at most `limit`.
pub async fn due(store: &Store, now_ms: i64, limit: i64) -> Result<Vec<Due>, ModelError> {
    let rows = store
        .query(
            &format!(
                "SELECT account_id, region, {COLUMNS} FROM logs_scheduled_queries
                 WHERE next_run IS NOT NULL AND next_run <= ? AND state = 'ENABLED' ORDER BY next_run LIMIT ?"
            ),
            vec![Value::Int(now_ms), Value::Int(limit)],
        )
        .await?;
    let mut found = Vec::new();
    for row in &rows {
        let account = row.text(0)?;
        let region = row.text(1)?;
        let query = ScheduledQuery {
            name: row.text(2)?,
            id: row.text(3)?,
            detail: serde_json::from_str(&row.text(4)?).unwrap_or(Json::Null),
            state: row.text(5)?,
            next_run: row.opt_int(6)?,
            last_triggered: row.opt_int(7)?,
            created_at: row.int(8)?,
            updated_at: row.int(9)?,
        };
        found.push(Due { account, region, query });
    }
    Ok(found)
}

/// Claims the firing of `query` due at `due_ms`: moves its next run to `next_run` and records
/// `run`, unless another replica moved it first (then false and nothing is written).
pub async fn claim(
    store: &Store,
    scope: Scope<'_>,
    query: &ScheduledQuery,
    due_ms: i64,
    next_run: Option<i64>,
    run: &Run,
) -> Result<bool, ModelError> {
    let claimed = store
        .transaction(vec![
            Statement::guard(
                "UPDATE logs_scheduled_queries SET next_run = ?, last_triggered = ?
                 WHERE account_id = ? AND region = ? AND id = ? AND next_run = ? AND state = 'ENABLED'",
                vec![
                    Value::from(next_run),
                    Value::Int(run.triggered_at),
                    scope.account.into(),
                    scope.region.into(),
                    query.id.as_str().into(),
                    Value::Int(due_ms),
                ],
            ),
            Statement::new(
                "INSERT INTO logs_scheduled_query_runs (account_id, region, scheduled_query_id, query_id, triggered_at, status, error_message)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                vec![
                    scope.account.into(),
                    scope.region.into(),
                    query.id.as_str().into(),
                    run.query_id.as_str().into(),
                    Value::Int(run.triggered_at),
                    run.status.as_str().into(),
                    Value::from(run.error_message.as_deref()),
                ],
            ),
            Statement::new(
                "DELETE FROM logs_scheduled_query_runs WHERE account_id = ? AND region = ? AND scheduled_query_id = ? AND triggered_at < ?",
                vec![
                    scope.account.into(),
                    scope.region.into(),
                    query.id.as_str().into(),
                    Value::Int(run.triggered_at.saturating_sub(HISTORY_MS)),
                ],
            ),
        ])
        .await;
    match claimed {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_) | StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Records that a claimed run could not start its query.
pub async fn fail_run(store: &Store, scope: Scope<'_>, query_id: &str, message: &str) -> Result<(), ModelError> {
    store
        .execute(
            "UPDATE logs_scheduled_query_runs SET status = 'Failed', error_message = ?
             WHERE account_id = ? AND region = ? AND query_id = ?",
            vec![message.into(), scope.account.into(), scope.region.into(), query_id.into()],
        )
        .await?;
    Ok(())
}

/// The runs of scheduled query `id` triggered from `start_ms` to `end_ms` (both inclusive),
/// newest first.
pub async fn runs(
    store: &Store,
    scope: Scope<'_>,
    id: &str,
    (start_ms, end_ms): (i64, i64),
) -> Result<Vec<Run>, ModelError> {
    let rows = store
        .query(
            "SELECT query_id, triggered_at, status, error_message FROM logs_scheduled_query_runs
             WHERE account_id = ? AND region = ? AND scheduled_query_id = ? AND triggered_at >= ? AND triggered_at <= ?
             ORDER BY triggered_at DESC, query_id",
            vec![scope.account.into(), scope.region.into(), id.into(), Value::Int(start_ms), Value::Int(end_ms)],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Run {
                query_id: row.text(0)?,
                triggered_at: row.int(1)?,
                status: row.text(2)?,
                error_message: row.opt_text(3)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;
    use crate::testing::{SCOPE, temp_store};

    fn query(name: &str, id: &str, next_run: Option<i64>) -> ScheduledQuery {
        ScheduledQuery {
            name: name.to_owned(),
            id: id.to_owned(),
            detail: json!({"queryString": "fields @message"}),
            state: "ENABLED".to_owned(),
            next_run,
            last_triggered: None,
            created_at: 1,
            updated_at: 1,
        }
    }

    fn run(query_id: &str, at: i64) -> Run {
        Run { query_id: query_id.to_owned(), triggered_at: at, status: "Running".to_owned(), error_message: None }
    }

    #[tokio::test]
    async fn a_firing_is_claimed_once_and_recorded() {
        let temp = temp_store().await;
        let store = &temp.store;
        assert!(create(store, SCOPE, &query("hourly", "q1", Some(1000)), &[], 2).await.unwrap());
        assert!(!create(store, SCOPE, &query("hourly", "q9", Some(1000)), &[], 2).await.unwrap(), "name taken");
        assert!(create(store, SCOPE, &query("later", "q2", Some(5000)), &[], 2).await.unwrap());
        assert!(!create(store, SCOPE, &query("third", "q3", None), &[], 2).await.unwrap(), "over quota");
        let due_now = due(store, 1000, 10).await.unwrap();
        assert_eq!(due_now.iter().map(|due| due.query.name.as_str()).collect::<Vec<_>>(), ["hourly"]);
        let hourly = &due_now[0].query;
        assert!(claim(store, SCOPE, hourly, 1000, Some(2000), &run("a", 1000)).await.unwrap());
        assert!(!claim(store, SCOPE, hourly, 1000, Some(2000), &run("b", 1000)).await.unwrap(), "claimed once");
        assert!(due(store, 1999, 10).await.unwrap().is_empty());
        fail_run(store, SCOPE, "a", "no group").await.unwrap();
        let recorded = runs(store, SCOPE, "q1", (0, 5000)).await.unwrap();
        assert_eq!(recorded.len(), 1);
        assert_eq!((recorded[0].status.as_str(), recorded[0].error_message.as_deref()), ("Failed", Some("no group")));
        assert_eq!(find(store, SCOPE, "q1").await.unwrap().unwrap().last_triggered, Some(1000));
        // A run past the history's reach goes when a newer one is recorded.
        assert!(claim(store, SCOPE, hourly, 2000, None, &run("c", 1000 + HISTORY_MS + 1)).await.unwrap());
        assert_eq!(runs(store, SCOPE, "q1", (0, i64::MAX)).await.unwrap().len(), 1);
        assert!(delete(store, SCOPE, "q1").await.unwrap());
        assert!(!delete(store, SCOPE, "q1").await.unwrap());
        assert!(runs(store, SCOPE, "q1", (0, i64::MAX)).await.unwrap().is_empty(), "its runs went with it");
        assert_eq!(list(store, SCOPE).await.unwrap().len(), 1);
    }
}
