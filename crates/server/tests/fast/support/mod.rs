//! The fast tier's test server: `server::run` in this test process, on its own runtime
//! thread, with a fresh data directory (embedded SQLite), plain HTTP on 127.0.0.1:0, and a
//! caller that signs awsQuery (IAM, STS), awsJson 1.1 (ECS, ECR, Logs, SSM, CloudTrail) and
//! restJson1 (Access Analyzer: any method, path and query string) requests with
//! `aws-protocol`'s SigV4 signer, as root or as any access key.
//!
//! Only the server's public API (`server::run`, `server::Config`) and HTTP are used, so these
//! tests see exactly what a client sees. The test program shares one server ([`shared`]):
//! each case makes its own names (see [`unique`]) so cases can run in parallel against it.
//!
//! The store's second backend gets a shared server of its own ([`shared_postgres`]): the same
//! server on a fresh PostgreSQL database of this process, named by `HOMEPORT_TEST_POSTGRES_URL`
//! (a role that may create databases). A family declares its cases with [`on_both_stores`] to
//! run each on both. Without that variable the PostgreSQL cases say they did not run, and
//! fail in CI (`CI` set), as the end-to-end tests do.

#![allow(dead_code, reason = "test support: not every helper has a caller at every moment")]

pub mod oidc_issuer;
pub mod saml_idp;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, OnceLock};

use aws_protocol::sigv4::{HttpRequest, canonical_request, format_amz_date, sha256_hex, signing_key, string_to_sign};
use serde_json::Value;

/// The IAM policy that allows everything, for users a case wants allowed.
pub const ALLOW_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// Credentials to sign a request with.
#[derive(Clone, Debug)]
pub struct Key {
    pub id: String,
    pub secret: String,
    pub token: Option<String>,
}

/// A running server of this test process; stopped (and its data directory removed) on drop.
pub struct TestServer {
    pub address: SocketAddr,
    pub data_dir: PathBuf,
    pub account_id: String,
    /// The account's root key, read from `DATA_DIR/root-credentials` as a user would.
    pub root: Key,
    /// The PostgreSQL database the server stores in; `None` for the embedded SQLite store.
    pub store_url: Option<String>,
    /// The user without permissions of [`TestServer::nobody`], made on first use.
    nobody: OnceLock<(String, Key)>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

static SHARED: LazyLock<TestServer> = LazyLock::new(TestServer::start);

/// The server this test program shares (started on first use, never stopped: the process's end
/// stops it; [`TestServer::start`] removes data directories such ends leave behind).
pub fn shared() -> &'static TestServer {
    // The PostgreSQL server starts meanwhile, so that its cases, which come later, find it up.
    static STARTING_POSTGRES: std::sync::Once = std::sync::Once::new();
    STARTING_POSTGRES.call_once(|| {
        std::thread::spawn(|| LazyLock::force(&SHARED_POSTGRES));
    });
    &SHARED
}

/// The PostgreSQL server, or why it did not start (kept to fail each case that needs it).
static SHARED_POSTGRES: LazyLock<Result<Option<TestServer>, String>> = LazyLock::new(|| {
    let started = std::panic::catch_unwind(|| {
        let admin_url = postgres_admin_url()?;
        let server = TestServer::start_on(Some(fresh_database(&admin_url, "")));
        // Dropping a database takes PostgreSQL seconds: off the tests' path.
        std::thread::spawn(move || drop_stale_databases(&admin_url));
        Some(server)
    });
    started.map_err(|panic| {
        let message = panic.downcast_ref::<String>().cloned();
        message.or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned())).unwrap_or_default()
    })
});

/// The server this test program shares on PostgreSQL, on a database of its own; `None`
/// (saying so on stderr) when `HOMEPORT_TEST_POSTGRES_URL` is unset outside CI.
pub fn shared_postgres() -> Option<&'static TestServer> {
    match &*SHARED_POSTGRES {
        Ok(server) => server.as_ref(),
        Err(why) => panic!("the PostgreSQL test server did not start: {why}"),
    }
}

/// Declares a family's cases, each a `fn(&TestServer)` of the module, as two tests:
/// `sqlite::NAME` on [`shared`] and `postgres::NAME` on [`shared_postgres`].
macro_rules! on_both_stores {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $case() {
                    super::$case($crate::support::shared());
                }
            )+
        }
        mod postgres {
            $(
                #[test]
                fn $case() {
                    if let Some(server) = $crate::support::shared_postgres() {
                        super::$case(server);
                    }
                }
            )+
        }
    };
}
pub(crate) use on_both_stores;

/// Whether any file under `dir` (recursively) contains `needle`.
pub fn any_file_holds(dir: &std::path::Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            any_file_holds(&path, needle)
        } else {
            std::fs::read(&path).unwrap_or_default().windows(needle.len()).any(|window| window == needle)
        }
    })
}

/// A name no other case of this process uses: `prefix` and a counter.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Milliseconds since the Unix epoch (CloudWatch Logs' timestamps).
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    i64::try_from(now.as_millis()).unwrap()
}

/// `base` with the members of `extra` set over it (both JSON objects).
pub fn merged(mut base: Value, extra: Value) -> Value {
    for (key, value) in extra.as_object().into_iter().flatten() {
        base[key] = value.clone();
    }
    base
}

const DIR_PREFIX: &str = "homeport-fasttier-";

impl TestServer {
    /// Starts a server on 127.0.0.1:0 with a fresh data directory and waits until it accepts
    /// connections.
    pub fn start() -> TestServer {
        TestServer::start_on(None)
    }

    /// Starts a server as [`TestServer::start`] does, storing in the PostgreSQL database at
    /// `store_url` (the embedded SQLite store when `None`).
    pub fn start_on(store_url: Option<String>) -> TestServer {
        remove_stale_dirs();
        let data_dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{}-{}", std::process::id(), unique("")));
        let _ = std::fs::remove_dir_all(&data_dir);
        // Private from the start, as the server wants its data directory.
        std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700).create(&data_dir).unwrap();
        TestServer::start_in(data_dir, store_url)
    }

    /// Stops this server (waiting for it to end) and starts another on its data directory.
    pub fn restart(mut self) -> TestServer {
        assert!(self.stop(), "the test server's thread panicked");
        TestServer::start_in(self.data_dir.clone(), self.store_url.clone())
    }

    /// Another server on this one's PostgreSQL database, as a replica behind a load balancer
    /// runs: a data directory of its own (its own caches, its own audit journal) with this
    /// server's master key and root credentials. Panics on the embedded SQLite store.
    pub fn replica(&self) -> TestServer {
        let url = self.store_url.clone().expect("replicas share a PostgreSQL store");
        let data_dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{}-{}", std::process::id(), unique("")));
        let _ = std::fs::remove_dir_all(&data_dir);
        std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700).create(&data_dir).unwrap();
        for file in ["master.key", "root-credentials"] {
            std::fs::copy(self.data_dir.join(file), data_dir.join(file)).unwrap();
        }
        TestServer::start_in(data_dir, Some(url))
    }

    /// Asks the server to shut down and waits for its thread; false if that thread panicked.
    fn stop(&mut self) -> bool {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.thread.take().is_none_or(|thread| thread.join().is_ok())
    }

    fn start_in(data_dir: PathBuf, store_url: Option<String>) -> TestServer {
        let config = server::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.clone(),
            store_url: store_url.clone(),
            region: "us-east-1".to_owned(),
            account_id: None,
            instance_ping_timeout: 120,
            instance_disconnect_timeout: 180,
            access_advisor_days: 400,
            policy_generations_per_day: 50,
            policy_generation_days: 90,
            registry_host: None,
            public_url: None,
            insecure_http: true,
            tls_sans: Vec::new(),
            tls_cert: None,
            tls_cert_lifetime: server::tls::DEFAULT_LIFETIME,
        };
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let failed = ready_tx.clone();
        let thread = std::thread::Builder::new()
            .name("test-server".to_owned())
            .spawn(move || {
                let runtime =
                    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
                let served = runtime.block_on(server::run(
                    config,
                    move |address, app, _| {
                        let _ = ready_tx.send(Ok((address, app.account_id.clone())));
                    },
                    async {
                        let _ = shutdown_rx.await;
                    },
                ));
                if let Err(error) = served {
                    let _ = failed.send(Err(error.to_string()));
                }
            })
            .unwrap();
        let (address, account_id) = match ready_rx.recv() {
            Ok(Ok(ready)) => ready,
            Ok(Err(error)) => panic!("the test server did not start: {error}"),
            Err(_) => panic!("the test server's thread ended before it was ready"),
        };
        let root = read_credentials(&data_dir.join("root-credentials"));
        TestServer {
            address,
            data_dir,
            account_id,
            root,
            store_url,
            nobody: OnceLock::new(),
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    /// An awsQuery call to IAM (`Version=2010-05-08`) signed with `key`.
    pub fn iam(&self, key: &Key, action: &str, params: &[(&str, &str)]) -> Response {
        self.query(Some(key), "iam", action, "2010-05-08", params)
    }

    /// An awsQuery call to STS (`Version=2011-06-15`) signed with `key`.
    pub fn sts(&self, key: &Key, action: &str, params: &[(&str, &str)]) -> Response {
        self.query(Some(key), "sts", action, "2011-06-15", params)
    }

    /// An awsQuery call: `Action`, `Version` and `params` form-encoded, signed for `service`
    /// with `key` (unsigned without one).
    pub fn query(
        &self,
        key: Option<&Key>,
        service: &str,
        action: &str,
        version: &str,
        params: &[(&str, &str)],
    ) -> Response {
        let mut pairs = vec![("Action", action), ("Version", version)];
        pairs.extend_from_slice(params);
        let body: Vec<String> =
            pairs.iter().map(|(name, value)| format!("{}={}", encode(name), encode(value))).collect();
        let headers = vec![("Content-Type", "application/x-www-form-urlencoded; charset=utf-8".to_owned())];
        self.post(key, service, headers, &body.join("&"))
    }

    /// An awsJson 1.1 call of `target` (`Prefix.Operation`) signed for `service` with `key`.
    pub fn json(&self, key: &Key, service: &str, target: &str, body: &Value) -> Response {
        self.json_as(Some(key), service, target, body)
    }

    /// An awsJson 1.1 call, signed with `key` or unsigned.
    pub fn json_as(&self, key: Option<&Key>, service: &str, target: &str, body: &Value) -> Response {
        let headers =
            vec![("Content-Type", "application/x-amz-json-1.1".to_owned()), ("X-Amz-Target", target.to_owned())];
        self.post(key, service, headers, &body.to_string())
    }

    pub fn ecs(&self, key: &Key, operation: &str, body: &Value) -> Response {
        self.json(key, "ecs", &format!("AmazonEC2ContainerServiceV20141113.{operation}"), body)
    }

    pub fn ecr(&self, key: &Key, operation: &str, body: &Value) -> Response {
        self.json(key, "ecr", &format!("AmazonEC2ContainerRegistry_V20150921.{operation}"), body)
    }

    pub fn logs(&self, key: &Key, operation: &str, body: &Value) -> Response {
        self.json(key, "logs", &format!("Logs_20140328.{operation}"), body)
    }

    pub fn ssm(&self, key: &Key, operation: &str, body: &Value) -> Response {
        self.json(key, "ssm", &format!("AmazonSSM.{operation}"), body)
    }

    pub fn secretsmanager(&self, key: &Key, operation: &str, body: &Value) -> Response {
        self.json(key, "secretsmanager", &format!("secretsmanager.{operation}"), body)
    }

    pub fn cloudtrail(&self, key: &Key, operation: &str, body: &Value) -> Response {
        self.json(
            key,
            "cloudtrail",
            &format!("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.{operation}"),
            body,
        )
    }

    /// POSTs `body` as it is: a form for awsQuery (`target` `None`), awsJson 1.1 with
    /// `X-Amz-Target` otherwise; signed for `service` with `key` when given.
    pub fn post_raw(&self, key: Option<&Key>, service: &str, target: Option<&str>, body: &str) -> Response {
        let headers = match target {
            None => vec![("Content-Type", "application/x-www-form-urlencoded; charset=utf-8".to_owned())],
            Some(target) => {
                vec![("Content-Type", "application/x-amz-json-1.1".to_owned()), ("X-Amz-Target", target.to_owned())]
            }
        };
        self.post(key, service, headers, body)
    }

    /// POSTs `body` to `/` with `headers`, SigV4-signed for `service` with `key` when given.
    fn post(&self, key: Option<&Key>, service: &str, headers: Vec<(&str, String)>, body: &str) -> Response {
        self.send_as(key, service, "POST", "/", "", headers, body)
    }

    /// A restJson1 call: `method` to `path` (as sent: percent-encoded) with the raw `query`
    /// string and a JSON `body` (none when `None`), signed for `service` with `key` when given,
    /// as botocore signs it (the path and query as sent).
    pub fn rest_json(
        &self,
        key: Option<&Key>,
        service: &str,
        method: &str,
        path: &str,
        query: &str,
        body: Option<&Value>,
    ) -> Response {
        let body = body.map(Value::to_string).unwrap_or_default();
        let headers = vec![("Content-Type", "application/json".to_owned())];
        self.send_as(key, service, method, path, query, headers, &body)
    }

    /// Sends `body` with `method` to `path?query` with `headers`, SigV4-signed for `service`
    /// with `key` when given.
    #[allow(clippy::too_many_arguments, reason = "the parts of one HTTP request")]
    fn send_as(
        &self,
        key: Option<&Key>,
        service: &str,
        method: &str,
        path: &str,
        query: &str,
        mut headers: Vec<(&str, String)>,
        body: &str,
    ) -> Response {
        headers.push(("Host", self.address.to_string()));
        let target = Target { method, path, query };
        if let Some(key) = key {
            sign(key, service, &target, &mut headers, body);
        }
        send(self.address, &target, &headers, body)
    }

    /// An awsJson 1.1 call of Logs whose answer streams (StartLiveTail), signed with `key`:
    /// the connection, read as the answer comes.
    pub fn logs_stream(&self, key: &Key, operation: &str, body: &Value) -> Streaming {
        let body = body.to_string();
        let mut headers = vec![
            ("Content-Type", "application/x-amz-json-1.1".to_owned()),
            ("X-Amz-Target", format!("Logs_20140328.{operation}")),
            ("Host", self.address.to_string()),
        ];
        let target = Target { method: "POST", path: "/", query: "" };
        sign(key, "logs", &target, &mut headers, &body);
        let mut stream = TcpStream::connect(self.address).unwrap();
        let mut request = "POST / HTTP/1.1\r\n".to_owned();
        for (name, value) in &headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_millis(100))).unwrap();
        let mut streaming = Streaming { status: 0, head: String::new(), stream, raw: Vec::new(), body: Vec::new() };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !streaming.raw.windows(4).any(|w| w == b"\r\n\r\n") {
            assert!(std::time::Instant::now() < deadline, "no response head within 10 s");
            streaming.read_some();
        }
        let end = streaming.raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        streaming.head = String::from_utf8_lossy(&streaming.raw[..end]).into_owned();
        streaming.raw.drain(..end + 4);
        streaming.status = streaming.head.split_whitespace().nth(1).unwrap().parse().unwrap();
        streaming
    }

    /// Creates a user with `policy` inline (none for a user with no permissions) and a key of
    /// its own; returns the key.
    pub fn user_with_policy(&self, name: &str, policy: Option<&str>) -> Key {
        self.iam(&self.root, "CreateUser", &[("UserName", name)]).ok();
        if let Some(policy) = policy {
            self.iam(
                &self.root,
                "PutUserPolicy",
                &[("UserName", name), ("PolicyName", "test"), ("PolicyDocument", policy)],
            )
            .ok();
        }
        let created = self.iam(&self.root, "CreateAccessKey", &[("UserName", name)]).ok();
        Key { id: created.xml("AccessKeyId"), secret: created.xml("SecretAccessKey"), token: None }
    }

    /// The key of this server's user without permissions (made once per server).
    pub fn nobody(&self) -> &Key {
        &self.nobody_user().1
    }

    /// The ARN of [`TestServer::nobody`]'s user, as refusals name it.
    pub fn nobody_arn(&self) -> String {
        self.user_arn(&self.nobody_user().0)
    }

    fn nobody_user(&self) -> &(String, Key) {
        self.nobody.get_or_init(|| {
            let name = unique("nobody");
            let key = self.user_with_policy(&name, None);
            (name, key)
        })
    }

    /// `arn:aws:iam::ACCOUNT:user/NAME` for the refusal messages.
    pub fn user_arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:user/{name}", self.account_id)
    }

    /// Runs `statements` on this server's store, beside the server: the one way a case moves
    /// what happened back in time (an entity's creation, a key's or role's last use, rows of
    /// `iam_usage`), which no API can. Only for what the server reads afresh at every request
    /// (never what its caches hold: keys, policies).
    pub fn rewrite_history(&self, statements: &[(&str, Vec<store::Value>)]) {
        let url = match &self.store_url {
            Some(url) => url.clone(),
            None => self.data_dir.join("homeport.db").to_string_lossy().into_owned(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let store = store::Store::open(&url).await.unwrap();
            for (sql, params) in statements {
                store.execute(sql, params.clone()).await.unwrap_or_else(|error| panic!("{sql}: {error}"));
            }
        });
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // A server that was restarted has no thread left; its successor owns the directory.
        if self.thread.is_some() {
            // Never a second panic here: this may run while a failed test unwinds.
            let _ = self.stop();
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// Removes the data directories of test processes that are gone (a shared server is never
/// dropped, so its process's end leaves its directory behind).
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(DIR_PREFIX).and_then(|rest| rest.split('-').next()) else { continue };
        if pid != std::process::id().to_string() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// `HOMEPORT_TEST_POSTGRES_URL`, or `None` when it is unset outside CI (in CI its absence
/// fails the test).
fn postgres_admin_url() -> Option<String> {
    let Ok(url) = std::env::var("HOMEPORT_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must set HOMEPORT_TEST_POSTGRES_URL: the PostgreSQL store is tested there"
        );
        eprintln!("HOMEPORT_TEST_POSTGRES_URL unset: the fast tier's PostgreSQL cases did NOT RUN");
        return None;
    };
    Some(url)
}

const DATABASE_PREFIX: &str = "homeport_fasttier_";

/// Creates this process's database on the admin URL's server and returns its URL. The
/// process's end leaves it behind, for a later run's [`drop_stale_databases`]. `tag` names
/// another database of this process (the shared server's has none).
fn fresh_database(admin_url: &str, tag: &str) -> String {
    let name = format!("{DATABASE_PREFIX}{}{tag}", std::process::id());
    block_on_admin(admin_url, async |admin| {
        admin.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), vec![]).await.unwrap();
        admin.execute(&format!("CREATE DATABASE {name}"), vec![]).await.unwrap();
        // A test database need not survive the machine losing power: its commits do not wait
        // for the disk.
        admin.execute(&format!("ALTER DATABASE {name} SET synchronous_commit = off"), vec![]).await.unwrap();
    });
    let Some((server, _)) = admin_url.rsplit_once('/') else {
        panic!("HOMEPORT_TEST_POSTGRES_URL must end with /DATABASE: {admin_url}")
    };
    format!("{server}/{name}")
}

/// A fresh PostgreSQL database of this process named by `tag` (letters, digits and `_`), for
/// a case that needs a server of its own on PostgreSQL; `None` as [`shared_postgres`] is.
pub fn fresh_postgres(tag: &str) -> Option<String> {
    let admin_url = postgres_admin_url()?;
    Some(fresh_database(&admin_url, &format!("_{tag}")))
}

/// Drops the databases of test processes that have ended, as [`remove_stale_dirs`] does
/// for data directories.
fn drop_stale_databases(admin_url: &str) {
    block_on_admin(admin_url, async |admin| {
        let pattern = store::Value::Text(format!("{DATABASE_PREFIX}%"));
        let sql = "SELECT datname::text FROM pg_database WHERE datname::text LIKE ?";
        for row in admin.query(sql, vec![pattern]).await.unwrap() {
            let stale = row.text(0).unwrap();
            // The process's id, before any tag (`_NAME`).
            let pid = stale.trim_start_matches(DATABASE_PREFIX).split('_').next().unwrap_or_default();
            if !Path::new("/proc").join(pid).exists() {
                admin.execute(&format!("DROP DATABASE IF EXISTS {stale} WITH (FORCE)"), vec![]).await.unwrap();
            }
        }
    });
}

/// Runs `work` with a connection to the admin URL's database.
fn block_on_admin(admin_url: &str, work: impl AsyncFnOnce(&store::Store)) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let admin = store::Store::open(admin_url).await.unwrap();
        work(&admin).await;
    });
}

/// The `[default]` key of a shared-credentials file.
pub fn read_credentials(path: &Path) -> Key {
    let text = std::fs::read_to_string(path).unwrap();
    let value = |name: &str| {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .find(|(key, _)| key.trim() == name)
            .map(|(_, value)| value.trim().to_owned())
    };
    Key { id: value("aws_access_key_id").unwrap(), secret: value("aws_secret_access_key").unwrap(), token: None }
}

/// What a request asks for: its method, path and query string, as sent.
struct Target<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
}

thread_local! {
    /// The region this thread's requests are signed for (`us-east-1` unless [`in_region`]).
    static SIGNING_REGION: std::cell::RefCell<String> = std::cell::RefCell::new("us-east-1".to_owned());
}

/// Runs `work` with every request this thread sends signed for `region`.
pub fn in_region<T>(region: &str, work: impl FnOnce() -> T) -> T {
    let before = SIGNING_REGION.replace(region.to_owned());
    let result = work();
    SIGNING_REGION.set(before);
    result
}

/// Adds `X-Amz-Date`, `X-Amz-Security-Token` (for a session) and `Authorization`: SigV4 over
/// every header, for `service` in this thread's region ([`in_region`]), now.
fn sign(key: &Key, service: &str, target: &Target<'_>, headers: &mut Vec<(&str, String)>, body: &str) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let amz_date = format_amz_date(i64::try_from(now).unwrap());
    headers.push(("X-Amz-Date", amz_date.clone()));
    if let Some(token) = &key.token {
        headers.push(("X-Amz-Security-Token", token.clone()));
    }
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let request = HttpRequest {
        method: target.method,
        path: target.path,
        query: target.query,
        headers: &pairs,
        body: body.as_bytes(),
    };
    let mut signed: Vec<String> = headers.iter().map(|(name, _)| name.to_ascii_lowercase()).collect();
    signed.sort();
    let signed_refs: Vec<&str> = signed.iter().map(String::as_str).collect();
    let canonical = canonical_request(&request, &signed_refs, &sha256_hex(body.as_bytes()));
    let date = &amz_date[..8];
    let region = SIGNING_REGION.with_borrow(Clone::clone);
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let signature =
        signing_key(&key.secret, date, &region, service).sign(&string_to_sign(&amz_date, &scope, &canonical));
    headers.push((
        "Authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
            key.id,
            signed.join(";")
        ),
    ));
}

/// One HTTP/1.1 exchange on a connection of its own.
fn send(address: SocketAddr, target: &Target<'_>, headers: &[(&str, String)], body: &str) -> Response {
    let mut stream = TcpStream::connect(address).unwrap();
    let query = if target.query.is_empty() { String::new() } else { format!("?{}", target.query) };
    let mut request = format!("{} {}{query} HTTP/1.1\r\n", target.method, target.path);
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let chunked = head.lines().any(|line| {
        line.to_ascii_lowercase().starts_with("transfer-encoding:") && line.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked { dechunk(rest) } else { rest.to_owned() };
    Response { status, head: head.to_owned(), body }
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    body
}

/// `application/x-www-form-urlencoded` as botocore writes it: unreserved bytes kept, the rest
/// percent-encoded.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A streamed answer being read: its head, then its chunked body as event-stream messages.
pub struct Streaming {
    pub status: u16,
    pub head: String,
    stream: TcpStream,
    /// What arrived after the head and is not yet unchunked.
    raw: Vec<u8>,
    /// The unchunked body not yet read as messages.
    body: Vec<u8>,
}

impl Streaming {
    /// Reads what the connection has (at most 100 ms of waiting); false once it is closed.
    fn read_some(&mut self) -> bool {
        let mut buffer = [0u8; 65_536];
        match self.stream.read(&mut buffer) {
            Ok(0) => false,
            Ok(n) => {
                self.raw.extend_from_slice(&buffer[..n]);
                true
            }
            Err(error) if matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => true,
            Err(_) => false,
        }
    }

    /// Moves the whole chunks of `raw` into `body`.
    fn unchunk(&mut self) {
        while let Some(line) = self.raw.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(std::str::from_utf8(&self.raw[..line]).unwrap().trim(), 16).unwrap();
            if self.raw.len() < line + 2 + size + 2 {
                return;
            }
            self.body.extend_from_slice(&self.raw[line + 2..line + 2 + size]);
            self.raw.drain(..line + 2 + size + 2);
        }
    }

    /// The next message within `within`, or `None` (none came, or the stream ended).
    pub fn next_message(&mut self, within: std::time::Duration) -> Option<aws_protocol::event_stream::Message> {
        let deadline = std::time::Instant::now() + within;
        loop {
            self.unchunk();
            match aws_protocol::event_stream::decode(&self.body) {
                Ok((message, used)) => {
                    self.body.drain(..used);
                    return Some(message);
                }
                Err(aws_protocol::event_stream::DecodeError::Incomplete) => {}
                Err(error) => panic!("not an event-stream message: {error:?}"),
            }
            if std::time::Instant::now() >= deadline || !self.read_some() {
                return None;
            }
        }
    }

    /// The rest of an answer that is not streamed (an error's document).
    pub fn rest(mut self) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.read_some() && std::time::Instant::now() < deadline {}
        let chunked = self.head.to_ascii_lowercase().contains("transfer-encoding: chunked");
        if chunked {
            self.unchunk();
            String::from_utf8_lossy(&self.body).into_owned()
        } else {
            String::from_utf8_lossy(&self.raw).into_owned()
        }
    }
}

/// A response: its status, headers and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Response {
    /// Asserts a 200 and returns the response.
    #[track_caller]
    pub fn ok(self) -> Response {
        assert_eq!(self.status, 200, "expected success: {}", self.body);
        self
    }

    /// The JSON body (awsJson 1.1); `Null` when there is none.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The text of the first `<tag>` element (awsQuery), or "" when there is none.
    pub fn xml(&self, tag: &str) -> String {
        self.xml_all(tag).into_iter().next().unwrap_or_default()
    }

    /// The texts of every `<tag>` element, in order, with XML's escapes undone.
    pub fn xml_all(&self, tag: &str) -> Vec<String> {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let mut found = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(start) = rest.find(&open) {
            let after = &rest[start + open.len()..];
            let Some(end) = after.find(&close) else { break };
            found.push(unescape(&after[..end]));
            rest = &after[end + close.len()..];
        }
        found
    }

    /// A response header's value (the first, by case-insensitive name).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }

    /// The error code: `<Code>` for awsQuery, `__type` (without a namespace) for awsJson,
    /// `x-amzn-ErrorType` for restJson.
    pub fn code(&self) -> String {
        if let Some(code) = self.header("x-amzn-ErrorType") {
            return code.split(':').next().unwrap_or_default().to_owned();
        }
        if let Some(kind) = self.value().get("__type").and_then(Value::as_str) {
            return kind.rsplit('#').next().unwrap_or(kind).to_owned();
        }
        self.xml("Code")
    }

    /// The error message: `<Message>` for awsQuery, `message` (or `Message`) for awsJson.
    pub fn message(&self) -> String {
        let value = self.value();
        if let Some(message) = value.get("message").or_else(|| value.get("Message")).and_then(Value::as_str) {
            return message.to_owned();
        }
        self.xml("Message")
    }
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// What a case expects back.
#[derive(Debug, Clone)]
pub enum Expect {
    /// A 200.
    Ok,
    /// An error with this status and code, and a message containing the text.
    Error(u16, &'static str, String),
}

impl Expect {
    /// Checks `response` against the expectation; `Err` says what differed, for `case`.
    pub fn check(&self, case: &str, response: &Response) -> Result<(), String> {
        match *self {
            Expect::Ok if response.status == 200 => Ok(()),
            Expect::Ok => Err(format!("{case}: expected 200, got {} {}", response.status, response.body)),
            Expect::Error(status, code, ref message) => {
                if response.status == status && response.code() == code && response.message().contains(message.as_str())
                {
                    Ok(())
                } else {
                    Err(format!(
                        "{case}: expected {status} {code} {message:?}, got {} {} {:?}",
                        response.status,
                        response.code(),
                        response.message()
                    ))
                }
            }
        }
    }
}

/// Fails with every case that went wrong, not only the first.
#[track_caller]
pub fn report(failures: Vec<String>) {
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// A request a case makes.
#[derive(Debug, Clone)]
pub enum Call {
    /// awsQuery: `service` is `iam` or `sts`.
    Query { service: &'static str, action: String, params: Vec<(String, String)> },
    /// awsJson 1.1: `service` is the signing name (`ecs`, `ecr`, `logs`, `ssm`, `cloudtrail`).
    Json { service: &'static str, operation: String, body: Value },
    /// restJson1: a method, a path and a query string as sent, and a JSON body (or none).
    RestJson { service: &'static str, method: &'static str, path: String, query: String, body: Option<Value> },
}

/// An Access Analyzer call: `method` to `path` with `body`.
pub fn access_analyzer(method: &'static str, path: &str, body: Value) -> Call {
    Call::RestJson { service: "access-analyzer", method, path: path.to_owned(), query: String::new(), body: Some(body) }
}

pub fn iam(action: &str, params: &[(&str, &str)]) -> Call {
    query("iam", action, params)
}

pub fn sts(action: &str, params: &[(&str, &str)]) -> Call {
    query("sts", action, params)
}

fn query(service: &'static str, action: &str, params: &[(&str, &str)]) -> Call {
    let params = params.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
    Call::Query { service, action: action.to_owned(), params }
}

pub fn ecs(operation: &str, body: Value) -> Call {
    Call::Json { service: "ecs", operation: operation.to_owned(), body }
}

pub fn ecr(operation: &str, body: Value) -> Call {
    Call::Json { service: "ecr", operation: operation.to_owned(), body }
}

pub fn logs(operation: &str, body: Value) -> Call {
    Call::Json { service: "logs", operation: operation.to_owned(), body }
}

pub fn ssm(operation: &str, body: Value) -> Call {
    Call::Json { service: "ssm", operation: operation.to_owned(), body }
}

pub fn secretsmanager(operation: &str, body: Value) -> Call {
    Call::Json { service: "secretsmanager", operation: operation.to_owned(), body }
}

pub fn cloudtrail(operation: &str, body: Value) -> Call {
    Call::Json { service: "cloudtrail", operation: operation.to_owned(), body }
}

impl TestServer {
    /// Makes `call` signed with `key`.
    pub fn call(&self, key: &Key, call: &Call) -> Response {
        self.call_as(Some(key), call)
    }

    /// Makes `call` signed with `key`, or unsigned.
    pub fn call_as(&self, key: Option<&Key>, call: &Call) -> Response {
        match call {
            Call::Query { service, action, params } => {
                let version = if *service == "sts" { "2011-06-15" } else { "2010-05-08" };
                let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                self.query(key, service, action, version, &params)
            }
            Call::Json { service, operation, body } => {
                let prefix = match *service {
                    "ecs" => "AmazonEC2ContainerServiceV20141113",
                    "ecr" => "AmazonEC2ContainerRegistry_V20150921",
                    "logs" => "Logs_20140328",
                    "ssm" => "AmazonSSM",
                    "secretsmanager" => "secretsmanager",
                    "cloudtrail" => "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
                    other => panic!("no awsJson target prefix for {other}"),
                };
                self.json_as(key, service, &format!("{prefix}.{operation}"), body)
            }
            Call::RestJson { service, method, path, query, body } => {
                self.rest_json(key, service, method, path, query, body.as_ref())
            }
        }
    }

    /// Runs `cases` in order (later cases may rely on earlier ones) and fails with every case
    /// that went wrong.
    #[track_caller]
    pub fn run(&self, cases: &[Case]) {
        let failures: Vec<String> = cases.iter().filter_map(|case| case.check(self).err()).collect();
        report(failures);
    }
}

/// What a field of a successful answer must be.
#[derive(Debug, Clone)]
pub enum Field {
    /// The first `<tag>` element's text (awsQuery).
    Xml(&'static str, String),
    /// How many `<tag>` elements there are.
    XmlCount(&'static str, usize),
    /// The value at a JSON pointer (awsJson).
    Json(&'static str, Value),
    /// The length of the array at a JSON pointer.
    JsonLen(&'static str, usize),
    /// A text the body contains (for nested XML the first-element reading cannot reach).
    Contains(String),
}

/// One row of a table: who calls, what, and what must come back.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// `None` for an unsigned request.
    pub key: Option<Key>,
    pub call: Call,
    pub expect: Expect,
    pub fields: Vec<Field>,
}

impl Case {
    /// A case expecting a 200.
    pub fn ok(name: &str, key: &Key, call: Call) -> Case {
        Case { name: name.to_owned(), key: Some(key.clone()), call, expect: Expect::Ok, fields: Vec::new() }
    }

    /// A case expecting an error: status, code, and a part of the message.
    pub fn error(
        name: &str,
        key: &Key,
        call: Call,
        status: u16,
        code: &'static str,
        message: impl Into<String>,
    ) -> Case {
        let expect = Expect::Error(status, code, message.into());
        Case { name: name.to_owned(), key: Some(key.clone()), call, expect, fields: Vec::new() }
    }

    /// A case expecting a refusal: 403 with the protocol's code (`AccessDenied` for awsQuery,
    /// `AccessDeniedException` for awsJson) and a message containing `message`.
    pub fn denied(name: &str, key: &Key, call: Call, message: impl Into<String>) -> Case {
        let code = match call {
            Call::Query { .. } => "AccessDenied",
            Call::Json { .. } | Call::RestJson { .. } => "AccessDeniedException",
        };
        Case::error(name, key, call, 403, code, message)
    }

    /// A case that sends the request unsigned, expecting an error.
    pub fn unsigned(name: &str, call: Call, status: u16, code: &'static str, message: impl Into<String>) -> Case {
        let expect = Expect::Error(status, code, message.into());
        Case { name: name.to_owned(), key: None, call, expect, fields: Vec::new() }
    }

    pub fn xml(mut self, tag: &'static str, value: impl Into<String>) -> Case {
        self.fields.push(Field::Xml(tag, value.into()));
        self
    }

    pub fn xml_count(mut self, tag: &'static str, count: usize) -> Case {
        self.fields.push(Field::XmlCount(tag, count));
        self
    }

    pub fn json(mut self, pointer: &'static str, value: impl Into<Value>) -> Case {
        self.fields.push(Field::Json(pointer, value.into()));
        self
    }

    pub fn contains(mut self, text: impl Into<String>) -> Case {
        self.fields.push(Field::Contains(text.into()));
        self
    }

    pub fn json_len(mut self, pointer: &'static str, len: usize) -> Case {
        self.fields.push(Field::JsonLen(pointer, len));
        self
    }

    /// Makes the call and compares; `Err` says what differed.
    pub fn check(&self, server: &TestServer) -> Result<(), String> {
        let response = server.call_as(self.key.as_ref(), &self.call);
        self.expect.check(&self.name, &response)?;
        let value = response.value();
        for field in &self.fields {
            let (wanted, got) = match field {
                Field::Xml(tag, wanted) => (format!("<{tag}> {wanted}"), format!("<{tag}> {}", response.xml(tag))),
                Field::XmlCount(tag, wanted) => {
                    (format!("{wanted} <{tag}>"), format!("{} <{tag}>", response.xml_all(tag).len()))
                }
                Field::Json(pointer, wanted) => (
                    format!("{pointer} = {wanted}"),
                    format!("{pointer} = {}", value.pointer(pointer).unwrap_or(&Value::Null)),
                ),
                Field::JsonLen(pointer, wanted) => {
                    let len = value.pointer(pointer).and_then(Value::as_array).map_or(0, Vec::len);
                    (format!("{wanted} at {pointer}"), format!("{len} at {pointer}"))
                }
                Field::Contains(text) => {
                    let found = if response.body.contains(text.as_str()) { "" } else { "no " };
                    (format!("a body with {text}"), format!("{found}a body with {text}"))
                }
            };
            if wanted != got {
                return Err(format!("{}: expected {wanted}, got {got} in {}", self.name, response.body));
            }
        }
        Ok(())
    }
}
