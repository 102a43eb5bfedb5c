//! AWS Secrets Manager, in process: secrets and their ARNs, values and version stages,
//! deletion and restoration, listing, tags, resource policies taking part in authorization,
//! and values sealed at rest.

use crate::support::{Case, TestServer, secretsmanager as sm, unique};
use serde_json::{Value, json};

crate::support::on_both_stores!(
    secrets_are_created_read_and_versioned,
    deleted_secrets_refuse_until_restored,
    secrets_are_listed_tagged_and_described,
    resource_policies_take_part_in_authorization,
    parameters_and_secrets_are_each_regions_own
);

const TOKEN_1: &str = "00000000-0000-4000-8000-000000000001";
const TOKEN_2: &str = "00000000-0000-4000-8000-000000000002";
const TOKEN_3: &str = "00000000-0000-4000-8000-000000000003";

fn create(server: &TestServer, name: &str, value: &str) -> Value {
    server
        .secretsmanager(
            &server.root,
            "CreateSecret",
            &json!({"Name": name, "SecretString": value, "ClientRequestToken": TOKEN_1}),
        )
        .ok()
        .value()
}

fn secrets_are_created_read_and_versioned(server: &TestServer) {
    let root = &server.root;
    let name = format!("prod/{}/db", unique("app"));
    let created = create(server, &name, r#"{"username":"app","password":"hunter2"}"#);
    let arn = created["ARN"].as_str().unwrap().to_owned();
    let prefix = format!("arn:aws:secretsmanager:us-east-1:{}:secret:{name}-", server.account_id);
    let suffix = arn.strip_prefix(&prefix).unwrap_or_else(|| panic!("{arn}"));
    assert!(suffix.len() == 6 && suffix.chars().all(|c| c.is_ascii_alphanumeric()), "{arn}");
    assert_eq!(created["VersionId"], TOKEN_1);
    server.run(&[
        Case::error(
            "the name is taken",
            root,
            sm("CreateSecret", json!({"Name": name, "SecretString": "x"})),
            400,
            "ResourceExistsException",
            "already exists",
        ),
        Case::ok("read by name", root, sm("GetSecretValue", json!({"SecretId": name})))
            .json("/SecretString", r#"{"username":"app","password":"hunter2"}"#)
            .json("/VersionStages", json!(["AWSCURRENT"]))
            .json("/ARN", arn.as_str()),
        Case::ok("read by ARN", root, sm("GetSecretValue", json!({"SecretId": arn}))).json("/VersionId", TOKEN_1),
        Case::ok("read by partial ARN", root, sm("GetSecretValue", json!({"SecretId": prefix.trim_end_matches('-')})))
            .json("/VersionId", TOKEN_1),
        Case::ok(
            "a new value",
            root,
            sm("PutSecretValue", json!({"SecretId": name, "SecretString": "v2", "ClientRequestToken": TOKEN_2})),
        )
        .json("/VersionStages", json!(["AWSCURRENT"])),
        Case::ok(
            "the same token and value again",
            root,
            sm("PutSecretValue", json!({"SecretId": name, "SecretString": "v2", "ClientRequestToken": TOKEN_2})),
        ),
        Case::error(
            "the same token, another value",
            root,
            sm("PutSecretValue", json!({"SecretId": name, "SecretString": "v3", "ClientRequestToken": TOKEN_2})),
            400,
            "ResourceExistsException",
            "existing version",
        ),
        Case::ok("the previous", root, sm("GetSecretValue", json!({"SecretId": name, "VersionStage": "AWSPREVIOUS"})))
            .json("/VersionId", TOKEN_1),
        Case::ok(
            "a pending one",
            root,
            sm(
                "PutSecretValue",
                json!({"SecretId": name, "SecretBinary": "AAEC", "ClientRequestToken": TOKEN_3, "VersionStages": ["AWSPENDING"]}),
            ),
        ),
        Case::ok("still current", root, sm("GetSecretValue", json!({"SecretId": name}))).json("/SecretString", "v2"),
        Case::ok("pending is binary", root, sm("GetSecretValue", json!({"SecretId": name, "VersionId": TOKEN_3})))
            .json("/SecretBinary", "AAEC"),
        Case::error(
            "moving AWSCURRENT without naming its version",
            root,
            sm("UpdateSecretVersionStage", json!({"SecretId": name, "VersionStage": "AWSCURRENT", "MoveToVersionId": TOKEN_3})),
            400,
            "InvalidParameterException",
            "RemoveFromVersionId",
        ),
        Case::ok(
            "promoted",
            root,
            sm(
                "UpdateSecretVersionStage",
                json!({"SecretId": name, "VersionStage": "AWSCURRENT", "MoveToVersionId": TOKEN_3, "RemoveFromVersionId": TOKEN_2}),
            ),
        ),
        Case::ok("versions", root, sm("ListSecretVersionIds", json!({"SecretId": name, "IncludeDeprecated": true})))
            .json_len("/Versions", 3),
        Case::ok("stages moved", root, sm("DescribeSecret", json!({"SecretId": name})))
            .json("/VersionIdsToStages/00000000-0000-4000-8000-000000000003", json!(["AWSPENDING", "AWSCURRENT"]))
            .json("/VersionIdsToStages/00000000-0000-4000-8000-000000000002", json!(["AWSPREVIOUS"])),
        Case::ok(
            "updated",
            root,
            sm("UpdateSecret", json!({"SecretId": name, "Description": "the db", "KmsKeyId": "alias/app", "SecretString": "v4"})),
        ),
        Case::ok("described", root, sm("DescribeSecret", json!({"SecretId": name})))
            .json("/Description", "the db")
            .json("/KmsKeyId", "alias/app"),
        Case::ok("read after update", root, sm("GetSecretValue", json!({"SecretId": name}))).json("/SecretString", "v4"),
        Case::error("missing", root, sm("GetSecretValue", json!({"SecretId": "nope"})), 400, "ResourceNotFoundException", "can't find"),
        Case::error(
            "both kinds of value",
            root,
            sm("CreateSecret", json!({"Name": unique("both"), "SecretString": "a", "SecretBinary": "AA=="})),
            400,
            "InvalidParameterException",
            "both a binary secret value and a string",
        ),
    ]);
    assert!(!crate::support::any_file_holds(&server.data_dir, b"hunter2"), "values are sealed at rest");
}

fn deleted_secrets_refuse_until_restored(server: &TestServer) {
    let root = &server.root;
    let name = unique("doomed");
    create(server, &name, "v");
    let forced = unique("forced");
    create(server, &forced, "v");
    server.run(&[
        Case::error(
            "a window too short",
            root,
            sm("DeleteSecret", json!({"SecretId": name, "RecoveryWindowInDays": 6})),
            400,
            "InvalidParameterException",
            "between 7 and 30",
        ),
        Case::error(
            "both a window and force",
            root,
            sm(
                "DeleteSecret",
                json!({"SecretId": name, "RecoveryWindowInDays": 7, "ForceDeleteWithoutRecovery": true}),
            ),
            400,
            "InvalidParameterException",
            "in conjunction with",
        ),
        Case::ok("scheduled", root, sm("DeleteSecret", json!({"SecretId": name}))),
        Case::error(
            "its value refused",
            root,
            sm("GetSecretValue", json!({"SecretId": name})),
            400,
            "InvalidRequestException",
            "marked for deletion",
        ),
        Case::ok("still described", root, sm("DescribeSecret", json!({"SecretId": name}))),
        Case::ok("not listed", root, sm("ListSecrets", json!({"Filters": [{"Key": "name", "Values": [name]}]})))
            .json_len("/SecretList", 0),
        Case::ok(
            "listed when asked",
            root,
            sm("ListSecrets", json!({"IncludePlannedDeletion": true, "Filters": [{"Key": "name", "Values": [name]}]})),
        )
        .json_len("/SecretList", 1),
        Case::ok("restored", root, sm("RestoreSecret", json!({"SecretId": name}))),
        Case::ok("readable again", root, sm("GetSecretValue", json!({"SecretId": name}))).json("/SecretString", "v"),
        Case::ok("forced", root, sm("DeleteSecret", json!({"SecretId": forced, "ForceDeleteWithoutRecovery": true}))),
        Case::error(
            "gone at once",
            root,
            sm("DescribeSecret", json!({"SecretId": forced})),
            400,
            "ResourceNotFoundException",
            "",
        ),
        Case::ok("its name free again", root, sm("CreateSecret", json!({"Name": forced, "SecretString": "again"}))),
    ]);
}

fn secrets_are_listed_tagged_and_described(server: &TestServer) {
    let root = &server.root;
    let team = unique("team");
    let names: Vec<String> = (0..3).map(|n| format!("{team}/s{n}")).collect();
    for name in &names {
        create(server, name, "v");
    }
    server.run(&[
        Case::ok(
            "by name prefix",
            root,
            sm("ListSecrets", json!({"Filters": [{"Key": "name", "Values": [format!("{team}/")]}]})),
        )
        .json_len("/SecretList", 3),
        Case::ok(
            "paged",
            root,
            sm("ListSecrets", json!({"MaxResults": 2, "Filters": [{"Key": "name", "Values": [format!("{team}/")]}]})),
        )
        .json_len("/SecretList", 2)
        .json("/NextToken", "2"),
        Case::ok(
            "tagged",
            root,
            sm("TagResource", json!({"SecretId": names[0], "Tags": [{"Key": "owner", "Value": team}]})),
        ),
        Case::ok("by tag value", root, sm("ListSecrets", json!({"Filters": [{"Key": "tag-value", "Values": [team]}]})))
            .json_len("/SecretList", 1)
            .json("/SecretList/0/Name", names[0].as_str()),
        Case::ok("untagged", root, sm("UntagResource", json!({"SecretId": names[0], "TagKeys": ["owner"]}))),
        Case::ok("tags gone", root, sm("DescribeSecret", json!({"SecretId": names[0]}))).json("/Tags", json!([])),
        Case::ok(
            "by name, newest first",
            root,
            sm(
                "ListSecrets",
                json!({"SortBy": "name", "SortOrder": "desc", "Filters": [{"Key": "name", "Values": [format!("{team}/")]}]}),
            ),
        )
        .json("/SecretList/0/Name", names[2].as_str())
        .json("/SecretList/2/Name", names[0].as_str()),
        Case::error(
            "a rotation token without rotation",
            root,
            sm("PutSecretValue", json!({"SecretId": names[0], "SecretString": "x", "RotationToken": "t".repeat(36)})),
            400,
            "InvalidParameterException",
            "RotationToken",
        ),
        Case::error(
            "a partner's secret type",
            root,
            sm("CreateSecret", json!({"Name": unique("typed"), "SecretString": "x", "Type": "SalesforceClientCredentials"})),
            400,
            "InvalidRequestException",
            "not supported",
        ),
        Case::ok("batch", root, sm("BatchGetSecretValue", json!({"SecretIdList": [names[1], "nope"]})))
            .json_len("/SecretValues", 1)
            .json("/Errors/0/ErrorCode", "ResourceNotFoundException"),
    ]);
}

fn resource_policies_take_part_in_authorization(server: &TestServer) {
    let root = &server.root;
    let name = unique("shared");
    let arn = create(server, &name, "s3cret")["ARN"].as_str().unwrap().to_owned();
    let user = unique("reader");
    // The reader's own policies grant nothing on secrets.
    let reader = server.user_with_policy(&user, Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}"#));
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": server.user_arn(&user)}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    .to_string();
    let public = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    .to_string();
    server.run(&[
        Case::denied("before the policy", &reader, sm("GetSecretValue", json!({"SecretId": name})), arn.as_str()),
        Case::error(
            "a public policy is blocked",
            root,
            sm("PutResourcePolicy", json!({"SecretId": name, "ResourcePolicy": public})),
            400,
            "PublicPolicyException",
            "public access",
        ),
        Case::ok("the policy", root, sm("PutResourcePolicy", json!({"SecretId": name, "ResourcePolicy": policy}))),
        Case::ok("read through the policy", &reader, sm("GetSecretValue", json!({"SecretId": name})))
            .json("/SecretString", "s3cret"),
        Case::denied(
            "nothing else",
            &reader,
            sm("PutSecretValue", json!({"SecretId": name, "SecretString": "x"})),
            "secretsmanager:PutSecretValue",
        ),
        Case::ok("shown", root, sm("GetResourcePolicy", json!({"SecretId": name})))
            .contains("secretsmanager:GetSecretValue"),
        Case::ok("removed", root, sm("DeleteResourcePolicy", json!({"SecretId": name}))),
        Case::denied("refused again", &reader, sm("GetSecretValue", json!({"SecretId": name})), arn.as_str()),
    ]);
}

fn parameters_and_secrets_are_each_regions_own(server: &TestServer) {
    use crate::support::in_region;
    let root = &server.root;
    let name = format!("/{}/db", unique("regional"));
    let secret = unique("regional");
    let put = json!({"Name": name, "Value": "eu", "Type": "SecureString"});
    let read = in_region("eu-west-1", || {
        server.ssm(root, "PutParameter", &put).ok();
        server.ssm(root, "GetParameter", &json!({"Name": name, "WithDecryption": true})).ok().value()
    });
    assert_eq!(read["Parameter"]["Value"], "eu");
    let arn = read["Parameter"]["ARN"].as_str().unwrap();
    assert!(arn.starts_with("arn:aws:ssm:eu-west-1:"), "{arn}");
    let elsewhere = server.ssm(root, "GetParameter", &json!({"Name": name}));
    assert_eq!((elsewhere.status, elsewhere.code().as_str()), (400, "ParameterNotFound"), "{}", elsewhere.body);
    // The same name in another region is another parameter.
    server.ssm(root, "PutParameter", &json!({"Name": name, "Value": "us", "Type": "String"})).ok();
    let created = in_region("eu-west-1", || {
        server.secretsmanager(root, "CreateSecret", &json!({"Name": secret, "SecretString": "eu"})).ok().value()
    });
    assert!(created["ARN"].as_str().unwrap().starts_with("arn:aws:secretsmanager:eu-west-1:"), "{created}");
    let elsewhere = server.secretsmanager(root, "GetSecretValue", &json!({"SecretId": secret}));
    assert_eq!(elsewhere.code(), "ResourceNotFoundException", "{}", elsewhere.body);
    let by_arn = in_region("eu-west-1", || {
        server.secretsmanager(root, "GetSecretValue", &json!({"SecretId": created["ARN"]})).ok().value()
    });
    assert_eq!(by_arn["SecretString"], "eu");
}
