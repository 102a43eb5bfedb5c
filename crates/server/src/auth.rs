//! Authentication: who signed the request. A request is only ever attributed to a principal
//! after its SigV4 signature verified with that principal's active key.

use aws_protocol::sigv4::{AuthError, Claim, HttpRequest, constant_time_eq, sha256_hex};
use iam_policy::Caller;

use crate::app::App;
use crate::cache::{KeyEntry, Session};
use crate::ids;

/// The kind of principal behind an access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Root,
    User { name: String, user_id: String, path: String, created_at: i64 },
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Identity {
    pub account_id: String,
    pub principal: Principal,
    pub access_key_id: String,
    /// When the caller signed with temporary credentials: when they were issued.
    pub session_issued_at: Option<i64>,
}

impl Identity {
    /// The principal's ARN, as AWS names it in responses and errors.
    pub fn arn(&self) -> String {
        match &self.principal {
            Principal::Root => format!("arn:aws:iam::{}:root", self.account_id),
            Principal::User { name, path, .. } => user_arn(&self.account_id, path, name),
        }
    }

    /// The user name, or `root` for the root user (CloudTrail's `Username`).
    pub fn username(&self) -> String {
        match &self.principal {
            Principal::Root => "root".to_owned(),
            Principal::User { name, .. } => name.clone(),
        }
    }

    /// `aws:userid`: the account id for root, the unique id for a user.
    pub fn user_id(&self) -> &str {
        match &self.principal {
            Principal::Root => &self.account_id,
            Principal::User { user_id, .. } => user_id,
        }
    }

    /// The caller as the policy engine sees it.
    pub fn caller(&self) -> Caller {
        match &self.principal {
            Principal::Root => Caller::Root { account: self.account_id.clone() },
            Principal::User { .. } => Caller::User { arn: self.arn(), account: self.account_id.clone() },
        }
    }
}

pub fn user_arn(account_id: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account_id}:user{path}{name}")
}

/// Verifies the request's signature and returns who made it.
pub async fn authenticate(app: &App, request: &HttpRequest<'_>, claim: &Claim) -> Result<Identity, AuthError> {
    let key_id = &claim.credential.access_key_id;
    let entry = match app.cache.key(key_id) {
        Some(entry) => entry,
        None => {
            let generation = app.cache.generation();
            let entry = load_key(app, key_id).await?;
            app.cache.put_key(key_id, entry.clone(), generation);
            entry
        }
    };
    check_session_token(&entry, claim.security_token.as_deref())?;
    let scope = &claim.credential;
    let signing_key = app.signing_keys.get(key_id, &entry.secret, &scope.date, &scope.region, &scope.service);
    // IAM is a global service: clients sign it for us-east-1 whatever their region.
    let region = if scope.service == "iam" && scope.region == "us-east-1" { "us-east-1" } else { app.region.as_str() };
    claim.verify(request, region, &signing_key, ids::now())?;
    Ok(Identity {
        account_id: entry.account_id,
        principal: entry.principal,
        access_key_id: key_id.clone(),
        session_issued_at: entry.session.map(|session| session.issued_at),
    })
}

/// Temporary credentials need their session token; long-term keys must come without one.
fn check_session_token(entry: &KeyEntry, token: Option<&str>) -> Result<(), AuthError> {
    match (&entry.session, token) {
        (None, None) => Ok(()),
        (Some(session), Some(token)) => {
            let presented = sha256_hex(token.as_bytes());
            if !constant_time_eq(presented.as_bytes(), session.token_hash.as_bytes()) {
                Err(AuthError::InvalidKey)
            } else if ids::now() >= session.expires_at {
                Err(AuthError::ExpiredToken)
            } else {
                Ok(())
            }
        }
        _ => Err(AuthError::InvalidKey),
    }
}

/// Reads an active access key, its opened secret and its principal from the store.
async fn load_key(app: &App, key_id: &str) -> Result<KeyEntry, AuthError> {
    // Temporary credentials (ASIA...) live in their own table, with their token's hash.
    let sql = if key_id.starts_with("ASIA") {
        "SELECT account_id, user_name_key, secret_sealed, 'Active', token_hash, issued_at, expires_at FROM sessions WHERE access_key_id = ?"
    } else {
        "SELECT account_id, user_name_key, secret_sealed, status, NULL, NULL, NULL FROM access_keys WHERE access_key_id = ?"
    };
    let rows = app.store.query(sql, vec![key_id.into()]).await.map_err(|_| AuthError::InvalidKey)?;
    let Some(row) = rows.first() else { return Err(AuthError::InvalidKey) };
    let (Ok(account_id), Ok(user_name_key), Ok(sealed), Ok(status)) =
        (row.text(0), row.opt_text(1), row.blob(2), row.text(3))
    else {
        return Err(AuthError::InvalidKey);
    };
    if status != "Active" {
        return Err(AuthError::InvalidKey);
    }
    let session = match (row.opt_text(4), row.opt_int(5), row.opt_int(6)) {
        (Ok(Some(token_hash)), Ok(Some(issued_at)), Ok(Some(expires_at))) => {
            Some(Session { token_hash, issued_at, expires_at })
        }
        _ => None,
    };
    let secret = app.sealer.open(&sealed, key_id).map_err(|_| AuthError::InvalidKey)?;
    let secret = String::from_utf8(secret).map_err(|_| AuthError::InvalidKey)?;
    let principal = match user_name_key {
        None => Principal::Root,
        Some(name_key) => {
            let users = app
                .store
                .query(
                    "SELECT name, user_id, path, created_at FROM users WHERE account_id = ? AND name_key = ?",
                    vec![account_id.as_str().into(), name_key.as_str().into()],
                )
                .await
                .map_err(|_| AuthError::InvalidKey)?;
            let user = users.first().ok_or(AuthError::InvalidKey)?;
            match (user.text(0), user.text(1), user.text(2), user.int(3)) {
                (Ok(name), Ok(user_id), Ok(path), Ok(created_at)) => {
                    Principal::User { name, user_id, path, created_at }
                }
                _ => return Err(AuthError::InvalidKey),
            }
        }
    };
    Ok(KeyEntry { account_id, principal, secret, session })
}
