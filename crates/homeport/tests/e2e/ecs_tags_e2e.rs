//! ECS's tags and account settings through the real aws CLI, as tools such as Terraform and
//! Ansible's `ecs_*` modules call them on every refresh: a cluster tagged at creation, tagged
//! and untagged later, its tags listed and described; ECS's refusal of a cluster that does
//! not exist; the account's defaults and a principal's settings, listed effective (the CLI
//! pages them: ten a page), `containerInsights` as each new cluster's default, and a deletion
//! falling back to the default. Without the aws CLI the test says it did not run, except in
//! CI, where it fails.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use serde_json::{Value, json};

use common::{Server, aws_cli_available, fresh_dir};

#[test]
fn clusters_are_tagged_and_account_settings_kept_through_the_aws_cli() {
    if !aws_cli_available() {
        return;
    }
    let dir = fresh_dir("ecs-tags");
    let server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    let ecs = |args: &[&str]| -> Value {
        let mut all = vec!["ecs"];
        all.extend(args);
        server.aws_json(&root, &all)
    };

    // Tags: at creation, added, listed, described, removed.
    let created = ecs(&["create-cluster", "--cluster-name", "tagged", "--tags", "key=team,value=blue"]);
    let arn = created["cluster"]["clusterArn"].as_str().unwrap().to_owned();
    assert_eq!(created["cluster"]["tags"], json!([{"key": "team", "value": "blue"}]));
    ecs(&["tag-resource", "--resource-arn", &arn, "--tags", "key=env,value=test", "key=owner,value=ops"]);
    let listed = ecs(&["list-tags-for-resource", "--resource-arn", &arn]);
    assert_eq!(
        listed["tags"],
        json!([{"key": "env", "value": "test"}, {"key": "owner", "value": "ops"}, {"key": "team", "value": "blue"}])
    );
    ecs(&["untag-resource", "--resource-arn", &arn, "--tag-keys", "env", "owner"]);
    let described = ecs(&["describe-clusters", "--clusters", "tagged", "--include", "TAGS"]);
    assert_eq!(described["clusters"][0]["tags"], json!([{"key": "team", "value": "blue"}]));
    let missing = arn.replace("cluster/tagged", "cluster/nobody-made-me");
    let refused = server.aws(&root, &["ecs", "list-tags-for-resource", "--resource-arn", &missing]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("(ClusterNotFoundException)"), "{stderr}");

    // Account settings: ECS's defaults, the account's, listed effective over two pages.
    let effective = ecs(&["list-account-settings", "--effective-settings"]);
    let settings = effective["settings"].as_array().unwrap();
    assert_eq!(settings.len(), 11, "every setting, the CLI following nextToken: {effective}");
    let value_of = |settings: &Value, name: &str| -> String {
        let found = settings["settings"].as_array().unwrap().iter().find(|s| s["name"] == name).cloned();
        found.map(|s| s["value"].as_str().unwrap().to_owned()).unwrap_or_default()
    };
    assert_eq!(value_of(&effective, "containerInsights"), "disabled");
    assert_eq!(value_of(&effective, "taskLongArnFormat"), "enabled");
    assert_eq!(value_of(&effective, "tagResourceAuthorization"), "on");
    let put = ecs(&["put-account-setting-default", "--name", "containerInsights", "--value", "enhanced"]);
    let root_arn = put["setting"]["principalArn"].as_str().unwrap().to_owned();
    assert!(root_arn.ends_with(":root"), "{put}");
    let cluster = ecs(&["create-cluster", "--cluster-name", "insightful"]);
    assert_eq!(cluster["cluster"]["settings"], json!([{"name": "containerInsights", "value": "enhanced"}]));
    ecs(&["put-account-setting", "--name", "awsvpcTrunking", "--value", "enabled"]);
    let trunking = ecs(&["list-account-settings", "--name", "awsvpcTrunking", "--effective-settings"]);
    assert_eq!(
        trunking["settings"],
        json!([{"name": "awsvpcTrunking", "value": "enabled", "principalArn": root_arn, "type": "user"}])
    );
    let own = ecs(&["list-account-settings"]);
    assert_eq!(own["settings"].as_array().unwrap().len(), 2, "the two root set: {own}");
    ecs(&["delete-account-setting", "--name", "containerInsights"]);
    let after = ecs(&["list-account-settings", "--name", "containerInsights", "--effective-settings"]);
    assert_eq!(value_of(&after, "containerInsights"), "disabled", "ECS's default again");
    let refused =
        server.aws(&root, &["ecs", "put-account-setting", "--name", "taskLongArnFormat", "--value", "disabled"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("(InvalidParameterException)"), "{stderr}");
}
