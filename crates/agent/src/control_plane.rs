//! Where the control plane is, and the instance role's credentials as the refresh loop
//! (`crate::run`) publishes them: what every part that calls the control plane on the
//! instance's behalf (the ECS engine, task roles, log shipping, registry pulls) shares.
//!
//! Guarantees: [`current_credentials`] hands out only unexpired credentials, waiting for the
//! refresh loop's next ones rather than signing with stale ones. This module knows nothing of
//! the ECS engine; the engine and its helpers import it, never the other way round.

use tokio::sync::watch;

use crate::credentials::RoleCredentials;
use crate::http::Endpoint;

/// Where the control plane is.
#[derive(Debug, Clone)]
pub struct ControlPlane {
    pub endpoint: Endpoint,
    pub region: String,
}

/// The role credentials as the refresh loop publishes them (`None` while it holds none).
pub type Credentials = watch::Receiver<Option<RoleCredentials>>;

/// Waits for the instance role's unexpired credentials (forever, if the refresh loop has
/// ended: the agent is stopping).
pub async fn current_credentials(credentials: &mut Credentials) -> RoleCredentials {
    loop {
        let held = credentials.borrow_and_update().clone();
        if let Some(held) = held.filter(|c| !c.expired(crate::now())) {
            return held;
        }
        if credentials.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}
