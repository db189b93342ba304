//! The credential cache and the throttle, with the server's clock moved
//! forward instead of sleeping.

use std::{sync::atomic::Ordering, time::Duration};

use crate::{
    both_databases,
    common::*,
    tenancy::{PW, person},
};

fn hits(app: &TestApp) -> u64 {
    app.state.auth.stats.cache_hits.load(Ordering::Relaxed)
}

both_databases! {
    async fn throttle_trips_and_resets_after_the_window(backend) {
        let app = TestApp::spawn_with(backend, |s| {
            s.auth.max_failures = 3;
            s.auth.failure_window_secs = 120;
        }).await;
        person(&app, "other", 4, 1).await;
        // A person whose password has not been proven lately (the credential
        // cache holds no success of theirs).
        person(&app, "victim", 4, 1).await;
        for _ in 0..3 {
            app.call_as("victim", "wrong-password", "roles/list", &[]).await.expect("401");
        }
        // Over the limit: refused without a check, even with the right password.
        let throttled = app.call_as("victim", PW, "roles/list", &[]).await;
        throttled.expect("401");
        let retry: u64 = throttled.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=120).contains(&retry), "{retry}");
        assert!(app.state.auth.stats.throttled.load(Ordering::Relaxed) >= 1);
        // Unknown usernames are throttled the same way, with the same answer.
        for _ in 0..3 {
            app.call_as("ghost", "wrong-password", "roles/list", &[]).await.expect("401");
        }
        let ghost = app.call_as("ghost", "wrong-password", "roles/list", &[]).await;
        assert_eq!(ghost.body, throttled.body);
        assert!(ghost.headers.contains_key("retry-after"));
        // Other usernames are unaffected.
        app.call_as("other", PW, "roles/list", &[]).await.expect("200");
        // Once the window has passed, the right password works again.
        app.state.auth.clock.advance(Duration::from_secs(121));
        let answer = app.call_as("victim", PW, "roles/list", &[]).await;
        answer.expect("200");
        assert!(!answer.headers.contains_key("retry-after"));
    }

    async fn throttle_per_client_address(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.max_failures_per_ip = 4).await;
        for i in 0..4 {
            app.call_as(&format!("guess{i}"), "wrong-password", "roles/list", &[]).await.expect("401");
        }
        let answer = app.call_as(ADMIN, ADMIN_PASSWORD, "roles/list", &[]).await;
        answer.expect("401");
        assert!(answer.headers.contains_key("retry-after"));
        app.state.auth.clock.advance(Duration::from_secs(301));
        app.call_as(ADMIN, ADMIN_PASSWORD, "roles/list", &[]).await.expect("200");
    }

    async fn a_success_resets_the_username_count(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.max_failures = 3).await;
        for _ in 0..2 {
            app.call_as(ADMIN, "wrong-password", "roles/list", &[]).await.expect("401");
        }
        app.call_as(ADMIN, ADMIN_PASSWORD, "roles/list", &[]).await.expect("200");
        for _ in 0..2 {
            app.call_as(ADMIN, "wrong-password", "roles/list", &[]).await.expect("401");
        }
        app.call_as(ADMIN, ADMIN_PASSWORD, "roles/list", &[]).await.expect("200");
    }

    async fn cache_hits_after_a_success_and_ends_with_a_password_change(backend) {
        let app = TestApp::spawn(backend).await;
        app.admin("roles/list", &[]).await.expect("200");
        let before = hits(&app);
        app.admin("roles/list", &[]).await.expect("200");
        app.admin("roles/list", &[]).await.expect("200");
        assert_eq!(hits(&app), before + 2);
        // A wrong password is never a hit.
        app.call_as(ADMIN, "wrong-password", "roles/list", &[]).await.expect("401");
        assert_eq!(hits(&app), before + 2);
        // Another process changes the password: the old one is refused at once.
        let new_hash = switchyard::auth::password::hash_blocking("brand-new-Password");
        app.exec(&format!("UPDATE people SET password_hash = '{new_hash}' WHERE username = 'admin'")).await;
        once_announced(|| app.admin("roles/list", &[])).await.expect("401");
        app.call_as(ADMIN, "brand-new-Password", "roles/list", &[]).await.expect("200");
    }

    async fn simultaneous_first_calls_check_the_password_once(backend) {
        let app = TestApp::spawn(backend).await;
        let calls = (0..16).map(|_| app.admin("roles/list", &[]));
        for answer in futures_util::future::join_all(calls).await {
            answer.expect("200");
        }
        assert_eq!(app.state.auth.stats.cache_misses.load(Ordering::Relaxed), 1);
        assert_eq!(hits(&app), 15);
    }

    async fn cache_entries_expire(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.cache_ttl_secs = 60).await;
        app.admin("roles/list", &[]).await.expect("200");
        let before = hits(&app);
        app.state.auth.clock.advance(Duration::from_secs(61));
        app.admin("roles/list", &[]).await.expect("200");
        assert_eq!(hits(&app), before, "an expired entry is not a hit");
        app.admin("roles/list", &[]).await.expect("200");
        assert_eq!(hits(&app), before + 1);
    }
}
