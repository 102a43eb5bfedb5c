//! Regions. Homeport serves every region a client signs for, as AWS does: IAM and STS are
//! global (their state is the account's), and every other service keeps its state per region,
//! under a [`Scope`] (account and region) that each of its tables keys by. The server's
//! configured region is only the default it shows users and the region of what it does
//! unasked (unsigned STS calls, rows that predate regions).

/// Whether `name` is shaped like an AWS region name (`us-east-1`, `eu-central-2`,
/// `us-gov-west-1`, `ap-southeast-5`): two letters, one or more words, and a number. A
/// request signed for anything else is refused as AWS refuses a scope naming no region.
pub fn is_region(name: &str) -> bool {
    let mut parts = name.split('-');
    let country = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let Some((number, words)) = rest.split_last() else { return false };
    country.len() == 2
        && country.bytes().all(|byte| byte.is_ascii_lowercase())
        && !words.is_empty()
        && words.iter().all(|word| !word.is_empty() && word.bytes().all(|byte| byte.is_ascii_lowercase()))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|byte| byte.is_ascii_digit())
}

/// Where a regional service's state lives: an account's resources in one region. Every
/// query of a regional table names both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    pub account: &'a str,
    pub region: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_are_two_letters_words_and_a_number() {
        for name in ["us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-5", "cn-northwest-1", "il-central-1"] {
            assert!(is_region(name), "{name}");
        }
        for name in [
            "",
            "local",
            "us-east",
            "us-east-",
            "US-EAST-1",
            "us--1",
            "use-east-1",
            "us-east-123",
            "us-east-1a",
            "us-1",
        ] {
            assert!(!is_region(name), "{name}");
        }
    }
}
