//! A SAML identity provider for tests: a fresh RSA key and self-signed certificate, its
//! metadata document, and assertions written directly in their exclusive canonical form, so
//! that their digest and signature are computed without Homeport's canonicalization.

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

pub const ENTITY: &str = "https://idp.example.com/saml";
pub const SIGN_IN: &str = "https://signin.aws.amazon.com/saml";
pub const ROLE_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
pub const SESSION_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";

/// An identity provider: its signing key and the base64 DER of its certificate.
pub struct Idp {
    key: RsaKeyPair,
    pub certificate: String,
}

impl Idp {
    pub fn new() -> Idp {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let certificate =
            rcgen::CertificateParams::new(vec!["idp.example.com".to_owned()]).unwrap().self_signed(&pair).unwrap();
        Idp {
            key: RsaKeyPair::from_pkcs8(&pair.serialize_der()).unwrap(),
            certificate: BASE64.encode(certificate.der()),
        }
    }

    pub fn metadata(&self) -> String {
        format!(
            r#"<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{ENTITY}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
            self.certificate
        )
    }

    /// `assertion` (canonical, ID `_a1`) with its enveloped signature after its `Issuer`.
    pub fn sign(&self, assertion: &str) -> String {
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
pub struct Claims {
    pub issuer: String,
    pub audience: String,
    /// Seconds from now until the assertion expires.
    pub lifetime: i64,
    pub attributes: Vec<(String, String)>,
}

impl Claims {
    pub fn new(role: &str, provider: &str) -> Claims {
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
    pub fn assertion(&self) -> String {
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
pub fn response(assertion: &str) -> String {
    BASE64.encode(format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Destination="{SIGN_IN}" ID="_r1" IssueInstant="{}" Version="2.0"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#,
        iso8601(now())
    ))
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (Howard Hinnant's civil-from-days).
pub fn iso8601(seconds: i64) -> String {
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
