//! The SQL of `ecs_tasks`, as functions of the store: loading tasks by what handlers and
//! agents ask for, recording a launch's new tasks, and updating one, with the instance
//! counters and the task sequence number those writes keep.
//!
//! Guarantees: new tasks are recorded (with their placement, tags and the resources they
//! reserve on their instances) in one transaction; every change of a task's desired state
//! takes a new sequence number, so a poll that asks for every change after the agent's last
//! applied number converges whatever it missed; updates are optimistic (a version check in
//! the writing statement, retried), so concurrent StopTask and state reports never overwrite
//! each other, and a task's instance counters change in the same transaction as the task; a
//! stored status the model does not know is an internal error, never guessed at.
//!
//! A task's body is stored without the members kept [`APART`] (its statuses and version have
//! columns, its tags are ECS's tag table's), so DescribeTasks splices the stored text into its
//! answer as it is, beside those members, without parsing it (`body_bare`, migration 32: a
//! row written before keeps them until its next write, and is parsed and cut when described).

use aws_protocol::AwsError;
use serde_json::Value as Json;
use store::{Statement, Store, Value};

use super::row::TaskRow;
use super::status::{DesiredStatus, TaskStatus};
use crate::ecs::scheduler::Demand;
use crate::ecs::{self, invalid_parameter};
use crate::operations::internal;

fn stored<T>(word: &str, parse: fn(&str) -> Option<T>) -> Result<T, AwsError> {
    parse(word).ok_or_else(|| internal(format!("unknown task status `{word}`")))
}

impl TaskRow {
    const COLUMNS: &str =
        "arn, cluster_arn, container_instance_arn, desired_status, last_status, body, payload, version, updated_seq,
                           reserved_cpu, reserved_memory";

    /// `COLUMNS` but the payload (read as `null`): what checking a task needs.
    const CHECKED_COLUMNS: &str =
        "arn, cluster_arn, container_instance_arn, desired_status, last_status, body, 'null', version, updated_seq,
                           reserved_cpu, reserved_memory";

    fn from_row(row: &store::Row) -> Result<TaskRow, AwsError> {
        Ok(TaskRow {
            arn: row.text(0).map_err(internal)?,
            cluster_arn: row.text(1).map_err(internal)?,
            container_instance_arn: row.opt_text(2).map_err(internal)?,
            desired_status: stored(&row.text(3).map_err(internal)?, DesiredStatus::parse)?,
            last_status: stored(&row.text(4).map_err(internal)?, TaskStatus::parse)?,
            body: ecs::json_column(row, 5)?,
            payload: ecs::json_column(row, 6)?,
            version: row.int(7).map_err(internal)?,
            updated_seq: row.int(8).map_err(internal)?,
            reserved_cpu: row.int(9).map_err(internal)?,
            reserved_memory: row.int(10).map_err(internal)?,
        })
    }
}

/// The tasks matching `condition` (SQL over `ecs_tasks`, with `?` for `params`).
pub(crate) async fn load_tasks(store: &Store, condition: &str, params: Vec<Value>) -> Result<Vec<TaskRow>, AwsError> {
    load_with(store, TaskRow::COLUMNS, condition, params).await
}

async fn load_with(
    store: &Store,
    columns: &str,
    condition: &str,
    params: Vec<Value>,
) -> Result<Vec<TaskRow>, AwsError> {
    let rows =
        store.query(&format!("SELECT {columns} FROM ecs_tasks WHERE {condition}"), params).await.map_err(internal)?;
    rows.iter().map(TaskRow::from_row).collect()
}

/// One task of `account` by ARN.
pub(crate) async fn load_task(store: &Store, account: &str, arn: &str) -> Result<Option<TaskRow>, AwsError> {
    Ok(load_tasks(store, "arn = ? AND account_id = ?", vec![arn.into(), account.into()]).await?.into_iter().next())
}

/// The tasks of `account` among `arns`, by primary key, a hundred per query (a poll's stop
/// candidates); those not found are absent. What is sent to agents (`payload`) is not read:
/// it is `null` in these rows, which are for checking.
pub(crate) async fn load_many(store: &Store, account: &str, arns: &[String]) -> Result<Vec<TaskRow>, AwsError> {
    let mut tasks = Vec::with_capacity(arns.len());
    for some in arns.chunks(100) {
        let marks = vec!["?"; some.len()].join(", ");
        let mut params: Vec<Value> = vec![account.into()];
        params.extend(some.iter().map(|arn| Value::from(arn.as_str())));
        let condition = format!("account_id = ? AND arn IN ({marks})");
        tasks.extend(load_with(store, TaskRow::CHECKED_COLUMNS, &condition, params).await?);
    }
    Ok(tasks)
}

/// Members of ECS's `Task` that a stored body leaves out: the statuses and the version have
/// columns of their own, and the tags are ECS's tag table's (as they are now, not as
/// launched). Whoever describes a task writes them beside the body.
pub(crate) const APART: [&str; 4] = ["lastStatus", "desiredStatus", "version", "tags"];

/// A body's members but those kept [`APART`], serialized as they are (no copy of the body).
struct Bare<'a>(&'a Json);

impl serde::Serialize for Bare<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Json::Object(members) => {
                serializer.collect_map(members.iter().filter(|(name, _)| !APART.contains(&name.as_str())))
            }
            other => other.serialize(serializer),
        }
    }
}

/// A task's body as it is stored: without the members kept [`APART`].
pub(crate) fn stored_body(body: &Json) -> Result<String, AwsError> {
    serde_json::to_string(&Bare(body)).map_err(internal)
}

/// A task as DescribeTasks answers it: what it keeps apart from the body, and the stored body
/// as text, never parsed.
pub(crate) struct DescribedTask {
    pub arn: String,
    pub cluster_arn: String,
    pub desired_status: DesiredStatus,
    pub last_status: TaskStatus,
    pub version: i64,
    /// A JSON object without the members kept [`APART`].
    body: String,
}

impl DescribedTask {
    /// The length of the stored body, to size an answer.
    pub(crate) fn body_len(&self) -> usize {
        self.body.len()
    }

    /// Appends ECS's `Task` shape to `out`: the statuses, version and `tags`, then the stored
    /// body's members as they are.
    pub(crate) fn write(&self, tags: &Json, out: &mut Vec<u8>) -> Result<(), AwsError> {
        let members = self
            .body
            .trim()
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
            .ok_or_else(|| internal(format!("the stored body of {} is not a JSON object", self.arn)))?;
        out.extend_from_slice(br#"{"lastStatus":""#);
        out.extend_from_slice(self.last_status.as_str().as_bytes());
        out.extend_from_slice(br#"","desiredStatus":""#);
        out.extend_from_slice(self.desired_status.as_str().as_bytes());
        out.extend_from_slice(br#"","version":"#);
        out.extend_from_slice(self.version.saturating_add(1).to_string().as_bytes());
        out.extend_from_slice(br#","tags":"#);
        serde_json::to_writer(&mut *out, tags).map_err(internal)?;
        if !members.trim().is_empty() {
            out.push(b',');
            out.extend_from_slice(members.as_bytes());
        }
        out.push(b'}');
        Ok(())
    }
}

/// The tasks of `account` among `arns`, by primary key, a hundred per query (DescribeTasks
/// names at most that many), as DescribeTasks answers them; those not found are absent.
/// Neither the body nor what is sent to agents (`payload`) is parsed, except the body of a
/// row written before migration 32, which is cut to its bare form first.
pub(crate) async fn load_described(
    store: &Store,
    account: &str,
    arns: &[String],
) -> Result<Vec<DescribedTask>, AwsError> {
    let mut tasks = Vec::with_capacity(arns.len());
    for some in arns.chunks(100) {
        let marks = vec!["?"; some.len()].join(", ");
        let mut params: Vec<Value> = vec![account.into()];
        params.extend(some.iter().map(|arn| Value::from(arn.as_str())));
        let rows = store
            .query(
                &format!(
                    "SELECT arn, cluster_arn, desired_status, last_status, version, body, body_bare FROM ecs_tasks
                     WHERE account_id = ? AND arn IN ({marks})"
                ),
                params,
            )
            .await
            .map_err(internal)?;
        for row in &rows {
            let body = row.text(5).map_err(internal)?;
            let body = match row.int(6).map_err(internal)? {
                0 => stored_body(&serde_json::from_str(&body).map_err(internal)?)?,
                _ => body,
            };
            tasks.push(DescribedTask {
                arn: row.text(0).map_err(internal)?,
                cluster_arn: row.text(1).map_err(internal)?,
                desired_status: stored(&row.text(2).map_err(internal)?, DesiredStatus::parse)?,
                last_status: stored(&row.text(3).map_err(internal)?, TaskStatus::parse)?,
                version: row.int(4).map_err(internal)?,
                body,
            });
        }
    }
    Ok(tasks)
}

/// The tasks a RunTask with this client token already started in the cluster.
pub(crate) async fn started_with_token(
    store: &Store,
    cluster_arn: &str,
    token: &str,
) -> Result<Vec<TaskRow>, AwsError> {
    load_tasks(store, "cluster_arn = ? AND client_token = ?", vec![cluster_arn.into(), token.into()]).await
}

/// The tasks on an instance whose desired state changed after sequence number `after`, in
/// the order of their changes.
pub(crate) async fn changed_since(store: &Store, instance: &str, after: i64) -> Result<Vec<TaskRow>, AwsError> {
    load_tasks(
        store,
        "container_instance_arn = ? AND updated_seq > ? ORDER BY updated_seq",
        vec![instance.into(), Value::Int(after)],
    )
    .await
}

/// The tasks an instance is to run or has not yet stopped (its manifest): each one's ARN and
/// desired status, all a manifest lists, so no task's documents are read.
pub(crate) async fn on_instance(store: &Store, instance: &str) -> Result<Vec<(String, DesiredStatus)>, AwsError> {
    let rows = store
        .query(
            "SELECT arn, desired_status FROM ecs_tasks
             WHERE container_instance_arn = ? AND (desired_status = ? OR last_status <> ?)",
            vec![instance.into(), DesiredStatus::Running.as_str().into(), TaskStatus::Stopped.as_str().into()],
        )
        .await
        .map_err(internal)?;
    rows.iter()
        .map(|row| Ok((row.text(0).map_err(internal)?, stored(&row.text(1).map_err(internal)?, DesiredStatus::parse)?)))
        .collect()
}

/// A service's tasks that are meant to run, oldest first.
pub(crate) async fn of_service(store: &Store, cluster_arn: &str, service: &str) -> Result<Vec<TaskRow>, AwsError> {
    load_tasks(
        store,
        "cluster_arn = ? AND service_name = ? AND desired_status = ? ORDER BY created_at, arn",
        vec![cluster_arn.into(), service.into(), DesiredStatus::Running.as_str().into()],
    )
    .await
}

/// The newest `limit` stopped tasks that a service's deployment started since `since` (its
/// creation), newest first: what the deployment's failure count reads. The service's index
/// bounds the scan to the deployment's lifetime.
pub(crate) async fn stopped_of_deployment(
    store: &Store,
    cluster_arn: &str,
    service: &str,
    deployment: &str,
    since: i64,
    limit: i64,
) -> Result<Vec<TaskRow>, AwsError> {
    load_tasks(
        store,
        "cluster_arn = ? AND service_name = ? AND desired_status = ? AND created_at >= ? AND started_by = ?
         AND last_status = ? ORDER BY created_at DESC, arn DESC LIMIT ?",
        vec![
            cluster_arn.into(),
            service.into(),
            DesiredStatus::Stopped.as_str().into(),
            Value::Int(since),
            deployment.into(),
            TaskStatus::Stopped.as_str().into(),
            Value::Int(limit),
        ],
    )
    .await
}

/// What ListTasks filters on.
pub(crate) struct TaskFilter<'a> {
    pub cluster_arn: &'a str,
    /// `Pending` lists tasks meant to run that do not run yet.
    pub desired: DesiredStatus,
    pub container_instance_arn: Option<String>,
    pub started_by: Option<&'a str>,
    pub service_name: Option<&'a str>,
    pub family: Option<&'a str>,
}

/// Where a page of ListTasks starts: after the task created at `created_at` with `arn`
/// (tasks are listed oldest first, by ARN among those created in the same second).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskCursor {
    pub created_at: i64,
    pub arn: String,
}

/// One page of ListTasks: the ARNs, and where the next page starts if there is one.
#[derive(Debug, Default)]
pub(crate) struct TaskPage {
    pub arns: Vec<String>,
    pub next: Option<TaskCursor>,
}

/// The ARNs of the tasks `filter` matches, oldest first: at most `limit` after `after`. The
/// query reads at most `limit + 1` entries of the index on `(cluster_arn, desired_status,
/// created_at, arn)` (and of the instance's, given one), so a page costs the same however
/// many tasks the cluster holds.
pub(crate) async fn list(
    store: &Store,
    filter: &TaskFilter<'_>,
    after: Option<&TaskCursor>,
    limit: usize,
) -> Result<TaskPage, AwsError> {
    let mut condition = String::from("cluster_arn = ?");
    let mut params: Vec<Value> = vec![filter.cluster_arn.into()];
    match filter.desired {
        DesiredStatus::Pending => {
            condition.push_str(" AND desired_status = ? AND last_status <> ?");
            params.push(DesiredStatus::Running.as_str().into());
            params.push(TaskStatus::Running.as_str().into());
        }
        status => {
            condition.push_str(" AND desired_status = ?");
            params.push(status.as_str().into());
        }
    }
    if let Some(arn) = &filter.container_instance_arn {
        condition.push_str(" AND container_instance_arn = ?");
        params.push(arn.as_str().into());
    }
    if let Some(started_by) = filter.started_by {
        condition.push_str(" AND started_by = ?");
        params.push(started_by.into());
    }
    if let Some(service) = filter.service_name {
        condition.push_str(" AND service_name = ?");
        params.push(service.into());
    }
    if let Some(family) = filter.family {
        condition.push_str(" AND task_group = ?");
        params.push(format!("family:{family}").into());
    }
    if let Some(cursor) = after {
        condition.push_str(" AND (created_at, arn) > (?, ?)");
        params.extend([Value::Int(cursor.created_at), cursor.arn.as_str().into()]);
    }
    params.push(Value::Int(i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX)));
    let rows = store
        .query(
            &format!("SELECT arn, created_at FROM ecs_tasks WHERE {condition} ORDER BY created_at, arn LIMIT ?"),
            params,
        )
        .await
        .map_err(internal)?;
    let mut page = TaskPage::default();
    for row in rows.iter().take(limit) {
        let arn = row.text(0).map_err(internal)?;
        page.next = Some(TaskCursor { created_at: row.int(1).map_err(internal)?, arn: arn.clone() });
        page.arns.push(arn);
    }
    if rows.len() <= limit {
        page.next = None;
    }
    Ok(page)
}

/// The statements that take the next task sequence number and give it to `arn`.
fn sequence_statements(arn: &str) -> [Statement; 2] {
    [
        Statement::new("UPDATE ecs_sequence SET value = value + 1 WHERE name = 'tasks'", Vec::new()),
        Statement::new(
            "UPDATE ecs_tasks SET updated_seq = (SELECT value FROM ecs_sequence WHERE name = 'tasks') WHERE arn = ?",
            vec![arn.into()],
        ),
    ]
}

/// A task as written by `update`, and whether its agent must hear of it.
pub(crate) struct Updated {
    pub task: TaskRow,
    pub notify: bool,
}

/// Applies `change` to a task of `account` and writes it if it still has the version it was
/// read at, retrying on a concurrent change. `change` returns whether the agent must hear of
/// it (its desired state changed), which takes a new sequence number.
pub(crate) async fn update(
    store: &Store,
    account: &str,
    arn: &str,
    mut change: impl FnMut(&mut TaskRow) -> Result<bool, AwsError>,
) -> Result<Updated, AwsError> {
    for _ in 0..8 {
        let mut task = load_task(store, account, arn)
            .await?
            .ok_or_else(|| invalid_parameter("The referenced task was not found."))?;
        let version = task.version;
        let before = task.last_status;
        let notify = change(&mut task)?;
        task.version = version + 1;
        let stopped_at = task.body.get("stoppedAt").and_then(Json::as_i64);
        let mut statements = vec![Statement::guard(
            "UPDATE ecs_tasks SET desired_status = ?, last_status = ?, body = ?, body_bare = 1, version = ?,
                                  stopped_at = ?
             WHERE arn = ? AND version = ?",
            vec![
                task.desired_status.as_str().into(),
                task.last_status.as_str().into(),
                stored_body(&task.body)?.into(),
                Value::Int(task.version),
                Value::from(stopped_at),
                arn.into(),
                Value::Int(version),
            ],
        )];
        if notify {
            statements.extend(sequence_statements(arn));
        }
        statements.extend(counter_statement(&task, before));
        match store.transaction(statements).await {
            Ok(_) => return Ok(Updated { task, notify }),
            Err(store::StoreError::Unmet(_)) => continue,
            Err(error) => return Err(internal(error)),
        }
    }
    Err(AwsError::new("ServerException", 500, "The task is changing too quickly; retry."))
}

/// What a task's move from `before` to its current state changes in its instance's counters:
/// a task that stops frees what it reserved; one that starts running moves from pending to
/// running.
fn counter_statement(task: &TaskRow, before: TaskStatus) -> Option<Statement> {
    let instance = task.container_instance_arn.as_deref()?;
    let (was_live, is_live) = (before.is_live(), task.last_status.is_live());
    let (was_running, is_running) = (before == TaskStatus::Running, task.last_status == TaskStatus::Running);
    let counter = |running: bool| if running { "running_tasks" } else { "pending_tasks" };
    if was_live && !is_live {
        Some(Statement::new(
            format!(
                "UPDATE ecs_container_instances SET reserved_cpu = reserved_cpu - ?, reserved_memory = reserved_memory - ?,
                        {0} = {0} - 1 WHERE arn = ?",
                counter(was_running)
            ),
            vec![Value::Int(task.reserved_cpu), Value::Int(task.reserved_memory), instance.into()],
        ))
    } else if was_live && !was_running && is_running {
        Some(Statement::new(
            "UPDATE ecs_container_instances SET pending_tasks = pending_tasks - 1, running_tasks = running_tasks + 1 WHERE arn = ?",
            vec![instance.into()],
        ))
    } else {
        None
    }
}

/// A validated launch: the task definition with overrides, and how tasks are labelled.
pub(crate) struct Launch {
    pub definition: Json,
    pub containers: Vec<Json>,
    pub overrides: Json,
    pub demand: Demand,
    pub started_by: Option<String>,
    pub group: String,
    pub tags: Vec<(String, String)>,
    pub service_name: Option<String>,
    pub client_token: Option<String>,
}

/// Records new tasks of a launch (their rows, sequence numbers, tags, and what they reserve
/// in their instances' counters) in one transaction.
pub(crate) async fn insert(
    store: &Store,
    account: &str,
    tasks: &[TaskRow],
    launch: &Launch,
    now: i64,
) -> Result<(), AwsError> {
    let mut statements = Vec::new();
    for task in tasks {
        statements.push(Statement::new(
        "INSERT INTO ecs_tasks (arn, account_id, cluster_arn, container_instance_arn, task_definition_arn, service_name, started_by,
                                task_group, desired_status, last_status, body, body_bare, payload, version, reserved_cpu,
                                reserved_memory, reserved_ports, client_token, created_at, updated_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, 0, ?, ?, ?, ?, ?, 0)",
        vec![
            task.arn.as_str().into(),
            account.into(),
            task.cluster_arn.as_str().into(),
            Value::from(task.container_instance_arn.clone()),
            launch.definition.get("taskDefinitionArn").and_then(Json::as_str).unwrap_or_default().into(),
            Value::from(launch.service_name.clone()),
            Value::from(launch.started_by.clone()),
            launch.group.as_str().into(),
            task.desired_status.as_str().into(),
            task.last_status.as_str().into(),
            stored_body(&task.body)?.into(),
            task.payload.to_string().into(),
            Value::Int(task.reserved_cpu),
            Value::Int(task.reserved_memory),
            serde_json::to_string(&launch.demand.ports).map_err(internal)?.into(),
            Value::from(launch.client_token.clone()),
            Value::Int(now),
        ],
    ));
        statements.extend(sequence_statements(&task.arn));
        statements.extend(ecs::set_tags(account, &task.arn, &launch.tags));
        let Some(instance_arn) = task.container_instance_arn.as_deref() else { continue };
        statements.push(Statement::new(
            "UPDATE ecs_container_instances SET reserved_cpu = reserved_cpu + ?, reserved_memory = reserved_memory + ?,
                pending_tasks = pending_tasks + 1 WHERE arn = ?",
            vec![Value::Int(task.reserved_cpu), Value::Int(task.reserved_memory), instance_arn.into()],
        ));
    }
    store.transaction(statements).await.map_err(internal)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;
    use crate::ecs::model::container_instance::tests::{ACCOUNT, CLUSTER, register, temp_store};
    use crate::ecs::model::container_instance::{SpecCache, Which, find_instance, instances_where};
    use crate::ecs::model::task::row::tests::{new_task, report, task_arn};

    fn launch(group: &str) -> Launch {
        Launch {
            definition: json!({"taskDefinitionArn": "arn:aws:ecs:us-east-1:111122223333:task-definition/web:1"}),
            containers: Vec::new(),
            overrides: json!({}),
            demand: Demand { cpu: 256, memory: 512, ports: Vec::new() },
            started_by: None,
            group: group.to_owned(),
            tags: Vec::new(),
            service_name: None,
            client_token: Some("token-1".to_owned()),
        }
    }

    #[tokio::test]
    async fn a_task_reserves_on_its_instance_until_it_stops_and_each_desired_change_takes_a_sequence_number() {
        let temp = temp_store().await;
        let store = &temp.store;
        let specs = SpecCache::default();
        let instance = register(store, "a").await;
        insert(store, ACCOUNT, &[new_task("t1", &instance), new_task("t2", &instance)], &launch("family:web"), 1000)
            .await
            .unwrap();
        let counters = || async {
            let none = crate::ecs::model::container_instance::Groups::None;
            instances_where(store, &specs, CLUSTER, Which::All, none, true).await.unwrap().1
        };
        let held = counters().await[&instance].clone();
        assert_eq!((held.cpu, held.memory, held.pending, held.running), (512, 1024, 2, 0));
        let t1 = load_task(store, ACCOUNT, &task_arn("t1")).await.unwrap().unwrap();
        assert_eq!(
            (t1.desired_status, t1.last_status, t1.updated_seq),
            (DesiredStatus::Running, TaskStatus::Pending, 1)
        );
        assert!(load_task(store, "999988887777", &task_arn("t1")).await.unwrap().is_none(), "another account's");
        assert_eq!(started_with_token(store, CLUSTER, "token-1").await.unwrap().len(), 2);

        // Running moves it from pending to running; no news for the agent, no new number.
        let updated =
            update(store, ACCOUNT, &task_arn("t1"), |t| Ok(t.record_report(&report(TaskStatus::Running), 1010)))
                .await
                .unwrap();
        assert_eq!((updated.notify, updated.task.version), (false, 1));
        let held = counters().await[&instance].clone();
        assert_eq!((held.pending, held.running), (1, 1));
        assert_eq!(
            changed_since(store, &instance, 1).await.unwrap().iter().map(|t| t.arn.clone()).collect::<Vec<_>>(),
            [task_arn("t2")]
        );

        // A stop is news: a new sequence number; once stopped it frees what it held.
        let stopping =
            update(store, ACCOUNT, &task_arn("t1"), |t| Ok(t.record_stop("UserInitiated", "bye", 1020, false)))
                .await
                .unwrap();
        assert!(stopping.notify);
        let changed = changed_since(store, &instance, 2).await.unwrap();
        assert_eq!((changed.len(), changed[0].arn.as_str(), changed[0].updated_seq), (1, task_arn("t1").as_str(), 3));
        assert_eq!(counters().await[&instance].running, 1, "still running until the agent says it stopped");
        update(store, ACCOUNT, &task_arn("t1"), |t| Ok(t.record_report(&report(TaskStatus::Stopped), 1030)))
            .await
            .unwrap();
        let held = counters().await[&instance].clone();
        assert_eq!((held.cpu, held.memory, held.pending, held.running), (256, 512, 1, 0));
        let stored = store
            .query(
                "SELECT desired_status, last_status, stopped_at FROM ecs_tasks WHERE arn = ?",
                vec![task_arn("t1").into()],
            )
            .await
            .unwrap();
        assert_eq!(
            (stored[0].text(0).unwrap(), stored[0].text(1).unwrap(), stored[0].opt_int(2).unwrap()),
            ("STOPPED".to_owned(), "STOPPED".to_owned(), Some(1030))
        );
        assert_eq!(find_instance(store, &specs, ACCOUNT, &instance).await.unwrap().unwrap().arn, instance);
    }

    #[tokio::test]
    async fn list_filters_by_desired_status_with_pending_as_meant_to_run_but_not_running() {
        let temp = temp_store().await;
        let store = &temp.store;
        let instance = register(store, "a").await;
        let tasks = [new_task("pending", &instance), new_task("running", &instance), new_task("stopped", &instance)];
        insert(store, ACCOUNT, &tasks, &launch("family:web"), 1000).await.unwrap();
        update(store, ACCOUNT, &task_arn("running"), |t| Ok(t.record_report(&report(TaskStatus::Running), 1)))
            .await
            .unwrap();
        update(store, ACCOUNT, &task_arn("stopped"), |t| Ok(t.record_stop("UserInitiated", "x", 2, true)))
            .await
            .unwrap();
        let listed = |desired, family: Option<&'static str>| {
            let filter = TaskFilter {
                cluster_arn: CLUSTER,
                desired,
                container_instance_arn: Some(instance.clone()),
                started_by: None,
                service_name: None,
                family,
            };
            async move { list(store, &filter, None, 100).await.unwrap().arns }
        };
        assert_eq!(listed(DesiredStatus::Running, None).await, [task_arn("pending"), task_arn("running")]);
        assert_eq!(listed(DesiredStatus::Pending, None).await, [task_arn("pending")]);
        assert_eq!(listed(DesiredStatus::Stopped, None).await, [task_arn("stopped")]);
        assert_eq!(listed(DesiredStatus::Running, Some("web")).await.len(), 2);
        assert!(listed(DesiredStatus::Running, Some("db")).await.is_empty());
        let manifest: Vec<String> =
            on_instance(store, &instance).await.unwrap().into_iter().map(|(arn, _)| arn).collect();
        assert_eq!(manifest.len(), 2, "a stopped task leaves the manifest: {manifest:?}");
        assert!(!manifest.contains(&task_arn("stopped")));
    }

    #[tokio::test]
    async fn list_pages_by_key_oldest_first_over_more_tasks_than_a_page() {
        let temp = temp_store().await;
        let store = &temp.store;
        let instance = register(store, "a").await;
        // Two seconds of launches, so a page boundary falls inside a second and across one.
        let first: Vec<TaskRow> = (0..7).map(|n| new_task(&format!("b{n}"), &instance)).collect();
        let second: Vec<TaskRow> = (0..5).map(|n| new_task(&format!("a{n}"), &instance)).collect();
        insert(store, ACCOUNT, &first, &launch("family:web"), 1000).await.unwrap();
        insert(store, ACCOUNT, &second, &launch("family:web"), 1001).await.unwrap();
        let mut expected: Vec<String> = (0..7).map(|n| task_arn(&format!("b{n}"))).collect();
        expected.sort();
        let mut later: Vec<String> = (0..5).map(|n| task_arn(&format!("a{n}"))).collect();
        later.sort();
        expected.extend(later);
        let filter = TaskFilter {
            cluster_arn: CLUSTER,
            desired: DesiredStatus::Running,
            container_instance_arn: None,
            started_by: None,
            service_name: None,
            family: None,
        };
        for size in [1, 4, 5, 7, 11, 12, 13] {
            let (mut listed, mut after, mut pages) = (Vec::new(), None, 0);
            loop {
                let page = list(store, &filter, after.as_ref(), size).await.unwrap();
                assert!(page.arns.len() <= size);
                listed.extend(page.arns);
                pages += 1;
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            assert_eq!(listed, expected, "pages of {size}");
            assert_eq!(pages, expected.len().div_ceil(size), "no empty last page with pages of {size}");
        }
        let stopped = TaskFilter { desired: DesiredStatus::Stopped, ..filter };
        assert!(list(store, &stopped, None, 5).await.unwrap().arns.is_empty());
    }

    /// What DescribeTasks answers for these ARNs, parsed back.
    async fn described(store: &Store, arns: &[String], tags: &Json) -> Vec<Json> {
        let mut answers = Vec::new();
        for task in load_described(store, ACCOUNT, arns).await.unwrap() {
            let mut out = Vec::new();
            task.write(tags, &mut out).unwrap();
            answers.push(serde_json::from_slice(&out).unwrap());
        }
        answers
    }

    #[tokio::test]
    async fn a_described_task_is_its_stored_body_spliced_beside_its_statuses_version_and_tags() {
        let temp = temp_store().await;
        let store = &temp.store;
        let instance = register(store, "a").await;
        let mut task = new_task("t", &instance);
        // What create_tasks puts in a new task's body: the launch's tags, kept apart when stored.
        crate::ecs::put(&mut task.body, "tags", json!([{"key": "team", "value": "a"}]));
        insert(store, ACCOUNT, &[task], &launch("family:web"), 1000).await.unwrap();
        let stored = store.query("SELECT body, body_bare FROM ecs_tasks", Vec::new()).await.unwrap();
        let body: Json = serde_json::from_str(&stored[0].text(0).unwrap()).unwrap();
        assert!(APART.iter().all(|member| body.get(member).is_none()), "stored bare: {body}");
        assert_eq!(stored[0].int(1).unwrap(), 1);
        update(store, ACCOUNT, &task_arn("t"), |t| Ok(t.record_report(&report(TaskStatus::Running), 1010)))
            .await
            .unwrap();

        let now_tags = json!([{"key": "team", "value": "b"}]);
        let answers = described(store, &[task_arn("t"), task_arn("absent")], &now_tags).await;
        let loaded = load_task(store, ACCOUNT, &task_arn("t")).await.unwrap().unwrap();
        let mut expected = loaded.describe();
        crate::ecs::put(&mut expected, "tags", now_tags.clone());
        assert_eq!(answers, [expected.clone()], "the same document as a parsed row describes, absent ones left out");
        assert_eq!((expected["lastStatus"].as_str(), expected["version"].as_i64()), (Some("RUNNING"), Some(2)));

        // A row written before migration 32 holds the members kept apart: they are cut.
        let mut old = expected.clone();
        crate::ecs::put(&mut old, "lastStatus", "PENDING");
        crate::ecs::put(&mut old, "tags", json!([{"key": "stale", "value": "x"}]));
        store.execute("UPDATE ecs_tasks SET body = ?, body_bare = 0", vec![old.to_string().into()]).await.unwrap();
        assert_eq!(described(store, &[task_arn("t")], &now_tags).await, [expected]);

        // An empty stored object still makes a document; a body that is not an object is an
        // internal error, never sent as it is.
        store.execute("UPDATE ecs_tasks SET body = ' {} ', body_bare = 1", Vec::new()).await.unwrap();
        assert_eq!(
            described(store, &[task_arn("t")], &json!([])).await,
            [json!({"lastStatus": "RUNNING", "desiredStatus": "RUNNING", "version": 2, "tags": []})]
        );
        store.execute("UPDATE ecs_tasks SET body = '[1]'", Vec::new()).await.unwrap();
        let broken = load_described(store, ACCOUNT, &[task_arn("t")]).await.unwrap();
        assert_eq!(broken[0].write(&json!([]), &mut Vec::new()).err().unwrap().status, 500);
    }

    #[tokio::test]
    async fn an_update_of_a_missing_task_says_so_and_an_unknown_stored_status_is_refused() {
        let temp = temp_store().await;
        let store = &temp.store;
        let missing = update(store, ACCOUNT, &task_arn("none"), |_| Ok(true)).await.err().unwrap();
        assert_eq!((missing.status, missing.message.as_str()), (400, "The referenced task was not found."));
        let instance = register(store, "a").await;
        insert(store, ACCOUNT, &[new_task("t", &instance)], &launch("g"), 1).await.unwrap();
        store.execute("UPDATE ecs_tasks SET last_status = 'LOST'", Vec::new()).await.unwrap();
        assert_eq!(load_task(store, ACCOUNT, &task_arn("t")).await.err().unwrap().status, 500);
        assert!(stored("GONE", TaskStatus::parse).is_err());
    }
}
