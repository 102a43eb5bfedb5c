//! Access Analyzer's policy generation over Homeport's audit trail, in process: what a user
//! was allowed (its own calls, and `iam:PassRole` with the service) becomes its policy and
//! nothing it was denied does; resources in detail or as `*`; jobs that fail say why; the
//! model's refusals; listing by page, client tokens and cancelling, on both stores.

use serde_json::{Value, json};

use crate::support::{Call, Key, Response, TestServer, access_analyzer, unique};

crate::support::on_both_stores!(
    what_a_user_was_allowed_becomes_its_policy,
    a_generation_without_use_or_trail_fails_saying_why,
    generations_are_listed_by_page_and_refused_as_the_model_says
);

/// An ISO 8601 time `days` before now.
fn days_ago(days: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    aws_protocol::sigv4::format_iso8601(i64::try_from(now).unwrap_or_default() - days * 86_400)
}

fn start(body: Value) -> Call {
    access_analyzer("PUT", "/policy/generation", body)
}

fn for_principal(arn: &str) -> Call {
    start(json!({"policyGenerationDetails": {"principalArn": arn}}))
}

fn rest(method: &'static str, path: String, query: &str) -> Call {
    Call::RestJson { service: "access-analyzer", method, path, query: query.to_owned(), body: None }
}

fn get(job: &str, query: &str) -> Call {
    rest("GET", format!("/policy/generation/{job}"), query)
}

impl TestServer {
    fn started(&self, key: &Key, call: &Call) -> String {
        let answer = self.call(key, call).ok().value();
        answer["jobId"].as_str().unwrap_or_default().to_owned()
    }

    fn generated(&self, job: &str, query: &str) -> Value {
        self.call(&self.root, &get(job, query)).ok().value()
    }
}

/// The statements of every generated document.
fn statements(answer: &Value) -> Vec<Value> {
    let policies = answer["generatedPolicyResult"]["generatedPolicies"].as_array().cloned().unwrap_or_default();
    policies
        .iter()
        .flat_map(|policy| {
            let document: Value = serde_json::from_str(policy["policy"].as_str().unwrap_or("{}")).unwrap_or_default();
            document["Statement"].as_array().cloned().unwrap_or_default()
        })
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

fn refused(response: Response, status: u16, code: &str) -> Response {
    assert_eq!((response.status, response.code().as_str()), (status, code), "{}", response.body);
    response
}

fn what_a_user_was_allowed_becomes_its_policy(server: &TestServer) {
    let root = &server.root;
    let (user, role, cluster) = (unique("generated"), unique("generated-task"), unique("generated"));
    let role_arn = format!("arn:aws:iam::{}:role/{role}", server.account_id);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    server.iam(root, "CreateRole", &[("RoleName", &role), ("AssumeRolePolicyDocument", trust)]).ok();
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecs:CreateCluster", "ecs:DescribeClusters", "ecs:RegisterTaskDefinition", "logs:CreateLogGroup"], "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": role_arn},
    ]})
    .to_string();
    let key = server.user_with_policy(&user, Some(&policy));
    let user_arn = format!("arn:aws:iam::{}:user/{user}", server.account_id);
    let cluster_arn =
        server.ecs(&key, "CreateCluster", &json!({"clusterName": cluster})).ok().value()["cluster"]["clusterArn"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    server.ecs(&key, "DescribeClusters", &json!({"clusters": [cluster]})).ok();
    let definition = json!({"family": unique("generated"), "taskRoleArn": role_arn,
        "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64}]});
    server.ecs(&key, "RegisterTaskDefinition", &definition).ok();
    let group = unique("/generated/");
    server.logs(&key, "CreateLogGroup", &json!({"logGroupName": group})).ok();
    // Denied: never part of what it needs.
    refused(server.logs(&key, "DescribeLogGroups", &json!({})), 403, "AccessDeniedException");

    let job = server.started(root, &for_principal(&user_arn));
    let answer = server.generated(&job, "includeResourcePlaceholders=true");
    assert_eq!(answer["jobDetails"]["status"], "SUCCEEDED", "{answer}");
    assert_eq!(answer["jobDetails"]["jobId"], job.as_str());
    let properties = &answer["generatedPolicyResult"]["properties"];
    assert_eq!(properties["principalArn"], user_arn.as_str());
    assert_eq!(properties["isComplete"], true, "the whole trail was read: {answer}");
    let trail = format!("arn:aws:cloudtrail:us-east-1:{}:trail/homeport", server.account_id);
    assert_eq!(
        properties["cloudTrailProperties"]["trailProperties"],
        json!([{"cloudTrailArn": trail, "allRegions": true}])
    );

    let generated = statements(&answer);
    let actions: Vec<String> = generated.iter().flat_map(|statement| strings(&statement["Action"])).collect();
    let mut sorted = actions.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "ecs:CreateCluster",
            "ecs:DescribeClusters",
            "ecs:RegisterTaskDefinition",
            "iam:PassRole",
            "logs:CreateLogGroup"
        ],
        "{answer}"
    );
    let of = |action: &str| {
        generated
            .iter()
            .find(|statement| strings(&statement["Action"]).iter().any(|a| a == action))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(strings(&of("ecs:CreateCluster")["Resource"]), [cluster_arn.as_str()], "{answer}");
    let log_group = format!("arn:aws:logs:us-east-1:{}:log-group:{group}", server.account_id);
    assert!(
        strings(&of("logs:CreateLogGroup")["Resource"]).iter().any(|resource| resource.starts_with(&log_group)),
        "{answer}"
    );
    let pass_role = of("iam:PassRole");
    assert_eq!(strings(&pass_role["Resource"]), [role_arn.as_str()]);
    assert_eq!(pass_role["Condition"], json!({"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}));
    for statement in &generated {
        assert_eq!(statement["Effect"], "Allow");
    }

    // Without the detail: the same actions, on any resource.
    let coarse = server.generated(&job, "");
    let resources: Vec<String> =
        statements(&coarse).iter().flat_map(|statement| strings(&statement["Resource"])).collect();
    assert!(resources.iter().all(|resource| resource == "*"), "{coarse}");
    let mut coarse_actions: Vec<String> =
        statements(&coarse).iter().flat_map(|statement| strings(&statement["Action"])).collect();
    coarse_actions.sort();
    assert_eq!(coarse_actions, sorted);

    // A window that starts before the trail recorded anything is not complete.
    let window = json!({
        "policyGenerationDetails": {"principalArn": user_arn},
        "cloudTrailDetails": {"trails": [{"cloudTrailArn": trail, "regions": ["us-east-1"]}],
            "accessRole": role_arn, "startTime": days_ago(30)},
    });
    let job = server.started(root, &start(window.clone()));
    let answer = server.generated(&job, "includeResourcePlaceholders=true");
    assert_eq!(answer["jobDetails"]["status"], "SUCCEEDED", "{answer}");
    let properties = &answer["generatedPolicyResult"]["properties"];
    assert_eq!(properties["isComplete"], false, "{answer}");
    assert_eq!(
        properties["cloudTrailProperties"]["trailProperties"],
        json!([{"cloudTrailArn": trail, "allRegions": false, "regions": ["us-east-1"]}])
    );
    assert_eq!(properties["cloudTrailProperties"]["startTime"], window["cloudTrailDetails"]["startTime"]);
    // Another region saw nothing: the job fails rather than answer an empty policy.
    let elsewhere = json!({
        "policyGenerationDetails": {"principalArn": user_arn},
        "cloudTrailDetails": {"trails": [{"cloudTrailArn": trail, "regions": ["eu-west-1"]}],
            "accessRole": role_arn, "startTime": days_ago(30)},
    });
    let failed = server.generated(&server.started(root, &start(elsewhere)), "");
    assert_eq!(failed["jobDetails"]["status"], "FAILED", "{failed}");
    assert_eq!(failed["jobDetails"]["jobError"]["code"], "RESOURCE_NOT_FOUND_ERROR");
    assert_eq!(failed["generatedPolicyResult"]["generatedPolicies"], json!([]));
}

fn a_generation_without_use_or_trail_fails_saying_why(server: &TestServer) {
    let root = &server.root;
    let idle = unique("idle");
    server.user_with_policy(&idle, None);
    let idle_arn = format!("arn:aws:iam::{}:user/{idle}", server.account_id);
    let answer = server.generated(&server.started(root, &for_principal(&idle_arn)), "");
    assert_eq!(answer["jobDetails"]["status"], "FAILED");
    assert_eq!(answer["jobDetails"]["jobError"]["code"], "RESOURCE_NOT_FOUND_ERROR");
    let message = answer["jobDetails"]["jobError"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&idle_arn) && message.contains("allowed nothing"), "{message}");
    assert_eq!(answer["generatedPolicyResult"]["generatedPolicies"], json!([]));

    let nobody = format!("arn:aws:iam::{}:role/{}", server.account_id, unique("nobody"));
    let answer = server.generated(&server.started(root, &for_principal(&nobody)), "");
    assert_eq!(answer["jobDetails"]["jobError"]["code"], "RESOURCE_NOT_FOUND_ERROR", "{answer}");

    let role = unique("access");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"access-analyzer.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    server.iam(root, "CreateRole", &[("RoleName", &role), ("AssumeRolePolicyDocument", trust)]).ok();
    let role_arn = format!("arn:aws:iam::{}:role/{role}", server.account_id);
    let other_trail = format!("arn:aws:cloudtrail:us-east-1:{}:trail/management", server.account_id);
    let with_trail = |trail: &str, access_role: &str| {
        start(json!({
            "policyGenerationDetails": {"principalArn": idle_arn},
            "cloudTrailDetails": {"trails": [{"cloudTrailArn": trail, "allRegions": true}],
                "accessRole": access_role, "startTime": days_ago(1)},
        }))
    };
    let answer = server.generated(&server.started(root, &with_trail(&other_trail, &role_arn)), "");
    assert_eq!(answer["jobDetails"]["jobError"]["code"], "RESOURCE_NOT_FOUND_ERROR");
    assert!(answer["jobDetails"]["jobError"]["message"].as_str().unwrap_or_default().contains("trail/homeport"));
    let trail = format!("arn:aws:cloudtrail:us-east-1:{}:trail/homeport", server.account_id);
    let missing_role = format!("arn:aws:iam::{}:role/{}", server.account_id, unique("missing"));
    let answer = server.generated(&server.started(root, &with_trail(&trail, &missing_role)), "");
    assert!(answer["jobDetails"]["jobError"]["message"].as_str().unwrap_or_default().contains("access role"));
}

fn generations_are_listed_by_page_and_refused_as_the_model_says(server: &TestServer) {
    let root = &server.root;
    let user = unique("listed");
    server.user_with_policy(&user, None);
    let arn = format!("arn:aws:iam::{}:user/{user}", server.account_id);
    let token = unique("token");
    let with_token = start(json!({"policyGenerationDetails": {"principalArn": arn}, "clientToken": token}));
    let first = server.started(root, &with_token);
    assert_eq!(server.started(root, &with_token), first, "a retry with the client token is the same job");
    let second = server.started(root, &for_principal(&arn));
    assert_ne!(first, second);

    let query = format!("principalArn={}&maxResults=1", arn.replace(':', "%3A").replace('/', "%2F"));
    let page = server.call(root, &rest("GET", "/policy/generation".to_owned(), &query)).ok().value();
    let listed = page["policyGenerations"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 1, "{page}");
    // Newest first (both started within the same second here: either may come first).
    let first_listed = listed[0]["jobId"].as_str().unwrap_or_default().to_owned();
    assert!(first_listed == first || first_listed == second, "{page}");
    assert_eq!(listed[0]["principalArn"], arn.as_str());
    assert_eq!(listed[0]["status"], "FAILED");
    assert!(listed[0]["startedOn"].as_str().is_some_and(|time| time.ends_with('Z')));
    let next = page["nextToken"].as_str().unwrap_or_default();
    assert!(!next.is_empty(), "{page}");
    let rest_page = server
        .call(root, &rest("GET", "/policy/generation".to_owned(), &format!("{query}&nextToken={next}")))
        .ok()
        .value();
    let other = if first_listed == first { &second } else { &first };
    assert_eq!(rest_page["policyGenerations"][0]["jobId"], other.as_str(), "{rest_page}");
    assert!(rest_page.get("nextToken").is_none(), "{rest_page}");

    // Cancelling a finished job changes nothing.
    server.call(root, &rest("PUT", format!("/policy/generation/{first}"), "")).ok();
    assert_eq!(server.generated(&first, "")["jobDetails"]["status"], "FAILED");

    let validation = |call: Call, field: &str| {
        let response = refused(server.call(root, &call), 400, "ValidationException");
        assert_eq!(response.value()["fieldList"][0]["name"], field, "{}", response.body);
    };
    validation(for_principal("arn:aws:iam::111122223333:group/g"), "principalArn");
    validation(start(json!({})), "policyGenerationDetails");
    let role_arn = format!("arn:aws:iam::{}:role/any", server.account_id);
    let window = |start_time: &str, end_time: &str| {
        start(json!({"policyGenerationDetails": {"principalArn": arn},
            "cloudTrailDetails": {"trails": [{"cloudTrailArn": "arn:aws:cloudtrail:us-east-1:1:trail/homeport"}],
                "accessRole": role_arn, "startTime": start_time, "endTime": end_time}}))
    };
    validation(window(&days_ago(1), &days_ago(2)), "startTime");
    validation(window(&days_ago(100), &days_ago(5)), "endTime");
    validation(window("not a time", &days_ago(5)), "startTime");
    validation(get(&first, "includeResourcePlaceholders=maybe"), "includeResourcePlaceholders");
    validation(rest("GET", "/policy/generation".to_owned(), "maxResults=0"), "maxResults");
    validation(rest("GET", "/policy/generation".to_owned(), "nextToken=nonsense"), "nextToken");
    let unknown = refused(server.call(root, &get("no-such-job", "")), 404, "ResourceNotFoundException");
    assert_eq!(unknown.value()["resourceId"], "no-such-job");
    refused(
        server.call(root, &rest("PUT", "/policy/generation/no-such-job".to_owned(), "")),
        404,
        "ResourceNotFoundException",
    );
}
