//! The values a query computes with: strings, numbers, times (epoch milliseconds) and truth
//! values, as Insights renders them in results (numbers without a needless fraction, times as
//! `YYYY-MM-DD HH:MM:SS.mmm` in UTC). An absent field is `None`, never a value.

use std::cmp::Ordering;

/// One value of a field or an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(f64),
    /// Epoch milliseconds (`@timestamp`, `@ingestionTime`, `bin`, `datefloor`).
    Time(i64),
    Bool(bool),
}

impl Value {
    /// As a number, when it is one or a string that reads as one.
    pub fn number(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Time(t) => Some(*t as f64),
            Value::Str(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        }
    }

    /// As a time in epoch milliseconds: a time, or a number of milliseconds.
    pub fn time(&self) -> Option<i64> {
        match self {
            Value::Time(t) => Some(*t),
            Value::Num(n) if n.is_finite() => Some(*n as i64),
            _ => None,
        }
    }

    /// Whether it counts as true in a `filter`: a true comparison, a non-zero number, a
    /// non-empty string.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Num(n) => *n != 0.0,
            Value::Time(_) => true,
            Value::Str(s) => !s.is_empty(),
        }
    }

    /// The text Insights shows for it.
    pub fn render(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Num(n) => render_number(*n),
            Value::Time(t) => render_time(*t),
            Value::Bool(b) => b.to_string(),
        }
    }

    /// Compares two values: numerically when both read as numbers (a time with a time or a
    /// number), else as text.
    pub fn compare(&self, other: &Value) -> Ordering {
        let numeric = !matches!((self, other), (Value::Str(_), Value::Str(_)));
        if numeric {
            if let (Some(a), Some(b)) = (self.number(), other.number()) {
                return a.partial_cmp(&b).unwrap_or(Ordering::Equal);
            }
        }
        self.render().cmp(&other.render())
    }
}

/// A number as Insights shows it: integers without a fraction.
pub fn render_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

/// Epoch milliseconds as `YYYY-MM-DD HH:MM:SS.mmm` (UTC).
pub fn render_time(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// The proleptic Gregorian date of a count of days since 1970-01-01 (Howard Hinnant's
/// algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A value as a key of a group or of `dedup`: equal values, equal keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Absent,
    Str(String),
    Num(u64),
    Time(i64),
    Bool(bool),
}

impl Key {
    pub fn of(value: Option<&Value>) -> Key {
        match value {
            None => Key::Absent,
            Some(Value::Str(s)) => Key::Str(s.clone()),
            Some(Value::Num(n)) => Key::Num(if *n == 0.0 { 0 } else { n.to_bits() }),
            Some(Value::Time(t)) => Key::Time(*t),
            Some(Value::Bool(b)) => Key::Bool(*b),
        }
    }

    pub fn value(&self) -> Option<Value> {
        match self {
            Key::Absent => None,
            Key::Str(s) => Some(Value::Str(s.clone())),
            Key::Num(bits) => Some(Value::Num(f64::from_bits(*bits))),
            Key::Time(t) => Some(Value::Time(*t)),
            Key::Bool(b) => Some(Value::Bool(*b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_render_as_insights_shows_them() {
        assert_eq!(render_time(0), "1970-01-01 00:00:00.000");
        assert_eq!(render_time(1_700_000_123_456), "2023-11-14 22:15:23.456");
        assert_eq!(render_time(951_782_400_000), "2000-02-29 00:00:00.000");
        assert_eq!(render_time(-1), "1969-12-31 23:59:59.999");
    }

    #[test]
    fn numbers_render_without_a_needless_fraction() {
        assert_eq!(render_number(3.0), "3");
        assert_eq!(render_number(2.5), "2.5");
        assert_eq!(render_number(-7.0), "-7");
    }

    #[test]
    fn comparisons_are_numeric_when_they_can_be() {
        assert_eq!(Value::Str("10".into()).compare(&Value::Num(9.0)), Ordering::Greater);
        assert_eq!(Value::Str("10".into()).compare(&Value::Str("9".into())), Ordering::Less, "text with text");
        assert_eq!(Value::Time(5).compare(&Value::Num(5.0)), Ordering::Equal);
    }
}
