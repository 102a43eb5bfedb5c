//! Pulling from Homeport's own registry: an image whose registry is the control plane's
//! address (`HOST:PORT/REPOSITORY:TAG`) is pulled with ECR credentials, as ECS pulls from
//! ECR: `ecr:GetAuthorizationToken`, signed with the task's execution role (the instance
//! role when the task has none), gives a password for user `AWS`, handed to Docker as
//! `X-Registry-Auth`. The registry then authorizes each pull as that role.
//!
//! A refused `GetAuthorizationToken` stops the task with ECS's
//! `CannotPullECRContainerError: CODE: MESSAGE`; what the registry refuses comes back through
//! Docker's pull as `CannotPullContainerError: ...`. Images from elsewhere pull as before,
//! without credentials. The password is never logged.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use serde_json::{Value, json};

use crate::api::{self, CallError};
use crate::control_plane::ControlPlane;
use crate::credentials::RoleCredentials;

const GET_AUTHORIZATION_TOKEN: &str = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";

/// Whether `image` is in the registry at `host` (`HOST:PORT`, as the agent's endpoint has it).
pub fn is_served_by(image: &str, host: &str) -> bool {
    image.strip_prefix(host).is_some_and(|rest| rest.starts_with('/'))
}

/// The `X-Registry-Auth` value for the control plane's registry, obtained with
/// `credentials` (a refusal keeps the control plane's code and message).
pub async fn registry_auth(control_plane: &ControlPlane, credentials: &RoleCredentials) -> Result<String, CallError> {
    let answer = api::json_call(
        &control_plane.endpoint,
        &control_plane.region,
        credentials,
        "ecr",
        GET_AUTHORIZATION_TOKEN,
        &json!({}),
    )
    .await?;
    let password = password(&answer)
        .ok_or_else(|| CallError::BadResponse("GetAuthorizationToken answered without a token".into()))?;
    Ok(x_registry_auth(&password, control_plane.endpoint.host()))
}

/// The password in `authorizationData[0].authorizationToken`, base64 of `AWS:PASSWORD`.
fn password(answer: &Value) -> Option<String> {
    let token = answer.pointer("/authorizationData/0/authorizationToken")?.as_str()?;
    let decoded = String::from_utf8(STANDARD.decode(token).ok()?).ok()?;
    decoded.strip_prefix("AWS:").map(str::to_owned)
}

/// Docker's `X-Registry-Auth`: base64url of the auth configuration.
fn x_registry_auth(password: &str, server: &str) -> String {
    URL_SAFE.encode(json!({"username": "AWS", "password": password, "serveraddress": server}).to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn images_of_the_control_plane_registry() {
        assert!(is_served_by("127.0.0.1:7780/web:1", "127.0.0.1:7780"));
        assert!(is_served_by("127.0.0.1:7780/team/web", "127.0.0.1:7780"));
        assert!(!is_served_by("127.0.0.1:77801/web:1", "127.0.0.1:7780"));
        assert!(!is_served_by("busybox", "127.0.0.1:7780"));
        assert!(!is_served_by("docker.io/127.0.0.1:7780/x", "127.0.0.1:7780"));
    }

    #[test]
    fn the_token_becomes_dockers_auth_header() {
        let answer = json!({"authorizationData": [{"authorizationToken": STANDARD.encode("AWS:pa55+/word"),
            "proxyEndpoint": "http://127.0.0.1:7780"}]});
        let secret = password(&answer).unwrap();
        assert_eq!(secret, "pa55+/word");
        let header = x_registry_auth(&secret, "127.0.0.1:7780");
        let decoded: Value = serde_json::from_slice(&URL_SAFE.decode(header).unwrap()).unwrap();
        assert_eq!(decoded, json!({"username": "AWS", "password": "pa55+/word", "serveraddress": "127.0.0.1:7780"}));
        assert_eq!(password(&json!({"authorizationData": []})), None);
        assert_eq!(password(&json!({"authorizationData": [{"authorizationToken": STANDARD.encode("x:y")}]})), None);
    }
}
