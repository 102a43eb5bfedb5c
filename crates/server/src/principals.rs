//! Policy principals bound to unique ids, as IAM binds them.
//!
//! A resource-based policy (a role's trust policy, an ECR repository policy) that names an
//! IAM user or role of this account by ARN names the entity that held that ARN when the policy
//! was stored, never whoever is created under the name later. So the ARNs are resolved to the
//! entities' unique ids (`AIDA...`, `AROA...`) when the policy is stored, kept beside its text
//! as `{"ARN": "ID"}`, and mapped back every time the policy is read: to the entity's ARN now
//! (a renamed user's new one), or, once the entity is gone, to its unique id, which matches no
//! caller. What is read is what is evaluated and what GetRole, ListRoles,
//! GetAccountAuthorizationDetails and GetRepositoryPolicy show, as AWS shows it.
//!
//! A principal naming a user or role of this account that does not exist is refused when the
//! policy is stored (IAM's `Invalid principal in policy`). Other accounts' principals, the
//! account itself, role sessions and services are left as written.

use std::collections::BTreeMap;

use aws_protocol::AwsError;
use serde_json::Value as Json;
use store::Store;

use crate::errors::internal;
use crate::iam::model::entities::{self, Kind};

/// A policy's bound principals: ARN as written to unique id.
pub type Bindings = BTreeMap<String, String>;

/// Why a policy's principals could not be bound.
#[derive(Debug)]
pub enum BindError {
    /// The ARN names a user or role of this account that does not exist.
    NoSuchPrincipal(String),
    Store(AwsError),
}

/// A user or role ARN of `account`: its kind (`user` or `role`) and its name.
fn entity_of<'a>(account: &str, arn: &'a str) -> Option<(&'static str, &'a str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?.strip_prefix(account)?.strip_prefix(':')?;
    let (kind, path_and_name) = if let Some(rest) = rest.strip_prefix("user/") {
        ("user", rest)
    } else {
        ("role", rest.strip_prefix("role/")?)
    };
    let name = path_and_name.rsplit('/').next().filter(|name| !name.is_empty())?;
    Some((kind, name))
}

/// Every `AWS` value of every `Principal` and `NotPrincipal` element, mutably.
fn aws_principals(document: &mut Json) -> Vec<&mut Json> {
    let statements: Vec<&mut Json> = match document.get_mut("Statement") {
        Some(Json::Array(statements)) => statements.iter_mut().collect(),
        Some(statement @ Json::Object(_)) => vec![statement],
        _ => Vec::new(),
    };
    let mut values = Vec::new();
    for statement in statements {
        let Json::Object(statement) = statement else { continue };
        for (key, element) in statement.iter_mut() {
            if key != "Principal" && key != "NotPrincipal" {
                continue;
            }
            match element.get_mut("AWS") {
                Some(Json::Array(items)) => values.extend(items.iter_mut()),
                Some(value @ Json::String(_)) => values.push(value),
                _ => {}
            }
        }
    }
    values
}

/// How [`lookup`] finds an entity.
enum By<'a> {
    /// Its name, compared case-insensitively.
    Name(&'a str),
    /// Its unique id.
    Id(&'a str),
}

/// The current ARN and unique id of the user or role (`kind`: `user` or `role`) found `by`.
async fn lookup(store: &Store, account: &str, kind: &str, by: By<'_>) -> Result<Option<(String, String)>, AwsError> {
    let kind = if kind == "user" { Kind::User } else { Kind::Role };
    let found = match by {
        By::Name(name) => entities::find(store, account, kind, name).await,
        By::Id(id) => entities::find_by_id(store, account, kind, id).await,
    };
    Ok(found.map_err(internal)?.map(|entity| (entity.arn(account), entity.id)))
}

/// Binds the user and role ARNs `document` names as principals to their unique ids: the
/// `{"ARN": "ID"}` text to store beside it. An ARN naming no entity is refused, unless
/// `lenient` (policies stored before binding existed), when it is bound to a fresh id that no
/// entity has: whoever held it is gone, and nobody made since inherits it.
pub async fn bind(store: &Store, account: &str, document: &str, lenient: bool) -> Result<String, BindError> {
    let mut parsed: Json = serde_json::from_str(document).unwrap_or(Json::Null);
    let mut bindings = Bindings::new();
    for value in aws_principals(&mut parsed) {
        let Some(arn) = value.as_str() else { continue };
        let Some((kind, name)) = entity_of(account, arn) else { continue };
        let found = lookup(store, account, kind, By::Name(name)).await.map_err(BindError::Store)?;
        let id = match found {
            Some((current, id)) if current == arn => id,
            _ if lenient => {
                let prefix = if kind == "user" { "AIDA" } else { "AROA" };
                crate::ids::unique_id(prefix).map_err(|error| BindError::Store(internal(error)))?
            }
            _ => return Err(BindError::NoSuchPrincipal(arn.to_owned())),
        };
        bindings.insert(arn.to_owned(), id);
    }
    serde_json::to_string(&bindings).map_err(|error| BindError::Store(internal(error)))
}

/// The policy `document` as it reads now, its bound principals (`bindings`, as [`bind`]
/// made them) mapped to their entities' current ARNs, or to their unique ids once gone. The
/// text is returned as stored while every bound principal still holds its ARN.
pub async fn resolve(store: &Store, account: &str, document: &str, bindings: Option<&str>) -> Result<String, AwsError> {
    let bindings: Bindings = bindings.and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default();
    let mut replacements = BTreeMap::new();
    for (arn, id) in &bindings {
        let Some((kind, _)) = entity_of(account, arn) else { continue };
        let current = lookup(store, account, kind, By::Id(id)).await?.map(|(current, _)| current);
        if current.as_deref() != Some(arn.as_str()) {
            replacements.insert(arn.as_str(), current.unwrap_or_else(|| id.clone()));
        }
    }
    if replacements.is_empty() {
        return Ok(document.to_owned());
    }
    let Ok(mut parsed) = serde_json::from_str::<Json>(document) else { return Ok(document.to_owned()) };
    for value in aws_principals(&mut parsed) {
        if let Some(replacement) = value.as_str().and_then(|arn| replacements.get(arn)) {
            *value = Json::String(replacement.clone());
        }
    }
    serde_json::to_string(&parsed).map_err(internal)
}

/// Binds the principals of the policies stored before binding existed (their bindings are
/// NULL): at start, before any request is served.
pub async fn bind_stored(store: &Store) -> Result<(), AwsError> {
    let roles = store
        .query("SELECT account_id, role_id, trust_policy FROM roles WHERE trust_principals IS NULL", vec![])
        .await
        .map_err(internal)?;
    for row in &roles {
        let (account, id, document) =
            (row.text(0).map_err(internal)?, row.text(1).map_err(internal)?, row.text(2).map_err(internal)?);
        let bindings = bind(store, &account, &document, true).await.map_err(stored_error)?;
        store
            .execute(
                "UPDATE roles SET trust_principals = ? WHERE account_id = ? AND role_id = ? AND trust_principals IS NULL",
                vec![bindings.into(), account.into(), id.into()],
            )
            .await
            .map_err(internal)?;
    }
    let repositories = store
        .query(
            "SELECT account_id, name, policy FROM ecr_repositories WHERE policy IS NOT NULL AND policy_principals IS NULL",
            vec![],
        )
        .await
        .map_err(internal)?;
    for row in &repositories {
        let (account, name, document) =
            (row.text(0).map_err(internal)?, row.text(1).map_err(internal)?, row.text(2).map_err(internal)?);
        let bindings = bind(store, &account, &document, true).await.map_err(stored_error)?;
        store
            .execute(
                "UPDATE ecr_repositories SET policy_principals = ? WHERE account_id = ? AND name = ? AND policy_principals IS NULL",
                vec![bindings.into(), account.into(), name.into()],
            )
            .await
            .map_err(internal)?;
    }
    Ok(())
}

fn stored_error(error: BindError) -> AwsError {
    match error {
        BindError::Store(error) => error,
        BindError::NoSuchPrincipal(arn) => internal(format!("unbound principal `{arn}`")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn only_this_accounts_users_and_roles_are_entities() {
        let account = "111122223333";
        assert_eq!(entity_of(account, "arn:aws:iam::111122223333:user/bob"), Some(("user", "bob")));
        assert_eq!(entity_of(account, "arn:aws:iam::111122223333:role/ops/deploy"), Some(("role", "deploy")));
        assert_eq!(entity_of(account, "arn:aws:iam::444455556666:user/bob"), None);
        assert_eq!(entity_of(account, "arn:aws:iam::111122223333:root"), None);
        assert_eq!(entity_of(account, "arn:aws:sts::111122223333:assumed-role/r/s"), None);
        assert_eq!(entity_of(account, "111122223333"), None);
    }

    /// A trust policy stored before binding: its principal that exists is bound at start and
    /// read as its id once deleted; one already gone is bound to an id nobody has.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn policies_stored_before_are_bound_at_start() {
        let root = std::env::temp_dir().join(format!("homeport-principals-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let store = Store::open(root.join("db").to_str().unwrap()).await.unwrap();
        crate::schema::migrate(&store, "us-east-1").await.unwrap();
        let account = "111122223333";
        store
            .execute(
                "INSERT INTO users (account_id, name_key, name, user_id, path, created_at)
                 VALUES (?, 'bob', 'bob', 'AIDABOB', '/', 1)",
                vec![account.into()],
            )
            .await
            .unwrap();
        let trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/bob","arn:aws:iam::111122223333:user/gone","arn:aws:iam::444455556666:user/bob"]},"Action":"sts:AssumeRole"}}"#;
        store
            .execute(
                "INSERT INTO roles (account_id, name_key, name, role_id, path, created_at, max_session_duration, trust_policy)
                 VALUES (?, 'r', 'r', 'AROAR', '/', 1, 3600, ?)",
                vec![account.into(), trust.into()],
            )
            .await
            .unwrap();
        bind_stored(&store).await.unwrap();
        let rows = store.query("SELECT trust_principals FROM roles", vec![]).await.unwrap();
        let bindings: Bindings = serde_json::from_str(&rows[0].text(0).unwrap()).unwrap();
        assert_eq!(bindings.len(), 2, "{bindings:?}");
        assert_eq!(bindings["arn:aws:iam::111122223333:user/bob"], "AIDABOB");
        let gone = bindings["arn:aws:iam::111122223333:user/gone"].clone();
        assert!(gone.starts_with("AIDA") && gone.len() > 4, "{gone}");
        let text = rows[0].text(0).unwrap();
        let read = resolve(&store, account, trust, Some(&text)).await.unwrap();
        assert!(read.contains("user/bob") && !read.contains("user/gone") && read.contains(&gone), "{read}");
        store.execute("DELETE FROM users WHERE user_id = 'AIDABOB'", vec![]).await.unwrap();
        let read: Json = serde_json::from_str(&resolve(&store, account, trust, Some(&text)).await.unwrap()).unwrap();
        assert_eq!(
            read["Statement"]["Principal"]["AWS"],
            serde_json::json!(["AIDABOB", gone, "arn:aws:iam::444455556666:user/bob"])
        );
        assert!(matches!(bind(&store, account, trust, false).await, Err(BindError::NoSuchPrincipal(_))));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn principals_are_found_in_every_statement_form() {
        let mut document: Json = serde_json::from_str(
            r#"{"Statement":[{"Principal":{"AWS":["a","b"]}},{"NotPrincipal":{"AWS":"c"}},{"Principal":"*"},
                {"Principal":{"Service":"ecs-tasks.amazonaws.com"}}]}"#,
        )
        .unwrap();
        let found: Vec<String> =
            aws_principals(&mut document).into_iter().map(|v| v.as_str().unwrap().to_owned()).collect();
        assert_eq!(found, ["a", "b", "c"]);
        let mut single: Json = serde_json::from_str(r#"{"Statement":{"Principal":{"AWS":"d"}}}"#).unwrap();
        assert_eq!(aws_principals(&mut single).len(), 1);
    }
}
