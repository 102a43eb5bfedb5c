//! Authorization: every operation's IAM action and resources, decided by the policy engine.
//!
//! The root user is allowed everything, as on AWS. A user's identity policies are its inline
//! policies (managed policies, groups and boundaries arrive with the IAM issues).

use aws_protocol::AwsError;
use iam_policy::{Context, EvalDecision, Policy, PolicyRef, PolicySet, Request, decide};

use crate::auth::{Identity, Principal};
use crate::cache::Policies;
use crate::ids;

/// What the pipeline decided, for the audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub decision: EvalDecision,
    /// `policy-id#statement` of the statements that decided.
    pub statements: Vec<String>,
}

/// The request facts the global condition keys describe.
#[derive(Debug, Clone)]
pub struct RequestFacts {
    pub source_ip: String,
    pub region: String,
}

/// The global condition keys of a request by `identity`.
pub fn context(identity: &Identity, facts: &RequestFacts) -> Context {
    let now = ids::now();
    let mut context = Context::new()
        .with("aws:PrincipalArn", identity.arn())
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
            },
        );
    if let Principal::User { name, .. } = &identity.principal {
        context = context.with("aws:username", name.clone());
    }
    if let Some(issued_at) = identity.session_issued_at {
        // Temporary credentials: their issue time, and no MFA (Homeport has no MFA devices).
        context =
            context.with("aws:TokenIssueTime", ids::iso8601(issued_at)).with("aws:MultiFactorAuthPresent", "false");
    }
    context
}

/// Decides `action` on every resource; all must be allowed.
pub async fn authorize(
    app: &crate::app::App,
    identity: &Identity,
    action: &str,
    resources: &[String],
    context: &Context,
) -> Result<Verdict, (Verdict, AwsError)> {
    if identity.principal == Principal::Root {
        return Ok(Verdict { decision: EvalDecision::Allowed, statements: vec!["root".to_owned()] });
    }
    let policies = identity_policies(app, identity)
        .await
        .map_err(|error| (Verdict { decision: EvalDecision::ImplicitDeny, statements: Vec::new() }, error))?;
    let refs: Vec<PolicyRef<'_>> = policies.iter().map(|(id, policy)| PolicyRef { id, policy }).collect();
    let set = PolicySet { identity: &refs, ..PolicySet::default() };
    let caller = identity.caller();
    let mut statements = Vec::new();
    for resource in resources {
        let decision = decide(&set, &Request::new(action, resource, Some(&caller), context));
        statements.extend(decision.matched.iter().map(|m| format!("{}#{}", m.policy_id, m.statement)));
        if decision.decision != EvalDecision::Allowed {
            let message = decision.access_denied_message(&identity.arn(), action, resource).unwrap_or_default();
            let verdict = Verdict { decision: decision.decision, statements };
            return Err((verdict, AwsError::new("AccessDenied", 403, message)));
        }
    }
    Ok(Verdict { decision: EvalDecision::Allowed, statements })
}

/// The caller's identity policies, parsed, from the cache or the store.
async fn identity_policies(app: &crate::app::App, identity: &Identity) -> Result<Policies, AwsError> {
    let Principal::User { name, .. } = &identity.principal else { return Ok(Policies::default()) };
    let cache_key = format!("{}/user/{}", identity.account_id, name.to_lowercase());
    if let Some(policies) = app.cache.policies(&cache_key) {
        return Ok(policies);
    }
    let generation = app.cache.generation();
    // Policies owned by the user or by any group it belongs to.
    const OWNED_BY_USER_OR_ITS_GROUPS: &str = "account_id = ? AND ((owner_kind = 'user' AND owner_key = ?)
        OR (owner_kind = 'group' AND owner_key IN (SELECT group_key FROM group_members WHERE account_id = ? AND user_key = ?)))";
    let user_key = name.to_lowercase();
    let owner_params = || -> Vec<store::Value> {
        let (account, user) = (identity.account_id.as_str(), user_key.as_str());
        vec![account.into(), user.into(), account.into(), user.into()]
    };
    let rows = app
        .store
        .query(
            &format!(
                "SELECT owner_kind, owner_key, policy_name, document FROM inline_policies WHERE {OWNED_BY_USER_OR_ITS_GROUPS}
                 ORDER BY owner_kind DESC, owner_key, policy_name"
            ),
            owner_params(),
        )
        .await
        .map_err(crate::operations::internal)?;
    let mut parsed = Vec::with_capacity(rows.len());
    for row in &rows {
        let text = |index| row.text(index).map_err(crate::operations::internal);
        let (kind, owner, policy_name, document) = (text(0)?, text(1)?, text(2)?, text(3)?);
        // Stored documents were validated on the way in; one that no longer parses grants nothing.
        if let Ok(policy) = Policy::parse(&document) {
            parsed.push((format!("{kind}/{owner}/{policy_name}"), policy));
        }
    }
    // And the managed policies attached to the user or its groups, from the catalogue.
    let attached = app
        .store
        .query(
            &format!("SELECT DISTINCT policy_arn FROM policy_attachments WHERE {OWNED_BY_USER_OR_ITS_GROUPS} ORDER BY policy_arn"),
            owner_params(),
        )
        .await
        .map_err(crate::operations::internal)?;
    for row in &attached {
        let arn = row.text(0).map_err(crate::operations::internal)?;
        if let Some(policy) = crate::managed::parsed(&arn) {
            parsed.push((arn, policy.clone()));
        }
    }
    let policies: Policies = std::sync::Arc::new(parsed);
    app.cache.put_policies(&cache_key, policies.clone(), generation);
    Ok(policies)
}
