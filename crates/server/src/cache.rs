//! What every request reads and almost no request changes: access keys (with their opened
//! secrets) and the parsed permissions of users and roles, kept in memory.
//!
//! Freshness: every successful write of what it holds (an operation declared
//! `Effect::IamWrite`, an instance's registration) bumps a generation that empties the cache,
//! on this node at once and on every node sharing the store through the store-wide counter
//! `iam_generation`, which the write increments before it is answered. Every request that
//! authenticates first reads that counter ([`IamCache::observe`], one point read) and empties
//! the cache when it moved, so a change made on any replica applies from the next request on
//! every replica. Reads, other services' writes and the agents' traffic leave it valid.
//! Entries also expire after [`TTL`]: the bound for a replica that died between committing a
//! write and moving the counter.

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

/// The store-wide generation: moved by every write of what the cache holds, on any replica.
const READ_STORED: &str = "SELECT value FROM iam_generation WHERE id = 1";
const MOVE_STORED: &str = "UPDATE iam_generation SET value = value + 1 WHERE id = 1";

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
    /// The highest store-wide generation this node has read (it only grows).
    stored: AtomicU64,
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
    /// Forgets everything on this node only (what [`IamCache::invalidate`] and
    /// [`IamCache::observe`] build on).
    fn forget(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Forgets everything, here and on every replica sharing `store`: called after every
    /// successful write of what the cache holds, before it is answered. Here at once; the
    /// other replicas at their next request's [`IamCache::observe`].
    pub async fn invalidate(&self, store: &store::Store) -> Result<(), store::StoreError> {
        self.forget();
        store.execute(MOVE_STORED, vec![]).await?;
        Ok(())
    }

    /// Reads the store-wide generation and forgets everything when another write moved it
    /// since this node last looked: what every authenticated request does before it reads
    /// the cache. A read that fails forgets everything too (what the cache holds can no
    /// longer be vouched for; reading it again from the store will say what is wrong).
    ///
    /// Why a value cached meanwhile is never served stale: it is tagged with the local
    /// generation read before the store was read, and a write elsewhere is committed before
    /// its replica moves the counter, so a request that reads the moved counter forgets every
    /// value read before that write was visible.
    pub async fn observe(&self, store: &store::Store) {
        let stored = match store.query(READ_STORED, vec![]).await {
            Ok(rows) => rows.first().and_then(|row| row.int(0).ok()),
            Err(_) => None,
        };
        match stored.and_then(|value| u64::try_from(value).ok()) {
            Some(value) => {
                if self.stored.fetch_max(value, Ordering::SeqCst) < value {
                    self.forget();
                }
            }
            None => self.forget(),
        }
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
        cache.forget();
        assert!(cache.key("AKIA1").is_none());
        // A value read before the write but stored after it is never served.
        cache.put_key("AKIA1", entry, before);
        assert!(cache.key("AKIA1").is_none());
    }

    fn root_entry() -> KeyEntry {
        KeyEntry {
            account_id: "111122223333".into(),
            principal: Principal::Root,
            secret: "s".into(),
            session: None,
            scope: Arc::default(),
        }
    }

    /// Two caches on one store, as two replicas: a write through one empties the other at its
    /// next `observe`, and only then; observing an unmoved counter keeps what is cached.
    #[tokio::test]
    async fn a_write_on_another_replica_empties_the_cache_at_the_next_observe() {
        let temp = crate::testing::temp_store().await;
        let (here, there) = (IamCache::default(), IamCache::default());
        here.observe(&temp.store).await;
        here.put_key("AKIA1", root_entry(), here.generation());
        here.observe(&temp.store).await;
        assert!(here.key("AKIA1").is_some(), "an unmoved counter keeps the cache");
        there.invalidate(&temp.store).await.unwrap();
        assert!(here.key("AKIA1").is_some(), "a replica learns of a write when it next reads the counter");
        here.observe(&temp.store).await;
        assert!(here.key("AKIA1").is_none(), "the moved counter empties the cache");
        // A value read before that observe, stored after it, is never served.
        let before = here.generation();
        there.invalidate(&temp.store).await.unwrap();
        here.observe(&temp.store).await;
        here.put_key("AKIA1", root_entry(), before);
        assert!(here.key("AKIA1").is_none());
        // This node's own write empties its cache at once, without a read.
        here.put_key("AKIA1", root_entry(), here.generation());
        here.invalidate(&temp.store).await.unwrap();
        assert!(here.key("AKIA1").is_none());
    }
}
