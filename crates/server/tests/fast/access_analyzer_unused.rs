//! Access Analyzer's unused access analysis, in process: an `ACCOUNT_UNUSED_ACCESS` analyzer
//! (created once per account, its name taken once, tags and configuration kept), and the
//! findings it computes when read: an unused role, an unused access key, the services and
//! actions an active user was allowed and never used, nothing for a role in use or for
//! entities younger than the tracking period, the period's boundary to the hour; archiving,
//! statistics, filters and pages; the model's refusals; callers without permission; on both
//! stores.
//!
//! Time cannot be moved through the API: a case writes the creation and last use of its own
//! users, roles and keys back in time in the store (`TestServer::rewrite_history`). Only the
//! first case creates an analyzer, so the account's one analyzer is its own.

use serde_json::{Value, json};
use store::Value as Sql;

use crate::support::{Call, Key, Response, TestServer, access_analyzer, unique};

crate::support::on_both_stores!(
    unused_roles_keys_and_permissions_are_found_as_access_analyzer_finds_them,
    bad_input_is_refused_as_the_model_says,
    callers_without_permission_are_refused_on_the_analyzer
);

const DAY: i64 = 86_400;

fn now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    i64::try_from(now).unwrap_or_default()
}

fn iso(seconds: i64) -> String {
    aws_protocol::sigv4::format_iso8601(seconds)
}

fn rest(method: &'static str, path: &str, query: &str) -> Call {
    Call::RestJson { service: "access-analyzer", method, path: path.to_owned(), query: query.to_owned(), body: None }
}

/// A query-string value, percent-encoded.
fn encoded(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn list_findings(body: Value) -> Call {
    access_analyzer("POST", "/findingv2", body)
}

fn get_finding(analyzer: &str, id: &str, extra: &str) -> Call {
    rest("GET", &format!("/findingv2/{id}"), &format!("analyzerArn={}{extra}", encoded(analyzer)))
}

fn refused(response: Response, status: u16, code: &str) -> Response {
    assert_eq!((response.status, response.code().as_str()), (status, code), "{}", response.body);
    response
}

/// The `fieldList` member a `ValidationException` names.
fn invalid_member(response: Response) -> String {
    let response = refused(response, 400, "ValidationException");
    response.value()["fieldList"][0]["name"].as_str().unwrap_or_default().to_owned()
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

impl TestServer {
    /// Creates a role (with an inline policy when given): its unique id.
    fn role_with(&self, name: &str, policy: Option<&str>) -> String {
        let created =
            self.iam(&self.root, "CreateRole", &[("RoleName", name), ("AssumeRolePolicyDocument", TRUST)]).ok();
        if let Some(policy) = policy {
            self.iam(
                &self.root,
                "PutRolePolicy",
                &[("RoleName", name), ("PolicyName", "p"), ("PolicyDocument", policy)],
            )
            .ok();
        }
        created.xml("RoleId")
    }

    fn iam_arn(&self, noun: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:{noun}/{name}", self.account_id)
    }

    /// Moves the creation of the user or role `name` (and of `keys`) `days` back.
    fn created_days_ago(&self, table: &str, name: &str, days: i64, keys: &[&Key]) {
        let at = Sql::Int(now() - days * DAY);
        let entity = format!("UPDATE {table} SET created_at = ? WHERE account_id = ? AND name_key = ?");
        let mut statements =
            vec![(entity.as_str(), vec![at.clone(), self.account_id.as_str().into(), name.to_lowercase().into()])];
        for key in keys {
            statements.push((
                "UPDATE access_keys SET created_at = ? WHERE access_key_id = ?",
                vec![at.clone(), key.id.as_str().into()],
            ));
        }
        self.rewrite_history(&statements);
    }

    /// Records the role `name` as last used at `at` (seconds).
    fn role_last_used(&self, name: &str, at: i64) {
        self.rewrite_history(&[(
            "UPDATE roles SET last_used_at = ?, last_used_region = 'us-east-1' WHERE account_id = ? AND name_key = ?",
            vec![Sql::Int(at), self.account_id.as_str().into(), name.to_lowercase().into()],
        )]);
    }

    /// Records in `iam_usage` that the principal `id` was allowed `action` at `at`.
    fn used_at(&self, id: &str, action: &str, at: i64) {
        self.rewrite_history(&[(
            "INSERT INTO iam_usage (account_id, principal_id, hour, action, resource, passed_to, region, allowed,
                                    denied, first_time, last_time)
             VALUES (?, ?, ?, ?, '*', '', 'us-east-1', 1, 0, ?, ?)",
            vec![
                self.account_id.as_str().into(),
                id.into(),
                Sql::Int(at - at.rem_euclid(3_600)),
                action.into(),
                Sql::Int(at),
                Sql::Int(at),
            ],
        )]);
    }

    /// The analyzer's findings about `resources` (every one: no page is left unread).
    fn findings_of(&self, analyzer: &str, resources: &[&str]) -> Vec<Value> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"analyzerArn": analyzer, "filter": {"resource": {"eq": resources}}, "maxResults": 2});
            if let Some(token) = &token {
                body["nextToken"] = json!(token);
            }
            let page = self.call(&self.root, &list_findings(body)).ok().value();
            found.extend(page["findings"].as_array().cloned().unwrap_or_default());
            match page["nextToken"].as_str() {
                Some(next) => token = Some(next.to_owned()),
                None => return found,
            }
        }
    }
}

/// `(resource name, finding type)` of each finding, sorted.
fn kinds(findings: &[Value]) -> Vec<(String, String)> {
    let mut kinds: Vec<(String, String)> = findings
        .iter()
        .map(|finding| {
            let resource = finding["resource"].as_str().unwrap_or_default();
            let name = resource.rsplit('/').next().unwrap_or_default().to_owned();
            (name, finding["findingType"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    kinds.sort();
    kinds
}

fn finding_of<'a>(findings: &'a [Value], resource: &str, kind: &str) -> &'a Value {
    findings
        .iter()
        .find(|finding| finding["resource"] == resource && finding["findingType"] == kind)
        .unwrap_or_else(|| panic!("no {kind} finding about {resource} in {findings:?}"))
}

fn unused_roles_keys_and_permissions_are_found_as_access_analyzer_finds_them(server: &TestServer) {
    let root = &server.root;
    let now = now();

    // The analyzer: one per account, its name taken once, a retry with its token answered.
    let name = unique("unused-access");
    let create = |name: &str, token: &str| {
        access_analyzer(
            "PUT",
            "/analyzer",
            json!({"analyzerName": name, "type": "ACCOUNT_UNUSED_ACCESS", "clientToken": token,
                "tags": {"team": "platform"}, "configuration": {"unusedAccess": {"unusedAccessAge": 90}}}),
        )
    };
    let analyzer =
        server.call(root, &create(&name, "token-1")).ok().value()["arn"].as_str().unwrap_or_default().to_owned();
    assert_eq!(analyzer, format!("arn:aws:access-analyzer:us-east-1:{}:analyzer/{name}", server.account_id));
    assert_eq!(server.call(root, &create(&name, "token-1")).ok().value()["arn"], analyzer.as_str(), "a retry");
    let taken = refused(server.call(root, &create(&name, "token-2")), 409, "ConflictException");
    assert_eq!(
        (taken.value()["resourceId"].as_str(), taken.value()["resourceType"].as_str()),
        (Some(name.as_str()), Some("Analyzer"))
    );
    refused(server.call(root, &create(&unique("second"), "token-3")), 402, "ServiceQuotaExceededException");
    let got = server.call(root, &rest("GET", &format!("/analyzer/{name}"), "")).ok().value();
    let summary = &got["analyzer"];
    assert_eq!(
        (summary["arn"].as_str(), summary["type"].as_str()),
        (Some(analyzer.as_str()), Some("ACCOUNT_UNUSED_ACCESS"))
    );
    assert_eq!(summary["status"], "ACTIVE");
    assert_eq!(summary["tags"], json!({"team": "platform"}));
    assert_eq!(summary["configuration"], json!({"unusedAccess": {"unusedAccessAge": 90}}));
    let listed = server.call(root, &rest("GET", "/analyzer", "type=ACCOUNT_UNUSED_ACCESS")).ok().value();
    assert_eq!(listed["analyzers"].as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed["analyzers"][0]["name"], name.as_str());
    assert!(listed["analyzers"][0].get("configuration").is_none(), "ListAnalyzers omits it");
    let external = server.call(root, &rest("GET", "/analyzer", "type=ACCOUNT")).ok().value();
    assert_eq!(external["analyzers"], json!([]));
    refused(
        server.call(root, &rest("GET", &format!("/analyzer/{}", name.to_uppercase()), "")),
        404,
        "ResourceNotFoundException",
    );

    // A user whose key was never used.
    let idle = unique("idle-key");
    let idle_key = server.user_with_policy(&idle, None);
    server.created_days_ago("users", &idle, 120, &[&idle_key]);
    // A user that uses ECS and was allowed CloudWatch Logs and SSM besides.
    let worker = unique("worker");
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:ListClusters","logs:CreateLogGroup","logs:DescribeLogGroups","ssm:DescribeActivations"],"Resource":"*"}]}"#;
    let worker_key = server.user_with_policy(&worker, Some(policy));
    server.ecs(&worker_key, "ListClusters", &json!({})).ok();
    server.created_days_ago("users", &worker, 120, &[&worker_key]);
    // Roles: never used; used ten days ago for all it may do; used just before and just
    // after the period's start; and one younger than the period.
    let unused_role = unique("unused-role");
    server.role_with(&unused_role, None);
    server.created_days_ago("roles", &unused_role, 120, &[]);
    let used_role = unique("used-role");
    let list_clusters =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:ListClusters","Resource":"*"}]}"#;
    let used_role_id = server.role_with(&used_role, Some(list_clusters));
    server.created_days_ago("roles", &used_role, 120, &[]);
    server.role_last_used(&used_role, now - 10 * DAY);
    server.used_at(&used_role_id, "ecs:ListClusters", now - 10 * DAY);
    let (just_unused, just_used, young) = (unique("just-unused"), unique("just-used"), unique("young"));
    for (role, last_used) in [(&just_unused, now - 90 * DAY - 3_600), (&just_used, now - 90 * DAY + 3_600)] {
        server.role_with(role, None);
        server.created_days_ago("roles", role, 120, &[]);
        server.role_last_used(role, last_used);
    }
    server.role_with(&young, None);
    server.created_days_ago("roles", &young, 89, &[]);
    let young_key_owner = unique("young-key");
    // A user of 120 days whose key is new.
    server.user_with_policy(&young_key_owner, None);
    server.created_days_ago("users", &young_key_owner, 120, &[]);

    let resources = [
        server.iam_arn("user", &idle),
        server.iam_arn("user", &worker),
        server.iam_arn("role", &unused_role),
        server.iam_arn("role", &used_role),
        server.iam_arn("role", &just_unused),
        server.iam_arn("role", &just_used),
        server.iam_arn("role", &young),
        server.iam_arn("user", &young_key_owner),
    ];
    let resources: Vec<&str> = resources.iter().map(String::as_str).collect();
    let findings = server.findings_of(&analyzer, &resources);
    assert_eq!(
        kinds(&findings),
        [
            (idle.clone(), "UnusedIAMUserAccessKey".to_owned()),
            (just_unused.clone(), "UnusedIAMRole".to_owned()),
            (unused_role.clone(), "UnusedIAMRole".to_owned()),
            (worker.clone(), "UnusedPermission".to_owned()),
        ],
        "{findings:?}"
    );
    for finding in &findings {
        assert_eq!(finding["status"], "ACTIVE");
        assert_eq!(finding["resourceOwnerAccount"], server.account_id.as_str());
        let expected_type = if finding["resource"].as_str().unwrap_or_default().contains(":role/") {
            "AWS::IAM::Role"
        } else {
            "AWS::IAM::User"
        };
        assert_eq!(finding["resourceType"], expected_type);
        for time in ["createdAt", "updatedAt", "analyzedAt"] {
            assert!(finding[time].as_str().is_some_and(|text| text.ends_with('Z')), "{time}: {finding}");
        }
    }
    let ids = |findings: &[Value]| {
        findings.iter().map(|f| f["id"].as_str().unwrap_or_default().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&server.findings_of(&analyzer, &resources)), ids(&findings), "ids are the same at every read");

    // Each finding's details.
    let details = |resource: &str, kind: &str, extra: &str| {
        let id = finding_of(&findings, resource, kind)["id"].as_str().unwrap_or_default().to_owned();
        server.call(root, &get_finding(&analyzer, &id, extra)).ok().value()
    };
    let key = details(&server.iam_arn("user", &idle), "UnusedIAMUserAccessKey", "");
    assert_eq!(key["findingDetails"], json!([{"unusedIamUserAccessKeyDetails": {"accessKeyId": idle_key.id}}]));
    assert_eq!(key["resource"], server.iam_arn("user", &idle).as_str());
    let role = details(&server.iam_arn("role", &unused_role), "UnusedIAMRole", "");
    assert_eq!(role["findingDetails"], json!([{"unusedIamRoleDetails": {}}]));
    let edge = details(&server.iam_arn("role", &just_unused), "UnusedIAMRole", "");
    assert_eq!(
        edge["findingDetails"],
        json!([{"unusedIamRoleDetails": {"lastAccessed": iso(now - 90 * DAY - 3_600)}}])
    );
    // The worker's: one detail per service, a page at a time.
    let first = details(&server.iam_arn("user", &worker), "UnusedPermission", "&maxResults=1");
    assert_eq!(
        first["findingDetails"],
        json!([{"unusedPermissionDetails": {"serviceNamespace": "logs",
            "actions": [{"action": "CreateLogGroup"}, {"action": "DescribeLogGroups"}]}}]),
        "{first}"
    );
    assert_eq!(first["nextToken"], "1");
    let second = details(&server.iam_arn("user", &worker), "UnusedPermission", "&maxResults=1&nextToken=1");
    assert_eq!(
        second["findingDetails"],
        json!([{"unusedPermissionDetails": {"serviceNamespace": "ssm", "actions": [{"action": "DescribeActivations"}]}}])
    );
    assert!(second.get("nextToken").is_none(), "{second}");
    let whole = details(&server.iam_arn("user", &worker), "UnusedPermission", "");
    assert_eq!(whole["findingDetails"].as_array().map(Vec::len), Some(2), "without maxResults, every detail");
    refused(
        server.call(root, &get_finding(&analyzer, "00000000-0000-8000-a000-000000000000", "")),
        404,
        "ResourceNotFoundException",
    );

    // Archived by resource, listed by status, counted, and active again by id.
    let unused_role_arn = server.iam_arn("role", &unused_role);
    let update = |body: Value| access_analyzer("PUT", "/finding", merged(json!({"analyzerArn": analyzer}), body));
    server.call(root, &update(json!({"status": "ARCHIVED", "resourceArn": unused_role_arn}))).ok();
    let archived = server
        .call(root, &list_findings(json!({"analyzerArn": analyzer, "filter": {"status": {"eq": ["ARCHIVED"]}}})))
        .ok()
        .value();
    assert_eq!(
        kinds(archived["findings"].as_array().map(Vec::as_slice).unwrap_or_default()),
        [(unused_role.clone(), "UnusedIAMRole".to_owned())]
    );
    let archived_id = archived["findings"][0]["id"].as_str().unwrap_or_default().to_owned();
    let statistics = server
        .call(root, &access_analyzer("POST", "/analyzer/findings/statistics", json!({"analyzerArn": analyzer})))
        .ok()
        .value();
    let unused = &statistics["findingsStatistics"][0]["unusedAccessFindingsStatistics"];
    assert_eq!(unused["totalActiveFindings"], 3, "{statistics}");
    assert_eq!(unused["totalArchivedFindings"], 1);
    assert_eq!(
        unused["unusedAccessTypeStatistics"],
        json!([{"unusedAccessType": "UnusedIAMRole", "total": 1}, {"unusedAccessType": "UnusedIAMUserAccessKey", "total": 1},
            {"unusedAccessType": "UnusedPermission", "total": 1}])
    );
    server.call(root, &update(json!({"status": "ACTIVE", "ids": [archived_id]}))).ok();
    let active = server.findings_of(&analyzer, &[&unused_role_arn]);
    assert_eq!(active[0]["status"], "ACTIVE");
    refused(
        server.call(root, &update(json!({"status": "ARCHIVED", "ids": ["no-such-finding"]}))),
        404,
        "ResourceNotFoundException",
    );
    let used_role_arn = server.iam_arn("role", &used_role);
    refused(
        server.call(root, &update(json!({"status": "ARCHIVED", "resourceArn": used_role_arn}))),
        404,
        "ResourceNotFoundException",
    );

    // A longer period: the edge role was used within it, and nothing is 120 days old.
    let configure = |days: i64| {
        access_analyzer(
            "PUT",
            &format!("/analyzer/{name}"),
            json!({"configuration": {"unusedAccess": {"unusedAccessAge": days}}}),
        )
    };
    let updated = server.call(root, &configure(100)).ok().value();
    assert_eq!(updated["configuration"], json!({"unusedAccess": {"unusedAccessAge": 100}}));
    assert_eq!(
        kinds(&server.findings_of(&analyzer, &resources)),
        [
            (idle.clone(), "UnusedIAMUserAccessKey".to_owned()),
            (unused_role.clone(), "UnusedIAMRole".to_owned()),
            (worker.clone(), "UnusedPermission".to_owned()),
        ]
    );
    server.call(root, &configure(365)).ok();
    assert_eq!(server.findings_of(&analyzer, &resources), Vec::<Value>::new(), "nothing has existed for a year");
    // An analysis rule: a role tagged as the rule says is not analyzed.
    server
        .iam(
            root,
            "TagRole",
            &[("RoleName", &unused_role), ("Tags.member.1.Key", "Lifecycle"), ("Tags.member.1.Value", "dormant")],
        )
        .ok();
    let rule = json!({"configuration": {"unusedAccess": {"unusedAccessAge": 90,
        "analysisRule": {"exclusions": [{"resourceTags": [{"lifecycle": "dormant"}]}]}}}});
    let ruled = server.call(root, &access_analyzer("PUT", &format!("/analyzer/{name}"), rule.clone())).ok().value();
    assert_eq!(ruled, rule);
    let excluded = kinds(&server.findings_of(&analyzer, &resources));
    assert!(!excluded.iter().any(|(resource, _)| *resource == unused_role), "{excluded:?}");
    assert_eq!(excluded.len(), 3, "{excluded:?}");
    server.call(root, &configure(90)).ok();
    assert_eq!(ids(&server.findings_of(&analyzer, &resources)), ids(&findings), "the same findings again");

    // Deleted: its findings with it, and the account may create another.
    server.call(root, &rest("DELETE", &format!("/analyzer/{name}"), "clientToken=delete-1")).ok();
    refused(server.call(root, &rest("GET", &format!("/analyzer/{name}"), "")), 404, "ResourceNotFoundException");
    refused(server.call(root, &list_findings(json!({"analyzerArn": analyzer}))), 404, "ResourceNotFoundException");
    refused(server.call(root, &rest("DELETE", &format!("/analyzer/{name}"), "")), 404, "ResourceNotFoundException");
    let again = unique("again");
    server.call(root, &create(&again, "token-4")).ok();
    server.call(root, &rest("DELETE", &format!("/analyzer/{again}"), "")).ok();
}

fn merged(mut base: Value, extra: Value) -> Value {
    for (key, value) in extra.as_object().into_iter().flatten() {
        base[key] = value.clone();
    }
    base
}

fn bad_input_is_refused_as_the_model_says(server: &TestServer) {
    let root = &server.root;
    let create = |body: Value| access_analyzer("PUT", "/analyzer", body);
    let unused = |extra: Value| {
        create(merged(json!({"analyzerName": unique("refused"), "type": "ACCOUNT_UNUSED_ACCESS"}), extra))
    };
    // Other types: not what Homeport analyzes.
    for kind in ["ACCOUNT", "ORGANIZATION", "ORGANIZATION_UNUSED_ACCESS", "ACCOUNT_INTERNAL_ACCESS"] {
        let response =
            refused(server.call(root, &create(json!({"analyzerName": "a", "type": kind}))), 400, "ValidationException");
        assert_eq!(response.value()["reason"], "notSupported", "{kind}: {}", response.body);
    }
    for (body, member) in [
        (json!({"analyzerName": "a", "type": "EVERYTHING"}), "type"),
        (json!({"analyzerName": "a"}), "type"),
        (json!({"type": "ACCOUNT_UNUSED_ACCESS"}), "analyzerName"),
        (json!({"analyzerName": "9lives", "type": "ACCOUNT_UNUSED_ACCESS"}), "analyzerName"),
    ] {
        assert_eq!(invalid_member(server.call(root, &create(body.clone()))), member, "{body}");
    }
    for (extra, member) in [
        (json!({"configuration": {"unusedAccess": {"unusedAccessAge": 0}}}), "unusedAccessAge"),
        (json!({"configuration": {"unusedAccess": {"unusedAccessAge": 366}}}), "unusedAccessAge"),
        (json!({"configuration": {"internalAccess": {}}}), "configuration"),
        (
            json!({"configuration": {"unusedAccess": {"analysisRule": {"exclusions": [{"accountIds": ["111122223333"]}]}}}}),
            "accountIds",
        ),
        (json!({"archiveRules": [{"ruleName": "r", "filter": {"status": {"eq": ["ACTIVE"]}}}]}), "archiveRules"),
        (json!({"tags": {"aws:owner": "me"}}), "tags"),
    ] {
        assert_eq!(invalid_member(server.call(root, &unused(extra.clone()))), member, "{extra}");
    }
    // Findings: filters and sorts the model and the findings allow, bounds, names.
    let nobody = format!("arn:aws:access-analyzer:us-east-1:{}:analyzer/{}", server.account_id, unique("none"));
    let list = |extra: Value| list_findings(merged(json!({"analyzerArn": nobody}), extra));
    for (extra, member) in [
        (json!({"filter": {"isPublic": {"eq": ["true"]}}}), "filter"),
        (json!({"filter": {"status": {}}}), "filter"),
        (json!({"filter": {"status": {"eq": vec!["ACTIVE"; 21]}}}), "filter.status.eq"),
        (json!({"sort": {"attributeName": "principal"}}), "attributeName"),
        (json!({"sort": {"attributeName": "id", "orderBy": "UP"}}), "orderBy"),
        (json!({"maxResults": 0}), "maxResults"),
        (json!({"analyzerArn": "arn:aws:iam::1:role/r"}), "analyzerArn"),
    ] {
        assert_eq!(invalid_member(server.call(root, &list(extra.clone()))), member, "{extra}");
    }
    refused(
        server.call(root, &list(json!({"filter": {"status": {"eq": ["ACTIVE"]}}}))),
        404,
        "ResourceNotFoundException",
    );
    assert_eq!(invalid_member(server.call(root, &list_findings(json!({})))), "analyzerArn");
    assert_eq!(invalid_member(server.call(root, &rest("GET", "/findingv2/x", ""))), "analyzerArn");
    refused(server.call(root, &get_finding(&nobody, "x", "")), 404, "ResourceNotFoundException");
    let update = |body: Value| access_analyzer("PUT", "/finding", merged(json!({"analyzerArn": nobody}), body));
    for (body, member) in [
        (json!({"status": "RESOLVED", "ids": ["x"]}), "status"),
        (json!({"status": "ARCHIVED"}), "ids"),
        (json!({"status": "ARCHIVED", "ids": ["x"], "resourceArn": "arn:aws:iam::1:role/r"}), "ids"),
        (json!({"status": "ARCHIVED", "resourceArn": "role/r"}), "resourceArn"),
    ] {
        assert_eq!(invalid_member(server.call(root, &update(body.clone()))), member, "{body}");
    }
    assert_eq!(invalid_member(server.call(root, &rest("GET", "/analyzer", "type=SOMETHING"))), "type");
    assert_eq!(invalid_member(server.call(root, &rest("GET", "/analyzer", "maxResults=0"))), "maxResults");
    assert_eq!(invalid_member(server.call(root, &rest("GET", "/analyzer/9lives", ""))), "analyzerName");
    refused(
        server.call(root, &rest("DELETE", &format!("/analyzer/{}", unique("none")), "")),
        404,
        "ResourceNotFoundException",
    );
    refused(
        server.call(root, &access_analyzer("PUT", &format!("/analyzer/{}", unique("none")), json!({}))),
        404,
        "ResourceNotFoundException",
    );
}

fn callers_without_permission_are_refused_on_the_analyzer(server: &TestServer) {
    let analyzer = |name: &str| format!("arn:aws:access-analyzer:us-east-1:{}:analyzer/{name}", server.account_id);
    let nobody = server.nobody();
    let refusal = |response: Response, arn: &str| {
        let response = refused(response, 403, "AccessDeniedException");
        assert!(response.message().contains(arn), "{}", response.body);
    };
    let name = unique("forbidden");
    let create = access_analyzer("PUT", "/analyzer", json!({"analyzerName": name, "type": "ACCOUNT_UNUSED_ACCESS"}));
    refusal(server.call(nobody, &create), &analyzer(&name));
    refusal(server.call(nobody, &rest("GET", &format!("/analyzer/{name}"), "")), &analyzer(&name));
    refusal(server.call(nobody, &rest("GET", "/analyzer", "")), "*");
    refusal(server.call(nobody, &list_findings(json!({"analyzerArn": analyzer(&name)}))), &analyzer(&name));
    refusal(server.call(nobody, &get_finding(&analyzer(&name), "x", "")), &analyzer(&name));

    // Allowed on one analyzer: refused on another, on that one's ARN.
    let reader = unique("reader");
    let mine = analyzer(&unique("mine"));
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["access-analyzer:ListFindings", "access-analyzer:GetFinding"], "Resource": mine}]})
    .to_string();
    let key = server.user_with_policy(&reader, Some(&policy));
    let theirs = analyzer(&unique("theirs"));
    refusal(server.call(&key, &list_findings(json!({"analyzerArn": theirs}))), &theirs);
    refusal(server.call(&key, &get_finding(&theirs, "x", "")), &theirs);
    // On its own, the request goes through to the analyzer, which does not exist.
    refused(server.call(&key, &list_findings(json!({"analyzerArn": mine}))), 404, "ResourceNotFoundException");
}
