//! The walk of an awsQuery request's parameters against its input shape: members by name,
//! lists as `Name.member.N` (an empty list sent as `Name=`), structures as `Name.Member`, maps
//! as `Name.entry.N.key` / `.value`, as botocore serializes them.

use aws_protocol::query::QueryParams;

use crate::{Kind, Model, Shape, Shown, Violation, all_constraints, length_constraints, lower_first, scalar_failures};

/// Checks the members of a structure, `params` being its own parameters (names relative to it).
pub(crate) fn structure(model: &Model, shape: &Shape, params: &QueryParams, path: &str, out: &mut Vec<Violation>) {
    for member in shape.members {
        let target = model.shape(member.shape);
        let path =
            if path.is_empty() { lower_first(member.name) } else { format!("{path}.{}", lower_first(member.name)) };
        let present = value(model, target, params, member.name, &path, out);
        if !present && member.required {
            out.push(Violation { path, value: Shown::Null, constraint: "Member must not be null".to_owned() });
        }
    }
}

/// Checks the member `name` of `params` as `shape`; whether it was sent.
fn value(model: &Model, shape: &Shape, params: &QueryParams, name: &str, path: &str, out: &mut Vec<Violation>) -> bool {
    match shape.kind {
        Kind::Structure => {
            let nested = params.nested(name);
            if nested.is_empty() {
                return false;
            }
            structure(model, shape, &nested, path, out);
            true
        }
        Kind::List => list(model, shape, params, name, path, out),
        Kind::Map => map(model, shape, params, name, path, out),
        _ => match params.get(name) {
            Some(text) => {
                scalar(model, shape, text, path, out);
                true
            }
            None => false,
        },
    }
}

fn scalar(model: &Model, shape: &Shape, text: &str, path: &str, out: &mut Vec<Violation>) {
    for constraint in scalar_failures(model, shape, text) {
        out.push(Violation { path: path.to_owned(), value: shown(shape, text), constraint });
    }
}

fn shown(shape: &Shape, text: &str) -> Shown {
    if shape.sensitive { Shown::Hidden } else { Shown::Text(text.to_owned()) }
}

fn list(model: &Model, shape: &Shape, params: &QueryParams, name: &str, path: &str, out: &mut Vec<Violation>) -> bool {
    let element = model.shape(shape.element);
    let scalar_elements = !matches!(element.kind, Kind::Structure | Kind::List | Kind::Map);
    let (count, shown_list) = if scalar_elements {
        let values = params.member_values(name);
        let failed = values.iter().any(|value| !scalar_failures(model, element, value).is_empty());
        let text = || format!("[{}]", values.join(", "));
        let shown_list = if element.sensitive || shape.sensitive { Shown::Hidden } else { Shown::Text(text()) };
        if failed {
            // AWS reports a list of scalars once, on the list, with all its element's constraints.
            let constraint =
                format!("Member must satisfy constraint: [{}]", all_constraints(model, element).join(", "));
            out.push(Violation { path: path.to_owned(), value: shown_list.clone(), constraint });
        }
        (values.len(), shown_list)
    } else {
        let members = params.members(name);
        for (i, member) in members.iter().enumerate() {
            let element_path = format!("{path}.{}.member", i + 1);
            // Lists of lists or maps are in no vendored awsQuery model: their elements' own
            // constraints are not checked (their count is).
            if element.kind == Kind::Structure {
                structure(model, element, member, &element_path, out);
            }
        }
        let shown_list = if shape.sensitive { Shown::Hidden } else { Shown::Text(describe_members(&members)) };
        (members.len(), shown_list)
    };
    // `Name=` with no members is how botocore sends an empty list.
    let sent = count > 0 || params.get(name).is_some();
    if sent {
        for constraint in length_constraints(shape, i64::try_from(count).unwrap_or(i64::MAX)) {
            out.push(Violation { path: path.to_owned(), value: shown_list.clone(), constraint });
        }
    }
    sent
}

/// A list of structures as a message shows it: each element's members in the order sent.
fn describe_members(members: &[QueryParams]) -> String {
    let elements: Vec<String> = members
        .iter()
        .map(|member| {
            let fields: Vec<String> =
                member.pairs().map(|(key, value)| format!("{}={value}", lower_first(key))).collect();
            format!("{{{}}}", fields.join(", "))
        })
        .collect();
    format!("[{}]", elements.join(", "))
}

fn map(model: &Model, shape: &Shape, params: &QueryParams, name: &str, path: &str, out: &mut Vec<Violation>) -> bool {
    let entries = map_entries(&params.nested(name));
    let key_shape = model.shape(shape.key);
    let value_shape = model.shape(shape.element);
    let mut keys_failed = false;
    let mut values_failed = false;
    for entry in &entries {
        keys_failed |= entry.get("key").is_some_and(|key| !scalar_failures(model, key_shape, key).is_empty());
        values_failed |= entry.get("value").is_some_and(|value| !scalar_failures(model, value_shape, value).is_empty());
    }
    let text = || {
        let pairs: Vec<String> = entries
            .iter()
            .map(|entry| format!("{}={}", entry.get("key").unwrap_or_default(), entry.get("value").unwrap_or_default()))
            .collect();
        format!("{{{}}}", pairs.join(", "))
    };
    let shown_map = if shape.sensitive || value_shape.sensitive { Shown::Hidden } else { Shown::Text(text()) };
    for (failed, noun, element) in [(keys_failed, "key", key_shape), (values_failed, "value", value_shape)] {
        if failed {
            let constraint =
                format!("Map {noun} must satisfy constraint: [{}]", all_constraints(model, element).join(", "));
            out.push(Violation { path: path.to_owned(), value: shown_map.clone(), constraint });
        }
    }
    let sent = !entries.is_empty() || params.get(name).is_some();
    if sent {
        for constraint in length_constraints(shape, i64::try_from(entries.len()).unwrap_or(i64::MAX)) {
            out.push(Violation { path: path.to_owned(), value: shown_map.clone(), constraint });
        }
    }
    sent
}

/// A map's entries, `entry.N.key` and `entry.N.value`, ordered by N.
fn map_entries(params: &QueryParams) -> Vec<QueryParams> {
    let mut entries: std::collections::BTreeMap<u32, Vec<(String, String)>> = std::collections::BTreeMap::new();
    for (key, value) in params.pairs() {
        let Some((number, part)) = key.strip_prefix("entry.").and_then(|rest| rest.split_once('.')) else { continue };
        let Ok(number) = number.parse::<u32>() else { continue };
        entries.entry(number).or_default().push((part.to_owned(), value.to_owned()));
    }
    entries.into_values().map(QueryParams::from_pairs).collect()
}
