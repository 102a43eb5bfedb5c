//! IAM's SAML providers, in process: create, read, list, update, tags and delete, the metadata
//! document checked for its structure, the encrypted-assertion members refused, and the
//! refusal of a caller without permissions.

use crate::support::{Case, TestServer, iam, unique};

crate::support::on_both_stores!(a_saml_provider_lives_and_dies_as_iam_says);

/// A metadata document as identity providers write them, at least 1,000 characters (IAM's
/// minimum), with `valid_until` as its root's `validUntil` if given.
fn metadata(valid_until: Option<&str>) -> String {
    let until = valid_until.map(|until| format!(r#" validUntil="{until}""#)).unwrap_or_default();
    format!(
        r#"<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com"{until}><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        "A".repeat(800)
    )
}

fn a_saml_provider_lives_and_dies_as_iam_says(server: &TestServer) {
    let root = &server.root;
    let name = unique("idp");
    let arn = format!("arn:aws:iam::{}:saml-provider/{name}", server.account_id);
    let document = metadata(Some("2031-02-03T04:05:06Z"));
    let renewed = metadata(None);
    let broken = document.replace("IDPSSODescriptor", "SPSSODescriptor");
    let named = |extra: &[(&'static str, &str)]| -> Vec<(String, String)> {
        std::iter::once(("SAMLProviderArn".to_owned(), arn.clone()))
            .chain(extra.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())))
            .collect()
    };
    let call = |action: &str, extra: &[(&'static str, &str)]| {
        let owned = named(extra);
        let borrowed: Vec<(&str, &str)> = owned.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        iam(action, &borrowed)
    };
    server.run(&[
        Case::error(
            "metadata without an identity provider",
            root,
            iam("CreateSAMLProvider", &[("Name", &name), ("SAMLMetadataDocument", &broken)]),
            400,
            "InvalidInput",
            "Could not parse metadata",
        ),
        Case::error(
            "encrypted assertions are not supported",
            root,
            iam(
                "CreateSAMLProvider",
                &[("Name", &name), ("SAMLMetadataDocument", &document), ("AssertionEncryptionMode", "Required")],
            ),
            400,
            "InvalidInput",
            "AssertionEncryptionMode is not supported",
        ),
        Case::denied(
            "a caller without permissions",
            server.nobody(),
            iam("CreateSAMLProvider", &[("Name", &name), ("SAMLMetadataDocument", &document)]),
            format!("is not authorized to perform: iam:CreateSAMLProvider on resource: {arn}"),
        ),
        Case::ok(
            "create",
            root,
            iam(
                "CreateSAMLProvider",
                &[
                    ("Name", &name),
                    ("SAMLMetadataDocument", &document),
                    ("Tags.member.1.Key", "team"),
                    ("Tags.member.1.Value", "it"),
                ],
            ),
        )
        .xml("SAMLProviderArn", &arn),
        Case::error(
            "twice",
            root,
            iam("CreateSAMLProvider", &[("Name", &name), ("SAMLMetadataDocument", &document)]),
            409,
            "EntityAlreadyExists",
            "already exists",
        ),
        Case::ok("read", root, call("GetSAMLProvider", &[]))
            .xml("ValidUntil", "2031-02-03T04:05:06Z")
            .xml("Key", "team")
            .contains("X509Certificate"),
        Case::ok("listed", root, iam("ListSAMLProviders", &[])).contains(format!("<Arn>{arn}</Arn>")),
        Case::error(
            "an update must parse too",
            root,
            call("UpdateSAMLProvider", &[("SAMLMetadataDocument", &broken)]),
            400,
            "InvalidInput",
            "Could not parse metadata",
        ),
        Case::error(
            "no private keys",
            root,
            call("UpdateSAMLProvider", &[("RemovePrivateKey", "ABCDEFGHIJKLMNOPQRSTUVWX")]),
            400,
            "InvalidInput",
            "RemovePrivateKey is not supported",
        ),
        Case::ok("update", root, call("UpdateSAMLProvider", &[("SAMLMetadataDocument", &renewed)]))
            .xml("SAMLProviderArn", &arn),
        Case::ok(
            "tag",
            root,
            call("TagSAMLProvider", &[("Tags.member.1.Key", "env"), ("Tags.member.1.Value", "prod")]),
        ),
        Case::ok("untag", root, call("UntagSAMLProvider", &[("TagKeys.member.1", "team")])),
        Case::ok("tags", root, call("ListSAMLProviderTags", &[])).xml("Key", "env").xml_count("Key", 1),
        Case::ok("delete", root, call("DeleteSAMLProvider", &[])),
        Case::error(
            "delete again",
            root,
            call("DeleteSAMLProvider", &[]),
            404,
            "NoSuchEntity",
            format!("SAMLProvider not found for arn {arn}"),
        ),
        Case::error("gone", root, call("GetSAMLProvider", &[]), 404, "NoSuchEntity", "not found"),
    ]);
    // Without validUntil, a hundred years from the update.
    let read = server
        .iam(root, "CreateSAMLProvider", &[("Name", &format!("{name}-2")), ("SAMLMetadataDocument", &renewed)])
        .ok();
    let got = server.iam(root, "GetSAMLProvider", &[("SAMLProviderArn", &read.xml("SAMLProviderArn"))]).ok();
    let year: i32 = got.xml("ValidUntil")[..4].parse().unwrap();
    assert!(year >= 2120, "a hundred years: {}", got.xml("ValidUntil"));
    assert!(got.xml("SAMLProviderUUID").len() >= 22);
}
