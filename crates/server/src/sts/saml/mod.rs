//! STS AssumeRoleWithSAML: a role session for the bearer of a SAML 2.0 response from an
//! identity provider the account registered, answered before SigV4 (an unsigned route, as AWS
//! accepts it): the signed assertion is the proof.
//!
//! `PrincipalArn` names the account's SAML provider; the response ([`assertion`]) must hold
//! exactly one assertion, signed (itself or through the response, [`xmldsig`]) by a signing
//! certificate of the provider's metadata, issued by the metadata's entity, for AWS's sign-in
//! endpoint (audience, recipient, destination), and current. Its
//! `https://aws.amazon.com/SAML/Attributes/Role` attribute must pair `RoleArn` with
//! `PrincipalArn` (either order), and its `RoleSessionName` attribute names the session. The
//! role's trust policy then decides, with the provider's ARN as the `Federated` principal, the
//! action `sts:AssumeRoleWithSAML` and the keys IAM defines for SAML: `saml:aud` (the
//! recipient), `saml:iss`, `saml:sub`, `saml:sub_type`, `saml:namequalifier`, `saml:doc`, the
//! eduPerson/eduOrg and directory attributes named by their OIDs (`saml:edupersonaffiliation`,
//! `saml:cn`, ...), `aws:FederatedProvider` and `sts:RoleSessionName`. `PrincipalTag:` attributes
//! need `sts:TagSession` too and become the session's tags (those `TransitiveTagKeys` names
//! pass on to the sessions it chains to); a `SourceIdentity`
//! attribute needs `sts:SetSourceIdentity`, is answered back and kept on the session.
//! A `SessionDuration` attribute and the `AuthnStatement`'s `SessionNotOnOrAfter` cap the
//! session's duration.
//!
//! Guarantees: every member's size is checked before anything else is done (the assertion at
//! 100,000 characters, decoded into a tree of at most 20,000 nodes, no DTD), the claims are read
//! from the element whose signature verified, and the request is audited like every other
//! (never its assertion).

mod assertion;
mod xmldsig;

use aws_lc_rs::digest;
use aws_protocol::AwsError;
use aws_protocol::query::{QueryParams, XmlResponse};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use iam_policy::Context;

use super::sessions::{SessionGrant, issue_role_session, role_of_arn};
use super::web_identity::{Seen, answer_unsigned, check_length, required, trusts};
use super::{check_session_name, session_duration, session_policies, write_role_session};
use crate::app::App;
use crate::auth::SessionKind;
use crate::iam::model::saml_providers;
use crate::ids;
use crate::operations::STS_NAMESPACE;
use assertion::{Claims, Refusal};

/// The operation's name, its `Action`.
pub const ACTION: &str = "AssumeRoleWithSAML";
/// STS's bound on `SAMLAssertion` (`SAMLAssertionType`).
const MAX_ASSERTION_CHARS: usize = 100_000;
const ATTRIBUTES: &str = "https://aws.amazon.com/SAML/Attributes/";
/// SAML attributes (by their OID names) IAM offers as `saml:` condition keys.
const ATTRIBUTE_KEYS: &[(&str, &str)] = &[
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.1", "edupersonaffiliation"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.2", "edupersonnickname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.3", "edupersonorgdn"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.4", "edupersonorgunitdn"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.5", "edupersonprimaryaffiliation"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.6", "edupersonprincipalname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.7", "edupersonentitlement"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.8", "edupersonprimaryorgunitdn"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.9", "edupersonscopedaffiliation"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.10", "edupersontargetedid"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.11", "edupersonassurance"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.13", "edupersonuniqueid"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.2", "eduorghomepageuri"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.3", "eduorgidentityauthnpolicyuri"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.4", "eduorglegalname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.5", "eduorgsuperioruri"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.6", "eduorgwhitepagesuri"),
    ("urn:oid:2.5.4.3", "cn"),
    ("urn:oid:2.5.4.42", "givenName"),
    ("urn:oid:2.5.4.4", "surname"),
    ("urn:oid:0.9.2342.19200300.100.1.3", "mail"),
    ("urn:oid:0.9.2342.19200300.100.1.1", "uid"),
];

/// The unsigned route: a request with no SigV4 whose `Action` is AssumeRoleWithSAML.
pub const ROUTE: crate::pipeline::UnsignedRoute = |app, audit, incoming, request_id| {
    Box::pin(answer_unsigned(app, audit, incoming, request_id, ACTION, |app, params, source_ip, seen| {
        Box::pin(assume(app, params, source_ip, seen))
    }))
};

fn invalid_token(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidIdentityToken", 400, message)
}

fn not_authorized() -> AwsError {
    AwsError::new("AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithSAML")
}

fn refused(refusal: Refusal) -> AwsError {
    match refusal {
        Refusal::Malformed(why) => invalid_token(format!("Invalid SAML response: {why}")),
        Refusal::Unsigned => invalid_token("Missing signature: neither the response nor its assertion is signed"),
        Refusal::BadSignature => invalid_token("Response signature invalid"),
        Refusal::WrongIssuer => invalid_token("Issuer not present in specified provider"),
        Refusal::WrongAudience => invalid_token("Audience, Recipient or Destination is not the AWS sign-in endpoint"),
        Refusal::NotYetValid => invalid_token("The assertion is not yet valid (NotBefore is in the future)"),
        Refusal::Expired => {
            AwsError::new("ExpiredTokenException", 400, "Token expired: the SAML assertion is no longer valid")
        }
        Refusal::Rejected => {
            AwsError::new("IDPRejectedClaim", 403, "The identity provider did not authenticate the subject")
        }
    }
}

async fn assume(app: &App, params: &QueryParams, source_ip: &str, seen: &mut Seen) -> Result<XmlResponse, AwsError> {
    // Sizes first: nothing is decoded or looked up for an oversized request.
    let role_arn = required(params, "RoleArn")?;
    check_length(role_arn, "roleArn", 20, 2048)?;
    let principal_arn = required(params, "PrincipalArn")?;
    check_length(principal_arn, "principalArn", 20, 2048)?;
    let encoded = required(params, "SAMLAssertion")?;
    check_length(encoded, "sAMLAssertion", 4, MAX_ASSERTION_CHARS)?;
    let (session_policy, policy_arns) = session_policies(params)?;
    seen.role_arn = role_arn.to_owned();

    let compact: String = encoded.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let document = BASE64
        .decode(compact)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| invalid_token("Invalid base64 SAMLResponse"))?;
    let provider = saml_providers::find(&app.store, &app.account_id, principal_arn)
        .await?
        .ok_or_else(|| invalid_token("Specified provider doesn't exist"))?;
    seen.provider = provider.arn.clone();
    let (entity_id, keys) = assertion::provider_keys(&provider.metadata)
        .ok_or_else(|| invalid_token("The provider's metadata has no usable signing certificate"))?;
    let claims = assertion::verify(&document, &entity_id, &keys, &app.region, ids::now()).map_err(refused)?;
    seen.subject = claims.subject.clone();

    if !role_pairs(&claims).any(|(role, provider)| role == role_arn && provider == principal_arn) {
        return Err(not_authorized());
    }
    let session_name = single(&claims, "RoleSessionName")?
        .ok_or_else(|| invalid_token("RoleSessionName is required in AuthnResponse"))?;
    check_session_name(session_name)
        .map_err(|_| invalid_token("RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}"))?;
    let (tags, transitive) = session_tags(&claims)?;
    let source_identity = single(&claims, "SourceIdentity")?;
    let role = role_of_arn(app, role_arn).await?.ok_or_else(not_authorized)?;
    let name_qualifier = name_qualifier(&claims.issuer, &app.account_id, principal_arn);
    let context = trust_context(&claims, &provider.arn, &app.account_id, &name_qualifier, session_name, source_ip);
    if !trusts(&role, role_arn, &provider.arn, "sts:AssumeRoleWithSAML", &context) {
        return Err(not_authorized());
    }
    if !tags.is_empty() {
        let context = tags
            .iter()
            .fold(context.clone(), |context, (key, value)| {
                context.with(&format!("aws:RequestTag/{key}"), value.clone())
            })
            .with_values("aws:TagKeys", tags.iter().map(|(key, _)| key.clone()));
        if !trusts(&role, role_arn, &provider.arn, "sts:TagSession", &context) {
            return Err(AwsError::new("AccessDenied", 403, "Not authorized to perform sts:TagSession"));
        }
    }
    if let Some(source) = source_identity {
        let context = context.with("sts:SourceIdentity", source);
        if !trusts(&role, role_arn, &provider.arn, "sts:SetSourceIdentity", &context) {
            return Err(AwsError::new("AccessDenied", 403, "Not authorized to perform sts:SetSourceIdentity"));
        }
    }
    let mut duration = session_duration(params, &role, false)?;
    if let Some(cap) = single(&claims, "SessionDuration")? {
        let cap =
            cap.parse::<i64>().ok().filter(|seconds| (900..=43_200).contains(seconds)).ok_or_else(|| {
                invalid_token("SessionDuration in AuthnResponse must be between 900 and 43200 seconds")
            })?;
        duration = if params.get("DurationSeconds").is_some() {
            duration.min(cap)
        } else {
            cap.min(role.max_session_duration)
        };
    }
    if let Some(until) = claims.session_until {
        duration = duration.min(until - ids::now()).max(1);
    }
    let grant = SessionGrant {
        policy: session_policy,
        policy_arns: &policy_arns,
        tags: &tags,
        kind: &SessionKind::Role,
        revoked_with: None,
        // A SAML assertion is not an MFA authentication Homeport saw.
        mfa_at: None,
        source_identity,
        transitive: &transitive,
    };
    let credentials = issue_role_session(app, &role, session_name, duration, &grant, &app.region).await?;
    let mut xml = XmlResponse::new(ACTION, STS_NAMESPACE);
    write_role_session(&mut xml, &app.account_id, &role, session_name, &credentials, &grant);
    xml.element("Subject", &claims.subject)
        .element("SubjectType", subject_type(&claims.subject_format))
        .element("Issuer", &claims.issuer)
        .element("Audience", &claims.recipient)
        .element("NameQualifier", &name_qualifier);
    if let Some(source) = source_identity {
        xml.element("SourceIdentity", source);
    }
    Ok(xml)
}

/// The one value of the AWS attribute `name` (`RoleSessionName`, `SessionDuration`, ...).
fn single<'a>(claims: &'a Claims, name: &str) -> Result<Option<&'a str>, AwsError> {
    match claims.attribute(&format!("{ATTRIBUTES}{name}")) {
        None => Ok(None),
        Some([one]) => Ok(Some(one.as_str())),
        Some(_) => Err(invalid_token(format!("{name} in AuthnResponse must have exactly one value"))),
    }
}

/// The (role, provider) pairs of the `Role` attribute, each written in either order.
fn role_pairs(claims: &Claims) -> impl Iterator<Item = (&str, &str)> {
    claims.attribute(&format!("{ATTRIBUTES}Role")).unwrap_or_default().iter().filter_map(|value| {
        let (first, second) = value.split_once(',')?;
        let (first, second) = (first.trim(), second.trim());
        if first.contains(":saml-provider/") { Some((second, first)) } else { Some((first, second)) }
    })
}

/// The session tags of the `PrincipalTag:KEY` attributes, within STS's 50 tags and lengths,
/// and the keys of those the `TransitiveTagKeys` attribute makes transitive (each one of the
/// tags' keys).
fn session_tags(claims: &Claims) -> Result<crate::sts::model::FederatedTags, AwsError> {
    let prefix = format!("{ATTRIBUTES}PrincipalTag:");
    let mut tags = Vec::new();
    for (name, values) in &claims.attributes {
        let Some(key) = name.strip_prefix(&prefix) else { continue };
        let [value] = values.as_slice() else {
            return Err(invalid_token(format!("PrincipalTag:{key} in AuthnResponse must have exactly one value")));
        };
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(invalid_token(format!("PrincipalTag:{key} in AuthnResponse is not a valid session tag")));
        }
        tags.push((key.to_owned(), value.clone()));
    }
    if tags.len() > 50 {
        return Err(AwsError::new(
            "PackedPolicyTooLarge",
            400,
            "Packed policy consumes more than 100 percent of the allotted size.",
        ));
    }
    let transitive = claims.attribute(&format!("{ATTRIBUTES}TransitiveTagKeys")).unwrap_or_default().to_vec();
    if let Some(key) = transitive.iter().find(|key| !tags.iter().any(|(own, _)| own.eq_ignore_ascii_case(key))) {
        return Err(invalid_token(format!("TransitiveTagKeys in AuthnResponse names {key}, which is no PrincipalTag")));
    }
    Ok((tags, transitive))
}

/// `SubjectType`: the NameID format without SAML 2.0's `nameid-format:` prefix.
fn subject_type(format: &str) -> &str {
    format.strip_prefix("urn:oasis:names:tc:SAML:2.0:nameid-format:").unwrap_or(format)
}

/// `NameQualifier` as IAM computes it: base64 of the SHA-1 of the issuer, the account id, `/`
/// and the provider's name.
fn name_qualifier(issuer: &str, account: &str, provider_arn: &str) -> String {
    let name = provider_arn.rsplit('/').next().unwrap_or_default();
    let digest = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, format!("{issuer}{account}/{name}").as_bytes());
    BASE64.encode(digest.as_ref())
}

/// The condition keys the trust policy is decided with (see the module's documentation).
fn trust_context(
    claims: &Claims,
    provider_arn: &str,
    account: &str,
    name_qualifier: &str,
    session_name: &str,
    source_ip: &str,
) -> Context {
    let now = ids::now();
    let provider_name = provider_arn.rsplit('/').next().unwrap_or_default();
    let mut context = Context::new()
        .with("saml:aud", claims.recipient.clone())
        .with("saml:iss", claims.issuer.clone())
        .with("saml:sub", claims.subject.clone())
        .with("saml:sub_type", subject_type(&claims.subject_format))
        .with("saml:namequalifier", name_qualifier)
        .with("saml:doc", format!("{account}/{provider_name}"))
        .with("aws:FederatedProvider", provider_arn)
        .with("aws:SourceIp", source_ip)
        .with("aws:CurrentTime", ids::iso8601(now))
        .with("aws:EpochTime", now.to_string())
        .with("sts:RoleSessionName", session_name);
    for (oid, key) in ATTRIBUTE_KEYS {
        if let Some(values) = claims.attribute(oid) {
            context = context.with_values(&format!("saml:{key}"), values.iter().cloned());
        }
    }
    context
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn the_name_qualifier_is_iams_formula() {
        // base64(sha1("https://example.com/saml" + "123456789012" + "/MySAMLIdP")), as IAM's
        // documentation writes the formula.
        let expected = BASE64.encode(
            digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, b"https://example.com/saml123456789012/MySAMLIdP")
                .as_ref(),
        );
        assert_eq!(
            name_qualifier(
                "https://example.com/saml",
                "123456789012",
                "arn:aws:iam::123456789012:saml-provider/MySAMLIdP"
            ),
            expected
        );
    }

    #[test]
    fn role_pairs_read_in_either_order() {
        let claims = Claims {
            attributes: vec![(
                format!("{ATTRIBUTES}Role"),
                vec![
                    "arn:aws:iam::1:role/A,arn:aws:iam::1:saml-provider/P".to_owned(),
                    "arn:aws:iam::1:saml-provider/P, arn:aws:iam::1:role/B".to_owned(),
                    "garbage".to_owned(),
                ],
            )],
            ..Claims::default()
        };
        let pairs: Vec<_> = role_pairs(&claims).collect();
        assert_eq!(
            pairs,
            [
                ("arn:aws:iam::1:role/A", "arn:aws:iam::1:saml-provider/P"),
                ("arn:aws:iam::1:role/B", "arn:aws:iam::1:saml-provider/P")
            ]
        );
        assert_eq!(subject_type("urn:oasis:names:tc:SAML:2.0:nameid-format:transient"), "transient");
        assert_eq!(
            subject_type("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"),
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
        );
    }
}
