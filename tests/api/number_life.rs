//! A number's whole life for billing portals (issue 13): purchase from the
//! pool under the rate plan, routing, reading back, release, and the ledger of
//! what it cost. Amounts are decimal strings with exactly four places, read
//! here as integers of 1/10,000 and never as floats.

use crate::{
    both_databases,
    common::*,
    tenancy::{PW, customer, person},
};
use serde_json::{Value, json};

/// Who makes a call: username and password.
type Who = (&'static str, &'static str);
const OPERATOR: Who = (ADMIN, ADMIN_PASSWORD);
const RESELLER: Who = ("reseller", PW);

/// The first pool number; pools here are 5550000, 5550001, ...
const FIRST: i64 = 5_550_000;

async fn call(app: &TestApp, who: Who, call: &str, params: &[(&str, &str)]) -> Answer {
    app.call_as(who.0, who.1, call, params).await
}

fn id(answer: &Answer) -> i64 {
    answer.data()["id"].as_i64().unwrap_or_else(|| panic!("no id: {}", answer.body))
}

fn nth(n: i64) -> String {
    (FIRST + n).to_string()
}

/// A class priced `setup` and `monthly`, an inbound group, and `size` pool
/// numbers from 5550000 in them; answers the class id.
async fn pool(app: &TestApp, setup: &str, monthly: &str, size: i64) -> i64 {
    let class =
        id(&app.admin("classes/create", &[("name", "Geographic"), ("setup", setup), ("monthly", monthly)]).await);
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

/// A plan whose `numbers` feature allows at most `maximum`; answers its id.
async fn numbers_plan(app: &TestApp, maximum: &str) -> i64 {
    let plan = id(&app.admin("plans/create", &[("name", "Numbers")]).await);
    app.admin("plans/features/set", &[("plan", &plan.to_string()), ("feature", "numbers"), ("maximum", maximum)])
        .await
        .expect("204");
    plan
}

/// A customer under `parent` on `plan`, created by the operator; answers its id.
async fn customer_on(app: &TestApp, name: &str, parent: i64, plan: i64) -> i64 {
    id(&app
        .admin(
            "customers/create",
            &[
                ("name", name),
                ("email", "ops@example.com"),
                ("plan", &plan.to_string()),
                ("parent", &parent.to_string()),
            ],
        )
        .await)
}

async fn purchase(app: &TestApp, who: Who, number: &str, customer: i64) -> Answer {
    call(app, who, "numbers/purchase", &[("number", number), ("customer", &customer.to_string())]).await
}

/// The customer a number of the inventory belongs to (0: the pool).
async fn holder(app: &TestApp, number: &str) -> i64 {
    let answer = app.admin("numbers/system/get", &[("number", number)]).await;
    answer.data()["customer"].as_i64().unwrap_or_else(|| panic!("no customer: {}", answer.body))
}

/// An amount as answered ("-1.5000": exactly four places) in 1/10,000.
#[track_caller]
fn money(value: &Value) -> i64 {
    let text = value.as_str().unwrap_or_else(|| panic!("an amount that is not a string: {value}"));
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text),
    };
    let well_formed = digits.split_once('.').filter(|(whole, fraction)| {
        !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.len() == 4
            && fraction.bytes().all(|b| b.is_ascii_digit())
    });
    let (whole, fraction) = well_formed.unwrap_or_else(|| panic!("not an amount with exactly four places: {text:?}"));
    sign * (whole.parse::<i64>().unwrap() * 10_000 + fraction.parse::<i64>().unwrap())
}

/// 1/10,000 as the API answers it.
fn money_text(amount: i64) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{}.{:04}", amount.abs() / 10_000, amount.abs() % 10_000)
}

async fn balance(app: &TestApp, who: Who, customer: i64) -> i64 {
    let answer = call(app, who, "customers/balance/get", &[("customer", &customer.to_string())]).await;
    assert_eq!(answer.data()["customer"], customer, "{}", answer.body);
    money(&answer.data()["balance"])
}

async fn transactions(app: &TestApp, who: Who, customer: i64, extra: &[(&str, &str)]) -> Vec<Value> {
    let c = customer.to_string();
    let mut params = vec![("customer", c.as_str())];
    params.extend_from_slice(extra);
    let answer = call(app, who, "customers/transactions/list", &params).await;
    answer.data().as_array().unwrap_or_else(|| panic!("not a list: {}", answer.body)).clone()
}

fn numbers_of(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap_or_else(|| panic!("not a list: {rows}"))
        .iter()
        .map(|r| r["number"].as_str().unwrap().to_string())
        .collect()
}

async fn listed(app: &TestApp, who: Who, params: &[(&str, &str)]) -> Vec<String> {
    numbers_of(call(app, who, "numbers/list", params).await.data())
}

/// Rows of a list whose key set is not exactly `keys`.
fn assert_keys(row: &Value, keys: &[&str]) {
    let mut got: Vec<&str> =
        row.as_object().unwrap_or_else(|| panic!("not an object: {row}")).keys().map(|k| k.as_str()).collect();
    got.sort_unstable();
    let mut want = keys.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "{row}");
}

const NUMBER_KEYS: [&str; 30] = [
    "number",
    "customer",
    "class",
    "ingroup",
    "region",
    "alias",
    "stype",
    "batch",
    "created",
    "shortcut",
    "description",
    "dtype",
    "dnumber",
    "fax_detect",
    "fax_dtype",
    "fax_dnumber",
    "callerid",
    "allow_callerid",
    "directory",
    "language",
    "maximum_seconds",
    "music",
    "owner",
    "password",
    "recordgroup",
    "ringtone",
    "routing",
    "screen",
    "sname",
    "sname_action",
];

const LEDGER_KEYS: [&str; 11] =
    ["id", "customer", "type", "amount", "class", "count", "batch", "number", "description", "person", "created"];

/// The routing fields of a number nobody has routed.
fn unrouted() -> Value {
    json!({
        "description": "", "dtype": "hangup", "dnumber": "", "fax_detect": 0, "fax_dtype": "", "fax_dnumber": "",
        "callerid": "", "allow_callerid": "customer", "directory": 0, "language": "", "maximum_seconds": -1, "music": 0,
        "owner": 0, "password": "", "recordgroup": 0, "ringtone": "", "routing": "", "screen": 0, "sname": "",
        "sname_action": "replace",
    })
}

/// The fields of `row` named in `expected`, for comparing with it.
fn project(row: &Value, expected: &Value) -> Value {
    let fields = expected.as_object().unwrap().keys().map(|k| (k.clone(), row[k].clone()));
    Value::Object(fields.collect())
}

async fn audited(app: &TestApp, call: &str) -> i64 {
    app.scalar_i64(&format!("SELECT COUNT(*) FROM audit WHERE call = '{call}'")).await
}

/// Codes routing (by call or by fax) to a number their customer does not own.
async fn dangling_code_routes(app: &TestApp) -> i64 {
    app.scalar_i64(
        "SELECT COUNT(*) FROM codes c WHERE \
         (c.dtype = 'number' AND NOT EXISTS (SELECT 1 FROM numbers n WHERE n.number = c.dnumber AND n.customer = c.customer)) \
         OR (c.fax_dtype = 'number' AND NOT EXISTS \
             (SELECT 1 FROM numbers n WHERE n.number = c.fax_dnumber AND n.customer = c.customer))",
    )
    .await
}

/// A small deterministic generator (xorshift64*): the same operations every run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }

    /// A non-zero amount of up to 1000 with 0 to 4 decimal places: as sent, and in 1/10,000.
    fn amount(&mut self) -> (String, i64) {
        let places = self.below(5) as u32;
        let unit = 10i64.pow(4 - places);
        let mut value = (1 + self.below((10_000_000 / unit) as u64) as i64) * unit;
        if self.below(3) == 0 {
            value = -value;
        }
        let sign = if value < 0 { "-" } else { "" };
        let (whole, fraction) = (value.abs() / 10_000, value.abs() % 10_000);
        let text = if places == 0 {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{}", &format!("{fraction:04}")[..places as usize])
        };
        (text, value)
    }
}

/// What one client of the mixed workload did that succeeded, per customer.
#[derive(Default)]
struct Tally {
    credited: [i64; 2],
    adds: [i64; 2],
    purchases: [i64; 2],
    releases: [i64; 2],
}

both_databases! {
    async fn portal_flow_end_to_end(backend) {
        let app = TestApp::spawn(backend).await;
        // The operator's pool: ten numbers of a class priced 1.5 to set up, 2.25 a month.
        let class = pool(&app, "1.5", "2.25", 10).await;
        let classes = app.admin("classes/list", &[]).await;
        let row = &classes.data()[0];
        assert_eq!(row["id"], class, "{row}");
        assert_eq!((row["setup"].as_str(), row["monthly"].as_str()), (Some("1.5000"), Some("2.2500")), "{row}");
        // A reseller, and its customer on a plan of at most two numbers.
        let reseller = customer(&app, "Reseller", 1).await;
        assert_eq!(reseller, 2);
        let reseller_person = person(&app, "reseller", 2, reseller).await;
        let plan = numbers_plan(&app, "2").await;
        let child = customer_on(&app, "Child", reseller, plan).await;
        let c = child.to_string();
        let c = c.as_str();
        let (n0, n1, n2) = (nth(0), nth(1), nth(2));

        // Purchase: two within the plan, each charged its setup; the third is refused.
        purchase(&app, RESELLER, &n0, child).await.expect("204");
        purchase(&app, RESELLER, &n1, child).await.expect("204");
        purchase(&app, RESELLER, &n2, child).await.expect("403");
        assert_eq!((holder(&app, &n0).await, holder(&app, &n1).await, holder(&app, &n2).await), (child, child, 0));
        let answer = call(&app, RESELLER, "customers/balance/get", &[("customer", c)]).await;
        assert_eq!(answer.data(), &json!({"customer": child, "balance": "-3.0000"}));

        // Routing: a bad destination is refused on dnumber and changes nothing.
        let update = |params: Vec<(&'static str, String)>| {
            let app = &app;
            async move {
                let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                call(app, RESELLER, "numbers/update", &pairs).await
            }
        };
        let on = |number: &str, fields: &[(&'static str, &str)]| {
            let mut params = vec![("number", number.to_string()), ("customer", c.to_string())];
            params.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
            params
        };
        update(on(&n0, &[("dtype", "number"), ("dnumber", &nth(5))])).await.expect_invalid(&["dnumber"]);
        update(on(&n0, &[("dtype", "number"), ("dnumber", &n0)])).await.expect_invalid(&["dnumber"]);
        update(on(&n0, &[("dtype", "code"), ("dnumber", "*99")])).await.expect_invalid(&["dnumber"]);
        update(on(&n0, &[("dtype", "phone"), ("dnumber", "12a")])).await.expect_invalid(&["dnumber"]);
        update(on(&n0, &[("callerid", "12ab")])).await.expect_invalid(&["callerid"]);
        update(on(&n0, &[("allow_callerid", "anyone")])).await.expect_invalid(&["allow_callerid"]);
        update(on(&n0, &[("directory", "2")])).await.expect_invalid(&["directory"]);
        let got = call(&app, RESELLER, "numbers/get", &[("number", &n0), ("customer", c)]).await;
        assert_eq!(project(got.data(), &unrouted()), unrouted(), "a refused update changed the number");
        // A good one.
        update(on(&n0, &[
            ("dtype", "phone"), ("dnumber", "1234567"), ("description", "Front desk"), ("callerid", "ask"),
            ("allow_callerid", "owner"), ("directory", "1"),
        ])).await.expect("204");
        update(on(&n1, &[("dtype", "forward"), ("dnumber", "999")])).await.expect("204");
        // Absent fields keep their value.
        update(on(&n0, &[("description", "Reception")])).await.expect("204");
        let got = call(&app, RESELLER, "numbers/get", &[("number", &n0), ("customer", c)]).await;
        let row = got.data().clone();
        assert_keys(&row, &NUMBER_KEYS);
        assert_eq!(
            project(&row, &json!({"number": "", "customer": 0, "class": 0, "dtype": "", "dnumber": "", "description": "",
                "callerid": "", "allow_callerid": "", "directory": 0, "owner": 0})),
            json!({"number": n0, "customer": child, "class": class, "dtype": "phone", "dnumber": "1234567",
                "description": "Reception", "callerid": "ask", "allow_callerid": "owner", "directory": 1, "owner": 0}),
        );
        // The named customer must own it: the reseller's own customer does not.
        call(&app, RESELLER, "numbers/get", &[("number", &n0)]).await.expect("404");
        update(vec![("number", n0.clone()), ("description", "x".into())]).await.expect("404");
        call(&app, RESELLER, "numbers/get", &[("number", &n2), ("customer", c)]).await.expect("404");

        // A user of the child updates only a number they own.
        let user = person(&app, "childuser", 4, child).await;
        let as_user = |number: String, description: &'static str| {
            let app = &app;
            async move {
                app.call_as("childuser", PW, "numbers/update", &[("number", &number), ("description", description)]).await
            }
        };
        as_user(n0.clone(), "mine").await.expect("404");
        update(on(&n0, &[("owner", &user.to_string())])).await.expect("204");
        as_user(n0.clone(), "mine").await.expect("204");
        as_user(n1.clone(), "not mine").await.expect("404");
        let got = app.call_as("childuser", PW, "numbers/get", &[("number", &n0)]).await;
        assert_eq!((got.data()["description"].as_str(), got.data()["owner"].as_i64()), (Some("mine"), Some(user)));
        assert_eq!(got.data()["dtype"], "phone", "the user's update kept the destination");

        // numbers/list: the same rows as get, sorted as asked.
        let list = call(&app, RESELLER, "numbers/list", &[("customer", c)]).await;
        let rows = list.data().as_array().unwrap().clone();
        assert_eq!(numbers_of(list.data()), [n0.clone(), n1.clone()]);
        assert_eq!(rows[0], got.data().clone(), "a list row has the shape of numbers/get");
        // destination: (dtype, dnumber, number): forward < phone.
        assert_eq!(listed(&app, RESELLER, &[("customer", c), ("sort", "destination")]).await, [n1.clone(), n0.clone()]);
        assert_eq!(listed(&app, RESELLER, &[("customer", c), ("sort", "destination"), ("descending", "1")]).await, [n0.clone(), n1.clone()]);
        // dnumber: "1234567" < "999".
        assert_eq!(listed(&app, RESELLER, &[("customer", c), ("sort", "dnumber")]).await, [n0.clone(), n1.clone()]);
        assert_eq!(listed(&app, RESELLER, &[("customer", c), ("sort", "number"), ("descending", "1")]).await, [n1.clone(), n0.clone()]);
        call(&app, RESELLER, "numbers/list", &[("customer", c), ("sort", "owner")]).await.expect_invalid(&["sort"]);
        assert_eq!(call(&app, RESELLER, "numbers/list", &[("customer", c), ("count", "1")]).await.data()["count"], 2);

        // What the numbers cost each month now.
        let monthly = call(&app, RESELLER, "customers/charges/monthly", &[("customer", c)]).await;
        assert_eq!(monthly.data(), &json!({
            "classes": [{"class": class, "name": "Geographic", "count": 2, "monthly": "2.2500", "total": "4.5000"}],
            "customer": child,
            "total": "4.5000",
        }));

        // A credit, and the ledger it joins.
        call(&app, RESELLER, "customers/balance/add", &[("customer", c), ("amount", "10"), ("description", "Top-up")]).await.expect("204");
        assert_eq!(money_text(balance(&app, RESELLER, child).await), "7.0000");
        let ledger = transactions(&app, RESELLER, child, &[]).await;
        assert_eq!(ledger.len(), 3, "{ledger:?}");
        for row in &ledger {
            assert_keys(row, &LEDGER_KEYS);
            assert_eq!(row["customer"], child, "{row}");
            assert!(row["created"].as_i64().unwrap() > 1_700_000_000, "{row}");
        }
        let ids: Vec<i64> = ledger.iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted by id: {ids:?}");
        let kinds: Vec<&str> = ledger.iter().map(|r| r["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["setup", "setup", "credit"]);
        let amounts: Vec<&str> = ledger.iter().map(|r| r["amount"].as_str().unwrap()).collect();
        assert_eq!(amounts, ["-1.5000", "-1.5000", "10.0000"]);
        for (row, number) in ledger.iter().zip([&n0, &n1]) {
            assert_eq!((row["class"].as_i64(), row["count"].as_i64(), row["batch"].as_i64()), (Some(class), Some(1), Some(0)), "{row}");
            assert_eq!(row["number"].as_str(), Some(number.as_str()), "{row}");
            assert_eq!(row["person"], reseller_person, "{row}");
        }
        assert_eq!((ledger[2]["description"].as_str(), ledger[2]["person"].as_i64()), (Some("Top-up"), Some(reseller_person)));
        let sum: i64 = ledger.iter().map(|r| money(&r["amount"])).sum();
        assert_eq!(sum, balance(&app, RESELLER, child).await, "the balance is the sum of the ledger");
        // The list parameters.
        let count = call(&app, RESELLER, "customers/transactions/list", &[("customer", c), ("count", "1")]).await;
        assert_eq!(count.data(), &json!({"count": 3}));
        assert_eq!(transactions(&app, RESELLER, child, &[("limit", "1"), ("offset", "2")]).await, vec![ledger[2].clone()]);
        assert_eq!(transactions(&app, RESELLER, child, &[("descending", "1"), ("limit", "1")]).await, vec![ledger[2].clone()]);
        let first = ledger[0]["created"].as_i64().unwrap();
        assert_eq!(transactions(&app, RESELLER, child, &[("since", &first.to_string())]).await.len(), 3, "since is inclusive");
        assert!(transactions(&app, RESELLER, child, &[("since", &(first + 100_000).to_string())]).await.is_empty());
        assert!(transactions(&app, RESELLER, child, &[("until", &first.to_string())]).await.is_empty(), "until is exclusive");
        assert_eq!(transactions(&app, RESELLER, child, &[("until", "0")]).await.len(), 3, "until 0 is no bound");

        // Release: refused while feature codes route to the number, naming them.
        call(&app, RESELLER, "codes/create", &[("code", "*21"), ("dtype", "number"), ("dnumber", &n0), ("customer", c)]).await.expect("204");
        call(&app, RESELLER, "codes/create", &[
            ("code", "*22"), ("dtype", "hangup"), ("dnumber", ""), ("fax_dtype", "number"), ("fax_dnumber", &n0), ("customer", c),
        ]).await.expect("204");
        let release = || async { call(&app, RESELLER, "numbers/delete", &[("number", &n0), ("customer", c)]).await };
        let refused = release().await;
        refused.expect_invalid(&["number"]);
        // The wording is the server's ("e.g." in the design); the codes must be named.
        let message = refused.body["responses"][0]["message"].as_str().unwrap().to_string();
        assert!(message.contains("*21") && message.contains("*22"), "the codes are not named: {message}");
        call(&app, RESELLER, "codes/delete", &[("code", "*21"), ("customer", c)]).await.expect("204");
        let refused = release().await;
        refused.expect_invalid(&["number"]);
        let message = refused.body["responses"][0]["message"].as_str().unwrap().to_string();
        assert!(message.contains("*22") && !message.contains("*21"), "{message}");
        assert_eq!(holder(&app, &n0).await, child, "a refused release keeps the number");
        call(&app, RESELLER, "codes/delete", &[("code", "*22"), ("customer", c)]).await.expect("204");
        release().await.expect("204");
        release().await.expect("404");
        // Back in the pool, its routing gone.
        assert_eq!(holder(&app, &n0).await, 0);
        call(&app, RESELLER, "numbers/get", &[("number", &n0), ("customer", c)]).await.expect("404");
        assert_eq!(listed(&app, RESELLER, &[("customer", c)]).await, std::slice::from_ref(&n1));
        purchase(&app, RESELLER, &n0, child).await.expect("204");
        let got = call(&app, RESELLER, "numbers/get", &[("number", &n0), ("customer", c)]).await;
        assert_eq!(project(got.data(), &unrouted()), unrouted(), "the routing was not cleared: {}", got.body);
        // One audit row per purchase, release and ledger entry (none for the refused ones).
        assert_eq!(audited(&app, "numbers/purchase").await, 3);
        assert_eq!(audited(&app, "numbers/delete").await, 1);
        assert_eq!(audited(&app, "customers/balance/add").await, 1);
        assert_eq!(audited(&app, "numbers/update").await, 5);
        let ledger = transactions(&app, RESELLER, child, &[]).await;
        assert_eq!(ledger.iter().map(|r| money(&r["amount"])).sum::<i64>(), balance(&app, RESELLER, child).await);
    }

    async fn racing_purchases_of_one_number(backend) {
        let app = TestApp::spawn(backend).await;
        pool(&app, "1.5", "0", 1).await;
        let mut buyers = Vec::new();
        for i in 0..20 {
            buyers.push(customer(&app, &format!("Buyer {i}"), 1).await);
        }
        let number = nth(0);
        let attempts = buyers.iter().map(|&c| purchase(&app, OPERATOR, &number, c));
        let answers = futures_util::future::join_all(attempts).await;
        let won: Vec<usize> = (0..answers.len()).filter(|&i| answers[i].code() == "204").collect();
        assert_eq!(won.len(), 1, "{:?}", answers.iter().map(|a| a.code()).collect::<Vec<_>>());
        for answer in answers.iter().filter(|a| a.code() != "204") {
            answer.expect_invalid(&["number"]);
            assert_eq!(answer.body["responses"][0]["message"], "This number is not available to purchase.");
        }
        let winner = buyers[won[0]];
        assert_eq!(holder(&app, &number).await, winner);
        assert_eq!(audited(&app, "numbers/purchase").await, 1);
        for &c in &buyers {
            let ledger = transactions(&app, OPERATOR, c, &[]).await;
            let expected = if c == winner { 1 } else { 0 };
            assert_eq!(ledger.len(), expected, "customer {c}: {ledger:?}");
            assert_eq!(balance(&app, OPERATOR, c).await, -15_000 * expected as i64);
        }
    }

    async fn racing_purchases_against_plan_maximum(backend) {
        let app = TestApp::spawn(backend).await;
        pool(&app, "0.25", "1", 20).await;
        let plan = numbers_plan(&app, "3").await;
        let c = customer_on(&app, "Three", 1, plan).await;
        let numbers: Vec<String> = (0..20).map(nth).collect();
        let answers = futures_util::future::join_all(numbers.iter().map(|n| purchase(&app, OPERATOR, n, c))).await;
        let codes: Vec<&str> = answers.iter().map(|a| a.code()).collect();
        assert_eq!(codes.iter().filter(|c| **c == "204").count(), 3, "{codes:?}");
        for answer in answers.iter().filter(|a| a.code() != "204") {
            answer.expect("403");
        }
        assert_eq!(app.scalar_i64(&format!("SELECT COUNT(*) FROM numbers WHERE customer = {c}")).await, 3);
        let bought: Vec<String> = (0..20).filter(|&i| codes[i] == "204").map(|i| numbers[i].clone()).collect();
        assert_eq!(listed(&app, OPERATOR, &[("customer", &c.to_string())]).await, bought);
        let ledger = transactions(&app, OPERATOR, c, &[]).await;
        assert_eq!(ledger.len(), 3, "{ledger:?}");
        assert!(ledger.iter().all(|r| r["type"] == "setup" && r["amount"] == "-0.2500"), "{ledger:?}");
        let mut charged: Vec<String> = ledger.iter().map(|r| r["number"].as_str().unwrap().to_string()).collect();
        charged.sort();
        assert_eq!(charged, bought, "each charge names a number bought");
        assert_eq!(money_text(balance(&app, OPERATOR, c).await), "-0.7500");
        assert_eq!(audited(&app, "numbers/purchase").await, 3);
    }

    async fn ledger_sum_equals_balance_under_concurrency(backend) {
        let app = TestApp::spawn(backend).await;
        let setup = 10_001; // 1.0001
        pool(&app, "1.0001", "0.5", 12).await;
        let reseller = customer(&app, "Reseller", 1).await;
        person(&app, "reseller", 2, reseller).await;
        let held = [customer(&app, "A", reseller).await, customer(&app, "B", reseller).await];
        const CLIENTS: u64 = 8;
        const OPERATIONS: u64 = 1_000;
        let clients = (0..CLIENTS).map(|client| {
            let app = &app;
            async move {
                let who = if client % 2 == 0 { OPERATOR } else { RESELLER };
                let mut rng = Rng::new(client + 1);
                let mut tally = Tally::default();
                for _ in 0..OPERATIONS / CLIENTS {
                    let which = rng.below(2) as usize;
                    let c = held[which].to_string();
                    match rng.below(4) {
                        0 | 1 => {
                            let (text, value) = rng.amount();
                            let answer = call(app, who, "customers/balance/add", &[("customer", &c), ("amount", &text)]).await;
                            assert_eq!(answer.code(), "204", "amount {text}: {}", answer.body);
                            tally.adds[which] += 1;
                            tally.credited[which] += value;
                        }
                        2 => {
                            let number = nth(rng.below(12) as i64);
                            let answer = call(app, who, "numbers/purchase", &[("number", &number), ("customer", &c)]).await;
                            match answer.code() {
                                "204" => tally.purchases[which] += 1,
                                _ => {
                                    answer.expect_invalid(&["number"]);
                                }
                            }
                        }
                        _ => {
                            let number = nth(rng.below(12) as i64);
                            let answer = call(app, who, "numbers/delete", &[("number", &number), ("customer", &c)]).await;
                            match answer.code() {
                                "204" => tally.releases[which] += 1,
                                _ => {
                                    answer.expect("404");
                                }
                            }
                        }
                    }
                }
                tally
            }
        });
        let tallies = futures_util::future::join_all(clients).await;
        let total = |f: fn(&Tally) -> [i64; 2]| -> [i64; 2] {
            tallies.iter().map(f).fold([0, 0], |a, t| [a[0] + t[0], a[1] + t[1]])
        };
        let (credited, adds) = (total(|t| t.credited), total(|t| t.adds));
        let (purchases, releases) = (total(|t| t.purchases), total(|t| t.releases));
        assert!(purchases.iter().sum::<i64>() > 0 && releases.iter().sum::<i64>() > 0, "the mix bought and released");
        for which in 0..2 {
            let c = held[which];
            let ledger = transactions(&app, OPERATOR, c, &[]).await;
            let sum: i64 = ledger.iter().map(|r| money(&r["amount"])).sum();
            let balance = balance(&app, OPERATOR, c).await;
            assert_eq!(sum, balance, "customer {c}: the ledger's sum is not the balance");
            assert_eq!(balance, credited[which] - purchases[which] * setup, "customer {c}: the balance is not what succeeded");
            assert_eq!(ledger.len() as i64, adds[which] + purchases[which], "customer {c}: one row per credit and purchase");
            let setups = ledger.iter().filter(|r| r["type"] == "setup").count() as i64;
            assert_eq!(setups, purchases[which], "customer {c}");
            for row in &ledger {
                let amount = money(&row["amount"]);
                let expected = match row["type"].as_str() {
                    Some("setup") => amount == -setup,
                    Some("credit") => amount > 0,
                    Some("adjustment") => amount < 0,
                    _ => false,
                };
                assert!(expected, "{row}");
            }
            let now_held = app.scalar_i64(&format!("SELECT COUNT(*) FROM numbers WHERE customer = {c}")).await;
            assert_eq!(now_held, purchases[which] - releases[which], "customer {c}");
        }
        assert_eq!(audited(&app, "customers/balance/add").await, adds.iter().sum::<i64>());
        assert_eq!(audited(&app, "numbers/purchase").await, purchases.iter().sum::<i64>());
        assert_eq!(audited(&app, "numbers/delete").await, releases.iter().sum::<i64>());
    }

    async fn money_input_is_exact_and_checked(backend) {
        let app = TestApp::spawn(backend).await;
        let c = customer(&app, "Money", 1).await;
        let cs = c.to_string();
        let add = |amount: &'static str| async {
            call(&app, OPERATOR, "customers/balance/add", &[("customer", &cs), ("amount", amount)]).await
        };
        for good in ["0.0001", "1000000000", "-1000000000", "12.5", "-0.0001", "0.1", "7.000"] {
            add(good).await.expect("204");
        }
        assert_eq!(money_text(balance(&app, OPERATOR, c).await), "19.6000");
        let ledger = transactions(&app, OPERATOR, c, &[]).await;
        let amounts: Vec<&str> = ledger.iter().map(|r| r["amount"].as_str().unwrap()).collect();
        assert_eq!(amounts, ["0.0001", "1000000000.0000", "-1000000000.0000", "12.5000", "-0.0001", "0.1000", "7.0000"]);
        let kinds: Vec<&str> = ledger.iter().map(|r| r["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["credit", "credit", "adjustment", "credit", "adjustment", "credit", "credit"]);
        for bad in [
            "1.23456", "1e3", "abc", "", "0", "+1", "1,5", "0.0000", "-0", "1000000000.0001", "-1000000001", " 1", "1.2.3",
            "--1", "-", "0x10", "١",
        ] {
            let answer = add(bad).await;
            assert_eq!(answer.code(), "400", "amount {bad:?}: {}", answer.body);
            answer.expect_invalid(&["amount"]);
        }
        call(&app, OPERATOR, "customers/balance/add", &[("customer", &cs)]).await.expect_invalid(&["amount"]);
        assert_eq!(money_text(balance(&app, OPERATOR, c).await), "19.6000", "a refused amount changed the balance");
        assert_eq!(transactions(&app, OPERATOR, c, &[]).await.len(), 7);
        // Prices: 0 to 1000000, at most four places.
        let class = |setup: &'static str, monthly: &'static str| async {
            app.admin("classes/create", &[("name", "Priced"), ("setup", setup), ("monthly", monthly)]).await
        };
        class("-1", "0").await.expect_invalid(&["setup"]);
        class("1.23456", "0").await.expect_invalid(&["setup"]);
        class("1000000.0001", "0").await.expect_invalid(&["setup"]);
        class("0", "-0.5").await.expect_invalid(&["monthly"]);
        class("1e2", "x").await.expect_invalid(&["setup", "monthly"]);
        assert!(app.admin("classes/list", &[]).await.data().as_array().unwrap().is_empty(), "a refused class was created");
        class("1000000", "0.0001").await.expect("200");
        app.admin("classes/create", &[("name", "Free")]).await.expect("200");
        let classes = app.admin("classes/list", &[]).await;
        let prices: Vec<(&str, &str)> = classes.data().as_array().unwrap().iter()
            .map(|r| (r["setup"].as_str().unwrap(), r["monthly"].as_str().unwrap())).collect();
        assert_eq!(prices, [("1000000.0000", "0.0001"), ("0.0000", "0.0000")]);
    }

    async fn ledger_visibility(backend) {
        let app = TestApp::spawn(backend).await;
        let reseller = customer(&app, "Reseller", 1).await;
        let child = customer(&app, "Child", reseller).await;
        let other = customer(&app, "Other", 1).await;
        person(&app, "reseller", 2, reseller).await;
        person(&app, "radmin", 3, reseller).await;
        let ledger_call = |who: Who, call_name: &'static str, customer: Option<i64>| {
            let app = &app;
            async move {
                let c = customer.map(|c| c.to_string());
                let mut params = vec![];
                if let Some(c) = &c {
                    params.push(("customer", c.as_str()));
                }
                if call_name == "customers/balance/add" {
                    params.push(("amount", "1"));
                }
                call(app, who, call_name, &params).await
            }
        };
        let calls = ["customers/balance/get", "customers/balance/add", "customers/transactions/list", "customers/charges/monthly"];
        for name in calls {
            let ok = if name == "customers/balance/add" { "204" } else { "200" };
            // Its customer's ledger, not its own.
            ledger_call(RESELLER, name, Some(child)).await.expect(ok);
            ledger_call(RESELLER, name, Some(reseller)).await.expect_invalid(&["customer"]);
            ledger_call(RESELLER, name, None).await.expect_invalid(&["customer"]);
            // Another tenant's customer reads exactly as one that does not exist.
            let unseen = ledger_call(RESELLER, name, Some(other)).await;
            unseen.expect_invalid(&["customer"]);
            assert_eq!(unseen.body, ledger_call(RESELLER, name, Some(9999)).await.body, "{name}");
            // An administrator without commerce.
            ledger_call(("radmin", PW), name, Some(child)).await.expect("402");
            // The operator sees every ledger below its own.
            ledger_call(OPERATOR, name, Some(reseller)).await.expect(ok);
            // The system owner has no one above it: its own ledger is its own to keep.
            ledger_call(OPERATOR, name, Some(1)).await.expect(ok);
        }
        assert_eq!(money_text(balance(&app, OPERATOR, child).await), "1.0000");
        assert_eq!(money_text(balance(&app, OPERATOR, reseller).await), "1.0000");
        assert_eq!(money_text(balance(&app, OPERATOR, other).await), "0.0000");
        // The child's and the reseller's by the operator, and the operator's own.
        assert_eq!(audited(&app, "customers/balance/add").await, 3);
    }

    async fn system_delete_force_clears_routes(backend) {
        let app = TestApp::spawn(backend).await;
        pool(&app, "0", "0", 5).await;
        let c = customer(&app, "Routed", 1).await;
        let cs = c.to_string();
        for i in 0..4 {
            app.admin("numbers/system/update", &[("number", &nth(i)), ("customer", &cs)]).await.expect("204");
        }
        app.admin("codes/create", &[("code", "*21"), ("dtype", "number"), ("dnumber", &nth(0)), ("customer", &cs)]).await.expect("204");
        let refused = app.admin("numbers/system/delete", &[("number", &nth(0))]).await;
        refused.expect_invalid(&["number"]);
        assert!(refused.body["responses"][0]["message"].as_str().unwrap().contains("*21"), "{}", refused.body);
        assert_eq!(holder(&app, &nth(0)).await, c, "a refused delete keeps the number");
        let forced = app.admin("numbers/system/delete", &[("number", &nth(0)), ("force", "1")]).await;
        assert_eq!(forced.data(), &json!({"codes": 1, "numbers": 0}));
        app.admin("numbers/system/get", &[("number", &nth(0))]).await.expect("404");
        let code = app.admin("codes/get", &[("code", "*21"), ("customer", &cs)]).await;
        assert_eq!((code.data()["dtype"].as_str(), code.data()["dnumber"].as_str()), (Some("hangup"), Some("")));
        // Another number routing to it: refused the same way, and cleared by force.
        app.admin("numbers/update", &[("number", &nth(1)), ("customer", &cs), ("dtype", "number"), ("dnumber", &nth(2))]).await.expect("204");
        app.admin("numbers/delete", &[("number", &nth(2)), ("customer", &cs)]).await.expect_invalid(&["number"]);
        app.admin("numbers/system/delete", &[("number", &nth(2))]).await.expect_invalid(&["number"]);
        let forced = app.admin("numbers/system/delete", &[("number", &nth(2)), ("force", "1")]).await;
        assert_eq!(forced.data(), &json!({"codes": 0, "numbers": 1}));
        let routed = app.admin("numbers/get", &[("number", &nth(1)), ("customer", &cs)]).await;
        assert_eq!((routed.data()["dtype"].as_str(), routed.data()["dnumber"].as_str()), (Some("hangup"), Some("")));
        // Nothing routed: 204 as before.
        app.admin("numbers/system/delete", &[("number", &nth(3))]).await.expect("204");
        app.admin("numbers/system/delete", &[("number", &nth(4))]).await.expect("204");
        assert_eq!(dangling_code_routes(&app).await, 0);
    }

    async fn release_races_routing(backend) {
        let app = TestApp::spawn(backend).await;
        pool(&app, "0", "0", 2).await;
        let c = customer(&app, "Racer", 1).await;
        let cs = c.to_string();
        let (target, other) = (nth(0), nth(1));
        purchase(&app, OPERATOR, &other, c).await.expect("204");
        app.admin("codes/create", &[("code", "*30"), ("dtype", "hangup"), ("dnumber", ""), ("customer", &cs)]).await.expect("204");
        let (mut released, mut routed) = (0, 0);
        for round in 0..20 {
            if holder(&app, &target).await == 0 {
                purchase(&app, OPERATOR, &target, c).await.expect("204");
            }
            let new_code = format!("7{round}");
            let route = [("dtype", "number"), ("dnumber", target.as_str()), ("customer", cs.as_str())];
            let mut update_code = vec![("code", "*30")];
            update_code.extend_from_slice(&route);
            let mut create_code = vec![("code", new_code.as_str())];
            create_code.extend_from_slice(&route);
            let mut update_number = vec![("number", other.as_str())];
            update_number.extend_from_slice(&route);
            let delete = [("number", target.as_str()), ("customer", cs.as_str())];
            let (release, by_update, by_create, by_number) = tokio::join!(
                app.admin("numbers/delete", &delete),
                app.admin("codes/update", &update_code),
                app.admin("codes/create", &create_code),
                app.admin("numbers/update", &update_number),
            );
            let routes = [&by_update, &by_create, &by_number];
            for answer in routes {
                if answer.code() != "204" {
                    answer.expect_invalid(&["dnumber"]);
                }
            }
            let any_routed = routes.iter().any(|a| a.code() == "204");
            match release.code() {
                "204" => {
                    released += 1;
                    assert!(!any_routed, "round {round}: released while routed to: {} {} {}", by_update.body, by_create.body, by_number.body);
                }
                _ => {
                    release.expect_invalid(&["number"]);
                    routed += 1;
                    assert!(any_routed, "round {round}: release refused though nothing routes: {}", release.body);
                }
            }
            assert_eq!(dangling_code_routes(&app).await, 0, "round {round}: a code routes to a number its customer lost");
            let number_route = app.admin("numbers/get", &[("number", &other), ("customer", &cs)]).await;
            if number_route.data()["dtype"] == "number" {
                assert_eq!(holder(&app, &target).await, c, "round {round}: a number routes to a released number");
            }
            // Unroute for the next round.
            app.admin("codes/update", &[("code", "*30"), ("dtype", "hangup"), ("dnumber", ""), ("customer", &cs)]).await.expect("204");
            let gone = app.admin("codes/delete", &[("code", &new_code), ("customer", &cs)]).await;
            assert!(["204", "404"].contains(&gone.code()), "{}", gone.body);
            app.admin("numbers/update", &[("number", &other), ("customer", &cs), ("dtype", "hangup"), ("dnumber", "")]).await.expect("204");
        }
        assert_eq!(released + routed, 20);
    }

    async fn numbers_list_callerid_filter(backend) {
        let app = TestApp::spawn(backend).await;
        app.admin("classes/create", &[("name", "Geographic")]).await.expect("200");
        app.admin("ingroups/create", &[("name", "Main")]).await.expect("200");
        let c = customer(&app, "Caller", 1).await.to_string();
        let add = |start: &'static str, end: &'static str, stype: &'static str| async {
            app.admin("numbers/system/create", &[
                ("start", start), ("end", end), ("class", "1"), ("ingroup", "1"), ("customer", &c), ("stype", stype),
            ]).await
        };
        add("200", "201", "callerid").await.expect("200");
        add("100", "102", "number").await.expect("200");
        add("300", "300", "callerid").await.expect("200");
        let plain = ["100", "101", "102"];
        assert_eq!(listed(&app, OPERATOR, &[("customer", &c)]).await, plain);
        assert_eq!(listed(&app, OPERATOR, &[("customer", &c), ("callerid", "0")]).await, plain);
        assert_eq!(listed(&app, OPERATOR, &[("customer", &c), ("callerid", "1")]).await, ["100", "101", "102", "200", "201", "300"]);
        assert_eq!(listed(&app, OPERATOR, &[("customer", &c), ("callerid", "1"), ("descending", "1"), ("limit", "2")]).await, ["300", "201"]);
        let counted = app.admin("numbers/list", &[("customer", &c), ("callerid", "1"), ("count", "1")]).await;
        assert_eq!(counted.data()["count"], 6);
        assert_eq!(app.admin("numbers/list", &[("customer", &c), ("count", "1")]).await.data()["count"], 3);
        let rows = app.admin("numbers/list", &[("customer", &c), ("callerid", "1")]).await;
        let stypes: Vec<&str> = rows.data().as_array().unwrap().iter().map(|r| r["stype"].as_str().unwrap()).collect();
        assert_eq!(stypes, ["number", "number", "number", "callerid", "callerid", "callerid"]);
        app.admin("numbers/list", &[("customer", &c), ("callerid", "2")]).await.expect_invalid(&["callerid"]);
    }

    async fn purchase_validation_writes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        pool(&app, "2", "1", 3).await;
        let c = customer(&app, "Careful", 1).await;
        let cs = c.to_string();
        let buy = |number: String, extra: &'static [(&'static str, &'static str)]| {
            let app = &app;
            let cs = cs.clone();
            async move {
                let mut params = vec![("number", number.as_str()), ("customer", cs.as_str())];
                params.extend_from_slice(extra);
                app.admin("numbers/purchase", &params).await
            }
        };
        buy(nth(0), &[("validation", "1")]).await.expect("201");
        assert_eq!(holder(&app, &nth(0)).await, 0, "validation took the number from the pool");
        assert_eq!(money_text(balance(&app, OPERATOR, c).await), "0.0000");
        assert!(transactions(&app, OPERATOR, c, &[]).await.is_empty());
        assert_eq!(audited(&app, "numbers/purchase").await, 0);
        // Validation still checks: the input, and that the number is in the pool.
        buy(nth(0), &[("validation", "1"), ("ingroup", "1")]).await.expect_invalid(&["ingroup"]);
        buy(nth(0), &[("validation", "2")]).await.expect_invalid(&["validation"]);
        buy("5559999".into(), &[("validation", "1")]).await.expect_invalid(&["number"]);
        buy(nth(0), &[("validation", "1"), ("ingroup", "")]).await.expect("201");
        // Porting is not supported: a non-empty ingroup is refused outright.
        buy(nth(0), &[("ingroup", "1")]).await.expect_invalid(&["ingroup"]);
        buy(nth(0), &[]).await.expect("204");
        buy(nth(0), &[("validation", "1")]).await.expect_invalid(&["number"]);
        app.admin("numbers/purchase", &[("customer", &cs)]).await.expect_invalid(&["number"]);
        assert_eq!(holder(&app, &nth(0)).await, c);
        assert_eq!(money_text(balance(&app, OPERATOR, c).await), "-2.0000");
        assert_eq!(audited(&app, "numbers/purchase").await, 1);
    }
}
