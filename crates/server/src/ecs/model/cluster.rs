//! The cluster model: a stored cluster, its status (`ClusterStatus`), the counts ECS shows
//! for it, what keeps it from being deleted, and the SQL of `ecs_clusters`.
//!
//! Guarantees: creating a cluster that exists makes it `ACTIVE` again (never a second row),
//! with its tags, in one transaction; a deleted cluster stays as `INACTIVE`; a status is
//! stored in ECS's words, and a stored word the model does not know is an internal error.

use crate::regions::Scope;
use aws_protocol::AwsError;
use serde_json::Value as Json;
use store::{Statement, Store, Value};

use crate::ecs;
use crate::ecs::errors::internal;
use crate::ecs::model::container_instance::ContainerInstanceStatus;
use crate::ecs::model::service::ServiceStatus;
use crate::ecs::model::task::status::TaskStatus;

/// A cluster's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClusterStatus {
    Active,
    /// Deleted: still describable, created again as `ACTIVE`.
    Inactive,
}

impl ClusterStatus {
    /// The word ECS uses (stored and answered as is).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ClusterStatus::Active => "ACTIVE",
            ClusterStatus::Inactive => "INACTIVE",
        }
    }

    /// The status `word` names, if it is one.
    pub(crate) fn parse(word: &str) -> Option<ClusterStatus> {
        [ClusterStatus::Active, ClusterStatus::Inactive].into_iter().find(|status| status.as_str() == word)
    }
}

/// A stored cluster.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    pub arn: String,
    pub name: String,
    pub status: ClusterStatus,
    pub settings: Json,
    /// The names of the capacity providers associated with it.
    pub capacity_providers: Vec<String>,
}

/// The cluster of `scope` with `arn`, in any status (none for another region's ARN).
pub(crate) async fn find(store: &Store, scope: Scope<'_>, arn: &str) -> Result<Option<Cluster>, AwsError> {
    let rows = store
        .query(
            "SELECT arn, name, status, settings, capacity_providers FROM ecs_clusters
             WHERE arn = ? AND account_id = ? AND region = ?",
            vec![arn.into(), scope.account.into(), scope.region.into()],
        )
        .await
        .map_err(internal)?;
    rows.first().map(cluster_of).transpose()
}

/// The cluster in a row starting with `arn, name, status, settings, capacity_providers`.
fn cluster_of(row: &store::Row) -> Result<Cluster, AwsError> {
    let status = row.text(2).map_err(internal)?;
    Ok(Cluster {
        arn: row.text(0).map_err(internal)?,
        name: row.text(1).map_err(internal)?,
        status: ClusterStatus::parse(&status).ok_or_else(|| internal(format!("unknown cluster status `{status}`")))?,
        settings: ecs::json_column(row, 3)?,
        capacity_providers: serde_json::from_value(ecs::json_column(row, 4)?).map_err(internal)?,
    })
}

/// As [`find`], with the cluster's [`Counts`] read in the same statement (what
/// DescribeClusters shows, in one round trip per cluster).
pub(crate) async fn find_counted(
    store: &Store,
    scope: Scope<'_>,
    arn: &str,
) -> Result<Option<(Cluster, Counts)>, AwsError> {
    let rows = store
        .query(
            "SELECT c.arn, c.name, c.status, c.settings, c.capacity_providers,
                    (SELECT COUNT(*) FROM ecs_container_instances i WHERE i.cluster_arn = c.arn AND i.status <> ?),
                    (SELECT COALESCE(CAST(SUM(i.running_tasks) AS BIGINT), 0) FROM ecs_container_instances i WHERE i.cluster_arn = c.arn),
                    (SELECT COALESCE(CAST(SUM(i.pending_tasks) AS BIGINT), 0) FROM ecs_container_instances i WHERE i.cluster_arn = c.arn),
                    (SELECT COUNT(*) FROM ecs_services s WHERE s.cluster_arn = c.arn AND s.status = ?)
             FROM ecs_clusters c WHERE c.arn = ? AND c.account_id = ? AND c.region = ?",
            vec![
                ContainerInstanceStatus::Inactive.as_str().into(),
                ServiceStatus::Active.as_str().into(),
                arn.into(),
                scope.account.into(),
                scope.region.into(),
            ],
        )
        .await
        .map_err(internal)?;
    rows.first()
        .map(|row| {
            let count = |index| row.int(index).map_err(internal);
            let counts = Counts {
                instances: count(5)?,
                running_tasks: count(6)?,
                pending_tasks: count(7)?,
                active_services: count(8)?,
            };
            Ok((cluster_of(row)?, counts))
        })
        .transpose()
}

/// The ARNs of the `ACTIVE` clusters of `scope`, sorted.
pub(crate) async fn active_arns(store: &Store, scope: Scope<'_>) -> Result<Vec<String>, AwsError> {
    let rows = store
        .query(
            "SELECT arn FROM ecs_clusters WHERE account_id = ? AND region = ? AND status = ? ORDER BY arn",
            vec![scope.account.into(), scope.region.into(), ClusterStatus::Active.as_str().into()],
        )
        .await
        .map_err(internal)?;
    rows.iter().map(|row| row.text(0).map_err(internal)).collect()
}

/// Creates an `ACTIVE` cluster, or makes the existing one of `arn` `ACTIVE` again (its
/// settings kept), and sets its tags, in one transaction.
pub(crate) async fn create(
    store: &Store,
    scope: Scope<'_>,
    arn: &str,
    name: &str,
    settings: &Json,
    tags: &[(String, String)],
    now: i64,
) -> Result<(), AwsError> {
    let active = ClusterStatus::Active.as_str();
    let mut statements = vec![
        Statement::new(
            "UPDATE ecs_clusters SET status = ? WHERE arn = ? AND account_id = ?",
            vec![active.into(), arn.into(), scope.account.into()],
        ),
        Statement::new(
            "INSERT INTO ecs_clusters (arn, account_id, region, name, status, settings, created_at)
             SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM ecs_clusters WHERE arn = ?)",
            vec![
                arn.into(),
                scope.account.into(),
                scope.region.into(),
                name.into(),
                active.into(),
                settings.to_string().into(),
                Value::Int(now),
                arn.into(),
            ],
        ),
    ];
    statements.extend(ecs::set_tags(scope.account, arn, tags));
    store.transaction(statements).await.map_err(internal)?;
    Ok(())
}

/// What a cluster holds, as ECS counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Registered container instances (every status but `INACTIVE`).
    pub instances: i64,
    pub running_tasks: i64,
    /// Tasks `PROVISIONING`, `PENDING` or `ACTIVATING`.
    pub pending_tasks: i64,
    pub active_services: i64,
}

/// The counts of cluster `arn`. Its tasks' are the sums of its instances' counters (which
/// the task transactions keep, `model::task::store`; every task is placed on an instance,
/// and a deregistered instance keeps its counters), so counting reads the cluster's
/// instances through their index, never its tasks. An instance's `pending_tasks` counts its
/// live tasks that do not run; a task's stored status is only ever PENDING, RUNNING or
/// STOPPED (what agents report and stops record), so that is ECS's `pendingTasksCount`.
pub(crate) async fn counts(store: &Store, arn: &str) -> Result<Counts, AwsError> {
    let cluster: Value = arn.into();
    let rows = store
        .query(
            "SELECT (SELECT COUNT(*) FROM ecs_container_instances WHERE cluster_arn = ? AND status <> ?),
                    (SELECT COALESCE(CAST(SUM(running_tasks) AS BIGINT), 0) FROM ecs_container_instances WHERE cluster_arn = ?),
                    (SELECT COALESCE(CAST(SUM(pending_tasks) AS BIGINT), 0) FROM ecs_container_instances WHERE cluster_arn = ?),
                    (SELECT COUNT(*) FROM ecs_services WHERE cluster_arn = ? AND status = ?)",
            vec![
                cluster.clone(),
                ContainerInstanceStatus::Inactive.as_str().into(),
                cluster.clone(),
                cluster.clone(),
                cluster,
                ServiceStatus::Active.as_str().into(),
            ],
        )
        .await
        .map_err(internal)?;
    let row = rows.first().ok_or_else(|| internal("no count row"))?;
    let count = |index| row.int(index).map_err(internal);
    Ok(Counts { instances: count(0)?, running_tasks: count(1)?, pending_tasks: count(2)?, active_services: count(3)? })
}

/// What keeps a cluster from being deleted, in the order ECS reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Occupant {
    /// A container instance that is not `INACTIVE`.
    ContainerInstances,
    /// A service that is not `INACTIVE`.
    Services,
    /// A task that is not `STOPPED`.
    Tasks,
}

/// The first thing that keeps cluster `arn` from being deleted, if any.
pub(crate) async fn occupant(store: &Store, arn: &str) -> Result<Option<Occupant>, AwsError> {
    let checks = [
        (Occupant::ContainerInstances, "ecs_container_instances", "status", ContainerInstanceStatus::Inactive.as_str()),
        (Occupant::Services, "ecs_services", "status", ServiceStatus::Inactive.as_str()),
        (Occupant::Tasks, "ecs_tasks", "last_status", TaskStatus::Stopped.as_str()),
    ];
    for (occupant, table, column, word) in checks {
        let sql = format!("SELECT 1 FROM {table} WHERE cluster_arn = ? AND {column} <> ? LIMIT 1");
        if !store.query(&sql, vec![arn.into(), word.into()]).await.map_err(internal)?.is_empty() {
            return Ok(Some(occupant));
        }
    }
    Ok(None)
}

/// Marks cluster `arn` `INACTIVE` (the caller has found it empty).
pub(crate) async fn deactivate(store: &Store, arn: &str) -> Result<(), AwsError> {
    store
        .execute(
            "UPDATE ecs_clusters SET status = ? WHERE arn = ?",
            vec![ClusterStatus::Inactive.as_str().into(), arn.into()],
        )
        .await
        .map_err(internal)?;
    Ok(())
}

/// Replaces the capacity providers associated with cluster `arn`.
pub(crate) async fn set_capacity_providers(store: &Store, arn: &str, names: &[String]) -> Result<(), AwsError> {
    let names = serde_json::to_string(names).map_err(internal)?;
    store
        .execute("UPDATE ecs_clusters SET capacity_providers = ? WHERE arn = ?", vec![names.into(), arn.into()])
        .await
        .map_err(internal)?;
    Ok(())
}

/// Replaces cluster `arn`'s settings.
pub(crate) async fn set_settings(store: &Store, arn: &str, settings: &Json) -> Result<(), AwsError> {
    store
        .execute("UPDATE ecs_clusters SET settings = ? WHERE arn = ?", vec![settings.to_string().into(), arn.into()])
        .await
        .map_err(internal)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;
    use crate::ecs::model::container_instance::tests::{ACCOUNT, CLUSTER, register, temp_store};
    use crate::testing::SCOPE;

    #[test]
    fn statuses_round_trip_through_their_words() {
        for status in [ClusterStatus::Active, ClusterStatus::Inactive] {
            assert_eq!(ClusterStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ClusterStatus::parse("active"), None);
        assert_eq!(ClusterStatus::parse("PROVISIONING"), None);
    }

    #[tokio::test]
    async fn a_cluster_created_again_is_active_again_with_its_settings() {
        let temp = temp_store().await;
        let store = &temp.store;
        let insights = json!([{"name": "containerInsights", "value": "enabled"}]);
        create(store, SCOPE, CLUSTER, "edge", &insights, &[("team".to_owned(), "a".to_owned())], 10).await.unwrap();
        let other = "arn:aws:ecs:us-east-1:111122223333:cluster/blue";
        create(store, SCOPE, other, "blue", &json!([]), &[], 10).await.unwrap();
        assert_eq!(active_arns(store, SCOPE).await.unwrap(), [other, CLUSTER]);
        assert!(
            find(store, crate::regions::Scope { account: "999988887777", region: "us-east-1" }, CLUSTER)
                .await
                .unwrap()
                .is_none(),
            "clusters belong to an account"
        );

        deactivate(store, CLUSTER).await.unwrap();
        assert_eq!(find(store, SCOPE, CLUSTER).await.unwrap().unwrap().status, ClusterStatus::Inactive);
        assert_eq!(active_arns(store, SCOPE).await.unwrap(), [other]);
        create(store, SCOPE, CLUSTER, "edge", &json!([]), &[], 20).await.unwrap();
        let again = find(store, SCOPE, CLUSTER).await.unwrap().unwrap();
        assert_eq!((again.status, again.name.as_str()), (ClusterStatus::Active, "edge"));
        assert_eq!(again.settings, insights, "reactivating keeps what it had");
        let rows = store.query("SELECT 1 FROM ecs_clusters WHERE arn = ?", vec![CLUSTER.into()]).await.unwrap();
        assert_eq!(rows.len(), 1, "one row per ARN");
        assert_eq!(ecs::load_tags(store, ACCOUNT, CLUSTER).await.unwrap(), [json!({"key": "team", "value": "a"})]);

        set_settings(store, CLUSTER, &json!([])).await.unwrap();
        assert_eq!(find(store, SCOPE, CLUSTER).await.unwrap().unwrap().settings, json!([]));
    }

    #[tokio::test]
    async fn a_registered_instance_is_counted_and_keeps_the_cluster() {
        let temp = temp_store().await;
        let store = &temp.store;
        create(store, SCOPE, CLUSTER, "edge", &json!([]), &[], 10).await.unwrap();
        assert_eq!(occupant(store, CLUSTER).await.unwrap(), None);
        let empty = Counts { instances: 0, running_tasks: 0, pending_tasks: 0, active_services: 0 };
        assert_eq!(counts(store, CLUSTER).await.unwrap(), empty);
        register(store, "a").await;
        assert_eq!(counts(store, CLUSTER).await.unwrap(), Counts { instances: 1, ..empty });
        assert_eq!(occupant(store, CLUSTER).await.unwrap(), Some(Occupant::ContainerInstances));
    }
}
