//! What `homeport server` checks before it serves: a data directory left open to other users
//! is made private (and says so), a master key that is not the database's is refused with
//! the key expected and where the wrong one came from, and `/install.sh` names the
//! configured public address whatever `Host` a client sends.
//!
//! The PostgreSQL half (two replicas with different keys) needs `HOMEPORT_TEST_POSTGRES_URL`.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

mod common;

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

/// `GET path` with exactly these `Host` header; the whole response.
fn get(address: &str, path: &str, host: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
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
    assert!(line.starts_with("Homeport is listening on http://"), "{line}");
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
    assert!(line.starts_with("Homeport is listening on http://"), "{line}");
    second.kill().unwrap();
    second.wait().unwrap();
    drop(first);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_install_script_names_the_public_url_never_the_host_header() {
    let dir = fresh_dir("start-public-url");
    // By default: the listen address.
    let mut server = start(&dir.join("data"), None, &[]);
    let script = get(&server.address, "/install.sh", "attacker.example:80");
    assert!(script.starts_with("HTTP/1.1 200"), "{script}");
    assert!(script.contains(&format!("\nENDPOINT=\"http://{}\"\n", server.address)), "{script}");
    assert!(!script.contains("attacker.example"));
    // The start says where agents are sent, and what agents elsewhere need.
    let mut announced = String::new();
    while !announced.contains("--public-url") {
        assert_ne!(server.stdout.read_line(&mut announced).unwrap(), 0, "{announced}");
    }
    let expected =
        format!("Agents install from http://{0}/install.sh, which points them at http://{0}.\n", server.address);
    assert!(announced.contains(&expected), "{announced}");
    assert!(announced.contains("--listen 0.0.0.0:PORT --public-url http://ADDRESS:PORT"), "{announced}");
    drop(server);

    // --public-url (and its variable) is what agents are told.
    for (flags, variable) in
        [(&["--public-url", "http://cp.example:7780/"][..], None), (&[][..], Some("http://cp.example:7780"))]
    {
        let mut command = command(&dir.join("data"), None, flags);
        if let Some(url) = variable {
            command.env("HOMEPORT_PUBLIC_URL", url);
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let address = first.split("http://").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
        let script = get(&address, "/install.sh", "attacker.example");
        assert!(script.contains("\nENDPOINT=\"http://cp.example:7780\"\n"), "{flags:?}: {script}");
        assert!(!script.contains("attacker.example"));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    // Anything but http://HOST[:PORT] is refused at start.
    for url in ["https://cp.example", "cp.example:7780", "http://cp.example/$(id)"] {
        let stderr = refused(&mut command(&dir.join("data"), None, &["--public-url", url]));
        assert!(stderr.contains(&format!("public_url `{url}`")), "{stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
