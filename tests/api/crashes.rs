//! Crashes: the server SIGKILLed at random points while it imports a million
//! numbers, creates feature codes and writes a customer's ledger, every call
//! sent with an `Idempotency-Key`; and on PostgreSQL the backend of a running
//! call terminated. Nothing partial, nothing lost, nothing done twice.
//!
//! Each round runs on a database of its own. `SWITCHYARD_TEST_CRASH_ROUNDS`
//! (default 3 per database) makes the run longer and `SWITCHYARD_TEST_CRASH_SEED`
//! replays one; the README gives the 50-round command.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::{both_databases, common::*};

const PW: &str = "crash-Password-1";
const RANGE: i64 = 1_000_000;
const FIRST: &str = "44200000000";
const LAST: &str = "44200999999";

fn rounds() -> u64 {
    std::env::var("SWITCHYARD_TEST_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3)
}

fn seed() -> u64 {
    std::env::var("SWITCHYARD_TEST_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(17)
}

/// One keyed call as sent, and what it answered (`None`: cut off).
#[derive(Debug, Clone)]
struct Sent {
    key: String,
    call: &'static str,
    params: Vec<(&'static str, String)>,
    answer: Option<Answer>,
}

/// Sends one keyed call; a connection refused, reset or cut mid-answer is `None`.
async fn send(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    call: &str,
    params: &[(&str, String)],
) -> Option<Answer> {
    let mut form: Vec<(&str, &str)> = vec![("auth_username", ADMIN), ("auth_password", PW)];
    form.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
    let url = format!("{base}/api/json/{call}");
    let response = client.post(url).header("Idempotency-Key", key).form(&form).send().await.ok()?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.ok()?;
    Some(Answer { status, headers, body: serde_json::from_str(&text).ok()? })
}

/// Sends `make(i)` for i = 0, 1, ... `most` - 1 until one is cut off (the
/// server died) or `until` says stop; records every call.
async fn keep_sending(
    base: String,
    log: Arc<Mutex<Vec<Sent>>>,
    until: Arc<std::sync::atomic::AtomicBool>,
    most: usize,
    make: impl Fn(usize) -> Sent,
) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
    for i in 0..most {
        if until.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let mut sent = make(i);
        sent.answer = send(&client, &base, &sent.key, sent.call, &sent.params).await;
        let cut = sent.answer.is_none();
        log.lock().unwrap().push(sent);
        if cut {
            break;
        }
    }
}

/// The three streams of keyed calls a round sends: one import, then codes
/// and credits until told to stop or cut off.
struct Streams {
    log: Arc<Mutex<Vec<Sent>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    workers: [tokio::task::JoinHandle<()>; 3],
}

impl Streams {
    fn start(server: &Server) -> Self {
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let send = |most, make: fn(usize) -> Sent| {
            tokio::spawn(keep_sending(server.base.clone(), log.clone(), stop.clone(), most, make))
        };
        let workers = [send(1, |_| import()), send(usize::MAX, code), send(usize::MAX, credit)];
        Self { log, stop, workers }
    }

    /// Waits for the streams to end; every call sent, in order.
    async fn finish(self) -> Vec<Sent> {
        for worker in self.workers {
            worker.await.unwrap();
        }
        self.log.lock().unwrap().clone()
    }
}

fn import() -> Sent {
    Sent {
        key: "import".into(),
        call: "numbers/system/create",
        params: vec![("start", FIRST.into()), ("end", LAST.into()), ("class", "1".into()), ("ingroup", "1".into())],
        answer: None,
    }
}

fn code(i: usize) -> Sent {
    Sent {
        key: format!("code-{i}"),
        call: "codes/create",
        params: vec![("code", format!("7{i:05}")), ("dtype", "hangup".into()), ("dnumber", String::new())],
        answer: None,
    }
}

fn credit(i: usize) -> Sent {
    Sent {
        key: format!("credit-{i}"),
        call: "customers/balance/add",
        params: vec![("customer", "1".into()), ("amount", "1.25".into()), ("description", format!("credit {i}"))],
        answer: None,
    }
}

/// What the database holds, read with a connection of the test's own.
#[derive(Debug, PartialEq, Eq)]
struct Holdings {
    numbers: i64,
    codes: i64,
    credits: i64,
    audit_imports: i64,
    audit_codes: i64,
    audit_credits: i64,
}

async fn holdings(db: &TestDb) -> Holdings {
    let audit = |call: &str| format!("SELECT COUNT(*) FROM audit WHERE call = '{call}'");
    Holdings {
        numbers: count_rows(db, "SELECT COUNT(*) FROM numbers").await,
        codes: count_rows(db, "SELECT COUNT(*) FROM codes").await,
        credits: count_rows(db, "SELECT COUNT(*) FROM ledger").await,
        audit_imports: count_rows(db, &audit("numbers/system/create")).await,
        audit_codes: count_rows(db, &audit("codes/create")).await,
        audit_credits: count_rows(db, &audit("customers/balance/add")).await,
    }
}

/// Every change has its audit row and every audit row its change; a range
/// is whole or absent.
fn assert_consistent(held: &Holdings, when: &str) {
    assert!(held.numbers == 0 || held.numbers == RANGE, "{when}: {} numbers, a range partly written", held.numbers);
    assert_eq!(held.audit_imports, held.numbers / RANGE, "{when}: audit rows of imports: {held:?}");
    assert_eq!(held.audit_codes, held.codes, "{when}: audit rows of codes: {held:?}");
    assert_eq!(held.audit_credits, held.credits, "{when}: audit rows of credits: {held:?}");
}

async fn sqlite_integrity(db: &TestDb) -> String {
    use sqlx::{ConnectOptions, Connection, sqlite::SqliteConnectOptions};
    use std::str::FromStr;
    let mut conn = SqliteConnectOptions::from_str(&db.url).unwrap().connect().await.unwrap();
    let answer: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await.unwrap();
    let _ = conn.close().await;
    answer
}

/// Sends `sent` again until it gets an answer that is not "try again" (503)
/// or a cut connection; a retry after a crash must reach one.
async fn retry_until_definite(base: &str, sent: &Sent) -> Answer {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match send(&client, base, &sent.key, sent.call, &sent.params).await {
            Some(answer) if answer.code() != "503" => return answer,
            other => {
                assert!(Instant::now() < deadline, "no definite answer to the retry of {}: {other:?}", sent.key);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// A server on `db` whose keyed claims lease for a second, so that a retry
/// after a crash takes a dead claim over quickly.
fn start(db: &TestDb) -> Server {
    Server::start(db, &[("SWITCHYARD_ADMIN_PASSWORD", PW), ("SWITCHYARD_LIMITS__IDEMPOTENCY_LEASE_SECS", "1")])
}

both_databases! {
    async fn sigkill_mid_write_loses_nothing_and_doubles_nothing(backend) {
        let mut rng = StdRng::seed_from_u64(seed() ^ backend as u64);
        let (mut imports_cut, mut calls_cut, mut calls_sent) = (0, 0, 0);
        for round in 0..rounds() {
            let db = TestDb::new(backend).await;
            let server = start(&db);
            server.call((ADMIN, PW), "classes/create", &[("name", "c")]).await.expect("200");
            server.call((ADMIN, PW), "ingroups/create", &[("name", "i")]).await.expect("200");

            let streams = Streams::start(&server);
            // The import is sent once; the other two keep going until the kill.
            let kill_at = rng.gen_range(0..3_000);
            tokio::time::sleep(Duration::from_millis(kill_at)).await;
            streams.stop.store(true, std::sync::atomic::Ordering::Relaxed);
            tokio::task::spawn_blocking(move || server.kill()).await.unwrap();
            let sent = streams.finish().await;
            calls_sent += sent.len();

            // The database as the kill left it.
            if backend == Backend::Sqlite {
                assert_eq!(sqlite_integrity(&db).await, "ok", "round {round}");
            }
            let left = holdings(&db).await;
            assert_consistent(&left, &format!("round {round}, after the kill at {kill_at} ms"));

            // Every call, cut or answered, retried with its key on a new process.
            let server = start(&db);
            let mut first_retries = Vec::new();
            for call in &sent {
                let retry = retry_until_definite(&server.base, call).await;
                match &call.answer {
                    Some(answer) if answer.code() != "503" => {
                        assert_eq!(retry.body, answer.body, "round {round}: {} answered otherwise after the kill", call.key);
                    }
                    _ => {
                        calls_cut += 1;
                        if call.key == "import" {
                            imports_cut += 1;
                            assert_eq!(retry.data()["count"], RANGE, "round {round}: the retried import");
                        } else {
                            retry.expect("204");
                        }
                    }
                }
                first_retries.push(retry);
            }
            // A second retry answers exactly as the first.
            for (call, first) in sent.iter().zip(&first_retries) {
                let again = retry_until_definite(&server.base, call).await;
                assert_eq!(again.body, first.body, "round {round}: {} changed its answer", call.key);
            }
            tokio::task::spawn_blocking(move || server.kill()).await.unwrap();
            if backend == Backend::Sqlite {
                assert_eq!(sqlite_integrity(&db).await, "ok", "round {round}");
            }

            // Each key's change exists exactly once, with one audit row.
            let count = |prefix: &str| sent.iter().filter(|s| s.key.starts_with(prefix)).count() as i64;
            let after = holdings(&db).await;
            assert_consistent(&after, &format!("round {round}, after the retries"));
            assert_eq!(after.numbers, RANGE, "round {round}");
            assert_eq!(after.codes, count("code-"), "round {round}");
            assert_eq!(after.credits, count("credit-"), "round {round}");
            let balance = count_rows(&db, "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger").await;
            assert_eq!(balance, count("credit-") * 12_500, "round {round}: the ledger's sum");
        }
        assert!(calls_cut > 0, "no kill cut a call: the test tested nothing");
        println!(
            "{backend:?}: {} rounds, {calls_sent} keyed calls; {imports_cut} imports and {calls_cut} calls in all cut by the kill, each answered on retry",
            rounds()
        );
    }
}

/// Terminates the backend of every call running on `db` (PostgreSQL), as an
/// operator's `pg_terminate_backend` or an out-of-memory kill would; answers
/// how many it ended.
async fn terminate_running_backends(db: &TestDb) -> i64 {
    use sqlx::{ConnectOptions, Connection, postgres::PgConnectOptions};
    use std::str::FromStr;
    let mut conn = PgConnectOptions::from_str(&db.url).unwrap().connect().await.unwrap();
    let ended: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle') AS ended",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let _ = conn.close().await;
    ended
}

// The backend of a running call terminated mid-call: that call answers 503,
// nothing of it is written (its keyed retry acts once), and the same process
// answers the next call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_backend_is_a_503_with_nothing_partial() {
    if !postgres_enabled().await {
        return;
    }
    let mut rng = StdRng::seed_from_u64(seed());
    let (mut ended, mut refused) = (0, 0);
    for round in 0..rounds() {
        let db = TestDb::new(Backend::Postgres).await;
        let server = start(&db);
        server.call((ADMIN, PW), "classes/create", &[("name", "c")]).await.expect("200");
        server.call((ADMIN, PW), "ingroups/create", &[("name", "i")]).await.expect("200");

        let streams = Streams::start(&server);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..2_000))).await;
        ended += terminate_running_backends(&db).await;
        // The process goes on serving: the workers' next calls succeed.
        tokio::time::sleep(Duration::from_millis(300)).await;
        streams.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let sent = streams.finish().await;

        // Every call has a whole answer: done, or 503. A 503 means nothing
        // was written, except when the backend was ended after its COMMIT
        // and before the answer: the key's retry then answers what was done.
        let mut retry = Vec::new();
        for call in &sent {
            let answer = call.answer.as_ref().unwrap_or_else(|| panic!("round {round}: {} got no answer", call.key));
            match answer.code() {
                "503" => retry.push(call),
                "200" | "204" => {}
                _ => panic!("round {round}: {} answered {}", call.key, answer.body),
            }
        }
        refused += retry.len();
        assert_consistent(&holdings(&db).await, &format!("round {round}, after the terminations"));
        for call in retry {
            let again = retry_until_definite(&server.base, call).await;
            assert!(["200", "204"].contains(&again.code()), "round {round}: {} retried: {}", call.key, again.body);
        }
        // Each key's change exactly once.
        let count = |prefix: &str| sent.iter().filter(|s| s.key.starts_with(prefix)).count() as i64;
        let held = holdings(&db).await;
        assert_consistent(&held, &format!("round {round}, after the retries"));
        assert_eq!(held.numbers, RANGE * count("import"), "round {round}");
        assert_eq!(held.codes, count("code-"), "round {round}");
        assert_eq!(held.credits, count("credit-"), "round {round}");
        let next =
            server.call((ADMIN, PW), "codes/create", &[("code", "9999"), ("dtype", "hangup"), ("dnumber", "")]).await;
        next.expect("204");
    }
    assert!(ended > 0, "no backend was running at a termination: the test tested nothing");
    println!("{} rounds: {ended} running backends terminated, {refused} calls answered 503, nothing partial", rounds());
}
