//! A scheduled query's schedule expression, pure: parsed once, then asked when it next fires.
//!
//! Two forms, evaluated in UTC with minute precision: `rate(N minute|minutes|hour|hours|day|days)`
//! (fires every N units, counted from the epoch, so every replica agrees), and
//! `cron(MINUTES HOURS DAY-OF-MONTH MONTH DAY-OF-WEEK [YEAR])` (EventBridge's fields: each
//! `*`, `?`, a number, a range `a-b`, a step `*/n` or `a/n` or `a-b/n`, or a list of them;
//! day-of-week 1 to 7 is Sunday to Saturday, or `SUN`..`SAT`; month `JAN`..`DEC` too).
//! `L`, `W` and `#` are refused. `next_after` searches at most five years ahead, so a cron
//! expression that never fires (30 February) costs a bounded search and answers `None`.

/// Seconds in a minute, and how far ahead a cron expression is searched (five years).
const MINUTE: i64 = 60;
const HORIZON_DAYS: i64 = 5 * 366;

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every this many seconds (a whole number of minutes), from the epoch.
    Rate(i64),
    Cron(Box<Cron>),
}

/// The values each cron field allows: bit `n` set when value `n` is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    /// 0 (Sunday) to 6.
    weekdays: u64,
    /// Years from 1970, as a list (`None`: every year).
    years: Option<Vec<i64>>,
    /// Whether day-of-month and day-of-week were both restricted (either matches, as cron does).
    either_day: bool,
}

/// Why an expression is not a schedule, in words for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Schedule {
    pub fn parse(expression: &str) -> Result<Schedule, Invalid> {
        let expression = expression.trim();
        if let Some(body) = expression.strip_prefix("rate(").and_then(|rest| rest.strip_suffix(')')) {
            return rate(body);
        }
        if let Some(body) = expression.strip_prefix("cron(").and_then(|rest| rest.strip_suffix(')')) {
            return Ok(Schedule::Cron(Box::new(cron(body)?)));
        }
        Err(Invalid(format!(
            "The schedule expression {expression} is neither rate(value unit) nor cron(minutes hours day-of-month month day-of-week [year])."
        )))
    }

    /// The first time it fires strictly after `after` (epoch seconds), on a whole minute;
    /// `None` when it never does within the horizon.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        match self {
            Schedule::Rate(period) => Some((after.div_euclid(*period) + 1) * period),
            Schedule::Cron(cron) => cron.next_after(after),
        }
    }
}

fn rate(body: &str) -> Result<Schedule, Invalid> {
    let mut parts = body.split_whitespace();
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Invalid(format!("The rate expression rate({body}) is not rate(value unit).")));
    };
    let value: i64 = value
        .parse()
        .ok()
        .filter(|value| *value >= 1 && *value <= 366 * 24 * 60)
        .ok_or_else(|| Invalid(format!("The rate value {value} is not a positive whole number.")))?;
    let unit = match (unit, value) {
        ("minute", 1) | ("minutes", 2..) => MINUTE,
        ("hour", 1) | ("hours", 2..) => 60 * MINUTE,
        ("day", 1) | ("days", 2..) => 24 * 60 * MINUTE,
        _ => {
            return Err(Invalid(format!(
                "The rate unit {unit} is not minute(s), hour(s) or day(s) (singular for 1, plural otherwise)."
            )));
        }
    };
    Ok(Schedule::Rate(value * unit))
}

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn cron(body: &str) -> Result<Cron, Invalid> {
    let fields: Vec<&str> = body.split_whitespace().collect();
    let (minutes, hours, days, months, weekdays, years) = match fields.as_slice() {
        [m, h, d, mo, w] => (*m, *h, *d, *mo, *w, "*"),
        [m, h, d, mo, w, y] => (*m, *h, *d, *mo, *w, *y),
        _ => return Err(Invalid(format!("The cron expression cron({body}) does not have 5 or 6 fields."))),
    };
    let any = |field: &str| field == "*" || field == "?";
    let weekday_bits = field(weekdays, 1, 7, &WEEKDAYS, "day-of-week")?;
    // Day-of-week 1..7 (Sunday..Saturday) to bits 0..6.
    let weekdays_bits = weekday_bits >> 1;
    let year_list = if any(years) {
        None
    } else {
        let bits = field_wide(years, 1970, 2199, "year")?;
        Some(bits)
    };
    Ok(Cron {
        minutes: field(minutes, 0, 59, &[], "minutes")?,
        hours: field(hours, 0, 23, &[], "hours")?,
        days: field(days, 1, 31, &[], "day-of-month")?,
        months: field(months, 1, 12, &MONTHS, "month")?,
        weekdays: weekdays_bits,
        years: year_list,
        either_day: !any(days) && !any(weekdays),
    })
}

/// One value: a number in range, or a name (`names[0]` is `low`).
fn value(text: &str, low: i64, high: i64, names: &[&str], what: &str) -> Result<i64, Invalid> {
    let upper = text.to_ascii_uppercase();
    let named = names.iter().position(|name| *name == upper).map(|at| low + i64::try_from(at).unwrap_or(0));
    named
        .or_else(|| text.parse::<i64>().ok())
        .filter(|value| (low..=high).contains(value))
        .ok_or_else(|| Invalid(format!("The {what} field's value {text} is not between {low} and {high}.")))
}

/// The values a field allows, from `low` to `high`.
fn values(text: &str, low: i64, high: i64, names: &[&str], what: &str) -> Result<Vec<i64>, Invalid> {
    let mut allowed = Vec::new();
    for part in text.split(',') {
        if part.contains('#') || (names.is_empty() && part.contains(['L', 'W'])) {
            return Err(Invalid(format!("The {what} field's {part} (L, W or #) is not supported.")));
        }
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: i64 = step
                    .parse()
                    .ok()
                    .filter(|step| *step >= 1)
                    .ok_or_else(|| Invalid(format!("The {what} field's step {step} is not a positive number.")))?;
                (range, step)
            }
            None => (part, 1),
        };
        let (first, last) = match range {
            "*" | "?" => (low, high),
            _ => match range.split_once('-') {
                Some((a, b)) => (value(a, low, high, names, what)?, value(b, low, high, names, what)?),
                None if part.contains('/') => (value(range, low, high, names, what)?, high),
                None => {
                    let single = value(range, low, high, names, what)?;
                    (single, single)
                }
            },
        };
        if first > last {
            return Err(Invalid(format!("The {what} field's range {range} runs backwards.")));
        }
        allowed.extend((first..=last).step_by(usize::try_from(step).unwrap_or(1)));
    }
    Ok(allowed)
}

/// A field of at most 64 values as bits.
fn field(text: &str, low: i64, high: i64, names: &[&str], what: &str) -> Result<u64, Invalid> {
    Ok(values(text, low, high, names, what)?.into_iter().fold(0, |bits, value| bits | (1 << value)))
}

fn field_wide(text: &str, low: i64, high: i64, what: &str) -> Result<Vec<i64>, Invalid> {
    values(text, low, high, &[], what)
}

fn has(bits: u64, value: i64) -> bool {
    u32::try_from(value).ok().and_then(|value| bits.checked_shr(value)).is_some_and(|bits| bits & 1 == 1)
}

/// The civil date (year, month 1..12, day 1..31) of a day count from the epoch (Hinnant's
/// algorithm).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl Cron {
    fn day_matches(&self, days: i64) -> bool {
        let (year, month, day) = civil(days);
        // 1970-01-01 was a Thursday (4).
        let weekday = (days + 4).rem_euclid(7);
        let by_month = has(self.days, day);
        let by_week = has(self.weekdays, weekday);
        let day_ok = if self.either_day { by_month || by_week } else { by_month && by_week };
        day_ok && has(self.months, month) && self.years.as_ref().is_none_or(|years| years.contains(&year))
    }

    fn next_after(&self, after: i64) -> Option<i64> {
        let start = (after.div_euclid(MINUTE) + 1) * MINUTE;
        let first_day = start.div_euclid(86_400);
        for days in first_day..first_day + HORIZON_DAYS {
            if !self.day_matches(days) {
                continue;
            }
            for hour in 0..24 {
                if !has(self.hours, hour) {
                    continue;
                }
                for minute in 0..60 {
                    let at = days * 86_400 + hour * 3600 + minute * MINUTE;
                    if at >= start && has(self.minutes, minute) {
                        return Some(at);
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    // 2026-12-08T02:30:00Z, a Tuesday.
    const NOW: i64 = 1_796_697_000;

    #[test]
    fn a_rate_fires_on_its_period_from_the_epoch() {
        let every_five = Schedule::parse("rate(5 minutes)").unwrap();
        assert_eq!(every_five.next_after(NOW), Some(NOW + 300));
        assert_eq!(every_five.next_after(NOW + 1), Some(NOW + 300));
        assert_eq!(Schedule::parse("rate(1 hour)").unwrap().next_after(NOW), Some(NOW + 1800));
        for bad in ["rate(1 minutes)", "rate(2 minute)", "rate(0 minutes)", "rate(5 weeks)", "rate(five minutes)"] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_cron_fires_on_the_next_matching_minute() {
        let at = |expression: &str| Schedule::parse(expression).unwrap().next_after(NOW).unwrap();
        assert_eq!(at("cron(* * * * ? *)"), NOW + 60);
        assert_eq!(at("cron(0 * * * ? *)"), NOW + 1800);
        assert_eq!(at("cron(*/15 * * * ? *)"), NOW + 900);
        assert_eq!(at("cron(0 9 * * ? *)"), NOW + 6 * 3600 + 1800);
        // Every Monday at 08:00: 2026-12-14.
        assert_eq!(at("cron(0 8 ? * MON *)"), NOW - 9000 + 6 * 86_400 + 8 * 3600);
        // The 1st of January 2027.
        assert_eq!(at("cron(0 0 1 JAN ? 2027)"), 1_798_761_600);
        assert_eq!(at("cron(30 2 * * *)"), NOW + 86_400);
    }

    #[test]
    fn what_cron_cannot_say_is_refused() {
        let never = Schedule::parse("cron(0 0 30 2 ? *)").unwrap();
        assert_eq!(never.next_after(NOW), None, "30 February");
        for bad in [
            "cron(0 0 L * ? *)",
            "cron(0 0 ? * 2#1 *)",
            "cron(60 * * * ? *)",
            "cron(* *)",
            "cron(0 0 5-1 * ? *)",
            "every minute",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn civil_dates_are_the_calendars() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(NOW / 86_400), (2026, 12, 8));
        assert_eq!(civil(11_016), (2000, 2, 29));
    }
}
