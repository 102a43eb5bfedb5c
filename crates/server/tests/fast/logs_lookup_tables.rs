//! CloudWatch Logs' lookup tables, in process on both stores: created, described, read,
//! replaced, tagged and deleted; CSV that is no table refused; who may read one, by its ARN.

use crate::support::{Case, TestServer, logs, unique};
use serde_json::json;

crate::support::on_both_stores!(
    lookup_tables_are_created_read_replaced_and_deleted,
    lookup_tables_are_authorized_on_their_arns
);

fn lookup_tables_are_created_read_replaced_and_deleted(server: &TestServer) {
    let root = &server.root;
    let name = unique("users_");
    let arn = format!("arn:aws:logs:us-east-1:{}:lookup-table:{name}", server.account_id);
    let body = "id,name\n1,\"Ann, A\"\n2,Bob\n";
    let key = format!("arn:aws:kms:us-east-1:{}:key/1234abcd-12ab-34cd-56ef-1234567890ab", server.account_id);
    server.run(&[
        Case::ok(
            "created",
            root,
            logs(
                "CreateLookupTable",
                json!({"lookupTableName": name, "description": "who", "tableBody": body, "tags": {"team": "edge"}}),
            ),
        )
        .json("/lookupTableArn", arn.as_str()),
        Case::error(
            "created again",
            root,
            logs("CreateLookupTable", json!({"lookupTableName": name, "tableBody": body})),
            400,
            "ResourceAlreadyExistsException",
            "already exists",
        ),
        Case::ok("described", root, logs("DescribeLookupTables", json!({"lookupTableNamePrefix": name})))
            .json_len("/lookupTables", 1)
            .json("/lookupTables/0/tableFields", json!(["id", "name"]))
            .json("/lookupTables/0/recordsCount", 2)
            .json("/lookupTables/0/sizeBytes", body.len())
            .json("/lookupTables/0/description", "who"),
        Case::ok("read", root, logs("GetLookupTable", json!({"lookupTableArn": arn})))
            .json("/tableBody", body)
            .json("/lookupTableName", name.as_str()),
        Case::ok("its tags", root, logs("ListTagsForResource", json!({"resourceArn": arn})))
            .json("/tags", json!({"team": "edge"})),
        Case::ok(
            "replaced",
            root,
            logs("UpdateLookupTable", json!({"lookupTableArn": arn, "tableBody": "id\n7\n", "kmsKeyId": key})),
        )
        .json("/lookupTableArn", arn.as_str()),
        Case::ok("replaced whole", root, logs("DescribeLookupTables", json!({"lookupTableNamePrefix": name})))
            .json("/lookupTables/0/tableFields", json!(["id"]))
            .json("/lookupTables/0/recordsCount", 1)
            .json("/lookupTables/0/kmsKeyId", key.as_str())
            .json("/lookupTables/0/description", serde_json::Value::Null),
        Case::error(
            "rows of another width",
            root,
            logs("UpdateLookupTable", json!({"lookupTableArn": arn, "tableBody": "id,name\n1\n"})),
            400,
            "ValidationException",
            "Row 2",
        ),
        Case::error(
            "a column named twice",
            root,
            logs("CreateLookupTable", json!({"lookupTableName": unique("t_"), "tableBody": "id,id\n1,2\n"})),
            400,
            "ValidationException",
            "named twice",
        ),
        Case::error(
            "an alias for a key",
            root,
            logs(
                "CreateLookupTable",
                json!({"lookupTableName": unique("t_"), "tableBody": "id\n", "kmsKeyId": "alias/mine"}),
            ),
            400,
            "AccessDeniedException",
            "KMS key",
        ),
        Case::ok("deleted", root, logs("DeleteLookupTable", json!({"lookupTableArn": arn}))),
        Case::error(
            "deleted again",
            root,
            logs("DeleteLookupTable", json!({"lookupTableArn": arn})),
            400,
            "ResourceNotFoundException",
            "does not exist",
        ),
        Case::error(
            "another region's",
            root,
            logs("GetLookupTable", json!({"lookupTableArn": arn.replace("us-east-1", "eu-west-1")})),
            400,
            "ResourceNotFoundException",
            "does not exist",
        ),
    ]);
}

fn lookup_tables_are_authorized_on_their_arns(server: &TestServer) {
    let arn = format!("arn:aws:logs:us-east-1:{}:lookup-table:secret_users", server.account_id);
    server.run(&[
        Case::denied(
            "a user without permissions",
            server.nobody(),
            logs("GetLookupTable", json!({"lookupTableArn": arn})),
            format!("logs:GetLookupTable on resource: {arn}"),
        ),
        Case::denied(
            "creating one",
            server.nobody(),
            logs("CreateLookupTable", json!({"lookupTableName": "secret_users", "tableBody": "id\n"})),
            format!("logs:CreateLookupTable on resource: {arn}"),
        ),
    ]);
}
