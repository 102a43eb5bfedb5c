//! The log-group model: a group, its retention, what its streams have stored, and the SQL of
//! `log_groups`.
//!
//! Guarantees: a name is created once per account (the primary key decides); a retention is
//! one of CloudWatch's day counts or none; a group is deleted with its streams and events in
//! one transaction, and never while its deletion protection is on (checked in that
//! transaction).

use crate::regions::Scope;
use store::{Statement, Store, StoreError, Value};

use crate::logs::model::ModelError;

/// How long a group keeps its events: one of the day counts CloudWatch Logs accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(i64);

impl Retention {
    /// Retention periods CloudWatch Logs accepts, in days.
    pub const DAYS: &[i64] =
        &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

    /// The retention of `days`, if CloudWatch accepts that count.
    pub fn of_days(days: i64) -> Option<Retention> {
        Retention::DAYS.contains(&days).then_some(Retention(days))
    }

    pub fn days(self) -> i64 {
        self.0
    }
}

/// A stored log group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroup {
    pub name: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Days, as stored (one of [`Retention::DAYS`]).
    pub retention_days: Option<i64>,
    /// What its streams have stored, in message bytes.
    pub stored_bytes: i64,
    /// `STANDARD` or `INFREQUENT_ACCESS`.
    pub class: String,
    pub metric_filters: i64,
    /// The KMS key ARN it records (CreateLogGroup's `kmsKeyId`, AssociateKmsKey).
    pub kms_key_id: Option<String>,
    /// Whether DeleteLogGroup refuses it.
    pub deletion_protection: bool,
}

/// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME`.
pub fn arn(scope: Scope<'_>, name: &str) -> String {
    format!("arn:aws:logs:{}:{}:log-group:{name}", scope.region, scope.account)
}

/// A group to create.
#[derive(Debug, Clone, Copy)]
pub struct NewGroup<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub tags: &'a [(String, String)],
    pub kms_key_id: Option<&'a str>,
    pub deletion_protection: bool,
    pub created_at: i64,
}

#[cfg(test)]
impl<'a> NewGroup<'a> {
    /// A `STANDARD` group without tags.
    pub fn plain(name: &'a str, created_at: i64) -> NewGroup<'a> {
        NewGroup { name, class: "STANDARD", tags: &[], kms_key_id: None, deletion_protection: false, created_at }
    }
}

/// Records a new group without retention, with its tags; false when the name is taken.
pub async fn create(store: &Store, scope: Scope<'_>, new: &NewGroup<'_>) -> Result<bool, ModelError> {
    let mut statements = vec![Statement::new(
        "INSERT INTO log_groups (account_id, region, name, created_at, log_group_class, kms_key_id, deletion_protection)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        vec![
            scope.account.into(),
            scope.region.into(),
            new.name.into(),
            Value::Int(new.created_at),
            new.class.into(),
            Value::from(new.kms_key_id),
            Value::Int(i64::from(new.deletion_protection)),
        ],
    )];
    statements.extend(crate::tags::set(scope.account, super::tags::KIND, &arn(scope, new.name), new.tags));
    let inserted = store.transaction(statements).await;
    match inserted {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// What deleting a group did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    Done,
    NoGroup,
    /// Its deletion protection is on: nothing was deleted.
    Protected,
}

/// Deletes a group with its streams and events, unless its deletion protection is on.
pub async fn delete(store: &Store, scope: Scope<'_>, name: &str) -> Result<Deletion, ModelError> {
    let deleted = store
        .transaction(vec![
            Statement::guard(
                "DELETE FROM log_groups WHERE account_id = ? AND region = ? AND name = ? AND deletion_protection = 0",
                vec![scope.account.into(), scope.region.into(), name.into()],
            ),
            Statement::new(
                "DELETE FROM log_streams WHERE account_id = ? AND region = ? AND group_name = ?",
                vec![scope.account.into(), scope.region.into(), name.into()],
            ),
            Statement::new(
                "DELETE FROM log_batches WHERE account_id = ? AND region = ? AND group_name = ?",
                vec![scope.account.into(), scope.region.into(), name.into()],
            ),
            Statement::new(
                "DELETE FROM logs_metric_filters WHERE account_id = ? AND region = ? AND group_name = ?",
                vec![scope.account.into(), scope.region.into(), name.into()],
            ),
            Statement::new(
                "DELETE FROM logs_subscription_filters WHERE account_id = ? AND region = ? AND group_name = ?",
                vec![scope.account.into(), scope.region.into(), name.into()],
            ),
            super::tags::delete_all(scope.account, &arn(scope, name)),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(Deletion::Done),
        Err(StoreError::Unmet(_)) if exists(store, scope, name).await? => Ok(Deletion::Protected),
        Err(StoreError::Unmet(_)) => Ok(Deletion::NoGroup),
        Err(error) => Err(error.into()),
    }
}

/// Turns a group's deletion protection on or off; false when there is no such group.
pub async fn set_deletion_protection(
    store: &Store,
    scope: Scope<'_>,
    name: &str,
    enabled: bool,
) -> Result<bool, ModelError> {
    let changed = store
        .execute(
            "UPDATE log_groups SET deletion_protection = ? WHERE account_id = ? AND region = ? AND name = ?",
            vec![Value::Int(i64::from(enabled)), scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    Ok(changed > 0)
}

/// Whether a group exists.
pub async fn exists(store: &Store, scope: Scope<'_>, name: &str) -> Result<bool, ModelError> {
    let rows = store
        .query(
            "SELECT 1 FROM log_groups WHERE account_id = ? AND region = ? AND name = ?",
            vec![scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// Every group of `account`, by name.
pub async fn all(store: &Store, scope: Scope<'_>) -> Result<Vec<LogGroup>, ModelError> {
    let rows = store
        .query(
            "SELECT g.name, g.created_at, g.retention_days,
                    (SELECT COALESCE(CAST(SUM(stored_bytes) AS BIGINT), 0) FROM log_streams s WHERE s.account_id = g.account_id AND s.region = g.region AND s.group_name = g.name),
                    g.log_group_class,
                    (SELECT COUNT(*) FROM logs_metric_filters f WHERE f.account_id = g.account_id AND f.region = g.region AND f.group_name = g.name),
                    g.kms_key_id, g.deletion_protection
             FROM log_groups g WHERE g.account_id = ? AND g.region = ? ORDER BY g.name",
            vec![scope.account.into(), scope.region.into()],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(LogGroup {
                name: row.text(0)?,
                created_at: row.int(1)?,
                retention_days: row.opt_int(2)?,
                stored_bytes: row.int(3)?,
                class: row.text(4)?,
                metric_filters: row.int(5)?,
                kms_key_id: row.opt_text(6)?,
                deletion_protection: row.int(7)? != 0,
            })
        })
        .collect()
}

/// Sets (or, with `None`, removes) a group's retention; false when there is no such group.
/// The caller runs the retention pass ([`super::event::expire`]) when it shortens.
pub async fn set_retention(
    store: &Store,
    scope: Scope<'_>,
    name: &str,
    retention: Option<Retention>,
) -> Result<bool, ModelError> {
    let changed = store
        .execute(
            "UPDATE log_groups SET retention_days = ? WHERE account_id = ? AND region = ? AND name = ?",
            vec![Value::from(retention.map(Retention::days)), scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    Ok(changed > 0)
}

/// Records (or, with `None`, forgets) the KMS key id of a group; false when there is no such
/// group.
pub async fn set_kms_key(store: &Store, scope: Scope<'_>, name: &str, key: Option<&str>) -> Result<bool, ModelError> {
    let changed = store
        .execute(
            "UPDATE log_groups SET kms_key_id = ? WHERE account_id = ? AND region = ? AND name = ?",
            vec![Value::from(key), scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    Ok(changed > 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{SCOPE, temp_store};

    #[test]
    fn a_retention_is_one_of_cloudwatch_day_counts() {
        for days in [1, 7, 30, 365, 3653] {
            assert_eq!(Retention::of_days(days).map(Retention::days), Some(days));
        }
        for days in [0, 2, 31, 3654, -1] {
            assert_eq!(Retention::of_days(days), None, "{days}");
        }
    }

    #[tokio::test]
    async fn a_group_is_created_once_listed_by_name_and_keeps_a_retention() {
        let temp = temp_store().await;
        let store = &temp.store;
        assert!(create(store, SCOPE, &NewGroup::plain("/web", 1_000)).await.unwrap());
        assert!(create(store, SCOPE, &NewGroup::plain("/api", 2_000)).await.unwrap());
        assert!(!create(store, SCOPE, &NewGroup::plain("/web", 3_000)).await.unwrap(), "the name is taken");
        assert!(exists(store, SCOPE, "/web").await.unwrap());
        assert!(
            !exists(store, crate::regions::Scope { account: "444455556666", region: "us-east-1" }, "/web")
                .await
                .unwrap()
        );

        assert!(set_retention(store, SCOPE, "/web", Retention::of_days(7)).await.unwrap());
        assert!(!set_retention(store, SCOPE, "/gone", Retention::of_days(7)).await.unwrap());
        let groups = all(store, SCOPE).await.unwrap();
        let web = LogGroup {
            name: "/web".to_owned(),
            created_at: 1_000,
            retention_days: Some(7),
            stored_bytes: 0,
            class: "STANDARD".to_owned(),
            metric_filters: 0,
            kms_key_id: None,
            deletion_protection: false,
        };
        assert_eq!(groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["/api", "/web"]);
        assert_eq!(groups[1], web);
        assert!(set_retention(store, SCOPE, "/web", None).await.unwrap());
        assert_eq!(all(store, SCOPE).await.unwrap()[1].retention_days, None);
    }

    #[tokio::test]
    async fn a_group_goes_with_its_streams_events_and_tags() {
        let temp = temp_store().await;
        let store = &temp.store;
        let tags = [("team".to_owned(), "edge".to_owned())];
        create(store, SCOPE, &NewGroup { tags: &tags, ..NewGroup::plain("/web", 1_000) }).await.unwrap();
        super::super::stream::create(store, SCOPE, "/web", "a", 1_000).await.unwrap();
        super::super::event::append(store, SCOPE, "/web", "a", &[(1_000, "hello")], 1_000).await.unwrap();
        assert_eq!(all(store, SCOPE).await.unwrap()[0].stored_bytes, 5);
        assert!(set_deletion_protection(store, SCOPE, "/web", true).await.unwrap());
        assert_eq!(delete(store, SCOPE, "/web").await.unwrap(), Deletion::Protected);
        assert_eq!(all(store, SCOPE).await.unwrap()[0].stored_bytes, 5, "nothing was deleted");
        assert!(set_deletion_protection(store, SCOPE, "/web", false).await.unwrap());
        assert_eq!(delete(store, SCOPE, "/web").await.unwrap(), Deletion::Done);
        assert_eq!(delete(store, SCOPE, "/web").await.unwrap(), Deletion::NoGroup, "gone");
        for table in ["log_streams", "log_batches", "tags"] {
            assert!(store.query(&format!("SELECT 1 FROM {table}"), vec![]).await.unwrap().is_empty(), "{table}");
        }
    }
}
