//! The shared `tags` table of ECS, CloudWatch Logs and SSM resources: one row per tag, keyed
//! by account, the service's resource kind (`ecs`, `logs`, or the SSM resource type) and the
//! resource's key (its ARN, or SSM's id). Each service checks its own keys, values and quotas;
//! this module only writes and reads rows, as statements the services put inside their
//! resources' own transactions. (IAM keeps its tags in the same table with its own rules:
//! keys compared case-insensitively, `iam::model::tags`.)
//!
//! Guarantees: a key is one tag per resource, compared exactly (setting it again replaces
//! its value); a resource's tags are read sorted by key; kinds and accounts never mix.

use store::{Statement, Store, StoreError};

/// A tag: its key and value.
pub type Tag = (String, String);

/// The SQL expression that counts a resource's tags, with three parameters: the account, the
/// kind and the resource's key (for a quota checked in the transaction that adds them).
pub const COUNT: &str = "(SELECT COUNT(*) FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ?)";

/// Statements that set `tags` on a resource (each replacing the key's value, if any).
pub fn set(account: &str, kind: &str, key: &str, tags: &[Tag]) -> Vec<Statement> {
    tags.iter()
        .flat_map(|(tag_key, value)| {
            [
                remove_one(account, kind, key, tag_key),
                Statement::new(
                    "INSERT INTO tags (account_id, resource_kind, resource_key, tag_key_lower, tag_key, tag_value) VALUES (?, ?, ?, ?, ?, ?)",
                    vec![account.into(), kind.into(), key.into(), tag_key.as_str().into(), tag_key.as_str().into(), value.as_str().into()],
                ),
            ]
        })
        .collect()
}

fn remove_one(account: &str, kind: &str, key: &str, tag_key: &str) -> Statement {
    Statement::new(
        "DELETE FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ? AND tag_key_lower = ?",
        vec![account.into(), kind.into(), key.into(), tag_key.into()],
    )
}

/// Statements that remove the tags of `tag_keys` from a resource (a key it lacks is no error).
pub fn remove(account: &str, kind: &str, key: &str, tag_keys: &[&str]) -> Vec<Statement> {
    tag_keys.iter().map(|tag_key| remove_one(account, kind, key, tag_key)).collect()
}

/// The statement that removes every tag of a resource (with the resource).
pub fn delete_all(account: &str, kind: &str, key: &str) -> Statement {
    Statement::new(
        "DELETE FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ?",
        vec![account.into(), kind.into(), key.into()],
    )
}

/// A resource's tags, sorted by key.
pub async fn of(store: &Store, account: &str, kind: &str, key: &str) -> Result<Vec<Tag>, StoreError> {
    let rows = store
        .query(
            "SELECT tag_key, tag_value FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ? ORDER BY tag_key",
            vec![account.into(), kind.into(), key.into()],
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
        let (kind, id) = ("ManagedInstance", "mi-0123456789abcdef0");
        store.transaction(set(ACCOUNT, kind, id, &[tag("team", "a"), tag("env", "dev")])).await.unwrap();
        store.transaction(set(ACCOUNT, kind, id, &[tag("team", "b"), tag("Team", "c")])).await.unwrap();
        assert_eq!(
            of(store, ACCOUNT, kind, id).await.unwrap(),
            [tag("Team", "c"), tag("env", "dev"), tag("team", "b")],
            "sorted, replaced, compared exactly"
        );
        assert!(of(store, ACCOUNT, "Activation", id).await.unwrap().is_empty());
        assert!(of(store, "444455556666", kind, id).await.unwrap().is_empty());

        store.transaction(remove(ACCOUNT, kind, id, &["env", "absent", "Team"])).await.unwrap();
        assert_eq!(of(store, ACCOUNT, kind, id).await.unwrap(), [tag("team", "b")]);
        store.transaction(vec![delete_all(ACCOUNT, kind, id)]).await.unwrap();
        assert!(of(store, ACCOUNT, kind, id).await.unwrap().is_empty());
    }
}
