//! IAM's per-entity quotas hold exactly under concurrency, on both stores: many signed
//! requests fired at once against the real server each take a slot or get LimitExceeded,
//! never both past the quota and never an error of the race itself (a lost counter race is
//! retried, not reported as the quota).
//!
//! The PostgreSQL half needs `HOMEPORT_TEST_POSTGRES_URL`; CI fails without it.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use std::sync::Barrier;

use crate::common;

use aws_protocol::sigv4::uri_encode;
use common::{Key, Server, TestDatabase, fresh_dir, read_credentials};

/// Sends every awsQuery IAM request of `bodies` at once (one thread each, released
/// together) as root and returns each answer's status and text, in order.
fn at_once(server: &Server, bodies: &[String]) -> Vec<(u16, String)> {
    let bodies: Vec<String> = bodies.iter().map(|body| format!("Version=2010-05-08&{body}")).collect();
    at_once_to(server, "iam", None, &bodies)
}

/// Sends every request of `bodies` at once to `service` (awsJson with `target`, else
/// awsQuery) as root; each answer's status and text, in order.
fn at_once_to(server: &Server, service: &str, target: Option<&str>, bodies: &[String]) -> Vec<(u16, String)> {
    let (id, secret, _) = read_credentials(&server.root_credentials());
    let barrier = Barrier::new(bodies.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = bodies
            .iter()
            .map(|body| {
                let (barrier, id, secret) = (&barrier, &id, &secret);
                scope.spawn(move || {
                    let key = Key { id, secret, token: None };
                    barrier.wait();
                    common::post(&server.address, Some(&key), service, target, body)
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    })
}

/// One request as root; panics unless it succeeds.
fn call(server: &Server, body: &str) -> String {
    let answers = at_once(server, &[body.to_owned()]);
    let (status, text) = &answers[0];
    assert_eq!(*status, 200, "{body}: {text}");
    text.clone()
}

/// How many answers succeeded; every other one must be LimitExceeded with `message`.
fn successes(what: &str, answers: &[(u16, String)], message: &str) -> usize {
    let mut ok = 0;
    for (status, text) in answers {
        if *status == 200 {
            ok += 1;
        } else {
            assert!(
                *status == 409 && text.contains("<Code>LimitExceeded</Code>") && text.contains(message),
                "{what}: every refusal is the quota's: {status} {text}"
            );
        }
    }
    ok
}

fn quotas_hold(store_url: Option<&str>, name: &str) {
    let dir = fresh_dir(name);
    let server = Server::start(&dir.join("data"), store_url);
    call(&server, "Action=CreateUser&UserName=quota");

    // Two access keys per user, of 24 tries at once.
    let bodies = vec!["Action=CreateAccessKey&UserName=quota".to_owned(); 24];
    let answers = at_once(&server, &bodies);
    assert_eq!(successes("CreateAccessKey", &answers, "AccessKeysPerUser: 2"), 2);
    let listed = call(&server, "Action=ListAccessKeys&UserName=quota");
    assert_eq!(listed.matches("<AccessKeyId>").count(), 2, "{listed}");

    // Ten managed policies per user, of 16 different ones attached at once.
    let document = |n: usize| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S{n:02}","Effect":"Allow","Action":["iam:GetUser","iam:ListUsers","iam:GetGroup","iam:ListGroups","iam:GetRole","iam:ListRoles"],"Resource":"arn:aws:iam::*:user/team-{n:02}/*"}}]}}"#
        )
    };
    let bodies: Vec<String> = (0..16)
        .map(|n| {
            let created = call(
                &server,
                &format!("Action=CreatePolicy&PolicyName=m{n}&PolicyDocument={}", uri_encode(&document(n), false)),
            );
            let arn = created.split("<Arn>").nth(1).unwrap().split("</Arn>").next().unwrap().to_owned();
            format!("Action=AttachUserPolicy&UserName=quota&PolicyArn={}", uri_encode(&arn, false))
        })
        .collect();
    assert_eq!(bodies.len(), 16);
    let answers = at_once(&server, &bodies);
    assert_eq!(successes("AttachUserPolicy", &answers, "PoliciesPerUser: 10"), 10);
    let attached = call(&server, "Action=ListAttachedUserPolicies&UserName=quota");
    assert_eq!(attached.matches("<PolicyArn>").count(), 10, "{attached}");

    // Fifty tags per user: 30 calls of three new tags each, at once; 16 fit (48 tags).
    let bodies: Vec<String> = (0..30)
        .map(|call| {
            let tags: Vec<String> =
                (1..=3).map(|n| format!("Tags.member.{n}.Key=k{call}x{n}&Tags.member.{n}.Value=v")).collect();
            format!("Action=TagUser&UserName=quota&{}", tags.join("&"))
        })
        .collect();
    let answers = at_once(&server, &bodies);
    assert_eq!(successes("TagUser", &answers, "TagsPerUser: 50"), 16);
    let tags = call(&server, "Action=ListUserTags&UserName=quota");
    assert_eq!(tags.matches("<Key>").count(), 48, "{tags}");

    // Ten groups per user, of 14 joined at once.
    for group in 0..14 {
        call(&server, &format!("Action=CreateGroup&GroupName=g{group}"));
    }
    let bodies: Vec<String> =
        (0..14).map(|group| format!("Action=AddUserToGroup&UserName=quota&GroupName=g{group}")).collect();
    let answers = at_once(&server, &bodies);
    assert_eq!(successes("AddUserToGroup", &answers, "GroupsPerUser: 10"), 10);
    let groups = call(&server, "Action=ListGroupsForUser&UserName=quota");
    assert_eq!(groups.matches("<GroupName>").count(), 10, "{groups}");
    // Joining a group again is not an error, even at the quota.
    let member = groups.split("<GroupName>").nth(1).unwrap().split("</GroupName>").next().unwrap();
    call(&server, &format!("Action=AddUserToGroup&UserName=quota&GroupName={member}"));

    // Inline policies share 2,048 characters per user (whitespace not counted): of 12
    // different ones put at once, as many as fit.
    let size = iam_policy::policy_size(&document(0));
    let fit = 2048 / size;
    assert!((2..12).contains(&fit), "the test's policies are sized for a few to fit: {size}");
    let bodies: Vec<String> = (0..12)
        .map(|n| {
            format!(
                "Action=PutUserPolicy&UserName=quota&PolicyName=p{n}&PolicyDocument={}",
                uri_encode(&document(n), false)
            )
        })
        .collect();
    let answers = at_once(&server, &bodies);
    assert_eq!(successes("PutUserPolicy", &answers, "Maximum policy size of 2048 bytes exceeded for user quota"), fit);
    let inline = call(&server, "Action=ListUserPolicies&UserName=quota");
    assert_eq!(inline.matches("<member>").count(), fit, "{inline}");

    // Five versions per managed policy: v1 and 12 concurrent CreatePolicyVersion calls; four
    // get a version, the other eight LimitExceeded (never for a lost race on the number).
    let policy = call(
        &server,
        &format!("Action=CreatePolicy&PolicyName=versions&PolicyDocument={}", uri_encode(&document(0), false)),
    );
    let arn = policy.split("<Arn>").nth(1).unwrap().split("</Arn>").next().unwrap().to_owned();
    let bodies: Vec<String> = (1..=12)
        .map(|n| {
            format!(
                "Action=CreatePolicyVersion&PolicyArn={}&PolicyDocument={}",
                uri_encode(&arn, false),
                uri_encode(&document(n), false)
            )
        })
        .collect();
    let answers = at_once(&server, &bodies);
    assert_eq!(successes("CreatePolicyVersion", &answers, "A managed policy can have up to 5 versions."), 4);
    let versions = call(&server, &format!("Action=ListPolicyVersions&PolicyArn={}", uri_encode(&arn, false)));
    assert_eq!(versions.matches("<VersionId>").count(), 5, "{versions}");
    for version in ["v1", "v2", "v3", "v4", "v5"] {
        assert!(versions.contains(&format!("<VersionId>{version}</VersionId>")), "numbers are not skipped: {versions}");
    }

    // Fifty tags per managed instance (SSM): 30 AddTagsToResource calls of three new tags
    // each, at once; 16 fit.
    let trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
    call(&server, &format!("Action=CreateRole&RoleName=edge&AssumeRolePolicyDocument={}", uri_encode(trust, false)));
    let ssm = |target: &str, body: &str| {
        let answers = at_once_to(&server, "ssm", Some(&format!("AmazonSSM.{target}")), &[body.to_owned()]);
        let (status, text) = &answers[0];
        assert_eq!(*status, 200, "{target}: {text}");
        common::body(text)
    };
    let activation = ssm("CreateActivation", r#"{"IamRole":"edge"}"#);
    let tags: Vec<serde_json::Value> =
        (0..51).map(|n| serde_json::json!({"Key": format!("k{n}"), "Value": "v"})).collect();
    let crowded = serde_json::json!({"IamRole": "edge", "Tags": tags}).to_string();
    let (status, text) = at_once_to(&server, "ssm", Some("AmazonSSM.CreateActivation"), &[crowded]).remove(0);
    assert!(status == 400 && text.contains("InvalidParameters"), "51 tags on a new activation: {text}");
    let (status, registered) = common::register(&server, &activation, &common::key(7));
    assert_eq!(status, 200, "{registered}");
    let instance = registered["InstanceId"].as_str().unwrap();
    let bodies: Vec<String> = (0..30)
        .map(|call| {
            let tags: Vec<serde_json::Value> =
                (1..=3).map(|n| serde_json::json!({"Key": format!("k{call}x{n}"), "Value": "v"})).collect();
            serde_json::json!({"ResourceType": "ManagedInstance", "ResourceId": instance, "Tags": tags}).to_string()
        })
        .collect();
    let answers = at_once_to(&server, "ssm", Some("AmazonSSM.AddTagsToResource"), &bodies);
    let ok = answers.iter().filter(|(status, _)| *status == 200).count();
    for (status, text) in &answers {
        assert!(*status == 200 || text.contains("TooManyTagsError"), "every refusal is the quota's: {status} {text}");
    }
    assert_eq!(ok, 16);
    let listed = ssm(
        "ListTagsForResource",
        &serde_json::json!({"ResourceType": "ManagedInstance", "ResourceId": instance}).to_string(),
    );
    assert_eq!(listed["TagList"].as_array().unwrap().len(), 48, "{listed}");

    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn quotas_hold_under_concurrency_on_sqlite() {
    quotas_hold(None, "quotas-sqlite");
}

#[test]
fn quotas_hold_under_concurrency_on_postgres() {
    let Some(database) = TestDatabase::create("quotas") else { return };
    quotas_hold(Some(&database.url), "quotas-postgres");
}
