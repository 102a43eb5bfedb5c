//! The AWS managed policy catalogue, shipped in the binary: all of IAM's
//! `arn:aws:iam::aws:policy/...` policies (1,315, `managed-policies/catalogue.zlib`, made by
//! `scripts/managed-catalogue.py`). Attaching one never copies it, so decisions follow the
//! catalogue.
//!
//! Guarantees: nothing is decoded until an AWS managed policy is first asked for (an ARN
//! outside `arn:aws:iam::aws:policy/` never decodes it), then the whole artefact is inflated
//! once (about 3 ms) into one text and an index of its entries sorted by ARN; a document is
//! parsed only when a decision or an analysis first needs it, once per process.

use std::sync::{Arc, OnceLock};

use iam_policy::Policy;

/// The catalogue: its length, then zlib (see `scripts/managed-catalogue.py` for its layout).
static ARTEFACT: &[u8] = include_bytes!("../../../../../managed-policies/catalogue.zlib");

/// What the decoded artefact may be at most (it is about 3.2 MB); a larger one is refused.
const MAX_DECODED: usize = 16 << 20;

const HEADER: &str = "homeport-managed-policies 1";

/// What every AWS managed policy's ARN begins with.
pub const ARN_PREFIX: &str = "arn:aws:iam::aws:policy/";

/// One AWS managed policy: its facts as IAM reports them and its default version's document.
pub struct ManagedPolicy {
    pub arn: &'static str,
    pub name: &'static str,
    pub path: &'static str,
    pub policy_id: &'static str,
    pub default_version: &'static str,
    /// Whether it can be attached (or made a boundary); one AWS policy cannot.
    pub attachable: bool,
    /// Seconds since the epoch: the policy's creation and last update, and its default
    /// version's creation.
    pub created_at: i64,
    pub updated_at: i64,
    pub version_created_at: i64,
    /// The default version's document.
    pub document: &'static str,
    parsed: OnceLock<Option<Arc<Policy>>>,
}

impl ManagedPolicy {
    /// The document, parsed on first use (`None` if it does not parse), shared by every
    /// holder (a clone is a reference count, whatever the document's size).
    pub fn policy(&self) -> Option<&Arc<Policy>> {
        self.parsed.get_or_init(|| Policy::parse(self.document).ok().map(Arc::new)).as_ref()
    }
}

/// Every AWS managed policy, sorted by ARN (decoded on first use).
pub fn catalogue() -> &'static [ManagedPolicy] {
    static TEXT: OnceLock<String> = OnceLock::new();
    static ENTRIES: OnceLock<Vec<ManagedPolicy>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        let text = TEXT.get_or_init(|| match decode(ARTEFACT) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(%error, "the AWS managed policy catalogue does not decode: serving none");
                String::new()
            }
        });
        index(text).unwrap_or_else(|error| {
            tracing::error!(%error, "the AWS managed policy catalogue does not index: serving none");
            Vec::new()
        })
    })
}

/// The artefact inflated into its text: a buffer of the length it states, filled exactly
/// (inflating into a growing vector would hold up to twice the text for the process's life).
fn decode(artefact: &[u8]) -> Result<String, String> {
    let (length, stream) = artefact.split_first_chunk::<4>().ok_or("no length")?;
    let length = usize::try_from(u32::from_le_bytes(*length)).map_err(|error| error.to_string())?;
    if length > MAX_DECODED {
        return Err(format!("{length} bytes is more than a catalogue"));
    }
    let mut bytes = vec![0; length];
    let written =
        miniz_oxide::inflate::decompress_slice_iter_to_slice(&mut bytes, std::iter::once(stream), true, false)
            .map_err(|status| format!("inflate: {status:?}"))?;
    if written != length {
        return Err(format!("{written} bytes inflated, {length} stated"));
    }
    String::from_utf8(bytes).map_err(|error| error.to_string())
}

/// The entries of a decoded text: the lines of facts, then the documents back to back.
fn index(text: &'static str) -> Result<Vec<ManagedPolicy>, String> {
    let mut rest = text;
    let mut line = || -> Result<&'static str, String> {
        let (line, after) = rest.split_once('\n').ok_or("cut short")?;
        rest = after;
        Ok(line)
    };
    if line()? != HEADER {
        return Err("not a catalogue of this layout".to_owned());
    }
    let count: usize = line()?.parse().map_err(|_| "no count")?;
    // Grown line by line, never sized by the stated count.
    let mut facts = Vec::new();
    for _ in 0..count {
        facts.push(line()?);
    }
    let documents = rest;
    let mut offset: usize = 0;
    let mut entries = Vec::with_capacity(facts.len());
    for facts in facts {
        let fields: Vec<&str> = facts.split('\t').collect();
        let &[arn, policy_id, default_version, attachable, created, updated, version_created, length] =
            fields.as_slice()
        else {
            return Err(format!("a line of {} fields: {facts}", fields.len()));
        };
        let number = |text: &str| text.parse::<i64>().map_err(|_| format!("not a number: {text}"));
        let length: usize = length.parse().map_err(|_| format!("not a length: {length}"))?;
        let end = offset.saturating_add(length);
        let document = documents.get(offset..end).ok_or_else(|| format!("{arn}: the document is cut short"))?;
        offset = end;
        let path_and_name = arn.strip_prefix("arn:aws:iam::aws:policy").ok_or_else(|| format!("not AWS's: {arn}"))?;
        let name_at = path_and_name.rfind('/').map_or(0, |slash| slash + 1);
        let (path, name) = path_and_name.split_at(name_at);
        entries.push(ManagedPolicy {
            arn,
            name,
            path,
            policy_id,
            default_version,
            attachable: attachable == "1",
            created_at: number(created)?,
            updated_at: number(updated)?,
            version_created_at: number(version_created)?,
            document,
            parsed: OnceLock::new(),
        });
    }
    if offset != documents.len() {
        return Err(format!("{} bytes after the last document", documents.len().saturating_sub(offset)));
    }
    if !entries.windows(2).all(|pair| matches!(pair, [a, b] if a.arn < b.arn)) {
        return Err("entries not sorted by ARN".to_owned());
    }
    Ok(entries)
}

/// The root user's own permissions, parsed once: everything (AdministratorAccess's
/// statement, without decoding the catalogue for it).
pub fn root_permissions() -> Option<&'static Arc<Policy>> {
    static ROOT: OnceLock<Option<Arc<Policy>>> = OnceLock::new();
    ROOT.get_or_init(|| {
        Policy::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
            .ok()
            .map(Arc::new)
    })
    .as_ref()
}

/// What stands in for a bounding policy that no longer exists (a deleted boundary or managed
/// session policy): nothing is allowed, rather than everything.
pub const DENIES_EVERYTHING: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#;

/// The managed policy of an ARN (exactly: the path is part of it).
pub fn find(arn: &str) -> Option<&'static ManagedPolicy> {
    if !arn.starts_with(ARN_PREFIX) {
        return None;
    }
    let all = catalogue();
    all.binary_search_by(|policy| policy.arn.cmp(arn)).ok().and_then(|index| all.get(index))
}

/// The parsed document of a managed policy (parsed once per process).
pub fn parsed(arn: &str) -> Option<&'static Arc<Policy>> {
    find(arn)?.policy()
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
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn the_whole_catalogue_decodes_and_every_document_parses_under_its_arn() {
        let all = catalogue();
        assert_eq!(all.len(), 1315);
        for policy in all {
            assert!(policy.policy().is_some(), "{}", policy.arn);
            assert_eq!(format!("arn:aws:iam::aws:policy{}{}", policy.path, policy.name), policy.arn);
            assert!(policy.path.starts_with('/') && policy.path.ends_with('/'), "{}", policy.arn);
            assert!(policy.policy_id.starts_with("ANPA"), "{}", policy.arn);
            assert!(std::ptr::eq(find(policy.arn).unwrap(), policy));
            assert!(std::ptr::eq(parsed(policy.arn).unwrap(), policy.policy().unwrap()), "parsed once");
        }
        assert_eq!(
            all.iter().filter(|policy| !policy.attachable).map(|policy| policy.name).collect::<Vec<_>>(),
            ["AWSConfigRole"]
        );
        let ec2 = find("arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role").unwrap();
        assert_eq!((ec2.path, ec2.policy_id, ec2.default_version), ("/service-role/", "ANPAJLYJCVHC7TQHCSQDS", "v10"));
        assert!(
            find("arn:aws:iam::aws:policy/AmazonEC2ContainerServiceforEC2Role").is_none(),
            "the path is part of the ARN"
        );
        assert!(find("arn:aws:iam::aws:policy/readonlyaccess").is_none(), "ARNs are exact");
        assert!(find("arn:aws:iam::123456789012:policy/ReadOnlyAccess").is_none());
    }

    #[test]
    fn the_shipped_documents_are_the_ones_the_policy_library_tests() {
        // The nine documents `managed-policies/*.json` keep for iam-policy's tests and corpus
        // are the catalogue's, byte for byte (but their final newline).
        for (name, text) in [
            ("AdministratorAccess", include_str!("../../../../../managed-policies/AdministratorAccess.json")),
            ("IAMReadOnlyAccess", include_str!("../../../../../managed-policies/IAMReadOnlyAccess.json")),
            ("AmazonECS_FullAccess", include_str!("../../../../../managed-policies/AmazonECS_FullAccess.json")),
        ] {
            assert_eq!(find(&format!("{ARN_PREFIX}{name}")).unwrap().document, text.trim_end(), "{name}");
        }
    }

    #[test]
    fn a_damaged_artefact_is_refused_not_misread() {
        assert!(decode(&ARTEFACT[..ARTEFACT.len() / 2]).is_err(), "cut short");
        let mut longer = ARTEFACT.to_vec();
        longer[0] = longer[0].wrapping_add(1);
        assert!(decode(&longer).is_err(), "a length that is not the text's");
        assert!(decode(&[0xff, 0xff, 0xff, 0x7f]).is_err(), "more than a catalogue");
        assert!(index("homeport-managed-policies 2\n0\n").is_err());
        assert!(index("homeport-managed-policies 1\n18446744073709551615\n").is_err(), "a count beyond the lines");
        let one = "homeport-managed-policies 1\n1\narn:aws:iam::aws:policy/A\tANPA1\tv1\t1\t1\t2\t3\t2\n{}";
        let entries = index(one).unwrap();
        assert_eq!((entries[0].name, entries[0].path, entries[0].document), ("A", "/", "{}"));
        assert!(index(format!("{one}x").leak()).is_err(), "bytes after the last document");
        assert!(index(&one[..one.len() - 1]).is_err(), "a document cut short");
    }

    #[test]
    fn root_permissions_allow_everything() {
        assert!(root_permissions().is_some());
    }
}
