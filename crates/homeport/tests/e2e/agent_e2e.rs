//! The agent end to end: real `homeport agent` processes, each with its own state
//! directory, against the real control plane, driven and observed with the real aws CLI.
//!
//! Covered: registration limits, expiry and bad codes in SSM's words; no silent double
//! registration; both agents Online; the credentials file acting as the role session
//! (allowed `ssm:UpdateInstanceInformation`, denied `iam:ListUsers` by name); recovery
//! across a control-plane crash and restart; `kill -9` turning an instance ConnectionLost
//! within the ping timeout; a trust policy without `ssm.amazonaws.com`, then deregistration,
//! each failing the next refresh with a clear line in the agent's log (deregistration said
//! once, then asked again rarely); a second agent, or a registration, refused on a state
//! directory an agent runs on; SIGTERM stopping cleanly. Agents run with `--refresh-seconds 2 --heartbeat-seconds 1` so all of it takes
//! seconds, and with an empty environment: they need no AWS configuration of anyone's.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{Agent, Key, Server, aws_cli_available, fresh_dir, post, register_agent, registered_id};

/// The server's ping timeout in these tests, in seconds.
const PING_TIMEOUT: &str = "3";

const SSM_TRUST: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;

fn register(server: &Server, activation: &Value, state_dir: &Path, extra: &[&str]) -> Output {
    register_agent(server, activation, "edge", state_dir, extra)
}

/// Expects registration to fail (exit status 1) with `code`; returns what it said.
fn refused(output: &Output, code: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "expected {code}: {stderr}");
    assert!(stderr.contains(&format!("registration refused ({code})")), "expected {code}: {stderr}");
    stderr
}

fn ping_status(server: &Server, instance_id: &str) -> String {
    let root = server.root_credentials();
    let information = server.aws_json(&root, &["ssm", "describe-instance-information"]);
    let listed = information["InstanceInformationList"].as_array().unwrap();
    let instance = listed.iter().find(|entry| entry["InstanceId"] == instance_id);
    instance.map(|entry| entry["PingStatus"].as_str().unwrap().to_owned()).unwrap_or_default()
}

/// Waits for `status`; returns when the query that first saw it started (the status held by
/// the time that query reached the server, however slowly the aws CLI started under load).
fn await_ping_status(server: &Server, instance_id: &str, status: &str, within: Duration) -> Instant {
    let deadline = Instant::now() + within;
    loop {
        let asked = Instant::now();
        let now = ping_status(server, instance_id);
        if now == status {
            return asked;
        }
        assert!(Instant::now() < deadline, "{instance_id} is {now:?}, not {status}, after {within:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn agents_register_heartbeat_and_lose_their_credentials_when_they_should() {
    if !aws_cli_available() {
        return;
    }
    let dir = fresh_dir("agent");
    let mut server = Server::start_with(&dir.join("data"), None, &["--instance-ping-timeout", PING_TIMEOUT]);
    let root = server.root_credentials();
    let account = server.aws_json(&root, &["sts", "get-caller-identity"])["Account"].as_str().unwrap().to_owned();
    server.aws_json(
        &root,
        &["iam", "create-role", "--role-name", "ecsAnywhereRole", "--assume-role-policy-document", SSM_TRUST],
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
    let activation = |limit: &str| {
        server.aws_json(
            &root,
            &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole", "--registration-limit", limit],
        )
    };
    let (one, two, three, four) = (dir.join("one"), dir.join("two"), dir.join("three"), dir.join("four"));

    // RegistrationLimit 1: the first registers, the second is refused in SSM's words.
    let single = activation("1");
    let id_one = registered_id(&register(&server, &single, &one, &[]));
    assert_eq!(mode(&one), 0o700);
    assert_eq!(mode(&one.join("instance.key")), 0o600);
    let message = refused(&register(&server, &single, &two, &[]), "RegistrationLimitExceeded");
    assert!(message.contains("create a new activation"), "says what to do: {message}");
    assert!(!two.join("instance.json").exists(), "a refused registration leaves no identity");

    // No silent double registration: refused without --force, and nothing spent.
    let double = activation("2");
    let again = register(&server, &double, &one, &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("already registered as {id_one}")) && stderr.contains("--force"), "{stderr}");
    let described = server.aws_json(&root, &["ssm", "describe-activations"]);
    let listed = described["ActivationList"].as_array().unwrap();
    let double_listed = listed.iter().find(|entry| entry["ActivationId"] == double["ActivationId"]).unwrap();
    assert_eq!(double_listed["RegistrationsCount"], 0, "{described}");

    // RegistrationLimit 2 admits two, and only two.
    let id_two = registered_id(&register(&server, &double, &two, &[]));
    registered_id(&register(&server, &double, &three, &[]));
    refused(&register(&server, &double, &four, &[]), "RegistrationLimitExceeded");

    // A wrong code, and an activation that expired.
    let mut wrong = double.clone();
    wrong["ActivationCode"] = json!("not-the-code");
    refused(&register(&server, &wrong, &four, &[]), "InvalidActivation");
    // Far enough ahead to arrive in the future however slowly the aws CLI starts; then the
    // test waits for the clock to pass it.
    let expiration = now() + 8;
    let expiring = server.aws_json(
        &root,
        &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole", "--expiration-date", &expiration.to_string()],
    );
    while now() <= expiration {
        std::thread::sleep(Duration::from_millis(250));
    }
    let message = refused(&register(&server, &expiring, &four, &[]), "ActivationExpired");
    assert!(message.contains("create a new activation"), "{message}");

    // Both agents run and show Online.
    let agent_one = Agent::start(&one);
    let agent_two = Agent::start(&two);
    for (agent, id) in [(&agent_one, &id_one), (&agent_two, &id_two)] {
        agent.await_line(0, &["heartbeat ok", id], Duration::from_secs(15));
        await_ping_status(&server, id, "Online", Duration::from_secs(20));
    }
    let information = server.aws_json(&root, &["ssm", "describe-instance-information"]);
    let listed = information["InstanceInformationList"].as_array().unwrap();
    let entry = listed.iter().find(|entry| entry["InstanceId"] == id_one.as_str()).unwrap();
    assert_eq!(entry["AgentVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(entry["PlatformType"], "Linux");
    assert!(!entry["ComputerName"].as_str().unwrap().is_empty(), "{entry}");
    // The control plane is on loopback: the address reported is still the machine's own,
    // never loopback or link-local (169.254.170.2 is the task credentials address).
    if let Some(address) = entry["IPAddress"].as_str() {
        let address: std::net::Ipv4Addr = address.parse().unwrap();
        assert!(!address.is_loopback() && !address.is_link_local(), "{entry}");
    }

    // One agent per state directory: a second `run`, and a `register --force`, are refused
    // while the first runs, saying which process holds it.
    let second = common::homeport(&["agent", "run", "--state-dir"]).arg(&one).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    let holder = format!("another homeport agent (process {}) is using the state directory", agent_one.child.id());
    assert!(stderr.contains(&holder), "{stderr}");
    let forced = register(&server, &double, &one, &["--force"]);
    let stderr = String::from_utf8_lossy(&forced.stderr);
    assert_eq!(forced.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("another homeport agent"), "{stderr}");
    assert_eq!(std::fs::read_to_string(one.join("instance.json")).unwrap().matches(&id_one).count(), 1);

    // The credentials file is the role session, for the aws CLI as for the agent.
    let credentials = agent_one.credentials();
    assert_eq!(mode(&credentials), 0o600);
    let session = format!("arn:aws:sts::{account}:assumed-role/ecsAnywhereRole/{id_one}");
    assert_eq!(server.aws_json(&credentials, &["sts", "get-caller-identity"])["Arn"], session.as_str());
    let denied = server.aws(&credentials, &["iam", "list-users"]);
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(!denied.status.success() && stderr.contains("(AccessDenied)"), "{stderr}");
    assert!(stderr.contains(&format!("User: {session} is not authorized to perform: iam:ListUsers")), "{stderr}");
    // UpdateInstanceInformation is not in the aws CLI: sign it with the file's keys directly.
    let (id, secret, token) = common::read_credentials(&credentials);
    let key = Key { id: &id, secret: &secret, token: Some(&token) };
    let heartbeat = json!({"InstanceId": id_one, "AgentName": "by-hand", "AgentVersion": "9.9.9"}).to_string();
    let (status, response) =
        post(&server.address, Some(&key), "ssm", Some("AmazonSSM.UpdateInstanceInformation"), &heartbeat);
    assert_eq!(status, 200, "{response}");

    // A control-plane crash: the agents log the failures and recover once it is back.
    let marks = [agent_one.lines(), agent_two.lines()];
    let crashed = server.crash();
    for (agent, mark) in [(&agent_one, marks[0]), (&agent_two, marks[1])] {
        let failed = agent.await_line(mark, &["credential refresh failed", "cannot connect"], Duration::from_secs(10));
        assert!(failed.contains("retrying in") && failed.contains("unreachable"), "{failed}");
    }
    std::thread::sleep(Duration::from_secs(3));
    let marks = [agent_one.lines(), agent_two.lines()];
    server = crashed.start_again(&["--instance-ping-timeout", PING_TIMEOUT]);
    // The backoff is capped and still short after a few seconds' outage: back within seconds.
    for (agent, mark) in [(&agent_one, marks[0]), (&agent_two, marks[1])] {
        agent.await_line(mark, &["credentials refreshed"], Duration::from_secs(15));
    }
    await_ping_status(&server, &id_one, "Online", Duration::from_secs(20));
    await_ping_status(&server, &id_two, "Online", Duration::from_secs(20));

    // kill -9 one agent: it turns ConnectionLost within the ping timeout; the other stays Online.
    agent_two.signal("KILL");
    let killed = Instant::now();
    let lost = await_ping_status(&server, &id_two, "ConnectionLost", Duration::from_secs(30));
    // The ping timeout (3 s) plus the last heartbeat's age (1 s) plus the polling queries'
    // cadence, which a loaded machine stretches to seconds: bounded, not tight.
    let after = lost.duration_since(killed);
    assert!(after <= Duration::from_secs(3 + 10), "ConnectionLost after {after:?}");
    assert_eq!(ping_status(&server, &id_one), "Online");

    // A trust policy without ssm.amazonaws.com: the next refresh fails, clearly.
    let mark = agent_one.lines();
    server.aws_json(
        &root,
        &["iam", "update-assume-role-policy", "--role-name", "ecsAnywhereRole", "--policy-document", EC2_TRUST],
    );
    let line = agent_one.await_line(mark, &["credential refresh failed"], Duration::from_secs(10));
    assert!(line.contains("AccessDeniedException") && line.contains("ssm.amazonaws.com"), "{line}");
    assert!(line.contains("sts:AssumeRole") && line.contains("trust policy"), "{line}");
    let mark = agent_one.lines();
    server.aws_json(
        &root,
        &["iam", "update-assume-role-policy", "--role-name", "ecsAnywhereRole", "--policy-document", SSM_TRUST],
    );
    agent_one.await_line(mark, &["credentials refreshed"], Duration::from_secs(10));

    // Deregistration revokes at once: what the agent held stops working, the next refresh
    // fails, and the agent drops the file.
    let held = dir.join("held-credentials");
    std::fs::copy(&credentials, &held).unwrap();
    let mark = agent_one.lines();
    server.aws_json(&root, &["ssm", "deregister-managed-instance", "--instance-id", &id_one]);
    let revoked = server.aws(&held, &["sts", "get-caller-identity"]);
    assert!(!revoked.status.success(), "revoked credentials still work");
    let line =
        agent_one.await_line(mark, &["credential refresh refused", "InvalidInstanceId"], Duration::from_secs(10));
    assert!(line.contains("deregistered") && line.contains("homeport agent register --force"), "{line}");
    agent_one.await_line(mark, &["removed the revoked credentials file"], Duration::from_secs(5));
    assert!(!credentials.exists());
    // Said once: the agent (refreshing every 2 s until then) now asks again only rarely.
    std::thread::sleep(Duration::from_secs(6));
    let refusals = agent_one
        .log()
        .lines()
        .skip(mark)
        .filter(|line| line.contains("credential refresh") && line.contains("InvalidInstanceId"))
        .count();
    assert_eq!(refusals, 1, "{}", agent_one.log());

    // SIGTERM stops it cleanly.
    let mut agent_one = agent_one;
    agent_one.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = agent_one.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the agent did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    assert!(agent_one.log().contains("stopping: signal received"));

    // Nothing secret reached a log.
    for log in [agent_one.log(), agent_two.log()] {
        for secret in [secret.as_str(), token.as_str(), double["ActivationCode"].as_str().unwrap()] {
            assert!(!log.contains(secret), "a secret in the agent's log");
        }
    }
    drop(agent_one);
    drop(agent_two);
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

fn now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

/// The install script as the control plane serves it (`GET /install.sh`, its address filled
/// in), run with `--prefix` and `--no-start`: it installs the binary the control plane serves
/// (`GET /download/homeport`), registers, places the unit; the installed agent then runs.
#[test]
fn the_served_install_script_installs_the_served_binary_and_registers() {
    if !aws_cli_available() {
        return;
    }
    let dir = fresh_dir("agent-install");
    let server = Server::start_with(&dir.join("data"), None, &["--instance-ping-timeout", PING_TIMEOUT]);
    let root = server.root_credentials();
    server.aws_json(
        &root,
        &["iam", "create-role", "--role-name", "ecsAnywhereRole", "--assume-role-policy-document", SSM_TRUST],
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
    let activation = server.aws_json(&root, &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole"]);

    let ca = server.ca_file();
    let script = Command::new("curl")
        .args(["-fsSL", "--cacert", ca.to_str().unwrap(), &format!("{}/install.sh", server.url())])
        .output()
        .unwrap();
    assert!(script.status.success(), "GET /install.sh: {}", String::from_utf8_lossy(&script.stderr));
    let text = String::from_utf8(script.stdout).unwrap();
    assert!(text.contains(&format!("ENDPOINT=\"{}\"\n", server.url())), "the endpoint is filled in");
    assert!(text.contains(&format!("CA_SHA256=\"{}\"\n", server.ca_sha256())), "the pin is filled in");
    assert!(!text.contains("@HOMEPORT_ENDPOINT@"));

    // `curl ... | sudo bash -s -- ...`, less sudo and systemd.
    let prefix = dir.join("root");
    let mut install = Command::new("bash")
        .args(["-s", "--", "--activation-id", activation["ActivationId"].as_str().unwrap()])
        .args(["--activation-code", activation["ActivationCode"].as_str().unwrap(), "--cluster", "edge"])
        .args(["--no-start", "--prefix"])
        .arg(&prefix)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut install.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let output = install.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "install.sh: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let instance_id = stdout.split("Registered as ").nth(1).unwrap().split('.').next().unwrap().to_owned();

    let installed = prefix.join("usr/local/bin/homeport");
    assert_eq!(mode(&installed), 0o755);
    assert!(
        std::fs::read(&installed).unwrap() == std::fs::read(env!("CARGO_BIN_EXE_homeport")).unwrap(),
        "the installed binary is the one the control plane runs"
    );
    assert!(prefix.join("etc/systemd/system/homeport-agent.service").exists());
    let state_dir = prefix.join("var/lib/homeport-agent");
    assert_eq!(mode(&state_dir.join("instance.key")), 0o600);

    // What the unit would start, with the installed binary.
    let log = dir.join("installed-agent.log");
    let mut agent = Command::new(&installed)
        .args(["agent", "run", "--heartbeat-seconds", "1", "--state-dir"])
        .arg(&state_dir)
        .env_clear()
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let reached = (|| {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if ping_status(&server, &instance_id) == "Online" {
                return true;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        false
    })();
    let _ = agent.kill();
    let _ = agent.wait();
    assert!(reached, "the installed agent never showed Online; its log:\n{}", std::fs::read_to_string(&log).unwrap());
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
