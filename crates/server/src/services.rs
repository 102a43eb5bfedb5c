//! The root: every service Homeport routes, wired into the infrastructure. This module and
//! `lib.rs` are the only ones above the services; only the binary and the tests import them. It
//! holds the services' descriptions, the one table of routed operations, the endpoints
//! services own outside the signed APIs, what each service opens at start, and the
//! background passes.

use std::sync::Arc;

use crate::app::App;
use crate::errors::StartError;
use crate::http::Routes;
use crate::operations::{Operation, Service};
use crate::pipeline::Api;
use crate::{access_analyzer, cloudtrail, ecr, ecs, iam, logs, secretsmanager, ssm, sts};

/// Every service the server routes.
pub static SERVICES: &[Service] = &[
    iam::SERVICE,
    sts::SERVICE,
    ssm::SERVICE,
    ecs::SERVICE,
    ecr::SERVICE,
    logs::SERVICE,
    cloudtrail::SERVICE,
    access_analyzer::SERVICE,
    secretsmanager::SERVICE,
];

/// Every operation the server routes.
pub static OPERATIONS: &[Operation] = &[
    sts::GET_CALLER_IDENTITY,
    sts::GET_SESSION_TOKEN,
    sts::ASSUME_ROLE,
    sts::federation::GET_FEDERATION_TOKEN,
    sts::tokens::GET_ACCESS_KEY_INFO,
    sts::tokens::DECODE_AUTHORIZATION_MESSAGE,
    sts::tokens::ASSUME_ROOT,
    sts::tokens::GET_DELEGATED_ACCESS_TOKEN,
    sts::tokens::GET_WEB_IDENTITY_TOKEN,
    iam::users::CREATE_USER,
    iam::users::GET_USER,
    iam::users::LIST_USERS,
    iam::users::DELETE_USER,
    iam::users::UPDATE_USER,
    iam::access_keys::CREATE_ACCESS_KEY,
    iam::access_keys::LIST_ACCESS_KEYS,
    iam::access_keys::DELETE_ACCESS_KEY,
    iam::access_keys::UPDATE_ACCESS_KEY,
    iam::access_keys::GET_ACCESS_KEY_LAST_USED,
    iam::mfa_devices::CREATE_VIRTUAL_MFA_DEVICE,
    iam::mfa_devices::ENABLE_MFA_DEVICE,
    iam::mfa_devices::RESYNC_MFA_DEVICE,
    iam::mfa_devices::DEACTIVATE_MFA_DEVICE,
    iam::mfa_devices::DELETE_VIRTUAL_MFA_DEVICE,
    iam::mfa_devices::LIST_MFA_DEVICES,
    iam::mfa_devices::LIST_VIRTUAL_MFA_DEVICES,
    iam::mfa_devices::GET_MFA_DEVICE,
    iam::login_profiles::CREATE_LOGIN_PROFILE,
    iam::login_profiles::GET_LOGIN_PROFILE,
    iam::login_profiles::UPDATE_LOGIN_PROFILE,
    iam::login_profiles::DELETE_LOGIN_PROFILE,
    iam::login_profiles::CHANGE_PASSWORD,
    iam::password_policy::GET_ACCOUNT_PASSWORD_POLICY,
    iam::password_policy::UPDATE_ACCOUNT_PASSWORD_POLICY,
    iam::password_policy::DELETE_ACCOUNT_PASSWORD_POLICY,
    iam::ssh_public_keys::UPLOAD_SSH_PUBLIC_KEY,
    iam::ssh_public_keys::GET_SSH_PUBLIC_KEY,
    iam::ssh_public_keys::LIST_SSH_PUBLIC_KEYS,
    iam::ssh_public_keys::UPDATE_SSH_PUBLIC_KEY,
    iam::ssh_public_keys::DELETE_SSH_PUBLIC_KEY,
    iam::service_credentials::CREATE_SERVICE_SPECIFIC_CREDENTIAL,
    iam::service_credentials::LIST_SERVICE_SPECIFIC_CREDENTIALS,
    iam::service_credentials::RESET_SERVICE_SPECIFIC_CREDENTIAL,
    iam::service_credentials::UPDATE_SERVICE_SPECIFIC_CREDENTIAL,
    iam::service_credentials::DELETE_SERVICE_SPECIFIC_CREDENTIAL,
    iam::signing_certificates::UPLOAD_SIGNING_CERTIFICATE,
    iam::signing_certificates::LIST_SIGNING_CERTIFICATES,
    iam::signing_certificates::UPDATE_SIGNING_CERTIFICATE,
    iam::signing_certificates::DELETE_SIGNING_CERTIFICATE,
    iam::server_certificates::UPLOAD_SERVER_CERTIFICATE,
    iam::server_certificates::GET_SERVER_CERTIFICATE,
    iam::server_certificates::LIST_SERVER_CERTIFICATES,
    iam::server_certificates::UPDATE_SERVER_CERTIFICATE,
    iam::server_certificates::DELETE_SERVER_CERTIFICATE,
    iam::tags::TAG_SERVER_CERTIFICATE,
    iam::tags::UNTAG_SERVER_CERTIFICATE,
    iam::tags::LIST_SERVER_CERTIFICATE_TAGS,
    iam::credential_report::GENERATE_CREDENTIAL_REPORT,
    iam::credential_report::GET_CREDENTIAL_REPORT,
    iam::simulator::SIMULATE_CUSTOM_POLICY,
    iam::simulator::GET_CONTEXT_KEYS_FOR_CUSTOM_POLICY,
    iam::principal_simulator::SIMULATE_PRINCIPAL_POLICY,
    iam::principal_simulator::GET_CONTEXT_KEYS_FOR_PRINCIPAL_POLICY,
    iam::account::GET_ACCOUNT_SUMMARY,
    iam::account::GET_ACCOUNT_AUTHORIZATION_DETAILS,
    iam::account_aliases::CREATE_ACCOUNT_ALIAS,
    iam::account_aliases::DELETE_ACCOUNT_ALIAS,
    iam::account_aliases::LIST_ACCOUNT_ALIASES,
    iam::account_aliases::SET_SECURITY_TOKEN_SERVICE_PREFERENCES,
    iam::organizations::LIST_ORGANIZATIONS_FEATURES,
    iam::organizations::ENABLE_ORGANIZATIONS_ROOT_CREDENTIALS_MANAGEMENT,
    iam::organizations::DISABLE_ORGANIZATIONS_ROOT_CREDENTIALS_MANAGEMENT,
    iam::organizations::ENABLE_ORGANIZATIONS_ROOT_SESSIONS,
    iam::organizations::DISABLE_ORGANIZATIONS_ROOT_SESSIONS,
    iam::organizations::GENERATE_ORGANIZATIONS_ACCESS_REPORT,
    iam::organizations::GET_ORGANIZATIONS_ACCESS_REPORT,
    iam::delegation_requests::LIST_DELEGATION_REQUESTS,
    iam::delegation_requests::GET_DELEGATION_REQUEST,
    iam::delegation_requests::ACCEPT_DELEGATION_REQUEST,
    iam::delegation_requests::ASSOCIATE_DELEGATION_REQUEST,
    iam::delegation_requests::REJECT_DELEGATION_REQUEST,
    iam::delegation_requests::UPDATE_DELEGATION_REQUEST,
    iam::delegation_requests::SEND_DELEGATION_TOKEN,
    iam::delegation_requests::CREATE_DELEGATION_REQUEST,
    iam::delegation_requests::GET_HUMAN_READABLE_SUMMARY,
    iam::outbound_federation::GET_OUTBOUND_WEB_IDENTITY_FEDERATION_INFO,
    iam::outbound_federation::DISABLE_OUTBOUND_WEB_IDENTITY_FEDERATION,
    iam::inline_policies::PUT_USER_POLICY,
    iam::inline_policies::GET_USER_POLICY,
    iam::inline_policies::LIST_USER_POLICIES,
    iam::inline_policies::DELETE_USER_POLICY,
    iam::groups::CREATE_GROUP,
    iam::groups::GET_GROUP,
    iam::groups::LIST_GROUPS,
    iam::groups::UPDATE_GROUP,
    iam::groups::DELETE_GROUP,
    iam::groups::ADD_USER_TO_GROUP,
    iam::groups::REMOVE_USER_FROM_GROUP,
    iam::groups::LIST_GROUPS_FOR_USER,
    iam::inline_policies::PUT_GROUP_POLICY,
    iam::inline_policies::GET_GROUP_POLICY,
    iam::inline_policies::LIST_GROUP_POLICIES,
    iam::inline_policies::DELETE_GROUP_POLICY,
    iam::attachments::ATTACH_USER_POLICY,
    iam::attachments::DETACH_USER_POLICY,
    iam::attachments::LIST_ATTACHED_USER_POLICIES,
    iam::attachments::ATTACH_GROUP_POLICY,
    iam::attachments::DETACH_GROUP_POLICY,
    iam::attachments::LIST_ATTACHED_GROUP_POLICIES,
    iam::attachments::ATTACH_ROLE_POLICY,
    iam::attachments::DETACH_ROLE_POLICY,
    iam::attachments::LIST_ATTACHED_ROLE_POLICIES,
    iam::roles::CREATE_ROLE,
    iam::roles::GET_ROLE,
    iam::roles::LIST_ROLES,
    iam::roles::UPDATE_ROLE,
    iam::roles::UPDATE_ROLE_DESCRIPTION,
    iam::roles::UPDATE_ASSUME_ROLE_POLICY,
    iam::roles::DELETE_ROLE,
    iam::service_linked_roles::CREATE_SERVICE_LINKED_ROLE,
    iam::service_linked_roles::DELETE_SERVICE_LINKED_ROLE,
    iam::service_linked_roles::GET_SERVICE_LINKED_ROLE_DELETION_STATUS,
    iam::inline_policies::PUT_ROLE_POLICY,
    iam::inline_policies::GET_ROLE_POLICY,
    iam::inline_policies::LIST_ROLE_POLICIES,
    iam::inline_policies::DELETE_ROLE_POLICY,
    iam::boundaries::PUT_USER_PERMISSIONS_BOUNDARY,
    iam::boundaries::DELETE_USER_PERMISSIONS_BOUNDARY,
    iam::boundaries::PUT_ROLE_PERMISSIONS_BOUNDARY,
    iam::boundaries::DELETE_ROLE_PERMISSIONS_BOUNDARY,
    iam::tags::TAG_USER,
    iam::tags::UNTAG_USER,
    iam::tags::LIST_USER_TAGS,
    iam::tags::TAG_ROLE,
    iam::tags::UNTAG_ROLE,
    iam::tags::LIST_ROLE_TAGS,
    iam::tags::TAG_POLICY,
    iam::tags::UNTAG_POLICY,
    iam::tags::LIST_POLICY_TAGS,
    iam::tags::TAG_INSTANCE_PROFILE,
    iam::tags::UNTAG_INSTANCE_PROFILE,
    iam::tags::LIST_INSTANCE_PROFILE_TAGS,
    iam::tags::TAG_MFA_DEVICE,
    iam::tags::UNTAG_MFA_DEVICE,
    iam::tags::LIST_MFA_DEVICE_TAGS,
    iam::oidc_providers::CREATE_OPEN_ID_CONNECT_PROVIDER,
    iam::oidc_providers::GET_OPEN_ID_CONNECT_PROVIDER,
    iam::oidc_providers::LIST_OPEN_ID_CONNECT_PROVIDERS,
    iam::oidc_providers::DELETE_OPEN_ID_CONNECT_PROVIDER,
    iam::oidc_providers::ADD_CLIENT_ID_TO_OPEN_ID_CONNECT_PROVIDER,
    iam::oidc_providers::REMOVE_CLIENT_ID_FROM_OPEN_ID_CONNECT_PROVIDER,
    iam::oidc_providers::UPDATE_OPEN_ID_CONNECT_PROVIDER_THUMBPRINT,
    iam::tags::TAG_OPEN_ID_CONNECT_PROVIDER,
    iam::tags::UNTAG_OPEN_ID_CONNECT_PROVIDER,
    iam::tags::LIST_OPEN_ID_CONNECT_PROVIDER_TAGS,
    iam::saml_providers::CREATE_SAML_PROVIDER,
    iam::saml_providers::GET_SAML_PROVIDER,
    iam::saml_providers::LIST_SAML_PROVIDERS,
    iam::saml_providers::UPDATE_SAML_PROVIDER,
    iam::saml_providers::DELETE_SAML_PROVIDER,
    iam::tags::TAG_SAML_PROVIDER,
    iam::tags::UNTAG_SAML_PROVIDER,
    iam::tags::LIST_SAML_PROVIDER_TAGS,
    iam::policies::CREATE_POLICY,
    iam::policies::GET_POLICY,
    iam::policies::DELETE_POLICY,
    iam::policies::LIST_POLICIES,
    iam::policies::CREATE_POLICY_VERSION,
    iam::policies::GET_POLICY_VERSION,
    iam::policies::LIST_POLICY_VERSIONS,
    iam::policies::DELETE_POLICY_VERSION,
    iam::policies::SET_DEFAULT_POLICY_VERSION,
    iam::policies::LIST_ENTITIES_FOR_POLICY,
    iam::instance_profiles::CREATE_INSTANCE_PROFILE,
    iam::instance_profiles::GET_INSTANCE_PROFILE,
    iam::instance_profiles::LIST_INSTANCE_PROFILES,
    iam::instance_profiles::DELETE_INSTANCE_PROFILE,
    iam::instance_profiles::ADD_ROLE_TO_INSTANCE_PROFILE,
    iam::instance_profiles::REMOVE_ROLE_FROM_INSTANCE_PROFILE,
    iam::instance_profiles::LIST_INSTANCE_PROFILES_FOR_ROLE,
    iam::access_advisor::GENERATE_SERVICE_LAST_ACCESSED_DETAILS,
    iam::access_advisor::GET_SERVICE_LAST_ACCESSED_DETAILS,
    iam::access_advisor::GET_SERVICE_LAST_ACCESSED_DETAILS_WITH_ENTITIES,
    iam::access_advisor::LIST_POLICIES_GRANTING_SERVICE_ACCESS,
    cloudtrail::LOOKUP_EVENTS,
    ssm::activations::CREATE_ACTIVATION,
    ssm::activations::DESCRIBE_ACTIVATIONS,
    ssm::activations::DELETE_ACTIVATION,
    ssm::instances::DESCRIBE_INSTANCE_INFORMATION,
    ssm::instances::DEREGISTER_MANAGED_INSTANCE,
    ssm::instances::UPDATE_INSTANCE_INFORMATION,
    ssm::instances::ADD_TAGS_TO_RESOURCE,
    ssm::instances::REMOVE_TAGS_FROM_RESOURCE,
    ssm::instances::LIST_TAGS_FOR_RESOURCE,
    ssm::parameters::PUT_PARAMETER,
    ssm::parameters::GET_PARAMETER,
    ssm::parameters::GET_PARAMETERS,
    ssm::parameters::GET_PARAMETERS_BY_PATH,
    ssm::parameters::DELETE_PARAMETER,
    ssm::parameters::DELETE_PARAMETERS,
    ssm::parameter_history::GET_PARAMETER_HISTORY,
    ssm::parameter_history::LABEL_PARAMETER_VERSION,
    ssm::parameter_history::UNLABEL_PARAMETER_VERSION,
    ssm::parameter_history::DESCRIBE_PARAMETERS,
    secretsmanager::secrets::CREATE_SECRET,
    secretsmanager::secrets::DESCRIBE_SECRET,
    secretsmanager::secrets::LIST_SECRETS,
    secretsmanager::secrets::UPDATE_SECRET,
    secretsmanager::secrets::DELETE_SECRET,
    secretsmanager::secrets::RESTORE_SECRET,
    secretsmanager::values::GET_SECRET_VALUE,
    secretsmanager::values::PUT_SECRET_VALUE,
    secretsmanager::values::UPDATE_SECRET_VERSION_STAGE,
    secretsmanager::values::LIST_SECRET_VERSION_IDS,
    secretsmanager::values::BATCH_GET_SECRET_VALUE,
    secretsmanager::policies::GET_RESOURCE_POLICY,
    secretsmanager::policies::PUT_RESOURCE_POLICY,
    secretsmanager::policies::DELETE_RESOURCE_POLICY,
    secretsmanager::tags::TAG_RESOURCE,
    secretsmanager::tags::UNTAG_RESOURCE,
    ecs::clusters::CREATE_CLUSTER,
    ecs::clusters::DESCRIBE_CLUSTERS,
    ecs::clusters::LIST_CLUSTERS,
    ecs::clusters::DELETE_CLUSTER,
    ecs::clusters::UPDATE_CLUSTER,
    ecs::clusters::UPDATE_CLUSTER_SETTINGS,
    ecs::capacity_providers::DESCRIBE_CAPACITY_PROVIDERS,
    ecs::capacity_providers::CREATE_CAPACITY_PROVIDER,
    ecs::capacity_providers::UPDATE_CAPACITY_PROVIDER,
    ecs::capacity_providers::DELETE_CAPACITY_PROVIDER,
    ecs::capacity_providers::PUT_CLUSTER_CAPACITY_PROVIDERS,
    ecs::task_definitions::REGISTER_TASK_DEFINITION,
    ecs::task_definitions::DESCRIBE_TASK_DEFINITION,
    ecs::task_definitions::LIST_TASK_DEFINITIONS,
    ecs::task_definitions::LIST_TASK_DEFINITION_FAMILIES,
    ecs::task_definitions::DEREGISTER_TASK_DEFINITION,
    ecs::task_definitions::DELETE_TASK_DEFINITIONS,
    ecs::container_instances::REGISTER_CONTAINER_INSTANCE,
    ecs::container_instances::DEREGISTER_CONTAINER_INSTANCE,
    ecs::container_instances::DESCRIBE_CONTAINER_INSTANCES,
    ecs::container_instances::LIST_CONTAINER_INSTANCES,
    ecs::container_instances::UPDATE_CONTAINER_INSTANCES_STATE,
    ecs::container_instances::PUT_ATTRIBUTES,
    ecs::container_instances::DELETE_ATTRIBUTES,
    ecs::container_instances::LIST_ATTRIBUTES,
    ecs::tasks::RUN_TASK,
    ecs::tasks::START_TASK,
    ecs::tasks::STOP_TASK,
    ecs::tasks::DESCRIBE_TASKS,
    ecs::tasks::LIST_TASKS,
    ecs::tasks::SUBMIT_TASK_STATE_CHANGE,
    ecs::tasks::SUBMIT_CONTAINER_STATE_CHANGE,
    ecs::tasks::POLL,
    ecs::agent_calls::DISCOVER_POLL_ENDPOINT,
    ecs::agent_calls::SUBMIT_ATTACHMENT_STATE_CHANGES,
    ecs::agent_calls::UPDATE_CONTAINER_AGENT,
    ecs::exec::EXECUTE_COMMAND,
    ecs::task_sets::CREATE_TASK_SET,
    ecs::task_sets::DESCRIBE_TASK_SETS,
    ecs::task_sets::UPDATE_TASK_SET,
    ecs::task_sets::DELETE_TASK_SET,
    ecs::task_sets::UPDATE_SERVICE_PRIMARY_TASK_SET,
    ecs::task_protection::UPDATE_TASK_PROTECTION,
    ecs::task_protection::GET_TASK_PROTECTION,
    ecs::task_credentials::GET_TASK_CREDENTIALS,
    ecs::services::CREATE_SERVICE,
    ecs::services::UPDATE_SERVICE,
    ecs::services::DELETE_SERVICE,
    ecs::services::DESCRIBE_SERVICES,
    ecs::services::LIST_SERVICES,
    ecs::service_deployments::LIST_SERVICE_DEPLOYMENTS,
    ecs::service_deployments::DESCRIBE_SERVICE_DEPLOYMENTS,
    ecs::service_deployments::DESCRIBE_SERVICE_REVISIONS,
    ecs::service_deployments::STOP_SERVICE_DEPLOYMENT,
    ecs::service_deployments::CONTINUE_SERVICE_DEPLOYMENT,
    ecs::namespaces::LIST_SERVICES_BY_NAMESPACE,
    ecs::tagging::TAG_RESOURCE,
    ecs::tagging::UNTAG_RESOURCE,
    ecs::tagging::LIST_TAGS_FOR_RESOURCE,
    ecs::account_settings::PUT_ACCOUNT_SETTING,
    ecs::account_settings::PUT_ACCOUNT_SETTING_DEFAULT,
    ecs::account_settings::DELETE_ACCOUNT_SETTING,
    ecs::account_settings::LIST_ACCOUNT_SETTINGS,
    logs::groups::CREATE_LOG_GROUP,
    logs::groups::DELETE_LOG_GROUP,
    logs::groups::DESCRIBE_LOG_GROUPS,
    logs::groups::CREATE_LOG_STREAM,
    logs::groups::DELETE_LOG_STREAM,
    logs::groups::DESCRIBE_LOG_STREAMS,
    logs::groups::PUT_RETENTION_POLICY,
    logs::groups::DELETE_RETENTION_POLICY,
    logs::filters::PUT_METRIC_FILTER,
    logs::filters::DESCRIBE_METRIC_FILTERS,
    logs::filters::DELETE_METRIC_FILTER,
    logs::filters::TEST_METRIC_FILTER,
    logs::filters::PUT_SUBSCRIPTION_FILTER,
    logs::filters::DESCRIBE_SUBSCRIPTION_FILTERS,
    logs::filters::DELETE_SUBSCRIPTION_FILTER,
    logs::filters::PUT_RESOURCE_POLICY,
    logs::filters::DESCRIBE_RESOURCE_POLICIES,
    logs::filters::DELETE_RESOURCE_POLICY,
    logs::tags::TAG_LOG_GROUP,
    logs::tags::UNTAG_LOG_GROUP,
    logs::tags::LIST_TAGS_LOG_GROUP,
    logs::tags::TAG_RESOURCE,
    logs::tags::UNTAG_RESOURCE,
    logs::tags::LIST_TAGS_FOR_RESOURCE,
    logs::events::PUT_LOG_EVENTS,
    logs::events::GET_LOG_EVENTS,
    logs::events::FILTER_LOG_EVENTS,
    logs::queries::START_QUERY,
    logs::queries::GET_QUERY_RESULTS,
    logs::queries::STOP_QUERY,
    logs::queries::DESCRIBE_QUERIES,
    logs::queries::GET_LOG_RECORD,
    logs::query_definitions::PUT_QUERY_DEFINITION,
    logs::query_definitions::DESCRIBE_QUERY_DEFINITIONS,
    logs::query_definitions::DELETE_QUERY_DEFINITION,
    logs::destinations::PUT_DESTINATION,
    logs::destinations::DESCRIBE_DESTINATIONS,
    logs::destinations::DELETE_DESTINATION,
    logs::destinations::PUT_DESTINATION_POLICY,
    logs::kms::ASSOCIATE_KMS_KEY,
    logs::kms::DISASSOCIATE_KMS_KEY,
    logs::list_groups::LIST_LOG_GROUPS,
    logs::group_fields::GET_LOG_GROUP_FIELDS,
    logs::field_indexes::DESCRIBE_FIELD_INDEXES,
    logs::field_indexes::DESCRIBE_INDEX_POLICIES,
    logs::account_policies::PUT_ACCOUNT_POLICY,
    logs::account_policies::DESCRIBE_ACCOUNT_POLICIES,
    logs::account_policies::DELETE_ACCOUNT_POLICY,
    logs::protection::PUT_LOG_GROUP_DELETION_PROTECTION,
    logs::deliveries::PUT_DELIVERY_DESTINATION,
    logs::deliveries::GET_DELIVERY_DESTINATION,
    logs::deliveries::DESCRIBE_DELIVERY_DESTINATIONS,
    logs::deliveries::DELETE_DELIVERY_DESTINATION,
    logs::deliveries::PUT_DELIVERY_DESTINATION_POLICY,
    logs::deliveries::GET_DELIVERY_DESTINATION_POLICY,
    logs::deliveries::DELETE_DELIVERY_DESTINATION_POLICY,
    logs::delivery_sources::PUT_DELIVERY_SOURCE,
    logs::delivery_sources::GET_DELIVERY_SOURCE,
    logs::delivery_sources::DESCRIBE_DELIVERY_SOURCES,
    logs::delivery_sources::DELETE_DELIVERY_SOURCE,
    logs::delivery_sources::CREATE_DELIVERY,
    logs::delivery_sources::GET_DELIVERY,
    logs::delivery_sources::DESCRIBE_DELIVERIES,
    logs::delivery_sources::DELETE_DELIVERY,
    logs::delivery_sources::UPDATE_DELIVERY_CONFIGURATION,
    logs::delivery_sources::DESCRIBE_CONFIGURATION_TEMPLATES,
    logs::scheduled_queries::CREATE_SCHEDULED_QUERY,
    logs::scheduled_queries::GET_SCHEDULED_QUERY,
    logs::scheduled_queries::LIST_SCHEDULED_QUERIES,
    logs::scheduled_queries::UPDATE_SCHEDULED_QUERY,
    logs::scheduled_queries::DELETE_SCHEDULED_QUERY,
    logs::scheduled_queries::GET_SCHEDULED_QUERY_HISTORY,
    logs::lookup_tables::CREATE_LOOKUP_TABLE,
    logs::lookup_tables::GET_LOOKUP_TABLE,
    logs::lookup_tables::DESCRIBE_LOOKUP_TABLES,
    logs::lookup_tables::UPDATE_LOOKUP_TABLE,
    logs::lookup_tables::DELETE_LOOKUP_TABLE,
    ecr::repositories::CREATE_REPOSITORY,
    ecr::repositories::DESCRIBE_REPOSITORIES,
    ecr::repositories::DELETE_REPOSITORY,
    ecr::repositories::PUT_IMAGE_TAG_MUTABILITY,
    ecr::auth::GET_AUTHORIZATION_TOKEN,
    ecr::policies::SET_REPOSITORY_POLICY,
    ecr::policies::GET_REPOSITORY_POLICY,
    ecr::policies::DELETE_REPOSITORY_POLICY,
    ecr::images::PUT_IMAGE,
    ecr::images::BATCH_GET_IMAGE,
    ecr::images::LIST_IMAGES,
    ecr::images::DESCRIBE_IMAGES,
    ecr::images::BATCH_DELETE_IMAGE,
    ecr::layers::GET_DOWNLOAD_URL_FOR_LAYER,
    ecr::layers::BATCH_CHECK_LAYER_AVAILABILITY,
    ecr::layers::INITIATE_LAYER_UPLOAD,
    ecr::layers::UPLOAD_LAYER_PART,
    ecr::layers::COMPLETE_LAYER_UPLOAD,
    ecr::lifecycle::PUT_LIFECYCLE_POLICY,
    ecr::lifecycle::GET_LIFECYCLE_POLICY,
    ecr::lifecycle::DELETE_LIFECYCLE_POLICY,
    ecr::lifecycle::START_LIFECYCLE_POLICY_PREVIEW,
    ecr::lifecycle::GET_LIFECYCLE_POLICY_PREVIEW,
    ecr::tags::TAG_RESOURCE,
    ecr::tags::UNTAG_RESOURCE,
    ecr::tags::LIST_TAGS_FOR_RESOURCE,
    ecr::account::DESCRIBE_REGISTRY,
    ecr::account::PUT_REGISTRY_POLICY,
    ecr::account::GET_REGISTRY_POLICY,
    ecr::account::DELETE_REGISTRY_POLICY,
    ecr::account::PUT_REPLICATION_CONFIGURATION,
    ecr::account::PUT_REGISTRY_SCANNING_CONFIGURATION,
    ecr::account::GET_REGISTRY_SCANNING_CONFIGURATION,
    ecr::account::GET_ACCOUNT_SETTING,
    ecr::account::PUT_ACCOUNT_SETTING,
    ecr::account::REGISTER_PULL_TIME_UPDATE_EXCLUSION,
    ecr::account::DEREGISTER_PULL_TIME_UPDATE_EXCLUSION,
    ecr::account::LIST_PULL_TIME_UPDATE_EXCLUSIONS,
    ecr::scanning::PUT_IMAGE_SCANNING_CONFIGURATION,
    ecr::scanning::BATCH_GET_REPOSITORY_SCANNING_CONFIGURATION,
    ecr::scanning::START_IMAGE_SCAN,
    ecr::scanning::DESCRIBE_IMAGE_SCAN_FINDINGS,
    ecr::image_status::DESCRIBE_IMAGE_REPLICATION_STATUS,
    ecr::image_status::DESCRIBE_IMAGE_SIGNING_STATUS,
    ecr::image_status::LIST_IMAGE_REFERRERS,
    ecr::image_status::UPDATE_IMAGE_STORAGE_CLASS,
    ecr::unavailable::CREATE_PULL_THROUGH_CACHE_RULE,
    ecr::unavailable::DESCRIBE_PULL_THROUGH_CACHE_RULES,
    ecr::unavailable::UPDATE_PULL_THROUGH_CACHE_RULE,
    ecr::unavailable::DELETE_PULL_THROUGH_CACHE_RULE,
    ecr::unavailable::VALIDATE_PULL_THROUGH_CACHE_RULE,
    ecr::unavailable::CREATE_REPOSITORY_CREATION_TEMPLATE,
    ecr::unavailable::DESCRIBE_REPOSITORY_CREATION_TEMPLATES,
    ecr::unavailable::UPDATE_REPOSITORY_CREATION_TEMPLATE,
    ecr::unavailable::DELETE_REPOSITORY_CREATION_TEMPLATE,
    ecr::unavailable::PUT_SIGNING_CONFIGURATION,
    ecr::unavailable::GET_SIGNING_CONFIGURATION,
    ecr::unavailable::DELETE_SIGNING_CONFIGURATION,
    access_analyzer::validation::VALIDATE_POLICY,
    access_analyzer::checks::CHECK_NO_NEW_ACCESS,
    access_analyzer::checks::CHECK_ACCESS_NOT_GRANTED,
    access_analyzer::policy_generation::START_POLICY_GENERATION,
    access_analyzer::policy_generation::GET_GENERATED_POLICY,
    access_analyzer::policy_generation::LIST_POLICY_GENERATIONS,
    access_analyzer::policy_generation::CANCEL_POLICY_GENERATION,
    access_analyzer::analyzers::CREATE_ANALYZER,
    access_analyzer::analyzers::GET_ANALYZER,
    access_analyzer::analyzers::LIST_ANALYZERS,
    access_analyzer::analyzers::UPDATE_ANALYZER,
    access_analyzer::analyzers::DELETE_ANALYZER,
    access_analyzer::findings::LIST_FINDINGS_V2,
    access_analyzer::findings::GET_FINDING_V2,
    access_analyzer::findings::GET_FINDINGS_STATISTICS,
    access_analyzer::findings::UPDATE_FINDINGS,
];

/// What the listener routes: the signed APIs, and the endpoints services own beside them.
pub static ROUTES: Routes = Routes {
    api: Api {
        services: SERVICES,
        operations: OPERATIONS,
        fallback: &iam::SERVICE,
        unsigned: &[
            ssm::downloads::PUBLIC_FILES,
            ssm::instance_protocol::ROUTE,
            sts::web_identity::ROUTE,
            sts::saml::ROUTE,
        ],
    },
    endpoints: &[ecr::registry::ENDPOINT, ssm::downloads::BINARY],
};

/// Opens what services keep for the life of the server, before it takes a request.
pub async fn start(app: &mut App, data_dir: &std::path::Path) -> Result<(), StartError> {
    app.service_state.provide(ecs::channel::Channels::default());
    // AssumeRoleWithWebIdentity's cache of OpenID Connect issuers' keys.
    app.service_state.provide(sts::web_identity::Issuers::default());
    // Access advisor tracks every action the server routes.
    app.service_state.provide(iam::model::service_access::Tracked::new(OPERATIONS.iter().map(|op| op.action)));
    // ECR's lifecycle clock (a test hook may set it ahead, `ecr::lifecycle::CLOCK_OFFSET_FILE`).
    app.service_state.provide(ecr::lifecycle::LifecycleClock::new(data_dir));
    // The clock CloudWatch Logs' scheduled queries fire by (a test hook may set it ahead).
    app.service_state.provide(logs::scheduled_queries::ScheduleClock::new(data_dir));
    // CloudWatch Logs events stored one row each before migration 31, moved into batches.
    logs::convert_legacy_events(app).await?;
    ecr::registry::blobs::start(app, data_dir).await
}

/// The background passes: the ECS service scheduler and CloudWatch Logs' scheduled queries
/// every second; log retention, access
/// advisor's forgetting of use and reports past their time, policy generations past theirs,
/// and the statuses of unused access findings that no longer hold, every minute; ECR's
/// lifecycle policies every minute and when one is put or the lifecycle clock moves.
pub async fn background(app: Arc<App>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for pass in 0_u64.. {
        tick.tick().await;
        if let Err(error) = ecs::services::reconcile_all(&app).await {
            tracing::error!("service scheduler: {error}");
        }
        if let Err(error) = ecr::lifecycle::expire_when_due(&app, pass).await {
            tracing::error!("ECR lifecycle policies: {error}");
        }
        if let Err(error) = logs::scheduled_queries::run_due(&app).await {
            tracing::error!("scheduled queries: {error}");
        }
        if pass % 60 == 0 {
            if let Err(error) = logs::expire(&app).await {
                tracing::error!("log retention: {error}");
            }
            if let Err(error) = iam::access_advisor::expire(&app).await {
                tracing::error!("access advisor expiry: {error}");
            }
            if let Err(error) = access_analyzer::policy_generation::expire(&app).await {
                tracing::error!("policy generation expiry: {error}");
            }
            if let Err(error) = access_analyzer::findings::forget_resolved(&app).await {
                tracing::error!("unused access findings: {error}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::internal;
    use crate::operations::{Authorization, Effect};

    #[test]
    fn every_routed_service_has_its_own_internal_error() {
        for operation in OPERATIONS {
            let service = SERVICES.iter().find(|service| service.name == operation.service);
            let error = service.map(|service| service.answer(internal("x")));
            let code = error.as_ref().map(|error| (error.code.as_str(), error.status));
            let modelled = !matches!(operation.service, "sts" | "cloudtrail");
            assert!(
                code.is_some_and(|(code, status)| status == 500 && (code != "InternalFailure") == modelled),
                "{}",
                operation.service
            );
        }
    }

    fn flushing() -> Vec<&'static str> {
        OPERATIONS.iter().filter(|operation| operation.flushes_iam_cache()).map(|operation| operation.name).collect()
    }

    #[test]
    fn only_writes_of_what_the_iam_cache_holds_flush_it() {
        let flushing = flushing();
        // Every IAM mutation does, and the one SSM call that removes sessions. Starting an
        // access advisor or credential report writes only the report, which the cache does not
        // hold; nor does it hold a user's credentials other than access keys (none of them
        // authenticates a request to Homeport), the password policy, server certificates, the
        // account's alias or STS preferences; and the operations of features the account lacks
        // (Organizations, partner delegation, outbound federation) write nothing at all.
        let writes_no_iam_entity = [
            "GenerateServiceLastAccessedDetails",
            "GenerateCredentialReport",
            "CreateLoginProfile",
            "UpdateLoginProfile",
            "DeleteLoginProfile",
            "ChangePassword",
            "UpdateAccountPasswordPolicy",
            "DeleteAccountPasswordPolicy",
            "UploadSSHPublicKey",
            "UpdateSSHPublicKey",
            "DeleteSSHPublicKey",
            "CreateServiceSpecificCredential",
            "ResetServiceSpecificCredential",
            "UpdateServiceSpecificCredential",
            "DeleteServiceSpecificCredential",
            "UploadSigningCertificate",
            "UpdateSigningCertificate",
            "DeleteSigningCertificate",
            "UploadServerCertificate",
            "UpdateServerCertificate",
            "DeleteServerCertificate",
            "TagServerCertificate",
            "UntagServerCertificate",
            "CreateAccountAlias",
            "DeleteAccountAlias",
            "SetSecurityTokenServicePreferences",
            "EnableOrganizationsRootCredentialsManagement",
            "DisableOrganizationsRootCredentialsManagement",
            "EnableOrganizationsRootSessions",
            "DisableOrganizationsRootSessions",
            "GenerateOrganizationsAccessReport",
            "AcceptDelegationRequest",
            "AssociateDelegationRequest",
            "RejectDelegationRequest",
            "UpdateDelegationRequest",
            "SendDelegationToken",
            "CreateDelegationRequest",
            "DisableOutboundWebIdentityFederation",
        ];
        for operation in OPERATIONS.iter().filter(|operation| operation.service == "iam") {
            let mutates_iam = operation.effect != Effect::Read && !writes_no_iam_entity.contains(&operation.name);
            assert_eq!(
                operation.flushes_iam_cache(),
                mutates_iam,
                "{} (a mutation of IAM flushes, a read does not)",
                operation.name
            );
        }
        for name in writes_no_iam_entity {
            let operation = OPERATIONS.iter().find(|operation| operation.name == name);
            assert_eq!(operation.map(|operation| operation.effect), Some(Effect::Write), "{name}");
        }
        for name in ["CreateUser", "DeleteAccessKey", "UpdateAccessKey", "AttachRolePolicy", "PutUserPolicy", "TagRole"]
        {
            assert!(flushing.contains(&name), "{name} must flush");
        }
        assert!(flushing.contains(&"DeregisterManagedInstance"), "deregistering deletes the instance's sessions");
        let outside_iam: Vec<_> = OPERATIONS
            .iter()
            .filter(|operation| operation.service != "iam" && operation.flushes_iam_cache())
            .map(|operation| operation.name)
            .collect();
        assert_eq!(outside_iam, ["DeregisterManagedInstance"]);
    }

    #[test]
    fn the_agents_traffic_and_logs_leave_the_iam_cache_alone() {
        let agent = [
            "Poll",
            "SubmitTaskStateChange",
            "SubmitContainerStateChange",
            "GetTaskCredentials",
            "RegisterContainerInstance",
            "UpdateInstanceInformation",
            "PutLogEvents",
        ];
        for name in agent {
            let operation = OPERATIONS.iter().find(|operation| operation.name == name);
            assert_eq!(operation.map(|operation| operation.effect), Some(Effect::AgentTraffic), "{name}");
            assert!(!flushing().contains(&name), "{name} must not flush");
        }
        // Every call only an instance's own session may make is the agent's.
        for operation in OPERATIONS.iter().filter(|operation| operation.authorization == Authorization::Instance) {
            assert_eq!(operation.effect, Effect::AgentTraffic, "{}", operation.name);
        }
        let logs: Vec<_> = OPERATIONS.iter().filter(|operation| operation.service == "logs").collect();
        assert!(logs.len() >= 11);
        for operation in logs {
            assert!(!operation.flushes_iam_cache(), "{}", operation.name);
        }
        for name in ["Poll", "PutLogEvents", "CreateCluster", "RunTask", "PutImage", "CreateLogGroup", "AssumeRole"] {
            assert!(!flushing().contains(&name), "{name} must not flush");
        }
    }

    /// The trail's `readOnly` stays CloudTrail's, by event name; the declarations agree with it
    /// but for six reads whose names the rule does not know as reads, which stay writes in
    /// the trail (as they always were there).
    #[test]
    fn declared_reads_and_cloudtrails_read_only_events_agree() {
        let reads_named_otherwise = [
            "FilterLogEvents",
            "BatchGetImage",
            "BatchCheckLayerAvailability",
            "DecodeAuthorizationMessage",
            "BatchGetRepositoryScanningConfiguration",
            "TestMetricFilter",
            "BatchGetSecretValue",
        ];
        for operation in OPERATIONS {
            let read_only = crate::audit::read_only_event(operation.name);
            match operation.effect {
                Effect::Read => assert!(
                    read_only || reads_named_otherwise.contains(&operation.name),
                    "{} is declared a read",
                    operation.name
                ),
                Effect::Write | Effect::IamWrite => assert!(!read_only, "{} is declared a write", operation.name),
                // GetTaskCredentials is CloudTrail-read-only, Poll is not: either may be.
                Effect::AgentTraffic => {}
            }
        }
        for name in reads_named_otherwise {
            let operation = OPERATIONS.iter().find(|operation| operation.name == name);
            assert_eq!(operation.map(|operation| operation.effect), Some(Effect::Read), "{name}");
        }
    }

    /// Only reads that hand out nothing are answered without their audit record.
    #[test]
    fn credentials_are_never_handed_out_unrecorded() {
        for name in [
            "GetSessionToken",
            "GetAuthorizationToken",
            "GetTaskCredentials",
            "AssumeRole",
            "Poll",
            "GetSecretValue",
            "BatchGetSecretValue",
            "GetParameters",
        ] {
            let operation = OPERATIONS.iter().find(|operation| operation.name == name);
            assert_eq!(operation.map(Operation::changes_nothing), Some(false), "{name}");
        }
        for name in ["GetUser", "ListRoles", "DescribeTasks", "LookupEvents", "SimulatePrincipalPolicy", "ListSecrets"]
        {
            let operation = OPERATIONS.iter().find(|operation| operation.name == name);
            assert_eq!(operation.map(Operation::changes_nothing), Some(true), "{name}");
        }
    }
}
