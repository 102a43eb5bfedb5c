//! IAM roles and instance profiles, in process: the happy path, IAM's errors for bad input
//! (today's codes and messages), and refusals of a caller without permissions.

use crate::support::{Case, TestServer, iam, unique};

crate::support::on_both_stores!(
    roles_are_created_read_updated_and_deleted,
    bad_role_input_is_refused_with_iams_messages,
    a_role_in_use_cannot_be_deleted,
    a_role_holds_ten_managed_policies_at_most,
    a_user_without_permissions_is_refused_every_role_operation
);

/// A trust policy letting `principal` (a service or an account's root) assume the role.
fn trust(principal: &str) -> String {
    let kind = if principal.ends_with(".amazonaws.com") { "Service" } else { "AWS" };
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"{kind}":"{principal}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

fn roles_are_created_read_updated_and_deleted(server: &TestServer) {
    let root = &server.root;
    let name = unique("role");
    let ecs_trust = trust("ecs-tasks.amazonaws.com");
    let ec2_trust = trust("ec2.amazonaws.com");
    server.run(&[
        Case::ok(
            "create",
            root,
            iam(
                "CreateRole",
                &[
                    ("RoleName", &name),
                    ("Path", "/app/"),
                    ("AssumeRolePolicyDocument", &ecs_trust),
                    ("Description", "runs the app"),
                ],
            ),
        )
        .xml("RoleName", &name)
        .xml("Arn", format!("arn:aws:iam::{}:role/app/{name}", server.account_id))
        .xml("MaxSessionDuration", "3600"),
        Case::error(
            "create again",
            root,
            iam("CreateRole", &[("RoleName", &name), ("AssumeRolePolicyDocument", &ecs_trust)]),
            409,
            "EntityAlreadyExists",
            format!("Role with name {name} already exists."),
        ),
        Case::ok("get", root, iam("GetRole", &[("RoleName", &name)]))
            .xml("Description", "runs the app")
            .xml("Path", "/app/"),
        Case::ok("the trust policy comes back URL-encoded", root, iam("GetRole", &[("RoleName", &name)]))
            .xml("AssumeRolePolicyDocument", crate::support::encode(&ecs_trust).replace("%2D", "-")),
        Case::ok(
            "update",
            root,
            iam("UpdateRole", &[("RoleName", &name), ("MaxSessionDuration", "7200"), ("Description", "d2")]),
        ),
        Case::ok("updated", root, iam("GetRole", &[("RoleName", &name)]))
            .xml("MaxSessionDuration", "7200")
            .xml("Description", "d2"),
        Case::ok(
            "new trust",
            root,
            iam("UpdateAssumeRolePolicy", &[("RoleName", &name), ("PolicyDocument", &ec2_trust)]),
        ),
        Case::ok("list under the path", root, iam("ListRoles", &[("PathPrefix", "/app/")])).xml("RoleName", &name),
        Case::ok("delete", root, iam("DeleteRole", &[("RoleName", &name)])),
        Case::error(
            "gone",
            root,
            iam("GetRole", &[("RoleName", &name)]),
            404,
            "NoSuchEntity",
            format!("The role with name {name} cannot be found."),
        ),
        Case::error(
            "delete again",
            root,
            iam("DeleteRole", &[("RoleName", &name)]),
            404,
            "NoSuchEntity",
            format!("The role with name {name} cannot be found."),
        ),
    ]);
}

fn bad_role_input_is_refused_with_iams_messages(server: &TestServer) {
    let root = &server.root;
    let ecs_trust = trust("ecs-tasks.amazonaws.com");
    let stranger = trust(&format!("arn:aws:iam::{}:user/nobody-made-me", server.account_id));
    let name = unique("badrole");
    server.run(&[
        Case::error("no trust policy", root, iam("CreateRole", &[("RoleName", &name)]), 400, "ValidationError",
            "assumeRolePolicyDocument"),
        Case::error("a trust policy that is not JSON", root,
            iam("CreateRole", &[("RoleName", &name), ("AssumeRolePolicyDocument", "{nope")]), 400,
            "MalformedPolicyDocument", ""),
        Case::error("a trust policy naming a user nobody made", root,
            iam("CreateRole", &[("RoleName", &name), ("AssumeRolePolicyDocument", &stranger)]), 400,
            "MalformedPolicyDocument",
            format!("Invalid principal in policy: \"AWS\":\"arn:aws:iam::{}:user/nobody-made-me\"", server.account_id)),
        Case::error("a session too short", root, iam("CreateRole", &[
            ("RoleName", &name), ("AssumeRolePolicyDocument", &ecs_trust), ("MaxSessionDuration", "60"),
        ]), 400, "ValidationError",
            "1 validation error detected: Value '60' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600"),
        Case::error("a session too long", root, iam("CreateRole", &[
            ("RoleName", &name), ("AssumeRolePolicyDocument", &ecs_trust), ("MaxSessionDuration", "50000"),
        ]), 400, "ValidationError", "Member must have value less than or equal to 43200"),
        Case::error("a description with a control character", root, iam("CreateRole", &[
            ("RoleName", &name), ("AssumeRolePolicyDocument", &ecs_trust), ("Description", "a\u{1}b"),
        ]), 400, "ValidationError", "at 'description' failed to satisfy constraint"),
        Case::error("a bad name", root,
            iam("CreateRole", &[("RoleName", "no/slash"), ("AssumeRolePolicyDocument", &ecs_trust)]), 400,
            "ValidationError", "roleName"),
        Case::error("none of these was made", root, iam("GetRole", &[("RoleName", &name)]), 404, "NoSuchEntity",
            format!("The role with name {name} cannot be found.")),
        Case::error("a service-linked role for an unknown service", root,
            iam("CreateServiceLinkedRole", &[("AWSServiceName", "unicorns.amazonaws.com")]), 400, "InvalidInput",
            "Invalid service name: unicorns.amazonaws.com"),
    ]);
}

fn a_role_in_use_cannot_be_deleted(server: &TestServer) {
    let root = &server.root;
    let name = unique("used");
    let profile = unique("profile");
    let core = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
    server
        .iam(root, "CreateRole", &[("RoleName", &name), ("AssumeRolePolicyDocument", &trust("ec2.amazonaws.com"))])
        .ok();
    server.run(&[
        Case::ok("make a profile", root, iam("CreateInstanceProfile", &[("InstanceProfileName", &profile)]))
            .xml("InstanceProfileName", &profile),
        Case::ok(
            "put the role in it",
            root,
            iam("AddRoleToInstanceProfile", &[("InstanceProfileName", &profile), ("RoleName", &name)]),
        ),
        Case::ok("the profile holds it", root, iam("GetInstanceProfile", &[("InstanceProfileName", &profile)]))
            .xml("RoleName", &name),
        Case::error(
            "in a profile",
            root,
            iam("DeleteRole", &[("RoleName", &name)]),
            409,
            "DeleteConflict",
            "Cannot delete entity, must remove roles from instance profile first.",
        ),
        Case::ok(
            "take it out",
            root,
            iam("RemoveRoleFromInstanceProfile", &[("InstanceProfileName", &profile), ("RoleName", &name)]),
        ),
        Case::ok("attach a policy", root, iam("AttachRolePolicy", &[("RoleName", &name), ("PolicyArn", core)])),
        Case::ok("listed as attached", root, iam("ListAttachedRolePolicies", &[("RoleName", &name)]))
            .xml("PolicyArn", core),
        Case::error(
            "with an attached policy",
            root,
            iam("DeleteRole", &[("RoleName", &name)]),
            409,
            "DeleteConflict",
            "Cannot delete entity, must detach all policies first.",
        ),
        Case::ok("detach it", root, iam("DetachRolePolicy", &[("RoleName", &name), ("PolicyArn", core)])),
        Case::ok(
            "an inline policy",
            root,
            iam(
                "PutRolePolicy",
                &[("RoleName", &name), ("PolicyName", "inline"), ("PolicyDocument", crate::support::ALLOW_ALL)],
            ),
        ),
        Case::ok("read it back", root, iam("GetRolePolicy", &[("RoleName", &name), ("PolicyName", "inline")]))
            .xml("PolicyName", "inline"),
        Case::error(
            "with an inline policy",
            root,
            iam("DeleteRole", &[("RoleName", &name)]),
            409,
            "DeleteConflict",
            "Cannot delete entity, must delete policies first.",
        ),
        Case::ok(
            "delete the inline policy",
            root,
            iam("DeleteRolePolicy", &[("RoleName", &name), ("PolicyName", "inline")]),
        ),
        Case::error(
            "an inline policy nobody put",
            root,
            iam("GetRolePolicy", &[("RoleName", &name), ("PolicyName", "inline")]),
            404,
            "NoSuchEntity",
            "The role policy with name inline cannot be found.",
        ),
        Case::ok("now the role goes", root, iam("DeleteRole", &[("RoleName", &name)])),
        Case::ok("and the profile", root, iam("DeleteInstanceProfile", &[("InstanceProfileName", &profile)])),
    ]);
}

/// The limits and refusals around a role's managed policies (once the negative half of the
/// end-to-end seed steps): a trust policy without a principal, an identity policy with one, a
/// namesake in other letters, an AWS policy that does not exist, the eleventh attachment, and
/// what the attachments count.
fn a_role_holds_ten_managed_policies_at_most(server: &TestServer) {
    let root = &server.root;
    let name = unique("tenpolicies");
    let path = format!("/{}/", unique("tenpath"));
    let ec2_role = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role";
    let with_principal =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#;
    let no_principal = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#;
    let ssm_trust = trust("ssm.amazonaws.com");
    server.iam(root, "CreateRole", &[("RoleName", &name), ("AssumeRolePolicyDocument", &ssm_trust)]).ok();
    let attach = |arn: &str| iam("AttachRolePolicy", &[("RoleName", &name), ("PolicyArn", arn)]);
    server.run(&[
        Case::error(
            "a trust policy without a principal",
            root,
            iam("CreateRole", &[("RoleName", &unique("broken")), ("AssumeRolePolicyDocument", no_principal)]),
            400,
            "MalformedPolicyDocument",
            "Principal",
        ),
        Case::error(
            "an AWS policy that does not exist",
            root,
            attach("arn:aws:iam::aws:policy/NoSuchPolicy"),
            404,
            "NoSuchEntity",
            "arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable",
        ),
        Case::error(
            "a namesake in capitals",
            root,
            iam("CreateRole", &[("RoleName", &name.to_uppercase()), ("AssumeRolePolicyDocument", &ssm_trust)]),
            409,
            "EntityAlreadyExists",
            format!("Role with name {} already exists.", name.to_uppercase()),
        ),
        Case::error(
            "an inline policy with a principal",
            root,
            iam("PutRolePolicy", &[("RoleName", &name), ("PolicyName", "p"), ("PolicyDocument", with_principal)]),
            400,
            "MalformedPolicyDocument",
            "Policy document should not specify a principal.",
        ),
        Case::error(
            "a managed policy with a principal",
            root,
            iam("CreatePolicy", &[("PolicyName", &unique("p")), ("PolicyDocument", with_principal)]),
            400,
            "MalformedPolicyDocument",
            "",
        ),
        Case::ok("an AWS policy", root, attach("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")),
    ]);
    // Nine policies of the account's own make ten.
    for n in 2..=10 {
        let document = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"ecs:Describe{n}","Resource":"*"}}}}"#
        );
        let created = server
            .iam(
                root,
                "CreatePolicy",
                &[("PolicyName", &unique("custom")), ("Path", &path), ("PolicyDocument", &document)],
            )
            .ok();
        server.iam(root, "AttachRolePolicy", &[("RoleName", &name), ("PolicyArn", &created.xml("Arn"))]).ok();
    }
    server.run(&[
        Case::error(
            "the eleventh",
            root,
            attach(ec2_role),
            409,
            "LimitExceeded",
            "Cannot exceed quota for PoliciesPerRole: 10",
        ),
        Case::ok("ten attached", root, iam("ListAttachedRolePolicies", &[("RoleName", &name)]))
            .xml_count("PolicyArn", 10),
        // A role with policies cannot go.
        Case::error(
            "delete it",
            root,
            iam("DeleteRole", &[("RoleName", &name)]),
            409,
            "DeleteConflict",
            "must detach all policies first",
        ),
        Case::ok(
            "the account's attached policies",
            root,
            iam("ListPolicies", &[("Scope", "Local"), ("OnlyAttached", "true"), ("PathPrefix", &path)]),
        )
        .xml_count("PolicyName", 9)
        .xml("AttachmentCount", "1"),
    ]);
}

fn a_user_without_permissions_is_refused_every_role_operation(server: &TestServer) {
    let nobody = server.nobody();
    let role = |name: &str| format!("arn:aws:iam::{}:role/{name}", server.account_id);
    let denied =
        |action: &str, resource: &str| format!("is not authorized to perform: iam:{action} on resource: {resource}");
    let ecs_trust = trust("ecs-tasks.amazonaws.com");
    server.run(&[
        Case::denied(
            "create",
            nobody,
            iam("CreateRole", &[("RoleName", "r1"), ("AssumeRolePolicyDocument", &ecs_trust)]),
            denied("CreateRole", &role("r1")),
        ),
        Case::denied("get", nobody, iam("GetRole", &[("RoleName", "r2")]), denied("GetRole", &role("r2"))),
        Case::denied("delete", nobody, iam("DeleteRole", &[("RoleName", "r3")]), denied("DeleteRole", &role("r3"))),
        Case::denied(
            "attach",
            nobody,
            iam(
                "AttachRolePolicy",
                &[("RoleName", "r4"), ("PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess")],
            ),
            denied("AttachRolePolicy", &role("r4")),
        ),
        Case::denied("list", nobody, iam("ListRoles", &[]), "iam:ListRoles"),
    ]);
}
