//! Holes an attack on the typed requests, the call's own task and claim
//! leases found: a claim taken over while its owner still ran, a keyed call
//! cut off by a restart, and empty values that lost their meaning. Each test
//! states what the contract says and failed before its fix.

use std::time::Duration;

use switchyard::{on_read, settings::Settings, store::Db};

use crate::{both_databases, common::*};

const ADMIN_USER: (&str, &str) = (ADMIN, ADMIN_PASSWORD);

async fn scalar(store: &Db, sql: &str) -> i64 {
    on_read!(store, |pool| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.unwrap())
}

async fn text(store: &Db, sql: &str) -> Option<String> {
    on_read!(store, |pool| sqlx::query_scalar::<_, String>(sql).fetch_optional(pool).await.unwrap())
}

/// An `Idempotency-Key` promises one action per key. A lease that runs out
/// does not mean its owner is dead: a process that is paused (SIGSTOP here; a
/// VM or container freeze, a starved runtime, or a pool exhausted so that
/// renewals fail, in production) still holds a call that will go on and
/// commit. The retry takes the claim over and acts as well; nothing fences
/// the old owner: its commit goes through, and its `complete` overwrites the
/// answer the new owner stored (`store::idempotency::complete` matches on
/// person and key only).
///
/// PostgreSQL only: on SQLite the paused owner usually holds the one write
/// lock, and the retry waits for it instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_claim_owner_and_the_retry_that_takes_it_over_both_act() {
    if !postgres_enabled().await {
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let envs = [
        ("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("SWITCHYARD_LIMITS__CALL_TIMEOUT_SECS", "120"),
        ("SWITCHYARD_LIMITS__IDEMPOTENCY_LEASE_SECS", "2"),
    ];
    let one = Server::start(&db, &envs);
    let two = Server::start(&db, &envs);
    let class = one.call(ADMIN_USER, "classes/create", &[("name", "c")]).await;
    let class = class.expect("200").data()["id"].to_string();
    let ingroup = one.call(ADMIN_USER, "ingroups/create", &[("name", "i")]).await;
    let ingroup = ingroup.expect("200").data()["id"].to_string();
    // Long enough (a second or more) to be paused half-way; `skip` so that the
    // second action is not refused by the first one's rows.
    let range: Vec<(&str, &str)> = vec![
        ("start", "4000000000"),
        ("end", "4000199999"),
        ("class", &class),
        ("ingroup", &ingroup),
        ("existing", "skip"),
    ];
    let owned: Vec<(String, String)> = range.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();

    let first = tokio::spawn({
        let url = format!("{}/api/json/numbers/system/create", one.base);
        let mut form: Vec<(String, String)> =
            vec![("auth_username".into(), ADMIN.into()), ("auth_password".into(), ADMIN_PASSWORD.into())];
        form.extend(owned.clone());
        async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(180)).build().unwrap();
            let response = client.post(url).header("Idempotency-Key", "paused-1").form(&form).send().await.unwrap();
            Answer::from(response).await
        }
    });
    let store = Db::connect(&Settings { database_url: db.url.clone(), ..Settings::default() }).await.unwrap();
    let owner_sql = "SELECT owner FROM idempotency_keys WHERE key = 'paused-1'";
    let mut first_owner = None;
    for _ in 0..4000 {
        if let Some(owner) = text(&store, owner_sql).await {
            first_owner = Some(owner);
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let first_owner = first_owner.expect("process one never claimed the key");
    // Process one is acting under the key: pause it (it is not dead).
    one.signal("STOP");

    // Past the lease, the retry on process two takes the claim over.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let retry = tokio::spawn({
        let url = format!("{}/api/json/numbers/system/create", two.base);
        let mut form: Vec<(String, String)> =
            vec![("auth_username".into(), ADMIN.into()), ("auth_password".into(), ADMIN_PASSWORD.into())];
        form.extend(owned.clone());
        async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(180)).build().unwrap();
            let response = client.post(url).header("Idempotency-Key", "paused-1").form(&form).send().await.unwrap();
            Answer::from(response).await
        }
    });
    let mut taken_over = false;
    for _ in 0..400 {
        if text(&store, owner_sql).await.is_some_and(|owner| owner != first_owner) {
            taken_over = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The pause ends; process one's call carries on where it stopped.
    one.signal("CONT");
    let first = first.await.unwrap();
    let retry = retry.await.unwrap();
    let replay = two.keyed("paused-1", ADMIN_USER, "numbers/system/create", &range).await;

    let audited = scalar(&store, "SELECT COUNT(*) FROM audit WHERE call = 'numbers/system/create'").await;
    let batches = scalar(&store, "SELECT COUNT(*) FROM number_batches").await;
    store.close().await;
    let answers = format!(
        "taken over: {taken_over}\nfirst:  {}\nretry:  {}\nreplay: {}\naudit rows: {audited}, batches: {batches}",
        first.body, retry.body, replay.body
    );
    // One key, one action: one audit row and one batch, whoever answered.
    assert_eq!(audited, 1, "two processes acted under one Idempotency-Key:\n{answers}");
    assert_eq!(batches, 1, "{answers}");
    // And every answer under the key is the same answer.
    assert_eq!(retry.body, replay.body, "the stored answer changed after it was given:\n{answers}");
}

both_databases! {
    // README ("Decisions"): "An empty integer or flag means its documented
    // default (on an update: the default, not "unchanged")"; the default
    // `customer` of a number is 0 (the pool) and its `region` 0. The earlier
    // release did so: `customer=` put the number back in the pool. The first typed version answered 204
    // and changes nothing (`NEW_OWNER`/`NEW_REGION` are `Param::decided`, so
    // `Reader::given` maps the empty value to "not sent").
    async fn numbers_update_with_empty_customer_and_region_resets_them(backend) {
        let app = TestApp::spawn(backend).await;
        app.admin("classes/create", &[("name", "c")]).await.expect("200");
        app.admin("ingroups/create", &[("name", "i")]).await.expect("200");
        app.admin("regions/create", &[("name", "r")]).await.expect("200");
        let customer = app.admin("customers/create", &[("name", "c2"), ("email", "a@b"), ("plan", "1")]).await;
        let customer = customer.expect("200").data()["id"].to_string();
        let add = [("start", "5550000"), ("class", "1"), ("ingroup", "1"), ("customer", &customer), ("region", "1")];
        app.admin("numbers/system/create", &add).await.expect("200");

        app.admin("numbers/system/update", &[("number", "5550000"), ("customer", ""), ("region", "")]).await.expect("204");
        let row = app.admin("numbers/system/get", &[("number", "5550000")]).await;
        row.expect("200");
        assert_eq!(row.data()["customer"], 0, "customer= left the number assigned: {}", row.body);
        assert_eq!(row.data()["region"], 0, "region= left the region: {}", row.body);
    }

    // codes/update with a `dtype` that is refused: the number sent is meant
    // for the type sent, so it cannot be judged. The earlier release answered the one
    // entry (`dtype`); the first typed version fell back to the stored type
    // (src/calls/codes.rs:391, `dtype.or_else(|| ...record.dtype)`) and adds a
    // second, wrong entry: "This destination type takes no destination number."
    // judged against the `hangup` the client was replacing.
    async fn codes_update_does_not_judge_dnumber_against_the_type_it_replaces(backend) {
        let app = TestApp::spawn(backend).await;
        app.admin("codes/create", &[("code", "100"), ("dtype", "hangup"), ("dnumber", "")]).await.expect("204");
        let answer = app.admin("codes/update", &[("code", "100"), ("dtype", "phonebook"), ("dnumber", "12345")]).await;
        answer.expect_invalid(&["dtype"]);
    }
}

both_databases! {
    // README: "a hang-up drops only the wait for the answer", and a keyed
    // retry "gets that answer again, from any process, without acting twice".
    // A routine restart breaks both. SIGTERM waits only for connections
    // (app::serve), so a call whose client hung up is not waited for; main.rs
    // then closes the pool under it. On SQLite the close waits for the writer,
    // the call commits its numbers and audit row, then `complete` fails
    // ("closed pool") and the claim stays unanswered; after the restart the
    // retry finds the lease run out, takes the claim over and acts again.
    // (On PostgreSQL the call is cut off and rolled back instead: no double
    // action, but the hung-up call's side effects are dropped all the same.)
    async fn a_keyed_call_cut_off_by_a_restart_is_not_acted_on_twice(backend) {
        let db = TestDb::new(backend).await;
        let envs = [
            ("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("SWITCHYARD_LIMITS__CALL_TIMEOUT_SECS", "120"),
            ("SWITCHYARD_LIMITS__IDEMPOTENCY_LEASE_SECS", "2"),
        ];
        let one = Server::start(&db, &envs);
        let class = one.call(ADMIN_USER, "classes/create", &[("name", "c")]).await;
        let class = class.expect("200").data()["id"].to_string();
        let ingroup = one.call(ADMIN_USER, "ingroups/create", &[("name", "i")]).await;
        let ingroup = ingroup.expect("200").data()["id"].to_string();
        let range: Vec<(&str, &str)> = vec![
            ("start", "3000000000"),
            ("end", "3000999999"),
            ("class", &class),
            ("ingroup", &ingroup),
            ("existing", "skip"),
        ];

        // The keyed call, sent whole over a raw socket.
        let mut body = format!("auth_username={ADMIN}&auth_password={ADMIN_PASSWORD}");
        for (k, v) in &range {
            body.push_str(&format!("&{k}={v}"));
        }
        let request = format!(
            "POST /api/json/numbers/system/create HTTP/1.1\r\nHost: {}\r\nIdempotency-Key: restart-1\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            one.addr(),
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(one.addr()).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes()).await.unwrap();
        let store = Db::connect(&Settings { database_url: db.url.clone(), ..Settings::default() }).await.unwrap();
        let mut claimed = false;
        for _ in 0..4000 {
            if scalar(&store, "SELECT COUNT(*) FROM idempotency_keys WHERE key = 'restart-1'").await > 0 {
                claimed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(claimed, "{backend:?}: the call never claimed its key");
        // The call is running: its client hangs up, then the process is told to stop.
        drop(stream);
        let (status, lines) = tokio::task::spawn_blocking(move || one.stop()).await.unwrap();
        assert!(status.success(), "{backend:?}: {lines:?}");
        let stored = scalar(&store, "SELECT http_status FROM idempotency_keys WHERE key = 'restart-1'").await;
        let warnings: Vec<&String> = lines.iter().filter(|l| l.contains("Idempotency-Key")).collect();

        // The process comes back; past the lease the client retries.
        let two = Server::start(&db, &envs);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let retry = two.keyed("restart-1", ADMIN_USER, "numbers/system/create", &range).await;
        let audit = two.call(ADMIN_USER, "audit/list", &[("call", "numbers/system/create")]).await;
        let audited = audit.expect("200").data().as_array().unwrap().len();
        let batches = scalar(&store, "SELECT COUNT(DISTINCT batch) FROM numbers").await;
        store.close().await;
        let story = format!(
            "{backend:?}\nstored status after the stop: {stored}\nwarnings: {warnings:#?}\nretry: {}\naudit: {}",
            retry.body,
            audit.data()
        );
        retry.expect("200");
        assert_eq!(retry.data()["count"], 1_000_000, "the retry did not get the first call's answer:\n{story}");
        assert_eq!(audited, 1, "the key was acted on twice:\n{story}");
        assert_eq!(batches, 1, "{story}");
    }
}

both_databases! {
    // Empty text values that Enswitch clients send for "the default" keep
    // meaning it where they always did.
    async fn empty_existing_and_sort_mean_their_defaults(backend) {
        let app = TestApp::spawn(backend).await;
        app.admin("classes/create", &[("name", "c")]).await.expect("200");
        app.admin("ingroups/create", &[("name", "i")]).await.expect("200");
        let add = [("start", "5550000"), ("class", "1"), ("ingroup", "1"), ("existing", "")];
        app.admin("numbers/system/create", &add).await.expect("200");
        app.admin("numbers/system/create", &add).await.expect_invalid(&["start"]);
        app.admin("numbers/system/delete", &[("number", "5550000"), ("existing", "")]).await.expect("204");
        app.admin("codes/list", &[("sort", "")]).await.expect("200");
        app.admin("numbers/system/update", &[("number", "5550000"), ("class", "")]).await.expect_invalid(&["class"]);
    }
}
