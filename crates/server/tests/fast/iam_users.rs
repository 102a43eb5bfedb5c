//! IAM users, their access keys and tags, in process: the happy path, IAM's errors for bad
//! input (today's codes and messages), and refusals of a caller without permissions.

use crate::support::{Case, TestServer, iam, unique};

crate::support::on_both_stores!(
    users_are_created_read_renamed_and_deleted,
    bad_user_input_is_refused_with_iams_messages,
    a_user_with_keys_policies_or_groups_cannot_be_deleted,
    access_keys_are_made_listed_deactivated_and_capped_at_two,
    user_tags_are_set_listed_and_checked,
    a_user_without_permissions_is_refused_every_user_operation,
    an_unsigned_or_badly_signed_request_is_refused
);

fn users_are_created_read_renamed_and_deleted(server: &TestServer) {
    let root = &server.root;
    let name = unique("user");
    let renamed = unique("renamed");
    server.run(&[
        Case::ok("create", root, iam("CreateUser", &[("UserName", &name), ("Path", "/team/")]))
            .xml("UserName", &name)
            .xml("Path", "/team/")
            .xml("Arn", format!("arn:aws:iam::{}:user/team/{name}", server.account_id)),
        Case::error(
            "create again",
            root,
            iam("CreateUser", &[("UserName", &name)]),
            409,
            "EntityAlreadyExists",
            format!("User with name {name} already exists."),
        ),
        Case::error(
            "create in another case",
            root,
            iam("CreateUser", &[("UserName", &name.to_uppercase())]),
            409,
            "EntityAlreadyExists",
            format!("User with name {} already exists.", name.to_uppercase()),
        ),
        Case::ok("get", root, iam("GetUser", &[("UserName", &name)])).xml("UserName", &name).xml("Path", "/team/"),
        Case::ok("list under the path", root, iam("ListUsers", &[("PathPrefix", "/team/")])).xml("UserName", &name),
        Case::ok("rename", root, iam("UpdateUser", &[("UserName", &name), ("NewUserName", &renamed)])),
        Case::error(
            "the old name is gone",
            root,
            iam("GetUser", &[("UserName", &name)]),
            404,
            "NoSuchEntity",
            format!("The user with name {name} cannot be found."),
        ),
        Case::ok("the new name answers", root, iam("GetUser", &[("UserName", &renamed)])).xml("UserName", &renamed),
        Case::ok("delete", root, iam("DeleteUser", &[("UserName", &renamed)])),
        Case::error(
            "delete again",
            root,
            iam("DeleteUser", &[("UserName", &renamed)]),
            404,
            "NoSuchEntity",
            format!("The user with name {renamed} cannot be found."),
        ),
        Case::error(
            "get deleted",
            root,
            iam("GetUser", &[("UserName", &renamed)]),
            404,
            "NoSuchEntity",
            format!("The user with name {renamed} cannot be found."),
        ),
    ]);
}

fn bad_user_input_is_refused_with_iams_messages(server: &TestServer) {
    let root = &server.root;
    let long = "u".repeat(65);
    server.run(&[
        Case::error("no name", root, iam("CreateUser", &[]), 400, "ValidationError", "userName"),
        Case::error("a space in the name", root, iam("CreateUser", &[("UserName", "al ice")]), 400, "ValidationError",
            "1 validation error detected: Value 'al ice' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"),
        Case::error("a name too long", root, iam("CreateUser", &[("UserName", &long)]), 400, "ValidationError",
            "Member must have length less than or equal to 64"),
        Case::error("a path without slashes", root, iam("CreateUser", &[("UserName", &unique("p")), ("Path", "team")]),
            400, "ValidationError", "path"),
        Case::error("get a user nobody made", root, iam("GetUser", &[("UserName", "nobody-made-me")]), 404,
            "NoSuchEntity", "The user with name nobody-made-me cannot be found."),
        Case::error("rename a user nobody made", root,
            iam("UpdateUser", &[("UserName", "nobody-made-me"), ("NewUserName", "x")]), 404, "NoSuchEntity",
            "The user with name nobody-made-me cannot be found."),
        Case::error("an operation IAM does not have", root, iam("CreateUnicorn", &[]), 400, "InvalidAction",
            "CreateUnicorn"),
    ]);
}

fn a_user_with_keys_policies_or_groups_cannot_be_deleted(server: &TestServer) {
    let root = &server.root;
    let name = unique("keyed");
    let group = unique("group");
    let key = server.user_with_policy(&name, None);
    server.run(&[
        Case::error(
            "with a key",
            root,
            iam("DeleteUser", &[("UserName", &name)]),
            409,
            "DeleteConflict",
            "Cannot delete entity, must delete access keys first.",
        ),
        Case::ok("delete the key", root, iam("DeleteAccessKey", &[("UserName", &name), ("AccessKeyId", &key.id)])),
        Case::ok("make a group", root, iam("CreateGroup", &[("GroupName", &group)])),
        Case::ok("join it", root, iam("AddUserToGroup", &[("GroupName", &group), ("UserName", &name)])),
        Case::error(
            "in a group",
            root,
            iam("DeleteUser", &[("UserName", &name)]),
            409,
            "DeleteConflict",
            "Cannot delete entity, must remove user from group first.",
        ),
        Case::ok("leave it", root, iam("RemoveUserFromGroup", &[("GroupName", &group), ("UserName", &name)])),
        Case::ok(
            "attach a policy",
            root,
            iam(
                "AttachUserPolicy",
                &[("UserName", &name), ("PolicyArn", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")],
            ),
        ),
        Case::error(
            "with an attached policy",
            root,
            iam("DeleteUser", &[("UserName", &name)]),
            409,
            "DeleteConflict",
            "Cannot delete entity, must detach all policies first.",
        ),
        Case::ok(
            "detach it",
            root,
            iam(
                "DetachUserPolicy",
                &[("UserName", &name), ("PolicyArn", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")],
            ),
        ),
        Case::ok(
            "put an inline policy",
            root,
            iam(
                "PutUserPolicy",
                &[("UserName", &name), ("PolicyName", "inline"), ("PolicyDocument", crate::support::ALLOW_ALL)],
            ),
        ),
        Case::error(
            "with an inline policy",
            root,
            iam("DeleteUser", &[("UserName", &name)]),
            409,
            "DeleteConflict",
            "Cannot delete entity, must delete policies first.",
        ),
        Case::ok("delete it", root, iam("DeleteUserPolicy", &[("UserName", &name), ("PolicyName", "inline")])),
        Case::ok("now the user goes", root, iam("DeleteUser", &[("UserName", &name)])),
    ]);
}

fn access_keys_are_made_listed_deactivated_and_capped_at_two(server: &TestServer) {
    let root = &server.root;
    let name = unique("keys");
    let first = server.user_with_policy(&name, None);
    server.run(&[
        Case::ok("a second key", root, iam("CreateAccessKey", &[("UserName", &name)])).xml("Status", "Active"),
        Case::error(
            "a third key",
            root,
            iam("CreateAccessKey", &[("UserName", &name)]),
            409,
            "LimitExceeded",
            "Cannot exceed quota for AccessKeysPerUser: 2",
        ),
        Case::ok("list", root, iam("ListAccessKeys", &[("UserName", &name)])).xml_count("AccessKeyId", 2),
        Case::ok(
            "deactivate",
            root,
            iam("UpdateAccessKey", &[("UserName", &name), ("AccessKeyId", &first.id), ("Status", "Inactive")]),
        ),
        Case::error(
            "an unknown status",
            root,
            iam("UpdateAccessKey", &[("UserName", &name), ("AccessKeyId", &first.id), ("Status", "Sleeping")]),
            400,
            "ValidationError",
            "status",
        ),
        Case::error(
            "a key nobody made",
            root,
            iam("DeleteAccessKey", &[("UserName", &name), ("AccessKeyId", "AKIAAAAAAAAAAAAAAAAA")]),
            404,
            "NoSuchEntity",
            "The Access Key with id AKIAAAAAAAAAAAAAAAAA cannot be found.",
        ),
        Case::error(
            "keys of a user nobody made",
            root,
            iam("ListAccessKeys", &[("UserName", "nobody-made-me")]),
            404,
            "NoSuchEntity",
            "The user with name nobody-made-me cannot be found.",
        ),
    ]);
    // An inactive key signs nothing.
    let refused = server.iam(&first, "GetUser", &[]);
    assert_eq!((refused.status, refused.code().as_str()), (403, "InvalidClientTokenId"), "{}", refused.body);
}

fn user_tags_are_set_listed_and_checked(server: &TestServer) {
    let root = &server.root;
    let name = unique("tagged");
    server.iam(root, "CreateUser", &[("UserName", &name)]).ok();
    server.run(&[
        Case::ok(
            "tag",
            root,
            iam("TagUser", &[("UserName", &name), ("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "blue")]),
        ),
        Case::ok("list", root, iam("ListUserTags", &[("UserName", &name)])).xml("Key", "team").xml("Value", "blue"),
        Case::error(
            "an aws: key",
            root,
            iam("TagUser", &[("UserName", &name), ("Tags.member.1.Key", "aws:x"), ("Tags.member.1.Value", "v")]),
            400,
            "InvalidInput",
            "User-defined tag keys can't start with 'aws:'.",
        ),
        Case::error(
            "a key twice",
            root,
            iam(
                "TagUser",
                &[
                    ("UserName", &name),
                    ("Tags.member.1.Key", "k"),
                    ("Tags.member.1.Value", "1"),
                    ("Tags.member.2.Key", "k"),
                    ("Tags.member.2.Value", "2"),
                ],
            ),
            400,
            "InvalidInput",
            "Duplicate tag keys found. Please remove duplicate tags.",
        ),
        Case::ok("untag", root, iam("UntagUser", &[("UserName", &name), ("TagKeys.member.1", "team")])),
        Case::ok("no tags left", root, iam("ListUserTags", &[("UserName", &name)])).xml_count("Key", 0),
        Case::error(
            "tag a user nobody made",
            root,
            iam("TagUser", &[("UserName", "nobody-made-me"), ("Tags.member.1.Key", "k"), ("Tags.member.1.Value", "v")]),
            404,
            "NoSuchEntity",
            "The user with name nobody-made-me cannot be found.",
        ),
    ]);
}

fn a_user_without_permissions_is_refused_every_user_operation(server: &TestServer) {
    let nobody = server.nobody();
    let arn = |name: &str| server.user_arn(name);
    let denied =
        |action: &str, resource: &str| format!("is not authorized to perform: iam:{action} on resource: {resource}");
    server.run(&[
        Case::denied("create", nobody, iam("CreateUser", &[("UserName", "x1")]), denied("CreateUser", &arn("x1"))),
        Case::denied("get another", nobody, iam("GetUser", &[("UserName", "x2")]), denied("GetUser", &arn("x2"))),
        Case::denied("list", nobody, iam("ListUsers", &[]), "iam:ListUsers"),
        Case::denied("delete", nobody, iam("DeleteUser", &[("UserName", "x3")]), denied("DeleteUser", &arn("x3"))),
        Case::denied(
            "make a key for another",
            nobody,
            iam("CreateAccessKey", &[("UserName", "x4")]),
            denied("CreateAccessKey", &arn("x4")),
        ),
        Case::denied(
            "tag",
            nobody,
            iam("TagUser", &[("UserName", "x5"), ("Tags.member.1.Key", "k"), ("Tags.member.1.Value", "v")]),
            denied("TagUser", &arn("x5")),
        ),
        Case::denied(
            "give itself a policy",
            nobody,
            iam(
                "PutUserPolicy",
                &[("UserName", "x6"), ("PolicyName", "p"), ("PolicyDocument", crate::support::ALLOW_ALL)],
            ),
            denied("PutUserPolicy", &arn("x6")),
        ),
    ]);
}

fn an_unsigned_or_badly_signed_request_is_refused(server: &TestServer) {
    let unsigned = server.query(None, "iam", "ListUsers", "2010-05-08", &[]);
    assert_eq!((unsigned.status, unsigned.code().as_str()), (403, "MissingAuthenticationToken"), "{}", unsigned.body);
    let mut wrong = server.root.clone();
    wrong.secret.push('x');
    let forged = server.iam(&wrong, "ListUsers", &[]);
    assert_eq!((forged.status, forged.code().as_str()), (403, "SignatureDoesNotMatch"), "{}", forged.body);
    let mut unknown = server.root.clone();
    unknown.id = "AKIAUNKNOWNUNKNOWN00".to_owned();
    let stranger = server.iam(&unknown, "ListUsers", &[]);
    assert_eq!((stranger.status, stranger.code().as_str()), (403, "InvalidClientTokenId"), "{}", stranger.body);
}
