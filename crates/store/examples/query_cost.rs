//! Measures what one point read costs through `Store::query` on SQLite: wall time per query
//! at concurrency 1 and 8, and CPU time per query (the process's user+system time).
//!
//!   cargo run --release -p store --example query_cost

// A measuring tool: its output is its purpose.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use store::{Store, Value};

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("homeport-query-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Store::open(dir.join("db").to_str().ok_or("not UTF-8")?).await?;
    store.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)", vec![]).await?;
    for id in 0..1_000 {
        store
            .execute("INSERT INTO t (id, name) VALUES (?, ?)", vec![Value::Int(id), format!("row-{id}").into()])
            .await?;
    }
    for concurrency in [1_usize, 8] {
        let per_task = 20_000 / concurrency;
        let (cpu, wall) = (cpu_seconds(), Instant::now());
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..concurrency {
            let store = store.clone();
            tasks.spawn(async move {
                for i in 0..per_task {
                    let id = i64::try_from((i * 7 + worker) % 1_000).unwrap_or(0);
                    store.query("SELECT name FROM t WHERE id = ?", vec![Value::Int(id)]).await?;
                }
                Ok::<(), store::StoreError>(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        let queries = (per_task * concurrency) as f64;
        println!(
            "concurrency {concurrency}: {:.1} us wall, {:.1} us CPU per query",
            wall.elapsed().as_secs_f64() / queries * 1e6,
            (cpu_seconds() - cpu) / queries * 1e6
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
