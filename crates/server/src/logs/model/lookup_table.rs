//! The region's lookup tables (CSV reference data for Logs Insights): the SQL of
//! `logs_lookup_tables` (migration 36).
//!
//! Guarantees: a name is one table per account and region; an update replaces its body,
//! description and key whole; a table is deleted with its tags in one transaction.

use store::{Statement, Store, StoreError, Value};

use crate::logs::model::ModelError;
use crate::regions::Scope;

/// `arn:aws:logs:REGION:ACCOUNT:lookup-table:NAME`.
pub fn arn(scope: Scope<'_>, name: &str) -> String {
    format!("arn:aws:logs:{}:{}:lookup-table:{name}", scope.region, scope.account)
}

/// A stored lookup table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupTable {
    pub name: String,
    pub description: Option<String>,
    /// The CSV as given.
    pub body: String,
    pub kms_key_id: Option<String>,
    /// The header row's column names.
    pub fields: Vec<String>,
    /// Data rows (the header excluded).
    pub records: i64,
    /// Epoch milliseconds.
    pub updated_at: i64,
}

impl LookupTable {
    /// Its body's size in bytes.
    pub fn size(&self) -> i64 {
        i64::try_from(self.body.len()).unwrap_or(i64::MAX)
    }
}

const COLUMNS: &str = "name, description, body, kms_key_id, fields, records, updated_at, size_bytes";

fn of_row(row: &store::Row, with_body: bool) -> Result<LookupTable, StoreError> {
    Ok(LookupTable {
        name: row.text(0)?,
        description: row.opt_text(1)?,
        body: if with_body { row.text(2)? } else { String::new() },
        kms_key_id: row.opt_text(3)?,
        fields: serde_json::from_str(&row.text(4)?).unwrap_or_default(),
        records: row.int(5)?,
        updated_at: row.int(6)?,
    })
}

fn params(scope: Scope<'_>, table: &LookupTable) -> Vec<Value> {
    vec![
        Value::from(table.description.as_deref()),
        table.body.as_str().into(),
        Value::from(table.kms_key_id.as_deref()),
        serde_json::to_string(&table.fields).unwrap_or_default().into(),
        Value::Int(table.records),
        Value::Int(table.updated_at),
        Value::Int(table.size()),
        scope.account.into(),
        scope.region.into(),
        table.name.as_str().into(),
    ]
}

/// Stores a new table with its tags; false when its name is taken.
pub async fn create(
    store: &Store,
    scope: Scope<'_>,
    table: &LookupTable,
    tags: &[(String, String)],
) -> Result<bool, ModelError> {
    let mut statements = vec![Statement::new(
        "INSERT INTO logs_lookup_tables (description, body, kms_key_id, fields, records, updated_at, size_bytes, account_id, region, name)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params(scope, table),
    )];
    statements.extend(crate::tags::set(scope.account, super::tags::KIND, &arn(scope, &table.name), tags));
    match store.transaction(statements).await {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Replaces a table's body, description, key and counts; false when it is gone.
pub async fn replace(store: &Store, scope: Scope<'_>, table: &LookupTable) -> Result<bool, ModelError> {
    let changed = store
        .execute(
            "UPDATE logs_lookup_tables SET description = ?, body = ?, kms_key_id = ?, fields = ?, records = ?, updated_at = ?,
               size_bytes = ? WHERE account_id = ? AND region = ? AND name = ?",
            params(scope, table),
        )
        .await?;
    Ok(changed > 0)
}

/// One table with its body.
pub async fn get(store: &Store, scope: Scope<'_>, name: &str) -> Result<Option<LookupTable>, ModelError> {
    let rows = store
        .query(
            &format!("SELECT {COLUMNS} FROM logs_lookup_tables WHERE account_id = ? AND region = ? AND name = ?"),
            vec![scope.account.into(), scope.region.into(), name.into()],
        )
        .await?;
    Ok(rows.first().map(|row| of_row(row, true)).transpose()?)
}

/// The region's tables whose name starts with `prefix`, by name, without their bodies; each
/// with its body's size in bytes.
pub async fn list(store: &Store, scope: Scope<'_>, prefix: &str) -> Result<Vec<(LookupTable, i64)>, ModelError> {
    let rows = store
        .query(
            "SELECT name, description, name, kms_key_id, fields, records, updated_at, size_bytes FROM logs_lookup_tables
             WHERE account_id = ? AND region = ?",
            vec![scope.account.into(), scope.region.into()],
        )
        .await?;
    let mut found = Vec::new();
    for row in &rows {
        let table = of_row(row, false)?;
        if table.name.starts_with(prefix) {
            found.push((table, row.int(7)?));
        }
    }
    found.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    Ok(found)
}

/// Deletes a table with its tags; false when it is gone.
pub async fn delete(store: &Store, scope: Scope<'_>, name: &str) -> Result<bool, ModelError> {
    let deleted = store
        .transaction(vec![
            Statement::guard(
                "DELETE FROM logs_lookup_tables WHERE account_id = ? AND region = ? AND name = ?",
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

    fn table(name: &str, body: &str) -> LookupTable {
        LookupTable {
            name: name.to_owned(),
            description: None,
            body: body.to_owned(),
            kms_key_id: None,
            fields: vec!["id".to_owned()],
            records: 1,
            updated_at: 1,
        }
    }

    #[tokio::test]
    async fn a_table_is_created_once_replaced_whole_and_deleted() {
        let temp = temp_store().await;
        let store = &temp.store;
        assert!(create(store, SCOPE, &table("users", "id\n1\n"), &[("a".to_owned(), "b".to_owned())]).await.unwrap());
        assert!(!create(store, SCOPE, &table("users", "id\n2\n"), &[]).await.unwrap(), "name taken");
        assert!(replace(store, SCOPE, &table("users", "id\n3\n")).await.unwrap());
        assert!(!replace(store, SCOPE, &table("gone", "id\n3\n")).await.unwrap());
        assert_eq!(get(store, SCOPE, "users").await.unwrap().unwrap().body, "id\n3\n");
        let listed = list(store, SCOPE, "us").await.unwrap();
        assert_eq!((listed[0].0.name.as_str(), listed[0].1), ("users", 5));
        assert!(delete(store, SCOPE, "users").await.unwrap());
        assert!(!delete(store, SCOPE, "users").await.unwrap());
        assert!(store.query("SELECT 1 FROM tags", vec![]).await.unwrap().is_empty(), "its tags went with it");
    }
}
