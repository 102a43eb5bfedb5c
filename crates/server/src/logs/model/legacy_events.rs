//! Events stored before migration 31, one row each in `log_events`, moved into batch rows of
//! `log_batches` when the server starts, before it takes a request.
//!
//! Guarantees: every legacy event is moved exactly once, with its stream, timestamp, ingestion
//! time and message; events keep their order (timestamp, then arrival): a batch is a run of
//! events consecutive in arrival of one stream, with one ingestion time, in timestamp order,
//! spanning at most 24 hours, so batches in arrival order and their events in place are the
//! legacy rows in `seq` order. Each run of [`CHUNK`] rows moves in one transaction that
//! deletes exactly the rows it stored; a replica converting the same rows at the same time
//! finds them gone and its transaction changes nothing.

use store::{Statement, Store, StoreError, Value};

use crate::logs::model::ModelError;
use crate::regions::Scope;

/// The most legacy rows one transaction moves.
const CHUNK: i64 = 10_000;
const DAY_MS: i64 = 86_400_000;

struct Row {
    account: String,
    region: String,
    group: String,
    stream: String,
    timestamp: i64,
    ingestion_time: i64,
    message: String,
}

impl Row {
    /// Whether `next` may join the batch that starts at `self` and ends at `last`.
    fn continues(&self, last: &Row, next: &Row) -> bool {
        (next.account == self.account)
            && next.region == self.region
            && next.group == self.group
            && next.stream == self.stream
            && next.ingestion_time == self.ingestion_time
            && next.timestamp >= last.timestamp
            && next.timestamp.saturating_sub(self.timestamp) <= DAY_MS
    }
}

/// Moves every legacy event into batches; returns how many it moved.
pub async fn convert(store: &Store) -> Result<u64, ModelError> {
    let mut moved = 0_u64;
    loop {
        let rows = store
            .query(
                "SELECT seq, account_id, region, group_name, stream_name, event_time, ingestion_time, message
                 FROM log_events ORDER BY seq LIMIT ?",
                vec![Value::Int(CHUNK)],
            )
            .await?;
        let Some(last) = rows.last() else { return Ok(moved) };
        let last_seq = last.int(0)?;
        let rows = rows
            .iter()
            .map(|row| {
                Ok(Row {
                    account: row.text(1)?,
                    region: row.text(2)?,
                    group: row.text(3)?,
                    stream: row.text(4)?,
                    timestamp: row.int(5)?,
                    ingestion_time: row.int(6)?,
                    message: row.text(7)?,
                })
            })
            .collect::<Result<Vec<Row>, StoreError>>()?;
        // The guard first: when another replica moved these rows, nothing else runs.
        let mut statements =
            vec![Statement::guard("DELETE FROM log_events WHERE seq <= ?", vec![Value::Int(last_seq)])];
        let mut start = 0;
        while let Some(first) = rows.get(start) {
            let mut end = start + 1;
            while let (Some(previous), Some(next)) = (rows.get(end - 1), rows.get(end)) {
                if !first.continues(previous, next) {
                    break;
                }
                end += 1;
            }
            let run = rows.get(start..end).unwrap_or_default();
            let events: Vec<(i64, &str)> = run.iter().map(|row| (row.timestamp, row.message.as_str())).collect();
            let scope = Scope { account: &first.account, region: &first.region };
            statements.extend(super::event::batch_statements(
                scope,
                &first.group,
                &first.stream,
                &events,
                first.ingestion_time,
            ));
            start = end;
        }
        match store.transaction(statements).await {
            Ok(_) => moved += u64::try_from(rows.len()).unwrap_or(0),
            // Another replica moved them first.
            Err(StoreError::Unmet(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
}
