//! Tasks protected from scale-in (`ecs_task_protection`): a service's task and when its
//! protection expires. The service scheduler reads the protected tasks of a cluster at each
//! pass; an expired protection protects nothing and is answered as none.
//!
//! Guarantees: one protection per task (a new one replaces it); reads never cross accounts
//! or regions; a cluster's protected tasks are read through its index.

use std::collections::HashSet;

use aws_protocol::AwsError;
use store::{Statement, Store, Value};

use crate::operations::internal;
use crate::regions::Scope;

/// Protects `task` of `cluster` until `expires_at` (Unix seconds), or lifts its protection.
pub(crate) async fn set(
    store: &Store,
    scope: Scope<'_>,
    task: &str,
    cluster: &str,
    expires_at: Option<i64>,
) -> Result<(), AwsError> {
    let key = || vec![scope.account.into(), scope.region.into(), task.into()];
    let mut statements = vec![Statement::new(
        "DELETE FROM ecs_task_protection WHERE account_id = ? AND region = ? AND task_arn = ?",
        key(),
    )];
    if let Some(expires_at) = expires_at {
        let mut insert = key();
        insert.extend([cluster.into(), Value::Int(expires_at)]);
        statements.push(Statement::new(
            "INSERT INTO ecs_task_protection (account_id, region, task_arn, cluster_arn, expires_at) VALUES (?, ?, ?, ?, ?)",
            insert,
        ));
    }
    store.transaction(statements).await.map_err(internal)?;
    Ok(())
}

/// When `task`'s protection expires, if it is protected at `now`.
pub(crate) async fn of(store: &Store, scope: Scope<'_>, task: &str, now: i64) -> Result<Option<i64>, AwsError> {
    let rows = store
        .query(
            "SELECT expires_at FROM ecs_task_protection WHERE account_id = ? AND region = ? AND task_arn = ? AND expires_at > ?",
            vec![scope.account.into(), scope.region.into(), task.into(), Value::Int(now)],
        )
        .await
        .map_err(internal)?;
    rows.first().map(|row| row.int(0).map_err(internal)).transpose()
}

/// The tasks of `cluster` protected at `now`.
pub(crate) async fn protected_in(store: &Store, cluster: &str, now: i64) -> Result<HashSet<String>, AwsError> {
    let rows = store
        .query(
            "SELECT task_arn FROM ecs_task_protection WHERE cluster_arn = ? AND expires_at > ?",
            vec![cluster.into(), Value::Int(now)],
        )
        .await
        .map_err(internal)?;
    rows.iter().map(|row| row.text(0).map_err(internal)).collect()
}
