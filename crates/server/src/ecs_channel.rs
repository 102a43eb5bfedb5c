//! Wake-ups for the agents' long polls: one `Notify` per container instance, signalled when
//! a task placed on it changes. The store stays the truth (a poll re-reads it); a lost
//! wake-up costs at most one poll interval, never a message.

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

/// Every container instance's channel, created on first use.
#[derive(Debug, Default)]
pub struct Channels {
    channels: Mutex<HashMap<String, Channel>>,
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

    /// Forgets that a manifest was sent (the agent re-registered: it starts over).
    pub fn reset(&self, instance: &str) {
        self.with(instance, |channel| channel.manifest_sent = None);
    }
}
