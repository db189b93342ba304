//! Roles, customers, people and rate plans: privileges, visibility, the
//! escalation guard, plan limits, and the order of checks.

use crate::{both_databases, common::*};

pub const PW: &str = "person-Password-1";

/// Creates a customer as the administrator; answers its id.
pub async fn customer(app: &TestApp, name: &str, parent: i64) -> i64 {
    let answer = app
        .admin(
            "customers/create",
            &[("name", name), ("email", "ops@example.com"), ("plan", "1"), ("parent", &parent.to_string())],
        )
        .await;
    answer.expect("200").data()["id"].as_i64().unwrap()
}

/// Creates a person as the administrator; answers its id.
pub async fn person(app: &TestApp, username: &str, role: i64, customer: i64) -> i64 {
    let answer = app
        .admin(
            "people/create",
            &[
                ("username", username),
                ("password", PW),
                ("role", &role.to_string()),
                ("customer", &customer.to_string()),
            ],
        )
        .await;
    answer.expect("200").data()["id"].as_i64().unwrap()
}

/// Creates a role holding `privileges` (name, access); answers its id.
pub async fn role(app: &TestApp, privileges: &[(&str, &str)]) -> i64 {
    let id = app.admin("roles/create", &[("name", "custom")]).await.expect("200").data()["id"].as_i64().unwrap();
    for (privilege, access) in privileges {
        app.admin("roles/access/set", &[("role", &id.to_string()), ("privilege", privilege), ("access", access)])
            .await
            .expect("204");
    }
    id
}

fn ids(answer: &Answer) -> Vec<i64> {
    answer.data().as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

both_databases! {
    async fn roles_create_and_access(backend) {
        let app = TestApp::spawn(backend).await;
        let answer = app.admin("roles/create", &[("name", "Support"), ("description", "help desk")]).await;
        assert_eq!(answer.expect("200").data(), &serde_json::json!({"id": 5}));
        app.admin("roles/access/set", &[("role", "5"), ("privilege", "user"), ("access", "2")]).await.expect("204");
        app.admin("roles/access/set", &[("role", "5"), ("privilege", "commerce"), ("access", "1")]).await.expect("204");
        app.admin("roles/access/set", &[("role", "5"), ("privilege", "commerce"), ("access", "0")]).await.expect("204");
        let roles = app.admin("roles/list", &[]).await;
        assert_eq!(roles.data()[4], serde_json::json!({"id": 5, "name": "Support", "description": "help desk", "privileges": {"user": 2}}));
        app.admin("roles/access/set", &[("role", "99"), ("privilege", "root"), ("access", "3")]).await.expect_invalid(&["role", "privilege", "access"]);
        app.admin("roles/create", &[("name", "")]).await.expect_invalid(&["name"]);
        // Only the system privilege may create roles.
        person(&app, "admin3", 3, 1).await;
        app.call_as("admin3", PW, "roles/create", &[("name", "x")]).await.expect("402");
        app.call_as("admin3", PW, "roles/access/set", &[("role", "4"), ("privilege", "system"), ("access", "1")]).await.expect("402");
    }

    async fn read_only_access_admits_reads_only(backend) {
        let app = TestApp::spawn(backend).await;
        let viewer = role(&app, &[("user", "2"), ("administrator", "2")]).await;
        person(&app, "viewer", viewer, 1).await;
        app.call_as("viewer", PW, "people/list", &[]).await.expect("200");
        app.call_as("viewer", PW, "customers/get", &[("id", "1")]).await.expect("200");
        app.call_as("viewer", PW, "people/create", &[("username", "x"), ("password", PW), ("role", "4")]).await.expect("402");
        let editor = role(&app, &[("user", "1"), ("administrator", "1")]).await;
        person(&app, "editor", editor, 1).await;
        app.call_as("editor", PW, "people/create", &[("username", "made"), ("password", PW), ("role", "4")]).await.expect("200");
    }

    async fn customers_tree_and_visibility(backend) {
        let app = TestApp::spawn(backend).await;
        let a = customer(&app, "A", 1).await;
        let a1 = customer(&app, "A1", a).await;
        let b = customer(&app, "B", 1).await;
        person(&app, "whole", 2, a).await; // Reseller: wholesale
        person(&app, "plain", 3, a1).await; // Administrator: own customer only
        // The system owner sees everything.
        assert_eq!(ids(&app.admin("customers/list", &[]).await), [1, a, a1, b]);
        assert_eq!(ids(&app.admin("customers/list", &[("parent", &a.to_string())]).await), [a1]);
        // Wholesale: own customer and descendants.
        assert_eq!(ids(&app.call_as("whole", PW, "customers/list", &[]).await), [a, a1]);
        app.call_as("whole", PW, "customers/get", &[("id", &a1.to_string())]).await.expect("200");
        // Outside what is seen answers exactly as if absent.
        let hidden = app.call_as("whole", PW, "customers/get", &[("id", &b.to_string())]).await;
        let absent = app.call_as("whole", PW, "customers/get", &[("id", "999")]).await;
        hidden.expect("404");
        assert_eq!(hidden.body, absent.body);
        // Otherwise: own customer only.
        assert_eq!(ids(&app.call_as("plain", PW, "customers/list", &[]).await), [a1]);
        app.call_as("plain", PW, "customers/get", &[("id", &a.to_string())]).await.expect("404");
        // Creating under a customer not seen: 400 naming it, same as a missing one.
        let unseen = app.call_as("whole", PW, "customers/create", &[("name", "X"), ("email", "x@y.z"), ("plan", "1"), ("parent", &b.to_string())]).await;
        let missing = app.call_as("whole", PW, "customers/create", &[("name", "X"), ("email", "x@y.z"), ("plan", "1"), ("parent", "999")]).await;
        unseen.expect_invalid(&["parent"]);
        assert_eq!(unseen.body, missing.body);
        let answer = app.call_as("whole", PW, "customers/create", &[("name", "A2"), ("email", "x@y.z"), ("plan", "1")]).await;
        let a2 = answer.expect("200").data()["id"].as_i64().unwrap();
        let row = app.admin("customers/get", &[("id", &a2.to_string())]).await;
        assert_eq!(row.data()["parent"], a, "parent defaults to the caller's customer");
        assert_eq!(row.data()["name"], "A2");
        assert!(row.data()["created"].as_i64().unwrap() > 0);
        // commerce is required to create customers.
        app.call_as("plain", PW, "customers/create", &[("name", "X"), ("email", "x@y.z"), ("plan", "1")]).await.expect("402");
        app.admin("customers/create", &[("name", ""), ("email", "nope"), ("plan", "7")]).await.expect_invalid(&["name", "email", "plan"]);
    }

    async fn people_rows_visibility_and_uniqueness(backend) {
        let app = TestApp::spawn(backend).await;
        let a = customer(&app, "A", 1).await;
        let b = customer(&app, "B", 1).await;
        let answer = app.admin("people/create", &[("username", "ann"), ("password", PW), ("role", "3"), ("customer", &a.to_string()),
            ("email", "ann@example.com"), ("forename", "Ann"), ("surname", "Lee")]).await;
        let ann = answer.expect("200").data()["id"].as_i64().unwrap();
        let row = app.admin("people/get", &[("id", &ann.to_string())]).await;
        let keys: Vec<&String> = row.data().as_object().unwrap().keys().collect();
        assert_eq!(keys, ["created", "customer", "email", "forename", "id", "role", "surname", "username"]);
        assert_eq!(row.data()["forename"], "Ann");
        let listed = app.admin("people/list", &[("customer", &a.to_string())]).await;
        assert_eq!(ids(&listed), [ann]);
        assert!(!listed.body.to_string().contains("argon2"));
        // The username is unique, whatever the customer.
        app.admin("people/create", &[("username", "ann"), ("password", PW), ("role", "4"), ("customer", &b.to_string())]).await.expect_invalid(&["username"]);
        // Every bad parameter at once, in table order.
        app.admin("people/create", &[("username", "has space"), ("password", "short"), ("role", "77"), ("customer", "999"), ("email", "x")]).await
            .expect_invalid(&["username", "password", "role", "customer", "email"]);
        // Ann sees her own customer's people, not another's.
        person(&app, "bob", 4, b).await;
        app.call_as("ann", PW, "people/list", &[("customer", &b.to_string())]).await.expect_invalid(&["customer"]);
        let bob = app.scalar_i64("SELECT id FROM people WHERE username = 'bob'").await;
        app.call_as("ann", PW, "people/get", &[("id", &bob.to_string())]).await.expect("404");
        app.call_as("ann", PW, "people/get", &[("id", &ann.to_string())]).await.expect("200");
        assert_eq!(app.call_as("ann", PW, "people/list", &[("count", "1")]).await.data()["count"], 1);
    }

    async fn no_one_grants_more_than_they_hold(backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, "admin3", 3, 1).await;
        // An administrator may create users and administrators...
        app.call_as("admin3", PW, "people/create", &[("username", "u1"), ("password", PW), ("role", "4")]).await.expect("200");
        app.call_as("admin3", PW, "people/create", &[("username", "u2"), ("password", PW), ("role", "3")]).await.expect("200");
        // ...but not a reseller or a system owner.
        app.call_as("admin3", PW, "people/create", &[("username", "u3"), ("password", PW), ("role", "2")]).await.expect("402");
        app.call_as("admin3", PW, "people/create", &[("username", "u4"), ("password", PW), ("role", "1")]).await.expect("402");
        // Read-only access cannot grant full access.
        let half = role(&app, &[("user", "1"), ("administrator", "1"), ("commerce", "2")]).await;
        let full_commerce = role(&app, &[("commerce", "1")]).await;
        let read_commerce = role(&app, &[("commerce", "2")]).await;
        person(&app, "half", half, 1).await;
        app.call_as("half", PW, "people/create", &[("username", "u5"), ("password", PW), ("role", &full_commerce.to_string())]).await.expect("402");
        app.call_as("half", PW, "people/create", &[("username", "u6"), ("password", PW), ("role", &read_commerce.to_string())]).await.expect("200");
        // Input errors (step 3) come before the escalation check (step 4).
        app.call_as("admin3", PW, "people/create", &[("username", "u7"), ("password", "short"), ("role", "1")]).await.expect_invalid(&["password"]);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM people WHERE username IN ('u3', 'u4', 'u5', 'u7')").await, 0);
    }

    async fn order_of_checks(backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, "user4", 4, 1).await;
        // 401 before 402 before 400.
        app.call_as("user4", "wrong-password", "customers/create", &[("name", "")]).await.expect("401");
        app.call_as("user4", PW, "customers/create", &[("name", "")]).await.expect("402");
        app.admin("customers/create", &[("name", "")]).await.expect_invalid(&["name", "email", "plan"]);
    }

    async fn validation_writes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let before = app.scalar_i64("SELECT COUNT(*) FROM people").await;
        app.admin("people/create", &[("username", "val"), ("password", PW), ("role", "4"), ("validation", "1")]).await.expect("201");
        app.admin("customers/create", &[("name", "V"), ("email", "v@x.y"), ("plan", "1"), ("validation", "1")]).await.expect("201");
        app.admin("plans/create", &[("name", "P"), ("validation", "1")]).await.expect("201");
        app.admin("roles/create", &[("name", "R"), ("validation", "1")]).await.expect("201");
        app.admin("plans/features/set", &[("plan", "1"), ("feature", "codes"), ("maximum", "0"), ("validation", "1")]).await.expect("201");
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM people").await, before);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM customers").await, 1);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM plans").await, 1);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM roles").await, 4);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM plan_features").await, 0);
        // Validation still reports conflicts.
        app.admin("people/create", &[("username", "admin"), ("password", PW), ("role", "4"), ("validation", "1")]).await.expect_invalid(&["username"]);
        app.admin("people/create", &[("username", "val2"), ("password", PW), ("role", "4"), ("validation", "2")]).await.expect_invalid(&["validation"]);
    }

    async fn racing_creates_of_one_username(backend) {
        let app = TestApp::spawn(backend).await;
        let attempts = (0..8).map(|_| app.admin("people/create", &[("username", "racer"), ("password", PW), ("role", "4")]));
        let answers = futures_util::future::join_all(attempts).await;
        let codes: Vec<&str> = answers.iter().map(|a| a.code()).collect();
        assert_eq!(codes.iter().filter(|c| **c == "200").count(), 1, "{codes:?}");
        for answer in answers.iter().filter(|a| a.code() != "200") {
            answer.expect_invalid(&["username"]);
        }
    }

    async fn plans_and_features(backend) {
        let app = TestApp::spawn(backend).await;
        let answer = app.admin("plans/create", &[("name", "Small")]).await;
        assert_eq!(answer.expect("200").data()["id"], 2);
        assert_eq!(ids(&app.admin("plans/list", &[]).await), [1, 2]);
        app.admin("plans/features/set", &[("plan", "2"), ("feature", "codes"), ("maximum", "5"), ("included", "2")]).await.expect("204");
        let got = app.get("plans/features/get", "plan=2;feature=codes").await;
        assert_eq!(got.data(), &serde_json::json!({"plan": 2, "feature": "codes", "included": 2, "maximum": 5}));
        // Setting again replaces; defaults are maximum -1, included 0.
        app.admin("plans/features/set", &[("plan", "2"), ("feature", "codes")]).await.expect("204");
        let got = app.get("plans/features/get", "plan=2;feature=codes").await;
        assert_eq!(got.data()["maximum"], -1);
        app.admin("plans/features/set", &[("plan", "9"), ("feature", "minutes"), ("maximum", "-2"), ("included", "-1")]).await
            .expect_invalid(&["plan", "feature", "maximum", "included"]);
        person(&app, "admin3", 3, 1).await;
        app.call_as("admin3", PW, "plans/create", &[("name", "x")]).await.expect("402");
        app.call_as("admin3", PW, "plans/list", &[]).await.expect("402");
        let c = customer(&app, "OnSmall", 1).await;
        let row = app.admin("customers/create", &[("name", "Y"), ("email", "y@y.y"), ("plan", "2"), ("parent", &c.to_string())]).await;
        row.expect("200");
    }
}

/// Inserts a minimal feature code row (the codes calls build on this).
async fn insert_code(
    tx: &mut switchyard::store::Tx,
    customer: i64,
    code: &str,
) -> Result<(), switchyard::store::StoreError> {
    switchyard::on_tx!(tx, |conn| {
        sqlx::query(
        "INSERT INTO codes (customer, code, dtype, dnumber, description, direct, fax_detect, fax_dtype, fax_dnumber, language, \
         maximum_seconds, music, owner, panel, password, play_message, recordgroup, ringtone, routing, screen, shared, sname, \
         sname_action, text_dtype, text_dnumber, update_routing, created) \
         VALUES ($1, $2, 'hangup', '', '', 0, 0, '', '', '', -1, 0, 0, 0, '', 0, 0, '', '', 0, 0, '', 'replace', 'none', '', 0, 0)"
    ).bind(customer).bind(code).execute(conn).await.map(|_| ())
    })?;
    Ok(())
}

/// `parallel` racing transactions each try to add one code under the plan gate; answers how many got in.
async fn race_for_codes(app: &TestApp, customer: i64, parallel: usize) -> usize {
    use switchyard::store::plans::{Allowance, Feature, allows_one_more};
    let attempts = (0..parallel).map(|i| {
        let db = app.store().clone();
        tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            if allows_one_more(&mut tx, customer, Feature::Codes).await.unwrap() != Allowance::Allowed {
                return false;
            }
            insert_code(&mut tx, customer, &format!("{i}")).await.unwrap();
            tx.commit().await.unwrap();
            true
        })
    });
    futures_util::future::join_all(attempts).await.into_iter().filter(|r| *r.as_ref().unwrap()).count()
}

both_databases! {
    async fn plan_limit_holds_under_concurrency(backend) {
        let app = TestApp::spawn_with(backend, |s| s.database.max_connections = 24).await;
        let plan = app.admin("plans/create", &[("name", "Limited")]).await.data()["id"].as_i64().unwrap();
        let plan_id = plan.to_string();
        let mut customers = Vec::new();
        for name in ["zero", "three", "any"] {
            let answer = app.admin("customers/create", &[("name", name), ("email", "a@b.c"), ("plan", &plan_id)]).await;
            customers.push(answer.expect("200").data()["id"].as_i64().unwrap());
        }
        let (c0, c3, unlimited) = (customers[0], customers[1], customers[2]);
        app.admin("plans/features/set", &[("plan", &plan.to_string()), ("feature", "codes"), ("maximum", "3")]).await.expect("204");
        assert_eq!(race_for_codes(&app, c3, 20).await, 3);
        assert_eq!(app.scalar_i64(&format!("SELECT COUNT(*) FROM codes WHERE customer = {c3}")).await, 3);
        app.admin("plans/features/set", &[("plan", &plan.to_string()), ("feature", "codes"), ("maximum", "0")]).await.expect("204");
        assert_eq!(race_for_codes(&app, c0, 5).await, 0);
        app.admin("plans/features/set", &[("plan", &plan.to_string()), ("feature", "codes"), ("maximum", "-1")]).await.expect("204");
        assert_eq!(race_for_codes(&app, unlimited, 20).await, 20);
    }
}
