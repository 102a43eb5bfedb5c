//! Who a registry request comes from, whether it may do what it asks, and its audit record.
//!
//! Docker sends `Authorization: Basic base64("AWS:" + password)` with the password of an ECR
//! authorization token. The password opens only with this server's master key; the access
//! key inside is resolved again as SigV4 authentication resolves one, so the request acts
//! as that principal, with its current policies, and fails once the key or session is gone.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hyper::{HeaderMap, Response};

use super::{Body, RegistryError, set};
use crate::app::App;
use crate::audit::{AuditLog, Check, Record};
use crate::auth::Identity;
use crate::authz::{RequestFacts, Verdict};
use crate::ecr::auth::{TokenError, open};
use crate::ecr::{authorize_on_repository, repository_arn};
use crate::ids;

/// Why a request carries no usable credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` header (Docker's first probe).
    Missing,
    /// Not an ECR token of this server, or its key no longer resolves.
    Invalid,
    /// The token, or the session behind it, has expired.
    Expired,
}

/// The caller of a registry request.
/// The caller a registry request's password names, and the region it was issued for.
pub async fn authenticate(app: &App, headers: &HeaderMap) -> Result<(Identity, String), Refusal> {
    let Some(header) = headers.get("authorization").and_then(|value| value.to_str().ok()) else {
        return Err(Refusal::Missing);
    };
    let encoded = header.strip_prefix("Basic ").ok_or(Refusal::Invalid)?;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| Refusal::Invalid)?;
    let decoded = String::from_utf8(decoded).map_err(|_| Refusal::Invalid)?;
    let ("AWS", password) = decoded.split_once(':').ok_or(Refusal::Invalid)? else {
        return Err(Refusal::Invalid);
    };
    let opened = open(app, password).map_err(|error| match error {
        TokenError::Invalid => Refusal::Invalid,
        TokenError::Expired => Refusal::Expired,
    })?;
    let caller = crate::auth::resolve_key(app, &opened.key_id).await.map_err(|error| match error {
        aws_protocol::AuthError::ExpiredToken => Refusal::Expired,
        _ => Refusal::Invalid,
    })?;
    Ok((caller, opened.region))
}

/// The 401 that makes Docker send (or ask for) credentials.
pub fn challenge(app: &App, refusal: Refusal) -> Response<Body> {
    let message = match refusal {
        Refusal::Missing => "Not Authorized",
        Refusal::Invalid => "Your authorization token is invalid. Reauthenticate and try again.",
        Refusal::Expired => "Your authorization token has expired. Reauthenticate and try again.",
    };
    let mut response = RegistryError::new(401, "UNAUTHORIZED", message).into_response();
    set(
        &mut response,
        "www-authenticate",
        format!("Basic realm=\"{}://{}/\",service=\"ecr.amazonaws.com\"", app.scheme, app.registry_host),
    );
    response
}

/// Decides every action on the repository; a denial is DENIED with AWS's AccessDenied text.
pub async fn authorize(
    app: &App,
    caller: &Identity,
    facts: &RequestFacts,
    actions: &[&str],
    name: &str,
) -> Result<Verdict, (Verdict, RegistryError)> {
    let mut decided = Verdict { decision: iam_policy::EvalDecision::Allowed, statements: Vec::new() };
    for action in actions {
        match authorize_on_repository(app, caller, facts, action, name).await {
            Ok(verdict) => decided.statements.extend(verdict.statements),
            Err((verdict, error)) => {
                let denied = RegistryError::new(403, "DENIED", error.message);
                return Err((verdict, denied));
            }
        }
    }
    Ok(decided)
}

/// What is audited of one registry request.
pub struct Event<'a> {
    pub caller: &'a Identity,
    pub facts: &'a RequestFacts,
    pub user_agent: String,
    /// The actions the request was authorized for (the first names the event).
    pub actions: &'a [&'a str],
    pub name: &'a str,
}

/// Records the request durably, as the pipeline records an API call.
pub async fn record(
    app: &App,
    audit: &AuditLog,
    event: Event<'_>,
    verdict: Verdict,
    error: Option<&RegistryError>,
) -> Result<(), RegistryError> {
    let action = event.actions.first().copied().unwrap_or("ecr:Unknown");
    let scope = crate::regions::Scope { account: &app.account_id, region: &event.facts.region };
    let resource = repository_arn(scope, event.name);
    // Each action was decided on the repository; a refusal is the verdict's.
    let checks = event.actions.get(1..).unwrap_or_default().iter().map(|action| Check {
        decision: verdict.decision.as_str().to_owned(),
        action: (*action).to_owned(),
        resource: resource.clone(),
        passed_to: String::new(),
    });
    let record = Record {
        time: ids::now(),
        request_id: ids::request_id().unwrap_or_default().into(),
        account_id: event.caller.account_id.as_str().into(),
        principal_arn: event.caller.arn().into(),
        username: event.caller.username().into(),
        access_key_id: event.caller.access_key_id.as_str().into(),
        source_ip: event.facts.source_ip.as_str().into(),
        user_agent: event.user_agent.into(),
        event_source: "".into(),
        service: "ecr".into(),
        region: event.facts.region.as_str().into(),
        event_name: action.strip_prefix("ecr:").unwrap_or(action).into(),
        checks: checks.collect(),
        resources: vec![resource],
        decision: verdict.decision.as_str().into(),
        statements: verdict.statements,
        error_code: error.map(|error| error.code.into()),
        principal_id: event.caller.principal_id().into(),
        action: action.into(),
    };
    audit.record(record).await.map_err(|_| {
        // No durable record, no answer: Docker retries rather than acting unaudited.
        RegistryError::new(500, "UNKNOWN", "The request could not be recorded; retry it.")
    })
}
