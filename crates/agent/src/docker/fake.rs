//! An in-memory Docker for the engine's tests: containers with their labels and states,
//! the images present, a journal of every call in the order Docker received it (shareable
//! with a fake control plane, so the order across both can be asserted), and refusals on
//! demand. It keeps the real daemon's semantics the engine relies on: a name is taken once
//! (409), stopping a stopped container or removing a gone one succeeds, a pull of an image
//! makes it present, and a followed log stays open while its container runs.

#![allow(clippy::unwrap_used, reason = "a poisoned lock in a test should fail it")]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::net::UnixStream;

use super::{DockerApi, DockerError, HostResources, Inspected, ListedContainer, LogStream};

/// Every call, in order, as `OPERATION TARGET` (`pull busybox`, `start fake-1`); shared.
pub type Journal = Arc<Mutex<Vec<String>>>;

#[derive(Debug, Clone)]
pub struct FakeContainer {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `created`, `running` or `exited`.
    pub state: String,
    pub exit_code: i64,
}

#[derive(Default)]
struct World {
    containers: Vec<FakeContainer>,
    images: BTreeSet<String>,
    /// `(operation, target)` to the refusal it gets: `(status, message)`.
    refusals: BTreeMap<(String, String), (u16, String)>,
    next_id: u64,
    /// The far ends of open followed logs, by container id: dropped when it stops.
    followers: Vec<(String, UnixStream)>,
    /// Volumes by name: their driver.
    volumes: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
pub struct FakeDocker {
    world: Arc<Mutex<World>>,
    pub journal: Journal,
}

impl FakeDocker {
    /// A fake with `images` present, recording into `journal`.
    pub fn new(images: &[&str], journal: Journal) -> FakeDocker {
        let fake = FakeDocker { world: Arc::default(), journal };
        fake.world.lock().unwrap().images.extend(images.iter().map(|image| (*image).to_owned()));
        fake
    }

    /// Makes every `operation` on `target` (a container id or name, an image) fail with
    /// Docker's `status` and `message`.
    pub fn refuse(&self, operation: &str, target: &str, status: u16, message: &str) {
        self.world
            .lock()
            .unwrap()
            .refusals
            .insert((operation.to_owned(), target.to_owned()), (status, message.to_owned()));
    }

    /// Puts a container there, as an earlier run (or another agent) left it.
    pub fn add_container(&self, name: &str, labels: &[(&str, &str)], state: &str) -> String {
        let mut world = self.world.lock().unwrap();
        world.next_id += 1;
        let id = format!("fake-{}", world.next_id);
        world.containers.push(FakeContainer {
            id: id.clone(),
            name: name.to_owned(),
            labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            state: state.to_owned(),
            exit_code: 0,
        });
        id
    }

    /// A container exits on its own with `code`.
    pub fn exit(&self, id: &str, code: i64) {
        let mut world = self.world.lock().unwrap();
        if let Some(container) = world.containers.iter_mut().find(|c| c.id == id) {
            container.state = "exited".to_owned();
            container.exit_code = code;
        }
        world.followers.retain(|(follower, _)| follower != id);
    }

    pub fn container(&self, id_or_name: &str) -> Option<FakeContainer> {
        self.world.lock().unwrap().containers.iter().find(|c| c.id == id_or_name || c.name == id_or_name).cloned()
    }

    /// The volumes there, by name.
    pub fn volumes(&self) -> Vec<String> {
        self.world.lock().unwrap().volumes.keys().cloned().collect()
    }

    pub fn calls(&self) -> Vec<String> {
        self.journal.lock().unwrap().clone()
    }

    /// Records the call, then its refusal if one was asked for.
    fn call(&self, operation: &str, target: &str) -> Result<(), DockerError> {
        self.journal.lock().unwrap().push(format!("{operation} {target}"));
        match self.world.lock().unwrap().refusals.get(&(operation.to_owned(), target.to_owned())) {
            Some((status, message)) => Err(DockerError::Api { status: *status, message: message.clone() }),
            None => Ok(()),
        }
    }

    fn with_container<T>(&self, id: &str, f: impl FnOnce(&mut FakeContainer) -> T) -> Result<T, DockerError> {
        let mut world = self.world.lock().unwrap();
        let container = world.containers.iter_mut().find(|c| c.id == id || c.name == id);
        container.map(f).ok_or_else(|| DockerError::Api { status: 404, message: format!("No such container: {id}") })
    }
}

impl DockerApi for FakeDocker {
    async fn version(&self) -> Result<String, DockerError> {
        self.call("version", "").map(|()| "24.0.7".to_owned())
    }

    async fn info(&self) -> Result<HostResources, DockerError> {
        self.call("info", "").map(|()| HostResources { cpus: 2, memory_bytes: 4 << 30 })
    }

    async fn containers(&self, labels: &[String]) -> Result<Vec<ListedContainer>, DockerError> {
        self.call("list", &labels.join(","))?;
        let carries = |container: &FakeContainer, label: &String| match label.split_once('=') {
            Some((name, value)) => container.labels.get(name).is_some_and(|v| v == value),
            None => container.labels.contains_key(label),
        };
        let world = self.world.lock().unwrap();
        Ok(world
            .containers
            .iter()
            .filter(|container| labels.iter().all(|label| carries(container, label)))
            .map(|container| ListedContainer {
                id: container.id.clone(),
                labels: container.labels.clone(),
                state: container.state.clone(),
                status: String::new(),
            })
            .collect())
    }

    async fn create(&self, name: &str, config: &Value) -> Result<String, DockerError> {
        self.call("create", name)?;
        let labels: Vec<(String, String)> = config
            .get("Labels")
            .and_then(Value::as_object)
            .map(|labels| labels.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
            .unwrap_or_default();
        if self.container(name).is_some() {
            return Err(DockerError::Api { status: 409, message: format!("Conflict. The name \"/{name}\" is in use") });
        }
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Ok(self.add_container(name, &labels, "created"))
    }

    async fn start(&self, id: &str) -> Result<(), DockerError> {
        self.call("start", id)?;
        self.with_container(id, |container| container.state = "running".to_owned())
    }

    async fn stop(&self, id: &str, _grace: Option<u64>) -> Result<(), DockerError> {
        self.call("stop", id)?;
        let running = self.with_container(id, |container| container.state == "running")?;
        if running {
            self.exit(id, 143);
        }
        Ok(())
    }

    async fn inspect(&self, id: &str) -> Result<Inspected, DockerError> {
        self.call("inspect", id)?;
        self.with_container(id, |container| Inspected {
            id: container.id.clone(),
            status: container.state.clone(),
            running: container.state == "running",
            exit_code: container.exit_code,
            error: String::new(),
            bindings: Vec::new(),
        })
    }

    async fn remove(&self, id: &str) -> Result<(), DockerError> {
        self.call("remove", id)?;
        let mut world = self.world.lock().unwrap();
        world.containers.retain(|container| container.id != id && container.name != id);
        world.followers.retain(|(follower, _)| follower != id);
        Ok(())
    }

    async fn image_exists(&self, image: &str) -> Result<bool, DockerError> {
        self.call("image_exists", image)?;
        Ok(self.world.lock().unwrap().images.contains(image))
    }

    async fn pull(&self, image: &str, _registry_auth: Option<&str>) -> Result<(), DockerError> {
        self.call("pull", image)?;
        self.world.lock().unwrap().images.insert(image.to_owned());
        Ok(())
    }

    async fn logs(&self, id: &str, _since_ns: Option<i64>, follow: bool) -> Result<LogStream, DockerError> {
        self.call("logs", id)?;
        let running = self.with_container(id, |container| container.state == "running")?;
        let (stream, far_end) = UnixStream::pair().map_err(|error| DockerError::BadResponse(error.to_string()))?;
        // An empty log: followed, it stays open until the container stops.
        if follow && running {
            self.world.lock().unwrap().followers.push((id.to_owned(), far_end));
        }
        Ok(LogStream { stream, pending: Vec::new() })
    }

    async fn volume_driver(&self, name: &str) -> Result<Option<String>, DockerError> {
        self.call("volume_driver", name)?;
        Ok(self.world.lock().unwrap().volumes.get(name).cloned())
    }

    async fn create_volume(&self, config: &Value) -> Result<(), DockerError> {
        let name = config.get("Name").and_then(Value::as_str).unwrap_or_default().to_owned();
        self.call("create_volume", &name)?;
        let driver = config.get("Driver").and_then(Value::as_str).unwrap_or("local").to_owned();
        self.world.lock().unwrap().volumes.insert(name, driver);
        Ok(())
    }

    async fn remove_volume(&self, name: &str) -> Result<(), DockerError> {
        self.call("remove_volume", name)?;
        self.world.lock().unwrap().volumes.remove(name);
        Ok(())
    }
}
