//! `/metrics` as Prometheus reads it: the exposition passes `promtool check
//! metrics`, and the build, process, in-flight, pool-wait and HTTP-status
//! series are there and move.

use crate::{both_databases, common::*};
use switchyard::settings::HttpStatusMode;

async fn metrics(app: &TestApp) -> String {
    let response = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The value of one sample line, 0 when absent.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |value| value.parse().unwrap())
}

/// Some calls of each kind, so that every family has samples.
async fn exercise(app: &TestApp) {
    app.admin("roles/list", &[]).await.expect("200");
    app.call_as(ADMIN, "wrong-password", "roles/list", &[]).await.expect("401");
    app.admin("codes/create", &[("code", "1"), ("dtype", "busy"), ("dnumber", "")]).await.expect("204");
    app.admin("classes/create", &[("name", "c")]).await.expect("200");
    app.admin("ingroups/create", &[("name", "i")]).await.expect("200");
    app.admin("numbers/system/create", &[("start", "100"), ("end", "109"), ("class", "1"), ("ingroup", "1")])
        .await
        .expect("200");
    app.admin("numbers/system/list", &[]).await.expect("200");
    app.get("nope", "").await.expect("404");
}

both_databases! {
    async fn promtool_accepts_the_exposition(backend) {
        let Some(promtool) = required_tool("promtool", "apt-get install prometheus") else { return };
        let app = TestApp::spawn(backend).await;
        exercise(&app).await;
        let text = metrics(&app).await;
        let checked = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = std::process::Command::new(promtool)
                .args(["check", "metrics"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&checked.stdout), String::from_utf8_lossy(&checked.stderr));
        assert!(checked.status.success(), "promtool check metrics failed:\n{said}");
        assert!(said.trim().is_empty(), "promtool found problems:\n{said}");
    }

    async fn build_process_in_flight_pool_waits_and_status(backend) {
        let app = TestApp::spawn_with(backend, |s| s.http_status = HttpStatusMode::Mirror).await;
        let before = metrics(&app).await;
        exercise(&app).await;
        app.admin("codes/create", &[("code", "1"), ("dtype", "busy")]).await.expect_invalid(&["dnumber"]);
        let after = metrics(&app).await;
        let moved = |series: &str| sample(&after, series) - sample(&before, series);

        let build = format!("switchyard_build_info{{version=\"{}\",", env!("CARGO_PKG_VERSION"));
        let build_line = after.lines().find(|line| line.starts_with(&build)).unwrap_or_else(|| panic!("{after}"));
        assert!(build_line.contains(&format!("database=\"{}\"", app.store().kind())) && build_line.ends_with(" 1"));

        // In mirror mode a 4xx envelope is the HTTP status too.
        assert_eq!(moved("switchyard_calls_total{call=\"codes/create\",code=\"400\",status=\"400\"}"), 1.0, "{after}");
        assert_eq!(moved("switchyard_calls_total{call=\"roles/list\",code=\"401\",status=\"401\"}"), 1.0);
        assert_eq!(moved("switchyard_calls_total{call=\"codes/create\",code=\"204\",status=\"200\"}"), 1.0);

        // The code create, the import, the list and three set-up transactions took connections.
        assert!(moved("switchyard_db_pool_wait_seconds_count") >= 4.0, "{after}");
        assert!(sample(&after, "switchyard_db_pool_wait_seconds_bucket{le=\"+Inf\"}") >= sample(&after, "switchyard_db_pool_wait_seconds_bucket{le=\"0.0001\"}"));
        assert!(sample(&after, "switchyard_db_pool_wait_seconds_sum") > 0.0);

        assert!(sample(&after, "process_resident_memory_bytes") > 1e6, "{after}");
        assert!(sample(&after, "process_open_fds") >= 3.0);
        assert!(sample(&after, "process_max_fds") >= sample(&after, "process_open_fds"));
        assert!(sample(&after, "process_cpu_seconds_total") > 0.0);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        let started = sample(&after, "process_start_time_seconds");
        assert!(started <= now + 1.0 && started > now - 7.0 * 86_400.0, "started {started}, now {now}");

        // Every call has answered: the calls in flight come back to none (a
        // call's slot is given back just after its answer).
        assert!(after.contains("# TYPE switchyard_calls_in_flight gauge"));
        let mut in_flight = sample(&after, "switchyard_calls_in_flight");
        for _ in 0..50 {
            if in_flight == 0.0 { break; }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            in_flight = sample(&metrics(&app).await, "switchyard_calls_in_flight");
        }
        assert_eq!(in_flight, 0.0);
    }
}
