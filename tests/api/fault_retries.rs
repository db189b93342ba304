//! Retries through faults: eight clients send keyed writes, retrying on any
//! failure against either of two server processes, while the PostgreSQL
//! cluster restarts twice and one process is SIGKILLed and started again.
//! At the end every key's change exists exactly once, with one audit row.

use std::{
    sync::{
        Arc, RwLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{
    common::*,
    faults::{Cluster, pg_bin_or_skip},
};

const PW: &str = "fault-Password-1";
const CLIENTS: usize = 8;
const WRITES: usize = 500;

/// One client's `i`th write: a feature code, or a range of ten numbers.
fn write(client: usize, i: usize) -> (String, &'static str, Vec<(&'static str, String)>) {
    let key = format!("c{client}-{i}");
    if i % 2 == 0 {
        let code = format!("8{client}{i:03}");
        (key, "codes/create", vec![("code", code), ("dtype", "hangup".into()), ("dnumber", String::new())])
    } else {
        let start = 55_000_000_000 + ((client * WRITES + i) as u64) * 10;
        let params = vec![
            ("start", start.to_string()),
            ("end", (start + 9).to_string()),
            ("class", "1".into()),
            ("ingroup", "1".into()),
        ];
        (key, "numbers/system/create", params)
    }
}

/// Sends one write until it has a definite answer, turning from one process
/// to the other on every failure; answers how many attempts it took.
async fn until_done(bases: &RwLock<Vec<String>>, turn: &mut usize, client: usize, i: usize) -> usize {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let (key, call, params) = write(client, i);
    let mut form: Vec<(&str, &str)> = vec![("auth_username", ADMIN), ("auth_password", PW)];
    form.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
    let deadline = Instant::now() + Duration::from_secs(120);
    for attempt in 1.. {
        let base = bases.read().unwrap()[*turn % 2].clone();
        let sent =
            http.post(format!("{base}/api/json/{call}")).header("Idempotency-Key", &key).form(&form).send().await;
        let answer = match sent {
            Ok(response) => response.text().await.ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()),
            Err(_) => None,
        };
        let code = answer.as_ref().and_then(|a| a["responses"][0]["code"].as_str().map(String::from));
        match code.as_deref() {
            Some("200" | "204") => return attempt,
            Some(other) if !other.starts_with('5') => panic!("{key} answered {}", answer.unwrap()),
            _ => {
                assert!(Instant::now() < deadline, "{key} found no answer in two minutes");
                *turn += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    unreachable!()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_retries_through_restarts_and_a_kill_act_exactly_once() {
    let Some(bin) = pg_bin_or_skip("the retries-through-faults test") else { return };
    let cluster = Arc::new(tokio::task::spawn_blocking(move || Cluster::create(bin)).await.unwrap());
    let db = TestDb::at(&cluster.url);
    let envs = [
        ("SWITCHYARD_ADMIN_PASSWORD", PW),
        ("SWITCHYARD_LIMITS__IDEMPOTENCY_LEASE_SECS", "1"),
        ("SWITCHYARD_DATABASE__ACQUIRE_TIMEOUT_SECS", "1"),
    ];
    let one = Server::start(&db, &envs);
    let two = Server::start(&db, &envs);
    one.call((ADMIN, PW), "classes/create", &[("name", "c")]).await.expect("200");
    one.call((ADMIN, PW), "ingroups/create", &[("name", "i")]).await.expect("200");
    let bases = Arc::new(RwLock::new(vec![one.base.clone(), two.base.clone()]));

    let done = Arc::new(AtomicUsize::new(0));
    let attempts = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (bases, done, attempts) = (bases.clone(), done.clone(), attempts.clone());
            tokio::spawn(async move {
                let mut turn = client;
                for i in 0..WRITES {
                    attempts.fetch_add(until_done(&bases, &mut turn, client, i).await, Ordering::Relaxed);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    // The faults, each when a share of the writes is done.
    let total = CLIENTS * WRITES;
    let started = Instant::now();
    let reach = async |share: usize| {
        while done.load(Ordering::Relaxed) < total * share / 100 {
            // A client that failed stops counting: end the wait rather than hang.
            assert!(started.elapsed() < Duration::from_secs(300), "the clients stalled at {share}%");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let restart = |cluster: Arc<Cluster>| {
        tokio::task::spawn_blocking(move || {
            cluster.stop();
            std::thread::sleep(Duration::from_millis(500));
            cluster.start();
        })
    };
    reach(15).await;
    restart(cluster.clone()).await.unwrap();
    reach(40).await;
    tokio::task::spawn_blocking(move || one.kill()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = Server::start(&db, &envs);
    bases.write().unwrap()[0] = again.base.clone();
    reach(65).await;
    restart(cluster.clone()).await.unwrap();
    for client in clients {
        client.await.unwrap();
    }

    // Exactly once: every change, and one audit row for each.
    let count = |sql: &'static str| count_rows(&db, sql);
    let halves = (total / 2) as i64;
    assert_eq!(count("SELECT COUNT(*) FROM codes").await, halves);
    assert_eq!(count("SELECT COUNT(*) FROM numbers").await, halves * 10);
    assert_eq!(count("SELECT COUNT(*) FROM number_batches").await, halves);
    assert_eq!(count("SELECT COUNT(*) FROM audit WHERE call = 'codes/create'").await, halves);
    assert_eq!(count("SELECT COUNT(*) FROM audit WHERE call = 'numbers/system/create'").await, halves);
    assert_eq!(
        count("SELECT COUNT(*) FROM idempotency_keys WHERE http_status = 0").await,
        0,
        "a claim left unanswered"
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "retries through faults: {total} keyed writes in {} attempts, each acted exactly once",
        attempts.load(Ordering::Relaxed)
    );
    drop((two, again));
}
