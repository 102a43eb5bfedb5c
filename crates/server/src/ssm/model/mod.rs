//! SSM's domain layer: hybrid activations (their expiry and registration count), the managed
//! instances registered with them (their ping status as an enum, their heartbeat and the key
//! that signs for them) and the tags of both, with the SQL of `activations`,
//! `managed_instances` and their `tags` as functions of the store, never of a request's
//! `Ctx`. The handlers in `ssm/` and the instance protocol decode a request, call these, and
//! encode the answer.
//!
//! Guarantees:
//! - an activation registers at most `registration_limit` instances and none once expired:
//!   the count is spent, and the instance recorded, in one guarded statement of one
//!   transaction, so concurrent registrations cannot overspend it;
//! - a registered instance carries the activation's tags from the moment it exists;
//! - deregistering an instance removes it, every session issued to it and its tags in one
//!   transaction, so its credentials stop working on the next request;
//! - a resource holds at most [`tags::PER_RESOURCE`] tags: the count is checked in the
//!   transaction that adds them;
//! - only an activation's code hash is stored, never the code.

pub(crate) mod activation;
pub(crate) mod instance;
pub(crate) mod tags;

/// Why the model could not answer: the store failed, a failure that is Homeport's, never the
/// caller's (the handlers answer it as SSM's `InternalServerError`, `ssm::errors`).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ModelError(#[from] store::StoreError);

#[cfg(test)]
pub(crate) mod testing {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use store::Store;

    pub(crate) const ACCOUNT: &str = "111122223333";

    /// A migrated SQLite store in a fresh directory (removed on drop).
    pub(crate) struct TempStore {
        pub store: Store,
        dir: std::path::PathBuf,
    }

    impl Drop for TempStore {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    pub(crate) async fn temp_store() -> TempStore {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("homeport-ssm-model-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&dir.join("homeport.db").to_string_lossy()).await.unwrap();
        store.migrate(crate::schema::MIGRATIONS).await.unwrap();
        TempStore { store, dir }
    }
}
