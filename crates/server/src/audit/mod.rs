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
//!   before serving, whatever an earlier run left in its journals is imported. With the
//!   embedded store the journal is kept as the trail and rows index it (synced to disk
//!   before the row commits); with PostgreSQL rows hold the lines, for every replica to read.
//! - Readers of the trail (LookupEvents, GetAccessKeyLastUsed, access advisor's reports) call
//!   [`AuditLog::sync`] first, so they see every request this replica answered before them.
//!   Other replicas' records arrive within their own import interval.
//! - A full disk (the journal refused a write for want of space) turns the server read-only
//!   rather than dead: from the first such failure [`AuditLog::refuses_changes`] holds until a
//!   probe write of [`PROBE_BYTES`] succeeds again (tried at most once a second), the pipeline
//!   refuses every operation that changes state or issues credentials before it runs, and
//!   read-only requests are still answered, with their record if it can be written and
//!   without it (logged) if not.
//!   `/health` never writes.
//!
//! Why a journal: committing each request to the database before answering, even grouped,
//! made requests wait for the commit and cost a third of the throughput; an append to a file
//! costs microseconds, and one row per 100 ms costs the database little. Why batches: a
//! write(2) per request was still most of what recording cost, a third of it the two runtime
//! threads waiting on the file's locks in the kernel.

mod import;
mod journal;
mod line;
mod usage;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use serde::Deserialize;
use store::{Row, Store, StoreError, Value};
use tokio::sync::{mpsc, oneshot};

pub use line::decode;
pub use usage::HOUR as USAGE_HOUR;

use import::Importer;
use journal::Journal;

/// One audited request, borrowing what the request already holds. The journal line is written
/// by [`line::encode`]; these serde names read it back.
#[derive(Debug, Default, PartialEq, Eq, Deserialize)]
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
    /// `iam.amazonaws.com`, as CloudTrail names event sources. Writers leave it empty when it
    /// is the service's (`SERVICE.amazonaws.com`, always so today); [`decode`] fills it in.
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
    /// The principal's unique id: the user's, the role's for its sessions, the account id for
    /// root; empty when the request was not made by an IAM principal (an instance's
    /// registration). What access advisor and policy generation bind usage to.
    #[serde(rename = "pid", borrow)]
    pub principal_id: Cow<'a, str>,
    /// The action the policy engine decided on `resources` with `decision`; empty when the
    /// engine decided nothing (an operation every caller may call, a request refused before).
    #[serde(rename = "act", borrow)]
    pub action: Cow<'a, str>,
    /// The other decisions the engine made while the operation ran (`iam:PassRole`).
    #[serde(rename = "az")]
    pub checks: Vec<Check>,
}

/// A decision the policy engine made while an operation ran, beyond the operation's own
/// action: `iam:PassRole` on a role, with the service it was passed to. A line holds it as
/// `[decision, action, resource, passed_to]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "(String, String, String, String)")]
pub struct Check {
    /// `allowed`, `explicitDeny` or `implicitDeny`, as [`Record::decision`].
    pub decision: String,
    pub action: String,
    pub resource: String,
    /// `iam:PassedToService`, for `iam:PassRole`; empty otherwise.
    pub passed_to: String,
}

impl From<(String, String, String, String)> for Check {
    fn from((decision, action, resource, passed_to): (String, String, String, String)) -> Check {
        Check { decision, action, resource, passed_to }
    }
}

type Waiter = oneshot::Sender<Result<(), StoreError>>;

/// The columns of `audit_chunks` that [`AuditLog::chunk_text`] reads, in its order.
pub const CHUNK_COLUMNS: &str = "events, in_journal, replica, segment, start_offset, end_offset";

/// Appends records to the journal and asks the importer to catch up.
#[derive(Debug, Clone)]
pub struct AuditLog {
    journal: Arc<Journal>,
    sync: mpsc::Sender<Waiter>,
    /// Where the journal is, and its replica name in `audit_chunks`.
    dir: Arc<Path>,
    replica: Arc<str>,
    /// Only in builds with the `bench-audit-switch` feature, when the environment asks:
    /// requests are answered without a record, to measure what recording costs.
    unaudited: bool,
    /// The disk was full at the last write (see the module guarantees), and when it was last
    /// probed (seconds since the epoch).
    full: Arc<DiskFull>,
}

/// How much free space a probe asks for before changes are accepted again.
pub const PROBE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Default)]
struct DiskFull {
    full: AtomicBool,
    probed_at: AtomicI64,
}

/// Whether a write failed for want of space (a short write to a file means the same).
fn is_disk_full(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded | std::io::ErrorKind::WriteZero
    )
}

impl AuditLog {
    /// Opens this data directory's journal, imports what an earlier run left in it, and starts
    /// the importer on the current runtime.
    pub async fn open(data_dir: &Path, store: Store) -> Result<AuditLog, String> {
        let dir: Arc<Path> = data_dir.join("audit").into();
        let (importer, journal) = Importer::recover(&dir, store).await?;
        let replica = importer.replica().into();
        let journal = Arc::new(journal);
        let (sync, requests) = mpsc::channel(1_024);
        tokio::spawn(importer.run(Arc::clone(&journal), requests));
        let unaudited = cfg!(feature = "bench-audit-switch") && std::env::var_os("HOMEPORT_BENCH_UNAUDITED").is_some();
        Ok(AuditLog { journal, sync, dir, replica, unaudited, full: Arc::default() })
    }

    /// Whether changes are refused because the disk is full. While it is, a probe (a file of
    /// [`PROBE_BYTES`] written and removed) runs at most once a second; its success ends it.
    pub fn refuses_changes(&self) -> bool {
        if !self.full.full.load(Ordering::Relaxed) {
            return false;
        }
        let now = crate::ids::now();
        if self.full.probed_at.swap(now, Ordering::Relaxed) == now {
            return true;
        }
        let probe = self.dir.join(".space-probe");
        let written =
            std::fs::write(&probe, vec![0_u8; PROBE_BYTES]).and_then(|()| std::fs::File::open(&probe)?.sync_all());
        let _ = std::fs::remove_file(&probe);
        if written.is_ok() {
            tracing::info!("the audit journal's disk has room again: changes are accepted");
            self.full.full.store(false, Ordering::Relaxed);
        }
        written.is_err()
    }

    fn note_outcome(&self, outcome: &std::io::Result<()>) {
        match outcome {
            Err(error) if is_disk_full(error) && !self.full.full.swap(true, Ordering::Relaxed) => {
                tracing::error!(
                    "the audit journal cannot be written ({error}): the disk is full; changes are refused, reads still answered"
                );
            }
            Ok(()) if self.full.full.load(Ordering::Relaxed) => self.full.full.store(false, Ordering::Relaxed),
            _ => {}
        }
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
        let outcome = self.journal.flush(ticket);
        self.note_outcome(&outcome);
        outcome.map_err(failed)
    }

    /// A chunk's lines, from its row: selected with [`CHUNK_COLUMNS`], which start at column
    /// `at`. A row that indexes this replica's journal (`in_journal`) is read from there.
    pub async fn chunk_text(&self, row: Row, at: usize) -> Result<String, StoreError> {
        let int = |offset| row.int(at + offset);
        if int(1)? == 0 {
            // Move the text out of the row: it may be megabytes.
            return match row.0.into_iter().nth(at) {
                Some(Value::Text(text)) => Ok(text),
                _ => Err(StoreError::Unavailable("an audit chunk without text".to_owned())),
            };
        }
        let replica = row.text(at + 2)?;
        if replica != *self.replica {
            return Err(StoreError::Unavailable(format!(
                "the audit trail indexes the journal of replica {replica}, not this data directory's"
            )));
        }
        let offset = |value: i64| u64::try_from(value).unwrap_or_default();
        let (segment, start, end) = (offset(int(3)?), offset(int(4)?), offset(int(5)?));
        let dir = Arc::clone(&self.dir);
        let bytes = tokio::task::spawn_blocking(move || journal::read_range(&dir, segment, start, end))
            .await
            .map_err(|error| StoreError::Unavailable(error.to_string()))?
            .map_err(|error| StoreError::Unavailable(format!("cannot read the audit journal: {error}")))?;
        String::from_utf8(bytes).map_err(|error| StoreError::Unavailable(error.to_string()))
    }

    /// Returns once every record written before the call is in the store.
    pub async fn sync(&self) -> Result<(), StoreError> {
        let stopped = || StoreError::Unavailable("the audit importer has stopped".to_owned());
        let (done, imported) = oneshot::channel();
        self.sync.send(done).await.map_err(|_| stopped())?;
        imported.await.map_err(|_| stopped())?
    }
}

/// A recorded event's `readOnly`, as CloudTrail classifies it by name. The trail holds events
/// outside the operation table too (the registry's pushes and pulls, the instance protocol,
/// records written by earlier versions), so LookupEvents answers from the name; what a request
/// may do on a full disk and whether it empties the IAM cache come from its operation's
/// declared `Effect` instead, which a test keeps in agreement with this for every operation.
pub fn read_only_event(event_name: &str) -> bool {
    ["Get", "List", "Describe", "Lookup", "Simulate", "Validate", "Check"]
        .iter()
        .any(|verb| event_name.starts_with(verb))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal on `/dev/full` fails every write as a full disk does: changes are refused from
    /// then on, until a probe finds room (the test's directory has it).
    #[tokio::test]
    async fn a_full_disk_refuses_changes_until_there_is_room_again() {
        let dir = std::env::temp_dir().join(format!("homeport-audit-full-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let device = std::fs::OpenOptions::new().append(true).open("/dev/full").unwrap();
        let (sync, _requests) = mpsc::channel(1);
        let audit = AuditLog {
            journal: Arc::new(Journal::on_file(&dir, device)),
            sync,
            dir: dir.as_path().into(),
            replica: "test".into(),
            unaudited: false,
            full: Arc::default(),
        };
        assert!(!audit.refuses_changes());
        let record = Record { time: 1, request_id: "r".into(), ..Record::default() };
        assert!(audit.record(record).await.is_err());
        assert!(audit.full.full.load(Ordering::Relaxed));
        // A probe this second already ran or runs now; either way the next second's finds room.
        audit.full.probed_at.store(0, Ordering::Relaxed);
        assert!(!audit.refuses_changes(), "the probe finds room and ends the read-only state");
        assert!(!dir.join(".space-probe").exists());
        audit.full.full.store(true, Ordering::Relaxed);
        audit.full.probed_at.store(crate::ids::now(), Ordering::Relaxed);
        assert!(audit.refuses_changes(), "at most one probe a second");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn short_writes_and_quota_count_as_a_full_disk() {
        for kind in [std::io::ErrorKind::StorageFull, std::io::ErrorKind::QuotaExceeded, std::io::ErrorKind::WriteZero]
        {
            assert!(is_disk_full(&std::io::Error::from(kind)));
        }
        assert!(!is_disk_full(&std::io::Error::from(std::io::ErrorKind::PermissionDenied)));
    }
}
