//! Inline user policies: PutUserPolicy, GetUserPolicy, ListUserPolicies, DeleteUserPolicy.

use aws_protocol::query::XmlResponse;
use aws_protocol::sigv4::uri_encode;
use aws_protocol::{AwsError, Protocol};
use iam_policy::{ErrorCode, PolicyKind, SizeQuota};

use super::iam_users::{Page, find_user, user_resource};
use super::{Ctx, IAM_NAMESPACE, Operation, check_name, internal, no_such_user, query};

async fn existing_user(ctx: &Ctx<'_>) -> Result<String, AwsError> {
    let name = ctx.required("UserName")?;
    Ok(find_user(ctx, name).await?.ok_or_else(|| no_such_user(name))?.name)
}

fn policy_error(error: iam_policy::PolicyError) -> AwsError {
    match error.code {
        ErrorCode::MalformedPolicyDocument => AwsError::new("MalformedPolicyDocument", 400, error.message),
        ErrorCode::LimitExceeded => AwsError::new("LimitExceeded", 409, error.message),
        ErrorCode::ValidationError => AwsError::new("ValidationError", 400, error.message),
    }
}

pub const PUT_USER_POLICY: Operation = Operation {
    service: "iam",
    protocol: Protocol::Query,
    name: "PutUserPolicy",
    namespace: IAM_NAMESPACE,
    action: "iam:PutUserPolicy",
    unconditional: false,
    resources: |ctx| Box::pin(user_resource(ctx, false)),
    run: |ctx| query(put_user_policy(ctx)),
};

async fn put_user_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let policy_name = ctx.required("PolicyName")?;
    check_name(policy_name, "policyName", 128)?;
    let document = ctx.required("PolicyDocument")?;
    iam_policy::validate(document, PolicyKind::Identity).map_err(policy_error)?;
    let user = existing_user(ctx).await?;
    let key = user.to_lowercase();
    let others = ctx
        .app
        .store
        .query(
            "SELECT document FROM user_policies WHERE account_id = ? AND user_name_key = ? AND policy_name <> ?",
            vec![ctx.account().into(), key.as_str().into(), policy_name.into()],
        )
        .await
        .map_err(internal)?;
    let others: Vec<String> = others.iter().map(|row| row.text(0).map_err(internal)).collect::<Result<_, _>>()?;
    SizeQuota::UserInline(&user)
        .check(others.iter().map(String::as_str).chain(std::iter::once(document)))
        .map_err(policy_error)?;
    ctx.app
        .store
        .transaction(vec![
            store::Statement::new(
                "DELETE FROM user_policies WHERE account_id = ? AND user_name_key = ? AND policy_name = ?",
                vec![ctx.account().into(), key.as_str().into(), policy_name.into()],
            ),
            store::Statement::new(
                "INSERT INTO user_policies (account_id, user_name_key, policy_name, document) VALUES (?, ?, ?, ?)",
                vec![ctx.account().into(), key.as_str().into(), policy_name.into(), document.into()],
            ),
        ])
        .await
        .map_err(internal)?;
    Ok(ctx.response())
}

pub const GET_USER_POLICY: Operation = Operation {
    service: "iam",
    protocol: Protocol::Query,
    name: "GetUserPolicy",
    namespace: IAM_NAMESPACE,
    action: "iam:GetUserPolicy",
    unconditional: false,
    resources: |ctx| Box::pin(user_resource(ctx, false)),
    run: |ctx| query(get_user_policy(ctx)),
};

async fn get_user_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let policy_name = ctx.required("PolicyName")?;
    let user = existing_user(ctx).await?;
    let rows = ctx
        .app
        .store
        .query(
            "SELECT document FROM user_policies WHERE account_id = ? AND user_name_key = ? AND policy_name = ?",
            vec![ctx.account().into(), user.to_lowercase().into(), policy_name.into()],
        )
        .await
        .map_err(internal)?;
    let document = rows.first().map(|row| row.text(0).map_err(internal)).transpose()?.ok_or_else(|| {
        AwsError::new("NoSuchEntity", 404, format!("The user policy with name {policy_name} cannot be found."))
    })?;
    let mut xml = ctx.response();
    // IAM returns policy documents URL-encoded.
    xml.element("UserName", &user)
        .element("PolicyName", policy_name)
        .element("PolicyDocument", &uri_encode(&document, false));
    Ok(xml)
}

pub const LIST_USER_POLICIES: Operation = Operation {
    service: "iam",
    protocol: Protocol::Query,
    name: "ListUserPolicies",
    namespace: IAM_NAMESPACE,
    action: "iam:ListUserPolicies",
    unconditional: false,
    resources: |ctx| Box::pin(user_resource(ctx, false)),
    run: |ctx| query(list_user_policies(ctx)),
};

async fn list_user_policies(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let user = existing_user(ctx).await?;
    let page = Page::from_params(ctx)?;
    let rows = ctx
        .app
        .store
        .query(
            "SELECT policy_name FROM user_policies WHERE account_id = ? AND user_name_key = ? AND policy_name > ? ORDER BY policy_name",
            vec![ctx.account().into(), user.to_lowercase().into(), page.after.as_str().into()],
        )
        .await
        .map_err(internal)?;
    let names: Vec<String> = rows.iter().map(|row| row.text(0).map_err(internal)).collect::<Result<_, _>>()?;
    let (shown, next) = page.cut(&names, Clone::clone);
    let mut xml = ctx.response();
    xml.nest("PolicyNames", |xml| {
        for name in shown {
            xml.element("member", name);
        }
    });
    page.finish(&mut xml, next);
    Ok(xml)
}

pub const DELETE_USER_POLICY: Operation = Operation {
    service: "iam",
    protocol: Protocol::Query,
    name: "DeleteUserPolicy",
    namespace: IAM_NAMESPACE,
    action: "iam:DeleteUserPolicy",
    unconditional: false,
    resources: |ctx| Box::pin(user_resource(ctx, false)),
    run: |ctx| query(delete_user_policy(ctx)),
};

async fn delete_user_policy(ctx: &Ctx<'_>) -> Result<XmlResponse, AwsError> {
    let policy_name = ctx.required("PolicyName")?;
    let user = existing_user(ctx).await?;
    let deleted = ctx
        .app
        .store
        .execute(
            "DELETE FROM user_policies WHERE account_id = ? AND user_name_key = ? AND policy_name = ?",
            vec![ctx.account().into(), user.to_lowercase().into(), policy_name.into()],
        )
        .await
        .map_err(internal)?;
    if deleted == 0 {
        return Err(AwsError::new(
            "NoSuchEntity",
            404,
            format!("The user policy with name {policy_name} cannot be found."),
        ));
    }
    Ok(ctx.response())
}
