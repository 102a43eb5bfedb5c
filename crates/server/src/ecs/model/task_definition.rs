//! The task-definition model: a registered revision of a family (its document, as
//! DescribeTaskDefinition returns it), its status (`TaskDefinitionStatus`), and the SQL of
//! `ecs_task_definitions`.
//!
//! Guarantees: a family's revisions count up from 1 and are never reused (a revision is
//! claimed by the insert's unique key, [`register`] reports a lost race rather than
//! overwriting); a revision's status only moves `ACTIVE` -> `INACTIVE` -> `DELETE_IN_PROGRESS`,
//! each step checked in its `UPDATE`; the status read is the column's, never the stored
//! document's.

use crate::regions::Scope;
use aws_protocol::AwsError;
use serde_json::Value as Json;
use store::{Statement, Store, StoreError, Value};

use crate::ecs;
use crate::ecs::errors::internal;

/// A task definition revision's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskDefinitionStatus {
    Active,
    /// Deregistered: still describable and runnable by revision, not listed as the family's.
    Inactive,
    DeleteInProgress,
}

impl TaskDefinitionStatus {
    pub(crate) const ALL: [TaskDefinitionStatus; 3] =
        [TaskDefinitionStatus::Active, TaskDefinitionStatus::Inactive, TaskDefinitionStatus::DeleteInProgress];

    /// The word ECS uses (stored and answered as is).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TaskDefinitionStatus::Active => "ACTIVE",
            TaskDefinitionStatus::Inactive => "INACTIVE",
            TaskDefinitionStatus::DeleteInProgress => "DELETE_IN_PROGRESS",
        }
    }

    /// The status `word` names, if it is one.
    pub(crate) fn parse(word: &str) -> Option<TaskDefinitionStatus> {
        TaskDefinitionStatus::ALL.into_iter().find(|status| status.as_str() == word)
    }
}

/// A stored revision.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaskDefinition {
    /// The document as registered (its `status` is the one it was registered with).
    pub document: Json,
    pub status: TaskDefinitionStatus,
    pub deregistered_at: Option<i64>,
}

impl TaskDefinition {
    /// The document DescribeTaskDefinition returns: the registered one with its status now.
    pub(crate) fn into_document(self) -> Json {
        let mut document = self.document;
        ecs::put(&mut document, "status", self.status.as_str());
        if let Some(at) = self.deregistered_at {
            ecs::put(&mut document, "deregisteredAt", at);
        }
        document
    }
}

fn definition_of(row: &store::Row) -> Result<TaskDefinition, AwsError> {
    let status = row.text(1).map_err(internal)?;
    Ok(TaskDefinition {
        document: ecs::json_column(row, 0)?,
        status: TaskDefinitionStatus::parse(&status)
            .ok_or_else(|| internal(format!("unknown task definition status `{status}`")))?,
        deregistered_at: row.opt_int(2).map_err(internal)?,
    })
}

/// Revision `revision` of `family`, in any status.
pub(crate) async fn find_revision(
    store: &Store,
    scope: Scope<'_>,
    family: &str,
    revision: i64,
) -> Result<Option<TaskDefinition>, AwsError> {
    let rows = store
        .query(
            "SELECT body, status, deregistered_at FROM ecs_task_definitions WHERE account_id = ? AND region = ? AND family = ? AND revision = ?",
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
) -> Result<Option<TaskDefinition>, AwsError> {
    let rows = store
        .query(
            "SELECT body, status, deregistered_at FROM ecs_task_definitions WHERE account_id = ? AND region = ? AND family = ? AND status = ?
             ORDER BY revision DESC LIMIT 1",
            vec![scope.account.into(), scope.region.into(), family.into(), TaskDefinitionStatus::Active.as_str().into()],
        )
        .await
        .map_err(internal)?;
    rows.first().map(definition_of).transpose()
}

/// The revision a new registration of `family` would take: one more than any it ever had.
pub(crate) async fn next_revision(store: &Store, scope: Scope<'_>, family: &str) -> Result<i64, AwsError> {
    let rows = store
        .query(
            "SELECT COALESCE(MAX(revision), 0) + 1 FROM ecs_task_definitions WHERE account_id = ? AND region = ? AND family = ?",
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
        "INSERT INTO ecs_task_definitions (arn, account_id, region, family, revision, status, body, registered_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            new.arn.into(),
            scope.account.into(),
            scope.region.into(),
            new.family.into(),
            Value::Int(new.revision),
            TaskDefinitionStatus::Active.as_str().into(),
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

/// The `(arn, family)` of every revision of `account` in `status`, by family and revision
/// (reversed when `descending`).
pub(crate) async fn arns(
    store: &Store,
    scope: Scope<'_>,
    status: TaskDefinitionStatus,
    descending: bool,
) -> Result<Vec<(String, String)>, AwsError> {
    let order = if descending { "family DESC, revision DESC" } else { "family, revision" };
    let rows = store
        .query(
            &format!(
                "SELECT arn, family FROM ecs_task_definitions WHERE account_id = ? AND region = ? AND status = ? ORDER BY {order}"
            ),
            vec![scope.account.into(), scope.region.into(), status.as_str().into()],
        )
        .await
        .map_err(internal)?;
    rows.iter().map(|row| Ok((row.text(0).map_err(internal)?, row.text(1).map_err(internal)?))).collect()
}

/// Every family of `account`, by name, with whether one of its revisions is `ACTIVE` (a
/// family is `ACTIVE` while one is, `INACTIVE` once none is).
pub(crate) async fn families(store: &Store, scope: Scope<'_>) -> Result<Vec<(String, bool)>, AwsError> {
    let rows = store
        .query(
            "SELECT family, MAX(CASE WHEN status = ? THEN 1 ELSE 0 END) FROM ecs_task_definitions
             WHERE account_id = ? AND region = ? GROUP BY family ORDER BY family",
            vec![TaskDefinitionStatus::Active.as_str().into(), scope.account.into(), scope.region.into()],
        )
        .await
        .map_err(internal)?;
    rows.iter().map(|row| Ok((row.text(0).map_err(internal)?, row.int(1).map_err(internal)? == 1))).collect()
}

/// Deregisters revision `arn` at `now` if it is `ACTIVE` (otherwise no change).
pub(crate) async fn deregister(store: &Store, arn: &str, now: i64) -> Result<(), AwsError> {
    store
        .execute(
            "UPDATE ecs_task_definitions SET status = ?, deregistered_at = ? WHERE arn = ? AND status = ?",
            vec![
                TaskDefinitionStatus::Inactive.as_str().into(),
                Value::Int(now),
                arn.into(),
                TaskDefinitionStatus::Active.as_str().into(),
            ],
        )
        .await
        .map_err(internal)?;
    Ok(())
}

/// Marks revision `arn` `DELETE_IN_PROGRESS`; false when it is not `INACTIVE`.
pub(crate) async fn mark_deleting(store: &Store, arn: &str) -> Result<bool, AwsError> {
    let changed = store
        .execute(
            "UPDATE ecs_task_definitions SET status = ? WHERE arn = ? AND status = ?",
            vec![
                TaskDefinitionStatus::DeleteInProgress.as_str().into(),
                arn.into(),
                TaskDefinitionStatus::Inactive.as_str().into(),
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
    use crate::ecs::model::container_instance::tests::temp_store;
    use crate::testing::SCOPE;

    fn arn(family: &str, revision: i64) -> String {
        format!("arn:aws:ecs:us-east-1:111122223333:task-definition/{family}:{revision}")
    }

    /// Registers the next revision of `family`, as RegisterTaskDefinition does.
    async fn register_next(store: &Store, family: &str) -> i64 {
        let revision = next_revision(store, SCOPE, family).await.unwrap();
        let arn = arn(family, revision);
        let document = json!({"family": family, "revision": revision, "status": "ACTIVE"});
        let new = NewRevision { arn: &arn, family, revision, document: &document, registered_at: 10 };
        assert!(register(store, SCOPE, &new, &[]).await.unwrap());
        revision
    }

    #[test]
    fn statuses_round_trip_through_their_words() {
        for status in TaskDefinitionStatus::ALL {
            assert_eq!(TaskDefinitionStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(TaskDefinitionStatus::parse("DELETED"), None);
        let stored = TaskDefinition {
            document: json!({"family": "web", "status": "ACTIVE"}),
            status: TaskDefinitionStatus::Inactive,
            deregistered_at: Some(20),
        };
        assert_eq!(stored.into_document(), json!({"family": "web", "status": "INACTIVE", "deregisteredAt": 20}));
    }

    #[tokio::test]
    async fn revisions_count_up_and_a_taken_one_is_reported_not_overwritten() {
        let temp = temp_store().await;
        let store = &temp.store;
        assert_eq!(register_next(store, "web").await, 1);
        assert_eq!(register_next(store, "web").await, 2);
        assert_eq!(register_next(store, "db").await, 1, "per family");
        let taken = arn("web", 2);
        let document = json!({"other": true});
        let new = NewRevision { arn: &taken, family: "web", revision: 2, document: &document, registered_at: 11 };
        assert!(!register(store, SCOPE, &new, &[]).await.unwrap(), "the unique key decides");
        assert_eq!(find_revision(store, SCOPE, "web", 2).await.unwrap().unwrap().document["revision"], 2);
        assert_eq!(find_latest_active(store, SCOPE, "web").await.unwrap().unwrap().document["revision"], 2);
        assert!(
            find_revision(store, crate::regions::Scope { account: "999988887777", region: "us-east-1" }, "web", 1)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_revision_moves_active_inactive_deleting_and_never_back() {
        let temp = temp_store().await;
        let store = &temp.store;
        register_next(store, "web").await;
        register_next(store, "web").await;
        assert!(!mark_deleting(store, &arn("web", 2)).await.unwrap(), "an ACTIVE revision is deregistered first");
        deregister(store, &arn("web", 2), 30).await.unwrap();
        let latest = find_latest_active(store, SCOPE, "web").await.unwrap().unwrap();
        assert_eq!(latest.document["revision"], 1, "the latest ACTIVE one");
        let second = find_revision(store, SCOPE, "web", 2).await.unwrap().unwrap();
        assert_eq!((second.status, second.deregistered_at), (TaskDefinitionStatus::Inactive, Some(30)));
        assert!(mark_deleting(store, &arn("web", 2)).await.unwrap());
        deregister(store, &arn("web", 2), 40).await.unwrap();
        let second = find_revision(store, SCOPE, "web", 2).await.unwrap().unwrap();
        assert_eq!((second.status, second.deregistered_at), (TaskDefinitionStatus::DeleteInProgress, Some(30)));

        let listed = |status| arns(store, SCOPE, status, false);
        assert_eq!(listed(TaskDefinitionStatus::Active).await.unwrap(), [(arn("web", 1), "web".to_owned())]);
        assert_eq!(listed(TaskDefinitionStatus::DeleteInProgress).await.unwrap().len(), 1);
        deregister(store, &arn("web", 1), 50).await.unwrap();
        register_next(store, "api").await;
        let families = families(store, SCOPE).await.unwrap();
        assert_eq!(families, [("api".to_owned(), true), ("web".to_owned(), false)]);
    }
}
