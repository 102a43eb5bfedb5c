//! What the two tables of a managed policy's uses share: `policy_attachments` and
//! `permissions_boundaries` both hold rows of (account, owner kind, owner key, policy ARN), and
//! a policy's users, its count of uses and the account's used ARNs read either the same way.
//! Each table's own module passes its name; nothing else names these tables.

use store::Store;

use super::Error;
use super::entities::{Entity, Kind};

/// The entities of `kind` whose rows in `table` name `arn`, by key.
pub(super) async fn entities_of_policy(
    store: &Store,
    table: &'static str,
    account: &str,
    kind: Kind,
    arn: &str,
) -> Result<Vec<Entity>, Error> {
    let sql = format!(
        "SELECT {} FROM {table} a
         JOIN {} e ON e.account_id = a.account_id AND e.name_key = a.owner_key
         WHERE a.account_id = ? AND a.owner_kind = ? AND a.policy_arn = ? ORDER BY e.name_key",
        Entity::columns(kind, "e"),
        kind.table()
    );
    let rows = store.query(&sql, vec![account.into(), kind.noun().into(), arn.into()]).await?;
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

/// Every policy ARN a row of `table` in the account names.
pub(super) async fn policy_arns(store: &Store, table: &'static str, account: &str) -> Result<Vec<String>, Error> {
    let sql = format!("SELECT DISTINCT policy_arn FROM {table} WHERE account_id = ?");
    let rows = store.query(&sql, vec![account.into()]).await?;
    super::texts(&rows)
}
