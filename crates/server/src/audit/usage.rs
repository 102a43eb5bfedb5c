//! What each principal was authorized for, by the hour: the `iam_usage` rows the importer adds
//! for the records of a chunk, and the roles' last use.
//!
//! Guarantees:
//! - Every decision the policy engine made for a recorded request is counted once: the rows
//!   are written in the transaction that imports the chunk holding the record, and a chunk is
//!   imported once (its range is its key).
//! - Usage is bound to the principal's unique id (`Record::principal_id`), never to a name:
//!   a user or role created later under the same name inherits nothing.
//! - A chunk costs one statement per distinct (principal, hour, action, resource, passed-to
//!   service, region), not per request: an agent polling every few seconds adds a handful of rows an hour.

use std::collections::HashMap;

use store::{Statement, Value};

use super::line::{self, CUT};

/// Seconds in a bucket of `iam_usage`.
pub const HOUR: i64 = 3_600;

/// One row of `iam_usage`'s key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    account: String,
    principal: String,
    hour: i64,
    action: String,
    resource: String,
    passed_to: String,
    region: String,
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

/// The statements adding `text`'s records (journal lines) to `iam_usage`, and moving the last
/// use of the roles whose sessions made them.
pub(super) fn statements(text: &str) -> Vec<Statement> {
    let mut tallies: HashMap<Key, Tally> = HashMap::new();
    let mut roles: HashMap<String, (i64, String)> = HashMap::new();
    for record in text.lines().filter_map(line::decode) {
        if record.principal_id.is_empty() {
            continue;
        }
        let hour = record.time - record.time.rem_euclid(HOUR);
        let mut count = |action: &str, resource: &str, passed_to: &str, decision: &str| {
            // A value cut to fit the line names no real resource.
            if resource.ends_with(CUT) {
                return;
            }
            let key = Key {
                account: record.account_id.to_string(),
                principal: record.principal_id.to_string(),
                hour,
                action: action.to_owned(),
                resource: resource.to_owned(),
                passed_to: passed_to.to_owned(),
                region: record.region.to_string(),
            };
            tallies
                .entry(key)
                .or_insert(Tally { allowed: 0, denied: 0, first: record.time, last: record.time })
                .add(decision == "allowed", record.time);
        };
        if !record.action.is_empty() {
            for resource in &record.resources {
                count(&record.action, resource, "", &record.decision);
            }
        }
        for check in &record.checks {
            count(&check.action, &check.resource, &check.passed_to, &check.decision);
        }
        let decided = !record.action.is_empty() || !record.checks.is_empty();
        if decided && record.principal_arn.starts_with("arn:aws:sts::") {
            let used = roles.entry(record.principal_id.to_string()).or_insert((i64::MIN, String::new()));
            if record.time >= used.0 {
                *used = (record.time, record.region.to_string());
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
fn upsert(key: Key, tally: Tally) -> Statement {
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
            key.account.into(),
            key.principal.into(),
            Value::Int(key.hour),
            key.action.into(),
            key.resource.into(),
            key.passed_to.into(),
            key.region.into(),
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

    use super::super::{Check, Record};
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
        store.migrate(crate::schema::MIGRATIONS).await.unwrap();
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
            // Not decided by the engine: nothing counted.
            request(7_260, "AIDA3", "", &["x"], "allowed"),
            passed,
        ]);
        // Six usage rows, and the last use of the two principals whose records are role
        // sessions (the kind comes from the ARN).
        assert_eq!(first.len(), 6 + 2);
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
        assert_eq!(count[0].int(0).unwrap(), 7);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
