//! The request context: the condition keys and values a request carries.
//!
//! Keys are case-insensitive (IAM documents condition key names as such), so they are stored
//! lowercased; values keep their case. The caller supplies every key, including the global
//! ones such as `aws:CurrentTime`: the engine has no clock and derives nothing.

/// The value of one context key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    /// A single-valued key such as `aws:username`.
    Single(String),
    /// A multi-valued key such as `aws:TagKeys`; it may be empty.
    Multi(Vec<String>),
}

impl ContextValue {
    /// The values as a slice, one element for a single-valued key.
    pub fn values(&self) -> &[String] {
        match self {
            ContextValue::Single(value) => std::slice::from_ref(value),
            ContextValue::Multi(values) => values,
        }
    }
}

/// The condition keys of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// [`key_hash`] of the key, compared first so lookups rarely touch the key text.
    hash: u64,
    key: String,
    value: ContextValue,
}

/// FNV-1a of a lowercase key: cheap, and stored beside keys on both sides of a lookup.
pub(crate) fn key_hash(lowercase_key: &str) -> u64 {
    lowercase_key
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// Sets a key, replacing any earlier value of the same (case-insensitive) name.
    pub fn insert(&mut self, key: &str, value: ContextValue) {
        let key = key.to_ascii_lowercase();
        let hash = key_hash(&key);
        match self.entries.iter_mut().find(|entry| entry.hash == hash && entry.key == key) {
            Some(entry) => entry.value = value,
            None => self.entries.push(Entry { hash, key, value }),
        }
    }

    /// Builder form of [`Context::insert`] for a single value.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Context {
        self.insert(key, ContextValue::Single(value.into()));
        self
    }

    /// Builder form of [`Context::insert`] for a multi-valued key.
    pub fn with_values<I, S>(mut self, key: &str, values: I) -> Context
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.insert(key, ContextValue::Multi(values.into_iter().map(Into::into).collect()));
        self
    }

    /// Looks a key up; `lowercase_key` must already be lowercase (parsed policies store their
    /// keys that way).
    pub fn get(&self, lowercase_key: &str) -> Option<&ContextValue> {
        self.get_hashed(key_hash(lowercase_key), lowercase_key)
    }

    /// [`Context::get`] with the key's hash already known (parsed conditions keep theirs).
    pub(crate) fn get_hashed(&self, hash: u64, lowercase_key: &str) -> Option<&ContextValue> {
        self.entries.iter().find(|entry| entry.hash == hash && entry.key == lowercase_key).map(|entry| &entry.value)
    }

    /// The value a policy variable resolves to: present and single-valued, else nothing.
    pub fn variable(&self, lowercase_key: &str) -> Option<&str> {
        match self.get(lowercase_key)? {
            ContextValue::Single(value) => Some(value),
            ContextValue::Multi(_) => None,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.entries.iter().map(|entry| (entry.key.as_str(), &entry.value))
    }
}
