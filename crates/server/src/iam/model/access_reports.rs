//! Access advisor's reports (service last accessed data): what a report holds, how it is made
//! from what the subject's permissions policies allow and what its entities did, and every
//! statement on `access_advisor_jobs`, where each is kept whole as JSON.
//!
//! Guarantees:
//! - A report is made once, when its job starts, and never changes: every page of every read
//!   answers from the same report.
//! - A job is read only by the principal that started it ([`find`] asks for both the job and
//!   its owner), so another caller cannot tell it from a job that does not exist.
//! - A service's last access is the latest attempt, allowed or denied, by any of the report's
//!   entities at any action of the service within the tracking window; an action's, at that
//!   action. Nothing outside the report's entities is read.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use store::{Store, Value};

use super::Error;
use super::service_access::{Allowed, service_name};
use super::usage::LastAccess;

/// How much a report says: services only, or their tracked actions too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Granularity {
    ServiceLevel,
    ActionLevel,
}

impl Granularity {
    pub(crate) const ALL: [Granularity; 2] = [Granularity::ServiceLevel, Granularity::ActionLevel];

    /// The word IAM uses (`AccessAdvisorUsageGranularityType`), and the stored one.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Granularity::ServiceLevel => "SERVICE_LEVEL",
            Granularity::ActionLevel => "ACTION_LEVEL",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Granularity> {
        Granularity::ALL.into_iter().find(|granularity| granularity.as_str() == text)
    }
}

/// A user or role whose use a report counts (a group's members, a policy's users and roles).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReportEntity {
    pub arn: String,
    pub name: String,
    /// `USER` or `ROLE` (IAM's `policyOwnerEntityType`).
    pub kind: String,
    pub id: String,
    pub path: String,
}

/// The last attempt at a service or action: when, by whom (an ARN) and from which region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Access {
    pub time: i64,
    pub entity: String,
    pub region: String,
}

/// When one of the report's entities last attempted a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EntityAccess {
    /// Its place in [`Report::entities`].
    pub entity: usize,
    pub time: i64,
}

/// A tracked action the policies allow, and its last attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ActionReport {
    pub name: String,
    pub last: Option<Access>,
}

/// One service the policies allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ServiceReport {
    pub namespace: String,
    pub name: String,
    pub last: Option<Access>,
    /// The entities that attempted it, by their place in [`Report::entities`].
    pub entities: Vec<EntityAccess>,
    /// The allowed tracked actions, by name (action-level reports only).
    pub actions: Option<Vec<ActionReport>>,
}

/// A whole report: its entities, and the services allowed, by namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Report {
    pub entities: Vec<ReportEntity>,
    pub services: Vec<ServiceReport>,
}

/// One entity's last attempt at one action, placed in the report.
struct Attempt<'a> {
    entity: usize,
    /// Lowercase.
    service: String,
    /// Lowercase, after the colon.
    action: String,
    access: &'a LastAccess,
}

impl Report {
    /// The report of the services `allowed` lists, from the `accesses` of `entities` (each
    /// with its principal id, as `iam_usage` knows it).
    pub(crate) fn build(
        allowed: &Allowed<'_>,
        granularity: Granularity,
        entities: Vec<(String, ReportEntity)>,
        accesses: &[LastAccess],
    ) -> Report {
        let place: HashMap<&str, usize> =
            entities.iter().enumerate().map(|(index, (principal, _))| (principal.as_str(), index)).collect();
        let attempts: Vec<Attempt<'_>> = accesses
            .iter()
            .filter_map(|access| {
                let entity = *place.get(access.principal_id.as_str())?;
                let (service, action) = access.action.split_once(':')?;
                Some(Attempt {
                    entity,
                    service: service.to_ascii_lowercase(),
                    action: action.to_ascii_lowercase(),
                    access,
                })
            })
            .collect();
        let arn = |entity: usize| entities.get(entity).map(|(_, entity)| entity.arn.as_str()).unwrap_or_default();
        // The latest of some attempts (of equally late ones, the greatest ARN's).
        let latest = |of: Vec<&Attempt<'_>>| {
            of.into_iter().max_by_key(|attempt| (attempt.access.time, arn(attempt.entity))).map(|attempt| Access {
                time: attempt.access.time,
                entity: arn(attempt.entity).to_owned(),
                region: attempt.access.region.clone(),
            })
        };
        let services = allowed
            .namespaces()
            .into_iter()
            .map(|namespace| {
                let of_service: Vec<&Attempt<'_>> =
                    attempts.iter().filter(|attempt| attempt.service == namespace).collect();
                let mut by_entity: Vec<EntityAccess> = Vec::new();
                for attempt in &of_service {
                    match by_entity.iter_mut().find(|seen| seen.entity == attempt.entity) {
                        Some(seen) => seen.time = seen.time.max(attempt.access.time),
                        None => by_entity.push(EntityAccess { entity: attempt.entity, time: attempt.access.time }),
                    }
                }
                by_entity.sort_by_key(|seen| seen.entity);
                let actions = (granularity == Granularity::ActionLevel).then(|| {
                    allowed
                        .actions(&namespace)
                        .into_iter()
                        .map(|name| {
                            let lowercase = name.to_ascii_lowercase();
                            let of_action =
                                of_service.iter().copied().filter(|attempt| attempt.action == lowercase).collect();
                            ActionReport { name: name.to_owned(), last: latest(of_action) }
                        })
                        .collect()
                });
                ServiceReport {
                    name: service_name(&namespace),
                    last: latest(of_service),
                    entities: by_entity,
                    actions,
                    namespace,
                }
            })
            .collect();
        Report { entities: entities.into_iter().map(|(_, entity)| entity).collect(), services }
    }
}

/// A report job, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Job {
    pub id: String,
    /// The `aws:userid` of the principal that started it.
    pub owner_id: String,
    /// The user, group, role or policy it is about.
    pub arn: String,
    pub granularity: Granularity,
    pub created_at: i64,
    pub completed_at: i64,
    pub report: Report,
}

/// Records a job with its report.
pub(crate) async fn insert(store: &Store, account: &str, job: &Job) -> Result<(), Error> {
    let report = serde_json::to_string(&job.report).map_err(|error| Error::Failed(error.to_string()))?;
    store
        .execute(
            "INSERT INTO access_advisor_jobs (job_id, account_id, owner_id, arn, granularity, created_at, completed_at, report)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                job.id.as_str().into(),
                account.into(),
                job.owner_id.as_str().into(),
                job.arn.as_str().into(),
                job.granularity.as_str().into(),
                Value::Int(job.created_at),
                Value::Int(job.completed_at),
                report.into(),
            ],
        )
        .await?;
    Ok(())
}

/// The job `id` of the account, if `owner_id` started it.
pub(crate) async fn find(store: &Store, account: &str, id: &str, owner_id: &str) -> Result<Option<Job>, Error> {
    let rows = store
        .query(
            "SELECT job_id, owner_id, arn, granularity, created_at, completed_at, report FROM access_advisor_jobs
             WHERE job_id = ? AND account_id = ? AND owner_id = ?",
            vec![id.into(), account.into(), owner_id.into()],
        )
        .await?;
    let Some(row) = rows.first() else { return Ok(None) };
    let word = row.text(3)?;
    let granularity = Granularity::parse(&word).ok_or_else(|| Error::Failed(format!("a job of granularity {word}")))?;
    let report =
        serde_json::from_str(&row.text(6)?).map_err(|error| Error::Failed(format!("a job's report: {error}")))?;
    Ok(Some(Job {
        id: row.text(0)?,
        owner_id: row.text(1)?,
        arn: row.text(2)?,
        granularity,
        created_at: row.int(4)?,
        completed_at: row.int(5)?,
        report,
    }))
}

/// Removes the jobs started before `before`; how many.
pub(crate) async fn expire(store: &Store, before: i64) -> Result<u64, Error> {
    Ok(store.execute("DELETE FROM access_advisor_jobs WHERE created_at < ?", vec![Value::Int(before)]).await?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use iam_policy::Policy;

    use super::*;
    use crate::iam::model::service_access::Tracked;
    use crate::testing::{ACCOUNT, temp_store};

    fn entity(kind: &str, name: &str) -> (String, ReportEntity) {
        let (noun, prefix) = if kind == "USER" { ("user", "AIDA") } else { ("role", "AROA") };
        let id = format!("{prefix}{}", name.to_uppercase());
        let arn = format!("arn:aws:iam::{ACCOUNT}:{noun}/{name}");
        (id.clone(), ReportEntity { arn, name: name.to_owned(), kind: kind.to_owned(), id, path: "/".to_owned() })
    }

    fn attempt(principal: &str, action: &str, time: i64, region: &str) -> LastAccess {
        LastAccess { principal_id: principal.to_owned(), action: action.to_owned(), time, region: region.to_owned() }
    }

    fn last(time: i64, name: &str, region: &str) -> Option<Access> {
        Some(Access { time, entity: format!("arn:aws:iam::{ACCOUNT}:user/{name}"), region: region.to_owned() })
    }

    #[test]
    fn a_report_lists_the_services_allowed_with_the_last_attempt_of_its_entities() {
        let tracked =
            Tracked::new(["ecs:RunTask", "ecs:ListClusters", "logs:CreateLogGroup", "logs:DescribeLogGroups"]);
        let policy = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["ecs:*","logs:CreateLogGroup","s3:GetObject"],"Resource":"*"}}"#,
        )
        .unwrap();
        let allowed = Allowed::new([&policy], &tracked);
        let entities = vec![entity("USER", "ann"), entity("USER", "bob"), entity("ROLE", "ops")];
        let accesses = [
            attempt("AIDAANN", "ecs:RunTask", 100, "eu-west-1"),
            attempt("AIDABOB", "ecs:ListClusters", 300, "us-east-1"),
            attempt("AIDAANN", "ecs:ListClusters", 200, "eu-west-1"),
            // A denied attempt at an action the policy does not allow still counts for the
            // service, not as an action of the report.
            attempt("AIDAANN", "logs:DescribeLogGroups", 400, "us-west-2"),
            // Someone else's, and a service the policy does not allow.
            attempt("AIDACAROL", "ecs:RunTask", 900, "us-east-1"),
            attempt("AIDABOB", "iam:GetUser", 950, "us-east-1"),
        ];
        let report = Report::build(&allowed, Granularity::ActionLevel, entities.clone(), &accesses);
        assert_eq!(report.entities.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["ann", "bob", "ops"]);
        let services: Vec<&str> = report.services.iter().map(|s| s.namespace.as_str()).collect();
        assert_eq!(services, ["ecs", "logs", "s3"]);
        let [ecs, logs, s3] = &report.services[..] else { unreachable!() };
        assert_eq!(ecs.name, "Amazon Elastic Container Service");
        assert_eq!(ecs.last, last(300, "bob", "us-east-1"));
        assert_eq!(ecs.entities, [EntityAccess { entity: 0, time: 200 }, EntityAccess { entity: 1, time: 300 }]);
        assert_eq!(
            ecs.actions,
            Some(vec![
                ActionReport { name: "ListClusters".to_owned(), last: last(300, "bob", "us-east-1") },
                ActionReport { name: "RunTask".to_owned(), last: last(100, "ann", "eu-west-1") },
            ])
        );
        assert_eq!(logs.last, last(400, "ann", "us-west-2"));
        assert_eq!(logs.entities, [EntityAccess { entity: 0, time: 400 }]);
        assert_eq!(logs.actions, Some(vec![ActionReport { name: "CreateLogGroup".to_owned(), last: None }]));
        assert_eq!((s3.name.as_str(), &s3.last, s3.entities.len()), ("Amazon Simple Storage Service", &None, 0));
        assert_eq!(s3.actions, Some(Vec::new()), "no tracked action of a service Homeport does not serve");

        let services = Report::build(&allowed, Granularity::ServiceLevel, entities, &accesses).services;
        assert!(services.iter().all(|service| service.actions.is_none()), "services only");
        assert_eq!(services[0].last, ecs.last);
    }

    #[tokio::test]
    async fn a_job_is_found_only_by_its_owner_and_expires() {
        let temp = temp_store().await;
        let store = &temp.store;
        let report = Report {
            entities: vec![entity("USER", "ann").1],
            services: vec![ServiceReport {
                namespace: "ecs".to_owned(),
                name: "Amazon Elastic Container Service".to_owned(),
                last: last(5, "ann", "us-east-1"),
                entities: vec![EntityAccess { entity: 0, time: 5 }],
                actions: None,
            }],
        };
        let job = Job {
            id: "0e4c2a9e-1f7b-4c1d-a2b3-c4d5e6f70809".to_owned(),
            owner_id: "AIDAOWNER".to_owned(),
            arn: format!("arn:aws:iam::{ACCOUNT}:user/ann"),
            granularity: Granularity::ActionLevel,
            created_at: 1_000,
            completed_at: 1_000,
            report,
        };
        insert(store, ACCOUNT, &job).await.unwrap();
        assert_eq!(find(store, ACCOUNT, &job.id, "AIDAOWNER").await.unwrap(), Some(job.clone()));
        assert_eq!(find(store, ACCOUNT, &job.id, "AIDAOTHER").await.unwrap(), None, "only its owner reads it");
        assert_eq!(find(store, "999988887777", &job.id, "AIDAOWNER").await.unwrap(), None);
        assert_eq!(find(store, ACCOUNT, "no-such-job", "AIDAOWNER").await.unwrap(), None);
        assert_eq!(expire(store, 1_000).await.unwrap(), 0);
        assert_eq!(expire(store, 1_001).await.unwrap(), 1);
        assert_eq!(find(store, ACCOUNT, &job.id, "AIDAOWNER").await.unwrap(), None);
        for granularity in Granularity::ALL {
            assert_eq!(Granularity::parse(granularity.as_str()), Some(granularity));
        }
        assert_eq!(Granularity::parse("service_level"), None);
    }
}
