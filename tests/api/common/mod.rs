//! The test harness: a whole Switchyard started in-process on port 0 against a
//! fresh database (a temporary SQLite file, or a new PostgreSQL database), and
//! helpers that read like the API.
//!
//! PostgreSQL is found at `SWITCHYARD_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot be reached the
//! PostgreSQL half of every test is skipped with a notice on the terminal,
//! unless `CI=true` (or `SWITCHYARD_TEST_REQUIRE_PG=1`), where that is a failure.

#![allow(dead_code)]

mod server;
pub use server::{BIN, Server, count_rows, run_binary, serve_command};

use std::{io::Write, net::SocketAddr, str::FromStr, sync::OnceLock, time::Duration};

use serde_json::Value;
use sqlx::{ConnectOptions, Connection, postgres::PgConnectOptions};
use switchyard::{app::AppState, first_start::AdminSeed, settings::Settings, store::Db};

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-Password-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `mod $name { fn sqlite(); fn postgres(); }` running the same body
/// on each database, with `backend` in scope.
#[macro_export]
macro_rules! both_databases {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let $backend = $crate::common::Backend::Sqlite;
                    $body
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if !$crate::common::postgres_enabled().await {
                        return;
                    }
                    let $backend = $crate::common::Backend::Postgres;
                    $body
                }
            }
        )*
    };
}

pub fn pg_admin_url() -> String {
    std::env::var("SWITCHYARD_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn postgres_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("SWITCHYARD_TEST_REQUIRE_PG").is_ok_and(|v| v == "1")
}

/// Whether PostgreSQL tests run; panics when they must run but cannot.
pub async fn postgres_enabled() -> bool {
    static REACHABLE: tokio::sync::OnceCell<Result<(), String>> = tokio::sync::OnceCell::const_new();
    let reachable = REACHABLE
        .get_or_init(|| async {
            let options = PgConnectOptions::from_str(&pg_admin_url()).map_err(|e| e.to_string())?;
            match tokio::time::timeout(Duration::from_secs(5), options.connect()).await {
                Ok(Ok(conn)) => {
                    let _ = conn.close().await;
                    Ok(())
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("timed out".into()),
            }
        })
        .await;
    match reachable {
        Ok(()) => true,
        Err(why) if postgres_required() => panic!("PostgreSQL is required (CI=true) but unreachable: {why}"),
        Err(why) => {
            static NOTICE: OnceLock<()> = OnceLock::new();
            NOTICE.get_or_init(|| {
                // Straight to the terminal: the test harness captures `eprintln!`.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** PostgreSQL unreachable at {} ({why}): PostgreSQL tests SKIPPED ***\n",
                    switchyard::settings::redact_url(&pg_admin_url())
                );
            });
            false
        }
    }
}

/// A database that lives as long as the test: a temporary directory for
/// SQLite, a database of its own on PostgreSQL, dropped afterwards.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    /// A database the caller runs (a throwaway cluster of the test's own);
    /// nothing is dropped afterwards.
    pub fn at(url: &str) -> Self {
        Self { url: url.to_string(), dir: tempfile::tempdir().expect("a temporary directory"), pg_name: None }
    }

    /// A SQLite database in `dir`, which the caller made (a small disk, say).
    pub fn sqlite_in(dir: &std::path::Path) -> Self {
        let url = format!("sqlite://{}", dir.join("switchyard.db").display());
        Self { url, dir: tempfile::tempdir().expect("a temporary directory"), pg_name: None }
    }

    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        match backend {
            Backend::Sqlite => {
                Self { url: format!("sqlite://{}", dir.path().join("switchyard.db").display()), dir, pg_name: None }
            }
            Backend::Postgres => {
                let name = format!("switchyard_test_{}", rand_suffix());
                let mut conn = PgConnectOptions::from_str(&pg_admin_url()).unwrap().connect().await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
                let _ = conn.close().await;
                let url =
                    PgConnectOptions::from_str(&pg_admin_url()).unwrap().database(&name).to_url_lossy().to_string();
                Self { url, dir, pg_name: Some(name) }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        // Drop runs inside the test's runtime, which cannot be blocked on; a
        // thread of its own with a small runtime does the clean-up.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = PgConnectOptions::from_str(&pg_admin_url()).unwrap().connect().await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
                }
            });
        })
        .join();
    }
}

fn rand_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..12).map(|_| char::from(b'a' + rng.gen_range(0..26))).collect()
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub db: TestDb,
    server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a server whose settings `configure` may change first.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> Self {
        let db = TestDb::new(backend).await;
        let mut settings = Settings {
            database_url: db.url.clone(),
            admin_password_file: db.dir.path().join("admin-password.txt"),
            ..Settings::default()
        };
        configure(&mut settings);
        let admin = AdminSeed { username: ADMIN.into(), password: Some(ADMIN_PASSWORD.into()) };
        let state = switchyard::start(settings, admin).await.expect("the server starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn({
            let state = state.clone();
            async move { switchyard::app::serve(listener, state, std::future::pending()).await.unwrap() }
        });
        Self { addr, base: format!("http://{addr}"), client: reqwest::Client::new(), state, db, server }
    }

    pub fn store(&self) -> &Db {
        &self.state.db
    }

    pub fn url(&self, call: &str) -> String {
        format!("{}/api/json/{call}", self.base)
    }

    /// GET with a raw query string, as a script would send it.
    pub async fn get(&self, call: &str, query: &str) -> Answer {
        Answer::from(self.client.get(format!("{}?{query}", self.url(call))).send().await.unwrap()).await
    }

    /// A call as the first-start administrator, parameters `;`-separated.
    pub async fn admin(&self, call: &str, params: &[(&str, &str)]) -> Answer {
        self.call_as(ADMIN, ADMIN_PASSWORD, call, params).await
    }

    pub async fn call_as(&self, username: &str, password: &str, call: &str, params: &[(&str, &str)]) -> Answer {
        let mut pairs = vec![("auth_username", username), ("auth_password", password)];
        pairs.extend_from_slice(params);
        let response = self.client.post(self.url(call)).form(&pairs).send().await.unwrap();
        Answer::from(response).await
    }

    /// Sends bytes as they are and reads the whole answer (for input no HTTP client would build).
    pub async fn raw(&self, request: &[u8]) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        let text = String::from_utf8_lossy(&answer).to_string();
        let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    }

    /// Runs a statement directly against the store, for set-up the API does not offer.
    pub async fn exec(&self, sql: &str) {
        match self.store() {
            Db::Sqlite(db) => {
                sqlx::query(sql).execute(&db.write).await.unwrap();
            }
            Db::Postgres(pool) => {
                sqlx::query(sql).execute(pool).await.unwrap();
            }
        }
    }

    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        switchyard::on_read!(self.store(), |pool| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.unwrap())
    }

    pub async fn scalar_text(&self, sql: &str) -> String {
        switchyard::on_read!(self.store(), |pool| sqlx::query_scalar::<_, String>(sql).fetch_one(pool).await.unwrap())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// An answer from the API: its HTTP status, headers and parsed envelope.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub async fn from(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        Self { status, headers, body }
    }

    /// The envelope code of the first entry.
    pub fn code(&self) -> &str {
        self.body["responses"][0]["code"].as_str().unwrap_or_else(|| panic!("no envelope: {}", self.body))
    }

    /// The `key` of every entry, in order.
    pub fn keys(&self) -> Vec<&str> {
        self.body["responses"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect()
    }

    /// The `data` of a 200 answer. Asserts the code first: only a 200 has
    /// data, and an assertion on data that an error answer also satisfies
    /// (a missing `data` reads as null) would hide the error.
    #[track_caller]
    pub fn data(&self) -> &Value {
        self.expect("200");
        &self.body["data"]
    }

    /// Asserts the code, with the whole body in the failure message.
    #[track_caller]
    pub fn expect(&self, code: &str) -> &Self {
        assert_eq!(self.code(), code, "unexpected answer: {}", self.body);
        self
    }

    /// Asserts a 400 whose entries name exactly `keys`, in order.
    #[track_caller]
    pub fn expect_invalid(&self, keys: &[&str]) -> &Self {
        self.expect("400");
        assert_eq!(self.keys(), keys, "unexpected keys: {}", self.body);
        self
    }
}

/// A tool's path, or `None` with a visible notice when it is missing; under
/// `CI=true` a missing tool fails the test instead.
pub fn required_tool(name: &str, install: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file());
    if found.is_none() {
        missing(name, install);
    }
    found
}

/// What a test does when `what` is not installed: under `CI=true` it fails;
/// elsewhere it says so on the terminal, and the caller returns early.
pub fn missing(what: &str, install: &str) {
    let required = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!required, "{what} is required for this test under CI=true ({install})");
    let _ = writeln!(std::io::stderr(), "*** {what} not installed: this test is SKIPPED ({install}) ***");
}

/// A tmpfs of `size_mb` MiB mounted on a fresh temporary directory, for
/// tests of a full disk; unmounted when dropped. Mounting needs root: without
/// it the test is skipped visibly, and under `CI=true` it fails.
pub struct SmallDisk {
    pub dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(size_mb: u32) -> Option<Self> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m,mode=0777"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            missing("a tmpfs mount (the tests run as root)", "run the suite as root, as CI does");
            return None;
        }
        Some(Self { dir })
    }

    /// Fills `mb` MiB with a file that [`SmallDisk::free`] deletes again.
    pub fn ballast(&self, mb: usize) {
        std::fs::write(self.dir.path().join("ballast"), vec![1u8; mb << 20]).expect("room for the ballast");
    }

    pub fn free(&self) {
        std::fs::remove_file(self.dir.path().join("ballast")).expect("the ballast is there");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Repeats `attempt` while it still answers 200, for at most five seconds:
/// on PostgreSQL a login changed outside a process (by `admin passwd`, another
/// process or psql) reaches that process's credential cache when PostgreSQL
/// delivers its announcement, normally at once but later on a loaded machine.
/// The last answer is returned for the caller to judge.
pub async fn once_announced<F, Fut>(mut attempt: F) -> Answer
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let mut answer = attempt().await;
    for _ in 0..200 {
        if answer.code() != "200" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        answer = attempt().await;
    }
    answer
}
