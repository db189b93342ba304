//! Where scripts written against Enswitch depend on a behaviour: `0` meaning
//! "all" in filters, the sort keys, empty fields taking their defaults,
//! parameters Switchyard does not act on refused rather than ignored,
//! Enswitch's 404 wording, `shortcut` and `directory`; and feature codes
//! that shadow each other (`codes/conflicts`, and the warning on validation).

use serde_json::{Value, json};

use crate::{
    both_databases,
    common::*,
    tenancy::{PW, customer, person},
};

async fn inventory(app: &TestApp) {
    app.admin("classes/create", &[("name", "Geographic")]).await.expect("200");
    app.admin("classes/create", &[("name", "Mobile")]).await.expect("200");
    app.admin("ingroups/create", &[("name", "Main")]).await.expect("200");
    app.admin("ingroups/create", &[("name", "Backup")]).await.expect("200");
}

fn numbers(rows: &Value) -> Vec<&str> {
    rows.as_array()
        .unwrap_or_else(|| panic!("not a list: {rows}"))
        .iter()
        .map(|r| r["number"].as_str().unwrap())
        .collect()
}

fn codes(rows: &Value) -> Vec<&str> {
    rows.as_array()
        .unwrap_or_else(|| panic!("not a list: {rows}"))
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect()
}

async fn code(app: &TestApp, code: &str, dtype: &str, dnumber: &str, extra: &[(&str, &str)]) {
    let mut params = vec![("code", code), ("dtype", dtype), ("dnumber", dnumber)];
    params.extend_from_slice(extra);
    app.admin("codes/create", &params).await.expect("204");
}

both_databases! {
    async fn zero_class_and_ingroup_mean_all(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        for (start, class, ingroup) in [("100", "1", "1"), ("200", "2", "2")] {
            app.admin("numbers/system/create", &[("start", start), ("class", class), ("ingroup", ingroup)]).await.expect("200");
        }
        let list = |params: Vec<(&'static str, &'static str)>| {
            let app = &app;
            async move { app.admin("numbers/system/list", &params).await }
        };
        assert_eq!(numbers(list(vec![("class", "0")]).await.data()), ["100", "200"]);
        assert_eq!(numbers(list(vec![("ingroup", "0")]).await.data()), ["100", "200"]);
        assert_eq!(numbers(list(vec![("class", "0"), ("ingroup", "2")]).await.data()), ["200"]);
        assert_eq!(numbers(list(vec![("class", "1")]).await.data()), ["100"]);
        assert_eq!(list(vec![("class", "0"), ("count", "1")]).await.data()["count"], 2);
    }

    async fn codes_sort_by_destination_and_dnumber(backend) {
        let app = TestApp::spawn(backend).await;
        code(&app, "*1", "phone", "300", &[]).await;
        code(&app, "*2", "busy", "", &[]).await;
        code(&app, "*3", "phone", "200", &[]).await;
        let sorted = |sort: &'static str| {
            let app = &app;
            async move { app.admin("codes/list", &[("sort", sort)]).await }
        };
        assert_eq!(codes(sorted("destination").await.data()), ["*2", "*3", "*1"], "type, then number");
        assert_eq!(codes(sorted("dtype").await.data()), ["*2", "*3", "*1"], "the earlier name says the same");
        assert_eq!(codes(sorted("dnumber").await.data()), ["*2", "*3", "*1"]);
        assert_eq!(codes(sorted("code").await.data()), ["*1", "*2", "*3"]);
        assert_eq!(codes(sorted("").await.data()), ["*1", "*2", "*3"], "empty: the default");
        sorted("owner").await.expect_invalid(&["sort"]);
    }

    async fn empty_fields_take_their_defaults(backend) {
        let app = TestApp::spawn(backend).await;
        let form = [("sname_action", ""), ("text_dtype", ""), ("description", ""), ("maximum_seconds", ""), ("language", "")];
        code(&app, "*9", "hangup", "", &form).await;
        let stored = app.admin("codes/get", &[("code", "*9")]).await;
        let stored = stored.data();
        assert_eq!((stored["sname_action"].as_str(), stored["text_dtype"].as_str()), (Some("replace"), Some("none")));
        assert_eq!((stored["description"].as_str(), stored["maximum_seconds"].as_i64()), (Some(""), Some(-1)));
        // On update too: an empty field is its default, not "unchanged".
        app.admin("codes/update", &[("code", "*9"), ("sname_action", "append")]).await.expect("204");
        app.admin("codes/update", &[("code", "*9"), ("sname_action", "")]).await.expect("204");
        assert_eq!(app.admin("codes/get", &[("code", "*9")]).await.data()["sname_action"], "replace");
        // A parameter without a default keeps an empty value as a value: a
        // required destination number may be empty only where its type takes none.
        app.admin("codes/create", &[("code", "*8"), ("dtype", "phone"), ("dnumber", "")]).await.expect_invalid(&["dnumber"]);
    }

    async fn parameters_not_acted_on_are_refused(backend) {
        let app = TestApp::spawn(backend).await;
        for call in ["codes/list", "numbers/list", "numbers/system/list"] {
            app.admin(call, &[("pages", "1")]).await.expect_invalid(&["pages"]);
            app.admin(call, &[("pages", "0")]).await.expect("200");
            app.admin(call, &[("pages", "")]).await.expect("200");
        }
        let refused = app.admin("numbers/list", &[("callerid_location", "1")]).await;
        refused.expect_invalid(&["callerid_location"]);
        assert!(refused.body.to_string().contains("does not support"), "{}", refused.body);
        app.admin("numbers/purchase", &[("number", "1"), ("ingroup", "2")]).await.expect_invalid(&["ingroup"]);
    }

    async fn shortcut_and_directory(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        app.admin("numbers/system/create", &[("start", "500"), ("end", "502"), ("class", "1"), ("ingroup", "1")]).await.expect("200");
        assert_eq!(app.admin("numbers/system/get", &[("number", "500")]).await.data()["shortcut"], 0);
        app.admin("numbers/system/update", &[("number", "500"), ("shortcut", "1")]).await.expect("204");
        app.admin("numbers/system/update", &[("number", "500"), ("alias", "77")]).await.expect("204");
        let row = app.admin("numbers/system/get", &[("number", "500")]).await;
        assert_eq!((row.data()["shortcut"].as_i64(), row.data()["alias"].as_str()), (Some(1), Some("77")), "absent keeps");
        app.admin("numbers/system/update", &[("number", "500"), ("shortcut", "2")]).await.expect_invalid(&["shortcut"]);

        let c = customer(&app, "Listed", 1).await.to_string();
        for n in ["500", "501", "502"] {
            app.admin("numbers/purchase", &[("number", n), ("customer", &c)]).await.expect("204");
        }
        app.admin("numbers/update", &[("number", "501"), ("customer", &c), ("directory", "1")]).await.expect("204");
        let listed = app.admin("numbers/list", &[("customer", &c), ("directory", "1")]).await;
        assert_eq!(numbers(listed.data()), ["501"]);
        assert_eq!(numbers(app.admin("numbers/list", &[("customer", &c)]).await.data()), ["500", "501", "502"]);
        let counted = app.admin("numbers/list", &[("customer", &c), ("directory", "1"), ("count", "1")]).await;
        assert_eq!(counted.data()["count"], 1);
    }

    async fn not_found_in_enswitch_words(backend) {
        let app = TestApp::spawn(backend).await;
        let message = |answer: &Answer| answer.body["responses"][0]["message"].as_str().unwrap_or_default().to_string();
        let code = app.admin("codes/get", &[("code", "*404")]).await;
        code.expect("404");
        assert_eq!(message(&code), "The feature code does not exist, or you do not have permission to view it.");
        for (call, params) in [
            ("numbers/system/get", vec![("number", "404")]),
            ("numbers/system/update", vec![("number", "404"), ("alias", "1")]),
            ("numbers/get", vec![("number", "404")]),
            ("numbers/delete", vec![("number", "404")]),
        ] {
            let answer = app.admin(call, &params).await;
            answer.expect("404");
            assert_eq!(message(&answer), "The number does not exist.", "{call}");
        }
    }

    async fn codes_that_shadow_each_other(backend) {
        let app = TestApp::spawn(backend).await;
        let c = customer(&app, "Dialler", 1).await;
        let cs = c.to_string();
        let own = [("customer", cs.as_str())];
        for (code_text, dnumber) in [("*1", "101"), ("*10", "110"), ("*100", "1100"), ("*7", "107"), ("*72#", "172"), ("*2", "102")] {
            code(&app, code_text, "phone", dnumber, &own).await;
        }
        // A code the system owner shares reaches every customer, and can shadow theirs.
        code(&app, "*5", "hangup", "", &[("shared", "1")]).await;
        code(&app, "*55", "busy", "", &own).await;
        // Another customer's codes are not this one's concern.
        let other = customer(&app, "Elsewhere", 1).await.to_string();
        code(&app, "*", "hangup", "", &[("customer", &other)]).await;

        let answer = app.admin("codes/conflicts", &own).await;
        let pairs: Vec<(String, String)> = answer
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["shorter"]["code"].as_str().unwrap().into(), p["longer"]["code"].as_str().unwrap().into()))
            .collect();
        let expected = [("*1", "*10"), ("*1", "*100"), ("*10", "*100"), ("*5", "*55"), ("*7", "*72#")];
        assert_eq!(pairs, expected.map(|(a, b)| (a.to_string(), b.to_string())));
        let first = &answer.data()[0];
        assert_eq!(first["shorter"], json!({"code": "*1", "customer": c, "dtype": "phone", "dnumber": "101"}));
        assert_eq!(first["longer"]["dnumber"], "110");
        let shared = &answer.data()[3];
        assert_eq!((shared["shorter"]["customer"].as_i64(), shared["longer"]["customer"].as_i64()), (Some(1), Some(c)));

        // Who may ask: editors of the customer, not a plain user, not another tenant.
        person(&app, "dialler-user", 4, c).await;
        app.call_as("dialler-user", PW, "codes/conflicts", &[]).await.expect("402");
        let reseller = customer(&app, "Reseller", 1).await;
        person(&app, "reseller-admin", 2, reseller).await;
        let unseen = app.call_as("reseller-admin", PW, "codes/conflicts", &own).await;
        unseen.expect_invalid(&["customer"]);
    }

    async fn validation_warns_of_shadowing(backend) {
        let app = TestApp::spawn(backend).await;
        code(&app, "*10", "phone", "110", &[]).await;
        code(&app, "*2", "phone", "102", &[]).await;
        let checked = app.admin("codes/create", &[("code", "*1"), ("dtype", "hangup"), ("dnumber", ""), ("validation", "1")]).await;
        checked.expect("201");
        assert_eq!(
            checked.body["data"]["conflicts"],
            json!([{"code": "*10", "customer": 1, "dtype": "phone", "dnumber": "110", "overlap": "shadows"}])
        );
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM codes").await, 2, "validation wrote nothing");
        let longer = app.admin("codes/create", &[("code", "*21"), ("dtype", "hangup"), ("dnumber", ""), ("validation", "1")]).await;
        longer.expect("201");
        assert_eq!(longer.body["data"]["conflicts"][0]["overlap"], "shadowed_by");
        let clear = app.admin("codes/create", &[("code", "*3"), ("dtype", "hangup"), ("dnumber", ""), ("validation", "1")]).await;
        clear.expect("201");
        assert_eq!(clear.body["data"]["conflicts"], json!([]));
        // An update is not in conflict with itself.
        let update = app.admin("codes/update", &[("code", "*10"), ("description", "x"), ("validation", "1")]).await;
        update.expect("201");
        assert_eq!(update.body["data"]["conflicts"], json!([]));
        // Without validation, the answer is as before.
        app.admin("codes/create", &[("code", "*1"), ("dtype", "hangup"), ("dnumber", "")]).await.expect("204");
    }
}
