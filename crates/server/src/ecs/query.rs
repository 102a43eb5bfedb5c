//! ECS's cluster query language: the expressions of `memberOf` placement constraints and of
//! ListContainerInstances' `filter`, evaluated against a container instance.
//!
//! Grammar: `expr := term (or term)*`, `term := factor (and factor)*`,
//! `factor := not factor | ( expr ) | SUBJECT OPERATOR [VALUE | [LIST]]`, with operators
//! `==`, `!=`, `>`, `>=`, `<`, `<=`, `=~` (a `*` wildcard pattern), `exists`, `!exists`, `in`
//! and `not in`. Subjects are `attribute:NAME`, `agentConnected`, `agentVersion`,
//! `ec2InstanceId`, `registeredAt`, `runningTasksCount` and `task:group`. Words are compared
//! case-sensitively, numbers numerically when both sides are numbers.

use aws_protocol::AwsError;

/// What an expression is evaluated against.
pub trait Subject {
    /// The value of a subject, or `None` when it has none (an unset attribute).
    fn value(&self, subject: &str) -> Option<Vec<String>>;
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare { subject: String, operator: String, values: Vec<String> },
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Query(Expr);

fn invalid(expression: &str) -> AwsError {
    AwsError::new("InvalidParameterException", 400, format!("Invalid cluster query expression: {expression}"))
}

/// Splits an expression into words, operators, brackets, parentheses and commas.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {}
            '(' | ')' | '[' | ']' | ',' => out.push(c.to_string()),
            '=' | '!' | '<' | '>' => {
                let mut op = c.to_string();
                if let Some(&next) = chars.peek() {
                    if next == '=' || next == '~' {
                        op.push(next);
                        chars.next();
                    }
                }
                if op == "!" {
                    // `!exists`
                    let mut word = String::from("!");
                    while let Some(&next) = chars.peek() {
                        if next.is_alphanumeric() {
                            word.push(next);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    out.push(word);
                } else {
                    out.push(op);
                }
            }
            '"' | '\'' => {
                let mut word = String::new();
                for next in chars.by_ref() {
                    if next == c {
                        break;
                    }
                    word.push(next);
                }
                out.push(word);
            }
            _ => {
                let mut word = c.to_string();
                while let Some(&next) = chars.peek() {
                    if " \t\n()[],=!<>".contains(next) {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                out.push(word);
            }
        }
    }
    out
}

struct Parser<'a> {
    tokens: Vec<String>,
    position: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.position).map(String::as_str)
    }

    fn next(&mut self) -> Result<String, AwsError> {
        let token = self.tokens.get(self.position).cloned().ok_or_else(|| invalid(self.text))?;
        self.position += 1;
        Ok(token)
    }

    fn expr(&mut self) -> Result<Expr, AwsError> {
        let mut left = self.term()?;
        while self.peek().is_some_and(|t| t.eq_ignore_ascii_case("or")) {
            self.position += 1;
            left = Expr::Or(Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, AwsError> {
        let mut left = self.factor()?;
        while self.peek().is_some_and(|t| t.eq_ignore_ascii_case("and")) {
            self.position += 1;
            left = Expr::And(Box::new(left), Box::new(self.factor()?));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Expr, AwsError> {
        match self.peek() {
            Some(t) if t.eq_ignore_ascii_case("not") => {
                self.position += 1;
                Ok(Expr::Not(Box::new(self.factor()?)))
            }
            Some("(") => {
                self.position += 1;
                let inner = self.expr()?;
                if self.next()? != ")" {
                    return Err(invalid(self.text));
                }
                Ok(inner)
            }
            _ => self.comparison(),
        }
    }

    fn comparison(&mut self) -> Result<Expr, AwsError> {
        let subject = self.next()?;
        let mut operator = self.next()?;
        if operator.eq_ignore_ascii_case("not") {
            if !self.next()?.eq_ignore_ascii_case("in") {
                return Err(invalid(self.text));
            }
            operator = "not in".to_owned();
        }
        let operator = operator.to_ascii_lowercase();
        let values = match operator.as_str() {
            "exists" | "!exists" => Vec::new(),
            "in" | "not in" => {
                if self.next()? != "[" {
                    return Err(invalid(self.text));
                }
                let mut values = Vec::new();
                loop {
                    let token = self.next()?;
                    match token.as_str() {
                        "]" => break,
                        "," => {}
                        _ => values.push(token),
                    }
                }
                values
            }
            "==" | "!=" | ">" | ">=" | "<" | "<=" | "=~" => vec![self.next()?],
            _ => return Err(invalid(self.text)),
        };
        Ok(Expr::Compare { subject, operator, values })
    }
}

impl Query {
    /// Parses an expression (at most 2,000 characters, as ECS allows).
    pub fn parse(text: &str) -> Result<Query, AwsError> {
        if text.len() > 2000 {
            return Err(invalid(text));
        }
        let mut parser = Parser { tokens: tokens(text), position: 0, text };
        let expr = parser.expr()?;
        if parser.position != parser.tokens.len() {
            return Err(invalid(text));
        }
        Ok(Query(expr))
    }

    pub fn matches(&self, subject: &dyn Subject) -> bool {
        evaluate(&self.0, subject)
    }

    /// Whether the expression reads `task:group` (which needs every instance's task groups).
    pub fn reads_groups(&self) -> bool {
        fn reads(expr: &Expr) -> bool {
            match expr {
                Expr::Or(a, b) | Expr::And(a, b) => reads(a) || reads(b),
                Expr::Not(inner) => reads(inner),
                Expr::Compare { subject, .. } => subject == "task:group",
            }
        }
        reads(&self.0)
    }
}

fn wildcard(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            text.starts_with(head) && {
                let tail = text.get(head.len()..).unwrap_or_default();
                (0..=tail.len()).any(|skip| tail.get(skip..).is_some_and(|after| wildcard(rest, after)))
            }
        }
    }
}

fn compare(left: &str, right: &str) -> std::cmp::Ordering {
    match (left.parse::<f64>(), right.parse::<f64>()) {
        (Ok(a), Ok(b)) => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
        _ => left.cmp(right),
    }
}

fn evaluate(expr: &Expr, subject: &dyn Subject) -> bool {
    match expr {
        Expr::Or(a, b) => evaluate(a, subject) || evaluate(b, subject),
        Expr::And(a, b) => evaluate(a, subject) && evaluate(b, subject),
        Expr::Not(inner) => !evaluate(inner, subject),
        Expr::Compare { subject: name, operator, values } => {
            let actual = subject.value(name);
            let value = values.first().map(String::as_str).unwrap_or_default();
            let any = |test: &dyn Fn(&str) -> bool| actual.as_ref().is_some_and(|all| all.iter().any(|a| test(a)));
            match operator.as_str() {
                "exists" => actual.is_some(),
                "!exists" => actual.is_none(),
                "==" => any(&|a| compare(a, value).is_eq()),
                "!=" => !any(&|a| compare(a, value).is_eq()),
                ">" => any(&|a| compare(a, value).is_gt()),
                ">=" => any(&|a| compare(a, value).is_ge()),
                "<" => any(&|a| compare(a, value).is_lt()),
                "<=" => any(&|a| compare(a, value).is_le()),
                "=~" => any(&|a| wildcard(value, a)),
                "in" => any(&|a| values.iter().any(|v| v == a)),
                "not in" => !any(&|a| values.iter().any(|v| v == a)),
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Instance;

    impl Subject for Instance {
        fn value(&self, subject: &str) -> Option<Vec<String>> {
            match subject {
                "attribute:ecs.os-type" => Some(vec!["linux".into()]),
                "attribute:ecs.cpu-architecture" => Some(vec!["x86_64".into()]),
                "attribute:stack" => Some(vec!["prod-blue".into()]),
                "runningTasksCount" => Some(vec!["3".into()]),
                "ec2InstanceId" => Some(vec!["mi-0123456789abcdef0".into()]),
                "task:group" => Some(vec!["service:web".into(), "family:batch".into()]),
                _ => None,
            }
        }
    }

    fn check(text: &str) -> bool {
        Query::parse(text).unwrap().matches(&Instance)
    }

    #[test]
    fn evaluates_ecs_expressions() {
        assert!(check("attribute:ecs.os-type == linux"));
        assert!(!check("attribute:ecs.os-type == windows"));
        assert!(check("attribute:ecs.cpu-architecture in [x86_64, arm64]"));
        assert!(check("attribute:ecs.cpu-architecture not in [arm64]"));
        assert!(check("attribute:stack =~ prod-*"));
        assert!(check("attribute:stack exists and attribute:gpu !exists"));
        assert!(check("runningTasksCount > 2 and runningTasksCount <= 3"));
        assert!(!check("runningTasksCount > 10"));
        assert!(check("not (attribute:ecs.os-type == windows) or ec2InstanceId == mi-1"));
        assert!(check("task:group == service:web"));
        assert!(check("ec2InstanceId == 'mi-0123456789abcdef0'"));
    }

    #[test]
    fn refuses_malformed_expressions() {
        for text in ["attribute:x ==", "(attribute:x == y", "attribute:x in y", "attribute:x ~~ y", "a == b c"] {
            assert!(Query::parse(text).is_err(), "{text}");
        }
    }
}
