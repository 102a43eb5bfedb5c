//! Permissions boundaries of users and roles, in process: set, read and removed; what a
//! boundary takes away from an identity policy that allows everything; IAM's errors (today's
//! codes and messages).

use crate::support::{ALLOW_ALL, Case, TestServer, iam, unique};

crate::support::on_both_stores!(a_boundary_caps_what_a_user_may_do, boundaries_name_existing_managed_policies);

fn a_boundary_caps_what_a_user_may_do(server: &TestServer) {
    let root = &server.root;
    let name = unique("bounded");
    let key = server.user_with_policy(&name, Some(ALLOW_ALL));
    let read_only = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    let other = unique("other");
    server.run(&[
        Case::ok("before: may create", &key, iam("CreateUser", &[("UserName", &other)])),
        Case::ok("bound it", root, iam("PutUserPermissionsBoundary", &[("UserName", &name), ("PermissionsBoundary", read_only)])),
        Case::ok("its boundary", root, iam("GetUser", &[("UserName", &name)]))
            .xml("PermissionsBoundaryArn", read_only)
            .xml("PermissionsBoundaryType", "PermissionsBoundaryPolicy"),
        Case::ok("may still read", &key, iam("GetUser", &[("UserName", &other)])).xml("UserName", &other),
        Case::denied("may no longer delete", &key, iam("DeleteUser", &[("UserName", &other)]),
            format!("User: {} is not authorized to perform: iam:DeleteUser on resource: {} because no permissions boundary allows the iam:DeleteUser action",
                server.user_arn(&name), server.user_arn(&other))),
        Case::ok("unbound", root, iam("DeleteUserPermissionsBoundary", &[("UserName", &name)])),
        Case::ok("no boundary shown", root, iam("GetUser", &[("UserName", &name)])).xml_count("PermissionsBoundaryArn", 0),
        Case::ok("may delete again", &key, iam("DeleteUser", &[("UserName", &other)])),
    ]);
}

fn boundaries_name_existing_managed_policies(server: &TestServer) {
    let root = &server.root;
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = unique("boundedrole");
    let missing = format!("arn:aws:iam::{}:policy/nobody-made-me", server.account_id);
    server.run(&[
        Case::ok("a role made with one", root, iam("CreateRole", &[
            ("RoleName", &role),
            ("AssumeRolePolicyDocument", trust),
            ("PermissionsBoundary", "arn:aws:iam::aws:policy/PowerUserAccess"),
        ]))
        .xml("PermissionsBoundaryArn", "arn:aws:iam::aws:policy/PowerUserAccess"),
        Case::ok("removed", root, iam("DeleteRolePermissionsBoundary", &[("RoleName", &role)])),
        Case::ok("gone from the role", root, iam("GetRole", &[("RoleName", &role)])).xml_count("PermissionsBoundaryArn", 0),
        Case::error("a policy nobody made", root, iam("PutRolePermissionsBoundary", &[("RoleName", &role), ("PermissionsBoundary", &missing)]),
            404, "NoSuchEntity", format!("Policy {missing} does not exist or is not attachable.")),
        Case::error("no policy at all", root, iam("PutRolePermissionsBoundary", &[("RoleName", &role)]), 400,
            "ValidationError",
            "1 validation error detected: Value null at 'permissionsBoundary' failed to satisfy constraint: Member must not be null"),
        Case::error("an ARN that is not one", root,
            iam("CreateUser", &[("UserName", &unique("u")), ("PermissionsBoundary", "not-an-arn-but-long-enough")]), 400,
            "InvalidInput", "ARN not-an-arn-but-long-enough is not valid."),
        Case::error("a user nobody made", root, iam("PutUserPermissionsBoundary", &[
            ("UserName", "nobody-made-me"), ("PermissionsBoundary", "arn:aws:iam::aws:policy/PowerUserAccess"),
        ]), 404, "NoSuchEntity", "The user with name nobody-made-me cannot be found."),
        Case::denied("a user without permissions", server.nobody(), iam("PutUserPermissionsBoundary", &[
            ("UserName", "x"), ("PermissionsBoundary", "arn:aws:iam::aws:policy/PowerUserAccess"),
        ]), format!("is not authorized to perform: iam:PutUserPermissionsBoundary on resource: {}",
            server.user_arn("x"))),
    ]);
}
