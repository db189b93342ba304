//! Remembers successful password checks so that scripts sending credentials on
//! every call do not pay for argon2 each time.
//!
//! Entries are keyed by HMAC-SHA256 of username and password under a key made
//! at start, so the map holds nothing a password could be recovered from
//! without that key. Each entry holds the login it was checked against (the
//! password hash, the person's role, customer and privileges).
//!
//! Whether an entry can be trusted as it stands depends on whether changes to
//! logins reach this process:
//! - **Announced** (PostgreSQL, while this process listens for the database's
//!   announcements): every change to a person, a role's privileges or a probe
//!   window is announced by a trigger, and the listener forgets the entries it
//!   touches. A hit is then the whole authentication: no read at all. Losing
//!   the listening connection forgets every entry and stops trusting them
//!   until the listener is back, so correctness never rests on a
//!   notification arriving.
//! - **Not announced** (SQLite, or PostgreSQL between listening connections):
//!   the caller reads the person on every call and an entry counts only while
//!   the current hash is still the one it was proven against. A password
//!   changed anywhere therefore ends the entry at once rather than after the TTL.
//!
//! A check that raced a change cannot leave a stale entry behind: every
//! forgetting advances an epoch, and an entry proven against a login read
//! before the latest forgetting is not kept.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::store::auth::Login;

pub type CacheKey = [u8; 32];

struct Entry {
    username: String,
    login: Login,
    expires: Duration,
}

/// What an announcement says changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    Person(i64),
    Role(i64),
    /// A probe window of this username moved.
    Prober(String),
    /// Anything: forget every entry.
    Everyone,
}

pub struct CredentialCache {
    secret: [u8; 32],
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<CacheKey, Entry>>,
    /// Advanced by every forgetting; see the module's last paragraph.
    epoch: AtomicU64,
    announced: AtomicBool,
}

impl CredentialCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Self {
            secret,
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
            epoch: AtomicU64::new(0),
            announced: AtomicBool::new(false),
        }
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

    /// Whether changes to logins reach this cache (see the module's text).
    pub fn announced(&self) -> bool {
        self.announced.load(Ordering::SeqCst)
    }

    /// The epoch to pass to [`Self::remember`], taken before the login is read.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Announced mode: the login `key` was proven against, if it is live.
    pub fn proven_login(&self, key: &CacheKey, now: Duration) -> Option<Login> {
        if !self.announced() {
            return None;
        }
        let mut entries = self.entries.lock().expect("cache lock");
        match entries.get(key) {
            Some(entry) if entry.expires > now => Some(entry.login.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Not announced: whether `key` was verified against `current_hash` and has not expired.
    pub fn hit(&self, key: &CacheKey, current_hash: &str, now: Duration) -> bool {
        let mut entries = self.entries.lock().expect("cache lock");
        match entries.get(key) {
            Some(entry) if entry.expires > now && entry.login.password_hash == current_hash => true,
            Some(_) => {
                entries.remove(key);
                false
            }
            None => false,
        }
    }

    /// Keeps a proven login, unless something was forgotten since `epoch`
    /// (the login may then be what was just forgotten).
    pub fn remember(&self, key: CacheKey, username: &str, login: Login, epoch: u64, now: Duration) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries.lock().expect("cache lock");
        // Checked under the lock that every forgetting takes.
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        if entries.len() >= self.capacity {
            entries.retain(|_, e| e.expires > now);
        }
        if entries.len() >= self.capacity {
            // Still full of live entries: drop an arbitrary one rather than grow.
            if let Some(victim) = entries.keys().next().copied() {
                entries.remove(&victim);
            }
        }
        entries.insert(key, Entry { username: username.to_string(), login, expires: now + self.ttl });
    }

    /// Forgets what an announcement says changed.
    pub fn forget(&self, changed: &Changed) {
        let mut entries = self.entries.lock().expect("cache lock");
        self.epoch.fetch_add(1, Ordering::SeqCst);
        entries.retain(|_, e| match changed {
            Changed::Person(person) => e.login.person != *person,
            Changed::Role(role) => e.login.role != *role,
            Changed::Prober(username) => e.username != *username,
            Changed::Everyone => false,
        });
    }

    /// Starts (true) or stops (false) trusting entries as announced; either
    /// way everything remembered so far is forgotten, because announcements
    /// may have been missed while no one listened.
    pub fn set_announced(&self, announced: bool) {
        let mut entries = self.entries.lock().expect("cache lock");
        self.epoch.fetch_add(1, Ordering::SeqCst);
        entries.clear();
        self.announced.store(announced, Ordering::SeqCst);
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
    use crate::domain::privilege::Privileges;

    fn login(person: i64, role: i64, hash: &str) -> Login {
        Login { person, customer: 1, role, password_hash: hash.into(), privileges: Privileges::default() }
    }

    #[test]
    fn hit_needs_same_hash_and_time_left() {
        let cache = CredentialCache::new(Duration::from_secs(10), 10);
        let key = cache.key("alice", "pw");
        assert_ne!(key, cache.key("alic", "epw"));
        cache.remember(key, "alice", login(1, 1, "h1"), cache.epoch(), Duration::ZERO);
        assert!(cache.hit(&key, "h1", Duration::from_secs(5)));
        assert!(!cache.hit(&key, "h2", Duration::from_secs(5)), "a changed hash ends the entry");
        assert!(!cache.hit(&key, "h1", Duration::from_secs(5)), "and it stays gone");
        cache.remember(key, "alice", login(1, 1, "h1"), cache.epoch(), Duration::ZERO);
        assert!(!cache.hit(&key, "h1", Duration::from_secs(11)));
    }

    #[test]
    fn announced_entries_are_trusted_until_an_announcement_touches_them() {
        let cache = CredentialCache::new(Duration::from_secs(10), 10);
        let (alice, bob) = (cache.key("alice", "pw"), cache.key("bob", "pw"));
        cache.remember(alice, "alice", login(1, 7, "h"), cache.epoch(), Duration::ZERO);
        assert!(cache.proven_login(&alice, Duration::ZERO).is_none(), "not trusted before listening");
        cache.set_announced(true);
        assert!(cache.is_empty(), "listening anew forgets what may have been missed");
        let remember = |key, name, login| cache.remember(key, name, login, cache.epoch(), Duration::ZERO);
        remember(alice, "alice", login(1, 7, "h"));
        remember(bob, "bob", login(2, 8, "h"));
        assert_eq!(cache.proven_login(&alice, Duration::from_secs(1)).map(|l| l.person), Some(1));
        cache.forget(&Changed::Role(7));
        assert!(cache.proven_login(&alice, Duration::from_secs(1)).is_none());
        assert!(cache.proven_login(&bob, Duration::from_secs(1)).is_some());
        cache.forget(&Changed::Prober("bob".into()));
        assert!(cache.proven_login(&bob, Duration::from_secs(1)).is_none());
        remember(bob, "bob", login(2, 8, "h"));
        cache.forget(&Changed::Person(2));
        assert!(cache.is_empty());
        remember(bob, "bob", login(2, 8, "h"));
        cache.set_announced(false);
        assert!(cache.is_empty(), "a lost listener forgets everything");
    }

    #[test]
    fn a_check_that_raced_a_forgetting_is_not_kept() {
        let cache = CredentialCache::new(Duration::from_secs(10), 10);
        let key = cache.key("alice", "pw");
        let read_at = cache.epoch();
        cache.forget(&Changed::Person(1));
        cache.remember(key, "alice", login(1, 1, "old"), read_at, Duration::ZERO);
        assert!(cache.is_empty());
    }

    #[test]
    fn bounded() {
        let cache = CredentialCache::new(Duration::from_secs(10), 3);
        for i in 0..10 {
            cache.remember(cache.key(&format!("u{i}"), "pw"), "u", login(i, 1, "h"), 0, Duration::ZERO);
        }
        assert_eq!(cache.len(), 3);
    }
}
