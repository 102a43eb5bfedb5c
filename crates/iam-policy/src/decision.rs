//! Combining every policy that applies to a request into IAM's decision.
//!
//! The order is the one the IAM User Guide documents for requests within an account:
//! 1. an explicit `Deny` in any policy (identity, boundary, session, resource) wins;
//! 2. the account root is allowed everything else;
//! 3. same account: a resource-based policy that names the caller itself allows; one that
//!    names the caller's role allows within the boundary and session policies; otherwise the
//!    identity policies must allow, within the boundary and the session policies;
//! 4. cross account: the caller's own side (identity, boundary, session) and the resource
//!    policy must both allow.
//!
//! Role trust policies (and other policies that must name the principal themselves) are
//! resource policies with [`ResourcePolicyKind::Trust`]: without the trust policy's Allow
//! nothing is allowed, and a trust policy that names only the account still needs an
//! identity-policy Allow.

use crate::document::{Effect, Policy};
use crate::eval::{Hit, PolicyHits, PrincipalRule, Request, evaluate_policy};
use crate::principal::{Caller, Grant};

/// IAM's `EvalDecision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EvalDecision {
    #[serde(rename = "allowed")]
    Allowed,
    #[serde(rename = "explicitDeny")]
    ExplicitDeny,
    #[serde(rename = "implicitDeny")]
    ImplicitDeny,
}

impl EvalDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            EvalDecision::Allowed => "allowed",
            EvalDecision::ExplicitDeny => "explicitDeny",
            EvalDecision::ImplicitDeny => "implicitDeny",
        }
    }
}

/// The role a policy plays in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    Identity,
    PermissionsBoundary,
    Session,
    Resource,
}

impl PolicyType {
    /// The phrase IAM uses in AccessDenied messages.
    pub fn phrase(self) -> &'static str {
        match self {
            PolicyType::Identity => "an identity-based policy",
            PolicyType::PermissionsBoundary => "a permissions boundary",
            PolicyType::Session => "a session policy",
            PolicyType::Resource => "a resource-based policy",
        }
    }
}

/// How a resource-based policy takes part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResourcePolicyKind {
    /// S3-style: in the same account an identity-policy Allow is enough on its own.
    #[default]
    Ordinary,
    /// Role trust policies and KMS key policies: they must allow the principal themselves.
    Trust,
}

/// A policy taking part in a decision, with the name to report it under.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRef<'a> {
    /// The policy's name, ARN or simulator id (`PolicyInputList.1`).
    pub id: &'a str,
    pub policy: &'a Policy,
}

/// Every policy that applies to a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicySet<'a> {
    /// Inline and managed policies of the user (and its groups) or the role.
    pub identity: &'a [PolicyRef<'a>],
    /// Permissions boundaries; each must allow.
    pub boundaries: &'a [PolicyRef<'a>],
    /// Session policies passed when the session was created (the inline `Policy` and the
    /// managed `PolicyArns`); together they bound the session, so one of them must allow.
    pub session: &'a [PolicyRef<'a>],
    pub resource: Option<PolicyRef<'a>>,
    pub resource_kind: ResourcePolicyKind,
    /// The account that owns the resource; `None` means the caller's own account.
    pub resource_account: Option<&'a str>,
}

/// A statement that took part in the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedStatement {
    pub policy_id: String,
    pub policy_type: PolicyType,
    /// Index of the statement in its policy.
    pub statement: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub start: crate::json::Position,
    pub end: crate::json::Position,
}

/// Why a request was denied, in the terms of IAM's AccessDenied messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    ExplicitDeny(PolicyType),
    /// No Allow where one was needed.
    NoAllow(PolicyType),
}

/// The decision on one request and what led to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub decision: EvalDecision,
    /// Set for every decision but `allowed`.
    pub reason: Option<DenyReason>,
    /// The statements that decided: the denying ones for `explicitDeny`, the allowing ones
    /// for `allowed`, none for `implicitDeny`.
    pub matched: Vec<MatchedStatement>,
    /// Context keys the applicable statements read but the request did not carry.
    pub missing_context: Vec<String>,
    /// Whether the permissions boundary allowed the action (`None` without a boundary).
    pub allowed_by_boundary: Option<bool>,
}

/// Decides a request against a set of policies.
pub fn decide(policies: &PolicySet<'_>, request: &Request<'_>) -> Decision {
    let mut missing_context = Vec::new();
    let mut evaluate = |refs, policy_type, rule| evaluate_all(refs, policy_type, rule, request, &mut missing_context);
    let identity = evaluate(policies.identity, PolicyType::Identity, PrincipalRule::Ignore);
    let boundaries = evaluate(policies.boundaries, PolicyType::PermissionsBoundary, PrincipalRule::Ignore);
    let session = evaluate(policies.session, PolicyType::Session, PrincipalRule::Ignore);
    let resource = evaluate(policies.resource.as_slice(), PolicyType::Resource, PrincipalRule::MustName);
    let all = || identity.iter().chain(&boundaries).chain(&session).chain(&resource);

    let allowed_by_boundary = (!boundaries.is_empty()).then(|| boundaries.iter().all(|b| b.hits.has(Effect::Allow)));
    let mut decision = Decision {
        decision: EvalDecision::ImplicitDeny,
        reason: None,
        matched: Vec::new(),
        missing_context,
        allowed_by_boundary,
    };

    // 1. An explicit deny anywhere.
    let denials: Vec<MatchedStatement> = all().flat_map(|e| e.matched(Effect::Deny)).collect();
    if let Some(first) = denials.first() {
        decision.decision = EvalDecision::ExplicitDeny;
        decision.reason = Some(DenyReason::ExplicitDeny(first.policy_type));
        decision.matched = denials;
        return decision;
    }

    let identity_allows = identity.iter().any(|e| e.hits.has(Effect::Allow));
    let boundary_allows = allowed_by_boundary.unwrap_or(true);
    // The inline and managed session policies of one session form one set: any may allow.
    // A federated-user session without a session policy has no permissions at all.
    let session_allows = if session.is_empty() {
        !matches!(request.caller, Some(Caller::FederatedUser { .. }))
    } else {
        session.iter().any(|e| e.hits.has(Effect::Allow))
    };
    let grant = resource.iter().filter_map(|e| e.hits.best_grant()).max();
    let caller_account = request.caller.and_then(Caller::account);
    // Cross-account rules apply only when both accounts are known to differ.
    let same_account = match (policies.resource_account, caller_account) {
        (Some(owner), Some(caller)) => owner == caller,
        _ => true,
    };
    let trust = policies.resource_kind == ResourcePolicyKind::Trust;

    // A role session's limits: its boundary and its session policies.
    let within_limits = if !boundary_allows {
        Err(PolicyType::PermissionsBoundary)
    } else if !session_allows {
        Err(PolicyType::Session)
    } else {
        Ok(())
    };
    // The caller's own side: identity policies within those limits (the root user has no
    // identity policies and needs none).
    let root = matches!(request.caller, Some(Caller::Root { .. }));
    let own_side = match (root, identity_allows) {
        (true, _) => Ok(()),
        (false, false) => Err(PolicyType::Identity),
        (false, true) => within_limits,
    };
    let resource_side = grant.map(|_| ()).ok_or(PolicyType::Resource);
    let both_sides = || [allowing(&identity), allowing(&resource)].concat();

    let outcome: Result<Vec<MatchedStatement>, PolicyType> = if root && same_account {
        Ok(Vec::new())
    } else if matches!(request.caller, Some(Caller::Service { .. } | Caller::WebIdentity { .. } | Caller::Anonymous)) {
        // Callers without identity policies: only the resource policy can allow.
        resource_side.map(|()| allowing(&resource))
    } else if same_account {
        match grant {
            Some(Grant::Direct) => Ok(allowing(&resource)),
            Some(Grant::Role) => within_limits.map(|()| allowing(&resource)),
            None if trust => Err(PolicyType::Resource),
            Some(Grant::Account) | None => own_side.map(|()| both_sides()),
        }
    } else {
        own_side.and(resource_side).map(|()| both_sides())
    };

    match outcome {
        Ok(statements) => {
            decision.decision = EvalDecision::Allowed;
            decision.matched = statements;
        }
        Err(missing) => decision.reason = Some(DenyReason::NoAllow(missing)),
    }
    decision
}

fn evaluate_all<'p>(
    refs: &[PolicyRef<'p>],
    policy_type: PolicyType,
    rule: PrincipalRule,
    request: &Request<'_>,
    missing_context: &mut Vec<String>,
) -> Vec<Evaluated<'p>> {
    refs.iter()
        .map(|policy_ref| {
            let hits = evaluate_policy(policy_ref.policy, request, rule);
            for key in &hits.missing_keys {
                if !missing_context.iter().any(|known| known.eq_ignore_ascii_case(key)) {
                    missing_context.push(key.clone());
                }
            }
            Evaluated { policy_ref: *policy_ref, policy_type, hits }
        })
        .collect()
}

struct Evaluated<'a> {
    policy_ref: PolicyRef<'a>,
    policy_type: PolicyType,
    hits: PolicyHits,
}

impl Evaluated<'_> {
    fn matched(&self, effect: Effect) -> impl Iterator<Item = MatchedStatement> + '_ {
        self.hits.hits.iter().filter(move |hit| hit.effect == effect).map(|hit| self.describe(hit))
    }

    fn describe(&self, hit: &Hit) -> MatchedStatement {
        let statement = self.policy_ref.policy.statements.get(hit.statement);
        let origin = crate::json::Position { line: 1, column: 1 };
        MatchedStatement {
            policy_id: self.policy_ref.id.to_owned(),
            policy_type: self.policy_type,
            statement: hit.statement,
            sid: statement.and_then(|s| s.sid.clone()),
            effect: hit.effect,
            start: statement.map_or(origin, |s| s.start),
            end: statement.map_or(origin, |s| s.end),
        }
    }
}

fn allowing(evaluated: &[Evaluated<'_>]) -> Vec<MatchedStatement> {
    evaluated.iter().flat_map(|e| e.matched(Effect::Allow)).collect()
}

impl Decision {
    /// IAM's AccessDenied message for this decision, e.g. `User: arn:aws:iam::111122223333:user/bob
    /// is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::111122223333:user/
    /// because no identity-based policy allows the iam:ListUsers action`. `None` when allowed.
    pub fn access_denied_message(&self, caller_arn: &str, action: &str, resource: &str) -> Option<String> {
        let reason = self.reason?;
        let head = format!("User: {caller_arn} is not authorized to perform: {action} on resource: {resource}");
        Some(match reason {
            DenyReason::ExplicitDeny(policy_type) => {
                format!("{head} with an explicit deny in {}", policy_type.phrase())
            }
            DenyReason::NoAllow(policy_type) => {
                let which = match policy_type {
                    PolicyType::Identity => "identity-based policy",
                    PolicyType::PermissionsBoundary => "permissions boundary",
                    PolicyType::Session => "session policy",
                    PolicyType::Resource => "resource-based policy",
                };
                format!("{head} because no {which} allows the {action} action")
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Context;

    fn policy(statement: &str) -> Policy {
        Policy::parse(&format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#)).unwrap()
    }

    /// The AccessDenied message for `action` on `resource` by a role session.
    fn message(
        identity: &[&Policy],
        boundary: Option<&Policy>,
        session: Option<&Policy>,
        trust: Option<&Policy>,
    ) -> String {
        let caller = Caller::from_arn("arn:aws:sts::111122223333:assumed-role/ecsAnywhereRole/mi-1").unwrap();
        let identity: Vec<PolicyRef<'_>> = identity.iter().map(|policy| PolicyRef { id: "identity", policy }).collect();
        let boundary: Vec<PolicyRef<'_>> = boundary.iter().map(|policy| PolicyRef { id: "boundary", policy }).collect();
        let session: Vec<PolicyRef<'_>> = session.iter().map(|policy| PolicyRef { id: "session", policy }).collect();
        let set = PolicySet {
            identity: &identity,
            boundaries: &boundary,
            session: &session,
            resource: trust.map(|policy| PolicyRef { id: "trust", policy }),
            resource_kind: if trust.is_some() { ResourcePolicyKind::Trust } else { ResourcePolicyKind::Ordinary },
            resource_account: None,
        };
        let context = Context::new();
        let resource = "arn:aws:ecs:us-east-1:111122223333:cluster/default";
        let decision = decide(&set, &Request::new("ecs:RegisterContainerInstance", resource, Some(&caller), &context));
        decision.access_denied_message(&caller.arn(), "ecs:RegisterContainerInstance", resource).unwrap_or_default()
    }

    #[test]
    fn access_denied_messages_use_aws_wording() {
        let head = "User: arn:aws:sts::111122223333:assumed-role/ecsAnywhereRole/mi-1 is not authorized to perform: \
                    ecs:RegisterContainerInstance on resource: arn:aws:ecs:us-east-1:111122223333:cluster/default";
        let allow = policy(r#"{"Effect":"Allow","Action":"ecs:*","Resource":"*"}"#);
        let deny = policy(r#"{"Effect":"Deny","Action":"ecs:Register*","Resource":"*"}"#);
        let other = policy(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#);
        let cases = [
            (
                message(&[&other], None, None, None),
                "because no identity-based policy allows the ecs:RegisterContainerInstance action",
            ),
            (message(&[&allow, &deny], None, None, None), "with an explicit deny in an identity-based policy"),
            (
                message(&[&allow], Some(&other), None, None),
                "because no permissions boundary allows the ecs:RegisterContainerInstance action",
            ),
            (message(&[&allow], Some(&deny), None, None), "with an explicit deny in a permissions boundary"),
            (
                message(&[&allow], None, Some(&other), None),
                "because no session policy allows the ecs:RegisterContainerInstance action",
            ),
            (message(&[&allow], None, Some(&deny), None), "with an explicit deny in a session policy"),
            (
                message(
                    &[&allow],
                    None,
                    None,
                    Some(&policy(r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"ecs:*"}"#)),
                ),
                "because no resource-based policy allows the ecs:RegisterContainerInstance action",
            ),
        ];
        for (message, tail) in cases {
            assert_eq!(message, format!("{head} {tail}"));
        }
        assert_eq!(message(&[&allow], None, None, None), "", "allowed requests have no AccessDenied message");
    }
}
