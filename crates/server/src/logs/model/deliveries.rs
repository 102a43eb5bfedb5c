//! The region's delivery destinations (vended-log deliveries): the SQL of
//! `logs_delivery_destinations` (migration 36).
//!
//! Guarantees: a name is one row per account and region; putting it again replaces its type,
//! output format and resource, and keeps its creation time and policy; the tags a put carries
//! are set in its transaction (added to those it has); a destination is deleted with its tags
//! in one transaction. Delivery sources and deliveries are not stored: no resource Homeport
//! hosts vends logs (`logs::deliveries`), so neither can exist.

use store::{Statement, Store, StoreError, Value};

use crate::logs::model::ModelError;
use crate::regions::Scope;

/// `arn:aws:logs:REGION:ACCOUNT:delivery-destination:NAME`.
pub fn destination_arn(scope: Scope<'_>, name: &str) -> String {
    format!("arn:aws:logs:{}:{}:delivery-destination:{name}", scope.region, scope.account)
}

/// `arn:aws:logs:REGION:ACCOUNT:delivery-source:NAME`.
pub fn source_arn(scope: Scope<'_>, name: &str) -> String {
    format!("arn:aws:logs:{}:{}:delivery-source:{name}", scope.region, scope.account)
}

/// `arn:aws:logs:REGION:ACCOUNT:delivery:ID`.
pub fn delivery_arn(scope: Scope<'_>, id: &str) -> String {
    format!("arn:aws:logs:{}:{}:delivery:{id}", scope.region, scope.account)
}

/// A stored delivery destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryDestination {
    pub name: String,
    /// `CWL`, the one type Homeport keeps (its resource is a log group).
    pub destination_type: String,
    pub output_format: Option<String>,
    pub resource_arn: String,
    pub policy: Option<String>,
    /// Epoch milliseconds.
    pub created_at: i64,
}

/// Creates a delivery destination, or replaces the type, format and resource of the one of
/// its name; sets `tags` on it in the same transaction.
pub async fn put(
    store: &Store,
    scope: Scope<'_>,
    destination: &DeliveryDestination,
    tags: &[(String, String)],
) -> Result<(), ModelError> {
    let mut statements = vec![Statement::new(
        "INSERT INTO logs_delivery_destinations (account_id, region, name, destination_type, output_format, resource_arn, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (account_id, region, name) DO UPDATE SET destination_type = excluded.destination_type,
           output_format = excluded.output_format, resource_arn = excluded.resource_arn",
        vec![
            scope.account.into(),
            scope.region.into(),
            destination.name.as_str().into(),
            destination.destination_type.as_str().into(),
            Value::from(destination.output_format.as_deref()),
            destination.resource_arn.as_str().into(),
            Value::Int(destination.created_at),
        ],
    )];
    statements.extend(crate::tags::set(
        scope.account,
        super::tags::KIND,
        &destination_arn(scope, &destination.name),
        tags,
    ));
    store.transaction(statements).await?;
    Ok(())
}

/// The region's delivery destinations, by name (byte order).
pub async fn list(store: &Store, scope: Scope<'_>) -> Result<Vec<DeliveryDestination>, ModelError> {
    let rows = store
        .query(
            "SELECT name, destination_type, output_format, resource_arn, policy, created_at
             FROM logs_delivery_destinations WHERE account_id = ? AND region = ?",
            vec![scope.account.into(), scope.region.into()],
        )
        .await?;
    let mut found = rows
        .iter()
        .map(|row| {
            Ok(DeliveryDestination {
                name: row.text(0)?,
                destination_type: row.text(1)?,
                output_format: row.opt_text(2)?,
                resource_arn: row.text(3)?,
                policy: row.opt_text(4)?,
                created_at: row.int(5)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    // Byte order, whatever the store's collation.
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// The delivery destination of `name`, if the region has one.
pub async fn get(store: &Store, scope: Scope<'_>, name: &str) -> Result<Option<DeliveryDestination>, ModelError> {
    Ok(list(store, scope).await?.into_iter().find(|destination| destination.name == name))
}

/// Sets (or, with `None`, removes) a delivery destination's policy; false when there is no
/// such destination.
pub async fn set_policy(store: &Store, scope: Scope<'_>, name: &str, policy: Option<&str>) -> Result<bool, ModelError> {
    let changed = store
        .execute(
            "UPDATE logs_delivery_destinations SET policy = ? WHERE account_id = ? AND region = ? AND name = ?",
            vec![Value::from(policy), scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    Ok(changed > 0)
}

/// Deletes a delivery destination with its tags; false when there is no such destination.
pub async fn delete(store: &Store, scope: Scope<'_>, name: &str) -> Result<bool, ModelError> {
    let deleted = store
        .transaction(vec![
            Statement::guard(
                "DELETE FROM logs_delivery_destinations WHERE account_id = ? AND region = ? AND name = ?",
                vec![scope.account.into(), scope.region.into(), name.into()],
            ),
            super::tags::delete_all(scope.account, &destination_arn(scope, name)),
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

    fn destination(name: &str, group: &str, created_at: i64) -> DeliveryDestination {
        DeliveryDestination {
            name: name.to_owned(),
            destination_type: "CWL".to_owned(),
            output_format: Some("json".to_owned()),
            resource_arn: format!("arn:aws:logs:us-east-1:111122223333:log-group:{group}"),
            policy: None,
            created_at,
        }
    }

    #[tokio::test]
    async fn a_delivery_destination_is_put_replaced_and_deleted_with_its_tags() {
        let temp = temp_store().await;
        let store = &temp.store;
        let tags = [("team".to_owned(), "edge".to_owned())];
        put(store, SCOPE, &destination("ship", "/a", 1), &tags).await.unwrap();
        put(store, SCOPE, &destination("other", "/o", 1), &[]).await.unwrap();
        assert!(set_policy(store, SCOPE, "ship", Some("{}")).await.unwrap());
        assert!(!set_policy(store, SCOPE, "gone", Some("{}")).await.unwrap());
        // Putting it again replaces the resource, and keeps its creation time and policy.
        put(store, SCOPE, &destination("ship", "/b", 9), &[]).await.unwrap();
        let found = get(store, SCOPE, "ship").await.unwrap().unwrap();
        assert!(found.resource_arn.ends_with(":log-group:/b"));
        assert_eq!((found.created_at, found.policy.as_deref()), (1, Some("{}")));
        assert_eq!(
            list(store, SCOPE).await.unwrap().iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
            ["other", "ship"]
        );
        assert!(set_policy(store, SCOPE, "ship", None).await.unwrap());
        assert_eq!(get(store, SCOPE, "ship").await.unwrap().unwrap().policy, None);
        assert!(delete(store, SCOPE, "ship").await.unwrap());
        assert!(!delete(store, SCOPE, "ship").await.unwrap(), "gone");
        assert!(store.query("SELECT 1 FROM tags", vec![]).await.unwrap().is_empty(), "its tags went with it");
    }
}
