//! Every routed operation (the server's own table, `server::operations::OPERATIONS`), in
//! process: each refuses an unsigned request in its protocol's words, and each that needs a
//! permission refuses a caller without any, naming the operation's IAM action. A new operation
//! is covered the moment it is routed; a restJson one is called at its route (method and path,
//! each label a placeholder).

use aws_protocol::Protocol;
use server::operations::Authorization;
use server::services::OPERATIONS;

use crate::support::shared;

/// Parameters enough for every awsQuery operation to get as far as authorization: every
/// member its model requires, within the model's constraints (the pipeline validates first).
const QUERY_PARAMS: &str = concat!(
    "Tags.member.1.Key=k&Tags.member.1.Value=v&TagKeys.member.1=k&Status=Active&Description=d",
    "&PermissionsBoundary=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FAdministratorAccess&",
    "UserName=nobody&GroupName=g&PolicyName=p&AccessKeyId=AKIAIOSFODNN7EXAMPLE&PolicyDocument=%7B%7D",
    "&RoleName=r&InstanceProfileName=ip&AWSServiceName=ecs.amazonaws.com&RoleSessionName=session",
    "&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fr&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FAdministratorAccess",
    "&AssumeRolePolicyDocument=%7B%7D&VersionId=v1&PolicySourceArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Auser%2Fnobody",
    "&ActionNames.member.1=s3%3AGetObject&PolicyInputList.member.1=%7B%7D",
    "&Arn=arn%3Aaws%3Aiam%3A%3A111122223333%3Auser%2Fnobody&JobId=0e4c2a9e-1f7b-4c1d-a2b3-c4d5e6f70809",
    "&ServiceNamespace=iam&ServiceNamespaces.member.1=iam&DeletionTaskId=task%2Faws-service-role%2Fx%2Fy%2Fz",
    "&ServerCertificateName=sc&OldPassword=old&NewPassword=new&SSHPublicKeyBody=key&Encoding=SSH",
    "&SSHPublicKeyId=APKAEIBAERJR2EXAMPLE&ServiceName=codecommit.amazonaws.com",
    "&ServiceSpecificCredentialId=ACCAEXAMPLE123EXAMPLE&CertificateBody=cert&PrivateKey=key",
    "&CertificateId=ABCDEFGHIJKLMNOPQRSTUVWX",
    "&Url=https%3A%2F%2Fissuer.example.com&OpenIDConnectProviderArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Aoidc-provider%2Fissuer.example.com",
    "&ClientID=app&ThumbprintList.member.1=6938fd4d98bab03faadb97b34396831e3780aea1",
    "&SAMLProviderArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Asaml-provider%2Fidp",
    "&Name=federated&TargetPrincipal=111122223333&TaskPolicyArn.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2Froot-task%2FIAMAuditRootUserCredentials",
    "&EncodedMessage=m&TradeInToken=t&Audience.member.1=https%3A%2F%2Fexample.com&SigningAlgorithm=ES384",
    "&AccountAlias=alias-x&GlobalEndpointTokenVersion=v1Token&EntityPath=o-a1b2c3d4e5%2Fr-f6g7h8i9j0example",
    "&DelegationRequestId=abcdefghijklmnop-1&Permissions.PolicyTemplateArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2Fx",
    "&RequestorWorkflowId=workflow&NotificationChannel=arn%3Aaws%3Asns%3Aus-east-1%3A111122223333%3At",
    "&SessionDuration=3600&EntityArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Adelegation-request%2Fx",
);

/// What IAM's MFA device operations name besides (STS reads `SerialNumber` as an MFA code's
/// device, which would refuse GetSessionToken for want of a code).
const IAM_MFA_PARAMS: &str = "&VirtualMFADeviceName=d&SerialNumber=arn%3Aaws%3Aiam%3A%3A111122223333%3Amfa%2Fd&AuthenticationCode1=123456&AuthenticationCode2=654321";

/// Members enough for every awsJson operation of `service` to get as far as authorization:
/// every member its model requires, within the model's constraints (the pipeline validates
/// first).
fn json_body(service: &str, operation: &str) -> &'static str {
    match service {
        "ssm" => {
            r#"{"InstanceId":"mi-0123456789abcdef0","ResourceType":"ManagedInstance","ResourceId":"mi-0123456789abcdef0",
            "IamRole":"r","ActivationId":"0123abcd-0123-4567-89ab-0123456789ab","Tags":[{"Key":"k","Value":"v"}],"TagKeys":["k"],
            "Name":"n","Names":["n"],"Path":"/p","Value":"v","Labels":["l"],"ParameterVersion":1}"#
        }
        // Its `status` is a list of deployment statuses, not ECS's usual word.
        "ecs" if operation == "ListServiceDeployments" => r#"{"cluster":"c","service":"s"}"#,
        "ecs" => {
            r#"{"cluster":"c","taskDefinition":"t:1","task":"t","containerInstance":"arn:aws:ecs:us-east-1:111122223333:container-instance/c/x",
            "serviceName":"s","service":"s","family":"f","containerDefinitions":[],"taskDefinitions":["t:1"],
            "containerInstances":["arn:aws:ecs:us-east-1:111122223333:container-instance/c/x"],"status":"ACTIVE",
            "attributes":[{"name":"a"}],"targetType":"container-instance","tasks":["t"],"services":["s"],
            "resourceArn":"arn:aws:ecs:us-east-1:111122223333:cluster/c","tags":[{"key":"k","value":"v"}],"tagKeys":["k"],
            "name":"serviceLongArnFormat","value":"enabled","principalArn":"arn:aws:iam::111122223333:role/r",
            "capacityProvider":"cp","capacityProviders":[],"defaultCapacityProviderStrategy":[],
            "autoScalingGroupProvider":{"autoScalingGroupArn":"arn:aws:autoscaling:us-east-1:111122223333:autoScalingGroup:x"},
            "settings":[{"name":"containerInsights","value":"enabled"}],"namespace":"n","command":"ls","interactive":true,
            "attachments":[],"protectionEnabled":true,"taskSet":"ecs-svc/1","primaryTaskSet":"ecs-svc/1",
            "scale":{"value":50,"unit":"PERCENT"},
            "serviceDeploymentArn":"arn:aws:ecs:us-east-1:111122223333:service-deployment/c/s/d",
            "serviceDeploymentArns":["arn:aws:ecs:us-east-1:111122223333:service-deployment/c/s/d"],
            "serviceRevisionArns":["arn:aws:ecs:us-east-1:111122223333:service-revision/c/s/1"],"hookId":"h"}"#
        }
        "ecr" => {
            r#"{"repositoryName":"repo","imageTagMutability":"MUTABLE","policyText":"{}","imageManifest":"{}",
            "imageIds":[{"imageTag":"latest"}],"uploadId":"0123abcd-0123-4567-89ab-0123456789ab",
            "layerDigest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "layerDigests":["sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
            "partFirstByte":0,"partLastByte":0,"layerPartBlob":"AA==",
            "resourceArn":"arn:aws:ecr:us-east-1:111122223333:repository/repo","tags":[],"tagKeys":["k"],
            "lifecyclePolicyText":"{\"rules\":[{\"rulePriority\":1,\"selection\":{\"tagStatus\":\"any\",\"countType\":\"imageCountMoreThan\",\"countNumber\":1},\"action\":{\"type\":\"expire\"}}]}",
            "replicationConfiguration":{"rules":[]},"name":"BLOB_MOUNTING",
            "value":"DISABLED","imageId":{"imageTag":"v1"},"imageScanningConfiguration":{"scanOnPush":false},
            "repositoryNames":["repo"],"subjectId":{"imageDigest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"},
            "targetStorageClass":"STANDARD","ecrRepositoryPrefix":"repo","upstreamRegistryUrl":"registry.example.com",
            "prefix":"repo","appliedFor":["REPLICATION"],"signingConfiguration":{"rules":[]},
            "principalArn":"arn:aws:iam::111122223333:role/r"}"#
        }
        // UntagLogGroup's `tags` are keys; every other operation's are a map.
        "logs" if operation == "UntagLogGroup" => r#"{"logGroupName":"g","tags":["k"]}"#,
        "logs" if matches!(operation, "DescribeFieldIndexes" | "DescribeIndexPolicies") => {
            r#"{"logGroupIdentifiers":["g"]}"#
        }
        "logs" if operation == "PutLogGroupDeletionProtection" => {
            r#"{"logGroupIdentifier":"g","deletionProtectionEnabled":true}"#
        }
        "logs" => {
            r#"{"logGroupName":"g","logStreamName":"s","retentionInDays":1,"logEvents":[{"timestamp":0,"message":"m"}],
            "tags":{"k":"v"},"tagKeys":["k"],"resourceArn":"arn:aws:logs:us-east-1:111122223333:log-group:g",
            "filterName":"f","filterPattern":"","logEventMessages":["m"],
            "metricTransformations":[{"metricName":"m","metricNamespace":"n","metricValue":"1"}],
            "destinationArn":"arn:aws:lambda:us-east-1:111122223333:function:f",
            "queryId":"q","logRecordPointer":"p","startTime":0,"endTime":1,"queryString":"fields @message","name":"n",
            "queryDefinitionId":"d","destinationName":"d","targetArn":"arn:aws:kinesis:us-east-1:111122223333:stream/s",
            "roleArn":"arn:aws:iam::111122223333:role/r","accessPolicy":"{}","policyName":"p","policyDocument":"{}",
            "policyType":"SUBSCRIPTION_FILTER_POLICY",
            "kmsKeyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "logType":"ACCESS_LOGS","deliverySourceName":"s","id":"abc","deliveryDestinationName":"d",
            "deliveryDestinationArn":"arn:aws:logs:us-east-1:111122223333:delivery-destination:d",
            "deliveryDestinationPolicy":"{}","queryLanguage":"CWLI","scheduleExpression":"rate(1 minute)",
            "executionRoleArn":"arn:aws:iam::111122223333:role/r","identifier":"q","lookupTableName":"t","tableBody":"id\n1\n",
            "lookupTableArn":"arn:aws:logs:us-east-1:111122223333:lookup-table:t"}"#
        }
        "secretsmanager" => {
            r#"{"SecretId":"s","Name":"n","ResourcePolicy":"{}","Tags":[],"TagKeys":["k"],"VersionStage":"AWSCURRENT"}"#
        }
        _ => "{}",
    }
}

#[test]
fn every_operation_refuses_the_unsigned_and_the_unauthorized() {
    let server = shared();
    let nobody = server.nobody();
    assert!(OPERATIONS.len() > 80, "the table lists every operation: {}", OPERATIONS.len());
    let mut failures = Vec::new();
    for operation in OPERATIONS {
        let name = format!("{}:{}", operation.service, operation.name);
        if let Some(route) = operation.route {
            // restJson: the route's method and path (each label a placeholder), an empty object.
            let path: Vec<&str> = route
                .path
                .split('/')
                .map(|segment| if segment.starts_with('{') { "placeholder" } else { segment })
                .collect();
            let path = path.join("/");
            let body = serde_json::json!({});
            let call = |key| server.rest_json(key, operation.service, route.method, &path, "", Some(&body));
            let unsigned = call(None);
            if (unsigned.status, unsigned.code().as_str()) != (403, "MissingAuthenticationTokenException") {
                failures.push(format!("{name} unsigned: {} {} {}", unsigned.status, unsigned.head, unsigned.body));
            }
            let refused = call(Some(nobody));
            let names_action = refused.message().contains(&format!("not authorized to perform: {}", operation.action));
            if (refused.status, refused.code().as_str()) != (403, "AccessDeniedException") || !names_action {
                failures
                    .push(format!("{name} without permission: {} {} {}", refused.status, refused.head, refused.body));
            }
            continue;
        }
        let (target, body, missing, denied) = match operation.protocol {
            Protocol::Query => (
                None,
                format!(
                    "Action={}&Version=2010-05-08&{QUERY_PARAMS}{}",
                    operation.name,
                    // A SAML metadata document is at least 1,000 characters.
                    if operation.service == "iam" {
                        format!("{IAM_MFA_PARAMS}&SAMLMetadataDocument={}", "m".repeat(1000))
                    } else {
                        String::new()
                    }
                ),
                "MissingAuthenticationToken",
                "AccessDenied",
            ),
            Protocol::Json | Protocol::RestJson => (
                Some(format!("{}.{}", operation.namespace, operation.name)),
                json_body(operation.service, operation.name).to_owned(),
                "MissingAuthenticationTokenException",
                "AccessDeniedException",
            ),
        };
        let unsigned = server.post_raw(None, operation.service, target.as_deref(), &body);
        if (unsigned.status, unsigned.code().as_str()) != (403, missing) {
            failures.push(format!("{name} unsigned: {} {}", unsigned.status, unsigned.body));
        }
        let refused = server.post_raw(Some(nobody), operation.service, target.as_deref(), &body);
        match operation.authorization {
            // As on AWS, a caller may ask who it is, or for session credentials, without permission.
            Authorization::Always | Authorization::UnlessDenied => {
                if refused.status != 200 {
                    failures.push(format!("{name} needs no permission: {} {}", refused.status, refused.body));
                }
            }
            Authorization::Policies | Authorization::WithResourcePolicy(_) | Authorization::Instance => {
                let names_action =
                    refused.message().contains(&format!("not authorized to perform: {}", operation.action));
                if (refused.status, refused.code().as_str()) != (403, denied) || !names_action {
                    failures.push(format!("{name} without permission: {} {}", refused.status, refused.body));
                }
            }
        }
    }
    crate::support::report(failures);
}
