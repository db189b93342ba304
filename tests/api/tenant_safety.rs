//! Tenants acting beyond their rights, as a reseller, an auditor or an
//! operator would try: read-only privileges that must not widen where a write
//! lands, rate plans that belong to their owners, and smaller holes.

use crate::{
    both_databases,
    common::*,
    tenancy::{PW, customer, person, role},
};

both_databases! {
    async fn read_only_system_or_wholesale_never_widens_where_writes_land(backend) {
        let app = TestApp::spawn(backend).await;
        let reseller = customer(&app, "Reseller", 1).await;
        let other = customer(&app, "Other", 1).await;
        let theirs = other.to_string();
        for (privilege, name) in [("system", "auditor"), ("wholesale", "watcher")] {
            // Read-only system (or wholesale) plus full administrator and commerce.
            let auditor_role =
                role(&app, &[(privilege, "2"), ("administrator", "1"), ("commerce", "1"), ("user", "1")]).await;
            person(&app, name, auditor_role, reseller).await;
            let as_auditor = |call: &'static str, params: Vec<(&'static str, String)>| {
                let app = &app;
                async move {
                    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    app.call_as(name, PW, call, &pairs).await
                }
            };
            // Wholesale read-only sees the subtree below its own customer; make
            // a child so that the refusal is about access, not about the tree.
            let target = if privilege == "system" { theirs.clone() } else {
                customer(&app, &format!("Child of {name}"), reseller).await.to_string()
            };
            // Reads reach the wider scope.
            as_auditor("codes/list", vec![("customer", target.clone())]).await.expect("200");
            // Writes do not: every writing call that takes customer or parent.
            let code = |c: &str| vec![("code", "700".to_string()), ("dtype", "busy".into()), ("dnumber", String::new()), ("customer", c.to_string())];
            as_auditor("codes/create", code(&target)).await.expect_invalid(&["customer"]);
            as_auditor("codes/create", code("1")).await.expect_invalid(&["customer"]);
            as_auditor("codes/delete", vec![("code", "700".into()), ("customer", target.clone())]).await.expect_invalid(&["customer"]);
            as_auditor("codes/update", vec![("code", "700".into()), ("customer", "1".into()), ("description", "x".into())]).await.expect_invalid(&["customer"]);
            as_auditor("people/create", vec![
                ("username", format!("{name}-admin")), ("password", PW.into()), ("role", "2".into()), ("customer", "1".into()),
            ]).await.expect_invalid(&["customer"]);
            for group in ["music/create", "recording/groups/create", "timegroups/create"] {
                as_auditor(group, vec![("name", "G".into()), ("customer", target.clone())]).await.expect_invalid(&["customer"]);
            }
            as_auditor("customers/create", vec![
                ("name", "Sneaky".into()), ("email", "x@example.com".into()), ("plan", "1".into()), ("parent", target.clone()),
            ]).await.expect_invalid(&["parent"]);
            as_auditor("plans/create", vec![("name", "P".into()), ("customer", target.clone())]).await.expect_invalid(&["customer"]);
            // The inventory's writing calls need system with full access at all.
            as_auditor("numbers/system/create", vec![
                ("start", "5550000".into()), ("class", "1".into()), ("ingroup", "1".into()), ("customer", target.clone()),
            ]).await.expect("402");
            // In its own customer the same person acts as usual.
            as_auditor("codes/create", code(&reseller.to_string())).await.expect("204");
            as_auditor("codes/delete", vec![("code", "700".into())]).await.expect("204");
        }
        // Nothing landed outside.
        assert_eq!(app.scalar_i64(&format!("SELECT COUNT(*) FROM codes WHERE customer <> {reseller}")).await, 0);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM people WHERE username LIKE '%-admin'").await, 0);
    }
}

/// Creates a plan as `who`; answers its id.
async fn plan(app: &TestApp, who: (&str, &str), name: &str) -> i64 {
    app.call_as(who.0, who.1, "plans/create", &[("name", name)]).await.expect("200").data()["id"].as_i64().unwrap()
}

fn listed(answer: &Answer) -> Vec<i64> {
    answer.expect("200").data().as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect()
}

both_databases! {
    async fn rate_plans_belong_to_their_owners(backend) {
        let app = TestApp::spawn(backend).await;
        // System owner (customer 1) -> reseller R (plan 1) -> its customer C.
        let r = customer(&app, "Reseller", 1).await;
        let other = customer(&app, "Other reseller", 1).await;
        person(&app, "reseller", 2, r).await;
        person(&app, "rival", 2, other).await;
        let reseller = ("reseller", PW);
        let own_plan = plan(&app, reseller, "R gold").await;
        let rival_plan = plan(&app, ("rival", PW), "Rival gold").await;
        let set = |who: (&'static str, &'static str), plan: i64, maximum: &'static str| {
            let app = &app;
            async move {
                app.call_as(who.0, who.1, "plans/features/set", &[("plan", &plan.to_string()), ("feature", "codes"), ("maximum", maximum)]).await
            }
        };
        // A reseller changes its own plans, never the one that governs it, nor another's.
        set(reseller, own_plan, "5").await.expect("204");
        set(reseller, 1, "-1").await.expect_invalid(&["plan"]);
        set(reseller, 1, "0").await.expect_invalid(&["plan"]);
        set(reseller, rival_plan, "0").await.expect_invalid(&["plan"]);
        // The refusal reads exactly like a plan that does not exist.
        assert_eq!(set(reseller, 1, "0").await.body, set(reseller, 9999, "0").await.body);
        // It gives its customers its own plans or those above it, not another's.
        let create = |plan: i64| {
            let app = &app;
            async move {
                app.call_as("reseller", PW, "customers/create", &[("name", "C"), ("email", "c@example.com"), ("plan", &plan.to_string())]).await
            }
        };
        let c = create(own_plan).await.expect("200").data()["id"].as_i64().unwrap();
        create(1).await.expect("200");
        create(rival_plan).await.expect_invalid(&["plan"]);
        // Its customer's commerce person cannot lift the plan that governs it.
        person(&app, "sub", 2, c).await;
        set(("sub", PW), own_plan, "-1").await.expect_invalid(&["plan"]);
        // plans/list: the plans one may change, and one's own customer's plan.
        assert_eq!(listed(&app.call_as("reseller", PW, "plans/list", &[]).await), vec![1, own_plan]);
        assert_eq!(listed(&app.call_as("sub", PW, "plans/list", &[]).await), vec![own_plan]);
        assert_eq!(app.call_as("reseller", PW, "plans/list", &[("count", "1")]).await.expect("200").data()["count"], 2);
        // The operator (system, full access) changes every plan, plan 1 included.
        app.admin("plans/features/set", &[("plan", "1"), ("feature", "codes"), ("maximum", "50")]).await.expect("204");
        app.admin("plans/features/set", &[("plan", &rival_plan.to_string()), ("feature", "codes"), ("maximum", "7")]).await.expect("204");
        assert_eq!(listed(&app.admin("plans/list", &[]).await), vec![1, own_plan, rival_plan]);
        // Plans are owned: the operator's plan 1, the resellers' their own.
        let owners = app.admin("plans/list", &[]).await;
        let owners: Vec<i64> = owners.expect("200").data().as_array().unwrap().iter().map(|p| p["customer"].as_i64().unwrap()).collect();
        assert_eq!(owners, vec![1, r, other]);
        // The features of plan 1 are untouched by the reseller's attempts.
        let limit = app.get("plans/features/get", "plan=1;feature=codes").await;
        assert_eq!(limit.expect("200").data()["maximum"], 50);
    }
}

both_databases! {
    async fn probing_for_usernames_is_throttled_like_failed_logins(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.max_failures = 3).await;
        person(&app, "mallory", 3, 1).await;
        let probe = |username: &'static str| {
            let app = &app;
            async move {
                app.call_as("mallory", PW, "people/create", &[
                    ("username", username), ("password", PW), ("role", "4"), ("validation", "1"),
                ]).await
            }
        };
        // A free username is no failure.
        for _ in 0..5 {
            probe("nobody-has-this").await.expect("201");
        }
        // Each "already in use" counts, even between successful logins.
        for _ in 0..3 {
            probe("admin").await.expect_invalid(&["username"]);
        }
        let blocked = probe("admin").await;
        blocked.expect("401");
        assert!(blocked.headers.contains_key("retry-after"), "{:?}", blocked.headers);
        app.call_as("mallory", PW, "roles/list", &[]).await.expect("401");
        // Others are not held back by mallory's probes.
        app.admin("roles/list", &[]).await.expect("200");
    }
}

/// The binary with `envs`, started on a fresh database: whether it kept
/// running for a moment, and what it wrote.
fn serve_briefly(db: &TestDb, envs: &[(&str, &str)]) -> (bool, String) {
    let mut command = serve_command(db, envs);
    let mut child = command.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let running = loop {
        if child.try_wait().unwrap().is_some() {
            break false;
        }
        if std::time::Instant::now() > deadline {
            break true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    (running, format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
}

both_databases! {
    async fn a_short_first_start_password_stops_the_server(backend) {
        let db = TestDb::new(backend).await;
        let (running, out) = serve_briefly(&db, &[("SWITCHYARD_ADMIN_PASSWORD", "short")]);
        assert!(!running, "a 5-character administrator password was accepted: {out}");
        assert!(out.contains("SWITCHYARD_ADMIN_PASSWORD") && out.contains("8 to 128"), "{out}");
        assert!(!out.contains("short"), "the password itself reached the output: {out}");
    }

    async fn a_log_level_that_logs_nothing_stops_the_server(backend) {
        let db = TestDb::new(backend).await;
        let (running, out) = serve_briefly(&db, &[("SWITCHYARD_ADMIN_PASSWORD", "long-enough-1"), ("SWITCHYARD_LOG__LEVEL", "verbose")]);
        assert!(!running, "log.level = verbose was accepted: {out}");
        assert!(out.contains("log.level"), "{out}");
    }
}

#[tokio::test]
async fn the_sqlite_file_and_its_journal_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn(Backend::Sqlite).await;
    // A write, so that the write-ahead log exists.
    app.admin("plans/create", &[("name", "P")]).await.expect("200");
    let file = app.db.dir.path().join("switchyard.db");
    for path in [file.clone(), file.with_extension("db-wal"), file.with_extension("db-shm")] {
        let mode = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{} is {:o}", path.display(), mode & 0o777);
    }
}

/// `switchyard admin passwd` on a terminal (a pseudo-terminal made by
/// `script`), typing `input`: whether it succeeded, and the screen.
fn passwd_on_a_terminal(app: &TestApp, input: &str) -> (bool, String) {
    use std::{
        io::Write,
        process::{Command, Stdio},
    };
    let command = format!("{} admin passwd admin --database-url '{}'", env!("CARGO_BIN_EXE_switchyard"), app.db.url);
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(app.db.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux");
    let mut stdin = child.stdin.take().unwrap();
    for line in input.lines() {
        // One line at a time, as a person types after each prompt.
        std::thread::sleep(std::time::Duration::from_millis(300));
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).to_string())
}

both_databases! {
    async fn admin_passwd_on_a_terminal_prompts_twice_without_echo(backend) {
        let app = TestApp::spawn(backend).await;
        let (ok, screen) = passwd_on_a_terminal(&app, "Typed-Secret-1\nTyped-Secret-2\n");
        assert!(!ok, "two different passwords were accepted: {screen}");
        assert!(screen.contains("differ"), "{screen}");
        let (ok, screen) = passwd_on_a_terminal(&app, "Typed-Secret-1\nTyped-Secret-1\n");
        assert!(ok, "{screen}");
        assert!(screen.contains("New password for admin") && screen.contains("Again"), "no prompts: {screen}");
        assert!(!screen.contains("Typed-Secret"), "the password was echoed: {screen}");
        app.call_as(ADMIN, "Typed-Secret-1", "roles/list", &[]).await.expect("200");
    }
}
