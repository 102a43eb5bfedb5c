//! A small XML reader for awsQuery responses (IAM's `<GetRoleResponse>`, `<ErrorResponse>`):
//! elements, their text and their children; nothing more is needed to read them.
//!
//! Guarantees: never panics; linear in the input; refuses (rather than guesses at) a document
//! that is not well formed where it matters here: unbalanced or mismatched tags, nesting deeper
//! than [`MAX_DEPTH`], an unknown entity, a `<!DOCTYPE` (no entity expansion, ever), anything
//! after the root. Attributes are read past and dropped (IAM's only one is `xmlns`); names
//! keep their local part (`a:Role` is `Role`). Text is unescaped (the five entities and
//! character references) and CDATA sections are kept as text.

use std::fmt;

/// Deeper than any awsQuery answer (IAM's deepest is about six levels).
pub const MAX_DEPTH: usize = 64;

/// One element: its local name, the text directly inside it, and its child elements in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

/// Why a response is not XML this reader accepts; `offset` is a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    pub offset: usize,
    pub why: &'static str,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not XML at byte {}: {}", self.offset, self.why)
    }
}

impl Element {
    /// Reads a document: an optional declaration, comments, one root element.
    pub fn parse(text: &str) -> Result<Element, XmlError> {
        let mut reader = Reader { text, at: 0 };
        reader.skip_misc()?;
        let root = reader.element(0)?;
        reader.skip_misc()?;
        if reader.at < text.len() {
            return Err(reader.error("content after the root element"));
        }
        Ok(root)
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    /// Every child named `name`, in order.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |child| child.name == name)
    }

    /// The descendant reached by following `path`, one child name per step.
    pub fn find(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |element, name| element.child(name))
    }

    /// The text of the descendant at `path`.
    pub fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.find(path).map(|element| element.text.as_str())
    }

    /// The texts of an awsQuery list at `path` (`<PolicyNames><member>a</member>...`).
    pub fn members_at(&self, path: &[&str]) -> Vec<&Element> {
        self.find(path).map(|list| list.children_named("member").collect()).unwrap_or_default()
    }
}

struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, why: &'static str) -> XmlError {
        XmlError { offset: self.at, why }
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.at..).unwrap_or_default()
    }

    /// Skips whitespace, the XML declaration, processing instructions and comments.
    fn skip_misc(&mut self) -> Result<(), XmlError> {
        loop {
            let trimmed = self.rest().trim_start();
            self.at = self.text.len() - trimmed.len();
            if trimmed.starts_with("<?") {
                self.skip_past("?>", "an unterminated processing instruction")?;
            } else if trimmed.starts_with("<!--") {
                self.skip_past("-->", "an unterminated comment")?;
            } else if trimmed.starts_with("<!") {
                return Err(self.error("a DOCTYPE or other declaration"));
            } else {
                return Ok(());
            }
        }
    }

    fn skip_past(&mut self, end: &str, why: &'static str) -> Result<(), XmlError> {
        match self.rest().find(end) {
            Some(index) => {
                self.at += index + end.len();
                Ok(())
            }
            None => Err(self.error(why)),
        }
    }

    /// Reads `<name ...>` up to its `>`: the name and whether the tag closes itself.
    fn start_tag(&mut self) -> Result<(String, bool), XmlError> {
        let rest = self.rest();
        let Some(after) = rest.strip_prefix('<') else { return Err(self.error("expected an element")) };
        let name_length = after.find(|c: char| c.is_whitespace() || c == '>' || c == '/').unwrap_or(after.len());
        let name = after.get(..name_length).unwrap_or_default();
        if name.is_empty() {
            return Err(self.error("an element without a name"));
        }
        let name = local(name).to_owned();
        self.at += 1 + name_length;
        // Attributes: skipped, minding quoted values (which may hold `>`).
        let mut quote: Option<char> = None;
        for (index, c) in self.rest().char_indices() {
            match (quote, c) {
                (Some(open), c) if c == open => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '>') => {
                    let closes = self.rest().get(..index).is_some_and(|head| head.trim_end().ends_with('/'));
                    self.at += index + 1;
                    return Ok((name, closes));
                }
                (None, '<') => return Err(self.error("`<` inside a tag")),
                (None, _) => {}
            }
        }
        Err(self.error("an unterminated tag"))
    }

    fn element(&mut self, depth: usize) -> Result<Element, XmlError> {
        if depth >= MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        let (name, closes) = self.start_tag()?;
        let mut element = Element { name, ..Element::default() };
        if closes {
            return Ok(element);
        }
        loop {
            let rest = self.rest();
            let Some(next) = rest.find('<') else { return Err(self.error("an element that is never closed")) };
            let text = rest.get(..next).unwrap_or_default();
            let start = self.at;
            unescape_into(&mut element.text, text)
                .map_err(|offset| XmlError { offset: start + offset, why: "an unknown entity or a bare `&`" })?;
            self.at += next;
            let rest = self.rest();
            if let Some(after) = rest.strip_prefix("</") {
                let end = after.find('>').ok_or_else(|| self.error("an unterminated end tag"))?;
                let closing = after.get(..end).unwrap_or_default().trim_end();
                if local(closing) != element.name {
                    return Err(self.error("an end tag that does not match its element"));
                }
                self.at += 2 + end + 1;
                return Ok(element);
            } else if rest.starts_with("<![CDATA[") {
                let body = rest.get(9..).unwrap_or_default();
                let end = body.find("]]>").ok_or_else(|| self.error("an unterminated CDATA section"))?;
                element.text.push_str(body.get(..end).unwrap_or_default());
                self.at += 9 + end + 3;
            } else if rest.starts_with("<!--") {
                self.skip_past("-->", "an unterminated comment")?;
            } else if rest.starts_with("<?") {
                self.skip_past("?>", "an unterminated processing instruction")?;
            } else if rest.starts_with("<!") {
                return Err(self.error("a declaration inside an element"));
            } else {
                let child = self.element(depth + 1)?;
                element.children.push(child);
            }
        }
    }
}

/// The local part of a possibly prefixed name.
fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// Appends `text` unescaped; on an unknown entity, the offset of its `&`.
fn unescape_into(out: &mut String, text: &str) -> Result<(), usize> {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or_default());
        let after = rest.get(amp + 1..).unwrap_or_default();
        let offset = text.len() - rest.len() + amp;
        let end = after.find(';').filter(|end| *end <= 10).ok_or(offset)?;
        let entity = after.get(..end).unwrap_or_default();
        let decoded = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = match entity.strip_prefix("#x").or_else(|| entity.strip_prefix("#X")) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => entity.strip_prefix('#').and_then(|decimal| decimal.parse().ok()),
                };
                code.and_then(char::from_u32).ok_or(offset)?
            }
        };
        out.push(decoded);
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn reads_an_iam_answer_with_lists_and_escapes() {
        let answer = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListAttachedRolePoliciesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListAttachedRolePoliciesResult>
    <AttachedPolicies>
      <member>
        <PolicyName>AmazonSSMManagedInstanceCore</PolicyName>
        <PolicyArn>arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore</PolicyArn>
      </member>
      <member><PolicyName>a&amp;b &lt;&#x41;&#66;&gt; &quot;&apos;</PolicyName><PolicyArn/></member>
    </AttachedPolicies>
    <IsTruncated>false</IsTruncated>
  </ListAttachedRolePoliciesResult>
  <!-- a comment -->
  <ResponseMetadata><RequestId><![CDATA[x<y]]></RequestId></ResponseMetadata>
</ListAttachedRolePoliciesResponse>
"#;
        let root = Element::parse(answer).unwrap();
        assert_eq!(root.name, "ListAttachedRolePoliciesResponse");
        let members = root.members_at(&["ListAttachedRolePoliciesResult", "AttachedPolicies"]);
        let names: Vec<&str> = members.iter().map(|m| m.text_at(&["PolicyName"]).unwrap()).collect();
        assert_eq!(names, ["AmazonSSMManagedInstanceCore", "a&b <AB> \"'"]);
        assert_eq!(members[1].text_at(&["PolicyArn"]), Some(""));
        assert_eq!(root.text_at(&["ListAttachedRolePoliciesResult", "IsTruncated"]), Some("false"));
        assert_eq!(root.text_at(&["ResponseMetadata", "RequestId"]), Some("x<y"));
        assert_eq!(root.text_at(&["ResponseMetadata", "Absent"]), None);
        assert!(root.members_at(&["Nowhere"]).is_empty());
    }

    #[test]
    fn prefixes_and_attributes_are_read_past() {
        let root = Element::parse(r#"<a:Root x="1 > 2" y='>'><a:Leaf>v</a:Leaf><Empty /></a:Root>"#).unwrap();
        assert_eq!((root.name.as_str(), root.text_at(&["Leaf"])), ("Root", Some("v")));
        assert!(root.child("Empty").is_some());
    }

    #[test]
    fn what_is_not_well_formed_is_refused() {
        for (text, why) in [
            ("", "expected an element"),
            ("plain text", "expected an element"),
            ("<a><b></a>", "an end tag that does not match its element"),
            ("<a>", "an element that is never closed"),
            ("<a>&bogus;</a>", "an unknown entity or a bare `&`"),
            ("<a>fish & chips</a>", "an unknown entity or a bare `&`"),
            ("<a>&#xFFFFFFFF;</a>", "an unknown entity or a bare `&`"),
            ("<!DOCTYPE a [<!ENTITY x 'y'>]><a/>", "a DOCTYPE or other declaration"),
            ("<a/><b/>", "content after the root element"),
            ("<a x='1></a>", "an unterminated tag"),
            ("<>", "an element without a name"),
            ("<a><!-- open</a>", "an unterminated comment"),
        ] {
            assert_eq!(Element::parse(text).map_err(|e| e.why), Err(why), "{text:?}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(Element::parse(&deep).map_err(|e| e.why), Err("nested too deeply"));
        let fine = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(Element::parse(&fine).is_ok());
    }

    #[test]
    fn no_prefix_or_corruption_panics() {
        let answer = "<?xml version=\"1.0\"?><R><L><member><N>a&amp;b</N></member></L><![CDATA[c]]><!--x--></R>";
        for end in 0..=answer.len() {
            if let Some(prefix) = answer.get(..end) {
                let _ = Element::parse(prefix);
            }
        }
        for at in 0..answer.len() {
            for byte in [b'<', b'>', b'&', b'/', b';', b'!', b'?', b'"'] {
                let mut corrupted = answer.as_bytes().to_vec();
                corrupted[at] = byte;
                let _ = Element::parse(&String::from_utf8_lossy(&corrupted));
            }
        }
    }
}
