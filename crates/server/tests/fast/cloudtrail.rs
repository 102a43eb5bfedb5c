//! CloudTrail's LookupEvents over the audit trail, in process: a request's event is found by
//! its attributes, CloudTrail's errors for bad input (today's codes and messages), and refusals.

use crate::support::{Case, TestServer, cloudtrail, unique};
use serde_json::{Value, json};

crate::support::on_both_stores!(
    a_request_is_found_by_its_resource_and_its_user,
    bad_lookups_are_refused_with_cloudtrails_messages
);

/// LookupEvents for `key` = `value`, until an event shows up (the trail is imported a moment
/// after the request is answered) or five seconds pass.
fn lookup_until_found(server: &TestServer, key: &str, value: &str) -> Value {
    let body = json!({"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}]});
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let answer = server.cloudtrail(&server.root, "LookupEvents", &body).ok().value();
        if answer.get("Events").and_then(Value::as_array).is_some_and(|events| !events.is_empty())
            || std::time::Instant::now() > deadline
        {
            return answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn a_request_is_found_by_its_resource_and_its_user(server: &TestServer) {
    let name = unique("audited");
    server.iam(&server.root, "CreateUser", &[("UserName", &name)]).ok();
    let by_resource = lookup_until_found(server, "ResourceName", &server.user_arn(&name));
    let event = &by_resource["Events"][0];
    assert_eq!(event["EventName"], "CreateUser", "{by_resource}");
    assert_eq!(event["EventSource"], "iam.amazonaws.com", "{by_resource}");
    assert_eq!(event["Username"], "root", "{by_resource}");
    let record: Value = serde_json::from_str(event["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert_eq!(record["resources"][0]["ARN"], server.user_arn(&name).as_str(), "{record}");
    assert_eq!(record["userIdentity"]["type"], "Root", "{record}");
    assert_eq!(record["readOnly"], false, "{record}");
    assert_eq!(record["additionalEventData"]["authorizationDecision"], "allowed", "{record}");

    // A refusal is recorded too, under the refused user's name.
    let refused = unique("refused");
    let key = server.user_with_policy(&refused, None);
    assert_eq!(server.iam(&key, "ListUsers", &[]).status, 403);
    let by_user = lookup_until_found(server, "Username", &refused);
    let event = &by_user["Events"][0];
    assert_eq!(event["EventName"], "ListUsers", "{by_user}");
    let record: Value = serde_json::from_str(event["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert_eq!(record["errorCode"], "AccessDenied", "{record}");
}

fn bad_lookups_are_refused_with_cloudtrails_messages(server: &TestServer) {
    let root = &server.root;
    let nobody = server.nobody();
    server.run(&[
        Case::ok(
            "nothing matches a name nobody has",
            root,
            cloudtrail(
                "LookupEvents",
                json!({
                    "LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "nobody-has-this-name"}],
                }),
            ),
        )
        .json_len("/Events", 0),
        Case::error(
            "start after end",
            root,
            cloudtrail("LookupEvents", json!({"StartTime": 2_000_000_000, "EndTime": 1_000_000_000})),
            400,
            "InvalidTimeRangeException",
            "Either the start time occurs after the end time",
        ),
        Case::error(
            "a time that is not one",
            root,
            cloudtrail("LookupEvents", json!({"StartTime": "yesterday"})),
            400,
            "InvalidTimeRangeException",
            "Occurs if the timestamp values are not valid.",
        ),
        Case::error(
            "51 results",
            root,
            cloudtrail("LookupEvents", json!({"MaxResults": 51})),
            400,
            "InvalidMaxResultsException",
            "MaxResults must be between 1 and 50.",
        ),
        Case::error(
            "two attributes",
            root,
            cloudtrail(
                "LookupEvents",
                json!({"LookupAttributes": [
                    {"AttributeKey": "Username", "AttributeValue": "a"},
                    {"AttributeKey": "EventName", "AttributeValue": "b"},
                ]}),
            ),
            400,
            "InvalidLookupAttributesException",
            "Only one lookup attribute is supported per request.",
        ),
        Case::error(
            "an unknown attribute",
            root,
            cloudtrail(
                "LookupEvents",
                json!({
                    "LookupAttributes": [{"AttributeKey": "Colour", "AttributeValue": "red"}],
                }),
            ),
            400,
            "InvalidLookupAttributesException",
            "The attribute key Colour is not supported",
        ),
        Case::error(
            "a token it never gave",
            root,
            cloudtrail("LookupEvents", json!({"NextToken": "what"})),
            400,
            "InvalidNextTokenException",
            "A token that is not valid",
        ),
        Case::denied(
            "a user without permissions",
            nobody,
            cloudtrail("LookupEvents", json!({})),
            "is not authorized to perform: cloudtrail:LookupEvents",
        ),
    ]);
}
