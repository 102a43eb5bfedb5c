//! The importer: journal ranges into `audit_chunks` rows.
//!
//! A chunk row holds complete journal lines and is keyed by the range it came from
//! (`replica`, `segment`, `start_offset`): importing a range twice is a unique-key conflict,
//! taken as "already there", so a crash between commit and bookkeeping never duplicates.
//! Each chunk's commit also records the access keys' last use (GetAccessKeyLastUsed) and what
//! its requests were authorized for (`iam_usage`, see `usage`).
//!
//! With PostgreSQL (shared by replicas) a row holds its lines, and a segment is deleted once
//! wholly imported. With the embedded store the segments are kept and are the trail: a row
//! only indexes its range (`in_journal`), committed after the range is synced to disk, so
//! the lines are written once rather than three times (journal, WAL, database).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use store::{Dialect, Statement, Store, StoreError, Value};
use tokio::sync::mpsc;

use super::journal::{self, Journal};
use super::line::{self, Head};
use super::{Record, Waiter};

/// How often the journal is imported without being asked.
const INTERVAL: Duration = Duration::from_millis(100);

/// A segment this long is rotated once imported.
const ROTATE_AT: u64 = 16 * 1024 * 1024;

/// The most journal text one chunk row holds.
const CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// Legacy rows (`audit_events`, before the journal) converted per chunk.
const LEGACY_BATCH: i64 = 1_000;

pub struct Importer {
    store: Store,
    /// This data directory's name in `audit_chunks` (several replicas may share a store).
    replica: String,
    dir: PathBuf,
    /// The segment being imported and how far.
    imported: (u64, u64),
    /// Rows index ranges of kept segments instead of holding their lines (embedded store).
    keeps_journal: bool,
}

/// A start-up failure in `dir`, for the operator.
fn failed(what: &str, dir: &Path, error: impl std::fmt::Display) -> String {
    format!("{what} {}: {error}", dir.display())
}

fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

impl Importer {
    /// Imports what earlier runs left in `dir` (and any pre-journal rows), then starts a new
    /// segment for this run.
    pub async fn recover(dir: &Path, store: Store) -> Result<(Importer, Journal), String> {
        crate::data_dir::create_private_dir(dir)
            .map_err(|e| failed("cannot create the audit journal directory", dir, e))?;
        let replica = replica_id(dir).map_err(|e| failed("cannot read the replica id in", dir, e))?;
        let keeps_journal = store.dialect() == Dialect::Sqlite;
        let mut importer = Importer { store, replica, dir: dir.to_path_buf(), imported: (0, 0), keeps_journal };
        importer.convert_legacy().await.map_err(|e| format!("cannot convert the audit trail: {e}"))?;
        let left = journal::segments(dir).map_err(|e| failed("cannot list the audit journal in", dir, e))?;
        let last_imported = importer.last_segment().await.map_err(|e| format!("cannot read the audit trail: {e}"))?;
        for &number in &left {
            // Segments are imported in order, each wholly before the next: those below the
            // last one with rows are done, so a start reads only what a run may have left.
            if number >= last_imported {
                let from = importer.committed(number).await.map_err(|e| format!("cannot read the audit trail: {e}"))?;
                importer.import(number, from).await.map_err(|e| format!("cannot import the audit journal: {e}"))?;
            }
            importer.finished(number).map_err(|e| failed("cannot remove an imported journal in", dir, e))?;
        }
        let next = left.last().copied().unwrap_or(0).max(last_imported) + 1;
        let journal = Journal::create(dir, next).map_err(|e| failed("cannot create the audit journal in", dir, e))?;
        importer.imported = (next, 0);
        Ok((importer, journal))
    }

    /// Imports every [`INTERVAL`], and at once when asked; answers each request with the
    /// outcome of the import that followed it.
    pub async fn run(mut self, journal: Arc<Journal>, mut requests: mpsc::Receiver<Waiter>) {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut waiters = Vec::new();
        let mut failing = false;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                received = requests.recv_many(&mut waiters, 1_024) => if received == 0 { return },
            }
            let result = self.catch_up(&journal).await;
            match (&result, failing) {
                (Err(error), false) => tracing::warn!("audit import failing (will retry): {error}"),
                (Ok(()), true) => tracing::info!("audit import recovered"),
                _ => {}
            }
            failing = result.is_err();
            for waiter in waiters.drain(..) {
                let _ = waiter.send(result.clone());
            }
        }
    }

    /// Imports everything appended so far, finishing and deleting rotated segments.
    async fn catch_up(&mut self, journal: &Journal) -> Result<(), StoreError> {
        loop {
            let current = journal.current().map_err(unavailable)?;
            let (segment, from) = self.imported;
            self.imported.1 = self.import(segment, from).await?;
            if segment < current {
                // Rotated: every append to it has returned, and all of it is imported now.
                self.finished(segment).map_err(unavailable)?;
                self.imported = (segment + 1, 0);
                continue;
            }
            if self.imported.1 < ROTATE_AT {
                return Ok(());
            }
            journal.rotate().map_err(unavailable)?;
        }
    }

    /// This replica's name in `audit_chunks`.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Deletes a wholly imported segment, unless it is the trail itself.
    fn finished(&self, segment: u64) -> std::io::Result<()> {
        if self.keeps_journal {
            return Ok(());
        }
        std::fs::remove_file(journal::segment_path(&self.dir, segment))
    }

    /// Imports the complete lines of `segment` from byte `from` on; returns where it stopped.
    async fn import(&self, segment: u64, from: u64) -> Result<u64, StoreError> {
        let dir = self.dir.clone();
        let keeps_journal = self.keeps_journal;
        let lines = tokio::task::spawn_blocking(move || {
            let lines = journal::read_lines(&dir, segment, from)?;
            if keeps_journal && !lines.is_empty() {
                // The rows about to index these lines must not outlive them in a power loss.
                journal::sync(&dir, segment)?;
            }
            Ok::<_, std::io::Error>(lines)
        })
        .await
        .map_err(unavailable)?
        .map_err(unavailable)?;
        let mut offset = from;
        for piece in pieces(&lines, CHUNK_BYTES) {
            let text = std::str::from_utf8(piece).map_err(unavailable)?;
            let end = offset + piece.len() as u64;
            self.commit(segment, offset, end, text).await?;
            offset = end;
        }
        Ok(offset)
    }

    /// One chunk and the last use of its keys, in one transaction.
    async fn commit(&self, segment: u64, start: u64, end: u64, text: &str) -> Result<(), StoreError> {
        let heads: Vec<Head<'_>> = text.lines().filter_map(Head::read).collect();
        let first = heads.iter().map(|head| head.time).min().unwrap_or_default();
        let last = heads.iter().map(|head| head.time).max().unwrap_or_default();
        let held = if self.keeps_journal { Held::InJournal } else { Held::InRow(text) };
        let mut statements = vec![chunk(&self.replica, segment, start, end, (first, last), held)];
        statements.extend(last_used(&heads));
        statements.extend(super::usage::statements(text));
        match self.store.transaction(statements).await {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// How far segment `number` of this replica was imported.
    async fn committed(&self, number: u64) -> Result<u64, StoreError> {
        let rows = self
            .store
            .query(
                "SELECT MAX(end_offset) FROM audit_chunks WHERE replica = ? AND segment = ?",
                vec![self.replica.as_str().into(), to_value(number)],
            )
            .await?;
        Ok(rows.first().map(|row| row.opt_int(0)).transpose()?.flatten().map_or(0, |end| end.max(0) as u64))
    }

    /// The highest segment number this replica imported from (0 if none).
    async fn last_segment(&self) -> Result<u64, StoreError> {
        let rows = self
            .store
            .query("SELECT MAX(segment) FROM audit_chunks WHERE replica = ?", vec![self.replica.as_str().into()])
            .await?;
        Ok(rows.first().map(|row| row.opt_int(0)).transpose()?.flatten().map_or(0, |last| last.max(0) as u64))
    }

    /// Moves rows written before the journal existed into chunks (replica `legacy`).
    async fn convert_legacy(&self) -> Result<(), StoreError> {
        loop {
            let rows = self
                .store
                .query(
                    "SELECT seq, event_time, request_id, account_id, principal_arn, username, access_key_id, source_ip,
                            user_agent, event_source, event_name, resources, decision, statements, error_code
                     FROM audit_events ORDER BY seq LIMIT ?",
                    vec![Value::Int(LEGACY_BATCH)],
                )
                .await?;
            let (Some(first), Some(last)) = (rows.first(), rows.last()) else { return Ok(()) };
            let (first_seq, last_seq) = (first.int(0)?, last.int(0)?);
            let mut text = Vec::new();
            let (mut earliest, mut latest) = (i64::MAX, i64::MIN);
            for row in &rows {
                let field = |index| row.opt_text(index).map(Option::unwrap_or_default).map(Cow::Owned);
                let record = Record {
                    time: row.int(1)?,
                    request_id: field(2)?,
                    account_id: field(3)?,
                    principal_arn: field(4)?,
                    username: field(5)?,
                    access_key_id: field(6)?,
                    source_ip: field(7)?,
                    user_agent: field(8)?,
                    event_source: field(9)?,
                    service: Cow::Borrowed(""),
                    region: Cow::Borrowed(""),
                    event_name: field(10)?,
                    resources: serde_json::from_str(&field(11)?).unwrap_or_default(),
                    decision: field(12)?,
                    statements: serde_json::from_str(&field(13)?).unwrap_or_default(),
                    error_code: row.opt_text(14)?.map(Cow::Owned),
                    ..Record::default()
                };
                (earliest, latest) = (earliest.min(record.time), latest.max(record.time));
                line::encode(&record, &mut text);
            }
            let text = String::from_utf8(text).map_err(unavailable)?;
            let range = (u64::try_from(first_seq).unwrap_or(0), u64::try_from(last_seq).unwrap_or(0) + 1);
            self.store
                .transaction(vec![
                    chunk("legacy", 0, range.0, range.1, (earliest, latest), Held::InRow(&text)),
                    Statement::new("DELETE FROM audit_events WHERE seq <= ?", vec![Value::Int(last_seq)]),
                ])
                .await?;
        }
    }
}

fn to_value(number: u64) -> Value {
    Value::Int(i64::try_from(number).unwrap_or(i64::MAX))
}

/// Where a chunk's lines are kept.
enum Held<'a> {
    InRow(&'a str),
    InJournal,
}

/// The INSERT of one chunk.
fn chunk(replica: &str, segment: u64, start: u64, end: u64, (first, last): (i64, i64), held: Held<'_>) -> Statement {
    let (text, in_journal) = match held {
        Held::InRow(text) => (text, 0),
        Held::InJournal => ("", 1),
    };
    Statement::new(
        "INSERT INTO audit_chunks (replica, segment, start_offset, end_offset, first_time, last_time, events, in_journal)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            replica.into(),
            to_value(segment),
            to_value(start),
            to_value(end),
            Value::Int(first),
            Value::Int(last),
            text.into(),
            Value::Int(in_journal),
        ],
    )
}

/// Each key's most recent use among `heads`, one update per key.
fn last_used<'a>(heads: &'a [Head<'a>]) -> Vec<Statement> {
    let mut latest: Vec<&Head<'_>> = Vec::new();
    for head in heads.iter().filter(|head| !head.access_key_id.is_empty()) {
        match latest.iter_mut().find(|seen| seen.access_key_id == head.access_key_id) {
            Some(seen) if seen.time <= head.time => *seen = head,
            Some(_) => {}
            None => latest.push(head),
        }
    }
    latest
        .into_iter()
        .map(|head| {
            Statement::new(
                "UPDATE access_keys SET last_used_at = ?, last_used_service = ?, last_used_region = ? WHERE access_key_id = ?",
                vec![
                    Value::Int(head.time),
                    head.service.as_ref().into(),
                    head.region.as_ref().into(),
                    head.access_key_id.as_ref().into(),
                ],
            )
        })
        .collect()
}

/// `lines` cut at line ends into pieces of at most `limit` bytes (a longer line is a piece).
fn pieces(lines: &[u8], limit: usize) -> impl Iterator<Item = &[u8]> {
    let mut rest = lines;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let cut = if rest.len() <= limit {
            rest.len()
        } else {
            let within = rest.get(..limit).and_then(|window| window.iter().rposition(|byte| *byte == b'\n'));
            let first = || rest.iter().position(|byte| *byte == b'\n').unwrap_or(rest.len() - 1);
            within.unwrap_or_else(first) + 1
        };
        let (piece, tail) = rest.split_at(cut);
        rest = tail;
        Some(piece)
    })
}

/// This data directory's replica id, made on first use.
fn replica_id(dir: &Path) -> std::io::Result<String> {
    let path = dir.join("replica");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_owned()),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let id = crate::ids::uuid().map_err(std::io::Error::other)?;
    std::fs::write(&path, format!("{id}\n"))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cut_at_line_ends_within_the_limit() {
        let lines = b"aaa\nbb\ncccccc\nd\n";
        let cut: Vec<&[u8]> = pieces(lines, 8).collect();
        assert_eq!(cut, vec![&b"aaa\nbb\n"[..], &b"cccccc\n"[..], &b"d\n"[..]]);
        let long: Vec<&[u8]> = pieces(b"0123456789\nab\n", 4).collect();
        assert_eq!(long, vec![&b"0123456789\n"[..], &b"ab\n"[..]]);
        assert_eq!(pieces(b"", 4).count(), 0);
    }

    #[test]
    fn the_latest_use_of_each_key_is_kept() {
        let text = "{\"t\":5,\"k\":\"A\",\"s\":\"iam\",\"r\":\"r\"}\n\
                    {\"t\":7,\"k\":\"A\",\"s\":\"sts\",\"r\":\"r\"}\n\
                    {\"t\":6,\"k\":\"B\",\"s\":\"ecs\",\"r\":\"r\"}\n\
                    {\"t\":6,\"s\":\"ssm\",\"r\":\"r\"}";
        let heads: Vec<Head<'_>> = text.lines().map(|line| Head::read(line).unwrap()).collect();
        let updates = last_used(&heads);
        assert_eq!(updates.len(), 2);
    }

    fn line(request_id: &str, time: i64) -> Vec<u8> {
        let record = Record {
            time,
            request_id: request_id.into(),
            account_id: "111122223333".into(),
            event_source: "sts.amazonaws.com".into(),
            service: "sts".into(),
            region: "us-east-1".into(),
            event_name: "GetCallerIdentity".into(),
            decision: "allowed".into(),
            ..Record::default()
        };
        let mut out = Vec::new();
        line::encode(&record, &mut out);
        out
    }

    /// The request ids in the trail, oldest first: from the rows, or from the kept journal
    /// the rows index.
    async fn imported(store: &Store, dir: &Path) -> Vec<String> {
        let rows = store
            .query(
                "SELECT events, in_journal, segment, start_offset, end_offset FROM audit_chunks ORDER BY seq",
                vec![],
            )
            .await
            .unwrap();
        let mut ids = Vec::new();
        for row in rows {
            let text = match row.int(1).unwrap() {
                0 => row.text(0).unwrap(),
                _ => {
                    let [segment, start, end] = [2, 3, 4].map(|column| row.int(column).unwrap() as u64);
                    String::from_utf8(journal::read_range(dir, segment, start, end).unwrap()).unwrap()
                }
            };
            for text in text.lines() {
                ids.push(serde_json::from_str::<Record<'_>>(text).unwrap().request_id.into_owned());
            }
        }
        ids
    }

    /// What a crashed run left (a half-imported segment, a whole one, pre-journal rows) is
    /// imported once at the next start, and the new run writes a segment of its own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_start_imports_what_earlier_runs_left_exactly_once() {
        let root = std::env::temp_dir().join(format!("homeport-audit-recover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let store = Store::open(root.join("db").to_str().unwrap()).await.unwrap();
        crate::schema::migrate(&store, "us-east-1").await.unwrap();
        store
            .execute(
                "INSERT INTO audit_events (event_time, request_id, account_id, event_source, event_name, read_only, resources, decision, statements)
                 VALUES (1, 'legacy', '111122223333', 'iam.amazonaws.com', 'ListUsers', 1, '[]', 'allowed', '[]')",
                vec![],
            )
            .await
            .unwrap();
        let dir = root.join("audit");
        let (importer, journal) = Importer::recover(&dir, store.clone()).await.unwrap();
        assert_eq!(journal.current().unwrap(), 1);
        journal.append(&line("a", 2)).unwrap();
        journal.append(&line("b", 3)).unwrap();
        let mut importer = importer;
        importer.catch_up(&journal).await.unwrap();
        journal.append(&line("c", 4)).unwrap();
        journal.rotate().unwrap();
        journal.append(&line("d", 5)).unwrap();
        // The process dies here: "c" and "d" are only in the journal.
        drop((importer, journal));
        let (_, journal) = Importer::recover(&dir, store.clone()).await.unwrap();
        assert_eq!(imported(&store, &dir).await, ["legacy", "a", "b", "c", "d"]);
        assert_eq!(journal.current().unwrap(), 3, "a new run starts a new segment");
        assert_eq!(
            journal::segments(&dir).unwrap(),
            vec![1, 2, 3],
            "the embedded store keeps the journal as the trail"
        );
        let left = store.query("SELECT COUNT(*) FROM audit_events", vec![]).await.unwrap();
        assert_eq!(left[0].int(0).unwrap(), 0);
        drop(journal);
        Importer::recover(&dir, store.clone()).await.unwrap();
        assert_eq!(imported(&store, &dir).await.len(), 5, "nothing is imported twice");
        // A start reads only from the last segment with rows on: earlier ones are done (a
        // line that appeared in one since would be somebody else's doing, and is not read).
        let mut old = std::fs::OpenOptions::new().append(true).open(journal::segment_path(&dir, 1)).unwrap();
        std::io::Write::write_all(&mut old, &line("late", 6)).unwrap();
        Importer::recover(&dir, store.clone()).await.unwrap();
        assert_eq!(imported(&store, &dir).await.len(), 5, "segments below the last imported are not read again");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
