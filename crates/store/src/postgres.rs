//! The PostgreSQL backend: a small pool of connections speaking the same SQL.
//!
//! Statements are written with `?` placeholders (the common form); they become `$1, $2, ...`
//! here. Parameters and columns convert by the types PostgreSQL reports for the statement,
//! so a NULL is sent with the type its column expects.
//!
//! Every write runs in a `SERIALIZABLE` transaction, so a statement that checks and writes
//! (a guarded insert such as "at most two access keys", a guard of [`Statement::guard`]) is
//! exactly as atomic as on SQLite's single writer: under PostgreSQL's default `READ
//! COMMITTED`, two such statements each count the rows committed before them and both pass.
//! A write PostgreSQL aborts for a serialization failure or a deadlock is run again from the
//! start (its statements are plain data, so nothing else has seen it), up to [`ATTEMPTS`]
//! times with a short jittered pause. Reads stay `READ COMMITTED`: one statement reads one
//! snapshot, and a read takes no predicate locks that would make writers retry.

use tokio::sync::{Mutex, Semaphore};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, IsolationLevel, NoTls};

use crate::{Row, Statement, StoreError, Value};

/// Connections kept open.
const CONNECTIONS: usize = 8;

/// How many times a write aborted by a serialization failure or a deadlock is tried in all.
/// Each retry of PostgreSQL's serializable isolation is guaranteed not to fail again on the
/// same conflict, so this bounds waiting behind as many concurrent writers of the same rows.
const ATTEMPTS: u32 = 24;

pub(crate) struct Postgres {
    idle: Mutex<Vec<Client>>,
    available: Semaphore,
    url: String,
    durability: crate::Durability,
}

/// Why one attempt at a write failed.
enum Failure {
    /// PostgreSQL aborted it to keep transactions serializable (or to break a deadlock): run
    /// it again.
    Contended(String),
    /// PostgreSQL refuses to run the statement inside a transaction block (`CREATE DATABASE`):
    /// run it on its own.
    NotInTransaction,
    Store(StoreError),
}

fn failure(error: tokio_postgres::Error) -> Failure {
    match error.code() {
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED => {
            Failure::Contended(error.to_string())
        }
        Some(code) if *code == SqlState::ACTIVE_SQL_TRANSACTION => Failure::NotInTransaction,
        _ => Failure::Store(map_error(error)),
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        Failure::Store(error)
    }
}

/// The pause before retry `attempt` (1, 2, ...): drawn from the upper half of a window that
/// doubles from 1 ms to 64 ms, so writers that collided do not collide again in step.
fn backoff(attempt: u32) -> std::time::Duration {
    let window_us = 1_000u64 << attempt.min(6);
    let mut noise = [0u8; 2];
    let jitter = match getrandom::getrandom(&mut noise) {
        Ok(()) => u64::from(u16::from_le_bytes(noise)) % (window_us / 2),
        Err(_) => 0,
    };
    std::time::Duration::from_micros(window_us / 2 + jitter)
}

fn map_error(error: tokio_postgres::Error) -> StoreError {
    match error.as_db_error() {
        Some(db) if *db.code() == tokio_postgres::error::SqlState::UNIQUE_VIOLATION => StoreError::Conflict,
        Some(db) => StoreError::Invalid(format!("{}: {}", db.severity(), db.message())),
        None => StoreError::Unavailable(error.to_string()),
    }
}

async fn connect(url: &str, durability: crate::Durability) -> Result<Client, StoreError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(map_error)?;
    tokio::spawn(async move {
        // The connection ends when the client is dropped or the server goes away; the next
        // checkout then reconnects.
        let _ = connection.await;
    });
    if durability == crate::Durability::ProcessCrash {
        client.batch_execute("SET synchronous_commit = off").await.map_err(map_error)?;
    }
    Ok(client)
}

/// Rewrites `?` placeholders to PostgreSQL's numbered form. Homeport's SQL never holds a
/// `?` inside a string literal.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 1;
    for ch in sql.chars() {
        if ch == '?' {
            out.push_str(&format!("${next}"));
            next += 1;
        } else {
            out.push(ch);
        }
    }
    out
}

impl Postgres {
    pub(crate) async fn connect(url: &str, durability: crate::Durability) -> Result<Postgres, StoreError> {
        let first = connect(url, durability).await?;
        Ok(Postgres {
            idle: Mutex::new(vec![first]),
            available: Semaphore::new(CONNECTIONS),
            url: url.to_owned(),
            durability,
        })
    }

    /// Runs `work` with a connection of the pool, opening one when none is idle, and returns
    /// the connection unless it broke.
    async fn with_client<T>(
        &self,
        work: impl AsyncFnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _permit = self.available.acquire().await.map_err(|error| StoreError::Unavailable(error.to_string()))?;
        let idle = self.idle.lock().await.pop();
        let mut client = match idle {
            Some(client) if !client.is_closed() => client,
            _ => connect(&self.url, self.durability).await?,
        };
        let result = work(&mut client).await;
        if !client.is_closed() {
            self.idle.lock().await.push(client);
        }
        result
    }

    pub(crate) async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        let sql = numbered(sql);
        self.with_client(async move |client: &mut Client| {
            let statement = client.prepare(&sql).await.map_err(map_error)?;
            let bound = bind(&params, statement.params())?;
            let rows = client.query(&statement, &refs(&bound)).await.map_err(map_error)?;
            rows.iter().map(read_row).collect()
        })
        .await
    }

    pub(crate) async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError> {
        let statement = Statement::new(sql, params);
        match self.serializable(std::slice::from_ref(&statement)).await {
            Ok(changed) => Ok(changed.first().copied().unwrap_or(0)),
            Err(Failure::NotInTransaction) => self.autocommit(&statement).await,
            Err(Failure::Store(error)) => Err(error),
            Err(Failure::Contended(message)) => Err(StoreError::Unavailable(message)),
        }
    }

    pub(crate) async fn transaction(&self, statements: Vec<Statement>) -> Result<Vec<u64>, StoreError> {
        match self.serializable(&statements).await {
            Ok(changed) => Ok(changed),
            Err(Failure::Store(error)) => Err(error),
            Err(Failure::NotInTransaction) => {
                Err(StoreError::Invalid("a statement that cannot run in a transaction is in one".to_owned()))
            }
            Err(Failure::Contended(message)) => Err(StoreError::Unavailable(message)),
        }
    }

    /// Runs `statements` in one serializable transaction, again from the start while
    /// PostgreSQL aborts it for contention (at most [`ATTEMPTS`] times in all).
    async fn serializable(&self, statements: &[Statement]) -> Result<Vec<u64>, Failure> {
        let mut attempt = 1;
        loop {
            let outcome = self
                .with_client(async move |client: &mut Client| Ok(attempt_transaction(client, statements).await))
                .await?;
            match outcome {
                Err(Failure::Contended(_)) if attempt < ATTEMPTS => {
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                Err(Failure::Contended(message)) => {
                    return Err(Failure::Contended(format!(
                        "gave up after {ATTEMPTS} attempts aborted by concurrent writes: {message}"
                    )));
                }
                other => return other,
            }
        }
    }

    /// Runs one statement outside any transaction block.
    async fn autocommit(&self, statement: &Statement) -> Result<u64, StoreError> {
        let sql = numbered(&statement.sql);
        self.with_client(async move |client: &mut Client| {
            let prepared = client.prepare(&sql).await.map_err(map_error)?;
            let bound = bind(&statement.params, prepared.params())?;
            client.execute(&prepared, &refs(&bound)).await.map_err(map_error)
        })
        .await
    }
}

/// One attempt at a serializable transaction; dropping the transaction on an error rolls it
/// back.
async fn attempt_transaction(client: &mut Client, statements: &[Statement]) -> Result<Vec<u64>, Failure> {
    let transaction =
        client.build_transaction().isolation_level(IsolationLevel::Serializable).start().await.map_err(failure)?;
    let mut changed = Vec::with_capacity(statements.len());
    for (index, statement) in statements.iter().enumerate() {
        let prepared = transaction.prepare(&numbered(&statement.sql)).await.map_err(failure)?;
        let bound = bind(&statement.params, prepared.params())?;
        let count = transaction.execute(&prepared, &refs(&bound)).await.map_err(failure)?;
        if count == 0 && statement.must_change {
            return Err(Failure::Store(StoreError::Unmet(index)));
        }
        changed.push(count);
    }
    transaction.commit().await.map_err(failure)?;
    Ok(changed)
}

type Bound = Box<dyn ToSql + Sync + Send>;

fn refs(bound: &[Bound]) -> Vec<&(dyn ToSql + Sync)> {
    bound.iter().map(|value| value.as_ref() as &(dyn ToSql + Sync)).collect()
}

/// Converts parameters to the types PostgreSQL expects for this statement.
fn bind(params: &[Value], types: &[Type]) -> Result<Vec<Bound>, StoreError> {
    if params.len() != types.len() {
        return Err(StoreError::Invalid(format!("{} parameters for {} placeholders", params.len(), types.len())));
    }
    params
        .iter()
        .zip(types)
        .map(|(value, ty)| -> Result<Bound, StoreError> {
            Ok(match (value, ty) {
                (Value::Null, &Type::INT8) => Box::new(None::<i64>),
                (Value::Null, &Type::INT4) => Box::new(None::<i32>),
                (Value::Null, &Type::BYTEA) => Box::new(None::<Vec<u8>>),
                (Value::Null, &Type::BOOL) => Box::new(None::<bool>),
                (Value::Null, _) => Box::new(None::<String>),
                (Value::Int(int), &Type::INT4) => {
                    Box::new(i32::try_from(*int).map_err(|_| StoreError::Invalid(format!("{int} overflows INT4")))?)
                }
                (Value::Int(int), &Type::BOOL) => Box::new(*int != 0),
                (Value::Int(int), &Type::TEXT | &Type::VARCHAR) => Box::new(int.to_string()),
                (Value::Int(int), _) => Box::new(*int),
                (Value::Text(text), _) => Box::new(text.clone()),
                (Value::Blob(blob), _) => Box::new(blob.clone()),
            })
        })
        .collect()
}

fn read_row(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let invalid = |error: tokio_postgres::Error| StoreError::Invalid(error.to_string());
    (0..row.len())
        .map(|index| {
            let ty = row.columns().get(index).map(|column| column.type_().clone()).unwrap_or(Type::TEXT);
            let value = match ty {
                Type::INT8 => row.try_get::<_, Option<i64>>(index).map_err(invalid)?.map(Value::Int),
                Type::INT4 => row.try_get::<_, Option<i32>>(index).map_err(invalid)?.map(|v| Value::Int(v.into())),
                Type::INT2 => row.try_get::<_, Option<i16>>(index).map_err(invalid)?.map(|v| Value::Int(v.into())),
                Type::BOOL => row.try_get::<_, Option<bool>>(index).map_err(invalid)?.map(|v| Value::Int(v.into())),
                Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(index).map_err(invalid)?.map(Value::Blob),
                _ => row.try_get::<_, Option<String>>(index).map_err(invalid)?.map(Value::Text),
            };
            Ok(value.unwrap_or(Value::Null))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Row)
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(super::numbered("SELECT a FROM t WHERE b = ? AND c = ?"), "SELECT a FROM t WHERE b = $1 AND c = $2");
    }
}
