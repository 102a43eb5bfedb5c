//! A log group's metric filters and subscription filters, and the region's resource
//! policies: the SQL of `logs_metric_filters`, `logs_subscription_filters` and
//! `logs_resource_policies`.
//!
//! Guarantees: a filter or policy name is one row (putting it again replaces it); a group
//! never holds more than its quota of filters, nor a region more than its quota of policies,
//! counted in the transaction that adds one; a group's filters go with it (`group::delete`).

use store::{Statement, Store, StoreError, Value};

use crate::logs::model::ModelError;
use crate::regions::Scope;

/// Which of a group's filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    Metric,
    Subscription,
}

impl FilterKind {
    fn table(self) -> &'static str {
        match self {
            FilterKind::Metric => "logs_metric_filters",
            FilterKind::Subscription => "logs_subscription_filters",
        }
    }
}

/// A stored filter. `detail` is what its kind adds, as JSON: a metric filter's
/// `metricTransformations`; a subscription filter's destination, role and distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub group: String,
    pub name: String,
    pub pattern: String,
    pub detail: String,
    pub created_at: i64,
}

/// What putting a filter or policy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Written,
    /// The quota is reached and the name is new: nothing was written.
    OverQuota,
    NoGroup,
}

/// Stores a filter of a group (replacing one of its name), within `quota` per group.
pub async fn put(
    store: &Store,
    scope: Scope<'_>,
    kind: FilterKind,
    filter: &Filter,
    quota: i64,
) -> Result<Put, ModelError> {
    let table = kind.table();
    let key = || -> Vec<Value> { vec![scope.account.into(), scope.region.into(), filter.group.as_str().into()] };
    let statements = vec![
        Statement::guard("UPDATE log_groups SET name = name WHERE account_id = ? AND region = ? AND name = ?", key()),
        Statement::new(
            format!("DELETE FROM {table} WHERE account_id = ? AND region = ? AND group_name = ? AND name = ?"),
            [key(), vec![filter.name.as_str().into()]].concat(),
        ),
        Statement::new(
            format!(
                "INSERT INTO {table} (account_id, region, group_name, name, pattern, {}, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                detail_column(kind)
            ),
            [
                key(),
                vec![
                    filter.name.as_str().into(),
                    filter.pattern.as_str().into(),
                    filter.detail.as_str().into(),
                    Value::Int(filter.created_at),
                ],
            ]
            .concat(),
        ),
        Statement::guard(
            format!(
                "UPDATE log_groups SET name = name WHERE account_id = ? AND region = ? AND name = ?
                 AND (SELECT COUNT(*) FROM {table} WHERE account_id = ? AND region = ? AND group_name = ?) <= ?"
            ),
            [key(), key(), vec![Value::Int(quota)]].concat(),
        ),
    ];
    match store.transaction(statements).await {
        Ok(_) => Ok(Put::Written),
        Err(StoreError::Unmet(0)) => Ok(Put::NoGroup),
        Err(StoreError::Unmet(_)) => Ok(Put::OverQuota),
        Err(error) => Err(error.into()),
    }
}

/// Where a filter kind keeps its detail JSON.
fn detail_column(kind: FilterKind) -> &'static str {
    match kind {
        FilterKind::Metric => "transformations",
        FilterKind::Subscription => "detail",
    }
}

/// Every filter of `kind` in the region, or of one group, by group then name.
pub async fn list(
    store: &Store,
    scope: Scope<'_>,
    kind: FilterKind,
    group: Option<&str>,
) -> Result<Vec<Filter>, ModelError> {
    let mut sql = format!(
        "SELECT group_name, name, pattern, {}, created_at FROM {} WHERE account_id = ? AND region = ?",
        detail_column(kind),
        kind.table()
    );
    let mut params: Vec<Value> = vec![scope.account.into(), scope.region.into()];
    if let Some(group) = group {
        sql.push_str(" AND group_name = ?");
        params.push(group.into());
    }
    sql.push_str(" ORDER BY group_name, name");
    let rows = store.query(&sql, params).await?;
    rows.iter()
        .map(|row| {
            Ok(Filter {
                group: row.text(0)?,
                name: row.text(1)?,
                pattern: row.text(2)?,
                detail: row.text(3)?,
                created_at: row.int(4)?,
            })
        })
        .collect()
}

/// Deletes a group's filter; false when it has none of that name.
pub async fn delete(
    store: &Store,
    scope: Scope<'_>,
    kind: FilterKind,
    group: &str,
    name: &str,
) -> Result<bool, ModelError> {
    let deleted = store
        .execute(
            &format!(
                "DELETE FROM {} WHERE account_id = ? AND region = ? AND group_name = ? AND name = ?",
                kind.table()
            ),
            vec![scope.account.into(), scope.region.into(), group.into(), name.into()],
        )
        .await?;
    Ok(deleted > 0)
}

/// A stored resource policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePolicy {
    pub name: String,
    pub document: String,
    pub updated_at: i64,
}

/// Stores a resource policy of the region (replacing one of its name), within `quota`.
pub async fn put_policy(
    store: &Store,
    scope: Scope<'_>,
    policy: &ResourcePolicy,
    quota: i64,
) -> Result<Put, ModelError> {
    let key = || -> Vec<Value> { vec![scope.account.into(), scope.region.into()] };
    let statements = vec![
        Statement::new(
            "DELETE FROM logs_resource_policies WHERE account_id = ? AND region = ? AND name = ?",
            [key(), vec![policy.name.as_str().into()]].concat(),
        ),
        Statement::new(
            "INSERT INTO logs_resource_policies (account_id, region, name, document, updated_at) VALUES (?, ?, ?, ?, ?)",
            [key(), vec![policy.name.as_str().into(), policy.document.as_str().into(), Value::Int(policy.updated_at)]]
                .concat(),
        ),
        Statement::guard(
            "UPDATE logs_resource_policies SET name = name WHERE account_id = ? AND region = ? AND name = ?
             AND (SELECT COUNT(*) FROM logs_resource_policies WHERE account_id = ? AND region = ?) <= ?",
            [key(), vec![policy.name.as_str().into()], key(), vec![Value::Int(quota)]].concat(),
        ),
    ];
    match store.transaction(statements).await {
        Ok(_) => Ok(Put::Written),
        Err(StoreError::Unmet(_)) => Ok(Put::OverQuota),
        Err(error) => Err(error.into()),
    }
}

/// The region's resource policies, by name.
pub async fn policies(store: &Store, scope: Scope<'_>) -> Result<Vec<ResourcePolicy>, ModelError> {
    let rows = store
        .query(
            "SELECT name, document, updated_at FROM logs_resource_policies WHERE account_id = ? AND region = ? ORDER BY name",
            vec![scope.account.into(), scope.region.into()],
        )
        .await?;
    rows.iter()
        .map(|row| Ok(ResourcePolicy { name: row.text(0)?, document: row.text(1)?, updated_at: row.int(2)? }))
        .collect()
}

/// Deletes a resource policy; false when there is none of that name.
pub async fn delete_policy(store: &Store, scope: Scope<'_>, name: &str) -> Result<bool, ModelError> {
    let deleted = store
        .execute(
            "DELETE FROM logs_resource_policies WHERE account_id = ? AND region = ? AND name = ?",
            vec![scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    Ok(deleted > 0)
}
