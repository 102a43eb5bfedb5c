//! STS AssumeRoleWithSAML, in process, unsigned: an identity provider with a fresh RSA key and
//! certificate (its metadata registered as a SAML provider) signs an assertion; the assertion
//! assumes a role whose trust policy conditions `saml:aud`, `saml:sub_type` and `saml:iss`, the
//! session then acts as the role; every refusal has AWS's code (a forged signature, a wrapped
//! assertion, the wrong audience, an expired assertion, a role pair not granted, an unknown
//! provider, no signature, the wrong issuer, no session name, a condition not met).
//! The identity provider (`support::saml_idp`) writes its assertions in canonical form, so
//! their signatures are computed without Homeport's canonicalization.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::json;

use crate::support::saml_idp::{Claims, ENTITY, Idp, SESSION_ATTRIBUTE, SIGN_IN, response};
use crate::support::{Call, Case, Key, TestServer, iam, sts, unique};

crate::support::on_both_stores!(an_assertion_assumes_its_role, assertions_refused_as_aws_refuses_them);

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
            "Missing signature: neither the response nor its assertion is signed",
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
