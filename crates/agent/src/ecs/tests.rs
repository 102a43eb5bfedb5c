//! The engine's ordering guarantees, driven against the in-memory Docker
//! (`crate::docker::fake`) and, where the control plane takes part, a local HTTP server
//! that answers `{}` and writes each call into the same journal, so the order across both
//! is asserted. The engine runs as `serve` runs it (plan, save, settle each outcome), without
//! the poll and the reports, whose queue is inspected instead.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail loudly")]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::engine::{Engine, Signers};
use super::{DEFAULT_CLEANUP_AFTER, EcsOptions};
use crate::control_plane::ControlPlane;
use crate::credentials::RoleCredentials;
use crate::docker::fake::{FakeDocker, Journal};
use crate::ecs_registration::EcsState;
use crate::http::Endpoint;
use crate::reconcile::{ContainerState, ESSENTIAL_EXITED, Report, Status, TaskRecord};
use crate::state::StateDir;
use crate::task_roles::TaskRoles;
use crate::task_spec::{LABEL_AGENT, LABEL_CONTAINER_NAME, LABEL_INSTANCE, LABEL_TASK_ARN};

const INSTANCE: &str = "arn:aws:ecs:us-east-1:111122223333:container-instance/edge/11111111111111111111111111111111";
const EARLIER_INSTANCE: &str =
    "arn:aws:ecs:us-east-1:111122223333:container-instance/edge/22222222222222222222222222222222";
const TASK: &str = "arn:aws:ecs:us-east-1:111122223333:task/edge/0123456789abcdef0123456789abcdef";
const AGENT: &str = "agent-of-this-state-directory";

/// An engine over `docker`, with `tasks` in its table, signing as an instance whose
/// credentials last an hour; the control plane at `control_plane` (nothing listens on the
/// default: the test expects no call).
struct Harness {
    engine: Engine<FakeDocker>,
    docker: FakeDocker,
    state_dir: PathBuf,
    _credentials: watch::Sender<Option<RoleCredentials>>,
}

impl Harness {
    fn new(test: &str, docker: &FakeDocker, control_plane: Option<&str>, saved: EcsState) -> Harness {
        let state_dir = std::env::temp_dir().join(format!("homeport-agent-engine-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&state_dir);
        let state = StateDir::create(&state_dir).unwrap();
        let (sender, credentials) = watch::channel(Some(RoleCredentials {
            access_key_id: "ASIAENGINETEST".into(),
            secret_access_key: "secret".into(),
            session_token: "token".into(),
            expires_at: crate::now() + 3600,
        }));
        let control_plane = ControlPlane {
            endpoint: Endpoint::parse(control_plane.unwrap_or("http://127.0.0.1:9")).unwrap(),
            region: "us-east-1".into(),
        };
        let options = EcsOptions {
            cluster: "edge".into(),
            attributes: Vec::new(),
            reserved_memory_mib: 0,
            cleanup_after: DEFAULT_CLEANUP_AFTER,
            credentials_port: 0,
        };
        let signers = Signers {
            instance: credentials,
            task_roles: TaskRoles::new(),
            credentials_url: None,
            metadata: crate::metadata_endpoint::TaskMetadata::default(),
            agent_id: AGENT.into(),
        };
        let engine = Engine::new(state, control_plane, &options, docker.clone(), INSTANCE.into(), saved, signers);
        Harness { engine, docker: docker.clone(), state_dir, _credentials: sender }
    }

    /// Plans and settles, as `serve` does, until nothing is under way.
    async fn settle(&mut self) {
        for _ in 0..200 {
            self.engine.plan();
            self.engine.save();
            let next = tokio::time::timeout(Duration::from_secs(20), self.engine.ops.join_next()).await;
            let Some(joined) = next.expect("an operation hung") else { return };
            self.engine.settle(joined.unwrap());
        }
        panic!("the engine never came to rest");
    }

    /// Lists Docker's containers, as the engine does every second, and settles.
    async fn observe(&mut self) {
        self.engine.start_observe();
        self.settle().await;
    }

    fn task(&self) -> &TaskRecord {
        &self.engine.tasks[TASK]
    }

    fn runtime_id(&self, container: &str) -> String {
        self.task().containers.iter().find(|c| c.name == container).unwrap().runtime_id.clone().unwrap()
    }

    fn docker_name(&self, container: &str) -> String {
        crate::task_spec::docker_name_of(self.task().spec.as_ref().unwrap(), container)
    }

    /// The task statuses queued for reporting, with their reasons.
    fn reported(&self) -> Vec<(Status, Option<String>)> {
        self.engine
            .reporting
            .queue
            .iter()
            .filter_map(|report| match report {
                Report::Task { status, reason, .. } => Some((*status, reason.clone())),
                Report::Container { .. } => None,
            })
            .collect()
    }

    /// Where `call` is in the journal (the first time).
    fn position(&self, call: &str) -> usize {
        let calls = self.docker.calls();
        calls.iter().position(|c| c == call).unwrap_or_else(|| panic!("no `{call}` in {calls:#?}"))
    }

    /// Whether any call starts with `prefix`.
    fn called(&self, prefix: &str) -> bool {
        self.docker.calls().iter().any(|c| c.starts_with(prefix))
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

/// A table holding one task of `containers` that the control plane wants running.
fn wanted(containers: Value) -> EcsState {
    let spec = serde_json::from_value(json!({
        "taskArn": TASK, "family": "web", "revision": 1, "desiredStatus": "RUNNING", "containers": containers
    }))
    .unwrap();
    let tasks: BTreeMap<String, TaskRecord> = [(TASK.to_owned(), TaskRecord::from_spec(spec))].into_iter().collect();
    EcsState { cluster: "edge".into(), container_instance_arn: Some(INSTANCE.into()), sequence_number: 1, tasks }
}

fn journal() -> Journal {
    Journal::default()
}

/// A control plane that answers every call `{}` and writes `control-plane TARGET` into
/// `journal`: its base URL.
async fn control_plane(journal: Journal) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let journal = journal.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let count = stream.read(&mut chunk).await.unwrap();
                    if count == 0 {
                        return;
                    }
                    request.extend_from_slice(&chunk[..count]);
                    let text = String::from_utf8_lossy(&request).into_owned();
                    let Some(end) = text.find("\r\n\r\n") else { continue };
                    let header = |name: &str| {
                        text[..end].lines().find_map(|line| {
                            let (key, value) = line.split_once(':')?;
                            key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
                        })
                    };
                    let length: usize = header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
                    if request.len() < end + 4 + length {
                        continue;
                    }
                    journal
                        .lock()
                        .unwrap()
                        .push(format!("control-plane {}", header("x-amz-target").unwrap_or_default()));
                    let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\
                                  Connection: close\r\n\r\n{}";
                    stream.write_all(answer.as_bytes()).await.unwrap();
                    return;
                }
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_container_is_created_only_once_its_task_images_are_all_present() {
    let docker = FakeDocker::new(&["busybox:1"], journal());
    let containers = json!([
        {"name": "app", "image": "busybox:1", "essential": true},
        {"name": "proxy", "image": "nginx:1", "essential": true},
    ]);
    let mut harness = Harness::new("images", &docker, None, wanted(containers));
    harness.settle().await;

    let pulled = harness.position("pull nginx:1");
    assert!(harness.position("image_exists busybox:1") < pulled);
    assert!(!harness.called("pull busybox:1"), "a present image is not pulled again");
    for container in ["app", "proxy"] {
        assert!(pulled < harness.position(&format!("create {}", harness.docker_name(container))), "{container}");
    }
    assert!(harness.task().containers.iter().all(|c| c.state == ContainerState::Running));
    assert_eq!(harness.reported(), [(Status::Pending, None), (Status::Running, None)]);
}

#[tokio::test]
async fn a_failed_pull_stops_the_task_with_ecs_reason_and_creates_nothing() {
    let docker = FakeDocker::new(&[], journal());
    docker.refuse("pull", "nope:1", 404, "pull access denied for nope, repository does not exist");
    let mut harness = Harness::new("pull", &docker, None, wanted(json!([{"name": "app", "image": "nope:1"}])));
    harness.settle().await;

    let reason = "CannotPullContainerError: Error response from daemon: pull access denied for nope, repository does \
                  not exist";
    assert!(!harness.called("create"), "{:?}", docker.calls());
    assert_eq!(harness.task().desired, Status::Stopped);
    assert_eq!(harness.task().stop_reason.as_deref(), Some(reason));
    assert_eq!(harness.reported().last(), Some(&(Status::Stopped, Some(reason.to_owned()))));
}

#[tokio::test]
async fn the_awslogs_group_and_stream_are_created_before_the_container_starts() {
    let journal = journal();
    let url = control_plane(journal.clone()).await;
    let docker = FakeDocker::new(&["busybox:1"], journal);
    let containers = json!([{"name": "app", "image": "busybox:1", "logConfiguration": {"logDriver": "awslogs",
        "options": {"awslogs-group": "/ecs/web", "awslogs-create-group": "true", "awslogs-stream-prefix": "web"}}}]);
    let mut harness = Harness::new("awslogs", &docker, Some(&url), wanted(containers));
    harness.settle().await;

    let created = harness.position(&format!("create {}", harness.docker_name("app")));
    let group = harness.position("control-plane Logs_20140328.CreateLogGroup");
    let stream = harness.position("control-plane Logs_20140328.CreateLogStream");
    let started = harness.position(&format!("start {}", harness.runtime_id("app")));
    assert!(created < group && group < stream && stream < started, "{:#?}", docker.calls());
    // Shipping (its own task) follows the log only once the container has started.
    let follow = format!("logs {}", harness.runtime_id("app"));
    for _ in 0..100 {
        if harness.called(&follow) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(started < harness.position(&follow));
}

#[tokio::test]
async fn a_refused_awslogs_destination_fails_the_start_and_the_container_never_starts() {
    let docker = FakeDocker::new(&["busybox:1"], journal());
    let containers = json!([{"name": "app", "image": "busybox:1", "essential": true,
        "logConfiguration": {"logDriver": "awslogs", "options": {}}}]);
    let mut harness = Harness::new("awslogs-refused", &docker, None, wanted(containers));
    harness.settle().await;

    assert!(harness.called("create"));
    assert!(!harness.called("start"), "{:?}", docker.calls());
    let app = &harness.task().containers[0];
    assert_eq!(app.state, ContainerState::Stopped);
    let reason = app.reason.clone().unwrap_or_default();
    assert!(reason.contains("failed to initialize logging driver") && reason.contains("awslogs-group"), "{reason}");
    assert_eq!(harness.task().desired, Status::Stopped);
}

#[tokio::test]
async fn a_dependency_starts_before_the_container_that_depends_on_it_is_created() {
    let docker = FakeDocker::new(&["busybox:1"], journal());
    let containers = json!([
        {"name": "app", "image": "busybox:1", "essential": true,
         "dependsOn": [{"containerName": "db", "condition": "START"}]},
        {"name": "db", "image": "busybox:1", "essential": true},
    ]);
    let mut harness = Harness::new("depends-on", &docker, None, wanted(containers));
    harness.settle().await;

    let db_started = harness.position(&format!("start {}", harness.runtime_id("db")));
    assert!(db_started < harness.position(&format!("create {}", harness.docker_name("app"))));
    assert!(harness.task().containers.iter().all(|c| c.state == ContainerState::Running));
}

#[tokio::test]
async fn a_stopping_task_stops_its_dependents_before_their_dependencies() {
    let docker = FakeDocker::new(&["busybox:1"], journal());
    let containers = json!([
        {"name": "db", "image": "busybox:1", "essential": true},
        {"name": "app", "image": "busybox:1", "essential": true,
         "dependsOn": [{"containerName": "db", "condition": "START"}]},
    ]);
    let mut harness = Harness::new("stop-order", &docker, None, wanted(containers));
    harness.settle().await;
    harness.engine.tasks.get_mut(TASK).unwrap().desired = Status::Stopped;
    harness.settle().await;

    let app_stopped = harness.position(&format!("stop {}", harness.runtime_id("app")));
    assert!(app_stopped < harness.position(&format!("stop {}", harness.runtime_id("db"))));
    assert_eq!(harness.reported().last().map(|(status, _)| *status), Some(Status::Stopped));
}

#[tokio::test]
async fn an_essential_container_exiting_stops_the_tasks_other_containers() {
    let docker = FakeDocker::new(&["busybox:1"], journal());
    let containers = json!([
        {"name": "app", "image": "busybox:1", "essential": true},
        {"name": "sidecar", "image": "busybox:1", "essential": false},
    ]);
    let mut harness = Harness::new("essential", &docker, None, wanted(containers));
    harness.settle().await;
    assert!(!harness.called("stop"));

    let app = harness.runtime_id("app");
    docker.exit(&app, 3);
    harness.observe().await;

    assert!(harness.called(&format!("stop {}", harness.runtime_id("sidecar"))), "{:#?}", docker.calls());
    assert_eq!(docker.container(&harness.runtime_id("sidecar")).unwrap().state, "exited");
    assert_eq!(harness.task().stop_reason.as_deref(), Some(ESSENTIAL_EXITED));
    assert_eq!(harness.reported().last(), Some(&(Status::Stopped, Some(ESSENTIAL_EXITED.to_owned()))));
    assert_eq!(harness.task().containers[0].exit_code, Some(3));
}

#[tokio::test]
async fn a_non_essential_container_exiting_leaves_the_task_running() {
    let docker = FakeDocker::new(&["busybox:1"], journal());
    let containers = json!([
        {"name": "app", "image": "busybox:1", "essential": true},
        {"name": "migrate", "image": "busybox:1", "essential": false},
    ]);
    let mut harness = Harness::new("non-essential", &docker, None, wanted(containers));
    harness.settle().await;
    docker.exit(&harness.runtime_id("migrate"), 0);
    harness.observe().await;

    assert!(!harness.called("stop"), "{:?}", docker.calls());
    assert_eq!(harness.task().desired, Status::Running);
    assert_eq!(harness.reported().last().map(|(status, _)| *status), Some(Status::Running));
}

#[tokio::test]
async fn a_restarted_agent_adopts_its_running_task_and_never_starts_it_twice() {
    let docker = FakeDocker::new(&["busybox:1"], journal());
    let containers = json!([{"name": "app", "image": "busybox:1", "essential": true}]);
    let mut first = Harness::new("restart-1", &docker, None, wanted(containers));
    first.settle().await;
    let running = first.runtime_id("app");
    // What the first run leaves in ecs.json, as `serve` hands it back.
    let mut saved = first.engine.state();
    saved.tasks.values_mut().for_each(TaskRecord::forget_progress);
    drop(first);
    docker.journal.lock().unwrap().clear();

    let mut second = Harness::new("restart-2", &docker, None, saved);
    second.engine.adopt().await;
    second.settle().await;
    second.observe().await;

    for call in ["pull", "create", "start", "stop", "remove"] {
        assert!(!second.called(call), "{call} after a restart: {:?}", docker.calls());
    }
    assert_eq!(second.runtime_id("app"), running);
    assert_eq!(second.task().containers[0].state, ContainerState::Running);
}

#[tokio::test]
async fn a_running_task_the_agent_has_no_record_of_is_adopted_from_labels_not_started() {
    let docker = FakeDocker::new(&[], journal());
    let labels =
        [(LABEL_INSTANCE, INSTANCE), (LABEL_TASK_ARN, TASK), (LABEL_CONTAINER_NAME, "app"), (LABEL_AGENT, AGENT)];
    let id = docker.add_container("ecs-web-1-app-0123456789ab", &labels, "running");
    let mut harness = Harness::new("adopt-lost", &docker, None, EcsState::default());
    harness.engine.adopt().await;
    harness.settle().await;

    assert!(harness.task().spec.is_none(), "known from its labels only");
    assert_eq!(harness.runtime_id("app"), id);
    assert_eq!(harness.task().desired, Status::Running, "stopped only once stop verification confirms it");
    for call in ["pull", "create", "start", "stop", "remove"] {
        assert!(!harness.called(call), "{call}: {:?}", docker.calls());
    }
}

#[tokio::test]
async fn orphans_of_an_earlier_instance_go_and_another_agents_containers_stay() {
    let docker = FakeDocker::new(&[], journal());
    let labelled = |instance, agent| [(LABEL_INSTANCE, instance), (LABEL_TASK_ARN, TASK), (LABEL_AGENT, agent)];
    let orphan_running = docker.add_container("orphan-running", &labelled(EARLIER_INSTANCE, AGENT), "running");
    let orphan_exited = docker.add_container("orphan-exited", &labelled(EARLIER_INSTANCE, AGENT), "exited");
    let other_agents = docker.add_container("other-agent", &labelled(EARLIER_INSTANCE, "another-agent"), "running");
    let this_instances = docker.add_container("current", &labelled(INSTANCE, AGENT), "running");
    let mut harness = Harness::new("orphans", &docker, None, EcsState::default());
    harness.engine.adopt().await;
    harness.settle().await;

    assert!(
        harness.position(&format!("stop {orphan_running}")) < harness.position(&format!("remove {orphan_running}"))
    );
    assert!(harness.called(&format!("remove {orphan_exited}")));
    assert!(!harness.called(&format!("stop {orphan_exited}")), "a stopped orphan is only removed");
    for kept in [&other_agents, &this_instances] {
        assert!(!harness.called(&format!("stop {kept}")) && !harness.called(&format!("remove {kept}")), "{kept}");
        assert_eq!(docker.container(kept).unwrap().state, "running");
    }
    assert!(docker.container(&orphan_running).is_none() && docker.container(&orphan_exited).is_none());
}

#[tokio::test]
async fn a_container_an_earlier_run_created_without_recording_it_is_started_not_created_again() {
    let docker = FakeDocker::new(&["busybox:1"], journal());
    let mut harness = Harness::new(
        "conflict",
        &docker,
        None,
        wanted(json!([{"name": "app", "image": "busybox:1", "essential": true}])),
    );
    let existing = docker.add_container(&harness.docker_name("app"), &[], "created");
    harness.settle().await;

    assert_eq!(harness.runtime_id("app"), existing);
    assert!(harness.called(&format!("start {existing}")));
    assert_eq!(docker.calls().iter().filter(|c| c.starts_with("create")).count(), 1, "one refused create");
    assert_eq!(docker.container(&existing).unwrap().state, "running");
}

#[tokio::test]
async fn volumes_are_created_before_the_containers_and_only_the_tasks_own_removed_with_it() {
    let docker = FakeDocker::new(&["busybox:1"], journal());
    let mut saved = wanted(json!([
        {"name": "app", "image": "busybox:1",
         "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"},
                         {"sourceVolume": "scratch", "containerPath": "/scratch"}]},
    ]));
    let record = saved.tasks.get_mut(TASK).unwrap();
    let spec = record.spec.as_mut().unwrap();
    spec.settings.volumes = Some(
        serde_json::from_value(json!([
            {"name": "data", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true}},
            {"name": "scratch", "dockerVolumeConfiguration": {"scope": "task", "labels": {"team": "ops"}}},
            {"name": "config", "host": {"sourcePath": "/etc"}},
        ]))
        .unwrap(),
    );
    let mut harness = Harness::new("volumes", &docker, None, saved);
    harness.settle().await;

    let created = harness.position(&format!("create {}", harness.docker_name("app")));
    let scratch = "ecs-web-1-scratch-0123456789ab";
    assert!(harness.position("create_volume data") < created);
    assert!(harness.position(&format!("create_volume {scratch}")) < created);
    assert_eq!(super::volumes::created(&docker.calls()), ["data", scratch], "a host path is no Docker volume");
    assert!(harness.task().metadata_id.is_some(), "every task that runs has its metadata id");

    // Stopped, acknowledged and cleaned up: the task's own volume goes, the shared one stays.
    let task = harness.engine.tasks.get_mut(TASK).unwrap();
    task.desired = Status::Stopped;
    harness.settle().await;
    let task = harness.engine.tasks.get_mut(TASK).unwrap();
    task.reported = Some(Status::Stopped);
    task.execution_stopped_at = Some(0);
    harness.settle().await;
    assert!(!harness.engine.tasks.contains_key(TASK), "forgotten");
    assert!(harness.called(&format!("remove_volume {scratch}")));
    assert!(!harness.called("remove_volume data"));
    assert_eq!(docker.volumes(), ["data"]);
}

#[tokio::test]
async fn a_missing_shared_volume_without_autoprovision_stops_the_task_before_any_container() {
    let docker = FakeDocker::new(&["busybox:1"], journal());
    let mut saved = wanted(json!([{"name": "app", "image": "busybox:1"}]));
    let spec = saved.tasks.get_mut(TASK).unwrap().spec.as_mut().unwrap();
    spec.settings.volumes = Some(
        serde_json::from_value(json!([{"name": "db", "dockerVolumeConfiguration": {"scope": "shared"}}])).unwrap(),
    );
    let mut harness = Harness::new("volume-missing", &docker, None, saved);
    harness.settle().await;

    let reason = "CannotCreateVolumeError: volume db: it does not exist and autoprovision is not set";
    assert!(!harness.called("create "), "{:?}", docker.calls());
    assert_eq!(harness.task().stop_reason.as_deref(), Some(reason));
}
