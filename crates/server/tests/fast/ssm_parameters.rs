//! SSM Parameter Store, in process: versions, SecureString sealing and decryption,
//! selectors, paths, labels, history, descriptions, tags, AWS's error codes, and
//! authorization on the parameter's ARN.

use crate::support::{Case, TestServer, ssm, unique};
use serde_json::json;

crate::support::on_both_stores!(
    parameters_are_written_read_and_versioned,
    secure_strings_are_sealed_and_opened_only_when_asked,
    paths_labels_history_and_descriptions,
    bad_parameters_are_refused_with_parameter_stores_codes,
    parameters_are_authorized_on_their_arn,
    a_hundred_versions_are_kept_and_a_labelled_one_never_pushed_out
);

fn parameters_are_written_read_and_versioned(server: &TestServer) {
    let root = &server.root;
    let name = format!("/{}/db/host", unique("app"));
    let arn = format!("arn:aws:ssm:us-east-1:{}:parameter{name}", server.account_id);
    server.run(&[
        Case::ok("created", root, ssm("PutParameter", json!({"Name": name, "Value": "db1", "Type": "String"})))
            .json("/Version", 1)
            .json("/Tier", "Standard"),
        Case::error(
            "not again without Overwrite",
            root,
            ssm("PutParameter", json!({"Name": name, "Value": "db2", "Type": "String"})),
            400,
            "ParameterAlreadyExists",
            "The parameter already exists.",
        ),
        Case::error(
            "tags with overwrite",
            root,
            ssm(
                "PutParameter",
                json!({"Name": name, "Value": "db2", "Overwrite": true, "Tags": [{"Key": "a", "Value": "b"}]}),
            ),
            400,
            "ValidationException",
            "tags and overwrite can't be used together",
        ),
        Case::ok("overwritten", root, ssm("PutParameter", json!({"Name": name, "Value": "db2", "Overwrite": true})))
            .json("/Version", 2),
        Case::ok("read", root, ssm("GetParameter", json!({"Name": format!(" {name} ")})))
            .json("/Parameter/Value", "db2")
            .json("/Parameter/Version", 2)
            .json("/Parameter/Type", "String")
            .json("/Parameter/ARN", arn.as_str())
            .json("/Parameter/DataType", "text"),
        Case::ok("read by ARN and version", root, ssm("GetParameter", json!({"Name": format!("{arn}:1")})))
            .json("/Parameter/Value", "db1")
            .json("/Parameter/Selector", ":1"),
        Case::error(
            "a version that never was",
            root,
            ssm("GetParameter", json!({"Name": format!("{name}:9")})),
            400,
            "ParameterVersionNotFound",
            "",
        ),
        Case::ok("several, one missing", root, ssm("GetParameters", json!({"Names": [name, "/nope/x"]})))
            .json_len("/Parameters", 1)
            .json("/InvalidParameters", json!(["/nope/x"])),
        Case::ok("deleted", root, ssm("DeleteParameter", json!({"Name": name}))),
        Case::error("gone", root, ssm("GetParameter", json!({"Name": name})), 400, "ParameterNotFound", ""),
        Case::error("deleted twice", root, ssm("DeleteParameter", json!({"Name": name})), 400, "ParameterNotFound", ""),
    ]);
}

fn secure_strings_are_sealed_and_opened_only_when_asked(server: &TestServer) {
    let root = &server.root;
    let name = format!("/{}/password", unique("app"));
    server.run(&[
        Case::ok(
            "created",
            root,
            ssm("PutParameter", json!({"Name": name, "Value": "hunter2", "Type": "SecureString"})),
        ),
        Case::ok("decrypted", root, ssm("GetParameter", json!({"Name": name, "WithDecryption": true})))
            .json("/Parameter/Value", "hunter2")
            .json("/Parameter/Type", "SecureString"),
        Case::ok(
            "described with the default key",
            root,
            ssm("DescribeParameters", json!({"ParameterFilters": [{"Key": "Name", "Values": [name]}]})),
        )
        .json_len("/Parameters", 1)
        .json("/Parameters/0/KeyId", "alias/aws/ssm"),
        Case::ok(
            "a customer key",
            root,
            ssm("PutParameter", json!({"Name": name, "Value": "hunter3", "Overwrite": true, "KeyId": "alias/app"})),
        )
        .json("/Version", 2),
        Case::ok(
            "history keeps both keys",
            root,
            ssm("GetParameterHistory", json!({"Name": name, "WithDecryption": true})),
        )
        .json("/Parameters/0/KeyId", "alias/aws/ssm")
        .json("/Parameters/0/Value", "hunter2")
        .json("/Parameters/1/KeyId", "alias/app")
        .json("/Parameters/1/Value", "hunter3"),
        Case::error(
            "a key that is no key",
            root,
            ssm("PutParameter", json!({"Name": name, "Value": "x", "Overwrite": true, "KeyId": "notakey"})),
            400,
            "InvalidKeyId",
            "",
        ),
    ]);
    let sealed = server.ssm(root, "GetParameter", &json!({"Name": name})).ok().value();
    let shown = sealed["Parameter"]["Value"].as_str().unwrap();
    assert!(!shown.contains("hunter"), "without decryption only the ciphertext shows: {shown}");
    // Nothing in the data directory (the SQLite store, its log, the audit journal) holds the
    // plaintext of a SecureString.
    assert!(!crate::support::any_file_holds(&server.data_dir, b"hunter3"), "the value is sealed at rest");
}

fn paths_labels_history_and_descriptions(server: &TestServer) {
    let root = &server.root;
    let app = format!("/{}", unique("tree"));
    for (name, value) in [("a", "1"), ("b", "2"), ("deep/c", "3")] {
        server
            .ssm(root, "PutParameter", &json!({"Name": format!("{app}/{name}"), "Value": value, "Type": "String"}))
            .ok();
    }
    server.ssm(root, "PutParameter", &json!({"Name": format!("{app}/a"), "Value": "1b", "Overwrite": true})).ok();
    let a = format!("{app}/a");
    server.run(&[
        Case::ok("one level", root, ssm("GetParametersByPath", json!({"Path": app}))).json_len("/Parameters", 2),
        Case::ok("recursive", root, ssm("GetParametersByPath", json!({"Path": app, "Recursive": true})))
            .json_len("/Parameters", 3),
        Case::ok("paged", root, ssm("GetParametersByPath", json!({"Path": app, "Recursive": true, "MaxResults": 2})))
            .json_len("/Parameters", 2)
            .json("/NextToken", "2"),
        Case::ok(
            "filtered",
            root,
            ssm(
                "GetParametersByPath",
                json!({"Path": app, "Recursive": true, "ParameterFilters": [{"Key": "Type", "Values": ["SecureString"]}]}),
            ),
        )
        .json_len("/Parameters", 0),
        Case::ok("labelled", root, ssm("LabelParameterVersion", json!({"Name": a, "ParameterVersion": 1, "Labels": ["prod", "1bad"]})))
            .json("/ParameterVersion", 1)
            .json("/InvalidLabels", json!(["1bad"])),
        Case::ok("read by label", root, ssm("GetParameter", json!({"Name": format!("{a}:prod")})))
            .json("/Parameter/Value", "1")
            .json("/Parameter/Selector", ":prod"),
        Case::ok("the label moves", root, ssm("LabelParameterVersion", json!({"Name": a, "Labels": ["prod"]})))
            .json("/ParameterVersion", 2),
        Case::ok("history", root, ssm("GetParameterHistory", json!({"Name": a})))
            .json("/Parameters/0/Labels", json!([]))
            .json("/Parameters/1/Labels", json!(["prod"])),
        Case::ok("unlabelled", root, ssm("UnlabelParameterVersion", json!({"Name": a, "ParameterVersion": 2, "Labels": ["prod", "gone"]})))
            .json("/RemovedLabels", json!(["prod"]))
            .json("/InvalidLabels", json!(["gone"])),
        Case::ok(
            "described under a path",
            root,
            ssm("DescribeParameters", json!({"ParameterFilters": [{"Key": "Path", "Option": "Recursive", "Values": [app]}]})),
        )
        .json_len("/Parameters", 3),
        Case::ok("shared with this account: none", root, ssm("DescribeParameters", json!({"Shared": true})))
            .json_len("/Parameters", 0),
        Case::error(
            "both kinds of filter",
            root,
            ssm(
                "DescribeParameters",
                json!({"Filters": [{"Key": "Name", "Values": ["x"]}], "ParameterFilters": [{"Key": "Name", "Values": ["x"]}]}),
            ),
            400,
            "ValidationException",
            "either Filters or ParameterFilters",
        ),
        Case::ok(
            "tagged",
            root,
            ssm("AddTagsToResource", json!({"ResourceType": "Parameter", "ResourceId": a, "Tags": [{"Key": "team", "Value": "ops"}]})),
        ),
        Case::ok("tags listed", root, ssm("ListTagsForResource", json!({"ResourceType": "Parameter", "ResourceId": a})))
            .json("/TagList", json!([{"Key": "team", "Value": "ops"}])),
        Case::ok(
            "described by tag",
            root,
            ssm("DescribeParameters", json!({"ParameterFilters": [{"Key": "tag:team", "Values": ["ops"]}, {"Key": "Path", "Values": [app]}]})),
        )
        .json_len("/Parameters", 1),
        Case::ok(
            "untagged",
            root,
            ssm("RemoveTagsFromResource", json!({"ResourceType": "Parameter", "ResourceId": a, "TagKeys": ["team"]})),
        ),
        Case::ok("several deleted", root, ssm("DeleteParameters", json!({"Names": [a, format!("{app}/b"), format!("{app}/zz")]})))
            .json_len("/DeletedParameters", 2)
            .json("/InvalidParameters", json!([format!("{app}/zz")])),
    ]);
}

fn bad_parameters_are_refused_with_parameter_stores_codes(server: &TestServer) {
    let root = &server.root;
    let deep = "/l".repeat(16);
    let put = |name: &str, extra: serde_json::Value| {
        let mut body = json!({"Name": name, "Value": "v", "Type": "String"});
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        ssm("PutParameter", body)
    };
    let fresh = format!("/{}/x", unique("bad"));
    server.run(&[
        Case::error("reserved prefix", root, put("/aws/x", json!({})), 400, "ValidationException", "can't be prefixed"),
        Case::error("not fully qualified", root, put("a/b", json!({})), 400, "ValidationException", "fully qualified"),
        Case::error("too deep", root, put(&deep, json!({})), 400, "HierarchyLevelLimitExceededException", "15 levels"),
        Case::error(
            "too long for Standard",
            root,
            put(&fresh, json!({"Value": "x".repeat(4097)})),
            400,
            "ValidationException",
            "Standard tier parameters support a maximum",
        ),
        Case::ok("Advanced holds 8 KB", root, put(&fresh, json!({"Value": "x".repeat(8192), "Tier": "Advanced"})))
            .json("/Tier", "Advanced"),
        Case::error(
            "no way back to Standard",
            root,
            put(&fresh, json!({"Overwrite": true, "Tier": "Standard"})),
            400,
            "ValidationException",
            "can't downgrade",
        ),
        Case::error(
            "a pattern it breaks",
            root,
            put(&format!("{fresh}2"), json!({"AllowedPattern": "^\\d+$"})),
            400,
            "ParameterPatternMismatchException",
            "allowedPattern",
        ),
        Case::error(
            "a data type it cannot honour",
            root,
            put(&format!("{fresh}3"), json!({"DataType": "aws:ec2:image"})),
            400,
            "ValidationException",
            "data type is not supported",
        ),
        Case::error(
            "a key on a String",
            root,
            put(&format!("{fresh}4"), json!({"KeyId": "alias/x"})),
            400,
            "ValidationException",
            "KeyId",
        ),
        Case::error(
            "eleven names",
            root,
            ssm("GetParameters", json!({"Names": (0..11).map(|n| format!("/p{n}")).collect::<Vec<_>>()})),
            400,
            "ValidationException",
            "less than or equal to 10",
        ),
    ]);
}

fn parameters_are_authorized_on_their_arn(server: &TestServer) {
    let app = unique("authz");
    let allowed = format!("/{app}/allowed");
    let denied = format!("/{app}/denied");
    for name in [&allowed, &denied] {
        server.ssm(&server.root, "PutParameter", &json!({"Name": name, "Value": "v", "Type": "SecureString"})).ok();
    }
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["ssm:GetParameter","ssm:GetParameters"],"Resource":"arn:aws:ssm:us-east-1:{}:parameter/{app}/allowed"}}]}}"#,
        server.account_id
    );
    let reader = server.user_with_policy(&unique("reader"), Some(&policy));
    server.run(&[
        Case::ok("the allowed one", &reader, ssm("GetParameter", json!({"Name": allowed, "WithDecryption": true})))
            .json("/Parameter/Value", "v"),
        Case::denied(
            "the other",
            &reader,
            ssm("GetParameter", json!({"Name": denied})),
            format!("parameter/{app}/denied"),
        ),
        Case::denied(
            "both at once",
            &reader,
            ssm("GetParameters", json!({"Names": [allowed, denied]})),
            "ssm:GetParameters",
        ),
        Case::denied(
            "writing",
            &reader,
            ssm("PutParameter", json!({"Name": allowed, "Value": "w", "Overwrite": true})),
            "ssm:PutParameter",
        ),
    ]);
}

fn a_hundred_versions_are_kept_and_a_labelled_one_never_pushed_out(server: &TestServer) {
    let root = &server.root;
    let name = format!("/{}/counter", unique("many"));
    server.ssm(root, "PutParameter", &json!({"Name": name, "Value": "1", "Type": "String"})).ok();
    server.ssm(root, "LabelParameterVersion", &json!({"Name": name, "ParameterVersion": 1, "Labels": ["first"]})).ok();
    for value in 2..=100 {
        server.ssm(root, "PutParameter", &json!({"Name": name, "Value": value.to_string(), "Overwrite": true})).ok();
    }
    server.run(&[
        Case::error(
            "the 101st would push out the labelled first",
            root,
            ssm("PutParameter", json!({"Name": name, "Value": "101", "Overwrite": true})),
            400,
            "ParameterMaxVersionLimitExceeded",
            "Version 1, the oldest version, can't be deleted because it has a label",
        ),
        Case::ok("the label moves", root, ssm("LabelParameterVersion", json!({"Name": name, "Labels": ["first"]}))),
        Case::ok("then it goes", root, ssm("PutParameter", json!({"Name": name, "Value": "101", "Overwrite": true})))
            .json("/Version", 101),
        Case::error(
            "version 1 is gone",
            root,
            ssm("GetParameter", json!({"Name": format!("{name}:1")})),
            400,
            "ParameterVersionNotFound",
            "",
        ),
        Case::ok("version 2 is kept", root, ssm("GetParameter", json!({"Name": format!("{name}:2")})))
            .json("/Parameter/Value", "2"),
    ]);
}
