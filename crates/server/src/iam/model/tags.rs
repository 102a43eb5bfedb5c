//! Tags on users, roles, instance profiles, customer managed policies and server certificates:
//! every statement on `tags`.
//!
//! Guarantees: keys are unique case-insensitively (the case given first is kept, a later
//! value replaces the earlier one) and at most [`PER_RESOURCE`] sit on one resource; the
//! count is checked in the transaction that writes, so concurrent Tag calls cannot pass it
//! together.

use store::{Statement, Store, Value};

use super::Error;
use super::entities::Kind;

/// Tags per resource (IAM's quota).
pub(crate) const PER_RESOURCE: usize = 50;

/// One tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    pub key: String,
    pub value: String,
}

/// What carries tags, as the `tags` table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tagged {
    Entity(Kind),
    Policy,
    /// A virtual MFA device, by its lowercase serial number.
    MfaDevice,
    ServerCertificate,
    /// An OpenID Connect provider, keyed by its ARN.
    OidcProvider,
    /// A SAML provider, keyed by its ARN.
    SamlProvider,
}

impl Tagged {
    fn noun(self) -> &'static str {
        match self {
            Tagged::Entity(kind) => kind.noun(),
            Tagged::Policy => "policy",
            Tagged::MfaDevice => "mfa",
            Tagged::ServerCertificate => "server-certificate",
            Tagged::OidcProvider => "oidc-provider",
            Tagged::SamlProvider => "saml-provider",
        }
    }

    /// The statement that changes its owner's row only while the owner exists and holds at
    /// most [`PER_RESOURCE`] tags: the guard closing a tagging transaction.
    fn guard(self, account: &str, key: &str) -> Statement {
        let count = "(SELECT COUNT(*) FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ?)";
        let limit = Value::Int(i64::try_from(PER_RESOURCE).unwrap_or(i64::MAX));
        let counted = [account.into(), self.noun().into(), key.into(), limit];
        match self {
            Tagged::Entity(kind) => Statement::guard(
                format!(
                    "UPDATE {} SET name = name WHERE account_id = ? AND name_key = ? AND {count} <= ?",
                    kind.table()
                ),
                [account.into(), key.into()].into_iter().chain(counted).collect(),
            ),
            Tagged::ServerCertificate => Statement::guard(
                format!(
                    "UPDATE server_certificates SET name = name WHERE account_id = ? AND name_key = ? AND {count} <= ?"
                ),
                [account.into(), key.into()].into_iter().chain(counted).collect(),
            ),
            Tagged::Policy => Statement::guard(
                format!("UPDATE managed_policies SET name = name WHERE arn = ? AND {count} <= ?"),
                std::iter::once(key.into()).chain(counted).collect(),
            ),
            Tagged::MfaDevice => Statement::guard(
                format!("UPDATE mfa_devices SET name = name WHERE account_id = ? AND serial_key = ? AND {count} <= ?"),
                [account.into(), key.into()].into_iter().chain(counted).collect(),
            ),
            Tagged::OidcProvider | Tagged::SamlProvider => Statement::guard(
                format!(
                    "UPDATE {} SET arn = arn WHERE account_id = ? AND arn = ? AND {count} <= ?",
                    if self == Tagged::OidcProvider { "oidc_providers" } else { "saml_providers" }
                ),
                [account.into(), key.into()].into_iter().chain(counted).collect(),
            ),
        }
    }
}

/// Statements that set `tags` on a resource (replacing values of keys it already has).
pub(crate) fn set_statements(account: &str, tagged: Tagged, key: &str, tags: &[Tag]) -> Vec<Statement> {
    tags.iter()
        .flat_map(|tag| {
            let target = vec![account.into(), tagged.noun().into(), key.into(), tag.key.to_lowercase().into()];
            let update = Statement::new(
                "UPDATE tags SET tag_value = ? WHERE account_id = ? AND resource_kind = ? AND resource_key = ? AND tag_key_lower = ?",
                std::iter::once(tag.value.as_str().into()).chain(target.iter().cloned()).collect(),
            );
            let insert = Statement::new(
                "INSERT INTO tags (account_id, resource_kind, resource_key, tag_key_lower, tag_key, tag_value)
                 SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS
                   (SELECT 1 FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ? AND tag_key_lower = ?)",
                target.iter().cloned().chain([tag.key.as_str().into(), tag.value.as_str().into()]).chain(target.clone()).collect(),
            );
            [update, insert]
        })
        .collect()
}

/// Adds `tags` to an existing resource. `false`: it would hold more than [`PER_RESOURCE`]
/// (or is gone), and nothing was written.
pub(crate) async fn tag(store: &Store, account: &str, tagged: Tagged, key: &str, tags: &[Tag]) -> Result<bool, Error> {
    let mut statements = set_statements(account, tagged, key, tags);
    statements.push(tagged.guard(account, key));
    Ok(store.guarded(statements).await?)
}

/// Removes the tags of these keys (compared case-insensitively) from a resource.
pub(crate) async fn untag(
    store: &Store,
    account: &str,
    tagged: Tagged,
    key: &str,
    tag_keys: &[impl AsRef<str>],
) -> Result<(), Error> {
    let statements = tag_keys
        .iter()
        .map(|tag_key| {
            Statement::new(
                "DELETE FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ? AND tag_key_lower = ?",
                vec![account.into(), tagged.noun().into(), key.into(), tag_key.as_ref().to_lowercase().into()],
            )
        })
        .collect();
    store.transaction(statements).await?;
    Ok(())
}

/// The statement removing every tag of a resource (when it is deleted).
pub(crate) fn delete_all(account: &str, tagged: Tagged, key: &str) -> Statement {
    Statement::new(
        "DELETE FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ?",
        vec![account.into(), tagged.noun().into(), key.into()],
    )
}

/// The statement moving a resource's tags to its new key.
pub(crate) fn rename_owner(account: &str, tagged: Tagged, old_key: &str, new_key: &str) -> Statement {
    Statement::new(
        "UPDATE tags SET resource_key = ? WHERE account_id = ? AND resource_key = ? AND resource_kind = ?",
        vec![new_key.into(), account.into(), old_key.into(), tagged.noun().into()],
    )
}

/// A resource's tags, sorted by key.
pub(crate) async fn load(store: &Store, account: &str, tagged: Tagged, key: &str) -> Result<Vec<Tag>, Error> {
    let rows = store
        .query(
            "SELECT tag_key, tag_value FROM tags WHERE account_id = ? AND resource_kind = ? AND resource_key = ? ORDER BY tag_key_lower",
            vec![account.into(), tagged.noun().into(), key.into()],
        )
        .await?;
    rows.iter().map(|row| Ok(Tag { key: row.text(0)?, value: row.text(1)? })).collect()
}

/// The tags of every resource of one kind in the account, with the key (lowercase name) of
/// the resource each is on, by resource and tag key.
pub(crate) async fn of_every(store: &Store, account: &str, tagged: Tagged) -> Result<Vec<(String, Tag)>, Error> {
    let rows = store
        .query(
            "SELECT resource_key, tag_key, tag_value FROM tags WHERE account_id = ? AND resource_kind = ?
             ORDER BY resource_key, tag_key_lower",
            vec![account.into(), tagged.noun().into()],
        )
        .await?;
    rows.iter().map(|row| Ok((row.text(0)?, Tag { key: row.text(1)?, value: row.text(2)? }))).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::iam::model::entities::create;
    use crate::iam::model::entities::tests::{entity, stored};
    use crate::testing::{ACCOUNT, temp_store};

    fn tag(key: &str, value: &str) -> Tag {
        Tag { key: key.to_owned(), value: value.to_owned() }
    }

    const USER: Tagged = Tagged::Entity(Kind::User);

    #[tokio::test]
    async fn a_later_value_replaces_an_earlier_one_and_the_first_case_of_a_key_is_kept() {
        let temp = temp_store().await;
        let store = &temp.store;
        create(
            store,
            ACCOUNT,
            &entity(Kind::User, "alice"),
            Vec::new(),
            set_statements(ACCOUNT, USER, "alice", &[tag("Team", "a")]),
        )
        .await
        .unwrap();
        assert!(super::tag(store, ACCOUNT, USER, "alice", &[tag("TEAM", "b"), tag("cost", "1")]).await.unwrap());
        assert_eq!(load(store, ACCOUNT, USER, "alice").await.unwrap(), [tag("cost", "1"), tag("Team", "b")]);
        untag(store, ACCOUNT, USER, "alice", &["team".to_owned()]).await.unwrap();
        assert_eq!(load(store, ACCOUNT, USER, "alice").await.unwrap(), [tag("cost", "1")]);
        assert!(load(store, ACCOUNT, Tagged::Entity(Kind::Role), "alice").await.unwrap().is_empty(), "kinds are apart");
    }

    #[tokio::test]
    async fn a_resource_holds_at_most_fifty_tags_and_a_missing_one_none() {
        let temp = temp_store().await;
        let store = &temp.store;
        stored(store, Kind::User, "alice").await;
        let many: Vec<Tag> = (0..PER_RESOURCE).map(|n| tag(&format!("k{n}"), "v")).collect();
        assert!(super::tag(store, ACCOUNT, USER, "alice", &many).await.unwrap());
        assert!(super::tag(store, ACCOUNT, USER, "alice", &[tag("K0", "w")]).await.unwrap(), "replacing is not adding");
        assert!(!super::tag(store, ACCOUNT, USER, "alice", &[tag("one-more", "v")]).await.unwrap());
        assert_eq!(load(store, ACCOUNT, USER, "alice").await.unwrap().len(), PER_RESOURCE);
        assert!(!super::tag(store, ACCOUNT, USER, "nobody", &[tag("a", "b")]).await.unwrap(), "the owner must exist");
        assert!(load(store, ACCOUNT, USER, "nobody").await.unwrap().is_empty());
    }
}
