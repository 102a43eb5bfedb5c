//! IAM's OpenID Connect providers, in process: create, read, list, client ids, thumbprints,
//! tags and delete, with IAM's errors and quotas, and the refusal of a caller without
//! permissions.

use crate::support::{Case, TestServer, iam, unique};

crate::support::on_both_stores!(a_provider_lives_and_dies_as_iam_says, provider_refusals_and_quotas);

const PRINT: &str = "6938fd4d98bab03faadb97b34396831e3780aea1";

fn a_provider_lives_and_dies_as_iam_says(server: &TestServer) {
    let root = &server.root;
    let host = format!("{}.example.com/tenant", unique("oidc"));
    let url = format!("https://{host}");
    let arn = format!("arn:aws:iam::{}:oidc-provider/{host}", server.account_id);
    let named = |params: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        std::iter::once(("OpenIDConnectProviderArn", arn.clone()))
            .chain(params.iter().map(|(name, value)| (*name, (*value).to_owned())))
            .collect()
    };
    let call = |action: &str, params: &[(&'static str, &str)]| {
        let owned = named(params);
        let borrowed: Vec<(&str, &str)> = owned.iter().map(|(name, value)| (*name, value.as_str())).collect();
        iam(action, &borrowed)
    };
    server.run(&[
        Case::ok(
            "create",
            root,
            iam(
                "CreateOpenIDConnectProvider",
                &[
                    ("Url", &url),
                    ("ClientIDList.member.1", "sts.amazonaws.com"),
                    ("ClientIDList.member.2", "sts.amazonaws.com"),
                    ("ThumbprintList.member.1", &PRINT.to_uppercase()),
                    ("Tags.member.1.Key", "team"),
                    ("Tags.member.1.Value", "ci"),
                ],
            ),
        )
        .xml("OpenIDConnectProviderArn", &arn)
        .xml("Key", "team"),
        Case::error(
            "twice",
            root,
            iam("CreateOpenIDConnectProvider", &[("Url", &url)]),
            409,
            "EntityAlreadyExists",
            format!("Provider with url {url} already exists."),
        ),
        Case::ok("read", root, call("GetOpenIDConnectProvider", &[]))
            .xml("Url", &host)
            .xml_count("member", 3) // one client id (duplicates dropped), one thumbprint, one tag
            .xml("Value", "ci")
            .contains(format!("<ThumbprintList>\n<member>{PRINT}</member>\n</ThumbprintList>")),
        Case::ok("listed", root, iam("ListOpenIDConnectProviders", &[])).contains(format!("<Arn>{arn}</Arn>")),
        Case::ok("add a client id", root, call("AddClientIDToOpenIDConnectProvider", &[("ClientID", "other-app")])),
        Case::ok(
            "add it again: idempotent",
            root,
            call("AddClientIDToOpenIDConnectProvider", &[("ClientID", "other-app")]),
        ),
        Case::ok("both ids", root, call("GetOpenIDConnectProvider", &[])).contains(
            "<ClientIDList>\n<member>sts.amazonaws.com</member>\n<member>other-app</member>\n</ClientIDList>",
        ),
        Case::ok(
            "remove one",
            root,
            call("RemoveClientIDFromOpenIDConnectProvider", &[("ClientID", "sts.amazonaws.com")]),
        ),
        Case::ok(
            "remove a missing one: idempotent",
            root,
            call("RemoveClientIDFromOpenIDConnectProvider", &[("ClientID", "never-there")]),
        ),
        Case::ok(
            "thumbprints replaced",
            root,
            call(
                "UpdateOpenIDConnectProviderThumbprint",
                &[("ThumbprintList.member.1", "0000000000000000000000000000000000000001")],
            ),
        ),
        Case::ok("as updated", root, call("GetOpenIDConnectProvider", &[]))
            .contains("<ClientIDList>\n<member>other-app</member>\n</ClientIDList>")
            .contains("<ThumbprintList>\n<member>0000000000000000000000000000000000000001</member>\n</ThumbprintList>"),
        Case::ok(
            "tag",
            root,
            call("TagOpenIDConnectProvider", &[("Tags.member.1.Key", "env"), ("Tags.member.1.Value", "prod")]),
        ),
        Case::ok("untag", root, call("UntagOpenIDConnectProvider", &[("TagKeys.member.1", "team")])),
        Case::ok("tags", root, call("ListOpenIDConnectProviderTags", &[])).xml("Key", "env").xml_count("Key", 1),
        Case::ok("delete", root, call("DeleteOpenIDConnectProvider", &[])),
        Case::ok("delete again: idempotent", root, call("DeleteOpenIDConnectProvider", &[])),
        Case::error(
            "gone",
            root,
            call("GetOpenIDConnectProvider", &[]),
            404,
            "NoSuchEntity",
            format!("OpenIDConnect Provider not found for arn {arn}"),
        ),
        Case::error(
            "no tags of what is gone",
            root,
            call("ListOpenIDConnectProviderTags", &[]),
            404,
            "NoSuchEntity",
            "not found",
        ),
        Case::error(
            "no client id for what is gone",
            root,
            call("AddClientIDToOpenIDConnectProvider", &[("ClientID", "x")]),
            404,
            "NoSuchEntity",
            "not found",
        ),
    ]);
    let listed = server.iam(root, "ListOpenIDConnectProviders", &[]).ok();
    assert!(!listed.body.contains(&arn), "deleted providers are not listed: {}", listed.body);
}

fn provider_refusals_and_quotas(server: &TestServer) {
    let root = &server.root;
    let url = format!("https://{}.example.com", unique("oidc"));
    let arn = format!("arn:aws:iam::{}:oidc-provider/{}", server.account_id, url.trim_start_matches("https://"));
    let six: Vec<(String, String)> =
        (1..=6).map(|n| (format!("ThumbprintList.member.{n}"), format!("{n:040x}"))).collect();
    let mut too_many_prints: Vec<(&str, &str)> =
        six.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    too_many_prints.push(("Url", &url));
    let ids: Vec<(String, String)> =
        (1..=101).map(|n| (format!("ClientIDList.member.{n}"), format!("app-{n}"))).collect();
    let mut too_many_ids: Vec<(&str, &str)> = ids.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    too_many_ids.push(("Url", &url));
    server.run(&[
        Case::error(
            "plain http",
            root,
            iam("CreateOpenIDConnectProvider", &[("Url", "http://insecure.example.com")]),
            400,
            "InvalidInput",
            "must begin with https://",
        ),
        Case::error(
            "a query",
            root,
            iam("CreateOpenIDConnectProvider", &[("Url", "https://a.example.com/?x=1")]),
            400,
            "InvalidInput",
            "must begin with https://",
        ),
        Case::error(
            "not a thumbprint",
            root,
            iam(
                "CreateOpenIDConnectProvider",
                &[("Url", &url), ("ThumbprintList.member.1", "zz38fd4d98bab03faadb97b34396831e3780aea1")],
            ),
            400,
            "InvalidInput",
            "zz38fd4d98bab03faadb97b34396831e3780aea1",
        ),
        Case::error(
            "six thumbprints",
            root,
            iam("CreateOpenIDConnectProvider", &too_many_prints),
            409,
            "LimitExceeded",
            "Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: 5",
        ),
        Case::error(
            "101 client ids",
            root,
            iam("CreateOpenIDConnectProvider", &too_many_ids),
            409,
            "LimitExceeded",
            "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100",
        ),
        Case::error(
            "an aws: tag",
            root,
            iam(
                "CreateOpenIDConnectProvider",
                &[("Url", &url), ("Tags.member.1.Key", "aws:x"), ("Tags.member.1.Value", "v")],
            ),
            400,
            "InvalidInput",
            "User-defined tag keys can't start with 'aws:'.",
        ),
        Case::error(
            "none was made by the refusals",
            root,
            iam("GetOpenIDConnectProvider", &[("OpenIDConnectProviderArn", &arn)]),
            404,
            "NoSuchEntity",
            "not found",
        ),
        Case::denied(
            "a caller without permissions",
            server.nobody(),
            iam("CreateOpenIDConnectProvider", &[("Url", &url)]),
            format!("is not authorized to perform: iam:CreateOpenIDConnectProvider on resource: {arn}"),
        ),
        Case::denied(
            "nor may it list",
            server.nobody(),
            iam("ListOpenIDConnectProviders", &[]),
            "is not authorized to perform: iam:ListOpenIDConnectProviders on resource: *",
        ),
    ]);
}
