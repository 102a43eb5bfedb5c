//! IAM's access advisor, in process: the services and actions a user's, group's, role's or
//! policy's permissions policies allow (GenerateServiceLastAccessedDetails and its two
//! readers), the policies granting each service (ListPoliciesGrantingServiceAccess), paging,
//! IAM's errors for bad input, and who may read a job.
//!
//! `what_entities_did_shows_in_their_reports` needs the audit importer to fill `iam_usage`
//! from every decision (allowed and denied): until it does, that case fails, and every other
//! case here holds whatever the importer records, since their entities make no calls.

use server::services::OPERATIONS;

use crate::support::{Case, Key, Response, TestServer, iam, unique};

crate::support::on_both_stores!(
    a_report_lists_the_services_a_users_policies_allow,
    a_roles_report_tracks_the_roles_it_may_pass,
    group_and_policy_reports_count_their_entities,
    the_policies_granting_each_service_are_listed,
    bad_input_is_refused_as_iam_refuses_it,
    a_job_is_read_only_by_who_started_it,
    reports_are_read_page_by_page,
    what_entities_did_shows_in_their_reports
);

const ECS_AND_ONE_LOGS_ACTION: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:*","logs:CreateLogGroup"],"Resource":"*"}]}"#;
const LOOKUP_EVENTS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudtrail:LookupEvents","Resource":"*"}]}"#;
const EVERYTHING: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const ADMINISTRATOR: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// The actions Homeport serves in `namespace`, by name (what the action level tracks).
fn served(namespace: &str) -> Vec<String> {
    let prefix = format!("{namespace}:");
    let mut names: Vec<String> =
        OPERATIONS.iter().filter_map(|operation| operation.action.strip_prefix(&prefix)).map(str::to_owned).collect();
    names.sort();
    names.dedup();
    names
}

/// The part of an answer from the `<at>` element holding `containing` to the next `<at>`
/// (one member of a list whose members start with `at`), as a response of its own.
fn part(response: &Response, at: &str, containing: &str) -> Response {
    let open = format!("<{at}>");
    let body = response.body.split(&open).skip(1).find(|piece| piece.contains(containing)).unwrap_or_default();
    Response { status: response.status, head: String::new(), body: format!("{open}{body}") }
}

/// One service of a GetServiceLastAccessedDetails answer.
fn service(response: &Response, namespace: &str) -> Response {
    part(response, "ServiceName", &format!("<ServiceNamespace>{namespace}</ServiceNamespace>"))
}

/// One tracked action of a service.
fn action(service: &Response, name: &str) -> Response {
    part(service, "ActionName", &format!("{name}</ActionName>"))
}

impl TestServer {
    /// Starts a report on `arn` as `key`: its job id.
    fn generate(&self, key: &Key, arn: &str, granularity: &str) -> String {
        self.iam(key, "GenerateServiceLastAccessedDetails", &[("Arn", arn), ("Granularity", granularity)])
            .ok()
            .xml("JobId")
    }

    fn arn_of(&self, noun: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:{noun}/{name}", self.account_id)
    }

    fn group_with(&self, name: &str, members: &[&str], policy: &str) {
        self.iam(&self.root, "CreateGroup", &[("GroupName", name)]).ok();
        for member in members {
            self.iam(&self.root, "AddUserToGroup", &[("GroupName", name), ("UserName", member)]).ok();
        }
        self.iam(
            &self.root,
            "PutGroupPolicy",
            &[("GroupName", name), ("PolicyName", "shared"), ("PolicyDocument", policy)],
        )
        .ok();
    }
}

fn details(job: &str) -> crate::support::Call {
    iam("GetServiceLastAccessedDetails", &[("JobId", job)])
}

fn with_entities(job: &str, namespace: &str) -> crate::support::Call {
    iam("GetServiceLastAccessedDetailsWithEntities", &[("JobId", job), ("ServiceNamespace", namespace)])
}

fn a_report_lists_the_services_a_users_policies_allow(server: &TestServer) {
    let root = &server.root;
    let user = unique("advised");
    server.user_with_policy(&user, Some(ECS_AND_ONE_LOGS_ACTION));
    // Its group's policies count; its permissions boundary, which allows everything, does not.
    server.group_with(&unique("advised-group"), &[&user], LOOKUP_EVENTS);
    server.iam(root, "PutUserPermissionsBoundary", &[("UserName", &user), ("PermissionsBoundary", ADMINISTRATOR)]).ok();
    let arn = server.arn_of("user", &user);
    let user_id = server.iam(root, "GetUser", &[("UserName", &user)]).ok().xml("UserId");

    let job = server.generate(root, &arn, "SERVICE_LEVEL");
    let report = server.iam(root, "GetServiceLastAccessedDetails", &[("JobId", &job)]).ok();
    assert_eq!(report.xml_all("ServiceNamespace"), ["cloudtrail", "ecs", "logs"], "{}", report.body);
    assert_eq!(
        report.xml_all("ServiceName"),
        ["AWS CloudTrail", "Amazon Elastic Container Service", "Amazon CloudWatch Logs"]
    );
    assert_eq!(report.xml_all("TotalAuthenticatedEntities"), ["0", "0", "0"], "it made no call");
    let jobs_date = report.xml("JobCreationDate");
    server.run(&[
        Case::ok("the job is done at once", root, details(&job))
            .xml("JobStatus", "COMPLETED")
            .xml("JobType", "SERVICE_LEVEL")
            .xml("JobCompletionDate", jobs_date)
            .xml("IsTruncated", "false")
            .xml_count("LastAuthenticated", 0)
            .xml_count("TrackedActionsLastAccessed", 0),
        Case::ok("the user is the entity of each service", root, with_entities(&job, "ecs"))
            .xml("JobStatus", "COMPLETED")
            .xml("Arn", &arn)
            .xml("Name", &user)
            .xml("Type", "USER")
            .xml("Id", &user_id)
            .xml("Path", "/")
            .xml_count("member", 1)
            .xml_count("LastAuthenticated", 0),
        Case::ok("a service the report does not list has no entity", root, with_entities(&job, "ssm"))
            .xml_count("member", 0),
    ]);

    // The action level: every served action a policy allows, and only those.
    let job = server.generate(root, &arn, "ACTION_LEVEL");
    let report = server.iam(root, "GetServiceLastAccessedDetails", &[("JobId", &job)]).ok();
    assert_eq!(report.xml("JobType"), "ACTION_LEVEL");
    assert_eq!(service(&report, "ecs").xml_all("ActionName"), served("ecs"));
    assert_eq!(service(&report, "logs").xml_all("ActionName"), ["CreateLogGroup"]);
    assert_eq!(service(&report, "cloudtrail").xml_all("ActionName"), ["LookupEvents"]);
    assert_eq!(report.xml_count_of("LastAccessedTime"), 0);

    // Granularity is SERVICE_LEVEL unless asked.
    let job = server.iam(root, "GenerateServiceLastAccessedDetails", &[("Arn", &arn)]).ok().xml("JobId");
    server.run(&[Case::ok("by default, services only", root, details(&job)).xml("JobType", "SERVICE_LEVEL")]);
}

fn a_roles_report_tracks_the_roles_it_may_pass(server: &TestServer) {
    let root = &server.root;
    let role = unique("advised-role");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let pass = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}"#;
    server.iam(root, "CreateRole", &[("RoleName", &role), ("AssumeRolePolicyDocument", trust)]).ok();
    server.iam(root, "PutRolePolicy", &[("RoleName", &role), ("PolicyName", "pass"), ("PolicyDocument", pass)]).ok();
    let read_only = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly";
    server.iam(root, "AttachRolePolicy", &[("RoleName", &role), ("PolicyArn", read_only)]).ok();
    let arn = server.arn_of("role", &role);
    let job = server.generate(root, &arn, "ACTION_LEVEL");
    let report = server.iam(root, "GetServiceLastAccessedDetails", &[("JobId", &job)]).ok();
    assert_eq!(report.xml_all("ServiceNamespace"), ["ecr", "iam"], "{}", report.body);
    assert_eq!(service(&report, "iam").xml_all("ActionName"), ["PassRole"], "checked while running, and tracked");
    let ecr = service(&report, "ecr").xml_all("ActionName");
    assert!(ecr.contains(&"BatchGetImage".to_owned()) && !ecr.contains(&"PutImage".to_owned()), "{ecr:?}");
    server.run(&[Case::ok("the role is its entity", root, with_entities(&job, "iam"))
        .xml("Arn", &arn)
        .xml("Type", "ROLE")
        .xml_count("member", 1)]);
    // A managed policy's own report: the services it allows.
    let job = server.generate(root, read_only, "SERVICE_LEVEL");
    server.run(&[Case::ok("an AWS managed policy", root, details(&job))
        .xml("ServiceNamespace", "ecr")
        .xml_count("ServiceNamespace", 1)]);
}

fn group_and_policy_reports_count_their_entities(server: &TestServer) {
    let root = &server.root;
    let (ann, bob, cid) = (unique("ann"), unique("bob"), unique("cid"));
    // Ann's own policy is hers, not the group's: its services are not in the group's report.
    server.user_with_policy(&ann, Some(ECS_AND_ONE_LOGS_ACTION));
    server.user_with_policy(&bob, None);
    server.user_with_policy(&cid, None);
    let group = unique("advised-team");
    server.group_with(&group, &[&ann, &bob], LOOKUP_EVENTS);
    let group_arn = server.arn_of("group", &group);
    let job = server.generate(root, &group_arn, "SERVICE_LEVEL");
    let members = server.iam(
        root,
        "GetServiceLastAccessedDetailsWithEntities",
        &[("JobId", &job), ("ServiceNamespace", "cloudtrail")],
    );
    let mut expected = vec![server.arn_of("user", &ann), server.arn_of("user", &bob)];
    expected.sort();
    assert_eq!(members.ok().xml_all("Arn"), expected, "its members, by ARN when none accessed the service");
    server.run(&[
        Case::ok("the group's policies only", root, details(&job))
            .xml("ServiceNamespace", "cloudtrail")
            .xml_count("ServiceNamespace", 1)
            .xml("TotalAuthenticatedEntities", "0"),
        Case::ok("not the members' own", root, with_entities(&job, "ecs")).xml_count("member", 0),
    ]);

    // A customer managed policy attached to a user, to the group (two members) and to a role.
    let policy = unique("advised-policy");
    let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:GetCallerIdentity","ssm:Describe*"],"Resource":"*"}]}"#;
    let policy_arn =
        server.iam(root, "CreatePolicy", &[("PolicyName", &policy), ("PolicyDocument", document)]).ok().xml("Arn");
    let role = unique("advised-role");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    server.iam(root, "CreateRole", &[("RoleName", &role), ("AssumeRolePolicyDocument", trust)]).ok();
    server.iam(root, "AttachUserPolicy", &[("UserName", &cid), ("PolicyArn", &policy_arn)]).ok();
    server.iam(root, "AttachGroupPolicy", &[("GroupName", &group), ("PolicyArn", &policy_arn)]).ok();
    server.iam(root, "AttachRolePolicy", &[("RoleName", &role), ("PolicyArn", &policy_arn)]).ok();
    let job = server.generate(root, &policy_arn, "ACTION_LEVEL");
    let report = server.iam(root, "GetServiceLastAccessedDetails", &[("JobId", &job)]).ok();
    assert_eq!(report.xml_all("ServiceNamespace"), ["ssm", "sts"], "{}", report.body);
    assert_eq!(service(&report, "sts").xml_all("ActionName"), ["GetCallerIdentity"]);
    let entities =
        server.iam(root, "GetServiceLastAccessedDetailsWithEntities", &[("JobId", &job), ("ServiceNamespace", "sts")]);
    let entities = entities.ok();
    let mut expected = vec![
        server.arn_of("role", &role),
        server.arn_of("user", &ann),
        server.arn_of("user", &bob),
        server.arn_of("user", &cid),
    ];
    expected.sort();
    assert_eq!(entities.xml_all("Arn"), expected, "its users, its group's members and its role");
    assert_eq!(entities.xml_all("Type").iter().filter(|kind| *kind == "ROLE").count(), 1);
}

fn the_policies_granting_each_service_are_listed(server: &TestServer) {
    let root = &server.root;
    let user = unique("granted");
    let own = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}"#;
    server.user_with_policy(&user, Some(own));
    let logs = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}"#;
    let managed = server
        .iam(root, "CreatePolicy", &[("PolicyName", &unique("granting")), ("PolicyDocument", logs)])
        .ok()
        .xml("Arn");
    server.iam(root, "AttachUserPolicy", &[("UserName", &user), ("PolicyArn", &managed)]).ok();
    server.iam(root, "PutUserPermissionsBoundary", &[("UserName", &user), ("PermissionsBoundary", ADMINISTRATOR)]).ok();
    let group = unique("granting-group");
    let list_clusters =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:ListClusters","Resource":"*"}]}"#;
    server.group_with(&group, &[&user], list_clusters);
    let read_only = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    server.iam(root, "AttachGroupPolicy", &[("GroupName", &group), ("PolicyArn", read_only)]).ok();
    let asked = |arn: &str, namespaces: &[&str]| {
        let mut params = vec![("Arn".to_owned(), arn.to_owned())];
        for (index, namespace) in namespaces.iter().enumerate() {
            params.push((format!("ServiceNamespaces.member.{}", index + 1), (*namespace).to_owned()));
        }
        let params: Vec<(&str, &str)> = params.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        server.iam(root, "ListPoliciesGrantingServiceAccess", &params).ok()
    };
    let listed = asked(&server.arn_of("user", &user), &["ecs", "logs", "iam", "s3"]);
    assert_eq!(listed.xml_all("ServiceNamespace"), ["ecs", "logs", "iam", "s3"], "each service asked, in order");
    assert_eq!(listed.xml("IsTruncated"), "false");
    let ecs = part(&listed, "ServiceNamespace", "ecs</ServiceNamespace>");
    assert_eq!(ecs.xml_all("PolicyName"), ["test", "shared"], "the user's inline policy, then its group's");
    assert_eq!(ecs.xml_all("PolicyType"), ["INLINE", "INLINE"]);
    assert_eq!(ecs.xml_all("EntityType"), ["USER", "GROUP"]);
    assert_eq!(ecs.xml_all("EntityName"), [user.clone(), group.clone()]);
    assert_eq!(ecs.xml_count_of("PolicyArn"), 0, "inline policies have no ARN");
    let logs = part(&listed, "ServiceNamespace", "logs</ServiceNamespace>");
    assert_eq!(logs.xml_all("PolicyArn"), [managed]);
    assert_eq!((logs.xml("PolicyType"), logs.xml_count_of("EntityType")), ("MANAGED".to_owned(), 0));
    let iam_part = part(&listed, "ServiceNamespace", "iam</ServiceNamespace>");
    assert_eq!(iam_part.xml_all("PolicyName"), ["IAMReadOnlyAccess"], "the group's managed policy; not the boundary");
    assert_eq!(part(&listed, "ServiceNamespace", "s3</ServiceNamespace>").xml_count_of("PolicyName"), 0);

    // A group's own policies only; a role's.
    let of_group = asked(&server.arn_of("group", &group), &["ecs", "logs"]);
    assert_eq!(part(&of_group, "ServiceNamespace", "ecs</ServiceNamespace>").xml_all("EntityName"), [group]);
    assert_eq!(part(&of_group, "ServiceNamespace", "logs</ServiceNamespace>").xml_count_of("PolicyName"), 0);
    let role = unique("granting-role");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    server.iam(root, "CreateRole", &[("RoleName", &role), ("AssumeRolePolicyDocument", trust)]).ok();
    server
        .iam(root, "PutRolePolicy", &[("RoleName", &role), ("PolicyName", "all"), ("PolicyDocument", EVERYTHING)])
        .ok();
    let of_role = asked(&server.arn_of("role", &role), &["kinesis"]);
    assert_eq!(of_role.xml_all("EntityType"), ["ROLE"], "a wildcard grants a service Homeport does not serve");
    assert_eq!(of_role.xml_all("EntityName"), [role]);
}

fn bad_input_is_refused_as_iam_refuses_it(server: &TestServer) {
    let root = &server.root;
    let user = unique("refused");
    server.user_with_policy(&user, Some(EVERYTHING));
    let arn = server.arn_of("user", &user);
    let job = server.generate(root, &arn, "SERVICE_LEVEL");
    let generate = |arn: &str| iam("GenerateServiceLastAccessedDetails", &[("Arn", arn)]);
    let unknown_job = "0e4c2a9e-1f7b-4c1d-a2b3-c4d5e6f70809";
    let too_many: Vec<(String, String)> =
        (1..=201).map(|n| (format!("ServiceNamespaces.member.{n}"), format!("s{n}"))).collect();
    let mut too_many: Vec<(&str, &str)> =
        too_many.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    too_many.push(("Arn", &arn));
    let listing = |namespace: &str| {
        iam("ListPoliciesGrantingServiceAccess", &[("Arn", &arn), ("ServiceNamespaces.member.1", namespace)])
    };
    let policy_arn = format!("arn:aws:iam::{}:policy/nobody-made-me", server.account_id);
    server.run(&[
        Case::error("no ARN", root, iam("GenerateServiceLastAccessedDetails", &[]), 400, "ValidationError",
            "1 validation error detected: Value null at 'arn' failed to satisfy constraint: Member must not be null"),
        Case::error("an ARN too short", root, generate("not-an-arn"), 400, "ValidationError",
            "1 validation error detected: Value 'not-an-arn' at 'arn' failed to satisfy constraint: Member must have length greater than or equal to 20"),
        Case::error("another service's ARN", root, generate("arn:aws:s3:::my-bucket-name"), 400, "InvalidInput",
            "ARN arn:aws:s3:::my-bucket-name is not valid."),
        Case::error("an instance profile", root, generate(&server.arn_of("instance-profile", "p")), 400, "InvalidInput",
            "is not valid."),
        Case::error("a user nobody made", root, generate(&server.arn_of("user", "nobody-made-me")), 404, "NoSuchEntity",
            "The user with name nobody-made-me cannot be found."),
        Case::error("a role nobody made", root, generate(&server.arn_of("role", "nobody-made-me")), 404, "NoSuchEntity",
            "The role with name nobody-made-me cannot be found."),
        Case::error("a policy nobody made", root, generate(&policy_arn), 404, "NoSuchEntity",
            format!("Policy {policy_arn} was not found.")),
        Case::error("another account's user", root, generate(&format!("arn:aws:iam::999988887777:user/{user}")), 404,
            "NoSuchEntity", format!("The user with name {user} cannot be found.")),
        Case::error("a granularity IAM does not know", root,
            iam("GenerateServiceLastAccessedDetails", &[("Arn", &arn), ("Granularity", "RESOURCE_LEVEL")]), 400,
            "ValidationError",
            "1 validation error detected: Value 'RESOURCE_LEVEL' at 'granularity' failed to satisfy constraint: Member must satisfy enum value set: [SERVICE_LEVEL, ACTION_LEVEL]"),
        Case::error("a job nobody started", root, details(unknown_job), 404, "NoSuchEntity",
            format!("The job with ID {unknown_job} cannot be found.")),
        Case::error("a job id of the wrong length", root, details("short"), 400, "ValidationError",
            "1 validation error detected: Value 'short' at 'jobId' failed to satisfy constraint: Member must have length greater than or equal to 36"),
        Case::error("no job id", root, iam("GetServiceLastAccessedDetails", &[]), 400, "ValidationError",
            "Value null at 'jobId'"),
        Case::error("MaxItems of none", root, iam("GetServiceLastAccessedDetails", &[("JobId", &job), ("MaxItems", "0")]),
            400, "ValidationError",
            "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"),
        Case::error("MaxItems past the bound", root,
            iam("GetServiceLastAccessedDetailsWithEntities", &[("JobId", &job), ("ServiceNamespace", "iam"), ("MaxItems", "1001")]),
            400, "ValidationError",
            "1 validation error detected: Value '1001' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000"),
        Case::error("a marker never handed out", root, iam("GetServiceLastAccessedDetails", &[("JobId", &job), ("Marker", "bogus")]),
            400, "InvalidInput", "Marker bogus is not valid."),
        Case::error("a namespace that is none", root, with_entities(&job, "not a namespace"), 400, "ValidationError",
            "1 validation error detected: Value 'not a namespace' at 'serviceNamespace' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]*"),
        Case::error("no namespace", root, iam("GetServiceLastAccessedDetailsWithEntities", &[("JobId", &job)]), 400,
            "ValidationError", "Value null at 'serviceNamespace'"),
        Case::error("too many namespaces", root, iam("ListPoliciesGrantingServiceAccess", &too_many), 400,
            "ValidationError", "at 'serviceNamespaces' failed to satisfy constraint: Member must have length less than or equal to 200"),
        Case::error("an empty list of namespaces", root,
            iam("ListPoliciesGrantingServiceAccess", &[("Arn", &arn), ("ServiceNamespaces", "")]), 400, "ValidationError",
            "1 validation error detected: Value '[]' at 'serviceNamespaces' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        Case::error("no namespaces", root, iam("ListPoliciesGrantingServiceAccess", &[("Arn", &arn)]), 400,
            "ValidationError", "Value null at 'serviceNamespaces'"),
        Case::error("a namespace of the list that is none", root, listing("a b"), 400, "ValidationError",
            // As AWS reports a list of strings: once, on the list, with the element's constraints.
            "1 validation error detected: Value '[a b]' at 'serviceNamespaces' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 64, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [\\w-]*]"),
        Case::error("policies granting to a policy", root,
            iam("ListPoliciesGrantingServiceAccess", &[("Arn", ADMINISTRATOR), ("ServiceNamespaces.member.1", "iam")]),
            400, "InvalidInput", format!("ARN {ADMINISTRATOR} is not valid.")),
        Case::error("a marker on a listing that is always whole", root,
            iam("ListPoliciesGrantingServiceAccess", &[("Arn", &arn), ("ServiceNamespaces.member.1", "iam"), ("Marker", "1")]),
            400, "InvalidInput", "Marker 1 is not valid."),
        Case::denied("a caller without permissions", server.nobody(), generate(&arn),
            format!("is not authorized to perform: iam:GenerateServiceLastAccessedDetails on resource: {arn}")),
        Case::denied("nor may it list the policies", server.nobody(), listing("iam"),
            format!("is not authorized to perform: iam:ListPoliciesGrantingServiceAccess on resource: {arn}")),
        Case::denied("nor read a report", server.nobody(), details(&job),
            "is not authorized to perform: iam:GetServiceLastAccessedDetails on resource: *"),
    ]);
}

fn a_job_is_read_only_by_who_started_it(server: &TestServer) {
    let root = &server.root;
    let subject = unique("watched");
    server.user_with_policy(&subject, Some(LOOKUP_EVENTS));
    let subject_arn = server.arn_of("user", &subject);
    // Another principal with every permission over IAM.
    let reader = unique("reader");
    let reader_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#;
    let reader_key = server.user_with_policy(&reader, Some(reader_policy));
    // A user allowed to report on the subject only.
    let scoped = unique("scoped");
    let scoped_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["iam:GenerateServiceLastAccessedDetails","iam:GetServiceLastAccessedDetails"],"Resource":"{subject_arn}"}}]}}"#
    );
    let scoped_key = server.user_with_policy(&scoped, Some(&scoped_policy));
    let roots_job = server.generate(root, &subject_arn, "SERVICE_LEVEL");
    let readers_job = server.generate(&reader_key, &subject_arn, "SERVICE_LEVEL");
    server.run(&[
        Case::ok("who started it reads it", root, details(&roots_job)).xml("ServiceNamespace", "cloudtrail"),
        Case::error(
            "another principal does not",
            &reader_key,
            details(&roots_job),
            404,
            "NoSuchEntity",
            format!("The job with ID {roots_job} cannot be found."),
        ),
        Case::error(
            "nor its entities",
            &reader_key,
            with_entities(&roots_job, "cloudtrail"),
            404,
            "NoSuchEntity",
            "cannot be found.",
        ),
        Case::ok("that principal reads its own", &reader_key, details(&readers_job)),
        Case::error("and root does not read it", root, details(&readers_job), 404, "NoSuchEntity", "cannot be found."),
        Case::ok(
            "generating is authorized on the subject",
            &scoped_key,
            iam("GenerateServiceLastAccessedDetails", &[("Arn", &subject_arn)]),
        ),
        Case::denied(
            "and refused on another",
            &scoped_key,
            iam("GenerateServiceLastAccessedDetails", &[("Arn", &server.arn_of("user", &reader))]),
            format!("iam:GenerateServiceLastAccessedDetails on resource: {}", server.arn_of("user", &reader)),
        ),
        Case::denied(
            "reading is authorized on every resource",
            &scoped_key,
            details(&roots_job),
            "iam:GetServiceLastAccessedDetails on resource: *",
        ),
    ]);
}

fn reports_are_read_page_by_page(server: &TestServer) {
    let root = &server.root;
    let user = unique("paged");
    server.user_with_policy(&user, Some(EVERYTHING));
    let job = server.generate(root, &server.arn_of("user", &user), "SERVICE_LEVEL");
    let whole = server.iam(root, "GetServiceLastAccessedDetails", &[("JobId", &job)]).ok().xml_all("ServiceNamespace");
    let mut expected: Vec<String> =
        OPERATIONS.iter().filter_map(|operation| operation.action.split(':').next()).map(str::to_owned).collect();
    expected.sort();
    expected.dedup();
    assert_eq!(whole, expected, "every service Homeport serves");
    let walk = |action: &str, extra: &[(&str, &str)], element: &str, max_items: &str| {
        let mut seen = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..20 {
            let mut params = vec![("JobId", job.as_str()), ("MaxItems", max_items)];
            params.extend_from_slice(extra);
            if let Some(marker) = &marker {
                params.push(("Marker", marker));
            }
            let page = server.iam(root, action, &params).ok();
            seen.extend(page.xml_all(element));
            if page.xml("IsTruncated") != "true" {
                return seen;
            }
            marker = Some(page.xml("Marker"));
        }
        panic!("{action} never ended");
    };
    for max_items in ["1", "2", "5", "1000"] {
        assert_eq!(walk("GetServiceLastAccessedDetails", &[], "ServiceNamespace", max_items), whole, "by {max_items}");
    }
    let first = server.iam(root, "GetServiceLastAccessedDetails", &[("JobId", &job), ("MaxItems", "2")]).ok();
    assert_eq!((first.xml("IsTruncated"), first.xml_count_of("ServiceNamespace")), ("true".to_owned(), 2));

    // A group's members, a page at a time.
    let members: Vec<String> = (0..3).map(|_| unique("paged-member")).collect();
    for member in &members {
        server.user_with_policy(member, None);
    }
    let group = unique("paged-group");
    server.group_with(&group, &members.iter().map(String::as_str).collect::<Vec<_>>(), LOOKUP_EVENTS);
    let group_job = server.generate(root, &server.arn_of("group", &group), "SERVICE_LEVEL");
    let mut expected: Vec<String> = members.iter().map(|member| server.arn_of("user", member)).collect();
    expected.sort();
    let job = group_job;
    let walk_entities = |max_items: &str| {
        let mut seen = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..20 {
            let mut params = vec![("JobId", job.as_str()), ("ServiceNamespace", "cloudtrail"), ("MaxItems", max_items)];
            if let Some(marker) = &marker {
                params.push(("Marker", marker));
            }
            let page = server.iam(root, "GetServiceLastAccessedDetailsWithEntities", &params).ok();
            seen.extend(page.xml_all("Arn"));
            if page.xml("IsTruncated") != "true" {
                return seen;
            }
            marker = Some(page.xml("Marker"));
        }
        panic!("never ended");
    };
    for max_items in ["1", "2", "3"] {
        assert_eq!(walk_entities(max_items), expected, "entities by {max_items}");
    }
}

/// What the entities did, allowed or denied, shows in the reports about them. Needs the audit
/// importer to record every decision in `iam_usage`; the report reads what it recorded once
/// the trail has caught up (GenerateServiceLastAccessedDetails syncs it first), and the case
/// polls a few seconds besides.
fn what_entities_did_shows_in_their_reports(server: &TestServer) {
    let root = &server.root;
    let (actor, idle) = (unique("actor"), unique("idle"));
    let actor_key = server.user_with_policy(&actor, Some(ECS_AND_ONE_LOGS_ACTION));
    server.user_with_policy(&idle, None);
    let group = unique("actors");
    let ecs_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}"#;
    server.group_with(&group, &[&actor, &idle], ecs_only);
    let actor_arn = server.arn_of("user", &actor);

    server.ecs(&actor_key, "ListClusters", &serde_json::json!({})).ok();
    server.logs(&actor_key, "CreateLogGroup", &serde_json::json!({"logGroupName": unique("/advised/")})).ok();
    let denied = server.logs(&actor_key, "DescribeLogGroups", &serde_json::json!({}));
    assert_eq!((denied.status, denied.code().as_str()), (403, "AccessDeniedException"), "{}", denied.body);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let report = loop {
        let job = server.generate(root, &actor_arn, "ACTION_LEVEL");
        let report = server.iam(root, "GetServiceLastAccessedDetails", &[("JobId", &job)]).ok();
        let logs = service(&report, "logs");
        if logs.xml("TotalAuthenticatedEntities") == "1" || std::time::Instant::now() > deadline {
            break report;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(report.xml_all("ServiceNamespace"), ["ecs", "logs"]);
    for namespace in ["ecs", "logs"] {
        let used = service(&report, namespace);
        assert_eq!(used.xml("TotalAuthenticatedEntities"), "1", "{namespace}: {}", report.body);
        assert_eq!(used.xml("LastAuthenticatedEntity"), actor_arn, "{namespace}");
        assert_eq!(used.xml("LastAuthenticatedRegion"), "us-east-1", "{namespace}");
        assert!(used.xml("LastAuthenticated").starts_with("20"), "{namespace}: {}", used.body);
    }
    let ecs = service(&report, "ecs");
    let list_clusters = action(&ecs, "ListClusters");
    assert_eq!(list_clusters.xml("LastAccessedEntity"), actor_arn);
    assert_eq!(list_clusters.xml("LastAccessedRegion"), "us-east-1");
    assert!(!list_clusters.xml("LastAccessedTime").is_empty());
    assert_eq!(action(&ecs, "RunTask").xml_count_of("LastAccessedTime"), 0, "never attempted");
    let logs = service(&report, "logs");
    // DescribeLogGroups was denied: it counts for the service, but is no action the policy allows.
    assert_eq!(logs.xml_all("ActionName"), ["CreateLogGroup"]);
    assert_eq!(action(&logs, "CreateLogGroup").xml("LastAccessedEntity"), actor_arn);

    // The group: one member of two attempted its service.
    let job = server.generate(root, &server.arn_of("group", &group), "SERVICE_LEVEL");
    let report = server.iam(root, "GetServiceLastAccessedDetails", &[("JobId", &job)]).ok();
    assert_eq!(service(&report, "ecs").xml("TotalAuthenticatedEntities"), "1", "{}", report.body);
    assert_eq!(service(&report, "ecs").xml("LastAuthenticatedEntity"), actor_arn);
    let members =
        server.iam(root, "GetServiceLastAccessedDetailsWithEntities", &[("JobId", &job), ("ServiceNamespace", "ecs")]);
    let members = members.ok();
    assert_eq!(members.xml_all("Arn"), [actor_arn.clone(), server.arn_of("user", &idle)], "the latest first");
    assert_eq!(members.xml_count_of("LastAuthenticated"), 1);

    // A policy attached to both: its entities' use of what it allows.
    let document =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:ListClusters","Resource":"*"}]}"#;
    let policy_arn = server
        .iam(root, "CreatePolicy", &[("PolicyName", &unique("advised-policy")), ("PolicyDocument", document)])
        .ok()
        .xml("Arn");
    server.iam(root, "AttachGroupPolicy", &[("GroupName", &group), ("PolicyArn", &policy_arn)]).ok();
    let job = server.generate(root, &policy_arn, "ACTION_LEVEL");
    let report = server.iam(root, "GetServiceLastAccessedDetails", &[("JobId", &job)]).ok();
    assert_eq!(service(&report, "ecs").xml("TotalAuthenticatedEntities"), "1");
    assert_eq!(action(&service(&report, "ecs"), "ListClusters").xml("LastAccessedEntity"), actor_arn);
}

impl Response {
    /// How many `<tag>` elements the body holds.
    fn xml_count_of(&self, tag: &str) -> usize {
        self.xml_all(tag).len()
    }
}
