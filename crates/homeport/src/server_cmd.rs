//! `homeport server`: run the control plane.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use server::{App, Config, FirstStart};

use crate::output;

#[derive(Args)]
pub struct ServerArgs {
    /// A config file of `key = value` lines (`listen`, `data_dir`, `store`, `region`,
    /// `account_id`, `instance_ping_timeout`, `instance_disconnect_timeout`,
    /// `access_advisor_days`, `policy_generations_per_day`, `policy_generation_days`, `registry_host`, `public_url`, `insecure_http`, `tls_san`,
    /// `tls_cert`, `tls_key`);
    /// flags and `HOMEPORT_*` variables override it.
    #[arg(long, env = "HOMEPORT_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7780].
    #[arg(long, env = "HOMEPORT_LISTEN")]
    listen: Option<SocketAddr>,
    /// Directory for the embedded database, the master key and the root credentials
    /// [default: homeport-data].
    #[arg(long, env = "HOMEPORT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// `postgres://USER:PASSWORD@HOST/DB` to keep state in PostgreSQL instead of the embedded SQLite.
    #[arg(long = "store", env = "HOMEPORT_STORE")]
    store_url: Option<String>,
    /// The default region shown to users and given to what predates regions [default:
    /// us-east-1]; every region a client signs for is served.
    #[arg(long, env = "HOMEPORT_REGION")]
    region: Option<String>,
    /// The 12-digit account id to create on first start (random if omitted).
    #[arg(long, env = "HOMEPORT_ACCOUNT_ID")]
    account_id: Option<String>,
    /// Seconds without a heartbeat before a managed instance shows `ConnectionLost`
    /// [default: 120; agents heartbeat every 30 s].
    #[arg(long, env = "HOMEPORT_INSTANCE_PING_TIMEOUT")]
    instance_ping_timeout: Option<i64>,
    /// Seconds without a poll before a container instance's service tasks are replaced
    /// elsewhere [default: 180].
    #[arg(long, env = "HOMEPORT_INSTANCE_DISCONNECT_TIMEOUT")]
    instance_disconnect_timeout: Option<i64>,
    /// Days of recorded use IAM's access advisor reports (its tracking period), after which
    /// the use is forgotten [default: 400, as on AWS].
    #[arg(long, env = "HOMEPORT_ACCESS_ADVISOR_DAYS", value_name = "DAYS")]
    access_advisor_days: Option<i64>,
    /// Policy generations (Access Analyzer) an account may start in a day [default: 50, as on
    /// AWS].
    #[arg(long, env = "HOMEPORT_POLICY_GENERATIONS_PER_DAY", value_name = "COUNT")]
    policy_generations_per_day: Option<i64>,
    /// The most days of the audit trail one policy generation reads [default: 90, as on AWS].
    #[arg(long, env = "HOMEPORT_POLICY_GENERATION_DAYS", value_name = "DAYS")]
    policy_generation_days: Option<i64>,
    /// `HOST:PORT` that Docker reaches the ECR registry at, the start of every repository URI
    /// [default: the --public-url's HOST:PORT if given, else the listen address, 0.0.0.0
    /// replaced by 127.0.0.1].
    #[arg(long, env = "HOMEPORT_REGISTRY_HOST")]
    registry_host: Option<String>,
    /// `https://HOST:PORT` agents on other machines reach this server at: `/install.sh` tells
    /// them to use it, and its host is in the serving certificate [default: the listen
    /// address, 0.0.0.0 replaced by this machine's host name].
    #[arg(long, env = "HOMEPORT_PUBLIC_URL")]
    public_url: Option<String>,
    /// Serve plain HTTP instead of HTTPS. Activation codes, credentials and images then cross
    /// the network in clear: only for a trusted loopback or lab network.
    #[arg(long, env = "HOMEPORT_INSECURE_HTTP", value_parser = clap::builder::BoolishValueParser::new())]
    insecure_http: bool,
    /// A DNS name or IP address clients reach this server by, added to the serving
    /// certificate (repeatable, or comma-separated) besides the host name, localhost, the
    /// loopback and listen addresses, the public URL's host and the registry host.
    #[arg(long = "tls-san", env = "HOMEPORT_TLS_SAN", value_name = "NAME", value_delimiter = ',')]
    tls_san: Vec<String>,
    /// Serve this certificate chain (PEM, the server's certificate first) instead of one of
    /// Homeport's own CA; read again when the file changes or on SIGHUP. Needs --tls-key.
    #[arg(long, env = "HOMEPORT_TLS_CERT", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "HOMEPORT_TLS_KEY", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Seconds a serving certificate of Homeport's CA is valid (renewed when a third is left)
    /// [default: 90 days]. For tests.
    #[arg(long, env = "HOMEPORT_TLS_CERT_LIFETIME", value_name = "SECONDS", hide = true)]
    tls_cert_lifetime: Option<u64>,
}

/// The settings a config file may hold.
const SETTINGS: &[&str] = &[
    "listen",
    "data_dir",
    "store",
    "region",
    "account_id",
    "instance_ping_timeout",
    "instance_disconnect_timeout",
    "access_advisor_days",
    "policy_generations_per_day",
    "policy_generation_days",
    "registry_host",
    "public_url",
    "insecure_http",
    "tls_san",
    "tls_cert",
    "tls_key",
    "tls_cert_lifetime",
];

/// The settings of a config file: `key = value` lines, `#` comments, optional quotes.
fn read_config(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let mut settings = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("{}:{}: expected `key = value`", path.display(), number + 1));
        };
        let key = key.trim().replace('-', "_");
        if !SETTINGS.contains(&key.as_str()) {
            return Err(format!(
                "{}:{}: unknown setting `{key}` (known: {})",
                path.display(),
                number + 1,
                SETTINGS.join(", ")
            ));
        }
        settings.push((key, value.trim().trim_matches('"').to_owned()));
    }
    Ok(settings)
}

/// Flags and variables first, then the config file, then the defaults.
fn resolve(args: ServerArgs) -> Result<Config, String> {
    let file = match &args.config {
        Some(path) => read_config(path)?,
        None => Vec::new(),
    };
    let setting = |key: &str| file.iter().rev().find(|(name, _)| name == key).map(|(_, value)| value.clone());
    // A duration (in seconds, or days): the flag, else the file, else the default; at least 1.
    let duration = |flag: Option<i64>, key: &str, default: i64| -> Result<i64, String> {
        let from_file =
            setting(key).map(|text| text.parse::<i64>().map_err(|error| format!("{key}: {error}"))).transpose()?;
        Ok(flag.or(from_file).unwrap_or(default).max(1))
    };
    let listen = match args.listen {
        Some(listen) => listen,
        None => setting("listen")
            .unwrap_or_else(|| "127.0.0.1:7780".to_owned())
            .parse()
            .map_err(|error| format!("listen: {error}"))?,
    };
    let insecure_http = args.insecure_http
        || match setting("insecure_http").as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("false" | "no" | "off" | "0" | "") => false,
            Some("true" | "yes" | "on" | "1") => true,
            Some(other) => return Err(format!("insecure_http: `{other}` is not true or false")),
        };
    let tls_san = if args.tls_san.is_empty() { setting("tls_san").into_iter().collect() } else { args.tls_san };
    let tls_cert = args.tls_cert.or_else(|| setting("tls_cert").map(PathBuf::from));
    let tls_key = args.tls_key.or_else(|| setting("tls_key").map(PathBuf::from));
    let tls_cert = match (tls_cert, tls_key) {
        (None, None) => None,
        (Some(_), _) | (_, Some(_)) if insecure_http => {
            return Err("--tls-cert and --tls-key serve HTTPS: drop them or drop --insecure-http".to_owned());
        }
        (Some(_), Some(_)) if !tls_san.is_empty() => {
            return Err(
                "--tls-san names go into Homeport's own certificate: with --tls-cert, put them in yours".to_owned()
            );
        }
        (Some(cert), Some(key)) => Some((cert, key)),
        (Some(_), None) => return Err("--tls-cert needs --tls-key (the certificate's private key)".to_owned()),
        (None, Some(_)) => return Err("--tls-key needs --tls-cert (the certificate chain)".to_owned()),
    };
    let lifetime_from_file = setting("tls_cert_lifetime")
        .map(|text| text.parse::<u64>().map_err(|error| format!("tls_cert_lifetime: {error}")))
        .transpose()?;
    let tls_cert_lifetime = match args.tls_cert_lifetime.or(lifetime_from_file) {
        Some(seconds) => std::time::Duration::from_secs(seconds.max(3)),
        None => server::tls::DEFAULT_LIFETIME,
    };
    Ok(Config {
        listen,
        data_dir: args
            .data_dir
            .or_else(|| setting("data_dir").map(PathBuf::from))
            .unwrap_or_else(|| "homeport-data".into()),
        store_url: args.store_url.or_else(|| setting("store")),
        region: args.region.or_else(|| setting("region")).unwrap_or_else(|| "us-east-1".to_owned()),
        account_id: args.account_id.or_else(|| setting("account_id")),
        instance_ping_timeout: duration(args.instance_ping_timeout, "instance_ping_timeout", 120)?,
        instance_disconnect_timeout: duration(args.instance_disconnect_timeout, "instance_disconnect_timeout", 180)?,
        access_advisor_days: duration(args.access_advisor_days, "access_advisor_days", 400)?,
        policy_generations_per_day: duration(args.policy_generations_per_day, "policy_generations_per_day", 50)?,
        policy_generation_days: duration(args.policy_generation_days, "policy_generation_days", 90)?,
        registry_host: args.registry_host.or_else(|| setting("registry_host")),
        public_url: args
            .public_url
            .or_else(|| setting("public_url"))
            .map(|url| server::app::parse_public_url(&url, insecure_http))
            .transpose()?,
        insecure_http,
        tls_sans: tls_san,
        tls_cert,
        tls_cert_lifetime,
    })
}

pub fn run(args: ServerArgs) -> ExitCode {
    let config = match resolve(args) {
        Ok(config) => config,
        Err(message) => {
            output::error_line(&format!("error: {message}"));
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            output::error_line(&format!("error: cannot start the runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    install_log();
    let credentials_file = absolute(&config.data_dir.join("root-credentials"));
    let ready = move |address: SocketAddr, app: &App, first_start: Option<&FirstStart>| {
        announce(address, app, first_start, &credentials_file);
    };
    let result = runtime.block_on(server::run(config, ready, shutdown_signal()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::error_line(&format!("error: {error}"));
            ExitCode::FAILURE
        }
    }
}

/// The server's log: one line per event on standard error, `TIME LEVEL [request{id=..}:] TEXT`,
/// the time in UTC to the second. Events at INFO and above; `HOMEPORT_LOG` (a tracing filter
/// level such as `debug` or `warn`) changes the threshold.
fn install_log() {
    let level = std::env::var("HOMEPORT_LOG")
        .ok()
        .and_then(|level| level.parse::<tracing_subscriber::filter::LevelFilter>().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    // Another subscriber already installed (none is, in the binary) keeps its place.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_timer(UtcSeconds)
        .with_target(false)
        .with_max_level(level)
        .try_init();
}

/// The log's timestamps: ISO 8601 in UTC, as the audit trail writes them.
struct UtcSeconds;

impl tracing_subscriber::fmt::time::FormatTime for UtcSeconds {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        w.write_str(&server::ids::iso8601(server::ids::now()))
    }
}

fn announce(address: SocketAddr, app: &App, first_start: Option<&FirstStart>, credentials_file: &Path) {
    output::line(&format!(
        "Homeport is listening on {}://{address} (region {}, account {}).",
        app.scheme, app.region, app.account_id
    ));
    if app.tls.is_none() {
        output::line(
            "\nWARNING: --insecure-http: this server speaks plain HTTP. Activation codes, credentials and\n\
             images cross the network in clear, readable and changeable by anyone on the path. Use it\n\
             only on a trusted loopback or lab network; drop --insecure-http to serve HTTPS.",
        );
    }
    // Where a client on this machine reaches the listener: a wildcard address is no place
    // to connect to.
    let endpoint = match address.ip() {
        ip if ip.is_unspecified() && address.is_ipv4() => SocketAddr::from(([127, 0, 0, 1], address.port())),
        ip if ip.is_unspecified() => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, address.port())),
        _ => address,
    };
    let file = credentials_file.display();
    let opening = match first_start {
        Some(first) => format!(
            "First start: the account's root credentials (access key {}) are in {file}, readable only by you.",
            first.access_key_id
        ),
        None => format!("The account's root credentials are in {file}."),
    };
    let trust = app.tls.as_ref().map(|tls| (absolute(&tls.ca_file()), tls.trust().fingerprint.clone()));
    let ca_bundle = match &trust {
        Some((ca_file, _)) => format!("  export AWS_CA_BUNDLE={}\n", ca_file.display()),
        None => String::new(),
    };
    // Both region variables: the aws CLI v1 and older SDKs read only AWS_DEFAULT_REGION, v2
    // and the newer SDKs AWS_REGION first.
    output::line(&format!(
        "\n{opening}\n\
         Point the aws CLI or an AWS SDK at Homeport with:\n\n  \
         export AWS_ENDPOINT_URL={scheme}://{endpoint}\n\
         {ca_bundle}  \
         export AWS_REGION={region}\n  \
         export AWS_DEFAULT_REGION={region}\n  \
         export AWS_SHARED_CREDENTIALS_FILE={file}\n  \
         aws sts get-caller-identity\n",
        scheme = app.scheme,
        region = app.region,
    ));
    if let Some((ca_file, fingerprint)) = &trust {
        output::line(&format!("CA certificate: {}\nCA fingerprint (SHA-256): {fingerprint}\n", ca_file.display()));
    }
    output::line(&install_command(&app.public_url, trust.as_ref().map(|(_, fingerprint)| fingerprint.as_str())));
    output::line(&agents_note(&app.public_url));
}

/// The commands that install an agent on a node, the CA checked against `fingerprint` before
/// anything is downloaded over TLS (plain HTTP without one).
fn install_command(public_url: &str, fingerprint: Option<&str>) -> String {
    let options = "--activation-id ID --activation-code-file CODE-FILE --cluster NAME";
    let commands = match fingerprint {
        Some(fingerprint) => format!(
            "  curl -fsSLk {public_url}/cacerts -o homeport-ca.pem\n  \
             echo \"{fingerprint}  homeport-ca.pem\" | sha256sum -c -\n  \
             curl -fsSL --cacert homeport-ca.pem {public_url}/install.sh | sudo bash -s -- --ca-sha256 {fingerprint} {options}"
        ),
        None => format!("  curl -fsSL {public_url}/install.sh | sudo bash -s -- {options}"),
    };
    format!(
        "Install an agent on a node with an activation (aws ssm create-activation --iam-role ROLE: its id\n\
         for ID, its code in the file CODE-FILE) and the ECS cluster it joins:\n\n{commands}\n"
    )
}

/// Where agents are told to reach this server, and what to do when that is not right.
fn agents_note(public_url: &str) -> String {
    let (scheme, host) = public_url.split_once("://").unwrap_or(("https", public_url));
    let local = host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]");
    let advice = if local {
        format!(
            "That address is local to this machine: for agents on other machines, start with\n\
             --listen 0.0.0.0:PORT --public-url {scheme}://ADDRESS:PORT (an address they reach)."
        )
    } else {
        format!(
            "If agents on other machines cannot reach that address, restart with\n\
             --public-url {scheme}://ADDRESS:PORT (an address they reach)."
        )
    };
    format!("Agents install from {public_url}/install.sh, which points them at {public_url}.\n{advice}\n")
}

/// `path` made absolute against the working directory, so printed paths survive a `cd`.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        server: ServerArgs,
    }

    /// The configuration `homeport server ARGS` (with this config file's text) resolves to.
    fn resolved(args: &[&str], file: Option<&str>) -> Result<Config, String> {
        static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let number = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("homeport-config-{}-{number}", std::process::id()));
        let mut all = vec!["server"];
        all.extend_from_slice(args);
        let config_flag;
        if let Some(text) = file {
            std::fs::write(&path, text).unwrap();
            config_flag = path.to_string_lossy().into_owned();
            all.extend(["--config", &config_flag]);
        }
        let cli = Cli::try_parse_from(all).map_err(|error| error.to_string())?;
        let outcome = resolve(cli.server);
        let _ = std::fs::remove_file(&path);
        outcome
    }

    #[test]
    fn tls_settings_come_from_flags_or_the_config_file_and_must_go_together() {
        let config = resolved(&[], None).unwrap();
        assert!(!config.insecure_http && config.tls_cert.is_none() && config.tls_sans.is_empty());
        assert_eq!(config.tls_cert_lifetime, server::tls::DEFAULT_LIFETIME);
        assert_eq!(config.scheme(), "https");

        let config =
            resolved(&["--tls-san", "a.example,192.0.2.7", "--tls-san", "b", "--tls-cert-lifetime", "20"], None)
                .unwrap();
        assert_eq!(config.tls_sans, ["a.example", "192.0.2.7", "b"]);
        assert_eq!(config.tls_cert_lifetime, std::time::Duration::from_secs(20));

        let file = "insecure_http = true\npublic_url = http://cp.example:7780\ntls_san = a.example, b\n";
        let config = resolved(&[], Some(file)).unwrap();
        assert!(config.insecure_http);
        assert_eq!((config.scheme(), config.public_url.as_deref()), ("http", Some("http://cp.example:7780")));
        assert_eq!(config.tls_sans, ["a.example, b"], "split into names when the certificate is made");

        let file = "tls_cert = /etc/homeport/chain.pem\ntls_key = /etc/homeport/key.pem\n";
        let config = resolved(&[], Some(file)).unwrap();
        assert_eq!(config.tls_cert, Some(("/etc/homeport/chain.pem".into(), "/etc/homeport/key.pem".into())));

        for (args, file, refusal) in [
            (&["--public-url", "http://cp.example"][..], None, "--insecure-http"),
            (&["--tls-cert", "c.pem"], None, "--tls-cert needs --tls-key"),
            (&["--tls-key", "k.pem"], None, "--tls-key needs --tls-cert"),
            (&["--tls-cert", "c.pem", "--tls-key", "k.pem", "--insecure-http"], None, "drop --insecure-http"),
            (&["--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-san", "a"], None, "put them in yours"),
            (&[], Some("insecure_http = maybe\n"), "`maybe` is not true or false"),
        ] {
            let error = resolved(args, file).unwrap_err();
            assert!(error.contains(refusal), "{args:?} {file:?}: {error}");
        }
    }

    #[test]
    fn the_access_advisor_period_is_400_days_unless_set() {
        assert_eq!(resolved(&[], None).unwrap().access_advisor_days, 400);
        assert_eq!(resolved(&["--access-advisor-days", "30"], None).unwrap().access_advisor_days, 30);
        assert_eq!(resolved(&[], Some("access_advisor_days = 90\n")).unwrap().access_advisor_days, 90);
        assert_eq!(resolved(&["--access-advisor-days", "0"], None).unwrap().access_advisor_days, 1, "at least a day");
        let error = resolved(&[], Some("access_advisor_days = soon\n")).unwrap_err();
        assert!(error.contains("access_advisor_days"), "{error}");
    }

    #[test]
    fn the_install_command_checks_the_ca_before_anything_runs() {
        let fingerprint = "ab".repeat(32);
        let text = install_command("https://cp.example:7780", Some(&fingerprint));
        let commands: Vec<&str> = text.lines().filter(|line| line.starts_with("  ")).map(str::trim).collect();
        assert_eq!(
            commands,
            [
                "curl -fsSLk https://cp.example:7780/cacerts -o homeport-ca.pem".to_owned(),
                format!("echo \"{fingerprint}  homeport-ca.pem\" | sha256sum -c -"),
                format!(
                    "curl -fsSL --cacert homeport-ca.pem https://cp.example:7780/install.sh | sudo bash -s -- \
                     --ca-sha256 {fingerprint} --activation-id ID --activation-code-file CODE-FILE --cluster NAME"
                ),
            ]
        );
        let plain = install_command("http://cp.example:7780", None);
        assert!(plain.contains(
            "  curl -fsSL http://cp.example:7780/install.sh | sudo bash -s -- --activation-id ID \
             --activation-code-file CODE-FILE --cluster NAME\n"
        ));
        assert!(!plain.contains("cacert"));
    }
}
