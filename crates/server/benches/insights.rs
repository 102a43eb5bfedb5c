//! Logs Insights over a large log group in the embedded SQLite store: loads
//! `HOMEPORT_BENCH_EVENTS` events (10,000,000 by default; kept between runs in
//! `$TMPDIR/homeport-insights-bench-batches-N.db`) into one group of ten streams, one every
//! 50 ms (about six days), stored as PutLogEvents stores them in batches of 100 per stream,
//! then times the queries the issue asks for, each run as StartQuery runs it
//! (the same paged index scan and evaluation, awaited here): `stats count(*) by bin(5m)`, and
//! a `filter` with a `parse`, once aggregated and once answering rows.
//! `cargo bench -p server --bench insights`.

#![allow(clippy::print_stdout, reason = "a bench binary reports its measurements")]

use std::time::Instant;

use server::bench::{append_log_events, migrate, run_logs_insights_query};
use store::{Durability, Statement, Store, Value};

/// The shipped binary's allocator, so allocation costs what it costs in the server.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
const GROUP: &str = "/bench/insights";
const START_MS: i64 = 1_700_000_000_000;
const STEP_MS: i64 = 50;
const STREAMS: u64 = 10;
/// Events per stored batch (one PutLogEvents call of an agent).
const BATCH: u64 = 100;

fn message(i: u64) -> String {
    // A fixed pseudo-random sequence, so every run loads the same events.
    let x = i.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407) >> 33;
    let pick = |options: &[&'static str], n: u64| {
        options.get(usize::try_from(n).unwrap_or(0) % options.len()).copied().unwrap_or_default()
    };
    let verb = pick(&["GET", "GET", "GET", "POST", "PUT", "DELETE"], x);
    let resource = pick(&["items", "users", "orders", "carts"], x / 7);
    let code = pick(&["200", "200", "200", "200", "201", "404", "500", "503"], x / 31);
    let took = x / 251 % 1000;
    format!("{verb} /api/{resource}/{} {code} took={took} user=u{}", x % 10_000, x / 13 % 500)
}

async fn load(store: &Store, events: u64) {
    let loaded = store
        .query(
            "SELECT COALESCE(CAST(SUM(event_count) AS BIGINT), 0) FROM log_batches WHERE account_id = ? AND region = ? AND group_name = ?",
            vec![ACCOUNT.into(), REGION.into(), GROUP.into()],
        )
        .await
        .ok()
        .and_then(|rows| rows.first().and_then(|row| row.int(0).ok()))
        .unwrap_or(0);
    if u64::try_from(loaded).unwrap_or(0) == events {
        println!("{events} events already loaded");
        return;
    }
    let started = Instant::now();
    let now = START_MS;
    let mut setup = vec![Statement::new(
        "INSERT INTO log_groups (account_id, region, name, created_at) VALUES (?, ?, ?, ?)",
        vec![ACCOUNT.into(), REGION.into(), GROUP.into(), Value::Int(now)],
    )];
    for stream in 0..STREAMS {
        setup.push(Statement::new(
            "INSERT INTO log_streams (account_id, region, group_name, name, created_at) VALUES (?, ?, ?, ?, ?)",
            vec![ACCOUNT.into(), REGION.into(), GROUP.into(), format!("stream-{stream}").into(), Value::Int(now)],
        ));
    }
    if let Err(error) = store.transaction(setup).await {
        println!("setup: {error}");
        return;
    }
    // Event `i` is in stream `i % STREAMS`, at `START_MS + i * STEP_MS`: each stream's next
    // BATCH events go in as one PutLogEvents batch, as an agent ships them.
    let per_round = STREAMS * BATCH;
    let mut i = 0_u64;
    while i < events {
        let round_end = (i + per_round).min(events);
        let mut batches: Vec<Vec<(i64, String)>> = vec![Vec::new(); usize::try_from(STREAMS).unwrap_or(0)];
        for n in i..round_end {
            let time = START_MS + i64::try_from(n).unwrap_or(0) * STEP_MS;
            if let Some(batch) = batches.get_mut(usize::try_from(n % STREAMS).unwrap_or(0)) {
                batch.push((time, message(n)));
            }
        }
        for (stream, batch) in batches.iter().enumerate() {
            let Some((last, _)) = batch.last() else { continue };
            let borrowed: Vec<(i64, &str)> = batch.iter().map(|(time, text)| (*time, text.as_str())).collect();
            let names = (GROUP, format!("stream-{stream}"));
            if let Err(error) =
                append_log_events(store, (ACCOUNT, REGION), (names.0, &names.1), &borrowed, last + 20).await
            {
                println!("loading: {error}");
                return;
            }
        }
        let before = i;
        i = round_end;
        if i / 1_000_000 != before / 1_000_000 {
            println!("  {i} events loaded ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
    println!("loaded {events} events in {:.1} s", started.elapsed().as_secs_f64());
}

/// This process's CPU time (user and system) in seconds, from `/proc/self/stat` (clock ticks
/// of 1/100 s): on a shared machine, wall time alone says little.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are the 14th and 15th fields, the 12th and 13th after the name.
    (ticks(11) + ticks(12)) / 100.0
}

async fn time_query(store: &Store, events: u64, text: &str) {
    let end = START_MS + i64::try_from(events).unwrap_or(0) * STEP_MS;
    let started = Instant::now();
    let cpu = cpu_seconds();
    match run_logs_insights_query(store, ACCOUNT, REGION, GROUP, (START_MS, end), text).await {
        Ok((results, statistics)) => {
            let seconds = started.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu;
            let rows = serde_json::from_str::<serde_json::Value>(&results)
                .ok()
                .and_then(|rows| rows.as_array().map(Vec::len))
                .unwrap_or(0);
            println!(
                "{text}\n  {seconds:.2} s wall, {cpu:.2} s CPU, {:.0} events/s, {rows} rows; {statistics}",
                events as f64 / seconds
            );
        }
        Err(error) => println!("{text}\n  failed: {error}"),
    }
}

fn main() {
    let events: u64 = std::env::var("HOMEPORT_BENCH_EVENTS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000_000);
    let path = std::env::temp_dir().join(format!("homeport-insights-bench-batches-{events}.db"));
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread().enable_all().build() else {
        println!("no runtime");
        return;
    };
    runtime.block_on(async {
        let store = match Store::open_with(&path.to_string_lossy(), Durability::ProcessCrash).await {
            Ok(store) => store,
            Err(error) => {
                println!("{}: {error}", path.display());
                return;
            }
        };
        if let Err(error) = migrate(&store, REGION).await {
            println!("migrations: {error}");
            return;
        }
        load(&store, events).await;
        for query in [
            "stats count(*) by bin(5m)",
            "parse @message '* * * took=* user=*' as verb, path, code, took, user | filter code >= 500 and took > 900 | stats count(*) as slow by verb",
            "filter @message like 'POST' | parse @message '* * * took=*' as verb, path, code, took | filter took >= 999 | fields path, took | sort took desc | limit 20",
        ] {
            time_query(&store, events, query).await;
        }
    });
}
