//! ECS container instances: RegisterContainerInstance (the agent's call), Deregister,
//! Describe, List (with the cluster query language), UpdateContainerInstancesState, and
//! Put/Delete/ListAttributes.
//!
//! A container instance is a managed instance (`mi-...`) in a cluster: registration is made
//! with that instance's role credentials and links the two, and registering again (after an
//! agent restart) keeps the same container instance and its tasks. Remaining resources are
//! the registered ones less what its unstopped tasks reserve.

use std::collections::HashMap;

use aws_protocol::{AwsError, Protocol};
use serde_json::{Value as Json, json};
use store::Value;

use super::ecs::{self, client, cluster_arn, ecs_operation, invalid_parameter, put};
use super::ecs_clusters::active_cluster;
use super::ecs_query::{Query, Subject};
use super::{Authorization, Ctx, Operation, internal, json as json_op};
use crate::app::App;
use crate::ids;

/// An agent is connected while it has polled within this many seconds.
pub(crate) const AGENT_CONNECTED_SECONDS: i64 = 60;

/// A stored container instance.
#[derive(Debug, Clone)]
pub(crate) struct ContainerInstance {
    pub arn: String,
    pub instance_id: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub registered: Json,
    pub attributes: Json,
    pub version_info: Json,
    pub registered_at: i64,
    pub last_poll_at: Option<i64>,
}

impl ContainerInstance {
    const COLUMNS: &str = "arn, instance_id, status, status_reason, registered_resources, attributes, version_info, registered_at, last_poll_at";

    fn from_row(row: &store::Row) -> Result<ContainerInstance, AwsError> {
        Ok(ContainerInstance {
            arn: row.text(0).map_err(internal)?,
            instance_id: row.text(1).map_err(internal)?,
            status: row.text(2).map_err(internal)?,
            status_reason: row.opt_text(3).map_err(internal)?,
            registered: ecs::json_column(row, 4)?,
            attributes: ecs::json_column(row, 5)?,
            version_info: ecs::json_column(row, 6)?,
            registered_at: row.int(7).map_err(internal)?,
            last_poll_at: row.opt_int(8).map_err(internal)?,
        })
    }

    pub(crate) fn connected(&self, now: i64) -> bool {
        self.last_poll_at.is_some_and(|at| now - at <= AGENT_CONNECTED_SECONDS)
    }

    /// A registered integer resource (`CPU`, `MEMORY`).
    pub(crate) fn integer(&self, name: &str) -> i64 {
        resource(&self.registered, name).and_then(|r| r.get("integerValue")).and_then(Json::as_i64).unwrap_or(0)
    }

    /// A registered string-set resource (`PORTS`, `PORTS_UDP`).
    pub(crate) fn ports(&self, name: &str) -> Vec<String> {
        resource(&self.registered, name)
            .and_then(|r| r.get("stringSetValue"))
            .and_then(Json::as_array)
            .map(|ports| ports.iter().filter_map(Json::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    pub(crate) fn attribute(&self, name: &str) -> Option<String> {
        self.attributes
            .as_array()?
            .iter()
            .find(|a| a.get("name").and_then(Json::as_str) == Some(name))
            .map(|a| a.get("value").and_then(Json::as_str).unwrap_or_default().to_owned())
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
                self.instance.version_info.get("agentVersion").and_then(Json::as_str).map(|v| vec![v.to_owned()])
            }
            "ec2InstanceId" => one(self.instance.instance_id.clone()),
            "registeredAt" => one(ids::iso8601(self.instance.registered_at)),
            "runningTasksCount" => one(self.reserved.running.to_string()),
            "task:group" => Some(self.reserved.groups.clone()),
            other => other.strip_prefix("attribute:").and_then(|name| self.instance.attribute(name)).map(|v| vec![v]),
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
    rows.first().map(ContainerInstance::from_row).transpose()
}

/// The cluster's container instances (every status) and what their tasks reserve.
pub(crate) async fn instances_of(
    app: &App,
    cluster_arn: &str,
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
    let instances = rows.iter().map(ContainerInstance::from_row).collect::<Result<Vec<_>, _>>()?;
    // Totals per instance in SQL; ports and groups only where tasks have them.
    const UNSTOPPED: &str = "cluster_arn = ? AND last_status <> 'STOPPED' AND container_instance_arn IS NOT NULL";
    let store = &app.store;
    let totals = store
        .query(
            &format!(
                "SELECT container_instance_arn, CAST(SUM(reserved_cpu) AS BIGINT), CAST(SUM(reserved_memory) AS BIGINT),
                        CAST(SUM(CASE WHEN last_status = 'RUNNING' THEN 1 ELSE 0 END) AS BIGINT), COUNT(*)
                 FROM ecs_tasks WHERE {UNSTOPPED} GROUP BY container_instance_arn"
            ),
            vec![cluster_arn.into()],
        )
        .await
        .map_err(internal)?;
    let mut reserved: HashMap<String, Reserved> = HashMap::new();
    for row in &totals {
        let entry = reserved.entry(row.text(0).map_err(internal)?).or_default();
        entry.cpu = row.int(1).map_err(internal)?;
        entry.memory = row.int(2).map_err(internal)?;
        entry.running = row.int(3).map_err(internal)?;
        entry.pending = row.int(4).map_err(internal)? - entry.running;
    }
    let ports = store
        .query(
            &format!("SELECT container_instance_arn, reserved_ports FROM ecs_tasks WHERE {UNSTOPPED} AND reserved_ports <> '[]'"),
            vec![cluster_arn.into()],
        )
        .await
        .map_err(internal)?;
    for row in &ports {
        let held: Vec<String> = serde_json::from_str(&row.text(1).map_err(internal)?).map_err(internal)?;
        reserved.entry(row.text(0).map_err(internal)?).or_default().ports.extend(held);
    }
    let groups = store
        .query(
            &format!(
                "SELECT container_instance_arn, task_group, COUNT(*) FROM ecs_tasks WHERE {UNSTOPPED} AND task_group IS NOT NULL
                 GROUP BY container_instance_arn, task_group"
            ),
            vec![cluster_arn.into()],
        )
        .await
        .map_err(internal)?;
    for row in &groups {
        let group = row.text(1).map_err(internal)?;
        let count = usize::try_from(row.int(2).map_err(internal)?).unwrap_or(0);
        reserved.entry(row.text(0).map_err(internal)?).or_default().groups.extend(std::iter::repeat_n(group, count));
    }
    Ok((instances, reserved))
}

/// ECS's `ContainerInstance` shape.
pub(crate) fn describe(instance: &ContainerInstance, reserved: &Reserved, now: i64) -> Json {
    let remaining: Vec<Json> = instance
        .registered
        .as_array()
        .map(|resources| {
            resources
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    match r.get("name").and_then(Json::as_str) {
                        Some("CPU") => put(&mut r, "integerValue", instance.integer("CPU") - reserved.cpu),
                        Some("MEMORY") => put(&mut r, "integerValue", instance.integer("MEMORY") - reserved.memory),
                        Some("PORTS") => {
                            let mut ports = instance.ports("PORTS");
                            ports.extend(reserved.ports.iter().cloned());
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
        "versionInfo": instance.version_info,
        "remainingResources": remaining,
        "registeredResources": instance.registered,
        "status": instance.status,
        "agentConnected": instance.connected(now),
        "runningTasksCount": reserved.running,
        "pendingTasksCount": reserved.pending,
        "attributes": instance.attributes,
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

ecs_operation!(
    REGISTER_CONTAINER_INSTANCE,
    "RegisterContainerInstance",
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| json_op(register_container_instance(ctx))
);
ecs_operation!(
    DEREGISTER_CONTAINER_INSTANCE,
    "DeregisterContainerInstance",
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| json_op(deregister_container_instance(ctx))
);
ecs_operation!(
    DESCRIBE_CONTAINER_INSTANCES,
    "DescribeContainerInstances",
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| json_op(describe_container_instances(ctx))
);
ecs_operation!(
    LIST_CONTAINER_INSTANCES,
    "ListContainerInstances",
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| json_op(list_container_instances(ctx))
);
ecs_operation!(
    UPDATE_CONTAINER_INSTANCES_STATE,
    "UpdateContainerInstancesState",
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| json_op(update_container_instances_state(ctx))
);
ecs_operation!(
    PUT_ATTRIBUTES,
    "PutAttributes",
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| { json_op(put_attributes(ctx, true)) }
);
ecs_operation!(
    DELETE_ATTRIBUTES,
    "DeleteAttributes",
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| json_op(put_attributes(ctx, false))
);
ecs_operation!(
    LIST_ATTRIBUTES,
    "ListAttributes",
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.app, ctx.body)]) }),
    |ctx| { json_op(list_attributes(ctx)) }
);

/// The managed instance whose credentials signed the request, if any.
pub(crate) async fn caller_instance(ctx: &Ctx<'_>) -> Result<Option<String>, AwsError> {
    if !matches!(ctx.identity.principal, crate::auth::Principal::RoleSession { .. }) {
        return Ok(None);
    }
    let rows = ctx
        .app
        .store
        .query(
            "SELECT instance_id FROM sessions WHERE access_key_id = ?",
            vec![ctx.identity.access_key_id.as_str().into()],
        )
        .await
        .map_err(internal)?;
    Ok(rows.first().and_then(|row| row.opt_text(0).ok().flatten()))
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
    let instance_id = caller_instance(ctx).await?.ok_or_else(|| {
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
            vec![cluster.arn.as_str().into(), instance_id.as_str().into()],
        )
        .await
        .map_err(internal)?;
    let existing = existing.first().map(ContainerInstance::from_row).transpose()?;
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
                    "UPDATE ecs_container_instances SET registered_resources = ?, attributes = ?, version_info = ?, last_poll_at = ? WHERE arn = ?",
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
                        instance_id.as_str().into(),
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
    let (instances, reserved) = instances_of(ctx.app, &cluster.arn).await?;
    let instance = instances.iter().find(|i| i.arn == arn).ok_or_else(|| internal("registered instance vanished"))?;
    Ok(json!({"containerInstance": describe(instance, reserved.get(&arn).unwrap_or(&Reserved::default()), now)}))
}

async fn deregister_container_instance(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.body).await?;
    let reference = ecs::required(ctx.body, "containerInstance")?;
    let arn = instance_arn(ctx.app, &cluster.arn, reference);
    let force = ctx.body.get("force").and_then(Json::as_bool).unwrap_or(false);
    let (instances, reserved) = instances_of(ctx.app, &cluster.arn).await?;
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
    let references: Vec<&str> = ctx
        .body
        .get("containerInstances")
        .and_then(Json::as_array)
        .map(|items| items.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    if references.is_empty() || references.len() > 100 {
        return Err(invalid_parameter("containerInstances must have between 1 and 100 items."));
    }
    let include_tags = ctx.body.get("include").and_then(Json::as_array).is_some_and(|i| i.iter().any(|v| v == "TAGS"));
    let (instances, reserved) = instances_of(ctx.app, &cluster.arn).await?;
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
    let (instances, reserved) = instances_of(ctx.app, &cluster.arn).await?;
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
    let references: Vec<&str> = ctx
        .body
        .get("containerInstances")
        .and_then(Json::as_array)
        .map(|items| items.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let (instances, reserved) = instances_of(ctx.app, &cluster.arn).await?;
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
    let (instances, _) = instances_of(ctx.app, &cluster.arn).await?;
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
        let mut attributes: Vec<Json> = instance.attributes.as_array().cloned().unwrap_or_default();
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
                "UPDATE ecs_container_instances SET attributes = ? WHERE arn = ?",
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
    let (instances, _) = instances_of(ctx.app, &cluster.arn).await?;
    let mut listed = Vec::new();
    for instance in instances.iter().filter(|i| i.status != "INACTIVE") {
        for attribute in instance.attributes.as_array().into_iter().flatten() {
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
