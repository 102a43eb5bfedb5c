//! Evaluating one policy document against one request: which statements apply.
//!
//! A statement applies when its action, resource, principal (resource-based policies only)
//! and every condition match. Nothing here fails: an element that cannot be evaluated (an
//! unresolvable variable, an unreadable value) simply does not match.

use crate::context::Context;
use crate::document::{Effect, Policy, ResourceMatcher, ResourcePattern, Statement};
use crate::pattern::{Case, Pattern, Segments};
use crate::principal::{Caller, Grant};

/// What is being asked: an action on a resource, by a caller, with a context.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    action: String,
    action_as_given: &'a str,
    pub resource: &'a str,
    pub caller: Option<&'a Caller>,
    pub context: &'a Context,
    track_missing_keys: bool,
}

impl<'a> Request<'a> {
    pub fn new(action: &'a str, resource: &'a str, caller: Option<&'a Caller>, context: &'a Context) -> Request<'a> {
        Request {
            action: action.to_ascii_lowercase(),
            action_as_given: action,
            resource,
            caller,
            context,
            track_missing_keys: false,
        }
    }

    /// Also report the context keys that applicable statements read but the request lacks
    /// (the simulator's `MissingContextValues`); off by default, as enforcement needs none.
    pub fn tracking_missing_keys(mut self) -> Request<'a> {
        self.track_missing_keys = true;
        self
    }

    /// The action as the caller spelled it.
    pub fn action(&self) -> &str {
        self.action_as_given
    }
}

/// Whether statements must name the caller in `Principal` (resource-based and trust
/// policies) or have no principal at all (identity-based, boundary and session policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrincipalRule {
    Ignore,
    MustName,
}

/// One statement that applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub(crate) statement: usize,
    pub(crate) effect: Effect,
    /// How the statement named the caller, for resource-based policies.
    pub(crate) grant: Option<Grant>,
}

/// The statements of one policy that applied, and the context keys they wanted but the
/// request lacked.
#[derive(Debug, Clone, Default)]
pub(crate) struct PolicyHits {
    pub(crate) hits: Vec<Hit>,
    pub(crate) missing_keys: Vec<String>,
}

impl PolicyHits {
    pub(crate) fn has(&self, effect: Effect) -> bool {
        self.hits.iter().any(|hit| hit.effect == effect)
    }

    /// The strongest way an applying Allow statement names the caller.
    pub(crate) fn best_grant(&self) -> Option<Grant> {
        self.hits.iter().filter(|hit| hit.effect == Effect::Allow).filter_map(|hit| hit.grant).max()
    }
}

/// Results of shared resource patterns and conditions within one policy evaluation:
/// 0 unknown, 1 no match, 2 match. Small policies keep it on the stack.
struct Memo {
    inline: [u8; 64],
    spilled: Vec<u8>,
}

impl Memo {
    fn new(slots: usize) -> Memo {
        Memo { inline: [0; 64], spilled: if slots > 64 { vec![0; slots] } else { Vec::new() } }
    }

    /// The memoized result of `slot`, computing it with `evaluate` the first time.
    fn get(&mut self, slot: u32, evaluate: impl FnOnce() -> bool) -> bool {
        let index = usize::try_from(slot).unwrap_or(usize::MAX);
        let cell = if self.spilled.is_empty() { self.inline.get_mut(index) } else { self.spilled.get_mut(index) };
        match cell {
            Some(2) => true,
            Some(1) => false,
            Some(cell) => {
                let result = evaluate();
                *cell = if result { 2 } else { 1 };
                result
            }
            None => evaluate(),
        }
    }
}

pub(crate) fn evaluate_policy(policy: &Policy, request: &Request<'_>, rule: PrincipalRule) -> PolicyHits {
    match policy.action_index.candidates(&request.action) {
        // A policy about other services only: nothing to look at.
        Some([]) => PolicyHits::default(),
        Some(candidates) => evaluate_statements(policy, candidates.iter().map(|&index| index as usize), request, rule),
        None => evaluate_statements(policy, 0..policy.statements.len(), request, rule),
    }
}

/// Evaluates the statements at `indices` (in document order).
fn evaluate_statements(
    policy: &Policy,
    indices: impl Iterator<Item = usize>,
    request: &Request<'_>,
    rule: PrincipalRule,
) -> PolicyHits {
    let mut out = PolicyHits::default();
    let mut memo = Memo::new(policy.slots);
    for index in indices {
        let Some(statement) = policy.statements.get(index) else { continue };
        if !action_matches(statement, &request.action) {
            continue;
        }
        // Keys are "required" by every statement about the action, whatever it then decides.
        if request.track_missing_keys {
            note_missing_keys(statement, request.context, &mut out.missing_keys);
        }
        if !resource_matches(statement, request, &mut memo) {
            continue;
        }
        let grant = match rule {
            PrincipalRule::Ignore => None,
            PrincipalRule::MustName => match principal_grant(statement, request.caller) {
                Some(grant) => Some(grant),
                None => continue,
            },
        };
        let mut holds = |condition: &crate::condition::Condition| match condition.slot {
            Some(slot) => memo.get(slot, || condition.matches(request.context)),
            None => condition.matches(request.context),
        };
        if statement.conditions.iter().all(&mut holds) {
            out.hits.push(Hit { statement: index, effect: statement.effect, grant });
        }
    }
    out
}

fn action_matches(statement: &Statement, lowercase_action: &str) -> bool {
    statement
        .action
        .as_ref()
        .is_some_and(|clause| clause.items.iter().any(|pattern| pattern.matches(lowercase_action)) != clause.negated)
}

fn resource_matches(statement: &Statement, request: &Request<'_>, memo: &mut Memo) -> bool {
    // A statement without Resource (a trust policy) applies to the resource it is attached to.
    let Some(clause) = &statement.resource else { return true };
    clause.items.iter().any(|pattern| resource_pattern_matches(pattern, request, memo)) != clause.negated
}

fn resource_pattern_matches(pattern: &ResourcePattern, request: &Request<'_>, memo: &mut Memo) -> bool {
    match &pattern.matcher {
        ResourceMatcher::Fixed(pattern, slot) => memo.get(*slot, || pattern.matches(request.resource)),
        ResourceMatcher::Template(template) => template.resolve_tokens(request.context).is_some_and(|tokens| {
            Pattern::from_tokens(tokens, Case::Sensitive, Some(Segments::StarAtEndSpans)).matches(request.resource)
        }),
    }
}

fn principal_grant(statement: &Statement, caller: Option<&Caller>) -> Option<Grant> {
    let caller = caller?;
    let clause = statement.principal.as_ref()?;
    let set = clause.items.first()?;
    if clause.negated { (!set.excludes(caller)).then_some(Grant::Direct) } else { set.grant_for(caller) }
}

fn note_missing_keys(statement: &Statement, context: &Context, missing: &mut Vec<String>) {
    let resource_keys =
        statement.resource.iter().flat_map(|clause| clause.items.iter()).filter_map(|pattern| match &pattern.matcher {
            ResourceMatcher::Template(template) => Some(template.keys()),
            ResourceMatcher::Fixed(..) => None,
        });
    let keys = statement.conditions.iter().flat_map(|condition| condition.keys()).chain(resource_keys.flatten());
    for key in keys {
        let known = missing.iter().any(|seen| seen.eq_ignore_ascii_case(key));
        if !known && context.get(&key.to_ascii_lowercase()).is_none() {
            missing.push(key.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index only skips: every combination of these entries, as Action or NotAction,
    /// finds the same statements for every action as looking at all of them does.
    #[test]
    fn the_action_index_changes_no_outcome() {
        let entries = ["ecs:RunTask", "ECS:*", "s3:Get*", "*", "ec?:Describe*", "e*:RunTask", "iam:*User", "nocolon"];
        let actions =
            ["ecs:runtask", "ecs:describeclusters", "s3:getobject", "iam:getuser", "sqs:send", "ec2:describe"];
        let context = Context::new();
        for first in entries {
            for second in entries {
                for negated in [false, true] {
                    let key = if negated { "NotAction" } else { "Action" };
                    let text = format!(
                        r#"{{"Version":"2012-10-17","Statement":[
                            {{"Effect":"Allow","{key}":["{first}","{second}"],"Resource":"*"}},
                            {{"Effect":"Deny","Action":"{second}","Resource":"*"}},
                            {{"Effect":"Allow","Action":"{first}","Resource":"*"}}]}}"#
                    );
                    let policy = Policy::parse(&text).unwrap();
                    for action in actions {
                        let request = Request::new(action, "arn:aws:s3:::b", None, &context);
                        let indexed = evaluate_policy(&policy, &request, PrincipalRule::Ignore).hits;
                        let all =
                            evaluate_statements(&policy, 0..policy.statements.len(), &request, PrincipalRule::Ignore)
                                .hits;
                        let statements = |hits: &[Hit]| hits.iter().map(|hit| hit.statement).collect::<Vec<_>>();
                        assert_eq!(statements(&indexed), statements(&all), "{text} for {action}");
                    }
                }
            }
        }
    }
}
