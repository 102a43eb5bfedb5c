//! The tags of log groups: kept in the shared `tags` table ([`crate::tags`]) as the resource
//! kind `logs`, keyed
//! by the group's ARN (which names its region), set and removed inside the group's own
//! transactions.
//!
//! Guarantees: a key is one tag per group (setting it again replaces its value); a group
//! never holds more than [`PER_GROUP`] tags, counted in the transaction that adds them; a
//! group's tags go with it.

use store::{Statement, Store, StoreError, Value};

use crate::logs::model::ModelError;
use crate::regions::Scope;

/// Tags one log group may carry (CloudWatch Logs' quota).
pub const PER_GROUP: i64 = 50;

/// The `tags` table's resource kind of log groups.
pub const KIND: &str = "logs";

/// What adding tags did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tagged {
    Done,
    /// The group would hold more than [`PER_GROUP`]; nothing was written.
    TooMany,
    NoGroup,
}

/// The statement that guards a group's tag changes: it changes the group's row only while it
/// exists (and, when `limit` is given, holds at most that many tags), so a transaction
/// beginning with it writes nothing for a group that is gone or would be over its quota.
fn group_guard(scope: Scope<'_>, name: &str, arn: &str, limit: Option<i64>) -> Statement {
    let quota = if limit.is_some() { format!(" AND {} <= ?", crate::tags::COUNT) } else { String::new() };
    let mut params: Vec<Value> = vec![scope.account.into(), scope.region.into(), name.into()];
    if let Some(limit) = limit {
        params.extend([scope.account.into(), KIND.into(), arn.into(), Value::Int(limit)]);
    }
    Statement::guard(
        format!("UPDATE log_groups SET name = name WHERE account_id = ? AND region = ? AND name = ?{quota}"),
        params,
    )
}

/// Sets `tags` on the group `name` (ARN `arn`), replacing the values of keys it has.
pub async fn add(
    store: &Store,
    scope: Scope<'_>,
    name: &str,
    arn: &str,
    tags: &[(String, String)],
) -> Result<Tagged, ModelError> {
    let mut statements = vec![group_guard(scope, name, arn, None)];
    statements.extend(crate::tags::set(scope.account, KIND, arn, tags));
    // The quota is checked after the writes, in the same transaction.
    statements.push(group_guard(scope, name, arn, Some(PER_GROUP)));
    match store.transaction(statements).await {
        Ok(_) => Ok(Tagged::Done),
        Err(StoreError::Unmet(0)) => Ok(Tagged::NoGroup),
        Err(StoreError::Unmet(_)) => Ok(Tagged::TooMany),
        Err(error) => Err(error.into()),
    }
}

/// Removes the tags of `keys` from the group `name`; false when there is no such group.
pub async fn remove(store: &Store, scope: Scope<'_>, name: &str, arn: &str, keys: &[&str]) -> Result<bool, ModelError> {
    let mut statements = vec![group_guard(scope, name, arn, None)];
    statements.extend(crate::tags::remove(scope.account, KIND, arn, keys));
    match store.transaction(statements).await {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The statement that removes every tag of a group (in its deletion's transaction).
pub fn delete_all(account: &str, arn: &str) -> Statement {
    crate::tags::delete_all(account, KIND, arn)
}
