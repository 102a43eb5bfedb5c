//! A task's secrets, resolved at its start as ECS's agent resolves them: the agent (not the
//! control plane) asks Homeport's SSM Parameter Store and Secrets Manager for each container's
//! `secrets` and `repositoryCredentials`, signed with the task's execution role, so the
//! execution role's policies decide what a task may read, and a value travels only from
//! the control plane to this agent and on into the container's environment (Docker's create
//! call). Values are held in memory only: never in `ecs.json`, never in a log line, never in
//! a report to the control plane (whose task descriptions carry only the references).
//!
//! `valueFrom` is an SSM parameter's name (this instance's region) or ARN (its own region),
//! read with `ssm:GetParameters` (decrypted, at most ten names a call); or a Secrets Manager
//! secret's ARN, read with `secretsmanager:GetSecretValue`, optionally followed by
//! `:json-key:version-stage:version-id` (a key of the JSON object the value holds; a stage or
//! a version other than `AWSCURRENT`).
//!
//! A refusal or a missing secret stops the task before any of its containers is created,
//! with ECS's `ResourceInitializationError: unable to pull secrets or registry auth: ...`
//! reason naming the service, the refused action's code and message (which names the role,
//! the action and the resource) or the missing parameters.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api::{self, CallError};
use crate::control_plane::ControlPlane;
use crate::credentials::RoleCredentials;
use crate::task_spec::{ContainerDefinition, TaskPayload};

const PREFIX: &str =
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed";
const GET_PARAMETERS: &str = "AmazonSSM.GetParameters";
const GET_SECRET_VALUE: &str = "secretsmanager.GetSecretValue";

/// Where one secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An SSM parameter: its name or ARN as written, and the region to ask.
    Parameter { name: String, region: Option<String> },
    /// A Secrets Manager secret: its ARN (without the suffix), its region, and what of it.
    Secret { arn: String, region: String, json_key: Option<String>, stage: Option<String>, version_id: Option<String> },
}

/// Reads a `valueFrom`.
pub fn source(value_from: &str) -> Source {
    let parts: Vec<&str> = value_from.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "secretsmanager", region, _, "secret", _, rest @ ..] => {
            let arn = parts.get(..7).map(|p| p.join(":")).unwrap_or_default();
            let part = |index: usize| rest.get(index).filter(|text| !text.is_empty()).map(|text| (*text).to_owned());
            Source::Secret { arn, region: (*region).to_owned(), json_key: part(0), stage: part(1), version_id: part(2) }
        }
        ["arn", _, "ssm", region, ..] => {
            Source::Parameter { name: value_from.to_owned(), region: Some((*region).to_owned()) }
        }
        _ => Source::Parameter { name: value_from.to_owned(), region: None },
    }
}

/// One container's secrets: `(variable, valueFrom)`.
pub fn container_secrets(container: &ContainerDefinition) -> Vec<(String, String)> {
    container
        .other
        .get("secrets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|secret| {
            Some((secret.get("name")?.as_str()?.to_owned(), secret.get("valueFrom")?.as_str()?.to_owned()))
        })
        .collect()
}

/// A container's `repositoryCredentials.credentialsParameter`, if it has one.
pub fn repository_credentials(container: &ContainerDefinition) -> Option<String> {
    container.other.get("repositoryCredentials")?.get("credentialsParameter")?.as_str().map(str::to_owned)
}

/// Whether any container of the task has secrets.
pub fn has_secrets(task: &TaskPayload) -> bool {
    task.containers.iter().any(|container| !container_secrets(container).is_empty())
}

/// The resolved secrets of a task: each container's variables, by container name. Its
/// `Debug` shows no value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Resolved(BTreeMap<String, Vec<(String, String)>>);

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<(&String, Vec<&String>)> =
            self.0.iter().map(|(container, vars)| (container, vars.iter().map(|(name, _)| name).collect())).collect();
        write!(f, "Resolved({names:?})")
    }
}

impl Resolved {
    /// The variables of `container` (none when it has no secrets).
    pub fn of(&self, container: &str) -> Vec<(String, String)> {
        self.0.get(container).cloned().unwrap_or_default()
    }
}

/// The reason a task stops when a secret cannot be had.
fn ssm_failed(why: &str) -> String {
    format!("{PREFIX}: unable to retrieve secrets from ssm: {why}")
}

fn asm_failed(arn: &str, why: &str) -> String {
    format!("{PREFIX}: unable to retrieve secret from asm: failed to fetch secret {arn} from secrets manager: {why}")
}

/// Why a task's secrets could not be resolved.
#[derive(Debug)]
pub enum SecretsError {
    /// Refused or missing: ECS's reason for stopping the task.
    Refused(String),
    /// The control plane could not be reached: tried again.
    Unreachable(String),
}

fn refusal(error: CallError, reason: impl Fn(&str) -> String) -> SecretsError {
    match error {
        error @ CallError::Service { .. } => SecretsError::Refused(reason(&error.to_string())),
        error => SecretsError::Unreachable(error.to_string()),
    }
}

/// Resolves every secret of `task` with `credentials` (its execution role's).
pub async fn resolve(
    control_plane: &ControlPlane,
    credentials: &RoleCredentials,
    task: &TaskPayload,
) -> Result<Resolved, SecretsError> {
    // (container, variable, source)
    let wanted: Vec<(String, String, Source)> = task
        .containers
        .iter()
        .flat_map(|container| {
            container_secrets(container)
                .into_iter()
                .map(|(variable, value_from)| (container.name.clone(), variable, source(&value_from)))
        })
        .collect();
    let mut parameters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, _, source) in &wanted {
        if let Source::Parameter { name, region } = source {
            let region = region.clone().unwrap_or_else(|| control_plane.region.clone());
            let names = parameters.entry(region).or_default();
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    let mut parameter_values: BTreeMap<String, String> = BTreeMap::new();
    for (region, names) in &parameters {
        for chunk in names.chunks(10) {
            let body = json!({"Names": chunk, "WithDecryption": true});
            let answer = api::json_call(&control_plane.endpoint, region, credentials, "ssm", GET_PARAMETERS, &body)
                .await
                .map_err(|error| refusal(error, ssm_failed))?;
            let invalid: Vec<&str> = answer
                .get("InvalidParameters")
                .and_then(Value::as_array)
                .map(|list| list.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !invalid.is_empty() {
                return Err(SecretsError::Refused(ssm_failed(&format!("invalid parameters: {}", invalid.join(", ")))));
            }
            for parameter in answer.get("Parameters").and_then(Value::as_array).into_iter().flatten() {
                let (Some(name), Some(arn), Some(value)) = (
                    parameter.get("Name").and_then(Value::as_str),
                    parameter.get("ARN").and_then(Value::as_str),
                    parameter.get("Value").and_then(Value::as_str),
                ) else {
                    continue;
                };
                parameter_values.insert(name.to_owned(), value.to_owned());
                parameter_values.insert(arn.to_owned(), value.to_owned());
            }
        }
    }
    let mut secret_values: BTreeMap<(String, Option<String>, Option<String>), String> = BTreeMap::new();
    let mut resolved: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (container, variable, source) in wanted {
        let value = match source {
            Source::Parameter { name, .. } => parameter_values
                .get(&name)
                .cloned()
                .ok_or_else(|| SecretsError::Refused(ssm_failed(&format!("invalid parameters: {name}"))))?,
            Source::Secret { arn, region, json_key, stage, version_id } => {
                let key = (arn.clone(), stage.clone(), version_id.clone());
                let text = match secret_values.get(&key) {
                    Some(text) => text.clone(),
                    None => {
                        let text = secret_string(
                            control_plane,
                            credentials,
                            &region,
                            &arn,
                            stage.as_deref(),
                            version_id.as_deref(),
                        )
                        .await?;
                        secret_values.insert(key, text.clone());
                        text
                    }
                };
                match json_key {
                    None => text,
                    Some(json_key) => json_member(&text, &json_key).ok_or_else(|| {
                        SecretsError::Refused(asm_failed(
                            &arn,
                            &format!("retrieved secret from Secrets Manager did not contain json key {json_key}"),
                        ))
                    })?,
                }
            }
        };
        resolved.entry(container).or_default().push((variable, value));
    }
    Ok(Resolved(resolved))
}

/// `SecretString` of a secret's version (the stage or version asked, else AWSCURRENT).
async fn secret_string(
    control_plane: &ControlPlane,
    credentials: &RoleCredentials,
    region: &str,
    arn: &str,
    stage: Option<&str>,
    version_id: Option<&str>,
) -> Result<String, SecretsError> {
    let mut body = serde_json::Map::new();
    body.insert("SecretId".to_owned(), json!(arn));
    if let Some(stage) = stage {
        body.insert("VersionStage".to_owned(), json!(stage));
    }
    if let Some(version_id) = version_id {
        body.insert("VersionId".to_owned(), json!(version_id));
    }
    let body = Value::Object(body);
    let answer =
        api::json_call(&control_plane.endpoint, region, credentials, "secretsmanager", GET_SECRET_VALUE, &body)
            .await
            .map_err(|error| refusal(error, |why| asm_failed(arn, why)))?;
    answer
        .get("SecretString")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| SecretsError::Refused(asm_failed(arn, "the secret has no SecretString")))
}

/// A member of the JSON object `text` holds: a string as it is, anything else as JSON text.
fn json_member(text: &str, key: &str) -> Option<String> {
    let parsed: Value = serde_json::from_str(text).ok()?;
    match parsed.get(key)? {
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// The `X-Registry-Auth` for a private registry's image, from a Secrets Manager secret
/// holding `{"username", "password"}`, read with the execution role.
pub async fn private_registry_auth(
    control_plane: &ControlPlane,
    credentials: &RoleCredentials,
    credentials_parameter: &str,
    image: &str,
) -> Result<String, SecretsError> {
    let region = match source(credentials_parameter) {
        Source::Secret { region, .. } => region,
        Source::Parameter { .. } => control_plane.region.clone(),
    };
    let arn = match source(credentials_parameter) {
        Source::Secret { arn, .. } => arn,
        Source::Parameter { name, .. } => name,
    };
    let text = secret_string(control_plane, credentials, &region, &arn, None, None).await?;
    let (Some(username), Some(password)) = (json_member(&text, "username"), json_member(&text, "password")) else {
        return Err(SecretsError::Refused(asm_failed(
            &arn,
            "the secret does not hold the JSON keys username and password",
        )));
    };
    Ok(docker_auth(&username, &password, registry_of(image)))
}

/// The registry an image reference names (`docker.io` when its first component is not a host).
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => first,
        _ => "docker.io",
    }
}

/// Docker's `X-Registry-Auth`: base64url of the auth configuration.
fn docker_auth(username: &str, password: &str, server: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE
        .encode(json!({"username": username, "password": password, "serveraddress": server}).to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn value_from_names_its_source() {
        assert_eq!(source("/app/db"), Source::Parameter { name: "/app/db".into(), region: None });
        assert_eq!(
            source("arn:aws:ssm:eu-west-1:111122223333:parameter/app/db"),
            Source::Parameter {
                name: "arn:aws:ssm:eu-west-1:111122223333:parameter/app/db".into(),
                region: Some("eu-west-1".into())
            }
        );
        let arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf";
        assert_eq!(
            source(arn),
            Source::Secret {
                arn: arn.into(),
                region: "us-east-1".into(),
                json_key: None,
                stage: None,
                version_id: None
            }
        );
        assert_eq!(
            source(&format!("{arn}:password:AWSPREVIOUS:")),
            Source::Secret {
                arn: arn.into(),
                region: "us-east-1".into(),
                json_key: Some("password".into()),
                stage: Some("AWSPREVIOUS".into()),
                version_id: None
            }
        );
        assert_eq!(
            source(&format!("{arn}:::0123")),
            Source::Secret {
                arn: arn.into(),
                region: "us-east-1".into(),
                json_key: None,
                stage: None,
                version_id: Some("0123".into())
            }
        );
    }

    #[test]
    fn json_keys_and_registries() {
        assert_eq!(json_member(r#"{"password":"p4ss","port":5432}"#, "password").as_deref(), Some("p4ss"));
        assert_eq!(json_member(r#"{"password":"p4ss","port":5432}"#, "port").as_deref(), Some("5432"));
        assert_eq!(json_member("not json", "x"), None);
        assert_eq!(registry_of("registry.example.com/team/app:1"), "registry.example.com");
        assert_eq!(registry_of("localhost:5000/app"), "localhost:5000");
        assert_eq!(registry_of("team/app"), "docker.io");
        assert_eq!(registry_of("busybox"), "docker.io");
    }

    /// A control plane answering each `X-Amz-Target` with `answers[target]` (status, body);
    /// its base URL.
    async fn control_plane(answers: Vec<(&'static str, u16, String)>) -> ControlPlane {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let answers = answers.clone();
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
                        let target = header("x-amz-target").unwrap_or_default();
                        let (status, body) = answers
                            .iter()
                            .find(|(wanted, _, _)| *wanted == target)
                            .map(|(_, status, body)| (*status, body.clone()))
                            .unwrap_or((500, "{}".to_owned()));
                        let answer = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        stream.write_all(answer.as_bytes()).await.unwrap();
                        return;
                    }
                });
            }
        });
        ControlPlane {
            endpoint: crate::http::Endpoint::parse(&format!("http://{address}")).unwrap(),
            region: "us-east-1".into(),
        }
    }

    fn credentials() -> RoleCredentials {
        RoleCredentials {
            access_key_id: "ASIAEXECUTION".into(),
            secret_access_key: "secret".into(),
            session_token: "token".into(),
            expires_at: crate::now() + 3600,
        }
    }

    fn task(secrets: Value) -> TaskPayload {
        serde_json::from_value(json!({
            "taskArn": "arn:aws:ecs:us-east-1:111122223333:task/edge/0123456789abcdef0123456789abcdef",
            "family": "web", "revision": 1, "desiredStatus": "RUNNING",
            "containers": [{"name": "app", "image": "busybox", "secrets": secrets}]
        }))
        .unwrap()
    }

    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:api-AbCdEf";

    #[tokio::test]
    async fn secrets_resolve_into_each_containers_variables() {
        let parameters = json!({"Parameters": [{"Name": "/app/db", "ARN": "arn:aws:ssm:us-east-1:111122223333:parameter/app/db",
            "Value": "pg-pass", "Type": "SecureString"}], "InvalidParameters": []});
        let secret = json!({"ARN": SECRET, "SecretString": "{\"password\":\"api-pass\",\"port\":5432}"});
        let plane = control_plane(vec![
            ("AmazonSSM.GetParameters", 200, parameters.to_string()),
            ("secretsmanager.GetSecretValue", 200, secret.to_string()),
        ])
        .await;
        let wanted = task(json!([
            {"name": "DB", "valueFrom": "/app/db"},
            {"name": "API", "valueFrom": format!("{SECRET}:password::")},
            {"name": "PORT", "valueFrom": format!("{SECRET}:port::")},
            {"name": "WHOLE", "valueFrom": SECRET},
        ]));
        let resolved = resolve(&plane, &credentials(), &wanted).await.unwrap();
        assert_eq!(
            resolved.of("app"),
            [
                ("DB".to_owned(), "pg-pass".to_owned()),
                ("API".to_owned(), "api-pass".to_owned()),
                ("PORT".to_owned(), "5432".to_owned()),
                ("WHOLE".to_owned(), "{\"password\":\"api-pass\",\"port\":5432}".to_owned()),
            ]
        );
        let missing_key = task(json!([{"name": "X", "valueFrom": format!("{SECRET}:absent::")}]));
        let Err(SecretsError::Refused(reason)) = resolve(&plane, &credentials(), &missing_key).await else { panic!() };
        assert!(reason.ends_with("did not contain json key absent"), "{reason}");
    }

    #[tokio::test]
    async fn refusals_and_missing_parameters_become_ecs_reasons() {
        let denied = json!({"__type": "AccessDeniedException", "message": "User: arn:aws:sts::111122223333:assumed-role/exec/t is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:111122223333:parameter/app/db"});
        let plane = control_plane(vec![("AmazonSSM.GetParameters", 400, denied.to_string())]).await;
        let wanted = task(json!([{"name": "DB", "valueFrom": "/app/db"}]));
        let Err(SecretsError::Refused(reason)) = resolve(&plane, &credentials(), &wanted).await else { panic!() };
        assert!(
            reason.starts_with("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: AccessDeniedException: User: "),
            "{reason}"
        );
        assert!(reason.contains("ssm:GetParameters"), "{reason}");
        let missing = json!({"Parameters": [], "InvalidParameters": ["/app/db"]});
        let plane = control_plane(vec![("AmazonSSM.GetParameters", 200, missing.to_string())]).await;
        let Err(SecretsError::Refused(reason)) = resolve(&plane, &credentials(), &wanted).await else { panic!() };
        assert!(reason.ends_with("unable to retrieve secrets from ssm: invalid parameters: /app/db"), "{reason}");
        let nowhere = ControlPlane {
            endpoint: crate::http::Endpoint::parse("http://127.0.0.1:9").unwrap(),
            region: "us-east-1".into(),
        };
        assert!(matches!(resolve(&nowhere, &credentials(), &wanted).await, Err(SecretsError::Unreachable(_))));
    }

    #[tokio::test]
    async fn a_private_registrys_credentials_become_dockers_auth() {
        use base64::Engine;
        let secret = json!({"ARN": SECRET, "SecretString": "{\"username\":\"deploy\",\"password\":\"reg-pass\"}"});
        let plane = control_plane(vec![("secretsmanager.GetSecretValue", 200, secret.to_string())]).await;
        let auth =
            private_registry_auth(&plane, &credentials(), SECRET, "registry.example.com/team/app:1").await.unwrap();
        let decoded: Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE.decode(auth).unwrap()).unwrap();
        assert_eq!(
            decoded,
            json!({"username": "deploy", "password": "reg-pass", "serveraddress": "registry.example.com"})
        );
    }

    #[test]
    fn resolved_values_never_show_in_debug() {
        let mut map = BTreeMap::new();
        map.insert("app".to_owned(), vec![("DB_PASSWORD".to_owned(), "hunter2".to_owned())]);
        let resolved = Resolved(map);
        let shown = format!("{resolved:?}");
        assert!(shown.contains("DB_PASSWORD") && !shown.contains("hunter2"), "{shown}");
        assert_eq!(resolved.of("app"), [("DB_PASSWORD".to_owned(), "hunter2".to_owned())]);
        assert!(resolved.of("other").is_empty());
    }
}
