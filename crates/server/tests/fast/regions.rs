//! Regions: every region a client signs for is served. IAM and STS are global (an entity made
//! through one region is the account's everywhere); ECS, ECR, CloudWatch Logs and SSM keep
//! each region's state apart, with the region in their ARNs; a scope naming no region is
//! refused as AWS refuses it.

use crate::support::{TestServer, in_region, unique};
use serde_json::json;

crate::support::on_both_stores!(
    iam_and_sts_are_global_whatever_region_signs,
    regional_services_keep_each_region_apart,
    a_scope_naming_no_region_is_refused
);

fn iam_and_sts_are_global_whatever_region_signs(server: &TestServer) {
    let root = &server.root;
    let name = unique("global");
    in_region("eu-west-1", || server.iam(root, "CreateUser", &[("UserName", &name)]).ok());
    let arn = in_region("ap-southeast-2", || server.iam(root, "GetUser", &[("UserName", &name)]).ok().xml("Arn"));
    assert_eq!(arn, format!("arn:aws:iam::{}:user/{name}", server.account_id), "no region in a global ARN");
    let caller = in_region("sa-east-1", || server.sts(root, "GetCallerIdentity", &[]).ok().xml("Account"));
    assert_eq!(caller, server.account_id);
    let lookup = json!({"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": arn}]});
    let iam_events = |region| {
        in_region(region, || server.cloudtrail(root, "LookupEvents", &lookup).ok().value())["Events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["EventName"] == "CreateUser")
            .count()
    };
    assert_eq!(iam_events("us-east-1"), 1, "IAM's events are us-east-1's, whatever region signed them");
    assert_eq!(iam_events("eu-west-1"), 0);
    server.iam(root, "DeleteUser", &[("UserName", &name)]).ok();
}

fn regional_services_keep_each_region_apart(server: &TestServer) {
    let root = &server.root;
    let account = &server.account_id;

    // The same log group name in two regions: two groups, each with its region's ARN.
    let group = format!("/regions/{}", unique("group"));
    for region in ["us-east-1", "eu-west-1"] {
        in_region(region, || server.logs(root, "CreateLogGroup", &json!({"logGroupName": group})).ok());
        let described = in_region(region, || {
            server.logs(root, "DescribeLogGroups", &json!({"logGroupNamePrefix": group})).ok().value()
        });
        assert_eq!(described["logGroups"][0]["arn"], format!("arn:aws:logs:{region}:{account}:log-group:{group}:*"));
        assert_eq!(described["logGroups"].as_array().map(Vec::len), Some(1), "{region}: {described}");
    }
    in_region("eu-west-1", || server.logs(root, "DeleteLogGroup", &json!({"logGroupName": group})).ok());
    let left = server.logs(root, "DescribeLogGroups", &json!({"logGroupNamePrefix": group})).ok().value();
    assert_eq!(left["logGroups"].as_array().map(Vec::len), Some(1), "us-east-1's group outlives eu-west-1's: {left}");
    server.logs(root, "DeleteLogGroup", &json!({"logGroupName": group})).ok();

    // A cluster made in one region is listed and found there only.
    let cluster = unique("regional");
    let arn = in_region("eu-central-1", || {
        server.ecs(root, "CreateCluster", &json!({"clusterName": cluster})).ok().value()["cluster"]["clusterArn"]
            .clone()
    });
    assert_eq!(arn, format!("arn:aws:ecs:eu-central-1:{account}:cluster/{cluster}"));
    let home = server.ecs(root, "ListClusters", &json!({})).ok().value();
    assert!(!home["clusterArns"].as_array().unwrap().contains(&arn), "not listed in us-east-1: {home}");
    let found = server.ecs(root, "DescribeClusters", &json!({"clusters": [arn]})).ok().value();
    assert_eq!(found["failures"][0]["reason"], "MISSING", "another region's ARN names nothing here: {found}");
    let there = in_region("eu-central-1", || server.ecs(root, "DescribeClusters", &json!({"clusters": [cluster]})));
    assert_eq!(there.ok().value()["clusters"][0]["clusterArn"], arn);
    // Its events are that region's event history; IAM's are us-east-1's.
    let lookup = json!({"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": arn}]});
    let history = in_region("eu-central-1", || server.cloudtrail(root, "LookupEvents", &lookup).ok().value());
    let detail: serde_json::Value =
        serde_json::from_str(history["Events"][0]["CloudTrailEvent"].as_str().unwrap_or_default()).unwrap();
    assert_eq!(detail["awsRegion"], "eu-central-1", "{history}");
    let home = server.cloudtrail(root, "LookupEvents", &lookup).ok().value();
    assert_eq!(home["Events"].as_array().map(Vec::len), Some(0), "not in us-east-1's history: {home}");
    in_region("eu-central-1", || server.ecs(root, "DeleteCluster", &json!({"cluster": cluster})).ok());

    // A repository, and a task definition family, are their region's.
    let repository = unique("regional-repo");
    let created = in_region("us-west-2", || {
        server.ecr(root, "CreateRepository", &json!({"repositoryName": repository})).ok().value()
    });
    assert_eq!(
        created["repository"]["repositoryArn"],
        format!("arn:aws:ecr:us-west-2:{account}:repository/{repository}")
    );
    let elsewhere = server.ecr(root, "DescribeRepositories", &json!({"repositoryNames": [repository]}));
    assert_eq!((elsewhere.status, elsewhere.code()), (400, "RepositoryNotFoundException".to_owned()));
    in_region("us-west-2", || server.ecr(root, "DeleteRepository", &json!({"repositoryName": repository})).ok());

    let family = unique("regional-family");
    let definition = json!({"family": family, "containerDefinitions": [{"name": "web", "image": "web", "memory": 64}]});
    for (region, revision) in [("ap-northeast-1", 1), ("ap-northeast-1", 2), ("us-east-1", 1)] {
        let registered = in_region(region, || server.ecs(root, "RegisterTaskDefinition", &definition).ok().value());
        assert_eq!(
            registered["taskDefinition"]["taskDefinitionArn"],
            format!("arn:aws:ecs:{region}:{account}:task-definition/{family}:{revision}"),
            "revisions count per region"
        );
    }

    // An activation is listed in its region only (its role is global).
    let role = unique("regional-role");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    server.iam(root, "CreateRole", &[("RoleName", &role), ("AssumeRolePolicyDocument", trust)]).ok();
    let activation = in_region("eu-north-1", || {
        server.ssm(root, "CreateActivation", &json!({"IamRole": role})).ok().value()["ActivationId"].clone()
    });
    let listed = |region| {
        in_region(region, || server.ssm(root, "DescribeActivations", &json!({})).ok().value()["ActivationList"].clone())
    };
    let ids = |list: serde_json::Value| -> Vec<serde_json::Value> {
        list.as_array().unwrap().iter().map(|a| a["ActivationId"].clone()).collect()
    };
    assert!(ids(listed("eu-north-1")).contains(&activation));
    assert!(!ids(listed("us-east-1")).contains(&activation));
    in_region("eu-north-1", || server.ssm(root, "DeleteActivation", &json!({"ActivationId": activation})).ok());
}

fn a_scope_naming_no_region_is_refused(server: &TestServer) {
    for region in ["mars-1", "US-EAST-1", "local"] {
        let refused = in_region(region, || server.ecs(&server.root, "ListClusters", &json!({})));
        assert_eq!(refused.status, 403, "{region}");
        assert!(
            refused.message().contains(&format!("Credential should be scoped to a valid region, not '{region}'")),
            "{region}: {}",
            refused.message()
        );
    }
}
