//! The region's account policies: the SQL of `logs_account_policies` (migration 26).
//!
//! Guarantees: a policy is one row per type and name (putting it again replaces its document
//! and selection criteria); a region never holds more than the quota of policies of one type,
//! counted in the transaction that adds one.

use store::{Statement, Store, StoreError, Value};

use crate::logs::model::ModelError;
use crate::regions::Scope;

/// A stored account policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPolicy {
    pub policy_type: String,
    pub name: String,
    pub document: String,
    pub selection_criteria: Option<String>,
    /// Epoch milliseconds.
    pub updated_at: i64,
}

/// What putting a policy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Written,
    /// The region holds `quota` policies of the type and the name is new: nothing was written.
    OverQuota,
}

/// Stores a policy (replacing one of its type and name), within `quota` of its type.
pub async fn put(store: &Store, scope: Scope<'_>, policy: &AccountPolicy, quota: i64) -> Result<Put, ModelError> {
    let key = || -> Vec<Value> {
        vec![scope.account.into(), scope.region.into(), policy.policy_type.as_str().into(), policy.name.as_str().into()]
    };
    let statements = vec![
        Statement::new(
            "DELETE FROM logs_account_policies WHERE account_id = ? AND region = ? AND policy_type = ? AND name = ?",
            key(),
        ),
        Statement::new(
            "INSERT INTO logs_account_policies (account_id, region, policy_type, name, document, selection_criteria, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                key(),
                vec![
                    policy.document.as_str().into(),
                    Value::from(policy.selection_criteria.as_deref()),
                    Value::Int(policy.updated_at),
                ],
            ]
            .concat(),
        ),
        Statement::guard(
            "UPDATE logs_account_policies SET name = name
             WHERE account_id = ? AND region = ? AND policy_type = ? AND name = ?
               AND (SELECT COUNT(*) FROM logs_account_policies WHERE account_id = ? AND region = ? AND policy_type = ?) <= ?",
            [
                key(),
                vec![
                    scope.account.into(),
                    scope.region.into(),
                    policy.policy_type.as_str().into(),
                    Value::Int(quota),
                ],
            ]
            .concat(),
        ),
    ];
    match store.transaction(statements).await {
        Ok(_) => Ok(Put::Written),
        Err(StoreError::Unmet(_)) => Ok(Put::OverQuota),
        Err(error) => Err(error.into()),
    }
}

/// The region's policies of `policy_type`, by name.
pub async fn of_type(store: &Store, scope: Scope<'_>, policy_type: &str) -> Result<Vec<AccountPolicy>, ModelError> {
    let rows = store
        .query(
            "SELECT policy_type, name, document, selection_criteria, updated_at FROM logs_account_policies
             WHERE account_id = ? AND region = ? AND policy_type = ? ORDER BY name",
            vec![scope.account.into(), scope.region.into(), policy_type.into()],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(AccountPolicy {
                policy_type: row.text(0)?,
                name: row.text(1)?,
                document: row.text(2)?,
                selection_criteria: row.opt_text(3)?,
                updated_at: row.int(4)?,
            })
        })
        .collect()
}

/// Deletes a policy; false when there is none of that type and name.
pub async fn delete(store: &Store, scope: Scope<'_>, policy_type: &str, name: &str) -> Result<bool, ModelError> {
    let deleted = store
        .execute(
            "DELETE FROM logs_account_policies WHERE account_id = ? AND region = ? AND policy_type = ? AND name = ?",
            vec![scope.account.into(), scope.region.into(), policy_type.into(), name.into()],
        )
        .await?;
    Ok(deleted > 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{SCOPE, temp_store};

    fn policy(name: &str, document: &str) -> AccountPolicy {
        AccountPolicy {
            policy_type: "SUBSCRIPTION_FILTER_POLICY".to_owned(),
            name: name.to_owned(),
            document: document.to_owned(),
            selection_criteria: None,
            updated_at: 1,
        }
    }

    #[tokio::test]
    async fn one_policy_of_a_type_is_replaced_and_a_second_is_over_quota() {
        let temp = temp_store().await;
        let store = &temp.store;
        assert_eq!(put(store, SCOPE, &policy("a", "{}"), 1).await.unwrap(), Put::Written);
        assert_eq!(put(store, SCOPE, &policy("a", "{\"x\":1}"), 1).await.unwrap(), Put::Written, "replaced");
        assert_eq!(put(store, SCOPE, &policy("b", "{}"), 1).await.unwrap(), Put::OverQuota);
        let stored = of_type(store, SCOPE, "SUBSCRIPTION_FILTER_POLICY").await.unwrap();
        assert_eq!(stored.iter().map(|p| p.document.as_str()).collect::<Vec<_>>(), ["{\"x\":1}"]);
        assert!(of_type(store, SCOPE, "DATA_PROTECTION_POLICY").await.unwrap().is_empty());
        assert!(delete(store, SCOPE, "SUBSCRIPTION_FILTER_POLICY", "a").await.unwrap());
        assert!(!delete(store, SCOPE, "SUBSCRIPTION_FILTER_POLICY", "a").await.unwrap());
    }
}
