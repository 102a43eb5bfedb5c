//! Authorization: every operation's IAM action and resources, decided by the policy engine.
//!
//! The root user is allowed everything, as on AWS. A user's identity policies are its inline
//! policies (managed policies, groups and boundaries arrive with the IAM issues).

use aws_protocol::AwsError;
use iam_policy::{Context, EvalDecision, Policy, PolicyRef, PolicySet, Request, decide};

use crate::auth::{Identity, Principal};
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
    let documents = identity_policies(app, identity)
        .await
        .map_err(|error| (Verdict { decision: EvalDecision::ImplicitDeny, statements: Vec::new() }, error))?;
    let parsed: Vec<(String, Policy)> = documents
        .into_iter()
        .filter_map(|(name, text)| Policy::parse(&text).ok().map(|policy| (name, policy)))
        .collect();
    let refs: Vec<PolicyRef<'_>> = parsed.iter().map(|(id, policy)| PolicyRef { id, policy }).collect();
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

async fn identity_policies(app: &crate::app::App, identity: &Identity) -> Result<Vec<(String, String)>, AwsError> {
    let Principal::User { name, .. } = &identity.principal else { return Ok(Vec::new()) };
    let rows = app
        .store
        .query(
            "SELECT policy_name, document FROM user_policies WHERE account_id = ? AND user_name_key = ? ORDER BY policy_name",
            vec![identity.account_id.as_str().into(), name.to_lowercase().into()],
        )
        .await
        .map_err(crate::operations::internal)?;
    rows.iter()
        .map(|row| {
            Ok((row.text(0).map_err(crate::operations::internal)?, row.text(1).map_err(crate::operations::internal)?))
        })
        .collect()
}
