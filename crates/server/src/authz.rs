//! Authorization: every operation's IAM action and resources, decided by the policy engine.
//!
//! The root user is allowed everything, as on AWS. A user is authorized by its inline
//! policies, its groups' inline policies and the managed policies attached to either, within
//! its permissions boundary. A role session is authorized by its role's inline and attached
//! policies, within the role's boundary and the session's own policies. Permissions are read
//! through the cache, whose generation changes with every write of what it holds (an
//! operation declared `Effect::IamWrite`), so a change to a role's policies applies to its
//! live sessions from the next request.

use std::sync::Arc;

use aws_protocol::AwsError;
use iam_policy::{Context, EvalDecision, Policy, PolicyRef, PolicySet, Request, ResourcePolicyKind, decide};

use crate::app::App;
use crate::auth::{Identity, Principal};
use crate::cache::Policies;
use crate::errors::internal;
use crate::iam::model::entities::Kind;
use crate::iam::model::permissions::{self, Permissions};
pub use crate::identity::RequestFacts;
use crate::ids;

/// What the pipeline decided, for the audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub decision: EvalDecision,
    /// `policy-id#statement` of the statements that decided.
    pub statements: Vec<String>,
}

/// The global condition keys of a request by `identity` (principal tags are added by
/// [`authorize`], which has the principal's permissions at hand).
pub fn context(identity: &Identity, facts: &RequestFacts) -> Context {
    let now = ids::now();
    let mut context = Context::new()
        .with("aws:PrincipalArn", identity.principal_arn())
        .with("aws:PrincipalAccount", identity.account_id.clone())
        .with("aws:userid", identity.user_id())
        .with("aws:SourceIp", facts.source_ip.clone())
        .with("aws:CurrentTime", ids::iso8601(now))
        .with("aws:EpochTime", now.to_string())
        .with("aws:SecureTransport", "false")
        .with("aws:RequestedRegion", facts.region.clone())
        .with(
            "aws:PrincipalType",
            match identity.principal {
                Principal::Root => "Account",
                Principal::User { .. } => "User",
                Principal::RoleSession { .. } => "AssumedRole",
                Principal::FederatedUser { .. } => "FederatedUser",
            },
        );
    if let Principal::User { name, .. } = &identity.principal {
        context = context.with("aws:username", name.clone());
    }
    if let Some(issued_at) = identity.session_issued_at {
        // Temporary credentials: their issue time, and whether they were issued with MFA (and
        // how long ago it was authenticated, computed now). Long-term keys define neither MFA
        // key, as on AWS.
        context = context.with("aws:TokenIssueTime", ids::iso8601(issued_at));
        context = match identity.mfa_authenticated_at {
            Some(at) => with_mfa(context, now - at),
            None => context.with("aws:MultiFactorAuthPresent", "false"),
        };
    }
    if let Some(source) = &identity.source_identity {
        context = context.with("aws:SourceIdentity", source.clone());
    }
    context
}

/// The MFA keys of a request whose MFA was authenticated `age` seconds ago.
fn with_mfa(context: Context, age: i64) -> Context {
    context.with("aws:MultiFactorAuthPresent", "true").with("aws:MultiFactorAuthAge", age.max(0).to_string())
}

/// The actions whose request may prove an MFA code itself (`SerialNumber` and `TokenCode`):
/// their decision (a trust policy requiring MFA) sees it as a session made with it would.
const MFA_PROVING_ACTIONS: &[&str] = &["sts:AssumeRole", "sts:GetSessionToken"];

/// Adds the MFA keys when the request carries a code valid now for its calling user's device
/// (checked, not accepted: the operation accepts it, once).
async fn proven_mfa_keys(ctx: &crate::operations::Ctx<'_>, context: Context) -> Result<Context, AwsError> {
    if !MFA_PROVING_ACTIONS.contains(&ctx.operation.action) {
        return Ok(context);
    }
    let (Some(serial), Some(code), Principal::User { name, .. }) =
        (ctx.params.get("SerialNumber"), ctx.params.get("TokenCode"), &ctx.identity.principal)
    else {
        return Ok(context);
    };
    let user_key = name.to_lowercase();
    let device = (serial, user_key.as_str());
    let (store, sealer) = (&ctx.app.store, &ctx.app.sealer);
    let checked =
        crate::iam::model::mfa_devices::check_code(store, sealer, ctx.account(), device, code, ids::now()).await?;
    Ok(if checked.is_some() { with_mfa(context, 0) } else { context })
}

/// The condition keys of the request `ctx` carries: the global ones, those its parameters
/// (awsQuery) or its JSON body (awsJson) define and those its target entity defines.
pub async fn request_context(ctx: &crate::operations::Ctx<'_>) -> Result<Context, AwsError> {
    let context = request_keys(context(ctx.identity, ctx.facts), ctx.operation.action, ctx.params);
    let context = body_keys(context, ctx.operation.action, ctx.body);
    let context = proven_mfa_keys(ctx, context).await?;
    target_keys(ctx, context).await
}

/// Adds `aws:ResourceTag/KEY` and `ecs:ResourceTag/KEY` for an ECS request on one resource:
/// the tags that resource has now (ECS keeps them in the shared `tags` table under the
/// resource's ARN), as the Service Authorization Reference defines both keys for ECS's actions
/// on its taggable resources. A request on `*`, on several resources or on one without tags
/// defines none, so a condition on them is not met.
pub async fn resource_tag_keys(
    ctx: &crate::operations::Ctx<'_>,
    resources: &[String],
    mut context: Context,
) -> Result<Context, AwsError> {
    let [resource] = resources else { return Ok(context) };
    if !ctx.operation.action.starts_with("ecs:") || !resource.starts_with("arn:aws:ecs:") {
        return Ok(context);
    }
    let rows = ctx
        .app
        .store
        .query(
            "SELECT tag_key, tag_value FROM tags WHERE account_id = ? AND resource_kind = 'ecs' AND resource_key = ?",
            vec![ctx.account().into(), resource.as_str().into()],
        )
        .await
        .map_err(internal)?;
    for row in rows {
        let (key, value) = (row.text(0).map_err(internal)?, row.text(1).map_err(internal)?);
        context = context.with(&format!("aws:ResourceTag/{key}"), value.clone());
        context = context.with(&format!("ecs:ResourceTag/{key}"), value);
    }
    Ok(context)
}

/// The actions whose `iam:PermissionsBoundary` is the boundary the request sets (AWS's
/// service authorization reference defines the key for these and for
/// `TARGET_BOUNDARY_ACTIONS`).
const REQUEST_BOUNDARY_ACTIONS: &[&str] =
    &["iam:CreateUser", "iam:CreateRole", "iam:PutUserPermissionsBoundary", "iam:PutRolePermissionsBoundary"];

/// The actions whose `iam:PermissionsBoundary` is the boundary the target user or role has
/// now: a Deny conditioned on it protects the boundary and the policies it bounds.
const TARGET_BOUNDARY_ACTIONS: &[&str] = &[
    "iam:AttachUserPolicy",
    "iam:DetachUserPolicy",
    "iam:PutUserPolicy",
    "iam:DeleteUserPolicy",
    "iam:DeleteUserPermissionsBoundary",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:DeleteRolePermissionsBoundary",
];

/// Adds the keys the request's target defines: `iam:PermissionsBoundary`, the current
/// boundary of the user or role the resource function resolved (absent when it has none).
async fn target_keys(ctx: &crate::operations::Ctx<'_>, context: Context) -> Result<Context, AwsError> {
    if !TARGET_BOUNDARY_ACTIONS.contains(&ctx.operation.action) {
        return Ok(context);
    }
    let Some(target) = ctx.target.get() else { return Ok(context) };
    let boundary = crate::iam::model::boundaries::boundary_of(
        &ctx.app.store,
        ctx.account(),
        target.kind,
        &target.name.to_lowercase(),
    )
    .await?;
    Ok(match boundary {
        Some(arn) => context.with("iam:PermissionsBoundary", arn),
        None => context,
    })
}

/// The actions that take `Tags` or `TagKeys`: only their requests define `aws:RequestTag/*`
/// and `aws:TagKeys` (AssumeRole's are its session tags).
const TAGGING_ACTIONS: &[&str] = &[
    "iam:CreateUser",
    "iam:CreateRole",
    "iam:CreatePolicy",
    "iam:CreateInstanceProfile",
    "iam:TagUser",
    "iam:TagRole",
    "iam:TagPolicy",
    "iam:UntagUser",
    "iam:UntagRole",
    "iam:UntagPolicy",
    "iam:UploadServerCertificate",
    "iam:TagServerCertificate",
    "iam:UntagServerCertificate",
    "sts:AssumeRole",
];

/// The parameters that define a service condition key, and the actions AWS defines the key
/// for. A key is set only for those: the parameter added to any other request defines
/// nothing, so it can neither satisfy an Allow nor side-step a Deny conditioned on the key.
const PARAMETER_KEYS: &[(&str, &str, &[&str])] = &[
    (
        "PolicyArn",
        "iam:PolicyARN",
        &[
            "iam:AttachUserPolicy",
            "iam:DetachUserPolicy",
            "iam:AttachGroupPolicy",
            "iam:DetachGroupPolicy",
            "iam:AttachRolePolicy",
            "iam:DetachRolePolicy",
        ],
    ),
    // Elsewhere the key is the target's current boundary (`target_keys`).
    ("PermissionsBoundary", "iam:PermissionsBoundary", REQUEST_BOUNDARY_ACTIONS),
    ("AWSServiceName", "iam:AWSServiceName", &["iam:CreateServiceLinkedRole"]),
    ("RoleSessionName", "sts:RoleSessionName", &["sts:AssumeRole"]),
    ("ExternalId", "sts:ExternalId", &["sts:AssumeRole"]),
    ("SourceIdentity", "sts:SourceIdentity", &["sts:AssumeRole"]),
];

/// Adds the condition keys a request's own parameters define for its action: the tags it
/// sets (`aws:RequestTag/*`, `aws:TagKeys`) and the service keys IAM and STS document.
pub fn request_keys(mut context: Context, action: &str, params: &aws_protocol::query::QueryParams) -> Context {
    if TAGGING_ACTIONS.contains(&action) {
        let mut tag_keys: Vec<String> = Vec::new();
        for tag in &params.members("Tags") {
            if let Some(key) = tag.get("Key") {
                context = context.with(&format!("aws:RequestTag/{key}"), tag.get("Value").unwrap_or_default());
                tag_keys.push(key.to_owned());
            }
        }
        tag_keys.extend(params.strings("TagKeys"));
        if !tag_keys.is_empty() {
            context = context.with_values("aws:TagKeys", tag_keys);
        }
    }
    for (param, key, actions) in PARAMETER_KEYS {
        if let Some(value) = params.get(param).filter(|_| actions.contains(&action)) {
            context = context.with(key, value);
        }
    }
    let transitive = params.strings("TransitiveTagKeys");
    if !transitive.is_empty() && action == "sts:AssumeRole" {
        context = context.with_values("sts:TransitiveTagKeys", transitive);
    }
    context
}

/// Where a JSON request body carries the tags it sets or removes, in its service's shape.
#[derive(Debug, Clone, Copy)]
enum BodyTags {
    /// `member: [{KEY: "k", VALUE: "v"}]` (ECS spells the members `key`/`value`, ECR and SSM
    /// `Key`/`Value`).
    List { member: &'static str, key: &'static str, value: &'static str },
    /// `member: {"k": "v"}` (CloudWatch Logs).
    Map { member: &'static str },
    /// `member: ["k"]`: the keys of the tags a request removes (only `aws:TagKeys`).
    Keys { member: &'static str },
}

const ECS_TAGS: BodyTags = BodyTags::List { member: "tags", key: "key", value: "value" };
const ECR_TAGS: BodyTags = BodyTags::List { member: "tags", key: "Key", value: "Value" };
const SSM_TAGS: BodyTags = BodyTags::List { member: "Tags", key: "Key", value: "Value" };

/// The JSON (awsJson and restJson) actions AWS's service authorization reference defines `aws:RequestTag/*` and
/// `aws:TagKeys` for, among those Homeport routes, and where each request carries its tags.
/// Only these requests define the keys: tags in any other body define nothing.
const JSON_TAGGING_ACTIONS: &[(&str, BodyTags)] = &[
    ("ecs:CreateCluster", ECS_TAGS),
    ("ecs:CreateService", ECS_TAGS),
    ("ecs:RegisterTaskDefinition", ECS_TAGS),
    ("ecs:RegisterContainerInstance", ECS_TAGS),
    ("ecs:RunTask", ECS_TAGS),
    ("ecs:StartTask", ECS_TAGS),
    ("ecs:TagResource", ECS_TAGS),
    ("ecs:UntagResource", BodyTags::Keys { member: "tagKeys" }),
    ("ecr:CreateRepository", ECR_TAGS),
    ("ecr:TagResource", ECR_TAGS),
    ("ecr:UntagResource", BodyTags::Keys { member: "tagKeys" }),
    ("logs:CreateLogGroup", BodyTags::Map { member: "tags" }),
    ("logs:TagLogGroup", BodyTags::Map { member: "tags" }),
    ("logs:TagResource", BodyTags::Map { member: "tags" }),
    ("logs:UntagLogGroup", BodyTags::Keys { member: "tags" }),
    ("logs:UntagResource", BodyTags::Keys { member: "tagKeys" }),
    ("ssm:AddTagsToResource", SSM_TAGS),
    ("ssm:CreateActivation", SSM_TAGS),
    ("ssm:RemoveTagsFromResource", BodyTags::Keys { member: "TagKeys" }),
    ("access-analyzer:CreateAnalyzer", BodyTags::Map { member: "tags" }),
];

/// Adds the condition keys a JSON request body defines for its action: each tag it sets as
/// `aws:RequestTag/KEY`, and the keys of every tag it sets or removes as the multi-valued
/// `aws:TagKeys` (absent when it names none), as the query path does for IAM and STS.
pub fn body_keys(mut context: Context, action: &str, body: &serde_json::Value) -> Context {
    let Some((_, shape)) = JSON_TAGGING_ACTIONS.iter().find(|(tagging, _)| *tagging == action) else {
        return context;
    };
    let text = |value: Option<&serde_json::Value>| value.and_then(serde_json::Value::as_str).map(str::to_owned);
    let mut tags: Vec<(String, Option<String>)> = Vec::new();
    match *shape {
        BodyTags::List { member, key, value } => {
            for tag in body.get(member).and_then(serde_json::Value::as_array).into_iter().flatten() {
                if let Some(name) = text(tag.get(key)) {
                    tags.push((name, Some(text(tag.get(value)).unwrap_or_default())));
                }
            }
        }
        BodyTags::Map { member } => {
            for (name, value) in body.get(member).and_then(serde_json::Value::as_object).into_iter().flatten() {
                tags.push((name.clone(), Some(value.as_str().unwrap_or_default().to_owned())));
            }
        }
        BodyTags::Keys { member } => {
            for name in body.get(member).and_then(serde_json::Value::as_array).into_iter().flatten() {
                if let Some(name) = name.as_str() {
                    tags.push((name.to_owned(), None));
                }
            }
        }
    }
    for (key, value) in &tags {
        if let Some(value) = value {
            context = context.with(&format!("aws:RequestTag/{key}"), value.clone());
        }
    }
    if !tags.is_empty() {
        context = context.with_values("aws:TagKeys", tags.into_iter().map(|(key, _)| key));
    }
    context
}

/// A resource-based policy taking part in a decision, such as a role's trust policy.
pub struct ResourcePolicy<'a> {
    pub id: &'a str,
    pub policy: &'a Policy,
    pub kind: ResourcePolicyKind,
}

/// Decides `action` on every resource; all must be allowed.
pub async fn authorize(
    app: &App,
    identity: &Identity,
    action: &str,
    resources: &[String],
    context: &Context,
    resource_policy: Option<ResourcePolicy<'_>>,
) -> Result<Verdict, (Verdict, AwsError)> {
    if identity.principal == Principal::Root && resource_policy.is_none() {
        return Ok(Verdict { decision: EvalDecision::Allowed, statements: vec!["root".to_owned()] });
    }
    let permissions = match identity.principal {
        // Root's own permissions are everything (and those of a federated user root asked
        // for, within its session policies); a resource policy may still refuse it.
        Principal::Root | Principal::FederatedUser { user: None, .. } => Arc::new(Permissions {
            identity: crate::iam::model::managed::root_permissions()
                .map(|policy| ("root".to_owned(), policy.clone()))
                .into_iter()
                .collect(),
            ..Permissions::default()
        }),
        _ => permissions(app, identity)
            .await
            .map_err(|error| (Verdict { decision: EvalDecision::ImplicitDeny, statements: Vec::new() }, error))?,
    };
    // Session tags override the principal's own tags of the same key. Most principals have
    // none: their requests decide on the context as it came.
    let mut tags = permissions.tags.iter().chain(&identity.scope.tags).peekable();
    let context = match tags.peek() {
        None => std::borrow::Cow::Borrowed(context),
        Some(_) => std::borrow::Cow::Owned(tags.fold(context.clone(), |context, (key, value)| {
            context.with(&format!("aws:PrincipalTag/{key}"), value.clone())
        })),
    };
    let identity_refs = refs(&permissions.identity);
    let boundary_refs = refs(permissions.boundary.as_slice());
    let session_refs = refs(&identity.scope.policies);
    fn refs(policies: &[(String, Arc<Policy>)]) -> Vec<PolicyRef<'_>> {
        policies.iter().map(|(id, policy)| PolicyRef { id, policy }).collect()
    }
    let set = PolicySet {
        identity: &identity_refs,
        boundaries: &boundary_refs,
        session: &session_refs,
        resource: resource_policy.as_ref().map(|resource| PolicyRef { id: resource.id, policy: resource.policy }),
        resource_kind: resource_policy.as_ref().map_or(ResourcePolicyKind::Ordinary, |resource| resource.kind),
        resource_account: None,
    };
    let caller = identity.caller();
    let mut statements = Vec::new();
    for resource in resources {
        let decision = decide(&set, &Request::new(action, resource, Some(&caller), &context));
        statements.extend(decision.matched.iter().map(|m| format!("{}#{}", m.policy_id, m.statement)));
        if decision.decision != EvalDecision::Allowed {
            let message = decision.access_denied_message(&identity.arn(), action, resource).unwrap_or_default();
            let verdict = Verdict { decision: decision.decision, statements };
            return Err((verdict, AwsError::new("AccessDenied", 403, message)));
        }
    }
    Ok(Verdict { decision: EvalDecision::Allowed, statements })
}

/// Checks the caller may pass `role_arn` to `service` (`iam:PassRole`, with
/// `iam:PassedToService` and `iam:AssociatedResourceArn`), wherever AWS checks it.
pub async fn pass_role(
    ctx: &crate::operations::Ctx<'_>,
    role_arn: &str,
    service: &str,
    associated_resource: &str,
) -> Result<(), AwsError> {
    let context = context(ctx.identity, ctx.facts)
        .with("iam:PassedToService", service)
        .with("iam:AssociatedResourceArn", associated_resource);
    check(ctx, Check { action: "iam:PassRole", resource: role_arn, passed_to: service }, &context, None).await
}

/// What an operation decides while it runs, beyond its own action: `action` on `resource`
/// (and, for `iam:PassRole`, the service the role is passed to).
pub struct Check<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub passed_to: &'a str,
}

/// Decides a [`Check`] for the request `ctx` carries, with its resource's policy when it has
/// one, and records the decision with the request's (its audit record lists it).
pub async fn check(
    ctx: &crate::operations::Ctx<'_>,
    Check { action, resource, passed_to }: Check<'_>,
    context: &Context,
    resource_policy: Option<ResourcePolicy<'_>>,
) -> Result<(), AwsError> {
    let resources = [resource.to_owned()];
    let decided = authorize(ctx.app, ctx.identity, action, &resources, context, resource_policy).await;
    let decision = match &decided {
        Ok(verdict) | Err((verdict, _)) => verdict.decision,
    };
    if let Ok(mut checks) = ctx.checks.lock() {
        checks.push(crate::audit::Check {
            decision: decision.as_str().to_owned(),
            action: action.to_owned(),
            resource: resource.to_owned(),
            passed_to: passed_to.to_owned(),
        });
    }
    decided.map(|_| ()).map_err(|(_, error)| error)
}

/// ECS's tag-on-create authorization (its `tagResourceAuthorization` account setting `on`):
/// a create that sets tags is authorized as `ecs:TagResource` on the new resource too, with
/// `ecs:CreateAction` naming the create and the tags it sets as `aws:RequestTag/*` and
/// `aws:TagKeys`. The decision is recorded with the request's, as `iam:PassRole`'s is.
pub async fn tag_on_create(ctx: &crate::operations::Ctx<'_>, resource: &str) -> Result<(), AwsError> {
    let context = body_keys(context(ctx.identity, ctx.facts), ctx.operation.action, ctx.body)
        .with("ecs:CreateAction", ctx.operation.name);
    let decided = authorize(ctx.app, ctx.identity, "ecs:TagResource", &[resource.to_owned()], &context, None).await;
    let decision = match &decided {
        Ok(verdict) | Err((verdict, _)) => verdict.decision,
    };
    if let Ok(mut checks) = ctx.checks.lock() {
        checks.push(crate::audit::Check {
            decision: decision.as_str().to_owned(),
            action: "ecs:TagResource".to_owned(),
            resource: resource.to_owned(),
            passed_to: String::new(),
        });
    }
    decided.map(|_| ()).map_err(|(_, error)| error)
}

/// Whether a role's trust policy lets the AWS service `service` assume it for this account
/// (`aws:SourceAccount`), on behalf of `source_arn` (`aws:SourceArn`) when given.
pub fn trusts_service(app: &App, trust_policy: &str, role_arn: &str, service: &str, source_arn: Option<&str>) -> bool {
    let Ok(trust) = Policy::parse(trust_policy) else { return false };
    let caller = iam_policy::Caller::Service { name: service.to_owned() };
    let mut context = Context::new().with("aws:SourceAccount", app.account_id.clone());
    if let Some(source_arn) = source_arn {
        context = context.with("aws:SourceArn", source_arn);
    }
    let set = PolicySet {
        resource: Some(PolicyRef { id: "trust-policy", policy: &trust }),
        resource_kind: ResourcePolicyKind::Trust,
        ..PolicySet::default()
    };
    decide(&set, &Request::new("sts:AssumeRole", role_arn, Some(&caller), &context)).decision == EvalDecision::Allowed
}

/// The caller's permissions, parsed, from the cache or the store.
pub(crate) async fn permissions(app: &App, identity: &Identity) -> Result<Policies, AwsError> {
    let Some((kind, key)) = identity.principal.policy_owner() else { return Ok(Policies::default()) };
    let kind = if kind == "user" { Kind::User } else { Kind::Role };
    owner_permissions(app, &identity.account_id, kind, &key).await
}

/// The permissions of the user, group or role `key` (lowercase name), from the cache or the
/// store (one read of the IAM model's [`permissions::of`] per miss).
pub(crate) async fn owner_permissions(app: &App, account: &str, kind: Kind, key: &str) -> Result<Policies, AwsError> {
    let cache_key = format!("{account}/{}/{key}", kind.noun());
    if let Some(policies) = app.cache.policies(&cache_key) {
        return Ok(policies);
    }
    let generation = app.cache.generation();
    let policies: Policies = Arc::new(permissions::of(&app.store, account, kind, key).await.map_err(internal)?);
    app.cache.put_policies(&cache_key, policies.clone(), generation);
    Ok(policies)
}

#[cfg(test)]
mod tests {
    use iam_policy::ContextValue;
    use serde_json::json;

    use super::*;

    fn single(value: &str) -> Option<ContextValue> {
        Some(ContextValue::Single(value.to_owned()))
    }

    fn keys(keys: &[&str]) -> Option<ContextValue> {
        Some(ContextValue::Multi(keys.iter().map(|key| (*key).to_owned()).collect()))
    }

    #[test]
    fn each_services_json_tags_define_request_tags_and_tag_keys() {
        let ecs = body_keys(
            Context::new(),
            "ecs:CreateCluster",
            &json!({"clusterName": "a", "tags": [{"key": "env", "value": "prod"}, {"key": "team", "value": "ops"}]}),
        );
        assert_eq!(ecs.get("aws:requesttag/env").cloned(), single("prod"));
        assert_eq!(ecs.get("aws:requesttag/team").cloned(), single("ops"));
        assert_eq!(ecs.get("aws:tagkeys").cloned(), keys(&["env", "team"]));

        let ecr = body_keys(Context::new(), "ecr:CreateRepository", &json!({"tags": [{"Key": "env", "Value": "dev"}]}));
        assert_eq!(ecr.get("aws:requesttag/env").cloned(), single("dev"));
        assert_eq!(ecr.get("aws:tagkeys").cloned(), keys(&["env"]));
        // ECR's members are capitalized: ECS's spelling there names no tag.
        let misspelt =
            body_keys(Context::new(), "ecr:CreateRepository", &json!({"tags": [{"key": "env", "value": "dev"}]}));
        assert_eq!(misspelt.get("aws:tagkeys"), None);

        let logs = body_keys(Context::new(), "logs:CreateLogGroup", &json!({"tags": {"env": "test"}}));
        assert_eq!(logs.get("aws:requesttag/env").cloned(), single("test"));
        assert_eq!(logs.get("aws:tagkeys").cloned(), keys(&["env"]));

        let ssm = body_keys(
            Context::new(),
            "ssm:AddTagsToResource",
            &json!({"ResourceId": "mi-1", "Tags": [{"Key": "env", "Value": "prod"}]}),
        );
        assert_eq!(ssm.get("aws:requesttag/env").cloned(), single("prod"));
        let activation =
            body_keys(Context::new(), "ssm:CreateActivation", &json!({"Tags": [{"Key": "owner", "Value": "me"}]}));
        assert_eq!(activation.get("aws:tagkeys").cloned(), keys(&["owner"]));

        let analyzer = body_keys(
            Context::new(),
            "access-analyzer:CreateAnalyzer",
            &json!({"analyzerName": "unused", "type": "ACCOUNT_UNUSED_ACCESS", "tags": {"team": "platform"}}),
        );
        assert_eq!(analyzer.get("aws:requesttag/team").cloned(), single("platform"));
        assert_eq!(analyzer.get("aws:tagkeys").cloned(), keys(&["team"]));
    }

    #[test]
    fn removed_keys_define_only_tag_keys() {
        let context =
            body_keys(Context::new(), "ssm:RemoveTagsFromResource", &json!({"ResourceId": "mi-1", "TagKeys": ["env"]}));
        assert_eq!(context.get("aws:tagkeys").cloned(), keys(&["env"]));
        assert_eq!(context.get("aws:requesttag/env"), None);
    }

    #[test]
    fn tags_define_nothing_for_other_actions_or_when_absent() {
        let tagged = json!({"tags": [{"key": "env", "value": "prod"}], "Tags": [{"Key": "env", "Value": "prod"}]});
        for action in ["ecs:DescribeClusters", "ecr:DescribeRepositories", "logs:CreateLogStream", "iam:CreateUser"] {
            let context = body_keys(Context::new(), action, &tagged);
            assert_eq!(context.get("aws:tagkeys"), None, "{action}");
            assert_eq!(context.get("aws:requesttag/env"), None, "{action}");
        }
        let untagged = body_keys(Context::new(), "ecs:CreateCluster", &json!({"clusterName": "a"}));
        assert_eq!(untagged.get("aws:tagkeys"), None);
    }
}
