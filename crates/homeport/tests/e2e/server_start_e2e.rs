//! What `homeport server` checks before it serves: a data directory left open to other users
//! is made private (and says so), a master key that is not the database's is refused with
//! the key expected and where the wrong one came from, and `/install.sh` names the
//! configured public address whatever `Host` a client sends. And how it serves: HTTPS with
//! its own CA by default (HTTP/2 or HTTP/1.1, `/cacerts` and its fingerprint announced, the
//! serving certificate renewed without a restart while open connections keep working), plain
//! HTTP only with `--insecure-http`.
//!
//! The PostgreSQL half (two replicas with different keys) needs `HOMEPORT_TEST_POSTGRES_URL`.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::tls::{Tls, get_on as exchange};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

use crate::common;

use common::{TestDatabase, fresh_dir};

/// A server whose standard error goes to a file.
struct Logged {
    child: Child,
    address: String,
    log: PathBuf,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(data_dir: &Path, store_url: Option<&str>, flags: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_homeport"));
    command.args(["server", "--listen", "127.0.0.1:0", "--data-dir"]).arg(data_dir).args(flags);
    if let Some(url) = store_url {
        command.args(["--store", url]);
    }
    command.env_remove("HOMEPORT_MASTER_KEY").env_remove("HOMEPORT_PUBLIC_URL");
    command
}

fn start(data_dir: &Path, store_url: Option<&str>, flags: &[&str]) -> Logged {
    let log = data_dir.with_extension("log");
    let mut child = command(data_dir, store_url, flags)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first_line = String::new();
    stdout.read_line(&mut first_line).unwrap();
    let address = common::listen_address(&first_line)
        .unwrap_or_else(|| panic!("unexpected first line: {first_line:?}; log: {}", read(&log)));
    Logged { child, address, log, stdout }
}

/// Runs a start that must be refused; returns its standard error.
fn refused(command: &mut Command) -> String {
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "the start is refused: {stderr}");
    stderr
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A TLS connection to the server, trusting only `ca` (a PEM file), for `localhost`.
fn connect(address: &str, ca: &Path) -> Tls {
    common::tls::connect_verified(address, "localhost", ca)
}

/// The certificate the server presented on a connection.
fn presented(stream: &Tls) -> CertificateDer<'static> {
    stream.conn.peer_certificates().unwrap()[0].clone().into_owned()
}

/// `GET path` over TLS with exactly this `Host` header; the whole response.
fn get(address: &str, path: &str, host: &str, ca: &Path) -> String {
    exchange(&mut connect(address, ca), path, host)
}

/// `GET path` over plain HTTP with exactly this `Host` header; the whole response.
fn get_plain(address: &str, path: &str, host: &str) -> String {
    exchange(&mut TcpStream::connect(address).unwrap(), path, host)
}

/// Reads the start's announcement up to the line containing `last`.
fn announcement(stdout: &mut BufReader<std::process::ChildStdout>, last: &str) -> String {
    let mut announced = String::new();
    while !announced.contains(last) {
        assert_ne!(stdout.read_line(&mut announced).unwrap(), 0, "{announced}");
    }
    announced
}

fn curl(args: &[&str]) -> std::process::Output {
    Command::new("curl").args(["-sS", "--max-time", "20"]).args(args).output().unwrap()
}

#[test]
fn a_data_directory_open_to_other_users_is_made_private() {
    let dir = fresh_dir("start-private");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = start(&data, None, &[]);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("master.key")), 0o600);
    assert_eq!(mode(&data.join("root-credentials")), 0o600);
    let log = read(&server.log);
    assert!(log.contains(&format!("{} was mode 0755, open to other users: set it to 0700", data.display())), "{log}");
    drop(server);

    // A key file someone opened up is closed again on the next start.
    std::fs::set_permissions(data.join("master.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = start(&data, None, &[]);
    assert_eq!(mode(&data.join("master.key")), 0o600);
    assert!(read(&server.log).contains("master.key was mode 0644"), "{}", read(&server.log));
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The key ids a refusal names: the rejected key's, then the database's.
fn key_ids(message: &str) -> Vec<String> {
    message.split("key id ").skip(1).map(|rest| rest.chars().take_while(char::is_ascii_hexdigit).collect()).collect()
}

#[test]
fn another_master_key_is_refused_with_the_key_expected() {
    let dir = fresh_dir("start-key");
    let data = dir.join("data");
    drop(start(&data, None, &[]));
    let key_file = data.join("master.key");
    let right = read(&key_file);

    // Another key file: refused, naming the file and both keys' ids.
    std::fs::remove_file(&key_file).unwrap();
    std::fs::write(&key_file, format!("{}\n", "ab".repeat(32))).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let stderr = refused(&mut command(&data, None, &[]));
    assert!(stderr.contains(&format!("the master key in {} (key id ", key_file.display())), "{stderr}");
    assert!(stderr.contains("is not the one this database was created with (key id "), "{stderr}");
    let ids = key_ids(&stderr);
    assert_eq!(ids.len(), 2, "{stderr}");
    assert!(ids[0].len() == 16 && ids[1].len() == 16 && ids[0] != ids[1], "{stderr}");
    assert!(!stderr.contains(&"ab".repeat(32)) && !stderr.contains(right.trim()), "no key is printed: {stderr}");

    // The same key from the environment: refused, naming the variable.
    let stderr = refused(command(&data, None, &[]).env("HOMEPORT_MASTER_KEY", "cd".repeat(32)));
    assert!(stderr.contains("the master key in the HOMEPORT_MASTER_KEY environment variable (key id"), "{stderr}");

    // The right key from the environment opens it, whatever the file holds.
    let mut server =
        command(&data, None, &[]).env("HOMEPORT_MASTER_KEY", right.trim()).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("Homeport is listening on https://"), "{line}");
    server.kill().unwrap();
    server.wait().unwrap();

    // A database from before the check (no check value): a key its secrets do not open is
    // refused; the right one is accepted and the check recorded.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let database = data.join("homeport.db");
    runtime.block_on(async {
        let store = store::Store::open(database.to_str().unwrap()).await.unwrap();
        assert_eq!(store.execute("DELETE FROM master_key_check", vec![]).await.unwrap(), 1);
    });
    let stderr = refused(&mut command(&data, None, &[]));
    assert!(stderr.contains("the database predates the check, and its secrets do not open"), "{stderr}");
    std::fs::remove_file(&key_file).unwrap();
    std::fs::write(&key_file, &right).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    drop(start(&data, None, &[]));
    runtime.block_on(async {
        let store = store::Store::open(database.to_str().unwrap()).await.unwrap();
        let rows = store.query("SELECT COUNT(*) FROM master_key_check", vec![]).await.unwrap();
        assert_eq!(rows[0].int(0).unwrap(), 1, "the check is recorded on the first start with the right key");
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_replica_with_another_master_key_is_refused_on_postgres() {
    let Some(database) = TestDatabase::create("start_key") else { return };
    let dir = fresh_dir("start-key-postgres");
    let first = start(&dir.join("one"), Some(&database.url), &[]);
    // A second replica whose data directory made a key of its own.
    let other = dir.join("two");
    let stderr = refused(&mut command(&other, Some(&database.url), &[]));
    assert!(stderr.contains(&format!("the master key in {} (key id", other.join("master.key").display())), "{stderr}");
    assert!(stderr.contains("is not the one this database was created with"), "{stderr}");
    // With the first replica's key it starts.
    let key = read(&dir.join("one/master.key"));
    let mut second = command(&other, Some(&database.url), &[])
        .env("HOMEPORT_MASTER_KEY", key.trim())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(second.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("Homeport is listening on https://"), "{line}");
    second.kill().unwrap();
    second.wait().unwrap();
    drop(first);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_install_script_names_the_public_url_never_the_host_header() {
    let dir = fresh_dir("start-public-url");
    let data = dir.join("data");
    let ca = data.join("tls/ca.pem");
    // By default: the listen address, with the CA's fingerprint and the registry filled in.
    let mut server = start(&data, None, &[]);
    let script = get(&server.address, "/install.sh", "attacker.example:80", &ca);
    assert!(script.starts_with("HTTP/1.1 200"), "{script}");
    assert!(script.contains(&format!("\nENDPOINT=\"https://{}\"\n", server.address)), "{script}");
    assert!(script.contains(&format!("\nREGISTRY_HOST=\"{}\"\n", server.address)), "{script}");
    assert!(!script.contains("attacker.example"));
    assert!(!script.contains("@HOMEPORT_"), "every placeholder is filled: {script}");
    // The start says where agents are sent, and what agents elsewhere need.
    let announced = announcement(&mut server.stdout, "--public-url");
    let expected =
        format!("Agents install from https://{0}/install.sh, which points them at https://{0}.\n", server.address);
    assert!(announced.contains(&expected), "{announced}");
    assert!(announced.contains("--listen 0.0.0.0:PORT --public-url https://ADDRESS:PORT"), "{announced}");
    drop(server);

    // --public-url (and its variable) is what agents are told, and its host is in the
    // serving certificate.
    for (flags, variable) in
        [(&["--public-url", "https://cp.example:7780/"][..], None), (&[][..], Some("https://cp.example:7780"))]
    {
        let mut command = command(&data, None, flags);
        if let Some(url) = variable {
            command.env("HOMEPORT_PUBLIC_URL", url);
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let address = common::listen_address(&first).unwrap();
        let script = get(&address, "/install.sh", "attacker.example", &ca);
        assert!(script.contains("\nENDPOINT=\"https://cp.example:7780\"\n"), "{flags:?}: {script}");
        // Images are named by the address nodes reach, and install.sh gives Docker the CA there.
        assert!(script.contains("\nREGISTRY_HOST=\"cp.example:7780\"\n"), "{flags:?}: {script}");
        assert!(!script.contains("attacker.example"));
        let names = Command::new("openssl")
            .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
            .arg(data.join("tls/server.pem"))
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&names.stdout).contains("DNS:cp.example"), "{names:?}");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    // Anything but https://HOST[:PORT] is refused at start (http:// only with --insecure-http).
    for url in ["http://cp.example:7780", "cp.example:7780", "https://cp.example/$(id)"] {
        let stderr = refused(&mut command(&data, None, &["--public-url", url]));
        assert!(stderr.contains(&format!("public_url `{url}`")), "{stderr}");
    }
    let mut server = start(&data, None, &["--insecure-http", "--public-url", "http://cp.example:7780"]);
    let script = get_plain(&server.address, "/install.sh", "attacker.example");
    assert!(script.contains("\nENDPOINT=\"http://cp.example:7780\"\n"), "{script}");
    assert!(!script.contains("@HOMEPORT_"), "every placeholder is filled: {script}");
    let announced = announcement(&mut server.stdout, "--public-url");
    assert!(announced.contains("--public-url http://ADDRESS:PORT"), "{announced}");
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The lowercase hex SHA-256 of `bytes`, as `sha256sum` prints it.
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[test]
fn the_server_speaks_https_by_default_and_plain_http_only_when_asked() {
    let dir = fresh_dir("start-tls");
    let data = dir.join("data");
    let mut server = start(&data, None, &["--tls-san", "cp.example,192.0.2.7"]);
    let address = server.address.clone();
    let ca = std::path::absolute(data.join("tls/ca.pem")).unwrap();
    let ca_bytes = std::fs::read(&ca).unwrap();
    let fingerprint = sha256_hex(&ca_bytes);

    // The announcement: the CA bundle among the exports, the CA and its fingerprint, and the
    // install command pinned to it.
    let announced = announcement(&mut server.stdout, "--public-url");
    for expected in [
        format!("  export AWS_ENDPOINT_URL=https://{address}\n"),
        format!("  export AWS_CA_BUNDLE={}\n", ca.display()),
        format!("CA certificate: {}\n", ca.display()),
        format!("CA fingerprint (SHA-256): {fingerprint}\n"),
        format!("  curl -fsSLk https://{address}/cacerts -o homeport-ca.pem\n"),
        format!("  echo \"{fingerprint}  homeport-ca.pem\" | sha256sum -c -\n"),
        format!(
            "  curl -fsSL --cacert homeport-ca.pem https://{address}/install.sh | sudo bash -s -- --ca-sha256 \
             {fingerprint} --activation-id ID --activation-code-file CODE-FILE --cluster NAME\n"
        ),
    ] {
        assert!(announced.contains(&expected), "{expected:?} in {announced}");
    }
    assert!(!announced.contains("WARNING"), "{announced}");

    // curl trusting only the CA: /health, /cacerts (the CA's exact bytes, a PEM file), HEAD,
    // HTTP/2 when offered and HTTP/1.1 otherwise, by name and by address.
    let cacert = ca.to_str().unwrap();
    let health = curl(&["--cacert", cacert, &format!("https://{address}/health")]);
    assert_eq!(String::from_utf8_lossy(&health.stdout), "{\"status\":\"ok\"}", "{health:?}");
    let served = curl(&["--cacert", cacert, "-D", "-", &format!("https://{address}/cacerts")]);
    let served = String::from_utf8_lossy(&served.stdout).into_owned();
    let (head, body) = served.split_once("\r\n\r\n").unwrap();
    assert!(head.to_ascii_lowercase().contains("content-type: application/x-pem-file"), "{head}");
    assert_eq!(body.as_bytes(), ca_bytes.as_slice());
    assert_eq!(sha256_hex(body.as_bytes()), fingerprint);
    let head = curl(&["--cacert", cacert, "-I", &format!("https://{address}/cacerts")]);
    assert!(String::from_utf8_lossy(&head.stdout).contains(" 200"), "{head:?}");
    let port = address.rsplit_once(':').unwrap().1;
    for (url, version, wanted) in [
        (format!("https://{address}/health"), "--http2", "2"),
        (format!("https://localhost:{port}/health"), "--http2", "2"),
        (format!("https://{address}/health"), "--http1.1", "1.1"),
    ] {
        let output = curl(&["--cacert", cacert, version, "-o", "/dev/null", "-w", "%{http_version}", &url]);
        assert_eq!(String::from_utf8_lossy(&output.stdout), wanted, "{url} {version}: {output:?}");
    }
    let by_san = curl(&[
        "--cacert",
        cacert,
        "--resolve",
        &format!("cp.example:{port}:127.0.0.1"),
        &format!("https://cp.example:{port}/health"),
    ]);
    assert!(by_san.status.success(), "--tls-san names are in the certificate: {by_san:?}");
    // Plain HTTP to the HTTPS port is no answer.
    let plain = curl(&[&format!("http://{address}/health")]);
    assert!(!plain.status.success(), "{plain:?}");
    // Unverified, the certificate is someone else's: refused.
    let unverified = curl(&[&format!("https://{address}/health")]);
    assert!(!unverified.status.success(), "{unverified:?}");
    // SIGHUP (a service manager's reload) renews the serving certificate; the server stays.
    let before = presented(&connect(&address, &ca));
    assert!(Command::new("kill").args(["-HUP", &server.child.id().to_string()]).status().unwrap().success());
    let started = Instant::now();
    while !read(&server.log).contains("renewed the serving certificate") {
        assert!(started.elapsed() < Duration::from_secs(10), "no renewal on SIGHUP: {}", read(&server.log));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_ne!(presented(&connect(&address, &ca)), before);
    assert!(server.child.try_wait().unwrap().is_none(), "SIGHUP does not end the server");
    drop(server);

    // The next start keeps the CA.
    let mut again = start(&data, None, &[]);
    let announced = announcement(&mut again.stdout, "--public-url");
    assert!(announced.contains(&format!("CA fingerprint (SHA-256): {fingerprint}\n")), "{announced}");
    assert_eq!(std::fs::read(&ca).unwrap(), ca_bytes);
    drop(again);

    // A CA key that cannot be read is never replaced: the start is refused.
    let key = data.join("tls/ca.key");
    let kept = std::fs::read(&key).unwrap();
    std::fs::write(&key, "garbage\n").unwrap();
    let stderr = refused(&mut command(&data, None, &[]));
    assert!(stderr.contains(&format!("the CA key {} is not a PEM private key", key.display())), "{stderr}");
    std::fs::write(&key, kept).unwrap();

    // --insecure-http: plain HTTP, said loudly, and no CA to serve.
    let mut insecure = start(&data, None, &["--insecure-http"]);
    let announced = announcement(&mut insecure.stdout, "--public-url");
    assert!(announced.contains("WARNING: --insecure-http: this server speaks plain HTTP."), "{announced}");
    assert!(announced.contains("cross the network in clear"), "{announced}");
    assert!(!announced.contains("AWS_CA_BUNDLE") && !announced.contains("--ca-sha256"), "{announced}");
    assert!(
        announced.contains(&format!(
            "  curl -fsSL http://{}/install.sh | sudo bash -s -- --activation-id ID",
            insecure.address
        )),
        "{announced}"
    );
    let health = get_plain(&insecure.address, "/health", "localhost");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let cacerts = get_plain(&insecure.address, "/cacerts", "localhost");
    assert!(cacerts.starts_with("HTTP/1.1 404"), "{cacerts}");
    assert!(cacerts.contains("<Code>NotFound</Code>"), "{cacerts}");
    assert!(read(&insecure.log).contains("WARN serving plain HTTP"), "{}", read(&insecure.log));
    drop(insecure);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// With a 20-second certificate the server renews it (a third of the lifetime before its
/// end) without a restart: new connections get the new certificate, verified by the same CA,
/// while a connection opened before keeps working. Bounded: gives up after 40 s.
#[test]
fn the_serving_certificate_is_renewed_while_connections_stay_open() {
    let dir = fresh_dir("start-renew");
    let data = dir.join("data");
    let server = start(&data, None, &["--tls-cert-lifetime", "20"]);
    let ca = data.join("tls/ca.pem");
    let mut held = connect(&server.address, &ca);
    let first = presented(&held);
    assert!(exchange(&mut held, "/health", "localhost").starts_with("HTTP/1.1 200"));

    let started = Instant::now();
    let renewed = loop {
        assert!(started.elapsed() < Duration::from_secs(40), "no renewal in 40 s: {}", read(&server.log));
        std::thread::sleep(Duration::from_secs(2));
        // The connection opened before stays served (and is kept from idling out).
        let answer = exchange(&mut held, "/health", "localhost");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let fresh = presented(&connect(&server.address, &ca));
        if fresh != first {
            break fresh;
        }
    };
    assert!(started.elapsed() >= Duration::from_secs(8), "renewed too early: {:?}", started.elapsed());
    assert_eq!(presented(&held), first, "the open connection keeps its certificate");
    assert!(exchange(&mut held, "/health", "localhost").starts_with("HTTP/1.1 200"));
    let saved = CertificateDer::pem_file_iter(data.join("tls/server.pem")).unwrap().next().unwrap().unwrap();
    assert_eq!(saved, renewed, "server.pem holds the renewed certificate");
    assert!(read(&server.log).contains("renewed the serving certificate: serial "), "{}", read(&server.log));
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An operator's CA (`ca-NAME.pem`) and a certificate it signs for localhost and 127.0.0.1
/// (`NAME.pem`, the chain: the certificate then the CA; `NAME.key`), made with openssl.
fn operator_pair(dir: &Path, name: &str) {
    let run = |args: &[&str]| {
        let output = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    let (ca, ca_key) = (format!("ca-{name}.pem"), format!("ca-{name}.key"));
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &["-keyout", &ca_key, "-out", &ca, "-days", "2", "-subj", &format!("/CN=operator {name}")],
    ]
    .concat());
    let csr = format!("{name}.csr");
    run(&[&["req"][..], &ec, &["-keyout", &format!("{name}.key"), "-out", &csr, "-subj", "/CN=localhost"]].concat());
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        .unwrap();
    let leaf = format!("{name}-leaf.pem");
    run(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "san.ext",
        "-out",
        &leaf,
    ]);
    let chain = [std::fs::read(dir.join(&leaf)).unwrap(), std::fs::read(dir.join(&ca)).unwrap()].concat();
    std::fs::write(dir.join(format!("{name}.pem")), chain).unwrap();
}

/// Replaces `to` with a copy of `from` by rename, as certificate tools do.
fn replace(from: &Path, to: &Path) {
    let staged = to.with_extension("staged");
    std::fs::copy(from, &staged).unwrap();
    std::fs::rename(staged, to).unwrap();
}

/// `--tls-cert/--tls-key`: the operator's certificate is served and its CA is what `/cacerts`
/// serves; new files are picked up without a restart (a changed pair by polling, SIGHUP at
/// once), a pair that does not match is logged and the previous one kept, and a connection
/// opened before keeps working throughout. Bounded: each wait gives up after 20 s.
#[test]
fn an_operators_certificate_is_served_and_reloaded_without_a_restart() {
    let dir = fresh_dir("start-operator");
    for name in ["one", "two"] {
        operator_pair(&dir, name);
    }
    let (cert, key) = (dir.join("served.pem"), dir.join("served.key"));
    replace(&dir.join("one.pem"), &cert);
    replace(&dir.join("one.key"), &key);
    let data = dir.join("data");
    let (cert_flag, key_flag) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let mut server = start(&data, None, &["--tls-cert", cert_flag, "--tls-key", key_flag]);
    let address = server.address.clone();
    let announced = announcement(&mut server.stdout, "--public-url");
    let ca_one = std::fs::read(dir.join("ca-one.pem")).unwrap();
    let served_ca = std::path::absolute(data.join("tls/operator-ca.pem")).unwrap();
    assert!(announced.contains(&format!("CA certificate: {}\n", served_ca.display())), "{announced}");
    assert!(announced.contains(&format!("CA fingerprint (SHA-256): {}\n", sha256_hex(&ca_one))), "{announced}");
    assert!(!data.join("tls/ca.key").exists(), "no CA of Homeport's own");
    let cacerts = get(&address, "/cacerts", "localhost", &dir.join("ca-one.pem"));
    assert!(cacerts.ends_with(std::str::from_utf8(&ca_one).unwrap()), "the chain's last certificate: {cacerts}");

    let mut held = connect(&address, &dir.join("ca-one.pem"));
    let trusts = |ca: &str| {
        let url = format!("https://{address}/health");
        curl(&["--cacert", dir.join(ca).to_str().unwrap(), "-o", "/dev/null", &url]).status.success()
    };
    assert!(trusts("ca-one.pem") && !trusts("ca-two.pem"));
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let started = Instant::now();
        while !done() {
            assert!(started.elapsed() < Duration::from_secs(20), "{what}: {}", read(&server.log));
            std::thread::sleep(Duration::from_millis(500));
        }
    };

    // A key that is not the certificate's: logged, and the previous pair kept.
    replace(&dir.join("two.key"), &key);
    wait_for("the mismatch is logged", &|| {
        read(&server.log).contains("cannot reload the serving certificate after a change")
    });
    assert!(trusts("ca-one.pem"), "still the previous certificate");

    // The matching certificate arrives: picked up.
    replace(&dir.join("two.pem"), &cert);
    wait_for("the new pair is served", &|| trusts("ca-two.pem"));
    assert!(!trusts("ca-one.pem"));
    assert!(
        read(&server.log).contains(&format!("reloaded the serving certificate from {} after a change", cert.display()))
    );
    let cacerts = get(&address, "/cacerts", "localhost", &dir.join("ca-two.pem"));
    assert!(
        cacerts.ends_with(std::str::from_utf8(&std::fs::read(dir.join("ca-two.pem")).unwrap()).unwrap()),
        "{cacerts}"
    );
    assert!(exchange(&mut held, "/health", "localhost").starts_with("HTTP/1.1 200"), "the open connection stays");

    // SIGHUP reloads at once, whatever the files' times say.
    let before = read(&server.log).matches("on SIGHUP").count();
    let hangup = Command::new("kill").args(["-HUP", &server.child.id().to_string()]).status().unwrap();
    assert!(hangup.success());
    wait_for("SIGHUP reloads", &|| {
        read(&server.log).matches("reloaded the serving certificate").count() >= 2
            && read(&server.log).matches("on SIGHUP").count() > before
    });
    assert!(trusts("ca-two.pem"));
    drop(server);

    // Flags that do not go together are refused.
    let stderr = refused(&mut command(&data, None, &["--tls-cert", cert_flag]));
    assert!(stderr.contains("--tls-cert needs --tls-key"), "{stderr}");
    let stderr =
        refused(&mut command(&data, None, &["--tls-cert", cert_flag, "--tls-key", key_flag, "--insecure-http"]));
    assert!(stderr.contains("drop --insecure-http"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
