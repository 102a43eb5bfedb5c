//! TLS end to end, with the real aws CLI, Docker and agents:
//! - the whole flow over HTTPS only, on the Docker bridge's address (which Docker, unlike
//!   127.0.0.0/8, never exempts from verification): roles, activation, two agents joining with
//!   the pinned CA, `docker login`/`push` refused until the CA is where Docker looks and then
//!   verified, tasks pulling from the registry, awslogs;
//! - the pinned join refusing another server on the same address, an impostor that serves the
//!   real CA but cannot prove it holds its key, and a tampered `/cacerts`, each before anything
//!   secret is sent;
//! - a serving certificate expiring and replaced without a restart while an agent keeps
//!   working through an HTTPS proxy, and a connection opened before the renewal goes on.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, clippy::print_stderr, reason = "tests")]

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

use common::ecs::{Containers, ECS_POLICY, Ecs, IMAGE, SSM_POLICY, docker, import_busybox, instance_role, wait_for};
use common::{Agent, Server, aws_cli_available, docker_available, fresh_dir, homeport, register_agent, registered_id};

/// The Docker bridge's address on this machine (`docker0`): an address of this machine that,
/// unlike 127.0.0.0/8, Docker verifies registries at and agents reach through a proxy.
fn bridge_address() -> Option<String> {
    let output = Command::new("ip").args(["-4", "-o", "addr", "show", "dev", "docker0"]).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let address = text.split_whitespace().skip_while(|word| *word != "inet").nth(1)?;
    address.split('/').next().map(str::to_owned)
}

/// The bridge address, or `None` (outside CI) when this machine has no Docker bridge.
fn bridge_or_skip(test: &str) -> Option<String> {
    let bridge = bridge_address();
    if bridge.is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI's Docker must have its default bridge, docker0");
        eprintln!("no docker0 address: {test} did NOT RUN");
    }
    bridge
}

/// Removes a directory when dropped (the CA put into Docker's real `certs.d`).
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `homeport agent register` as the README and install.sh run it: the pin, the code from a
/// file, the CA put where `docker_certs` says.
fn register_pinned(endpoint: &str, pin: &str, activation: &Value, state: &Path, docker_certs: &Path) -> Output {
    register_pinned_to(endpoint, pin, activation, "default", state, docker_certs)
}

fn register_pinned_to(
    endpoint: &str,
    pin: &str,
    activation: &Value,
    cluster: &str,
    state: &Path,
    docker_certs: &Path,
) -> Output {
    let code_file = state.with_extension("code");
    std::fs::write(&code_file, activation["ActivationCode"].as_str().unwrap()).unwrap();
    homeport(&["agent", "register", "--endpoint", endpoint, "--ca-sha256", pin])
        .args(["--activation-id", activation["ActivationId"].as_str().unwrap(), "--activation-code-file"])
        .arg(&code_file)
        .args(["--cluster", cluster, "--docker-certs-dir"])
        .arg(docker_certs)
        .arg("--state-dir")
        .arg(state)
        .output()
        .unwrap()
}

fn log_messages(server: &Server, group: &str) -> Vec<String> {
    let answer = server.aws_json(&server.root_credentials(), &["logs", "filter-log-events", "--log-group-name", group]);
    answer["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn the_whole_flow_runs_over_https_with_two_pinned_agents() {
    if !aws_cli_available() || !docker_available("the TLS end-to-end test") {
        return;
    }
    let Some(bridge) = bridge_or_skip("the TLS flow test") else { return };
    let dir = fresh_dir("tls-flow");
    if !import_busybox(&dir) {
        return;
    }
    let cluster = format!("tls-{}", std::process::id());
    let _containers = Containers { cluster: cluster.clone() };
    let server = Server::spawn(&format!("{bridge}:0"), &dir.join("data"), None, &[]);
    assert!(server.url().starts_with("https://"));
    let root = server.root_credentials();
    instance_role(&server, &[SSM_POLICY, ECS_POLICY]);
    server.aws_json(&root, &["ecs", "create-cluster", "--cluster-name", &cluster]);
    server.aws_json(&root, &["logs", "create-log-group", "--log-group-name", "/ecs/tls"]);
    server.aws_json(&root, &["ecr", "create-repository", "--repository-name", "tls/app"]);

    // Docker verifies this registry: before the CA is in certs.d, it refuses to log in.
    let certs_d = PathBuf::from("/etc/docker/certs.d");
    let registry_ca_dir = certs_d.join(&server.address);
    let _cleanup = Removed(registry_ca_dir.clone());
    let _ = std::fs::remove_dir_all(&registry_ca_dir);
    let docker_config = dir.join("docker-config");
    let login = |expect_success: bool| {
        std::fs::create_dir_all(&docker_config).unwrap();
        let output = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "aws ecr get-login-password | docker login --username AWS --password-stdin {}",
                server.address
            ))
            .envs(server.endpoint_env())
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_SHARED_CREDENTIALS_FILE", &root)
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("DOCKER_CONFIG", &docker_config)
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert_eq!(output.status.success(), expect_success, "docker login: {text}");
        text
    };
    let refused = login(false);
    assert!(refused.contains("certificate"), "refused for want of the CA: {refused}");

    // Two agents join with the pin; the first puts the CA where Docker looks, as install.sh does.
    let activation = server
        .aws_json(&root, &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole", "--registration-limit", "2"]);
    let (first, second) = (dir.join("agent-1"), dir.join("agent-2"));
    let output = register_pinned_to(&server.url(), &server.ca_sha256(), &activation, &cluster, &first, &certs_d);
    registered_id(&output);
    assert_eq!(
        std::fs::read(registry_ca_dir.join("ca.crt")).unwrap(),
        std::fs::read(server.ca_file()).unwrap(),
        "the CA is where Docker looks"
    );
    assert_eq!(std::fs::read(first.join("ca.pem")).unwrap(), std::fs::read(server.ca_file()).unwrap());
    let output = register_agent(&server, &activation, &cluster, &second, &[]);
    registered_id(&output);
    let agents = [Agent::start(&first), Agent::start(&second)];

    // Docker now verifies the registry with that CA; push, then forget the image locally.
    login(true);
    let image = format!("{}/tls/app:1", server.address);
    docker(&["tag", IMAGE, &image]);
    let pushed = Command::new("docker").env("DOCKER_CONFIG", &docker_config).args(["push", &image]).output().unwrap();
    assert!(pushed.status.success(), "push over TLS: {}", String::from_utf8_lossy(&pushed.stderr));
    docker(&["rmi", "-f", &image]);

    let ecs = Ecs { server: &server, cluster: cluster.clone() };
    let instances = wait_for("both instances registered", Duration::from_secs(60), || {
        let listed = ecs.call(&["list-container-instances"]);
        let arns = listed["containerInstanceArns"].as_array().unwrap().clone();
        (arns.len() == 2).then_some(arns)
    });
    assert_eq!(instances.len(), 2);
    ecs.register_definition(json!({
        "family": "tls", "networkMode": "host",
        "containerDefinitions": [{
            "name": "app", "image": image, "memory": 64, "essential": true,
            "command": ["sh", "-c", "echo hello over tls"],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/tls",
                "awslogs-region": "us-east-1", "awslogs-stream-prefix": "tls"}},
        }]
    }));
    let tasks = ecs.run_task("tls", &["--count", "2"]);
    let stopped = ecs.await_status(&tasks, "STOPPED", Duration::from_secs(120));
    for task in &stopped {
        assert_eq!(task["containers"][0]["exitCode"], 0, "pulled over TLS and ran: {task}");
    }
    let messages = wait_for("both tasks' output", Duration::from_secs(30), || {
        let messages = log_messages(&server, "/ecs/tls");
        (messages.iter().filter(|m| *m == "hello over tls").count() == 2).then_some(messages)
    });
    assert_eq!(messages.len(), 2, "{messages:?}");
    for agent in &agents {
        assert!(!agent.log().contains("certificate"), "no TLS trouble: {}", agent.log());
    }
}

/// A TLS server of the test's own on 127.0.0.1, with `chain` and `key`, that answers
/// `GET /cacerts` with `cacerts` and records the first line of every request it could read.
struct Impostor {
    address: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Impostor {
    fn start(chain_pem: &Path, key_pem: &Path, cacerts: Vec<u8>) -> Impostor {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(chain_pem).unwrap().map(Result::unwrap).collect();
        let key = PrivateKeyDer::from_pem_file(key_pem).unwrap();
        let config = rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(chain, key).unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { continue };
                let (config, seen, cacerts) = (Arc::clone(&config), Arc::clone(&seen), cacerts.clone());
                std::thread::spawn(move || {
                    let connection = rustls::ServerConnection::new(config).unwrap();
                    let mut tls = rustls::StreamOwned::new(connection, tcp);
                    let mut reader = BufReader::new(&mut tls);
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() || line.is_empty() {
                        return; // The handshake failed: nothing was sent.
                    }
                    seen.lock().unwrap().push(line.trim().to_owned());
                    let mut header = String::new();
                    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                        header.clear();
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/x-pem-file\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        cacerts.len()
                    );
                    let _ = tls.write_all(head.as_bytes());
                    let _ = tls.write_all(&cacerts);
                    let _ = tls.flush();
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        Impostor { address, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

#[test]
fn a_pinned_join_trusts_only_the_server_it_was_given() {
    if !aws_cli_available() {
        return;
    }
    let dir = fresh_dir("tls-pin");
    let server_a = Server::start(&dir.join("a"), None);
    let pin_a = server_a.ca_sha256();
    let ca_a = std::fs::read(server_a.ca_file()).unwrap();
    let crashed_a = server_a.crash();

    // Server B, another CA, on A's address, with an activation that would work if it got there.
    let server_b = Server::spawn(&crashed_a.address, &dir.join("b"), None, &[]);
    let pin_b = server_b.ca_sha256();
    assert_ne!(pin_a, pin_b, "every server makes its own CA");
    let root_b = server_b.root_credentials();
    instance_role(&server_b, &[SSM_POLICY]);
    let activation_b = server_b.aws_json(&root_b, &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole"]);
    let state = dir.join("agent");
    let output = register_pinned(&server_b.url(), &pin_a, &activation_b, &state, &dir.join("certs.d"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "refused: {stderr}");
    assert!(stderr.contains(&pin_a) && stderr.contains(&pin_b), "names both fingerprints: {stderr}");
    assert!(!state.join("ca.pem").exists() && !dir.join("certs.d").exists(), "nothing of B's is kept");
    let activations = server_b.aws_json(&root_b, &["ssm", "describe-activations"]);
    assert_eq!(activations["ActivationList"][0]["RegistrationsCount"], 0, "B never saw the code: {activations}");
    assert_eq!(
        server_b.aws_json(&root_b, &["ssm", "describe-instance-information"])["InstanceInformationList"],
        json!([])
    );

    // An impostor that serves A's real (public) CA but holds only B's key: the hash matches,
    // the handshake that follows does not verify, and the code is never sent.
    let tls_b = server_b.data_dir.join("tls");
    let impostor = Impostor::start(&tls_b.join("server.pem"), &tls_b.join("server.key"), ca_a.clone());
    let endpoint = format!("https://{}", impostor.address);
    let output = register_pinned(&endpoint, &pin_a, &activation_b, &state, &dir.join("certs.d"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "refused: {stderr}");
    assert_eq!(impostor.requests(), ["GET /cacerts HTTP/1.1"], "only the CA was asked for: {stderr}");

    // A tampered /cacerts (one character of A's CA changed): refused on the hash alone.
    let mut tampered = ca_a.clone();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let impostor = Impostor::start(&tls_b.join("server.pem"), &tls_b.join("server.key"), tampered);
    let endpoint = format!("https://{}", impostor.address);
    let output = register_pinned(&endpoint, &pin_a, &activation_b, &state, &dir.join("certs.d"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains(&pin_a), "refused: {stderr}");
    assert_eq!(impostor.requests(), ["GET /cacerts HTTP/1.1"]);
    drop(server_b);

    // A itself, back on its address: the same pin joins.
    let server_a = crashed_a.start_again(&[]);
    let root_a = server_a.root_credentials();
    instance_role(&server_a, &[SSM_POLICY]);
    let activation_a = server_a.aws_json(&root_a, &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole"]);
    let output = register_pinned(&server_a.url(), &pin_a, &activation_a, &state, &dir.join("certs.d"));
    registered_id(&output);
    assert_eq!(std::fs::read(state.join("ca.pem")).unwrap(), ca_a);
    assert_eq!(std::fs::read(dir.join("certs.d").join(&server_a.address).join("ca.crt")).unwrap(), ca_a);
}

/// An HTTP CONNECT proxy on 127.0.0.1 that counts its tunnels and the targets they went to.
struct Proxy {
    address: String,
    targets: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&targets);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(client.try_clone().unwrap());
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let mut header = String::new();
                    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                        header.clear();
                    }
                    let target = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
                    assert!(line.starts_with("CONNECT "), "{line}");
                    let mut client = client;
                    let Ok(upstream) = TcpStream::connect(&target) else {
                        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                        return;
                    };
                    seen.lock().unwrap().push(target);
                    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap();
                    let (mut up_read, mut up_write) = (upstream.try_clone().unwrap(), upstream);
                    let mut client_write = client.try_clone().unwrap();
                    let forward = std::thread::spawn(move || {
                        let _ = std::io::copy(&mut reader, &mut up_write);
                        let _ = up_write.shutdown(std::net::Shutdown::Write);
                    });
                    let _ = std::io::copy(&mut up_read, &mut client_write);
                    let _ = client_write.shutdown(std::net::Shutdown::Write);
                    let _ = forward.join();
                });
            }
        });
        Proxy { address, targets }
    }

    fn tunnels(&self) -> usize {
        self.targets.lock().unwrap().len()
    }
}

/// The end entity certificate a new TLS connection to `server` is shown.
fn presented_certificate(server: &Server) -> Vec<u8> {
    let tcp = TcpStream::connect(&server.address).unwrap();
    let tls = common::tls::tls_over(tcp, &server.address, common::tls::client_config(&server.ca_file())).unwrap();
    tls.conn.peer_certificates().unwrap()[0].to_vec()
}

/// `GET /health` on an open keep-alive connection: the status.
fn health_on(stream: &mut common::tls::Stream, host: &str) -> u16 {
    let response = common::tls::get_on(stream, "/health", host);
    response.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

#[test]
fn an_expiring_certificate_is_replaced_while_an_agent_works_through_a_proxy() {
    if !aws_cli_available() {
        return;
    }
    const LIFETIME: u64 = 15;
    // Not on loopback: agents never send loopback or link-local traffic through a proxy.
    let Some(bridge) = bridge_or_skip("the TLS renewal test") else { return };
    let dir = fresh_dir("tls-renewal");
    let lifetime = LIFETIME.to_string();
    let server = Server::spawn(&format!("{bridge}:0"), &dir.join("data"), None, &["--tls-cert-lifetime", &lifetime]);
    let started = now();
    let first = presented_certificate(&server);
    let mut kept = common::connect(&server.address);
    assert_eq!(health_on(&mut kept, &server.address), 200);

    let root = server.root_credentials();
    instance_role(&server, &[SSM_POLICY]);
    let activation = server.aws_json(&root, &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole"]);
    let state = dir.join("agent");
    registered_id(&register_agent(&server, &activation, "default", &state, &[]));
    let proxy = Proxy::start();
    let log = state.with_extension("log");
    let mut agent = homeport(&["agent", "run", "--heartbeat-seconds", "1", "--refresh-seconds", "2"])
        .args(["--credentials-port", "0", "--state-dir"])
        .arg(&state)
        .env("HTTPS_PROXY", format!("http://{}", proxy.address))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _stop = KillOnDrop(&mut agent);

    // Renewed while a third of its life is left; the connection opened before goes on.
    let renewed = wait_for("a renewed certificate", Duration::from_secs(LIFETIME), || {
        let presented = presented_certificate(&server);
        (presented != first).then_some(presented)
    });
    assert_eq!(health_on(&mut kept, &server.address), 200, "an open connection outlives the renewal");
    // Past the first certificate's end, the agent still heartbeats, through the proxy.
    let expired_at = started + LIFETIME as f64 + 1.0;
    while now() < expired_at {
        std::thread::sleep(Duration::from_millis(200));
    }
    // Credentials are refreshed every 2 s (each a new TLS connection, through the proxy).
    let refreshes = || std::fs::read_to_string(&log).unwrap_or_default().matches("credentials refreshed").count();
    let before = refreshes();
    wait_for("refreshes after the first certificate expired", Duration::from_secs(20), || {
        (refreshes() >= before + 3).then_some(())
    });
    let information = server.aws_json(&root, &["ssm", "describe-instance-information"]);
    assert_eq!(information["InstanceInformationList"][0]["PingStatus"], "Online", "{information}");
    assert_ne!(presented_certificate(&server), first);
    assert!(!renewed.is_empty());
    let tunnels = proxy.tunnels();
    assert!(tunnels >= 3, "the agent's calls went through the proxy: {tunnels}");
    assert!(proxy.targets.lock().unwrap().iter().all(|target| *target == server.address));
}

struct KillOnDrop<'a>(&'a mut std::process::Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
