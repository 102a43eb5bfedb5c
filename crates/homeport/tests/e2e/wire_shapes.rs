//! Every operation the server routes, called once through boto3 on its happy path, and its
//! response checked element by element against the service model botocore ships
//! (`boto3_calls.py` does the checking). A routed operation missing from the tour fails the
//! test, so a new operation cannot skip the check; the only exceptions are the operations
//! botocore has no model of (SSM's agent-only `UpdateInstanceInformation`).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use serde_json::{Value, json};

use common::{Server, boto3_available, fresh_dir, snake_case};

fn call(operation: &str, params: Value) -> Value {
    json!({"operation": operation, "params": params})
}

#[test]
fn every_operation_answers_in_its_model_shape_on_sqlite() {
    if !boto3_available() {
        return;
    }
    tour(None, "shapes-sqlite");
}

#[test]
fn every_operation_answers_in_its_model_shape_on_postgres() {
    if !boto3_available() {
        return;
    }
    let Some(database) = common::TestDatabase::create("shapes") else { return };
    tour(Some(&database.url), "shapes-postgres");
}

/// Calls every routed operation once on `store_url` (SQLite when `None`).
fn tour(store_url: Option<&str>, name: &str) {
    let dir = fresh_dir(name);
    let server = Server::start(&dir.join("data"), store_url);
    let allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["iam:Get*","sts:AssumeRole"],"Resource":"*","Condition":{"StringEquals":{"aws:username":"u"}}}}"#;
    let account = server.boto3(&[json!({"service": "sts", "operation": "get_caller_identity", "params": {}})])[0]
        ["response"]["Account"]
        .as_str()
        .unwrap()
        .to_owned();
    let policy_arn = format!("arn:aws:iam::{account}:policy/p");
    let role_arn = format!("arn:aws:iam::{account}:role/r");
    let user_arn = format!("arn:aws:iam::{account}:user/u");
    let oidc_arn = format!("arn:aws:iam::{account}:oidc-provider/tour.example.com");
    let saml_arn = format!("arn:aws:iam::{account}:saml-provider/tour-idp");
    let group_arn = format!("arn:aws:logs:us-east-1:{account}:log-group:/ecs/web");
    // A metadata document as identity providers write them (IAM takes 1,000 characters at least).
    let saml_metadata = format!(
        r#"<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        "A".repeat(800)
    );
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{user_arn}"}},"Action":"sts:AssumeRole"}}}}"#
    );
    let managed = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    let tags = json!([{"Key": "team", "Value": "ops"}]);
    let first = vec![
        call("create_user", json!({"UserName": "u", "Tags": tags})),
        call("get_user", json!({"UserName": "u"})),
        call("list_users", json!({})),
        call("create_access_key", json!({"UserName": "u"})),
        call("list_access_keys", json!({"UserName": "u"})),
        call("put_user_policy", json!({"UserName": "u", "PolicyName": "inline", "PolicyDocument": allow})),
        call("get_user_policy", json!({"UserName": "u", "PolicyName": "inline"})),
        call("list_user_policies", json!({"UserName": "u"})),
        call("create_group", json!({"GroupName": "g"})),
        call("add_user_to_group", json!({"GroupName": "g", "UserName": "u"})),
        call("get_group", json!({"GroupName": "g"})),
        call("list_groups", json!({})),
        call("list_groups_for_user", json!({"UserName": "u"})),
        call("put_group_policy", json!({"GroupName": "g", "PolicyName": "inline", "PolicyDocument": allow})),
        call("get_group_policy", json!({"GroupName": "g", "PolicyName": "inline"})),
        call("list_group_policies", json!({"GroupName": "g"})),
        call("attach_group_policy", json!({"GroupName": "g", "PolicyArn": managed})),
        call("list_attached_group_policies", json!({"GroupName": "g"})),
        call("detach_group_policy", json!({"GroupName": "g", "PolicyArn": managed})),
        call("delete_group_policy", json!({"GroupName": "g", "PolicyName": "inline"})),
        call("remove_user_from_group", json!({"GroupName": "g", "UserName": "u"})),
        call("update_group", json!({"GroupName": "g", "NewPath": "/teams/"})),
        call("delete_group", json!({"GroupName": "g"})),
        call("attach_user_policy", json!({"UserName": "u", "PolicyArn": managed})),
        call("list_attached_user_policies", json!({"UserName": "u"})),
        call("put_user_permissions_boundary", json!({"UserName": "u", "PermissionsBoundary": managed})),
        call("delete_user_permissions_boundary", json!({"UserName": "u"})),
        call("tag_user", json!({"UserName": "u", "Tags": [{"Key": "more", "Value": "x"}]})),
        call("list_user_tags", json!({"UserName": "u"})),
        call("untag_user", json!({"UserName": "u", "TagKeys": ["more"]})),
        call("create_policy", json!({"PolicyName": "p", "PolicyDocument": allow, "Description": "d", "Tags": tags})),
        call("get_policy", json!({"PolicyArn": policy_arn})),
        call("list_policies", json!({"Scope": "All"})),
        // The whole AWS managed catalogue, paged through as the aws CLI does.
        json!({"operation": "list_policies", "params": {"Scope": "AWS", "MaxItems": 100}, "allPages": "Policies"}),
        call("get_policy_version", json!({"PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "VersionId": "v123"})),
        call("create_policy_version", json!({"PolicyArn": policy_arn, "PolicyDocument": allow})),
        call("get_policy_version", json!({"PolicyArn": policy_arn, "VersionId": "v2"})),
        call("list_policy_versions", json!({"PolicyArn": policy_arn})),
        call("set_default_policy_version", json!({"PolicyArn": policy_arn, "VersionId": "v2"})),
        call("delete_policy_version", json!({"PolicyArn": policy_arn, "VersionId": "v1"})),
        call("tag_policy", json!({"PolicyArn": policy_arn, "Tags": [{"Key": "more", "Value": "x"}]})),
        call("list_policy_tags", json!({"PolicyArn": policy_arn})),
        call("untag_policy", json!({"PolicyArn": policy_arn, "TagKeys": ["more"]})),
        call(
            "create_role",
            json!({"RoleName": "r", "AssumeRolePolicyDocument": trust, "Description": "d", "Tags": tags}),
        ),
        call("get_role", json!({"RoleName": "r"})),
        call("list_roles", json!({})),
        call("update_role", json!({"RoleName": "r", "MaxSessionDuration": 7200})),
        call("update_role_description", json!({"RoleName": "r", "Description": "e"})),
        call("update_assume_role_policy", json!({"RoleName": "r", "PolicyDocument": trust})),
        call("put_role_policy", json!({"RoleName": "r", "PolicyName": "inline", "PolicyDocument": allow})),
        call("get_role_policy", json!({"RoleName": "r", "PolicyName": "inline"})),
        call("list_role_policies", json!({"RoleName": "r"})),
        call("attach_role_policy", json!({"RoleName": "r", "PolicyArn": policy_arn})),
        call("list_attached_role_policies", json!({"RoleName": "r"})),
        call("list_entities_for_policy", json!({"PolicyArn": policy_arn})),
        call("put_role_permissions_boundary", json!({"RoleName": "r", "PermissionsBoundary": managed})),
        call("tag_role", json!({"RoleName": "r", "Tags": [{"Key": "more", "Value": "x"}]})),
        call("list_role_tags", json!({"RoleName": "r"})),
        call("untag_role", json!({"RoleName": "r", "TagKeys": ["more"]})),
        call("create_instance_profile", json!({"InstanceProfileName": "ip"})),
        call("add_role_to_instance_profile", json!({"InstanceProfileName": "ip", "RoleName": "r"})),
        call("get_instance_profile", json!({"InstanceProfileName": "ip"})),
        call("tag_instance_profile", json!({"InstanceProfileName": "ip", "Tags": tags})),
        call("list_instance_profile_tags", json!({"InstanceProfileName": "ip"})),
        call("untag_instance_profile", json!({"InstanceProfileName": "ip", "TagKeys": ["team"]})),
        call("list_instance_profiles", json!({})),
        call("list_instance_profiles_for_role", json!({"RoleName": "r"})),
        call("create_service_linked_role", json!({"AWSServiceName": "ecs.amazonaws.com"})),
        call(
            "simulate_custom_policy",
            json!({"PolicyInputList": [allow], "ActionNames": ["iam:GetUser"], "ContextEntries": [
                {"ContextKeyName": "aws:username", "ContextKeyValues": ["u"], "ContextKeyType": "string"}]}),
        ),
        call(
            "simulate_principal_policy",
            json!({"PolicySourceArn": role_arn, "ActionNames": ["iam:GetUser", "s3:GetObject"]}),
        ),
        call("get_context_keys_for_custom_policy", json!({"PolicyInputList": [allow]})),
        call("get_context_keys_for_principal_policy", json!({"PolicySourceArn": user_arn})),
        call("generate_service_last_accessed_details", json!({"Arn": user_arn, "Granularity": "ACTION_LEVEL"})),
        call("list_policies_granting_service_access", json!({"Arn": user_arn, "ServiceNamespaces": ["iam", "s3"]})),
        call("get_account_summary", json!({})),
        call("create_account_alias", json!({"AccountAlias": "tour-alias"})),
        call("list_account_aliases", json!({})),
        call("delete_account_alias", json!({"AccountAlias": "tour-alias"})),
        call("set_security_token_service_preferences", json!({"GlobalEndpointTokenVersion": "v2Token"})),
        call("list_delegation_requests", json!({})),
        call(
            "create_open_id_connect_provider",
            json!({"Url": "https://tour.example.com", "ClientIDList": ["sts.amazonaws.com"],
            "ThumbprintList": ["6938fd4d98bab03faadb97b34396831e3780aea1"], "Tags": tags}),
        ),
        call("get_open_id_connect_provider", json!({"OpenIDConnectProviderArn": oidc_arn})),
        call("list_open_id_connect_providers", json!({})),
        call(
            "add_client_id_to_open_id_connect_provider",
            json!({"OpenIDConnectProviderArn": oidc_arn, "ClientID": "app"}),
        ),
        call(
            "remove_client_id_from_open_id_connect_provider",
            json!({"OpenIDConnectProviderArn": oidc_arn, "ClientID": "app"}),
        ),
        call(
            "update_open_id_connect_provider_thumbprint",
            json!({"OpenIDConnectProviderArn": oidc_arn, "ThumbprintList": []}),
        ),
        call(
            "tag_open_id_connect_provider",
            json!({"OpenIDConnectProviderArn": oidc_arn, "Tags": [{"Key": "more", "Value": "x"}]}),
        ),
        call("list_open_id_connect_provider_tags", json!({"OpenIDConnectProviderArn": oidc_arn})),
        call("untag_open_id_connect_provider", json!({"OpenIDConnectProviderArn": oidc_arn, "TagKeys": ["more"]})),
        call("delete_open_id_connect_provider", json!({"OpenIDConnectProviderArn": oidc_arn})),
        call("create_saml_provider", json!({"Name": "tour-idp", "SAMLMetadataDocument": saml_metadata, "Tags": tags})),
        call("get_saml_provider", json!({"SAMLProviderArn": saml_arn})),
        call("list_saml_providers", json!({})),
        call("update_saml_provider", json!({"SAMLProviderArn": saml_arn, "SAMLMetadataDocument": saml_metadata})),
        call("tag_saml_provider", json!({"SAMLProviderArn": saml_arn, "Tags": [{"Key": "more", "Value": "x"}]})),
        call("list_saml_provider_tags", json!({"SAMLProviderArn": saml_arn})),
        call("untag_saml_provider", json!({"SAMLProviderArn": saml_arn, "TagKeys": ["more"]})),
        call("delete_saml_provider", json!({"SAMLProviderArn": saml_arn})),
        call("get_account_authorization_details", json!({})),
        json!({"service": "sts", "operation": "get_caller_identity", "params": {}}),
        json!({"service": "sts", "operation": "get_session_token", "params": {"DurationSeconds": 900}}),
    ];
    let answers = server.boto3(&first);
    for (call, answer) in first.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    let catalogue = first.iter().position(|call| call.get("allPages").is_some()).unwrap();
    let policies = answers[catalogue]["response"]["Policies"].as_array().unwrap();
    let arns: std::collections::BTreeSet<&str> =
        policies.iter().map(|policy| policy["Arn"].as_str().unwrap()).collect();
    assert_eq!((policies.len(), arns.len()), (1315, 1315), "every AWS managed policy, once");
    assert!(arns.iter().all(|arn| arn.starts_with("arn:aws:iam::aws:policy/")));
    // botocore decodes the URL-encoded document into JSON.
    let document = &answers[catalogue + 1]["response"]["PolicyVersion"]["Document"];
    assert_eq!(document["Version"], "2012-10-17", "{document}");
    let key = &answers[3]["response"]["AccessKey"];
    let generated =
        first.iter().position(|call| call["operation"] == "generate_service_last_accessed_details").unwrap();
    let job = answers[generated]["response"]["JobId"].as_str().unwrap().to_owned();
    let (key_id, secret) = (key["AccessKeyId"].as_str().unwrap(), key["SecretAccessKey"].as_str().unwrap());
    let as_user = |operation: &str, service: &str, params: Value| json!({"service": service, "operation": operation, "params": params, "credentials": [key_id, secret]});
    let second = vec![
        as_user("assume_role", "sts", json!({"RoleArn": role_arn, "RoleSessionName": "tour"})),
        call("update_access_key", json!({"UserName": "u", "AccessKeyId": key_id, "Status": "Inactive"})),
        call("get_access_key_last_used", json!({"AccessKeyId": key_id})),
        call("get_service_last_accessed_details", json!({"JobId": job})),
        call("get_service_last_accessed_details_with_entities", json!({"JobId": job, "ServiceNamespace": "iam"})),
        call("delete_access_key", json!({"UserName": "u", "AccessKeyId": key_id})),
        call("remove_role_from_instance_profile", json!({"InstanceProfileName": "ip", "RoleName": "r"})),
        call("delete_instance_profile", json!({"InstanceProfileName": "ip"})),
        call("detach_role_policy", json!({"RoleName": "r", "PolicyArn": policy_arn})),
        call("delete_role_permissions_boundary", json!({"RoleName": "r"})),
        call("delete_role_policy", json!({"RoleName": "r", "PolicyName": "inline"})),
        call("delete_role", json!({"RoleName": "r"})),
        call("delete_policy", json!({"PolicyArn": policy_arn})),
        call("detach_user_policy", json!({"UserName": "u", "PolicyArn": managed})),
        call("delete_user_policy", json!({"UserName": "u", "PolicyName": "inline"})),
        call("update_user", json!({"UserName": "u", "NewUserName": "u2"})),
        call("delete_user", json!({"UserName": "u2"})),
        call("delete_service_linked_role", json!({"RoleName": "AWSServiceRoleForECS"})),
    ];
    let answers = server.boto3(&second);
    for (call, answer) in second.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    let task = answers.last().unwrap()["response"]["DeletionTaskId"].as_str().unwrap();
    // Operations that answer with an error here, as AWS does for an account like this one:
    // the error's code is checked, and the request's shape by botocore.
    let request = "abcdefghijklmnop-1";
    let refusals = [
        (call("get_service_linked_role_deletion_status", json!({"DeletionTaskId": task})), None),
        (call("list_organizations_features", json!({})), Some("OrganizationNotFoundException")),
        (call("enable_organizations_root_credentials_management", json!({})), Some("OrganizationNotFoundException")),
        (call("disable_organizations_root_credentials_management", json!({})), Some("OrganizationNotFoundException")),
        (call("enable_organizations_root_sessions", json!({})), Some("OrganizationNotFoundException")),
        (call("disable_organizations_root_sessions", json!({})), Some("OrganizationNotFoundException")),
        (
            call("generate_organizations_access_report", json!({"EntityPath": "o-a1b2c3d4e5/r-f6g7h8i9j0example"})),
            Some("OrganizationNotFoundException"),
        ),
        (call("get_organizations_access_report", json!({"JobId": "0".repeat(36)})), Some("NoSuchEntity")),
        (call("get_delegation_request", json!({"DelegationRequestId": request})), Some("NoSuchEntity")),
        (call("accept_delegation_request", json!({"DelegationRequestId": request})), Some("NoSuchEntity")),
        (call("associate_delegation_request", json!({"DelegationRequestId": request})), Some("NoSuchEntity")),
        (call("reject_delegation_request", json!({"DelegationRequestId": request})), Some("NoSuchEntity")),
        (call("update_delegation_request", json!({"DelegationRequestId": request})), Some("NoSuchEntity")),
        (call("send_delegation_token", json!({"DelegationRequestId": request})), Some("NoSuchEntity")),
        (
            call(
                "create_delegation_request",
                json!({"Description": "d", "Permissions": {"PolicyTemplateArn": "arn:aws:iam::aws:policy/template"}, "RequestMessage": "m", "RequestorWorkflowId": "workflow",
                       "RedirectUrl": "https://example.com", "NotificationChannel": "arn:aws:sns:us-east-1:123456789012:t",
                       "SessionDuration": 3600}),
            ),
            Some("AccessDenied"),
        ),
        (
            call(
                "get_human_readable_summary",
                json!({"EntityArn": format!("arn:aws:iam::{account}:delegation-request/x")}),
            ),
            Some("NoSuchEntity"),
        ),
        (call("get_outbound_web_identity_federation_info", json!({})), Some("FeatureDisabled")),
        (call("disable_outbound_web_identity_federation", json!({})), Some("FeatureDisabled")),
    ];
    let refused: Vec<Value> = refusals.iter().map(|(call, _)| call.clone()).collect();
    for ((call, code), answer) in refusals.iter().zip(server.boto3(&refused)) {
        match code {
            None => assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]),
            Some(code) => assert_eq!(answer["error"]["Code"], *code, "{}: {answer}", call["operation"]),
        }
    }

    // A user's other credentials, the password policy, server certificates and the
    // credential report (ChangePassword as the user itself).
    let (credential_batch, credential_batch_after) = credential_calls(&server);

    // The awsJson services: SSM (with an instance registered through the agent protocol) and CloudTrail.
    let ssm = |operation: &str, params: Value| json!({"service": "ssm", "operation": operation, "params": params});
    let ecs = |operation: &str, params: Value| json!({"service": "ecs", "operation": operation, "params": params});
    let logs = |operation: &str, params: Value| json!({"service": "logs", "operation": operation, "params": params});
    let trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
    let setup = vec![
        call("create_role", json!({"RoleName": "node", "AssumeRolePolicyDocument": trust})),
        ssm("create_activation", json!({"IamRole": "node", "RegistrationLimit": 2, "Tags": tags})),
    ];
    let activation = server.boto3(&setup)[1]["response"].clone();
    let (status, registered) = common::register(&server, &activation, &common::key(7));
    assert_eq!(status, 200, "{registered}");
    let instance = registered["InstanceId"].as_str().unwrap();
    let managed = |operation: &str, extra: Value| {
        let mut params = json!({"ResourceType": "ManagedInstance", "ResourceId": instance});
        params.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        ssm(operation, params)
    };
    let third = vec![
        ssm("describe_activations", json!({})),
        ssm("describe_instance_information", json!({"Filters": [{"Key": "PingStatus", "Values": ["ConnectionLost"]}]})),
        managed("add_tags_to_resource", json!({"Tags": [{"Key": "more", "Value": "x"}]})),
        managed("list_tags_for_resource", json!({})),
        managed("remove_tags_from_resource", json!({"TagKeys": ["more"]})),
        ssm("deregister_managed_instance", json!({"InstanceId": instance})),
        ssm("delete_activation", json!({"ActivationId": activation["ActivationId"]})),
        json!({"service": "cloudtrail", "operation": "lookup_events", "params": {"MaxResults": 5}}),
        ecs("create_cluster", json!({"clusterName": "tour", "tags": [{"key": "team", "value": "ops"}]})),
        ecs("describe_clusters", json!({"clusters": ["tour", "missing"], "include": ["STATISTICS", "TAGS"]})),
        ecs("list_clusters", json!({})),
        ecs(
            "tag_resource",
            json!({"resourceArn": format!("arn:aws:ecs:us-east-1:{account}:cluster/tour"),
                "tags": [{"key": "env", "value": "test"}]}),
        ),
        ecs(
            "untag_resource",
            json!({"resourceArn": format!("arn:aws:ecs:us-east-1:{account}:cluster/tour"), "tagKeys": ["env"]}),
        ),
        ecs("list_tags_for_resource", json!({"resourceArn": format!("arn:aws:ecs:us-east-1:{account}:cluster/tour")})),
        ecs("put_account_setting", json!({"name": "containerInsights", "value": "enabled"})),
        ecs("put_account_setting_default", json!({"name": "awsvpcTrunking", "value": "enabled"})),
        ecs("list_account_settings", json!({"effectiveSettings": true, "maxResults": 5})),
        ecs("delete_account_setting", json!({"name": "containerInsights"})),
        ecs(
            "update_cluster",
            json!({"cluster": "tour", "settings": [{"name": "containerInsights", "value": "enabled"}]}),
        ),
        ecs(
            "register_task_definition",
            json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64,
                "portMappings": [{"containerPort": 80}], "command": ["sleep", "60"]}], "tags": [{"key": "team", "value": "ops"}]}),
        ),
        ecs("describe_task_definition", json!({"taskDefinition": "web", "include": ["TAGS"]})),
        ecs("list_task_definitions", json!({"familyPrefix": "web"})),
        ecs("list_task_definition_families", json!({})),
        ecs("deregister_task_definition", json!({"taskDefinition": "web:1"})),
        ecs("delete_task_definitions", json!({"taskDefinitions": ["web:1"]})),
        ecs(
            "register_daemon_task_definition",
            json!({"family": "agent", "containerDefinitions": [{"name": "probe", "image": "busybox", "memory": 32,
                "command": ["sleep", "60"], "logConfiguration": {"logDriver": "json-file"}}],
                "volumes": [{"name": "host", "host": {"sourcePath": "/var/log"}}], "tags": [{"key": "team", "value": "ops"}]}),
        ),
        ecs("describe_daemon_task_definition", json!({"daemonTaskDefinition": "agent"})),
        ecs("list_daemon_task_definitions", json!({"familyPrefix": "ag", "revision": "LAST_REGISTERED"})),
        ecs("list_daemons", json!({"clusterArn": "tour", "maxResults": 10})),
        ecs(
            "list_daemon_deployments",
            json!({"daemonArn": format!("arn:aws:ecs:us-east-1:{account}:daemon/tour/probe")}),
        ),
        ecs(
            "describe_daemon_deployments",
            json!({"daemonDeploymentArns": [format!("arn:aws:ecs:us-east-1:{account}:daemon-deployment/tour/probe/1")]}),
        ),
        ecs(
            "describe_daemon_revisions",
            json!({"daemonRevisionArns": [format!("arn:aws:ecs:us-east-1:{account}:daemon-revision/tour/probe/1")]}),
        ),
        ecs("delete_daemon_task_definition", json!({"daemonTaskDefinition": "agent:1"})),
        ecs(
            "register_daemon_task_definition",
            json!({"family": "agent", "memory": "64", "containerDefinitions": [{"name": "probe", "image": "busybox"}]}),
        ),
        ecs("delete_cluster", json!({"cluster": "tour"})),
    ];
    let answers = server.boto3(&third);
    for (call, answer) in third.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    assert_eq!(answers[1]["response"]["InstanceInformationList"][0]["InstanceId"], instance);

    // ECS container instances and tasks: the agent's calls with an instance's credentials.
    let setup_ecs = vec![
        call(
            "attach_role_policy",
            json!({"RoleName": "node", "PolicyArn": "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"}),
        ),
        ssm("create_activation", json!({"IamRole": "node"})),
        ecs("create_cluster", json!({"clusterName": "fleet"})),
        ecs(
            "register_task_definition",
            json!({"family": "job", "containerDefinitions": [{"name": "main", "image": "busybox", "memory": 32}]}),
        ),
    ];
    let answers = server.boto3(&setup_ecs);
    let (status, registered) = common::register(&server, &answers[1]["response"], &common::key(8));
    assert_eq!(status, 200, "{registered}");
    let node = registered["InstanceId"].as_str().unwrap();
    let now =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap();
    let (status, credentials) = common::request_token(&server, node, &common::key(8), now);
    assert_eq!(status, 200, "{credentials}");
    let as_node = |operation: &str, params: Value| {
        json!({"service": "ecs", "operation": operation, "params": params, "credentials":
            [credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]]})
    };
    let resources = json!([
        {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024},
        {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]},
    ]);
    let registered_calls = [as_node(
        "register_container_instance",
        json!({"cluster": "fleet", "totalResources": resources, "versionInfo": {"agentVersion": "0.1.0"},
            "attributes": [{"name": "ecs.capability.external"}, {"name": "ecs.os-type", "value": "linux"}]}),
    )];
    let registered = server.boto3(&registered_calls);
    let instance_arn =
        registered[0]["response"]["containerInstance"]["containerInstanceArn"].as_str().unwrap().to_owned();
    let fourth = vec![
        ecs(
            "describe_container_instances",
            json!({"cluster": "fleet", "containerInstances": [instance_arn], "include": ["TAGS"]}),
        ),
        ecs("list_container_instances", json!({"cluster": "fleet", "filter": "attribute:ecs.os-type == linux"})),
        ecs(
            "put_attributes",
            json!({"cluster": "fleet", "attributes": [{"name": "stack", "value": "blue", "targetType": "container-instance", "targetId": instance_arn}]}),
        ),
        ecs(
            "list_attributes",
            json!({"cluster": "fleet", "targetType": "container-instance", "attributeName": "stack"}),
        ),
        ecs(
            "delete_attributes",
            json!({"cluster": "fleet", "attributes": [{"name": "stack", "targetType": "container-instance", "targetId": instance_arn}]}),
        ),
        ecs(
            "update_container_instances_state",
            json!({"cluster": "fleet", "containerInstances": [instance_arn], "status": "ACTIVE"}),
        ),
        ecs(
            "run_task",
            json!({"cluster": "fleet", "taskDefinition": "job", "count": 2, "placementStrategy": [{"type": "binpack", "field": "memory"}]}),
        ),
        ecs("start_task", json!({"cluster": "fleet", "taskDefinition": "job", "containerInstances": [instance_arn]})),
        ecs("list_tasks", json!({"cluster": "fleet"})),
    ];
    let answers = server.boto3(&fourth);
    for (call, answer) in fourth.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    assert_eq!(answers[6]["response"]["tasks"].as_array().unwrap().len(), 2, "{}", answers[6]);
    let task = answers[6]["response"]["tasks"][0]["taskArn"].as_str().unwrap().to_owned();
    let fifth = vec![
        as_node(
            "submit_task_state_change",
            json!({"cluster": "fleet", "task": task, "status": "RUNNING",
            "containers": [{"containerName": "main", "runtimeId": "abc", "status": "RUNNING"}]}),
        ),
        as_node(
            "submit_container_state_change",
            json!({"cluster": "fleet", "task": task, "containerName": "main", "status": "RUNNING"}),
        ),
        ecs("describe_tasks", json!({"cluster": "fleet", "tasks": [task, "missing"]})),
        ecs("stop_task", json!({"cluster": "fleet", "task": task, "reason": "tour over"})),
        ecs(
            "create_service",
            json!({"cluster": "fleet", "serviceName": "web", "taskDefinition": "job", "desiredCount": 1}),
        ),
        logs("create_log_group", json!({"logGroupName": "/ecs/web"})),
        logs("put_retention_policy", json!({"logGroupName": "/ecs/web", "retentionInDays": 7})),
        logs("describe_log_groups", json!({"logGroupNamePrefix": "/ecs"})),
        logs("create_log_stream", json!({"logGroupName": "/ecs/web", "logStreamName": "web/main/1"})),
        logs("describe_log_streams", json!({"logGroupName": "/ecs/web"})),
        logs(
            "put_log_events",
            json!({"logGroupName": "/ecs/web", "logStreamName": "web/main/1",
            "logEvents": [{"timestamp": now * 1000, "message": "hello"}, {"timestamp": now * 1000 + 1, "message": "{\"level\": \"error\"}"}]}),
        ),
        logs(
            "get_log_events",
            json!({"logGroupName": "/ecs/web", "logStreamName": "web/main/1", "startFromHead": true}),
        ),
        logs("filter_log_events", json!({"logGroupName": "/ecs/web", "filterPattern": "{ $.level = \"error\" }"})),
        logs("tag_log_group", json!({"logGroupName": "/ecs/web", "tags": {"team": "edge"}})),
        logs(
            "put_metric_filter",
            json!({"logGroupName": "/ecs/web", "filterName": "errors", "filterPattern": "ERROR",
                "metricTransformations": [{"metricName": "Errors", "metricNamespace": "Web", "metricValue": "1"}]}),
        ),
        logs("describe_metric_filters", json!({"logGroupName": "/ecs/web"})),
        logs("test_metric_filter", json!({"filterPattern": "ERROR", "logEventMessages": ["ERROR one", "fine"]})),
        logs("delete_metric_filter", json!({"logGroupName": "/ecs/web", "filterName": "errors"})),
        logs(
            "put_subscription_filter",
            json!({"logGroupName": "/ecs/web", "filterName": "ship", "filterPattern": "",
                "destinationArn": format!("arn:aws:lambda:us-east-1:{account}:function:ship")}),
        ),
        logs("describe_subscription_filters", json!({"logGroupName": "/ecs/web"})),
        logs("delete_subscription_filter", json!({"logGroupName": "/ecs/web", "filterName": "ship"})),
        logs(
            "put_resource_policy",
            json!({"policyName": "route53", "policyDocument": r#"{"Version":"2012-10-17","Statement":[]}"#}),
        ),
        logs("describe_resource_policies", json!({})),
        logs("delete_resource_policy", json!({"policyName": "route53"})),
        logs("list_tags_log_group", json!({"logGroupName": "/ecs/web"})),
        logs("untag_log_group", json!({"logGroupName": "/ecs/web", "tags": ["team"]})),
        logs("tag_resource", json!({"resourceArn": group_arn, "tags": {"tier": "web"}})),
        logs("list_tags_for_resource", json!({"resourceArn": group_arn})),
        logs("untag_resource", json!({"resourceArn": group_arn, "tagKeys": ["tier"]})),
        logs("delete_retention_policy", json!({"logGroupName": "/ecs/web"})),
        logs("delete_log_stream", json!({"logGroupName": "/ecs/web", "logStreamName": "web/main/1"})),
        logs("delete_log_group", json!({"logGroupName": "/ecs/web"})),
        as_node("discover_poll_endpoint", json!({"cluster": "fleet", "containerInstance": instance_arn})),
        as_node("submit_attachment_state_changes", json!({"cluster": "fleet", "attachments": []})),
        ecs("describe_capacity_providers", json!({"include": ["TAGS"]})),
        ecs("update_task_protection", json!({"cluster": "fleet", "tasks": [task], "protectionEnabled": true})),
        ecs("get_task_protection", json!({"cluster": "fleet", "tasks": [task, "missing"]})),
        ecs(
            "put_cluster_capacity_providers",
            json!({"cluster": "fleet", "capacityProviders": ["FARGATE", "FARGATE_SPOT"], "defaultCapacityProviderStrategy": []}),
        ),
        ecs(
            "update_cluster_settings",
            json!({"cluster": "fleet", "settings": [{"name": "containerInsights", "value": "disabled"}]}),
        ),
        ecs("update_service", json!({"cluster": "fleet", "service": "web", "desiredCount": 0})),
        ecs("describe_services", json!({"cluster": "fleet", "services": ["web", "missing"], "include": ["TAGS"]})),
        ecs("list_services", json!({"cluster": "fleet"})),
        ecs("delete_service", json!({"cluster": "fleet", "service": "web"})),
        ecs(
            "deregister_container_instance",
            json!({"cluster": "fleet", "containerInstance": instance_arn, "force": true}),
        ),
    ];
    let answers = server.boto3(&fifth);
    for (call, answer) in fifth.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    assert_eq!(answers[2]["response"]["tasks"][0]["lastStatus"], "RUNNING", "{}", answers[2]);
    // Task sets of an EXTERNAL service: the set's id is the create's answer.
    let sets_created = [
        ecs(
            "create_service",
            json!({"cluster": "fleet", "serviceName": "edge", "desiredCount": 0, "deploymentController": {"type": "EXTERNAL"}}),
        ),
        ecs(
            "create_task_set",
            json!({"cluster": "fleet", "service": "edge", "taskDefinition": "job", "externalId": "blue",
                "scale": {"value": 50, "unit": "PERCENT"}, "tags": [{"key": "colour", "value": "blue"}]}),
        ),
    ];
    let created = server.boto3(&sets_created);
    for (call, answer) in sets_created.iter().zip(&created) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    let set = created[1]["response"]["taskSet"]["id"].as_str().unwrap().to_owned();
    let sets_changed = [
        ecs(
            "describe_task_sets",
            json!({"cluster": "fleet", "service": "edge", "taskSets": [set, "missing"], "include": ["TAGS"]}),
        ),
        ecs(
            "update_task_set",
            json!({"cluster": "fleet", "service": "edge", "taskSet": set, "scale": {"value": 0, "unit": "PERCENT"}}),
        ),
        ecs("update_service_primary_task_set", json!({"cluster": "fleet", "service": "edge", "primaryTaskSet": set})),
        ecs("delete_task_set", json!({"cluster": "fleet", "service": "edge", "taskSet": set, "force": true})),
        ecs("delete_service", json!({"cluster": "fleet", "service": "edge", "force": true})),
    ];
    let changed = server.boto3(&sets_changed);
    for (call, answer) in sets_changed.iter().zip(&changed) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    assert_eq!(changed[0]["response"]["taskSets"][0]["tags"], json!([{"key": "colour", "value": "blue"}]));
    assert_eq!(changed[0]["response"]["failures"][0]["reason"], "MISSING");
    let deployment_calls = deployments_tour(&server);
    // What ECS answers an external fleet with an error, each code in the model.
    let fifth_refused = [
        (
            ecs(
                "create_capacity_provider",
                json!({"name": "ondemand", "autoScalingGroupProvider": {"autoScalingGroupArn":
                    format!("arn:aws:autoscaling:us-east-1:{account}:autoScalingGroup:1-2:autoScalingGroupName/asg")}}),
            ),
            "ClientException",
        ),
        (ecs("update_capacity_provider", json!({"name": "FARGATE"})), "ClientException"),
        (ecs("delete_capacity_provider", json!({"capacityProvider": "ondemand"})), "ClientException"),
        (ecs("list_services_by_namespace", json!({"namespace": "local"})), "NamespaceNotFoundException"),
        (
            ecs("execute_command", json!({"cluster": "fleet", "task": task, "command": "ls", "interactive": true})),
            "InvalidParameterException",
        ),
        (
            ecs("update_container_agent", json!({"cluster": "fleet", "containerInstance": instance_arn})),
            "InvalidParameterException",
        ),
        // Daemons need an ECS Managed Instances capacity provider; Express services Fargate.
        (
            ecs(
                "create_daemon",
                json!({"daemonName": "probe", "clusterArn": "fleet", "daemonTaskDefinitionArn": "agent:2",
                    "capacityProviderArns": ["FARGATE"]}),
            ),
            "InvalidParameterException",
        ),
        (
            ecs(
                "update_daemon",
                json!({"daemonArn": format!("arn:aws:ecs:us-east-1:{account}:daemon/fleet/probe"),
                    "daemonTaskDefinitionArn": "agent:1", "capacityProviderArns": ["FARGATE"]}),
            ),
            "DaemonNotFoundException",
        ),
        (
            ecs("delete_daemon", json!({"daemonArn": format!("arn:aws:ecs:us-east-1:{account}:daemon/fleet/probe")})),
            "DaemonNotFoundException",
        ),
        (
            ecs("describe_daemon", json!({"daemonArn": format!("arn:aws:ecs:us-east-1:{account}:daemon/fleet/probe")})),
            "DaemonNotFoundException",
        ),
        (
            ecs(
                "create_express_gateway_service",
                json!({"cluster": "fleet", "serviceName": "site", "executionRoleArn": format!("arn:aws:iam::{account}:role/r"),
                    "infrastructureRoleArn": format!("arn:aws:iam::{account}:role/r"), "primaryContainer": {"image": "nginx"}}),
            ),
            "UnsupportedFeatureException",
        ),
        (
            ecs(
                "describe_express_gateway_service",
                json!({"serviceArn": format!("arn:aws:ecs:us-east-1:{account}:service/fleet/site")}),
            ),
            "ResourceNotFoundException",
        ),
        (
            ecs(
                "update_express_gateway_service",
                json!({"serviceArn": format!("arn:aws:ecs:us-east-1:{account}:service/fleet/site"), "cpu": "512"}),
            ),
            "ServiceNotFoundException",
        ),
        (
            ecs(
                "delete_express_gateway_service",
                json!({"serviceArn": format!("arn:aws:ecs:us-east-1:{account}:service/fleet/site")}),
            ),
            "ServiceNotFoundException",
        ),
    ];
    let fifth_refused_calls: Vec<Value> = fifth_refused.iter().map(|(call, _)| call.clone()).collect();
    for ((call, code), answer) in fifth_refused.iter().zip(server.boto3(&fifth_refused_calls)) {
        assert_eq!(answer["error"]["Code"], *code, "{}: {answer}", call["operation"]);
    }
    let answer_of =
        |name: &str| &fifth.iter().zip(&answers).find(|(call, _)| call["operation"] == name).unwrap().1["response"];
    assert_eq!(answer_of("get_log_events")["events"].as_array().unwrap().len(), 2);
    let filtered = answer_of("filter_log_events");
    assert_eq!(filtered["events"].as_array().unwrap().len(), 1, "{filtered}");
    assert_eq!(filtered["events"][0]["message"], "{\"level\": \"error\"}");
    assert_eq!(answer_of("describe_log_groups")["logGroups"][0]["retentionInDays"], 7);

    // ECR: a repository, two layers uploaded through the API, an image, and back.
    let ecr = |operation: &str, params: Value| json!({"service": "ecr", "operation": operation, "params": params});
    let repo = "tour/app";
    let sha256 = |bytes: &[u8]| {
        use sha2::Digest;
        format!("sha256:{}", sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>())
    };
    let sixth = vec![
        ecr("create_repository", json!({"repositoryName": repo})),
        ecr("initiate_layer_upload", json!({"repositoryName": repo})),
        ecr("initiate_layer_upload", json!({"repositoryName": repo})),
    ];
    let answers = server.boto3(&sixth);
    for (call, answer) in sixth.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    let (config, layer) = ("{\"os\":\"linux\"}", "tour layer");
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": config.len(), "digest": sha256(config.as_bytes())},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": layer.len(), "digest": sha256(layer.as_bytes())}],
    })
    .to_string();
    let mut seventh = Vec::new();
    for (answer, blob) in answers[1..].iter().zip([config, layer]) {
        let upload = answer["response"]["uploadId"].as_str().unwrap();
        seventh.push(ecr(
            "upload_layer_part",
            json!({"repositoryName": repo, "uploadId": upload, "partFirstByte": 0, "partLastByte": blob.len() - 1, "layerPartBlob": blob}),
        ));
        seventh.push(ecr(
            "complete_layer_upload",
            json!({"repositoryName": repo, "uploadId": upload, "layerDigests": [sha256(blob.as_bytes())]}),
        ));
    }
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}]});
    seventh.extend([
        ecr(
            "batch_check_layer_availability",
            json!({"repositoryName": repo, "layerDigests": [sha256(layer.as_bytes())]}),
        ),
        ecr("get_download_url_for_layer", json!({"repositoryName": repo, "layerDigest": sha256(layer.as_bytes())})),
        ecr("put_image", json!({"repositoryName": repo, "imageManifest": manifest, "imageTag": "v1"})),
        ecr("list_images", json!({"repositoryName": repo})),
        ecr("describe_images", json!({"repositoryName": repo})),
        ecr("batch_get_image", json!({"repositoryName": repo, "imageIds": [{"imageTag": "v1"}]})),
        ecr("put_image_tag_mutability", json!({"repositoryName": repo, "imageTagMutability": "IMMUTABLE"})),
        ecr("describe_repositories", json!({})),
        ecr("set_repository_policy", json!({"repositoryName": repo, "policyText": policy.to_string()})),
        ecr("get_repository_policy", json!({"repositoryName": repo})),
        ecr("delete_repository_policy", json!({"repositoryName": repo})),
        ecr("get_authorization_token", json!({})),
    ]);
    // Lifecycle policies, tags, the registry's settings and an image's status.
    let repo_arn = format!("arn:aws:ecr:us-east-1:{account}:repository/{repo}");
    let lifecycle = json!({"rules": [{"rulePriority": 1, "description": "keep ten",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10}, "action": {"type": "expire"}}]})
    .to_string();
    let registry_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "ecr:ReplicateImage",
        "Resource": format!("arn:aws:ecr:us-east-1:{account}:repository/*")}]})
    .to_string();
    let image_id = json!({"imageTag": "v1"});
    let excluded = format!("arn:aws:iam::{account}:role/excluded");
    seventh.extend([
        ecr("put_lifecycle_policy", json!({"repositoryName": repo, "lifecyclePolicyText": lifecycle})),
        ecr("get_lifecycle_policy", json!({"repositoryName": repo})),
        ecr("start_lifecycle_policy_preview", json!({"repositoryName": repo})),
        ecr("get_lifecycle_policy_preview", json!({"repositoryName": repo})),
        ecr("delete_lifecycle_policy", json!({"repositoryName": repo})),
        ecr("tag_resource", json!({"resourceArn": repo_arn, "tags": [{"Key": "team", "Value": "tour"}]})),
        ecr("list_tags_for_resource", json!({"resourceArn": repo_arn})),
        ecr("untag_resource", json!({"resourceArn": repo_arn, "tagKeys": ["team"]})),
        ecr("put_image_scanning_configuration", json!({"repositoryName": repo, "imageScanningConfiguration": {"scanOnPush": false}})),
        ecr("batch_get_repository_scanning_configuration", json!({"repositoryNames": [repo, "tour/missing"]})),
        ecr("describe_image_replication_status", json!({"repositoryName": repo, "imageId": image_id})),
        ecr("describe_image_signing_status", json!({"repositoryName": repo, "imageId": image_id})),
        ecr("list_image_referrers", json!({"repositoryName": repo, "subjectId": {"imageDigest": sha256(manifest.as_bytes())}})),
        ecr("update_image_storage_class", json!({"repositoryName": repo, "imageId": image_id, "targetStorageClass": "STANDARD"})),
        ecr("describe_registry", json!({})),
        ecr("put_registry_policy", json!({"policyText": registry_policy})),
        ecr("get_registry_policy", json!({})),
        ecr("delete_registry_policy", json!({})),
        ecr("put_replication_configuration", json!({"replicationConfiguration": {"rules": [{"destinations": [{"region": "eu-west-1", "registryId": account}]}]}})),
        ecr("put_registry_scanning_configuration", json!({"scanType": "BASIC"})),
        ecr("get_registry_scanning_configuration", json!({})),
        ecr("put_account_setting", json!({"name": "REGISTRY_POLICY_SCOPE", "value": "V2"})),
        ecr("get_account_setting", json!({"name": "REGISTRY_POLICY_SCOPE"})),
        ecr("register_pull_time_update_exclusion", json!({"principalArn": excluded})),
        ecr("list_pull_time_update_exclusions", json!({})),
        ecr("deregister_pull_time_update_exclusion", json!({"principalArn": excluded})),
        ecr("describe_pull_through_cache_rules", json!({})),
        ecr("describe_repository_creation_templates", json!({})),
        ecr("batch_delete_image", json!({"repositoryName": repo, "imageIds": [{"imageTag": "v1"}]})),
        ecr("delete_repository", json!({"repositoryName": repo, "force": true})),
    ]);
    let answers = server.boto3(&seventh);
    for (call, answer) in seventh.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    // What a registry without a scanner, an upstream, templates or a signer refuses.
    let eighth_refusals = [
        (ecr("create_repository", json!({"repositoryName": "tour/more"})), None),
        (
            ecr("start_image_scan", json!({"repositoryName": "tour/more", "imageId": image_id})),
            Some("ImageNotFoundException"),
        ),
        (
            ecr("describe_image_scan_findings", json!({"repositoryName": "tour/more", "imageId": image_id})),
            Some("ImageNotFoundException"),
        ),
        (
            ecr(
                "create_pull_through_cache_rule",
                json!({"ecrRepositoryPrefix": "hub", "upstreamRegistryUrl": "registry-1.docker.io"}),
            ),
            Some("UnsupportedUpstreamRegistryException"),
        ),
        (
            ecr("update_pull_through_cache_rule", json!({"ecrRepositoryPrefix": "hub"})),
            Some("PullThroughCacheRuleNotFoundException"),
        ),
        (
            ecr("delete_pull_through_cache_rule", json!({"ecrRepositoryPrefix": "hub"})),
            Some("PullThroughCacheRuleNotFoundException"),
        ),
        (
            ecr("validate_pull_through_cache_rule", json!({"ecrRepositoryPrefix": "hub"})),
            Some("PullThroughCacheRuleNotFoundException"),
        ),
        (
            ecr("create_repository_creation_template", json!({"prefix": "ROOT", "appliedFor": ["REPLICATION"]})),
            Some("ValidationException"),
        ),
        (ecr("update_repository_creation_template", json!({"prefix": "team"})), Some("TemplateNotFoundException")),
        (ecr("delete_repository_creation_template", json!({"prefix": "team"})), Some("TemplateNotFoundException")),
        (ecr("put_signing_configuration", json!({"signingConfiguration": {"rules": []}})), Some("ValidationException")),
        (ecr("get_signing_configuration", json!({})), Some("SigningConfigurationNotFoundException")),
        (ecr("delete_signing_configuration", json!({})), Some("SigningConfigurationNotFoundException")),
        (ecr("delete_repository", json!({"repositoryName": "tour/more"})), None),
    ];
    let eighth: Vec<Value> = eighth_refusals.iter().map(|(call, _)| call.clone()).collect();
    for ((call, code), answer) in eighth_refusals.iter().zip(server.boto3(&eighth)) {
        match code {
            None => assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]),
            Some(code) => assert_eq!(answer["error"]["Code"], *code, "{}: {answer}", call["operation"]),
        }
    }

    let insights_calls = insights_tour(&server);
    let destination_calls = destinations_tour(&server, &account);
    let delivery_calls = deliveries_tour(&server, &account);
    let (parameter_calls, secret_calls) = secrets_tour(&server, &account);

    let (mfa, mfa_calls) = mfa_tour(&server, &account);
    let sts_calls = sts_tour(&server, &account, &mfa);

    // The tour must cover every operation the server routes that botocore models.
    let toured: Vec<String> = first
        .iter()
        .chain(&second)
        .chain(&refused)
        .chain(&credential_batch)
        .chain(&credential_batch_after)
        .chain(&setup)
        .chain(&third)
        .chain(&setup_ecs)
        .chain(&registered_calls)
        .chain(&fourth)
        .chain(&fifth)
        .chain(&sets_created)
        .chain(&sets_changed)
        .chain(&deployment_calls)
        .chain(&fifth_refused_calls)
        .chain(&sixth)
        .chain(&seventh)
        .chain(&insights_calls)
        .chain(&destination_calls)
        .chain(&delivery_calls)
        .chain(&eighth)
        .chain(&mfa_calls)
        .chain(&sts_calls)
        .chain(&parameter_calls)
        .chain(&secret_calls)
        .map(|call| call["operation"].as_str().unwrap().to_owned())
        .collect();
    // Homeport's agent-channel operations, which botocore does not model (their shapes are
    // in docs/ecs-agent-protocol.md and docs/instance-protocol.md, and the agent's and the
    // end-to-end tests exercise them).
    const UNMODELLED: &[&str] = &["UpdateInstanceInformation", "Poll", "GetTaskCredentials"];
    // Access Analyzer's operations are toured by `access_analyzer_api.rs`, which checks the
    // same way that it covers all of them.
    let missing: Vec<&str> = server::services::OPERATIONS
        .iter()
        .filter(|operation| !UNMODELLED.contains(&operation.name) && operation.service != "access-analyzer")
        .filter(|operation| !toured.contains(&snake_case(operation.name)))
        .map(|operation| operation.name)
        .collect();
    assert!(missing.is_empty(), "operations without a shape check: {missing:?}");
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Parameter Store and Secrets Manager, each operation once: the calls made, checked.
fn secrets_tour(server: &Server, account: &str) -> (Vec<Value>, Vec<Value>) {
    let ssm = |operation: &str, params: Value| json!({"service": "ssm", "operation": operation, "params": params});
    let sm =
        |operation: &str, params: Value| json!({"service": "secretsmanager", "operation": operation, "params": params});
    let tags = json!([{"Key": "team", "Value": "ops"}]);
    let parameters = vec![
        ssm(
            "put_parameter",
            json!({"Name": "/tour/db", "Value": "v1", "Type": "SecureString", "Tags": tags, "Description": "d"}),
        ),
        ssm("put_parameter", json!({"Name": "/tour/db", "Value": "v2", "Type": "SecureString", "Overwrite": true})),
        ssm("get_parameter", json!({"Name": "/tour/db:1", "WithDecryption": true})),
        ssm("get_parameters", json!({"Names": ["/tour/db", "/tour/none"], "WithDecryption": true})),
        ssm("get_parameters_by_path", json!({"Path": "/tour", "Recursive": true})),
        ssm("label_parameter_version", json!({"Name": "/tour/db", "ParameterVersion": 1, "Labels": ["prod"]})),
        ssm("get_parameter_history", json!({"Name": "/tour/db"})),
        ssm("unlabel_parameter_version", json!({"Name": "/tour/db", "ParameterVersion": 1, "Labels": ["prod"]})),
        ssm(
            "describe_parameters",
            json!({"ParameterFilters": [{"Key": "Path", "Option": "Recursive", "Values": ["/tour"]}]}),
        ),
        ssm("list_tags_for_resource", json!({"ResourceType": "Parameter", "ResourceId": "/tour/db"})),
        ssm("delete_parameter", json!({"Name": "/tour/db"})),
        ssm("delete_parameters", json!({"Names": ["/tour/none"]})),
    ];
    let answers = server.boto3(&parameters);
    for (call, answer) in parameters.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    assert_eq!(answers[2]["response"]["Parameter"]["Value"], "v1");
    assert_eq!(answers[3]["response"]["InvalidParameters"], json!(["/tour/none"]));
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]});
    let secrets = vec![
        sm(
            "create_secret",
            json!({"Name": "tour/db", "SecretString": "{\"password\":\"p\"}", "Tags": tags, "Description": "d"}),
        ),
        sm("put_secret_value", json!({"SecretId": "tour/db", "SecretString": "two", "VersionStages": ["AWSPENDING"]})),
        sm("get_secret_value", json!({"SecretId": "tour/db"})),
        sm("batch_get_secret_value", json!({"SecretIdList": ["tour/db"]})),
        sm("list_secret_version_ids", json!({"SecretId": "tour/db"})),
        sm("describe_secret", json!({"SecretId": "tour/db"})),
        sm("list_secrets", json!({"Filters": [{"Key": "name", "Values": ["tour/"]}]})),
        sm("update_secret", json!({"SecretId": "tour/db", "Description": "e"})),
        sm("tag_resource", json!({"SecretId": "tour/db", "Tags": [{"Key": "more", "Value": "x"}]})),
        sm("untag_resource", json!({"SecretId": "tour/db", "TagKeys": ["more"]})),
        sm("put_resource_policy", json!({"SecretId": "tour/db", "ResourcePolicy": policy.to_string()})),
        sm("get_resource_policy", json!({"SecretId": "tour/db"})),
        sm("delete_resource_policy", json!({"SecretId": "tour/db"})),
        sm("delete_secret", json!({"SecretId": "tour/db", "RecoveryWindowInDays": 7})),
        sm("restore_secret", json!({"SecretId": "tour/db"})),
    ];
    let answers = server.boto3(&secrets);
    for (call, answer) in secrets.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    let pending = answers[1]["response"]["VersionId"].as_str().unwrap().to_owned();
    let current = answers[0]["response"]["VersionId"].as_str().unwrap().to_owned();
    let stage = vec![sm(
        "update_secret_version_stage",
        json!({"SecretId": "tour/db", "VersionStage": "AWSCURRENT", "MoveToVersionId": pending, "RemoveFromVersionId": current}),
    )];
    let answers = server.boto3(&stage);
    assert!(answers[0].get("response").is_some(), "{}", answers[0]);
    let mut secret_calls = secrets;
    secret_calls.extend(stage);
    (parameters, secret_calls)
}

/// The code of `seed` at time step `step` (RFC 6238: HMAC-SHA-1, 6 digits).
fn totp(seed: &[u8], step: i64) -> String {
    use aws_lc_rs::hmac;
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed), &step.to_be_bytes());
    let digest = tag.as_ref();
    let offset = (digest[19] & 0x0f) as usize;
    let word = u32::from_be_bytes(digest[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!("{:06}", word % 1_000_000)
}

fn base32_decode(text: &str) -> Vec<u8> {
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for ch in text.bytes() {
        buffer = (buffer << 5) | b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".iter().position(|&c| c == ch).unwrap() as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

fn step_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 / 30
}

/// A user with a virtual MFA device, as the MFA part of the tour leaves them.
struct MfaUser {
    key: (String, String),
    serial: String,
    seed: Vec<u8>,
}

/// Logs Insights: a query started, its results once Complete (rows with `@ptr`), the
/// record a pointer names, the queries described and a stop. Every call made.
/// Service deployments and revisions: a service of no task (its first deployment completes at
/// once), a forced deployment, and what ECS answers about them; botocore parses each answer.
fn deployments_tour(server: &Server) -> Vec<Value> {
    let ecs = |operation: &str, params: Value| json!({"service": "ecs", "operation": operation, "params": params});
    let first = vec![
        ecs(
            "create_service",
            json!({"cluster": "fleet", "serviceName": "rolled", "taskDefinition": "job", "desiredCount": 0}),
        ),
        ecs("update_service", json!({"cluster": "fleet", "service": "rolled", "forceNewDeployment": true})),
    ];
    let answers = server.boto3(&first);
    for (call, answer) in first.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    let deployment = answers[1]["response"]["service"]["currentServiceDeployment"].as_str().unwrap().to_owned();
    let revision = answers[1]["response"]["service"]["currentServiceRevisions"][0]["arn"].as_str().unwrap().to_owned();
    let second = vec![
        ecs(
            "list_service_deployments",
            json!({"cluster": "fleet", "service": "rolled", "status": ["SUCCESSFUL", "IN_PROGRESS"],
                "createdAt": {"after": "2024-10-25T00:00:00Z"}, "maxResults": 5}),
        ),
        ecs("describe_service_deployments", json!({"serviceDeploymentArns": [deployment, format!("{deployment}x")]})),
        ecs("describe_service_revisions", json!({"serviceRevisionArns": [revision]})),
    ];
    let described = server.boto3(&second);
    for (call, answer) in second.iter().zip(&described) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    assert_eq!(described[0]["response"]["serviceDeployments"].as_array().unwrap().len(), 2, "{}", described[0]);
    assert_eq!(described[1]["response"]["serviceDeployments"][0]["status"], "SUCCESSFUL", "{}", described[1]);
    assert_eq!(described[1]["response"]["failures"][0]["reason"], "MISSING");
    assert_eq!(described[2]["response"]["serviceRevisions"][0]["launchType"], "EXTERNAL");
    // A completed deployment cannot be stopped, and none is ever paused at a hook.
    let refused = [
        (
            ecs("stop_service_deployment", json!({"serviceDeploymentArn": deployment, "stopType": "ROLLBACK"})),
            "ConflictException",
        ),
        (
            ecs("continue_service_deployment", json!({"serviceDeploymentArn": deployment, "hookId": "h"})),
            "InvalidParameterException",
        ),
    ];
    let refused_calls: Vec<Value> = refused.iter().map(|(call, _)| call.clone()).collect();
    for ((call, code), answer) in refused.iter().zip(server.boto3(&refused_calls)) {
        assert_eq!(answer["error"]["Code"], *code, "{}: {answer}", call["operation"]);
    }
    let deleted = [ecs("delete_service", json!({"cluster": "fleet", "service": "rolled", "force": true}))];
    assert!(server.boto3(&deleted)[0].get("response").is_some());
    first.into_iter().chain(second).chain(refused_calls).collect()
}

fn insights_tour(server: &Server) -> Vec<Value> {
    let logs = |operation: &str, params: Value| json!({"service": "logs", "operation": operation, "params": params});
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let group = "/tour/insights";
    let first = vec![
        logs("create_log_group", json!({"logGroupName": group})),
        logs("create_log_stream", json!({"logGroupName": group, "logStreamName": "s"})),
        logs(
            "put_log_events",
            json!({"logGroupName": group, "logStreamName": "s",
                "logEvents": [{"timestamp": now * 1000 - 1000, "message": "{\"level\": \"error\", \"ms\": 12}"}]}),
        ),
        logs(
            "start_query",
            json!({"logGroupName": group, "startTime": now - 600, "endTime": now + 60,
                "queryString": "fields @timestamp, level, ms | sort @timestamp desc", "limit": 10}),
        ),
    ];
    let answers = server.boto3(&first);
    for (call, answer) in first.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    let query_id = answers[3]["response"]["queryId"].as_str().unwrap().to_owned();
    let results = logs("get_query_results", json!({"queryId": query_id}));
    let mut polls = Vec::new();
    let pointer = loop {
        let answer = server.boto3(std::slice::from_ref(&results)).remove(0);
        polls.push(results.clone());
        let response = &answer["response"];
        if response["status"] == "Complete" {
            let row = response["results"][0].as_array().unwrap();
            break row.iter().find(|field| field["field"] == "@ptr").unwrap()["value"].as_str().unwrap().to_owned();
        }
        assert!(polls.len() < 20 && response["status"] == "Running", "{answer}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let second = vec![
        logs("get_log_record", json!({"logRecordPointer": pointer})),
        logs("describe_queries", json!({"logGroupName": group, "status": "Complete", "maxResults": 5})),
        logs("stop_query", json!({"queryId": query_id})),
        logs(
            "put_query_definition",
            json!({"name": "tour/errors", "queryString": "filter level = 'error'", "logGroupNames": [group],
                "parameters": [{"name": "level", "defaultValue": "error", "description": "which level"}]}),
        ),
        logs("describe_query_definitions", json!({"queryDefinitionNamePrefix": "tour/"})),
        logs("delete_log_group", json!({"logGroupName": group})),
    ];
    let answers = server.boto3(&second);
    for (call, answer) in second.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    assert_eq!(answers[0]["response"]["logRecord"]["level"], "error", "{}", answers[0]);
    assert_eq!(answers[1]["response"]["queries"][0]["queryId"], query_id.as_str());
    let definition = answers[3]["response"]["queryDefinitionId"].clone();
    assert_eq!(answers[4]["response"]["queryDefinitions"][0]["queryDefinitionId"], definition);
    let third = vec![logs("delete_query_definition", json!({"queryDefinitionId": definition}))];
    let answers = server.boto3(&third);
    assert_eq!(answers[0]["response"]["success"], true, "{}", answers[0]);
    first.into_iter().chain(polls).chain(second).chain(third).collect()
}

/// CloudWatch Logs' destinations, a group's KMS key, ListLogGroups, GetLogGroupFields, field
/// indexes, account policies and a Live Tail session: every call made, each answered.
fn destinations_tour(server: &Server, account: &str) -> Vec<Value> {
    let logs = |operation: &str, params: Value| json!({"service": "logs", "operation": operation, "params": params});
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let group = "/tour/destinations";
    let destination = format!("arn:aws:logs:us-east-1:{account}:destination:ship");
    let key = format!("arn:aws:kms:us-east-1:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    let subscription =
        json!({"DestinationArn": destination, "FilterPattern": "", "Distribution": "Random"}).to_string();
    let calls = vec![
        logs(
            "put_destination",
            json!({"destinationName": "ship",
            "targetArn": format!("arn:aws:kinesis:us-east-1:{account}:stream/ship"),
            "roleArn": format!("arn:aws:iam::{account}:role/ship"), "tags": {"team": "edge"}}),
        ),
        logs(
            "put_destination_policy",
            json!({"destinationName": "ship",
            "accessPolicy": r#"{"Version":"2012-10-17","Statement":[]}"#, "forceUpdate": false}),
        ),
        logs("describe_destinations", json!({"DestinationNamePrefix": "sh", "limit": 5})),
        logs("create_log_group", json!({"logGroupName": group, "kmsKeyId": key})),
        logs("disassociate_kms_key", json!({"logGroupName": group})),
        logs("associate_kms_key", json!({"logGroupName": group, "kmsKeyId": key})),
        logs("list_log_groups", json!({"logGroupNamePattern": "^/tour", "limit": 10})),
        logs("create_log_stream", json!({"logGroupName": group, "logStreamName": "s"})),
        logs(
            "put_log_events",
            json!({"logGroupName": group, "logStreamName": "s",
            "logEvents": [{"timestamp": now, "message": "{\"level\": \"error\"}"}]}),
        ),
        logs("get_log_group_fields", json!({"logGroupIdentifier": group})),
        logs("describe_field_indexes", json!({"logGroupIdentifiers": [group]})),
        logs("describe_index_policies", json!({"logGroupIdentifiers": [group]})),
        logs(
            "put_account_policy",
            json!({"policyName": "ship-all", "policyDocument": subscription,
            "policyType": "SUBSCRIPTION_FILTER_POLICY", "scope": "ALL", "selectionCriteria": "LogGroupName NOT IN [\"/tour/x\"]"}),
        ),
        logs("describe_account_policies", json!({"policyType": "SUBSCRIPTION_FILTER_POLICY"})),
        logs("delete_account_policy", json!({"policyName": "ship-all", "policyType": "SUBSCRIPTION_FILTER_POLICY"})),
        logs(
            "put_log_group_deletion_protection",
            json!({"logGroupIdentifier": group, "deletionProtectionEnabled": true}),
        ),
        logs(
            "put_log_group_deletion_protection",
            json!({"logGroupIdentifier": group, "deletionProtectionEnabled": false}),
        ),
        // An event stream: its start and first update read, then closed.
        json!({"service": "logs", "operation": "start_live_tail", "events": 2,
            "params": {"logGroupIdentifiers": [format!("arn:aws:logs:us-east-1:{account}:log-group:{group}")],
            "logEventFilterPattern": "error"}}),
        logs("delete_log_group", json!({"logGroupName": group})),
        logs("delete_destination", json!({"destinationName": "ship"})),
    ];
    let answers = server.boto3(&calls);
    for (call, answer) in calls.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    assert_eq!(answers[13]["response"]["accountPolicies"][0]["policyDocument"], subscription.as_str());
    let live = &answers[calls.len() - 3]["response"]["responseStream"];
    assert!(live[0]["sessionStart"]["sessionId"].is_string(), "{live}");
    assert_eq!(live[1]["sessionUpdate"]["sessionResults"], json!([]), "{live}");
    calls
}

/// Vended-log deliveries, scheduled queries and lookup tables: a delivery destination's life,
/// the sources and deliveries no resource here can have (each refusal's code checked), a
/// scheduled query made, read, listed, updated, its history read and deleted, and a lookup
/// table's life. Every call made.
fn deliveries_tour(server: &Server, account: &str) -> Vec<Value> {
    let logs = |operation: &str, params: Value| json!({"service": "logs", "operation": operation, "params": params});
    let group = "/tour/deliveries";
    let group_arn = format!("arn:aws:logs:us-east-1:{account}:log-group:{group}");
    let role = format!("arn:aws:iam::{account}:role/ship");
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"logs:CreateDelivery","Resource":"*"}]}"#;
    let lookup_table = format!("arn:aws:logs:us-east-1:{account}:lookup-table:tour_users");
    let first = vec![
        logs("create_log_group", json!({"logGroupName": group})),
        logs(
            "put_delivery_destination",
            json!({"name": "tour", "outputFormat": "json", "tags": {"team": "edge"},
                "deliveryDestinationConfiguration": {"destinationResourceArn": group_arn}}),
        ),
        logs("get_delivery_destination", json!({"name": "tour"})),
        logs("describe_delivery_destinations", json!({"limit": 10})),
        logs(
            "put_delivery_destination_policy",
            json!({"deliveryDestinationName": "tour", "deliveryDestinationPolicy": policy}),
        ),
        logs("get_delivery_destination_policy", json!({"deliveryDestinationName": "tour"})),
        logs("delete_delivery_destination_policy", json!({"deliveryDestinationName": "tour"})),
        logs("describe_delivery_sources", json!({})),
        logs("describe_deliveries", json!({"limit": 5})),
        logs("describe_configuration_templates", json!({"service": "cloudfront"})),
        logs(
            "create_scheduled_query",
            json!({"name": "tour", "queryLanguage": "CWLI", "queryString": "fields @message", "logGroupIdentifiers": [group],
                "scheduleExpression": "rate(1 hour)", "startTimeOffset": 3600, "executionRoleArn": role, "tags": {"a": "b"}}),
        ),
        logs("get_scheduled_query", json!({"identifier": "tour"})),
        logs("list_scheduled_queries", json!({"maxResults": 10})),
        logs(
            "update_scheduled_query",
            json!({"identifier": "tour", "queryLanguage": "CWLI", "queryString": "fields @timestamp", "logGroupIdentifiers": [group],
                "scheduleExpression": "cron(0 * * * ? *)", "executionRoleArn": role, "state": "DISABLED"}),
        ),
        logs(
            "get_scheduled_query_history",
            json!({"identifier": "tour", "startTime": 0, "endTime": 1, "maxResults": 10}),
        ),
        logs("delete_scheduled_query", json!({"identifier": "tour"})),
        logs("delete_delivery_destination", json!({"name": "tour"})),
        logs(
            "create_lookup_table",
            json!({"lookupTableName": "tour_users", "description": "who", "tableBody": "id,name\n1,ann\n", "tags": {"a": "b"}}),
        ),
        logs("describe_lookup_tables", json!({"lookupTableNamePrefix": "tour", "maxResults": 10})),
        logs("get_lookup_table", json!({"lookupTableArn": lookup_table})),
        logs("update_lookup_table", json!({"lookupTableArn": lookup_table, "tableBody": "id,name\n1,ann\n2,bob\n"})),
        logs("delete_lookup_table", json!({"lookupTableArn": lookup_table})),
    ];
    let answers = server.boto3(&first);
    for (call, answer) in first.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    assert_eq!(answers[2]["response"]["deliveryDestination"]["deliveryDestinationType"], "CWL", "{}", answers[2]);
    assert_eq!(answers[11]["response"]["name"], "tour", "{}", answers[11]);
    assert_eq!(answers[18]["response"]["lookupTables"][0]["recordsCount"], 1, "{}", answers[18]);
    assert_eq!(answers[19]["response"]["tableBody"], "id,name\n1,ann\n", "{}", answers[19]);
    // No resource here vends logs: no source, so no delivery.
    let destination = format!("arn:aws:logs:us-east-1:{account}:delivery-destination:tour");
    let refused = [
        (
            logs(
                "put_delivery_source",
                json!({"name": "src", "resourceArn": format!("arn:aws:ecs:us-east-1:{account}:cluster/c"), "logType": "APPLICATION_LOGS"}),
            ),
            "ValidationException",
        ),
        (logs("get_delivery_source", json!({"name": "src"})), "ResourceNotFoundException"),
        (logs("delete_delivery_source", json!({"name": "src"})), "ResourceNotFoundException"),
        (
            logs("create_delivery", json!({"deliverySourceName": "src", "deliveryDestinationArn": destination})),
            "ResourceNotFoundException",
        ),
        (logs("get_delivery", json!({"id": "abc123"})), "ResourceNotFoundException"),
        (
            logs("update_delivery_configuration", json!({"id": "abc123", "fieldDelimiter": ","})),
            "ResourceNotFoundException",
        ),
        (logs("delete_delivery", json!({"id": "abc123"})), "ResourceNotFoundException"),
    ];
    let calls: Vec<Value> = refused.iter().map(|(call, _)| call.clone()).collect();
    for ((call, code), answer) in refused.iter().zip(server.boto3(&calls)) {
        assert_eq!(answer["error"]["Code"], *code, "{}: {answer}", call["operation"]);
    }
    first.into_iter().chain(calls).collect()
}

/// The virtual MFA device operations, in their model's shapes: a device made, enabled with two
/// codes computed here from the seed it returned, resynchronized, used for a session, tagged,
/// deactivated and deleted; then a second device left enabled for the STS part.
fn mfa_tour(server: &Server, account: &str) -> (MfaUser, Vec<Value>) {
    let allow_sts = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:*","Resource":"*"}}"#;
    let first = vec![
        call("create_user", json!({"UserName": "mfa-u"})),
        call("put_user_policy", json!({"UserName": "mfa-u", "PolicyName": "sts", "PolicyDocument": allow_sts})),
        call("create_access_key", json!({"UserName": "mfa-u"})),
        call(
            "create_virtual_mfa_device",
            json!({"VirtualMFADeviceName": "tour", "Tags": [{"Key": "a", "Value": "b"}]}),
        ),
        call("create_virtual_mfa_device", json!({"VirtualMFADeviceName": "kept", "Path": "/ops/"})),
    ];
    let answers = server.boto3(&first);
    for (call, answer) in first.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    let created = &answers[2]["response"]["AccessKey"];
    let key =
        (created["AccessKeyId"].as_str().unwrap().to_owned(), created["SecretAccessKey"].as_str().unwrap().to_owned());
    // botocore hands the seed back as bytes (the tour prints them as `b'...'`).
    let seed = |answer: &Value| {
        let text = answer["response"]["VirtualMFADevice"]["Base32StringSeed"].as_str().unwrap();
        base32_decode(text.trim_start_matches("b'").trim_end_matches('\''))
    };
    let (tour_seed, kept_seed) = (seed(&answers[3]), seed(&answers[4]));
    let serial = format!("arn:aws:iam::{account}:mfa/tour");
    let kept = format!("arn:aws:iam::{account}:mfa/ops/kept");
    assert_eq!(answers[4]["response"]["VirtualMFADevice"]["SerialNumber"], kept.as_str());
    let now = step_now();
    let as_user = json!([key.0, key.1]);
    let second = vec![
        call(
            "enable_mfa_device",
            json!({"UserName": "mfa-u", "SerialNumber": serial,
            "AuthenticationCode1": totp(&tour_seed, now - 8), "AuthenticationCode2": totp(&tour_seed, now - 7)}),
        ),
        call(
            "resync_mfa_device",
            json!({"UserName": "mfa-u", "SerialNumber": serial,
            "AuthenticationCode1": totp(&tour_seed, now - 4), "AuthenticationCode2": totp(&tour_seed, now - 3)}),
        ),
        call("list_mfa_devices", json!({"UserName": "mfa-u"})),
        call("list_virtual_mfa_devices", json!({"AssignmentStatus": "Any"})),
        call("get_mfa_device", json!({"UserName": "mfa-u", "SerialNumber": serial})),
        call("tag_mfa_device", json!({"SerialNumber": serial, "Tags": [{"Key": "c", "Value": "d"}]})),
        call("list_mfa_device_tags", json!({"SerialNumber": serial})),
        call("untag_mfa_device", json!({"SerialNumber": serial, "TagKeys": ["c"]})),
        json!({"service": "sts", "operation": "get_session_token", "credentials": as_user,
            "params": {"SerialNumber": serial, "TokenCode": totp(&tour_seed, now - 2)}}),
        call("deactivate_mfa_device", json!({"UserName": "mfa-u", "SerialNumber": serial})),
        call("delete_virtual_mfa_device", json!({"SerialNumber": serial})),
        call(
            "enable_mfa_device",
            json!({"UserName": "mfa-u", "SerialNumber": kept,
            "AuthenticationCode1": totp(&kept_seed, now - 8), "AuthenticationCode2": totp(&kept_seed, now - 7)}),
        ),
    ];
    let answers = server.boto3(&second);
    for (call, answer) in second.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    let listed = &answers[3]["response"]["VirtualMFADevices"];
    let tour = listed.as_array().unwrap().iter().find(|device| device["SerialNumber"] == serial.as_str()).unwrap();
    assert_eq!(tour["User"]["UserName"], "mfa-u", "an assigned device names its user: {listed}");
    (MfaUser { key, serial: kept, seed: kept_seed }, first.into_iter().chain(second).collect())
}

/// STS beyond GetCallerIdentity, GetSessionToken and AssumeRole: the federated user's token and
/// the access key's account in their shapes, and the refusals a standalone account gets.
fn sts_tour(server: &Server, account: &str, mfa: &MfaUser) -> Vec<Value> {
    let as_user = json!([mfa.key.0, mfa.key.1]);
    let sts = |operation: &str, params: Value| json!({"service": "sts", "operation": operation, "params": params, "credentials": as_user});
    let role_trust = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:user/mfa-u"}},"Action":"sts:AssumeRole"}}}}"#
    );
    let calls = vec![
        call("create_role", json!({"RoleName": "mfa-r", "AssumeRolePolicyDocument": role_trust})),
        sts(
            "get_federation_token",
            json!({"Name": "tour", "Policy": r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*"}}"#}),
        ),
        sts("get_access_key_info", json!({"AccessKeyId": mfa.key.0})),
        sts(
            "assume_role",
            json!({"RoleArn": format!("arn:aws:iam::{account}:role/mfa-r"), "RoleSessionName": "mfa",
            "SerialNumber": mfa.serial, "TokenCode": totp(&mfa.seed, step_now())}),
        ),
    ];
    let answers = server.boto3(&calls);
    for (call, answer) in calls.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    let mut toured = calls;
    assert_eq!(answers[1]["response"]["FederatedUser"]["Arn"], format!("arn:aws:sts::{account}:federated-user/tour"));
    assert_eq!(answers[2]["response"]["Account"], account);
    // What a standalone account is answered, as AWS answers it (each code is in the model).
    let refused = [
        (
            sts("decode_authorization_message", json!({"EncodedMessage": "bm90LWEtbWVzc2FnZQ"})),
            "InvalidAuthorizationMessageException",
        ),
        (
            sts(
                "assume_root",
                json!({"TargetPrincipal": "111122223333",
            "TaskPolicyArn": {"arn": "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"}}),
            ),
            "AccessDenied",
        ),
        (sts("get_delegated_access_token", json!({"TradeInToken": "x".repeat(32)})), "ExpiredTradeInTokenException"),
        (
            sts("get_web_identity_token", json!({"Audience": ["https://example.com"], "SigningAlgorithm": "ES384"})),
            "OutboundWebIdentityFederationDisabledException",
        ),
    ];
    let calls: Vec<Value> = refused.iter().map(|(call, _)| call.clone()).collect();
    let answers = server.boto3(&calls);
    for ((call, code), answer) in refused.iter().zip(&answers) {
        assert_eq!(answer["error"]["Code"], *code, "{}: {answer}", call["operation"]);
    }
    toured.extend(calls);
    toured
}

const CERTIFICATE: &str = include_str!("../../../server/src/iam/testdata/cert.pem");
const PRIVATE_KEY: &str = include_str!("../../../server/src/iam/testdata/key.pem");
const SSH_KEY: &str = include_str!("../../../server/src/iam/testdata/key.pub");

/// Every credential operation once, in two batches (the second needs the first's ids); both
/// are returned for the coverage check.
fn credential_calls(server: &Server) -> (Vec<Value>, Vec<Value>) {
    let own_password =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:ChangePassword","Resource":"*"}}"#;
    let setup = server.boto3(&[
        call("create_user", json!({"UserName": "c"})),
        call("put_user_policy", json!({"UserName": "c", "PolicyName": "own", "PolicyDocument": own_password})),
        call("create_access_key", json!({"UserName": "c"})),
    ]);
    let key = &setup[2]["response"]["AccessKey"];
    let (key_id, secret) = (key["AccessKeyId"].as_str().unwrap(), key["SecretAccessKey"].as_str().unwrap());
    let as_c = |operation: &str, params: Value| json!({"operation": operation, "params": params, "credentials": [key_id, secret]});
    let user = |operation: &str, extra: Value| {
        let mut params = json!({"UserName": "c"});
        params.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        call(operation, params)
    };
    let first = vec![
        call(
            "update_account_password_policy",
            json!({"MinimumPasswordLength": 10, "RequireNumbers": true, "PasswordReusePrevention": 2, "MaxPasswordAge": 90}),
        ),
        call("get_account_password_policy", json!({})),
        user("create_login_profile", json!({"Password": "Passw0rd-one", "PasswordResetRequired": true})),
        user("get_login_profile", json!({})),
        user("update_login_profile", json!({"Password": "Passw0rd-two"})),
        as_c("change_password", json!({"OldPassword": "Passw0rd-two", "NewPassword": "Passw0rd-three"})),
        user("upload_ssh_public_key", json!({"SSHPublicKeyBody": SSH_KEY})),
        user("list_ssh_public_keys", json!({})),
        user("create_service_specific_credential", json!({"ServiceName": "codecommit.amazonaws.com"})),
        user(
            "create_service_specific_credential",
            json!({"ServiceName": "bedrock.amazonaws.com", "CredentialAgeDays": 30}),
        ),
        user("list_service_specific_credentials", json!({})),
        user("upload_signing_certificate", json!({"CertificateBody": CERTIFICATE})),
        user("list_signing_certificates", json!({})),
        call(
            "upload_server_certificate",
            json!({"ServerCertificateName": "tour-cert", "Path": "/tour/", "CertificateBody": CERTIFICATE,
                "PrivateKey": PRIVATE_KEY, "CertificateChain": CERTIFICATE, "Tags": [{"Key": "team", "Value": "ops"}]}),
        ),
        call("get_server_certificate", json!({"ServerCertificateName": "tour-cert"})),
        call("list_server_certificates", json!({"PathPrefix": "/tour/"})),
        call(
            "tag_server_certificate",
            json!({"ServerCertificateName": "tour-cert", "Tags": [{"Key": "more", "Value": "x"}]}),
        ),
        call("list_server_certificate_tags", json!({"ServerCertificateName": "tour-cert"})),
        call("untag_server_certificate", json!({"ServerCertificateName": "tour-cert", "TagKeys": ["more"]})),
        call(
            "update_server_certificate",
            json!({"ServerCertificateName": "tour-cert", "NewServerCertificateName": "tour-cert2"}),
        ),
        call("generate_credential_report", json!({})),
        call("get_credential_report", json!({})),
    ];
    let answers = server.boto3(&first);
    for (call, answer) in first.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    let at = |operation: &str| first.iter().position(|call| call["operation"] == operation).unwrap();
    let ssh_key = answers[at("upload_ssh_public_key")]["response"]["SSHPublicKey"]["SSHPublicKeyId"].clone();
    let codecommit = answers[at("create_service_specific_credential")]["response"]["ServiceSpecificCredential"]
        ["ServiceSpecificCredentialId"]
        .clone();
    let bedrock = answers[at("create_service_specific_credential") + 1]["response"]["ServiceSpecificCredential"]
        ["ServiceSpecificCredentialId"]
        .clone();
    let certificate = answers[at("upload_signing_certificate")]["response"]["Certificate"]["CertificateId"].clone();
    let report = answers[at("get_credential_report")]["response"]["Content"].as_str().unwrap().to_owned();
    // boto3 decodes the blob; the harness prints its bytes.
    assert!(report.contains("user,arn,user_creation_time,password_enabled,"), "{report}");
    assert!(report.contains(",true,no_information,"), "c has a password: {report}");
    let second = vec![
        user("get_ssh_public_key", json!({"SSHPublicKeyId": ssh_key, "Encoding": "PEM"})),
        user("update_ssh_public_key", json!({"SSHPublicKeyId": ssh_key, "Status": "Inactive"})),
        user("delete_ssh_public_key", json!({"SSHPublicKeyId": ssh_key})),
        user("reset_service_specific_credential", json!({"ServiceSpecificCredentialId": codecommit})),
        user(
            "update_service_specific_credential",
            json!({"ServiceSpecificCredentialId": codecommit, "Status": "Inactive"}),
        ),
        user("delete_service_specific_credential", json!({"ServiceSpecificCredentialId": codecommit})),
        user("delete_service_specific_credential", json!({"ServiceSpecificCredentialId": bedrock})),
        user("update_signing_certificate", json!({"CertificateId": certificate, "Status": "Inactive"})),
        user("delete_signing_certificate", json!({"CertificateId": certificate})),
        call("delete_server_certificate", json!({"ServerCertificateName": "tour-cert2"})),
        user("delete_login_profile", json!({})),
        call("delete_account_password_policy", json!({})),
        user("delete_access_key", json!({"AccessKeyId": key_id})),
        user("delete_user_policy", json!({"PolicyName": "own"})),
        user("delete_user", json!({})),
    ];
    let answers = server.boto3(&second);
    for (call, answer) in second.iter().zip(&answers) {
        assert!(answer.get("response").is_some(), "{}: {answer}", call["operation"]);
    }
    assert!(
        answers[0]["response"]["SSHPublicKey"]["SSHPublicKeyBody"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    (first, second)
}
