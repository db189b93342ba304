//! `/api/openapi.json` as a generator reads it: every operation's envelope
//! codes and `data` schema, credentials as security schemes, the headers, the
//! `servers` entry, and parameter constraints that are the ones enforced.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::{Answer, Backend, TestApp};

async fn document(app: &TestApp, host: Option<&str>) -> Value {
    let mut request = app.client.get(format!("{}/api/openapi.json", app.base));
    if let Some(host) = host {
        request = request.header(reqwest::header::HOST, host);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

/// Every (path, method, operation) of the document.
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((path.clone(), method.clone(), op.clone()));
        }
    }
    ops
}

/// A small JSON Schema check of the keywords the document uses for answers:
/// type, properties, required, items, oneOf, enum. Problems are pushed to `errors`.
fn check(schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(variants) = schema.get("oneOf").and_then(Value::as_array) {
        let fitting = variants
            .iter()
            .filter(|v| {
                let mut e = Vec::new();
                check(v, value, at, &mut e);
                e.is_empty()
            })
            .count();
        if fitting != 1 {
            errors.push(format!("{at}: fits {fitting} of oneOf: {value}"));
        }
        return;
    }
    let type_ok = match schema.get("type").and_then(Value::as_str) {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        _ => true,
    };
    if !type_ok {
        errors.push(format!("{at}: expected {}, got {value}", schema["type"]));
        return;
    }
    if let Some(words) = schema.get("enum").and_then(Value::as_array)
        && !words.contains(value)
    {
        errors.push(format!("{at}: {value} not in {}", schema["enum"]));
    }
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for field in required {
            if value.get(field.as_str().unwrap()).is_none() {
                errors.push(format!("{at}: missing {field}"));
            }
        }
    }
    if let (Some(properties), Some(object)) = (schema.get("properties").and_then(Value::as_object), value.as_object()) {
        for (name, field) in object {
            match properties.get(name) {
                Some(field_schema) => check(field_schema, field, &format!("{at}.{name}"), errors),
                None => errors.push(format!("{at}: undocumented field {name}")),
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(items, item, &format!("{at}[{i}]"), errors);
        }
    }
}

/// Checks a real answer against the 200 response schema of `call`.
fn conforms(document: &Value, call: &str, answer: &Answer, errors: &mut Vec<String>) {
    let schema = &document["paths"][format!("/api/json/{call}")]["post"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    assert!(schema.is_object(), "{call}: no 200 schema");
    check(schema, &answer.body, call, errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_describes_answers_credentials_and_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = document(&app, None).await;
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["basic"], json!({ "type": "http", "scheme": "basic" }));
    assert_eq!(schemes["auth_username"]["type"], "apiKey");
    assert_eq!(schemes["auth_username"]["in"], "query");
    assert_eq!(schemes["auth_password"]["name"], "auth_password");

    let ops = operations(&doc);
    assert!(ops.len() > 100, "{} operations", ops.len());
    for (path, method, op) in &ops {
        let call = path.trim_start_matches("/api/json/");
        let spec = app.state.calls.get(call).unwrap_or_else(|| panic!("{call} is not a call"));
        let params = op["parameters"].as_array().unwrap();
        let names: BTreeSet<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
        // Credentials are a security requirement, never a parameter.
        let body_names = op["requestBody"]["content"]["application/json"]["schema"]["properties"].as_object();
        for credential in ["auth_username", "auth_password"] {
            assert!(!names.contains(credential), "{path} {method}: {credential} is a parameter");
            assert!(body_names.is_none_or(|b| !b.contains_key(credential)), "{path} {method}: {credential} in body");
        }
        let public = op["x-switchyard-privileges"].as_array().unwrap().is_empty();
        if public {
            assert_eq!(op["security"], json!([]), "{path}");
        } else {
            assert_eq!(
                op["security"],
                json!([{ "basic": [] }, { "auth_username": [], "auth_password": [] }]),
                "{path}"
            );
        }
        // Headers: X-Request-Id everywhere, Idempotency-Key on writing calls only.
        assert!(names.contains("X-Request-Id"), "{path} {method}");
        assert_eq!(names.contains("Idempotency-Key"), spec.writes(), "{path} {method}");
        // The envelope codes, and the data schema of a success.
        let codes = op["x-switchyard-codes"].as_array().unwrap();
        assert!(!codes.is_empty(), "{path}");
        let ok = &op["responses"]["200"];
        assert!(ok["headers"]["X-Request-Id"].is_object(), "{path}");
        let envelope = &ok["content"]["application/json"]["schema"];
        let listed = &envelope["properties"]["responses"]["items"]["properties"]["code"]["enum"];
        assert_eq!(listed.as_array().unwrap().len(), codes.len(), "{path}");
        assert!(listed.as_array().unwrap().contains(&json!("400")), "{path}");
        let has_data = envelope["properties"].get("data").is_some();
        let answers_data = listed.as_array().unwrap().contains(&json!("200"));
        assert_eq!(has_data, answers_data, "{path}: a data schema exactly when the call answers 200 with data");
        if spec.list {
            assert_eq!(envelope["properties"]["data"]["oneOf"][0]["type"], "array", "{path}");
        }
        for retried in ["401", "503"] {
            if let Some(response) = op["responses"].get(retried) {
                assert!(response["headers"]["Retry-After"].is_object(), "{path} {retried}");
            }
        }
    }

    // Parameters carry their constraints as standard keywords.
    let create = &doc["paths"]["/api/json/codes/create"]["get"]["parameters"];
    let param = |name: &str| create.as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()["schema"].clone();
    assert_eq!(param("code")["pattern"], "^[0-9*#]{1,32}$");
    assert_eq!(param("play_message")["minimum"], 0);
    assert_eq!(param("play_message")["maximum"], 2);
    assert_eq!(param("sname_action")["enum"], json!(["", "replace", "prepend", "append"]));
    assert_eq!(param("direct")["enum"], json!([0, 1, ""]));
    let list = &doc["paths"]["/api/json/codes/list"]["get"]["parameters"];
    let list_param =
        |name: &str| list.as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()["schema"].clone();
    assert_eq!(list_param("limit")["minimum"], 0);
    assert_eq!(list_param("pages")["enum"], json!([0, ""]));
    assert_eq!(list_param("sort")["enum"], json!(["", "code", "destination", "dtype", "dnumber"]));

    // The dtype enum is exactly what the server accepts.
    let dtypes: Vec<String> =
        param("dtype")["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(dtypes.len(), 14, "{dtypes:?}");
    for dtype in &dtypes {
        let answer =
            app.admin("codes/create", &[("code", "55"), ("dtype", dtype), ("dnumber", ""), ("validation", "1")]).await;
        let code = answer.code().to_string();
        assert!(code == "201" || !answer.keys().contains(&"dtype"), "{dtype} refused: {}", answer.body);
    }
    for outside in ["email", "none", "PHONE", "fax", ""] {
        let answer = app
            .admin("codes/create", &[("code", "55"), ("dtype", outside), ("dnumber", "1"), ("validation", "1")])
            .await;
        answer.expect("400");
        assert!(answer.keys().contains(&"dtype"), "{outside} accepted: {}", answer.body);
    }

    // Privileges and plan features: the enum is what the server accepts.
    let access_set = &doc["paths"]["/api/json/roles/access/set"]["get"]["parameters"];
    let privileges =
        access_set.as_array().unwrap().iter().find(|p| p["name"] == "privilege").unwrap()["schema"]["enum"].clone();
    assert_eq!(privileges, json!(["user", "administrator", "wholesale", "commerce", "system"]));
    for privilege in privileges.as_array().unwrap() {
        let privilege = privilege.as_str().unwrap();
        let answer = app
            .admin("roles/access/set", &[("role", "4"), ("privilege", privilege), ("access", "1"), ("validation", "1")])
            .await;
        answer.expect("201");
    }
    app.admin("roles/access/set", &[("role", "4"), ("privilege", "root"), ("access", "1")])
        .await
        .expect_invalid(&["privilege"]);
    let features_set = &doc["paths"]["/api/json/plans/features/set"]["get"]["parameters"];
    let features =
        features_set.as_array().unwrap().iter().find(|p| p["name"] == "feature").unwrap()["schema"]["enum"].clone();
    assert_eq!(features, json!(["codes", "numbers", "people", "customers"]));
    for feature in features.as_array().unwrap() {
        let answer = app
            .admin("plans/features/set", &[("plan", "1"), ("feature", feature.as_str().unwrap()), ("validation", "1")])
            .await;
        answer.expect("201");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_servers_url_follows_the_host_header() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = document(&app, Some("switchyard.example:8443")).await;
    assert_eq!(doc["servers"], json!([{ "url": "http://switchyard.example:8443" }]));
    let doc = document(&app, None).await;
    assert_eq!(doc["servers"][0]["url"], format!("http://{}", app.addr));
    // A Host header that is no plain host[:port] is not echoed back.
    let doc = document(&app, Some("evil.example/\"><script>")).await;
    assert_eq!(doc["servers"], json!([{ "url": "/" }]));
    // X-Forwarded-Proto from a client that is no trusted proxy is ignored.
    let request = app.client.get(format!("{}/api/openapi.json", app.base));
    let response = request.header(reqwest::header::HOST, "switchyard.example").header("x-forwarded-proto", "https");
    let doc: Value = response.send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["servers"], json!([{ "url": "http://switchyard.example" }]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_servers_url_is_https_behind_a_trusted_tls_proxy() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    for (proto, url) in [
        ("https", "https://switchyard.example"),
        // A proxy that appends: the last entry is the proxy's own.
        ("http, HTTPS", "https://switchyard.example"),
        ("https, http", "http://switchyard.example"),
        ("http", "http://switchyard.example"),
    ] {
        let response = app
            .client
            .get(format!("{}/api/openapi.json", app.base))
            .header(reqwest::header::HOST, "switchyard.example")
            .header("x-forwarded-proto", proto)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["servers"], json!([{ "url": url }]), "X-Forwarded-Proto: {proto}");
    }
}

crate::both_databases! {
    // Real answers fit the `data` schemas the document publishes.
    async fn openapi_data_schemas_fit_real_answers(backend) {
        let app = TestApp::spawn(backend).await;
        let doc = document(&app, None).await;
        let mut errors = Vec::new();
        let class = app.admin("classes/create", &[("name", "Geographic")]).await;
        let class_id = class.data()["id"].to_string();
        conforms(&doc, "classes/create", &class, &mut errors);
        let ingroup = app.admin("ingroups/create", &[("name", "Inbound")]).await;
        let ingroup_id = ingroup.data()["id"].to_string();
        let range = app
            .admin("numbers/system/create", &[("start", "2125550000"), ("end", "2125550002"), ("class", &class_id), ("ingroup", &ingroup_id)])
            .await;
        range.expect("200");
        conforms(&doc, "numbers/system/create", &range, &mut errors);
        app.admin("numbers/purchase", &[("number", "2125550000")]).await.expect("204");
        app.admin("codes/create", &[("code", "55"), ("dtype", "phone"), ("dnumber", "1234")]).await.expect("204");
        app.admin("codes/create", &[("code", "551"), ("dtype", "hangup"), ("dnumber", "")]).await.expect("204");
        let reads: [(&str, Vec<(&str, &str)>); 16] = [
            ("customers/list", vec![]),
            ("customers/get", vec![("id", "1")]),
            ("people/list", vec![]),
            ("roles/list", vec![]),
            ("plans/list", vec![]),
            ("plans/features/list", vec![("plan", "1")]),
            ("classes/get", vec![("id", &class_id)]),
            ("ingroups/list", vec![]),
            ("codes/list", vec![]),
            ("codes/get", vec![("code", "55")]),
            ("codes/conflicts", vec![]),
            ("numbers/system/list", vec![]),
            ("numbers/list", vec![]),
            ("numbers/get", vec![("number", "2125550000")]),
            ("customers/charges/monthly", vec![("customer", "1")]),
            ("audit/list", vec![]),
        ];
        for (call, params) in reads {
            let answer = app.admin(call, &params).await;
            assert_eq!(answer.code(), "200", "{call}: {}", answer.body);
            assert!(!answer.body["data"].is_null(), "{call}");
            conforms(&doc, call, &answer, &mut errors);
        }
        let counted = app.admin("codes/list", &[("count", "1")]).await;
        assert_eq!(counted.data()["count"], 2);
        conforms(&doc, "codes/list", &counted, &mut errors);
        assert!(errors.is_empty(), "answers outside the document ({backend:?}):\n{}", errors.join("\n"));
    }

    // validation=1 answers as the real call would: a malformed
    // Idempotency-Key is refused there too (schemathesis found it accepted).
    async fn openapi_malformed_idempotency_key_is_refused_under_validation(backend) {
        let app = TestApp::spawn(backend).await;
        for validation in ["1", "0"] {
            let response = app
                .client
                .post(app.url("regions/create"))
                .basic_auth(crate::common::ADMIN, Some(crate::common::ADMIN_PASSWORD))
                .header("Idempotency-Key", "has spaces")
                .form(&[("name", "North"), ("validation", validation)])
                .send()
                .await
                .unwrap();
            let answer = Answer::from(response).await;
            answer.expect_invalid(&["Idempotency-Key"]);
            assert!(answer.body.get("data").is_none(), "{}", answer.body);
        }
        let count = app.admin("regions/list", &[("count", "1")]).await;
        assert_eq!(count.data()["count"], 0);
    }
}
