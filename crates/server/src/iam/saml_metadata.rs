//! A SAML 2.0 metadata document, checked for the structure IAM needs of it: well-formed XML
//! (elements nest and close, attributes quoted; no DTD, so no entity can expand), an
//! `EntityDescriptor` root holding an `IDPSSODescriptor` with at least one signing
//! `KeyDescriptor` (`use="signing"` or no `use`) whose `X509Certificate` is base64, and the
//! root's `validUntil`, when present, an ISO 8601 time. Pure, linear in the document, never
//! panics; names compare by their local part (any namespace prefix).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// What IAM keeps of a valid document beside its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Metadata {
    /// The root's `validUntil`, in seconds since the epoch.
    pub valid_until: Option<i64>,
    /// How many signing certificates the identity provider publishes.
    pub signing_certificates: usize,
}

/// Why a document was refused (IAM answers every such refusal `InvalidInput`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused(pub String);

fn refused(why: impl Into<String>) -> Refused {
    Refused(why.into())
}

/// The local part of a qualified name (`md:EntityDescriptor` -> `EntityDescriptor`).
fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// One start tag's name and attributes, `self_closing` when it ends with `/>`.
struct StartTag<'a> {
    name: &'a str,
    attributes: Vec<(&'a str, &'a str)>,
    self_closing: bool,
}

fn start_tag(inner: &str) -> Result<StartTag<'_>, Refused> {
    let (inner, self_closing) = match inner.strip_suffix('/') {
        Some(inner) => (inner, true),
        None => (inner, false),
    };
    let name_end = inner.find(|c: char| c.is_whitespace()).unwrap_or(inner.len());
    let name = inner.get(..name_end).unwrap_or_default();
    if name.is_empty() {
        return Err(refused("an element has no name"));
    }
    let mut rest = inner.get(name_end..).unwrap_or_default().trim_start();
    let mut attributes = Vec::new();
    while !rest.is_empty() {
        let (attribute, after) =
            rest.split_once('=').ok_or_else(|| refused(format!("a malformed attribute in <{name}>")))?;
        let after = after.trim_start();
        let quote =
            after.chars().next().filter(|c| *c == '"' || *c == '\'').ok_or_else(|| refused("an unquoted attribute"))?;
        let value_and_rest = after.get(1..).unwrap_or_default();
        let end = value_and_rest.find(quote).ok_or_else(|| refused("an unterminated attribute"))?;
        attributes.push((attribute.trim(), value_and_rest.get(..end).unwrap_or_default()));
        rest = value_and_rest.get(end + 1..).unwrap_or_default().trim_start();
    }
    Ok(StartTag { name, attributes, self_closing })
}

fn attribute<'a>(tag: &StartTag<'a>, name: &str) -> Option<&'a str> {
    tag.attributes.iter().find(|(attribute, _)| local(attribute) == name).map(|(_, value)| *value)
}

/// Checks `document` (see the module's documentation).
pub(crate) fn check(document: &str) -> Result<Metadata, Refused> {
    let mut open: Vec<&str> = Vec::new();
    let mut root_seen = false;
    let mut valid_until = None;
    let mut in_idp = false;
    let mut in_signing_key = false;
    let mut in_certificate = false;
    let mut certificate = String::new();
    let mut signing_certificates = 0;
    let mut idp_seen = false;
    let mut rest = document.trim_start_matches('\u{feff}');
    while let Some(at) = rest.find('<') {
        let text = rest.get(..at).unwrap_or_default();
        if open.is_empty() && !text.trim().is_empty() {
            return Err(refused("text outside the root element"));
        }
        if in_certificate {
            certificate.push_str(text);
        }
        rest = rest.get(at..).unwrap_or_default();
        if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").ok_or_else(|| refused("an unterminated comment"))?;
            rest = after.get(end + 3..).unwrap_or_default();
            continue;
        }
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").ok_or_else(|| refused("an unterminated CDATA section"))?;
            if in_certificate {
                certificate.push_str(after.get(..end).unwrap_or_default());
            }
            rest = after.get(end + 3..).unwrap_or_default();
            continue;
        }
        if rest.starts_with("<!") {
            return Err(refused("a document type declaration (DTD) is not allowed"));
        }
        if let Some(after) = rest.strip_prefix("<?") {
            let end = after.find("?>").ok_or_else(|| refused("an unterminated processing instruction"))?;
            rest = after.get(end + 2..).unwrap_or_default();
            continue;
        }
        let end = rest.find('>').ok_or_else(|| refused("an unterminated tag"))?;
        let inner = rest.get(1..end).unwrap_or_default();
        rest = rest.get(end + 1..).unwrap_or_default();
        if let Some(name) = inner.strip_prefix('/') {
            let name = name.trim();
            if open.pop() != Some(name) {
                return Err(refused(format!("</{name}> closes no open element")));
            }
            match local(name) {
                "IDPSSODescriptor" => in_idp = false,
                "KeyDescriptor" => in_signing_key = false,
                "X509Certificate" if in_certificate => {
                    in_certificate = false;
                    let compact: String = certificate.chars().filter(|c| !c.is_whitespace()).collect();
                    if compact.is_empty() || BASE64.decode(&compact).is_err() {
                        return Err(refused("an X509Certificate is not base64"));
                    }
                    signing_certificates += 1;
                    certificate.clear();
                }
                _ => {}
            }
            continue;
        }
        let tag = start_tag(inner)?;
        if open.is_empty() {
            if root_seen {
                return Err(refused("more than one root element"));
            }
            root_seen = true;
            if local(tag.name) != "EntityDescriptor" {
                return Err(refused("the root element is not an EntityDescriptor"));
            }
            if let Some(until) = attribute(&tag, "validUntil") {
                let seconds = iam_policy::condition::parse_date(until).filter(|seconds| seconds.is_finite());
                valid_until = Some(seconds.ok_or_else(|| refused("validUntil is not a time"))? as i64);
            }
        }
        match local(tag.name) {
            "IDPSSODescriptor" => {
                idp_seen = true;
                in_idp = !tag.self_closing;
            }
            "KeyDescriptor" if in_idp => {
                in_signing_key = !tag.self_closing && attribute(&tag, "use").is_none_or(|use_| use_ == "signing");
            }
            "X509Certificate" if in_signing_key && !tag.self_closing => in_certificate = true,
            _ => {}
        }
        if !tag.self_closing {
            open.push(tag.name);
        }
    }
    if !rest.trim().is_empty() || !open.is_empty() || !root_seen {
        return Err(refused("the document ends before its root element closes"));
    }
    if !idp_seen {
        return Err(refused("the metadata has no IDPSSODescriptor"));
    }
    if signing_certificates == 0 {
        return Err(refused("the IDPSSODescriptor has no signing certificate"));
    }
    Ok(Metadata { valid_until, signing_certificates })
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    /// A metadata document as identity providers write them, with `valid_until` if given.
    pub(crate) fn metadata(valid_until: Option<&str>) -> String {
        let until = valid_until.map(|until| format!(r#" validUntil="{until}""#)).unwrap_or_default();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- an identity provider's metadata -->
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml"{until}>
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>not base64!</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data>
          <ds:X509Certificate>
            MIIC8DCCAdigAwIBAgIQSomeCertificateBytesAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
            AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
          </ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"#
        )
    }

    #[test]
    fn an_identity_providers_metadata_is_accepted_with_its_expiry() {
        assert_eq!(check(&metadata(None)), Ok(Metadata { valid_until: None, signing_certificates: 1 }));
        let until = check(&metadata(Some("2030-01-01T00:00:00Z"))).unwrap();
        assert_eq!(until.valid_until, Some(1_893_456_000));
    }

    #[test]
    fn documents_without_the_structure_are_refused() {
        let good = metadata(None);
        let cases = [
            ("not xml", "just text".to_owned()),
            ("unclosed", good.replace("</md:EntityDescriptor>", "")),
            ("misnested", good.replace("</md:IDPSSODescriptor>", "</md:KeyDescriptor>")),
            ("a DTD", format!("<!DOCTYPE x [<!ENTITY a \"b\">]>{good}")),
            ("another root", good.replace("md:EntityDescriptor", "md:EntitiesDescriptor")),
            ("no signing key", good.replace(r#"use="signing""#, r#"use="encryption""#)),
            ("no IdP", good.replace("IDPSSODescriptor", "SPSSODescriptor")),
            ("a bad expiry", metadata(Some("next year"))),
            ("two roots", format!("{good}<md:EntityDescriptor/>")),
            ("an unquoted attribute", good.replace(r#"use="signing""#, "use=signing")),
        ];
        for (name, document) in cases {
            assert!(check(&document).is_err(), "{name}");
        }
    }
}
