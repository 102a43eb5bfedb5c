//! IAM's policy simulator over the API: SimulateCustomPolicy and GetContextKeysForCustomPolicy,
//! answered by the engine's simulator (`iam_policy::simulate`).
//!
//! The pieces SimulatePrincipalPolicy and GetContextKeysForPrincipalPolicy need as well are
//! `pub(crate)`: decoding the simulation parameters (`simulation_request`), running it with
//! IAM's error codes (`simulate`), writing its results (`write_simulation`), and the context
//! keys of parsed policies (`context_key_names`, `write_context_keys`). The XML follows the
//! IAM service model: lists wrap `member` elements, maps `entry` / `key` / `value`. As on AWS,
//! both actions are authorized on `*`.

use std::collections::BTreeMap;

use aws_protocol::AwsError;
use aws_protocol::query::{QueryParams, XmlResponse};
use iam_policy::Policy;
use iam_policy::decision::EvalDecision;
use iam_policy::simulate::{
    ContextEntry, EvaluationResult, Extensions, PermissionsBoundaryDecisionDetail, SimulateCustomPolicyRequest,
    SimulatePolicyResponse, StatementRef, simulate_with,
};

use crate::operations::operation;
use crate::operations::{Ctx, query, validation};

operation!(
    iam,
    SIMULATE_CUSTOM_POLICY,
    "SimulateCustomPolicy",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| query(simulate_custom_policy(ctx))
);
operation!(
    iam,
    GET_CONTEXT_KEYS_FOR_CUSTOM_POLICY,
    "GetContextKeysForCustomPolicy",
    Read,
    |_| Box::pin(async { Ok(vec!["*".to_owned()]) }),
    |ctx| query(get_context_keys_for_custom_policy(ctx))
);

async fn simulate_custom_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    required_list(ctx, "PolicyInputList")?;
    required_list(ctx, "ActionNames")?;
    let request = simulation_request(ctx.params)?;
    let response = simulate(&request, &Extensions::default())?;
    let mut xml = ctx.response();
    write_simulation(&mut xml, &response);
    Ok(xml)
}

async fn get_context_keys_for_custom_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    required_list(ctx, "PolicyInputList")?;
    let policies = parse_policies(&ctx.params.strings("PolicyInputList"), "PolicyInputList")?;
    let mut xml = ctx.response();
    write_context_keys(&mut xml, &context_key_names(&policies.iter().collect::<Vec<_>>()));
    Ok(xml)
}

/// A required list parameter: present (botocore sends an empty list as `Name=`), or AWS's
/// ValidationError naming it, as `Ctx::required` words it.
pub(crate) fn required_list(ctx: &Ctx<'_>, name: &str) -> Result<(), AwsError> {
    if ctx.params.contains(name) { Ok(()) } else { ctx.required(name).map(drop) }
}

/// Decodes the simulation parameters SimulateCustomPolicy and SimulatePrincipalPolicy share
/// (everything but `PolicySourceArn`). Required parameters are the caller's to check: they
/// differ between the two.
pub(crate) fn simulation_request(params: &QueryParams) -> Result<SimulateCustomPolicyRequest, AwsError> {
    let context_entries = params
        .members("ContextEntries")
        .iter()
        .map(|entry| ContextEntry {
            // A missing name or type is left empty for the engine to refuse (an unknown type
            // is InvalidInput) or to ignore (no policy reads an empty key).
            context_key_name: entry.get("ContextKeyName").unwrap_or_default().to_owned(),
            context_key_values: entry.strings("ContextKeyValues"),
            context_key_type: entry.get("ContextKeyType").unwrap_or_default().to_owned(),
        })
        .collect();
    let owned = |name: &str| params.get(name).map(str::to_owned);
    Ok(SimulateCustomPolicyRequest {
        policy_input_list: params.strings("PolicyInputList"),
        permissions_boundary_policy_input_list: params.strings("PermissionsBoundaryPolicyInputList"),
        action_names: params.strings("ActionNames"),
        resource_arns: params.strings("ResourceArns"),
        resource_policy: owned("ResourcePolicy"),
        resource_owner: owned("ResourceOwner"),
        caller_arn: owned("CallerArn"),
        context_entries,
        resource_handling_option: owned("ResourceHandlingOption"),
        max_items: params.get("MaxItems").map(max_items).transpose()?,
        marker: owned("Marker"),
    })
}

/// `MaxItems`: an integer from 1 to 1,000 (the model's bounds, checked as AWS's validation
/// layer does, before the simulator sees the request).
pub(crate) fn max_items(text: &str) -> Result<i64, AwsError> {
    let refuse = |constraint: &str| {
        validation(format!(
            "1 validation error detected: Value '{text}' at 'maxItems' failed to satisfy constraint: Member must {constraint}"
        ))
    };
    match text.parse::<i64>() {
        Ok(n @ 1..=1000) => Ok(n),
        Ok(n) if n < 1 => Err(refuse("have value greater than or equal to 1")),
        Ok(_) => Err(refuse("have value less than or equal to 1000")),
        Err(_) => Err(refuse("be an integer")),
    }
}

/// Runs a simulation. A policy of the request that does not parse is
/// `MalformedPolicyDocument`; anything else the simulator refuses is `InvalidInput`.
pub(crate) fn simulate(
    request: &SimulateCustomPolicyRequest,
    extensions: &Extensions,
) -> Result<SimulatePolicyResponse, AwsError> {
    simulate_with(request, extensions).map_err(|error| {
        let code = if error.malformed_policy { "MalformedPolicyDocument" } else { "InvalidInput" };
        AwsError::new(code, 400, error.message)
    })
}

/// Parses the policies of a list parameter; one that does not parse is
/// `MalformedPolicyDocument`, named as the simulator names it (`PolicyInputList.2: ...`).
pub(crate) fn parse_policies(texts: &[String], list: &str) -> Result<Vec<Policy>, AwsError> {
    texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            Policy::parse(text).map_err(|error| {
                AwsError::new("MalformedPolicyDocument", 400, format!("{list}.{}: {}", index + 1, error.message))
            })
        })
        .collect()
}

/// The context keys the policies read, each once (case-insensitively), in the order of
/// `Policy::context_keys`, policy after policy.
pub(crate) fn context_key_names(policies: &[&Policy]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for key in policies.iter().flat_map(|policy| policy.context_keys()) {
        if !names.iter().any(|seen| seen.eq_ignore_ascii_case(key)) {
            names.push(key.to_owned());
        }
    }
    names
}

/// `ContextKeyNames`, the body of GetContextKeysFor{Custom,Principal}PolicyResult.
pub(crate) fn write_context_keys(xml: &mut XmlResponse, names: &[String]) {
    write_strings(xml, "ContextKeyNames", names);
}

/// `EvaluationResults`, `IsTruncated` and `Marker`: the body of
/// Simulate{Custom,Principal}PolicyResult.
pub(crate) fn write_simulation(xml: &mut XmlResponse, response: &SimulatePolicyResponse) {
    xml.nest("EvaluationResults", |xml| {
        for result in &response.evaluation_results {
            xml.nest("member", |xml| write_evaluation_result(xml, result));
        }
    });
    xml.element("IsTruncated", if response.is_truncated { "true" } else { "false" });
    if let Some(marker) = &response.marker {
        xml.element("Marker", marker);
    }
}

/// One `EvaluationResult`, its members in the service model's order.
fn write_evaluation_result(xml: &mut XmlResponse, result: &EvaluationResult) {
    xml.element("EvalActionName", &result.eval_action_name)
        .element("EvalResourceName", &result.eval_resource_name)
        .element("EvalDecision", result.eval_decision.as_str());
    write_statements(xml, &result.matched_statements);
    write_strings(xml, "MissingContextValues", &result.missing_context_values);
    write_boundary(xml, result.permissions_boundary_decision_detail);
    if let Some(details) = &result.eval_decision_details {
        write_decision_details(xml, details);
    }
    if !result.resource_specific_results.is_empty() {
        xml.nest("ResourceSpecificResults", |xml| {
            for specific in &result.resource_specific_results {
                xml.nest("member", |xml| {
                    xml.element("EvalResourceName", &specific.eval_resource_name)
                        .element("EvalResourceDecision", specific.eval_resource_decision.as_str());
                    write_statements(xml, &specific.matched_statements);
                    write_strings(xml, "MissingContextValues", &specific.missing_context_values);
                    write_boundary(xml, specific.permissions_boundary_decision_detail);
                });
            }
        });
    }
}

/// `MatchedStatements`: IAM's `Statement` shape, positions as `Line` and `Column`.
fn write_statements(xml: &mut XmlResponse, statements: &[StatementRef]) {
    xml.nest("MatchedStatements", |xml| {
        for statement in statements {
            xml.nest("member", |xml| {
                xml.element("SourcePolicyId", &statement.source_policy_id)
                    .element("SourcePolicyType", &statement.source_policy_type);
                for (tag, position) in
                    [("StartPosition", statement.start_position), ("EndPosition", statement.end_position)]
                {
                    xml.nest(tag, |xml| {
                        xml.element("Line", &position.line.to_string()).element("Column", &position.column.to_string());
                    });
                }
            });
        }
    });
}

fn write_boundary(xml: &mut XmlResponse, detail: Option<PermissionsBoundaryDecisionDetail>) {
    if let Some(detail) = detail {
        xml.nest("PermissionsBoundaryDecisionDetail", |xml| {
            let allowed = if detail.allowed_by_permissions_boundary { "true" } else { "false" };
            xml.element("AllowedByPermissionsBoundary", allowed);
        });
    }
}

/// `EvalDecisionDetails`, a map: `entry` elements of `key` (the policy type) and `value`.
fn write_decision_details(xml: &mut XmlResponse, details: &BTreeMap<String, EvalDecision>) {
    xml.nest("EvalDecisionDetails", |xml| {
        for (source, decision) in details {
            xml.nest("entry", |xml| {
                xml.element("key", source).element("value", decision.as_str());
            });
        }
    });
}

/// A list of strings: `<name><member>...</member>...</name>`, written even when empty.
fn write_strings(xml: &mut XmlResponse, name: &str, values: &[String]) {
    xml.nest(name, |xml| {
        for value in values {
            xml.element("member", value);
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "a test fails loudly on any surprise")]

    use super::*;
    use crate::operations::IAM_NAMESPACE;

    fn params(pairs: &[(&str, &str)]) -> QueryParams {
        QueryParams::from_pairs(pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect())
    }

    const ALLOW_S3: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;

    #[test]
    fn decodes_every_simulation_parameter() {
        let request = simulation_request(&params(&[
            ("Action", "SimulateCustomPolicy"),
            ("PolicyInputList.member.2", "second"),
            ("PolicyInputList.member.1", "first"),
            ("PermissionsBoundaryPolicyInputList.member.1", "boundary"),
            ("ActionNames.member.1", "s3:GetObject"),
            ("ActionNames.member.2", "s3:PutObject"),
            ("ResourceArns.member.1", "arn:aws:s3:::b/k"),
            ("ResourcePolicy", "resource"),
            ("ResourceOwner", "arn:aws:iam::111122223333:root"),
            ("CallerArn", "arn:aws:iam::111122223333:user/bob"),
            ("ContextEntries.member.1.ContextKeyName", "aws:username"),
            ("ContextEntries.member.1.ContextKeyValues.member.1", "bob"),
            ("ContextEntries.member.1.ContextKeyType", "string"),
            ("ContextEntries.member.2.ContextKeyName", "aws:SourceIp"),
            ("ContextEntries.member.2.ContextKeyValues", ""),
            ("ContextEntries.member.2.ContextKeyType", "ipList"),
            ("ResourceHandlingOption", "EC2-VPC-InstanceStore"),
            ("MaxItems", "10"),
            ("Marker", "20"),
        ]))
        .unwrap();
        assert_eq!(request.policy_input_list, vec!["first", "second"]);
        assert_eq!(request.permissions_boundary_policy_input_list, vec!["boundary"]);
        assert_eq!(request.action_names, vec!["s3:GetObject", "s3:PutObject"]);
        assert_eq!(request.resource_arns, vec!["arn:aws:s3:::b/k"]);
        assert_eq!(request.resource_policy.as_deref(), Some("resource"));
        assert_eq!(request.resource_owner.as_deref(), Some("arn:aws:iam::111122223333:root"));
        assert_eq!(request.caller_arn.as_deref(), Some("arn:aws:iam::111122223333:user/bob"));
        assert_eq!(request.context_entries.len(), 2);
        assert_eq!(request.context_entries[0].context_key_name, "aws:username");
        assert_eq!(request.context_entries[0].context_key_values, vec!["bob"]);
        assert_eq!(request.context_entries[0].context_key_type, "string");
        assert!(request.context_entries[1].context_key_values.is_empty(), "an empty list is sent as `Name=`");
        assert_eq!(request.resource_handling_option.as_deref(), Some("EC2-VPC-InstanceStore"));
        assert_eq!((request.max_items, request.marker.as_deref()), (Some(10), Some("20")));
    }

    #[test]
    fn max_items_outside_the_model_bounds_is_a_validation_error() {
        for (text, constraint) in
            [("0", "greater than or equal to 1"), ("1001", "less than or equal to 1000"), ("ten", "be an integer")]
        {
            let error = simulation_request(&params(&[("MaxItems", text)])).unwrap_err();
            assert_eq!((error.code.as_str(), error.status), ("ValidationError", 400));
            assert!(error.message.contains(&format!("Value '{text}' at 'maxItems'")), "{error}");
            assert!(error.message.contains(constraint), "{error}");
        }
    }

    #[test]
    fn refusals_carry_iams_codes() {
        let mut request = SimulateCustomPolicyRequest {
            policy_input_list: vec![ALLOW_S3.to_owned(), "{".to_owned()],
            action_names: vec!["s3:GetObject".to_owned()],
            ..SimulateCustomPolicyRequest::default()
        };
        let error = simulate(&request, &Extensions::default()).unwrap_err();
        assert_eq!((error.code.as_str(), error.status), ("MalformedPolicyDocument", 400));
        assert!(error.message.starts_with("PolicyInputList.2: "), "{error}");
        request.policy_input_list.pop();
        request.marker = Some("not-a-marker".to_owned());
        let error = simulate(&request, &Extensions::default()).unwrap_err();
        assert_eq!((error.code.as_str(), error.status), ("InvalidInput", 400));
        let error = parse_policies(&[ALLOW_S3.to_owned(), "[]".to_owned()], "PolicyInputList").unwrap_err();
        assert_eq!(error.code, "MalformedPolicyDocument");
        assert!(error.message.starts_with("PolicyInputList.2: "), "{error}");
    }

    #[test]
    fn writes_results_in_the_service_models_shape() {
        let boundary = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        let request = SimulateCustomPolicyRequest {
            policy_input_list: vec![
                "{\"Version\":\"2012-10-17\",\"Statement\":\n {\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::b/${aws:username}\"}}"
                    .to_owned(),
            ],
            permissions_boundary_policy_input_list: vec![boundary.to_owned()],
            action_names: vec!["s3:GetObject".to_owned(), "s3:PutObject".to_owned()],
            resource_arns: vec!["arn:aws:s3:::b/bob".to_owned()],
            max_items: Some(1),
            ..SimulateCustomPolicyRequest::default()
        };
        let mut xml = XmlResponse::new("SimulateCustomPolicy", IAM_NAMESPACE);
        write_simulation(&mut xml, &simulate(&request, &Extensions::default()).unwrap());
        let xml = xml.finish("req-1");
        let expected = "<SimulateCustomPolicyResult>
<EvaluationResults>
<member>
<EvalActionName>s3:GetObject</EvalActionName>
<EvalResourceName>arn:aws:s3:::b/bob</EvalResourceName>
<EvalDecision>implicitDeny</EvalDecision>
<MatchedStatements>
</MatchedStatements>
<MissingContextValues>
</MissingContextValues>
<PermissionsBoundaryDecisionDetail>
<AllowedByPermissionsBoundary>true</AllowedByPermissionsBoundary>
</PermissionsBoundaryDecisionDetail>
<ResourceSpecificResults>
<member>
<EvalResourceName>arn:aws:s3:::b/bob</EvalResourceName>
<EvalResourceDecision>implicitDeny</EvalResourceDecision>
<MatchedStatements>
</MatchedStatements>
<MissingContextValues>
<member>aws:username</member>
</MissingContextValues>
<PermissionsBoundaryDecisionDetail>
<AllowedByPermissionsBoundary>true</AllowedByPermissionsBoundary>
</PermissionsBoundaryDecisionDetail>
</member>
</ResourceSpecificResults>
</member>
</EvaluationResults>
<IsTruncated>true</IsTruncated>
<Marker>1</Marker>
  </SimulateCustomPolicyResult>";
        assert!(xml.contains(expected), "{xml}");

        let response = SimulatePolicyResponse {
            evaluation_results: vec![EvaluationResult {
                eval_action_name: "s3:GetObject".to_owned(),
                eval_resource_name: "*".to_owned(),
                eval_decision: EvalDecision::Allowed,
                matched_statements: vec![StatementRef {
                    source_policy_id: "PolicyInputList.1".to_owned(),
                    source_policy_type: "IAM Policy".to_owned(),
                    start_position: iam_policy::json::Position { line: 2, column: 2 },
                    end_position: iam_policy::json::Position { line: 2, column: 60 },
                }],
                missing_context_values: vec![],
                permissions_boundary_decision_detail: None,
                eval_decision_details: Some(BTreeMap::from([("IAM Policy".to_owned(), EvalDecision::Allowed)])),
                resource_specific_results: vec![],
            }],
            is_truncated: false,
            marker: None,
        };
        let mut xml = XmlResponse::new("SimulatePrincipalPolicy", IAM_NAMESPACE);
        write_simulation(&mut xml, &response);
        let xml = xml.finish("req-2");
        assert!(xml.contains(
            "<MatchedStatements>
<member>
<SourcePolicyId>PolicyInputList.1</SourcePolicyId>
<SourcePolicyType>IAM Policy</SourcePolicyType>
<StartPosition>
<Line>2</Line>
<Column>2</Column>
</StartPosition>
<EndPosition>
<Line>2</Line>
<Column>60</Column>
</EndPosition>
</member>
</MatchedStatements>"
        ));
        assert!(xml.contains(
            "<EvalDecisionDetails>
<entry>
<key>IAM Policy</key>
<value>allowed</value>
</entry>
</EvalDecisionDetails>
</member>
</EvaluationResults>
<IsTruncated>false</IsTruncated>
  </SimulatePrincipalPolicyResult>"
        ));
    }

    #[test]
    fn context_keys_merge_policies_each_key_once() {
        let with_keys = |resource: &str, key: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"s3:*","Resource":"{resource}","Condition":{{"Bool":{{"{key}":"true"}}}}}}}}"#
            )
        };
        let policies = parse_policies(
            &[
                with_keys("arn:aws:s3:::${aws:username}/*", "aws:SecureTransport"),
                with_keys("arn:aws:s3:::${aws:UserName}", "aws:MultiFactorAuthPresent"),
            ],
            "PolicyInputList",
        )
        .unwrap();
        let names = context_key_names(&policies.iter().collect::<Vec<_>>());
        assert_eq!(names, vec!["aws:username", "aws:SecureTransport", "aws:MultiFactorAuthPresent"]);
        let mut xml = XmlResponse::new("GetContextKeysForCustomPolicy", IAM_NAMESPACE);
        write_context_keys(&mut xml, &names);
        assert!(xml.finish("req-3").contains(
            "<GetContextKeysForCustomPolicyResult>
<ContextKeyNames>
<member>aws:username</member>
<member>aws:SecureTransport</member>
<member>aws:MultiFactorAuthPresent</member>
</ContextKeyNames>
  </GetContextKeysForCustomPolicyResult>"
        ));
    }
}
