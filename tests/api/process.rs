//! The `switchyard` binary as an operator runs it: first start, settings,
//! `admin passwd`, SIGTERM, and what it writes to its log.

use std::{
    os::unix::fs::PermissionsExt,
    process::{Command, Stdio},
    time::Duration,
};

use crate::{both_databases, common::*};

both_databases! {
    async fn first_start_generates_a_password_file(backend) {
        let db = TestDb::new(backend).await;
        let server = Server::start(&db, &[]);
        let file = db.dir.path().join("admin-password.txt");
        let password = std::fs::read_to_string(&file).unwrap().trim().to_string();
        assert!(password.len() >= 20);
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        server.get("roles/list", &format!("auth_username=admin;auth_password={password}")).await.expect("200");
        let (status, lines) = server.stop();
        assert!(status.success(), "{status}");
        assert!(lines.iter().any(|l| l.contains("admin-password.txt")), "the file's path is logged: {lines:?}");
        assert!(!lines.iter().any(|l| l.contains(&password)), "the password was logged");

        // A second start changes nothing: same password, no new seeding.
        std::fs::remove_file(&file).unwrap();
        let server = Server::start(&db, &[]);
        server.get("roles/list", &format!("auth_username=admin;auth_password={password};count=1")).await.expect("200");
        let (status, lines) = server.stop();
        assert!(status.success());
        assert!(!file.exists(), "a second start wrote a password again");
        assert!(!lines.iter().any(|l| l.contains("first start")), "{lines:?}");
    }

    async fn admin_username_and_password_from_the_environment(backend) {
        let db = TestDb::new(backend).await;
        let server = Server::start(&db, &[("SWITCHYARD_ADMIN_USERNAME", "root@example"), ("SWITCHYARD_ADMIN_PASSWORD", "given-Password-9")]);
        server.get("roles/list", "auth_username=root@example;auth_password=given-Password-9").await.expect("200");
        assert!(!db.dir.path().join("admin-password.txt").exists());
        assert!(server.stop().0.success());
    }

    async fn admin_passwd_changes_the_password_at_once(backend) {
        let db = TestDb::new(backend).await;
        let server = Server::start(&db, &[("SWITCHYARD_ADMIN_PASSWORD", "first-Password-1")]);
        server.get("roles/list", "auth_username=admin;auth_password=first-Password-1").await.expect("200");
        let (ok, out) = run_binary(&["admin", "passwd", "admin", "--database-url", &db.url], db.dir.path(), Some("second-Password-2\r\n"));
        assert!(ok, "{out}");
        once_announced(|| server.get("roles/list", "auth_username=admin;auth_password=first-Password-1")).await.expect("401");
        server.get("roles/list", "auth_username=admin;auth_password=second-Password-2").await.expect("200");
        let (ok, out) = run_binary(&["admin", "passwd", "nobody", "--database-url", &db.url], db.dir.path(), Some("third-Password-3\n"));
        assert!(!ok && out.contains("nobody"), "{out}");
        let (ok, out) = run_binary(&["--database-url", &db.url, "admin", "passwd", "admin"], db.dir.path(), Some("short\n"));
        assert!(!ok && out.contains("8 to 128"), "{out}");
        assert!(server.stop().0.success());
    }

    async fn no_password_reaches_the_log(backend) {
        let db = TestDb::new(backend).await;
        let canary = "Canary-Pw-7f3a9";
        let wrong = "Wrong-Canary-41c2";
        let server = Server::start(&db, &[("SWITCHYARD_ADMIN_PASSWORD", canary), ("SWITCHYARD_LOG__LEVEL", "trace")]);
        let client = reqwest::Client::new();
        server.get("roles/list", &format!("auth_username=admin;auth_password={canary}")).await.expect("200");
        server.get("roles/list", &format!("auth_username=admin;auth_password={wrong}")).await.expect("401");
        server.get("roles/list", &format!("auth_username=admin;auth_password={wrong};auth_password={canary}")).await.expect("400");
        server.get("roles/list", &format!("auth_username=admin;auth_password={wrong};auth_password={wrong}")).await.expect("401");
        server.get("roles/list", &format!("auth_username=admin;auth_password={canary};limit=%zz")).await.expect("400");
        let url = format!("{}/api/json/roles/list", server.base);
        Answer::from(client.post(&url).form(&[("auth_username", "admin"), ("auth_password", canary)]).send().await.unwrap()).await.expect("200");
        Answer::from(client.get(&url).basic_auth("admin", Some(canary)).send().await.unwrap()).await.expect("200");
        Answer::from(client.get(&url).basic_auth("admin", Some(wrong)).send().await.unwrap()).await.expect("401");
        Answer::from(client.post(&url).header("content-type", "application/json")
            .body(format!(r#"{{"auth_username": "admin", "auth_password": "{wrong}", "password": "{wrong}"}}"#)).send().await.unwrap()).await.expect("401");
        // A new person's `password` parameter is as secret as the caller's.
        let people = format!("{}/api/json/people/create", server.base);
        let form = [("auth_username", "admin"), ("auth_password", canary), ("username", "newbie"), ("password", wrong), ("role", "4")];
        Answer::from(client.post(&people).form(&form).send().await.unwrap()).await.expect("200");
        let (status, lines) = server.stop();
        assert!(status.success());
        assert!(lines.iter().any(|l| l.contains("people/create")), "{lines:?}");
        let requests = lines.iter().filter(|l| l.contains("roles/list")).count();
        assert!(requests >= 8, "expected a log line per request: {lines:?}");
        assert!(lines.iter().any(|l| l.contains("code=401")), "{lines:?}");
        use base64::Engine;
        let basic_forms = [canary, wrong].map(|p| base64::engine::general_purpose::STANDARD.encode(format!("admin:{p}")));
        for line in &lines {
            for secret in [canary, wrong, basic_forms[0].as_str(), basic_forms[1].as_str()] {
                assert!(!line.contains(secret), "a secret reached the log: {line}");
            }
        }
    }

    async fn sigterm_exits_cleanly(backend) {
        let db = TestDb::new(backend).await;
        let server = Server::start(&db, &[("SWITCHYARD_ADMIN_PASSWORD", "given-Password-9")]);
        let (status, lines) = server.stop();
        assert_eq!(status.code(), Some(0), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("stopped")), "{lines:?}");
    }

    async fn json_log_lines_parse(backend) {
        let db = TestDb::new(backend).await;
        let server = Server::start(&db, &[("SWITCHYARD_LOG__FORMAT", "json"), ("SWITCHYARD_ADMIN_PASSWORD", "given-Password-9")]);
        server.get("roles/list", "auth_username=admin;auth_password=given-Password-9").await.expect("200");
        let (_, lines) = server.stop();
        for line in &lines {
            serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        }
        assert!(lines.iter().any(|l| l.contains("\"call\":\"roles/list\"")), "{lines:?}");
    }
}

#[test]
fn flags_before_or_after_the_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let (ok, out) = run_binary(&["--database-url", &url, "migrate"], dir.path(), None);
    assert!(ok, "{out}");
    let url = format!("sqlite://{}", dir.path().join("b.db").display());
    let (ok, out) = run_binary(&["migrate", "--database-url", &url], dir.path(), None);
    assert!(ok, "{out}");
    assert!(dir.path().join("a.db").exists() && dir.path().join("b.db").exists());
}

#[test]
fn version() {
    let (ok, out) = run_binary(&["--version"], std::path::Path::new("."), None);
    assert!(ok);
    assert!(out.starts_with("switchyard "), "{out}");
}

#[test]
fn bad_settings_name_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("custom.toml");
    for (content, key) in [
        ("max_body_bytes = \"lots\"\n", "max_body_bytes"),
        ("listn = \"127.0.0.1:1\"\n", "listn"),
        ("[auth]\nmax_failures = -3\n", "max_failures"),
        ("listen = \"nowhere\"\n", "listen"),
    ] {
        std::fs::write(&config, content).unwrap();
        let (ok, out) = run_binary(&["--config", config.to_str().unwrap(), "migrate"], dir.path(), None);
        assert!(!ok, "{content} was accepted");
        assert!(out.contains(key), "{content}: {out}");
    }
    let (ok, out) = run_binary(&["migrate", "--config", "/nonexistent/switchyard.toml"], dir.path(), None);
    assert!(!ok && out.contains("switchyard.toml"), "{out}");
    let output = Command::new(BIN)
        .args(["migrate"])
        .current_dir(dir.path())
        .env("SWITCHYARD_LOG__FORMAT", "xml")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).to_lowercase().contains("format"));
    // A database password never appears when settings are reported.
    let output = Command::new(BIN)
        .args(["migrate", "--database-url", "postgres://app:Secret-Db-Pw@127.0.0.1:1/none"])
        .current_dir(dir.path())
        .env("SWITCHYARD_DATABASE__ACQUIRE_TIMEOUT_SECS", "1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!text.contains("Secret-Db-Pw"), "{text}");
}

const ADMIN_PW: &str = "given-Password-9";

both_databases! {
    async fn sigterm_during_a_million_number_range_is_all_or_nothing(backend) {
        let db = TestDb::new(backend).await;
        let server = Server::start(&db, &[("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PW)]);
        let admin = (ADMIN, ADMIN_PW);
        server.call(admin, "classes/create", &[("name", "c")]).await.expect("200");
        server.call(admin, "ingroups/create", &[("name", "i")]).await.expect("200");
        let url = format!("{}/api/json/numbers/system/create", server.base);
        let import = tokio::spawn(async move {
            let form = [("auth_username", ADMIN), ("auth_password", ADMIN_PW), ("start", "1000000"), ("end", "1999999"), ("class", "1"), ("ingroup", "1")];
            let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
            match client.post(url).form(&form).send().await {
                Ok(response) => Some(Answer::from(response).await),
                Err(_) => None,
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (status, lines) = tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
        assert_eq!(status.code(), Some(0), "{lines:?}");
        let answer = import.await.unwrap();
        let rows = count_rows(&db, "SELECT COUNT(*) FROM numbers").await;
        match answer {
            // Finished within the grace period: answered, and all of it is there.
            Some(answer) => {
                assert_eq!(answer.expect("200").data()["count"], 1_000_000);
                assert_eq!(rows, 1_000_000);
            }
            // Cut off: nothing of it is there.
            None => assert!(rows == 0 || rows == 1_000_000, "{rows} rows: a range was partly written"),
        }
    }
}

/// Two processes on one PostgreSQL database, driven at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres() {
    if !postgres_enabled().await {
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let one = Server::start(&db, &[("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PW)]);
    let two = Server::start(&db, &[("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PW)]);
    let admin = (ADMIN, ADMIN_PW);
    one.call(admin, "classes/create", &[("name", "c")]).await.expect("200");
    one.call(admin, "ingroups/create", &[("name", "i")]).await.expect("200");
    let plan = one.call(admin, "plans/create", &[("name", "Three")]).await.data()["id"].to_string();
    one.call(admin, "plans/features/set", &[("plan", &plan), ("feature", "codes"), ("maximum", "3")])
        .await
        .expect("204");
    let customer =
        two.call(admin, "customers/create", &[("name", "C"), ("email", "c@c.c"), ("plan", &plan)]).await.data()["id"]
            .to_string();

    // Overlapping ranges, one per process.
    let (a, b) = tokio::join!(
        one.call(
            admin,
            "numbers/system/create",
            &[("start", "100000"), ("end", "199999"), ("class", "1"), ("ingroup", "1")]
        ),
        two.call(
            admin,
            "numbers/system/create",
            &[("start", "150000"), ("end", "249999"), ("class", "1"), ("ingroup", "1")]
        ),
    );
    let won: Vec<&Answer> = [&a, &b].into_iter().filter(|x| x.code() == "200").collect();
    assert_eq!(won.len(), 1, "{:?} {:?}", a.body, b.body);
    assert_eq!(count_rows(&db, "SELECT COUNT(*) FROM numbers").await, 100_000);

    // The same feature code on both.
    let code = [("code", "*55"), ("dtype", "busy"), ("dnumber", "")];
    let (a, b) = tokio::join!(one.call(admin, "codes/create", &code), two.call(admin, "codes/create", &code));
    let mut codes = [a.code().to_string(), b.code().to_string()];
    codes.sort();
    assert_eq!(codes, ["204", "400"]);

    // Creates racing a plan maximum of 3, spread over both.
    let creates = (0..12).map(|i| {
        let server = if i % 2 == 0 { &one } else { &two };
        let customer = customer.clone();
        async move {
            let code = format!("{i}");
            server
                .call(
                    admin,
                    "codes/create",
                    &[("code", &code), ("dtype", "busy"), ("dnumber", ""), ("customer", &customer)],
                )
                .await
        }
    });
    let answers = futures_util::future::join_all(creates).await;
    assert_eq!(answers.iter().filter(|a| a.code() == "204").count(), 3);
    assert!(answers.iter().all(|a| ["204", "403"].contains(&a.code())));
    assert_eq!(count_rows(&db, &format!("SELECT COUNT(*) FROM codes WHERE customer = {customer}")).await, 3);

    // Both serve the old password from their caches; a change refuses it on both at once.
    one.call(admin, "roles/list", &[]).await.expect("200");
    two.call(admin, "roles/list", &[]).await.expect("200");
    let (ok, out) =
        run_binary(&["admin", "passwd", ADMIN, "--database-url", &db.url], db.dir.path(), Some("changed-Password-7\n"));
    assert!(ok, "{out}");
    // Each process meets the change when PostgreSQL delivers its announcement
    // (the README's one window): normally at once, later on a loaded machine.
    for server in [&one, &two] {
        once_announced(|| server.call(admin, "roles/list", &[])).await.expect("401");
    }
    two.call((ADMIN, "changed-Password-7"), "roles/list", &[]).await.expect("200");
    assert!(one.stop().0.success());
    assert!(two.stop().0.success());
}

/// The generated password is shown on standard error only when that is a
/// terminal (`script` gives the process one); on a pipe, such as a log
/// collector's, it is never written.
#[test]
fn the_generated_password_is_shown_on_a_terminal_only() {
    for terminal in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("switchyard.db").display());
        // An address in use: first start runs, then binding fails and the process exits.
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let listen = taken.local_addr().unwrap().to_string();
        let serve = format!("{BIN} serve --listen {listen} --database-url {url}");
        let mut command = if terminal {
            let mut c = Command::new("script");
            c.args(["-qec", &serve, "/dev/null"]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", &serve]);
            c
        };
        let out = command
            .current_dir(dir.path())
            .env_remove("SWITCHYARD_ADMIN_PASSWORD")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success() && text.contains("cannot listen"), "{text}");
        let password = std::fs::read_to_string(dir.path().join("switchyard-admin-password.txt")).unwrap();
        let password = password.trim();
        assert!(password.len() >= 20, "{password:?}");
        assert_eq!(text.contains(password), terminal, "terminal: {terminal}, output: {text}");
    }
}
