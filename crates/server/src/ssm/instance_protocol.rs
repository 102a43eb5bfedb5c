//! The two calls an agent makes without SigV4 (`docs/instance-protocol.md`):
//! `RegisterManagedInstance`, authenticated by an activation's id and code, and
//! `RequestManagedInstanceRoleToken`, authenticated by an Ed25519 signature with the
//! instance's registered key.
//!
//! Guarantees: an activation code is compared by its SHA-256 in constant time and never
//! stored or logged; a registration spends one of the activation's `RegistrationLimit` in the
//! same transaction that records the instance, so concurrent registrations cannot exceed it;
//! credentials are issued only to a registered instance whose signature verifies within five
//! minutes of its timestamp, and only while the role's trust policy lets `ssm.amazonaws.com`
//! assume it. Both calls are audited like every other request.

use aws_protocol::AwsError;
use aws_protocol::sigv4::{HttpRequest, constant_time_eq, parse_amz_date, sha256_hex};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Value as Json, json};

use crate::app::App;
use crate::audit::{AuditLog, Record};
use crate::auth::SessionKind;
use crate::iam::roles::find_role;
use crate::ids;
use crate::operations::internal;
use crate::regions::Scope;
use crate::ssm::model::activation;
use crate::ssm::model::instance::{self, Registration, SigningKey};
use crate::ssm::trusts_ssm;
use crate::sts::sessions::{SessionGrant, issue_role_session};

/// The `X-Amz-Target`s answered here.
pub const REGISTER: &str = "AmazonSSM.RegisterManagedInstance";
pub const REQUEST_TOKEN: &str = "AmazonSSM.RequestManagedInstanceRoleToken";

/// The scheme of the instance's `Authorization` header and of its string to sign.
const SCHEME: &str = "HOMEPORT-ED25519";
/// How far an instance's timestamp may be from the server's clock.
const SKEW_SECONDS: i64 = 300;
/// How long instance role credentials live.
const CREDENTIALS_SECONDS: i64 = 3_600;

/// Who made the call and what it was about, for the audit record.
struct Outcome {
    principal: String,
    resource: String,
    /// The region of the activation or instance it concerns (the server's default until
    /// one is found): the protocol is unsigned, so no signature names one.
    region: String,
    result: Result<Json, AwsError>,
}

/// The agent's registration calls, answered before SigV4 (they carry their own proof).
pub const ROUTE: crate::pipeline::UnsignedRoute = |app, audit, incoming, request_id| {
    Box::pin(async move {
        let outcome = handle(app, audit, &incoming.request, &incoming.source_ip, request_id).await?;
        Some(match outcome {
            Ok(json) => crate::pipeline::Reply::new(
                200,
                "application/x-amz-json-1.1",
                request_id,
                serde_json::to_vec(&json).unwrap_or_default(),
            ),
            Err(error) => crate::pipeline::error_reply(
                &error,
                aws_protocol::Protocol::Json,
                crate::operations::IAM_NAMESPACE,
                request_id,
            ),
        })
    })
};

/// Answers one of the two calls and audits it. `None` if the target is not one of them.
async fn handle(
    app: &App,
    audit: &AuditLog,
    request: &HttpRequest<'_>,
    source_ip: &str,
    request_id: &str,
) -> Option<Result<Json, AwsError>> {
    let target = request.header("x-amz-target")?;
    if matches!(target, REGISTER | REQUEST_TOKEN) && audit.refuses_changes() {
        return Some(Err(crate::pipeline::disk_full(aws_protocol::Protocol::Json)));
    }
    let body: Json = serde_json::from_slice(request.body).unwrap_or(Json::Null);
    let mut outcome = match target {
        REGISTER => register(app, &body).await,
        REQUEST_TOKEN => request_token(app, request, &body).await,
        _ => return None,
    };
    // Homeport's own failures are answered (and audited) as SSM's.
    outcome.result = outcome.result.map_err(|error| super::SERVICE.answer(error));
    let event_name = target.trim_start_matches("AmazonSSM.");
    let record = Record {
        time: ids::now(),
        request_id: request_id.into(),
        account_id: app.account_id.as_str().into(),
        principal_arn: outcome.principal.as_str().into(),
        username: outcome.principal.rsplit('/').next().unwrap_or_default().into(),
        access_key_id: "".into(),
        source_ip: source_ip.into(),
        user_agent: request.header("user-agent").unwrap_or_default().into(),
        event_source: "".into(),
        service: "ssm".into(),
        region: outcome.region.as_str().into(),
        event_name: event_name.into(),
        resources: vec![outcome.resource.clone()],
        decision: if outcome.result.is_ok() { "allowed" } else { "implicitDeny" }.into(),
        statements: Vec::new(),
        error_code: outcome.result.as_ref().err().map(|error| error.code.as_str().into()),
        ..Record::default()
    };
    if let Err(error) = audit.record(record).await {
        return Some(Err(super::SERVICE.answer(internal(error))));
    }
    Some(outcome.result)
}

fn member<'a>(body: &'a Json, name: &str) -> &'a str {
    body.get(name).and_then(Json::as_str).unwrap_or_default()
}

fn invalid_activation() -> AwsError {
    AwsError::new("InvalidActivation", 400, "Activation ID or activation code is not valid.")
}

/// Whether `text` is a UUID as SSM writes activation ids (`^[0-9a-fA-F]{8}-...-[0-9a-fA-F]{12}$`).
fn is_activation_id(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, length)| group.len() == length && group.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

/// Whether `text` is a managed instance id (`mi-` and 17 hex digits).
fn is_instance_id(text: &str) -> bool {
    text.strip_prefix("mi-").is_some_and(|hex| hex.len() == 17 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

/// SSM's answer to an activation id that is not one: the value is not echoed, so a caller
/// cannot make the answer (or the audit record) as large as its request.
fn malformed_activation_id() -> AwsError {
    AwsError::new(
        "ValidationException",
        400,
        "1 validation error detected: Value at 'activationId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    )
}

async fn register(app: &App, body: &Json) -> Outcome {
    // Shapes first: nothing the caller sent reaches the record (or the store) unchecked.
    let activation_id = member(body, "ActivationId");
    if !is_activation_id(activation_id) {
        let region = app.region.clone();
        return Outcome {
            principal: String::new(),
            resource: String::new(),
            region,
            result: Err(malformed_activation_id()),
        };
    }
    let activation_id = activation_id.to_owned();
    let activation_arn = |region: &str| format!("arn:aws:ssm:{region}:{}:activation/{activation_id}", app.account_id);
    match register_instance(app, body, &activation_id).await {
        Ok((instance_id, region)) => Outcome {
            principal: activation_arn(&region),
            resource: instance_arn(app, &region, &instance_id),
            result: Ok(json!({"InstanceId": instance_id})),
            region,
        },
        Err(error) => Outcome {
            principal: activation_arn(&app.region),
            resource: activation_arn(&app.region),
            region: app.region.clone(),
            result: Err(error),
        },
    }
}

fn instance_arn(app: &App, region: &str, instance_id: &str) -> String {
    format!("arn:aws:ssm:{region}:{}:managed-instance/{instance_id}", app.account_id)
}

/// Registers an instance with an activation: its id, and its region (the activation's).
async fn register_instance(app: &App, body: &Json, activation_id: &str) -> Result<(String, String), AwsError> {
    let code = member(body, "ActivationCode");
    if member(body, "PublicKeyType") != "Ed25519" {
        return Err(AwsError::new("ValidationException", 400, "PublicKeyType must be Ed25519."));
    }
    let public_key = member(body, "PublicKey");
    let key_bytes = BASE64.decode(public_key).ok().and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
    if key_bytes.and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok()).is_none() {
        return Err(AwsError::new("ValidationException", 400, "PublicKey is not a base64 Ed25519 public key."));
    }
    let fingerprint = member(body, "Fingerprint");
    if fingerprint.is_empty() || fingerprint.len() > 256 {
        return Err(AwsError::new("ValidationException", 400, "Fingerprint must have 1 to 256 characters."));
    }
    let activation = activation::find_for_registration(&app.store, &app.account_id, activation_id)
        .await?
        .ok_or_else(invalid_activation)?;
    if !constant_time_eq(sha256_hex(code.as_bytes()).as_bytes(), activation.code_hash.as_bytes()) {
        return Err(invalid_activation());
    }
    let now = ids::now();
    if activation.expired(now) {
        return Err(AwsError::new("ActivationExpired", 400, format!("Activation {activation_id} has expired.")));
    }
    let instance_id = ids::managed_instance_id().map_err(internal)?;
    let registration = Registration {
        instance_id: &instance_id,
        activation_id,
        role_name: &activation.role_name,
        public_key,
        fingerprint,
        name: activation.default_instance_name.as_deref(),
    };
    let scope = Scope { account: &app.account_id, region: &activation.region };
    if !instance::register(&app.store, scope, &registration, now).await? {
        return Err(AwsError::new(
            "RegistrationLimitExceeded",
            400,
            format!("Activation {activation_id} has reached its registration limit."),
        ));
    }
    app.cache.invalidate(&app.store).await.map_err(crate::errors::internal)?;
    Ok((instance_id, activation.region))
}

/// The parts of `Authorization: HOMEPORT-ED25519 InstanceId=..., Timestamp=..., Signature=...`.
fn authorization(header: &str) -> Option<(&str, &str, &str)> {
    let fields = header.strip_prefix(SCHEME)?.trim();
    let mut instance_id = None;
    let mut timestamp = None;
    let mut signature = None;
    for field in fields.split(',') {
        match field.trim().split_once('=')? {
            ("InstanceId", value) => instance_id = Some(value),
            ("Timestamp", value) => timestamp = Some(value),
            ("Signature", value) => signature = Some(value),
            _ => return None,
        }
    }
    Some((instance_id?, timestamp?, signature?))
}

/// What the instance signs: the scheme, its timestamp, its id and its body's SHA-256.
pub fn string_to_sign(timestamp: &str, instance_id: &str, body: &[u8]) -> String {
    format!("{SCHEME}\n{timestamp}\n{instance_id}\n{}", sha256_hex(body))
}

fn access_denied(message: impl Into<String>) -> AwsError {
    AwsError::new("AccessDeniedException", 403, message)
}

async fn request_token(app: &App, request: &HttpRequest<'_>, body: &Json) -> Outcome {
    let parsed = request.header("authorization").and_then(authorization).filter(|(id, _, _)| is_instance_id(id));
    let instance_id = parsed.map(|(id, _, _)| id.to_owned()).unwrap_or_default();
    let registered = match parsed {
        Some((id, _, _)) => instance::signing_key(&app.store, &app.account_id, id).await.map_err(AwsError::from),
        None => Ok(None),
    };
    let region = match &registered {
        Ok(Some(registered)) => registered.region.clone(),
        _ => app.region.clone(),
    };
    let result = match (parsed, registered) {
        (None, _) => Err(access_denied(format!("Missing or malformed {SCHEME} Authorization header."))),
        (Some(_), Err(error)) => Err(error),
        (Some((id, _, _)), Ok(None)) => {
            Err(AwsError::new("InvalidInstanceId", 400, format!("Instance {id} is not registered.")))
        }
        (Some((id, timestamp, signature)), Ok(Some(registered))) => {
            issue(app, request, body, Signed { instance_id: id, timestamp, signature }, registered).await
        }
    };
    let principal = instance_arn(app, &region, &instance_id);
    Outcome { resource: principal.clone(), principal, region, result }
}

/// What a token request's Authorization header claims.
struct Signed<'a> {
    instance_id: &'a str,
    timestamp: &'a str,
    signature: &'a str,
}

async fn issue(
    app: &App,
    request: &HttpRequest<'_>,
    body: &Json,
    Signed { instance_id, timestamp, signature }: Signed<'_>,
    registered: SigningKey,
) -> Result<Json, AwsError> {
    let signed_at = parse_amz_date(timestamp).ok_or_else(|| access_denied("The Timestamp is not valid."))?;
    if (ids::now() - signed_at).abs() > SKEW_SECONDS {
        return Err(access_denied("The request timestamp is more than 5 minutes from the server's time."));
    }
    let key = BASE64
        .decode(&registered.public_key)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
        .ok_or_else(|| internal("a registered public key does not decode"))?;
    let signature = BASE64
        .decode(signature)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or_else(|| access_denied("The request signature is not valid."))?;
    let signed = string_to_sign(timestamp, instance_id, request.body);
    key.verify_strict(signed.as_bytes(), &signature)
        .map_err(|_| access_denied("The request signature is not valid."))?;
    if member(body, "Fingerprint") != registered.fingerprint {
        return Err(access_denied("The fingerprint does not match the registered instance."));
    }
    let role_name = registered.role_name;
    let role_arn = format!("arn:aws:iam::{}:role/{role_name}", app.account_id);
    let not_trusted = || {
        access_denied(format!(
            "ssm.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: {role_arn} (check the role's trust policy)"
        ))
    };
    let role = find_role(&app.store, &app.account_id, &role_name).await?.ok_or_else(not_trusted)?;
    if !trusts_ssm(app, &role, &instance_arn(app, &registered.region, instance_id)) {
        return Err(not_trusted());
    }
    // The instance's own session: the one that acts as the instance.
    let kind = SessionKind::Instance { instance_id: instance_id.to_owned() };
    let grant = SessionGrant {
        policy: None,
        policy_arns: &[],
        tags: &[],
        kind: &kind,
        revoked_with: Some(instance_id),
        mfa_at: None,
        source_identity: None,
        transitive: &[],
    };
    let credentials =
        issue_role_session(app, &role, instance_id, CREDENTIALS_SECONDS, &grant, &registered.region).await?;
    Ok(json!({
        "AccessKeyId": credentials.access_key_id,
        "SecretAccessKey": credentials.secret_access_key,
        "SessionToken": credentials.session_token,
        "TokenExpirationDate": credentials.expires_at,
        "UpdateKeyPair": false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_authorization_header() {
        let header = "HOMEPORT-ED25519 InstanceId=mi-0123456789abcdef0, Timestamp=20261128T045000Z, Signature=c2ln";
        assert_eq!(authorization(header), Some(("mi-0123456789abcdef0", "20261128T045000Z", "c2ln")));
        assert_eq!(authorization("AWS4-HMAC-SHA256 Credential=x"), None);
        assert_eq!(authorization("HOMEPORT-ED25519 InstanceId=mi-1, Timestamp=t"), None);
        assert_eq!(authorization("HOMEPORT-ED25519 InstanceId=mi-1, Timestamp=t, Signature=s, Extra=1"), None);
    }

    #[test]
    fn identifiers_are_checked_for_shape() {
        assert!(is_activation_id("0f0e0d0c-0b0a-4909-a807-060504030201"));
        assert!(is_activation_id("0F0E0D0C-0B0A-4909-A807-060504030201"));
        for bad in [
            "",
            "0f0e0d0c-0b0a-4909-a807-06050403020",
            "0f0e0d0c-0b0a-4909-a807-0605040302011",
            "x".repeat(9 << 20).as_str(),
            "0f0e0d0c-0b0a-4909-a807-06050403020g",
        ] {
            assert!(!is_activation_id(bad), "{}", bad.len());
        }
        assert!(is_instance_id("mi-0123456789abcdef0"));
        for bad in ["mi-0123456789abcdef", "i-0123456789abcdef0", "mi-0123456789abcdef0/../x"] {
            assert!(!is_instance_id(bad), "{bad}");
        }
        assert!(!malformed_activation_id().message.contains("xxxx"));
    }

    #[test]
    fn the_string_to_sign_binds_time_instance_and_body() {
        let signed = string_to_sign("20261128T045000Z", "mi-0123456789abcdef0", b"{}");
        assert_eq!(signed, format!("HOMEPORT-ED25519\n20261128T045000Z\nmi-0123456789abcdef0\n{}", sha256_hex(b"{}")));
    }
}
