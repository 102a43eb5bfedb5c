//! The server's fast test tier: one test program, one in-process server (`support`) shared
//! by every module, each module a table of cases for one service and family (run them alone
//! with `cargo test -p server --test fast iam_users::`). One program rather than one per file:
//! the tier links once, which is most of its cost.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test program: its helpers fail loudly on any surprise, as its tests do, and say what did not run"
)]

mod support;

mod access_analyzer;
mod access_analyzer_generation;
mod access_analyzer_unused;
mod authentication;
mod cloudtrail;
mod ecr_images;
mod ecr_lifecycle;
mod ecr_registry;
mod ecr_repositories;
mod ecs_account_settings;
mod ecs_capacity_providers;
mod ecs_clusters;
mod ecs_daemons;
mod ecs_refusals;
mod ecs_service_deployments;
mod ecs_services;
mod ecs_tags;
mod ecs_task_definitions;
mod ecs_task_secrets;
mod ecs_tasks;
mod every_operation;
mod iam_access_advisor;
mod iam_account;
mod iam_boundaries;
mod iam_catalogue;
mod iam_credentials;
mod iam_groups;
mod iam_mfa;
mod iam_oidc_providers;
mod iam_paging;
mod iam_policies;
mod iam_replicas;
mod iam_roles;
mod iam_saml_providers;
mod iam_simulator;
mod iam_users;
mod logs_account_policies;
mod logs_deliveries;
mod logs_destinations;
mod logs_groups;
mod logs_insights;
mod logs_legacy_events;
mod logs_live_tail;
mod logs_lookup_tables;
mod logs_scheduled_queries;
mod regions;
mod secrets_manager;
mod server_restart;
mod ssm_activations;
mod ssm_instances;
mod ssm_parameters;
mod sts;
mod sts_federation;
mod sts_saml;
mod sts_web_identity;
mod tags_conditions;
mod validation;
