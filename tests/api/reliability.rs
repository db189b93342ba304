//! Retries that are safe (`Idempotency-Key`) and hostile input.

use crate::{
    both_databases,
    common::*,
    tenancy::{PW, person},
};

async fn keyed(app: &TestApp, key: &str, user: (&str, &str), call: &str, params: &[(&str, &str)]) -> Answer {
    let mut pairs = vec![("auth_username", user.0), ("auth_password", user.1)];
    pairs.extend_from_slice(params);
    let response = app.client.post(app.url(call)).header("Idempotency-Key", key).form(&pairs).send().await.unwrap();
    Answer::from(response).await
}

const ADMIN_USER: (&str, &str) = (ADMIN, ADMIN_PASSWORD);

both_databases! {
    async fn a_retry_gets_the_first_answer_without_acting_twice(backend) {
        let app = TestApp::spawn(backend).await;
        let first = keyed(&app, "k-1", ADMIN_USER, "plans/create", &[("name", "Once")]).await;
        let again = keyed(&app, "k-1", ADMIN_USER, "plans/create", &[("name", "Once")]).await;
        assert_eq!(first.expect("200").body, again.body);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM plans WHERE name = 'Once'").await, 1);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM audit WHERE call = 'plans/create'").await, 1, "a replay is not audited");
        // The same key with other parameters is refused.
        keyed(&app, "k-1", ADMIN_USER, "plans/create", &[("name", "Twice")]).await.expect_invalid(&["Idempotency-Key"]);
        // Refusals are replayed too.
        let refused = keyed(&app, "k-2", ADMIN_USER, "plans/create", &[("name", "")]).await;
        refused.expect_invalid(&["name"]);
        assert_eq!(keyed(&app, "k-2", ADMIN_USER, "plans/create", &[("name", "")]).await.body, refused.body);
        // Keys belong to the person who sent them.
        person(&app, "other", 2, 1).await;
        keyed(&app, "k-1", ("other", PW), "plans/create", &[("name", "Theirs")]).await.expect("200");
        // Reads and validation=1 ignore the header.
        keyed(&app, "k-3", ADMIN_USER, "plans/create", &[("name", "V1"), ("validation", "1")]).await.expect("201");
        keyed(&app, "k-3", ADMIN_USER, "plans/create", &[("name", "V2"), ("validation", "1")]).await.expect("201");
        keyed(&app, "k-3", ADMIN_USER, "plans/list", &[]).await.expect("200");
        keyed(&app, "k-3", ADMIN_USER, "plans/create", &[("name", "Real")]).await.expect("200");
        let bad = app.client.post(app.url("plans/create")).header("Idempotency-Key", "has space")
            .form(&[("auth_username", ADMIN), ("auth_password", ADMIN_PASSWORD), ("name", "x")]).send().await.unwrap();
        Answer::from(bad).await.expect_invalid(&["Idempotency-Key"]);
    }

    async fn a_retry_while_the_first_runs_waits_for_its_answer(backend) {
        let app = TestApp::spawn(backend).await;
        app.admin("classes/create", &[("name", "c")]).await.expect("200");
        app.admin("ingroups/create", &[("name", "i")]).await.expect("200");
        let range = [("start", "4000000"), ("end", "4999999"), ("class", "1"), ("ingroup", "1")];
        let first = keyed(&app, "import-1", ADMIN_USER, "numbers/system/create", &range);
        let retry = async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            keyed(&app, "import-1", ADMIN_USER, "numbers/system/create", &range).await
        };
        let (first, retry) = tokio::join!(first, retry);
        assert_eq!(first.expect("200").data()["count"], 1_000_000);
        assert_eq!(retry.body, first.body, "the retry waited for the first answer");
        assert_eq!(app.scalar_i64("SELECT COUNT(DISTINCT batch) FROM numbers").await, 1);
    }

    async fn every_process_honours_a_key(backend) {
        let one = TestApp::spawn(backend).await;
        let two = TestApp::spawn_with(backend, |s| s.database_url = one.db.url.clone()).await;
        let first = keyed(&one, "shared-key", ADMIN_USER, "roles/create", &[("name", "Everywhere")]).await;
        let again = keyed(&two, "shared-key", ADMIN_USER, "roles/create", &[("name", "Everywhere")]).await;
        assert_eq!(first.expect("200").body, again.body);
        assert_eq!(one.scalar_i64("SELECT COUNT(*) FROM roles WHERE name = 'Everywhere'").await, 1);
    }
}

mod hostile {
    //! Random hostile requests, from a seeded generator so a failure can be
    //! replayed (`SWITCHYARD_FUZZ_SEED`); `SWITCHYARD_FUZZ_CASES` runs longer.

    use rand::{Rng, SeedableRng, rngs::StdRng};

    use super::*;

    const CALLS: [&str; 8] = [
        "codes/create",
        "numbers/system/create",
        "roles/list",
        "plans/features/get",
        "people/create",
        "numbers/system/list",
        "nope",
        "",
    ];
    const KEYS: [&str; 10] =
        ["auth_username", "auth_password", "code", "dtype", "dnumber", "start", "end", "plan", "feature", "x"];

    fn bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
        let len = rng.gen_range(0..=max);
        (0..len)
            .map(|_| match rng.gen_range(0..10) {
                0 => rng.r#gen::<u8>(),
                1 => *b";&=%+#".get(rng.gen_range(0..6)).unwrap(),
                2 => rng.gen_range(0..32),
                _ => rng.gen_range(b'0'..=b'z'),
            })
            .collect()
    }

    fn pairs(rng: &mut StdRng) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..rng.gen_range(0..8) {
            if !out.is_empty() {
                out.push(if rng.gen_bool(0.5) { b';' } else { b'&' });
            }
            match rng.gen_range(0..4) {
                0 => out.extend(bytes(rng, 20)),
                _ => {
                    out.extend(KEYS[rng.gen_range(0..KEYS.len())].as_bytes());
                    out.push(b'=');
                    let long = rng.gen_bool(0.05);
                    out.extend(bytes(rng, if long { 20_000 } else { 24 }));
                }
            }
        }
        out
    }

    /// Bytes a URI may carry: the rest percent-encoded, most of the time.
    fn uri_safe(raw: &[u8], rng: &mut StdRng) -> Vec<u8> {
        if rng.gen_bool(0.1) {
            return raw.to_vec();
        }
        raw.iter()
            .flat_map(|&b| if b.is_ascii_graphic() && b != b'#' { vec![b] } else { format!("%{b:02X}").into_bytes() })
            .collect()
    }

    fn body(rng: &mut StdRng) -> (String, Vec<u8>) {
        match rng.gen_range(0..7) {
            0 => ("application/x-www-form-urlencoded".into(), pairs(rng)),
            1 => {
                let depth = rng.gen_range(1..100_000);
                (
                    "application/json".into(),
                    format!("{{\"code\": {}{}}}", "[".repeat(depth), "]".repeat(depth)).into_bytes(),
                )
            }
            2 => {
                let mut json = b"{\"code\": ".to_vec();
                json.extend(bytes(rng, 40));
                json.extend(b", \"start\": 123456789012345678901234567890123, \"n\": null, \"code\": true}");
                ("application/json".into(), json)
            }
            3 => ("multipart/form-data; boundary=XyZ".into(), {
                let mut m = b"--XyZ\r\nContent-Disposition: form-data; name=\"code\"\r\n\r\n".to_vec();
                m.extend(bytes(rng, 50));
                if rng.gen_bool(0.5) {
                    m.extend(b"\r\n--XyZ--\r\n");
                }
                m
            }),
            4 => ("multipart/form-data".into(), bytes(rng, 100)),
            5 => (String::from_utf8_lossy(&bytes(rng, 30)).replace(['\r', '\n'], ""), bytes(rng, 200)),
            _ => ("application/json".into(), bytes(rng, 300)),
        }
    }

    fn request(rng: &mut StdRng, addr: &str) -> Vec<u8> {
        let method = ["GET", "POST", "POST", "PUT", "HEAD", "X-Ray"][rng.gen_range(0..6)];
        let call = CALLS[rng.gen_range(0..CALLS.len())];
        let mut out = format!("{method} /api/json/{call}{}?", if rng.gen_bool(0.5) { "/" } else { "" }).into_bytes();
        let query = pairs(rng);
        out.extend(uri_safe(&query, rng));
        out.extend(format!(" HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n").as_bytes());
        if rng.gen_bool(0.3) {
            out.extend(b"Authorization: Basic ");
            out.extend(bytes(rng, 40).iter().filter(|b| b.is_ascii_graphic()));
            out.extend(b"\r\n");
        }
        if rng.gen_bool(0.2) {
            out.extend(b"Idempotency-Key: ");
            out.extend(bytes(rng, 30).iter().filter(|b| b.is_ascii_graphic()));
            out.extend(b"\r\n");
        }
        if rng.gen_bool(0.1) {
            out.extend(b"X-Forwarded-For: ");
            out.extend(bytes(rng, 30).iter().filter(|b| b.is_ascii_graphic()));
            out.extend(b"\r\n");
        }
        let (content_type, body) =
            if method == "POST" || rng.gen_bool(0.1) { body(rng) } else { (String::new(), Vec::new()) };
        if !content_type.is_empty() {
            out.extend(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        out.extend(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        out.extend(body);
        out
    }

    both_databases! {
        async fn hostile_requests_get_envelopes_never_a_panic(backend) {
            let app = TestApp::spawn_with(backend, |s| s.max_body_bytes = 512 * 1024).await;
            let seed: u64 = std::env::var("SWITCHYARD_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7_400_001);
            let cases: usize = std::env::var("SWITCHYARD_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
            let mut rng = StdRng::seed_from_u64(seed);
            let addr = app.addr.to_string();
            for case in 0..cases {
                let raw = request(&mut rng, &addr);
                let (status, body) = app.raw(&raw).await;
                let shown = String::from_utf8_lossy(&raw[..raw.len().min(300)]).to_string();
                assert!(status != 0, "seed {seed} case {case}: no answer to {shown:?}");
                assert!(status < 500, "seed {seed} case {case}: {status} {body} for {shown:?}");
                match serde_json::from_str::<serde_json::Value>(&body) {
                    Ok(envelope) => assert!(envelope["responses"][0]["code"].is_string(), "seed {seed} case {case}: {body}"),
                    // Only the HTTP layer's own protocol errors, or HEAD (no body), may be bare.
                    Err(_) => assert!(
                        raw.starts_with(b"HEAD") || [400, 414, 431].contains(&status),
                        "seed {seed} case {case}: bare {status} {body:?} for {shown:?}"
                    ),
                }
            }
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "hostile input: {cases} cases, seed {seed}, no failure ({backend:?})");
            app.admin("roles/list", &[]).await.expect("200");
        }
    }
}

both_databases! {
    async fn beyond_the_in_flight_cap_is_a_clean_503(backend) {
        let app = TestApp::spawn_with(backend, |s| s.limits.max_in_flight = 1).await;
        app.admin("classes/create", &[("name", "c")]).await.expect("200");
        app.admin("ingroups/create", &[("name", "i")]).await.expect("200");
        let slow = app.admin("numbers/system/create", &[("start", "1000000"), ("end", "1999999"), ("class", "1"), ("ingroup", "1")]);
        let meanwhile = async {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            app.get("plans/features/list", "plan=1").await
        };
        let (slow, meanwhile) = tokio::join!(slow, meanwhile);
        slow.expect("200");
        assert_eq!(meanwhile.status, 503);
        meanwhile.expect("503");
        app.get("plans/features/list", "plan=1").await.expect("200");
    }

    async fn trickling_clients_do_not_hold_connections(backend) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let app = TestApp::spawn_with(backend, |s| {
            s.limits.header_read_timeout_secs = 1;
            s.limits.body_read_timeout_secs = 1;
        })
        .await;
        // Headers that never end: the server closes the connection.
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        stream.write_all(b"GET /api/json/roles/list HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "the connection was held open");
        // A body that never arrives: the envelope says it could not be read.
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        stream.write_all(b"POST /api/json/plans/features/get HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nplan=1").await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(20), stream.read_to_end(&mut answer)).await.unwrap().unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.contains(r#"{"responses":[{"code":"400","key":"","message":"The request body could not be read."}]}"#), "{answer}");
    }
}

both_databases! {
    async fn a_call_past_its_timeout_is_rolled_back_whole(backend) {
        let app = TestApp::spawn_with(backend, |s| s.limits.call_timeout_secs = 1).await;
        app.admin("classes/create", &[("name", "c")]).await.expect("200");
        app.admin("ingroups/create", &[("name", "i")]).await.expect("200");
        let mut outcomes = Vec::new();
        // A million numbers takes longer than a second in a test build; either way the
        // answer and the rows must agree: all of the range, or none of it.
        for start in ["10000000", "11000000"] {
            let end = format!("{}", start.parse::<u64>().unwrap() + 999_999);
            let answer = app.admin("numbers/system/create", &[("start", start), ("end", &end), ("class", "1"), ("ingroup", "1")]).await;
            let rows = app.scalar_i64(&format!("SELECT COUNT(*) FROM numbers WHERE number >= '{start}' AND number <= '{end}'")).await;
            match answer.code() {
                "200" => assert_eq!(rows, 1_000_000),
                _ => {
                    assert_eq!(answer.status, 503, "{}", answer.body);
                    answer.expect("503");
                    assert_eq!(rows, 0, "a timed-out range was partly written");
                }
            }
            outcomes.push(answer.code().to_string());
        }
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "call timeout outcomes ({backend:?}): {outcomes:?}");
        app.admin("roles/list", &[]).await.expect("200");
    }
}

both_databases! {
    async fn the_same_call_200_times_at_once_acts_once(backend) {
        let app = TestApp::spawn(backend).await;
        let code = [("code", "4242"), ("dtype", "busy"), ("dnumber", "")];
        // Unkeyed: the key decides; the losers are clean 400s and leave no audit row.
        let answers = futures_util::future::join_all((0..200).map(|_| app.admin("codes/create", &code))).await;
        let codes: Vec<&str> = answers.iter().map(|a| a.code()).collect();
        assert_eq!(codes.iter().filter(|c| **c == "204").count(), 1, "{codes:?}");
        assert!(codes.iter().all(|c| ["204", "400"].contains(c)), "{codes:?}");
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM audit WHERE call = 'codes/create'").await, 1);
        // Keyed: one acts, the other 199 get its answer.
        let code = [("code", "4343"), ("dtype", "busy"), ("dnumber", "")];
        let answers =
            futures_util::future::join_all((0..200).map(|_| keyed(&app, "same", ADMIN_USER, "codes/create", &code))).await;
        for answer in &answers {
            answer.expect("204");
        }
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM codes WHERE code = '4343'").await, 1);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM audit WHERE call = 'codes/create'").await, 2);
    }
}
