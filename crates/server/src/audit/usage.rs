//! What each principal was authorized for, by the hour: the `iam_usage` rows the importer adds
//! for the records of a chunk, and the roles' last use.
//!
//! Guarantees:
//! - Every decision the policy engine made for a recorded request is counted once: the rows
//!   are written in the transaction that imports the chunk holding the record, and a chunk is
//!   imported once (its range is its key).
//! - Usage is bound to the principal's unique id (`Record::principal_id`), never to a name:
//!   a user or role created later under the same name inherits nothing.
//! - Resources are kept with generated ids as `*` (a task's, a container instance's): the
//!   tasks of a cluster are one resource of the table, not one row each.
//! - A chunk costs one statement per distinct (principal, hour, action, resource, passed-to
//!   service, region), not per request: an agent polling every few seconds adds a handful of rows an hour.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;
use store::{Statement, Value};

use super::line::CUT;

/// Seconds in a bucket of `iam_usage`.
pub const HOUR: i64 = 3_600;

/// One row of `iam_usage`'s key, borrowed from the chunk's text where it needs no unescaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key<'a> {
    account: Cow<'a, str>,
    principal: Cow<'a, str>,
    hour: i64,
    action: Cow<'a, str>,
    resource: Cow<'a, str>,
    passed_to: Cow<'a, str>,
    region: Cow<'a, str>,
}

/// What a chunk adds to a row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tally {
    allowed: i64,
    denied: i64,
    first: i64,
    last: i64,
}

impl Tally {
    fn add(&mut self, allowed: bool, time: i64) {
        if allowed {
            self.allowed += 1;
        } else {
            self.denied += 1;
        }
        self.first = self.first.min(time);
        self.last = self.last.max(time);
    }
}

/// The members of a record that say what the engine decided (see `Record`): read without
/// the rest, and without copying what needs no unescaping.
#[derive(Debug, Deserialize)]
struct Decided<'a> {
    #[serde(rename = "t")]
    time: i64,
    #[serde(rename = "a", borrow, default)]
    account: Cow<'a, str>,
    #[serde(rename = "p", borrow, default)]
    principal_arn: Cow<'a, str>,
    #[serde(rename = "r", borrow, default)]
    region: Cow<'a, str>,
    #[serde(rename = "res", borrow, default)]
    resources: Vec<Cow<'a, str>>,
    #[serde(rename = "d", borrow, default)]
    decision: Cow<'a, str>,
    #[serde(rename = "pid", borrow, default)]
    principal_id: Cow<'a, str>,
    #[serde(rename = "act", borrow, default)]
    action: Cow<'a, str>,
    #[serde(rename = "az", borrow, default)]
    checks: Vec<CheckText<'a>>,
}

/// A `Check` as its line holds it: `[decision, action, resource, passed_to]`.
type CheckText<'a> = (Cow<'a, str>, Cow<'a, str>, Cow<'a, str>, Cow<'a, str>);

/// The record of `line` when the engine decided something for it. A line without `"act":`
/// or `"az":` decided nothing and is not parsed (those names can only be members: inside a
/// JSON string their quotes are escaped).
fn decided(line: &str) -> Option<Decided<'_>> {
    if !line.contains("\"act\":") && !line.contains("\"az\":") {
        return None;
    }
    serde_json::from_str::<Decided<'_>>(line).ok().filter(|record| !record.principal_id.is_empty())
}

/// `resource` as `iam_usage` keeps it: identifiers a service generates (a task's, a container
/// instance's, a managed instance's) as `*`, so the tasks of a cluster count as one resource
/// rather than a row each (`least_privilege::generalize`: what policy generation would make of
/// them anyway; no reader needs the ids).
fn generalized<'a>(resource: &Cow<'a, str>) -> Cow<'a, str> {
    let general = crate::iam::model::least_privilege::generalize(resource);
    if general == **resource { resource.clone() } else { Cow::Owned(general) }
}

/// The statements adding `text`'s records (journal lines) to `iam_usage`, and moving the last
/// use of the roles whose sessions made them.
pub(super) fn statements<'a>(text: &'a str) -> Vec<Statement> {
    let mut tallies: HashMap<Key<'a>, Tally> = HashMap::new();
    let mut roles: HashMap<Cow<'a, str>, (i64, Cow<'a, str>)> = HashMap::new();
    for record in text.lines().filter_map(decided) {
        let hour = record.time - record.time.rem_euclid(HOUR);
        let mut count = |action: &Cow<'a, str>, resource: &Cow<'a, str>, passed_to: &Cow<'a, str>, decision: &str| {
            // A value cut to fit the line names no real resource.
            if resource.ends_with(CUT) {
                return;
            }
            let key = Key {
                account: record.account.clone(),
                principal: record.principal_id.clone(),
                hour,
                action: action.clone(),
                resource: generalized(resource),
                passed_to: passed_to.clone(),
                region: record.region.clone(),
            };
            tallies
                .entry(key)
                .or_insert(Tally { allowed: 0, denied: 0, first: record.time, last: record.time })
                .add(decision == "allowed", record.time);
        };
        let none = Cow::Borrowed("");
        if !record.action.is_empty() {
            for resource in &record.resources {
                count(&record.action, resource, &none, &record.decision);
            }
        }
        for (decision, action, resource, passed_to) in &record.checks {
            count(action, resource, passed_to, decision);
        }
        if record.principal_arn.starts_with("arn:aws:sts::") {
            let used = roles.entry(record.principal_id.clone()).or_insert((i64::MIN, Cow::Borrowed("")));
            if record.time >= used.0 {
                *used = (record.time, record.region.clone());
            }
        }
    }
    let mut statements: Vec<Statement> = tallies.into_iter().map(|(key, tally)| upsert(key, tally)).collect();
    statements.extend(
        roles
            .into_iter()
            .map(|(role_id, (at, region))| crate::iam::model::roles::record_activity(&role_id, at, &region)),
    );
    statements
}

/// Adds a tally to its row, creating it if needed (the same SQL on both backends).
fn upsert(key: Key<'_>, tally: Tally) -> Statement {
    Statement::new(
        "INSERT INTO iam_usage (account_id, principal_id, hour, action, resource, passed_to, region,
                                allowed, denied, first_time, last_time)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (principal_id, hour, action, resource, passed_to, region) DO UPDATE SET
             allowed = iam_usage.allowed + excluded.allowed,
             denied = iam_usage.denied + excluded.denied,
             first_time = CASE WHEN excluded.first_time < iam_usage.first_time
                               THEN excluded.first_time ELSE iam_usage.first_time END,
             last_time = CASE WHEN excluded.last_time > iam_usage.last_time
                              THEN excluded.last_time ELSE iam_usage.last_time END",
        vec![
            key.account.as_ref().into(),
            key.principal.as_ref().into(),
            Value::Int(key.hour),
            key.action.as_ref().into(),
            key.resource.as_ref().into(),
            key.passed_to.as_ref().into(),
            key.region.as_ref().into(),
            Value::Int(tally.allowed),
            Value::Int(tally.denied),
            Value::Int(tally.first),
            Value::Int(tally.last),
        ],
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::super::{Check, Record, line};
    use super::*;

    fn line(record: &Record<'_>) -> String {
        let mut out = Vec::new();
        line::encode(record, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn request(time: i64, principal: &str, action: &str, resources: &[&str], decision: &str) -> Record<'static> {
        Record {
            time,
            account_id: "111122223333".into(),
            principal_arn: format!("arn:aws:sts::111122223333:assumed-role/r/{principal}").into(),
            principal_id: principal.to_owned().into(),
            region: "eu-west-1".into(),
            action: action.to_owned().into(),
            resources: resources.iter().map(|resource| (*resource).to_owned()).collect(),
            decision: decision.to_owned().into(),
            ..Record::default()
        }
    }

    #[tokio::test]
    async fn a_chunk_adds_one_row_per_key_and_counts_exactly_once() {
        let dir = std::env::temp_dir().join(format!("homeport-usage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = store::Store::open(dir.join("db").to_str().unwrap()).await.unwrap();
        crate::schema::migrate(&store, "us-east-1").await.unwrap();
        let mut passed = request(7_205, "AROA1", "ecs:RegisterTaskDefinition", &["*"], "allowed");
        passed.checks = vec![Check {
            decision: "implicitDeny".to_owned(),
            action: "iam:PassRole".to_owned(),
            resource: "arn:aws:iam::111122223333:role/task".to_owned(),
            passed_to: "ecs-tasks.amazonaws.com".to_owned(),
        }];
        let chunk = |records: &[Record<'_>]| statements(&records.iter().map(line).collect::<String>());
        let first = chunk(&[
            request(7_300, "AROA1", "ecs:Poll", &["ci/1"], "allowed"),
            request(7_400, "AROA1", "ecs:Poll", &["ci/1"], "implicitDeny"),
            request(7_250, "AROA1", "ecs:Poll", &["ci/1"], "allowed"),
            // Another hour, another row.
            request(10_800, "AROA1", "ecs:Poll", &["ci/1"], "allowed"),
            // Every resource counts; a value cut to fit the line names none.
            request(7_250, "AIDA2", "ecs:Poll", &["ci/1", "ci/2", "cut..."], "allowed"),
            // The tasks of a cluster are one resource.
            request(
                7_270,
                "AIDA4",
                "ecs:DescribeTasks",
                &[
                    "arn:aws:ecs:r:1:task/c/0123456789abcdef0123456789abcdef",
                    "arn:aws:ecs:r:1:task/c/fedcba9876543210fedcba9876543210",
                ],
                "allowed",
            ),
            // Not decided by the engine: nothing counted.
            request(7_260, "AIDA3", "", &["x"], "allowed"),
            passed,
        ]);
        // Seven usage rows, and the last use of the three principals whose records are role
        // sessions (the kind comes from the ARN).
        assert_eq!(first.len(), 7 + 3);
        store.transaction(first).await.unwrap();
        let poll = || {
            let store = store.clone();
            async move {
                let rows = store
                    .query(
                        "SELECT allowed, denied, first_time, last_time FROM iam_usage
                         WHERE principal_id = 'AROA1' AND action = 'ecs:Poll' AND hour = 7200
                           AND region = 'eu-west-1'",
                        vec![],
                    )
                    .await
                    .unwrap();
                assert_eq!(rows.len(), 1);
                let row = &rows[0];
                (0..4).map(|at| row.int(at).unwrap()).collect::<Vec<i64>>()
            }
        };
        assert_eq!(poll().await, vec![2, 1, 7_250, 7_400]);
        // A later chunk adds to the row: an earlier first use moves first_time back, a later
        // one last_time; another region is a row of its own.
        store.transaction(chunk(&[request(7_210, "AROA1", "ecs:Poll", &["ci/1"], "allowed")])).await.unwrap();
        assert_eq!(poll().await, vec![3, 1, 7_210, 7_400]);
        store.transaction(chunk(&[request(7_500, "AROA1", "ecs:Poll", &["ci/1"], "explicitDeny")])).await.unwrap();
        assert_eq!(poll().await, vec![3, 2, 7_210, 7_500]);
        let mut elsewhere = request(7_600, "AROA1", "ecs:Poll", &["ci/1"], "allowed");
        elsewhere.region = "us-east-1".into();
        store.transaction(chunk(&[elsewhere])).await.unwrap();
        assert_eq!(poll().await, vec![3, 2, 7_210, 7_500]);
        let passed = store
            .query("SELECT resource, passed_to, denied FROM iam_usage WHERE action = 'iam:PassRole'", vec![])
            .await
            .unwrap();
        assert_eq!(passed.len(), 1);
        assert_eq!(passed[0].text(1).unwrap(), "ecs-tasks.amazonaws.com");
        assert_eq!(passed[0].int(2).unwrap(), 1);
        let count = store.query("SELECT COUNT(*) FROM iam_usage", vec![]).await.unwrap();
        assert_eq!(count[0].int(0).unwrap(), 8);
        let tasks = store
            .query("SELECT resource, allowed FROM iam_usage WHERE action = 'ecs:DescribeTasks'", vec![])
            .await
            .unwrap();
        assert_eq!((tasks[0].text(0).unwrap().as_str(), tasks[0].int(1).unwrap()), ("arn:aws:ecs:r:1:task/c/*", 2));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
