//! Secrets for workloads end to end, with the real aws CLI: SSM Parameter Store and Secrets
//! Manager as operators use them, and a real `homeport agent` running tasks in the real Docker
//! whose containers read a SecureString parameter and a Secrets Manager JSON key from their
//! environment (printed to their awslogs stream and read back with GetLogEvents), while the
//! values appear nowhere else: not in DescribeTasks, not in the agent's log, not in its state
//! directory, not in the control plane's data directory. A task whose execution role may not
//! call ssm:GetParameters stops with ECS's `ResourceInitializationError` naming the action.
//!
//! Without the aws CLI or Docker the tests say they did not run, except in CI, where they fail.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use common::ecs::{
    Containers, ECS_POLICY, Ecs, IMAGE, SSM_POLICY, busybox_ready, cluster_with_agent, execution_role, instance_role,
    log_messages, wait_for,
};
use common::{Server, aws_cli_available, ecr_login, fresh_dir};

const READ_SECRETS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:GetParameters","secretsmanager:GetSecretValue","logs:CreateLogGroup"],"Resource":"*"}]}"#;
const READ_SECRETS_ONLY_ASM: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","logs:CreateLogGroup"],"Resource":"*"}]}"#;

const PARAMETER_VALUE: &str = "pg-Sup3r-s3cret";
const JSON_PASSWORD: &str = "api-Hidd3n-k3y";

/// Whether any file under `dir` holds `needle`.
fn any_file_holds(dir: &Path, needle: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            any_file_holds(&path, needle)
        } else {
            std::fs::read(&path).unwrap_or_default().windows(needle.len()).any(|window| window == needle.as_bytes())
        }
    })
}

#[test]
fn parameters_and_secrets_through_the_aws_cli() {
    if !aws_cli_available() {
        return;
    }
    let dir = fresh_dir("secrets-cli");
    let server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    let aws = |args: &[&str]| server.aws_json(&root, args);

    let put = aws(&["ssm", "put-parameter", "--name", "/app/db/password", "--type", "SecureString", "--value", "one"]);
    assert_eq!(put["Version"], 1, "{put}");
    aws(&[
        "ssm",
        "put-parameter",
        "--name",
        "/app/db/password",
        "--type",
        "SecureString",
        "--value",
        "two",
        "--overwrite",
    ]);
    aws(&["ssm", "put-parameter", "--name", "/app/db/host", "--type", "String", "--value", "db.local"]);
    let read = aws(&["ssm", "get-parameter", "--name", "/app/db/password", "--with-decryption"]);
    assert_eq!(read["Parameter"]["Value"], "two");
    assert_eq!(read["Parameter"]["Version"], 2);
    let sealed = aws(&["ssm", "get-parameter", "--name", "/app/db/password"]);
    assert_ne!(sealed["Parameter"]["Value"], "two", "only decrypted on request");
    let tree = aws(&["ssm", "get-parameters-by-path", "--path", "/app", "--recursive", "--with-decryption"]);
    let mut names: Vec<&str> =
        tree["Parameters"].as_array().unwrap().iter().map(|p| p["Name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["/app/db/host", "/app/db/password"], "the CLI follows the pages");
    let first = aws(&["ssm", "get-parameter", "--name", "/app/db/password:1", "--with-decryption"]);
    assert_eq!(first["Parameter"]["Value"], "one");
    let missing = server.aws(&root, &["ssm", "get-parameter", "--name", "/app/none"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("ParameterNotFound"));

    let created = aws(&[
        "secretsmanager",
        "create-secret",
        "--name",
        "app/api",
        "--secret-string",
        r#"{"username":"app","password":"p1"}"#,
    ]);
    let arn = created["ARN"].as_str().unwrap().to_owned();
    assert!(arn.contains(":secret:app/api-"), "{arn}");
    aws(&["secretsmanager", "put-secret-value", "--secret-id", &arn, "--secret-string", r#"{"password":"p2"}"#]);
    let value = aws(&["secretsmanager", "get-secret-value", "--secret-id", "app/api"]);
    assert_eq!(value["SecretString"], r#"{"password":"p2"}"#);
    let previous =
        aws(&["secretsmanager", "get-secret-value", "--secret-id", "app/api", "--version-stage", "AWSPREVIOUS"]);
    assert_eq!(previous["SecretString"], r#"{"username":"app","password":"p1"}"#);
    let listed = aws(&["secretsmanager", "list-secrets"]);
    assert_eq!(listed["SecretList"][0]["Name"], "app/api");
    let deleted = aws(&["secretsmanager", "delete-secret", "--secret-id", "app/api", "--recovery-window-in-days", "7"]);
    assert!(deleted["DeletionDate"].is_number() || deleted["DeletionDate"].is_string(), "{deleted}");
    let refused = server.aws(&root, &["secretsmanager", "get-secret-value", "--secret-id", "app/api"]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("InvalidRequestException"));
    aws(&["secretsmanager", "restore-secret", "--secret-id", "app/api"]);
    assert_eq!(
        aws(&["secretsmanager", "get-secret-value", "--secret-id", &arn])["SecretString"],
        r#"{"password":"p2"}"#
    );
    // Nothing in the data directory holds a value in the clear.
    assert!(!any_file_holds(&dir.join("data"), r#""password":"p2""#));
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tasks_read_their_secrets_with_the_execution_role() {
    let Some(dir) = busybox_ready("the secrets end-to-end test", "secrets-docker") else { return };
    let cluster = format!("secrets-{}", std::process::id());
    let containers = Containers { cluster: cluster.clone() };
    let server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    let aws = |args: &[&str]| server.aws_json(&root, args);
    instance_role(&server, &[SSM_POLICY, ECS_POLICY]);
    let account = aws(&["sts", "get-caller-identity"])["Account"].as_str().unwrap().to_owned();
    for (role, inline) in [("secretsExecRole", READ_SECRETS), ("noSsmExecRole", READ_SECRETS_ONLY_ASM)] {
        execution_role(&server, role, Some(("secrets", inline)));
    }
    aws(&["ssm", "put-parameter", "--name", "/app/db-password", "--type", "SecureString", "--value", PARAMETER_VALUE]);
    let secret = json!({"username": "app", "password": JSON_PASSWORD}).to_string();
    let secret_arn = aws(&["secretsmanager", "create-secret", "--name", "app/api", "--secret-string", &secret])["ARN"]
        .as_str()
        .unwrap()
        .to_owned();

    let state = dir.join("agent");
    let (agent, _) = cluster_with_agent(&server, &cluster, &state);
    let ecs = Ecs { server: &server, cluster: cluster.clone() };
    let definition = |family: &str, role: &str| {
        json!({
            "family": family,
            "executionRoleArn": format!("arn:aws:iam::{account}:role/{role}"),
            "containerDefinitions": [{
                "name": "app", "image": IMAGE, "memory": 16, "essential": true,
                // Each value without its first characters, so the shipped log does not hold it
                // whole (the data directory is searched for the whole values below).
                "command": ["sh", "-c", "echo \"DB=${DB_PASSWORD#pg-} API=${API_PASSWORD#api-}\"; sleep 600"],
                "secrets": [
                    {"name": "DB_PASSWORD", "valueFrom": "/app/db-password"},
                    {"name": "API_PASSWORD", "valueFrom": format!("{secret_arn}:password::")},
                ],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/secrets",
                    "awslogs-region": "us-east-1", "awslogs-stream-prefix": "s", "awslogs-create-group": "true"}},
            }]
        })
    };

    // The execution role reads both: the container sees them in its environment.
    ecs.register_definition(definition("with-secrets", "secretsExecRole"));
    let task = ecs.run_task("with-secrets", &[]).remove(0);
    ecs.await_status(std::slice::from_ref(&task), "RUNNING", Duration::from_secs(60));
    let stream = format!("s/app/{}", task.rsplit('/').next().unwrap());
    let messages = wait_for("the secrets in its log", Duration::from_secs(30), || {
        let messages = log_messages(&server, "/ecs/secrets", &stream);
        (!messages.is_empty()).then_some(messages)
    });
    assert_eq!(messages, ["DB=Sup3r-s3cret API=Hidd3n-k3y"]);
    // Docker holds them in the container's configuration, as with ECS's agent.
    let id = containers.of_task(&task, false).remove(0);
    let env: Vec<String> =
        serde_json::from_str(&common::ecs::docker(&["inspect", "--format", "{{json .Config.Env}}", &id])).unwrap();
    assert!(env.contains(&format!("DB_PASSWORD={PARAMETER_VALUE}")), "{:?}", env.len());
    assert!(env.contains(&format!("API_PASSWORD={JSON_PASSWORD}")), "{:?}", env.len());
    // ...and nowhere else: not in the task's description, the agent's log or state, or the
    // control plane's data directory.
    let definition_shown = aws(&["ecs", "describe-task-definition", "--task-definition", "with-secrets"]);
    let described = ecs.task(&task).to_string() + &definition_shown.to_string();
    for value in [PARAMETER_VALUE, JSON_PASSWORD] {
        assert!(!described.contains(value), "DescribeTasks shows no value");
        assert!(!agent.log().contains(value), "the agent's log shows no value");
        assert!(!any_file_holds(&state, value), "the agent's state holds no value");
        assert!(!any_file_holds(&dir.join("data"), value), "the control plane holds no value in the clear");
    }
    assert!(described.contains("/app/db-password"), "the reference is shown: {described}");
    ecs.call(&["stop-task", "--task", &task]);
    ecs.await_status(std::slice::from_ref(&task), "STOPPED", Duration::from_secs(60));

    // An execution role without ssm:GetParameters: the task stops before any container runs.
    ecs.register_definition(definition("no-ssm", "noSsmExecRole"));
    let task = ecs.run_task("no-ssm", &[]).remove(0);
    let stopped = ecs.await_status(std::slice::from_ref(&task), "STOPPED", Duration::from_secs(60)).remove(0);
    assert!(containers.of_task(&task, true).is_empty(), "no container was created");
    let reason = stopped["stoppedReason"].as_str().unwrap();
    let wanted = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: \
                  unable to retrieve secrets from ssm: AccessDeniedException: ";
    assert!(reason.starts_with(wanted), "{reason}");
    assert!(reason.contains("ssm:GetParameters") && reason.contains("noSsmExecRole"), "{reason}");
    assert_eq!(stopped["stopCode"], "TaskFailedToStart", "{stopped}");

    // A parameter that does not exist: the same reason, naming it.
    ssm_delete(&server, "/app/db-password");
    let task = ecs.run_task("with-secrets", &[]).remove(0);
    let stopped = ecs.await_status(std::slice::from_ref(&task), "STOPPED", Duration::from_secs(60)).remove(0);
    let reason = stopped["stoppedReason"].as_str().unwrap();
    assert!(reason.ends_with("unable to retrieve secrets from ssm: invalid parameters: /app/db-password"), "{reason}");
    drop(agent);
    drop(containers);
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `repositoryCredentials`: an image of a registry other than the control plane's (here
/// Homeport's own registry reached as `localhost:PORT`, which the agent does not know as its
/// control plane's) is pulled with the username and password of a Secrets Manager secret,
/// read with the execution role.
#[test]
fn private_registry_credentials_come_from_a_secret() {
    let Some(dir) = busybox_ready("the secrets end-to-end test", "secrets-registry") else { return };
    let cluster = format!("registry-{}", std::process::id());
    let containers = Containers { cluster: cluster.clone() };
    let server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    let aws = |args: &[&str]| server.aws_json(&root, args);
    instance_role(&server, &[SSM_POLICY, ECS_POLICY]);
    let account = aws(&["sts", "get-caller-identity"])["Account"].as_str().unwrap().to_owned();
    for (role, inline) in [
        ("secretsExecRole", READ_SECRETS),
        (
            "noAsmExecRole",
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:GetParameters","Resource":"*"}}"#,
        ),
    ] {
        execution_role(&server, role, Some(("secrets", inline)));
    }
    // An image pushed to the registry, then gone from Docker.
    aws(&["ecr", "create-repository", "--repository-name", "private"]);
    let pushed_as = format!("{}/private:1", server.address);
    let docker_config = dir.join("docker-root");
    ecr_login(&server, &root, &docker_config);
    common::ecs::docker(&["tag", IMAGE, &pushed_as]);
    let pushed = std::process::Command::new("docker")
        .env("DOCKER_CONFIG", &docker_config)
        .args(["push", &pushed_as])
        .output()
        .unwrap();
    assert!(pushed.status.success(), "push: {}", String::from_utf8_lossy(&pushed.stderr));
    let port = server.address.rsplit(':').next().unwrap();
    let image = format!("localhost:{port}/private:1");
    let forget = |image: &str| {
        let _ = std::process::Command::new("docker").args(["rmi", "-f", image]).output();
    };
    forget(&pushed_as);
    forget(&image);
    let password = aws(&["ecr", "get-authorization-token"])["authorizationData"][0]["authorizationToken"]
        .as_str()
        .map(|token| {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD.decode(token).unwrap();
            String::from_utf8(decoded).unwrap().strip_prefix("AWS:").unwrap().to_owned()
        })
        .unwrap();
    let credentials = json!({"username": "AWS", "password": password}).to_string();
    let secret_arn =
        aws(&["secretsmanager", "create-secret", "--name", "registry", "--secret-string", &credentials])["ARN"]
            .as_str()
            .unwrap()
            .to_owned();

    let state = dir.join("agent");
    let (agent, _) = cluster_with_agent(&server, &cluster, &state);
    let ecs = Ecs { server: &server, cluster: cluster.clone() };
    let definition = |family: &str, role: &str| {
        json!({
            "family": family,
            "executionRoleArn": format!("arn:aws:iam::{account}:role/{role}"),
            "containerDefinitions": [{
                "name": "app", "image": image, "memory": 16, "essential": true, "stopTimeout": 2,
                "command": ["sleep", "600"],
                "repositoryCredentials": {"credentialsParameter": secret_arn},
            }]
        })
    };
    ecs.register_definition(definition("private", "secretsExecRole"));
    let task = ecs.run_task("private", &[]).remove(0);
    ecs.await_status(std::slice::from_ref(&task), "RUNNING", Duration::from_secs(60));
    assert!(!agent.log().contains(&password), "the agent's log shows no password");
    assert!(!any_file_holds(&state, &password), "the agent's state holds no password");
    ecs.call(&["stop-task", "--task", &task]);
    ecs.await_status(std::slice::from_ref(&task), "STOPPED", Duration::from_secs(60));
    forget(&image);

    // Without secretsmanager:GetSecretValue: ECS's reason, and no container.
    ecs.register_definition(definition("private-denied", "noAsmExecRole"));
    let task = ecs.run_task("private-denied", &[]).remove(0);
    let stopped = ecs.await_status(std::slice::from_ref(&task), "STOPPED", Duration::from_secs(60)).remove(0);
    assert!(containers.of_task(&task, true).is_empty(), "no container was created");
    let reason = stopped["stoppedReason"].as_str().unwrap();
    let wanted = format!(
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: \
         unable to retrieve secret from asm: failed to fetch secret {secret_arn} from secrets manager: AccessDeniedException: "
    );
    assert!(reason.starts_with(&wanted), "{reason}");
    assert!(reason.contains("secretsmanager:GetSecretValue"), "{reason}");
    drop(agent);
    drop(containers);
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

fn ssm_delete(server: &Server, name: &str) {
    server.aws_json(&server.root_credentials(), &["ssm", "delete-parameter", "--name", name]);
}
