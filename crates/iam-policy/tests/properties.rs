//! Property tests: the engine never panics, its matchers agree with naive references, and
//! decisions obey the algebra IAM documents (order-independence, union of identity policies,
//! explicit deny wins, an allow-everything boundary changes nothing).

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "a test fails loudly on any surprise")]

use iam_policy::pattern::{Case, Pattern, Segments};
use iam_policy::{Caller, Context, EvalDecision, Policy, PolicyKind, PolicyRef, PolicySet, Request, decide, validate};
use proptest::prelude::*;
use serde_json::{Value, json};

const SEEDS: &[&str] = &[
    include_str!("../../../managed-policies/AmazonSSMManagedInstanceCore.json"),
    include_str!("../../../managed-policies/AmazonEC2ContainerServiceforEC2Role.json"),
    include_str!("../../../managed-policies/AmazonECS_FullAccess.json"),
    include_str!("../../../managed-policies/PowerUserAccess.json"),
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":["ssm.amazonaws.com"]},"Action":"sts:AssumeRole"}}"#,
];

fn evaluate_anything(policy: &Policy) {
    let caller = Caller::from_arn("arn:aws:iam::111122223333:user/alice").unwrap();
    let context = Context::new().with("aws:username", "alice").with_values("aws:TagKeys", ["a", "b"]);
    let refs = [PolicyRef { id: "p", policy }];
    for (identity, resource) in [(&refs[..], None), (&[][..], Some(refs[0]))] {
        let set = PolicySet { identity, resource, ..PolicySet::default() };
        for action in ["s3:GetObject", "ecs:RegisterContainerInstance", "sts:AssumeRole"] {
            let _ = decide(
                &set,
                &Request::new(action, "arn:aws:s3:::b/k", Some(&caller), &context).tracking_missing_keys(),
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        if let Ok(policy) = Policy::parse(&text) {
            evaluate_anything(&policy);
        }
        for kind in [PolicyKind::Identity, PolicyKind::Trust, PolicyKind::Resource, PolicyKind::RepositoryPolicy] {
            let _ = validate(&text, kind);
        }
    }

    #[test]
    fn mutated_real_policies_never_panic(
        seed in 0..SEEDS.len(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, prop::sample::select(vec![
            '{', '}', '[', ']', '"', ':', ',', '*', '?', '$', '\\', ' ', 'a', '0', '-', 'é', '\u{1F600}',
        ])), 1..8),
    ) {
        let mut chars: Vec<char> = SEEDS[seed].chars().collect();
        for (at, op, ch) in edits {
            let index = at.index(chars.len().max(1));
            match op {
                0 => chars.insert(index.min(chars.len()), ch),
                1 if !chars.is_empty() => { chars.remove(index.min(chars.len() - 1)); }
                _ if !chars.is_empty() => { let last = chars.len() - 1; chars[index.min(last)] = ch; }
                _ => {}
            }
        }
        let text: String = chars.into_iter().collect();
        if let Ok(policy) = Policy::parse(&text) {
            evaluate_anything(&policy);
        }
        let _ = validate(&text, PolicyKind::Identity);
    }

    #[test]
    fn plain_globs_agree_with_a_naive_matcher(pattern in "[ab:*?]{0,10}", text in "[ab:]{0,12}") {
        prop_assert_eq!(Pattern::glob(&pattern, Case::Sensitive).matches(&text), naive(&pattern, &text, None));
    }

    #[test]
    fn arn_globs_agree_with_a_naive_matcher(pattern in "[ab:*?]{0,12}", text in "[ab:]{0,14}") {
        prop_assert_eq!(
            Pattern::arn(&pattern, Segments::StarAtEndSpans).matches(&text),
            naive(&pattern, &text, Some(Segments::StarAtEndSpans))
        );
        prop_assert_eq!(Pattern::arn(&pattern, Segments::Strict).matches(&text), naive(&pattern, &text, Some(Segments::Strict)));
    }

    #[test]
    fn decisions_follow_the_documented_algebra(policy in policy_strategy(), request in request_strategy()) {
        let (action, resource, context) = request;
        let caller = Caller::from_arn("arn:aws:iam::111122223333:user/alice").unwrap();
        let decide_with = |policies: &[Value], boundary: Option<&Value>| {
            let texts: Vec<String> = policies.iter().map(Value::to_string).collect();
            let parsed: Vec<Policy> = texts.iter().map(|t| Policy::parse(t).unwrap()).collect();
            let refs: Vec<PolicyRef<'_>> = parsed.iter().map(|policy| PolicyRef { id: "p", policy }).collect();
            let boundary_text = boundary.map(Value::to_string);
            let boundary_policy = boundary_text.as_deref().map(|t| Policy::parse(t).unwrap());
            let boundary_refs: Vec<PolicyRef<'_>> =
                boundary_policy.iter().map(|policy| PolicyRef { id: "b", policy }).collect();
            let set = PolicySet { identity: &refs, boundaries: &boundary_refs, ..PolicySet::default() };
            decide(&set, &Request::new(&action, &resource, Some(&caller), &context))
        };
        let baseline = decide_with(std::slice::from_ref(&policy), None);

        // Matched statements agree with the decision.
        match baseline.decision {
            EvalDecision::Allowed => prop_assert!(!baseline.matched.is_empty()),
            EvalDecision::ExplicitDeny => prop_assert!(baseline.matched.iter().all(|m| m.effect == iam_policy::Effect::Deny)),
            EvalDecision::ImplicitDeny => prop_assert!(baseline.matched.is_empty()),
        }

        // Statement order does not matter.
        let mut reversed = policy.clone();
        reversed["Statement"].as_array_mut().unwrap().reverse();
        prop_assert_eq!(decide_with(&[reversed], None).decision, baseline.decision);

        // Splitting statements into separate identity policies does not matter.
        let split: Vec<Value> = policy["Statement"].as_array().unwrap().iter()
            .map(|statement| json!({"Version": policy["Version"], "Statement": [statement]}))
            .collect();
        prop_assert_eq!(decide_with(&split, None).decision, baseline.decision);

        // A boundary that allows everything changes nothing.
        let allow_all = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        prop_assert_eq!(decide_with(std::slice::from_ref(&policy), Some(&allow_all)).decision, baseline.decision);

        // A boundary that allows nothing leaves nothing allowed.
        let allow_none = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "none:None", "Resource": "*"}]});
        prop_assert_ne!(decide_with(std::slice::from_ref(&policy), Some(&allow_none)).decision, EvalDecision::Allowed);

        // An explicit deny of everything wins over anything.
        let deny_all = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]});
        prop_assert_eq!(decide_with(&[policy.clone(), deny_all], None).decision, EvalDecision::ExplicitDeny);

        // Pretty-printing the document changes nothing.
        let pretty = serde_json::to_string_pretty(&policy).unwrap();
        let pretty_policy = Policy::parse(&pretty).unwrap();
        let refs = [PolicyRef { id: "p", policy: &pretty_policy }];
        let set = PolicySet { identity: &refs, ..PolicySet::default() };
        prop_assert_eq!(decide(&set, &Request::new(&action, &resource, Some(&caller), &context)).decision, baseline.decision);
    }
}

/// A reference matcher: plain recursion over characters, exponential but obviously right.
fn naive(pattern: &str, text: &str, segments: Option<Segments>) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    // Which stars may not cross a colon, by the documented ARN rules.
    let confined: Vec<bool> = (0..pattern.len())
        .map(|i| {
            let Some(segments) = segments else { return false };
            let colons_before = pattern[..i].iter().filter(|&&c| c == ':').count();
            let ends_segment =
                matches!(pattern.get(i + 1..).and_then(|rest| rest.iter().find(|&&c| c != '*')), None | Some(':'));
            colons_before < 5 && !(segments == Segments::StarAtEndSpans && ends_segment)
        })
        .collect();
    fn go(p: &[char], t: &[char], confined: &[bool]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len())
                .take_while(|&n| !(confined[0] && n > 0 && t[n - 1] == ':'))
                .any(|n| go(&p[1..], &t[n..], &confined[1..])),
            Some('?') => !t.is_empty() && go(&p[1..], &t[1..], &confined[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..], &confined[1..]),
        }
    }
    go(&pattern, &text, &confined)
}

fn policy_strategy() -> impl Strategy<Value = Value> {
    let action =
        prop::sample::select(vec!["s3:GetObject", "s3:*", "S3:get*", "iam:?etUser", "*", "ec2:StartInstances"]);
    let resource = prop::sample::select(vec![
        "*",
        "arn:aws:s3:::bucket/*",
        "arn:aws:s3:::bucket/${aws:username}/*",
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:ec2:*:111122223333:instance/*",
    ]);
    let condition = prop::option::of((
        prop::sample::select(vec![
            "StringEquals",
            "StringNotEquals",
            "StringLike",
            "ForAnyValue:StringEquals",
            "ForAllValues:StringLike",
            "StringEqualsIfExists",
            "Null",
            "NumericLessThan",
            "Bool",
            "IpAddress",
            "NotIpAddress",
            "DateGreaterThan",
        ]),
        prop::sample::select(vec![
            "aws:username",
            "aws:TagKeys",
            "aws:SourceIp",
            "aws:MultiFactorAuthPresent",
            "aws:EpochTime",
        ]),
        prop::collection::vec(
            prop::sample::select(vec!["alice", "a*", "a", "true", "10", "192.0.2.0/24", "2020-01-01"]),
            1..3,
        ),
    ));
    let statement = (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(action, 1..3),
        prop::collection::vec(resource, 1..3),
        condition,
    )
        .prop_map(|(allow, not_action, not_resource, actions, resources, condition)| {
            let mut statement = json!({"Effect": if allow { "Allow" } else { "Deny" }});
            statement[if not_action { "NotAction" } else { "Action" }] = json!(actions);
            statement[if not_resource { "NotResource" } else { "Resource" }] = json!(resources);
            if let Some((operator, key, values)) = condition {
                statement["Condition"] = json!({operator: {key: values}});
            }
            statement
        });
    (prop::bool::ANY, prop::collection::vec(statement, 1..5)).prop_map(|(modern, statements)| {
        json!({"Version": if modern { "2012-10-17" } else { "2008-10-17" }, "Statement": statements})
    })
}

fn request_strategy() -> impl Strategy<Value = (String, String, Context)> {
    (
        prop::sample::select(vec!["s3:GetObject", "s3:PutObject", "iam:GetUser", "ec2:StartInstances"]),
        prop::sample::select(vec![
            "arn:aws:s3:::bucket/alice/notes",
            "arn:aws:s3:::bucket/key",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
        ]),
        prop::option::of(prop::sample::select(vec!["alice", "bob"])),
        prop::option::of(prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 0..3)),
        prop::option::of(prop::sample::select(vec!["192.0.2.1", "198.51.100.1"])),
        prop::option::of(prop::sample::select(vec!["true", "false"])),
    )
        .prop_map(|(action, resource, username, tags, ip, mfa)| {
            let mut context = Context::new().with("aws:EpochTime", "1700000000");
            if let Some(username) = username {
                context = context.with("aws:username", username);
            }
            if let Some(tags) = tags {
                context = context.with_values("aws:TagKeys", tags);
            }
            if let Some(ip) = ip {
                context = context.with("aws:SourceIp", ip);
            }
            if let Some(mfa) = mfa {
                context = context.with("aws:MultiFactorAuthPresent", mfa);
            }
            (action.to_owned(), resource.to_owned(), context)
        })
}
