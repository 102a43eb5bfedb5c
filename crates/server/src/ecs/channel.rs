//! Wake-ups for the agents' long polls: one `Notify` per container instance, signalled when
//! a task placed on it changes. The store stays the truth (a poll re-reads it); a lost
//! wake-up costs at most one poll interval, never a message. Also each cluster's placement
//! lock (one node's placements into a cluster are serialized).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

/// One container instance's channel state.
#[derive(Debug, Default)]
struct Channel {
    notify: Arc<Notify>,
    /// When the instance was last sent a full manifest.
    manifest_sent: Option<Instant>,
}

/// The server's channels (provided at start, in the app's service state).
pub fn channels(app: &crate::app::App) -> Result<&Channels, aws_protocol::AwsError> {
    app.service_state.get()
}

/// Every container instance's channel, created on first use, and each cluster's placement
/// lock.
#[derive(Debug, Default)]
pub struct Channels {
    channels: Mutex<HashMap<String, Channel>>,
    placement: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Container instances' parsed registrations.
    pub(crate) specs: crate::ecs::model::container_instance::SpecCache,
}

impl Channels {
    fn with<T>(&self, instance: &str, f: impl FnOnce(&mut Channel) -> T) -> T {
        let mut channels = match self.channels.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(channels.entry(instance.to_owned()).or_default())
    }

    /// What a poll of `instance` waits on.
    pub fn notifier(&self, instance: &str) -> Arc<Notify> {
        self.with(instance, |channel| channel.notify.clone())
    }

    /// Wakes `instance`'s poll (or the next one, if none is waiting).
    pub fn wake(&self, instance: &str) {
        self.with(instance, |channel| channel.notify.notify_one());
    }

    /// Whether `instance` is due a manifest (first poll, or `every` since the last), and
    /// records that it gets one now.
    pub fn manifest_due(&self, instance: &str, every: std::time::Duration) -> bool {
        self.with(instance, |channel| {
            let due = channel.manifest_sent.is_none_or(|sent| sent.elapsed() >= every);
            if due {
                channel.manifest_sent = Some(Instant::now());
            }
            due
        })
    }

    /// The lock a cluster's placements hold from reading its instances to recording the
    /// tasks placed, so two placements never both spend the same free resources.
    pub fn placement_lock(&self, cluster: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = match self.placement.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        Arc::clone(locks.entry(cluster.to_owned()).or_default())
    }

    /// Forgets that a manifest was sent (the agent re-registered: it starts over).
    pub fn reset(&self, instance: &str) {
        self.with(instance, |channel| channel.manifest_sent = None);
    }
}
