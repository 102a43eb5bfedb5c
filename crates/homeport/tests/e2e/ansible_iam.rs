//! Ansible's `amazon.aws` IAM modules (PyPI's `ansible`) manage users with login profiles,
//! keys and inline policies, a group, the source document's role with its managed policies,
//! an instance profile with tags and a customer managed policy on Homeport, pointed at it
//! through `AWS_ENDPOINT_URL` as a user would: the playbook creates them, a second run reports
//! no change, a third removes them all. Against the embedded store only: each task costs a
//! second of CPU, and the stores' equivalence is the fast tier's and the store suite's to show.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use common::Server;
use serde_json::json;

/// What the first run made, read back with boto3.
fn assert_created(server: &Server) {
    let answers = server.boto3(&[
        json!({"service": "iam", "operation": "get_login_profile", "params": {"UserName": "hp-alice"}}),
        json!({"service": "iam", "operation": "list_access_keys", "params": {"UserName": "hp-alice"}}),
        json!({"service": "iam", "operation": "get_group", "params": {"GroupName": "hp-operators"}}),
        json!({"service": "iam", "operation": "list_attached_role_policies", "params": {"RoleName": "hp-ecsAnywhereRole"}}),
        json!({"service": "iam", "operation": "list_instance_profile_tags", "params": {"InstanceProfileName": "hp-profile"}}),
    ]);
    assert_eq!(answers[0]["response"]["LoginProfile"]["UserName"], "hp-alice", "{}", answers[0]);
    assert_eq!(answers[1]["response"]["AccessKeyMetadata"].as_array().unwrap().len(), 1, "{}", answers[1]);
    assert_eq!(answers[2]["response"]["Users"][0]["UserName"], "hp-alice", "{}", answers[2]);
    assert_eq!(answers[3]["response"]["AttachedPolicies"].as_array().unwrap().len(), 2, "{}", answers[3]);
    assert_eq!(answers[4]["response"]["Tags"], json!([{"Key": "team", "Value": "platform"}]), "{}", answers[4]);
}

/// What the removal left: nothing of the playbook's.
fn assert_removed(server: &Server) {
    let answers = server.boto3(&[
        json!({"service": "iam", "operation": "list_users", "params": {}}),
        json!({"service": "iam", "operation": "list_groups", "params": {}}),
        json!({"service": "iam", "operation": "list_roles", "params": {}}),
        json!({"service": "iam", "operation": "list_instance_profiles", "params": {}}),
        json!({"service": "iam", "operation": "list_policies", "params": {"Scope": "Local"}}),
    ]);
    for (answer, list) in answers.iter().zip(["Users", "Groups", "Roles", "InstanceProfiles", "Policies"]) {
        let left: Vec<&serde_json::Value> = answer["response"][list]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entity| entity.to_string().contains("hp-"))
            .collect();
        assert!(left.is_empty(), "{list} left behind: {left:?}");
    }
}

#[test]
fn ansible_creates_reruns_and_removes_iam() {
    common::ansible::create_rerun_remove("ansible-iam", "iam.yml", |_| String::new(), assert_created, assert_removed);
}
