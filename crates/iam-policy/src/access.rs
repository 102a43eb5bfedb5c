//! Custom policy checks, as IAM Access Analyzer's `CheckNoNewAccess` and
//! `CheckAccessNotGranted` ask them, decided by comparing patterns with patterns.
//!
//! Both answers are sound, never complete: a statement is reported whenever access cannot be
//! ruled out, so a check passes only when it is proven. What the checks know:
//! - Patterns. [`covers`] holds only when every name one pattern matches the other matches too
//!   (a symbolic match: the general pattern's wildcards absorb the specific one's, an ARN star
//!   that stays within its segment never absorbing a colon or a star that crosses one);
//!   [`overlaps`] holds whenever some name could match both (an exact product of the two
//!   patterns). Actions compare case-insensitively, resources case-sensitively. A resource with
//!   a policy variable matches anything, except that it covers only its own spelling (the same
//!   variable resolves alike for the same caller). Patterns too long to compare within the
//!   bound count as neither covered nor disjoint.
//! - `CheckAccessNotGranted`: an `Allow` statement is reported when its actions may overlap one
//!   of the listed actions and its resources one of the listed resources (either list may be
//!   empty: any). Conditions and `Deny` statements are not taken into account (they can only
//!   narrow access), so a conditional grant is reported.
//! - `CheckNoNewAccess`: a new `Allow` statement is covered when, for each of its action and
//!   resource entries, one existing `Allow` statement covers that pair, its principals (when
//!   the policies name any) and its conditions: an existing statement without conditions
//!   covers any conditions; one with conditions covers a statement that has each of them with
//!   the same operator and key and values that make it at most as true (fewer for a positive
//!   operator, more for a negated one). Every existing `Deny` statement must still be covered
//!   by a new one, in the same sense turned round; when one is not, every new `Allow` statement
//!   whose actions may overlap it is reported. `NotAction`, `NotResource` and `NotPrincipal`
//!   compare as the complements they are.

use crate::condition::Condition;
use crate::document::{Clause, Effect, Policy, ResourceMatcher, Statement};
use crate::pattern::{Case, Segments, Token, pattern_tokens};
use crate::principal::PrincipalSet;

/// A statement a check reports: its index in the document and its `Sid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub statement_index: usize,
    pub statement_id: Option<String>,
}

/// Comparisons beyond this many pattern-position pairs are not made (the answer is the
/// conservative one): policies are capped in size, but an attacker's pattern need not be.
const MAX_STATES: usize = 1 << 20;

/// One position of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sym {
    Char(char),
    One,
    /// `*`; `colons` when it may match across a colon.
    Star {
        colons: bool,
    },
}

/// A pattern ready to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Glob {
    text: String,
    syms: Vec<Sym>,
    /// A resource with a policy variable: its value is known only per request.
    variable: bool,
}

impl Glob {
    fn action(text: &str) -> Glob {
        Glob {
            text: text.to_ascii_lowercase(),
            syms: syms(pattern_tokens(text, Case::Insensitive, None)),
            variable: false,
        }
    }

    fn resource(text: &str, variable: bool) -> Glob {
        let syms = if variable {
            vec![Sym::Star { colons: true }]
        } else {
            syms(pattern_tokens(text, Case::Sensitive, Some(Segments::StarAtEndSpans)))
        };
        Glob { text: text.to_owned(), syms, variable }
    }

    fn is_any(&self) -> bool {
        self.syms == [Sym::Star { colons: true }] && !self.variable
    }
}

fn syms(tokens: Vec<Token>) -> Vec<Sym> {
    let mut out = Vec::new();
    for token in tokens {
        match token {
            Token::Literal(text) => out.extend(text.chars().map(Sym::Char)),
            Token::One => out.push(Sym::One),
            Token::Star { within_segment } => out.push(Sym::Star { colons: !within_segment }),
        }
    }
    out
}

/// Whether every name `specific` matches, `general` matches too (false when unsure).
fn covers(general: &Glob, specific: &Glob) -> bool {
    if general.text == specific.text || general.is_any() {
        return true;
    }
    if general.variable {
        return false;
    }
    let (g, s) = (&general.syms, &specific.syms);
    let width = s.len() + 1;
    if (g.len() + 1).saturating_mul(width) > MAX_STATES {
        return false;
    }
    // reach[i * width + j]: general's first i symbols can absorb specific's first j.
    let mut reach = vec![false; (g.len() + 1) * width];
    let set = |reach: &mut Vec<bool>, i: usize, j: usize| {
        if let Some(cell) = reach.get_mut(i * width + j) {
            *cell = true;
        }
    };
    set(&mut reach, 0, 0);
    for i in 0..=g.len() {
        for j in 0..=s.len() {
            if !reach.get(i * width + j).copied().unwrap_or(false) {
                continue;
            }
            match (g.get(i), s.get(j)) {
                (Some(Sym::Star { colons }), next) => {
                    set(&mut reach, i + 1, j);
                    let absorbs = match next {
                        Some(Sym::Char(c)) => *colons || *c != ':',
                        Some(Sym::One) => *colons,
                        Some(Sym::Star { colons: crosses }) => *colons || !crosses,
                        None => false,
                    };
                    if absorbs {
                        set(&mut reach, i, j + 1);
                    }
                }
                (Some(Sym::One), Some(Sym::Char(_) | Sym::One)) => set(&mut reach, i + 1, j + 1),
                (Some(Sym::Char(a)), Some(Sym::Char(b))) if a == b => set(&mut reach, i + 1, j + 1),
                _ => {}
            }
        }
    }
    reach.last().copied().unwrap_or(false)
}

/// Whether some name could match both patterns (true when unsure).
fn overlaps(a: &Glob, b: &Glob) -> bool {
    let (x, y) = (&a.syms, &b.syms);
    let width = y.len() + 1;
    if (x.len() + 1).saturating_mul(width) > MAX_STATES {
        return true;
    }
    let mut reach = vec![false; (x.len() + 1) * width];
    if let Some(first) = reach.first_mut() {
        *first = true;
    }
    // What one character consumes of a pattern at a symbol: the character it must be (`None`
    // for any), whether a colon is allowed, and the next position.
    let step = |sym: Option<&Sym>, at: usize| match sym {
        Some(Sym::Char(c)) => Some((Some(*c), true, at + 1)),
        Some(Sym::One) => Some((None, true, at + 1)),
        Some(Sym::Star { colons }) => Some((None, *colons, at)),
        None => None,
    };
    // States only move forward, except a star consuming in place: iterate to a fixed point.
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..=x.len() {
            for j in 0..=y.len() {
                if !reach.get(i * width + j).copied().unwrap_or(false) {
                    continue;
                }
                let mut next = Vec::with_capacity(3);
                if let Some(Sym::Star { .. }) = x.get(i) {
                    next.push((i + 1, j));
                }
                if let Some(Sym::Star { .. }) = y.get(j) {
                    next.push((i, j + 1));
                }
                if let (Some((ca, colon_a, ni)), Some((cb, colon_b, nj))) = (step(x.get(i), i), step(y.get(j), j)) {
                    let common = match (ca, cb) {
                        (Some(a), Some(b)) => a == b,
                        (Some(c), None) => c != ':' || colon_b,
                        (None, Some(c)) => c != ':' || colon_a,
                        (None, None) => true,
                    };
                    if common && (ni, nj) != (i, j) {
                        next.push((ni, nj));
                    }
                }
                for (ni, nj) in next {
                    if let Some(cell) = reach.get_mut(ni * width + nj) {
                        if !*cell {
                            *cell = true;
                            changed = true;
                        }
                    }
                }
            }
        }
    }
    reach.last().copied().unwrap_or(false)
}

/// An `Action` or `Resource` clause as a set of names.
#[derive(Debug, Clone)]
enum Names {
    Only(Vec<Glob>),
    AllBut(Vec<Glob>),
}

impl Names {
    fn actions(clause: Option<&Clause<crate::document::ActionPattern>>) -> Names {
        match clause {
            None => Names::Only(Vec::new()),
            Some(clause) => {
                let globs = clause.items.iter().map(|pattern| Glob::action(&pattern.text)).collect();
                if clause.negated { Names::AllBut(globs) } else { Names::Only(globs) }
            }
        }
    }

    /// A missing `Resource` is the resource the policy is attached to: a name of its own,
    /// covered only by `*`, and overlapping anything.
    fn resources(clause: Option<&Clause<crate::document::ResourcePattern>>) -> Names {
        match clause {
            None => Names::Only(vec![Glob { text: String::new(), syms: Vec::new(), variable: true }]),
            Some(clause) => {
                let globs = clause
                    .items
                    .iter()
                    .map(|pattern| {
                        Glob::resource(&pattern.text, matches!(pattern.matcher, ResourceMatcher::Template(_)))
                    })
                    .collect();
                if clause.negated { Names::AllBut(globs) } else { Names::Only(globs) }
            }
        }
    }

    /// Whether every name of `specific` is one of these.
    fn covers(&self, specific: &Names) -> bool {
        match (self, specific) {
            (Names::Only(general), Names::Only(specific)) => {
                specific.iter().all(|s| general.iter().any(|g| covers(g, s)))
            }
            (Names::AllBut(general), Names::AllBut(specific)) => {
                general.iter().all(|g| specific.iter().any(|s| covers(s, g)))
            }
            (Names::Only(general), Names::AllBut(_)) => general.iter().any(Glob::is_any),
            (Names::AllBut(general), Names::Only(specific)) => {
                specific.iter().all(|s| general.iter().all(|g| !overlaps(g, s)))
            }
        }
    }

    /// Whether one of these may be one of `listed` (every name when `listed` is empty).
    fn may_include(&self, listed: &[Glob]) -> bool {
        match self {
            Names::Only(own) if listed.is_empty() => !own.is_empty(),
            Names::Only(own) => own.iter().any(|o| listed.iter().any(|l| overlaps(o, l))),
            Names::AllBut(_) if listed.is_empty() => true,
            Names::AllBut(excluded) => listed.iter().any(|l| !excluded.iter().any(|e| covers(e, l))),
        }
    }

    /// Each entry as a set of its own (`AllBut` stays whole).
    fn entries(&self) -> Vec<Names> {
        match self {
            Names::Only(globs) => globs.iter().map(|glob| Names::Only(vec![glob.clone()])).collect(),
            all_but => vec![all_but.clone()],
        }
    }
}

/// Whether `general`'s principal element names everyone `specific`'s does.
fn principals_cover(general: Option<&Clause<PrincipalSet>>, specific: Option<&Clause<PrincipalSet>>) -> bool {
    let everyone = |clause: &Clause<PrincipalSet>| !clause.negated && clause.items.iter().any(|set| set.everyone);
    match (general, specific) {
        (None, None) => true,
        (Some(general), _) if everyone(general) => true,
        (Some(general), Some(specific)) if !general.negated && !specific.negated && !everyone(specific) => {
            let names = |clause: &Clause<PrincipalSet>| -> Vec<(&'static str, String)> {
                let mut names = Vec::new();
                for set in &clause.items {
                    names.extend(set.aws.iter().map(|value| ("AWS", aws_principal(value))));
                    names.extend(set.service.iter().map(|value| ("Service", value.clone())));
                    names.extend(set.federated.iter().map(|value| ("Federated", value.clone())));
                    names.extend(set.canonical_user.iter().map(|value| ("CanonicalUser", value.clone())));
                }
                names
            };
            let named = names(general);
            names(specific).iter().all(|name| named.contains(name))
        }
        (Some(general), Some(specific)) if general.negated && specific.negated => {
            // Everyone but a list covers everyone but a longer list.
            let excluded: Vec<&String> = specific.items.iter().flat_map(|set| &set.aws).collect();
            general.items.iter().flat_map(|set| &set.aws).all(|value| excluded.contains(&value))
                && general.items.iter().all(|set| set.service.is_empty() && set.federated.is_empty())
        }
        _ => false,
    }
}

/// An account id and its root ARN name the same principal.
fn aws_principal(value: &str) -> String {
    if crate::arn::is_account_id(value) { format!("arn:aws:iam::{value}:root") } else { value.to_owned() }
}

/// Whether, whenever `specific`'s conditions hold, `general`'s hold too.
fn conditions_cover(general: &[Condition], specific: &[Condition]) -> bool {
    general.iter().all(|g| {
        specific.iter().any(|s| {
            let same = g.operator == s.operator && g.key.eq_ignore_ascii_case(&s.key);
            let texts =
                |condition: &Condition| condition.values.iter().map(|value| value.text.clone()).collect::<Vec<_>>();
            let (g_values, s_values) = (texts(g), texts(s));
            let narrower = if g.operator.negated {
                g_values.iter().all(|value| s_values.contains(value))
            } else {
                s_values.iter().all(|value| g_values.contains(value))
            };
            same && narrower
        })
    })
}

/// Whether `general` applies to every request `specific` applies to (both of one effect).
fn statement_covers(general: &Statement, specific: &Statement) -> bool {
    general.effect == specific.effect
        && Names::actions(general.action.as_ref()).covers(&Names::actions(specific.action.as_ref()))
        && Names::resources(general.resource.as_ref()).covers(&Names::resources(specific.resource.as_ref()))
        && principals_cover(general.principal.as_ref(), specific.principal.as_ref())
        && conditions_cover(&general.conditions, &specific.conditions)
}

/// Whether some statement of `existing` grants each action and resource entry of `new` (an
/// `Allow` statement) to its principals under its conditions.
fn allow_is_covered(new: &Statement, existing: &[&Statement]) -> bool {
    let actions = Names::actions(new.action.as_ref());
    let resources = Names::resources(new.resource.as_ref());
    actions.entries().iter().all(|action| {
        resources.entries().iter().all(|resource| {
            existing.iter().any(|old| {
                Names::actions(old.action.as_ref()).covers(action)
                    && Names::resources(old.resource.as_ref()).covers(resource)
                    && principals_cover(old.principal.as_ref(), new.principal.as_ref())
                    && conditions_cover(&old.conditions, &new.conditions)
            })
        })
    })
}

fn reason(index: usize, statement: &Statement) -> Reason {
    Reason { statement_index: index, statement_id: statement.sid.clone().filter(|sid| !sid.is_empty()) }
}

/// `CheckNoNewAccess`: the statements of `new` that may grant access `existing` does not (none:
/// the check passes).
pub fn new_access(new: &Policy, existing: &Policy) -> Vec<Reason> {
    fn effect(policy: &Policy, effect: Effect) -> Vec<(usize, &Statement)> {
        policy.statements.iter().enumerate().filter(|(_, statement)| statement.effect == effect).collect()
    }
    let old_allows: Vec<&Statement> =
        effect(existing, Effect::Allow).into_iter().map(|(_, statement)| statement).collect();
    let new_denies: Vec<&Statement> = effect(new, Effect::Deny).into_iter().map(|(_, statement)| statement).collect();
    let dropped: Vec<&Statement> = effect(existing, Effect::Deny)
        .into_iter()
        .map(|(_, statement)| statement)
        .filter(|old| !new_denies.iter().any(|kept| statement_covers(kept, old)))
        .collect();
    effect(new, Effect::Allow)
        .into_iter()
        .filter(|(_, statement)| {
            let unlocked = dropped.iter().any(|deny| {
                Names::actions(statement.action.as_ref()).may_overlap(&Names::actions(deny.action.as_ref()))
            });
            unlocked || !allow_is_covered(statement, &old_allows)
        })
        .map(|(index, statement)| reason(index, statement))
        .collect()
}

impl Names {
    /// Whether the two sets may share a name.
    fn may_overlap(&self, other: &Names) -> bool {
        match (self, other) {
            (Names::Only(own), Names::Only(theirs)) => own.iter().any(|o| theirs.iter().any(|t| overlaps(o, t))),
            (Names::AllBut(_), Names::AllBut(_)) => true,
            (Names::Only(own), all_but @ Names::AllBut(_)) | (all_but @ Names::AllBut(_), Names::Only(own)) => {
                all_but.may_include(own) && !own.is_empty()
            }
        }
    }
}

/// `CheckAccessNotGranted`: the `Allow` statements of `policy` that may grant one of `actions`
/// on one of `resources` (an empty list: any). The caller checks the lists are not both empty.
pub fn granted(policy: &Policy, actions: &[String], resources: &[String]) -> Vec<Reason> {
    let actions: Vec<Glob> = actions.iter().map(|action| Glob::action(action)).collect();
    let resources: Vec<Glob> = resources.iter().map(|resource| Glob::resource(resource, false)).collect();
    policy
        .statements
        .iter()
        .enumerate()
        .filter(|(_, statement)| statement.effect == Effect::Allow)
        .filter(|(_, statement)| {
            Names::actions(statement.action.as_ref()).may_include(&actions)
                && Names::resources(statement.resource.as_ref()).may_include(&resources)
        })
        .map(|(index, statement)| reason(index, statement))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn(text: &str) -> Glob {
        Glob::resource(text, false)
    }

    #[test]
    fn covering_is_containment_of_what_patterns_match() {
        let cases = [
            ("s3:*", "s3:GetObject", true),
            ("s3:Get*", "s3:GetObject*", true),
            ("s3:Get*", "s3:*", false),
            ("S3:GETOBJECT", "s3:getobject", true),
            ("s3:?etObject", "s3:GetObject", true),
            ("s3:GetObject", "s3:?etObject", false),
            ("*", "iam:PassRole", true),
            ("s3:*Object", "s3:Get*Object", true),
            ("s3:*Object", "s3:Get*", false),
        ];
        for (general, specific, expected) in cases {
            assert_eq!(covers(&Glob::action(general), &Glob::action(specific)), expected, "{general} ⊇ {specific}");
        }
        let arns = [
            ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b", true),
            ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", false),
            ("arn:aws:iam::*:role/app", "arn:aws:iam::111122223333:role/app", true),
            // A star inside a segment never absorbs a colon, nor a star that may cross one.
            ("arn:aws:iam::1*2:role/app", "arn:aws:iam::1:2:role/app", false),
            ("arn:aws:s3:::b*x", "arn:aws:s3:::b*", false),
            ("arn:aws:s3:::*", "arn:aws:s3:::b*", true),
            ("arn:aws:s3:::Bucket", "arn:aws:s3:::bucket", false),
        ];
        for (general, specific, expected) in arns {
            assert_eq!(covers(&arn(general), &arn(specific)), expected, "{general} ⊇ {specific}");
        }
    }

    #[test]
    fn overlapping_is_a_shared_name() {
        let cases = [
            ("s3:Get*", "s3:*Object", true),
            ("s3:Get*", "s3:Put*", false),
            ("s3:GetObject", "S3:GETOBJECT", true),
            ("s3:?", "s3:ab", false),
            ("*", "x:y", true),
            ("s3:*a", "s3:b*", true),
        ];
        for (a, b, expected) in cases {
            assert_eq!(overlaps(&Glob::action(a), &Glob::action(b)), expected, "{a} ∩ {b}");
        }
        assert!(!overlaps(&arn("arn:aws:s3:::a/*"), &arn("arn:aws:s3:::b/*")));
        assert!(
            !overlaps(&arn("arn:aws:iam::1*1:role/x"), &arn("arn:aws:iam::1:1:role/x")),
            "a segment star takes no colon"
        );
        assert!(overlaps(&arn("arn:aws:iam::*:role/x"), &arn("arn:aws:iam::111122223333:role/*")));
    }

    #[test]
    fn comparisons_are_bounded() {
        let long = format!("s3:{}", "*a".repeat(1_000));
        assert!(!covers(&Glob::action(&long), &Glob::action(&format!("s3:{}", "a*".repeat(1_000)))));
        assert!(
            overlaps(&Glob::action(&long), &Glob::action(&format!("s3:{}", "b*".repeat(1_000)))),
            "unsure is overlapping"
        );
    }

    fn policy(statements: &str) -> Policy {
        Policy::parse(&format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)).unwrap()
    }

    fn indexes(reasons: Vec<Reason>) -> Vec<usize> {
        reasons.into_iter().map(|reason| reason.statement_index).collect()
    }

    #[test]
    fn new_access_is_what_no_existing_statement_grants() {
        let existing = policy(
            r#"{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]},
               {"Effect":"Allow","Action":"ec2:Describe*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}},
               {"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::b/secret/*"}"#,
        );
        let deny = r#"{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::b/secret/*"}"#;
        let cases = [
            (r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/x"}"#, vec![]),
            (r#"{"Effect":"Allow","Action":"s3:GetObjectAcl","Resource":"arn:aws:s3:::b/x"}"#, vec![0]),
            (
                r#"{"Effect":"Allow","Action":["s3:GetObject","ec2:DescribeVpcs"],"Resource":["arn:aws:s3:::b"]}"#,
                vec![0],
            ),
            (r#"{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::b"]}"#, vec![]),
            (
                r#"{"Effect":"Allow","Action":"ec2:DescribeInstances","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"ap-south-1"}}}"#,
                vec![0],
            ),
            (r#"{"Effect":"Allow","Action":"ec2:DescribeInstances","Resource":"*"}"#, vec![0]),
            (r#"{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}"#, vec![0]),
        ];
        for (statement, expected) in cases {
            let new = policy(&format!("{statement},{deny}"));
            assert_eq!(indexes(new_access(&new, &existing)), expected, "{statement}");
        }
        // The first case's statement is no longer new without it but the Deny dropped: it may
        // now reach the secret objects.
        let new = policy(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/x"}"#);
        assert_eq!(indexes(new_access(&new, &existing)), vec![0]);
        let narrower = policy(&format!(
            "{},{deny}",
            r#"{"Effect":"Allow","Action":"ec2:DescribeInstances","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}"#
        ));
        assert!(new_access(&narrower, &existing).is_empty(), "fewer values of a positive condition narrow it");
    }

    #[test]
    fn granted_access_is_any_allow_that_may_reach_the_listed() {
        let document = policy(
            r#"{"Sid":"read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"arn:aws:s3:::b/*"},
               {"Effect":"Allow","NotAction":"iam:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}},
               {"Effect":"Deny","Action":"*","Resource":"*"}"#,
        );
        let owned = |items: &[&str]| items.iter().map(|item| (*item).to_owned()).collect::<Vec<_>>();
        let cases: [(&[&str], &[&str], Vec<usize>); 6] = [
            (&["s3:DeleteBucket"], &[], vec![1]),
            (&["iam:PassRole"], &[], vec![]),
            (&["s3:GetObject"], &["arn:aws:s3:::other/*"], vec![1]),
            (&["s3:get*"], &["arn:aws:s3:::b/key"], vec![0, 1]),
            (&[], &["arn:aws:s3:::b/key"], vec![0, 1]),
            (&["iam:CreateUser", "iam:DeleteUser"], &["arn:aws:iam::111122223333:user/x"], vec![]),
        ];
        for (actions, resources, expected) in cases {
            assert_eq!(
                indexes(granted(&document, &owned(actions), &owned(resources))),
                expected,
                "{actions:?} {resources:?}"
            );
        }
        assert_eq!(granted(&document, &owned(&["s3:GetObject"]), &[])[0].statement_id.as_deref(), Some("read"));
    }
}
