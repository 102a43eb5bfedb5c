//! Evaluation: a query's commands become stages that records stream through, one event at a
//! time. Streaming stages (`fields`, `display`, `parse`, `filter`, `dedup`, `limit`) pass or
//! drop a record at once; `stats` folds records into one state per group, and `sort` keeps
//! only the rows the answer can show, so memory is bounded by the groups and the result's
//! limit, never by the events scanned. Blocking stages hand their rows on when the events end.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;

use crate::functions::Fold;
use crate::syntax::{
    AggregateCall, Arithmetic, Command, Comparison, Expr, Extractor, Fields, Matcher, Order, Projection, Slot, Source,
};
use crate::value::{Key, Value};
use crate::{Event, Outcome, Row, RunError};

/// The most groups `stats` (or keys `dedup`) may hold.
pub const MAX_GROUPS: usize = 100_000;
/// The most rows a `sort` keeps when the stages after it may drop rows (a `filter` or `dedup`
/// after it): the first this many in its order.
pub const MAX_SORTED: usize = 100_000;

/// One record: an event with the fields the query assigned, or a row `stats` produced.
#[derive(Debug)]
pub(crate) struct Record {
    event: Option<Event>,
    values: Vec<Option<Value>>,
    json: OnceCell<Option<Json>>,
}

impl Record {
    fn new(event: Option<Event>, slots: usize) -> Record {
        Record { event, values: vec![None; slots], json: OnceCell::new() }
    }

    fn set(&mut self, slot: Slot, value: Option<Value>) {
        if let Some(place) = self.values.get_mut(slot) {
            *place = value;
        }
    }

    fn time(&self) -> i64 {
        self.event.as_ref().map_or(0, |event| event.timestamp)
    }

    /// A field's value: what the query assigned, else what the event holds.
    pub(crate) fn get(&self, slot: Slot, fields: &Fields) -> Option<Value> {
        if let Some(value) = self.values.get(slot).and_then(Option::as_ref) {
            return Some(value.clone());
        }
        let event = self.event.as_ref()?;
        match fields.sources.get(slot)? {
            Source::Timestamp => Some(Value::Time(event.timestamp)),
            Source::IngestionTime => Some(Value::Time(event.ingestion_time)),
            Source::Message => Some(Value::Str(event.message.clone())),
            Source::LogStream => Some(Value::Str(event.stream.clone())),
            Source::Log => Some(Value::Str(event.log.to_string())),
            Source::Json(path) => json_value(lookup(self.json(event)?, path)?),
            Source::None => None,
        }
    }

    /// A field's text without copying it when the event holds it.
    fn text(&self, slot: Slot, fields: &Fields) -> Option<Cow<'_, str>> {
        match self.values.get(slot).and_then(Option::as_ref) {
            Some(Value::Str(s)) => return Some(Cow::Borrowed(s)),
            Some(other) => return Some(Cow::Owned(other.render())),
            None => {}
        }
        let event = self.event.as_ref()?;
        match fields.sources.get(slot)? {
            Source::Message => Some(Cow::Borrowed(&event.message)),
            Source::LogStream => Some(Cow::Borrowed(&event.stream)),
            _ => self.get(slot, fields).map(|value| Cow::Owned(value.render())),
        }
    }

    fn json(&self, event: &Event) -> Option<&Json> {
        self.json
            .get_or_init(|| {
                let message = event.message.trim_start();
                if message.starts_with('{') { serde_json::from_str(message).ok() } else { None }
            })
            .as_ref()
    }
}

fn lookup<'j>(json: &'j Json, path: &[String]) -> Option<&'j Json> {
    path.iter().try_fold(json, |node, step| match node {
        Json::Object(members) => members.get(step),
        Json::Array(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn json_value(json: &Json) -> Option<Value> {
    match json {
        Json::Null => None,
        Json::String(s) => Some(Value::Str(s.clone())),
        Json::Number(n) => n.as_f64().map(Value::Num),
        Json::Bool(b) => Some(Value::Str(b.to_string())),
        other => Some(Value::Str(other.to_string())),
    }
}

/// Every field of an event as Insights discovers it: the `@` fields, then a JSON message's
/// members flattened to dotted paths (arrays by index).
pub fn discovered_fields(event: &Event) -> Vec<(String, String)> {
    let mut fields = vec![
        ("@timestamp".to_owned(), event.timestamp.to_string()),
        ("@message".to_owned(), event.message.clone()),
        ("@logStream".to_owned(), event.stream.clone()),
        ("@log".to_owned(), event.log.to_string()),
        ("@ingestionTime".to_owned(), event.ingestion_time.to_string()),
    ];
    if let Ok(json @ Json::Object(_)) = serde_json::from_str::<Json>(event.message.trim_start()) {
        flatten(&json, String::new(), &mut fields);
    }
    fields
}

fn flatten(json: &Json, path: String, into: &mut Vec<(String, String)>) {
    let join = |step: &str| if path.is_empty() { step.to_owned() } else { format!("{path}.{step}") };
    match json {
        Json::Object(members) => members.iter().for_each(|(name, value)| flatten(value, join(name), into)),
        Json::Array(items) => {
            items.iter().enumerate().for_each(|(i, value)| flatten(value, join(&i.to_string()), into))
        }
        other => {
            if let Some(value) = json_value(other) {
                into.push((path, value.render()));
            }
        }
    }
}

/// Evaluates an expression on a record; `None` when a field it needs is absent.
pub(crate) fn eval(expr: &Expr, record: &Record, fields: &Fields) -> Option<Value> {
    let truth = |e: &Expr| eval(e, record, fields).is_some_and(|v| v.truthy());
    match expr {
        Expr::Field(slot) => record.get(*slot, fields),
        Expr::Literal(value) => Some(value.clone()),
        Expr::Not(inner) => Some(Value::Bool(!truth(inner))),
        Expr::And(a, b) => Some(Value::Bool(truth(a) && truth(b))),
        Expr::Or(a, b) => Some(Value::Bool(truth(a) || truth(b))),
        Expr::Compare(comparison, a, b) => {
            let order = eval(a, record, fields)?.compare(&eval(b, record, fields)?);
            Some(Value::Bool(match comparison {
                Comparison::Eq => order.is_eq(),
                Comparison::Ne => order.is_ne(),
                Comparison::Lt => order.is_lt(),
                Comparison::Le => order.is_le(),
                Comparison::Gt => order.is_gt(),
                Comparison::Ge => order.is_ge(),
            }))
        }
        Expr::Like { subject, matcher, negated } => {
            let text = text_of(subject, record, fields)?;
            let found = match matcher {
                Matcher::Substring(needle) => text.contains(needle.as_str()),
                Matcher::Regex(regex) => regex.is_match(&text),
            };
            Some(Value::Bool(found != *negated))
        }
        Expr::In { subject, list, negated } => {
            let value = eval(subject, record, fields)?;
            let found = list.iter().any(|item| eval(item, record, fields).is_some_and(|v| value.compare(&v).is_eq()));
            Some(Value::Bool(found != *negated))
        }
        Expr::Arith(op, a, b) => {
            let (a, b) = (eval(a, record, fields)?, eval(b, record, fields)?);
            let (x, y) = (a.number()?, b.number()?);
            let n = match op {
                Arithmetic::Add => x + y,
                Arithmetic::Sub => x - y,
                Arithmetic::Mul => x * y,
                Arithmetic::Div if y != 0.0 => x / y,
                Arithmetic::Mod if y != 0.0 => x % y,
                Arithmetic::Div | Arithmetic::Mod => return None,
            };
            // A time plus or minus a number of milliseconds is still a time.
            let time_kept = matches!(a, Value::Time(_))
                && matches!(op, Arithmetic::Add | Arithmetic::Sub)
                && !matches!(b, Value::Time(_));
            Some(if time_kept { Value::Time(n as i64) } else { Value::Num(n) })
        }
        Expr::Negate(inner) => eval(inner, record, fields)?.number().map(|n| Value::Num(-n)),
        Expr::Call(function, arguments) if arguments.len() <= 3 => {
            // Most calls take at most three arguments: evaluated on the stack, not in a Vec.
            let mut values: [Option<Value>; 3] = [None, None, None];
            for (value, argument) in values.iter_mut().zip(arguments) {
                *value = eval(argument, record, fields);
            }
            function.apply(values.get(..arguments.len()).unwrap_or_default())
        }
        Expr::Call(function, arguments) => {
            let values: Vec<Option<Value>> = arguments.iter().map(|a| eval(a, record, fields)).collect();
            function.apply(&values)
        }
    }
}

fn text_of<'r>(expr: &Expr, record: &'r Record, fields: &Fields) -> Option<Cow<'r, str>> {
    match expr {
        Expr::Field(slot) => record.text(*slot, fields),
        other => eval(other, record, fields).map(|value| Cow::Owned(value.render())),
    }
}

/// `parse` with a glob: each `*` takes the shortest text up to the next literal piece (the
/// last, when nothing follows it, takes the rest); the first piece is searched for.
fn glob_captures<'t>(text: &'t str, pieces: &[String]) -> Option<Vec<&'t str>> {
    let (first, rest) = pieces.split_first()?;
    let mut at = text.find(first.as_str())? + first.len();
    let mut captures = Vec::with_capacity(rest.len());
    for (i, piece) in rest.iter().enumerate() {
        let remaining = text.get(at..)?;
        if piece.is_empty() && i + 1 == rest.len() {
            captures.push(remaining);
            at = text.len();
        } else {
            let found = remaining.find(piece.as_str())?;
            captures.push(remaining.get(..found)?);
            at += found + piece.len();
        }
    }
    Some(captures)
}

struct Sorter {
    keys: Vec<(Expr, Order)>,
    keep: usize,
    arrived: u64,
    rows: Vec<(Vec<Option<Value>>, u64, Record)>,
}

impl Sorter {
    fn new(keys: Vec<(Expr, Order)>) -> Sorter {
        Sorter { keys, keep: usize::MAX, arrived: 0, rows: Vec::new() }
    }

    fn order(
        keys: &[(Expr, Order)],
        a: &(Vec<Option<Value>>, u64, Record),
        b: &(Vec<Option<Value>>, u64, Record),
    ) -> Ordering {
        for ((_, order), (x, y)) in keys.iter().zip(a.0.iter().zip(b.0.iter())) {
            // Absent values sort last whichever the order.
            let ordering = match (x, y) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => return Ordering::Greater,
                (Some(_), None) => return Ordering::Less,
                (Some(x), Some(y)) => x.compare(y),
            };
            let ordering = if *order == Order::Desc { ordering.reverse() } else { ordering };
            if ordering.is_ne() {
                return ordering;
            }
        }
        a.1.cmp(&b.1)
    }

    fn trim(&mut self) {
        let keys = &self.keys;
        self.rows.sort_by(|a, b| Sorter::order(keys, a, b));
        self.rows.truncate(self.keep);
    }
}

struct Stats {
    aggregates: Vec<AggregateCall>,
    by: Vec<Projection>,
    index: HashMap<Vec<Key>, usize>,
    groups: Vec<(Vec<Key>, Vec<Fold>)>,
    key: Vec<Key>,
}

enum Stage {
    /// `fields` and `display`: computed fields.
    Assign(Vec<Projection>),
    Parse(Expr, Extractor),
    Filter(Expr),
    Dedup(Vec<Expr>, HashSet<Vec<Key>>),
    Limit {
        n: usize,
        passed: usize,
        ends_scan: bool,
    },
    Sort(Sorter),
    Stats(Stats),
}

/// A query being run: hand it events in time order with [`Run::push`], then [`Run::finish`].
pub struct Run {
    fields: Fields,
    stages: Vec<Stage>,
    /// Where an event counts as matched: the first `stats` or `sort`, or the end.
    match_point: usize,
    columns: Vec<Slot>,
    limit: usize,
    rows: Vec<Record>,
    scanned: u64,
    matched: u64,
    bytes: u64,
    done: bool,
}

impl Run {
    pub(crate) fn new(commands: &[Command], fields: &Fields, limit: usize) -> Run {
        let mut fields = fields.clone();
        let mut stages = Vec::new();
        for command in commands {
            stages.push(match command.clone() {
                Command::Fields(projections) | Command::Display(projections) => Stage::Assign(projections),
                Command::Parse { source, extractor } => Stage::Parse(source, extractor),
                Command::Filter(expr) => Stage::Filter(expr),
                Command::Dedup(keys) => Stage::Dedup(keys, HashSet::new()),
                Command::Limit(n) => Stage::Limit { n, passed: 0, ends_scan: false },
                Command::Sort(keys) => Stage::Sort(Sorter::new(keys)),
                Command::Stats { aggregates, by } => {
                    Stage::Stats(Stats { aggregates, by, index: HashMap::new(), groups: Vec::new(), key: Vec::new() })
                }
            });
        }
        if !stages.iter().any(|s| matches!(s, Stage::Sort(_) | Stage::Stats(_))) {
            // Without a sort, the newest events first, and a `limit` takes the newest.
            let timestamp = Expr::Field(fields.slot("@timestamp"));
            let at = stages.iter().position(|s| matches!(s, Stage::Limit { .. })).unwrap_or(stages.len());
            stages.insert(at, Stage::Sort(Sorter::new(vec![(timestamp, Order::Desc)])));
        }
        let mut blocked = false;
        for stage in &mut stages {
            match stage {
                Stage::Sort(_) | Stage::Stats(_) => blocked = true,
                Stage::Limit { ends_scan, .. } => *ends_scan = !blocked,
                _ => {}
            }
        }
        // A sort keeps only what the stages after it can let through: the next limit, or the
        // answer's, when nothing after it drops rows. A sort whose rows all go on to `stats`
        // changes nothing and is dropped; one followed by stages that drop rows keeps at most
        // MAX_SORTED of them.
        let mut keep = limit;
        let mut feeds_stats = false;
        let mut pointless = Vec::new();
        for (index, stage) in stages.iter_mut().enumerate().rev() {
            match stage {
                Stage::Limit { n, .. } => {
                    keep = keep.min(*n);
                    feeds_stats = false;
                }
                Stage::Sort(sorter) => {
                    if feeds_stats {
                        pointless.push(index);
                    }
                    sorter.keep = keep.clamp(1, MAX_SORTED);
                    keep = usize::MAX;
                }
                Stage::Assign(_) | Stage::Parse(..) => {}
                Stage::Filter(_) | Stage::Dedup(..) => keep = usize::MAX,
                Stage::Stats(_) => {
                    keep = usize::MAX;
                    feeds_stats = true;
                }
            }
        }
        for index in pointless {
            stages.remove(index);
        }
        let match_point =
            stages.iter().position(|s| matches!(s, Stage::Sort(_) | Stage::Stats(_))).unwrap_or(stages.len());
        let columns = columns(commands, &mut fields);
        Run {
            fields,
            stages,
            match_point,
            columns,
            limit,
            rows: Vec::new(),
            scanned: 0,
            matched: 0,
            bytes: 0,
            done: false,
        }
    }

    /// Whether the answer can no longer change, however many more events come (a `limit`
    /// before any `sort` or `stats` is reached): the caller may stop reading.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Runs one event through the query. Events come in time order, oldest first.
    pub fn push(&mut self, event: Event) -> Result<(), RunError> {
        self.scanned += 1;
        self.bytes += event.message.len() as u64;
        let record = Record::new(Some(event), self.fields.names.len());
        self.push_from(0, record)
    }

    fn push_from(&mut self, from: usize, mut record: Record) -> Result<(), RunError> {
        let fields = &self.fields;
        for index in from..self.stages.len() {
            if index == self.match_point && record.event.is_some() {
                self.matched += 1;
            }
            let Some(stage) = self.stages.get_mut(index) else { break };
            match stage {
                Stage::Assign(projections) => {
                    for projection in projections.iter() {
                        let value = eval(&projection.expr, &record, fields);
                        record.set(projection.slot, value);
                    }
                }
                Stage::Parse(source, extractor) => {
                    let assigned: Vec<(Slot, Value)> = match text_of(source, &record, fields) {
                        None => Vec::new(),
                        Some(text) => match extractor {
                            Extractor::Glob { pieces, slots } => glob_captures(&text, pieces)
                                .map(|captures| {
                                    slots.iter().zip(captures).map(|(s, c)| (*s, Value::Str(c.to_owned()))).collect()
                                })
                                .unwrap_or_default(),
                            Extractor::Regex { regex, slots } => regex
                                .captures(&text)
                                .map(|captures| {
                                    slots
                                        .iter()
                                        .filter_map(|(name, slot)| {
                                            captures.name(name).map(|c| (*slot, Value::Str(c.as_str().to_owned())))
                                        })
                                        .collect()
                                })
                                .unwrap_or_default(),
                        },
                    };
                    for (slot, value) in assigned {
                        record.set(slot, Some(value));
                    }
                }
                Stage::Filter(expr) => {
                    if !eval(expr, &record, fields).is_some_and(|v| v.truthy()) {
                        return Ok(());
                    }
                }
                Stage::Dedup(keys, seen) => {
                    let key: Vec<Key> = keys.iter().map(|k| Key::of(eval(k, &record, fields).as_ref())).collect();
                    if seen.contains(&key) {
                        return Ok(());
                    }
                    if seen.len() >= MAX_GROUPS {
                        return Err(RunError(format!("dedup found more than {MAX_GROUPS} distinct values")));
                    }
                    seen.insert(key);
                }
                Stage::Limit { n, passed, ends_scan } => {
                    if *passed >= *n {
                        if *ends_scan {
                            self.done = true;
                        }
                        return Ok(());
                    }
                    *passed += 1;
                }
                Stage::Sort(sorter) => {
                    let keys = sorter.keys.iter().map(|(k, _)| eval(k, &record, fields)).collect();
                    sorter.arrived += 1;
                    sorter.rows.push((keys, sorter.arrived, record));
                    if sorter.rows.len() >= sorter.keep.saturating_mul(2).max(1024) {
                        sorter.trim();
                    }
                    return Ok(());
                }
                Stage::Stats(stats) => {
                    // The key is built in a buffer the stage keeps, and copied only for a new group.
                    stats.key.clear();
                    stats.key.extend(stats.by.iter().map(|p| Key::of(eval(&p.expr, &record, fields).as_ref())));
                    let group = match stats.index.get(stats.key.as_slice()) {
                        Some(group) => *group,
                        None => {
                            if stats.groups.len() >= MAX_GROUPS {
                                return Err(RunError(format!("stats produced more than {MAX_GROUPS} groups")));
                            }
                            let folds = stats.aggregates.iter().map(|a| a.function.start()).collect();
                            let key = stats.key.clone();
                            stats.groups.push((key.clone(), folds));
                            stats.index.insert(key, stats.groups.len() - 1);
                            stats.groups.len() - 1
                        }
                    };
                    let time = record.time();
                    if let Some((_, folds)) = stats.groups.get_mut(group) {
                        for (call, fold) in stats.aggregates.iter().zip(folds.iter_mut()) {
                            let value = match &call.argument {
                                None => Some(Value::Bool(true)),
                                Some(argument) => eval(argument, &record, fields),
                            };
                            fold.add(call.function, value, time);
                        }
                    }
                    return Ok(());
                }
            }
        }
        if self.rows.len() < self.limit {
            self.rows.push(record);
        } else if self.match_point >= self.stages.len() {
            // Nothing ahead reorders: the answer is full.
            self.done = true;
        }
        Ok(())
    }

    /// Ends the events: the blocking stages hand on their rows, and the answer is built.
    pub fn finish(mut self) -> Result<Outcome, RunError> {
        for index in 0..self.stages.len() {
            let drained: Vec<Record> = match self.stages.get_mut(index) {
                Some(Stage::Sort(sorter)) => {
                    sorter.trim();
                    std::mem::take(&mut sorter.rows).into_iter().map(|(_, _, record)| record).collect()
                }
                Some(Stage::Stats(stats)) => {
                    let slots = self.fields.names.len();
                    std::mem::take(&mut stats.groups)
                        .into_iter()
                        .map(|(key, folds)| {
                            let mut row = Record::new(None, slots);
                            for (projection, part) in stats.by.iter().zip(key) {
                                row.set(projection.slot, part.value());
                            }
                            for (call, fold) in stats.aggregates.iter().zip(folds) {
                                row.set(call.slot, fold.value(call.function));
                            }
                            row
                        })
                        .collect()
                }
                _ => continue,
            };
            for record in drained {
                self.push_from(index + 1, record)?;
            }
        }
        let rows = self
            .rows
            .iter()
            .map(|record| Row {
                fields: self
                    .columns
                    .iter()
                    .filter_map(|slot| {
                        let name = self.fields.names.get(*slot)?;
                        record.get(*slot, &self.fields).map(|value| (name.clone(), value.render()))
                    })
                    .collect(),
                origin: record.event.as_ref().map(|event| (event.source, event.id)),
            })
            .collect();
        Ok(Outcome { rows, records_scanned: self.scanned, records_matched: self.matched, bytes_scanned: self.bytes })
    }
}

/// The fields each row shows: the last `display`'s; else what the last `stats` made and the
/// `fields` after it; else every `fields` command's; else `@timestamp`, `@message`,
/// `@logStream`, `@log` and what `parse` extracted.
fn columns(commands: &[Command], fields: &mut Fields) -> Vec<Slot> {
    let mut columns: Vec<Slot> = Vec::new();
    let add = |columns: &mut Vec<Slot>, slot: Slot| {
        if !columns.contains(&slot) {
            columns.push(slot);
        }
    };
    if let Some(Command::Display(projections)) = commands.iter().rev().find(|c| matches!(c, Command::Display(_))) {
        return projections.iter().map(|p| p.slot).collect();
    }
    let after_stats = commands.iter().rposition(|c| matches!(c, Command::Stats { .. }));
    if let Some(Command::Stats { aggregates, by }) = after_stats.and_then(|i| commands.get(i)) {
        by.iter().for_each(|p| add(&mut columns, p.slot));
        aggregates.iter().for_each(|a| add(&mut columns, a.slot));
    }
    let from = after_stats.map_or(0, |i| i + 1);
    for command in commands.iter().skip(from) {
        if let Command::Fields(projections) = command {
            projections.iter().for_each(|p| add(&mut columns, p.slot));
        }
    }
    if columns.is_empty() {
        for name in ["@timestamp", "@message", "@logStream", "@log"] {
            let slot = fields.slot(name);
            add(&mut columns, slot);
        }
        for command in commands {
            match command {
                Command::Parse { extractor: Extractor::Glob { slots, .. }, .. } => {
                    slots.iter().for_each(|s| add(&mut columns, *s));
                }
                Command::Parse { extractor: Extractor::Regex { slots, .. }, .. } => {
                    slots.iter().for_each(|(_, s)| add(&mut columns, *s));
                }
                _ => {}
            }
        }
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_take_the_shortest_text_between_pieces() {
        let pieces = |p: &str| p.split('*').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(glob_captures("a user=bob action=login x", &pieces("user=* action=* ")), Some(vec!["bob", "login"]));
        assert_eq!(glob_captures("GET /a 200", &pieces("* * *")), Some(vec!["GET", "/a", "200"]));
        assert_eq!(glob_captures("nothing here", &pieces("user=*")), None);
    }

    #[test]
    fn discovered_fields_flatten_json_to_dotted_paths() {
        let event = Event {
            timestamp: 1,
            ingestion_time: 2,
            message: r#"{"a": {"b": [10, "x"]}, "ok": true, "n": null}"#.into(),
            stream: "s".into(),
            log: "123:/g".into(),
            source: 0,
            id: 7,
        };
        let fields = discovered_fields(&event);
        let get = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("a.b.0"), Some("10"));
        assert_eq!(get("a.b.1"), Some("x"));
        assert_eq!(get("ok"), Some("true"));
        assert_eq!(get("n"), None, "null is no value");
        assert_eq!(get("@log"), Some("123:/g"));
    }
}
