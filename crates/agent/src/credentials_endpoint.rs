//! The task credentials endpoint: where an unmodified AWS SDK inside a container gets its
//! task role's credentials, as on ECS.
//!
//! The agent puts ECS's address, 169.254.170.2, on the loopback interface (if it is not there
//! yet) and listens on it: a packet from a bridge-mode container to that address leaves
//! through the bridge to the host, which delivers it locally, and a host-mode container
//! reaches it directly. Each container of a task with a task role gets
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.2:PORT/v2/credentials/ID` and
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN=TOKEN`, which botocore and the AWS SDKs read
//! (`crate::task_roles` holds the ids, tokens and credentials).
//!
//! `GET /v2/credentials/ID` with `Authorization: TOKEN` answers the credentials in the
//! container provider's shape (`AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`,
//! `RoleArn`); anything else gets a 4xx JSON error (`{"code", "message"}`). If the address
//! cannot be added (not root), the endpoint listens on 127.0.0.1 instead, which serves
//! host-network tasks only, and says so in the log. No secret is ever logged.
//!
//! The same listener serves the task metadata endpoint's `/v3/` and `/v4/` paths
//! (`crate::metadata_endpoint`), isolated per task by the same kind of secret id.

use std::net::SocketAddr;
use std::time::Duration;

use aws_protocol::sigv4::format_iso8601;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::docker::Docker;
use crate::log;
use crate::metadata_endpoint::{self, TaskMetadata};
use crate::task_roles::{ENDPOINT_ADDRESS, Lookup, TaskRoles};

/// The most of a request the endpoint reads (a GET has no body worth reading).
const MAX_REQUEST: usize = 8 * 1024;
/// How long one connection may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// The endpoint, listening.
pub struct CredentialsEndpoint {
    listener: TcpListener,
    /// `http://HOST:PORT`, what containers are told.
    pub base_url: String,
}

impl CredentialsEndpoint {
    /// Listens on 169.254.170.2:`port` (adding the address to `lo` if needed; `port` 0 picks
    /// one), or on 127.0.0.1:`port` when that address cannot be had.
    pub async fn bind(port: u16) -> std::io::Result<CredentialsEndpoint> {
        let preferred = match ensure_link_local_address() {
            Ok(()) => TcpListener::bind((ENDPOINT_ADDRESS, port)).await,
            Err(why) => Err(std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, why)),
        };
        let listener = match preferred {
            Ok(listener) => listener,
            // A port in use is an error to report, not a reason to move to another address.
            Err(error) if error.kind() != std::io::ErrorKind::AddrNotAvailable => return Err(error),
            Err(error) => {
                log::event(&format!(
                    "ecs: cannot serve task credentials on {ENDPOINT_ADDRESS} ({error}); serving them on 127.0.0.1, \
                     which only host-network tasks reach (run the agent as root for bridge-mode tasks)"
                ));
                TcpListener::bind(("127.0.0.1", port)).await?
            }
        };
        let address: SocketAddr = listener.local_addr()?;
        Ok(CredentialsEndpoint { listener, base_url: format!("http://{address}") })
    }

    /// Serves forever: the credentials, and the task metadata (`crate::metadata_endpoint`)
    /// read from `docker`.
    pub async fn serve(self, roles: TaskRoles, metadata: TaskMetadata, docker: Docker) {
        log::event("ecs: serving task metadata (/v3/ and /v4/) beside the task credentials");
        // (This line ends with the URL: tools read it from there.)
        log::event(&format!("ecs: serving task credentials at {}", self.base_url));
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    let (roles, metadata, docker) = (roles.clone(), metadata.clone(), docker.clone());
                    tokio::spawn(async move {
                        let serving = answer(stream, &roles, &metadata, &docker);
                        let _ = tokio::time::timeout(CONNECTION_TIMEOUT, serving).await;
                    });
                }
                Err(error) => {
                    log::event(&format!("ecs: the credentials endpoint cannot accept: {error}"));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// Adds 169.254.170.2/32 to `lo` unless some interface has it already.
fn ensure_link_local_address() -> Result<(), String> {
    let shown = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()
        .map_err(|error| format!("cannot run `ip`: {error}"))?;
    let needle = format!(" {ENDPOINT_ADDRESS}/");
    if String::from_utf8_lossy(&shown.stdout).contains(&needle) {
        return Ok(());
    }
    let added = std::process::Command::new("ip")
        .args(["addr", "add", &format!("{ENDPOINT_ADDRESS}/32"), "dev", "lo"])
        .output()
        .map_err(|error| format!("cannot run `ip`: {error}"))?;
    let stderr = String::from_utf8_lossy(&added.stderr);
    // Another agent on this machine may have added it between the two commands.
    if added.status.success() || stderr.contains("File exists") {
        Ok(())
    } else {
        Err(format!("`ip addr add {ENDPOINT_ADDRESS}/32 dev lo` failed: {}", stderr.trim()))
    }
}

async fn answer(mut stream: TcpStream, roles: &TaskRoles, metadata: &TaskMetadata, docker: &Docker) {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buffer.windows(4).any(|window| window == b"\r\n\r\n") {
        if buffer.len() > MAX_REQUEST {
            return respond(&mut stream, 431, &error("RequestTooLarge", "The request head is too large.")).await;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(count) => buffer.extend_from_slice(chunk.get(..count).unwrap_or_default()),
        }
    }
    let head = String::from_utf8_lossy(&buffer);
    let mut request_line = head.split("\r\n").next().unwrap_or_default().split(' ');
    let (method, target) = (request_line.next().unwrap_or_default(), request_line.next().unwrap_or_default());
    let path = target.split('?').next().unwrap_or_default();
    let (status, body) = if metadata_endpoint::serves(path) {
        if method == "GET" {
            metadata_endpoint::answer(path, metadata, docker).await
        } else {
            (405, error("MethodNotAllowed", "Only GET is supported."))
        }
    } else {
        handle(&head, roles, crate::now())
    };
    respond(&mut stream, status, &body).await;
}

fn error(code: &str, message: &str) -> Value {
    json!({"code": code, "message": message})
}

/// The status and body for one request head.
pub fn handle(head: &str, roles: &TaskRoles, now: i64) -> (u16, Value) {
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default();
    let target = request_line.next().unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default();
    let authorization = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value.trim())
        .unwrap_or_default();
    let Some(id) = path.strip_prefix("/v2/credentials/").filter(|id| !id.is_empty() && !id.contains('/')) else {
        return (404, error("NotFound", "Unknown path; credentials are at /v2/credentials/ID."));
    };
    if method != "GET" {
        return (405, error("MethodNotAllowed", "Only GET is supported."));
    }
    if authorization.is_empty() {
        return (401, error("NoAuthorizationToken", "The request carries no authorization token."));
    }
    match roles.lookup(id, authorization) {
        Lookup::Found(held) => {
            let credentials = &held.credentials;
            if credentials.expired(now) {
                return (503, error("CredentialsUnavailable", "The task's credentials are being refreshed."));
            }
            (
                200,
                json!({
                    "AccessKeyId": credentials.access_key_id,
                    "SecretAccessKey": credentials.secret_access_key,
                    "Token": credentials.session_token,
                    "Expiration": format_iso8601(credentials.expires_at),
                    "RoleArn": held.role_arn,
                }),
            )
        }
        Lookup::Unavailable => {
            (503, error("CredentialsUnavailable", "The task has no credentials now (not yet, or it has stopped)."))
        }
        Lookup::Refused => (403, error("InvalidIdInRequest", "No credentials for this id and authorization token.")),
    }
}

async fn respond(stream: &mut TcpStream, status: u16, body: &Value) {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "Service Unavailable",
    };
    let body = body.to_string();
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn requests_that_are_not_a_credentials_get_are_refused() {
        let roles = TaskRoles::new();
        let cases = [
            ("GET / HTTP/1.1\r\n\r\n", 404, "NotFound"),
            ("GET /v2/credentials/ HTTP/1.1\r\n\r\n", 404, "NotFound"),
            ("POST /v2/credentials/abc HTTP/1.1\r\nAuthorization: t\r\n\r\n", 405, "MethodNotAllowed"),
            ("GET /v2/credentials/abc HTTP/1.1\r\n\r\n", 401, "NoAuthorizationToken"),
            ("GET /v2/credentials/abc HTTP/1.1\r\nAuthorization: t\r\n\r\n", 403, "InvalidIdInRequest"),
            ("garbage", 404, "NotFound"),
        ];
        for (head, status, code) in cases {
            let (got, body) = handle(head, &roles, 0);
            assert_eq!((got, body["code"].as_str().unwrap()), (status, code), "{head:?}");
        }
    }
}
