//! What authorizes a user or a role (or, for the policy simulator, a group), gathered from
//! the tables that hold it: its identity policies (its inline ones and, for a user, its
//! groups', then the managed ones attached to either), its permissions boundary and its
//! tags (for `aws:PrincipalTag`). `authz` decides with them and the cache keeps them.
//!
//! Guarantees: four queries, plus one per customer managed policy named (AWS's come from
//! the catalogue, parsed once). A stored document that no longer parses grants nothing; a
//! boundary always bounds: one whose policy is gone or unreadable allows nothing.

use std::sync::Arc;

use iam_policy::Policy;
use store::Store;

use super::entities::Kind;
use super::tags::{self, Tagged};
use super::{Error, attachments, boundaries, groups, inline, managed};

/// A principal's permissions, parsed: each policy with the id its statements are audited
/// under (`owner_kind/owner_key/name` for inline ones, the ARN for managed ones). Policies
/// are shared: an AWS managed one is the catalogue's own parse, never copied.
#[derive(Debug, Default)]
pub struct Permissions {
    pub identity: Vec<(String, Arc<Policy>)>,
    pub boundary: Option<(String, Arc<Policy>)>,
    pub tags: Vec<(String, String)>,
}

/// The permissions of the entity of `kind` whose key (lowercase name) is `key`, as stored now.
pub(crate) async fn of(store: &Store, account: &str, kind: Kind, key: &str) -> Result<Permissions, Error> {
    let holders = groups::holders(account, kind, key);
    let mut permissions = Permissions::default();
    for held in inline::held(store, &holders).await? {
        if let Ok(policy) = Policy::parse(&held.document) {
            let id = format!("{}/{}/{}", held.owner_kind, held.owner_key, held.name);
            permissions.identity.push((id, Arc::new(policy)));
        }
    }
    for arn in attachments::held(store, &holders).await? {
        if let Some(policy) = managed_policy(store, account, &arn).await? {
            permissions.identity.push((arn, policy));
        }
    }
    if let Some(arn) = boundaries::boundary_of(store, account, kind, key).await? {
        let policy = match managed_policy(store, account, &arn).await? {
            Some(policy) => policy,
            None => {
                Arc::new(Policy::parse(managed::DENIES_EVERYTHING).map_err(|error| Error::Failed(error.to_string()))?)
            }
        };
        permissions.boundary = Some((arn, policy));
    }
    permissions.tags = tags::load(store, account, Tagged::Entity(kind), key)
        .await?
        .into_iter()
        .map(|tag| (tag.key, tag.value))
        .collect();
    Ok(permissions)
}

/// A managed policy's default document, parsed (the catalogue's are parsed once and shared);
/// `None` when it is gone or no longer parses.
async fn managed_policy(store: &Store, account: &str, arn: &str) -> Result<Option<Arc<Policy>>, Error> {
    if let Some(policy) = managed::parsed(arn) {
        return Ok(Some(Arc::clone(policy)));
    }
    let document = managed::document(store, account, arn).await?;
    Ok(document.and_then(|text| Policy::parse(&text).ok()).map(Arc::new))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::iam::model::entities::tests::stored;
    use crate::iam::model::tags::Tag;
    use crate::testing::{ACCOUNT, temp_store};

    const ALLOW: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
    const READ_ONLY: &str = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";

    fn ids(policies: &[(String, Arc<Policy>)]) -> Vec<&str> {
        policies.iter().map(|(id, _)| id.as_str()).collect()
    }

    #[tokio::test]
    async fn a_user_holds_its_own_and_its_groups_policies_within_its_boundary() {
        let temp = temp_store().await;
        let store = &temp.store;
        stored(store, Kind::User, "alice").await;
        stored(store, Kind::Group, "ops").await;
        stored(store, Kind::Role, "alice").await;
        groups::add(store, ACCOUNT, "ops", "alice").await.unwrap();
        inline::put(store, ACCOUNT, Kind::Group, "ops", "g", ALLOW, &[]).await.unwrap();
        inline::put(store, ACCOUNT, Kind::User, "alice", "own", ALLOW, &[]).await.unwrap();
        inline::put(store, ACCOUNT, Kind::User, "alice", "broken", "{", &[]).await.unwrap();
        inline::put(store, ACCOUNT, Kind::Role, "alice", "role", ALLOW, &[]).await.unwrap();
        attachments::attach(store, ACCOUNT, Kind::Group, "ops", READ_ONLY).await.unwrap();
        attachments::attach(store, ACCOUNT, Kind::User, "alice", READ_ONLY).await.unwrap();
        let gone = "arn:aws:iam::111122223333:policy/gone";
        attachments::attach(store, ACCOUNT, Kind::User, "alice", gone).await.unwrap();
        boundaries::put(store, ACCOUNT, Kind::User, "alice", gone).await.unwrap();
        let tag = Tag { key: "team".to_owned(), value: "a".to_owned() };
        tags::tag(store, ACCOUNT, Tagged::Entity(Kind::User), "alice", &[tag]).await.unwrap();

        let user = of(store, ACCOUNT, Kind::User, "alice").await.unwrap();
        // A document that no longer parses and a managed policy that is gone grant nothing;
        // an attachment held twice counts once.
        assert_eq!(ids(&user.identity), ["user/alice/own", "group/ops/g", READ_ONLY]);
        let (arn, boundary) = user.boundary.unwrap();
        assert_eq!(arn, gone);
        assert_eq!(*boundary, Policy::parse(managed::DENIES_EVERYTHING).unwrap(), "a boundary gone allows nothing");
        assert_eq!(user.tags, [("team".to_owned(), "a".to_owned())]);

        let role = of(store, ACCOUNT, Kind::Role, "alice").await.unwrap();
        assert_eq!(ids(&role.identity), ["role/alice/role"], "kinds are apart");
        assert!(role.boundary.is_none() && role.tags.is_empty());
    }
}
