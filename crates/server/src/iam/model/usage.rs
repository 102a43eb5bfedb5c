//! What principals were authorized for, by the hour: every read of `iam_usage`, which the
//! audit importer fills (`audit::usage`: one row per principal, hour, action, resource,
//! passed-to service and region, with its allowed and denied counts and its first and last
//! time). Access advisor and policy generation read it.
//!
//! Guarantees: a read returns one row per principal and action, grouped by the store over the
//! tracking window (never the raw rows), and reads only the principals it is given, by the
//! table's key; a principal is its unique id (the account id for root), so a namesake created
//! later inherits nothing. Expiry removes only rows whose last use is before the window.

use store::{Store, Value};

use super::Error;
use super::least_privilege::Observation;

/// Principals read per statement (the store's parameter lists stay small).
const PRINCIPALS_PER_READ: usize = 200;

/// The last attempt of one principal at one action: allowed or denied, it counts (AWS reports
/// the last *authenticated* attempt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LastAccess {
    pub principal_id: String,
    /// As the engine decided it: `service:Action`.
    pub action: String,
    /// Seconds since the epoch.
    pub time: i64,
    pub region: String,
}

/// The last access of each action by each of `principals` from `since` on, one per principal
/// and action (the region of the latest row; of equally late rows, the greatest region, so
/// the answer does not depend on the store's order).
pub(crate) async fn last_accesses(
    store: &Store,
    account: &str,
    principals: &[String],
    since: i64,
) -> Result<Vec<LastAccess>, Error> {
    let mut found = Vec::new();
    for chunk in principals.chunks(PRINCIPALS_PER_READ) {
        let marks = vec!["?"; chunk.len()].join(", ");
        // The hour bounds the key's range; the last use within it decides.
        let within = |t: &str| {
            format!("{t}.account_id = ? AND {t}.principal_id IN ({marks}) AND {t}.hour >= ? AND {t}.last_time >= ?")
        };
        let sql = format!(
            "SELECT u.principal_id, u.action, u.last_time, MAX(u.region) FROM iam_usage u
             JOIN (SELECT w.principal_id, w.action, MAX(w.last_time) AS last_time FROM iam_usage w
                   WHERE {} GROUP BY w.principal_id, w.action) latest
               ON latest.principal_id = u.principal_id AND latest.action = u.action
              AND latest.last_time = u.last_time
             WHERE {}
             GROUP BY u.principal_id, u.action, u.last_time
             ORDER BY u.principal_id, u.action",
            within("w"),
            within("u")
        );
        let window: Vec<Value> = std::iter::once(account.into())
            .chain(chunk.iter().map(|id| Value::from(id.as_str())))
            .chain([Value::Int(since - since.rem_euclid(crate::audit::USAGE_HOUR)), Value::Int(since)])
            .collect();
        let params = window.iter().cloned().chain(window.iter().cloned()).collect();
        for row in store.query(&sql, params).await? {
            found.push(LastAccess {
                principal_id: row.text(0)?,
                action: row.text(1)?,
                time: row.int(2)?,
                region: row.text(3)?,
            });
        }
    }
    Ok(found)
}

/// What the principal with unique id `principal_id` was allowed between `from` and `to`
/// (epoch seconds, both included), in `regions` (every region when empty), from `iam_usage`:
/// the distinct (action, resource, passed-to service) of the hours that overlap the window.
/// An hour that straddles an end of the window counts when its first or last use lies
/// within it (the table keeps uses by the hour, not one by one).
pub(crate) async fn observed(
    store: &Store,
    principal_id: &str,
    (from, to): (i64, i64),
    regions: &[String],
) -> Result<Vec<Observation>, Error> {
    let mut sql = "SELECT DISTINCT action, resource, passed_to FROM iam_usage
         WHERE principal_id = ? AND hour >= ? AND hour <= ? AND allowed > 0
           AND last_time >= ? AND first_time <= ?"
        .to_owned();
    let mut params: Vec<Value> = vec![
        principal_id.into(),
        Value::Int(from - from.rem_euclid(crate::audit::USAGE_HOUR)),
        Value::Int(to),
        Value::Int(from),
        Value::Int(to),
    ];
    if !regions.is_empty() {
        sql.push_str(&format!(" AND region IN ({})", vec!["?"; regions.len()].join(", ")));
        params.extend(regions.iter().map(|region| Value::from(region.as_str())));
    }
    sql.push_str(" ORDER BY action, resource, passed_to");
    let rows = store.query(&sql, params).await?;
    rows.iter()
        .map(|row| Ok(Observation { action: row.text(0)?, resource: row.text(1)?, passed_to: row.text(2)? }))
        .collect()
}

/// Removes the rows last used before `before` (seconds since the epoch); how many.
///
/// `hour` is at most `last_time` whatever unit the importer keeps it in (the hour's first
/// second, or hours since the epoch), so `hour < before` never excludes a row the last-time
/// test removes, and with the first unit it lets the store find them by the hour's index.
/// Since when use is recorded (the first use the table still holds), if any: a window that
/// starts before it is not wholly covered. Two lookups on the hour index.
pub(crate) async fn recorded_since(store: &Store) -> Result<Option<i64>, Error> {
    let rows = store
        .query("SELECT MIN(first_time) FROM iam_usage WHERE hour = (SELECT MIN(hour) FROM iam_usage)", vec![])
        .await?;
    Ok(rows.first().map(|row| row.opt_int(0)).transpose()?.flatten())
}

pub(crate) async fn expire(store: &Store, before: i64) -> Result<u64, Error> {
    Ok(store
        .execute("DELETE FROM iam_usage WHERE hour < ? AND last_time < ?", vec![Value::Int(before), Value::Int(before)])
        .await?)
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, temp_store};

    /// One row as the importer would write it: `(principal, hour, action, resource, allowed,
    /// denied, last time, region)`.
    pub(crate) type Row<'a> = (&'a str, i64, &'a str, &'a str, i64, i64, i64, &'a str);

    /// Writes rows of `iam_usage` directly (what the audit importer will do).
    pub(crate) async fn record(store: &Store, rows: &[Row<'_>]) {
        for (principal, hour, action, resource, allowed, denied, last, region) in rows {
            store
                .execute(
                    "INSERT INTO iam_usage (account_id, principal_id, hour, action, resource, passed_to, allowed,
                                            denied, first_time, last_time, region)
                     VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?)",
                    vec![
                        ACCOUNT.into(),
                        (*principal).into(),
                        Value::Int(*hour),
                        (*action).into(),
                        (*resource).into(),
                        Value::Int(*allowed),
                        Value::Int(*denied),
                        Value::Int(*hour),
                        Value::Int(*last),
                        (*region).into(),
                    ],
                )
                .await
                .unwrap();
        }
    }

    fn access(principal: &str, action: &str, time: i64, region: &str) -> LastAccess {
        LastAccess { principal_id: principal.to_owned(), action: action.to_owned(), time, region: region.to_owned() }
    }

    #[tokio::test]
    async fn the_last_access_of_each_action_is_grouped_by_the_store_within_the_window() {
        let temp = temp_store().await;
        let store = &temp.store;
        record(
            store,
            &[
                // Two hours and two resources of one action: the latest row's region wins.
                ("AIDAALICE", 7_200, "ecs:RunTask", "arn:a", 1, 0, 7_300, "eu-west-1"),
                ("AIDAALICE", 10_800, "ecs:RunTask", "arn:a", 0, 1, 11_000, "us-east-1"),
                ("AIDAALICE", 10_800, "ecs:RunTask", "arn:b", 1, 0, 10_900, "eu-west-3"),
                // Equally late rows: the greatest region, whatever the store's order.
                ("AIDAALICE", 10_800, "logs:CreateLogGroup", "arn:x", 1, 0, 11_500, "ap-south-1"),
                ("AIDAALICE", 10_800, "logs:CreateLogGroup", "arn:y", 1, 0, 11_500, "eu-north-1"),
                // Before the window.
                ("AIDAALICE", 0, "iam:GetUser", "arn:u", 1, 0, 100, "us-east-1"),
                // Someone not asked about.
                ("AIDABOB", 10_800, "ecs:RunTask", "arn:a", 1, 0, 11_000, "us-east-1"),
            ],
        )
        .await;
        let asked = ["AIDAALICE".to_owned(), "AROANOBODY".to_owned()];
        let found = last_accesses(store, ACCOUNT, &asked, 3_600).await.unwrap();
        assert_eq!(
            found,
            [
                access("AIDAALICE", "ecs:RunTask", 11_000, "us-east-1"),
                access("AIDAALICE", "logs:CreateLogGroup", 11_500, "eu-north-1"),
            ]
        );
        assert!(last_accesses(store, "999988887777", &asked, 0).await.unwrap().is_empty(), "accounts are apart");
        assert!(last_accesses(store, ACCOUNT, &[], 0).await.unwrap().is_empty());

        // Many principals are read in several statements, and found all the same.
        let many: Vec<String> = (0..450).map(|n| format!("AIDAMANY{n:03}")).chain(["AIDABOB".to_owned()]).collect();
        let found = last_accesses(store, ACCOUNT, &many, 0).await.unwrap();
        assert_eq!(found, [access("AIDABOB", "ecs:RunTask", 11_000, "us-east-1")]);

        // Expiry removes what was last used before the window, and nothing else.
        assert_eq!(expire(store, 7_400).await.unwrap(), 2);
        let left = last_accesses(store, ACCOUNT, &asked, 0).await.unwrap();
        assert_eq!(left.len(), 2, "{left:?}");
        let rows = store.query("SELECT COUNT(*) FROM iam_usage", vec![]).await.unwrap();
        assert_eq!(rows[0].int(0).unwrap(), 5);
    }
}
