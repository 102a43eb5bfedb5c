//! Parameter Store's model: a parameter (one row of `ssm_parameters`: its latest version, a
//! generation every write moves, its tags) and its versions (`ssm_parameter_versions`: type,
//! value, key, description, pattern, data type, tier, labels, who wrote it and when).
//!
//! Guarantees:
//! - every row is keyed by account and region: a region's parameters are its own;
//! - a SecureString's value is stored only sealed (the handlers seal it with the master key,
//!   bound to [`seal_context`]); a String's as text;
//! - creating a parameter is one insert of the parameter and its first version, so two
//!   creators of one name cannot both succeed; every later write (a new version, labels,
//!   tags) is guarded by the generation the writer read ([`Written::Raced`] otherwise), so
//!   version numbers never repeat and labels are never lost to a concurrent write;
//! - at most [`MAX_VERSIONS`] versions are kept: the oldest goes with the write that adds one
//!   more.

use store::{Statement, Store, StoreError, Value};

use crate::ssm::model::ModelError;
use crate::ssm::model::tags::Tag;

/// Versions kept per parameter (Parameter Store's limit).
pub const MAX_VERSIONS: i64 = 100;

/// A parameter's value as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredValue {
    /// A String's or StringList's value.
    Plain(String),
    /// A SecureString's value, sealed with the master key for [`seal_context`].
    Sealed(Vec<u8>),
}

/// The context a SecureString's value is sealed for: a sealed value copied to another
/// parameter, version, region or account does not open.
pub fn seal_context(account: &str, region: &str, name: &str, version: i64) -> String {
    format!("ssm-parameter:{account}:{region}:{version}:{name}")
}

/// A parameter's row: its latest version, generation and tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub version: i64,
    pub generation: i64,
    pub tags: Vec<Tag>,
}

/// One version of a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterVersion {
    pub name: String,
    pub version: i64,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    pub value: StoredValue,
    pub key_id: Option<String>,
    pub description: Option<String>,
    pub allowed_pattern: Option<String>,
    pub data_type: String,
    pub tier: String,
    pub labels: Vec<String>,
    pub modified_at: i64,
    /// The ARN of who wrote it.
    pub modified_by: String,
}

const COLUMNS: &str = "name, version, type, value, value_sealed, key_id, description, allowed_pattern, data_type, \
                       tier, labels, modified_at, modified_by";

fn version_of(row: &store::Row) -> Result<ParameterVersion, StoreError> {
    let value = match row.opt_text(3)? {
        Some(text) => StoredValue::Plain(text),
        None => StoredValue::Sealed(row.blob(4)?),
    };
    Ok(ParameterVersion {
        name: row.text(0)?,
        version: row.int(1)?,
        kind: row.text(2)?,
        value,
        key_id: row.opt_text(5)?,
        description: row.opt_text(6)?,
        allowed_pattern: row.opt_text(7)?,
        data_type: row.text(8)?,
        tier: row.text(9)?,
        labels: serde_json::from_str(&row.text(10)?).unwrap_or_default(),
        modified_at: row.int(11)?,
        modified_by: row.text(12)?,
    })
}

fn tags_of(text: &str) -> Vec<Tag> {
    serde_json::from_str(text).unwrap_or_default()
}

fn tags_text(tags: &[Tag]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".to_owned())
}

/// The parameter named `name` (exactly), if it exists.
pub async fn find(store: &Store, account: &str, region: &str, name: &str) -> Result<Option<Parameter>, ModelError> {
    let rows = store
        .query(
            "SELECT name, version, generation, tags FROM ssm_parameters WHERE account_id = ? AND region = ? AND name = ?",
            vec![account.into(), region.into(), name.into()],
        )
        .await?;
    let Some(row) = rows.first() else { return Ok(None) };
    Ok(Some(Parameter {
        name: row.text(0)?,
        version: row.int(1)?,
        generation: row.int(2)?,
        tags: tags_of(&row.text(3)?),
    }))
}

/// Every version of a parameter, oldest first.
pub async fn versions(
    store: &Store,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Vec<ParameterVersion>, ModelError> {
    let rows = store
        .query(
            &format!(
                "SELECT {COLUMNS} FROM ssm_parameter_versions WHERE account_id = ? AND region = ? AND name = ? ORDER BY version"
            ),
            vec![account.into(), region.into(), name.into()],
        )
        .await?;
    Ok(rows.iter().map(version_of).collect::<Result<_, _>>()?)
}

/// The latest version of every parameter of the region, by name.
pub async fn all_latest(
    store: &Store,
    account: &str,
    region: &str,
) -> Result<Vec<(ParameterVersion, Vec<Tag>)>, ModelError> {
    let columns: String = COLUMNS.split(", ").map(|column| format!("v.{column}")).collect::<Vec<_>>().join(", ");
    let rows = store
        .query(
            &format!(
                "SELECT {columns}, p.tags FROM ssm_parameters p JOIN ssm_parameter_versions v
                   ON v.account_id = p.account_id AND v.region = p.region AND v.name = p.name AND v.version = p.version
                 WHERE p.account_id = ? AND p.region = ? ORDER BY p.name"
            ),
            vec![account.into(), region.into()],
        )
        .await?;
    Ok(rows.iter().map(|row| Ok((version_of(row)?, tags_of(&row.text(13)?)))).collect::<Result<_, StoreError>>()?)
}

/// What a write records as a version.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    pub name: &'a str,
    pub version: i64,
    pub kind: &'a str,
    pub value: StoredValue,
    pub key_id: Option<&'a str>,
    pub description: Option<&'a str>,
    pub allowed_pattern: Option<&'a str>,
    pub data_type: &'a str,
    pub tier: &'a str,
    pub modified_at: i64,
    pub modified_by: &'a str,
}

fn insert_version(account: &str, region: &str, new: &NewVersion<'_>) -> Statement {
    let (plain, sealed) = match &new.value {
        StoredValue::Plain(text) => (Value::from(text.as_str()), Value::Null),
        StoredValue::Sealed(bytes) => (Value::Null, Value::from(bytes.clone())),
    };
    Statement::new(
        "INSERT INTO ssm_parameter_versions (account_id, region, name, version, type, value, value_sealed, key_id,
             description, allowed_pattern, data_type, tier, labels, modified_at, modified_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?)",
        vec![
            account.into(),
            region.into(),
            new.name.into(),
            new.version.into(),
            new.kind.into(),
            plain,
            sealed,
            new.key_id.into(),
            new.description.into(),
            new.allowed_pattern.into(),
            new.data_type.into(),
            new.tier.into(),
            new.modified_at.into(),
            new.modified_by.into(),
        ],
    )
}

/// Creates a parameter with its first version and tags: `false` when the name is taken.
pub async fn create(
    store: &Store,
    account: &str,
    region: &str,
    first: &NewVersion<'_>,
    tags: &[Tag],
) -> Result<bool, ModelError> {
    let statements = vec![
        Statement::new(
            "INSERT INTO ssm_parameters (account_id, region, name, version, generation, tags) VALUES (?, ?, ?, 1, 1, ?)",
            vec![account.into(), region.into(), first.name.into(), tags_text(tags).into()],
        ),
        insert_version(account, region, first),
    ];
    match store.transaction(statements).await {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Whether a guarded write happened, or the parameter changed (or went) since it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Done,
    Raced,
}

/// Runs `statements` if the parameter is still at `generation`, moving it on.
async fn guarded(
    store: &Store,
    account: &str,
    region: &str,
    name: &str,
    generation: i64,
    mut statements: Vec<Statement>,
) -> Result<Written, ModelError> {
    statements.insert(
        0,
        Statement::guard(
            "UPDATE ssm_parameters SET generation = generation + 1 WHERE account_id = ? AND region = ? AND name = ? AND generation = ?",
            vec![account.into(), region.into(), name.into(), generation.into()],
        ),
    );
    Ok(if store.guarded(statements).await? { Written::Done } else { Written::Raced })
}

/// Adds `next` as the parameter's latest version (the one after what `read` holds), dropping
/// the oldest beyond [`MAX_VERSIONS`]; `tags` replaces its tags when given.
pub async fn add_version(
    store: &Store,
    account: &str,
    region: &str,
    read: &Parameter,
    next: &NewVersion<'_>,
) -> Result<Written, ModelError> {
    let statements = vec![
        Statement::new(
            "UPDATE ssm_parameters SET version = ? WHERE account_id = ? AND region = ? AND name = ?",
            vec![next.version.into(), account.into(), region.into(), read.name.as_str().into()],
        ),
        insert_version(account, region, next),
        Statement::new(
            "DELETE FROM ssm_parameter_versions WHERE account_id = ? AND region = ? AND name = ? AND version <= ?",
            vec![account.into(), region.into(), read.name.as_str().into(), (next.version - MAX_VERSIONS).into()],
        ),
    ];
    guarded(store, account, region, &read.name, read.generation, statements).await
}

/// Sets the labels of versions (`(version, labels)`), as read at `read`'s generation.
pub async fn set_labels(
    store: &Store,
    account: &str,
    region: &str,
    read: &Parameter,
    labels: &[(i64, Vec<String>)],
) -> Result<Written, ModelError> {
    let statements = labels
        .iter()
        .map(|(version, labels)| {
            Statement::new(
                "UPDATE ssm_parameter_versions SET labels = ? WHERE account_id = ? AND region = ? AND name = ? AND version = ?",
                vec![
                    serde_json::to_string(labels).unwrap_or_else(|_| "[]".to_owned()).into(),
                    account.into(),
                    region.into(),
                    read.name.as_str().into(),
                    (*version).into(),
                ],
            )
        })
        .collect();
    guarded(store, account, region, &read.name, read.generation, statements).await
}

/// Replaces a parameter's tags, as read at `read`'s generation.
pub async fn set_tags(
    store: &Store,
    account: &str,
    region: &str,
    read: &Parameter,
    tags: &[Tag],
) -> Result<Written, ModelError> {
    let statement = Statement::new(
        "UPDATE ssm_parameters SET tags = ? WHERE account_id = ? AND region = ? AND name = ?",
        vec![tags_text(tags).into(), account.into(), region.into(), read.name.as_str().into()],
    );
    guarded(store, account, region, &read.name, read.generation, vec![statement]).await
}

/// Deletes a parameter and all its versions: `false` when it does not exist.
pub async fn delete(store: &Store, account: &str, region: &str, name: &str) -> Result<bool, ModelError> {
    let key = || -> Vec<Value> { vec![account.into(), region.into(), name.into()] };
    let statements = vec![
        Statement::guard("DELETE FROM ssm_parameters WHERE account_id = ? AND region = ? AND name = ?", key()),
        Statement::new("DELETE FROM ssm_parameter_versions WHERE account_id = ? AND region = ? AND name = ?", key()),
    ];
    Ok(store.guarded(statements).await?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, temp_store};

    fn version<'a>(name: &'a str, version: i64, value: &str) -> NewVersion<'a> {
        NewVersion {
            name,
            version,
            kind: "String",
            value: StoredValue::Plain(value.to_owned()),
            key_id: None,
            description: None,
            allowed_pattern: None,
            data_type: "text",
            tier: "Standard",
            modified_at: 100 + version,
            modified_by: "arn:aws:iam::111122223333:root",
        }
    }

    #[tokio::test]
    async fn versions_are_guarded_regional_and_capped() {
        let temp = temp_store().await;
        let store = &temp.store;
        assert!(create(store, ACCOUNT, "us-east-1", &version("/app/db", 1, "a"), &[]).await.unwrap());
        assert!(!create(store, ACCOUNT, "us-east-1", &version("/app/db", 1, "b"), &[]).await.unwrap(), "taken");
        assert!(create(store, ACCOUNT, "eu-west-1", &version("/app/db", 1, "c"), &[]).await.unwrap(), "per region");
        let read = find(store, ACCOUNT, "us-east-1", "/app/db").await.unwrap().unwrap();
        assert_eq!(
            add_version(store, ACCOUNT, "us-east-1", &read, &version("/app/db", 2, "d")).await.unwrap(),
            Written::Done
        );
        // A writer that read the same generation lost the race.
        assert_eq!(
            add_version(store, ACCOUNT, "us-east-1", &read, &version("/app/db", 2, "e")).await.unwrap(),
            Written::Raced
        );
        let mut read = find(store, ACCOUNT, "us-east-1", "/app/db").await.unwrap().unwrap();
        assert_eq!(read.version, 2);
        for next in 3..=(MAX_VERSIONS + 2) {
            assert_eq!(
                add_version(store, ACCOUNT, "us-east-1", &read, &version("/app/db", next, "v")).await.unwrap(),
                Written::Done
            );
            read = find(store, ACCOUNT, "us-east-1", "/app/db").await.unwrap().unwrap();
        }
        let kept = versions(store, ACCOUNT, "us-east-1", "/app/db").await.unwrap();
        assert_eq!(kept.len() as i64, MAX_VERSIONS);
        assert_eq!(kept[0].version, 3, "the oldest went");
        let all = all_latest(store, ACCOUNT, "eu-west-1").await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].0.value, StoredValue::Plain("c".to_owned()));
        assert!(delete(store, ACCOUNT, "us-east-1", "/app/db").await.unwrap());
        assert!(!delete(store, ACCOUNT, "us-east-1", "/app/db").await.unwrap());
        assert!(versions(store, ACCOUNT, "us-east-1", "/app/db").await.unwrap().is_empty());
    }
}
