//! botocore's `pattern`s are Java regexes (AWS's Coral validator runs them with
//! `java.util.regex`, `Matcher.matches()`: the WHOLE value must match). [`translate`] writes
//! one in the `regex` crate's syntax with Java's meaning:
//!
//! - `\uXXXX` is exactly four hex digits (Java reads `\u10000` as `\u1000` then `0`), written
//!   `\x{XXXX}`;
//! - `\w`, `\d`, `\s` and their negations are ASCII in Java (without `UNICODE_CHARACTER_CLASS`),
//!   Unicode in the `regex` crate: they become the ASCII classes `[:word:]`, `[:digit:]`,
//!   `[:space:]` (Java's `\s` is `[ \t\n\x0B\f\r]`, the same set);
//! - the pattern is anchored at both ends (`\A(?:...)\z`).
//!
//! `\p{L}`, `\p{Z}`, `\p{N}`, classes, ranges and repetitions mean the same in both. What the
//! `regex` crate cannot express (look-around, back-references) fails to compile, and such a
//! pattern is not checked ([`crate::Pattern::regex`]).

/// `java` in the `regex` crate's syntax, anchored to match the whole value.
pub fn translate(java: &str) -> String {
    let mut out = String::with_capacity(java.len() + 16);
    out.push_str(r"\A(?:");
    let mut chars = java.chars().peekable();
    let mut class_depth = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(escaped) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let in_class = class_depth > 0;
                let ascii = |name: &str, negated: bool| {
                    let caret = if negated { "^" } else { "" };
                    if in_class { format!("[:{caret}{name}:]") } else { format!("[[:{caret}{name}:]]") }
                };
                match escaped {
                    'u' => {
                        let hex: String =
                            std::iter::from_fn(|| chars.next_if(char::is_ascii_hexdigit)).take(4).collect();
                        if hex.len() == 4 {
                            out.push_str(&format!("\\x{{{hex}}}"));
                        } else {
                            // Not an escape Java accepts: left for the regex crate to refuse.
                            out.push_str("\\u");
                            out.push_str(&hex);
                        }
                    }
                    'w' => out.push_str(&ascii("word", false)),
                    'W' => out.push_str(&ascii("word", true)),
                    'd' => out.push_str(&ascii("digit", false)),
                    'D' => out.push_str(&ascii("digit", true)),
                    's' => out.push_str(&ascii("space", false)),
                    'S' => out.push_str(&ascii("space", true)),
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' => {
                class_depth += 1;
                out.push('[');
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(']');
            }
            other => out.push(other),
        }
    }
    out.push_str(r")\z");
    out
}
