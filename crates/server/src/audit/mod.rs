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

/// One audited request. Its journal line uses short member names and leaves out empty ones:
/// the bytes written per request are most of what recording costs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Record {
    #[serde(rename = "t")]
    pub time: i64,
    #[serde(rename = "id")]
    pub request_id: String,
    #[serde(rename = "a")]
    pub account_id: String,
    #[serde(rename = "p", skip_serializing_if = "String::is_empty")]
    pub principal_arn: String,
    /// The user name, or `root`, as CloudTrail's `Username`.
    #[serde(rename = "u", skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(rename = "k", skip_serializing_if = "String::is_empty")]
    pub access_key_id: String,
    #[serde(rename = "ip", skip_serializing_if = "String::is_empty")]
    pub source_ip: String,
    #[serde(rename = "ua", skip_serializing_if = "String::is_empty")]
    pub user_agent: String,
    /// `iam.amazonaws.com`, as CloudTrail names event sources.
    #[serde(rename = "src")]
    pub event_source: String,
    /// The SigV4 service and region the request was signed for (the key's last use).
    #[serde(rename = "s", skip_serializing_if = "String::is_empty")]
    pub service: String,
    #[serde(rename = "r", skip_serializing_if = "String::is_empty")]
    pub region: String,
    #[serde(rename = "e")]
    pub event_name: String,
    #[serde(rename = "res", skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(rename = "d")]
    pub decision: String,
    #[serde(rename = "st", skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<String>,
    #[serde(rename = "err", skip_serializing_if = "Option::is_none")]
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
        let mut line = Vec::with_capacity(512);
        serde_json::to_writer(&mut line, &record).map_err(|error| StoreError::Unavailable(error.to_string()))?;
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
