//! What the two tables of a managed policy's uses share: `policy_attachments` and
//! `permissions_boundaries` both hold rows of (account, owner kind, owner key, policy ARN), and
//! a policy's users, its count of uses and the account's used ARNs read either the same way.
//! Each table's own module passes its name; nothing else names these tables.

use store::Store;

use super::Error;
use super::entities::{Entity, Kind, Window};

/// The entities of `kind` whose rows in `table` name `arn`, in `window`: read along the
/// table's index by policy and owner, stopping at the window's end.
pub(super) async fn entities_of_policy(
    store: &Store,
    table: &'static str,
    account: &str,
    kind: Kind,
    arn: &str,
    window: Window<'_>,
) -> Result<Vec<Entity>, Error> {
    let sql = format!(
        "SELECT {} FROM {table} a
         JOIN {} e ON e.account_id = a.account_id AND e.name_key = a.owner_key
         WHERE a.account_id = ? AND a.policy_arn = ? AND a.owner_kind = ? AND a.owner_key > ?
           AND substr(e.path, 1, {}) = ?
         ORDER BY a.owner_key LIMIT {}",
        Entity::columns(kind, "e"),
        kind.table(),
        window.prefix.chars().count(),
        window.limit
    );
    let params = vec![account.into(), arn.into(), kind.noun().into(), window.after.into(), window.prefix.into()];
    let rows = store.query(&sql, params).await?;
    rows.iter().map(|row| Entity::from_row(kind, row)).collect()
}

/// How many rows of `table` in the account name `arn`.
pub(super) async fn count_of_policy(
    store: &Store,
    table: &'static str,
    account: &str,
    arn: &str,
) -> Result<i64, Error> {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE account_id = ? AND policy_arn = ?");
    let rows = store.query(&sql, vec![account.into(), arn.into()]).await?;
    super::count(&rows)
}

/// A scalar subquery counting the rows of `table` naming the policy of a row of
/// `managed_policies` aliased `p` (so a policy and its counts are read in one statement).
pub(super) fn count_of_row(table: &'static str) -> String {
    format!("(SELECT COUNT(*) FROM {table} u WHERE u.account_id = p.account_id AND u.policy_arn = p.arn)")
}

/// How many rows of `table` in the account name each policy whose ARN begins with `prefix`
/// (those named by none are absent), in one statement.
pub(super) async fn counts_by_policy(
    store: &Store,
    table: &'static str,
    account: &str,
    prefix: &str,
) -> Result<Vec<(String, i64)>, Error> {
    let sql = format!(
        "SELECT policy_arn, COUNT(*) FROM {table} WHERE account_id = ? AND substr(policy_arn, 1, {}) = ?
         GROUP BY policy_arn",
        prefix.chars().count()
    );
    let rows = store.query(&sql, vec![account.into(), prefix.into()]).await?;
    rows.iter().map(|row| Ok((row.text(0)?, row.int(1)?))).collect()
}

/// Every policy ARN a row of `table` in the account names.
pub(super) async fn policy_arns(store: &Store, table: &'static str, account: &str) -> Result<Vec<String>, Error> {
    let sql = format!("SELECT DISTINCT policy_arn FROM {table} WHERE account_id = ?");
    let rows = store.query(&sql, vec![account.into()]).await?;
    super::texts(&rows)
}
