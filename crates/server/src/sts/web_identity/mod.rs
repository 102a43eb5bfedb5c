//! STS AssumeRoleWithWebIdentity: a role session for the bearer of an OpenID Connect ID token,
//! answered before SigV4 (an unsigned route), as AWS accepts it unsigned: the token is the proof.
//!
//! The token's issuer (`iss`) must be an OpenID Connect provider of the account
//! (`oidc-provider/HOST/PATH`), one of its audiences one of the provider's client ids, its
//! signature verify with one of the issuer's keys ([`issuer`]: fetched over HTTPS, trusted by the
//! system's roots or the provider's thumbprints), and the time be before `exp` and not before
//! `nbf` or `iat`. The role's trust policy then decides, with the provider's ARN as the
//! `Federated` principal, the action `sts:AssumeRoleWithWebIdentity` and the keys IAM defines
//! for OIDC providers: `HOST/PATH:aud` (`azp` when the token has one, else the matched
//! audience), `HOST/PATH:oaud` (the audience, when `azp` was used), `HOST/PATH:sub`,
//! `HOST/PATH:amr` (when the token has it), `aws:FederatedProvider` and `sts:RoleSessionName`.
//! Session tags in the token (`https://aws.amazon.com/tags`) need `sts:TagSession` from the
//! trust policy too (with `aws:RequestTag/*` and `aws:TagKeys`), and become the session's tags;
//! a source identity (`https://aws.amazon.com/source_identity`) needs `sts:SetSourceIdentity`
//! (with `sts:SourceIdentity`), is answered back and kept by the session.
//!
//! Guarantees: every member's size is checked before anything else is done (the token at
//! 20,000 characters), nothing is fetched but the issuer of a registered provider, the request
//! is audited like every other (never its token), and no credentials leave unrecorded.

mod issuer;
pub(crate) mod token;

use std::future::Future;
use std::pin::Pin;

use aws_protocol::AwsError;
use aws_protocol::query::{QueryParams, XmlResponse};
use aws_protocol::sigv4::HttpRequest;
use iam_policy::{Caller, Context, EvalDecision, Policy, PolicyRef, PolicySet, Request, ResourcePolicyKind, decide};

pub(crate) use issuer::Issuers;
use issuer::{FetchError, Freshness};
use token::{Token, candidates};

use super::sessions::{SessionGrant, issue_role_session, role_of_arn};
use super::{check_session_name, session_duration, session_policies, sts_validation, write_role_session};
use crate::app::App;
use crate::audit::{AuditLog, Record};
use crate::auth::SessionKind;
use crate::iam::model::oidc_providers::{self, OidcProvider};
use crate::iam::model::roles::Role;
use crate::ids;
use crate::operations::STS_NAMESPACE;
use crate::pipeline::Incoming;

/// The operation's name, its `Action`.
pub const ACTION: &str = "AssumeRoleWithWebIdentity";
/// STS's bound on `WebIdentityToken` (`clientTokenType`).
const MAX_TOKEN_CHARS: usize = 20_000;
/// The token claim carrying session tags.
const TAGS_CLAIM: &str = "https://aws.amazon.com/tags";
/// The claim a token sets the session's source identity with.
const SOURCE_IDENTITY_CLAIM: &str = "https://aws.amazon.com/source_identity";

/// Whether `text` is a source identity as STS accepts one: 2 to 64 of `[\w+=,.@-]`.
fn is_source_identity(text: &str) -> bool {
    (2..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// The unsigned route: a request with no SigV4 whose `Action` is AssumeRoleWithWebIdentity.
pub const ROUTE: crate::pipeline::UnsignedRoute = |app, audit, incoming, request_id| {
    Box::pin(answer_unsigned(app, audit, incoming, request_id, ACTION, |app, params, source_ip, seen| {
        Box::pin(assume(app, params, source_ip, seen))
    }))
};

/// What an unsigned STS action does with its parameters: its answer, and what it saw for the
/// audit record.
pub(super) type Assume = for<'a> fn(
    &'a App,
    &'a QueryParams,
    &'a str,
    &'a mut Seen,
) -> Pin<Box<dyn Future<Output = AssumeResult> + Send + 'a>>;

type AssumeResult = Result<XmlResponse, AwsError>;

/// Answers `incoming` when it is an unsigned call of `action` (`None` when it is not): its
/// parameters decoded, `assume` run unless the audit trail refuses changes, and the call
/// recorded before its answer leaves.
pub(super) async fn answer_unsigned(
    app: &App,
    audit: &AuditLog,
    incoming: &Incoming<'_>,
    request_id: &str,
    action: &str,
    assume: Assume,
) -> Option<crate::pipeline::Reply> {
    let request = &incoming.request;
    if !is_unsigned(request, action) {
        return None;
    }
    let params = match QueryParams::from_request(request) {
        Ok(params) => params,
        Err(error) => return Some(reply(Err(error.to_aws()), request_id)),
    };
    if params.get("Action") != Some(action) {
        return None;
    }
    let result = if audit.refuses_changes() {
        Err(crate::pipeline::disk_full(aws_protocol::Protocol::Query))
    } else {
        let mut seen = Seen::default();
        let result = assume(app, &params, &incoming.source_ip, &mut seen).await;
        audited(app, audit, request, &incoming.source_ip, request_id, action, &seen, result).await
    };
    Some(reply(result, request_id))
}

/// Whether a request may be an unsigned call of `action` (AssumeRoleWithWebIdentity,
/// AssumeRoleWithSAML): no `Authorization`, no presigned query, no `X-Amz-Target`, and the
/// action's name in its query or body (a cheap look before its parameters are decoded).
fn is_unsigned(request: &HttpRequest<'_>, action: &str) -> bool {
    let mentions = |bytes: &[u8]| bytes.windows(action.len()).any(|window| window == action.as_bytes());
    request.header("authorization").is_none()
        && request.header("x-amz-target").is_none()
        && !request.query.contains("X-Amz-Signature")
        && (mentions(request.query.as_bytes()) || mentions(request.body))
}

fn reply(result: Result<XmlResponse, AwsError>, request_id: &str) -> crate::pipeline::Reply {
    match result {
        Ok(xml) => crate::pipeline::Reply::new(200, "text/xml", request_id, xml.finish(request_id).into_bytes()),
        Err(error) => crate::pipeline::error_reply(&error, aws_protocol::Protocol::Query, STS_NAMESPACE, request_id),
    }
}

/// What the audit record says of an unsigned call.
#[derive(Default)]
pub(super) struct Seen {
    pub provider: String,
    pub role_arn: String,
    pub subject: String,
}

/// Records an unsigned call of `action` and answers its result (an internal error if the
/// record cannot be written: no credentials leave unrecorded).
#[expect(clippy::too_many_arguments, reason = "the request's facts, each from a different place")]
async fn audited(
    app: &App,
    audit: &AuditLog,
    request: &HttpRequest<'_>,
    source_ip: &str,
    request_id: &str,
    action: &str,
    seen: &Seen,
    result: Result<XmlResponse, AwsError>,
) -> Result<XmlResponse, AwsError> {
    let result = result.map_err(|error| super::SERVICE.answer(error));
    let record = Record {
        time: ids::now(),
        request_id: request_id.into(),
        account_id: app.account_id.as_str().into(),
        principal_arn: seen.provider.as_str().into(),
        username: seen.subject.as_str().into(),
        access_key_id: "".into(),
        source_ip: source_ip.into(),
        user_agent: request.header("user-agent").unwrap_or_default().into(),
        event_source: "".into(),
        service: "sts".into(),
        region: app.region.as_str().into(),
        event_name: action.into(),
        resources: vec![seen.role_arn.clone()],
        decision: if result.is_ok() { "allowed" } else { "implicitDeny" }.into(),
        statements: Vec::new(),
        error_code: result.as_ref().err().map(|error| error.code.as_str().into()),
        ..Record::default()
    };
    if let Err(error) = audit.record(record).await {
        return Err(super::SERVICE.answer(crate::operations::internal(error)));
    }
    result
}

fn invalid_token(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidIdentityToken", 400, message)
}

const NO_KEY: &str = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

pub(super) fn required<'a>(params: &'a QueryParams, name: &str) -> Result<&'a str, AwsError> {
    params.get(name).ok_or_else(|| {
        let member = crate::operations::lower_first(name);
        AwsError::new(
            "ValidationError",
            400,
            format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"),
        )
    })
}

/// Checks a member's length in characters (`min..=max`), in STS's words, without echoing a
/// value too long to echo.
pub(super) fn check_length(value: &str, member: &str, min: usize, max: usize) -> Result<(), AwsError> {
    let chars = value.chars().count();
    if chars < min {
        return Err(sts_validation(value, member, &format!("Member must have length greater than or equal to {min}")));
    }
    if chars > max {
        let shown = if chars > 2048 { "..." } else { value };
        return Err(sts_validation(shown, member, &format!("Member must have length less than or equal to {max}")));
    }
    Ok(())
}

async fn assume(app: &App, params: &QueryParams, source_ip: &str, seen: &mut Seen) -> Result<XmlResponse, AwsError> {
    // Sizes first: nothing is parsed, looked up or fetched for an oversized request.
    let role_arn = required(params, "RoleArn")?;
    check_length(role_arn, "roleArn", 20, 2048)?;
    let session_name = required(params, "RoleSessionName")?;
    check_session_name(session_name)?;
    let web_token = required(params, "WebIdentityToken")?;
    check_length(web_token, "webIdentityToken", 4, MAX_TOKEN_CHARS)?;
    if let Some(provider_id) = params.get("ProviderId") {
        check_length(provider_id, "providerId", 4, 2048)?;
        // Only OAuth 2.0 providers (Amazon, Facebook) take one; Homeport has none of them.
        return Err(invalid_token(
            "ProviderId is only for OAuth 2.0 access tokens; an OpenID Connect ID token must not name one.",
        ));
    }
    let (session_policy, policy_arns) = session_policies(params)?;
    seen.role_arn = role_arn.to_owned();

    let token = Token::parse(web_token).ok_or_else(|| {
        invalid_token("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
    })?;
    let issuer = token.text("iss").unwrap_or_default();
    let provider = match crate::iam::oidc_providers::provider_url(issuer) {
        Some(url) => oidc_providers::find(&app.store, &app.account_id, &provider_arn(app, url)).await?,
        None => None,
    }
    .ok_or_else(|| invalid_token(format!("No OpenIDConnect provider found in your account for {issuer}")))?;
    seen.provider = provider.arn.clone();
    let audience = matched_audience(&token, &provider).ok_or_else(|| invalid_token("Incorrect token audience"))?;
    check_times(&token, ids::now())?;
    verify_signature(app, &token, &provider).await?;
    let subject =
        token.text("sub").filter(|sub| !sub.is_empty()).ok_or_else(|| invalid_token("The token has no sub claim."))?;
    seen.subject = subject.to_owned();
    let (tags, transitive) = session_tags(&token)?;

    let not_authorized =
        || AwsError::new("AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity");
    let role = role_of_arn(app, role_arn).await?.ok_or_else(not_authorized)?;
    let context = trust_context(&token, &provider, &audience, session_name, source_ip);
    if !trusts(&role, role_arn, &provider.arn, "sts:AssumeRoleWithWebIdentity", &context) {
        return Err(not_authorized());
    }
    // A source identity the token sets needs the trust policy's `sts:SetSourceIdentity`.
    let source_identity = token.text(SOURCE_IDENTITY_CLAIM);
    if let Some(source) = source_identity {
        if !is_source_identity(source) {
            return Err(invalid_token(format!("The {SOURCE_IDENTITY_CLAIM} claim is not a valid source identity.")));
        }
        let context = context.clone().with("sts:SourceIdentity", source);
        if !trusts(&role, role_arn, &provider.arn, "sts:SetSourceIdentity", &context) {
            return Err(AwsError::new("AccessDenied", 403, "Not authorized to perform sts:SetSourceIdentity"));
        }
    }
    if !tags.is_empty() {
        // Tags the token passes need the trust policy's `sts:TagSession` too, as on AWS.
        let context = tags
            .iter()
            .fold(context, |context, (key, value)| context.with(&format!("aws:RequestTag/{key}"), value.clone()))
            .with_values("aws:TagKeys", tags.iter().map(|(key, _)| key.clone()));
        if !trusts(&role, role_arn, &provider.arn, "sts:TagSession", &context) {
            return Err(AwsError::new("AccessDenied", 403, "Not authorized to perform sts:TagSession"));
        }
    }
    let duration = session_duration(params, &role, false)?;
    let grant = SessionGrant {
        policy: session_policy,
        policy_arns: &policy_arns,
        tags: &tags,
        kind: &SessionKind::Role,
        revoked_with: None,
        // A web identity is not an MFA authentication.
        mfa_at: None,
        source_identity,
        transitive: &transitive,
    };
    let credentials = issue_role_session(app, &role, session_name, duration, &grant, &app.region).await?;
    let mut xml = XmlResponse::new(ACTION, STS_NAMESPACE);
    write_role_session(&mut xml, &app.account_id, &role, session_name, &credentials, &grant);
    xml.element("SubjectFromWebIdentityToken", subject)
        .element("Provider", &provider.arn)
        .element("Audience", &audience);
    if let Some(source) = source_identity {
        xml.element("SourceIdentity", source);
    }
    Ok(xml)
}

fn provider_arn(app: &App, url: &str) -> String {
    crate::iam::oidc_providers::provider_arn(&app.account_id, url)
}

/// The audience the token is for among the provider's client ids: `azp` when it has one (as
/// IAM reads Google's tokens), else the first of its `aud` that is a client id.
fn matched_audience(token: &Token, provider: &OidcProvider) -> Option<String> {
    let registered = |audience: &&str| provider.client_ids.iter().any(|id| id == audience);
    match token.text("azp") {
        Some(azp) => Some(azp).filter(registered).map(str::to_owned),
        None => token.audiences().into_iter().find(registered).map(str::to_owned),
    }
}

/// `exp` is required and must be in the future; `nbf` and `iat`, when present, not ahead of
/// the clock by more than five minutes.
fn check_times(token: &Token, now: i64) -> Result<(), AwsError> {
    const SKEW: i64 = 300;
    let expires = token.time("exp").ok_or_else(|| invalid_token("The token has no exp claim."))?;
    if now >= expires {
        return Err(AwsError::new(
            "ExpiredTokenException",
            400,
            format!("Token expired: current date/time {now} must be before the expiration date/time{expires}"),
        ));
    }
    if token.time("nbf").is_some_and(|not_before| not_before > now + SKEW) {
        return Err(invalid_token("The token is not valid yet (nbf is in the future)."));
    }
    if token.time("iat").is_some_and(|issued| issued > now + SKEW) {
        return Err(invalid_token("The token was issued in the future (iat)."));
    }
    Ok(())
}

/// Verifies the token's signature with the issuer's keys, fetching them again once when the
/// token names a key not held.
async fn verify_signature(app: &App, token: &Token, provider: &OidcProvider) -> Result<(), AwsError> {
    let issuers = app.service_state.get::<Issuers>()?;
    let fetch_failed = |error: FetchError| match error {
        FetchError::Untrusted => {
            invalid_token("OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint")
        }
        FetchError::Unreachable(why) | FetchError::Invalid(why) => {
            tracing::warn!("web identity keys of {}: {why}", provider.url);
            AwsError::new("IDPCommunicationError", 400, NO_KEY)
        }
    };
    let mut keys = issuers.keys(&provider.url, &provider.thumbprints, Freshness::Cached).await.map_err(fetch_failed)?;
    if candidates(&keys, token).is_empty() {
        keys = issuers.keys(&provider.url, &provider.thumbprints, Freshness::UnknownKey).await.map_err(fetch_failed)?;
    }
    let found = candidates(&keys, token);
    if found.is_empty() {
        return Err(invalid_token(NO_KEY));
    }
    if !found.iter().any(|key| token.verified_by(key)) {
        return Err(invalid_token("The token's signature does not verify with the issuer's keys."));
    }
    Ok(())
}

/// The condition keys the trust policy is decided with (see the module's documentation).
fn trust_context(
    token: &Token,
    provider: &OidcProvider,
    audience: &str,
    session_name: &str,
    source_ip: &str,
) -> Context {
    let now = ids::now();
    let url = &provider.url;
    let mut context = Context::new()
        .with(&format!("{url}:aud"), audience)
        .with(&format!("{url}:sub"), token.text("sub").unwrap_or_default())
        .with("aws:FederatedProvider", provider.arn.clone())
        .with("aws:SourceIp", source_ip)
        .with("aws:CurrentTime", ids::iso8601(now))
        .with("aws:EpochTime", now.to_string())
        .with("sts:RoleSessionName", session_name);
    if token.text("azp").is_some() {
        context = context.with_values(&format!("{url}:oaud"), token.audiences());
    }
    match token.claims.get("amr") {
        Some(serde_json::Value::String(one)) => context = context.with(&format!("{url}:amr"), one.clone()),
        Some(serde_json::Value::Array(many)) => {
            context = context.with_values(&format!("{url}:amr"), many.iter().filter_map(|value| value.as_str()));
        }
        _ => {}
    }
    context
}

/// The session tags the token passes in its `https://aws.amazon.com/tags` claim
/// (`principal_tags`: each key to a list of one value, or to a value), within STS's 50 tags
/// and their lengths, and the keys of those that are transitive (`transitive_tag_keys`, each
/// one of the tags' keys).
fn session_tags(token: &Token) -> Result<crate::sts::model::FederatedTags, AwsError> {
    let Some(claim) = token.claims.get(TAGS_CLAIM) else { return Ok((Vec::new(), Vec::new())) };
    let malformed = || invalid_token(format!("The {TAGS_CLAIM} claim is not a valid session tags claim."));
    let principal_tags = claim.get("principal_tags").and_then(serde_json::Value::as_object).ok_or_else(malformed)?;
    let mut tags = Vec::with_capacity(principal_tags.len().min(64));
    for (key, value) in principal_tags {
        let value = match value {
            serde_json::Value::String(one) => one.as_str(),
            serde_json::Value::Array(values) if values.len() == 1 => {
                values.first().and_then(serde_json::Value::as_str).ok_or_else(malformed)?
            }
            _ => return Err(malformed()),
        };
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(malformed());
        }
        tags.push((key.clone(), value.to_owned()));
    }
    if tags.len() > 50 {
        return Err(AwsError::new(
            "PackedPolicyTooLarge",
            400,
            "Packed policy consumes more than 100 percent of the allotted size.",
        ));
    }
    let transitive = match claim.get("transitive_tag_keys") {
        None => Vec::new(),
        Some(keys) => keys
            .as_array()
            .ok_or_else(malformed)?
            .iter()
            .map(|key| key.as_str().filter(|key| tags.iter().any(|(own, _)| own == key)).map(str::to_owned))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(malformed)?,
    };
    Ok((tags, transitive))
}

/// Whether `role`'s trust policy lets the provider perform `action` on it with these keys.
pub(super) fn trusts(role: &Role, role_arn: &str, provider_arn: &str, action: &str, context: &Context) -> bool {
    let Ok(trust) = Policy::parse(&role.trust_policy) else { return false };
    let caller = Caller::WebIdentity { provider: provider_arn.to_owned() };
    let set = PolicySet {
        resource: Some(PolicyRef { id: "trust-policy", policy: &trust }),
        resource_kind: ResourcePolicyKind::Trust,
        ..PolicySet::default()
    };
    decide(&set, &Request::new(action, role_arn, Some(&caller), context)).decision == EvalDecision::Allowed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use serde_json::json;

    use super::token::tests::es256;
    use super::*;

    fn token(claims: serde_json::Value) -> Token {
        Token::parse(&es256(json!({"alg": "ES256", "kid": "k"}), &claims).0).unwrap()
    }

    fn provider(client_ids: &[&str]) -> OidcProvider {
        OidcProvider {
            arn: "arn:aws:iam::111122223333:oidc-provider/issuer.example".to_owned(),
            url: "issuer.example".to_owned(),
            client_ids: client_ids.iter().map(|id| (*id).to_owned()).collect(),
            thumbprints: Vec::new(),
            created_at: 0,
        }
    }

    #[test]
    fn the_audience_is_azp_if_present_else_a_registered_aud() {
        let github = provider(&["sts.amazonaws.com"]);
        assert_eq!(
            matched_audience(&token(json!({"aud": "sts.amazonaws.com"})), &github).as_deref(),
            Some("sts.amazonaws.com")
        );
        assert_eq!(
            matched_audience(&token(json!({"aud": ["x", "sts.amazonaws.com"]})), &github).as_deref(),
            Some("sts.amazonaws.com")
        );
        assert_eq!(matched_audience(&token(json!({"aud": "other"})), &github), None);
        assert_eq!(matched_audience(&token(json!({"aud": "sts.amazonaws.com", "azp": "app"})), &github), None);
        assert_eq!(
            matched_audience(&token(json!({"aud": "x", "azp": "sts.amazonaws.com"})), &github).as_deref(),
            Some("sts.amazonaws.com")
        );
    }

    #[test]
    fn times_are_checked_with_aws_codes() {
        let now = 1_000_000;
        assert!(check_times(&token(json!({"exp": now + 60, "iat": now, "nbf": now})), now).is_ok());
        let expired = check_times(&token(json!({"exp": now})), now).unwrap_err();
        assert_eq!(expired.code, "ExpiredTokenException");
        assert_eq!(
            expired.message,
            format!("Token expired: current date/time {now} must be before the expiration date/time{now}")
        );
        assert_eq!(check_times(&token(json!({})), now).unwrap_err().code, "InvalidIdentityToken");
        assert_eq!(
            check_times(&token(json!({"exp": now + 900, "nbf": now + 600})), now).unwrap_err().code,
            "InvalidIdentityToken"
        );
        assert!(check_times(&token(json!({"exp": now + 900, "iat": now + 60})), now).is_ok(), "within the skew");
    }

    #[test]
    fn the_trust_policy_decides_with_the_providers_keys() {
        let github = provider(&["sts.amazonaws.com"]);
        let entity = crate::iam::model::entities::Entity {
            kind: crate::iam::model::entities::Kind::Role,
            name: "ci".to_owned(),
            id: "AROACI".to_owned(),
            path: "/".to_owned(),
            created_at: 0,
        };
        let mut role = Role {
            entity,
            description: None,
            max_session_duration: 3600,
            trust_policy: String::new(),
            last_used: None,
        };
        role.trust_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": github.arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"issuer.example:aud": "sts.amazonaws.com"},
                          "StringLike": {"issuer.example:sub": "repo:org/repo:*"}}}]})
        .to_string();
        let arn = "arn:aws:iam::111122223333:role/ci";
        let decided = |sub: &str, provider_arn: &str| {
            let token = token(json!({"sub": sub, "aud": "sts.amazonaws.com"}));
            trusts(
                &role,
                arn,
                provider_arn,
                "sts:AssumeRoleWithWebIdentity",
                &trust_context(&token, &github, "sts.amazonaws.com", "s1", "127.0.0.1"),
            )
        };
        assert!(decided("repo:org/repo:ref:refs/heads/main", &github.arn));
        assert!(!decided("repo:org/other:ref:refs/heads/main", &github.arn));
        assert!(!decided("repo:org/repo:ref:refs/heads/main", "arn:aws:iam::111122223333:oidc-provider/other.example"));
    }
}
