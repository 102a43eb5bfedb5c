//! STS: GetCallerIdentity, GetSessionToken and AssumeRole (both with an MFA code, `mfa`);
//! GetFederationToken is `federation`, the operations that issue nothing here `tokens`;
//! AssumeRoleWithWebIdentity, unsigned, is `web_identity`; AssumeRoleWithSAML, unsigned, `saml`.
//!
//! AssumeRole is decided by the caller's policies together with the role's trust policy; the
//! session it makes is authorized by the role's current policies (read per request through
//! the cache), bounded by the role's boundary and the session's own policies. Issuing a role
//! session and finding the trust policy are in `sessions`, which ECS, SSM and the pipeline use.

pub(crate) mod errors;
pub(crate) mod federation;
pub(crate) mod mfa;
pub(crate) mod model;
pub(crate) mod saml;
pub(crate) mod sessions;
pub(crate) mod tokens;
pub(crate) mod web_identity;

use aws_model::sts::{AssumeRoleRequest, GetSessionTokenRequest};
use aws_protocol::AwsError;
use aws_protocol::query::{QueryParams, XmlResponse};

use iam_policy::PolicyKind;

use crate::auth::{Principal, SessionKind};
use crate::iam::model::roles::Role;
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, query};
use sessions::{IssuedCredentials, SessionGrant, assumed_role, issue_role_session};

/// The service as the pipeline routes it.
pub const SERVICE: crate::operations::Service = crate::operations::Service {
    name: "sts",
    protocol: aws_protocol::Protocol::Query,
    namespace: crate::operations::STS_NAMESPACE,
    authorization: crate::operations::Authorization::Policies,
    internal_error: errors::internal_error,
    admits,
};

/// As on AWS: a federated user's credentials call no STS operation but GetCallerIdentity.
fn admits(identity: &crate::auth::Identity, action: Option<&str>) -> Result<(), AwsError> {
    let federated = matches!(identity.principal, Principal::FederatedUser { .. });
    match action {
        Some(action) if federated && action != GET_CALLER_IDENTITY.name => Err(AwsError::new(
            "AccessDenied",
            403,
            format!("Cannot call {action} with session credentials of a federated user"),
        )),
        _ => Ok(()),
    }
}

operation!(
    sts,
    GET_CALLER_IDENTITY,
    "GetCallerIdentity",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| query(get_caller_identity(ctx)),
    authorization = Always
);

async fn get_caller_identity(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let mut xml = ctx.response();
    xml.element("Arn", &ctx.identity.arn())
        .element("UserId", &ctx.identity.user_id())
        .element("Account", ctx.account());
    Ok(xml)
}

operation!(
    sts,
    GET_SESSION_TOKEN,
    "GetSessionToken",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| query(get_session_token(ctx)),
    authorization = UnlessDenied
);

/// Seconds temporary credentials live by default, and their bounds for users and for root.
const DEFAULT_SESSION_SECONDS: i64 = 12 * 3600;
const USER_SESSION_SECONDS: std::ops::RangeInclusive<i64> = 900..=129_600;
const ROOT_SESSION_SECONDS: std::ops::RangeInclusive<i64> = 900..=3_600;

async fn get_session_token(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    if ctx.identity.session_issued_at.is_some() {
        return Err(AwsError::new("AccessDenied", 403, "Cannot call GetSessionToken with session credentials"));
    }
    let root = ctx.identity.principal == Principal::Root;
    let allowed = if root { ROOT_SESSION_SECONDS } else { USER_SESSION_SECONDS };
    let GetSessionTokenRequest { serial_number, token_code, .. } = ctx.input();
    // Read as sent: the answer quotes it, and a value that is not a number is refused.
    let duration = match ctx.params.get("DurationSeconds") {
        None => DEFAULT_SESSION_SECONDS.min(*allowed.end()),
        Some(text) => match text.parse::<i64>() {
            Ok(seconds) if allowed.contains(&seconds) => seconds,
            _ => {
                return Err(AwsError::new(
                    "ValidationError",
                    400,
                    format!(
                        "1 validation error detected: Value '{text}' at 'durationSeconds' failed to satisfy constraint: Member must have value between {} and {}",
                        allowed.start(),
                        allowed.end()
                    ),
                ));
            }
        },
    };
    // The code is accepted last, once the request is otherwise sound.
    let mfa_at = mfa::authenticate(ctx, serial_number, token_code).await?;
    let access_key_id = ids::temporary_access_key_id(ctx.account()).map_err(internal)?;
    let secret = ids::secret_access_key().map_err(internal)?;
    let token = ids::session_token().map_err(internal)?;
    let sealed = ctx.app.sealer.seal(secret.as_bytes(), &access_key_id).map_err(internal)?;
    let issued_at = ids::now();
    let expires_at = issued_at + duration;
    // The session belongs to the user's unique id (its name only says whose it is).
    let (kind, user) = match &ctx.identity.principal {
        Principal::Root => (SessionKind::Root, None),
        Principal::User { name, user_id, .. } => (SessionKind::User, Some((name.to_lowercase(), user_id.clone()))),
        Principal::RoleSession { .. } | Principal::FederatedUser { .. } => {
            return Err(AwsError::new("AccessDenied", 403, "Cannot call GetSessionToken with session credentials"));
        }
    };
    let credentials = model::SessionCredentials {
        access_key_id: &access_key_id,
        sealed_secret: sealed,
        token: &token,
        issued_at,
        expires_at,
    };
    model::record_user_session(&ctx.app.store, ctx.account(), credentials, &kind, user, mfa_at).await?;
    let mut xml = ctx.response();
    xml.nest("Credentials", |xml| {
        xml.element("AccessKeyId", &access_key_id)
            .element("SecretAccessKey", &secret)
            .element("SessionToken", &token)
            .element("Expiration", &ids::iso8601(expires_at));
    });
    Ok(xml)
}

operation!(
    sts,
    ASSUME_ROLE,
    "AssumeRole",
    Write,
    |ctx| Box::pin(async move { Ok(vec![ctx.input::<AssumeRoleRequest>().role_arn.to_owned()]) }),
    |ctx| query(assume_role(ctx)),
    resource_policy = sessions::TRUST_POLICY
);

/// Role sessions made by a role session (role chaining) last at most an hour.
const CHAINED_SESSION_SECONDS: i64 = 3_600;
const DEFAULT_ROLE_SESSION_SECONDS: i64 = 3_600;
/// Session policies AWS accepts on one session (checked here: AssumeRoleWithWebIdentity, which
/// shares the check, is answered before the pipeline validates).
const MAX_POLICY_ARNS: usize = 10;
const MAX_SESSION_POLICY_CHARS: usize = 2_048;

pub(crate) fn sts_validation(value: &str, member: &str, constraint: &str) -> AwsError {
    AwsError::new(
        "ValidationError",
        400,
        format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
        ),
    )
}

/// What a new session is scoped to, as the request sets it: its inline session policy, its
/// managed session policies' ARNs and its session tags (AssumeRole, GetFederationToken).
pub(crate) struct ScopeParams<'a> {
    pub policy: Option<&'a str>,
    pub policy_arns: Vec<String>,
    pub tags: Vec<(String, String)>,
}

impl ScopeParams<'_> {
    /// The session element AWS answers when the request passed policies or tags.
    pub(crate) fn packed_size(&self) -> Option<usize> {
        packed_size(self.policy, &self.policy_arns, &self.tags)
    }
}

/// How much of the packed session-policy-and-tags allowance a session's policies and tags
/// use, in percent; `None` when it has none (AWS then answers no `PackedPolicySize`).
fn packed_size(policy: Option<&str>, policy_arns: &[String], tags: &[(String, String)]) -> Option<usize> {
    if policy.is_none() && policy_arns.is_empty() && tags.is_empty() {
        return None;
    }
    let packed = policy.map_or(0, str::len)
        + policy_arns.iter().map(String::len).sum::<usize>()
        + tags.iter().map(|(key, value)| key.len() + value.len()).sum::<usize>();
    Some(packed * 100 / MAX_SESSION_POLICY_CHARS)
}

/// The request's `Policy`, `PolicyArns` and `Tags` (its typed input's `tags`), checked as STS
/// checks them (the pipeline has checked the tags' number and their keys' lengths).
pub(crate) fn scope_params<'a>(ctx: &'a Ctx<'_>, tags: &[QueryParams]) -> Result<ScopeParams<'a>, AwsError> {
    let (policy, policy_arns) = session_policies(ctx.params)?;
    let tags = tags
        .iter()
        .map(|member| {
            (member.get("Key").unwrap_or_default().to_owned(), member.get("Value").unwrap_or_default().to_owned())
        })
        .collect();
    Ok(ScopeParams { policy, policy_arns, tags })
}

/// A request's session policy (`Policy`, validated as an identity policy within 2,048
/// characters) and managed session policies (`PolicyArns`, at most ten).
pub(crate) fn session_policies(params: &QueryParams) -> Result<(Option<&str>, Vec<String>), AwsError> {
    let session_policy = params.get("Policy");
    if let Some(document) = session_policy {
        if document.chars().count() > MAX_SESSION_POLICY_CHARS {
            return Err(sts_validation("...", "policy", "Member must have length less than or equal to 2048"));
        }
        iam_policy::validate(document, PolicyKind::Identity)
            .map_err(|error| AwsError::new("MalformedPolicyDocument", 400, error.message))?;
    }
    let members = params.members("PolicyArns");
    if members.len() > MAX_POLICY_ARNS {
        return Err(sts_validation("[...]", "policyArns", "Member must have length less than or equal to 10"));
    }
    let policy_arns = members.iter().filter_map(|member| member.get("arn").map(str::to_owned)).collect();
    Ok((session_policy, policy_arns))
}

async fn assume_role(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    // The pipeline has checked the role ARN's length and the session name's.
    let AssumeRoleRequest {
        role_arn: arn,
        role_session_name: session_name,
        tags,
        transitive_tag_keys,
        serial_number,
        token_code,
        source_identity,
        provided_contexts,
        ..
    } = ctx.input();
    if !provided_contexts.is_empty() {
        // Context assertions are signed by AWS STS for IAM Identity Center, which Homeport
        // does not run: none presented can be one it issued.
        return Err(AwsError::new(
            "InvalidParameterValue",
            400,
            "The ProvidedContexts could not be verified: Homeport's STS issues no trusted context assertions.",
        ));
    }
    let role = assumed_role(ctx, arn).await?.ok_or_else(|| {
        AwsError::new(
            "AccessDenied",
            403,
            format!("User: {} is not authorized to perform: sts:AssumeRole on resource: {arn}", ctx.identity.arn()),
        )
    })?;
    let chained = matches!(ctx.identity.principal, Principal::RoleSession { .. });
    let duration = session_duration(ctx.params, &role, chained)?;
    let mut scope = scope_params(ctx, &tags)?;
    let transitive = transitive_tags(ctx, &mut scope.tags, &transitive_tag_keys)?;

    // Setting session tags or a source identity needs its own permission, decided as
    // AssumeRole was (the caller's policies with the role's trust policy).
    if !tags.is_empty() || !transitive_tag_keys.is_empty() {
        authorize_on_role(ctx, &role, "sts:TagSession").await?;
    }
    // A source identity, once set, is the session's and every session it chains to.
    let inherited = ctx.identity.source_identity.as_deref();
    let source_identity = match (inherited, source_identity) {
        (Some(held), Some(asked)) if held != asked => {
            return Err(AwsError::new(
                "AccessDenied",
                403,
                format!("The source identity of a role session cannot be changed: it is {held}, not {asked}."),
            ));
        }
        (_, Some(asked)) => {
            authorize_on_role(ctx, &role, "sts:SetSourceIdentity").await?;
            Some(asked)
        }
        (held, None) => held,
    };

    let mfa_at = mfa::authenticate(ctx, serial_number, token_code).await?;
    let grant = SessionGrant {
        policy: scope.policy,
        policy_arns: &scope.policy_arns,
        tags: &scope.tags,
        kind: &SessionKind::Role,
        revoked_with: None,
        mfa_at,
        source_identity,
        transitive: &transitive,
    };
    let credentials = issue_role_session(ctx.app, &role, session_name, duration, &grant, &ctx.facts.region).await?;
    let mut xml = ctx.response();
    write_role_session(&mut xml, ctx.account(), &role, session_name, &credentials, &grant);
    if let Some(source) = source_identity {
        xml.element("SourceIdentity", source);
    }
    Ok(xml)
}

/// The keys of a new role session's transitive tags: those the request names
/// (`TransitiveTagKeys`, each one of its own `Tags`) and, when a role session chains, the
/// transitive tags it passes on, which are added to `tags` and which the request may not set
/// again. A chaining session's other tags do not pass on.
fn transitive_tags(ctx: &Ctx<'_>, tags: &mut Vec<(String, String)>, asked: &[&str]) -> Result<Vec<String>, AwsError> {
    let invalid = |message: String| AwsError::new("InvalidParameterValue", 400, message);
    let is_tag = |tags: &[(String, String)], key: &str| tags.iter().any(|(own, _)| own.eq_ignore_ascii_case(key));
    if let Some(key) = asked.iter().find(|key| !is_tag(tags, key)) {
        return Err(invalid(format!("The transitive tag key {key} is not the key of one of the session's Tags.")));
    }
    let mut transitive: Vec<String> = asked.iter().map(|key| (*key).to_owned()).collect();
    if let Principal::RoleSession { .. } = ctx.identity.principal {
        let parent = &ctx.identity.scope;
        for (key, value) in
            parent.tags.iter().filter(|(key, _)| parent.transitive.iter().any(|t| t.eq_ignore_ascii_case(key)))
        {
            if is_tag(tags, key) {
                return Err(invalid(format!(
                    "The session tag {key} cannot be set: the role session it chains from passes it on as a transitive tag."
                )));
            }
            tags.push((key.clone(), value.clone()));
            transitive.push(key.clone());
        }
    }
    Ok(transitive)
}

/// Decides `action` (`sts:TagSession`, `sts:SetSourceIdentity`) on the role being assumed,
/// as the pipeline decided `sts:AssumeRole`: the caller's policies with the role's trust
/// policy, on the request's condition keys; the decision is recorded with the request's.
async fn authorize_on_role(ctx: &Ctx<'_>, role: &Role, action: &str) -> Result<(), AwsError> {
    let arn = role.arn(ctx.account());
    let denied = || AwsError::new("AccessDenied", 403, format!("Not authorized to perform {action} on {arn}"));
    let trust = iam_policy::Policy::parse(&role.trust_policy).map_err(|_| denied())?;
    let resource_policy = crate::authz::ResourcePolicy {
        id: sessions::TRUST_POLICY.id,
        policy: &trust,
        kind: iam_policy::ResourcePolicyKind::Trust,
    };
    let context = crate::authz::request_context(ctx).await?;
    let check = crate::authz::Check { action, resource: &arn, passed_to: "" };
    crate::authz::check(ctx, check, &context, Some(resource_policy)).await
}

/// Checks a `RoleSessionName` as STS does (2 to 64 of `[\w+=,.@-]`): the validator checks
/// AssumeRole's before it runs, but AssumeRoleWithWebIdentity is answered before the pipeline.
pub(crate) fn check_session_name(session_name: &str) -> Result<(), AwsError> {
    let name_chars = session_name.chars().count();
    if name_chars < 2 {
        return Err(sts_validation(
            session_name,
            "roleSessionName",
            "Member must have length greater than or equal to 2",
        ));
    }
    if name_chars > 64 {
        return Err(sts_validation(
            session_name,
            "roleSessionName",
            "Member must have length less than or equal to 64",
        ));
    }
    if !session_name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)) {
        return Err(sts_validation(
            session_name,
            "roleSessionName",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ));
    }
    Ok(())
}

/// A role session's `DurationSeconds` (an hour by default): 900 to 43,200, within the role's
/// `MaxSessionDuration`, and within an hour when `chained` (a role session assuming a role).
pub(crate) fn session_duration(params: &QueryParams, role: &Role, chained: bool) -> Result<i64, AwsError> {
    let Some(text) = params.get("DurationSeconds") else {
        return Ok(if chained {
            DEFAULT_ROLE_SESSION_SECONDS.min(CHAINED_SESSION_SECONDS)
        } else {
            DEFAULT_ROLE_SESSION_SECONDS
        });
    };
    let seconds = text
        .parse::<i64>()
        .map_err(|_| sts_validation(text, "durationSeconds", "Member must have value greater than or equal to 900"))?;
    if seconds < 900 {
        return Err(sts_validation(text, "durationSeconds", "Member must have value greater than or equal to 900"));
    }
    if seconds > 43_200 {
        return Err(sts_validation(text, "durationSeconds", "Member must have value less than or equal to 43200"));
    }
    if chained && seconds > CHAINED_SESSION_SECONDS {
        return Err(AwsError::new(
            "ValidationError",
            400,
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    if seconds > role.max_session_duration {
        return Err(AwsError::new(
            "ValidationError",
            400,
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    Ok(seconds)
}

/// A new role session's `Credentials`, `AssumedRoleUser` and, when it has session policies or
/// tags, `PackedPolicySize`.
pub(crate) fn write_role_session(
    xml: &mut XmlResponse,
    account: &str,
    role: &Role,
    session_name: &str,
    credentials: &IssuedCredentials,
    grant: &SessionGrant<'_>,
) {
    xml.nest("Credentials", |xml| {
        xml.element("AccessKeyId", &credentials.access_key_id)
            .element("SecretAccessKey", &credentials.secret_access_key)
            .element("SessionToken", &credentials.session_token)
            .element("Expiration", &ids::iso8601(credentials.expires_at));
    });
    xml.nest("AssumedRoleUser", |xml| {
        xml.element("AssumedRoleId", &format!("{}:{session_name}", role.entity.id))
            .element("Arn", &format!("arn:aws:sts::{account}:assumed-role/{}/{session_name}", role.entity.name));
    });
    if let Some(packed) = packed_size(grant.policy, grant.policy_arns, grant.tags) {
        xml.element("PackedPolicySize", &packed.to_string());
    }
}
