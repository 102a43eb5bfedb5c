//! A small JSON reader that keeps where every value came from.
//!
//! IAM points at the statement that matched or failed (the simulator's `StartPosition` /
//! `EndPosition`), so the policy parser needs byte spans, which general-purpose JSON crates
//! do not keep. Guarantees: never panics, never recurses deeper than [`MAX_DEPTH`], and
//! rejects what RFC 8259 rejects (plus duplicate object keys, which IAM refuses too).

use std::fmt;

/// Nesting deeper than this is refused; real policies nest at most five levels.
pub const MAX_DEPTH: usize = 32;

/// A half-open byte range `[start, end)` in the policy text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A JSON value with the span it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// Numbers are kept as written: IAM compares condition values as text or parses them
    /// itself according to the operator.
    Number(String),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(Key, Node)>),
}

/// An object member name with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

impl Value {
    /// The JSON type name, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

/// Why the text is not JSON, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

/// Parses one JSON document; only whitespace may follow it.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut reader = Reader { bytes: text.as_bytes(), text, pos: 0 };
    reader.skip_whitespace();
    let node = reader.value(0)?;
    reader.skip_whitespace();
    if reader.pos != reader.bytes.len() {
        return Err(reader.error("unexpected text after the document"));
    }
    Ok(node)
}

struct Reader<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn error(&self, reason: &'static str) -> SyntaxError {
        SyntaxError { offset: self.pos, reason }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect_literal(&mut self, literal: &str) -> Result<(), SyntaxError> {
        if self.bytes.get(self.pos..self.pos + literal.len()) == Some(literal.as_bytes()) {
            self.pos += literal.len();
            Ok(())
        } else {
            Err(self.error("invalid literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error("document nested too deeply"));
        }
        let start = self.pos;
        let value = match self.peek() {
            None => return Err(self.error("unexpected end of document")),
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => {
                self.expect_literal("true")?;
                Value::Bool(true)
            }
            Some(b'f') => {
                self.expect_literal("false")?;
                Value::Bool(false)
            }
            Some(b'n') => {
                self.expect_literal("null")?;
                Value::Null
            }
            Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
            Some(_) => return Err(self.error("unexpected character")),
        };
        Ok(Node { value, span: Span { start, end: self.pos } })
    }

    fn object(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        self.pos += 1; // '{'
        let mut members: Vec<(Key, Node)> = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a member name"));
            }
            let key_start = self.pos;
            let name = self.string()?;
            let key = Key { name, span: Span { start: key_start, end: self.pos } };
            if members.iter().any(|(existing, _)| existing.name == key.name) {
                return Err(SyntaxError { offset: key_start, reason: "duplicate member name" });
            }
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(self.error("expected `:`"));
            }
            self.pos += 1;
            self.skip_whitespace();
            let value = self.value(depth + 1)?;
            members.push((key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_whitespace();
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    fn number(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number"));
            }
            self.digits();
        }
        Ok(self.text.get(start..self.pos).unwrap_or_default().to_owned())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(byte) = self.peek() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The run ends at an ASCII byte, so it is a whole UTF-8 sequence.
            out.push_str(self.text.get(run_start..self.pos).unwrap_or_default());
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(self.error("control character in string")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), SyntaxError> {
        let Some(byte) = self.peek() else {
            return Err(self.error("unterminated string"));
        };
        self.pos += 1;
        let decoded = match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&first) {
                    if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                        return Err(self.error("unpaired surrogate"));
                    }
                    self.pos += 2;
                    let second = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return Err(self.error("unpaired surrogate"));
                    }
                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                } else {
                    first
                };
                char::from_u32(code).ok_or_else(|| self.error("unpaired surrogate"))?
            }
            _ => return Err(self.error("invalid escape")),
        };
        out.push(decoded);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let digits = self.text.get(self.pos..self.pos + 4).ok_or_else(|| self.error("invalid escape"))?;
        let code = u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid escape"))?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error("invalid escape"));
        }
        self.pos += 4;
        Ok(code)
    }
}

/// One step of a path through a document, as IAM Access Analyzer names them: into an
/// array's item, into the value of an object's member, or onto a member's name itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Index(usize),
    Value(String),
    Key(String),
}

/// The path from `root` to the innermost value (or member name) whose span holds `span`:
/// `[Value("Statement"), Index(0), Value("Action")]` for a statement's `Action`. A span that
/// no child holds ends the path at the value that does (the root: an empty path).
pub fn path_to(root: &Node, span: Span) -> Vec<PathStep> {
    let holds = |outer: Span| outer.start <= span.start && span.end <= outer.end;
    let mut path = Vec::new();
    let mut node = root;
    loop {
        let next = match &node.value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find(|(_, item)| holds(item.span))
                .map(|(index, item)| (PathStep::Index(index), item)),
            Value::Object(members) => {
                if let Some((key, _)) = members.iter().find(|(key, _)| holds(key.span)) {
                    path.push(PathStep::Key(key.name.clone()));
                    return path;
                }
                members
                    .iter()
                    .find(|(_, value)| holds(value.span))
                    .map(|(key, value)| (PathStep::Value(key.name.clone()), value))
            }
            _ => None,
        };
        match next {
            Some((step, child)) => {
                path.push(step);
                node = child;
            }
            None => return path,
        }
    }
}

/// A position as IAM Access Analyzer reports it: 1-based line, 0-based column and 0-based
/// offset, both counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Point {
    pub line: u32,
    pub column: u32,
    pub offset: u32,
}

/// The [`Point`] of a byte offset in `text`.
pub fn point(text: &str, offset: usize) -> Point {
    let at = position(text, offset);
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    Point { line: at.line, column: at.column.saturating_sub(1), offset: saturate(before.chars().count()) }
}

/// A 1-based line and column (in characters), as IAM reports statement positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// The byte offsets where lines start, for turning many offsets into positions.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let newlines = text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i + 1);
        LineIndex { starts: std::iter::once(0).chain(newlines).collect() }
    }

    /// The position of `offset` in `text`, the text this index was built from.
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let line = self.starts.partition_point(|&start| start <= offset);
        let line_start = self.starts.get(line.saturating_sub(1)).copied().unwrap_or(0);
        let column = text.get(line_start..offset.min(text.len())).map_or(0, |part| part.chars().count()) + 1;
        Position { line: saturate(line), column: saturate(column) }
    }
}

/// The line and column of a byte offset in `text`.
pub fn position(text: &str, offset: usize) -> Position {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let column = before.get(line_start..).map_or(0, |rest| rest.chars().count()) + 1;
    Position { line: saturate(line), column: saturate(column) }
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_values_with_spans() {
        let text = r#" {"a": [1, "x\u00e9", true, null], "b": {}} "#;
        let node = parse(text).unwrap();
        assert_eq!(node.span, Span { start: 1, end: text.len() - 1 });
        let Value::Object(members) = node.value else { panic!("object") };
        assert_eq!(members[0].0.name, "a");
        let Value::Array(items) = &members[0].1.value else { panic!("array") };
        assert_eq!(items[1].value, Value::String("xé".into()));
        assert_eq!(&text[items[0].span.start..items[0].span.end], "1");
    }

    #[test]
    fn rejects_malformed_documents() {
        for text in [
            "",
            "{",
            "{\"a\"}",
            "{\"a\":1,}",
            "[1,]",
            "01",
            "1.",
            "\"\\x\"",
            "{\"a\":1,\"a\":2}",
            "\"\\ud800\"",
            "tru",
            "{} {}",
            "\"a\nb\"",
        ] {
            assert!(parse(text).is_err(), "{text:?} should be rejected");
        }
    }

    #[test]
    fn refuses_deep_nesting_without_overflowing_the_stack() {
        let text = "[".repeat(100_000);
        assert_eq!(parse(&text).unwrap_err().reason, "document nested too deeply");
    }

    #[test]
    fn paths_lead_to_the_innermost_value_or_member_name() {
        let text = r#"{"Statement": [{"Sid": "", "Action": ["a:b", "c:d"]}], "Version": "x"}"#;
        let root = parse(text).unwrap();
        let span_of = |needle: &str| {
            let start = text.find(needle).unwrap();
            Span { start, end: start + needle.len() }
        };
        let value = |name: &str| PathStep::Value(name.to_owned());
        assert_eq!(
            path_to(&root, span_of(r#""c:d""#)),
            vec![value("Statement"), PathStep::Index(0), value("Action"), PathStep::Index(1)]
        );
        assert_eq!(path_to(&root, span_of(r#""""#)), vec![value("Statement"), PathStep::Index(0), value("Sid")]);
        assert_eq!(
            path_to(&root, span_of(r#""Action""#)),
            vec![value("Statement"), PathStep::Index(0), PathStep::Key("Action".to_owned())]
        );
        assert_eq!(path_to(&root, root.span), vec![]);
        assert_eq!(point("{\n  \"é\": 1", 9), Point { line: 2, column: 6, offset: 8 });
    }

    #[test]
    fn positions_are_one_based_lines_and_columns() {
        let text = "{\n  \"é\": 1\n}";
        assert_eq!(position(text, 0), Position { line: 1, column: 1 });
        let one = text.find('1').unwrap();
        assert_eq!(position(text, one), Position { line: 2, column: 8 });
    }
}
