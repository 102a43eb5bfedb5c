//! The audit trail: every authenticated request leaves a durable record before its answer
//! leaves the server.
//!
//! Records go through one writer task that commits whatever has queued up in a single
//! transaction (group commit), then releases every request of that batch: each record is on
//! disk before its response is sent, and one sync serves many concurrent requests.

use store::{Statement, Store, Value};
use tokio::sync::{mpsc, oneshot};

/// One audited request.
#[derive(Debug, Clone)]
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

/// Hands records to the writer task.
#[derive(Debug, Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<(Record, oneshot::Sender<Result<(), store::StoreError>>)>,
}

/// Records committed together at most.
const BATCH: usize = 512;

/// Rows per INSERT statement, largest first: one statement with many rows costs far less than
/// many statements, and a few fixed sizes keep the statements in the backends' caches (15
/// parameters a row stays well under both backends' parameter limits).
const ROWS_PER_INSERT: [usize; 3] = [64, 8, 1];

/// The fixed statement sizes a batch of `len` records is split into, largest first.
fn chunk_sizes(len: usize) -> impl Iterator<Item = usize> {
    let mut rest = len;
    std::iter::from_fn(move || {
        let size = ROWS_PER_INSERT.into_iter().find(|size| *size <= rest)?;
        rest -= size;
        Some(size)
    })
}

impl AuditLog {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Store) -> AuditLog {
        let (queue, mut incoming) = mpsc::channel::<(Record, oneshot::Sender<Result<(), store::StoreError>>)>(8_192);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while incoming.recv_many(&mut batch, BATCH).await > 0 {
                let (mut records, waiters): (Vec<Record>, Vec<_>) = batch.drain(..).unzip();
                let updates = last_used(&records);
                let mut statements = Vec::with_capacity(updates.len() + 8);
                for size in chunk_sizes(records.len()) {
                    let rest = records.split_off(size);
                    statements.push(insert(std::mem::replace(&mut records, rest)));
                }
                statements.extend(updates);
                let result = store.transaction(statements).await.map(|_| ());
                for done in waiters {
                    let _ = done.send(result.clone());
                }
            }
        });
        AuditLog { queue }
    }

    /// Records a request durably; returns once the record is committed.
    pub async fn record(&self, record: Record) -> Result<(), store::StoreError> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send((record, done))
            .await
            .map_err(|_| store::StoreError::Unavailable("the audit writer has stopped".to_owned()))?;
        committed.await.map_err(|_| store::StoreError::Unavailable("the audit writer has stopped".to_owned()))?
    }
}

/// Whether an operation only reads, as CloudTrail's `ReadOnly` classifies it.
pub fn is_read_only(event_name: &str) -> bool {
    ["Get", "List", "Describe", "Lookup", "Simulate"].iter().any(|verb| event_name.starts_with(verb))
}

/// Records each key's most recent use in the batch (GetAccessKeyLastUsed), one update per key.
fn last_used(records: &[Record]) -> Vec<Statement> {
    let mut latest: Vec<&Record> = Vec::new();
    for record in records {
        match latest.iter_mut().find(|seen| seen.access_key_id == record.access_key_id) {
            Some(seen) => *seen = record,
            None => latest.push(record),
        }
    }
    latest
        .into_iter()
        .map(|record| {
            Statement::new(
                "UPDATE access_keys SET last_used_at = ?, last_used_service = ?, last_used_region = ? WHERE access_key_id = ?",
                vec![
                    Value::Int(record.time),
                    record.service.as_str().into(),
                    record.region.as_str().into(),
                    record.access_key_id.as_str().into(),
                ],
            )
        })
        .collect()
}

/// One INSERT of `records`, moving their text into the parameters.
fn insert(records: Vec<Record>) -> Statement {
    let mut sql = String::from(
        "INSERT INTO audit_events (event_time, request_id, account_id, principal_arn, username, access_key_id, source_ip, user_agent, event_source, event_name, read_only, resources, decision, statements, error_code) VALUES ",
    );
    let mut params = Vec::new();
    for (index, record) in records.into_iter().enumerate() {
        if index > 0 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        let read_only = is_read_only(&record.event_name);
        params.extend([
            Value::Int(record.time),
            record.request_id.into(),
            record.account_id.into(),
            record.principal_arn.into(),
            record.username.into(),
            record.access_key_id.into(),
            record.source_ip.into(),
            record.user_agent.into(),
            record.event_source.into(),
            record.event_name.into(),
            Value::from(read_only),
            serde_json::to_string(&record.resources).unwrap_or_default().into(),
            record.decision.into(),
            serde_json::to_string(&record.statements).unwrap_or_default().into(),
            Value::from(record.error_code),
        ]);
    }
    Statement::new(sql, params)
}
