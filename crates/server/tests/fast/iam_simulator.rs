//! IAM's policy simulator (SimulateCustomPolicy, SimulatePrincipalPolicy), in process: the
//! decisions it reports for a table of policies and requests, its errors (today's codes and
//! messages), and refusals.

use crate::support::{Case, TestServer, iam, unique};

crate::support::on_both_stores!(custom_policies_are_decided_as_the_engine_decides, a_principals_policies_are_simulated);

const S3_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/*"}]}"#;
const DENY_DELETE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
const BY_TAG: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:StartInstances","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/team":"blue"}}}]}"#;

fn custom_policies_are_decided_as_the_engine_decides(server: &TestServer) {
    let root = &server.root;
    let simulate = |policies: &[&str], action: &str, resource: &str, context: &[(&str, &str)]| {
        let mut params: Vec<(String, String)> = policies
            .iter()
            .enumerate()
            .map(|(index, policy)| (format!("PolicyInputList.member.{}", index + 1), (*policy).to_owned()))
            .collect();
        params.push(("ActionNames.member.1".to_owned(), action.to_owned()));
        params.push(("ResourceArns.member.1".to_owned(), resource.to_owned()));
        for (index, (key, value)) in context.iter().enumerate() {
            let prefix = format!("ContextEntries.member.{}", index + 1);
            params.push((format!("{prefix}.ContextKeyName"), (*key).to_owned()));
            params.push((format!("{prefix}.ContextKeyValues.member.1"), (*value).to_owned()));
            params.push((format!("{prefix}.ContextKeyType"), "string".to_owned()));
        }
        let refs: Vec<(&str, &str)> = params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        iam("SimulateCustomPolicy", &refs)
    };
    server.run(&[
        Case::ok("allowed in the prefix", root, simulate(&[S3_READ], "s3:GetObject", "arn:aws:s3:::docs/a.txt", &[]))
            .xml("EvalDecision", "allowed"),
        Case::ok("outside the prefix", root, simulate(&[S3_READ], "s3:GetObject", "arn:aws:s3:::other/a.txt", &[]))
            .xml("EvalDecision", "implicitDeny"),
        Case::ok("another action", root, simulate(&[S3_READ], "s3:PutObject", "arn:aws:s3:::docs/a.txt", &[]))
            .xml("EvalDecision", "implicitDeny"),
        Case::ok("a deny wins", root, simulate(&[S3_READ, DENY_DELETE], "s3:GetObject", "arn:aws:s3:::docs/a", &[]))
            .xml("EvalDecision", "explicitDeny"),
        Case::ok("the condition holds", root, simulate(&[BY_TAG], "ec2:StartInstances", "*", &[("aws:RequestTag/team", "blue")]))
            .xml("EvalDecision", "allowed"),
        Case::ok("the condition fails", root, simulate(&[BY_TAG], "ec2:StartInstances", "*", &[("aws:RequestTag/team", "red")]))
            .xml("EvalDecision", "implicitDeny"),
        Case::ok("the key is missing", root, simulate(&[BY_TAG], "ec2:StartInstances", "*", &[]))
            .xml("EvalDecision", "implicitDeny")
            .contains("<MissingContextValues>\n<member>aws:RequestTag/team</member>\n</MissingContextValues>"),
        Case::error("a policy that is not JSON", root, simulate(&[S3_READ, "{"], "s3:GetObject", "*", &[]), 400,
            "MalformedPolicyDocument", "PolicyInputList.2: "),
        Case::error("no policies", root,
            iam("SimulateCustomPolicy", &[("ActionNames.member.1", "s3:GetObject")]), 400, "ValidationError",
            "policyInputList"),
        Case::error("MaxItems of none", root, iam("SimulateCustomPolicy", &[
            ("PolicyInputList.member.1", S3_READ), ("ActionNames.member.1", "s3:GetObject"), ("MaxItems", "0"),
        ]), 400, "ValidationError",
            "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"),
    ]);
}

fn a_principals_policies_are_simulated(server: &TestServer) {
    let root = &server.root;
    let name = unique("simulated");
    server.user_with_policy(&name, Some(S3_READ));
    let arn = server.user_arn(&name);
    let simulate = |source: &str, action: &str, resource: &str| {
        iam(
            "SimulatePrincipalPolicy",
            &[("PolicySourceArn", source), ("ActionNames.member.1", action), ("ResourceArns.member.1", resource)],
        )
    };
    server.run(&[
        Case::ok("what its policy allows", root, simulate(&arn, "s3:GetObject", "arn:aws:s3:::docs/x"))
            .xml("EvalDecision", "allowed"),
        Case::ok("what it does not", root, simulate(&arn, "s3:DeleteObject", "arn:aws:s3:::docs/x"))
            .xml("EvalDecision", "implicitDeny"),
        Case::error(
            "a user nobody made",
            root,
            simulate(&server.user_arn("nobody-made-me"), "s3:GetObject", "*"),
            404,
            "NoSuchEntity",
            format!("{} does not exist.", server.user_arn("nobody-made-me")),
        ),
        Case::error(
            "an ARN that is not one",
            root,
            simulate("not-an-arn-but-long-enough", "s3:GetObject", "*"),
            400,
            "InvalidInput",
            "ARN not-an-arn-but-long-enough is not valid.",
        ),
        Case::denied(
            "a user without permissions",
            server.nobody(),
            simulate(&arn, "s3:GetObject", "*"),
            format!("is not authorized to perform: iam:SimulatePrincipalPolicy on resource: {arn}"),
        ),
    ]);
}
