//! The three calls of `docs/instance-protocol.md`, typed: `RegisterManagedInstance`
//! (authenticated by the activation code), `RequestManagedInstanceRoleToken` (by the
//! instance key) and `UpdateInstanceInformation` (SigV4 with the role credentials).
//!
//! A refusal comes back as [`CallError::Service`] with the server's own code and message
//! (`InvalidActivation`, `RegistrationLimitExceeded`, `AccessDeniedException`, ...), so the
//! caller can say what AWS would say; an unreachable or misbehaving endpoint is a
//! [`CallError::Transport`] or [`CallError::BadResponse`], worth retrying.

use agent_protocol::credentials::{TaskCredentialsAnswer, TaskCredentialsRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::credentials::RoleCredentials;
use crate::http::{self, Endpoint, HttpError};
use crate::keys::{InstanceKey, PUBLIC_KEY_TYPE};
use crate::signing::sign_json_call;

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Why a call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The control plane was not reached, or the exchange broke off.
    #[error(transparent)]
    Transport(#[from] HttpError),
    /// The control plane refused: its `__type` (without any `namespace#`) and message.
    #[error("{code}{}{message}", if message.is_empty() { "" } else { ": " })]
    Service { status: u16, code: String, message: String },
    /// A success whose body is not what the protocol promises.
    #[error("unexpected response: {0}")]
    BadResponse(String),
}

impl CallError {
    /// The server's error code, if it answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            CallError::Service { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// What `RegisterManagedInstance` sends. The activation code is a secret: no `Debug`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RegisterRequest<'a> {
    activation_id: &'a str,
    activation_code: &'a str,
    public_key: &'a str,
    public_key_type: &'a str,
    fingerprint: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RegisterResponse {
    instance_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TokenResponse {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    token_expiration_date: f64,
}

/// The facts a heartbeat reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceInformation {
    pub instance_id: String,
    pub agent_name: String,
    pub agent_version: String,
    pub platform_name: String,
    pub platform_type: String,
    pub platform_version: String,
    /// Omitted when the machine has no address worth reporting.
    #[serde(rename = "IPAddress", skip_serializing_if = "String::is_empty")]
    pub ip_address: String,
    pub computer_name: String,
    pub agent_status: String,
}

fn target(operation: &str) -> String {
    format!("AmazonSSM.{operation}")
}

/// Registers the public key of `key` with the activation; returns the `mi-` id.
pub async fn register_managed_instance(
    endpoint: &Endpoint,
    activation_id: &str,
    activation_code: &str,
    key: &InstanceKey,
    fingerprint: &str,
) -> Result<String, CallError> {
    let public_key = key.public_key_base64();
    let body = serde_json::to_vec(&RegisterRequest {
        activation_id,
        activation_code,
        public_key: &public_key,
        public_key_type: PUBLIC_KEY_TYPE,
        fingerprint,
    })
    .map_err(|error| CallError::BadResponse(error.to_string()))?;
    let headers = vec![
        ("Content-Type".to_owned(), CONTENT_TYPE.to_owned()),
        ("X-Amz-Target".to_owned(), target("RegisterManagedInstance")),
    ];
    let response: RegisterResponse = call(endpoint, &headers, &body).await?;
    let id = response.instance_id;
    let well_formed =
        id.strip_prefix("mi-").is_some_and(|hex| hex.len() == 17 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    if !well_formed {
        return Err(CallError::BadResponse(format!("`{id}` is not a managed instance id")));
    }
    Ok(id)
}

/// Obtains the activation role's credentials for the instance, proving possession of `key`.
pub async fn request_role_token(
    endpoint: &Endpoint,
    instance_id: &str,
    fingerprint: &str,
    key: &InstanceKey,
    now: i64,
) -> Result<RoleCredentials, CallError> {
    let body = serde_json::to_vec(&serde_json::json!({ "Fingerprint": fingerprint }))
        .map_err(|error| CallError::BadResponse(error.to_string()))?;
    let headers = vec![
        ("Content-Type".to_owned(), CONTENT_TYPE.to_owned()),
        ("X-Amz-Target".to_owned(), target("RequestManagedInstanceRoleToken")),
        ("Authorization".to_owned(), key.authorization(instance_id, now, &body)),
    ];
    let response: TokenResponse = call(endpoint, &headers, &body).await?;
    // Whole seconds; a fractional timestamp (as some JSON encoders write) is truncated, and
    // `as` saturates, so no value can wrap around.
    let expires_at = response.token_expiration_date as i64;
    Ok(RoleCredentials {
        access_key_id: response.access_key_id,
        secret_access_key: response.secret_access_key,
        session_token: response.session_token,
        expires_at,
    })
}

/// The heartbeat: `UpdateInstanceInformation`, SigV4-signed (service `ssm`) with `credentials`.
pub async fn update_instance_information(
    endpoint: &Endpoint,
    region: &str,
    credentials: &RoleCredentials,
    information: &InstanceInformation,
    now: i64,
) -> Result<(), CallError> {
    let body = serde_json::to_vec(information).map_err(|error| CallError::BadResponse(error.to_string()))?;
    let headers =
        sign_json_call(credentials, region, "ssm", endpoint.host(), &target("UpdateInstanceInformation"), &body, now);
    let _: Value = call(endpoint, &headers, &body).await?;
    Ok(())
}

/// An ECS call (`AmazonEC2ContainerServiceV20141113.<operation>`), SigV4-signed (service
/// `ecs`) with `credentials`, answered within `limit`.
pub async fn ecs_call(
    endpoint: &Endpoint,
    region: &str,
    credentials: &RoleCredentials,
    operation: &str,
    body: &(impl Serialize + ?Sized),
    limit: std::time::Duration,
) -> Result<Value, CallError> {
    let body = serde_json::to_vec(body).map_err(|error| CallError::BadResponse(error.to_string()))?;
    let target = format!("AmazonEC2ContainerServiceV20141113.{operation}");
    let headers = sign_json_call(credentials, region, "ecs", endpoint.host(), &target, &body, crate::now());
    let response = http::post_within(endpoint, &headers, &body, limit).await?;
    if response.status != 200 {
        return Err(service_error(response.status, &response.body));
    }
    serde_json::from_slice(&response.body).map_err(|error| CallError::BadResponse(error.to_string()))
}

/// A JSON call to another service (`logs`, `ecr`): `X-Amz-Target: TARGET`, SigV4-signed
/// for `service` with `credentials`, answered within the ordinary time limit.
pub async fn json_call(
    endpoint: &Endpoint,
    region: &str,
    credentials: &RoleCredentials,
    service: &str,
    target: &str,
    body: &Value,
) -> Result<Value, CallError> {
    let body = serde_json::to_vec(body).map_err(|error| CallError::BadResponse(error.to_string()))?;
    let headers = sign_json_call(credentials, region, service, endpoint.host(), target, &body, crate::now());
    call(endpoint, &headers, &body).await
}

/// A task's role credentials as `GetTaskCredentials` hands them out.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TaskRoleCredentials {
    pub role_arn: String,
    pub credentials: RoleCredentials,
}

/// `GetTaskCredentials` (`docs/ecs-agent-protocol.md`): the credentials of a task's role
/// (`TaskApplication`: its task role; `TaskExecution`: its execution role), asked for with
/// the instance's own credentials.
pub async fn get_task_credentials(
    endpoint: &Endpoint,
    region: &str,
    credentials: &RoleCredentials,
    request: &TaskCredentialsRequest,
) -> Result<TaskRoleCredentials, CallError> {
    let answer = ecs_call(endpoint, region, credentials, "GetTaskCredentials", request, http::TIMEOUT).await?;
    let TaskCredentialsAnswer { credentials: held } =
        serde_json::from_value(answer).map_err(|error| CallError::BadResponse(error.to_string()))?;
    Ok(TaskRoleCredentials {
        role_arn: held.role_arn,
        credentials: RoleCredentials {
            access_key_id: held.access_key_id,
            secret_access_key: held.secret_access_key,
            session_token: held.session_token,
            expires_at: held.expiration,
        },
    })
}

async fn call<T: serde::de::DeserializeOwned>(
    endpoint: &Endpoint,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<T, CallError> {
    let response = http::post(endpoint, headers, body).await?;
    if response.status != 200 {
        return Err(service_error(response.status, &response.body));
    }
    serde_json::from_slice(&response.body).map_err(|error| CallError::BadResponse(error.to_string()))
}

/// An awsJson error body, `{"__type": "...", "message": "..."}`; a body that is not one
/// still gives an error naming the status.
pub fn service_error(status: u16, body: &[u8]) -> CallError {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |key: &str| parsed.get(key).and_then(Value::as_str).map(str::to_owned);
    let code = text("__type").or_else(|| text("code")).or_else(|| text("Code"));
    match code {
        Some(code) => CallError::Service {
            status,
            code: code.rsplit('#').next().unwrap_or_default().to_owned(),
            message: text("message").or_else(|| text("Message")).unwrap_or_default(),
        },
        None => CallError::Service {
            status,
            code: format!("HTTP {status}"),
            message: String::from_utf8_lossy(body.get(..200).unwrap_or(body)).trim().to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn service_errors_keep_the_servers_code_and_message() {
        let error = service_error(400, br#"{"__type":"RegistrationLimitExceeded","message":"The limit is 1"}"#);
        assert_eq!(error.code(), Some("RegistrationLimitExceeded"));
        assert_eq!(error.to_string(), "RegistrationLimitExceeded: The limit is 1");
        let namespaced = service_error(400, br#"{"__type":"com.amazonaws.ssm#InvalidActivation","Message":"m"}"#);
        assert_eq!(namespaced.to_string(), "InvalidActivation: m");
        let html = service_error(502, b"<html>Bad Gateway</html>");
        assert_eq!(html.to_string(), "HTTP 502: <html>Bad Gateway</html>");
    }

    #[test]
    fn the_heartbeat_body_uses_the_ssm_member_names() {
        let information = InstanceInformation {
            instance_id: "mi-0123456789abcdef0".into(),
            agent_name: "homeport-agent".into(),
            agent_version: "0.1.0".into(),
            platform_name: "Debian GNU/Linux".into(),
            platform_type: "Linux".into(),
            platform_version: "12".into(),
            ip_address: "192.0.2.10".into(),
            computer_name: "host".into(),
            agent_status: "Active".into(),
        };
        let value = serde_json::to_value(&information).unwrap();
        let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "AgentName",
                "AgentStatus",
                "AgentVersion",
                "ComputerName",
                "IPAddress",
                "InstanceId",
                "PlatformName",
                "PlatformType",
                "PlatformVersion"
            ]
        );
    }

    /// A one-shot server answering `answer` and handing back the request it read.
    async fn serve_once(answer: &'static [u8]) -> (Endpoint, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = Endpoint::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let handle = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut received = Vec::new();
            loop {
                let text = String::from_utf8_lossy(&received).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length: usize =
                        head.lines().find_map(|line| line.strip_prefix("Content-Length: ")).unwrap().parse().unwrap();
                    if body.len() >= length {
                        break;
                    }
                }
                let mut chunk = [0u8; 4096];
                let count = socket.read(&mut chunk).await.unwrap();
                received.extend_from_slice(&chunk[..count]);
            }
            socket.write_all(answer).await.unwrap();
            String::from_utf8(received).unwrap()
        });
        (endpoint, handle)
    }

    #[test]
    fn registration_sends_the_public_key_and_never_the_private_one() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 37\r\n\r\n{\"InstanceId\":\"mi-0123456789abcdef0\"}";
            let (endpoint, server) = serve_once(answer).await;
            let key = InstanceKey::generate().unwrap();
            let id = register_managed_instance(&endpoint, "act-1", "code-1", &key, "fp").await.unwrap();
            assert_eq!(id, "mi-0123456789abcdef0");
            let request = server.await.unwrap();
            assert!(request.contains("X-Amz-Target: AmazonSSM.RegisterManagedInstance\r\n"), "{request}");
            let body: Value = serde_json::from_str(request.split_once("\r\n\r\n").unwrap().1).unwrap();
            assert_eq!(
                body,
                serde_json::json!({"ActivationId": "act-1", "ActivationCode": "code-1",
                    "PublicKey": key.public_key_base64(), "PublicKeyType": "Ed25519", "Fingerprint": "fp"})
            );
            assert!(!request.contains(key.seed_text().trim()));
        });
    }

    #[test]
    fn a_token_request_is_signed_by_the_instance_key() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 119\r\n\r\n\
                {\"AccessKeyId\":\"ASIA1\",\"SecretAccessKey\":\"s\",\"SessionToken\":\"t\",\
                \"TokenExpirationDate\":1795003600,\"UpdateKeyPair\":false}";
            let (endpoint, server) = serve_once(answer).await;
            let key = InstanceKey::generate().unwrap();
            let credentials =
                request_role_token(&endpoint, "mi-0123456789abcdef0", "fp", &key, 1_795_000_000).await.unwrap();
            assert_eq!(
                credentials,
                RoleCredentials {
                    access_key_id: "ASIA1".into(),
                    secret_access_key: "s".into(),
                    session_token: "t".into(),
                    expires_at: 1_795_003_600
                }
            );
            let request = server.await.unwrap();
            let expected = key.authorization("mi-0123456789abcdef0", 1_795_000_000, br#"{"Fingerprint":"fp"}"#);
            assert!(request.contains(&format!("Authorization: {expected}\r\n")), "{request}");
        });
    }

    #[test]
    fn a_refusal_is_a_service_error() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let answer = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 65\r\n\r\n\
                {\"__type\":\"ActivationExpired\",\"message\":\"The activation expired\"}";
            let (endpoint, _server) = serve_once(answer).await;
            let key = InstanceKey::generate().unwrap();
            let error = register_managed_instance(&endpoint, "a", "c", &key, "f").await.unwrap_err();
            match error {
                CallError::Service { status: 400, code, message } => {
                    assert_eq!((code.as_str(), message.as_str()), ("ActivationExpired", "The activation expired"));
                }
                other => panic!("{other:?}"),
            }
        });
    }
}
