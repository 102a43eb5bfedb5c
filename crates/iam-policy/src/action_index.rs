//! Which statements of a policy can apply to an action, by the action's service prefix.
//!
//! A principal's policies are mostly about other services than the one a request calls:
//! evaluation asks the index for the statements that name the request's service (or may name
//! any service) and skips the rest without matching a single pattern, so a twentieth policy
//! about other services costs one lookup. Guarantee: [`ActionIndex::candidates`] never leaves
//! out a statement whose `Action` or `NotAction` could match the action, and keeps the
//! document's order.

use crate::document::Statement;

/// Up to this many services a lookup scans instead of searching.
const LINEAR: usize = 16;

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ActionIndex {
    /// Per lowercase service prefix, sorted by it (scanned or searched, either cheaper than
    /// hashing for the few services a policy names, and cheap for hundreds): the statements
    /// whose `Action` names it literally, merged in document order with `any`.
    by_service: Vec<(String, Vec<u32>)>,
    /// The statements that may apply to any service: `NotAction`, no `Action`, or an entry
    /// whose service part has a wildcard (`*`, `ec?:Describe*`) or no `:` at all.
    any: Vec<u32>,
}

impl ActionIndex {
    pub(crate) fn build(statements: &[Statement]) -> ActionIndex {
        let mut index = ActionIndex::default();
        let mut named: Vec<(String, u32)> = Vec::new();
        for (position, statement) in statements.iter().enumerate() {
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            match literal_services(statement) {
                Some(services) => named.extend(services.into_iter().map(|service| (service, position))),
                None => index.any.push(position),
            }
        }
        named.sort();
        for (service, position) in named {
            match index.by_service.last_mut() {
                Some((last, positions)) if *last == service => positions.push(position),
                _ => index.by_service.push((service, vec![position])),
            }
        }
        for (_, positions) in &mut index.by_service {
            positions.extend_from_slice(&index.any);
            positions.sort_unstable();
            positions.dedup();
        }
        index
    }

    /// The statements that can apply to `lowercase_action`, in document order; `None` when
    /// the action has no service prefix (every statement is then looked at).
    pub(crate) fn candidates(&self, lowercase_action: &str) -> Option<&[u32]> {
        let (service, _) = lowercase_action.split_once(':')?;
        // Most policies name a few services: comparing lengths first rejects them at once.
        let found = if self.by_service.len() <= LINEAR {
            self.by_service.iter().position(|(named, _)| named == service)
        } else {
            self.by_service.binary_search_by(|(named, _)| named.as_str().cmp(service)).ok()
        };
        Some(match found.and_then(|at| self.by_service.get(at)) {
            Some((_, positions)) => positions,
            None => &self.any,
        })
    }
}

/// The services a statement's `Action` names, when every entry names one literally.
fn literal_services(statement: &Statement) -> Option<Vec<String>> {
    let clause = statement.action.as_ref().filter(|clause| !clause.negated)?;
    let mut services: Vec<String> = Vec::with_capacity(clause.items.len());
    for item in &clause.items {
        let (service, _) = item.text.split_once(':')?;
        if service.contains(['*', '?']) {
            return None;
        }
        let service = service.to_ascii_lowercase();
        if !services.contains(&service) {
            services.push(service);
        }
    }
    Some(services)
}

#[cfg(test)]
mod tests {
    use crate::document::Policy;

    #[test]
    fn an_action_reaches_its_services_statements_and_those_of_any_service_in_order() {
        let policy = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"ecs:RunTask","Resource":"*"},
                {"Effect":"Allow","Action":["s3:GetObject","ECS:Describe*"],"Resource":"*"},
                {"Effect":"Deny","NotAction":"iam:*","Resource":"*"},
                {"Effect":"Allow","Action":"ec?:Describe*","Resource":"*"},
                {"Effect":"Allow","Action":["logs:PutLogEvents","*"],"Resource":"*"},
                {"Effect":"Allow","Action":"iam:GetUser","Resource":"*"},
                {"Effect":"Allow","Action":"nocolon","Resource":"*"}]}"#,
        )
        .unwrap();
        let index = &policy.action_index;
        assert_eq!(index.candidates("ecs:runtask"), Some(&[0, 1, 2, 3, 4, 6][..]));
        assert_eq!(index.candidates("s3:getobject"), Some(&[1, 2, 3, 4, 6][..]));
        assert_eq!(index.candidates("iam:getuser"), Some(&[2, 3, 4, 5, 6][..]));
        assert_eq!(index.candidates("sqs:sendmessage"), Some(&[2, 3, 4, 6][..]));
        assert_eq!(index.candidates("no-service"), None);
    }

    #[test]
    fn many_services_are_searched_as_well_as_few_are_scanned() {
        let statements: Vec<String> = (0..40)
            .map(|n| format!(r#"{{"Effect":"Allow","Action":"svc{n:02}:Get*","Resource":"*"}}"#))
            .chain([r#"{"Effect":"Deny","NotAction":"svc07:*","Resource":"*"}"#.to_owned()])
            .collect();
        let text = format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, statements.join(","));
        let policy = Policy::parse(&text).unwrap();
        assert!(policy.action_index.by_service.len() > super::LINEAR);
        for n in [0, 7, 23, 39] {
            assert_eq!(policy.action_index.candidates(&format!("svc{n:02}:getthing")), Some(&[n, 40][..]));
        }
        assert_eq!(policy.action_index.candidates("svc40:getthing"), Some(&[40][..]));
    }
}
