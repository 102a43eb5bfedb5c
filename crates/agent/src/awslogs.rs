//! The `awslogs` log driver, done by the agent: the stdout and stderr of a container whose
//! `logConfiguration.logDriver` is `awslogs` go to CloudWatch Logs on the control plane
//! (`PutLogEvents`), signed with the task's execution role (the instance role when the task
//! has none).
//!
//! Containers keep Docker's default `json-file` driver, so Docker holds every line on disk;
//! the agent follows the log through the Engine API (`GET /containers/{id}/logs`, timestamps
//! on) and ships it. Options, as ECS reads them: `awslogs-group` (required),
//! `awslogs-region`, `awslogs-stream-prefix` (the stream is `PREFIX/CONTAINER/TASKID`;
//! without a prefix it is the container's id, as Docker's own driver names it) and
//! `awslogs-create-group` (`true`: the group is created if missing).
//!
//! Guarantees:
//! - Nothing is lost while the control plane is unreachable: a container's buffer is bounded
//!   ([`BUFFER_BYTES`], message bytes plus 26 per event as PutLogEvents counts them); when it
//!   is full the agent stops reading from Docker, which keeps the lines in its log file, and
//!   shipping retries with backoff until it succeeds.
//! - Batches keep PutLogEvents' limits: at most 10,000 events and 1,048,576 bytes, spanning at
//!   most 24 hours, in chronological order. Empty lines are not shipped (CloudWatch refuses
//!   empty messages).
//! - The timestamp (in nanoseconds) of the last event shipped is kept per container in
//!   `STATE_DIR/awslogs/CONTAINER_ID` (0600), so a restarted agent resumes just after it:
//!   nothing is lost, and nothing is shipped twice unless two lines carry the same
//!   nanosecond.
//! - A container's last lines are shipped before the agent removes it (the engine waits for
//!   [`Shipper::done`]).
//! - The group (with `awslogs-create-group`) and the stream are created before the container
//!   starts ([`create_destination`]), as Docker's driver does when it starts a container: a refusal
//!   (the role may not `logs:CreateLogGroup`, or the group is missing) fails the start with
//!   Docker's words, so the task stops saying why instead of running with its output going
//!   nowhere.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::api::{self, CallError};
use crate::backoff::{Backoff, jitter};
use crate::control_plane::{ControlPlane, Credentials, current_credentials};
use crate::credentials::RoleCredentials;
use crate::docker::DockerApi;
use crate::log;
use crate::state::{StateDir, write_private};
use crate::task_roles::{RoleType, TaskRoles};
use crate::task_spec::{ContainerDefinition, TaskPayload};

/// PutLogEvents' limits.
pub const MAX_BATCH_EVENTS: usize = 10_000;
pub const MAX_BATCH_BYTES: usize = 1_048_576;
pub const EVENT_OVERHEAD: usize = 26;
const MAX_BATCH_SPAN_MS: i64 = 24 * 3_600_000;
/// The largest message CloudWatch takes (256 KiB less the per-event overhead).
const MAX_MESSAGE_BYTES: usize = 262_144 - EVENT_OVERHEAD;
/// How much of one container's log may wait in memory.
pub const BUFFER_BYTES: usize = 1_048_576;
/// How long a batch waits for more events once it has one.
const BATCH_WAIT: Duration = Duration::from_millis(500);
/// The largest frame read from Docker (it splits lines at 16 KiB).
const MAX_FRAME: usize = 1_048_576;

const LOGS_TARGET: &str = "Logs_20140328";

/// Where one container's log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub group: String,
    pub stream: String,
    pub region: Option<String>,
    pub create_group: bool,
}

impl Destination {
    /// The destination of a container's log if its driver is `awslogs` (`Err`: the options
    /// are unusable, with why).
    pub fn of(
        spec: &TaskPayload,
        container: &ContainerDefinition,
        runtime_id: &str,
    ) -> Option<Result<Destination, String>> {
        let configuration = container.log_configuration.as_ref().filter(|c| c.log_driver == "awslogs")?;
        let options: &BTreeMap<String, String> = &configuration.options;
        let Some(group) = options.get("awslogs-group").filter(|g| !g.is_empty()) else {
            return Some(Err("must specify a value for log opt 'awslogs-group'".to_owned()));
        };
        let stream = match options.get("awslogs-stream-prefix").filter(|p| !p.is_empty()) {
            Some(prefix) => format!("{prefix}/{}/{}", container.name, spec.task_id()),
            None => runtime_id.to_owned(),
        };
        Some(Ok(Destination {
            group: group.clone(),
            stream,
            region: options.get("awslogs-region").filter(|r| !r.is_empty()).cloned(),
            create_group: options.get("awslogs-create-group").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        }))
    }
}

/// One line of a container's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Nanoseconds since the epoch, as Docker stamped it.
    pub timestamp_ns: i64,
    pub message: String,
}

impl Event {
    fn timestamp_ms(&self) -> i64 {
        self.timestamp_ns.div_euclid(1_000_000)
    }

    /// What it counts against a batch and the buffer.
    pub fn cost(&self) -> usize {
        self.message.len() + EVENT_OVERHEAD
    }
}

/// Reads Docker's multiplexed log frames from a byte stream.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
}

impl FrameDecoder {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete frame's payload; `Err` if the stream is not frames.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, String> {
        let Some(header) = self.buffer.get(..8) else { return Ok(None) };
        if !matches!(header.first(), Some(0..=2)) || header.get(1..4) != Some(&[0, 0, 0][..]) {
            return Err("not a multiplexed log stream".to_owned());
        }
        let mut size_bytes = [0u8; 4];
        size_bytes.copy_from_slice(header.get(4..8).unwrap_or(&[0; 4]));
        let size = usize::try_from(u32::from_be_bytes(size_bytes)).unwrap_or(usize::MAX);
        if size > MAX_FRAME {
            return Err(format!("a log frame of {size} bytes"));
        }
        if self.buffer.len() < 8 + size {
            return Ok(None);
        }
        let payload = self.buffer.get(8..8 + size).unwrap_or_default().to_vec();
        self.buffer.drain(..8 + size);
        Ok(Some(payload))
    }
}

/// A frame's payload as an event: `2026-11-28T07:41:21.123456789Z message\n`. `None` for an
/// empty message or a payload without a timestamp.
pub fn parse_line(payload: &[u8]) -> Option<Event> {
    let text = String::from_utf8_lossy(payload);
    let (stamp, message) = text.split_once(' ').unwrap_or((&text, ""));
    let timestamp_ns = parse_timestamp(stamp)?;
    let message = message.strip_suffix('\n').unwrap_or(message);
    let message = message.strip_suffix('\r').unwrap_or(message);
    if message.is_empty() {
        return None;
    }
    let mut message = message.to_owned();
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    Some(Event { timestamp_ns, message })
}

/// Nanoseconds since the epoch of Docker's RFC 3339 timestamp (`...T07:41:21.123456789Z`).
pub fn parse_timestamp(stamp: &str) -> Option<i64> {
    let (whole, fraction) = match stamp.strip_suffix('Z')?.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (stamp.strip_suffix('Z')?, ""),
    };
    let basic: String = whole.chars().filter(|c| *c != '-' && *c != ':').collect();
    let seconds = aws_protocol::sigv4::parse_amz_date(&format!("{basic}Z"))?;
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: i64 = if fraction.is_empty() { 0 } else { format!("{fraction:0<9}").parse().ok()? };
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// Splits off the longest chronological run of `pending` that fits one PutLogEvents call.
pub fn take_batch(pending: &mut Vec<Event>) -> Vec<Event> {
    pending.sort_by_key(|event| event.timestamp_ns);
    let first = pending.first().map(Event::timestamp_ms).unwrap_or(0);
    let mut bytes = 0;
    let mut count = 0;
    for event in pending.iter() {
        if count == MAX_BATCH_EVENTS
            || bytes + event.cost() > MAX_BATCH_BYTES
            || event.timestamp_ms() - first > MAX_BATCH_SPAN_MS
        {
            break;
        }
        bytes += event.cost();
        count += 1;
    }
    let rest = pending.split_off(count);
    std::mem::replace(pending, rest)
}

/// Whose credentials sign the log calls.
#[derive(Clone)]
pub enum Signer {
    /// The task's execution role.
    Execution { roles: TaskRoles, task_arn: String },
    /// The instance's role (the task has no execution role).
    Instance(Credentials),
}

impl Signer {
    async fn credentials(&mut self) -> RoleCredentials {
        match self {
            Signer::Execution { roles, task_arn } => loop {
                if let Some(held) = roles.wait_for(task_arn, RoleType::Execution, Duration::from_secs(30)).await {
                    return held.credentials;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            },
            Signer::Instance(credentials) => current_credentials(credentials).await,
        }
    }
}

/// The file keeping a container's shipped position.
fn position_path(state: &StateDir, runtime_id: &str) -> PathBuf {
    let safe: String = runtime_id.chars().filter(char::is_ascii_alphanumeric).collect();
    state.path().join("awslogs").join(safe)
}

fn load_position(state: &StateDir, runtime_id: &str) -> Option<i64> {
    std::fs::read_to_string(position_path(state, runtime_id)).ok()?.trim().parse().ok()
}

fn save_position(state: &StateDir, runtime_id: &str, timestamp_ns: i64) {
    let path = position_path(state, runtime_id);
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    if let Err(error) = write_private(&path, timestamp_ns.to_string().as_bytes()) {
        log::event(&format!("ecs: awslogs: cannot keep the shipped position of {runtime_id}: {error}"));
    }
}

/// Forgets a removed container's shipped position.
pub fn forget_position(state: &StateDir, runtime_id: &str) {
    let _ = std::fs::remove_file(position_path(state, runtime_id));
}

/// One container's shipping, under way.
pub struct Shipper {
    pub task_arn: String,
    /// True once everything the container wrote has been shipped (or cannot be).
    pub done: watch::Receiver<bool>,
}

/// What one shipper needs.
pub struct ShipOrder<D> {
    pub state: StateDir,
    pub docker: D,
    pub control_plane: ControlPlane,
    pub runtime_id: String,
    pub task_arn: String,
    pub destination: Destination,
    pub signer: Signer,
}

/// Starts shipping a container's log: follows it from just after the last shipped event
/// until the container has stopped and every line is shipped.
pub fn start<D: DockerApi>(order: ShipOrder<D>) -> Shipper {
    let (done_sender, done) = watch::channel(false);
    let task_arn = order.task_arn.clone();
    tokio::spawn(async move {
        let budget = Arc::new(Semaphore::new(BUFFER_BYTES));
        let (sender, receiver) = mpsc::unbounded_channel();
        let since = load_position(&order.state, &order.runtime_id).map(|last| last.saturating_add(1));
        let reader = read(order.docker.clone(), order.runtime_id.clone(), since, sender, budget.clone());
        let shipper = ship(&order, receiver, budget);
        tokio::join!(reader, shipper);
        let _ = done_sender.send(true);
    });
    Shipper { task_arn, done }
}

/// Reads the container's log into the buffer until the container has stopped and its log
/// has been read to the end; waits for room in the buffer before each event.
async fn read<D: DockerApi>(
    docker: D,
    runtime_id: String,
    mut since: Option<i64>,
    sender: mpsc::UnboundedSender<Event>,
    budget: Arc<Semaphore>,
) {
    let mut backoff = Backoff::new();
    let mut follow = true;
    loop {
        match read_once(&docker, &runtime_id, since, follow, &sender, &budget).await {
            Ok(last) => {
                backoff.reset();
                if let Some(last) = last {
                    since = Some(last.saturating_add(1));
                }
                if !follow {
                    return;
                }
                // The stream ends when the container stops (or Docker restarts): once it
                // has stopped, one last read without following catches any line written
                // as the stream closed.
                match docker.inspect(&runtime_id).await {
                    Ok(inspected) if inspected.running => {}
                    Err(error) if !error.is_not_found() => {
                        tokio::time::sleep(backoff.next_delay(jitter())).await;
                    }
                    _ => follow = false,
                }
            }
            Err(why) => {
                if why.contains("No such container") {
                    return;
                }
                let delay = backoff.next_delay(jitter());
                log::event(&format!(
                    "ecs: awslogs: cannot read the log of container {runtime_id}: {why}; retrying in {}s",
                    delay.as_secs().max(1)
                ));
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// One log request; the timestamp of the last event read.
async fn read_once<D: DockerApi>(
    docker: &D,
    runtime_id: &str,
    since: Option<i64>,
    follow: bool,
    sender: &mpsc::UnboundedSender<Event>,
    budget: &Arc<Semaphore>,
) -> Result<Option<i64>, String> {
    let mut opened = docker.logs(runtime_id, since, follow).await.map_err(|error| error.to_string())?;
    let mut decoder = FrameDecoder::default();
    decoder.push(&std::mem::take(&mut opened.pending));
    let mut last = None;
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        while let Some(payload) = decoder.next_frame()? {
            let Some(event) = parse_line(&payload) else { continue };
            let cost = u32::try_from(event.cost().min(BUFFER_BYTES)).unwrap_or(u32::MAX);
            // Backpressure: wait for room; Docker keeps what is not read yet.
            let permit = budget.acquire_many(cost).await.map_err(|error| error.to_string())?;
            permit.forget();
            last = Some(event.timestamp_ns);
            if sender.send(event).is_err() {
                return Ok(last);
            }
        }
        let count = opened.stream.read(&mut chunk).await.map_err(|error| error.to_string())?;
        if count == 0 {
            return Ok(last);
        }
        decoder.push(chunk.get(..count).unwrap_or_default());
    }
}

/// Ships what the reader buffers, batch by batch, each retried until it is accepted.
async fn ship<D>(order: &ShipOrder<D>, mut receiver: mpsc::UnboundedReceiver<Event>, budget: Arc<Semaphore>) {
    let mut signer = order.signer.clone();
    let mut pending: Vec<Event> = Vec::new();
    let mut stream_ready = false;
    let mut backoff = Backoff::new();
    let mut last_failure = String::new();
    loop {
        if pending.is_empty() {
            match receiver.recv().await {
                Some(event) => pending.push(event),
                None => return,
            }
            // A moment for the rest of a burst, so one call carries it.
            let deadline = tokio::time::Instant::now() + BATCH_WAIT;
            while pending.len() < MAX_BATCH_EVENTS {
                match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Ok(Some(event)) => pending.push(event),
                    Ok(None) | Err(_) => break,
                }
            }
        }
        while let Ok(event) = receiver.try_recv() {
            pending.push(event);
        }
        let batch = take_batch(&mut pending);
        let Some(newest) = batch.iter().map(|event| event.timestamp_ns).max() else { continue };
        let cost: usize = batch.iter().map(|event| event.cost().min(BUFFER_BYTES)).sum();
        loop {
            let credentials = signer.credentials().await;
            match put_batch(order, &credentials, &batch, &mut stream_ready).await {
                Ok(()) => {
                    if backoff.failing() {
                        log::event(&format!(
                            "ecs: awslogs: shipping to {}/{} again",
                            order.destination.group, order.destination.stream
                        ));
                    }
                    backoff.reset();
                    last_failure.clear();
                    break;
                }
                Err(error) => {
                    let delay = backoff.next_delay(jitter());
                    let text = error.to_string();
                    if text != last_failure || delay >= Backoff::CAP / 2 {
                        log::event(&format!(
                            "ecs: awslogs: cannot ship to {}/{}: {text}; retrying in {}s",
                            order.destination.group,
                            order.destination.stream,
                            delay.as_secs().max(1)
                        ));
                    }
                    last_failure = text;
                    tokio::time::sleep(delay).await;
                }
            }
        }
        save_position(&order.state, &order.runtime_id, newest);
        budget.add_permits(cost);
    }
}

/// One CloudWatch Logs call for `destination`, in its region.
async fn logs_call(
    control_plane: &ControlPlane,
    destination: &Destination,
    credentials: &RoleCredentials,
    operation: &str,
    body: &Value,
) -> Result<Value, CallError> {
    let region = destination.region.as_deref().unwrap_or(&control_plane.region);
    let target = format!("{LOGS_TARGET}.{operation}");
    api::json_call(&control_plane.endpoint, region, credentials, "logs", &target, body).await
}

/// Which creation failed, in the words of Docker's driver.
#[derive(Debug)]
pub struct CreateFailed {
    pub what: &'static str,
    pub error: CallError,
}

impl CreateFailed {
    /// Whether trying again may cure it: the control plane was not reached, or answered
    /// that it is busy or failing, rather than refusing.
    pub fn is_temporary(&self) -> bool {
        match &self.error {
            CallError::Service { status, code, .. } => *status >= 500 || code.starts_with("Throttling"),
            CallError::Transport(_) | CallError::BadResponse(_) => true,
        }
    }

    /// What Docker says when its awslogs driver cannot start (and ECS quotes after
    /// `CannotStartContainerError: `).
    pub fn start_error(&self) -> String {
        format!(
            "Error response from daemon: failed to initialize logging driver: failed to create Cloudwatch log {}: {}",
            self.what, self.error
        )
    }
}

/// Creates the group (if the options ask for it) and the stream; either existing already is
/// fine.
pub async fn create_destination(
    control_plane: &ControlPlane,
    destination: &Destination,
    credentials: &RoleCredentials,
) -> Result<(), CreateFailed> {
    let exists = |result: Result<Value, CallError>| match result {
        Err(error) if error.code() == Some("ResourceAlreadyExistsException") => Ok(()),
        other => other.map(drop),
    };
    if destination.create_group {
        let body = json!({"logGroupName": destination.group});
        exists(logs_call(control_plane, destination, credentials, "CreateLogGroup", &body).await)
            .map_err(|error| CreateFailed { what: "group", error })?;
    }
    let body = json!({"logGroupName": destination.group, "logStreamName": destination.stream});
    exists(logs_call(control_plane, destination, credentials, "CreateLogStream", &body).await)
        .map_err(|error| CreateFailed { what: "stream", error })
}

/// Creates the group (if asked) and the stream once, then puts one batch.
async fn put_batch<D>(
    order: &ShipOrder<D>,
    credentials: &RoleCredentials,
    batch: &[Event],
    stream_ready: &mut bool,
) -> Result<(), CallError> {
    let destination = &order.destination;
    let call = |operation: &'static str, body: Value| async move {
        logs_call(&order.control_plane, destination, credentials, operation, &body).await
    };
    if !*stream_ready {
        create_destination(&order.control_plane, destination, credentials).await.map_err(|failed| failed.error)?;
        *stream_ready = true;
    }
    let events: Vec<Value> =
        batch.iter().map(|event| json!({"timestamp": event.timestamp_ms(), "message": event.message})).collect();
    let answer = call(
        "PutLogEvents",
        json!({"logGroupName": destination.group, "logStreamName": destination.stream, "logEvents": events}),
    )
    .await;
    match answer {
        Ok(answer) => {
            if let Some(rejected) = answer.get("rejectedLogEventsInfo") {
                log::event(&format!(
                    "ecs: awslogs: {}/{} rejected some events: {rejected}",
                    destination.group, destination.stream
                ));
            }
            Ok(())
        }
        Err(error) => {
            if error.code() == Some("ResourceNotFoundException") {
                *stream_ready = false;
            }
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    fn frame(kind: u8, text: &str) -> Vec<u8> {
        let mut bytes = vec![kind, 0, 0, 0];
        bytes.extend_from_slice(&u32::try_from(text.len()).unwrap().to_be_bytes());
        bytes.extend_from_slice(text.as_bytes());
        bytes
    }

    #[test]
    fn frames_decode_however_the_bytes_arrive() {
        let mut stream = frame(1, "2026-11-28T07:41:21.123456789Z out\n");
        stream.extend(frame(2, "2026-11-28T07:41:21.2Z err\n"));
        for split in 0..stream.len() {
            let mut decoder = FrameDecoder::default();
            let mut events = Vec::new();
            for part in [&stream[..split], &stream[split..]] {
                decoder.push(part);
                while let Some(payload) = decoder.next_frame().unwrap() {
                    events.push(parse_line(&payload).unwrap());
                }
            }
            assert_eq!(
                events,
                [
                    Event { timestamp_ns: 1_795_851_681_123_456_789, message: "out".into() },
                    Event { timestamp_ns: 1_795_851_681_200_000_000, message: "err".into() },
                ],
                "split at {split}"
            );
        }
        let mut decoder = FrameDecoder::default();
        decoder.push(b"2026-11-28T07:41:21Z a tty stream\n");
        assert!(decoder.next_frame().is_err());
    }

    #[test]
    fn lines_and_timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(parse_timestamp("1970-01-01T00:00:01.5Z"), Some(1_500_000_000));
        assert_eq!(parse_timestamp("2026-11-28T07:41:21.000000001Z"), Some(1_795_851_681_000_000_001));
        for bad in ["", "2026-11-28T07:41:21", "2026-11-28T07:41:21.x1Z", "2026-11-28T07:41:21.0123456789Z", "now"] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
        assert_eq!(parse_line(b"2026-11-28T07:41:21Z \n"), None, "empty lines are not shipped");
        assert_eq!(parse_line(b"2026-11-28T07:41:21Z a b \r\n").unwrap().message, "a b ");
        let long = format!("2026-11-28T07:41:21Z {}", "é".repeat(200_000));
        let event = parse_line(long.as_bytes()).unwrap();
        assert!(event.message.len() <= MAX_MESSAGE_BYTES && event.message.len() > MAX_MESSAGE_BYTES - 2);
    }

    #[test]
    fn batches_keep_put_log_events_limits() {
        let event = |ms: i64, size: usize| Event { timestamp_ns: ms * 1_000_000, message: "x".repeat(size) };
        // Order: chronological, stable for equal times.
        let mut pending = vec![event(3, 1), event(1, 2), event(1, 1), event(2, 1)];
        let batch = take_batch(&mut pending);
        let order: Vec<(i64, usize)> = batch.iter().map(|e| (e.timestamp_ms(), e.message.len())).collect();
        assert_eq!(order, [(1, 2), (1, 1), (2, 1), (3, 1)]);
        assert!(pending.is_empty());
        // Count.
        let mut pending: Vec<Event> = (0..10_001).map(|i| event(i, 1)).collect();
        assert_eq!(take_batch(&mut pending).len(), 10_000);
        assert_eq!(pending.len(), 1);
        // Bytes: 1,048,576 with 26 per event.
        let mut pending: Vec<Event> = (0..5).map(|i| event(i, 262_144 - 26)).collect();
        assert_eq!(take_batch(&mut pending).len(), 4);
        assert_eq!(take_batch(&mut pending).len(), 1);
        // Span: 24 hours.
        let day = 24 * 3_600_000;
        let mut pending = vec![event(0, 1), event(day, 1), event(day + 1, 1)];
        assert_eq!(take_batch(&mut pending).len(), 2);
        assert_eq!(take_batch(&mut pending).len(), 1);
        assert!(take_batch(&mut Vec::new()).is_empty());
    }

    #[test]
    fn destinations_follow_ecs_naming() {
        let spec: TaskPayload = serde_json::from_value(json!({
            "taskArn": "arn:aws:ecs:us-east-1:111122223333:task/edge/0123456789abcdef",
            "containers": [
                {"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": "/ecs/web", "awslogs-region": "us-east-1",
                    "awslogs-stream-prefix": "web", "awslogs-create-group": "true"}}},
                {"name": "bare", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}}},
                {"name": "none"},
                {"name": "json", "logConfiguration": {"logDriver": "json-file"}},
                {"name": "broken", "logConfiguration": {"logDriver": "awslogs", "options": {}}}
            ]
        }))
        .unwrap();
        let of = |name: &str| Destination::of(&spec, spec.container(name).unwrap(), "c0ffee");
        assert_eq!(
            of("app"),
            Some(Ok(Destination {
                group: "/ecs/web".into(),
                stream: "web/app/0123456789abcdef".into(),
                region: Some("us-east-1".into()),
                create_group: true
            }))
        );
        assert_eq!(
            of("bare"),
            Some(Ok(Destination { group: "g".into(), stream: "c0ffee".into(), region: None, create_group: false }))
        );
        assert_eq!(of("none"), None);
        assert_eq!(of("json"), None);
        assert_eq!(
            of("broken"),
            Some(Err("must specify a value for log opt 'awslogs-group'".to_owned())),
            "Docker's words"
        );
    }

    #[test]
    fn creation_failures_read_as_docker_says_them() {
        let failed = |status: u16, code: &str| CreateFailed {
            what: "group",
            error: CallError::Service { status, code: code.into(), message: "m".into() },
        };
        assert_eq!(
            failed(400, "AccessDeniedException").start_error(),
            "Error response from daemon: failed to initialize logging driver: failed to create Cloudwatch log group: \
             AccessDeniedException: m"
        );
        assert!(!failed(400, "AccessDeniedException").is_temporary());
        assert!(!failed(400, "ResourceNotFoundException").is_temporary());
        assert!(failed(400, "ThrottlingException").is_temporary());
        assert!(failed(503, "ServiceUnavailableException").is_temporary());
        let unreachable = CreateFailed { what: "stream", error: CallError::BadResponse("x".into()) };
        assert!(unreachable.is_temporary());
    }
}
