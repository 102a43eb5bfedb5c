//! Temporary credentials (`ASIA...`) as the signing path reads them: the `sessions` rows STS
//! (`sts::model`) and instance registration (`ssm::model`) record, with their secret sealed
//! and their token kept only as a hash.
//!
//! Guarantees: a row is returned as stored, its words and JSON undecoded: what it was issued
//! to, and what a role session was scoped to, are read by `auth`, which refuses a row whose
//! parts contradict each other.

use store::Store;

use super::Error;

/// A session as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    pub account: String,
    pub sealed_secret: Vec<u8>,
    /// SHA-256 hex of the session token.
    pub token_hash: String,
    pub issued_at: i64,
    pub expires_at: i64,
    /// What it was issued to (`root`, `user`, `role`, `instance`, `task`); `None` on rows
    /// written before the column existed.
    pub kind: Option<String>,
    /// The lowercase name and the unique id of the user it was issued to (a user's session).
    pub user_key: Option<String>,
    pub user_id: Option<String>,
    /// The role's lowercase name and unique id, and the session's name (a role session).
    pub role_key: Option<String>,
    pub role_id: Option<String>,
    pub session_name: Option<String>,
    /// The managed instance it belongs to (an instance's or its task's session).
    pub instance_id: Option<String>,
    /// A role session's inline session policy, its managed session policy ARNs and its
    /// session tags, as the JSON stored.
    pub policy: Option<String>,
    pub policy_arns: Option<String>,
    pub tags: Option<String>,
    /// When its MFA was authenticated (issued with an MFA code).
    pub mfa_at: Option<i64>,
    /// The source identity it was issued with (a role session's).
    pub source_identity: Option<String>,
    /// The keys of its transitive session tags, as the JSON stored.
    pub transitive_tag_keys: Option<String>,
}

/// The session whose access key is `access_key_id`, if it exists (expired or not).
pub(crate) async fn for_authentication(store: &Store, access_key_id: &str) -> Result<Option<Session>, Error> {
    let rows = store
        .query(
            "SELECT account_id, user_name_key, secret_sealed, token_hash, issued_at, expires_at,
                    role_key, role_id, session_name, session_policy, session_policy_arns, session_tags,
                    kind, user_id, instance_id, mfa_at, source_identity, transitive_tag_keys
             FROM sessions WHERE access_key_id = ?",
            vec![access_key_id.into()],
        )
        .await?;
    rows.first()
        .map(|row| {
            Ok(Session {
                account: row.text(0)?,
                user_key: row.opt_text(1)?,
                sealed_secret: row.blob(2)?,
                token_hash: row.text(3)?,
                issued_at: row.int(4)?,
                expires_at: row.int(5)?,
                role_key: row.opt_text(6)?,
                role_id: row.opt_text(7)?,
                session_name: row.opt_text(8)?,
                policy: row.opt_text(9)?,
                policy_arns: row.opt_text(10)?,
                tags: row.opt_text(11)?,
                kind: row.opt_text(12)?,
                user_id: row.opt_text(13)?,
                instance_id: row.opt_text(14)?,
                mfa_at: row.opt_int(15)?,
                source_identity: row.opt_text(16)?,
                transitive_tag_keys: row.opt_text(17)?,
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::auth::SessionKind;
    use crate::sts::model::{SessionCredentials, record_user_session};
    use crate::testing::{ACCOUNT, temp_store};

    #[tokio::test]
    async fn a_recorded_session_reads_back_as_stored_and_no_other_key_is_one() {
        let temp = temp_store().await;
        let store = &temp.store;
        let credentials = SessionCredentials {
            access_key_id: "ASIAU",
            sealed_secret: vec![9; 8],
            token: "t",
            issued_at: 100,
            expires_at: 1_000,
        };
        let user = Some(("alice".to_owned(), "AIDAALICE".to_owned()));
        record_user_session(store, ACCOUNT, credentials, &SessionKind::User, user, Some(90)).await.unwrap();
        assert_eq!(for_authentication(store, "ASIAU").await.unwrap().unwrap().mfa_at, Some(90));
        let session = for_authentication(store, "ASIAU").await.unwrap().unwrap();
        assert_eq!((session.account.as_str(), session.sealed_secret.as_slice()), (ACCOUNT, [9; 8].as_slice()));
        assert_eq!((session.issued_at, session.expires_at), (100, 1_000));
        assert_eq!(session.token_hash, aws_protocol::sigv4::sha256_hex(b"t"));
        assert_eq!((session.user_key.as_deref(), session.user_id.as_deref()), (Some("alice"), Some("AIDAALICE")));
        assert_eq!(session.kind.as_deref(), Some(SessionKind::User.as_str()));
        assert_eq!((session.role_key, session.policy_arns, session.instance_id), (None, None, None));
        assert!(for_authentication(store, "ASIAX").await.unwrap().is_none());
    }
}
