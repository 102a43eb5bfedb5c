//! The IAM calls `homeport iam` makes (awsQuery, version 2010-05-08), with their answers read
//! into the few fields it uses. Lists are followed to their last page (`Marker`), and policy
//! documents, which IAM returns percent-encoded, are decoded.

use aws_protocol::sigv4::percent_decode;

use super::xml::Element;
use super::{Client, ClientError};

const SERVICE: &str = "iam";
const VERSION: &str = "2010-05-08";

/// A role, as GetRole describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub arn: String,
    pub permissions_boundary_arn: Option<String>,
}

impl Role {
    /// The account the role belongs to (the fifth field of its ARN).
    pub fn account(&self) -> &str {
        self.arn.split(':').nth(4).unwrap_or_default()
    }
}

/// A managed policy attached to a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedPolicy {
    pub name: String,
    pub arn: String,
}

/// A managed policy, as GetPolicy describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPolicy {
    pub name: String,
    pub arn: String,
    pub default_version_id: String,
}

/// One context entry of a simulation: a key and its values, of IAM's `ContextKeyType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    pub key: String,
    pub values: Vec<String>,
    pub key_type: &'static str,
}

/// SimulateCustomPolicy's input, as far as `homeport iam` fills it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Simulation {
    pub policies: Vec<String>,
    pub boundaries: Vec<String>,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub context: Vec<ContextEntry>,
}

/// One evaluation result of a simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationResult {
    pub action: String,
    pub resource: String,
    pub decision: String,
    /// The context keys the deciding statements needed and the request lacked.
    pub missing_context: Vec<String>,
}

fn param(name: impl Into<String>, value: impl Into<String>) -> (String, String) {
    (name.into(), value.into())
}

/// `NAME.member.N` entries for a list.
fn list_params(name: &str, values: &[String]) -> Vec<(String, String)> {
    values
        .iter()
        .enumerate()
        .map(|(index, value)| param(format!("{name}.member.{}", index + 1), value.clone()))
        .collect()
}

fn missing(operation: &str, what: &str) -> ClientError {
    ClientError::Malformed { operation: operation.to_owned(), why: format!("no {what} in the answer") }
}

fn required(result: &Element, operation: &str, path: &[&str]) -> Result<String, ClientError> {
    result.text_at(path).map(str::to_owned).ok_or_else(|| missing(operation, &path.join("/")))
}

/// Calls a listing operation page by page, giving each page's result to `take`.
fn all_pages(
    client: &Client,
    operation: &str,
    params: &[(String, String)],
    mut take: impl FnMut(&Element) -> Result<(), ClientError>,
) -> Result<(), ClientError> {
    let mut marker: Option<String> = None;
    // A server that never stops paging is not followed forever.
    for _ in 0..1_000 {
        let mut page_params = params.to_vec();
        if let Some(marker) = &marker {
            page_params.push(param("Marker", marker.clone()));
        }
        let result = client.query(SERVICE, VERSION, operation, &page_params)?;
        take(&result)?;
        let truncated = result.text_at(&["IsTruncated"]) == Some("true");
        marker = result.text_at(&["Marker"]).filter(|m| !m.is_empty()).map(str::to_owned);
        if !truncated || marker.is_none() {
            return Ok(());
        }
    }
    Err(ClientError::Malformed { operation: operation.to_owned(), why: "more than 1,000 pages".to_owned() })
}

pub fn get_role(client: &Client, name: &str) -> Result<Role, ClientError> {
    role_from(&client.query(SERVICE, VERSION, "GetRole", &[param("RoleName", name)])?)
}

fn role_from(result: &Element) -> Result<Role, ClientError> {
    Ok(Role {
        name: required(result, "GetRole", &["Role", "RoleName"])?,
        arn: required(result, "GetRole", &["Role", "Arn"])?,
        permissions_boundary_arn: result
            .text_at(&["Role", "PermissionsBoundary", "PermissionsBoundaryArn"])
            .filter(|arn| !arn.is_empty())
            .map(str::to_owned),
    })
}

pub fn list_attached_role_policies(client: &Client, role: &str) -> Result<Vec<AttachedPolicy>, ClientError> {
    let operation = "ListAttachedRolePolicies";
    let mut policies = Vec::new();
    all_pages(client, operation, &[param("RoleName", role)], |result| {
        for member in result.members_at(&["AttachedPolicies"]) {
            policies.push(AttachedPolicy {
                name: required(member, operation, &["PolicyName"])?,
                arn: required(member, operation, &["PolicyArn"])?,
            });
        }
        Ok(())
    })?;
    Ok(policies)
}

pub fn list_role_policies(client: &Client, role: &str) -> Result<Vec<String>, ClientError> {
    let mut names = Vec::new();
    all_pages(client, "ListRolePolicies", &[param("RoleName", role)], |result| {
        names.extend(result.members_at(&["PolicyNames"]).iter().map(|member| member.text.clone()));
        Ok(())
    })?;
    Ok(names)
}

/// An inline policy's document, decoded.
pub fn get_role_policy(client: &Client, role: &str, name: &str) -> Result<String, ClientError> {
    let operation = "GetRolePolicy";
    let result = client.query(SERVICE, VERSION, operation, &[param("RoleName", role), param("PolicyName", name)])?;
    document(operation, &required(&result, operation, &["PolicyDocument"])?)
}

pub fn get_policy(client: &Client, arn: &str) -> Result<ManagedPolicy, ClientError> {
    let operation = "GetPolicy";
    let result = client.query(SERVICE, VERSION, operation, &[param("PolicyArn", arn)])?;
    Ok(ManagedPolicy {
        name: required(&result, operation, &["Policy", "PolicyName"])?,
        arn: required(&result, operation, &["Policy", "Arn"])?,
        default_version_id: required(&result, operation, &["Policy", "DefaultVersionId"])?,
    })
}

/// A managed policy version's document, decoded.
pub fn get_policy_version(client: &Client, arn: &str, version: &str) -> Result<String, ClientError> {
    let operation = "GetPolicyVersion";
    let result = client.query(SERVICE, VERSION, operation, &[param("PolicyArn", arn), param("VersionId", version)])?;
    document(operation, &required(&result, operation, &["PolicyVersion", "Document"])?)
}

/// The default version's document of a managed policy.
pub fn default_document(client: &Client, arn: &str) -> Result<(ManagedPolicy, String), ClientError> {
    let policy = get_policy(client, arn)?;
    let document = get_policy_version(client, arn, &policy.default_version_id)?;
    Ok((policy, document))
}

pub fn create_policy(client: &Client, name: &str, document: &str, description: &str) -> Result<String, ClientError> {
    let operation = "CreatePolicy";
    let params = [param("PolicyName", name), param("PolicyDocument", document), param("Description", description)];
    let result = client.query(SERVICE, VERSION, operation, &params)?;
    required(&result, operation, &["Policy", "Arn"])
}

pub fn attach_role_policy(client: &Client, role: &str, arn: &str) -> Result<(), ClientError> {
    client.query(SERVICE, VERSION, "AttachRolePolicy", &[param("RoleName", role), param("PolicyArn", arn)])?;
    Ok(())
}

pub fn detach_role_policy(client: &Client, role: &str, arn: &str) -> Result<(), ClientError> {
    client.query(SERVICE, VERSION, "DetachRolePolicy", &[param("RoleName", role), param("PolicyArn", arn)])?;
    Ok(())
}

/// Every evaluation result of a simulation (all pages).
pub fn simulate_custom_policy(client: &Client, simulation: &Simulation) -> Result<Vec<EvaluationResult>, ClientError> {
    let operation = "SimulateCustomPolicy";
    let mut params = list_params("PolicyInputList", &simulation.policies);
    params.extend(list_params("PermissionsBoundaryPolicyInputList", &simulation.boundaries));
    params.extend(list_params("ActionNames", &simulation.actions));
    params.extend(list_params("ResourceArns", &simulation.resources));
    for (index, entry) in simulation.context.iter().enumerate() {
        let prefix = format!("ContextEntries.member.{}", index + 1);
        params.push(param(format!("{prefix}.ContextKeyName"), entry.key.clone()));
        params.push(param(format!("{prefix}.ContextKeyType"), entry.key_type));
        params.extend(list_params(&format!("{prefix}.ContextKeyValues"), &entry.values));
    }
    let mut results = Vec::new();
    all_pages(client, operation, &params, |result| evaluation_results(result, &mut results))?;
    Ok(results)
}

fn evaluation_results(result: &Element, into: &mut Vec<EvaluationResult>) -> Result<(), ClientError> {
    let operation = "SimulateCustomPolicy";
    for member in result.members_at(&["EvaluationResults"]) {
        into.push(EvaluationResult {
            action: required(member, operation, &["EvalActionName"])?,
            resource: member.text_at(&["EvalResourceName"]).unwrap_or("*").to_owned(),
            decision: required(member, operation, &["EvalDecision"])?,
            missing_context: member.members_at(&["MissingContextValues"]).iter().map(|key| key.text.clone()).collect(),
        });
    }
    Ok(())
}

/// A policy document as IAM returns it: percent-encoded (RFC 3986).
fn document(operation: &str, encoded: &str) -> Result<String, ClientError> {
    percent_decode(encoded).ok_or_else(|| ClientError::Malformed {
        operation: operation.to_owned(),
        why: "the policy document is not percent-encoded UTF-8".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn documents_are_percent_decoded() {
        let encoded =
            aws_protocol::sigv4::uri_encode(r#"{"Statement": [{"Action": "ecs:Submit*", "Sid": "é+"}]}"#, false);
        assert_eq!(
            percent_decode(&encoded).as_deref(),
            Some(r#"{"Statement": [{"Action": "ecs:Submit*", "Sid": "é+"}]}"#)
        );
        assert_eq!(percent_decode("a+b%20c").as_deref(), Some("a+b c"), "`+` is itself in RFC 3986");
        for broken in ["%", "%2", "%zz", "%FF", "%C3"] {
            assert_eq!(percent_decode(broken), None, "{broken}");
        }
    }

    #[test]
    fn roles_and_evaluation_results_are_read_from_their_answers() {
        let result = Element::parse(
            "<GetRoleResult><Role><RoleName>ecsAnywhereRole</RoleName>\
             <Arn>arn:aws:iam::123456789012:role/ecsAnywhereRole</Arn>\
             <PermissionsBoundary><PermissionsBoundaryType>Policy</PermissionsBoundaryType>\
             <PermissionsBoundaryArn>arn:aws:iam::123456789012:policy/b</PermissionsBoundaryArn>\
             </PermissionsBoundary></Role></GetRoleResult>",
        )
        .unwrap();
        let role = role_from(&result).unwrap();
        assert_eq!((role.name.as_str(), role.account()), ("ecsAnywhereRole", "123456789012"));
        assert_eq!(role.permissions_boundary_arn.as_deref(), Some("arn:aws:iam::123456789012:policy/b"));
        let bare =
            Element::parse("<GetRoleResult><Role><RoleName>r</RoleName><Arn>a</Arn></Role></GetRoleResult>").unwrap();
        assert_eq!(role_from(&bare).unwrap().permissions_boundary_arn, None);
        let incomplete = Element::parse("<GetRoleResult><Role><RoleName>r</RoleName></Role></GetRoleResult>").unwrap();
        assert_eq!(
            role_from(&incomplete),
            Err(ClientError::Malformed { operation: "GetRole".into(), why: "no Role/Arn in the answer".into() })
        );

        let page = Element::parse(
            "<SimulateCustomPolicyResult><EvaluationResults>\
             <member><EvalActionName>iam:PassRole</EvalActionName><EvalResourceName>arn:r</EvalResourceName>\
             <EvalDecision>implicitDeny</EvalDecision><MissingContextValues><member>iam:PassedToService</member>\
             </MissingContextValues></member>\
             <member><EvalActionName>ecs:Poll</EvalActionName><EvalDecision>allowed</EvalDecision></member>\
             </EvaluationResults><IsTruncated>false</IsTruncated></SimulateCustomPolicyResult>",
        )
        .unwrap();
        let mut results = Vec::new();
        evaluation_results(&page, &mut results).unwrap();
        assert_eq!(
            results,
            [
                EvaluationResult {
                    action: "iam:PassRole".into(),
                    resource: "arn:r".into(),
                    decision: "implicitDeny".into(),
                    missing_context: vec!["iam:PassedToService".into()],
                },
                EvaluationResult {
                    action: "ecs:Poll".into(),
                    resource: "*".into(),
                    decision: "allowed".into(),
                    missing_context: vec![],
                },
            ]
        );
        assert_eq!(
            list_params("ActionNames", &["a".into(), "b".into()]),
            [param("ActionNames.member.1", "a"), param("ActionNames.member.2", "b")]
        );
    }
}
