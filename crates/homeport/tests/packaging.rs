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
    assert_eq!(text.matches("@HOMEPORT_ENDPOINT@").count(), 1);
    assert!(text.contains("ENDPOINT=\"@HOMEPORT_ENDPOINT@\"\n"));
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
        (&["--activation-id", "a", "--activation-code", "c", "--endpoint", "https://cp"][..], "not supported yet"),
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

/// Each request's `X-Amz-Target` (empty for a GET) and body.
type Requests = Arc<Mutex<Vec<(String, String)>>>;

/// A stand-in control plane: serves the binary at `/download/homeport` and answers
/// `RegisterManagedInstance`; records each request's target and body.
fn fake_control_plane() -> (String, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let (mut length, mut target) = (0usize, String::new());
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
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
            reader.read_exact(&mut body).unwrap();
            if request_line.starts_with("GET /download/homeport ") {
                let binary = std::fs::read(env!("CARGO_BIN_EXE_homeport")).unwrap();
                write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", binary.len())
                    .unwrap();
                stream.write_all(&binary).unwrap();
            } else {
                let answer = r#"{"InstanceId":"mi-0123456789abcdef0"}"#;
                write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                )
                .unwrap();
            }
            record.lock().unwrap().push((target, String::from_utf8(body).unwrap()));
        }
    });
    (address, seen)
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
