//! STS's domain layer: the sessions it records, as functions of the store (never of a
//! request's `Ctx`). A session is a row of `sessions`: its secret sealed, its token kept only
//! as a hash, and what it is issued to (its kind, the user's or role's unique id).
//!
//! Guarantees: a role session is recorded with its role's last use in one transaction; a
//! session's scope (policies, tags, what revokes it) is stored as granted, never widened.

use aws_protocol::sigv4::sha256_hex;
use store::{Statement, Store, Value};

use crate::auth::SessionKind;
use crate::iam::model::Error;
use crate::iam::model::roles::{self, Role};

/// What a role session is scoped to beyond its role.
pub(crate) struct SessionGrant<'a> {
    pub policy: Option<&'a str>,
    pub policy_arns: &'a [String],
    pub tags: &'a [(String, String)],
    /// What the session is issued to: the role's caller, a managed instance, or a task.
    pub kind: &'a SessionKind,
    /// The managed instance whose deregistration revokes the session (an instance's own, or
    /// the one its task runs on).
    pub revoked_with: Option<&'a str>,
    /// When the caller proved an MFA code for it (AssumeRole's `SerialNumber` and `TokenCode`).
    pub mfa_at: Option<i64>,
    /// Who the person behind it is, as the caller (or its identity provider) set it once:
    /// `aws:SourceIdentity` of every request the session makes.
    pub source_identity: Option<&'a str>,
    /// The keys of its tags that pass on to the sessions it chains to (transitive tags).
    pub transitive: &'a [String],
}

/// A session's credentials and lifetime, as recorded (the secret sealed, the token as is:
/// only its hash is stored).
pub(crate) struct SessionCredentials<'a> {
    pub access_key_id: &'a str,
    pub sealed_secret: Vec<u8>,
    pub token: &'a str,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// A federated session's tags and the keys of those that are transitive, as its token or
/// assertion passes them.
pub(crate) type FederatedTags = (Vec<(String, String)>, Vec<String>);

/// When a session's MFA was authenticated (`None`: it was issued without MFA).
pub(crate) type MfaAt = Option<i64>;

/// Records a session of `role` named `session_name`, and the role's use now in `region`.
pub(crate) async fn record_role_session(
    store: &Store,
    account: &str,
    credentials: SessionCredentials<'_>,
    role: &Role,
    session_name: &str,
    grant: &SessionGrant<'_>,
    region: &str,
) -> Result<(), Error> {
    let failed = |error: serde_json::Error| Error::Failed(error.to_string());
    let policy_arns = serde_json::to_string(grant.policy_arns).map_err(failed)?;
    let tags = serde_json::to_string(grant.tags).map_err(failed)?;
    let transitive = serde_json::to_string(grant.transitive).map_err(failed)?;
    store
        .transaction(vec![
            Statement::new(
                "INSERT INTO sessions (access_key_id, account_id, user_name_key, secret_sealed, token_hash, issued_at, expires_at,
                                       role_key, role_id, session_name, session_policy, session_policy_arns, session_tags, instance_id, kind, mfa_at,
                                       source_identity, transitive_tag_keys)
                 VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    credentials.access_key_id.into(),
                    account.into(),
                    credentials.sealed_secret.into(),
                    sha256_hex(credentials.token.as_bytes()).into(),
                    Value::Int(credentials.issued_at),
                    Value::Int(credentials.expires_at),
                    role.entity.key().into(),
                    role.entity.id.as_str().into(),
                    session_name.into(),
                    Value::from(grant.policy.map(str::to_owned)),
                    policy_arns.into(),
                    tags.into(),
                    Value::from(grant.revoked_with.map(str::to_owned)),
                    grant.kind.as_str().into(),
                    Value::from(grant.mfa_at),
                    Value::from(grant.source_identity.map(str::to_owned)),
                    transitive.into(),
                ],
            ),
            roles::record_use(account, &role.entity.id, credentials.issued_at, region),
        ])
        .await?;
    Ok(())
}

/// Records a session of the root user (`user: None`) or of a user, by its lowercase name
/// and unique id (GetSessionToken's).
pub(crate) async fn record_user_session(
    store: &Store,
    account: &str,
    credentials: SessionCredentials<'_>,
    kind: &SessionKind,
    user: Option<(String, String)>,
    mfa_at: MfaAt,
) -> Result<(), Error> {
    let (user_key, user_id) = user.unzip();
    store
        .execute(
            "INSERT INTO sessions (access_key_id, account_id, user_name_key, user_id, kind, secret_sealed, token_hash, issued_at, expires_at, mfa_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                credentials.access_key_id.into(),
                account.into(),
                Value::from(user_key),
                Value::from(user_id),
                kind.as_str().into(),
                credentials.sealed_secret.into(),
                sha256_hex(credentials.token.as_bytes()).into(),
                Value::Int(credentials.issued_at),
                Value::Int(credentials.expires_at),
                Value::from(mfa_at),
            ],
        )
        .await?;
    Ok(())
}

/// Records a federated user's session named `name`, asked for by the user `(lowercase name,
/// unique id)` or by root (`None`), with its session policies and tags (`grant`).
pub(crate) async fn record_federated_session(
    store: &Store,
    account: &str,
    credentials: SessionCredentials<'_>,
    name: &str,
    user: Option<(String, String)>,
    grant: &SessionGrant<'_>,
) -> Result<(), Error> {
    let failed = |error: serde_json::Error| Error::Failed(error.to_string());
    let policy_arns = serde_json::to_string(grant.policy_arns).map_err(failed)?;
    let tags = serde_json::to_string(grant.tags).map_err(failed)?;
    let (user_key, user_id) = user.unzip();
    store
        .execute(
            "INSERT INTO sessions (access_key_id, account_id, user_name_key, user_id, kind, secret_sealed, token_hash,
                                   issued_at, expires_at, session_name, session_policy, session_policy_arns, session_tags)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                credentials.access_key_id.into(),
                account.into(),
                Value::from(user_key),
                Value::from(user_id),
                grant.kind.as_str().into(),
                credentials.sealed_secret.into(),
                sha256_hex(credentials.token.as_bytes()).into(),
                Value::Int(credentials.issued_at),
                Value::Int(credentials.expires_at),
                name.into(),
                Value::from(grant.policy.map(str::to_owned)),
                policy_arns.into(),
                tags.into(),
            ],
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use crate::iam::model::entities::{Kind, tests::stored};
    use crate::testing::{ACCOUNT, temp_store};

    fn credentials<'a>(access_key_id: &'a str, token: &'a str) -> SessionCredentials<'a> {
        SessionCredentials { access_key_id, sealed_secret: vec![9; 8], token, issued_at: 100, expires_at: 1_000 }
    }

    #[tokio::test]
    async fn a_role_session_is_recorded_with_its_scope_and_the_roles_last_use() {
        let temp = temp_store().await;
        let store = &temp.store;
        stored(store, Kind::Role, "Deploy").await;
        let role = roles::find(store, ACCOUNT, "deploy").await.unwrap().unwrap();
        let arns = ["arn:aws:iam::aws:policy/IAMReadOnlyAccess".to_owned()];
        let tags = [("team".to_owned(), "a".to_owned())];
        let grant = SessionGrant {
            policy: None,
            policy_arns: &arns,
            tags: &tags,
            kind: &SessionKind::Role,
            revoked_with: Some("mi-0123456789abcdef0"),
            mfa_at: None,
            source_identity: None,
            transitive: &[],
        };
        record_role_session(store, ACCOUNT, credentials("ASIA1", "the-token"), &role, "ci", &grant, "eu-west-1")
            .await
            .unwrap();
        let rows = store
            .query(
                "SELECT role_key, role_id, session_name, token_hash, session_policy_arns, session_tags, instance_id, kind
                 FROM sessions WHERE access_key_id = 'ASIA1'",
                vec![],
            )
            .await
            .unwrap();
        let row = &rows[0];
        assert_eq!(
            (row.text(0).unwrap(), row.text(1).unwrap(), row.text(2).unwrap()),
            ("deploy".to_owned(), role.entity.id.clone(), "ci".to_owned())
        );
        assert_eq!(row.text(3).unwrap(), sha256_hex(b"the-token"), "only the token's hash is kept");
        assert_eq!(row.text(4).unwrap(), r#"["arn:aws:iam::aws:policy/IAMReadOnlyAccess"]"#);
        assert_eq!(row.text(5).unwrap(), r#"[["team","a"]]"#);
        assert_eq!(row.opt_text(6).unwrap().as_deref(), Some("mi-0123456789abcdef0"));
        assert_eq!(row.text(7).unwrap(), SessionKind::Role.as_str());
        let used = roles::find(store, ACCOUNT, "deploy").await.unwrap().unwrap().last_used;
        assert_eq!(used, Some((100, "eu-west-1".to_owned())));
    }

    #[tokio::test]
    async fn a_user_session_belongs_to_the_users_unique_id() {
        let temp = temp_store().await;
        let store = &temp.store;
        let user = Some(("alice".to_owned(), "AIDAALICE".to_owned()));
        record_user_session(store, ACCOUNT, credentials("ASIAU", "t1"), &SessionKind::User, user, Some(90))
            .await
            .unwrap();
        record_user_session(store, ACCOUNT, credentials("ASIAR", "t2"), &SessionKind::Root, None, None).await.unwrap();
        let rows = store
            .query("SELECT access_key_id, user_name_key, user_id, kind FROM sessions ORDER BY access_key_id", vec![])
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].text(0).unwrap().as_str(), rows[0].opt_text(1).unwrap()), ("ASIAR", None));
        assert_eq!(rows[0].text(3).unwrap(), SessionKind::Root.as_str());
        assert_eq!((rows[1].text(1).unwrap().as_str(), rows[1].text(2).unwrap().as_str()), ("alice", "AIDAALICE"));
        assert!(
            record_user_session(store, ACCOUNT, credentials("ASIAU", "t3"), &SessionKind::Root, None, None)
                .await
                .is_err(),
            "ids are unique"
        );
    }
}
