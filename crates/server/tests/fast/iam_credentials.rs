//! A user's other credentials, in process: login profiles and the account password policy,
//! ChangePassword, SSH public keys, service-specific credentials, signing certificates, server
//! certificates, the credential report, and DeleteUser refusing a user that still holds any
//! of them. The happy paths, IAM's errors and quotas, and refusals without permissions.
//!
//! The password policy is the account's: one case sets it and every password here meets the
//! strictest policy it sets, so the cases run in parallel.

use base64::Engine;

use crate::support::{Case, Key, TestServer, iam, unique};

crate::support::on_both_stores!(
    the_password_policy_governs_login_profiles_and_change_password,
    ssh_keys_are_uploaded_read_in_both_encodings_and_capped_at_five,
    service_credentials_are_issued_once_reset_and_capped_per_service,
    signing_certificates_are_parsed_unique_and_capped_at_two,
    server_certificates_keep_their_key_sealed_and_are_renamed_tagged_and_listed,
    a_user_holding_any_credential_cannot_be_deleted,
    the_credential_report_lists_every_user_and_their_credentials,
    a_user_without_permissions_is_refused_every_credential_operation,
    a_server_certificates_tags_are_request_tags
);

const CERT: &str = include_str!("../../src/iam/testdata/cert.pem");
const KEY: &str = include_str!("../../src/iam/testdata/key.pem");
const CERT2: &str = include_str!("../../src/iam/testdata/cert2.pem");
const CERT3: &str = include_str!("../../src/iam/testdata/cert3.pem");
const KEY2: &str = include_str!("../../src/iam/testdata/key2.pem");
const EC_CERT: &str = include_str!("../../src/iam/testdata/eccert.pem");
const EC_KEY: &str = include_str!("../../src/iam/testdata/eckey.pem");
const EXPIRED: &str = include_str!("../../src/iam/testdata/expired.pem");
const KEY3: &str = include_str!("../../src/iam/testdata/key3.pem");
const SSH: [&str; 6] = [
    include_str!("../../src/iam/testdata/key.pub"),
    include_str!("../../src/iam/testdata/key2.pub"),
    include_str!("../../src/iam/testdata/key3.pub"),
    include_str!("../../src/iam/testdata/key4.pub"),
    include_str!("../../src/iam/testdata/key5.pub"),
    include_str!("../../src/iam/testdata/key6.pub"),
];
const SHORT_SSH: &str = include_str!("../../src/iam/testdata/short.pub");
const FINGERPRINT: &str = include_str!("../../src/iam/testdata/fingerprint.txt");

/// Meets every policy the cases set (and AWS's default).
const STRONG: &str = "Str0ng-Passw0rd!one";
const STRONG2: &str = "Str0ng-Passw0rd!two";
const STRONG3: &str = "Str0ng-Passw0rd!three";

fn user(server: &TestServer, prefix: &str) -> String {
    let name = unique(prefix);
    server.iam(&server.root, "CreateUser", &[("UserName", &name)]).ok();
    name
}

fn the_password_policy_governs_login_profiles_and_change_password(server: &TestServer) {
    let root = &server.root;
    let name = unique("pw");
    let key: Key = server.user_with_policy(
        &name,
        Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ChangePassword","iam:GetLoginProfile"],"Resource":"*"}]}"#),
    );
    let violation = "Password does not conform to the account password policy.";
    server.run(&[
        Case::error(
            "no profile yet",
            root,
            iam("GetLoginProfile", &[("UserName", &name)]),
            404,
            "NoSuchEntity",
            format!("Login Profile for User {name} cannot be found."),
        ),
        Case::error(
            "AWS's default policy: three kinds of characters",
            root,
            iam("CreateLoginProfile", &[("UserName", &name), ("Password", "alllowercase1")]),
            400,
            "PasswordPolicyViolation",
            violation,
        ),
        Case::ok(
            "set a policy",
            root,
            iam(
                "UpdateAccountPasswordPolicy",
                &[
                    ("MinimumPasswordLength", "12"),
                    ("RequireSymbols", "true"),
                    ("RequireNumbers", "true"),
                    ("RequireUppercaseCharacters", "true"),
                    ("RequireLowercaseCharacters", "true"),
                    ("MaxPasswordAge", "90"),
                    ("PasswordReusePrevention", "2"),
                ],
            ),
        ),
        Case::ok("read it", root, iam("GetAccountPasswordPolicy", &[]))
            .xml("MinimumPasswordLength", "12")
            .xml("RequireSymbols", "true")
            .xml("ExpirePasswords", "true")
            .xml("MaxPasswordAge", "90")
            .xml("PasswordReusePrevention", "2")
            .xml("AllowUsersToChangePassword", "false")
            .xml("HardExpiry", "false"),
        Case::error(
            "too short for it",
            root,
            iam("CreateLoginProfile", &[("UserName", &name), ("Password", "Sh0rt-one!")]),
            400,
            "PasswordPolicyViolation",
            violation,
        ),
        Case::ok(
            "create",
            root,
            iam("CreateLoginProfile", &[("UserName", &name), ("Password", STRONG), ("PasswordResetRequired", "true")]),
        )
        .xml("UserName", &name)
        .xml("PasswordResetRequired", "true"),
        Case::error(
            "create again",
            root,
            iam("CreateLoginProfile", &[("UserName", &name), ("Password", STRONG)]),
            409,
            "EntityAlreadyExists",
            format!("Login Profile for user {name} already exists."),
        ),
        Case::ok("get", root, iam("GetLoginProfile", &[("UserName", &name)]))
            .xml("UserName", &name)
            .xml("PasswordResetRequired", "true"),
        Case::ok("the user reads its own", &key, iam("GetLoginProfile", &[])).xml("UserName", &name),
        Case::error(
            "the old password must be right",
            &key,
            iam("ChangePassword", &[("OldPassword", STRONG2), ("NewPassword", STRONG3)]),
            403,
            "AccessDenied",
            "The old password is incorrect.",
        ),
        Case::error(
            "the new one must meet the policy",
            &key,
            iam("ChangePassword", &[("OldPassword", STRONG), ("NewPassword", "weak")]),
            400,
            "PasswordPolicyViolation",
            violation,
        ),
        Case::error(
            "nor be the current one (reuse prevention)",
            &key,
            iam("ChangePassword", &[("OldPassword", STRONG), ("NewPassword", STRONG)]),
            400,
            "PasswordPolicyViolation",
            violation,
        ),
        Case::ok("change", &key, iam("ChangePassword", &[("OldPassword", STRONG), ("NewPassword", STRONG2)])),
        Case::ok("a change clears the reset", root, iam("GetLoginProfile", &[("UserName", &name)]))
            .xml("PasswordResetRequired", "false"),
        Case::error(
            "the previous one is still remembered",
            root,
            iam("UpdateLoginProfile", &[("UserName", &name), ("Password", STRONG)]),
            400,
            "PasswordPolicyViolation",
            violation,
        ),
        Case::ok(
            "a third is fine",
            root,
            iam("UpdateLoginProfile", &[("UserName", &name), ("Password", STRONG3), ("PasswordResetRequired", "true")]),
        ),
        Case::ok(
            "and the first is old enough again",
            root,
            iam("UpdateLoginProfile", &[("UserName", &name), ("Password", STRONG)]),
        ),
        Case::error(
            "the root user has no password to change",
            root,
            iam("ChangePassword", &[("OldPassword", STRONG), ("NewPassword", STRONG2)]),
            400,
            "InvalidUserType",
            "Only IAM users can change their own password.",
        ),
        Case::ok("delete", root, iam("DeleteLoginProfile", &[("UserName", &name)])),
        Case::error(
            "delete again",
            root,
            iam("DeleteLoginProfile", &[("UserName", &name)]),
            404,
            "NoSuchEntity",
            format!("Login Profile for User {name} cannot be found."),
        ),
        Case::error(
            "update a profile that is gone",
            root,
            iam("UpdateLoginProfile", &[("UserName", &name), ("Password", STRONG2)]),
            404,
            "NoSuchEntity",
            format!("Login Profile for User {name} cannot be found."),
        ),
        Case::error(
            "a user nobody made",
            root,
            iam("CreateLoginProfile", &[("UserName", "nobody-made-me"), ("Password", STRONG)]),
            404,
            "NoSuchEntity",
            "The user with name nobody-made-me cannot be found.",
        ),
        Case::ok(
            "defaults for what is omitted",
            root,
            iam("UpdateAccountPasswordPolicy", &[("RequireNumbers", "true")]),
        ),
        Case::ok("read the defaults", root, iam("GetAccountPasswordPolicy", &[]))
            .xml("MinimumPasswordLength", "6")
            .xml("RequireNumbers", "true")
            .xml("RequireSymbols", "false")
            .xml("ExpirePasswords", "false"),
        Case::ok("delete the policy", root, iam("DeleteAccountPasswordPolicy", &[])),
        Case::error(
            "no policy",
            root,
            iam("GetAccountPasswordPolicy", &[]),
            404,
            "NoSuchEntity",
            format!("The Password Policy with domain name {} cannot be found.", server.account_id),
        ),
        Case::error(
            "delete it again",
            root,
            iam("DeleteAccountPasswordPolicy", &[]),
            404,
            "NoSuchEntity",
            format!("The Password Policy with domain name {} cannot be found.", server.account_id),
        ),
    ]);
}

fn ssh_keys_are_uploaded_read_in_both_encodings_and_capped_at_five(server: &TestServer) {
    let root = &server.root;
    let name = user(server, "ssh");
    let other = user(server, "ssh");
    let uploaded = server.iam(root, "UploadSSHPublicKey", &[("UserName", &name), ("SSHPublicKeyBody", SSH[0])]).ok();
    let id = uploaded.xml("SSHPublicKeyId");
    assert!(id.starts_with("APKA") && id.len() >= 20, "{id}");
    assert_eq!(uploaded.xml("Fingerprint"), FINGERPRINT.trim(), "openssl's MD5 of the DER public key");
    assert_eq!(uploaded.xml("Status"), "Active");
    let pem = server
        .iam(root, "GetSSHPublicKey", &[("UserName", &name), ("SSHPublicKeyId", &id), ("Encoding", "PEM")])
        .ok()
        .xml("SSHPublicKeyBody");
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    let mut cases = vec![
        Case::ok(
            "the same key in SSH form",
            root,
            iam("GetSSHPublicKey", &[("UserName", &name), ("SSHPublicKeyId", &id), ("Encoding", "SSH")]),
        )
        .xml("SSHPublicKeyBody", SSH[0].split_whitespace().take(2).collect::<Vec<_>>().join(" ")),
        Case::error(
            "the same key again, in PEM",
            root,
            iam("UploadSSHPublicKey", &[("UserName", &name), ("SSHPublicKeyBody", &pem)]),
            400,
            "DuplicateSSHPublicKey",
            "already associated",
        ),
        Case::ok(
            "another user may hold it",
            root,
            iam("UploadSSHPublicKey", &[("UserName", &other), ("SSHPublicKeyBody", SSH[0])]),
        ),
        Case::error(
            "not RSA",
            root,
            iam(
                "UploadSSHPublicKey",
                &[("UserName", &name), ("SSHPublicKeyBody", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE")],
            ),
            400,
            "UnrecognizedPublicKeyEncoding",
            "unsupported or unrecognized",
        ),
        Case::error(
            "shorter than 2048 bits",
            root,
            iam("UploadSSHPublicKey", &[("UserName", &name), ("SSHPublicKeyBody", SHORT_SSH)]),
            400,
            "InvalidPublicKey",
            "malformed or otherwise invalid",
        ),
        Case::error(
            "garbage after ssh-rsa",
            root,
            iam("UploadSSHPublicKey", &[("UserName", &name), ("SSHPublicKeyBody", "ssh-rsa AAAA")]),
            400,
            "InvalidPublicKey",
            "malformed",
        ),
    ];
    for (n, key) in SSH.iter().enumerate().skip(1).take(4) {
        cases.push(Case::ok(
            &format!("key {n}"),
            root,
            iam("UploadSSHPublicKey", &[("UserName", &name), ("SSHPublicKeyBody", key)]),
        ));
    }
    cases.extend([
        Case::error(
            "a sixth",
            root,
            iam("UploadSSHPublicKey", &[("UserName", &name), ("SSHPublicKeyBody", SSH[5])]),
            409,
            "LimitExceeded",
            "Cannot exceed quota for PublicKeysPerUser: 5",
        ),
        Case::ok("list", root, iam("ListSSHPublicKeys", &[("UserName", &name)])).xml_count("SSHPublicKeyId", 5),
        Case::ok(
            "deactivate",
            root,
            iam("UpdateSSHPublicKey", &[("UserName", &name), ("SSHPublicKeyId", &id), ("Status", "Inactive")]),
        ),
        Case::ok(
            "inactive",
            root,
            iam("GetSSHPublicKey", &[("UserName", &name), ("SSHPublicKeyId", &id), ("Encoding", "SSH")]),
        )
        .xml("Status", "Inactive"),
        Case::error(
            "another user's key is not this user's",
            root,
            iam("DeleteSSHPublicKey", &[("UserName", &other), ("SSHPublicKeyId", &id)]),
            404,
            "NoSuchEntity",
            format!("The Public Key with id {id} cannot be found."),
        ),
        Case::ok("delete", root, iam("DeleteSSHPublicKey", &[("UserName", &name), ("SSHPublicKeyId", &id)])),
        Case::error(
            "delete again",
            root,
            iam("DeleteSSHPublicKey", &[("UserName", &name), ("SSHPublicKeyId", &id)]),
            404,
            "NoSuchEntity",
            format!("The Public Key with id {id} cannot be found."),
        ),
        Case::ok(
            "room for the sixth now",
            root,
            iam("UploadSSHPublicKey", &[("UserName", &name), ("SSHPublicKeyBody", SSH[5])]),
        ),
    ]);
    server.run(&cases);
}

fn service_credentials_are_issued_once_reset_and_capped_per_service(server: &TestServer) {
    let root = &server.root;
    let name = user(server, "svc");
    let created = server
        .iam(
            root,
            "CreateServiceSpecificCredential",
            &[("UserName", &name), ("ServiceName", "codecommit.amazonaws.com")],
        )
        .ok();
    let id = created.xml("ServiceSpecificCredentialId");
    let password = created.xml("ServicePassword");
    assert_eq!(created.xml("ServiceUserName"), format!("{name}-at-{}", server.account_id));
    assert!(password.len() >= 32, "{password}");
    let listed = server.iam(root, "ListServiceSpecificCredentials", &[("UserName", &name)]).ok();
    assert!(!listed.body.contains(&password), "a password is answered once");
    let reset = server
        .iam(root, "ResetServiceSpecificCredential", &[("UserName", &name), ("ServiceSpecificCredentialId", &id)])
        .ok();
    assert_ne!(reset.xml("ServicePassword"), password);
    let codecommit = [("UserName", name.as_str()), ("ServiceName", "codecommit.amazonaws.com")];
    server.run(&[
        Case::ok("a second for CodeCommit", root, iam("CreateServiceSpecificCredential", &codecommit)),
        Case::error(
            "a third",
            root,
            iam("CreateServiceSpecificCredential", &codecommit),
            409,
            "LimitExceeded",
            "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2",
        ),
        Case::ok(
            "Keyspaces counts apart",
            root,
            iam("CreateServiceSpecificCredential", &[("UserName", &name), ("ServiceName", "cassandra.amazonaws.com")]),
        ),
        Case::ok(
            "a Bedrock API key with an expiry",
            root,
            iam(
                "CreateServiceSpecificCredential",
                &[("UserName", &name), ("ServiceName", "bedrock.amazonaws.com"), ("CredentialAgeDays", "30")],
            ),
        )
        .xml("ServiceName", "bedrock.amazonaws.com")
        .contains("<ServiceCredentialSecret>")
        .contains("<ExpirationDate>"),
        Case::error(
            "an expiry only for API keys",
            root,
            iam(
                "CreateServiceSpecificCredential",
                &[("UserName", &name), ("ServiceName", "codecommit.amazonaws.com"), ("CredentialAgeDays", "30")],
            ),
            400,
            "ValidationError",
            "CredentialAgeDays",
        ),
        Case::error(
            "a service IAM does not issue them for",
            root,
            iam("CreateServiceSpecificCredential", &[("UserName", &name), ("ServiceName", "s3.amazonaws.com")]),
            404,
            "NotSupportedService",
            "No such service s3.amazonaws.com is supported for Service-Specific Credentials",
        ),
        Case::ok(
            "list one service",
            root,
            iam("ListServiceSpecificCredentials", &[("UserName", &name), ("ServiceName", "codecommit.amazonaws.com")]),
        )
        .xml_count("ServiceSpecificCredentialId", 2),
        Case::ok("list all of the user's", root, iam("ListServiceSpecificCredentials", &[("UserName", &name)]))
            .xml_count("ServiceSpecificCredentialId", 4),
        Case::ok(
            "every user's Keyspaces credentials",
            root,
            iam("ListServiceSpecificCredentials", &[("AllUsers", "true"), ("ServiceName", "cassandra.amazonaws.com")]),
        )
        .contains(format!("<UserName>{name}</UserName>")),
        Case::error(
            "AllUsers with a user",
            root,
            iam("ListServiceSpecificCredentials", &[("AllUsers", "true"), ("UserName", &name)]),
            400,
            "ValidationError",
            "AllUsers cannot be specified together with UserName.",
        ),
        Case::ok(
            "deactivate",
            root,
            iam(
                "UpdateServiceSpecificCredential",
                &[("UserName", &name), ("ServiceSpecificCredentialId", &id), ("Status", "Inactive")],
            ),
        ),
        Case::ok(
            "listed inactive",
            root,
            iam("ListServiceSpecificCredentials", &[("UserName", &name), ("ServiceName", "codecommit.amazonaws.com")]),
        )
        .contains("<Status>Inactive</Status>"),
        Case::ok(
            "delete",
            root,
            iam("DeleteServiceSpecificCredential", &[("UserName", &name), ("ServiceSpecificCredentialId", &id)]),
        ),
        Case::error(
            "delete again",
            root,
            iam("DeleteServiceSpecificCredential", &[("UserName", &name), ("ServiceSpecificCredentialId", &id)]),
            404,
            "NoSuchEntity",
            format!("No such credential {id} exists"),
        ),
        Case::error(
            "reset what is gone",
            root,
            iam("ResetServiceSpecificCredential", &[("UserName", &name), ("ServiceSpecificCredentialId", &id)]),
            404,
            "NoSuchEntity",
            "No such credential",
        ),
    ]);
}

fn signing_certificates_are_parsed_unique_and_capped_at_two(server: &TestServer) {
    let root = &server.root;
    let name = user(server, "signer");
    let other = user(server, "signer");
    let uploaded = server.iam(root, "UploadSigningCertificate", &[("UserName", &name), ("CertificateBody", CERT2)]);
    let id = uploaded.ok().xml("CertificateId");
    assert!(id.len() >= 24, "{id}");
    server.run(&[
        Case::error(
            "not PEM",
            root,
            iam("UploadSigningCertificate", &[("UserName", &name), ("CertificateBody", "hello")]),
            400,
            "MalformedCertificate",
            "Unable to parse certificate. Please ensure the certificate is in PEM format.",
        ),
        Case::error(
            "expired",
            root,
            iam("UploadSigningCertificate", &[("UserName", &name), ("CertificateBody", EXPIRED)]),
            400,
            "MalformedCertificate",
            "The 'Not After' date restriction on the certificate has passed.",
        ),
        Case::error(
            "held by another user",
            root,
            iam("UploadSigningCertificate", &[("UserName", &other), ("CertificateBody", CERT2)]),
            409,
            "DuplicateCertificate",
            "same certificate",
        ),
        Case::ok("a second", root, iam("UploadSigningCertificate", &[("UserName", &name), ("CertificateBody", CERT3)])),
        Case::error(
            "a third",
            root,
            iam("UploadSigningCertificate", &[("UserName", &name), ("CertificateBody", EC_CERT)]),
            409,
            "LimitExceeded",
            "Cannot exceed quota for SigningCertificatesPerUser: 2",
        ),
        Case::ok("list", root, iam("ListSigningCertificates", &[("UserName", &name)]))
            .xml_count("CertificateId", 2)
            .contains("-----BEGIN CERTIFICATE-----"),
        Case::ok(
            "deactivate",
            root,
            iam("UpdateSigningCertificate", &[("UserName", &name), ("CertificateId", &id), ("Status", "Inactive")]),
        ),
        Case::error(
            "not the other user's",
            root,
            iam("DeleteSigningCertificate", &[("UserName", &other), ("CertificateId", &id)]),
            404,
            "NoSuchEntity",
            format!("The Certificate with id {id} cannot be found."),
        ),
        Case::ok("delete", root, iam("DeleteSigningCertificate", &[("UserName", &name), ("CertificateId", &id)])),
        Case::ok(
            "now the other user may take it",
            root,
            iam("UploadSigningCertificate", &[("UserName", &other), ("CertificateBody", CERT2)]),
        ),
    ]);
}

fn server_certificates_keep_their_key_sealed_and_are_renamed_tagged_and_listed(server: &TestServer) {
    let root = &server.root;
    let name = unique("cert");
    let renamed = unique("moved");
    let path = format!("/{}/", unique("p"));
    let uploaded = server
        .iam(
            root,
            "UploadServerCertificate",
            &[
                ("ServerCertificateName", &name),
                ("Path", &path),
                ("CertificateBody", CERT),
                ("PrivateKey", KEY),
                ("CertificateChain", CERT2),
                ("Tags.member.1.Key", "team"),
                ("Tags.member.1.Value", "ops"),
            ],
        )
        .ok();
    assert!(uploaded.xml("ServerCertificateId").starts_with("ASCA"));
    assert!(uploaded.xml("Expiration").starts_with("21"), "notAfter of a 100-year certificate");
    let arn = format!("arn:aws:iam::{}:server-certificate{path}{name}", server.account_id);
    assert_eq!(uploaded.xml("Arn"), arn);
    server.run(&[
        Case::ok("get", root, iam("GetServerCertificate", &[("ServerCertificateName", &name.to_uppercase())]))
            .xml("ServerCertificateName", &name)
            .xml("Arn", &arn)
            .xml("CertificateChain", CERT2)
            .xml("Key", "team"),
        Case::error(
            "the same name",
            root,
            iam(
                "UploadServerCertificate",
                &[("ServerCertificateName", &name), ("CertificateBody", CERT), ("PrivateKey", KEY)],
            ),
            409,
            "EntityAlreadyExists",
            format!("The Server Certificate with name {name} already exists."),
        ),
        Case::error(
            "another certificate's key",
            root,
            iam(
                "UploadServerCertificate",
                &[("ServerCertificateName", &unique("c")), ("CertificateBody", CERT), ("PrivateKey", KEY2)],
            ),
            400,
            "KeyPairMismatch",
            "Public key certificate and private key doesn't match",
        ),
        Case::error(
            "expired",
            root,
            iam(
                "UploadServerCertificate",
                &[("ServerCertificateName", &unique("c")), ("CertificateBody", EXPIRED), ("PrivateKey", KEY3)],
            ),
            400,
            "MalformedCertificate",
            "Certificate is no longer valid.",
        ),
        Case::error(
            "a key that is not PEM",
            root,
            iam(
                "UploadServerCertificate",
                &[("ServerCertificateName", &unique("c")), ("CertificateBody", CERT), ("PrivateKey", "secret")],
            ),
            400,
            "MalformedCertificate",
            "Unable to parse private key",
        ),
        Case::ok(
            "an EC certificate with its SEC1 key",
            root,
            iam(
                "UploadServerCertificate",
                &[
                    ("ServerCertificateName", &unique("ec")),
                    ("Path", &path),
                    ("CertificateBody", EC_CERT),
                    ("PrivateKey", EC_KEY),
                ],
            ),
        ),
        Case::ok("listed under its path", root, iam("ListServerCertificates", &[("PathPrefix", &path)]))
            .xml_count("ServerCertificateId", 2),
        Case::ok("paged", root, iam("ListServerCertificates", &[("PathPrefix", &path), ("MaxItems", "1")]))
            .xml("IsTruncated", "true")
            .xml_count("ServerCertificateId", 1),
        Case::ok(
            "tag",
            root,
            iam(
                "TagServerCertificate",
                &[("ServerCertificateName", &name), ("Tags.member.1.Key", "more"), ("Tags.member.1.Value", "x")],
            ),
        ),
        Case::ok("its tags", root, iam("ListServerCertificateTags", &[("ServerCertificateName", &name)]))
            .xml_count("Key", 2),
        Case::ok(
            "untag",
            root,
            iam("UntagServerCertificate", &[("ServerCertificateName", &name), ("TagKeys.member.1", "more")]),
        ),
        Case::ok(
            "rename and move",
            root,
            iam(
                "UpdateServerCertificate",
                &[("ServerCertificateName", &name), ("NewServerCertificateName", &renamed), ("NewPath", "/moved/")],
            ),
        ),
        Case::error(
            "the old name is gone",
            root,
            iam("GetServerCertificate", &[("ServerCertificateName", &name)]),
            404,
            "NoSuchEntity",
            format!("The Server Certificate with name {name} cannot be found."),
        ),
        Case::ok(
            "its tags moved with it",
            root,
            iam("ListServerCertificateTags", &[("ServerCertificateName", &renamed)]),
        )
        .xml("Key", "team")
        .xml_count("Key", 1),
        Case::ok(
            "the key is never answered",
            root,
            iam("GetServerCertificate", &[("ServerCertificateName", &renamed)]),
        )
        .xml("Path", "/moved/"),
        Case::ok("delete", root, iam("DeleteServerCertificate", &[("ServerCertificateName", &renamed)])),
        Case::error(
            "delete again",
            root,
            iam("DeleteServerCertificate", &[("ServerCertificateName", &renamed)]),
            404,
            "NoSuchEntity",
            format!("The Server Certificate with name {renamed} cannot be found."),
        ),
    ]);
    let got = server.iam(root, "ListServerCertificates", &[]).ok();
    assert!(!got.body.contains("PRIVATE KEY"));
}

fn a_user_holding_any_credential_cannot_be_deleted(server: &TestServer) {
    let root = &server.root;
    // Everything is given to the user under its first name: a rename must carry it all.
    let first = user(server, "held");
    let ssh = server.iam(root, "UploadSSHPublicKey", &[("UserName", &first), ("SSHPublicKeyBody", SSH[0])]).ok();
    let codecommit = [("UserName", first.as_str()), ("ServiceName", "codecommit.amazonaws.com")];
    let credential = server.iam(root, "CreateServiceSpecificCredential", &codecommit).ok();
    let certificate =
        server.iam(root, "UploadSigningCertificate", &[("UserName", &first), ("CertificateBody", EC_CERT)]).ok();
    server.iam(root, "CreateLoginProfile", &[("UserName", &first), ("Password", STRONG)]).ok();
    let name = unique("renamed");
    server.iam(root, "UpdateUser", &[("UserName", &first), ("NewUserName", &name)]).ok();
    let delete = || iam("DeleteUser", &[("UserName", &name)]);
    let referenced = "Cannot delete entity, must remove referenced objects first.";
    let id = certificate.xml("CertificateId");
    let mut cases = vec![
        Case::error(
            "with a password",
            root,
            delete(),
            409,
            "DeleteConflict",
            "Cannot delete entity, must delete login profile first.",
        ),
        Case::ok("drop it", root, iam("DeleteLoginProfile", &[("UserName", &name)])),
        Case::error(
            "with a signing certificate",
            root,
            delete(),
            409,
            "DeleteConflict",
            "Cannot delete entity, must delete certificates first.",
        ),
        Case::ok("drop it", root, iam("DeleteSigningCertificate", &[("UserName", &name), ("CertificateId", &id)])),
    ];
    cases.extend([
        Case::error("with an SSH key", root, delete(), 409, "DeleteConflict", referenced),
        Case::ok(
            "drop it",
            root,
            iam("DeleteSSHPublicKey", &[("UserName", &name), ("SSHPublicKeyId", &ssh.xml("SSHPublicKeyId"))]),
        ),
        Case::error("with a service-specific credential", root, delete(), 409, "DeleteConflict", referenced),
        Case::ok(
            "drop it",
            root,
            iam(
                "DeleteServiceSpecificCredential",
                &[("UserName", &name), ("ServiceSpecificCredentialId", &credential.xml("ServiceSpecificCredentialId"))],
            ),
        ),
        Case::ok("then it goes", root, delete()),
    ]);
    server.run(&cases);
}

fn the_credential_report_lists_every_user_and_their_credentials(server: &TestServer) {
    let root = &server.root;
    let name = user(server, "reported");
    server.iam(root, "CreateLoginProfile", &[("UserName", &name), ("Password", STRONG)]).ok();
    server.iam(root, "CreateAccessKey", &[("UserName", &name)]).ok();
    // Another case of this module may have made a report already: the answer is either state.
    let state = server.iam(root, "GenerateCredentialReport", &[]).ok().xml("State");
    assert!(state == "STARTED" || state == "COMPLETE", "{state}");
    assert_eq!(server.iam(root, "GenerateCredentialReport", &[]).ok().xml("State"), "COMPLETE");
    let report = server.iam(root, "GetCredentialReport", &[]).ok();
    assert_eq!(report.xml("ReportFormat"), "text/csv");
    let csv =
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(report.xml("Content")).unwrap()).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,\
mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,\
access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,\
access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,\
cert_2_last_rotated"
    );
    let root_row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let root_arn = format!("arn:aws:iam::{}:root", server.account_id);
    assert_eq!(
        (root_row[0], root_row[1], root_row[3], root_row.len()),
        ("<root_account>", root_arn.as_str(), "not_supported", 22)
    );
    assert!(root_row[2].ends_with("+00:00"), "{root_row:?}");
    // A report made before this case's user existed does not list it; one made after does.
    if let Some(row) = csv.lines().find(|line| line.starts_with(&format!("{name},"))) {
        let row: Vec<&str> = row.split(',').collect();
        assert_eq!(row.len(), 22);
        assert_eq!((row[3], row[4], row[7], row[8]), ("true", "no_information", "false", "true"), "{row:?}");
        assert_eq!((row[13], row[18], row[19]), ("false", "false", "N/A"), "{row:?}");
    } else {
        assert_eq!(state, "COMPLETE", "a fresh report lists {name}");
    }
}

fn a_user_without_permissions_is_refused_every_credential_operation(server: &TestServer) {
    let nobody = server.nobody();
    let target = user(server, "victim");
    let arn = server.user_arn(&target);
    let on_user = |action: &str, extra: &[(&str, &str)]| {
        let mut params = vec![("UserName", target.as_str())];
        params.extend_from_slice(extra);
        Case::denied(action, nobody, iam(action, &params), format!("iam:{action} on resource: {arn}"))
    };
    server.run(&[
        on_user("CreateLoginProfile", &[("Password", STRONG)]),
        on_user("GetLoginProfile", &[]),
        on_user("UploadSSHPublicKey", &[("SSHPublicKeyBody", SSH[0])]),
        on_user("ListSSHPublicKeys", &[]),
        on_user("CreateServiceSpecificCredential", &[("ServiceName", "codecommit.amazonaws.com")]),
        on_user("ListServiceSpecificCredentials", &[]),
        on_user("UploadSigningCertificate", &[("CertificateBody", CERT)]),
        on_user("ListSigningCertificates", &[]),
        Case::denied(
            "UpdateAccountPasswordPolicy",
            nobody,
            iam("UpdateAccountPasswordPolicy", &[]),
            "iam:UpdateAccountPasswordPolicy on resource: *",
        ),
        Case::denied("GetCredentialReport", nobody, iam("GetCredentialReport", &[]), "iam:GetCredentialReport"),
        Case::denied(
            "ChangePassword",
            nobody,
            iam("ChangePassword", &[("OldPassword", STRONG), ("NewPassword", STRONG2)]),
            format!("iam:ChangePassword on resource: {}", server.nobody_arn()),
        ),
        Case::denied(
            "ListServerCertificates",
            nobody,
            iam("ListServerCertificates", &[]),
            "iam:ListServerCertificates",
        ),
    ]);
}

fn a_server_certificates_tags_are_request_tags(server: &TestServer) {
    let root = &server.root;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:UploadServerCertificate","iam:TagServerCertificate"],"Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/team":"ops"}}}]}"#;
    let tagger = server.user_with_policy(&unique("tagger"), Some(policy));
    let name = unique("tagged");
    let upload = |tag: &str| {
        iam(
            "UploadServerCertificate",
            &[
                ("ServerCertificateName", &name),
                ("CertificateBody", CERT),
                ("PrivateKey", KEY),
                ("Tags.member.1.Key", "team"),
                ("Tags.member.1.Value", tag),
            ],
        )
    };
    server.run(&[
        Case::denied("another team's tag", &tagger, upload("dev"), "iam:UploadServerCertificate"),
        Case::ok("its own team's tag", &tagger, upload("ops")),
        Case::denied(
            "tagging another team",
            &tagger,
            iam(
                "TagServerCertificate",
                &[("ServerCertificateName", &name), ("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "dev")],
            ),
            "iam:TagServerCertificate",
        ),
        Case::ok("clean up", root, iam("DeleteServerCertificate", &[("ServerCertificateName", &name)])),
    ]);
}
