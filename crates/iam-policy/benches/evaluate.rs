#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "a benchmark fails loudly on bad fixtures")]

//! Evaluation speed: parse once, decide many times.
//!
//! - `ecs_anywhere_role`: the seed's role (AmazonSSMManagedInstanceCore +
//!   AmazonEC2ContainerServiceforEC2Role, the real documents) deciding an allowed and a denied
//!   action. Target: median <= 1 us on one core.
//! - `worst_case`: 20 managed policies of ~6,000 characters each, a permissions boundary and a
//!   session policy, deciding an action allowed only by the last policy, and a denied one.
//!   Target: median <= 20 us. `worst_case` repeats resource patterns and conditions across
//!   statements, as real policies do; `worst_case_all_distinct` shares nothing.
//! - `policies_per_principal/N`: a principal with N managed policies of ~6,000 characters,
//!   each about services of its own (the last also allows `ecs:RunTask`), deciding
//!   `ecs:RunTask`. Target: 20 policies within 2x of 1 (the action index skips statements
//!   about other services).
//!
//! Run: `cargo bench -p iam-policy --bench evaluate`.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use iam_policy::{Caller, Context, EvalDecision, Policy, PolicyRef, PolicySet, Request, decide};

const SSM_CORE: &str = include_str!("../../../managed-policies/AmazonSSMManagedInstanceCore.json");
const ECS_FOR_EC2: &str = include_str!("../../../managed-policies/AmazonEC2ContainerServiceforEC2Role.json");

fn ecs_anywhere_role(c: &mut Criterion) {
    let ssm = Policy::parse(SSM_CORE).unwrap();
    let ecs = Policy::parse(ECS_FOR_EC2).unwrap();
    let identity = [
        PolicyRef { id: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", policy: &ssm },
        PolicyRef { id: "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role", policy: &ecs },
    ];
    let policies = PolicySet { identity: &identity, ..PolicySet::default() };
    let caller =
        Caller::from_arn("arn:aws:sts::111122223333:assumed-role/ecsAnywhereRole/mi-0123456789abcdef0").unwrap();
    let context = Context::new()
        .with("aws:PrincipalArn", "arn:aws:iam::111122223333:role/ecsAnywhereRole")
        .with("aws:SourceIp", "192.0.2.10")
        .with("aws:CurrentTime", "2026-11-28T00:00:00Z");
    let cluster = "arn:aws:ecs:us-east-1:111122223333:cluster/default";

    let allowed = Request::new("ecs:RegisterContainerInstance", cluster, Some(&caller), &context);
    assert_eq!(decide(&policies, &allowed).decision, EvalDecision::Allowed);
    let denied = Request::new("s3:GetObject", "arn:aws:s3:::bucket/key", Some(&caller), &context);
    assert_eq!(decide(&policies, &denied).decision, EvalDecision::ImplicitDeny);

    let mut group = c.benchmark_group("ecs_anywhere_role");
    group.bench_function("allowed", |b| {
        b.iter(|| {
            let request = Request::new(black_box("ecs:RegisterContainerInstance"), cluster, Some(&caller), &context);
            decide(black_box(&policies), &request)
        })
    });
    group.bench_function("denied", |b| {
        b.iter(|| {
            let request = Request::new(black_box("s3:GetObject"), "arn:aws:s3:::bucket/key", Some(&caller), &context);
            decide(black_box(&policies), &request)
        })
    });
    group.finish();
}

/// A managed policy of about 6,000 non-whitespace characters. Every statement names
/// `ecs:RunTask` on every task definition, so each one is matched as far as its conditions,
/// which then fail on the region; `allow` adds a last statement that grants `ecs:RunTask` on
/// the `web` task definitions. With `distinct`, no two statements share a resource pattern
/// or a condition, so nothing evaluated for one statement serves another.
fn big_policy(index: usize, allow: bool, distinct: bool) -> String {
    const REGIONS: [&str; 5] = ["*", "us-*", "us-east-*", "*-1", "us-?ast-1"];
    const SUFFIXES: [&str; 3] = ["", "1", ":1"];
    let mut statements = Vec::new();
    for s in 0..14 {
        let actions: Vec<String> = (0..6).map(|a| format!("\"svc{index}x{s}:Action{a}*\"")).collect();
        let (region, suffix, other_region) = if distinct {
            (REGIONS[s % 5], SUFFIXES[s / 5], format!("eu-west-{s}"))
        } else {
            ("*", "", "eu-west-1".to_owned())
        };
        statements.push(format!(
            r#"{{"Sid":"S{s}","Effect":"Allow","Action":[{},"ecs:RunTask"],"Resource":["arn:aws:ecs:{region}:111122223333:task-definition/*{suffix}","arn:aws:svc{index}:*:111122223333:other/${{aws:username}}/*"],"Condition":{{"StringEquals":{{"aws:RequestedRegion":["{other_region}","ap-south-1"]}},"IpAddress":{{"aws:SourceIp":"192.0.2.0/24"}}}}}}"#,
            actions.join(",")
        ));
    }
    if allow {
        statements.push(
            r#"{"Effect":"Allow","Action":"ecs:RunTask","Resource":"arn:aws:ecs:*:111122223333:task-definition/web:*"}"#
                .to_owned(),
        );
    }
    format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, statements.join(","))
}

fn worst_case(c: &mut Criterion) {
    for distinct in [false, true] {
        worst_case_with(c, distinct);
    }
}

fn worst_case_with(c: &mut Criterion, distinct: bool) {
    let texts: Vec<String> = (0..20).map(|i| big_policy(i, i == 19, distinct)).collect();
    let sizes: Vec<usize> = texts.iter().map(|t| iam_policy::policy_size(t)).collect();
    assert!(sizes.iter().all(|&size| (5_000..=6_144).contains(&size)), "policy sizes {sizes:?}");
    let parsed: Vec<Policy> = texts.iter().map(|t| Policy::parse(t).unwrap()).collect();
    let ids: Vec<String> = (0..20).map(|i| format!("arn:aws:iam::111122223333:policy/p{i}")).collect();
    let identity: Vec<PolicyRef<'_>> =
        ids.iter().zip(&parsed).map(|(id, policy)| PolicyRef { id: id.as_str(), policy }).collect();
    let boundary = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:*","s3:*","svc*"],"Resource":"*"},
            {"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}]}"#,
    )
    .unwrap();
    let session = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*",
            "Condition":{"StringLike":{"aws:PrincipalTag/team":"platform-*"}}}]}"#,
    )
    .unwrap();
    let boundaries = [PolicyRef { id: "boundary", policy: &boundary }];
    let sessions = [PolicyRef { id: "session", policy: &session }];
    let policies =
        PolicySet { identity: &identity, boundaries: &boundaries, session: &sessions, ..PolicySet::default() };
    let caller = Caller::from_arn("arn:aws:sts::111122223333:assumed-role/deployer/ci").unwrap();
    let context = Context::new()
        .with("aws:username", "deployer")
        .with("aws:RequestedRegion", "us-east-1")
        .with("aws:SourceIp", "198.51.100.7")
        .with("aws:MultiFactorAuthPresent", "true")
        .with("aws:PrincipalTag/team", "platform-core");
    let task = "arn:aws:ecs:us-east-1:111122223333:task-definition/web:1";

    let allowed = Request::new("ecs:RunTask", task, Some(&caller), &context);
    assert_eq!(decide(&policies, &allowed).decision, EvalDecision::Allowed);
    let other = "arn:aws:ecs:us-east-1:111122223333:task-definition/api:1";
    let denied = Request::new("ecs:RunTask", other, Some(&caller), &context);
    assert_eq!(decide(&policies, &denied).decision, EvalDecision::ImplicitDeny);

    let mut group = c.benchmark_group(if distinct { "worst_case_all_distinct" } else { "worst_case" });
    group.bench_function("allowed_by_last_policy", |b| {
        b.iter(|| decide(black_box(&policies), &Request::new(black_box("ecs:RunTask"), task, Some(&caller), &context)))
    });
    group.bench_function("denied_after_every_condition", |b| {
        b.iter(|| decide(black_box(&policies), &Request::new(black_box("ecs:RunTask"), other, Some(&caller), &context)))
    });
    group.finish();

    if !distinct {
        c.bench_function("parse/AmazonEC2ContainerServiceforEC2Role", |b| {
            b.iter(|| Policy::parse(black_box(ECS_FOR_EC2)))
        });
        c.bench_function("parse/6000-character policy", |b| b.iter(|| Policy::parse(black_box(&texts[0]))));
    }
}

/// A ~6,000-character policy about its own services only, like most of a principal's
/// policies are for any one request; `allow` adds a statement granting `ecs:RunTask`.
fn other_services_policy(index: usize, allow: bool) -> String {
    let mut statements: Vec<String> = (0..14)
        .map(|s| {
            let actions: Vec<String> = (0..7).map(|a| format!("\"svc{index}x{s}:Action{a}*\"")).collect();
            format!(
                r#"{{"Sid":"S{s}","Effect":"Allow","Action":[{}],"Resource":["arn:aws:svc{index}:*:111122223333:thing/*","arn:aws:svc{index}:*:111122223333:other/${{aws:username}}/*"],"Condition":{{"StringEquals":{{"aws:RequestedRegion":["eu-west-1","ap-south-1"]}},"IpAddress":{{"aws:SourceIp":"192.0.2.0/24"}}}}}}"#,
                actions.join(",")
            )
        })
        .collect();
    if allow {
        statements.push(
            r#"{"Effect":"Allow","Action":"ecs:RunTask","Resource":"arn:aws:ecs:*:111122223333:task-definition/web:*"}"#
                .to_owned(),
        );
    }
    format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, statements.join(","))
}

fn policies_per_principal(c: &mut Criterion) {
    let caller = Caller::from_arn("arn:aws:sts::111122223333:assumed-role/deployer/ci").unwrap();
    let context = Context::new().with("aws:RequestedRegion", "us-east-1").with("aws:SourceIp", "198.51.100.7");
    let task = "arn:aws:ecs:us-east-1:111122223333:task-definition/web:1";
    let mut group = c.benchmark_group("policies_per_principal");
    for count in [1, 5, 10, 20] {
        let texts: Vec<String> = (0..count).map(|i| other_services_policy(i, i + 1 == count)).collect();
        assert!(texts.iter().all(|text| (5_000..=6_144).contains(&iam_policy::policy_size(text))));
        let parsed: Vec<Policy> = texts.iter().map(|text| Policy::parse(text).unwrap()).collect();
        let identity: Vec<PolicyRef<'_>> = parsed.iter().map(|policy| PolicyRef { id: "p", policy }).collect();
        let policies = PolicySet { identity: &identity, ..PolicySet::default() };
        let request = Request::new("ecs:RunTask", task, Some(&caller), &context);
        assert_eq!(decide(&policies, &request).decision, EvalDecision::Allowed);
        group.bench_function(count.to_string(), |b| {
            b.iter(|| {
                decide(black_box(&policies), &Request::new(black_box("ecs:RunTask"), task, Some(&caller), &context))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ecs_anywhere_role, worst_case, policies_per_principal);
criterion_main!(benches);
