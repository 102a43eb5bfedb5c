//! ECS container instances: RegisterContainerInstance (the agent's call), Deregister,
//! Describe, List (with the cluster query language), UpdateContainerInstancesState, and
//! Put/Delete/ListAttributes.
//!
//! A container instance is a managed instance (`mi-...`) in a cluster: registration is made
//! with that instance's role credentials and links the two, and registering again (after an
//! agent restart) keeps the same container instance and its tasks. Remaining resources are
//! the registered ones less what its unstopped tasks reserve. The model, its statuses and
//! its SQL are `model::container_instance`; this module decodes, calls it, and encodes.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::clusters::active_cluster;
use super::model::container_instance::{
    self as model, Candidate, ContainerInstance, ContainerInstanceStatus, Groups, Registration, Reserved, Which,
    instances_where, resource,
};
use super::query::Query;
use crate::ecs::{self, client, cluster_arn, invalid_parameter, put};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, json as json_op};
use crate::regions::Scope;

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
        "status": instance.status.as_str(),
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
fn instance_arn(scope: Scope<'_>, cluster: &str, reference: &str) -> String {
    if reference.starts_with("arn:") {
        return reference.to_owned();
    }
    let cluster_name = cluster.rsplit('/').next().unwrap_or_default();
    ecs::arn(scope, "container-instance", &format!("{cluster_name}/{reference}"))
}

operation!(
    ecs,
    REGISTER_CONTAINER_INSTANCE,
    "RegisterContainerInstance",
    AgentTraffic,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| json_op(register_container_instance(ctx)),
    authorization = Instance
);
operation!(
    ecs,
    DEREGISTER_CONTAINER_INSTANCE,
    "DeregisterContainerInstance",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| json_op(deregister_container_instance(ctx))
);
operation!(
    ecs,
    DESCRIBE_CONTAINER_INSTANCES,
    "DescribeContainerInstances",
    Read,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| json_op(describe_container_instances(ctx))
);
operation!(
    ecs,
    LIST_CONTAINER_INSTANCES,
    "ListContainerInstances",
    Read,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| json_op(list_container_instances(ctx))
);
operation!(
    ecs,
    UPDATE_CONTAINER_INSTANCES_STATE,
    "UpdateContainerInstancesState",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| json_op(update_container_instances_state(ctx))
);
operation!(
    ecs,
    PUT_ATTRIBUTES,
    "PutAttributes",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| { json_op(put_attributes(ctx, true)) }
);
operation!(
    ecs,
    DELETE_ATTRIBUTES,
    "DeleteAttributes",
    Write,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| json_op(put_attributes(ctx, false))
);
operation!(
    ecs,
    LIST_ATTRIBUTES,
    "ListAttributes",
    Read,
    |ctx| Box::pin(async move { Ok(vec![cluster_arn(ctx.scope(), ctx.body)]) }),
    |ctx| { json_op(list_attributes(ctx)) }
);

/// The named instances of a cluster and what each holds (with the host ports their tasks
/// take when `ports`): what describing, deregistering, updating and starting on them read.
pub(crate) async fn named_instances(
    ctx: &Ctx<'_>,
    cluster_arn: &str,
    arns: &[String],
    ports: bool,
) -> Result<(Vec<ContainerInstance>, std::collections::HashMap<String, Reserved>), AwsError> {
    let specs = &crate::ecs::channel::channels(ctx.app)?.specs;
    instances_where(&ctx.app.store, specs, cluster_arn, Which::Arns(arns), Groups::None, ports).await
}

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
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let instance_id = caller_instance(ctx).ok_or_else(|| {
        client("RegisterContainerInstance must be called with the credentials of a registered managed instance (homeport agent).")
    })?;
    let resources = ctx.body.get("totalResources").cloned().unwrap_or(json!([]));
    valid_resources(&resources)?;
    let attributes = ctx.body.get("attributes").cloned().unwrap_or(json!([]));
    let version_info = ctx.body.get("versionInfo").cloned().unwrap_or(json!({}));
    // The agent's own ARN if it gives one, else this managed instance's live registration.
    let (store, specs) = (&ctx.app.store, &crate::ecs::channel::channels(ctx.app)?.specs);
    let existing = model::registration_of(store, specs, &cluster.arn, instance_id).await?;
    if let Some(given) = ctx.body.get("containerInstanceArn").and_then(Json::as_str) {
        if existing.as_ref().is_none_or(|instance| instance.arn != given) {
            return Err(client(format!(
                "Container instance {given} is not registered to this instance in the cluster."
            )));
        }
    }
    let now = ids::now();
    let registration =
        Registration { resources: &resources, attributes: &attributes, version_info: &version_info, now };
    let arn = match &existing {
        Some(instance) => {
            model::reregister(store, &instance.arn, &registration).await?;
            instance.arn.clone()
        }
        None => {
            let id = ids::uuid().map_err(internal)?.replace('-', "");
            let arn = ecs::arn(ctx.scope(), "container-instance", &format!("{}/{id}", cluster.name));
            model::insert(store, ctx.account(), &arn, &cluster.arn, instance_id, &registration).await?;
            arn
        }
    };
    crate::ecs::channel::channels(ctx.app)?.reset(&arn);
    let registered = [arn.clone()];
    let (instances, reserved) = named_instances(ctx, &cluster.arn, &registered, true).await?;
    let instance = instances.iter().find(|i| i.arn == arn).ok_or_else(|| internal("registered instance vanished"))?;
    Ok(json!({"containerInstance": describe(instance, reserved.get(&arn).unwrap_or(&Reserved::default()), now)}))
}

async fn deregister_container_instance(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let reference = ecs::required(ctx.body, "containerInstance")?;
    let arn = instance_arn(ctx.scope(), &cluster.arn, reference);
    let force = ctx.body.get("force").and_then(Json::as_bool).unwrap_or(false);
    let named = [arn.clone()];
    let (instances, reserved) = named_instances(ctx, &cluster.arn, &named, true).await?;
    let instance = instances
        .iter()
        .find(|i| i.arn == arn && i.status.is_registered())
        .ok_or_else(|| invalid_parameter("Container instance not found."))?;
    let held = reserved.get(&arn).cloned().unwrap_or_default();
    if held.running + held.pending > 0 && !force {
        return Err(invalid_parameter("Found running tasks on the instance."));
    }
    model::set_status(&ctx.app.store, &arn, ContainerInstanceStatus::Inactive).await?;
    let mut instance = instance.clone();
    instance.status = ContainerInstanceStatus::Inactive;
    Ok(json!({"containerInstance": describe(&instance, &held, ids::now())}))
}

async fn describe_container_instances(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let references: Vec<&str> = ecs::strings(ctx.body, "containerInstances");
    if references.is_empty() || references.len() > 100 {
        return Err(invalid_parameter("containerInstances must have between 1 and 100 items."));
    }
    let include_tags = ecs::includes(ctx.body, "TAGS");
    let arns: Vec<String> =
        references.iter().map(|reference| instance_arn(ctx.scope(), &cluster.arn, reference)).collect();
    let (instances, reserved) = named_instances(ctx, &cluster.arn, &arns, true).await?;
    let now = ids::now();
    let mut described = Vec::new();
    let mut failures = Vec::new();
    for arn in arns {
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
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let page = ecs::Page::from_body(ctx.body, 100, 100)?;
    // Any status but INACTIVE may be asked for (ListContainerInstances never lists those).
    let status = match ctx.body.get("status").and_then(Json::as_str) {
        None => None,
        Some(word) => Some(
            ContainerInstanceStatus::parse(word)
                .filter(|s| s.is_registered())
                .ok_or_else(|| invalid_parameter("Invalid status."))?,
        ),
    };
    let filter = ctx.body.get("filter").and_then(Json::as_str).map(Query::parse).transpose()?;
    let groups = if filter.as_ref().is_some_and(Query::reads_groups) { Groups::All } else { Groups::None };
    // The query language reads no host ports: the instances and their counters, with the
    // groups when the filter reads them.
    let (instances, reserved) = instances_where(
        &ctx.app.store,
        &crate::ecs::channel::channels(ctx.app)?.specs,
        &cluster.arn,
        Which::All,
        groups,
        false,
    )
    .await?;
    let now = ids::now();
    let empty = Reserved::default();
    let arns = instances
        .iter()
        .filter(|i| match status {
            Some(status) => i.status == status,
            None => i.status.is_registered(),
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
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let status = ContainerInstanceStatus::parse(ecs::required(ctx.body, "status")?)
        .filter(|s| s.settable())
        .ok_or_else(|| invalid_parameter("Container instances can be set to ACTIVE or DRAINING only."))?;
    let references: Vec<&str> = ecs::strings(ctx.body, "containerInstances");
    let arns: Vec<String> =
        references.iter().map(|reference| instance_arn(ctx.scope(), &cluster.arn, reference)).collect();
    let (instances, reserved) = named_instances(ctx, &cluster.arn, &arns, true).await?;
    let now = ids::now();
    let mut updated = Vec::new();
    let mut failures = Vec::new();
    for arn in arns {
        let Some(instance) = instances.iter().find(|i| i.arn == arn && i.status.is_registered()) else {
            failures.push(json!({"arn": arn, "reason": "MISSING"}));
            continue;
        };
        model::set_status(&ctx.app.store, &arn, status).await?;
        let mut instance = instance.clone();
        instance.status = status;
        updated.push(describe(&instance, reserved.get(&arn).unwrap_or(&Reserved::default()), now));
    }
    Ok(json!({"containerInstances": updated, "failures": failures}))
}

/// PutAttributes (`put`) and DeleteAttributes: custom attributes of container instances.
async fn put_attributes(ctx: &Ctx<'_>, put_them: bool) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    let items = ctx.body.get("attributes").and_then(Json::as_array).cloned().unwrap_or_default();
    if items.is_empty() || items.len() > 10 {
        return Err(invalid_parameter("attributes must have between 1 and 10 items."));
    }
    let targets: Vec<String> = items
        .iter()
        .map(|item| {
            instance_arn(ctx.scope(), &cluster.arn, item.get("targetId").and_then(Json::as_str).unwrap_or_default())
        })
        .collect();
    let (instances, _) = named_instances(ctx, &cluster.arn, &targets, false).await?;
    for item in &items {
        let name = item.get("name").and_then(Json::as_str).unwrap_or_default();
        if name.is_empty() || name.len() > 128 {
            return Err(invalid_parameter("Attribute names have 1 to 128 characters."));
        }
        if item.get("targetType").and_then(Json::as_str).is_some_and(|t| t != "container-instance") {
            return Err(invalid_parameter("targetType must be container-instance."));
        }
        let target = item.get("targetId").and_then(Json::as_str).unwrap_or_default();
        let arn = instance_arn(ctx.scope(), &cluster.arn, target);
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
        model::set_attributes(&ctx.app.store, &arn, &Json::Array(attributes)).await?;
    }
    Ok(json!({"attributes": items}))
}

async fn list_attributes(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let cluster = active_cluster(ctx.app, ctx.scope(), ctx.body).await?;
    if ctx.body.get("targetType").and_then(Json::as_str) != Some("container-instance") {
        return Err(invalid_parameter("targetType must be container-instance."));
    }
    let page = ecs::Page::from_body(ctx.body, 100, 100)?;
    let wanted_name = ctx.body.get("attributeName").and_then(Json::as_str);
    let wanted_value = ctx.body.get("attributeValue").and_then(Json::as_str);
    let (instances, _) = instances_where(
        &ctx.app.store,
        &crate::ecs::channel::channels(ctx.app)?.specs,
        &cluster.arn,
        Which::All,
        Groups::None,
        false,
    )
    .await?;
    let mut listed = Vec::new();
    for instance in instances.iter().filter(|i| i.status.is_registered()) {
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
