//! Service deployments and service revisions (migration 33): the record ECS keeps of each
//! deployment a service starts (`ServiceDeployment`, its status a `DeploymentStatus`) and of
//! the configuration each one deploys (a service revision, immutable once written), and their
//! SQL as functions of the store. What moves a deployment's status is
//! `ecs::service_deployments`, following the scheduler; this is what it reads and writes.
//!
//! Guarantees: the `status` column always holds the status of the document saved with it (one
//! statement writes both), in ECS's words, and an unknown stored word is an internal error; a
//! revision is only ever inserted, never updated; every read is confined to one account; a
//! service's deployments and revisions are deleted together (`delete_of_service`), as ECS
//! deletes them with the service.

use aws_protocol::AwsError;
use serde_json::Value as Json;
use store::{Statement, Store, Value};

use crate::ecs;
use crate::operations::internal;

/// A service deployment's status, in ECS's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeploymentStatus {
    Pending,
    InProgress,
    Successful,
    Stopped,
    StopRequested,
    RollbackRequested,
    RollbackInProgress,
    RollbackSuccessful,
    RollbackFailed,
}

impl DeploymentStatus {
    pub(crate) const ALL: [DeploymentStatus; 9] = [
        DeploymentStatus::Pending,
        DeploymentStatus::InProgress,
        DeploymentStatus::Successful,
        DeploymentStatus::Stopped,
        DeploymentStatus::StopRequested,
        DeploymentStatus::RollbackRequested,
        DeploymentStatus::RollbackInProgress,
        DeploymentStatus::RollbackSuccessful,
        DeploymentStatus::RollbackFailed,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Pending => "PENDING",
            DeploymentStatus::InProgress => "IN_PROGRESS",
            DeploymentStatus::Successful => "SUCCESSFUL",
            DeploymentStatus::Stopped => "STOPPED",
            DeploymentStatus::StopRequested => "STOP_REQUESTED",
            DeploymentStatus::RollbackRequested => "ROLLBACK_REQUESTED",
            DeploymentStatus::RollbackInProgress => "ROLLBACK_IN_PROGRESS",
            DeploymentStatus::RollbackSuccessful => "ROLLBACK_SUCCESSFUL",
            DeploymentStatus::RollbackFailed => "ROLLBACK_FAILED",
        }
    }

    pub(crate) fn parse(word: &str) -> Option<DeploymentStatus> {
        DeploymentStatus::ALL.into_iter().find(|status| status.as_str() == word)
    }

    /// Whether it has not finished (ECS's pending and ongoing stages): it can still move, and
    /// be stopped.
    pub(crate) fn is_ongoing(self) -> bool {
        matches!(
            self,
            DeploymentStatus::Pending
                | DeploymentStatus::InProgress
                | DeploymentStatus::StopRequested
                | DeploymentStatus::RollbackRequested
                | DeploymentStatus::RollbackInProgress
        )
    }
}

/// A stored service deployment: its `ServiceDeployment` document as ECS answers it (less the
/// task counts of a deployment still under way, which are computed), with the ids of the
/// service's deployments its revisions are in `homeport:` members the answer leaves out.
#[derive(Debug, Clone)]
pub(crate) struct ServiceDeployment {
    pub arn: String,
    pub service_arn: String,
    pub status: DeploymentStatus,
    pub created_at: i64,
    pub body: Json,
}

impl ServiceDeployment {
    /// Sets its status (in the document too).
    pub(crate) fn set_status(&mut self, status: DeploymentStatus) {
        self.status = status;
        ecs::put(&mut self.body, "status", status.as_str());
    }
}

fn deployment_of(row: &store::Row) -> Result<ServiceDeployment, AwsError> {
    let word = row.text(2).map_err(internal)?;
    Ok(ServiceDeployment {
        arn: row.text(0).map_err(internal)?,
        service_arn: row.text(1).map_err(internal)?,
        status: DeploymentStatus::parse(&word)
            .ok_or_else(|| internal(format!("unknown service deployment status `{word}`")))?,
        created_at: row.int(3).map_err(internal)?,
        body: ecs::json_column(row, 4)?,
    })
}

const DEPLOYMENT_COLUMNS: &str = "arn, service_arn, status, created_at, body";

/// Records a new service deployment.
pub(crate) fn insert_deployment(account: &str, deployment: &ServiceDeployment) -> Statement {
    Statement::new(
        "INSERT INTO ecs_service_deployments (arn, account_id, service_arn, status, created_at, body) VALUES (?, ?, ?, ?, ?, ?)",
        vec![
            deployment.arn.as_str().into(),
            account.into(),
            deployment.service_arn.as_str().into(),
            deployment.status.as_str().into(),
            Value::Int(deployment.created_at),
            deployment.body.to_string().into(),
        ],
    )
}

/// Writes a service deployment's document and the status it holds.
pub(crate) fn save_deployment(deployment: &ServiceDeployment) -> Statement {
    Statement::new(
        "UPDATE ecs_service_deployments SET status = ?, body = ? WHERE arn = ?",
        vec![deployment.status.as_str().into(), deployment.body.to_string().into(), deployment.arn.as_str().into()],
    )
}

/// Records a service revision (never changed after).
pub(crate) fn insert_revision(account: &str, service_arn: &str, created_at: i64, revision: &Json) -> Statement {
    let arn = revision.get("serviceRevisionArn").and_then(Json::as_str).unwrap_or_default();
    Statement::new(
        "INSERT INTO ecs_service_revisions (arn, account_id, service_arn, created_at, body) VALUES (?, ?, ?, ?, ?)",
        vec![arn.into(), account.into(), service_arn.into(), Value::Int(created_at), revision.to_string().into()],
    )
}

/// One service deployment of `account` by ARN.
pub(crate) async fn find_deployment(
    store: &Store,
    account: &str,
    arn: &str,
) -> Result<Option<ServiceDeployment>, AwsError> {
    let rows = store
        .query(
            &format!("SELECT {DEPLOYMENT_COLUMNS} FROM ecs_service_deployments WHERE arn = ? AND account_id = ?"),
            vec![arn.into(), account.into()],
        )
        .await
        .map_err(internal)?;
    rows.first().map(deployment_of).transpose()
}

/// The service's deployments, newest first.
pub(crate) async fn of_service(store: &Store, service_arn: &str) -> Result<Vec<ServiceDeployment>, AwsError> {
    let rows = store
        .query(
            &format!(
                "SELECT {DEPLOYMENT_COLUMNS} FROM ecs_service_deployments WHERE service_arn = ? ORDER BY seq DESC"
            ),
            vec![service_arn.into()],
        )
        .await
        .map_err(internal)?;
    rows.iter().map(deployment_of).collect()
}

/// One service revision's document, of `account`, by ARN.
pub(crate) async fn find_revision(store: &Store, account: &str, arn: &str) -> Result<Option<Json>, AwsError> {
    let rows = store
        .query(
            "SELECT body FROM ecs_service_revisions WHERE arn = ? AND account_id = ?",
            vec![arn.into(), account.into()],
        )
        .await
        .map_err(internal)?;
    rows.first().map(|row| ecs::json_column(row, 0)).transpose()
}

/// Statements that delete the service's deployments and revisions.
pub(crate) fn delete_of_service(service_arn: &str) -> Vec<Statement> {
    vec![
        Statement::new("DELETE FROM ecs_service_deployments WHERE service_arn = ?", vec![service_arn.into()]),
        Statement::new("DELETE FROM ecs_service_revisions WHERE service_arn = ?", vec![service_arn.into()]),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;
    use crate::ecs::model::container_instance::tests::{ACCOUNT, temp_store};

    const SERVICE: &str = "arn:aws:ecs:us-east-1:111122223333:service/edge/web";

    fn deployment(id: &str, created_at: i64) -> ServiceDeployment {
        let arn = format!("arn:aws:ecs:us-east-1:111122223333:service-deployment/edge/web/{id}");
        ServiceDeployment {
            body: json!({"serviceDeploymentArn": arn, "status": "PENDING"}),
            arn,
            service_arn: SERVICE.to_owned(),
            status: DeploymentStatus::Pending,
            created_at,
        }
    }

    #[test]
    fn statuses_round_trip_and_only_unfinished_ones_are_ongoing() {
        for status in DeploymentStatus::ALL {
            assert_eq!(DeploymentStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(DeploymentStatus::parse("FAILED"), None);
        let finished: Vec<&str> =
            DeploymentStatus::ALL.into_iter().filter(|s| !s.is_ongoing()).map(DeploymentStatus::as_str).collect();
        assert_eq!(finished, ["SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"]);
    }

    #[tokio::test]
    async fn deployments_are_listed_newest_first_saved_with_their_status_and_deleted_with_revisions() {
        let temp = temp_store().await;
        let store = &temp.store;
        let (first, mut second) = (deployment("a", 10), deployment("b", 20));
        let revision = json!({"serviceRevisionArn": "arn:aws:ecs:us-east-1:111122223333:service-revision/edge/web/1"});
        store
            .transaction(vec![
                insert_deployment(ACCOUNT, &first),
                insert_deployment(ACCOUNT, &second),
                insert_revision(ACCOUNT, SERVICE, 10, &revision),
            ])
            .await
            .unwrap();
        let arns = |list: Vec<ServiceDeployment>| list.into_iter().map(|d| d.arn).collect::<Vec<_>>();
        assert_eq!(arns(of_service(store, SERVICE).await.unwrap()), [second.arn.clone(), first.arn.clone()]);
        second.set_status(DeploymentStatus::Successful);
        store.transaction(vec![save_deployment(&second)]).await.unwrap();
        let found = find_deployment(store, ACCOUNT, &second.arn).await.unwrap().unwrap();
        assert_eq!((found.status, found.body["status"].as_str()), (DeploymentStatus::Successful, Some("SUCCESSFUL")));
        assert!(find_deployment(store, "999988887777", &second.arn).await.unwrap().is_none());
        let revision_arn = revision["serviceRevisionArn"].as_str().unwrap();
        assert_eq!(find_revision(store, ACCOUNT, revision_arn).await.unwrap().unwrap(), revision);
        store.transaction(delete_of_service(SERVICE)).await.unwrap();
        assert!(of_service(store, SERVICE).await.unwrap().is_empty());
        assert!(find_revision(store, ACCOUNT, revision_arn).await.unwrap().is_none());
    }
}
