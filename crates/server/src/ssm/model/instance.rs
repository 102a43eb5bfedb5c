//! The managed-instance model: a server registered with an activation (`mi-...`), the key
//! that signs its requests, what its agent last reported, its ping status, and the SQL of
//! `managed_instances`.
//!
//! Guarantees: an instance exists only through [`register`], which spends one registration of
//! an unexpired activation with room left in the same transaction that records the instance
//! and copies the activation's tags onto it; [`deregister`] removes it with every session
//! issued to it and its tags; its tags never exceed [`tags::PER_RESOURCE`] ([`add_tags`]).

use crate::regions::Scope;
use store::{Statement, Store, StoreError, Value};

use crate::ssm::model::ModelError;
use crate::ssm::model::tags::{self, ResourceKind, Tag};

/// Whether an instance's agent is heard from, as SSM names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingStatus {
    Online,
    ConnectionLost,
}

impl PingStatus {
    /// The word SSM uses.
    pub fn as_str(self) -> &'static str {
        match self {
            PingStatus::Online => "Online",
            PingStatus::ConnectionLost => "ConnectionLost",
        }
    }

    /// `Online` while the last heartbeat is at most `timeout` seconds old at `now`.
    pub fn of(last_ping_at: Option<i64>, now: i64, timeout: i64) -> PingStatus {
        if last_ping_at.is_some_and(|at| now - at <= timeout) { PingStatus::Online } else { PingStatus::ConnectionLost }
    }
}

/// What an instance's agent reports about its host (`UpdateInstanceInformation`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostInformation {
    pub ip_address: Option<String>,
    pub computer_name: Option<String>,
    pub platform_name: Option<String>,
    pub platform_type: Option<String>,
    pub platform_version: Option<String>,
    pub agent_version: Option<String>,
}

/// A stored managed instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedInstance {
    pub id: String,
    pub activation_id: String,
    pub role_name: String,
    pub name: Option<String>,
    pub registered_at: i64,
    pub last_ping_at: Option<i64>,
    pub host: HostInformation,
}

impl ManagedInstance {
    pub fn ping_status(&self, now: i64, timeout: i64) -> PingStatus {
        PingStatus::of(self.last_ping_at, now, timeout)
    }
}

/// Every managed instance of `account`, oldest registration first.
pub async fn all(store: &Store, scope: Scope<'_>) -> Result<Vec<ManagedInstance>, ModelError> {
    let rows = store
        .query(
            "SELECT instance_id, activation_id, role_name, name, registered_at, last_ping_at, ip_address, computer_name,
                    platform_name, platform_type, platform_version, agent_version
             FROM managed_instances WHERE account_id = ? AND region = ? ORDER BY registered_at, instance_id",
            vec![scope.account.into(), scope.region.into()],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let text = |index| row.opt_text(index).map_err(ModelError::from);
            Ok(ManagedInstance {
                id: row.text(0)?,
                activation_id: row.text(1)?,
                role_name: row.text(2)?,
                name: text(3)?,
                registered_at: row.int(4)?,
                last_ping_at: row.opt_int(5)?,
                host: HostInformation {
                    ip_address: text(6)?,
                    computer_name: text(7)?,
                    platform_name: text(8)?,
                    platform_type: text(9)?,
                    platform_version: text(10)?,
                    agent_version: text(11)?,
                },
            })
        })
        .collect()
}

/// Whether instance `id` is registered in `account`.
pub async fn exists(store: &Store, scope: Scope<'_>, id: &str) -> Result<bool, ModelError> {
    let rows = store
        .query(
            "SELECT 1 FROM managed_instances WHERE account_id = ? AND region = ? AND instance_id = ?",
            vec![scope.account.into(), scope.region.into(), id.into()],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// What an instance registered to sign its requests, and the role it acts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// The Ed25519 public key, base64.
    pub public_key: String,
    pub role_name: String,
    pub fingerprint: String,
    /// The region it registered in (its activation's).
    pub region: String,
}

/// The signing key of instance `id` of `account`, if it is registered (in whichever region:
/// its signature is what the unsigned protocol proves).
pub async fn signing_key(store: &Store, account: &str, id: &str) -> Result<Option<SigningKey>, ModelError> {
    let rows = store
        .query(
            "SELECT public_key, role_name, fingerprint, region FROM managed_instances WHERE account_id = ? AND instance_id = ?",
            vec![account.into(), id.into()],
        )
        .await?;
    rows.first()
        .map(|row| {
            Ok(SigningKey {
                public_key: row.text(0)?,
                role_name: row.text(1)?,
                fingerprint: row.text(2)?,
                region: row.text(3)?,
            })
        })
        .transpose()
}

/// A server registering with an activation.
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    pub instance_id: &'a str,
    pub activation_id: &'a str,
    pub role_name: &'a str,
    pub public_key: &'a str,
    pub fingerprint: &'a str,
    pub name: Option<&'a str>,
}

/// Records a registered instance, spending one registration of its activation and copying
/// the activation's tags onto it, in one transaction; false (nothing written) when the
/// activation is gone, expired at `now` or has no registration left.
pub async fn register(
    store: &Store,
    scope: Scope<'_>,
    registration: &Registration<'_>,
    now: i64,
) -> Result<bool, ModelError> {
    let Registration { instance_id, activation_id, .. } = *registration;
    let registered = store
        .transaction(vec![
            Statement::guard(
                "UPDATE activations SET registrations_count = registrations_count + 1
                 WHERE account_id = ? AND region = ? AND activation_id = ? AND registrations_count < registration_limit AND expires_at > ?",
                vec![scope.account.into(), scope.region.into(), activation_id.into(), Value::Int(now)],
            ),
            Statement::new(
                "INSERT INTO managed_instances (instance_id, account_id, region, activation_id, role_name, public_key,
                                                fingerprint, name, registered_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    instance_id.into(),
                    scope.account.into(), scope.region.into(),
                    activation_id.into(),
                    registration.role_name.into(),
                    registration.public_key.into(),
                    registration.fingerprint.into(),
                    Value::from(registration.name.map(str::to_owned)),
                    Value::Int(now),
                ],
            ),
            // The activation's tags are copied onto the instance.
            Statement::new(
                "INSERT INTO tags (account_id, resource_kind, resource_key, tag_key_lower, tag_key, tag_value)
                 SELECT account_id, 'ManagedInstance', ?, tag_key_lower, tag_key, tag_value FROM tags
                 WHERE account_id = ? AND resource_kind = 'Activation' AND resource_key = ?",
                vec![instance_id.into(), scope.account.into(), activation_id.into()],
            ),
        ])
        .await;
    match registered {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Records a heartbeat at `now` with what the agent reported; false when the instance is not
/// registered.
pub async fn record_heartbeat(
    store: &Store,
    scope: Scope<'_>,
    id: &str,
    host: &HostInformation,
    now: i64,
) -> Result<bool, ModelError> {
    let text = |value: &Option<String>| Value::from(value.clone());
    let changed = store
        .execute(
            "UPDATE managed_instances SET last_ping_at = ?, ip_address = ?, computer_name = ?, platform_name = ?,
                    platform_type = ?, platform_version = ?, agent_version = ?
             WHERE account_id = ? AND region = ? AND instance_id = ?",
            vec![
                Value::Int(now),
                text(&host.ip_address),
                text(&host.computer_name),
                text(&host.platform_name),
                text(&host.platform_type),
                text(&host.platform_version),
                text(&host.agent_version),
                scope.account.into(),
                scope.region.into(),
                id.into(),
            ],
        )
        .await?;
    Ok(changed > 0)
}

/// Deletes an instance with every session issued to it and its tags; false when it is not
/// registered.
pub async fn deregister(store: &Store, scope: Scope<'_>, id: &str) -> Result<bool, ModelError> {
    let deleted = store
        .transaction(vec![
            Statement::guard(
                "DELETE FROM managed_instances WHERE account_id = ? AND region = ? AND instance_id = ?",
                vec![scope.account.into(), scope.region.into(), id.into()],
            ),
            // Its credentials end with it.
            Statement::new(
                "DELETE FROM sessions WHERE account_id = ? AND instance_id = ?",
                vec![scope.account.into(), id.into()],
            ),
            tags::delete_all(scope.account, ResourceKind::ManagedInstance, id),
        ])
        .await;
    match deleted {
        Ok(_) => Ok(true),
        Err(StoreError::Unmet(_)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// What adding tags to an instance did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagsAdded {
    Added,
    /// It would hold more than [`tags::PER_RESOURCE`]; nothing was written.
    TooMany,
    /// It is not registered.
    NoInstance,
}

/// Sets `tags` on an instance, the quota counted with them in the same transaction.
pub async fn add_tags(store: &Store, scope: Scope<'_>, id: &str, new: &[Tag]) -> Result<TagsAdded, ModelError> {
    let kind = ResourceKind::ManagedInstance;
    let mut statements = tags::set(scope.account, kind, id, new);
    statements.push(Statement::guard(
        format!(
            "UPDATE managed_instances SET instance_id = instance_id WHERE account_id = ? AND region = ? AND instance_id = ?
               AND {} <= ?",
            crate::tags::COUNT
        ),
        vec![
            scope.account.into(),
            scope.region.into(),
            id.into(),
            scope.account.into(),
            kind.as_str().into(),
            id.into(),
            Value::Int(tags::PER_RESOURCE),
        ],
    ));
    match store.transaction(statements).await {
        Ok(_) => Ok(TagsAdded::Added),
        Err(StoreError::Unmet(_)) if exists(store, scope, id).await? => Ok(TagsAdded::TooMany),
        Err(StoreError::Unmet(_)) => Ok(TagsAdded::NoInstance),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::ssm::model::activation::{self, tests::ACTIVATION, tests::new_activation};
    use crate::testing::{ACCOUNT, SCOPE, temp_store};

    fn registration(instance_id: &str) -> Registration<'_> {
        Registration {
            instance_id,
            activation_id: ACTIVATION,
            role_name: "ssm-role",
            public_key: "a2V5",
            fingerprint: "fp-1",
            name: Some("edge"),
        }
    }

    #[test]
    fn an_instance_is_online_while_its_last_heartbeat_is_within_the_timeout() {
        let cases = [
            (None, PingStatus::ConnectionLost),
            (Some(1_000), PingStatus::Online),
            (Some(1_000 - 60), PingStatus::Online),
            (Some(1_000 - 61), PingStatus::ConnectionLost),
        ];
        for (last_ping, expected) in cases {
            assert_eq!(PingStatus::of(last_ping, 1_000, 60), expected, "{last_ping:?}");
        }
        assert_eq!((PingStatus::Online.as_str(), PingStatus::ConnectionLost.as_str()), ("Online", "ConnectionLost"));
    }

    #[tokio::test]
    async fn an_activation_registers_up_to_its_limit_and_never_once_expired() {
        let temp = temp_store().await;
        let store = &temp.store;
        let tags = [("team".to_owned(), "edge".to_owned())];
        activation::create(store, SCOPE, &new_activation(ACTIVATION, 2, 1_000), &tags).await.unwrap();
        assert!(register(store, SCOPE, &registration("mi-00000000000000001"), 500).await.unwrap());
        assert!(
            !register(store, SCOPE, &registration("mi-00000000000000002"), 1_000).await.unwrap(),
            "expired at its date"
        );
        assert!(register(store, SCOPE, &registration("mi-00000000000000002"), 600).await.unwrap());
        assert!(!register(store, SCOPE, &registration("mi-00000000000000003"), 700).await.unwrap(), "limit spent");
        assert!(
            !register(
                store,
                crate::regions::Scope { account: "444455556666", region: "us-east-1" },
                &registration("mi-00000000000000004"),
                700
            )
            .await
            .unwrap()
        );
        let spent = activation::find_for_registration(store, ACCOUNT, ACTIVATION).await.unwrap().unwrap();
        assert_eq!((spent.registrations_count, spent.registration_limit), (2, 2));

        let instances = all(store, SCOPE).await.unwrap();
        let ids: Vec<_> = instances.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["mi-00000000000000001", "mi-00000000000000002"], "only what was registered, oldest first");
        assert_eq!(instances[0].name.as_deref(), Some("edge"));
        assert_eq!(instances[0].ping_status(500, 60), PingStatus::ConnectionLost, "not heard from yet");
        let copied = tags::of(store, ACCOUNT, ResourceKind::ManagedInstance, "mi-00000000000000001").await.unwrap();
        assert_eq!(copied, tags, "the activation's tags are the instance's");
        let key = signing_key(store, ACCOUNT, "mi-00000000000000002").await.unwrap().unwrap();
        assert_eq!((key.public_key.as_str(), key.fingerprint.as_str()), ("a2V5", "fp-1"));
        assert!(signing_key(store, ACCOUNT, "mi-00000000000000003").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_heartbeat_is_recorded_and_deregistering_ends_the_instance_and_its_sessions() {
        let temp = temp_store().await;
        let store = &temp.store;
        activation::create(store, SCOPE, &new_activation(ACTIVATION, 5, 1_000), &[]).await.unwrap();
        let id = "mi-00000000000000001";
        register(store, SCOPE, &registration(id), 100).await.unwrap();
        let host = HostInformation { agent_version: Some("3.3.0".to_owned()), ..HostInformation::default() };
        assert!(record_heartbeat(store, SCOPE, id, &host, 200).await.unwrap());
        assert!(!record_heartbeat(store, SCOPE, "mi-00000000000000009", &host, 200).await.unwrap());
        let instance = all(store, SCOPE).await.unwrap().remove(0);
        assert_eq!(instance.ping_status(230, 60), PingStatus::Online);
        assert_eq!((instance.last_ping_at, instance.host), (Some(200), host));

        store
            .execute(
                "INSERT INTO sessions (access_key_id, account_id, secret_sealed, token_hash, issued_at, expires_at, instance_id)
                 VALUES ('ASIAEXAMPLE', ?, ?, 'hash', 1, 999, ?)",
                vec![ACCOUNT.into(), vec![0_u8].into(), id.into()],
            )
            .await
            .unwrap();
        assert_eq!(add_tags(store, SCOPE, id, &[("a".to_owned(), "1".to_owned())]).await.unwrap(), TagsAdded::Added);
        assert!(deregister(store, SCOPE, id).await.unwrap());
        assert!(!exists(store, SCOPE, id).await.unwrap());
        assert!(!deregister(store, SCOPE, id).await.unwrap(), "gone");
        let sessions = store.query("SELECT 1 FROM sessions WHERE instance_id = ?", vec![id.into()]).await.unwrap();
        assert!(sessions.is_empty(), "its credentials end with it");
        assert!(tags::of(store, ACCOUNT, ResourceKind::ManagedInstance, id).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_instance_holds_at_most_fifty_tags() {
        let temp = temp_store().await;
        let store = &temp.store;
        activation::create(store, SCOPE, &new_activation(ACTIVATION, 5, 1_000), &[]).await.unwrap();
        let id = "mi-00000000000000001";
        register(store, SCOPE, &registration(id), 100).await.unwrap();
        let many = |from: usize, count: usize| -> Vec<Tag> {
            (from..from + count).map(|n| (format!("k{n:02}"), "v".to_owned())).collect()
        };
        assert_eq!(add_tags(store, SCOPE, id, &many(0, 49)).await.unwrap(), TagsAdded::Added);
        assert_eq!(add_tags(store, SCOPE, id, &many(49, 2)).await.unwrap(), TagsAdded::TooMany);
        assert_eq!(
            tags::of(store, ACCOUNT, ResourceKind::ManagedInstance, id).await.unwrap().len(),
            49,
            "nothing written"
        );
        assert_eq!(
            add_tags(store, SCOPE, id, &many(0, 50)).await.unwrap(),
            TagsAdded::Added,
            "replacing keys is no growth"
        );
        assert_eq!(add_tags(store, SCOPE, "mi-00000000000000002", &many(0, 1)).await.unwrap(), TagsAdded::NoInstance);
    }
}
