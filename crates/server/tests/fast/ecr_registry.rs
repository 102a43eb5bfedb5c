//! ECR beyond repositories and images, in process: resource tags (with CreateRepository's,
//! ECR's limits, and `aws:RequestTag` / `aws:TagKeys` deciding TagResource and
//! UntagResource), encryption kept as created, the registry's own settings (registry
//! policy, replication, scanning, account settings, pull-time exclusions), scanning in a
//! registry without a scanner, an image's replication and signing status, referrers and
//! storage class, and the features the registry lacks, each answered as documented in
//! `ecr::unavailable`.

use serde_json::json;

use crate::ecr_lifecycle::push_image;
use crate::support::{Case, TestServer, ecr, in_region, unique};

crate::support::on_both_stores!(
    repositories_are_tagged_untagged_and_listed_within_ecrs_limits,
    tag_conditions_decide_tag_resource_and_untag_resource,
    encryption_is_kept_as_created,
    registry_settings_are_kept_and_answered_and_images_replicate_between_regions,
    scanning_answers_as_a_registry_without_a_scanner,
    image_status_referrers_and_storage_class_are_answered,
    missing_features_are_answered_as_ecr_answers_a_registry_without_them,
    a_user_without_permissions_is_refused_every_registry_operation
);

fn arn(server: &TestServer, name: &str) -> String {
    format!("arn:aws:ecr:us-east-1:{}:repository/{name}", server.account_id)
}

fn repositories_are_tagged_untagged_and_listed_within_ecrs_limits(server: &TestServer) {
    let root = &server.root;
    let name = unique("tagged");
    let arn = arn(server, &name);
    let fifty: Vec<_> = (0..50).map(|n| json!({"Key": format!("k{n:02}"), "Value": "v"})).collect();
    server.run(&[
        Case::ok("created with tags", root,
            ecr("CreateRepository", json!({"repositoryName": name, "tags": [{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "dev"}]}))),
        Case::ok("listed", root, ecr("ListTagsForResource", json!({"resourceArn": arn})))
            .json("/tags", json!([{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "a"}])),
        Case::ok("tagged", root, ecr("TagResource", json!({"resourceArn": arn, "tags": [{"Key": "team", "Value": "b"}, {"Key": "cost", "Value": ""}]}))),
        Case::ok("overwritten and added", root, ecr("ListTagsForResource", json!({"resourceArn": arn})))
            .json("/tags", json!([{"Key": "cost", "Value": ""}, {"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "b"}])),
        Case::ok("untagged", root, ecr("UntagResource", json!({"resourceArn": arn, "tagKeys": ["env", "absent"]}))),
        Case::ok("removed", root, ecr("ListTagsForResource", json!({"resourceArn": arn}))).json_len("/tags", 2),
        Case::error("a reserved key", root, ecr("TagResource", json!({"resourceArn": arn, "tags": [{"Key": "aws:x", "Value": "v"}]})),
            400, "InvalidTagParameterException", "reserved"),
        Case::error("a long key", root, ecr("TagResource", json!({"resourceArn": arn, "tags": [{"Key": "k".repeat(129), "Value": "v"}]})),
            400, "InvalidTagParameterException", "between 1 and 128"),
        Case::error("fifty more", root, ecr("TagResource", json!({"resourceArn": arn, "tags": fifty})),
            400, "TooManyTagsException", "at most 50 tags"),
        Case::ok("nothing of it kept", root, ecr("ListTagsForResource", json!({"resourceArn": arn}))).json_len("/tags", 2),
        Case::error("created with fifty-one", root,
            ecr("CreateRepository", json!({"repositoryName": unique("many"), "tags": (0..51).map(|n| json!({"Key": format!("k{n}"), "Value": "v"})).collect::<Vec<_>>()})),
            400, "TooManyTagsException", "at most 50 tags"),
        Case::error("not a repository", root, ecr("ListTagsForResource", json!({"resourceArn": "arn:aws:ecs:us-east-1:111122223333:cluster/x"})),
            400, "InvalidParameterException", "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'"),
        Case::error("no such repository", root, ecr("ListTagsForResource", json!({"resourceArn": format!("{arn}-gone")})),
            400, "RepositoryNotFoundException", "does not exist in the registry"),
        Case::ok("deleted", root, ecr("DeleteRepository", json!({"repositoryName": name}))),
        Case::ok("created again", root, ecr("CreateRepository", json!({"repositoryName": name}))),
        Case::ok("with no tags of the old one", root, ecr("ListTagsForResource", json!({"resourceArn": arn}))).json_len("/tags", 0),
    ]);
}

fn tag_conditions_decide_tag_resource_and_untag_resource(server: &TestServer) {
    let name = unique("conditioned");
    let arn = arn(server, &name);
    server.ecr(&server.root, "CreateRepository", &json!({"repositoryName": name})).ok();
    let policy = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecr:TagResource", "ecr:UntagResource"], "Resource": "*",
         "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["env"]}, "StringEqualsIfExists": {"aws:RequestTag/env": "dev"}}}]}"#;
    let key = server.user_with_policy(&unique("tagger"), Some(policy));
    let tag = |k: &str, v: &str| ecr("TagResource", json!({"resourceArn": arn, "tags": [{"Key": k, "Value": v}]}));
    server.run(&[
        Case::ok("env=dev", &key, tag("env", "dev")),
        Case::denied("env=prod", &key, tag("env", "prod"), "is not authorized to perform: ecr:TagResource"),
        Case::denied("another key", &key, tag("team", "dev"), "is not authorized to perform: ecr:TagResource"),
        Case::ok("untag env", &key, ecr("UntagResource", json!({"resourceArn": arn, "tagKeys": ["env"]}))),
        Case::denied(
            "untag team",
            &key,
            ecr("UntagResource", json!({"resourceArn": arn, "tagKeys": ["team"]})),
            "is not authorized to perform: ecr:UntagResource",
        ),
    ]);
}

fn encryption_is_kept_as_created(server: &TestServer) {
    let root = &server.root;
    let (plain, kms) = (unique("plain"), unique("kms"));
    let key = "arn:aws:kms:us-east-1:111122223333:key/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab";
    server.run(&[
        Case::ok("AES256 by default", root, ecr("CreateRepository", json!({"repositoryName": plain})))
            .json("/repository/encryptionConfiguration/encryptionType", "AES256")
            .json("/repository/imageScanningConfiguration/scanOnPush", false),
        Case::ok("a KMS key", root,
            ecr("CreateRepository", json!({"repositoryName": kms, "encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": key}})))
            .json("/repository/encryptionConfiguration/encryptionType", "KMS")
            .json("/repository/encryptionConfiguration/kmsKey", key),
        Case::ok("described so", root, ecr("DescribeRepositories", json!({"repositoryNames": [kms]})))
            .json("/repositories/0/encryptionConfiguration/kmsKey", key),
        Case::error("a key with AES256", root,
            ecr("CreateRepository", json!({"repositoryName": unique("bad"), "encryptionConfiguration": {"encryptionType": "AES256", "kmsKey": key}})),
            400, "InvalidParameterException", "only with the KMS or KMS_DSSE encryption type"),
        Case::error("an unknown type", root,
            ecr("CreateRepository", json!({"repositoryName": unique("bad"), "encryptionConfiguration": {"encryptionType": "ROT13"}})),
            400, "InvalidParameterException", "Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]"),
        Case::ok("scan on push", root,
            ecr("CreateRepository", json!({"repositoryName": unique("scan"), "imageScanningConfiguration": {"scanOnPush": true}})))
            .json("/repository/imageScanningConfiguration/scanOnPush", true),
        Case::error("an alias, which Homeport cannot resolve without KMS", root,
            ecr("CreateRepository", json!({"repositoryName": unique("bad"), "encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": "alias/app"}})),
            400, "InvalidParameterException", "Homeport has no KMS to resolve the alias alias/app"),
        Case::error("a key of another region", root,
            ecr("CreateRepository", json!({"repositoryName": unique("bad"), "encryptionConfiguration": {"encryptionType": "KMS",
                "kmsKey": "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"}})),
            400, "InvalidParameterException", "the KMS key must be in the repository's region, us-east-1"),
        Case::error("neither an id nor an ARN", root,
            ecr("CreateRepository", json!({"repositoryName": unique("bad"), "encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": "arn:aws:s3:::bucket"}})),
            400, "InvalidParameterException", "is neither a KMS key id nor a KMS key ARN"),
    ]);
    // A key id is answered as its key's ARN; no key as the account's AWS managed key for ECR,
    // the same one for every repository of the account and region.
    let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
    let by_id = server
        .ecr(
            root,
            "CreateRepository",
            &json!({"repositoryName": unique("id"),
        "encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": id}}),
        )
        .ok()
        .value();
    let wanted = format!("arn:aws:kms:us-east-1:{}:key/{id}", server.account_id);
    assert_eq!(by_id["repository"]["encryptionConfiguration"]["kmsKey"], wanted.as_str(), "{by_id}");
    let managed: Vec<String> = ["KMS", "KMS_DSSE"]
        .iter()
        .map(|kind| {
            let created = server
                .ecr(
                    root,
                    "CreateRepository",
                    &json!({"repositoryName": unique("managed"),
                "encryptionConfiguration": {"encryptionType": kind}}),
                )
                .ok()
                .value();
            created["repository"]["encryptionConfiguration"]["kmsKey"].as_str().unwrap().to_owned()
        })
        .collect();
    let prefix = format!("arn:aws:kms:us-east-1:{}:key/", server.account_id);
    assert!(managed[0].starts_with(&prefix) && managed[0].len() == prefix.len() + 36, "{managed:?}");
    assert_eq!(managed[0], managed[1], "one managed key per account and region");
}

/// One case, as the registry's replication configuration is one value the steps share.
fn registry_settings_are_kept_and_answered_and_images_replicate_between_regions(server: &TestServer) {
    registry_settings_are_kept_and_answered(server);
    images_replicate_between_regions(server);
}

fn images_replicate_between_regions(server: &TestServer) {
    let root = &server.root;
    let account = &server.account_id;
    let replication = json!({"rules": [{"destinations": [{"region": "eu-west-1", "registryId": account}],
        "repositoryFilters": [{"filter": "replicated-", "filterType": "PREFIX_MATCH"}]}]});
    server.ecr(root, "PutReplicationConfiguration", &json!({"replicationConfiguration": replication})).ok();
    let (name, plain) = (unique("replicated-"), unique("plain"));
    for repository in [&name, &plain] {
        server.ecr(root, "CreateRepository", &json!({"repositoryName": repository})).ok();
    }
    let first = push_image(server, &name, &name, Some("v1"));
    push_image(server, &plain, &plain, Some("v1"));
    let in_ireland = |call: crate::support::Call| in_region("eu-west-1", || server.call(root, &call));
    let described = in_ireland(ecr("DescribeImages", json!({"repositoryName": name}))).ok().value();
    assert_eq!(described["imageDetails"][0]["imageDigest"], first.as_str(), "{described}");
    assert_eq!(described["imageDetails"][0]["imageTags"], json!(["v1"]));
    let repository = in_ireland(ecr("DescribeRepositories", json!({"repositoryNames": [name]}))).ok().value();
    assert_eq!(
        repository["repositories"][0]["repositoryArn"],
        format!("arn:aws:ecr:eu-west-1:{account}:repository/{name}")
    );
    let other = in_ireland(ecr("DescribeRepositories", json!({"repositoryNames": [plain]})));
    assert_eq!(other.code(), "RepositoryNotFoundException", "no rule selects it");
    // The replica is a whole image there: its manifest and layers.
    let fetched = in_ireland(ecr("BatchGetImage", json!({"repositoryName": name, "imageIds": [{"imageTag": "v1"}]})))
        .ok()
        .value();
    let manifest: serde_json::Value =
        serde_json::from_str(fetched["images"][0]["imageManifest"].as_str().unwrap()).unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();
    let available =
        in_ireland(ecr("BatchCheckLayerAvailability", json!({"repositoryName": name, "layerDigests": [layer]})))
            .ok()
            .value();
    assert_eq!(available["layers"][0]["layerAvailability"], "AVAILABLE", "{available}");

    // An immutable tag there refuses the next v1: the push here succeeds, the replica fails.
    in_ireland(ecr("PutImageTagMutability", json!({"repositoryName": name, "imageTagMutability": "IMMUTABLE"}))).ok();
    let second = push_image(server, &name, &format!("{name}-2"), Some("v1"));
    let status = |digest: &str| {
        server
            .ecr(
                root,
                "DescribeImageReplicationStatus",
                &json!({"repositoryName": name, "imageId": {"imageDigest": digest}}),
            )
            .ok()
            .value()
    };
    let complete = status(&first);
    assert_eq!(
        complete["replicationStatuses"],
        json!([{"region": "eu-west-1", "registryId": account, "status": "COMPLETE"}])
    );
    let failed = status(&second);
    assert_eq!(failed["replicationStatuses"][0]["status"], "FAILED", "{failed}");
    assert_eq!(failed["replicationStatuses"][0]["failureCode"], "ImageTagAlreadyExistsException");
    server.ecr(root, "PutReplicationConfiguration", &json!({"replicationConfiguration": {"rules": []}})).ok();
}

fn registry_settings_are_kept_and_answered(server: &TestServer) {
    let root = &server.root;
    let account = &server.account_id;
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"replicate","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":["ecr:CreateRepository","ecr:ReplicateImage"],"Resource":"arn:aws:ecr:us-east-1:{account}:repository/*"}}]}}"#
    );
    let replication = json!({"rules": [{"destinations": [{"region": "eu-west-1", "registryId": account}],
        "repositoryFilters": [{"filter": "replicated-", "filterType": "PREFIX_MATCH"}]}]});
    let exclusion = format!("arn:aws:iam::{account}:role/ci");
    server.run(&[
        Case::error("no registry policy", root, ecr("GetRegistryPolicy", json!({})), 400, "RegistryPolicyNotFoundException",
            format!("Registry policy does not exist in the registry with id '{account}'")),
        Case::ok("put one", root, ecr("PutRegistryPolicy", json!({"policyText": policy}))).json("/policyText", policy.as_str()),
        Case::ok("read it", root, ecr("GetRegistryPolicy", json!({}))).json("/registryId", account.as_str()),
        Case::error("a policy without a principal", root,
            ecr("PutRegistryPolicy", json!({"policyText": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}"#})),
            400, "InvalidParameterException", "Invalid registry policy provided"),
        Case::ok("delete it", root, ecr("DeleteRegistryPolicy", json!({}))).json("/policyText", policy.as_str()),
        Case::error("deleted", root, ecr("DeleteRegistryPolicy", json!({})), 400, "RegistryPolicyNotFoundException", "does not exist"),
        Case::ok("replication", root, ecr("PutReplicationConfiguration", json!({"replicationConfiguration": replication})))
            .json("/replicationConfiguration", replication.clone()),
        Case::ok("described", root, ecr("DescribeRegistry", json!({})))
            .json("/registryId", account.as_str())
            .json("/replicationConfiguration", replication),
        Case::error("another account", root,
            ecr("PutReplicationConfiguration", json!({"replicationConfiguration": {"rules": [{"destinations": [{"region": "eu-west-1", "registryId": "000000000000"}]}]}})),
            400, "InvalidParameterException", "Homeport replicates only within its own registry"),
        Case::error("the same region", root,
            ecr("PutReplicationConfiguration", json!({"replicationConfiguration": {"rules": [{"destinations": [{"region": "us-east-1", "registryId": account}]}]}})),
            400, "InvalidParameterException", "cannot be the source region"),
        Case::ok("no rules", root, ecr("PutReplicationConfiguration", json!({"replicationConfiguration": {"rules": []}}))),
        Case::ok("basic scanning", root, ecr("GetRegistryScanningConfiguration", json!({})))
            .json("/scanningConfiguration/scanType", "BASIC")
            .json_len("/scanningConfiguration/rules", 0),
        Case::ok("put basic", root, ecr("PutRegistryScanningConfiguration", json!({"scanType": "BASIC"})))
            .json("/registryScanningConfiguration/scanType", "BASIC"),
        Case::error("enhanced", root, ecr("PutRegistryScanningConfiguration", json!({"scanType": "ENHANCED"})),
            400, "ValidationException", "Homeport has no vulnerability scanner"),
        Case::ok("blob mounting", root, ecr("GetAccountSetting", json!({"name": "BLOB_MOUNTING"}))).json("/value", "DISABLED"),
        Case::error("enable it", root, ecr("PutAccountSetting", json!({"name": "BLOB_MOUNTING", "value": "ENABLED"})),
            400, "ValidationException", "does not mount blobs across repositories"),
        Case::ok("policy scope V2", root, ecr("PutAccountSetting", json!({"name": "REGISTRY_POLICY_SCOPE", "value": "V2"})))
            .json("/value", "V2"),
        Case::ok("read V2", root, ecr("GetAccountSetting", json!({"name": "REGISTRY_POLICY_SCOPE"}))).json("/value", "V2"),
        Case::error("an unknown setting", root, ecr("GetAccountSetting", json!({"name": "COLOUR"})),
            400, "ValidationException", "Invalid account setting name 'COLOUR'"),
        Case::ok("exclude a role", root, ecr("RegisterPullTimeUpdateExclusion", json!({"principalArn": exclusion})))
            .json("/principalArn", exclusion.as_str()),
        Case::error("twice", root, ecr("RegisterPullTimeUpdateExclusion", json!({"principalArn": exclusion})),
            400, "ExclusionAlreadyExistsException", "already excluded"),
        Case::ok("listed", root, ecr("ListPullTimeUpdateExclusions", json!({})))
            .json("/pullTimeUpdateExclusions", json!([exclusion])),
        Case::ok("removed", root, ecr("DeregisterPullTimeUpdateExclusion", json!({"principalArn": exclusion}))),
        Case::error("removed again", root, ecr("DeregisterPullTimeUpdateExclusion", json!({"principalArn": exclusion})),
            400, "ExclusionNotFoundException", "is not excluded"),
        Case::error("not a principal", root, ecr("RegisterPullTimeUpdateExclusion", json!({"principalArn": "arn:aws:iam::1:group/g"})),
            400, "InvalidParameterException", "principalArn"),
    ]);
}

fn scanning_answers_as_a_registry_without_a_scanner(server: &TestServer) {
    let root = &server.root;
    let name = unique("scanned");
    server.ecr(root, "CreateRepository", &json!({"repositoryName": name})).ok();
    let digest = push_image(server, &name, &name, Some("v1"));
    server.run(&[
        Case::ok(
            "scan on push off",
            root,
            ecr(
                "PutImageScanningConfiguration",
                json!({"repositoryName": name, "imageScanningConfiguration": {"scanOnPush": false}}),
            ),
        )
        .json("/imageScanningConfiguration/scanOnPush", false),
        Case::ok(
            "configurations",
            root,
            ecr("BatchGetRepositoryScanningConfiguration", json!({"repositoryNames": [name, "nobody-made-me"]})),
        )
        .json("/scanningConfigurations/0/scanFrequency", "MANUAL")
        .json("/failures/0/failureCode", "REPOSITORY_NOT_FOUND"),
        Case::error(
            "start a scan",
            root,
            ecr("StartImageScan", json!({"repositoryName": name, "imageId": {"imageTag": "v1"}})),
            400,
            "UnsupportedImageTypeException",
            "Homeport has no vulnerability scanner",
        ),
        Case::error(
            "its findings",
            root,
            ecr("DescribeImageScanFindings", json!({"repositoryName": name, "imageId": {"imageDigest": digest}})),
            400,
            "ScanNotFoundException",
            format!("Image scan does not exist for the image with '{{imageDigest:'{digest}', imageTag:'null'}}'"),
        ),
        Case::error(
            "a missing image",
            root,
            ecr("StartImageScan", json!({"repositoryName": name, "imageId": {"imageTag": "v9"}})),
            400,
            "ImageNotFoundException",
            "imageTag:'v9'",
        ),
        // Scan on push is kept; with no scanner, every image's scan says so, in ECR's shapes.
        Case::ok(
            "scan on push on",
            root,
            ecr(
                "PutImageScanningConfiguration",
                json!({"repositoryName": name, "imageScanningConfiguration": {"scanOnPush": true}}),
            ),
        )
        .json("/imageScanningConfiguration/scanOnPush", true),
        Case::ok("described so", root, ecr("DescribeRepositories", json!({"repositoryNames": [name]})))
            .json("/repositories/0/imageScanningConfiguration/scanOnPush", true),
        Case::ok(
            "configured so",
            root,
            ecr("BatchGetRepositoryScanningConfiguration", json!({"repositoryNames": [name]})),
        )
        .json("/scanningConfigurations/0/scanOnPush", true)
        .json("/scanningConfigurations/0/scanFrequency", "SCAN_ON_PUSH"),
        Case::ok(
            "its findings: no scanner",
            root,
            ecr("DescribeImageScanFindings", json!({"repositoryName": name, "imageId": {"imageTag": "v1"}})),
        )
        .json("/imageId", json!({"imageDigest": digest, "imageTag": "v1"}))
        .json("/imageScanStatus/status", "FAILED")
        .contains("no vulnerability scanner configured"),
        Case::ok("its status", root, ecr("DescribeImages", json!({"repositoryName": name})))
            .json("/imageDetails/0/imageScanStatus/status", "FAILED"),
    ]);
}

fn image_status_referrers_and_storage_class_are_answered(server: &TestServer) {
    let root = &server.root;
    let name = unique("status");
    server.ecr(root, "CreateRepository", &json!({"repositoryName": name})).ok();
    let digest = push_image(server, &name, &name, Some("v1"));
    // An OCI artifact whose subject is the image (a signature, say): a referrer.
    let config_digest = crate::ecr_images::upload_layer(server, &name, b"{}");
    let artifact = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example.signature",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": config_digest},
        "layers": [],
        "subject": {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 1, "digest": digest},
        "annotations": {"org.example.signed-by": "ci"},
    })
    .to_string();
    let pushed = server.ecr(root, "PutImage", &json!({"repositoryName": name, "imageManifest": artifact})).ok().value();
    let referrer = pushed["image"]["imageId"]["imageDigest"].as_str().unwrap().to_owned();
    server.run(&[
        Case::ok("no replication", root, ecr("DescribeImageReplicationStatus", json!({"repositoryName": name, "imageId": {"imageTag": "v1"}})))
            .json("/imageId/imageDigest", digest.as_str())
            .json_len("/replicationStatuses", 0),
        Case::ok("no signing", root, ecr("DescribeImageSigningStatus", json!({"repositoryName": name, "imageId": {"imageDigest": digest}})))
            .json_len("/signingStatuses", 0),
        Case::ok("its referrer", root, ecr("ListImageReferrers", json!({"repositoryName": name, "subjectId": {"imageDigest": digest}})))
            .json_len("/referrers", 1)
            .json("/referrers/0/digest", referrer.as_str())
            .json("/referrers/0/artifactType", "application/vnd.example.signature")
            .json("/referrers/0/annotations/org.example.signed-by", "ci")
            .json("/referrers/0/artifactStatus", "ACTIVE"),
        Case::ok("of another type", root,
            ecr("ListImageReferrers", json!({"repositoryName": name, "subjectId": {"imageDigest": digest}, "filter": {"artifactTypes": ["x/y"]}})))
            .json_len("/referrers", 0),
        Case::ok("standard stays standard", root,
            ecr("UpdateImageStorageClass", json!({"repositoryName": name, "imageId": {"imageTag": "v1"}, "targetStorageClass": "STANDARD"})))
            .json("/imageStatus", "ACTIVE"),
        Case::error("no archive", root,
            ecr("UpdateImageStorageClass", json!({"repositoryName": name, "imageId": {"imageTag": "v1"}, "targetStorageClass": "ARCHIVE"})),
            400, "ImageStorageClassUpdateNotSupportedException", "archive storage class is not supported"),
    ]);
}

fn missing_features_are_answered_as_ecr_answers_a_registry_without_them(server: &TestServer) {
    let root = &server.root;
    let account = &server.account_id;
    server.run(&[
        Case::ok("no pull-through cache rules", root, ecr("DescribePullThroughCacheRules", json!({})))
            .json_len("/pullThroughCacheRules", 0),
        Case::error(
            "create one",
            root,
            ecr(
                "CreatePullThroughCacheRule",
                json!({"ecrRepositoryPrefix": "hub", "upstreamRegistryUrl": "registry-1.docker.io"}),
            ),
            400,
            "UnsupportedUpstreamRegistryException",
            "does not pull from upstream registries",
        ),
        Case::error(
            "validate one",
            root,
            ecr("ValidatePullThroughCacheRule", json!({"ecrRepositoryPrefix": "hub"})),
            400,
            "PullThroughCacheRuleNotFoundException",
            format!("The pull through cache rule with prefix 'hub' does not exist in the registry with id '{account}'"),
        ),
        Case::error(
            "a bad prefix",
            root,
            ecr("DeletePullThroughCacheRule", json!({"ecrRepositoryPrefix": "Hub"})),
            400,
            "InvalidParameterException",
            "ecrRepositoryPrefix",
        ),
        Case::ok("no templates", root, ecr("DescribeRepositoryCreationTemplates", json!({})))
            .json_len("/repositoryCreationTemplates", 0),
        Case::error(
            "create one",
            root,
            ecr("CreateRepositoryCreationTemplate", json!({"prefix": "ROOT", "appliedFor": ["REPLICATION"]})),
            400,
            "ValidationException",
            "Repository creation templates are not supported",
        ),
        Case::error(
            "delete one",
            root,
            ecr("DeleteRepositoryCreationTemplate", json!({"prefix": "team/"})),
            400,
            "TemplateNotFoundException",
            "The repository creation template with prefix 'team/' does not exist",
        ),
        Case::error(
            "no signing configuration",
            root,
            ecr("GetSigningConfiguration", json!({})),
            400,
            "SigningConfigurationNotFoundException",
            "Signing configuration does not exist",
        ),
        Case::error(
            "put one",
            root,
            ecr("PutSigningConfiguration", json!({"signingConfiguration": {"rules": []}})),
            400,
            "ValidationException",
            "Homeport has no signer",
        ),
    ]);
}

fn a_user_without_permissions_is_refused_every_registry_operation(server: &TestServer) {
    let nobody = server.nobody();
    let name = unique("refused");
    server.ecr(&server.root, "CreateRepository", &json!({"repositoryName": name})).ok();
    let on_repository = format!("on resource: {}", arn(server, &name));
    let cases = vec![
        Case::denied(
            "TagResource",
            nobody,
            ecr("TagResource", json!({"resourceArn": arn(server, &name), "tags": []})),
            format!("ecr:TagResource {on_repository}"),
        ),
        Case::denied(
            "ListTagsForResource",
            nobody,
            ecr("ListTagsForResource", json!({"resourceArn": arn(server, &name)})),
            format!("ecr:ListTagsForResource {on_repository}"),
        ),
        Case::denied(
            "StartImageScan",
            nobody,
            ecr("StartImageScan", json!({"repositoryName": name, "imageId": {"imageTag": "v1"}})),
            format!("ecr:StartImageScan {on_repository}"),
        ),
        Case::denied(
            "DescribeRegistry",
            nobody,
            ecr("DescribeRegistry", json!({})),
            "ecr:DescribeRegistry on resource: *",
        ),
        Case::denied(
            "PutRegistryPolicy",
            nobody,
            ecr("PutRegistryPolicy", json!({"policyText": "{}"})),
            "ecr:PutRegistryPolicy on resource: *",
        ),
        Case::denied(
            "GetAccountSetting",
            nobody,
            ecr("GetAccountSetting", json!({"name": "BLOB_MOUNTING"})),
            "ecr:GetAccountSetting on resource: *",
        ),
    ];
    server.run(&cases);
}
