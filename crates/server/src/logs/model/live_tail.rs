//! Live Tail sessions that are open (`logs_live_tail_sessions`, migration 35): what the
//! account's quota of concurrent sessions counts, on every replica.
//!
//! Guarantees: a session is opened only while fewer than the quota of the scope's sessions
//! are alive (counted and inserted in one statement); a session is alive while its runner
//! moves its heartbeat, so one whose server died stops counting after [`STALE_MS`] and is
//! deleted by the next opening in its scope.

use store::{Statement, Store, Value};

use crate::logs::model::ModelError;
use crate::regions::Scope;

/// How old a heartbeat may be before its session no longer counts (its runner beats every
/// second).
pub const STALE_MS: i64 = 10_000;

/// Opens session `id` at `now_ms` unless `max` of the scope's sessions are alive (then
/// `false`), deleting the scope's dead ones first.
pub async fn open(store: &Store, scope: Scope<'_>, id: &str, now_ms: i64, max: i64) -> Result<bool, ModelError> {
    let stale = Value::Int(now_ms.saturating_sub(STALE_MS));
    let counts = store
        .transaction(vec![
            Statement::new(
                "DELETE FROM logs_live_tail_sessions WHERE account_id = ? AND region = ? AND heartbeat_at < ?",
                vec![scope.account.into(), scope.region.into(), stale.clone()],
            ),
            Statement::new(
                "INSERT INTO logs_live_tail_sessions (account_id, region, session_id, started_at, heartbeat_at)
                 SELECT ?, ?, ?, ?, ?
                 WHERE (SELECT COUNT(*) FROM logs_live_tail_sessions
                        WHERE account_id = ? AND region = ? AND heartbeat_at >= ?) < ?",
                vec![
                    scope.account.into(),
                    scope.region.into(),
                    id.into(),
                    Value::Int(now_ms),
                    Value::Int(now_ms),
                    scope.account.into(),
                    scope.region.into(),
                    stale,
                    Value::Int(max),
                ],
            ),
        ])
        .await?;
    Ok(counts.get(1).copied() == Some(1))
}

/// Moves a session's heartbeat; `false` when its row is gone.
pub async fn heartbeat(store: &Store, scope: Scope<'_>, id: &str, now_ms: i64) -> Result<bool, ModelError> {
    let moved = store
        .execute(
            "UPDATE logs_live_tail_sessions SET heartbeat_at = ? WHERE account_id = ? AND region = ? AND session_id = ?",
            vec![Value::Int(now_ms), scope.account.into(), scope.region.into(), id.into()],
        )
        .await?;
    Ok(moved == 1)
}

/// Ends a session.
pub async fn close(store: &Store, scope: Scope<'_>, id: &str) -> Result<(), ModelError> {
    store
        .execute(
            "DELETE FROM logs_live_tail_sessions WHERE account_id = ? AND region = ? AND session_id = ?",
            vec![scope.account.into(), scope.region.into(), id.into()],
        )
        .await?;
    Ok(())
}

/// How many of the scope's sessions are alive at `now_ms` (tests).
#[cfg(test)]
pub async fn alive(store: &Store, scope: Scope<'_>, now_ms: i64) -> Result<i64, ModelError> {
    let rows = store
        .query(
            "SELECT COUNT(*) FROM logs_live_tail_sessions WHERE account_id = ? AND region = ? AND heartbeat_at >= ?",
            vec![scope.account.into(), scope.region.into(), Value::Int(now_ms.saturating_sub(STALE_MS))],
        )
        .await?;
    Ok(rows.first().map(|row| row.int(0)).transpose()?.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, SCOPE, temp_store};

    #[tokio::test]
    async fn the_quota_counts_live_sessions_only() {
        let temp = temp_store().await;
        let store = &temp.store;
        assert!(open(store, SCOPE, "a", 1_000, 2).await.unwrap());
        assert!(open(store, SCOPE, "b", 1_000, 2).await.unwrap());
        assert!(!open(store, SCOPE, "c", 2_000, 2).await.unwrap(), "two are open");
        let west = Scope { account: ACCOUNT, region: "us-west-2" };
        assert!(open(store, west, "c", 2_000, 2).await.unwrap(), "another region counts its own");
        close(store, SCOPE, "a").await.unwrap();
        assert!(open(store, SCOPE, "c", 2_000, 2).await.unwrap(), "a closed one frees its place");
        assert!(heartbeat(store, SCOPE, "c", 20_000).await.unwrap());
        assert!(!heartbeat(store, SCOPE, "a", 20_000).await.unwrap(), "a closed session has no row");
        // `b` last beat at 1,000: at 20,000 it is dead, so `d` may open and `b` is gone.
        assert!(open(store, SCOPE, "d", 20_000, 2).await.unwrap());
        assert!(!heartbeat(store, SCOPE, "b", 20_000).await.unwrap());
        assert_eq!(alive(store, SCOPE, 20_000).await.unwrap(), 2);
    }
}
