//! The paths taken for speed answer exactly what the general ones do: lists
//! written by the database itself (across SQLite's pages, both orders, limit,
//! offset and filters), codes created in one statement or, under a plan
//! maximum, the long way; and the credential cache that trusts announced
//! changes stops trusting them while no one listens.

use std::{sync::atomic::Ordering, time::Duration};

use crate::{both_databases, common::*};
use serde_json::Value;

/// 4,500 numbers (more than two of SQLite's list pages): 1,500 in class 2.
async fn inventory(app: &TestApp) {
    app.admin("classes/create", &[("name", "Geographic")]).await.expect("200");
    app.admin("classes/create", &[("name", "Mobile")]).await.expect("200");
    app.admin("ingroups/create", &[("name", "Main")]).await.expect("200");
    for (start, end, class) in [("3000000000", "3000002999", "1"), ("3000003000", "3000004499", "2")] {
        let answer = app
            .admin("numbers/system/create", &[("start", start), ("end", end), ("class", class), ("ingroup", "1")])
            .await;
        answer.expect("200");
    }
}

/// Compares without printing thousands of numbers on a failure.
fn same(listed: Vec<u64>, expected: impl Iterator<Item = u64>, what: &str) {
    let expected: Vec<u64> = expected.collect();
    let first_difference = listed.iter().zip(&expected).position(|(a, b)| a != b);
    assert!(
        listed.len() == expected.len() && first_difference.is_none(),
        "{what}: {} rows against {}; first difference at {first_difference:?}",
        listed.len(),
        expected.len()
    );
}

fn numbers(rows: &Value) -> Vec<u64> {
    rows.as_array().unwrap().iter().map(|row| row["number"].as_str().unwrap().parse().unwrap()).collect()
}

both_databases! {
    async fn lists_written_by_the_database_match_the_rows(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        let all = app.admin("numbers/system/list", &[]).await.expect("200").data().clone();
        same(numbers(&all), 3_000_000_000..3_000_004_500, "all");
        // Every field, typed as numbers/system/get answers it.
        let one = app.admin("numbers/system/get", &[("number", "3000003001")]).await.expect("200").data().clone();
        assert_eq!(all[3001], one);
        assert_eq!(all[3001]["class"], 2);
        assert_eq!(all[3001]["alias"], "");

        let down = app.admin("numbers/system/list", &[("descending", "1")]).await.expect("200").data().clone();
        same(numbers(&down), (3_000_000_000..3_000_004_500).rev(), "down");
        let window = app.admin("numbers/system/list", &[("limit", "2500"), ("offset", "1999")]).await.expect("200").data().clone();
        same(numbers(&window), 3_000_001_999..3_000_004_499, "window");
        let window = app
            .admin("numbers/system/list", &[("limit", "2001"), ("offset", "3"), ("descending", "1")])
            .await
            .expect("200")
            .data()
            .clone();
        same(numbers(&window), (3_000_002_496..3_000_004_497).rev(), "window");
        let class = app.admin("numbers/system/list", &[("class", "2"), ("offset", "1000")]).await.expect("200").data().clone();
        same(numbers(&class), 3_000_004_000..3_000_004_500, "class");
        let found = app.admin("numbers/system/list", &[("search", "0449")]).await.expect("200").data().clone();
        same(numbers(&found), std::iter::once(3_000_000_449).chain(3_000_004_490..3_000_004_500), "found");
        let none = app.admin("numbers/system/list", &[("class", "2"), ("offset", "1500")]).await.expect("200").data().clone();
        assert_eq!(none, serde_json::json!([]));
    }

    async fn codes_under_a_plan_maximum_are_counted_the_long_way(backend) {
        let app = TestApp::spawn(backend).await;
        let plan = app.admin("plans/create", &[("name", "Two codes")]).await.expect("200").data()["id"].to_string();
        app.admin("plans/features/set", &[("plan", &plan), ("feature", "codes"), ("maximum", "2")]).await.expect("204");
        let created = app.admin("customers/create", &[("name", "Small"), ("email", "s@s.s"), ("plan", &plan)]).await;
        let customer = created.expect("200").data()["id"].to_string();
        for code in ["71", "72"] {
            app.admin("codes/create", &[("code", code), ("customer", &customer), ("dtype", "busy"), ("dnumber", "")]).await.expect("204");
        }
        app.admin("codes/create", &[("code", "73"), ("customer", &customer), ("dtype", "busy"), ("dnumber", "")]).await.expect("403");
        app.admin("codes/create", &[("code", "72"), ("customer", &customer), ("dtype", "busy"), ("dnumber", "")]).await.expect("403");
        app.admin("codes/create", &[("code", "71"), ("dtype", "busy"), ("dnumber", "")]).await.expect("204");
        app.admin("codes/create", &[("code", "71"), ("dtype", "busy"), ("dnumber", "")]).await.expect_invalid(&["code"]);
        app.admin("codes/create", &[("code", "72"), ("customer", "999"), ("dtype", "busy"), ("dnumber", "")]).await.expect_invalid(&["customer"]);
        // A failed create left nothing open: the next one goes in.
        app.admin("codes/create", &[("code", "74"), ("dtype", "busy"), ("dnumber", "")]).await.expect("204");
        // One audit row per code that went in, whichever way it went.
        let audited = app.scalar_i64("SELECT COUNT(*) FROM audit WHERE call = 'codes/create'").await;
        assert_eq!(audited, 4);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM codes").await, 4);
    }
}

/// PostgreSQL only: the cache trusts announced changes only while it listens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listener_stops_the_cache_trusting_announcements() {
    if !postgres_enabled().await {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    let cache = &app.state.auth.cache;
    let hits = || app.state.auth.stats.cache_hits.load(Ordering::Relaxed);
    let until = async |wanted: bool| {
        for _ in 0..100 {
            if cache.announced() == wanted {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the cache never became announced = {wanted}");
    };
    // (The server listens before it accepts its first call.)
    until(true).await;
    app.admin("roles/list", &[]).await.expect("200");
    app.admin("roles/list", &[]).await.expect("200");
    let before = hits();
    // The listening connection is cut, as by a restart of PostgreSQL.
    app.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()").await;
    until(false).await;
    assert!(cache.is_empty(), "everything remembered is forgotten");
    let announced = async || {
        let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
        let line = metrics.lines().find(|l| l.starts_with("switchyard_auth_cache_announced ")).map(str::to_string);
        line.unwrap_or_else(|| panic!("no announced gauge in {metrics}"))
    };
    assert_eq!(announced().await, "switchyard_auth_cache_announced 0");
    // A change made while no one listens is still met on the next call.
    let new_hash = switchyard::auth::password::hash_blocking("while-Unheard-9");
    app.exec(&format!("UPDATE people SET password_hash = '{new_hash}' WHERE username = 'admin'")).await;
    app.admin("roles/list", &[]).await.expect("401");
    app.call_as(ADMIN, "while-Unheard-9", "roles/list", &[]).await.expect("200");
    // Listening again, a cached login is trusted again; a change announced ends it.
    until(true).await;
    assert_eq!(announced().await, "switchyard_auth_cache_announced 1");
    app.call_as(ADMIN, "while-Unheard-9", "roles/list", &[]).await.expect("200");
    app.call_as(ADMIN, "while-Unheard-9", "roles/list", &[]).await.expect("200");
    assert!(hits() > before);
    app.exec("UPDATE role_privileges SET access = 1 WHERE role = 1 AND privilege = 'system'").await;
    for _ in 0..100 {
        if cache.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cache.is_empty(), "a changed privilege of the caller's role is announced");
}

/// PostgreSQL only: a listening connection cut silently (its backend stopped
/// with SIGSTOP: no notification arrives and nothing closes) is noticed by
/// the heartbeat, and the cache stops being trusted until a new one listens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_listener_is_noticed_by_its_heartbeat() {
    if !postgres_enabled().await {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    let cache = &app.state.auth.cache;
    let until = async |wanted: bool| {
        // A heartbeat every 5 s, each waiting 2 s for its marker.
        for _ in 0..300 {
            if cache.announced() == wanted {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the cache never became announced = {wanted}");
    };
    until(true).await;
    let listener = app
        .scalar_i64(
            "SELECT pid::bigint FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()",
        )
        .await;
    /// Lets the stopped backend run again, also when the test fails.
    struct Resume(i64);
    impl Drop for Resume {
        fn drop(&mut self) {
            let _ = std::process::Command::new("kill").args(["-CONT", &self.0.to_string()]).status();
        }
    }
    let stopped = std::process::Command::new("kill").args(["-STOP", &listener.to_string()]).status();
    if !stopped.is_ok_and(|s| s.success()) {
        missing("permission to signal PostgreSQL's backends", "run the suite as root, as CI does");
        return;
    }
    let resume = Resume(listener);
    app.admin("roles/list", &[]).await.expect("200");
    app.admin("roles/list", &[]).await.expect("200");
    until(false).await;
    assert!(cache.is_empty(), "everything remembered is forgotten");
    // A change the stopped listener would never have announced is met at once.
    let new_hash = switchyard::auth::password::hash_blocking("while-Silent-9");
    app.exec(&format!("UPDATE people SET password_hash = '{new_hash}' WHERE username = 'admin'")).await;
    app.admin("roles/list", &[]).await.expect("401");
    app.call_as(ADMIN, "while-Silent-9", "roles/list", &[]).await.expect("200");
    // A new connection listens, and the cache is trusted again.
    until(true).await;
    drop(resume);
    let listeners = app
        .scalar_i64("SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()")
        .await;
    assert!(listeners >= 1);
}

both_databases! {
    async fn hostile_search_text_is_only_ever_text(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        // PostgreSQL's list is a COPY, whose filters are written in as literals.
        for search in ["'", "\\'", "\\", "''; DROP TABLE numbers; --", "E'x", "$1", "%", "_", "日本", "\"", "'||'", "\t"] {
            let answer = app.admin("numbers/system/list", &[("search", search)]).await;
            answer.expect("200");
            // No number holds any of these (a number is digits only).
            assert_eq!(answer.data().as_array().map(Vec::len), Some(0), "{search:?}");
        }
        for control in ["3000\n", "\r", "\u{0}"] {
            app.admin("numbers/system/list", &[("search", control)]).await.expect_invalid(&["search"]);
        }
        let answer = app.admin("numbers/system/list", &[("search", "0000"), ("limit", "3")]).await;
        assert_eq!(numbers(answer.expect("200").data()), vec![3_000_000_000, 3_000_000_001, 3_000_000_002]);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM numbers").await, 4500);
    }

    async fn clients_that_hang_up_mid_list_leave_every_connection_whole(backend) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let app = TestApp::spawn_with(backend, |s| s.database.max_connections = 2).await;
        inventory(&app).await;
        // 15 MB of list: more than the sockets hold, so each is cut part-way.
        let more = [("start", "3100000000"), ("end", "3100099999"), ("class", "1"), ("ingroup", "1")];
        app.admin("numbers/system/create", &more).await.expect("200");
        for _ in 0..6 {
            let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
            let request = format!(
                "GET /api/json/numbers/system/list?auth_username={ADMIN};auth_password={ADMIN_PASSWORD} HTTP/1.1\r\nHost: x\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut first = [0u8; 512];
            let _ = stream.read(&mut first).await.unwrap();
            drop(stream);
        }
        // The abandoned lists give their slots back (until then a list is a
        // retryable 503), and every connection of the pool answers whole lists.
        for _ in 0..100 {
            if app.admin("numbers/system/list", &[("limit", "1")]).await.code() == "200" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for _ in 0..4 {
            let all = app.admin("numbers/system/list", &[]).await.expect("200").data().clone();
            assert_eq!(all.as_array().map(Vec::len), Some(104_500));
        }
    }
}

both_databases! {
    async fn codes_created_together_each_get_their_own_answer(backend) {
        let app = TestApp::spawn(backend).await;
        let customer_on = |plan: String| {
            let app = &app;
            async move {
                let created = app.admin("customers/create", &[("name", "C"), ("email", "c@c.c"), ("plan", &plan)]).await;
                created.expect("200").data()["id"].to_string()
            }
        };
        let plan_of = async |name: &str, maximum: Option<&str>| {
            let plan = app.admin("plans/create", &[("name", name)]).await.expect("200").data()["id"].to_string();
            if let Some(maximum) = maximum {
                let feature = [("plan", plan.as_str()), ("feature", "codes"), ("maximum", maximum)];
                app.admin("plans/features/set", &feature).await.expect("204");
            }
            plan
        };
        let open = customer_on(plan_of("Open", None).await).await;
        let none = customer_on(plan_of("No codes", Some("0")).await).await;
        let two = customer_on(plan_of("Two codes", Some("2")).await).await;
        // 200 creates at once, five kinds mixed, so that the writes that go
        // together hold every outcome side by side.
        let creates = (0..200).map(|i| {
            let (customer, code) = match i % 5 {
                0 => (open.clone(), "9999".to_string()),
                1 => (open.clone(), format!("{}", 1000 + i)),
                2 => (none.clone(), format!("{}", 1000 + i)),
                3 => ("999999".to_string(), format!("{}", 1000 + i)),
                _ => (two.clone(), format!("{}", 1000 + i)),
            };
            let app = &app;
            async move {
                let params = [("code", code.as_str()), ("customer", customer.as_str()), ("dtype", "busy"), ("dnumber", "")];
                (i % 5, app.admin("codes/create", &params).await)
            }
        });
        let answers = futures_util::future::join_all(creates).await;
        let of_kind = |kind: usize, code: &str| answers.iter().filter(|(k, a)| *k == kind && a.code() == code).count();
        for (kind, answer) in &answers {
            match (kind, answer.code()) {
                (0 | 1 | 4, "204") | (2 | 4, "403") => {}
                (0, "400") => drop(answer.expect_invalid(&["code"])),
                (3, "400") => drop(answer.expect_invalid(&["customer"])),
                _ => panic!("kind {kind} answered {}", answer.body),
            }
        }
        assert_eq!(of_kind(0, "204"), 1, "one of forty equal codes goes in");
        assert_eq!(of_kind(1, "204"), 40);
        assert_eq!(of_kind(4, "204"), 2, "the plan's maximum holds");
        let created = answers.iter().filter(|(_, a)| a.code() == "204").count() as i64;
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM codes").await, created);
        // One audit row per code that went in, and none for a code that did not.
        let audited = app.scalar_i64("SELECT COUNT(*) FROM audit WHERE call = 'codes/create'").await;
        assert_eq!(audited, created);
        let equal = app.scalar_i64("SELECT COUNT(*) FROM audit WHERE call = 'codes/create' AND object LIKE '%\"9999\"%'").await;
        assert_eq!(equal, 1);
        // Fewer trips than creates is what the batches are for, but how few
        // depends on timing: only that every create went through one is checked.
        let trips = code_batches(&app).await;
        assert!((1..=200).contains(&trips), "{trips} trips");
    }

    async fn a_create_the_database_refuses_does_not_sink_those_written_with_it(backend) {
        let app = TestApp::spawn(backend).await;
        // A fault of the database's own on one code: a trigger refuses it.
        match backend {
            Backend::Sqlite => {
                app.exec("CREATE TRIGGER refuse BEFORE INSERT ON codes WHEN NEW.code = '6666' BEGIN SELECT RAISE(ABORT, 'refused'); END")
                    .await
            }
            Backend::Postgres => {
                app.exec(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN IF NEW.code = '6666' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$",
                )
                .await;
                app.exec("CREATE TRIGGER refuse BEFORE INSERT ON codes FOR EACH ROW EXECUTE FUNCTION refuse()").await;
            }
        }
        for round in 0..5 {
            let creates = (0..60).map(|i| {
                let code = if i == 30 { "6666".to_string() } else { format!("{}", 10_000 + round * 100 + i) };
                let app = &app;
                async move { (code.clone(), app.admin("codes/create", &[("code", &code), ("dtype", "busy"), ("dnumber", "")]).await) }
            });
            for (code, answer) in futures_util::future::join_all(creates).await {
                match code.as_str() {
                    "6666" => assert_eq!(answer.code(), "500", "{}", answer.body),
                    _ => assert_eq!(answer.code(), "204", "{code}: {}", answer.body),
                }
            }
        }
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM codes").await, 5 * 59);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM audit WHERE call = 'codes/create'").await, 5 * 59);
    }

    async fn codes_of_siblings_created_while_their_parent_goes_never_fail_the_others(backend) {
        // A batch holds every customer it names, and a recursive delete holds
        // its root and then the subtree: taken in different orders, the two
        // met in a deadlock, and the whole batch answered 503, the creates
        // of a customer nobody was deleting too.
        let app = TestApp::spawn(backend).await;
        let plan = app.admin("plans/create", &[("name", "Open")]).await.expect("200").data()["id"].to_string();
        let customer = async |parent: &str| {
            let fields = [("name", "C"), ("email", "c@c.c"), ("plan", plan.as_str()), ("parent", parent)];
            app.admin("customers/create", &fields).await.expect("200").data()["id"].to_string()
        };
        let bystander = customer("1").await;
        for round in 0..20 {
            let parent = customer("1").await;
            let (first, second) = (customer(&parent).await, customer(&parent).await);
            let creates = (0..24).map(|i| {
                let owner = [&second, &first, &bystander][i % 3].clone();
                let (app, code) = (&app, format!("{}", 100_000 + round * 100 + i));
                async move {
                    let params = [("code", code.as_str()), ("customer", owner.as_str()), ("dtype", "busy"), ("dnumber", "")];
                    (owner.clone(), app.admin("codes/create", &params).await)
                }
            });
            let gone = [("id", parent.as_str()), ("recursive", "1")];
            let (answers, deleted) = tokio::join!(futures_util::future::join_all(creates), app.admin("customers/delete", &gone));
            assert_eq!(deleted.code(), "200", "round {round}: {}", deleted.body);
            for (owner, answer) in &answers {
                if *owner == bystander {
                    assert_eq!(answer.code(), "204", "round {round}: {}", answer.body);
                } else if answer.code() != "204" {
                    answer.expect_invalid(&["customer"]);
                }
            }
            let left = app.scalar_i64(&format!("SELECT COUNT(*) FROM codes WHERE customer IN ({first}, {second})")).await;
            assert_eq!(left, 0, "round {round}: a code outlived its customer");
        }
        let kept = app.scalar_i64(&format!("SELECT COUNT(*) FROM codes WHERE customer = {bystander}")).await;
        assert_eq!(kept, 20 * 8);
    }

    async fn a_customer_deleted_while_its_codes_are_created_keeps_none(backend) {
        let app = TestApp::spawn(backend).await;
        let plan = app.admin("plans/create", &[("name", "Open")]).await.expect("200").data()["id"].to_string();
        for round in 0..30 {
            let created = app.admin("customers/create", &[("name", "Racing"), ("email", "r@r.r"), ("plan", &plan)]).await;
            let customer = created.expect("200").data()["id"].to_string();
            let creates = (0..8).map(|i| {
                let (app, customer, code) = (&app, customer.clone(), format!("{}{i}", 50 + round));
                async move { app.admin("codes/create", &[("code", &code), ("customer", &customer), ("dtype", "busy"), ("dnumber", "")]).await }
            });
            let gone = [("id", customer.as_str())];
            let delete = app.admin("customers/delete", &gone);
            let (answers, deleted) = tokio::join!(futures_util::future::join_all(creates), delete);
            for answer in &answers {
                assert!(matches!(answer.code(), "204" | "400"), "round {round}: {}", answer.body);
            }
            let left = app.scalar_i64(&format!("SELECT COUNT(*) FROM codes WHERE customer = {customer}")).await;
            match deleted.code() {
                "204" => {
                    assert_eq!(left, 0, "round {round}: a code outlived its customer");
                    assert!(answers.iter().all(|a| a.code() == "400"), "round {round}: a create answered 204 for a deleted customer");
                }
                "400" => assert!(left > 0, "round {round}: the delete was refused for codes that are not there"),
                other => panic!("round {round}: customers/delete answered {other}: {}", deleted.body),
            }
            assert_eq!(left, answers.iter().filter(|a| a.code() == "204").count() as i64, "round {round}");
        }
    }
}

/// The batches of code creates written so far, as `/metrics` counts them.
async fn code_batches(app: &TestApp) -> u64 {
    let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("switchyard_code_batches_total "))
        .and_then(|n| n.parse().ok())
        .expect("switchyard_code_batches_total")
}

/// PostgreSQL: a batch takes its customers' locks in id order, whatever order
/// its creates arrived in, so that a writer taking them in id order too
/// cannot meet it in a deadlock. Here a batch of creates for `second`, then
/// `first`, waits for `first` (another transaction holds it) while holding
/// nothing, and that transaction then takes `second` as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_holds_its_customers_in_id_order() {
    batch_meets_a_transaction_holding(Held::First).await;
}

/// PostgreSQL: a batch that a writer taking customers in another order meets
/// in a deadlock (it holds `second` and takes `first`, which the batch holds
/// while it waits for `second`) is ended by the database; its creates are
/// then written one at a time, and none answers 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_ended_by_a_deadlock_is_written_one_create_at_a_time() {
    batch_meets_a_transaction_holding(Held::Second).await;
}

/// Which customer the other transaction holds first (it takes the other one
/// while the batch waits).
#[derive(Clone, Copy, PartialEq)]
enum Held {
    First,
    Second,
}

/// Three creates: one for `stuck`, which another transaction holds so that
/// the two creates sent behind it (for `second`, then `first`) are written
/// together; a second transaction holds one of those two customers and,
/// once the batch waits for it, takes the other. Each transaction must get
/// what it takes and every create must answer 204.
async fn batch_meets_a_transaction_holding(held: Held) {
    use sqlx::Connection;
    if !postgres_enabled().await {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    let plan = app.admin("plans/create", &[("name", "Open")]).await.expect("200").data()["id"].to_string();
    let mut customers = Vec::new();
    for _ in 0..3 {
        let fields = [("name", "C"), ("email", "c@c.c"), ("plan", plan.as_str())];
        customers.push(app.admin("customers/create", &fields).await.expect("200").data()["id"].to_string());
    }
    let (stuck, first, second) = (&customers[0], &customers[1], &customers[2]);
    // A changed row is written anew at the table's end: read in the table's
    // order, `second` now comes before `first`.
    app.admin("customers/update", &[("id", first.as_str()), ("name", "First")]).await.expect("204");
    let (holds, takes) = if held == Held::First { (first, second) } else { (second, first) };
    let lock = |customer: &str| format!("SELECT 1 FROM customers WHERE id = {customer} FOR UPDATE");
    let hold = async |customer: &str| {
        let mut conn = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
        sqlx::query(&lock(customer)).execute(&mut conn).await.unwrap();
        conn
    };
    let waiting = async || {
        let sql = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'switchyard' \
                   AND wait_event_type = 'Lock'";
        for _ in 0..200 {
            if app.scalar_i64(sql).await == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no create came to wait for a customer");
    };
    let create = |customer: &str, code: &str| {
        let params = [("code", code), ("customer", customer), ("dtype", "busy"), ("dnumber", "")]
            .map(|(k, v)| (k, v.to_string()));
        let app = &app;
        async move {
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.admin("codes/create", &params).await
        }
    };
    let mut holding_stuck = hold(stuck).await;
    let mut holding = hold(holds).await;
    let batches_before = code_batches(&app).await;
    let creates = async {
        tokio::join!(create(stuck, "11"), async {
            // The writer is busy with `stuck`'s create while these two queue
            // behind it, and the next writer takes both.
            waiting().await;
            tokio::join!(create(second, "22"), create(first, "33"))
        })
    };
    let locks = async {
        waiting().await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        sqlx::query("COMMIT").execute(&mut holding_stuck).await.unwrap();
        // The batch of `second` and `first` now waits for the held one.
        tokio::time::sleep(Duration::from_millis(200)).await;
        waiting().await;
        // Holding `first`, the transaction takes `second` without waiting: a
        // batch that held it would refuse that at once, deadlock or not.
        let take = if held == Held::First { format!("{} NOWAIT", lock(takes)) } else { lock(takes) };
        let taken = sqlx::query(&take).execute(&mut holding).await;
        sqlx::query("COMMIT").execute(&mut holding).await.unwrap();
        taken
    };
    let ((alone, (second_answer, first_answer)), taken) = tokio::join!(creates, locks);
    assert!(taken.is_ok(), "the other transaction could not take its second customer: {taken:?}");
    assert_eq!(code_batches(&app).await - batches_before, 2, "`second` and `first` were not written together");
    for answer in [alone, second_answer, first_answer] {
        assert_eq!(answer.code(), "204", "{}", answer.body);
    }
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM codes").await, 3);
}

/// PostgreSQL: a transaction holding customer `held` (a long recursive
/// delete, say) and the server whose code creates for it wait on that.
struct HeldCustomer {
    app: TestApp,
    held: String,
    other: String,
    holding: tokio::sync::Mutex<sqlx::PgConnection>,
}

impl HeldCustomer {
    async fn start(call_timeout_secs: u64) -> Option<Self> {
        use sqlx::Connection;
        if !postgres_enabled().await {
            return None;
        }
        let app = TestApp::spawn_with(Backend::Postgres, |s| s.limits.call_timeout_secs = call_timeout_secs).await;
        let plan = app.admin("plans/create", &[("name", "Open")]).await.expect("200").data()["id"].to_string();
        let mut customers = Vec::new();
        for _ in 0..2 {
            let fields = [("name", "C"), ("email", "c@c.c"), ("plan", plan.as_str())];
            customers.push(app.admin("customers/create", &fields).await.expect("200").data()["id"].to_string());
        }
        let (held, other) = (customers[0].clone(), customers[1].clone());
        let mut holding = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::query("BEGIN").execute(&mut holding).await.unwrap();
        sqlx::query(&format!("SELECT 1 FROM customers WHERE id = {held} FOR UPDATE"))
            .execute(&mut holding)
            .await
            .unwrap();
        Some(Self { app, held, other, holding: tokio::sync::Mutex::new(holding) })
    }

    async fn create(&self, customer: &str, code: &str) -> Answer {
        self.app
            .admin("codes/create", &[("code", code), ("customer", customer), ("dtype", "busy"), ("dnumber", "")])
            .await
    }

    /// Until `count` of the server's connections wait for a lock.
    async fn until_waiting(&self, count: i64) {
        let sql = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'switchyard' \
                   AND wait_event_type = 'Lock'";
        for _ in 0..500 {
            if self.app.scalar_i64(sql).await == count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{count} creates did not come to wait for the held customer");
    }

    async fn release(&self) {
        sqlx::query("COMMIT").execute(&mut *self.holding.lock().await).await.unwrap();
    }
}

/// A create waiting for a customer another transaction holds holds up only
/// itself: another customer's create is written meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_waiting_for_its_customer_holds_up_no_other() {
    let Some(held) = HeldCustomer::start(30).await else { return };
    let meanwhile = async {
        held.until_waiting(1).await;
        // Bounded only so that a regression fails instead of hanging: behind
        // the waiting create, this one waited for as long as the lock was held.
        let other = tokio::time::timeout(Duration::from_secs(60), held.create(&held.other, "22")).await;
        let other = other.expect("the other customer's create was held up");
        assert_eq!(other.code(), "204", "{}", other.body);
        assert_eq!(held.app.scalar_i64("SELECT COUNT(*) FROM codes").await, 1, "written while the first waits");
        held.release().await;
    };
    let (waited, ()) = tokio::join!(held.create(&held.held, "11"), meanwhile);
    assert_eq!(waited.code(), "204", "{}", waited.body);
}

/// A create still waiting for a writer when its call times out is withdrawn:
/// its caller is told it timed out, and the code is never written. Here all
/// four writers wait for the held customer, so a fifth create waits in line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_timed_out_before_it_was_written_never_is() {
    let Some(held) = HeldCustomer::start(2).await else { return };
    let writers = 4;
    // One after another, so that each finds the writers busy and starts one
    // more (creates that wait together are taken together).
    let codes: Vec<String> = (0..writers).map(|i| format!("{}", 10 + i)).collect();
    let held = &held;
    let first = codes.iter().zip(0..).map(|(code, before)| async move {
        held.until_waiting(before).await;
        held.create(&held.held, code).await
    });
    let in_line = async {
        held.until_waiting(writers).await;
        let answer = held.create(&held.held, "99").await;
        held.release().await;
        answer
    };
    let (written, timed_out) = tokio::join!(futures_util::future::join_all(first), in_line);
    assert_eq!(timed_out.code(), "503", "{}", timed_out.body);
    for answer in &written {
        assert_eq!(answer.code(), "204", "a create under way is waited for: {}", answer.body);
    }
    // A later create goes through the same writers, after the one withdrawn.
    held.create(&held.other, "22").await.expect("204");
    assert_eq!(held.app.scalar_i64("SELECT COUNT(*) FROM codes WHERE code = '99'").await, 0);
    assert_eq!(held.app.scalar_i64("SELECT COUNT(*) FROM codes").await, writers + 1);
}
