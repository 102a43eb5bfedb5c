//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team, 'default'}`, `${*}`.
//!
//! Only policies with `"Version": "2012-10-17"` substitute variables; older versions keep the
//! text literally, so the parser only builds templates for those. A variable whose key is
//! missing (and has no default) or multi-valued cannot be resolved, and the element holding
//! it then matches nothing, as IAM documents. Substituted values and the `${*}`, `${?}`,
//! `${$}` escapes are always literal text, never wildcards.

use crate::context::Context;
use crate::pattern::{Token, tokenize};

/// Text that may contain policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Policy text as written: in glob contexts its `*` and `?` are wildcards.
    Text(String),
    /// Text that is literal in every context (an escape such as `${*}`).
    Literal(String),
    /// `key` is lowercased for lookups; `name` is the key as written, for reports.
    Variable { key: String, name: String, default: Option<String> },
}

impl Template {
    /// Parses `text`; `None` when it holds no variable (the common case, kept as plain text).
    pub fn parse(text: &str) -> Option<Template> {
        if !text.contains("${") {
            return None;
        }
        let mut parts = Vec::new();
        let mut rest = text;
        let mut text_run = String::new();
        while let Some(start) = rest.find("${") {
            let (before, from_dollar) = rest.split_at(start);
            text_run.push_str(before);
            match parse_variable(from_dollar) {
                Some((part, consumed)) => {
                    if !text_run.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text_run)));
                    }
                    parts.push(part);
                    rest = from_dollar.get(consumed..).unwrap_or_default();
                }
                None => {
                    // Not a well-formed variable: the `${` stays literal text.
                    text_run.push_str("${");
                    rest = from_dollar.get(2..).unwrap_or_default();
                }
            }
        }
        text_run.push_str(rest);
        if !text_run.is_empty() {
            parts.push(Part::Text(text_run));
        }
        let has_variable = parts.iter().any(|part| !matches!(part, Part::Text(_)));
        has_variable.then_some(Template { parts })
    }

    /// The keys this template reads, as written.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Variable { name, .. } => Some(name.as_str()),
            _ => None,
        })
    }

    /// The resolved text, for exact comparisons; `None` if a variable cannot be resolved.
    pub fn resolve(&self, context: &Context) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) | Part::Literal(text) => out.push_str(text),
                Part::Variable { key, default, .. } => out.push_str(lookup(context, key, default.as_deref())?),
            }
        }
        Some(out)
    }

    /// The resolved pattern tokens, for wildcard comparisons; `None` if unresolvable.
    pub fn resolve_tokens(&self, context: &Context) -> Option<Vec<Token>> {
        let mut tokens = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => tokens.extend(tokenize(text)),
                Part::Literal(text) => tokens.push(Token::Literal(text.clone())),
                Part::Variable { key, default, .. } => {
                    tokens.push(Token::Literal(lookup(context, key, default.as_deref())?.to_owned()));
                }
            }
        }
        Some(tokens)
    }
}

fn lookup<'a>(context: &'a Context, key: &str, default: Option<&'a str>) -> Option<&'a str> {
    context.variable(key).or(default)
}

/// Parses one `${...}` at the start of `text`, returning it and how many bytes it used.
fn parse_variable(text: &str) -> Option<(Part, usize)> {
    let body_and_rest = text.get(2..)?;
    for (escape, literal) in [("*}", "*"), ("?}", "?"), ("$}", "$")] {
        if body_and_rest.starts_with(escape) {
            return Some((Part::Literal(literal.to_owned()), 4));
        }
    }
    // The key runs to `}` or to the comma that introduces a default.
    let key_end = body_and_rest.find(['}', ','])?;
    let key = body_and_rest.get(..key_end)?.trim();
    if key.is_empty() || key.contains(['$', '{', '\'']) || key.contains(char::is_whitespace) {
        return None;
    }
    let after_key = body_and_rest.get(key_end..)?;
    if let Some(stripped) = after_key.strip_prefix('}') {
        let consumed = text.len() - stripped.len();
        return Some((Part::Variable { key: key.to_ascii_lowercase(), name: key.to_owned(), default: None }, consumed));
    }
    // `, 'default'}`: the default is quoted, with '' standing for one quote.
    let quoted = after_key.strip_prefix(',')?.trim_start().strip_prefix('\'')?;
    let mut default = String::new();
    let mut chars = quoted.char_indices();
    loop {
        let (index, ch) = chars.next()?;
        if ch != '\'' {
            default.push(ch);
            continue;
        }
        let after_quote = quoted.get(index + 1..)?;
        if after_quote.starts_with('\'') {
            default.push('\'');
            chars.next();
            continue;
        }
        let closing = after_quote.trim_start().strip_prefix('}')?;
        let consumed = text.len() - closing.len();
        return Some((
            Part::Variable { key: key.to_ascii_lowercase(), name: key.to_owned(), default: Some(default) },
            consumed,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ContextValue;

    fn context() -> Context {
        let mut context = Context::new().with("aws:username", "alice").with("aws:PrincipalTag/team", "red");
        context.insert("aws:TagKeys", ContextValue::Multi(vec!["a".into()]));
        context
    }

    #[test]
    fn resolves_variables_defaults_and_escapes() {
        let cases = [
            ("home/${aws:username}/*", Some("home/alice/*")),
            ("${AWS:UserName}", Some("alice")),
            ("${aws:PrincipalTag/team}-${aws:PrincipalTag/dept, 'none'}", Some("red-none")),
            ("${aws:PrincipalTag/dept,'it''s'}", Some("it's")),
            ("${aws:PrincipalTag/dept}", None),
            ("${aws:TagKeys}", None),
            ("a${*}b${?}c${$}", Some("a*b?c$")),
        ];
        for (text, expected) in cases {
            let template = Template::parse(text).unwrap();
            assert_eq!(template.resolve(&context()).as_deref(), expected, "{text}");
        }
    }

    #[test]
    fn text_without_variables_or_with_broken_ones_is_no_template() {
        assert!(Template::parse("arn:aws:s3:::bucket/*").is_none());
        assert!(Template::parse("${unclosed").is_none());
        assert!(Template::parse("${}").is_none());
    }

    #[test]
    fn escapes_are_literal_tokens_and_text_keeps_wildcards() {
        let tokens = Template::parse("${*}x*").unwrap().resolve_tokens(&context()).unwrap();
        assert_eq!(
            tokens,
            vec![Token::Literal("*".into()), Token::Literal("x".into()), Token::Star { within_segment: false }]
        );
    }
}
