//! Issue 13 (a number's life, the ledger) attacked as a hostile tenant and a
//! hostile client would: lower and read-only roles, another tenant's
//! customers, numbers, codes and groups, existence leaks through differing
//! answers, money at its limits, validation, parallel repeats, and the
//! parameters of streamed lists at their edges.

use crate::{
    both_databases,
    common::*,
    tenancy::{PW, customer, person, role},
};
use serde_json::{Value, json};

/// Who makes a call: username and password.
type Who = (&'static str, &'static str);
const OPERATOR: Who = (ADMIN, ADMIN_PASSWORD);

/// Pool numbers here are 7770000, 7770001, ...
const FIRST: i64 = 7_770_000;

fn nth(n: i64) -> String {
    (FIRST + n).to_string()
}

async fn call(app: &TestApp, who: Who, name: &str, params: &[(&str, &str)]) -> Answer {
    app.call_as(who.0, who.1, name, params).await
}

fn id(answer: &Answer) -> i64 {
    answer.data()["id"].as_i64().unwrap_or_else(|| panic!("no id: {}", answer.body))
}

/// A class priced `setup`/`monthly`, an inbound group and `size` pool numbers; answers the class id.
async fn pool(app: &TestApp, setup: &str, monthly: &str, size: i64) -> i64 {
    let class = id(&app.admin("classes/create", &[("name", "Attack"), ("setup", setup), ("monthly", monthly)]).await);
    let ingroup = id(&app.admin("ingroups/create", &[("name", "Main")]).await);
    let answer = app
        .admin(
            "numbers/system/create",
            &[
                ("start", &nth(0)),
                ("end", &nth(size - 1)),
                ("class", &class.to_string()),
                ("ingroup", &ingroup.to_string()),
            ],
        )
        .await;
    assert_eq!(answer.data()["count"], size);
    class
}

async fn purchase(app: &TestApp, who: Who, number: &str, customer: i64) -> Answer {
    call(app, who, "numbers/purchase", &[("number", number), ("customer", &customer.to_string())]).await
}

/// The customer holding a number (0: the pool).
async fn holder(app: &TestApp, number: &str) -> i64 {
    let answer = app.admin("numbers/system/get", &[("number", number)]).await;
    answer.data()["customer"].as_i64().unwrap_or_else(|| panic!("no customer: {}", answer.body))
}

async fn ledger_rows(app: &TestApp, customer: i64) -> i64 {
    app.scalar_i64(&format!("SELECT COUNT(*) FROM ledger WHERE customer = {customer}")).await
}

async fn audited(app: &TestApp, name: &str) -> i64 {
    app.scalar_i64(&format!("SELECT COUNT(*) FROM audit WHERE call = '{name}'")).await
}

async fn balance_text(app: &TestApp, who: Who, customer: i64) -> String {
    let answer = call(app, who, "customers/balance/get", &[("customer", &customer.to_string())]).await;
    answer.data()["balance"].as_str().unwrap_or_else(|| panic!("no balance: {}", answer.body)).to_string()
}

fn numbers_of(answer: &Answer) -> Vec<String> {
    answer
        .data()
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", answer.body))
        .iter()
        .map(|r| r["number"].as_str().unwrap().to_string())
        .collect()
}

/// A 400 on exactly `keys` whose body is the same as `twin`'s: an unseen
/// object must read exactly like one that does not exist.
#[track_caller]
fn same_refusal(answer: &Answer, twin: &Answer, keys: &[&str]) {
    answer.expect_invalid(keys);
    assert_eq!(answer.body, twin.body, "an unseen object answers differently from a missing one");
}

/// Two resellers, each with a child customer, a reseller person (role 2)
/// each: ("ra", ra, ca) and ("rb", rb, cb).
struct Tenants {
    ra: i64,
    ca: i64,
    rb: i64,
    cb: i64,
}

const A: Who = ("reseller-a", PW);
const B: Who = ("reseller-b", PW);

async fn tenants(app: &TestApp) -> Tenants {
    let ra = customer(app, "Reseller A", 1).await;
    let rb = customer(app, "Reseller B", 1).await;
    let ca = customer(app, "Child A", ra).await;
    let cb = customer(app, "Child B", rb).await;
    person(app, A.0, 2, ra).await;
    person(app, B.0, 2, rb).await;
    Tenants { ra, ca, rb, cb }
}

both_databases! {
    async fn a_user_updates_only_numbers_they_own(backend) {
        let app = TestApp::spawn(backend).await;
        pool(&app, "0", "0", 3).await;
        let c = customer(&app, "Office", 1).await;
        let d = customer(&app, "Elsewhere", 1).await;
        let cs = c.to_string();
        let boss = ("boss", PW);
        person(&app, boss.0, 3, c).await;
        let alice = person(&app, "alice", 4, c).await;
        person(&app, "bob", 4, c).await;
        let stranger = person(&app, "stranger", 4, d).await;
        let (alice_w, bob_w): (Who, Who) = (("alice", PW), ("bob", PW));
        // A customer administrator buys for its own customer, never for another.
        purchase(&app, boss, &nth(0), c).await.expect("204");
        purchase(&app, boss, &nth(1), c).await.expect("204");
        let theirs = purchase(&app, boss, &nth(2), d).await;
        same_refusal(&theirs, &purchase(&app, boss, &nth(2), 99_999).await, &["customer"]);
        call(&app, boss, "numbers/update", &[("number", &nth(0)), ("owner", &alice.to_string())]).await.expect("204");
        // Users neither buy nor release.
        purchase(&app, alice_w, &nth(2), c).await.expect("402");
        call(&app, alice_w, "numbers/delete", &[("number", &nth(0))]).await.expect("402");
        // Bob may not touch Alice's number, nor one nobody owns; both read as missing.
        let not_his = call(&app, bob_w, "numbers/update", &[("number", &nth(0)), ("description", "mine now")]).await;
        not_his.expect("404");
        let missing = call(&app, bob_w, "numbers/update", &[("number", "7779999"), ("description", "x")]).await;
        assert_eq!(not_his.body, missing.body);
        call(&app, bob_w, "numbers/update", &[("number", &nth(1)), ("description", "x")]).await.expect("404");
        // Nor under validation=1, nor by naming the customer.
        call(&app, bob_w, "numbers/update", &[("number", &nth(0)), ("customer", &cs), ("owner", "0"), ("validation", "1")]).await.expect("404");
        // Alice edits hers, but may not hand it to a person of another customer.
        call(&app, alice_w, "numbers/update", &[("number", &nth(0)), ("description", "Alice's line")]).await.expect("204");
        let outside = call(&app, alice_w, "numbers/update", &[("number", &nth(0)), ("owner", &stranger.to_string())]).await;
        same_refusal(&outside, &call(&app, alice_w, "numbers/update", &[("number", &nth(0)), ("owner", "99999")]).await, &["owner"]);
        // Nor reach another customer's number by naming it.
        call(&app, alice_w, "numbers/update", &[("number", &nth(2)), ("customer", &d.to_string()), ("description", "x")]).await.expect_invalid(&["customer"]);
        let got = call(&app, boss, "numbers/get", &[("number", &nth(0))]).await;
        assert_eq!((got.data()["owner"].as_i64(), got.data()["description"].as_str()), (Some(alice), Some("Alice's line")));
        assert_eq!(audited(&app, "numbers/update").await, 2);
    }

    async fn read_only_roles_read_but_never_write(backend) {
        let app = TestApp::spawn(backend).await;
        pool(&app, "1", "1", 2).await;
        let t = tenants(&app).await;
        purchase(&app, OPERATOR, &nth(0), t.ca).await.expect("204");
        let viewer = role(&app, &[("user", "2"), ("administrator", "2"), ("wholesale", "2"), ("commerce", "2")]).await;
        person(&app, "viewer", viewer, t.ra).await;
        let v: Who = ("viewer", PW);
        let ca = t.ca.to_string();
        call(&app, v, "numbers/get", &[("number", &nth(0)), ("customer", &ca)]).await.expect("200");
        call(&app, v, "numbers/list", &[("customer", &ca)]).await.expect("200");
        call(&app, v, "customers/balance/get", &[("customer", &ca)]).await.expect("200");
        call(&app, v, "customers/transactions/list", &[("customer", &ca)]).await.expect("200");
        call(&app, v, "customers/charges/monthly", &[("customer", &ca)]).await.expect("200");
        call(&app, v, "numbers/purchase", &[("number", &nth(1)), ("customer", &ca)]).await.expect("402");
        call(&app, v, "numbers/update", &[("number", &nth(0)), ("customer", &ca), ("description", "x")]).await.expect("402");
        call(&app, v, "numbers/delete", &[("number", &nth(0)), ("customer", &ca)]).await.expect("402");
        call(&app, v, "customers/balance/add", &[("customer", &ca), ("amount", "5")]).await.expect("402");
        // Full commerce but read-only wholesale: reads reach the child, writes do not.
        let half = role(&app, &[("wholesale", "2"), ("commerce", "1"), ("administrator", "1"), ("user", "1")]).await;
        person(&app, "half", half, t.ra).await;
        let h: Who = ("half", PW);
        call(&app, h, "customers/balance/get", &[("customer", &ca)]).await.expect("200");
        call(&app, h, "customers/balance/add", &[("customer", &ca), ("amount", "5")]).await.expect_invalid(&["customer"]);
        call(&app, h, "numbers/purchase", &[("number", &nth(1)), ("customer", &ca)]).await.expect_invalid(&["customer"]);
        call(&app, h, "numbers/update", &[("number", &nth(0)), ("customer", &ca), ("description", "x")]).await.expect_invalid(&["customer"]);
        call(&app, h, "numbers/delete", &[("number", &nth(0)), ("customer", &ca)]).await.expect_invalid(&["customer"]);
        // Read-only system with full commerce in a reseller: not the keeper of its own ledger when writing.
        let auditor = role(&app, &[("system", "2"), ("commerce", "1")]).await;
        person(&app, "auditor", auditor, t.ra).await;
        let au: Who = ("auditor", PW);
        call(&app, au, "customers/balance/add", &[("customer", &t.ra.to_string()), ("amount", "5")]).await.expect_invalid(&["customer"]);
        call(&app, au, "customers/balance/add", &[("customer", "1"), ("amount", "5")]).await.expect_invalid(&["customer"]);
        call(&app, au, "customers/balance/add", &[("customer", &t.rb.to_string()), ("amount", "5")]).await.expect_invalid(&["customer"]);
        assert_eq!(holder(&app, &nth(1)).await, 0);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM ledger WHERE type <> 'setup'").await, 0);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM number_routes").await, 0);
    }

    async fn another_tenants_customers_and_numbers_read_as_missing(backend) {
        let app = TestApp::spawn(backend).await;
        pool(&app, "1", "1", 4).await;
        let t = tenants(&app).await;
        let (ca, cb) = (t.ca.to_string(), t.cb.to_string());
        purchase(&app, B, &nth(0), t.cb).await.expect("204");
        purchase(&app, A, &nth(1), t.ca).await.expect("204");
        // Another tenant's customer, for every call that takes one.
        let missing = "99999";
        for (name, extra) in [
            ("numbers/purchase", vec![("number", nth(2))]),
            ("numbers/get", vec![("number", nth(0))]),
            ("numbers/update", vec![("number", nth(0)), ("description", "x".into())]),
            ("numbers/delete", vec![("number", nth(0))]),
            ("numbers/list", vec![]),
            ("customers/balance/add", vec![("amount", "10".into())]),
            ("customers/balance/get", vec![]),
            ("customers/transactions/list", vec![]),
            ("customers/charges/monthly", vec![]),
        ] {
            let with = |c: &str| {
                let mut p: Vec<(&str, String)> = extra.clone();
                p.push(("customer", c.to_string()));
                p
            };
            let ask = |p: Vec<(&'static str, String)>| {
                let app = &app;
                async move {
                    let pairs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    call(app, A, name, &pairs).await
                }
            };
            let theirs = ask(with(&cb)).await;
            let nowhere = ask(with(missing)).await;
            theirs.expect_invalid(&["customer"]);
            assert_eq!(theirs.body, nowhere.body, "{name}");
            // Above it and beside it too.
            ask(with(&t.rb.to_string())).await.expect_invalid(&["customer"]);
            ask(with("1")).await.expect_invalid(&["customer"]);
        }
        // Another tenant's number under one's own customer reads as a missing number.
        for name in ["numbers/get", "numbers/delete"] {
            let theirs = call(&app, A, name, &[("number", &nth(0)), ("customer", &ca)]).await;
            theirs.expect("404");
            assert_eq!(theirs.body, call(&app, A, name, &[("number", "7779999"), ("customer", &ca)]).await.body, "{name}");
        }
        let theirs = call(&app, A, "numbers/update", &[("number", &nth(0)), ("customer", &ca), ("description", "x")]).await;
        theirs.expect("404");
        assert_eq!(theirs.body, call(&app, A, "numbers/update", &[("number", "7779999"), ("customer", &ca), ("description", "x")]).await.body);
        // Buying a held number reads like buying one that does not exist.
        same_refusal(&purchase(&app, A, &nth(0), t.ca).await, &purchase(&app, A, "7779999", t.ca).await, &["number"]);
        // A's list does not show B's number.
        assert_eq!(numbers_of(&call(&app, A, "numbers/list", &[("customer", &ca)]).await), [nth(1)]);
        assert_eq!(holder(&app, &nth(0)).await, t.cb);
        assert_eq!(balance_text(&app, B, t.cb).await, "-1.0000");
        assert_eq!(ledger_rows(&app, t.cb).await, 1);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM number_routes").await, 0);
    }

    async fn routing_never_reaches_another_tenants_objects(backend) {
        let app = TestApp::spawn(backend).await;
        pool(&app, "0", "0", 4).await;
        let t = tenants(&app).await;
        let (ca, cb) = (t.ca.to_string(), t.cb.to_string());
        purchase(&app, B, &nth(0), t.cb).await.expect("204");
        purchase(&app, A, &nth(1), t.ca).await.expect("204");
        purchase(&app, A, &nth(2), t.ra).await.expect("204");
        call(&app, B, "codes/create", &[("code", "*44"), ("dtype", "hangup"), ("dnumber", ""), ("customer", &cb)]).await.expect("204");
        let music = id(&call(&app, B, "music/create", &[("name", "Theirs"), ("customer", &cb)]).await);
        let records = id(&call(&app, B, "recording/groups/create", &[("name", "Theirs"), ("customer", &cb)]).await);
        let times = id(&call(&app, B, "timegroups/create", &[("name", "Theirs"), ("customer", &cb)]).await);
        let mine = |extra: &[(&'static str, String)]| {
            let app = &app;
            let mut p: Vec<(&'static str, String)> = vec![("number", nth(1)), ("customer", ca.clone())];
            p.extend_from_slice(extra);
            async move {
                let pairs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
                call(app, A, "numbers/update", &pairs).await
            }
        };
        let s = |v: &str| v.to_string();
        for (theirs, missing, key) in [
            (vec![("dtype", s("number")), ("dnumber", nth(0))], vec![("dtype", s("number")), ("dnumber", s("7779999"))], "dnumber"),
            // The reseller's own number is not its child's to route to either.
            (vec![("dtype", s("number")), ("dnumber", nth(2))], vec![("dtype", s("number")), ("dnumber", s("7779998"))], "dnumber"),
            (vec![("dtype", s("code")), ("dnumber", s("*44"))], vec![("dtype", s("code")), ("dnumber", s("*45"))], "dnumber"),
            (
                vec![("fax_detect", s("1")), ("fax_dtype", s("number")), ("fax_dnumber", nth(0))],
                vec![("fax_detect", s("1")), ("fax_dtype", s("number")), ("fax_dnumber", s("7779999"))],
                "fax_dnumber",
            ),
            (vec![("music", music.to_string())], vec![("music", s("99999"))], "music"),
            (vec![("recordgroup", records.to_string())], vec![("recordgroup", s("99999"))], "recordgroup"),
            (vec![("routing", format!("timegroup_{times}"))], vec![("routing", s("timegroup_99999"))], "routing"),
        ] {
            same_refusal(&mine(&theirs).await, &mine(&missing).await, &[key]);
            let mut validated = theirs.clone();
            validated.push(("validation", s("1")));
            mine(&validated).await.expect_invalid(&[key]);
        }
        // A number cannot route to itself.
        mine(&[("dtype", s("number")), ("dnumber", nth(1))]).await.expect_invalid(&["dnumber"]);
        let got = call(&app, A, "numbers/get", &[("number", &nth(1)), ("customer", &ca)]).await;
        assert_eq!((got.data()["dtype"].as_str(), got.data()["music"].as_i64()), (Some("hangup"), Some(0)));
        // B can still release its number: nothing of A's routes to it.
        call(&app, B, "numbers/delete", &[("number", &nth(0)), ("customer", &cb)]).await.expect("204");
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM number_routes").await, 0);
    }

    async fn a_released_or_moved_number_keeps_nothing_of_its_last_holder(backend) {
        let app = TestApp::spawn(backend).await;
        pool(&app, "0", "0", 3).await;
        let t = tenants(&app).await;
        let (ca, cb) = (t.ca.to_string(), t.cb.to_string());
        let secret = |n: i64| {
            let app = &app;
            let ca = ca.clone();
            async move {
                call(app, A, "numbers/update", &[
                    ("number", &nth(n)), ("customer", &ca), ("description", "secret"), ("password", "4321"),
                    ("sname", "Hidden"), ("callerid", "5551234"), ("dtype", "phone"), ("dnumber", "5559876"),
                ]).await.expect("204");
            }
        };
        purchase(&app, A, &nth(0), t.ca).await.expect("204");
        purchase(&app, A, &nth(1), t.ca).await.expect("204");
        secret(0).await;
        secret(1).await;
        // Released, then bought by another tenant.
        call(&app, A, "numbers/delete", &[("number", &nth(0)), ("customer", &ca)]).await.expect("204");
        purchase(&app, B, &nth(0), t.cb).await.expect("204");
        // Moved by the operator.
        app.admin("numbers/system/update", &[("number", &nth(1)), ("customer", &cb)]).await.expect("204");
        for n in [0, 1] {
            let got = call(&app, B, "numbers/get", &[("number", &nth(n)), ("customer", &cb)]).await;
            let d = got.data();
            assert_eq!(
                json!([d["description"], d["password"], d["sname"], d["callerid"], d["dtype"], d["dnumber"]]),
                json!(["", "", "", "", "hangup", ""]),
                "{}", got.body
            );
        }
        let listed = call(&app, B, "numbers/list", &[("customer", &cb)]).await;
        assert!(listed.data().as_array().unwrap().iter().all(|r| r["password"] == "" && r["description"] == ""), "{}", listed.body);
        assert_eq!(app.scalar_i64(&format!("SELECT COUNT(*) FROM number_routes WHERE customer = {}", t.ca)).await, 0);
    }

    async fn system_update_refuses_to_move_a_routed_number(backend) {
        let app = TestApp::spawn(backend).await;
        pool(&app, "0", "0", 3).await;
        let c = customer(&app, "Holder", 1).await;
        let d = customer(&app, "Taker", 1).await;
        let cs = c.to_string();
        purchase(&app, OPERATOR, &nth(0), c).await.expect("204");
        purchase(&app, OPERATOR, &nth(1), c).await.expect("204");
        // A fax route only, on a number: it counts as routing too.
        app.admin("numbers/update", &[
            ("number", &nth(1)), ("customer", &cs), ("fax_detect", "1"), ("fax_dtype", "number"), ("fax_dnumber", &nth(0)),
        ]).await.expect("204");
        for to in [d.to_string(), "0".to_string()] {
            let refused = app.admin("numbers/system/update", &[("number", &nth(0)), ("customer", &to)]).await;
            refused.expect_invalid(&["customer"]);
            assert!(refused.body["responses"][0]["message"].as_str().unwrap().contains(&nth(1)), "{}", refused.body);
        }
        // Not moving it (same holder, other fields) is fine.
        app.admin("numbers/system/update", &[("number", &nth(0)), ("customer", &cs)]).await.expect("204");
        app.admin("numbers/system/update", &[("number", &nth(0)), ("alias", "123")]).await.expect("204");
        app.admin("numbers/delete", &[("number", &nth(0)), ("customer", &cs)]).await.expect_invalid(&["number"]);
        assert_eq!(holder(&app, &nth(0)).await, c);
        // The number that routes may move; its route stays behind.
        app.admin("numbers/system/update", &[("number", &nth(1)), ("customer", &d.to_string())]).await.expect("204");
        app.admin("numbers/delete", &[("number", &nth(0)), ("customer", &cs)]).await.expect("204");
        let moved = app.admin("numbers/get", &[("number", &nth(1)), ("customer", &d.to_string())]).await;
        assert_eq!((moved.data()["fax_dtype"].as_str(), moved.data()["fax_dnumber"].as_str()), (Some(""), Some("")));
    }

    async fn system_delete_force_batch_and_all_or_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let class = pool(&app, "0", "0", 4).await;
        let t = tenants(&app).await;
        let (ca, cb) = (t.ca.to_string(), t.cb.to_string());
        purchase(&app, A, &nth(0), t.ca).await.expect("204");
        purchase(&app, A, &nth(1), t.ca).await.expect("204");
        purchase(&app, B, &nth(2), t.cb).await.expect("204");
        call(&app, A, "codes/create", &[("code", "*50"), ("dtype", "number"), ("dnumber", &nth(0)), ("customer", &ca)]).await.expect("204");
        call(&app, A, "codes/create", &[
            ("code", "*51"), ("dtype", "hangup"), ("dnumber", ""), ("fax_detect", "1"), ("fax_dtype", "number"), ("fax_dnumber", &nth(1)), ("customer", &ca),
        ]).await.expect("204");
        call(&app, B, "numbers/update", &[("number", &nth(2)), ("customer", &cb), ("description", "B's")]).await.expect("204");
        // A range with a missing number (existing=fail): nothing is deleted and nothing is cleared, even with force.
        let partial = app.admin("numbers/system/delete", &[("number", &nth(0)), ("end", &nth(9)), ("force", "1")]).await;
        assert_ne!(partial.code(), "200", "{}", partial.body);
        let code = call(&app, A, "codes/get", &[("code", "*50"), ("customer", &ca)]).await;
        assert_eq!((code.data()["dtype"].as_str(), code.data()["dnumber"].as_str()), (Some("number"), Some(nth(0).as_str())));
        assert_eq!(holder(&app, &nth(0)).await, t.ca);
        let kept = call(&app, B, "numbers/get", &[("number", &nth(2)), ("customer", &cb)]).await;
        assert_eq!(kept.data()["description"], "B's");
        // Without force, refused naming the codes; with a bad force, a 400 on force.
        let refused = app.admin("numbers/system/delete", &[("number", &nth(0)), ("end", &nth(3))]).await;
        refused.expect_invalid(&["number"]);
        let message = refused.body["responses"][0]["message"].as_str().unwrap();
        assert!(message.contains("*50") && message.contains("*51"), "{message}");
        app.admin("numbers/system/delete", &[("number", &nth(0)), ("force", "2")]).await.expect_invalid(&["force"]);
        app.admin("numbers/system/delete", &[("number", &nth(0)), ("batch", "1")]).await.expect_invalid(&["batch"]);
        app.admin("numbers/system/delete", &[("number", "")]).await.expect_invalid(&["number"]);
        app.admin("numbers/system/delete", &[("batch", "99999"), ("force", "1")]).await.expect("404");
        // validation=1 with force clears nothing.
        app.admin("numbers/system/delete", &[("number", &nth(0)), ("end", &nth(3)), ("force", "1"), ("validation", "1")]).await.expect("201");
        assert_eq!(holder(&app, &nth(0)).await, t.ca);
        // The whole batch, forced: both codes cleared, by call and by fax.
        let batch = app.admin("numbers/system/get", &[("number", &nth(0))]).await.data()["batch"].as_i64().unwrap().to_string();
        let forced = app.admin("numbers/system/delete", &[("batch", &batch), ("force", "1")]).await;
        assert_eq!(forced.data(), &json!({"codes": 2, "numbers": 0}));
        let c50 = call(&app, A, "codes/get", &[("code", "*50"), ("customer", &ca)]).await;
        assert_eq!((c50.data()["dtype"].as_str(), c50.data()["dnumber"].as_str()), (Some("hangup"), Some("")));
        let c51 = call(&app, A, "codes/get", &[("code", "*51"), ("customer", &ca)]).await;
        assert_eq!((c51.data()["fax_dtype"].as_str(), c51.data()["fax_dnumber"].as_str()), (Some(""), Some("")));
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM number_routes").await, 0);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM numbers").await, 0);
        // Recreated and bought again: nothing of before.
        app.admin("numbers/system/create", &[("start", &nth(2)), ("class", &class.to_string()), ("ingroup", "1")]).await.expect("200");
        purchase(&app, A, &nth(2), t.ca).await.expect("204");
        let fresh = call(&app, A, "numbers/get", &[("number", &nth(2)), ("customer", &ca)]).await;
        assert_eq!(fresh.data()["description"], "");
    }

    async fn one_number_bought_by_two_tenants_at_once_is_sold_once(backend) {
        let app = TestApp::spawn(backend).await;
        pool(&app, "3.5", "1", 1).await;
        let t = tenants(&app).await;
        let mut tasks = Vec::new();
        for i in 0..200 {
            let (who, customer) = if i % 2 == 0 { (A, t.ca) } else { (B, t.cb) };
            let client = app.client.clone();
            let url = app.url("numbers/purchase");
            tasks.push(tokio::spawn(async move {
                let form = [
                    ("auth_username", who.0.to_string()),
                    ("auth_password", who.1.to_string()),
                    ("number", nth(0)),
                    ("customer", customer.to_string()),
                ];
                Answer::from(client.post(url).form(&form).send().await.unwrap()).await
            }));
        }
        let mut sold = 0;
        for task in tasks {
            let answer = task.await.unwrap();
            match answer.code() {
                "204" => sold += 1,
                _ => {
                    answer.expect_invalid(&["number"]);
                }
            }
        }
        assert_eq!(sold, 1);
        let buyer = holder(&app, &nth(0)).await;
        assert!(buyer == t.ca || buyer == t.cb);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM ledger").await, 1);
        assert_eq!(ledger_rows(&app, buyer).await, 1);
        let who = if buyer == t.ca { A } else { B };
        assert_eq!(balance_text(&app, who, buyer).await, "-3.5000");
        assert_eq!(audited(&app, "numbers/purchase").await, 1);
    }

    async fn balance_add_under_one_idempotency_key_acts_once(backend) {
        let app = TestApp::spawn(backend).await;
        let t = tenants(&app).await;
        let send = |who: Who, customer: i64, amount: &'static str, key: &'static str| {
            let client = app.client.clone();
            let url = app.url("customers/balance/add");
            async move {
                let form = [
                    ("auth_username", who.0.to_string()),
                    ("auth_password", who.1.to_string()),
                    ("customer", customer.to_string()),
                    ("amount", amount.to_string()),
                ];
                Answer::from(client.post(url).header("Idempotency-Key", key).form(&form).send().await.unwrap()).await
            }
        };
        let tasks: Vec<_> = (0..200).map(|_| tokio::spawn(send(A, t.ca, "12.3456", "topup-1"))).collect();
        for task in tasks {
            task.await.unwrap().expect("204");
        }
        assert_eq!(ledger_rows(&app, t.ca).await, 1);
        assert_eq!(balance_text(&app, A, t.ca).await, "12.3456");
        assert_eq!(audited(&app, "customers/balance/add").await, 1);
        // The same key with another amount is refused, and acts not.
        send(A, t.ca, "99", "topup-1").await.expect_invalid(&["Idempotency-Key"]);
        // Keys belong to the person: another tenant's same key acts for it, and reveals nothing of A's.
        send(B, t.cb, "12.3456", "topup-1").await.expect("204");
        send(B, t.cb, "1", "topup-1").await.expect_invalid(&["Idempotency-Key"]);
        assert_eq!(ledger_rows(&app, t.cb).await, 1);
        assert_eq!(ledger_rows(&app, t.ca).await, 1);
        // B replaying A's key against A's customer is refused as unseen, never A's answer.
        send(B, t.ca, "12.3456", "topup-2").await.expect_invalid(&["customer"]);
    }

    async fn money_at_its_limits(backend) {
        let app = TestApp::spawn(backend).await;
        let c = customer(&app, "Money", 1).await;
        let cs = c.to_string();
        let add = |amount: &'static str| {
            let app = &app;
            let cs = cs.clone();
            async move { app.admin("customers/balance/add", &[("customer", cs.as_str()), ("amount", amount)]).await }
        };
        for bad in [
            "", "0", "-0", "-0.0000", "0.00001", "1000000000.0001", "-1000000000.0001", "1000000001",
            "99999999999999999999", "9223372036854775807", "-9223372036854775808", "1e3", "+1", " 1", "1 ", ".5", "1.",
            "1,5", "--1", "0x10", "１", "NaN", "inf", "1.5.5", "-",
        ] {
            let answer = add(bad).await;
            assert_eq!(answer.code(), "400", "amount {bad:?}: {}", answer.body);
            assert_eq!(answer.keys(), ["amount"], "amount {bad:?}: {}", answer.body);
        }
        assert_eq!(ledger_rows(&app, c).await, 0);
        add("1000000000").await.expect("204");
        add("1000000000.0000").await.expect("204");
        add("-1000000000").await.expect("204");
        add("-0.0001").await.expect("204");
        add("0000000000000000000000007.5").await.expect("204");
        assert_eq!(balance_text(&app, OPERATOR, c).await, "1000000007.4999");
        let rows = app.admin("customers/transactions/list", &[("customer", &cs)]).await;
        let amounts: Vec<&str> = rows.data().as_array().unwrap().iter().map(|r| r["amount"].as_str().unwrap()).collect();
        assert_eq!(amounts, ["1000000000.0000", "1000000000.0000", "-1000000000.0000", "-0.0001", "7.5000"]);
        let types: Vec<&str> = rows.data().as_array().unwrap().iter().map(|r| r["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["credit", "credit", "adjustment", "adjustment", "credit"]);
        // validation=1 writes nothing.
        app.admin("customers/balance/add", &[("customer", &cs), ("amount", "5"), ("validation", "1")]).await.expect("201");
        assert_eq!(ledger_rows(&app, c).await, 5);
        // Prices: at most a million, never negative, "-0" is zero and reads as such.
        for bad in ["-1", "-0.0001", "1000000.0001", "1e2", "1.00001", "abc"] {
            let answer = app.admin("classes/create", &[("name", "Bad"), ("setup", bad)]).await;
            assert_eq!((answer.code(), answer.keys()), ("400", vec!["setup"]), "setup {bad:?}: {}", answer.body);
            let answer = app.admin("classes/create", &[("name", "Bad"), ("monthly", bad)]).await;
            assert_eq!((answer.code(), answer.keys()), ("400", vec!["monthly"]), "monthly {bad:?}: {}", answer.body);
        }
        let zero = app.admin("classes/create", &[("name", "Zero"), ("setup", "-0"), ("monthly", "-0.0")]).await;
        if zero.code() == "200" {
            let classes = app.admin("classes/list", &[]).await;
            let row = classes.data().as_array().unwrap().iter().find(|r| r["name"] == "Zero").unwrap().clone();
            assert_eq!((row["setup"].as_str(), row["monthly"].as_str()), (Some("0.0000"), Some("0.0000")), "{row}");
        }
    }

    async fn the_largest_prices_times_many_numbers_stay_exact(backend) {
        let app = TestApp::spawn(backend).await;
        let class = id(&app.admin("classes/create", &[("name", "Dear"), ("setup", "1000000"), ("monthly", "999999.9999")]).await);
        let ingroup = id(&app.admin("ingroups/create", &[("name", "Main")]).await);
        let c = customer(&app, "Rich", 1).await;
        let cs = c.to_string();
        let answer = app.admin("numbers/system/create", &[
            ("start", "8000000"), ("end", "8002999"), ("class", &class.to_string()), ("ingroup", &ingroup.to_string()),
            ("customer", &cs), ("charge_customer", "1"),
        ]).await;
        assert_eq!(answer.data()["count"], 3000);
        assert_eq!(balance_text(&app, OPERATOR, c).await, "-3000000000.0000");
        let monthly = app.admin("customers/charges/monthly", &[("customer", &cs)]).await;
        assert_eq!(monthly.data()["total"], "2999999999.7000", "{}", monthly.body);
        assert_eq!(monthly.data()["classes"][0]["count"], 3000);
        let rows = app.admin("customers/transactions/list", &[("customer", &cs)]).await;
        let row = &rows.data()[0];
        assert_eq!((row["amount"].as_str(), row["count"].as_i64(), row["type"].as_str()), (Some("-3000000000.0000"), Some(3000), Some("setup")));
        // Credits at the per-call limit on top stay exact.
        for _ in 0..5 {
            app.admin("customers/balance/add", &[("customer", &cs), ("amount", "1000000000")]).await.expect("204");
        }
        assert_eq!(balance_text(&app, OPERATOR, c).await, "2000000000.0000");
    }

    async fn streamed_lists_at_the_edges_of_their_parameters(backend) {
        let app = TestApp::spawn(backend).await;
        pool(&app, "1", "1", 3).await;
        let c = customer(&app, "Lister", 1).await;
        let cs = c.to_string();
        for n in 0..3 {
            purchase(&app, OPERATOR, &nth(n), c).await.expect("204");
        }
        app.admin("numbers/update", &[("number", &nth(0)), ("customer", &cs), ("dtype", "phone"), ("dnumber", "5550002")]).await.expect("204");
        app.admin("numbers/update", &[("number", &nth(2)), ("customer", &cs), ("dtype", "busy"), ("dnumber", "")]).await.expect("204");
        let list = |extra: &[(&'static str, &'static str)]| {
            let app = &app;
            let mut p: Vec<(&str, &str)> = vec![("customer", cs.as_str())];
            p.extend_from_slice(extra);
            let p: Vec<(String, String)> = p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            async move {
                let pairs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                app.admin("numbers/list", &pairs).await
            }
        };
        let all = [nth(0), nth(1), nth(2)];
        assert_eq!(numbers_of(&list(&[("sort", "")]).await), all);
        assert_eq!(numbers_of(&list(&[("callerid", "")]).await), all);
        assert_eq!(numbers_of(&list(&[("sort", ""), ("callerid", ""), ("limit", ""), ("offset", ""), ("descending", "")]).await), all);
        // destination: (dtype, dnumber, number): busy < hangup < phone.
        assert_eq!(numbers_of(&list(&[("sort", "destination")]).await), [nth(2), nth(1), nth(0)]);
        assert_eq!(numbers_of(&list(&[("sort", "destination"), ("descending", "1")]).await), [nth(0), nth(1), nth(2)]);
        // dnumber: "" (1, 2) before "5550002" (0).
        assert_eq!(numbers_of(&list(&[("sort", "dnumber")]).await), [nth(1), nth(2), nth(0)]);
        assert_eq!(numbers_of(&list(&[("sort", "dnumber"), ("limit", "1"), ("offset", "2")]).await), [nth(0)]);
        assert!(numbers_of(&list(&[("offset", "9223372036854775807")]).await).is_empty());
        assert_eq!(numbers_of(&list(&[("limit", "9223372036854775807")]).await), all);
        assert_eq!(list(&[("sort", "dnumber"), ("count", "1")]).await.data()["count"], 3);
        for (key, bad) in [
            ("sort", "NUMBER"), ("sort", "number;drop"), ("sort", "n.number"), ("sort", "1"), ("callerid", "2"),
            ("callerid", "-1"), ("limit", "-1"), ("offset", "-1"), ("limit", "1.5"), ("descending", "yes"),
            ("offset", "9223372036854775808"),
        ] {
            let answer = list(&[(key, bad)]).await;
            assert_eq!((answer.code(), answer.keys()), ("400", vec![key]), "{key}={bad}: {}", answer.body);
        }
        // The ledger's list: bounds in any order, at any size.
        let tx = |extra: &[(&'static str, &'static str)]| {
            let app = &app;
            let mut p: Vec<(String, String)> = vec![("customer".into(), cs.clone())];
            p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            async move {
                let pairs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                app.admin("customers/transactions/list", &pairs).await
            }
        };
        assert_eq!(tx(&[]).await.data().as_array().unwrap().len(), 3);
        assert_eq!(tx(&[("since", ""), ("until", "")]).await.data().as_array().unwrap().len(), 3);
        assert!(tx(&[("since", "9223372036854775807")]).await.data().as_array().unwrap().is_empty());
        assert_eq!(tx(&[("until", "9223372036854775807")]).await.data().as_array().unwrap().len(), 3);
        assert!(tx(&[("until", "1")]).await.data().as_array().unwrap().is_empty());
        assert!(tx(&[("since", "4000000000"), ("until", "10")]).await.data().as_array().unwrap().is_empty());
        assert_eq!(tx(&[("since", "9223372036854775807"), ("count", "1")]).await.data()["count"], 0);
        assert_eq!(tx(&[("until", "9223372036854775807"), ("count", "1")]).await.data()["count"], 3);
        let newest = tx(&[("descending", "1"), ("limit", "1")]).await;
        assert_eq!(newest.data()[0]["number"], nth(2));
        for (key, bad) in [("since", "-1"), ("until", "-1"), ("since", "abc"), ("until", "9223372036854775808"), ("since", "1.5")] {
            let answer = tx(&[(key, bad)]).await;
            assert_eq!((answer.code(), answer.keys()), ("400", vec![key]), "{key}={bad}: {}", answer.body);
        }
    }

    async fn validation_writes_nothing_on_update_release_and_ledger(backend) {
        let app = TestApp::spawn(backend).await;
        pool(&app, "2", "1", 2).await;
        let c = customer(&app, "Careful", 1).await;
        let cs = c.to_string();
        purchase(&app, OPERATOR, &nth(0), c).await.expect("204");
        let before = audited(&app, "numbers/update").await;
        app.admin("numbers/update", &[("number", &nth(0)), ("customer", &cs), ("description", "x"), ("validation", "1")]).await.expect("201");
        app.admin("numbers/delete", &[("number", &nth(0)), ("customer", &cs), ("validation", "1")]).await.expect("201");
        app.admin("numbers/delete", &[("number", &nth(1)), ("customer", &cs), ("validation", "1")]).await.expect("404");
        let got = app.admin("numbers/get", &[("number", &nth(0)), ("customer", &cs)]).await;
        assert_eq!(got.data()["description"], "");
        assert_eq!(holder(&app, &nth(0)).await, c);
        assert_eq!(audited(&app, "numbers/update").await, before);
        assert_eq!(audited(&app, "numbers/delete").await, 0);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM number_routes").await, 0);
        assert_eq!(ledger_rows(&app, c).await, 1);
    }

    async fn ledger_reads_of_a_customer_with_nothing_and_of_deep_children(backend) {
        let app = TestApp::spawn(backend).await;
        let t = tenants(&app).await;
        let grandchild = customer(&app, "Grandchild A", t.ca).await;
        let g = grandchild.to_string();
        // Nothing yet: zero, empty, and no classes (PostgreSQL's SUM is numeric, its COUNT bigint).
        let got = call(&app, A, "customers/balance/get", &[("customer", &g)]).await;
        assert_eq!(got.data(), &json!({"customer": grandchild, "balance": "0.0000"}));
        let monthly = call(&app, A, "customers/charges/monthly", &[("customer", &g)]).await;
        assert_eq!(monthly.data(), &json!({"customer": grandchild, "classes": [], "total": "0.0000"}));
        assert_eq!(call(&app, A, "customers/transactions/list", &[("customer", &g), ("count", "1")]).await.data()["count"], 0);
        call(&app, A, "customers/balance/add", &[("customer", &g), ("amount", "-2.5"), ("description", "late fee")]).await.expect("204");
        let rows = call(&app, A, "customers/transactions/list", &[("customer", &g)]).await;
        let row = &rows.data()[0];
        assert_eq!(
            json!([row["type"], row["amount"], row["description"], row["class"], row["count"], row["number"]]),
            json!(["adjustment", "-2.5000", "late fee", 0, 0, ""])
        );
        // The child's own ledger keeper is A, not the child's administrator.
        person(&app, "child-admin", 2, t.ca).await;
        let child_admin: Who = ("child-admin", PW);
        call(&app, child_admin, "customers/balance/get", &[("customer", &g)]).await.expect("200");
        call(&app, child_admin, "customers/balance/get", &[("customer", &t.ca.to_string())]).await.expect_invalid(&["customer"]);
        call(&app, child_admin, "customers/balance/add", &[("customer", &t.ca.to_string()), ("amount", "100")]).await.expect_invalid(&["customer"]);
        call(&app, child_admin, "customers/balance/get", &[("customer", &t.ra.to_string())]).await.expect_invalid(&["customer"]);
        // Non-numeric and empty customers.
        call(&app, A, "customers/balance/get", &[("customer", "")]).await.expect_invalid(&["customer"]);
        call(&app, A, "customers/balance/get", &[("customer", "abc")]).await.expect_invalid(&["customer"]);
        call(&app, A, "customers/balance/get", &[("customer", "-1")]).await.expect_invalid(&["customer"]);
        call(&app, A, "customers/balance/get", &[("customer", "9223372036854775807")]).await.expect_invalid(&["customer"]);
        assert_eq!(balance_text(&app, A, grandchild).await, "-2.5000");
        let _ = Value::Null;
    }
}

both_databases! {
    async fn two_numbers_routed_to_each_other_at_once(backend) {
        // Each update holds the number it routes to, then locks its own: two
        // crossed updates must both be answered (a loop is the customer's
        // business), never with a database deadlock as a 500.
        let app = TestApp::spawn(backend).await;
        pool(&app, "0", "0", 2).await;
        let c = customer(&app, "Crossed", 1).await;
        let cs = c.to_string();
        purchase(&app, OPERATOR, &nth(0), c).await.expect("204");
        purchase(&app, OPERATOR, &nth(1), c).await.expect("204");
        let (m, n) = (nth(0), nth(1));
        let m_to_n = [("number", m.as_str()), ("customer", cs.as_str()), ("dtype", "number"), ("dnumber", n.as_str())];
        let n_to_m = [("number", n.as_str()), ("customer", cs.as_str()), ("dtype", "number"), ("dnumber", m.as_str())];
        for round in 0..15 {
            let (a, b) = tokio::join!(app.admin("numbers/update", &m_to_n), app.admin("numbers/update", &n_to_m));
            assert_eq!((a.code(), b.code()), ("204", "204"), "round {round}: {} {}", a.body, b.body);
            for x in [&m, &n] {
                app.admin("numbers/update", &[("number", x), ("customer", &cs), ("dtype", "hangup"), ("dnumber", "")]).await.expect("204");
            }
        }
    }

    async fn a_number_never_routes_to_a_deleted_code(backend) {
        // numbers/delete refuses while a code routes to the number; the other
        // way round, a code that a number routes to (dtype=code) must not
        // vanish under it either: refused, or the number no longer routes there.
        let app = TestApp::spawn(backend).await;
        pool(&app, "0", "0", 1).await;
        let c = customer(&app, "Coded", 1).await;
        let cs = c.to_string();
        purchase(&app, OPERATOR, &nth(0), c).await.expect("204");
        app.admin("codes/create", &[("code", "*60"), ("dtype", "busy"), ("dnumber", ""), ("customer", &cs)]).await.expect("204");
        app.admin("numbers/update", &[("number", &nth(0)), ("customer", &cs), ("dtype", "code"), ("dnumber", "*60")]).await.expect("204");
        let deleted = app.admin("codes/delete", &[("code", "*60"), ("customer", &cs)]).await;
        if deleted.code() != "204" {
            deleted.expect_invalid(&["code"]);
        }
        let code = app.admin("codes/get", &[("code", "*60"), ("customer", &cs)]).await;
        let number = app.admin("numbers/get", &[("number", &nth(0)), ("customer", &cs)]).await;
        let routes_to_code = number.data()["dtype"] == "code" && number.data()["dnumber"] == "*60";
        assert!(
            code.code() == "200" || !routes_to_code,
            "code *60 was deleted ({}) while number {} still routes to it: {}",
            deleted.body, nth(0), number.body
        );
    }
}
