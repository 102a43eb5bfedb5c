//! A container definition's `secrets` and `repositoryCredentials`, checked when the task
//! definition is registered: each secret a `name` and a `valueFrom` (an SSM parameter name or
//! ARN, or a Secrets Manager secret ARN with an optional `:json-key:version-stage:version-id`
//! suffix), the credentials a Secrets Manager secret's ARN or name.
//!
//! The control plane only carries these references to the agent: the agent resolves them at
//! task start with the task's execution role (as ECS's agent does), so their values never
//! reach the control plane's store, its task descriptions or its logs.

use aws_protocol::AwsError;
use serde_json::{Map, Value as Json};

use crate::ecs::client;

/// Checks `secrets` and `repositoryCredentials` of container `name`.
pub fn check(container: &Map<String, Json>, name: &str) -> Result<(), AwsError> {
    let mut seen: Vec<&str> = Vec::new();
    for secret in container.get("secrets").and_then(Json::as_array).into_iter().flatten() {
        let Some(secret) = secret.as_object() else {
            return Err(client(format!("Container '{name}': each secret must be an object.")));
        };
        if let Some(member) = secret.keys().find(|key| !["name", "valueFrom"].contains(&key.as_str())) {
            return Err(client(format!("Container '{name}': unknown secret member '{member}'.")));
        }
        let variable = secret.get("name").and_then(Json::as_str).unwrap_or_default();
        let value_from = secret.get("valueFrom").and_then(Json::as_str).unwrap_or_default();
        if variable.is_empty() || value_from.is_empty() {
            return Err(client(format!("Container '{name}': secrets must have both a 'name' and a 'valueFrom'.")));
        }
        if seen.contains(&variable) {
            return Err(client(format!("Container '{name}': the secret '{variable}' is given twice.")));
        }
        seen.push(variable);
        let service = value_from.split(':').nth(2);
        if value_from.starts_with("arn:") && !matches!(service, Some("ssm" | "secretsmanager")) {
            return Err(client(format!(
                "Container '{name}': the secret '{variable}' must come from SSM Parameter Store or Secrets Manager ({value_from})."
            )));
        }
    }
    if let Some(credentials) = container.get("repositoryCredentials") {
        let parameter = credentials.get("credentialsParameter").and_then(Json::as_str).unwrap_or_default();
        let members_ok = credentials.as_object().is_some_and(|o| o.keys().all(|k| k == "credentialsParameter"));
        if parameter.is_empty() || !members_ok {
            return Err(client(format!(
                "Container '{name}': repositoryCredentials takes one member, credentialsParameter, the ARN of a Secrets Manager secret."
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container(value: Json) -> Map<String, Json> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn secrets_name_their_source() {
        let good = container(json!({
            "secrets": [
                {"name": "DB", "valueFrom": "/app/db"},
                {"name": "P", "valueFrom": "arn:aws:ssm:us-east-1:111122223333:parameter/app/p"},
                {"name": "K", "valueFrom": "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf:password::"},
            ],
            "repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:us-east-1:111122223333:secret:reg-AbCdEf"},
        }));
        assert!(check(&good, "app").is_ok());
        for bad in [
            json!({"secrets": [{"name": "DB"}]}),
            json!({"secrets": [{"name": "DB", "valueFrom": "x"}, {"name": "DB", "valueFrom": "y"}]}),
            json!({"secrets": [{"name": "DB", "valueFrom": "arn:aws:s3:::bucket/key"}]}),
            json!({"secrets": [{"name": "DB", "valueFrom": "x", "extra": 1}]}),
            json!({"repositoryCredentials": {}}),
            json!({"repositoryCredentials": {"credentialsParameter": "x", "other": 1}}),
        ] {
            assert!(check(&container(bad.clone()), "app").is_err(), "{bad}");
        }
    }
}
