//! Which services and actions permissions policies allow, as access advisor reads them: only
//! the `Action` / `NotAction` of each statement, ignoring resources and conditions, as AWS's
//! "permissions policy logic" does for the report. Pure: policies and the tracked actions in,
//! namespaces and action names out.
//!
//! Rules (each has a case in the tests):
//! - An Allow statement allows a service when an entry of its `Action` reaches some action of
//!   it: `*` or `SERVICE:*` every action, a named action (`ecs:RunTask`, served or not) that
//!   one, and a wildcard (`ecs:Describe*`) the tracked actions it matches; for a service
//!   Homeport does not serve, whose actions it does not know, any wildcard is taken to reach
//!   some. `NotAction` allows every service it does not exclude whole (`s3:*`).
//! - A Deny with no condition on every resource (`Resource: "*"`) that reaches every action of
//!   a service takes the service away (and an action it matches, at the action level); any
//!   other Deny depends on what the report ignores, and takes nothing away.
//! - The services considered are those Homeport serves ([`Tracked`]) and those a policy
//!   names literally (`s3:GetObject` names `s3`); at the action level, the tracked actions.

use std::collections::{BTreeMap, BTreeSet};

use iam_policy::document::ActionPattern;
use iam_policy::pattern::{Case, Pattern};
use iam_policy::{Effect, Policy, Statement};

/// Actions operations check while they run, beyond the one each is authorized as (the audit
/// records their decisions too): tracked like the operations' own.
const CHECKED_WHILE_RUNNING: &[&str] = &["iam:PassRole"];

/// AWS's names of the services Homeport can name, as access advisor shows them (by
/// namespace); another namespace is shown by itself.
const SERVICE_NAMES: &[(&str, &str)] = &[
    ("access-analyzer", "AWS IAM Access Analyzer"),
    ("cloudtrail", "AWS CloudTrail"),
    ("ec2", "Amazon EC2"),
    ("ecr", "Amazon Elastic Container Registry"),
    ("ecs", "Amazon Elastic Container Service"),
    ("iam", "AWS Identity and Access Management"),
    ("logs", "Amazon CloudWatch Logs"),
    ("s3", "Amazon Simple Storage Service"),
    ("secretsmanager", "AWS Secrets Manager"),
    ("ssm", "AWS Systems Manager"),
    ("sts", "AWS Security Token Service"),
];

/// The display name of a service namespace.
pub(crate) fn service_name(namespace: &str) -> String {
    SERVICE_NAMES
        .iter()
        .find(|(known, _)| *known == namespace)
        .map_or_else(|| namespace.to_owned(), |(_, name)| (*name).to_owned())
}

/// Whether `text` has the shape of a service namespace (`[\w-]`, 1 to 64 characters).
pub(crate) fn is_namespace(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// The actions Homeport tracks (every action it serves, and those it checks while running), by
/// service namespace: what wildcards are expanded against and what the action level lists.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tracked {
    /// Lowercase namespace -> action names after the colon, as declared, sorted and unique.
    services: BTreeMap<String, Vec<String>>,
}

impl Tracked {
    /// The tracked actions of `actions` (`service:Action`) and [`CHECKED_WHILE_RUNNING`].
    pub(crate) fn new<'a>(actions: impl IntoIterator<Item = &'a str>) -> Tracked {
        let mut services: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for action in actions.into_iter().chain(CHECKED_WHILE_RUNNING.iter().copied()) {
            if let Some((service, name)) = action.split_once(':') {
                services.entry(service.to_ascii_lowercase()).or_default().insert(name.to_owned());
            }
        }
        Tracked {
            services: services.into_iter().map(|(service, names)| (service, names.into_iter().collect())).collect(),
        }
    }

    pub(crate) fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.services.keys().map(String::as_str)
    }

    /// The tracked actions of a (lowercase) namespace, by name; none for one not served.
    pub(crate) fn actions(&self, namespace: &str) -> &[String] {
        self.services.get(namespace).map_or(&[], Vec::as_slice)
    }
}

/// How much of a service a statement's `Action` or `NotAction` reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    Nothing,
    Some,
    Every,
}

fn only_stars(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte == b'*')
}

/// How much of the (lowercase) `namespace` one `Action` entry names.
fn entry_reach(entry: &ActionPattern, namespace: &str, tracked: &Tracked) -> Reach {
    let (service, action) = match entry.text.split_once(':') {
        Some(parts) => parts,
        None if only_stars(&entry.text) => ("*", "*"),
        None => return Reach::Nothing,
    };
    if !Pattern::glob(service, Case::Insensitive).matches(namespace) {
        return Reach::Nothing;
    }
    if only_stars(action) {
        return Reach::Every;
    }
    let known = tracked.actions(namespace);
    let wildcard = action.contains(['*', '?']);
    if !wildcard || known.is_empty() {
        return Reach::Some;
    }
    let matched = known.iter().any(|name| entry.matches(&format!("{namespace}:{}", name.to_ascii_lowercase())));
    if matched { Reach::Some } else { Reach::Nothing }
}

/// How much of `namespace` a statement's `Action` (or, negated, `NotAction`) reaches.
fn statement_reach(statement: &Statement, namespace: &str, tracked: &Tracked) -> Reach {
    let Some(clause) = &statement.action else { return Reach::Nothing };
    let named = clause.items.iter().map(|entry| entry_reach(entry, namespace, tracked)).max().unwrap_or(Reach::Nothing);
    if !clause.negated {
        return named;
    }
    // NotAction reaches every action it does not exclude.
    match named {
        Reach::Every => Reach::Nothing,
        Reach::Some => Reach::Some,
        Reach::Nothing => Reach::Every,
    }
}

/// Whether a statement's `Action` / `NotAction` matches a lowercase `service:action`.
fn statement_matches(statement: &Statement, lowercase_action: &str) -> bool {
    statement
        .action
        .as_ref()
        .is_some_and(|clause| clause.items.iter().any(|entry| entry.matches(lowercase_action)) != clause.negated)
}

/// A Deny that holds whatever the request's resource and context: no condition, and
/// `Resource` (not `NotResource`) with `*`.
fn denies_unconditionally(statement: &Statement) -> bool {
    statement.effect == Effect::Deny
        && statement.conditions.is_empty()
        && statement
            .resource
            .as_ref()
            .is_some_and(|clause| !clause.negated && clause.items.iter().any(|r| r.text == "*"))
}

/// What a set of permissions policies allows, read together (a Deny of one takes away what
/// another allows).
pub(crate) struct Allowed<'a> {
    statements: Vec<&'a Statement>,
    tracked: &'a Tracked,
}

impl<'a> Allowed<'a> {
    pub(crate) fn new(policies: impl IntoIterator<Item = &'a Policy>, tracked: &'a Tracked) -> Allowed<'a> {
        Allowed { statements: policies.into_iter().flat_map(|policy| policy.statements.iter()).collect(), tracked }
    }

    /// Whether the policies allow some action of the service `namespace`.
    pub(crate) fn grants(&self, namespace: &str) -> bool {
        let namespace = namespace.to_ascii_lowercase();
        let reach = |statement: &Statement| statement_reach(statement, &namespace, self.tracked);
        let allowed = self.statements.iter().any(|s| s.effect == Effect::Allow && reach(s) != Reach::Nothing);
        allowed && !self.statements.iter().any(|s| denies_unconditionally(s) && reach(s) == Reach::Every)
    }

    /// Every service the policies allow, by namespace: among those Homeport serves and those
    /// the policies name.
    pub(crate) fn namespaces(&self) -> Vec<String> {
        let mut considered: BTreeSet<String> = self.tracked.namespaces().map(str::to_owned).collect();
        for statement in &self.statements {
            for entry in statement.action.iter().flat_map(|clause| clause.items.iter()) {
                if let Some((service, _)) = entry.text.split_once(':') {
                    if is_namespace(service) {
                        considered.insert(service.to_ascii_lowercase());
                    }
                }
            }
        }
        considered.into_iter().filter(|namespace| self.grants(namespace)).collect()
    }

    /// The tracked actions of `namespace` the policies allow, by name (after the colon).
    pub(crate) fn actions(&self, namespace: &str) -> Vec<&'a str> {
        let namespace = namespace.to_ascii_lowercase();
        self.tracked
            .actions(&namespace)
            .iter()
            .filter(|name| {
                let action = format!("{namespace}:{}", name.to_ascii_lowercase());
                let allowed =
                    self.statements.iter().any(|s| s.effect == Effect::Allow && statement_matches(s, &action));
                allowed && !self.statements.iter().any(|s| denies_unconditionally(s) && statement_matches(s, &action))
            })
            .map(String::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    fn tracked() -> Tracked {
        Tracked::new([
            "ecs:RunTask",
            "ecs:ListClusters",
            "ecs:RunTask",
            "logs:CreateLogGroup",
            "logs:DescribeLogGroups",
            "iam:GetUser",
            "sts:GetCallerIdentity",
        ])
    }

    fn policy(statements: &str) -> Policy {
        Policy::parse(&format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)).unwrap()
    }

    #[test]
    fn the_tracked_actions_are_the_served_ones_and_those_checked_while_running() {
        let tracked = tracked();
        assert_eq!(tracked.namespaces().collect::<Vec<_>>(), ["ecs", "iam", "logs", "sts"]);
        assert_eq!(tracked.actions("ecs"), ["ListClusters", "RunTask"], "sorted, once each");
        assert_eq!(tracked.actions("iam"), ["GetUser", "PassRole"]);
        assert!(tracked.actions("s3").is_empty());
        assert_eq!(service_name("ecs"), "Amazon Elastic Container Service");
        assert_eq!(service_name("iam"), "AWS Identity and Access Management");
        assert_eq!(service_name("kinesis"), "kinesis", "a service without a name in the table shows its namespace");
        assert!(is_namespace("access-analyzer") && is_namespace("s3") && !is_namespace("") && !is_namespace("a b"));
        assert!(!is_namespace(&"a".repeat(65)));
    }

    /// A row of the table: statements, and what they allow.
    type Row = (&'static str, String, &'static [&'static str], &'static [&'static str], &'static [&'static str]);

    /// Each row: the statements, the services allowed, and the allowed actions of `ecs` and
    /// of `logs`.
    #[test]
    fn services_and_actions_allowed_follow_action_and_not_action() {
        let allow = |action: &str| format!(r#"{{"Effect":"Allow","Action":{action},"Resource":"*"}}"#);
        let cases: Vec<Row> = vec![
            (
                "a service's wildcard and one action of another",
                allow(r#"["ecs:*","logs:CreateLogGroup"]"#),
                &["ecs", "logs"],
                &["ListClusters", "RunTask"],
                &["CreateLogGroup"],
            ),
            ("everything", allow(r#""*""#), &["ecs", "iam", "logs", "sts"], &["ListClusters", "RunTask"], &[
                "CreateLogGroup",
                "DescribeLogGroups",
            ]),
            (
                "a service named literally, served or not, with an action Homeport does not serve",
                allow(r#"["s3:GetObject","iam:GetLoginProfile"]"#),
                &["iam", "s3"],
                &[],
                &[],
            ),
            ("a wildcard matching no tracked action", allow(r#""ecs:Describe*""#), &[], &[], &[]),
            ("a wildcard in the service", allow(r#""l*:Create*""#), &["logs"], &[], &["CreateLogGroup"]),
            ("case does not matter", allow(r#""ECS:runtask""#), &["ecs"], &["RunTask"], &[]),
            (
                "NotAction allows what it does not exclude whole",
                r#"{"Effect":"Allow","NotAction":["logs:*","s3:*","ecs:Run*"],"Resource":"*"}"#.to_owned(),
                &["ecs", "iam", "sts"],
                &["ListClusters"],
                &[],
            ),
            (
                "resources and conditions are ignored",
                r#"{"Effect":"Allow","Action":"ecs:RunTask","Resource":"arn:aws:ecs:*:*:task/x","Condition":{"Bool":{"aws:SecureTransport":"true"}}}"#.to_owned(),
                &["ecs"],
                &["RunTask"],
                &[],
            ),
            (
                "an unconditional Deny of a whole service takes it away, of some actions only those",
                format!(
                    r#"{},{{"Effect":"Deny","Action":"logs:*","Resource":"*"}},{{"Effect":"Deny","Action":"ecs:RunTask","Resource":"*"}}"#,
                    allow(r#""*""#)
                ),
                &["ecs", "iam", "sts"],
                &["ListClusters"],
                &[],
            ),
            (
                "a Deny on some resources or with a condition takes nothing away",
                format!(
                    r#"{},{{"Effect":"Deny","Action":"logs:*","Resource":"arn:aws:logs:*:*:log-group:x"}},{{"Effect":"Deny","Action":"ecs:*","Resource":"*","Condition":{{"Bool":{{"aws:MultiFactorAuthPresent":"false"}}}}}}"#,
                    allow(r#"["ecs:*","logs:*"]"#)
                ),
                &["ecs", "logs"],
                &["ListClusters", "RunTask"],
                &["CreateLogGroup", "DescribeLogGroups"],
            ),
            (
                "a Deny with NotAction denies the services it does not name",
                format!(r#"{},{{"Effect":"Deny","NotAction":"ecs:*","Resource":"*"}}"#, allow(r#""*""#)),
                &["ecs"],
                &["ListClusters", "RunTask"],
                &[],
            ),
            ("a Deny alone allows nothing", r#"{"Effect":"Deny","Action":"*","Resource":"*"}"#.to_owned(), &[], &[], &[]),
        ];
        let tracked = tracked();
        for (name, statements, services, ecs, logs) in cases {
            let parsed = policy(&statements);
            let allowed = Allowed::new([&parsed], &tracked);
            assert_eq!(allowed.namespaces(), services, "{name}: services");
            assert_eq!(allowed.actions("ecs"), ecs, "{name}: ecs actions");
            assert_eq!(allowed.actions("logs"), logs, "{name}: logs actions");
            for service in tracked.namespaces() {
                assert_eq!(allowed.grants(service), services.contains(&service), "{name}: grants {service}");
            }
        }
    }

    /// A service nobody names is not listed, yet a wildcard grants it when asked about it
    /// (ListPoliciesGrantingServiceAccess names the services).
    #[test]
    fn a_service_asked_about_is_granted_by_the_wildcards_that_reach_it() {
        let tracked = tracked();
        let everything = policy(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);
        let allowed = Allowed::new([&everything], &tracked);
        assert!(allowed.grants("kinesis") && allowed.grants("S3"));
        assert!(!allowed.namespaces().contains(&"kinesis".to_owned()));
        let but_s3 = policy(r#"{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}"#);
        let allowed = Allowed::new([&but_s3], &tracked);
        assert!(allowed.grants("kinesis") && !allowed.grants("s3"));
        let one = policy(r#"{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}"#);
        let allowed = Allowed::new([&one], &tracked);
        assert!(allowed.grants("s3") && !allowed.grants("kinesis"));
        assert!(allowed.actions("s3").is_empty(), "no action of a service Homeport does not serve is tracked");
    }

    #[test]
    fn policies_read_together_deny_across_each_other() {
        let tracked = tracked();
        let allows = policy(r#"{"Effect":"Allow","Action":["ecs:*","logs:*"],"Resource":"*"}"#);
        let denies = policy(r#"{"Effect":"Deny","Action":"ecs:*","Resource":"*"}"#);
        assert_eq!(Allowed::new([&allows, &denies], &tracked).namespaces(), ["logs"]);
        assert_eq!(Allowed::new([&allows], &tracked).namespaces(), ["ecs", "logs"]);
        assert!(Allowed::new([], &tracked).namespaces().is_empty());
    }
}
