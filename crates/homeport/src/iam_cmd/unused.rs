//! What a managed policy grants that a generated policy shows was never used: pure, on policy
//! documents.
//!
//! An action entry is one item of an `Allow` statement's `Action` (`ecs:Submit*`), matched as
//! IAM matches actions (`iam_policy`'s wildcard patterns, case-insensitively). It counts as
//! used when some action of the generated policy matches it. An `Allow` statement with
//! `NotAction` is one entry (`NotAction ...`), used when some generated action falls outside
//! it. `Deny` statements grant nothing and are not counted.

use std::collections::BTreeMap;

use iam_policy::{Effect, Policy, PolicyError};

/// A managed policy's grants, measured against what was used.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grants {
    /// The action entries of its `Allow` statements, as written (a repeated entry counts each time).
    pub entries: usize,
    /// The entries no used action matches, by service prefix (lowercase; `*` for entries that
    /// name no single service), each list in document order without repeats.
    pub unused: BTreeMap<String, Vec<String>>,
}

impl Grants {
    pub fn unused_count(&self) -> usize {
        self.unused.values().map(Vec::len).sum()
    }
}

/// The actions the generated documents allow: every `Allow` statement's `Action` entries,
/// without repeats (compared case-insensitively; the first spelling kept), sorted.
pub fn generated_actions(documents: &[String]) -> Result<Vec<String>, PolicyError> {
    let mut actions: BTreeMap<String, String> = BTreeMap::new();
    for document in documents {
        let policy = Policy::parse(document)?;
        for statement in policy.statements.iter().filter(|s| s.effect == Effect::Allow) {
            let Some(clause) = statement.action.as_ref().filter(|clause| !clause.negated) else { continue };
            for item in &clause.items {
                actions.entry(item.text.to_ascii_lowercase()).or_insert_with(|| item.text.clone());
            }
        }
    }
    Ok(actions.into_values().collect())
}

/// The service prefix of an action entry (`ecs` of `ecs:Submit*`), `*` when it names none.
fn service_of(entry: &str) -> String {
    match entry.split_once(':') {
        Some((service, _)) if !service.contains(['*', '?']) => service.to_ascii_lowercase(),
        _ => "*".to_owned(),
    }
}

/// `document`'s grants, with those no action of `used` matches.
pub fn unused_grants(document: &str, used: &[String]) -> Result<Grants, PolicyError> {
    let used: Vec<String> = used.iter().map(|action| action.to_ascii_lowercase()).collect();
    let policy = Policy::parse(document)?;
    let mut grants = Grants::default();
    for statement in policy.statements.iter().filter(|s| s.effect == Effect::Allow) {
        let Some(clause) = &statement.action else { continue };
        if clause.negated {
            let excluded: Vec<&str> = clause.items.iter().map(|item| item.text.as_str()).collect();
            let is_used = used.iter().any(|action| !clause.items.iter().any(|item| item.matches(action)));
            grants.note(format!("NotAction {}", excluded.join(", ")), "*".to_owned(), is_used);
            continue;
        }
        for item in &clause.items {
            let is_used = used.iter().any(|action| item.matches(action));
            grants.note(item.text.clone(), service_of(&item.text), is_used);
        }
    }
    Ok(grants)
}

impl Grants {
    fn note(&mut self, entry: String, service: String, is_used: bool) {
        self.entries += 1;
        if !is_used {
            let list = self.unused.entry(service).or_default();
            if !list.contains(&entry) {
                list.push(entry);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    const ECS_ROLE: &str = include_str!("../../../../managed-policies/AmazonEC2ContainerServiceforEC2Role.json");
    const SSM_CORE: &str = include_str!("../../../../managed-policies/AmazonSSMManagedInstanceCore.json");

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    /// What an agent that ran a task pulling from the registry with awslogs uses.
    fn agent_use() -> Vec<String> {
        strings(&[
            "ssm:UpdateInstanceInformation",
            "ecs:RegisterContainerInstance",
            "ecs:Poll",
            "ecs:SubmitTaskStateChange",
            "ECS:SubmitContainerStateChange",
            "ecr:GetAuthorizationToken",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ])
    }

    #[test]
    fn the_seeds_managed_policies_against_an_agents_use() {
        let ecs = unused_grants(ECS_ROLE, &agent_use()).unwrap();
        assert_eq!(ecs.entries, 17);
        let unused: Vec<(&str, Vec<&str>)> = ecs
            .unused
            .iter()
            .map(|(service, entries)| (service.as_str(), entries.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            unused,
            [
                ("ec2", vec!["ec2:DescribeTags"]),
                ("ecr", vec!["ecr:BatchCheckLayerAvailability"]),
                (
                    "ecs",
                    vec![
                        "ecs:CreateCluster",
                        "ecs:DeregisterContainerInstance",
                        "ecs:DiscoverPollEndpoint",
                        "ecs:StartTelemetrySession",
                        "ecs:UpdateContainerInstancesState",
                        "ecs:TagResource",
                        "ecs:ListTagsForResource",
                    ]
                ),
            ]
        );
        // `ecs:Submit*` is used (by two actions, one spelled in capitals).
        assert!(!ecs.unused["ecs"].contains(&"ecs:Submit*".to_owned()));
        assert_eq!(ecs.unused_count(), 9);

        let ssm = unused_grants(SSM_CORE, &agent_use()).unwrap();
        assert_eq!((ssm.entries, ssm.unused_count()), (25, 24));
        assert_eq!(ssm.unused.keys().collect::<Vec<_>>(), ["ec2messages", "ssm", "ssmmessages"]);
        assert!(!ssm.unused["ssm"].contains(&"ssm:UpdateInstanceInformation".to_owned()));

        // Nothing used: everything is unused; everything used: nothing is.
        assert_eq!(unused_grants(ECS_ROLE, &[]).unwrap().unused_count(), 17);
        assert_eq!(unused_grants(ECS_ROLE, &strings(&["*:*"])).unwrap().unused_count(), 17, "`*:*` is not an action");
    }

    #[test]
    fn wildcards_not_action_deny_and_repeats() {
        let document = r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:Get*", "s3:Get*", "*", "logs:?utLogEvents"], "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"},
            {"Effect": "Allow", "NotAction": "*", "Resource": "*"}]}"#;
        let grants = unused_grants(document, &strings(&["logs:PutLogEvents"])).unwrap();
        assert_eq!(grants.entries, 6, "four entries, repeats counted, and two NotAction statements");
        assert_eq!(grants.unused["s3"], ["s3:Get*"], "listed once");
        assert_eq!(grants.unused["*"], ["NotAction *"]);
        assert!(!grants.unused.contains_key("iam"), "a Deny grants nothing");
        let only_iam = unused_grants(document, &strings(&["iam:PassRole"])).unwrap();
        assert_eq!(only_iam.unused["*"], ["NotAction iam:*, organizations:*", "NotAction *"]);
        assert_eq!(only_iam.unused["logs"], ["logs:?utLogEvents"]);
        assert!(unused_grants("{", &[]).is_err());
    }

    #[test]
    fn generated_actions_are_deduplicated_and_sorted() {
        let documents = strings(&[
            r#"{"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["ecs:Poll", "ssm:UpdateInstanceInformation"], "Resource": "*"},
                {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::1:role/r",
                 "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
                {"Effect": "Deny", "Action": "ecs:CreateCluster", "Resource": "*"}]}"#,
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ECS:poll", "Resource": "*"}}"#,
        ]);
        assert_eq!(
            generated_actions(&documents).unwrap(),
            ["ecs:Poll", "iam:PassRole", "ssm:UpdateInstanceInformation"]
        );
        assert!(generated_actions(&strings(&["[]"])).is_err());
    }
}
