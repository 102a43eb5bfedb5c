//! SSM hybrid activations and managed instances, server side, end to end: activations made
//! with the real aws CLI, instances registered and issued credentials through the
//! managed-instance protocol (`docs/instance-protocol.md`) spoken directly, so every refusal
//! the agent relies on is pinned here independently of the agent.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use serde_json::json;

use common::{Key, Server, aws_cli_available, credentials_file, fresh_dir, key, post, register, request_token};

/// Long enough that a heartbeat is still fresh when a slowly starting aws CLI asks.
const PING_TIMEOUT: &str = "8";

fn now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

fn cli_error(output: &std::process::Output, code: &str) -> String {
    assert!(!output.status.success(), "expected {code}");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(stderr.contains(&format!("({code})")), "expected {code}: {stderr}");
    stderr
}

#[test]
fn activations_register_instances_that_act_with_the_role() {
    if !aws_cli_available() {
        return;
    }
    let dir = fresh_dir("ssm");
    let server = Server::start_with(&dir.join("data"), None, &["--instance-ping-timeout", PING_TIMEOUT]);
    let root = server.root_credentials();
    let account = server.aws_json(&root, &["sts", "get-caller-identity"])["Account"].as_str().unwrap().to_owned();
    let trust =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ssm-trust-policy.json")).unwrap();
    server.aws_json(
        &root,
        &["iam", "create-role", "--role-name", "ecsAnywhereRole", "--assume-role-policy-document", &trust],
    );
    server.aws_json(
        &root,
        &[
            "iam",
            "attach-role-policy",
            "--role-name",
            "ecsAnywhereRole",
            "--policy-arn",
            "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        ],
    );

    // A role SSM may not assume is "not existing" to CreateActivation, as on AWS.
    let ec2_trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
    server
        .aws_json(&root, &["iam", "create-role", "--role-name", "ec2Only", "--assume-role-policy-document", ec2_trust]);
    let refused = server.aws(&root, &["ssm", "create-activation", "--iam-role", "ec2Only"]);
    let message = cli_error(&refused, "ValidationException");
    assert!(message.contains(&format!("Not existing role: arn:aws:iam::{account}:role/ec2Only")), "{message}");
    let message =
        cli_error(&server.aws(&root, &["ssm", "create-activation", "--iam-role", "nobody"]), "ValidationException");
    assert!(message.contains("Not existing role"), "{message}");

    // RegistrationLimit 1: the first registers, the second is refused.
    let activation = server.aws_json(
        &root,
        &[
            "ssm",
            "create-activation",
            "--iam-role",
            "ecsAnywhereRole",
            "--tags",
            "Key=env,Value=lab",
            "--default-instance-name",
            "edge",
        ],
    );
    let (status, first) = register(&server, &activation, &key(1));
    assert_eq!(status, 200, "{first}");
    let instance_id = first["InstanceId"].as_str().unwrap().to_owned();
    assert!(instance_id.starts_with("mi-") && instance_id.len() == 20, "{instance_id}");
    let (status, second) = register(&server, &activation, &key(2));
    assert_eq!((status, second["__type"].as_str()), (400, Some("RegistrationLimitExceeded")), "{second}");
    let mut wrong_code = activation.clone();
    wrong_code["ActivationCode"] = json!("not-the-code");
    let (status, wrong) = register(&server, &wrong_code, &key(3));
    assert_eq!((status, wrong["__type"].as_str()), (400, Some("InvalidActivation")), "{wrong}");
    let described = server.aws_json(&root, &["ssm", "describe-activations"]);
    assert_eq!(described["ActivationList"][0]["RegistrationsCount"], 1, "{described}");
    assert_eq!(described["ActivationList"][0]["Expired"], false);

    // An expired activation.
    // The aws CLI takes most of a second to start, more on a loaded machine: the expiry is
    // far enough ahead to arrive in the future, and the test waits for the clock to pass it.
    let expiration = now() + 8;
    let expiring = server.aws_json(
        &root,
        &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole", "--expiration-date", &expiration.to_string()],
    );
    while now() <= expiration {
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let (status, expired) = register(&server, &expiring, &key(4));
    assert_eq!((status, expired["__type"].as_str()), (400, Some("ActivationExpired")), "{expired}");

    // Credentials: proof of the key, within five minutes, as the role's session named after the instance.
    let (status, forged) = request_token(&server, &instance_id, &key(9), now());
    assert_eq!((status, forged["__type"].as_str()), (403, Some("AccessDeniedException")), "{forged}");
    let (status, stale) = request_token(&server, &instance_id, &key(1), now() - 600);
    assert_eq!(status, 403, "{stale}");
    let (status, credentials) = request_token(&server, &instance_id, &key(1), now());
    assert_eq!(status, 200, "{credentials}");
    assert!(credentials["TokenExpirationDate"].as_i64().unwrap() - now() > 3500);
    let instance = dir.join("instance-credentials");
    credentials_file(&instance, &credentials);
    let who = server.aws_json(&instance, &["sts", "get-caller-identity"]);
    assert_eq!(who["Arn"], format!("arn:aws:sts::{account}:assumed-role/ecsAnywhereRole/{instance_id}"));
    let message = cli_error(&server.aws(&instance, &["iam", "list-users"]), "AccessDenied");
    assert!(
        message.contains(&format!(
            "User: arn:aws:sts::{account}:assumed-role/ecsAnywhereRole/{instance_id} is not authorized to perform: iam:ListUsers"
        )),
        "{message}"
    );

    // The heartbeat, allowed by AmazonSSMManagedInstanceCore, makes the instance Online.
    let heartbeat =
        json!({"InstanceId": instance_id, "AgentName": "test", "AgentVersion": "0.1.0", "PlatformType": "Linux",
        "PlatformName": "Debian GNU/Linux", "IPAddress": "192.0.2.10", "ComputerName": "edge-1"})
        .to_string();
    let session = Key {
        id: credentials["AccessKeyId"].as_str().unwrap(),
        secret: credentials["SecretAccessKey"].as_str().unwrap(),
        token: credentials["SessionToken"].as_str(),
    };
    let (status, response) =
        post(&server.address, Some(&session), "ssm", Some("AmazonSSM.UpdateInstanceInformation"), &heartbeat);
    assert_eq!(status, 200, "{response}");
    let information = server.aws_json(&root, &["ssm", "describe-instance-information"]);
    let listed = &information["InstanceInformationList"][0];
    assert_eq!(listed["InstanceId"], instance_id.as_str());
    assert_eq!(listed["PingStatus"], "Online");
    assert_eq!(listed["IamRole"], "ecsAnywhereRole");
    assert_eq!(listed["Name"], "edge");
    assert_eq!(listed["ComputerName"], "edge-1");
    assert_eq!(listed["ResourceType"], "ManagedInstance");
    let tags = server.aws_json(
        &root,
        &["ssm", "list-tags-for-resource", "--resource-type", "ManagedInstance", "--resource-id", &instance_id],
    );
    assert_eq!(tags["TagList"], json!([{"Key": "env", "Value": "lab"}]), "activation tags are copied");
    // Without heartbeats it turns ConnectionLost after the ping timeout.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    let information = loop {
        let information = server.aws_json(
            &root,
            &["ssm", "describe-instance-information", "--filters", "Key=PingStatus,Values=ConnectionLost"],
        );
        if information["InstanceInformationList"].as_array().is_some_and(|list| !list.is_empty()) {
            break information;
        }
        assert!(std::time::Instant::now() < deadline, "never ConnectionLost: {information}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert_eq!(information["InstanceInformationList"][0]["PingStatus"], "ConnectionLost", "{information}");

    // The trust policy is checked at every issue.
    server.aws_json(
        &root,
        &["iam", "update-assume-role-policy", "--role-name", "ecsAnywhereRole", "--policy-document", ec2_trust],
    );
    let (status, untrusted) = request_token(&server, &instance_id, &key(1), now());
    assert_eq!(status, 403, "{untrusted}");
    assert!(untrusted["message"].as_str().unwrap().contains("sts:AssumeRole"), "{untrusted}");
    server.aws_json(
        &root,
        &["iam", "update-assume-role-policy", "--role-name", "ecsAnywhereRole", "--policy-document", &trust],
    );

    // Deregistering revokes at once: issued credentials stop working, no more are issued.
    server.aws_json(&root, &["ssm", "deregister-managed-instance", "--instance-id", &instance_id]);
    cli_error(&server.aws(&instance, &["sts", "get-caller-identity"]), "InvalidClientTokenId");
    let (status, gone) = request_token(&server, &instance_id, &key(1), now());
    assert_eq!((status, gone["__type"].as_str()), (400, Some("InvalidInstanceId")), "{gone}");
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
