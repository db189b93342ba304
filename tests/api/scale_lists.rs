//! Lists of a large inventory (issue #15): keyset pages with `after`, which
//! walk the whole list as `offset` pages do; `prefix`, exactly the numbers
//! starting with its digits; their 400s; and counts by class and customer.
//! Speed is the benchmark's business (bench/scale.sh), not these tests'.

use crate::{both_databases, common::*, tenancy::customer};
use serde_json::Value;

/// Classes 1 (large) and 2 (small), one inbound group, a customer holding
/// 50 numbers, and numbers of several widths, so that bytewise order (`0100`
/// < `100` < `99`) and the carries of a prefix (`…9` to `…:`) are exercised.
/// Answers the customer's id.
async fn inventory(app: &TestApp) -> i64 {
    app.admin("classes/create", &[("name", "Geographic")]).await.expect("200");
    app.admin("classes/create", &[("name", "Small")]).await.expect("200");
    app.admin("ingroups/create", &[("name", "Main")]).await.expect("200");
    let holder = customer(app, "Holder", 1).await;
    let holder_text = holder.to_string();
    for (start, end, class, owner) in [
        ("0100", "0199", "1", "0"),
        ("100", "120", "1", "0"),
        ("99", "", "1", "0"),
        ("999", "", "1", "0"),
        ("9", "", "1", "0"),
        ("4420712000", "4420712099", "2", "0"),
        ("4420719990", "4420720009", "1", "0"),
        ("5550000", "5550049", "1", holder_text.as_str()),
        ("5559990", "5559999", "2", holder_text.as_str()),
    ] {
        let params = [("start", start), ("end", end), ("class", class), ("ingroup", "1"), ("customer", owner)];
        app.admin("numbers/system/create", &params).await.expect("200");
    }
    holder
}

/// Every number in the whole inventory, 0100 to 999.
const TOTAL: usize = 100 + 21 + 3 + 100 + 20 + 50 + 10;

fn numbers_of(answer: &Answer) -> Vec<String> {
    answer.data().as_array().unwrap().iter().map(|r| r["number"].as_str().unwrap().to_string()).collect()
}

fn count_of(answer: &Answer) -> i64 {
    answer.data()["count"].as_i64().unwrap()
}

/// `call` with `params`, paged by `after` in pages of `size`: every page,
/// concatenated. Asserts that each page continues where the last one ended.
async fn walk_after(app: &TestApp, call: &str, params: &[(&str, &str)], size: usize) -> Vec<String> {
    let limit = size.to_string();
    let mut all: Vec<String> = Vec::new();
    loop {
        let mut page_params = params.to_vec();
        page_params.push(("limit", &limit));
        let last = all.last().cloned();
        if let Some(last) = &last {
            page_params.push(("after", last));
        }
        let page = numbers_of(&app.admin(call, &page_params).await);
        assert!(page.len() <= size, "{call} {params:?}: a page longer than the limit");
        // A page that repeats the bound would never end the walk.
        assert!(last.is_none() || page.first() != last.as_ref(), "{call} {params:?}: {last:?} listed again");
        assert!(all.len() <= TOTAL, "{call} {params:?}: more rows than the inventory holds");
        let done = page.len() < size;
        all.extend(page);
        if done {
            return all;
        }
    }
}

/// The same walk by `offset`.
async fn walk_offset(app: &TestApp, call: &str, params: &[(&str, &str)], size: usize) -> Vec<String> {
    let limit = size.to_string();
    let mut all: Vec<String> = Vec::new();
    loop {
        let offset = all.len().to_string();
        let mut page_params = params.to_vec();
        page_params.extend([("limit", limit.as_str()), ("offset", offset.as_str())]);
        let page = numbers_of(&app.admin(call, &page_params).await);
        let done = page.len() < size;
        all.extend(page);
        assert!(all.len() <= TOTAL, "{call} {params:?}: more rows than the inventory holds");
        if done {
            return all;
        }
    }
}

fn assert_no_repeats(listed: &[String], what: &str) {
    let mut seen = std::collections::BTreeSet::new();
    for number in listed {
        assert!(seen.insert(number), "{what}: {number} listed twice");
    }
}

both_databases! {
    async fn after_pages_walk_the_whole_list_like_offset_pages(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        let everything = numbers_of(&app.admin("numbers/system/list", &[]).await);
        assert_eq!(everything.len(), TOTAL);
        assert_eq!(&everything[..3], ["0100", "0101", "0102"], "bytewise order");
        let mut bytewise = everything.clone();
        bytewise.sort();
        assert_eq!(everything, bytewise);
        assert_eq!(&everything[everything.len() - 3..], ["9", "99", "999"]);
        for descending in ["0", "1"] {
            let params = [("descending", descending)];
            let whole = numbers_of(&app.admin("numbers/system/list", &params).await);
            for size in [1, 7, 100, TOTAL] {
                let by_after = walk_after(&app, "numbers/system/list", &params, size).await;
                assert_no_repeats(&by_after, "after");
                assert_eq!(by_after, whole, "after pages of {size}, descending={descending}");
                let by_offset = walk_offset(&app, "numbers/system/list", &params, size).await;
                assert_eq!(by_offset, by_after, "offset pages of {size}, descending={descending}");
            }
        }

        // Strictly after, in the list's order; a number that is not in the
        // inventory is a bound all the same.
        let next = app.admin("numbers/system/list", &[("after", "0199"), ("limit", "2")]).await;
        assert_eq!(numbers_of(&next), ["100", "101"]);
        let next = app.admin("numbers/system/list", &[("after", "11"), ("limit", "2")]).await;
        assert_eq!(numbers_of(&next), ["110", "111"]);
        let before = app.admin("numbers/system/list", &[("after", "100"), ("limit", "2"), ("descending", "1")]).await;
        assert_eq!(numbers_of(&before), ["0199", "0198"]);
        let longer = app.admin("numbers/system/list", &[("after", "9")]).await;
        assert_eq!(numbers_of(&longer), ["99", "999"], "a longer number sorts after its start");
        let past_end = app.admin("numbers/system/list", &[("after", "999")]).await;
        assert_eq!(numbers_of(&past_end), Vec::<String>::new());

        // With filters, and with offset (applied after the bound).
        let small = walk_after(&app, "numbers/system/list", &[("class", "2")], 9).await;
        assert_eq!(small.len(), 110);
        assert_eq!(small, numbers_of(&app.admin("numbers/system/list", &[("class", "2")]).await));
        let skipped = app.admin("numbers/system/list", &[("after", "0100"), ("offset", "98"), ("limit", "2")]).await;
        assert_eq!(numbers_of(&skipped), ["0199", "100"]);

        // Empty means no bound (form posts send every field).
        let all_again = app.admin("numbers/system/list", &[("after", ""), ("prefix", "")]).await;
        assert_eq!(numbers_of(&all_again), everything);

        // count=1 counts the filtered list, as with offset and limit.
        let counted = app.admin("numbers/system/list", &[("after", "5"), ("count", "1")]).await;
        assert_eq!(count_of(&counted), TOTAL as i64);
    }

    async fn prefix_lists_exactly_the_numbers_starting_with_it(backend) {
        let app = TestApp::spawn(backend).await;
        inventory(&app).await;
        let everything = numbers_of(&app.admin("numbers/system/list", &[]).await);
        for prefix in [
            "0", "01", "0199", "1", "10", "12", "4", "442071", "4420712", "44207199", "442071999", "4420719999",
            "442072", "4420720009", "9", "99", "999", "9999", "5", "8", "0000",
            // A whole number, and prefixes longer than any number.
            "4420712000", "44207120001", "12345678901234567890123456789012",
        ] {
            let expected: Vec<String> = everything.iter().filter(|n| n.starts_with(prefix)).cloned().collect();
            let listed = numbers_of(&app.admin("numbers/system/list", &[("prefix", prefix)]).await);
            assert_eq!(listed, expected, "prefix={prefix}");
            let counted = app.admin("numbers/system/list", &[("prefix", prefix), ("count", "1")]).await;
            assert_eq!(count_of(&counted), expected.len() as i64, "prefix={prefix} count=1");
            let mut reversed = expected.clone();
            reversed.reverse();
            let down = app.admin("numbers/system/list", &[("prefix", prefix), ("descending", "1")]).await;
            assert_eq!(numbers_of(&down), reversed, "prefix={prefix} descending");
        }
        // The carries: 9s roll over within the prefix, not past it.
        let nines = numbers_of(&app.admin("numbers/system/list", &[("prefix", "442071999")]).await);
        assert_eq!(nines, (4420719990u64..=4420719999).map(|n| n.to_string()).collect::<Vec<_>>());
        assert_eq!(numbers_of(&app.admin("numbers/system/list", &[("prefix", "9")]).await), ["9", "99", "999"]);

        // With other filters and with after: a page of a prefix.
        let page = app.admin("numbers/system/list", &[("prefix", "44207"), ("class", "1"), ("after", "4420719995"), ("limit", "6")]).await;
        assert_eq!(numbers_of(&page), ["4420719996", "4420719997", "4420719998", "4420719999", "4420720000", "4420720001"]);
        let walked = walk_after(&app, "numbers/system/list", &[("prefix", "4420")], 13).await;
        assert_eq!(walked.len(), 120);

        // Substring search keeps its meaning, and combines with prefix.
        let found = numbers_of(&app.admin("numbers/system/list", &[("search", "999"), ("prefix", "44")]).await);
        assert_eq!(found, (4420719990u64..=4420719999).map(|n| n.to_string()).collect::<Vec<_>>());
    }

    async fn bad_after_and_prefix_are_400s_naming_them(backend) {
        let app = TestApp::spawn(backend).await;
        let holder = inventory(&app).await.to_string();
        let long = "1".repeat(33);
        for bad in ["abc", "12a", "-1", "+44", " 1", "1.5", "4*", "%", "١٢", long.as_str()] {
            let answer = app.admin("numbers/system/list", &[("after", bad)]).await;
            answer.expect_invalid(&["after"]);
            let message = answer.body["responses"][0]["message"].as_str().unwrap();
            assert!(message.contains("after") && message.contains("digits"), "{message}");
            let answer = app.admin("numbers/system/list", &[("prefix", bad)]).await;
            answer.expect_invalid(&["prefix"]);
            let message = answer.body["responses"][0]["message"].as_str().unwrap();
            assert!(message.contains("prefix") && message.contains("digits"), "{message}");
            let listed = app.admin("numbers/list", &[("customer", &holder), ("after", bad)]).await;
            listed.expect_invalid(&["after"]);
            let listed = app.admin("numbers/list", &[("customer", &holder), ("prefix", bad)]).await;
            listed.expect_invalid(&["prefix"]);
            let counted = app.admin("numbers/system/list", &[("prefix", bad), ("count", "1")]).await;
            counted.expect_invalid(&["prefix"]);
        }
        // Both at once, in the table's order.
        app.admin("numbers/system/list", &[("after", "x"), ("prefix", "y")]).await.expect_invalid(&["prefix", "after"]);
        // Keyset paging is by number: another sort refuses it, naming after.
        for sort in ["destination", "dnumber"] {
            let answer = app.admin("numbers/list", &[("customer", &holder), ("sort", sort), ("after", "5550000")]).await;
            answer.expect_invalid(&["after"]);
            let sorted = app.admin("numbers/list", &[("customer", &holder), ("sort", sort), ("prefix", "555")]).await;
            assert_eq!(sorted.data().as_array().unwrap().len(), 60, "sort={sort} with prefix");
        }

        // Both are documented for both lists.
        let document: Value =
            app.client.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
        for call in ["numbers/system/list", "numbers/list"] {
            let (_, item) = document["paths"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(path, _)| path.trim_end_matches('/').ends_with(call))
                .unwrap_or_else(|| panic!("{call} is not documented"));
            let names: Vec<&str> =
                item["get"]["parameters"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
            assert!(names.contains(&"after") && names.contains(&"prefix"), "{call}: {names:?}");
        }
    }

    async fn counts_by_class_and_customer(backend) {
        let app = TestApp::spawn(backend).await;
        let holder = inventory(&app).await;
        let holder_text = holder.to_string();
        let other = customer(&app, "Other", 1).await.to_string();
        for (params, expected) in [
            (vec![("class", "2")], 110),
            (vec![("class", "1")], TOTAL as i64 - 110),
            (vec![("class", "0")], TOTAL as i64),
            (vec![("customer", holder_text.as_str())], 60),
            (vec![("customer", holder_text.as_str()), ("class", "2")], 10),
            (vec![("customer", holder_text.as_str()), ("class", "1")], 50),
            (vec![("customer", other.as_str())], 0),
            (vec![("customer", "0")], TOTAL as i64 - 60),
            (vec![("assigned", "1")], 60),
            (vec![("class", "2"), ("prefix", "4420712")], 100),
            (vec![("class", "2"), ("prefix", "555")], 10),
        ] {
            let mut counted = params.clone();
            counted.push(("count", "1"));
            let answer = app.admin("numbers/system/list", &counted).await;
            assert_eq!(count_of(&answer), expected, "{params:?}");
            let listed = numbers_of(&app.admin("numbers/system/list", &params).await);
            assert_eq!(listed.len() as i64, expected, "{params:?} listed");
        }
    }

    async fn a_customers_numbers_by_after_and_prefix(backend) {
        let app = TestApp::spawn(backend).await;
        let holder = inventory(&app).await.to_string();
        let base = [("customer", holder.as_str())];
        let whole = numbers_of(&app.admin("numbers/list", &base).await);
        assert_eq!(whole.len(), 60);
        for size in [1, 7, 60] {
            let by_after = walk_after(&app, "numbers/list", &base, size).await;
            assert_no_repeats(&by_after, "numbers/list after");
            assert_eq!(by_after, whole, "pages of {size}");
            assert_eq!(walk_offset(&app, "numbers/list", &base, size).await, whole);
        }
        let explicit = [("customer", holder.as_str()), ("sort", "number"), ("descending", "1")];
        let mut reversed = whole.clone();
        reversed.reverse();
        assert_eq!(walk_after(&app, "numbers/list", &explicit, 8).await, reversed);

        let prefixed = app.admin("numbers/list", &[("customer", holder.as_str()), ("prefix", "55599")]).await;
        assert_eq!(numbers_of(&prefixed), (5559990..=5559999).map(|n: u32| n.to_string()).collect::<Vec<_>>());
        let counted = app.admin("numbers/list", &[("customer", holder.as_str()), ("prefix", "555000"), ("count", "1")]).await;
        assert_eq!(count_of(&counted), 10);
        // Another customer's numbers are not there under any prefix.
        let pool = app.admin("numbers/list", &[("customer", holder.as_str()), ("prefix", "4420")]).await;
        assert_eq!(numbers_of(&pool), Vec::<String>::new());
    }
}
