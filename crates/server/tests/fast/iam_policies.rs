//! IAM managed policies and their versions, in process: the happy path, IAM's errors for bad
//! input (today's codes and messages), and refusals of a caller without permissions.

use crate::support::{ALLOW_ALL, Case, TestServer, iam, unique};

crate::support::on_both_stores!(
    policies_and_their_versions_are_made_read_and_deleted,
    a_policy_keeps_five_versions_at_most,
    bad_policy_input_is_refused_with_iams_messages,
    a_user_without_permissions_is_refused_every_policy_operation,
    a_user_is_allowed_what_its_policy_allows_and_nothing_else
);

const READ_ONLY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}]}"#;

fn policies_and_their_versions_are_made_read_and_deleted(server: &TestServer) {
    let root = &server.root;
    let name = unique("policy");
    let arn = format!("arn:aws:iam::{}:policy/{name}", server.account_id);
    let user = unique("holder");
    server.iam(root, "CreateUser", &[("UserName", &user)]).ok();
    server.run(&[
        Case::ok("create", root, iam("CreatePolicy", &[("PolicyName", &name), ("PolicyDocument", READ_ONLY)]))
            .xml("Arn", &arn)
            .xml("DefaultVersionId", "v1")
            .xml("AttachmentCount", "0"),
        Case::error(
            "create again",
            root,
            iam("CreatePolicy", &[("PolicyName", &name), ("PolicyDocument", READ_ONLY)]),
            409,
            "EntityAlreadyExists",
            format!("A policy called {name} already exists."),
        ),
        Case::ok("get", root, iam("GetPolicy", &[("PolicyArn", &arn)])).xml("PolicyName", &name),
        Case::ok(
            "a second version, made the default",
            root,
            iam("CreatePolicyVersion", &[("PolicyArn", &arn), ("PolicyDocument", ALLOW_ALL), ("SetAsDefault", "true")]),
        )
        .xml("VersionId", "v2")
        .xml("IsDefaultVersion", "true"),
        Case::ok("two versions", root, iam("ListPolicyVersions", &[("PolicyArn", &arn)])).xml_count("VersionId", 2),
        Case::ok("read v1", root, iam("GetPolicyVersion", &[("PolicyArn", &arn), ("VersionId", "v1")]))
            .xml("IsDefaultVersion", "false"),
        Case::error(
            "a version nobody made",
            root,
            iam("GetPolicyVersion", &[("PolicyArn", &arn), ("VersionId", "v9")]),
            404,
            "NoSuchEntity",
            format!("Policy {arn} version v9 does not exist."),
        ),
        Case::error(
            "delete the default version",
            root,
            iam("DeletePolicyVersion", &[("PolicyArn", &arn), ("VersionId", "v2")]),
            409,
            "DeleteConflict",
            "Cannot delete the default version of a policy.",
        ),
        Case::ok(
            "v1 the default again",
            root,
            iam("SetDefaultPolicyVersion", &[("PolicyArn", &arn), ("VersionId", "v1")]),
        ),
        Case::ok("delete v2", root, iam("DeletePolicyVersion", &[("PolicyArn", &arn), ("VersionId", "v2")])),
        Case::ok("attach to a user", root, iam("AttachUserPolicy", &[("UserName", &user), ("PolicyArn", &arn)])),
        Case::ok("counted", root, iam("GetPolicy", &[("PolicyArn", &arn)])).xml("AttachmentCount", "1"),
        Case::ok("its entities", root, iam("ListEntitiesForPolicy", &[("PolicyArn", &arn)])).xml("UserName", &user),
        Case::error(
            "delete while attached",
            root,
            iam("DeletePolicy", &[("PolicyArn", &arn)]),
            409,
            "DeleteConflict",
            "Cannot delete a policy attached to entities.",
        ),
        Case::ok("detach", root, iam("DetachUserPolicy", &[("UserName", &user), ("PolicyArn", &arn)])),
        Case::ok("delete", root, iam("DeletePolicy", &[("PolicyArn", &arn)])),
        Case::error(
            "gone",
            root,
            iam("GetPolicy", &[("PolicyArn", &arn)]),
            404,
            "NoSuchEntity",
            format!("Policy {arn} was not found."),
        ),
    ]);
}

fn a_policy_keeps_five_versions_at_most(server: &TestServer) {
    let root = &server.root;
    let name = unique("versioned");
    let arn = format!("arn:aws:iam::{}:policy/{name}", server.account_id);
    server.iam(root, "CreatePolicy", &[("PolicyName", &name), ("PolicyDocument", READ_ONLY)]).ok();
    let new_version = || iam("CreatePolicyVersion", &[("PolicyArn", &arn), ("PolicyDocument", READ_ONLY)]);
    server.run(&[
        Case::ok("v2", root, new_version()).xml("VersionId", "v2"),
        Case::ok("v3", root, new_version()).xml("VersionId", "v3"),
        Case::ok("v4", root, new_version()).xml("VersionId", "v4"),
        Case::ok("v5", root, new_version()).xml("VersionId", "v5"),
        Case::error("a sixth", root, new_version(), 409, "LimitExceeded", "up to 5 versions"),
        Case::ok("five kept", root, iam("ListPolicyVersions", &[("PolicyArn", &arn)])).xml_count("VersionId", 5),
    ]);
}

fn bad_policy_input_is_refused_with_iams_messages(server: &TestServer) {
    let root = &server.root;
    let name = unique("badpolicy");
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    server.run(&[
        Case::error("not JSON", root, iam("CreatePolicy", &[("PolicyName", &name), ("PolicyDocument", "{")]), 400,
            "MalformedPolicyDocument", ""),
        Case::error("no statement", root,
            iam("CreatePolicy", &[("PolicyName", &name), ("PolicyDocument", r#"{"Version":"2012-10-17"}"#)]), 400,
            "MalformedPolicyDocument", ""),
        Case::error("an unknown effect", root, iam("CreatePolicy", &[
            ("PolicyName", &name),
            ("PolicyDocument", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Perhaps","Action":"*","Resource":"*"}]}"#),
        ]), 400, "MalformedPolicyDocument", ""),
        Case::error("a principal in an identity policy", root, iam("CreatePolicy", &[
            ("PolicyName", &name),
            ("PolicyDocument", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#),
        ]), 400, "MalformedPolicyDocument", ""),
        Case::error("no document", root, iam("CreatePolicy", &[("PolicyName", &name)]), 400, "ValidationError",
            "policyDocument"),
        Case::error("an ARN that is not one", root, iam("GetPolicy", &[("PolicyArn", "not-an-arn-but-long-enough")]),
            400, "InvalidInput", "ARN not-an-arn-but-long-enough is not valid."),
        Case::error("a policy nobody made", root,
            iam("GetPolicy", &[("PolicyArn", &format!("arn:aws:iam::{}:policy/nobody-made-me", server.account_id))]),
            404, "NoSuchEntity", "was not found."),
        Case::error("a new version of AWS's policy", root,
            iam("CreatePolicyVersion", &[("PolicyArn", admin), ("PolicyDocument", ALLOW_ALL)]), 400, "InvalidInput",
            format!("The specified value for policyArn is invalid: {admin} is an AWS managed policy.")),
        Case::ok("AWS's policies are readable", root, iam("GetPolicy", &[("PolicyArn", admin)]))
            .xml("PolicyName", "AdministratorAccess")
            .xml("DefaultVersionId", "v1"),
        Case::error("attach a policy nobody made", root, iam("AttachUserPolicy", &[
            ("UserName", "whoever"), ("PolicyArn", "arn:aws:iam::aws:policy/NoSuchPolicy"),
        ]), 404, "NoSuchEntity", "Policy arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable."),
    ]);
}

fn a_user_without_permissions_is_refused_every_policy_operation(server: &TestServer) {
    let nobody = server.nobody();
    let mine = format!("arn:aws:iam::{}:policy/p1", server.account_id);
    server.run(&[
        Case::denied(
            "create",
            nobody,
            iam("CreatePolicy", &[("PolicyName", "p1"), ("PolicyDocument", READ_ONLY)]),
            format!("is not authorized to perform: iam:CreatePolicy on resource: {mine}"),
        ),
        Case::denied(
            "get",
            nobody,
            iam("GetPolicy", &[("PolicyArn", &mine)]),
            format!("is not authorized to perform: iam:GetPolicy on resource: {mine}"),
        ),
        Case::denied("delete", nobody, iam("DeletePolicy", &[("PolicyArn", &mine)]), "iam:DeletePolicy"),
        Case::denied("list", nobody, iam("ListPolicies", &[]), "iam:ListPolicies"),
    ]);
}

fn a_user_is_allowed_what_its_policy_allows_and_nothing_else(server: &TestServer) {
    let root = &server.root;
    let reader = server.user_with_policy(&unique("reader"), Some(READ_ONLY));
    let target = unique("target");
    server.iam(root, "CreateUser", &[("UserName", &target)]).ok();
    server.run(&[
        Case::ok("get is allowed", &reader, iam("GetUser", &[("UserName", &target)])).xml("UserName", &target),
        Case::denied("delete is not", &reader, iam("DeleteUser", &[("UserName", &target)]), format!(
                "is not authorized to perform: iam:DeleteUser on resource: {} because no identity-based policy allows the iam:DeleteUser action",
                server.user_arn(&target)
            )),
        Case::ok("the user is still there", root, iam("GetUser", &[("UserName", &target)])),
    ]);
}
