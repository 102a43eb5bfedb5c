//! ECS's account settings, in process: a principal's own value over the account's default
//! over ECS's, per region; `principalArn`; the values ECS takes and those Homeport refuses;
//! `containerInsights` as each new cluster's default. The account-wide cases run in regions
//! no other case uses, since the account's defaults are shared by every case of a region.

use crate::support::{Case, TestServer, ecs, in_region, unique};
use serde_json::json;

crate::support::on_both_stores!(
    a_principals_setting_overrides_the_default_which_overrides_ecss,
    settings_take_ecss_values_and_refuse_the_rest,
    the_insights_setting_is_each_new_clusters_default,
    account_settings_need_their_permissions
);

fn a_principals_setting_overrides_the_default_which_overrides_ecss(server: &TestServer) {
    let root = &server.root;
    let root_arn = format!("arn:aws:iam::{}:root", server.account_id);
    let name = unique("settings-user");
    let user = server.user_with_policy(
        &name,
        Some(
            r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecs:*AccountSetting*", "Resource": "*"}]}"#,
        ),
    );
    let user_arn = server.user_arn(&name);
    let effective = |name: &str| ecs("ListAccountSettings", json!({"effectiveSettings": true, "name": name}));
    in_region("ap-southeast-4", || {
        server.run(&[
            Case::ok("ECS's default", &user, effective("awsvpcTrunking")).json(
                "/settings",
                json!([{"name": "awsvpcTrunking", "value": "disabled", "principalArn": root_arn,
                                           "type": "user"}]),
            ),
            Case::ok("nothing of the user's own", &user, ecs("ListAccountSettings", json!({})))
                .json_len("/settings", 0),
            Case::ok("every setting, effective", &user, ecs("ListAccountSettings", json!({"effectiveSettings": true})))
                .json_len("/settings", 10)
                .json(
                    "/settings/0",
                    json!({"name": "serviceLongArnFormat", "value": "enabled", "principalArn": root_arn,
                                             "type": "user"}),
                )
                .json("/nextToken", "10"),
            Case::ok(
                "the next page",
                &user,
                ecs("ListAccountSettings", json!({"effectiveSettings": true, "nextToken": "10"})),
            )
            .json_len("/settings", 1)
            .json("/settings/0/name", "fargateEventWindows"),
            Case::ok(
                "the account's default",
                root,
                ecs("PutAccountSettingDefault", json!({"name": "awsvpcTrunking", "value": "enabled"})),
            )
            .json(
                "/setting",
                json!({"name": "awsvpcTrunking", "value": "enabled", "principalArn": root_arn,
                                          "type": "user"}),
            ),
            Case::ok("applies to the user", &user, effective("awsvpcTrunking")).json("/settings/0/value", "enabled"),
            Case::ok(
                "the user's own",
                &user,
                ecs("PutAccountSetting", json!({"name": "awsvpcTrunking", "value": "disabled"})),
            )
            .json("/setting/principalArn", user_arn.as_str()),
            Case::ok("overrides it", &user, effective("awsvpcTrunking")).json(
                "/settings/0",
                json!({"name": "awsvpcTrunking", "value": "disabled", "principalArn": user_arn,
                                             "type": "user"}),
            ),
            Case::ok("listed as the user's", &user, ecs("ListAccountSettings", json!({}))).json_len("/settings", 1),
            Case::ok(
                "filtered by value",
                &user,
                ecs("ListAccountSettings", json!({"name": "awsvpcTrunking", "value": "enabled"})),
            )
            .json_len("/settings", 0),
            Case::ok(
                "root reads the user's through principalArn",
                root,
                ecs("ListAccountSettings", json!({"principalArn": user_arn, "name": "awsvpcTrunking"})),
            )
            .json("/settings/0/value", "disabled"),
            Case::ok(
                "root sets another for the user",
                root,
                ecs(
                    "PutAccountSetting",
                    json!({"name": "fargateFIPSMode", "value": "enabled", "principalArn": user_arn}),
                ),
            )
            .json("/setting/principalArn", user_arn.as_str()),
            Case::ok("the user has two now", &user, ecs("ListAccountSettings", json!({}))).json_len("/settings", 2),
            Case::ok("deleted", &user, ecs("DeleteAccountSetting", json!({"name": "awsvpcTrunking"})))
                .json("/setting/value", "disabled"),
            Case::ok("the default applies again", &user, effective("awsvpcTrunking"))
                .json("/settings/0/value", "enabled")
                .json("/settings/0/principalArn", root_arn.as_str()),
        ]);
    });
    // Another region has its own.
    server.run(&[Case::ok("us-east-1 keeps ECS's default", &user, effective("fargateFIPSMode"))
        .json("/settings/0/value", "disabled")]);
    in_region("ap-southeast-4", || {
        server.ecs(root, "DeleteAccountSetting", &json!({"name": "awsvpcTrunking"})).ok();
    });
}

fn settings_take_ecss_values_and_refuse_the_rest(server: &TestServer) {
    let root = &server.root;
    let put = |name: &str, value: &str| ecs("PutAccountSetting", json!({"name": name, "value": value}));
    let invalid = |case: &str, call, message: &str| {
        Case::error(case, root, call, 400, "InvalidParameterException", message.to_owned())
    };
    in_region("me-central-1", || {
        server.run(&[
            invalid(
                "a name ECS does not have",
                put("colour", "blue"),
                "Value 'colour' at 'name' failed to satisfy constraint: Member must satisfy enum value set",
            ),
            invalid(
                "a value it does not take",
                put("containerInsights", "loud"),
                "Invalid value loud for containerInsights: it takes enabled, disabled, enhanced.",
            ),
            invalid(
                "short ARNs",
                put("taskLongArnFormat", "disabled"),
                "Homeport names every resource with the long ARN format; it cannot be turned off.",
            ),
            invalid(
                "blocking logs",
                put("defaultLogDriverMode", "blocking"),
                "Homeport's agent never blocks a container on its logs.",
            ),
            invalid(
                "an AWS-managed setting",
                put("guardDutyActivate", "on"),
                "guardDutyActivate is managed by AWS and can not be modified.",
            ),
            Case::ok(
                "its value read",
                root,
                ecs("ListAccountSettings", json!({"name": "guardDutyActivate", "effectiveSettings": true})),
            )
            .json("/settings/0/type", "aws_managed")
            .json("/settings/0/value", "off"),
            invalid(
                "a principal of another account",
                ecs(
                    "PutAccountSetting",
                    json!({"name": "awsvpcTrunking", "value": "enabled",
                                                "principalArn": "arn:aws:iam::999988887777:user/x"}),
                ),
                "Invalid principal ARN: arn:aws:iam::999988887777:user/x.",
            ),
            invalid(
                "a value without a name",
                ecs("ListAccountSettings", json!({"value": "enabled"})),
                "value can only be specified with name.",
            ),
            invalid(
                "eleven a page",
                ecs("ListAccountSettings", json!({"maxResults": 11})),
                "maxResults must be between 1 and 10.",
            ),
            Case::ok("the retirement wait, by root", root, put("fargateTaskRetirementWaitPeriod", "14"))
                .json("/setting/value", "14"),
            Case::ok("the long ARN format, enabled", root, put("serviceLongArnFormat", "enabled")),
        ]);
    });
}

fn the_insights_setting_is_each_new_clusters_default(server: &TestServer) {
    let root = &server.root;
    let name = unique("insights-user");
    let user = server.user_with_policy(
        &name,
        Some(
            r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecs:PutAccountSetting", "ecs:CreateCluster"], "Resource": "*"}]}"#,
        ),
    );
    let create = || ecs("CreateCluster", json!({"clusterName": unique("insights")}));
    server.run(&[
        Case::ok("off by default", &user, create()).json("/cluster/settings/0/value", "disabled"),
        Case::ok(
            "the user turns it on for itself",
            &user,
            ecs("PutAccountSetting", json!({"name": "containerInsights", "value": "enhanced"})),
        ),
        Case::ok("its new clusters have it", &user, create())
            .json("/cluster/settings/0", json!({"name": "containerInsights", "value": "enhanced"})),
        Case::ok(
            "a cluster's own setting wins",
            &user,
            ecs(
                "CreateCluster",
                json!({"clusterName": unique("insights"),
                                        "settings": [{"name": "containerInsights", "value": "disabled"}]}),
            ),
        )
        .json("/cluster/settings/0/value", "disabled"),
        Case::ok("others' clusters keep ECS's default", root, create()).json("/cluster/settings/0/value", "disabled"),
    ]);
}

fn account_settings_need_their_permissions(server: &TestServer) {
    let nobody = server.nobody();
    let setting = json!({"name": "awsvpcTrunking", "value": "enabled"});
    server.run(&[
        Case::denied("put", nobody, ecs("PutAccountSetting", setting.clone()), "ecs:PutAccountSetting on resource: *"),
        Case::denied(
            "put the default",
            nobody,
            ecs("PutAccountSettingDefault", setting),
            "ecs:PutAccountSettingDefault on resource: *",
        ),
        Case::denied(
            "delete",
            nobody,
            ecs("DeleteAccountSetting", json!({"name": "awsvpcTrunking"})),
            "ecs:DeleteAccountSetting",
        ),
        Case::denied("list", nobody, ecs("ListAccountSettings", json!({})), "ecs:ListAccountSettings"),
    ]);
}
