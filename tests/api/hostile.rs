//! Hostile clients that try to exhaust the server: a body of ninety thousand
//! bad keys, connections that send headers and never a body, an endless
//! supply of idempotency keys, and forwarded addresses written with ports.

use std::time::Duration;

use tokio::{io::AsyncWriteExt, net::TcpStream};

use crate::{both_databases, common::*};

both_databases! {
    async fn ninety_thousand_bad_keys_are_linear_and_capped(backend) {
        let app = TestApp::spawn(backend).await;
        // Every key is bad (a broken escape), every key distinct: 90,000 entries
        // of errors, in a body just under the 1 MiB limit.
        let body: String = (0..90_000).map(|i| format!("k{i}=%zz&")).collect();
        assert!(body.len() < 1024 * 1024);
        let flood = || {
            let (client, url, body) = (app.client.clone(), app.url("roles/list"), body.clone());
            async move {
                let response = client
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                Answer::from(response).await
            }
        };
        let floods: Vec<_> = (0..4).map(|_| tokio::spawn(flood())).collect();
        // The server keeps answering others while the floods are parsed.
        for _ in 0..5 {
            let health = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
            assert_eq!(health.status().as_u16(), 200);
        }
        for flood in floods {
            let answer = flood.await.unwrap();
            answer.expect("400");
            let entries = answer.body["responses"].as_array().unwrap();
            assert_eq!(entries.len(), 101, "100 entries and one that counts the rest");
            assert_eq!(entries[0]["key"], "k0");
            assert_eq!(entries[100]["key"], "");
            assert_eq!(entries[100]["message"], "89900 more parameters were refused.");
        }
    }

    async fn bodies_that_never_arrive_do_not_take_the_calls_slots(backend) {
        let app = TestApp::spawn_with(backend, |s| {
            s.limits.max_in_flight = 4;
            s.limits.max_body_readers = 12;
            s.limits.body_read_timeout_secs = 30;
        })
        .await;
        let stall = || async {
            let mut stream = TcpStream::connect(app.addr).await.unwrap();
            stream
                .write_all(b"POST /api/json/roles/list HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n")
                .await
                .unwrap();
            stream
        };
        // Eight connections (twice the call slots) promise a body and never send it.
        let mut stalled = Vec::new();
        for _ in 0..8 {
            stalled.push(stall().await);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Calls still get their slots.
        for _ in 0..6 {
            app.admin("roles/list", &[]).await.expect("200");
        }
        // Body readers have a limit of their own: at it, a body-sending call is
        // refused at once with the envelope, and a GET (no body) still served.
        for _ in 0..4 {
            stalled.push(stall().await);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let refused = app.admin("roles/list", &[]).await;
        refused.expect("503");
        // A 503 says when to try again, as /api/openapi.json describes.
        assert_eq!(refused.headers.get("retry-after").map(|v| v.to_str().unwrap()), Some("1"));
        app.get("roles/list", &format!("auth_username={ADMIN};auth_password={ADMIN_PASSWORD}")).await.expect("200");
        drop(stalled);
    }

    async fn idempotency_keys_are_bounded_per_person_and_purged(backend) {
        let app = TestApp::spawn_with(backend, |s| {
            s.limits.idempotency_keys_per_person = 3;
            s.limits.idempotency_purge_secs = 1;
        })
        .await;
        let keyed = |key: String, name: String| {
            let app = &app;
            async move {
                let form = [("auth_username", ADMIN), ("auth_password", ADMIN_PASSWORD), ("name", name.as_str())];
                let response = app.client.post(app.url("plans/create")).header("Idempotency-Key", key).form(&form).send().await.unwrap();
                Answer::from(response).await
            }
        };
        for i in 0..3 {
            keyed(format!("k{i}"), format!("P{i}")).await.expect("200");
        }
        keyed("k3".into(), "P3".into()).await.expect_invalid(&["Idempotency-Key"]);
        // A key already held is still answered.
        keyed("k0".into(), "P0".into()).await.expect("200");
        // Expired keys are deleted by the server on its own.
        app.exec("UPDATE idempotency_keys SET created = created - 2 * 86400").await;
        let mut left = i64::MAX;
        for _ in 0..50 {
            left = app.scalar_i64("SELECT COUNT(*) FROM idempotency_keys").await;
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(left, 0, "expired keys were not purged");
        keyed("k3".into(), "P3".into()).await.expect("200");
    }

    async fn forwarded_addresses_with_ports_name_the_client(backend) {
        let app = TestApp::spawn_with(backend, |s| s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
        for (forwarded, client) in [("203.0.113.9:5555", "203.0.113.9"), ("[2001:db8::7]:443", "2001:db8::7")] {
            let form = [("auth_username", ADMIN), ("auth_password", ADMIN_PASSWORD), ("name", forwarded)];
            let response = app
                .client
                .post(app.url("plans/create"))
                .header("x-forwarded-for", format!("198.51.100.1, {forwarded}"))
                .form(&form)
                .send()
                .await
                .unwrap();
            Answer::from(response).await.expect("200");
            let rows = app.admin("audit/list", &[("call", "plans/create"), ("descending", "1"), ("limit", "1")]).await;
            assert_eq!(rows.data()[0]["client"], client, "{forwarded}");
        }
        assert_eq!(app.admin("audit/list", &[("call", "plans/create"), ("count", "1")]).await.data()["count"], 2);
    }

    async fn json_keys_with_control_characters_are_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let body = format!(r#"{{"auth_username": "{ADMIN}", "auth_password": "{ADMIN_PASSWORD}", "na\u0001me": "x"}}"#);
        let response =
            app.client.post(app.url("roles/list")).header("content-type", "application/json").body(body).send().await.unwrap();
        Answer::from(response).await.expect_invalid(&[""]);
    }
}

both_databases! {
    async fn guesses_in_parallel_obey_the_limit_of_guesses_in_sequence(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.max_failures = 10).await;
        crate::tenancy::person(&app, "victim", 4, 1).await;
        let guess = |i: usize| {
            let app = &app;
            async move { app.call_as("victim", &format!("wrong-guess-{i}"), "roles/list", &[]).await }
        };
        let answers = futures_util::future::join_all((0..200).map(guess)).await;
        for answer in &answers {
            answer.expect("401");
        }
        // A throttled attempt says when to come back; a checked one does not.
        let checked = answers.iter().filter(|a| !a.headers.contains_key("retry-after")).count();
        assert!(checked <= 10, "{checked} of 200 parallel guesses had their password checked");
        // The right password, never proven before, waits like any other attempt.
        app.call_as("victim", crate::tenancy::PW, "roles/list", &[]).await.expect("401");
    }

    async fn failures_sent_by_others_do_not_lock_out_a_proven_login(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.max_failures = 5).await;
        // The system owner's script logs in: its credentials are proven.
        app.admin("roles/list", &[]).await.expect("200");
        // Someone sends wrong passwords for the same username until it is throttled.
        for i in 0..8 {
            app.call_as(ADMIN, &format!("not-it-{i}"), "roles/list", &[]).await.expect("401");
        }
        let throttled = app.call_as(ADMIN, "not-it-again", "roles/list", &[]).await;
        assert!(throttled.expect("401").headers.contains_key("retry-after"));
        // The owner's proven credentials still pass.
        for _ in 0..3 {
            app.admin("roles/list", &[]).await.expect("200");
        }
    }
}

both_databases! {
    async fn streams_nobody_reads_cannot_take_the_pool(backend) {
        let app = TestApp::spawn_with(backend, |s| {
            s.database.max_connections = 16;
            s.limits.body_write_timeout_secs = 2;
        })
        .await;
        let customer = crate::tenancy::customer(&app, "Big", 1).await.to_string();
        crate::tenancy::person(&app, "reader", 4, customer.parse().unwrap()).await;
        app.admin("classes/create", &[("name", "c")]).await.expect("200");
        app.admin("ingroups/create", &[("name", "i")]).await.expect("200");
        let range = [("start", "7000000"), ("end", "7049999"), ("class", "1"), ("ingroup", "1"), ("customer", &customer)];
        app.admin("numbers/system/create", &range).await.expect("200");
        // Sixteen clients ask for the 50,000 numbers and never read a byte.
        let request = format!(
            "GET /api/json/numbers/list?auth_username=reader;auth_password={} HTTP/1.1\r\nHost: x\r\n\r\n",
            crate::tenancy::PW
        );
        let mut silent = Vec::new();
        for _ in 0..16 {
            let mut stream = TcpStream::connect(app.addr).await.unwrap();
            stream.write_all(request.as_bytes()).await.unwrap();
            silent.push(stream);
        }
        // Meanwhile everyone else is served: the streams have only their share of the pool.
        for _ in 0..20 {
            app.admin("roles/list", &[]).await.expect("200");
            app.admin("numbers/system/get", &[("number", "7000001")]).await.expect("200");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Past the write timeout the server has cut the streaming clients off:
        // one that now reads finds its connection ended. The others were
        // refused at once (503) for want of a stream slot.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (mut ended, mut refused) = (0, 0);
        for mut stream in silent {
            use tokio::io::AsyncReadExt;
            let mut seen = Vec::new();
            let mut buffer = vec![0u8; 1 << 20];
            let outcome = tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return "ended",
                        Ok(n) => seen.extend_from_slice(&buffer[..n]),
                    }
                    let text = String::from_utf8_lossy(&seen);
                    if text.contains(r#""code":"503""#) && text.ends_with('}') {
                        return "refused";
                    }
                }
            })
            .await;
            match outcome {
                Ok("ended") => ended += 1,
                Ok(_) => refused += 1,
                Err(_) => {}
            }
        }
        assert!(ended >= 1, "no stream was cut off");
        assert_eq!(ended + refused, 16, "a silent client kept its stream past the write timeout ({ended} ended, {refused} refused)");
        // And the pool is whole again: the reader's own list answers in full.
        let list = app.call_as("reader", crate::tenancy::PW, "numbers/list", &[("count", "1")]).await;
        assert_eq!(list.data()["count"], 50_000);
    }
}

both_databases! {
    async fn a_username_over_its_limit_is_slowed_not_locked_out(backend) {
        // 3 failures per 60 s: then one checked attempt per 20 s.
        let app = TestApp::spawn_with(backend, |s| {
            s.auth.max_failures = 3;
            s.auth.failure_window_secs = 60;
        })
        .await;
        crate::tenancy::person(&app, "owner", 4, 1).await;
        for i in 0..3 {
            app.call_as("owner", &format!("guess-{i}"), "roles/list", &[]).await.expect("401");
        }
        let refused = app.call_as("owner", crate::tenancy::PW, "roles/list", &[]).await;
        let wait: u64 = refused.expect("401").headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=20).contains(&wait), "{wait}");
        // A third of the window later (not the whole window), the owner's attempt is checked.
        app.state.auth.clock.advance(Duration::from_secs(21));
        app.call_as("owner", crate::tenancy::PW, "roles/list", &[]).await.expect("200");
    }

    async fn a_trusted_portal_address_is_not_throttled_as_an_address(backend) {
        let spawn = |trusted: bool| {
            TestApp::spawn_with(backend, move |s| {
                s.auth.max_failures_per_ip = 3;
                if trusted {
                    s.auth.trusted_clients = vec!["127.0.0.1".parse().unwrap()];
                }
            })
        };
        for trusted in [false, true] {
            let app = spawn(trusted).await;
            // A portal relays logins of many customers, some of them wrong.
            for i in 0..4 {
                app.call_as(&format!("customer-{i}"), "mistyped", "roles/list", &[]).await.expect("401");
            }
            let next = app.admin("roles/list", &[]).await;
            if trusted {
                next.expect("200");
            } else {
                assert!(next.expect("401").headers.contains_key("retry-after"), "the address window applies");
            }
        }
    }
}

/// Two processes on one PostgreSQL count failed logins against the same
/// windows: an attacker spreading guesses over them gets no more attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_windows_hold_across_processes_on_postgres() {
    if !postgres_enabled().await {
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let envs = [("SWITCHYARD_ADMIN_PASSWORD", "shared-Password-1"), ("SWITCHYARD_AUTH__MAX_FAILURES", "4")];
    let one = Server::start(&db, &envs);
    let two = Server::start(&db, &envs);
    async fn guess(server: &Server, i: usize) -> Answer {
        server.get("roles/list", &format!("auth_username=admin;auth_password=wrong-{i}")).await
    }
    // Two guesses on each process: four in all, the limit.
    for i in 0..4 {
        let server = if i % 2 == 0 { &one } else { &two };
        let answer = guess(server, i).await;
        assert!(!answer.expect("401").headers.contains_key("retry-after"), "guess {i} was not checked");
    }
    // Either process now slows the username down: the fifth guess is not checked.
    for server in [&one, &two] {
        let answer = guess(server, 99).await;
        assert!(answer.expect("401").headers.contains_key("retry-after"), "a process kept its own count");
    }
}

both_databases! {
    async fn usernames_that_could_never_be_valid_are_not_counted(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.max_failures_per_ip = 5).await;
        // Names no person can have (too long, or with characters no username
        // holds): refused, but neither remembered nor counted against the address.
        for i in 0..20 {
            let name = if i % 2 == 0 { format!("{}{i}", "x".repeat(70)) } else { format!("no such name {i}") };
            let answer = app.call_as(&name, "whatever", "roles/list", &[]).await;
            assert!(!answer.expect("401").headers.contains_key("retry-after"));
        }
        app.admin("roles/list", &[]).await.expect("200");
    }
}
