//! A stored task (`TaskRow`) and its state machine: how an agent's report, a stop and a lost
//! instance are recorded in it, what ECS answers of it and what its agent is sent, and its
//! health from its containers'.
//!
//! Guarantees: a report that would move the task back, or stop it again, changes nothing (so
//! a stopped task keeps when and why it stopped); a task told to stop keeps its first reason;
//! each recording says whether the desired state changed (the agent must hear of it). Pure:
//! no I/O, the caller passes the time.

use serde_json::Value as Json;

use super::status::{DesiredStatus, TaskStatus};
use crate::ecs::put;

/// The id of a task: the last part of its ARN (also its role sessions' name).
pub(crate) fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// A stored task.
#[derive(Debug, Clone)]
pub(crate) struct TaskRow {
    pub arn: String,
    pub cluster_arn: String,
    pub container_instance_arn: Option<String>,
    pub desired_status: DesiredStatus,
    pub last_status: TaskStatus,
    pub body: Json,
    pub payload: Json,
    pub version: i64,
    pub updated_seq: i64,
    pub reserved_cpu: i64,
    pub reserved_memory: i64,
}

/// What an agent reported of a task (SubmitTaskStateChange), decoded.
pub(crate) struct StateReport<'a> {
    pub status: TaskStatus,
    /// Its containers' reports.
    pub containers: &'a [Json],
    /// `pullStartedAt` and the like, as epoch seconds.
    pub times: Vec<(&'static str, Json)>,
    /// Why it stopped, if it stopped on its own.
    pub reason: Option<&'a str>,
}

impl TaskRow {
    /// ECS's `Task` shape: the stored document with the current statuses.
    pub(crate) fn describe(&self) -> Json {
        let mut task = self.body.clone();
        put(&mut task, "lastStatus", self.last_status.as_str());
        put(&mut task, "desiredStatus", self.desired_status.as_str());
        put(&mut task, "version", self.version + 1);
        task
    }

    /// What the agent needs to run it (a `TaskMessage`'s `task`).
    pub(crate) fn message(&self) -> Json {
        let mut payload = self.payload.clone();
        put(&mut payload, "taskArn", self.arn.as_str());
        put(&mut payload, "desiredStatus", self.desired_status.as_str());
        payload
    }

    /// Whether the task is to run on `instance` (what stop verification keeps).
    pub(crate) fn meant_to_run_on(&self, instance: &str) -> bool {
        self.desired_status == DesiredStatus::Running && self.container_instance_arn.as_deref() == Some(instance)
    }

    /// Records an agent's report; returns whether the desired state changed (the agent must
    /// hear of it). A report that would move the task back, or stop it again, changes
    /// nothing.
    pub(crate) fn record_report(&mut self, report: &StateReport<'_>, now: i64) -> bool {
        if !self.last_status.may_become(report.status) {
            return false;
        }
        self.apply_containers(report.containers);
        for (member, value) in &report.times {
            put(&mut self.body, member, value.clone());
        }
        self.last_status = report.status;
        match report.status {
            TaskStatus::Running => {
                if self.body.get("startedAt").is_none() {
                    put(&mut self.body, "startedAt", now);
                }
                put(&mut self.body, "connectivity", "CONNECTED");
                put(&mut self.body, "connectivityAt", now);
                false
            }
            TaskStatus::Stopped => {
                put(&mut self.body, "stoppedAt", now);
                if self.desired_status == DesiredStatus::Stopped {
                    return false;
                }
                // It stopped on its own: ECS records why and no longer wants it running.
                self.desired_status = DesiredStatus::Stopped;
                let reason = report.reason.unwrap_or("Essential container in task exited");
                let code =
                    if self.body.get("startedAt").is_some() { "EssentialContainerExited" } else { "TaskFailedToStart" };
                put(&mut self.body, "stopCode", code);
                put(&mut self.body, "stoppedReason", reason);
                put(&mut self.body, "stoppingAt", now);
                true
            }
            _ => false,
        }
    }

    /// Records that the task is to stop (ECS's `stopCode` and `stoppedReason`); returns
    /// whether that is news (a task already told to stop keeps its first reason). A task whose
    /// instance is gone is stopped at once, since no agent will report it.
    pub(crate) fn record_stop(&mut self, stop_code: &str, reason: &str, now: i64, instance_gone: bool) -> bool {
        if self.desired_status == DesiredStatus::Stopped {
            return false;
        }
        self.desired_status = DesiredStatus::Stopped;
        put(&mut self.body, "stoppingAt", now);
        put(&mut self.body, "stopCode", stop_code);
        put(&mut self.body, "stoppedReason", reason);
        if instance_gone {
            self.last_status = TaskStatus::Stopped;
            put(&mut self.body, "stoppedAt", now);
        }
        true
    }

    /// Records that the task stopped with its lost instance (the service scheduler's doing).
    pub(crate) fn record_lost(&mut self, reason: &str, now: i64) {
        self.desired_status = DesiredStatus::Stopped;
        self.last_status = TaskStatus::Stopped;
        put(&mut self.body, "stopCode", "ServiceSchedulerInitiated");
        put(&mut self.body, "stoppedReason", reason);
        put(&mut self.body, "stoppingAt", now);
        put(&mut self.body, "stoppedAt", now);
    }

    /// Applies containers' reports and recomputes the task's health.
    pub(crate) fn apply_containers(&mut self, reports: &[Json]) {
        for report in reports {
            apply_container(&mut self.body, report);
        }
        let health = task_health(&self.body, &self.payload);
        put(&mut self.body, "healthStatus", health);
    }
}

/// Applies one container's reported state to a task document.
fn apply_container(body: &mut Json, report: &Json) {
    let name = report.get("containerName").and_then(Json::as_str).unwrap_or_default();
    let Some(containers) = body.get_mut("containers").and_then(Json::as_array_mut) else { return };
    let Some(container) = containers.iter_mut().find(|c| c.get("name").and_then(Json::as_str) == Some(name)) else {
        return;
    };
    if let Some(status) = report.get("status").and_then(Json::as_str) {
        put(container, "lastStatus", status);
    }
    for member in ["runtimeId", "exitCode", "reason", "networkBindings"] {
        if let Some(value) = report.get(member).filter(|v| !v.is_null()) {
            put(container, member, value.clone());
        }
    }
    // Homeport's agent adds the container's health (ECS's agent sends it on its own channel).
    if let Some(health) = report.get("healthStatus").and_then(Json::as_str).filter(|h| HEALTH.contains(h)) {
        put(container, "healthStatus", health);
    }
}

const HEALTH: [&str; 3] = ["HEALTHY", "UNHEALTHY", "UNKNOWN"];

/// The task's health from its containers', as ECS decides it: the essential containers
/// with a health check count (the others only when no essential one has a check); any
/// `UNHEALTHY` makes the task `UNHEALTHY`, else any `UNKNOWN` makes it `UNKNOWN`, else it is
/// `HEALTHY`; without a counted container it is `UNKNOWN`.
pub(crate) fn task_health(body: &Json, payload: &Json) -> &'static str {
    let definitions = payload.get("containers").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    let checked = |essential: bool| -> Vec<&str> {
        definitions
            .iter()
            .filter(|d| d.get("healthCheck").is_some_and(|h| !h.is_null()))
            .filter(|d| d.get("essential").and_then(Json::as_bool).unwrap_or(true) == essential)
            .filter_map(|d| d.get("name").and_then(Json::as_str))
            .collect()
    };
    let mut counted = checked(true);
    if counted.is_empty() {
        counted = checked(false);
    }
    let containers = body.get("containers").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    let health = |name: &str| {
        containers
            .iter()
            .find(|c| c.get("name").and_then(Json::as_str) == Some(name))
            .and_then(|c| c.get("healthStatus").and_then(Json::as_str))
            .unwrap_or("UNKNOWN")
    };
    let statuses: Vec<&str> = counted.iter().map(|name| health(name)).collect();
    if statuses.contains(&"UNHEALTHY") {
        "UNHEALTHY"
    } else if statuses.is_empty() || statuses.contains(&"UNKNOWN") {
        "UNKNOWN"
    } else {
        "HEALTHY"
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::indexing_slicing, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;
    use crate::ecs::model::container_instance::tests::CLUSTER;

    pub(crate) fn task_arn(id: &str) -> String {
        format!("arn:aws:ecs:us-east-1:111122223333:task/edge/{id}")
    }

    /// A new task (as `create_tasks` makes it) on `instance`, reserving 256 CPU and 512 MiB.
    pub(crate) fn new_task(id: &str, instance: &str) -> TaskRow {
        TaskRow {
            arn: task_arn(id),
            cluster_arn: CLUSTER.to_owned(),
            container_instance_arn: Some(instance.to_owned()),
            desired_status: DesiredStatus::Running,
            last_status: TaskStatus::Pending,
            body: json!({"taskArn": task_arn(id), "containers": [{"name": "web", "lastStatus": "PENDING"}]}),
            payload: json!({"containers": [{"name": "web"}]}),
            version: 0,
            updated_seq: 0,
            reserved_cpu: 256,
            reserved_memory: 512,
        }
    }

    pub(crate) fn report(status: TaskStatus) -> StateReport<'static> {
        StateReport { status, containers: &[], times: Vec::new(), reason: None }
    }

    #[test]
    fn a_report_records_running_and_a_stop_on_its_own_with_ecs_reasons() {
        let mut task = new_task("a", "i");
        assert!(!task.record_report(&report(TaskStatus::Running), 100), "running is no news to the agent");
        assert_eq!(task.last_status, TaskStatus::Running);
        assert_eq!(
            (task.body["startedAt"].as_i64(), task.body["connectivity"].as_str()),
            (Some(100), Some("CONNECTED"))
        );
        // A late PENDING changes nothing.
        let before = task.body.clone();
        assert!(!task.record_report(&report(TaskStatus::Pending), 101));
        assert_eq!((task.last_status, &task.body), (TaskStatus::Running, &before));
        // It stopped on its own: no longer wanted, and the agent hears of it.
        let exited = StateReport { reason: Some("web exited"), ..report(TaskStatus::Stopped) };
        assert!(task.record_report(&exited, 200));
        assert_eq!((task.desired_status, task.last_status), (DesiredStatus::Stopped, TaskStatus::Stopped));
        assert_eq!(task.body["stopCode"], "EssentialContainerExited");
        assert_eq!(task.body["stoppedReason"], "web exited");
        // The agent's retry of the stop report moves nothing.
        assert!(!task.record_report(&report(TaskStatus::Stopped), 300));
        assert_eq!(task.body["stoppedAt"], 200);

        let mut never_started = new_task("b", "i");
        assert!(never_started.record_report(&report(TaskStatus::Stopped), 50));
        assert_eq!(never_started.body["stopCode"], "TaskFailedToStart");
        assert_eq!(never_started.body["stoppedReason"], "Essential container in task exited");
    }

    #[test]
    fn a_stop_keeps_its_first_reason_and_stops_at_once_without_an_instance() {
        let mut task = new_task("a", "i");
        assert!(task.record_stop("UserInitiated", "first", 10, false));
        assert_eq!((task.desired_status, task.last_status), (DesiredStatus::Stopped, TaskStatus::Pending));
        assert!(task.body.get("stoppedAt").is_none(), "the agent reports when it has stopped");
        assert!(!task.record_stop("ServiceSchedulerInitiated", "second", 20, false));
        assert_eq!(
            (task.body["stopCode"].as_str(), task.body["stoppedReason"].as_str()),
            (Some("UserInitiated"), Some("first"))
        );

        let mut orphan = new_task("b", "i");
        assert!(orphan.record_stop("UserInitiated", "gone", 30, true));
        assert_eq!((orphan.last_status, orphan.body["stoppedAt"].as_i64()), (TaskStatus::Stopped, Some(30)));

        let mut lost = new_task("c", "i");
        lost.record_lost("lost", 40);
        assert_eq!((lost.desired_status, lost.last_status), (DesiredStatus::Stopped, TaskStatus::Stopped));
        assert_eq!(lost.body["stopCode"], "ServiceSchedulerInitiated");
    }

    #[test]
    fn containers_reports_update_the_containers_and_the_health() {
        let mut task = new_task("a", "i");
        task.payload = json!({"containers": [{"name": "web", "healthCheck": {"command": ["CMD", "true"]}}]});
        task.apply_containers(&[
            json!({"containerName": "web", "status": "RUNNING", "exitCode": null, "healthStatus": "HEALTHY"}),
        ]);
        assert_eq!(task.body["containers"][0]["lastStatus"], "RUNNING");
        assert!(task.body["containers"][0].get("exitCode").is_none(), "a null is not recorded");
        assert_eq!(task.body["healthStatus"], "HEALTHY");
        task.apply_containers(&[json!({"containerName": "web", "healthStatus": "SICK"})]);
        assert_eq!(task.body["healthStatus"], "HEALTHY", "a health ECS does not know is ignored");
    }

    #[test]
    fn task_health_follows_the_counted_containers() {
        let payload = json!({"containers": [
            {"name": "web", "essential": true, "healthCheck": {"command": ["CMD", "true"]}},
            {"name": "db", "healthCheck": {"command": ["CMD", "true"]}},
            {"name": "side", "essential": false, "healthCheck": {"command": ["CMD", "true"]}},
            {"name": "plain"},
        ]});
        let body = |web: &str, db: &str, side: &str| {
            json!({"containers": [
                {"name": "web", "healthStatus": web}, {"name": "db", "healthStatus": db},
                {"name": "side", "healthStatus": side}, {"name": "plain", "healthStatus": "UNKNOWN"},
            ]})
        };
        for (web, db, side, task) in [
            ("HEALTHY", "HEALTHY", "UNHEALTHY", "HEALTHY"),
            ("HEALTHY", "UNKNOWN", "HEALTHY", "UNKNOWN"),
            ("UNKNOWN", "UNHEALTHY", "HEALTHY", "UNHEALTHY"),
            ("UNKNOWN", "UNKNOWN", "HEALTHY", "UNKNOWN"),
        ] {
            assert_eq!(task_health(&body(web, db, side), &payload), task, "{web} {db} {side}");
        }
        // Only non-essential containers have checks: they count.
        let sidecar_only = json!({"containers": [
            {"name": "web"}, {"name": "side", "essential": false, "healthCheck": {"command": ["CMD", "true"]}},
        ]});
        let reported = |side: &str| json!({"containers": [{"name": "web"}, {"name": "side", "healthStatus": side}]});
        assert_eq!(task_health(&reported("HEALTHY"), &sidecar_only), "HEALTHY");
        assert_eq!(task_health(&reported("UNHEALTHY"), &sidecar_only), "UNHEALTHY");
        // No health check at all: UNKNOWN.
        assert_eq!(
            task_health(&json!({"containers": [{"name": "web"}]}), &json!({"containers": [{"name": "web"}]})),
            "UNKNOWN"
        );
    }
}
