//! The SQLite backend: one writer connection and a few readers over a WAL database file.
//!
//! SQLite calls block. Writes (which wait for the disk) run on tokio's blocking pool, with
//! group commit: writes that arrive while one commits wait in a queue, and the next commit
//! takes all of them in one SQLite transaction, each in a savepoint of its own (so one that
//! fails, a conflict or an unmet guard, is rolled back alone and the others keep their
//! effects, exactly as if they had run one after another). Nobody is answered before the
//! commit holding their write is durable; a commit that fails fails every write in it. A
//! read
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
    queue: Arc<Mutex<Queue>>,
    readers: Vec<Arc<Mutex<Connection>>>,
}

/// Writes waiting for the next commit, and whether a drain (the task that commits them) is
/// running: at most one is, so a write either finds one or starts one.
#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    draining: bool,
}

/// One caller's statements (one transaction of its own) and where its outcome goes.
struct Pending {
    statements: Vec<Statement>,
    reply: tokio::sync::oneshot::Sender<Result<Vec<u64>, StoreError>>,
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding a connection cannot leave SQLite inconsistent: its own
    // transaction would be rolled back. The queue is changed only in whole steps. Keep going.
    match mutex.lock() {
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
            Ok(Sqlite { writer: Arc::new(Mutex::new(writer)), queue: Arc::default(), readers })
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
        let changed = self.write(vec![Statement::new(sql, params)]).await?;
        Ok(changed.first().copied().unwrap_or(0))
    }

    pub(crate) async fn transaction(&self, statements: Vec<Statement>) -> Result<Vec<u64>, StoreError> {
        self.write(statements).await
    }

    /// Queues a transaction for the next commit, starting a drain if none is running.
    async fn write(&self, statements: Vec<Statement>) -> Result<Vec<u64>, StoreError> {
        let (reply, outcome) = tokio::sync::oneshot::channel();
        let start = {
            let mut queue = lock(&self.queue);
            queue.pending.push(Pending { statements, reply });
            !std::mem::replace(&mut queue.draining, true)
        };
        if start {
            let (writer, queue) = (Arc::clone(&self.writer), Arc::clone(&self.queue));
            // Not awaited: the outcome comes through `reply`, and a drain that could not
            // start leaves its callers' senders dropped, which answers them below.
            drop(tokio::task::spawn_blocking(move || drain(&writer, &queue)));
        }
        outcome.await.map_err(|_| unavailable("the writer stopped before committing"))?
    }
}

/// Commits what the queue holds, batch after batch, until it is empty.
fn drain(writer: &Mutex<Connection>, queue: &Mutex<Queue>) {
    /// Should a commit panic, the next write starts a new drain rather than waiting forever.
    struct Running<'a>(&'a Mutex<Queue>);
    impl Drop for Running<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                lock(self.0).draining = false;
            }
        }
    }
    let _running = Running(queue);
    let mut connection = lock(writer);
    loop {
        let batch = {
            let mut queue = lock(queue);
            if queue.pending.is_empty() {
                queue.draining = false;
                return;
            }
            std::mem::take(&mut queue.pending)
        };
        commit(&mut connection, batch);
    }
}

/// One SQLite transaction for the whole batch, each caller's statements in a savepoint.
fn commit(connection: &mut Connection, batch: Vec<Pending>) {
    if !connection.is_autocommit() {
        // A drain that panicked mid-batch left its transaction open; none of it was answered.
        let _ = connection.execute_batch("ROLLBACK");
    }
    if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
        let error = map_error(error);
        for pending in batch {
            let _ = pending.reply.send(Err(error.clone()));
        }
        return;
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    for pending in &batch {
        let outcome = in_savepoint(connection, &pending.statements);
        if connection.is_autocommit() {
            // SQLite rolled the whole transaction back (a full disk, an I/O error): nothing
            // of the batch took effect, and nothing more may run outside a transaction.
            let error = outcome.err().unwrap_or_else(|| unavailable("the transaction was rolled back"));
            for pending in batch {
                let _ = pending.reply.send(Err(error.clone()));
            }
            return;
        }
        outcomes.push(outcome);
    }
    let committed = connection.execute_batch("COMMIT").map_err(map_error);
    if committed.is_err() {
        let _ = connection.execute_batch("ROLLBACK");
    }
    for (pending, outcome) in batch.into_iter().zip(outcomes) {
        // A caller that gave up waiting has nothing to be told.
        let _ = pending.reply.send(committed.clone().and(outcome));
    }
}

/// Runs one caller's statements; on any failure, undoes exactly them.
fn in_savepoint(connection: &Connection, statements: &[Statement]) -> Result<Vec<u64>, StoreError> {
    connection.execute_batch("SAVEPOINT write").map_err(map_error)?;
    let outcome = run(connection, statements);
    let end = if outcome.is_ok() { "RELEASE write" } else { "ROLLBACK TO write; RELEASE write" };
    connection.execute_batch(end).map_err(map_error)?;
    outcome
}

fn run(connection: &Connection, statements: &[Statement]) -> Result<Vec<u64>, StoreError> {
    let mut changed = Vec::with_capacity(statements.len());
    for (index, statement) in statements.iter().enumerate() {
        let mut prepared = connection.prepare_cached(&statement.sql).map_err(map_error)?;
        let count = prepared.execute(params_from_iter(statement.params.iter().map(Borrowed))).map_err(map_error)?;
        if count == 0 && statement.must_change {
            return Err(StoreError::Unmet(index));
        }
        changed.push(u64::try_from(count).unwrap_or(u64::MAX));
    }
    Ok(changed)
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
