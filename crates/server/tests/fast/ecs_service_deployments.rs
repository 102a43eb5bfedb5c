//! ECS service deployments and revisions, in process (no container instance: a service of 0
//! tasks completes its rollout at once, one of 1 stays in progress): recorded by CreateService
//! and UpdateService, listed and described, stopped with a rollback, ECS's errors, and
//! authorized on the deployment's ARN.

use crate::support::{TestServer, unique};
use serde_json::{Value, json};

crate::support::on_both_stores!(
    deployments_are_recorded_listed_described_and_rolled_back,
    deployment_operations_refuse_what_ecs_refuses,
    deployments_are_authorized_on_their_own_arns
);

/// A cluster and a family of two revisions (`nginx:1`, then an image named by digest); their
/// names.
fn cluster_and_family(server: &TestServer) -> (String, String) {
    let cluster = unique("sd-cluster");
    let family = unique("sd-family");
    server.ecs(&server.root, "CreateCluster", &json!({"clusterName": cluster})).ok();
    for image in ["nginx:1", "registry.example/web@sha256:0123"] {
        let container = json!({"name": "web", "image": image, "memory": 64});
        server
            .ecs(
                &server.root,
                "RegisterTaskDefinition",
                &json!({"family": family, "containerDefinitions": [container]}),
            )
            .ok();
    }
    (cluster, family)
}

fn call(server: &TestServer, operation: &str, body: Value) -> Value {
    server.ecs(&server.root, operation, &body).ok().value()
}

fn describe(server: &TestServer, arn: &str) -> Value {
    let answer = call(server, "DescribeServiceDeployments", json!({"serviceDeploymentArns": [arn]}));
    answer["serviceDeployments"][0].clone()
}

fn deployments_are_recorded_listed_described_and_rolled_back(server: &TestServer) {
    let (cluster, family) = cluster_and_family(server);
    let name = unique("sd-web");
    let created = call(
        server,
        "CreateService",
        json!({"cluster": cluster, "serviceName": name, "taskDefinition": format!("{family}:1"), "desiredCount": 0,
            "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}}}),
    );
    let service_arn = created["service"]["serviceArn"].as_str().unwrap().to_owned();
    let first = created["service"]["currentServiceDeployment"].as_str().unwrap().to_owned();
    assert!(first.contains(&format!(":service-deployment/{cluster}/{name}/")), "{first}");
    assert!(created["service"].as_object().unwrap().keys().all(|k| !k.starts_with("homeport:")), "{created}");

    // No task to run: the first deployment completed in CreateService's own pass.
    let described = describe(server, &first);
    assert_eq!(described["status"], "SUCCESSFUL", "{described}");
    assert_eq!(described["serviceArn"], service_arn.as_str());
    assert_eq!(described["sourceServiceRevisions"], json!([]));
    assert_eq!(
        described["deploymentCircuitBreaker"],
        json!({"status": "MONITORING_COMPLETE", "failureCount": 0, "threshold": 3})
    );
    assert_eq!(described["alarms"], json!({"status": "DISABLED"}));
    assert_eq!(described["deploymentConfiguration"]["maximumPercent"], 200);
    assert!(described["startedAt"].is_number() && described["finishedAt"].is_number(), "{described}");
    assert!(described.as_object().unwrap().keys().all(|k| !k.starts_with("homeport:")), "{described}");
    let first_revision = described["targetServiceRevision"]["arn"].as_str().unwrap().to_owned();
    assert!(first_revision.contains(&format!(":service-revision/{cluster}/{name}/")), "{first_revision}");

    // A new revision with one task, and no instance to run it: in progress.
    let updated = call(
        server,
        "UpdateService",
        json!({"cluster": cluster, "service": name, "taskDefinition": format!("{family}:2"), "desiredCount": 1}),
    );
    let second = updated["service"]["currentServiceDeployment"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let described = describe(server, &second);
    assert_eq!(described["status"], "IN_PROGRESS", "{described}");
    assert_eq!(described["sourceServiceRevisions"][0]["arn"], first_revision.as_str());
    assert_eq!(described["targetServiceRevision"]["requestedTaskCount"], 1);
    assert_eq!(described["deploymentCircuitBreaker"]["status"], "MONITORING");
    let second_revision = described["targetServiceRevision"]["arn"].as_str().unwrap().to_owned();
    let summaries = &updated["service"]["currentServiceRevisions"];
    assert_eq!(summaries[0]["arn"], second_revision.as_str(), "{updated}");
    assert_eq!(summaries[0]["requestedTaskCount"], 1);

    let revisions = call(
        server,
        "DescribeServiceRevisions",
        json!({"serviceRevisionArns": [second_revision, first_revision, format!("{first_revision}0")]}),
    );
    let revision = &revisions["serviceRevisions"][0];
    assert_eq!(revision["taskDefinition"].as_str().unwrap().rsplit('/').next().unwrap(), format!("{family}:2"));
    assert_eq!(revision["launchType"], "EXTERNAL");
    assert_eq!(
        revision["containerImages"],
        json!([{"containerName": "web", "image": "registry.example/web@sha256:0123", "imageDigest": "sha256:0123"}])
    );
    assert_eq!(
        revisions["serviceRevisions"][1]["containerImages"][0],
        json!({"containerName": "web", "image": "nginx:1"})
    );
    assert_eq!(revisions["failures"], json!([{"arn": format!("{first_revision}0"), "reason": "MISSING"}]));

    // Listed newest first, filtered and paged.
    let list = |extra: Value| {
        let mut body = json!({"cluster": cluster, "service": name});
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        call(server, "ListServiceDeployments", body)
    };
    let arns = |answer: &Value| -> Vec<String> {
        answer["serviceDeployments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["serviceDeploymentArn"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = list(json!({}));
    assert_eq!(arns(&all), [second.clone(), first.clone()]);
    assert_eq!(all["serviceDeployments"][1]["targetServiceRevisionArn"], first_revision.as_str());
    assert_eq!(arns(&list(json!({"status": ["SUCCESSFUL"]}))), [first.as_str()]);
    assert_eq!(arns(&list(json!({"createdAt": {"after": 4_000_000_000_i64}}))).len(), 0);
    assert_eq!(arns(&list(json!({"createdAt": {"before": 4_000_000_000_i64, "after": 0}}))).len(), 2);
    let paged = list(json!({"maxResults": 1}));
    assert_eq!(arns(&paged), [second.as_str()]);
    let token = paged["nextToken"].as_str().unwrap();
    assert_eq!(arns(&list(json!({"maxResults": 1, "nextToken": token}))), [first.as_str()]);

    // Stopped with a rollback: the service goes back to revision 1 and, once scaled to 0,
    // its rollback completes.
    let stopped =
        call(server, "StopServiceDeployment", json!({"serviceDeploymentArn": second, "stopType": "ROLLBACK"}));
    assert_eq!(stopped, json!({"serviceDeploymentArn": second}));
    let described = describe(server, &second);
    assert_eq!(described["status"], "ROLLBACK_IN_PROGRESS", "{described}");
    assert_eq!(described["rollback"]["serviceRevisionArn"], first_revision.as_str());
    assert!(described["rollback"]["startedAt"].is_number());
    let service = call(server, "DescribeServices", json!({"cluster": cluster, "services": [name]}));
    assert!(service["services"][0]["taskDefinition"].as_str().unwrap().ends_with(&format!("{family}:1")), "{service}");
    assert_eq!(service["services"][0]["currentServiceDeployment"], second.as_str());
    assert_eq!(
        call(server, "StopServiceDeployment", json!({"serviceDeploymentArn": second})),
        json!({"serviceDeploymentArn": second}),
        "a rollback under way goes on"
    );
    call(server, "UpdateService", json!({"cluster": cluster, "service": name, "desiredCount": 0}));
    let described = describe(server, &second);
    assert_eq!(described["status"], "ROLLBACK_SUCCESSFUL", "{described}");
    assert!(described["finishedAt"].is_number());
    let refused = server.ecs(&server.root, "StopServiceDeployment", &json!({"serviceDeploymentArn": second}));
    assert_eq!((refused.status, refused.code().as_str()), (400, "ConflictException"), "{}", refused.body);

    // A deployment replaced before it finished is stopped.
    let third = call(
        server,
        "UpdateService",
        json!({"cluster": cluster, "service": name, "taskDefinition": format!("{family}:2"), "desiredCount": 1}),
    )["service"]["currentServiceDeployment"]
        .as_str()
        .unwrap()
        .to_owned();
    let fourth = call(
        server,
        "UpdateService",
        json!({"cluster": cluster, "service": name, "forceNewDeployment": true}),
    )["service"]["currentServiceDeployment"]
        .as_str()
        .unwrap()
        .to_owned();
    let replaced = describe(server, &third);
    assert_eq!(replaced["status"], "STOPPED", "{replaced}");
    assert!(replaced["stoppedAt"].is_number());
    let forced = describe(server, &fourth);
    assert_eq!(forced["status"], "IN_PROGRESS", "{forced}");
    assert_eq!(forced["sourceServiceRevisions"].as_array().unwrap().len(), 1, "{forced}");

    // Deleted with its service.
    call(server, "DeleteService", json!({"cluster": cluster, "service": name, "force": true}));
    let gone = call(server, "DescribeServiceDeployments", json!({"serviceDeploymentArns": [first]}));
    assert_eq!(gone, json!({"serviceDeployments": [], "failures": [{"arn": first, "reason": "MISSING"}]}));
}

fn deployment_operations_refuse_what_ecs_refuses(server: &TestServer) {
    let (cluster, family) = cluster_and_family(server);
    let name = unique("sd-web");
    let created = call(
        server,
        "CreateService",
        json!({"cluster": cluster, "serviceName": name, "taskDefinition": family, "desiredCount": 1}),
    );
    let arn = created["service"]["currentServiceDeployment"].as_str().unwrap().to_owned();
    let missing = arn.replace(&format!("/{name}/"), &format!("/{name}/x"));
    let too_many: Vec<String> = (0..21).map(|n| format!("{arn}{n}")).collect();
    let cases: Vec<(&str, Value, &str, String)> = vec![
        (
            "ListServiceDeployments",
            json!({"cluster": cluster, "service": "nobody"}),
            "ServiceNotFoundException",
            "Service not found.".to_owned(),
        ),
        (
            "ListServiceDeployments",
            json!({"cluster": unique("none"), "service": name}),
            "ClusterNotFoundException",
            "Cluster not found.".to_owned(),
        ),
        (
            "ListServiceDeployments",
            json!({"cluster": cluster, "service": name, "maxResults": 101}),
            "InvalidParameterException",
            "maxResults must be between 1 and 100.".to_owned(),
        ),
        (
            "ListServiceDeployments",
            json!({"cluster": cluster, "service": name, "status": ["FAILED"]}),
            "InvalidParameterException",
            String::new(),
        ),
        (
            "DescribeServiceDeployments",
            json!({"serviceDeploymentArns": too_many}),
            "InvalidParameterException",
            "serviceDeploymentArns must have between 1 and 20 items.".to_owned(),
        ),
        (
            "DescribeServiceRevisions",
            json!({"serviceRevisionArns": []}),
            "InvalidParameterException",
            "serviceRevisionArns must have between 1 and 20 items.".to_owned(),
        ),
        (
            "StopServiceDeployment",
            json!({"serviceDeploymentArn": missing}),
            "ServiceDeploymentNotFoundException",
            "Service deployment not found.".to_owned(),
        ),
        (
            "StopServiceDeployment",
            json!({"serviceDeploymentArn": arn, "stopType": "ABORT"}),
            "InvalidParameterException",
            "The stop type ABORT is not supported. The valid stop type is ROLLBACK.".to_owned(),
        ),
        (
            "StopServiceDeployment",
            json!({"serviceDeploymentArn": arn, "stopType": "PAUSE"}),
            "InvalidParameterException",
            String::new(),
        ),
        // The first deployment has nothing to roll back to.
        (
            "StopServiceDeployment",
            json!({"serviceDeploymentArn": arn}),
            "ConflictException",
            "The service deployment has no source service revision to roll back to.".to_owned(),
        ),
        (
            "ContinueServiceDeployment",
            json!({"serviceDeploymentArn": arn, "hookId": "h-1"}),
            "InvalidParameterException",
            format!("The service deployment {arn} is not paused at lifecycle hook h-1: it has no lifecycle hooks."),
        ),
        (
            "ContinueServiceDeployment",
            json!({"serviceDeploymentArn": missing, "hookId": "h-1"}),
            "ServiceDeploymentNotFoundException",
            "Service deployment not found.".to_owned(),
        ),
    ];
    for (operation, body, code, message) in cases {
        let answer = server.ecs(&server.root, operation, &body);
        assert_eq!((answer.status, answer.code().as_str()), (400, code), "{operation} {body}: {}", answer.body);
        if !message.is_empty() {
            assert_eq!(answer.message(), message, "{operation} {body}");
        }
    }
    assert_eq!(describe(server, &arn)["status"], "IN_PROGRESS", "nothing refused changed it");
}

fn deployments_are_authorized_on_their_own_arns(server: &TestServer) {
    let (cluster, family) = cluster_and_family(server);
    let (mine, other) = (unique("sd-mine"), unique("sd-other"));
    let arn_of = |name: &str| {
        call(
            server,
            "CreateService",
            json!({"cluster": cluster, "serviceName": name, "taskDefinition": family, "desiredCount": 0}),
        )["service"]["currentServiceDeployment"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (allowed, refused) = (arn_of(&mine), arn_of(&other));
    let account = &server.account_id;
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecs:DescribeServiceDeployments", "ecs:StopServiceDeployment"],
         "Resource": format!("arn:aws:ecs:us-east-1:{account}:service-deployment/{cluster}/{mine}/*")},
        {"Effect": "Allow", "Action": "ecs:ListServiceDeployments",
         "Resource": format!("arn:aws:ecs:us-east-1:{account}:service/{cluster}/{mine}")},
    ]});
    let key = server.user_with_policy(&unique("sd-user"), Some(&policy.to_string()));
    // The code of a refusal, "" for an answer.
    let code = |operation: &str, body: Value| {
        let answer = server.ecs(&key, operation, &body);
        if answer.status == 200 { String::new() } else { answer.code() }
    };
    assert_eq!(code("DescribeServiceDeployments", json!({"serviceDeploymentArns": [allowed]})), "");
    let both = json!({"serviceDeploymentArns": [allowed, refused]});
    assert_eq!(code("DescribeServiceDeployments", both), "AccessDeniedException");
    assert_eq!(code("ListServiceDeployments", json!({"cluster": cluster, "service": mine})), "");
    assert_eq!(code("ListServiceDeployments", json!({"cluster": cluster, "service": other})), "AccessDeniedException");
    let denied = server.ecs(&key, "StopServiceDeployment", &json!({"serviceDeploymentArn": refused}));
    assert_eq!(denied.code(), "AccessDeniedException", "{}", denied.body);
    // Allowed, and refused for what it is: a completed deployment.
    let conflict = server.ecs(&key, "StopServiceDeployment", &json!({"serviceDeploymentArn": allowed}));
    assert_eq!(conflict.code(), "ConflictException", "{}", conflict.body);
}
