//! Wildcard patterns as IAM matches them.
//!
//! Two flavours share one representation:
//! - plain globs (`Action`, `StringLike`): `*` matches any run of characters, `?` exactly one;
//! - ARN globs (`Resource`, `ArnLike`): the same, but a `*` stays inside its colon-separated
//!   segment unless it is the last character of that segment (documented: "If the `*`
//!   wildcard is the last character of a resource ARN segment, it can expand to match beyond
//!   the colon boundaries"). The sixth segment (the resource id) may contain colons itself.
//!
//! Literal text can come from policy variables (`${*}` is a literal asterisk, a substituted
//! user name is literal even if it contains `*`), so patterns are built from tokens rather
//! than re-parsed from strings. Matching is `O(pattern × text)` in the worst case and never
//! recurses.

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Literal(String),
    /// `*`; `within_segment` is set for ARN globs when the star may not cross a `:`.
    Star {
        within_segment: bool,
    },
    /// `?`
    One,
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Up to eight leading literal bytes, kept inline so that most mismatches are decided
    /// without touching the heap (policies hold thousands of patterns; cache misses dominate).
    head: Head,
    shape: Shape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    bytes: u64,
    mask: u64,
    /// The exact length of every match, for patterns without wildcards.
    exact_len: Option<usize>,
}

impl Head {
    fn of(tokens: &[Token]) -> Head {
        let literal = match tokens.first() {
            Some(Token::Literal(literal)) => literal.as_bytes(),
            _ => &[],
        };
        let exact_len = match tokens {
            [] => Some(0),
            [Token::Literal(literal)] => Some(literal.len()),
            _ => None,
        };
        let (bytes, mask) = leading_bytes(literal);
        Head { bytes, mask, exact_len }
    }

    #[inline]
    fn admits(&self, text: &str) -> bool {
        let (bytes, _) = leading_bytes(text.as_bytes());
        bytes & self.mask == self.bytes && self.exact_len.is_none_or(|len| len == text.len())
    }
}

/// The first (up to) eight bytes of `bytes` as an integer, and the mask of those present.
#[inline]
fn leading_bytes(bytes: &[u8]) -> (u64, u64) {
    if let Some(first) = bytes.first_chunk::<8>() {
        return (u64::from_le_bytes(*first), u64::MAX);
    }
    let value = bytes.iter().rev().fold(0u64, |value, &byte| (value << 8) | u64::from(byte));
    (value, (1u64 << (bytes.len() * 8)) - 1)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// `*` alone: matches everything.
    Any,
    /// No wildcard at all.
    Exact(String),
    /// `prefix*` with a star that may run to the end.
    Prefix(String),
    /// Every star may match anything.
    Free(Vec<Token>),
    /// Some star must stay inside its ARN segment.
    Segmented(Vec<Token>),
}

/// How stars treat the colons between the first five ARN segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segments {
    /// The `Resource` element: a star that ends its segment may run across colons.
    StarAtEndSpans,
    /// The `Arn*` condition operators: "each of the six colon-delimited components of the ARN
    /// is checked separately".
    Strict,
}

/// Whether a pattern compares case-sensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Sensitive,
    /// ASCII case-insensitive; the caller lowercases the text it matches, and the pattern
    /// lowercases its literals once at build time.
    Insensitive,
}

impl Pattern {
    /// A plain glob from policy text: `*` and `?` are wildcards.
    pub fn glob(text: &str, case: Case) -> Pattern {
        Pattern::from_tokens(tokenize(text), case, None)
    }

    /// An ARN glob from policy text, with the given segment rule.
    pub fn arn(text: &str, segments: Segments) -> Pattern {
        Pattern::from_tokens(tokenize(text), Case::Sensitive, Some(segments))
    }

    /// A pattern from tokens; `segments` selects ARN segment rules for stars.
    pub fn from_tokens(tokens: Vec<Token>, case: Case, segments: Option<Segments>) -> Pattern {
        let mut tokens = merge_literals(tokens, case);
        if let Some(segments) = segments {
            mark_segment_stars(&mut tokens, segments);
        }
        let head = Head::of(&tokens);
        let shape = match tokens.as_slice() {
            [] => Shape::Exact(String::new()),
            [Token::Star { within_segment: false }] => Shape::Any,
            [Token::Literal(text)] => Shape::Exact(text.clone()),
            [Token::Literal(text), Token::Star { within_segment: false }] => Shape::Prefix(text.clone()),
            _ if tokens.iter().any(|t| matches!(t, Token::Star { within_segment: true })) => Shape::Segmented(tokens),
            _ => Shape::Free(tokens),
        };
        Pattern { head, shape }
    }

    /// True if the pattern is the single wildcard `*`.
    pub fn is_any(&self) -> bool {
        matches!(self.shape, Shape::Any)
    }

    /// True if `text` matches the whole pattern. For a case-insensitive pattern `text` must
    /// already be lowercase.
    pub fn matches(&self, text: &str) -> bool {
        if !self.head.admits(text) {
            return false;
        }
        match &self.shape {
            Shape::Any => true,
            Shape::Exact(literal) => literal == text,
            Shape::Prefix(prefix) => text.starts_with(prefix.as_str()),
            Shape::Free(tokens) => matches_free(tokens, text),
            Shape::Segmented(tokens) => matches_tokens(tokens, text.as_bytes()),
        }
    }
}

/// Splits policy text into literal runs and wildcards.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut literal = String::new();
    for ch in text.chars() {
        match ch {
            '*' | '?' => {
                if !literal.is_empty() {
                    tokens.push(Token::Literal(std::mem::take(&mut literal)));
                }
                tokens.push(if ch == '*' { Token::Star { within_segment: false } } else { Token::One });
            }
            _ => literal.push(ch),
        }
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    tokens
}

/// A pattern's tokens as matching sees them (literals lowercased when case-insensitive, ARN
/// stars marked), for comparing patterns with patterns (`access`).
pub(crate) fn pattern_tokens(text: &str, case: Case, segments: Option<Segments>) -> Vec<Token> {
    let mut tokens = merge_literals(tokenize(text), case);
    if let Some(segments) = segments {
        mark_segment_stars(&mut tokens, segments);
    }
    tokens
}

fn merge_literals(tokens: Vec<Token>, case: Case) -> Vec<Token> {
    let mut merged: Vec<Token> = Vec::with_capacity(tokens.len());
    for token in tokens {
        let token = match (token, case) {
            (Token::Literal(text), Case::Insensitive) => Token::Literal(text.to_ascii_lowercase()),
            (token, _) => token,
        };
        match (merged.last_mut(), token) {
            (_, Token::Literal(text)) if text.is_empty() => {}
            (Some(Token::Literal(previous)), Token::Literal(text)) => previous.push_str(&text),
            // Consecutive stars match what one star matches.
            (Some(Token::Star { .. }), Token::Star { .. }) => {}
            (_, token) => merged.push(token),
        }
    }
    merged
}

/// Marks the stars of an ARN glob that must stay within their segment: those before the
/// fifth colon, unless the rule lets a star that ends its segment span colons.
fn mark_segment_stars(tokens: &mut [Token], segments: Segments) {
    let mut colons_seen = 0usize;
    for index in 0..tokens.len() {
        let next_starts_new_segment = match tokens.get(index + 1) {
            None => true,
            Some(Token::Literal(text)) => text.starts_with(':'),
            Some(_) => false,
        };
        match tokens.get_mut(index) {
            Some(Token::Literal(text)) => colons_seen += text.bytes().filter(|&b| b == b':').count(),
            Some(Token::Star { within_segment }) => {
                let may_span = segments == Segments::StarAtEndSpans && next_starts_new_segment;
                *within_segment = colons_seen < 5 && !may_span;
            }
            _ => {}
        }
    }
}

/// The classic greedy matcher for patterns whose stars may match anything: on a mismatch it
/// retries from the last star, one character further (earlier stars never need to move).
/// A star followed by literal text jumps straight to that text's next occurrence. No
/// allocation; `O(pattern × text)` at worst.
fn matches_free(tokens: &[Token], text: &str) -> bool {
    let bytes = text.as_bytes();
    let (mut p, mut t) = (0usize, 0usize);
    // The token after the last star, and where that star's match currently ends.
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        let advanced = match tokens.get(p) {
            None if t == bytes.len() => return true,
            None => false,
            Some(Token::Star { .. }) => match tokens.get(p + 1) {
                None => return true,
                Some(Token::Literal(literal)) => match find_from(text, t, literal) {
                    Some(found) => {
                        backtrack = Some((p + 1, found));
                        (p, t) = (p + 1, found);
                        true
                    }
                    None => return false,
                },
                Some(_) => {
                    backtrack = Some((p + 1, t));
                    p += 1;
                    true
                }
            },
            Some(Token::Literal(literal)) => {
                let fits = bytes.get(t) == literal.as_bytes().first()
                    && bytes.get(t..t + literal.len()) == Some(literal.as_bytes());
                if fits {
                    (p, t) = (p + 1, t + literal.len());
                }
                fits
            }
            Some(Token::One) => match bytes.get(t) {
                Some(&first) => {
                    (p, t) = (p + 1, t + utf8_width(first));
                    true
                }
                None => false,
            },
        };
        if advanced {
            continue;
        }
        let Some((after_star, star_end)) = backtrack else { return false };
        let Some(&first) = bytes.get(star_end) else { return false };
        let mut next = star_end + utf8_width(first);
        if let Some(Token::Literal(literal)) = tokens.get(after_star) {
            match find_from(text, next, literal) {
                Some(found) => next = found,
                None => return false,
            }
        }
        backtrack = Some((after_star, next));
        (p, t) = (after_star, next);
    }
}

/// The byte offset of the first occurrence of `needle` in `text` at or after `from`. Needles
/// are short, so a scan for the first byte beats setting up a substring searcher.
fn find_from(text: &str, from: usize, needle: &str) -> Option<usize> {
    let (bytes, needle) = (text.as_bytes(), needle.as_bytes());
    let first = *needle.first()?;
    let mut start = from;
    loop {
        let at = start + bytes.get(start..)?.iter().position(|&b| b == first)?;
        if bytes.get(at..at + needle.len()) == Some(needle) {
            return Some(at);
        }
        start = at + 1;
    }
}

/// Dynamic programming over the positions of `text` that each token prefix can reach, for
/// patterns with stars that may not cross a colon. Texts of up to 127 bytes (every real ARN)
/// keep the reachable positions in one 128-bit word; longer ones use vectors.
fn matches_tokens(tokens: &[Token], text: &[u8]) -> bool {
    if text.len() < 128 { matches_tokens_bits(tokens, text) } else { matches_tokens_vec(tokens, text) }
}

fn matches_tokens_bits(tokens: &[Token], text: &[u8]) -> bool {
    let len = text.len();
    let mut reach: u128 = 1;
    for token in tokens {
        let mut next: u128 = 0;
        let mut positions = reach;
        while positions != 0 {
            let start = positions.trailing_zeros() as usize;
            positions &= positions - 1;
            match token {
                Token::Literal(literal) => {
                    let literal = literal.as_bytes();
                    if text.get(start..start + literal.len()) == Some(literal) {
                        next |= 1 << (start + literal.len());
                    }
                }
                Token::One => {
                    if let Some(&first) = text.get(start) {
                        next |= 1 << (start + utf8_width(first)).min(len);
                    }
                }
                Token::Star { within_segment } => {
                    // From the first reachable position on, a star covers everything (or up to
                    // and including the position of the next colon); later starts add nothing.
                    let mut position = start;
                    loop {
                        next |= 1 << position;
                        if position >= len || (*within_segment && text.get(position) == Some(&b':')) {
                            break;
                        }
                        position += 1;
                    }
                    if !*within_segment {
                        break;
                    }
                }
            }
        }
        reach = next;
        if reach == 0 {
            return false;
        }
    }
    reach & (1 << len) != 0
}

fn matches_tokens_vec(tokens: &[Token], text: &[u8]) -> bool {
    let len = text.len();
    let mut reach = vec![false; len + 1];
    let mut next = vec![false; len + 1];
    if let Some(first) = reach.first_mut() {
        *first = true;
    }
    for token in tokens {
        next.iter_mut().for_each(|slot| *slot = false);
        match token {
            Token::Literal(literal) => {
                let literal = literal.as_bytes();
                for start in 0..=len {
                    if reach.get(start) == Some(&true) && text.get(start..start + literal.len()) == Some(literal) {
                        if let Some(slot) = next.get_mut(start + literal.len()) {
                            *slot = true;
                        }
                    }
                }
            }
            Token::One => {
                for start in 0..len {
                    if reach.get(start) == Some(&true) {
                        // One character, which may be several UTF-8 bytes.
                        let width = text.get(start).map_or(1, |&b| utf8_width(b));
                        if let Some(slot) = next.get_mut(start + width) {
                            *slot = true;
                        }
                    }
                }
            }
            Token::Star { within_segment } => {
                let mut running = false;
                for position in 0..=len {
                    if reach.get(position) == Some(&true) {
                        running = true;
                    }
                    if let Some(slot) = next.get_mut(position) {
                        *slot = running;
                    }
                    if *within_segment && text.get(position) == Some(&b':') {
                        running = false;
                    }
                }
            }
        }
        std::mem::swap(&mut reach, &mut next);
        if !reach.contains(&true) {
            return false;
        }
    }
    reach.last() == Some(&true)
}

fn utf8_width(first_byte: u8) -> usize {
    match first_byte {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_globs() {
        let cases = [
            ("*", "anything:at/all", true),
            ("iam:get*", "iam:getuser", true),
            ("iam:get*", "iam:listusers", false),
            ("iam:?etuser", "iam:getuser", true),
            ("iam:?etuser", "iam:etuser", false),
            ("s3:*object*", "s3:getobjectacl", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("é?", "éü", true),
            ("", "", true),
            ("", "x", false),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(Pattern::glob(pattern, Case::Sensitive).matches(text), expected, "{pattern} vs {text}");
        }
    }

    #[test]
    fn case_insensitive_patterns_lowercase_their_literals() {
        let pattern = Pattern::glob("IAM:Get*", Case::Insensitive);
        assert!(pattern.matches("iam:getuser"));
    }

    #[test]
    fn arn_stars_stay_in_their_segment_unless_they_end_it() {
        let cases = [
            ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c", true),
            ("arn:aws:ec2:*:111122223333:instance/*", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", true),
            ("arn:aws:ec2:us-*-1:*:instance/*", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", true),
            // A mid-segment star cannot swallow the colon that ends its segment.
            ("arn:aws:ec2:us-*1:2:x", "arn:aws:ec2:us-east:11:2:x", false),
            ("arn:aws:ec2:us-*1:*", "arn:aws:ec2:us-east-1:2:x:1:z", true),
            // A star ending a segment may run across colons.
            ("arn:aws:*", "arn:aws:iam::111122223333:user/bob", true),
            ("arn:aws:iam::*:role/x", "arn:aws:iam::111122223333:role/x", true),
            ("arn:aws:iam::111122223333:user/Bob", "arn:aws:iam::111122223333:user/bob", false),
            ("arn:aws:logs:*:*:log-group:a*:*", "arn:aws:logs:r:1:log-group:abc:log-stream:x", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(Pattern::arn(pattern, Segments::StarAtEndSpans).matches(text), expected, "{pattern} vs {text}");
        }
        let strict = Pattern::arn("arn:aws:s:*:1:f/*", Segments::Strict);
        assert!(strict.matches("arn:aws:s:r:1:f/x:y"));
        assert!(!strict.matches("arn:aws:s:r:2:f/x:1:f/y"));
    }

    #[test]
    fn pathological_patterns_stay_polynomial() {
        let text = "a".repeat(20_000);
        let pattern = "a*".repeat(40) + "b";
        let started = std::time::Instant::now();
        assert!(!Pattern::glob(&pattern, Case::Sensitive).matches(&text));
        let segmented = format!("arn:{}:b", "a*a".repeat(20));
        assert!(!Pattern::arn(&segmented, Segments::Strict).matches(&format!("arn:{text}:c")));
        // Exponential backtracking would take hours; this is a bound, not a benchmark.
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn the_bitset_and_vector_matchers_agree() {
        // A small deterministic generator: every pattern over a few shapes against many texts.
        let patterns = ["arn:a*:b?:*c:d", "*:a*b:*", "a?*:?*b", "arn:*-1:x:*", "a*a*a*:b", "???:*", ":*:*:", ""];
        let mut seed = 7u64;
        for _ in 0..2_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let len = usize::try_from(seed >> 58).unwrap_or(0) + 1;
            let text: String =
                (0..len).map(|i| ['a', 'b', ':', 'c', '-', 'd', '1', 'x'][((seed >> (i % 48)) & 7) as usize]).collect();
            for pattern in patterns {
                for segments in [Segments::Strict, Segments::StarAtEndSpans] {
                    let mut tokens = merge_literals(tokenize(pattern), Case::Sensitive);
                    mark_segment_stars(&mut tokens, segments);
                    assert_eq!(
                        matches_tokens_bits(&tokens, text.as_bytes()),
                        matches_tokens_vec(&tokens, text.as_bytes()),
                        "{pattern} vs {text}"
                    );
                }
            }
        }
    }

    #[test]
    fn literal_tokens_are_not_wildcards() {
        let pattern =
            Pattern::from_tokens(vec![Token::Literal("a".into()), Token::Literal("*".into())], Case::Sensitive, None);
        assert!(pattern.matches("a*"));
        assert!(!pattern.matches("ab"));
    }
}
