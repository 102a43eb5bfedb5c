//! The task writes an agent must hear of, which therefore take the `App` (to wake the poll of
//! the task's instance): creating a launch's tasks on their placements (RunTask, StartTask
//! and the service scheduler), stopping a task, and updating one.
//!
//! Guarantees: the poll of an instance is woken only after the change it must hear of is
//! committed; a task whose instance is gone is stopped at once, since no agent will report
//! it; the caller of `create_tasks` holds the cluster's placement lock.

use aws_protocol::AwsError;
use serde_json::{Value as Json, json};

use super::row::TaskRow;
use super::status::{DesiredStatus, TaskStatus};
use super::store::{Launch, Updated, insert, load_task, update};
use crate::app::App;
use crate::ecs::model::cluster::Cluster;
use crate::ecs::model::container_instance;
use crate::ecs::{self, put};
use crate::ids;
use crate::operations::internal;
use crate::regions::Scope;

/// `update`, then wakes the poll of the task's instance when its agent must hear of it.
pub(crate) async fn update_task(
    app: &App,
    arn: &str,
    change: impl FnMut(&mut TaskRow) -> Result<bool, AwsError>,
) -> Result<TaskRow, AwsError> {
    let Updated { task, notify } = update(&app.store, &app.account_id, arn, change).await?;
    if let (true, Some(instance)) = (notify, &task.container_instance_arn) {
        crate::ecs::channel::channels(app)?.wake(instance);
    }
    Ok(task)
}

/// Marks a task to stop (ECS's `stopCode` and `stoppedReason`); a task whose instance is gone
/// stops at once, since no agent will report it.
pub(crate) async fn stop(app: &App, arn: &str, stop_code: &str, reason: &str) -> Result<TaskRow, AwsError> {
    let instance_gone = match load_task(&app.store, &app.account_id, arn).await?.and_then(|t| t.container_instance_arn)
    {
        Some(instance) => !container_instance::is_registered(&app.store, &instance).await?,
        None => true,
    };
    let now = ids::now();
    update_task(app, arn, |task| Ok(task.record_stop(stop_code, reason, now, instance_gone))).await
}

/// Records one task per placement (and what it reserves, in its instance's counters) and
/// wakes the agents: what RunTask, StartTask and the service scheduler have in common. The
/// caller holds the cluster's placement lock.
pub(crate) async fn create_tasks(
    app: &App,
    cluster: &Cluster,
    launch: &Launch,
    placed: &[String],
) -> Result<Vec<TaskRow>, AwsError> {
    let now = ids::now();
    let cluster_name = cluster.name.as_str();
    let scope = Scope { account: &app.account_id, region: ecs::region_of(&cluster.arn) };
    let mut tasks = Vec::new();
    for instance_arn in placed {
        let id = ids::uuid().map_err(internal)?.replace('-', "");
        let arn = ecs::arn(scope, "task", &format!("{cluster_name}/{id}"));
        let containers: Vec<Json> = launch
            .containers
            .iter()
            .map(|c| {
                let name = c.get("name").and_then(Json::as_str).unwrap_or_default();
                let mut container = json!({
                    "containerArn": ecs::arn(scope, "container", &format!("{cluster_name}/{id}/{}", ids::uuid().unwrap_or_default())),
                    "taskArn": arn,
                    "name": name,
                    "image": c.get("image").cloned().unwrap_or(Json::Null),
                    "lastStatus": "PENDING",
                    "networkBindings": [],
                    "networkInterfaces": [],
                    "healthStatus": "UNKNOWN",
                    "cpu": c.get("cpu").and_then(Json::as_i64).unwrap_or(0).to_string(),
                });
                if let Some(memory) = c.get("memory").and_then(Json::as_i64) {
                    put(&mut container, "memory", memory.to_string());
                }
                if let Some(reservation) = c.get("memoryReservation").and_then(Json::as_i64) {
                    put(&mut container, "memoryReservation", reservation.to_string());
                }
                container
            })
            .collect();
        let mut body = json!({
            "taskArn": arn,
            "clusterArn": cluster.arn,
            "taskDefinitionArn": launch.definition.get("taskDefinitionArn").cloned().unwrap_or(Json::Null),
            "containerInstanceArn": instance_arn,
            "overrides": launch.overrides,
            "cpu": launch.demand.cpu.to_string(),
            "memory": launch.demand.memory.to_string(),
            "containers": containers,
            "createdAt": now,
            "group": launch.group,
            "launchType": "EXTERNAL",
            "attachments": [],
            "tags": launch.tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
            "healthStatus": "UNKNOWN",
            "enableExecuteCommand": false,
        });
        if let Some(started_by) = &launch.started_by {
            put(&mut body, "startedBy", started_by.as_str());
        }
        let mut payload = stored_payload(launch);
        // Each container learns its ARN (its task metadata's `ContainerARN`).
        if let Some(sent) = payload.get_mut("containers").and_then(Json::as_array_mut) {
            let described = body.get("containers").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
            for (sent, container) in sent.iter_mut().zip(described) {
                put(sent, "containerArn", container.get("containerArn").cloned().unwrap_or(Json::Null));
            }
        }
        tasks.push(TaskRow {
            arn,
            cluster_arn: cluster.arn.clone(),
            container_instance_arn: Some(instance_arn.clone()),
            desired_status: DesiredStatus::Running,
            last_status: TaskStatus::Pending,
            body,
            payload,
            version: 0,
            updated_seq: 0,
            reserved_cpu: launch.demand.cpu,
            reserved_memory: launch.demand.memory,
        });
    }
    insert(&app.store, &app.account_id, &tasks, launch, now).await?;
    for instance in placed {
        crate::ecs::channel::channels(app)?.wake(instance);
    }
    Ok(tasks)
}

/// The payload stored with each task of `launch`: what its agent is sent (`TaskRow::message`
/// adds the task's ARN and desired status), the definition's containers with the overrides
/// applied, as the launch has them.
fn stored_payload(launch: &Launch) -> Json {
    let mut payload = json!({
        "family": launch.definition.get("family").cloned().unwrap_or(Json::Null),
        "revision": launch.definition.get("revision").cloned().unwrap_or(Json::Null),
        "networkMode": launch.definition.get("networkMode").cloned().unwrap_or(json!("bridge")),
        "containers": launch.containers,
    });
    for member in ["taskRoleArn", "executionRoleArn", "cpu", "memory", "pidMode", "ipcMode"] {
        if let Some(value) = launch.definition.get(member) {
            put(&mut payload, member, value.clone());
        }
    }
    // The task metadata endpoint names a service's task's service, as ECS's does.
    if let Some(service) = &launch.service_name {
        put(&mut payload, "serviceName", service.as_str());
    }
    // The agent creates and mounts them; an empty list says nothing new.
    if let Some(volumes) = launch.definition.get("volumes").filter(|v| v.as_array().is_some_and(|a| !a.is_empty())) {
        put(&mut payload, "volumes", volumes.clone());
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::scheduler::Demand;

    fn launch(definition: Json, containers: Vec<Json>) -> Launch {
        Launch {
            definition,
            containers,
            overrides: json!({}),
            demand: Demand { cpu: 256, memory: 512, ports: Vec::new() },
            started_by: None,
            group: "family:web".to_owned(),
            tags: Vec::new(),
            service_name: None,
            client_token: None,
        }
    }

    #[test]
    fn the_stored_payload_is_pinned_byte_for_byte() {
        // What the agent is sent is this text (plus the task's ARN and desired status): a
        // change of its bytes is a change of the wire, so it is pinned here.
        let container = json!({
            "name": "app", "image": "busybox", "essential": true, "cpu": 0, "memory": 64,
            "environment": [{"name": "MODE", "value": "prod"}], "mountPoints": [],
            "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}],
        });
        let definition = json!({
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:111122223333:task-definition/web:3",
            "family": "web", "revision": 3, "networkMode": "host", "cpu": "256",
            "taskRoleArn": "arn:aws:iam::111122223333:role/app",
            "executionRoleArn": "arn:aws:iam::111122223333:role/exec",
            "containerDefinitions": [{"name": "ignored: the launch's containers are sent"}],
        });
        assert_eq!(
            stored_payload(&launch(definition, vec![container])).to_string(),
            concat!(
                r#"{"containers":[{"cpu":0,"environment":[{"name":"MODE","value":"prod"}],"essential":true,"#,
                r#""image":"busybox","memory":64,"mountPoints":[],"name":"app","#,
                r#""portMappings":[{"containerPort":80,"hostPort":0,"protocol":"tcp"}]}],"#,
                r#""cpu":"256","executionRoleArn":"arn:aws:iam::111122223333:role/exec","family":"web","#,
                r#""networkMode":"host","revision":3,"taskRoleArn":"arn:aws:iam::111122223333:role/app"}"#,
            )
        );
        // A service's task names its service (the task metadata endpoint shows it).
        let mut of_service = launch(json!({"family": "web", "revision": 1}), Vec::new());
        of_service.service_name = Some("web-svc".to_owned());
        assert_eq!(stored_payload(&of_service)["serviceName"], "web-svc");
        // Without roles or a network mode: bridge, and no role members; a definition without a
        // family or revision (never stored so) gives nulls.
        assert_eq!(
            stored_payload(&launch(json!({}), Vec::new())).to_string(),
            r#"{"containers":[],"family":null,"networkMode":"bridge","revision":null}"#
        );
    }
}
