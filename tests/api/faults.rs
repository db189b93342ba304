//! Database faults: a throwaway PostgreSQL cluster of the test's own (never
//! the machine's shared one) is stopped and started under a running server.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use crate::common::*;

/// The newest PostgreSQL server binaries on this machine.
fn pg_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok().map(|e| e.path().join("bin"))).collect();
    versions.sort();
    versions.into_iter().rev().find(|bin| bin.join("initdb").exists())
}

/// The server binaries for a test that starts a cluster of its own; without
/// them the test is skipped, visibly, and under CI=true it fails.
pub fn pg_bin_or_skip(test: &str) -> Option<PathBuf> {
    let bin = pg_bin();
    if bin.is_none() {
        let required = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(!required, "PostgreSQL server binaries are required for {test} under CI=true");
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "*** no PostgreSQL binaries: {test} is SKIPPED ***");
    }
    bin
}

/// Runs a PostgreSQL tool as the postgres user (initdb refuses root).
fn as_postgres(bin: &Path, tool: &str, args: &[&str]) {
    let status = Command::new("runuser")
        .args(["-u", "postgres", "--", bin.join(tool).to_str().unwrap()])
        .args(args)
        .status()
        .expect("runuser");
    assert!(status.success(), "{tool} {args:?} failed");
}

pub struct Cluster {
    bin: PathBuf,
    data: String,
    log: String,
    options: String,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub fn create(bin: PathBuf) -> Self {
        Self::create_with(bin, |_| String::new())
    }

    /// A cluster on a port of its own; `prepare` may write files into the
    /// data directory's parent before the first start and answers extra
    /// server options.
    fn create_with(bin: PathBuf, prepare: impl FnOnce(&Path) -> String) -> Self {
        Self::create_in(bin, None, prepare)
    }

    /// A cluster whose data directory is on `small` (a size-limited disk)
    /// while its write-ahead log, log file and socket stay on a roomy one.
    pub fn create_on(bin: PathBuf, small: &Path) -> Self {
        Self::create_in(bin, Some(small), |_| String::new())
    }

    fn create_in(bin: PathBuf, data_on: Option<&Path>, prepare: impl FnOnce(&Path) -> String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = data_on.unwrap_or(dir.path()).join("data").display().to_string();
        let wal = dir.path().join("wal").display().to_string();
        let extra = prepare(dir.path());
        for owned in [Some(dir.path()), data_on].into_iter().flatten() {
            Command::new("chown").args(["-R", "postgres", owned.to_str().unwrap()]).status().unwrap();
        }
        as_postgres(&bin, "initdb", &["-D", &data, "--waldir", &wal, "-A", "trust", "-U", "postgres", "--no-sync"]);
        // A port the kernel says is free now: under nextest each test is a
        // process of its own, so ports derived from the pid could meet.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let options =
            format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off {extra}", dir.path().display());
        let log = dir.path().join("log").display().to_string();
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        let cluster = Self { bin, data, log, options, url, _dir: dir };
        cluster.start();
        cluster
    }

    pub fn start(&self) {
        as_postgres(&self.bin, "pg_ctl", &["-D", &self.data, "-o", &self.options, "-l", &self.log, "-w", "start"]);
    }

    pub fn stop(&self) {
        as_postgres(&self.bin, "pg_ctl", &["-D", &self.data, "-m", "fast", "-w", "stop"]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args([
                "-u",
                "postgres",
                "--",
                self.bin.join("pg_ctl").to_str().unwrap(),
                "-D",
                &self.data,
                "-m",
                "immediate",
                "stop",
            ])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_is_503_then_service_again() {
    let Some(bin) = pg_bin_or_skip("the database fault test") else { return };
    let cluster = tokio::task::spawn_blocking(move || Cluster::create(bin)).await.unwrap();
    let url = cluster.url.clone();
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.database_url = url;
        s.database.acquire_timeout_secs = 1;
    })
    .await;
    app.admin("classes/create", &[("name", "c")]).await.expect("200");
    app.admin("ingroups/create", &[("name", "i")]).await.expect("200");
    app.admin("roles/list", &[]).await.expect("200");
    // A range in flight when the database goes away.
    let import = app
        .admin("numbers/system/create", &[("start", "3000000"), ("end", "3999999"), ("class", "1"), ("ingroup", "1")]);
    let outage = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let stopped = Instant::now();
        let cluster = &cluster;
        tokio::task::block_in_place(|| cluster.stop());
        stopped
    };
    let (import, stopped) = tokio::join!(import, outage);
    // While it is down: the 503 envelope, quickly, and not ready.
    let asked = Instant::now();
    let down = app.admin("roles/list", &[]).await;
    let first_503 = asked.elapsed();
    assert_eq!(down.status, 503, "{}", down.body);
    down.expect("503");
    assert_eq!(app.client.get(format!("{}/readyz", app.base)).send().await.unwrap().status(), 503);
    // Back again: the same process serves without a restart.
    let restarted = Instant::now();
    tokio::task::block_in_place(|| cluster.start());
    let mut back = None;
    for _ in 0..100 {
        if app.admin("roles/list", &[]).await.code() == "200" {
            back = Some(restarted.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let back = back.expect("the server did not serve again after the database came back");
    let rows = app.scalar_i64("SELECT COUNT(*) FROM numbers").await;
    match import.code() {
        "200" => assert_eq!(rows, 1_000_000),
        code => {
            assert!(["500", "503"].contains(&code), "{}", import.body);
            assert_eq!(rows, 0, "a range was partly written");
        }
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "database fault: import answered {} ({rows} rows); first 503 {:?} after asking, {:?} after the stop began; served again {:?} after restart",
        import.code(),
        first_503,
        stopped.elapsed(),
        back
    );
}

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let status =
        Command::new("openssl").args(args).current_dir(dir).stderr(std::process::Stdio::null()).status().unwrap();
    assert!(status.success(), "openssl {args:?} failed");
}

/// A certificate authority (`NAME.pem`, `NAME.key`) of the test's own.
fn make_ca(dir: &Path, name: &str) {
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-days",
            "2",
            "-subj",
            &format!("/CN=Switchyard test {name}"),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls_verifies_the_server() {
    let Some(bin) = pg_bin_or_skip("the TLS test") else { return };
    // A cluster that accepts only TLS connections, with a certificate for
    // 127.0.0.1 signed by a CA of the test's own.
    let certs = tempfile::tempdir().unwrap();
    let cluster = tokio::task::spawn_blocking({
        let certs = certs.path().to_path_buf();
        move || {
            Cluster::create_with(bin, |dir| {
                make_ca(&certs, "ca");
                make_ca(&certs, "other-ca");
                std::fs::write(certs.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
                openssl(
                    &certs,
                    &[
                        "req",
                        "-newkey",
                        "ec",
                        "-pkeyopt",
                        "ec_paramgen_curve:prime256v1",
                        "-nodes",
                        "-keyout",
                        "server.key",
                        "-out",
                        "server.csr",
                        "-subj",
                        "/CN=127.0.0.1",
                    ],
                );
                openssl(
                    &certs,
                    &[
                        "x509",
                        "-req",
                        "-in",
                        "server.csr",
                        "-CA",
                        "ca.pem",
                        "-CAkey",
                        "ca.key",
                        "-CAcreateserial",
                        "-out",
                        "server.pem",
                        "-days",
                        "2",
                        "-extfile",
                        "san.ext",
                    ],
                );
                for file in ["server.pem", "server.key"] {
                    std::fs::copy(certs.join(file), dir.join(file)).unwrap();
                }
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(dir.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
                std::fs::write(dir.join("hba.conf"), "local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
                    .unwrap();
                let d = dir.display();
                format!(
                    "-c ssl=on -c ssl_cert_file={d}/server.pem -c ssl_key_file={d}/server.key -c hba_file={d}/hba.conf"
                )
            })
        }
    })
    .await
    .unwrap();
    let certs = certs.path();
    let url = |mode: &str, ca: &str| format!("{}?sslmode={mode}&sslrootcert={}/{ca}.pem", cluster.url, certs.display());
    let migrate = |url: String| {
        let output = Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(["migrate", "--database-url", &url])
            .env("SWITCHYARD_DATABASE__ACQUIRE_TIMEOUT_SECS", "5")
            .output()
            .unwrap();
        (output.status.success(), String::from_utf8_lossy(&output.stderr).to_string())
    };
    // The right CA: verify-full connects, and the server serves over it.
    let (ok, out) = migrate(url("verify-full", "ca"));
    assert!(ok, "verify-full with the right CA failed: {out}");
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.database_url = url("verify-full", "ca")).await;
    app.admin("roles/list", &[]).await.expect("200");
    drop(app);
    let (ok, out) = migrate(url("verify-ca", "ca"));
    assert!(ok, "verify-ca with the right CA failed: {out}");
    let (ok, out) = migrate(url("require", "ca"));
    assert!(ok, "require failed: {out}");
    // The wrong CA is refused at start, and says why.
    let (ok, out) = migrate(url("verify-full", "other-ca"));
    assert!(!ok, "verify-full accepted a server certificate from another CA");
    assert!(out.to_lowercase().contains("certificate"), "an unclear refusal: {out}");
    // And the cluster takes nothing but TLS: the successes above were over it.
    let (ok, _) = migrate(format!("{}?sslmode=disable", cluster.url));
    assert!(!ok, "the cluster accepted a connection without TLS");
}
