//! ECR repositories and their policies, in process: the happy path, ECR's errors for bad
//! input (today's codes and messages), and refusals of a caller without permissions.

use crate::support::{Case, TestServer, ecr, unique};
use serde_json::json;

crate::support::on_both_stores!(
    repositories_are_created_described_and_deleted,
    bad_repository_input_is_refused_with_ecrs_messages,
    repository_policies_are_set_read_and_deleted,
    a_user_without_permissions_is_refused_every_repository_operation
);

fn repositories_are_created_described_and_deleted(server: &TestServer) {
    let root = &server.root;
    let name = format!("team/{}", unique("app"));
    let account = &server.account_id;
    let arn = format!("arn:aws:ecr:us-east-1:{account}:repository/{name}");
    server.run(&[
        Case::ok("create", root, ecr("CreateRepository", json!({"repositoryName": name})))
            .json("/repository/repositoryArn", arn.as_str())
            .json("/repository/registryId", account.as_str())
            .json("/repository/imageTagMutability", "MUTABLE")
            .json("/repository/repositoryUri", format!("{}/{name}", server.address)),
        Case::error(
            "create again",
            root,
            ecr("CreateRepository", json!({"repositoryName": name})),
            400,
            "RepositoryAlreadyExistsException",
            format!("The repository with name '{name}' already exists in the registry with id '{account}'"),
        ),
        Case::ok("described by name", root, ecr("DescribeRepositories", json!({"repositoryNames": [name]})))
            .json("/repositories/0/repositoryName", name.as_str()),
        Case::ok(
            "made immutable",
            root,
            ecr("PutImageTagMutability", json!({"repositoryName": name, "imageTagMutability": "IMMUTABLE"})),
        )
        .json("/imageTagMutability", "IMMUTABLE"),
        Case::ok("described so", root, ecr("DescribeRepositories", json!({"repositoryNames": [name]})))
            .json("/repositories/0/imageTagMutability", "IMMUTABLE"),
        Case::ok("no images yet", root, ecr("ListImages", json!({"repositoryName": name}))).json_len("/imageIds", 0),
        Case::ok("delete", root, ecr("DeleteRepository", json!({"repositoryName": name})))
            .json("/repository/repositoryName", name.as_str()),
        Case::error(
            "delete again",
            root,
            ecr("DeleteRepository", json!({"repositoryName": name})),
            400,
            "RepositoryNotFoundException",
            format!("The repository with name '{name}' does not exist in the registry with id '{account}'"),
        ),
        Case::error(
            "describe it",
            root,
            ecr("DescribeRepositories", json!({"repositoryNames": [name]})),
            400,
            "RepositoryNotFoundException",
            format!("The repository with name '{name}' does not exist"),
        ),
    ]);
}

fn bad_repository_input_is_refused_with_ecrs_messages(server: &TestServer) {
    let root = &server.root;
    let pattern = r"Member must satisfy regular expression pattern: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*";
    server.run(&[
        Case::error("upper case", root, ecr("CreateRepository", json!({"repositoryName": "MyApp"})), 400,
            "InvalidParameterException",
            format!("1 validation error detected: Value 'MyApp' at 'repositoryName' failed to satisfy constraint: {pattern}")),
        Case::error("one letter", root, ecr("CreateRepository", json!({"repositoryName": "a"})), 400,
            "InvalidParameterException",
            "1 validation error detected: Value 'a' at 'repositoryName' failed to satisfy constraint: Member must have length greater than or equal to 2"),
        Case::error("a trailing slash", root, ecr("CreateRepository", json!({"repositoryName": "ab/"})), 400,
            "InvalidParameterException", pattern),
        Case::error("no name", root, ecr("CreateRepository", json!({})), 400, "InvalidParameterException",
            "1 validation error detected: Value null at 'repositoryName' failed to satisfy constraint: Member must not be null"),
        Case::error("an unknown mutability", root,
            ecr("CreateRepository", json!({"repositoryName": unique("m"), "imageTagMutability": "SOMETIMES"})), 400,
            "InvalidParameterException",
            "Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]"),
        Case::error("exclusion filters", root,
            ecr("CreateRepository", json!({"repositoryName": unique("m"), "imageTagMutability": "MUTABLE_WITH_EXCLUSION"})),
            400, "InvalidParameterException", "Homeport supports MUTABLE and IMMUTABLE (no exclusion filters)"),
        Case::error("another registry", root,
            ecr("CreateRepository", json!({"repositoryName": unique("r"), "registryId": "000000000000"})), 400,
            "InvalidParameterException",
            format!("Invalid parameter at 'registryId' failed to satisfy constraint: 'The registry 000000000000 is not this registry ({})'", server.account_id)),
        Case::error("delete one nobody made", root, ecr("DeleteRepository", json!({"repositoryName": "nobody-made-me"})),
            400, "RepositoryNotFoundException", "The repository with name 'nobody-made-me' does not exist"),
        Case::error("mutability of nothing", root, ecr("PutImageTagMutability", json!({"repositoryName": "nobody-made-me"})),
            400, "InvalidParameterException",
            "1 validation error detected: Value null at 'imageTagMutability' failed to satisfy constraint: Member must not be null"),
    ]);
}

fn repository_policies_are_set_read_and_deleted(server: &TestServer) {
    let root = &server.root;
    let name = unique("policed");
    let account = &server.account_id;
    server.ecr(root, "CreateRepository", &json!({"repositoryName": name})).ok();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"pull","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":["ecr:BatchGetImage"]}}]}}"#
    );
    let stranger = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:user/nobody-made-me"}},"Action":"ecr:*"}}]}}"#
    );
    let no_policy = format!(
        "Repository policy does not exist for the repository with name '{name}' in the registry with id '{account}'"
    );
    server.run(&[
        Case::error(
            "none yet",
            root,
            ecr("GetRepositoryPolicy", json!({"repositoryName": name})),
            400,
            "RepositoryPolicyNotFoundException",
            no_policy.as_str(),
        ),
        Case::ok("set", root, ecr("SetRepositoryPolicy", json!({"repositoryName": name, "policyText": policy})))
            .json("/repositoryName", name.as_str()),
        Case::ok("read back", root, ecr("GetRepositoryPolicy", json!({"repositoryName": name})))
            .json("/policyText", policy.as_str()),
        Case::error(
            "not JSON",
            root,
            ecr("SetRepositoryPolicy", json!({"repositoryName": name, "policyText": "{"})),
            400,
            "InvalidParameterException",
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
        ),
        Case::error(
            "a user nobody made",
            root,
            ecr("SetRepositoryPolicy", json!({"repositoryName": name, "policyText": stranger})),
            400,
            "InvalidParameterException",
            "Invalid repository policy provided",
        ),
        Case::ok("delete", root, ecr("DeleteRepositoryPolicy", json!({"repositoryName": name}))),
        Case::error(
            "gone",
            root,
            ecr("GetRepositoryPolicy", json!({"repositoryName": name})),
            400,
            "RepositoryPolicyNotFoundException",
            no_policy.as_str(),
        ),
        Case::error(
            "on a repository nobody made",
            root,
            ecr("SetRepositoryPolicy", json!({"repositoryName": "nobody-made-me", "policyText": policy})),
            400,
            "RepositoryNotFoundException",
            "The repository with name 'nobody-made-me' does not exist",
        ),
    ]);
}

fn a_user_without_permissions_is_refused_every_repository_operation(server: &TestServer) {
    let nobody = server.nobody();
    let arn = |name: &str| format!("arn:aws:ecr:us-east-1:{}:repository/{name}", server.account_id);
    let denied =
        |action: &str, resource: &str| format!("is not authorized to perform: ecr:{action} on resource: {resource}");
    server.run(&[
        Case::denied(
            "create",
            nobody,
            ecr("CreateRepository", json!({"repositoryName": "r1"})),
            denied("CreateRepository", &arn("r1")),
        ),
        Case::denied(
            "describe",
            nobody,
            ecr("DescribeRepositories", json!({"repositoryNames": ["r2"]})),
            denied("DescribeRepositories", &arn("r2")),
        ),
        Case::denied(
            "delete",
            nobody,
            ecr("DeleteRepository", json!({"repositoryName": "r3"})),
            denied("DeleteRepository", &arn("r3")),
        ),
        Case::denied(
            "set a policy",
            nobody,
            ecr("SetRepositoryPolicy", json!({"repositoryName": "r4", "policyText": crate::support::ALLOW_ALL})),
            denied("SetRepositoryPolicy", &arn("r4")),
        ),
        Case::denied("log in", nobody, ecr("GetAuthorizationToken", json!({})), "ecr:GetAuthorizationToken"),
        Case::ok("root may log in", &server.root, ecr("GetAuthorizationToken", json!({})))
            .json_len("/authorizationData", 1),
    ]);
}
