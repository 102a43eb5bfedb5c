//! Load-shape measurement for tests: how much longer a larger input takes. Each side is run
//! repeatedly for at least [`SPAN`] and charged the CPU time its thread spent per run (from
//! `/proc/thread-self/schedstat`, so a busy machine's preemptions do not count; wall time where
//! the system does not say), the least of three interleaved spans.

use std::time::{Duration, Instant};

/// How long each measurement runs: long enough that the kernel's tick-grained CPU accounting
/// is precise to a few percent.
const SPAN: Duration = Duration::from_millis(200);

/// This thread's time on a CPU so far, if the system says.
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(text.split_whitespace().next()?.parse().ok()?))
}

fn per_run(run: &impl Fn()) -> Duration {
    let (cpu, wall) = (cpu_time(), Instant::now());
    let mut runs = 0_u32;
    while runs == 0 || wall.elapsed() < SPAN {
        run();
        runs += 1;
    }
    let spent = match (cpu, cpu_time()) {
        (Some(before), Some(after)) if after > before => after - before,
        _ => wall.elapsed(),
    };
    spent / runs
}

/// How many times longer `large` takes than `small`.
pub fn ratio(small: impl Fn(), large: impl Fn()) -> f64 {
    let (mut fastest_small, mut fastest_large) = (Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        fastest_small = fastest_small.min(per_run(&small));
        fastest_large = fastest_large.min(per_run(&large));
    }
    fastest_large.as_secs_f64() / fastest_small.as_secs_f64().max(1e-9)
}
