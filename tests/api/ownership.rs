//! Who owns a call once it has started, and whether the API's description says what runs.
//!
//! A call that has begun to act belongs to the server, not to the connection
//! that asked for it: a client hanging up, or the process serving it dying,
//! must not leave a write unaudited, unlogged, or its `Idempotency-Key` held so
//! that a retry can never be answered. And `/api/openapi.json` is generated from
//! the call tables, so what it calls required or a default must be what the
//! handlers enforce and store.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::Write,
    time::Duration,
};

use serde_json::Value;
use switchyard::{on_read, settings::Settings, store::Db};
use tokio::{io::AsyncWriteExt, net::TcpStream};

use crate::{both_databases, common::*};

const ADMIN_USER: (&str, &str) = (ADMIN, ADMIN_PASSWORD);

/// Requests cut off by a reset; every other one carries an `Idempotency-Key`.
const HANG_UPS: usize = 60;

/// The parameters of hang-up `i`: a code of its own, so each acted call is told apart.
fn code_params(i: usize, customer: &str) -> [(&'static str, String); 4] {
    [
        ("code", format!("{}", 7000 + i)),
        ("dtype", "hangup".into()),
        ("dnumber", String::new()),
        ("customer", customer.into()),
    ]
}

fn borrowed<'a>(pairs: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Sends a whole `codes/create`, then about a millisecond later resets the
/// connection: with `SO_LINGER` 0 the kernel answers the close with RST rather
/// than FIN, so the server learns at once that its client is gone, usually
/// while the call is running.
async fn hang_up(addr: &str, body: &str, key: Option<&str>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let key = key.map(|k| format!("Idempotency-Key: {k}\r\n")).unwrap_or_default();
    let request = format!(
        "POST /api/json/codes/create HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n{key}\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    stream.set_zero_linger().unwrap();
    drop(stream);
}

/// The code an audit row's `object` names. Today `object` is a string of
/// `key=value` tokens ("code=7001 dtype=hangup ..."); after the redesign it is
/// a JSON object ({"code": "7001", ...}). Either is read; `code=7001` must be a
/// whole token, so it never matches `code=70010`.
fn audited_code(object: &Value) -> Option<String> {
    match object {
        Value::Object(fields) => match fields.get("code")? {
            Value::String(code) => Some(code.clone()),
            Value::Number(code) => Some(code.to_string()),
            _ => None,
        },
        Value::String(text) if text.trim_start().starts_with('{') => {
            audited_code(&serde_json::from_str::<Value>(text).ok()?)
        }
        Value::String(text) => text.split_whitespace().find_map(|t| t.strip_prefix("code=")).map(str::to_string),
        _ => None,
    }
}

/// The envelope codes of the request lines (target `switchyard::request`) of `call`.
fn request_codes(lines: &[String], call: &str) -> Vec<String> {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "switchyard::request" && line["call"] == call)
        .map(|line| match &line["code"] {
            Value::String(code) => code.clone(),
            other => other.to_string(),
        })
        .collect()
}

async fn scalar(store: &Db, sql: &str) -> i64 {
    on_read!(store, |pool| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.unwrap())
}

/// Waits until the customer's codes and the codes/create audit rows stay the
/// same for ten polls in a row (a second): calls whose client left may still
/// be running. At most 200 polls.
async fn settle(server: &Server, customer: &str) -> (i64, i64) {
    let mut last = (-1, -1);
    let mut unchanged = 0;
    for _ in 0..200 {
        let codes = server.call(ADMIN_USER, "codes/list", &[("customer", customer), ("count", "1")]).await;
        let audit = server.call(ADMIN_USER, "audit/list", &[("call", "codes/create"), ("count", "1")]).await;
        let now = (
            codes.expect("200").data()["count"].as_i64().unwrap(),
            audit.expect("200").data()["count"].as_i64().unwrap(),
        );
        if now == last {
            unchanged += 1;
            if unchanged == 10 {
                return now;
            }
        } else {
            (last, unchanged) = (now, 0);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("codes and audit rows were still changing after 200 polls: {last:?}");
}

both_databases! {
    async fn hang_ups_leave_every_acted_call_audited_and_keyed_retries_answered(backend) {
        let db = TestDb::new(backend).await;
        let server = Server::start(&db, &[
            ("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("SWITCHYARD_LOG__FORMAT", "json"),
            // A retry waiting on a first call that never finishes then fails with 503
            // instead of holding the test for the default five minutes.
            ("SWITCHYARD_LIMITS__CALL_TIMEOUT_SECS", "20"),
        ]);
        // The codes go into a customer of their own on a limited plan, so that each
        // call has work (visibility, plan limit, insert) a hang-up can land in.
        let plan = server.call(ADMIN_USER, "plans/create", &[("name", "Hang-ups")]).await;
        let plan = plan.expect("200").data()["id"].to_string();
        server
            .call(ADMIN_USER, "plans/features/set", &[("plan", &plan), ("feature", "codes"), ("maximum", "1000")])
            .await
            .expect("204");
        let customer = server
            .call(ADMIN_USER, "customers/create", &[("name", "Hang-ups"), ("email", "h@example.com"), ("plan", &plan)])
            .await;
        let customer = customer.expect("200").data()["id"].to_string();
        let keyed = |i: usize| i % 2 == 0;

        for i in 0..HANG_UPS {
            let mut body = format!("auth_username={ADMIN}&auth_password={ADMIN_PASSWORD}");
            for (key, value) in code_params(i, &customer) {
                body.push_str(&format!("&{key}={value}"));
            }
            let key = format!("hang-{i}");
            hang_up(server.addr(), &body, keyed(i).then_some(key.as_str())).await;
        }
        let (created, audited) = settle(&server, &customer).await;
        let hang_up_lines = request_codes(&server.lines(), "codes/create");

        // Every property is checked and the broken ones reported together.
        let mut broken = Vec::new();

        // (d) Every code a hung-up call created has its request line, and no request has two.
        let logged_done = hang_up_lines.iter().filter(|code| *code == "204").count() as i64;
        if logged_done < created {
            broken.push(format!(
                "(d) hung-up calls created {created} codes but only {logged_done} codes/create request lines say 204 \
                 ({} lines in all)",
                hang_up_lines.len()
            ));
        }
        if hang_up_lines.len() > HANG_UPS {
            broken.push(format!("(d) {} codes/create request lines for {HANG_UPS} requests", hang_up_lines.len()));
        }

        // (c) A keyed retry is answered: the first call's 204 replayed, or (when the
        // first never acted) acting now. Never a 503 from waiting on a dead call.
        let retries = (0..HANG_UPS).filter(|&i| keyed(i)).map(|i| {
            let (server, customer) = (&server, &customer);
            async move {
                let pairs = code_params(i, customer);
                (i, server.keyed(&format!("hang-{i}"), ADMIN_USER, "codes/create", &borrowed(&pairs)).await)
            }
        });
        let answers = futures_util::future::join_all(retries).await;
        let mut unanswered: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, answer) in answers.iter().filter(|(_, a)| a.code() != "204") {
            unanswered.entry(answer.body.to_string()).or_default().push(*i);
        }
        for (body, keys) in &unanswered {
            let (n, of) = (keys.len(), answers.len());
            broken.push(format!("(c) {n} of {of} keyed retries answered {body}: hang-{keys:?}"));
        }

        // (a) Every code that exists has exactly one audit row; (b) no audit row
        // names a code that does not exist.
        let listed = server.call(ADMIN_USER, "codes/list", &[("customer", &customer)]).await;
        let existing: BTreeSet<String> = listed.expect("200").data().as_array().unwrap().iter()
            .map(|row| row["code"].as_str().unwrap().to_string())
            .collect();
        let trail = server.call(ADMIN_USER, "audit/list", &[("call", "codes/create")]).await;
        let mut rows_by_code: BTreeMap<String, usize> = BTreeMap::new();
        for row in trail.expect("200").data().as_array().unwrap() {
            match audited_code(&row["object"]) {
                Some(code) => *rows_by_code.entry(code).or_default() += 1,
                None => broken.push(format!("(b) an audit row names no code: {row}")),
            }
        }
        let unaudited: Vec<&String> = existing.iter().filter(|code| !rows_by_code.contains_key(*code)).collect();
        if !unaudited.is_empty() {
            let (n, of) = (unaudited.len(), existing.len());
            broken.push(format!("(a) {n} of {of} codes have no audit row: {unaudited:?}"));
        }
        let repeated: Vec<(&String, &usize)> = rows_by_code.iter().filter(|(_, n)| **n > 1).collect();
        if !repeated.is_empty() {
            broken.push(format!("(a) codes with more than one audit row: {repeated:?}"));
        }
        let phantom: Vec<&String> = rows_by_code.keys().filter(|code| !existing.contains(*code)).collect();
        if !phantom.is_empty() {
            broken.push(format!("(b) audit rows name codes that do not exist: {phantom:?}"));
        }

        // (d) Each retry, a whole request, has exactly one request line.
        let (_, lines) = tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
        let retry_lines = request_codes(&lines, "codes/create").len().saturating_sub(hang_up_lines.len());
        if retry_lines != answers.len() {
            broken.push(format!("(d) {} retries left {retry_lines} codes/create request lines", answers.len()));
        }

        let _ = writeln!(
            std::io::stderr(),
            "hang-ups ({backend:?}): {created} codes created, {audited} audited, \
             {} request lines ({logged_done} say 204); after retries {} codes",
            hang_up_lines.len(),
            existing.len()
        );
        assert!(broken.is_empty(), "{backend:?}:\n{}", broken.join("\n"));
    }

    async fn a_killed_process_claim_is_taken_over(backend) {
        let db = TestDb::new(backend).await;
        let envs = [
            ("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD),
            // Room for a million numbers; a retry that waits this out (rather than
            // taking the dead process's claim over) answers 503 and fails the test.
            ("SWITCHYARD_LIMITS__CALL_TIMEOUT_SECS", "60"),
            // How long a claim stands without its owner showing it is alive.
            ("SWITCHYARD_LIMITS__IDEMPOTENCY_LEASE_SECS", "2"),
        ];
        let one = Server::start(&db, &envs);
        let two = Server::start(&db, &envs);
        let class = one.call(ADMIN_USER, "classes/create", &[("name", "c")]).await;
        let class = class.expect("200").data()["id"].to_string();
        let ingroup = one.call(ADMIN_USER, "ingroups/create", &[("name", "i")]).await;
        let ingroup = ingroup.expect("200").data()["id"].to_string();
        let range = [("start", "3000000000000"), ("end", "3000000999999"), ("class", &class), ("ingroup", &ingroup)];

        let first = tokio::spawn({
            let url = format!("{}/api/json/numbers/system/create", one.base);
            let mut form: Vec<(String, String)> =
                vec![("auth_username".into(), ADMIN.into()), ("auth_password".into(), ADMIN_PASSWORD.into())];
            form.extend(range.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            async move {
                let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
                client.post(url).header("Idempotency-Key", "big-1").form(&form).send().await.map(|r| r.status())
            }
        });
        // The moment the key is claimed, process one is acting under it: kill it there.
        let store = Db::connect(&Settings { database_url: db.url.clone(), ..Settings::default() }).await.unwrap();
        let mut claimed = false;
        for _ in 0..4000 {
            if scalar(&store, "SELECT COUNT(*) FROM idempotency_keys").await > 0 {
                claimed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(claimed, "process one never claimed the key");
        tokio::task::spawn_blocking(move || one.kill()).await.unwrap();
        // Its client sees the connection drop (or, had it been quicker than the kill, its answer).
        let _ = first.await.unwrap();

        let retry = two.keyed("big-1", ADMIN_USER, "numbers/system/create", &range).await;
        assert_eq!(retry.expect("200").data()["count"], 1_000_000, "{}", retry.body);
        // All of the range once, from one acting call: nothing of the killed one.
        let in_range = "FROM numbers WHERE number >= '3000000000000' AND number <= '3000000999999'";
        assert_eq!(scalar(&store, &format!("SELECT COUNT(*) {in_range}")).await, 1_000_000);
        assert_eq!(scalar(&store, &format!("SELECT COUNT(DISTINCT number) {in_range}")).await, 1_000_000);
        let batches = scalar(&store, "SELECT COUNT(DISTINCT batch) FROM numbers").await;
        assert_eq!(batches, 1, "more than one call added numbers");
        store.close().await;
        let audit = two.call(ADMIN_USER, "audit/list", &[("call", "numbers/system/create"), ("count", "1")]).await;
        assert_eq!(audit.expect("200").data()["count"], 1, "one call acted");
    }
}

/// One documented parameter of a call (credentials left out).
struct DocParam {
    name: String,
    required: bool,
    default: Option<Value>,
    description: String,
}

/// One call as `/api/openapi.json` describes its GET operation.
struct Operation {
    call: String,
    public: bool,
    params: Vec<DocParam>,
    /// The `name=value` pairs of `x-switchyard-example`, credentials left out.
    example: BTreeMap<String, String>,
}

impl Operation {
    fn required(&self) -> BTreeSet<&str> {
        self.params.iter().filter(|p| p.required).map(|p| p.name.as_str()).collect()
    }

    /// Optional parameters whose description makes them required in some cases
    /// ("required unless batch is given"): absent, they may be named in a 400.
    fn conditional(&self) -> BTreeSet<&str> {
        self.params.iter().filter(|p| p.description.contains("required unless")).map(|p| p.name.as_str()).collect()
    }
}

fn operations(document: &Value) -> Vec<Operation> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .map(|(path, item)| {
            let op = &item["get"];
            let params = op["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .filter(|p| !p["name"].as_str().unwrap().starts_with("auth_"))
                .map(|p| DocParam {
                    name: p["name"].as_str().unwrap().to_string(),
                    required: p["required"] == true,
                    default: p["schema"].get("default").cloned(),
                    description: p["description"].as_str().unwrap_or_default().to_string(),
                })
                .collect();
            // "curl 'http://host/api/json/<call>/?k=v;k=v'"
            let curl = op["x-switchyard-example"].as_str().expect("an example");
            let query = curl.split_once('?').map_or("", |(_, q)| q).trim_end_matches('\'');
            let example = query
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .filter(|(key, _)| !key.starts_with("auth_"))
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect();
            Operation {
                call: path.trim_start_matches("/api/json/").to_string(),
                public: op["x-switchyard-privileges"].as_array().is_none_or(Vec::is_empty),
                params,
                example,
            }
        })
        .collect()
}

/// The call as the administrator, or with no credentials at all when it is public.
async fn ask(app: &TestApp, op: &Operation, params: &[(&str, &str)]) -> Answer {
    if op.public {
        Answer::from(app.client.post(app.url(&op.call)).form(params).send().await.unwrap()).await
    } else {
        app.admin(&op.call, params).await
    }
}

/// A documented default as a parameter value.
fn as_param(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

both_databases! {
    async fn openapi_matches_what_is_enforced(backend) {
        let app = TestApp::spawn(backend).await;
        let response = app.client.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let document: Value = response.json().await.unwrap();
        let ops = operations(&document);
        assert!(ops.len() > 20, "too few calls documented: {}", ops.len());
        let mut mismatches = Vec::new();

        // (a) Called with nothing, a call names in its 400 exactly the parameters
        // documented as required (and those the documentation makes conditional).
        for op in &ops {
            let (required, conditional) = (op.required(), op.conditional());
            let answer = ask(&app, op, &[]).await;
            let keys: BTreeSet<&str> =
                if answer.code() == "400" { answer.keys().into_iter().collect() } else { BTreeSet::new() };
            if !required.is_empty() && answer.code() != "400" {
                let (call, body) = (&op.call, &answer.body);
                mismatches.push(format!("{call}: documents {required:?} as required, yet with none answered {body}"));
                continue;
            }
            let missing: Vec<&&str> = required.difference(&keys).collect();
            let extra: Vec<&&str> =
                keys.iter().filter(|k| !required.contains(*k) && !conditional.contains(*k)).collect();
            if !missing.is_empty() || !extra.is_empty() {
                mismatches.push(format!(
                    "{}: with no parameters, required {missing:?} not reported, \
                     optional {extra:?} reported as missing: {}",
                    op.call, answer.body
                ));
            }
        }

        // (b) An object created with only its required parameters holds the documented defaults.
        // What the examples cannot supply: a number needs a class and an inbound group that exist.
        let class = app.admin("classes/create", &[("name", "For numbers")]).await;
        let class = class.expect("200").data()["id"].to_string();
        let ingroup = app.admin("ingroups/create", &[("name", "For numbers")]).await;
        let ingroup = ingroup.expect("200").data()["id"].to_string();
        let fixed: BTreeMap<&str, Vec<(&str, &str)>> =
            [("numbers/system/create", vec![("class", class.as_str()), ("ingroup", ingroup.as_str())])].into();
        let mut compared = 0;
        for op in ops.iter().filter(|op| op.call.ends_with("/create")) {
            let base = op.call.trim_end_matches("/create");
            let find = |name: String| ops.iter().find(|o| o.call == name);
            let Some(reader) = find(format!("{base}/get")).or_else(|| find(format!("{base}/list"))) else { continue };
            let mut values = op.example.clone();
            for (key, value) in fixed.get(op.call.as_str()).into_iter().flatten() {
                values.insert(key.to_string(), value.to_string());
            }
            let absent: Vec<&str> = op.required().into_iter().filter(|p| !values.contains_key(*p)).collect();
            assert!(absent.is_empty(), "{}: the example gives no value for {absent:?}", op.call);
            let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let created = app.admin(&op.call, &pairs).await;
            if !["200", "204"].contains(&created.code()) {
                mismatches.push(format!("{}: its example values were refused: {}", op.call, created.body));
                continue;
            }
            // A 204 (a feature code) has no data and no id.
            let id = created.body["data"]["id"].clone();
            let read = if reader.call.ends_with("/get") {
                let by: Vec<(&str, String)> = reader
                    .required()
                    .into_iter()
                    .map(|name| match name {
                        "id" => (name, id.to_string()),
                        // numbers/system/get reads back the number create called `start`.
                        "number" => (name, values["start"].clone()),
                        other => {
                            let value = values.get(other).unwrap_or_else(|| panic!("{}: {other}?", reader.call));
                            (name, value.clone())
                        }
                    })
                    .collect();
                app.admin(&reader.call, &borrowed(&by)).await
            } else {
                ask(&app, reader, &[]).await
            };
            if read.code() != "200" {
                mismatches.push(format!("{}: reading back what {} made answered {}", reader.call, op.call, read.body));
                continue;
            }
            let object = match read.data() {
                Value::Array(rows) => rows.iter().find(|row| row["id"] == id).cloned().unwrap_or_default(),
                object => object.clone(),
            };
            let (made, shown) = (&created.body, &read.body);
            assert!(object.is_object(), "{}: {made} made nothing {} shows: {shown}", op.call, reader.call);
            for param in op.params.iter().filter(|p| !p.required) {
                let (Some(default), Some(stored)) = (&param.default, object.get(&param.name)) else { continue };
                compared += 1;
                if stored == default {
                    continue;
                }
                // Compared strictly: no field is stored as text of digits today, so 0 and "0" differ.
                mismatches.push(format!(
                    "{}: {} is documented to default to {default}, but {stored} was stored ({})",
                    op.call, param.name, reader.call
                ));
            }
        }
        assert!(compared > 20, "too few defaults compared ({compared}): the read-back objects lack the fields");

        // A list with no parameters is the list with every documented default sent.
        for op in ops.iter().filter(|op| op.call.ends_with("/list")) {
            let required: Vec<(&str, &str)> =
                op.required().into_iter().map(|name| (name, op.example[name].as_str())).collect();
            let defaults: Vec<(&str, String)> = op
                .params
                .iter()
                .filter_map(|p| p.default.as_ref().map(|d| (p.name.as_str(), as_param(d))))
                .collect();
            assert!(
                ["limit", "offset", "descending", "count"].iter().all(|n| defaults.iter().any(|(d, _)| d == n)),
                "{}: the list parameters are not all documented with a default",
                op.call
            );
            let bare = ask(&app, op, &required).await;
            let mut explicit = required.clone();
            explicit.extend(defaults.iter().map(|(k, v)| (*k, v.as_str())));
            let full = ask(&app, op, &explicit).await;
            if bare.code() != "200" || full.code() != "200" {
                let (call, bare, full) = (&op.call, &bare.body, &full.body);
                mismatches.push(format!("{call}: {required:?} answered {bare}; {explicit:?} answered {full}"));
            } else if bare.body != full.body {
                let (call, bare, full) = (&op.call, &bare.body, &full.body);
                mismatches.push(format!("{call}: {explicit:?} changed the answer: {bare} vs {full}"));
            }
        }

        let _ = writeln!(
            std::io::stderr(),
            "openapi ({backend:?}): {} calls, {compared} defaults compared",
            ops.len()
        );
        assert!(mismatches.is_empty(), "/api/openapi.json and the server disagree:\n{}", mismatches.join("\n"));
    }
}

both_databases! {
    async fn what_a_call_logs_names_the_call_and_its_person(backend) {
        let db = TestDb::new(backend).await;
        let server = Server::start(&db, &[
            ("SWITCHYARD_ADMIN_PASSWORD", "span-Password-1"),
            ("SWITCHYARD_LOG__FORMAT", "json"),
            ("SWITCHYARD_LIMITS__CALL_TIMEOUT_SECS", "1"),
        ]);
        let admin = ("admin", "span-Password-1");
        server.call(admin, "classes/create", &[("name", "c")]).await.expect("200");
        server.call(admin, "ingroups/create", &[("name", "i")]).await.expect("200");
        // The import cannot finish within its second, whatever the machine's
        // speed: on PostgreSQL the table is locked against writes, on SQLite
        // each row inserted counts the table again. The call times out.
        let _held = slow_down_imports(&db, backend).await;
        let range = [("start", "6000000"), ("end", "6999999"), ("class", "1"), ("ingroup", "1")];
        server.call(admin, "numbers/system/create", &range).await.expect("503");
        let (_, lines) = server.stop();
        let json: Vec<Value> = lines.iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
        // The warning comes from deep in the call, and carries the call's span.
        let warning = json.iter().find(|l| l["message"].as_str().is_some_and(|m| m.contains("timed out")));
        let warning = warning.unwrap_or_else(|| panic!("no timeout warning: {lines:#?}"));
        assert_eq!(warning["span"]["call"], "numbers/system/create", "{warning}");
        assert_eq!(warning["span"]["person"], "admin", "{warning}");
        let request_id = warning["span"]["request_id"].as_str().unwrap_or_else(|| panic!("{warning}"));
        // The request line: envelope code and HTTP status, a rounded duration, the same request id.
        let line = json
            .iter()
            .find(|l| l["target"] == "switchyard::request" && l["call"] == "numbers/system/create")
            .unwrap_or_else(|| panic!("no request line: {lines:#?}"));
        assert_eq!((line["code"].as_u64(), line["status"].as_u64()), (Some(503), Some(503)), "{line}");
        assert_eq!(line["request_id"], request_id, "{line}");
        assert_eq!(line["hung_up"], false, "{line}");
        let ms = line["duration_ms"].as_f64().unwrap();
        assert_eq!((ms * 10.0).round() / 10.0, ms, "duration_ms is rounded to a tenth: {line}");
        assert!(!lines.iter().any(|l| l.contains("database unavailable")), "a timeout was logged as a database fault");
    }
}

/// Makes every insert into `numbers` wait (PostgreSQL: a lock held by the
/// connection answered) or crawl (SQLite: a trigger), so that an import
/// times out however fast the machine is.
async fn slow_down_imports(db: &TestDb, backend: Backend) -> Option<sqlx::PgConnection> {
    use sqlx::Connection;
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query("CREATE TRIGGER crawl AFTER INSERT ON numbers BEGIN SELECT COUNT(*) FROM numbers; END")
                .execute(&mut conn)
                .await
                .unwrap();
            None
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
            sqlx::query("LOCK TABLE numbers IN SHARE MODE").execute(&mut conn).await.unwrap();
            Some(conn)
        }
    }
}
