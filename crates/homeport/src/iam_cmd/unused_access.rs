//! `homeport iam unused-access`: the account's unused roles, access keys and permissions, as
//! IAM Access Analyzer's unused access analyzer finds them (the server computes them from the
//! audit trail when asked).
//!
//! The account's `ACCOUNT_UNUSED_ACCESS` analyzer is used if there is one (`--days` changes its
//! tracking period when given and different), else one is created, named
//! [`ANALYZER_NAME`], with `--days` (AWS's default, 90, without). Then every active finding is
//! listed (ListFindingsV2, every page) and read whole (GetFindingV2), and printed: for people
//! one line per finding and one per service of an unused permission, for scripts one JSON
//! object with the findings as the service answered them.

use serde_json::{Value, json};

use super::{Failure, UnusedArgs};
use crate::aws_client::{Client, ClientError};
use crate::output;
use crate::policy::Output;

/// The analyzer this command creates when the account has none.
pub const ANALYZER_NAME: &str = "homeport-unused-access";

const SERVICE: &str = "access-analyzer";

/// The tracking period when neither `--days` nor an existing analyzer says (AWS's default).
const DEFAULT_DAYS: i64 = 90;

pub fn unused_access(args: &UnusedArgs) -> Result<(), Failure> {
    if let Some(days) = args.days
        && !(1..=365).contains(&days)
    {
        return Err(Failure::Input(format!("--days must be 1 to 365 (Access Analyzer's range), not {days}")));
    }
    let client = Client::from_environment().map_err(|error| Failure::Call(error, None))?;
    let call = |error: ClientError| Failure::Call(error, None);
    let (analyzer_arn, days) = analyzer(&client, args.days).map_err(call)?;
    let mut findings = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"analyzerArn": analyzer_arn, "filter": {"status": {"eq": ["ACTIVE"]}}});
        if let (Some(token), Some(object)) = (&token, body.as_object_mut()) {
            object.insert("nextToken".to_owned(), json!(token));
        }
        let page = client.rest_json(SERVICE, "ListFindingsV2", "POST", "/findingv2", Some(&body)).map_err(call)?;
        for summary in page.get("findings").and_then(Value::as_array).into_iter().flatten() {
            let id = summary.get("id").and_then(Value::as_str).unwrap_or_default();
            let path = format!(
                "/findingv2/{}?analyzerArn={}",
                aws_protocol::sigv4::uri_encode(id, false),
                aws_protocol::sigv4::uri_encode(&analyzer_arn, false)
            );
            findings.push(client.rest_json(SERVICE, "GetFindingV2", "GET", &path, None).map_err(call)?);
        }
        token = page.get("nextToken").and_then(Value::as_str).map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    match args.output {
        Output::Json => output::line(
            &json!({"analyzerArn": analyzer_arn, "unusedAccessAge": days, "findings": findings}).to_string(),
        ),
        Output::Text => output::text(&report(&findings, days)),
    }
    Ok(())
}

/// The account's unused access analyzer (made, or its period changed, as the module says): its
/// ARN and tracking period in days.
fn analyzer(client: &Client, days: Option<i64>) -> Result<(String, i64), ClientError> {
    let listed = client.rest_json(SERVICE, "ListAnalyzers", "GET", "/analyzer?type=ACCOUNT_UNUSED_ACCESS", None)?;
    let existing = listed.get("analyzers").and_then(Value::as_array).and_then(|analyzers| analyzers.first());
    let configured = |days: i64| json!({"unusedAccess": {"unusedAccessAge": days}});
    let Some(existing) = existing else {
        let days = days.unwrap_or(DEFAULT_DAYS);
        output::error_line(&format!("creating the unused access analyzer {ANALYZER_NAME} ({days} days)"));
        let body =
            json!({"analyzerName": ANALYZER_NAME, "type": "ACCOUNT_UNUSED_ACCESS", "configuration": configured(days)});
        let made = client.rest_json(SERVICE, "CreateAnalyzer", "PUT", "/analyzer", Some(&body))?;
        let arn = made.get("arn").and_then(Value::as_str).unwrap_or_default().to_owned();
        return Ok((arn, days));
    };
    let text = |name: &str| existing.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (name, arn) = (text("name"), text("arn"));
    let current =
        existing.pointer("/configuration/unusedAccess/unusedAccessAge").and_then(Value::as_i64).unwrap_or(DEFAULT_DAYS);
    match days {
        Some(days) if days != current => {
            output::error_line(&format!(
                "setting the analyzer {name}'s tracking period to {days} days (was {current})"
            ));
            let path = format!("/analyzer/{}", aws_protocol::sigv4::uri_encode(&name, false));
            let body = json!({"configuration": configured(days)});
            client.rest_json(SERVICE, "UpdateAnalyzer", "PUT", &path, Some(&body))?;
            Ok((arn, days))
        }
        _ => Ok((arn, current)),
    }
}

/// The text at `pointer` in `value` (empty when absent).
fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// The findings for people: one line each, and one per service of an unused permission.
fn report(findings: &[Value], days: i64) -> String {
    if findings.is_empty() {
        return format!("Nothing unused for {days} days: every role, access key and permission was used.\n");
    }
    let last = |value: &Value| match value.get("lastAccessed").and_then(Value::as_str) {
        Some(time) => format!("last used {time}"),
        None => "never used".to_owned(),
    };
    let mut out = format!("Unused for {days} days or more ({} findings):\n", findings.len());
    for finding in findings {
        let (kind, resource) = (text(finding, "/findingType"), text(finding, "/resource"));
        let details = finding.get("findingDetails").and_then(Value::as_array).cloned().unwrap_or_default();
        match kind {
            "UnusedIAMRole" => {
                let detail = details.first().and_then(|detail| detail.get("unusedIamRoleDetails"));
                out.push_str(&format!(
                    "  role {resource}: {}\n",
                    detail.map(last).unwrap_or_else(|| last(&Value::Null))
                ));
            }
            "UnusedIAMUserAccessKey" => {
                let detail = details.first().and_then(|detail| detail.get("unusedIamUserAccessKeyDetails"));
                let key = detail.map(|detail| text(detail, "/accessKeyId")).unwrap_or_default();
                let used = detail.map(last).unwrap_or_else(|| last(&Value::Null));
                out.push_str(&format!("  access key {key} of {resource}: {used}\n"));
            }
            "UnusedPermission" => {
                out.push_str(&format!("  permissions of {resource}:\n"));
                for detail in details.iter().filter_map(|detail| detail.get("unusedPermissionDetails")) {
                    let actions: Vec<&str> = detail
                        .get("actions")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|action| action.get("action").and_then(Value::as_str))
                        .collect();
                    let service = text(detail, "/serviceNamespace");
                    let what = if actions.is_empty() { "the whole service".to_owned() } else { actions.join(", ") };
                    out.push_str(&format!("    {service}: {what} ({})\n", last(detail)));
                }
            }
            other => out.push_str(&format!("  {other} {resource}\n")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_finding_reads_as_a_line() {
        let findings = [
            json!({"findingType": "UnusedIAMRole", "resource": "arn:aws:iam::1:role/old",
                "findingDetails": [{"unusedIamRoleDetails": {"lastAccessed": "2026-01-01T00:00:00Z"}}]}),
            json!({"findingType": "UnusedIAMUserAccessKey", "resource": "arn:aws:iam::1:user/bob",
                "findingDetails": [{"unusedIamUserAccessKeyDetails": {"accessKeyId": "AKIAOLD"}}]}),
            json!({"findingType": "UnusedPermission", "resource": "arn:aws:iam::1:role/ecsAnywhereRole",
            "findingDetails": [
                {"unusedPermissionDetails": {"serviceNamespace": "logs", "actions": [{"action": "CreateLogGroup"}, {"action": "DeleteLogGroup"}]}},
                {"unusedPermissionDetails": {"serviceNamespace": "ec2messages", "lastAccessed": "2026-02-01T00:00:00Z"}},
            ]}),
        ];
        assert_eq!(
            report(&findings, 90),
            "Unused for 90 days or more (3 findings):\n\
             \x20 role arn:aws:iam::1:role/old: last used 2026-01-01T00:00:00Z\n\
             \x20 access key AKIAOLD of arn:aws:iam::1:user/bob: never used\n\
             \x20 permissions of arn:aws:iam::1:role/ecsAnywhereRole:\n\
             \x20   logs: CreateLogGroup, DeleteLogGroup (never used)\n\
             \x20   ec2messages: the whole service (last used 2026-02-01T00:00:00Z)\n"
        );
        assert!(report(&[], 30).starts_with("Nothing unused for 30 days"));
    }
}
