//! Schema migrations: numbered, applied once, in order, each in its own transaction.

use crate::{Dialect, Statement, Store, StoreError, Value};

/// One schema change. Its SQL may use `{blob}` (BLOB / BYTEA) and `{serial}` (an
/// auto-incrementing integer primary key) where the dialects differ, and `{NAME}` for a value
/// the caller supplies ([`Store::migrate_with`](crate::Store::migrate_with)); statements are
/// separated by `;`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

impl Migration {
    fn statements(&self, dialect: Dialect, values: &[(&str, &str)]) -> Vec<String> {
        let (blob, serial) = match dialect {
            Dialect::Sqlite => ("BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT"),
            Dialect::Postgres => ("BYTEA", "BIGSERIAL PRIMARY KEY"),
        };
        self.sql
            .split(';')
            .map(str::trim)
            .filter(|sql| !sql.is_empty())
            .map(|sql| {
                let sql = sql.replace("{blob}", blob).replace("{serial}", serial);
                values.iter().fold(sql, |sql, (name, value)| sql.replace(&format!("{{{name}}}"), value))
            })
            .collect()
    }
}

/// Whether a value may be written into a migration's SQL as it is: it is spliced into SQL
/// text (a literal's contents), so only letters, digits, `-` and `_` are allowed.
fn is_plain(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

pub(crate) async fn run(store: &Store, migrations: &[Migration], values: &[(&str, &str)]) -> Result<(), StoreError> {
    if let Some((name, _)) = values.iter().find(|(_, value)| !is_plain(value)) {
        return Err(StoreError::Invalid(format!("the migration value {name} must be letters, digits, '-' or '_'")));
    }
    store
        .execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
            vec![],
        )
        .await?;
    let applied: Vec<i64> = store
        .query("SELECT version FROM schema_migrations", vec![])
        .await?
        .iter()
        .map(|row| row.int(0))
        .collect::<Result<_, _>>()?;
    let mut pending: Vec<&Migration> = migrations.iter().filter(|m| !applied.contains(&m.version)).collect();
    pending.sort_by_key(|m| m.version);
    for migration in pending {
        let mut statements: Vec<Statement> =
            migration.statements(store.dialect(), values).into_iter().map(|sql| Statement::new(sql, vec![])).collect();
        statements.push(Statement::new(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, CURRENT_TIMESTAMP)",
            vec![Value::Int(migration.version)],
        ));
        match store.transaction(statements).await {
            // Another replica applied it first: fine.
            Ok(_) | Err(StoreError::Conflict) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
