//! Service-linked roles' deletions: every statement on `service_linked_role_deletions`, and
//! the transaction that deletes such a role.
//!
//! Guarantees: a service-linked role is deleted with its attached policies (which nobody else
//! may detach), its boundary and tags, in the transaction that records the deletion task, and
//! only while no inline policy or instance profile holds it. A task is read back only by its
//! id within its account.

use store::{Statement, Store, StoreError, Value};

use super::entities::Kind;
use super::tags::{self, Tagged};
use super::{Dependents, Error, boundaries, inline, instance_profiles};

/// A deletion task's state, as GetServiceLinkedRoleDeletionStatus reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Deletion {
    /// `SUCCEEDED` or `FAILED` (Homeport deletes at once: a task is never left running).
    pub status: String,
    /// Why it failed, in AWS's words.
    pub reason: Option<String>,
}

/// Deletes the service-linked role `key` and records `task_id` as SUCCEEDED; or, when
/// something still holds the role, records it as FAILED with `held_reason`. Either way the
/// task's state is returned.
pub(crate) async fn delete(
    store: &Store,
    account: &str,
    key: &str,
    task_id: &str,
    held_reason: &str,
    now: i64,
) -> Result<Deletion, Error> {
    let mut sql = "DELETE FROM roles WHERE account_id = ? AND name_key = ?".to_owned();
    let mut params = vec![account.into(), key.into()];
    Dependents::append_none(
        &mut sql,
        &mut params,
        &[inline::of(account, Kind::Role, key), instance_profiles::holding(account, key)],
    );
    let record = |status: &str, reason: Option<&str>| {
        Statement::new(
            "INSERT INTO service_linked_role_deletions (task_id, account_id, status, reason, created_at)
             VALUES (?, ?, ?, ?, ?)",
            vec![task_id.into(), account.into(), status.into(), reason.into(), Value::Int(now)],
        )
    };
    let deleted = store
        .transaction(vec![
            Statement::guard(sql, params),
            Statement::new(
                "DELETE FROM policy_attachments WHERE account_id = ? AND owner_kind = ? AND owner_key = ?",
                vec![account.into(), Kind::Role.noun().into(), key.into()],
            ),
            boundaries::delete(account, Kind::Role, key),
            tags::delete_all(account, Tagged::Entity(Kind::Role), key),
            record("SUCCEEDED", None),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(Deletion { status: "SUCCEEDED".to_owned(), reason: None }),
        Err(StoreError::Unmet(_)) => {
            store.transaction(vec![record("FAILED", Some(held_reason))]).await?;
            Ok(Deletion { status: "FAILED".to_owned(), reason: Some(held_reason.to_owned()) })
        }
        Err(error) => Err(error.into()),
    }
}

/// The deletion task `task_id` of the account, if there is one.
pub(crate) async fn find(store: &Store, account: &str, task_id: &str) -> Result<Option<Deletion>, Error> {
    let rows = store
        .query(
            "SELECT status, reason FROM service_linked_role_deletions WHERE account_id = ? AND task_id = ?",
            vec![account.into(), task_id.into()],
        )
        .await?;
    rows.first()
        .map(|row| Ok(Deletion { status: row.text(0)?, reason: row.opt_text(1)? }))
        .transpose()
        .map_err(|error: StoreError| error.into())
}
