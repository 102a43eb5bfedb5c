//! STS beyond sessions and roles, in process: GetFederationToken (the federated user's ARN
//! and ids, its permissions the intersection of the asking user's and its session policies,
//! nothing without one, refused from sessions, root's hour), GetAccessKeyInfo (the account a
//! key id carries), DecodeAuthorizationMessage, and the operations a standalone account is
//! refused (AssumeRoot, GetDelegatedAccessToken, GetWebIdentityToken).

use serde_json::json;

use crate::support::{Case, Key, TestServer, iam, logs, sts, unique};

crate::support::on_both_stores!(
    a_federated_user_has_the_intersection_of_its_policies,
    federation_is_refused_where_aws_refuses_it,
    access_key_info_and_the_refused_operations
);

fn session_of(answer: &crate::support::Response) -> Key {
    Key {
        id: answer.xml("AccessKeyId"),
        secret: answer.xml("SecretAccessKey"),
        token: Some(answer.xml("SessionToken")),
    }
}

/// The asking user may describe log groups and streams and create groups named `fed-*`.
const USER_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":["sts:GetFederationToken","logs:DescribeLogGroups","logs:DescribeLogStreams"],"Resource":"*"},
  {"Effect":"Allow","Action":"logs:CreateLogGroup","Resource":"arn:aws:logs:*:*:log-group:fed-*"}
]}"#;

/// The session policy allows every logs action, but only DescribeLogGroups of the user's.
const SESSION_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:DescribeLogGroups","logs:PutRetentionPolicy"],"Resource":"*"}]}"#;

fn a_federated_user_has_the_intersection_of_its_policies(server: &TestServer) {
    let name = unique("proxy");
    let key = server.user_with_policy(&name, Some(USER_POLICY));
    let answer = server.sts(&key, "GetFederationToken", &[("Name", "Bob"), ("Policy", SESSION_POLICY)]).ok();
    let arn = format!("arn:aws:sts::{}:federated-user/Bob", server.account_id);
    assert_eq!(answer.xml("Arn"), arn);
    assert_eq!(answer.xml("FederatedUserId"), format!("{}:Bob", server.account_id));
    assert!(!answer.xml("PackedPolicySize").is_empty(), "a session policy's packed size is answered");
    let bob = session_of(&answer);
    let bare = session_of(&server.sts(&key, "GetFederationToken", &[("Name", "Nobody")]).ok());
    server.run(&[
        Case::ok("who it is", &bob, sts("GetCallerIdentity", &[]))
            .xml("Arn", &arn)
            .xml("UserId", format!("{}:Bob", server.account_id)),
        Case::ok("both allow", &bob, logs("DescribeLogGroups", json!({}))),
        Case::denied(
            "only the user allows",
            &bob,
            logs("DescribeLogStreams", json!({"logGroupName": "x"})),
            format!("User: {arn} is not authorized to perform: logs:DescribeLogStreams"),
        ),
        Case::denied(
            "only the session allows",
            &bob,
            logs("PutRetentionPolicy", json!({"logGroupName": "x", "retentionInDays": 1})),
            "logs:PutRetentionPolicy",
        ),
        Case::denied(
            "no session policy: no permissions",
            &bare,
            logs("DescribeLogGroups", json!({})),
            "logs:DescribeLogGroups",
        ),
        Case::ok("but it may ask who it is", &bare, sts("GetCallerIdentity", &[]))
            .xml("Arn", format!("arn:aws:sts::{}:federated-user/Nobody", server.account_id)),
        Case::error("no IAM", &bob, iam("ListUsers", &[]), 403, "InvalidClientTokenId", ""),
        Case::denied(
            "no other STS operation",
            &bob,
            sts("GetAccessKeyInfo", &[("AccessKeyId", &key.id)]),
            "Cannot call GetAccessKeyInfo with session credentials",
        ),
    ]);
}

fn federation_is_refused_where_aws_refuses_it(server: &TestServer) {
    let root = &server.root;
    let name = unique("feduser");
    let key = server.user_with_policy(&name, Some(crate::support::ALLOW_ALL));
    let session = session_of(&server.sts(&key, "GetSessionToken", &[]).ok());
    let nobody = server.nobody();
    server.run(&[
        Case::denied(
            "not from a session",
            &session,
            sts("GetFederationToken", &[("Name", "Bob")]),
            "Cannot call GetFederationToken with session credentials",
        ),
        Case::denied(
            "not without the permission",
            nobody,
            sts("GetFederationToken", &[("Name", "Bob")]),
            format!("sts:GetFederationToken on resource: arn:aws:sts::{}:federated-user/Bob", server.account_id),
        ),
        Case::error(
            "root's for an hour at most",
            root,
            sts("GetFederationToken", &[("Name", "Bob"), ("DurationSeconds", "7200")]),
            400,
            "ValidationError",
            "Member must have value between 900 and 3600",
        ),
        Case::ok(
            "root may ask for one",
            root,
            sts("GetFederationToken", &[("Name", "Bob"), ("DurationSeconds", "900")]),
        )
        .xml("Arn", format!("arn:aws:sts::{}:federated-user/Bob", server.account_id)),
        Case::error(
            "a user's at most 36 hours",
            &key,
            sts("GetFederationToken", &[("Name", "Bob"), ("DurationSeconds", "129601")]),
            400,
            "ValidationError",
            "Member must have value less than or equal to 129600",
        ),
        Case::error(
            "a session policy that is not JSON",
            &key,
            sts("GetFederationToken", &[("Name", "Bob"), ("Policy", "{")]),
            400,
            "MalformedPolicyDocument",
            "",
        ),
    ]);
}

fn access_key_info_and_the_refused_operations(server: &TestServer) {
    let root = &server.root;
    let name = unique("keyinfo");
    let key = server.user_with_policy(&name, Some(crate::support::ALLOW_ALL));
    let nobody = server.nobody();
    server.run(&[
        Case::ok("a key of this account", &key, sts("GetAccessKeyInfo", &[("AccessKeyId", &key.id)]))
            .xml("Account", &server.account_id),
        Case::ok(
            "a key id AWS issued, decoded as AWS does",
            &key,
            sts("GetAccessKeyInfo", &[("AccessKeyId", "ASIAY34FZKBOKMUTVV7A")]),
        )
        .xml("Account", "609629065308"),
        Case::denied(
            "it needs the permission",
            nobody,
            sts("GetAccessKeyInfo", &[("AccessKeyId", &key.id)]),
            "sts:GetAccessKeyInfo",
        ),
        Case::error(
            "a message Homeport did not encode",
            &key,
            sts("DecodeAuthorizationMessage", &[("EncodedMessage", "bm90LWEtbWVzc2FnZQ")]),
            400,
            "InvalidAuthorizationMessageException",
            "",
        ),
        Case::denied(
            "decoding needs the permission",
            nobody,
            sts("DecodeAuthorizationMessage", &[("EncodedMessage", "bm90LWEtbWVzc2FnZQ")]),
            "sts:DecodeAuthorizationMessage",
        ),
        Case::denied(
            "root may not assume root",
            root,
            sts(
                "AssumeRoot",
                &[
                    ("TargetPrincipal", "111122223333"),
                    ("TaskPolicyArn.arn", "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"),
                ],
            ),
            "root user credentials cannot call AssumeRoot",
        ),
        Case::denied(
            "nor anyone, without Organizations",
            &key,
            sts(
                "AssumeRoot",
                &[
                    ("TargetPrincipal", "111122223333"),
                    ("TaskPolicyArn.arn", "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"),
                ],
            ),
            "is not the management account or a delegated administrator",
        ),
        Case::error(
            "no trade-in token can be exchanged",
            &key,
            sts("GetDelegatedAccessToken", &[("TradeInToken", "a-token")]),
            400,
            "ExpiredTradeInTokenException",
            "",
        ),
        Case::error(
            "outbound web identity federation is off",
            &key,
            sts("GetWebIdentityToken", &[("Audience.member.1", "https://example.com"), ("SigningAlgorithm", "ES384")]),
            403,
            "OutboundWebIdentityFederationDisabledException",
            "The outbound web identity federation feature is not enabled for this account.",
        ),
    ]);
}
