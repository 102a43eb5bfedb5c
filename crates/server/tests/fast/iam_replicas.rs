//! Two servers on one PostgreSQL database, as replicas behind a load balancer run: an IAM
//! change made through one applies to the very next request the other answers, although the
//! other holds the old key and permissions in its cache (the store-wide generation, `cache`).

use crate::support::{TestServer, fresh_postgres, unique};

const GET_USER: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetUser","sts:GetCallerIdentity"],"Resource":"*"}]}"#;
const CALLER_ONLY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}"#;

#[test]
fn an_iam_change_on_one_replica_applies_to_the_next_request_on_the_other() {
    let Some(url) = fresh_postgres("replicas") else { return };
    let first = TestServer::start_on(Some(url));
    let second = first.replica();
    assert_eq!(second.account_id, first.account_id, "replicas serve one account");
    let root = first.root.clone();
    let name = unique("replicated");
    let key = first.user_with_policy(&name, Some(GET_USER));
    let put_policy = |document: &str| {
        first
            .iam(&root, "PutUserPolicy", &[("UserName", &name), ("PolicyName", "test"), ("PolicyDocument", document)])
            .ok();
    };

    // The second replica reads the key and the policy once, and keeps them in its cache.
    for _ in 0..3 {
        second.iam(&key, "GetUser", &[]).ok();
    }

    // Narrowed on the first: refused on the second at once (its cache lived for 2 s before).
    put_policy(CALLER_ONLY);
    let refused = second.iam(&key, "GetUser", &[]);
    assert_eq!((refused.status, refused.code().as_str()), (403, "AccessDenied"), "{}", refused.body);
    second.sts(&key, "GetCallerIdentity", &[]).ok();

    // Widened again on the first: allowed on the second at once.
    put_policy(GET_USER);
    second.iam(&key, "GetUser", &[]).ok();

    // The key made inactive on the first: unknown to the second at once.
    first.iam(&root, "UpdateAccessKey", &[("UserName", &name), ("AccessKeyId", &key.id), ("Status", "Inactive")]).ok();
    let unknown = second.sts(&key, "GetCallerIdentity", &[]);
    assert_eq!((unknown.status, unknown.code().as_str()), (403, "InvalidClientTokenId"), "{}", unknown.body);

    // And the other way round: active again through the second, used on the first (which
    // caches it and the policy), whose policy the second then deletes.
    second.iam(&root, "UpdateAccessKey", &[("UserName", &name), ("AccessKeyId", &key.id), ("Status", "Active")]).ok();
    first.iam(&key, "GetUser", &[]).ok();
    second.iam(&root, "DeleteUserPolicy", &[("UserName", &name), ("PolicyName", "test")]).ok();
    let refused = first.iam(&key, "GetUser", &[]);
    assert_eq!((refused.status, refused.code().as_str()), (403, "AccessDenied"), "{}", refused.body);
}
