//! Layered settings: built-in defaults, then a TOML file, then `SWITCHYARD_*`
//! environment variables, then command-line flags. Validated once at start so
//! that a typo fails loudly with the key's name instead of at the first request.

use std::{fmt, net::IpAddr, net::SocketAddr, path::PathBuf};

use figment::{
    Figment,
    providers::{Data, Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

/// Everything the server can be told, with the defaults of `config.example.toml`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address and port to listen on.
    pub listen: String,
    /// `sqlite://PATH` (created if missing) or `postgres://...`.
    pub database_url: String,
    /// `enswitch`: every 2xx/4xx envelope rides on HTTP 200; `mirror`: 4xx codes are the HTTP status too.
    pub http_status: HttpStatusMode,
    /// Unknown parameters are a 400 each instead of being ignored.
    pub strict_params: bool,
    /// Largest request body read, in bytes; beyond it the answer is 413.
    pub max_body_bytes: usize,
    /// Peers whose `X-Forwarded-For` is believed when finding the client's address.
    pub trusted_proxies: Vec<IpAddr>,
    /// Where the generated first-start administrator password is written.
    pub admin_password_file: PathBuf,
    pub limits: LimitSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub log: LogSettings,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpStatusMode {
    Enswitch,
    Mirror,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Calls served at once; beyond it the answer is a 503 envelope.
    pub max_in_flight: usize,
    /// Longest a single call may run (a million-number range must fit).
    pub call_timeout_secs: u64,
    /// On SIGTERM, how long calls in flight may take to finish.
    pub shutdown_grace_secs: u64,
    /// Longest a client may take to send its request headers.
    pub header_read_timeout_secs: u64,
    /// Longest a client may take to send its request body.
    pub body_read_timeout_secs: u64,
    /// How long a running `Idempotency-Key` claim stays its process's without
    /// renewal; a retry takes over a claim whose lease ran out.
    pub idempotency_lease_secs: u64,
    /// Live `Idempotency-Key`s one person may hold; beyond, a new key is refused.
    pub idempotency_keys_per_person: u64,
    /// How often expired `Idempotency-Key` rows are deleted.
    pub idempotency_purge_secs: u64,
    /// Connections sending their request body at once; beyond, a 503. They
    /// are counted apart from `max_in_flight`, which counts calls.
    pub max_body_readers: usize,
    /// A client that takes none of its answer for this long is disconnected,
    /// and whatever the answer held (a streamed list's database connection) is freed.
    pub body_write_timeout_secs: u64,
    /// Streamed lists at once; 0 for half the database pool. Beyond, a 503:
    /// the rest of the pool stays for logins and short calls.
    pub max_streams: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    pub max_connections: u32,
    /// How long a call waits for a database connection before answering 503.
    pub acquire_timeout_secs: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// How long a successful password check is remembered (0 disables the cache).
    pub cache_ttl_secs: u64,
    /// Most credentials remembered at once.
    pub cache_capacity: usize,
    /// Failures for one username within the window before attempts are refused unchecked.
    pub max_failures: u32,
    /// Failures from one client address within the window before attempts are refused unchecked.
    pub max_failures_per_ip: u32,
    pub failure_window_secs: u64,
    /// Password hashes computed at once (each holds 19 MiB).
    pub max_concurrent_hashes: usize,
    /// Addresses whose per-address failure window does not apply (a portal
    /// relaying its customers' logins from one address).
    pub trusted_clients: Vec<IpAddr>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A tracing filter: `info`, `debug`, `switchyard=debug,sqlx=warn`, ...
    pub level: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://switchyard.db".into(),
            http_status: HttpStatusMode::Enswitch,
            strict_params: false,
            max_body_bytes: 1024 * 1024,
            trusted_proxies: Vec::new(),
            admin_password_file: PathBuf::from("switchyard-admin-password.txt"),
            limits: LimitSettings::default(),
            database: DatabaseSettings::default(),
            auth: AuthSettings::default(),
            log: LogSettings::default(),
        }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_in_flight: 512,
            call_timeout_secs: 300,
            shutdown_grace_secs: 30,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            idempotency_lease_secs: 10,
            idempotency_keys_per_person: 10_000,
            idempotency_purge_secs: 300,
            max_body_readers: 256,
            body_write_timeout_secs: 30,
            max_streams: 0,
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { max_connections: 16, acquire_timeout_secs: 5 }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            cache_ttl_secs: 300,
            cache_capacity: 100_000,
            max_failures: 10,
            max_failures_per_ip: 50,
            failure_window_secs: 300,
            max_concurrent_hashes: 4,
            trusted_clients: Vec::new(),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: LogFormat::Pretty, level: "info".into() }
    }
}

/// Values given on the command line; only those present override.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0}")]
    Load(Box<figment::Error>),
    #[error("setting `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

/// `SWITCHYARD_*` variables that are first-start inputs or test knobs, not
/// settings, and so must not trip `deny_unknown_fields`.
fn is_setting(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key != "admin_username" && key != "admin_password" && !key.starts_with("test_") && !key.starts_with("fuzz_")
}

impl Settings {
    /// Loads the layers in order. `config` is an explicit `--config`: unlike the
    /// default `config.toml`, it must exist.
    pub fn load(config: Option<&std::path::Path>, overrides: &Overrides) -> Result<Self, SettingsError> {
        let file = match config {
            Some(path) => Toml::file_exact(path),
            None => Toml::file("config.toml"),
        };
        Self::layered(file, overrides)
    }

    /// The same layers as [`Settings::load`] with the TOML given as text, so
    /// that the loader can be fuzzed without a file per input.
    pub fn from_toml(text: &str, overrides: &Overrides) -> Result<Self, SettingsError> {
        Self::layered(Toml::string(text), overrides)
    }

    fn layered(file: Data<Toml>, overrides: &Overrides) -> Result<Self, SettingsError> {
        let env = Env::prefixed("SWITCHYARD_").filter(|key| is_setting(key.as_str())).split("__");
        let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(file)
            .merge(env)
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| SettingsError::Load(Box::new(e)))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what types alone cannot say.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |key, message: &str| Err(SettingsError::Invalid { key, message: message.into() });
        if self.listen.parse::<SocketAddr>().is_err() {
            return invalid("listen", "expected an address and port such as 127.0.0.1:8080");
        }
        let url = self.database_url.as_str();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return invalid("database_url", "expected a sqlite:// or postgres:// URL");
        }
        if self.max_body_bytes == 0 {
            return invalid("max_body_bytes", "must be at least 1");
        }
        if self.limits.max_in_flight == 0 {
            return invalid("limits.max_in_flight", "must be at least 1");
        }
        if self.limits.call_timeout_secs == 0 {
            return invalid("limits.call_timeout_secs", "must be at least 1");
        }
        if self.limits.idempotency_lease_secs == 0 {
            return invalid("limits.idempotency_lease_secs", "must be at least 1");
        }
        if self.limits.idempotency_purge_secs == 0 {
            return invalid("limits.idempotency_purge_secs", "must be at least 1");
        }
        if self.limits.max_body_readers == 0 {
            return invalid("limits.max_body_readers", "must be at least 1");
        }
        if self.limits.body_write_timeout_secs == 0 {
            return invalid("limits.body_write_timeout_secs", "must be at least 1");
        }
        if self.database.max_connections < 2 {
            return invalid("database.max_connections", "must be at least 2");
        }
        if self.database.acquire_timeout_secs == 0 {
            return invalid("database.acquire_timeout_secs", "must be at least 1");
        }
        if self.auth.max_concurrent_hashes == 0 {
            return invalid("auth.max_concurrent_hashes", "must be at least 1");
        }
        if self.auth.failure_window_secs == 0 {
            return invalid("auth.failure_window_secs", "must be at least 1");
        }
        if !is_log_filter(&self.log.level) {
            return invalid(
                "log.level",
                "expected a level (off, error, warn, info, debug, trace) or directives such as switchyard=debug,sqlx=warn",
            );
        }
        Ok(())
    }

    /// Streamed lists served at once: `limits.max_streams`, or half the pool.
    pub fn max_streams(&self) -> usize {
        match self.limits.max_streams {
            0 => (self.database.max_connections as usize / 2).max(1),
            n => n,
        }
    }

    pub fn listen_addr(&self) -> SocketAddr {
        self.listen.parse().expect("validated at load")
    }
}

/// Masks the password of a URL such as `postgres://user:secret@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

impl fmt::Debug for Settings {
    // Written by hand so that the database password never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("http_status", &self.http_status)
            .field("strict_params", &self.strict_params)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("admin_password_file", &self.admin_password_file)
            .field("limits", &self.limits)
            .field("database", &self.database)
            .field("auth", &self.auth)
            .field("log", &self.log)
            .finish()
    }
}

/// A level, or comma-separated `target=level` directives (one bare level may
/// stand among them). A bare word that is not a level, such as `verbose`,
/// would parse as a target that matches nothing and silence the log: refused.
fn is_log_filter(filter: &str) -> bool {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let is_level = |word: &str| LEVELS.iter().any(|level| level.eq_ignore_ascii_case(word.trim()));
    !filter.trim().is_empty()
        && filter.split(',').all(|directive| match directive.rsplit_once('=') {
            Some((target, level)) => !target.trim().is_empty() && is_level(level),
            None => is_level(directive),
        })
        && tracing_subscriber::EnvFilter::try_new(filter).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password_only() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/sw"), "postgres://app:***@db:5432/sw");
        assert_eq!(redact_url("postgres://app@db/sw"), "postgres://app@db/sw");
        assert_eq!(redact_url("sqlite://switchyard.db"), "sqlite://switchyard.db");
        assert_eq!(redact_url("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn debug_never_shows_database_password() {
        let settings = Settings { database_url: "postgres://app:canary-pw@db/sw".into(), ..Settings::default() };
        assert!(!format!("{settings:?}").contains("canary-pw"));
    }

    #[test]
    fn validation_names_the_key() {
        let settings = Settings { listen: "nowhere".into(), ..Settings::default() };
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("`listen`"), "{err}");
        let settings = Settings { database_url: "mysql://x".into(), ..Settings::default() };
        assert!(settings.validate().unwrap_err().to_string().contains("database_url"));
    }

    #[test]
    fn toml_text_takes_the_file_layer_and_overrides_win() {
        let overrides = Overrides { database_url: Some("postgres://db/sw".into()), ..Overrides::default() };
        let text = "listen = \"0.0.0.0:9000\"\ndatabase_url = \"sqlite://x.db\"\n[limits]\nmax_in_flight = 3\n";
        let settings = Settings::from_toml(text, &overrides).unwrap();
        assert_eq!(settings.listen, "0.0.0.0:9000");
        assert_eq!(settings.limits.max_in_flight, 3);
        assert_eq!(settings.database_url, "postgres://db/sw");
        let err = Settings::from_toml("[limits]\nmax_inflight = 3\n", &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("max_inflight"), "{err}");
        let err = Settings::from_toml("[database]\nmax_connections = 1\n", &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("database.max_connections"), "{err}");
    }

    #[test]
    fn log_levels() {
        for good in ["info", "DEBUG", "switchyard=debug,sqlx=warn", "warn,switchyard=trace", "off"] {
            assert!(super::is_log_filter(good), "{good}");
        }
        for bad in ["verbose", "", "info,loud", "switchyard=noisy", "=debug"] {
            assert!(!super::is_log_filter(bad), "{bad}");
        }
    }
}
