//! The journal's line format: one JSON object per record and line.
//!
//! Lines are written by hand, not through serde: the request path pays for every byte and
//! every branch. What the importer needs (`t`, `k`, `s`, `r`) always comes first and in that
//! order, so [`Head::read`] takes it from the front of the line without parsing the rest;
//! a line in any other shape (written by an earlier version) is parsed whole instead. The
//! other members have short names and are left out when empty or derivable (the event source
//! from the service); [`decode`] reads them back. No line holds a raw control character (they are escaped), so a
//! line never contains a NUL or a newline of its own.

use std::borrow::Cow;
use std::io::Write;

use serde::Deserialize;

use super::{Check, Record};

/// The most bytes a record keeps of one value (an ARN is at most 2,048 characters); longer
/// values are cut at a character boundary and end with [`CUT`].
pub const MAX_VALUE_BYTES: usize = 2048;

/// The most bytes a record keeps of the caller's user agent.
pub const MAX_USER_AGENT_BYTES: usize = 1024;

/// The most values a record keeps of one list (resources, deciding statements).
pub const MAX_LIST_VALUES: usize = 64;

/// What ends a value that was cut.
pub const CUT: &str = "...";

/// `value`, cut to at most `max` bytes (at a character boundary, [`CUT`] included).
fn capped(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max.saturating_sub(CUT.len());
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value.get(..end).unwrap_or_default()
}

/// Appends `record` as one line, newline included. Every value is capped
/// ([`MAX_VALUE_BYTES`], [`MAX_USER_AGENT_BYTES`], [`MAX_LIST_VALUES`]), so a line is bounded
/// whatever a request carries.
pub fn encode(record: &Record<'_>, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{{\"t\":{}", record.time);
    member(out, "k", &record.access_key_id);
    member(out, "s", &record.service);
    member(out, "r", &record.region);
    member(out, "id", &record.request_id);
    member(out, "a", &record.account_id);
    for (name, value) in
        [("p", &record.principal_arn), ("u", &record.username), ("ip", &record.source_ip), ("ua", &record.user_agent)]
    {
        if !value.is_empty() {
            member(out, name, value);
        }
    }
    if !record.event_source.is_empty() && record.event_source.strip_suffix(".amazonaws.com") != Some(&record.service) {
        member(out, "src", &record.event_source);
    }
    member(out, "e", &record.event_name);
    list(out, "res", &record.resources);
    member(out, "d", &record.decision);
    list(out, "st", &record.statements);
    if let Some(code) = &record.error_code {
        member(out, "err", code);
    }
    for (name, value) in [("pid", &record.principal_id), ("act", &record.action)] {
        if !value.is_empty() {
            member(out, name, value);
        }
    }
    checks(out, &record.checks);
    out.extend_from_slice(b"}\n");
}

/// Reads a line back (`None` if it is not a record), filling in the event source when the
/// line leaves it to be derived from the service.
pub fn decode(line: &str) -> Option<Record<'_>> {
    let mut record: Record<'_> = serde_json::from_str(line).ok()?;
    if record.event_source.is_empty() {
        record.event_source = format!("{}.amazonaws.com", record.service).into();
    }
    Some(record)
}

/// `,"NAME":"VALUE"`.
fn member(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    let max = if name == "ua" { MAX_USER_AGENT_BYTES } else { MAX_VALUE_BYTES };
    capped_string(out, value, max);
}

/// A JSON string of `value` cut to `max` bytes.
fn capped_string(out: &mut Vec<u8>, value: &str, max: usize) {
    let kept = capped(value, max);
    if kept.len() == value.len() {
        string(out, value);
    } else {
        string(out, &format!("{kept}{CUT}"));
    }
}

/// `,"NAME":["VALUE",...]`, or nothing for an empty list.
fn list(out: &mut Vec<u8>, name: &str, values: &[String]) {
    let Some((first, rest)) = values.split_first() else { return };
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":[");
    capped_string(out, first, MAX_VALUE_BYTES);
    for value in rest.iter().take(MAX_LIST_VALUES - 1) {
        out.push(b',');
        capped_string(out, value, MAX_VALUE_BYTES);
    }
    if values.len() > MAX_LIST_VALUES {
        out.extend_from_slice(b",\"");
        let _ = write!(out, "{CUT}{} more", values.len() - MAX_LIST_VALUES);
        out.push(b'"');
    }
    out.push(b']');
}

/// `,"az":[[DECISION,ACTION,RESOURCE,PASSED_TO],...]`, or nothing for none; capped as a list.
fn checks(out: &mut Vec<u8>, checks: &[Check]) {
    if checks.is_empty() {
        return;
    }
    out.extend_from_slice(b",\"az\":[");
    for (at, check) in checks.iter().take(MAX_LIST_VALUES).enumerate() {
        if at > 0 {
            out.push(b',');
        }
        for (index, value) in
            [&check.decision, &check.action, &check.resource, &check.passed_to].into_iter().enumerate()
        {
            out.push(if index == 0 { b'[' } else { b',' });
            capped_string(out, value, MAX_VALUE_BYTES);
        }
        out.push(b']');
    }
    out.push(b']');
}

/// A JSON string: `"`, `\` and control characters escaped, everything else as it is.
fn string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let bytes = value.as_bytes();
    // Almost every value needs no escape; this test of all its bytes has no branch to stop at.
    let escapes = bytes.iter().fold(false, |found, &byte| found | (byte < 0x20) | (byte == b'"') | (byte == b'\\'));
    if !escapes {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut plain = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let short: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(plain..at).unwrap_or_default());
        plain = at + 1;
        if short.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.extend_from_slice(short);
        }
    }
    out.extend_from_slice(bytes.get(plain..).unwrap_or_default());
    out.push(b'"');
}

/// The part of a line the importer needs: when, and the access key's use.
#[derive(Debug, PartialEq, Eq, Deserialize)]
pub struct Head<'a> {
    #[serde(rename = "t")]
    pub time: i64,
    #[serde(rename = "k", borrow, default)]
    pub access_key_id: Cow<'a, str>,
    #[serde(rename = "s", borrow, default)]
    pub service: Cow<'a, str>,
    #[serde(rename = "r", borrow, default)]
    pub region: Cow<'a, str>,
}

impl<'a> Head<'a> {
    /// Reads the head of `line` from its front when it is in [`encode`]'s shape, else by
    /// parsing the whole line; `None` for a line that is not a record.
    pub fn read(line: &'a str) -> Option<Head<'a>> {
        Head::front(line).or_else(|| serde_json::from_str(line).ok())
    }

    /// `{"t":N,"k":"…","s":"…","r":"…",` with no escapes in the three strings.
    fn front(line: &'a str) -> Option<Head<'a>> {
        let rest = line.strip_prefix("{\"t\":")?;
        let digits = rest.find(|c: char| c != '-' && !c.is_ascii_digit())?;
        let time = rest.get(..digits)?.parse().ok()?;
        let rest = rest.get(digits..)?;
        let (access_key_id, rest) = plain_member(rest, ",\"k\":\"")?;
        let (service, rest) = plain_member(rest, ",\"s\":\"")?;
        let (region, rest) = plain_member(rest, ",\"r\":\"")?;
        rest.starts_with([',', '}']).then_some(Head {
            time,
            access_key_id: Cow::Borrowed(access_key_id),
            service: Cow::Borrowed(service),
            region: Cow::Borrowed(region),
        })
    }
}

/// The value of a string member introduced by `prefix` that needs no unescaping, and what
/// follows it.
fn plain_member<'a>(text: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = text.strip_prefix(prefix)?;
    let (value, after) = rest.split_at(rest.find(['"', '\\'])?);
    Some((value, after.strip_prefix('"')?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record<'static> {
        Record {
            time: 1_700_000_000,
            request_id: "7f0c6a0e-1b9e-4d2b-9a51-0d1f1c3f2a10".into(),
            account_id: "111122223333".into(),
            principal_arn: "arn:aws:iam::111122223333:user/alice".into(),
            username: "alice".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            source_ip: "127.0.0.1".into(),
            user_agent: "aws-cli/2 \"quoted\" back\\slash tab\t nul\u{0} bell\u{7} é ☃".into(),
            event_source: "iam.amazonaws.com".into(),
            service: "iam".into(),
            region: "us-east-1".into(),
            event_name: "GetUser".into(),
            resources: vec!["arn:aws:iam::111122223333:user/alice".to_owned(), "x\ny".to_owned()],
            decision: "allowed".into(),
            statements: vec!["self".to_owned()],
            error_code: Some("NoSuchEntity".into()),
            principal_id: "AIDAEXAMPLE".into(),
            action: "iam:GetUser".into(),
            checks: vec![Check {
                decision: "implicitDeny".to_owned(),
                action: "iam:PassRole".to_owned(),
                resource: "arn:aws:iam::111122223333:role/r\"q".to_owned(),
                passed_to: "ecs-tasks.amazonaws.com".to_owned(),
            }],
        }
    }

    fn line(record: &Record<'_>) -> String {
        let mut out = Vec::new();
        encode(record, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_line_reads_back_as_the_record_it_was_written_from() {
        let text = line(&record());
        assert!(text.ends_with("}\n") && text.matches('\n').count() == 1);
        assert!(!text.bytes().any(|byte| byte < 0x20 && byte != b'\n'), "no raw control characters: {text}");
        assert!(!text.contains("\"src\""), "the event source is derived from the service: {text}");
        assert_eq!(decode(&text).unwrap(), record());
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap()["ua"], json_of(&record().user_agent));
    }

    fn json_of(text: &str) -> serde_json::Value {
        serde_json::Value::String(text.to_owned())
    }

    #[test]
    fn empty_members_are_left_out_but_the_head_is_always_there() {
        let bare = Record {
            time: 5,
            request_id: "r".into(),
            account_id: "111122223333".into(),
            event_source: "ssm.amazonaws.com".into(),
            event_name: "RequestManagedInstanceRoleToken".into(),
            decision: "allowed".into(),
            ..Record::default()
        };
        let text = line(&bare);
        assert_eq!(
            text,
            "{\"t\":5,\"k\":\"\",\"s\":\"\",\"r\":\"\",\"id\":\"r\",\"a\":\"111122223333\",\"src\":\"ssm.amazonaws.com\",\
             \"e\":\"RequestManagedInstanceRoleToken\",\"d\":\"allowed\"}\n"
        );
        assert_eq!(decode(&text).unwrap(), bare);
        assert_eq!(decode("not a record"), None);
    }

    /// Whatever a request carries, its line is bounded: every value is cut, every list capped
    /// (an unauthenticated `ActivationId` of 8 MiB once made a record of 8 MiB).
    #[test]
    fn every_value_and_list_is_capped() {
        let huge = "é".repeat(4 << 20);
        let mut large = record();
        large.principal_arn = huge.as_str().into();
        large.user_agent = huge.as_str().into();
        large.event_name = huge.as_str().into();
        large.resources = vec!["arn:aws:iam::111122223333:user/u".to_owned(); 10_000];
        large.resources[0] = huge.clone();
        large.statements = vec!["s".to_owned(); 10_000];
        large.checks = vec![Check { resource: "r".to_owned(), ..Check::default() }; 10_000];
        large.checks[0].resource = huge.clone();
        let text = line(&large);
        let bound = 16 * MAX_VALUE_BYTES + 3 * MAX_LIST_VALUES * (MAX_VALUE_BYTES + 8);
        assert!(text.len() < bound, "a line of {} bytes", text.len());
        let decoded = decode(&text).unwrap();
        assert!(decoded.principal_arn.len() <= MAX_VALUE_BYTES && decoded.principal_arn.ends_with(CUT));
        assert!(decoded.principal_arn.starts_with("éé"));
        assert!(decoded.user_agent.len() <= MAX_USER_AGENT_BYTES);
        assert_eq!(decoded.resources.len(), MAX_LIST_VALUES + 1);
        assert_eq!(decoded.resources.last().unwrap(), &format!("{CUT}{} more", 10_000 - MAX_LIST_VALUES));
        assert_eq!(decoded.statements.len(), MAX_LIST_VALUES + 1);
        assert_eq!(decoded.checks.len(), MAX_LIST_VALUES);
        assert!(decoded.checks.iter().all(|check| check.resource.len() <= MAX_VALUE_BYTES));
        assert_eq!(capped("short", 10), "short");
        assert_eq!(capped("abcdefghijk", 10), "abcdefg");
    }

    #[test]
    fn the_head_is_read_from_the_front_and_from_older_lines_whole() {
        let text = line(&record());
        let expected = Head {
            time: 1_700_000_000,
            access_key_id: "AKIAEXAMPLE".into(),
            service: "iam".into(),
            region: "us-east-1".into(),
        };
        assert_eq!(Head::front(&text), Some(expected));
        // The previous version's order: the front does not match, the whole line is parsed.
        let older = "{\"t\":7,\"id\":\"x\",\"a\":\"1\",\"k\":\"AKIAOLD\",\"src\":\"s\",\"s\":\"sts\",\"r\":\"eu-west-1\",\"e\":\"E\",\"d\":\"allowed\"}";
        assert_eq!(Head::front(older), None);
        let head = Head::read(older).unwrap();
        assert_eq!(
            (head.time, &*head.access_key_id, &*head.service, &*head.region),
            (7, "AKIAOLD", "sts", "eu-west-1")
        );
        // An escaped value is left to the whole-line parse, which unescapes it.
        let escaped = "{\"t\":-1,\"k\":\"A\\\"B\",\"s\":\"s\",\"r\":\"r\"}";
        assert_eq!(Head::front(escaped), None);
        assert_eq!(Head::read(escaped).unwrap().access_key_id, "A\"B");
        assert_eq!(Head::read("not a record"), None);
    }
}
