//! The control plane's tables. Names are compared case-insensitively by IAM, so each named
//! entity keeps a lowercase `name_key` for uniqueness and lookups beside the name as given.

use store::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: "
        CREATE TABLE accounts (
            account_id TEXT PRIMARY KEY,
            created_at BIGINT NOT NULL
        );
        CREATE TABLE users (
            account_id TEXT NOT NULL,
            name_key TEXT NOT NULL,
            name TEXT NOT NULL,
            user_id TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, name_key)
        );
        CREATE TABLE access_keys (
            access_key_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            user_name_key TEXT,
            secret_sealed {blob} NOT NULL,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            last_used_at BIGINT,
            last_used_service TEXT,
            last_used_region TEXT
        );
        CREATE INDEX access_keys_by_user ON access_keys (account_id, user_name_key);
        CREATE TABLE sessions (
            access_key_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            user_name_key TEXT,
            secret_sealed {blob} NOT NULL,
            token_hash TEXT NOT NULL,
            issued_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
        );
        CREATE TABLE iam_groups (
            account_id TEXT NOT NULL,
            name_key TEXT NOT NULL,
            name TEXT NOT NULL,
            group_id TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, name_key)
        );
        CREATE TABLE group_members (
            account_id TEXT NOT NULL,
            group_key TEXT NOT NULL,
            user_key TEXT NOT NULL,
            PRIMARY KEY (account_id, group_key, user_key)
        );
        CREATE INDEX group_members_by_user ON group_members (account_id, user_key);
        CREATE TABLE inline_policies (
            account_id TEXT NOT NULL,
            owner_kind TEXT NOT NULL,
            owner_key TEXT NOT NULL,
            policy_name TEXT NOT NULL,
            document TEXT NOT NULL,
            PRIMARY KEY (account_id, owner_kind, owner_key, policy_name)
        );
        CREATE TABLE audit_events (
            seq {serial},
            event_time BIGINT NOT NULL,
            request_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            principal_arn TEXT,
            username TEXT,
            access_key_id TEXT,
            source_ip TEXT,
            user_agent TEXT,
            event_source TEXT NOT NULL,
            event_name TEXT NOT NULL,
            read_only BIGINT NOT NULL,
            resources TEXT NOT NULL,
            decision TEXT NOT NULL,
            statements TEXT NOT NULL,
            error_code TEXT
        );
        CREATE INDEX audit_events_by_time ON audit_events (account_id, event_time)
    ",
    },
    Migration {
        version: 2,
        sql: "
        CREATE TABLE policy_attachments (
            account_id TEXT NOT NULL,
            owner_kind TEXT NOT NULL,
            owner_key TEXT NOT NULL,
            policy_arn TEXT NOT NULL,
            PRIMARY KEY (account_id, owner_kind, owner_key, policy_arn)
        )
    ",
    },
    Migration {
        version: 3,
        sql: "
        CREATE TABLE roles (
            account_id TEXT NOT NULL,
            name_key TEXT NOT NULL,
            name TEXT NOT NULL,
            role_id TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            description TEXT,
            max_session_duration BIGINT NOT NULL,
            trust_policy TEXT NOT NULL,
            last_used_at BIGINT,
            last_used_region TEXT,
            PRIMARY KEY (account_id, name_key)
        );
        CREATE TABLE permissions_boundaries (
            account_id TEXT NOT NULL,
            owner_kind TEXT NOT NULL,
            owner_key TEXT NOT NULL,
            policy_arn TEXT NOT NULL,
            PRIMARY KEY (account_id, owner_kind, owner_key)
        );
        CREATE TABLE tags (
            account_id TEXT NOT NULL,
            resource_kind TEXT NOT NULL,
            resource_key TEXT NOT NULL,
            tag_key_lower TEXT NOT NULL,
            tag_key TEXT NOT NULL,
            tag_value TEXT NOT NULL,
            PRIMARY KEY (account_id, resource_kind, resource_key, tag_key_lower)
        );
        CREATE TABLE managed_policies (
            arn TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            name_key TEXT NOT NULL,
            name TEXT NOT NULL,
            policy_id TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            description TEXT,
            default_version TEXT NOT NULL,
            next_version BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            UNIQUE (account_id, name_key)
        );
        CREATE TABLE policy_versions (
            policy_arn TEXT NOT NULL,
            version_id TEXT NOT NULL,
            document TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (policy_arn, version_id)
        );
        CREATE INDEX policy_attachments_by_policy ON policy_attachments (policy_arn);
        CREATE TABLE instance_profiles (
            account_id TEXT NOT NULL,
            name_key TEXT NOT NULL,
            name TEXT NOT NULL,
            profile_id TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, name_key)
        );
        CREATE TABLE instance_profile_roles (
            account_id TEXT NOT NULL,
            profile_key TEXT NOT NULL,
            role_key TEXT NOT NULL,
            PRIMARY KEY (account_id, profile_key)
        );
        ALTER TABLE sessions ADD COLUMN role_key TEXT;
        ALTER TABLE sessions ADD COLUMN role_id TEXT;
        ALTER TABLE sessions ADD COLUMN session_name TEXT;
        ALTER TABLE sessions ADD COLUMN session_policy TEXT;
        ALTER TABLE sessions ADD COLUMN session_policy_arns TEXT;
        ALTER TABLE sessions ADD COLUMN session_tags TEXT
    ",
    },
    Migration {
        version: 4,
        sql: "
        CREATE TABLE activations (
            activation_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            code_hash TEXT NOT NULL,
            role_name TEXT NOT NULL,
            description TEXT,
            default_instance_name TEXT,
            registration_limit BIGINT NOT NULL,
            registrations_count BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            registration_metadata TEXT
        );
        CREATE TABLE managed_instances (
            instance_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            activation_id TEXT NOT NULL,
            role_name TEXT NOT NULL,
            public_key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            name TEXT,
            registered_at BIGINT NOT NULL,
            last_ping_at BIGINT,
            ip_address TEXT,
            computer_name TEXT,
            platform_name TEXT,
            platform_type TEXT,
            platform_version TEXT,
            agent_version TEXT
        );
        CREATE INDEX managed_instances_by_account ON managed_instances (account_id, registered_at);
        ALTER TABLE sessions ADD COLUMN instance_id TEXT;
        CREATE INDEX sessions_by_instance ON sessions (instance_id)
    ",
    },
    Migration {
        version: 5,
        sql: "
        CREATE TABLE ecs_clusters (
            arn TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            settings TEXT NOT NULL,
            created_at BIGINT NOT NULL
        );
        CREATE TABLE ecs_task_definitions (
            arn TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            family TEXT NOT NULL,
            revision BIGINT NOT NULL,
            status TEXT NOT NULL,
            body TEXT NOT NULL,
            registered_at BIGINT NOT NULL,
            deregistered_at BIGINT,
            UNIQUE (account_id, family, revision)
        );
        CREATE TABLE ecs_container_instances (
            arn TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            cluster_arn TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            status TEXT NOT NULL,
            status_reason TEXT,
            registered_resources TEXT NOT NULL,
            attributes TEXT NOT NULL,
            version_info TEXT NOT NULL,
            registered_at BIGINT NOT NULL,
            last_poll_at BIGINT,
            acked_seq BIGINT NOT NULL,
            reserved_cpu BIGINT NOT NULL DEFAULT 0,
            reserved_memory BIGINT NOT NULL DEFAULT 0,
            running_tasks BIGINT NOT NULL DEFAULT 0,
            pending_tasks BIGINT NOT NULL DEFAULT 0,
            spec_revision BIGINT NOT NULL DEFAULT 0
        );
        CREATE INDEX ecs_container_instances_by_cluster ON ecs_container_instances (cluster_arn, status);
        CREATE TABLE ecs_tasks (
            arn TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            cluster_arn TEXT NOT NULL,
            container_instance_arn TEXT,
            task_definition_arn TEXT NOT NULL,
            service_name TEXT,
            started_by TEXT,
            task_group TEXT,
            desired_status TEXT NOT NULL,
            last_status TEXT NOT NULL,
            body TEXT NOT NULL,
            payload TEXT NOT NULL,
            version BIGINT NOT NULL,
            reserved_cpu BIGINT NOT NULL,
            reserved_memory BIGINT NOT NULL,
            reserved_ports TEXT NOT NULL,
            client_token TEXT,
            created_at BIGINT NOT NULL,
            updated_seq BIGINT NOT NULL,
            stopped_at BIGINT
        );
        CREATE INDEX ecs_tasks_by_cluster ON ecs_tasks (cluster_arn, desired_status);
        CREATE INDEX ecs_tasks_by_instance ON ecs_tasks (container_instance_arn, updated_seq);
        CREATE INDEX ecs_tasks_by_group ON ecs_tasks (cluster_arn, task_group);
        CREATE INDEX ecs_tasks_with_ports ON ecs_tasks (cluster_arn) WHERE reserved_ports <> '[]' AND last_status <> 'STOPPED';
        CREATE TABLE ecs_services (
            arn TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            cluster_arn TEXT NOT NULL,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            UNIQUE (cluster_arn, name)
        );
        CREATE TABLE ecs_sequence (
            name TEXT PRIMARY KEY,
            value BIGINT NOT NULL
        );
        INSERT INTO ecs_sequence (name, value) VALUES ('tasks', 0)
    ",
    },
    Migration {
        version: 6,
        sql: "
        CREATE TABLE log_groups (
            account_id TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            retention_days BIGINT,
            PRIMARY KEY (account_id, name)
        );
        CREATE TABLE log_streams (
            account_id TEXT NOT NULL,
            group_name TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            first_event_at BIGINT,
            last_event_at BIGINT,
            last_ingestion_at BIGINT,
            stored_bytes BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (account_id, group_name, name)
        );
        CREATE TABLE log_events (
            seq {serial},
            account_id TEXT NOT NULL,
            group_name TEXT NOT NULL,
            stream_name TEXT NOT NULL,
            event_time BIGINT NOT NULL,
            ingestion_time BIGINT NOT NULL,
            message TEXT NOT NULL
        );
        CREATE INDEX log_events_by_stream ON log_events (account_id, group_name, stream_name, event_time, seq);
        CREATE INDEX log_events_by_group ON log_events (account_id, group_name, event_time, seq)
    ",
    },
    Migration {
        version: 7,
        // The audit trail as imported from each replica's journal (see `audit`): one row per
        // journal range, keyed by it so a range is never imported twice. `audit_events` keeps
        // only rows written before the journal existed, until the server converts them.
        sql: "
        CREATE TABLE audit_chunks (
            seq {serial},
            replica TEXT NOT NULL,
            segment BIGINT NOT NULL,
            start_offset BIGINT NOT NULL,
            end_offset BIGINT NOT NULL,
            first_time BIGINT NOT NULL,
            last_time BIGINT NOT NULL,
            events TEXT NOT NULL,
            UNIQUE (replica, segment, start_offset)
        );
        CREATE INDEX audit_chunks_by_time ON audit_chunks (last_time, first_time)
    ",
    },
    Migration {
        version: 8,
        sql: "
        CREATE TABLE ecr_repositories (
            account_id TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            tag_mutability TEXT NOT NULL,
            policy TEXT,
            PRIMARY KEY (account_id, name)
        );
        CREATE TABLE ecr_images (
            account_id TEXT NOT NULL,
            repository TEXT NOT NULL,
            digest TEXT NOT NULL,
            media_type TEXT NOT NULL,
            artifact_media_type TEXT,
            manifest {blob} NOT NULL,
            size BIGINT NOT NULL,
            pushed_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, repository, digest)
        );
        CREATE TABLE ecr_tags (
            account_id TEXT NOT NULL,
            repository TEXT NOT NULL,
            tag TEXT NOT NULL,
            digest TEXT NOT NULL,
            PRIMARY KEY (account_id, repository, tag)
        );
        CREATE INDEX ecr_tags_by_digest ON ecr_tags (account_id, repository, digest);
        CREATE TABLE ecr_layers (
            account_id TEXT NOT NULL,
            repository TEXT NOT NULL,
            digest TEXT NOT NULL,
            size BIGINT NOT NULL,
            PRIMARY KEY (account_id, repository, digest)
        );
        CREATE INDEX ecr_layers_by_digest ON ecr_layers (digest);
        CREATE TABLE ecr_uploads (
            upload_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            repository TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )
    ",
    },
    Migration {
        version: 9,
        // With the embedded store, a chunk's text stays in its journal segment, which is kept:
        // the row (`in_journal` 1, `events` empty) indexes it. See `audit`.
        sql: "ALTER TABLE audit_chunks ADD COLUMN in_journal BIGINT NOT NULL DEFAULT 0",
    },
    Migration {
        version: 10,
        // One row: a known text sealed with the master key this database was created with,
        // and that key's id, so a replica started with another key refuses to start
        // (`master_key`). A database created before it gets the row on its next start.
        sql: "CREATE TABLE master_key_check (
            id BIGINT PRIMARY KEY,
            key_id TEXT NOT NULL,
            sealed {blob} NOT NULL,
            created_at BIGINT NOT NULL
        )",
    },
    Migration {
        version: 11,
        // What a session was issued to (`kind`: root, user, role, instance, task), apart from
        // what revokes it (`instance_id`), and the unique id of the user it belongs to. Sessions
        // made before: an instance's own carry its id as their session name, a task's do not;
        // a user's binds to the user of its name only if that user existed when it was issued
        // (one made since is a namesake, whose sessions these are not).
        // Policy principals bound to unique ids: `{"ARN": "UNIQUE ID"}` per stored policy
        // (`crate::principals`), filled for policies stored before by the server at start.
        sql: "
        ALTER TABLE sessions ADD COLUMN kind TEXT;
        ALTER TABLE sessions ADD COLUMN user_id TEXT;
        UPDATE sessions SET kind = CASE
            WHEN role_key IS NOT NULL AND instance_id IS NOT NULL AND session_name = instance_id THEN 'instance'
            WHEN role_key IS NOT NULL AND instance_id IS NOT NULL THEN 'task'
            WHEN role_key IS NOT NULL THEN 'role'
            WHEN user_name_key IS NOT NULL THEN 'user'
            ELSE 'root' END;
        UPDATE sessions SET user_id = (SELECT u.user_id FROM users u WHERE u.account_id = sessions.account_id
                                         AND u.name_key = sessions.user_name_key AND u.created_at <= sessions.issued_at)
            WHERE kind = 'user';
        ALTER TABLE roles ADD COLUMN trust_principals TEXT;
        ALTER TABLE ecr_repositories ADD COLUMN policy_principals TEXT
    ",
    },
    Migration {
        version: 12,
        // ListTasks pages by key (`created_at`, `arn`) through the cluster's index, RunTask
        // finds the tasks of a client token and a service's description and pass the
        // service's tasks through their own, so none reads every task of the cluster.
        sql: "
        DROP INDEX ecs_tasks_by_cluster;
        CREATE INDEX ecs_tasks_by_cluster ON ecs_tasks (cluster_arn, desired_status, created_at, arn);
        CREATE INDEX ecs_tasks_by_client_token ON ecs_tasks (cluster_arn, client_token);
        CREATE INDEX ecs_tasks_by_service ON ecs_tasks (cluster_arn, service_name, desired_status, created_at, arn)
    ",
    },
    Migration {
        version: 13,
        // The profiles holding a role (ListInstanceProfilesForRole, a role's deletion) are
        // found by the role, and the entities a policy is attached to or bounds (GetPolicy's
        // counts, ListEntitiesForPolicy's pages, by key) by the policy, not by reading the
        // account's every row.
        sql: "
        CREATE INDEX instance_profile_roles_by_role ON instance_profile_roles (account_id, role_key);
        CREATE INDEX policy_attachments_by_policy_owner
            ON policy_attachments (account_id, policy_arn, owner_kind, owner_key);
        CREATE INDEX permissions_boundaries_by_policy
            ON permissions_boundaries (account_id, policy_arn, owner_kind, owner_key)
    ",
    },
    Migration {
        version: 14,
        // What each principal was authorized for, by the hour: the audit importer adds every
        // decision the engine made (the operation's action on each resource, and the checks an
        // operation makes while running, such as `iam:PassRole`) in the transaction that imports
        // its record. Access advisor and policy generation read this instead of the trail.
        // `principal_id` is the user's or role's unique id (the account id for root), so a
        // namesake created later inherits nothing; `passed_to` is `iam:PassedToService` for
        // `iam:PassRole` and empty otherwise; `region` the one the request was signed for.
        sql: "
        CREATE TABLE iam_usage (
            account_id TEXT NOT NULL,
            principal_id TEXT NOT NULL,
            hour BIGINT NOT NULL,
            action TEXT NOT NULL,
            resource TEXT NOT NULL,
            passed_to TEXT NOT NULL,
            region TEXT NOT NULL,
            allowed BIGINT NOT NULL,
            denied BIGINT NOT NULL,
            first_time BIGINT NOT NULL,
            last_time BIGINT NOT NULL,
            PRIMARY KEY (principal_id, hour, action, resource, passed_to, region)
        );
        CREATE INDEX iam_usage_by_hour ON iam_usage (hour)
    ",
    },
    Migration {
        version: 15,
        // Access advisor's reports (GenerateServiceLastAccessedDetails): computed when the job
        // starts and kept whole as JSON, so every page of every read answers from the same
        // report. `owner_id` is the starting principal's `aws:userid` (the account id for
        // root, the user's unique id, `ROLEID:SESSION` for a role session): only it reads the
        // job. Jobs older than a month are removed by the background pass.
        sql: "
        CREATE TABLE access_advisor_jobs (
            job_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            owner_id TEXT NOT NULL,
            arn TEXT NOT NULL,
            granularity TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            completed_at BIGINT NOT NULL,
            report TEXT NOT NULL
        );
        CREATE INDEX access_advisor_jobs_by_creation ON access_advisor_jobs (created_at)
    ",
    },
    Migration {
        version: 16,
        // Access Analyzer's policy generations: made whole when they start (from `iam_usage`),
        // their result kept as JSON. Listed newest first by account; a client token names one
        // job per account (NULLs are distinct on both backends); the daily quota counts an
        // account's jobs of the last day through the same index.
        sql: "
        CREATE TABLE policy_generations (
            job_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            client_token TEXT,
            principal_arn TEXT NOT NULL,
            status TEXT NOT NULL,
            started_on BIGINT NOT NULL,
            completed_on BIGINT,
            outcome TEXT NOT NULL
        );
        CREATE INDEX policy_generations_by_account ON policy_generations (account_id, started_on, job_id);
        CREATE UNIQUE INDEX policy_generations_by_token ON policy_generations (account_id, client_token)
    ",
    },
    Migration {
        version: 17,
        // Access Analyzer's analyzers (only `ACCOUNT_UNUSED_ACCESS` is created): one per
        // account and type, which the unique index enforces under concurrency; names are
        // case-sensitive, as AWS's. `configuration` and `tags` are kept as JSON. Findings are
        // computed when read; only the status a caller set on one (UpdateFindings) is stored,
        // by the analyzer's own id, and goes with the analyzer.
        sql: "
        CREATE TABLE access_analyzers (
            account_id TEXT NOT NULL,
            name TEXT NOT NULL,
            analyzer_id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            client_token TEXT,
            configuration TEXT NOT NULL,
            tags TEXT NOT NULL,
            PRIMARY KEY (account_id, name)
        );
        CREATE UNIQUE INDEX access_analyzers_by_type ON access_analyzers (account_id, type);
        CREATE TABLE access_analyzer_findings (
            analyzer_id TEXT NOT NULL,
            finding_id TEXT NOT NULL,
            status TEXT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (analyzer_id, finding_id)
        )
    ",
    },
    Migration {
        version: 18,
        // A user's other credentials (none of which authenticates a request to Homeport):
        // its console password (`login_profiles`: a PBKDF2 hash, and the hashes of earlier
        // ones for the reuse rule, as JSON), SSH public keys (as SSH's wire form, base64, and
        // their fingerprint), service-specific credentials (the password or API key only as a
        // hash), signing certificates (`user_key` NULL: the root user's) and the account's
        // password policy (JSON), server certificates (the private key sealed with the master
        // key) and its latest credential report. Rows hang off a user by its lowercase name,
        // as access keys do.
        sql: "
        CREATE TABLE login_profiles (
            account_id TEXT NOT NULL,
            user_key TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            history TEXT NOT NULL,
            reset_required BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            changed_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, user_key)
        );
        CREATE TABLE password_policies (
            account_id TEXT PRIMARY KEY,
            policy TEXT NOT NULL
        );
        CREATE TABLE ssh_public_keys (
            key_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            user_key TEXT NOT NULL,
            key_blob TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            status TEXT NOT NULL,
            uploaded_at BIGINT NOT NULL
        );
        CREATE INDEX ssh_public_keys_by_user ON ssh_public_keys (account_id, user_key);
        CREATE TABLE service_credentials (
            credential_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            user_key TEXT NOT NULL,
            service TEXT NOT NULL,
            service_user_name TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT
        );
        CREATE INDEX service_credentials_by_user ON service_credentials (account_id, user_key);
        CREATE TABLE signing_certificates (
            certificate_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            user_key TEXT,
            body TEXT NOT NULL,
            digest TEXT NOT NULL,
            status TEXT NOT NULL,
            uploaded_at BIGINT NOT NULL
        );
        CREATE INDEX signing_certificates_by_user ON signing_certificates (account_id, user_key);
        CREATE UNIQUE INDEX signing_certificates_by_digest ON signing_certificates (account_id, digest);
        CREATE TABLE server_certificates (
            account_id TEXT NOT NULL,
            name_key TEXT NOT NULL,
            name TEXT NOT NULL,
            certificate_id TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            body TEXT NOT NULL,
            chain TEXT,
            private_key_sealed {blob} NOT NULL,
            uploaded_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, name_key)
        );
        CREATE TABLE credential_reports (
            account_id TEXT PRIMARY KEY,
            generated_at BIGINT NOT NULL,
            content TEXT NOT NULL
        )
    ",
    },
    Migration {
        // Virtual MFA devices (their TOTP seed sealed, bound to the serial number; the last
        // time step accepted, so a code is never used twice; the drift Resync measured) and
        // when a session's MFA was authenticated.
        version: 19,
        sql: "
        CREATE TABLE mfa_devices (
            account_id TEXT NOT NULL,
            serial_key TEXT NOT NULL,
            serial_number TEXT NOT NULL,
            name TEXT NOT NULL,
            path TEXT NOT NULL,
            seed_sealed {blob} NOT NULL,
            created_at BIGINT NOT NULL,
            user_key TEXT,
            user_id TEXT,
            enabled_at BIGINT,
            last_step BIGINT NOT NULL,
            drift BIGINT NOT NULL,
            PRIMARY KEY (account_id, serial_key)
        );
        CREATE INDEX mfa_devices_by_user ON mfa_devices (account_id, user_key);
        ALTER TABLE sessions ADD COLUMN mfa_at BIGINT
    ",
    },
    Migration {
        version: 20,
        // IAM's OpenID Connect identity providers, by their ARN (`oidc-provider/HOST/PATH`,
        // case-sensitive as AWS's). `url` is kept as IAM answers it (without `https://`);
        // client ids and thumbprints are JSON lists in the order they were given, rewritten
        // whole under a compare-and-set on the old value. Their tags are in `tags`
        // (`resource_kind` `oidc-provider`, keyed by ARN). SAML providers likewise
        // (`saml-provider/NAME`), with their metadata document as given, its expiry and the
        // provider's UUID.
        sql: "
        CREATE TABLE oidc_providers (
            account_id TEXT NOT NULL,
            arn TEXT NOT NULL,
            url TEXT NOT NULL,
            client_ids TEXT NOT NULL,
            thumbprints TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, arn)
        );
        CREATE TABLE saml_providers (
            account_id TEXT NOT NULL,
            arn TEXT NOT NULL,
            provider_uuid TEXT NOT NULL,
            metadata TEXT NOT NULL,
            valid_until BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, arn)
        )
    ",
    },
    Migration {
        version: 21,
        // The account's alias (one per account, unique among accounts), its STS preferences,
        // and the deletion tasks of service-linked roles (DeleteServiceLinkedRole), kept so
        // GetServiceLinkedRoleDeletionStatus can answer; `reason` is the failure's JSON.
        sql: "
        CREATE TABLE account_aliases (
            account_id TEXT PRIMARY KEY,
            alias TEXT NOT NULL UNIQUE
        );
        CREATE TABLE sts_preferences (
            account_id TEXT PRIMARY KEY,
            global_endpoint_token_version BIGINT NOT NULL
        );
        CREATE TABLE service_linked_role_deletions (
            task_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT,
            created_at BIGINT NOT NULL
        )
    ",
    },
    Migration {
        version: 22,
        // Regions: the state of every regional service is its region's (the one a request is
        // signed for). Rows that existed before belong to the region the server served then,
        // `{home_region}` ([`migrate`]). Tables whose key named no region are rebuilt with it
        // in their key (a log group, repository, task definition family or analyzer of the
        // same name may exist in each region); the others gain the column and the indexes
        // their listings read through.
        sql: "
        CREATE TABLE log_groups_regional (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            retention_days BIGINT,
            PRIMARY KEY (account_id, region, name)
        );
        INSERT INTO log_groups_regional (account_id, region, name, created_at, retention_days)
            SELECT account_id, '{home_region}', name, created_at, retention_days FROM log_groups;
        DROP TABLE log_groups;
        ALTER TABLE log_groups_regional RENAME TO log_groups;
        CREATE TABLE log_streams_regional (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            group_name TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            first_event_at BIGINT,
            last_event_at BIGINT,
            last_ingestion_at BIGINT,
            stored_bytes BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (account_id, region, group_name, name)
        );
        INSERT INTO log_streams_regional (account_id, region, group_name, name, created_at, first_event_at,
                                          last_event_at, last_ingestion_at, stored_bytes)
            SELECT account_id, '{home_region}', group_name, name, created_at, first_event_at, last_event_at,
                   last_ingestion_at, stored_bytes FROM log_streams;
        DROP TABLE log_streams;
        ALTER TABLE log_streams_regional RENAME TO log_streams;
        ALTER TABLE log_events ADD COLUMN region TEXT NOT NULL DEFAULT '{home_region}';
        DROP INDEX log_events_by_stream;
        DROP INDEX log_events_by_group;
        CREATE INDEX log_events_by_stream ON log_events (account_id, region, group_name, stream_name, event_time, seq);
        CREATE INDEX log_events_by_group ON log_events (account_id, region, group_name, event_time, seq);
        CREATE TABLE ecr_repositories_regional (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            tag_mutability TEXT NOT NULL,
            policy TEXT,
            policy_principals TEXT,
            PRIMARY KEY (account_id, region, name)
        );
        INSERT INTO ecr_repositories_regional (account_id, region, name, created_at, tag_mutability, policy,
                                               policy_principals)
            SELECT account_id, '{home_region}', name, created_at, tag_mutability, policy, policy_principals
            FROM ecr_repositories;
        DROP TABLE ecr_repositories;
        ALTER TABLE ecr_repositories_regional RENAME TO ecr_repositories;
        CREATE TABLE ecr_images_regional (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            repository TEXT NOT NULL,
            digest TEXT NOT NULL,
            media_type TEXT NOT NULL,
            artifact_media_type TEXT,
            manifest {blob} NOT NULL,
            size BIGINT NOT NULL,
            pushed_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, repository, digest)
        );
        INSERT INTO ecr_images_regional (account_id, region, repository, digest, media_type, artifact_media_type,
                                         manifest, size, pushed_at)
            SELECT account_id, '{home_region}', repository, digest, media_type, artifact_media_type, manifest, size,
                   pushed_at FROM ecr_images;
        DROP TABLE ecr_images;
        ALTER TABLE ecr_images_regional RENAME TO ecr_images;
        CREATE TABLE ecr_tags_regional (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            repository TEXT NOT NULL,
            tag TEXT NOT NULL,
            digest TEXT NOT NULL,
            PRIMARY KEY (account_id, region, repository, tag)
        );
        INSERT INTO ecr_tags_regional (account_id, region, repository, tag, digest)
            SELECT account_id, '{home_region}', repository, tag, digest FROM ecr_tags;
        DROP TABLE ecr_tags;
        ALTER TABLE ecr_tags_regional RENAME TO ecr_tags;
        CREATE INDEX ecr_tags_by_digest ON ecr_tags (account_id, region, repository, digest);
        CREATE TABLE ecr_layers_regional (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            repository TEXT NOT NULL,
            digest TEXT NOT NULL,
            size BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, repository, digest)
        );
        INSERT INTO ecr_layers_regional (account_id, region, repository, digest, size)
            SELECT account_id, '{home_region}', repository, digest, size FROM ecr_layers;
        DROP TABLE ecr_layers;
        ALTER TABLE ecr_layers_regional RENAME TO ecr_layers;
        CREATE INDEX ecr_layers_by_digest ON ecr_layers (digest);
        ALTER TABLE ecr_uploads ADD COLUMN region TEXT NOT NULL DEFAULT '{home_region}';
        CREATE TABLE ecs_task_definitions_regional (
            arn TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            family TEXT NOT NULL,
            revision BIGINT NOT NULL,
            status TEXT NOT NULL,
            body TEXT NOT NULL,
            registered_at BIGINT NOT NULL,
            deregistered_at BIGINT,
            UNIQUE (account_id, region, family, revision)
        );
        INSERT INTO ecs_task_definitions_regional (arn, account_id, region, family, revision, status, body,
                                                   registered_at, deregistered_at)
            SELECT arn, account_id, '{home_region}', family, revision, status, body, registered_at, deregistered_at
            FROM ecs_task_definitions;
        DROP TABLE ecs_task_definitions;
        ALTER TABLE ecs_task_definitions_regional RENAME TO ecs_task_definitions;
        ALTER TABLE ecs_clusters ADD COLUMN region TEXT NOT NULL DEFAULT '{home_region}';
        CREATE INDEX ecs_clusters_by_region ON ecs_clusters (account_id, region, status, arn);
        ALTER TABLE activations ADD COLUMN region TEXT NOT NULL DEFAULT '{home_region}';
        ALTER TABLE managed_instances ADD COLUMN region TEXT NOT NULL DEFAULT '{home_region}';
        DROP INDEX managed_instances_by_account;
        CREATE INDEX managed_instances_by_account ON managed_instances (account_id, region, registered_at);
        CREATE TABLE access_analyzers_regional (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            analyzer_id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            client_token TEXT,
            configuration TEXT NOT NULL,
            tags TEXT NOT NULL,
            PRIMARY KEY (account_id, region, name)
        );
        INSERT INTO access_analyzers_regional (account_id, region, name, analyzer_id, type, created_at, client_token,
                                               configuration, tags)
            SELECT account_id, '{home_region}', name, analyzer_id, type, created_at, client_token, configuration, tags
            FROM access_analyzers;
        DROP TABLE access_analyzers;
        ALTER TABLE access_analyzers_regional RENAME TO access_analyzers;
        CREATE UNIQUE INDEX access_analyzers_by_type ON access_analyzers (account_id, region, type);
        ALTER TABLE policy_generations ADD COLUMN region TEXT NOT NULL DEFAULT '{home_region}';
        DROP INDEX policy_generations_by_account;
        DROP INDEX policy_generations_by_token;
        CREATE INDEX policy_generations_by_account ON policy_generations (account_id, region, started_on, job_id);
        CREATE UNIQUE INDEX policy_generations_by_token ON policy_generations (account_id, region, client_token)
    ",
    },
    Migration {
        version: 23,
        // ECR beyond the repository's row (`ecr::model::settings`): a repository's
        // encryption, lifecycle policy and last preview; its tags; and the registry's own
        // settings (registry policy, replication, scanning, account settings), each a named
        // value; and how each pushed image's replication to each destination region went.
        // Every table is per account and region.
        sql: "
        CREATE TABLE ecr_repository_settings (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            repository TEXT NOT NULL,
            encryption_type TEXT NOT NULL,
            kms_key TEXT,
            lifecycle_policy TEXT,
            lifecycle_evaluated_at BIGINT,
            preview_policy TEXT,
            preview_results TEXT,
            PRIMARY KEY (account_id, region, repository)
        );
        CREATE TABLE ecr_repository_tags (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            repository TEXT NOT NULL,
            tag_key TEXT NOT NULL,
            tag_value TEXT NOT NULL,
            PRIMARY KEY (account_id, region, repository, tag_key)
        );
        CREATE TABLE ecr_registry_settings (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (account_id, region, name)
        );
        CREATE TABLE ecr_replication_statuses (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            repository TEXT NOT NULL,
            digest TEXT NOT NULL,
            destination_region TEXT NOT NULL,
            status TEXT NOT NULL,
            failure_code TEXT,
            PRIMARY KEY (account_id, region, repository, digest, destination_region)
        )
    ",
    },
    Migration {
        version: 25,
        // CloudWatch Logs Insights queries (`logs::insights`): what StartQuery asked, where the
        // run is (`status`; `heartbeat_at`, milliseconds, moved by the replica running it, so
        // a query whose runner stopped is answered as Failed), and once it ends its answer
        // (`results`, `statistics`: the JSON GetQueryResults returns); saved query definitions
        // (`log_groups` and `parameters` as JSON, `client_token` PutQueryDefinition's).
        sql: "
        CREATE TABLE logs_queries (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            query_id TEXT NOT NULL,
            query_string TEXT NOT NULL,
            log_groups TEXT NOT NULL,
            start_time BIGINT NOT NULL,
            end_time BIGINT NOT NULL,
            result_limit BIGINT NOT NULL,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            heartbeat_at BIGINT NOT NULL,
            results TEXT,
            statistics TEXT,
            PRIMARY KEY (account_id, region, query_id)
        );
        CREATE INDEX logs_queries_by_status ON logs_queries (account_id, region, status);
        CREATE TABLE logs_query_definitions (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            definition_id TEXT NOT NULL,
            name TEXT NOT NULL,
            query_string TEXT NOT NULL,
            log_groups TEXT NOT NULL,
            parameters TEXT NOT NULL,
            client_token TEXT,
            last_modified BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, definition_id)
        )
    ",
    },
    Migration {
        version: 24,
        // Secrets for workloads. SSM parameters (one row per name, its latest version and a
        // generation every write moves, so "read, decide, write" is guarded; its tags as a
        // JSON list) and their versions (a String's value as text; a SecureString's sealed
        // with the master key, bound to account, region, name and version; labels as a JSON
        // list). Secrets Manager's secrets (by name; the ARN with its random suffix; the
        // resource policy with its principals bound; when deletion was scheduled) and their
        // versions (the value sealed, bound to the secret's ARN and the version id; the
        // stages as a JSON list).
        sql: "
        CREATE TABLE ssm_parameters (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            version BIGINT NOT NULL,
            generation BIGINT NOT NULL,
            tags TEXT NOT NULL,
            PRIMARY KEY (account_id, region, name)
        );
        CREATE TABLE ssm_parameter_versions (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            version BIGINT NOT NULL,
            type TEXT NOT NULL,
            value TEXT,
            value_sealed {blob},
            key_id TEXT,
            description TEXT,
            allowed_pattern TEXT,
            data_type TEXT NOT NULL,
            tier TEXT NOT NULL,
            labels TEXT NOT NULL,
            modified_at BIGINT NOT NULL,
            modified_by TEXT NOT NULL,
            PRIMARY KEY (account_id, region, name, version)
        );
        CREATE TABLE secrets (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            arn TEXT NOT NULL UNIQUE,
            description TEXT,
            kms_key_id TEXT,
            tags TEXT NOT NULL,
            policy TEXT,
            policy_principals TEXT,
            generation BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            changed_at BIGINT NOT NULL,
            accessed_at BIGINT,
            deletion_date BIGINT,
            PRIMARY KEY (account_id, region, name)
        );
        CREATE TABLE secret_versions (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            secret_arn TEXT NOT NULL,
            version_id TEXT NOT NULL,
            value_sealed {blob} NOT NULL,
            is_binary BIGINT NOT NULL,
            stages TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, secret_arn, version_id)
        )
    ",
    },
    Migration {
        version: 26,
        // CloudWatch Logs' destinations (PutDestination: the target and role as given, the
        // access policy once PutDestinationPolicy sets one; nothing is delivered to them), and
        // the KMS key id a log group records (CreateLogGroup's `kmsKeyId`, AssociateKmsKey):
        // Homeport runs no KMS, so it is returned, never used; a group's deletion protection
        // (1 while DeleteLogGroup must refuse it); and the account policies of the
        // region (PutAccountPolicy, subscription filter policies only, stored and answered).
        sql: "
        ALTER TABLE log_groups ADD COLUMN kms_key_id TEXT;
        ALTER TABLE log_groups ADD COLUMN deletion_protection BIGINT NOT NULL DEFAULT 0;
        CREATE TABLE logs_destinations (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            target_arn TEXT NOT NULL,
            role_arn TEXT NOT NULL,
            access_policy TEXT,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, name)
        );
        CREATE TABLE logs_account_policies (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            policy_type TEXT NOT NULL,
            name TEXT NOT NULL,
            document TEXT NOT NULL,
            selection_criteria TEXT,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, policy_type, name)
        )
    ",
    },
    Migration {
        version: 27,
        // The source identity a role session was issued with (AssumeRole's `SourceIdentity`,
        // or a SAML or web identity token's): it never changes, passes on to the sessions the
        // session chains to, and is `aws:SourceIdentity` of every request made with it. And the
        // keys of its transitive session tags (JSON), the only tags that pass on to them.
        sql: "
        ALTER TABLE sessions ADD COLUMN source_identity TEXT;
        ALTER TABLE sessions ADD COLUMN transitive_tag_keys TEXT
    ",
    },
    Migration {
        version: 28,
        // ECS's account settings, per region: a principal's own (`principal_arn` a user or
        // role), and the account's defaults (`principal_arn` the root user's ARN, which
        // PutAccountSettingDefault and the root user's PutAccountSetting both write); and the
        // capacity providers of each cluster; and the tasks protected from scale-in.
        sql: "
        CREATE TABLE ecs_account_settings (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            principal_arn TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (account_id, region, principal_arn, name)
        );
        -- The capacity providers associated with a cluster (PutClusterCapacityProviders).
        ALTER TABLE ecs_clusters ADD COLUMN capacity_providers TEXT NOT NULL DEFAULT '[]';
        -- A service task's scale-in protection (UpdateTaskProtection), until it expires.
        CREATE TABLE ecs_task_protection (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            task_arn TEXT NOT NULL,
            cluster_arn TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, task_arn)
        );
        CREATE INDEX ecs_task_protection_by_cluster ON ecs_task_protection (cluster_arn, expires_at)
    ",
    },
    Migration {
        version: 29,
        // CloudWatch Logs beyond groups, streams and events: a group's class, its metric
        // filters (the pattern as given, the transformations as JSON) and subscription filters
        // (stored and answered, their destination, role and distribution as JSON: nothing is
        // delivered), and the region's resource policies. A group's filters and tags go with it.
        sql: "
        ALTER TABLE log_groups ADD COLUMN log_group_class TEXT NOT NULL DEFAULT 'STANDARD';
        CREATE TABLE logs_metric_filters (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            group_name TEXT NOT NULL,
            name TEXT NOT NULL,
            pattern TEXT NOT NULL,
            transformations TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, group_name, name)
        );
        CREATE TABLE logs_subscription_filters (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            group_name TEXT NOT NULL,
            name TEXT NOT NULL,
            pattern TEXT NOT NULL,
            detail TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, group_name, name)
        );
        CREATE TABLE logs_resource_policies (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            document TEXT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, name)
        )
    ",
    },
    Migration {
        version: 30,
        // An ECR repository's scan-on-push setting (`ecr::scanning`): stored and answered;
        // with no scanner, its images' scans report that none is configured.
        sql: "
        ALTER TABLE ecr_repository_settings ADD COLUMN scan_on_push BIGINT NOT NULL DEFAULT 0
    ",
    },
    Migration {
        version: 31,
        // CloudWatch Logs events, one row per appended batch (`logs::model::batch`): its first
        // and last timestamps, its ingestion time and its events encoded together, read by
        // range scans on the first timestamp per stream and per group. `batch_span` is the
        // widest a batch of the group spans (last less first timestamp), the bound of those
        // scans. `log_events` keeps only events stored before, until the server moves them
        // into batches at start (`logs::model::legacy_events`).
        sql: "
        CREATE TABLE log_batches (
            seq {serial},
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            group_name TEXT NOT NULL,
            stream_name TEXT NOT NULL,
            first_time BIGINT NOT NULL,
            last_time BIGINT NOT NULL,
            ingestion_time BIGINT NOT NULL,
            event_count BIGINT NOT NULL,
            events {blob} NOT NULL
        );
        CREATE INDEX log_batches_by_stream ON log_batches (account_id, region, group_name, stream_name, first_time, seq);
        CREATE INDEX log_batches_by_group ON log_batches (account_id, region, group_name, first_time, seq);
        ALTER TABLE log_groups ADD COLUMN batch_span BIGINT NOT NULL DEFAULT 0
    ",
    },
    Migration {
        version: 32,
        // A task's body is stored bare (1): without the members DescribeTasks writes beside it
        // (`lastStatus`, `desiredStatus`, `version`, `tags`), so it is spliced into the answer
        // as stored. A row written before (0) may hold them: it is cut when read, and stored
        // bare at its next write.
        sql: "
        ALTER TABLE ecs_tasks ADD COLUMN body_bare BIGINT NOT NULL DEFAULT 0
    ",
    },
    Migration {
        version: 33,
        // ECS service deployments and service revisions (`ecs::model::service_deployment`):
        // each deployment a CreateService or UpdateService starts, its status following the
        // scheduler, and the configuration it deploys (a revision is never changed). Both go
        // with their service. Services created before have none, as AWS has none from before
        // October 25, 2024.
        sql: "
        CREATE TABLE ecs_service_deployments (
            seq {serial},
            arn TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL,
            service_arn TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX ecs_service_deployments_by_service ON ecs_service_deployments (service_arn, seq);
        CREATE TABLE ecs_service_revisions (
            arn TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            service_arn TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX ecs_service_revisions_by_service ON ecs_service_revisions (service_arn)
    ",
    },
    Migration {
        version: 34,
        // ECS daemon task definitions (`ecs::model::daemon_task_definition`): a registered
        // revision of a family, its document as DescribeDaemonTaskDefinition answers it, its
        // status (`ACTIVE`, then `DELETE_IN_PROGRESS` from DeleteDaemonTaskDefinition on).
        sql: "
        CREATE TABLE ecs_daemon_task_definitions (
            arn TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            family TEXT NOT NULL,
            revision BIGINT NOT NULL,
            status TEXT NOT NULL,
            body TEXT NOT NULL,
            registered_at BIGINT NOT NULL,
            delete_requested_at BIGINT,
            UNIQUE (account_id, region, family, revision)
        )
    ",
    },
    Migration {
        version: 35,
        // CloudWatch Logs' Live Tail sessions that are open, on any replica: a session's
        // runner moves `heartbeat_at` every second and deletes its row when it ends, so the
        // sessions an account has open are the rows with a recent heartbeat (one whose server
        // died is left with an old one, counts no more, and is deleted by the next start).
        sql: "
        CREATE TABLE logs_live_tail_sessions (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            session_id TEXT NOT NULL,
            started_at BIGINT NOT NULL,
            heartbeat_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, session_id)
        )
    ",
    },
    Migration {
        version: 36,
        // CloudWatch Logs' delivery destinations (PutDeliveryDestination: a log group of the
        // region, its output format, the policy once PutDeliveryDestinationPolicy sets one);
        // and scheduled queries (CreateScheduledQuery: a Logs Insights query, its schedule and
        // `next_run`, the epoch second it is next due, which the replica that runs it moves on
        // in the statement that claims it) with the record of their runs, each run's results
        // those of the Insights query (`logs_queries`) of its `query_id`; and lookup tables
        // (CreateLookupTable: the CSV as given, its header's fields and row count, kept).
        sql: "
        CREATE TABLE logs_delivery_destinations (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            destination_type TEXT NOT NULL,
            output_format TEXT,
            resource_arn TEXT NOT NULL,
            policy TEXT,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, name)
        );
        CREATE TABLE logs_scheduled_queries (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            id TEXT NOT NULL,
            detail TEXT NOT NULL,
            state TEXT NOT NULL,
            next_run BIGINT,
            last_triggered BIGINT,
            last_status TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, name)
        );
        CREATE INDEX logs_scheduled_queries_due ON logs_scheduled_queries (next_run);
        CREATE TABLE logs_scheduled_query_runs (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            scheduled_query_id TEXT NOT NULL,
            query_id TEXT NOT NULL,
            triggered_at BIGINT NOT NULL,
            status TEXT NOT NULL,
            error_message TEXT,
            PRIMARY KEY (account_id, region, query_id)
        );
        CREATE INDEX logs_scheduled_query_runs_by_query ON logs_scheduled_query_runs (account_id, region, scheduled_query_id, triggered_at);
        CREATE TABLE logs_lookup_tables (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT,
            body TEXT NOT NULL,
            kms_key_id TEXT,
            fields TEXT NOT NULL,
            records BIGINT NOT NULL,
            size_bytes BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, name)
        )
    ",
    },
    Migration {
        version: 37,
        // The IAM cache's store-wide generation (`cache`): one row, moved by every write of
        // keys, sessions or permissions on any replica, read by every authenticated request.
        sql: "
        CREATE TABLE iam_generation (id BIGINT PRIMARY KEY, value BIGINT NOT NULL);
        INSERT INTO iam_generation (id, value) VALUES (1, 0)
    ",
    },
];

/// Brings `store` to the current schema; rows that predate regions belong to `home_region`
/// (the region the server serves by default).
pub async fn migrate(store: &store::Store, home_region: &str) -> Result<(), store::StoreError> {
    store.migrate_with(MIGRATIONS, &[("home_region", home_region)]).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use store::Store;

    /// Sessions stored before they had a kind: an instance's own (named after it), a task's
    /// (named after the task), a role's, root's, and users' by name, bound to the user of that
    /// name only if it existed when they were issued.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sessions_stored_before_kinds_are_classified_and_bound() {
        let root = std::env::temp_dir().join(format!("homeport-session-kinds-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let store = Store::open(root.join("db").to_str().unwrap()).await.unwrap();
        let before: Vec<Migration> = MIGRATIONS.iter().copied().filter(|m| m.version < 11).collect();
        store.migrate(&before).await.unwrap();
        store
            .execute(
                "INSERT INTO users (account_id, name_key, name, user_id, path, created_at)
                 VALUES ('111122223333', 'bob', 'bob', 'AIDABOB', '/', 100)",
                vec![],
            )
            .await
            .unwrap();
        for (key, user, role, instance, name, issued) in [
            ("ASIAINSTANCE", None, Some("r"), Some("mi-1"), Some("mi-1"), 200),
            ("ASIATASK", None, Some("r"), Some("mi-1"), Some("0123abcd"), 200),
            ("ASIAROLE", None, Some("r"), None, Some("s"), 200),
            ("ASIAROOT", None, None, None, None, 200),
            ("ASIABOB", Some("bob"), None, None, None, 200),
            ("ASIAEARLIERBOB", Some("bob"), None, None, None, 50),
        ] {
            store
                .execute(
                    "INSERT INTO sessions (access_key_id, account_id, user_name_key, secret_sealed, token_hash, issued_at,
                                           expires_at, role_key, role_id, session_name, instance_id)
                     VALUES (?, '111122223333', ?, ?, 'h', ?, 9999999999, ?, 'AROAR', ?, ?)",
                    vec![
                        key.into(),
                        store::Value::from(user.map(str::to_owned)),
                        vec![0u8].into(),
                        store::Value::Int(issued),
                        store::Value::from(role.map(str::to_owned)),
                        store::Value::from(name.map(str::to_owned)),
                        store::Value::from(instance.map(str::to_owned)),
                    ],
                )
                .await
                .unwrap();
        }
        migrate(&store, "us-east-1").await.unwrap();
        let rows = store
            .query("SELECT access_key_id, kind, user_id FROM sessions ORDER BY access_key_id", vec![])
            .await
            .unwrap();
        let found: Vec<(String, String, Option<String>)> =
            rows.iter().map(|row| (row.text(0).unwrap(), row.text(1).unwrap(), row.opt_text(2).unwrap())).collect();
        let expected = [
            ("ASIABOB", "user", Some("AIDABOB")),
            ("ASIAEARLIERBOB", "user", None),
            ("ASIAINSTANCE", "instance", None),
            ("ASIAROLE", "role", None),
            ("ASIAROOT", "root", None),
            ("ASIATASK", "task", None),
        ];
        let expected: Vec<(String, String, Option<String>)> = expected
            .iter()
            .map(|(key, kind, id)| ((*key).to_owned(), (*kind).to_owned(), id.map(str::to_owned)))
            .collect();
        assert_eq!(found, expected);
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// Rows stored before regions belong to the region the server served when it migrated,
    /// and a name taken in that region is free in every other.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rows_stored_before_regions_belong_to_the_home_region() {
        let root = std::env::temp_dir().join(format!("homeport-regions-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let store = Store::open(root.join("db").to_str().unwrap()).await.unwrap();
        let before: Vec<Migration> = MIGRATIONS.iter().copied().filter(|m| m.version < 22).collect();
        store.migrate(&before).await.unwrap();
        for sql in [
            "INSERT INTO log_groups (account_id, name, created_at) VALUES ('111122223333', '/ecs/web', 1)",
            "INSERT INTO log_streams (account_id, group_name, name, created_at) VALUES ('111122223333', '/ecs/web', 's', 1)",
            "INSERT INTO log_events (account_id, group_name, stream_name, event_time, ingestion_time, message)
             VALUES ('111122223333', '/ecs/web', 's', 1, 1, 'hello')",
            "INSERT INTO ecr_repositories (account_id, name, created_at, tag_mutability) VALUES ('111122223333', 'web', 1, 'MUTABLE')",
            "INSERT INTO ecs_task_definitions (arn, account_id, family, revision, status, body, registered_at)
             VALUES ('arn:aws:ecs:eu-west-2:111122223333:task-definition/web:1', '111122223333', 'web', 1, 'ACTIVE', '{}', 1)",
            "INSERT INTO access_analyzers (account_id, name, analyzer_id, type, created_at, configuration, tags)
             VALUES ('111122223333', 'unused', 'a-1', 'ACCOUNT_UNUSED_ACCESS', 1, '{}', '{}')",
        ] {
            store.execute(sql, vec![]).await.unwrap();
        }
        migrate(&store, "eu-west-2").await.unwrap();
        for table in
            ["log_groups", "log_streams", "log_events", "ecr_repositories", "ecs_task_definitions", "access_analyzers"]
        {
            let rows = store.query(&format!("SELECT region FROM {table}"), vec![]).await.unwrap();
            let regions: Vec<String> = rows.iter().map(|row| row.text(0).unwrap()).collect();
            assert_eq!(regions, ["eu-west-2"], "{table}");
        }
        for sql in [
            "INSERT INTO log_groups (account_id, region, name, created_at) VALUES ('111122223333', 'us-east-1', '/ecs/web', 2)",
            "INSERT INTO ecr_repositories (account_id, region, name, created_at, tag_mutability)
             VALUES ('111122223333', 'us-east-1', 'web', 2, 'MUTABLE')",
            "INSERT INTO ecs_task_definitions (arn, account_id, region, family, revision, status, body, registered_at)
             VALUES ('arn:aws:ecs:us-east-1:111122223333:task-definition/web:1', '111122223333', 'us-east-1', 'web', 1, 'ACTIVE', '{}', 2)",
        ] {
            store.execute(sql, vec![]).await.unwrap();
        }
        let taken = store
            .execute(
                "INSERT INTO log_groups (account_id, region, name, created_at) VALUES ('111122223333', 'eu-west-2', '/ecs/web', 3)",
                vec![],
            )
            .await;
        assert!(matches!(taken, Err(store::StoreError::Conflict)), "still taken in its own region: {taken:?}");
        assert!(store.migrate_with(MIGRATIONS, &[("home_region", "x'; DROP TABLE users; --")]).await.is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
