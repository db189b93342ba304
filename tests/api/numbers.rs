//! The number inventory: the seed's examples, range rules, aliases, existing
//! numbers in both modes, all-or-nothing writes, races, and the calls around.

use crate::{
    both_databases,
    common::*,
    tenancy::{PW, customer, person},
};
use serde_json::Value;

/// Class 1 and inbound groups 1 and 2, as the seed's examples expect.
async fn inventory(app: &TestApp) {
    app.admin("classes/create", &[("name", "Geographic")]).await.expect("200");
    app.admin("ingroups/create", &[("name", "Main")]).await.expect("200");
    app.admin("ingroups/create", &[("name", "Backup"), ("code", "42")]).await.expect("200");
}

async fn add(app: &TestApp, params: &[(&str, &str)]) -> Answer {
    let mut all = vec![("class", "1"), ("ingroup", "2")];
    for (key, value) in params {
        all.retain(|(k, _)| k != key);
        all.push((key, value));
    }
    app.admin("numbers/system/create", &all).await
}

fn count(answer: &Answer) -> i64 {
    answer.expect("200").data()["count"].as_i64().unwrap()
}

async fn rows(app: &TestApp, params: &[(&str, &str)]) -> Vec<Value> {
    app.admin("numbers/system/list", params).await.expect("200").data().as_array().unwrap().clone()
}

/// How many rows a list answers, checked against its `count=1` answer.
async fn listed(app: &TestApp, params: &[(&str, &str)]) -> i64 {
    let mut with_count = params.to_vec();
    with_count.push(("count", "1"));
    let counted = app.admin("numbers/system/list", &with_count).await.data()["count"].as_i64().unwrap();
    assert_eq!(rows(app, params).await.len() as i64, counted, "{params:?}");
    counted
}

fn numbers_of(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|r| r["number"].as_str().unwrap().to_string()).collect()
}

both_databases! {
    async fn the_seed_examples_verbatim(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        let creds = format!("auth_username=admin;auth_password={ADMIN_PASSWORD}");
        for (query, expected) in [
            ("start=2125550000;class=1;ingroup=2", r#"{"responses":[{"code":"200","key":"","message":"OK"}],"data":{"count":1}}"#),
            ("start=2125560000;end=2125569999;class=1;ingroup=2", r#"{"responses":[{"code":"200","key":"","message":"OK"}],"data":{"count":10000}}"#),
        ] {
            let url = format!("{}/api/json/numbers/system/create/?{creds};{query}", app.base);
            assert_eq!(app.client.get(url).send().await.unwrap().text().await.unwrap(), expected);
        }
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM numbers").await, 10001);
    }

    async fn widths_leading_zeros_and_single_numbers(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        assert_eq!(count(&add(&app, &[("start", "0100"), ("end", "0199")]).await), 100);
        // 100 is not 0100.
        assert_eq!(count(&add(&app, &[("start", "100"), ("end", "")]).await), 1);
        app.admin("numbers/system/get", &[("number", "0100")]).await.expect("200");
        let row = app.admin("numbers/system/get", &[("number", "100")]).await;
        assert_eq!(row.expect("200").data()["number"], "100");
        app.admin("numbers/system/get", &[("number", "0200")]).await.expect("404");
        let listed = numbers_of(&rows(&app, &[("limit", "3")]).await);
        assert_eq!(listed, ["0100", "0101", "0102"]);
        let last = numbers_of(&rows(&app, &[("descending", "1"), ("limit", "2")]).await);
        assert_eq!(last, ["100", "0199"], "bytewise order");
        add(&app, &[("start", "100"), ("end", "0199")]).await.expect_invalid(&["end"]);
        add(&app, &[("start", "300"), ("end", "299")]).await.expect_invalid(&["end"]);
        add(&app, &[("start", "30a")]).await.expect_invalid(&["start"]);
        add(&app, &[("start", "300"), ("end", "3x0")]).await.expect_invalid(&["end"]);
        add(&app, &[("start", &"1".repeat(33))]).await.expect_invalid(&["start"]);
        let long = "9".repeat(31);
        assert_eq!(count(&add(&app, &[("start", &format!("{long}0")), ("end", &format!("{long}9"))]).await), 10);
    }

    async fn a_million_is_one_call_and_one_more_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        add(&app, &[("start", "5000000"), ("end", "6000000")]).await.expect_invalid(&["end"]);
        assert_eq!(count(&add(&app, &[("start", "5000000"), ("end", "5999999")]).await), 1_000_000);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM numbers").await, 1_000_000);
        assert_eq!(app.scalar_i64("SELECT COUNT(DISTINCT batch) FROM numbers").await, 1);
        let last = app.admin("numbers/system/get", &[("number", "5999999")]).await;
        assert_eq!(last.expect("200").data()["class"], 1);
    }

    async fn aliases_follow_in_sequence(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        add(&app, &[("start", "700"), ("end", "702"), ("alias", "0098")]).await.expect("200");
        let aliases: Vec<String> = rows(&app, &[]).await.iter().map(|r| r["alias"].as_str().unwrap().to_string()).collect();
        assert_eq!(aliases, ["0098", "0099", "0100"]);
        add(&app, &[("start", "800"), ("end", "802"), ("alias", "98")]).await.expect_invalid(&["alias"]);
        add(&app, &[("start", "800"), ("alias", "9a")]).await.expect_invalid(&["alias"]);
        add(&app, &[("start", "800"), ("end", "801"), ("alias", "98")]).await.expect("200");
        assert_eq!(app.admin("numbers/system/get", &[("number", "801")]).await.data()["alias"], "99");
    }

    async fn references_must_exist(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        app.admin("numbers/system/create", &[("start", "1")]).await.expect_invalid(&["class", "ingroup"]);
        add(&app, &[("start", "1"), ("class", "9"), ("ingroup", "9"), ("customer", "99"), ("region", "9"), ("stype", "sms")])
            .await.expect_invalid(&["class", "ingroup", "customer", "region", "stype"]);
        add(&app, &[("start", "1"), ("charge_customer", "1")]).await.expect_invalid(&["charge_customer"]);
        add(&app, &[("start", "1"), ("existing", "maybe")]).await.expect_invalid(&["existing"]);
        let region = app.admin("regions/create", &[("name", "North")]).await.data()["id"].as_i64().unwrap().to_string();
        let c = customer(&app, "Buyer", 1).await.to_string();
        let answer = add(&app, &[("start", "10"), ("end", "19"), ("region", &region), ("customer", &c), ("charge_customer", "1"), ("stype", "callerid")]).await;
        assert_eq!(count(&answer), 10);
        let row = app.admin("numbers/system/get", &[("number", "15")]).await;
        let row = row.data();
        assert_eq!((row["region"].to_string(), row["customer"].to_string(), row["stype"].as_str()), (region.clone(), c.clone(), Some("callerid")));
        // One ledger row for the call: customer, class, count and batch.
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM ledger").await, 1);
        assert_eq!(app.scalar_i64(&format!("SELECT count FROM ledger WHERE customer = {c} AND class = 1 AND type = 'setup'")).await, 10);
        assert_eq!(app.scalar_i64("SELECT batch FROM ledger").await, row["batch"].as_i64().unwrap());
    }

    async fn existing_numbers_in_both_modes(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        add(&app, &[("start", "1000"), ("end", "1009")]).await.expect("200");
        add(&app, &[("start", "2005")]).await.expect("200");
        add(&app, &[("start", "2007")]).await.expect("200");
        // At the start of a range, in the middle, at the end.
        for (start, end, existing, message) in [
            ("1000", "1019", 10, "10 of these numbers already exist: 1000-1009"),
            ("2000", "2009", 2, "2 of these numbers already exist: 2005, 2007"),
            ("0990", "1000", 1, "1 of these numbers already exist: 1000"),
        ] {
            let before = app.scalar_i64("SELECT COUNT(*) FROM numbers").await;
            let answer = add(&app, &[("start", start), ("end", end)]).await;
            answer.expect_invalid(&["start"]);
            assert_eq!(answer.body["responses"][0]["message"], message);
            assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM numbers").await, before, "nothing written");
            let width = end.parse::<i64>().unwrap() - start.parse::<i64>().unwrap() + 1;
            let added = count(&add(&app, &[("start", start), ("end", end), ("existing", "skip")]).await);
            assert_eq!(added, width - existing);
        }
        // Skip leaves the existing numbers as they were.
        assert_eq!(app.admin("numbers/system/get", &[("number", "2005")]).await.data()["ingroup"], 2);
        assert_eq!(count(&add(&app, &[("start", "2000"), ("end", "2009"), ("existing", "skip")]).await), 0);
        // The message names only the first few runs.
        for n in ["3000", "3002", "3004", "3006", "3008", "3010", "3012"] {
            add(&app, &[("start", n)]).await.expect("200");
        }
        let answer = add(&app, &[("start", "3000"), ("end", "3099")]).await;
        assert_eq!(answer.body["responses"][0]["message"], "7 of these numbers already exist: 3000, 3002, 3004, 3006, 3008, ...");
    }

    async fn validation_writes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        add(&app, &[("start", "100"), ("end", "199"), ("validation", "1")]).await.expect("201");
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM numbers").await, 0);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM number_batches").await, 0);
        add(&app, &[("start", "150")]).await.expect("200");
        add(&app, &[("start", "100"), ("end", "199"), ("validation", "1")]).await.expect_invalid(&["start"]);
        add(&app, &[("start", "100"), ("end", "199"), ("validation", "1"), ("existing", "skip")]).await.expect("201");
        app.admin("numbers/system/delete", &[("number", "150"), ("validation", "1")]).await.expect("201");
        app.admin("numbers/system/update", &[("number", "150"), ("alias", "1"), ("validation", "1")]).await.expect("201");
        let row = app.admin("numbers/system/get", &[("number", "150")]).await;
        assert_eq!(row.expect("200").data()["alias"], "");
    }

    async fn only_the_system_privilege(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        person(&app, "reseller", 2, 1).await;
        let params = [("start", "1"), ("class", "1"), ("ingroup", "1")];
        app.call_as("reseller", PW, "numbers/system/create", &params).await.expect("402");
        app.call_as("reseller", PW, "numbers/system/list", &[]).await.expect("402");
        app.call_as("reseller", PW, "classes/create", &[("name", "x")]).await.expect("402");
        app.call_as("reseller", PW, "numbers/system/delete", &[("number", "1")]).await.expect("402");
    }

    async fn overlapping_ranges_race(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        let ranges = [("10000", "29999"), ("20000", "39999"), ("25000", "25999"), ("39999", "49999")];
        let calls = ranges.iter().map(|(start, end)| {
            let app = &app;
            async move { add(app, &[("start", start), ("end", end)]).await }
        });
        let answers = futures_util::future::join_all(calls).await;
        let won: Vec<usize> = (0..ranges.len()).filter(|&i| answers[i].code() == "200").collect();
        for (i, answer) in answers.iter().enumerate() {
            if !won.contains(&i) {
                answer.expect_invalid(&["start"]);
            }
        }
        let overlaps = |a: usize, b: usize| ranges[a].0 <= ranges[b].1 && ranges[b].0 <= ranges[a].1;
        for &a in &won {
            for &b in &won {
                assert!(a == b || !overlaps(a, b), "overlapping ranges {:?} and {:?} both succeeded", ranges[a], ranges[b]);
            }
        }
        assert!(!won.is_empty());
        let added: i64 = won.iter().map(|&i| answers[i].data()["count"].as_i64().unwrap()).sum();
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM numbers").await, added);
    }

    async fn list_filters_and_batches(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        let c = customer(&app, "Owner", 1).await.to_string();
        add(&app, &[("start", "5550000"), ("end", "5550099")]).await.expect("200");
        add(&app, &[("start", "7770000"), ("end", "7770009"), ("customer", &c), ("ingroup", "1")]).await.expect("200");
        let batch = app.admin("numbers/system/get", &[("number", "7770005")]).await.data()["batch"].as_i64().unwrap();
        assert_eq!(listed(&app, &[]).await, 110);
        assert_eq!(listed(&app, &[("assigned", "1")]).await, 10);
        assert_eq!(listed(&app, &[("customer", &c)]).await, 10);
        assert_eq!(listed(&app, &[("customer", "0")]).await, 100);
        assert_eq!(listed(&app, &[("ingroup", "1")]).await, 10);
        assert_eq!(listed(&app, &[("class", "1"), ("ingroup", "2")]).await, 100);
        assert_eq!(listed(&app, &[("batch", &batch.to_string())]).await, 10);
        assert_eq!(listed(&app, &[("region", "0")]).await, 110);
        assert_eq!(listed(&app, &[("search", "5500")]).await, 100);
        assert_eq!(listed(&app, &[("search", "%")]).await, 0, "a search is text, not a pattern");
        assert_eq!(listed(&app, &[("search", "0000"), ("customer", &c)]).await, 1);
        assert_eq!(numbers_of(&rows(&app, &[("limit", "2"), ("offset", "100")]).await), ["7770000", "7770001"]);
        // Every number of one call carries its batch; a batch goes as a whole.
        assert_eq!(app.scalar_i64(&format!("SELECT COUNT(*) FROM numbers WHERE batch = {batch}")).await, 10);
        app.admin("numbers/system/delete", &[("batch", &batch.to_string())]).await.expect("204");
        assert_eq!(listed(&app, &[]).await, 100);
        app.admin("numbers/system/delete", &[("batch", &batch.to_string())]).await.expect("404");
        app.admin("numbers/system/list", &[("class", "x"), ("assigned", "2")]).await.expect_invalid(&["assigned", "class"]);
    }

    async fn update_and_delete(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        let c = customer(&app, "Owner", 1).await.to_string();
        add(&app, &[("start", "100"), ("end", "109"), ("alias", "500")]).await.expect("200");
        app.admin("numbers/system/update", &[("number", "101"), ("customer", &c), ("alias", "")]).await.expect("204");
        let row = app.admin("numbers/system/get", &[("number", "101")]).await;
        assert_eq!(row.data()["customer"].to_string(), c);
        assert_eq!(row.data()["alias"], "");
        assert_eq!(row.data()["ingroup"], 2, "absent fields keep their value");
        app.admin("numbers/system/update", &[("number", "999"), ("alias", "1")]).await.expect("404");
        app.admin("numbers/system/update", &[("number", "101"), ("class", "9"), ("customer", "99"), ("region", "9"), ("alias", "x")])
            .await.expect_invalid(&["alias", "class", "customer", "region"]);
        // A range with a missing number deletes nothing, unless told to skip.
        app.admin("numbers/system/delete", &[("number", "105"), ("end", "110")]).await.expect("404");
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM numbers").await, 10);
        app.admin("numbers/system/delete", &[("number", "105"), ("end", "110"), ("existing", "skip")]).await.expect("204");
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM numbers").await, 5);
        app.admin("numbers/system/delete", &[("number", "100")]).await.expect("204");
        app.admin("numbers/system/delete", &[("number", "100")]).await.expect("404");
        app.admin("numbers/system/delete", &[]).await.expect_invalid(&["number"]);
        app.admin("numbers/system/delete", &[("number", "101"), ("batch", "1")]).await.expect_invalid(&["batch"]);
    }

    async fn a_customers_own_numbers(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        let a = customer(&app, "A", 1).await;
        let b = customer(&app, "B", 1).await;
        add(&app, &[("start", "100"), ("end", "104"), ("customer", &a.to_string())]).await.expect("200");
        add(&app, &[("start", "200"), ("end", "201"), ("customer", &b.to_string())]).await.expect("200");
        person(&app, "user_a", 4, a).await;
        let mine = app.call_as("user_a", PW, "numbers/list", &[]).await;
        assert_eq!(numbers_of(mine.expect("200").data().as_array().unwrap()), ["100", "101", "102", "103", "104"]);
        assert_eq!(app.call_as("user_a", PW, "numbers/list", &[("count", "1")]).await.data()["count"], 5);
        app.call_as("user_a", PW, "numbers/list", &[("customer", &b.to_string())]).await.expect_invalid(&["customer"]);
        let two = app.call_as("user_a", PW, "numbers/list", &[("descending", "1"), ("limit", "2")]).await;
        assert_eq!(numbers_of(two.data().as_array().unwrap()), ["104", "103"]);
        // A feature code may route to a number the customer owns, and only to one.
        let a_id = a.to_string();
        let pool_number = [("code", "1"), ("dtype", "number"), ("dnumber", "200"), ("customer", a_id.as_str())];
        app.admin("codes/create", &pool_number).await.expect_invalid(&["dnumber"]);
        let owned_number = [("code", "1"), ("dtype", "number"), ("dnumber", "100"), ("customer", a_id.as_str())];
        app.admin("codes/create", &owned_number).await.expect("204");
    }

    async fn classes_ingroups_and_regions(backend) {
        let app = TestApp::spawn(backend).await;
        app.admin("classes/create", &[("name", "Premium"), ("rank", "10"), ("description", "gold")]).await.expect("200");
        app.admin("classes/create", &[("name", "x"), ("rank", "11")]).await.expect_invalid(&["rank"]);
        app.admin("ingroups/create", &[("name", "x"), ("code", "1a")]).await.expect_invalid(&["code"]);
        app.admin("regions/create", &[("name", ""), ("rank", "99")]).await.expect_invalid(&["name"]);
        let classes = app.admin("classes/list", &[]).await;
        let row = &classes.expect("200").data()[0];
        assert_eq!((row["name"].as_str(), row["rank"].as_i64(), row["description"].as_str()), (Some("Premium"), Some(10), Some("gold")));
        app.admin("classes/create", &[("name", "Basic")]).await.expect("200");
        assert_eq!(app.admin("classes/list", &[]).await.data()[1]["rank"], 1, "rank defaults to 1");
        app.admin("ingroups/create", &[("name", "Main"), ("code", "7")]).await.expect("200");
        assert_eq!(app.admin("ingroups/list", &[]).await.data()[0]["code"], "7");
        app.admin("regions/create", &[("name", "North")]).await.expect("200");
        let regions = app.admin("regions/list", &[]).await;
        assert!(regions.data()[0].get("rank").is_none());
        assert_eq!(app.admin("regions/list", &[("count", "1")]).await.data()["count"], 1);
    }
}
