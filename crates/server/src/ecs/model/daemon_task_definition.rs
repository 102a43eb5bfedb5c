//! The daemon task definition model: a registered revision of a daemon family (its document,
//! as DescribeDaemonTaskDefinition answers it), its status
//! ([`DaemonTaskDefinitionStatus`]) and the SQL of `ecs_daemon_task_definitions`.
//!
//! Guarantees: a family's revisions count up from 1 and are never reused (a revision is
//! claimed by the insert's unique key; [`register`] reports a lost race rather than
//! overwriting); a revision's status only moves `ACTIVE` -> `DELETE_IN_PROGRESS`, checked in
//! the `UPDATE`; the status and the time its deletion was asked are the columns', never the
//! stored document's.

use aws_protocol::AwsError;
use serde_json::Value as Json;
use store::{Statement, Store, StoreError, Value};

use crate::ecs;
use crate::ecs::errors::internal;
use crate::regions::Scope;

/// A daemon task definition revision's status, as ECS's `DaemonTaskDefinitionStatus` has
/// it. ECS's third word, `DELETED`, is never reached here: a deletion finishes once no
/// daemon uses the revision, and Homeport keeps the revision describable as
/// `DELETE_IN_PROGRESS` (as it keeps deleted task definitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DaemonTaskDefinitionStatus {
    Active,
    DeleteInProgress,
}

impl DaemonTaskDefinitionStatus {
    pub(crate) const ALL: [DaemonTaskDefinitionStatus; 2] =
        [DaemonTaskDefinitionStatus::Active, DaemonTaskDefinitionStatus::DeleteInProgress];

    /// The word ECS uses (stored and answered as is).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DaemonTaskDefinitionStatus::Active => "ACTIVE",
            DaemonTaskDefinitionStatus::DeleteInProgress => "DELETE_IN_PROGRESS",
        }
    }

    /// The status `word` names, if it is one.
    pub(crate) fn parse(word: &str) -> Option<DaemonTaskDefinitionStatus> {
        DaemonTaskDefinitionStatus::ALL.into_iter().find(|status| status.as_str() == word)
    }
}

/// A stored revision.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DaemonTaskDefinition {
    pub arn: String,
    pub family: String,
    pub revision: i64,
    /// The document as registered (its `status` is the one it was registered with).
    pub document: Json,
    pub status: DaemonTaskDefinitionStatus,
    pub registered_at: i64,
    pub delete_requested_at: Option<i64>,
}

impl DaemonTaskDefinition {
    /// The document DescribeDaemonTaskDefinition answers: the registered one with its status
    /// now (and when its deletion was asked).
    pub(crate) fn into_document(self) -> Json {
        let mut document = self.document;
        ecs::put(&mut document, "status", self.status.as_str());
        if let Some(at) = self.delete_requested_at {
            ecs::put(&mut document, "deleteRequestedAt", at);
        }
        document
    }

    /// ListDaemonTaskDefinitions' `DaemonTaskDefinitionSummary`.
    pub(crate) fn summary(&self) -> Json {
        let mut summary = serde_json::json!({
            "arn": self.arn,
            "registeredAt": self.registered_at,
            "status": self.status.as_str(),
        });
        if let Some(by) = self.document.get("registeredBy") {
            ecs::put(&mut summary, "registeredBy", by.clone());
        }
        if let Some(at) = self.delete_requested_at {
            ecs::put(&mut summary, "deleteRequestedAt", at);
        }
        summary
    }
}

const COLUMNS: &str = "arn, family, revision, body, status, registered_at, delete_requested_at";

fn definition_of(row: &store::Row) -> Result<DaemonTaskDefinition, AwsError> {
    let status = row.text(4).map_err(internal)?;
    Ok(DaemonTaskDefinition {
        arn: row.text(0).map_err(internal)?,
        family: row.text(1).map_err(internal)?,
        revision: row.int(2).map_err(internal)?,
        document: ecs::json_column(row, 3)?,
        status: DaemonTaskDefinitionStatus::parse(&status)
            .ok_or_else(|| internal(format!("unknown daemon task definition status `{status}`")))?,
        registered_at: row.int(5).map_err(internal)?,
        delete_requested_at: row.opt_int(6).map_err(internal)?,
    })
}

/// Revision `revision` of `family`, in any status.
pub(crate) async fn find_revision(
    store: &Store,
    scope: Scope<'_>,
    family: &str,
    revision: i64,
) -> Result<Option<DaemonTaskDefinition>, AwsError> {
    let rows = store
        .query(
            &format!(
                "SELECT {COLUMNS} FROM ecs_daemon_task_definitions
                 WHERE account_id = ? AND region = ? AND family = ? AND revision = ?"
            ),
            vec![scope.account.into(), scope.region.into(), family.into(), Value::Int(revision)],
        )
        .await
        .map_err(internal)?;
    rows.first().map(definition_of).transpose()
}

/// The latest `ACTIVE` revision of `family`.
pub(crate) async fn find_latest_active(
    store: &Store,
    scope: Scope<'_>,
    family: &str,
) -> Result<Option<DaemonTaskDefinition>, AwsError> {
    let rows = store
        .query(
            &format!(
                "SELECT {COLUMNS} FROM ecs_daemon_task_definitions
                 WHERE account_id = ? AND region = ? AND family = ? AND status = ? ORDER BY revision DESC LIMIT 1"
            ),
            vec![
                scope.account.into(),
                scope.region.into(),
                family.into(),
                DaemonTaskDefinitionStatus::Active.as_str().into(),
            ],
        )
        .await
        .map_err(internal)?;
    rows.first().map(definition_of).transpose()
}

/// The revision a new registration of `family` would take: one more than any it ever had.
pub(crate) async fn next_revision(store: &Store, scope: Scope<'_>, family: &str) -> Result<i64, AwsError> {
    let rows = store
        .query(
            "SELECT COALESCE(MAX(revision), 0) + 1 FROM ecs_daemon_task_definitions
             WHERE account_id = ? AND region = ? AND family = ?",
            vec![scope.account.into(), scope.region.into(), family.into()],
        )
        .await
        .map_err(internal)?;
    rows.first().ok_or_else(|| internal("no revision row"))?.int(0).map_err(internal)
}

/// A revision to register (`ACTIVE`).
#[derive(Debug, Clone)]
pub(crate) struct NewRevision<'a> {
    pub arn: &'a str,
    pub family: &'a str,
    pub revision: i64,
    pub document: &'a Json,
    pub registered_at: i64,
}

/// Registers a revision with its tags, in one transaction; false (nothing written) when the
/// revision was taken meanwhile (read [`next_revision`] again).
pub(crate) async fn register(
    store: &Store,
    scope: Scope<'_>,
    new: &NewRevision<'_>,
    tags: &[(String, String)],
) -> Result<bool, AwsError> {
    let mut statements = vec![Statement::new(
        "INSERT INTO ecs_daemon_task_definitions (arn, account_id, region, family, revision, status, body, registered_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            new.arn.into(),
            scope.account.into(),
            scope.region.into(),
            new.family.into(),
            Value::Int(new.revision),
            DaemonTaskDefinitionStatus::Active.as_str().into(),
            new.document.to_string().into(),
            Value::Int(new.registered_at),
        ],
    )];
    statements.extend(ecs::set_tags(scope.account, new.arn, tags));
    match store.transaction(statements).await {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(internal(error)),
    }
}

/// Every revision of `scope` in one of `statuses`, by family and revision (reversed when
/// `descending`).
pub(crate) async fn list(
    store: &Store,
    scope: Scope<'_>,
    statuses: &[DaemonTaskDefinitionStatus],
    descending: bool,
) -> Result<Vec<DaemonTaskDefinition>, AwsError> {
    let order = if descending { "family DESC, revision DESC" } else { "family, revision" };
    let marks = vec!["?"; statuses.len()].join(", ");
    let mut parameters: Vec<Value> = vec![scope.account.into(), scope.region.into()];
    parameters.extend(statuses.iter().map(|status| Value::from(status.as_str())));
    let rows = store
        .query(
            &format!(
                "SELECT {COLUMNS} FROM ecs_daemon_task_definitions
                 WHERE account_id = ? AND region = ? AND status IN ({marks}) ORDER BY {order}"
            ),
            parameters,
        )
        .await
        .map_err(internal)?;
    rows.iter().map(definition_of).collect()
}

/// Marks revision `arn` `DELETE_IN_PROGRESS` at `now`; false when it is not `ACTIVE`.
pub(crate) async fn mark_deleting(store: &Store, arn: &str, now: i64) -> Result<bool, AwsError> {
    let changed = store
        .execute(
            "UPDATE ecs_daemon_task_definitions SET status = ?, delete_requested_at = ? WHERE arn = ? AND status = ?",
            vec![
                DaemonTaskDefinitionStatus::DeleteInProgress.as_str().into(),
                Value::Int(now),
                arn.into(),
                DaemonTaskDefinitionStatus::Active.as_str().into(),
            ],
        )
        .await
        .map_err(internal)?;
    Ok(changed > 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;
    use crate::testing::{SCOPE, temp_store};

    fn arn(family: &str, revision: i64) -> String {
        format!("arn:aws:ecs:us-east-1:111122223333:daemon-task-definition/{family}:{revision}")
    }

    /// Registers the next revision of `family`, as RegisterDaemonTaskDefinition does.
    async fn register_next(store: &Store, family: &str) -> i64 {
        let revision = next_revision(store, SCOPE, family).await.unwrap();
        let arn = arn(family, revision);
        let document = json!({"family": family, "revision": revision, "status": "ACTIVE", "registeredBy": "me"});
        let new = NewRevision { arn: &arn, family, revision, document: &document, registered_at: 10 };
        assert!(register(store, SCOPE, &new, &[]).await.unwrap());
        revision
    }

    #[test]
    fn statuses_round_trip_through_their_words() {
        for status in DaemonTaskDefinitionStatus::ALL {
            assert_eq!(DaemonTaskDefinitionStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(DaemonTaskDefinitionStatus::parse("INACTIVE"), None, "not a word of daemon task definitions");
    }

    #[tokio::test]
    async fn revisions_count_up_are_never_overwritten_and_move_only_to_deleting() {
        let temp = temp_store().await;
        let store = &temp.store;
        assert_eq!(register_next(store, "agent").await, 1);
        assert_eq!(register_next(store, "agent").await, 2);
        assert_eq!(register_next(store, "probe").await, 1, "per family");
        let taken = arn("agent", 2);
        let document = json!({"other": true});
        let new = NewRevision { arn: &taken, family: "agent", revision: 2, document: &document, registered_at: 11 };
        assert!(!register(store, SCOPE, &new, &[]).await.unwrap(), "the unique key decides");

        assert!(mark_deleting(store, &arn("agent", 2), 30).await.unwrap());
        assert!(!mark_deleting(store, &arn("agent", 2), 40).await.unwrap(), "only an ACTIVE one");
        let second = find_revision(store, SCOPE, "agent", 2).await.unwrap().unwrap();
        assert_eq!(
            (second.status, second.delete_requested_at),
            (DaemonTaskDefinitionStatus::DeleteInProgress, Some(30))
        );
        assert_eq!(second.clone().into_document()["status"], "DELETE_IN_PROGRESS");
        assert_eq!(second.summary()["deleteRequestedAt"], 30);
        let latest = find_latest_active(store, SCOPE, "agent").await.unwrap().unwrap();
        assert_eq!(latest.revision, 1, "the latest ACTIVE one");
        assert_eq!(next_revision(store, SCOPE, "agent").await.unwrap(), 3, "never reused");

        let active = list(store, SCOPE, &[DaemonTaskDefinitionStatus::Active], false).await.unwrap();
        let arns: Vec<&str> = active.iter().map(|d| d.arn.as_str()).collect();
        assert_eq!(arns, [arn("agent", 1), arn("probe", 1)]);
        let all = list(store, SCOPE, &DaemonTaskDefinitionStatus::ALL, true).await.unwrap();
        let arns: Vec<&str> = all.iter().map(|d| d.arn.as_str()).collect();
        assert_eq!(arns, [arn("probe", 1), arn("agent", 2), arn("agent", 1)]);
        let elsewhere = crate::regions::Scope { account: "999988887777", region: "us-east-1" };
        assert!(find_revision(store, elsewhere, "agent", 1).await.unwrap().is_none());
    }
}
