//! What every request reads and almost no request changes: access keys (with their opened
//! secrets) and the parsed permissions of users and roles, kept in memory.
//!
//! Freshness: every successful write of what it holds (an operation declared
//! `Effect::IamWrite`, an instance's registration) bumps a generation that empties the cache,
//! so on one node a change applies from the very next request; reads, other services' writes
//! and the agents' traffic leave it valid. Entries also expire after [`TTL`], which bounds how
//! long another replica sharing a PostgreSQL store may act on a revoked key or a replaced
//! policy (IAM itself is eventually consistent for seconds).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::iam::model::permissions::Permissions;
use crate::identity::{Principal, SessionScope};

/// How long an entry may be used without being read again from the store.
pub const TTL: Duration = Duration::from_secs(2);

/// Entries kept before the cache starts over.
const CAPACITY: usize = 65_536;

/// An access key as authentication needs it.
#[derive(Clone)]
pub struct KeyEntry {
    pub account_id: String,
    pub principal: Principal,
    pub secret: String,
    /// Set for temporary credentials: the session token must come along.
    pub session: Option<Session>,
    /// What a role session was scoped to when it was made.
    pub scope: Arc<SessionScope>,
}

/// What temporary credentials carry beyond a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 hex of the session token: the token itself is never stored.
    pub token_hash: String,
    pub issued_at: i64,
    pub expires_at: i64,
    /// What they were issued to.
    pub kind: crate::identity::SessionKind,
    /// When the MFA code they were issued with was authenticated (`None`: issued without).
    pub mfa_at: Option<i64>,
    /// The source identity they were issued with.
    pub source_identity: Option<String>,
}

/// What authorizes a user or a role, as the IAM model gathers it, shared by every request
/// that reads it from the cache.
pub type Policies = Arc<Permissions>;

struct Slot<T> {
    value: T,
    generation: u64,
    stored: Instant,
}

/// The in-memory cache of keys and policies.
#[derive(Default)]
pub struct IamCache {
    generation: AtomicU64,
    keys: Mutex<HashMap<String, Slot<KeyEntry>>>,
    policies: Mutex<HashMap<String, Slot<Policies>>>,
}

impl std::fmt::Debug for IamCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IamCache(..)")
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl IamCache {
    /// Forgets everything: called after every successful write of what the cache holds.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn fresh<T: Clone>(&self, map: &Mutex<HashMap<String, Slot<T>>>, key: &str) -> Option<T> {
        let generation = self.generation.load(Ordering::SeqCst);
        let map = lock(map);
        let slot = map.get(key)?;
        (slot.generation == generation && slot.stored.elapsed() < TTL).then(|| slot.value.clone())
    }

    fn store<T>(&self, map: &Mutex<HashMap<String, Slot<T>>>, key: String, value: T, generation: u64) {
        let mut map = lock(map);
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, Slot { value, generation, stored: Instant::now() });
    }

    /// The generation to tag a value read from the store now; pass it to the `put_*` call so
    /// a write that lands in between makes the value stale at once.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn key(&self, access_key_id: &str) -> Option<KeyEntry> {
        self.fresh(&self.keys, access_key_id)
    }

    pub fn put_key(&self, access_key_id: &str, entry: KeyEntry, generation: u64) {
        self.store(&self.keys, access_key_id.to_owned(), entry, generation);
    }

    pub fn policies(&self, principal_key: &str) -> Option<Policies> {
        self.fresh(&self.policies, principal_key)
    }

    pub fn put_policies(&self, principal_key: &str, policies: Policies, generation: u64) {
        self.store(&self.policies, principal_key.to_owned(), policies, generation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_in_between_makes_a_read_stale() {
        let cache = IamCache::default();
        let entry = KeyEntry {
            account_id: "111122223333".into(),
            principal: Principal::Root,
            secret: "s".into(),
            session: None,
            scope: Arc::default(),
        };
        let before = cache.generation();
        cache.put_key("AKIA1", entry.clone(), before);
        assert!(cache.key("AKIA1").is_some());
        cache.invalidate();
        assert!(cache.key("AKIA1").is_none());
        // A value read before the write but stored after it is never served.
        cache.put_key("AKIA1", entry, before);
        assert!(cache.key("AKIA1").is_none());
    }
}
