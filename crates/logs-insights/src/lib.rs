//! CloudWatch Logs Insights queries: parse once ([`Query::parse`]), then run over events in
//! time order ([`Query::run`], [`Run::push`], [`Run::finish`]).
//!
//! The language: commands separated by `|` — `fields`, `display`, `filter` (comparisons,
//! `and`/`or`/`not`, `like` and `=~` with a string or a `/regex/`, `in [...]`), `stats`
//! (`count(*)`, `count`, `count_distinct`, `sum`, `avg`, `min`, `max`, `stddev`, `earliest`,
//! `latest`) with `by` (and `bin(5m)`), `sort ... asc|desc`, `limit`, `parse` (a glob with `*`
//! and `as` fields, or a regex with named groups) and `dedup`; scalar functions (see
//! [`functions::Function`]); fields `@timestamp`, `@message`, `@logStream`, `@log`,
//! `@ingestionTime` and those discovered in JSON messages by dotted path.
//!
//! Guarantees: pure (no I/O, no clock); parsing is linear in the query and never panics;
//! a run's memory is bounded by its `stats` groups ([`eval::MAX_GROUPS`]) and its result's
//! limit, never by the number of events; regular expressions match in linear time.
//! Without `sort` or `stats` a query answers the newest events first.

pub mod eval;
pub mod functions;
pub mod syntax;
pub mod value;

use std::sync::Arc;

pub use eval::{Run, discovered_fields};

/// A query that does not parse: Insights' message, and where in the text (character offsets,
/// end inclusive), as `MalformedQueryException`'s `queryCompileError` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

/// A run that cannot finish (too many groups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunError(pub String);

/// One stored event as a query sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Epoch milliseconds.
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub message: String,
    pub stream: String,
    /// `@log`: `ACCOUNT:GROUP`.
    pub log: Arc<str>,
    /// Which of the query's sources it came from, and its id there (the caller's, handed back
    /// in [`Row::origin`] to build `@ptr`).
    pub source: u32,
    pub id: i64,
}

/// One row of an answer: its fields in order, and the event it shows (none for `stats` rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub fields: Vec<(String, String)>,
    pub origin: Option<(u32, i64)>,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub rows: Vec<Row>,
    pub records_scanned: u64,
    /// Events that passed the filters before the first `stats` or `sort`.
    pub records_matched: u64,
    pub bytes_scanned: u64,
}

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    parsed: syntax::Parsed,
}

impl Query {
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        if text.trim().is_empty() {
            return Err(QueryError { message: "Query string is empty".into(), start: 0, end: 0 });
        }
        let parsed = syntax::parse(text)?;
        let stats = parsed.commands.iter().filter(|c| matches!(c, syntax::Command::Stats { .. })).count();
        if stats > 1 {
            let at = text.rfind("stats").unwrap_or(0);
            return Err(QueryError {
                message: "Only one stats command is supported per query".into(),
                start: at,
                end: at + 4,
            });
        }
        Ok(Query { parsed })
    }

    /// A run answering at most `limit` rows.
    pub fn run(&self, limit: usize) -> Run {
        Run::new(&self.parsed.commands, &self.parsed.fields, limit)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    const MINUTE: i64 = 60_000;

    fn events() -> Vec<Event> {
        let messages = [
            (0, "a", r#"{"status": 200, "path": "/", "user": {"name": "ann"}, "ms": 10}"#),
            (MINUTE, "a", r#"{"status": 500, "path": "/pay", "user": {"name": "bob"}, "ms": 30}"#),
            (2 * MINUTE, "b", "GET /home 200 user=ann took=5"),
            (6 * MINUTE, "b", "POST /pay 503 user=bob took=90"),
            (7 * MINUTE, "a", r#"{"status": 200, "path": "/pay", "user": {"name": "ann"}, "ms": 20}"#),
            (11 * MINUTE, "b", "GET /home 200 user=cy took=7"),
        ];
        messages
            .iter()
            .enumerate()
            .map(|(i, (t, stream, message))| Event {
                timestamp: 1_700_000_100_000 + t,
                ingestion_time: 1_700_000_100_000 + t + 5,
                message: (*message).to_owned(),
                stream: (*stream).to_owned(),
                log: "123456789012:/web".into(),
                source: 0,
                id: i as i64 + 1,
            })
            .collect()
    }

    fn run(query: &str) -> Outcome {
        let query = Query::parse(query).unwrap_or_else(|e| panic!("{query}: {e:?}"));
        let mut run = query.run(10_000);
        for event in events() {
            run.push(event).unwrap();
            if run.done() {
                break;
            }
        }
        run.finish().unwrap()
    }

    /// Each row as `name=value` pairs joined by spaces.
    fn rows(query: &str) -> Vec<String> {
        run(query)
            .rows
            .iter()
            .map(|row| row.fields.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn queries_answer_as_insights_does() {
        let cases: &[(&str, &[&str])] = &[
            ("fields status | filter status = 500", &["status=500"]),
            (
                "filter status >= 200 and status < 300 | fields path, user.name",
                &["path=/pay user.name=ann", "path=/ user.name=ann"],
            ),
            ("filter @message like 'user=ann' | fields @message", &["@message=GET /home 200 user=ann took=5"]),
            (
                "filter @message like /user=(bob|cy)/ | fields @logStream | sort @timestamp asc",
                &["@logStream=b", "@logStream=b"],
            ),
            ("filter @message =~ /POST/ | fields @message", &["@message=POST /pay 503 user=bob took=90"]),
            ("filter path in ['/pay', '/x'] | fields ms | sort ms desc", &["ms=30", "ms=20"]),
            ("filter path not in ['/pay'] | fields ms", &["ms=10"]),
            ("filter not ispresent(status) | stats count(*) as n", &["n=3"]),
            ("filter @message not like /GET/ | stats count(*)", &["count(*)=4"]),
            (
                "stats count(*) by bin(5m)",
                &[
                    "bin(5m)=2023-11-14 22:15:00.000 count(*)=3",
                    "bin(5m)=2023-11-14 22:20:00.000 count(*)=2",
                    "bin(5m)=2023-11-14 22:25:00.000 count(*)=1",
                ],
            ),
            ("stats count(*) as n by @logStream | sort n desc", &["@logStream=a n=3", "@logStream=b n=3"]),
            (
                "stats sum(ms), avg(ms), min(ms), max(ms), count(ms), count_distinct(user.name)",
                &["sum(ms)=60 avg(ms)=20 min(ms)=10 max(ms)=30 count(ms)=3 count_distinct(user.name)=2"],
            ),
            ("stats earliest(path) as first, latest(path) as last", &["first=/ last=/pay"]),
            ("stats stddev(ms) as sd", &["sd=10"]),
            (
                "parse @message '* * * user=* took=*' as method, url, code, who, took | filter code = 200 | \
              stats sum(took) as total by who | sort who",
                &["who=ann total=5", "who=cy total=7"],
            ),
            (
                "parse @message /user=(?<who>\\w+) took=(?<took>\\d+)/ | filter took > 50 | display who, took",
                &["who=bob took=90"],
            ),
            (
                "fields strlen(path) as len, toupper(path) as up, concat(path, '!') as bang | filter path = '/pay' | limit 1",
                &["len=4 up=/PAY bang=/pay!"],
            ),
            ("fields ms * 2 + 1 as x, ms % 7 as m | sort x | limit 2", &["x=21 m=3", "x=41 m=6"]),
            (
                "filter ispresent(ms) | fields datefloor(@timestamp, 1h) as hour | limit 1",
                &["hour=2023-11-14 22:00:00.000"],
            ),
            ("fields coalesce(user.name, 'none') as who | dedup who | sort who", &["who=ann", "who=bob", "who=none"]),
            (
                "fields substr(@logStream, 0, 1) as s, replace(path, '/', '_') as p, abs(-2) as a, ceil(1.2) as c, \
              floor(1.8) as f | filter path = '/' ",
                &["s=a p=_ a=2 c=2 f=1"],
            ),
            (
                "fields tolower('AbC') as l, trim('  x ') as t, isblank(nothing) as b, fromMillis(0) as z | limit 1",
                &["l=abc t=x b=true z=1970-01-01 00:00:00.000"],
            ),
            (
                "fields `user.name` as who | filter who = 'bob' or @logStream = 'b' and @message like 'cy'",
                &["who=", "who=bob"],
            ),
            ("# a comment\nfields @logStream | limit 2", &["@logStream=b", "@logStream=a"]),
            ("sort ms desc | stats count(*) as n", &["n=6"]),
            ("sort ms desc | limit 2 | stats count(*) as n, min(ms) as low", &["n=2 low=20"]),
            (
                "sort @timestamp desc | dedup @logStream | fields @logStream, @timestamp",
                &["@logStream=b @timestamp=2023-11-14 22:26:00.000", "@logStream=a @timestamp=2023-11-14 22:22:00.000"],
            ),
        ];
        for (query, expected) in cases {
            let got = rows(query);
            let want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
            // A row whose only field is absent shows no fields: `who=` stands for it.
            let got: Vec<String> = got.into_iter().map(|r| if r.is_empty() { "who=".into() } else { r }).collect();
            assert_eq!(got, want, "{query}");
        }
    }

    #[test]
    fn without_sort_the_newest_come_first_with_every_default_field_and_a_pointer() {
        let outcome = run("filter @logStream = 'b' | limit 2");
        assert_eq!(outcome.rows.len(), 2);
        let first = &outcome.rows[0];
        assert_eq!(first.origin, Some((0, 6)), "the newest event");
        let names: Vec<&str> = first.fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["@timestamp", "@message", "@logStream", "@log"]);
        assert_eq!(first.fields[0].1, "2023-11-14 22:26:00.000");
        assert_eq!(first.fields[3].1, "123456789012:/web");
        assert_eq!(outcome.rows[1].origin, Some((0, 4)));
        assert_eq!(outcome.records_scanned, 6);
        assert_eq!(outcome.records_matched, 3);
        assert!(outcome.bytes_scanned > 100);
        let stats = run("stats count(*)");
        assert_eq!(stats.rows[0].origin, None, "stats rows show no event");
    }

    #[test]
    fn a_limit_before_any_sort_ends_the_scan() {
        let query = Query::parse("sort @timestamp asc | limit 2").unwrap();
        let mut run = query.run(10_000);
        for event in events() {
            run.push(event).unwrap();
        }
        assert!(!run.done(), "a sort sees every event");
        let outcome = run.finish().unwrap();
        let ids: Vec<_> = outcome.rows.iter().map(|r| r.origin.unwrap().1).collect();
        assert_eq!(ids, [1, 2]);

        let query = Query::parse("filter ispresent(status) | stats count(*) | limit 1").unwrap();
        let mut run = query.run(1);
        run.push(events().remove(0)).unwrap();
        assert!(!run.done());
    }

    #[test]
    fn the_answer_holds_at_most_the_runs_limit() {
        let query = Query::parse("fields @message").unwrap();
        let mut run = query.run(2);
        for event in events() {
            run.push(event).unwrap();
        }
        let outcome = run.finish().unwrap();
        let ids: Vec<_> = outcome.rows.iter().map(|r| r.origin.unwrap().1).collect();
        assert_eq!(ids, [6, 5]);
    }

    #[test]
    fn stats_groups_are_bounded() {
        let query = Query::parse("stats count(*) by @message").unwrap();
        let mut run = query.run(10);
        let mut failed = None;
        for i in 0..=eval::MAX_GROUPS {
            let event = Event { message: i.to_string(), ..events().remove(0) };
            if let Err(error) = run.push(event) {
                failed = Some(error);
                break;
            }
        }
        assert_eq!(failed, Some(RunError("stats produced more than 100000 groups".into())));
    }

    #[test]
    fn malformed_queries_say_where() {
        let cases: &[(&str, &str, usize)] = &[
            ("fields @message |", "unexpected symbol found <EOF> at line 1 and position 17", 17),
            ("filter x = ", "unexpected symbol found <EOF> at line 1 and position 11", 11),
            ("fields a\n| bogus b", "unexpected symbol found bogus at line 2 and position 2", 11),
            ("stats nope(x)", "unexpected symbol found nope at line 1 and position 6", 6),
            ("fields nope(x)", "Unknown function name: nope", 7),
            ("fields strlen(a, b)", "Wrong number of arguments to function strlen", 7),
            (
                "parse @message 'a=* b=*' as a",
                "Number of fields in the as clause (1) does not match the number of wildcards in the pattern (2)",
                15,
            ),
            ("filter @message like /(/", "Invalid regular expression /(/", 21),
            ("filter 'unterminated", "unexpected symbol found 'unterminated at line 1 and position 7", 7),
            ("limit 0", "unexpected symbol found 0 at line 1 and position 6", 6),
            ("stats count(*) | stats count(*)", "Only one stats command is supported per query", 17),
            ("   ", "Query string is empty", 0),
            ("fields bin(5parsecs)", "unexpected symbol found 5parsecs at line 1 and position 11", 11),
        ];
        for (query, message, start) in cases {
            let error = Query::parse(query).unwrap_err();
            assert_eq!((error.message.as_str(), error.start), (*message, *start), "{query}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let query = format!("filter {}1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(Query::parse(&query).is_err());
        let query = format!("filter {}1", "not ".repeat(10_000));
        assert!(Query::parse(&query).is_err());
    }
}
