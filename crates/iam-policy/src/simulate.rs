//! IAM's `SimulateCustomPolicy`: its request and response shapes and its semantics.
//!
//! The shapes are IAM's own (PascalCase members), so the offline CLI reads an
//! `aws iam simulate-custom-policy --cli-input-json` file as it is and prints what the API
//! would return, and the server's IAM API will serve the same code.
//!
//! Simulator semantics (recorded in ARCHITECTURE.md): context keys come only from
//! `ContextEntries`; the default resource `*` is matched as the literal text `*`; the owner of
//! the resource policy is `ResourceOwner`, else the account of `CallerArn`.

use serde::{Deserialize, Serialize};

use crate::context::{Context, ContextValue};
use crate::decision::{
    Decision, EvalDecision, MatchedStatement, PolicyRef, PolicySet, PolicyType, ResourcePolicyKind, decide,
};
use crate::document::Policy;
use crate::eval::Request;
use crate::json::Position;
use crate::principal::Caller;

/// The request of `SimulateCustomPolicy`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimulateCustomPolicyRequest {
    pub policy_input_list: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions_boundary_policy_input_list: Vec<String>,
    pub action_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_arns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_entries: Vec<ContextEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_handling_option: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

impl SimulateCustomPolicyRequest {
    /// Reads a request from its JSON form (an `--cli-input-json` document). Policies may be
    /// given as JSON strings, as the API takes them, or as JSON objects, which are serialized.
    pub fn from_json(mut value: serde_json::Value) -> Result<SimulateCustomPolicyRequest, InvalidInput> {
        for list in ["PolicyInputList", "PermissionsBoundaryPolicyInputList"] {
            if let Some(serde_json::Value::Array(items)) = value.get_mut(list) {
                items.iter_mut().for_each(stringify_policy);
            }
        }
        if let Some(policy) = value.get_mut("ResourcePolicy") {
            stringify_policy(policy);
        }
        serde_json::from_value(value)
            .map_err(|error| invalid(format!("the request does not fit SimulateCustomPolicy: {error}")))
    }
}

/// A policy given as a JSON object becomes its pretty-printed text; a string stays as it is.
pub fn stringify_policy(value: &mut serde_json::Value) {
    if !value.is_string() {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        *value = serde_json::Value::String(text);
    }
}

/// One `ContextEntries` member.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContextEntry {
    pub context_key_name: String,
    #[serde(default)]
    pub context_key_values: Vec<String>,
    pub context_key_type: String,
}

/// The response of `SimulateCustomPolicy` (and `SimulatePrincipalPolicy`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimulatePolicyResponse {
    pub evaluation_results: Vec<EvaluationResult>,
    pub is_truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EvaluationResult {
    pub eval_action_name: String,
    pub eval_resource_name: String,
    pub eval_decision: EvalDecision,
    pub matched_statements: Vec<StatementRef>,
    pub missing_context_values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary_decision_detail: Option<PermissionsBoundaryDecisionDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_decision_details: Option<std::collections::BTreeMap<String, EvalDecision>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_specific_results: Vec<ResourceSpecificResult>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceSpecificResult {
    pub eval_resource_name: String,
    pub eval_resource_decision: EvalDecision,
    pub matched_statements: Vec<StatementRef>,
    pub missing_context_values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary_decision_detail: Option<PermissionsBoundaryDecisionDetail>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionsBoundaryDecisionDetail {
    pub allowed_by_permissions_boundary: bool,
}

/// IAM's `Statement` shape: which input policy and where in it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatementRef {
    pub source_policy_id: String,
    pub source_policy_type: String,
    pub start_position: Position,
    pub end_position: Position,
}

/// A request IAM refuses before simulating (`InvalidInput`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    pub message: String,
    /// True when the refusal is a policy of the request that does not parse: IAM's API
    /// answers that with `MalformedPolicyDocument` rather than `InvalidInput`.
    pub malformed_policy: bool,
}

impl std::fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InvalidInput: {}", self.message)
    }
}

impl std::error::Error for InvalidInput {}

fn invalid(message: impl Into<String>) -> InvalidInput {
    InvalidInput { message: message.into(), malformed_policy: false }
}

fn malformed(message: String) -> InvalidInput {
    InvalidInput { message, malformed_policy: true }
}

/// Extra inputs the simulator's API cannot express but the engine supports (used by the
/// corpus and by the server, which knows real sessions).
#[derive(Debug, Clone, Default)]
pub struct Extensions {
    pub session_policies: Vec<String>,
    /// The caller, when it is not described by `CallerArn` alone (a service principal, or a
    /// role session whose role has a path).
    pub caller: Option<Caller>,
    pub resource_policy_kind: ResourcePolicyKind,
}

/// Runs `SimulateCustomPolicy`.
pub fn simulate_custom_policy(request: &SimulateCustomPolicyRequest) -> Result<SimulatePolicyResponse, InvalidInput> {
    simulate_with(request, &Extensions::default())
}

/// Runs `SimulateCustomPolicy` with inputs beyond the API's.
pub fn simulate_with(
    request: &SimulateCustomPolicyRequest,
    extensions: &Extensions,
) -> Result<SimulatePolicyResponse, InvalidInput> {
    if request.action_names.is_empty() {
        return Err(invalid("ActionNames must contain at least one action"));
    }
    let parse_all = |texts: &[String], what: &str| -> Result<Vec<Policy>, InvalidInput> {
        texts
            .iter()
            .enumerate()
            .map(|(index, text)| {
                Policy::parse(text).map_err(|error| malformed(format!("{what}.{}: {}", index + 1, error.message)))
            })
            .collect()
    };
    let identity = parse_all(&request.policy_input_list, "PolicyInputList")?;
    let boundaries = parse_all(&request.permissions_boundary_policy_input_list, "PermissionsBoundaryPolicyInputList")?;
    let session = parse_all(&extensions.session_policies, "SessionPolicyInputList")?;
    let resource_policy = match &request.resource_policy {
        Some(text) => {
            Some(Policy::parse(text).map_err(|error| malformed(format!("ResourcePolicy: {}", error.message)))?)
        }
        None => None,
    };
    let caller = match (&extensions.caller, &request.caller_arn) {
        (Some(caller), _) => Some(caller.clone()),
        (None, Some(arn)) => Some(
            Caller::from_arn(arn).ok_or_else(|| invalid(format!("CallerArn {arn} is not a valid principal ARN")))?,
        ),
        (None, None) => None,
    };
    if resource_policy.is_some() && caller.is_none() {
        return Err(invalid("CallerArn is required when a ResourcePolicy is specified"));
    }
    let resource_account = match &request.resource_owner {
        Some(owner) => Some(owner_account(owner)?),
        None => None,
    };
    let context = context_from_entries(&request.context_entries)?;

    let ids = |prefix: &str, count: usize| (1..=count).map(|n| format!("{prefix}.{n}")).collect::<Vec<_>>();
    let identity_ids = ids("PolicyInputList", identity.len());
    let boundary_ids = ids("PermissionsBoundaryPolicyInputList", boundaries.len());
    let session_ids = ids("SessionPolicyInputList", session.len());
    let (identity_refs, boundary_refs, session_refs) = (
        policy_refs(&identity_ids, &identity),
        policy_refs(&boundary_ids, &boundaries),
        policy_refs(&session_ids, &session),
    );
    let policies = PolicySet {
        identity: &identity_refs,
        boundaries: &boundary_refs,
        session: &session_refs,
        resource: resource_policy.as_ref().map(|policy| PolicyRef { id: "ResourcePolicy", policy }),
        resource_kind: extensions.resource_policy_kind,
        resource_account: resource_account.as_deref(),
    };

    let default_resources = [String::from("*")];
    let resources: &[String] =
        if request.resource_arns.is_empty() { &default_resources } else { &request.resource_arns };
    let total = request.action_names.len().saturating_mul(resources.len());
    let page = page_bounds(total, request.max_items, request.marker.as_deref())?;
    // Only the requested page is evaluated, so a huge request costs one page of memory.
    let evaluation_results = page
        .clone()
        .filter_map(|index| {
            let action = request.action_names.get(index / resources.len())?;
            let resource = resources.get(index % resources.len())?;
            let query = Request::new(action, resource, caller.as_ref(), &context).tracking_missing_keys();
            let decision = decide(&policies, &query);
            Some(evaluation_result(action, resource, &decision, !request.resource_arns.is_empty()))
        })
        .collect();
    let is_truncated = page.end < total;
    Ok(SimulatePolicyResponse { evaluation_results, is_truncated, marker: is_truncated.then(|| page.end.to_string()) })
}

/// The indexes of the results on the requested page: `MaxItems` (default 100, at most
/// 1,000) from `Marker` on.
fn page_bounds(
    total: usize,
    max_items: Option<i64>,
    marker: Option<&str>,
) -> Result<std::ops::Range<usize>, InvalidInput> {
    let start = match marker {
        None => 0,
        Some(marker) => marker
            .parse::<usize>()
            .ok()
            .filter(|start| *start <= total)
            .ok_or_else(|| invalid("Marker is not valid for this request"))?,
    };
    let size = match max_items {
        None => 100,
        Some(n @ 1..=1000) => usize::try_from(n).unwrap_or(1000),
        Some(_) => return Err(invalid("MaxItems must be between 1 and 1000")),
    };
    Ok(start..start.saturating_add(size).min(total))
}

fn policy_refs<'a>(ids: &'a [String], policies: &'a [Policy]) -> Vec<PolicyRef<'a>> {
    ids.iter().zip(policies).map(|(id, policy)| PolicyRef { id: id.as_str(), policy }).collect()
}

fn owner_account(owner: &str) -> Result<String, InvalidInput> {
    if crate::arn::is_account_id(owner) {
        return Ok(owner.to_owned());
    }
    crate::arn::Arn::parse(owner)
        .map(|arn| arn.account.to_owned())
        .filter(|account| crate::arn::is_account_id(account))
        .ok_or_else(|| invalid(format!("ResourceOwner {owner} is not an account ARN")))
}

/// Builds the context from `ContextEntries`; a `...List` type makes a multi-valued key.
pub fn context_from_entries(entries: &[ContextEntry]) -> Result<Context, InvalidInput> {
    const TYPES: &[&str] = &["string", "numeric", "boolean", "ip", "binary", "date"];
    let mut context = Context::new();
    for entry in entries {
        let kind = entry.context_key_type.as_str();
        let (base, list) = match kind.strip_suffix("List") {
            Some(base) => (base, true),
            None => (kind, false),
        };
        if !TYPES.contains(&base) {
            return Err(invalid(format!(
                "ContextKeyType {kind} of {} is not one of string, stringList, numeric, numericList, boolean, booleanList, ip, ipList, binary, binaryList, date, dateList",
                entry.context_key_name
            )));
        }
        let value = match (list, entry.context_key_values.as_slice()) {
            (false, [single]) => ContextValue::Single(single.clone()),
            (_, values) => ContextValue::Multi(values.to_vec()),
        };
        context.insert(&entry.context_key_name, value);
    }
    Ok(context)
}

fn evaluation_result(action: &str, resource: &str, decision: &Decision, resources_given: bool) -> EvaluationResult {
    let matched: Vec<StatementRef> = decision.matched.iter().map(statement_ref).collect();
    let boundary = decision
        .allowed_by_boundary
        .map(|allowed| PermissionsBoundaryDecisionDetail { allowed_by_permissions_boundary: allowed });
    let resource_specific_results = if resources_given {
        vec![ResourceSpecificResult {
            eval_resource_name: resource.to_owned(),
            eval_resource_decision: decision.decision,
            matched_statements: matched.clone(),
            missing_context_values: decision.missing_context.clone(),
            permissions_boundary_decision_detail: boundary,
        }]
    } else {
        Vec::new()
    };
    EvaluationResult {
        eval_action_name: action.to_owned(),
        eval_resource_name: resource.to_owned(),
        eval_decision: decision.decision,
        matched_statements: matched,
        missing_context_values: if resources_given { Vec::new() } else { decision.missing_context.clone() },
        permissions_boundary_decision_detail: boundary,
        eval_decision_details: None,
        resource_specific_results,
    }
}

fn statement_ref(matched: &MatchedStatement) -> StatementRef {
    let source_policy_type = match matched.policy_type {
        PolicyType::Resource => "Resource Policy",
        PolicyType::Identity | PolicyType::PermissionsBoundary | PolicyType::Session => "IAM Policy",
    };
    StatementRef {
        source_policy_id: matched.policy_id.clone(),
        source_policy_type: source_policy_type.to_owned(),
        start_position: matched.start,
        end_position: matched.end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(policy: &str) -> SimulateCustomPolicyRequest {
        SimulateCustomPolicyRequest {
            policy_input_list: vec![policy.to_owned()],
            action_names: vec!["s3:GetObject".to_owned()],
            ..SimulateCustomPolicyRequest::default()
        }
    }

    const MFA_HOME: &str = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "Home", "Effect": "Allow",
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:UserName}/*",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}"#;

    #[test]
    fn missing_context_values_name_the_keys_as_written() {
        let mut req = request(MFA_HOME);
        req.resource_arns = vec!["arn:aws:s3:::home/bob/notes".to_owned()];
        let response = simulate_custom_policy(&req).unwrap();
        let result = &response.evaluation_results[0];
        assert_eq!(result.eval_decision, EvalDecision::ImplicitDeny);
        // With resources given, the missing keys are reported per resource.
        assert!(result.missing_context_values.is_empty());
        assert_eq!(
            result.resource_specific_results[0].missing_context_values,
            vec!["aws:MultiFactorAuthPresent", "aws:UserName"]
        );

        req.context_entries = vec![
            ContextEntry {
                context_key_name: "aws:username".to_owned(),
                context_key_values: vec!["bob".to_owned()],
                context_key_type: "string".to_owned(),
            },
            ContextEntry {
                context_key_name: "aws:MultiFactorAuthPresent".to_owned(),
                context_key_values: vec!["true".to_owned()],
                context_key_type: "boolean".to_owned(),
            },
        ];
        let response = simulate_custom_policy(&req).unwrap();
        let result = &response.evaluation_results[0];
        assert_eq!(result.eval_decision, EvalDecision::Allowed);
        assert_eq!(result.matched_statements[0].source_policy_id, "PolicyInputList.1");
        assert_eq!(result.matched_statements[0].start_position, Position { line: 1, column: 41 });
        assert!(result.resource_specific_results[0].missing_context_values.is_empty());
    }

    #[test]
    fn the_boundary_decision_is_reported() {
        let mut req =
            request(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#);
        req.permissions_boundary_policy_input_list = vec![
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}"#.to_owned(),
        ];
        let result = &simulate_custom_policy(&req).unwrap().evaluation_results[0];
        assert_eq!(result.eval_decision, EvalDecision::ImplicitDeny);
        assert_eq!(
            result.permissions_boundary_decision_detail,
            Some(PermissionsBoundaryDecisionDetail { allowed_by_permissions_boundary: false })
        );
    }

    #[test]
    fn pages_follow_max_items_and_marker() {
        let mut req =
            request(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#);
        req.action_names = vec!["s3:A".into(), "s3:B".into(), "s3:C".into()];
        req.max_items = Some(2);
        let first = simulate_custom_policy(&req).unwrap();
        assert_eq!((first.evaluation_results.len(), first.is_truncated, first.marker.as_deref()), (2, true, Some("2")));
        req.marker = first.marker;
        let second = simulate_custom_policy(&req).unwrap();
        assert_eq!((second.evaluation_results.len(), second.is_truncated), (1, false));
        assert_eq!(second.evaluation_results[0].eval_action_name, "s3:C");
    }

    #[test]
    fn bad_requests_are_invalid_input() {
        let mut req = request("{");
        let error = simulate_custom_policy(&req).unwrap_err();
        assert!(error.message.starts_with("PolicyInputList.1: ") && error.malformed_policy, "{error}");
        req = request(r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#);
        req.resource_policy = Some("[]".to_owned());
        let error = simulate_custom_policy(&req).unwrap_err();
        assert!(error.message.starts_with("ResourcePolicy: ") && error.malformed_policy, "{error}");
        req.resource_policy = Some(r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*"}}"#.to_owned());
        let error = simulate_custom_policy(&req).unwrap_err();
        assert!(error.message.contains("CallerArn") && !error.malformed_policy, "{error}");
        req.caller_arn = Some("arn:aws:iam::111122223333:user/bob".to_owned());
        req.max_items = Some(0);
        assert!(simulate_custom_policy(&req).unwrap_err().message.contains("MaxItems"));
        req.max_items = None;
        req.marker = Some("x".to_owned());
        assert!(simulate_custom_policy(&req).unwrap_err().message.contains("Marker"));
        req.marker = None;
        req.context_entries = vec![ContextEntry {
            context_key_name: "aws:x".to_owned(),
            context_key_values: vec![],
            context_key_type: "text".to_owned(),
        }];
        assert!(simulate_custom_policy(&req).unwrap_err().message.contains("ContextKeyType"));
    }
}
