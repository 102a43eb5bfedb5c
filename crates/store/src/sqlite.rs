//! The SQLite backend: one writer connection and a few readers over a WAL database file.
//!
//! SQLite calls block. Writes (which wait for the disk) run on tokio's blocking pool. A read
//! first runs on the calling task if a reader connection is free, for at most [`INLINE_READ`]:
//! handing a point lookup to another thread and back costs ten times the lookup itself. A read
//! that takes longer is interrupted and run again on the blocking pool (reads have no effects),
//! so no task blocks its runtime thread for longer than that. WAL lets readers proceed while
//! the writer commits; `synchronous=FULL` makes every acknowledged commit survive a crash.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, params_from_iter, types::ValueRef};

use crate::{Row, Statement, StoreError, Value};

/// Read connections kept open; WAL readers do not block each other or the writer.
const READERS: usize = 4;

/// How long a read may run on the calling task before it moves to the blocking pool.
const INLINE_READ: Duration = Duration::from_micros(250);

/// SQLite virtual-machine steps between checks of that deadline (a few microseconds).
const STEPS_PER_CHECK: i32 = 500;

pub(crate) struct Sqlite {
    writer: Arc<Mutex<Connection>>,
    readers: Vec<Arc<Mutex<Connection>>>,
}

fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn map_error(error: rusqlite::Error) -> StoreError {
    match error {
        rusqlite::Error::SqliteFailure(failure, _) if failure.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict
        }
        rusqlite::Error::SqliteFailure(failure, message) => {
            StoreError::Unavailable(message.unwrap_or_else(|| failure.to_string()))
        }
        other => StoreError::Invalid(other.to_string()),
    }
}

fn lock(connection: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave SQLite inconsistent: its own transaction
    // would be rolled back. Keep going with the connection.
    match connection.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Sqlite {
    pub(crate) async fn open(path: &str, durability: crate::Durability) -> Result<Sqlite, StoreError> {
        let path = path.to_owned();
        let synchronous = match durability {
            crate::Durability::PowerLoss => "FULL",
            crate::Durability::ProcessCrash => "NORMAL",
        };
        tokio::task::spawn_blocking(move || {
            let writer = Connection::open(&path).map_err(map_error)?;
            writer
                .execute_batch(&format!(
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous}; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;"
                ))
                .map_err(map_error)?;
            let readers = (0..READERS)
                .map(|_| {
                    let reader = Connection::open_with_flags(
                        &path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .map_err(map_error)?;
                    reader.execute_batch("PRAGMA busy_timeout=5000;").map_err(map_error)?;
                    Ok(Arc::new(Mutex::new(reader)))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok(Sqlite { writer: Arc::new(Mutex::new(writer)), readers })
        })
        .await
        .map_err(unavailable)?
    }

    pub(crate) async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        // Spread reads over the readers; a busy reader only delays this one query.
        let first = READING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let count = self.readers.len().max(1);
        for offset in 0..count {
            let Some(reader) = self.readers.get((first + offset) % count) else { break };
            let Ok(connection) = reader.try_lock() else { continue };
            match read_briefly(&connection, sql, &params) {
                Err(rusqlite::Error::SqliteFailure(failure, _))
                    if failure.code == rusqlite::ErrorCode::OperationInterrupted =>
                {
                    break;
                }
                done => return done.map_err(map_error),
            }
        }
        let connection = match self.readers.get(first % count) {
            Some(reader) => Arc::clone(reader),
            None => Arc::clone(&self.writer),
        };
        let sql = sql.to_owned();
        tokio::task::spawn_blocking(move || read(&lock(&connection), &sql, &params).map_err(map_error))
            .await
            .map_err(unavailable)?
    }

    pub(crate) async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError> {
        let writer = Arc::clone(&self.writer);
        let sql = sql.to_owned();
        tokio::task::spawn_blocking(move || {
            let connection = lock(&writer);
            let mut prepared = connection.prepare_cached(&sql).map_err(map_error)?;
            let count = prepared.execute(params_from_iter(params.iter().map(Borrowed))).map_err(map_error)?;
            Ok(u64::try_from(count).unwrap_or(u64::MAX))
        })
        .await
        .map_err(unavailable)?
    }

    pub(crate) async fn transaction(&self, statements: Vec<Statement>) -> Result<Vec<u64>, StoreError> {
        let writer = Arc::clone(&self.writer);
        tokio::task::spawn_blocking(move || {
            let mut connection = lock(&writer);
            let transaction = connection.transaction().map_err(map_error)?;
            let mut changed = Vec::with_capacity(statements.len());
            for (index, statement) in statements.iter().enumerate() {
                let mut prepared = transaction.prepare_cached(&statement.sql).map_err(map_error)?;
                let count =
                    prepared.execute(params_from_iter(statement.params.iter().map(Borrowed))).map_err(map_error)?;
                if count == 0 && statement.must_change {
                    // Dropping the transaction rolls it back.
                    return Err(StoreError::Unmet(index));
                }
                changed.push(u64::try_from(count).unwrap_or(u64::MAX));
            }
            transaction.commit().map_err(map_error)?;
            Ok(changed)
        })
        .await
        .map_err(unavailable)?
    }
}

/// Runs a read with a deadline of [`INLINE_READ`]; past it SQLite interrupts the statement.
fn read_briefly(connection: &Connection, sql: &str, params: &[Value]) -> rusqlite::Result<Vec<Row>> {
    let deadline = Instant::now() + INLINE_READ;
    connection.progress_handler(STEPS_PER_CHECK, Some(move || Instant::now() > deadline));
    let rows = read(connection, sql, params);
    connection.progress_handler(0, None::<fn() -> bool>);
    rows
}

fn read(connection: &Connection, sql: &str, params: &[Value]) -> rusqlite::Result<Vec<Row>> {
    let mut statement = connection.prepare_cached(sql)?;
    let columns = statement.column_count();
    let mut rows = statement.query(params_from_iter(params.iter().map(Borrowed)))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns).map(|index| row.get_ref(index).map(from_sql)).collect::<Result<Vec<_>, _>>()?;
        out.push(Row(values));
    }
    Ok(out)
}

static READING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Binds a value without copying it.
struct Borrowed<'a>(&'a Value);

impl rusqlite::ToSql for Borrowed<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Int(int) => ValueRef::Integer(*int),
            Value::Text(text) => ValueRef::Text(text.as_bytes()),
            Value::Blob(blob) => ValueRef::Blob(blob),
        }))
    }
}

fn from_sql(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(int) => Value::Int(int),
        // Homeport stores no floating-point columns; keep the text form if one appears.
        ValueRef::Real(real) => Value::Text(real.to_string()),
        ValueRef::Text(text) => Value::Text(String::from_utf8_lossy(text).into_owned()),
        ValueRef::Blob(blob) => Value::Blob(blob.to_vec()),
    }
}
