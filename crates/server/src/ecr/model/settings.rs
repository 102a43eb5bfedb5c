//! What a repository and the registry are configured with beyond the repository's own row,
//! and its SQL (migration 23, every table keyed by account and region):
//! `ecr_repository_settings` (encryption, the lifecycle policy with when it was
//! last evaluated, the last lifecycle preview, and scan on push: migration 30), `ecr_repository_tags` and
//! `ecr_registry_settings` (the registry policy, replication and scanning configurations and
//! account settings, each a named JSON or text value) and `ecr_replication_statuses` (how
//! each pushed image's replication to each destination region went).
//!
//! Guarantees: a repository without a settings row reads as ECR's defaults (`AES256`, no
//! lifecycle policy); the rows of a repository go with it (`repository::delete`
//! deletes them in its transaction, [`deletions`]); a tag key is unique per repository (the
//! primary key decides).

use store::{Statement, Store, Value};

use crate::ecr::model::ModelError;

/// The repository-level settings ECR answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositorySettings {
    /// `AES256`, `KMS` or `KMS_DSSE`.
    pub encryption_type: String,
    pub kms_key: Option<String>,
    pub lifecycle_policy: Option<String>,
    pub lifecycle_evaluated_at: Option<i64>,
    /// Whether images are to be scanned when pushed (migration 30).
    pub scan_on_push: bool,
}

impl Default for RepositorySettings {
    fn default() -> Self {
        RepositorySettings {
            encryption_type: "AES256".to_owned(),
            kms_key: None,
            lifecycle_policy: None,
            lifecycle_evaluated_at: None,
            scan_on_push: false,
        }
    }
}

/// Where a repository's settings are: account, region, name.
#[derive(Debug, Clone, Copy)]
pub struct RepositoryKey<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub name: &'a str,
}

impl RepositoryKey<'_> {
    fn values(&self) -> Vec<Value> {
        vec![self.account.into(), self.region.into(), self.name.into()]
    }
}

const KEY: &str = "account_id = ? AND region = ? AND repository = ?";

/// The statements that delete everything this module keeps for a repository (run in the
/// repository's deletion transaction).
pub fn deletions(account: &str, region: &str, name: &str) -> Vec<Statement> {
    let key = RepositoryKey { account, region, name };
    ["ecr_repository_settings", "ecr_repository_tags", "ecr_replication_statuses"]
        .into_iter()
        .map(|table| Statement::new(format!("DELETE FROM {table} WHERE {KEY}"), key.values()))
        .collect()
}

/// A repository's settings (ECR's defaults when none were set).
pub async fn repository(store: &Store, key: RepositoryKey<'_>) -> Result<RepositorySettings, ModelError> {
    let rows = store
        .query(
            &format!(
                "SELECT encryption_type, kms_key, lifecycle_policy, lifecycle_evaluated_at, scan_on_push
                 FROM ecr_repository_settings WHERE {KEY}"
            ),
            key.values(),
        )
        .await?;
    let Some(row) = rows.first() else { return Ok(RepositorySettings::default()) };
    Ok(RepositorySettings {
        encryption_type: row.text(0)?,
        kms_key: row.opt_text(1)?,
        lifecycle_policy: row.opt_text(2)?,
        lifecycle_evaluated_at: row.opt_int(3)?,
        scan_on_push: row.int(4)? != 0,
    })
}

/// The statement that makes sure a repository has its settings row (with the defaults).
fn ensure_row(key: RepositoryKey<'_>) -> Statement {
    Statement::new(
        "INSERT INTO ecr_repository_settings (account_id, region, repository, encryption_type)
         VALUES (?, ?, ?, 'AES256') ON CONFLICT (account_id, region, repository) DO NOTHING",
        key.values(),
    )
}

async fn update(store: &Store, key: RepositoryKey<'_>, set: &str, values: Vec<Value>) -> Result<(), ModelError> {
    store
        .transaction(vec![
            ensure_row(key),
            Statement::new(
                format!("UPDATE ecr_repository_settings SET {set} WHERE {KEY}"),
                [values, key.values()].concat(),
            ),
        ])
        .await?;
    Ok(())
}

/// Records a new repository's settings, replacing any left behind.
pub async fn create(
    store: &Store,
    key: RepositoryKey<'_>,
    settings: &RepositorySettings,
    tags: &[(String, String)],
) -> Result<(), ModelError> {
    let mut statements = deletions(key.account, key.region, key.name);
    statements.push(Statement::new(
        "INSERT INTO ecr_repository_settings (account_id, region, repository, encryption_type, kms_key, scan_on_push)
         VALUES (?, ?, ?, ?, ?, ?)",
        [
            key.values(),
            vec![
                settings.encryption_type.as_str().into(),
                Value::from(settings.kms_key.clone()),
                Value::Int(settings.scan_on_push.into()),
            ],
        ]
        .concat(),
    ));
    statements.extend(tag_statements(key, tags));
    store.transaction(statements).await?;
    Ok(())
}

/// Sets (or, with `None`, removes) the lifecycle policy; its evaluation time is forgotten.
pub async fn set_lifecycle_policy(store: &Store, key: RepositoryKey<'_>, text: Option<&str>) -> Result<(), ModelError> {
    let text = Value::from(text.map(str::to_owned));
    update(store, key, "lifecycle_policy = ?, lifecycle_evaluated_at = NULL", vec![text]).await
}

/// Sets whether the repository's images are to be scanned on push.
pub async fn set_scan_on_push(store: &Store, key: RepositoryKey<'_>, on: bool) -> Result<(), ModelError> {
    update(store, key, "scan_on_push = ?", vec![Value::Int(on.into())]).await
}

/// Records when the lifecycle policy was last evaluated.
pub async fn lifecycle_evaluated(store: &Store, key: RepositoryKey<'_>, at: i64) -> Result<(), ModelError> {
    store
        .execute(
            &format!("UPDATE ecr_repository_settings SET lifecycle_evaluated_at = ? WHERE {KEY}"),
            [vec![Value::Int(at)], key.values()].concat(),
        )
        .await?;
    Ok(())
}

/// A repository with a lifecycle policy: account, region, name and the policy's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithLifecycle {
    pub account: String,
    pub region: String,
    pub repository: String,
    pub policy: String,
}

/// Every repository with a lifecycle policy, in every account and region.
pub async fn with_lifecycle_policies(store: &Store) -> Result<Vec<WithLifecycle>, ModelError> {
    let rows = store
        .query(
            "SELECT account_id, region, repository, lifecycle_policy FROM ecr_repository_settings
             WHERE lifecycle_policy IS NOT NULL ORDER BY account_id, region, repository",
            vec![],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(WithLifecycle {
                account: row.text(0)?,
                region: row.text(1)?,
                repository: row.text(2)?,
                policy: row.text(3)?,
            })
        })
        .collect()
}

/// The last lifecycle preview of a repository: the policy previewed and its results (JSON).
pub async fn preview(store: &Store, key: RepositoryKey<'_>) -> Result<Option<(String, String)>, ModelError> {
    let rows = store
        .query(
            &format!("SELECT preview_policy, preview_results FROM ecr_repository_settings WHERE {KEY}"),
            key.values(),
        )
        .await?;
    match rows.first() {
        Some(row) => match (row.opt_text(0)?, row.opt_text(1)?) {
            (Some(policy), Some(results)) => Ok(Some((policy, results))),
            _ => Ok(None),
        },
        None => Ok(None),
    }
}

/// Keeps a preview (replacing the last one).
pub async fn set_preview(store: &Store, key: RepositoryKey<'_>, policy: &str, results: &str) -> Result<(), ModelError> {
    update(store, key, "preview_policy = ?, preview_results = ?", vec![policy.into(), results.into()]).await
}

fn tag_statements(key: RepositoryKey<'_>, tags: &[(String, String)]) -> Vec<Statement> {
    tags.iter()
        .map(|(name, value)| {
            Statement::new(
                "INSERT INTO ecr_repository_tags (account_id, region, repository, tag_key, tag_value) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (account_id, region, repository, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
                [key.values(), vec![name.as_str().into(), value.as_str().into()]].concat(),
            )
        })
        .collect()
}

/// A repository's tags, by key.
pub async fn tags(store: &Store, key: RepositoryKey<'_>) -> Result<Vec<(String, String)>, ModelError> {
    let rows = store
        .query(
            &format!("SELECT tag_key, tag_value FROM ecr_repository_tags WHERE {KEY} ORDER BY tag_key"),
            key.values(),
        )
        .await?;
    rows.iter().map(|row| Ok((row.text(0)?, row.text(1)?))).collect()
}

/// Adds or overwrites tags.
pub async fn tag(store: &Store, key: RepositoryKey<'_>, tags: &[(String, String)]) -> Result<(), ModelError> {
    store.transaction(tag_statements(key, tags)).await?;
    Ok(())
}

/// Removes the tags with these keys (an absent key is no change).
pub async fn untag(store: &Store, key: RepositoryKey<'_>, keys: &[String]) -> Result<(), ModelError> {
    let statements = keys
        .iter()
        .map(|name| {
            Statement::new(
                format!("DELETE FROM ecr_repository_tags WHERE {KEY} AND tag_key = ?"),
                [key.values(), vec![name.as_str().into()]].concat(),
            )
        })
        .collect();
    store.transaction(statements).await?;
    Ok(())
}

/// A registry-level setting (`registry-policy`, `replication`, `scanning`, `account:NAME`).
pub async fn registry_setting(
    store: &Store,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Option<String>, ModelError> {
    let rows = store
        .query(
            "SELECT value FROM ecr_registry_settings WHERE account_id = ? AND region = ? AND name = ?",
            vec![account.into(), region.into(), name.into()],
        )
        .await?;
    match rows.first() {
        Some(row) => Ok(Some(row.text(0)?)),
        None => Ok(None),
    }
}

/// Sets (or, with `None`, removes) a registry-level setting; returns whether one was there.
pub async fn set_registry_setting(
    store: &Store,
    account: &str,
    region: &str,
    name: &str,
    value: Option<&str>,
) -> Result<bool, ModelError> {
    let key = || vec![Value::from(account), Value::from(region), Value::from(name)];
    let changed = match value {
        Some(value) => {
            store
                .execute(
                    "INSERT INTO ecr_registry_settings (account_id, region, name, value) VALUES (?, ?, ?, ?)
                     ON CONFLICT (account_id, region, name) DO UPDATE SET value = excluded.value",
                    [key(), vec![value.into()]].concat(),
                )
                .await?
        }
        None => {
            store
                .execute("DELETE FROM ecr_registry_settings WHERE account_id = ? AND region = ? AND name = ?", key())
                .await?
        }
    };
    Ok(changed > 0)
}

/// The registry-level settings whose names start with `prefix`, by name: (name, value).
pub async fn registry_settings_named(
    store: &Store,
    account: &str,
    region: &str,
    prefix: &str,
) -> Result<Vec<(String, String)>, ModelError> {
    let rows = store
        .query(
            "SELECT name, value FROM ecr_registry_settings WHERE account_id = ? AND region = ? ORDER BY name",
            vec![account.into(), region.into()],
        )
        .await?;
    let mut named = Vec::new();
    for row in &rows {
        let name = row.text(0)?;
        if name.starts_with(prefix) {
            named.push((name, row.text(1)?));
        }
    }
    Ok(named)
}

/// How replicating an image to one destination region went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationStatus {
    pub destination_region: String,
    /// `COMPLETE` or `FAILED`.
    pub status: String,
    pub failure_code: Option<String>,
}

/// Records how replicating image `digest` of a repository to a destination went (replacing
/// an earlier attempt's).
pub async fn record_replication(
    store: &Store,
    key: RepositoryKey<'_>,
    digest: &str,
    status: &ReplicationStatus,
) -> Result<(), ModelError> {
    store
        .execute(
            "INSERT INTO ecr_replication_statuses (account_id, region, repository, digest, destination_region, status,
                                                   failure_code)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (account_id, region, repository, digest, destination_region)
             DO UPDATE SET status = excluded.status, failure_code = excluded.failure_code",
            [
                key.values(),
                vec![
                    digest.into(),
                    status.destination_region.as_str().into(),
                    status.status.as_str().into(),
                    Value::from(status.failure_code.clone()),
                ],
            ]
            .concat(),
        )
        .await?;
    Ok(())
}

/// How image `digest` of a repository was replicated, by destination region.
pub async fn replication_statuses(
    store: &Store,
    key: RepositoryKey<'_>,
    digest: &str,
) -> Result<Vec<ReplicationStatus>, ModelError> {
    let rows = store
        .query(
            &format!(
                "SELECT destination_region, status, failure_code FROM ecr_replication_statuses
                 WHERE {KEY} AND digest = ? ORDER BY destination_region"
            ),
            [key.values(), vec![digest.into()]].concat(),
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(ReplicationStatus {
                destination_region: row.text(0)?,
                status: row.text(1)?,
                failure_code: row.opt_text(2)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, temp_store};

    #[tokio::test]
    async fn settings_default_to_ecrs_and_are_kept_per_region() {
        let temp = temp_store().await;
        let store = &temp.store;
        let east = RepositoryKey { account: ACCOUNT, region: "us-east-1", name: "web" };
        let west = RepositoryKey { region: "us-west-2", ..east };
        assert_eq!(repository(store, east).await.unwrap(), RepositorySettings::default());
        let kms = RepositorySettings {
            encryption_type: "KMS".into(),
            kms_key: Some("arn:aws:kms:us-east-1:111122223333:key/k".into()),
            ..RepositorySettings::default()
        };
        create(store, east, &kms, &[("team".into(), "a".into())]).await.unwrap();
        set_lifecycle_policy(store, east, Some("{}")).await.unwrap();
        lifecycle_evaluated(store, east, 42).await.unwrap();
        let read = repository(store, east).await.unwrap();
        assert_eq!((read.encryption_type.as_str(), read.lifecycle_evaluated_at), ("KMS", Some(42)));
        assert!(!read.scan_on_push);
        set_scan_on_push(store, east, true).await.unwrap();
        assert!(repository(store, east).await.unwrap().scan_on_push);
        assert_eq!(repository(store, west).await.unwrap(), RepositorySettings::default(), "another region");
        assert_eq!(with_lifecycle_policies(store).await.unwrap().len(), 1);

        tag(store, east, &[("team".into(), "b".into()), ("env".into(), "prod".into())]).await.unwrap();
        assert_eq!(tags(store, east).await.unwrap(), [("env".into(), "prod".into()), ("team".into(), "b".into())]);
        untag(store, east, &["team".into(), "absent".into()]).await.unwrap();
        assert_eq!(tags(store, east).await.unwrap().len(), 1);

        store.transaction(deletions(ACCOUNT, "us-east-1", "web")).await.unwrap();
        assert_eq!(repository(store, east).await.unwrap(), RepositorySettings::default());
        assert!(tags(store, east).await.unwrap().is_empty());

        assert!(set_registry_setting(store, ACCOUNT, "us-east-1", "registry-policy", Some("p")).await.unwrap());
        assert_eq!(
            registry_setting(store, ACCOUNT, "us-east-1", "registry-policy").await.unwrap().as_deref(),
            Some("p")
        );
        assert_eq!(registry_setting(store, ACCOUNT, "eu-west-1", "registry-policy").await.unwrap(), None);
        assert!(set_registry_setting(store, ACCOUNT, "us-east-1", "registry-policy", None).await.unwrap());
        assert!(!set_registry_setting(store, ACCOUNT, "us-east-1", "registry-policy", None).await.unwrap());
    }
}
