//! The tags of log groups and destinations: kept in the shared `tags` table ([`crate::tags`])
//! as the resource kind `logs`, keyed by the resource's ARN (which names its region), set and
//! removed inside transactions guarded by the resource's own row.
//!
//! Guarantees: a key is one tag per resource (setting it again replaces its value); a
//! resource never holds more than [`PER_GROUP`] tags, counted in the transaction that adds
//! them; a resource's tags go with it.

use store::{Statement, Store, StoreError, Value};

use crate::logs::model::ModelError;
use crate::regions::Scope;

/// Tags one log group or destination may carry (CloudWatch Logs' quota).
pub const PER_GROUP: i64 = 50;

/// The `tags` table's resource kind of log groups.
pub const KIND: &str = "logs";

/// What adding tags did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tagged {
    Done,
    /// The group would hold more than [`PER_GROUP`]; nothing was written.
    TooMany,
    NoResource,
}

/// What Logs tags: a log group, a destination, a delivery destination or a lookup table by
/// name, or a scheduled query by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    Group(&'a str),
    Destination(&'a str),
    DeliveryDestination(&'a str),
    ScheduledQuery(&'a str),
    LookupTable(&'a str),
}

impl Resource<'_> {
    /// Its table, the column that keys it in its region, and its key.
    fn table_and_key(&self) -> (&'static str, &'static str, &str) {
        match self {
            Resource::Group(name) => ("log_groups", "name", name),
            Resource::Destination(name) => ("logs_destinations", "name", name),
            Resource::DeliveryDestination(name) => ("logs_delivery_destinations", "name", name),
            Resource::ScheduledQuery(id) => ("logs_scheduled_queries", "id", id),
            Resource::LookupTable(name) => ("logs_lookup_tables", "name", name),
        }
    }
}

/// The statement that guards a resource's tag changes: it changes the resource's row only
/// while it exists (and, when `limit` is given, holds at most that many tags), so a
/// transaction beginning with it writes nothing for a resource that is gone or would be over
/// its quota.
fn guard(scope: Scope<'_>, resource: Resource<'_>, arn: &str, limit: Option<i64>) -> Statement {
    let (table, column, name) = resource.table_and_key();
    let quota = if limit.is_some() { format!(" AND {} <= ?", crate::tags::COUNT) } else { String::new() };
    let mut params: Vec<Value> = vec![scope.account.into(), scope.region.into(), name.into()];
    if let Some(limit) = limit {
        params.extend([scope.account.into(), KIND.into(), arn.into(), Value::Int(limit)]);
    }
    Statement::guard(
        format!("UPDATE {table} SET {column} = {column} WHERE account_id = ? AND region = ? AND {column} = ?{quota}"),
        params,
    )
}

/// Sets `tags` on `resource` (ARN `arn`), replacing the values of keys it has.
pub async fn add(
    store: &Store,
    scope: Scope<'_>,
    resource: Resource<'_>,
    arn: &str,
    tags: &[(String, String)],
) -> Result<Tagged, ModelError> {
    let mut statements = vec![guard(scope, resource, arn, None)];
    statements.extend(crate::tags::set(scope.account, KIND, arn, tags));
    // The quota is checked after the writes, in the same transaction.
    statements.push(guard(scope, resource, arn, Some(PER_GROUP)));
    match store.transaction(statements).await {
        Ok(_) => Ok(Tagged::Done),
        Err(StoreError::Unmet(0)) => Ok(Tagged::NoResource),
        Err(StoreError::Unmet(_)) => Ok(Tagged::TooMany),
        Err(error) => Err(error.into()),
    }
}

/// Removes the tags of `keys` from `resource`; false when there is no such resource.
pub async fn remove(
    store: &Store,
    scope: Scope<'_>,
    resource: Resource<'_>,
    arn: &str,
    keys: &[&str],
) -> Result<bool, ModelError> {
    let mut statements = vec![guard(scope, resource, arn, None)];
    statements.extend(crate::tags::remove(scope.account, KIND, arn, keys));
    match store.transaction(statements).await {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The statement that removes every tag of a resource (in its deletion's transaction).
pub fn delete_all(account: &str, arn: &str) -> Statement {
    crate::tags::delete_all(account, KIND, arn)
}
