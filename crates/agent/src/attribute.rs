//! A container instance attribute, as the operator gives it (`--attribute NAME[=VALUE]`),
//! `instance.json` keeps it and `RegisterContainerInstance` sends it.
//!
//! Guarantees: a parsed attribute has a name of 1 to 128 letters, digits and `-_./@:`, never
//! one of the agent's own `ecs.` attributes, and an empty value is no value. It depends on
//! nothing else of the agent, so the state directory can hold it without importing the ECS
//! part.

use serde::{Deserialize, Serialize};

/// A container instance attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Attribute {
    /// `name=value`, or `name` alone.
    pub fn parse(text: &str) -> Result<Attribute, String> {
        let (name, value) = match text.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().to_owned())),
            None => (text.trim(), None),
        };
        let valid = |c: char| c.is_ascii_alphanumeric() || "-_./@:".contains(c);
        if name.is_empty() || name.len() > 128 || !name.chars().all(valid) {
            return Err(format!("`{text}`: an attribute is NAME=VALUE, NAME of 1 to 128 letters, digits, `-_./@:`"));
        }
        if name.starts_with("ecs.") {
            return Err(format!("`{name}`: attributes starting with `ecs.` are the agent's own"));
        }
        Ok(Attribute { name: name.to_owned(), value: value.filter(|v| !v.is_empty()) })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn attributes_parse_and_refuse_the_agents_own() {
        assert_eq!(
            Attribute::parse(" team = ops ").unwrap(),
            Attribute { name: "team".into(), value: Some("ops".into()) }
        );
        assert_eq!(Attribute::parse("flag=").unwrap().value, None);
        assert!(Attribute::parse("ecs.os-type=windows").unwrap_err().contains("agent's own"));
        assert!(Attribute::parse("=x").is_err());
        assert!(Attribute::parse("sp ace=x").is_err());
    }
}
