//! IAM's List operations over more entities than a page: `PathPrefix` and `Marker` walk every
//! entity under the prefix once, in key order (lowercase name), and none outside it.

use crate::support::{TestServer, unique};

crate::support::on_both_stores!(
    users_are_listed_page_by_page_under_a_path,
    roles_are_listed_page_by_page_under_a_path,
    instance_profiles_are_listed_page_by_page_with_their_roles
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
    let mut listed = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..20 {
        let mut params = vec![("PathPrefix", prefix), ("MaxItems", max_items)];
        if let Some(marker) = &marker {
            params.push(("Marker", marker));
        }
        let page = server.iam(&server.root, action, &params).ok();
        listed.extend(page.xml_all(element));
        if page.xml("IsTruncated") != "true" {
            return listed;
        }
        marker = Some(page.xml("Marker"));
    }
    panic!("{action} under {prefix} never ended");
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
