//! The tags of SSM resources (the shared `tags` table, `resource_kind` the SSM resource
//! type): statements that set or remove them inside a resource's own transaction, and reads.
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
pub type Tag = (String, String);

/// Statements that set `tags` on a resource (each replacing the key's value, if any).
pub fn set(account: &str, kind: ResourceKind, id: &str, tags: &[Tag]) -> Vec<Statement> {
    set_of_kind(account, kind.as_str(), id, tags)
}

/// [`set`] for a resource kind named by another service (the `tags` table is shared: ECS
/// keeps its own there as `ecs`).
pub fn set_of_kind(account: &str, kind: &str, id: &str, tags: &[Tag]) -> Vec<Statement> {
    tags.iter()
        .flat_map(|(key, value)| {
            [
                Statement::new(
                    "DELETE FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ? AND tag_key_lower = ?",
                    vec![account.into(), kind.into(), id.into(), key.as_str().into()],
                ),
                Statement::new(
                    "INSERT INTO tags (account_id, resource_kind, resource_key, tag_key_lower, tag_key, tag_value) VALUES (?, ?, ?, ?, ?, ?)",
                    vec![account.into(), kind.into(), id.into(), key.as_str().into(), key.as_str().into(), value.as_str().into()],
                ),
            ]
        })
        .collect()
}

/// The statement that removes every tag of a resource (with the resource).
pub fn delete_all(account: &str, kind: ResourceKind, id: &str) -> Statement {
    Statement::new(
        "DELETE FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ?",
        vec![account.into(), kind.as_str().into(), id.into()],
    )
}

/// Removes the tags of `keys` from a resource, in one transaction.
pub async fn remove(
    store: &Store,
    account: &str,
    kind: ResourceKind,
    id: &str,
    keys: &[&str],
) -> Result<(), ModelError> {
    let statements = keys
        .iter()
        .map(|key| {
            Statement::new(
                "DELETE FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ? AND tag_key_lower = ?",
                vec![account.into(), kind.as_str().into(), id.into(), (*key).into()],
            )
        })
        .collect();
    store.transaction(statements).await?;
    Ok(())
}

/// A resource's tags, sorted by key.
pub async fn of(store: &Store, account: &str, kind: ResourceKind, id: &str) -> Result<Vec<Tag>, ModelError> {
    of_kind(store, account, kind.as_str(), id).await
}

/// [`of`] for a resource kind named by another service (see [`set_of_kind`]).
pub async fn of_kind(store: &Store, account: &str, kind: &str, id: &str) -> Result<Vec<Tag>, ModelError> {
    let rows = store
        .query(
            "SELECT tag_key, tag_value FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ? ORDER BY tag_key",
            vec![account.into(), kind.into(), id.into()],
        )
        .await?;
    rows.iter().map(|row| Ok((row.text(0)?, row.text(1)?))).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::testing::{ACCOUNT, temp_store};

    fn tag(key: &str, value: &str) -> Tag {
        (key.to_owned(), value.to_owned())
    }

    #[tokio::test]
    async fn a_key_is_one_tag_per_resource_and_kinds_do_not_mix() {
        let temp = temp_store().await;
        let store = &temp.store;
        let id = "mi-0123456789abcdef0";
        let kind = ResourceKind::ManagedInstance;
        store.transaction(set(ACCOUNT, kind, id, &[tag("team", "a"), tag("env", "dev")])).await.unwrap();
        store.transaction(set(ACCOUNT, kind, id, &[tag("team", "b")])).await.unwrap();
        assert_eq!(
            of(store, ACCOUNT, kind, id).await.unwrap(),
            [tag("env", "dev"), tag("team", "b")],
            "sorted, replaced"
        );
        assert!(of(store, ACCOUNT, ResourceKind::Activation, id).await.unwrap().is_empty());
        assert!(of(store, "444455556666", kind, id).await.unwrap().is_empty());

        remove(store, ACCOUNT, kind, id, &["env", "absent"]).await.unwrap();
        assert_eq!(of(store, ACCOUNT, kind, id).await.unwrap(), [tag("team", "b")]);
        store.transaction(vec![delete_all(ACCOUNT, kind, id)]).await.unwrap();
        assert!(of(store, ACCOUNT, kind, id).await.unwrap().is_empty());
    }
}
