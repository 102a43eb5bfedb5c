//! Capped exponential backoff with jitter, for everything the agent retries (token refreshes,
//! registration, polls, reports, log shipping, Docker listings).
//!
//! Guarantees: the `n`th consecutive failure waits between half and all of
//! `min(1 s * 2^n, 60 s)`, so a fleet does not retry in step and no retry loop is ever busy
//! or waits more than a minute; a success starts the next failure from one second again.

use std::time::Duration;

/// Capped exponential backoff with jitter: the `n`th consecutive failure waits a random
/// time between half and all of `min(FIRST * 2^n, CAP)`.
#[derive(Debug, Clone)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_secs(1);
    pub const CAP: Duration = Duration::from_secs(60);

    pub fn new() -> Backoff {
        Backoff { failures: 0 }
    }

    /// The delay before the next attempt after one more failure; `random` is any random
    /// number (it picks the point in the jitter window).
    pub fn next_delay(&mut self, random: u64) -> Duration {
        let ceiling = Self::FIRST.saturating_mul(1u32.checked_shl(self.failures).unwrap_or(u32::MAX)).min(Self::CAP);
        self.failures = self.failures.saturating_add(1).min(31);
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        let floor_ms = ceiling_ms / 2;
        Duration::from_millis(floor_ms + random % (ceiling_ms - floor_ms + 1))
    }

    /// After a success, the next failure starts from [`Backoff::FIRST`] again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Whether the last attempt failed.
    pub fn failing(&self) -> bool {
        self.failures > 0
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new()
    }
}

/// A random number for jitter (0 if the system has none to give: no jitter then).
pub fn jitter() -> u64 {
    let mut bytes = [0u8; 8];
    match getrandom::getrandom(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_a_minute_with_jitter() {
        let mut backoff = Backoff::new();
        assert!(!backoff.failing());
        // The top of each window (a random number that lands on the ceiling) ...
        let ceilings: Vec<u64> =
            (0..10).map(|_| backoff.next_delay(u64::MAX).as_millis().try_into().unwrap()).collect();
        // u64::MAX % (window + 1) is some point in the window; check the bounds instead.
        let expected = [1000u64, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000];
        for (got, ceiling) in ceilings.iter().zip(expected) {
            assert!((ceiling / 2..=ceiling).contains(got), "{got} ms not within [{}, {ceiling}]", ceiling / 2);
        }
        assert!(backoff.failing());
        backoff.reset();
        assert_eq!(backoff.next_delay(0), Duration::from_millis(500), "the bottom of the first window");
        assert_eq!(backoff.next_delay(1000), Duration::from_millis(2000), "the top of the second");
        let mut long = Backoff::new();
        for _ in 0..100 {
            assert!(long.next_delay(jitter()) <= Backoff::CAP);
        }
    }
}
