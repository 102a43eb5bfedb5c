//! `--since`: how far back the generation reads, as a whole number of minutes, hours or days
//! (`90m`, `24h`, `7d`), at most 90 days (the longest window Access Analyzer generates from).

/// The longest window, in seconds.
pub const MAX_SECONDS: u64 = 90 * 24 * 60 * 60;

/// The window's length in seconds.
pub fn parse_since(text: &str) -> Result<u64, String> {
    let expected =
        || format!("--since `{text}`: expected a whole number of minutes, hours or days, such as 90m, 24h or 7d");
    let trimmed = text.trim();
    let split = trimmed.len().saturating_sub(1);
    let (number, unit) = (trimmed.get(..split).unwrap_or_default(), trimmed.get(split..).unwrap_or_default());
    let unit_seconds: u64 = match unit {
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        _ => return Err(expected()),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(expected());
    }
    let seconds = number.parse::<u64>().ok().and_then(|n| n.checked_mul(unit_seconds));
    match seconds {
        Some(0) => Err(format!("--since `{text}`: the window must be longer than nothing")),
        Some(seconds) if seconds <= MAX_SECONDS => Ok(seconds),
        _ => Err(format!("--since `{text}`: at most 90 days (90d), the longest window a policy is generated from")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn minutes_hours_and_days_up_to_ninety_days() {
        for (text, seconds) in [
            ("90m", 5_400),
            ("24h", 86_400),
            ("7d", 604_800),
            ("90d", MAX_SECONDS),
            (" 1m ", 60),
            ("2160h", MAX_SECONDS),
        ] {
            assert_eq!(parse_since(text), Ok(seconds), "{text}");
        }
        for (text, why) in [
            ("", "expected a whole number"),
            ("24", "expected a whole number"),
            ("h", "expected a whole number"),
            ("1.5h", "expected a whole number"),
            ("-1d", "expected a whole number"),
            ("+1d", "expected a whole number"),
            ("1w", "expected a whole number"),
            ("1H", "expected a whole number"),
            ("1dd", "expected a whole number"),
            ("0m", "longer than nothing"),
            ("91d", "at most 90 days"),
            ("129601m", "at most 90 days"),
            ("99999999999999999999d", "at most 90 days"),
            ("١d", "expected a whole number"),
        ] {
            let error = parse_since(text).unwrap_err();
            assert!(error.contains(why), "{text}: {error}");
        }
    }
}
