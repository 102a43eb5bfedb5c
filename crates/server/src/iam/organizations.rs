//! The IAM operations that need AWS Organizations, answered as AWS answers them for an account
//! that belongs to no organization (Homeport runs none): ListOrganizationsFeatures,
//! Enable/DisableOrganizationsRootCredentialsManagement, Enable/DisableOrganizationsRootSessions,
//! GenerateOrganizationsAccessReport and GetOrganizationsAccessReport.
//!
//! Guarantees: each is authorized like any other operation first (a caller without the
//! permission is refused with AccessDenied, as on AWS), then refused with
//! `OrganizationNotFoundException`; no report job can exist, so reading one is NoSuchEntity.

use aws_model::iam::GetOrganizationsAccessReportRequest;
use aws_protocol::AwsError;
use aws_protocol::query::XmlResponse;

use crate::operations::operation;
use crate::operations::{Ctx, account_wide, query};

/// What every operation tied to Organizations answers here.
fn no_organization() -> AwsError {
    AwsError::new(
        "OrganizationNotFoundException",
        400,
        "The request was rejected because no organization is associated with your account.",
    )
}

async fn refused(_ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    Err(no_organization())
}

operation!(iam, LIST_ORGANIZATIONS_FEATURES, "ListOrganizationsFeatures", Read, account_wide, |ctx| query(refused(
    ctx
)));
operation!(
    iam,
    ENABLE_ORGANIZATIONS_ROOT_CREDENTIALS_MANAGEMENT,
    "EnableOrganizationsRootCredentialsManagement",
    Write,
    account_wide,
    |ctx| query(refused(ctx))
);
operation!(
    iam,
    DISABLE_ORGANIZATIONS_ROOT_CREDENTIALS_MANAGEMENT,
    "DisableOrganizationsRootCredentialsManagement",
    Write,
    account_wide,
    |ctx| query(refused(ctx))
);
operation!(iam, ENABLE_ORGANIZATIONS_ROOT_SESSIONS, "EnableOrganizationsRootSessions", Write, account_wide, |ctx| {
    query(refused(ctx))
});
operation!(iam, DISABLE_ORGANIZATIONS_ROOT_SESSIONS, "DisableOrganizationsRootSessions", Write, account_wide, |ctx| {
    query(refused(ctx))
});
operation!(
    iam,
    GENERATE_ORGANIZATIONS_ACCESS_REPORT,
    "GenerateOrganizationsAccessReport",
    Write,
    account_wide,
    |ctx| { query(generate_organizations_access_report(ctx)) }
);
operation!(iam, GET_ORGANIZATIONS_ACCESS_REPORT, "GetOrganizationsAccessReport", Read, account_wide, |ctx| query(
    get_organizations_access_report(ctx)
));

/// The pipeline has checked `EntityPath` was sent.
async fn generate_organizations_access_report(_ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    Err(no_organization())
}

async fn get_organizations_access_report(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let GetOrganizationsAccessReportRequest { job_id, .. } = ctx.input();
    Err(AwsError::new("NoSuchEntity", 404, format!("No report exists for job ID {job_id}.")))
}
