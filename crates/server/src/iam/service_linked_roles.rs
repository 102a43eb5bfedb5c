//! Service-linked roles: CreateServiceLinkedRole, DeleteServiceLinkedRole,
//! GetServiceLinkedRoleDeletionStatus, for the services an ECS Anywhere account uses.
//!
//! Guarantees:
//! - A service-linked role has AWS's name, path (`/aws-service-role/SERVICE/`), trust policy
//!   (the service may assume it) and AWS managed policy, attached in the transaction that
//!   creates it; nobody but the service may change it ([`super::entities::modifiable`]).
//! - A deletion runs at once: the task it returns has finished, SUCCEEDED with the role and
//!   its attachments gone, or FAILED with the reason. No Homeport service depends on these
//!   roles, so none holds one back; only an inline policy or an instance profile could.

use aws_model::iam::{CreateServiceLinkedRoleRequest, GetServiceLinkedRoleDeletionStatusRequest};
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use super::entities::{Entity, Kind, existing};
use super::model::roles as role_model;
use super::model::service_linked_roles as model;
use super::roles::{MAX_SESSION_DURATION, Role, with_detail, write_role};
use crate::ids;
use crate::operations::operation;
use crate::operations::{Ctx, internal, query};

/// A service a role can be linked to, as AWS names its role and what it attaches.
struct LinkedService {
    service: &'static str,
    role: &'static str,
    /// The AWS managed policy the role has, under `/aws-service-role/`.
    policy: &'static str,
    description: Option<&'static str>,
    /// Whether AWS lets a caller add `_SUFFIX` to the role's name (CustomSuffix).
    custom_suffix: bool,
}

const LINKED_SERVICES: &[LinkedService] = &[
    LinkedService {
        service: "ecs.amazonaws.com",
        role: "AWSServiceRoleForECS",
        policy: "AmazonECSServiceRolePolicy",
        description: Some("Role to enable Amazon ECS to manage your cluster."),
        custom_suffix: false,
    },
    LinkedService {
        service: "ecs.application-autoscaling.amazonaws.com",
        role: "AWSServiceRoleForApplicationAutoScaling_ECSService",
        policy: "AWSApplicationAutoscalingECSServicePolicy",
        description: None,
        custom_suffix: false,
    },
    LinkedService {
        service: "autoscaling.amazonaws.com",
        role: "AWSServiceRoleForAutoScaling",
        policy: "AutoScalingServiceRolePolicy",
        description: Some(
            "Default Service-Linked Role enables access to AWS Services and Resources used or managed by Auto Scaling",
        ),
        custom_suffix: true,
    },
    LinkedService {
        service: "elasticloadbalancing.amazonaws.com",
        role: "AWSServiceRoleForElasticLoadBalancing",
        policy: "AWSElasticLoadBalancingServiceRolePolicy",
        description: Some("Allows ELB to call AWS services on your behalf."),
        custom_suffix: false,
    },
    LinkedService {
        service: "ssm.amazonaws.com",
        role: "AWSServiceRoleForAmazonSSM",
        policy: "AmazonSSMServiceRolePolicy",
        description: Some("Provides access to AWS Resources managed or used by Amazon SSM."),
        custom_suffix: false,
    },
    LinkedService {
        service: "replication.ecr.amazonaws.com",
        role: "AWSServiceRoleForECRReplication",
        policy: "ECRReplicationServiceRolePolicy",
        description: None,
        custom_suffix: false,
    },
    LinkedService {
        service: "access-analyzer.amazonaws.com",
        role: "AWSServiceRoleForAccessAnalyzer",
        policy: "AccessAnalyzerServiceRolePolicy",
        description: None,
        custom_suffix: false,
    },
    LinkedService {
        service: "cloudtrail.amazonaws.com",
        role: "AWSServiceRoleForCloudTrail",
        policy: "CloudTrailServiceRolePolicy",
        description: None,
        custom_suffix: false,
    },
];

operation!(
    iam,
    CREATE_SERVICE_LINKED_ROLE,
    "CreateServiceLinkedRole",
    IamWrite,
    |ctx| Box::pin(create_resource(ctx)),
    |ctx| query(create_service_linked_role(ctx))
);
operation!(
    iam,
    DELETE_SERVICE_LINKED_ROLE,
    "DeleteServiceLinkedRole",
    IamWrite,
    |ctx| Box::pin(super::entities::resource(ctx, Kind::Role)),
    |ctx| query(delete_service_linked_role(ctx))
);
operation!(
    iam,
    GET_SERVICE_LINKED_ROLE_DELETION_STATUS,
    "GetServiceLinkedRoleDeletionStatus",
    Read,
    |ctx| Box::pin(deletion_status_resource(ctx)),
    |ctx| query(get_service_linked_role_deletion_status(ctx))
);

fn linked_service(name: &str) -> Option<&'static LinkedService> {
    LINKED_SERVICES.iter().find(|linked| linked.service == name)
}

/// The role's name: AWS's, with `_SUFFIX` where the service allows one.
fn role_name(linked: &LinkedService, custom_suffix: Option<&str>) -> Result<String, AwsError> {
    match custom_suffix {
        None => Ok(linked.role.to_owned()),
        Some(suffix) if linked.custom_suffix => Ok(format!("{}_{suffix}", linked.role)),
        Some(_) => {
            Err(AwsError::new("InvalidInput", 400, format!("Custom suffix is not allowed for {}", linked.service)))
        }
    }
}

async fn create_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let CreateServiceLinkedRoleRequest { aws_service_name: service, custom_suffix, .. } = ctx.input();
    let name = match linked_service(service) {
        Some(linked) => role_name(linked, custom_suffix)?,
        None => "*".to_owned(),
    };
    Ok(vec![format!("arn:aws:iam::{}:role/aws-service-role/{service}/{name}", ctx.account())])
}

async fn create_service_linked_role(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let CreateServiceLinkedRoleRequest { aws_service_name: service, description, custom_suffix } = ctx.input();
    let linked = linked_service(service)
        .ok_or_else(|| AwsError::new("InvalidInput", 400, format!("Invalid service name: {service}")))?;
    let role_name = role_name(linked, custom_suffix)?;
    let description = description.or(linked.description).map(str::to_owned);
    let trust_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let entity = Entity {
        kind: Kind::Role,
        name: role_name.clone(),
        id: ids::unique_id("AROA").map_err(internal)?,
        path: format!("/aws-service-role/{service}/"),
        created_at: ids::now(),
    };
    let max_session_duration = *MAX_SESSION_DURATION.start();
    let columns = role_model::columns(description.clone(), max_session_duration, &trust_policy, None);
    let policy_arn = format!("arn:aws:iam::aws:policy/aws-service-role/{}", linked.policy);
    let attach = super::model::attachments::attach_to_new(ctx.account(), Kind::Role, &entity.key(), &policy_arn);
    if !super::model::entities::create(&ctx.app.store, ctx.account(), &entity, columns, vec![attach]).await? {
        return Err(AwsError::new(
            "InvalidInput",
            400,
            format!("Service role name {role_name} has been taken in this account, please try a different suffix."),
        ));
    }
    let role = Role { entity, description, max_session_duration, trust_policy, last_used: None };
    let detail = with_detail(ctx, role).await?;
    let mut xml = ctx.response();
    write_role(&mut xml, &detail, ctx.account());
    Ok(xml)
}

async fn delete_service_linked_role(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let role = existing(ctx, Kind::Role).await?;
    let Some(service) = role.path.strip_prefix("/aws-service-role/").and_then(|rest| rest.strip_suffix('/')) else {
        return Err(AwsError::new("InvalidInput", 400, format!("Role {} is not a service-linked role.", role.name)));
    };
    let task_id = format!("task/aws-service-role/{service}/{}/{}", role.name, ids::uuid().map_err(internal)?);
    let held = "The service-linked role still has an inline policy or is in an instance profile.";
    model::delete(&ctx.app.store, ctx.account(), &role.key(), &task_id, held, ids::now()).await?;
    let mut xml = ctx.response();
    xml.element("DeletionTaskId", &task_id);
    Ok(xml)
}

/// A deletion task is authorized on the role it deleted, which its id names.
async fn deletion_status_resource(ctx: &Ctx<'_>) -> Result<Vec<String>, AwsError> {
    let GetServiceLinkedRoleDeletionStatusRequest { deletion_task_id: task_id } = ctx.input();
    let role = task_id
        .strip_prefix("task/")
        .and_then(|rest| rest.rsplit_once('/'))
        .map_or("*".to_owned(), |(role_path, _)| format!("role/{role_path}"));
    Ok(vec![format!("arn:aws:iam::{}:{role}", ctx.account())])
}

async fn get_service_linked_role_deletion_status(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let GetServiceLinkedRoleDeletionStatusRequest { deletion_task_id: task_id } = ctx.input();
    let Some(deletion) = model::find(&ctx.app.store, ctx.account(), task_id).await? else {
        return Err(AwsError::new("NoSuchEntity", 404, format!("Deletion task {task_id} does not exist.")));
    };
    let mut xml = ctx.response();
    xml.element("Status", &deletion.status);
    if let Some(reason) = &deletion.reason {
        xml.nest("Reason", |xml| {
            xml.element("Reason", reason);
        });
    }
    Ok(xml)
}
