//! Task definitions' `secrets` and `repositoryCredentials`, in process: registered and shown
//! as references (the agent resolves them at start), and refused when malformed.

use crate::support::{Case, TestServer, ecs, unique};
use serde_json::{Value, json};

crate::support::on_both_stores!(secrets_are_registered_as_references_and_malformed_ones_refused);

fn definition(family: &str, extra: Value) -> Value {
    let mut container = json!({"name": "app", "image": "busybox", "memory": 32});
    for (key, value) in extra.as_object().unwrap() {
        container[key] = value.clone();
    }
    json!({"family": family, "containerDefinitions": [container]})
}

fn secrets_are_registered_as_references_and_malformed_ones_refused(server: &TestServer) {
    let root = &server.root;
    let family = unique("secrets");
    let secret_arn = format!("arn:aws:secretsmanager:us-east-1:{}:secret:db-AbCdEf:password::", server.account_id);
    let secrets = json!([
        {"name": "DB_PASSWORD", "valueFrom": "/app/db"},
        {"name": "API_KEY", "valueFrom": secret_arn},
    ]);
    let credentials = json!({"credentialsParameter": format!("arn:aws:secretsmanager:us-east-1:{}:secret:reg-AbCdEf", server.account_id)});
    let refused = |name: &str, extra: Value, message: &str| {
        Case::error(
            name,
            root,
            ecs("RegisterTaskDefinition", definition(&family, extra)),
            400,
            "ClientException",
            message,
        )
    };
    server.run(&[
        Case::ok(
            "registered",
            root,
            ecs(
                "RegisterTaskDefinition",
                definition(&family, json!({"secrets": secrets, "repositoryCredentials": credentials})),
            ),
        )
        .json("/taskDefinition/containerDefinitions/0/secrets", secrets.clone())
        .json("/taskDefinition/containerDefinitions/0/repositoryCredentials", credentials.clone()),
        Case::ok("described as references", root, ecs("DescribeTaskDefinition", json!({"taskDefinition": family})))
            .json("/taskDefinition/containerDefinitions/0/secrets/1/valueFrom", secret_arn.as_str()),
        // The model's checks come first (the pipeline validates), as on ECS.
        Case::error(
            "no valueFrom",
            root,
            ecs("RegisterTaskDefinition", definition(&family, json!({"secrets": [{"name": "X"}]}))),
            400,
            "InvalidParameterException",
            "valueFrom' failed to satisfy constraint: Member must not be null",
        ),
        refused(
            "twice the same variable",
            json!({"secrets": [{"name": "X", "valueFrom": "/a"}, {"name": "X", "valueFrom": "/b"}]}),
            "given twice",
        ),
        refused(
            "a source that is neither",
            json!({"secrets": [{"name": "X", "valueFrom": "arn:aws:s3:::bucket/key"}]}),
            "SSM Parameter Store or Secrets Manager",
        ),
        Case::error(
            "credentials without their secret",
            root,
            ecs("RegisterTaskDefinition", definition(&family, json!({"repositoryCredentials": {}}))),
            400,
            "InvalidParameterException",
            "credentialsParameter",
        ),
    ]);
}
