//! Homeport's storage: one interface over SQLite (the embedded default) and PostgreSQL.
//!
//! The interface is deliberately small: parameterized SQL with `?` placeholders, run as a
//! read ([`Store::query`]), a single write ([`Store::execute`]) or several writes in one
//! transaction ([`Store::transaction`]). Domain code writes its SQL once, in the common
//! subset of both dialects, and the same statements run on either backend, so the backends
//! cannot be told apart (one conformance suite runs against both).
//!
//! Guarantees:
//! - a write that returned `Ok` is durable ([`Durability::PowerLoss`] by default: SQLite runs
//!   in WAL mode with `synchronous=FULL`, PostgreSQL commits before answering);
//! - a transaction is all or nothing;
//! - a unique-key violation is [`StoreError::Conflict`] on both backends, so "create if
//!   absent" is one atomic statement rather than a read and a write;
//! - writes are serializable: a statement that counts and inserts ("at most two access
//!   keys"), or a transaction whose guard counts what it wrote, holds its quota exactly under
//!   any concurrency (SQLite has one writer; PostgreSQL runs every write `SERIALIZABLE` and
//!   runs it again when it aborts one for contention). Reads see one committed snapshot each;
//!   a read followed by a separate write is not atomic (put the check in the write);
//! - migrations run once, in order, each in its own transaction.

mod migrate;
mod postgres;
pub mod seal;
mod sqlite;
mod value;

use std::sync::Arc;

pub use migrate::Migration;
pub use value::{Row, Value};

/// Why a storage operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// A unique or primary key constraint refused the write.
    Conflict,
    /// The database could not be reached or refused the operation; the message says why.
    Unavailable(String),
    /// The statement or its parameters are wrong (a bug in the caller).
    Invalid(String),
    /// A transaction's guard statement (the one at this index) changed no row, so the whole
    /// transaction was rolled back.
    Unmet(usize),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict => f.write_str("the record already exists"),
            StoreError::Unavailable(message) => write!(f, "the store is unavailable: {message}"),
            StoreError::Invalid(message) => write!(f, "invalid statement: {message}"),
            StoreError::Unmet(index) => write!(f, "statement {index} of the transaction changed no row"),
        }
    }
}

impl std::error::Error for StoreError {}

/// One SQL statement with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Value>,
    /// Set for a guard: a transaction fails with [`StoreError::Unmet`] if it changes no row.
    pub must_change: bool,
}

impl Statement {
    pub fn new(sql: impl Into<String>, params: Vec<Value>) -> Statement {
        Statement { sql: sql.into(), params, must_change: false }
    }

    /// A statement the transaction depends on: when it changes no row (its `WHERE` found
    /// the precondition unmet), everything is rolled back and the transaction returns
    /// [`StoreError::Unmet`] with its index. "Check, then write" becomes one atomic step.
    pub fn guard(sql: impl Into<String>, params: Vec<Value>) -> Statement {
        Statement { sql: sql.into(), params, must_change: true }
    }
}

/// What an acknowledged write survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// The machine losing power: every commit is synced to disk before it returns.
    #[default]
    PowerLoss,
    /// The Homeport process dying (`kill -9`), not the machine: commits reach the operating
    /// system (SQLite WAL with `synchronous=NORMAL`; PostgreSQL `synchronous_commit=off`,
    /// whose server keeps them across our crash) without waiting for the disk. For
    /// high-volume records such as the audit trail.
    ProcessCrash,
}

/// The SQL dialect of a backend, for the few places DDL differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A handle to the store; cheap to clone and shared by every request.
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
}

enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.dialect())
    }
}

impl Store {
    /// Opens a store: `postgres://...` (or `postgresql://...`) for PostgreSQL, otherwise a
    /// SQLite database file path (an optional `sqlite://` prefix is accepted).
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, Durability::PowerLoss).await
    }

    /// Opens a store whose writes have the given durability.
    pub async fn open_with(url: &str, durability: Durability) -> Result<Store, StoreError> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(postgres::Postgres::connect(url, durability).await?)
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            Backend::Sqlite(sqlite::Sqlite::open(path, durability).await?)
        };
        Ok(Store { backend: Arc::new(backend) })
    }

    pub fn dialect(&self) -> Dialect {
        match *self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a read and returns its rows.
    pub async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.query(sql, params).await,
            Backend::Postgres(db) => db.query(sql, params).await,
        }
    }

    /// Runs one write (atomic on its own) and returns how many rows it changed.
    pub async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.execute(sql, params).await,
            Backend::Postgres(db) => db.execute(sql, params).await,
        }
    }

    /// Runs several writes in one transaction: all of them take effect or none does. Returns
    /// how many rows each changed, or [`StoreError::Unmet`] when a guard changed none.
    pub async fn transaction(&self, statements: Vec<Statement>) -> Result<Vec<u64>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.transaction(statements).await,
            Backend::Postgres(db) => db.transaction(statements).await,
        }
    }

    /// [`Store::transaction`] for writes whose guards decide whether they apply: `true` when
    /// every statement ran, `false` when a guard changed no row (and nothing was written).
    pub async fn guarded(&self, statements: Vec<Statement>) -> Result<bool, StoreError> {
        match self.transaction(statements).await {
            Ok(_) => Ok(true),
            Err(StoreError::Unmet(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Applies the migrations not applied yet, in order.
    pub async fn migrate(&self, migrations: &[Migration]) -> Result<(), StoreError> {
        migrate::run(self, migrations, &[]).await
    }

    /// As [`Store::migrate`], with `{NAME}` in the migrations' SQL replaced by its value
    /// (letters, digits, `-` and `_` only, or the migration is refused): what a migration
    /// needs of the deployment, such as the region rows that existed before belong to.
    pub async fn migrate_with(&self, migrations: &[Migration], values: &[(&str, &str)]) -> Result<(), StoreError> {
        migrate::run(self, migrations, values).await
    }
}
