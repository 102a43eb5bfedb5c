//! IAM Access Analyzer's policy checks, policy generation and unused access analysis over
//! restJson1, end to end: the real binary, driven by
//! boto3's `accessanalyzer` client in one python process (`boto3_calls.py`), so the method,
//! path, query string, body, signature and error header are the SDK's own, and every answer
//! is checked against the service model botocore ships.
//!
//! Needs python3 with boto3; `.ci/run` installs it and CI fails without it.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "a test fails loudly on any surprise")]

use crate::common;

use common::{Server, boto3_available, fresh_dir, snake_case};
use serde_json::json;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

#[test]
fn access_analyzer_checks_answer_boto3() {
    if !boto3_available() {
        return;
    }
    let dir = fresh_dir("access-analyzer");
    let server = Server::start(&dir.join("data"), None);
    // Every Access Analyzer call sent, to check below that the tour covers every operation
    // (`wire_shapes.rs` leaves this service to this test).
    let toured = std::cell::RefCell::new(Vec::<String>::new());
    let tour = |calls: &[serde_json::Value]| {
        let names = calls.iter().filter(|call| call["service"] == "accessanalyzer");
        toured.borrow_mut().extend(names.map(|call| call["operation"].as_str().unwrap().to_owned()));
        server.boto3(calls)
    };
    let admin = r#"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let read = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::amzn-s3-demo-bucket","arn:aws:s3:::amzn-s3-demo-bucket/*"]}]}"#;
    let call = |operation: &str, params: serde_json::Value| json!({"service": "accessanalyzer", "operation": operation, "params": params});
    let answers = tour(&[
        call("validate_policy", json!({"policyDocument": admin, "policyType": "IDENTITY_POLICY"})),
        // `maxResults` and `nextToken` travel in the query string.
        call(
            "validate_policy",
            json!({"policyDocument": admin, "policyType": "IDENTITY_POLICY", "maxResults": 1, "nextToken": "1"}),
        ),
        call(
            "check_no_new_access",
            json!({"newPolicyDocument": admin, "existingPolicyDocument": read, "policyType": "IDENTITY_POLICY"}),
        ),
        call(
            "check_access_not_granted",
            json!({"policyDocument": read, "access": [{"actions": ["s3:DeleteBucket"]}], "policyType": "IDENTITY_POLICY"}),
        ),
        call("validate_policy", json!({"policyDocument": admin, "policyType": "SESSION_POLICY"}))
            .as_object()
            .map(|call| {
                let mut call = call.clone();
                call.insert("validate".to_owned(), json!(false));
                serde_json::Value::Object(call)
            })
            .unwrap(),
    ]);
    let response = |index: usize| answers[index].get("response").unwrap_or_else(|| panic!("{}", answers[index]));

    let findings = response(0)["findings"].as_array().unwrap();
    let codes: Vec<&str> = findings.iter().map(|finding| finding["issueCode"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "EMPTY_SID_VALUE",
            "PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE",
            "CREATE_SLR_WITH_STAR_IN_ACTION_AND_RESOURCE"
        ]
    );
    assert_eq!(findings[0]["locations"][0]["path"], json!([{"value": "Statement"}, {"index": 0}, {"value": "Sid"}]));
    assert_eq!(findings[0]["locations"][0]["span"]["start"], json!({"line": 1, "column": 44, "offset": 44}));
    let page = response(1);
    assert_eq!(page["findings"].as_array().unwrap().len(), 1);
    assert_eq!(page["findings"][0]["issueCode"], "PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE");
    assert_eq!(page["nextToken"], "2");

    assert_eq!(response(2)["result"], "FAIL");
    assert_eq!(
        response(2)["reasons"],
        json!([{"description": "New access in the statement with index: 0.", "statementIndex": 0}])
    );
    assert_eq!(response(3)["result"], "PASS");
    assert_eq!(
        response(3)["message"],
        "The policy document does not grant access to perform one or more of the listed actions."
    );

    // The error's code comes from `x-amzn-ErrorType`, its status and message from the answer.
    let error = &answers[4]["error"];
    assert_eq!((error["Code"].as_str(), error["Status"].as_u64()), (Some("ValidationException"), Some(400)), "{error}");
    assert!(error["Message"].as_str().unwrap().contains("policyType"), "{error}");

    // Policy generation: a user's one call becomes its policy, through boto3 end to end.
    let policy =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:ListClusters","Resource":"*"}]}"#;
    let iam = |operation: &str, params: serde_json::Value| json!({"service": "iam", "operation": operation, "params": params});
    let made = tour(&[
        iam("create_user", json!({"UserName": "generated"})),
        iam("put_user_policy", json!({"UserName": "generated", "PolicyName": "list", "PolicyDocument": policy})),
        iam("create_access_key", json!({"UserName": "generated"})),
    ]);
    let user_arn = made[0]["response"]["User"]["Arn"].as_str().unwrap().to_owned();
    let key = &made[2]["response"]["AccessKey"];
    let credentials = json!([key["AccessKeyId"], key["SecretAccessKey"], null]);
    let started = tour(&[
        json!({"service": "ecs", "operation": "list_clusters", "params": {}, "credentials": credentials}),
        call("start_policy_generation", json!({"policyGenerationDetails": {"principalArn": user_arn}})),
    ]);
    let job = started[1]["response"]["jobId"].as_str().unwrap_or_else(|| panic!("{}", started[1])).to_owned();
    let read = tour(&[
        call("get_generated_policy", json!({"jobId": job, "includeResourcePlaceholders": true})),
        call("list_policy_generations", json!({"principalArn": user_arn, "maxResults": 10})),
        call("cancel_policy_generation", json!({"jobId": job})),
    ]);
    let generated = read[0].get("response").unwrap_or_else(|| panic!("{}", read[0]));
    assert_eq!(generated["jobDetails"]["status"], "SUCCEEDED", "{generated}");
    let document: serde_json::Value =
        serde_json::from_str(generated["generatedPolicyResult"]["generatedPolicies"][0]["policy"].as_str().unwrap())
            .unwrap();
    assert_eq!(document["Statement"], json!([{"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}]));
    assert_eq!(read[1]["response"]["policyGenerations"][0]["jobId"], job.as_str(), "{}", read[1]);
    assert!(read[2].get("response").is_some(), "{}", read[2]);

    // Unused access: a user whose key was never used, and a role never used, both created
    // long ago (written back in time in the store: no API moves the clock); the generated
    // user (it listed clusters, and was allowed nothing else) has no finding.
    let made = tour(&[
        iam("create_user", json!({"UserName": "dormant"})),
        iam("create_access_key", json!({"UserName": "dormant"})),
        iam("create_role", json!({"RoleName": "dormant-role", "AssumeRolePolicyDocument": TRUST})),
    ]);
    let dormant_key = made[1]["response"]["AccessKey"]["AccessKeyId"].as_str().unwrap().to_owned();
    let role_arn = made[2]["response"]["Role"]["Arn"].as_str().unwrap().to_owned();
    let long_ago = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 200 * 86_400;
    let long_ago = i64::try_from(long_ago).unwrap();
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let store = store::Store::open(server.data_dir.join("homeport.db").to_str().unwrap()).await.unwrap();
        for sql in [
            "UPDATE users SET created_at = ? WHERE name_key IN ('dormant', 'generated')",
            "UPDATE roles SET created_at = ? WHERE name_key = 'dormant-role'",
            "UPDATE access_keys SET created_at = ? WHERE user_name_key IN ('dormant', 'generated')",
        ] {
            store.execute(sql, vec![store::Value::Int(long_ago)]).await.unwrap();
        }
    });
    let created = tour(&[call(
        "create_analyzer",
        json!({"analyzerName": "unused", "type": "ACCOUNT_UNUSED_ACCESS", "tags": {"team": "platform"},
            "configuration": {"unusedAccess": {"unusedAccessAge": 90}}}),
    )]);
    let analyzer = created[0]["response"]["arn"].as_str().unwrap_or_else(|| panic!("{}", created[0])).to_owned();
    let listed = tour(&[
        call("get_analyzer", json!({"analyzerName": "unused"})),
        call("list_analyzers", json!({"type": "ACCOUNT_UNUSED_ACCESS"})),
        call("list_findings_v2", json!({"analyzerArn": analyzer, "sort": {"attributeName": "findingType"}})),
        call("get_findings_statistics", json!({"analyzerArn": analyzer})),
        call(
            "update_analyzer",
            json!({"analyzerName": "unused", "configuration": {"unusedAccess": {"unusedAccessAge": 90}}}),
        ),
    ]);
    let response = |index: usize| listed[index].get("response").unwrap_or_else(|| panic!("{}", listed[index]));
    assert_eq!(response(0)["analyzer"]["configuration"], json!({"unusedAccess": {"unusedAccessAge": 90}}));
    assert_eq!(response(0)["analyzer"]["tags"], json!({"team": "platform"}));
    assert_eq!(response(1)["analyzers"][0]["arn"], analyzer.as_str());
    let findings = response(2)["findings"].as_array().unwrap().clone();
    let found: Vec<(&str, &str)> = findings
        .iter()
        .map(|finding| (finding["findingType"].as_str().unwrap(), finding["resource"].as_str().unwrap()))
        .collect();
    let dormant_arn = role_arn.replace(":role/dormant-role", ":user/dormant");
    assert_eq!(found, [("UnusedIAMRole", role_arn.as_str()), ("UnusedIAMUserAccessKey", dormant_arn.as_str())]);
    assert_eq!(
        response(3)["findingsStatistics"][0]["unusedAccessFindingsStatistics"]["totalActiveFindings"],
        2,
        "{}",
        response(3)
    );
    let details = tour(&[
        call("get_finding_v2", json!({"analyzerArn": analyzer, "id": findings[0]["id"]})),
        call("get_finding_v2", json!({"analyzerArn": analyzer, "id": findings[1]["id"], "maxResults": 1})),
        call("update_findings", json!({"analyzerArn": analyzer, "status": "ARCHIVED", "ids": [findings[0]["id"]]})),
        call("list_findings_v2", json!({"analyzerArn": analyzer, "filter": {"status": {"eq": ["ARCHIVED"]}}})),
        call("delete_analyzer", json!({"analyzerName": "unused"})),
    ]);
    let response = |index: usize| details[index].get("response").unwrap_or_else(|| panic!("{}", details[index]));
    assert_eq!(response(0)["findingDetails"], json!([{"unusedIamRoleDetails": {}}]));
    assert_eq!(response(1)["findingDetails"], json!([{"unusedIamUserAccessKeyDetails": {"accessKeyId": dormant_key}}]));
    assert_eq!(response(3)["findings"][0]["id"], findings[0]["id"]);
    assert!(details[4].get("response").is_some(), "{}", details[4]);

    let missing: Vec<&str> = server::services::OPERATIONS
        .iter()
        .filter(|operation| operation.service == "access-analyzer")
        .filter(|operation| !toured.borrow().contains(&snake_case(operation.name)))
        .map(|operation| operation.name)
        .collect();
    assert!(missing.is_empty(), "Access Analyzer operations without a shape check: {missing:?}");

    // `homeport iam unused-access` makes the account's analyzer, then changes its period.
    let unused_access = |days: &str| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_homeport"));
        command.args(["iam", "unused-access", "--days", days, "--output", "json"]);
        let output = server.as_root(&mut command).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let first = unused_access("30");
    assert!(first["analyzerArn"].as_str().unwrap().ends_with(":analyzer/homeport-unused-access"), "{first}");
    assert_eq!(first["unusedAccessAge"], 30);
    assert!(first["findings"].is_array(), "{first}");
    let second = unused_access("45");
    assert_eq!((&second["analyzerArn"], &second["unusedAccessAge"]), (&first["analyzerArn"], &json!(45)));

    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}
