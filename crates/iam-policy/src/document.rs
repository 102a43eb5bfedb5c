//! Policy documents: the grammar of the IAM policy language, read into typed statements.
//!
//! [`Policy::parse`] accepts every form IAM accepts (a string or an array wherever AWS takes
//! either, `Statement` as one object or an array, numbers and booleans as condition values)
//! and refuses what IAM refuses with `MalformedPolicyDocument`, keeping byte spans so errors
//! and the simulator can point at the statement. Kind-specific rules (a trust policy needs a
//! principal, an identity policy must not have one, sizes) are in [`crate::validate`].

use crate::action_index::ActionIndex;
use crate::condition::{Condition, Operator, PolicyValue};
use crate::error::PolicyError;
use crate::json::{self, Key, Node, Span, Value};
use crate::pattern::{Case, Pattern, Segments};
use crate::principal::PrincipalSet;
use crate::variables::Template;

/// The policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
    /// `2008-10-17`, or no `Version`: `${...}` is literal text.
    V2008_10_17,
}

/// A parsed policy document. It keeps its text so positions can be reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub version: Version,
    /// False when the document has no `Version` element.
    pub version_given: bool,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
    /// How many memo slots evaluation needs (distinct fixed resource patterns and conditions).
    pub(crate) slots: usize,
    /// The statements each service's actions can reach.
    pub(crate) action_index: ActionIndex,
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action` (`negated: false`) or `NotAction`, `Resource` or `NotResource`, and so on.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause<T> {
    pub negated: bool,
    pub items: Vec<T>,
    pub span: Span,
}

/// One `Action` entry such as `ecs:Submit*`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionPattern {
    pub text: String,
    pattern: Pattern,
}

/// One `Resource` entry, possibly with policy variables.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcePattern {
    pub text: String,
    pub(crate) matcher: ResourceMatcher,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ResourceMatcher {
    /// A pattern without variables, and its memo slot: identical patterns of a policy share
    /// one, so a request matches each distinct pattern once.
    Fixed(Pattern, u32),
    Template(Template),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    /// Where the `Sid` value is, when there is one.
    pub sid_span: Option<Span>,
    pub effect: Effect,
    pub action: Option<Clause<ActionPattern>>,
    pub resource: Option<Clause<ResourcePattern>>,
    pub principal: Option<Clause<PrincipalSet>>,
    /// Every `operator -> key -> values` entry of the `Condition` block.
    pub conditions: Vec<Condition>,
    pub span: Span,
    /// Where the statement starts and ends (its braces), as IAM reports it.
    pub start: json::Position,
    pub end: json::Position,
}

impl ActionPattern {
    fn new(text: String) -> ActionPattern {
        let pattern = Pattern::glob(&text, Case::Insensitive);
        ActionPattern { text, pattern }
    }

    /// Matches an action name that is already lowercase.
    pub fn matches(&self, lowercase_action: &str) -> bool {
        self.pattern.matches(lowercase_action)
    }
}

impl ResourcePattern {
    fn new(text: String, variables: bool) -> ResourcePattern {
        let template = if variables { Template::parse(&text) } else { None };
        let matcher = match template {
            Some(template) => ResourceMatcher::Template(template),
            None => ResourceMatcher::Fixed(Pattern::arn(&text, Segments::StarAtEndSpans), 0),
        };
        ResourcePattern { text, matcher }
    }
}

impl Policy {
    /// Parses a policy document, refusing what IAM refuses as malformed.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let root = json::parse(text).map_err(|error| {
            PolicyError::malformed("This policy contains invalid Json")
                .at(Span { start: error.offset, end: error.offset })
        })?;
        let Value::Object(members) = root.value else {
            return Err(PolicyError::malformed("Syntax errors in policy.").at(root.span));
        };
        let mut version = None;
        let mut id = None;
        let mut statement_node = None;
        for (key, node) in members {
            match key.name.as_str() {
                "Version" => version = Some((node.span, string(&key, node)?)),
                "Id" => id = Some(string(&key, node)?),
                "Statement" => statement_node = Some(node),
                _ => return Err(unknown_field(&key)),
            }
        }
        let (version, version_given) = match version {
            None => (Version::V2008_10_17, false),
            Some((_, v)) if v == "2012-10-17" => (Version::V2012_10_17, true),
            Some((_, v)) if v == "2008-10-17" => (Version::V2008_10_17, true),
            Some((span, _)) => return Err(PolicyError::malformed("The policy failed legacy parsing").at(span)),
        };
        let variables = version == Version::V2012_10_17;
        let Some(statement_node) = statement_node else {
            return Err(PolicyError::malformed("Missing required field Statement").at(root.span));
        };
        let statement_nodes = match statement_node.value {
            Value::Array(items) => items,
            Value::Object(_) => vec![statement_node],
            _ => return Err(PolicyError::malformed("Syntax errors in policy.").at(statement_node.span)),
        };
        let mut statements =
            statement_nodes.into_iter().map(|node| parse_statement(node, variables)).collect::<Result<Vec<_>, _>>()?;
        let lines = json::LineIndex::new(text);
        for statement in &mut statements {
            statement.start = lines.position(text, statement.span.start);
            statement.end = lines.position(text, statement.span.end.saturating_sub(1));
        }
        let slots = assign_slots(&mut statements);
        let action_index = ActionIndex::build(&statements);
        Ok(Policy { version, version_given, id, statements, slots, action_index, text: text.to_owned() })
    }

    /// The context keys the policy reads, for IAM's `GetContextKeysFor*Policy`: every
    /// `Condition` key, and every key named by a policy variable (`${aws:username}`) in a
    /// `Resource` / `NotResource` entry or a condition value.
    ///
    /// Keys come statement by statement, resource variables before conditions, each key once
    /// (keys compare case-insensitively; the first spelling is kept). That is the order of
    /// the one answer AWS documents (`get-context-keys-for-custom-policy`: a `${aws:username}`
    /// resource and an `aws:CurrentTime` condition give `aws:username`, `aws:CurrentTime`),
    /// which is not alphabetical. Variables count only where they are substituted, in
    /// `2012-10-17` policies; `Action`, `Principal` and `Sid` never hold keys.
    pub fn context_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for statement in &self.statements {
            let resource_keys = statement
                .resource
                .iter()
                .flat_map(|clause| clause.items.iter())
                .filter_map(|pattern| match &pattern.matcher {
                    ResourceMatcher::Template(template) => Some(template.keys()),
                    ResourceMatcher::Fixed(..) => None,
                })
                .flatten();
            let condition_keys = statement.conditions.iter().flat_map(Condition::keys);
            for key in resource_keys.chain(condition_keys) {
                if !keys.iter().any(|seen| seen.eq_ignore_ascii_case(key)) {
                    keys.push(key);
                }
            }
        }
        keys
    }

    /// The document as it was given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The 1-based line and column of a byte offset in the document.
    pub fn position(&self, offset: usize) -> json::Position {
        json::position(&self.text, offset)
    }
}

/// Gives identical fixed resource patterns, and identical conditions, one shared memo slot.
fn assign_slots(statements: &mut [Statement]) -> usize {
    let mut slots: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut slot_for = |identity: String| {
        let next = u32::try_from(slots.len()).unwrap_or(u32::MAX);
        *slots.entry(identity).or_insert(next)
    };
    for statement in statements.iter_mut() {
        if let Some(clause) = &mut statement.resource {
            for pattern in &mut clause.items {
                if let ResourceMatcher::Fixed(_, slot) = &mut pattern.matcher {
                    *slot = slot_for(format!("resource\u{0}{}", pattern.text));
                }
            }
        }
        for condition in &mut statement.conditions {
            condition.slot = condition.identity().map(|identity| slot_for(format!("condition\u{0}{identity}")));
        }
    }
    slots.len()
}

fn unknown_field(key: &Key) -> PolicyError {
    PolicyError::malformed(format!("Unknown field {}", key.name)).at(key.span)
}

fn string(key: &Key, node: Node) -> Result<String, PolicyError> {
    match node.value {
        Value::String(text) => Ok(text),
        _ => Err(PolicyError::malformed(format!("Field {} must be a string", key.name)).at(node.span)),
    }
}

/// A string, or an array of strings, as IAM accepts for Action, Resource and principals.
fn strings(key: &Key, node: Node) -> Result<Vec<String>, PolicyError> {
    match node.value {
        Value::String(text) => Ok(vec![text]),
        Value::Array(items) => items.into_iter().map(|item| string(key, item)).collect(),
        _ => Err(PolicyError::malformed("Syntax errors in policy.").at(node.span)),
    }
}

fn parse_statement(node: Node, variables: bool) -> Result<Statement, PolicyError> {
    let span = node.span;
    let Value::Object(members) = node.value else {
        return Err(PolicyError::malformed("Syntax errors in policy.").at(span));
    };
    let mut statement = Statement {
        sid: None,
        sid_span: None,
        effect: Effect::Allow,
        action: None,
        resource: None,
        principal: None,
        conditions: Vec::new(),
        span,
        start: json::Position { line: 1, column: 1 },
        end: json::Position { line: 1, column: 1 },
    };
    let mut effect = None;
    for (key, node) in members {
        let node_span = node.span;
        let negated = key.name.starts_with("Not");
        match key.name.as_str() {
            "Sid" => {
                statement.sid = Some(string(&key, node)?);
                statement.sid_span = Some(node_span);
            }
            "Effect" => {
                effect = Some(match string(&key, node)?.as_str() {
                    "Allow" => Effect::Allow,
                    "Deny" => Effect::Deny,
                    other => {
                        return Err(PolicyError::malformed(format!("Invalid effect: {other}")).at(node_span));
                    }
                });
            }
            "Action" | "NotAction" => {
                let items = strings(&key, node)?.into_iter().map(ActionPattern::new).collect();
                set_once(&mut statement.action, Clause { negated, items, span: node_span }, &key)?;
            }
            "Resource" | "NotResource" => {
                let items =
                    strings(&key, node)?.into_iter().map(|text| ResourcePattern::new(text, variables)).collect();
                set_once(&mut statement.resource, Clause { negated, items, span: node_span }, &key)?;
            }
            "Principal" | "NotPrincipal" => {
                let set = parse_principal(node)?;
                set_once(&mut statement.principal, Clause { negated, items: vec![set], span: node_span }, &key)?;
            }
            "Condition" => statement.conditions = parse_conditions(node, variables)?,
            _ => return Err(unknown_field(&key)),
        }
    }
    statement.effect = effect.ok_or_else(|| PolicyError::malformed("Missing required field Effect").at(span))?;
    Ok(statement)
}

/// `Action` and `NotAction` (and the other pairs) exclude each other.
fn set_once<T>(slot: &mut Option<Clause<T>>, clause: Clause<T>, key: &Key) -> Result<(), PolicyError> {
    if slot.is_some() {
        return Err(PolicyError::malformed(format!("Statement cannot contain both {} and its counterpart", key.name))
            .at(key.span));
    }
    *slot = Some(clause);
    Ok(())
}

fn parse_principal(node: Node) -> Result<PrincipalSet, PolicyError> {
    let span = node.span;
    let mut set = PrincipalSet::default();
    match node.value {
        Value::String(text) if text == "*" => set.everyone = true,
        Value::Object(members) => {
            for (key, node) in members {
                let values = strings(&key, node)?;
                match key.name.as_str() {
                    "AWS" => {
                        if values.iter().any(|v| v == "*") {
                            set.everyone = true;
                        }
                        set.aws.extend(values.into_iter().filter(|v| v != "*"));
                    }
                    "Service" => set.service.extend(values),
                    "Federated" => set.federated.extend(values),
                    "CanonicalUser" => set.canonical_user.extend(values),
                    other => {
                        return Err(
                            PolicyError::malformed(format!("Invalid principal in policy: \"{other}\"")).at(key.span)
                        );
                    }
                }
            }
        }
        _ => return Err(PolicyError::malformed("Invalid principal in policy").at(span)),
    }
    Ok(set)
}

fn parse_conditions(node: Node, variables: bool) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(operators) = node.value else {
        return Err(PolicyError::malformed("Syntax errors in policy.").at(node.span));
    };
    let mut conditions = Vec::new();
    for (operator_key, keys_node) in operators {
        let operator = Operator::parse(&operator_key.name).ok_or_else(|| {
            PolicyError::malformed(format!("Invalid Condition type : {}", operator_key.name)).at(operator_key.span)
        })?;
        let Value::Object(keys) = keys_node.value else {
            return Err(PolicyError::malformed("Syntax errors in policy.").at(keys_node.span));
        };
        for (key, values_node) in keys {
            let span = values_node.span;
            if !key.name.contains(':') || key.name.starts_with(':') {
                return Err(PolicyError::malformed(
                    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
                )
                .at(key.span));
            }
            let values = condition_values(values_node)?
                .into_iter()
                .map(|text| PolicyValue::new(text, operator.base, variables))
                .collect();
            let mut condition = Condition::new(operator, key.name, values);
            condition.span = span;
            condition.operator_name.clone_from(&operator_key.name);
            conditions.push(condition);
        }
    }
    Ok(conditions)
}

/// Condition values: strings, numbers or booleans, alone or in an array.
fn condition_values(node: Node) -> Result<Vec<String>, PolicyError> {
    fn scalar(node: Node) -> Result<String, PolicyError> {
        match node.value {
            Value::String(text) | Value::Number(text) => Ok(text),
            Value::Bool(flag) => Ok(flag.to_string()),
            _ => Err(PolicyError::malformed("Syntax errors in policy.").at(node.span)),
        }
    }
    match node.value {
        Value::Array(items) => items.into_iter().map(scalar).collect(),
        _ => scalar(node).map(|value| vec![value]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_trust_policy_with_a_single_statement_object() {
        let text = r#"{
  "Version": "2012-10-17",
  "Statement": {
    "Effect": "Allow",
    "Principal": {"Service": [
      "ssm.amazonaws.com"
    ]},
    "Action": "sts:AssumeRole"
  }
}"#;
        let policy = Policy::parse(text).unwrap();
        assert_eq!(policy.version, Version::V2012_10_17);
        assert_eq!(policy.statements.len(), 1);
        let statement = &policy.statements[0];
        assert_eq!(statement.principal.as_ref().unwrap().items[0].service, vec!["ssm.amazonaws.com"]);
        assert_eq!(policy.position(statement.span.start), json::Position { line: 3, column: 16 });
        assert_eq!(statement.start, json::Position { line: 3, column: 16 });
        assert_eq!(statement.end, json::Position { line: 9, column: 3 });
    }

    #[test]
    fn context_keys_are_condition_keys_and_variables_in_document_order() {
        // AWS's documented example first: the resource variable, then the condition key.
        let documented = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}"#,
        )
        .unwrap();
        assert_eq!(documented.context_keys(), vec!["aws:username", "aws:CurrentTime"]);

        let text = r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::${aws:PrincipalTag/team, 'none'}/*",
             "Condition": {"StringEquals": {"s3:prefix": ["home/${aws:UserName}/", "${aws:username}"]},
                           "Null": {"aws:TokenIssueTime": "true"}}},
            {"Effect": "Deny", "Action": "${aws:NotAKey}", "Resource": "arn:aws:s3:::${*}plain",
             "Condition": {"BoolIfExists": {"AWS:MultiFactorAuthPresent": false, "aws:multifactorauthpresent": true}}}
        ]}"#;
        assert_eq!(
            Policy::parse(text).unwrap().context_keys(),
            vec![
                "aws:PrincipalTag/team",
                "s3:prefix",
                "aws:UserName",
                "aws:TokenIssueTime",
                "AWS:MultiFactorAuthPresent"
            ],
            "each key once, as first written; escapes and actions name no key"
        );

        // Before 2012-10-17, `${...}` is literal text: only the condition key counts.
        let legacy = Policy::parse(
            r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::${aws:username}",
                "Condition":{"StringLike":{"s3:prefix":"${aws:userid}"}}}}"#,
        )
        .unwrap();
        assert_eq!(legacy.context_keys(), vec!["s3:prefix"]);
        let none = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        assert!(Policy::parse(none).unwrap().context_keys().is_empty());
    }

    #[test]
    fn refuses_malformed_documents_with_iam_messages() {
        let cases = [
            ("{", "This policy contains invalid Json"),
            ("[]", "Syntax errors in policy."),
            (r#"{"Version":"2012-10-17"}"#, "Missing required field Statement"),
            (r#"{"Version":"2013-01-01","Statement":[]}"#, "The policy failed legacy parsing"),
            (r#"{"Statement":{"Action":"s3:*","Resource":"*"}}"#, "Missing required field Effect"),
            (r#"{"Statement":{"Effect":"allow","Action":"s3:*","Resource":"*"}}"#, "Invalid effect: allow"),
            (r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Foo":1}}"#, "Unknown field Foo"),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"a:b":"c"}}}}"#,
                "Invalid Condition type : StringEqualz",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(Policy::parse(text).unwrap_err().message, message, "{text}");
        }
    }
}
