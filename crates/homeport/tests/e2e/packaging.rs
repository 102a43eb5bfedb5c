//! The packaging: `packaging/install.sh` (what `curl ENDPOINT/install.sh | sudo bash` runs)
//! and the systemd unit the binary carries. The script runs for real here, with `--prefix`
//! and `--no-start`, against a stand-in control plane that serves the binary and answers
//! the registration, so it is tested without the server's routes or root.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn install_sh(args: &[&str]) -> Output {
    Command::new("bash").arg(repo_file("packaging/install.sh")).args(args).output().unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_script_parses_and_has_one_endpoint_placeholder() {
    let output = Command::new("bash").arg("-n").arg(repo_file("packaging/install.sh")).output().unwrap();
    assert!(output.status.success(), "bash -n: {}", String::from_utf8_lossy(&output.stderr));
    let text = std::fs::read_to_string(repo_file("packaging/install.sh")).unwrap();
    // The control plane replaces every occurrence; a second one (say, in a comparison)
    // would be replaced too and break the check it was part of.
    for (placeholder, line) in [
        ("@HOMEPORT_ENDPOINT@", "ENDPOINT=\"@HOMEPORT_ENDPOINT@\"\n"),
        ("@HOMEPORT_CA_SHA256@", "CA_SHA256=\"@HOMEPORT_CA_SHA256@\"\n"),
        ("@HOMEPORT_REGISTRY_HOST@", "REGISTRY_HOST=\"@HOMEPORT_REGISTRY_HOST@\"\n"),
    ] {
        assert_eq!(text.matches(placeholder).count(), 1, "{placeholder}");
        assert!(text.contains(line), "{line}");
    }
    assert!(text.contains("set -euo pipefail"));
}

#[test]
fn the_script_refuses_what_it_cannot_do() {
    let help = install_sh(&["--help"]);
    assert!(help.status.success());
    let usage = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(usage.contains("Usage: install.sh --activation-id ID --activation-code-file PATH"), "{usage}");
    assert!(usage.contains("--activation-code CODE"), "{usage}");
    let empty = std::env::temp_dir().join(format!("homeport-empty-code-{}", std::process::id()));
    std::fs::write(&empty, "\n").unwrap();
    let empty = empty.to_str().unwrap();
    for (args, message) in [
        (&["--activation-code", "c"][..], "--activation-id is required"),
        (&["--activation-id", "a"][..], "the activation code is required: --activation-code-file PATH"),
        (
            &["--activation-id", "a", "--activation-code-file", "/nonexistent/code"][..],
            "cannot read the activation code file",
        ),
        (&["--activation-id", "a", "--activation-code-file", empty][..], "holds no activation code"),
        (&["--activation-id", "a", "--activation-code-file", empty, "--activation-code", "c"][..], "not both"),
        (&["--activation-id", "a", "--activation-code", "c"][..], "no endpoint: pass --endpoint"),
        (&["--activation-id", "a", "--activation-code", "c", "--endpoint", "https://cp"][..], "pass --ca-sha256 HEX"),
        (
            &["--activation-id", "a", "--activation-code", "c", "--endpoint", "https://cp", "--ca-sha256", "abc"][..],
            "is not a SHA-256 fingerprint",
        ),
        (
            &["--activation-id", "a", "--activation-code", "c", "--endpoint", "http://cp", "--registry-host", "../x"][..],
            "is not a HOST:PORT",
        ),
        (&["--bogus"][..], "unknown option: --bogus"),
        (&["--cluster"][..], "--cluster needs a value"),
        (
            &["--activation-id", "a", "--activation-code", "c", "--endpoint", "http://cp", "--prefix", "/tmp/a b"][..],
            "--prefix must not contain spaces",
        ),
    ] {
        let output = install_sh(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    std::fs::remove_file(empty).unwrap();
    // Piped to bash, standard input is the script: `-` would eat it, so it is refused.
    let piped = Command::new("bash")
        .args(["-s", "--", "--activation-id", "a", "--activation-code-file", "-"])
        .stdin(std::fs::File::open(repo_file("packaging/install.sh")).unwrap())
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&piped.stderr).contains("which is this script when it is piped"));
}

#[test]
fn the_binary_carries_the_unit() {
    let output = Command::new(env!("CARGO_BIN_EXE_homeport")).args(["agent", "systemd-unit"]).output().unwrap();
    assert!(output.status.success());
    let unit = std::fs::read_to_string(repo_file("packaging/homeport-agent.service")).unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), unit);
    for line in [
        "ExecStart=/usr/local/bin/homeport agent run --state-dir /var/lib/homeport-agent\n",
        "Restart=always\n",
        "WantedBy=multi-user.target\n",
    ] {
        assert!(unit.contains(line), "the unit lacks {line:?}");
    }
    // Hardening that would hide the Docker socket or devices from the agent stays out.
    for line in ["ProtectSystem=strict", "PrivateDevices=yes", "PrivateNetwork=yes", "DynamicUser=yes"] {
        assert!(!unit.contains(line), "the unit has {line:?}");
    }
}

/// Each request's `X-Amz-Target` (for a GET, its request line) and body.
type Requests = Arc<Mutex<Vec<(String, String)>>>;

/// A stand-in control plane: serves the binary at `/download/homeport` and answers
/// `RegisterManagedInstance`; records each request's target and body.
fn fake_control_plane() -> (String, Requests) {
    fake_control_plane_over(None, Vec::new())
}

/// [`fake_control_plane`], over TLS with `tls` when given, serving `ca` at `/cacerts`.
fn fake_control_plane_over(tls: Option<Arc<rustls::ServerConfig>>, ca: Vec<u8>) -> (String, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            // A client refusing the certificate breaks its connection off: not a test failure
            // here (the test asserts what was or was not received).
            let _ = match &tls {
                Some(config) => {
                    let connection = rustls::ServerConnection::new(Arc::clone(config)).unwrap();
                    let mut stream = rustls::StreamOwned::new(connection, stream);
                    answer(&mut stream, &record, &ca).map(|()| {
                        stream.conn.send_close_notify();
                        let _ = stream.flush();
                    })
                }
                None => answer(stream, &record, &ca),
            };
        }
    });
    (address, seen)
}

fn answer<S: Read + Write>(stream: S, record: &Requests, ca: &[u8]) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let (mut length, mut target) = (0usize, String::new());
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap(),
            "x-amz-target" => target = value.trim().to_owned(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let stream = reader.get_mut();
    let respond = |stream: &mut S, content: &[u8]| -> std::io::Result<()> {
        write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", content.len())?;
        stream.write_all(content)?;
        stream.flush()
    };
    if request_line.starts_with("GET /download/homeport ") {
        respond(stream, &std::fs::read(env!("CARGO_BIN_EXE_homeport")).unwrap())?;
    } else if request_line.starts_with("GET /cacerts ") {
        respond(stream, ca)?;
    } else {
        respond(stream, br#"{"InstanceId":"mi-0123456789abcdef0"}"#)?;
    }
    if target.is_empty() {
        target = request_line.trim().to_owned();
    }
    record.lock().unwrap().push((target, String::from_utf8(body).unwrap()));
    Ok(())
}

#[test]
fn the_script_installs_registers_and_places_the_unit() {
    if Command::new("curl").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI must have curl");
        eprintln!("curl not found: the install script test did NOT RUN");
        return;
    }
    let (address, seen) = fake_control_plane();
    let root = std::env::temp_dir().join(format!("homeport-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    // The script as the control plane serves it: its own address substituted.
    let served = std::fs::read_to_string(repo_file("packaging/install.sh"))
        .unwrap()
        .replace("@HOMEPORT_ENDPOINT@", &format!("http://{address}"));
    let script = std::env::temp_dir().join(format!("homeport-install-{}.sh", std::process::id()));
    std::fs::write(&script, served).unwrap();
    let root_text = root.to_str().unwrap();
    // The documented form: the code in a file, off the command line.
    let code_file = std::env::temp_dir().join(format!("homeport-install-code-{}", std::process::id()));
    std::fs::write(&code_file, "secret-code\n").unwrap();
    let args = ["-s", "--", "--activation-id", "act-1", "--activation-code-file", code_file.to_str().unwrap()];
    let args = [&args[..], &["--cluster", "prod"]].concat();
    let install = |extra: &[&str]| {
        Command::new("bash")
            .args(&args)
            .args(["--prefix", root_text, "--no-start"])
            .args(extra)
            .stdin(std::fs::File::open(&script).unwrap())
            .output()
            .unwrap()
    };
    let output = install(&[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("Registered as mi-0123456789abcdef0."), "{stdout}");
    assert!(!stdout.contains("secret-code"), "the activation code is never echoed");

    let binary = root.join("usr/local/bin/homeport");
    assert_eq!(mode(&binary), 0o755);
    // The unit runs what was installed under the prefix, on the prefix's state directory;
    // the rest is the unit the binary carries.
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/homeport-agent.service")).unwrap();
    let carried = std::fs::read_to_string(repo_file("packaging/homeport-agent.service")).unwrap();
    let exec_start = format!(
        "ExecStart={root_text}/usr/local/bin/homeport agent run --state-dir {root_text}/var/lib/homeport-agent\n"
    );
    let expected = carried
        .replace("ExecStart=/usr/local/bin/homeport agent run --state-dir /var/lib/homeport-agent\n", &exec_start)
        .replace(
            "StateDirectory=homeport-agent\nStateDirectoryMode=0700\n",
            &format!("ReadWritePaths={root_text}/var/lib/homeport-agent\n"),
        );
    assert_ne!(expected, carried);
    assert_eq!(unit, expected);
    for line in unit.lines().filter(|line| !line.starts_with('#')) {
        let outside =
            ["/usr/local/bin", "/var/lib"].iter().any(|path| line.contains(path)) && !line.contains(root_text);
        assert!(!outside, "a path outside the prefix: {line}");
    }
    let state = root.join("var/lib/homeport-agent");
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("instance.key")), 0o600);
    let instance: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("instance.json")).unwrap()).unwrap();
    assert_eq!(instance["instanceId"], "mi-0123456789abcdef0");
    assert_eq!(instance["cluster"], "prod");
    assert_eq!(instance["endpoint"], format!("http://{address}"));
    let instance_text = std::fs::read_to_string(state.join("instance.json")).unwrap();
    assert!(!instance_text.contains("secret-code"), "the activation code is kept nowhere");

    {
        let seen = seen.lock().unwrap();
        let registration = seen.iter().find(|(target, _)| target == "AmazonSSM.RegisterManagedInstance").unwrap();
        let body: serde_json::Value = serde_json::from_str(&registration.1).unwrap();
        assert_eq!(
            (body["ActivationId"].as_str(), body["ActivationCode"].as_str()),
            (Some("act-1"), Some("secret-code"))
        );
        assert_eq!(body["PublicKeyType"], "Ed25519");
    }

    // Run again (the code on the command line still works): the registration is kept, and
    // the script says why it stopped.
    let again = Command::new("bash")
        .args(["-s", "--", "--activation-id", "act-1", "--activation-code", "secret-code"])
        .args(["--prefix", root_text, "--no-start"])
        .stdin(std::fs::File::open(&script).unwrap())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already registered as mi-0123456789abcdef0"), "{stderr}");
    assert!(stderr.contains("warning: --activation-code is visible to other users"), "{stderr}");

    // --force registers again; without --no-start the script enables and restarts the unit
    // (systemctl here is a stand-in that records its arguments).
    let fake_bin = root.join("fake-bin");
    std::fs::create_dir_all(&fake_bin).unwrap();
    let calls = root.join("systemctl-calls");
    std::fs::write(fake_bin.join("systemctl"), format!("#!/bin/sh\necho \"$*\" >> {}\n", calls.display())).unwrap();
    std::fs::set_permissions(fake_bin.join("systemctl"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", fake_bin.display(), std::env::var("PATH").unwrap());
    // This time the script is a file and the code comes on standard input.
    let mut forced = Command::new("bash")
        .arg(&script)
        .args(["--activation-id", "act-1", "--activation-code-file", "-", "--cluster", "prod"])
        .args(["--prefix", root_text, "--force"])
        .env("PATH", &path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    forced.stdin.take().unwrap().write_all(b"secret-code\n").unwrap();
    let forced = forced.wait_with_output().unwrap();
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "is-active --quiet homeport-agent\nstop homeport-agent\ndaemon-reload\nenable homeport-agent\nrestart homeport-agent\n",
        "the running agent is stopped before it is registered again"
    );
    // And from the environment.
    let from_environment = Command::new("bash")
        .args(["-s", "--", "--activation-id", "act-1", "--force"])
        .args(["--prefix", root_text, "--no-start"])
        .env("HOMEPORT_ACTIVATION_CODE", "secret-code")
        .stdin(std::fs::File::open(&script).unwrap())
        .output()
        .unwrap();
    assert!(from_environment.status.success(), "{}", String::from_utf8_lossy(&from_environment.stderr));
    let codes: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(target, _)| target.ends_with("RegisterManagedInstance"))
        .map(|(_, body)| serde_json::from_str::<serde_json::Value>(body).unwrap()["ActivationCode"].to_string())
        .collect();
    assert_eq!(codes, vec!["\"secret-code\""; 3], "a file, a refused re-run, standard input, the environment");
    std::fs::remove_file(&code_file).unwrap();
    std::fs::remove_dir_all(&root).unwrap();
    std::fs::remove_file(&script).unwrap();
}

/// `homeport agent register` takes the code from a file, standard input, the environment or
/// the flag, and refuses two sources or none.
#[test]
fn register_reads_the_activation_code_from_a_file_or_standard_input() {
    let (address, seen) = fake_control_plane();
    let dir = std::env::temp_dir().join(format!("homeport-register-code-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let code_file = dir.join("code");
    std::fs::write(&code_file, "file-code\n").unwrap();
    let register = |state: &str, source: &[&str], stdin: Option<&str>, environment: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_homeport"));
        command
            .args(["agent", "register", "--endpoint", &format!("http://{address}"), "--activation-id", "act-1"])
            .args(source)
            .arg("--state-dir")
            .arg(dir.join(state))
            .env_remove("HOMEPORT_ACTIVATION_CODE")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if let Some(code) = environment {
            command.env("HOMEPORT_ACTIVATION_CODE", code);
        }
        let mut child = command.spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let code_path = code_file.to_str().unwrap();
    for (state, source, stdin, environment) in [
        ("a", &["--activation-code-file", code_path][..], None, None),
        ("b", &["--activation-code-file", "-"][..], Some("stdin-code\n"), None),
        ("c", &[][..], None, Some("environment-code")),
        ("d", &["--activation-code", "flag-code"][..], None, None),
    ] {
        let output = register(state, source, stdin, environment);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{source:?}: {stderr}");
        // Only the code on the command line draws the warning.
        assert_eq!(stderr.contains("warning: --activation-code is visible"), state == "d", "{source:?}: {stderr}");
    }
    let codes: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(target, _)| target.ends_with("RegisterManagedInstance"))
        .map(|(_, body)| {
            serde_json::from_str::<serde_json::Value>(body).unwrap()["ActivationCode"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(codes, ["file-code", "stdin-code", "environment-code", "flag-code"]);

    std::fs::write(&code_file, "\n").unwrap();
    for (source, stdin, message) in [
        (&["--activation-code-file", code_path][..], None, "holds no activation code"),
        (&["--activation-code-file", "-"][..], Some(""), "standard input holds no activation code"),
        (
            &["--activation-code-file", "/nonexistent/code"][..],
            None,
            "cannot read the activation code from /nonexistent/code",
        ),
        (&["--activation-code-file", code_path, "--activation-code", "c"][..], None, "cannot be used with"),
        (&[][..], None, "the activation code is required: --activation-code-file PATH"),
    ] {
        let output = register("e", source, stdin, None);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success() && stderr.contains(message), "{source:?}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A CA and a serving certificate for 127.0.0.1 made with the `openssl` command in `dir`:
/// (the CA's PEM bytes, the server's TLS configuration).
fn openssl_pki(dir: &Path, name: &str) -> (Vec<u8>, Arc<rustls::ServerConfig>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let file = |suffix: &str| dir.join(format!("{name}-{suffix}"));
    std::fs::write(file("ext.cnf"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    for args in [
        [&["req", "-x509"][..], &ec[..], &["-days", "2", "-subj", "/CN=test CA", "-keyout"][..]].concat(),
        [&["req"][..], &ec[..], &["-subj", "/CN=127.0.0.1", "-keyout"][..]].concat(),
    ] {
        let (key, out) = if args.contains(&"-x509") { ("ca.key", "ca.pem") } else { ("server.key", "server.csr") };
        let output = Command::new("openssl").args(&args).arg(file(key)).arg("-out").arg(file(out)).output().unwrap();
        assert!(output.status.success(), "openssl: {}", String::from_utf8_lossy(&output.stderr));
    }
    let output = Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-set_serial", "2", "-in"])
        .arg(file("server.csr"))
        .arg("-CA")
        .arg(file("ca.pem"))
        .arg("-CAkey")
        .arg(file("ca.key"))
        .arg("-extfile")
        .arg(file("ext.cnf"))
        .arg("-out")
        .arg(file("server.pem"))
        .output()
        .unwrap();
    assert!(output.status.success(), "openssl: {}", String::from_utf8_lossy(&output.stderr));
    let ca = std::fs::read(file("ca.pem")).unwrap();
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(file("server.pem")).unwrap().map(Result::unwrap).collect();
    let key = PrivateKeyDer::from_pem_file(file("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    (ca, Arc::new(config))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Over https the script checks the CA against the pin before it downloads anything, then
/// verifies the download with it, installs it for Docker and registers with the pin.
#[test]
fn over_https_the_script_pins_the_ca_before_anything_else() {
    let tools = ["curl", "openssl", "sha256sum"];
    if tools.iter().any(|tool| Command::new(tool).arg("--version").output().is_err()) {
        assert!(std::env::var_os("CI").is_none(), "CI must have {tools:?}");
        eprintln!("one of {tools:?} not found: the https install script test did NOT RUN");
        return;
    }
    let root = std::env::temp_dir().join(format!("homeport-install-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let (ca, config) = openssl_pki(&root, "a");
    let (other_ca, _) = openssl_pki(&root, "b");
    let (address, seen) = fake_control_plane_over(Some(config), ca.clone());
    let served = std::fs::read_to_string(repo_file("packaging/install.sh"))
        .unwrap()
        .replace("@HOMEPORT_ENDPOINT@", &format!("https://{address}"))
        .replace("@HOMEPORT_CA_SHA256@", &sha256_hex(&ca))
        .replace("@HOMEPORT_REGISTRY_HOST@", "registry.test:5000");
    let script = root.join("install.sh");
    std::fs::write(&script, served).unwrap();
    let prefix = root.join("prefix");
    let install = |extra: &[&str]| {
        Command::new("bash")
            .args(["-s", "--", "--activation-id", "act-1", "--no-start", "--prefix", prefix.to_str().unwrap()])
            .args(extra)
            .env("HOMEPORT_ACTIVATION_CODE", "secret-code")
            .env_remove("HOMEPORT_CA_SHA256")
            .stdin(std::fs::File::open(&script).unwrap())
            .output()
            .unwrap()
    };

    // Another server's fingerprint: refused after GET /cacerts, nothing downloaded or sent.
    let refused = install(&["--ca-sha256", &sha256_hex(&other_ca)]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&sha256_hex(&ca)) && stderr.contains(&sha256_hex(&other_ca)), "{stderr}");
    assert!(stderr.contains("refusing to go on"), "{stderr}");
    let targets = |seen: &Requests| seen.lock().unwrap().iter().map(|(target, _)| target.clone()).collect::<Vec<_>>();
    assert_eq!(targets(&seen), ["GET /cacerts HTTP/1.1"]);
    assert!(!prefix.join("usr/local/bin/homeport").exists());

    // The pin the server filled in.
    let output = install(&[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("Registered as mi-0123456789abcdef0."), "{stdout}");
    assert_eq!(
        targets(&seen)[1..],
        [
            "GET /cacerts HTTP/1.1",
            "GET /download/homeport HTTP/1.1",
            "GET /cacerts HTTP/1.1",
            "AmazonSSM.RegisterManagedInstance"
        ],
        "the script's check, the verified download, register's own check, then the activation"
    );
    assert_eq!(std::fs::read(prefix.join("etc/docker/certs.d/registry.test:5000/ca.crt")).unwrap(), ca);
    assert_eq!(mode(&prefix.join("etc/docker/certs.d/registry.test:5000/ca.crt")), 0o644);
    let state = prefix.join("var/lib/homeport-agent");
    assert_eq!(std::fs::read(state.join("ca.pem")).unwrap(), ca);
    let instance: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("instance.json")).unwrap()).unwrap();
    assert_eq!(instance["endpoint"], format!("https://{address}"));
    assert_eq!(
        (instance["trust"].as_str(), instance["caSha256"].as_str()),
        (Some("ca"), Some(sha256_hex(&ca).as_str()))
    );
    std::fs::remove_dir_all(&root).unwrap();
}
