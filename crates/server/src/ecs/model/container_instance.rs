//! The container-instance model: a managed instance (`mi-...`) registered in a cluster, its
//! status, what it registered (`Spec`, parsed once per change), what its tasks reserve, and
//! the SQL that reads and writes `ecs_container_instances`.
//!
//! Guarantees: a status is one of ECS's words (`ContainerInstanceStatus`), stored and answered
//! as ECS spells it; remaining resources are the registered ones less the counters that the
//! task transactions keep (`model::task`); every change of a registration or its attributes
//! moves `spec_revision`, so a cached `Spec` is never older than the row.

use std::collections::HashMap;
use std::sync::Arc;

use aws_protocol::AwsError;
use serde_json::Value as Json;
use store::{Store, Value};

use crate::ecs::query::Subject;
use crate::ids;
use crate::operations::internal;

/// A container instance's status, as ECS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContainerInstanceStatus {
    Active,
    Draining,
    /// Deregistered: kept for DescribeContainerInstances, takes and runs nothing.
    Inactive,
    Registering,
    Deregistering,
    RegistrationFailed,
}

impl ContainerInstanceStatus {
    pub(crate) const ALL: [ContainerInstanceStatus; 6] = [
        ContainerInstanceStatus::Active,
        ContainerInstanceStatus::Draining,
        ContainerInstanceStatus::Inactive,
        ContainerInstanceStatus::Registering,
        ContainerInstanceStatus::Deregistering,
        ContainerInstanceStatus::RegistrationFailed,
    ];

    /// The word ECS uses (stored and answered as is).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ContainerInstanceStatus::Active => "ACTIVE",
            ContainerInstanceStatus::Draining => "DRAINING",
            ContainerInstanceStatus::Inactive => "INACTIVE",
            ContainerInstanceStatus::Registering => "REGISTERING",
            ContainerInstanceStatus::Deregistering => "DEREGISTERING",
            ContainerInstanceStatus::RegistrationFailed => "REGISTRATION_FAILED",
        }
    }

    /// The status `word` names, if it is one.
    pub(crate) fn parse(word: &str) -> Option<ContainerInstanceStatus> {
        ContainerInstanceStatus::ALL.into_iter().find(|status| status.as_str() == word)
    }

    /// A stored status (an unknown word is an internal error, never guessed at).
    fn stored(word: &str) -> Result<ContainerInstanceStatus, AwsError> {
        ContainerInstanceStatus::parse(word)
            .ok_or_else(|| internal(format!("unknown container instance status `{word}`")))
    }

    /// Whether the instance is still registered (every status but `INACTIVE`).
    pub(crate) fn is_registered(self) -> bool {
        self != ContainerInstanceStatus::Inactive
    }

    /// The statuses UpdateContainerInstancesState may set.
    pub(crate) fn settable(self) -> bool {
        matches!(self, ContainerInstanceStatus::Active | ContainerInstanceStatus::Draining)
    }
}

/// An agent is connected while it has polled within this many seconds.
pub(crate) const AGENT_CONNECTED_SECONDS: i64 = 60;

/// What a container instance registered (resources, attributes, versions), parsed once per
/// change and shared: placement reads it for every instance on every call.
#[derive(Debug)]
pub(crate) struct Spec {
    pub resources: Json,
    pub attributes: Json,
    pub version_info: Json,
    cpu: i64,
    memory: i64,
    pub(crate) ports: Vec<String>,
    udp_ports: Vec<String>,
    /// `(name, value)` of each attribute (`""` for one without a value).
    attribute_values: Vec<(String, String)>,
    /// The `spec_revision` it was parsed at.
    revision: i64,
}

impl Spec {
    /// The spec of registered resources and attributes given as JSON.
    #[cfg(test)]
    pub(crate) fn from_json(resources: &Json, attributes: &Json) -> Result<Spec, AwsError> {
        Spec::parse([resources.to_string(), attributes.to_string(), "{}".to_owned()], 0)
    }

    fn parse(texts: [String; 3], revision: i64) -> Result<Spec, AwsError> {
        let [resources, attributes, version_info] = &texts;
        let parse = |text: &str| serde_json::from_str::<Json>(text).map_err(internal);
        let (resources, attributes, version_info) = (parse(resources)?, parse(attributes)?, parse(version_info)?);
        let integer =
            |name| resource(&resources, name).and_then(|r| r.get("integerValue")).and_then(Json::as_i64).unwrap_or(0);
        let set = |name| -> Vec<String> {
            resource(&resources, name)
                .and_then(|r| r.get("stringSetValue"))
                .and_then(Json::as_array)
                .map(|ports| ports.iter().filter_map(Json::as_str).map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let attribute_values = attributes
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let name = a.get("name").and_then(Json::as_str)?;
                Some((name.to_owned(), a.get("value").and_then(Json::as_str).unwrap_or_default().to_owned()))
            })
            .collect();
        Ok(Spec {
            cpu: integer("CPU"),
            memory: integer("MEMORY"),
            ports: set("PORTS"),
            udp_ports: set("PORTS_UDP"),
            attribute_values,
            resources,
            attributes,
            version_info,
            revision,
        })
    }
}

/// Parsed specs by container instance ARN, reused while the instance's `spec_revision` (which
/// every change of its registration or attributes moves) is the same.
#[derive(Debug, Default)]
pub(crate) struct SpecCache {
    specs: std::sync::Mutex<HashMap<String, Arc<Spec>>>,
}

impl SpecCache {
    fn cached(&self, arn: &str, revision: i64) -> Option<Arc<Spec>> {
        let specs = match self.specs.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        specs.get(arn).filter(|spec| spec.revision == revision).cloned()
    }

    fn store(&self, arn: &str, spec: Arc<Spec>) {
        let mut specs = match self.specs.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        specs.insert(arn.to_owned(), spec);
    }

    /// The spec of `arn` at `revision`, read from the store if it is not cached.
    async fn get(&self, store: &Store, arn: &str, revision: i64) -> Result<Arc<Spec>, AwsError> {
        if let Some(spec) = self.cached(arn, revision) {
            return Ok(spec);
        }
        let rows = store
            .query(
                "SELECT registered_resources, attributes, version_info, spec_revision FROM ecs_container_instances WHERE arn = ?",
                vec![arn.into()],
            )
            .await
            .map_err(internal)?;
        let row = rows.first().ok_or_else(|| internal("container instance vanished"))?;
        let texts = [row.text(0).map_err(internal)?, row.text(1).map_err(internal)?, row.text(2).map_err(internal)?];
        let spec = Arc::new(Spec::parse(texts, row.int(3).map_err(internal)?)?);
        self.store(arn, Arc::clone(&spec));
        Ok(spec)
    }
}

/// A stored container instance.
#[derive(Debug, Clone)]
pub(crate) struct ContainerInstance {
    pub arn: String,
    pub instance_id: String,
    pub status: ContainerInstanceStatus,
    pub status_reason: Option<String>,
    pub spec: Arc<Spec>,
    pub registered_at: i64,
    pub last_poll_at: Option<i64>,
}

impl ContainerInstance {
    const COLUMNS: &str = "arn, instance_id, status, status_reason, spec_revision, registered_at, last_poll_at,
                           reserved_cpu, reserved_memory, running_tasks, pending_tasks";

    async fn from_row(store: &Store, specs: &SpecCache, row: &store::Row) -> Result<ContainerInstance, AwsError> {
        let arn = row.text(0).map_err(internal)?;
        Ok(ContainerInstance {
            spec: specs.get(store, &arn, row.int(4).map_err(internal)?).await?,
            arn,
            instance_id: row.text(1).map_err(internal)?,
            status: ContainerInstanceStatus::stored(&row.text(2).map_err(internal)?)?,
            status_reason: row.opt_text(3).map_err(internal)?,
            registered_at: row.int(5).map_err(internal)?,
            last_poll_at: row.opt_int(6).map_err(internal)?,
        })
    }

    /// What the instance's unstopped tasks hold, from its counters (no ports or groups).
    fn counters(row: &store::Row) -> Result<Reserved, AwsError> {
        Ok(Reserved {
            cpu: row.int(7).map_err(internal)?,
            memory: row.int(8).map_err(internal)?,
            running: row.int(9).map_err(internal)?,
            pending: row.int(10).map_err(internal)?,
            ..Reserved::default()
        })
    }

    pub(crate) fn connected(&self, now: i64) -> bool {
        self.last_poll_at.is_some_and(|at| now - at <= AGENT_CONNECTED_SECONDS)
    }

    /// Registered CPU units.
    pub(crate) fn cpu(&self) -> i64 {
        self.spec.cpu
    }

    /// Registered memory, MiB.
    pub(crate) fn memory(&self) -> i64 {
        self.spec.memory
    }

    /// Host ports the agent reserves: TCP ones as numbers, UDP ones as `N/udp`.
    pub(crate) fn reserved_ports(&self) -> impl Iterator<Item = String> + '_ {
        self.spec.ports.iter().cloned().chain(self.spec.udp_ports.iter().map(|p| format!("{p}/udp")))
    }

    pub(crate) fn attribute(&self, name: &str) -> Option<&str> {
        self.spec.attribute_values.iter().find(|(n, _)| n == name).map(|(_, value)| value.as_str())
    }
}

pub(crate) fn resource<'a>(resources: &'a Json, name: &str) -> Option<&'a Json> {
    resources.as_array()?.iter().find(|r| r.get("name").and_then(Json::as_str) == Some(name))
}

/// What the unstopped tasks on an instance hold.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reserved {
    pub cpu: i64,
    pub memory: i64,
    pub ports: Vec<String>,
    pub running: i64,
    pub pending: i64,
    pub groups: Vec<String>,
}

/// An instance as the query language and the scheduler see it.
pub(crate) struct Candidate<'a> {
    pub instance: &'a ContainerInstance,
    pub reserved: &'a Reserved,
    pub now: i64,
}

impl Subject for Candidate<'_> {
    fn value(&self, subject: &str) -> Option<Vec<String>> {
        let one = |value: String| Some(vec![value]);
        match subject {
            "agentConnected" => one(self.instance.connected(self.now).to_string()),
            "agentVersion" => {
                self.instance.spec.version_info.get("agentVersion").and_then(Json::as_str).map(|v| vec![v.to_owned()])
            }
            "ec2InstanceId" => one(self.instance.instance_id.clone()),
            "registeredAt" => one(ids::iso8601(self.instance.registered_at)),
            "runningTasksCount" => one(self.reserved.running.to_string()),
            "task:group" => Some(self.reserved.groups.clone()),
            other => other
                .strip_prefix("attribute:")
                .and_then(|name| self.instance.attribute(name))
                .map(|v| vec![v.to_owned()]),
        }
    }
}

/// One container instance of `account` by ARN, in any status.
pub(crate) async fn find_instance(
    store: &Store,
    specs: &SpecCache,
    account: &str,
    arn: &str,
) -> Result<Option<ContainerInstance>, AwsError> {
    let rows = store
        .query(
            &format!(
                "SELECT {} FROM ecs_container_instances WHERE arn = ? AND account_id = ?",
                ContainerInstance::COLUMNS
            ),
            vec![arn.into(), account.into()],
        )
        .await
        .map_err(internal)?;
    match rows.first() {
        Some(row) => Ok(Some(ContainerInstance::from_row(store, specs, row).await?)),
        None => Ok(None),
    }
}

/// Which task groups `instances_where` should count per instance.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Groups<'a> {
    None,
    /// Only this group (what distinctInstance needs).
    Only(&'a str),
    /// Every group (what `task:group` expressions need).
    All,
}

/// Which container instances of a cluster to read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Which<'a> {
    /// Every one, in any status.
    All,
    /// Those with these ARNs (any status), at most the hundred a request names.
    Arns(&'a [String]),
    /// Those that may take a task: `ACTIVE`, with an agent that polled at `connected_since`
    /// or later (`ContainerInstance::connected`).
    Candidates { connected_since: i64 },
}

/// The instances of the cluster `which` names, by ARN, and what their tasks reserve: CPU,
/// memory and task counts from each instance's counters (kept in the transactions that
/// create and stop tasks), host ports from the tasks that hold some (only with `ports`:
/// only placing a task with fixed host ports and describing an instance need them), groups
/// as asked. Tasks are read through the cluster's partial index of live tasks with host
/// ports and its index by group, never through an instance's whole history of tasks.
pub(crate) async fn instances_where(
    store: &Store,
    specs: &SpecCache,
    cluster_arn: &str,
    which: Which<'_>,
    groups: Groups<'_>,
    ports: bool,
) -> Result<(Vec<ContainerInstance>, HashMap<String, Reserved>), AwsError> {
    let rows = match which {
        Which::All => instance_rows(store, cluster_arn, "", Vec::new()).await?,
        Which::Arns(arns) => {
            let mut rows = Vec::new();
            for some in arns.chunks(IN_LIST) {
                let params = some.iter().map(|arn| Value::from(arn.as_str())).collect();
                rows.extend(
                    instance_rows(store, cluster_arn, &format!(" AND arn IN ({})", marks(some.len())), params).await?,
                );
            }
            if arns.len() > IN_LIST {
                rows.sort_by_key(|row| row.text(0).ok());
            }
            rows
        }
        Which::Candidates { connected_since } => {
            let params = vec![ContainerInstanceStatus::Active.as_str().into(), Value::Int(connected_since)];
            instance_rows(store, cluster_arn, " AND status = ? AND last_poll_at >= ?", params).await?
        }
    };
    let mut instances = Vec::with_capacity(rows.len());
    let mut reserved: HashMap<String, Reserved> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let instance = ContainerInstance::from_row(store, specs, row).await?;
        reserved.insert(instance.arn.clone(), ContainerInstance::counters(row)?);
        instances.push(instance);
    }
    // What their tasks hold, through the cluster's indexes: the partial index of live tasks
    // with fixed host ports (at most one per port of an instance), the index by group;
    // tasks on instances not read are skipped.
    let read: std::collections::HashSet<&str> = instances.iter().map(|i| i.arn.as_str()).collect();
    // The literals match the partial index `ecs_tasks_with_ports` (TaskStatus::Stopped).
    const LIVE: &str = "cluster_arn = ? AND last_status <> 'STOPPED' AND container_instance_arn IS NOT NULL";
    let mut held: HashMap<String, Reserved> = HashMap::new();
    if ports {
        let rows = store
            .query(
                &format!(
                    "SELECT container_instance_arn, reserved_ports FROM ecs_tasks WHERE {LIVE} AND reserved_ports <> '[]'"
                ),
                vec![cluster_arn.into()],
            )
            .await
            .map_err(internal)?;
        for row in &rows {
            let instance = row.text(0).map_err(internal)?;
            if !read.contains(instance.as_str()) {
                continue;
            }
            let ports: Vec<String> = serde_json::from_str(&row.text(1).map_err(internal)?).map_err(internal)?;
            held.entry(instance).or_default().ports.extend(ports);
        }
    }
    let (filter, params): (&str, Vec<Value>) = match groups {
        Groups::None => ("", Vec::new()),
        Groups::Only(group) => (" AND task_group = ?", vec![cluster_arn.into(), group.into()]),
        Groups::All => (" AND task_group IS NOT NULL", vec![cluster_arn.into()]),
    };
    if !params.is_empty() {
        let counted = store
            .query(
                &format!(
                    "SELECT container_instance_arn, task_group, COUNT(*) FROM ecs_tasks WHERE {LIVE}{filter}
                     GROUP BY container_instance_arn, task_group"
                ),
                params,
            )
            .await
            .map_err(internal)?;
        for row in &counted {
            let instance = row.text(0).map_err(internal)?;
            if !read.contains(instance.as_str()) {
                continue;
            }
            let group = row.text(1).map_err(internal)?;
            let count = usize::try_from(row.int(2).map_err(internal)?).unwrap_or(0);
            held.entry(instance).or_default().groups.extend(std::iter::repeat_n(group, count));
        }
    }
    for (instance, tasks) in held {
        let entry = reserved.entry(instance).or_default();
        entry.ports.extend(tasks.ports);
        entry.groups.extend(tasks.groups);
    }
    Ok((instances, reserved))
}

/// ARNs per `IN (...)` list: well under either store's limit on parameters.
const IN_LIST: usize = 100;

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The rows of the cluster's instances that `condition` (`AND ...`, with `params`) keeps, by ARN.
async fn instance_rows(
    store: &Store,
    cluster_arn: &str,
    condition: &str,
    params: Vec<Value>,
) -> Result<Vec<store::Row>, AwsError> {
    let mut all: Vec<Value> = vec![cluster_arn.into()];
    all.extend(params);
    store
        .query(
            &format!(
                "SELECT {} FROM ecs_container_instances WHERE cluster_arn = ?{condition} ORDER BY arn",
                ContainerInstance::COLUMNS
            ),
            all,
        )
        .await
        .map_err(internal)
}

/// The registration a managed instance holds in a cluster (any status but `INACTIVE`).
pub(crate) async fn registration_of(
    store: &Store,
    specs: &SpecCache,
    cluster_arn: &str,
    instance_id: &str,
) -> Result<Option<ContainerInstance>, AwsError> {
    let rows = store
        .query(
            &format!(
                "SELECT {} FROM ecs_container_instances WHERE cluster_arn = ? AND instance_id = ? AND status <> ?",
                ContainerInstance::COLUMNS
            ),
            vec![cluster_arn.into(), instance_id.into(), ContainerInstanceStatus::Inactive.as_str().into()],
        )
        .await
        .map_err(internal)?;
    match rows.first() {
        Some(row) => Ok(Some(ContainerInstance::from_row(store, specs, row).await?)),
        None => Ok(None),
    }
}

/// What a registration records: resources, attributes and the agent's versions (JSON).
pub(crate) struct Registration<'a> {
    pub resources: &'a Json,
    pub attributes: &'a Json,
    pub version_info: &'a Json,
    pub now: i64,
}

/// Records a new `ACTIVE` container instance.
pub(crate) async fn insert(
    store: &Store,
    account: &str,
    arn: &str,
    cluster_arn: &str,
    instance_id: &str,
    registration: &Registration<'_>,
) -> Result<(), AwsError> {
    store
        .execute(
            "INSERT INTO ecs_container_instances (arn, account_id, cluster_arn, instance_id, status, registered_resources,
                                                  attributes, version_info, registered_at, last_poll_at, acked_seq)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            vec![
                arn.into(),
                account.into(),
                cluster_arn.into(),
                instance_id.into(),
                ContainerInstanceStatus::Active.as_str().into(),
                registration.resources.to_string().into(),
                registration.attributes.to_string().into(),
                registration.version_info.to_string().into(),
                Value::Int(registration.now),
                Value::Int(registration.now),
            ],
        )
        .await
        .map_err(internal)?;
    Ok(())
}

/// Records a registration again (an agent restarted): the same container instance, its
/// tasks kept, its spec renewed.
pub(crate) async fn reregister(store: &Store, arn: &str, registration: &Registration<'_>) -> Result<(), AwsError> {
    store
        .execute(
            "UPDATE ecs_container_instances SET registered_resources = ?, attributes = ?, version_info = ?, last_poll_at = ?,
                    spec_revision = spec_revision + 1 WHERE arn = ?",
            vec![
                registration.resources.to_string().into(),
                registration.attributes.to_string().into(),
                registration.version_info.to_string().into(),
                Value::Int(registration.now),
                arn.into(),
            ],
        )
        .await
        .map_err(internal)?;
    Ok(())
}

/// Sets an instance's status (`INACTIVE` deregisters it).
pub(crate) async fn set_status(store: &Store, arn: &str, status: ContainerInstanceStatus) -> Result<(), AwsError> {
    store
        .execute(
            "UPDATE ecs_container_instances SET status = ? WHERE arn = ?",
            vec![status.as_str().into(), arn.into()],
        )
        .await
        .map_err(internal)?;
    Ok(())
}

/// Replaces an instance's attributes (a JSON list of `{name, value}`).
pub(crate) async fn set_attributes(store: &Store, arn: &str, attributes: &Json) -> Result<(), AwsError> {
    store
        .execute(
            "UPDATE ecs_container_instances SET attributes = ?, spec_revision = spec_revision + 1 WHERE arn = ?",
            vec![attributes.to_string().into(), arn.into()],
        )
        .await
        .map_err(internal)?;
    Ok(())
}

/// Records that the instance polled at `now`, having applied sequence number `acked`.
pub(crate) async fn record_poll(store: &Store, arn: &str, now: i64, acked: i64) -> Result<(), AwsError> {
    store
        .execute(
            "UPDATE ecs_container_instances SET last_poll_at = ?, acked_seq = ? WHERE arn = ?",
            vec![Value::Int(now), Value::Int(acked), arn.into()],
        )
        .await
        .map_err(internal)?;
    Ok(())
}

/// The managed instance (`mi-...`) a container instance belongs to, in any status.
pub(crate) async fn owner(store: &Store, arn: &str) -> Result<Option<String>, AwsError> {
    Ok(store
        .query("SELECT instance_id FROM ecs_container_instances WHERE arn = ?", vec![arn.into()])
        .await
        .map_err(internal)?
        .first()
        .and_then(|row| row.text(0).ok()))
}

/// Whether the container instance exists and is still registered.
pub(crate) async fn is_registered(store: &Store, arn: &str) -> Result<bool, AwsError> {
    Ok(!store
        .query(
            "SELECT 1 FROM ecs_container_instances WHERE arn = ? AND status <> ?",
            vec![arn.into(), ContainerInstanceStatus::Inactive.as_str().into()],
        )
        .await
        .map_err(internal)?
        .is_empty())
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;

    pub(crate) use crate::testing::temp_store;

    pub(crate) use crate::testing::ACCOUNT;
    pub(crate) const CLUSTER: &str = "arn:aws:ecs:us-east-1:111122223333:cluster/edge";

    pub(crate) fn instance_arn(id: &str) -> String {
        format!("arn:aws:ecs:us-east-1:111122223333:container-instance/edge/{id}")
    }

    /// Registers `mi-ID` with 1024 CPU units and 2048 MiB.
    pub(crate) async fn register(store: &Store, id: &str) -> String {
        let arn = instance_arn(id);
        let resources = json!([
            {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048},
        ]);
        let registration =
            Registration { resources: &resources, attributes: &json!([]), version_info: &json!({}), now: 1000 };
        insert(store, ACCOUNT, &arn, CLUSTER, &format!("mi-{id}"), &registration).await.unwrap();
        arn
    }

    #[test]
    fn statuses_round_trip_through_their_words() {
        for status in ContainerInstanceStatus::ALL {
            assert_eq!(ContainerInstanceStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(
            ContainerInstanceStatus::parse("REGISTRATION_FAILED"),
            Some(ContainerInstanceStatus::RegistrationFailed)
        );
        assert_eq!(ContainerInstanceStatus::parse("active"), None, "words are case-sensitive, as ECS's");
        assert!(ContainerInstanceStatus::stored("GONE").is_err());
        let settable: Vec<_> = ContainerInstanceStatus::ALL.into_iter().filter(|s| s.settable()).collect();
        assert_eq!(settable, [ContainerInstanceStatus::Active, ContainerInstanceStatus::Draining]);
        assert!(!ContainerInstanceStatus::Inactive.is_registered());
        assert!(ContainerInstanceStatus::Draining.is_registered());
    }

    #[tokio::test]
    async fn a_registration_is_found_by_arn_and_by_its_managed_instance_until_deregistered() {
        let temp = temp_store().await;
        let (store, specs) = (&temp.store, SpecCache::default());
        let arn = register(store, "a").await;
        let found = find_instance(store, &specs, ACCOUNT, &arn).await.unwrap().unwrap();
        assert_eq!(
            (found.status, found.instance_id.as_str(), found.cpu(), found.memory()),
            (ContainerInstanceStatus::Active, "mi-a", 1024, 2048)
        );
        assert!(find_instance(store, &specs, "999988887777", &arn).await.unwrap().is_none(), "another account's");
        assert_eq!(registration_of(store, &specs, CLUSTER, "mi-a").await.unwrap().unwrap().arn, arn);
        assert_eq!(owner(store, &arn).await.unwrap().as_deref(), Some("mi-a"));
        assert!(is_registered(store, &arn).await.unwrap());

        set_status(store, &arn, ContainerInstanceStatus::Draining).await.unwrap();
        assert_eq!(
            find_instance(store, &specs, ACCOUNT, &arn).await.unwrap().unwrap().status,
            ContainerInstanceStatus::Draining
        );
        assert!(is_registered(store, &arn).await.unwrap(), "a draining instance is still registered");
        set_status(store, &arn, ContainerInstanceStatus::Inactive).await.unwrap();
        assert!(registration_of(store, &specs, CLUSTER, "mi-a").await.unwrap().is_none());
        assert!(!is_registered(store, &arn).await.unwrap());
        assert_eq!(owner(store, &arn).await.unwrap().as_deref(), Some("mi-a"), "kept for describing");
        let stored = store
            .query("SELECT status FROM ecs_container_instances WHERE arn = ?", vec![arn.as_str().into()])
            .await
            .unwrap();
        assert_eq!(stored[0].text(0).unwrap(), "INACTIVE", "the stored word is ECS's");
    }

    #[tokio::test]
    async fn some_instances_are_read_by_arn_or_as_candidates_with_what_their_tasks_hold() {
        let temp = temp_store().await;
        let (store, specs) = (&temp.store, SpecCache::default());
        let (a, b, c) = (register(store, "a").await, register(store, "b").await, register(store, "c").await);
        record_poll(store, &a, 2000, 0).await.unwrap();
        record_poll(store, &c, 2000, 0).await.unwrap();
        set_status(store, &c, ContainerInstanceStatus::Draining).await.unwrap();
        store
            .execute(
                "INSERT INTO ecs_tasks (arn, account_id, cluster_arn, container_instance_arn, task_definition_arn, task_group,
                                        desired_status, last_status, body, payload, version, reserved_cpu, reserved_memory,
                                        reserved_ports, created_at, updated_seq)
                 VALUES ('t', ?, ?, ?, 'd', 'family:web', 'RUNNING', 'PENDING', '{}', '{}', 0, 0, 0, '[\"80\"]', 1, 0)",
                vec![ACCOUNT.into(), CLUSTER.into(), a.as_str().into()],
            )
            .await
            .unwrap();
        let arns = |instances: &[ContainerInstance]| instances.iter().map(|i| i.arn.clone()).collect::<Vec<_>>();
        let named = [c.clone(), a.clone(), instance_arn("nobody")];
        let (found, reserved) =
            instances_where(store, &specs, CLUSTER, Which::Arns(&named), Groups::Only("family:web"), true)
                .await
                .unwrap();
        assert_eq!(arns(&found), [a.clone(), c.clone()], "by ARN, in any status, in ARN order");
        assert_eq!(
            (reserved[&a].ports.clone(), reserved[&a].groups.clone()),
            (vec!["80".to_owned()], vec!["family:web".to_owned()])
        );
        let (found, reserved) =
            instances_where(store, &specs, CLUSTER, Which::Candidates { connected_since: 1990 }, Groups::None, false)
                .await
                .unwrap();
        assert_eq!(arns(&found), std::slice::from_ref(&a), "ACTIVE and connected: b never polled since, c drains");
        assert!(reserved[&a].ports.is_empty(), "ports are read only when asked for");
        let (all, _) = instances_where(store, &specs, CLUSTER, Which::All, Groups::None, true).await.unwrap();
        assert_eq!(arns(&all), [a, b, c]);
    }

    #[tokio::test]
    async fn a_change_of_attributes_or_registration_is_seen_through_the_spec_cache() {
        let temp = temp_store().await;
        let (store, specs) = (&temp.store, SpecCache::default());
        let arn = register(store, "a").await;
        assert_eq!(find_instance(store, &specs, ACCOUNT, &arn).await.unwrap().unwrap().attribute("zone"), None);
        set_attributes(store, &arn, &json!([{"name": "zone", "value": "left"}])).await.unwrap();
        assert_eq!(find_instance(store, &specs, ACCOUNT, &arn).await.unwrap().unwrap().attribute("zone"), Some("left"));
        let bigger = json!([
            {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048},
        ]);
        let again = Registration { resources: &bigger, attributes: &json!([]), version_info: &json!({}), now: 2000 };
        reregister(store, &arn, &again).await.unwrap();
        let instance = find_instance(store, &specs, ACCOUNT, &arn).await.unwrap().unwrap();
        assert_eq!((instance.cpu(), instance.attribute("zone"), instance.last_poll_at), (4096, None, Some(2000)));
        record_poll(store, &arn, 2500, 7).await.unwrap();
        let instance = find_instance(store, &specs, ACCOUNT, &arn).await.unwrap().unwrap();
        assert_eq!(instance.last_poll_at, Some(2500));
        assert!(
            instance.connected(2500 + AGENT_CONNECTED_SECONDS) && !instance.connected(2501 + AGENT_CONNECTED_SECONDS)
        );
    }
}
