//! `homeport server` end to end: the real binary, the real aws CLI, both stores, and restarts
//! after kill -9. (That every routed operation refuses unsigned and unauthorized callers is
//! the server's fast tier's walker, `crates/server/tests/fast/every_operation.rs`.) And `HEAD`
//! on the public paths answers as `GET` does, without the body.
//!
//! Needs the aws CLI (pip package awscli) and, for the PostgreSQL half,
//! `HOMEPORT_TEST_POSTGRES_URL`; `.ci/run` provides both and CI fails without them.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use crate::common;

use common::{Server, TestDatabase, aws_cli_available, fresh_dir};

/// The issue's scenario: root creates bob with a key and a policy allowing only iam:GetUser
/// on himself; bob can get himself and not list users, before and after a kill -9.
fn users_and_access_denied(store_url: Option<&str>, name: &str) {
    let dir = fresh_dir(name);
    let server = Server::start(&dir.join("data"), store_url);
    let root = server.root_credentials();
    let mode = std::fs::metadata(&root).unwrap();
    #[cfg(unix)]
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777, 0o600);

    let identity = server.aws_json(&root, &["sts", "get-caller-identity"]);
    assert!(identity["Arn"].as_str().unwrap().ends_with(":root"));
    server.aws_json(&root, &["iam", "create-user", "--user-name", "bob"]);
    let duplicate = server.aws(&root, &["iam", "create-user", "--user-name", "BOB"]);
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("(EntityAlreadyExists)"));
    let key = server.aws_json(&root, &["iam", "create-access-key", "--user-name", "bob"]);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::*:user/${aws:username}"}]}"#;
    server.aws_json(
        &root,
        &["iam", "put-user-policy", "--user-name", "bob", "--policy-name", "self", "--policy-document", policy],
    );
    let bob = dir.join("bob-credentials");
    std::fs::write(
        &bob,
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            key["AccessKey"]["AccessKeyId"].as_str().unwrap(),
            key["AccessKey"]["SecretAccessKey"].as_str().unwrap()
        ),
    )
    .unwrap();

    // Secrets are sealed at rest: the database files alone reveal none.
    if store_url.is_none() {
        let root_secret = std::fs::read_to_string(&root).unwrap();
        let root_secret =
            root_secret.lines().find_map(|line| line.strip_prefix("aws_secret_access_key = ")).unwrap().to_owned();
        let bob_secret = key["AccessKey"]["SecretAccessKey"].as_str().unwrap().to_owned();
        let mut bytes = std::fs::read(dir.join("data/homeport.db")).unwrap();
        bytes.extend(std::fs::read(dir.join("data/homeport.db-wal")).unwrap_or_default());
        let contains = |text: &str| bytes.windows(text.len()).any(|window| window == text.as_bytes());
        // The files do hold the (public) access key id, so the search sees the records...
        assert!(contains(key["AccessKey"]["AccessKeyId"].as_str().unwrap()));
        // ...and not the secrets.
        assert!(!contains(&root_secret) && !contains(&bob_secret), "a secret is stored in clear");
    }

    let check_bob = |server: &Server| {
        let me = server.aws_json(&bob, &["iam", "get-user"]);
        assert_eq!(me["User"]["UserName"], "bob");
        let denied = server.aws(&bob, &["iam", "list-users"]);
        assert!(!denied.status.success());
        let stderr = String::from_utf8_lossy(&denied.stderr);
        let expected = format!(
            "An error occurred (AccessDenied) when calling the ListUsers operation: User: {} is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::{}:user/ because no identity-based policy allows the iam:ListUsers action",
            me["User"]["Arn"].as_str().unwrap(),
            identity["Account"].as_str().unwrap()
        );
        assert!(stderr.contains(&expected), "{stderr}");
        let other = server.aws(&bob, &["iam", "get-user", "--user-name", "alice"]);
        assert!(String::from_utf8_lossy(&other.stderr).contains("(AccessDenied)"));
    };
    check_bob(&server);

    server.kill();
    let server = Server::start(&dir.join("data"), store_url);
    check_bob(&server);
    let users = server.aws_json(&root, &["iam", "list-users"]);
    assert_eq!(users["Users"].as_array().unwrap().len(), 1);

    // The denials are in the audit trail, served as CloudTrail events.
    let trail = server.aws_json(
        &root,
        &["cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=ListUsers"],
    );
    let events = trail["Events"].as_array().unwrap();
    let denied: Vec<&serde_json::Value> = events.iter().filter(|event| event["Username"] == "bob").collect();
    assert_eq!(denied.len(), 2, "one ListUsers denial before and one after the restart: {trail}");
    let detail: serde_json::Value = serde_json::from_str(denied[0]["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert_eq!(detail["errorCode"], "AccessDenied");
    assert_eq!(detail["additionalEventData"]["authorizationDecision"], "implicitDeny");
    assert!(events.iter().any(|event| event["Username"] == "root"), "root's ListUsers is recorded too");

    // Temporary credentials act as bob, need their token, and cannot call IAM (no MFA).
    let session = server.aws_json(&bob, &["sts", "get-session-token", "--duration-seconds", "900"]);
    let credentials = &session["Credentials"];
    assert!(credentials["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    let temporary = dir.join("session-credentials");
    let write_session = |token: &str| {
        std::fs::write(
            &temporary,
            format!(
                "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {token}\n",
                credentials["AccessKeyId"].as_str().unwrap(),
                credentials["SecretAccessKey"].as_str().unwrap()
            ),
        )
        .unwrap();
    };
    write_session(credentials["SessionToken"].as_str().unwrap());
    let who = server.aws_json(&temporary, &["sts", "get-caller-identity"]);
    assert!(who["Arn"].as_str().unwrap().ends_with(":user/bob"), "{who}");
    let iam = server.aws(&temporary, &["iam", "get-user"]);
    assert!(String::from_utf8_lossy(&iam.stderr).contains("(InvalidClientTokenId)"), "{iam:?}");
    let again = server.aws(&temporary, &["sts", "get-session-token"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("(AccessDenied)"), "{again:?}");
    write_session("not-the-token");
    let forged = server.aws(&temporary, &["sts", "get-caller-identity"]);
    assert!(String::from_utf8_lossy(&forged.stderr).contains("(InvalidClientTokenId)"), "{forged:?}");

    // A group's policies apply to its members, and stop applying when they leave.
    server.aws_json(&root, &["iam", "create-group", "--group-name", "readers"]);
    let list = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#;
    server.aws_json(
        &root,
        &["iam", "put-group-policy", "--group-name", "readers", "--policy-name", "list", "--policy-document", list],
    );
    server.aws_json(&root, &["iam", "add-user-to-group", "--group-name", "readers", "--user-name", "bob"]);
    let listed = server.aws_json(&bob, &["iam", "list-users"]);
    assert_eq!(listed["Users"].as_array().unwrap().len(), 1);
    let group = server.aws_json(&root, &["iam", "get-group", "--group-name", "readers"]);
    assert_eq!(group["Users"][0]["UserName"], "bob");
    let in_use = server.aws(&root, &["iam", "delete-user", "--user-name", "bob"]);
    assert!(String::from_utf8_lossy(&in_use.stderr).contains("(DeleteConflict)"));
    server.aws_json(&root, &["iam", "remove-user-from-group", "--group-name", "readers", "--user-name", "bob"]);
    let left = server.aws(&bob, &["iam", "list-users"]);
    assert!(String::from_utf8_lossy(&left.stderr).contains("(AccessDenied)"));
    server.aws_json(&root, &["iam", "delete-group-policy", "--group-name", "readers", "--policy-name", "list"]);
    server.aws_json(&root, &["iam", "delete-group", "--group-name", "readers"]);

    // AWS managed policies attach by ARN, from the catalogue in the binary.
    let read_only = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    server.aws_json(&root, &["iam", "attach-user-policy", "--user-name", "bob", "--policy-arn", read_only]);
    let attached = server.aws_json(&root, &["iam", "list-attached-user-policies", "--user-name", "bob"]);
    assert_eq!(attached["AttachedPolicies"][0]["PolicyName"], "IAMReadOnlyAccess");
    assert_eq!(server.aws_json(&bob, &["iam", "list-users"])["Users"].as_array().unwrap().len(), 1);
    let unknown = server.aws(
        &root,
        &["iam", "attach-user-policy", "--user-name", "bob", "--policy-arn", "arn:aws:iam::aws:policy/NoSuchPolicy"],
    );
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("(NoSuchEntity)"), "{unknown:?}");
    server.aws_json(&root, &["iam", "detach-user-policy", "--user-name", "bob", "--policy-arn", read_only]);
    let detached = server.aws(&bob, &["iam", "list-users"]);
    assert!(String::from_utf8_lossy(&detached.stderr).contains("(AccessDenied)"));

    // Changes apply from the very next request, whatever the server keeps in memory.
    let key_id = key["AccessKey"]["AccessKeyId"].as_str().unwrap();
    server.aws_json(&bob, &["iam", "get-user"]);
    let last_used = server.aws_json(&root, &["iam", "get-access-key-last-used", "--access-key-id", key_id]);
    assert_eq!(last_used["UserName"], "bob");
    assert_eq!(last_used["AccessKeyLastUsed"]["ServiceName"], "iam");
    assert!(last_used["AccessKeyLastUsed"]["LastUsedDate"].is_string());
    server.aws_json(
        &root,
        &["iam", "update-access-key", "--user-name", "bob", "--access-key-id", key_id, "--status", "Inactive"],
    );
    let inactive = server.aws(&bob, &["iam", "get-user"]);
    assert!(String::from_utf8_lossy(&inactive.stderr).contains("(InvalidClientTokenId)"), "{inactive:?}");
    server.aws_json(
        &root,
        &["iam", "update-access-key", "--user-name", "bob", "--access-key-id", key_id, "--status", "Active"],
    );
    // A path is part of the ARN: bob's policy names user/bob, not user/team/bob.
    server.aws_json(&root, &["iam", "update-user", "--user-name", "bob", "--new-path", "/team/"]);
    let moved = server.aws(&bob, &["iam", "get-user"]);
    assert!(String::from_utf8_lossy(&moved.stderr).contains("on resource: arn:aws:iam::"), "{moved:?}");
    assert!(String::from_utf8_lossy(&moved.stderr).contains(":user/team/bob because no identity-based policy allows"));
    server.aws_json(&root, &["iam", "update-user", "--user-name", "bob", "--new-path", "/"]);
    server.aws_json(&root, &["iam", "delete-user-policy", "--user-name", "bob", "--policy-name", "self"]);
    let after_policy = server.aws(&bob, &["iam", "get-user"]);
    assert!(String::from_utf8_lossy(&after_policy.stderr).contains("(AccessDenied)"));
    server.aws_json(&root, &["iam", "delete-access-key", "--user-name", "bob", "--access-key-id", key_id]);
    let after_key = server.aws(&bob, &["sts", "get-caller-identity"]);
    assert!(String::from_utf8_lossy(&after_key.stderr).contains("(InvalidClientTokenId)"), "{after_key:?}");
    let conflict = server.aws(&root, &["iam", "delete-user", "--user-name", "nobody-here"]);
    assert!(String::from_utf8_lossy(&conflict.stderr).contains("(NoSuchEntity)"));
    server.aws_json(&root, &["iam", "delete-user", "--user-name", "bob"]);
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn users_and_access_denied_with_the_aws_cli_on_sqlite() {
    if aws_cli_available() {
        users_and_access_denied(None, "sqlite");
    }
}

#[test]
fn users_and_access_denied_with_the_aws_cli_on_postgres() {
    if !aws_cli_available() {
        return;
    }
    let Some(database) = TestDatabase::create("users") else { return };
    users_and_access_denied(Some(&database.url), "postgres");
}

/// Sends a POST of `body` with the operation's protocol headers, signed with `key` (or
/// unsigned), and returns the status and the whole response.
fn post(
    address: &str,
    key: Option<(&str, &str)>,
    operation: &server::operations::Operation,
    body: &str,
) -> (u16, String) {
    let target = match operation.protocol {
        aws_protocol::Protocol::Query => None,
        aws_protocol::Protocol::Json => Some(format!("{}.{}", operation.namespace, operation.name)),
        aws_protocol::Protocol::RestJson => panic!("{}: restJson requests are not POSTs to /", operation.name),
    };
    let key = key.map(|(id, secret)| common::Key { id, secret, token: None });
    common::post(address, key.as_ref(), operation.service, target.as_deref(), body)
}

#[test]
fn a_config_file_sets_what_flags_do_not() {
    let dir = fresh_dir("config");
    let config = dir.join("homeport.conf");
    std::fs::write(
        &config,
        format!(
            "# Homeport settings\nlisten = \"127.0.0.1:0\"\ndata_dir = {}\nregion = eu-west-1\naccount_id = 123456789012\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let first_line = |extra: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_homeport"))
            .args(["server", "--config"])
            .arg(&config)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        line
    };
    assert!(first_line(&[]).contains("(region eu-west-1, account 123456789012)"));
    assert!(first_line(&["--region", "us-east-2"]).contains("(region us-east-2, account 123456789012)"), "flags win");

    std::fs::write(&config, "colour = blue\n").unwrap();
    let refused =
        Command::new(env!("CARGO_BIN_EXE_homeport")).args(["server", "--config"]).arg(&config).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown setting `colour`"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every request answered before a `kill -9` is in the trail after the restart, once, and
/// LookupEvents pages through them newest first.
#[test]
fn answered_requests_survive_a_crash_in_the_audit_trail() {
    if !aws_cli_available() {
        return;
    }
    let dir = fresh_dir("audit-crash");
    let server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    let key = server.aws_json(&root, &["iam", "create-access-key"]);
    let (id, secret) =
        (key["AccessKey"]["AccessKeyId"].as_str().unwrap(), key["AccessKey"]["SecretAccessKey"].as_str().unwrap());
    let operation = server::services::OPERATIONS.iter().find(|op| op.name == "GetCallerIdentity").unwrap();
    let mut answered = Vec::new();
    for _ in 0..120 {
        let (status, response) =
            post(&server.address, Some((id, secret)), operation, "Action=GetCallerIdentity&Version=2011-06-15");
        assert_eq!(status, 200, "{response}");
        let request_id = response
            .lines()
            .find_map(|line| line.to_ascii_lowercase().strip_prefix("x-amzn-requestid: ").map(str::to_owned))
            .unwrap_or_else(|| panic!("no request id: {response}"));
        answered.push(request_id.trim().to_owned());
    }
    // No pause: the last answers are at most in the journal, not yet in the database.
    let server = server.crash().start_again(&[]);
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let attribute = format!("AttributeKey=AccessKeyId,AttributeValue={id}");
        let mut args = vec![
            "cloudtrail",
            "lookup-events",
            "--no-paginate",
            "--max-results",
            "50",
            "--lookup-attributes",
            &attribute,
        ];
        if let Some(token) = &token {
            args.extend(["--next-token", token.as_str()]);
        }
        let page = server.aws_json(&root, &args);
        let events = page["Events"].as_array().unwrap();
        assert!(events.len() <= 50);
        seen.extend(events.iter().map(|event| event["EventId"].as_str().unwrap().to_owned()));
        match page["NextToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    answered.reverse();
    assert_eq!(seen, answered, "every answered request once, newest first");
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Sends `METHOD PATH` and returns the status, the headers (lowercased names) and the body.
fn request(address: &str, method: &str, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = common::connect(address);
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(response[..split].to_vec()).unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers, response[split + 4..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[test]
fn head_on_the_public_paths_answers_as_get_without_the_body() {
    let dir = fresh_dir("refusals-head");
    let server = Server::start(&dir.join("data"), None);
    for path in ["/health", "/install.sh", "/download/homeport"] {
        let (get_status, get_headers, get_body) = request(&server.address, "GET", path);
        let (status, headers, body) = request(&server.address, "HEAD", path);
        assert_eq!((get_status, status), (200, 200), "{path}");
        assert!(!get_body.is_empty() && body.is_empty(), "{path}: HEAD sent {} bytes", body.len());
        assert_eq!(header(&headers, "content-type"), header(&get_headers, "content-type"), "{path}");
        assert_eq!(header(&headers, "content-length"), Some(get_body.len().to_string().as_str()), "{path}");
    }
}
