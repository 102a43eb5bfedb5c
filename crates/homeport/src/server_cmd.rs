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
    /// `registry_host`, `public_url`); flags and `HOMEPORT_*` variables override it.
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
    /// The region the endpoint serves [default: us-east-1].
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
    /// `HOST:PORT` that Docker reaches the ECR registry at, the start of every repository URI
    /// [default: the listen address, 0.0.0.0 replaced by 127.0.0.1].
    #[arg(long, env = "HOMEPORT_REGISTRY_HOST")]
    registry_host: Option<String>,
    /// `http://HOST:PORT` agents on other machines reach this server at: `/install.sh` tells
    /// them to use it [default: the listen address, 0.0.0.0 replaced by this machine's host
    /// name].
    #[arg(long, env = "HOMEPORT_PUBLIC_URL")]
    public_url: Option<String>,
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
    "registry_host",
    "public_url",
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
    // A duration in seconds: the flag, else the file, else the default; at least 1.
    let seconds = |flag: Option<i64>, key: &str, default: i64| -> Result<i64, String> {
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
    Ok(Config {
        listen,
        data_dir: args
            .data_dir
            .or_else(|| setting("data_dir").map(PathBuf::from))
            .unwrap_or_else(|| "homeport-data".into()),
        store_url: args.store_url.or_else(|| setting("store")),
        region: args.region.or_else(|| setting("region")).unwrap_or_else(|| "us-east-1".to_owned()),
        account_id: args.account_id.or_else(|| setting("account_id")),
        instance_ping_timeout: seconds(args.instance_ping_timeout, "instance_ping_timeout", 120)?,
        instance_disconnect_timeout: seconds(args.instance_disconnect_timeout, "instance_disconnect_timeout", 180)?,
        registry_host: args.registry_host.or_else(|| setting("registry_host")),
        public_url: args
            .public_url
            .or_else(|| setting("public_url"))
            .map(|url| server::app::parse_public_url(&url))
            .transpose()?,
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

fn announce(address: SocketAddr, app: &App, first_start: Option<&FirstStart>, credentials_file: &Path) {
    output::line(&format!(
        "Homeport is listening on http://{address} (region {}, account {}).",
        app.region, app.account_id
    ));
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
    // Both region variables: the aws CLI v1 and older SDKs read only AWS_DEFAULT_REGION, v2
    // and the newer SDKs AWS_REGION first.
    output::line(&format!(
        "\n{opening}\n\
         Point the aws CLI or an AWS SDK at Homeport with:\n\n  \
         export AWS_ENDPOINT_URL=http://{endpoint}\n  \
         export AWS_REGION={region}\n  \
         export AWS_DEFAULT_REGION={region}\n  \
         export AWS_SHARED_CREDENTIALS_FILE={file}\n  \
         aws sts get-caller-identity\n",
        region = app.region,
    ));
    output::line(&agents_note(&app.public_url));
}

/// Where agents are told to reach this server, and what to do when that is not right.
fn agents_note(public_url: &str) -> String {
    let host = public_url.trim_start_matches("http://");
    let local = host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]");
    let advice = if local {
        "That address is local to this machine: for agents on other machines, start with\n\
         --listen 0.0.0.0:PORT --public-url http://ADDRESS:PORT (an address they reach)."
    } else {
        "If agents on other machines cannot reach that address, restart with\n\
         --public-url http://ADDRESS:PORT (an address they reach)."
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
