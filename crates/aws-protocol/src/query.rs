//! The awsQuery protocol (IAM, STS): form-encoded parameters in, XML out.
//!
//! Parameters arrive in the query string (GET) or a form body (POST) and flatten lists and
//! structures the way botocore serializes them: `PolicyInputList.member.1`,
//! `Tags.member.2.Key`, `ContextEntries.member.1.ContextKeyValues.member.1`. Responses are
//! `<ActionResponse xmlns=NS><ActionResult>...</ActionResult><ResponseMetadata><RequestId>`.

use crate::error::xml_escape;
use crate::sigv4::HttpRequest;

/// Decoded awsQuery parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// The parameters of a request: the query string, plus a form body when the request
    /// declares one.
    pub fn from_request(request: &HttpRequest<'_>) -> QueryParams {
        let mut pairs = request.query_params();
        let is_form = request
            .header("content-type")
            .is_some_and(|value| value.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        if is_form {
            let body = String::from_utf8_lossy(request.body);
            let form = HttpRequest { query: &body, ..*request };
            pairs.extend(form.query_params());
        }
        QueryParams { pairs }
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> QueryParams {
        QueryParams { pairs }
    }

    /// A scalar parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The parameters under `prefix.`, with the prefix removed (a nested structure).
    pub fn nested(&self, prefix: &str) -> QueryParams {
        let prefix = format!("{prefix}.");
        QueryParams {
            pairs: self
                .pairs
                .iter()
                .filter_map(|(key, value)| key.strip_prefix(&prefix).map(|rest| (rest.to_owned(), value.clone())))
                .collect(),
        }
    }

    /// The members of a list `name.member.N`, ordered by N, each as its nested parameters
    /// (`""` holds a scalar member's value).
    pub fn members(&self, name: &str) -> Vec<QueryParams> {
        let list = self.nested(&format!("{name}.member"));
        let mut indexes: Vec<u32> = list
            .pairs
            .iter()
            .filter_map(|(key, _)| key.split('.').next()?.parse().ok())
            .filter(|index| *index >= 1)
            .collect();
        indexes.sort_unstable();
        indexes.dedup();
        indexes
            .into_iter()
            .map(|index| {
                let index = index.to_string();
                let mut member = list.nested(&index);
                if let Some(value) = list.get(&index) {
                    member.pairs.push((String::new(), value.to_owned()));
                }
                member
            })
            .collect()
    }

    /// The values of a list of strings `name.member.N`, ordered by N.
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.members(name).iter().filter_map(|member| member.get("").map(str::to_owned)).collect()
    }

    /// True if any parameter is `name` or lies under `name.`.
    pub fn contains(&self, name: &str) -> bool {
        let prefix = format!("{name}.");
        self.pairs.iter().any(|(key, _)| key == name || key.starts_with(&prefix))
    }
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
        self.body.push_str(&format!("<{tag}>{}</{tag}>\n", xml_escape(text)));
        self
    }

    /// `<tag>` with the elements `fill` writes, then `</tag>`.
    pub fn nest(&mut self, tag: &str, fill: impl FnOnce(&mut XmlResponse)) -> &mut XmlResponse {
        self.body.push_str(&format!("<{tag}>\n"));
        fill(self);
        self.body.push_str(&format!("</{tag}>\n"));
        self
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
        let params = QueryParams::from_request(&request);
        assert_eq!(params.get("Action"), Some("SimulateCustomPolicy"));
        assert_eq!(params.strings("PolicyInputList"), vec![r#"{"a":1}"#, "second"]);
        let entries = params.members("ContextEntries");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].get("ContextKeyName"), Some("aws:username"));
        assert_eq!(entries[0].strings("ContextKeyValues"), vec!["bob"]);
        let tags: Vec<_> = params.members("Tags").iter().map(|tag| tag.get("Key").unwrap().to_owned()).collect();
        assert_eq!(tags, vec!["k9", "k10"], "members are ordered by number, not text");
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
        let params = QueryParams::from_request(&request);
        assert_eq!(params.get("Action"), Some("GetCallerIdentity"));
        assert_eq!(params.get("ignored"), None);
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
