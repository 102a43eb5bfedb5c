//! Homeport's end-to-end tests, one test program: the real `homeport` binary driven by the
//! aws CLI, boto3, Ansible, Docker and agents (each module is one family; `common` is what
//! they share).
//!
//! One program rather than one per file: the workspace links it once instead of thirty
//! times, and its tests run side by side (the harness's threads, one per core by default),
//! so a test that waits on Docker or a deployment no longer holds up the others. Each test
//! owns what it touches: its own server, data directory, cluster names and ports (names carry
//! the family and the process id, so no two tests share one).
//!
//! Run one family: `cargo test -p homeport --test e2e readme_walk::`.

mod common;

mod access_analyzer_api;
mod agent_e2e;
mod ansible_ecs;
mod ansible_iam;
mod authz_names;
mod bounds_e2e;
mod ecr_e2e;
mod ecr_lifecycle_e2e;
mod ecs_deployments_e2e;
mod ecs_e2e;
mod ecs_host_e2e;
mod ecs_tags_e2e;
mod ecs_workloads_e2e;
mod exec_role_e2e;
mod iam_roles_e2e;
mod logs_e2e;
mod logs_insights_e2e;
mod logs_live_tail_e2e;
mod logs_scheduled_queries_e2e;
mod logs_tail_e2e;
mod packaging;
mod policy_cli;
mod quotas_e2e;
mod readme_walk;
mod saml_e2e;
mod secrets_e2e;
mod server_e2e;
mod server_start_e2e;
mod session_kinds;
mod simulator_api;
mod ssm_e2e;
mod tls_e2e;
mod web_identity_e2e;
mod wire_shapes;
