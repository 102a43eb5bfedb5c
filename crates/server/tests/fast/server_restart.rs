//! A server stopped and started again on its data directory, in process: the account, the
//! root key and what was created are still there.

use crate::support::{TestServer, unique};
use serde_json::json;

#[test]
fn a_restarted_server_keeps_its_account_keys_and_entities() {
    let first = TestServer::start();
    let account = first.account_id.clone();
    let root = first.root.clone();
    let user = unique("durable");
    let key = first.user_with_policy(&user, Some(crate::support::ALLOW_ALL));
    first.ecs(&root, "CreateCluster", &json!({"clusterName": "kept"})).ok();
    first.logs(&root, "CreateLogGroup", &json!({"logGroupName": "kept"})).ok();

    let second = first.restart();
    assert_eq!(second.account_id, account, "the account is the data directory's");
    assert_eq!(second.root.id, root.id, "root-credentials is written on the first start only");
    assert_eq!(second.sts(&key, "GetCallerIdentity", &[]).ok().xml("Arn"), second.user_arn(&user));
    let clusters = second.ecs(&root, "DescribeClusters", &json!({"clusters": ["kept"]})).ok().value();
    assert_eq!(clusters["clusters"][0]["status"], "ACTIVE", "{clusters}");
    let groups = second.logs(&root, "DescribeLogGroups", &json!({"logGroupNamePrefix": "kept"})).ok().value();
    assert_eq!(groups["logGroups"][0]["logGroupName"], "kept", "{groups}");
    let data_dir = second.data_dir.clone();
    drop(second);
    assert!(!data_dir.exists(), "a dropped server removes its data directory");
}
