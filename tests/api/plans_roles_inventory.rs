//! get, update and delete of rate plans, roles, the number inventory's
//! classes, inbound groups and regions, and the groups feature codes refer
//! to: accepted and refused input, privileges, visibility, deletes refused
//! while something refers to the object, and a delete racing a writer.

use crate::{
    both_databases,
    common::*,
    tenancy::{PW, customer, person},
};
use serde_json::{Value, json};

fn id_of(answer: &Answer) -> i64 {
    answer.expect("200").data()["id"].as_i64().unwrap()
}

/// The message of a one-entry 400 on `key`.
fn refusal(answer: &Answer, key: &str) -> String {
    answer.expect_invalid(&[key]);
    answer.body["responses"][0]["message"].as_str().unwrap().to_string()
}

/// The answered row without `created` (a clock value).
fn row(answer: &Answer) -> Value {
    let mut row = answer.expect("200").data().clone();
    assert!(row["created"].as_i64().unwrap() > 1_700_000_000);
    row.as_object_mut().unwrap().remove("created");
    row
}

async fn audited(app: &TestApp, call: &str) -> i64 {
    app.scalar_i64(&format!("SELECT COUNT(*) FROM audit WHERE call = '{call}'")).await
}

both_databases! {
    async fn plans_get_update_delete_follow_plan_ownership(backend) {
        let app = TestApp::spawn(backend).await;
        let gold = id_of(&app.admin("plans/create", &[("name", "Gold")]).await);
        let got = app.admin("plans/get", &[("id", &gold.to_string())]).await;
        assert_eq!(row(&got), json!({"id": gold, "name": "Gold", "customer": 1}));
        app.admin("plans/get", &[("id", "99")]).await.expect("404");
        assert_eq!(app.admin("plans/get", &[("id", "99")]).await.body["responses"][0]["message"], "The rate plan does not exist.");
        app.admin("plans/get", &[("id", "x")]).await.expect_invalid(&["id"]);
        app.admin("plans/get", &[]).await.expect_invalid(&["id"]);

        // A reseller sees its own plans and those above it, not another's.
        let r = customer(&app, "Reseller", 1).await;
        let other = customer(&app, "Other", 1).await;
        person(&app, "reseller", 2, r).await;
        let own = id_of(&app.call_as("reseller", PW, "plans/create", &[("name", "R gold")]).await);
        let theirs = id_of(&app.admin("plans/create", &[("name", "Theirs"), ("customer", &other.to_string())]).await);
        let as_reseller = |call: &'static str, params: Vec<(&'static str, String)>| {
            let app = &app;
            async move {
                let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.call_as("reseller", PW, call, &params).await
            }
        };
        as_reseller("plans/get", vec![("id", own.to_string())]).await.expect("200");
        as_reseller("plans/get", vec![("id", "1".into())]).await.expect("200");
        as_reseller("plans/get", vec![("id", gold.to_string())]).await.expect("200");
        let unseen = as_reseller("plans/get", vec![("id", theirs.to_string())]).await;
        unseen.expect("404");
        assert_eq!(unseen.body, app.admin("plans/get", &[("id", "99")]).await.body, "unseen reads as absent");
        // A user without commerce may not read plans.
        person(&app, "plain", 4, r).await;
        app.call_as("plain", PW, "plans/get", &[("id", &own.to_string())]).await.expect("402");

        // Update: only plans the caller may change; a name may not be empty.
        as_reseller("plans/update", vec![("id", own.to_string()), ("name", "R platinum".into())]).await.expect("204");
        assert_eq!(as_reseller("plans/get", vec![("id", own.to_string())]).await.data()["name"], "R platinum");
        as_reseller("plans/update", vec![("id", "1".into()), ("name", "Mine".into())]).await.expect("404");
        as_reseller("plans/update", vec![("id", theirs.to_string()), ("name", "Mine".into())]).await.expect("404");
        as_reseller("plans/update", vec![("id", own.to_string()), ("name", "".into())]).await.expect_invalid(&["name"]);
        as_reseller("plans/update", vec![("id", own.to_string())]).await.expect("204");
        assert_eq!(as_reseller("plans/get", vec![("id", own.to_string())]).await.data()["name"], "R platinum", "absent keeps");
        app.admin("plans/update", &[("id", "99"), ("name", "x")]).await.expect("404");
        app.admin("plans/update", &[("id", "1"), ("name", "Default plan")]).await.expect("204");
        assert_eq!(app.admin("plans/get", &[("id", "1")]).await.data()["name"], "Default plan");
        assert_eq!(audited(&app, "plans/update").await, 3);
        app.admin("plans/update", &[("id", "1"), ("name", "v"), ("validation", "1")]).await.expect("201");
        assert_eq!(app.admin("plans/get", &[("id", "1")]).await.data()["name"], "Default plan");

        // Delete: never plan 1, not while a customer is on it, and its limits go with it.
        assert!(refusal(&app.admin("plans/delete", &[("id", "1")]).await, "id").contains("cannot be deleted"));
        app.call_as("reseller", PW, "customers/create", &[("name", "C"), ("email", "c@example.com"), ("plan", &own.to_string())]).await.expect("200");
        let used = as_reseller("plans/delete", vec![("id", own.to_string())]).await;
        assert_eq!(refusal(&used, "id"), "This rate plan is used by 1 customer.");
        as_reseller("plans/delete", vec![("id", theirs.to_string())]).await.expect("404");
        app.admin("plans/features/set", &[("plan", &gold.to_string()), ("feature", "codes"), ("maximum", "3")]).await.expect("204");
        app.admin("plans/delete", &[("id", &gold.to_string()), ("validation", "1")]).await.expect("201");
        app.admin("plans/get", &[("id", &gold.to_string())]).await.expect("200");
        app.admin("plans/delete", &[("id", &gold.to_string())]).await.expect("204");
        app.admin("plans/get", &[("id", &gold.to_string())]).await.expect("404");
        assert_eq!(app.scalar_i64(&format!("SELECT COUNT(*) FROM plan_features WHERE plan = {gold}")).await, 0);
        app.admin("plans/delete", &[("id", &gold.to_string())]).await.expect("404");
        assert_eq!(audited(&app, "plans/delete").await, 1);
    }

    async fn plans_features_maximum_reads_the_customers_plan(backend) {
        let app = TestApp::spawn(backend).await;
        let gold = id_of(&app.admin("plans/create", &[("name", "Gold")]).await);
        app.admin("plans/features/set", &[("plan", &gold.to_string()), ("feature", "codes"), ("maximum", "5")]).await.expect("204");
        let c = id_of(&app.admin("customers/create", &[("name", "C"), ("email", "c@example.com"), ("plan", &gold.to_string())]).await);
        let other = customer(&app, "Other", 1).await;
        person(&app, "cuser", 4, c).await;
        let maximum = |feature: &'static str| {
            let app = &app;
            async move { app.call_as("cuser", PW, "plans/features/maximum", &[("feature", feature)]).await }
        };
        assert_eq!(maximum("codes").await.expect("200").data(), &json!({"maximum": 5}));
        assert_eq!(maximum("numbers").await.expect("200").data(), &json!({"maximum": -1}), "a plan that sets none: -1");
        maximum("unicorns").await.expect_invalid(&["feature"]);
        app.call_as("cuser", PW, "plans/features/maximum", &[]).await.expect_invalid(&["feature"]);
        app.call_as("cuser", PW, "plans/features/maximum", &[("feature", "codes"), ("customer", &other.to_string())]).await
            .expect_invalid(&["customer"]);
        let seen = app.admin("plans/features/maximum", &[("feature", "codes"), ("customer", &c.to_string())]).await;
        assert_eq!(seen.expect("200").data()["maximum"], 5);
        assert_eq!(app.admin("plans/features/maximum", &[("feature", "codes")]).await.expect("200").data()["maximum"], -1);
        app.admin("plans/features/maximum", &[("feature", "codes"), ("customer", "999")]).await.expect_invalid(&["customer"]);
        app.call_as("cuser", "wrong-Password-1", "plans/features/maximum", &[("feature", "codes")]).await.expect("401");
    }

    async fn plan_features_unknown_plan_is_400_and_an_unset_feature_404(backend) {
        let app = TestApp::spawn(backend).await;
        app.get("plans/features/get", "plan=99;feature=codes").await.expect_invalid(&["plan"]);
        app.get("plans/features/list", "plan=99").await.expect_invalid(&["plan"]);
        app.get("plans/features/get", "plan=99;feature=nope").await.expect_invalid(&["plan", "feature"]);
        let unset = app.get("plans/features/get", "plan=1;feature=codes").await;
        unset.expect("404");
        assert_eq!(unset.body["responses"][0]["message"], "The rate plan does not set this feature.");
        assert_eq!(app.get("plans/features/list", "plan=1").await.expect("200").data(), &json!([]));
        app.admin("plans/features/set", &[("plan", "1"), ("feature", "numbers"), ("maximum", "4")]).await.expect("204");
        let set = app.get("plans/features/get", "plan=1;feature=numbers").await;
        assert_eq!(set.expect("200").data(), &json!({"plan": 1, "feature": "numbers", "included": 0, "maximum": 4}));
        app.get("plans/features/get", "plan=1;feature=codes").await.expect("404");
    }

    async fn roles_get_update_delete(backend) {
        let app = TestApp::spawn(backend).await;
        let owner = app.admin("roles/get", &[("id", "1")]).await;
        assert_eq!(owner.expect("200").data()["privileges"], json!({"system": 1, "commerce": 1, "wholesale": 1, "administrator": 1, "user": 1}));
        let missing = app.admin("roles/get", &[("id", "99")]).await;
        missing.expect("404");
        assert_eq!(missing.body["responses"][0]["message"], "The role does not exist.");
        app.admin("roles/get", &[("id", "one")]).await.expect_invalid(&["id"]);
        // A user reads roles (as roles/list) but may not change them.
        person(&app, "plain", 4, 1).await;
        person(&app, "boss", 3, 1).await;
        assert_eq!(app.call_as("plain", PW, "roles/get", &[("id", "4")]).await.expect("200").data()["name"], "User");

        let role = id_of(&app.admin("roles/create", &[("name", "Support"), ("description", "help desk")]).await);
        let r = role.to_string();
        app.admin("roles/access/set", &[("role", &r), ("privilege", "user"), ("access", "2")]).await.expect("204");
        app.call_as("boss", PW, "roles/update", &[("id", &r), ("name", "Mine")]).await.expect("402");
        app.call_as("boss", PW, "roles/delete", &[("id", &r)]).await.expect("402");
        app.admin("roles/update", &[("id", &r), ("name", "Help")]).await.expect("204");
        let got = app.admin("roles/get", &[("id", &r)]).await;
        assert_eq!(got.expect("200").data(), &json!({"id": role, "name": "Help", "description": "help desk", "privileges": {"user": 2}}));
        app.admin("roles/update", &[("id", &r), ("description", "")]).await.expect("204");
        assert_eq!(app.admin("roles/get", &[("id", &r)]).await.data()["description"], "");
        app.admin("roles/update", &[("id", &r), ("name", ""), ("description", &"d".repeat(256))]).await.expect_invalid(&["name", "description"]);
        app.admin("roles/update", &[("id", "99"), ("name", "x")]).await.expect("404");
        assert_eq!(audited(&app, "roles/update").await, 2);

        for builtin in ["1", "2", "3", "4"] {
            assert!(refusal(&app.admin("roles/delete", &[("id", builtin)]).await, "id").contains("built in"));
        }
        let holder = person(&app, "helper", role, 1).await;
        let held = app.admin("roles/delete", &[("id", &r)]).await;
        assert_eq!(refusal(&held, "id"), "This role is held by 1 person.");
        app.exec(&format!("UPDATE people SET role = 4 WHERE id = {holder}")).await;
        app.admin("roles/delete", &[("id", &r), ("validation", "1")]).await.expect("201");
        app.admin("roles/delete", &[("id", &r)]).await.expect("204");
        app.admin("roles/get", &[("id", &r)]).await.expect("404");
        assert_eq!(app.scalar_i64(&format!("SELECT COUNT(*) FROM role_privileges WHERE role = {role}")).await, 0);
        app.admin("roles/delete", &[("id", &r)]).await.expect("404");
        assert_eq!(audited(&app, "roles/delete").await, 1);
    }

    async fn inventory_get_update_delete(backend) {
        let app = TestApp::spawn(backend).await;
        let class = id_of(&app.admin("classes/create", &[("name", "Geographic"), ("setup", "1.5"), ("rank", "2")]).await);
        let c = class.to_string();
        let got = app.admin("classes/get", &[("id", &c)]).await;
        assert_eq!(row(&got), json!({"id": class, "name": "Geographic", "description": "", "rank": 2, "setup": "1.5000", "monthly": "0.0000"}));
        app.admin("classes/update", &[("id", &c), ("rank", "3"), ("monthly", "2"), ("description", "landlines")]).await.expect("204");
        let got = app.admin("classes/get", &[("id", &c)]).await;
        assert_eq!(row(&got), json!({"id": class, "name": "Geographic", "description": "landlines", "rank": 3, "setup": "1.5000", "monthly": "2.0000"}));
        app.admin("classes/update", &[("id", &c), ("rank", "11"), ("setup", "-1"), ("monthly", "x"), ("name", "")]).await
            .expect_invalid(&["name", "rank", "setup", "monthly"]);
        app.admin("classes/update", &[("id", &c), ("code", "42")]).await.expect("204");
        app.admin("classes/update", &[("id", "99"), ("rank", "1")]).await.expect("404");
        let missing = app.admin("classes/get", &[("id", "99")]).await;
        missing.expect("404");
        assert_eq!(missing.body["responses"][0]["message"], "The number class does not exist.");

        let ingroup = id_of(&app.admin("ingroups/create", &[("name", "Main")]).await);
        let g = ingroup.to_string();
        app.admin("ingroups/update", &[("id", &g), ("code", "4x")]).await.expect_invalid(&["code"]);
        app.admin("ingroups/update", &[("id", &g), ("code", "42"), ("name", "Primary")]).await.expect("204");
        let got = app.admin("ingroups/get", &[("id", &g)]).await;
        assert_eq!(row(&got), json!({"id": ingroup, "name": "Primary", "description": "", "code": "42"}));
        let region = id_of(&app.admin("regions/create", &[("name", "North")]).await);
        let reg = region.to_string();
        app.admin("regions/update", &[("id", &reg), ("name", "South")]).await.expect("204");
        assert_eq!(row(&app.admin("regions/get", &[("id", &reg)]).await), json!({"id": region, "name": "South", "description": ""}));
        assert_eq!(app.admin("regions/get", &[("id", "99")]).await.body["responses"][0]["message"], "The region does not exist.");

        // System only, reads included.
        person(&app, "boss", 3, 1).await;
        person(&app, "reseller", 2, 1).await;
        for who in ["boss", "reseller"] {
            app.call_as(who, PW, "classes/get", &[("id", &c)]).await.expect("402");
            app.call_as(who, PW, "ingroups/update", &[("id", &g), ("name", "x")]).await.expect("402");
            app.call_as(who, PW, "regions/delete", &[("id", &reg)]).await.expect("402");
        }

        // Deletes are refused while numbers refer to the object, naming how many.
        app.admin("numbers/system/create", &[("start", "5550000"), ("end", "5550002"), ("class", &c), ("ingroup", &g), ("region", &reg)]).await.expect("200");
        assert_eq!(refusal(&app.admin("classes/delete", &[("id", &c)]).await, "id"), "This number class is used by 3 numbers.");
        assert_eq!(refusal(&app.admin("ingroups/delete", &[("id", &g)]).await, "id"), "This inbound group is used by 3 numbers.");
        assert_eq!(refusal(&app.admin("regions/delete", &[("id", &reg)]).await, "id"), "This region is used by 3 numbers.");
        app.admin("numbers/system/delete", &[("number", "5550000"), ("end", "5550001")]).await.expect("204");
        assert_eq!(refusal(&app.admin("classes/delete", &[("id", &c)]).await, "id"), "This number class is used by 1 number.");
        app.admin("numbers/system/delete", &[("number", "5550002")]).await.expect("204");
        for (kind, id) in [("classes", &c), ("ingroups", &g), ("regions", &reg)] {
            app.admin(&format!("{kind}/delete"), &[("id", id)]).await.expect("204");
            app.admin(&format!("{kind}/get"), &[("id", id)]).await.expect("404");
            app.admin(&format!("{kind}/delete"), &[("id", id)]).await.expect("404");
            app.admin(&format!("{kind}/update"), &[("id", id), ("name", "back")]).await.expect("404");
        }
        assert_eq!(audited(&app, "classes/delete").await, 1);
        assert_eq!(audited(&app, "classes/update").await, 2);
    }

    async fn groups_get_update_delete_by_visibility(backend) {
        let app = TestApp::spawn(backend).await;
        let other = customer(&app, "Other", 1).await;
        let o = other.to_string();
        let mine = id_of(&app.admin("music/create", &[("name", "Jazz")]).await);
        let shared = id_of(&app.admin("music/create", &[("name", "Common"), ("shared", "1")]).await);
        let theirs = id_of(&app.admin("music/create", &[("name", "Theirs"), ("customer", &o)]).await);
        person(&app, "oadmin", 3, other).await;
        person(&app, "ouser", 4, other).await;
        let call = |who: &'static str, call: &'static str, params: Vec<(&'static str, String)>| {
            let app = &app;
            async move {
                let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.call_as(who, PW, call, &params).await
            }
        };
        let id = |n: i64| vec![("id", n.to_string())];
        // Get: the customer's own and the shared ones.
        let got = call("ouser", "music/get", id(theirs)).await;
        assert_eq!(row(&got), json!({"id": theirs, "customer": other, "name": "Theirs", "description": "", "shared": 0}));
        assert_eq!(call("ouser", "music/get", id(shared)).await.expect("200").data()["shared"], 1);
        let unseen = call("ouser", "music/get", id(mine)).await;
        unseen.expect("404");
        assert_eq!(unseen.body["responses"][0]["message"], "The music class does not exist.");
        call("ouser", "music/get", vec![("id", mine.to_string()), ("customer", "1".into())]).await.expect_invalid(&["customer"]);
        app.admin("music/get", &[("id", &theirs.to_string()), ("customer", &o)]).await.expect("200");
        app.admin("music/get", &[("id", &theirs.to_string())]).await.expect("404");

        // Update and delete: administrator; shared ones and sharing need system.
        call("ouser", "music/update", vec![("id", theirs.to_string()), ("name", "x".into())]).await.expect("402");
        call("oadmin", "music/update", vec![("id", theirs.to_string()), ("name", "Blues".into())]).await.expect("204");
        assert_eq!(call("ouser", "music/get", id(theirs)).await.data()["name"], "Blues");
        call("oadmin", "music/update", vec![("id", theirs.to_string()), ("name", "".into())]).await.expect_invalid(&["name"]);
        call("oadmin", "music/update", vec![("id", theirs.to_string()), ("shared", "1".into())]).await.expect("402");
        call("oadmin", "music/update", vec![("id", shared.to_string()), ("name", "Mine".into())]).await.expect("402");
        call("oadmin", "music/delete", id(shared)).await.expect("402");
        call("oadmin", "music/update", vec![("id", mine.to_string()), ("name", "Mine".into())]).await.expect("404");
        call("oadmin", "music/delete", id(mine)).await.expect("404");
        app.admin("music/update", &[("id", &shared.to_string()), ("shared", "0")]).await.expect("204");
        call("ouser", "music/get", id(shared)).await.expect("404");
        assert_eq!(audited(&app, "music/update").await, 2);

        // Record groups are never shared; time groups as music.
        let rg = id_of(&app.admin("recording/groups/create", &[("name", "Calls"), ("customer", &o)]).await);
        let got = call("ouser", "recording/groups/get", id(rg)).await;
        assert_eq!(row(&got), json!({"id": rg, "customer": other, "name": "Calls", "description": ""}));
        call("oadmin", "recording/groups/update", vec![("id", rg.to_string()), ("description", "all".into())]).await.expect("204");
        assert_eq!(call("ouser", "recording/groups/get", id(rg)).await.data()["description"], "all");
        let tg = id_of(&app.admin("timegroups/create", &[("name", "Hours"), ("shared", "1")]).await);
        call("ouser", "timegroups/get", id(tg)).await.expect("200");
        call("oadmin", "timegroups/delete", id(tg)).await.expect("402");
        call("oadmin", "recording/groups/delete", id(rg)).await.expect("204");
        call("ouser", "recording/groups/get", id(rg)).await.expect("404");
        call("oadmin", "music/delete", id(theirs)).await.expect("204");
        app.admin("timegroups/delete", &[("id", &tg.to_string())]).await.expect("204");
        assert_eq!(audited(&app, "music/delete").await, 1);
    }

    async fn groups_delete_refused_while_codes_or_numbers_refer(backend) {
        let app = TestApp::spawn(backend).await;
        let music = id_of(&app.admin("music/create", &[("name", "Jazz"), ("shared", "1")]).await);
        let rg = id_of(&app.admin("recording/groups/create", &[("name", "Calls")]).await);
        let tg = id_of(&app.admin("timegroups/create", &[("name", "Hours")]).await);
        let (m, r, t) = (music.to_string(), rg.to_string(), tg.to_string());
        // Another customer's code uses the shared music class.
        let other = customer(&app, "Other", 1).await;
        let code = |code: &'static str, extra: Vec<(&'static str, String)>, customer: i64| {
            let app = &app;
            async move {
                let customer = customer.to_string();
                let mut params = vec![("code", code), ("dtype", "phone"), ("dnumber", "1234567"), ("customer", customer.as_str())];
                params.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
                app.admin("codes/create", &params).await.expect("204");
            }
        };
        code("500", vec![("music", m.clone()), ("recordgroup", r.clone())], 1).await;
        code("501", vec![("music", m.clone())], other).await;
        // timegroup_007 names time group 7 just as timegroup_7 does.
        code("502", vec![("routing", format!("timegroup_00{tg}"))], 1).await;
        assert_eq!(refusal(&app.admin("music/delete", &[("id", &m)]).await, "id"), "This music class is used by 2 feature codes and 0 numbers.");
        assert_eq!(refusal(&app.admin("recording/groups/delete", &[("id", &r)]).await, "id"), "This record group is used by 1 feature code and 0 numbers.");
        assert_eq!(refusal(&app.admin("timegroups/delete", &[("id", &t)]).await, "id"), "This time group is used by 1 feature code and 0 numbers.");

        // A number routed through the time group counts too.
        app.admin("classes/create", &[("name", "Geographic")]).await.expect("200");
        app.admin("ingroups/create", &[("name", "Main")]).await.expect("200");
        app.admin("numbers/system/create", &[("start", "5551000"), ("class", "1"), ("ingroup", "1")]).await.expect("200");
        app.admin("numbers/purchase", &[("number", "5551000")]).await.expect("204");
        app.admin("numbers/update", &[("number", "5551000"), ("routing", &format!("timegroup_{tg}"))]).await.expect("204");
        app.admin("codes/delete", &[("code", "502")]).await.expect("204");
        assert_eq!(refusal(&app.admin("timegroups/delete", &[("id", &t)]).await, "id"), "This time group is used by 0 feature codes and 1 number.");
        app.admin("numbers/update", &[("number", "5551000"), ("routing", "")]).await.expect("204");
        app.admin("timegroups/delete", &[("id", &t)]).await.expect("204");

        app.admin("codes/delete", &[("code", "500")]).await.expect("204");
        app.admin("recording/groups/delete", &[("id", &r)]).await.expect("204");
        assert_eq!(refusal(&app.admin("music/delete", &[("id", &m)]).await, "id"), "This music class is used by 1 feature code and 0 numbers.");
        app.admin("codes/delete", &[("code", "501"), ("customer", &other.to_string())]).await.expect("204");
        app.admin("music/delete", &[("id", &m)]).await.expect("204");
        // Once gone, a code may no longer name it.
        let gone = app.admin("codes/create", &[("code", "503"), ("dtype", "phone"), ("dnumber", "1"), ("music", &m)]).await;
        gone.expect_invalid(&["music"]);
    }

    async fn deleting_a_class_racing_numbers_into_it_leaves_no_dangling_numbers(backend) {
        let app = TestApp::spawn(backend).await;
        app.admin("ingroups/create", &[("name", "Main")]).await.expect("200");
        for round in 0..8 {
            let class = id_of(&app.admin("classes/create", &[("name", "Racing")]).await).to_string();
            let start = format!("{}", 7_000_000 + round * 1000);
            let end = format!("{}", 7_000_000 + round * 1000 + 499);
            let add_params = [("start", start.as_str()), ("end", end.as_str()), ("class", class.as_str()), ("ingroup", "1")];
            let delete_params = [("id", class.as_str())];
            let add = app.admin("numbers/system/create", &add_params);
            let delete = app.admin("classes/delete", &delete_params);
            // Alternate which is sent first.
            let (added, deleted) = if round % 2 == 0 {
                tokio::join!(add, delete)
            } else {
                let (deleted, added) = tokio::join!(delete, add);
                (added, deleted)
            };
            match (added.code(), deleted.code()) {
                ("200", "400") => {
                    deleted.expect_invalid(&["id"]);
                    assert_eq!(added.data()["count"], 500);
                }
                ("400", "204") => {
                    added.expect_invalid(&["class"]);
                }
                other => panic!("round {round}: both or neither went through: {other:?}"),
            }
            let dangling = app.scalar_i64("SELECT COUNT(*) FROM numbers n WHERE NOT EXISTS (SELECT 1 FROM classes c WHERE c.id = n.class)").await;
            assert_eq!(dangling, 0, "round {round}");
        }
    }

    async fn deleting_a_plan_or_role_racing_its_first_user_leaves_nothing_dangling(backend) {
        let app = TestApp::spawn(backend).await;
        for round in 0..8 {
            let plan = id_of(&app.admin("plans/create", &[("name", "Racing")]).await).to_string();
            let customer = [("name", "Racer"), ("email", "r@example.com"), ("plan", plan.as_str())];
            let role = id_of(&app.admin("roles/create", &[("name", "Racing")]).await).to_string();
            let username = format!("racer{round}");
            let person = [("username", username.as_str()), ("password", "racer-Password-1"), ("role", role.as_str())];
            let (plan_id, role_id) = ([("id", plan.as_str())], [("id", role.as_str())]);
            let (created, deleted, made, gone) = tokio::join!(
                app.admin("customers/create", &customer),
                app.admin("plans/delete", &plan_id),
                app.admin("people/create", &person),
                app.admin("roles/delete", &role_id),
            );
            // Exactly one of each pair acts, whichever the database let first.
            for (pair, first, second) in [("plan", &created, &deleted), ("role", &made, &gone)] {
                match (first.code(), second.code()) {
                    ("200", "400") => second.expect_invalid(&["id"]),
                    ("400", "204") => first.expect_invalid(&[pair]),
                    other => panic!("round {round}, {pair}: both or neither went through: {other:?}"),
                };
            }
            let orphans = app
                .scalar_i64(
                    "SELECT (SELECT COUNT(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM plans p WHERE p.id = c.plan)) \
                     + (SELECT COUNT(*) FROM people e WHERE NOT EXISTS (SELECT 1 FROM roles r WHERE r.id = e.role))",
                )
                .await;
            assert_eq!(orphans, 0, "round {round}");
        }
    }
}
