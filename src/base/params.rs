//! The parameters of one request, as the wire parser delivered them.

use std::collections::HashMap;

/// The parameters of one request, each key once, in the order first given.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params {
    entries: Vec<(String, String)>,
    /// Where each key stands in `entries`: a lookup costs the same however
    /// many keys a client sent.
    index: HashMap<String, usize>,
}

impl Params {
    /// The value given for `key`, if the key was present (possibly empty).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.index.get(key).map(|&i| self.entries[i].1.as_str())
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The same parameters with `key` set to `value`, in place if it was given.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        match self.index.get(key) {
            Some(&i) => self.entries[i].1 = value.to_string(),
            None => {
                self.index.insert(key.to_string(), self.entries.len());
                self.entries.push((key.to_string(), value.to_string()));
            }
        }
        self
    }

    /// Parameters already checked to hold each key once (the wire parser makes sure).
    pub fn from_entries(entries: Vec<(String, String)>) -> Self {
        let index = entries.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect();
        Self { entries, index }
    }

    /// Parameters from literal pairs (for tests); a later duplicate is dropped.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut entries: Vec<(String, String)> = Vec::new();
        for (k, v) in pairs {
            let k = k.into();
            if !entries.iter().any(|(seen, _)| *seen == k) {
                entries.push((k, v.into()));
            }
        }
        Self::from_entries(entries)
    }
}
