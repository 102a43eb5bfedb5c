//! Amazon ECR against the real server: the API through boto3 (shape-checked) on SQLite and
//! PostgreSQL, and the registry through the machine's own Docker (`aws ecr
//! get-login-password | docker login`, `docker push`, `docker pull`), with identity and
//! repository policies deciding pushes and pulls, interrupted and refused uploads, immutable
//! tags and the removal of layer files with their last repository.
//!
//! Docker and the aws CLI are required in CI; elsewhere their absence skips the Docker test
//! with a notice. Images the test makes are removed from Docker at the end, and Docker's
//! login state lives in temporary `DOCKER_CONFIG` directories.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use common::{
    Server, TestDatabase, aws_cli_available, boto3_available, credentials_file, docker_available, ecr_login as login,
    fresh_dir,
};

fn ecr(operation: &str, params: Value) -> Value {
    json!({"service": "ecr", "operation": operation, "params": params})
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(bytes);
    format!("sha256:{}", hash.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// A manifest of the given config and layer blobs (Docker schema 2).
fn manifest(config: &[u8], layer: &[u8]) -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": config.len(), "digest": sha256(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": layer.len(), "digest": sha256(layer)}],
    })
    .to_string()
}

/// Uploads a blob through InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload.
fn upload_calls(server: &Server, repository: &str, blob: &str) -> Vec<Value> {
    let started = server.boto3(&[ecr("initiate_layer_upload", json!({"repositoryName": repository}))]);
    let upload_id = started[0]["response"]["uploadId"].as_str().unwrap().to_owned();
    assert_eq!(started[0]["response"]["partSize"], 5 * 1024 * 1024);
    let (first, rest) = blob.split_at(blob.len() / 2);
    server.boto3(&[
        ecr(
            "upload_layer_part",
            json!({"repositoryName": repository, "uploadId": upload_id, "partFirstByte": 0,
                   "partLastByte": first.len() - 1, "layerPartBlob": first}),
        ),
        ecr(
            "upload_layer_part",
            json!({"repositoryName": repository, "uploadId": upload_id, "partFirstByte": first.len(),
                   "partLastByte": blob.len() - 1, "layerPartBlob": rest}),
        ),
        ecr(
            "complete_layer_upload",
            json!({"repositoryName": repository, "uploadId": upload_id, "layerDigests": [sha256(blob.as_bytes())]}),
        ),
    ])
}

fn code(answer: &Value) -> &str {
    answer["error"]["Code"].as_str().unwrap_or_else(|| panic!("expected an error, got {answer}"))
}

/// The ECR API tour on SQLite (`store_url` `None`) or PostgreSQL.
fn api_tour(store_url: Option<&str>, name: &str) {
    let dir = fresh_dir(name);
    let running = Server::start(&dir.join("data"), store_url);
    let server = &running;
    let repo = "team/app";
    let policy = |effect: &str| {
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "pull", "Effect": effect,
            "Principal": {"AWS": "*"}, "Action": ["ecr:BatchGetImage"]}]})
        .to_string()
    };
    let answers = server.boto3(&[
        ecr("create_repository", json!({"repositoryName": repo})),
        ecr("create_repository", json!({"repositoryName": repo})),
        ecr("create_repository", json!({"repositoryName": "Bad_Name"})),
        ecr("describe_repositories", json!({"repositoryNames": [repo]})),
        ecr("describe_repositories", json!({"repositoryNames": ["missing"]})),
        ecr("set_repository_policy", json!({"repositoryName": repo, "policyText": policy("Allow")})),
        ecr("get_repository_policy", json!({"repositoryName": repo})),
        ecr("set_repository_policy", json!({"repositoryName": repo, "policyText": "{\"Statement\": []}"})),
        // A resource policy must name its principal.
        ecr(
            "set_repository_policy",
            json!({"repositoryName": repo, "policyText": json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "ecr:*"}]}).to_string()}),
        ),
        ecr("delete_repository_policy", json!({"repositoryName": repo})),
        ecr("get_repository_policy", json!({"repositoryName": repo})),
        ecr("get_authorization_token", json!({})),
        ecr("list_images", json!({"repositoryName": "missing"})),
    ]);
    let created = &answers[0]["response"]["repository"];
    let account = created["registryId"].as_str().unwrap();
    assert_eq!(created["repositoryArn"], format!("arn:aws:ecr:us-east-1:{account}:repository/{repo}"));
    assert_eq!(created["repositoryUri"], format!("{}/{repo}", server.address));
    assert_eq!(created["imageTagMutability"], "MUTABLE");
    assert_eq!(code(&answers[1]), "RepositoryAlreadyExistsException");
    assert_eq!(code(&answers[2]), "InvalidParameterException");
    assert_eq!(answers[3]["response"]["repositories"][0]["repositoryName"], repo);
    assert_eq!(code(&answers[4]), "RepositoryNotFoundException");
    assert_eq!(
        answers[4]["error"]["Message"],
        format!("The repository with name 'missing' does not exist in the registry with id '{account}'")
    );
    assert_eq!(answers[5]["response"]["policyText"], policy("Allow"), "{}", answers[5]);
    assert_eq!(answers[6]["response"]["policyText"], policy("Allow"));
    assert_eq!(code(&answers[7]), "InvalidParameterException");
    assert_eq!(code(&answers[8]), "InvalidParameterException");
    assert!(answers[8]["error"]["Message"].as_str().unwrap().contains("Invalid repository policy provided"));
    assert_eq!(answers[9]["response"]["policyText"], policy("Allow"));
    assert_eq!(code(&answers[10]), "RepositoryPolicyNotFoundException");
    let data = &answers[11]["response"]["authorizationData"][0];
    let token = String::from_utf8(BASE64.decode(data["authorizationToken"].as_str().unwrap()).unwrap()).unwrap();
    assert!(token.starts_with("AWS:") && token.len() > 40, "{token}");
    assert_eq!(data["proxyEndpoint"], server.url());
    assert_eq!(code(&answers[12]), "RepositoryNotFoundException");

    // Layers through the API, then images.
    let (config, layer) = ("{\"architecture\":\"amd64\",\"os\":\"linux\"}", "layer bytes of the first image");
    for blob in [config, layer] {
        let done = upload_calls(server, repo, blob);
        assert!(done.iter().all(|answer| answer.get("response").is_some()), "{done:?}");
        assert_eq!(done[2]["response"]["layerDigest"], sha256(blob.as_bytes()));
    }
    let again = upload_calls(server, repo, layer);
    assert_eq!(code(&again[2]), "LayerAlreadyExistsException");
    let first = manifest(config.as_bytes(), layer.as_bytes());
    let second = manifest(config.as_bytes(), config.as_bytes());
    let orphan = manifest(config.as_bytes(), b"never uploaded");
    let answers = server.boto3(&[
        ecr(
            "batch_check_layer_availability",
            json!({"repositoryName": repo, "layerDigests": [sha256(layer.as_bytes()), sha256(b"absent"), "nonsense"]}),
        ),
        ecr("put_image", json!({"repositoryName": repo, "imageManifest": first, "imageTag": "v1"})),
        ecr("put_image", json!({"repositoryName": repo, "imageManifest": first, "imageTag": "v1"})),
        ecr("put_image", json!({"repositoryName": repo, "imageManifest": orphan, "imageTag": "v3"})),
        ecr(
            "put_image",
            json!({"repositoryName": repo, "imageManifest": second, "imageDigest": sha256(b"something else")}),
        ),
        ecr("put_image_tag_mutability", json!({"repositoryName": repo, "imageTagMutability": "IMMUTABLE"})),
        ecr("put_image", json!({"repositoryName": repo, "imageManifest": second, "imageTag": "v1"})),
        ecr("put_image", json!({"repositoryName": repo, "imageManifest": second, "imageTag": "v2"})),
        ecr("list_images", json!({"repositoryName": repo})),
        ecr("describe_images", json!({"repositoryName": repo, "imageIds": [{"imageTag": "v1"}]})),
        ecr("describe_images", json!({"repositoryName": repo, "imageIds": [{"imageTag": "nope"}]})),
        ecr("batch_get_image", json!({"repositoryName": repo, "imageIds": [{"imageTag": "v2"}, {"imageTag": "gone"}]})),
        ecr("get_download_url_for_layer", json!({"repositoryName": repo, "layerDigest": sha256(layer.as_bytes())})),
        ecr("delete_repository", json!({"repositoryName": repo})),
        ecr("batch_delete_image", json!({"repositoryName": repo, "imageIds": [{"imageTag": "v2"}]})),
        ecr("list_images", json!({"repositoryName": repo, "filter": {"tagStatus": "UNTAGGED"}})),
    ]);
    let check = &answers[0]["response"];
    assert_eq!(check["layers"][0]["layerAvailability"], "AVAILABLE");
    assert_eq!(check["layers"][0]["layerSize"], layer.len());
    assert_eq!(check["failures"][0]["failureCode"], "MissingLayerDigest");
    assert_eq!(check["failures"][1]["failureCode"], "InvalidLayerDigest");
    let image = &answers[1]["response"]["image"];
    assert_eq!(image["imageId"]["imageDigest"], sha256(first.as_bytes()));
    assert_eq!(image["imageManifest"], first);
    assert_eq!(code(&answers[2]), "ImageAlreadyExistsException");
    assert_eq!(code(&answers[3]), "LayersNotFoundException");
    assert_eq!(code(&answers[4]), "ImageDigestDoesNotMatchException");
    assert_eq!(answers[5]["response"]["imageTagMutability"], "IMMUTABLE");
    assert_eq!(code(&answers[6]), "ImageTagAlreadyExistsException");
    assert_eq!(
        answers[6]["error"]["Message"],
        format!(
            "The image tag 'v1' already exists in the '{repo}' repository and cannot be overwritten because the repository is immutable."
        )
    );
    assert!(answers[7].get("response").is_some(), "{}", answers[7]);
    let ids = answers[8]["response"]["imageIds"].as_array().unwrap();
    assert_eq!(ids.len(), 2, "{ids:?}");
    let detail = &answers[9]["response"]["imageDetails"][0];
    assert_eq!(detail["imageTags"], json!(["v1"]));
    assert_eq!(detail["imageSizeInBytes"], config.len() + layer.len());
    assert_eq!(detail["imageManifestMediaType"], "application/vnd.docker.distribution.manifest.v2+json");
    assert_eq!(code(&answers[10]), "ImageNotFoundException");
    let got = &answers[11]["response"];
    assert_eq!(got["images"][0]["imageManifest"], second);
    assert_eq!(got["failures"][0]["failureCode"], "ImageNotFound");
    assert!(answers[12]["response"]["downloadUrl"].as_str().unwrap().contains("/v2/team/app/blobs/sha256:"));
    assert_eq!(code(&answers[13]), "RepositoryNotEmptyException");
    assert_eq!(answers[14]["response"]["imageIds"][0]["imageTag"], "v2");
    assert_eq!(answers[15]["response"]["imageIds"], json!([]), "the last tag took its image with it");

    let answers = server.boto3(&[
        ecr("delete_repository", json!({"repositoryName": repo, "force": true})),
        ecr("describe_repositories", json!({})),
        ecr("delete_repository", json!({"repositoryName": repo, "force": true})),
    ]);
    assert_eq!(answers[0]["response"]["repository"]["repositoryName"], repo);
    assert_eq!(answers[1]["response"]["repositories"], json!([]));
    assert_eq!(code(&answers[2]), "RepositoryNotFoundException");
    assert_eq!(blob_files(&server.data_dir), Vec::<PathBuf>::new(), "no repository references a layer any more");
    running.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The layer files under the data directory.
fn blob_files(data_dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                walk(&entry.path(), found);
            } else {
                found.push(entry.path());
            }
        }
    }
    let mut found = Vec::new();
    walk(&data_dir.join("registry/blobs"), &mut found);
    found
}

#[test]
fn ecr_api_on_sqlite() {
    if boto3_available() {
        api_tour(None, "ecr-api");
    }
}

#[test]
fn ecr_api_on_postgres() {
    if !boto3_available() {
        return;
    }
    if let Some(database) = TestDatabase::create("ecr") {
        api_tour(Some(&database.url), "ecr-api-pg");
    }
}

/// Runs docker with a login state of its own (`DOCKER_CONFIG`).
fn docker(config: &Path, args: &[&str]) -> Output {
    Command::new("docker").env("DOCKER_CONFIG", config).args(args).output().unwrap()
}

fn docker_ok(config: &Path, args: &[&str]) -> String {
    let output = docker(config, args);
    assert!(output.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A busybox image of the test's own, with `echo WORD` as its command.
fn build_image(dir: &Path, tag: &str, word: &str) {
    let root = dir.join(format!("rootfs-{word}"));
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    std::fs::write(root.join("word"), word).unwrap();
    let tarball = dir.join(format!("rootfs-{word}.tar"));
    let status = Command::new("tar").arg("-C").arg(&root).arg("-cf").arg(&tarball).arg(".").status().unwrap();
    assert!(status.success());
    let command = format!("CMD [\"/bin/sh\", \"-c\", \"echo {word}\"]");
    let output = Command::new("docker")
        .args(["import", "-c", &command, tarball.to_str().unwrap(), tag])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Removes the test's images from Docker when dropped, also on a failure: its local names,
/// and every image of the repository (also those a moved tag left with only a digest).
struct Images {
    names: Vec<String>,
    repository: String,
}

impl Drop for Images {
    fn drop(&mut self) {
        let listed = Command::new("docker")
            .args(["images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}"])
            .output()
            .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
            .unwrap_or_default();
        let ids = listed
            .lines()
            .filter_map(|line| line.split_once(' '))
            .filter(|(_, repository)| *repository == self.repository)
            .map(|(id, _)| id.to_owned());
        for image in self.names.iter().cloned().chain(ids) {
            let _ = Command::new("docker").args(["rmi", "-f", &image]).output();
        }
    }
}

/// One HTTP/1.1 request to the registry: the status, the head and the body.
fn registry(address: &str, request: &str, body: &[u8]) -> (u16, String, String) {
    let mut stream = common::connect(address);
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

fn header<'a>(head: &'a str, name: &str) -> &'a str {
    head.lines()
        .find_map(|line| line.split_once(':').filter(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()))
        .unwrap_or_else(|| panic!("no {name} in {head}"))
}

#[test]
fn docker_pushes_and_pulls_through_the_registry_as_its_principal() {
    if !aws_cli_available() || !docker_available("the ECR registry end-to-end test") {
        return;
    }
    let dir = fresh_dir("ecr-docker");
    let server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    let id = std::process::id();
    let repo = format!("e2e-{id}/app");
    let host = server.address.clone();
    let remote = format!("{host}/{repo}:v1");
    let (local_one, local_two) = (format!("homeport-ecr-e2e-{id}:one"), format!("homeport-ecr-e2e-{id}:two"));
    let _images = Images {
        names: vec![remote.clone(), local_one.clone(), local_two.clone(), format!("{host}/{repo}:v2")],
        repository: format!("{host}/{repo}"),
    };
    build_image(&dir, &local_one, "one");
    build_image(&dir, &local_two, "two");
    let created = server.aws_json(&root, &["ecr", "create-repository", "--repository-name", &repo]);
    let account = created["repository"]["registryId"].as_str().unwrap().to_owned();
    assert_eq!(created["repository"]["repositoryUri"], format!("{host}/{repo}"));

    // Root pushes, forgets the image, pulls it back and runs it.
    let root_docker = dir.join("docker-root");
    login(&server, &root, &root_docker);
    docker_ok(&root_docker, &["tag", &local_one, &remote]);
    let pushed = docker_ok(&root_docker, &["push", &remote]);
    let digest = pushed.split("digest: ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap().to_owned();
    let images = server.aws_json(&root, &["ecr", "describe-images", "--repository-name", &repo]);
    assert_eq!(images["imageDetails"][0]["imageDigest"], digest);
    assert_eq!(images["imageDetails"][0]["imageTags"], json!(["v1"]));
    // Both names go, so the pull must fetch the layers again.
    docker_ok(&root_docker, &["rmi", &remote, &local_one]);
    docker_ok(&root_docker, &["pull", &remote]);
    assert_eq!(docker_ok(&root_docker, &["run", "--rm", &remote]).trim(), "one");

    // A user whose policy lacks ecr:BatchGetImage is refused the manifest, in AWS's words.
    server.aws_json(&root, &["iam", "create-user", "--user-name", "puller"]);
    let puller_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*",
        "Action": ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "sts:AssumeRole"]}]});
    server.aws_json(
        &root,
        &[
            "iam",
            "put-user-policy",
            "--user-name",
            "puller",
            "--policy-name",
            "layers-only",
            "--policy-document",
            &puller_policy.to_string(),
        ],
    );
    let key = server.aws_json(&root, &["iam", "create-access-key", "--user-name", "puller"]);
    let puller = dir.join("puller-credentials");
    credentials_file(&puller, &key["AccessKey"]);
    let puller_docker = dir.join("docker-puller");
    login(&server, &puller, &puller_docker);
    docker_ok(&root_docker, &["rmi", &remote]);
    let denied = docker(&puller_docker, &["pull", &remote]);
    assert!(!denied.status.success());
    let expected = format!(
        "User: arn:aws:iam::{account}:user/puller is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:{account}:repository/{repo} because no identity-based policy allows the ecr:BatchGetImage action"
    );
    assert!(String::from_utf8_lossy(&denied.stderr).contains(&expected), "{}", String::from_utf8_lossy(&denied.stderr));

    // A role session (as an execution role's) pulls, until the repository policy denies the role.
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{account}:user/puller")}, "Action": "sts:AssumeRole"}]});
    server.aws_json(
        &root,
        &["iam", "create-role", "--role-name", "executor", "--assume-role-policy-document", &trust.to_string()],
    );
    let pull_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*",
        "Action": ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]}]});
    server.aws_json(
        &root,
        &[
            "iam",
            "put-role-policy",
            "--role-name",
            "executor",
            "--policy-name",
            "pull",
            "--policy-document",
            &pull_policy.to_string(),
        ],
    );
    let role_arn = format!("arn:aws:iam::{account}:role/executor");
    let session =
        server.aws_json(&puller, &["sts", "assume-role", "--role-arn", &role_arn, "--role-session-name", "task"]);
    let executor = dir.join("executor-credentials");
    credentials_file(&executor, &session["Credentials"]);
    let executor_docker = dir.join("docker-executor");
    login(&server, &executor, &executor_docker);
    docker_ok(&executor_docker, &["pull", &remote]);
    docker_ok(&root_docker, &["rmi", &remote]);
    let deny = json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoExecutor", "Effect": "Deny",
        "Principal": {"AWS": role_arn}, "Action": "ecr:BatchGetImage"}]});
    server.aws_json(
        &root,
        &["ecr", "set-repository-policy", "--repository-name", &repo, "--policy-text", &deny.to_string()],
    );
    let denied = docker(&executor_docker, &["pull", &remote]);
    assert!(!denied.status.success());
    let expected = format!(
        "User: arn:aws:sts::{account}:assumed-role/executor/task is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:{account}:repository/{repo} with an explicit deny in a resource-based policy"
    );
    assert!(String::from_utf8_lossy(&denied.stderr).contains(&expected), "{}", String::from_utf8_lossy(&denied.stderr));
    // The same token keeps working for root; the key behind a token is resolved every time.
    docker_ok(&root_docker, &["pull", &remote]);
    server.aws_json(
        &root,
        &[
            "iam",
            "delete-access-key",
            "--user-name",
            "puller",
            "--access-key-id",
            key["AccessKey"]["AccessKeyId"].as_str().unwrap(),
        ],
    );
    let gone = docker(&puller_docker, &["pull", &remote]);
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("authorization token is invalid"),
        "{}",
        String::from_utf8_lossy(&gone.stderr)
    );

    // Uploads by hand: an interrupted one and one with the wrong digest leave nothing visible.
    let password = String::from_utf8(server.aws(&root, &["ecr", "get-login-password"]).stdout).unwrap();
    let basic = BASE64.encode(format!("AWS:{}", password.trim()));
    let request = |method: &str, path: &str, extra: &str| {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {basic}\r\nConnection: close\r\n{extra}\r\n"
        )
    };
    let (status, head, _) = registry(&host, &request("GET", "/v2/", ""), b"");
    assert_eq!((status, header(&head, "docker-distribution-api-version")), (200, "registry/2.0"));
    let (status, head, _) = registry(&host, "GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"");
    assert_eq!(status, 401);
    assert!(header(&head, "www-authenticate").starts_with("Basic realm="), "{head}");
    let start = || {
        let (status, head, _) =
            registry(&host, &request("POST", &format!("/v2/{repo}/blobs/uploads/"), "Content-Length: 0\r\n"), b"");
        assert_eq!(status, 202, "{head}");
        header(&head, "location").to_owned()
    };
    let secret = b"half of a layer that never completes";
    let location = start();
    let (status, head, _) = registry(
        &host,
        &request(
            "PATCH",
            &location,
            &format!("Content-Length: {}\r\nContent-Range: 0-{}\r\n", secret.len(), secret.len() - 1),
        ),
        secret,
    );
    assert_eq!((status, header(&head, "range")), (202, format!("0-{}", secret.len() - 1).as_str()));
    // A chunk cut short: the connection closes before the promised bytes arrive.
    let mut stream = common::connect(&host);
    stream.write_all(request("PATCH", &location, "Content-Length: 100000\r\n").as_bytes()).unwrap();
    stream.write_all(b"only a few bytes").unwrap();
    drop(stream);
    let secret_digest = sha256(secret);
    let (status, _, body) = registry(&host, &request("HEAD", &format!("/v2/{repo}/blobs/{secret_digest}"), ""), b"");
    assert_eq!(status, 404, "{body}");
    let check = server.aws_json(
        &root,
        &["ecr", "batch-check-layer-availability", "--repository-name", &repo, "--layer-digests", &secret_digest],
    );
    assert_eq!(check["failures"][0]["failureCode"], "MissingLayerDigest");
    let location = start();
    let wrong = sha256(b"something else entirely");
    let (status, _, body) = registry(
        &host,
        &request("PUT", &format!("{location}?digest={wrong}"), &format!("Content-Length: {}\r\n", secret.len())),
        secret,
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["errors"][0]["code"], "DIGEST_INVALID");
    let (status, _, _) = registry(&host, &request("HEAD", &format!("/v2/{repo}/blobs/{wrong}"), ""), b"");
    assert_eq!(status, 404);
    assert!(blob_files(&server.data_dir).iter().all(|file| !file.ends_with(&secret_digest[7..])));
    // A blob in one request, then read back from its ninth byte (a resumed download).
    let small = "a small blob pushed in one request";
    let small_digest = sha256(small.as_bytes());
    let (status, head, _) = registry(
        &host,
        &request(
            "POST",
            &format!("/v2/{repo}/blobs/uploads/?digest={small_digest}"),
            &format!("Content-Length: {}\r\n", small.len()),
        ),
        small.as_bytes(),
    );
    assert_eq!((status, header(&head, "docker-content-digest")), (201, small_digest.as_str()), "{head}");
    let (status, head, body) =
        registry(&host, &request("GET", &format!("/v2/{repo}/blobs/{small_digest}"), "Range: bytes=8-\r\n"), b"");
    assert_eq!((status, body.as_str()), (206, &small[8..]));
    assert_eq!(header(&head, "content-range"), format!("bytes 8-{}/{}", small.len() - 1, small.len()));
    let (status, _, body) = registry(&host, &request("GET", &format!("/v2/{repo}/tags/list"), ""), b"");
    assert_eq!((status, serde_json::from_str::<Value>(&body).unwrap()["tags"].clone()), (200, json!(["v1"])));

    // An immutable repository refuses to move a tag, in the words docker shows.
    server.aws_json(
        &root,
        &["ecr", "put-image-tag-mutability", "--repository-name", &repo, "--image-tag-mutability", "IMMUTABLE"],
    );
    docker_ok(&root_docker, &["tag", &local_two, &remote]);
    let refused = docker(&root_docker, &["push", &remote]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(&format!(
            "The image tag 'v1' already exists in the '{repo}' repository and cannot be overwritten because the repository is immutable."
        )),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let v2 = format!("{host}/{repo}:v2");
    docker_ok(&root_docker, &["tag", &local_two, &v2]);
    docker_ok(&root_docker, &["push", &v2]);

    // Every push and pull was audited as its ECR action.
    let events = server.aws_json(
        &root,
        &[
            "cloudtrail",
            "lookup-events",
            "--lookup-attributes",
            "AttributeKey=EventSource,AttributeValue=ecr.amazonaws.com",
        ],
    );
    let names: Vec<&str> =
        events["Events"].as_array().unwrap().iter().filter_map(|e| e["EventName"].as_str()).collect();
    for action in ["PutImage", "BatchGetImage", "GetDownloadUrlForLayer", "InitiateLayerUpload", "CompleteLayerUpload"]
    {
        assert!(names.contains(&action), "{action} not audited: {names:?}");
    }

    // Deleting the repository removes its layer files; the registry forgets it.
    let refused = server.aws(&root, &["ecr", "delete-repository", "--repository-name", &repo]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("RepositoryNotEmptyException"));
    server.aws_json(&root, &["ecr", "delete-repository", "--repository-name", &repo, "--force"]);
    assert_eq!(blob_files(&server.data_dir), Vec::<PathBuf>::new());
    let gone = docker(&root_docker, &["pull", &v2]);
    assert!(!gone.status.success());
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
