//! What the end-to-end tests share: the real `homeport server` binary on a free loopback
//! port with its own data dir, and the real aws CLI pointed at it.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    dead_code,
    reason = "test support: fails loudly on any surprise; each test binary uses part of it"
)]

pub mod ansible;
pub mod ecs;
pub mod tls;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

pub use tls::connect;

pub struct Server {
    child: Child,
    pub address: String,
    pub data_dir: PathBuf,
    /// Whether the server speaks TLS (the default) rather than plain HTTP (`--insecure-http`).
    pub tls: bool,
}

impl Server {
    /// A server with the defaults: HTTPS with the CA it makes on first start.
    pub fn start(data_dir: &Path, store_url: Option<&str>) -> Server {
        Server::start_with(data_dir, store_url, &[])
    }

    /// Starts the server with extra flags.
    pub fn start_with(data_dir: &Path, store_url: Option<&str>, flags: &[&str]) -> Server {
        Server::spawn("127.0.0.1:0", data_dir, store_url, flags)
    }

    /// Starts the server on `listen` (which may be port 0), with `flags`.
    pub fn spawn(listen: &str, data_dir: &Path, store_url: Option<&str>, flags: &[&str]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_homeport"));
        command.args(["server", "--listen", listen, "--data-dir"]).arg(data_dir).args(flags);
        if let Some(url) = store_url {
            command.args(["--store", url]);
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first_line).unwrap();
        let address = listen_address(&first_line).unwrap_or_else(|| panic!("unexpected first line: {first_line:?}"));
        let tls = first_line.contains("https://");
        assert_eq!(tls, !flags.contains(&"--insecure-http"), "TLS unless asked otherwise: {first_line}");
        let server = Server { child, address, data_dir: data_dir.to_owned(), tls };
        if tls {
            tls::trust(&server.address, &server.ca_file());
        }
        server
    }

    /// `https://ADDRESS` (or `http://` for a plain server).
    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.address)
    }

    /// The CA the server made on first start (what `/cacerts` serves).
    pub fn ca_file(&self) -> PathBuf {
        self.data_dir.join("tls").join("ca.pem")
    }

    /// The CA's fingerprint as the server prints it: `sha256sum ca.pem`.
    pub fn ca_sha256(&self) -> String {
        sha256_hex(&std::fs::read(self.ca_file()).unwrap())
    }

    pub fn kill(self) {
        // Dropping kills (SIGKILL) and reaps the process.
        drop(self);
    }

    pub fn aws(&self, credentials: &Path, args: &[&str]) -> Output {
        self.aws_command(credentials, args).output().unwrap()
    }

    /// The aws CLI with `args`, pointed at this server as `credentials`, to run or spawn.
    pub fn aws_command(&self, credentials: &Path, args: &[&str]) -> Command {
        let mut command = Command::new("aws");
        command
            .args(args)
            .envs(self.endpoint_env())
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_SHARED_CREDENTIALS_FILE", credentials)
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY");
        command
    }

    pub fn aws_json(&self, credentials: &Path, args: &[&str]) -> serde_json::Value {
        let output = self.aws(credentials, args);
        assert!(output.status.success(), "aws {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null)
    }

    pub fn root_credentials(&self) -> PathBuf {
        self.data_dir.join("root-credentials")
    }

    /// `AWS_ENDPOINT_URL`, and `AWS_CA_BUNDLE` for a TLS server: what the server tells users
    /// to export, so the aws CLI and boto3 verify it.
    pub fn endpoint_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("AWS_ENDPOINT_URL", self.url())];
        if self.tls {
            env.push(("AWS_CA_BUNDLE", self.ca_file().display().to_string()));
        }
        env
    }
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Drop for Server {
    fn drop(&mut self) {
        // Also on a failed assertion: an orphaned server would keep the test's output open.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `HOST:PORT` the server's first line says it listens on (`https://` or `http://`).
pub fn listen_address(first_line: &str) -> Option<String> {
    first_line.split("://").nth(1).and_then(|rest| rest.split_whitespace().next()).map(str::to_owned)
}

pub fn aws_cli_available() -> bool {
    let found = Command::new("aws").arg("--version").output().is_ok_and(|output| output.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must install the aws CLI (pip install awscli)");
        eprintln!("aws CLI not found: the aws CLI end-to-end tests did NOT RUN (pip install awscli)");
    }
    found
}

/// Whether Docker answers; in CI its absence fails the test, elsewhere `test` says it did not run.
pub fn docker_available(test: &str) -> bool {
    let found = Command::new("docker").args(["version", "--format", "{{.Server.Version}}"]).output();
    let found = found.is_ok_and(|output| output.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must have a running Docker daemon");
        eprintln!("Docker not reachable: {test} did NOT RUN");
    }
    found
}

/// Writes credentials (`AccessKeyId`, `SecretAccessKey`, and `SessionToken` when temporary)
/// as an aws CLI credentials file.
pub fn credentials_file(path: &Path, credentials: &Value) {
    let mut text = format!(
        "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        credentials["AccessKeyId"].as_str().unwrap(),
        credentials["SecretAccessKey"].as_str().unwrap()
    );
    if let Some(token) = credentials["SessionToken"].as_str() {
        text.push_str(&format!("aws_session_token = {token}\n"));
    }
    std::fs::write(path, text).unwrap();
}

pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("homeport-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A PostgreSQL database of the test's own, dropped when it goes out of scope.
pub struct TestDatabase {
    pub url: String,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    /// A fresh database on `HOMEPORT_TEST_POSTGRES_URL`'s server, or `None` outside CI when
    /// that variable is unset (in CI its absence fails the test).
    pub fn create(name: &str) -> Option<TestDatabase> {
        let Ok(admin_url) = std::env::var("HOMEPORT_TEST_POSTGRES_URL") else {
            assert!(std::env::var_os("CI").is_none(), "CI must set HOMEPORT_TEST_POSTGRES_URL");
            eprintln!("HOMEPORT_TEST_POSTGRES_URL unset: the PostgreSQL half did NOT RUN");
            return None;
        };
        let name = format!("homeport_e2e_{name}_{}", std::process::id());
        admin(&admin_url, &format!("DROP DATABASE IF EXISTS {name}"));
        admin(&admin_url, &format!("CREATE DATABASE {name}"));
        let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
        Some(TestDatabase { url, name, admin_url })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        admin(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn admin(url: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let admin = store::Store::open(url).await.unwrap();
        admin.execute(sql, vec![]).await.unwrap();
    });
}

impl Server {
    /// `command` pointed at this server as root, as a user would (`AWS_ENDPOINT_URL`, the CA,
    /// the root credentials file), with nothing of the caller's own AWS environment.
    pub fn as_root<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command
            .envs(self.endpoint_env())
            .env("AWS_SHARED_CREDENTIALS_FILE", self.root_credentials())
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
    }

    /// Makes each call through boto3 as root and returns one answer per call:
    /// `{"response": ...}` or `{"error": {"Code", "Message", "Status"}}`.
    pub fn boto3(&self, calls: &[Value]) -> Vec<Value> {
        let calls_file = self.data_dir.with_file_name("boto3-calls.jsonl");
        let lines: Vec<String> = calls.iter().map(Value::to_string).collect();
        std::fs::write(&calls_file, lines.join("\n") + "\n").unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/boto3_calls.py");
        let output =
            self.as_root(Command::new("python3").arg(script).arg(self.url()).arg(&calls_file)).output().unwrap();
        assert!(output.status.success(), "boto3_calls.py failed: {}", String::from_utf8_lossy(&output.stderr));
        let answers: Vec<Value> =
            String::from_utf8(output.stdout).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(answers.len(), calls.len(), "one answer per call");
        let misfits: Vec<String> = calls
            .iter()
            .zip(&answers)
            .filter_map(|(call, answer)| Some(format!("{}: {}", call["operation"], answer.get("shapeProblems")?)))
            .collect();
        assert!(misfits.is_empty(), "responses that do not fit the service model:\n{}", misfits.join("\n"));
        answers
    }
}

/// True if python3 can import boto3; in CI its absence fails the test instead of skipping it.
pub fn boto3_available() -> bool {
    let found =
        Command::new("python3").args(["-c", "import boto3"]).output().is_ok_and(|output| output.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must install boto3 (pip install boto3)");
        eprintln!("python3 with boto3 not found: the simulator API tests did NOT RUN (pip install boto3)");
    }
    found
}

/// Credentials to sign a request with.
pub struct Key<'a> {
    pub id: &'a str,
    pub secret: &'a str,
    pub token: Option<&'a str>,
}

/// POSTs `body` to `/`: a form for awsQuery (`target` `None`), awsJson 1.1 with `X-Amz-Target`
/// otherwise; SigV4-signed for `service` with `key` (or unsigned). Returns the status and the
/// whole response, headers included.
pub fn post(address: &str, key: Option<&Key<'_>>, service: &str, target: Option<&str>, body: &str) -> (u16, String) {
    use aws_protocol::sigv4::{canonical_request, format_amz_date, sha256_hex, signing_key, string_to_sign};
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let amz_date = format_amz_date(i64::try_from(now).unwrap());
    let mut headers = vec![("Host", address.to_owned()), ("X-Amz-Date", amz_date.clone())];
    match target {
        None => headers.push(("Content-Type", "application/x-www-form-urlencoded; charset=utf-8".to_owned())),
        Some(target) => {
            headers.push(("Content-Type", "application/x-amz-json-1.1".to_owned()));
            headers.push(("X-Amz-Target", target.to_owned()));
        }
    }
    if let Some(key) = key {
        if let Some(token) = key.token {
            headers.push(("X-Amz-Security-Token", token.to_owned()));
        }
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let request = aws_protocol::sigv4::HttpRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &pairs,
            body: body.as_bytes(),
        };
        let mut signed: Vec<String> = headers.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        signed.sort();
        let signed_refs: Vec<&str> = signed.iter().map(String::as_str).collect();
        let canonical = canonical_request(&request, &signed_refs, &sha256_hex(body.as_bytes()));
        let scope = format!("{}/us-east-1/{service}/aws4_request", &amz_date[..8]);
        let signature = signing_key(key.secret, &amz_date[..8], "us-east-1", service)
            .sign(&string_to_sign(&amz_date, &scope, &canonical));
        let signed = signed.join(";");
        headers.push((
            "Authorization",
            format!("AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}", key.id),
        ));
    }
    raw_post(address, &headers, body)
}

/// POSTs `body` to `/` with exactly `headers` (plus `Content-Length`); the status and the
/// whole response.
pub fn raw_post(address: &str, headers: &[(&str, String)], body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = connect(address);
    let mut request = String::from("POST / HTTP/1.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, response)
}

/// The JSON body of a response.
pub fn body(response: &str) -> Value {
    serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap_or("null")).unwrap_or(Value::Null)
}

/// An instance's key, made from a fixed seed per test instance.
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn register(server: &Server, activation: &Value, key: &SigningKey) -> (u16, Value) {
    let request = json!({
        "ActivationId": activation["ActivationId"],
        "ActivationCode": activation["ActivationCode"],
        "PublicKey": BASE64.encode(key.verifying_key().as_bytes()),
        "PublicKeyType": "Ed25519",
        "Fingerprint": "test-machine",
    });
    let headers = [
        ("Host", server.address.clone()),
        ("Content-Type", "application/x-amz-json-1.1".to_owned()),
        ("X-Amz-Target", "AmazonSSM.RegisterManagedInstance".to_owned()),
    ];
    let (status, response) = raw_post(&server.address, &headers, &request.to_string());
    (status, body(&response))
}

pub fn request_token(server: &Server, instance_id: &str, key: &SigningKey, timestamp: i64) -> (u16, Value) {
    let request = json!({"Fingerprint": "test-machine"}).to_string();
    let amz_date = aws_protocol::sigv4::format_amz_date(timestamp);
    let signed =
        format!("HOMEPORT-ED25519\n{amz_date}\n{instance_id}\n{}", aws_protocol::sigv4::sha256_hex(request.as_bytes()));
    let signature = BASE64.encode(key.sign(signed.as_bytes()).to_bytes());
    let headers = [
        ("Host", server.address.clone()),
        ("Content-Type", "application/x-amz-json-1.1".to_owned()),
        ("X-Amz-Target", "AmazonSSM.RequestManagedInstanceRoleToken".to_owned()),
        (
            "Authorization",
            format!("HOMEPORT-ED25519 InstanceId={instance_id}, Timestamp={amz_date}, Signature={signature}"),
        ),
    ];
    let (status, response) = raw_post(&server.address, &headers, &request);
    (status, body(&response))
}

/// The `[default]` keys of a shared-credentials file: key id, secret and session token
/// (empty for a long-term key).
pub fn read_credentials(path: &Path) -> (String, String, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let value = |key: &str| {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .find(|(name, _)| name.trim() == key)
            .map(|(_, value)| value.trim().to_owned())
    };
    (
        value("aws_access_key_id").unwrap(),
        value("aws_secret_access_key").unwrap(),
        value("aws_session_token").unwrap_or_default(),
    )
}

/// `aws ecr get-login-password | docker login --username AWS --password-stdin HOST`, verbatim.
pub fn ecr_login(server: &Server, credentials: &Path, config: &Path) {
    std::fs::create_dir_all(config).unwrap();
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin {}",
            server.address
        ))
        .envs(server.endpoint_env())
        .env("AWS_SHARED_CREDENTIALS_FILE", credentials)
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("DOCKER_CONFIG", config)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Login Succeeded"), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
}

/// A server killed with SIGKILL, as in a crash, which can start again on its address.
pub struct Crashed {
    pub address: String,
    pub data_dir: PathBuf,
    pub tls: bool,
}

impl Server {
    pub fn crash(self) -> Crashed {
        let crashed = Crashed { address: self.address.clone(), data_dir: self.data_dir.clone(), tls: self.tls };
        drop(self);
        crashed
    }
}

impl Crashed {
    /// Starts the server again on the same address and data directory, with `flags`.
    pub fn start_again(self, flags: &[&str]) -> Server {
        let Crashed { address, data_dir, tls } = self;
        let mut flags = flags.to_vec();
        if !tls && !flags.contains(&"--insecure-http") {
            flags.push("--insecure-http");
        }
        let server = Server::spawn(&address, &data_dir, None, &flags);
        assert_eq!(server.address, address, "the same address again");
        server
    }
}

/// `homeport` with an empty environment (just `PATH`): the agent must need nothing else.
pub fn homeport(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_homeport"));
    command.args(args).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

/// `homeport agent register` with `activation` into `state_dir`, for `cluster`.
pub fn register_agent(server: &Server, activation: &Value, cluster: &str, state_dir: &Path, extra: &[&str]) -> Output {
    let mut command = homeport(&["agent", "register", "--endpoint", &server.url()]);
    if server.tls {
        // The pinned join, and the CA for Docker in a directory of the test's own: Docker
        // already trusts any registry on 127.0.0.0/8 (tls_e2e checks the real directory).
        command
            .args(["--ca-sha256", &server.ca_sha256(), "--docker-certs-dir"])
            .arg(state_dir.with_extension("certs.d"));
    }
    command
        .args(["--activation-id", activation["ActivationId"].as_str().unwrap()])
        .args(["--activation-code", activation["ActivationCode"].as_str().unwrap()])
        .args(["--cluster", cluster, "--state-dir"])
        .arg(state_dir)
        .args(extra)
        .output()
        .unwrap()
}

/// The `mi-` id a successful registration printed.
pub fn registered_id(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "register failed: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let id = stdout.split("Registered as ").nth(1).unwrap().split('.').next().unwrap().to_owned();
    assert!(id.starts_with("mi-") && id.len() == 20, "{id}");
    assert!(stdout.contains("homeport agent run --state-dir"), "says what to do next: {stdout}");
    id
}

/// A running `homeport agent run`, its log in a file; killed (SIGKILL) when dropped.
pub struct Agent {
    pub child: Child,
    pub log: PathBuf,
    pub state_dir: PathBuf,
}

impl Agent {
    pub fn start(state_dir: &Path) -> Agent {
        Agent::start_with(state_dir, &[])
    }

    /// Starts `homeport agent run` with `extra` flags; its log goes on after a previous
    /// run's (the file is appended to).
    pub fn start_with(state_dir: &Path, extra: &[&str]) -> Agent {
        let log = state_dir.with_extension("log");
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        // Port 0: agents running side by side each get their own credentials endpoint.
        let child = homeport(&["agent", "run", "--heartbeat-seconds", "1", "--refresh-seconds", "2"])
            .args(["--credentials-port", "0", "--state-dir"])
            .arg(state_dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Agent { child, log, state_dir: state_dir.to_owned() }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has a line with every one of `needles` after its first
    /// `skip_lines` lines; returns that line.
    pub fn await_line(&self, skip_lines: usize, needles: &[&str], within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log();
            if let Some(line) =
                log.lines().skip(skip_lines).find(|line| needles.iter().all(|needle| line.contains(needle)))
            {
                return line.to_owned();
            }
            assert!(Instant::now() < deadline, "no log line with {needles:?} within {within:?}; the log:\n{log}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn lines(&self) -> usize {
        self.log().lines().count()
    }

    pub fn credentials(&self) -> PathBuf {
        self.state_dir.join("credentials")
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").args(["-s", signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `CreateUser` → `create_user`, as boto3 names operations.
pub fn snake_case(name: &str) -> String {
    // botocore's `xform_name`: a capital starts a word when a lowercase letter follows it
    // (`SSHPublic` -> `ssh_public`) or a lowercase letter or digit precedes it.
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (index, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            let previous = chars[index - 1];
            let next_is_lower = chars.get(index + 1).is_some_and(|next| next.is_ascii_lowercase());
            if next_is_lower || previous.is_ascii_lowercase() || previous.is_ascii_digit() {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
