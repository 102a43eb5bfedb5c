//! The AWS managed policy catalogue's first use, timed once per process (a `OnceLock` cannot
//! be timed twice): inflating and indexing the artefact, finding a policy, and parsing
//! documents on first need. `cargo bench -p server --bench catalogue` (optimised), or
//! `cargo test -p server --bench catalogue` for a quick unoptimised run.

#![allow(clippy::print_stdout, reason = "a bench binary reports its measurements")]

use std::time::Instant;

use server::managed;

fn timed<T>(what: &str, work: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = work();
    println!("{what}: {:.2} ms", started.elapsed().as_secs_f64() * 1e3);
    result
}

fn main() {
    let all = timed("first use: inflate and index the catalogue", managed::catalogue);
    println!(
        "  {} policies, {} bytes of documents",
        all.len(),
        all.iter().map(|policy| policy.document.len()).sum::<usize>()
    );
    timed("find 1,000 policies by ARN", || {
        all.iter().cycle().take(1000).filter(|policy| managed::find(policy.arn).is_some()).count()
    });
    timed("first parse of ReadOnlyAccess (the largest document)", || {
        managed::parsed("arn:aws:iam::aws:policy/ReadOnlyAccess").is_some()
    });
    timed("its second use (parsed once)", || managed::parsed("arn:aws:iam::aws:policy/ReadOnlyAccess").is_some());
    let parsed =
        timed("first parse of every document", || all.iter().filter(|policy| policy.policy().is_some()).count());
    println!("  {parsed} parsed");
}
