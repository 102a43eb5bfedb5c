//! README.md, walked: every line of its ```sh blocks, in order, in one bash session, on a
//! fresh data directory, with the real aws CLI, Docker, `curl`, `install.sh` and the agent,
//! so the README cannot drift from what Homeport does.
//!
//! The walk reads the commands from README.md itself. A scratch directory stands for the
//! clone (it holds a link to `examples/`) and is the session's working directory and `HOME`
//! (no one's aws or Docker configuration is read). The only substitutions:
//! - `cargo run --release --` is the binary cargo built for this test; `cargo run --release
//!   -- server` starts it in the background with `--listen 127.0.0.1:0`, and the port it got
//!   replaces `7780` in every later line;
//! - a leading `sudo`, and `sudo` after a pipe, are dropped;
//! - the `install.sh` line gets `--prefix` (a scratch root) and `--no-start`, and the walk
//!   then starts the agent as the systemd unit would, with the command install.sh prints for
//!   that, plus `--credentials-port 0` (a free port, so it can run beside other agents on this
//!   machine).
//!
//! A line ending in a `# not walked: REASON` comment is skipped. Any other line must start
//! with a command the walk knows (`aws`, `docker`, `curl`, `mkdir`, ...) or assign a variable,
//! or the test fails: a new kind of line needs a decision here. Lines that show an outcome are
//! checked (`EXPECTATIONS`): read-only ones are repeated until what they print shows it (the
//! instance `Online`, the task `RUNNING`, the task's log lines, the service's two tasks), and
//! each expectation must match exactly one README line, so neither side drifts. Every other
//! line must exit 0. The server's start-up text must contain the README's `export` lines.
//!
//! Without the aws CLI, Docker or a static /bin/busybox the test says it did not run, except in
//! CI, where it fails.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{aws_cli_available, docker_available, fresh_dir};

/// What a README line (matched by how it starts) must show; read-only lines are repeated until
/// they do.
const EXPECTATIONS: &[(&str, &[&str])] = &[
    ("aws sts get-caller-identity", &[":root\""]),
    ("aws ssm describe-instance-information", &["\tOnline"]),
    ("aws ecs list-container-instances", &[":container-instance/edge/"]),
    ("aws ecs describe-tasks", &["RUNNING\t"]),
    ("aws logs get-log-events", &["hello from Homeport", "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://"]),
    ("aws ecs describe-services", &["2\t2\t(service hello) has reached a steady state."]),
    ("docker ps", &["ecs-hello-1-hello-"]),
    ("cargo run --release -- policy simulate", &["\"EvalDecision\": \"allowed\""]),
];

/// How long a read-only line may take to show its outcome, and any line to finish.
const PATIENCE: Duration = Duration::from_secs(180);

/// Commands a walked line may start with.
const KNOWN: &[&str] =
    &["aws", "docker", "curl", "mkdir", "cp", "ln", "for", "tar", "read", "cat", "export", "install", "printf", "echo"];

/// One command of the README: its first line's number and its text (continuations and
/// here-documents included).
#[derive(Debug)]
struct Step {
    line: usize,
    text: String,
}

/// The commands of README.md's ```sh blocks, in order.
fn steps(readme: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut in_block = false;
    let mut lines = readme.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_block = !in_block && trimmed == "```sh";
            continue;
        }
        if !in_block || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut text = line.to_owned();
        while text.ends_with('\\') {
            let (_, next) = lines.next().unwrap();
            text.push('\n');
            text.push_str(next);
        }
        if let Some(marker) = text.split("<<").nth(1) {
            let delimiter = marker.trim().trim_matches('\'').trim_matches('"').to_owned();
            for (_, body) in lines.by_ref() {
                text.push('\n');
                text.push_str(body);
                if body == delimiter {
                    break;
                }
            }
        }
        steps.push(Step { line: index + 1, text });
    }
    assert!(!in_block, "README.md has an unclosed ```sh block");
    steps
}

/// A bash session that runs one step at a time, keeping its variables between steps.
struct Shell {
    child: Child,
    stdin: ChildStdin,
    done: Receiver<i32>,
    outputs: PathBuf,
    count: usize,
}

impl Shell {
    fn start(clone: &Path, outputs: &Path, env: &[(String, String)]) -> Shell {
        std::fs::create_dir_all(outputs).unwrap();
        let mut child = Command::new("bash")
            .args(["--noprofile", "--norc"])
            .current_dir(clone)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (sender, done) = channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if let Some(code) = line.strip_prefix("__WALK_STEP__ ") {
                    let _ = sender.send(code.trim().parse().unwrap_or(-1));
                }
            }
        });
        let mut shell = Shell { child, stdin, done, outputs: outputs.to_owned(), count: 0 };
        writeln!(shell.stdin, "set -o pipefail").unwrap();
        shell
    }

    /// Runs `script` (its standard input empty) and returns its exit status and output.
    fn run(&mut self, script: &str) -> (i32, String) {
        self.count += 1;
        let output = self.outputs.join(format!("{}.out", self.count));
        write!(self.stdin, "{{\n{script}\n}} >'{}' 2>&1 </dev/null\necho \"__WALK_STEP__ $?\"\n", output.display())
            .unwrap();
        self.stdin.flush().unwrap();
        let status =
            self.done.recv_timeout(PATIENCE).unwrap_or_else(|_| panic!("no end within {PATIENCE:?} of:\n{script}"));
        (status, std::fs::read_to_string(&output).unwrap_or_default())
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A background process of the walk, its output in a file; killed when dropped.
struct Background {
    child: Child,
    log: PathBuf,
}

impl Background {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The walk's server: the background process, its address and what it printed.
struct WalkServer {
    process: Background,
    address: String,
    account: String,
    printed: Arc<Mutex<String>>,
}

fn start_server(binary: &str, arguments: &str, clone: &Path, env: &[(String, String)]) -> WalkServer {
    let log = clone.with_file_name("server.log");
    let mut child = Command::new(binary)
        .args(arguments.split_whitespace())
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(clone)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let address = common::listen_address(&first).unwrap_or_else(|| panic!("unexpected first line: {first:?}"));
    let account = first.split("account ").nth(1).unwrap().trim_end().trim_end_matches(").").to_owned();
    let printed = Arc::new(Mutex::new(first));
    let sink = Arc::clone(&printed);
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let mut printed = sink.lock().unwrap();
            printed.push_str(&line);
            printed.push('\n');
        }
    });
    WalkServer { process: Background { child, log }, address, account, printed }
}

/// Removes, when dropped, the containers of this walk's account and the image it pushed.
struct Cleanup {
    account: Option<String>,
    pushed: Option<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(account) = &self.account {
            let listed = Command::new("docker")
                .args(["ps", "-a", "--filter", "label=com.amazonaws.ecs.task-definition-family=hello"])
                .args(["--format", "{{.ID}} {{.Label \"com.amazonaws.ecs.task-arn\"}}"])
                .output();
            let text = listed.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
            let ids: Vec<&str> = text
                .lines()
                .filter(|line| line.contains(&format!(":{account}:task/")))
                .filter_map(|line| line.split_whitespace().next())
                .collect();
            if !ids.is_empty() {
                let _ = Command::new("docker").args(["rm", "-f"]).args(&ids).output();
            }
        }
        if let Some(image) = &self.pushed {
            let _ = Command::new("docker").args(["rmi", image]).output();
        }
    }
}

fn static_busybox() -> bool {
    let found = Command::new("ldd").arg("/bin/busybox").output().is_ok_and(|output| {
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        text.contains("not a dynamic")
    });
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must install busybox-static (.ci/run does)");
        eprintln!("no static /bin/busybox (apt-get install busybox-static): the README walk did NOT RUN");
    }
    found
}

/// Whether the README marks the step as one the walk does not run.
fn walked_over(step: &Step) -> bool {
    step.text.lines().next().unwrap_or_default().contains("# not walked:")
}

/// A step with the substitutions that do not depend on the running server: `cargo run
/// --release --` is `binary` (except for `... -- server`, which the walk starts itself), and
/// `sudo` is dropped.
fn prepared(text: &str, binary: &str) -> String {
    if text.starts_with("cargo run --release -- server") {
        return text.to_owned();
    }
    let text = text.replacen("cargo run --release --", binary, 1);
    let text = text.strip_prefix("sudo ").unwrap_or(&text);
    text.replace("| sudo bash", "| bash")
}

/// Whether a prepared step starts with a command the walk knows, or assigns a variable.
fn classified(text: &str, binary: &str) -> bool {
    let first = text.split_whitespace().next().unwrap_or_default();
    let assigns = first.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    });
    KNOWN.contains(&first) || first == binary || assigns
}

/// The expectation a README line answers to, if any.
fn expectation(text: &str) -> Option<&'static [&'static str]> {
    EXPECTATIONS.iter().find(|(start, _)| text == *start || text.starts_with(&format!("{start} "))).map(|(_, n)| *n)
}

#[test]
fn the_readme_walks_from_a_fresh_clone_to_a_service() {
    if !aws_cli_available() || !docker_available("the README walk") || !static_busybox() {
        return;
    }
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let readme = std::fs::read_to_string(repository.join("README.md")).unwrap();
    let steps = steps(&readme);
    for (start, _) in EXPECTATIONS {
        let matching: Vec<usize> = steps
            .iter()
            .filter(|s| s.text == *start || s.text.starts_with(&format!("{start} ")))
            .map(|s| s.line)
            .collect();
        assert_eq!(matching.len(), 1, "the expectation for `{start}` must match one README line, not {matching:?}");
    }

    // Every line is classified before the first one runs.
    for step in steps.iter().filter(|s| !walked_over(s)) {
        let text = prepared(&step.text, env!("CARGO_BIN_EXE_homeport"));
        assert!(
            text.starts_with("cargo run --release -- server") || classified(&text, env!("CARGO_BIN_EXE_homeport")),
            "README.md line {}: the walk cannot classify this line: mark it `# not walked: REASON` or teach \
             readme_walk.rs\n{}",
            step.line,
            step.text
        );
    }

    let root = fresh_dir("readme-walk");
    let clone = root.join("clone");
    std::fs::create_dir_all(&clone).unwrap();
    std::os::unix::fs::symlink(repository.join("examples"), clone.join("examples")).unwrap();
    let install_root = root.join("install-root");
    let binary = env!("CARGO_BIN_EXE_homeport");
    let mut env: Vec<(String, String)> = vec![
        ("PATH".to_owned(), std::env::var("PATH").unwrap_or_default()),
        ("HOME".to_owned(), clone.display().to_string()),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
    ];
    if let Ok(host) = std::env::var("DOCKER_HOST") {
        env.push(("DOCKER_HOST".to_owned(), host));
    }
    // Declared first, dropped last: after the agent, which could otherwise start more.
    let mut cleanup = Cleanup { account: None, pushed: None };
    let mut shell = Shell::start(&clone, &root.join("steps"), &env);
    let mut server: Option<WalkServer> = None;
    let mut agent: Option<Background> = None;
    let mut exports = Vec::new();
    let started = Instant::now();

    for step in &steps {
        let context = |what: &str| format!("README.md line {}: {what}\n{}", step.line, step.text);
        if walked_over(step) {
            continue;
        }
        // The substitutions, and nothing else.
        let mut text = step.text.clone();
        if let Some(server) = &server {
            text = text.replace("127.0.0.1:7780", &server.address);
        }
        if let Some(rest) = text.strip_prefix("cargo run --release -- server") {
            assert!(server.is_none(), "{}", context("a second server"));
            let started = start_server(binary, &format!("server {rest}"), &clone, &env);
            cleanup.account = Some(started.account.clone());
            server = Some(started);
            continue;
        }
        let mut text = prepared(&text, binary);
        let installs = text.contains("/install.sh | bash");
        if installs {
            text.push_str(&format!(" --prefix '{}' --no-start", install_root.display()));
        }
        let first = text.split_whitespace().next().unwrap_or_default();
        if first == "export" {
            exports.push(text.replace("$PWD", &clone.display().to_string()));
        }

        let mut printed = String::new();
        match expectation(&step.text) {
            Some(needles) => {
                assert!(
                    ["aws", binary, "docker"].contains(&first)
                        && [" describe-", " get-", " list-", " ps", " policy "].iter().any(|verb| text.contains(verb)),
                    "{}",
                    context("only a read-only line may be repeated")
                );
                let deadline = Instant::now() + PATIENCE;
                loop {
                    let (status, output) = shell.run(&text);
                    if status == 0 && needles.iter().all(|needle| output.contains(needle)) {
                        break;
                    }
                    if Instant::now() > deadline {
                        let logs = diagnostics(server.as_ref(), agent.as_ref());
                        panic!(
                            "{}",
                            context(&format!("never showed {needles:?}; last (status {status}):\n{output}\n{logs}"))
                        );
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
            None => {
                let (status, output) = shell.run(&text);
                if status != 0 {
                    let logs = diagnostics(server.as_ref(), agent.as_ref());
                    panic!("{}", context(&format!("exit status {status}:\n{output}\n{logs}")));
                }
                printed = output;
            }
        }
        if text.starts_with("docker push ") {
            cleanup.pushed = text.split_whitespace().nth(2).map(str::to_owned);
        }
        if installs {
            // What the systemd unit would start: the command install.sh says to run.
            let command = printed
                .lines()
                .find_map(|line| line.split("start the agent with: ").nth(1))
                .unwrap_or_else(|| panic!("{}", context(&format!("install.sh did not say how to start:\n{printed}"))));
            let mut words = command.split_whitespace();
            let log = root.join("agent.log");
            let child = Command::new(words.next().unwrap())
                .args(words)
                .args(["--credentials-port", "0"])
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .envs(std::env::var("DOCKER_HOST").map(|host| ("DOCKER_HOST", host)))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap();
            agent = Some(Background { child, log });
        }
    }

    let server = server.unwrap_or_else(|| panic!("README.md starts the server with `cargo run --release -- server`"));
    assert!(agent.is_some(), "README.md installs the agent with install.sh");
    let printed = server.printed.lock().unwrap().clone();
    assert!(!exports.is_empty(), "README.md shows the server's export lines");
    for export in &exports {
        assert!(printed.contains(&format!("  {export}\n")), "the server did not print `{export}`:\n{printed}");
    }
    eprintln!("the README walk took {:?}", started.elapsed());
    drop(agent);
    drop(shell);
    drop(cleanup);
}

/// The server's and the agent's logs, for a failure's message.
fn diagnostics(server: Option<&WalkServer>, agent: Option<&Background>) -> String {
    let tail =
        |text: String| text.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    format!(
        "--- server log (tail):\n{}\n--- agent log (tail):\n{}",
        tail(server.map(|s| s.process.log()).unwrap_or_default()),
        tail(agent.map(Background::log).unwrap_or_default())
    )
}

#[test]
fn steps_are_read_with_their_continuations_and_here_documents() {
    let readme = "Text\n\n```sh\n# a comment\naws iam create-role \\\n    --role-name r\n\ncat > f.json <<EOF\n{\"a\": 1}\nEOF\nls   # not walked: an example\n```\n\n```text\nnot a command\n```\n\n```sh\nexport A=1\n```\n";
    let steps = steps(readme);
    let texts: Vec<&str> = steps.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "aws iam create-role \\\n    --role-name r",
            "cat > f.json <<EOF\n{\"a\": 1}\nEOF",
            "ls   # not walked: an example",
            "export A=1"
        ]
    );
    assert_eq!(steps.iter().map(|s| s.line).collect::<Vec<_>>(), [5, 8, 11, 19]);
    assert_eq!(expectation("aws ecs describe-tasks --cluster edge"), Some(&["RUNNING\t"][..]));
    assert_eq!(expectation("aws ecs describe-tasksets"), None);
    for (line, known) in [
        ("aws s3 ls", true),
        ("TASK=$(aws ecs run-task)", true),
        ("sudo homeport agent run", false),
        ("cargo run --release -- policy validate f", true),
        ("cargo test --workspace", false),
        ("systemctl status homeport-agent", false),
        ("curl -fsSL http://h/install.sh | sudo bash -s -- --cluster edge", true),
    ] {
        assert_eq!(classified(&prepared(line, "/bin/homeport"), "/bin/homeport"), known, "{line}");
    }
    assert_eq!(
        prepared("curl -fsSL http://h/install.sh | sudo bash -s --", "/b"),
        "curl -fsSL http://h/install.sh | bash -s --"
    );
}
