//! The log-event model: events in a stream, in one order (timestamp, then arrival `seq`),
//! and the SQL of `log_batches`: appending a batch, reading a page of a stream or of a group
//! from a [`Position`], and the retention pass.
//!
//! Storage: one row per appended batch (per stream), keyed by its `seq`, with its first and
//! last timestamps and its events encoded together ([`batch`]); an event's `seq` is its
//! batch's `seq` and its place in the batch ([`batch::event_seq`]), so it grows with arrival.
//! A read asks for the batches that may hold the events it wants, by range scans of
//! `log_batches_by_stream` or `log_batches_by_group` on the first timestamp, bounded below by
//! the group's `batch_span` (the widest any of its batches spans), and merges their events in
//! order.
//!
//! Guarantees: a batch is stored, and its stream's first and last event times, last ingestion
//! and stored bytes moved, in one transaction; a page read from a position holds only events
//! strictly after it (forward) or before it (backward) in that order, so pages never skip or
//! repeat; no read answers an event older than its group's retention, and [`expire`] deletes
//! exactly the batches whose every event is.

use crate::regions::Scope;
use store::{Statement, Store, Value};

use crate::logs::model::{ModelError, batch};

/// A position in the events' order: `(timestamp, seq)`.
pub type Position = (i64, i64);

/// Which way a page reads from its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// Its arrival order (unique).
    pub seq: i64,
    pub stream: String,
    /// Epoch milliseconds, as every time here.
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub message: String,
}

impl LogEvent {
    pub fn position(&self) -> Position {
        (self.timestamp, self.seq)
    }
}

/// Where a batch would go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    NoGroup,
    NoStream,
    /// The stream exists; its group keeps events this many days (or forever).
    Stream {
        retention_days: Option<i64>,
    },
}

/// Whether `stream` of `group` exists, and its group's retention.
pub async fn destination(
    store: &Store,
    scope: Scope<'_>,
    group: &str,
    stream: &str,
) -> Result<Destination, ModelError> {
    let rows = store
        .query(
            "SELECT g.retention_days, s.name FROM log_groups g
             LEFT JOIN log_streams s ON s.account_id = g.account_id AND s.region = g.region AND s.group_name = g.name AND s.name = ?
             WHERE g.account_id = ? AND g.region = ? AND g.name = ?",
            vec![stream.into(), scope.account.into(), scope.region.into(), group.into()],
        )
        .await?;
    let Some(row) = rows.first() else { return Ok(Destination::NoGroup) };
    if row.opt_text(1)?.is_none() {
        return Ok(Destination::NoStream);
    }
    Ok(Destination::Stream { retention_days: row.opt_int(0)? })
}

/// The most events one PutLogEvents call stores, so the most one batch row holds (the model
/// splits a longer append, as the legacy conversion does).
const MAX_BATCH_EVENTS: usize = 10_000;
const DAY_MS: i64 = 86_400_000;
/// Times are clamped to this range before they reach SQL, so bounds computed from them
/// (a window's start less a group's batch span) never overflow.
const TIME_LIMIT: i64 = 1 << 60;

/// Stores `events` (`(timestamp, message)`) in a stream as one batch row, ingested at
/// `now_ms`, and moves the stream's times and stored bytes, in one transaction. Events are
/// stored in timestamp order (arrival order among equal timestamps), as PutLogEvents takes
/// them.
pub async fn append(
    store: &Store,
    scope: Scope<'_>,
    group: &str,
    stream: &str,
    events: &[(i64, &str)],
    now_ms: i64,
) -> Result<(), ModelError> {
    let mut sorted = events.to_vec();
    sorted.sort_by_key(|(timestamp, _)| *timestamp);
    let mut statements = Vec::with_capacity(3);
    for part in sorted.chunks(MAX_BATCH_EVENTS) {
        statements.extend(batch_statements(scope, group, stream, part, now_ms));
    }
    if let (Some((first, _)), Some((last, _))) = (sorted.first(), sorted.last()) {
        let stored: usize = events.iter().map(|(_, m)| m.len()).sum();
        statements.push(Statement::new(
            "UPDATE log_streams SET first_event_at = CASE WHEN first_event_at IS NULL OR first_event_at > ? THEN ? ELSE first_event_at END,
                    last_event_at = CASE WHEN last_event_at IS NULL OR last_event_at < ? THEN ? ELSE last_event_at END,
                    last_ingestion_at = ?, stored_bytes = stored_bytes + ?
             WHERE account_id = ? AND region = ? AND group_name = ? AND name = ?",
            vec![
                Value::Int(*first),
                Value::Int(*first),
                Value::Int(*last),
                Value::Int(*last),
                Value::Int(now_ms),
                Value::Int(i64::try_from(stored).unwrap_or(i64::MAX)),
                scope.account.into(), scope.region.into(),
                group.into(),
                stream.into(),
            ],
        ));
    }
    if statements.is_empty() {
        return Ok(());
    }
    store.transaction(statements).await?;
    Ok(())
}

/// The INSERT of one batch (`events` sorted, at most [`MAX_BATCH_EVENTS`]) and the widening
/// of its group's batch span when the batch is wider; none for no events.
pub(super) fn batch_statements(
    scope: Scope<'_>,
    group: &str,
    stream: &str,
    events: &[(i64, &str)],
    ingested: i64,
) -> Vec<Statement> {
    let (Some((first, _)), Some((last, _))) = (events.first(), events.last()) else { return Vec::new() };
    let span = last.saturating_sub(*first);
    let mut statements = vec![Statement::new(
        "INSERT INTO log_batches (account_id, region, group_name, stream_name, first_time, last_time, ingestion_time, event_count, events)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            scope.account.into(),
            scope.region.into(),
            group.into(),
            stream.into(),
            Value::Int(*first),
            Value::Int(*last),
            Value::Int(ingested),
            Value::Int(i64::try_from(events.len()).unwrap_or(i64::MAX)),
            Value::Blob(batch::encode(events)),
        ],
    )];
    if span > 0 {
        statements.push(widen_span(scope, group, span));
    }
    statements
}

/// Widens a group's batch span to `span` if it is narrower (a write only when it is).
fn widen_span(scope: Scope<'_>, group: &str, span: i64) -> Statement {
    Statement::new(
        "UPDATE log_groups SET batch_span = ? WHERE account_id = ? AND region = ? AND name = ? AND batch_span < ?",
        vec![Value::Int(span), scope.account.into(), scope.region.into(), group.into(), Value::Int(span)],
    )
}

/// What a read of a group's events needs of the group: the oldest timestamp its retention
/// keeps at `now_ms`, and the widest span (last less first timestamp) of any of its batches.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    kept_from: i64,
    span: i64,
}

async fn bounds(store: &Store, scope: Scope<'_>, group: &str) -> Result<Option<Bounds>, ModelError> {
    let rows = store
        .query(
            "SELECT retention_days, batch_span FROM log_groups WHERE account_id = ? AND region = ? AND name = ?",
            vec![scope.account.into(), scope.region.into(), group.into()],
        )
        .await?;
    let Some(row) = rows.first() else { return Ok(None) };
    Ok(Some(bounds_of(row.opt_int(0)?, row.int(1)?)))
}

/// The bounds of a group that keeps events `retention_days` (or forever) and whose widest
/// batch spans `batch_span`.
fn bounds_of(retention_days: Option<i64>, batch_span: i64) -> Bounds {
    let now_ms = crate::ids::now().saturating_mul(1000);
    // The retention pass deletes what is older than `now - days`; a read never answers it
    // either, though its batch may still be kept for its younger events.
    let kept_from = retention_days.map_or(-TIME_LIMIT, |days| now_ms.saturating_sub(days.saturating_mul(DAY_MS)));
    Bounds { kept_from: clamp(kept_from), span: batch_span.max(0) }
}

fn clamp(time: i64) -> i64 {
    time.clamp(-TIME_LIMIT, TIME_LIMIT)
}

/// One read of batches, merged into event order: events of `stream` (or of every stream of
/// the group) with a timestamp in `lo..=hi`, strictly after (forward) or before (backward)
/// `from`, the `limit` nearest to it.
struct Merge<'a> {
    scope: Scope<'a>,
    group: &'a str,
    stream: Option<&'a str>,
    lo: i64,
    hi: i64,
    from: Position,
    direction: Direction,
    limit: usize,
}

/// A batch read from the store.
struct Batch {
    seq: i64,
    stream: String,
    ingestion_time: i64,
    events: Vec<u8>,
}

/// An event of a read's batches: its position, and where its message is.
#[derive(Clone, Copy)]
struct Candidate {
    position: Position,
    batch: usize,
    slot: batch::Slot,
}

/// How many batches the first query of a read asks for; each next asks for twice as many, up
/// to [`MAX_BATCHES_PER_QUERY`].
const FIRST_BATCHES: i64 = 4;
const MAX_BATCHES_PER_QUERY: i64 = 256;

fn corrupt() -> ModelError {
    ModelError::from(store::StoreError::Invalid("a log batch that cannot be decoded".to_owned()))
}

/// Takes column `index` of a row without copying it.
fn take(row: &mut store::Row, index: usize) -> Value {
    row.0.get_mut(index).map_or(Value::Null, |value| std::mem::replace(value, Value::Null))
}

impl Merge<'_> {
    /// The events, oldest first.
    async fn read(&self, store: &Store) -> Result<Vec<LogEvent>, ModelError> {
        let Some(bounds) = bounds(store, self.scope, self.group).await? else { return Ok(Vec::new()) };
        self.read_within(store, bounds).await
    }

    /// [`Merge::read`] with the group's bounds already read.
    async fn read_within(&self, store: &Store, bounds: Bounds) -> Result<Vec<LogEvent>, ModelError> {
        let forward = self.direction == Direction::Forward;
        let lo = clamp(self.lo).max(bounds.kept_from);
        let hi = clamp(self.hi);
        // The timestamps an answer may hold: from the position on (forward) or up to it.
        let (lo, hi) = if forward { (lo.max(clamp(self.from.0)), hi) } else { (lo, hi.min(clamp(self.from.0))) };
        if lo > hi || self.limit == 0 {
            return Ok(Vec::new());
        }
        // A batch holds events from its first time to at most `span` after it: one with an
        // event at `lo` or later starts no earlier than `lo - span`.
        let earliest_start = lo.saturating_sub(bounds.span);
        let stream_clause = if self.stream.is_some() { "AND stream_name = ?" } else { "" };
        let (keyset, order) = if forward {
            ("first_time >= ? AND (first_time > ? OR seq > ?)", "first_time, seq")
        } else {
            ("first_time <= ? AND (first_time < ? OR seq < ?)", "first_time DESC, seq DESC")
        };
        let sql = format!(
            "SELECT seq, stream_name, first_time, ingestion_time, events FROM log_batches
             WHERE account_id = ? AND region = ? AND group_name = ? {stream_clause}
               AND first_time >= ? AND first_time <= ? AND last_time >= ? AND {keyset}
             ORDER BY {order} LIMIT ?"
        );
        let mut cursor = if forward { (earliest_start, -1) } else { (hi, i64::MAX) };
        let mut batches: Vec<Batch> = Vec::new();
        let mut found: Vec<Candidate> = Vec::new();
        let mut wanted = FIRST_BATCHES;
        loop {
            let mut params: Vec<Value> = vec![self.scope.account.into(), self.scope.region.into(), self.group.into()];
            if let Some(stream) = self.stream {
                params.push(stream.into());
            }
            params.extend([
                Value::Int(earliest_start),
                Value::Int(hi),
                Value::Int(lo),
                Value::Int(cursor.0),
                Value::Int(cursor.0),
                Value::Int(cursor.1),
                Value::Int(wanted),
            ]);
            let rows = store.query(&sql, params).await?;
            let complete = i64::try_from(rows.len()).map_or(true, |n| n < wanted);
            for mut row in rows {
                let seq = row.int(0)?;
                let first_time = row.int(2)?;
                cursor = (first_time, seq);
                let batch = Batch {
                    seq,
                    stream: match take(&mut row, 1) {
                        Value::Text(text) => text,
                        _ => return Err(corrupt()),
                    },
                    ingestion_time: row.int(3)?,
                    events: match take(&mut row, 4) {
                        Value::Blob(bytes) => bytes,
                        _ => return Err(corrupt()),
                    },
                };
                let index = batches.len();
                for slot in batch::decode(&batch.events) {
                    let slot = slot.map_err(|_| corrupt())?;
                    let position = (slot.timestamp, batch::event_seq(batch.seq, slot.index));
                    let wanted = slot.timestamp >= lo
                        && slot.timestamp <= hi
                        && if forward { position > self.from } else { position < self.from };
                    if wanted {
                        found.push(Candidate { position, batch: index, slot });
                    }
                }
                batches.push(batch);
            }
            if found.len() >= self.limit {
                // Keep the nearest `limit`; a later batch can only matter if it may hold an
                // event nearer than the farthest kept.
                if forward {
                    found.sort_unstable_by_key(|c| c.position);
                } else {
                    found.sort_unstable_by_key(|c| std::cmp::Reverse(c.position));
                }
                found.truncate(self.limit);
                let farthest = found.last().map_or(0, |c| c.position.0);
                let done = if forward { cursor.0 > farthest } else { cursor.0.saturating_add(bounds.span) < farthest };
                if done {
                    break;
                }
            }
            if complete {
                break;
            }
            wanted = (wanted * 2).min(MAX_BATCHES_PER_QUERY);
        }
        // What is left is the nearest `limit` (or fewer): in order, oldest first.
        found.sort_unstable_by_key(|c| c.position);
        found
            .into_iter()
            .map(|candidate| {
                let batch = batches.get(candidate.batch).ok_or_else(corrupt)?;
                let message = batch::message(&batch.events, candidate.slot).map_err(|_| corrupt())?;
                Ok(LogEvent {
                    seq: candidate.position.1,
                    stream: batch.stream.clone(),
                    timestamp: candidate.position.0,
                    ingestion_time: batch.ingestion_time,
                    message: message.to_owned(),
                })
            })
            .collect()
    }
}

/// Which events of a stream a read wants: up to `limit` with a timestamp in `window` (start
/// inclusive, end exclusive), the nearest to `from` in `direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub window: (i64, i64),
    pub direction: Direction,
    pub from: Position,
    pub limit: i64,
}

/// A count of events as a read's limit (a negative one is none).
fn as_limit(limit: i64) -> usize {
    usize::try_from(limit.max(0)).unwrap_or(usize::MAX)
}

/// The events of a stream a [`Page`] wants, in order (oldest first); what
/// [`of_existing_stream`] reads once it knows the stream exists (the model's tests read
/// through it).
#[cfg(test)]
pub async fn of_stream(
    store: &Store,
    scope: Scope<'_>,
    group: &str,
    stream: &str,
    page: Page,
) -> Result<Vec<LogEvent>, ModelError> {
    let Page { window, direction, from, limit } = page;
    Merge {
        scope,
        group,
        stream: Some(stream),
        lo: window.0,
        hi: window.1.saturating_sub(1),
        from,
        direction,
        limit: as_limit(limit),
    }
    .read(store)
    .await
}

/// What a read of a stream found: no such group, no such stream in it, or the events.
#[derive(Debug)]
pub enum StreamEvents {
    NoGroup,
    NoStream,
    Events(Vec<LogEvent>),
}

/// [`of_stream`], for a stream that must exist (GetLogEvents): whether the group and the
/// stream exist and the group's bounds are one statement, the events a second.
pub async fn of_existing_stream(
    store: &Store,
    scope: Scope<'_>,
    group: &str,
    stream: &str,
    page: Page,
) -> Result<StreamEvents, ModelError> {
    let rows = store
        .query(
            "SELECT g.retention_days, g.batch_span, s.name FROM log_groups g
             LEFT JOIN log_streams s ON s.account_id = g.account_id AND s.region = g.region AND s.group_name = g.name AND s.name = ?
             WHERE g.account_id = ? AND g.region = ? AND g.name = ?",
            vec![stream.into(), scope.account.into(), scope.region.into(), group.into()],
        )
        .await?;
    let Some(row) = rows.first() else { return Ok(StreamEvents::NoGroup) };
    if row.opt_text(2)?.is_none() {
        return Ok(StreamEvents::NoStream);
    }
    let bounds = bounds_of(row.opt_int(0)?, row.int(1)?);
    let Page { window, direction, from, limit } = page;
    let merge = Merge {
        scope,
        group,
        stream: Some(stream),
        lo: window.0,
        hi: window.1.saturating_sub(1),
        from,
        direction,
        limit: as_limit(limit),
    };
    Ok(StreamEvents::Events(merge.read_within(store, bounds).await?))
}

/// The next `page` events of a whole group after `after`, with a timestamp in `window` (start
/// inclusive, end exclusive), in order.
pub async fn of_group_after(
    store: &Store,
    scope: Scope<'_>,
    group: &str,
    window: (i64, i64),
    after: Position,
    page: i64,
) -> Result<Vec<LogEvent>, ModelError> {
    Merge {
        scope,
        group,
        stream: None,
        lo: window.0,
        hi: window.1.saturating_sub(1),
        from: after,
        direction: Direction::Forward,
        limit: as_limit(page),
    }
    .read(store)
    .await
}

/// The next `page` events of a group after `after` (or from the start) with a timestamp in
/// `window` (both ends inclusive), in order: batches read by a range scan of
/// `log_batches_by_group` from the later of the window's start and the position (less the
/// group's batch span), so reading a group page by page is linear.
pub async fn scan_group(
    store: &Store,
    scope: Scope<'_>,
    group: &str,
    window: (i64, i64),
    after: Option<Position>,
    page: i64,
) -> Result<Vec<LogEvent>, ModelError> {
    Merge {
        scope,
        group,
        stream: None,
        lo: window.0,
        hi: window.1,
        from: after.unwrap_or((i64::MIN, i64::MIN)),
        direction: Direction::Forward,
        limit: as_limit(page),
    }
    .read(store)
    .await
}

/// One event of a group by its `seq`, unless its group's retention no longer keeps it.
pub async fn by_seq(store: &Store, scope: Scope<'_>, group: &str, seq: i64) -> Result<Option<LogEvent>, ModelError> {
    let Some(bounds) = bounds(store, scope, group).await? else { return Ok(None) };
    let (batch_seq, index) = batch::locate(seq);
    let rows = store
        .query(
            "SELECT stream_name, ingestion_time, events FROM log_batches
             WHERE seq = ? AND account_id = ? AND region = ? AND group_name = ?",
            vec![Value::Int(batch_seq), scope.account.into(), scope.region.into(), group.into()],
        )
        .await?;
    let Some(row) = rows.first() else { return Ok(None) };
    let events = row.blob(2)?;
    let Some(slot) = batch::decode(&events).nth(index) else { return Ok(None) };
    let slot = slot.map_err(|_| corrupt())?;
    if slot.timestamp < bounds.kept_from {
        return Ok(None);
    }
    Ok(Some(LogEvent {
        seq,
        stream: row.text(0)?,
        timestamp: slot.timestamp,
        ingestion_time: row.int(1)?,
        message: batch::message(&events, slot).map_err(|_| corrupt())?.to_owned(),
    }))
}

/// The `seq` of the latest batch stored (0 when none is): what arrives later has a greater one.
pub async fn latest_batch(store: &Store) -> Result<i64, ModelError> {
    let rows = store.query("SELECT MAX(seq) FROM log_batches", vec![]).await?;
    Ok(rows.first().map(|row| row.opt_int(0)).transpose()?.flatten().unwrap_or(0))
}

/// The batches of `groups` whose `seq` is greater than `after`, in `seq` order, the first
/// `limit`: their `seq` and event count only (a range scan of the key, so of what arrived
/// since, whichever its groups).
pub async fn arrived_after(
    store: &Store,
    scope: Scope<'_>,
    groups: &[String],
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, i64)>, ModelError> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; groups.len()].join(", ");
    let mut params = vec![Value::Int(after), scope.account.into(), scope.region.into()];
    params.extend(groups.iter().map(|group| Value::from(group.as_str())));
    params.push(Value::Int(limit));
    let rows = store
        .query(
            &format!(
                "SELECT seq, event_count FROM log_batches
                 WHERE seq > ? AND account_id = ? AND region = ? AND group_name IN ({marks})
                 ORDER BY seq LIMIT ?"
            ),
            params,
        )
        .await?;
    rows.iter().map(|row| Ok((row.int(0)?, row.int(1)?))).collect()
}

/// An event as it arrived, with its group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrived {
    pub group: String,
    pub event: LogEvent,
}

/// The events of the batches `seqs` (of the scope), in `seq` order and in each batch's order.
pub async fn of_batches(store: &Store, scope: Scope<'_>, seqs: &[i64]) -> Result<Vec<Arrived>, ModelError> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; seqs.len()].join(", ");
    let mut params = vec![scope.account.into(), scope.region.into()];
    params.extend(seqs.iter().map(|seq| Value::Int(*seq)));
    let mut rows = store
        .query(
            &format!(
                "SELECT seq, group_name, stream_name, ingestion_time, events FROM log_batches
                 WHERE account_id = ? AND region = ? AND seq IN ({marks}) ORDER BY seq"
            ),
            params,
        )
        .await?;
    let mut arrived = Vec::new();
    for row in &mut rows {
        let seq = row.int(0)?;
        let group = row.text(1)?;
        let stream = row.text(2)?;
        let ingestion_time = row.int(3)?;
        let Value::Blob(events) = take(row, 4) else { return Err(corrupt()) };
        for slot in batch::decode(&events) {
            let slot = slot.map_err(|_| corrupt())?;
            arrived.push(Arrived {
                group: group.clone(),
                event: LogEvent {
                    seq: batch::event_seq(seq, slot.index),
                    stream: stream.clone(),
                    timestamp: slot.timestamp,
                    ingestion_time,
                    message: batch::message(&events, slot).map_err(|_| corrupt())?.to_owned(),
                },
            });
        }
    }
    Ok(arrived)
}

/// Deletes, in every account, the batches whose every event is older than their group's
/// retention at `now_ms` (a batch with a younger event stays, and reads skip its older ones).
pub async fn expire(store: &Store, now_ms: i64) -> Result<(), ModelError> {
    store
        .execute(
            "DELETE FROM log_batches WHERE EXISTS (SELECT 1 FROM log_groups g WHERE g.account_id = log_batches.account_id AND g.region = log_batches.region
               AND g.name = log_batches.group_name AND g.retention_days IS NOT NULL
               AND log_batches.last_time < ? - g.retention_days * 86400000)",
            vec![Value::Int(now_ms)],
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::logs::model::group::{self, Retention};
    use crate::logs::model::stream;
    use crate::testing::{SCOPE, temp_store};

    const DAY_MS: i64 = 86_400_000;
    const ALL: (i64, i64) = (i64::MIN, i64::MAX);

    async fn web_stream(store: &Store, names: &[&str]) {
        group::create(store, SCOPE, &group::NewGroup::plain("/web", 1)).await.unwrap();
        for name in names {
            stream::create(store, SCOPE, "/web", name, 1).await.unwrap();
        }
    }

    async fn read(
        store: &Store,
        window: (i64, i64),
        direction: Direction,
        from: Position,
        limit: i64,
    ) -> Vec<LogEvent> {
        of_stream(store, SCOPE, "/web", "a", Page { window, direction, from, limit }).await.unwrap()
    }

    fn messages(events: &[LogEvent]) -> Vec<&str> {
        events.iter().map(|e| e.message.as_str()).collect()
    }

    #[tokio::test]
    async fn a_destination_is_a_stream_of_a_group_with_its_retention() {
        let temp = temp_store().await;
        let store = &temp.store;
        assert_eq!(destination(store, SCOPE, "/web", "a").await.unwrap(), Destination::NoGroup);
        web_stream(store, &["a"]).await;
        assert_eq!(destination(store, SCOPE, "/web", "b").await.unwrap(), Destination::NoStream);
        let open = Destination::Stream { retention_days: None };
        assert_eq!(destination(store, SCOPE, "/web", "a").await.unwrap(), open);
        group::set_retention(store, SCOPE, "/web", Retention::of_days(3)).await.unwrap();
        let kept = Destination::Stream { retention_days: Some(3) };
        assert_eq!(destination(store, SCOPE, "/web", "a").await.unwrap(), kept);
    }

    #[tokio::test]
    async fn pages_from_a_position_neither_skip_nor_repeat_in_either_direction() {
        let temp = temp_store().await;
        let store = &temp.store;
        web_stream(store, &["a", "b"]).await;
        // Two events share a timestamp: arrival orders them.
        append(store, SCOPE, "/web", "a", &[(100, "one"), (200, "two"), (200, "three"), (300, "four")], 400)
            .await
            .unwrap();
        append(store, SCOPE, "/web", "b", &[(150, "other")], 400).await.unwrap();

        let start = (i64::MIN, i64::MIN);
        let first = read(store, ALL, Direction::Forward, start, 2).await;
        assert_eq!(messages(&first), ["one", "two"]);
        let last = first.last().unwrap().position();
        let rest = read(store, ALL, Direction::Forward, last, 10).await;
        assert_eq!(messages(&rest), ["three", "four"]);
        let end = (i64::MAX, i64::MAX);
        let tail = read(store, ALL, Direction::Backward, end, 3).await;
        assert_eq!(messages(&tail), ["two", "three", "four"], "the newest, oldest first");
        let before = read(store, ALL, Direction::Backward, tail[0].position(), 3).await;
        assert_eq!(messages(&before), ["one"]);
        let window = read(store, (200, 300), Direction::Forward, start, 10).await;
        assert_eq!(messages(&window), ["two", "three"], "start inclusive, end exclusive");

        let group_page = of_group_after(store, SCOPE, "/web", ALL, start, 3).await.unwrap();
        assert_eq!(messages(&group_page), ["one", "other", "two"], "the group's streams interleave by time");
        let next = of_group_after(store, SCOPE, "/web", ALL, group_page[2].position(), 3).await.unwrap();
        assert_eq!(messages(&next), ["three", "four"]);
        let scanned = scan_group(store, SCOPE, "/web", (100, 200), None, 2).await.unwrap();
        assert_eq!(messages(&scanned), ["one", "other"], "a scan's window is inclusive");
        let rest = scan_group(store, SCOPE, "/web", (100, 200), Some(scanned[1].position()), 5).await.unwrap();
        assert_eq!(messages(&rest), ["two", "three"]);
        let found = by_seq(store, SCOPE, "/web", rest[0].seq).await.unwrap().unwrap();
        assert_eq!(found.message, "two");
        assert_eq!(by_seq(store, SCOPE, "/other", rest[0].seq).await.unwrap(), None, "only in its group");
        assert_eq!(next[0].stream, "a");
        assert_eq!(next[0].ingestion_time, 400);
    }

    #[tokio::test]
    async fn the_retention_pass_deletes_only_batches_past_it_and_reads_never_answer_what_is() {
        let temp = temp_store().await;
        let store = &temp.store;
        web_stream(store, &["a"]).await;
        group::create(store, SCOPE, &group::NewGroup::plain("/forever", 1)).await.unwrap();
        stream::create(store, SCOPE, "/forever", "a", 1).await.unwrap();
        let now = crate::ids::now() * 1000;
        // The first batch straddles the retention's edge; the second is wholly past it.
        let straddling = [(now - 2 * DAY_MS, "old"), (now - DAY_MS + 60_000, "edge"), (now - 1, "new")];
        append(store, SCOPE, "/web", "a", &[(now - 3 * DAY_MS, "older"), (now - 2 * DAY_MS - 1, "gone")], now)
            .await
            .unwrap();
        append(store, SCOPE, "/web", "a", &straddling, now).await.unwrap();
        append(store, SCOPE, "/forever", "a", &straddling, now).await.unwrap();
        let old = read(store, ALL, Direction::Forward, (i64::MIN, i64::MIN), 10).await;
        group::set_retention(store, SCOPE, "/web", Retention::of_days(1)).await.unwrap();
        let start = (i64::MIN, i64::MIN);
        let kept = read(store, ALL, Direction::Forward, start, 10).await;
        assert_eq!(messages(&kept), ["edge", "new"], "older than a day is never answered, even before the pass");
        let tail = read(store, ALL, Direction::Backward, (i64::MAX, i64::MAX), 10).await;
        assert_eq!(messages(&tail), ["edge", "new"]);
        let scanned = scan_group(store, SCOPE, "/web", ALL, None, 10).await.unwrap();
        assert_eq!(messages(&scanned), ["edge", "new"]);
        assert_eq!(by_seq(store, SCOPE, "/web", old[2].seq).await.unwrap(), None, "nor by its seq");
        assert_eq!(by_seq(store, SCOPE, "/web", old[3].seq).await.unwrap().unwrap().message, "edge");
        expire(store, now).await.unwrap();
        let batches =
            store.query("SELECT group_name, event_count FROM log_batches ORDER BY seq", vec![]).await.unwrap();
        let left: Vec<(String, i64)> = batches.iter().map(|row| (row.text(0).unwrap(), row.int(1).unwrap())).collect();
        let expected = [("/web".to_owned(), 3), ("/forever".to_owned(), 3)];
        assert_eq!(left, expected, "the batch wholly past retention is gone, the straddling one kept");
        assert_eq!(messages(&read(store, ALL, Direction::Forward, start, 10).await), ["edge", "new"]);
        let page = Page { window: ALL, direction: Direction::Forward, from: start, limit: 10 };
        let forever = of_stream(store, SCOPE, "/forever", "a", page).await.unwrap();
        assert_eq!(forever.len(), 3, "a group without retention keeps everything");
    }

    /// A small deterministic generator, so the test reads the same batches every run.
    fn next(state: &mut u64) -> i64 {
        *state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        i64::try_from(*state >> 40).unwrap()
    }

    /// Batches that overlap in time and arrive out of order, read in pages of every size in
    /// both directions and over the group, answer exactly the events in (timestamp, arrival)
    /// order, each once.
    #[tokio::test]
    async fn overlapping_batches_read_in_event_order_in_pages_of_any_size() {
        let temp = temp_store().await;
        let store = &temp.store;
        web_stream(store, &["a", "b"]).await;
        let mut state = 7_u64;
        let mut all: Vec<(String, i64, String)> = Vec::new();
        for batch in 0..40 {
            let stream = if batch % 3 == 0 { "b" } else { "a" };
            let start = 1_000 + next(&mut state) % 500;
            let count = 1 + usize::try_from(next(&mut state) % 12).unwrap();
            let mut times: Vec<i64> = (0..count).map(|_| start + next(&mut state) % 60).collect();
            times.sort_unstable();
            let texts: Vec<String> = (0..count).map(|i| format!("{batch}.{i}")).collect();
            let events: Vec<(i64, &str)> = times.iter().copied().zip(texts.iter().map(String::as_str)).collect();
            append(store, SCOPE, "/web", stream, &events, 5).await.unwrap();
            all.extend(times.into_iter().zip(texts).map(|(t, m)| (stream.to_owned(), t, m)));
        }
        // Arrival order is the order of `all`; a stable sort by time is the events' order.
        all.sort_by_key(|(_, time, _)| *time);
        let of = |stream: Option<&str>| -> Vec<String> {
            all.iter().filter(|(s, _, _)| stream.is_none_or(|w| w == s)).map(|(_, _, m)| m.clone()).collect()
        };
        for limit in [1, 2, 3, 7, 50, 1_000] {
            let mut forward = Vec::new();
            let mut from = (i64::MIN, i64::MIN);
            loop {
                let page = read(store, ALL, Direction::Forward, from, limit).await;
                let Some(last) = page.last() else { break };
                from = last.position();
                forward.extend(page.into_iter().map(|e| e.message));
            }
            assert_eq!(forward, of(Some("a")), "forward in pages of {limit}");
            let mut backward = Vec::new();
            let mut from = (i64::MAX, i64::MAX);
            loop {
                let page = read(store, ALL, Direction::Backward, from, limit).await;
                let Some(first) = page.first() else { break };
                from = first.position();
                backward.splice(0..0, page.into_iter().map(|e| e.message));
            }
            assert_eq!(backward, of(Some("a")), "backward in pages of {limit}");
            let mut group = Vec::new();
            let mut after = None;
            loop {
                let page = scan_group(store, SCOPE, "/web", ALL, after, limit).await.unwrap();
                let Some(last) = page.last() else { break };
                after = Some(last.position());
                group.extend(page.into_iter().map(|e| e.message));
            }
            assert_eq!(group, of(None), "the group in pages of {limit}");
        }
        let window = read(store, (1_200, 1_300), Direction::Forward, (i64::MIN, i64::MIN), 1_000).await;
        assert!(!window.is_empty() && window.iter().all(|e| (1_200..1_300).contains(&e.timestamp)));
        let expected = all.iter().filter(|(s, t, _)| s == "a" && (1_200..1_300).contains(t)).count();
        assert_eq!(window.len(), expected);
    }

    #[tokio::test]
    async fn a_batch_is_stored_sorted_and_widens_its_groups_span() {
        let temp = temp_store().await;
        let store = &temp.store;
        web_stream(store, &["a"]).await;
        append(store, SCOPE, "/web", "a", &[(300, "late"), (100, "early"), (300, "later")], 1).await.unwrap();
        let all = read(store, ALL, Direction::Forward, (i64::MIN, i64::MIN), 10).await;
        assert_eq!(messages(&all), ["early", "late", "later"]);
        let span = store.query("SELECT batch_span FROM log_groups", vec![]).await.unwrap();
        assert_eq!(span[0].int(0).unwrap(), 200);
        append(store, SCOPE, "/web", "a", &[(1_000, "narrow"), (1_050, "narrower")], 1).await.unwrap();
        let span = store.query("SELECT batch_span FROM log_groups", vec![]).await.unwrap();
        assert_eq!(span[0].int(0).unwrap(), 200, "only ever widened");
        let rows = store.query("SELECT COUNT(*) FROM log_batches", vec![]).await.unwrap();
        assert_eq!(rows[0].int(0).unwrap(), 2, "one row per append");
    }

    /// Rows of `log_events` (as stored before migration 31) move into batches: runs of one
    /// stream and one ingestion time, in order, each read back as it was.
    #[tokio::test]
    async fn legacy_rows_move_into_batches_in_their_order() {
        let temp = temp_store().await;
        let store = &temp.store;
        web_stream(store, &["a", "b"]).await;
        let legacy = [
            ("a", 200, 10, "one"),
            ("a", 200, 10, "two"),
            ("a", 100, 10, "three, earlier"),
            ("b", 150, 10, "other"),
            ("a", 200, 20, "four"),
            ("a", 200 + 2 * DAY_MS, 20, "five, days later"),
        ];
        for (stream, time, ingested, message) in legacy {
            store
                .execute(
                    "INSERT INTO log_events (account_id, region, group_name, stream_name, event_time, ingestion_time, message)
                     VALUES (?, ?, '/web', ?, ?, ?, ?)",
                    vec![SCOPE.account.into(), SCOPE.region.into(), stream.into(), Value::Int(time), Value::Int(ingested), message.into()],
                )
                .await
                .unwrap();
        }
        assert_eq!(crate::logs::model::legacy_events::convert(store).await.unwrap(), 6);
        assert_eq!(crate::logs::model::legacy_events::convert(store).await.unwrap(), 0, "once");
        assert!(store.query("SELECT 1 FROM log_events", vec![]).await.unwrap().is_empty());
        let batches = store.query("SELECT event_count FROM log_batches ORDER BY seq", vec![]).await.unwrap();
        let counts: Vec<i64> = batches.iter().map(|row| row.int(0).unwrap()).collect();
        assert_eq!(counts, [2, 1, 1, 1, 1]);
        let all = read(store, ALL, Direction::Forward, (i64::MIN, i64::MIN), 10).await;
        assert_eq!(messages(&all), ["three, earlier", "one", "two", "four", "five, days later"]);
        assert_eq!(all[1].ingestion_time, 10);
        assert_eq!(all[3].ingestion_time, 20);
        let group = scan_group(store, SCOPE, "/web", ALL, None, 10).await.unwrap();
        assert_eq!(messages(&group), ["three, earlier", "other", "one", "two", "four", "five, days later"]);
    }
}
