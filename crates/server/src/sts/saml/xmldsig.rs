//! XML signatures as SAML identity providers make them, verified for exactly one element: an
//! enveloped `ds:Signature` that is a direct child of the signed element and whose single
//! `Reference` names that element's `ID`, with exclusive XML canonicalization (exc-c14n, with
//! or without comments, with its `InclusiveNamespaces` prefix list), SHA-256 or SHA-1 digests
//! and RSA-SHA256 or RSA-SHA1 signatures, checked with the keys the caller trusts (never the
//! signature's own `KeyInfo`).
//!
//! The canonicalization is the subset a signed element needs: an element subtree (minus the
//! enveloped signature), with its namespace declarations rendered where exc-c14n renders them
//! (a prefix visibly used by an element or its attributes, or listed as inclusive, declared
//! where the output does not yet bind it so), attributes sorted by namespace URI and local
//! name, and text and attribute values escaped as the recommendation says. A bare-name
//! reference (`#ID`) drops comments whatever its transform says (XMLDSig 4.3.3.3).
//!
//! Pure; never panics; linear in the document.

use aws_lc_rs::{digest, signature};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use roxmltree::{Node, NodeId, NodeType};

pub(crate) const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const EXC_C14N_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// The signature's structure or algorithms are not the ones accepted.
    Unsupported(String),
    /// The digest or the signature value does not verify.
    Mismatch,
}

fn unsupported(why: &str) -> Invalid {
    Invalid::Unsupported(why.to_owned())
}

/// The `ds:Signature` children of `element` (a signed element has exactly one).
pub(crate) fn signatures<'a, 'input>(element: Node<'a, 'input>) -> impl Iterator<Item = Node<'a, 'input>> {
    element.children().filter(|child| child.has_tag_name((DSIG, "Signature")))
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children().find(|child| child.has_tag_name((DSIG, name)))
}

/// How one canonicalization was asked for.
struct Method {
    comments: bool,
    inclusive: Vec<String>,
}

/// Reads an exc-c14n `CanonicalizationMethod` or `Transform` element.
fn method(node: Node<'_, '_>) -> Option<Method> {
    let comments = match node.attribute("Algorithm")? {
        EXC_C14N => false,
        EXC_C14N_COMMENTS => true,
        _ => return None,
    };
    let inclusive = node
        .children()
        .find(|child| child.has_tag_name((EXC_C14N, "InclusiveNamespaces")))
        .and_then(|list| list.attribute("PrefixList"))
        .map(|list| list.split_ascii_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    Some(Method { comments, inclusive })
}

/// Verifies that `signed` carries one enveloped signature of itself made with one of `keys`
/// (PKCS#1 RSA public keys).
pub(crate) fn verify(signed: Node<'_, '_>, keys: &[Vec<u8>]) -> Result<(), Invalid> {
    let mut found = signatures(signed);
    let signature = found.next().ok_or_else(|| unsupported("the element is not signed"))?;
    if found.next().is_some() {
        return Err(unsupported("the element has more than one signature"));
    }
    let signed_info = child(signature, "SignedInfo").ok_or_else(|| unsupported("no SignedInfo"))?;
    let canonicalization = child(signed_info, "CanonicalizationMethod")
        .and_then(method)
        .ok_or_else(|| unsupported("the canonicalization is not exclusive XML canonicalization"))?;
    let algorithm: &'static dyn signature::VerificationAlgorithm = match child(signed_info, "SignatureMethod")
        .and_then(|method| method.attribute("Algorithm"))
    {
        Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256") => &signature::RSA_PKCS1_2048_8192_SHA256,
        Some("http://www.w3.org/2000/09/xmldsig#rsa-sha1") => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        _ => return Err(unsupported("the signature method is not RSA-SHA256 or RSA-SHA1")),
    };
    let mut references = signed_info.children().filter(|child| child.has_tag_name((DSIG, "Reference")));
    let reference = references.next().ok_or_else(|| unsupported("no Reference"))?;
    if references.next().is_some() {
        return Err(unsupported("more than one Reference"));
    }
    let id = signed.attribute("ID").filter(|id| !id.is_empty()).ok_or_else(|| unsupported("no ID"))?;
    if reference.attribute("URI").and_then(|uri| uri.strip_prefix('#')) != Some(id) {
        return Err(unsupported("the Reference does not name the signed element"));
    }
    // The only transforms accepted: the enveloped signature's removal and one exc-c14n.
    let mut enveloped = false;
    let mut transform = None;
    for step in child(reference, "Transforms").iter().flat_map(|transforms| transforms.children()) {
        if !step.is_element() {
            continue;
        }
        if step.attribute("Algorithm") == Some(ENVELOPED) && !enveloped {
            enveloped = true;
        } else if transform.is_none() {
            transform = Some(method(step).ok_or_else(|| unsupported("a transform is not accepted"))?);
        } else {
            return Err(unsupported("a transform is not accepted"));
        }
    }
    let transform = transform.filter(|_| enveloped).ok_or_else(|| {
        unsupported("the Reference's transforms are not enveloped-signature and exclusive canonicalization")
    })?;
    let digest_algorithm = match child(reference, "DigestMethod").and_then(|method| method.attribute("Algorithm")) {
        Some("http://www.w3.org/2001/04/xmlenc#sha256") => &digest::SHA256,
        Some("http://www.w3.org/2000/09/xmldsig#sha1") => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        _ => return Err(unsupported("the digest method is not SHA-256 or SHA-1")),
    };
    let expected = child(reference, "DigestValue").map(base64_text).ok_or_else(|| unsupported("no DigestValue"))?;
    // A bare-name reference's node set has no comments (XMLDSig 4.3.3.3).
    let referenced = canonicalize(signed, Some(signature.id()), false, &transform.inclusive);
    if expected.as_deref() != Some(digest::digest(digest_algorithm, referenced.as_bytes()).as_ref()) {
        return Err(Invalid::Mismatch);
    }
    let value =
        child(signature, "SignatureValue").and_then(base64_text).ok_or_else(|| unsupported("no SignatureValue"))?;
    let info = canonicalize(signed_info, None, canonicalization.comments, &canonicalization.inclusive);
    let verifies =
        |key: &Vec<u8>| signature::UnparsedPublicKey::new(algorithm, key).verify(info.as_bytes(), &value).is_ok();
    if keys.iter().any(verifies) { Ok(()) } else { Err(Invalid::Mismatch) }
}

/// The base64 content of an element, whitespace ignored.
fn base64_text(node: Node<'_, '_>) -> Option<Vec<u8>> {
    let compact: String = text_content(node).chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(compact).ok()
}

/// All the text inside `node`, in document order (a comment splits no value: `a<!---->b` is
/// `ab`, as canonicalization without comments sees it).
pub(crate) fn text_content(node: Node<'_, '_>) -> String {
    node.descendants().filter(Node::is_text).filter_map(|text| text.text()).collect()
}

/// The qualified name an element or attribute was written with, from the source text.
fn element_qname<'input>(node: Node<'_, 'input>) -> &'input str {
    let source = node.document().input_text();
    let after = source.get(node.range().start + 1..).unwrap_or_default();
    let end = after.find(|c: char| c.is_whitespace() || c == '/' || c == '>').unwrap_or(after.len());
    after.get(..end).unwrap_or_default()
}

fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map_or("", |(prefix, _)| prefix)
}

/// The exclusive canonical form of `apex`'s subtree, without `excluded` (the enveloped
/// signature), with comments if `comments`, rendering the `inclusive` prefixes as inclusive
/// canonicalization would (`#default` is the default namespace).
pub(crate) fn canonicalize(
    apex: Node<'_, '_>,
    excluded: Option<NodeId>,
    comments: bool,
    inclusive: &[String],
) -> String {
    let mut out = String::new();
    let mut rendered: Vec<(String, String)> = Vec::new();
    element(apex, excluded, comments, inclusive, &mut rendered, &mut out);
    out
}

fn element(
    node: Node<'_, '_>,
    excluded: Option<NodeId>,
    comments: bool,
    inclusive: &[String],
    rendered: &mut Vec<(String, String)>,
    out: &mut String,
) {
    let source = node.document().input_text();
    let qname = element_qname(node);
    // The prefixes this element makes visible use of, and those listed as inclusive.
    let mut used: Vec<&str> = vec![prefix_of(qname)];
    for attribute in node.attributes() {
        let prefix = prefix_of(source.get(attribute.range_qname()).unwrap_or_default());
        if !prefix.is_empty() && prefix != "xml" {
            used.push(prefix);
        }
    }
    for prefix in inclusive {
        let prefix = if prefix == "#default" { "" } else { prefix.as_str() };
        let bound = if prefix.is_empty() {
            node.default_namespace().is_some()
        } else {
            node.namespaces().any(|ns| ns.name() == Some(prefix))
        };
        if bound {
            used.push(prefix);
        }
    }
    used.sort_unstable();
    used.dedup();
    let depth = rendered.len();
    let mut declarations: Vec<(String, String)> = Vec::new();
    for prefix in used {
        let uri = node.lookup_namespace_uri(if prefix.is_empty() { None } else { Some(prefix) }).unwrap_or_default();
        let current = rendered.iter().rev().find(|(bound, _)| bound == prefix).map(|(_, uri)| uri.as_str());
        let unchanged = match current {
            Some(current) => current == uri,
            None => prefix.is_empty() && uri.is_empty(),
        };
        if !unchanged {
            declarations.push((prefix.to_owned(), uri.to_owned()));
        }
    }
    out.push('<');
    out.push_str(qname);
    for (prefix, uri) in &declarations {
        if prefix.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
        }
        escape_attribute(uri, out);
        out.push('"');
    }
    let mut attributes: Vec<_> = node.attributes().collect();
    attributes.sort_by(|a, b| {
        (a.namespace().unwrap_or_default(), a.name()).cmp(&(b.namespace().unwrap_or_default(), b.name()))
    });
    for attribute in attributes {
        out.push(' ');
        out.push_str(source.get(attribute.range_qname()).unwrap_or_default());
        out.push_str("=\"");
        escape_attribute(attribute.value(), out);
        out.push('"');
    }
    out.push('>');
    rendered.extend(declarations);
    for child in node.children() {
        if Some(child.id()) == excluded {
            continue;
        }
        match child.node_type() {
            NodeType::Element => element(child, excluded, comments, inclusive, rendered, out),
            NodeType::Text => escape_text(child.text().unwrap_or_default(), out),
            NodeType::Comment if comments => {
                out.push_str("<!--");
                out.push_str(child.text().unwrap_or_default());
                out.push_str("-->");
            }
            NodeType::PI => {
                if let Some(pi) = child.pi() {
                    out.push_str("<?");
                    out.push_str(pi.target);
                    if let Some(value) = pi.value.filter(|value| !value.is_empty()) {
                        out.push(' ');
                        out.push_str(value);
                    }
                    out.push_str("?>");
                }
            }
            _ => {}
        }
    }
    rendered.truncate(depth);
    out.push_str("</");
    out.push_str(qname);
    out.push('>');
}

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}

fn escape_attribute(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}
