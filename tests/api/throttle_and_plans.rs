//! Holes an attack on plan owners and throttling found: a blocked attacker
//! taking the owner's slowed attempt, read-only wholesale reaching plans
//! beneath, refused attempts growing the failure windows. Each test failed
//! before its fix. (`plans/features/get` and `list` stay public by design.)

use std::time::Duration;

use crate::{both_databases, common::*, tenancy};

/// A call as `username` from client address `from` (sent through a trusted proxy).
async fn call_from(app: &TestApp, from: &str, username: &str, password: &str, call: &str) -> Answer {
    let pairs = [("auth_username", username), ("auth_password", password)];
    let response = app.client.post(app.url(call)).header("x-forwarded-for", from).form(&pairs).send().await.unwrap();
    Answer::from(response).await
}

both_databases! {
    // An attacker whose own address is already over its limit is refused
    // before any password is checked, yet its refused attempt still takes the
    // username's paced slot (last_slowed is set, only `failures` is handed
    // back): the owner, from another address, is locked out for free.
    async fn a_blocked_attacker_does_not_take_the_owners_paced_attempt(backend) {
        let app = TestApp::spawn_with(backend, |s| {
            s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
            s.auth.max_failures = 3;
            s.auth.max_failures_per_ip = 3;
            s.auth.failure_window_secs = 60;
        })
        .await;
        tenancy::person(&app, "owner", 4, 1).await;
        let attacker = "203.0.113.9";
        for i in 0..3 {
            let answer = call_from(&app, attacker, "owner", &format!("guess-{i}"), "roles/list").await;
            assert!(!answer.expect("401").headers.contains_key("retry-after"), "guess {i} was checked");
        }
        // A paced slot opens (one per 20 s); the attacker's address is over its limit.
        app.state.auth.clock.advance(Duration::from_secs(21));
        let refused = call_from(&app, attacker, "owner", "guess-again", "roles/list").await;
        assert!(refused.expect("401").headers.contains_key("retry-after"), "the attacker's address is throttled");
        // The attacker's attempt was never checked: the slot is still the owner's.
        call_from(&app, "198.51.100.7", "owner", tenancy::PW, "roles/list").await.expect("200");
    }

    // `wholesale` held read-only does not widen where a write lands
    // (Caller::write_scope), but plans/features/set ignores it: a person
    // with full `commerce` and read-only `wholesale` changes the plan owned
    // by (and governing) a customer beneath theirs.
    async fn read_only_wholesale_does_not_reach_plans_beneath(backend) {
        let app = TestApp::spawn(backend).await;
        let reseller = tenancy::customer(&app, "Reseller", 1).await;
        let child = tenancy::customer(&app, "Child", reseller).await;
        let grandchild = tenancy::customer(&app, "Grandchild", child).await;
        let plan = app
            .admin("plans/create", &[("name", "Child's plan"), ("customer", &child.to_string())])
            .await
            .expect("200")
            .data()["id"]
            .as_i64()
            .unwrap()
            .to_string();
        let _ = grandchild;
        let role = tenancy::role(&app, &[("user", "1"), ("commerce", "1"), ("wholesale", "2")]).await;
        tenancy::person(&app, "seller", role, reseller).await;
        // Its writes land only in its own customer...
        let elsewhere = app.call_as("seller", tenancy::PW, "plans/create", &[("name", "x"), ("customer", &child.to_string())]).await;
        elsewhere.expect_invalid(&["customer"]);
        // ...so a plan owned beneath it is not one it may change.
        let set = app
            .call_as("seller", tenancy::PW, "plans/features/set", &[("plan", &plan), ("feature", "codes"), ("maximum", "-1")])
            .await;
        set.expect_invalid(&["plan"]);
    }
}

/// On PostgreSQL, an address over its limit still writes a window row for
/// every username it tries (the username window is reserved before the
/// address is checked, and only decremented after), and auth_windows is
/// never purged: refused requests grow the table without bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_attempts_do_not_grow_auth_windows_on_postgres() {
    if !postgres_enabled().await {
        return;
    }
    let app = TestApp::spawn_with(Backend::Postgres, |s| s.auth.max_failures_per_ip = 2).await;
    for i in 0..2 {
        app.call_as(&format!("first-{i}"), "wrong", "roles/list", &[]).await.expect("401");
    }
    for i in 0..100 {
        let answer = app.call_as(&format!("spray-{i}"), "wrong", "roles/list", &[]).await;
        assert!(answer.expect("401").headers.contains_key("retry-after"), "attempt {i} was checked");
    }
    let rows = app.scalar_i64("SELECT COUNT(*) FROM auth_windows").await;
    assert!(rows <= 5, "{rows} window rows after 2 checked attempts");
}
