//! Time-based one-time passwords as virtual MFA devices make them (RFC 6238: HMAC-SHA-1, 30 s
//! steps, 6 digits), pure: the caller passes the time. A code is checked against a window of
//! steps around the device's clock (the server's clock plus the drift Resync measured), and
//! only at steps after the last one accepted, so a code is never accepted twice.

use aws_lc_rs::hmac;

/// Seconds a code lasts.
pub(crate) const STEP_SECONDS: i64 = 30;

/// Steps either side of the device's clock a code is looked for when signing in (a step late
/// or early, as authenticator apps and AWS tolerate).
pub(crate) const SIGN_IN_WINDOW: i64 = 1;

/// Steps either side a pair of consecutive codes is looked for by EnableMFADevice (the codes
/// may be typed minutes after they were shown) and ResyncMFADevice (the device's clock may
/// have drifted far).
pub(crate) const ENABLE_WINDOW: i64 = 10;
pub(crate) const RESYNC_WINDOW: i64 = 240;

/// The time step of `seconds` since the epoch.
pub(crate) fn step_at(seconds: i64) -> i64 {
    seconds.div_euclid(STEP_SECONDS)
}

/// The six-digit code of `seed` at `step` (RFC 4226's dynamic truncation).
pub(crate) fn code(seed: &[u8], step: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let digest = tag.as_ref();
    let offset = usize::from(digest.last().copied().unwrap_or(0) & 0x0f);
    let word = digest
        .get(offset..offset + 4)
        .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
        .map_or(0, |bytes| u32::from_be_bytes(bytes) & 0x7fff_ffff);
    format!("{:06}", word % 1_000_000)
}

/// Whether two codes are equal, in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    aws_protocol::sigv4::constant_time_eq(a.as_bytes(), b.as_bytes())
}

/// The step within `window` of `around`, after `after`, at which `seed` shows `code`.
pub(crate) fn matching_step(seed: &[u8], code_given: &str, around: i64, window: i64, after: i64) -> Option<i64> {
    (around - window..=around + window).filter(|step| *step > after).find(|step| same(&code(seed, *step), code_given))
}

/// The step of the second of two consecutive codes within `window` of `around` (Enable and
/// Resync), after `after`.
pub(crate) fn consecutive(seed: &[u8], first: &str, second: &str, around: i64, window: i64, after: i64) -> Option<i64> {
    (around - window..=around + window)
        .filter(|step| *step > after)
        .find(|step| same(&code(seed, *step), first) && same(&code(seed, step + 1), second))
        .map(|step| step + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's appendix B, SHA-1 (its 8-digit values, cut to the last 6).
    #[test]
    fn codes_are_rfc_6238s() {
        let seed = b"12345678901234567890";
        for (time, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code(seed, step_at(time)), expected, "{time}");
        }
    }

    #[test]
    fn a_code_matches_only_within_its_window_and_after_the_last_step_used() {
        let seed = b"12345678901234567890";
        let now = step_at(1_111_111_111);
        let shown = code(seed, now - 1);
        assert_eq!(matching_step(seed, &shown, now, SIGN_IN_WINDOW, 0), Some(now - 1));
        assert_eq!(matching_step(seed, &shown, now + 2, SIGN_IN_WINDOW, 0), None, "too old");
        assert_eq!(matching_step(seed, &shown, now, SIGN_IN_WINDOW, now - 1), None, "used already");
        let (first, second) = (code(seed, now + 5), code(seed, now + 6));
        assert_eq!(consecutive(seed, &first, &second, now, ENABLE_WINDOW, 0), Some(now + 6));
        assert_eq!(consecutive(seed, &second, &first, now, ENABLE_WINDOW, 0), None, "in order only");
        assert_eq!(consecutive(seed, &first, &second, now - 20, ENABLE_WINDOW, 0), None);
    }
}
