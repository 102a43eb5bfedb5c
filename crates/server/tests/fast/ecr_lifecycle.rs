//! ECR lifecycle policies, in process: a policy validated with ECR's messages, kept, read,
//! previewed and deleted; and applied for real by the server's background pass, by count at
//! once after it is put and by age when the lifecycle clock (the test hook file in the data
//! directory) moves ahead, on both stores.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::ecr_images::{manifest, upload_layer};
use crate::support::{Case, TestServer, ecr, unique};

crate::support::on_both_stores!(
    lifecycle_policies_are_validated_kept_previewed_and_deleted,
    an_image_an_index_lists_is_not_expired_while_the_index_stays,
    a_lifecycle_policy_expires_images_by_count_at_once_and_by_age_as_the_clock_moves,
    a_user_without_permissions_is_refused_every_lifecycle_operation
);

/// Pushes an image of `repository` whose config is unique to `seed`, tagged `tag` (if any);
/// its digest.
pub(crate) fn push_image(server: &TestServer, repository: &str, seed: &str, tag: Option<&str>) -> String {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
    let layer = format!("layer of {seed}");
    let config_digest = upload_layer(server, repository, config.as_bytes());
    let layer_digest = upload_layer(server, repository, layer.as_bytes());
    let image = manifest((&config_digest, config.len()), (&layer_digest, layer.len()));
    let mut body = json!({"repositoryName": repository, "imageManifest": image});
    if let Some(tag) = tag {
        body["imageTag"] = json!(tag);
    }
    let pushed = server.ecr(&server.root, "PutImage", &body).ok().value();
    pushed["image"]["imageId"]["imageDigest"].as_str().unwrap().to_owned()
}

fn rule(priority: i64, selection: Value) -> Value {
    json!({"rulePriority": priority, "description": "a rule of the test", "selection": selection, "action": {"type": "expire"}})
}

fn policy(rules: &[Value]) -> String {
    json!({ "rules": rules }).to_string()
}

fn keep_newest_tagged(count: i64) -> String {
    policy(&[rule(
        1,
        json!({"tagStatus": "tagged", "tagPatternList": ["v*"], "countType": "imageCountMoreThan", "countNumber": count}),
    )])
}

fn lifecycle_policies_are_validated_kept_previewed_and_deleted(server: &TestServer) {
    let root = &server.root;
    let account = &server.account_id;
    let name = unique("lifecycle");
    server.ecr(root, "CreateRepository", &json!({"repositoryName": name})).ok();
    let old = push_image(server, &name, &format!("{name}-1"), Some("v1"));
    std::thread::sleep(Duration::from_millis(1100));
    let new = push_image(server, &name, &format!("{name}-2"), Some("v2"));
    let kept = keep_newest_tagged(1);
    let failure = "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: ";
    let put = |text: &str| ecr("PutLifecyclePolicy", json!({"repositoryName": name, "lifecyclePolicyText": text}));
    let untagged = |priority| {
        rule(
            priority,
            json!({"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 3}),
        )
    };
    let any = rule(1, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 50}));
    let no_policy = format!(
        "Lifecycle policy does not exist for the repository with name '{name}' in the registry with id '{account}'"
    );
    server.run(&[
        Case::error(
            "none yet",
            root,
            ecr("GetLifecyclePolicy", json!({"repositoryName": name})),
            400,
            "LifecyclePolicyNotFoundException",
            no_policy.as_str(),
        ),
        Case::error(
            "no preview yet",
            root,
            ecr("GetLifecyclePolicyPreview", json!({"repositoryName": name})),
            400,
            "LifecyclePolicyPreviewNotFoundException",
            "There is no lifecycle policy preview",
        ),
        Case::error(
            "preview of no policy",
            root,
            ecr("StartLifecyclePolicyPreview", json!({"repositoryName": name})),
            400,
            "LifecyclePolicyNotFoundException",
            no_policy.as_str(),
        ),
        Case::error(
            "too short",
            root,
            put("{\"rules\": []}"),
            400,
            "InvalidParameterException",
            "Member must have length greater than or equal to 100",
        ),
        Case::error(
            "not a policy",
            root,
            put(&"x".repeat(120)),
            400,
            "InvalidParameterException",
            format!("{failure}Could not map policyString into LifecyclePolicy.'"),
        ),
        Case::error(
            "two untagged rules",
            root,
            put(&policy(&[untagged(1), untagged(2)])),
            400,
            "InvalidParameterException",
            format!("{failure}Only one rule can select Untagged images per storage class.'"),
        ),
        Case::error(
            "any before the last",
            root,
            put(&policy(&[any.clone(), untagged(2)])),
            400,
            "InvalidParameterException",
            format!("{failure}Rule for tagStatus=ANY must have the lowest priority per storage class'"),
        ),
        Case::error(
            "an unknown member",
            root,
            put(&policy(&[rule(
                1,
                json!({"tagStatus": "any", "countType": "sinceImagePushed", "countNumber": 3, "pad": "........"}),
            )])),
            400,
            "InvalidParameterException",
            "object instance has properties which are not allowed by the schema: [\"pad\"]",
        ),
        Case::error(
            "no such repository",
            root,
            ecr("PutLifecyclePolicy", json!({"repositoryName": "nobody-made-me", "lifecyclePolicyText": kept})),
            400,
            "RepositoryNotFoundException",
            "The repository with name 'nobody-made-me' does not exist",
        ),
        Case::ok(
            "preview a policy not put",
            root,
            ecr("StartLifecyclePolicyPreview", json!({"repositoryName": name, "lifecyclePolicyText": kept})),
        )
        .json("/status", "COMPLETE")
        .json("/lifecyclePolicyText", kept.as_str()),
        Case::ok(
            "the preview expires the older",
            root,
            ecr("GetLifecyclePolicyPreview", json!({"repositoryName": name})),
        )
        .json("/status", "COMPLETE")
        .json_len("/previewResults", 1)
        .json("/previewResults/0/imageDigest", old.as_str())
        .json("/previewResults/0/imageTags/0", "v1")
        .json("/previewResults/0/action/type", "EXPIRE")
        .json("/previewResults/0/appliedRulePriority", 1)
        .json("/summary/expiringImageTotalCount", 1),
        Case::ok(
            "filtered to untagged",
            root,
            ecr("GetLifecyclePolicyPreview", json!({"repositoryName": name, "filter": {"tagStatus": "UNTAGGED"}})),
        )
        .json_len("/previewResults", 0),
        Case::ok(
            "filtered to the newer",
            root,
            ecr("GetLifecyclePolicyPreview", json!({"repositoryName": name, "imageIds": [{"imageDigest": new}]})),
        )
        .json_len("/previewResults", 0),
        Case::ok("put one keeping both", root, put(&keep_newest_tagged(5)))
            .json("/repositoryName", name.as_str())
            .json("/registryId", account.as_str()),
        Case::ok("read back", root, ecr("GetLifecyclePolicy", json!({"repositoryName": name})))
            .json("/lifecyclePolicyText", keep_newest_tagged(5)),
        Case::ok(
            "preview of the stored policy",
            root,
            ecr("StartLifecyclePolicyPreview", json!({"repositoryName": name})),
        )
        .json("/lifecyclePolicyText", keep_newest_tagged(5)),
        Case::ok("which expires nothing", root, ecr("GetLifecyclePolicyPreview", json!({"repositoryName": name})))
            .json_len("/previewResults", 0)
            .json("/summary/expiringImageTotalCount", 0),
        Case::ok("deleted", root, ecr("DeleteLifecyclePolicy", json!({"repositoryName": name})))
            .json("/lifecyclePolicyText", keep_newest_tagged(5)),
        Case::error(
            "deleted again",
            root,
            ecr("DeleteLifecyclePolicy", json!({"repositoryName": name})),
            400,
            "LifecyclePolicyNotFoundException",
            no_policy.as_str(),
        ),
        Case::ok("both images stay", root, ecr("ListImages", json!({"repositoryName": name}))).json_len("/imageIds", 2),
    ]);
}

fn an_image_an_index_lists_is_not_expired_while_the_index_stays(server: &TestServer) {
    let root = &server.root;
    let name = unique("indexed");
    server.ecr(root, "CreateRepository", &json!({"repositoryName": name})).ok();
    let listed = push_image(server, &name, &format!("{name}-listed"), Some("v1"));
    let lone = push_image(server, &name, &format!("{name}-lone"), Some("v0"));
    std::thread::sleep(Duration::from_millis(1100));
    push_image(server, &name, &format!("{name}-new"), Some("v2"));
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 1, "digest": listed,
                       "platform": {"architecture": "amd64", "os": "linux"}}],
    })
    .to_string();
    server.ecr(root, "PutImage", &json!({"repositoryName": name, "imageManifest": index, "imageTag": "multi"})).ok();
    // Keep the newest `v*` image: v1 and v0 are past the count, but the index lists v1.
    server.run(&[
        Case::ok(
            "preview",
            root,
            ecr(
                "StartLifecyclePolicyPreview",
                json!({"repositoryName": name, "lifecyclePolicyText": keep_newest_tagged(1)}),
            ),
        ),
        Case::ok(
            "only the image no index lists",
            root,
            ecr("GetLifecyclePolicyPreview", json!({"repositoryName": name})),
        )
        .json_len("/previewResults", 1)
        .json("/previewResults/0/imageDigest", lone.as_str()),
    ]);
}

fn a_user_without_permissions_is_refused_every_lifecycle_operation(server: &TestServer) {
    let nobody = server.nobody();
    let name = unique("lifecycle-refused");
    server.ecr(&server.root, "CreateRepository", &json!({"repositoryName": name})).ok();
    let cases: Vec<Case> = [
        "PutLifecyclePolicy",
        "GetLifecyclePolicy",
        "DeleteLifecyclePolicy",
        "StartLifecyclePolicyPreview",
        "GetLifecyclePolicyPreview",
    ]
    .into_iter()
    .map(|operation| {
        Case::denied(
            operation,
            nobody,
            ecr(operation, json!({"repositoryName": name, "lifecyclePolicyText": keep_newest_tagged(1)})),
            format!(
                "not authorized to perform: ecr:{operation} on resource: arn:aws:ecr:us-east-1:{}:repository/{name}",
                server.account_id
            ),
        )
    })
    .collect();
    server.run(&cases);
}

/// The digests `repository` holds, waiting up to `within` for them to become `expected`.
fn await_images(server: &TestServer, repository: &str, expected: &[&str], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let listed = server.ecr(&server.root, "DescribeImages", &json!({"repositoryName": repository})).ok().value();
        let mut digests: Vec<String> = listed["imageDetails"]
            .as_array()
            .unwrap()
            .iter()
            .map(|detail| detail["imageDigest"].as_str().unwrap().to_owned())
            .collect();
        digests.sort();
        let mut wanted: Vec<String> = expected.iter().map(|digest| (*digest).to_owned()).collect();
        wanted.sort();
        if digests == wanted {
            return;
        }
        assert!(Instant::now() < deadline, "{repository} holds {digests:?}, expected {wanted:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The lifecycle clock of `server` set `seconds` ahead (the test hook file), until dropped.
struct ClockAhead(std::path::PathBuf);

impl ClockAhead {
    fn set(server: &TestServer, seconds: i64) -> ClockAhead {
        let hook = server.data_dir.join("ecr-lifecycle-clock-offset");
        std::fs::write(&hook, seconds.to_string()).unwrap();
        ClockAhead(hook)
    }
}

impl Drop for ClockAhead {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The lifecycle clock hook moves the clock of the whole server: no other case of this
/// program has an age rule, and the hook is removed at the end.
fn a_lifecycle_policy_expires_images_by_count_at_once_and_by_age_as_the_clock_moves(server: &TestServer) {
    let root = &server.root;
    let name = unique("expiring");
    server.ecr(root, "CreateRepository", &json!({"repositoryName": name})).ok();
    let first = push_image(server, &name, "first", Some("v1"));
    std::thread::sleep(Duration::from_millis(1100));
    let second = push_image(server, &name, "second", Some("v2"));
    std::thread::sleep(Duration::from_millis(1100));
    let third = push_image(server, &name, "third", Some("v3"));
    let untagged = push_image(server, &name, "untagged", None);
    let other = unique("untouched");
    server.ecr(root, "CreateRepository", &json!({"repositoryName": other})).ok();
    let untouched = push_image(server, &other, "untouched", Some("v1"));

    // Keep the two newest `v*` images; expire what has been untagged for more than a day.
    let text = policy(&[
        rule(
            1,
            json!({"tagStatus": "tagged", "tagPrefixList": ["v"], "countType": "imageCountMoreThan", "countNumber": 2}),
        ),
        rule(
            2,
            json!({"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}),
        ),
    ]);
    server.ecr(root, "PutLifecyclePolicy", &json!({"repositoryName": name, "lifecyclePolicyText": text})).ok();
    await_images(server, &name, &[&second, &third, &untagged], Duration::from_secs(10));
    let read = server.ecr(root, "GetLifecyclePolicy", &json!({"repositoryName": name})).ok().value();
    assert!(read["lastEvaluatedAt"].as_f64().is_some(), "{read}");

    // Two days later by the lifecycle clock, the untagged image is past its day.
    let _hook = ClockAhead::set(server, 2 * 86_400);
    await_images(server, &name, &[&second, &third], Duration::from_secs(10));
    let listed = server.ecr(root, "ListImages", &json!({"repositoryName": name})).ok().value();
    let mut tags: Vec<&str> =
        listed["imageIds"].as_array().unwrap().iter().filter_map(|id| id["imageTag"].as_str()).collect();
    tags.sort_unstable();
    assert_eq!(tags, ["v2", "v3"]);
    // A repository without a policy keeps its images whatever the clock says.
    await_images(server, &other, &[&untouched], Duration::from_secs(1));
    // The first image's tag is gone with it.
    let gone = server
        .ecr(root, "BatchGetImage", &json!({"repositoryName": name, "imageIds": [{"imageDigest": first}]}))
        .ok()
        .value();
    assert_eq!(gone["failures"][0]["failureCode"], "ImageNotFound", "{gone}");
}
