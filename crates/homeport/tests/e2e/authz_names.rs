//! Authorization acts on what it authorized: an operation naming an existing entity is
//! authorized on that entity's own ARN (its name as stored, its path), however the request
//! spells the name, and a renamed or moved user is authorized where it will be too. The
//! condition keys describe the request's target and action, not parameters a caller adds:
//! `iam:PermissionsBoundary` is the target's current boundary where AWS defines it so, and a
//! parameter sets a key only for the actions that take it.
//!
//! The suite is generated from the operation table: every routed operation is classified
//! (it names an existing entity through a parameter, or creates one, or names resources by
//! case-sensitive names or ids, or names nothing), and the test fails on an operation it
//! cannot classify, so a new operation cannot skip the check. For every operation naming an
//! existing IAM entity (or an ECS task definition), another spelling of the name, against a
//! Deny on the canonical ARN, must be AccessDenied on that ARN and must change nothing.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use serde_json::{Value, json};
use server::operations::Operation;
use server::services::OPERATIONS;

use common::{Key, Server, aws_cli_available, fresh_dir};

/// The entity an operation names, and how another spelling of it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    User,
    Group,
    Role,
    InstanceProfile,
    Policy,
    TaskDefinition,
    DaemonTaskDefinition,
    ServerCertificate,
}

/// What an operation names, as authorization sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Names {
    /// An existing entity, through this parameter (or JSON member): authorized on the stored
    /// entity's ARN.
    Existing(Entity, &'static str),
    /// A name no entity has yet (authorized as spelled; an existing namesake is refused).
    Creates,
    /// Resources by case-sensitive names, ARNs or ids: the spelling is the identity.
    Exact,
    /// No entity (lists, account-wide reads, `*`-scoped operations as AWS scopes them).
    Nothing,
}

/// Every routed operation's class; `None` for one nobody classified yet.
fn classify(name: &str) -> Option<Names> {
    use Entity::*;
    use Names::*;
    Some(match name {
        "GetUser"
        | "DeleteUser"
        | "UpdateUser"
        | "CreateAccessKey"
        | "ListAccessKeys"
        | "DeleteAccessKey"
        | "UpdateAccessKey"
        | "PutUserPolicy"
        | "GetUserPolicy"
        | "ListUserPolicies"
        | "DeleteUserPolicy"
        | "ListGroupsForUser"
        | "AttachUserPolicy"
        | "DetachUserPolicy"
        | "ListAttachedUserPolicies"
        | "PutUserPermissionsBoundary"
        | "DeleteUserPermissionsBoundary"
        | "TagUser"
        | "UntagUser"
        | "ListUserTags"
        | "EnableMFADevice"
        | "ResyncMFADevice"
        | "DeactivateMFADevice"
        | "ListMFADevices"
        | "GetMFADevice"
        | "CreateLoginProfile"
        | "GetLoginProfile"
        | "UpdateLoginProfile"
        | "DeleteLoginProfile"
        | "UploadSSHPublicKey"
        | "GetSSHPublicKey"
        | "ListSSHPublicKeys"
        | "UpdateSSHPublicKey"
        | "DeleteSSHPublicKey"
        | "CreateServiceSpecificCredential"
        | "ListServiceSpecificCredentials"
        | "ResetServiceSpecificCredential"
        | "UpdateServiceSpecificCredential"
        | "DeleteServiceSpecificCredential"
        | "UploadSigningCertificate"
        | "ListSigningCertificates"
        | "UpdateSigningCertificate"
        | "DeleteSigningCertificate" => Existing(User, "UserName"),
        "GetServerCertificate"
        | "UpdateServerCertificate"
        | "DeleteServerCertificate"
        | "TagServerCertificate"
        | "UntagServerCertificate"
        | "ListServerCertificateTags" => Existing(ServerCertificate, "ServerCertificateName"),
        "SimulatePrincipalPolicy" | "GetContextKeysForPrincipalPolicy" => Existing(User, "PolicySourceArn"),
        "GenerateServiceLastAccessedDetails" | "ListPoliciesGrantingServiceAccess" => Existing(User, "Arn"),
        "GetGroup"
        | "DeleteGroup"
        | "AddUserToGroup"
        | "RemoveUserFromGroup"
        | "PutGroupPolicy"
        | "GetGroupPolicy"
        | "ListGroupPolicies"
        | "DeleteGroupPolicy"
        | "AttachGroupPolicy"
        | "DetachGroupPolicy"
        | "ListAttachedGroupPolicies"
        | "UpdateGroup" => Existing(Group, "GroupName"),
        "AttachRolePolicy"
        | "DetachRolePolicy"
        | "ListAttachedRolePolicies"
        | "GetRole"
        | "UpdateRole"
        | "UpdateRoleDescription"
        | "UpdateAssumeRolePolicy"
        | "DeleteRole"
        | "PutRolePolicy"
        | "GetRolePolicy"
        | "ListRolePolicies"
        | "DeleteRolePolicy"
        | "PutRolePermissionsBoundary"
        | "DeleteRolePermissionsBoundary"
        | "TagRole"
        | "UntagRole"
        | "ListRoleTags"
        | "ListInstanceProfilesForRole"
        | "DeleteServiceLinkedRole" => Existing(Role, "RoleName"),
        "AssumeRole" => Existing(Role, "RoleArn"),
        // The role is passed to SSM: iam:PassRole on the stored role.
        "CreateActivation" => Existing(Role, "IamRole"),
        "GetInstanceProfile"
        | "DeleteInstanceProfile"
        | "AddRoleToInstanceProfile"
        | "RemoveRoleFromInstanceProfile"
        | "TagInstanceProfile"
        | "UntagInstanceProfile"
        | "ListInstanceProfileTags" => Existing(InstanceProfile, "InstanceProfileName"),
        "TagPolicy"
        | "UntagPolicy"
        | "ListPolicyTags"
        | "GetPolicy"
        | "DeletePolicy"
        | "CreatePolicyVersion"
        | "GetPolicyVersion"
        | "ListPolicyVersions"
        | "DeletePolicyVersion"
        | "SetDefaultPolicyVersion"
        | "ListEntitiesForPolicy" => Existing(Policy, "PolicyArn"),
        "RunTask" | "StartTask" => Existing(TaskDefinition, "taskDefinition"),
        "DescribeDaemonTaskDefinition" | "DeleteDaemonTaskDefinition" => {
            Existing(DaemonTaskDefinition, "daemonTaskDefinition")
        }
        "CreateUser"
        | "CreateGroup"
        | "CreateRole"
        | "CreateServiceLinkedRole"
        | "CreatePolicy"
        | "CreateInstanceProfile"
        | "CreateCluster"
        | "RegisterTaskDefinition"
        | "RegisterDaemonTaskDefinition"
        // A daemon or Express service by the name it would have (none is ever made: ecs::daemons).
        | "CreateDaemon"
        | "CreateExpressGatewayService"
        | "CreateService"
        | "CreateLogGroup"
        | "CreateLogStream"
        | "CreateRepository"
        | "RegisterContainerInstance"
        | "UploadServerCertificate"
        // An analyzer's name, as spelled (case-sensitive, as AWS's).
        | "CreateAnalyzer"
        // A device's serial number, as spelled.
        | "CreateVirtualMFADevice" => Creates,
        "GetAccessKeyLastUsed"
        | "DeleteActivation"
        | "DeregisterManagedInstance"
        | "UpdateInstanceInformation"
        | "AddTagsToResource"
        | "RemoveTagsFromResource"
        | "ListTagsForResource"
        // A capacity provider by its name, a cluster, task or container instance by name or ARN.
        | "CreateCapacityProvider"
        | "UpdateCapacityProvider"
        | "DeleteCapacityProvider"
        | "PutClusterCapacityProviders"
        | "UpdateClusterSettings"
        | "SubmitAttachmentStateChanges"
        | "UpdateContainerAgent"
        | "ExecuteCommand"
        | "UpdateTaskProtection"
        | "GetTaskProtection"
        // Daemons, their deployments and revisions, and Express services, by ARN (none exists).
        | "UpdateDaemon"
        | "DeleteDaemon"
        | "DescribeDaemon"
        | "ListDaemonDeployments"
        | "DescribeDaemonDeployments"
        | "DescribeDaemonRevisions"
        | "DescribeExpressGatewayService"
        | "UpdateExpressGatewayService"
        | "DeleteExpressGatewayService"
        | "DeleteCluster"
        | "UpdateCluster"
        | "DescribeClusters"
        | "DeregisterContainerInstance"
        | "DescribeContainerInstances"
        | "ListContainerInstances"
        | "UpdateContainerInstancesState"
        | "PutAttributes"
        | "DeleteAttributes"
        | "ListAttributes"
        | "StopTask"
        | "DescribeTasks"
        | "ListTasks"
        | "SubmitTaskStateChange"
        | "SubmitContainerStateChange"
        | "Poll"
        | "GetTaskCredentials"
        | "UpdateService"
        | "DeleteService"
        | "DescribeServices"
        // A service's task sets, named by the service (and the set) in the cluster.
        | "CreateTaskSet"
        | "DescribeTaskSets"
        | "UpdateTaskSet"
        | "DeleteTaskSet"
        | "UpdateServicePrimaryTaskSet"
        // A service's deployments by service, and deployments and revisions by their ARNs.
        | "ListServiceDeployments"
        | "DescribeServiceDeployments"
        | "DescribeServiceRevisions"
        | "StopServiceDeployment"
        | "ContinueServiceDeployment"
        | "ListServices"
        | "DeleteLogGroup"
        | "DeleteLogStream"
        | "DescribeLogStreams"
        | "PutRetentionPolicy"
        | "DeleteRetentionPolicy"
        | "PutLogEvents"
        | "GetLogEvents"
        | "FilterLogEvents"
        // Live Tail: every group it reads, by name or ARN.
        | "StartLiveTail"
        | "TagLogGroup"
        | "PutMetricFilter"
        | "DescribeMetricFilters"
        | "DeleteMetricFilter"
        | "TestMetricFilter"
        | "PutSubscriptionFilter"
        | "DescribeSubscriptionFilters"
        | "DeleteSubscriptionFilter"
        | "PutResourcePolicy"
        | "DescribeResourcePolicies"
        | "DeleteResourcePolicy"
        | "UntagLogGroup"
        | "ListTagsLogGroup"
        | "TagResource"
        | "UntagResource"
        // CloudWatch Logs' destinations (exact names), a group's KMS key, its fields.
        | "PutDestination"
        | "DeleteDestination"
        | "PutDestinationPolicy"
        | "AssociateKmsKey"
        | "DisassociateKmsKey"
        | "GetLogGroupFields"
        | "DescribeFieldIndexes"
        | "DescribeIndexPolicies"
        | "PutLogGroupDeletionProtection"
        // Vended-log deliveries: a delivery destination or source by its exact name, a
        // delivery by its id (CreateDelivery on its source's name and its destination's ARN).
        | "PutDeliveryDestination"
        | "GetDeliveryDestination"
        | "DeleteDeliveryDestination"
        | "PutDeliveryDestinationPolicy"
        | "GetDeliveryDestinationPolicy"
        | "DeleteDeliveryDestinationPolicy"
        | "PutDeliverySource"
        | "GetDeliverySource"
        | "DeleteDeliverySource"
        | "CreateDelivery"
        | "GetDelivery"
        | "DeleteDelivery"
        | "UpdateDeliveryConfiguration"
        // A lookup table by its exact name (Create) or ARN.
        | "CreateLookupTable"
        | "GetLookupTable"
        | "UpdateLookupTable"
        | "DeleteLookupTable"
        // A scheduled query by its exact name or ARN, resolved to its stored id's ARN.
        | "GetScheduledQuery"
        | "UpdateScheduledQuery"
        | "DeleteScheduledQuery"
        | "GetScheduledQueryHistory"
        // Logs Insights: the groups a query reads, and a query by its id.
        | "StartQuery"
        | "GetQueryResults"
        | "DescribeRepositories"
        | "DeleteRepository"
        | "PutImageTagMutability"
        | "SetRepositoryPolicy"
        | "GetRepositoryPolicy"
        | "DeleteRepositoryPolicy"
        | "PutImage"
        | "BatchGetImage"
        | "ListImages"
        | "DescribeImages"
        | "BatchDeleteImage"
        | "GetDownloadUrlForLayer"
        | "BatchCheckLayerAvailability"
        | "InitiateLayerUpload"
        | "UploadLayerPart"
        | "CompleteLayerUpload"
        // An analyzer by its exact name or ARN (the `Analyzer` resource type).
        | "GetAnalyzer"
        | "UpdateAnalyzer"
        | "DeleteAnalyzer"
        | "ListFindingsV2"
        | "GetFindingV2"
        | "GetFindingsStatistics"
        | "UpdateFindings"
        // A deletion task by its id.
        | "GetServiceLinkedRoleDeletionStatus"
        // A virtual MFA device by its serial number (case-sensitive, as AWS's).
        | "DeleteVirtualMFADevice"
        | "TagMFADevice"
        | "UntagMFADevice"
        | "ListMFADeviceTags"
        // A federated user by its name, an account's root by its id.
        | "GetFederationToken"
        | "AssumeRoot"
        // An OpenID Connect provider by its exact ARN (case-sensitive, as AWS's), or the URL
        // Create makes it from.
        | "CreateOpenIDConnectProvider"
        | "GetOpenIDConnectProvider"
        | "DeleteOpenIDConnectProvider"
        | "AddClientIDToOpenIDConnectProvider"
        | "RemoveClientIDFromOpenIDConnectProvider"
        | "UpdateOpenIDConnectProviderThumbprint"
        | "TagOpenIDConnectProvider"
        | "UntagOpenIDConnectProvider"
        | "ListOpenIDConnectProviderTags"
        // A SAML provider by its exact ARN, or the name Create makes it from.
        | "CreateSAMLProvider"
        | "GetSAMLProvider"
        | "UpdateSAMLProvider"
        | "DeleteSAMLProvider"
        | "TagSAMLProvider"
        | "UntagSAMLProvider"
        | "ListSAMLProviderTags"
        // A parameter by its name or ARN (case-sensitive, as AWS's), with a selector.
        | "PutParameter"
        | "GetParameter"
        | "GetParameters"
        | "GetParametersByPath"
        | "DeleteParameter"
        | "DeleteParameters"
        | "GetParameterHistory"
        | "LabelParameterVersion"
        | "UnlabelParameterVersion"
        // A secret by its name or ARN (case-sensitive), resolved to its stored ARN; CreateSecret
        // on the ARN the new secret will have.
        | "CreateSecret"
        | "DescribeSecret"
        | "UpdateSecret"
        | "DeleteSecret"
        | "RestoreSecret"
        | "GetSecretValue"
        | "PutSecretValue"
        | "UpdateSecretVersionStage"
        | "ListSecretVersionIds"
        // (PutResourcePolicy, DeleteResourcePolicy, TagResource and UntagResource, which
        // CloudWatch Logs names alike, are listed with Logs' above: a secret's are exact too.)
        | "GetResourcePolicy"
        // An ECR repository by its exact name (names are lower case); TagResource and
        // UntagResource (above) take its exact ARN.
        | "PutLifecyclePolicy"
        | "GetLifecyclePolicy"
        | "DeleteLifecyclePolicy"
        | "StartLifecyclePolicyPreview"
        | "GetLifecyclePolicyPreview"
        | "PutImageScanningConfiguration"
        | "BatchGetRepositoryScanningConfiguration"
        | "StartImageScan"
        | "DescribeImageScanFindings"
        | "DescribeImageReplicationStatus"
        | "DescribeImageSigningStatus"
        | "ListImageReferrers"
        | "UpdateImageStorageClass" => Exact,
        "GetCallerIdentity"
        | "GetSessionToken"
        | "ListUsers"
        | "SimulateCustomPolicy"
        | "GetContextKeysForCustomPolicy"
        | "GetAccountSummary"
        | "GetAccountAuthorizationDetails"
        | "ListGroups"
        | "ListRoles"
        | "ListPolicies"
        | "ListInstanceProfiles"
        | "LookupEvents"
        | "DescribeActivations"
        | "DescribeInstanceInformation"
        | "ListClusters"
        // ECS's account settings, capacity providers and namespaces: authorized on `*`, as on AWS.
        | "DescribeCapacityProviders"
        | "ListServicesByNamespace"
        | "DiscoverPollEndpoint"
        | "PutAccountSettingDefault"
        | "DeleteAccountSetting"
        | "ListAccountSettings"
        | "DescribeTaskDefinition"
        | "ListTaskDefinitions"
        | "ListTaskDefinitionFamilies"
        | "DeregisterTaskDefinition"
        | "DeleteTaskDefinitions"
        | "ListDaemonTaskDefinitions"
        | "ListDaemons"
        | "DescribeLogGroups"
        | "ListLogGroups"
        | "DescribeDestinations"
        // Lists of deliveries and their parts, and a new scheduled query (its id is not
        // known before: every scheduled query of the region).
        | "DescribeDeliveryDestinations"
        | "DescribeDeliverySources"
        | "DescribeDeliveries"
        | "DescribeConfigurationTemplates"
        | "ListScheduledQueries"
        | "DescribeLookupTables"
        | "CreateScheduledQuery"
        | "PutAccountPolicy"
        | "DescribeAccountPolicies"
        | "DeleteAccountPolicy"
        | "GetAuthorizationToken"
        // A job is read only by who started it, on every resource (`*`), as AWS scopes them.
        | "GetServiceLastAccessedDetails"
        | "GetServiceLastAccessedDetailsWithEntities" 
        | "ValidatePolicy"
        | "CheckNoNewAccess"
        | "CheckAccessNotGranted"
        // Access Analyzer's actions have no resource type: a generation is authorized on `*`,
        // whichever principal it reads (as on AWS).
        | "StartPolicyGeneration"
        | "GetGeneratedPolicy"
        | "ListPolicyGenerations"
        | "CancelPolicyGeneration"
        | "ListAnalyzers"
        // The account itself, and features it does not have (Organizations, partner
        // delegation, outbound federation): authorized on `*`, as on AWS.
        | "CreateAccountAlias"
        | "DeleteAccountAlias"
        | "ListAccountAliases"
        | "SetSecurityTokenServicePreferences"
        | "ListOrganizationsFeatures"
        | "EnableOrganizationsRootCredentialsManagement"
        | "DisableOrganizationsRootCredentialsManagement"
        | "EnableOrganizationsRootSessions"
        | "DisableOrganizationsRootSessions"
        | "GenerateOrganizationsAccessReport"
        | "GetOrganizationsAccessReport"
        | "ListDelegationRequests"
        | "GetDelegationRequest"
        | "AcceptDelegationRequest"
        | "AssociateDelegationRequest"
        | "RejectDelegationRequest"
        | "UpdateDelegationRequest"
        | "SendDelegationToken"
        | "CreateDelegationRequest"
        | "GetHumanReadableSummary"
        | "GetOutboundWebIdentityFederationInfo"
        | "DisableOutboundWebIdentityFederation"
        | "ListVirtualMFADevices"
        | "GetAccessKeyInfo"
        | "DecodeAuthorizationMessage"
        | "GetDelegatedAccessToken"
        | "GetWebIdentityToken"
        // The account's password policy and credential report are authorized on `*`, as AWS
        // scopes them; ChangePassword acts on the caller itself, whatever it sends.
        | "GetAccountPasswordPolicy"
        | "UpdateAccountPasswordPolicy"
        | "DeleteAccountPasswordPolicy"
        | "GenerateCredentialReport"
        | "GetCredentialReport"
        | "ChangePassword"
        | "ListServerCertificates"
        | "ListOpenIDConnectProviders"
        | "ListSAMLProviders"
        // Logs Insights' actions without a resource type: authorized on `*`, as on AWS.
        | "StopQuery"
        | "DescribeQueries"
        | "GetLogRecord"
        | "PutQueryDefinition"
        | "DescribeQueryDefinitions"
        | "DeleteQueryDefinition"
        // Lists: `*`, as AWS scopes them (BatchGetSecretValue then checks
        // secretsmanager:GetSecretValue on each secret).
        | "DescribeParameters"
        | "ListSecrets"
        | "BatchGetSecretValue"
        // ECR's registry-wide actions have no resource type: authorized on `*`, as on AWS.
        | "DescribeRegistry"
        | "PutRegistryPolicy"
        | "GetRegistryPolicy"
        | "DeleteRegistryPolicy"
        | "PutReplicationConfiguration"
        | "PutRegistryScanningConfiguration"
        | "GetRegistryScanningConfiguration"
        | "GetAccountSetting"
        | "PutAccountSetting"
        | "RegisterPullTimeUpdateExclusion"
        | "DeregisterPullTimeUpdateExclusion"
        | "ListPullTimeUpdateExclusions"
        | "CreatePullThroughCacheRule"
        | "DescribePullThroughCacheRules"
        | "UpdatePullThroughCacheRule"
        | "DeletePullThroughCacheRule"
        | "ValidatePullThroughCacheRule"
        | "CreateRepositoryCreationTemplate"
        | "DescribeRepositoryCreationTemplates"
        | "UpdateRepositoryCreationTemplate"
        | "DeleteRepositoryCreationTemplate"
        | "PutSigningConfiguration"
        | "GetSigningConfiguration"
        | "DeleteSigningConfiguration" => Nothing,
        _ => return None,
    })
}

/// `application/x-www-form-urlencoded` of one value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

struct Caller {
    id: String,
    secret: String,
}

impl Caller {
    fn key(&self) -> Key<'_> {
        Key { id: &self.id, secret: &self.secret, token: None }
    }
}

fn operation(name: &str) -> &'static Operation {
    OPERATIONS.iter().find(|operation| operation.name == name).unwrap_or_else(|| panic!("no operation {name}"))
}

/// Calls an awsQuery operation with `params`: the status and the body.
fn query(server: &Server, caller: &Caller, name: &str, params: &[(&str, String)]) -> (u16, String) {
    let operation = operation(name);
    let version = if operation.service == "sts" { "2011-06-15" } else { "2010-05-08" };
    let mut body = format!("Action={name}&Version={version}");
    for (param, value) in params {
        body.push_str(&format!("&{param}={}", encode(value)));
    }
    let (status, response) = common::post(&server.address, Some(&caller.key()), operation.service, None, &body);
    (status, response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned())
}

/// Calls an awsJson operation with `body`: the status and the body.
fn call_json(server: &Server, caller: &Caller, name: &str, body: &Value) -> (u16, String) {
    let operation = operation(name);
    let target = format!("{}.{}", operation.namespace, operation.name);
    let (status, response) =
        common::post(&server.address, Some(&caller.key()), operation.service, Some(&target), &body.to_string());
    (status, response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned())
}

/// An awsQuery call that must succeed.
fn ok(server: &Server, caller: &Caller, name: &str, params: &[(&str, &str)]) -> String {
    let params: Vec<(&str, String)> = params.iter().map(|(param, value)| (*param, (*value).to_owned())).collect();
    let (status, body) = query(server, caller, name, &params);
    assert_eq!(status, 200, "{name} {params:?}: {body}");
    body
}

/// The text of the first `<element>` of an XML answer.
fn element(xml: &str, element: &str) -> String {
    let start =
        xml.find(&format!("<{element}>")).unwrap_or_else(|| panic!("no {element} in {xml}")) + element.len() + 2;
    xml[start..].split('<').next().unwrap().to_owned()
}

/// Whether an AccessDenied message names `arn` as its resource (the whole ARN).
fn refused_on(answer: &str, arn: &str) -> bool {
    answer
        .match_indices(&format!("on resource: {arn}"))
        .any(|(at, found)| answer[at + found.len()..].starts_with([' ', '<', '"']))
}

/// A user with an access key and one inline policy.
fn user_with_policy(server: &Server, root: &Caller, name: &str, policy: &str) -> Caller {
    ok(server, root, "CreateUser", &[("UserName", name)]);
    ok(server, root, "PutUserPolicy", &[("UserName", name), ("PolicyName", "p"), ("PolicyDocument", policy)]);
    let key = ok(server, root, "CreateAccessKey", &[("UserName", name)]);
    Caller { id: element(&key, "AccessKeyId"), secret: element(&key, "SecretAccessKey") }
}

fn root_caller(server: &Server) -> Caller {
    let (id, secret, _) = common::read_credentials(&server.root_credentials());
    Caller { id, secret }
}

const ALLOW_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const CERTIFICATE: &str = include_str!("../../../server/src/iam/testdata/cert.pem");
const PRIVATE_KEY: &str = include_str!("../../../server/src/iam/testdata/key.pem");
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ssm.amazonaws.com","ecs-tasks.amazonaws.com","ec2.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;

/// The denied entities (canonical spellings, under /ops/) and their bystanders (not denied),
/// which the parameters an operation does not authorize on point at.
struct World {
    account: String,
    region: String,
    admin_key: String,
    /// The ARN of `admin-task:1`.
    task_definition: String,
    /// The ARN of the daemon task definition `admin-daemon:1`.
    daemon_task_definition: String,
}

fn build_world(server: &Server, root: &Caller) -> World {
    let account = element(&ok(server, root, "GetCallerIdentity", &[]), "Account");
    for (create, param, name) in [
        ("CreateUser", "UserName", "admin"),
        ("CreateGroup", "GroupName", "admins"),
        ("CreateInstanceProfile", "InstanceProfileName", "admin-profile"),
        ("CreateUser", "UserName", "bob"),
        ("CreateGroup", "GroupName", "staff"),
        ("CreateInstanceProfile", "InstanceProfileName", "helper-profile"),
    ] {
        ok(server, root, create, &[(param, name), ("Path", "/ops/")]);
    }
    for role in ["admin-role", "helper-role"] {
        ok(server, root, "CreateRole", &[("RoleName", role), ("Path", "/ops/"), ("AssumeRolePolicyDocument", TRUST)]);
    }
    for policy in ["AdminPolicy", "HelperPolicy"] {
        ok(server, root, "CreatePolicy", &[("PolicyName", policy), ("Path", "/ops/"), ("PolicyDocument", ALLOW_ALL)]);
    }
    let admin_policy = format!("arn:aws:iam::{account}:policy/ops/AdminPolicy");
    let admin_key = element(&ok(server, root, "CreateAccessKey", &[("UserName", "admin")]), "AccessKeyId");
    // Everything an operation could undo, so that "changed nothing" means something.
    ok(server, root, "AddUserToGroup", &[("GroupName", "admins"), ("UserName", "admin")]);
    ok(
        server,
        root,
        "AddRoleToInstanceProfile",
        &[("InstanceProfileName", "admin-profile"), ("RoleName", "admin-role")],
    );
    for (kind, name) in [("User", "admin"), ("Group", "admins"), ("Role", "admin-role")] {
        let param = format!("{kind}Name");
        ok(server, root, &format!("Attach{kind}Policy"), &[(&param, name), ("PolicyArn", &admin_policy)]);
        ok(
            server,
            root,
            &format!("Put{kind}Policy"),
            &[(&param, name), ("PolicyName", "kept"), ("PolicyDocument", ALLOW_ALL)],
        );
    }
    for (kind, name) in [("User", "admin"), ("Role", "admin-role")] {
        let param = format!("{kind}Name");
        ok(
            server,
            root,
            &format!("Put{kind}PermissionsBoundary"),
            &[(&param, name), ("PermissionsBoundary", &admin_policy)],
        );
        ok(
            server,
            root,
            &format!("Tag{kind}"),
            &[(&param, name), ("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "ops")],
        );
    }
    ok(
        server,
        root,
        "TagPolicy",
        &[("PolicyArn", &admin_policy), ("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "ops")],
    );
    ok(server, root, "CreatePolicyVersion", &[("PolicyArn", &admin_policy), ("PolicyDocument", ALLOW_ALL)]);
    for certificate in ["admin-cert", "helper-cert"] {
        ok(
            server,
            root,
            "UploadServerCertificate",
            &[
                ("ServerCertificateName", certificate),
                ("Path", "/ops/"),
                ("CertificateBody", CERTIFICATE),
                ("PrivateKey", PRIVATE_KEY),
                ("Tags.member.1.Key", "team"),
                ("Tags.member.1.Value", "ops"),
            ],
        );
    }
    let (status, body) = call_json(
        server,
        root,
        "RegisterTaskDefinition",
        &json!({
            "family": "admin-task",
            "containerDefinitions": [{"name": "main", "image": "busybox", "memory": 32}]
        }),
    );
    assert_eq!(status, 200, "{body}");
    let task_definition = serde_json::from_str::<Value>(&body).unwrap()["taskDefinition"]["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let region = task_definition.split(':').nth(3).unwrap().to_owned();
    let (status, body) = call_json(
        server,
        root,
        "RegisterDaemonTaskDefinition",
        &json!({"family": "admin-daemon", "containerDefinitions": [{"name": "main", "image": "busybox", "memory": 32}]}),
    );
    assert_eq!(status, 200, "{body}");
    let daemon_task_definition =
        serde_json::from_str::<Value>(&body).unwrap()["daemonTaskDefinitionArn"].as_str().unwrap().to_owned();
    World { account, region, admin_key, task_definition, daemon_task_definition }
}

/// Everything the denied entities are, as root reads it (request ids removed).
fn snapshot(server: &Server, root: &Caller, world: &World) -> Vec<String> {
    let policy = format!("arn:aws:iam::{}:policy/ops/AdminPolicy", world.account);
    let reads: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("ListUsers", vec![]),
        ("ListGroups", vec![]),
        ("ListRoles", vec![]),
        ("ListInstanceProfiles", vec![]),
        ("ListPolicies", vec![("Scope", "Local")]),
        ("GetUser", vec![("UserName", "admin")]),
        ("ListAccessKeys", vec![("UserName", "admin")]),
        ("ListUserPolicies", vec![("UserName", "admin")]),
        ("ListAttachedUserPolicies", vec![("UserName", "admin")]),
        ("ListGroupsForUser", vec![("UserName", "admin")]),
        ("ListUserTags", vec![("UserName", "admin")]),
        ("GetGroup", vec![("GroupName", "admins")]),
        ("ListGroupPolicies", vec![("GroupName", "admins")]),
        ("ListAttachedGroupPolicies", vec![("GroupName", "admins")]),
        ("GetRole", vec![("RoleName", "admin-role")]),
        ("ListRolePolicies", vec![("RoleName", "admin-role")]),
        ("ListAttachedRolePolicies", vec![("RoleName", "admin-role")]),
        ("ListRoleTags", vec![("RoleName", "admin-role")]),
        ("GetInstanceProfile", vec![("InstanceProfileName", "admin-profile")]),
        ("GetPolicy", vec![("PolicyArn", &policy)]),
        ("ListPolicyVersions", vec![("PolicyArn", &policy)]),
        ("ListPolicyTags", vec![("PolicyArn", &policy)]),
        ("GetServerCertificate", vec![("ServerCertificateName", "admin-cert")]),
        ("ListServerCertificates", vec![]),
    ];
    let mut state: Vec<String> = reads
        .iter()
        .map(|(name, params)| {
            let body = ok(server, root, name, params);
            let cut = body.find("<ResponseMetadata>").unwrap_or(body.len());
            format!("{name}: {}", &body[..cut])
        })
        .collect();
    for (name, body) in [
        ("DescribeTaskDefinition", json!({"taskDefinition": "admin-task"})),
        ("DescribeDaemonTaskDefinition", json!({"daemonTaskDefinition": "admin-daemon:1"})),
        ("DescribeActivations", json!({})),
    ] {
        let (status, answer) = call_json(server, root, name, &body);
        assert_eq!(status, 200, "{name}: {answer}");
        state.push(format!("{name}: {answer}"));
    }
    state
}

/// The request of one operation: `spelled` in its classified parameter, bystanders (or
/// harmless values) in every other.
fn request(world: &World, names: (Entity, &'static str), spelled: &str) -> (Vec<(&'static str, String)>, Value) {
    let account = &world.account;
    let mut params: Vec<(&'static str, String)> = vec![
        ("UserName", "bob".to_owned()),
        ("GroupName", "staff".to_owned()),
        ("RoleName", "helper-role".to_owned()),
        ("InstanceProfileName", "helper-profile".to_owned()),
        ("PolicyArn", format!("arn:aws:iam::{account}:policy/ops/HelperPolicy")),
        ("RoleArn", format!("arn:aws:iam::{account}:role/ops/helper-role")),
        ("PolicySourceArn", format!("arn:aws:iam::{account}:user/ops/bob")),
        ("Arn", format!("arn:aws:iam::{account}:user/ops/bob")),
        ("ServiceNamespaces.member.1", "iam".to_owned()),
        ("RoleSessionName", "session".to_owned()),
        ("PolicyName", "kept".to_owned()),
        ("PolicyDocument", ALLOW_ALL.to_owned()),
        ("AssumeRolePolicyDocument", TRUST.to_owned()),
        ("AccessKeyId", world.admin_key.clone()),
        ("Status", "Inactive".to_owned()),
        ("NewPath", "/moved/".to_owned()),
        ("Description", "changed".to_owned()),
        ("MaxSessionDuration", "7200".to_owned()),
        ("PermissionsBoundary", "arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned()),
        ("Tags.member.1.Key", "team".to_owned()),
        ("Tags.member.1.Value", "changed".to_owned()),
        ("TagKeys.member.1", "team".to_owned()),
        ("VersionId", "v1".to_owned()),
        ("ActionNames.member.1", "iam:GetUser".to_owned()),
        ("SerialNumber", format!("arn:aws:iam::{account}:mfa/helper-device")),
        ("AuthenticationCode1", "123456".to_owned()),
        ("AuthenticationCode2", "654321".to_owned()),
        ("ServerCertificateName", "helper-cert".to_owned()),
        ("SSHPublicKeyBody", "ssh-rsa AAAA".to_owned()),
        ("SSHPublicKeyId", "APKAEIBAERJR2EXAMPLE".to_owned()),
        ("Encoding", "SSH".to_owned()),
        ("ServiceName", "codecommit.amazonaws.com".to_owned()),
        ("ServiceSpecificCredentialId", "ACCAEXAMPLE123EXAMPLE".to_owned()),
        ("CertificateBody", "certificate".to_owned()),
        ("CertificateId", "ABCDEFGHIJKLMNOPQRSTUVWX".to_owned()),
        ("PrivateKey", "key".to_owned()),
        ("Password", "Passw0rd-helper".to_owned()),
    ];
    let (_, param) = names;
    params.retain(|(name, _)| *name != param);
    params.push((param, spelled.to_owned()));
    let body = json!({
        "cluster": "default",
        "taskDefinition": "helper-task",
        "containerInstances": ["arn:aws:ecs:us-east-1:000000000000:container-instance/default/x"],
        "IamRole": "helper-role",
        param: spelled,
    });
    (params, body)
}

/// The other spellings of the denied entity of `entity`, each with the ARN the request must
/// be refused on (the stored entity's).
fn spellings(world: &World, entity: Entity, param: &str) -> Vec<(String, String)> {
    let account = &world.account;
    let user = format!("arn:aws:iam::{account}:user/ops/admin");
    let role = format!("arn:aws:iam::{account}:role/ops/admin-role");
    match (entity, param) {
        (Entity::User, "PolicySourceArn" | "Arn") => vec![(format!("arn:aws:iam::{account}:user/ops/ADMIN"), user)],
        (Entity::User, _) => vec![("ADMIN".to_owned(), user.clone()), ("Admin".to_owned(), user)],
        (Entity::Group, _) => vec![("ADMINS".to_owned(), format!("arn:aws:iam::{account}:group/ops/admins"))],
        (Entity::Role, "RoleArn") => {
            // STS finds a role by its exact ARN: another spelling names no role, and is
            // refused as the ARN it is (the trust policy of no role allows it).
            let spelled = format!("arn:aws:iam::{account}:role/ops/ADMIN-ROLE");
            vec![(spelled.clone(), spelled)]
        }
        (Entity::Role, _) => vec![("ADMIN-ROLE".to_owned(), role)],
        (Entity::InstanceProfile, _) => {
            vec![("ADMIN-PROFILE".to_owned(), format!("arn:aws:iam::{account}:instance-profile/ops/admin-profile"))]
        }
        (Entity::Policy, _) => vec![(
            format!("arn:aws:iam::{account}:policy/ops/ADMINPOLICY"),
            format!("arn:aws:iam::{account}:policy/ops/AdminPolicy"),
        )],
        (Entity::ServerCertificate, _) => {
            vec![("ADMIN-CERT".to_owned(), format!("arn:aws:iam::{account}:server-certificate/ops/admin-cert"))]
        }
        (Entity::TaskDefinition, _) => {
            let canonical = world.task_definition.clone();
            let elsewhere = canonical.replacen(&format!(":ecs:{}:", world.region), ":ecs:eu-west-3:", 1);
            // Its family alone (the latest revision), and an ARN naming another region.
            vec![("admin-task".to_owned(), canonical.clone()), (elsewhere, canonical)]
        }
        (Entity::DaemonTaskDefinition, _) => {
            // Its family alone (the latest ACTIVE revision).
            vec![("admin-daemon".to_owned(), world.daemon_task_definition.clone())]
        }
    }
}

#[test]
fn every_operation_is_classified() {
    let unclassified: Vec<&str> =
        OPERATIONS.iter().map(|operation| operation.name).filter(|name| classify(name).is_none()).collect();
    assert!(
        unclassified.is_empty(),
        "classify these operations in authz_names.rs (which entity they name, through which parameter): {unclassified:?}"
    );
}

#[test]
fn every_operation_naming_an_entity_is_authorized_on_the_stored_entity_on_sqlite() {
    spellings_are_refused(None, "authz-names-sqlite");
}

#[test]
fn every_operation_naming_an_entity_is_authorized_on_the_stored_entity_on_postgres() {
    let Some(database) = common::TestDatabase::create("authz_names") else { return };
    spellings_are_refused(Some(&database.url), "authz-names-postgres");
}

/// For every operation naming an existing entity, each other spelling of the denied
/// entity's name is refused on its stored ARN and changes nothing.
fn spellings_are_refused(store_url: Option<&str>, name: &str) {
    let dir = fresh_dir(name);
    let server = Server::start(&dir.join("data"), store_url);
    let root = root_caller(&server);
    let world = build_world(&server, &root);
    let account = world.account.clone();
    let denied_arns = [
        format!("arn:aws:iam::{account}:user/ops/admin"),
        format!("arn:aws:iam::{account}:group/ops/admins"),
        format!("arn:aws:iam::{account}:role/ops/admin-role"),
        format!("arn:aws:iam::{account}:instance-profile/ops/admin-profile"),
        format!("arn:aws:iam::{account}:policy/ops/AdminPolicy"),
        format!("arn:aws:ecs:{}:{account}:task-definition/admin-task:*", world.region),
        format!("arn:aws:ecs:{}:{account}:daemon-task-definition/admin-daemon:*", world.region),
        format!("arn:aws:iam::{account}:server-certificate/ops/admin-cert"),
    ];
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": denied_arns},
    ]});
    let mallory = user_with_policy(&server, &root, "mallory", &policy.to_string());

    let before = snapshot(&server, &root, &world);
    let mut checked = 0;
    for operation in OPERATIONS {
        let Some(Names::Existing(entity, param)) = classify(operation.name) else { continue };
        for (spelled, canonical) in spellings(&world, entity, param) {
            let (params, body) = request(&world, (entity, param), &spelled);
            let (status, answer) = match operation.protocol {
                aws_protocol::Protocol::Query => query(&server, &mallory, operation.name, &params),
                aws_protocol::Protocol::Json => call_json(&server, &mallory, operation.name, &body),
                aws_protocol::Protocol::RestJson => panic!("{} names an entity but speaks restJson", operation.name),
            };
            let what = format!("{} with {param}={spelled}", operation.name);
            assert_eq!(status, 403, "{what}: {answer}");
            assert!(answer.contains("AccessDenied"), "{what}: {answer}");
            assert!(refused_on(&answer, &canonical), "{what} is not refused on {canonical}: {answer}");
            assert_eq!(snapshot(&server, &root, &world), before, "{what} changed the denied entity");
            checked += 1;
        }
    }
    assert!(checked >= 70, "only {checked} requests checked");

    // A new name is authorized as spelled; an existing namesake, as the entity it is.
    for (create, param, spelled, canonical) in [
        ("CreateUser", "UserName", "ADMIN", format!("arn:aws:iam::{account}:user/ops/admin")),
        ("CreateGroup", "GroupName", "Admins", format!("arn:aws:iam::{account}:group/ops/admins")),
        ("CreateRole", "RoleName", "Admin-Role", format!("arn:aws:iam::{account}:role/ops/admin-role")),
    ] {
        let params = vec![(param, spelled.to_owned()), ("AssumeRolePolicyDocument", TRUST.to_owned())];
        let (status, answer) = query(&server, &mallory, create, &params);
        assert_eq!(status, 403, "{create} {spelled}: {answer}");
        assert!(refused_on(&answer, &canonical), "{create} {spelled}: {answer}");
    }
    let params = vec![("UserName", "newcomer".to_owned()), ("Path", "/ops/".to_owned())];
    assert_eq!(query(&server, &mallory, "CreateUser", &params).0, 200);
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// UpdateUser is authorized on the user as it is and as it will be: a user allowed to update
/// itself cannot move itself under a path (or to a name) its policies do not cover.
#[test]
fn renaming_or_moving_a_user_is_authorized_on_the_new_arn_too() {
    let dir = fresh_dir("authz-rename");
    let server = Server::start(&dir.join("data"), None);
    let root = root_caller(&server);
    let account = element(&ok(&server, &root, "GetCallerIdentity", &[]), "Account");
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:UpdateUser", "Resource": format!("arn:aws:iam::{account}:user/climber*")},
        {"Effect": "Deny", "Action": "*", "Resource": "*",
         "Condition": {"ArnLike": {"aws:PrincipalArn": format!("arn:aws:iam::{account}:user/admins/*")}}},
    ]});
    let climber = user_with_policy(&server, &root, "climber", &policy.to_string());
    let update = |params: &[(&str, &str)]| {
        let params: Vec<(&str, String)> = params.iter().map(|(p, v)| (*p, (*v).to_owned())).collect();
        query(&server, &climber, "UpdateUser", &params)
    };
    let (status, answer) = update(&[("UserName", "climber"), ("NewPath", "/admins/")]);
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains(&format!("on resource: arn:aws:iam::{account}:user/admins/climber")), "{answer}");
    let (status, answer) = update(&[("UserName", "climber"), ("NewUserName", "root-admin")]);
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains(&format!("on resource: arn:aws:iam::{account}:user/root-admin")), "{answer}");
    let user = ok(&server, &root, "GetUser", &[("UserName", "climber")]);
    assert_eq!(element(&user, "Path"), "/");
    // Within what its policy covers, both ARNs are allowed.
    let (status, answer) = update(&[("UserName", "climber"), ("NewUserName", "climber2")]);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(element(&ok(&server, &root, "GetUser", &[("UserName", "climber2")]), "UserName"), "climber2");
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `iam:PermissionsBoundary` is the target's current boundary wherever AWS defines it so
/// (deleting a boundary, changing the policies it bounds), and a parameter the caller adds
/// cannot stand in for it.
#[test]
fn the_permissions_boundary_key_is_the_targets_current_boundary() {
    let dir = fresh_dir("authz-boundary");
    let server = Server::start(&dir.join("data"), None);
    let root = root_caller(&server);
    let account = element(&ok(&server, &root, "GetCallerIdentity", &[]), "Account");
    let boundary = format!("arn:aws:iam::{account}:policy/Boundary");
    ok(&server, &root, "CreatePolicy", &[("PolicyName", "Boundary"), ("PolicyDocument", ALLOW_ALL)]);
    for user in ["bounded", "free"] {
        ok(&server, &root, "CreateUser", &[("UserName", user)]);
    }
    ok(&server, &root, "PutUserPermissionsBoundary", &[("UserName", "bounded"), ("PermissionsBoundary", &boundary)]);
    ok(&server, &root, "CreateRole", &[("RoleName", "bounded-role"), ("AssumeRolePolicyDocument", TRUST)]);
    ok(
        &server,
        &root,
        "PutRolePermissionsBoundary",
        &[("RoleName", "bounded-role"), ("PermissionsBoundary", &boundary)],
    );
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*",
         "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}}},
        {"Effect": "Allow", "Action": ["iam:DeleteUserPermissionsBoundary", "iam:DeleteRolePermissionsBoundary"], "Resource": "*"},
        {"Effect": "Deny", "Action": ["iam:DeleteUserPermissionsBoundary", "iam:DeleteRolePermissionsBoundary"], "Resource": "*",
         "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}}},
    ]});
    let delegate = user_with_policy(&server, &root, "delegate", &policy.to_string());
    let call = |name: &str, params: &[(&str, &str)]| {
        let params: Vec<(&str, String)> = params.iter().map(|(p, v)| (*p, (*v).to_owned())).collect();
        query(&server, &delegate, name, &params)
    };
    // The Deny protects the boundary, whatever the request adds.
    for extra in [None, Some("arn:aws:iam::aws:policy/ReadOnlyAccess")] {
        let mut params = vec![("UserName", "bounded")];
        params.extend(extra.map(|arn| ("PermissionsBoundary", arn)));
        let (status, answer) = call("DeleteUserPermissionsBoundary", &params);
        assert_eq!(status, 403, "{extra:?}: {answer}");
        let mut params = vec![("RoleName", "bounded-role")];
        params.extend(extra.map(|arn| ("PermissionsBoundary", arn)));
        let (status, answer) = call("DeleteRolePermissionsBoundary", &params);
        assert_eq!(status, 403, "{extra:?}: {answer}");
    }
    assert!(ok(&server, &root, "GetUser", &[("UserName", "bounded")]).contains(&boundary));
    assert!(ok(&server, &root, "GetRole", &[("RoleName", "bounded-role")]).contains(&boundary));
    // The conditioned Allow applies to the bounded user only, and a parameter cannot fake it.
    let inline = [("PolicyName", "p"), ("PolicyDocument", ALLOW_ALL)];
    let (status, answer) = call("PutUserPolicy", &[&[("UserName", "bounded")][..], &inline].concat());
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = call("PutUserPolicy", &[&[("UserName", "free")][..], &inline].concat());
    assert_eq!(status, 403, "{answer}");
    let faked = [("UserName", "free"), ("PermissionsBoundary", boundary.as_str())];
    let (status, answer) = call("PutUserPolicy", &[&faked[..], &inline].concat());
    assert_eq!(status, 403, "{answer}");
    // Setting a boundary is decided on the boundary the request sets.
    let (status, answer) =
        call("PutUserPermissionsBoundary", &[("UserName", "free"), ("PermissionsBoundary", &boundary)]);
    assert_eq!(status, 200, "{answer}");
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A condition key a parameter defines is set only for the actions AWS defines it for: the
/// parameter added to another request cannot satisfy an Allow conditioned on the key.
#[test]
fn parameters_an_action_does_not_take_define_no_condition_keys() {
    let dir = fresh_dir("authz-keys");
    let server = Server::start(&dir.join("data"), None);
    let root = root_caller(&server);
    let read_only = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    for user in ["target", "other"] {
        ok(&server, &root, "CreateUser", &[("UserName", user)]);
    }
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*",
         "Condition": {"ArnEquals": {"iam:PolicyARN": read_only}}},
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestTag/team": "ops"}}},
    ]});
    let delegate = user_with_policy(&server, &root, "delegate", &policy.to_string());
    let call = |name: &str, params: &[(&str, &str)]| {
        let params: Vec<(&str, String)> = params.iter().map(|(p, v)| (*p, (*v).to_owned())).collect();
        query(&server, &delegate, name, &params)
    };
    // Where the key is the action's own, the conditioned Allows apply...
    let (status, answer) = call("AttachUserPolicy", &[("UserName", "target"), ("PolicyArn", read_only)]);
    assert_eq!(status, 200, "{answer}");
    let (status, answer) =
        call("TagUser", &[("UserName", "target"), ("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "ops")]);
    assert_eq!(status, 200, "{answer}");
    // ...and a parameter added to another action does not stand in for them.
    for extra in [("PolicyArn", read_only), ("Tags.member.1.Key", "team")] {
        let params = [("UserName", "other"), extra, ("Tags.member.1.Value", "ops")];
        let (status, answer) = call("DeleteUser", &params);
        assert_eq!(status, 403, "{extra:?}: {answer}");
    }
    ok(&server, &root, "GetUser", &[("UserName", "other")]);
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The issue's two examples, with the real aws CLI: with a Deny on `user/admin` and
/// `group/admins`, another spelling of either name is refused and changes nothing.
#[test]
fn another_spelling_does_not_bypass_a_deny_with_the_aws_cli() {
    if !aws_cli_available() {
        return;
    }
    let dir = fresh_dir("authz-names-cli");
    let server = Server::start(&dir.join("data"), None);
    let root = server.root_credentials();
    let account = server.aws_json(&root, &["sts", "get-caller-identity"])["Account"].as_str().unwrap().to_owned();
    server.aws_json(&root, &["iam", "create-user", "--user-name", "admin"]);
    server.aws_json(&root, &["iam", "create-group", "--group-name", "admins"]);
    server.aws_json(&root, &["iam", "create-user", "--user-name", "mallory"]);
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": [
            format!("arn:aws:iam::{account}:user/admin"), format!("arn:aws:iam::{account}:group/admins")]},
    ]})
    .to_string();
    server.aws_json(
        &root,
        &["iam", "put-user-policy", "--user-name", "mallory", "--policy-name", "p", "--policy-document", &policy],
    );
    let key = server.aws_json(&root, &["iam", "create-access-key", "--user-name", "mallory"]);
    let mallory = dir.join("mallory-credentials");
    common::credentials_file(&mallory, &key["AccessKey"]);

    let refused = server.aws(&mallory, &["iam", "create-access-key", "--user-name", "Admin"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("(AccessDenied)"), "{stderr}");
    assert!(stderr.contains(&format!("on resource: arn:aws:iam::{account}:user/admin ")), "{stderr}");
    let keys = server.aws_json(&root, &["iam", "list-access-keys", "--user-name", "admin"]);
    assert_eq!(keys["AccessKeyMetadata"].as_array().unwrap().len(), 0, "no key was made for admin");

    let refused =
        server.aws(&mallory, &["iam", "add-user-to-group", "--group-name", "ADMINS", "--user-name", "mallory"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("(AccessDenied)"), "{stderr}");
    assert!(stderr.contains(&format!("on resource: arn:aws:iam::{account}:group/admins ")), "{stderr}");
    let groups = server.aws_json(&root, &["iam", "list-groups-for-user", "--user-name", "mallory"]);
    assert_eq!(groups["Groups"].as_array().unwrap().len(), 0, "mallory did not join admins");

    // The spellings do name those entities: root, allowed everything, acts on them.
    server.aws_json(&root, &["iam", "add-user-to-group", "--group-name", "ADMINS", "--user-name", "MALLORY"]);
    let groups = server.aws_json(&root, &["iam", "list-groups-for-user", "--user-name", "mallory"]);
    assert_eq!(groups["Groups"][0]["GroupName"], "admins");
    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
