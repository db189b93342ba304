//! The Enswitch wire format: paths, methods, separators, bodies, bad bytes,
//! the envelope and its HTTP status modes.

use crate::{both_databases, common::*};
use switchyard::settings::HttpStatusMode;

const CREDS: &str = "auth_username=admin;auth_password=admin-Password-1";

both_databases! {
    async fn trailing_slash_and_both_separators(backend) {
        let app = TestApp::spawn(backend).await;
        for (path, query) in [
            ("roles/list", CREDS.to_string()),
            ("roles/list/", CREDS.to_string()),
            ("roles/list", CREDS.replace(';', "&")),
            ("roles/list/", format!(";;{CREDS};;")),
        ] {
            let answer = app.get(path, &query).await;
            answer.expect("200");
            assert_eq!(answer.status, 200);
            assert_eq!(answer.data().as_array().unwrap().len(), 4, "{path}?{query}");
        }
    }

    async fn unknown_calls_are_404_whatever_the_method(backend) {
        let app = TestApp::spawn(backend).await;
        for path in ["/api/json/", "/api/json", "/api/json/Roles/list", "/api/json/roles/list//", "/api/json/nope", "/elsewhere"] {
            for method in [reqwest::Method::GET, reqwest::Method::POST, reqwest::Method::PUT] {
                let response = app.client.request(method.clone(), format!("{}{path}", app.base)).send().await.unwrap();
                let answer = Answer::from(response).await;
                assert_eq!(answer.status, 404, "{method} {path}");
                answer.expect("404");
            }
        }
    }

    async fn other_methods_are_405_with_real_status(backend) {
        for mode in [HttpStatusMode::Enswitch, HttpStatusMode::Mirror] {
            let app = TestApp::spawn_with(backend, |s| s.http_status = mode).await;
            for method in ["PUT", "DELETE", "PATCH", "OPTIONS"] {
                let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let response = app.client.request(method.clone(), app.url("roles/list")).send().await.unwrap();
                assert_eq!(response.headers()["allow"], "GET, HEAD, POST");
                let answer = Answer::from(response).await;
                assert_eq!(answer.status, 405, "{method}");
                answer.expect("405");
            }
        }
    }

    async fn post_bodies_of_every_kind(backend) {
        let app = TestApp::spawn(backend).await;
        // urlencoded, with the query string carrying the username.
        let answer = Answer::from(app.client.post(format!("{}?auth_username=admin", app.url("roles/list")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("auth_password=admin-Password-1;count=1").send().await.unwrap()).await;
        answer.expect("200");
        assert_eq!(answer.data()["count"], 4);
        // multipart
        let form = reqwest::multipart::Form::new()
            .text("auth_username", ADMIN).text("auth_password", ADMIN_PASSWORD).text("limit", "2");
        let answer = Answer::from(app.client.post(app.url("roles/list")).multipart(form).send().await.unwrap()).await;
        answer.expect("200");
        assert_eq!(answer.data().as_array().unwrap().len(), 2);
        // flat JSON: an integer and a boolean.
        let answer = Answer::from(app.client.post(app.url("roles/list"))
            .header("content-type", "application/json")
            .body(r#"{"auth_username": "admin", "auth_password": "admin-Password-1", "limit": 1, "descending": true, "offset": null}"#)
            .send().await.unwrap()).await;
        answer.expect("200");
        assert_eq!(answer.data()[0]["id"], 4);
    }

    async fn a_get_body_is_not_read(backend) {
        let app = TestApp::spawn(backend).await;
        let response = app.client.get(format!("{}?{CREDS}", app.url("roles/list")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("auth_username=again").send().await.unwrap();
        Answer::from(response).await.expect("200");
    }

    async fn a_key_repeated_with_another_value_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        app.get("plans/features/get", "plan=1;feature=codes;plan=2").await.expect_invalid(&["plan"]);
        app.get("plans/features/get", "plan=1&feature=codes&plan=2&feature=code").await.expect_invalid(&["plan", "feature"]);
        // Across query string and body.
        let answer = Answer::from(app.client.post(format!("{}?plan=2", app.url("plans/features/get")))
            .form(&[("plan", "1"), ("feature", "codes")]).send().await.unwrap()).await;
        answer.expect_invalid(&["plan"]);
        // A repeated JSON key.
        let answer = Answer::from(app.client.post(app.url("plans/features/get"))
            .header("content-type", "application/json")
            .body(r#"{"plan": 1, "feature": "codes", "feature": "code"}"#).send().await.unwrap()).await;
        answer.expect_invalid(&["feature"]);
        // The `;` cloaking defence: a proxy that splits on `&` only sees one
        // password, Switchyard would see two; they differ, so the call is refused.
        let answer = app.get("roles/list", &format!("{CREDS}&auth_password=other")).await;
        answer.expect_invalid(&["auth_password"]);
        assert!(!answer.body.to_string().contains("admin-Password-1"), "{}", answer.body);
    }

    async fn a_key_repeated_with_its_own_value_is_one_parameter(backend) {
        let app = TestApp::spawn(backend).await;
        // Clients that add the credentials to the caller's own map send them
        // twice on a retry, with the same values.
        let answer = app.get("roles/list", &format!("{CREDS};{CREDS};count=1")).await;
        answer.expect("200");
        assert_eq!(answer.data()["count"], 4);
        // In the query string and again in the body; and a repeated JSON key.
        let answer = Answer::from(app.client.post(format!("{}?{CREDS}", app.url("roles/list")))
            .form(&[("auth_username", ADMIN), ("auth_password", ADMIN_PASSWORD), ("limit", "1")]).send().await.unwrap()).await;
        answer.expect("200");
        assert_eq!(answer.data().as_array().unwrap().len(), 1);
        let answer = Answer::from(app.client.post(app.url("codes/create"))
            .header("content-type", "application/json")
            .body(r#"{"auth_username": "admin", "auth_password": "admin-Password-1", "code": "77", "dtype": "hangup", "dnumber": "", "code": "77"}"#)
            .send().await.unwrap()).await;
        answer.expect("204");
        let answer = app.get("codes/get", &format!("{CREDS};code=77")).await;
        answer.expect("200");
        assert_eq!(answer.data()["dtype"], "hangup");
    }

    async fn a_post_body_without_content_type_is_a_form(backend) {
        let app = TestApp::spawn(backend).await;
        let body = format!("{CREDS};code=55;dtype=hangup;dnumber=");
        let request = format!(
            "POST /api/json/codes/create HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (status, answer) = app.raw(request.as_bytes()).await;
        assert_eq!(status, 200, "{answer}");
        assert!(answer.starts_with(r#"{"responses":[{"code":"204""#), "{answer}");
        let answer = app.get("codes/get", &format!("{CREDS};code=55")).await;
        answer.expect("200");
        assert_eq!(answer.data()["code"], "55");
        // A Content-Type that is not even text is no type Switchyard reads.
        let request = format!(
            "POST /api/json/codes/create HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/é\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (status, answer) = app.raw(request.as_bytes()).await;
        assert_eq!(status, 200, "{answer}");
        assert!(answer.starts_with(r#"{"responses":[{"code":"400","key":"""#), "{answer}");
        // A declared type Switchyard does not read is still refused.
        let answer = Answer::from(app.client.post(app.url("codes/create")).header("content-type", "text/plain")
            .body(format!("{CREDS};code=56;dtype=hangup;dnumber=")).send().await.unwrap()).await;
        answer.expect_invalid(&[""]);
    }

    async fn head_is_get_without_a_body_and_never_writes(backend) {
        let app = TestApp::spawn_with(backend, |s| s.http_status = HttpStatusMode::Mirror).await;
        let head = app.client.head(format!("{}?{CREDS}", app.url("roles/list"))).send().await.unwrap();
        assert_eq!(head.status().as_u16(), 200);
        assert_eq!(head.headers()["content-type"], "application/json");
        assert!(head.headers().contains_key("x-request-id"));
        assert!(head.bytes().await.unwrap().is_empty());
        // The status is the one a GET would get.
        let head = app.client.head(format!("{}?auth_username=admin;auth_password=wrong", app.url("roles/list"))).send().await.unwrap();
        assert_eq!(head.status().as_u16(), 401);
        let head = app.client.head(format!("{}?{CREDS};code=55", app.url("codes/create"))).send().await.unwrap();
        assert_eq!(head.status().as_u16(), 400, "dtype is missing");
        // A writing call is only validated, even with validation=0.
        let head = app.client.head(format!("{}?{CREDS};code=55;dtype=hangup;dnumber=;validation=0", app.url("codes/create"))).send().await.unwrap();
        assert_eq!(head.status().as_u16(), 200);
        let answer = app.get("codes/list", &format!("{CREDS};count=1")).await;
        answer.expect("200");
        assert_eq!(answer.data()["count"], 0, "a HEAD created a code");
    }

    async fn bad_bytes_name_their_key(backend) {
        let app = TestApp::spawn(backend).await;
        // Control characters, bad escapes and invalid UTF-8 in values.
        app.get("plans/features/get", "plan=1;feature=co%00des").await.expect_invalid(&["feature"]);
        app.get("plans/features/get", "plan=1;feature=co%7Fdes").await.expect_invalid(&["feature"]);
        app.get("plans/features/get", "plan=%G1;feature=codes").await.expect_invalid(&["plan"]);
        app.get("plans/features/get", "plan=1;feature=%FF%FE").await.expect_invalid(&["feature"]);
        app.get("plans/features/get", "plan=1;feature=codes%").await.expect_invalid(&["feature"]);
        // A key that cannot be decoded is key "".
        app.get("plans/features/get", "plan=1;feature=codes;%FF=1").await.expect_invalid(&[""]);
        // Raw bytes in a body: the value is not UTF-8.
        let (status, body) = app.raw(b"POST /api/json/plans/features/get HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 18\r\n\r\nplan=1;feature=\xff\xfe\xfd").await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(r#""code":"400","key":"feature""#), "{body}");
        // Raw invalid bytes in the request line never reach a call: the HTTP layer refuses them.
        let (status, _) = app.raw(b"GET /api/json/plans/features/get?plan=1;feature=\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert_eq!(status, 400);
        // A tab is allowed in a value (and is then simply an unknown feature).
        app.get("plans/features/get", "plan=1;feature=co%09des").await.expect_invalid(&["feature"]);
    }

    async fn malformed_and_unsupported_bodies(backend) {
        let app = TestApp::spawn(backend).await;
        // Plan 1 sets codes, so a well-formed body answers 200 (an unset feature is a 404).
        app.exec("INSERT INTO plan_features (plan, feature, included, maximum) VALUES (1, 'codes', 0, -1)").await;
        let post = |content_type: &'static str, body: &'static str| {
            app.client.post(app.url("plans/features/get")).header("content-type", content_type).body(body).send()
        };
        for (content_type, body, keys) in [
            ("application/json", "{\"plan\": 1,", vec![""]),
            ("application/json", "[1, 2]", vec![""]),
            ("application/json", "{\"plan\": 1.0, \"feature\": \"codes\"}", vec!["plan"]),
            ("application/json", "{\"plan\": 1e2, \"feature\": [\"codes\"]}", vec!["plan", "feature"]),
            ("application/json", "{\"plan\": {\"a\": 1}, \"feature\": \"codes\"}", vec!["plan"]),
            ("text/plain", "plan=1;feature=codes", vec![""]),
            ("multipart/form-data; boundary=zz", "--zz\r\nnot a part", vec![""]),
        ] {
            let answer = Answer::from(post(content_type, body).await.unwrap()).await;
            answer.expect_invalid(&keys);
        }
        // JSON integers keep every digit, however long (here: too long for a plan id).
        let answer = Answer::from(post("application/json", r#"{"plan": 123456789012345678901234567890, "feature": "codes"}"#).await.unwrap()).await;
        answer.expect_invalid(&["plan"]);
        let answer = Answer::from(post("application/json", r#"{"plan": 1, "feature": "codes", "extra": true}"#).await.unwrap()).await;
        answer.expect("200");
    }

    async fn body_over_the_limit_is_413(backend) {
        let app = TestApp::spawn_with(backend, |s| s.max_body_bytes = 64).await;
        let big = format!("plan=1;feature=codes;pad={}", "x".repeat(100));
        let answer = Answer::from(app.client.post(app.url("plans/features/get"))
            .header("content-type", "application/x-www-form-urlencoded").body(big).send().await.unwrap()).await;
        assert_eq!(answer.status, 413);
        answer.expect("413");
        // Without a Content-Length the limit still holds.
        let chunks: Vec<Result<String, std::io::Error>> = (0..10).map(|_| Ok("x=1234567890;".to_string())).collect();
        let answer = Answer::from(app.client.post(app.url("plans/features/get"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))).send().await.unwrap()).await;
        assert_eq!(answer.status, 413);
    }

    async fn every_bad_parameter_in_table_order(backend) {
        let app = TestApp::spawn(backend).await;
        // Given feature first, the answer still follows the table: plan, then feature.
        app.get("plans/features/get", "feature=nope;plan=x").await.expect_invalid(&["plan", "feature"]);
        app.get("plans/features/get", "").await.expect_invalid(&["plan", "feature"]);
        app.get("plans/features/list", "plan=1;limit=-1;offset=x;descending=2;count=yes")
            .await.expect_invalid(&["count", "descending", "limit", "offset"]);
    }

    async fn unknown_keys_ignored_unless_strict(backend) {
        let app = TestApp::spawn(backend).await;
        app.get("plans/features/list", "plan=1;colour=blue").await.expect("200");
        let strict = TestApp::spawn_with(backend, |s| s.strict_params = true).await;
        strict.get("plans/features/list", "plan=1;colour=blue;size=9").await.expect_invalid(&["colour", "size"]);
        // Credentials are never unknown, even on a call that ignores them.
        strict.get("plans/features/list", &format!("plan=1;{CREDS}")).await.expect("200");
        strict.get("roles/list", &format!("{CREDS};limit=1")).await.expect("200");
    }

    async fn http_status_modes(backend) {
        let enswitch = TestApp::spawn(backend).await;
        let mirror = TestApp::spawn_with(backend, |s| s.http_status = HttpStatusMode::Mirror).await;
        for (app, bad_status) in [(&enswitch, 200), (&mirror, 400)] {
            let answer = app.get("plans/features/get", "plan=x;feature=codes").await;
            answer.expect("400");
            assert_eq!(answer.status, bad_status);
            let answer = app.get("roles/list", "auth_username=admin;auth_password=wrong").await;
            answer.expect("401");
            assert_eq!(answer.status, if bad_status == 200 { 200 } else { 401 });
            // Plan 1 sets no limit for codes: Enswitch's 404.
            let answer = app.get("plans/features/get", "plan=1;feature=codes").await;
            answer.expect("404");
            assert_eq!(answer.status, if bad_status == 200 { 200 } else { 404 });
            let answer = app.get("plans/features/list", "plan=1").await;
            assert_eq!(answer.status, 200);
            assert_eq!(answer.headers["content-type"], "application/json");
        }
    }

    async fn envelope_shape(backend) {
        let app = TestApp::spawn(backend).await;
        let answer = app.get("roles/list", "auth_username=admin;auth_password=wrong").await;
        assert_eq!(answer.body, serde_json::json!({"responses": [{"code": "401", "key": "", "message": "The authentication details provided are invalid."}]}));
        app.exec("INSERT INTO plan_features (plan, feature, included, maximum) VALUES (1, 'codes', 0, -1)").await;
        let answer = app.get("plans/features/get", "plan=1;feature=codes").await;
        assert_eq!(answer.body, serde_json::json!({
            "responses": [{"code": "200", "key": "", "message": "OK"}],
            "data": {"plan": 1, "feature": "codes", "included": 0, "maximum": -1}
        }));
    }

    async fn roles_list_rows_and_window(backend) {
        let app = TestApp::spawn(backend).await;
        let answer = app.admin("roles/list", &[]).await;
        let roles = answer.expect("200").data().as_array().unwrap().clone();
        let names: Vec<&str> = roles.iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["System owner", "Reseller", "Administrator", "User"]);
        assert_eq!(roles[0]["privileges"], serde_json::json!({"system": 1, "commerce": 1, "wholesale": 1, "administrator": 1, "user": 1}));
        assert_eq!(roles[3]["privileges"], serde_json::json!({"user": 1}));
        assert_eq!(roles[0]["id"], 1);
        let answer = app.admin("roles/list", &[("limit", "2"), ("offset", "1")]).await;
        let ids: Vec<i64> = answer.data().as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [2, 3]);
        let answer = app.admin("roles/list", &[("descending", "1"), ("limit", "")]).await;
        assert_eq!(answer.data()[0]["id"], 4);
        assert_eq!(app.admin("roles/list", &[("count", "1")]).await.data()["count"], 4);
    }

    async fn plan_features_without_credentials(backend) {
        let app = TestApp::spawn(backend).await;
        // A feature plan 1 does not set is Enswitch's 404; an unknown plan its 400.
        app.get("plans/features/get", "plan=1;feature=codes").await.expect("404");
        // Credentials sent to a public call are ignored, even wrong ones.
        app.get("plans/features/list", "plan=1;auth_username=nobody;auth_password=x").await.expect("200");
        app.get("plans/features/get", "plan=2;feature=codes").await.expect_invalid(&["plan"]);
        app.get("plans/features/get", "plan=1;feature=unicorns").await.expect_invalid(&["feature"]);
        app.get("plans/features/list", "plan=2").await.expect_invalid(&["plan"]);
        let answer = app.get("plans/features/list", "plan=1").await;
        assert_eq!(answer.expect("200").data(), &serde_json::json!([]));
        app.exec("INSERT INTO plan_features (plan, feature, included, maximum) VALUES (1, 'codes', 2, 5)").await;
        let answer = app.get("plans/features/get", "plan=1;feature=codes").await;
        assert_eq!(answer.data()["maximum"], 5);
        assert_eq!(answer.data()["included"], 2);
        let answer = app.get("plans/features/list", "plan=1").await;
        assert_eq!(answer.data(), &serde_json::json!([{"plan": 1, "feature": "codes", "included": 2, "maximum": 5}]));
        assert_eq!(app.get("plans/features/list", "plan=1;count=1").await.data()["count"], 1);
    }

    async fn health_and_readiness(backend) {
        let app = TestApp::spawn(backend).await;
        assert_eq!(app.client.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), 200);
        assert_eq!(app.client.get(format!("{}/readyz", app.base)).send().await.unwrap().status(), 200);
    }
}

both_databases! {
    async fn database_gone_is_a_generic_503(backend) {
        let app = TestApp::spawn(backend).await;
        app.admin("roles/list", &[]).await.expect("200");
        app.store().close().await;
        for answer in [app.admin("roles/list", &[]).await, app.get("plans/features/get", "plan=1;feature=codes").await] {
            assert_eq!(answer.status, 503);
            assert_eq!(answer.body, serde_json::json!({"responses": [{"code": "503", "key": "", "message": "The service is temporarily unavailable. Please try again."}]}));
        }
        assert_eq!(app.client.get(format!("{}/readyz", app.base)).send().await.unwrap().status(), 503);
    }
}
