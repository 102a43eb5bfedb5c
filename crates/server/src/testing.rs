//! What the crate's unit tests share: a migrated store of their own.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use store::Store;

/// The account the model tests store under.
pub(crate) const ACCOUNT: &str = "111122223333";

/// The test account's state in the region the tests' stores default to.
pub(crate) const SCOPE: crate::regions::Scope<'static> =
    crate::regions::Scope { account: ACCOUNT, region: "us-east-1" };

/// A migrated SQLite store in a fresh temporary directory (removed when dropped).
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
    let dir = std::env::temp_dir().join(format!("homeport-model-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir.join("homeport.db").to_string_lossy()).await.unwrap();
    crate::schema::migrate(&store, "us-east-1").await.unwrap();
    TempStore { store, dir }
}
