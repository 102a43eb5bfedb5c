//! Ansible's `community.aws` / `amazon.aws` modules (PyPI's `ansible`) manage on Homeport
//! what a deployment of one application needs: a cluster with tags (`ecs_cluster`,
//! `ecs_tag`), two task definitions (`ecs_taskdefinition`, which sends `taskRoleArn: ""` for
//! "no task role") with tags on one, a service with tags and no task wanted (`ecs_service`),
//! ECR repositories with a lifecycle policy, scanning configuration and a KMS key (`ecs_ecr`),
//! and log groups with tags and retention (`cloudwatchlogs_log_group`). The playbook
//! (`tests/ansible/ecs.yml`) creates them, a second run reports no change, a third removes
//! them all and a fourth finds nothing to remove. Against the embedded store only, as
//! `ansible_iam.rs`: each task costs a second of CPU.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use common::Server;
use serde_json::{Value, json};

/// `tags` (a list of `{key, value}` or `{Key, Value}`) as sorted pairs.
fn pairs(tags: &Value) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = tags
        .as_array()
        .unwrap_or_else(|| panic!("not a tag list: {tags}"))
        .iter()
        .map(|tag| {
            let key = tag.get("key").or_else(|| tag.get("Key")).unwrap();
            let value = tag.get("value").or_else(|| tag.get("Value")).unwrap();
            (key.as_str().unwrap().to_owned(), value.as_str().unwrap().to_owned())
        })
        .collect();
    pairs.sort();
    pairs
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
}

/// What the first run made, read back with boto3.
fn assert_created(server: &Server) {
    let kms_key = kms_key(server);
    let answers = server.boto3(&[
        json!({"service": "ecs", "operation": "describe_clusters", "params": {"clusters": ["hp-cluster"], "include": ["TAGS"]}}),
        json!({"service": "ecs", "operation": "describe_services", "params": {"cluster": "hp-cluster", "services": ["hp-web"], "include": ["TAGS"]}}),
        json!({"service": "ecs", "operation": "describe_task_definition", "params": {"taskDefinition": "hp-web", "include": ["TAGS"]}}),
        json!({"service": "ecr", "operation": "describe_repositories", "params": {"repositoryNames": ["hp/web"]}}),
        json!({"service": "ecr", "operation": "get_lifecycle_policy", "params": {"repositoryName": "hp/web"}}),
        json!({"service": "logs", "operation": "describe_log_groups", "params": {"logGroupNamePrefix": "/hp/"}}),
        json!({"service": "logs", "operation": "list_tags_log_group", "params": {"logGroupName": "/hp/web"}}),
    ]);
    let cluster = &answers[0]["response"]["clusters"][0];
    assert_eq!(cluster["status"], "ACTIVE", "{}", answers[0]);
    assert_eq!(pairs(&cluster["tags"]), owned(&[("env", "test"), ("team", "platform")]), "{cluster}");
    let service = &answers[1]["response"]["services"][0];
    assert_eq!((&service["desiredCount"], &service["propagateTags"]), (&json!(0), &json!("SERVICE")), "{service}");
    assert_eq!(pairs(&service["tags"]), owned(&[("app", "web"), ("team", "platform")]), "{service}");
    let definition = &answers[2]["response"];
    assert_eq!(definition["taskDefinition"]["revision"], 1, "one revision, however often the playbook runs");
    assert!(definition["taskDefinition"].get("taskRoleArn").is_none(), "an empty taskRoleArn is no role: {definition}");
    assert_eq!(pairs(&definition["tags"]), owned(&[("app", "web")]), "{definition}");
    let repository = &answers[3]["response"]["repositories"][0];
    assert_eq!(repository["imageTagMutability"], "IMMUTABLE", "{repository}");
    assert_eq!(repository["imageScanningConfiguration"], json!({"scanOnPush": true}), "{repository}");
    assert_eq!(repository["encryptionConfiguration"], json!({"encryptionType": "KMS", "kmsKey": kms_key}));
    let policy: Value = serde_json::from_str(answers[4]["response"]["lifecyclePolicyText"].as_str().unwrap()).unwrap();
    assert_eq!(policy["rules"].as_array().unwrap().len(), 2, "{policy}");
    let groups: Vec<(&Value, &Value)> = answers[5]["response"]["logGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| (&group["logGroupName"], &group["retentionInDays"]))
        .collect();
    assert_eq!(groups, [(&json!("/hp/web"), &json!(14)), (&json!("/hp/worker"), &json!(30))]);
    assert_eq!(answers[6]["response"]["tags"], json!({"app": "web", "team": "platform"}), "{}", answers[6]);
}

/// What the removal left: nothing of the playbook's, and every revision inactive.
fn assert_removed(server: &Server) {
    let answers = server.boto3(&[
        json!({"service": "ecs", "operation": "list_clusters", "params": {}}),
        json!({"service": "ecs", "operation": "list_task_definitions", "params": {"status": "ACTIVE"}}),
        json!({"service": "ecs", "operation": "list_task_definitions", "params": {"status": "INACTIVE"}}),
        json!({"service": "ecr", "operation": "describe_repositories", "params": {}}),
        json!({"service": "logs", "operation": "describe_log_groups", "params": {"logGroupNamePrefix": "/hp/"}}),
    ]);
    assert_eq!(answers[0]["response"]["clusterArns"], json!([]), "{}", answers[0]);
    assert_eq!(answers[1]["response"]["taskDefinitionArns"], json!([]), "{}", answers[1]);
    assert_eq!(answers[2]["response"]["taskDefinitionArns"].as_array().unwrap().len(), 2, "{}", answers[2]);
    assert_eq!(answers[3]["response"]["repositories"], json!([]), "{}", answers[3]);
    assert_eq!(answers[4]["response"]["logGroups"], json!([]), "{}", answers[4]);
}

/// The KMS key of the repository: a key ARN in the caller's account, kept as given.
fn kms_key(server: &Server) -> String {
    let identity = server.boto3(&[json!({"service": "sts", "operation": "get_caller_identity", "params": {}})]);
    let account = identity[0]["response"]["Account"].as_str().unwrap().to_owned();
    format!("arn:aws:kms:us-east-1:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab")
}

#[test]
fn ansible_creates_reruns_and_removes_ecs_ecr_and_logs() {
    common::ansible::create_rerun_remove(
        "ansible-ecs",
        "ecs.yml",
        |server| format!("kms_key={}", kms_key(server)),
        assert_created,
        assert_removed,
    );
}
