//! Counts failed logins per username and per client address in a fixed window;
//! past the limit, attempts are refused without checking the password until
//! the window ends. Unknown usernames are counted like known ones, so being
//! throttled says nothing about whether a username exists.
//!
//! Counters live in the process: behind a load balancer each process counts
//! on its own, so an attacker spread over N processes gets up to N times the
//! limit. Both maps are bounded; when full of live windows, new names are not
//! tracked (the per-address limit still holds).

use std::{collections::HashMap, hash::Hash, net::IpAddr, sync::Mutex, time::Duration};

const MAX_TRACKED: usize = 100_000;

struct Window {
    failures: u32,
    ends: Duration,
    /// When the last attempt over the limit was let through (slowed, not refused).
    last_slowed: Option<Duration>,
}

struct Counter<K> {
    limit: u32,
    windows: Mutex<HashMap<K, Window>>,
}

impl<K: Eq + Hash + Clone> Counter<K> {
    fn new(limit: u32) -> Self {
        Self { limit, windows: Mutex::new(HashMap::new()) }
    }

    /// Seconds until `key` may try again, if it is over the limit now.
    fn blocked_for(&self, key: &K, now: Duration) -> Option<u64> {
        let windows = self.windows.lock().expect("throttle lock");
        let window = windows.get(key)?;
        (window.ends > now && window.failures >= self.limit).then(|| (window.ends - now).as_secs_f64().ceil() as u64)
    }

    fn fail(&self, key: &K, now: Duration, length: Duration) {
        let mut windows = self.windows.lock().expect("throttle lock");
        if windows.len() >= MAX_TRACKED && !windows.contains_key(key) {
            windows.retain(|_, w| w.ends > now);
            if windows.len() >= MAX_TRACKED {
                return;
            }
        }
        let fresh = Window { failures: 0, ends: now + length, last_slowed: None };
        let window = windows.entry(key.clone()).or_insert(fresh);
        if window.ends <= now {
            *window = Window { failures: 0, ends: now + length, last_slowed: None };
        }
        window.failures += 1;
    }

    fn purge(&self, now: Duration) {
        self.windows.lock().expect("throttle lock").retain(|_, w| w.ends > now);
    }

    fn reset(&self, key: &K) {
        self.windows.lock().expect("throttle lock").remove(key);
    }

    /// Counts an attempt as it starts, unless `key` is over the limit now
    /// (then the seconds to wait): checking and counting under one lock, so
    /// that attempts made in parallel obey the limit as sequential ones do.
    fn reserve(&self, key: &K, now: Duration, length: Duration) -> Result<(), u64> {
        self.reserve_paced(key, now, length, None)
    }

    /// As [`Self::reserve`], but over the limit one attempt per `pace` is let
    /// through instead of none: slowed down, not locked out.
    fn reserve_paced(&self, key: &K, now: Duration, length: Duration, pace: Option<Duration>) -> Result<(), u64> {
        let mut windows = self.windows.lock().expect("throttle lock");
        if let Some(window) = windows.get_mut(key)
            && window.ends > now
            && window.failures >= self.limit
        {
            let wait = |until: Duration| ((until.saturating_sub(now)).as_secs_f64().ceil() as u64).max(1);
            let Some(pace) = pace else { return Err(wait(window.ends)) };
            let next = window.last_slowed.map_or(window.ends - length + pace, |last| last + pace);
            if now < next {
                return Err(wait(next.min(window.ends)));
            }
            window.last_slowed = Some(now);
            window.failures += 1;
            return Ok(());
        }
        drop(windows);
        self.fail(key, now, length);
        Ok(())
    }

    /// Takes back one attempt counted by [`Self::reserve`].
    fn unreserve(&self, key: &K) {
        if let Some(window) = self.windows.lock().expect("throttle lock").get_mut(key) {
            window.failures = window.failures.saturating_sub(1);
        }
    }
}

/// A username as a window knows it: a hash of fixed size.
type NameKey = u64;

pub struct Throttle {
    window: Duration,
    /// Addresses whose per-address window does not apply (a portal relaying
    /// its customers' logins from one address); per-username limits still do.
    trusted: Vec<IpAddr>,
    usernames: Counter<NameKey>,
    addresses: Counter<IpAddr>,
    /// Probes for other people's usernames ("already in use" answers), by the
    /// person who made them. A successful login does not clear these: the
    /// probes are made by a person who is logged in.
    probes: Counter<NameKey>,
    /// Keys usernames by a fixed-size hash, so that what a window costs does
    /// not grow with what a client sends.
    hasher: std::hash::RandomState,
}

impl Throttle {
    pub fn new(max_per_username: u32, max_per_address: u32, window: Duration) -> Self {
        Self::with_trusted(max_per_username, max_per_address, window, Vec::new())
    }

    pub fn with_trusted(max_per_username: u32, max_per_address: u32, window: Duration, trusted: Vec<IpAddr>) -> Self {
        Self {
            window,
            trusted,
            usernames: Counter::new(max_per_username),
            addresses: Counter::new(max_per_address),
            probes: Counter::new(max_per_username),
            hasher: std::hash::RandomState::new(),
        }
    }

    fn key(&self, username: &str) -> NameKey {
        std::hash::BuildHasher::hash_one(&self.hasher, username)
    }

    /// Forgets every window that has ended: run on a timer, so that a flood of
    /// names leaves nothing behind once its windows are over.
    pub fn purge(&self, now: Duration) {
        self.usernames.purge(now);
        self.probes.purge(now);
        self.addresses.purge(now);
    }

    /// Seconds to wait, when this username or address has failed too often.
    /// Logins go through [`Self::reserve`]; this and the two below let the
    /// unit tests look into and fill the windows directly.
    #[cfg(test)]
    fn blocked_for(&self, username: &str, address: IpAddr, now: Duration) -> Option<u64> {
        let name = self.key(username);
        let by_name = self.usernames.blocked_for(&name, now);
        let by_probes = self.probes.blocked_for(&name, now);
        let by_address = self.addresses.blocked_for(&address, now);
        by_name.max(by_probes).max(by_address).map(|secs| secs.max(1))
    }

    /// A person learnt that a username exists ("already in use"): counted
    /// against their own window like a failed login, and not cleared by their
    /// next successful one, so that usernames cannot be enumerated unthrottled.
    pub fn record_probe(&self, prober: &str, address: IpAddr, now: Duration) {
        self.probes.fail(&self.key(prober), now, self.window);
        self.addresses.fail(&address, now, self.window);
    }

    #[cfg(test)]
    fn record_failure(&self, username: &str, address: IpAddr, now: Duration) {
        self.usernames.fail(&self.key(username), now, self.window);
        self.addresses.fail(&address, now, self.window);
    }

    /// A success clears the username's count (not the address's).
    #[cfg(test)]
    fn record_success(&self, username: &str) {
        self.usernames.reset(&self.key(username));
    }

    /// Counts an attempt before its password is checked, or answers the
    /// seconds to wait when the username or the address is over its limit.
    /// Counted at the start, a failure needs nothing more; a success hands
    /// the attempt back with [`Self::succeeded`].
    pub fn reserve(&self, username: &str, address: IpAddr, now: Duration) -> Result<(), u64> {
        let name = self.key(username);
        if let Some(secs) = self.probes.blocked_for(&name, now) {
            return Err(secs.max(1));
        }
        // The address first: a client over its own limit is refused before it
        // can touch a username's window (or take the slowed attempt its owner
        // is waiting for).
        let trusted = self.trusted.contains(&address);
        if !trusted {
            self.addresses.reserve(&address, now, self.window)?;
        }
        // Over its limit, a username is slowed to one attempt per
        // window/limit rather than locked out: its owner can still get in.
        // An attempt refused here still counts against its address.
        let pace = self.window / self.usernames.limit.max(1);
        self.usernames.reserve_paced(&name, now, self.window, Some(pace))?;
        Ok(())
    }

    /// Seconds to wait when `prober` has probed for others' usernames too often.
    pub fn probes_blocked_for(&self, prober: &str, now: Duration) -> Option<u64> {
        self.probes.blocked_for(&self.key(prober), now).map(|secs| secs.max(1))
    }

    /// The attempt reserved for `username` from `address` was right.
    pub fn succeeded(&self, username: &str, address: IpAddr) {
        self.usernames.reset(&self.key(username));
        if !self.trusted.contains(&address) {
            self.addresses.unreserve(&address);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn trips_at_the_limit_and_clears_after_the_window() {
        let throttle = Throttle::new(3, 100, Duration::from_secs(60));
        let t = Duration::from_secs(1);
        for _ in 0..3 {
            assert_eq!(throttle.blocked_for("bob", ADDR, t), None);
            throttle.record_failure("bob", ADDR, t);
        }
        assert_eq!(throttle.blocked_for("bob", ADDR, t), Some(60));
        assert_eq!(throttle.blocked_for("alice", ADDR, t), None);
        assert_eq!(throttle.blocked_for("bob", ADDR, Duration::from_secs(61)), None);
    }

    #[test]
    fn per_address_limit_covers_every_username() {
        let throttle = Throttle::new(100, 5, Duration::from_secs(60));
        for i in 0..5 {
            throttle.record_failure(&format!("user{i}"), ADDR, Duration::ZERO);
        }
        assert!(throttle.blocked_for("someone-else", ADDR, Duration::ZERO).is_some());
        assert!(throttle.blocked_for("someone-else", "10.0.0.1".parse().unwrap(), Duration::ZERO).is_none());
    }

    #[test]
    fn probes_count_like_failures_and_survive_a_success() {
        let throttle = Throttle::new(2, 100, Duration::from_secs(60));
        throttle.record_probe("mallory", ADDR, Duration::ZERO);
        throttle.record_success("mallory");
        throttle.record_probe("mallory", ADDR, Duration::ZERO);
        assert_eq!(throttle.blocked_for("mallory", ADDR, Duration::ZERO), Some(60));
    }

    #[test]
    fn reservations_hold_the_limit_and_successes_hand_theirs_back() {
        let throttle = Throttle::new(3, 100, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(throttle.reserve("bob", ADDR, Duration::ZERO).is_ok());
        }
        assert_eq!(throttle.reserve("bob", ADDR, Duration::ZERO), Err(20), "slowed to one per 20 s");
        let throttle = Throttle::new(3, 3, Duration::from_secs(60));
        for _ in 0..10 {
            throttle.reserve("alice", ADDR, Duration::ZERO).unwrap();
            throttle.succeeded("alice", ADDR);
        }
        assert!(throttle.reserve("alice", ADDR, Duration::ZERO).is_ok(), "successes use up nothing");
    }

    #[test]
    fn a_username_over_its_limit_is_slowed_not_locked_out() {
        // 3 per 60 s: over the limit, one attempt per 20 s.
        let throttle = Throttle::new(3, 100, Duration::from_secs(60));
        let at = Duration::from_secs;
        for _ in 0..3 {
            throttle.reserve("bob", ADDR, at(0)).unwrap();
        }
        assert_eq!(throttle.reserve("bob", ADDR, at(1)), Err(19));
        assert!(throttle.reserve("bob", ADDR, at(20)).is_ok());
        assert_eq!(throttle.reserve("bob", ADDR, at(21)), Err(19));
        assert!(throttle.reserve("bob", ADDR, at(40)).is_ok());
        assert!(throttle.reserve("bob", ADDR, at(61)).is_ok(), "a new window");
    }

    #[test]
    fn trusted_addresses_skip_the_address_window_only() {
        let throttle = Throttle::with_trusted(2, 2, Duration::from_secs(60), vec![ADDR]);
        for i in 0..10 {
            throttle.reserve(&format!("user{i}"), ADDR, Duration::ZERO).unwrap();
        }
        throttle.reserve("carol", ADDR, Duration::ZERO).unwrap();
        throttle.reserve("carol", ADDR, Duration::ZERO).unwrap();
        assert!(throttle.reserve("carol", ADDR, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn ended_windows_are_purged() {
        let throttle = Throttle::new(3, 3, Duration::from_secs(60));
        for i in 0..1000 {
            throttle.record_failure(&format!("user{i}"), ADDR, Duration::ZERO);
        }
        assert_eq!(throttle.usernames.windows.lock().unwrap().len(), 1000);
        throttle.purge(Duration::from_secs(30));
        assert_eq!(throttle.usernames.windows.lock().unwrap().len(), 1000, "live windows stay");
        throttle.purge(Duration::from_secs(61));
        assert_eq!(throttle.usernames.windows.lock().unwrap().len(), 0);
        assert_eq!(throttle.addresses.windows.lock().unwrap().len(), 0);
    }

    #[test]
    fn success_resets_the_username() {
        let throttle = Throttle::new(2, 100, Duration::from_secs(60));
        throttle.record_failure("bob", ADDR, Duration::ZERO);
        throttle.record_success("bob");
        throttle.record_failure("bob", ADDR, Duration::ZERO);
        assert_eq!(throttle.blocked_for("bob", ADDR, Duration::ZERO), None);
    }
}
