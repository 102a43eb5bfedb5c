//! ECR lifecycle policies, pure: the document, parsed and validated as ECR validates it
//! ([`LifecyclePolicy::parse`]), and its evaluation ([`LifecyclePolicy::evaluate`]): which
//! images a policy expires at a given time. No store and no clock: the caller passes the
//! images and the time.
//!
//! Evaluation follows ECR's rules: rules are applied lowest `rulePriority` first; an image
//! is expired by exactly one rule or none; an image that matches the tag selection of a rule
//! cannot be expired by a later rule (though later rules still count it, as if it were not
//! expired); `imageCountMoreThan` keeps the newest `countNumber` images its selection
//! matches and expires the older ones; `sinceImagePushed` expires what was pushed more than
//! `countNumber` days ago. Expiries come oldest push first.
//!
//! Validation refuses what the document schema ECR publishes refuses, with the schema
//! validator's words ECR answers (`object has missing required properties (["action"])`,
//! `instance value ("x") not found in enum ...`), and the policy-level rules: unique
//! priorities, one rule selecting untagged images, `any` last. What Homeport cannot honour
//! (the `transition` action to an archive storage class, pull- and transition-based counts)
//! is refused, saying so.

use std::collections::HashSet;

use serde_json::{Map, Value as Json};

/// A day, in seconds.
const DAY: i64 = 86_400;

/// The most wildcards a `tagPatternList` entry may have.
const MAX_WILDCARDS: usize = 4;

/// Which images a rule's selection admits by their tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagSelection {
    /// Images with tags, each prefix (or each pattern: a rule has one list or the other)
    /// matched by one of its tags: every entry must be matched.
    Tagged {
        prefixes: Vec<String>,
        patterns: Vec<String>,
    },
    Untagged,
    Any,
}

impl TagSelection {
    /// Whether an image with `tags` is selected.
    pub fn admits(&self, tags: &[String]) -> bool {
        match self {
            TagSelection::Any => true,
            TagSelection::Untagged => tags.is_empty(),
            TagSelection::Tagged { prefixes, patterns } => {
                !tags.is_empty()
                    && prefixes.iter().all(|prefix| tags.iter().any(|tag| tag.starts_with(prefix.as_str())))
                    && patterns.iter().all(|pattern| tags.iter().any(|tag| wildcard_match(pattern, tag)))
            }
        }
    }
}

/// What a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Keep the newest N selected images.
    MoreThan(i64),
    /// Expire selected images pushed more than N days ago.
    SincePushedDays(i64),
}

/// One rule of a policy (its only action is `expire`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub priority: i64,
    pub selection: TagSelection,
    pub count: Count,
}

/// A validated lifecycle policy; its rules in priority order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecyclePolicy {
    pub rules: Vec<Rule>,
}

/// An image as evaluation sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub digest: &'a str,
    pub tags: &'a [String],
    pub pushed_at: i64,
}

/// An image a policy expires, and the rule that does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    pub digest: String,
    pub priority: i64,
}

/// Why a document is refused: the part of ECR's message after
/// `Lifecycle policy validation failure: `.
pub type Invalid = String;

fn missing(object: &Map<String, Json>, required: &[&str]) -> Result<(), Invalid> {
    let absent: Vec<&str> = required.iter().copied().filter(|name| !object.contains_key(*name)).collect();
    if absent.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = absent.iter().map(|name| format!("\"{name}\"")).collect();
    Err(format!("object has missing required properties ([{}])", listed.join(",")))
}

fn unknown(object: &Map<String, Json>, allowed: &[&str]) -> Result<(), Invalid> {
    let mut extra: Vec<&String> = object.keys().filter(|name| !allowed.contains(&name.as_str())).collect();
    if extra.is_empty() {
        return Ok(());
    }
    extra.sort();
    let listed: Vec<String> = extra.iter().map(|name| format!("\"{name}\"")).collect();
    Err(format!("object instance has properties which are not allowed by the schema: [{}]", listed.join(",")))
}

/// A member of `object` (absent: null, which no check admits).
fn field<'a>(object: &'a Map<String, Json>, name: &str) -> &'a Json {
    object.get(name).unwrap_or(&Json::Null)
}

fn type_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(number) if number.is_i64() || number.is_u64() => "integer",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn wrong_type(value: &Json, allowed: &str) -> Invalid {
    format!("instance type ({}) does not match any allowed primitive type (allowed: [\"{allowed}\"])", type_name(value))
}

fn object(value: &Json) -> Result<&Map<String, Json>, Invalid> {
    value.as_object().ok_or_else(|| wrong_type(value, "object"))
}

fn positive(value: &Json) -> Result<i64, Invalid> {
    let number = value.as_i64().ok_or_else(|| wrong_type(value, "integer"))?;
    if number < 1 {
        return Err(format!("numeric instance is lower than the required minimum (minimum: 1, found: {number})"));
    }
    Ok(number)
}

fn enumerated<'a>(value: &'a Json, allowed: &[&str]) -> Result<&'a str, Invalid> {
    let word = value.as_str().ok_or_else(|| wrong_type(value, "string"))?;
    if allowed.contains(&word) {
        return Ok(word);
    }
    let listed: Vec<String> = allowed.iter().map(|name| format!("\"{name}\"")).collect();
    Err(format!("instance value (\"{word}\") not found in enum (possible values: [{}])", listed.join(",")))
}

fn string_list(value: Option<&Json>) -> Result<Option<Vec<String>>, Invalid> {
    let Some(value) = value else { return Ok(None) };
    let items = value.as_array().ok_or_else(|| wrong_type(value, "array"))?;
    if items.is_empty() {
        return Err("array is too short: must have at least 1 elements but instance has 0 elements".to_owned());
    }
    let strings = items
        .iter()
        .map(|item| item.as_str().map(str::to_owned).ok_or_else(|| wrong_type(item, "string")))
        .collect::<Result<Vec<String>, Invalid>>()?;
    Ok(Some(strings))
}

fn selection(value: &Json) -> Result<(TagSelection, Count), Invalid> {
    let selection = object(value)?;
    missing(selection, &["countNumber", "countType", "tagStatus"])?;
    unknown(
        selection,
        &["tagStatus", "tagPrefixList", "tagPatternList", "countType", "countUnit", "countNumber", "storageClass"],
    )?;
    let status = enumerated(field(selection, "tagStatus"), &["tagged", "untagged", "any"])?;
    let prefixes = string_list(selection.get("tagPrefixList"))?;
    let patterns = string_list(selection.get("tagPatternList"))?;
    let tags = match status {
        "tagged" => {
            if prefixes.is_none() && patterns.is_none() {
                return Err("tagPrefixList or tagPatternList is required when tagStatus is tagged".to_owned());
            }
            if prefixes.is_some() && patterns.is_some() {
                return Err("a rule may specify either tagPatternList or tagPrefixList, but not both".to_owned());
            }
            let patterns = patterns.unwrap_or_default();
            if patterns.iter().any(|pattern| pattern.matches('*').count() > MAX_WILDCARDS) {
                return Err("a tagPatternList entry may contain at most 4 wildcards (*)".to_owned());
            }
            TagSelection::Tagged { prefixes: prefixes.unwrap_or_default(), patterns }
        }
        _ if prefixes.is_some() || patterns.is_some() => {
            return Err("tagPrefixList and tagPatternList are allowed only when tagStatus is tagged".to_owned());
        }
        "untagged" => TagSelection::Untagged,
        _ => TagSelection::Any,
    };
    if let Some(class) = selection.get("storageClass") {
        enumerated(class, &["standard"])?;
    }
    let number = positive(field(selection, "countNumber"))?;
    let count_type = field(selection, "countType").as_str().unwrap_or_default();
    let unit = selection.get("countUnit");
    let count = match (count_type, unit) {
        ("imageCountMoreThan", None) => Count::MoreThan(number),
        ("sinceImagePushed", Some(unit)) => {
            enumerated(unit, &["days"])?;
            Count::SincePushedDays(number)
        }
        ("sinceImagePulled" | "sinceImageTransitioned", _) => {
            return Err(format!(
                "countType {count_type} is not supported: Homeport records neither pulls nor transitions"
            ));
        }
        _ => return Err("instance failed to match exactly one schema (matched 0 out of 2)".to_owned()),
    };
    Ok((tags, count))
}

fn rule(value: &Json) -> Result<Rule, Invalid> {
    let rule = object(value)?;
    missing(rule, &["action", "rulePriority", "selection"])?;
    unknown(rule, &["rulePriority", "description", "selection", "action"])?;
    let priority = positive(field(rule, "rulePriority"))?;
    if let Some(description) = rule.get("description") {
        description.as_str().ok_or_else(|| wrong_type(description, "string"))?;
    }
    let action = object(field(rule, "action"))?;
    missing(action, &["type"])?;
    unknown(action, &["type", "targetStorageClass"])?;
    if enumerated(field(action, "type"), &["expire", "transition"])? == "transition" {
        return Err("the transition action is not supported: Homeport has no archive storage class".to_owned());
    }
    if action.contains_key("targetStorageClass") {
        return Err("targetStorageClass is allowed only with the transition action".to_owned());
    }
    let (selection, count) = selection(field(rule, "selection"))?;
    Ok(Rule { priority, selection, count })
}

impl LifecyclePolicy {
    /// The policy `text` holds, or why ECR refuses it.
    pub fn parse(text: &str) -> Result<LifecyclePolicy, Invalid> {
        let document: Json = serde_json::from_str(text)
            .ok()
            .filter(Json::is_object)
            .ok_or_else(|| "Could not map policyString into LifecyclePolicy.".to_owned())?;
        let top = object(&document)?;
        missing(top, &["rules"])?;
        unknown(top, &["rules"])?;
        let listed = field(top, "rules").as_array().ok_or_else(|| wrong_type(field(top, "rules"), "array"))?;
        if listed.is_empty() {
            return Err("array is too short: must have at least 1 elements but instance has 0 elements".to_owned());
        }
        let mut rules = listed.iter().map(rule).collect::<Result<Vec<Rule>, Invalid>>()?;
        rules.sort_by_key(|rule| rule.priority);
        if rules.windows(2).any(|pair| pair.first().map(|r| r.priority) == pair.get(1).map(|r| r.priority)) {
            return Err("Rule priorities must be unique.".to_owned());
        }
        if rules.iter().filter(|rule| rule.selection == TagSelection::Untagged).count() > 1 {
            return Err("Only one rule can select Untagged images per storage class.".to_owned());
        }
        let last_any = rules.iter().position(|rule| rule.selection == TagSelection::Any);
        if last_any.is_some_and(|index| index + 1 != rules.len()) {
            return Err("Rule for tagStatus=ANY must have the lowest priority per storage class".to_owned());
        }
        Ok(LifecyclePolicy { rules })
    }

    /// What the policy expires among `images` at `now` (seconds), oldest push first.
    pub fn evaluate(&self, images: &[Candidate<'_>], now: i64) -> Vec<Expiry> {
        let mut claimed: HashSet<&str> = HashSet::new();
        let mut expired: Vec<(i64, Expiry)> = Vec::new();
        for rule in &self.rules {
            let mut selected: Vec<&Candidate<'_>> =
                images.iter().filter(|image| rule.selection.admits(image.tags)).collect();
            // Newest first (the digest breaks ties, so the order is total).
            selected.sort_by(|a, b| b.pushed_at.cmp(&a.pushed_at).then_with(|| b.digest.cmp(a.digest)));
            let chosen: Vec<&Candidate<'_>> = match rule.count {
                Count::MoreThan(keep) => {
                    selected.iter().skip(usize::try_from(keep).unwrap_or(usize::MAX)).copied().collect()
                }
                Count::SincePushedDays(days) => {
                    let cutoff = now.saturating_sub(days.saturating_mul(DAY));
                    selected.iter().filter(|image| image.pushed_at < cutoff).copied().collect()
                }
            };
            for image in chosen {
                if !claimed.contains(image.digest) {
                    expired
                        .push((image.pushed_at, Expiry { digest: image.digest.to_owned(), priority: rule.priority }));
                }
            }
            claimed.extend(selected.iter().map(|image| image.digest));
        }
        expired.sort_by(|(a, x), (b, y)| a.cmp(b).then_with(|| x.digest.cmp(&y.digest)));
        expired.into_iter().map(|(_, expiry)| expiry).collect()
    }
}

/// Whether `tag` matches `pattern`, where `*` stands for any run of characters (linear
/// in practice: at most [`MAX_WILDCARDS`] wildcards, and the greedy scan backtracks only to
/// the last one).
pub fn wildcard_match(pattern: &str, tag: &str) -> bool {
    let (pattern, tag) = (pattern.as_bytes(), tag.as_bytes());
    let (mut p, mut t) = (0, 0);
    let mut resume: Option<(usize, usize)> = None;
    while t < tag.len() {
        match pattern.get(p) {
            Some(b'*') => {
                resume = Some((p, t));
                p += 1;
            }
            Some(&c) if Some(&c) == tag.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match resume {
                Some((star, from)) => {
                    p = star + 1;
                    t = from + 1;
                    resume = Some((star, from + 1));
                }
                None => return false,
            },
        }
    }
    pattern.get(p..).is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;
    use serde_json::json;

    fn policy(rules: Json) -> Result<LifecyclePolicy, Invalid> {
        LifecyclePolicy::parse(&json!({ "rules": rules }).to_string())
    }

    fn expire(priority: i64, selection: Json) -> Json {
        json!({"rulePriority": priority, "selection": selection, "action": {"type": "expire"}})
    }

    #[test]
    fn documents_are_refused_in_ecrs_words() {
        let cases: Vec<(String, &str)> = vec![
            ("not json".to_owned(), "Could not map policyString into LifecyclePolicy."),
            ("[]".to_owned(), "Could not map policyString into LifecyclePolicy."),
            ("{}".to_owned(), "object has missing required properties ([\"rules\"])"),
            (json!({"rules": []}).to_string(), "array is too short: must have at least 1 elements but instance has 0 elements"),
            (json!({"rules": [{"rulePriority": 1}]}).to_string(), "object has missing required properties ([\"action\",\"selection\"])"),
            (
                json!({"rules": [expire(1, json!({"tagStatus": "old", "countType": "imageCountMoreThan", "countNumber": 1}))]}).to_string(),
                "instance value (\"old\") not found in enum (possible values: [\"tagged\",\"untagged\",\"any\"])",
            ),
            (
                json!({"rules": [expire(0, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}))]}).to_string(),
                "numeric instance is lower than the required minimum (minimum: 1, found: 0)",
            ),
            (
                json!({"rules": [expire(1, json!({"tagStatus": "any", "countType": "sinceImagePushed", "countNumber": 1}))]}).to_string(),
                "instance failed to match exactly one schema (matched 0 out of 2)",
            ),
            (
                json!({"rules": [expire(1, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countUnit": "days", "countNumber": 1}))]}).to_string(),
                "instance failed to match exactly one schema (matched 0 out of 2)",
            ),
            (
                json!({"rules": [expire(1, json!({"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "weeks", "countNumber": 1}))]}).to_string(),
                "instance value (\"weeks\") not found in enum (possible values: [\"days\"])",
            ),
            (
                json!({"rules": [expire(1, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1, "extra": 1}))]}).to_string(),
                "object instance has properties which are not allowed by the schema: [\"extra\"]",
            ),
            (
                json!({"rules": [expire(1, json!({"tagStatus": "tagged", "tagPrefixList": ["a"], "tagPatternList": ["b*"],
                    "countType": "imageCountMoreThan", "countNumber": 1}))]}).to_string(),
                "a rule may specify either tagPatternList or tagPrefixList, but not both",
            ),
            (
                json!({"rules": [expire(1, json!({"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1}))]}).to_string(),
                "tagPrefixList or tagPatternList is required when tagStatus is tagged",
            ),
            (
                json!({"rules": [
                    expire(1, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1})),
                    expire(2, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 2})),
                ]}).to_string(),
                "Only one rule can select Untagged images per storage class.",
            ),
            (
                json!({"rules": [
                    expire(1, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1})),
                    expire(2, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 2})),
                ]}).to_string(),
                "Rule for tagStatus=ANY must have the lowest priority per storage class",
            ),
            (
                json!({"rules": [
                    expire(3, json!({"tagStatus": "tagged", "tagPrefixList": ["a"], "countType": "imageCountMoreThan", "countNumber": 1})),
                    expire(3, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 2})),
                ]}).to_string(),
                "Rule priorities must be unique.",
            ),
            (
                json!({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
                    "action": {"type": "transition", "targetStorageClass": "archive"}}]}).to_string(),
                "the transition action is not supported: Homeport has no archive storage class",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(LifecyclePolicy::parse(&text).unwrap_err(), expected, "{text}");
        }
    }

    #[test]
    fn wildcards_match_any_run_of_characters() {
        for (pattern, tag, matches) in [
            ("prod*", "prod", true),
            ("prod*", "prod-1", true),
            ("*prod", "my-prod", true),
            ("*test*1*2*3", "a-test-x1y2z3", true),
            ("prod", "prod1", false),
            ("p*d", "pod", true),
            ("p*d", "pods", false),
            ("*", "", true),
            ("a*b*c", "aXbYbZc", true),
        ] {
            assert_eq!(wildcard_match(pattern, tag), matches, "{pattern} {tag}");
        }
    }

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|tag| (*tag).to_owned()).collect()
    }

    #[test]
    fn a_count_rule_keeps_the_newest_and_an_age_rule_expires_the_old() {
        let (t1, t2, t3, none) = (tags(&["v1"]), tags(&["v2"]), tags(&["v3"]), tags(&[]));
        let images = [
            Candidate { digest: "sha256:1", tags: &t1, pushed_at: 10 * DAY },
            Candidate { digest: "sha256:2", tags: &t2, pushed_at: 20 * DAY },
            Candidate { digest: "sha256:3", tags: &t3, pushed_at: 30 * DAY },
            Candidate { digest: "sha256:u", tags: &none, pushed_at: 25 * DAY },
        ];
        let by_count = policy(json!([expire(
            1,
            json!({"tagStatus": "tagged", "tagPatternList": ["v*"],
            "countType": "imageCountMoreThan", "countNumber": 2})
        )]))
        .unwrap();
        assert_eq!(by_count.evaluate(&images, 0), vec![Expiry { digest: "sha256:1".into(), priority: 1 }]);
        let by_age = policy(json!([expire(
            4,
            json!({"tagStatus": "any", "countType": "sinceImagePushed",
            "countUnit": "days", "countNumber": 7})
        )]))
        .unwrap();
        let digests = |expiries: Vec<Expiry>| expiries.into_iter().map(|e| e.digest).collect::<Vec<_>>();
        assert_eq!(digests(by_age.evaluate(&images, 31 * DAY)), ["sha256:1", "sha256:2"]);
        assert_eq!(digests(by_age.evaluate(&images, 40 * DAY)), ["sha256:1", "sha256:2", "sha256:u", "sha256:3"]);
        assert!(by_age.evaluate(&images, 17 * DAY).is_empty(), "seven days exactly is not yet more than seven");
    }

    #[test]
    fn an_image_selected_by_a_rule_is_not_expired_by_a_later_one_but_still_counted() {
        let (prod_new, prod_old, dev, none) = (tags(&["prod-2"]), tags(&["prod-1"]), tags(&["dev"]), tags(&[]));
        let images = [
            Candidate { digest: "sha256:a", tags: &prod_old, pushed_at: 1 },
            Candidate { digest: "sha256:b", tags: &prod_new, pushed_at: 2 },
            Candidate { digest: "sha256:c", tags: &dev, pushed_at: 3 },
            Candidate { digest: "sha256:d", tags: &none, pushed_at: 4 },
        ];
        let policy = policy(json!([
            expire(1, json!({"tagStatus": "tagged", "tagPrefixList": ["prod"], "countType": "imageCountMoreThan", "countNumber": 5})),
            expire(2, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1})),
        ]))
        .unwrap();
        // Rule 1 expires nothing but keeps both prod images from rule 2; rule 2 counts all four
        // (the newest, d, is kept) and expires the rest it may: c.
        assert_eq!(policy.evaluate(&images, 0), vec![Expiry { digest: "sha256:c".into(), priority: 2 }]);
    }

    #[test]
    fn every_prefix_of_a_list_must_be_matched_by_some_tag() {
        let selection = TagSelection::Tagged { prefixes: vec!["prod".into(), "v".into()], patterns: vec![] };
        assert!(selection.admits(&tags(&["prod", "v1"])));
        assert!(!selection.admits(&tags(&["prod"])));
        assert!(!selection.admits(&[]));
        assert!(TagSelection::Untagged.admits(&[]));
        assert!(!TagSelection::Untagged.admits(&tags(&["x"])));
    }
}
