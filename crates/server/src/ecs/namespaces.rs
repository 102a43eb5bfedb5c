//! ListServicesByNamespace: the services of a Cloud Map namespace (Service Connect). Homeport
//! has no Cloud Map and refuses Service Connect (`ecs::unsupported`), so no namespace exists
//! and every one named is ECS's `NamespaceNotFoundException`. Authorized on `*`, as on AWS.

use aws_protocol::AwsError;
use serde_json::Value as Json;

use crate::ecs;
use crate::operations::{Ctx, account_wide, json as json_op, operation};

operation!(ecs, LIST_SERVICES_BY_NAMESPACE, "ListServicesByNamespace", Read, account_wide, |ctx| json_op(
    list_services_by_namespace(ctx)
));

async fn list_services_by_namespace(ctx: &Ctx<'_>) -> Result<Json, AwsError> {
    let namespace = ecs::required(ctx.body, "namespace")?;
    ecs::max_results(ctx.body, 100, 10)?;
    Err(AwsError::new("NamespaceNotFoundException", 400, format!("The namespace {namespace} was not found.")))
}
