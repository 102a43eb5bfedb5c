//! Validation by policy kind and size quota, as IAM does when a policy is stored.
//!
//! IAM rejects a document that breaks the rules of its kind with `MalformedPolicyDocument`
//! and one over its size quota with `LimitExceeded`; characters outside IAM's allowed set are
//! a `ValidationError` of the API parameter. Sizes do not count whitespace, as documented.

use crate::arn::{self, Arn};
use crate::document::{Clause, Policy, Statement};
use crate::error::{ErrorCode, PolicyError};
use crate::lint::{self, Finding};

/// What a document is used as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Inline or managed policy of a user, group or role; also permissions boundaries and
    /// session policies. No `Principal`.
    Identity,
    /// A role's trust policy: a principal, only `sts:` actions, no `Resource`.
    Trust,
    /// A resource-based policy (bucket policy): a principal and a resource are required.
    Resource,
    /// An ECR repository policy: a resource-based policy whose statements may omit
    /// `Resource`, which then means the repository it is attached to.
    RepositoryPolicy,
}

/// A size quota from the IAM quotas page, with IAM's error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeQuota<'a> {
    /// A managed policy document: 6,144 characters.
    ManagedPolicy,
    /// A role trust policy: 2,048 characters (the default quota).
    TrustPolicy,
    /// All inline policies of a role together: 10,240 characters.
    RoleInline(&'a str),
    /// All inline policies of a user together: 2,048 characters.
    UserInline(&'a str),
    /// All inline policies of a group together: 5,120 characters.
    GroupInline(&'a str),
}

impl SizeQuota<'_> {
    pub fn limit(self) -> usize {
        match self {
            SizeQuota::ManagedPolicy => 6_144,
            SizeQuota::TrustPolicy | SizeQuota::UserInline(_) => 2_048,
            SizeQuota::RoleInline(_) => 10_240,
            SizeQuota::GroupInline(_) => 5_120,
        }
    }

    /// Checks the total size of `documents` against the quota.
    pub fn check<'t>(self, documents: impl IntoIterator<Item = &'t str>) -> Result<(), PolicyError> {
        let size: usize = documents.into_iter().map(policy_size).sum();
        if size <= self.limit() {
            return Ok(());
        }
        let message = match self {
            SizeQuota::ManagedPolicy => "Cannot exceed quota for PolicySize: 6144".to_owned(),
            SizeQuota::TrustPolicy => "Cannot exceed quota for ACLSizePerRole: 2048".to_owned(),
            SizeQuota::RoleInline(name) => format!("Maximum policy size of 10240 bytes exceeded for role {name}"),
            SizeQuota::UserInline(name) => format!("Maximum policy size of 2048 bytes exceeded for user {name}"),
            SizeQuota::GroupInline(name) => format!("Maximum policy size of 5120 bytes exceeded for group {name}"),
        };
        Err(PolicyError::new(ErrorCode::LimitExceeded, message))
    }
}

/// The size IAM counts against quotas: characters other than whitespace.
pub fn policy_size(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// A valid policy and the least-privilege findings about it.
#[derive(Debug, Clone)]
pub struct Validated {
    pub policy: Policy,
    pub findings: Vec<Finding>,
}

/// Parses and validates `text` as a policy of `kind`.
pub fn validate(text: &str, kind: PolicyKind) -> Result<Validated, PolicyError> {
    check_characters(text)?;
    validate_grammar(text, kind)
}

/// [`validate`] without IAM's API parameter pattern (Access Analyzer, whose documents are
/// not IAM's parameters, takes any characters).
pub(crate) fn validate_grammar(text: &str, kind: PolicyKind) -> Result<Validated, PolicyError> {
    let policy = Policy::parse(text)?;
    if policy.statements.is_empty() {
        return Err(PolicyError::malformed("Syntax errors in policy."));
    }
    check_sids(&policy, kind)?;
    for statement in &policy.statements {
        check_statement(statement, kind)?;
    }
    let findings = lint::findings(&policy, kind);
    Ok(Validated { policy, findings })
}

/// IAM's `policyDocument` parameter pattern: `[\u0009\u000A\u000D\u0020-\u00FF]+`.
fn check_characters(text: &str) -> Result<(), PolicyError> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}');
    if !text.is_empty() && text.chars().all(allowed) {
        return Ok(());
    }
    Err(PolicyError::new(
        ErrorCode::ValidationError,
        "1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
    ))
}

fn check_sids(policy: &Policy, kind: PolicyKind) -> Result<(), PolicyError> {
    if matches!(kind, PolicyKind::Resource | PolicyKind::RepositoryPolicy) {
        return Ok(());
    }
    let mut seen: Vec<&str> = Vec::new();
    for statement in &policy.statements {
        let Some(sid) = statement.sid.as_deref() else { continue };
        if !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(PolicyError::malformed(
                "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
            )
            .at(statement.span));
        }
        if !sid.is_empty() && seen.contains(&sid) {
            return Err(
                PolicyError::malformed("Statement IDs (SID) in a single policy must be unique.").at(statement.span)
            );
        }
        seen.push(sid);
    }
    Ok(())
}

fn check_statement(statement: &Statement, kind: PolicyKind) -> Result<(), PolicyError> {
    let at = |error: PolicyError| error.at(statement.span);
    let Some(action) = &statement.action else {
        return Err(at(PolicyError::malformed("Policy statement must contain actions.")));
    };
    for pattern in &action.items {
        check_action(&pattern.text).map_err(|error| error.at(action.span))?;
    }
    match kind {
        PolicyKind::Identity => {
            if statement.principal.is_some() {
                return Err(at(PolicyError::malformed("Policy document should not specify a principal.")));
            }
        }
        PolicyKind::Trust => {
            match &statement.principal {
                None => return Err(at(PolicyError::malformed("Missing required field Principal"))),
                Some(clause) if clause.negated => {
                    return Err(at(PolicyError::malformed("Has prohibited field NotPrincipal")));
                }
                Some(clause) => check_principals(clause).map_err(at)?,
            }
            if let Some(resource) = &statement.resource {
                let field = if resource.negated { "NotResource" } else { "Resource" };
                return Err(at(PolicyError::malformed(format!("Has prohibited field {field}"))));
            }
            let only_sts = !action.negated
                && action
                    .items
                    .iter()
                    .all(|pattern| pattern.text.get(..4).is_some_and(|prefix| prefix.eq_ignore_ascii_case("sts:")));
            if !only_sts {
                return Err(at(PolicyError::malformed("AssumeRole policy may only specify STS AssumeRole actions.")));
            }
            return Ok(());
        }
        PolicyKind::Resource | PolicyKind::RepositoryPolicy => match &statement.principal {
            None => return Err(at(PolicyError::malformed("Missing required field Principal"))),
            Some(clause) => check_principals(clause).map_err(at)?,
        },
    }
    if kind == PolicyKind::RepositoryPolicy && statement.resource.is_none() {
        return Ok(());
    }
    let Some(resource) = &statement.resource else {
        return Err(at(PolicyError::malformed("Policy statement must contain resources.")));
    };
    for pattern in &resource.items {
        check_resource(&pattern.text).map_err(|error| error.at(resource.span))?;
    }
    Ok(())
}

/// `*`, or `vendor:action` where the vendor is letters, digits and hyphens.
fn check_action(text: &str) -> Result<(), PolicyError> {
    if text == "*" {
        return Ok(());
    }
    let well_formed = text.split_once(':').is_some_and(|(vendor, name)| {
        !vendor.is_empty()
            && vendor.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '*' || c == '?')
            && !name.is_empty()
    });
    if well_formed {
        Ok(())
    } else {
        Err(PolicyError::malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."))
    }
}

/// `*`, or an ARN with all six parts (wildcards allowed inside them).
fn check_resource(text: &str) -> Result<(), PolicyError> {
    let arn_like = text.starts_with("arn:") && (text.matches(':').count() >= 5 || text.ends_with('*'));
    if text == "*" || arn_like {
        Ok(())
    } else {
        Err(PolicyError::malformed(format!("Resource {text} must be in ARN format or \"*\".")))
    }
}

/// AWS principals must be account ids or IAM / STS ARNs, without partial wildcards.
fn check_principals(clause: &Clause<crate::principal::PrincipalSet>) -> Result<(), PolicyError> {
    for set in &clause.items {
        for value in &set.aws {
            if !valid_aws_principal(value) {
                return Err(PolicyError::malformed(format!("Invalid principal in policy: \"AWS\":\"{value}\"")));
            }
        }
        for value in &set.service {
            if value.is_empty() || value.contains(['*', ' ', ':']) {
                return Err(PolicyError::malformed(format!("Invalid principal in policy: \"SERVICE\":\"{value}\"")));
            }
        }
    }
    Ok(())
}

fn valid_aws_principal(value: &str) -> bool {
    if arn::is_account_id(value) {
        return true;
    }
    let Some(parsed) = Arn::parse(value) else { return false };
    let kind = parsed.resource.split('/').next().unwrap_or_default();
    let known = match parsed.service {
        "iam" => parsed.resource == "root" || matches!(kind, "user" | "role"),
        "sts" => matches!(kind, "assumed-role" | "federated-user"),
        _ => false,
    };
    known && arn::is_account_id(parsed.account) && !value.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_TRUST: &str = r#"{
  "Version": "2012-10-17",
  "Statement": {
    "Effect": "Allow",
    "Principal": {"Service": [
      "ssm.amazonaws.com"
    ]},
    "Action": "sts:AssumeRole"
  }
}"#;

    #[test]
    fn the_seed_trust_policy_is_a_valid_trust_policy_and_not_an_identity_policy() {
        assert!(validate(SEED_TRUST, PolicyKind::Trust).is_ok());
        let error = validate(SEED_TRUST, PolicyKind::Identity).unwrap_err();
        assert_eq!(error.message, "Policy document should not specify a principal.");
    }

    #[test]
    fn kind_rules_refuse_with_iam_messages() {
        let statement = |body: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow",{body}}}]}}"#);
        let cases = [
            (PolicyKind::Trust, statement(r#""Action":"sts:AssumeRole""#), "Missing required field Principal"),
            (
                PolicyKind::Trust,
                statement(r#""Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"s3:GetObject""#),
                "AssumeRole policy may only specify STS AssumeRole actions.",
            ),
            (
                PolicyKind::Trust,
                statement(r#""Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Resource":"*""#),
                "Has prohibited field Resource",
            ),
            (
                PolicyKind::Trust,
                statement(r#""Principal":{"AWS":"arn:aws:iam::111122223333:role/*"},"Action":"sts:AssumeRole""#),
                "Invalid principal in policy: \"AWS\":\"arn:aws:iam::111122223333:role/*\"",
            ),
            (PolicyKind::Identity, statement(r#""Resource":"*""#), "Policy statement must contain actions."),
            (PolicyKind::Identity, statement(r#""Action":"s3:GetObject""#), "Policy statement must contain resources."),
            (
                PolicyKind::Identity,
                statement(r#""Action":"GetObject","Resource":"*""#),
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
            ),
            (
                PolicyKind::Identity,
                statement(r#""Action":"s3:GetObject","Resource":"bucket""#),
                "Resource bucket must be in ARN format or \"*\".",
            ),
            (
                PolicyKind::Resource,
                statement(r#""Action":"s3:GetObject","Resource":"*""#),
                "Missing required field Principal",
            ),
            (
                PolicyKind::Resource,
                statement(r#""Principal":"*","Action":"s3:GetObject""#),
                "Policy statement must contain resources.",
            ),
            (
                PolicyKind::RepositoryPolicy,
                statement(r#""Action":"ecr:BatchGetImage""#),
                "Missing required field Principal",
            ),
            (
                PolicyKind::RepositoryPolicy,
                statement(r#""Principal":"*","Action":"ecr:BatchGetImage","Resource":"repo""#),
                "Resource repo must be in ARN format or \"*\".",
            ),
            (
                PolicyKind::Identity,
                statement(r#""Sid":"a b","Action":"s3:GetObject","Resource":"*""#),
                "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
            ),
        ];
        for (kind, text, message) in cases {
            let error = validate(&text, kind).unwrap_err();
            assert_eq!((error.code, error.message.as_str()), (ErrorCode::MalformedPolicyDocument, message), "{text}");
        }
    }

    #[test]
    fn repository_policies_may_leave_the_resource_implicit() {
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:role/executor"},"Action":"ecr:BatchGetImage"}]}"#;
        assert!(validate(policy, PolicyKind::RepositoryPolicy).is_ok());
        assert!(validate(policy, PolicyKind::Resource).is_err(), "a bucket policy names its resource");
    }

    #[test]
    fn size_quotas_ignore_whitespace_and_stop_exactly_at_the_limit() {
        let at_limit = "x".repeat(6_144);
        assert!(SizeQuota::ManagedPolicy.check([at_limit.as_str()]).is_ok());
        let spaced = format!("{at_limit}   \n\t");
        assert!(SizeQuota::ManagedPolicy.check([spaced.as_str()]).is_ok());
        let over = "x".repeat(6_145);
        let error = SizeQuota::ManagedPolicy.check([over.as_str()]).unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            (ErrorCode::LimitExceeded, "Cannot exceed quota for PolicySize: 6144")
        );
        let half = "y".repeat(1_024);
        assert!(SizeQuota::UserInline("bob").check([half.as_str(), half.as_str()]).is_ok());
        let error = SizeQuota::UserInline("bob").check([half.as_str(), half.as_str(), "z"]).unwrap_err();
        assert_eq!(error.message, "Maximum policy size of 2048 bytes exceeded for user bob");
    }

    #[test]
    fn every_shipped_aws_managed_policy_is_a_valid_identity_policy_within_quota() {
        let shipped = [
            include_str!("../../../managed-policies/AdministratorAccess.json"),
            include_str!("../../../managed-policies/AmazonEC2ContainerRegistryReadOnly.json"),
            include_str!("../../../managed-policies/AmazonEC2ContainerServiceforEC2Role.json"),
            include_str!("../../../managed-policies/AmazonECSTaskExecutionRolePolicy.json"),
            include_str!("../../../managed-policies/AmazonECS_FullAccess.json"),
            include_str!("../../../managed-policies/AmazonSSMManagedInstanceCore.json"),
            include_str!("../../../managed-policies/CloudWatchLogsFullAccess.json"),
            include_str!("../../../managed-policies/IAMReadOnlyAccess.json"),
            include_str!("../../../managed-policies/PowerUserAccess.json"),
        ];
        for text in shipped {
            assert!(validate(text, PolicyKind::Identity).is_ok(), "{text}");
            assert!(SizeQuota::ManagedPolicy.check([text]).is_ok());
        }
    }

    #[test]
    fn characters_outside_iams_set_are_a_validation_error() {
        let text =
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::€"}}"#;
        assert_eq!(validate(text, PolicyKind::Identity).unwrap_err().code, ErrorCode::ValidationError);
    }
}
