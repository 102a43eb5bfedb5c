//! The simulation `--apply` runs before it changes anything: for each statement of the
//! generated policy, its actions on its resources, as SimulateCustomPolicy requests, so that
//! every observed request is shown still allowed with the generated policy, the role's inline
//! policies and its permissions boundary, and without the managed policies it replaces.
//!
//! A statement conditioned on `iam:PassedToService` is simulated once per service it names,
//! with that service as the context (a single-valued key: one value per request, as a real
//! `iam:PassRole` carries). Pure: documents in, requests out.

use serde_json::Value;

use crate::aws_client::iam::ContextEntry;

/// The requests of one statement: what a SimulateCustomPolicy call asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementCheck {
    /// Which statement, for messages: `policy 1, statement 2 (Sid)`.
    pub statement: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub context: Vec<ContextEntry>,
}

const PASSED_TO_SERVICE: &str = "iam:PassedToService";

/// A string or an array of strings; anything else is no strings.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// The checks of the generated documents' `Allow` statements, in document order.
pub fn checks(documents: &[String]) -> Result<Vec<StatementCheck>, String> {
    let mut checks = Vec::new();
    for (document_index, document) in documents.iter().enumerate() {
        let policy: Value = serde_json::from_str(document)
            .map_err(|error| format!("generated policy {} is not JSON: {error}", document_index + 1))?;
        let statements = match policy.get("Statement") {
            Some(Value::Array(statements)) => statements.clone(),
            Some(statement @ Value::Object(_)) => vec![statement.clone()],
            _ => return Err(format!("generated policy {} has no Statement", document_index + 1)),
        };
        for (statement_index, statement) in statements.iter().enumerate() {
            if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            let mut label = format!("policy {}, statement {}", document_index + 1, statement_index + 1);
            if let Some(sid) = statement.get("Sid").and_then(Value::as_str) {
                label.push_str(&format!(" ({sid})"));
            }
            let actions = strings(statement.get("Action"));
            if actions.is_empty() {
                return Err(format!("{label}: no Action to simulate (a NotAction statement cannot be checked)"));
            }
            let mut resources = strings(statement.get("Resource"));
            if resources.is_empty() {
                resources.push("*".to_owned());
            }
            let services: Vec<String> = statement
                .get("Condition")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|operators| operators.values())
                .filter_map(Value::as_object)
                .flat_map(|keys| keys.iter())
                .filter(|(key, _)| key.eq_ignore_ascii_case(PASSED_TO_SERVICE))
                .flat_map(|(_, values)| strings(Some(values)))
                .collect();
            if services.is_empty() {
                checks.push(StatementCheck { statement: label, actions, resources, context: Vec::new() });
                continue;
            }
            for service in services {
                let context = vec![ContextEntry {
                    key: PASSED_TO_SERVICE.to_owned(),
                    values: vec![service.clone()],
                    key_type: "string",
                }];
                let statement = format!("{label} for {service}");
                checks.push(StatementCheck {
                    statement,
                    actions: actions.clone(),
                    resources: resources.clone(),
                    context,
                });
            }
        }
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn one_check_per_statement_and_per_service_passed_to() {
        let documents = vec![
            r#"{"Version": "2012-10-17", "Statement": [
                {"Sid": "Agent", "Effect": "Allow", "Action": ["ecs:Poll", "ecs:SubmitTaskStateChange"],
                 "Resource": ["arn:aws:ecs:us-east-1:1:container-instance/edge/*", "arn:aws:ecs:us-east-1:1:cluster/edge"]},
                {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::1:role/exec",
                 "Condition": {"StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com", "ecs.amazonaws.com"]}}},
                {"Effect": "Deny", "Action": "ecs:CreateCluster", "Resource": "*"}]}"#
                .to_owned(),
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken"}}"#.to_owned(),
        ];
        let checks = checks(&documents).unwrap();
        let summary: Vec<(&str, usize, usize, Vec<&str>)> = checks
            .iter()
            .map(|c| {
                let context = c.context.iter().flat_map(|e| e.values.iter().map(String::as_str)).collect();
                (c.statement.as_str(), c.actions.len(), c.resources.len(), context)
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("policy 1, statement 1 (Agent)", 2, 2, vec![]),
                ("policy 1, statement 2 for ecs-tasks.amazonaws.com", 1, 1, vec!["ecs-tasks.amazonaws.com"]),
                ("policy 1, statement 2 for ecs.amazonaws.com", 1, 1, vec!["ecs.amazonaws.com"]),
                ("policy 2, statement 1", 1, 1, vec![]),
            ]
        );
        assert_eq!(checks[1].context[0].key, "iam:PassedToService");
        assert_eq!(checks[3].resources, ["*"], "no Resource is every resource");
    }

    #[test]
    fn what_cannot_be_simulated_is_refused() {
        for (document, why) in [
            ("{", "generated policy 1 is not JSON"),
            (r#"{"Version": "2012-10-17"}"#, "has no Statement"),
            (r#"{"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}"#, "a NotAction statement"),
        ] {
            let error = checks(&[document.to_owned()]).unwrap_err();
            assert!(error.contains(why), "{document}: {error}");
        }
    }
}
