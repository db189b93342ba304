//! Credentials, the 401 they earn when wrong, and the role privilege check (402).

use crate::{both_databases, common::*};

/// A role with only `privileges` (name, access) and a person holding it.
async fn person_with_role(app: &TestApp, username: &str, privileges: &[(&str, i64)]) {
    let role = app.scalar_i64("SELECT COALESCE(MAX(id), 0) + 1 FROM roles").await;
    app.exec(&format!("INSERT INTO roles (id, name, description, created) VALUES ({role}, 'r{role}', '', 0)")).await;
    for (privilege, access) in privileges {
        app.exec(&format!(
            "INSERT INTO role_privileges (role, privilege, access) VALUES ({role}, '{privilege}', {access})"
        ))
        .await;
    }
    let hash = switchyard::auth::password::hash_blocking("person-Password-1");
    app.exec(&format!(
        "INSERT INTO people (id, customer, username, password_hash, role, created) \
         VALUES ((SELECT MAX(id) + 1 FROM people), 1, '{username}', '{hash}', {role}, 0)"
    ))
    .await;
}

both_databases! {
    async fn parameters_and_basic_auth(backend) {
        let app = TestApp::spawn(backend).await;
        app.get("roles/list", "auth_username=admin;auth_password=admin-Password-1").await.expect("200");
        let basic = app.client.get(app.url("roles/list")).basic_auth(ADMIN, Some(ADMIN_PASSWORD)).send().await.unwrap();
        Answer::from(basic).await.expect("200");
        // Parameters win over the header, even when they are wrong.
        let both = app.client.get(format!("{}?auth_username=admin;auth_password=nope", app.url("roles/list")))
            .basic_auth(ADMIN, Some(ADMIN_PASSWORD)).send().await.unwrap();
        Answer::from(both).await.expect("401");
    }

    async fn anything_wrong_is_the_same_401(backend) {
        let app = TestApp::spawn(backend).await;
        let mut bodies = Vec::new();
        for query in [
            "",
            "auth_username=admin",
            "auth_password=admin-Password-1",
            "auth_username=admin;auth_password=",
            "auth_username=admin;auth_password=wrong",
            "auth_username=ADMIN;auth_password=admin-Password-1",
            "auth_username=nobody;auth_password=admin-Password-1",
        ] {
            let answer = app.get("roles/list", query).await;
            answer.expect("401");
            bodies.push(answer.body.clone());
        }
        assert!(bodies.windows(2).all(|w| w[0] == w[1]), "401s differ: {bodies:?}");
        for header in ["Basic !!!", "Basic YWRtaW4=", "Bearer abc", "Basic YWRtaW46d3Jvbmc="] {
            let answer = app.client.get(app.url("roles/list")).header("authorization", header).send().await.unwrap();
            Answer::from(answer).await.expect("401");
        }
    }

    async fn passwords_are_stored_as_argon2id(backend) {
        let app = TestApp::spawn(backend).await;
        let hash = app.scalar_text("SELECT password_hash FROM people WHERE username = 'admin'").await;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(!hash.contains(ADMIN_PASSWORD));
    }

    async fn a_role_without_the_privilege_gets_402(backend) {
        let app = TestApp::spawn(backend).await;
        person_with_role(&app, "nouser", &[("commerce", 1)]).await;
        app.call_as("nouser", "person-Password-1", "roles/list", &[]).await.expect("402");
        // Wrong credentials come first: 401, not 402.
        app.call_as("nouser", "wrong-password", "roles/list", &[]).await.expect("401");
        person_with_role(&app, "reader", &[("user", 2)]).await;
        // Read-only access admits a list call.
        app.call_as("reader", "person-Password-1", "roles/list", &[]).await.expect("200");
    }

    async fn bad_parameter_bytes_come_before_credentials(backend) {
        let app = TestApp::spawn(backend).await;
        app.get("roles/list", "auth_username=admin;auth_password=wrong;limit=%zz").await.expect_invalid(&["limit"]);
        app.get("roles/list", "auth_username=admin;auth_username=root").await.expect_invalid(&["auth_username"]);
        // The same value twice is one parameter, and then the password decides.
        app.get("roles/list", "auth_username=admin;auth_username=admin;auth_password=wrong").await.expect("401");
        // Syntax of an ordinary parameter comes after credentials.
        app.get("roles/list", "auth_username=admin;auth_password=wrong;limit=x").await.expect("401");
    }
}
