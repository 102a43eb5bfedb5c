//! AWS's request constraints, from AWS's own service models, and the validator that
//! enforces them as AWS's front end does.
//!
//! `generated/` is written by `cargo run -p xtask -- codegen` from the botocore models vendored
//! in `models/botocore/`: for each service a static table of its operations' input shapes
//! ([`Model`]) and, for awsQuery services, a typed input per operation ([`FromQuery`]). One
//! interpreter walks the tables ([`Input::violations_query`]), so adding a service adds data,
//! not code. What it checks, in each member's order: required members (`must not be null`),
//! string lengths in UTF-16 code units (Java's `String.length()`, as AWS's Coral validator
//! counts), `pattern` (a Java regex, matched against the whole value: see [`java_regex`]),
//! `enum`, numeric `min`/`max`, list and map sizes, and nested structures, lists and maps. A
//! failure is the service's refusal ([`Model::refusal`]: `ValidationError` for awsQuery) with
//! AWS's message:
//! `1 validation error detected: Value 'x' at 'userName' failed to satisfy constraint: ...`.
//! awsJson bodies are walked by [`Input::validate_json`] (`json`), which first refuses a value
//! of the wrong JSON type as AWS's deserializer does (`SerializationException`).
//!
//! Pure: no I/O, no clock. Linear in the request: each member is one pass over the decoded
//! parameters, and patterns are compiled once (lazily) by the `regex` crate, whose matching is
//! linear in the value.

use std::sync::OnceLock;

use aws_protocol::AwsError;
use aws_protocol::query::QueryParams;

// Written by the xtask, in its own layout: `xtask codegen --check` is its formatter's check.
#[rustfmt::skip]
mod generated;
pub mod java_regex;
mod json;
mod query;

pub use json::Mismatch;

pub use generated::*;

/// What a shape is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Structure,
    List,
    Map,
    String,
    Integer,
    Long,
    Boolean,
    Blob,
    Timestamp,
    Float,
}

/// One shape of a model with its constraints, as the generator writes it.
#[derive(Debug)]
pub struct Shape {
    pub kind: Kind,
    /// Length (strings, lists, maps) or value (numbers) at least this.
    pub min: Option<i64>,
    /// Length or value at most this.
    pub max: Option<i64>,
    /// The index of its pattern in [`Model::patterns`].
    pub pattern: Option<usize>,
    pub enumeration: &'static [&'static str],
    /// Its value is never shown in a message (passwords, secrets).
    pub sensitive: bool,
    /// A structure's members, in the model's order.
    pub members: &'static [Member],
    /// A list's element shape, a map's value shape.
    pub element: usize,
    /// A map's key shape.
    pub key: usize,
}

/// A shape with no constraints, which the generated tables fill in.
pub const BLANK: Shape = Shape {
    kind: Kind::String,
    min: None,
    max: None,
    pattern: None,
    enumeration: &[],
    sensitive: false,
    members: &[],
    element: 0,
    key: 0,
};

/// A member of a structure.
#[derive(Debug)]
pub struct Member {
    /// Its name on the wire (`UserName`).
    pub name: &'static str,
    /// Its shape's index in [`Model::shapes`].
    pub shape: usize,
    pub required: bool,
}

impl Member {
    pub const fn new(name: &'static str, shape: usize, required: bool) -> Member {
        Member { name, shape, required }
    }
}

/// A model's `pattern`: the Java regex as the model writes it (and AWS's message quotes it),
/// compiled on first use.
#[derive(Debug)]
pub struct Pattern {
    pub java: &'static str,
    compiled: OnceLock<Option<regex::Regex>>,
}

impl Pattern {
    pub const fn new(java: &'static str) -> Pattern {
        Pattern { java, compiled: OnceLock::new() }
    }

    /// The compiled pattern, or `None` for one the `regex` crate cannot express (a
    /// look-around): such a pattern is not checked (`every_pattern_compiles_but_the_listed`
    /// names them).
    pub fn regex(&self) -> Option<&regex::Regex> {
        self.compiled.get_or_init(|| regex::Regex::new(&java_regex::translate(self.java)).ok()).as_ref()
    }

    /// Whether `value` matches the whole pattern (true when it cannot be checked).
    pub fn matches(&self, value: &str) -> bool {
        self.regex().is_none_or(|regex| regex.is_match(value))
    }
}

/// One service's model: its operations' inputs and their shapes.
#[derive(Debug)]
pub struct Model {
    /// The SigV4 service name (`iam`, `sts`).
    pub service: &'static str,
    pub protocol: aws_protocol::Protocol,
    /// Operation name and input shape, sorted by name.
    pub operations: &'static [(&'static str, usize)],
    pub shapes: &'static [Shape],
    pub patterns: &'static [Pattern],
}

impl Model {
    fn shape(&self, index: usize) -> &Shape {
        self.shapes.get(index).unwrap_or(&BLANK)
    }

    /// The error code the service answers a request its model's constraints refuse with
    /// (HTTP 400, message `N validation error(s) detected: ...`), as each service was seen to:
    /// awsQuery's `ValidationError` (IAM, STS); `InvalidParameterException` for ECS, ECR and
    /// CloudWatch Logs (none models a `ValidationException` for the operations Homeport
    /// serves, and each answers a bad parameter with this one); `ValidationException` for the
    /// other awsJson services (SSM, Secrets Manager).
    pub fn refusal(&self) -> &'static str {
        match (self.protocol, self.service) {
            (aws_protocol::Protocol::Query, _) => "ValidationError",
            (_, "ecs" | "ecr" | "logs") => "InvalidParameterException",
            _ => "ValidationException",
        }
    }
}

/// An operation's input, as its service's model describes it.
#[derive(Debug, Clone, Copy)]
pub struct Input {
    pub model: &'static Model,
    pub shape: usize,
}

/// The input of `operation` of the service reached as `service` (its SigV4 name), if a
/// vendored model has it: `None` for a service or operation no model describes, which is
/// then not validated.
pub fn input(service: &str, operation: &str) -> Option<Input> {
    let model = MODELS.iter().find(|model| model.service == service)?;
    let at = model.operations.binary_search_by(|(name, _)| (*name).cmp(operation)).ok()?;
    model.operations.get(at).map(|(_, shape)| Input { model, shape: *shape })
}

impl Input {
    /// Checks awsQuery parameters against the input's constraints: AWS's `ValidationError`
    /// listing every violation, in order.
    pub fn validate_query(&self, params: &QueryParams) -> Result<(), AwsError> {
        let violations = self.violations_query(params);
        if violations.is_empty() { Ok(()) } else { Err(AwsError::new("ValidationError", 400, message(&violations))) }
    }

    /// Every constraint awsQuery parameters break, in the order AWS lists them.
    pub fn violations_query(&self, params: &QueryParams) -> Vec<Violation> {
        let mut violations = Vec::new();
        query::structure(self.model, self.model.shape(self.shape), params, "", &mut violations);
        violations
    }

    /// Checks an awsJson body (a JSON object) against the input: AWS's
    /// `SerializationException` for a value of the wrong JSON type, else the service's
    /// refusal ([`Model::refusal`]) listing every violated constraint, in order.
    pub fn validate_json(&self, body: &serde_json::Value) -> Result<(), AwsError> {
        match self.violations_json(body) {
            Ok(violations) if violations.is_empty() => Ok(()),
            Ok(violations) => Err(AwsError::new(self.model.refusal(), 400, message(&violations))),
            Err(mismatch) => Err(AwsError::new("SerializationException", 400, mismatch.message)),
        }
    }

    /// Every constraint an awsJson body breaks, in the order AWS lists them, or the first
    /// value of a JSON type the input cannot hold (`body` not an object is read as `{}`).
    pub fn violations_json(&self, body: &serde_json::Value) -> Result<Vec<Violation>, Mismatch> {
        let empty = serde_json::Map::new();
        let object = body.as_object().unwrap_or(&empty);
        json::body(self.model, self.model.shape(self.shape), object)
    }
}

/// A typed input read from awsQuery parameters (the generated `CreateUserRequest`, ...).
pub trait FromQuery<'a>: Sized {
    fn from_query(params: &'a QueryParams) -> Self;
}

/// What a message shows of the value that broke a constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// `Value null at`: a required member was not sent.
    Null,
    /// `Value at`: a sensitive member's value is never shown.
    Hidden,
    /// `Value 'x' at`.
    Text(String),
}

/// One broken constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// AWS's path to the member: lowerCamel names (whatever the wire's case), list elements as
    /// `tags.1.member`.
    pub path: String,
    pub value: Shown,
    /// `Member must ...`.
    pub constraint: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Shown::Null => write!(f, "Value null at '{}'", self.path)?,
            Shown::Hidden => write!(f, "Value at '{}'", self.path)?,
            Shown::Text(text) => write!(f, "Value '{text}' at '{}'", self.path)?,
        }
        write!(f, " failed to satisfy constraint: {}", self.constraint)
    }
}

/// AWS's message for `violations`: `N validation error(s) detected: ...; ...`.
pub fn message(violations: &[Violation]) -> String {
    let count = violations.len();
    let plural = if count == 1 { "" } else { "s" };
    let listed: Vec<String> = violations.iter().map(Violation::to_string).collect();
    format!("{count} validation error{plural} detected: {}", listed.join("; "))
}

/// The constraints of a scalar shape `value` breaks, in the order AWS was seen to list them
/// (STS, an empty `RoleArn`: the pattern, then the minimum length), then enum. A number that
/// does not parse is left to the operation.
fn scalar_failures(model: &Model, shape: &Shape, value: &str) -> Vec<String> {
    let mut failed = Vec::new();
    match shape.kind {
        Kind::String => {
            if let Some(pattern) = shape.pattern.and_then(|at| model.patterns.get(at)) {
                if !pattern.matches(value) {
                    failed.push(pattern_constraint(pattern));
                }
            }
            let length = i64::try_from(utf16_length(value)).unwrap_or(i64::MAX);
            failed.extend(length_constraints(shape, length));
            if !shape.enumeration.is_empty() && !shape.enumeration.contains(&value) {
                failed.push(enum_constraint(shape));
            }
        }
        Kind::Integer | Kind::Long | Kind::Float => {
            if let Ok(number) = value.trim().parse::<f64>() {
                if let Some(max) = shape.max.filter(|max| number > *max as f64) {
                    failed.push(format!("Member must have value less than or equal to {max}"));
                }
                if let Some(min) = shape.min.filter(|min| number < *min as f64) {
                    failed.push(format!("Member must have value greater than or equal to {min}"));
                }
            }
        }
        _ => {}
    }
    failed
}

/// Java's `String.length()`: UTF-16 code units, counted from the UTF-8 bytes (every byte that
/// starts a character is one unit, and one that starts a 4-byte character, outside the Basic
/// Multilingual Plane, one more), a pass the compiler vectorizes.
fn utf16_length(value: &str) -> usize {
    value.bytes().map(|byte| usize::from(byte & 0xC0 != 0x80) + usize::from(byte >= 0xF0)).sum()
}

/// The length constraints `length` breaks (a string's or a list's).
fn length_constraints(shape: &Shape, length: i64) -> Vec<String> {
    let mut failed = Vec::new();
    if let Some(max) = shape.max.filter(|max| length > *max) {
        failed.push(format!("Member must have length less than or equal to {max}"));
    }
    if let Some(min) = shape.min.filter(|min| length < *min) {
        failed.push(format!("Member must have length greater than or equal to {min}"));
    }
    failed
}

fn pattern_constraint(pattern: &Pattern) -> String {
    format!("Member must satisfy regular expression pattern: {}", pattern.java)
}

fn enum_constraint(shape: &Shape) -> String {
    format!("Member must satisfy enum value set: [{}]", shape.enumeration.join(", "))
}

/// Every constraint of a scalar shape, as AWS lists them for a list's element that breaks
/// one (`Member must satisfy constraint: [...]`).
fn all_constraints(model: &Model, shape: &Shape) -> Vec<String> {
    let mut all = Vec::new();
    let (noun, is_string) = match shape.kind {
        Kind::String => ("length", true),
        _ => ("value", false),
    };
    if let Some(max) = shape.max {
        all.push(format!("Member must have {noun} less than or equal to {max}"));
    }
    if let Some(min) = shape.min {
        all.push(format!("Member must have {noun} greater than or equal to {min}"));
    }
    if is_string {
        if let Some(pattern) = shape.pattern.and_then(|at| model.patterns.get(at)) {
            all.push(pattern_constraint(pattern));
        }
        if !shape.enumeration.is_empty() {
            all.push(enum_constraint(shape));
        }
    }
    all
}

/// `name` as AWS's paths write it: the first letter lowercase (`UserName` -> `userName`,
/// `SAMLMetadataDocument` -> `sAMLMetadataDocument`).
fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|first| first.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod json_tests;
#[cfg(test)]
mod tests;
