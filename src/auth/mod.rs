//! Who is calling: credentials in, an authenticated [`Caller`] out, or a 401.

pub mod announcements;
pub mod cache;
pub mod clock;
pub mod password;
pub mod throttle;

use std::{
    net::IpAddr,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use cache::CredentialCache;
use clock::Clock;
use throttle::Throttle;

use crate::domain::privilege::{self, Privileges};
use crate::{
    base::ApiError,
    store::{self, Db, StoreError, auth::Login},
};
use password::Passwords;

/// A username and password as sent, from parameters or HTTP Basic.
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    // The password never reaches a log, even through a stray `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).finish_non_exhaustive()
    }
}

/// The authenticated person making a call.
#[derive(Debug, Clone)]
pub struct Caller {
    pub person: i64,
    pub username: String,
    pub customer: i64,
    pub role: i64,
    pub privileges: Privileges,
}

/// Counters of what authentication did, for `/metrics`.
#[derive(Debug, Default)]
pub struct AuthStats {
    pub failures: AtomicU64,
    pub throttled: AtomicU64,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
}

pub struct Authenticator {
    pub passwords: Passwords,
    /// Concurrent misses for one credential check the password once: the
    /// others wait on the same lock and then find the cache filled. Sharded
    /// by key, so unrelated logins rarely wait on each other.
    in_progress: Vec<tokio::sync::Mutex<()>>,
    pub cache: CredentialCache,
    announcements: announcements::Announcements,
    pub throttle: Throttle,
    pub clock: Clock,
    pub stats: AuthStats,
    /// The limits, for windows kept in PostgreSQL.
    limits: crate::settings::AuthSettings,
}

impl Authenticator {
    pub fn new(settings: &crate::settings::AuthSettings) -> Self {
        Self {
            passwords: Passwords::new(settings.max_concurrent_hashes),
            in_progress: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
            cache: CredentialCache::new(Duration::from_secs(settings.cache_ttl_secs), settings.cache_capacity),
            announcements: Default::default(),
            throttle: Throttle::with_trusted(
                settings.max_failures,
                settings.max_failures_per_ip,
                Duration::from_secs(settings.failure_window_secs),
                settings.trusted_clients.clone(),
            ),
            clock: Clock::default(),
            stats: AuthStats::default(),
            limits: settings.clone(),
        }
    }

    /// Counts an attempt as it starts, or answers the seconds to wait. On
    /// PostgreSQL the windows live in the database, so that every process on
    /// it counts against the same limits; on SQLite (one process) in memory.
    async fn reserve(
        &self,
        db: &Db,
        username: &str,
        client: IpAddr,
        now: Duration,
    ) -> Result<Result<(), u64>, StoreError> {
        use store::throttle::{Limits, WindowKind};
        let Db::Postgres(pool) = db else { return Ok(self.throttle.reserve(username, client, now)) };
        let (wall, limits) = (self.clock.wall_secs(), &self.limits);
        let length = limits.failure_window_secs as i64;
        let max = i64::from(limits.max_failures.max(1));
        if let Some(secs) = store::throttle::blocked_for(pool, WindowKind::Probe, username, wall, max).await? {
            return Ok(Err(secs));
        }
        // The address first: a client over its own limit is refused before it
        // can touch a username's window (or take the slowed attempt its owner
        // is waiting for). An attempt refused by the username still counts
        // against its address.
        if !limits.trusted_clients.contains(&client) {
            let by_address = Limits { limit: i64::from(limits.max_failures_per_ip), length, pace: 0 };
            if let Err(secs) =
                store::throttle::reserve(pool, WindowKind::Address, &client.to_string(), wall, by_address).await?
            {
                return Ok(Err(secs));
            }
        }
        let by_name = Limits { limit: max, length, pace: (length / max).max(1) };
        store::throttle::reserve(pool, WindowKind::Username, username, wall, by_name).await
    }

    /// The attempt reserved for `username` from `client` was right.
    async fn succeeded(&self, db: &Db, username: &str, client: IpAddr) -> Result<(), StoreError> {
        use store::throttle::WindowKind;
        let Db::Postgres(pool) = db else {
            self.throttle.succeeded(username, client);
            return Ok(());
        };
        store::throttle::reset(pool, WindowKind::Username, username).await?;
        if !self.limits.trusted_clients.contains(&client) {
            store::throttle::unreserve(pool, WindowKind::Address, &client.to_string()).await?;
        }
        Ok(())
    }

    /// Seconds to wait when `prober` has probed for usernames too often.
    async fn probes_blocked_for(&self, db: &Db, prober: &str, now: Duration) -> Result<Option<u64>, StoreError> {
        let Db::Postgres(pool) = db else { return Ok(self.throttle.probes_blocked_for(prober, now)) };
        let max = i64::from(self.limits.max_failures.max(1));
        store::throttle::blocked_for(pool, store::throttle::WindowKind::Probe, prober, self.clock.wall_secs(), max)
            .await
    }

    /// Forgets ended failure windows, in memory and (on PostgreSQL) in the database.
    pub async fn purge_windows(&self, db: &Db) -> Result<(), StoreError> {
        self.throttle.purge(self.clock.now());
        if let Db::Postgres(pool) = db {
            store::throttle::purge(pool, self.clock.wall_secs()).await?;
        }
        Ok(())
    }

    /// A person learnt that a username exists: counted against their own
    /// window (and their address's) like a failed login.
    pub async fn record_probe(&self, db: &Db, prober: &str, client: IpAddr) -> Result<(), StoreError> {
        use store::throttle::WindowKind;
        // This process forgets at once rather than when the announcement arrives.
        self.cache.forget(&cache::Changed::Prober(prober.to_string()));
        let Db::Postgres(pool) = db else {
            self.throttle.record_probe(prober, client, self.clock.now());
            return Ok(());
        };
        let (wall, length) = (self.clock.wall_secs(), self.limits.failure_window_secs as i64);
        store::throttle::count(pool, WindowKind::Probe, prober, wall, length).await?;
        if !self.limits.trusted_clients.contains(&client) {
            store::throttle::count(pool, WindowKind::Address, &client.to_string(), wall, length).await?;
        }
        Ok(())
    }

    fn count_hit(&self) -> bool {
        self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// The full argon2 check (against the dummy hash when there is no person);
    /// a success is remembered unless the cache forgot anything since `epoch`.
    async fn verify_and_remember(
        &self,
        key: cache::CacheKey,
        username: &str,
        login: Option<&Login>,
        password: String,
        epoch: u64,
        now: Duration,
    ) -> bool {
        self.stats.cache_misses.fetch_add(1, Ordering::Relaxed);
        let hash = login.map(|l| l.password_hash.clone());
        let verified = self.passwords.verify(hash, password).await;
        if let (true, Some(login)) = (verified, login) {
            self.cache.remember(key, username, login.clone(), epoch, now);
        }
        verified
    }

    /// Checks credentials. Anything wrong or missing is the same 401; a
    /// throttled username or address gets it at once, with `Retry-After`,
    /// and its password is not checked.
    pub async fn authenticate(
        &self,
        db: &Db,
        credentials: Option<Credentials>,
        client: IpAddr,
    ) -> Result<Caller, ApiError> {
        let Some(Credentials { username, password }) = credentials else {
            return Err(ApiError::unauthorized());
        };
        // A username that could never be valid names nobody: refused before
        // it is looked up or counted, so that it costs no window memory.
        if check_username(&username).is_err() {
            self.stats.failures.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::unauthorized());
        }
        let now = self.clock.now();
        let key = self.cache.key(&username, &password);
        // While changes to logins are announced, a proven entry is the whole
        // check: nothing is read.
        if let Some(login) = self.cache.proven_login(&key, now) {
            self.count_hit();
            return Ok(Caller::from_login(login, username));
        }
        // Otherwise the person is read on every call, cached or not: it carries
        // the current hash, which is what ends a cached entry when the
        // password changes. The epoch is taken first (see the cache).
        let epoch = self.cache.epoch();
        let login = store::auth::find_login(db, &username).await?;
        let hash = login.as_ref().map(|l| l.password_hash.as_str());
        // Credentials proven correct within the cache's lifetime pass without
        // counting: failures sent by someone else for this username are no
        // weapon against its owner.
        let proven = hash.is_some_and(|hash| self.cache.hit(&key, hash, now));
        let verified = if proven {
            // Still, a person who probed for others' usernames waits out their window.
            if let Some(secs) = self.probes_blocked_for(db, &username, now).await? {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                return Err(ApiError::Unauthorized { retry_after: Some(secs) });
            }
            self.count_hit()
        } else {
            // Concurrent first calls with one credential check it once: the
            // others wait here and then find it proven.
            let _guard = match hash {
                Some(_) if self.cache.enabled() => {
                    Some(self.in_progress[usize::from(key[0]) % self.in_progress.len()].lock().await)
                }
                _ => None,
            };
            if hash.is_some_and(|hash| self.cache.hit(&key, hash, now)) {
                self.count_hit()
            } else {
                // Counted as it starts, so that guesses sent in parallel obey the
                // limits exactly as guesses sent one after another.
                if let Err(secs) = self.reserve(db, &username, client, now).await? {
                    self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    return Err(ApiError::Unauthorized { retry_after: Some(secs) });
                }
                let verified = self.verify_and_remember(key, &username, login.as_ref(), password, epoch, now).await;
                if verified {
                    self.succeeded(db, &username, client).await?;
                }
                verified
            }
        };
        let Some(login) = login.filter(|_| verified) else {
            self.stats.failures.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::unauthorized());
        };
        Ok(Caller::from_login(login, username))
    }
}

/// A username: 1 to 64 of `A-Za-z0-9._@-`.
pub fn check_username(username: &str) -> Result<(), &'static str> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-');
    if (1..=64).contains(&username.len()) && username.chars().all(allowed) {
        Ok(())
    } else {
        Err("must be 1 to 64 of the characters A-Z a-z 0-9 . _ @ -")
    }
}

/// A password: 8 to 128 characters.
pub fn check_password(password: &str) -> Result<(), &'static str> {
    if (8..=128).contains(&password.chars().count()) { Ok(()) } else { Err("must be 8 to 128 characters") }
}

impl Caller {
    fn from_login(login: Login, username: String) -> Self {
        Self {
            person: login.person,
            username,
            customer: login.customer,
            role: login.role,
            privileges: login.privileges,
        }
    }

    /// The customers this person may read: with `system` every one; with
    /// `wholesale` their own and its descendants; otherwise their own.
    /// Read-only access to a privilege widens this scope.
    pub fn scope(&self) -> store::customers::Scope {
        self.scope_with(|privilege| self.privileges.get(privilege).is_some())
    }

    /// The customers this person's writing calls may act in: as [`Self::scope`],
    /// but from privileges held with full access only. Read-only `system` or
    /// `wholesale` widens what may be read, never where a write lands.
    pub fn write_scope(&self) -> store::customers::Scope {
        self.scope_with(|privilege| self.privileges.has_full(privilege))
    }

    /// The scope for a call that `writes` or only reads.
    pub fn scope_for(&self, writes: bool) -> store::customers::Scope {
        if writes { self.write_scope() } else { self.scope() }
    }

    fn scope_with(&self, holds: impl Fn(privilege::Privilege) -> bool) -> store::customers::Scope {
        use privilege::Privilege;
        use store::customers::Scope;
        if holds(Privilege::System) {
            Scope::All
        } else if holds(Privilege::Wholesale) {
            Scope::Subtree(self.customer)
        } else {
            Scope::Own(self.customer)
        }
    }
}
