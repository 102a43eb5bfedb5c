//! The query language's text: tokens, then commands separated by `|` (`fields`, `display`,
//! `filter`, `stats ... by`, `sort`, `limit`, `parse`, `dedup`), each with its expressions.
//! Field names are interned as slots ([`Fields`]) so evaluation never looks a name up.
//!
//! Parsing is linear in the query's length (at most 10,000 characters, StartQuery's limit),
//! and nesting is bounded, so no query can make it recurse without end.

use regex::Regex;

use crate::QueryError;
use crate::functions::{Aggregate, Function};
use crate::value::Value;

/// The deepest expressions may nest (parentheses, `not`, unary minus).
const MAX_DEPTH: usize = 64;

/// A field slot: an index into [`Fields`].
pub type Slot = usize;

/// Where a field's value comes from when nothing in the query assigned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Timestamp,
    Message,
    LogStream,
    Log,
    IngestionTime,
    /// A field discovered in a JSON message, by its dotted path (`a.b.0.c`).
    Json(Vec<String>),
    /// Nothing: only the query assigns it (`@ptr` has no value in expressions either).
    None,
}

/// The fields a query names, each once.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    pub names: Vec<String>,
    pub sources: Vec<Source>,
}

impl Fields {
    pub fn slot(&mut self, name: &str) -> Slot {
        if let Some(slot) = self.names.iter().position(|known| known == name) {
            return slot;
        }
        let source = match name {
            "@timestamp" => Source::Timestamp,
            "@message" => Source::Message,
            "@logStream" => Source::LogStream,
            "@log" => Source::Log,
            "@ingestionTime" => Source::IngestionTime,
            _ if name.starts_with('@') => Source::None,
            _ => Source::Json(name.split('.').map(str::to_owned).collect()),
        };
        self.names.push(name.to_owned());
        self.sources.push(source);
        self.names.len() - 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arithmetic {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// What `like` and `=~` match: a substring, or a regular expression found anywhere.
#[derive(Debug, Clone)]
pub enum Matcher {
    Substring(String),
    Regex(Regex),
}

#[derive(Debug, Clone)]
pub enum Expr {
    Field(Slot),
    Literal(Value),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(Comparison, Box<Expr>, Box<Expr>),
    Like { subject: Box<Expr>, matcher: Matcher, negated: bool },
    In { subject: Box<Expr>, list: Vec<Expr>, negated: bool },
    Arith(Arithmetic, Box<Expr>, Box<Expr>),
    Negate(Box<Expr>),
    Call(Function, Vec<Expr>),
}

/// An expression shown under a name (`expr as name`, or the expression's own text).
#[derive(Debug, Clone)]
pub struct Projection {
    pub expr: Expr,
    pub slot: Slot,
}

/// One aggregate of `stats`: the function, its argument (none for `count(*)`) and the slot
/// its value is shown in.
#[derive(Debug, Clone)]
pub struct AggregateCall {
    pub function: Aggregate,
    pub argument: Option<Expr>,
    pub slot: Slot,
}

/// What `parse` extracts with.
#[derive(Debug, Clone)]
pub enum Extractor {
    /// A glob: literal pieces between `*`s, each `*` a field (in order).
    Glob { pieces: Vec<String>, slots: Vec<Slot> },
    /// A regular expression with named groups, each a field of its name.
    Regex { regex: Regex, slots: Vec<(String, Slot)> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

#[derive(Debug, Clone)]
pub enum Command {
    Fields(Vec<Projection>),
    Display(Vec<Projection>),
    Filter(Expr),
    Stats { aggregates: Vec<AggregateCall>, by: Vec<Projection> },
    Sort(Vec<(Expr, Order)>),
    Limit(usize),
    Parse { source: Expr, extractor: Extractor },
    Dedup(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Regex(String),
    Num(f64),
    /// A period (`5m`) in milliseconds.
    Period(i64),
    Sym(&'static str),
}

#[derive(Debug, Clone)]
struct Lexed {
    token: Token,
    start: usize,
    end: usize,
}

const SYMBOLS: &[&str] =
    &["=~", "!=", "<=", ">=", "==", "|", ",", "(", ")", "[", "]", "=", "<", ">", "+", "-", "*", "/", "%"];

fn unexpected(text: &str, start: usize, end: usize) -> QueryError {
    let line = text.get(..start).map_or(1, |before| before.matches('\n').count() + 1);
    let column = text.get(..start).map_or(start, |before| before.len() - before.rfind('\n').map_or(0, |i| i + 1));
    let found = text.get(start..end).filter(|s| !s.is_empty()).unwrap_or("<EOF>");
    QueryError {
        message: format!("unexpected symbol found {found} at line {line} and position {column}"),
        start,
        end: end.max(start + 1).saturating_sub(1),
    }
}

fn lex(text: &str) -> Result<Vec<Lexed>, QueryError> {
    let mut tokens: Vec<Lexed> = Vec::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(&c) = bytes.get(at) {
        let start = at;
        if c.is_ascii_whitespace() {
            at += 1;
            continue;
        }
        if c == b'#' {
            while bytes.get(at).is_some_and(|&c| c != b'\n') {
                at += 1;
            }
            continue;
        }
        // `/` divides after an operand and starts a regex elsewhere, and after `parse FIELD`.
        let after_parse_source = tokens.len() >= 2
            && matches!(tokens.get(tokens.len() - 2).map(|t| &t.token), Some(Token::Ident(w)) if w.eq_ignore_ascii_case("parse"));
        let operand_before = !after_parse_source
            && tokens.last().is_some_and(|last| {
                matches!(&last.token, Token::Ident(word) if !is_reserved(word))
                    || matches!(last.token, Token::Str(_) | Token::Num(_) | Token::Period(_) | Token::Regex(_))
                    || matches!(last.token, Token::Sym(")") | Token::Sym("]"))
            });
        let token = if c == b'"' || c == b'\'' || c == b'`' {
            let mut value = String::new();
            at += 1;
            loop {
                let Some(ch) = text.get(at..).and_then(|rest| rest.chars().next()) else {
                    return Err(unexpected(text, start, text.len()));
                };
                at += ch.len_utf8();
                if ch == char::from(c) {
                    break;
                }
                if ch == '\\' && c != b'`' {
                    let Some(escaped) = text.get(at..).and_then(|rest| rest.chars().next()) else {
                        return Err(unexpected(text, start, text.len()));
                    };
                    at += escaped.len_utf8();
                    value.push(match escaped {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        other => other,
                    });
                } else {
                    value.push(ch);
                }
            }
            if c == b'`' { Token::Ident(value) } else { Token::Str(value) }
        } else if c == b'/' && !operand_before {
            let mut value = String::new();
            at += 1;
            loop {
                let Some(ch) = text.get(at..).and_then(|rest| rest.chars().next()) else {
                    return Err(unexpected(text, start, text.len()));
                };
                at += ch.len_utf8();
                if ch == '/' {
                    break;
                }
                if ch == '\\' && bytes.get(at) == Some(&b'/') {
                    value.push('/');
                    at += 1;
                } else {
                    value.push(ch);
                }
            }
            Token::Regex(value)
        } else if c.is_ascii_digit() {
            while bytes.get(at).is_some_and(|c| c.is_ascii_digit() || *c == b'.') {
                at += 1;
            }
            let number = text.get(start..at).unwrap_or_default();
            let unit_start = at;
            while bytes.get(at).is_some_and(u8::is_ascii_alphabetic) {
                at += 1;
            }
            let unit = text.get(unit_start..at).unwrap_or_default();
            let Ok(n) = number.parse::<f64>() else { return Err(unexpected(text, start, at)) };
            if unit.is_empty() {
                Token::Num(n)
            } else {
                let Some(ms) = period_unit(unit) else { return Err(unexpected(text, start, at)) };
                Token::Period((n * ms as f64) as i64)
            }
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'@' || c == b'$' {
            while bytes.get(at).is_some_and(|c| c.is_ascii_alphanumeric() || b"_.@$".contains(c)) {
                at += 1;
            }
            Token::Ident(text.get(start..at).unwrap_or_default().to_owned())
        } else if let Some(symbol) = SYMBOLS.iter().find(|s| text.get(at..).is_some_and(|rest| rest.starts_with(**s))) {
            at += symbol.len();
            Token::Sym(symbol)
        } else {
            let width = text.get(at..).and_then(|rest| rest.chars().next()).map_or(1, char::len_utf8);
            return Err(unexpected(text, start, at + width));
        };
        tokens.push(Lexed { token, start, end: at });
    }
    Ok(tokens)
}

/// Milliseconds in one of a period's units (`ms`, `s`, `m`, `h`, `d`, `w`, and their long
/// spellings).
fn period_unit(unit: &str) -> Option<i64> {
    Some(match unit {
        "ms" => 1,
        "s" | "sec" | "second" | "seconds" => 1000,
        "m" | "min" | "minute" | "minutes" => 60_000,
        "h" | "hr" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        "w" | "week" | "weeks" => 7 * 86_400_000,
        _ => return None,
    })
}

/// A parsed query: its commands in order, and the fields they name.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub commands: Vec<Command>,
    pub fields: Fields,
}

pub fn parse(text: &str) -> Result<Parsed, QueryError> {
    let tokens = lex(text)?;
    let mut parser = Parser { text, tokens, at: 0, fields: Fields::default(), depth: 0 };
    let mut commands = Vec::new();
    loop {
        commands.push(parser.command()?);
        match parser.peek() {
            None => break,
            Some(Token::Sym("|")) => parser.at += 1,
            Some(_) => return Err(parser.error_here()),
        }
    }
    Ok(Parsed { commands, fields: parser.fields })
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Lexed>,
    at: usize,
    fields: Fields,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|lexed| &lexed.token)
    }

    fn error_here(&self) -> QueryError {
        match self.tokens.get(self.at) {
            Some(lexed) => unexpected(self.text, lexed.start, lexed.end),
            None => unexpected(self.text, self.text.len(), self.text.len()),
        }
    }

    fn next(&mut self) -> Result<Token, QueryError> {
        let token = self.peek().cloned().ok_or_else(|| self.error_here())?;
        self.at += 1;
        Ok(token)
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(name)) if name.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let found = self.keyword(word);
        if found {
            self.at += 1;
        }
        found
    }

    fn eat(&mut self, symbol: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Sym(s)) if *s == symbol);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, symbol: &str) -> Result<(), QueryError> {
        if self.eat(symbol) { Ok(()) } else { Err(self.error_here()) }
    }

    /// The query's text from token `from` up to the current one: an expression's own name.
    fn text_since(&self, from: usize) -> String {
        let start = self.tokens.get(from).map_or(0, |t| t.start);
        let end = self.at.checked_sub(1).and_then(|last| self.tokens.get(last)).map_or(start, |t| t.end);
        self.text.get(start..end).unwrap_or_default().to_owned()
    }

    fn name(&mut self) -> Result<String, QueryError> {
        match self.next()? {
            Token::Ident(name) => Ok(name),
            _ => {
                self.at -= 1;
                Err(self.error_here())
            }
        }
    }

    fn command(&mut self) -> Result<Command, QueryError> {
        let word = self.name()?;
        match word.to_ascii_lowercase().as_str() {
            "fields" => Ok(Command::Fields(self.projections()?)),
            "display" => Ok(Command::Display(self.projections()?)),
            "filter" => Ok(Command::Filter(self.expr()?)),
            "stats" => self.stats(),
            "sort" => {
                let mut keys = Vec::new();
                loop {
                    let expr = self.expr()?;
                    let order = if self.eat_keyword("desc") {
                        Order::Desc
                    } else {
                        self.eat_keyword("asc");
                        Order::Asc
                    };
                    keys.push((expr, order));
                    if !self.eat(",") {
                        break Ok(Command::Sort(keys));
                    }
                }
            }
            "limit" => match self.next()? {
                Token::Num(n) if n >= 1.0 && n.fract() == 0.0 => Ok(Command::Limit(n as usize)),
                _ => {
                    self.at -= 1;
                    Err(self.error_here())
                }
            },
            "parse" => self.parse_command(),
            "dedup" => {
                let mut keys = vec![self.expr()?];
                while self.eat(",") {
                    keys.push(self.expr()?);
                }
                Ok(Command::Dedup(keys))
            }
            _ => {
                self.at -= 1;
                Err(self.error_here())
            }
        }
    }

    fn projections(&mut self) -> Result<Vec<Projection>, QueryError> {
        let mut projections = vec![self.projection()?];
        while self.eat(",") {
            projections.push(self.projection()?);
        }
        Ok(projections)
    }

    fn projection(&mut self) -> Result<Projection, QueryError> {
        let from = self.at;
        let expr = self.expr()?;
        let name = if self.eat_keyword("as") { self.name()? } else { self.text_since(from) };
        let slot = self.fields.slot(&name);
        Ok(Projection { expr, slot })
    }

    fn stats(&mut self) -> Result<Command, QueryError> {
        let mut aggregates = Vec::new();
        loop {
            let from = self.at;
            let name_at = self.at;
            let name = self.name()?;
            let Some(function) = Aggregate::named(&name) else {
                self.at = name_at;
                return Err(self.error_here());
            };
            self.expect("(")?;
            // `count(*)` and `count()` count records.
            let counts_records =
                function == Aggregate::Count && (self.eat("*") || matches!(self.peek(), Some(Token::Sym(")"))));
            let argument = if counts_records { None } else { Some(self.expr()?) };
            self.expect(")")?;
            let shown = if self.eat_keyword("as") { self.name()? } else { self.text_since(from) };
            let slot = self.fields.slot(&shown);
            aggregates.push(AggregateCall { function, argument, slot });
            if !self.eat(",") {
                break;
            }
        }
        let by = if self.eat_keyword("by") { self.projections()? } else { Vec::new() };
        Ok(Command::Stats { aggregates, by })
    }

    fn parse_command(&mut self) -> Result<Command, QueryError> {
        let source = if matches!(self.peek(), Some(Token::Str(_) | Token::Regex(_))) {
            let slot = self.fields.slot("@message");
            Expr::Field(slot)
        } else {
            self.expr()?
        };
        let pattern_at = self.at;
        match self.next()? {
            Token::Str(glob) => {
                let pieces: Vec<String> = glob.split('*').map(str::to_owned).collect();
                if !self.eat_keyword("as") {
                    return Err(self.error_here());
                }
                let mut slots = Vec::new();
                loop {
                    let name = self.name()?;
                    slots.push(self.fields.slot(&name));
                    if !self.eat(",") {
                        break;
                    }
                }
                if slots.len() + 1 != pieces.len() {
                    let lexed = self.tokens.get(pattern_at).map_or((0, 0), |t| (t.start, t.end));
                    return Err(QueryError {
                        message: format!(
                            "Number of fields in the as clause ({}) does not match the number of wildcards in the pattern ({})",
                            slots.len(),
                            pieces.len() - 1
                        ),
                        start: lexed.0,
                        end: lexed.1.saturating_sub(1),
                    });
                }
                Ok(Command::Parse { source, extractor: Extractor::Glob { pieces, slots } })
            }
            Token::Regex(pattern) => {
                let regex = self.regex(&pattern, pattern_at)?;
                let slots =
                    regex.capture_names().flatten().map(|name| (name.to_owned(), self.fields.slot(name))).collect();
                Ok(Command::Parse { source, extractor: Extractor::Regex { regex, slots } })
            }
            _ => {
                self.at = pattern_at;
                Err(self.error_here())
            }
        }
    }

    fn regex(&self, pattern: &str, at: usize) -> Result<Regex, QueryError> {
        // Insights writes named groups `(?<name>...)`, as the regex crate reads them too.
        regex::RegexBuilder::new(pattern).size_limit(1 << 20).build().map_err(|_| {
            let lexed = self.tokens.get(at).map_or((0, 0), |t| (t.start, t.end));
            QueryError {
                message: format!("Invalid regular expression /{pattern}/"),
                start: lexed.0,
                end: lexed.1.saturating_sub(1),
            }
        })
    }

    fn nested<T>(&mut self, parse: impl FnOnce(&mut Self) -> Result<T, QueryError>) -> Result<T, QueryError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error_here());
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn expr(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and()?;
        while self.eat_keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.not()?;
        while self.eat_keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, QueryError> {
        if self.eat_keyword("not") {
            return self.nested(|parser| Ok(Expr::Not(Box::new(parser.not()?))));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, QueryError> {
        let left = self.sum()?;
        let negated = self.eat_keyword("not");
        if self.eat_keyword("like") || (!negated && self.eat("=~")) {
            let at = self.at;
            let matcher = match self.next()? {
                Token::Str(text) => Matcher::Substring(text),
                Token::Regex(pattern) => Matcher::Regex(self.regex(&pattern, at)?),
                _ => {
                    self.at = at;
                    return Err(self.error_here());
                }
            };
            return Ok(Expr::Like { subject: Box::new(left), matcher, negated });
        }
        if self.eat_keyword("in") {
            self.expect("[")?;
            let mut list = vec![self.sum()?];
            while self.eat(",") {
                list.push(self.sum()?);
            }
            self.expect("]")?;
            return Ok(Expr::In { subject: Box::new(left), list, negated });
        }
        if negated {
            return Err(self.error_here());
        }
        let comparison = match self.peek() {
            Some(Token::Sym("=" | "==")) => Comparison::Eq,
            Some(Token::Sym("!=")) => Comparison::Ne,
            Some(Token::Sym("<")) => Comparison::Lt,
            Some(Token::Sym("<=")) => Comparison::Le,
            Some(Token::Sym(">")) => Comparison::Gt,
            Some(Token::Sym(">=")) => Comparison::Ge,
            _ => return Ok(left),
        };
        self.at += 1;
        Ok(Expr::Compare(comparison, Box::new(left), Box::new(self.sum()?)))
    }

    fn sum(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.product()?;
        loop {
            let op = match self.peek() {
                Some(Token::Sym("+")) => Arithmetic::Add,
                Some(Token::Sym("-")) => Arithmetic::Sub,
                _ => return Ok(left),
            };
            self.at += 1;
            left = Expr::Arith(op, Box::new(left), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Token::Sym("*")) => Arithmetic::Mul,
                Some(Token::Sym("/")) => Arithmetic::Div,
                Some(Token::Sym("%")) => Arithmetic::Mod,
                _ => return Ok(left),
            };
            self.at += 1;
            left = Expr::Arith(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if self.eat("-") {
            return self.nested(|parser| Ok(Expr::Negate(Box::new(parser.unary()?))));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        let at = self.at;
        match self.next()? {
            Token::Num(n) => Ok(Expr::Literal(Value::Num(n))),
            Token::Str(s) => Ok(Expr::Literal(Value::Str(s))),
            Token::Period(ms) => Ok(Expr::Literal(Value::Num(ms as f64))),
            Token::Sym("(") => {
                let inner = self.nested(Self::expr)?;
                self.expect(")")?;
                Ok(inner)
            }
            Token::Ident(name) if self.eat("(") => {
                let Some(function) = Function::named(&name) else {
                    self.at = at;
                    let lexed = self.tokens.get(at).map_or((0, 0), |t| (t.start, t.end));
                    return Err(QueryError {
                        message: format!("Unknown function name: {name}"),
                        start: lexed.0,
                        end: lexed.1.saturating_sub(1),
                    });
                };
                let mut arguments = Vec::new();
                if !self.eat(")") {
                    loop {
                        arguments.push(self.nested(Self::expr)?);
                        if !self.eat(",") {
                            break;
                        }
                    }
                    self.expect(")")?;
                }
                if !function.arity().contains(&arguments.len()) {
                    let end = self.tokens.get(self.at - 1).map_or(0, |t| t.end);
                    let start = self.tokens.get(at).map_or(0, |t| t.start);
                    return Err(QueryError {
                        message: format!("Wrong number of arguments to function {name}"),
                        start,
                        end: end.saturating_sub(1),
                    });
                }
                if function == Function::Bin {
                    // `bin(period)` bins @timestamp.
                    let timestamp = self.fields.slot("@timestamp");
                    arguments.insert(0, Expr::Field(timestamp));
                }
                Ok(Expr::Call(function, arguments))
            }
            Token::Ident(name) if !is_reserved(&name) => Ok(Expr::Field(self.fields.slot(&name))),
            _ => {
                self.at = at;
                Err(self.error_here())
            }
        }
    }
}

fn is_reserved(word: &str) -> bool {
    ["and", "or", "not", "like", "in", "as", "by", "asc", "desc"].iter().any(|w| w.eq_ignore_ascii_case(word))
}
