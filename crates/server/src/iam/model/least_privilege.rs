//! Least privilege from what was observed: the identity policy that allows exactly the
//! (action, resource) pairs a principal was allowed, and nothing it was not.
//!
//! Pure: observations in, policy documents out. Guarantees:
//! - **Nothing observed is missing.** Every observation is allowed by the documents (a test
//!   decides each one with the engine), `iam:PassRole` with `iam:PassedToService` naming the
//!   services the role was passed to.
//! - **Nothing unobserved is added but ids.** A resource keeps its observed ARN except for the
//!   segments that are identifiers Homeport or AWS generates (UUIDs, 32-hex task ids, `mi-`
//!   managed-instance ids): those become `*`, because the next task, container instance or
//!   instance of the same kind gets a new one (a fresh agent registering with the role must
//!   still be allowed). No two names are merged into a wildcard, and no action is widened to a
//!   service wildcard.
//! - Actions with the same resources share a statement; statements are ordered by their first
//!   action, actions and resources sorted, so the same observations give the same text.
//! - Each document stays within the managed policy quota (6,144 characters without
//!   whitespace); more statements than fit make more documents, as Access Analyzer does.

use std::collections::{BTreeMap, BTreeSet};

use iam_policy::pattern::{Pattern, Segments};
use serde_json::{Value as Json, json};

/// One thing a principal was allowed to do.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Observation {
    pub action: String,
    pub resource: String,
    /// `iam:PassedToService` for `iam:PassRole`; empty otherwise.
    pub passed_to: String,
}

/// The most characters (whitespace aside) of one generated document: a managed policy's.
pub const DOCUMENT_LIMIT: usize = 6_144;

/// `resource` with each generated identifier replaced by `*` (see the module guarantees).
pub fn generalize(resource: &str) -> String {
    let mut out = String::with_capacity(resource.len());
    let mut segment = String::new();
    for c in resource.chars() {
        if c == '/' || c == ':' {
            push_segment(&mut out, &segment);
            out.push(c);
            segment.clear();
        } else {
            segment.push(c);
        }
    }
    push_segment(&mut out, &segment);
    out
}

fn push_segment(out: &mut String, segment: &str) {
    out.push_str(if is_generated_id(segment) { "*" } else { segment });
}

/// Whether a segment is an identifier a service generates rather than a name someone chose.
fn is_generated_id(segment: &str) -> bool {
    let hex = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit());
    let uuid =
        segment.len() == 36 && segment.split('-').map(str::len).eq([8, 4, 4, 4, 12]) && segment.split('-').all(hex);
    let task_id = segment.len() == 32 && hex(segment);
    let instance_id = segment.strip_prefix("mi-").is_some_and(|id| id.len() == 17 && hex(id));
    uuid || task_id || instance_id
}

/// The policy documents (JSON text) allowing every observation, as the module guarantees.
/// None for no observations: an empty policy is never a least-privilege answer.
pub fn generate(observations: &[Observation]) -> Vec<String> {
    // action -> (resources, services the role was passed to)
    let mut by_action: BTreeMap<&str, (BTreeSet<String>, BTreeSet<&str>)> = BTreeMap::new();
    for observation in observations {
        let entry = by_action.entry(&observation.action).or_default();
        entry.0.insert(generalize(&observation.resource));
        if !observation.passed_to.is_empty() {
            entry.1.insert(&observation.passed_to);
        }
    }
    // (resources, passed-to services) -> actions
    let mut statements: BTreeMap<(Vec<String>, Vec<&str>), Vec<&str>> = BTreeMap::new();
    for (action, (resources, passed_to)) in by_action {
        let key = (covering(resources), passed_to.into_iter().collect());
        statements.entry(key).or_default().push(action);
    }
    // Ordered by their first action (each statement's actions are sorted and distinct).
    let mut statements: Vec<(&str, Json)> = statements
        .into_iter()
        .map(|((resources, passed_to), actions)| {
            (actions.first().copied().unwrap_or_default(), statement(&actions, &resources, &passed_to))
        })
        .collect();
    statements.sort_by(|a, b| a.0.cmp(b.0));
    pack(statements.into_iter().map(|(_, statement)| statement).collect())
}

/// The resources none of the others covers (`*` alone if it is among them).
fn covering(resources: BTreeSet<String>) -> Vec<String> {
    if resources.contains("*") {
        return vec!["*".to_owned()];
    }
    let patterns: Vec<(String, Pattern)> = resources
        .iter()
        .filter(|resource| resource.contains('*'))
        .map(|resource| (resource.clone(), Pattern::arn(resource, Segments::StarAtEndSpans)))
        .collect();
    resources
        .into_iter()
        .filter(|resource| !patterns.iter().any(|(text, pattern)| text != resource && pattern.matches(resource)))
        .collect()
}

fn statement(actions: &[&str], resources: &[String], passed_to: &[&str]) -> Json {
    let one_or_many = |values: Vec<Json>| match <[Json; 1]>::try_from(values) {
        Ok([one]) => one,
        Err(many) => Json::Array(many),
    };
    let action = one_or_many(actions.iter().map(|action| json!(action)).collect());
    let resource = one_or_many(resources.iter().map(|resource| json!(resource)).collect());
    if passed_to.is_empty() {
        return json!({"Effect": "Allow", "Action": action, "Resource": resource});
    }
    let services = one_or_many(passed_to.iter().map(|service| json!(service)).collect());
    json!({
        "Effect": "Allow",
        "Action": action,
        "Resource": resource,
        "Condition": {"StringEquals": {"iam:PassedToService": services}},
    })
}

/// The statements in as few documents within [`DOCUMENT_LIMIT`] as their order allows.
fn pack(statements: Vec<Json>) -> Vec<String> {
    let document = |statements: &[Json]| {
        serde_json::to_string_pretty(&json!({"Version": "2012-10-17", "Statement": statements})).unwrap_or_default()
    };
    let mut documents = Vec::new();
    let mut current: Vec<Json> = Vec::new();
    for statement in statements {
        current.push(statement);
        if current.len() > 1 && iam_policy::policy_size(&document(&current)) > DOCUMENT_LIMIT {
            let last = current.pop();
            documents.push(document(&current));
            current = last.into_iter().collect();
        }
    }
    if !current.is_empty() {
        documents.push(document(&current));
    }
    documents
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use iam_policy::{Context, EvalDecision, Policy, PolicyRef, PolicySet, Request, decide};

    use super::*;

    const ACCOUNT: &str = "111122223333";

    fn observed(action: &str, resource: &str, passed_to: &str) -> Observation {
        Observation { action: action.to_owned(), resource: resource.to_owned(), passed_to: passed_to.to_owned() }
    }

    fn allowed(documents: &[String], action: &str, resource: &str, passed_to: &str) -> bool {
        let policies: Vec<Policy> = documents.iter().map(|text| Policy::parse(text).unwrap()).collect();
        let refs: Vec<PolicyRef<'_>> = policies.iter().map(|policy| PolicyRef { id: "generated", policy }).collect();
        let set = PolicySet { identity: &refs, ..PolicySet::default() };
        let mut context = Context::new();
        if !passed_to.is_empty() {
            context = context.with("iam:PassedToService", passed_to);
        }
        decide(&set, &Request::new(action, resource, None, &context)).decision == EvalDecision::Allowed
    }

    fn agent() -> Vec<Observation> {
        let ci =
            format!("arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance/prod/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0");
        let stream = format!(
            "arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ecs/web:log-stream:ecs/web/0123456789abcdef0123456789abcdef"
        );
        vec![
            observed("ecs:RegisterContainerInstance", &format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod"), ""),
            observed("ecs:Poll", &ci, ""),
            observed("ecs:SubmitTaskStateChange", &format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod"), ""),
            observed(
                "ssm:UpdateInstanceInformation",
                &format!("arn:aws:ssm:us-east-1:{ACCOUNT}:managed-instance/mi-0123456789abcdef0"),
                "",
            ),
            observed("ecr:GetAuthorizationToken", "*", ""),
            observed("ecr:BatchGetImage", &format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/web"), ""),
            observed("logs:PutLogEvents", &stream, ""),
            observed("logs:CreateLogStream", &stream, ""),
            observed("iam:PassRole", &format!("arn:aws:iam::{ACCOUNT}:role/task"), "ecs-tasks.amazonaws.com"),
        ]
    }

    #[test]
    fn every_observation_is_allowed_and_ids_generalize() {
        let observations = agent();
        let documents = generate(&observations);
        assert_eq!(documents.len(), 1);
        for observation in &observations {
            assert!(
                allowed(&documents, &observation.action, &observation.resource, &observation.passed_to),
                "{observation:?} in {}",
                documents[0]
            );
        }
        // Another container instance, instance or task of the same kind is allowed ...
        let other_ci =
            format!("arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance/prod/11111111-2222-4333-a444-555555555555");
        assert!(allowed(&documents, "ecs:Poll", &other_ci, ""));
        let other_instance = format!("arn:aws:ssm:us-east-1:{ACCOUNT}:managed-instance/mi-fedcba98765432100");
        assert!(allowed(&documents, "ssm:UpdateInstanceInformation", &other_instance, ""));
        // ... but not another cluster, repository, log group, role or service, nor another action.
        let other_cluster =
            format!("arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance/test/11111111-2222-4333-a444-555555555555");
        assert!(!allowed(&documents, "ecs:Poll", &other_cluster, ""));
        assert!(!allowed(
            &documents,
            "ecr:BatchGetImage",
            &format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/db"),
            ""
        ));
        let other_group = format!(
            "arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ecs/db:log-stream:ecs/web/0123456789abcdef0123456789abcdef"
        );
        assert!(!allowed(&documents, "logs:PutLogEvents", &other_group, ""));
        assert!(!allowed(
            &documents,
            "iam:PassRole",
            &format!("arn:aws:iam::{ACCOUNT}:role/admin"),
            "ecs-tasks.amazonaws.com"
        ));
        assert!(!allowed(
            &documents,
            "iam:PassRole",
            &format!("arn:aws:iam::{ACCOUNT}:role/task"),
            "ec2.amazonaws.com"
        ));
        assert!(!allowed(&documents, "ecr:PutImage", &format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/web"), ""));
        assert!(!allowed(&documents, "ecs:RunTask", "*", ""));
    }

    #[test]
    fn actions_sharing_resources_share_a_statement_and_star_covers_all() {
        let documents = generate(&[
            observed("logs:PutLogEvents", "arn:aws:logs:r:1:log-group:g:log-stream:s", ""),
            observed("logs:CreateLogStream", "arn:aws:logs:r:1:log-group:g:log-stream:s", ""),
            observed("ecr:GetAuthorizationToken", "*", ""),
            observed("ecs:ListClusters", "arn:aws:ecs:r:1:cluster/a", ""),
            observed("ecs:ListClusters", "*", ""),
            observed("ecs:DescribeTasks", "arn:aws:ecs:r:1:task/c/0123456789abcdef0123456789abcdef", ""),
            observed("ecs:DescribeTasks", "arn:aws:ecs:r:1:task/c/fedcba9876543210fedcba9876543210", ""),
        ]);
        let document: Json = serde_json::from_str(&documents[0]).unwrap();
        assert_eq!(
            document["Statement"],
            json!([
                {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "ecs:ListClusters"], "Resource": "*"},
                {"Effect": "Allow", "Action": "ecs:DescribeTasks", "Resource": "arn:aws:ecs:r:1:task/c/*"},
                {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                 "Resource": "arn:aws:logs:r:1:log-group:g:log-stream:s"},
            ])
        );
    }

    #[test]
    fn names_are_never_generalized() {
        for name in ["web", "prod", "0123456789abcdef", "mi-123", "deadbeef-0000", "task-definition"] {
            assert_eq!(
                generalize(&format!("arn:aws:ecs:r:1:cluster/{name}")),
                format!("arn:aws:ecs:r:1:cluster/{name}")
            );
        }
        assert_eq!(
            generalize("arn:aws:ecs:r:1:container-instance/c/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"),
            "arn:aws:ecs:r:1:container-instance/c/*"
        );
    }

    #[test]
    fn many_statements_split_into_documents_within_the_quota() {
        let observations: Vec<Observation> = (0..400)
            .map(|n| observed(&format!("ecr:Action{n:03}"), &format!("arn:aws:ecr:r:1:repository/repo-{n:03}"), ""))
            .collect();
        let documents = generate(&observations);
        assert!(documents.len() > 1);
        for document in &documents {
            assert!(iam_policy::policy_size(document) <= DOCUMENT_LIMIT);
            iam_policy::validate(document, iam_policy::PolicyKind::Identity).unwrap();
        }
        for observation in &observations {
            assert!(allowed(&documents, &observation.action, &observation.resource, ""));
        }
        assert!(generate(&[]).is_empty());
    }
}
