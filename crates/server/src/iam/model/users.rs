//! Users beyond what every entity has: their deletion and their renaming, which reach every
//! table that holds something of a user.
//!
//! Guarantees: a user is renamed with everything that hangs off it in one transaction; a
//! user is deleted only while nothing hangs off it (the guard is the deleting statement),
//! and its boundary and tags go with it.

use store::{Statement, Store, StoreError};

use super::entities::Kind;
use super::{
    Dependents, Error, UserRows, access_keys, attachments, boundaries, groups, inline, login_profiles, mfa_devices,
    service_credentials, signing_certificates, ssh_keys, tags,
};

/// What keeps a user from being deleted, in the order IAM reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserHeldBy {
    LoginProfile,
    AccessKeys,
    MfaDevices,
    SigningCertificates,
    /// SSH public keys or service-specific credentials (IAM's "referenced objects").
    ReferencedObjects,
    Groups,
    AttachedPolicies,
    InlinePolicies,
}

/// The tables whose rows hang off a user by its key, with what each is to DeleteUser, in the
/// order IAM reports them; a rename moves them all.
const USER_ROWS: [(UserHeldBy, UserRows); 7] = [
    (UserHeldBy::LoginProfile, login_profiles::USER_ROWS),
    (UserHeldBy::AccessKeys, access_keys::USER_ROWS),
    (UserHeldBy::MfaDevices, mfa_devices::USER_ROWS),
    (UserHeldBy::SigningCertificates, signing_certificates::USER_ROWS),
    (UserHeldBy::ReferencedObjects, ssh_keys::USER_ROWS),
    (UserHeldBy::ReferencedObjects, service_credentials::USER_ROWS),
    (UserHeldBy::Groups, groups::USER_ROWS),
];

/// Deletes a user with its boundary and tags, only while it has no login profile, access key,
/// MFA device, signing certificate, SSH key, service-specific credential, inline policy, group
/// or attached policy. `false`: it was not deleted (absent, or held).
pub(crate) async fn delete(store: &Store, account: &str, key: &str) -> Result<bool, Error> {
    let mut sql = "DELETE FROM users WHERE account_id = ? AND name_key = ?".to_owned();
    let mut params = vec![account.into(), key.into()];
    let held: Vec<Dependents> = USER_ROWS
        .iter()
        .map(|(_, rows)| rows.of(account, key))
        .chain([inline::of(account, Kind::User, key), attachments::of(account, Kind::User, key)])
        .collect();
    Dependents::append_none(&mut sql, &mut params, &held);
    let deleted = store
        .transaction(vec![
            Statement::guard(sql, params),
            boundaries::delete(account, Kind::User, key),
            tags::delete_all(account, tags::Tagged::Entity(Kind::User), key),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// What holds a user now (`None`: nothing does).
pub(crate) async fn held_by(store: &Store, account: &str, key: &str) -> Result<Option<UserHeldBy>, Error> {
    let held = USER_ROWS.iter().map(|(reason, rows)| (*reason, rows.of(account, key))).chain([
        (UserHeldBy::AttachedPolicies, attachments::of(account, Kind::User, key)),
        (UserHeldBy::InlinePolicies, inline::of(account, Kind::User, key)),
    ]);
    for (reason, dependents) in held {
        if dependents.exist(store).await? {
            return Ok(Some(reason));
        }
    }
    Ok(None)
}

/// Renames and moves a user, with its keys and other credentials, policies, memberships,
/// attachments, boundary and tags, in one transaction. `false`: another user has the new name.
pub(crate) async fn rename(
    store: &Store,
    account: &str,
    old_key: &str,
    new_name: &str,
    new_path: &str,
) -> Result<bool, Error> {
    let new_key = new_name.to_lowercase();
    let mut statements = vec![
        Statement::new(
            "UPDATE users SET name_key = ?, name = ?, path = ? WHERE account_id = ? AND name_key = ?",
            vec![new_key.as_str().into(), new_name.into(), new_path.into(), account.into(), old_key.into()],
        ),
        inline::rename_owner(account, Kind::User, old_key, &new_key),
        attachments::rename_owner(account, Kind::User, old_key, &new_key),
        boundaries::rename_owner(account, Kind::User, old_key, &new_key),
        tags::rename_owner(account, tags::Tagged::Entity(Kind::User), old_key, &new_key),
    ];
    statements.extend(USER_ROWS.iter().map(|(_, rows)| rows.rename(account, old_key, &new_key)));
    let updated = store.transaction(statements).await;
    match updated {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::iam::model::entities::tests::{entity, stored};
    use crate::iam::model::entities::{create, find};
    use crate::testing::{ACCOUNT, temp_store};

    #[tokio::test]
    async fn a_user_is_deleted_only_when_nothing_holds_it_and_says_what_does() {
        let temp = temp_store().await;
        let store = &temp.store;
        stored(store, Kind::User, "alice").await;
        stored(store, Kind::Group, "ops").await;
        assert_eq!(groups::add(store, ACCOUNT, "ops", "alice").await.unwrap(), crate::iam::model::Added::New);
        let arn = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
        attachments::attach(store, ACCOUNT, Kind::User, "alice", arn).await.unwrap();
        assert!(!delete(store, ACCOUNT, "alice").await.unwrap());
        assert_eq!(held_by(store, ACCOUNT, "alice").await.unwrap(), Some(UserHeldBy::Groups));
        assert!(!groups::delete(store, ACCOUNT, "ops").await.unwrap(), "a group with members stays");
        assert!(groups::remove(store, ACCOUNT, "ops", "alice").await.unwrap());
        assert_eq!(held_by(store, ACCOUNT, "alice").await.unwrap(), Some(UserHeldBy::AttachedPolicies));
        assert!(attachments::detach(store, ACCOUNT, Kind::User, "alice", arn).await.unwrap());
        assert_eq!(held_by(store, ACCOUNT, "alice").await.unwrap(), None);
        assert!(delete(store, ACCOUNT, "alice").await.unwrap());
        assert!(find(store, ACCOUNT, Kind::User, "alice").await.unwrap().is_none());
        assert!(groups::delete(store, ACCOUNT, "ops").await.unwrap());
    }

    #[tokio::test]
    async fn a_renamed_user_keeps_what_hangs_off_it() {
        let temp = temp_store().await;
        let store = &temp.store;
        let arn = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
        let tag = [tags::Tag { key: "team".to_owned(), value: "a".to_owned() }];
        let also = [
            tags::set_statements(ACCOUNT, tags::Tagged::Entity(Kind::User), "alice", &tag),
            boundaries::set(ACCOUNT, Kind::User, "alice", arn),
        ]
        .concat();
        create(store, ACCOUNT, &entity(Kind::User, "alice"), Vec::new(), also).await.unwrap();
        stored(store, Kind::User, "carol").await;
        attachments::attach(store, ACCOUNT, Kind::User, "alice", arn).await.unwrap();
        assert!(!rename(store, ACCOUNT, "alice", "Carol", "/").await.unwrap(), "the name is taken");
        assert!(rename(store, ACCOUNT, "alice", "Bob", "/ops/").await.unwrap());
        let bob = find(store, ACCOUNT, Kind::User, "bob").await.unwrap().unwrap();
        assert_eq!((bob.name.as_str(), bob.path.as_str()), ("Bob", "/ops/"));
        assert_eq!(attachments::of_entity(store, ACCOUNT, Kind::User, "bob").await.unwrap(), [arn]);
        assert_eq!(boundaries::boundary_of(store, ACCOUNT, Kind::User, "bob").await.unwrap().as_deref(), Some(arn));
        assert_eq!(tags::load(store, ACCOUNT, tags::Tagged::Entity(Kind::User), "bob").await.unwrap(), tag);
        assert!(attachments::of_entity(store, ACCOUNT, Kind::User, "alice").await.unwrap().is_empty());
    }
}
