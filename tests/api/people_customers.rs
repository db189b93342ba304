//! Managing people and customers: people/update, people/delete,
//! people/password, customers/update, customers/move, customers/delete, and
//! the `people` and `customers` plan features.

use crate::{
    both_databases,
    common::*,
    tenancy::{PW, customer, person, role},
};

const NEW_PW: &str = "brand-New-Password-2";

fn s(id: i64) -> String {
    id.to_string()
}

async fn audit_rows(app: &TestApp, call: &str) -> i64 {
    app.scalar_i64(&format!("SELECT COUNT(*) FROM audit WHERE call = '{call}'")).await
}

/// A plan owned by customer 1 with `feature` limited to `maximum`; answers its id.
async fn limited_plan(app: &TestApp, feature: &str, maximum: &str) -> String {
    let plan = app.admin("plans/create", &[("name", "Limited")]).await.expect("200").data()["id"].to_string();
    app.admin("plans/features/set", &[("plan", &plan), ("feature", feature), ("maximum", maximum)]).await.expect("204");
    plan
}

both_databases! {
    async fn people_update_changes_fields_role_and_customer(backend) {
        let app = TestApp::spawn(backend).await;
        let a = customer(&app, "A", 1).await;
        let a1 = customer(&app, "A1", a).await;
        let b = customer(&app, "B", 1).await;
        let res = person(&app, "res", 2, a).await; // Reseller of A: wholesale over A and A1
        let worker = person(&app, "worker", 4, a1).await;
        let other = person(&app, "other", 4, b).await;

        app.call_as("res", PW, "people/update", &[("id", &s(worker)), ("email", "w@example.com"), ("forename", "Wendy")]).await.expect("204");
        let row = app.admin("people/get", &[("id", &s(worker))]).await;
        assert_eq!(row.data()["email"], "w@example.com");
        assert_eq!(row.data()["forename"], "Wendy");
        assert_eq!(row.data()["surname"], "", "an absent field keeps its value");
        assert_eq!(row.data()["role"], 4);
        assert_eq!(audit_rows(&app, "people/update").await, 1);

        // Role: within the caller's privileges; one the caller lacks is 402.
        app.call_as("res", PW, "people/update", &[("id", &s(worker)), ("role", "3")]).await.expect("204");
        app.call_as("res", PW, "people/update", &[("id", &s(worker)), ("role", "1")]).await.expect("402");
        assert_eq!(app.admin("people/get", &[("id", &s(worker))]).await.data()["role"], 3);

        // Moving within what the caller writes in; elsewhere is 400, like a missing customer.
        app.call_as("res", PW, "people/update", &[("id", &s(worker)), ("customer", &s(a))]).await.expect("204");
        assert_eq!(app.admin("people/get", &[("id", &s(worker))]).await.data()["customer"], a);
        let unseen = app.call_as("res", PW, "people/update", &[("id", &s(worker)), ("customer", &s(b))]).await;
        let missing = app.call_as("res", PW, "people/update", &[("id", &s(worker)), ("customer", "999")]).await;
        unseen.expect_invalid(&["customer"]);
        assert_eq!(unseen.body, missing.body);

        // Every bad parameter at once, in table order.
        app.call_as("res", PW, "people/update", &[("id", &s(worker)), ("email", "nope"), ("surname", &"x".repeat(256)), ("role", "99")]).await
            .expect_invalid(&["email", "surname", "role"]);
        app.call_as("res", PW, "people/update", &[("email", "a@b.c")]).await.expect_invalid(&["id"]);

        // A person not seen is answered as one that does not exist.
        let hidden = app.call_as("res", PW, "people/update", &[("id", &s(other)), ("forename", "X")]).await;
        let absent = app.call_as("res", PW, "people/update", &[("id", "999"), ("forename", "X")]).await;
        hidden.expect("404");
        assert_eq!(hidden.body, absent.body);
        // A person whose role holds more than the caller is not theirs to change.
        app.call_as("res", PW, "people/update", &[("id", "1"), ("forename", "X")]).await.expect("404");
        let admin3 = person(&app, "admin3", 3, 1).await;
        app.call_as("admin3", PW, "people/update", &[("id", "1"), ("forename", "X")]).await.expect("402");
        app.call_as("admin3", PW, "people/update", &[("id", &s(admin3)), ("forename", "Me")]).await.expect("204");
        // A plain user may not update people at all.
        person(&app, "plain", 4, a).await;
        app.call_as("plain", PW, "people/update", &[("id", &s(res)), ("forename", "X")]).await.expect("402");

        // validation=1 checks and writes nothing.
        app.call_as("res", PW, "people/update", &[("id", &s(worker)), ("forename", "Nobody"), ("validation", "1")]).await.expect("201");
        assert_eq!(app.admin("people/get", &[("id", &s(worker))]).await.data()["forename"], "Wendy");
        assert_eq!(audit_rows(&app, "people/update").await, 4);
    }

    async fn people_update_keeps_a_system_owner(backend) {
        let app = TestApp::spawn(backend).await;
        let c = customer(&app, "C", 1).await;
        // The only system owner cannot demote themself, nor be moved out of customer 1.
        app.admin("people/update", &[("id", "1"), ("role", "2")]).await.expect_invalid(&["role"]);
        app.admin("people/update", &[("id", "1"), ("customer", &s(c))]).await.expect_invalid(&["customer"]);
        assert_eq!(app.admin("people/get", &[("id", "1")]).await.data()["role"], 1);
        // With a second one, the first is stepped down by the second: no one
        // changes their own role or customer, so no call takes away the access
        // it was made with.
        let second = person(&app, "second", 1, 1).await;
        let own = app.admin("people/update", &[("id", "1"), ("role", "2")]).await;
        own.expect_invalid(&["role"]);
        assert!(own.body["responses"][0]["message"].as_str().unwrap().contains("own role"), "{}", own.body);
        app.admin("people/update", &[("id", "1"), ("customer", &s(c))]).await.expect_invalid(&["customer"]);
        // Naming one's own role and customer again changes nothing and is fine.
        app.admin("people/update", &[("id", "1"), ("role", "1"), ("customer", "1"), ("forename", "Ada")]).await.expect("204");
        app.call_as("second", PW, "people/update", &[("id", "1"), ("role", "2")]).await.expect("204");
        assert_eq!(app.call_as("second", PW, "people/get", &[("id", "1")]).await.expect("200").data()["role"], 2);
        app.call_as("second", PW, "people/update", &[("id", &s(second)), ("role", "3")]).await.expect_invalid(&["role"]);
    }

    async fn people_delete_rules(backend) {
        let app = TestApp::spawn(backend).await;
        let a = customer(&app, "A", 1).await;
        let b = customer(&app, "B", 1).await;
        person(&app, "res", 2, a).await;
        let mine = person(&app, "mine", 4, a).await;
        let theirs = person(&app, "theirs", 4, b).await;

        // Oneself: 400.
        app.admin("people/delete", &[("id", "1")]).await.expect_invalid(&["id"]);
        // Not seen: 404, as absent.
        let hidden = app.call_as("res", PW, "people/delete", &[("id", &s(theirs))]).await;
        let absent = app.call_as("res", PW, "people/delete", &[("id", "999")]).await;
        hidden.expect("404");
        assert_eq!(hidden.body, absent.body);
        // A person holding more than the caller: 402.
        person(&app, "admin3", 3, 1).await;
        app.call_as("admin3", PW, "people/delete", &[("id", "1")]).await.expect("402");
        // validation=1 deletes nothing; then the delete.
        app.call_as("res", PW, "people/delete", &[("id", &s(mine)), ("validation", "1")]).await.expect("201");
        app.call_as("res", PW, "people/delete", &[("id", &s(mine))]).await.expect("204");
        app.admin("people/get", &[("id", &s(mine))]).await.expect("404");
        app.call_as("mine", PW, "people/list", &[]).await.expect("401");
        assert_eq!(audit_rows(&app, "people/delete").await, 1);

        // The last system owner cannot be deleted, whoever asks.
        let second = person(&app, "second", 1, 1).await;
        let third = person(&app, "third", 1, 1).await;
        // A system person outside customer 1 does not own the system.
        person(&app, "outsider", 1, a).await;
        app.call_as("second", PW, "people/delete", &[("id", "1")]).await.expect("204");
        app.call_as("third", PW, "people/delete", &[("id", &s(second))]).await.expect("204");
        let last = app.call_as("outsider", PW, "people/delete", &[("id", &s(third))]).await;
        last.expect_invalid(&["id"]);
        assert!(last.body["responses"][0]["message"].as_str().unwrap().contains("last system owner"), "{}", last.body);
        app.call_as("third", PW, "people/get", &[("id", &s(third))]).await.expect("200");
        assert_eq!(audit_rows(&app, "people/delete").await, 3);
    }

    async fn people_password_own_and_administered(backend) {
        let app = TestApp::spawn(backend).await;
        let a = customer(&app, "A", 1).await;
        let b = customer(&app, "B", 1).await;
        person(&app, "res", 2, a).await;
        let worker = person(&app, "worker", 4, a).await;
        let colleague = person(&app, "colleague", 4, a).await;
        let stranger = person(&app, "stranger", 4, b).await;

        // One's own: the current password is required and checked.
        app.call_as("worker", PW, "people/password", &[("password", NEW_PW)]).await.expect_invalid(&["old_password"]);
        app.call_as("worker", PW, "people/password", &[("old_password", "wrong-password"), ("password", NEW_PW)]).await.expect_invalid(&["old_password"]);
        app.call_as("worker", PW, "people/password", &[("old_password", PW), ("password", "short")]).await.expect_invalid(&["password"]);
        app.call_as("worker", PW, "people/password", &[("old_password", PW), ("password", NEW_PW), ("validation", "1")]).await.expect("201");
        // Proven (and so cached) several times just before the change.
        for _ in 0..3 {
            app.call_as("worker", PW, "people/get", &[("id", &s(worker))]).await.expect("200");
        }
        app.call_as("worker", PW, "people/password", &[("id", &s(worker)), ("old_password", PW), ("password", NEW_PW)]).await.expect("204");
        app.call_as("worker", PW, "people/get", &[("id", &s(worker))]).await.expect("401");
        app.call_as("worker", NEW_PW, "people/get", &[("id", &s(worker))]).await.expect("200");
        assert_eq!(audit_rows(&app, "people/password").await, 1);
        let audited = app.scalar_text("SELECT object FROM audit WHERE call = 'people/password'").await;
        assert!(!audited.contains(NEW_PW) && !audited.contains(PW), "no password in the audit row: {audited}");

        // A plain user may not set a colleague's password.
        app.call_as("worker", NEW_PW, "people/password", &[("id", &s(colleague)), ("password", NEW_PW)]).await.expect("402");
        // An administrator over them sets it without the old one, and may not send one.
        app.call_as("colleague", PW, "people/list", &[]).await.expect("200");
        app.call_as("res", PW, "people/password", &[("id", &s(colleague)), ("old_password", PW), ("password", NEW_PW)]).await.expect_invalid(&["old_password"]);
        app.call_as("res", PW, "people/password", &[("id", &s(colleague)), ("password", NEW_PW)]).await.expect("204");
        let audited = app.scalar_text("SELECT object FROM audit WHERE call = 'people/password' ORDER BY id DESC LIMIT 1").await;
        assert_eq!(audited, format!("{{\"id\":\"{colleague}\"}}"), "the audit row names whose password");
        app.call_as("colleague", PW, "people/list", &[]).await.expect("401");
        app.call_as("colleague", NEW_PW, "people/list", &[]).await.expect("200");
        // Not seen: 404 as absent; holding more than the caller: 402.
        let hidden = app.call_as("res", PW, "people/password", &[("id", &s(stranger)), ("password", NEW_PW)]).await;
        let absent = app.call_as("res", PW, "people/password", &[("id", "999"), ("password", NEW_PW)]).await;
        hidden.expect("404");
        assert_eq!(hidden.body, absent.body);
        person(&app, "admin3", 3, 1).await;
        app.call_as("admin3", PW, "people/password", &[("id", "1"), ("password", NEW_PW)]).await.expect("402");
        app.admin("people/list", &[]).await.expect("200");
        // The system owner sets anyone's.
        app.admin("people/password", &[("id", &s(stranger)), ("password", NEW_PW)]).await.expect("204");
        app.call_as("stranger", NEW_PW, "people/list", &[]).await.expect("200");
    }

    async fn customers_update_rules(backend) {
        let app = TestApp::spawn(backend).await;
        let r = customer(&app, "R", 1).await;
        let c = customer(&app, "C", r).await;
        let other = customer(&app, "Other", 1).await;
        person(&app, "res", 2, r).await;
        let gold = app.call_as("res", PW, "plans/create", &[("name", "R gold")]).await.expect("200").data()["id"].to_string();
        let foreign = app.admin("plans/create", &[("name", "Other's"), ("customer", &s(other))]).await.expect("200").data()["id"].to_string();

        app.call_as("res", PW, "customers/update", &[("id", &s(c)), ("name", "C renamed"), ("plan", &gold)]).await.expect("204");
        let row = app.admin("customers/get", &[("id", &s(c))]).await;
        assert_eq!(row.data()["name"], "C renamed");
        assert_eq!(row.data()["email"], "ops@example.com", "an absent field keeps its value");
        assert_eq!(row.data()["plan"].to_string(), gold);
        assert_eq!(audit_rows(&app, "customers/update").await, 1);

        // A plan the caller may not give is answered as one that does not exist.
        app.call_as("res", PW, "customers/update", &[("id", &s(c)), ("plan", &foreign)]).await.expect_invalid(&["plan"]);
        app.call_as("res", PW, "customers/update", &[("id", &s(c)), ("name", ""), ("email", ""), ("plan", "999")]).await
            .expect_invalid(&["name", "email", "plan"]);
        // Never its own plan: 402; the same plan again changes nothing and is fine.
        app.call_as("res", PW, "customers/update", &[("id", &s(r)), ("plan", &gold)]).await.expect("402");
        app.call_as("res", PW, "customers/update", &[("id", &s(r)), ("plan", "1"), ("email", "r@example.com")]).await.expect("204");
        app.admin("customers/update", &[("id", "1"), ("plan", &gold)]).await.expect("402");
        assert_eq!(app.admin("customers/get", &[("id", &s(r))]).await.data()["plan"], 1);
        // Not seen: 404, as absent; commerce is required.
        let hidden = app.call_as("res", PW, "customers/update", &[("id", &s(other)), ("name", "X")]).await;
        let absent = app.call_as("res", PW, "customers/update", &[("id", "999"), ("name", "X")]).await;
        hidden.expect("404");
        assert_eq!(hidden.body, absent.body);
        person(&app, "admin3", 3, r).await;
        app.call_as("admin3", PW, "customers/update", &[("id", &s(r)), ("name", "X")]).await.expect("402");
    }

    async fn customers_move_rules(backend) {
        let app = TestApp::spawn(backend).await;
        let r1 = customer(&app, "R1", 1).await;
        let r2 = customer(&app, "R2", 1).await;
        let c = customer(&app, "C", r1).await;
        let cc = customer(&app, "CC", c).await;
        person(&app, "res1", 2, r1).await;
        person(&app, "res2", 2, r2).await;
        let plan2 = app.call_as("res2", PW, "plans/create", &[("name", "R2 plan")]).await.expect("200").data()["id"].to_string();

        // System only.
        app.call_as("res1", PW, "customers/move", &[("id", &s(c)), ("parent", &s(r2)), ("plan", "1")]).await.expect("402");
        // Refusals.
        app.admin("customers/move", &[("id", "1"), ("parent", &s(r1)), ("plan", "1")]).await.expect_invalid(&["id"]);
        app.admin("customers/move", &[("id", &s(c)), ("parent", &s(c)), ("plan", "1")]).await.expect_invalid(&["parent"]);
        app.admin("customers/move", &[("id", &s(c)), ("parent", &s(cc)), ("plan", "1")]).await.expect_invalid(&["parent"]);
        app.admin("customers/move", &[("id", &s(c)), ("parent", "999"), ("plan", "999")]).await.expect_invalid(&["parent", "plan"]);
        app.admin("customers/move", &[("id", &s(c))]).await.expect_invalid(&["parent", "plan"]);
        app.admin("customers/move", &[("id", "999"), ("parent", &s(r2)), ("plan", "1")]).await.expect("404");
        assert_eq!(app.admin("customers/get", &[("id", &s(c))]).await.data()["parent"], r1);

        // The move: C (and CC beneath it) now belong to R2's tree.
        app.admin("customers/move", &[("id", &s(c)), ("parent", &s(r2)), ("plan", &plan2)]).await.expect("204");
        let row = app.admin("customers/get", &[("id", &s(c))]).await;
        assert_eq!(row.data()["parent"], r2);
        assert_eq!(row.data()["plan"].to_string(), plan2);
        app.call_as("res1", PW, "customers/get", &[("id", &s(cc))]).await.expect("404");
        app.call_as("res2", PW, "customers/get", &[("id", &s(cc))]).await.expect("200");
        assert_eq!(audit_rows(&app, "customers/move").await, 1);
        // A customer may move under a former descendant's sibling, and back.
        app.admin("customers/move", &[("id", &s(r1)), ("parent", &s(cc)), ("plan", "1")]).await.expect("204");
        app.admin("customers/move", &[("id", &s(c)), ("parent", &s(r1)), ("plan", "1")]).await.expect_invalid(&["parent"]);
    }

    async fn customers_delete_refused_while_something_is_left(backend) {
        let app = TestApp::spawn(backend).await;
        let r = customer(&app, "R", 1).await;
        let c = customer(&app, "C", r).await;
        let cc = customer(&app, "CC", c).await;
        let other = customer(&app, "Other", 1).await;
        person(&app, "res", 2, r).await;
        person(&app, "c-user", 4, c).await;
        person(&app, "c-user2", 4, c).await;
        app.admin("codes/create", &[("code", "*1"), ("dtype", "phone"), ("dnumber", "100"), ("customer", &s(c))]).await.expect("204");
        app.admin("classes/create", &[("name", "Geo")]).await.expect("200");
        app.admin("ingroups/create", &[("name", "Main")]).await.expect("200");
        app.admin("numbers/system/create", &[("start", "2125550100"), ("end", "2125550101"), ("class", "1"), ("ingroup", "1")]).await.expect("200");
        app.admin("numbers/purchase", &[("number", "2125550100"), ("customer", &s(c))]).await.expect("204");

        let refused = app.call_as("res", PW, "customers/delete", &[("id", &s(c))]).await;
        refused.expect_invalid(&["id"]);
        assert_eq!(
            refused.body["responses"][0]["message"],
            "This customer still has 1 child customer, 2 people, 1 feature code and 1 number. Delete them first, or (system) delete with recursive=1."
        );
        // Recursive needs system with full access: 402; customer 1 never; unseen 404.
        app.call_as("res", PW, "customers/delete", &[("id", &s(c)), ("recursive", "1")]).await.expect("402");
        app.admin("customers/delete", &[("id", "1"), ("recursive", "1")]).await.expect_invalid(&["id"]);
        let hidden = app.call_as("res", PW, "customers/delete", &[("id", &s(other))]).await;
        let absent = app.call_as("res", PW, "customers/delete", &[("id", "999")]).await;
        hidden.expect("404");
        assert_eq!(hidden.body, absent.body);
        // One's own customer: 400.
        app.call_as("res", PW, "customers/delete", &[("id", &s(r))]).await.expect_invalid(&["id"]);
        // A leaf with only groups goes, groups and all.
        app.admin("music/create", &[("name", "Jazz"), ("customer", &s(cc))]).await.expect("200");
        app.call_as("res", PW, "customers/delete", &[("id", &s(cc)), ("validation", "1")]).await.expect("201");
        app.call_as("res", PW, "customers/delete", &[("id", &s(cc))]).await.expect("204");
        app.admin("customers/get", &[("id", &s(cc))]).await.expect("404");
        assert_eq!(app.scalar_i64(&format!("SELECT COUNT(*) FROM music WHERE customer = {cc}")).await, 0);
        let refused = app.call_as("res", PW, "customers/delete", &[("id", &s(c))]).await;
        refused.expect_invalid(&["id"]);
        assert_eq!(
            refused.body["responses"][0]["message"],
            "This customer still has 2 people, 1 feature code and 1 number. Delete them first, or (system) delete with recursive=1."
        );
        assert_eq!(audit_rows(&app, "customers/delete").await, 1);
    }

    async fn customers_delete_recursive_takes_the_subtree_and_releases_numbers(backend) {
        let app = TestApp::spawn(backend).await;
        let r = customer(&app, "R", 1).await;
        let c = customer(&app, "C", r).await;
        let cc = customer(&app, "CC", c).await;
        let keep = customer(&app, "Keep", 1).await;
        person(&app, "c-user", 4, c).await;
        person(&app, "cc-user", 4, cc).await;
        person(&app, "keeper", 4, keep).await;
        app.admin("codes/create", &[("code", "*1"), ("dtype", "phone"), ("dnumber", "100"), ("customer", &s(cc))]).await.expect("204");
        app.admin("codes/create", &[("code", "*1"), ("dtype", "phone"), ("dnumber", "100"), ("customer", &s(keep))]).await.expect("204");
        for (call, name) in [("music/create", "M"), ("timegroups/create", "T"), ("recording/groups/create", "G")] {
            app.admin(call, &[("name", name), ("customer", &s(c))]).await.expect("200");
            app.admin(call, &[("name", name), ("customer", &s(keep))]).await.expect("200");
        }
        app.admin("classes/create", &[("name", "Geo")]).await.expect("200");
        app.admin("ingroups/create", &[("name", "Main")]).await.expect("200");
        app.admin("numbers/system/create", &[("start", "2125550100"), ("end", "2125550103"), ("class", "1"), ("ingroup", "1")]).await.expect("200");
        for (number, owner) in [("2125550100", c), ("2125550101", cc), ("2125550102", keep)] {
            app.admin("numbers/purchase", &[("number", number), ("customer", &s(owner))]).await.expect("204");
        }
        app.admin("numbers/update", &[("number", "2125550101"), ("customer", &s(cc)), ("dtype", "phone"), ("dnumber", "442071234567")]).await.expect("204");

        // Something outside routes to a number inside (the API only routes to
        // one's own numbers, but a number can change hands later): refused,
        // naming it, and nothing is deleted.
        app.exec(&format!("UPDATE codes SET dtype = 'number', dnumber = '2125550100' WHERE customer = {keep}")).await;
        let refused = app.admin("customers/delete", &[("id", &s(c)), ("recursive", "1")]).await;
        refused.expect_invalid(&["id"]);
        assert_eq!(
            refused.body["responses"][0]["message"],
            "Feature codes route to numbers of these customers: *1. Change their destinations first."
        );
        app.admin("customers/get", &[("id", &s(cc))]).await.expect("200");
        app.admin("codes/update", &[("code", "*1"), ("customer", &s(keep)), ("dtype", "phone"), ("dnumber", "100")]).await.expect("204");

        app.admin("customers/delete", &[("id", &s(c)), ("recursive", "1"), ("validation", "1")]).await.expect("201");
        app.admin("customers/get", &[("id", &s(cc))]).await.expect("200");
        let deleted = app.admin("customers/delete", &[("id", &s(c)), ("recursive", "1")]).await;
        assert_eq!(deleted.data(), &serde_json::json!({"customers": 2, "people": 2, "codes": 1, "numbers": 2}));
        for id in [c, cc] {
            app.admin("customers/get", &[("id", &s(id))]).await.expect("404");
        }
        app.admin("customers/get", &[("id", &s(r))]).await.expect("200");
        app.call_as("cc-user", PW, "people/list", &[]).await.expect("401");
        for table in ["people", "codes", "music", "timegroups", "recordgroups"] {
            let left = app.scalar_i64(&format!("SELECT COUNT(*) FROM {table} WHERE customer IN ({c}, {cc})")).await;
            assert_eq!(left, 0, "{table}");
            let kept = app.scalar_i64(&format!("SELECT COUNT(*) FROM {table} WHERE customer = {keep}")).await;
            assert_eq!(kept, 1, "{table} of another customer");
        }
        // The numbers are back in the pool, their routing gone.
        for number in ["2125550100", "2125550101"] {
            assert_eq!(app.admin("numbers/system/get", &[("number", number)]).await.data()["customer"], 0);
        }
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM number_routes WHERE number IN ('2125550100', '2125550101')").await, 0);
        assert_eq!(app.admin("numbers/system/get", &[("number", "2125550102")]).await.data()["customer"], keep);
        app.admin("numbers/purchase", &[("number", "2125550101"), ("customer", &s(keep))]).await.expect("204");
        assert_eq!(audit_rows(&app, "customers/delete").await, 1);
    }

    async fn plan_limits_people_and_customers(backend) {
        let app = TestApp::spawn(backend).await;
        let people_plan = limited_plan(&app, "people", "1").await;
        let c = app.admin("customers/create", &[("name", "C"), ("email", "c@example.com"), ("plan", &people_plan)]).await
            .expect("200").data()["id"].as_i64().unwrap();
        let get = app.get("plans/features/get", &format!("plan={people_plan};feature=people")).await;
        assert_eq!(get.data()["maximum"], 1);
        person(&app, "first", 4, c).await;
        app.admin("people/create", &[("username", "second"), ("password", PW), ("role", "4"), ("customer", &s(c))]).await.expect("403");
        // Moving a person in is adding one.
        let elsewhere = person(&app, "elsewhere", 4, 1).await;
        app.admin("people/update", &[("id", &s(elsewhere)), ("customer", &s(c))]).await.expect("403");

        // Customers: the direct children of the parent, against the parent's plan.
        let customers_plan = limited_plan(&app, "customers", "2").await;
        let p = app.admin("customers/create", &[("name", "P"), ("email", "p@example.com"), ("plan", &customers_plan)]).await
            .expect("200").data()["id"].as_i64().unwrap();
        let child = customer(&app, "child1", p).await;
        customer(&app, "child2", p).await;
        // Grandchildren count under their own parent (on plan 1: no limit).
        customer(&app, "grandchild", child).await;
        let third = [("name", "child3"), ("email", "x@example.com"), ("plan", "1"), ("parent", &s(p))];
        app.admin("customers/create", &third).await.expect("403");
        let other = customer(&app, "Other", 1).await;
        app.admin("customers/move", &[("id", &s(other)), ("parent", &s(p)), ("plan", "1")]).await.expect("403");
        app.admin("plans/features/set", &[("plan", &customers_plan), ("feature", "customers"), ("maximum", "3")]).await.expect("204");
        app.admin("customers/create", &third).await.expect("200");
        app.admin("plans/features/set", &[("plan", &customers_plan), ("feature", "minutes")]).await.expect_invalid(&["feature"]);
    }

    async fn racing_people_creates_obey_the_plan(backend) {
        let app = TestApp::spawn(backend).await;
        let plan = limited_plan(&app, "people", "3").await;
        let c = app.admin("customers/create", &[("name", "C"), ("email", "c@example.com"), ("plan", &plan)]).await
            .expect("200").data()["id"].to_string();
        let names: Vec<String> = (0..20).map(|i| format!("racer{i}")).collect();
        let (app, c) = (&app, &c);
        let attempts = names.iter().map(|name| async move {
            app.admin("people/create", &[("username", name), ("password", PW), ("role", "4"), ("customer", c)]).await
        });
        let answers = futures_util::future::join_all(attempts).await;
        assert_eq!(answers.iter().filter(|a| a.code() == "200").count(), 3);
        for answer in answers.iter().filter(|a| a.code() != "200") {
            answer.expect("403");
        }
        assert_eq!(app.scalar_i64(&format!("SELECT COUNT(*) FROM people WHERE customer = {c}")).await, 3);
    }

    async fn read_only_system_cannot_move_or_delete_recursively(backend) {
        let app = TestApp::spawn(backend).await;
        let c = customer(&app, "C", 1).await;
        let auditor = role(&app, &[("system", "2"), ("commerce", "1"), ("administrator", "1"), ("user", "1")]).await;
        person(&app, "auditor", auditor, 1).await;
        app.call_as("auditor", PW, "customers/move", &[("id", &s(c)), ("parent", "1"), ("plan", "1")]).await.expect("402");
        // Read-only system does not widen where writes land: C is not theirs to delete.
        app.call_as("auditor", PW, "customers/delete", &[("id", &s(c)), ("recursive", "1")]).await.expect("404");
        app.call_as("auditor", PW, "customers/get", &[("id", &s(c))]).await.expect("200");
    }

    async fn a_plan_is_given_only_below_its_owner(backend) {
        let app = TestApp::spawn(backend).await;
        let r = customer(&app, "Reseller", 1).await;
        person(&app, "plan-res", 2, r).await;
        let own = app.call_as("plan-res", PW, "plans/create", &[("name", "Reseller gold")]).await;
        let own = s(own.data()["id"].as_i64().unwrap());
        let fields = |parent: i64, plan: &str| {
            vec![("name", "C".to_string()), ("email", "c@example.com".into()), ("plan", plan.into()), ("parent", s(parent))]
        };
        let create = |parent: i64, plan: &str| {
            let params = fields(parent, plan);
            let app = &app;
            async move {
                let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.admin("customers/create", &borrowed).await
            }
        };
        // Even the system owner cannot put a customer outside the reseller's tree on its plan.
        create(1, &own).await.expect_invalid(&["plan"]);
        let child = create(r, &own).await.data()["id"].as_i64().unwrap();
        let elsewhere = create(1, "1").await.data()["id"].as_i64().unwrap();
        app.admin("customers/update", &[("id", &s(elsewhere)), ("plan", &own)]).await.expect_invalid(&["plan"]);
        app.admin("customers/update", &[("id", &s(child)), ("name", "Renamed")]).await.expect("204");
        app.admin("customers/move", &[("id", &s(child)), ("parent", "1"), ("plan", &own)]).await.expect_invalid(&["plan"]);
        app.admin("customers/move", &[("id", &s(child)), ("parent", "1"), ("plan", "1")]).await.expect("204");
    }

    async fn a_balance_stays_within_its_bound(backend) {
        let app = TestApp::spawn(backend).await;
        let c = customer(&app, "Rich", 1).await;
        // Close to the bound of 10^13 units (in ten-thousandths).
        app.exec(&format!(
            "INSERT INTO ledger (customer, type, amount, class, count, batch, number, description, person, created) \
             VALUES ({c}, 'credit', 99999999999990000, 0, 0, 0, '', '', 1, 0)"
        ))
        .await;
        let add = |amount: &'static str| {
            let app = &app;
            async move { app.admin("customers/balance/add", &[("customer", &s(c)), ("amount", amount)]).await }
        };
        add("1000000").await.expect_invalid(&["amount"]);
        add("0.5").await.expect("204");
        let balance = app.admin("customers/balance/get", &[("customer", &s(c))]).await;
        assert_eq!(balance.data()["balance"], "9999999999999.5000");
    }
}
