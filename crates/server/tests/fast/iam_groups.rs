//! IAM groups and their members, in process: the happy path, IAM's errors (today's codes and
//! messages), what membership grants, and refusals of a caller without permissions.

use crate::support::{Case, TestServer, iam, unique};

crate::support::on_both_stores!(
    groups_are_made_joined_left_and_deleted,
    a_member_holds_its_groups_policies,
    a_user_without_permissions_is_refused_every_group_operation
);

fn groups_are_made_joined_left_and_deleted(server: &TestServer) {
    let root = &server.root;
    let group = unique("group");
    let user = unique("member");
    server.iam(root, "CreateUser", &[("UserName", &user)]).ok();
    let inline = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetGroup","Resource":"*"}]}"#;
    server.run(&[
        Case::ok("create", root, iam("CreateGroup", &[("GroupName", &group), ("Path", "/ops/")]))
            .xml("GroupName", &group)
            .xml("Arn", format!("arn:aws:iam::{}:group/ops/{group}", server.account_id)),
        Case::error(
            "create again",
            root,
            iam("CreateGroup", &[("GroupName", &group)]),
            409,
            "EntityAlreadyExists",
            format!("Group with name {group} already exists."),
        ),
        Case::ok("join", root, iam("AddUserToGroup", &[("GroupName", &group), ("UserName", &user)])),
        Case::ok("join twice is the same", root, iam("AddUserToGroup", &[("GroupName", &group), ("UserName", &user)])),
        Case::ok("its members", root, iam("GetGroup", &[("GroupName", &group)]))
            .xml("UserName", &user)
            .xml_count("UserName", 1),
        Case::ok("the user's groups", root, iam("ListGroupsForUser", &[("UserName", &user)])).xml("GroupName", &group),
        Case::ok(
            "a group policy",
            root,
            iam("PutGroupPolicy", &[("GroupName", &group), ("PolicyName", "read"), ("PolicyDocument", inline)]),
        ),
        Case::ok("listed", root, iam("ListGroupPolicies", &[("GroupName", &group)])).xml("member", "read"),
        Case::error(
            "deleted with a member",
            root,
            iam("DeleteGroup", &[("GroupName", &group)]),
            409,
            "DeleteConflict",
            "Cannot delete entity, must remove users and policies from group first.",
        ),
        Case::ok("leave", root, iam("RemoveUserFromGroup", &[("GroupName", &group), ("UserName", &user)])),
        Case::ok("no groups left", root, iam("ListGroupsForUser", &[("UserName", &user)])).xml_count("GroupName", 0),
        Case::error(
            "deleted with a policy",
            root,
            iam("DeleteGroup", &[("GroupName", &group)]),
            409,
            "DeleteConflict",
            "Cannot delete entity, must remove users and policies from group first.",
        ),
        Case::ok("drop the policy", root, iam("DeleteGroupPolicy", &[("GroupName", &group), ("PolicyName", "read")])),
        Case::ok("delete", root, iam("DeleteGroup", &[("GroupName", &group)])),
        Case::error(
            "gone",
            root,
            iam("GetGroup", &[("GroupName", &group)]),
            404,
            "NoSuchEntity",
            format!("The group with name {group} cannot be found."),
        ),
        Case::error(
            "join a group nobody made",
            root,
            iam("AddUserToGroup", &[("GroupName", "nobody-made-me"), ("UserName", &user)]),
            404,
            "NoSuchEntity",
            "The group with name nobody-made-me cannot be found.",
        ),
        Case::error(
            "a name with a space",
            root,
            iam("CreateGroup", &[("GroupName", "a b")]),
            400,
            "ValidationError",
            "groupName",
        ),
    ]);
}

fn a_member_holds_its_groups_policies(server: &TestServer) {
    let root = &server.root;
    let group = unique("readers");
    let name = unique("reader");
    let member = server.user_with_policy(&name, None);
    let read = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}"#;
    server.iam(root, "CreateGroup", &[("GroupName", &group)]).ok();
    server.iam(root, "PutGroupPolicy", &[("GroupName", &group), ("PolicyName", "read"), ("PolicyDocument", read)]).ok();
    server.run(&[
        Case::denied("before joining", &member, iam("GetUser", &[("UserName", &name)]), "iam:GetUser"),
        Case::ok("join", root, iam("AddUserToGroup", &[("GroupName", &group), ("UserName", &name)])),
        Case::ok("after joining", &member, iam("GetUser", &[("UserName", &name)])).xml("UserName", &name),
        Case::denied("but nothing else", &member, iam("ListUsers", &[]), "iam:ListUsers"),
        Case::ok("leave", root, iam("RemoveUserFromGroup", &[("GroupName", &group), ("UserName", &name)])),
        Case::denied("after leaving", &member, iam("GetUser", &[("UserName", &name)]), "iam:GetUser"),
    ]);
}

fn a_user_without_permissions_is_refused_every_group_operation(server: &TestServer) {
    let nobody = server.nobody();
    let group = |name: &str| format!("arn:aws:iam::{}:group/{name}", server.account_id);
    let denied =
        |action: &str, resource: &str| format!("is not authorized to perform: iam:{action} on resource: {resource}");
    server.run(&[
        Case::denied("create", nobody, iam("CreateGroup", &[("GroupName", "g1")]), denied("CreateGroup", &group("g1"))),
        Case::denied(
            "join",
            nobody,
            iam("AddUserToGroup", &[("GroupName", "g2"), ("UserName", "u")]),
            denied("AddUserToGroup", &group("g2")),
        ),
        Case::denied("delete", nobody, iam("DeleteGroup", &[("GroupName", "g3")]), denied("DeleteGroup", &group("g3"))),
        Case::denied("read", nobody, iam("GetGroup", &[("GroupName", "g4")]), denied("GetGroup", &group("g4"))),
    ]);
}
