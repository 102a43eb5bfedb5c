//! Ansible's playbooks (PyPI's `ansible`, with its `amazon.aws` and `community.aws`
//! collections) run against a test server as a user would run them: `ansible-playbook` on
//! localhost, pointed at Homeport through `AWS_ENDPOINT_URL` with the root's keys.

use std::path::Path;
use std::process::Command;

use super::Server;

/// Whether `ansible-playbook` runs; in CI its absence fails the test.
pub fn available() -> bool {
    let found = Command::new("ansible-playbook").arg("--version").output().is_ok_and(|output| output.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must install ansible (pip install ansible)");
        eprintln!("ansible-playbook not found: the Ansible test did NOT RUN (pip install ansible)");
    }
    found
}

/// Runs `tests/ansible/{playbook}` with `state` and the `extra` variables (`name=value`,
/// space-separated), in `dir`, and returns the recap's `changed=` count; a failed run fails
/// the test with the playbook's output.
fn play(server: &Server, dir: &Path, playbook: &str, state: &str, extra: &str) -> u64 {
    let playbook = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ansible").join(playbook);
    let python = String::from_utf8(
        Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output().unwrap().stdout,
    )
    .unwrap();
    let output = server
        .as_root(&mut Command::new("ansible-playbook"))
        .arg(&playbook)
        .args(["-i", "localhost,", "-e"])
        .arg(format!("state={state} ansible_python_interpreter={} {extra}", python.trim()))
        .env("AWS_REGION", "us-east-1")
        .env("ANSIBLE_LOCAL_TEMP", dir.join("ansible-tmp"))
        .env("ANSIBLE_HOME", dir.join("ansible-home"))
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "ansible-playbook state={state} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let recap = stdout
        .lines()
        .rev()
        .find(|line| line.starts_with("localhost"))
        .unwrap_or_else(|| panic!("no recap:\n{stdout}"));
    let changed = recap.split_whitespace().find_map(|field| field.strip_prefix("changed=")).unwrap();
    changed.parse().unwrap()
}

/// A playbook's whole life on a fresh server (the embedded store), in a fresh directory
/// named `name`: `state=present` with the variables `extra` gives (`name=value ...`) creates
/// (some change), `created` checks what it made, a second run changes nothing,
/// `state=absent` removes (some change), `removed` checks what is left, and a second removal
/// changes nothing. Without ansible or boto3 it does not run (in CI it fails).
pub fn create_rerun_remove(
    name: &str,
    playbook: &str,
    extra: impl FnOnce(&Server) -> String,
    created: impl FnOnce(&Server),
    removed: impl FnOnce(&Server),
) {
    if !available() || !super::boto3_available() {
        return;
    }
    let dir = super::fresh_dir(name);
    let server = Server::start(&dir.join("data"), None);
    let extra = extra(&server);
    assert!(play(&server, &dir, playbook, "present", &extra) > 0, "the first run creates");
    created(&server);
    assert_eq!(play(&server, &dir, playbook, "present", &extra), 0, "a second run changes nothing");
    assert!(play(&server, &dir, playbook, "absent", &extra) > 0, "the removal removes");
    removed(&server);
    assert_eq!(play(&server, &dir, playbook, "absent", &extra), 0, "removing again changes nothing");
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
