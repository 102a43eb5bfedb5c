//! The awsQuery protocol (IAM, STS): form-encoded parameters in, XML out.
//!
//! Parameters arrive in the query string (GET) or a form body (POST) and flatten lists and
//! structures the way botocore serializes them: `PolicyInputList.member.1`,
//! `Tags.member.2.Key`, `ContextEntries.member.1.ContextKeyValues.member.1`. Responses are
//! `<ActionResponse xmlns=NS><ActionResult>...</ActionResult><ResponseMetadata><RequestId>`.

use crate::AwsError;
use crate::error::{xml_escape, xml_escape_into};
use crate::sigv4::HttpRequest;

/// The most parameters one request may carry. Nothing botocore sends for the operations
/// served here comes close (a simulation with a thousand context entries is about 3,000).
pub const MAX_PARAMETERS: usize = 10_000;

/// The highest member number of a list (`name.member.N`), so of members in one list.
pub const MAX_MEMBERS: u32 = 1_000;

/// Why a request's parameters are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// More than [`MAX_PARAMETERS`] parameters.
    TooManyParameters(usize),
    /// A list numbered past [`MAX_MEMBERS`]; holds the list's name.
    TooManyMembers(String),
}

impl QueryError {
    /// The error AWS answers, in its awsQuery words.
    pub fn to_aws(&self) -> AwsError {
        let message = match self {
            QueryError::TooManyParameters(count) => format!(
                "1 validation error detected: the request has {count} parameters, more than the {MAX_PARAMETERS} allowed"
            ),
            QueryError::TooManyMembers(list) => format!(
                "1 validation error detected: Value at '{list}' failed to satisfy constraint: Member must have length less than or equal to {MAX_MEMBERS}"
            ),
        };
        AwsError::new("ValidationError", 400, message)
    }
}

/// Decoded awsQuery parameters, in the order received.
///
/// Every accessor is one pass over the parameters it is asked about ([`QueryParams::members`]
/// groups a list's parameters by number in that pass), so decoding a request is linear in its
/// size (times a logarithm), whatever its shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// The parameters of a request: the query string, plus a form body when the request
    /// declares one. Refuses more than [`MAX_PARAMETERS`] parameters, and lists numbered past
    /// [`MAX_MEMBERS`].
    pub fn from_request(request: &HttpRequest<'_>) -> Result<QueryParams, QueryError> {
        let mut pairs = request.query_params();
        let is_form = request
            .header("content-type")
            .is_some_and(|value| value.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        if is_form {
            let body = String::from_utf8_lossy(request.body);
            let form = HttpRequest { query: &body, ..*request };
            pairs.extend(form.query_params());
        }
        if pairs.len() > MAX_PARAMETERS {
            return Err(QueryError::TooManyParameters(pairs.len()));
        }
        for (key, _) in &pairs {
            check_member_numbers(key)?;
        }
        Ok(QueryParams { pairs })
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> QueryParams {
        QueryParams { pairs }
    }

    /// Every parameter, in the order received.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// How many parameters there are.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// A scalar parameter (the first, if it is repeated).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The parameters under `prefix.`, with the prefix removed (a nested structure).
    pub fn nested(&self, prefix: &str) -> QueryParams {
        QueryParams {
            pairs: self
                .pairs
                .iter()
                .filter_map(|(key, value)| {
                    let rest = key.strip_prefix(prefix)?.strip_prefix('.')?;
                    Some((rest.to_owned(), value.clone()))
                })
                .collect(),
        }
    }

    /// The members of a list `name.member.N`, ordered by N, each as its nested parameters
    /// (`""` holds a scalar member's value). One pass: each parameter is looked at once. A
    /// number with a leading zero (or zero) names no member.
    pub fn members(&self, name: &str) -> Vec<QueryParams> {
        let mut members: std::collections::BTreeMap<u32, QueryParams> = std::collections::BTreeMap::new();
        for (key, value) in &self.pairs {
            let Some(rest) = key.strip_prefix(name).and_then(|rest| rest.strip_prefix(".member.")) else { continue };
            let (number, inner) = rest.split_once('.').unwrap_or((rest, ""));
            let Some(number) = member_number(number) else { continue };
            let member = members.entry(number).or_default();
            if inner.is_empty() && !rest.contains('.') {
                member.pairs.push((String::new(), value.clone()));
            } else if !inner.is_empty() {
                member.pairs.push((inner.to_owned(), value.clone()));
            }
        }
        members.into_values().collect()
    }

    /// The values of a list of strings `name.member.N`, ordered by N.
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.members(name).iter().filter_map(|member| member.get("").map(str::to_owned)).collect()
    }

    /// The values of a list of strings `name.member.N`, ordered by N, borrowed (one pass, as
    /// [`QueryParams::members`]).
    pub fn member_values(&self, name: &str) -> Vec<&str> {
        let mut values: std::collections::BTreeMap<u32, &str> = std::collections::BTreeMap::new();
        for (key, value) in &self.pairs {
            let Some(rest) = key.strip_prefix(name).and_then(|rest| rest.strip_prefix(".member.")) else { continue };
            if let Some(number) = member_number(rest) {
                values.entry(number).or_insert(value.as_str());
            }
        }
        values.into_values().collect()
    }

    /// True if any parameter is `name` or lies under `name.`.
    pub fn contains(&self, name: &str) -> bool {
        self.pairs
            .iter()
            .any(|(key, _)| key.strip_prefix(name).is_some_and(|rest| rest.is_empty() || rest.starts_with('.')))
    }
}

/// A member number as botocore writes it: decimal, from 1, no leading zero.
fn member_number(text: &str) -> Option<u32> {
    if text.starts_with('0') || text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Refuses a key that numbers a list past [`MAX_MEMBERS`] at any depth.
fn check_member_numbers(key: &str) -> Result<(), QueryError> {
    let mut rest = key;
    while let Some(at) = rest.find(".member.") {
        let after = rest.get(at + ".member.".len()..).unwrap_or_default();
        let number = after.split('.').next().unwrap_or_default();
        let digits = number.bytes().all(|byte| byte.is_ascii_digit()) && !number.is_empty();
        // More digits than u32 holds is past the cap too.
        if digits && number.parse::<u32>().map_or(true, |n| n > MAX_MEMBERS) {
            let list = key.get(..key.len() - after.len() - ".member.".len()).unwrap_or(key);
            return Err(QueryError::TooManyMembers(list.to_owned()));
        }
        rest = after;
    }
    Ok(())
}

/// Writes an awsQuery XML response.
#[derive(Debug)]
pub struct XmlResponse {
    action: String,
    body: String,
}

impl XmlResponse {
    /// Starts `<{action}Response xmlns="{namespace}"><{action}Result>`.
    pub fn new(action: &str, namespace: &str) -> XmlResponse {
        let body = format!("<{action}Response xmlns=\"{}\">\n  <{action}Result>\n", xml_escape(namespace));
        XmlResponse { action: action.to_owned(), body }
    }

    /// `<tag>escaped text</tag>`.
    pub fn element(&mut self, tag: &str, text: &str) -> &mut XmlResponse {
        // Pushed piece by piece: list responses write thousands of elements.
        self.open(tag, "");
        xml_escape_into(&mut self.body, text);
        self.close(tag);
        self
    }

    /// `<tag>` with the elements `fill` writes, then `</tag>`.
    pub fn nest(&mut self, tag: &str, fill: impl FnOnce(&mut XmlResponse)) -> &mut XmlResponse {
        self.open(tag, "\n");
        fill(self);
        self.close(tag);
        self
    }

    fn open(&mut self, tag: &str, then: &str) {
        self.body.push('<');
        self.body.push_str(tag);
        self.body.push('>');
        self.body.push_str(then);
    }

    fn close(&mut self, tag: &str) {
        self.body.push_str("</");
        self.body.push_str(tag);
        self.body.push_str(">\n");
    }

    /// Closes the result and adds the request id.
    pub fn finish(mut self, request_id: &str) -> String {
        let action = &self.action;
        self.body.push_str(&format!(
            "  </{action}Result>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n",
            xml_escape(request_id)
        ));
        self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_scalars_lists_and_structures_from_a_form_body() {
        let body = "Action=SimulateCustomPolicy&Version=2010-05-08\
            &PolicyInputList.member.2=second&PolicyInputList.member.1=%7B%22a%22%3A1%7D\
            &ContextEntries.member.1.ContextKeyName=aws%3Ausername\
            &ContextEntries.member.1.ContextKeyValues.member.1=bob\
            &ContextEntries.member.1.ContextKeyType=string\
            &Tags.member.10.Key=k10&Tags.member.9.Key=k9";
        let headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")];
        let request = HttpRequest { method: "POST", path: "/", query: "", headers: &headers, body: body.as_bytes() };
        let params = QueryParams::from_request(&request).unwrap();
        assert_eq!(params.get("Action"), Some("SimulateCustomPolicy"));
        assert_eq!(params.strings("PolicyInputList"), vec![r#"{"a":1}"#, "second"]);
        let entries = params.members("ContextEntries");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].get("ContextKeyName"), Some("aws:username"));
        assert_eq!(entries[0].strings("ContextKeyValues"), vec!["bob"]);
        let tags: Vec<_> = params.members("Tags").iter().map(|tag| tag.get("Key").unwrap().to_owned()).collect();
        assert_eq!(tags, vec!["k9", "k10"], "members are ordered by number, not text");
        assert_eq!(params.member_values("PolicyInputList"), vec![r#"{"a":1}"#, "second"]);
        assert!(params.member_values("ContextEntries").is_empty(), "structures are not values");
        assert!(params.contains("Tags"));
        assert!(!params.contains("Tag"));
    }

    #[test]
    fn a_get_request_carries_its_parameters_in_the_query_string() {
        let request = HttpRequest {
            method: "GET",
            path: "/",
            query: "Action=GetCallerIdentity&Version=2011-06-15",
            headers: &[],
            body: b"ignored=1",
        };
        let params = QueryParams::from_request(&request).unwrap();
        assert_eq!(params.get("Action"), Some("GetCallerIdentity"));
        assert_eq!(params.get("ignored"), None);
    }

    fn form(body: &str) -> Result<QueryParams, QueryError> {
        let headers = [("Content-Type", "application/x-www-form-urlencoded")];
        QueryParams::from_request(&HttpRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: body.as_bytes(),
        })
    }

    #[test]
    fn member_numbers_must_be_canonical_and_lists_are_capped() {
        let params = form("L.member.1=a&L.member.01=b&L.member.0=c&L.member.x=d&L.member.3.K=e&L.member.3=f").unwrap();
        assert_eq!(params.strings("L"), vec!["a", "f"]);
        assert_eq!(params.members("L")[1].get("K"), Some("e"));
        assert!(form("Tags.member.1000.Key=k").is_ok());
        assert_eq!(form("Tags.member.1001.Key=k"), Err(QueryError::TooManyMembers("Tags".to_owned())));
        assert_eq!(
            form("A.member.1.B.member.99999999999=x"),
            Err(QueryError::TooManyMembers("A.member.1.B".to_owned()))
        );
        let error = form("Tags.member.1001.Key=k").unwrap_err().to_aws();
        assert_eq!((error.code.as_str(), error.status), ("ValidationError", 400));
        assert!(error.message.contains("Value at 'Tags' failed to satisfy constraint"), "{}", error.message);
        let many = vec!["a=1"; MAX_PARAMETERS + 1].join("&");
        assert_eq!(form(&many), Err(QueryError::TooManyParameters(MAX_PARAMETERS + 1)));
        assert_eq!(form(&many[4..]).unwrap().len(), MAX_PARAMETERS);
    }

    /// Load shape: four times the members take about four times as long (a quadratic parse,
    /// as before, took sixteen). Generous: anything under eight times passes.
    #[test]
    fn decoding_lists_is_linear_in_their_size() {
        let body = |members: usize| {
            let mut body = String::from("Action=SimulateCustomPolicy");
            for n in 1..=members {
                body.push_str(&format!(
                    "&ContextEntries.member.{n}.ContextKeyName=k{n}&ActionNames.member.{n}=iam:Get{n}"
                ));
            }
            body
        };
        let decode = |body: &str| {
            let params = form(body).unwrap();
            let entries = params.members("ContextEntries");
            let actions = params.strings("ActionNames");
            assert_eq!(entries.len(), actions.len());
            assert!(params.get("Action").is_some());
        };
        let (small, large) = (body(MAX_MEMBERS as usize / 4), body(MAX_MEMBERS as usize));
        let ratio = crate::load_shape::ratio(|| decode(&small), || decode(&large));
        assert!(ratio < 8.0, "4x the members took {ratio:.1}x as long");
    }

    #[test]
    fn writes_responses_with_metadata_and_escaping() {
        let mut response = XmlResponse::new("GetUser", "https://iam.amazonaws.com/doc/2010-05-08/");
        response.nest("User", |user| {
            user.element("UserName", "bob<&>").element("Path", "/");
        });
        let xml = response.finish("req-1");
        assert!(xml.starts_with("<GetUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"));
        assert!(xml.contains("<User>\n<UserName>bob&lt;&amp;&gt;</UserName>\n<Path>/</Path>\n</User>"));
        assert!(xml.contains("<ResponseMetadata>\n    <RequestId>req-1</RequestId>"));
        assert!(xml.trim_end().ends_with("</GetUserResponse>"));
    }
}
