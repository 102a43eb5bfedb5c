//! The AWS managed policy catalogue, in process: every one of IAM's 1,315 AWS managed policies
//! is readable, attachable (but the one that is not), listed by ListPolicies with its scopes,
//! filters and pages, and decides requests once attached. The counts are the catalogue's
//! (`managed-policies/catalogue.zlib`, from IAM's output dated 2025-02-22).

use crate::support::{ALLOW_ALL, Case, TestServer, iam, unique};

crate::support::on_both_stores!(
    policies_missing_before_attach_and_read_as_iam_reports_them,
    the_policy_that_is_not_attachable_is_refused_as_iam_does,
    list_policies_pages_over_the_catalogue_with_scopes_and_filters,
    an_attached_catalogue_policy_decides_requests
);

const CATALOGUE_SIZE: usize = 1315;
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const AGENT: &str = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy";
const AUDIT: &str = "arn:aws:iam::aws:policy/SecurityAudit";
const SECRETS: &str = "arn:aws:iam::aws:policy/SecretsManagerReadWrite";
const CONFIG_ROLE: &str = "arn:aws:iam::aws:policy/service-role/AWSConfigRole";

fn policies_missing_before_attach_and_read_as_iam_reports_them(server: &TestServer) {
    let root = &server.root;
    let (user, role, group) = (unique("cat-user"), unique("cat-role"), unique("cat-group"));
    server.iam(root, "CreateUser", &[("UserName", &user)]).ok();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    server.iam(root, "CreateRole", &[("RoleName", &role), ("AssumeRolePolicyDocument", trust)]).ok();
    server.iam(root, "CreateGroup", &[("GroupName", &group)]).ok();
    let get = |arn: &str| iam("GetPolicy", &[("PolicyArn", arn)]);
    server.run(&[
        Case::ok(
            "attach SecurityAudit to a user",
            root,
            iam("AttachUserPolicy", &[("UserName", &user), ("PolicyArn", AUDIT)]),
        ),
        Case::ok(
            "attach CloudWatchAgentServerPolicy to a role",
            root,
            iam("AttachRolePolicy", &[("RoleName", &role), ("PolicyArn", AGENT)]),
        ),
        Case::ok(
            "attach SecretsManagerReadWrite to a group",
            root,
            iam("AttachGroupPolicy", &[("GroupName", &group), ("PolicyArn", SECRETS)]),
        ),
        Case::ok("ReadOnlyAccess as IAM reports it", root, get(READ_ONLY))
            .xml("PolicyName", "ReadOnlyAccess")
            .xml("PolicyId", "ANPAILL3HVNFSB6DCOWYQ")
            .xml("Path", "/")
            .xml("DefaultVersionId", "v123")
            .xml("IsAttachable", "true")
            .xml("CreateDate", "2015-02-06T18:39:48Z"),
        Case::ok("its one version", root, iam("ListPolicyVersions", &[("PolicyArn", READ_ONLY)]))
            .xml_count("VersionId", 1)
            .xml("VersionId", "v123")
            .xml("IsDefaultVersion", "true")
            .xml("CreateDate", "2025-01-23T12:37:06Z"),
        Case::ok(
            "its default document, URL-encoded",
            root,
            iam("GetPolicyVersion", &[("PolicyArn", READ_ONLY), ("VersionId", "v123")]),
        )
        .contains("<Document>%7B%0A%20%20%22Version%22%3A%20%222012-10-17%22")
        .contains("%22iam%3AGet%2A%22"),
        Case::error(
            "a version it does not have",
            root,
            iam("GetPolicyVersion", &[("PolicyArn", READ_ONLY), ("VersionId", "v1")]),
            404,
            "NoSuchEntity",
            format!("Policy {READ_ONLY} version v1 does not exist."),
        ),
        Case::ok("the role's", root, get(AGENT)).xml("DefaultVersionId", "v3").xml("AttachmentCount", "1"),
        Case::ok("the group's", root, get(SECRETS))
            .xml("PolicyId", "ANPAI3VG7CI5BIQZQ6G2E")
            .xml("AttachmentCount", "1"),
        Case::ok("a policy under a path", root, get("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"))
            .xml("Path", "/job-function/"),
        Case::error(
            "the path is part of the ARN",
            root,
            get("arn:aws:iam::aws:policy/ViewOnlyAccess"),
            404,
            "NoSuchEntity",
            "Policy arn:aws:iam::aws:policy/ViewOnlyAccess was not found.",
        ),
        Case::ok("counted", root, get(AUDIT)).xml("AttachmentCount", "1"),
        Case::ok("its entities", root, iam("ListEntitiesForPolicy", &[("PolicyArn", AUDIT)]))
            .xml("UserName", &user)
            .xml_count("RoleName", 0),
        Case::ok("the user's attachments", root, iam("ListAttachedUserPolicies", &[("UserName", &user)]))
            .xml("PolicyArn", AUDIT),
        Case::ok(
            "in the account's authorization details",
            root,
            iam("GetAccountAuthorizationDetails", &[("Filter.member.1", "AWSManagedPolicy")]),
        )
        .contains(format!("<Arn>{AGENT}</Arn>"))
        .contains(format!("<Arn>{AUDIT}</Arn>")),
        Case::ok(
            "a boundary from the catalogue",
            root,
            iam(
                "PutUserPermissionsBoundary",
                &[("UserName", &user), ("PermissionsBoundary", "arn:aws:iam::aws:policy/AmazonSNSReadOnlyAccess")],
            ),
        ),
        Case::ok("counted as one", root, get("arn:aws:iam::aws:policy/AmazonSNSReadOnlyAccess"))
            .xml("PermissionsBoundaryUsageCount", "1"),
        Case::ok("boundary removed", root, iam("DeleteUserPermissionsBoundary", &[("UserName", &user)])),
        Case::ok("detach", root, iam("DetachUserPolicy", &[("UserName", &user), ("PolicyArn", AUDIT)])),
        Case::ok("no longer counted", root, get(AUDIT)).xml("AttachmentCount", "0"),
        Case::ok(
            "a service-linked role",
            root,
            iam("CreateServiceLinkedRole", &[("AWSServiceName", "ecs.amazonaws.com")]),
        ),
        Case::ok(
            "holds its service's policy, as on AWS",
            root,
            iam("ListAttachedRolePolicies", &[("RoleName", "AWSServiceRoleForECS")]),
        )
        .xml("PolicyArn", "arn:aws:iam::aws:policy/aws-service-role/AmazonECSServiceRolePolicy"),
        Case::error(
            "AWS's policies stay AWS's",
            root,
            iam("DeletePolicy", &[("PolicyArn", READ_ONLY)]),
            400,
            "InvalidInput",
            format!("{READ_ONLY} is an AWS managed policy."),
        ),
    ]);
}

fn the_policy_that_is_not_attachable_is_refused_as_iam_does(server: &TestServer) {
    let root = &server.root;
    let user = unique("cat-unattachable");
    server.iam(root, "CreateUser", &[("UserName", &user)]).ok();
    let refused = format!("Policy {CONFIG_ROLE} does not exist or is not attachable.");
    server.run(&[
        Case::ok("it exists", root, iam("GetPolicy", &[("PolicyArn", CONFIG_ROLE)]))
            .xml("IsAttachable", "false")
            .xml("DefaultVersionId", "v42"),
        Case::ok(
            "and has a document",
            root,
            iam("GetPolicyVersion", &[("PolicyArn", CONFIG_ROLE), ("VersionId", "v42")]),
        ),
        Case::error(
            "attached",
            root,
            iam("AttachUserPolicy", &[("UserName", &user), ("PolicyArn", CONFIG_ROLE)]),
            404,
            "NoSuchEntity",
            &refused,
        ),
        Case::error(
            "made a boundary",
            root,
            iam("PutUserPermissionsBoundary", &[("UserName", &user), ("PermissionsBoundary", CONFIG_ROLE)]),
            404,
            "NoSuchEntity",
            &refused,
        ),
        Case::ok("nothing attached", root, iam("ListAttachedUserPolicies", &[("UserName", &user)]))
            .xml_count("PolicyArn", 0),
    ]);
}

/// Walks ListPolicies with `params`, `max_items` at a time; the ARNs listed, in order.
fn walk(server: &TestServer, params: &[(&str, &str)], max_items: &str) -> Vec<String> {
    let mut listed = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..2000 {
        let mut params = params.to_vec();
        params.push(("MaxItems", max_items));
        if let Some(marker) = &marker {
            params.push(("Marker", marker));
        }
        let page = server.iam(&server.root, "ListPolicies", &params).ok();
        let arns = page.xml_all("Arn");
        assert!(arns.len() <= max_items.parse().unwrap(), "{params:?}: a page of {}", arns.len());
        listed.extend(arns);
        if page.xml("IsTruncated") != "true" {
            return listed;
        }
        marker = Some(page.xml("Marker"));
    }
    panic!("ListPolicies with {params:?} never ended");
}

fn list_policies_pages_over_the_catalogue_with_scopes_and_filters(server: &TestServer) {
    let root = &server.root;
    let own = unique("cat-own");
    server.iam(root, "CreatePolicy", &[("PolicyName", &own), ("PolicyDocument", ALLOW_ALL)]).ok();
    let own_arn = format!("arn:aws:iam::{}:policy/{own}", server.account_id);
    let (user, bounded) = (unique("cat-lister"), unique("cat-bounded"));
    server.iam(root, "CreateUser", &[("UserName", &user)]).ok();
    server.iam(root, "CreateUser", &[("UserName", &bounded)]).ok();
    let attached = "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess";
    let boundary = "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess";
    server.iam(root, "AttachUserPolicy", &[("UserName", &user), ("PolicyArn", attached)]).ok();
    server.iam(root, "PutUserPermissionsBoundary", &[("UserName", &bounded), ("PermissionsBoundary", boundary)]).ok();

    let aws = walk(server, &[("Scope", "AWS")], "100");
    assert_eq!(aws.len(), CATALOGUE_SIZE, "every AWS managed policy, once");
    assert!(aws.windows(2).all(|pair| pair[0] < pair[1]), "by ARN, each once");
    assert!(aws.iter().all(|arn| arn.starts_with("arn:aws:iam::aws:policy/")));
    assert_eq!(walk(server, &[("Scope", "AWS")], "1000"), aws, "the same in larger pages");
    for (prefix, count) in
        [("/service-role/", 195), ("/aws-service-role/", 295), ("/job-function/", 7), ("/root-task/", 5)]
    {
        let under = walk(server, &[("Scope", "AWS"), ("PathPrefix", prefix)], "50");
        assert_eq!(under.len(), count, "under {prefix}");
        assert!(under.iter().all(|arn| arn.starts_with(&format!("arn:aws:iam::aws:policy{prefix}"))), "{prefix}");
    }

    let local = walk(server, &[("Scope", "Local")], "100");
    assert!(local.contains(&own_arn));
    assert!(local.iter().all(|arn| !arn.starts_with("arn:aws:iam::aws:")), "the account's only");
    let all = walk(server, &[], "100");
    assert_eq!(all.len(), local.len() + CATALOGUE_SIZE, "All is both");
    assert_eq!(all[..local.len()], local[..], "the account's first (their ARNs sort first)");
    assert_eq!(all[local.len()..], aws[..]);
    let all_by_7 = walk(server, &[("Scope", "All")], "7");
    assert_eq!(all_by_7, all, "a page may span the account's and AWS's");

    let only_attached = walk(server, &[("Scope", "AWS"), ("OnlyAttached", "true")], "100");
    assert!(only_attached.contains(&attached.to_owned()) && only_attached.contains(&boundary.to_owned()));
    let as_policies =
        walk(server, &[("Scope", "AWS"), ("OnlyAttached", "true"), ("PolicyUsageFilter", "PermissionsPolicy")], "100");
    assert!(as_policies.contains(&attached.to_owned()) && !as_policies.contains(&boundary.to_owned()));
    let as_boundaries = walk(
        server,
        &[("Scope", "AWS"), ("OnlyAttached", "true"), ("PolicyUsageFilter", "PermissionsBoundary")],
        "100",
    );
    assert!(as_boundaries.contains(&boundary.to_owned()) && !as_boundaries.contains(&attached.to_owned()));
    let page = server.iam(root, "ListPolicies", &[("Scope", "AWS"), ("OnlyAttached", "true")]).ok();
    assert!(
        page.xml_all("AttachmentCount")
            .iter()
            .zip(page.xml_all("PermissionsBoundaryUsageCount"))
            .all(|(attachments, boundaries)| attachments != "0" || boundaries != "0")
    );
    let first = server.iam(root, "ListPolicies", &[("Scope", "AWS"), ("MaxItems", "1")]).ok();
    assert_eq!(first.xml("IsTruncated"), "true");
    assert_eq!(first.xml("Arn"), aws[0]);
    let service_roles = server
        .iam(root, "ListPolicies", &[("Scope", "AWS"), ("PathPrefix", "/service-role/"), ("MaxItems", "1000")])
        .ok();
    let config_role = service_roles
        .body
        .split("<member>")
        .find(|member| member.contains(&format!("<Arn>{CONFIG_ROLE}</Arn>")))
        .unwrap();
    assert!(config_role.contains("<IsAttachable>false</IsAttachable>"), "listed, as not attachable: {config_role}");
}

fn an_attached_catalogue_policy_decides_requests(server: &TestServer) {
    let root = &server.root;
    let reader = unique("cat-reader");
    let key = server.user_with_policy(&reader, None);
    server.iam(root, "AttachUserPolicy", &[("UserName", &reader), ("PolicyArn", READ_ONLY)]).ok();
    let bounded = unique("cat-bounded-admin");
    let bounded_key = server.user_with_policy(&bounded, Some(ALLOW_ALL));
    server
        .iam(
            root,
            "PutUserPermissionsBoundary",
            &[("UserName", &bounded), ("PermissionsBoundary", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")],
        )
        .ok();
    let simulate = |action: &str| {
        iam(
            "SimulatePrincipalPolicy",
            &[("PolicySourceArn", &server.user_arn(&reader)), ("ActionNames.member.1", action)],
        )
    };
    server.run(&[
        Case::ok("ReadOnlyAccess allows iam:GetUser", &key, iam("GetUser", &[("UserName", &reader)]))
            .xml("UserName", &reader),
        Case::ok("and iam:ListPolicies", &key, iam("ListPolicies", &[("MaxItems", "1")])),
        Case::denied(
            "but not iam:CreateUser",
            &key,
            iam("CreateUser", &[("UserName", &unique("never"))]),
            "because no identity-based policy allows the iam:CreateUser action",
        ),
        Case::ok("simulated: allowed", root, simulate("iam:GetUser")).xml("EvalDecision", "allowed"),
        Case::ok("simulated: not allowed", root, simulate("iam:CreateUser")).xml("EvalDecision", "implicitDeny"),
        Case::ok(
            "the services it grants",
            root,
            iam(
                "ListPoliciesGrantingServiceAccess",
                &[("Arn", &server.user_arn(&reader)), ("ServiceNamespaces.member.1", "iam")],
            ),
        )
        .xml("PolicyArn", READ_ONLY)
        .xml("PolicyType", "MANAGED"),
        Case::denied(
            "a catalogue boundary bounds an administrator",
            &bounded_key,
            iam("GetUser", &[("UserName", &bounded)]),
            "iam:GetUser",
        ),
    ]);
}
