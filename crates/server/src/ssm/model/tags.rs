//! The tags of SSM resources (the shared `tags` table, [`crate::tags`], `resource_kind` the
//! SSM resource type): statements that set or remove them inside a resource's own
//! transaction, and reads.
//!
//! Guarantees: a key is one tag per resource, compared as SSM stores it (setting a key again
//! replaces its value); tags are read sorted by key.

use store::{Statement, Store};

use crate::ssm::model::ModelError;

/// Tags one SSM resource may carry (SSM's quota for most resources).
pub const PER_RESOURCE: i64 = 50;

/// The SSM resource types that carry tags here, as SSM names them (and `tags` stores them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Activation,
    ManagedInstance,
}

impl ResourceKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Activation => "Activation",
            ResourceKind::ManagedInstance => "ManagedInstance",
        }
    }
}

/// A tag: its key and value.
pub type Tag = crate::tags::Tag;

/// Statements that set `tags` on a resource (each replacing the key's value, if any).
pub fn set(account: &str, kind: ResourceKind, id: &str, tags: &[Tag]) -> Vec<Statement> {
    crate::tags::set(account, kind.as_str(), id, tags)
}

/// The statement that removes every tag of a resource (with the resource).
pub fn delete_all(account: &str, kind: ResourceKind, id: &str) -> Statement {
    crate::tags::delete_all(account, kind.as_str(), id)
}

/// Removes the tags of `keys` from a resource, in one transaction.
pub async fn remove(
    store: &Store,
    account: &str,
    kind: ResourceKind,
    id: &str,
    keys: &[&str],
) -> Result<(), ModelError> {
    store.transaction(crate::tags::remove(account, kind.as_str(), id, keys)).await?;
    Ok(())
}

/// A resource's tags, sorted by key.
pub async fn of(store: &Store, account: &str, kind: ResourceKind, id: &str) -> Result<Vec<Tag>, ModelError> {
    Ok(crate::tags::of(store, account, kind.as_str(), id).await?)
}
