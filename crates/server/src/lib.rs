//! The Homeport control plane: one SigV4-authenticated endpoint serving the AWS APIs.
//!
//! Request lifecycle (see `pipeline`): decode, SigV4 (key lookup, clock skew), map the
//! operation to its IAM action and resources, decide with the policy engine, record the
//! decision durably, run the operation against the store, encode. An operation cannot be
//! routed without its authorization: the table in `operations` requires it.

mod access_analyzer;
pub mod app;
mod audit;
mod auth;
mod authz;
mod cache;
mod cloudtrail;
mod data_dir;
mod ecr;
mod ecs;
mod errors;
mod http;
mod iam;
mod identity;
pub mod ids;
mod logs;
mod master_key;
pub mod operations;
mod pipeline;
mod principals;
pub mod regions;
mod schema;
mod secretsmanager;
pub mod services;
mod ssm;
mod sts;
mod tags;
#[cfg(test)]
mod testing;
pub mod tls;

/// What the benchmarks (`benches/`) drive directly: the schema, and a Logs Insights run.
#[doc(hidden)]
pub mod bench {
    pub use crate::logs::query_run::run_now as run_logs_insights_query;
    pub use crate::schema::migrate;
}

/// The AWS managed policies, public for the tests that decide with their documents.
pub use iam::model::managed;

use std::future::Future;
use std::sync::Arc;

pub use app::{App, Config, FirstStart};
pub use errors::StartError;

/// Starts the server and serves until `shutdown` completes. `ready` is called with the bound
/// address and what the first start created, once the server accepts connections.
pub async fn run(
    config: Config,
    ready: impl FnOnce(std::net::SocketAddr, &App, Option<&FirstStart>),
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let (mut app, first_start) = App::start(&config).await?;
    services::start(&mut app, &config.data_dir).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|error| StartError(format!("cannot listen on {}: {error}; pick another --listen", config.listen)))?;
    let address = listener.local_addr().map_err(|error| StartError(error.to_string()))?;
    // Port 0 is only known now.
    if config.registry_host.is_none() && config.public_url.is_none() {
        app.registry_host = app::registry_host(address);
    }
    if config.public_url.is_none() {
        app.public_url = app::default_public_url(address, app.scheme);
    }
    let tls = match &app.tls {
        Some(tls) => Some(tls.server_config().map_err(StartError)?),
        None => None,
    };
    ready(address, &app, first_start.as_ref());
    if cfg!(feature = "bench-audit-switch") {
        tracing::warn!("this build was made for benchmarks: HOMEPORT_BENCH_UNAUDITED turns the audit trail off");
    }
    if app.tls.is_none() {
        tracing::warn!("serving plain HTTP (--insecure-http): everything crosses the network in clear");
    }
    if app.audit.is_off() {
        tracing::warn!("HOMEPORT_BENCH_UNAUDITED is set: requests are answered without an audit record");
    }
    let audit = app.audit.clone();
    let app = Arc::new(app);
    tokio::spawn(services::background(Arc::clone(&app)));
    if let Some(certificates) = &app.tls {
        tokio::spawn(Arc::clone(certificates).maintain());
    }
    http::serve(app, &services::ROUTES, audit, listener, tls, shutdown).await;
    tracing::info!("stopped");
    Ok(())
}
