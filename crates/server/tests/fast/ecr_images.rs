//! ECR images pushed through the API (InitiateLayerUpload, UploadLayerPart,
//! CompleteLayerUpload, PutImage), in process: described, fetched, tagged, deleted; ECR's
//! errors (today's codes and messages); refusals.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use sha2::Digest;

use crate::support::{Case, TestServer, ecr, unique};

crate::support::on_both_stores!(
    images_are_pushed_described_fetched_and_deleted,
    an_immutable_repository_keeps_its_tags,
    a_user_without_permissions_is_refused_every_image_operation
);

pub(crate) fn digest(bytes: &[u8]) -> String {
    let hash: String = sha2::Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hash}")
}

/// Uploads `bytes` as one layer of `repository`; its digest.
pub(crate) fn upload_layer(server: &TestServer, repository: &str, bytes: &[u8]) -> String {
    let root = &server.root;
    let started = server.ecr(root, "InitiateLayerUpload", &json!({"repositoryName": repository})).ok().value();
    let upload = started["uploadId"].as_str().unwrap().to_owned();
    server
        .ecr(
            root,
            "UploadLayerPart",
            &json!({
                "repositoryName": repository,
                "uploadId": upload,
                "partFirstByte": 0,
                "partLastByte": bytes.len() - 1,
                "layerPartBlob": STANDARD.encode(bytes),
            }),
        )
        .ok();
    let digest = digest(bytes);
    let completed = server
        .ecr(
            root,
            "CompleteLayerUpload",
            &json!({"repositoryName": repository, "uploadId": upload, "layerDigests": [digest]}),
        )
        .ok()
        .value();
    assert_eq!(completed["layerDigest"], digest.as_str(), "{completed}");
    digest
}

/// A Docker v2 manifest of a config and one layer.
pub(crate) fn manifest(config: (&str, usize), layer: (&str, usize)) -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": config.1, "digest": config.0},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": layer.1, "digest": layer.0}],
    })
    .to_string()
}

fn images_are_pushed_described_fetched_and_deleted(server: &TestServer) {
    let root = &server.root;
    let name = unique("images");
    let account = &server.account_id;
    server.ecr(root, "CreateRepository", &json!({"repositoryName": name})).ok();
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let layer = b"not really a tarball, but bytes all the same";
    let config_digest = upload_layer(server, &name, config);
    let layer_digest = upload_layer(server, &name, layer);
    let image = manifest((&config_digest, config.len()), (&layer_digest, layer.len()));
    let image_digest = digest(image.as_bytes());
    let missing = digest(b"never uploaded");
    let orphan = manifest((&config_digest, config.len()), (&missing, 14));
    server.run(&[
        Case::ok("push v1", root, ecr("PutImage", json!({"repositoryName": name, "imageManifest": image, "imageTag": "v1"})))
            .json("/image/imageId/imageDigest", image_digest.as_str())
            .json("/image/imageId/imageTag", "v1"),
        Case::error("push it again", root,
            ecr("PutImage", json!({"repositoryName": name, "imageManifest": image, "imageTag": "v1"})), 400,
            "ImageAlreadyExistsException",
            format!("Image with digest '{image_digest}' and tag 'v1' already exists in the repository with name '{name}' in registry with id '{account}'")),
        Case::ok("tag it latest too", root,
            ecr("PutImage", json!({"repositoryName": name, "imageManifest": image, "imageTag": "latest"}))),
        Case::ok("listed once per tag", root, ecr("ListImages", json!({"repositoryName": name}))).json_len("/imageIds", 2),
        Case::ok("described", root, ecr("DescribeImages", json!({"repositoryName": name, "imageIds": [{"imageTag": "v1"}]})))
            .json("/imageDetails/0/imageDigest", image_digest.as_str())
            .json_len("/imageDetails/0/imageTags", 2),
        Case::ok("fetched by tag", root, ecr("BatchGetImage", json!({"repositoryName": name, "imageIds": [{"imageTag": "latest"}]})))
            .json("/images/0/imageManifest", image.as_str())
            .json_len("/failures", 0),
        Case::ok("a tag nobody pushed is a failure", root,
            ecr("BatchGetImage", json!({"repositoryName": name, "imageIds": [{"imageTag": "v9"}]})))
            .json_len("/images", 0)
            .json("/failures/0/failureCode", "ImageNotFound"),
        Case::error("described, a tag nobody pushed", root,
            ecr("DescribeImages", json!({"repositoryName": name, "imageIds": [{"imageTag": "v9"}]})), 400,
            "ImageNotFoundException",
            format!("The image with imageId {{imageDigest:'null', imageTag:'v9'}} does not exist within the repository with name '{name}' in the registry with id '{account}'")),
        Case::error("a layer it never got", root,
            ecr("PutImage", json!({"repositoryName": name, "imageManifest": orphan, "imageTag": "broken"})), 400,
            "LayersNotFoundException", format!("Layers with digests '[{missing}]' required for pushing image")),
        Case::error("a digest that is not the manifest's", root, ecr("PutImage", json!({
            "repositoryName": name, "imageManifest": image, "imageTag": "v2", "imageDigest": missing,
        })), 400, "ImageDigestDoesNotMatchException",
            format!("Provided digest {missing} does not match the digest of the manifest {image_digest}")),
        Case::error("a tag with a space", root,
            ecr("PutImage", json!({"repositoryName": name, "imageManifest": image, "imageTag": "a b"})), 400,
            "InvalidParameterException", "Invalid parameter at 'imageTag' failed to satisfy constraint: 'Invalid image tag a b'"),
        Case::error("the layer again", root, ecr("CompleteLayerUpload", json!({
            "repositoryName": name,
            "uploadId": server.ecr(root, "InitiateLayerUpload", &json!({"repositoryName": name})).ok().value()["uploadId"],
            "layerDigests": [layer_digest],
        })), 400, "LayerAlreadyExistsException", format!("The layer with digest '{layer_digest}' already exists")),
        Case::error("a repository with images", root, ecr("DeleteRepository", json!({"repositoryName": name})), 400,
            "RepositoryNotEmptyException",
            format!("The repository with name '{name}' in registry with id '{account}' cannot be deleted because it still contains images")),
        Case::ok("untag latest", root, ecr("BatchDeleteImage", json!({"repositoryName": name, "imageIds": [{"imageTag": "latest"}]})))
            .json_len("/imageIds", 1)
            .json_len("/failures", 0),
        Case::ok("v1 is left", root, ecr("ListImages", json!({"repositoryName": name})))
            .json("/imageIds", json!([{"imageDigest": image_digest, "imageTag": "v1"}])),
        Case::ok("forced away", root, ecr("DeleteRepository", json!({"repositoryName": name, "force": true}))),
    ]);
}

fn an_immutable_repository_keeps_its_tags(server: &TestServer) {
    let root = &server.root;
    let name = unique("immutable");
    server.ecr(root, "CreateRepository", &json!({"repositoryName": name, "imageTagMutability": "IMMUTABLE"})).ok();
    let config = br#"{"os":"linux"}"#;
    let config_digest = upload_layer(server, &name, config);
    let first = manifest((&config_digest, config.len()), (&upload_layer(server, &name, b"one"), 3));
    let second = manifest((&config_digest, config.len()), (&upload_layer(server, &name, b"two"), 3));
    server.run(&[
        Case::ok("push v1", root, ecr("PutImage", json!({"repositoryName": name, "imageManifest": first, "imageTag": "v1"}))),
        Case::error("move v1", root, ecr("PutImage", json!({"repositoryName": name, "imageManifest": second, "imageTag": "v1"})),
            400, "ImageTagAlreadyExistsException",
            format!("The image tag 'v1' already exists in the '{name}' repository and cannot be overwritten because the repository is immutable.")),
        Case::ok("a new tag is fine", root,
            ecr("PutImage", json!({"repositoryName": name, "imageManifest": second, "imageTag": "v2"}))),
    ]);
}

fn a_user_without_permissions_is_refused_every_image_operation(server: &TestServer) {
    let nobody = server.nobody();
    let name = unique("guarded-images");
    server.ecr(&server.root, "CreateRepository", &json!({"repositoryName": name})).ok();
    let arn = format!("arn:aws:ecr:us-east-1:{}:repository/{name}", server.account_id);
    let denied = |action: &str| format!("is not authorized to perform: ecr:{action} on resource: {arn}");
    server.run(&[
        Case::denied(
            "push",
            nobody,
            ecr("PutImage", json!({"repositoryName": name, "imageManifest": "{}"})),
            denied("PutImage"),
        ),
        Case::denied(
            "start an upload",
            nobody,
            ecr("InitiateLayerUpload", json!({"repositoryName": name})),
            denied("InitiateLayerUpload"),
        ),
        Case::denied(
            "fetch",
            nobody,
            ecr("BatchGetImage", json!({"repositoryName": name, "imageIds": [{"imageTag": "v1"}]})),
            denied("BatchGetImage"),
        ),
        Case::denied("list", nobody, ecr("ListImages", json!({"repositoryName": name})), denied("ListImages")),
        Case::denied(
            "delete",
            nobody,
            ecr("BatchDeleteImage", json!({"repositoryName": name, "imageIds": [{"imageTag": "v1"}]})),
            denied("BatchDeleteImage"),
        ),
    ]);
}
