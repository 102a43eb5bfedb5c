//! Tags sent in JSON request bodies, as the policies conditioned on them see them: ECS's
//! `tags: [{key, value}]`, ECR's `tags: [{Key, Value}]` and CloudWatch Logs' `tags` map define
//! `aws:RequestTag/KEY` and the multi-valued `aws:TagKeys` for the creating calls, so an
//! Allow or a Deny conditioned on them decides a tagged CreateCluster, CreateRepository and
//! CreateLogGroup as AWS does.

use serde_json::{Value, json};

use crate::support::{Call, Case, Key, TestServer, ecr, ecs, logs, unique};

crate::support::on_both_stores!(
    an_allow_on_a_request_tag_needs_that_tag_with_that_value,
    for_all_values_on_tag_keys_allows_only_listed_keys,
    a_deny_on_tag_keys_or_a_request_tag_refuses_whatever_the_allow
);

/// ECS's tagging authorization is on (its default): a tagged CreateCluster needs
/// `ecs:TagResource` too, decided on the same keys (`ecs_tags.rs` tries it alone).
const CREATE_ACTIONS: &str =
    r#"["ecs:CreateCluster", "ecs:TagResource", "ecr:CreateRepository", "logs:CreateLogGroup"]"#;

/// The three creating calls, each with `tags` as its service spells them (`None`: untagged).
fn creations(tags: Option<&[(&str, &str)]>) -> [(&'static str, Call); 3] {
    let tags = tags.unwrap_or_default();
    let list = |key: &str, value: &str| -> Value {
        tags.iter().map(|(k, v)| json!({ key: k, value: v })).collect::<Vec<_>>().into()
    };
    let map: serde_json::Map<String, Value> = tags.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
    let mut cluster = json!({"clusterName": unique("tagged")});
    let mut repository = json!({"repositoryName": unique("tagged")});
    let mut group = json!({"logGroupName": unique("/tagged/")});
    if !tags.is_empty() {
        cluster["tags"] = list("key", "value");
        repository["tags"] = list("Key", "Value");
        group["tags"] = map.into();
    }
    [
        ("ecs:CreateCluster", ecs("CreateCluster", cluster)),
        ("ecr:CreateRepository", ecr("CreateRepository", repository)),
        ("logs:CreateLogGroup", logs("CreateLogGroup", group)),
    ]
}

/// One case per creating call: allowed, or refused naming its action.
fn cases(label: &str, key: &Key, tags: Option<&[(&str, &str)]>, allowed: bool) -> Vec<Case> {
    creations(tags)
        .into_iter()
        .map(|(action, call)| {
            let name = format!("{label}: {action}");
            if allowed {
                Case::ok(&name, key, call)
            } else {
                let refusal = format!("is not authorized to perform: {action}");
                Case::denied(&name, key, call, refusal)
            }
        })
        .collect()
}

fn an_allow_on_a_request_tag_needs_that_tag_with_that_value(server: &TestServer) {
    let policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": {CREATE_ACTIONS}, "Resource": "*",
            "Condition": {{"StringEquals": {{"aws:RequestTag/env": "dev"}}}}}}]}}"#
    );
    let key = server.user_with_policy(&unique("tagcond"), Some(&policy));
    let mut rows = cases("env=dev", &key, Some(&[("env", "dev"), ("team", "blue")]), true);
    rows.extend(cases("env=prod", &key, Some(&[("env", "prod")]), false));
    rows.extend(cases("another key only", &key, Some(&[("stage", "dev")]), false));
    rows.extend(cases("untagged", &key, None, false));
    server.run(&rows);
}

fn for_all_values_on_tag_keys_allows_only_listed_keys(server: &TestServer) {
    let policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": {CREATE_ACTIONS}, "Resource": "*",
            "Condition": {{"ForAllValues:StringEquals": {{"aws:TagKeys": ["env", "team"]}}}}}}]}}"#
    );
    let key = server.user_with_policy(&unique("tagkeys"), Some(&policy));
    let mut rows = cases("listed keys", &key, Some(&[("env", "dev"), ("team", "blue")]), true);
    rows.extend(cases("one listed key", &key, Some(&[("team", "blue")]), true));
    rows.extend(cases("an unlisted key", &key, Some(&[("env", "dev"), ("owner", "me")]), false));
    // As on AWS: ForAllValues over a request that names no tag keys holds (nothing fails it).
    rows.extend(cases("untagged", &key, None, true));
    server.run(&rows);
}

fn a_deny_on_tag_keys_or_a_request_tag_refuses_whatever_the_allow(server: &TestServer) {
    let policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [
            {{"Effect": "Allow", "Action": {CREATE_ACTIONS}, "Resource": "*"}},
            {{"Effect": "Deny", "Action": {CREATE_ACTIONS}, "Resource": "*",
              "Condition": {{"ForAnyValue:StringEquals": {{"aws:TagKeys": ["secret"]}}}}}},
            {{"Effect": "Deny", "Action": {CREATE_ACTIONS}, "Resource": "*",
              "Condition": {{"StringEquals": {{"aws:RequestTag/env": "prod"}}}}}}]}}"#
    );
    let key = server.user_with_policy(&unique("tagdeny"), Some(&policy));
    let mut rows = cases("harmless tags", &key, Some(&[("env", "dev")]), true);
    rows.extend(cases("untagged", &key, None, true));
    rows.extend(cases("a denied key", &key, Some(&[("env", "dev"), ("secret", "x")]), false));
    rows.extend(cases("a denied value", &key, Some(&[("env", "prod")]), false));
    server.run(&rows);
}
