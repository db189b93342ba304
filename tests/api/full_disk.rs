//! Full disks: the database on a small filesystem the test mounts (a tmpfs
//! with a size limit). A write that runs out of space answers the 507
//! envelope with nothing of it written; reads go on; writes succeed again as
//! soon as space is freed, in the same process.

use crate::{
    common::*,
    faults::{Cluster, pg_bin_or_skip},
};

const PW: &str = "full-Password-1";

/// The scenario on a server whose database is on `disk`: an import too big
/// for it, reads, then writes once the ballast is deleted.
async fn runs_out_then_recovers(base: &str, disk: &SmallDisk, count: impl AsyncFn(&str) -> i64) {
    let call = async |call: &str, params: &[(&str, &str)]| {
        let mut form = vec![("auth_username", ADMIN), ("auth_password", PW)];
        form.extend_from_slice(params);
        let response = reqwest::Client::new().post(format!("{base}/api/json/{call}")).form(&form).send().await.unwrap();
        Answer::from(response).await
    };
    call("classes/create", &[("name", "c")]).await.expect("200");
    call("ingroups/create", &[("name", "i")]).await.expect("200");
    call("codes/create", &[("code", "100"), ("dtype", "hangup"), ("dnumber", "")]).await.expect("204");

    // A million numbers do not fit: 507, in both HTTP status modes a real status.
    let import = call(
        "numbers/system/create",
        &[("start", "44200000000"), ("end", "44200999999"), ("class", "1"), ("ingroup", "1")],
    )
    .await;
    assert_eq!(import.status, 507, "{}", import.body);
    import.expect("507");
    assert!(import.body["responses"][0]["message"].as_str().unwrap().contains("no space"), "{}", import.body);
    assert_eq!(count("SELECT COUNT(*) FROM numbers").await, 0, "a range was partly written");
    assert_eq!(count("SELECT COUNT(*) FROM audit WHERE call = 'numbers/system/create'").await, 0);

    // Reads keep working.
    assert_eq!(call("codes/list", &[]).await.data().as_array().unwrap().len(), 1);
    call("numbers/system/list", &[("count", "1")]).await.data();

    // Space freed: writes work again, without a restart.
    disk.free();
    call("codes/create", &[("code", "101"), ("dtype", "hangup"), ("dnumber", "")]).await.expect("204");
    let small = call(
        "numbers/system/create",
        &[("start", "44300000000"), ("end", "44300004999"), ("class", "1"), ("ingroup", "1")],
    )
    .await;
    assert_eq!(small.data()["count"], 5_000);
    assert_eq!(count("SELECT COUNT(*) FROM numbers").await, 5_000);
    assert_eq!(count("SELECT COUNT(*) FROM codes").await, 2);
    assert_eq!(count("SELECT COUNT(*) FROM audit WHERE call = 'numbers/system/create'").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_out_of_space_is_507_then_recovers() {
    let Some(disk) = SmallDisk::mount(24) else { return };
    let db = TestDb::sqlite_in(disk.dir.path());
    let server = Server::start(&db, &[("SWITCHYARD_ADMIN_PASSWORD", PW)]);
    // What is left after the schema is held by a ballast file, freed later.
    let free = fs_free_mb(disk.dir.path());
    disk.ballast(free.saturating_sub(12).max(1));
    runs_out_then_recovers(&server.base, &disk, async |sql| count_rows(&db, sql).await).await;
    let (status, lines) = tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
    assert_eq!(status.code(), Some(0), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("storage is full")), "the log says why: {lines:?}");
    let mut conn = {
        use sqlx::{ConnectOptions, sqlite::SqliteConnectOptions};
        use std::str::FromStr;
        SqliteConnectOptions::from_str(&db.url).unwrap().connect().await.unwrap()
    };
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await.unwrap();
    assert_eq!(check, "ok");
}

// PostgreSQL's data directory on the small disk, its write-ahead log on a
// roomy one: a table that cannot grow is an error PostgreSQL survives
// (53100, disk_full). With the log on the full disk too, PostgreSQL stops
// itself instead (the README says what then).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_out_of_space_is_507_then_recovers() {
    let Some(bin) = pg_bin_or_skip("the PostgreSQL full-disk test") else { return };
    let Some(disk) = SmallDisk::mount(96) else { return };
    let small = disk.dir.path().to_path_buf();
    let cluster = tokio::task::spawn_blocking(move || Cluster::create_on(bin, &small)).await.unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.database_url = cluster.url.clone()).await;
    app.admin("people/password", &[("old_password", ADMIN_PASSWORD), ("password", PW)]).await.expect("204");
    let free = fs_free_mb(disk.dir.path());
    disk.ballast(free.saturating_sub(20).max(1));
    runs_out_then_recovers(&app.base, &disk, async |sql| app.scalar_i64(sql).await).await;
}

/// Free MiB on the filesystem holding `path`.
fn fs_free_mb(path: &std::path::Path) -> usize {
    let out = std::process::Command::new("df").args(["-Pm"]).arg(path).output().expect("df");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().nth(1).and_then(|l| l.split_whitespace().nth(3)).and_then(|v| v.parse().ok()).expect("df's answer")
}
