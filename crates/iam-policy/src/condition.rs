//! The `Condition` element: operators, set qualifiers, `...IfExists`, and how missing keys
//! evaluate.
//!
//! Semantics, from the IAM User Guide's condition operator reference:
//! - several operators in a block, and several keys under one operator, are ANDed; several
//!   values for one key are ORed;
//! - a key missing from the context makes a positive operator false and a negated one
//!   (`StringNotEquals`, `NotIpAddress`, `ArnNotLike`, ...) true; `...IfExists` makes it
//!   true; `Null` tests presence;
//! - `ForAllValues:` is true for a missing or empty key, else every request value must match;
//!   `ForAnyValue:` is false for a missing key, else some request value must match. With a
//!   negated operator, "match" means "matches none of the policy values";
//! - without a qualifier, a positive operator is true if any request value matches any policy
//!   value, and a negated one is the negation of that;
//! - a policy value whose variable cannot be resolved matches nothing;
//! - `ForAllValues:Null` is always true and `ForAnyValue:Null` always false.
//!
//! A value that cannot be read as the operator's type (a number that is not a number, say)
//! simply does not match; evaluation never fails.

use std::net::IpAddr;

use crate::context::Context;
use crate::pattern::{Case, Pattern, Segments};
use crate::variables::Template;

/// One operator block entry: `"StringEquals": {"aws:username": ["a", "b"]}` holds one entry
/// per key.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    /// The key as written in the policy.
    pub key: String,
    /// The key lowercased, and its hash, for lookups.
    pub(crate) lookup_key: String,
    lookup_hash: u64,
    pub(crate) values: Vec<PolicyValue>,
    /// Shared by every identical condition of the policy (same operator, key and values):
    /// within one request they decide alike, so one evaluation serves them all.
    pub(crate) slot: Option<u32>,
    /// Where the key's values are in the document (a string or an array).
    pub span: crate::json::Span,
    /// The operator as written (`ForAllValues:StringLike`), for messages.
    pub operator_name: String,
}

/// A parsed condition operator such as `ForAnyValue:StringNotLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    pub qualifier: Qualifier,
    pub base: Base,
    pub negated: bool,
    pub if_exists: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    None,
    ForAllValues,
    ForAnyValue,
}

/// The positive comparison an operator is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Ordering),
    Date(Ordering),
    Bool,
    BinaryEquals,
    IpAddress,
    Arn,
    Null,
}

/// The comparison of a numeric or date operator: request value `op` policy value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// Operator names without qualifier or `IfExists`, as IAM spells them.
const OPERATORS: &[(&str, Base, bool)] = &[
    ("StringEquals", Base::StringEquals, false),
    ("StringNotEquals", Base::StringEquals, true),
    ("StringEqualsIgnoreCase", Base::StringEqualsIgnoreCase, false),
    ("StringNotEqualsIgnoreCase", Base::StringEqualsIgnoreCase, true),
    ("StringLike", Base::StringLike, false),
    ("StringNotLike", Base::StringLike, true),
    ("NumericEquals", Base::Numeric(Ordering::Equal), false),
    ("NumericNotEquals", Base::Numeric(Ordering::Equal), true),
    ("NumericLessThan", Base::Numeric(Ordering::Less), false),
    ("NumericLessThanEquals", Base::Numeric(Ordering::LessOrEqual), false),
    ("NumericGreaterThan", Base::Numeric(Ordering::Greater), false),
    ("NumericGreaterThanEquals", Base::Numeric(Ordering::GreaterOrEqual), false),
    ("DateEquals", Base::Date(Ordering::Equal), false),
    ("DateNotEquals", Base::Date(Ordering::Equal), true),
    ("DateLessThan", Base::Date(Ordering::Less), false),
    ("DateLessThanEquals", Base::Date(Ordering::LessOrEqual), false),
    ("DateGreaterThan", Base::Date(Ordering::Greater), false),
    ("DateGreaterThanEquals", Base::Date(Ordering::GreaterOrEqual), false),
    ("Bool", Base::Bool, false),
    ("BinaryEquals", Base::BinaryEquals, false),
    ("IpAddress", Base::IpAddress, false),
    ("NotIpAddress", Base::IpAddress, true),
    ("ArnEquals", Base::Arn, false),
    ("ArnLike", Base::Arn, false),
    ("ArnNotEquals", Base::Arn, true),
    ("ArnNotLike", Base::Arn, true),
    ("Null", Base::Null, false),
];

impl Operator {
    /// Parses an operator name; `None` for a name IAM does not know.
    pub fn parse(name: &str) -> Option<Operator> {
        let (qualifier, rest) = if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Qualifier::ForAllValues, rest)
        } else if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Qualifier::ForAnyValue, rest)
        } else {
            (Qualifier::None, name)
        };
        let (if_exists, base_name) = match rest.strip_suffix("IfExists") {
            Some(base_name) => (true, base_name),
            None => (false, rest),
        };
        let &(_, base, negated) = OPERATORS.iter().find(|(known, _, _)| *known == base_name)?;
        if base == Base::Null && if_exists {
            return None;
        }
        Some(Operator { qualifier, base, negated, if_exists })
    }
}

/// A condition value from the policy, prepared for its operator.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PolicyValue {
    pub(crate) text: String,
    template: Option<Template>,
    prepared: Prepared,
}

/// The typed form of a plain (variable-free) value, computed once at parse time.
#[derive(Debug, Clone, PartialEq)]
enum Prepared {
    Text,
    Glob(Pattern),
    Number(f64),
    Date(f64),
    Network(Network),
    Unreadable,
}

impl PolicyValue {
    pub(crate) fn new(text: String, base: Base, variables: bool) -> PolicyValue {
        let template = if variables { Template::parse(&text) } else { None };
        let prepared = if template.is_some() { Prepared::Text } else { prepare(&text, base) };
        PolicyValue { text, template, prepared }
    }

    pub(crate) fn template(&self) -> Option<&Template> {
        self.template.as_ref()
    }
}

fn prepare(text: &str, base: Base) -> Prepared {
    let typed = match base {
        Base::StringLike => Some(Prepared::Glob(Pattern::glob(text, Case::Sensitive))),
        Base::Arn => Some(Prepared::Glob(Pattern::arn(text, Segments::Strict))),
        Base::Numeric(_) => parse_number(text).map(Prepared::Number),
        Base::Date(_) => parse_date(text).map(Prepared::Date),
        Base::IpAddress => Network::parse(text).map(Prepared::Network),
        _ => return Prepared::Text,
    };
    typed.unwrap_or(Prepared::Unreadable)
}

impl Condition {
    pub(crate) fn new(operator: Operator, key: String, values: Vec<PolicyValue>) -> Condition {
        let lookup_key = key.to_ascii_lowercase();
        let lookup_hash = crate::context::key_hash(&lookup_key);
        Condition {
            operator,
            key,
            lookup_key,
            lookup_hash,
            values,
            slot: None,
            span: crate::json::Span::default(),
            operator_name: String::new(),
        }
    }

    /// Text identifying the condition exactly, for sharing a slot; `None` when a value holds
    /// a variable (sharing would still be sound, but such conditions are rare).
    pub(crate) fn identity(&self) -> Option<String> {
        if self.values.iter().any(|value| value.template.is_some()) {
            return None;
        }
        let mut text = format!("{:?}\u{0}{}", self.operator, self.lookup_key);
        for value in &self.values {
            text.push('\u{0}');
            text.push_str(&value.text);
        }
        Some(text)
    }

    /// The keys this condition reads: its own and those of variables in its values.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.key.as_str())
            .chain(self.values.iter().filter_map(PolicyValue::template).flat_map(Template::keys))
    }

    /// Evaluates this entry against the context.
    pub fn matches(&self, context: &Context) -> bool {
        let op = self.operator;
        let present = context.get_hashed(self.lookup_hash, &self.lookup_key);
        if op.base == Base::Null {
            // Documented (Access Analyzer, "Null with qualifier"): with ForAllValues the
            // condition is always true, with ForAnyValue always false.
            match op.qualifier {
                Qualifier::ForAllValues => return true,
                Qualifier::ForAnyValue => return false,
                Qualifier::None => {}
            }
            let absent = present.is_none_or(|value| value.values().is_empty());
            return self.values.iter().any(|value| {
                (value.text.eq_ignore_ascii_case("true") && absent)
                    || (value.text.eq_ignore_ascii_case("false") && !absent)
            });
        }
        let Some(present) = present else {
            return op.if_exists
                || match op.qualifier {
                    Qualifier::ForAllValues => true,
                    Qualifier::ForAnyValue => false,
                    Qualifier::None => op.negated,
                };
        };
        let requested = present.values();
        let matches_policy =
            |request_value: &str| self.values.iter().any(|value| compare(op.base, value, request_value, context));
        match (op.qualifier, op.negated) {
            (Qualifier::None, negated) => requested.iter().any(|r| matches_policy(r)) != negated,
            (Qualifier::ForAnyValue, false) => requested.iter().any(|r| matches_policy(r)),
            (Qualifier::ForAnyValue, true) => requested.iter().any(|r| !matches_policy(r)),
            (Qualifier::ForAllValues, false) => requested.iter().all(|r| matches_policy(r)),
            (Qualifier::ForAllValues, true) => requested.iter().all(|r| !matches_policy(r)),
        }
    }
}

/// The positive comparison of one policy value with one request value.
fn compare(base: Base, value: &PolicyValue, request: &str, context: &Context) -> bool {
    let Some(template) = &value.template else {
        return compare_prepared(base, &value.text, &value.prepared, request);
    };
    match base {
        // Wildcard operators keep the policy's own wildcards, never substituted ones.
        Base::StringLike | Base::Arn => template.resolve_tokens(context).is_some_and(|tokens| {
            Pattern::from_tokens(tokens, Case::Sensitive, (base == Base::Arn).then_some(Segments::Strict))
                .matches(request)
        }),
        _ => template.resolve(context).is_some_and(|text| {
            let prepared = prepare(&text, base);
            compare_prepared(base, &text, &prepared, request)
        }),
    }
}

fn compare_prepared(base: Base, text: &str, prepared: &Prepared, request: &str) -> bool {
    match (base, prepared) {
        (Base::StringEquals | Base::BinaryEquals, _) => text == request,
        (Base::StringEqualsIgnoreCase, _) => eq_ignore_case(text, request),
        (Base::Bool, _) => text.eq_ignore_ascii_case(request),
        (Base::StringLike | Base::Arn, Prepared::Glob(pattern)) => pattern.matches(request),
        (Base::Numeric(ordering), Prepared::Number(policy)) => {
            parse_number(request).is_some_and(|request| ordering.holds(request, *policy))
        }
        (Base::Date(ordering), Prepared::Date(policy)) => {
            parse_date(request).is_some_and(|request| ordering.holds(request, *policy))
        }
        (Base::IpAddress, Prepared::Network(network)) => {
            request.parse::<IpAddr>().is_ok_and(|address| network.contains(address))
        }
        _ => false,
    }
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || (!a.is_ascii() && a.to_lowercase() == b.to_lowercase())
}

impl Ordering {
    fn holds(self, request: f64, policy: f64) -> bool {
        match self {
            Ordering::Equal => request == policy,
            Ordering::Less => request < policy,
            Ordering::LessOrEqual => request <= policy,
            Ordering::Greater => request > policy,
            Ordering::GreaterOrEqual => request >= policy,
        }
    }
}

/// Integers and decimals, as IAM's numeric operators accept them.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let valid = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit());
    if valid { text.parse().ok() } else { None }
}

/// ISO 8601 dates and date-times (UTC `Z` or an offset), or epoch seconds, as seconds since
/// the epoch.
pub fn parse_date(text: &str) -> Option<f64> {
    if let Some(seconds) = parse_number(text) {
        return Some(seconds);
    }
    let (date, time) = match text.split_once(['T', 't']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut fields = date.split('-');
    let year: i64 = fields.next().filter(|y| y.len() == 4)?.parse().ok()?;
    let month: u32 = fields.next().filter(|m| m.len() == 2)?.parse().ok()?;
    let day: u32 = fields.next().filter(|d| d.len() == 2)?.parse().ok()?;
    if fields.next().is_some() || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) as f64 * 86_400.0;
    if let Some(time) = time {
        seconds += parse_time_of_day(time)?;
    }
    Some(seconds)
}

fn parse_time_of_day(time: &str) -> Option<f64> {
    let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0.0)
    } else if let Some(index) = time.rfind(['+', '-']) {
        let (clock, zone) = time.split_at(index);
        let sign = if zone.starts_with('-') { -1.0 } else { 1.0 };
        let zone = zone.get(1..)?.replace(':', "");
        if zone.len() != 4 || !zone.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let hours: f64 = zone.get(..2)?.parse().ok()?;
        let minutes: f64 = zone.get(2..)?.parse().ok()?;
        (clock, sign * (hours * 3600.0 + minutes * 60.0))
    } else {
        (time, 0.0)
    };
    let mut parts = clock.split(':');
    let hours: f64 = two_digits(parts.next()?)?;
    let minutes: f64 = parts.next().map_or(Some(0.0), two_digits)?;
    let seconds: f64 = match parts.next() {
        None => 0.0,
        Some(seconds) => {
            let whole = seconds.get(..2)?;
            let fraction = seconds.get(2..)?;
            if !(fraction.is_empty() || (fraction.starts_with('.') && fraction.len() > 1)) {
                return None;
            }
            two_digits(whole)? + if fraction.is_empty() { 0.0 } else { format!("0{fraction}").parse::<f64>().ok()? }
        }
    };
    if parts.next().is_some() || hours > 24.0 || minutes > 59.0 || seconds >= 61.0 {
        return None;
    }
    Some(hours * 3600.0 + minutes * 60.0 + seconds - offset)
}

fn two_digits(text: &str) -> Option<f64> {
    (text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// An IPv4 or IPv6 network in CIDR form; a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    pub(crate) fn parse(text: &str) -> Option<Network> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().ok()?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) => {
                prefix.parse().ok().filter(|p| *p <= max)?
            }
            Some(_) => return None,
        };
        Some(Network { address, prefix })
    }

    fn contains(&self, candidate: IpAddr) -> bool {
        match (self.address, candidate) {
            (IpAddr::V4(network), IpAddr::V4(candidate)) => {
                same_prefix(u128::from(u32::from(network)) << 96, u128::from(u32::from(candidate)) << 96, self.prefix)
            }
            (IpAddr::V6(network), IpAddr::V6(candidate)) => {
                same_prefix(u128::from(network), u128::from(candidate), self.prefix)
            }
            _ => false,
        }
    }
}

fn same_prefix(a: u128, b: u128, prefix: u8) -> bool {
    let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
    a & mask == b & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names_parse_with_qualifiers_and_if_exists() {
        let op = Operator::parse("ForAnyValue:StringNotLikeIfExists").unwrap();
        assert_eq!(
            op,
            Operator { qualifier: Qualifier::ForAnyValue, base: Base::StringLike, negated: true, if_exists: true }
        );
        assert!(Operator::parse("StringEqualz").is_none());
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("stringequals").is_none());
    }

    #[test]
    fn dates_parse_in_iso_and_epoch_forms() {
        assert_eq!(parse_date("1970-01-01"), Some(0.0));
        assert_eq!(parse_date("1970-01-02T00:00:00Z"), Some(86_400.0));
        assert_eq!(parse_date("2020-01-01T01:00:00+01:00"), parse_date("2020-01-01T00:00:00Z"));
        assert_eq!(parse_date("2020-01-01T00:00:00.500Z"), parse_date("2020-01-01T00:00:00Z").map(|s| s + 0.5));
        assert_eq!(parse_date("1577836800"), parse_date("2020-01-01T00:00:00Z"));
        for bad in ["2020-13-01", "2020-02-30", "yesterday", "2020-01-01T25:00:00Z", ""] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net = Network::parse("203.0.113.0/24").unwrap();
        assert!(net.contains("203.0.113.255".parse().unwrap()));
        assert!(!net.contains("203.0.114.0".parse().unwrap()));
        let net6 = Network::parse("2001:db8::/32").unwrap();
        assert!(net6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!net6.contains("203.0.113.1".parse().unwrap()));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!(Network::parse("10.0.0.0/33").is_none());
    }
}
