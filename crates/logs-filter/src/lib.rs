//! CloudWatch Logs filter patterns, as FilterLogEvents applies them to each event's message.
//!
//! Term patterns: every plain term (or `"quoted phrase"`) must appear, at least one `?term`
//! must appear when there are any, and no `-term` may; matching is case-sensitive. JSON
//! patterns: `{ SELECTOR OP VALUE }` with `=`, `!=`, `<`, `<=`, `>`, `>=`, `IS NULL`,
//! `NOT EXISTS`, joined by `&&` (tighter) and `||`; a selector is `$.a.b` or `$.a[0]`; string
//! values may use `*` as a wildcard. A message that is not JSON never matches a JSON pattern.
//! Space-delimited (`[...]`) patterns are not supported and are refused.
//!
//! Guarantees: pure (no I/O), never panics, and linear: a pattern is at most
//! [`MAX_PATTERN_LENGTH`] characters (FilterLogEvents' limit), parsed once, and matching a
//! message costs at most [`Pattern::cost`] of it, which is linear in the message's length
//! (each term is a substring search; a `*` wildcard is matched by finding its literal pieces
//! left to right, never by backtracking). The caller budgets a request's work with `cost`.

use serde_json::Value as Json;

// The one load-shape helper, aws-protocol's (a test helper; sharing the file keeps the two
// crates' load-shape tests measuring the same way without a dependency between them).
#[cfg(test)]
#[path = "../../aws-protocol/src/load_shape.rs"]
mod load_shape;

/// FilterLogEvents' `filterPattern` length limit.
pub const MAX_PATTERN_LENGTH: usize = 1024;

/// Why a pattern is refused; the message is the one CloudWatch Logs gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PatternError {}

/// A parsed filter pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    All,
    Terms {
        required: Vec<String>,
        any: Vec<String>,
        excluded: Vec<String>,
    },
    /// Alternatives of conjunctions of comparisons.
    Json(Vec<Vec<Comparison>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    path: Vec<Step>,
    operator: Operator,
    value: Expected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    IsNull,
    Absent,
    Present,
}

/// The value a comparison tests against; a string is kept as its wildcard's literal pieces.
#[derive(Debug, Clone, PartialEq)]
enum Expected {
    None,
    Text(Wildcard),
    Other(Json),
}

/// A string with `*` wildcards, split at them: `a*b*c` is `["a", "b", "c"]`, and a string
/// without a star is one piece that must equal the text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wildcard(Vec<String>);

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

fn malformed(pattern: &str) -> PatternError {
    PatternError(format!("Invalid character(s) in term '{pattern}'"))
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        if text.chars().count() > MAX_PATTERN_LENGTH {
            return Err(PatternError(format!(
                "1 validation error detected: Value at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to {MAX_PATTERN_LENGTH}"
            )));
        }
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed == "\"\"" {
            return Ok(Pattern::All);
        }
        if trimmed.starts_with('[') {
            return Err(PatternError("Space-delimited filter patterns are not supported by Homeport.".to_owned()));
        }
        if let Some(inner) = trimmed.strip_prefix('{').and_then(|rest| rest.strip_suffix('}')) {
            let alternatives = inner
                .split("||")
                .map(|alternative| {
                    alternative.split("&&").map(|c| comparison(c.trim(), text)).collect::<Result<Vec<_>, _>>()
                })
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Pattern::Json(alternatives));
        }
        let (mut required, mut any, mut excluded) = (Vec::new(), Vec::new(), Vec::new());
        for term in terms(trimmed) {
            if let Some(rest) = term.strip_prefix('?') {
                any.push(rest.to_owned());
            } else if let Some(rest) = term.strip_prefix('-').filter(|rest| !rest.is_empty()) {
                excluded.push(rest.to_owned());
            } else {
                required.push(term);
            }
        }
        Ok(Pattern::Terms { required, any, excluded })
    }

    pub fn matches(&self, message: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Terms { required, any, excluded } => {
                required.iter().all(|t| message.contains(t.as_str()))
                    && (any.is_empty() || any.iter().any(|t| message.contains(t.as_str())))
                    && !excluded.iter().any(|t| message.contains(t.as_str()))
            }
            Pattern::Json(alternatives) => {
                let Ok(document) = serde_json::from_str::<Json>(message) else { return false };
                alternatives.iter().any(|all| all.iter().all(|c| c.matches(&document)))
            }
        }
    }

    /// An upper bound on the work of matching a message of `length` bytes, in bytes looked
    /// at: one pass per term, or a parse plus one pass per comparison. Callers add it up to
    /// bound the work of a request.
    pub fn cost(&self, length: usize) -> usize {
        let passes = match self {
            Pattern::All => 0,
            Pattern::Terms { required, any, excluded } => required.len() + any.len() + excluded.len(),
            Pattern::Json(alternatives) => 1 + alternatives.iter().map(Vec::len).sum::<usize>(),
        };
        length.saturating_mul(passes.max(1))
    }
}

/// Splits a term pattern on spaces, keeping `"quoted phrases"` (and `?"..."`, `-"..."`) whole.
fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn comparison(text: &str, pattern: &str) -> Result<Comparison, PatternError> {
    let text = text.trim().trim_start_matches('(').trim_end_matches(')').trim();
    let selector_end = text.find(|c: char| c.is_whitespace() || "=!<>".contains(c)).unwrap_or(text.len());
    let (selector, rest) = text.split_at(selector_end);
    let path = selector_path(selector).ok_or_else(|| malformed(pattern))?;
    let rest = rest.trim();
    for (keyword, operator) in
        [("IS NULL", Operator::IsNull), ("NOT EXISTS", Operator::Absent), ("EXISTS", Operator::Present)]
    {
        if rest.eq_ignore_ascii_case(keyword) {
            return Ok(Comparison { path, operator, value: Expected::None });
        }
    }
    let (symbol, operator) = [
        ("!=", Operator::NotEqual),
        ("<=", Operator::LessOrEqual),
        (">=", Operator::GreaterOrEqual),
        ("=", Operator::Equal),
        ("<", Operator::Less),
        (">", Operator::Greater),
    ]
    .into_iter()
    .find(|(symbol, _)| rest.starts_with(symbol))
    .ok_or_else(|| malformed(pattern))?;
    let raw = rest.get(symbol.len()..).unwrap_or_default().trim();
    let value = if let Some(quoted) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Json::String(quoted.to_owned())
    } else {
        serde_json::from_str::<Json>(raw).unwrap_or_else(|_| Json::String(raw.to_owned()))
    };
    let value = match value {
        Json::String(text) => Expected::Text(Wildcard(text.split('*').map(str::to_owned).collect())),
        other => Expected::Other(other),
    };
    Ok(Comparison { path, operator, value })
}

fn selector_path(selector: &str) -> Option<Vec<Step>> {
    let rest = selector.strip_prefix('$')?;
    let mut steps = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut key = String::new();
                while let Some(&next) = chars.peek() {
                    if next == '.' || next == '[' {
                        break;
                    }
                    key.push(next);
                    chars.next();
                }
                if key.is_empty() {
                    return None;
                }
                steps.push(Step::Key(key));
            }
            '[' => {
                let mut digits = String::new();
                for next in chars.by_ref() {
                    if next == ']' {
                        break;
                    }
                    digits.push(next);
                }
                steps.push(Step::Index(digits.parse().ok()?));
            }
            _ => return None,
        }
    }
    Some(steps)
}

impl Wildcard {
    /// Whether `text` matches, in time linear in the text and the pattern: the first piece
    /// must start the text and the last end it; each piece between is found leftmost in what
    /// remains (the leftmost place leaves the most room for the rest, so no other place needs
    /// trying).
    fn matches(&self, text: &str) -> bool {
        let Some((first, rest)) = self.0.split_first() else { return text.is_empty() };
        let Some((last, middle)) = rest.split_last() else { return first == text };
        if text.len() < first.len() + last.len() || !text.starts_with(first.as_str()) || !text.ends_with(last.as_str())
        {
            return false;
        }
        let Some(mut between) = text.get(first.len()..text.len() - last.len()) else { return false };
        for piece in middle {
            match between.find(piece.as_str()) {
                Some(at) => between = between.get(at + piece.len()..).unwrap_or_default(),
                None => return false,
            }
        }
        true
    }
}

impl Comparison {
    fn matches(&self, document: &Json) -> bool {
        let mut current = Some(document);
        for step in &self.path {
            current = match step {
                Step::Key(key) => current.and_then(|v| v.get(key)),
                Step::Index(index) => current.and_then(|v| v.get(*index)),
            };
        }
        match (self.operator, current, &self.value) {
            (Operator::Absent, found, _) => found.is_none(),
            (Operator::Present, found, _) => found.is_some(),
            (Operator::IsNull, found, _) => found.is_some_and(Json::is_null),
            (_, None, _) | (_, _, Expected::None) => false,
            (operator, Some(Json::String(found)), Expected::Text(wildcard)) => match operator {
                Operator::Equal => wildcard.matches(found),
                Operator::NotEqual => !wildcard.matches(found),
                _ => false,
            },
            (operator, Some(found), Expected::Other(expected)) => match (found, expected) {
                (Json::Number(a), Json::Number(b)) => {
                    let (a, b) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
                    match operator {
                        Operator::Equal => a == b,
                        Operator::NotEqual => a != b,
                        Operator::Less => a < b,
                        Operator::LessOrEqual => a <= b,
                        Operator::Greater => a > b,
                        Operator::GreaterOrEqual => a >= b,
                        _ => false,
                    }
                }
                (Json::Bool(a), Json::Bool(b)) => match operator {
                    Operator::Equal => a == b,
                    Operator::NotEqual => a != b,
                    _ => false,
                },
                _ => operator == Operator::NotEqual,
            },
            (operator, Some(_), Expected::Text(_)) => operator == Operator::NotEqual,
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn check(pattern: &str, message: &str) -> bool {
        Pattern::parse(pattern).unwrap().matches(message)
    }

    #[test]
    fn term_patterns() {
        assert!(check("", "anything"));
        assert!(check("ERROR", "2026 ERROR disk full"));
        assert!(!check("ERROR", "2026 error disk full"), "case-sensitive");
        assert!(check("ERROR disk", "ERROR: disk full"));
        assert!(!check("ERROR memory", "ERROR: disk full"));
        assert!(check("\"disk full\"", "ERROR: disk full"));
        assert!(check("?ERROR ?WARN", "WARN low"));
        assert!(!check("?ERROR ?WARN", "INFO ok"));
        assert!(check("ERROR -disk", "ERROR: memory"));
        assert!(!check("ERROR -disk", "ERROR: disk"));
    }

    #[test]
    fn json_patterns() {
        let event =
            r#"{"level": "error", "code": 503, "user": {"id": 7}, "tags": ["a", "b"], "ok": false, "gone": null}"#;
        assert!(check(r#"{ $.level = "error" }"#, event));
        assert!(check(r#"{ $.level = "err*" }"#, event));
        assert!(!check(r#"{ $.level = "info" }"#, event));
        assert!(check("{ $.code > 500 && $.user.id = 7 }", event));
        assert!(!check("{ $.code < 500 }", event));
        assert!(check("{ $.code < 500 || $.tags[1] = \"b\" }", event));
        assert!(check("{ $.ok = false }", event));
        assert!(check("{ $.gone IS NULL }", event));
        assert!(check("{ $.missing NOT EXISTS }", event));
        assert!(check(r#"{ $.code != "x" }"#, event), "a number is not equal to a string");
        assert!(!check(r#"{ $.level = "error" }"#, "not json"));
        assert!(Pattern::parse("[ip, user]").is_err());
    }

    #[test]
    fn wildcards() {
        let cases = [
            ("*", "", true),
            ("*", "anything", true),
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("a*c", "ac", true),
            ("a*c", "a", false),
            ("ab*bc", "abc", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXcYb", false),
            ("**", "x", true),
            ("a**a", "a", false),
            ("a**a", "aa", true),
            ("*ab*ab*", "xabyab", true),
            ("*ab*ab*", "xaby", false),
            ("plain", "plain", true),
            ("plain", "plainer", false),
            ("é*ü", "éaü", true),
        ];
        for (pattern, text, expected) in cases {
            let pattern = format!("{{ $.f = \"{pattern}\" }}");
            assert_eq!(check(&pattern, &serde_json::json!({"f": text}).to_string()), expected, "{pattern} on {text}");
        }
    }

    #[test]
    fn patterns_are_limited_to_1024_characters() {
        assert!(Pattern::parse(&"a".repeat(MAX_PATTERN_LENGTH)).is_ok());
        let error = Pattern::parse(&"a".repeat(MAX_PATTERN_LENGTH + 1)).unwrap_err();
        assert!(error.0.contains("less than or equal to 1024"), "{error}");
    }

    /// Load shape: stars that cannot match, on a field four times as long, take about four
    /// times as long (the backtracking matcher took 3.4 s on 120 characters with five stars).
    /// Generous: anything under eight times passes.
    #[test]
    fn wildcards_are_linear_in_the_text() {
        let pattern = Pattern::parse(r#"{ $.f = "*a*a*a*a*a*a*a*a*b" }"#).unwrap();
        let message = |length: usize| serde_json::json!({"f": "a".repeat(length)}).to_string();
        let (small, large) = (message(50_000), message(200_000));
        assert!(!pattern.matches(&small));
        let ratio =
            crate::load_shape::ratio(|| assert!(!pattern.matches(&small)), || assert!(!pattern.matches(&large)));
        assert!(ratio < 8.0, "4x the text took {ratio:.1}x as long");
        assert!(pattern.cost(large.len()) >= large.len());
    }
}
