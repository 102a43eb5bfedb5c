//! The region's destinations (cross-account subscription targets): the SQL of
//! `logs_destinations` (migration 26).
//!
//! Guarantees: a name is one row per account and region (putting it again replaces its target
//! and role, and keeps its creation time and access policy); the tags a put carries are set
//! in its transaction (added to those it has); a destination is deleted with its tags in one
//! transaction.

use store::{Statement, Store, StoreError, Value};

use crate::logs::model::ModelError;
use crate::regions::Scope;

/// `arn:aws:logs:REGION:ACCOUNT:destination:NAME`.
pub fn arn(scope: Scope<'_>, name: &str) -> String {
    format!("arn:aws:logs:{}:{}:destination:{name}", scope.region, scope.account)
}

/// A stored destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub name: String,
    pub target_arn: String,
    pub role_arn: String,
    pub access_policy: Option<String>,
    /// Epoch milliseconds.
    pub created_at: i64,
}

/// Creates a destination, or replaces the target and role of the one of its name; sets
/// `tags` on it in the same transaction.
pub async fn put(
    store: &Store,
    scope: Scope<'_>,
    destination: &Destination,
    tags: &[(String, String)],
) -> Result<(), ModelError> {
    let mut statements = vec![Statement::new(
        "INSERT INTO logs_destinations (account_id, region, name, target_arn, role_arn, created_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (account_id, region, name) DO UPDATE SET target_arn = excluded.target_arn, role_arn = excluded.role_arn",
        vec![
            scope.account.into(),
            scope.region.into(),
            destination.name.as_str().into(),
            destination.target_arn.as_str().into(),
            destination.role_arn.as_str().into(),
            Value::Int(destination.created_at),
        ],
    )];
    statements.extend(crate::tags::set(scope.account, super::tags::KIND, &arn(scope, &destination.name), tags));
    store.transaction(statements).await?;
    Ok(())
}

/// The region's destinations whose name starts with `prefix`, by name (byte order).
pub async fn list(store: &Store, scope: Scope<'_>, prefix: &str) -> Result<Vec<Destination>, ModelError> {
    let rows = store
        .query(
            "SELECT name, target_arn, role_arn, access_policy, created_at FROM logs_destinations
             WHERE account_id = ? AND region = ? ORDER BY name",
            vec![scope.account.into(), scope.region.into()],
        )
        .await?;
    let mut found = Vec::new();
    for row in &rows {
        let name = row.text(0)?;
        if name.starts_with(prefix) {
            found.push(Destination {
                name,
                target_arn: row.text(1)?,
                role_arn: row.text(2)?,
                access_policy: row.opt_text(3)?,
                created_at: row.int(4)?,
            });
        }
    }
    // ASCII order, as CloudWatch documents, whatever the store's collation.
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// Whether the region has a destination of `name`.
pub async fn exists(store: &Store, scope: Scope<'_>, name: &str) -> Result<bool, ModelError> {
    let rows = store
        .query(
            "SELECT 1 FROM logs_destinations WHERE account_id = ? AND region = ? AND name = ?",
            vec![scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// Sets a destination's access policy; false when there is no such destination.
pub async fn set_policy(store: &Store, scope: Scope<'_>, name: &str, policy: &str) -> Result<bool, ModelError> {
    let changed = store
        .execute(
            "UPDATE logs_destinations SET access_policy = ? WHERE account_id = ? AND region = ? AND name = ?",
            vec![policy.into(), scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    Ok(changed > 0)
}

/// Deletes a destination with its tags; false when there is no such destination.
pub async fn delete(store: &Store, scope: Scope<'_>, name: &str) -> Result<bool, ModelError> {
    let deleted = store
        .transaction(vec![
            Statement::guard(
                "DELETE FROM logs_destinations WHERE account_id = ? AND region = ? AND name = ?",
                vec![scope.account.into(), scope.region.into(), name.into()],
            ),
            super::tags::delete_all(scope.account, &arn(scope, name)),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{SCOPE, temp_store};

    fn destination(name: &str, target: &str, created_at: i64) -> Destination {
        Destination {
            name: name.to_owned(),
            target_arn: target.to_owned(),
            role_arn: "arn:aws:iam::111122223333:role/ship".to_owned(),
            access_policy: None,
            created_at,
        }
    }

    #[tokio::test]
    async fn a_destination_is_put_replaced_and_deleted_with_its_tags() {
        let temp = temp_store().await;
        let store = &temp.store;
        let tags = [("team".to_owned(), "edge".to_owned())];
        put(store, SCOPE, &destination("ship", "arn:aws:kinesis:us-east-1:111122223333:stream/a", 1), &tags)
            .await
            .unwrap();
        put(store, SCOPE, &destination("other", "arn:aws:kinesis:us-east-1:111122223333:stream/o", 1), &[])
            .await
            .unwrap();
        assert!(set_policy(store, SCOPE, "ship", "{}").await.unwrap());
        assert!(!set_policy(store, SCOPE, "gone", "{}").await.unwrap());
        // Putting it again replaces the target, and keeps its creation time and policy.
        put(store, SCOPE, &destination("ship", "arn:aws:kinesis:us-east-1:111122223333:stream/b", 9), &[])
            .await
            .unwrap();
        let found = list(store, SCOPE, "sh").await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].target_arn, "arn:aws:kinesis:us-east-1:111122223333:stream/b");
        assert_eq!((found[0].created_at, found[0].access_policy.as_deref()), (1, Some("{}")));
        assert_eq!(list(store, SCOPE, "").await.unwrap().len(), 2);
        assert!(exists(store, SCOPE, "ship").await.unwrap());
        assert!(delete(store, SCOPE, "ship").await.unwrap());
        assert!(!delete(store, SCOPE, "ship").await.unwrap(), "gone");
        assert!(store.query("SELECT 1 FROM tags", vec![]).await.unwrap().is_empty(), "its tags went with it");
    }
}
