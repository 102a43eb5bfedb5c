//! ECR lifecycle policies against the real server: images pushed by the machine's own
//! Docker, a policy put with the aws CLI that keeps the two newest `v*` images and expires
//! what has been untagged for more than a day, previewed, then applied by the server's
//! background pass: by count at once, by age once the lifecycle clock is moved two days ahead
//! (the test hook file `ecr-lifecycle-clock-offset` in the data directory). An expired image
//! can no longer be pulled; the kept ones can. Every push is also replicated to another region
//! (PutReplicationConfiguration), where, without a policy, the replicas stay.
//!
//! Docker and the aws CLI are required in CI; elsewhere their absence skips the test with a
//! notice. Images the test makes are removed from Docker at the end, and Docker's login state
//! lives in a temporary `DOCKER_CONFIG` directory.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{Server, aws_cli_available, docker_available, ecr_login, fresh_dir};

fn docker(config: &Path, args: &[&str]) -> Output {
    Command::new("docker").env("DOCKER_CONFIG", config).args(args).output().unwrap()
}

fn docker_ok(config: &Path, args: &[&str]) -> String {
    let output = docker(config, args);
    assert!(output.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A one-layer image (busybox and a file saying `word`) imported into Docker as `tag`.
fn build_image(dir: &Path, tag: &str, word: &str) {
    let root = dir.join(format!("rootfs-{word}"));
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    std::fs::write(root.join("word"), word).unwrap();
    let tarball = dir.join(format!("rootfs-{word}.tar"));
    let status = Command::new("tar").arg("-C").arg(&root).arg("-cf").arg(&tarball).arg(".").status().unwrap();
    assert!(status.success());
    let command = "CMD [\"/bin/sh\", \"-c\", \"cat /word\"]";
    let output = Command::new("docker")
        .args(["import", "-c", command, tarball.to_str().unwrap(), tag])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Docker images the test made, removed when it ends however it ends.
struct Images(Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        for image in &self.0 {
            let _ = Command::new("docker").args(["rmi", "-f", image]).output();
        }
    }
}

/// The digests `describe-images` lists, sorted, with each one's tags.
fn images(server: &Server, root: &Path, repository: &str) -> Vec<(String, Vec<String>)> {
    let described = server.aws_json(root, &["ecr", "describe-images", "--repository-name", repository]);
    let mut found: Vec<(String, Vec<String>)> = described["imageDetails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|detail| {
            let tags = detail["imageTags"]
                .as_array()
                .map(|tags| tags.iter().map(|t| t.as_str().unwrap().to_owned()).collect());
            (detail["imageDigest"].as_str().unwrap().to_owned(), tags.unwrap_or_default())
        })
        .collect();
    found.sort();
    found
}

/// Waits up to `within` for the repository to hold exactly `digests`.
fn await_digests(server: &Server, root: &Path, repository: &str, digests: &[&str], within: Duration) {
    let mut wanted: Vec<String> = digests.iter().map(|digest| (*digest).to_owned()).collect();
    wanted.sort();
    let deadline = Instant::now() + within;
    loop {
        let held: Vec<String> = images(server, root, repository).into_iter().map(|(digest, _)| digest).collect();
        if held == wanted {
            return;
        }
        assert!(Instant::now() < deadline, "{repository} holds {held:?}, expected {wanted:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The digest `docker push` reports.
fn push(config: &Path, remote: &str) -> String {
    let pushed = docker_ok(config, &["push", remote]);
    pushed.split("digest: ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap().to_owned()
}

#[test]
fn a_lifecycle_policy_expires_pushed_images_by_count_and_by_age() {
    if !aws_cli_available() || !docker_available("the ECR lifecycle end-to-end test") {
        return;
    }
    let dir = fresh_dir("ecr-lifecycle");
    let server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    let id = std::process::id();
    let repo = format!("lifecycle-{id}/app");
    let host = server.address.clone();
    let remote = |tag: &str| format!("{host}/{repo}:{tag}");
    let words = ["one", "two", "three", "scratch-old", "scratch-new"];
    let locals: Vec<String> = words.iter().map(|word| format!("homeport-lifecycle-e2e-{id}:{word}")).collect();
    let mut made = locals.clone();
    made.extend(["v1", "v2", "v3", "scratch"].map(remote));
    let _images = Images(made);
    for (local, word) in locals.iter().zip(words) {
        build_image(&dir, local, word);
    }
    let created = server.aws_json(&root, &["ecr", "create-repository", "--repository-name", &repo]);
    let account = created["repository"]["registryId"].as_str().unwrap().to_owned();
    // Every push is replicated to eu-west-1, whose repository has no lifecycle policy.
    let replication = json!({"rules": [{"destinations": [{"region": "eu-west-1", "registryId": account}],
        "repositoryFilters": [{"filter": format!("lifecycle-{id}/"), "filterType": "PREFIX_MATCH"}]}]});
    server.aws_json(
        &root,
        &["ecr", "put-replication-configuration", "--replication-configuration", &replication.to_string()],
    );
    let config = dir.join("docker");
    ecr_login(&server, &root, &config);

    // v1, v2 and v3, a second apart (push times are in seconds); then `scratch` twice, which
    // leaves its first image untagged.
    let mut digests = Vec::new();
    for (local, tag) in locals.iter().zip(["v1", "v2", "v3", "scratch", "scratch"]) {
        docker_ok(&config, &["tag", local, &remote(tag)]);
        digests.push(push(&config, &remote(tag)));
        std::thread::sleep(Duration::from_millis(1100));
    }
    let (v1, v2, v3, untagged, scratch) = (&digests[0], &digests[1], &digests[2], &digests[3], &digests[4]);
    let held = images(&server, &root, &repo);
    assert_eq!(held.len(), 5, "{held:?}");
    let replicas =
        server.aws_json(&root, &["ecr", "describe-images", "--region", "eu-west-1", "--repository-name", &repo]);
    assert_eq!(replicas["imageDetails"].as_array().unwrap().len(), 5, "{replicas}");
    let status = server.aws_json(
        &root,
        &[
            "ecr",
            "describe-image-replication-status",
            "--repository-name",
            &repo,
            "--image-id",
            &format!("imageDigest={v1}"),
        ],
    );
    assert_eq!(status["replicationStatuses"][0]["status"], "COMPLETE", "{status}");
    assert!(held.iter().any(|(digest, tags)| digest == untagged && tags.is_empty()), "{held:?}");

    let policy = json!({"rules": [
        {"rulePriority": 1, "description": "keep the two newest releases",
         "selection": {"tagStatus": "tagged", "tagPrefixList": ["v"], "countType": "imageCountMoreThan", "countNumber": 2},
         "action": {"type": "expire"}},
        {"rulePriority": 2, "description": "untagged images live a day",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1},
         "action": {"type": "expire"}},
    ]})
    .to_string();
    // The preview says what the policy will do before it is put.
    let started = server.aws_json(
        &root,
        &["ecr", "start-lifecycle-policy-preview", "--repository-name", &repo, "--lifecycle-policy-text", &policy],
    );
    assert_eq!(started["status"], "COMPLETE", "{started}");
    let preview = server.aws_json(&root, &["ecr", "get-lifecycle-policy-preview", "--repository-name", &repo]);
    let previewed: Vec<&str> =
        preview["previewResults"].as_array().unwrap().iter().map(|r| r["imageDigest"].as_str().unwrap()).collect();
    assert_eq!(previewed, [v1.as_str()], "{preview}");
    assert_eq!(preview["previewResults"][0]["appliedRulePriority"], 1);

    let put = server.aws_json(
        &root,
        &["ecr", "put-lifecycle-policy", "--repository-name", &repo, "--lifecycle-policy-text", &policy],
    );
    assert_eq!(put["lifecyclePolicyText"], Value::from(policy.as_str()));
    // By count, at once: v1 goes, the untagged image is younger than a day.
    await_digests(&server, &root, &repo, &[v2, v3, untagged, scratch], Duration::from_secs(15));
    let read = server.aws_json(&root, &["ecr", "get-lifecycle-policy", "--repository-name", &repo]);
    assert!(read["lastEvaluatedAt"].is_number() || read["lastEvaluatedAt"].is_string(), "{read}");

    // Two days later on the lifecycle clock: the untagged image is past its day.
    std::fs::write(server.data_dir.join("ecr-lifecycle-clock-offset"), (2 * 86_400).to_string()).unwrap();
    await_digests(&server, &root, &repo, &[v2, v3, scratch], Duration::from_secs(15));
    // The replicas are another region's images, which no policy there expires.
    let replicas =
        server.aws_json(&root, &["ecr", "describe-images", "--region", "eu-west-1", "--repository-name", &repo]);
    assert_eq!(replicas["imageDetails"].as_array().unwrap().len(), 5, "{replicas}");

    // What expired cannot be pulled; what was kept can, and runs.
    docker_ok(&config, &["rmi", &remote("v1"), &remote("v3"), &locals[0], &locals[2]]);
    let gone = docker(&config, &["pull", &remote("v1")]);
    assert!(!gone.status.success(), "v1 was expired");
    let said = String::from_utf8_lossy(&gone.stderr);
    assert!(said.contains("not found") || said.contains("unknown"), "{said}");
    docker_ok(&config, &["pull", &remote("v3")]);
    assert_eq!(docker_ok(&config, &["run", "--rm", &remote("v3")]).trim(), "three");

    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
