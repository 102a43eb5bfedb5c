//! What `suggest-policy` prints: text for people, or one JSON object for scripts whose shape
//! is stable (PascalCase members, as `homeport policy validate --output json`; absent values
//! are `null` or empty, never missing). Pure: a [`Report`] in, text or JSON out.

use serde_json::{Value, json};

use super::unused::Grants;

/// A managed policy the generated policy replaces, with what it grants that was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    pub name: String,
    pub arn: String,
    pub grants: Grants,
}

/// Everything the command learned, before any change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub role_name: String,
    pub role_arn: String,
    pub job_id: String,
    pub trail_arns: Vec<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub is_complete: Option<bool>,
    /// The generated documents, as the service wrote them.
    pub policies: Vec<String>,
    /// The actions they allow.
    pub actions: Vec<String>,
    pub replaced: Vec<Replaced>,
    pub inline_policies: Vec<String>,
    pub permissions_boundary_arn: Option<String>,
}

/// What `--apply` did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Applied {
    /// The generated policies' ARNs, and whether each was created (else reused).
    pub policies: Vec<(String, bool)>,
    pub attached: Vec<String>,
    pub detached: Vec<String>,
    pub simulated_requests: usize,
}

impl Report {
    /// The managed policies' action entries, all together.
    pub fn managed_entries(&self) -> usize {
        self.replaced.iter().map(|replaced| replaced.grants.entries).sum()
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        let window = match (&self.start_time, &self.end_time) {
            (Some(start), Some(end)) => format!(" from {start} to {end}"),
            _ => String::new(),
        };
        let trail = if self.trail_arns.is_empty() { "the audit trail".to_owned() } else { self.trail_arns.join(", ") };
        out.push_str(&format!(
            "Generated from what {} was authorized for in {trail}{window} (job {}).\n",
            self.role_arn, self.job_id
        ));
        if self.is_complete == Some(false) {
            out.push_str(
                "Warning: the generation says its result is not complete (isComplete false): the trail may not \
                 hold all of the window, and use it does not hold is not in the policy.\n",
            );
        }
        let count = self.policies.len();
        out.push_str(&format!(
            "\nThe least-privilege policy ({} action{}):\n",
            self.actions.len(),
            plural(self.actions.len())
        ));
        for (index, policy) in self.policies.iter().enumerate() {
            if count > 1 {
                out.push_str(&format!("Document {} of {count}:\n", index + 1));
            }
            out.push_str(&indent_json(policy));
            out.push('\n');
        }
        if self.replaced.is_empty() {
            out.push_str(&format!(
                "\nIt would replace no managed policy: none other is attached to {}.\n",
                self.role_name
            ));
        } else {
            out.push_str(&format!(
                "\nIt would replace the {} managed polic{} attached to {}:\n",
                self.replaced.len(),
                if self.replaced.len() == 1 { "y" } else { "ies" },
                self.role_name
            ));
        }
        for replaced in &self.replaced {
            let grants = &replaced.grants;
            out.push_str(&format!(
                "  {} ({}): {} action entr{}, {} never used\n",
                replaced.name,
                replaced.arn,
                grants.entries,
                if grants.entries == 1 { "y" } else { "ies" },
                grants.unused_count()
            ));
            for (service, entries) in &grants.unused {
                out.push_str(&format!("    {service}: {}\n", entries.join(", ")));
            }
        }
        let kept = if self.inline_policies.is_empty() { "none".to_owned() } else { self.inline_policies.join(", ") };
        out.push_str(&format!("Inline policies (kept): {kept}\n"));
        let boundary = self.permissions_boundary_arn.as_deref().unwrap_or("none");
        out.push_str(&format!("Permissions boundary (kept): {boundary}\n"));
        out.push_str(&format!(
            "\n{} action entr{} in the managed policies; {} action{} in the generated policy.\n",
            self.managed_entries(),
            if self.managed_entries() == 1 { "y" } else { "ies" },
            self.actions.len(),
            plural(self.actions.len())
        ));
        out
    }

    pub fn json(&self, applied: Option<&Applied>) -> Value {
        let documents: Vec<Value> = self
            .policies
            .iter()
            .map(|policy| serde_json::from_str(policy).unwrap_or_else(|_| Value::String(policy.clone())))
            .collect();
        let replaced: Vec<Value> = self
            .replaced
            .iter()
            .map(|replaced| {
                json!({
                    "PolicyName": replaced.name,
                    "PolicyArn": replaced.arn,
                    "ActionEntries": replaced.grants.entries,
                    "UnusedActionEntries": replaced.grants.unused,
                })
            })
            .collect();
        let applied = applied.map(|applied| {
            json!({
                "PolicyArns": applied.policies.iter().map(|(arn, _)| arn).collect::<Vec<_>>(),
                "Created": applied.policies.iter().filter(|(_, created)| *created).map(|(arn, _)| arn).collect::<Vec<_>>(),
                "Attached": applied.attached,
                "Detached": applied.detached,
                "SimulatedRequests": applied.simulated_requests,
            })
        });
        json!({
            "RoleName": self.role_name,
            "RoleArn": self.role_arn,
            "JobId": self.job_id,
            "TrailArns": self.trail_arns,
            "StartTime": self.start_time,
            "EndTime": self.end_time,
            "IsComplete": self.is_complete,
            "GeneratedPolicies": documents,
            "GeneratedActions": self.actions,
            "ReplacedPolicies": replaced,
            "InlinePolicies": self.inline_policies,
            "PermissionsBoundaryArn": self.permissions_boundary_arn,
            "ActionCounts": {"ManagedPolicyEntries": self.managed_entries(), "GeneratedActions": self.actions.len()},
            "Applied": applied,
        })
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// JSON text laid out two spaces per level, keeping its members' order (the document is shown
/// as the service wrote it, `Version` first). Text that is not JSON comes out unchanged in
/// its strings and with its structure characters laid out the same way.
pub fn indent_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.peek().is_some_and(|next| next.is_whitespace()) {
                    chars.next();
                }
                if chars.peek().is_some_and(|next| matches!(next, '}' | ']')) {
                    if let Some(close) = chars.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use std::collections::BTreeMap;

    use super::*;

    const GENERATED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:Poll","ssm:UpdateInstanceInformation"],"Resource":"*","Condition":{}}, {"Sid":"a\"b:{,}","Effect":"Allow","Action":"logs:PutLogEvents","Resource":[]}]}"#;

    fn report() -> Report {
        let grants = Grants {
            entries: 17,
            unused: BTreeMap::from([
                ("ec2".to_owned(), vec!["ec2:DescribeTags".to_owned()]),
                ("ecs".to_owned(), vec!["ecs:CreateCluster".to_owned(), "ecs:StartTelemetrySession".to_owned()]),
            ]),
        };
        Report {
            role_name: "ecsAnywhereRole".into(),
            role_arn: "arn:aws:iam::123456789012:role/ecsAnywhereRole".into(),
            job_id: "job-1".into(),
            trail_arns: vec!["arn:aws:cloudtrail:us-east-1:123456789012:trail/homeport".into()],
            start_time: Some("2026-11-17T00:00:00Z".into()),
            end_time: Some("2026-11-18T00:00:00Z".into()),
            is_complete: Some(true),
            policies: vec![GENERATED.into()],
            actions: vec!["ecs:Poll".into(), "logs:PutLogEvents".into(), "ssm:UpdateInstanceInformation".into()],
            replaced: vec![Replaced {
                name: "AmazonEC2ContainerServiceforEC2Role".into(),
                arn: "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role".into(),
                grants,
            }],
            inline_policies: vec![],
            permissions_boundary_arn: None,
        }
    }

    #[test]
    fn json_is_laid_out_in_its_own_order() {
        let laid_out = indent_json(GENERATED);
        assert!(
            laid_out.starts_with(
                "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\","
            ),
            "{laid_out}"
        );
        assert!(laid_out.contains("\"Condition\": {}"), "{laid_out}");
        assert!(laid_out.contains("\"Sid\": \"a\\\"b:{,}\","), "strings are kept as they are: {laid_out}");
        assert!(laid_out.contains("\"Resource\": []\n    }\n  ]\n}"), "{laid_out}");
        let reparsed: Value = serde_json::from_str(&laid_out).unwrap();
        assert_eq!(reparsed, serde_json::from_str::<Value>(GENERATED).unwrap(), "the same document");
    }

    #[test]
    fn text_for_people() {
        let text = report().text();
        assert!(
            text.starts_with(
                "Generated from what arn:aws:iam::123456789012:role/ecsAnywhereRole was authorized for in \
             arn:aws:cloudtrail:us-east-1:123456789012:trail/homeport from 2026-11-17T00:00:00Z to \
             2026-11-18T00:00:00Z (job job-1).\n\nThe least-privilege policy (3 actions):\n{\n  \"Version\""
            ),
            "{text}"
        );
        assert!(text.contains(
            "It would replace the 1 managed policy attached to ecsAnywhereRole:\n  \
             AmazonEC2ContainerServiceforEC2Role (arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role): \
             17 action entries, 3 never used\n    ec2: ec2:DescribeTags\n    ecs: ecs:CreateCluster, ecs:StartTelemetrySession\n"
        ), "{text}");
        assert!(
            text.ends_with(
                "Inline policies (kept): none\nPermissions boundary (kept): none\n\n\
             17 action entries in the managed policies; 3 actions in the generated policy.\n"
            ),
            "{text}"
        );
        assert!(!text.contains("Warning"));
        let incomplete = Report { is_complete: Some(false), ..report() }.text();
        assert!(incomplete.contains("Warning: the generation says its result is not complete"));
    }

    #[test]
    fn json_for_scripts() {
        let applied = Applied {
            policies: vec![("arn:aws:iam::123456789012:policy/least".into(), true)],
            attached: vec!["arn:aws:iam::123456789012:policy/least".into()],
            detached: vec!["arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role".into()],
            simulated_requests: 3,
        };
        let value = report().json(Some(&applied));
        assert_eq!(value["GeneratedPolicies"][0]["Statement"][1]["Action"], "logs:PutLogEvents");
        assert_eq!(value["ReplacedPolicies"][0]["UnusedActionEntries"]["ecs"][1], "ecs:StartTelemetrySession");
        assert_eq!(value["ActionCounts"], json!({"ManagedPolicyEntries": 17, "GeneratedActions": 3}));
        assert_eq!(value["Applied"]["Created"], json!(["arn:aws:iam::123456789012:policy/least"]));
        assert_eq!(value["PermissionsBoundaryArn"], Value::Null);
        let members: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(members.len(), 14, "every member, always: {members:?}");
        assert_eq!(report().json(None)["Applied"], Value::Null);
    }
}
