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

/// An action whose grant on every resource Access Analyzer flags, and how it names it.
struct BroadGrant {
    /// The action, lowercase.
    action: &'static str,
    /// The issue codes' prefix (`PASS_ROLE`, `CREATE_SLR`).
    prefix: &'static str,
    finding_type: FindingType,
    /// A condition key that scopes the grant enough (`iam:PassedToService`).
    scoping_key: Option<&'static str>,
}

const BROAD_GRANTS: &[BroadGrant] = &[
    BroadGrant {
        action: "iam:passrole",
        prefix: "PASS_ROLE",
        finding_type: FindingType::SecurityWarning,
        scoping_key: Some("iam:PassedToService"),
    },
    BroadGrant {
        action: "iam:createservicelinkedrole",
        prefix: "CREATE_SLR",
        finding_type: FindingType::Warning,
        scoping_key: None,
    },
];

impl BroadGrant {
    /// Access Analyzer's finding details for `code`.
    fn message(&self, code: &str) -> String {
        let (action, effect) = match self.prefix {
            "PASS_ROLE" => ("iam:PassRole", "can be overly permissive because it"),
            _ => ("iam:CreateServiceLinkedRole", "can allow creation of unintended service-linked roles because it"),
        };
        let how = code.strip_prefix(self.prefix).unwrap_or_default();
        let using = match how {
            "_WITH_NOT_RESOURCE" => format!("Using the {action} action with NotResource"),
            "_WITH_STAR_IN_ACTION_AND_NOT_RESOURCE" => "Using an action with a wildcard (*) and NotResource".to_owned(),
            "_WITH_NOT_ACTION_AND_NOT_RESOURCE" => "Using NotAction with NotResource".to_owned(),
            "_WITH_STAR_IN_RESOURCE" => format!("Using the {action} action with wildcards (*) in the resource"),
            "_WITH_STAR_IN_ACTION_AND_RESOURCE" => "Using wildcards (*) in the action and the resource".to_owned(),
            _ => "Using a resource with wildcards (*) and NotAction".to_owned(),
        };
        format!(
            "{using} {effect} allows {action} permissions on multiple resources. We recommend that you specify resource ARNs instead."
        )
    }
}

/// Whether an Allow statement grants `grant`'s action on resources it does not name, and the
/// issue code and span (its resource) Access Analyzer reports it with.
fn broad_grant(statement: &Statement, grant: &BroadGrant) -> Option<(&'static str, Span)> {
    let action = statement.action.as_ref()?;
    let resource = statement.resource.as_ref()?;
    let named = action.items.iter().any(|pattern| pattern.matches(grant.action));
    if named == action.negated {
        return None;
    }
    let scoped = grant
        .scoping_key
        .is_some_and(|key| statement.conditions.iter().any(|condition| condition.key.eq_ignore_ascii_case(key)));
    if scoped {
        return None;
    }
    let wildcard_action =
        !action.negated && action.items.iter().all(|pattern| !pattern.text.eq_ignore_ascii_case(grant.action));
    let star_in_resource = resource.items.iter().any(|pattern| pattern.text.contains('*'));
    let how = match (action.negated, wildcard_action, resource.negated) {
        (true, _, true) => "_WITH_NOT_ACTION_AND_NOT_RESOURCE",
        (false, true, true) => "_WITH_STAR_IN_ACTION_AND_NOT_RESOURCE",
        (false, false, true) => "_WITH_NOT_RESOURCE",
        _ if !star_in_resource => return None,
        (true, _, false) => "_WITH_STAR_IN_RESOURCE_AND_NOT_ACTION",
        (false, true, false) => "_WITH_STAR_IN_ACTION_AND_RESOURCE",
        (false, false, false) => "_WITH_STAR_IN_RESOURCE",
    };
    let code = BROAD_GRANT_CODES.iter().find(|code| code.strip_prefix(grant.prefix) == Some(how))?;
    Some((code, resource.span))
}

/// Every issue code [`broad_grant`] reports, as `&'static str`s.
const BROAD_GRANT_CODES: &[&str] = &[
    "PASS_ROLE_WITH_NOT_RESOURCE",
    "PASS_ROLE_WITH_STAR_IN_ACTION_AND_NOT_RESOURCE",
    "PASS_ROLE_WITH_NOT_ACTION_AND_NOT_RESOURCE",
    "PASS_ROLE_WITH_STAR_IN_RESOURCE",
    "PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE",
    "PASS_ROLE_WITH_STAR_IN_RESOURCE_AND_NOT_ACTION",
    "CREATE_SLR_WITH_NOT_RESOURCE",
    "CREATE_SLR_WITH_STAR_IN_ACTION_AND_NOT_RESOURCE",
    "CREATE_SLR_WITH_NOT_ACTION_AND_NOT_RESOURCE",
    "CREATE_SLR_WITH_STAR_IN_RESOURCE",
    "CREATE_SLR_WITH_STAR_IN_ACTION_AND_RESOURCE",
    "CREATE_SLR_WITH_STAR_IN_RESOURCE_AND_NOT_ACTION",
];

pub(crate) fn findings(policy: &Policy, kind: PolicyKind) -> Vec<Finding> {
    let mut out = Vec::new();
    if !policy.version_given {
        out.push(Finding {
            finding_type: FindingType::Warning,
            issue_code: "MISSING_VERSION",
            message: "We recommend that you specify the Version element to help you with debugging permission issues."
                .into(),
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
    let mut push = |finding_type, issue_code, message: String, span: Span| {
        out.push(Finding { finding_type, issue_code, message, span });
    };
    let name = statement.sid.as_deref().map_or_else(|| "statement".to_owned(), |sid| format!("statement `{sid}`"));
    if let (Some(""), Some(span)) = (statement.sid.as_deref(), statement.sid_span) {
        push(
            FindingType::Suggestion,
            "EMPTY_SID_VALUE",
            "Add a value to the empty string in the Sid element.".into(),
            span,
        );
    }
    if let Some(action) = statement.action.as_ref().filter(|clause| clause.items.is_empty()) {
        push(
            FindingType::Suggestion,
            "EMPTY_ARRAY_ACTION",
            "This statement includes no actions and does not affect the policy. Specify actions.".into(),
            action.span,
        );
    }
    if let Some(resource) = statement.resource.as_ref().filter(|clause| clause.items.is_empty()) {
        push(
            FindingType::Suggestion,
            "EMPTY_ARRAY_RESOURCE",
            "This statement includes no resources and does not affect the policy. Specify resources.".into(),
            resource.span,
        );
    }
    if statement.effect == Effect::Allow {
        let action = statement.action.as_ref();
        let resource = statement.resource.as_ref();
        let all_resources = resource.is_some_and(|r| !r.negated && r.items.iter().any(|p| p.text == "*"))
            || resource.is_some_and(|r| r.negated);
        let all_actions = action.is_some_and(|a| !a.negated && a.items.iter().any(|p| p.text == "*"));
        if all_actions && all_resources && statement.conditions.is_empty() {
            push(
                FindingType::SecurityWarning,
                "FULL_ACCESS",
                format!("{name} allows every action on every resource"),
                statement.span,
            );
        }
        if let Some(action) = action.filter(|a| a.negated) {
            push(
                FindingType::SecurityWarning,
                "ALLOW_WITH_NOT_ACTION",
                format!(
                    "{name} uses `NotAction` with `Allow`: it grants every action not listed, including future ones"
                ),
                action.span,
            );
        }
        if kind != PolicyKind::Trust {
            for grant in BROAD_GRANTS {
                if let Some((code, span)) = broad_grant(statement, grant) {
                    push(grant.finding_type, code, grant.message(code), span);
                }
            }
        }
        if let Some(principal) = statement.principal.as_ref().filter(|p| p.negated) {
            push(
                FindingType::SecurityWarning,
                "ALLOW_WITH_NOT_PRINCIPAL",
                "Using Allow with NotPrincipal can be overly permissive. We recommend that you use Principal instead."
                    .into(),
                principal.span,
            );
        }
    }
    for condition in &statement.conditions {
        let mut push = |finding_type, issue_code, message: String| {
            out.push(Finding { finding_type, issue_code, message, span: condition.span });
        };
        let key = condition.key.as_str();
        let operator = condition.operator_name.as_str();
        let op = condition.operator;
        if op.qualifier == Qualifier::ForAllValues && SINGLE_VALUED_KEYS.contains(&key.to_ascii_lowercase().as_str()) {
            push(
                FindingType::SecurityWarning,
                "FORALLVALUES_WITH_SINGLE_VALUED_KEY",
                format!(
                    "Using ForAllValues qualifier with the single-valued condition key {key} can be overly permissive. We recommend that you remove ForAllValues:."
                ),
            );
        }
        if op.base == Base::Null && op.qualifier != Qualifier::None {
            push(
                FindingType::Suggestion,
                "NULL_WITH_QUALIFIER",
                "Avoid using the Null condition operator with the ForAllValues or ForAnyValue qualifiers because they always return a true or false respectively.".to_owned(),
            );
        }
        for value in &condition.values {
            let text = value.text.as_str();
            let mismatch = match op.base {
                Base::StringEquals | Base::StringEqualsIgnoreCase if text.contains(['*', '?']) => Some((
                    FindingType::Warning,
                    "WILDCARD_WITHOUT_LIKE_OPERATOR",
                    "Your condition value includes a * or ? character. If you meant to use a wildcard (*, ?), update the condition operator to include Like.".to_owned(),
                )),
                Base::Date(_) if value.template().is_none() && crate::condition::parse_date(text).is_none() => Some((
                    FindingType::Warning,
                    "TYPE_MISMATCH_DATE",
                    "The date condition operator is used with an invalid value. Specify a valid date using YYYY-MM-DD or other ISO 8601 date/time format.".to_owned(),
                )),
                Base::Numeric(_) if value.template().is_none() && crate::condition::parse_number(text).is_none() => {
                    Some((
                        FindingType::Warning,
                        "TYPE_MISMATCH_NUMBER",
                        format!("Add a valid numeric value for the condition operator {operator}."),
                    ))
                }
                Base::IpAddress if crate::condition::Network::parse(text).is_none() => Some((
                    FindingType::Warning,
                    "TYPE_MISMATCH_IP_RANGE",
                    format!(
                        "The condition operator {operator} is used with an invalid IP range value. Specify the IP range in standard CIDR format."
                    ),
                )),
                Base::Bool if !text.eq_ignore_ascii_case("true") && !text.eq_ignore_ascii_case("false") => {
                    Some((
                        FindingType::Warning,
                        "TYPE_MISMATCH_BOOLEAN",
                        format!("Add a valid Boolean value (true or false) for the condition operator {operator}."),
                    ))
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
        assert_eq!(
            codes(admin),
            vec![
                "FULL_ACCESS",
                "PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE",
                "CREATE_SLR_WITH_STAR_IN_ACTION_AND_RESOURCE"
            ]
        );
        let pass = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}}"#;
        assert_eq!(codes(pass), vec!["PASS_ROLE_WITH_STAR_IN_RESOURCE"]);
        let not_action =
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#;
        assert_eq!(codes(not_action), vec!["ALLOW_WITH_NOT_ACTION"]);
        let scoped = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/app"}}"#;
        assert!(codes(scoped).is_empty());
        let statement = |body: &str| format!(r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow",{body}}}}}"#);
        let cases = [
            (
                r#""Action":"iam:*","Resource":"arn:aws:iam::111122223333:role/app-*""#,
                vec!["PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE", "CREATE_SLR_WITH_STAR_IN_ACTION_AND_RESOURCE"],
            ),
            (
                r#""Action":"iam:PassRole","NotResource":"arn:aws:iam::111122223333:role/admin""#,
                vec!["PASS_ROLE_WITH_NOT_RESOURCE"],
            ),
            (
                r#""NotAction":"s3:*","NotResource":"arn:aws:iam::111122223333:role/admin""#,
                vec![
                    "ALLOW_WITH_NOT_ACTION",
                    "PASS_ROLE_WITH_NOT_ACTION_AND_NOT_RESOURCE",
                    "CREATE_SLR_WITH_NOT_ACTION_AND_NOT_RESOURCE",
                ],
            ),
            (
                r#""NotAction":"s3:*","Resource":"*""#,
                vec![
                    "ALLOW_WITH_NOT_ACTION",
                    "PASS_ROLE_WITH_STAR_IN_RESOURCE_AND_NOT_ACTION",
                    "CREATE_SLR_WITH_STAR_IN_RESOURCE_AND_NOT_ACTION",
                ],
            ),
            (r#""Action":"iam:CreateServiceLinkedRole","Resource":"*""#, vec!["CREATE_SLR_WITH_STAR_IN_RESOURCE"]),
            (
                r#""Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}"#,
                vec![],
            ),
            (
                r#""Sid":"","Action":[],"Resource":[]"#,
                vec!["EMPTY_SID_VALUE", "EMPTY_ARRAY_ACTION", "EMPTY_ARRAY_RESOURCE"],
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(codes(&statement(body)), expected, "{body}");
        }
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
