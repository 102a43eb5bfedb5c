//! The audit trail: every authenticated request leaves a durable record before its answer
//! leaves the server.
//!
//! Guarantees:
//! - A record is written to this replica's journal (`DATA_DIR/audit/journal-N.jsonl`, one
//!   JSON line each) before the request is answered. From then on it is the operating
//!   system's: it survives the Homeport process dying (`kill -9`) as commits made with
//!   [`store::Durability::ProcessCrash`] do. A record that cannot be written fails its
//!   request: nothing is answered unaudited.
//! - Records are written in batches: a request adds its line to its runtime thread's batch,
//!   yields once so the thread's other ready requests add theirs, and then the first of them
//!   to resume writes the batch with one write(2) for all.
//! - The importer moves the journal into the store (`audit_chunks`) every 100 ms, many records
//!   per row, each row committed together with the journal range it holds and the access
//!   keys' last use; a range is never imported twice (the range is the row's key). At start,
//!   before serving, whatever an earlier run left in its journals is imported.
//! - Readers of the trail (LookupEvents, GetAccessKeyLastUsed) call [`AuditLog::sync`] first,
//!   so they see every request this replica answered before them. Other replicas' records
//!   arrive within their own import interval.
//!
//! Why a journal: committing each request to the database before answering, even grouped,
//! made requests wait for the commit and cost a third of the throughput; an append to a file
//! costs microseconds, and one row per 100 ms costs the database little. Why batches: a
//! write(2) per request was still most of what recording cost, half of it the two runtime
//! threads waiting on the file's locks in the kernel.

mod import;
mod journal;
mod line;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use store::{Store, StoreError};
use tokio::sync::{mpsc, oneshot};

pub use line::decode;

use import::Importer;
use journal::Journal;

/// One audited request, borrowing what the request already holds. The journal line is written
/// by [`line::encode`]; these serde names read it back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Record<'a> {
    #[serde(rename = "t")]
    pub time: i64,
    #[serde(rename = "id", borrow)]
    pub request_id: Cow<'a, str>,
    #[serde(rename = "a", borrow)]
    pub account_id: Cow<'a, str>,
    #[serde(rename = "p", borrow)]
    pub principal_arn: Cow<'a, str>,
    /// The user name, or `root`, as CloudTrail's `Username`.
    #[serde(rename = "u", borrow)]
    pub username: Cow<'a, str>,
    #[serde(rename = "k", borrow)]
    pub access_key_id: Cow<'a, str>,
    #[serde(rename = "ip", borrow)]
    pub source_ip: Cow<'a, str>,
    #[serde(rename = "ua", borrow)]
    pub user_agent: Cow<'a, str>,
    /// `iam.amazonaws.com`, as CloudTrail names event sources.
    #[serde(rename = "src", borrow)]
    pub event_source: Cow<'a, str>,
    /// The SigV4 service and region the request was signed for (the key's last use).
    #[serde(rename = "s", borrow)]
    pub service: Cow<'a, str>,
    #[serde(rename = "r", borrow)]
    pub region: Cow<'a, str>,
    #[serde(rename = "e", borrow)]
    pub event_name: Cow<'a, str>,
    #[serde(rename = "res")]
    pub resources: Vec<String>,
    #[serde(rename = "d", borrow)]
    pub decision: Cow<'a, str>,
    #[serde(rename = "st")]
    pub statements: Vec<String>,
    #[serde(rename = "err", borrow)]
    pub error_code: Option<Cow<'a, str>>,
}

type Waiter = oneshot::Sender<Result<(), StoreError>>;

/// Appends records to the journal and asks the importer to catch up.
#[derive(Debug, Clone)]
pub struct AuditLog {
    journal: Arc<Journal>,
    sync: mpsc::Sender<Waiter>,
    /// Only in builds with the `bench-audit-switch` feature, when the environment asks:
    /// requests are answered without a record, to measure what recording costs.
    unaudited: bool,
}

impl AuditLog {
    /// Opens this data directory's journal, imports what an earlier run left in it, and starts
    /// the importer on the current runtime.
    pub async fn open(data_dir: &Path, store: Store) -> Result<AuditLog, String> {
        let (importer, journal) = Importer::recover(&data_dir.join("audit"), store).await?;
        let journal = Arc::new(journal);
        let (sync, requests) = mpsc::channel(1_024);
        tokio::spawn(importer.run(Arc::clone(&journal), requests));
        let unaudited = cfg!(feature = "bench-audit-switch") && std::env::var_os("HOMEPORT_BENCH_UNAUDITED").is_some();
        Ok(AuditLog { journal, sync, unaudited })
    }

    /// Whether requests are answered without a record (see `unaudited`).
    pub fn is_off(&self) -> bool {
        self.unaudited
    }

    /// Records a request durably (see the module guarantees); returns once it is written.
    pub async fn record(&self, record: Record<'_>) -> Result<(), StoreError> {
        if self.unaudited {
            // The same scheduling as recording, so the benchmark measures only its work.
            tokio::task::yield_now().await;
            return Ok(());
        }
        let failed = |error| StoreError::Unavailable(format!("cannot write the audit journal: {error}"));
        let ticket = self.journal.enqueue(|batch| line::encode(&record, batch)).map_err(failed)?;
        // The other requests this thread has ready join the batch meanwhile.
        tokio::task::yield_now().await;
        self.journal.flush(ticket).map_err(failed)
    }

    /// Returns once every record written before the call is in the store.
    pub async fn sync(&self) -> Result<(), StoreError> {
        let stopped = || StoreError::Unavailable("the audit importer has stopped".to_owned());
        let (done, imported) = oneshot::channel();
        self.sync.send(done).await.map_err(|_| stopped())?;
        imported.await.map_err(|_| stopped())?
    }
}

/// Whether an operation only reads, as CloudTrail's `ReadOnly` classifies it.
pub fn is_read_only(event_name: &str) -> bool {
    ["Get", "List", "Describe", "Lookup", "Simulate"].iter().any(|verb| event_name.starts_with(verb))
}
