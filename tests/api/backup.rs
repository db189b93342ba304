//! What an operator copies: `switchyard backup` taken while a server writes,
//! and the SQLite file alone (without its `-wal`) after `migrate`,
//! `admin passwd` and a stopped server.

use std::{
    path::{Path, PathBuf},
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use sqlx::{ConnectOptions, Connection, SqliteConnection, sqlite::SqliteConnectOptions};

use crate::common::*;

const PASSWORD: &str = "given-Password-9";

fn db_file(db: &TestDb) -> PathBuf {
    db.dir.path().join("switchyard.db")
}

/// Copies the `.db` file alone (as a careless `cp` or a file-level backup
/// would) to a directory of its own and opens the copy.
async fn open_main_file_alone(db: &TestDb) -> (tempfile::TempDir, SqliteConnection) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    std::fs::copy(db_file(db), &copy).unwrap();
    let conn = open(&copy).await;
    (dir, conn)
}

async fn open(path: &Path) -> SqliteConnection {
    SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display())).unwrap().connect().await.unwrap()
}

async fn scalar_i64(conn: &mut SqliteConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
}

async fn scalar_text(conn: &mut SqliteConnection, sql: &str) -> String {
    sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
}

/// The `-wal` file is gone or empty: nothing committed lives only there.
fn assert_log_emptied(db: &TestDb, after: &str) {
    let wal = db.dir.path().join("switchyard.db-wal");
    let len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(len, 0, "after {after}, {} still holds {len} bytes", wal.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_codes_are_written_is_whole() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Arc::new(Server::start(&db, &[("SWITCHYARD_ADMIN_PASSWORD", PASSWORD)]));
    let create = |server: Arc<Server>, code: String| async move {
        let params = [("code", code.as_str()), ("dtype", "hangup"), ("dnumber", "")];
        server.call((ADMIN, PASSWORD), "codes/create", &params).await.expect("204");
    };
    let before: Vec<String> = (0..40).map(|i| format!("{}", 5000 + i)).collect();
    for code in &before {
        create(server.clone(), code.clone()).await;
    }

    // A writer that keeps creating codes before, during and after the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn({
        let (server, stop) = (server.clone(), stop.clone());
        async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                create(server.clone(), format!("{}", 7000 + n)).await;
                n += 1;
            }
            n
        }
    });
    create(server.clone(), "6000".into()).await;
    let target = db.dir.path().join("backups").join("copy.db");
    std::fs::create_dir(target.parent().unwrap()).unwrap();
    let (dir, url, to) = (db.dir.path().to_path_buf(), db.url.clone(), target.display().to_string());
    let (ok, out) =
        tokio::task::spawn_blocking(move || run_binary(&["backup", &to, "--database-url", &url], &dir, None))
            .await
            .unwrap();
    assert!(ok, "{out}");
    create(server.clone(), "6001".into()).await;
    stop.store(true, Ordering::Relaxed);
    let written = writer.await.expect("every create during the backup answered 204");

    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600, "it holds password hashes");
    let mut copy = open(&target).await;
    assert_eq!(scalar_text(&mut copy, "PRAGMA integrity_check").await, "ok");
    for code in before.iter().chain(["6000".to_string()].iter()) {
        let n = scalar_i64(&mut copy, &format!("SELECT count(*) FROM codes WHERE code = '{code}'")).await;
        assert_eq!(n, 1, "code {code}, committed before the backup started, is missing from it");
    }
    let later = scalar_i64(&mut copy, "SELECT count(*) FROM codes WHERE code = '6001'").await;
    assert_eq!(later, 0, "a code created after the backup ended is in it");
    let during = scalar_i64(&mut copy, "SELECT count(*) FROM codes WHERE code >= '7000'").await;
    assert!(during <= written, "{during} of the writer's codes in the copy, but it wrote {written}");
    let admin = scalar_i64(&mut copy, "SELECT count(*) FROM people WHERE username = 'admin'").await;
    assert_eq!(admin, 1);
    copy.close().await.unwrap();

    // A second backup to the same path is refused and leaves the first intact.
    let before_len = std::fs::metadata(&target).unwrap().len();
    let (ok, out) =
        run_binary(&["backup", &target.display().to_string(), "--database-url", &db.url], db.dir.path(), None);
    assert!(!ok && out.contains("already exists"), "{out}");
    assert_eq!(std::fs::metadata(&target).unwrap().len(), before_len);
    let mut copy = open(&target).await;
    assert_eq!(scalar_text(&mut copy, "PRAGMA integrity_check").await, "ok");
    assert_eq!(Arc::into_inner(server).expect("the writer is done").stop().0.code(), Some(0));
}

#[test]
fn a_backup_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}", dir.path().join("missing.db").display());
    let (ok, out) = run_binary(&["backup", "copy.db", "--database-url", &missing], dir.path(), None);
    assert!(!ok && out.contains("no SQLite database"), "{out}");
    assert!(!dir.path().join("missing.db").exists(), "the backup created the database it was to copy");
    assert!(!dir.path().join("copy.db").exists());

    // The URL is never connected to: the command says what to use instead.
    let (ok, out) =
        run_binary(&["backup", "copy.db", "--database-url", "postgres://nobody@127.0.0.1:1/none"], dir.path(), None);
    assert!(!ok && out.contains("pg_dump"), "{out}");
    assert!(!dir.path().join("copy.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_file_alone_holds_everything_after_each_command() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (ok, out) = run_binary(&["migrate", "--database-url", &db.url], db.dir.path(), None);
    assert!(ok, "{out}");
    assert_log_emptied(&db, "migrate");
    let (_dir, mut copy) = open_main_file_alone(&db).await;
    let tables =
        scalar_i64(&mut copy, "SELECT count(*) FROM sqlite_master WHERE name IN ('people', 'codes', 'numbers')");
    assert_eq!(tables.await, 3);
    let migrations = scalar_i64(&mut copy, "SELECT count(*) FROM _sqlx_migrations").await;
    assert!(migrations >= 13, "{migrations} migrations recorded in the file");

    // A server stopped by SIGTERM: the person and the code it created are in the file.
    let server = Server::start(&db, &[("SWITCHYARD_ADMIN_PASSWORD", PASSWORD)]);
    server
        .call((ADMIN, PASSWORD), "codes/create", &[("code", "4321"), ("dtype", "hangup"), ("dnumber", "")])
        .await
        .expect("204");
    assert_eq!(server.stop().0.code(), Some(0));
    assert_log_emptied(&db, "a stopped server");
    let (_dir, mut copy) = open_main_file_alone(&db).await;
    assert_eq!(scalar_i64(&mut copy, "SELECT count(*) FROM codes WHERE code = '4321'").await, 1);
    let first_hash = scalar_text(&mut copy, "SELECT password_hash FROM people WHERE username = 'admin'").await;

    let (ok, out) = run_binary(
        &["admin", "passwd", "admin", "--database-url", &db.url],
        db.dir.path(),
        Some("second-Password-2\n"),
    );
    assert!(ok, "{out}");
    assert_log_emptied(&db, "admin passwd");
    let (_dir, mut copy) = open_main_file_alone(&db).await;
    let second_hash = scalar_text(&mut copy, "SELECT password_hash FROM people WHERE username = 'admin'").await;
    assert_ne!(first_hash, second_hash, "the new password is not in the file");
}

/// Another process reading the database (a second server, a backup) keeps
/// the write-ahead log from being emptied: the stop does not wait on it, it
/// says so and exits cleanly, and nothing committed is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_does_not_wait_on_another_process_reading() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db, &[("SWITCHYARD_ADMIN_PASSWORD", PASSWORD)]);
    server
        .call((ADMIN, PASSWORD), "codes/create", &[("code", "4322"), ("dtype", "hangup"), ("dnumber", "")])
        .await
        .expect("204");
    // A reader in the middle of a read transaction holds its snapshot.
    let mut reader = open(&db_file(&db)).await;
    sqlx::query("BEGIN").execute(&mut reader).await.unwrap();
    assert_eq!(scalar_i64(&mut reader, "SELECT count(*) FROM codes").await, 1);
    let (status, lines) = tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
    assert_eq!(status.code(), Some(0), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("write-ahead log")), "the stop did not say why the log is kept: {lines:?}");
    sqlx::query("COMMIT").execute(&mut reader).await.unwrap();
    // The log is intact: the database with its log has the code.
    assert_eq!(scalar_i64(&mut reader, "SELECT count(*) FROM codes WHERE code = '4322'").await, 1);
}
