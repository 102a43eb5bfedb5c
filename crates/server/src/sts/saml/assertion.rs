//! A SAML 2.0 `Response` as AssumeRoleWithSAML reads it: one `Assertion`, signed itself or
//! through the signed `Response` (`xmldsig`), whose claims are read from that very element,
//! and checked as AWS checks them: the status is success, the issuer is the provider's entity,
//! the audience, `Recipient` and `Destination` are AWS's sign-in endpoint, and the time is
//! within `NotBefore`/`NotOnOrAfter` (five minutes' skew).
//!
//! Pure (the caller passes the time and the trusted keys); never panics.

use roxmltree::{Document, Node, ParsingOptions};

use super::xmldsig::{self, Invalid};

const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// Seconds of clock skew allowed either way.
const SKEW: i64 = 300;
/// Nodes an assertion may have (a generous bound on memory for a 100,000-character input).
const NODES_LIMIT: u32 = 20_000;
/// How deep elements may nest (a SAML response nests about ten deep).
const MAX_DEPTH: usize = 64;

/// Why an assertion was refused; `mod` maps each to AWS's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    Malformed(String),
    Unsigned,
    BadSignature,
    WrongIssuer,
    WrongAudience,
    Expired,
    NotYetValid,
    Rejected,
}

fn malformed(why: &str) -> Refusal {
    Refusal::Malformed(why.to_owned())
}

/// The claims of a verified assertion.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Claims {
    pub issuer: String,
    pub subject: String,
    pub subject_format: String,
    pub recipient: String,
    pub audiences: Vec<String>,
    /// Each attribute's name and values, in document order.
    pub attributes: Vec<(String, Vec<String>)>,
    /// The `AuthnStatement`'s `SessionNotOnOrAfter`: no session lasts beyond it.
    pub session_until: Option<i64>,
}

impl Claims {
    /// The values of the attribute `name`.
    pub(crate) fn attribute(&self, name: &str) -> Option<&[String]> {
        self.attributes.iter().find(|(attribute, _)| attribute == name).map(|(_, values)| values.as_slice())
    }
}

/// What the service provider (AWS) accepts as `Audience`, `Recipient` and `Destination`.
pub(crate) fn sign_in_endpoints(region: &str) -> [String; 2] {
    ["https://signin.aws.amazon.com/saml".to_owned(), format!("https://{region}.signin.aws.amazon.com/saml")]
}

fn saml<'a, 'input>(node: Node<'a, 'input>, name: &str) -> impl Iterator<Item = Node<'a, 'input>> {
    let name = name.to_owned();
    node.children().filter(move |child| child.has_tag_name((ASSERTION, name.as_str())))
}

fn one<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    let mut found = saml(node, name);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

fn time(node: Node<'_, '_>, attribute: &str) -> Result<Option<i64>, Refusal> {
    node.attribute(attribute)
        .map(|text| {
            iam_policy::condition::parse_date(text)
                .filter(|seconds| seconds.is_finite())
                .map(|seconds| seconds as i64)
                .ok_or_else(|| malformed("a time is not an ISO 8601 time"))
        })
        .transpose()
}

/// Reads and checks `document` (see the module's documentation) for the provider whose entity
/// is `entity_id`, signed by one of `keys`, at `now`.
pub(crate) fn verify(
    document: &str,
    entity_id: &str,
    keys: &[Vec<u8>],
    region: &str,
    now: i64,
) -> Result<Claims, Refusal> {
    let options = ParsingOptions { allow_dtd: false, nodes_limit: NODES_LIMIT };
    let document = Document::parse_with_options(document, options).map_err(|_| malformed("not well-formed XML"))?;
    // Canonicalization recurses through elements: their nesting is bounded first.
    let mut depths = vec![0_usize; document.descendants().count() + 1];
    for node in document.descendants() {
        let depth = node.parent().and_then(|parent| depths.get(parent.id().get_usize())).map_or(0, |depth| depth + 1);
        if depth > MAX_DEPTH {
            return Err(malformed("elements nest too deeply"));
        }
        if let Some(slot) = depths.get_mut(node.id().get_usize()) {
            *slot = depth;
        }
    }
    let response = document.root_element();
    if !response.has_tag_name((PROTOCOL, "Response")) {
        return Err(malformed("the root element is not a samlp:Response"));
    }
    // Exactly one assertion in the whole document, a child of the response: a copy hidden
    // anywhere else is a wrapping attempt.
    let assertions = document
        .descendants()
        .filter(|node| {
            node.has_tag_name((ASSERTION, "Assertion")) || node.has_tag_name((ASSERTION, "EncryptedAssertion"))
        })
        .count();
    let assertion = one(response, "Assertion")
        .filter(|_| assertions == 1)
        .ok_or_else(|| malformed("the response must hold exactly one unencrypted assertion"))?;
    // Every ID is unique, so the signed element a reference names is the element read.
    let mut ids: Vec<&str> = document.descendants().filter_map(|node| node.attribute("ID")).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|pair| pair.first() == pair.get(1)) {
        return Err(malformed("two elements share an ID"));
    }
    let response_signed = xmldsig::signatures(response).next().is_some();
    let assertion_signed = xmldsig::signatures(assertion).next().is_some();
    if !response_signed && !assertion_signed {
        return Err(Refusal::Unsigned);
    }
    for (signed, present) in [(response, response_signed), (assertion, assertion_signed)] {
        if present {
            xmldsig::verify(signed, keys).map_err(|invalid| match invalid {
                Invalid::Mismatch => Refusal::BadSignature,
                Invalid::Unsupported(why) => Refusal::Malformed(why),
            })?;
        }
    }
    let status = response
        .children()
        .find(|child| child.has_tag_name((PROTOCOL, "Status")))
        .and_then(|status| status.children().find(|child| child.has_tag_name((PROTOCOL, "StatusCode"))))
        .and_then(|code| code.attribute("Value"));
    if status != Some(SUCCESS) {
        return Err(Refusal::Rejected);
    }
    let endpoints = sign_in_endpoints(region);
    let accepted = |url: &str| endpoints.iter().any(|endpoint| endpoint == url);
    if response.attribute("Destination").is_some_and(|destination| !accepted(destination)) {
        return Err(Refusal::WrongAudience);
    }
    let issuer = one(assertion, "Issuer").map(xmldsig::text_content).ok_or_else(|| malformed("no Issuer"))?;
    let response_issuer = one(response, "Issuer").map(xmldsig::text_content);
    if issuer.trim() != entity_id || response_issuer.is_some_and(|other| other.trim() != entity_id) {
        return Err(Refusal::WrongIssuer);
    }
    let subject = one(assertion, "Subject").ok_or_else(|| malformed("no Subject"))?;
    let name_id = one(subject, "NameID").ok_or_else(|| malformed("no NameID"))?;
    let mut confirmations = saml(subject, "SubjectConfirmation");
    let confirmation = confirmations
        .next()
        .filter(|_| confirmations.next().is_none())
        .and_then(|confirmation| one(confirmation, "SubjectConfirmationData"))
        .ok_or_else(|| malformed("the subject needs exactly one SubjectConfirmationData"))?;
    let recipient = confirmation.attribute("Recipient").unwrap_or_default();
    if !accepted(recipient) {
        return Err(Refusal::WrongAudience);
    }
    let confirm_until = time(confirmation, "NotOnOrAfter")?.ok_or_else(|| malformed("no NotOnOrAfter"))?;
    let conditions = one(assertion, "Conditions").ok_or_else(|| malformed("no Conditions"))?;
    if time(conditions, "NotBefore")?.is_some_and(|not_before| not_before > now + SKEW) {
        return Err(Refusal::NotYetValid);
    }
    let until = time(conditions, "NotOnOrAfter")?.map_or(confirm_until, |until| until.min(confirm_until));
    if now >= until + SKEW {
        return Err(Refusal::Expired);
    }
    let audiences: Vec<String> = saml(conditions, "AudienceRestriction")
        .flat_map(|restriction| saml(restriction, "Audience"))
        .map(|audience| xmldsig::text_content(audience).trim().to_owned())
        .collect();
    if !audiences.iter().any(|audience| accepted(audience) || audience == "urn:amazon:webservices") {
        return Err(Refusal::WrongAudience);
    }
    let attributes = saml(assertion, "AttributeStatement")
        .flat_map(|statement| saml(statement, "Attribute"))
        .map(|attribute| {
            let values = saml(attribute, "AttributeValue").map(|value| xmldsig::text_content(value).trim().to_owned());
            (attribute.attribute("Name").unwrap_or_default().to_owned(), values.collect())
        })
        .collect();
    let mut session_until = None;
    for statement in saml(assertion, "AuthnStatement") {
        if let Some(until) = time(statement, "SessionNotOnOrAfter")? {
            session_until = Some(session_until.map_or(until, |earlier: i64| earlier.min(until)));
        }
    }
    if session_until.is_some_and(|until| now >= until) {
        return Err(Refusal::Expired);
    }
    Ok(Claims {
        session_until,
        issuer: issuer.trim().to_owned(),
        subject: xmldsig::text_content(name_id).trim().to_owned(),
        subject_format: name_id.attribute("Format").unwrap_or_default().to_owned(),
        recipient: recipient.to_owned(),
        audiences,
        attributes,
    })
}

/// The `entityID` and the signing keys (PKCS#1 RSA public keys of the `X509Certificate`s of
/// `KeyDescriptor`s for signing or for no stated use) of a provider's metadata document.
pub(crate) fn provider_keys(metadata: &str) -> Option<(String, Vec<Vec<u8>>)> {
    use base64::Engine;
    const METADATA: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
    let options = ParsingOptions { allow_dtd: false, nodes_limit: NODES_LIMIT };
    let document = Document::parse_with_options(metadata, options).ok()?;
    let root = document.root_element();
    let entity_id = root.attribute("entityID")?.to_owned();
    let keys = root
        .children()
        .filter(|node| node.has_tag_name((METADATA, "IDPSSODescriptor")))
        .flat_map(|idp| idp.children().filter(|node| node.has_tag_name((METADATA, "KeyDescriptor"))))
        .filter(|descriptor| descriptor.attribute("use").is_none_or(|use_| use_ == "signing"))
        .flat_map(|descriptor| {
            descriptor.descendants().filter(|node| node.has_tag_name((xmldsig::DSIG, "X509Certificate")))
        })
        .filter_map(|certificate| {
            let compact: String =
                xmldsig::text_content(certificate).chars().filter(|c| !c.is_ascii_whitespace()).collect();
            let der = base64::engine::general_purpose::STANDARD.decode(compact).ok()?;
            crate::iam::key_material::certificate_from_der(&der).map(|certificate| certificate.public_key)
        })
        .collect();
    Some((entity_id, keys))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    const METADATA: &str = include_str!("testdata/metadata.xml");
    const ASSERTION_SIGNED: &str = include_str!("testdata/response-assertion-signed.xml");
    const RESPONSE_SIGNED: &str = include_str!("testdata/response-signed.xml");
    /// The assertion in the default namespace, signed by xmlsec1 with an `InclusiveNamespaces`
    /// list naming a prefix used only in an attribute's value.
    const DEFAULT_NAMESPACE: &str = include_str!("testdata/response-default-namespace.xml");
    /// 2026-06-01T12:01:00Z, within the vectors' validity.
    const NOW: i64 = 1_780_315_260;

    fn check(document: &str, now: i64) -> Result<Claims, Refusal> {
        let (entity, keys) = provider_keys(METADATA).unwrap();
        verify(document, &entity, &keys, "us-east-1", now)
    }

    #[test]
    fn vectors_signed_by_signxml_verify() {
        for (at, document) in [ASSERTION_SIGNED, RESPONSE_SIGNED, DEFAULT_NAMESPACE].into_iter().enumerate() {
            let claims = check(document, NOW).unwrap_or_else(|refusal| panic!("vector {at}: {refusal:?}"));
            assert_eq!(claims.issuer, "https://idp.example.com/saml");
            assert_eq!(claims.subject, "alice & <co>");
            assert_eq!(claims.subject_format, "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
            assert_eq!(claims.attribute("https://aws.amazon.com/SAML/Attributes/RoleSessionName").unwrap(), ["alice"]);
        }
    }

    #[test]
    fn times_are_checked_with_skew() {
        assert_eq!(check(ASSERTION_SIGNED, NOW + 3600).unwrap_err(), Refusal::Expired);
        assert!(check(ASSERTION_SIGNED, NOW + 240 + 200).is_ok(), "within the skew");
        assert_eq!(check(ASSERTION_SIGNED, NOW - 3600).unwrap_err(), Refusal::NotYetValid);
    }

    #[test]
    fn tampering_and_wrapping_are_refused() {
        let tampered = ASSERTION_SIGNED.replace("role/Admin,", "role/Root,");
        assert_eq!(check(&tampered, NOW).unwrap_err(), Refusal::BadSignature);
        let tampered = RESPONSE_SIGNED.replace("<saml:NameID Format", "<saml:NameID SPNameQualifier=\"x\" Format");
        assert_eq!(check(&tampered, NOW).unwrap_err(), Refusal::BadSignature);
        // The signed assertion moved under an extension and an unsigned one put in its place.
        let start = ASSERTION_SIGNED.find("<saml:Assertion").unwrap();
        let end = ASSERTION_SIGNED.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
        let signed = &ASSERTION_SIGNED[start..end];
        let forged = signed.replace("ID=\"_assert1\"", "ID=\"_evil\"").replace("alice &amp;", "mallory &amp;");
        let wrapped =
            ASSERTION_SIGNED.replace(signed, &format!("<samlp:Extensions>{signed}</samlp:Extensions>{forged}"));
        assert!(matches!(check(&wrapped, NOW).unwrap_err(), Refusal::Malformed(_)));
        let unsigned = format!("{}{}", &ASSERTION_SIGNED[..start], &ASSERTION_SIGNED[end..])
            .replace("</samlp:Status>", &format!("</samlp:Status>{}", forged_without_signature(signed)));
        assert_eq!(check(&unsigned, NOW).unwrap_err(), Refusal::Unsigned);
        let deep = ASSERTION_SIGNED
            .replace("</samlp:Status>", &format!("</samlp:Status>{}{}", "<x>".repeat(100), "</x>".repeat(100)));
        assert_eq!(check(&deep, NOW).unwrap_err(), malformed("elements nest too deeply"));
        let dtd = format!("<!DOCTYPE r [<!ENTITY a \"x\">]>{ASSERTION_SIGNED}");
        assert!(matches!(check(&dtd, NOW).unwrap_err(), Refusal::Malformed(_)));
    }

    #[test]
    fn a_comment_splits_no_value() {
        // The classic comment-truncation attack reads only the first text node of a NameID.
        let document = Document::parse("<a>alice@example.com<!---->.evil.test</a>").unwrap();
        assert_eq!(xmldsig::text_content(document.root_element()), "alice@example.com.evil.test");
    }

    fn forged_without_signature(signed: &str) -> String {
        let start = signed.find("<ds:Signature").unwrap();
        let end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        format!("{}{}", &signed[..start], &signed[end..])
    }

    #[test]
    fn a_signature_by_another_key_is_refused() {
        let (entity, _) = provider_keys(METADATA).unwrap();
        let other = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let keys = vec![aws_lc_rs::signature::KeyPair::public_key(&other).as_ref().to_vec()];
        assert_eq!(verify(ASSERTION_SIGNED, &entity, &keys, "us-east-1", NOW).unwrap_err(), Refusal::BadSignature);
        assert_eq!(
            verify(ASSERTION_SIGNED, "https://other.example", &provider_keys(METADATA).unwrap().1, "us-east-1", NOW)
                .unwrap_err(),
            Refusal::WrongIssuer
        );
    }
}
