//! `homeport server`: run the control plane.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use server::{App, Config, FirstStart};

use crate::output;

#[derive(Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "HOMEPORT_LISTEN", default_value = "127.0.0.1:7780")]
    listen: SocketAddr,
    /// Directory for the embedded database, the master key and the root credentials.
    #[arg(long, env = "HOMEPORT_DATA_DIR", default_value = "homeport-data")]
    data_dir: PathBuf,
    /// `postgres://USER:PASSWORD@HOST/DB` to keep state in PostgreSQL instead of the embedded SQLite.
    #[arg(long = "store", env = "HOMEPORT_STORE")]
    store_url: Option<String>,
    /// The region the endpoint serves.
    #[arg(long, env = "HOMEPORT_REGION", default_value = "us-east-1")]
    region: String,
    /// The 12-digit account id to create on first start (random if omitted).
    #[arg(long, env = "HOMEPORT_ACCOUNT_ID")]
    account_id: Option<String>,
}

pub fn run(args: ServerArgs) -> ExitCode {
    let config = Config {
        listen: args.listen,
        data_dir: args.data_dir,
        store_url: args.store_url,
        region: args.region,
        account_id: args.account_id,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            output::error_line(&format!("error: cannot start the runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(server::run(config, announce, shutdown_signal()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::error_line(&format!("error: {error}"));
            ExitCode::FAILURE
        }
    }
}

fn announce(address: SocketAddr, app: &App, first_start: Option<&FirstStart>) {
    output::line(&format!(
        "Homeport is listening on http://{address} (region {}, account {}).",
        app.region, app.account_id
    ));
    if let Some(first) = first_start {
        let file = first.credentials_file.display();
        output::line(&format!(
            "\nFirst start: the account's root credentials (access key {}) are in {file}, readable only by you.\n\
             Point the aws CLI or an AWS SDK at Homeport with:\n\n  \
             export AWS_ENDPOINT_URL=http://{address}\n  \
             export AWS_REGION={}\n  \
             export AWS_SHARED_CREDENTIALS_FILE={file}\n  \
             aws sts get-caller-identity\n",
            first.access_key_id, app.region
        ));
    }
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
