//! Least-privilege findings, in the spirit of IAM Access Analyzer's policy checks.
//!
//! Findings never make a policy invalid; they point at grants broader than they look. Codes
//! are Access Analyzer's issue codes where it has one for the same finding.

use crate::condition::{Base, Qualifier};
use crate::document::{Effect, Policy, Statement, Version};
use crate::json::Span;
use crate::validate::PolicyKind;

/// How serious a finding is, as Access Analyzer grades them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingType {
    SecurityWarning,
    Warning,
    Suggestion,
}

impl FindingType {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingType::SecurityWarning => "SECURITY_WARNING",
            FindingType::Warning => "WARNING",
            FindingType::Suggestion => "SUGGESTION",
        }
    }
}

/// One finding, with the statement it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub finding_type: FindingType,
    pub issue_code: &'static str,
    pub message: String,
    pub span: Span,
}

/// Single-valued global keys: `ForAllValues` on them is almost always a mistake.
const SINGLE_VALUED_KEYS: &[&str] = &[
    "aws:username",
    "aws:userid",
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltype",
    "aws:requestedregion",
    "aws:securetransport",
    "aws:currenttime",
    "aws:epochtime",
    "aws:multifactorauthpresent",
    "aws:sourceaccount",
    "aws:sourcearn",
];

pub(crate) fn findings(policy: &Policy, kind: PolicyKind) -> Vec<Finding> {
    let mut out = Vec::new();
    if !policy.version_given {
        out.push(Finding {
            finding_type: FindingType::Warning,
            issue_code: "MISSING_VERSION",
            message: "add a `Version` of `2012-10-17`: without it policy variables are not substituted".into(),
            span: policy.statements.first().map(|s| s.span).unwrap_or_default(),
        });
    } else if policy.version == Version::V2008_10_17 {
        out.push(Finding {
            finding_type: FindingType::Warning,
            issue_code: "OLD_VERSION",
            message: "version `2008-10-17` does not substitute policy variables; use `2012-10-17`".into(),
            span: policy.statements.first().map(|s| s.span).unwrap_or_default(),
        });
    }
    for statement in &policy.statements {
        statement_findings(statement, kind, &mut out);
    }
    out
}

fn statement_findings(statement: &Statement, kind: PolicyKind, out: &mut Vec<Finding>) {
    let mut push = |finding_type, issue_code, message: String| {
        out.push(Finding { finding_type, issue_code, message, span: statement.span });
    };
    let name = statement.sid.as_deref().map_or_else(|| "statement".to_owned(), |sid| format!("statement `{sid}`"));
    if statement.effect == Effect::Allow {
        let action = statement.action.as_ref();
        let resource = statement.resource.as_ref();
        let all_resources = resource.is_some_and(|r| !r.negated && r.items.iter().any(|p| p.text == "*"))
            || resource.is_some_and(|r| r.negated);
        let all_actions = action.is_some_and(|a| !a.negated && a.items.iter().any(|p| p.text == "*"));
        if all_actions && all_resources && statement.conditions.is_empty() {
            push(FindingType::SecurityWarning, "FULL_ACCESS", format!("{name} allows every action on every resource"));
        }
        if action.is_some_and(|a| a.negated) {
            push(
                FindingType::SecurityWarning,
                "ALLOW_WITH_NOT_ACTION",
                format!(
                    "{name} uses `NotAction` with `Allow`: it grants every action not listed, including future ones"
                ),
            );
        }
        let passes_role = action.is_some_and(|a| a.items.iter().any(|p| p.matches("iam:passrole")) != a.negated);
        if passes_role && all_resources && kind != PolicyKind::Trust {
            let code = if resource.is_some_and(|r| r.negated) {
                "PASS_ROLE_WITH_NOT_RESOURCE"
            } else {
                "PASS_ROLE_WITH_STAR_IN_RESOURCE"
            };
            push(
                FindingType::SecurityWarning,
                code,
                format!("{name} allows `iam:PassRole` on every role: name the roles, and add `iam:PassedToService`"),
            );
        }
        if statement.principal.as_ref().is_some_and(|p| p.negated) {
            push(
                FindingType::SecurityWarning,
                "ALLOW_WITH_NOT_PRINCIPAL",
                format!(
                    "{name} uses `NotPrincipal` with `Allow`: it grants access to everyone not listed, anonymous callers included"
                ),
            );
        }
    }
    for condition in &statement.conditions {
        let key = condition.key.as_str();
        let op = condition.operator;
        if op.qualifier == Qualifier::ForAllValues && SINGLE_VALUED_KEYS.contains(&key.to_ascii_lowercase().as_str()) {
            push(
                FindingType::SecurityWarning,
                "FORALLVALUES_WITH_SINGLE_VALUED_KEY",
                format!(
                    "`ForAllValues` with the single-valued key `{key}` is true when the key is missing; use `StringEquals`"
                ),
            );
        }
        if op.base == Base::Null && op.qualifier != Qualifier::None {
            push(
                FindingType::Suggestion,
                "NULL_WITH_QUALIFIER",
                format!("`Null` on `{key}` ignores its set qualifier"),
            );
        }
        for value in &condition.values {
            let text = value.text.as_str();
            let mismatch = match op.base {
                Base::StringEquals | Base::StringEqualsIgnoreCase if text.contains(['*', '?']) => Some((
                    FindingType::Warning,
                    "WILDCARD_WITHOUT_LIKE_OPERATOR",
                    format!("`{text}` holds a wildcard, but only the `...Like` operators expand wildcards"),
                )),
                Base::Date(_) if value.template().is_none() && crate::condition::parse_date(text).is_none() => Some((
                    FindingType::Warning,
                    "TYPE_MISMATCH_DATE",
                    format!("`{text}` is not a date, so the condition on `{key}` never matches"),
                )),
                Base::Numeric(_) if value.template().is_none() && crate::condition::parse_number(text).is_none() => {
                    Some((
                        FindingType::Warning,
                        "TYPE_MISMATCH_NUMBER",
                        format!("`{text}` is not a number, so the condition on `{key}` never matches"),
                    ))
                }
                Base::IpAddress if crate::condition::Network::parse(text).is_none() => Some((
                    FindingType::Warning,
                    "TYPE_MISMATCH_IP_RANGE",
                    format!("`{text}` is not an IP address or CIDR range, so the condition on `{key}` never matches"),
                )),
                Base::Bool if !text.eq_ignore_ascii_case("true") && !text.eq_ignore_ascii_case("false") => {
                    Some((FindingType::Warning, "TYPE_MISMATCH_BOOLEAN", format!("`{text}` is not `true` or `false`")))
                }
                _ => None,
            };
            if let Some((finding_type, issue_code, message)) = mismatch {
                push(finding_type, issue_code, message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::validate::{PolicyKind, validate};

    fn codes(text: &str) -> Vec<&'static str> {
        validate(text, PolicyKind::Identity).unwrap().findings.iter().map(|f| f.issue_code).collect()
    }

    #[test]
    fn broad_grants_are_flagged() {
        let admin = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
        assert_eq!(codes(admin), vec!["FULL_ACCESS", "PASS_ROLE_WITH_STAR_IN_RESOURCE"]);
        let pass = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}}"#;
        assert_eq!(codes(pass), vec!["PASS_ROLE_WITH_STAR_IN_RESOURCE"]);
        let not_action =
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#;
        assert_eq!(codes(not_action), vec!["ALLOW_WITH_NOT_ACTION"]);
        let scoped = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/app"}}"#;
        assert!(codes(scoped).is_empty());
    }

    #[test]
    fn condition_mistakes_are_flagged() {
        let text = r#"{"Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{
            "ForAllValues:StringEquals":{"aws:username":"a*"},"DateLessThan":{"aws:CurrentTime":"soon"}}}}"#;
        assert_eq!(
            codes(text),
            vec![
                "MISSING_VERSION",
                "FORALLVALUES_WITH_SINGLE_VALUED_KEY",
                "WILDCARD_WITHOUT_LIKE_OPERATOR",
                "TYPE_MISMATCH_DATE"
            ]
        );
    }
}
