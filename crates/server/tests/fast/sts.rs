//! STS, in process: who the caller is, session tokens and assumed roles (with their errors as
//! AWS gives them today), and what a session may then do.

use crate::support::{Case, Key, TestServer, iam, sts, unique};

crate::support::on_both_stores!(
    get_caller_identity_names_the_caller,
    session_tokens_and_their_limits,
    roles_are_assumed_by_whom_their_trust_policy_names,
    a_role_session_acts_with_the_roles_permissions,
    session_policies_and_tags_narrow_what_a_session_may_do,
    session_tags_and_source_identities_need_their_own_permission,
    only_transitive_tags_pass_on_to_chained_sessions
);

fn trusting(principal_arn: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal_arn}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

fn get_caller_identity_names_the_caller(server: &TestServer) {
    let name = unique("caller");
    let key = server.user_with_policy(&name, None);
    server.run(&[
        Case::ok("root", &server.root, sts("GetCallerIdentity", &[]))
            .xml("Account", &server.account_id)
            .xml("Arn", format!("arn:aws:iam::{}:root", server.account_id)),
        // Nobody needs a permission to ask who they are.
        Case::ok("a user without permissions", &key, sts("GetCallerIdentity", &[])).xml("Arn", server.user_arn(&name)),
    ]);
}

fn session_tokens_and_their_limits(server: &TestServer) {
    let root = &server.root;
    let user = server.user_with_policy(&unique("sessions"), Some(crate::support::ALLOW_ALL));
    let answer = server.sts(&user, "GetSessionToken", &[("DurationSeconds", "900")]).ok();
    let session = Key {
        id: answer.xml("AccessKeyId"),
        secret: answer.xml("SecretAccessKey"),
        token: Some(answer.xml("SessionToken")),
    };
    assert!(session.id.starts_with("ASIA"), "a session key: {}", session.id);
    server.run(&[
        Case::error("root's at most an hour", root, sts("GetSessionToken", &[("DurationSeconds", "7200")]), 400,
            "ValidationError",
            "1 validation error detected: Value '7200' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 3600"),
        Case::error("a user's at least 900 s", &user, sts("GetSessionToken", &[("DurationSeconds", "60")]), 400,
            "ValidationError",
            "1 validation error detected: Value '60' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"),
        Case::denied("an MFA code nothing can check", &user,
            sts("GetSessionToken", &[("SerialNumber", "arn:aws:iam::123456789012:mfa/x"), ("TokenCode", "123456")]),
            "MultiFactorAuthentication failed, unable to validate MFA code."),
        Case::ok("the session works", &session, sts("GetCallerIdentity", &[])).xml("Account", &server.account_id),
        Case::denied("not from a session", &session, sts("GetSessionToken", &[]),
            "Cannot call GetSessionToken with session credentials"),
        // As in AWS, a GetSessionToken session without MFA cannot call IAM.
        Case::error("no IAM from such a session", &session, iam("ListUsers", &[]), 403, "InvalidClientTokenId",
            "The security token included in the request is invalid."),
    ]);
}

fn roles_are_assumed_by_whom_their_trust_policy_names(server: &TestServer) {
    let root = &server.root;
    let user_name = unique("assumer");
    let user = server.user_with_policy(&user_name, Some(crate::support::ALLOW_ALL));
    let role = unique("assumed");
    let role_arn = format!("arn:aws:iam::{}:role/{role}", server.account_id);
    server
        .iam(
            root,
            "CreateRole",
            &[("RoleName", &role), ("AssumeRolePolicyDocument", &trusting(&server.user_arn(&user_name)))],
        )
        .ok();
    let stranger = server.user_with_policy(&unique("stranger"), Some(crate::support::ALLOW_ALL));
    let assume = |session: &str, extra: &[(&str, &str)]| {
        let mut params = vec![("RoleArn", role_arn.as_str()), ("RoleSessionName", session)];
        params.extend_from_slice(extra);
        sts("AssumeRole", &params)
    };
    server.run(&[
        Case::ok("the trusted user", &user, assume("s1", &[]))
            .xml("Arn", format!("arn:aws:sts::{}:assumed-role/{role}/s1", server.account_id)),
        Case::denied("root may not", root, assume("s2", &[]), "Roles may not be assumed by root accounts."),
        Case::denied("a user the trust policy does not name", &stranger, assume("s3", &[]),
            format!("is not authorized to perform: sts:AssumeRole on resource: {role_arn}")),
        Case::denied("a role nobody made", &user, sts("AssumeRole", &[
            ("RoleArn", &format!("arn:aws:iam::{}:role/nobody-made-me", server.account_id)),
            ("RoleSessionName", "s4"),
        ]), "is not authorized to perform: sts:AssumeRole on resource: "),
        Case::error("a session name of one letter", &user, assume("s", &[]), 400, "ValidationError",
            "1 validation error detected: Value 's' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"),
        Case::error("a session name with a space", &user, assume("a b", &[]), 400, "ValidationError",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*"),
        Case::error("an ARN too short", &user, sts("AssumeRole", &[("RoleArn", "arn:x"), ("RoleSessionName", "s5")]), 400,
            "ValidationError", "Value 'arn:x' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"),
        Case::error("under 900 s", &user, assume("s6", &[("DurationSeconds", "899")]), 400, "ValidationError",
            "Member must have value greater than or equal to 900"),
        Case::error("past the role's maximum", &user, assume("s7", &[("DurationSeconds", "7200")]), 400,
            "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
        Case::error("a session policy that is not JSON", &user, assume("s8", &[("Policy", "{")]), 400,
            "MalformedPolicyDocument", ""),
    ]);
}

fn a_role_session_acts_with_the_roles_permissions(server: &TestServer) {
    let root = &server.root;
    let user_name = unique("chainer");
    let user = server.user_with_policy(&user_name, Some(crate::support::ALLOW_ALL));
    let role = unique("reader");
    server
        .iam(
            root,
            "CreateRole",
            &[("RoleName", &role), ("AssumeRolePolicyDocument", &trusting(&server.user_arn(&user_name)))],
        )
        .ok();
    let read = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}"#;
    server.iam(root, "PutRolePolicy", &[("RoleName", &role), ("PolicyName", "read"), ("PolicyDocument", read)]).ok();
    let role_arn = format!("arn:aws:iam::{}:role/{role}", server.account_id);
    let answer = server.sts(&user, "AssumeRole", &[("RoleArn", &role_arn), ("RoleSessionName", "work")]).ok();
    let session = Key {
        id: answer.xml("AccessKeyId"),
        secret: answer.xml("SecretAccessKey"),
        token: Some(answer.xml("SessionToken")),
    };
    let session_arn = format!("arn:aws:sts::{}:assumed-role/{role}/work", server.account_id);
    server.run(&[
        Case::ok("it is the role", &session, sts("GetCallerIdentity", &[])).xml("Arn", &session_arn),
        Case::ok("it may read a user", &session, iam("GetUser", &[("UserName", &user_name)]))
            .xml("UserName", &user_name),
        Case::denied(
            "it may not delete one",
            &session,
            iam("DeleteUser", &[("UserName", &user_name)]),
            format!("User: {session_arn} is not authorized to perform: iam:DeleteUser"),
        ),
        Case::error(
            "without its token it is nobody",
            &Key { token: None, ..session.clone() },
            sts("GetCallerIdentity", &[]),
            403,
            "InvalidClientTokenId",
            "",
        ),
    ]);
}

/// A role trusting `user_arn` (for AssumeRole and TagSession) with `policy` inline; its ARN.
fn role_with_policy(server: &TestServer, user_arn: &str, policy: &str) -> String {
    let root = &server.root;
    let name = unique("sessionrole");
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{user_arn}"}},"Action":["sts:AssumeRole","sts:TagSession"]}}]}}"#
    );
    server.iam(root, "CreateRole", &[("RoleName", &name), ("AssumeRolePolicyDocument", &trust)]).ok();
    server.iam(root, "PutRolePolicy", &[("RoleName", &name), ("PolicyName", "p"), ("PolicyDocument", policy)]).ok();
    format!("arn:aws:iam::{}:role/{name}", server.account_id)
}

/// The credentials of an AssumeRole answer.
fn session_key(answer: &crate::support::Response) -> Key {
    Key {
        id: answer.xml("AccessKeyId"),
        secret: answer.xml("SecretAccessKey"),
        token: Some(answer.xml("SessionToken")),
    }
}

fn session_policies_and_tags_narrow_what_a_session_may_do(server: &TestServer) {
    let user_name = unique("tagger");
    let user = server.user_with_policy(&user_name, Some(crate::support::ALLOW_ALL));
    let role = role_with_policy(server, &server.user_arn(&user_name), crate::support::ALLOW_ALL);
    let by_tag = role_with_policy(
        server,
        &server.user_arn(&user_name),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}]}"#,
    );
    let only_get_user =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}"#;
    let narrowed = session_key(
        &server
            .sts(&user, "AssumeRole", &[("RoleArn", &role), ("RoleSessionName", "narrow"), ("Policy", only_get_user)])
            .ok(),
    );
    let blue = session_key(
        &server
            .sts(
                &user,
                "AssumeRole",
                &[
                    ("RoleArn", &by_tag),
                    ("RoleSessionName", "blue"),
                    ("Tags.member.1.Key", "team"),
                    ("Tags.member.1.Value", "blue"),
                ],
            )
            .ok(),
    );
    let red = session_key(
        &server
            .sts(
                &user,
                "AssumeRole",
                &[
                    ("RoleArn", &by_tag),
                    ("RoleSessionName", "red"),
                    ("Tags.member.1.Key", "team"),
                    ("Tags.member.1.Value", "red"),
                ],
            )
            .ok(),
    );
    // A session of a role that allows everything, and a role trusting the whole account.
    let chaining =
        session_key(&server.sts(&user, "AssumeRole", &[("RoleArn", &role), ("RoleSessionName", "first")]).ok());
    let account_trusting =
        role_with_policy(server, &format!("arn:aws:iam::{}:root", server.account_id), crate::support::ALLOW_ALL);
    server.run(&[
        Case::ok("the session policy allows it", &narrowed, iam("GetUser", &[("UserName", &user_name)])),
        Case::denied(
            "the role allows it, the session policy does not",
            &narrowed,
            iam("ListUsers", &[]),
            "because no session policy allows the iam:ListUsers action",
        ),
        Case::ok("tagged blue", &blue, iam("GetUser", &[("UserName", &user_name)])).xml("UserName", &user_name),
        Case::denied(
            "tagged red",
            &red,
            iam("GetUser", &[("UserName", &user_name)]),
            "is not authorized to perform: iam:GetUser",
        ),
        Case::error(
            "a role session may not chain past an hour",
            &chaining,
            sts(
                "AssumeRole",
                &[("RoleArn", &account_trusting), ("RoleSessionName", "chained"), ("DurationSeconds", "7200")],
            ),
            400,
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ),
        Case::ok(
            "an hour is fine",
            &chaining,
            sts(
                "AssumeRole",
                &[("RoleArn", &account_trusting), ("RoleSessionName", "chained"), ("DurationSeconds", "3600")],
            ),
        )
        .xml(
            "Arn",
            format!("{}/chained", account_trusting.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")),
        ),
        Case::error(
            "an empty tag key",
            &user,
            sts(
                "AssumeRole",
                &[
                    ("RoleArn", &role),
                    ("RoleSessionName", "tt"),
                    ("Tags.member.1.Key", ""),
                    ("Tags.member.1.Value", "v"),
                ],
            ),
            400,
            "ValidationError",
            "2 validation errors detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+; Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ),
    ]);
}

/// A role that `user_arn` may assume with `actions` (its trust policy's), whose sessions may
/// call `iam:GetUser` only with `aws:SourceIdentity` `alice`, and assume roles; its ARN.
fn role_trusting_for(server: &TestServer, user_arn: &str, actions: &str) -> String {
    let root = &server.root;
    let name = unique("sourcerole");
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":["{user_arn}","arn:aws:iam::{}:root"]}},"Action":{actions}}}]}}"#,
        server.account_id
    );
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"StringEquals":{"aws:SourceIdentity":"alice"}}},
        {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;
    server.iam(root, "CreateRole", &[("RoleName", &name), ("AssumeRolePolicyDocument", &trust)]).ok();
    server.iam(root, "PutRolePolicy", &[("RoleName", &name), ("PolicyName", "p"), ("PolicyDocument", policy)]).ok();
    format!("arn:aws:iam::{}:role/{name}", server.account_id)
}

fn session_tags_and_source_identities_need_their_own_permission(server: &TestServer) {
    let user_name = unique("sourcer");
    let user = server.user_with_policy(&user_name, Some(crate::support::ALLOW_ALL));
    let user_arn = server.user_arn(&user_name);
    let only_assume = role_trusting_for(server, &user_arn, r#""sts:AssumeRole""#);
    let full = role_trusting_for(server, &user_arn, r#"["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]"#);
    let tagged = |role: &str| {
        vec![
            ("RoleArn", role.to_owned()),
            ("RoleSessionName", "src".to_owned()),
            ("Tags.member.1.Key", "team".to_owned()),
            ("Tags.member.1.Value", "blue".to_owned()),
        ]
    };
    let sourced = |role: &str, source: &str| {
        vec![("RoleArn", role.to_owned()), ("RoleSessionName", "src".to_owned()), ("SourceIdentity", source.to_owned())]
    };
    let params = |pairs: &[(&'static str, String)]| pairs.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let call = |key: &Key, pairs: Vec<(&'static str, String)>| {
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        server.sts(key, "AssumeRole", &refs)
    };
    let denied = call(&user, params(&tagged(&only_assume)));
    assert_eq!((denied.status, denied.code()), (403, "AccessDenied".to_owned()), "tags need sts:TagSession");
    assert!(denied.message().contains("sts:TagSession"), "{}", denied.message());
    let denied = call(&user, params(&sourced(&only_assume, "alice")));
    assert_eq!((denied.status, denied.code()), (403, "AccessDenied".to_owned()), "needs sts:SetSourceIdentity");
    assert!(denied.message().contains("sts:SetSourceIdentity"), "{}", denied.message());
    call(&user, params(&tagged(&full))).ok();

    // The source identity is answered, is `aws:SourceIdentity` of the session's requests,
    // and passes on to the sessions it chains to, which cannot change it.
    let answer = call(&user, params(&sourced(&full, "alice"))).ok();
    assert_eq!(answer.xml("SourceIdentity"), "alice");
    let alice = session_key(&answer);
    server.iam(&alice, "GetUser", &[("UserName", &user_name)]).ok();
    let bob = session_key(&call(&user, params(&sourced(&full, "bob"))).ok());
    let refused = server.iam(&bob, "GetUser", &[("UserName", &user_name)]);
    assert_eq!(refused.code(), "AccessDenied", "the condition names alice");
    let chained = call(&alice, vec![("RoleArn", full.clone()), ("RoleSessionName", "chained".to_owned())]).ok();
    assert_eq!(chained.xml("SourceIdentity"), "alice", "inherited");
    server.iam(&session_key(&chained), "GetUser", &[("UserName", &user_name)]).ok();
    let changed = call(&alice, params(&sourced(&full, "mallory")));
    assert_eq!((changed.status, changed.code()), (403, "AccessDenied".to_owned()), "{}", changed.message());

    let contexts = call(
        &user,
        vec![
            ("RoleArn", full.clone()),
            ("RoleSessionName", "src".to_owned()),
            ("ProvidedContexts.member.1.ProviderArn", "arn:aws:iam::aws:contextProvider/IdentityCenter".to_owned()),
            ("ProvidedContexts.member.1.ContextAssertion", "not-one-sts-signed".to_owned()),
        ],
    );
    assert_eq!(
        (contexts.status, contexts.code()),
        (400, "InvalidParameterValue".to_owned()),
        "never accepted unchecked"
    );
}

fn only_transitive_tags_pass_on_to_chained_sessions(server: &TestServer) {
    let user_name = unique("chainer");
    let user = server.user_with_policy(&user_name, Some(crate::support::ALLOW_ALL));
    let role = role_with_policy(
        server,
        &format!("arn:aws:iam::{}:root", server.account_id),
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"},
            {"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}},
            {"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/env":"prod"}}}]}"#,
    );
    let assume = |key: &Key, pairs: &[(&str, &str)]| {
        let mut params = vec![("RoleArn", role.as_str()), ("RoleSessionName", "chain")];
        params.extend_from_slice(pairs);
        server.sts(key, "AssumeRole", &params)
    };
    let first = session_key(
        &assume(
            &user,
            &[
                ("Tags.member.1.Key", "team"),
                ("Tags.member.1.Value", "blue"),
                ("Tags.member.2.Key", "env"),
                ("Tags.member.2.Value", "prod"),
                ("TransitiveTagKeys.member.1", "team"),
            ],
        )
        .ok(),
    );
    server.iam(&first, "GetUser", &[("UserName", &user_name)]).ok();
    server.iam(&first, "ListUsers", &[]).ok();
    let chained = session_key(&assume(&first, &[]).ok());
    server.iam(&chained, "GetUser", &[("UserName", &user_name)]).ok();
    let refused = server.iam(&chained, "ListUsers", &[]);
    assert_eq!(refused.code(), "AccessDenied", "env was not transitive: {}", refused.body);
    // Chained again, the transitive tag stays transitive.
    let twice = session_key(&assume(&chained, &[]).ok());
    server.iam(&twice, "GetUser", &[("UserName", &user_name)]).ok();
    let reset = assume(&chained, &[("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "red")]);
    assert_eq!((reset.status, reset.code()), (400, "InvalidParameterValue".to_owned()), "{}", reset.body);
    let stray = assume(
        &user,
        &[("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "blue"), ("TransitiveTagKeys.member.1", "env")],
    );
    assert_eq!((stray.status, stray.code()), (400, "InvalidParameterValue".to_owned()), "{}", stray.body);
}
