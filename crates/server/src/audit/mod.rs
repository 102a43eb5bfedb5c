//! The audit trail: every authenticated request leaves a durable record before its answer
//! leaves the server.
//!
//! Guarantees:
//! - A record is appended to this replica's journal (`DATA_DIR/audit/journal-N.jsonl`, one
//!   JSON line each) with one write(2) before the request is answered. From then on it is the
//!   operating system's: it survives the Homeport process dying (`kill -9`) as commits made
//!   with [`store::Durability::ProcessCrash`] do. A record that cannot be written fails its
//!   request: nothing is answered unaudited.
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
//! costs microseconds, and one row per 100 ms costs the database almost nothing.

mod import;
mod journal;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use store::{Store, StoreError};
use tokio::sync::{mpsc, oneshot};

use import::Importer;
use journal::Journal;

/// One audited request, as its journal line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub time: i64,
    pub request_id: String,
    pub account_id: String,
    pub principal_arn: String,
    /// The user name, or `root`, as CloudTrail's `Username`.
    pub username: String,
    pub access_key_id: String,
    pub source_ip: String,
    pub user_agent: String,
    /// `iam.amazonaws.com`, as CloudTrail names event sources.
    pub event_source: String,
    /// The SigV4 service and region the request was signed for (the key's last use).
    pub service: String,
    pub region: String,
    pub event_name: String,
    pub resources: Vec<String>,
    pub decision: String,
    pub statements: Vec<String>,
    pub error_code: Option<String>,
}

type Waiter = oneshot::Sender<Result<(), StoreError>>;

/// Appends records to the journal and asks the importer to catch up.
#[derive(Debug, Clone)]
pub struct AuditLog {
    journal: Arc<Journal>,
    sync: mpsc::Sender<Waiter>,
}

impl AuditLog {
    /// Opens this data directory's journal, imports what an earlier run left in it, and starts
    /// the importer on the current runtime.
    pub async fn open(data_dir: &Path, store: Store) -> Result<AuditLog, String> {
        let (importer, journal) = Importer::recover(&data_dir.join("audit"), store).await?;
        let journal = Arc::new(journal);
        let (sync, requests) = mpsc::channel(1_024);
        tokio::spawn(importer.run(Arc::clone(&journal), requests));
        Ok(AuditLog { journal, sync })
    }

    /// Records a request durably (see the module guarantees); returns once it is written.
    pub async fn record(&self, record: Record) -> Result<(), StoreError> {
        if cfg!(feature = "bench-unaudited") {
            return Ok(());
        }
        let mut line = serde_json::to_vec(&record).map_err(|error| StoreError::Unavailable(error.to_string()))?;
        line.push(b'\n');
        self.journal
            .append(&line)
            .map_err(|error| StoreError::Unavailable(format!("cannot write the audit journal: {error}")))
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
