//! A minimal Docker Engine API client over the daemon's Unix socket: what the ECS part needs
//! to run tasks, and nothing else (no bollard: the agent stays small).
//!
//! The socket is `/var/run/docker.sock`, or the path `DOCKER_HOST=unix://PATH` names; other
//! `DOCKER_HOST` schemes are refused with a message saying so. Paths are unversioned, so the
//! daemon speaks its own current API version; every member read here has been in the API
//! since long before 1.41 (Docker 20.10).
//!
//! Every call is one exchange on a fresh connection through [`crate::http::send`], bounded
//! by a timeout (a stop by its grace period plus a margin, a pull by ten minutes). A refusal
//! keeps the daemon's status and `message`, which is what ECS's reasons quote
//! (`CannotPullContainerError: Error response from daemon: ...`).
//!
//! The ECS part reaches Docker only through [`DockerApi`], which [`Docker`] implements; the
//! engine's tests drive it with the in-memory `fake` instead, which records every call.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::http::{self, HttpError, Request, Response};

#[cfg(test)]
pub mod fake;

pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// How long an ordinary call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a pull may take.
const PULL_TIMEOUT: Duration = Duration::from_secs(600);
/// The most of a pull's progress stream kept, to find its error message.
const PULL_TAIL: usize = 64 * 1024;

/// Why a Docker call failed.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The daemon was not reached, or the exchange broke off.
    #[error("cannot reach Docker at {}: {error}", .socket.display())]
    Unreachable { socket: PathBuf, error: HttpError },
    /// The daemon refused: its status and message.
    #[error("Docker answered {status}: {message}")]
    Api { status: u16, message: String },
    /// An answer that is not what the API promises.
    #[error("unexpected answer from Docker: {0}")]
    BadResponse(String),
    /// `DOCKER_HOST` names something other than a Unix socket.
    #[error("DOCKER_HOST=`{0}`: the agent speaks to Docker over a Unix socket only (unix:///var/run/docker.sock)")]
    UnsupportedHost(String),
}

impl DockerError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, DockerError::Api { status: 404, .. })
    }

    /// The daemon's words, as the docker CLI shows them (and ECS quotes them).
    pub fn daemon_message(&self) -> String {
        match self {
            DockerError::Api { message, .. } => format!("Error response from daemon: {message}"),
            other => other.to_string(),
        }
    }
}

/// The daemon's facts registration needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostResources {
    pub cpus: i64,
    pub memory_bytes: i64,
}

/// A container as `GET /containers/json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedContainer {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Labels", default)]
    pub labels: BTreeMap<String, String>,
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
    #[serde(rename = "State", default)]
    pub state: String,
    /// `Up 3 seconds (healthy)`, `Exited (0) 2 minutes ago`, ...
    #[serde(rename = "Status", default)]
    pub status: String,
}

impl ListedContainer {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }

    /// The health Docker shows in the status text, if the container has a health check.
    pub fn health(&self) -> Option<&'static str> {
        if self.status.contains("(healthy)") {
            Some("healthy")
        } else if self.status.contains("(unhealthy)") {
            Some("unhealthy")
        } else if self.status.contains("(health: starting)") {
            Some("starting")
        } else {
            None
        }
    }
}

/// A host port Docker bound for a container port, as a state change reports it.
pub use agent_protocol::state_change::NetworkBinding;

/// What `GET /containers/{id}/json` says of a container's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub id: String,
    /// `created`, `running`, `exited`, ...
    pub status: String,
    pub running: bool,
    pub exit_code: i64,
    /// Docker's own words when it could not run the container (`State.Error`).
    pub error: String,
    pub bindings: Vec<NetworkBinding>,
}

/// The Docker operations the ECS part uses, so the engine can be driven by an in-memory
/// fake in tests (`docker::fake`); [`Docker`] is the real one. Every operation keeps the
/// daemon's semantics as documented on [`Docker`]'s implementation: stopping or removing a
/// container that is already stopped or gone succeeds, a refusal is [`DockerError::Api`] with
/// the daemon's status and message, and anything unreached is [`DockerError::Unreachable`].
pub trait DockerApi: Clone + Send + Sync + 'static {
    /// The daemon's version (`24.0.7`).
    fn version(&self) -> impl Future<Output = Result<String, DockerError>> + Send;
    /// CPUs and memory.
    fn info(&self) -> impl Future<Output = Result<HostResources, DockerError>> + Send;
    /// Every container (running or not) carrying all of `labels` (`name` or `name=value`).
    fn containers(&self, labels: &[String]) -> impl Future<Output = Result<Vec<ListedContainer>, DockerError>> + Send;
    /// Creates a container named `name`: its id.
    fn create(&self, name: &str, config: &Value) -> impl Future<Output = Result<String, DockerError>> + Send;
    fn start(&self, id: &str) -> impl Future<Output = Result<(), DockerError>> + Send;
    /// SIGTERM, then SIGKILL after `grace` seconds (the container's own timeout without).
    fn stop(&self, id: &str, grace: Option<u64>) -> impl Future<Output = Result<(), DockerError>> + Send;
    /// A container's state, by id or name.
    fn inspect(&self, id: &str) -> impl Future<Output = Result<Inspected, DockerError>> + Send;
    fn remove(&self, id: &str) -> impl Future<Output = Result<(), DockerError>> + Send;
    fn image_exists(&self, image: &str) -> impl Future<Output = Result<bool, DockerError>> + Send;
    /// Pulls `image`, with the registry's credentials as `X-Registry-Auth` if given.
    fn pull(&self, image: &str, registry_auth: Option<&str>) -> impl Future<Output = Result<(), DockerError>> + Send;
    /// Opens a container's log from `since_ns`, following it if `follow`.
    fn logs(
        &self,
        id: &str,
        since_ns: Option<i64>,
        follow: bool,
    ) -> impl Future<Output = Result<LogStream, DockerError>> + Send;
    /// A volume's driver, if the volume exists.
    fn volume_driver(&self, name: &str) -> impl Future<Output = Result<Option<String>, DockerError>> + Send;
    /// Creates a volume (`{"Name", "Driver", "DriverOpts", "Labels"}`); one that exists with
    /// the same driver is fine.
    fn create_volume(&self, config: &Value) -> impl Future<Output = Result<(), DockerError>> + Send;
    /// Removes a volume (gone already is fine; in use is Docker's 409).
    fn remove_volume(&self, name: &str) -> impl Future<Output = Result<(), DockerError>> + Send;
}

/// The Docker daemon behind one Unix socket.
#[derive(Debug, Clone)]
pub struct Docker {
    socket: PathBuf,
}

impl Docker {
    pub fn new(socket: impl Into<PathBuf>) -> Docker {
        Docker { socket: socket.into() }
    }

    /// The daemon `DOCKER_HOST` names (a `unix://` one), else the default socket.
    pub fn from_env() -> Result<Docker, DockerError> {
        match std::env::var("DOCKER_HOST") {
            Ok(host) if !host.is_empty() => match host.strip_prefix("unix://") {
                Some(path) if !path.is_empty() => Ok(Docker::new(path)),
                _ => Err(DockerError::UnsupportedHost(host)),
            },
            _ => Ok(Docker::new(DEFAULT_SOCKET)),
        }
    }

    pub fn socket(&self) -> &std::path::Path {
        &self.socket
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        limit: Duration,
    ) -> Result<Response, DockerError> {
        let unreachable = |error| DockerError::Unreachable { socket: self.socket.clone(), error };
        let body = body.map(Value::to_string).unwrap_or_default();
        let headers: Vec<(String, String)> = match body.is_empty() {
            true => Vec::new(),
            false => vec![("Content-Type".to_owned(), "application/json".to_owned())],
        };
        let request = Request { method, path, host: "docker", headers: &headers, body: body.as_bytes() };
        let exchange = async {
            let mut stream = UnixStream::connect(&self.socket).await.map_err(HttpError::Io)?;
            http::send(&mut stream, &request).await
        };
        let response = tokio::time::timeout(limit, exchange)
            .await
            .map_err(|_| unreachable(HttpError::Timeout(limit)))?
            .map_err(unreachable)?;
        match response.status {
            200..=299 | 304 => Ok(response),
            status => Err(api_error(status, &response.body)),
        }
    }
}

impl DockerApi for Docker {
    /// `GET /version`: the daemon's version (`24.0.7`).
    async fn version(&self) -> Result<String, DockerError> {
        let response = self.call("GET", "/version", None, CALL_TIMEOUT).await?;
        let value: Value = json_body(&response)?;
        value
            .get("Version")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| DockerError::BadResponse("/version without Version".to_owned()))
    }

    /// `GET /info`: CPUs and memory.
    async fn info(&self) -> Result<HostResources, DockerError> {
        let response = self.call("GET", "/info", None, CALL_TIMEOUT).await?;
        parse_info(&json_body(&response)?)
    }

    /// `GET /containers/json?all=1` filtered by labels (`name` or `name=value` each).
    async fn containers(&self, labels: &[String]) -> Result<Vec<ListedContainer>, DockerError> {
        let path = format!("/containers/json?all=1&filters={}", query_escape(&label_filter(labels)));
        let response = self.call("GET", &path, None, CALL_TIMEOUT).await?;
        serde_json::from_slice(&response.body).map_err(|error| DockerError::BadResponse(error.to_string()))
    }

    /// `POST /containers/create?name=NAME`: the new container's id.
    async fn create(&self, name: &str, config: &Value) -> Result<String, DockerError> {
        let path = format!("/containers/create?name={}", query_escape(name));
        let response = self.call("POST", &path, Some(config), CALL_TIMEOUT).await?;
        let value: Value = json_body(&response)?;
        value
            .get("Id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| DockerError::BadResponse("create without Id".to_owned()))
    }

    /// `POST /containers/{id}/start` (already running is fine).
    async fn start(&self, id: &str) -> Result<(), DockerError> {
        self.call("POST", &format!("/containers/{}/start", query_escape(id)), None, CALL_TIMEOUT).await.map(drop)
    }

    /// `POST /containers/{id}/stop?t=N`: SIGTERM (or the image's stop signal), then SIGKILL
    /// after `grace` seconds; without `grace`, the container's own `StopTimeout`. Already
    /// stopped is fine.
    async fn stop(&self, id: &str, grace: Option<u64>) -> Result<(), DockerError> {
        let path = match grace {
            Some(seconds) => format!("/containers/{}/stop?t={seconds}", query_escape(id)),
            None => format!("/containers/{}/stop", query_escape(id)),
        };
        let limit = CALL_TIMEOUT + Duration::from_secs(grace.unwrap_or(120));
        self.call("POST", &path, None, limit).await.map(drop)
    }

    /// `GET /containers/{id}/json` (an id or a name).
    async fn inspect(&self, id: &str) -> Result<Inspected, DockerError> {
        let response = self.call("GET", &format!("/containers/{}/json", query_escape(id)), None, CALL_TIMEOUT).await?;
        parse_inspect(&json_body(&response)?)
    }

    /// `DELETE /containers/{id}?v=1&force=1` (gone already is fine).
    async fn remove(&self, id: &str) -> Result<(), DockerError> {
        match self.call("DELETE", &format!("/containers/{}?v=1&force=1", query_escape(id)), None, CALL_TIMEOUT).await {
            Err(error) if error.is_not_found() => Ok(()),
            other => other.map(drop),
        }
    }

    /// `GET /images/{name}/json`: whether the image is here.
    async fn image_exists(&self, image: &str) -> Result<bool, DockerError> {
        match self.call("GET", &format!("/images/{}/json", path_escape(image)), None, CALL_TIMEOUT).await {
            Ok(_) => Ok(true),
            Err(error) if error.is_not_found() => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// `POST /images/create?fromImage=...&tag=...`, with the registry's credentials as
    /// `X-Registry-Auth` if given. Docker answers 200 and then streams progress, so success
    /// is judged by the image being there afterwards; a failure's message is the stream's
    /// last `error`, or the refusal's.
    async fn pull(&self, image: &str, registry_auth: Option<&str>) -> Result<(), DockerError> {
        let (repository, tag) = split_reference(image);
        let mut path = format!("/images/create?fromImage={}", query_escape(repository));
        if let Some(tag) = tag {
            path.push_str(&format!("&tag={}", query_escape(tag)));
        }
        let unreachable = |error| DockerError::Unreachable { socket: self.socket.clone(), error };
        let exchange = async {
            let mut stream = UnixStream::connect(&self.socket).await.map_err(HttpError::Io)?;
            let headers: Vec<(String, String)> =
                registry_auth.map(|auth| ("X-Registry-Auth".to_owned(), auth.to_owned())).into_iter().collect();
            let request = Request { method: "POST", path: &path, host: "docker", headers: &headers, body: &[] };
            stream.write_all(&request.to_bytes()).await?;
            // The progress stream can be long: keep only its tail.
            let mut tail = Vec::new();
            let mut chunk = [0u8; 8192];
            loop {
                let count = stream.read(&mut chunk).await?;
                if count == 0 {
                    break;
                }
                tail.extend_from_slice(chunk.get(..count).unwrap_or_default());
                if tail.len() > 2 * PULL_TAIL {
                    tail.drain(..tail.len() - PULL_TAIL);
                }
            }
            Ok::<Vec<u8>, HttpError>(tail)
        };
        let tail = tokio::time::timeout(PULL_TIMEOUT, exchange)
            .await
            .map_err(|_| unreachable(HttpError::Timeout(PULL_TIMEOUT)))?
            .map_err(unreachable)?;
        if self.image_exists(image).await? {
            return Ok(());
        }
        let status = parse_status_line(&tail).unwrap_or(500);
        Err(DockerError::Api {
            status: if status == 200 { 500 } else { status },
            message: pull_error(&tail).unwrap_or_else(|| format!("pull of {image} did not produce the image")),
        })
    }

    /// Opens the container's log from `since` (nanoseconds since the epoch, inclusive),
    /// following it while the container runs if `follow`. Asked as HTTP/1.0 so the body is
    /// the raw stream to the end of the connection (no chunked coding to undo).
    async fn logs(&self, id: &str, since_ns: Option<i64>, follow: bool) -> Result<LogStream, DockerError> {
        let unreachable = |error| DockerError::Unreachable { socket: self.socket.clone(), error };
        let mut path =
            format!("/containers/{}/logs?stdout=1&stderr=1&timestamps=1&follow={}", query_escape(id), u8::from(follow));
        if let Some(since) = since_ns {
            path.push_str(&format!(
                "&since={}.{:09}",
                since.div_euclid(1_000_000_000),
                since.rem_euclid(1_000_000_000)
            ));
        }
        let opening = async {
            let mut stream = UnixStream::connect(&self.socket).await.map_err(HttpError::Io)?;
            stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n").as_bytes()).await?;
            let mut head = Vec::new();
            let mut chunk = [0u8; 4096];
            let end = loop {
                if let Some(end) = head.windows(4).position(|window| window == b"\r\n\r\n") {
                    break end + 4;
                }
                if head.len() > 16 * 1024 {
                    return Err(HttpError::Malformed("the response head is over 16 KiB"));
                }
                let count = stream.read(&mut chunk).await?;
                if count == 0 {
                    return Err(HttpError::Malformed("the connection closed before a response"));
                }
                head.extend_from_slice(chunk.get(..count).unwrap_or_default());
            };
            let pending = head.split_off(end);
            Ok::<_, HttpError>((stream, head, pending))
        };
        let (mut stream, head, mut pending) = tokio::time::timeout(CALL_TIMEOUT, opening)
            .await
            .map_err(|_| unreachable(HttpError::Timeout(CALL_TIMEOUT)))?
            .map_err(unreachable)?;
        let status = parse_status_line(&head).unwrap_or(500);
        if status != 200 {
            let rest = async {
                let mut chunk = [0u8; 4096];
                while pending.len() < 64 * 1024 {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(count) => pending.extend_from_slice(chunk.get(..count).unwrap_or_default()),
                    }
                }
            };
            let _ = tokio::time::timeout(CALL_TIMEOUT, rest).await;
            return Err(api_error(status, &pending));
        }
        Ok(LogStream { stream, pending })
    }

    /// `GET /volumes/{name}`: its `Driver`, or `None` when there is no such volume.
    async fn volume_driver(&self, name: &str) -> Result<Option<String>, DockerError> {
        match self.call("GET", &format!("/volumes/{}", path_escape(name)), None, CALL_TIMEOUT).await {
            Ok(response) => {
                Ok(Some(json_body(&response)?.get("Driver").and_then(Value::as_str).unwrap_or("local").to_owned()))
            }
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `POST /volumes/create`.
    async fn create_volume(&self, config: &Value) -> Result<(), DockerError> {
        self.call("POST", "/volumes/create", Some(config), CALL_TIMEOUT).await.map(drop)
    }

    /// `DELETE /volumes/{name}` (gone already is fine).
    async fn remove_volume(&self, name: &str) -> Result<(), DockerError> {
        match self.call("DELETE", &format!("/volumes/{}", path_escape(name)), None, CALL_TIMEOUT).await {
            Err(error) if error.is_not_found() => Ok(()),
            other => other.map(drop),
        }
    }
}

impl Docker {
    /// `GET PATH`'s JSON answer (what the task metadata endpoint reads: a container's
    /// inspection, its stats).
    pub async fn get_json(&self, path: &str) -> Result<Value, DockerError> {
        json_body(&self.call("GET", path, None, CALL_TIMEOUT).await?)
    }

    /// `GET /containers/{id}/json`, whole.
    pub async fn inspect_json(&self, id: &str) -> Result<Value, DockerError> {
        self.get_json(&format!("/containers/{}/json", query_escape(id))).await
    }

    /// `GET /containers/{id}/stats?stream=false`: one sample, with the previous CPU reading.
    pub async fn stats_json(&self, id: &str) -> Result<Value, DockerError> {
        self.get_json(&format!("/containers/{}/stats?stream=false", query_escape(id))).await
    }
}

/// An open `GET /containers/{id}/logs` stream: the multiplexed frames (8-byte header,
/// then the payload) of stdout and stderr, each line prefixed by its timestamp.
pub struct LogStream {
    pub stream: UnixStream,
    /// Bytes of the body read along with the head.
    pub pending: Vec<u8>,
}

fn json_body(response: &Response) -> Result<Value, DockerError> {
    serde_json::from_slice(&response.body).map_err(|error| DockerError::BadResponse(error.to_string()))
}

/// A refusal's `{"message": ...}`, or the body's text.
fn api_error(status: u16, body: &[u8]) -> DockerError {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| value.get("message").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body.get(..300).unwrap_or(body)).trim().to_owned());
    DockerError::Api { status, message }
}

/// CPUs and memory from `/info`.
pub fn parse_info(info: &Value) -> Result<HostResources, DockerError> {
    let number = |name: &str| {
        info.get(name)
            .and_then(Value::as_i64)
            .filter(|n| *n > 0)
            .ok_or_else(|| DockerError::BadResponse(format!("/info without {name}")))
    };
    Ok(HostResources { cpus: number("NCPU")?, memory_bytes: number("MemTotal")? })
}

/// The state and port bindings from `/containers/{id}/json`.
pub fn parse_inspect(value: &Value) -> Result<Inspected, DockerError> {
    let state = value.get("State").ok_or_else(|| DockerError::BadResponse("inspect without State".to_owned()))?;
    let text = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut bindings = Vec::new();
    let ports = value.get("NetworkSettings").and_then(|n| n.get("Ports")).and_then(Value::as_object);
    for (key, hosts) in ports.into_iter().flatten() {
        let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(container_port) = port.parse::<u16>() else { continue };
        for host in hosts.as_array().into_iter().flatten() {
            let Some(host_port) = host.get("HostPort").and_then(Value::as_str).and_then(|p| p.parse::<u16>().ok())
            else {
                continue;
            };
            let bind_ip = host.get("HostIp").and_then(Value::as_str).filter(|ip| !ip.is_empty()).unwrap_or("0.0.0.0");
            bindings.push(NetworkBinding {
                bind_ip: bind_ip.to_owned(),
                container_port,
                host_port,
                protocol: protocol.to_owned(),
            });
        }
    }
    bindings
        .sort_by(|a, b| (a.container_port, &a.protocol, &a.bind_ip).cmp(&(b.container_port, &b.protocol, &b.bind_ip)));
    Ok(Inspected {
        id: text(value, "Id"),
        status: text(state, "Status"),
        running: state.get("Running").and_then(Value::as_bool).unwrap_or(false),
        exit_code: state.get("ExitCode").and_then(Value::as_i64).unwrap_or(0),
        error: text(state, "Error"),
        bindings,
    })
}

/// The `filters` JSON of a label query.
pub fn label_filter(labels: &[String]) -> String {
    json!({ "label": labels }).to_string()
}

/// An image reference's repository and tag: `busybox` pulls `busybox:latest` (without a
/// tag Docker would pull every tag); a digest reference is pulled as it is.
pub fn split_reference(image: &str) -> (&str, Option<&str>) {
    if image.contains('@') {
        return (image, None);
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) if !tag.is_empty() => {
            let repository = image.get(..image.len() - tag.len() - 1).unwrap_or(image);
            (repository, Some(tag))
        }
        _ => (image, Some("latest")),
    }
}

/// Percent-encodes everything but unreserved characters (a query value or path segment).
pub fn query_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            escaped.push(char::from(byte));
        } else {
            escaped.push_str(&format!("%{byte:02X}"));
        }
    }
    escaped
}

/// An image name in a path: its slashes and colons stay (Docker routes `/images/{name}/json`
/// on the whole name), anything else unusual is escaped.
fn path_escape(text: &str) -> String {
    text.split('/').map(|part| query_escape(part).replace("%3A", ":").replace("%40", "@")).collect::<Vec<_>>().join("/")
}

fn parse_status_line(raw: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(raw.get(..raw.len().min(64))?).ok()?;
    text.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok()
}

/// The last `"error"` message of a pull's progress stream (or its refusal's `message`).
pub fn pull_error(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    for line in text.lines().rev() {
        let Some(start) = line.find('{') else { continue };
        let Ok(value) = serde_json::from_str::<Value>(line.get(start..).unwrap_or_default().trim()) else { continue };
        if let Some(message) = value.get("error").or_else(|| value.get("message")).and_then(Value::as_str) {
            return Some(message.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn info_gives_cpus_and_memory() {
        let info = json!({"NCPU": 2, "MemTotal": 25_275_645_952_i64, "ServerVersion": "20.10.24"});
        assert_eq!(parse_info(&info).unwrap(), HostResources { cpus: 2, memory_bytes: 25_275_645_952 });
        assert!(parse_info(&json!({"NCPU": 2})).unwrap_err().to_string().contains("MemTotal"));
    }

    #[test]
    fn inspect_reads_state_and_every_binding() {
        let value = json!({
            "Id": "abc",
            "State": {"Status": "running", "Running": true, "ExitCode": 0, "Error": ""},
            "NetworkSettings": {"Ports": {
                "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49153"}, {"HostIp": "::", "HostPort": "49153"}],
                "53/udp": [{"HostIp": "", "HostPort": "5353"}],
                "81/tcp": null
            }}
        });
        let inspected = parse_inspect(&value).unwrap();
        assert!(inspected.running);
        assert_eq!(inspected.status, "running");
        let ports: Vec<(u16, u16, &str, &str)> = inspected
            .bindings
            .iter()
            .map(|b| (b.container_port, b.host_port, b.protocol.as_str(), b.bind_ip.as_str()))
            .collect();
        assert_eq!(ports, [(53, 5353, "udp", "0.0.0.0"), (80, 49153, "tcp", "0.0.0.0"), (80, 49153, "tcp", "::")]);
        let exited =
            parse_inspect(&json!({"Id": "x", "State": {"Status": "exited", "Running": false, "ExitCode": 137}}))
                .unwrap();
        assert_eq!((exited.running, exited.exit_code, exited.bindings.len()), (false, 137, 0));
        assert!(parse_inspect(&json!({"Id": "x"})).is_err());
    }

    #[test]
    fn a_binding_serializes_as_ecs_network_binding() {
        let binding =
            NetworkBinding { bind_ip: "0.0.0.0".into(), container_port: 80, host_port: 8080, protocol: "tcp".into() };
        assert_eq!(
            serde_json::to_value(&binding).unwrap(),
            json!({"bindIP": "0.0.0.0", "containerPort": 80, "hostPort": 8080, "protocol": "tcp"})
        );
    }

    #[test]
    fn listed_containers_parse_with_labels_and_health() {
        let body = br#"[{"Id":"1","Names":["/ecs-web-1-app-0123"],"Labels":{"com.amazonaws.ecs.task-arn":"t"},
            "State":"running","Status":"Up 3 seconds (healthy)","Ports":[]},
            {"Id":"2","Labels":null,"State":"exited","Status":"Exited (1) 2 seconds ago"}]"#;
        let body = String::from_utf8_lossy(body).replace("null", "{}");
        let listed: Vec<ListedContainer> = serde_json::from_str(&body).unwrap();
        assert_eq!(listed[0].label("com.amazonaws.ecs.task-arn"), Some("t"));
        assert_eq!(listed[0].health(), Some("healthy"));
        assert_eq!((listed[1].state.as_str(), listed[1].health()), ("exited", None));
    }

    #[test]
    fn references_split_into_repository_and_tag() {
        assert_eq!(split_reference("busybox"), ("busybox", Some("latest")));
        assert_eq!(split_reference("homeport-test/busybox:1.36"), ("homeport-test/busybox", Some("1.36")));
        assert_eq!(split_reference("registry:5000/team/app"), ("registry:5000/team/app", Some("latest")));
        assert_eq!(split_reference("registry:5000/team/app:v2"), ("registry:5000/team/app", Some("v2")));
        assert_eq!(split_reference("app@sha256:abcd"), ("app@sha256:abcd", None));
    }

    #[test]
    fn queries_and_paths_are_escaped() {
        assert_eq!(query_escape("ecs-web-1"), "ecs-web-1");
        assert_eq!(query_escape(&label_filter(&["a=b c".to_owned()])), "%7B%22label%22%3A%5B%22a%3Db%20c%22%5D%7D");
        assert_eq!(path_escape("registry:5000/team/app:v2"), "registry:5000/team/app:v2");
        assert_eq!(path_escape("a b/c?d"), "a%20b/c%3Fd");
    }

    #[test]
    fn pull_errors_come_from_the_stream_or_the_refusal() {
        let stream = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3a\r\n{\"status\":\"Pulling from library/nope\"}\r\n\
            40\r\n{\"errorDetail\":{\"message\":\"manifest unknown\"},\"error\":\"manifest unknown\"}\r\n0\r\n\r\n";
        assert_eq!(pull_error(stream).as_deref(), Some("manifest unknown"));
        let refused = b"HTTP/1.1 404 Not Found\r\nContent-Length: 70\r\n\r\n\
            {\"message\":\"pull access denied for nope, repository does not exist\"}";
        assert_eq!(parse_status_line(refused), Some(404));
        assert_eq!(pull_error(refused).as_deref(), Some("pull access denied for nope, repository does not exist"));
        assert_eq!(pull_error(b"HTTP/1.1 200 OK\r\n\r\n{\"status\":\"done\"}"), None);
    }

    #[test]
    fn refusals_keep_the_daemon_message() {
        let error = api_error(409, br#"{"message":"Conflict. The container name \"/x\" is already in use"}"#);
        assert_eq!(
            error.daemon_message(),
            "Error response from daemon: Conflict. The container name \"/x\" is already in use"
        );
        assert!(!error.is_not_found());
        assert!(api_error(404, b"page not found").is_not_found());
    }

    #[test]
    fn docker_host_must_be_a_unix_socket() {
        // Read through the same code as from_env, without touching the process environment.
        let parse = |host: &str| match host.strip_prefix("unix://") {
            Some(path) if !path.is_empty() => Ok(Docker::new(path)),
            _ => Err(DockerError::UnsupportedHost(host.to_owned())),
        };
        assert_eq!(
            parse("unix:///run/user/1000/docker.sock").unwrap().socket(),
            std::path::Path::new("/run/user/1000/docker.sock")
        );
        assert!(parse("tcp://127.0.0.1:2375").unwrap_err().to_string().contains("Unix socket only"));
    }

    #[test]
    fn a_request_over_a_unix_socket_reads_a_chunked_answer() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let dir = std::env::temp_dir().join(format!("homeport-docker-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let socket = dir.join("docker.sock");
            let listener = tokio::net::UnixListener::bind(&socket).unwrap();
            let server = tokio::spawn(async move {
                let mut requests = Vec::new();
                for answer in [
                    &b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
                       10\r\n{\"Version\":\"24.0\r\n3\r\n.7\"\r\n1\r\n}\r\n0\r\n\r\n"[..],
                    b"HTTP/1.1 201 Created\r\nContent-Length: 22\r\n\r\n{\"Id\":\"c0ffee\",\"W\":[]}",
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 29\r\n\r\n{\"message\":\"No such image: x\"}",
                ] {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    let mut received = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let count = stream.read(&mut chunk).await.unwrap();
                        received.extend_from_slice(&chunk[..count]);
                        let text = String::from_utf8_lossy(&received).into_owned();
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            let length: usize = head
                                .lines()
                                .find_map(|l| l.strip_prefix("Content-Length: "))
                                .unwrap()
                                .parse()
                                .unwrap();
                            if body.len() >= length {
                                break;
                            }
                        }
                    }
                    stream.write_all(answer).await.unwrap();
                    requests.push(String::from_utf8(received).unwrap());
                }
                requests
            });
            let docker = Docker::new(&socket);
            assert_eq!(docker.version().await.unwrap(), "24.0.7");
            let id = docker.create("ecs-web-1-app-0123", &json!({"Image": "busybox"})).await.unwrap();
            assert_eq!(id, "c0ffee");
            assert!(!docker.image_exists("x").await.unwrap());
            let requests = server.await.unwrap();
            assert!(requests[0].starts_with("GET /version HTTP/1.1\r\nHost: docker\r\n"), "{}", requests[0]);
            assert!(
                requests[1].starts_with(
                    "POST /containers/create?name=ecs-web-1-app-0123 HTTP/1.1\r\nHost: docker\r\n\
                     Content-Type: application/json\r\nContent-Length: 19\r\nConnection: close\r\n\r\n{\"Image\":\"busybox\"}"
                ),
                "{}",
                requests[1]
            );
            assert!(requests[2].starts_with("GET /images/x/json HTTP/1.1\r\n"), "{}", requests[2]);
            let unreachable = Docker::new(dir.join("absent.sock")).version().await.unwrap_err();
            assert!(matches!(unreachable, DockerError::Unreachable { .. }), "{unreachable}");
            std::fs::remove_dir_all(&dir).unwrap();
        });
    }
}
