//! CloudWatch Logs filter patterns, as FilterLogEvents applies them to each event's message.
//!
//! Term patterns: every plain term (or `"quoted phrase"`) must appear, at least one `?term`
//! must appear when there are any, and no `-term` may; matching is case-sensitive. JSON
//! patterns: `{ SELECTOR OP VALUE }` with `=`, `!=`, `<`, `<=`, `>`, `>=`, `IS NULL`,
//! `NOT EXISTS`, joined by `&&` (tighter) and `||`; a selector is `$.a.b` or `$.a[0]`; string
//! values may use `*` as a wildcard. A message that is not JSON never matches a JSON pattern.
//! Space-delimited (`[...]`) patterns are not supported and are refused.

use serde_json::Value as Json;

use super::logs::invalid_parameter;
use aws_protocol::AwsError;

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
    operator: String,
    value: Option<Json>,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

fn malformed(pattern: &str) -> AwsError {
    invalid_parameter(format!("Invalid character(s) in term '{pattern}'"))
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, AwsError> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed == "\"\"" {
            return Ok(Pattern::All);
        }
        if trimmed.starts_with('[') {
            return Err(invalid_parameter("Space-delimited filter patterns are not supported by Homeport."));
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

fn comparison(text: &str, pattern: &str) -> Result<Comparison, AwsError> {
    let text = text.trim().trim_start_matches('(').trim_end_matches(')').trim();
    let selector_end = text.find(|c: char| c.is_whitespace() || "=!<>".contains(c)).unwrap_or(text.len());
    let (selector, rest) = text.split_at(selector_end);
    let path = selector_path(selector).ok_or_else(|| malformed(pattern))?;
    let rest = rest.trim();
    for (keyword, operator) in [("IS NULL", "null"), ("NOT EXISTS", "absent"), ("EXISTS", "present")] {
        if rest.eq_ignore_ascii_case(keyword) {
            return Ok(Comparison { path, operator: operator.to_owned(), value: None });
        }
    }
    let operator = ["!=", "<=", ">=", "=", "<", ">"]
        .into_iter()
        .find(|op| rest.starts_with(op))
        .ok_or_else(|| malformed(pattern))?;
    let raw = rest.get(operator.len()..).unwrap_or_default().trim();
    let value = if let Some(quoted) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Json::String(quoted.to_owned())
    } else {
        serde_json::from_str::<Json>(raw).unwrap_or_else(|_| Json::String(raw.to_owned()))
    };
    Ok(Comparison { path, operator: operator.to_owned(), value: Some(value) })
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

fn wildcard(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            text.starts_with(head)
                && (0..=text.len().saturating_sub(head.len()))
                    .any(|skip| text.get(head.len() + skip..).is_some_and(|after| wildcard(rest, after)))
        }
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
        match (self.operator.as_str(), current, &self.value) {
            ("absent", found, _) => found.is_none(),
            ("present", found, _) => found.is_some(),
            ("null", found, _) => found.is_some_and(Json::is_null),
            (_, None, _) | (_, _, None) => false,
            (operator, Some(found), Some(expected)) => match (found, expected) {
                (Json::Number(a), Json::Number(b)) => {
                    let (a, b) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
                    match operator {
                        "=" => a == b,
                        "!=" => a != b,
                        "<" => a < b,
                        "<=" => a <= b,
                        ">" => a > b,
                        ">=" => a >= b,
                        _ => false,
                    }
                }
                (Json::String(a), Json::String(b)) => match operator {
                    "=" => wildcard(b, a),
                    "!=" => !wildcard(b, a),
                    _ => false,
                },
                (Json::Bool(a), Json::Bool(b)) => match operator {
                    "=" => a == b,
                    "!=" => a != b,
                    _ => false,
                },
                _ => operator == "!=",
            },
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
        assert!(!check(r#"{ $.level = "error" }"#, "not json"));
        assert!(Pattern::parse("[ip, user]").is_err());
    }
}
