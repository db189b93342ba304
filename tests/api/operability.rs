//! What operators see beside the API: metrics, the API's own description and
//! reference page, and the audit trail.

use std::collections::BTreeSet;

use crate::{
    both_databases,
    common::*,
    tenancy::{PW, customer, person},
};

async fn text(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The value of one sample line of the Prometheus text, 0 when absent.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |value| value.parse().unwrap())
}

/// Routes with a fixed answer: the API's description is the same for both databases.
fn documented_calls(document: &serde_json::Value) -> BTreeSet<String> {
    document["paths"].as_object().unwrap().keys().map(|p| p.trim_start_matches("/api/json/").to_string()).collect()
}

both_databases! {
    async fn metrics_move(backend) {
        let app = TestApp::spawn(backend).await;
        let (status, before) = text(&app, "/metrics").await;
        assert_eq!(status, 200);
        app.admin("roles/list", &[]).await.expect("200");
        app.admin("roles/list", &[]).await.expect("200");
        app.call_as(ADMIN, "wrong-password", "roles/list", &[]).await.expect("401");
        app.admin("codes/create", &[("code", "1"), ("dtype", "busy"), ("dnumber", "")]).await.expect("204");
        app.admin("codes/create", &[("code", "2"), ("dtype", "busy"), ("dnumber", ""), ("validation", "1")]).await.expect("201");
        app.admin("classes/create", &[("name", "c")]).await.expect("200");
        app.admin("ingroups/create", &[("name", "i")]).await.expect("200");
        app.admin("numbers/system/create", &[("start", "100"), ("end", "109"), ("class", "1"), ("ingroup", "1")]).await.expect("200");
        app.get("nope", "").await.expect("404");
        let (_, after) = text(&app, "/metrics").await;
        let moved = |series: &str| sample(&after, series) - sample(&before, series);
        assert_eq!(moved("switchyard_calls_total{call=\"roles/list\",code=\"200\",status=\"200\"}"), 2.0, "{after}");
        assert_eq!(moved("switchyard_calls_total{call=\"roles/list\",code=\"401\",status=\"200\"}"), 1.0);
        assert_eq!(moved("switchyard_calls_total{call=\"(unknown)\",code=\"404\",status=\"404\"}"), 1.0);
        assert_eq!(moved("switchyard_call_duration_seconds_count{call=\"roles/list\"}"), 3.0);
        assert_eq!(moved("switchyard_call_duration_seconds_bucket{call=\"roles/list\",le=\"+Inf\"}"), 3.0);
        assert_eq!(moved("switchyard_codes_created_total"), 1.0, "validation creates nothing");
        assert_eq!(moved("switchyard_numbers_added_total"), 10.0);
        assert_eq!(moved("switchyard_auth_failures_total"), 1.0);
        assert!(moved("switchyard_auth_cache_hits_total") >= 5.0);
        assert!(moved("switchyard_auth_cache_misses_total") >= 1.0);
        assert!(after.contains("switchyard_db_connections{pool="), "{after}");
        assert!(after.contains("# TYPE switchyard_call_duration_seconds histogram"));
    }

    async fn audit_rows_for_each_writing_call(backend) {
        let app = TestApp::spawn(backend).await;
        let c = customer(&app, "Audited", 1).await.to_string();
        person(&app, "auditee", 4, 1).await;
        let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("customers/create", vec![("name", "X"), ("email", "x@example.com"), ("plan", "1")]),
            ("people/create", vec![("username", "newcomer"), ("password", "Audit-Secret-9"), ("role", "4")]),
            ("roles/create", vec![("name", "R")]),
            ("roles/access/set", vec![("role", "5"), ("privilege", "user"), ("access", "1")]),
            ("plans/create", vec![("name", "P")]),
            ("plans/features/set", vec![("plan", "2"), ("feature", "codes"), ("maximum", "5")]),
            ("music/create", vec![("name", "M")]),
            ("recording/groups/create", vec![("name", "G")]),
            ("timegroups/create", vec![("name", "T")]),
            ("codes/create", vec![("code", "55"), ("dtype", "busy"), ("dnumber", ""), ("customer", &c)]),
            ("codes/update", vec![("code", "55"), ("description", "x"), ("customer", &c)]),
            ("codes/delete", vec![("code", "55"), ("customer", &c)]),
            ("classes/create", vec![("name", "C")]),
            ("ingroups/create", vec![("name", "I")]),
            ("regions/create", vec![("name", "N")]),
            ("numbers/system/create", vec![("start", "0100"), ("end", "0199"), ("class", "1"), ("ingroup", "1")]),
            ("numbers/system/update", vec![("number", "0100"), ("alias", "1")]),
            ("numbers/system/delete", vec![("number", "0100")]),
        ];
        let before = app.admin("audit/list", &[("count", "1")]).await.data()["count"].as_i64().unwrap();
        for (call, params) in &calls {
            let answer = app.admin(call, params).await;
            assert!(["200", "204"].contains(&answer.code()), "{call}: {}", answer.body);
        }
        // Neither validation, nor a refused call, nor a read adds a row.
        app.admin("plans/create", &[("name", "V"), ("validation", "1")]).await.expect("201");
        app.admin("plans/create", &[("name", "")]).await.expect_invalid(&["name"]);
        app.call_as("auditee", PW, "customers/create", &[("name", "x")]).await.expect("402");
        app.admin("codes/list", &[]).await.expect("200");
        let rows = app.admin("audit/list", &[("offset", &before.to_string())]).await;
        let rows = rows.expect("200").data().as_array().unwrap().clone();
        let logged: Vec<&str> = rows.iter().map(|r| r["call"].as_str().unwrap()).collect();
        let expected: Vec<&str> = calls.iter().map(|(call, _)| *call).collect();
        assert_eq!(logged, expected);
        for row in &rows {
            assert_eq!(row["username"], "admin");
            assert_eq!(row["person"], 1);
            assert_eq!(row["client"], "127.0.0.1");
            assert!(row["created"].as_i64().unwrap() > 0);
        }
        let code_row = rows.iter().find(|r| r["call"] == "codes/create").unwrap();
        assert_eq!(code_row["customer"].to_string(), c);
        // The object is a JSON object of the identifying parameters, as sent.
        assert_eq!(code_row["object"], serde_json::json!({ "code": "55", "dtype": "busy", "dnumber": "", "customer": c }));
        let range_row = rows.iter().find(|r| r["call"] == "numbers/system/create").unwrap();
        let batch = app.admin("numbers/system/get", &[("number", "0101")]).await.data()["batch"].clone();
        assert_eq!(
            range_row["object"],
            serde_json::json!({ "start": "0100", "end": "0199", "class": "1", "ingroup": "1", "count": 100, "batch": batch })
        );
        let created = rows.iter().find(|r| r["call"] == "roles/create").unwrap();
        assert_eq!(created["object"]["id"], 5, "{created}");
        // No password reaches the trail.
        let all = app.admin("audit/list", &[]).await.body.to_string();
        assert!(!all.contains(PW) && !all.contains(ADMIN_PASSWORD) && !all.contains("Audit-Secret-9"), "{all}");
        let made = rows.iter().find(|r| r["call"] == "people/create").unwrap();
        assert_eq!(made["object"]["username"], "newcomer", "{made}");
        assert!(made["object"].get("password").is_none(), "{made}");
        // Filters.
        let only = app.admin("audit/list", &[("call", "codes/update")]).await;
        assert_eq!(only.data().as_array().unwrap().len(), 1);
        assert_eq!(app.admin("audit/list", &[("customer", &c), ("count", "1")]).await.data()["count"], 3);
        assert_eq!(app.admin("audit/list", &[("person", "2"), ("count", "1")]).await.data()["count"], 0);
        assert_eq!(app.admin("audit/list", &[("until", "1"), ("count", "1")]).await.data()["count"], 0);
        app.call_as("auditee", PW, "audit/list", &[]).await.expect("402");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_covers_every_routed_call_and_only_those() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, body) = text(&app, "/api/openapi.json").await;
    assert_eq!(status, 200);
    let document: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let documented = documented_calls(&document);
    let routed: BTreeSet<String> = app.state.calls.all().iter().map(|c| c.name.to_string()).collect();
    assert_eq!(documented, routed);
    // Every documented call is routed (answers anything but the unknown-call 404)...
    for call in &documented {
        let answer = app.get(call, "").await;
        assert!(!(answer.status == 404 && answer.code() == "404"), "{call} is documented but not routed");
    }
    // ...and a name that is not documented is not.
    assert_eq!(app.get("codes/creat", "").await.status, 404);
    // Parameters, types and defaults come from the same definitions.
    let create = &document["paths"]["/api/json/codes/create"]["get"];
    let params = create["parameters"].as_array().unwrap();
    let find = |name: &str| params.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{name}"));
    assert_eq!(find("code")["required"], true);
    assert_eq!(find("maximum_seconds")["schema"]["default"], -1);
    assert_eq!(find("sname_action")["schema"]["default"], "replace");
    assert_eq!(find("direct")["schema"]["enum"], serde_json::json!([0, 1, ""]));
    assert!(
        document["paths"]["/api/json/plans/features/get"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"] != "auth_password")
    );
    assert!(document["components"]["schemas"]["Envelope"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_names_every_call_with_an_example() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, html) = text(&app, "/api/docs").await;
    assert_eq!(status, 200);
    for call in app.state.calls.all() {
        assert!(html.contains(&format!("<h2>{}</h2>", call.name)), "{} missing", call.name);
    }
    assert!(html.contains("curl &#x27;") || html.contains("curl '"), "no curl example");
    assert!(html.contains("code=100;dtype=phone;dnumber=1234567"));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "external assets");
}

/// The reference page in a real browser: headless Chromium renders it and
/// the rendered DOM lists the calls and shows an example. CI installs
/// Chromium; elsewhere the test says so and passes when it is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_in_headless_chromium() {
    let browser = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists());
    let Some(browser) = browser else {
        missing("Chromium", "apt-get install chromium");
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let profile = tempfile::tempdir().unwrap();
    let url = format!("{}/api/docs", app.base);
    let args = [
        "--headless".to_string(),
        "--no-sandbox".to_string(),
        "--disable-gpu".to_string(),
        "--disable-quic".to_string(),
        "--no-first-run".to_string(),
        "--disable-background-networking".to_string(),
        "--disable-component-update".to_string(),
        "--disable-sync".to_string(),
        format!("--user-data-dir={}", profile.path().display()),
        "--dump-dom".to_string(),
        url,
    ];
    // The server runs on this test's runtime: wait for the browser off it.
    let output = tokio::task::spawn_blocking(move || std::process::Command::new(browser).args(args).output().unwrap())
        .await
        .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(dom.contains("Switchyard API reference"), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    for call in app.state.calls.all() {
        assert!(dom.contains(&format!("<h2>{}</h2>", call.name)), "{} not rendered", call.name);
    }
    assert!(dom.contains("<pre class=\"example\">curl"), "no example rendered");
}
