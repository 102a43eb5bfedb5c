//! SSM managed instances with none registered, in process: what the listing, deregistration
//! and tagging answer for instances that are not there or ids that cannot be one (today's
//! codes and messages), and refusals.

use serde_json::json;

use crate::support::{Case, TestServer, ssm};

crate::support::on_both_stores!(instances_that_are_not_there);

fn instances_that_are_not_there(server: &TestServer) {
    let root = &server.root;
    let absent = "mi-0123456789abcdef0";
    server.run(&[
        Case::ok("none with this id", root, ssm("DescribeInstanceInformation", json!({
            "Filters": [{"Key": "InstanceIds", "Values": [absent]}],
        })))
        .json_len("/InstanceInformationList", 0),
        Case::error("an unknown filter", root, ssm("DescribeInstanceInformation", json!({
            "Filters": [{"Key": "Colour", "Values": ["red"]}],
        })), 400, "InvalidFilterKey", "The filter key Colour is not valid."),
        Case::error("deregister one never registered", root, ssm("DeregisterManagedInstance", json!({"InstanceId": absent})),
            400, "InvalidInstanceId", format!("Instance Id {absent} is not valid or is not registered.")),
        Case::error("deregister an EC2 id", root,
            ssm("DeregisterManagedInstance", json!({"InstanceId": "i-0123456789abcdef0"})), 400, "ValidationException",
            r"2 validation errors detected: Value 'i-0123456789abcdef0' at 'instanceId' failed to satisfy constraint: Member must satisfy regular expression pattern: (^mi-[0-9a-f]{17}$)|(^eks_c:[0-9A-Za-z][A-Za-z0-9\-_]{0,99}_\w{17}$); Value 'i-0123456789abcdef0' at 'instanceId' failed to satisfy constraint: Member must have length greater than or equal to 20"),
        Case::error("deregister nothing", root, ssm("DeregisterManagedInstance", json!({})), 400, "ValidationException",
            "1 validation error detected: Value null at 'instanceId' failed to satisfy constraint: Member must not be null"),
        Case::error("tag a document", root, ssm("AddTagsToResource", json!({
            "ResourceType": "Document", "ResourceId": "doc", "Tags": [{"Key": "k", "Value": "v"}],
        })), 400, "InvalidResourceType", "The resource type Document is not supported."),
        Case::error("tag one never registered", root, ssm("AddTagsToResource", json!({
            "ResourceType": "ManagedInstance", "ResourceId": absent, "Tags": [{"Key": "k", "Value": "v"}],
        })), 400, "InvalidResourceId", format!("The resource ID {absent} is not valid.")),
        Case::error("its tags", root, ssm("ListTagsForResource", json!({"ResourceType": "ManagedInstance", "ResourceId": absent})),
            400, "InvalidResourceId", format!("The resource ID {absent} is not valid.")),
        Case::denied("a user without permissions", server.nobody(),
            ssm("DeregisterManagedInstance", json!({"InstanceId": absent})),
            format!("is not authorized to perform: ssm:DeregisterManagedInstance on resource: arn:aws:ssm:us-east-1:{}:managed-instance/{absent}", server.account_id)),
    ]);
}
