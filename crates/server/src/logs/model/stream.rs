//! The log-stream model: a stream of a group, what it has stored (first and last event
//! times, last ingestion, bytes, which `event::append` keeps), and the SQL of `log_streams`.
//!
//! Guarantees: a name is created once per group; a stream is deleted with its events in one
//! transaction; streams are listed in one total order (by name, or by last event time then
//! name), so offset paging over them is stable while nothing changes.

use crate::regions::Scope;
use store::{Statement, Store, StoreError, Value};

use crate::logs::model::ModelError;

/// A stored log stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStream {
    pub name: String,
    /// Epoch milliseconds, as every time here.
    pub created_at: i64,
    pub first_event_at: Option<i64>,
    pub last_event_at: Option<i64>,
    pub last_ingestion_at: Option<i64>,
    pub stored_bytes: i64,
}

/// How DescribeLogStreams orders streams (`orderBy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOrder {
    LogStreamName,
    /// By last event time (a stream without events first), then by name.
    LastEventTime,
}

/// What creating a stream did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Created,
    AlreadyExists,
}

/// Records a new stream of `group` (the caller checks the group exists).
pub async fn create(
    store: &Store,
    scope: Scope<'_>,
    group: &str,
    name: &str,
    now_ms: i64,
) -> Result<Created, ModelError> {
    let inserted = store
        .execute(
            "INSERT INTO log_streams (account_id, region, group_name, name, created_at) VALUES (?, ?, ?, ?, ?)",
            vec![scope.account.into(), scope.region.into(), group.into(), name.into(), Value::Int(now_ms)],
        )
        .await;
    match inserted {
        Ok(_) => Ok(Created::Created),
        Err(StoreError::Conflict) => Ok(Created::AlreadyExists),
        Err(error) => Err(error.into()),
    }
}

/// Deletes a stream with its events; false when there is no such stream.
pub async fn delete(store: &Store, scope: Scope<'_>, group: &str, name: &str) -> Result<bool, ModelError> {
    let deleted = store
        .transaction(vec![
            Statement::guard(
                "DELETE FROM log_streams WHERE account_id = ? AND region = ? AND group_name = ? AND name = ?",
                vec![scope.account.into(), scope.region.into(), group.into(), name.into()],
            ),
            Statement::new(
                "DELETE FROM log_batches WHERE account_id = ? AND region = ? AND group_name = ? AND stream_name = ?",
                vec![scope.account.into(), scope.region.into(), group.into(), name.into()],
            ),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Whether a stream exists in a group (requests learn it with what they read:
/// `event::destination`, `event::of_existing_stream`).
#[cfg(test)]
pub async fn exists(store: &Store, scope: Scope<'_>, group: &str, name: &str) -> Result<bool, ModelError> {
    let rows = store
        .query(
            "SELECT 1 FROM log_streams WHERE account_id = ? AND region = ? AND group_name = ? AND name = ?",
            vec![scope.account.into(), scope.region.into(), group.into(), name.into()],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// The streams of a group, in `order` (reversed when `descending`).
pub async fn of_group(
    store: &Store,
    scope: Scope<'_>,
    group: &str,
    order: StreamOrder,
    descending: bool,
) -> Result<Vec<LogStream>, ModelError> {
    let order = match (order, descending) {
        (StreamOrder::LastEventTime, false) => "COALESCE(last_event_at, 0), name",
        (StreamOrder::LastEventTime, true) => "COALESCE(last_event_at, 0) DESC, name DESC",
        (StreamOrder::LogStreamName, false) => "name",
        (StreamOrder::LogStreamName, true) => "name DESC",
    };
    let rows = store
        .query(
            &format!(
                "SELECT name, created_at, first_event_at, last_event_at, last_ingestion_at, stored_bytes FROM log_streams
                 WHERE account_id = ? AND region = ? AND group_name = ? ORDER BY {order}"
            ),
            vec![scope.account.into(), scope.region.into(), group.into()],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(LogStream {
                name: row.text(0)?,
                created_at: row.int(1)?,
                first_event_at: row.opt_int(2)?,
                last_event_at: row.opt_int(3)?,
                last_ingestion_at: row.opt_int(4)?,
                stored_bytes: row.int(5)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::logs::model::{event, group};
    use crate::testing::{SCOPE, temp_store};

    async fn names(store: &Store, order: StreamOrder, descending: bool) -> Vec<String> {
        of_group(store, SCOPE, "/web", order, descending).await.unwrap().into_iter().map(|s| s.name).collect()
    }

    #[tokio::test]
    async fn streams_are_created_once_per_group_and_listed_in_either_order() {
        let temp = temp_store().await;
        let store = &temp.store;
        group::create(store, SCOPE, &group::NewGroup::plain("/web", 1)).await.unwrap();
        group::create(store, SCOPE, &group::NewGroup::plain("/api", 1)).await.unwrap();
        for name in ["b", "a", "c"] {
            assert_eq!(create(store, SCOPE, "/web", name, 10).await.unwrap(), Created::Created);
        }
        assert_eq!(create(store, SCOPE, "/web", "a", 11).await.unwrap(), Created::AlreadyExists);
        assert_eq!(create(store, SCOPE, "/api", "a", 11).await.unwrap(), Created::Created, "per group");
        event::append(store, SCOPE, "/web", "c", &[(5_000, "x")], 6_000).await.unwrap();
        event::append(store, SCOPE, "/web", "a", &[(9_000, "yy")], 9_500).await.unwrap();

        assert_eq!(names(store, StreamOrder::LogStreamName, false).await, ["a", "b", "c"]);
        assert_eq!(names(store, StreamOrder::LogStreamName, true).await, ["c", "b", "a"]);
        assert_eq!(names(store, StreamOrder::LastEventTime, false).await, ["b", "c", "a"], "no events first");
        assert_eq!(names(store, StreamOrder::LastEventTime, true).await, ["a", "c", "b"]);
        let a = of_group(store, SCOPE, "/web", StreamOrder::LogStreamName, false).await.unwrap().remove(0);
        let expected = LogStream {
            name: "a".to_owned(),
            created_at: 10,
            first_event_at: Some(9_000),
            last_event_at: Some(9_000),
            last_ingestion_at: Some(9_500),
            stored_bytes: 2,
        };
        assert_eq!(a, expected);
    }

    #[tokio::test]
    async fn a_stream_goes_with_its_events_only() {
        let temp = temp_store().await;
        let store = &temp.store;
        group::create(store, SCOPE, &group::NewGroup::plain("/web", 1)).await.unwrap();
        create(store, SCOPE, "/web", "a", 10).await.unwrap();
        create(store, SCOPE, "/web", "b", 10).await.unwrap();
        event::append(store, SCOPE, "/web", "a", &[(1_000, "one")], 1_000).await.unwrap();
        event::append(store, SCOPE, "/web", "b", &[(1_000, "two")], 1_000).await.unwrap();
        assert!(delete(store, SCOPE, "/web", "a").await.unwrap());
        assert!(!delete(store, SCOPE, "/web", "a").await.unwrap(), "gone");
        assert!(!exists(store, SCOPE, "/web", "a").await.unwrap());
        assert!(exists(store, SCOPE, "/web", "b").await.unwrap());
        let left = store.query("SELECT stream_name FROM log_batches", vec![]).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left.first().unwrap().text(0).unwrap(), "b");
    }
}
