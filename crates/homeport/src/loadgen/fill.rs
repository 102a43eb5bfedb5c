//! Fill mode: N distinct requests (`{n}` stamped with K, K+1, ...), each signed when sent,
//! over a few keep-alive connections: for seeding an account with thousands of users or
//! tasks, and for timing a write (RunTask) call by call. The first non-2xx stops the fill
//! and is reported with its body: a seed that half worked is not a seed.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::request::{Credentials, RequestTemplate, sign};
use super::wire::Connection;
use crate::output;

/// What to send: `count` requests numbered from `start`.
pub struct Fill {
    pub template: RequestTemplate,
    pub host: String,
    pub credentials: Credentials,
    pub start: u64,
    pub count: u64,
    pub concurrency: usize,
}

/// The outcome of a fill that succeeded: per-request latencies (µs) and the time taken.
pub struct Filled {
    pub latencies_us: Vec<u64>,
    pub elapsed: Duration,
}

/// Shared between the connections: the next number to send and the first failure.
struct Progress {
    next: AtomicU64,
    done: AtomicU64,
    failed: AtomicBool,
    first_error: Mutex<Option<String>>,
}

impl Progress {
    fn fail(&self, message: String) {
        self.failed.store(true, Ordering::Relaxed);
        if let Ok(mut first) = self.first_error.lock() {
            first.get_or_insert(message);
        }
    }
}

pub async fn fill(fill: Fill) -> Result<Filled, String> {
    let fill = Arc::new(fill);
    let end = fill.start.saturating_add(fill.count);
    let progress = Arc::new(Progress {
        next: AtomicU64::new(fill.start),
        done: AtomicU64::new(0),
        failed: AtomicBool::new(false),
        first_error: Mutex::new(None),
    });
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..fill.concurrency.max(1) {
        workers.spawn(send_until_done(Arc::clone(&fill), Arc::clone(&progress), end));
    }
    let mut latencies_us = Vec::with_capacity(usize::try_from(fill.count).unwrap_or(0));
    let mut report = tokio::time::interval(Duration::from_secs(5));
    report.tick().await;
    loop {
        tokio::select! {
            joined = workers.join_next() => match joined {
                Some(Ok(latencies)) => latencies_us.extend(latencies),
                Some(Err(error)) => progress.fail(format!("a connection's task failed: {error}")),
                None => break,
            },
            _ = report.tick() => {
                let done = progress.done.load(Ordering::Relaxed);
                let seconds = started.elapsed().as_secs_f64();
                output::line(&format!(
                    "  {done} of {} requests in {seconds:.0} s ({:.0}/s)",
                    fill.count,
                    done as f64 / seconds
                ));
            }
        }
    }
    let first_error = progress.first_error.lock().ok().and_then(|mut first| first.take());
    match first_error {
        Some(error) => Err(format!(
            "{} of {} requests succeeded before the first failure: {error}",
            progress.done.load(Ordering::Relaxed),
            fill.count
        )),
        None => Ok(Filled { latencies_us, elapsed: started.elapsed() }),
    }
}

/// One connection: takes the next number, signs its request, sends it, until all are sent.
async fn send_until_done(fill: Arc<Fill>, progress: Arc<Progress>, end: u64) -> Vec<u64> {
    let mut latencies = Vec::new();
    let mut connection = match Connection::open(&fill.host).await {
        Ok(connection) => connection,
        Err(error) => {
            progress.fail(format!("cannot connect to {}: {error}", fill.host));
            return latencies;
        }
    };
    while !progress.failed.load(Ordering::Relaxed) {
        let sequence = progress.next.fetch_add(1, Ordering::Relaxed);
        if sequence >= end {
            break;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX));
        let request = sign(&fill.template, fill.template.stamp(sequence), &fill.host, &fill.credentials, now).to_http();
        let sent = Instant::now();
        match connection.exchange(&request).await {
            Ok(response) if (200..300).contains(&response.status) => {
                latencies.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
                progress.done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(response) => {
                let body = String::from_utf8_lossy(&response.body);
                progress.fail(format!("request {{n}}={sequence} got HTTP {}: {body}", response.status));
            }
            Err(error) => progress.fail(format!("request {{n}}={sequence}: {error}")),
        }
    }
    latencies
}
