//! IAM Access Analyzer's policy validation (`ValidatePolicy`): the grammar's refusals and the
//! lint's findings, in Access Analyzer's issue codes, finding types and words, each with
//! where it is as a path through the document and a span.
//!
//! Guarantees: pure, never panics, linear in the document. A document the grammar refuses
//! gets one `ERROR` finding, for the first problem found (Access Analyzer lists every one);
//! a valid one gets the lint's findings that Access Analyzer also makes (the lint's
//! `FULL_ACCESS`, `ALLOW_WITH_NOT_ACTION` and `OLD_VERSION` are Homeport's own and are left
//! out), plus the size and statement-id checks below.
//!
//! Policy types: an identity policy by the identity grammar; a resource policy by the
//! resource grammar, its `Resource` optional unless the resource type names one (S3, DynamoDB)
//! and as a role trust policy for `AWS::IAM::AssumeRolePolicyDocument`. Homeport has no
//! Organizations, so organization policies are checked by the grammar alone: a service control
//! policy as an identity policy whose `Principal` is `SCP_SYNTAX_ERROR_PRINCIPAL` and whose size
//! is capped at 5,120 characters; a resource control policy as a resource policy.

use crate::error::PolicyError;
use crate::json::{self, Node, PathStep, Point, Span};
use crate::lint::FindingType;
use crate::validate::{PolicyKind, policy_size, validate_grammar};

/// What a document is validated as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalyzedPolicy {
    Identity,
    /// A resource policy; `kind` is [`ResourcePolicyType`] when the request names one.
    Resource(ResourcePolicyType),
    ServiceControl,
    ResourceControl,
}

/// `validatePolicyResourceType`, as far as it changes the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourcePolicyType {
    /// None given: the checks that apply to every resource policy.
    Any,
    /// A role trust policy.
    AssumeRolePolicyDocument,
    /// S3 buckets and access points, DynamoDB tables: statements name their resources.
    NamingResources,
}

/// One finding, as `ValidatePolicy` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzerFinding {
    /// `ERROR`, `SECURITY_WARNING`, `WARNING` or `SUGGESTION`.
    pub finding_type: &'static str,
    pub issue_code: &'static str,
    pub details: String,
    pub locations: Vec<Location>,
}

/// Where a finding is: a path through the document and the span of what it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: Vec<PathStep>,
    pub start: Point,
    pub end: Point,
}

impl AnalyzerFinding {
    /// The finding's section of the policy check reference.
    pub fn learn_more_link(&self) -> String {
        let kind = match self.finding_type {
            "ERROR" => "error",
            "SECURITY_WARNING" => "security-warning",
            "WARNING" => "general-warning",
            _ => "suggestion",
        };
        let code = self.issue_code.to_ascii_lowercase().replace('_', "-");
        format!(
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-{kind}-{code}"
        )
    }
}

/// The largest identity policy (a managed policy), and service control policy, in characters
/// without whitespace.
const IDENTITY_POLICY_QUOTA: usize = 6_144;
const SCP_QUOTA: usize = 5_120;

/// Validates `text` as `policy` the way `ValidatePolicy` does.
pub fn validate_policy(text: &str, policy: AnalyzedPolicy) -> Vec<AnalyzerFinding> {
    let root = match json::parse(text) {
        Ok(root) => root,
        Err(error) => {
            let at = json::point(text, error.offset);
            let details =
                format!("Fix the JSON syntax error at index {} line {} column {}.", at.offset, at.line, at.column);
            let location = Location { path: Vec::new(), start: at, end: at };
            return vec![finding("ERROR", "JSON_SYNTAX_ERROR", details, vec![location])];
        }
    };
    let kind = match policy {
        AnalyzedPolicy::Identity | AnalyzedPolicy::ServiceControl => PolicyKind::Identity,
        AnalyzedPolicy::Resource(ResourcePolicyType::AssumeRolePolicyDocument) => PolicyKind::Trust,
        AnalyzedPolicy::Resource(ResourcePolicyType::NamingResources) | AnalyzedPolicy::ResourceControl => {
            PolicyKind::Resource
        }
        // A resource-based policy whose statements may leave the resource implicit.
        AnalyzedPolicy::Resource(ResourcePolicyType::Any) => PolicyKind::RepositoryPolicy,
    };
    let validated = match validate_grammar(text, kind) {
        Ok(validated) => validated,
        Err(error) => return vec![refusal(text, &root, &error, policy)],
    };
    let mut findings: Vec<AnalyzerFinding> = validated
        .findings
        .iter()
        .filter(|finding| !matches!(finding.issue_code, "FULL_ACCESS" | "ALLOW_WITH_NOT_ACTION" | "OLD_VERSION"))
        .map(|finding| {
            let finding_type = match finding.finding_type {
                FindingType::SecurityWarning => "SECURITY_WARNING",
                FindingType::Warning => "WARNING",
                FindingType::Suggestion => "SUGGESTION",
            };
            let location = locate(text, &root, finding.span);
            AnalyzerFinding {
                finding_type,
                issue_code: finding.issue_code,
                details: finding.message.clone(),
                locations: vec![location],
            }
        })
        .collect();
    if matches!(kind, PolicyKind::Resource | PolicyKind::RepositoryPolicy) {
        let mut seen: Vec<&str> = Vec::new();
        for statement in &validated.policy.statements {
            let (Some(sid), Some(span)) = (statement.sid.as_deref().filter(|sid| !sid.is_empty()), statement.sid_span)
            else {
                continue;
            };
            if seen.contains(&sid) {
                findings.push(finding(
                    "WARNING",
                    "UNIQUE_SIDS_RECOMMENDED",
                    "We recommend that you use statement IDs that are unique to your policy. Update the Sid value."
                        .into(),
                    vec![locate(text, &root, span)],
                ));
            }
            seen.push(sid);
        }
    }
    let size = policy_size(text);
    let whole = || vec![locate(text, &root, root.span)];
    match policy {
        AnalyzedPolicy::ServiceControl if size > SCP_QUOTA => findings.push(finding(
            "ERROR",
            "POLICY_SIZE_EXCEEDS_SCP_QUOTA",
            format!(
                "The {size} characters in the service control policy (SCP) exceed the {SCP_QUOTA} character maximum for SCPs. We recommend that you use multiple granular policies."
            ),
            whole(),
        )),
        AnalyzedPolicy::Identity if size > IDENTITY_POLICY_QUOTA => findings.push(finding(
            "WARNING",
            "POLICY_SIZE_EXCEEDS_IDENTITY_POLICY_QUOTA",
            format!(
                "The {size} characters in the identity policy, excluding whitespace, exceed the {IDENTITY_POLICY_QUOTA} character maximum for inline and managed policies. We recommend that you use multiple granular policies."
            ),
            whole(),
        )),
        _ => {}
    }
    findings
}

fn finding(
    finding_type: &'static str,
    issue_code: &'static str,
    details: String,
    locations: Vec<Location>,
) -> AnalyzerFinding {
    AnalyzerFinding { finding_type, issue_code, details, locations }
}

/// The path to `span` and its points.
fn locate(text: &str, root: &Node, span: Span) -> Location {
    Location { path: json::path_to(root, span), start: json::point(text, span.start), end: json::point(text, span.end) }
}

/// The grammar's refusal as Access Analyzer's `ERROR` finding.
fn refusal(text: &str, root: &Node, error: &PolicyError, policy: AnalyzedPolicy) -> AnalyzerFinding {
    let location = locate(text, root, error.span.unwrap_or(root.span));
    let (code, details) = issue(error, &location.path, policy);
    finding("ERROR", code, details, vec![location])
}

/// Access Analyzer's issue code and details for one of the grammar's refusals (IAM's message,
/// see `document` and `validate`). `path` is where it is.
fn issue(error: &PolicyError, path: &[PathStep], policy: AnalyzedPolicy) -> (&'static str, String) {
    let message = error.message.as_str();
    let in_condition = path.iter().any(|step| *step == PathStep::Value("Condition".to_owned()));
    let quoted = |text: &str| text.trim_matches('"').to_owned();
    if let Some(field) = message.strip_prefix("Unknown field ") {
        return ("INVALID_POLICY_ELEMENT", format!("The policy element {field} is not valid."));
    }
    if let Some(effect) = message.strip_prefix("Invalid effect: ") {
        return ("INVALID_EFFECT", format!("The effect {effect} is not valid. Use Allow or Deny."));
    }
    if let Some(operator) = message.strip_prefix("Invalid Condition type : ") {
        return (
            "INVALID_CONDITION_OPERATOR",
            format!("The condition operator {operator} is not valid. Use a valid condition operator."),
        );
    }
    if let Some(field) = message
        .strip_prefix("Statement cannot contain both ")
        .and_then(|rest| rest.strip_suffix(" and its counterpart"))
    {
        let counterpart = field.strip_prefix("Not").map_or_else(|| format!("Not{field}"), str::to_owned);
        return (
            "UNSUPPORTED_ELEMENT_COMBINATION",
            format!(
                "The policy elements {counterpart} and {field} can not be used in the same statement. Remove one of these elements."
            ),
        );
    }
    if let Some(field) = message.strip_prefix("Field ").and_then(|rest| rest.strip_suffix(" must be a string")) {
        let _ = field;
        return ("DATA_TYPE_MISMATCH", "The text does not match the expected JSON data type String.".to_owned());
    }
    if let Some(resource) =
        message.strip_prefix("Resource ").and_then(|rest| rest.strip_suffix(" must be in ARN format or \"*\"."))
    {
        if !resource.starts_with("arn:") {
            return ("INVALID_ARN_PREFIX", "Add the required prefix (arn) to the resource ARN.".to_owned());
        }
        return (
            "MISSING_ARN_FIELD",
            "Resource ARNs must include at least 6 fields in the following structure: arn:partition:service:region:account:resource".to_owned(),
        );
    }
    if let Some(principal) = message.strip_prefix("Invalid principal in policy: ") {
        return match principal.split_once(':') {
            // `"AWS":"value"` or `"SERVICE":"value"`: a value of a known key.
            Some((key, value)) if value.contains(['*', '?']) => (
                "UNSUPPORTED_WILDCARD_IN_PRINCIPAL",
                format!("Wildcards (*, ?) are not supported with the principal key {}. Replace the wildcard with a valid principal value.", quoted(key)),
            ),
            Some(("\"SERVICE\"", _)) => (
                "INVALID_SERVICE_PRINCIPAL_FORMAT",
                "The service principal does not match the expected format. Use the format {service-name}.amazonaws.com.".to_owned(),
            ),
            Some(_) => (
                "INVALID_PRINCIPAL_FORMAT",
                "The Principal element contents are not valid. Specify a key-value pair in the Principal element.".to_owned(),
            ),
            None => ("INVALID_PRINCIPAL_KEY", format!("The principal key {} is not valid.", quoted(principal))),
        };
    }
    let fixed = match message {
        "This policy contains invalid Json" => ("JSON_SYNTAX_ERROR", "Fix the JSON syntax error."),
        "Missing required field Statement" => ("MISSING_STATEMENT", "Add a statement to the policy"),
        // The one refusal without a place: a `Statement` with no statement in it.
        "Syntax errors in policy." if error.span.is_none() => ("MISSING_STATEMENT", "Add a statement to the policy"),
        "Syntax errors in policy." => ("DATA_TYPE_MISMATCH", "The text does not match the expected JSON data type."),
        "The policy failed legacy parsing" => {
            ("INVALID_VERSION", "The version is not valid. Use one of the following versions: 2012-10-17, 2008-10-17")
        }
        "Missing required field Effect" => {
            ("MISSING_EFFECT", "Add an Effect element to the policy statement with a value of Allow or Deny.")
        }
        "Invalid principal in policy" => (
            "INVALID_PRINCIPAL_FORMAT",
            "The Principal element contents are not valid. Specify a key-value pair in the Principal element.",
        ),
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc." if in_condition => {
            ("INVALID_CONDITION_KEY_FORMAT", "The condition key format is not valid. Use the format service:keyname.")
        }
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc." => {
            ("INVALID_ACTION", "The action does not exist. Use the format service:action.")
        }
        "Policy statement must contain actions." => {
            ("MISSING_ACTION", "Add an Action or NotAction element to the policy statement.")
        }
        "Policy statement must contain resources." => {
            ("MISSING_RESOURCE", "Add a Resource or NotResource element to the policy statement.")
        }
        "Policy document should not specify a principal." if policy == AnalyzedPolicy::ServiceControl => (
            "SCP_SYNTAX_ERROR_PRINCIPAL",
            "SCPs do not support specifying principals. Remove the Principal or NotPrincipal element.",
        ),
        "Policy document should not specify a principal." => (
            "UNSUPPORTED_PRINCIPAL",
            "The policy type IDENTITY_POLICY does not support the Principal element. Remove the Principal element.",
        ),
        "Missing required field Principal" => ("MISSING_PRINCIPAL", "Add a Principal element to the policy statement."),
        "Has prohibited field NotPrincipal" => (
            "ROLE_TRUST_POLICY_SYNTAX_ERROR_NOTPRINCIPAL",
            "Role trust policies do not support NotPrincipal. Update the policy to use a Principal element instead.",
        ),
        "Has prohibited field Resource" | "Has prohibited field NotResource" => (
            "ROLE_TRUST_POLICY_SYNTAX_ERROR_RESOURCE",
            "Role trust policies apply to the role that they are attached to. You cannot specify a resource. Remove the Resource or NotResource element.",
        ),
        "AssumeRole policy may only specify STS AssumeRole actions." => (
            "UNSUPPORTED_ACTION_IN_POLICY",
            "The action is not supported for the resource-based policy attached to the resource type AWS::IAM::AssumeRolePolicyDocument.",
        ),
        "Statement IDs (SID) in a single policy must be unique." => (
            "UNIQUE_SIDS_REQUIRED",
            "Duplicate statement IDs are not supported for this policy type. Update the Sid value.",
        ),
        _ if message.starts_with("Statement IDs (SID) must be alpha-numeric") => (
            "UNSUPPORTED_SID",
            "Update the characters in the Sid element to use one of the following character types: [a-z, A-Z, 0-9]",
        ),
        // Every refusal of the grammar is named above (a test walks them); anything new reads
        // as a data type problem until it is.
        _ => ("DATA_TYPE_MISMATCH", "The text does not match the expected JSON data type."),
    };
    (fixed.0, fixed.1.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str, policy: AnalyzedPolicy) -> Vec<&'static str> {
        validate_policy(text, policy).iter().map(|finding| finding.issue_code).collect()
    }

    #[test]
    fn every_refusal_of_the_grammar_has_its_issue_code() {
        let statement = |body: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow",{body}}}]}}"#);
        let identity = AnalyzedPolicy::Identity;
        let trust = AnalyzedPolicy::Resource(ResourcePolicyType::AssumeRolePolicyDocument);
        let bucket = AnalyzedPolicy::Resource(ResourcePolicyType::NamingResources);
        let cases: Vec<(String, AnalyzedPolicy, &str)> = vec![
            ("{".into(), identity, "JSON_SYNTAX_ERROR"),
            ("[]".into(), identity, "DATA_TYPE_MISMATCH"),
            (r#"{"Version":"2012-10-17"}"#.into(), identity, "MISSING_STATEMENT"),
            (r#"{"Version":"2012-10-17","Statement":[]}"#.into(), identity, "MISSING_STATEMENT"),
            (r#"{"Version":"2013-01-01","Statement":[]}"#.into(), identity, "INVALID_VERSION"),
            (r#"{"Statement":{"Action":"s3:*","Resource":"*"}}"#.into(), identity, "MISSING_EFFECT"),
            (r#"{"Statement":{"Effect":"allow","Action":"s3:*","Resource":"*"}}"#.into(), identity, "INVALID_EFFECT"),
            (statement(r#""Action":"s3:*","Resource":"*","Foo":1"#), identity, "INVALID_POLICY_ELEMENT"),
            (statement(r#""Action":"s3:*","NotAction":"s3:*","Resource":"*""#), identity, "UNSUPPORTED_ELEMENT_COMBINATION"),
            (statement(r#""Sid":1,"Action":"s3:*","Resource":"*""#), identity, "DATA_TYPE_MISMATCH"),
            (statement(r#""Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"a:b":"c"}}"#), identity, "INVALID_CONDITION_OPERATOR"),
            (statement(r#""Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"ab":"c"}}"#), identity, "INVALID_CONDITION_KEY_FORMAT"),
            (statement(r#""Action":"GetObject","Resource":"*""#), identity, "INVALID_ACTION"),
            (statement(r#""Resource":"*""#), identity, "MISSING_ACTION"),
            (statement(r#""Action":"s3:*""#), identity, "MISSING_RESOURCE"),
            (statement(r#""Action":"s3:*","Resource":"bucket""#), identity, "INVALID_ARN_PREFIX"),
            (statement(r#""Action":"s3:*","Resource":"arn:aws:s3""#), identity, "MISSING_ARN_FIELD"),
            (statement(r#""Principal":"*","Action":"s3:*","Resource":"*""#), identity, "UNSUPPORTED_PRINCIPAL"),
            (statement(r#""Principal":"*","Action":"s3:*","Resource":"*""#), AnalyzedPolicy::ServiceControl, "SCP_SYNTAX_ERROR_PRINCIPAL"),
            (statement(r#""Sid":"a b","Action":"s3:*","Resource":"*""#), identity, "UNSUPPORTED_SID"),
            (
                r#"{"Statement":[{"Sid":"a","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"a","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#.into(),
                identity,
                "UNIQUE_SIDS_REQUIRED",
            ),
            (statement(r#""Action":"s3:*","Resource":"*""#), bucket, "MISSING_PRINCIPAL"),
            (statement(r#""Principal":{"Bogus":"x"},"Action":"s3:*","Resource":"*""#), bucket, "INVALID_PRINCIPAL_KEY"),
            (statement(r#""Principal":["x"],"Action":"s3:*","Resource":"*""#), bucket, "INVALID_PRINCIPAL_FORMAT"),
            (statement(r#""Principal":{"AWS":"arn:aws:iam::111122223333:role/*"},"Action":"s3:*","Resource":"*""#), bucket, "UNSUPPORTED_WILDCARD_IN_PRINCIPAL"),
            (statement(r#""Principal":{"AWS":"bob"},"Action":"s3:*","Resource":"*""#), bucket, "INVALID_PRINCIPAL_FORMAT"),
            (statement(r#""Principal":{"Service":"a b"},"Action":"s3:*","Resource":"*""#), bucket, "INVALID_SERVICE_PRINCIPAL_FORMAT"),
            (statement(r#""NotPrincipal":{"AWS":"111122223333"},"Action":"sts:AssumeRole""#), trust, "ROLE_TRUST_POLICY_SYNTAX_ERROR_NOTPRINCIPAL"),
            (statement(r#""Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Resource":"*""#), trust, "ROLE_TRUST_POLICY_SYNTAX_ERROR_RESOURCE"),
            (statement(r#""Principal":{"AWS":"111122223333"},"Action":"s3:GetObject""#), trust, "UNSUPPORTED_ACTION_IN_POLICY"),
        ];
        for (text, policy, code) in cases {
            let findings = validate_policy(&text, policy);
            assert_eq!(findings.len(), 1, "{text}: {findings:?}");
            assert_eq!((findings[0].finding_type, findings[0].issue_code), ("ERROR", code), "{text}: {findings:?}");
            assert!(!findings[0].details.is_empty());
        }
    }

    #[test]
    fn findings_point_at_what_they_are_about() {
        let text = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Sid\": \"\", \"Effect\": \"Allow\", \"Action\": \"iam:PassRole\", \"Resource\": \"*\"}\n  ]\n}";
        let findings = validate_policy(text, AnalyzedPolicy::Identity);
        let found: Vec<_> = findings.iter().map(|finding| (finding.finding_type, finding.issue_code)).collect();
        assert_eq!(
            found,
            vec![("SUGGESTION", "EMPTY_SID_VALUE"), ("SECURITY_WARNING", "PASS_ROLE_WITH_STAR_IN_RESOURCE")]
        );
        let value = |name: &str| PathStep::Value(name.to_owned());
        let sid = &findings[0].locations[0];
        assert_eq!(sid.path, vec![value("Statement"), PathStep::Index(0), value("Sid")]);
        assert_eq!(
            (sid.start, sid.end),
            (Point { line: 4, column: 12, offset: 58 }, Point { line: 4, column: 14, offset: 60 })
        );
        let resource = &findings[1].locations[0];
        assert_eq!(resource.path, vec![value("Statement"), PathStep::Index(0), value("Resource")]);
        assert_eq!(&text[resource.start.offset as usize..resource.end.offset as usize], "\"*\"");
        assert!(
            findings[0]
                .learn_more_link()
                .ends_with("#access-analyzer-reference-policy-checks-suggestion-empty-sid-value")
        );

        let broken = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [}";
        let syntax = &validate_policy(broken, AnalyzedPolicy::Identity)[0];
        assert_eq!(syntax.details, "Fix the JSON syntax error at index 45 line 3 column 16.");
        assert_eq!(syntax.locations[0].start, Point { line: 3, column: 16, offset: 45 });
    }

    #[test]
    fn policy_types_choose_the_grammar_and_the_extra_checks() {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"},{"Sid":"a","Effect":"Allow","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let any = AnalyzedPolicy::Resource(ResourcePolicyType::Any);
        assert_eq!(codes(trust, any), vec!["UNIQUE_SIDS_RECOMMENDED"]);
        assert_eq!(
            codes(trust, AnalyzedPolicy::Resource(ResourcePolicyType::NamingResources)),
            vec!["MISSING_RESOURCE"]
        );
        assert_eq!(
            codes(trust, AnalyzedPolicy::Identity),
            vec!["UNIQUE_SIDS_REQUIRED"],
            "identity policies need unique ids"
        );
        let admin = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
        assert_eq!(
            codes(admin, AnalyzedPolicy::Identity),
            vec!["PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE", "CREATE_SLR_WITH_STAR_IN_ACTION_AND_RESOURCE"],
            "Homeport's own FULL_ACCESS is not Access Analyzer's"
        );
        let actions: Vec<String> = (0..400).map(|n| format!("\"s3:GetObjectVersionTagging{n}\"")).collect();
        let large = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Deny","Action":[{}],"Resource":"*"}}}}"#,
            actions.join(",")
        );
        assert_eq!(codes(&large, AnalyzedPolicy::Identity), vec!["POLICY_SIZE_EXCEEDS_IDENTITY_POLICY_QUOTA"]);
        assert_eq!(codes(&large, AnalyzedPolicy::ServiceControl), vec!["POLICY_SIZE_EXCEEDS_SCP_QUOTA"]);
        assert!(codes(&large, AnalyzedPolicy::ResourceControl).contains(&"MISSING_PRINCIPAL"));
        let unicode =
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::€"}}"#;
        assert!(
            codes(unicode, AnalyzedPolicy::Identity).is_empty(),
            "IAM's parameter pattern is not Access Analyzer's"
        );
    }
}
