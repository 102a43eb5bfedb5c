//! IAM Access Analyzer over restJson1: ValidatePolicy's findings (codes, types, paths and
//! spans, AWS's documented example among them), CheckNoNewAccess and CheckAccessNotGranted
//! passing and failing (AWS's documented examples among them), refused input, unknown routes,
//! and the caller without permission and the unsigned request refused, on both stores.

use serde_json::{Value, json};

use crate::support::{Call, Case, Key, TestServer, access_analyzer, on_both_stores, unique};

on_both_stores!(
    validate_policy_finds_what_access_analyzer_finds,
    validate_policy_pages_and_refuses_bad_input,
    custom_checks_pass_only_what_is_proven,
    routing_and_refusals_answer_in_rest_json
);

fn validate(document: &str, policy_type: &str) -> Call {
    access_analyzer("POST", "/policy/validation", json!({"policyDocument": document, "policyType": policy_type}))
}

fn with_query(call: Call, query: &str) -> Call {
    match call {
        Call::RestJson { service, method, path, body, .. } => {
            Call::RestJson { service, method, path, query: query.to_owned(), body }
        }
        other => other,
    }
}

/// The trust policy of AWS's `validate-policy` example, as its file holds it.
const COGNITO_TRUST: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "",
            "Effect": "Allow",
            "Principal": {
                "Federated": "cognito-identity.amazonaws.com"
            },
            "Action": [
                "sts:AssumeRole",
                "sts:TagSession"
            ],
            "Condition": {
                "StringEquals": {
                    "cognito-identity.amazonaws.com:aud": "us-west-2_EXAMPLE"
                }
            }
        }
    ]
}"#;

const ADMIN: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

fn statement(body: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow",{body}}}]}}"#)
}

fn validate_policy_finds_what_access_analyzer_finds(server: &TestServer) {
    let key = &server.root;
    let empty_sid = json!({
        "findingDetails": "Add a value to the empty string in the Sid element.",
        "findingType": "SUGGESTION",
        "issueCode": "EMPTY_SID_VALUE",
        "learnMoreLink": "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-suggestion-empty-sid-value",
        "locations": [{
            "path": [{"value": "Statement"}, {"index": 0}, {"value": "Sid"}],
            "span": {"start": {"line": 5, "column": 19, "offset": 79}, "end": {"line": 5, "column": 21, "offset": 81}}
        }]
    });
    let wildcard =
        statement(r#""Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"home/*"}}"#);
    let unknown_field = statement(r#""Action":"s3:GetObject","Resource":"*","Acton":"x""#);
    let trust_with_resource =
        statement(r#""Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*""#);
    let trust = access_analyzer(
        "POST",
        "/policy/validation",
        json!({"policyDocument": trust_with_resource, "policyType": "RESOURCE_POLICY", "validatePolicyResourceType": "AWS::IAM::AssumeRolePolicyDocument"}),
    );
    let principal = statement(r#""Principal":"*","Action":"s3:*","Resource":"*""#);
    server.run(&[
        // AWS's documented answer, finding for finding where Homeport makes the check.
        Case::ok("the documented empty Sid", key, validate(COGNITO_TRUST, "RESOURCE_POLICY")).json("/findings/0", empty_sid),
        Case::ok("administrator access", key, validate(ADMIN, "IDENTITY_POLICY"))
            .json_len("/findings", 2)
            .json("/findings/0/issueCode", "PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE")
            .json("/findings/0/findingType", "SECURITY_WARNING")
            .json("/findings/0/locations/0/path", json!([{"value": "Statement"}, {"index": 0}, {"value": "Resource"}]))
            .json("/findings/0/locations/0/span/start", json!({"line": 1, "column": 79, "offset": 79}))
            .json("/findings/1/issueCode", "CREATE_SLR_WITH_STAR_IN_ACTION_AND_RESOURCE")
            .json("/findings/1/findingType", "WARNING"),
        Case::ok("a scoped policy has nothing to say", key, validate(&statement(r#""Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*""#), "IDENTITY_POLICY"))
            .json_len("/findings", 0),
        Case::ok("no version", key, validate(r#"{"Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}"#, "IDENTITY_POLICY"))
            .json("/findings/0/issueCode", "MISSING_VERSION")
            .json("/findings/0/findingType", "WARNING")
            .json("/findings/0/findingDetails", "We recommend that you specify the Version element to help you with debugging permission issues."),
        Case::ok("a wildcard without Like", key, validate(&wildcard, "IDENTITY_POLICY"))
            .json("/findings/0/issueCode", "WILDCARD_WITHOUT_LIKE_OPERATOR")
            .json("/findings/0/locations/0/path", json!([{"value": "Statement"}, {"index": 0}, {"value": "Condition"}, {"value": "StringEquals"}, {"value": "s3:prefix"}])),
        Case::ok("broken JSON", key, validate("{\"Version\": \"2012-10-17\",\n\"Statement\": [}", "IDENTITY_POLICY"))
            .json("/findings/0/issueCode", "JSON_SYNTAX_ERROR")
            .json("/findings/0/findingType", "ERROR")
            .json("/findings/0/findingDetails", "Fix the JSON syntax error at index 40 line 2 column 14.")
            .json("/findings/0/locations/0/path", json!([])),
        Case::ok("an unknown element", key, validate(&unknown_field, "IDENTITY_POLICY"))
            .json("/findings/0/issueCode", "INVALID_POLICY_ELEMENT")
            .json("/findings/0/findingDetails", "The policy element Acton is not valid.")
            .json("/findings/0/locations/0/path", json!([{"value": "Statement"}, {"index": 0}, {"key": "Acton"}])),
        Case::ok("a principal in an identity policy", key, validate(&principal, "IDENTITY_POLICY"))
            .json("/findings/0/issueCode", "UNSUPPORTED_PRINCIPAL"),
        Case::ok("a principal in an SCP", key, validate(&principal, "SERVICE_CONTROL_POLICY"))
            .json("/findings/0/issueCode", "SCP_SYNTAX_ERROR_PRINCIPAL"),
        Case::ok("an RCP needs its principal", key, validate(ADMIN, "RESOURCE_CONTROL_POLICY"))
            .json("/findings/0/issueCode", "MISSING_PRINCIPAL"),
        Case::ok("a trust policy names no resource", key, trust)
            .json("/findings/0/issueCode", "ROLE_TRUST_POLICY_SYNTAX_ERROR_RESOURCE")
            .json_len("/findings", 1),
    ]);
}

fn invalid(name: &str, key: &Key, call: Call, member: &str, reason: &str, message: &str) -> Case {
    Case::error(name, key, call, 400, "ValidationException", message)
        .json("/reason", reason)
        .json("/fieldList/0/name", member)
}

fn validate_policy_pages_and_refuses_bad_input(server: &TestServer) {
    let key = &server.root;
    let body = |extra: Value| {
        let mut body = json!({"policyDocument": ADMIN, "policyType": "IDENTITY_POLICY"});
        for (name, value) in extra.as_object().into_iter().flatten() {
            body[name] = value.clone();
        }
        access_analyzer("POST", "/policy/validation", body)
    };
    server.run(&[
        Case::ok("the first page", key, with_query(validate(ADMIN, "IDENTITY_POLICY"), "maxResults=1"))
            .json_len("/findings", 1)
            .json("/findings/0/issueCode", "PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE")
            .json("/nextToken", "1"),
        Case::ok("the last page", key, with_query(validate(ADMIN, "IDENTITY_POLICY"), "maxResults=1&nextToken=1"))
            .json_len("/findings", 1)
            .json("/findings/0/issueCode", "CREATE_SLR_WITH_STAR_IN_ACTION_AND_RESOURCE")
            .json("/nextToken", Value::Null),
        Case::ok("English is spoken", key, body(json!({"locale": "EN"}))).json_len("/findings", 2),
        invalid(
            "no document",
            key,
            access_analyzer("POST", "/policy/validation", json!({"policyType": "IDENTITY_POLICY"})),
            "policyDocument",
            "fieldValidationFailed",
            "Value null at 'policyDocument'",
        ),
        invalid(
            "no type",
            key,
            access_analyzer("POST", "/policy/validation", json!({"policyDocument": ADMIN})),
            "policyType",
            "fieldValidationFailed",
            "Value null at 'policyType'",
        ),
        invalid(
            "an unknown type",
            key,
            body(json!({"policyType": "SESSION_POLICY"})),
            "policyType",
            "fieldValidationFailed",
            "Member must satisfy enum value set",
        ),
        invalid(
            "a document that is not text",
            key,
            body(json!({"policyDocument": {"Version": "2012-10-17"}})),
            "policyDocument",
            "cannotParse",
            "must be a string",
        ),
        invalid(
            "a resource type for an identity policy",
            key,
            body(json!({"validatePolicyResourceType": "AWS::S3::Bucket"})),
            "validatePolicyResourceType",
            "fieldValidationFailed",
            "only when policyType is RESOURCE_POLICY",
        ),
        invalid(
            "an unknown resource type",
            key,
            body(json!({"policyType": "RESOURCE_POLICY", "validatePolicyResourceType": "AWS::KMS::Key"})),
            "validatePolicyResourceType",
            "fieldValidationFailed",
            "enum value set",
        ),
        invalid(
            "a locale Homeport does not speak",
            key,
            body(json!({"locale": "FR"})),
            "locale",
            "notSupported",
            "English only",
        ),
        invalid(
            "no such locale",
            key,
            body(json!({"locale": "XX"})),
            "locale",
            "fieldValidationFailed",
            "enum value set",
        ),
        invalid(
            "no results asked",
            key,
            with_query(validate(ADMIN, "IDENTITY_POLICY"), "maxResults=0"),
            "maxResults",
            "fieldValidationFailed",
            "greater than or equal to 1",
        ),
        invalid(
            "a token not handed out",
            key,
            with_query(validate(ADMIN, "IDENTITY_POLICY"), "nextToken=abc"),
            "nextToken",
            "fieldValidationFailed",
            "not valid",
        ),
        invalid(
            "a token past the end",
            key,
            with_query(validate(ADMIN, "IDENTITY_POLICY"), "nextToken=9"),
            "nextToken",
            "fieldValidationFailed",
            "not valid",
        ),
    ]);
}

fn no_new_access(new: &str, existing: &str, policy_type: &str) -> Call {
    access_analyzer(
        "POST",
        "/policy/check-no-new-access",
        json!({"newPolicyDocument": new, "existingPolicyDocument": existing, "policyType": policy_type}),
    )
}

fn not_granted(document: &str, access: Value, policy_type: &str) -> Call {
    access_analyzer(
        "POST",
        "/policy/check-access-not-granted",
        json!({"policyDocument": document, "access": access, "policyType": policy_type}),
    )
}

fn custom_checks_pass_only_what_is_proven(server: &TestServer) {
    let key = &server.root;
    // AWS's documented `check-no-new-access` and `check-access-not-granted` examples.
    let existing = statement(
        r#""Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::amzn-s3-demo-bucket","arn:aws:s3:::amzn-s3-demo-bucket/*"]"#,
    );
    let widened = statement(
        r#""Action":["s3:GetObject","s3:GetObjectAcl","s3:ListBucket"],"Resource":["arn:aws:s3:::amzn-s3-demo-bucket","arn:aws:s3:::amzn-s3-demo-bucket/*"]"#,
    );
    let narrowed =
        statement(r#""Sid":"read","Action":"s3:GetObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/reports/*""#);
    let bucket_policy = |principal: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}]}}"#
        )
    };
    let own_account = bucket_policy("111122223333");
    let other_account = bucket_policy("arn:aws:iam::444455556666:root");
    let same_account_root = bucket_policy("arn:aws:iam::111122223333:root");
    let conditional =
        statement(r#""Action":"iam:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#);
    server.run(&[
        Case::ok("the documented new access", key, no_new_access(&widened, &existing, "IDENTITY_POLICY"))
            .json("/result", "FAIL")
            .json("/message", "The modified permissions grant new access compared to your existing policy.")
            .json(
                "/reasons",
                json!([{"description": "New access in the statement with index: 0.", "statementIndex": 0}]),
            ),
        Case::ok("narrower access", key, no_new_access(&narrowed, &existing, "IDENTITY_POLICY"))
            .json("/result", "PASS")
            .json_len("/reasons", 0),
        Case::ok("the reverse", key, no_new_access(&existing, &narrowed, "IDENTITY_POLICY"))
            .json("/result", "FAIL")
            .json("/reasons/0/statementIndex", 0),
        Case::ok(
            "a reason names its Sid",
            key,
            no_new_access(&narrowed, &widened.replace("s3:GetObject\"", "s3:PutObject\""), "IDENTITY_POLICY"),
        )
        .json("/reasons/0/statementId", "read"),
        Case::ok(
            "the same principal spelled otherwise",
            key,
            no_new_access(&same_account_root, &own_account, "RESOURCE_POLICY"),
        )
        .json("/result", "PASS"),
        Case::ok("another account", key, no_new_access(&other_account, &own_account, "RESOURCE_POLICY"))
            .json("/result", "FAIL"),
        Case::ok(
            "the documented access not granted",
            key,
            not_granted(
                &existing,
                json!([{"actions": ["s3:DeleteBucket", "s3:GetBucketLocation"]}]),
                "IDENTITY_POLICY",
            ),
        )
        .json("/result", "PASS")
        .json("/message", "The policy document does not grant access to perform one or more of the listed actions."),
        Case::ok(
            "an action granted",
            key,
            not_granted(&existing, json!([{"actions": ["s3:DeleteBucket", "s3:getobject"]}]), "IDENTITY_POLICY"),
        )
        .json("/result", "FAIL")
        .json("/message", "The policy document grants access to perform one or more of the listed actions.")
        .json("/reasons/0/statementIndex", 0),
        Case::ok(
            "on another resource",
            key,
            not_granted(
                &existing,
                json!([{"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::other-bucket/*"]}]),
                "IDENTITY_POLICY",
            ),
        )
        .json("/result", "PASS"),
        Case::ok(
            "any action on a listed resource",
            key,
            not_granted(&existing, json!([{"resources": ["arn:aws:s3:::amzn-s3-demo-bucket/key"]}]), "IDENTITY_POLICY"),
        )
        .json("/result", "FAIL")
        .json("/message", "The policy document grants access to one or more of the listed resources."),
        Case::ok(
            "a conditional grant is a grant",
            key,
            not_granted(&conditional, json!([{"actions": ["iam:PassRole"]}]), "IDENTITY_POLICY"),
        )
        .json("/result", "FAIL"),
        invalid(
            "a check that is not one",
            key,
            no_new_access(&existing, &existing, "SERVICE_CONTROL_POLICY"),
            "policyType",
            "fieldValidationFailed",
            "enum value set",
        ),
        invalid(
            "no existing policy",
            key,
            access_analyzer(
                "POST",
                "/policy/check-no-new-access",
                json!({"newPolicyDocument": existing, "policyType": "IDENTITY_POLICY"}),
            ),
            "existingPolicyDocument",
            "fieldValidationFailed",
            "Value null",
        ),
        Case::error(
            "an invalid new policy",
            key,
            no_new_access("{\"Statement\":", &existing, "IDENTITY_POLICY"),
            400,
            "InvalidParameterException",
            "newPolicyDocument is not a valid policy",
        ),
        invalid(
            "two access entries",
            key,
            not_granted(
                &existing,
                json!([{"actions": ["s3:GetObject"]}, {"actions": ["s3:PutObject"]}]),
                "IDENTITY_POLICY",
            ),
            "access",
            "fieldValidationFailed",
            "length less than or equal to 1",
        ),
        invalid(
            "no access",
            key,
            access_analyzer(
                "POST",
                "/policy/check-access-not-granted",
                json!({"policyDocument": existing, "policyType": "IDENTITY_POLICY"}),
            ),
            "access",
            "fieldValidationFailed",
            "Value null at 'access'",
        ),
        Case::error(
            "an empty access entry",
            key,
            not_granted(&existing, json!([{}]), "IDENTITY_POLICY"),
            400,
            "InvalidParameterException",
            "actions, resources or both",
        ),
        Case::error(
            "a wildcard outside the resource id",
            key,
            not_granted(&existing, json!([{"resources": ["arn:aws:s3:*:*:b"]}]), "IDENTITY_POLICY"),
            400,
            "InvalidParameterException",
            "wildcards only in the resource ID",
        ),
        Case::error(
            "an action without a service",
            key,
            not_granted(&existing, json!([{"actions": ["GetObject"]}]), "IDENTITY_POLICY"),
            400,
            "InvalidParameterException",
            "service:action",
        ),
        invalid(
            "too many actions",
            key,
            not_granted(&existing, json!([{"actions": vec!["s3:GetObject"; 101]}]), "IDENTITY_POLICY"),
            "access.actions",
            "fieldValidationFailed",
            "less than or equal to 100",
        ),
    ]);
}

fn routing_and_refusals_answer_in_rest_json(server: &TestServer) {
    let key = &server.root;
    let allowed_name = unique("analyst");
    let analyst = server.user_with_policy(
        &allowed_name,
        Some(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"access-analyzer:ValidatePolicy","Resource":"*"}}"#),
    );
    let nobody = server.nobody().clone();
    let refusal = format!("User: {} is not authorized to perform: access-analyzer:ValidatePolicy", server.nobody_arn());
    server.run(&[
        Case::ok("a user allowed the action", &analyst, validate(ADMIN, "IDENTITY_POLICY")).json_len("/findings", 2),
        Case::denied(
            "the other checks are other actions",
            &analyst,
            no_new_access(ADMIN, ADMIN, "IDENTITY_POLICY"),
            "access-analyzer:CheckNoNewAccess",
        ),
        Case::denied("a user without permission", &nobody, validate(ADMIN, "IDENTITY_POLICY"), refusal),
        Case::unsigned(
            "unsigned",
            validate(ADMIN, "IDENTITY_POLICY"),
            403,
            "MissingAuthenticationTokenException",
            "missing Authentication Token",
        ),
        Case::error(
            "an unknown path",
            key,
            access_analyzer("POST", "/policy/nothing", json!({})),
            404,
            "UnknownOperationException",
            "POST /policy/nothing",
        ),
        Case::error(
            "a known path with another method",
            key,
            access_analyzer("GET", "/policy/validation", json!({})),
            404,
            "UnknownOperationException",
            "GET /policy/validation",
        ),
        Case::error(
            "a body that is not an object",
            key,
            Call::RestJson {
                service: "access-analyzer",
                method: "POST",
                path: "/policy/validation".to_owned(),
                query: String::new(),
                body: Some(json!([1])),
            },
            400,
            "SerializationException",
            "",
        ),
    ]);
    // The wire: the code in `x-amzn-ErrorType`, JSON both ways.
    let refused = server.call(&nobody, &validate(ADMIN, "IDENTITY_POLICY"));
    assert_eq!(refused.header("x-amzn-ErrorType").as_deref(), Some("AccessDeniedException"), "{}", refused.head);
    assert_eq!(refused.header("content-type").as_deref(), Some("application/json"));
    let answered = server.call(key, &validate(ADMIN, "IDENTITY_POLICY"));
    assert_eq!((answered.status, answered.header("content-type").as_deref()), (200, Some("application/json")));
    assert_eq!(answered.header("x-amzn-ErrorType"), None);
    // The audit trail records the check under Access Analyzer's event source.
    let events = server.cloudtrail(
        key,
        "LookupEvents",
        &json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "ValidatePolicy"}]}),
    );
    assert!(events.body.contains("access-analyzer.amazonaws.com"), "{}", events.body);
}
