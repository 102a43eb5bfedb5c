//! ECS container instances: RegisterContainerInstance (the agent's call), Deregister,
//! Describe, List (with the cluster query language), UpdateContainerInstancesState, and
//! Put/Delete/ListAttributes.
//!
//! A container instance is a managed instance (`mi-...`) in a cluster: registration is made
//! with that instance's role credentials and links the two, and registering again (after an
//! agent restart) keeps the same container instance and its tasks. Remaining resources are
//! the registered ones less what its unstopped tasks reserve.

use std::collections::HashMap;
use std::sync::Arc;

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};
use store::Value;

use super::clusters::active_cluster;
use super::query::{Query, Subject};
use crate::app::App;
use crate::ecs::{self, client, cluster_arn, invalid_parameter, put};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, json as json_op};

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
    ports: Vec<String>,
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
    async fn get(&self, app: &App, arn: &str, revision: i64) -> Result<Arc<Spec>, AwsError> {
        if let Some(spec) = self.cached(arn, revision) {
            return Ok(spec);
        }
        let rows = app
            .store
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
    pub status: String,
    pub status_reason: Option<String>,
    pub spec: Arc<Spec>,
    pub registered_at: i64,
    pub last_poll_at: Option<i64>,
}

impl ContainerInstance {
    const COLUMNS: &str = "arn, instance_id, status, status_reason, spec_revision, registered_at, last_poll_at,
                           reserved_cpu, reserved_memory, running_tasks, pending_tasks";

    async fn from_row(app: &App, row: &store::Row) -> Result<ContainerInstance, AwsError> {
        let arn = row.text(0).map_err(internal)?;
        Ok(ContainerInstance {
            spec: app.ecs_channels.specs.get(app, &arn, row.int(4).map_err(internal)?).await?,
            arn,
            instance_id: row.text(1).map_err(internal)?,
            status: row.text(2).map_err(internal)?,
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

fn resource<'a>(resources: &'a Json, name: &str) -> Option<&'a Json> {
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

/// One container instance by ARN, in any status.
pub(crate) async fn find_instance(app: &App, arn: &str) -> Result<Option<ContainerInstance>, AwsError> {
    let rows = app
        .store
        .query(
            &format!(
                "SELECT {} FROM ecs_container_instances WHERE arn = ? AND account_id = ?",
                ContainerInstance::COLUMNS
            ),
            vec![arn.into(), app.account_id.as_str().into()],
        )
        .await
        .map_err(internal)?;
    match rows.first() {
        Some(row) => Ok(Some(ContainerInstance::from_row(app, row).await?)),
        None => Ok(None),
    }
}

/// Which task groups `instances_of` should count per instance.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Groups<'a> {
    None,
    /// Only this group (what distinctInstance needs).
    Only(&'a str),
    /// Every group (what `task:group` expressions need).
    All,
}

/// The cluster's container instances (every status) and what their tasks reserve: CPU,
/// memory and task counts from each instance's counters (kept in the transactions that
/// create and stop tasks), host ports from the tasks that hold some, groups as asked.
pub(crate) async fn instances_of(
    app: &App,
    cluster_arn: &str,
    groups: Groups<'_>,
) -> Result<(Vec<ContainerInstance>, HashMap<String, Reserved>), AwsError> {
    let rows = app
        .store
        .query(
            &format!(
                "SELECT {} FROM ecs_container_instances WHERE cluster_arn = ? ORDER BY arn",
                ContainerInstance::COLUMNS
            ),
            vec![cluster_arn.into()],
        )
        .await
        .map_err(internal)?;
    let mut instances = Vec::with_capacity(rows.len());
    let mut reserved: HashMap<String, Reserved> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let instance = ContainerInstance::from_row(app, row).await?;
        reserved.insert(instance.arn.clone(), ContainerInstance::counters(row)?);
        instances.push(instance);
    }
    const LIVE: &str = "cluster_arn = ? AND last_status <> 'STOPPED' AND container_instance_arn IS NOT NULL";
    let store = &app.store;
    let ports = store
        .query(
            &format!(
                "SELECT container_instance_arn, reserved_ports FROM ecs_tasks WHERE {LIVE} AND reserved_ports <> '[]'"
            ),
            vec![cluster_arn.into()],
        )
        .await
        .map_err(internal)?;
    for row in &ports {
        let held: Vec<String> = serde_json::from_str(&row.text(1).map_err(internal)?).map_err(internal)?;
        reserved.entry(row.text(0).map_err(internal)?).or_default().ports.extend(held);
    }
    let (filter, params): (&str, Vec<Value>) = match groups {
        Groups::None => return Ok((instances, reserved)),
        Groups::Only(group) => (" AND task_group = ?", vec![cluster_arn.into(), group.into()]),
        Groups::All => (" AND task_group IS NOT NULL", vec![cluster_arn.into()]),
    };
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
        let group = row.text(1).map_err(internal)?;
        let count = usize::try_from(row.int(2).map_err(internal)?).unwrap_or(0);
        reserved.entry(row.text(0).map_err(internal)?).or_default().groups.extend(std::iter::repeat_n(group, count));
    }
    Ok((instances, reserved))
}

/// ECS's `ContainerInstance` shape.
pub(crate) fn describe(instance: &ContainerInstance, reserved: &Reserved, now: i64) -> Json {
    let remaining: Vec<Json> = instance
        .spec
        .resources
        .as_array()
        .map(|resources| {
            resources
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    match r.get("name").and_then(Json::as_str) {
                        Some("CPU") => put(&mut r, "integerValue", instance.cpu() - reserved.cpu),
                        Some("MEMORY") => put(&mut r, "integerValue", instance.memory() - reserved.memory),
                        Some("PORTS") => {
                            let mut ports = instance.spec.ports.clone();
                            ports.extend(reserved.ports.iter().filter(|p| !p.ends_with("/udp")).cloned());
                            put(&mut r, "stringSetValue", ports);
                        }
                        _ => {}
                    }
                    r
                })
                .collect()
        })
        .unwrap_or_default();
    let mut described = json!({
        "containerInstanceArn": instance.arn,
        "ec2InstanceId": instance.instance_id,
        "version": 1,
        "versionInfo": instance.spec.version_info,
        "remainingResources": remaining,
        "registeredResources": instance.spec.resources,
        "status": instance.status,
        "agentConnected": instance.connected(now),
        "runningTasksCount": reserved.running,
        "pendingTasksCount": reserved.pending,
        "attributes": instance.spec.attributes,
        "registeredAt": instance.registered_at,
        "attachments": [],
        "tags": [],
    });
    if let Some(reason) = &instance.status_reason {
        put(&mut described, "statusReason", reason.as_str());
    }
    described
}

/// The container instance ARN a reference names (an ARN, or the id within the cluster).
fn instance_arn(app: &App, cluster: &str, reference: &str) -> String {
    if reference.starts_with("arn:") {
        return reference.to_owned();
    }
    let cluster_name = cluster.rsplit('/').next().unwrap_or_default();
    ecs::arn(app, "container-instance", &format!("{cluster_name}/{reference}"))
}

operation!(
    ecs,
    REGISTER_CONTAINER_INSTANCE,
    "RegisterContainerInstance",
    AgentTraffic,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| json_op(register_container_instance(ctx)),
    authorization = Instance
);
operation!(
    ecs,
    DEREGISTER_CONTAINER_INSTANCE,
    "DeregisterContainerInstance",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| json_op(deregister_container_instance(ctx))
);
operation!(
    ecs,
    DESCRIBE_CONTAINER_INSTANCES,
    "DescribeContainerInstances",
    Read,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| json_op(describe_container_instances(ctx))
);
operation!(
    ecs,
    LIST_CONTAINER_INSTANCES,
    "ListContainerInstances",
    Read,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| json_op(list_container_instances(ctx))
);
operation!(
    ecs,
    UPDATE_CONTAINER_INSTANCES_STATE,
    "UpdateContainerInstancesState",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| json_op(update_container_instances_state(ctx))
);
operation!(
    ecs,
    PUT_ATTRIBUTES,
    "PutAttributes",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| { json_op(put_attributes(ctx, true)) }
);
operation!(
    ecs,
    DELETE_ATTRIBUTES,
    "DeleteAttributes",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| json_op(put_attributes(ctx, false))
);
operation!(
    ecs,
    LIST_ATTRIBUTES,
    "ListAttributes",
    Read,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| { json_op(list_attributes(ctx)) }
);

/// The managed instance whose own credentials signed the request, if any (a session issued
/// to one of its tasks is the task's, not the instance's).
pub(crate) fn caller_instance<'a>(ctx: &'a Ctx<'_>) -> Option<&'a str> {
    ctx.identity.instance()
}

fn valid_resources(resources: &Json) -> Result<(), AwsError> {
    let Some(items) = resources.as_array() else { return Err(client("totalResources must be a list.")) };
    for name in ["CPU", "MEMORY"] {
        let value = resource(resources, name).and_then(|r| r.get("integerValue")).and_then(Json::as_i64);
        if value.is_none_or(|v| v < 0) {
            return Err(client(format!("totalResources must include {name} as a non-negative integerValue.")));
        }
    }
    if items.len() > 10 {
        return Err(client("Too many resources."));
    }
    Ok(())
}

async fn register_container_instance(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    let instance_id = caller_instance(ctx).ok_or_else(|| {
        client("RegisterContainerInstance must be called with the credentials of a registered managed instance (homeport agent).")
    })?;
    let resources = ctx.body.get("totalResources").cloned().unwrap_or(json!([]));
    valid_resources(&resources)?;
    let attributes = ctx.body.get("attributes").cloned().unwrap_or(json!([]));
    let version_info = ctx.body.get("versionInfo").cloned().unwrap_or(json!({}));
    // The agent's own ARN if it gives one, else this managed instance's live registration.
    let existing = ctx
        .app
        .store
        .query(
            &format!(
                "SELECT {} FROM ecs_container_instances WHERE cluster_arn = ? AND instance_id = ? AND status <> 'INACTIVE'",
                ContainerInstance::COLUMNS
            ),
            vec![cluster.arn.as_str().into(), instance_id.into()],
        )
        .await
        .map_err(internal)?;
    let existing = match existing.first() {
        Some(row) => Some(ContainerInstance::from_row(ctx.app, row).await?),
        None => None,
    };
    if let Some(given) = ctx.body.get("containerInstanceArn").and_then(Json::as_str) {
        if existing.as_ref().is_none_or(|instance| instance.arn != given) {
            return Err(client(format!(
                "Container instance {given} is not registered to this instance in the cluster."
            )));
        }
    }
    let now = ids::now();
    let arn = match &existing {
        Some(instance) => {
            ctx.app
                .store
                .execute(
                    "UPDATE ecs_container_instances SET registered_resources = ?, attributes = ?, version_info = ?, last_poll_at = ?,
                            spec_revision = spec_revision + 1 WHERE arn = ?",
                    vec![
                        resources.to_string().into(),
                        attributes.to_string().into(),
                        version_info.to_string().into(),
                        Value::Int(now),
                        instance.arn.as_str().into(),
                    ],
                )
                .await
                .map_err(internal)?;
            instance.arn.clone()
        }
        None => {
            let id = ids::uuid().map_err(internal)?.replace('-', "");
            let arn = ecs::arn(ctx.app, "container-instance", &format!("{}/{id}", cluster.name));
            ctx.app
                .store
                .execute(
                    "INSERT INTO ecs_container_instances (arn, account_id, cluster_arn, instance_id, status, registered_resources,
                                                          attributes, version_info, registered_at, last_poll_at, acked_seq)
                     VALUES (?, ?, ?, ?, 'ACTIVE', ?, ?, ?, ?, ?, 0)",
                    vec![
                        arn.as_str().into(),
                        ctx.account().into(),
                        cluster.arn.as_str().into(),
                        instance_id.into(),
                        resources.to_string().into(),
                        attributes.to_string().into(),
                        version_info.to_string().into(),
                        Value::Int(now),
                        Value::Int(now),
                    ],
                )
                .await
                .map_err(internal)?;
            arn
        }
    };
    ctx.app.ecs_channels.reset(&arn);
    let (instances, reserved) = instances_of(ctx.app, &cluster.arn, Groups::None).await?;
    let instance = instances.iter().find(|i| i.arn == arn).ok_or_else(|| internal("registered instance vanished"))?;
    Ok(json!({"containerInstance": describe(instance, reserved.get(&arn).unwrap_or(&Reserved::default()), now)}))
}

async fn deregister_container_instance(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    let reference = ecs::required(ctx.body, "containerInstance")?;
    let arn = instance_arn(ctx.app, &cluster.arn, reference);
    let force = ctx.body.get("force").and_then(Json::as_bool).unwrap_or(false);
    let (instances, reserved) = instances_of(ctx.app, &cluster.arn, Groups::None).await?;
    let instance = instances
        .iter()
        .find(|i| i.arn == arn && i.status != "INACTIVE")
        .ok_or_else(|| invalid_parameter("Container instance not found."))?;
    let held = reserved.get(&arn).cloned().unwrap_or_default();
    if held.running + held.pending > 0 && !force {
        return Err(invalid_parameter("Found running tasks on the instance."));
    }
    ctx.app
        .store
        .execute("UPDATE ecs_container_instances SET status = 'INACTIVE' WHERE arn = ?", vec![arn.as_str().into()])
        .await
        .map_err(internal)?;
    let mut instance = instance.clone();
    instance.status = "INACTIVE".to_owned();
    Ok(json!({"containerInstance": describe(&instance, &held, ids::now())}))
}

async fn describe_container_instances(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    let references: Vec<&str> = ecs::strings(ctx.body, "containerInstances");
    if references.is_empty() || references.len() > 100 {
        return Err(invalid_parameter("containerInstances must have between 1 and 100 items."));
    }
    let include_tags = ecs::includes(ctx.body, "TAGS");
    let (instances, reserved) = instances_of(ctx.app, &cluster.arn, Groups::None).await?;
    let now = ids::now();
    let mut described = Vec::new();
    let mut failures = Vec::new();
    for reference in references {
        let arn = instance_arn(ctx.app, &cluster.arn, reference);
        match instances.iter().find(|i| i.arn == arn) {
            Some(instance) => {
                let mut one = describe(instance, reserved.get(&arn).unwrap_or(&Reserved::default()), now);
                if include_tags {
                    put(&mut one, "tags", ecs::load_tags(&ctx.app.store, ctx.account(), &arn).await?);
                }
                described.push(one);
            }
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    Ok(json!({"containerInstances": described, "failures": failures}))
}

async fn list_container_instances(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    let page = ecs::Page::from_body(ctx.body, 100, 100)?;
    let status = ctx.body.get("status").and_then(Json::as_str);
    if status
        .is_some_and(|s| !["ACTIVE", "DRAINING", "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED"].contains(&s))
    {
        return Err(invalid_parameter("Invalid status."));
    }
    let filter = ctx.body.get("filter").and_then(Json::as_str).map(Query::parse).transpose()?;
    let groups = if filter.as_ref().is_some_and(Query::reads_groups) { Groups::All } else { Groups::None };
    let (instances, reserved) = instances_of(ctx.app, &cluster.arn, groups).await?;
    let now = ids::now();
    let empty = Reserved::default();
    let arns = instances
        .iter()
        .filter(|i| match status {
            Some(status) => i.status == status,
            None => i.status != "INACTIVE",
        })
        .filter(|i| {
            filter.as_ref().is_none_or(|query| {
                query.matches(&Candidate { instance: i, reserved: reserved.get(&i.arn).unwrap_or(&empty), now })
            })
        })
        .map(|i| Json::String(i.arn.clone()))
        .collect();
    Ok(page.answer("containerInstanceArns", arns))
}

async fn update_container_instances_state(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    let status = ecs::required(ctx.body, "status")?;
    if !["ACTIVE", "DRAINING"].contains(&status) {
        return Err(invalid_parameter("Container instances can be set to ACTIVE or DRAINING only."));
    }
    let references: Vec<&str> = ecs::strings(ctx.body, "containerInstances");
    let (instances, reserved) = instances_of(ctx.app, &cluster.arn, Groups::None).await?;
    let now = ids::now();
    let mut updated = Vec::new();
    let mut failures = Vec::new();
    for reference in references {
        let arn = instance_arn(ctx.app, &cluster.arn, reference);
        let Some(instance) = instances.iter().find(|i| i.arn == arn && i.status != "INACTIVE") else {
            failures.push(json!({"arn": arn, "reason": "MISSING"}));
            continue;
        };
        ctx.app
            .store
            .execute(
                "UPDATE ecs_container_instances SET status = ? WHERE arn = ?",
                vec![status.into(), arn.as_str().into()],
            )
            .await
            .map_err(internal)?;
        let mut instance = instance.clone();
        instance.status = status.to_owned();
        updated.push(describe(&instance, reserved.get(&arn).unwrap_or(&Reserved::default()), now));
    }
    Ok(json!({"containerInstances": updated, "failures": failures}))
}

/// PutAttributes (`put`) and DeleteAttributes: custom attributes of container instances.
async fn put_attributes(ctx: &Ctx<'_>, put_them: bool) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    let items = ctx.body.get("attributes").and_then(Json::as_array).cloned().unwrap_or_default();
    if items.is_empty() || items.len() > 10 {
        return Err(invalid_parameter("attributes must have between 1 and 10 items."));
    }
    let (instances, _) = instances_of(ctx.app, &cluster.arn, Groups::None).await?;
    for item in &items {
        let name = item.get("name").and_then(Json::as_str).unwrap_or_default();
        if name.is_empty() || name.len() > 128 {
            return Err(invalid_parameter("Attribute names have 1 to 128 characters."));
        }
        if item.get("targetType").and_then(Json::as_str).is_some_and(|t| t != "container-instance") {
            return Err(invalid_parameter("targetType must be container-instance."));
        }
        let target = item.get("targetId").and_then(Json::as_str).unwrap_or_default();
        let arn = instance_arn(ctx.app, &cluster.arn, target);
        let instance = instances
            .iter()
            .find(|i| i.arn == arn)
            .ok_or_else(|| AwsError::new("TargetNotFoundException", 400, format!("Could not find {target}.")))?;
        let mut attributes: Vec<Json> = instance.spec.attributes.as_array().cloned().unwrap_or_default();
        attributes.retain(|a| a.get("name").and_then(Json::as_str) != Some(name));
        if put_them {
            let mut attribute = json!({"name": name});
            if let Some(value) = item.get("value").and_then(Json::as_str) {
                put(&mut attribute, "value", value);
            }
            attributes.push(attribute);
        }
        ctx.app
            .store
            .execute(
                "UPDATE ecs_container_instances SET attributes = ?, spec_revision = spec_revision + 1 WHERE arn = ?",
                vec![Json::Array(attributes).to_string().into(), arn.as_str().into()],
            )
            .await
            .map_err(internal)?;
    }
    Ok(json!({"attributes": items}))
}

async fn list_attributes(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    if ctx.body.get("targetType").and_then(Json::as_str) != Some("container-instance") {
        return Err(invalid_parameter("targetType must be container-instance."));
    }
    let page = ecs::Page::from_body(ctx.body, 100, 100)?;
    let wanted_name = ctx.body.get("attributeName").and_then(Json::as_str);
    let wanted_value = ctx.body.get("attributeValue").and_then(Json::as_str);
    let (instances, _) = instances_of(ctx.app, &cluster.arn, Groups::None).await?;
    let mut listed = Vec::new();
    for instance in instances.iter().filter(|i| i.status != "INACTIVE") {
        for attribute in instance.spec.attributes.as_array().into_iter().flatten() {
            let name = attribute.get("name").and_then(Json::as_str).unwrap_or_default();
            let value = attribute.get("value").and_then(Json::as_str);
            if wanted_name.is_some_and(|w| w != name) || wanted_value.is_some_and(|w| Some(w) != value) {
                continue;
            }
            let mut one = json!({"name": name, "targetType": "container-instance", "targetId": instance.arn});
            if let Some(value) = value {
                put(&mut one, "value", value);
            }
            listed.push(one);
        }
    }
    Ok(page.answer("attributes", listed))
}
