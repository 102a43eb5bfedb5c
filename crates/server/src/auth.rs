//! Authentication: who signed the request. A request is only ever attributed to a principal
//! after its SigV4 signature verified with that principal's active key.

use aws_protocol::sigv4::{AuthError, Claim, HttpRequest, constant_time_eq, sha256_hex};
use std::sync::Arc;

use iam_policy::Policy;

use crate::app::App;
use crate::cache::{KeyEntry, Session};
use crate::iam::model::access_keys::{self, KeyStatus};
use crate::iam::model::entities::{self, Entity, Kind};
use crate::iam::model::{self as model, sessions};
pub use crate::identity::{Identity, Principal, SessionKind, SessionScope, user_arn};
use crate::ids;

/// Verifies the request's signature and returns who made it.
pub async fn authenticate(app: &App, request: &HttpRequest<'_>, claim: &Claim) -> Result<Identity, AuthError> {
    let key_id = &claim.credential.access_key_id;
    let entry = key_entry(app, key_id).await?;
    check_session_token(&entry, claim.security_token.as_deref())?;
    let scope = &claim.credential;
    let signing_key = app.signing_keys.get(key_id, &entry.secret, &scope.date, &scope.region, &scope.service);
    // Every region is served (`regions`); a scope naming none is refused as AWS refuses it.
    let region = if crate::regions::is_region(&scope.region) { scope.region.as_str() } else { app.region.as_str() };
    claim.verify(request, region, &signing_key, ids::now())?;
    Ok(identity_of(entry, key_id))
}

/// The caller behind an access key the server itself vouched for earlier (the key id inside
/// a sealed registry token), resolved as [`authenticate`] resolves a signed request's key:
/// a key deleted or made inactive since, or a session that has expired, no longer resolves.
pub async fn resolve_key(app: &App, key_id: &str) -> Result<Identity, AuthError> {
    let entry = key_entry(app, key_id).await?;
    if entry.session.as_ref().is_some_and(|session| ids::now() >= session.expires_at) {
        return Err(AuthError::ExpiredToken);
    }
    Ok(identity_of(entry, key_id))
}

/// When the temporary credentials behind `key_id` expire (`None` for long-term keys).
pub async fn session_expiry(app: &App, key_id: &str) -> Result<Option<i64>, AuthError> {
    Ok(key_entry(app, key_id).await?.session.map(|session| session.expires_at))
}

/// An access key's entry, from the cache or the store. First the cache is checked against
/// the store-wide generation, so a key or a permission changed on another replica is not
/// served from here (what the rest of the request reads of the cache relies on).
async fn key_entry(app: &App, key_id: &str) -> Result<KeyEntry, AuthError> {
    app.cache.observe(&app.store).await;
    if let Some(entry) = app.cache.key(key_id) {
        return Ok(entry);
    }
    let generation = app.cache.generation();
    let entry = load_key(app, key_id).await?;
    app.cache.put_key(key_id, entry.clone(), generation);
    Ok(entry)
}

fn identity_of(entry: KeyEntry, key_id: &str) -> Identity {
    Identity {
        account_id: entry.account_id,
        principal: entry.principal,
        access_key_id: key_id.to_owned(),
        session_issued_at: entry.session.as_ref().map(|session| session.issued_at),
        mfa_authenticated_at: entry.session.as_ref().and_then(|session| session.mfa_at),
        source_identity: entry.session.as_ref().and_then(|session| session.source_identity.clone()),
        session_kind: entry.session.map(|session| session.kind),
        scope: entry.scope,
    }
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

/// Reads an active access key, its opened secret and its principal from the store, through
/// the IAM model: one query for the key, one for its user or role, and one per customer
/// managed session policy of a role session.
async fn load_key(app: &App, key_id: &str) -> Result<KeyEntry, AuthError> {
    // Temporary credentials (ASIA...) live in their own table, with their token's hash, what
    // they were issued to and, for role sessions, the role and what the session was scoped to.
    if key_id.starts_with("ASIA") {
        return load_session(app, key_id).await;
    }
    let key = access_keys::for_authentication(&app.store, key_id).await.map_err(|_| AuthError::InvalidKey)?;
    let key = key.filter(|key| key.status == KeyStatus::Active).ok_or(AuthError::InvalidKey)?;
    let secret = open_secret(app, &key.sealed_secret, key_id)?;
    // A long-term key belongs to its user by name: the user cannot be deleted while it has
    // one, and a renamed user's keys follow it.
    let principal = match &key.user_key {
        Some(name_key) => user(entities::find(&app.store, &key.account, Kind::User, name_key).await)?,
        None => Principal::Root,
    };
    Ok(KeyEntry { account_id: key.account, principal, secret, session: None, scope: Arc::default() })
}

/// Reads temporary credentials, their opened secret and their principal from the store.
async fn load_session(app: &App, key_id: &str) -> Result<KeyEntry, AuthError> {
    let row = sessions::for_authentication(&app.store, key_id).await.map_err(|_| AuthError::InvalidKey)?;
    let row = row.ok_or(AuthError::InvalidKey)?;
    let secret = open_secret(app, &row.sealed_secret, key_id)?;
    let kind = session_kind(row.kind.as_deref(), row.instance_id, row.user_key.is_some(), row.role_key.is_some())?;
    let federated = kind == SessionKind::Federated;
    let session = Session {
        token_hash: row.token_hash,
        issued_at: row.issued_at,
        expires_at: row.expires_at,
        kind,
        mfa_at: row.mfa_at,
        source_identity: row.source_identity,
    };
    let account = row.account;
    let (principal, scope) = match (row.role_key, row.user_key) {
        // A federated user's session: the user who asked for it (by unique id) or root, and
        // its session policies.
        (None, user_key) if federated => {
            let name = row.session_name.ok_or(AuthError::InvalidKey)?;
            let parent = match (user_key, row.user_id) {
                (Some(_), Some(user_id)) => {
                    match user(entities::find_by_id(&app.store, &account, Kind::User, &user_id).await)? {
                        Principal::User { name, user_id, .. } => Some((name, user_id)),
                        _ => return Err(AuthError::InvalidKey),
                    }
                }
                (None, None) => None,
                _ => return Err(AuthError::InvalidKey),
            };
            let scope =
                session_scope(app, &account, row.policy, row.policy_arns, (row.tags, row.transitive_tag_keys)).await?;
            (Principal::FederatedUser { name, user: parent }, scope)
        }
        (Some(role_key), _) => {
            let role_id = row.role_id.ok_or(AuthError::InvalidKey)?;
            let session_name = row.session_name.ok_or(AuthError::InvalidKey)?;
            let principal = role_session(app, &account, &role_key, role_id, session_name).await?;
            (
                principal,
                session_scope(app, &account, row.policy, row.policy_arns, (row.tags, row.transitive_tag_keys)).await?,
            )
        }
        // A user's session belongs to the user it was issued to, by unique id: a user made
        // since under the same name (the first deleted) does not inherit it.
        (None, Some(_)) => {
            let user_id = row.user_id.ok_or(AuthError::InvalidKey)?;
            (user(entities::find_by_id(&app.store, &account, Kind::User, &user_id).await)?, SessionScope::default())
        }
        (None, None) => (Principal::Root, SessionScope::default()),
    };
    Ok(KeyEntry { account_id: account, principal, secret, session: Some(session), scope: Arc::new(scope) })
}

/// A key's secret, opened: it was sealed for the key's id.
fn open_secret(app: &App, sealed: &[u8], key_id: &str) -> Result<String, AuthError> {
    let secret = app.sealer.open(sealed, key_id).map_err(|_| AuthError::InvalidKey)?;
    String::from_utf8(secret).map_err(|_| AuthError::InvalidKey)
}

/// What a session row says it was issued to. Rows written before the `kind` column (by a
/// replica not yet upgraded) are role or user sessions, never an instance's.
fn session_kind(
    kind: Option<&str>,
    instance_id: Option<String>,
    has_user: bool,
    has_role: bool,
) -> Result<SessionKind, AuthError> {
    let kind = match kind {
        Some("root") if !has_user && !has_role => SessionKind::Root,
        Some("user") if has_user && !has_role => SessionKind::User,
        Some("role") if has_role => SessionKind::Role,
        Some("instance") if has_role => {
            SessionKind::Instance { instance_id: instance_id.ok_or(AuthError::InvalidKey)? }
        }
        Some("task") if has_role => SessionKind::Task,
        Some("federated") if !has_role => SessionKind::Federated,
        None if has_role => SessionKind::Role,
        None if has_user => SessionKind::User,
        None => SessionKind::Root,
        Some(_) => return Err(AuthError::InvalidKey),
    };
    Ok(kind)
}

/// The user a credential names, which must exist.
fn user(found: Result<Option<Entity>, model::Error>) -> Result<Principal, AuthError> {
    let user = found.map_err(|_| AuthError::InvalidKey)?.ok_or(AuthError::InvalidKey)?;
    Ok(Principal::User { name: user.name, user_id: user.id, path: user.path, created_at: user.created_at })
}

/// The session's role, which must still be the role it was issued for: a role deleted (or
/// deleted and made again under the same name) ends its sessions.
async fn role_session(
    app: &App,
    account_id: &str,
    role_key: &str,
    role_id: String,
    session_name: String,
) -> Result<Principal, AuthError> {
    let role = entities::find(&app.store, account_id, Kind::Role, role_key).await.map_err(|_| AuthError::InvalidKey)?;
    let role = role.filter(|role| role.id == role_id).ok_or(AuthError::InvalidKey)?;
    Ok(Principal::RoleSession { role_name: role.name, role_id, role_path: role.path, session_name })
}

/// A role session's session policies (the inline one and the managed ones, resolved now so
/// a change to a managed policy applies from the next load) and its session tags, with
/// which of them are transitive.
async fn session_scope(
    app: &App,
    account_id: &str,
    inline: Option<String>,
    arns: Option<String>,
    (tags, transitive): (Option<String>, Option<String>),
) -> Result<SessionScope, AuthError> {
    let mut scope = SessionScope::default();
    if let Some(document) = inline {
        scope
            .policies
            .push(("session-policy".to_owned(), Policy::parse(&document).map_err(|_| AuthError::InvalidKey)?.into()));
    }
    let arns: Vec<String> = arns
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|_| AuthError::InvalidKey)?
        .unwrap_or_default();
    for arn in arns {
        // The catalogue's are parsed once per process.
        if let Some(policy) = crate::iam::model::managed::parsed(&arn) {
            scope.policies.push((arn, policy.clone()));
            continue;
        }
        let document = crate::iam::model::managed::document(&app.store, account_id, &arn)
            .await
            .map_err(|_| AuthError::InvalidKey)?;
        // A managed session policy deleted since still bounds the session: to nothing.
        let text = document.unwrap_or_else(|| crate::iam::model::managed::DENIES_EVERYTHING.into());
        scope.policies.push((arn, Policy::parse(&text).map_err(|_| AuthError::InvalidKey)?.into()));
    }
    scope.tags = tags
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|_| AuthError::InvalidKey)?
        .unwrap_or_default();
    scope.transitive = transitive
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|_| AuthError::InvalidKey)?
        .unwrap_or_default();
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_row_issued_to_an_instance_is_the_instance() {
        let instance = Some("mi-0123456789abcdef0".to_owned());
        let kind = |kind, user, role| session_kind(kind, instance.clone(), user, role);
        assert!(
            matches!(kind(Some("instance"), false, true), Ok(SessionKind::Instance { instance_id }) if instance_id == "mi-0123456789abcdef0")
        );
        assert_eq!(kind(Some("task"), false, true), Ok(SessionKind::Task));
        assert_eq!(kind(Some("role"), false, true), Ok(SessionKind::Role));
        // Rows an older replica wrote carry no kind: never an instance's.
        assert_eq!(kind(None, false, true), Ok(SessionKind::Role));
        assert_eq!(kind(None, true, false), Ok(SessionKind::User));
        assert_eq!(kind(None, false, false), Ok(SessionKind::Root));
        // A kind that contradicts the row is no session at all.
        assert!(kind(Some("root"), true, false).is_err());
        assert!(kind(Some("user"), false, false).is_err());
        assert!(kind(Some("instance"), false, false).is_err());
        assert!(session_kind(Some("instance"), None, false, true).is_err());
        assert!(kind(Some("admin"), false, true).is_err());
    }
}
