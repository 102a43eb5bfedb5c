//! The AWS managed policy catalogue, shipped in the binary: the real documents of
//! `managed-policies/`, parsed once. Attaching one never copies it, so decisions follow
//! the catalogue.

use std::sync::OnceLock;

use iam_policy::Policy;

/// One AWS managed policy.
pub struct ManagedPolicy {
    pub name: &'static str,
    pub arn: &'static str,
    pub path: &'static str,
    pub policy_id: &'static str,
    pub default_version: &'static str,
    pub document: &'static str,
}

macro_rules! managed {
    ($name:literal, $path:literal, $id:literal, $version:literal) => {
        ManagedPolicy {
            name: $name,
            arn: concat!("arn:aws:iam::aws:policy", $path, $name),
            path: $path,
            policy_id: $id,
            default_version: $version,
            document: include_str!(concat!("../../../../../managed-policies/", $name, ".json")),
        }
    };
}

/// Every AWS managed policy Homeport knows (their ids and versions from the IAM API).
pub static CATALOGUE: &[ManagedPolicy] = &[
    managed!("AmazonSSMManagedInstanceCore", "/", "ANPAIXSHM2BNB2D3AXXRU", "v2"),
    managed!("AmazonEC2ContainerServiceforEC2Role", "/service-role/", "ANPAJLYJCVHC7TQHCSQDS", "v10"),
    managed!("AmazonECSTaskExecutionRolePolicy", "/service-role/", "ANPAJG4T4G4PV56DE72PY", "v1"),
    managed!("AmazonEC2ContainerRegistryReadOnly", "/", "ANPAIFYZPA37OOHVIH7KQ", "v3"),
    managed!("CloudWatchLogsFullAccess", "/", "ANPAJ3ZGNWK2R5HW5BQFO", "v8"),
    managed!("AdministratorAccess", "/", "ANPAIWMBCKSKIEE64ZLYK", "v1"),
    managed!("PowerUserAccess", "/", "ANPAJYRXTHIB4FOVS3ZXS", "v12"),
    managed!("IAMReadOnlyAccess", "/", "ANPAJKSO7NDY4T57MWDSQ", "v4"),
    managed!("AmazonECS_FullAccess", "/", "ANPAJ7S7AN6YQPTJC7IFS", "v21"),
];

/// The policy that allows everything (what the root user's own permissions amount to).
pub const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// What stands in for a bounding policy that no longer exists (a deleted boundary or managed
/// session policy): nothing is allowed, rather than everything.
pub const DENIES_EVERYTHING: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#;

/// The managed policy of an ARN.
pub fn find(arn: &str) -> Option<&'static ManagedPolicy> {
    CATALOGUE.iter().find(|policy| policy.arn == arn)
}

/// The parsed document of a managed policy (parsed once per process).
pub fn parsed(arn: &str) -> Option<&'static Policy> {
    static PARSED: OnceLock<Vec<Option<Policy>>> = OnceLock::new();
    let all = PARSED.get_or_init(|| CATALOGUE.iter().map(|policy| Policy::parse(policy.document).ok()).collect());
    let index = CATALOGUE.iter().position(|policy| policy.arn == arn)?;
    all.get(index)?.as_ref()
}

/// The default version's document of a managed policy: the catalogue's for AWS managed
/// policies, the store's for the account's own. `None` when no such policy exists.
pub async fn document(store: &store::Store, account: &str, arn: &str) -> Result<Option<String>, store::StoreError> {
    if let Some(policy) = find(arn) {
        return Ok(Some(policy.document.to_owned()));
    }
    let rows = store
        .query(
            "SELECT v.document FROM managed_policies p
             JOIN policy_versions v ON v.policy_arn = p.arn AND v.version_id = p.default_version
             WHERE p.arn = ? AND p.account_id = ?",
            vec![arn.into(), account.into()],
        )
        .await?;
    rows.first().map(|row| row.text(0)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_document_parses_under_its_arn() {
        for policy in CATALOGUE {
            assert!(parsed(policy.arn).is_some(), "{}", policy.arn);
            assert!(policy.arn.ends_with(policy.name));
        }
        assert_eq!(
            find("arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role").map(|p| p.path),
            Some("/service-role/")
        );
        assert!(
            find("arn:aws:iam::aws:policy/AmazonEC2ContainerServiceforEC2Role").is_none(),
            "the path is part of the ARN"
        );
    }
}
