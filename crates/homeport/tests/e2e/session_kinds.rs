//! Who may act as whom, against the real server binary (no Docker: the agent's calls are
//! made by hand, signed with the credentials the instance protocol issues).
//!
//! Two classes are derived from the operation table, so a new operation is covered or the
//! suite fails until someone says what it is:
//! - every instance-only call (`Authorization::Instance`) refuses each other kind of session
//!   (root, a user, their GetSessionToken sessions, a role session, a task's session, another
//!   instance), however much its policies allow, and the instance's own session is served;
//!   an operation whose action the instance role's managed policies grant must be declared
//!   instance-only or named here as shared with other callers;
//! - every operation that passes a role refuses a caller without `iam:PassRole` on it and
//!   serves one with it; an operation whose botocore input can name a role (a member called
//!   `*role*`, or a task definition) must be in that table or named here as not passing one.
//!
//! And the cases of the issue: a task role with `ecs:Poll` cannot fetch a co-located task's
//! credentials, read the instance's channel, report its tasks or re-register it; a task role
//! whose trust in ECS tasks is removed stops getting credentials; namesake users, roles and
//! groups inherit nothing (sessions, trust policies, repository policies, memberships).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use crate::common;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use common::ecs::{ECS_POLICY, SSM_POLICY, instance_role};
use common::{Key, Server, aws_cli_available, boto3_available, credentials_file, fresh_dir, key, post};
use server::operations::{Authorization, Operation};
use server::services::OPERATIONS;

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const ECS_TASKS_TRUST: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;

fn now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

/// A set of credentials, long-term or temporary.
#[derive(Clone)]
struct Creds {
    id: String,
    secret: String,
    token: Option<String>,
}

impl Creds {
    /// From an `AccessKey` / `Credentials` object (IAM, STS and the instance protocol shapes).
    fn from_json(value: &Value) -> Creds {
        let field = |names: &[&str]| names.iter().find_map(|name| value[*name].as_str()).map(str::to_owned);
        Creds {
            id: field(&["AccessKeyId", "accessKeyId"]).unwrap(),
            secret: field(&["SecretAccessKey", "secretAccessKey"]).unwrap(),
            token: field(&["SessionToken", "sessionToken"]),
        }
    }

    fn key(&self) -> Key<'_> {
        Key { id: &self.id, secret: &self.secret, token: self.token.as_deref() }
    }

    /// An aws CLI credentials file for them.
    fn file(&self, dir: &std::path::Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        let mut value = json!({"AccessKeyId": self.id, "SecretAccessKey": self.secret});
        if let Some(token) = &self.token {
            value["SessionToken"] = json!(token);
        }
        credentials_file(&path, &value);
        path
    }
}

/// Calls `operation` signed with `creds`: `body` is the form (awsQuery) or the JSON.
fn call(server: &Server, creds: &Creds, operation: &Operation, body: &str) -> (u16, String) {
    match operation.protocol {
        aws_protocol::Protocol::Query => {
            let version = if operation.service == "sts" { "2011-06-15" } else { "2010-05-08" };
            let form = format!("Action={}&Version={version}&{body}", operation.name);
            post(&server.address, Some(&creds.key()), operation.service, None, &form)
        }
        aws_protocol::Protocol::Json => {
            let target = format!("{}.{}", operation.namespace, operation.name);
            post(&server.address, Some(&creds.key()), operation.service, Some(&target), body)
        }
        aws_protocol::Protocol::RestJson => panic!("{}: no restJson operation is the agent's", operation.name),
    }
}

fn operation(name: &str) -> &'static Operation {
    OPERATIONS.iter().find(|operation| operation.name == name).unwrap()
}

fn json_call(server: &Server, creds: &Creds, name: &str, body: &Value) -> (u16, Value) {
    let (status, response) = call(server, creds, operation(name), &body.to_string());
    (status, common::body(&response))
}

/// A server with a cluster `c`, one registered container instance (its own credentials), and a
/// task of root's definition `app` placed on it, whose task role `appRole` (trusting ECS tasks)
/// is allowed everything.
struct World {
    server: Server,
    dir: PathBuf,
    account: String,
    root: Creds,
    instance: Creds,
    instance_id: String,
    instance_arn: String,
    task_arn: String,
    task: Creds,
}

fn role_arn(world: &World, name: &str) -> String {
    format!("arn:aws:iam::{}:role/{name}", world.account)
}

/// Registers a managed instance with `activation` and returns its id and its own credentials.
fn managed_instance(server: &Server, activation: &Value, seed: u8) -> (String, Creds) {
    let (status, registered) = common::register(server, activation, &key(seed));
    assert_eq!(status, 200, "{registered}");
    let id = registered["InstanceId"].as_str().unwrap().to_owned();
    let (status, credentials) = common::request_token(server, &id, &key(seed), now());
    assert_eq!(status, 200, "{credentials}");
    (id, Creds::from_json(&credentials))
}

fn register_container_instance(server: &Server, creds: &Creds, arn: Option<&str>) -> (u16, Value) {
    let mut body = json!({
        "cluster": "c",
        "totalResources": [
            {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096},
        ],
        "versionInfo": {"agentVersion": "0.1.0"},
        "attributes": [{"name": "ecs.capability.external"}, {"name": "ecs.os-type", "value": "linux"}],
    });
    if let Some(arn) = arn {
        body["containerInstanceArn"] = json!(arn);
    }
    json_call(server, creds, "RegisterContainerInstance", &body)
}

fn definition(family: &str, roles: &[(&str, &str)]) -> Value {
    let mut definition = json!({
        "family": family,
        "requiresCompatibilities": ["EXTERNAL"],
        "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 16, "essential": true}],
    });
    for (member, arn) in roles {
        definition[*member] = json!(arn);
    }
    definition
}

fn world(name: &str) -> World {
    let dir = fresh_dir(name);
    let server = Server::start(&dir.join("data"), None);
    let root_file = server.root_credentials();
    let (id, secret, _) = common::read_credentials(&root_file);
    let root = Creds { id, secret, token: None };
    let account = server.aws_json(&root_file, &["sts", "get-caller-identity"])["Account"].as_str().unwrap().to_owned();
    instance_role(&server, &[SSM_POLICY, ECS_POLICY]);
    server.aws_json(&root_file, &["ecs", "create-cluster", "--cluster-name", "c"]);
    let activation = server.aws_json(
        &root_file,
        &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole", "--registration-limit", "5"],
    );
    let (instance_id, instance) = managed_instance(&server, &activation, 1);
    let (status, registered) = register_container_instance(&server, &instance, None);
    assert_eq!(status, 200, "{registered}");
    let instance_arn = registered["containerInstance"]["containerInstanceArn"].as_str().unwrap().to_owned();
    server.aws_json(
        &root_file,
        &["iam", "create-role", "--role-name", "appRole", "--assume-role-policy-document", ECS_TASKS_TRUST],
    );
    server.aws_json(&root_file, &["iam", "attach-role-policy", "--role-name", "appRole", "--policy-arn", ADMIN]);
    let mut world = World {
        server,
        dir,
        account,
        root,
        instance,
        instance_id,
        instance_arn,
        task_arn: String::new(),
        task: Creds { id: String::new(), secret: String::new(), token: None },
    };
    let app_role = role_arn(&world, "appRole");
    let (status, registered) = json_call(
        &world.server,
        &world.root,
        "RegisterTaskDefinition",
        &definition("app", &[("taskRoleArn", &app_role)]),
    );
    assert_eq!(status, 200, "{registered}");
    world.task_arn = run_task(&world, "app");
    world.task = task_credentials(&world, &world.task_arn).unwrap();
    world
}

fn run_task(world: &World, family: &str) -> String {
    let (status, ran) = json_call(
        &world.server,
        &world.root,
        "RunTask",
        &json!({"cluster": "c", "taskDefinition": family, "launchType": "EXTERNAL"}),
    );
    assert_eq!((status, &ran["failures"]), (200, &json!([])), "{ran}");
    ran["tasks"][0]["taskArn"].as_str().unwrap().to_owned()
}

/// GetTaskCredentials for `task`'s task role, asked by the instance itself.
fn task_credentials(world: &World, task: &str) -> Result<Creds, (u16, Value)> {
    let body = json!({"cluster": "c", "containerInstance": world.instance_arn, "taskArn": task, "roleType": "TaskApplication"});
    match json_call(&world.server, &world.instance, "GetTaskCredentials", &body) {
        (200, answer) => Ok(Creds::from_json(&answer["credentials"])),
        failed => Err(failed),
    }
}

fn task_status(world: &World, task: &str) -> String {
    let (status, described) =
        json_call(&world.server, &world.root, "DescribeTasks", &json!({"cluster": "c", "tasks": [task]}));
    assert_eq!(status, 200, "{described}");
    described["tasks"][0]["lastStatus"].as_str().unwrap().to_owned()
}

/// An IAM user allowed `policy` (an identity policy document), with a long-term key.
fn user_with(world: &World, name: &str, policy: &str) -> Creds {
    let root = world.server.root_credentials();
    world.server.aws_json(&root, &["iam", "create-user", "--user-name", name]);
    let put = ["iam", "put-user-policy", "--user-name", name, "--policy-name", "p", "--policy-document", policy];
    world.server.aws_json(&root, &put);
    Creds::from_json(&world.server.aws_json(&root, &["iam", "create-access-key", "--user-name", name])["AccessKey"])
}

const ALLOW_ALL: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;

fn get_session_token(world: &World, creds: &Creds) -> Creds {
    let (status, response) = call(&world.server, creds, operation("GetSessionToken"), "DurationSeconds=900");
    assert_eq!(status, 200, "{response}");
    xml_credentials(&response)
}

fn xml_credentials(response: &str) -> Creds {
    let element = |name: &str| {
        response.split(&format!("<{name}>")).nth(1).unwrap().split(&format!("</{name}>")).next().unwrap().to_owned()
    };
    Creds { id: element("AccessKeyId"), secret: element("SecretAccessKey"), token: Some(element("SessionToken")) }
}

fn assume_role(world: &World, creds: &Creds, role: &str) -> Result<Creds, String> {
    let form =
        format!("RoleArn={}&RoleSessionName=probe", aws_protocol::sigv4::uri_encode(&role_arn(world, role), true));
    match call(&world.server, creds, operation("AssumeRole"), &form) {
        (200, response) => Ok(xml_credentials(&response)),
        (_, response) => Err(response),
    }
}

/// The request an instance-only operation is tried with: on `world`'s instance and task.
fn instance_request(world: &World, name: &str) -> Value {
    match name {
        "Poll" => {
            json!({"cluster": "c", "containerInstance": world.instance_arn, "sequenceNumber": 0, "waitSeconds": 0})
        }
        "GetTaskCredentials" => json!({"cluster": "c", "containerInstance": world.instance_arn,
                                       "taskArn": world.task_arn, "roleType": "TaskApplication"}),
        // Reports the task RUNNING: harmless from the instance, and a report a task would need.
        "SubmitTaskStateChange" => json!({"cluster": "c", "task": world.task_arn, "status": "RUNNING"}),
        "SubmitContainerStateChange" => json!({"cluster": "c", "task": world.task_arn, "containerName": "app",
                                               "status": "RUNNING"}),
        "RegisterContainerInstance" => json!({"cluster": "c", "containerInstanceArn": world.instance_arn,
            "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 4096},
                               {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}]}),
        "UpdateInstanceInformation" => json!({"InstanceId": world.instance_id, "AgentName": "t", "AgentVersion": "1"}),
        "DiscoverPollEndpoint" => json!({"cluster": "c", "containerInstance": world.instance_arn}),
        // No attachment: Homeport makes none, so only an empty report is acknowledged.
        "SubmitAttachmentStateChanges" => json!({"cluster": "c", "attachments": []}),
        other => panic!("no request for the instance-only operation {other}: add one here"),
    }
}

/// Operations whose action the instance role's managed policies grant, which are not
/// instance-only: anyone allowed may call them.
const SHARED_WITH_OTHER_CALLERS: &[(&str, &str)] = &[
    ("CreateCluster", "operators make clusters"),
    ("DeregisterContainerInstance", "operators retire instances"),
    ("UpdateContainerInstancesState", "operators drain instances"),
    ("GetAuthorizationToken", "every registry client"),
    ("BatchGetImage", "every registry client"),
    ("GetDownloadUrlForLayer", "every registry client"),
    ("BatchCheckLayerAvailability", "every registry client"),
    ("CreateLogStream", "every log shipper"),
    ("PutLogEvents", "every log shipper"),
    ("GetParameter", "every reader of parameters"),
    ("GetParameters", "every reader of parameters (a task's secrets, with its execution role)"),
];

#[test]
fn only_an_instances_own_session_acts_as_the_instance() {
    if !aws_cli_available() {
        return;
    }
    let world = world("instance-only");
    let server = &world.server;

    // Classification: every operation the agent's role is granted is declared instance-only or
    // shared with other callers, so a new agent call cannot be left open to its tasks.
    let granted = |action: &str| {
        [ECS_POLICY, SSM_POLICY].iter().any(|arn| {
            let policy = server::managed::parsed(arn).unwrap();
            let refs = [iam_policy::PolicyRef { id: "instance-role", policy }];
            let set = iam_policy::PolicySet { identity: &refs, ..iam_policy::PolicySet::default() };
            let caller = iam_policy::Caller::from_arn("arn:aws:iam::111122223333:user/agent").unwrap();
            let context = iam_policy::Context::new();
            let request = iam_policy::Request::new(action, "*", Some(&caller), &context);
            iam_policy::decide(&set, &request).decision == iam_policy::EvalDecision::Allowed
        })
    };
    let unclassified: Vec<&str> = OPERATIONS
        .iter()
        .filter(|op| op.authorization != Authorization::Instance && granted(op.action))
        .filter(|op| !SHARED_WITH_OTHER_CALLERS.iter().any(|(name, _)| *name == op.name))
        .map(|op| op.name)
        .collect();
    assert!(unclassified.is_empty(), "the instance role may call these: instance-only or shared? {unclassified:?}");
    for (name, _) in SHARED_WITH_OTHER_CALLERS {
        assert!(granted(operation(name).action), "{name} is not the instance role's: drop it from the list");
    }
    let instance_only: Vec<&Operation> =
        OPERATIONS.iter().filter(|op| op.authorization == Authorization::Instance).collect();
    let names: Vec<&str> = instance_only.iter().map(|op| op.name).collect();
    for expected in [
        "Poll",
        "GetTaskCredentials",
        "SubmitTaskStateChange",
        "SubmitContainerStateChange",
        "RegisterContainerInstance",
        "UpdateInstanceInformation",
    ] {
        assert!(names.contains(&expected), "{expected} is instance-only: {names:?}");
    }

    // Every other kind of session, each allowed everything by its policies.
    let admin = user_with(&world, "admin", ALLOW_ALL);
    let root_file = server.root_credentials();
    let trust_account = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"sts:AssumeRole"}}}}"#,
        world.account
    );
    server.aws_json(
        &root_file,
        &["iam", "create-role", "--role-name", "adminRole", "--assume-role-policy-document", &trust_account],
    );
    server.aws_json(&root_file, &["iam", "attach-role-policy", "--role-name", "adminRole", "--policy-arn", ADMIN]);
    let activation = server.aws_json(&root_file, &["ssm", "create-activation", "--iam-role", "ecsAnywhereRole"]);
    let (_, other_instance) = managed_instance(server, &activation, 2);
    let others: Vec<(&str, Creds)> = vec![
        ("root", world.root.clone()),
        ("root's session", get_session_token(&world, &world.root)),
        ("a user", admin.clone()),
        ("a user's session", get_session_token(&world, &admin)),
        ("a role session", assume_role(&world, &admin, "adminRole").unwrap()),
        ("a task on the instance", world.task.clone()),
        ("another instance", other_instance),
    ];
    for op in &instance_only {
        let request = instance_request(&world, op.name).to_string();
        for (who, creds) in &others {
            let (status, response) = call(server, creds, op, &request);
            assert!(matches!(status, 400 | 403), "{} by {who} must be refused: {response}", op.name);
            if *who != "another instance" {
                // Refused as not the instance, whatever the policies allow.
                assert_eq!(status, 403, "{} by {who}: {response}", op.name);
                assert!(response.contains("AccessDenied"), "{} by {who}: {response}", op.name);
            }
        }
        let (status, response) = call(server, &world.instance, op, &request);
        assert_eq!(status, 200, "{} by the instance itself: {response}", op.name);
    }

    // The issue's example: the task's role (allowed ecs:Poll and everything else) does not get a
    // co-located task's credentials nor reports it stopped; the task runs on.
    let neighbour = run_task(&world, "app");
    let stolen = json_call(
        server,
        &world.task,
        "GetTaskCredentials",
        &json!({"cluster": "c", "containerInstance": world.instance_arn, "taskArn": neighbour, "roleType": "TaskApplication"}),
    );
    assert_eq!((stolen.0, stolen.1["__type"].as_str()), (403, Some("AccessDeniedException")), "{}", stolen.1);
    let stopped = json_call(
        server,
        &world.task,
        "SubmitTaskStateChange",
        &json!({"cluster": "c", "task": neighbour, "status": "STOPPED"}),
    );
    assert_eq!(stopped.0, 403, "{}", stopped.1);
    assert_ne!(task_status(&world, &neighbour), "STOPPED");
    assert!(task_credentials(&world, &neighbour).is_ok(), "the instance itself still gets them");
    world.server.kill();
    std::fs::remove_dir_all(&world.dir).unwrap();
}

/// The operations that pass a role, each with a request passing `role` (made per caller).
fn pass_role_request(world: &World, name: &str, caller: &str) -> Option<String> {
    let app_role = role_arn(world, "appRole");
    let request = match name {
        "RegisterTaskDefinition" => definition(&format!("own-{caller}"), &[("taskRoleArn", &app_role)]).to_string(),
        "RegisterDaemonTaskDefinition" => json!({"family": format!("daemon-{caller}"), "taskRoleArn": app_role,
            "containerDefinitions": [{"name": "probe", "image": "busybox", "memory": 32}]})
        .to_string(),
        // Root's definitions: the roles are the definition's own, not in overrides.
        "RunTask" => json!({"cluster": "c", "taskDefinition": "app", "launchType": "EXTERNAL"}).to_string(),
        "StartTask" => {
            json!({"cluster": "c", "taskDefinition": "exec-only", "containerInstances": [world.instance_arn]})
                .to_string()
        }
        "CreateService" => json!({"cluster": "c", "serviceName": format!("svc-{caller}"), "taskDefinition": "app",
                                  "desiredCount": 0, "launchType": "EXTERNAL"})
        .to_string(),
        "UpdateService" => {
            json!({"cluster": "c", "service": format!("base-{caller}"), "taskDefinition": "app"}).to_string()
        }
        // A task set of an EXTERNAL service, scaled to nothing: its definition's roles pass.
        "CreateTaskSet" => json!({"cluster": "c", "service": format!("blue-{caller}"), "taskDefinition": "app",
                                  "scale": {"value": 0, "unit": "PERCENT"}})
        .to_string(),
        "CreateActivation" => json!({"IamRole": "ecsAnywhereRole"}).to_string(),
        "AddRoleToInstanceProfile" => format!("InstanceProfileName=profile-{caller}&RoleName=ec2Role"),
        // The role CloudWatch Logs would deliver to the destination with.
        "PutSubscriptionFilter" => json!({"logGroupName": "subscribed", "filterName": format!("sub-{caller}"),
            "filterPattern": "", "destinationArn": format!("arn:aws:lambda:us-east-1:{}:function:ship", world.account),
            "roleArn": app_role})
        .to_string(),
        // The role CloudWatch Logs would put records to the destination's stream with.
        "PutDestination" => json!({"destinationName": format!("dest-{caller}"),
            "targetArn": format!("arn:aws:kinesis:us-east-1:{}:stream/ship", world.account), "roleArn": app_role})
        .to_string(),
        // The role in a subscription filter policy's document (one per region: only the
        // caller allowed to pass it makes one).
        "PutAccountPolicy" => json!({"policyName": format!("ship-{caller}"), "policyType": "SUBSCRIPTION_FILTER_POLICY",
            "policyDocument": json!({"DestinationArn": format!("arn:aws:lambda:us-east-1:{}:function:ship", world.account),
                "RoleArn": app_role, "FilterPattern": ""}).to_string()})
        .to_string(),
        // The role a scheduled query's runs would assume (made per caller; updated from
        // root's, made below).
        "CreateScheduledQuery" => scheduled_query(&format!("sq-{caller}"), &app_role).to_string(),
        "UpdateScheduledQuery" => {
            let mut body = scheduled_query(&format!("sq-base-{caller}"), &app_role);
            body["identifier"] = body["name"].take();
            body.as_object_mut().unwrap().remove("name");
            body.to_string()
        }
        _ => return None,
    };
    Some(request)
}

/// A scheduled query of the group `subscribed`, its runs made with `role`.
fn scheduled_query(name: &str, role: &str) -> Value {
    json!({"name": name, "queryLanguage": "CWLI", "queryString": "fields @message",
        "logGroupIdentifiers": ["subscribed"], "scheduleExpression": "rate(1 hour)", "executionRoleArn": role})
}

/// Operations whose input can name a role or a task definition but pass none to a service.
const PASSES_NO_ROLE: &[(&str, &str)] = &[
    ("AssumeRole", "assumes the role: its trust policy decides"),
    ("DeleteServiceLinkedRole", "deletes the role"),
    ("CreateRole", "makes the role"),
    ("GetRole", "reads the role"),
    ("DeleteRole", "deletes the role"),
    ("UpdateRole", "changes the role"),
    ("UpdateRoleDescription", "changes the role"),
    ("UpdateAssumeRolePolicy", "changes the role"),
    ("AttachRolePolicy", "changes the role"),
    ("DetachRolePolicy", "changes the role"),
    ("ListAttachedRolePolicies", "reads the role"),
    ("PutRolePolicy", "changes the role"),
    ("GetRolePolicy", "reads the role"),
    ("DeleteRolePolicy", "changes the role"),
    ("ListRolePolicies", "reads the role"),
    ("PutRolePermissionsBoundary", "changes the role"),
    ("DeleteRolePermissionsBoundary", "changes the role"),
    ("TagRole", "changes the role"),
    ("UntagRole", "changes the role"),
    ("ListRoleTags", "reads the role"),
    ("ListInstanceProfilesForRole", "reads the role"),
    ("RemoveRoleFromInstanceProfile", "takes the role away"),
    ("DescribeTaskDefinition", "reads a definition"),
    ("DeregisterTaskDefinition", "retires a definition"),
    ("DeleteTaskDefinitions", "deletes definitions"),
    ("CreateExpressGatewayService", "is refused: Express services run on Fargate, which Homeport does not have"),
    ("UpdateExpressGatewayService", "names an Express service, and none exists"),
    ("CreatePullThroughCacheRule", "is refused: Homeport pulls through from no upstream registry"),
    ("UpdatePullThroughCacheRule", "names a rule, and none exists"),
    ("CreateRepositoryCreationTemplate", "is refused: Homeport keeps no creation templates"),
    ("UpdateRepositoryCreationTemplate", "names a template, and none exists"),
];

#[test]
fn every_operation_that_passes_a_role_needs_pass_role_from_its_caller() {
    if !aws_cli_available() || !boto3_available() {
        return;
    }
    let world = world("pass-role");
    let server = &world.server;
    let root_file = server.root_credentials();

    // Classification from botocore's models: an operation whose input can name a role is
    // tested here or said to pass none.
    let script = r#"
import json, re, botocore.session
session = botocore.session.get_session()
found = []
for service in ["iam", "sts", "ssm", "ecs", "ecr", "logs", "cloudtrail"]:
    model = session.get_service_model(service)
    for name in model.operation_names:
        shape = model.operation_model(name).input_shape
        members = list(shape.members) if shape is not None else []
        if any(re.search("role", m, re.I) or m.startswith("taskDefinition") for m in members):
            found.append(name)
print(json.dumps(found))
"#;
    let output = Command::new("python3").args(["-c", script]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let naming: Vec<String> = serde_json::from_slice(&output.stdout).unwrap();
    let passing: Vec<&Operation> =
        OPERATIONS.iter().filter(|op| pass_role_request(&world, op.name, "x").is_some()).collect();
    let unclassified: Vec<&str> = OPERATIONS
        .iter()
        .filter(|op| naming.iter().any(|name| name == op.name))
        .filter(|op| pass_role_request(&world, op.name, "x").is_none())
        .filter(|op| !PASSES_NO_ROLE.iter().any(|(name, _)| *name == op.name))
        .map(|op| op.name)
        .collect();
    assert!(unclassified.is_empty(), "these can name a role: do they pass it? {unclassified:?}");
    assert_eq!(passing.len(), 14, "every case above is a routed operation");
    let (status, answer) = json_call(server, &world.root, "CreateLogGroup", &json!({"logGroupName": "subscribed"}));
    assert_eq!(status, 200, "{answer}");

    // What the cases need: a role-free definition for the services to update, a definition
    // with only an execution role, an EC2 role and an instance profile per caller.
    let app_role = role_arn(&world, "appRole");
    for (family, roles) in [("plain", vec![]), ("exec-only", vec![("executionRoleArn", app_role.as_str())])] {
        let (status, answer) = json_call(server, &world.root, "RegisterTaskDefinition", &definition(family, &roles));
        assert_eq!(status, 200, "{answer}");
    }
    let ec2_trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
    server.aws_json(
        &root_file,
        &["iam", "create-role", "--role-name", "ec2Role", "--assume-role-policy-document", ec2_trust],
    );
    let no_pass_role =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:PassRole","Resource":"*"}}"#;
    let callers = [
        ("deployer", user_with(&world, "deployer", no_pass_role), false),
        ("passer", user_with(&world, "passer", ALLOW_ALL), true),
    ];
    for (caller, _, _) in &callers {
        server.aws_json(
            &root_file,
            &["iam", "create-instance-profile", "--instance-profile-name", &format!("profile-{caller}")],
        );
        let (status, answer) = json_call(
            server,
            &world.root,
            "CreateService",
            &json!({"cluster": "c", "serviceName": format!("base-{caller}"), "taskDefinition": "plain", "desiredCount": 0, "launchType": "EXTERNAL"}),
        );
        assert_eq!(status, 200, "{answer}");
        let external = json!({"cluster": "c", "serviceName": format!("blue-{caller}"), "desiredCount": 1,
                              "launchType": "EXTERNAL", "deploymentController": {"type": "EXTERNAL"}});
        let (status, answer) = json_call(server, &world.root, "CreateService", &external);
        assert_eq!(status, 200, "{answer}");
        let base = scheduled_query(&format!("sq-base-{caller}"), &app_role);
        let (status, answer) = json_call(server, &world.root, "CreateScheduledQuery", &base);
        assert_eq!(status, 200, "{answer}");
    }

    for op in &passing {
        for (caller, creds, may_pass) in &callers {
            let request = pass_role_request(&world, op.name, caller).unwrap();
            let (status, response) = call(server, creds, op, &request);
            if *may_pass {
                assert_eq!(status, 200, "{} by {caller}, allowed iam:PassRole: {response}", op.name);
            } else {
                assert_eq!(status, 403, "{} by {caller}, without iam:PassRole: {response}", op.name);
                assert!(response.contains("iam:PassRole"), "{} by {caller}: {response}", op.name);
            }
        }
    }
    // The issue's example: a user allowed only ecs:RunTask runs an administrator's definition
    // with a command override, to read its task role's credentials. Refused.
    let only_run = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecs:RunTask","Resource":"*"}}"#;
    let runner = user_with(&world, "runner", only_run);
    let overridden = json!({"cluster": "c", "taskDefinition": "app", "launchType": "EXTERNAL",
        "overrides": {"containerOverrides": [{"name": "app", "command": ["sh", "-c", "wget -qO- $AWS_CONTAINER_CREDENTIALS_FULL_URI"]}]}});
    let (status, response) = call(server, &runner, operation("RunTask"), &overridden.to_string());
    assert_eq!(status, 403, "{response}");
    assert!(response.contains(&format!("iam:PassRole on resource: {app_role}")), "{response}");
    // Nothing ran for the callers without PassRole: only root's task and the passer's.
    let (_, listed) = json_call(server, &world.root, "ListTasks", &json!({"cluster": "c"}));
    assert_eq!(listed["taskArns"].as_array().unwrap().len(), 3, "{listed}");
    world.server.kill();
    std::fs::remove_dir_all(&world.dir).unwrap();
}

#[test]
fn a_task_role_that_no_longer_trusts_ecs_tasks_gets_no_credentials() {
    if !aws_cli_available() {
        return;
    }
    let world = world("task-trust");
    let root = world.server.root_credentials();
    let ssm_only = common::ecs::SSM_TRUST;
    world.server.aws_json(
        &root,
        &["iam", "update-assume-role-policy", "--role-name", "appRole", "--policy-document", ssm_only],
    );
    let (status, refused) = task_credentials(&world, &world.task_arn).err().unwrap();
    assert_eq!((status, refused["__type"].as_str()), (400, Some("ClientException")), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("unable to assume the role"), "{refused}");
    world.server.aws_json(
        &root,
        &["iam", "update-assume-role-policy", "--role-name", "appRole", "--policy-document", ECS_TASKS_TRUST],
    );
    assert!(task_credentials(&world, &world.task_arn).is_ok(), "trusted again, issued again");
    world.server.kill();
    std::fs::remove_dir_all(&world.dir).unwrap();
}

fn cli_fails(server: &Server, credentials: &std::path::Path, args: &[&str], code: &str) -> String {
    let output = server.aws(credentials, args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success() && stderr.contains(&format!("({code})")), "{args:?}: {stderr}");
    stderr
}

fn trust_naming(principal: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"}}}}"#
    )
}

fn repository_policy_naming(principals: &[&str]) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": principals},
           "Action": ["ecr:DescribeImages", "ecr:ListImages"]}]})
    .to_string()
}

#[test]
fn namesakes_inherit_no_session_trust_policy_repository_policy_or_membership_on_sqlite() {
    if !aws_cli_available() {
        return;
    }
    namesakes(None, "namesakes-sqlite");
}

#[test]
fn namesakes_inherit_no_session_trust_policy_repository_policy_or_membership_on_postgres() {
    if !aws_cli_available() {
        return;
    }
    let Some(database) = common::TestDatabase::create("namesakes") else { return };
    namesakes(Some(&database.url), "namesakes-postgres");
}

/// Namesake users, roles and groups, on `store_url` (SQLite when `None`).
fn namesakes(store_url: Option<&str>, name: &str) {
    let dir = fresh_dir(name);
    let server = Server::start(&dir.join("data"), store_url);
    let root = server.root_credentials();
    let account = server.aws_json(&root, &["sts", "get-caller-identity"])["Account"].as_str().unwrap().to_owned();
    let user_arn = |name: &str| format!("arn:aws:iam::{account}:user/{name}");
    let role_arn = |name: &str| format!("arn:aws:iam::{account}:role/{name}");
    let new_user = |name: &str| {
        server.aws_json(&root, &["iam", "create-user", "--user-name", name]);
        let key = server.aws_json(&root, &["iam", "create-access-key", "--user-name", name]);
        let creds = Creds::from_json(&key["AccessKey"]);
        let id = server.aws_json(&root, &["iam", "get-user", "--user-name", name])["User"]["UserId"]
            .as_str()
            .unwrap()
            .to_owned();
        (creds.file(&dir, name), creds, id)
    };
    let delete_user = |name: &str, creds: &Creds| {
        server.aws_json(&root, &["iam", "delete-access-key", "--user-name", name, "--access-key-id", &creds.id]);
        server.aws_json(&root, &["iam", "delete-user", "--user-name", name]);
    };
    let who = |file: &std::path::Path| server.aws(file, &["sts", "get-caller-identity"]);
    server.aws_json(&root, &["ecr", "create-repository", "--repository-name", "shared"]);

    // A user: its session, a trust policy and a repository policy naming it.
    let (bob_file, bob, bob_id) = new_user("bob");
    server.aws_json(&root, &["iam", "tag-user", "--user-name", "bob", "--tags", "Key=team,Value=admins"]);
    let boundary = ["iam", "put-user-permissions-boundary", "--user-name", "bob", "--permissions-boundary", ADMIN];
    server.aws_json(&root, &boundary);
    let bob_session = {
        let session = server.aws_json(&bob_file, &["sts", "get-session-token"]);
        Creds::from_json(&session["Credentials"]).file(&dir, "bob-session")
    };
    assert!(who(&bob_session).status.success());
    server.aws_json(
        &root,
        &[
            "iam",
            "create-role",
            "--role-name",
            "bobs",
            "--assume-role-policy-document",
            &trust_naming(&user_arn("bob")),
        ],
    );
    let policy = repository_policy_naming(&[&user_arn("bob")]);
    server.aws_json(&root, &["ecr", "set-repository-policy", "--repository-name", "shared", "--policy-text", &policy]);
    let assume = |file: &std::path::Path, role: &str| {
        server.aws(file, &["sts", "assume-role", "--role-arn", &role_arn(role), "--role-session-name", "probe"])
    };
    assert!(assume(&bob_file, "bobs").status.success(), "bob is trusted");
    server.aws_json(&bob_file, &["ecr", "list-images", "--repository-name", "shared"]);

    delete_user("bob", &bob);
    cli_fails(&server, &bob_session, &["sts", "get-caller-identity"], "InvalidClientTokenId");
    // The policies name the principal that is gone by its unique id now, as AWS shows them.
    let trust =
        server.aws_json(&root, &["iam", "get-role", "--role-name", "bobs"])["Role"]["AssumeRolePolicyDocument"].clone();
    assert_eq!(trust["Statement"]["Principal"]["AWS"], bob_id.as_str(), "{trust}");
    let shown = server.aws_json(&root, &["ecr", "get-repository-policy", "--repository-name", "shared"]);
    let shown: Value = serde_json::from_str(shown["policyText"].as_str().unwrap()).unwrap();
    assert_eq!(shown["Statement"][0]["Principal"]["AWS"], json!([bob_id]), "{shown}");

    let (bob2_file, bob2, bob2_id) = new_user("bob");
    // Nor its tags (aws:PrincipalTag) or boundary.
    let tags = server.aws_json(&root, &["iam", "list-user-tags", "--user-name", "bob"]);
    assert_eq!(tags["Tags"], json!([]), "{tags}");
    let user = server.aws_json(&root, &["iam", "get-user", "--user-name", "bob"]);
    assert!(user["User"].get("PermissionsBoundary").is_none(), "{user}");
    assert_ne!(bob_id, bob2_id);
    cli_fails(&server, &bob_session, &["sts", "get-caller-identity"], "InvalidClientTokenId");
    cli_fails(
        &server,
        &bob2_file,
        &["sts", "assume-role", "--role-arn", &role_arn("bobs"), "--role-session-name", "probe"],
        "AccessDenied",
    );
    cli_fails(&server, &bob2_file, &["ecr", "list-images", "--repository-name", "shared"], "AccessDeniedException");
    // Naming the new bob again binds the new one.
    server.aws_json(
        &root,
        &[
            "iam",
            "update-assume-role-policy",
            "--role-name",
            "bobs",
            "--policy-document",
            &trust_naming(&user_arn("bob")),
        ],
    );
    assert!(assume(&bob2_file, "bobs").status.success(), "the new bob, named anew, is trusted");
    delete_user("bob", &bob2);

    // A role: a trust policy and a repository policy naming it.
    let (admin_file, _, _) = new_user("admin");
    server.aws_json(
        &root,
        &["iam", "put-user-policy", "--user-name", "admin", "--policy-name", "all", "--policy-document", ALLOW_ALL],
    );
    let trust_account = trust_naming(&format!("arn:aws:iam::{account}:root"));
    let make_worker = |file: &str| {
        server.aws_json(
            &root,
            &["iam", "create-role", "--role-name", "worker", "--assume-role-policy-document", &trust_account],
        );
        let session = server.aws_json(
            &admin_file,
            &["sts", "assume-role", "--role-arn", &role_arn("worker"), "--role-session-name", "worker"],
        );
        Creds::from_json(&session["Credentials"]).file(&dir, file)
    };
    let first_worker = make_worker("first-worker");
    let worker = first_worker.clone();
    let worker_id = server.aws_json(&root, &["iam", "get-role", "--role-name", "worker"])["Role"]["RoleId"]
        .as_str()
        .unwrap()
        .to_owned();
    server.aws_json(
        &root,
        &[
            "iam",
            "create-role",
            "--role-name",
            "workers",
            "--assume-role-policy-document",
            &trust_naming(&role_arn("worker")),
        ],
    );
    let policy = repository_policy_naming(&[&role_arn("worker")]);
    server.aws_json(&root, &["ecr", "set-repository-policy", "--repository-name", "shared", "--policy-text", &policy]);
    assert!(assume(&worker, "workers").status.success(), "the worker role is trusted");
    server.aws_json(&worker, &["ecr", "list-images", "--repository-name", "shared"]);
    // A role in an instance profile cannot be deleted (the profile would name its namesake).
    server.aws_json(&root, &["iam", "create-instance-profile", "--instance-profile-name", "workers"]);
    let profile = ["--instance-profile-name", "workers", "--role-name", "worker"];
    server.aws_json(&root, &[&["iam", "add-role-to-instance-profile"][..], &profile].concat());
    cli_fails(&server, &root, &["iam", "delete-role", "--role-name", "worker"], "DeleteConflict");
    server.aws_json(&root, &[&["iam", "remove-role-from-instance-profile"][..], &profile].concat());
    server.aws_json(&root, &["iam", "delete-role", "--role-name", "worker"]);
    let worker = make_worker("second-worker");
    // The first role's session ended with it, and is not the namesake's.
    cli_fails(&server, &first_worker, &["sts", "get-caller-identity"], "InvalidClientTokenId");
    cli_fails(
        &server,
        &worker,
        &["sts", "assume-role", "--role-arn", &role_arn("workers"), "--role-session-name", "probe"],
        "AccessDenied",
    );
    cli_fails(&server, &worker, &["ecr", "list-images", "--repository-name", "shared"], "AccessDeniedException");
    let trust =
        server.aws_json(&root, &["iam", "get-role", "--role-name", "workers"])["Role"]["AssumeRolePolicyDocument"]
            .clone();
    assert_eq!(trust["Statement"]["Principal"]["AWS"], worker_id.as_str(), "{trust}");

    // A renamed user stays the principal, under its new name.
    let (carol_file, _, _) = new_user("carol");
    server.aws_json(
        &root,
        &[
            "iam",
            "create-role",
            "--role-name",
            "carols",
            "--assume-role-policy-document",
            &trust_naming(&user_arn("carol")),
        ],
    );
    server.aws_json(&root, &["iam", "update-user", "--user-name", "carol", "--new-user-name", "carla"]);
    let trust =
        server.aws_json(&root, &["iam", "get-role", "--role-name", "carols"])["Role"]["AssumeRolePolicyDocument"]
            .clone();
    assert_eq!(trust["Statement"]["Principal"]["AWS"], user_arn("carla").as_str(), "{trust}");
    assert!(assume(&carol_file, "carols").status.success(), "carla, once carol, is still trusted");
    let (new_carol_file, _, _) = new_user("carol");
    let refused = ["sts", "assume-role", "--role-arn", &role_arn("carols"), "--role-session-name", "probe"];
    cli_fails(&server, &new_carol_file, &refused, "AccessDenied");

    // A principal that does not exist cannot be named (it would trust its future namesake).
    let ghost = trust_naming(&user_arn("ghost"));
    let refused = cli_fails(
        &server,
        &root,
        &["iam", "create-role", "--role-name", "ghosts", "--assume-role-policy-document", &ghost],
        "MalformedPolicyDocument",
    );
    assert!(refused.contains("Invalid principal in policy"), "{refused}");
    let policy = repository_policy_naming(&[&role_arn("ghost")]);
    cli_fails(
        &server,
        &root,
        &["ecr", "set-repository-policy", "--repository-name", "shared", "--policy-text", &policy],
        "InvalidParameterException",
    );

    // A group: it cannot be deleted while it has members or policies, so a namesake group
    // starts empty; a user with a key cannot be deleted, so a namesake has none of its keys.
    let (_, dave, _) = new_user("dave");
    server.aws_json(&root, &["iam", "create-group", "--group-name", "ops"]);
    server.aws_json(
        &root,
        &["iam", "put-group-policy", "--group-name", "ops", "--policy-name", "all", "--policy-document", ALLOW_ALL],
    );
    server.aws_json(&root, &["iam", "add-user-to-group", "--group-name", "ops", "--user-name", "dave"]);
    cli_fails(&server, &root, &["iam", "delete-group", "--group-name", "ops"], "DeleteConflict");
    cli_fails(&server, &root, &["iam", "delete-user", "--user-name", "dave"], "DeleteConflict");
    server.aws_json(&root, &["iam", "remove-user-from-group", "--group-name", "ops", "--user-name", "dave"]);
    server.aws_json(&root, &["iam", "delete-group-policy", "--group-name", "ops", "--policy-name", "all"]);
    server.aws_json(&root, &["iam", "delete-group", "--group-name", "ops"]);
    server.aws_json(&root, &["iam", "create-group", "--group-name", "ops"]);
    let groups = server.aws_json(&root, &["iam", "list-groups-for-user", "--user-name", "dave"]);
    assert_eq!(groups["Groups"], json!([]), "{groups}");
    let policies = server.aws_json(&root, &["iam", "list-group-policies", "--group-name", "ops"]);
    assert_eq!(policies["PolicyNames"], json!([]), "{policies}");
    delete_user("dave", &dave);
    let (_, _, _) = new_user("dave");
    let keys = server.aws_json(&root, &["iam", "list-access-keys", "--user-name", "dave"]);
    assert_eq!(keys["AccessKeyMetadata"].as_array().unwrap().len(), 1, "only its own new key: {keys}");
    assert!(!keys.to_string().contains(&dave.id), "{keys}");

    server.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
