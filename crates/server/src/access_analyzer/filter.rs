//! The `filter` (`FilterCriteriaMap`) and `sort` (`SortCriteria`) of ListFindingsV2, checked
//! and applied, pure: a finding is seen through [`Fields`], its filter keys' values.
//!
//! Guarantees: every key is one the unused access findings have (IAM Access Analyzer's filter
//! keys for unused access: `findingType`, `id`, `resource`, `resourceOwnerAccount`,
//! `resourceType`, `status`); any other key, a criterion without an operator and a value list
//! outside 1 to 20 values are refused with `ValidationException`, never ignored. Criteria of
//! several keys must all hold; the operators of one criterion too: `eq` (one of the values),
//! `neq` (none of them), `contains` (a substring of the value is one of them), `exists`
//! (whether the finding has the field: all of these are always there).

use aws_protocol::AwsError;
use serde_json::Value as Json;

use super::{check_enum, invalid};

/// The keys a filter may name.
pub(crate) const FILTER_KEYS: &[&str] =
    &["findingType", "id", "resource", "resourceOwnerAccount", "resourceType", "status"];

/// The attributes findings may be sorted by: the filter keys and the times.
pub(crate) const SORT_KEYS: &[&str] = &[
    "analyzedAt",
    "createdAt",
    "findingType",
    "id",
    "resource",
    "resourceOwnerAccount",
    "resourceType",
    "status",
    "updatedAt",
];

/// A finding's value of a filter key or sort attribute (`None`: it has no such field);
/// times as ISO 8601 text, which sorts as the times do.
pub(crate) trait Fields {
    fn field(&self, key: &str) -> Option<String>;
}

/// One key's criterion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Criterion {
    key: String,
    eq: Vec<String>,
    neq: Vec<String>,
    contains: Vec<String>,
    exists: Option<bool>,
}

impl Criterion {
    fn holds(&self, value: Option<&str>) -> bool {
        let exists = self.exists.is_none_or(|wanted| wanted == value.is_some());
        let Some(value) = value else {
            return exists && self.eq.is_empty() && self.contains.is_empty();
        };
        exists
            && (self.eq.is_empty() || self.eq.iter().any(|wanted| wanted == value))
            && !self.neq.iter().any(|unwanted| unwanted == value)
            && (self.contains.is_empty() || self.contains.iter().any(|part| value.contains(part.as_str())))
    }
}

/// A checked filter: every criterion must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    criteria: Vec<Criterion>,
}

/// A `ValueList`: 1 to 20 strings.
fn values(criterion: &Json, key: &str, operator: &str) -> Result<Vec<String>, AwsError> {
    let member = format!("filter.{key}.{operator}");
    let Some(found) = criterion.get(operator).filter(|value| !value.is_null()) else { return Ok(Vec::new()) };
    let list = found
        .as_array()
        .ok_or_else(|| invalid("cannotParse", &member, format!("Member '{member}' must be a list of strings.")))?;
    if list.is_empty() || list.len() > 20 {
        let bound = if list.is_empty() { "greater than or equal to 1" } else { "less than or equal to 20" };
        return Err(invalid(
            "fieldValidationFailed",
            &member,
            format!(
                "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length {bound}"
            ),
        ));
    }
    list.iter()
        .map(|value| {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid("cannotParse", &member, format!("Member '{member}' must be a list of strings.")))
        })
        .collect()
}

impl Filter {
    /// The request's `filter` member (absent: every finding).
    pub(crate) fn parse(filter: Option<&Json>) -> Result<Filter, AwsError> {
        let criteria = match filter {
            None | Some(Json::Null) => return Ok(Filter::default()),
            Some(Json::Object(criteria)) => criteria,
            Some(_) => return Err(invalid("cannotParse", "filter", "Member 'filter' must be an object.")),
        };
        let mut parsed = Vec::with_capacity(criteria.len());
        for (key, criterion) in criteria {
            if !FILTER_KEYS.contains(&key.as_str()) {
                let shown: String = key.chars().take(128).collect();
                return Err(invalid(
                    "fieldValidationFailed",
                    "filter",
                    format!(
                        "The filter key {shown} is not supported for unused access findings: use one of {}.",
                        FILTER_KEYS.join(", ")
                    ),
                ));
            }
            if !criterion.is_object() {
                return Err(invalid("cannotParse", "filter", format!("The criterion of {key} must be an object.")));
            }
            let exists = match criterion.get("exists") {
                None | Some(Json::Null) => None,
                Some(Json::Bool(wanted)) => Some(*wanted),
                Some(_) => {
                    let member = format!("filter.{key}.exists");
                    return Err(invalid("cannotParse", &member, format!("Member '{member}' must be a boolean.")));
                }
            };
            let criterion = Criterion {
                key: key.clone(),
                eq: values(criterion, key, "eq")?,
                neq: values(criterion, key, "neq")?,
                contains: values(criterion, key, "contains")?,
                exists,
            };
            if criterion.eq.is_empty() && criterion.neq.is_empty() && criterion.contains.is_empty() && exists.is_none()
            {
                return Err(invalid(
                    "fieldValidationFailed",
                    "filter",
                    format!("The criterion of {key} names no operator: use eq, neq, contains or exists."),
                ));
            }
            parsed.push(criterion);
        }
        Ok(Filter { criteria: parsed })
    }

    pub(crate) fn matches(&self, finding: &impl Fields) -> bool {
        self.criteria.iter().all(|criterion| criterion.holds(finding.field(&criterion.key).as_deref()))
    }
}

/// A checked sort: an attribute and its direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sort {
    attribute: Option<String>,
    descending: bool,
}

impl Sort {
    /// The request's `sort` member (absent: the findings' own order, ascending).
    pub(crate) fn parse(sort: Option<&Json>) -> Result<Sort, AwsError> {
        let sort = match sort {
            None | Some(Json::Null) => return Ok(Sort { attribute: None, descending: false }),
            Some(sort @ Json::Object(_)) => sort,
            Some(_) => return Err(invalid("cannotParse", "sort", "Member 'sort' must be an object.")),
        };
        let attribute = super::optional_string(sort, "attributeName")?;
        if let Some(attribute) = attribute
            && !SORT_KEYS.contains(&attribute)
        {
            let shown: String = attribute.chars().take(128).collect();
            return Err(invalid(
                "fieldValidationFailed",
                "attributeName",
                format!("Findings cannot be sorted by {shown}: use one of {}.", SORT_KEYS.join(", ")),
            ));
        }
        let descending = match super::optional_string(sort, "orderBy")? {
            None => false,
            Some(order) => {
                check_enum(order, "orderBy", &["ASC", "DESC"])?;
                order == "DESC"
            }
        };
        Ok(Sort { attribute: attribute.map(str::to_owned), descending })
    }

    /// Sorts `items` (already in their own order, which breaks ties) as asked.
    pub(crate) fn apply<T: Fields>(&self, items: &mut [T]) {
        if let Some(attribute) = &self.attribute {
            items.sort_by_key(|item| item.field(attribute));
        }
        if self.descending {
            items.reverse();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;

    struct Finding(&'static str, &'static str, &'static str);

    impl Fields for Finding {
        fn field(&self, key: &str) -> Option<String> {
            match key {
                "id" => Some(self.0.to_owned()),
                "findingType" => Some(self.1.to_owned()),
                "resource" => Some(self.2.to_owned()),
                _ => None,
            }
        }
    }

    const ROLE: Finding = Finding("1", "UnusedIAMRole", "arn:aws:iam::1:role/ops/deployer");
    const KEY: Finding = Finding("2", "UnusedIAMUserAccessKey", "arn:aws:iam::1:user/alice");
    const PERMISSION: Finding = Finding("3", "UnusedPermission", "arn:aws:iam::1:role/ops/builder");

    fn matching(filter: serde_json::Value) -> Vec<&'static str> {
        let filter = Filter::parse(Some(&filter)).unwrap();
        [ROLE, KEY, PERMISSION].into_iter().filter(|finding| filter.matches(finding)).map(|finding| finding.0).collect()
    }

    #[test]
    fn criteria_hold_together_and_each_operator_as_documented() {
        assert_eq!(matching(json!({})), ["1", "2", "3"]);
        assert_eq!(matching(json!({"findingType": {"eq": ["UnusedIAMRole", "UnusedPermission"]}})), ["1", "3"]);
        assert_eq!(matching(json!({"findingType": {"neq": ["UnusedIAMRole"]}})), ["2", "3"]);
        assert_eq!(matching(json!({"resource": {"contains": [":role/ops/"]}})), ["1", "3"]);
        assert_eq!(
            matching(json!({"resource": {"contains": [":role/"]}, "findingType": {"eq": ["UnusedPermission"]}})),
            ["3"]
        );
        assert_eq!(
            matching(json!({"resource": {"contains": ["ops"], "neq": ["arn:aws:iam::1:role/ops/builder"]}})),
            ["1"]
        );
        assert_eq!(matching(json!({"id": {"exists": true}})), ["1", "2", "3"]);
        assert_eq!(matching(json!({"id": {"exists": false}})), Vec::<&str>::new());
        // A field the findings lack: only `exists: false` or `neq` hold.
        assert_eq!(matching(json!({"resourceOwnerAccount": {"exists": false}})), ["1", "2", "3"]);
        assert_eq!(matching(json!({"resourceOwnerAccount": {"eq": ["1"]}})), Vec::<&str>::new());
    }

    #[test]
    fn keys_operators_and_value_lists_outside_the_model_are_refused() {
        for (filter, member) in [
            (json!({"isPublic": {"eq": ["true"]}}), "filter"),
            (json!({"principal.AWS": {"eq": ["1"]}}), "filter"),
            (json!({"status": {}}), "filter"),
            (json!({"status": "ACTIVE"}), "filter"),
            (json!({"status": {"eq": []}}), "filter.status.eq"),
            (json!({"status": {"eq": vec!["x"; 21]}}), "filter.status.eq"),
            (json!({"status": {"eq": [1]}}), "filter.status.eq"),
            (json!({"status": {"exists": "yes"}}), "filter.status.exists"),
            (json!(["status"]), "filter"),
        ] {
            let error = Filter::parse(Some(&filter)).unwrap_err();
            assert_eq!((error.code.as_str(), error.status), ("ValidationException", 400), "{filter}");
            let named =
                error.members.iter().find(|(name, _)| name == "fieldList").map(|(_, list)| list[0]["name"].clone());
            assert_eq!(named, Some(json!(member)), "{filter}: {error:?}");
        }
        assert!(Filter::parse(Some(&json!({"status": {"eq": vec!["x"; 20]}}))).is_ok());
    }

    #[test]
    fn sorting_orders_by_the_attribute_and_its_direction() {
        let mut items = vec![ROLE, KEY, PERMISSION];
        Sort::parse(Some(&json!({"attributeName": "resource", "orderBy": "DESC"}))).unwrap().apply(&mut items);
        assert_eq!(items.iter().map(|f| f.0).collect::<Vec<_>>(), ["2", "1", "3"]);
        Sort::parse(Some(&json!({"attributeName": "findingType"}))).unwrap().apply(&mut items);
        assert_eq!(items.iter().map(|f| f.0).collect::<Vec<_>>(), ["1", "2", "3"]);
        Sort::parse(None).unwrap().apply(&mut items);
        assert_eq!(items.iter().map(|f| f.0).collect::<Vec<_>>(), ["1", "2", "3"], "absent: as they are");
        for sort in [json!({"attributeName": "principal"}), json!({"orderBy": "UP"}), json!("id")] {
            let error = Sort::parse(Some(&sort)).unwrap_err();
            assert_eq!(error.code, "ValidationException", "{sort}");
        }
    }
}
