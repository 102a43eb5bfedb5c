//! The walk of an awsJson request body against its input shape, as AWS's Coral front end reads
//! one: first the body is read into the input's types, and a JSON value of the wrong type is a
//! `SerializationException` ([`Mismatch`]), whatever else is wrong; then the model's
//! constraints are checked, every violation in member order.
//!
//! Reading, as AWS was seen to read awsJson 1.1 bodies: a member sent as `null` is absent (and
//! so is a `null` element of a list); members the model does not name are ignored; a
//! fractional number for an integer is truncated; a string is never a number or a boolean
//! (`"10"` for an integer is refused). A timestamp is a number (epoch seconds, as the SDKs send
//! it) or a string; a blob is a (base64) string.
//!
//! Paths are built only when a violation is reported: a valid body costs one pass over its
//! members and no allocation.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::{Kind, Model, Shape, Shown, Violation, all_constraints, length_constraints, lower_first, scalar_failures};

/// A JSON value of a type the input's shape cannot hold: AWS's `SerializationException`,
/// with the words AWS's deserializer uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub message: String,
}

const START_OF_LIST: &str = "Start of list found where not expected";
const START_OF_MAP: &str = "Start of structure or map found where not expected.";

/// Where a value is in the body: rendered (`containerDefinitions.1.member.name`) only for a
/// violation.
#[derive(Clone, Copy)]
struct At<'a> {
    parent: Option<&'a At<'a>>,
    step: Step<'a>,
}

#[derive(Clone, Copy)]
enum Step<'a> {
    Root,
    /// A structure's member, by its name in the model.
    Member(&'static str),
    /// A list's element, numbered from 1 as AWS numbers them (`tags.1.member`).
    Element(usize),
    /// A map's entry, by its key.
    Key(&'a str),
}

impl At<'_> {
    const ROOT: At<'static> = At { parent: None, step: Step::Root };

    fn child<'a>(&'a self, step: Step<'a>) -> At<'a> {
        At { parent: Some(self), step }
    }

    fn render(&self) -> String {
        let mut steps = Vec::new();
        let mut at = Some(self);
        while let Some(here) = at {
            steps.push(here.step);
            at = here.parent;
        }
        let mut out = String::new();
        for step in steps.iter().rev() {
            let part = match step {
                Step::Root => continue,
                Step::Member(name) => lower_first(name),
                Step::Element(n) => format!("{n}.member"),
                Step::Key(key) => (*key).to_owned(),
            };
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part);
        }
        out
    }
}

/// Checks `object` as the structure `shape`: its members' types, then their constraints.
pub(crate) fn body(model: &Model, shape: &Shape, object: &Map<String, Value>) -> Result<Vec<Violation>, Mismatch> {
    let mut out = Vec::new();
    structure(model, shape, object, &At::ROOT, &mut out)?;
    Ok(out)
}

fn structure(
    model: &Model,
    shape: &Shape,
    object: &Map<String, Value>,
    at: &At<'_>,
    out: &mut Vec<Violation>,
) -> Result<(), Mismatch> {
    for member in shape.members {
        let here = at.child(Step::Member(member.name));
        match object.get(member.name) {
            None | Some(Value::Null) => {
                if member.required {
                    out.push(Violation {
                        path: here.render(),
                        value: Shown::Null,
                        constraint: "Member must not be null".to_owned(),
                    });
                }
            }
            Some(value) => self::value(model, model.shape(member.shape), value, &here, out)?,
        }
    }
    Ok(())
}

/// Checks a present, non-null `value` as `shape`.
fn value(model: &Model, shape: &Shape, value: &Value, at: &At<'_>, out: &mut Vec<Violation>) -> Result<(), Mismatch> {
    match shape.kind {
        Kind::Structure => match value {
            Value::Object(object) => structure(model, shape, object, at, out),
            Value::Array(_) => Err(mismatch(START_OF_LIST)),
            _ => Err(mismatch("Expected null")),
        },
        Kind::List => match value {
            Value::Array(elements) => list(model, shape, elements, at, out),
            Value::Object(_) => Err(mismatch(START_OF_MAP)),
            _ => Err(mismatch("Expected list or null")),
        },
        Kind::Map => match value {
            Value::Object(entries) => map(model, shape, entries, at, out),
            Value::Array(_) => Err(mismatch(START_OF_LIST)),
            _ => Err(mismatch("Expected null")),
        },
        _ if !constrained(shape) => scalar_type(shape, value),
        Kind::Integer | Kind::Long | Kind::Float if number_within(shape, value) => Ok(()),
        _ => {
            let text = scalar_text(shape, value)?;
            for constraint in scalar_failures(model, shape, &text) {
                out.push(Violation { path: at.render(), value: shown(shape, &text), constraint });
            }
            Ok(())
        }
    }
}

fn mismatch(message: &str) -> Mismatch {
    Mismatch { message: message.to_owned() }
}

/// A scalar as the constraints read it (a string's text, a number's digits; a fractional
/// number for an integer truncated), or the mismatch AWS answers for its JSON type.
fn scalar_text<'v>(shape: &Shape, value: &'v Value) -> Result<Cow<'v, str>, Mismatch> {
    let found = match value {
        Value::Array(_) => return Err(mismatch(START_OF_LIST)),
        Value::Object(_) => return Err(mismatch(START_OF_MAP)),
        Value::Null => return Ok(Cow::Borrowed("")),
        Value::String(text) => match shape.kind {
            Kind::String | Kind::Blob | Kind::Timestamp => return Ok(Cow::Borrowed(text)),
            _ => "STRING_VALUE",
        },
        Value::Number(number) => match shape.kind {
            Kind::Integer | Kind::Long => {
                let whole = number.as_i64().or_else(|| number.as_f64().map(|fraction| fraction.trunc() as i64));
                return Ok(Cow::Owned(whole.map(|whole| whole.to_string()).unwrap_or_else(|| number.to_string())));
            }
            Kind::Float | Kind::Timestamp => return Ok(Cow::Owned(number.to_string())),
            _ => "NUMBER_VALUE",
        },
        Value::Bool(flag) => match shape.kind {
            Kind::Boolean => return Ok(Cow::Borrowed(if *flag { "true" } else { "false" })),
            _ if *flag => "TRUE_VALUE",
            _ => "FALSE_VALUE",
        },
    };
    let target = match shape.kind {
        Kind::String => "a String",
        Kind::Integer => "an Integer",
        Kind::Long => "a Long",
        Kind::Float => "a Double",
        // Coral's own grammar.
        Kind::Boolean => "an Boolean",
        Kind::Blob => "a ByteBuffer",
        Kind::Timestamp => "a Date",
        Kind::Structure | Kind::List | Kind::Map => "a Structure",
    };
    Err(Mismatch { message: format!("{found} can not be converted to {target}") })
}

/// Whether `value`'s JSON type fits the scalar `shape` (the mismatch AWS answers if not),
/// without reading it: what a shape with no constraints needs.
fn scalar_type(shape: &Shape, value: &Value) -> Result<(), Mismatch> {
    let fits = matches!(
        (shape.kind, value),
        (Kind::String | Kind::Blob, Value::String(_))
            | (Kind::Timestamp, Value::String(_) | Value::Number(_))
            | (Kind::Integer | Kind::Long | Kind::Float, Value::Number(_))
            | (Kind::Boolean, Value::Bool(_))
    );
    if fits { Ok(()) } else { scalar_text(shape, value).map(|_| ()) }
}

/// Whether `value` is a number within the numeric `shape`'s range, read without text (the
/// common case: only a number out of range, or not a number, takes the slower path).
fn number_within(shape: &Shape, value: &Value) -> bool {
    let Some(number) = value.as_f64() else { return false };
    let number = if shape.kind == Kind::Float { number } else { number.trunc() };
    shape.min.is_none_or(|min| number >= min as f64) && shape.max.is_none_or(|max| number <= max as f64)
}

/// Whether a scalar shape has a constraint to check.
fn constrained(shape: &Shape) -> bool {
    shape.min.is_some() || shape.max.is_some() || shape.pattern.is_some() || !shape.enumeration.is_empty()
}

fn shown(shape: &Shape, text: &str) -> Shown {
    if shape.sensitive { Shown::Hidden } else { Shown::Text(text.to_owned()) }
}

fn is_scalar(shape: &Shape) -> bool {
    !matches!(shape.kind, Kind::Structure | Kind::List | Kind::Map)
}

fn list(
    model: &Model,
    shape: &Shape,
    elements: &[Value],
    at: &At<'_>,
    out: &mut Vec<Violation>,
) -> Result<(), Mismatch> {
    let element = model.shape(shape.element);
    let present = || elements.iter().filter(|element| !element.is_null());
    if is_scalar(element) && !constrained(element) {
        for value in present() {
            scalar_type(element, value)?;
        }
    } else if is_scalar(element) {
        let mut failed = false;
        for value in present() {
            let text = scalar_text(element, value)?;
            failed |= !scalar_failures(model, element, &text).is_empty();
        }
        if failed {
            // AWS reports a list of scalars once, on the list, with all its element's constraints.
            let constraint =
                format!("Member must satisfy constraint: [{}]", all_constraints(model, element).join(", "));
            out.push(Violation { path: at.render(), value: shown_list(model, shape, elements), constraint });
        }
    } else {
        // Elements are numbered as sent; a `null` element is skipped, as AWS skips it.
        for (i, value) in elements.iter().enumerate() {
            if !value.is_null() {
                self::value(model, element, value, &at.child(Step::Element(i + 1)), out)?;
            }
        }
    }
    let count = i64::try_from(present().count()).unwrap_or(i64::MAX);
    let failures = length_constraints(shape, count);
    if !failures.is_empty() {
        let shown = shown_list(model, shape, elements);
        for constraint in failures {
            out.push(Violation { path: at.render(), value: shown.clone(), constraint });
        }
    }
    Ok(())
}

fn map(
    model: &Model,
    shape: &Shape,
    entries: &Map<String, Value>,
    at: &At<'_>,
    out: &mut Vec<Violation>,
) -> Result<(), Mismatch> {
    let key_shape = model.shape(shape.key);
    let value_shape = model.shape(shape.element);
    let mut keys_failed = false;
    let mut values_failed = false;
    for (key, value) in entries {
        keys_failed |= !scalar_failures(model, key_shape, key).is_empty();
        if value.is_null() {
            continue;
        }
        if is_scalar(value_shape) && !constrained(value_shape) {
            scalar_type(value_shape, value)?;
        } else if is_scalar(value_shape) {
            let text = scalar_text(value_shape, value)?;
            values_failed |= !scalar_failures(model, value_shape, &text).is_empty();
        } else {
            // No vendored model says how AWS names a map's structured value: `name.KEY`.
            self::value(model, value_shape, value, &at.child(Step::Key(key)), out)?;
        }
    }
    let hidden = shape.sensitive || value_shape.sensitive;
    let shown_map = || if hidden { Shown::Hidden } else { Shown::Text(describe(model, shape, entries)) };
    for (failed, noun, element) in [(keys_failed, "key", key_shape), (values_failed, "value", value_shape)] {
        if failed {
            let constraint =
                format!("Map {noun} must satisfy constraint: [{}]", all_constraints(model, element).join(", "));
            out.push(Violation { path: at.render(), value: shown_map(), constraint });
        }
    }
    let count = i64::try_from(entries.len()).unwrap_or(i64::MAX);
    for constraint in length_constraints(shape, count) {
        out.push(Violation { path: at.render(), value: shown_map(), constraint });
    }
    Ok(())
}

fn shown_list(model: &Model, shape: &Shape, elements: &[Value]) -> Shown {
    let element = model.shape(shape.element);
    if shape.sensitive || element.sensitive {
        return Shown::Hidden;
    }
    let parts: Vec<String> =
        elements.iter().filter(|value| !value.is_null()).map(|value| describe_value(model, element, value)).collect();
    Shown::Text(format!("[{}]", parts.join(", ")))
}

/// A map as a message shows it: `{key=value, ...}`.
fn describe(model: &Model, shape: &Shape, entries: &Map<String, Value>) -> String {
    let value_shape = model.shape(shape.element);
    let parts: Vec<String> =
        entries.iter().map(|(key, value)| format!("{key}={}", describe_value(model, value_shape, value))).collect();
    format!("{{{}}}", parts.join(", "))
}

/// A value as a message shows it, as Java prints AWS's objects: strings bare, lists `[a, b]`,
/// structures `{name=value, ...}` with the members sent in the model's order (a sensitive
/// member left out).
fn describe_value(model: &Model, shape: &Shape, value: &Value) -> String {
    match (shape.kind, value) {
        (_, Value::String(text)) => text.clone(),
        (_, Value::Null) => "null".to_owned(),
        (Kind::Structure, Value::Object(object)) => {
            let parts: Vec<String> = shape
                .members
                .iter()
                .filter_map(|member| {
                    let value = object.get(member.name).filter(|value| !value.is_null())?;
                    let target = model.shape(member.shape);
                    // A secret is never shown, even inside its structure.
                    if target.sensitive {
                        return None;
                    }
                    let text = describe_value(model, target, value);
                    Some(format!("{}={text}", lower_first(member.name)))
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        (Kind::Map, Value::Object(entries)) => describe(model, shape, entries),
        (Kind::List, Value::Array(elements)) => {
            let element = model.shape(shape.element);
            let parts: Vec<String> = elements.iter().map(|value| describe_value(model, element, value)).collect();
            format!("[{}]", parts.join(", "))
        }
        (_, other) => other.to_string(),
    }
}
