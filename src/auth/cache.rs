//! Remembers successful password checks so that scripts sending credentials on
//! every call do not pay for argon2 each time.
//!
//! Entries are keyed by HMAC-SHA256 of username and password under a key made
//! at start, so the map holds nothing a password could be recovered from
//! without that key. Each entry also holds the password hash it was checked
//! against; a hit counts only while the person's current hash (read on every
//! call anyway, with the role's privileges) is still that one. A password
//! changed anywhere, by this process, another one, `people/password` or `switchyard admin passwd`,
//! therefore ends the entry at once rather than after the TTL.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub type CacheKey = [u8; 32];

struct Entry {
    password_hash: String,
    expires: Duration,
}

pub struct CredentialCache {
    secret: [u8; 32],
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<CacheKey, Entry>>,
}

impl CredentialCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Self { secret, ttl, capacity, entries: Mutex::new(HashMap::new()) }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.capacity > 0
    }

    pub fn key(&self, username: &str, password: &str) -> CacheKey {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        // Length-prefixed so that ("ab", "c") and ("a", "bc") differ.
        mac.update(&(username.len() as u64).to_le_bytes());
        mac.update(username.as_bytes());
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `key` was verified against `current_hash` and has not expired.
    pub fn hit(&self, key: &CacheKey, current_hash: &str, now: Duration) -> bool {
        let mut entries = self.entries.lock().expect("cache lock");
        match entries.get(key) {
            Some(entry) if entry.expires > now && entry.password_hash == current_hash => true,
            Some(_) => {
                entries.remove(key);
                false
            }
            None => false,
        }
    }

    pub fn remember(&self, key: CacheKey, password_hash: String, now: Duration) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() >= self.capacity {
            entries.retain(|_, e| e.expires > now);
        }
        if entries.len() >= self.capacity {
            // Still full of live entries: drop an arbitrary one rather than grow.
            if let Some(victim) = entries.keys().next().copied() {
                entries.remove(&victim);
            }
        }
        entries.insert(key, Entry { password_hash, expires: now + self.ttl });
    }

    pub fn len(&self) -> usize {
        self.entries.lock().expect("cache lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_needs_same_hash_and_time_left() {
        let cache = CredentialCache::new(Duration::from_secs(10), 10);
        let key = cache.key("alice", "pw");
        assert_ne!(key, cache.key("alic", "epw"));
        cache.remember(key, "h1".into(), Duration::ZERO);
        assert!(cache.hit(&key, "h1", Duration::from_secs(5)));
        assert!(!cache.hit(&key, "h2", Duration::from_secs(5)), "a changed hash ends the entry");
        assert!(!cache.hit(&key, "h1", Duration::from_secs(5)), "and it stays gone");
        cache.remember(key, "h1".into(), Duration::ZERO);
        assert!(!cache.hit(&key, "h1", Duration::from_secs(11)));
    }

    #[test]
    fn bounded() {
        let cache = CredentialCache::new(Duration::from_secs(10), 3);
        for i in 0..10 {
            cache.remember(cache.key(&format!("u{i}"), "pw"), "h".into(), Duration::ZERO);
        }
        assert_eq!(cache.len(), 3);
    }
}
