//! StartLiveTail: a stream (`application/vnd.amazon.eventstream`) of the events ingested
//! into up to 10 log groups after the session starts, as CloudWatch Logs sends it: an
//! `initial-response` (botocore reads it before handing back the stream), one `sessionStart`,
//! then a `sessionUpdate` every second (empty when nothing arrived), filtered by
//! `logStreamNames` or `logStreamNamePrefixes` (one group only) and `logEventFilterPattern`
//! (`logs-filter`).
//!
//! Limits, as AWS documents them: at most 500 events an update (above that the second's
//! events are sampled evenly and `sessionMetadata.sampled` is true); a client slower than the
//! session has at most 10 updates or 5,000 events waiting, the oldest dropped first; a
//! session ends after 3 hours with `SessionTimeoutException`; 15 sessions open at once per
//! account and region (`LimitExceededException`, counted on every replica:
//! `model::live_tail`).
//!
//! Guarantees: events reach the session from the store, so an event put through any replica
//! is seen; a session reads only the batches that arrived after it started (by `seq`, a scan
//! of the key) and at most [`MAX_EVENTS_READ`] events a second, a flood being read over the
//! following seconds; it ends, and its row is deleted, within a second of its client going
//! away (the next send finds the stream closed), and holds nothing after.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use aws_protocol::AwsError;
use aws_protocol::event_stream::Message;
use serde_json::{Value as Json, json};
use store::Store;
use tokio::sync::mpsc;

use crate::ids;
use crate::logs::model::event::{self, Arrived};
use crate::logs::model::live_tail;
use crate::logs::{self, identified_group, invalid_parameter};
use crate::operations::{Ctx, EventStream, operation, streamed};
use crate::regions::Scope;
use logs_filter::Pattern;

/// Open sessions per account and region (CloudWatch Logs' quota).
pub const MAX_SESSIONS: i64 = 15;
/// How long a session may last.
pub const MAX_DURATION: Duration = Duration::from_secs(3 * 3600);
/// How often an update is sent.
pub const TICK: Duration = Duration::from_secs(1);
/// The most events one update carries.
pub const MAX_EVENTS_PER_UPDATE: usize = 500;
/// What waits for a slow client at most, in updates and in events.
const WAITING_UPDATES: usize = 10;
const WAITING_EVENTS: usize = 5_000;
/// How many ticks back arrivals are looked for again: a batch takes its `seq` when its
/// transaction starts and is seen when it commits, so on PostgreSQL a lower `seq` may appear
/// after a higher one.
const LOOK_BACK_TICKS: usize = 5;
/// Batches asked for at once.
const BATCHES_PER_READ: i64 = 256;
/// The most events a session reads in a second; the rest is read in the seconds after.
pub const MAX_EVENTS_READ: usize = 50_000;
/// The stream's content type.
const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

operation!(logs, START_LIVE_TAIL, "StartLiveTail", Write, |ctx| Box::pin(async move { group_resources(ctx) }), |ctx| {
    streamed(start_live_tail(ctx))
});

fn identifiers(body: &Json) -> Vec<&str> {
    body.get("logGroupIdentifiers").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str).collect()
}

fn strings(body: &Json, member: &str) -> Option<Vec<String>> {
    body.get(member)
        .and_then(Json::as_array)
        .map(|items| items.iter().filter_map(Json::as_str).map(str::to_owned).collect())
}

/// Each group's ARN: `logs:StartLiveTail` is authorized on every group the session reads.
fn group_resources(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    Ok(identifiers(ctx.body).into_iter().map(|identifier| identified_group(ctx.scope(), identifier).arn).collect())
}

/// What a session reads and how it filters.
struct Session {
    account: String,
    region: String,
    id: String,
    /// The groups' names and how events name them (their ARNs).
    groups: Vec<(String, String)>,
    streams: Option<Vec<String>>,
    prefixes: Option<Vec<String>>,
    pattern: Pattern,
}

impl Session {
    fn scope(&self) -> Scope<'_> {
        Scope { account: &self.account, region: &self.region }
    }

    fn wants(&self, arrived: &Arrived) -> bool {
        let stream = arrived.event.stream.as_str();
        let stream_wanted = match (&self.streams, &self.prefixes) {
            (Some(names), _) => names.iter().any(|name| name == stream),
            (None, Some(prefixes)) => prefixes.iter().any(|prefix| stream.starts_with(prefix.as_str())),
            (None, None) => true,
        };
        stream_wanted && self.pattern.matches(&arrived.event.message)
    }

    fn arn_of<'a>(&'a self, group: &'a str) -> &'a str {
        self.groups.iter().find(|(name, _)| name == group).map_or(group, |(_, arn)| arn.as_str())
    }
}

async fn start_live_tail(ctx: &Ctx<'_>) -> Result<EventStream, AwsError> {
    let body = ctx.body;
    let streams = strings(body, "logStreamNames");
    let prefixes = strings(body, "logStreamNamePrefixes");
    let identifiers = identifiers(body);
    if streams.is_some() && prefixes.is_some() {
        return Err(invalid_parameter("logStreamNames and logStreamNamePrefixes are mutually exclusive parameters."));
    }
    if (streams.is_some() || prefixes.is_some()) && identifiers.len() > 1 {
        return Err(invalid_parameter(
            "logStreamNames and logStreamNamePrefixes can only be specified when only one log group is specified in logGroupIdentifiers.",
        ));
    }
    let filter = body.get("logEventFilterPattern").and_then(Json::as_str).unwrap_or_default();
    let pattern = Pattern::parse(filter).map_err(|error| invalid_parameter(error.0))?;
    let scope = ctx.scope();
    let mut groups: Vec<(String, String)> = Vec::new();
    for identifier in &identifiers {
        let group = identified_group(scope, identifier);
        if !group.here || !logs::group_exists(ctx.app, scope, group.name).await? {
            return Err(AwsError::new(
                "ResourceNotFoundException",
                400,
                format!("Log group {identifier} does not exist in account {}.", ctx.account()),
            ));
        }
        if !groups.iter().any(|(name, _)| name == group.name) {
            groups.push((group.name.to_owned(), logs::group_arn(scope, group.name)));
        }
    }
    let store = &ctx.app.store;
    // What is stored now is before the session; it reads what comes after.
    let start = event::latest_batch(store).await?;
    let id = ids::uuid().map_err(crate::operations::internal)?;
    if !live_tail::open(store, scope, &id, ids::now() * 1000, MAX_SESSIONS).await? {
        return Err(AwsError::new(
            "LimitExceededException",
            400,
            format!(
                "The maximum number of concurrent Live Tail sessions ({MAX_SESSIONS}) for this account has been reached."
            ),
        ));
    }
    let mut start_event = json!({
        "requestId": ctx.request_id,
        "sessionId": id,
        "logGroupIdentifiers": identifiers,
        "logEventFilterPattern": filter,
    });
    if let Some(streams) = &streams {
        crate::operations::put(&mut start_event, "logStreamNames", streams.clone());
    }
    if let Some(prefixes) = &prefixes {
        crate::operations::put(&mut start_event, "logStreamNamePrefixes", prefixes.clone());
    }
    let (sender, messages) = mpsc::channel(2);
    // The first two messages go out at once: the channel has room for both.
    let first = [
        Message::event("initial-response", b"{}".to_vec()),
        Message::event("sessionStart", serde_json::to_vec(&start_event).unwrap_or_default()),
    ];
    for message in first {
        if sender.try_send(message.encode()).is_err() {
            live_tail::close(store, scope, &id).await?;
            return Err(crate::operations::internal("a new Live Tail stream had no room for its first messages"));
        }
    }
    let session = Session {
        account: scope.account.to_owned(),
        region: scope.region.to_owned(),
        id,
        groups,
        streams,
        prefixes,
        pattern,
    };
    tokio::spawn(run(store.clone(), session, start, sender));
    Ok(EventStream { content_type: CONTENT_TYPE, messages })
}

/// How a session ended.
enum End {
    /// The client went away.
    Gone,
    TimedOut,
    Failed,
}

/// A session's life: every tick, read what arrived, send an update, beat; then delete its row.
async fn run(store: Store, session: Session, start: i64, sender: mpsc::Sender<Vec<u8>>) {
    let end = tail(&store, &session, start, &sender).await;
    let last = match end {
        End::Gone => None,
        End::TimedOut => Some(Message::exception(
            "SessionTimeoutException",
            br#"{"message":"Live Tail session has timed out after 3 hours."}"#.to_vec(),
        )),
        End::Failed => Some(Message::exception(
            "SessionStreamingException",
            br#"{"message":"Live Tail session ended because of an internal error."}"#.to_vec(),
        )),
    };
    if let Some(message) = last {
        // The client may be gone too, or slow: the last word is sent if there is room.
        let _ = tokio::time::timeout(TICK, sender.send(message.encode())).await;
    }
    drop(sender);
    if let Err(error) = live_tail::close(&store, session.scope(), &session.id).await {
        tracing::warn!("could not delete Live Tail session {}: {error}", session.id);
    }
}

/// What arrived: the batches seen in the last ticks (so a late commit is not missed and none
/// is read twice) and the `seq` below which nothing is looked for any more.
struct Arrivals {
    horizon: i64,
    seen: BTreeSet<i64>,
    /// The highest `seq` seen at each of the last ticks.
    marks: VecDeque<i64>,
}

impl Arrivals {
    fn new(start: i64) -> Arrivals {
        Arrivals { horizon: start, seen: BTreeSet::new(), marks: VecDeque::new() }
    }

    /// The events of the batches that arrived since the last read, at most about
    /// [`MAX_EVENTS_READ`] (whole batches; what is left is read next time).
    async fn read(&mut self, store: &Store, session: &Session) -> Result<Vec<Arrived>, crate::logs::model::ModelError> {
        let names: Vec<String> = session.groups.iter().map(|(name, _)| name.clone()).collect();
        let mut after = self.horizon;
        let mut wanted = Vec::new();
        let mut events = 0usize;
        'reads: loop {
            let found = event::arrived_after(store, session.scope(), &names, after, BATCHES_PER_READ).await?;
            let full = i64::try_from(found.len()).unwrap_or(i64::MAX) == BATCHES_PER_READ;
            for (seq, count) in found {
                after = seq;
                if self.seen.contains(&seq) {
                    continue;
                }
                if events >= MAX_EVENTS_READ {
                    break 'reads;
                }
                events = events.saturating_add(usize::try_from(count).unwrap_or(usize::MAX));
                wanted.push(seq);
            }
            if !full {
                break;
            }
        }
        let arrived = event::of_batches(store, session.scope(), &wanted).await?;
        self.seen.extend(wanted.iter().copied());
        // What was left unread this time stays above the horizon: the horizon moves only to
        // what was seen `LOOK_BACK_TICKS` reads ago, and never past an unread batch.
        let highest = self.seen.last().copied().unwrap_or(self.horizon);
        self.marks.push_back(highest);
        if self.marks.len() > LOOK_BACK_TICKS {
            if let Some(mark) = self.marks.pop_front() {
                let complete = events < MAX_EVENTS_READ;
                if complete {
                    self.horizon = self.horizon.max(mark);
                    self.seen = self.seen.split_off(&self.horizon.saturating_add(1));
                }
            }
        }
        Ok(arrived)
    }
}

/// An update of at most [`MAX_EVENTS_PER_UPDATE`] events: the wanted events of a second,
/// sampled evenly when there are more.
fn update_of(session: &Session, arrived: Vec<Arrived>) -> (Vec<Json>, bool) {
    let wanted: Vec<Arrived> = arrived.into_iter().filter(|arrived| session.wants(arrived)).collect();
    let sampled = wanted.len() > MAX_EVENTS_PER_UPDATE;
    let picked: Vec<&Arrived> = if sampled {
        let total = wanted.len();
        (0..MAX_EVENTS_PER_UPDATE).filter_map(|n| wanted.get(n * total / MAX_EVENTS_PER_UPDATE)).collect()
    } else {
        wanted.iter().collect()
    };
    let results = picked
        .into_iter()
        .map(|arrived| {
            json!({
                "logStreamName": arrived.event.stream,
                "logGroupIdentifier": session.arn_of(&arrived.group),
                "message": arrived.event.message,
                "timestamp": arrived.event.timestamp,
                "ingestionTime": arrived.event.ingestion_time,
            })
        })
        .collect();
    (results, sampled)
}

/// Updates waiting for a slow client, the oldest dropped past the limits.
#[derive(Default)]
struct Waiting {
    updates: VecDeque<(usize, Vec<u8>)>,
    events: usize,
}

impl Waiting {
    fn push(&mut self, events: usize, message: Vec<u8>) {
        self.updates.push_back((events, message));
        self.events = self.events.saturating_add(events);
        while self.updates.len() > WAITING_UPDATES || (self.events > WAITING_EVENTS && self.updates.len() > 1) {
            if let Some((dropped, _)) = self.updates.pop_front() {
                self.events = self.events.saturating_sub(dropped);
            }
        }
    }

    /// Hands the client what it has room for; `false` once it is gone.
    fn flush(&mut self, sender: &mpsc::Sender<Vec<u8>>) -> bool {
        while let Some((events, message)) = self.updates.pop_front() {
            match sender.try_reserve() {
                Ok(permit) => {
                    permit.send(message);
                    self.events = self.events.saturating_sub(events);
                }
                Err(mpsc::error::TrySendError::Full(())) => {
                    self.updates.push_front((events, message));
                    return true;
                }
                Err(mpsc::error::TrySendError::Closed(())) => return false,
            }
        }
        !sender.is_closed()
    }
}

async fn tail(store: &Store, session: &Session, start: i64, sender: &mpsc::Sender<Vec<u8>>) -> End {
    let began = Instant::now();
    let mut arrivals = Arrivals::new(start);
    let mut waiting = Waiting::default();
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = sender.closed() => return End::Gone,
        }
        if began.elapsed() >= MAX_DURATION {
            return End::TimedOut;
        }
        let arrived = match arrivals.read(store, session).await {
            Ok(arrived) => arrived,
            Err(error) => {
                tracing::warn!("Live Tail session {} could not read events: {error}", session.id);
                return End::Failed;
            }
        };
        let (results, sampled) = update_of(session, arrived);
        let count = results.len();
        let update = json!({"sessionMetadata": {"sampled": sampled}, "sessionResults": results});
        waiting.push(count, Message::event("sessionUpdate", serde_json::to_vec(&update).unwrap_or_default()).encode());
        if !waiting.flush(sender) {
            return End::Gone;
        }
        match live_tail::heartbeat(store, session.scope(), &session.id, ids::now() * 1000).await {
            Ok(true) => {}
            // Its row was taken for dead (the server stalled past the stale time): it no longer
            // counts, so it stops.
            Ok(false) => return End::Failed,
            Err(error) => {
                tracing::warn!("Live Tail session {} could not beat: {error}", session.id);
                return End::Failed;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::logs::model::event::LogEvent;

    fn session(streams: Option<Vec<&str>>, prefixes: Option<Vec<&str>>, pattern: &str) -> Session {
        let owned = |list: Option<Vec<&str>>| list.map(|l| l.into_iter().map(str::to_owned).collect());
        Session {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            id: "s".into(),
            groups: vec![("web".into(), "arn:aws:logs:us-east-1:111122223333:log-group:web".into())],
            streams: owned(streams),
            prefixes: owned(prefixes),
            pattern: Pattern::parse(pattern).unwrap(),
        }
    }

    fn arrived(stream: &str, message: &str, seq: i64) -> Arrived {
        Arrived {
            group: "web".into(),
            event: LogEvent {
                seq,
                stream: stream.into(),
                timestamp: seq,
                ingestion_time: seq,
                message: message.into(),
            },
        }
    }

    #[test]
    fn streams_prefixes_and_the_pattern_choose_the_events() {
        let events =
            || vec![arrived("app-1", "ERROR one", 1), arrived("app-2", "INFO two", 2), arrived("db", "ERROR three", 3)];
        let messages = |session: &Session| -> Vec<String> {
            update_of(session, events()).0.iter().map(|e| e["message"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(messages(&session(None, None, "")).len(), 3);
        assert_eq!(messages(&session(None, None, "ERROR")), ["ERROR one", "ERROR three"]);
        assert_eq!(messages(&session(Some(vec!["db"]), None, "")), ["ERROR three"]);
        assert_eq!(messages(&session(None, Some(vec!["app-"]), "ERROR")), ["ERROR one"]);
        let (results, sampled) = update_of(&session(None, None, ""), events());
        assert!(!sampled);
        assert_eq!(results[0]["logGroupIdentifier"], "arn:aws:logs:us-east-1:111122223333:log-group:web");
        assert_eq!(results[0]["logStreamName"], "app-1");
    }

    #[test]
    fn more_than_500_events_a_second_are_sampled_evenly() {
        let many: Vec<Arrived> = (0..2_000).map(|n| arrived("s", &format!("m{n}"), n)).collect();
        let (results, sampled) = update_of(&session(None, None, ""), many);
        assert!(sampled);
        assert_eq!(results.len(), MAX_EVENTS_PER_UPDATE);
        assert_eq!(results[0]["message"], "m0");
        assert_eq!(results[1]["message"], "m4");
        assert_eq!(results[499]["message"], "m1996");
    }

    #[test]
    fn a_slow_client_keeps_the_newest_updates_only() {
        let mut waiting = Waiting::default();
        for n in 0..12u8 {
            waiting.push(1, vec![n]);
        }
        assert_eq!(waiting.updates.len(), WAITING_UPDATES);
        assert_eq!(waiting.updates.front().unwrap().1, vec![2]);
        let mut waiting = Waiting::default();
        for n in 0..4u8 {
            waiting.push(2_000, vec![n]);
        }
        assert_eq!(waiting.events, 4_000, "past 5,000 events the oldest go");
        assert_eq!(waiting.updates.front().unwrap().1, vec![2]);
        let (sender, mut receiver) = mpsc::channel(1);
        assert!(waiting.flush(&sender));
        assert_eq!(receiver.try_recv().unwrap(), vec![2]);
        assert_eq!(waiting.updates.len(), 1, "the other waits for room");
        drop(receiver);
        assert!(!waiting.flush(&sender), "a closed stream ends the session");
    }
}
