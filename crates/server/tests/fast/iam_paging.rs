//! IAM's List operations over more entities than a page: `PathPrefix` and `Marker` walk every
//! entity under the prefix once, in key order (lowercase name), and none outside it.

use crate::support::{TestServer, unique};

crate::support::on_both_stores!(
    users_are_listed_page_by_page_under_a_path,
    roles_are_listed_page_by_page_under_a_path,
    instance_profiles_are_listed_page_by_page_with_their_roles,
    policies_are_listed_page_by_page_under_a_path,
    a_policys_entities_are_listed_page_by_page,
    a_groups_members_are_listed_page_by_page
);

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Names (mixed case, so key order is not byte order) for entities under `/{base}/` and
/// `/{base}/deeper/`, and outside it under `/{base}x/` (a path sharing its first characters).
struct Layout {
    prefix: String,
    inside: Vec<(String, String)>,
    outside: Vec<(String, String)>,
}

fn layout(kind: &str) -> Layout {
    let base = unique(&format!("paging-{kind}-"));
    let name = |n: usize| if n % 2 == 0 { format!("{base}-E{n:02}") } else { format!("{base}-e{n:02}") };
    let prefix = format!("/{base}/");
    let mut inside: Vec<(String, String)> = (0..7).map(|n| (name(n), prefix.clone())).collect();
    inside.extend((7..10).map(|n| (name(n), format!("/{base}/deeper/"))));
    let outside = (10..13).map(|n| (name(n), format!("/{base}x/"))).collect();
    Layout { prefix, inside, outside }
}

/// Walks `action` under the layout's prefix, `max_items` at a time; the names listed, in order.
fn walk(server: &TestServer, action: &str, element: &str, prefix: &str, max_items: &str) -> Vec<String> {
    walk_with(server, action, element, &[("PathPrefix", prefix), ("MaxItems", max_items)])
}

/// Walks `action` with `params`, following its markers; the `element`s listed, in order.
fn walk_with(server: &TestServer, action: &str, element: &str, params: &[(&str, &str)]) -> Vec<String> {
    walk_all(server, action, &[element], params)
}

/// Walks `action` with `params`, following its markers; the `elements` listed, in the order
/// of `elements` on each page.
fn walk_all(server: &TestServer, action: &str, elements: &[&str], params: &[(&str, &str)]) -> Vec<String> {
    let mut listed = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..20 {
        let mut params = params.to_vec();
        if let Some(marker) = &marker {
            params.push(("Marker", marker));
        }
        let page = server.iam(&server.root, action, &params).ok();
        for element in elements {
            listed.extend(page.xml_all(element));
        }
        if page.xml("IsTruncated") != "true" {
            return listed;
        }
        marker = Some(page.xml("Marker"));
    }
    panic!("{action} with {params:?} never ended");
}

/// Checks every walk lists exactly the layout's entities inside the prefix, once each, by key.
fn check_walks(server: &TestServer, action: &str, element: &str, layout: &Layout) {
    let mut expected: Vec<String> = layout.inside.iter().map(|(name, _)| name.clone()).collect();
    expected.sort_by_key(|name| name.to_lowercase());
    for max_items in ["1", "3", "10", "100"] {
        assert_eq!(walk(server, action, element, &layout.prefix, max_items), expected, "{action} by {max_items}");
    }
    let deeper = format!("{}deeper/", layout.prefix);
    assert_eq!(walk(server, action, element, &deeper, "2"), expected[7..].to_vec(), "{action} under {deeper}");
}

fn users_are_listed_page_by_page_under_a_path(server: &TestServer) {
    let layout = layout("user");
    for (name, path) in layout.inside.iter().chain(&layout.outside) {
        server.iam(&server.root, "CreateUser", &[("UserName", name), ("Path", path)]).ok();
    }
    check_walks(server, "ListUsers", "UserName", &layout);
}

fn roles_are_listed_page_by_page_under_a_path(server: &TestServer) {
    let layout = layout("role");
    for (name, path) in layout.inside.iter().chain(&layout.outside) {
        let params = [("RoleName", name.as_str()), ("Path", path), ("AssumeRolePolicyDocument", TRUST)];
        server.iam(&server.root, "CreateRole", &params).ok();
    }
    check_walks(server, "ListRoles", "RoleName", &layout);
    let listed = server.iam(&server.root, "ListRoles", &[("PathPrefix", &layout.prefix), ("MaxItems", "1")]).ok();
    assert!(listed.body.contains("<AssumeRolePolicyDocument>%7B%22Version%22"), "{}", listed.body);
    assert_eq!(listed.xml("MaxSessionDuration"), "3600", "{}", listed.body);
}

fn instance_profiles_are_listed_page_by_page_with_their_roles(server: &TestServer) {
    let layout = layout("profile");
    for (name, path) in layout.inside.iter().chain(&layout.outside) {
        server.iam(&server.root, "CreateInstanceProfile", &[("InstanceProfileName", name), ("Path", path)]).ok();
    }
    check_walks(server, "ListInstanceProfiles", "InstanceProfileName", &layout);
    // One profile holds a role: its page shows it, the others show none.
    let role = unique("paging-profile-role");
    server.iam(&server.root, "CreateRole", &[("RoleName", &role), ("AssumeRolePolicyDocument", TRUST)]).ok();
    let holder = &layout.inside[3].0;
    server.iam(&server.root, "AddRoleToInstanceProfile", &[("InstanceProfileName", holder), ("RoleName", &role)]).ok();
    let listed = server.iam(&server.root, "ListInstanceProfiles", &[("PathPrefix", &layout.prefix)]).ok();
    assert_eq!(listed.xml_all("RoleName"), std::slice::from_ref(&role), "{}", listed.body);
    let held = server.iam(&server.root, "GetInstanceProfile", &[("InstanceProfileName", holder)]).ok();
    assert_eq!((held.xml("InstanceProfileName"), held.xml("RoleName")), (holder.clone(), role), "{}", held.body);
}

fn policies_are_listed_page_by_page_under_a_path(server: &TestServer) {
    let layout = layout("policy");
    let document =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    for (name, path) in layout.inside.iter().chain(&layout.outside) {
        let params = [("PolicyName", name.as_str()), ("Path", path), ("PolicyDocument", document)];
        server.iam(&server.root, "CreatePolicy", &params).ok();
    }
    // Markers are ARNs, ordered as the store orders text (byte order on SQLite, the
    // database's collation on PostgreSQL): every walk lists each policy once.
    let arn = |(name, path): &(String, String)| format!("arn:aws:iam::{}:policy{path}{name}", server.account_id);
    let sorted = |mut names: Vec<String>| {
        names.sort();
        names
    };
    let expected = sorted(layout.inside.iter().map(|(name, _)| name.clone()).collect());
    for max_items in ["1", "4", "100"] {
        for scope in ["All", "Local"] {
            let params = [("PathPrefix", layout.prefix.as_str()), ("MaxItems", max_items), ("Scope", scope)];
            let listed = walk_with(server, "ListPolicies", "PolicyName", &params);
            assert_eq!(sorted(listed), expected, "{scope} by {max_items}");
        }
    }
    // Only the attached ones, with their counts, when asked.
    let user = unique("paging-policy-user");
    server.iam(&server.root, "CreateUser", &[("UserName", &user)]).ok();
    for entry in [&layout.inside[2], &layout.inside[8]] {
        server.iam(&server.root, "AttachUserPolicy", &[("UserName", &user), ("PolicyArn", &arn(entry))]).ok();
    }
    let params = [("PathPrefix", layout.prefix.as_str()), ("MaxItems", "1"), ("OnlyAttached", "true")];
    let attached = sorted(vec![layout.inside[2].0.clone(), layout.inside[8].0.clone()]);
    assert_eq!(sorted(walk_with(server, "ListPolicies", "PolicyName", &params)), attached);
    let params = [
        ("PathPrefix", layout.prefix.as_str()),
        ("OnlyAttached", "true"),
        ("PolicyUsageFilter", "PermissionsBoundary"),
    ];
    assert!(walk_with(server, "ListPolicies", "PolicyName", &params).is_empty());
    let listed =
        server.iam(&server.root, "ListPolicies", &[("PathPrefix", &layout.prefix), ("OnlyAttached", "true")]).ok();
    assert_eq!(listed.xml_all("AttachmentCount"), ["1", "1"], "{}", listed.body);
}

fn a_policys_entities_are_listed_page_by_page(server: &TestServer) {
    let base = unique("paging-holders-");
    let document =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let created = server.iam(&server.root, "CreatePolicy", &[("PolicyName", &base), ("PolicyDocument", document)]).ok();
    let arn = created.xml("Arn");
    let mut expected = Vec::new();
    for (kind, count) in [("Group", 3), ("User", 4), ("Role", 3)] {
        for n in 0..count {
            let name = format!("{base}-{kind}-{n}");
            let path = if n == 0 { "/elsewhere/" } else { "/" };
            let name_param = format!("{kind}Name");
            let mut params = vec![(name_param.as_str(), name.as_str()), ("Path", path)];
            if kind == "Role" {
                params.push(("AssumeRolePolicyDocument", TRUST));
            }
            server.iam(&server.root, &format!("Create{kind}"), &params).ok();
            let attach = [(name_param.as_str(), name.as_str()), ("PolicyArn", arn.as_str())];
            server.iam(&server.root, &format!("Attach{kind}Policy"), &attach).ok();
            expected.push((name, path));
        }
    }
    let names = |under: &str| -> Vec<String> {
        expected.iter().filter(|(_, path)| path.starts_with(under)).map(|(name, _)| name.clone()).collect()
    };
    let elements = ["GroupName", "UserName", "RoleName"];
    for max_items in ["1", "2", "4", "100"] {
        let params = [("PolicyArn", arn.as_str()), ("MaxItems", max_items)];
        assert_eq!(walk_all(server, "ListEntitiesForPolicy", &elements, &params), names("/"), "by {max_items}");
    }
    let params = [("PolicyArn", arn.as_str()), ("MaxItems", "1"), ("PathPrefix", "/elsewhere/")];
    assert_eq!(walk_all(server, "ListEntitiesForPolicy", &elements, &params), names("/elsewhere/"));
    let params = [("PolicyArn", arn.as_str()), ("MaxItems", "2"), ("EntityFilter", "User")];
    let users: Vec<String> = names("/").into_iter().filter(|name| name.contains("-User-")).collect();
    assert_eq!(walk_all(server, "ListEntitiesForPolicy", &elements, &params), users);
    let params = [("PolicyArn", arn.as_str()), ("PolicyUsageFilter", "PermissionsBoundary")];
    assert!(walk_all(server, "ListEntitiesForPolicy", &elements, &params).is_empty());
}

fn a_groups_members_are_listed_page_by_page(server: &TestServer) {
    let group = unique("paging-group-");
    server.iam(&server.root, "CreateGroup", &[("GroupName", &group)]).ok();
    let mut members: Vec<String> =
        (0..5).map(|n| format!("{group}-{}{n}", if n % 2 == 0 { "M" } else { "m" })).collect();
    for user in &members {
        server.iam(&server.root, "CreateUser", &[("UserName", user)]).ok();
        server.iam(&server.root, "AddUserToGroup", &[("GroupName", &group), ("UserName", user)]).ok();
    }
    members.sort_by_key(|name| name.to_lowercase());
    for max_items in ["1", "2", "100"] {
        let params = [("GroupName", group.as_str()), ("MaxItems", max_items)];
        assert_eq!(walk_all(server, "GetGroup", &["UserName"], &params), members, "by {max_items}");
    }
}
