//! What Parameter Store's operations share: names (AWS's rules, hierarchies, selectors,
//! parameter ARNs), key ids, tiers, errors, and a stored version as the API shows it (a
//! SecureString opened with the master key only when asked to decrypt it).
//!
//! A parameter's ARN is `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`, without a second slash
//! for a name that starts with one (`/app/db` is `parameter/app/db`). Operations are
//! authorized on that ARN, whatever spelling (name or ARN) the request used.

use aws_protocol::AwsError;
use base64::Engine;
use serde_json::{Value as Json, json};

use crate::operations::{Ctx, internal};
use crate::ssm::model::parameter::{ParameterVersion, StoredValue, seal_context};
use crate::ssm::validation_exception;

/// The key a SecureString is encrypted with when the request names none.
pub const DEFAULT_KEY: &str = "alias/aws/ssm";
/// Levels a parameter's hierarchy may have.
const MAX_LEVELS: usize = 15;
/// The longest value of each tier, in characters.
pub const STANDARD_VALUE: usize = 4_096;
pub const ADVANCED_VALUE: usize = 8_192;

pub fn parameter_not_found(name: &str) -> AwsError {
    AwsError::new("ParameterNotFound", 400, format!("Parameter {name} not found."))
}

pub fn version_not_found(name: &str, selector: &str) -> AwsError {
    AwsError::new(
        "ParameterVersionNotFound",
        400,
        format!("Systems Manager could not find version {selector} of {name}. Verify the version and try again."),
    )
}

fn invalid_name() -> AwsError {
    validation_exception(
        "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_",
    )
}

/// Checks a parameter name as PutParameter does: 1 to 2,048 characters of letters, digits
/// and `.-_/`; not prefixed with `aws` or `ssm` (any case, with or without a leading slash);
/// a name with a slash is a path starting with one, without empty levels, of at most 15 levels.
pub fn check_name(name: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.len() > 2048 {
        return Err(validation_exception(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must have length between 1 and 2048"
        )));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/');
    let first = name.trim_start_matches('/').to_ascii_lowercase();
    if !name.chars().all(allowed) || first.starts_with("aws") || first.starts_with("ssm") {
        return Err(invalid_name());
    }
    if name.contains('/') {
        if !name.starts_with('/') {
            return Err(validation_exception("Parameter name must be a fully qualified name."));
        }
        let levels: Vec<&str> = name.split('/').skip(1).collect();
        if levels.iter().any(|level| level.is_empty()) {
            return Err(invalid_name());
        }
        if levels.len() > MAX_LEVELS {
            return Err(AwsError::new(
                "HierarchyLevelLimitExceededException",
                400,
                "A hierarchy can have a maximum of 15 levels. For more information, see Requirements and constraints for parameter names in the Amazon Web Services Systems Manager User Guide.",
            ));
        }
    }
    Ok(())
}

/// A path of GetParametersByPath: `/`, or a name starting with `/` (a trailing slash allowed).
pub fn check_path(path: &str) -> Result<(), AwsError> {
    let trimmed = path.trim_end_matches('/');
    if !path.starts_with('/') || (!trimmed.is_empty() && check_name(trimmed).is_err()) {
        return Err(validation_exception(
            "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.",
        ));
    }
    Ok(())
}

/// `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME` (one slash for a name starting with one).
pub fn parameter_arn(ctx: &Ctx<'_>, name: &str) -> String {
    format!("arn:aws:ssm:{}:{}:parameter/{}", ctx.region(), ctx.account(), name.trim_start_matches('/'))
}

/// What a request names: a parameter name, or its ARN in this account and region, each
/// optionally with a selector (`:3`, `:label`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The names it may be: one for a name; for an ARN, `/NAME` then `NAME` (the ARN of
    /// `/db` and of `db` are the same).
    pub candidates: Vec<String>,
    pub selector: Option<Selector>,
    /// As sent (the `InvalidParameters` of GetParameters echo it).
    pub spelled: String,
}

/// A version number or a label after the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Version(i64),
    Label(String),
}

impl Selector {
    pub fn text(&self) -> String {
        match self {
            Selector::Version(version) => version.to_string(),
            Selector::Label(label) => label.clone(),
        }
    }
}

/// Reads a request's `Name` (a name or ARN, with an optional selector).
pub fn reference(ctx: &Ctx<'_>, spelled: &str) -> Result<Reference, AwsError> {
    let prefix = format!("arn:aws:ssm:{}:{}:parameter/", ctx.region(), ctx.account());
    let (names, selector): (Vec<String>, Option<&str>) = if let Some(rest) = spelled.strip_prefix(&prefix) {
        let (name, selector) = match rest.split_once(':') {
            Some((name, selector)) => (name, Some(selector)),
            None => (rest, None),
        };
        (vec![format!("/{name}"), name.to_owned()], selector)
    } else if spelled.starts_with("arn:") {
        return Err(validation_exception(format!("Parameter ARN {spelled} is not of this account and region.")));
    } else {
        match spelled.split_once(':') {
            Some((name, selector)) => (vec![name.to_owned()], Some(selector)),
            None => (vec![spelled.to_owned()], None),
        }
    };
    let selector = match selector {
        None => None,
        Some(text) if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) => {
            Some(Selector::Version(text.parse().map_err(|_| version_not_found(spelled, text))?))
        }
        Some(text) if !text.is_empty() => Some(Selector::Label(text.to_owned())),
        Some(_) => return Err(validation_exception(format!("Parameter name {spelled} has an empty selector."))),
    };
    Ok(Reference { candidates: names, selector, spelled: spelled.to_owned() })
}

impl Reference {
    /// The ARN it is authorized on.
    pub fn arn(&self, ctx: &Ctx<'_>) -> String {
        parameter_arn(ctx, self.candidates.first().map(String::as_str).unwrap_or_default())
    }
}

/// A SecureString's `KeyId`: `alias/aws/ssm` when not given; an alias (`alias/NAME`), a key
/// id (a UUID or `mrk-` and 32 hex digits), or a key or alias ARN otherwise.
pub fn key_id(given: Option<&str>) -> Result<String, AwsError> {
    let Some(key) = given else { return Ok(DEFAULT_KEY.to_owned()) };
    if is_kms_key_id(key) {
        Ok(key.to_owned())
    } else {
        Err(AwsError::new("InvalidKeyId", 400, format!("Invalid keyId {key}")))
    }
}

/// Whether `key` is spelled as KMS spells a key: an alias (`alias/NAME`), a key id (a UUID
/// or `mrk-` and 32 hex digits), or a key or alias ARN.
pub fn is_kms_key_id(key: &str) -> bool {
    let uuid = |text: &str| {
        let parts: Vec<&str> = text.split('-').collect();
        parts.iter().map(|part| part.len()).eq([8, 4, 4, 4, 12])
            && parts.iter().all(|part| part.chars().all(|c| c.is_ascii_hexdigit()))
    };
    let multi_region = |text: &str| {
        text.strip_prefix("mrk-").is_some_and(|hex| hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()))
    };
    let alias = |text: &str| {
        text.strip_prefix("alias/").is_some_and(|name| {
            !name.is_empty()
                && name.len() <= 250
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'))
        })
    };
    let arn = |text: &str| {
        let parts: Vec<&str> = text.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", "aws", "kms", region, account, resource] => {
                !region.is_empty()
                    && account.len() == 12
                    && account.chars().all(|c| c.is_ascii_digit())
                    && (resource.strip_prefix("key/").is_some_and(|id| uuid(id) || multi_region(id)) || alias(resource))
            }
            _ => false,
        }
    };
    uuid(key) || multi_region(key) || alias(key) || arn(key)
}

/// A stored version's value as the API answers it: a SecureString's plaintext only when
/// `decrypt`, else its ciphertext (base64 of the sealed bytes), as Parameter Store shows it.
pub fn shown_value(ctx: &Ctx<'_>, version: &ParameterVersion, decrypt: bool) -> Result<String, AwsError> {
    match &version.value {
        StoredValue::Plain(text) => Ok(text.clone()),
        StoredValue::Sealed(sealed) if decrypt => {
            let context = seal_context(ctx.account(), ctx.region(), &version.name, version.version);
            let opened = ctx.app.sealer.open(sealed, &context).map_err(internal)?;
            String::from_utf8(opened).map_err(internal)
        }
        StoredValue::Sealed(sealed) => Ok(base64::engine::general_purpose::STANDARD.encode(sealed)),
    }
}

/// The `Parameter` shape of GetParameter(s) and GetParametersByPath.
pub fn parameter_json(
    ctx: &Ctx<'_>,
    version: &ParameterVersion,
    decrypt: bool,
    selector: Option<&str>,
) -> Result<Json, AwsError> {
    let mut parameter = json!({
        "Name": version.name,
        "Type": version.kind,
        "Value": shown_value(ctx, version, decrypt)?,
        "Version": version.version,
        "LastModifiedDate": version.modified_at,
        "ARN": parameter_arn(ctx, &version.name),
        "DataType": version.data_type,
    });
    if let Some(selector) = selector {
        crate::ssm::put(&mut parameter, "Selector", format!(":{selector}"));
    }
    Ok(parameter)
}

/// `WithDecryption`.
pub fn with_decryption(body: &Json) -> bool {
    body.get("WithDecryption").and_then(Json::as_bool).unwrap_or(false)
}

/// The version a selector picks among `versions` (the latest without one).
pub fn select<'a>(versions: &'a [ParameterVersion], selector: Option<&Selector>) -> Option<&'a ParameterVersion> {
    match selector {
        None => versions.last(),
        Some(Selector::Version(number)) => versions.iter().find(|v| v.version == *number),
        Some(Selector::Label(label)) => versions.iter().find(|v| v.labels.contains(label)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_parameter_stores_rules() {
        for good in ["db", "/app/db", "/a.b-c_d/e", "app.db", "/awsome-not/but/x"] {
            let ok = check_name(good).is_ok();
            assert_eq!(ok, !good.trim_start_matches('/').starts_with("aws"), "{good}");
        }
        for bad in ["aws.x", "/ssm/x", "/AWS/x", "a b", "a/b", "/a//b", "", "/a/", "x$"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        let deep = "/l".repeat(15);
        assert!(check_name(&deep).is_ok());
        let error = check_name(&"/l".repeat(16)).unwrap_err();
        assert_eq!(error.code, "HierarchyLevelLimitExceededException");
        assert!(check_path("/").is_ok() && check_path("/app/").is_ok() && check_path("app").is_err());
    }

    #[test]
    fn key_ids_take_kms_spellings() {
        assert_eq!(key_id(None).unwrap(), "alias/aws/ssm");
        for good in [
            "alias/mine",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:alias/mine",
        ] {
            assert_eq!(key_id(Some(good)).unwrap(), good);
        }
        for bad in ["mine", "alias/", "arn:aws:kms:us-east-1:1:key/x", "1234"] {
            assert_eq!(key_id(Some(bad)).unwrap_err().code, "InvalidKeyId", "{bad}");
        }
    }
}
