//! Schema migrations: numbered, applied once, in order, each in its own transaction.

use crate::{Dialect, Statement, Store, StoreError, Value};

/// One schema change. Its SQL may use `{blob}` (BLOB / BYTEA) and `{serial}` (an
/// auto-incrementing integer primary key) where the dialects differ; statements are
/// separated by `;`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

impl Migration {
    fn statements(&self, dialect: Dialect) -> Vec<String> {
        let (blob, serial) = match dialect {
            Dialect::Sqlite => ("BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT"),
            Dialect::Postgres => ("BYTEA", "BIGSERIAL PRIMARY KEY"),
        };
        self.sql
            .split(';')
            .map(str::trim)
            .filter(|sql| !sql.is_empty())
            .map(|sql| sql.replace("{blob}", blob).replace("{serial}", serial))
            .collect()
    }
}

pub(crate) async fn run(store: &Store, migrations: &[Migration]) -> Result<(), StoreError> {
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
            migration.statements(store.dialect()).into_iter().map(|sql| Statement::new(sql, vec![])).collect();
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
