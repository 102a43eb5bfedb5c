//! Roles, managed policies, boundaries, role sessions and the principal simulator, end to end
//! with the real aws CLI against the real server: the source document's "To create the ECS
//! Anywhere IAM role (AWS CLI)" steps verbatim and across a restart, role sessions through the
//! CLI's credential files, and IAM's limits through boto3. (The refusals around the seed steps
//! are the fast tier's `iam_roles` family.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{Server, TestDatabase, aws_cli_available, fresh_dir};

/// `ssm-trust-policy.json`, character for character as the source document gives it.
const SEED_TRUST_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": {
    "Effect": "Allow",
    "Principal": {"Service": [
      "ssm.amazonaws.com"
    ]},
    "Action": "sts:AssumeRole"
  }
}
"#;

impl Server {
    /// Runs the aws CLI in `dir` (so `file://` paths are the seed's) and returns its
    /// stdout, or its stderr on failure.
    fn aws_in(&self, dir: &Path, credentials: &Path, args: &[&str]) -> Result<String, String> {
        let output = Command::new("aws")
            .args(args)
            .current_dir(dir)
            .envs(self.endpoint_env())
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_SHARED_CREDENTIALS_FILE", credentials)
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .output()
            .unwrap();
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

/// Expects the CLI to fail with `code`, and returns its message.
fn refused(result: Result<String, String>, code: &str) -> String {
    let error = result.expect_err("the call should have been refused");
    assert!(error.contains(&format!("({code})")), "expected {code}, got: {error}");
    error
}

fn write_credentials(path: &Path, key: &serde_json::Value, token: Option<&str>) {
    let (id, secret) = match key.get("AccessKey") {
        Some(access_key) => (&access_key["AccessKeyId"], &access_key["SecretAccessKey"]),
        None => (&key["Credentials"]["AccessKeyId"], &key["Credentials"]["SecretAccessKey"]),
    };
    let mut text = format!(
        "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        id.as_str().unwrap(),
        secret.as_str().unwrap()
    );
    if let Some(token) = token {
        text.push_str(&format!("aws_session_token = {token}\n"));
    }
    std::fs::write(path, text).unwrap();
}

fn seed_steps(store_url: Option<&str>, name: &str) {
    let dir = fresh_dir(name);
    let server = Server::start(&dir.join("data"), store_url);
    let root = server.root_credentials();
    let aws = |args: &[&str]| server.aws_in(&dir, &root, args);

    // The source document's steps, verbatim.
    assert_eq!(
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ssm-trust-policy.json")).unwrap(),
        SEED_TRUST_POLICY
    );
    std::fs::write(dir.join("ssm-trust-policy.json"), SEED_TRUST_POLICY).unwrap();
    let created = json(
        &aws(&[
            "iam",
            "create-role",
            "--role-name",
            "ecsAnywhereRole",
            "--assume-role-policy-document",
            "file://ssm-trust-policy.json",
        ])
        .unwrap(),
    );
    let role_arn = created["Role"]["Arn"].as_str().unwrap().to_owned();
    assert!(role_arn.ends_with(":role/ecsAnywhereRole"), "{created}");
    assert!(created["Role"]["RoleId"].as_str().unwrap().starts_with("AROA"));
    aws(&[
        "iam",
        "attach-role-policy",
        "--role-name",
        "ecsAnywhereRole",
        "--policy-arn",
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    ])
    .unwrap();
    aws(&[
        "iam",
        "attach-role-policy",
        "--role-name",
        "ecsAnywhereRole",
        "--policy-arn",
        "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
    ])
    .unwrap();

    let attached = json(&aws(&["iam", "list-attached-role-policies", "--role-name", "ecsAnywhereRole"]).unwrap());
    let mut names: Vec<&str> =
        attached["AttachedPolicies"].as_array().unwrap().iter().map(|p| p["PolicyName"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["AmazonEC2ContainerServiceforEC2Role", "AmazonSSMManagedInstanceCore"]);
    let role = json(&aws(&["iam", "get-role", "--role-name", "ecsanywhererole"]).unwrap());
    // The CLI URL-decodes and parses the trust policy: it is the seed's document.
    assert_eq!(role["Role"]["AssumeRolePolicyDocument"], json(SEED_TRUST_POLICY), "{role}");
    assert_eq!(role["Role"]["MaxSessionDuration"], 3600);
    assert_eq!(role["Role"]["RoleName"], "ecsAnywhereRole");

    // The principal simulator sees what the attached managed policies grant, and follows a detach.
    let simulate = || {
        let result = json(
            &aws(&[
                "iam",
                "simulate-principal-policy",
                "--policy-source-arn",
                &role_arn,
                "--action-names",
                "ecs:RegisterContainerInstance",
                "ssm:UpdateInstanceInformation",
                "s3:GetObject",
            ])
            .unwrap(),
        );
        result["EvaluationResults"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["EvalActionName"].as_str().unwrap().to_owned(), r["EvalDecision"].as_str().unwrap().to_owned()))
            .collect::<Vec<_>>()
    };
    let decisions = simulate();
    assert_eq!(
        decisions,
        [
            ("ecs:RegisterContainerInstance".to_owned(), "allowed".to_owned()),
            ("ssm:UpdateInstanceInformation".to_owned(), "allowed".to_owned()),
            ("s3:GetObject".to_owned(), "implicitDeny".to_owned()),
        ]
    );
    aws(&[
        "iam",
        "detach-role-policy",
        "--role-name",
        "ecsAnywhereRole",
        "--policy-arn",
        "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
    ])
    .unwrap();
    assert_eq!(simulate()[0].1, "implicitDeny", "the detach applies at once");
    assert_eq!(simulate()[1].1, "allowed");

    // The limits and refusals around these steps (a trust policy without a principal, an
    // identity policy with one, the eleventh managed policy, ...) are the fast tier's
    // `iam_roles::a_role_holds_ten_managed_policies_at_most`, on both stores.
    server.kill();

    // Everything above survives a restart (kill -9).
    let server = Server::start(&dir.join("data"), store_url);
    let aws = |args: &[&str]| server.aws_in(&dir, &root, args);
    let attached = json(&aws(&["iam", "list-attached-role-policies", "--role-name", "ecsAnywhereRole"]).unwrap());
    assert_eq!(attached["AttachedPolicies"][0]["PolicyName"], "AmazonSSMManagedInstanceCore", "{attached}");
    assert_eq!(attached["AttachedPolicies"].as_array().unwrap().len(), 1, "{attached}");
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_seed_steps_work_verbatim_on_sqlite() {
    if !aws_cli_available() {
        return;
    }
    seed_steps(None, "seed-sqlite");
}

#[test]
fn the_seed_steps_work_verbatim_on_postgres() {
    if !aws_cli_available() {
        return;
    }
    let Some(database) = TestDatabase::create("roles") else { return };
    seed_steps(Some(&database.url), "seed-postgres");
}

/// Managed policy versions, role sessions (AssumeRole, live policy changes, chaining) and
/// iam:PassRole, on the embedded store.
#[test]
fn role_sessions_follow_their_role_and_pass_role_is_enforced() {
    if !aws_cli_available() {
        return;
    }
    let dir = fresh_dir("sessions");
    let server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    let aws = |credentials: &Path, args: &[&str]| server.aws_in(&dir, credentials, args);
    let account = json(&aws(&root, &["sts", "get-caller-identity"]).unwrap())["Account"].as_str().unwrap().to_owned();

    // Versions: five at most (the sixth refused, and the default's deletion, is the fast tier's
    // `iam_policies`), one default.
    let v1 = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:GetRole","Resource":"*"}}"#;
    let policy =
        json(&aws(&root, &["iam", "create-policy", "--policy-name", "reader", "--policy-document", v1]).unwrap());
    let policy_arn = policy["Policy"]["Arn"].as_str().unwrap().to_owned();
    assert_eq!(policy_arn, format!("arn:aws:iam::{account}:policy/reader"));
    assert_eq!(policy["Policy"]["DefaultVersionId"], "v1");
    for n in 2..=5 {
        let version = json(
            &aws(&root, &["iam", "create-policy-version", "--policy-arn", &policy_arn, "--policy-document", v1])
                .unwrap(),
        );
        assert_eq!(version["PolicyVersion"]["VersionId"], format!("v{n}"));
    }
    aws(&root, &["iam", "delete-policy-version", "--policy-arn", &policy_arn, "--version-id", "v5"]).unwrap();
    let both = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["iam:GetRole","iam:ListRoles"],"Resource":"*"}}"#;
    let version = json(
        &aws(
            &root,
            &[
                "iam",
                "create-policy-version",
                "--policy-arn",
                &policy_arn,
                "--policy-document",
                both,
                "--set-as-default",
            ],
        )
        .unwrap(),
    );
    assert_eq!(version["PolicyVersion"]["VersionId"], "v6");
    assert_eq!(version["PolicyVersion"]["IsDefaultVersion"], true);

    // A user who may assume a role that trusts it.
    aws(&root, &["iam", "create-user", "--user-name", "alice"]).unwrap();
    let key = json(&aws(&root, &["iam", "create-access-key", "--user-name", "alice"]).unwrap());
    let alice = dir.join("alice");
    write_credentials(&alice, &key, None);
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:user/alice"}},"Action":"sts:AssumeRole"}}}}"#
    );
    aws(
        &root,
        &[
            "iam",
            "create-role",
            "--role-name",
            "deployer",
            "--path",
            "/ops/",
            "--assume-role-policy-document",
            &trust,
            "--max-session-duration",
            "7200",
        ],
    )
    .unwrap();
    let role_arn = format!("arn:aws:iam::{account}:role/ops/deployer");
    let assumed = json(
        &aws(&alice, &["sts", "assume-role", "--role-arn", &role_arn, "--role-session-name", "build-42"]).unwrap(),
    );
    assert_eq!(assumed["AssumedRoleUser"]["Arn"], format!("arn:aws:sts::{account}:assumed-role/deployer/build-42"));
    let session = dir.join("session");
    write_credentials(&session, &assumed, assumed["Credentials"]["SessionToken"].as_str());
    let who = json(&aws(&session, &["sts", "get-caller-identity"]).unwrap());
    assert_eq!(who["Arn"], format!("arn:aws:sts::{account}:assumed-role/deployer/build-42"));
    assert!(who["UserId"].as_str().unwrap().ends_with(":build-42"));

    // The session can do what the role can, and a change to the role applies from the next request.
    let message = refused(aws(&session, &["iam", "list-roles"]), "AccessDenied");
    assert!(
        message.contains(&format!(
            "User: arn:aws:sts::{account}:assumed-role/deployer/build-42 is not authorized to perform: iam:ListRoles on resource: arn:aws:iam::{account}:role/ because no identity-based policy allows the iam:ListRoles action"
        )),
        "{message}"
    );
    aws(&root, &["iam", "attach-role-policy", "--role-name", "deployer", "--policy-arn", &policy_arn]).unwrap();
    aws(&session, &["iam", "list-roles"]).unwrap();
    // A boundary bounds it at once too.
    let only_get = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:GetRole","Resource":"*"}}"#;
    let boundary = json(
        &aws(&root, &["iam", "create-policy", "--policy-name", "boundary", "--policy-document", only_get]).unwrap(),
    );
    let boundary_arn = boundary["Policy"]["Arn"].as_str().unwrap().to_owned();
    aws(
        &root,
        &["iam", "put-role-permissions-boundary", "--role-name", "deployer", "--permissions-boundary", &boundary_arn],
    )
    .unwrap();
    let message = refused(aws(&session, &["iam", "list-roles"]), "AccessDenied");
    assert!(message.contains("because no permissions boundary allows the iam:ListRoles action"), "{message}");
    aws(&session, &["iam", "get-role", "--role-name", "deployer"]).unwrap();
    refused(aws(&root, &["iam", "delete-policy", "--policy-arn", &boundary_arn]), "DeleteConflict");
    aws(&root, &["iam", "delete-role-permissions-boundary", "--role-name", "deployer"]).unwrap();
    aws(&session, &["iam", "list-roles"]).unwrap();

    // Session policies narrow a session; a chained session is served.
    let narrowed = json(
        &aws(
            &alice,
            &["sts", "assume-role", "--role-arn", &role_arn, "--role-session-name", "narrow", "--policy", only_get],
        )
        .unwrap(),
    );
    let narrow = dir.join("narrow");
    write_credentials(&narrow, &narrowed, narrowed["Credentials"]["SessionToken"].as_str());
    let message = refused(aws(&narrow, &["iam", "list-roles"]), "AccessDenied");
    assert!(message.contains("because no session policy allows the iam:ListRoles action"), "{message}");
    let chain_trust = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{role_arn}"}},"Action":"sts:AssumeRole"}}}}"#
    );
    aws(
        &root,
        &[
            "iam",
            "create-role",
            "--role-name",
            "next",
            "--assume-role-policy-document",
            &chain_trust,
            "--max-session-duration",
            "43200",
        ],
    )
    .unwrap();
    let next_arn = format!("arn:aws:iam::{account}:role/next");
    aws(&session, &["sts", "assume-role", "--role-arn", &next_arn, "--role-session-name", "hop"]).unwrap();

    // (A role whose trust policy does not name the caller, root, a chain past an hour and a
    // session past the role's maximum are refused in the fast tier's `sts`.)

    // iam:PassRole: adding a role to an instance profile passes it.
    let pass_role = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["iam:CreateInstanceProfile","iam:AddRoleToInstanceProfile"],"Resource":"*"}},
            {{"Effect":"Allow","Action":"iam:PassRole","Resource":"{role_arn}","Condition":{{"StringEquals":{{"iam:PassedToService":"ec2.amazonaws.com"}}}}}}]}}"#
    );
    aws(
        &root,
        &[
            "iam",
            "put-user-policy",
            "--user-name",
            "alice",
            "--policy-name",
            "profiles",
            "--policy-document",
            &pass_role,
        ],
    )
    .unwrap();
    aws(&alice, &["iam", "create-instance-profile", "--instance-profile-name", "web"]).unwrap();
    let message = refused(
        aws(&alice, &["iam", "add-role-to-instance-profile", "--instance-profile-name", "web", "--role-name", "next"]),
        "AccessDenied",
    );
    assert!(
        message.contains(&format!("is not authorized to perform: iam:PassRole on resource: {next_arn}")),
        "{message}"
    );
    aws(&alice, &["iam", "add-role-to-instance-profile", "--instance-profile-name", "web", "--role-name", "deployer"])
        .unwrap();
    let profiles = json(&aws(&root, &["iam", "list-instance-profiles-for-role", "--role-name", "deployer"]).unwrap());
    assert_eq!(profiles["InstanceProfiles"][0]["InstanceProfileName"], "web");

    // Deleting the role ends its sessions.
    aws(
        &root,
        &["iam", "remove-role-from-instance-profile", "--instance-profile-name", "web", "--role-name", "deployer"],
    )
    .unwrap();
    aws(&root, &["iam", "detach-role-policy", "--role-name", "deployer", "--policy-arn", &policy_arn]).unwrap();
    aws(&root, &["iam", "delete-role", "--role-name", "deployer"]).unwrap();
    refused(aws(&session, &["sts", "get-caller-identity"]), "InvalidClientTokenId");
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A compact document of exactly `size` characters (IAM counts no whitespace): one statement
/// whose `Sid` pads it out.
fn policy_of_size(size: usize, principal: bool) -> String {
    let body = |sid: &str| {
        let who = if principal { r#""Principal":{"Service":"ssm.amazonaws.com"},"# } else { "" };
        let what = if principal { "" } else { r#","Resource":"*""# };
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow",{who}"Action":"sts:AssumeRole"{what}}}]}}"#
        )
    };
    let padding = size - body("").len();
    body(&"a".repeat(padding))
}

/// Each limit exactly at its boundary: the last value allowed passes, the next is refused with
/// AWS's code and message. Driven by boto3 with client-side validation off, so the server's
/// own checks answer.
#[test]
fn limits_hold_exactly_at_their_boundaries() {
    if !common::boto3_available() {
        return;
    }
    let dir = fresh_dir("limits");
    let server = Server::start(&dir.join("data"), None);
    let trust = policy_of_size(200, true);
    let call = |operation: &str, params: serde_json::Value| serde_json::json!({"operation": operation, "params": params, "validate": false});
    let tags = |count: usize| -> Vec<serde_json::Value> {
        (0..count).map(|n| serde_json::json!({"Key": format!("k{n}"), "Value": "v"})).collect()
    };
    // (call, None for success or Some((code, message fragment)))
    let cases: Vec<(serde_json::Value, Option<(&str, String)>)> = vec![
        (call("create_role", serde_json::json!({"RoleName": "r".repeat(64), "AssumeRolePolicyDocument": trust})), None),
        (
            call("create_role", serde_json::json!({"RoleName": "r".repeat(65), "AssumeRolePolicyDocument": trust})),
            Some(("ValidationError", "Member must have length less than or equal to 64".to_owned())),
        ),
        (
            call("create_role", serde_json::json!({"RoleName": "bad!name", "AssumeRolePolicyDocument": trust})),
            Some(("ValidationError", "regular expression pattern".to_owned())),
        ),
        (
            call(
                "create_role",
                serde_json::json!({"RoleName": "p", "Path": "/no-slash", "AssumeRolePolicyDocument": trust}),
            ),
            Some(("ValidationError", "at 'path'".to_owned())),
        ),
        (
            call(
                "create_role",
                serde_json::json!({"RoleName": "big", "AssumeRolePolicyDocument": policy_of_size(2048, true)}),
            ),
            None,
        ),
        (
            call(
                "create_role",
                serde_json::json!({"RoleName": "bigger", "AssumeRolePolicyDocument": policy_of_size(2049, true)}),
            ),
            Some(("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048".to_owned())),
        ),
        (
            call(
                "create_role",
                serde_json::json!({"RoleName": "short", "AssumeRolePolicyDocument": trust, "MaxSessionDuration": 3599}),
            ),
            Some(("ValidationError", "greater than or equal to 3600".to_owned())),
        ),
        (
            call(
                "create_role",
                serde_json::json!({"RoleName": "long", "AssumeRolePolicyDocument": trust, "MaxSessionDuration": 43201}),
            ),
            Some(("ValidationError", "less than or equal to 43200".to_owned())),
        ),
        (
            call(
                "create_role",
                serde_json::json!({"RoleName": "tagged", "AssumeRolePolicyDocument": trust, "Tags": tags(50)}),
            ),
            None,
        ),
        (
            call("tag_role", serde_json::json!({"RoleName": "tagged", "Tags": [{"Key": "K0", "Value": "replaced"}]})),
            None,
        ),
        (
            call("tag_role", serde_json::json!({"RoleName": "tagged", "Tags": [{"Key": "one-more", "Value": "v"}]})),
            Some(("LimitExceeded", "Cannot exceed quota for TagsPerRole: 50".to_owned())),
        ),
        (
            call(
                "create_role",
                serde_json::json!({"RoleName": "too-tagged", "AssumeRolePolicyDocument": trust, "Tags": tags(51)}),
            ),
            Some(("ValidationError", "less than or equal to 50".to_owned())),
        ),
        (
            call(
                "create_policy",
                serde_json::json!({"PolicyName": "max", "PolicyDocument": policy_of_size(6144, false)}),
            ),
            None,
        ),
        (
            call(
                "create_policy",
                serde_json::json!({"PolicyName": "over", "PolicyDocument": policy_of_size(6145, false)}),
            ),
            Some(("LimitExceeded", "Cannot exceed quota for PolicySize: 6144".to_owned())),
        ),
        (
            call(
                "create_policy",
                serde_json::json!({"PolicyName": "MAX", "PolicyDocument": policy_of_size(300, false)}),
            ),
            Some(("EntityAlreadyExists", "A policy called MAX already exists.".to_owned())),
        ),
        (
            call("get_role", serde_json::json!({"RoleName": "nobody"})),
            Some(("NoSuchEntity", "The role with name nobody cannot be found.".to_owned())),
        ),
        (call("create_user", serde_json::json!({"UserName": "keys"})), None),
        (call("create_access_key", serde_json::json!({"UserName": "keys"})), None),
        (call("create_access_key", serde_json::json!({"UserName": "keys"})), None),
        (
            call("create_access_key", serde_json::json!({"UserName": "keys"})),
            Some(("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2".to_owned())),
        ),
        (
            call(
                "put_role_policy",
                serde_json::json!({"RoleName": "big", "PolicyName": "a", "PolicyDocument": policy_of_size(10_240, false)}),
            ),
            None,
        ),
        (
            call(
                "put_role_policy",
                serde_json::json!({"RoleName": "big", "PolicyName": "b", "PolicyDocument": policy_of_size(300, false)}),
            ),
            Some(("LimitExceeded", "Maximum policy size of 10240 bytes exceeded for role big".to_owned())),
        ),
        (call("get_account_summary", serde_json::json!({})), None),
        (call("get_account_authorization_details", serde_json::json!({})), None),
    ];
    let calls: Vec<serde_json::Value> = cases.iter().map(|(call, _)| call.clone()).collect();
    let answers = server.boto3(&calls);
    for ((call, expected), answer) in cases.iter().zip(&answers) {
        match expected {
            None => assert!(answer.get("response").is_some(), "{call} should succeed: {answer}"),
            Some((code, fragment)) => {
                assert_eq!(answer["error"]["Code"], *code, "{call}: {answer}");
                assert!(answer["error"]["Message"].as_str().unwrap().contains(fragment.as_str()), "{call}: {answer}");
            }
        }
    }
    let summary = &answers[answers.len() - 2]["response"]["SummaryMap"];
    assert_eq!(summary["Roles"], 3, "{summary}");
    assert_eq!(summary["Policies"], 1, "{summary}");
    assert_eq!(summary["AttachedPoliciesPerRoleQuota"], 10, "{summary}");
    let details = &answers[answers.len() - 1]["response"];
    assert_eq!(details["RoleDetailList"].as_array().unwrap().len(), 3, "{details}");
    assert_eq!(details["Policies"][0]["PolicyName"], "max", "{details}");
    assert_eq!(details["UserDetailList"][0]["UserName"], "keys", "{details}");
    let tagged =
        details["RoleDetailList"].as_array().unwrap().iter().find(|role| role["RoleName"] == "tagged").unwrap();
    assert_eq!(tagged["Tags"].as_array().unwrap().len(), 50);
    assert!(
        tagged["Tags"].as_array().unwrap().iter().any(|tag| tag["Key"] == "k0" && tag["Value"] == "replaced"),
        "{tagged}"
    );
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
