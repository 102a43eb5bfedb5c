//! The service model: a stored service (its document, whose counts are computed from its
//! tasks), its status (`ServiceStatus`), and the SQL of `ecs_services` as functions of the
//! store. The scheduler's decisions are `ecs::service_plan`'s; this is what it reads and
//! saves.
//!
//! Guarantees: the `status` column always holds the status of the document saved with it (one
//! statement writes both), in ECS's words; a service is created, or an `INACTIVE` one taken
//! again, with its tags in one transaction.

use aws_protocol::AwsError;
use serde_json::Value as Json;
use store::{Statement, Store, Value};

use crate::ecs;
use crate::operations::internal;

/// A service's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServiceStatus {
    Active,
    /// Being deleted: its tasks stop, then it is `INACTIVE`.
    Draining,
    Inactive,
}

impl ServiceStatus {
    /// The stored status (`ACTIVE` when absent).
    pub(crate) fn parse(text: Option<&str>) -> ServiceStatus {
        match text {
            Some("DRAINING") => ServiceStatus::Draining,
            Some("INACTIVE") => ServiceStatus::Inactive,
            _ => ServiceStatus::Active,
        }
    }

    /// The word ECS uses (stored and answered as is).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Active => "ACTIVE",
            ServiceStatus::Draining => "DRAINING",
            ServiceStatus::Inactive => "INACTIVE",
        }
    }
}

/// A stored service: its document (without the counts, which are computed).
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub arn: String,
    pub cluster_arn: String,
    pub name: String,
    pub body: Json,
}

impl Service {
    /// Its status (`ACTIVE` when its document has none).
    pub(crate) fn status(&self) -> ServiceStatus {
        ServiceStatus::parse(self.body.get("status").and_then(Json::as_str))
    }
}

async fn load_services(store: &Store, condition: &str, params: Vec<Value>) -> Result<Vec<Service>, AwsError> {
    let rows = store
        .query(&format!("SELECT arn, cluster_arn, name, body FROM ecs_services WHERE {condition}"), params)
        .await
        .map_err(internal)?;
    rows.iter()
        .map(|row| {
            Ok(Service {
                arn: row.text(0).map_err(internal)?,
                cluster_arn: row.text(1).map_err(internal)?,
                name: row.text(2).map_err(internal)?,
                body: ecs::json_column(row, 3)?,
            })
        })
        .collect()
}

/// One service by ARN, in any status.
pub(crate) async fn find(store: &Store, arn: &str) -> Result<Option<Service>, AwsError> {
    Ok(load_services(store, "arn = ?", vec![arn.into()]).await?.into_iter().next())
}

/// One service of `account` by ARN, in any status.
pub(crate) async fn find_in_account(store: &Store, account: &str, arn: &str) -> Result<Option<Service>, AwsError> {
    Ok(load_services(store, "arn = ? AND account_id = ?", vec![arn.into(), account.into()]).await?.into_iter().next())
}

/// The cluster's services that are not `INACTIVE`, by name.
pub(crate) async fn of_cluster(store: &Store, cluster_arn: &str) -> Result<Vec<Service>, AwsError> {
    load_services(
        store,
        "cluster_arn = ? AND status <> ? ORDER BY name",
        vec![cluster_arn.into(), ServiceStatus::Inactive.as_str().into()],
    )
    .await
}

/// Every service that is not `INACTIVE` (what the scheduler's pass visits), by ARN.
pub(crate) async fn all_live(store: &Store) -> Result<Vec<Service>, AwsError> {
    load_services(store, "status <> ? ORDER BY arn", vec![ServiceStatus::Inactive.as_str().into()]).await
}

/// Writes a service's document and the status it holds.
pub(crate) async fn save(store: &Store, service: &Service) -> Result<(), AwsError> {
    store
        .execute(
            "UPDATE ecs_services SET body = ?, status = ? WHERE arn = ?",
            vec![service.body.to_string().into(), service.status().as_str().into(), service.arn.as_str().into()],
        )
        .await
        .map_err(internal)?;
    Ok(())
}

/// Writes a service's document and the status it holds, with `also` (its service deployment
/// records), in one transaction.
pub(crate) async fn save_with(store: &Store, service: &Service, also: Vec<Statement>) -> Result<(), AwsError> {
    if also.is_empty() {
        return save(store, service).await;
    }
    let mut statements = vec![Statement::new(
        "UPDATE ecs_services SET body = ?, status = ? WHERE arn = ?",
        vec![service.body.to_string().into(), service.status().as_str().into(), service.arn.as_str().into()],
    )];
    statements.extend(also);
    store.transaction(statements).await.map_err(internal)?;
    Ok(())
}

/// Records a new `ACTIVE` service (`reactivate`: over an `INACTIVE` one of the same ARN) and
/// its tags, with `also` (its first service deployment's records), in one transaction.
pub(crate) async fn create(
    store: &Store,
    account: &str,
    service: &Service,
    tags: &[(String, String)],
    now: i64,
    reactivate: bool,
    also: Vec<Statement>,
) -> Result<(), AwsError> {
    let active: Value = ServiceStatus::Active.as_str().into();
    let mut statements = vec![if reactivate {
        Statement::new(
            "UPDATE ecs_services SET status = ?, body = ?, created_at = ? WHERE arn = ?",
            vec![active, service.body.to_string().into(), Value::Int(now), service.arn.as_str().into()],
        )
    } else {
        Statement::new(
            "INSERT INTO ecs_services (arn, account_id, cluster_arn, name, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            vec![
                service.arn.as_str().into(),
                account.into(),
                service.cluster_arn.as_str().into(),
                service.name.as_str().into(),
                active,
                service.body.to_string().into(),
                Value::Int(now),
            ],
        )
    }];
    statements.extend(ecs::set_tags(account, &service.arn, tags));
    statements.extend(also);
    store.transaction(statements).await.map_err(internal)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;
    use crate::ecs::model::container_instance::tests::{ACCOUNT, CLUSTER, temp_store};

    fn service(name: &str) -> Service {
        Service {
            arn: format!("arn:aws:ecs:us-east-1:111122223333:service/edge/{name}"),
            cluster_arn: CLUSTER.to_owned(),
            name: name.to_owned(),
            body: json!({"serviceName": name, "status": "ACTIVE"}),
        }
    }

    #[test]
    fn statuses_round_trip_and_a_document_without_one_is_active() {
        for status in [ServiceStatus::Active, ServiceStatus::Draining, ServiceStatus::Inactive] {
            assert_eq!(ServiceStatus::parse(Some(status.as_str())), status);
        }
        assert_eq!(ServiceStatus::parse(None), ServiceStatus::Active);
        let mut bare = service("web");
        bare.body = json!({});
        assert_eq!(bare.status(), ServiceStatus::Active);
    }

    #[tokio::test]
    async fn a_service_is_listed_until_inactive_and_can_be_created_again_over_an_inactive_one() {
        let temp = temp_store().await;
        let store = &temp.store;
        let (mut web, db) = (service("web"), service("db"));
        create(store, ACCOUNT, &web, &[("team".to_owned(), "a".to_owned())], 10, false, Vec::new()).await.unwrap();
        create(store, ACCOUNT, &db, &[], 10, false, Vec::new()).await.unwrap();
        assert!(create(store, ACCOUNT, &db, &[], 11, false, Vec::new()).await.is_err(), "one row per ARN");
        let names = |services: Vec<Service>| services.into_iter().map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(names(of_cluster(store, CLUSTER).await.unwrap()), ["db", "web"]);
        assert_eq!(find_in_account(store, ACCOUNT, &web.arn).await.unwrap().unwrap().name, "web");
        assert!(find_in_account(store, "999988887777", &web.arn).await.unwrap().is_none());

        ecs::put(&mut web.body, "status", ServiceStatus::Draining.as_str());
        save(store, &web).await.unwrap();
        assert_eq!(names(all_live(store).await.unwrap()).len(), 2, "a draining service is still visited");
        ecs::put(&mut web.body, "status", ServiceStatus::Inactive.as_str());
        save(store, &web).await.unwrap();
        assert_eq!(names(of_cluster(store, CLUSTER).await.unwrap()), ["db"]);
        let column =
            store.query("SELECT status FROM ecs_services WHERE arn = ?", vec![web.arn.as_str().into()]).await.unwrap();
        assert_eq!(column[0].text(0).unwrap(), "INACTIVE", "the column follows the document");
        assert_eq!(find(store, &web.arn).await.unwrap().unwrap().status(), ServiceStatus::Inactive);

        create(store, ACCOUNT, &service("web"), &[], 20, true, Vec::new()).await.unwrap();
        assert_eq!(find(store, &web.arn).await.unwrap().unwrap().status(), ServiceStatus::Active);
        assert_eq!(names(all_live(store).await.unwrap()), ["db", "web"]);
    }
}
