//! SSM hybrid activations (and the managed instances they list), in process: the happy path,
//! SSM's errors for bad input (today's codes and messages), and refusals.

use crate::support::{Case, TestServer, ssm, unique};
use serde_json::json;

crate::support::on_both_stores!(
    activations_are_created_described_and_deleted,
    bad_activations_are_refused_with_ssms_messages,
    a_user_without_permissions_is_refused_every_activation_operation
);

const SSM_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// A role of `trust`'s, made by root; its name.
fn role(server: &TestServer, trust: &str) -> String {
    let name = unique("ssmrole");
    server.iam(&server.root, "CreateRole", &[("RoleName", &name), ("AssumeRolePolicyDocument", trust)]).ok();
    name
}

fn activations_are_created_described_and_deleted(server: &TestServer) {
    let root = &server.root;
    let role = role(server, SSM_TRUST);
    let created = server
        .ssm(
            root,
            "CreateActivation",
            &json!({
                "IamRole": role,
                "RegistrationLimit": 3,
                "DefaultInstanceName": "edge",
                "Description": "the edge boxes",
                "Tags": [{"Key": "site", "Value": "lab"}],
            }),
        )
        .ok()
        .value();
    let id = created["ActivationId"].as_str().unwrap().to_owned();
    assert!(!created["ActivationCode"].as_str().unwrap().is_empty(), "a code: {created}");
    server.run(&[
        Case::ok(
            "described by id",
            root,
            ssm(
                "DescribeActivations",
                json!({
                    "Filters": [{"FilterKey": "ActivationIds", "FilterValues": [id]}],
                }),
            ),
        )
        .json_len("/ActivationList", 1)
        .json("/ActivationList/0/IamRole", role.as_str())
        .json("/ActivationList/0/RegistrationLimit", 3)
        .json("/ActivationList/0/RegistrationsCount", 0)
        .json("/ActivationList/0/Expired", false)
        .json("/ActivationList/0/DefaultInstanceName", "edge")
        .json("/ActivationList/0/Description", "the edge boxes")
        .json("/ActivationList/0/Tags/0/Key", "site"),
        Case::ok(
            "described by name",
            root,
            ssm(
                "DescribeActivations",
                json!({
                    "Filters": [{"FilterKey": "DefaultInstanceName", "FilterValues": ["edge"]}],
                }),
            ),
        ),
        Case::error(
            "an unknown filter",
            root,
            ssm(
                "DescribeActivations",
                json!({
                    "Filters": [{"FilterKey": "Colour", "FilterValues": ["red"]}],
                }),
            ),
            400,
            "ValidationException",
            "1 validation error detected: Value 'Colour' at 'filters.1.member.filterKey' failed to satisfy constraint: Member must satisfy enum value set: [ActivationIds, DefaultInstanceName, IamRole]",
        ),
        Case::ok("delete", root, ssm("DeleteActivation", json!({"ActivationId": id}))),
        Case::error(
            "delete again",
            root,
            ssm("DeleteActivation", json!({"ActivationId": id})),
            400,
            "InvalidActivation",
            format!("Activation ID {id} is not valid."),
        ),
        Case::ok(
            "no longer described",
            root,
            ssm(
                "DescribeActivations",
                json!({
                    "Filters": [{"FilterKey": "ActivationIds", "FilterValues": [id]}],
                }),
            ),
        )
        .json_len("/ActivationList", 0),
        Case::ok(
            "no instances registered",
            root,
            ssm(
                "DescribeInstanceInformation",
                json!({
                    "Filters": [{"Key": "ActivationIds", "Values": [id]}],
                }),
            ),
        )
        .json_len("/InstanceInformationList", 0),
    ]);
}

fn bad_activations_are_refused_with_ssms_messages(server: &TestServer) {
    let root = &server.root;
    let trusted = role(server, SSM_TRUST);
    let untrusted = role(server, EC2_TRUST);
    let account = &server.account_id;
    let far = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 40 * 86_400;
    server.run(&[
        Case::error("no role", root, ssm("CreateActivation", json!({})), 400, "ValidationException",
            "1 validation error detected: Value null at 'iamRole' failed to satisfy constraint: Member must not be null"),
        Case::error("a role nobody made", root, ssm("CreateActivation", json!({"IamRole": "nobody-made-me"})), 400,
            "ValidationException", format!("Not existing role: arn:aws:iam::{account}:role/nobody-made-me")),
        Case::error("a role that does not trust SSM", root, ssm("CreateActivation", json!({"IamRole": untrusted})), 400,
            "ValidationException", format!("Not existing role: arn:aws:iam::{account}:role/{untrusted}")),
        Case::error("no registrations", root,
            ssm("CreateActivation", json!({"IamRole": trusted, "RegistrationLimit": 0})), 400, "ValidationException",
            "1 validation error detected: Value '0' at 'registrationLimit' failed to satisfy constraint: Member must have value greater than or equal to 1"),
        Case::error("too many registrations", root,
            ssm("CreateActivation", json!({"IamRole": trusted, "RegistrationLimit": 1001})), 400, "ValidationException",
            "1 validation error detected: Value '1001' at 'registrationLimit' failed to satisfy constraint: Member must have value less than or equal to 1000"),
        Case::error("expiring in the past", root,
            ssm("CreateActivation", json!({"IamRole": trusted, "ExpirationDate": 1_000_000})), 400, "InvalidParameters",
            "ExpirationDate must be in the future and at most 30 days from now."),
        Case::error("expiring in 40 days", root,
            ssm("CreateActivation", json!({"IamRole": trusted, "ExpirationDate": far})), 400, "InvalidParameters",
            "ExpirationDate must be in the future and at most 30 days from now."),
        Case::error("a description too long", root,
            ssm("CreateActivation", json!({"IamRole": trusted, "Description": "d".repeat(257)})), 400,
            "ValidationException",
            format!("1 validation error detected: Value '{}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256", "d".repeat(257))),
        Case::error("51 tags", root, ssm("CreateActivation", json!({
            "IamRole": trusted,
            "Tags": (0..51).map(|i| json!({"Key": format!("k{i}"), "Value": "v"})).collect::<Vec<_>>(),
        })), 400, "InvalidParameters", "A resource can have at most 50 tags."),
        Case::error("delete one nobody made", root,
            ssm("DeleteActivation", json!({"ActivationId": "00000000-0000-0000-0000-000000000000"})), 400,
            "InvalidActivation", "Activation ID 00000000-0000-0000-0000-000000000000 is not valid."),
    ]);
}

fn a_user_without_permissions_is_refused_every_activation_operation(server: &TestServer) {
    let nobody = server.nobody();
    let trusted = role(server, SSM_TRUST);
    // Creating an activation passes its role to SSM: ssm:CreateActivation alone is not enough.
    let creator = server.user_with_policy(
        &unique("activator"),
        Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:CreateActivation","Resource":"*"}]}"#),
    );
    server.run(&[
        Case::denied(
            "create",
            nobody,
            ssm("CreateActivation", json!({"IamRole": trusted})),
            format!("User: {} is not authorized to perform: ssm:CreateActivation on resource: ", server.nobody_arn()),
        ),
        Case::denied("describe", nobody, ssm("DescribeActivations", json!({})), "ssm:DescribeActivations"),
        Case::denied(
            "delete",
            nobody,
            ssm("DeleteActivation", json!({"ActivationId": "0123abcd-0123-4567-89ab-0123456789ab"})),
            "ssm:DeleteActivation",
        ),
        Case::denied(
            "list instances",
            nobody,
            ssm("DescribeInstanceInformation", json!({})),
            "ssm:DescribeInstanceInformation",
        ),
        Case::denied(
            "create without iam:PassRole",
            &creator,
            ssm("CreateActivation", json!({"IamRole": trusted})),
            format!(
                "is not authorized to perform: iam:PassRole on resource: arn:aws:iam::{}:role/{trusted}",
                server.account_id
            ),
        ),
    ]);
}
