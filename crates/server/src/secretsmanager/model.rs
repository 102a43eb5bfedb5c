//! Secrets Manager's model: secrets (`secrets`: name, ARN with its random suffix,
//! description, key, tags, resource policy, when deletion was scheduled, a generation every
//! write moves) and their versions (`secret_versions`: the value sealed, its stages), as
//! functions of the store.
//!
//! Guarantees:
//! - every row is keyed by account and region;
//! - a value is stored only sealed, bound to its secret's ARN and version id
//!   ([`seal_context`]): a value copied to another secret or version does not open;
//! - creating a secret is one insert (with its first version), so two creators of one name
//!   cannot both succeed; every later write is guarded by the generation its writer read
//!   ([`Written::Raced`] otherwise), so stages move atomically and never split;
//! - a secret whose recovery window has passed is deleted, with its versions, by the first
//!   read that finds it ([`purge_expired`]), so it is never answered.

use store::{Statement, Store, StoreError, Value};

use crate::errors::internal;

/// A tag: its key and value.
pub type Tag = (String, String);

/// A failure of the store: Homeport's, answered as Secrets Manager's `InternalServiceError`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ModelError(#[from] StoreError);

impl From<ModelError> for aws_protocol::AwsError {
    fn from(error: ModelError) -> aws_protocol::AwsError {
        internal(error)
    }
}

/// The context a version's value is sealed for.
pub fn seal_context(arn: &str, version_id: &str) -> String {
    format!("secretsmanager:{arn}:{version_id}")
}

/// A stored secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub kms_key_id: Option<String>,
    pub tags: Vec<Tag>,
    pub policy: Option<String>,
    pub policy_principals: Option<String>,
    pub generation: i64,
    pub created_at: i64,
    pub changed_at: i64,
    pub accessed_at: Option<i64>,
    /// When it will be deleted, if deletion is scheduled.
    pub deletion_date: Option<i64>,
}

/// One version of a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVersion {
    pub version_id: String,
    pub sealed: Vec<u8>,
    pub is_binary: bool,
    pub stages: Vec<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "name, arn, description, kms_key_id, tags, policy, policy_principals, generation, created_at, \
                       changed_at, accessed_at, deletion_date";

fn secret_of(row: &store::Row) -> Result<Secret, StoreError> {
    Ok(Secret {
        name: row.text(0)?,
        arn: row.text(1)?,
        description: row.opt_text(2)?,
        kms_key_id: row.opt_text(3)?,
        tags: serde_json::from_str(&row.text(4)?).unwrap_or_default(),
        policy: row.opt_text(5)?,
        policy_principals: row.opt_text(6)?,
        generation: row.int(7)?,
        created_at: row.int(8)?,
        changed_at: row.int(9)?,
        accessed_at: row.opt_int(10)?,
        deletion_date: row.opt_int(11)?,
    })
}

/// JSON text of tags or stages.
pub fn list_text<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// Deletes the secrets of the region whose recovery window ended by `now`.
pub async fn purge_expired(store: &Store, account: &str, region: &str, now: i64) -> Result<(), ModelError> {
    let rows = store
        .query(
            "SELECT arn FROM secrets WHERE account_id = ? AND region = ? AND deletion_date IS NOT NULL AND deletion_date <= ?",
            vec![account.into(), region.into(), now.into()],
        )
        .await?;
    for row in &rows {
        let arn = row.text(0)?;
        delete(store, account, region, &arn).await?;
    }
    Ok(())
}

/// The secret named `name`, or whose ARN is `arn` (after purging expired ones).
pub async fn find(
    store: &Store,
    account: &str,
    region: &str,
    by: By<'_>,
    now: i64,
) -> Result<Option<Secret>, ModelError> {
    purge_expired(store, account, region, now).await?;
    let (column, value) = match by {
        By::Name(name) => ("name", name),
        By::Arn(arn) => ("arn", arn),
    };
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM secrets WHERE account_id = ? AND region = ? AND {column} = ?"),
            vec![account.into(), region.into(), value.into()],
        )
        .await?;
    Ok(rows.first().map(secret_of).transpose()?)
}

/// How a secret is looked up.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    Name(&'a str),
    Arn(&'a str),
}

/// Every secret of the region, by name.
pub async fn all(store: &Store, account: &str, region: &str, now: i64) -> Result<Vec<Secret>, ModelError> {
    purge_expired(store, account, region, now).await?;
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM secrets WHERE account_id = ? AND region = ? ORDER BY name"),
            vec![account.into(), region.into()],
        )
        .await?;
    Ok(rows.iter().map(secret_of).collect::<Result<_, _>>()?)
}

/// A secret's versions, oldest first.
pub async fn versions(store: &Store, account: &str, region: &str, arn: &str) -> Result<Vec<SecretVersion>, ModelError> {
    let rows = store
        .query(
            "SELECT version_id, value_sealed, is_binary, stages, created_at FROM secret_versions
             WHERE account_id = ? AND region = ? AND secret_arn = ? ORDER BY created_at, version_id",
            vec![account.into(), region.into(), arn.into()],
        )
        .await?;
    let versions = rows
        .iter()
        .map(|row| {
            Ok(SecretVersion {
                version_id: row.text(0)?,
                sealed: row.blob(1)?,
                is_binary: row.int(2)? != 0,
                stages: serde_json::from_str(&row.text(3)?).unwrap_or_default(),
                created_at: row.int(4)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(versions)
}

/// What creating a secret records.
#[derive(Debug, Clone)]
pub struct NewSecret<'a> {
    pub name: &'a str,
    pub arn: &'a str,
    pub description: Option<&'a str>,
    pub kms_key_id: Option<&'a str>,
    pub tags: &'a [Tag],
    pub created_at: i64,
}

/// Creates a secret and its first version (if it has a value): `false` when the name is taken.
pub async fn create(
    store: &Store,
    account: &str,
    region: &str,
    new: &NewSecret<'_>,
    first: Option<Statement>,
) -> Result<bool, ModelError> {
    let mut statements = vec![Statement::new(
        "INSERT INTO secrets (account_id, region, name, arn, description, kms_key_id, tags, generation, created_at, changed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
        vec![
            account.into(),
            region.into(),
            new.name.into(),
            new.arn.into(),
            new.description.into(),
            new.kms_key_id.into(),
            list_text(new.tags).into(),
            new.created_at.into(),
            new.created_at.into(),
        ],
    )];
    statements.extend(first);
    match store.transaction(statements).await {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The statement that records a new version.
pub fn insert_version(account: &str, region: &str, arn: &str, version: &SecretVersion) -> Statement {
    Statement::new(
        "INSERT INTO secret_versions (account_id, region, secret_arn, version_id, value_sealed, is_binary, stages, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            account.into(),
            region.into(),
            arn.into(),
            version.version_id.as_str().into(),
            version.sealed.clone().into(),
            version.is_binary.into(),
            list_text(&version.stages).into(),
            version.created_at.into(),
        ],
    )
}

/// The statement that sets a version's stages.
pub fn set_stages(account: &str, region: &str, arn: &str, version_id: &str, stages: &[String]) -> Statement {
    Statement::new(
        "UPDATE secret_versions SET stages = ? WHERE account_id = ? AND region = ? AND secret_arn = ? AND version_id = ?",
        vec![list_text(stages).into(), account.into(), region.into(), arn.into(), version_id.into()],
    )
}

/// The statement that removes a version.
pub fn delete_version(account: &str, region: &str, arn: &str, version_id: &str) -> Statement {
    Statement::new(
        "DELETE FROM secret_versions WHERE account_id = ? AND region = ? AND secret_arn = ? AND version_id = ?",
        vec![account.into(), region.into(), arn.into(), version_id.into()],
    )
}

/// A change of a secret's own row.
#[derive(Debug, Clone)]
pub enum Change<'a> {
    Description(Option<&'a str>),
    KmsKeyId(Option<&'a str>),
    Tags(&'a [Tag]),
    Policy { text: Option<&'a str>, principals: Option<&'a str> },
    DeletionDate(Option<i64>),
    ChangedAt(i64),
    AccessedAt(i64),
}

/// The statement that makes `change` to a secret.
pub fn change(account: &str, region: &str, arn: &str, change: Change<'_>) -> Statement {
    let (set, mut params): (&str, Vec<Value>) = match change {
        Change::Description(text) => ("description = ?", vec![text.into()]),
        Change::KmsKeyId(key) => ("kms_key_id = ?", vec![key.into()]),
        Change::Tags(tags) => ("tags = ?", vec![list_text(tags).into()]),
        Change::Policy { text, principals } => {
            ("policy = ?, policy_principals = ?", vec![text.into(), principals.into()])
        }
        Change::DeletionDate(date) => ("deletion_date = ?", vec![date.into()]),
        Change::ChangedAt(at) => ("changed_at = ?", vec![at.into()]),
        Change::AccessedAt(at) => ("accessed_at = ?", vec![at.into()]),
    };
    params.extend([account.into(), region.into(), arn.into()]);
    Statement::new(format!("UPDATE secrets SET {set} WHERE account_id = ? AND region = ? AND arn = ?"), params)
}

/// Whether a guarded write happened, or the secret changed (or went) since it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Done,
    Raced,
}

/// Runs `statements` if the secret is still at the generation `read` holds, moving it on.
pub async fn write(
    store: &Store,
    account: &str,
    region: &str,
    read: &Secret,
    mut statements: Vec<Statement>,
) -> Result<Written, ModelError> {
    statements.insert(
        0,
        Statement::guard(
            "UPDATE secrets SET generation = generation + 1 WHERE account_id = ? AND region = ? AND arn = ? AND generation = ?",
            vec![account.into(), region.into(), read.arn.as_str().into(), read.generation.into()],
        ),
    );
    Ok(if store.guarded(statements).await? { Written::Done } else { Written::Raced })
}

/// Deletes a secret and its versions at once: `false` when it is gone already.
pub async fn delete(store: &Store, account: &str, region: &str, arn: &str) -> Result<bool, ModelError> {
    let key = || -> Vec<Value> { vec![account.into(), region.into(), arn.into()] };
    let statements = vec![
        Statement::guard("DELETE FROM secrets WHERE account_id = ? AND region = ? AND arn = ?", key()),
        Statement::new("DELETE FROM secret_versions WHERE account_id = ? AND region = ? AND secret_arn = ?", key()),
    ];
    Ok(store.guarded(statements).await?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, temp_store};

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf";

    #[tokio::test]
    async fn secrets_are_regional_guarded_and_purged_after_their_window() {
        let temp = temp_store().await;
        let store = &temp.store;
        let new = NewSecret { name: "db", arn: ARN, description: None, kms_key_id: None, tags: &[], created_at: 10 };
        let version = SecretVersion {
            version_id: "v1".repeat(16),
            sealed: vec![1, 2, 3],
            is_binary: false,
            stages: vec!["AWSCURRENT".to_owned()],
            created_at: 10,
        };
        let first = insert_version(ACCOUNT, "us-east-1", ARN, &version);
        assert!(create(store, ACCOUNT, "us-east-1", &new, Some(first)).await.unwrap());
        let again = NewSecret { arn: "arn:other", ..new.clone() };
        assert!(!create(store, ACCOUNT, "us-east-1", &again, None).await.unwrap(), "the name is taken");
        assert!(find(store, ACCOUNT, "eu-west-1", By::Name("db"), 11).await.unwrap().is_none(), "per region");
        let read = find(store, ACCOUNT, "us-east-1", By::Arn(ARN), 11).await.unwrap().unwrap();
        let schedule = change(ACCOUNT, "us-east-1", ARN, Change::DeletionDate(Some(100)));
        assert_eq!(write(store, ACCOUNT, "us-east-1", &read, vec![schedule.clone()]).await.unwrap(), Written::Done);
        assert_eq!(write(store, ACCOUNT, "us-east-1", &read, vec![schedule]).await.unwrap(), Written::Raced);
        assert!(find(store, ACCOUNT, "us-east-1", By::Name("db"), 99).await.unwrap().is_some(), "in its window");
        assert!(find(store, ACCOUNT, "us-east-1", By::Name("db"), 100).await.unwrap().is_none(), "purged");
        assert!(versions(store, ACCOUNT, "us-east-1", ARN).await.unwrap().is_empty(), "with its versions");
    }
}
