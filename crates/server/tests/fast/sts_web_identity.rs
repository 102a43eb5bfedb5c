//! STS AssumeRoleWithWebIdentity, in process, unsigned, against a local OpenID Connect issuer
//! over HTTPS (`support::oidc_issuer`): a GitHub-Actions-shaped token assumes a role whose
//! trust policy conditions `:sub` (StringLike) and `:aud` (StringEquals), the session then
//! acts as the role; every refusal has AWS's code (wrong audience or subject, expiry, a forged
//! signature, an unknown key, an issuer not registered, a certificate matching no thumbprint).

use serde_json::{Value, json};

use crate::support::oidc_issuer::{Issuer, Signer};
use crate::support::{Call, Case, Expect, Key, TestServer, iam, sts, unique};

crate::support::on_both_stores!(
    a_ci_token_assumes_its_role,
    tokens_and_issuers_refused_as_aws_refuses_them,
    tags_in_the_token_need_tag_session_and_tag_the_session,
    a_source_identity_in_the_token_needs_its_permission_and_stays_with_the_session
);

/// A provider for a fresh issuer path of the shared issuer, trusted by `thumbprint`; its URL
/// and ARN.
fn provider(server: &TestServer, thumbprint: Option<&str>) -> (String, String) {
    let issuer = Issuer::shared();
    let url = format!("{}/{}", issuer.origin, unique("gh"));
    let mut params = vec![("Url", url.as_str()), ("ClientIDList.member.1", "sts.amazonaws.com")];
    if let Some(print) = thumbprint {
        params.push(("ThumbprintList.member.1", print));
    }
    let created = server.iam(&server.root, "CreateOpenIDConnectProvider", &params).ok();
    (url, created.xml("OpenIDConnectProviderArn"))
}

/// A role trusting `provider_arn` for `repo:org/repo:*` with the audience `sts.amazonaws.com`,
/// allowed `sts:GetCallerIdentity`-free reads of IAM users; its ARN.
fn role(server: &TestServer, url: &str, provider_arn: &str) -> String {
    let host = url.trim_start_matches("https://");
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {format!("{host}:aud"): "sts.amazonaws.com"},
            "StringLike": {format!("{host}:sub"): "repo:org/repo:*"}
        }
    }]});
    let name = unique("ci-deploy");
    let created = server
        .iam(&server.root, "CreateRole", &[("RoleName", &name), ("AssumeRolePolicyDocument", &trust.to_string())])
        .ok();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#;
    server
        .iam(&server.root, "PutRolePolicy", &[("RoleName", &name), ("PolicyName", "read"), ("PolicyDocument", policy)])
        .ok();
    created.xml("Arn")
}

fn claims(url: &str, sub: &str, aud: &str, lifetime: i64) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    json!({"iss": url, "sub": sub, "aud": aud, "iat": now - 10, "nbf": now - 10, "exp": now + lifetime,
           "repository": "org/repo", "job_workflow_ref": "org/repo/.github/workflows/deploy.yml@refs/heads/main"})
}

fn assume(role_arn: &str, token: &str) -> Call {
    sts(
        "AssumeRoleWithWebIdentity",
        &[("RoleArn", role_arn), ("RoleSessionName", "gha-run-1"), ("WebIdentityToken", token)],
    )
}

fn a_ci_token_assumes_its_role(server: &TestServer) {
    let issuer = Issuer::shared();
    let (url, provider_arn) = provider(server, Some(&issuer.ca_thumbprint));
    let role_arn = role(server, &url, &provider_arn);
    let role_name = role_arn.rsplit('/').next().unwrap();
    let sub = "repo:org/repo:ref:refs/heads/main";
    for signer in [Signer::Ec, Signer::Rsa] {
        let token = issuer.token(signer, &claims(&url, sub, "sts.amazonaws.com", 600));
        let answer = server.call_as(None, &assume(&role_arn, &token));
        assert_eq!(answer.status, 200, "{signer:?}: {}", answer.body);
        assert_eq!(answer.xml("SubjectFromWebIdentityToken"), sub);
        assert_eq!(answer.xml("Audience"), "sts.amazonaws.com");
        assert_eq!(answer.xml("Provider"), provider_arn);
        assert_eq!(answer.xml("Arn"), format!("arn:aws:sts::{}:assumed-role/{role_name}/gha-run-1", server.account_id));
        assert!(!answer.body.contains("PackedPolicySize"), "no session policy, no size");
        let session = Key {
            id: answer.xml("AccessKeyId"),
            secret: answer.xml("SecretAccessKey"),
            token: Some(answer.xml("SessionToken")),
        };
        server.run(&[
            Case::ok("the session is the role's", &session, sts("GetCallerIdentity", &[]))
                .xml("Arn", format!("arn:aws:sts::{}:assumed-role/{role_name}/gha-run-1", server.account_id)),
            Case::ok("it acts with the role's permissions", &session, iam("ListUsers", &[])),
            Case::denied("and only those", &session, iam("ListRoles", &[]), "iam:ListRoles"),
        ]);
    }
    // A session policy narrows it, and its size is reported as for AssumeRole.
    let token = issuer.token(Signer::Ec, &claims(&url, sub, "sts.amazonaws.com", 600));
    let narrow =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}"#;
    let answer = server
        .query(
            None,
            "sts",
            "AssumeRoleWithWebIdentity",
            "2011-06-15",
            &[
                ("RoleArn", &role_arn),
                ("RoleSessionName", "narrow"),
                ("WebIdentityToken", &token),
                ("Policy", narrow),
                ("DurationSeconds", "900"),
            ],
        )
        .ok();
    assert!(!answer.xml("PackedPolicySize").is_empty());
    let narrowed = Key {
        id: answer.xml("AccessKeyId"),
        secret: answer.xml("SecretAccessKey"),
        token: Some(answer.xml("SessionToken")),
    };
    server.run(&[Case::denied("the session policy narrows it", &narrowed, iam("ListUsers", &[]), "iam:ListUsers")]);
}

fn tokens_and_issuers_refused_as_aws_refuses_them(server: &TestServer) {
    let issuer = Issuer::shared();
    let (url, provider_arn) = provider(server, Some(&issuer.ca_thumbprint));
    let role_arn = role(server, &url, &provider_arn);
    let sub = "repo:org/repo:ref:refs/heads/main";
    let good = |signer| issuer.token(signer, &claims(&url, sub, "sts.amazonaws.com", 600));
    // A provider trusting the serving certificate's thumbprint rather than the top of the
    // chain (IAM's), and one trusting none: neither certificate chains to the system's roots.
    let (leaf_url, leaf_arn) = provider(server, Some(&issuer.leaf_thumbprint));
    let leaf_role = role(server, &leaf_url, &leaf_arn);
    let (bare_url, bare_arn) = provider(server, None);
    let bare_role = role(server, &bare_url, &bare_arn);
    let unregistered = format!("{}/{}", issuer.origin, unique("nobody"));
    let other_role = role(server, &url, &provider_arn.replace("/gh", "/xx"));
    let invalid = |name: &str, token: String, message: &str| {
        Case::unsigned(name, assume(&role_arn, &token), 400, "InvalidIdentityToken", message)
    };
    server.run(&[
        invalid(
            "the wrong audience",
            issuer.token(Signer::Ec, &claims(&url, sub, "someone-else", 600)),
            "Incorrect token audience",
        ),
        Case::unsigned(
            "another repository",
            assume(
                &role_arn,
                &issuer
                    .token(Signer::Ec, &claims(&url, "repo:org/other:ref:refs/heads/main", "sts.amazonaws.com", 600)),
            ),
            403,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        ),
        Case::unsigned(
            "expired",
            assume(&role_arn, &issuer.token(Signer::Ec, &claims(&url, sub, "sts.amazonaws.com", -5))),
            400,
            "ExpiredTokenException",
            "must be before the expiration date/time",
        ),
        invalid("a forged signature", good(Signer::Forged), "signature does not verify"),
        invalid(
            "an unknown key",
            good(Signer::UnknownKid),
            "Couldn't retrieve verification key from your identity provider",
        ),
        invalid(
            "no provider for the issuer",
            issuer.token(Signer::Ec, &claims(&unregistered, sub, "sts.amazonaws.com", 600)),
            &format!("No OpenIDConnect provider found in your account for {unregistered}"),
        ),
        invalid("not a JWT", "not-a-token".to_owned(), "The ID Token provided is not a valid JWT."),
        Case::unsigned(
            "the serving certificate's thumbprint is not the one IAM takes",
            assume(&leaf_role, &issuer.token(Signer::Ec, &claims(&leaf_url, sub, "sts.amazonaws.com", 600))),
            400,
            "InvalidIdentityToken",
            "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint",
        ),
        Case::unsigned(
            "no thumbprint and no system root",
            assume(&bare_role, &issuer.token(Signer::Ec, &claims(&bare_url, sub, "sts.amazonaws.com", 600))),
            400,
            "InvalidIdentityToken",
            "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint",
        ),
        Case::unsigned(
            "a role trusting another provider",
            assume(&other_role, &good(Signer::Ec)),
            403,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        ),
        Case::unsigned(
            "a role that does not exist",
            assume(&format!("arn:aws:iam::{}:role/{}", server.account_id, unique("none")), &good(Signer::Ec)),
            403,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        ),
        Case::unsigned(
            "a token past STS's bound",
            assume(&role_arn, &"a".repeat(20_001)),
            400,
            "ValidationError",
            "Member must have length less than or equal to 20000",
        ),
        Case::unsigned(
            "a session name STS refuses",
            sts(
                "AssumeRoleWithWebIdentity",
                &[("RoleArn", &role_arn), ("RoleSessionName", "a b"), ("WebIdentityToken", &good(Signer::Ec))],
            ),
            400,
            "ValidationError",
            "roleSessionName",
        ),
        Case::unsigned(
            "a duration past the role's maximum",
            sts(
                "AssumeRoleWithWebIdentity",
                &[
                    ("RoleArn", &role_arn),
                    ("RoleSessionName", "s1"),
                    ("WebIdentityToken", &good(Signer::Ec)),
                    ("DurationSeconds", "7200"),
                ],
            ),
            400,
            "ValidationError",
            "exceeds the MaxSessionDuration set for this role",
        ),
    ]);
    // The issuer's keys were fetched once for all of these: they are cached, and an unknown
    // key fetches them again only after a minute.
    assert_eq!(issuer.key_fetches(&url), 1);
    // Once the provider is gone, its tokens are worth nothing.
    server.iam(&server.root, "DeleteOpenIDConnectProvider", &[("OpenIDConnectProviderArn", &provider_arn)]).ok();
    let case = Case {
        name: "after the provider's deletion".to_owned(),
        key: None,
        call: assume(&role_arn, &good(Signer::Ec)),
        expect: Expect::Error(
            400,
            "InvalidIdentityToken",
            "No OpenIDConnect provider found in your account".to_owned(),
        ),
        fields: Vec::new(),
    };
    server.run(&[case]);
}

fn tags_in_the_token_need_tag_session_and_tag_the_session(server: &TestServer) {
    let issuer = Issuer::shared();
    let (url, provider_arn) = provider(server, Some(&issuer.ca_thumbprint));
    let untagging = role(server, &url, &provider_arn);
    let host = url.trim_start_matches("https://");
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
        "Condition": {"StringLike": {format!("{host}:sub"): "repo:org/repo:*"}}
    }]});
    let name = unique("tagged");
    let tagging = server
        .iam(&server.root, "CreateRole", &[("RoleName", &name), ("AssumeRolePolicyDocument", &trust.to_string())])
        .ok()
        .xml("Arn");
    let by_tag = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"ci"}}}]}"#;
    server
        .iam(
            &server.root,
            "PutRolePolicy",
            &[("RoleName", &name), ("PolicyName", "by-tag"), ("PolicyDocument", by_tag)],
        )
        .ok();
    let tagged = |team: Value| {
        let mut claims = claims(&url, "repo:org/repo:ref:refs/heads/main", "sts.amazonaws.com", 600);
        claims["https://aws.amazon.com/tags"] =
            json!({"principal_tags": {"team": team}, "transitive_tag_keys": ["team"]});
        issuer.token(Signer::Ec, &claims)
    };
    let session = |team: &str| {
        let answer = server.call_as(None, &assume(&tagging, &tagged(json!([team]))));
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(!answer.xml("PackedPolicySize").is_empty(), "tags count towards the packed size");
        Key {
            id: answer.xml("AccessKeyId"),
            secret: answer.xml("SecretAccessKey"),
            token: Some(answer.xml("SessionToken")),
        }
    };
    server.run(&[
        Case::ok("the token's tag is the session's", &session("ci"), iam("ListUsers", &[])),
        Case::denied("another tag is another session", &session("web"), iam("ListUsers", &[]), "iam:ListUsers"),
        Case::unsigned(
            "a trust policy without sts:TagSession",
            assume(&untagging, &tagged(json!(["ci"]))),
            403,
            "AccessDenied",
            "Not authorized to perform sts:TagSession",
        ),
        Case::unsigned(
            "a malformed claim",
            assume(&tagging, &tagged(json!(["a", "b"]))),
            400,
            "InvalidIdentityToken",
            "is not a valid session tags claim",
        ),
    ]);
}

fn a_source_identity_in_the_token_needs_its_permission_and_stays_with_the_session(server: &TestServer) {
    let issuer = Issuer::shared();
    let (url, provider_arn) = provider(server, Some(&issuer.ca_thumbprint));
    let plain = role(server, &url, &provider_arn);
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": ["sts:AssumeRoleWithWebIdentity", "sts:SetSourceIdentity"],
    }]});
    let name = unique("sourced");
    let sourcing = server
        .iam(&server.root, "CreateRole", &[("RoleName", &name), ("AssumeRolePolicyDocument", &trust.to_string())])
        .ok()
        .xml("Arn");
    let only_alice = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"StringEquals":{"aws:SourceIdentity":"alice"}}}]}"#;
    server
        .iam(
            &server.root,
            "PutRolePolicy",
            &[("RoleName", &name), ("PolicyName", "alice"), ("PolicyDocument", only_alice)],
        )
        .ok();
    let token = |source: &str| {
        let mut claims = claims(&url, "repo:org/repo:ref:refs/heads/main", "sts.amazonaws.com", 600);
        claims["https://aws.amazon.com/source_identity"] = json!(source);
        issuer.token(Signer::Ec, &claims)
    };
    let answer = server.call_as(None, &assume(&sourcing, &token("alice")));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.xml("SourceIdentity"), "alice");
    let alice = Key {
        id: answer.xml("AccessKeyId"),
        secret: answer.xml("SecretAccessKey"),
        token: Some(answer.xml("SessionToken")),
    };
    server.run(&[
        Case::ok("the session's requests carry it", &alice, iam("ListUsers", &[])),
        Case::unsigned(
            "a trust policy without sts:SetSourceIdentity",
            assume(&plain, &token("alice")),
            403,
            "AccessDenied",
            "Not authorized to perform sts:SetSourceIdentity",
        ),
        Case::unsigned(
            "not a source identity",
            assume(&sourcing, &token("a")),
            400,
            "InvalidIdentityToken",
            "source identity",
        ),
    ]);
}
