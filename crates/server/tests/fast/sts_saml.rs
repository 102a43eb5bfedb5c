//! STS AssumeRoleWithSAML, in process, unsigned: an identity provider with a fresh RSA key and
//! certificate (its metadata registered as a SAML provider) signs an assertion; the assertion
//! assumes a role whose trust policy conditions `saml:aud`, `saml:sub_type` and `saml:iss`, the
//! session then acts as the role; every refusal has AWS's code (a forged signature, a wrapped
//! assertion, the wrong audience, an expired assertion, a role pair not granted, an unknown
//! provider, no signature, the wrong issuer, no session name, a condition not met).
//!
//! The assertions are written directly in their exclusive canonical form, so the digest and
//! signature here are computed without Homeport's canonicalization.

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::json;

use crate::support::{Call, Case, Key, TestServer, iam, sts, unique};

crate::support::on_both_stores!(an_assertion_assumes_its_role, assertions_refused_as_aws_refuses_them);

const ENTITY: &str = "https://idp.example.com/saml";
const SIGN_IN: &str = "https://signin.aws.amazon.com/saml";
const ROLE_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
const SESSION_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";

/// An identity provider: its signing key and the base64 DER of its certificate.
struct Idp {
    key: RsaKeyPair,
    certificate: String,
}

impl Idp {
    fn new() -> Idp {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let certificate =
            rcgen::CertificateParams::new(vec!["idp.example.com".to_owned()]).unwrap().self_signed(&pair).unwrap();
        Idp {
            key: RsaKeyPair::from_pkcs8(&pair.serialize_der()).unwrap(),
            certificate: BASE64.encode(certificate.der()),
        }
    }

    fn metadata(&self) -> String {
        format!(
            r#"<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{ENTITY}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
            self.certificate
        )
    }

    /// `assertion` (canonical, ID `_a1`) with its enveloped signature after its `Issuer`.
    fn sign(&self, assertion: &str) -> String {
        let digest = BASE64.encode(digest::digest(&digest::SHA256, assertion.as_bytes()));
        let signed_info = format!(
            r##"<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"></ds:SignatureMethod><ds:Reference URI="#_a1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"></ds:Transform><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"></ds:DigestMethod><ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>"##
        );
        let mut value = vec![0; self.key.public_modulus_len()];
        self.key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signed_info.as_bytes(), &mut value).unwrap();
        let signature = format!(
            r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">{signed_info}<ds:SignatureValue>{}</ds:SignatureValue></ds:Signature>"#,
            BASE64.encode(value)
        );
        assertion.replacen("</saml:Issuer>", &format!("</saml:Issuer>{signature}"), 1)
    }
}

/// What an assertion says; `Claims::new` is a good one for `role` of `provider`.
#[derive(Clone)]
struct Claims {
    issuer: String,
    audience: String,
    /// Seconds from now until the assertion expires.
    lifetime: i64,
    attributes: Vec<(String, String)>,
}

impl Claims {
    fn new(role: &str, provider: &str) -> Claims {
        Claims {
            issuer: ENTITY.to_owned(),
            audience: SIGN_IN.to_owned(),
            lifetime: 300,
            attributes: vec![
                (ROLE_ATTRIBUTE.to_owned(), format!("{provider},{role}")),
                (SESSION_ATTRIBUTE.to_owned(), "alice@example.com".to_owned()),
            ],
        }
    }

    /// The canonical form of the assertion.
    fn assertion(&self) -> String {
        let now = now();
        let (instant, until) = (iso8601(now), iso8601(now + self.lifetime));
        let attributes: String = self
            .attributes
            .iter()
            .map(|(name, value)| {
                format!(r#"<saml:Attribute Name="{name}"><saml:AttributeValue>{value}</saml:AttributeValue></saml:Attribute>"#)
            })
            .collect();
        format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" IssueInstant="{instant}" Version="2.0"><saml:Issuer>{}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">alice</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{until}" Recipient="{SIGN_IN}"></saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{}" NotOnOrAfter="{until}"><saml:AudienceRestriction><saml:Audience>{}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AttributeStatement>{attributes}</saml:AttributeStatement></saml:Assertion>"#,
            self.issuer,
            iso8601(now - 60),
            self.audience
        )
    }
}

/// A SAML response around `assertion`, base64 as AssumeRoleWithSAML takes it.
fn response(assertion: &str) -> String {
    BASE64.encode(format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Destination="{SIGN_IN}" ID="_r1" IssueInstant="{}" Version="2.0"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#,
        iso8601(now())
    ))
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (Howard Hinnant's civil-from-days).
fn iso8601(seconds: i64) -> String {
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// A registered provider for a fresh identity provider: the provider and its ARN.
fn provider(server: &TestServer) -> (Idp, String) {
    let idp = Idp::new();
    let name = unique("idp");
    let created = server
        .iam(&server.root, "CreateSAMLProvider", &[("Name", &name), ("SAMLMetadataDocument", &idp.metadata())])
        .ok();
    (idp, created.xml("SAMLProviderArn"))
}

/// A role trusting `provider_arn` for persistent subjects issued by [`ENTITY`] for AWS's sign-in
/// endpoint, with session tags, allowed to list IAM users; its ARN.
fn role(server: &TestServer, provider_arn: &str) -> String {
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
        "Condition": {"StringEquals": {"saml:aud": SIGN_IN, "saml:sub_type": "persistent", "saml:iss": ENTITY}}
    }]});
    let name = unique("saml-admin");
    let created = server
        .iam(&server.root, "CreateRole", &[("RoleName", &name), ("AssumeRolePolicyDocument", &trust.to_string())])
        .ok();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#;
    server
        .iam(&server.root, "PutRolePolicy", &[("RoleName", &name), ("PolicyName", "read"), ("PolicyDocument", policy)])
        .ok();
    created.xml("Arn")
}

fn assume(role_arn: &str, provider_arn: &str, assertion: &str) -> Call {
    sts("AssumeRoleWithSAML", &[("RoleArn", role_arn), ("PrincipalArn", provider_arn), ("SAMLAssertion", assertion)])
}

fn an_assertion_assumes_its_role(server: &TestServer) {
    let (idp, provider_arn) = provider(server);
    let role_arn = role(server, &provider_arn);
    let role_name = role_arn.rsplit('/').next().unwrap();
    let mut claims = Claims::new(&role_arn, &provider_arn);
    claims.attributes.push(("https://aws.amazon.com/SAML/Attributes/PrincipalTag:team".to_owned(), "blue".to_owned()));
    let answer = server.call_as(None, &assume(&role_arn, &provider_arn, &response(&idp.sign(&claims.assertion()))));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let session_arn = format!("arn:aws:sts::{}:assumed-role/{role_name}/alice@example.com", server.account_id);
    assert_eq!(answer.xml("Arn"), session_arn);
    assert_eq!(answer.xml("Subject"), "alice");
    assert_eq!(answer.xml("SubjectType"), "persistent");
    assert_eq!(answer.xml("Issuer"), ENTITY);
    assert_eq!(answer.xml("Audience"), SIGN_IN);
    let provider_name = provider_arn.rsplit('/').next().unwrap();
    let qualifier = digest::digest(
        &digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{ENTITY}{}/{provider_name}", server.account_id).as_bytes(),
    );
    assert_eq!(answer.xml("NameQualifier"), BASE64.encode(qualifier));
    assert!(!answer.xml("PackedPolicySize").is_empty(), "the session has a tag");
    let session = Key {
        id: answer.xml("AccessKeyId"),
        secret: answer.xml("SecretAccessKey"),
        token: Some(answer.xml("SessionToken")),
    };
    server.run(&[
        Case::ok("the session is the role's", &session, sts("GetCallerIdentity", &[])).xml("Arn", session_arn),
        Case::ok("it acts with the role's permissions", &session, iam("ListUsers", &[])),
        Case::denied("and only those", &session, iam("ListRoles", &[]), "iam:ListRoles"),
    ]);
}

fn assertions_refused_as_aws_refuses_them(server: &TestServer) {
    let (idp, provider_arn) = provider(server);
    let role_arn = role(server, &provider_arn);
    let good = Claims::new(&role_arn, &provider_arn);
    let signed = |claims: &Claims| response(&idp.sign(&claims.assertion()));
    let with = |change: &dyn Fn(&mut Claims)| {
        let mut claims = good.clone();
        change(&mut claims);
        signed(&claims)
    };
    let signed_assertion = idp.sign(&good.assertion());
    let forged = good.assertion().replace(">alice<", ">mallory<").replace("_a1", "_a2");
    let wrapped = response(&format!(
        "{}{forged}",
        signed_assertion
            .replace("<saml:Assertion", "<samlp:Extensions><saml:Assertion")
            .replace("</saml:Assertion>", "</saml:Assertion></samlp:Extensions>")
    ));
    let other_role = role(server, &provider_arn);
    let (_, other_provider) = provider(server);
    let invalid = |name: &str, assertion: String, message: &str| {
        Case::unsigned(name, assume(&role_arn, &provider_arn, &assertion), 400, "InvalidIdentityToken", message)
    };
    server.run(&[
        invalid(
            "a tampered assertion",
            response(&signed_assertion.replace(">alice<", ">mallory<")),
            "Response signature invalid",
        ),
        invalid("another key's signature", response(&Idp::new().sign(&good.assertion())), "Response signature invalid"),
        invalid(
            "no signature",
            response(&good.assertion()),
            "Response signature invalid: neither the response nor its assertion is signed",
        ),
        invalid(
            "a signed assertion wrapped beside a forged one",
            wrapped,
            "Invalid SAML response: the response must hold exactly one unencrypted assertion",
        ),
        invalid(
            "another audience",
            with(&|claims| claims.audience = "https://example.com/app".to_owned()),
            "Audience, Recipient or Destination is not the AWS sign-in endpoint",
        ),
        invalid(
            "another issuer",
            with(&|claims| claims.issuer = "https://evil.example.com".to_owned()),
            "Issuer not present in specified provider",
        ),
        invalid(
            "no session name",
            with(&|claims| claims.attributes.retain(|(name, _)| name != SESSION_ATTRIBUTE)),
            "RoleSessionName is required in AuthnResponse",
        ),
        invalid("not base64", "!!!!".to_owned(), "Invalid base64 SAMLResponse"),
        Case::unsigned(
            "an expired assertion",
            assume(&role_arn, &provider_arn, &with(&|claims| claims.lifetime = -600)),
            400,
            "ExpiredTokenException",
            "Token expired: the SAML assertion is no longer valid",
        ),
        Case::unsigned(
            "a role the Role attribute does not pair with the provider",
            assume(&other_role, &provider_arn, &signed(&good)),
            403,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithSAML",
        ),
        Case::unsigned(
            "an unknown provider",
            assume(&role_arn, &format!("arn:aws:iam::{}:saml-provider/nobody", server.account_id), &signed(&good)),
            400,
            "InvalidIdentityToken",
            "Specified provider doesn't exist",
        ),
        Case::unsigned(
            "another registered provider, whose key did not sign",
            assume(&role_arn, &other_provider, &signed(&Claims::new(&role_arn, &other_provider))),
            400,
            "InvalidIdentityToken",
            "Response signature invalid",
        ),
        Case::unsigned(
            "a subject type the trust policy does not allow",
            assume(
                &role_arn,
                &provider_arn,
                &response(&idp.sign(&good.assertion().replace("nameid-format:persistent", "nameid-format:transient"))),
            ),
            403,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithSAML",
        ),
    ]);
}
