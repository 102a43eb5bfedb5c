//! IAM's account-level operations and the smaller families, in process: UpdateGroup, instance
//! profile tags, the account alias and STS preferences, service-linked roles, and what AWS
//! answers an account without Organizations, partner delegation or outbound federation.

use crate::support::{Case, TestServer, iam, unique};

crate::support::on_both_stores!(
    a_group_is_renamed_and_moved_with_its_members,
    instance_profiles_are_tagged,
    the_account_has_one_alias_and_its_token_version,
    service_linked_roles_are_made_protected_and_deleted,
    operations_of_features_the_account_lacks_are_answered_as_aws_does
);

fn a_group_is_renamed_and_moved_with_its_members(server: &TestServer) {
    let root = &server.root;
    let group = unique("team");
    let renamed = unique("platform");
    let user = unique("member");
    server.iam(root, "CreateUser", &[("UserName", &user)]).ok();
    server.iam(root, "CreateGroup", &[("GroupName", &group)]).ok();
    server.iam(root, "AddUserToGroup", &[("GroupName", &group), ("UserName", &user)]).ok();
    let other = unique("other");
    server.iam(root, "CreateGroup", &[("GroupName", &other)]).ok();
    // A caller allowed on the group as it is, but not as it would be, is refused.
    let mover = server.user_with_policy(
        &unique("mover"),
        Some(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:UpdateGroup","Resource":"arn:aws:iam::{}:group/{group}"}}]}}"#,
            server.account_id
        )),
    );
    server.run(&[
        Case::denied(
            "renamed to a name the caller may not act on",
            &mover,
            iam("UpdateGroup", &[("GroupName", &group), ("NewGroupName", &renamed)]),
            format!("iam:UpdateGroup on resource: arn:aws:iam::{}:group/{renamed}", server.account_id),
        ),
        Case::error(
            "renamed onto another group",
            root,
            iam("UpdateGroup", &[("GroupName", &group), ("NewGroupName", &other)]),
            409,
            "EntityAlreadyExists",
            format!("Group with name {other} already exists."),
        ),
        Case::ok(
            "renamed and moved",
            root,
            iam("UpdateGroup", &[("GroupName", &group), ("NewGroupName", &renamed), ("NewPath", "/teams/")]),
        ),
        Case::ok("the new name has the member", root, iam("GetGroup", &[("GroupName", &renamed)]))
            .xml("UserName", &user)
            .xml("Path", "/teams/"),
        Case::ok("the member's groups say so", root, iam("ListGroupsForUser", &[("UserName", &user)]))
            .xml("GroupName", &renamed),
        Case::error(
            "the old name is gone",
            root,
            iam("GetGroup", &[("GroupName", &group)]),
            404,
            "NoSuchEntity",
            format!("The group with name {group} cannot be found."),
        ),
        Case::error(
            "a group nobody made",
            root,
            iam("UpdateGroup", &[("GroupName", "nobody-made-this-group"), ("NewPath", "/x/")]),
            404,
            "NoSuchEntity",
            "The group with name nobody-made-this-group cannot be found.",
        ),
    ]);
}

fn instance_profiles_are_tagged(server: &TestServer) {
    let root = &server.root;
    let profile = unique("profile");
    server.iam(root, "CreateInstanceProfile", &[("InstanceProfileName", &profile)]).ok();
    server.run(&[
        Case::ok(
            "tagged",
            root,
            iam(
                "TagInstanceProfile",
                &[("InstanceProfileName", &profile), ("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "ops")],
            ),
        ),
        Case::ok("listed", root, iam("ListInstanceProfileTags", &[("InstanceProfileName", &profile)]))
            .xml("Key", "team")
            .xml("Value", "ops"),
        Case::ok("shown by GetInstanceProfile", root, iam("GetInstanceProfile", &[("InstanceProfileName", &profile)]))
            .xml("Key", "team"),
        Case::ok(
            "untagged",
            root,
            iam("UntagInstanceProfile", &[("InstanceProfileName", &profile), ("TagKeys.member.1", "team")]),
        ),
        Case::ok("none left", root, iam("ListInstanceProfileTags", &[("InstanceProfileName", &profile)]))
            .xml_count("Key", 0),
        Case::error(
            "a profile nobody made",
            root,
            iam("ListInstanceProfileTags", &[("InstanceProfileName", "nobody-made-this-profile")]),
            404,
            "NoSuchEntity",
            "nobody-made-this-profile",
        ),
    ]);
}

fn the_account_has_one_alias_and_its_token_version(server: &TestServer) {
    let root = &server.root;
    let first = unique("first").to_lowercase().replace('_', "-");
    let second = unique("second").to_lowercase().replace('_', "-");
    server.run(&[
        Case::ok("created", root, iam("CreateAccountAlias", &[("AccountAlias", &first)])),
        Case::ok("listed", root, iam("ListAccountAliases", &[])).xml("member", &first),
        Case::ok("replaced by a new one", root, iam("CreateAccountAlias", &[("AccountAlias", &second)])),
        Case::ok("only the new one is listed", root, iam("ListAccountAliases", &[]))
            .xml("member", &second)
            .xml_count("member", 1),
        Case::error(
            "the old one cannot be deleted",
            root,
            iam("DeleteAccountAlias", &[("AccountAlias", &first)]),
            404,
            "NoSuchEntity",
            format!("The account alias {first} cannot be found."),
        ),
        Case::ok("deleted", root, iam("DeleteAccountAlias", &[("AccountAlias", &second)])),
        Case::ok("none left", root, iam("ListAccountAliases", &[])).xml_count("member", 0),
        Case::ok(
            "v2 tokens",
            root,
            iam("SetSecurityTokenServicePreferences", &[("GlobalEndpointTokenVersion", "v2Token")]),
        ),
        Case::ok("the summary says so", root, iam("GetAccountSummary", &[]))
            .contains("<key>GlobalEndpointTokenVersion</key>\n<value>2</value>"),
        Case::ok(
            "v1 again",
            root,
            iam("SetSecurityTokenServicePreferences", &[("GlobalEndpointTokenVersion", "v1Token")]),
        ),
        Case::ok("the summary says so again", root, iam("GetAccountSummary", &[]))
            .contains("<key>GlobalEndpointTokenVersion</key>\n<value>1</value>"),
        Case::denied(
            "a caller without permission",
            server.nobody(),
            iam("CreateAccountAlias", &[("AccountAlias", "nobody-alias")]),
            "iam:CreateAccountAlias on resource: *",
        ),
    ]);
}

fn service_linked_roles_are_made_protected_and_deleted(server: &TestServer) {
    let root = &server.root;
    let suffix = unique("s");
    let role = format!("AWSServiceRoleForAutoScaling_{suffix}");
    let created = server
        .iam(
            root,
            "CreateServiceLinkedRole",
            &[("AWSServiceName", "autoscaling.amazonaws.com"), ("CustomSuffix", &suffix)],
        )
        .ok();
    assert_eq!(created.xml("RoleName"), role);
    assert_eq!(created.xml("Path"), "/aws-service-role/autoscaling.amazonaws.com/");
    let protected = |action: &str, params: &[(&str, &str)]| {
        let mut params = params.to_vec();
        params.push(("RoleName", &role));
        Case::error(
            action,
            root,
            iam(action, &params),
            400,
            "UnmodifiableEntity",
            format!(
                "Cannot perform the operation on the protected role '{role}' - this role is only modifiable by AWS"
            ),
        )
    };
    let policy = "arn:aws:iam::aws:policy/aws-service-role/AutoScalingServiceRolePolicy";
    server.run(&[
        Case::ok("it has AWS's policy", root, iam("ListAttachedRolePolicies", &[("RoleName", &role)]))
            .xml("PolicyArn", policy),
        protected("DeleteRole", &[]),
        protected("DetachRolePolicy", &[("PolicyArn", policy)]),
        protected("PutRolePolicy", &[("PolicyName", "p"), ("PolicyDocument", crate::support::ALLOW_ALL)]),
        protected(
            "UpdateAssumeRolePolicy",
            &[(
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            )],
        ),
        Case::error(
            "no suffix for ECS",
            root,
            iam("CreateServiceLinkedRole", &[("AWSServiceName", "ecs.amazonaws.com"), ("CustomSuffix", "x")]),
            400,
            "InvalidInput",
            "Custom suffix is not allowed for ecs.amazonaws.com",
        ),
        Case::error(
            "a service that has none",
            root,
            iam("CreateServiceLinkedRole", &[("AWSServiceName", "nothing.amazonaws.com")]),
            400,
            "InvalidInput",
            "Invalid service name: nothing.amazonaws.com",
        ),
    ]);
    let task = server.iam(root, "DeleteServiceLinkedRole", &[("RoleName", &role)]).ok().xml("DeletionTaskId");
    assert!(task.starts_with(&format!("task/aws-service-role/autoscaling.amazonaws.com/{role}/")), "{task}");
    server.run(&[
        Case::ok(
            "the deletion succeeded",
            root,
            iam("GetServiceLinkedRoleDeletionStatus", &[("DeletionTaskId", &task)]),
        )
        .xml("Status", "SUCCEEDED"),
        Case::error(
            "the role is gone",
            root,
            iam("GetRole", &[("RoleName", &role)]),
            404,
            "NoSuchEntity",
            format!("The role with name {role} cannot be found."),
        ),
        Case::error(
            "an unknown task",
            root,
            iam("GetServiceLinkedRoleDeletionStatus", &[("DeletionTaskId", "task/aws-service-role/x/y/z")]),
            404,
            "NoSuchEntity",
            "Deletion task task/aws-service-role/x/y/z does not exist.",
        ),
    ]);
}

fn operations_of_features_the_account_lacks_are_answered_as_aws_does(server: &TestServer) {
    let root = &server.root;
    let no_organization = |action: &str, params: &[(&str, &str)]| {
        Case::error(
            action,
            root,
            iam(action, params),
            400,
            "OrganizationNotFoundException",
            "The request was rejected because no organization is associated with your account.",
        )
    };
    let request = "abcdefghijklmnop-1234";
    let no_request = |action: &str| {
        Case::error(
            action,
            root,
            iam(action, &[("DelegationRequestId", request)]),
            404,
            "NoSuchEntity",
            format!("Delegation request {request} does not exist."),
        )
    };
    server.run(&[
        no_organization("ListOrganizationsFeatures", &[]),
        no_organization("EnableOrganizationsRootCredentialsManagement", &[]),
        no_organization("DisableOrganizationsRootSessions", &[]),
        no_organization("GenerateOrganizationsAccessReport", &[("EntityPath", "o-a1b2c3d4e5/r-f6g7h8i9j0example")]),
        Case::denied(
            "authorized first",
            server.nobody(),
            iam("ListOrganizationsFeatures", &[]),
            "iam:ListOrganizationsFeatures on resource: *",
        ),
        Case::ok("no delegation requests", root, iam("ListDelegationRequests", &[])).xml("isTruncated", "false"),
        no_request("GetDelegationRequest"),
        no_request("AcceptDelegationRequest"),
        no_request("SendDelegationToken"),
        Case::error(
            "outbound federation is disabled",
            root,
            iam("GetOutboundWebIdentityFederationInfo", &[]),
            404,
            "FeatureDisabled",
            "Outbound identity federation is disabled",
        ),
    ]);
}
