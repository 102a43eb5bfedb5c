//! The log-event model: events in a stream, in one order (timestamp, then arrival `seq`),
//! and the SQL of `log_events`: appending a batch, reading a page of a stream or of a group
//! from a [`Position`], and the retention pass.
//!
//! Guarantees: a batch is stored, and its stream's first and last event times, last ingestion
//! and stored bytes moved, in one transaction; a page read from a position holds only events
//! strictly after it (forward) or before it (backward) in that order, so pages never skip or
//! repeat; [`expire`] deletes exactly the events older than their group's retention.

use crate::regions::Scope;
use store::{Statement, Store, Value};

use crate::logs::model::ModelError;

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

/// Stores `events` (`(timestamp, message)`, in order) in a stream, ingested at `now_ms`, and
/// moves the stream's times and stored bytes, in one transaction.
pub async fn append(
    store: &Store,
    scope: Scope<'_>,
    group: &str,
    stream: &str,
    events: &[(i64, &str)],
    now_ms: i64,
) -> Result<(), ModelError> {
    let mut statements: Vec<Statement> = events
        .iter()
        .map(|(timestamp, message)| {
            Statement::new(
                "INSERT INTO log_events (account_id, region, group_name, stream_name, event_time, ingestion_time, message) VALUES (?, ?, ?, ?, ?, ?, ?)",
                vec![scope.account.into(), scope.region.into(), group.into(), stream.into(), Value::Int(*timestamp), Value::Int(now_ms), (*message).into()],
            )
        })
        .collect();
    if let (Some((first, _)), Some((last, _))) = (events.first(), events.last()) {
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
    store.transaction(statements).await?;
    Ok(())
}

fn event_of(row: &store::Row) -> Result<LogEvent, ModelError> {
    Ok(LogEvent {
        seq: row.int(0)?,
        stream: row.text(1)?,
        timestamp: row.int(2)?,
        ingestion_time: row.int(3)?,
        message: row.text(4)?,
    })
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

/// The events of a stream a [`Page`] wants, in order (oldest first).
pub async fn of_stream(
    store: &Store,
    scope: Scope<'_>,
    group: &str,
    stream: &str,
    page: Page,
) -> Result<Vec<LogEvent>, ModelError> {
    let Page { window, direction, from, limit } = page;
    let (comparison, order) = match direction {
        Direction::Forward => ("(event_time > ? OR (event_time = ? AND seq > ?))", "event_time, seq"),
        Direction::Backward => ("(event_time < ? OR (event_time = ? AND seq < ?))", "event_time DESC, seq DESC"),
    };
    let rows = store
        .query(
            &format!(
                "SELECT seq, stream_name, event_time, ingestion_time, message FROM log_events
                 WHERE account_id = ? AND region = ? AND group_name = ? AND stream_name = ? AND event_time >= ? AND event_time < ? AND {comparison}
                 ORDER BY {order} LIMIT ?"
            ),
            vec![
                scope.account.into(), scope.region.into(),
                group.into(),
                stream.into(),
                Value::Int(window.0),
                Value::Int(window.1),
                Value::Int(from.0),
                Value::Int(from.0),
                Value::Int(from.1),
                Value::Int(limit),
            ],
        )
        .await?;
    let mut events = rows.iter().map(event_of).collect::<Result<Vec<_>, _>>()?;
    if direction == Direction::Backward {
        events.reverse();
    }
    Ok(events)
}

/// The next `page` events of a whole group after `after`, with a timestamp in `window`, in
/// order.
pub async fn of_group_after(
    store: &Store,
    scope: Scope<'_>,
    group: &str,
    window: (i64, i64),
    after: Position,
    page: i64,
) -> Result<Vec<LogEvent>, ModelError> {
    let rows = store
        .query(
            "SELECT seq, stream_name, event_time, ingestion_time, message FROM log_events
             WHERE account_id = ? AND region = ? AND group_name = ? AND event_time >= ? AND event_time < ?
               AND (event_time > ? OR (event_time = ? AND seq > ?))
             ORDER BY event_time, seq LIMIT ?",
            vec![
                scope.account.into(),
                scope.region.into(),
                group.into(),
                Value::Int(window.0),
                Value::Int(window.1),
                Value::Int(after.0),
                Value::Int(after.0),
                Value::Int(after.1),
                Value::Int(page),
            ],
        )
        .await?;
    rows.iter().map(event_of).collect()
}

/// Deletes, in every account, the events older than their group's retention at `now_ms`.
pub async fn expire(store: &Store, now_ms: i64) -> Result<(), ModelError> {
    store
        .execute(
            "DELETE FROM log_events WHERE EXISTS (SELECT 1 FROM log_groups g WHERE g.account_id = log_events.account_id AND g.region = log_events.region
               AND g.name = log_events.group_name AND g.retention_days IS NOT NULL
               AND log_events.event_time < ? - g.retention_days * 86400000)",
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
        assert_eq!(next[0].stream, "a");
        assert_eq!(next[0].ingestion_time, 400);
    }

    #[tokio::test]
    async fn the_retention_pass_deletes_exactly_what_is_older_than_the_retention() {
        let temp = temp_store().await;
        let store = &temp.store;
        web_stream(store, &["a"]).await;
        group::create(store, SCOPE, &group::NewGroup::plain("/forever", 1)).await.unwrap();
        stream::create(store, SCOPE, "/forever", "a", 1).await.unwrap();
        let now = 100 * DAY_MS;
        let events = [(now - 2 * DAY_MS, "old"), (now - DAY_MS, "edge"), (now - 1, "new")];
        append(store, SCOPE, "/web", "a", &events, now).await.unwrap();
        append(store, SCOPE, "/forever", "a", &events, now).await.unwrap();
        group::set_retention(store, SCOPE, "/web", Retention::of_days(1)).await.unwrap();
        expire(store, now).await.unwrap();
        let start = (i64::MIN, i64::MIN);
        let kept = read(store, ALL, Direction::Forward, start, 10).await;
        assert_eq!(messages(&kept), ["edge", "new"], "exactly one day old is kept");
        let page = Page { window: ALL, direction: Direction::Forward, from: start, limit: 10 };
        let forever = of_stream(store, SCOPE, "/forever", "a", page).await.unwrap();
        assert_eq!(forever.len(), 3, "a group without retention keeps everything");
    }
}
