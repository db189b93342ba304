//! Feature codes and the objects they refer to: every rule of the contract's
//! table with an accepted and a refused value, defaults, privileges,
//! visibility, plan limits, validation, races, and the rest of the family.

use crate::{
    both_databases,
    common::*,
    tenancy::{PW, customer, person},
};
use serde_json::json;

/// The objects the table's references need, in customer 1 and in another customer.
struct Fixture {
    other: i64,
    music: i64,
    shared_music: i64,
    other_music: i64,
    recordgroup: i64,
    other_recordgroup: i64,
    timegroup: i64,
    shared_timegroup: i64,
    other_timegroup: i64,
    owner: i64,
    other_owner: i64,
}

async fn id(answer: Answer) -> i64 {
    answer.expect("200").data()["id"].as_i64().unwrap()
}

async fn fixture(app: &TestApp) -> Fixture {
    let other = customer(app, "Other", 1).await;
    let o = other.to_string();
    Fixture {
        other,
        music: id(app.admin("music/create", &[("name", "Jazz")]).await).await,
        shared_music: id(app.admin("music/create", &[("name", "Common"), ("shared", "1")]).await).await,
        other_music: id(app.admin("music/create", &[("name", "Theirs"), ("customer", &o)]).await).await,
        recordgroup: id(app.admin("recording/groups/create", &[("name", "Calls")]).await).await,
        other_recordgroup: id(app.admin("recording/groups/create", &[("name", "Theirs"), ("customer", &o)]).await)
            .await,
        timegroup: id(app.admin("timegroups/create", &[("name", "Office hours")]).await).await,
        shared_timegroup: id(app.admin("timegroups/create", &[("name", "Holidays"), ("shared", "1")]).await).await,
        other_timegroup: id(app.admin("timegroups/create", &[("name", "Theirs"), ("customer", &o)]).await).await,
        owner: person(app, "owner1", 4, 1).await,
        other_owner: person(app, "owner2", 4, other).await,
    }
}

/// Creates code `code` with the required parameters plus `extra`.
async fn create(app: &TestApp, code: &str, extra: &[(&str, &str)]) -> Answer {
    let mut params = vec![("code", code), ("dtype", "phone"), ("dnumber", "1234567")];
    for (key, value) in extra {
        params.retain(|(k, _)| k != key);
        params.push((key, value));
    }
    app.admin("codes/create", &params).await
}

both_databases! {
    async fn the_seed_example_verbatim(backend) {
        let app = TestApp::spawn(backend).await;
        let url = format!("{}/api/json/codes/create/?auth_username=admin;auth_password={ADMIN_PASSWORD};code=100;dtype=phone;dnumber=1234567", app.base);
        let text = app.client.get(url).send().await.unwrap().text().await.unwrap();
        assert_eq!(text, r#"{"responses":[{"code":"204","key":"","message":"OK"}]}"#);
    }

    async fn defaults_are_visible_through_get(backend) {
        let app = TestApp::spawn(backend).await;
        create(&app, "*72#", &[]).await.expect("204");
        let answer = app.admin("codes/get", &[("code", "*72#")]).await;
        let mut row = answer.expect("200").data().clone();
        assert!(row["created"].as_i64().unwrap() > 1_700_000_000);
        row.as_object_mut().unwrap().remove("created");
        assert_eq!(row, json!({
            "customer": 1, "code": "*72#", "dtype": "phone", "dnumber": "1234567", "description": "", "direct": 0,
            "fax_detect": 0, "fax_dtype": "", "fax_dnumber": "", "language": "", "maximum_seconds": -1, "music": 0,
            "owner": 0, "panel": 0, "password": "", "play_message": 0, "recordgroup": 0, "ringtone": "", "routing": "",
            "screen": 0, "shared": 0, "sname": "", "sname_action": "replace", "text_dtype": "none", "text_dnumber": "",
            "update_routing": 0,
        }));
    }

    async fn every_rule_accepts_and_refuses(backend) {
        let app = TestApp::spawn(backend).await;
        let f = fixture(&app).await;
        create(&app, "500", &[]).await.expect("204");
        let s = |n: i64| n.to_string();
        let (music, shared_music, other_music) = (s(f.music), s(f.shared_music), s(f.other_music));
        let (rg, other_rg) = (s(f.recordgroup), s(f.other_recordgroup));
        let (tg, shared_tg, other_tg) = (format!("timegroup_{}", f.timegroup), format!("timegroup_{}", f.shared_timegroup), format!("timegroup_{}", f.other_timegroup));
        let (owner, other_owner) = (s(f.owner), s(f.other_owner));
        let (long255, long256, long64, long65) = ("d".repeat(255), "d".repeat(256), "n".repeat(64), "n".repeat(65));
        let (code32, code33, pin20, pin21) = ("9".repeat(32), "9".repeat(33), "1".repeat(20), "1".repeat(21));
        type Case<'a> = (&'a str, Vec<Vec<(&'a str, &'a str)>>, Vec<Vec<(&'a str, &'a str)>>);
        let cases: Vec<Case> = vec![
            ("dtype", vec![
                vec![("dtype", "phone"), ("dnumber", "0")],
                vec![("dtype", "forward"), ("dnumber", "+441234567")],
                vec![("dtype", "peer"), ("dnumber", "100@carrier-1.example")],
                vec![("dtype", "sipuri"), ("dnumber", "sip:alice@example.com")],
                vec![("dtype", "code"), ("dnumber", "500")],
                vec![("dtype", "queue"), ("dnumber", "1")],
                vec![("dtype", "huntgroup"), ("dnumber", "2")],
                vec![("dtype", "ivr"), ("dnumber", "3")],
                vec![("dtype", "conference"), ("dnumber", "4")],
                vec![("dtype", "mailbox"), ("dnumber", "5")],
                vec![("dtype", "url"), ("dnumber", "https://example.com/hook")],
                vec![("dtype", "hangup"), ("dnumber", "")],
                vec![("dtype", "busy"), ("dnumber", "")],
            ], vec![vec![("dtype", "email"), ("dnumber", "a@b.c")], vec![("dtype", "Phone")], vec![("dtype", "")]]),
            ("dnumber", vec![], vec![
                vec![("dtype", "phone"), ("dnumber", "+1")],
                vec![("dtype", "forward"), ("dnumber", "1-2")],
                vec![("dtype", "peer"), ("dnumber", "100")],
                vec![("dtype", "sipuri"), ("dnumber", "sip:alice")],
                vec![("dtype", "code"), ("dnumber", "404")],
                vec![("dtype", "queue"), ("dnumber", "0")],
                vec![("dtype", "url"), ("dnumber", "ftp://x")],
                vec![("dtype", "hangup"), ("dnumber", "1")],
                vec![("dtype", "number"), ("dnumber", "2125550000")],
            ]),
            ("customer", vec![vec![("customer", "1")], vec![("customer", "")]], vec![vec![("customer", "999")], vec![("customer", "x")]]),
            ("description", vec![vec![("description", &long255)]], vec![vec![("description", &long256)]]),
            ("direct", vec![vec![("direct", "1")], vec![("direct", "0")]], vec![vec![("direct", "2")], vec![("direct", "yes")]]),
            ("fax_detect", vec![vec![("fax_detect", "1"), ("fax_dtype", "email"), ("fax_dnumber", "fax@example.com")]], vec![vec![("fax_detect", "-1")]]),
            ("fax_dtype", vec![vec![("fax_dtype", "phone"), ("fax_dnumber", "55")], vec![("fax_dtype", "hangup")]],
                vec![vec![("fax_dtype", "fax")], vec![("fax_detect", "1")]]),
            ("fax_dnumber", vec![vec![("fax_dtype", "email"), ("fax_dnumber", "x@y.z")]],
                vec![vec![("fax_dnumber", "55")], vec![("fax_dtype", "email"), ("fax_dnumber", "nobody")]]),
            ("language", vec![vec![("language", "en")], vec![("language", "en-GB")], vec![("language", "pt_BR")]], vec![vec![("language", "english")], vec![("language", "e")]]),
            ("maximum_seconds", vec![vec![("maximum_seconds", "-1")], vec![("maximum_seconds", "30")]], vec![vec![("maximum_seconds", "0")], vec![("maximum_seconds", "-2")], vec![("maximum_seconds", "1.5")]]),
            ("music", vec![vec![("music", "0")], vec![("music", &music)], vec![("music", &shared_music)]], vec![vec![("music", &other_music)], vec![("music", "999")], vec![("music", "-1")]]),
            ("owner", vec![vec![("owner", "0")], vec![("owner", &owner)]], vec![vec![("owner", &other_owner)], vec![("owner", "999")]]),
            ("panel", vec![vec![("panel", "1")]], vec![vec![("panel", "3")]]),
            ("password", vec![vec![("password", "")], vec![("password", "1234")], vec![("password", &pin20)]], vec![vec![("password", "12a4")], vec![("password", &pin21)]]),
            ("play_message", vec![vec![("play_message", "0")], vec![("play_message", "1")], vec![("play_message", "2")]], vec![vec![("play_message", "3")]]),
            ("recordgroup", vec![vec![("recordgroup", "0")], vec![("recordgroup", &rg)]], vec![vec![("recordgroup", &other_rg)], vec![("recordgroup", "999")]]),
            ("ringtone", ["", "auto-callback", "call-waiting", "delayed", "external", "forward", "hold-recall", "internal", "normal", "priority", "short", "transfer-recall"]
                .iter().map(|r| vec![("ringtone", *r)]).collect(), vec![vec![("ringtone", "loud")], vec![("ringtone", "Normal")]]),
            ("routing", vec![vec![("routing", "")], vec![("routing", "default")], vec![("routing", &tg)], vec![("routing", &shared_tg)], vec![("routing", "+442071234567")]],
                vec![vec![("routing", &other_tg)], vec![("routing", "timegroup_999")], vec![("routing", "sometimes")]]),
            ("screen", (0..=4).map(|n| vec![("screen", ["0", "1", "2", "3", "4"][n])]).collect(), vec![vec![("screen", "5")], vec![("screen", "-1")]]),
            ("shared", vec![vec![("shared", "0")], vec![("shared", "1")]], vec![vec![("shared", "2")]]),
            ("sname", vec![vec![("sname", &long64)]], vec![vec![("sname", &long65)]]),
            ("sname_action", vec![vec![("sname_action", "replace")], vec![("sname_action", "prepend")], vec![("sname_action", "append")]],
                vec![vec![("sname_action", "swap")]]),
            ("text_dtype", vec![vec![("text_dtype", "none")], vec![("text_dtype", "email"), ("text_dnumber", "sms@example.com")], vec![("text_dtype", "phone"), ("text_dnumber", "123")],
                vec![("text_dtype", "forward"), ("text_dnumber", "+123")], vec![("text_dtype", "url"), ("text_dnumber", "https://example.com/sms")]],
                vec![vec![("text_dtype", "peer"), ("text_dnumber", "1@x")]]),
            ("text_dnumber", vec![], vec![vec![("text_dnumber", "123")], vec![("text_dtype", "email"), ("text_dnumber", "x")]]),
            ("update_routing", vec![vec![("update_routing", "1")]], vec![vec![("update_routing", "on")]]),
        ];
        // (An empty sname_action or text_dtype is its default: see enswitch_behaviours.)
        let mut n = 1000;
        for (key, good, bad) in &cases {
            for extra in good {
                n += 1;
                create(&app, &n.to_string(), extra).await.expect("204");
                let row = app.admin("codes/get", &[("code", &n.to_string())]).await;
                for (k, v) in extra {
                    let stored = &row.data()[*k];
                    let stored = stored.as_str().map(str::to_string).unwrap_or_else(|| stored.to_string());
                    let expected = if v.is_empty() && *k == "customer" { "1" } else { v };
                    assert_eq!(stored, expected, "{key}: {extra:?}");
                }
            }
            for extra in bad {
                n += 1;
                let answer = create(&app, &n.to_string(), extra).await;
                answer.expect_invalid(&[key]);
            }
        }
        // The code itself.
        for good in ["*72#", "#", &code32] {
            create(&app, good, &[]).await.expect("204");
        }
        for bad in ["", "12a", "7 2", &code33] {
            create(&app, bad, &[]).await.expect_invalid(&["code"]);
        }
        // dtype and dnumber are required; a code cannot route to itself.
        app.admin("codes/create", &[("code", "9000")]).await.expect_invalid(&["dtype", "dnumber"]);
        create(&app, "9001", &[("dtype", "code"), ("dnumber", "9001")]).await.expect_invalid(&["dnumber"]);
        create(&app, "9002", &[("validation", "2")]).await.expect_invalid(&["validation"]);
    }

    async fn every_bad_parameter_once_in_table_order(backend) {
        let app = TestApp::spawn(backend).await;
        let answer = app.admin("codes/create", &[
            ("update_routing", "5"), ("sname", &"x".repeat(70)), ("screen", "9"), ("code", "abc"), ("dtype", "phone"),
            ("dnumber", "12x"), ("language", "klingon"), ("ringtone", "loud"), ("customer", "404"), ("music", "x"),
        ]).await;
        answer.expect_invalid(&["code", "dnumber", "customer", "language", "music", "ringtone", "screen", "sname", "update_routing"]);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM codes").await, 0);
    }

    async fn privileges_and_visibility(backend) {
        let app = TestApp::spawn(backend).await;
        let a = customer(&app, "A", 1).await;
        let b = customer(&app, "B", 1).await;
        person(&app, "admin_a", 3, a).await;
        person(&app, "user_a", 4, a).await;
        let code = [("code", "100"), ("dtype", "phone"), ("dnumber", "1")];
        app.call_as("user_a", PW, "codes/create", &code).await.expect("402");
        app.call_as("admin_a", PW, "codes/create", &code).await.expect("204");
        let row = app.admin("codes/get", &[("code", "100"), ("customer", &a.to_string())]).await;
        assert_eq!(row.expect("200").data()["customer"], a);
        // Another customer is not seen: the same answer as one that does not exist.
        let mut in_b = code.to_vec();
        let b_id = b.to_string();
        in_b.push(("customer", &b_id));
        let unseen = app.call_as("admin_a", PW, "codes/create", &in_b).await;
        unseen.expect_invalid(&["customer"]);
        let mut in_nowhere = code.to_vec();
        in_nowhere.push(("customer", "999"));
        assert_eq!(app.call_as("admin_a", PW, "codes/create", &in_nowhere).await.body, unseen.body);
        // Sharing needs the system privilege (402 after every input check).
        let mut shared = code.to_vec();
        shared[0] = ("code", "101");
        shared.push(("shared", "1"));
        app.call_as("admin_a", PW, "codes/create", &shared).await.expect("402");
        shared.push(("language", "x"));
        app.call_as("admin_a", PW, "codes/create", &shared).await.expect_invalid(&["language"]);
        // Reads need only the user privilege.
        app.call_as("user_a", PW, "codes/get", &[("code", "100")]).await.expect("200");
        app.call_as("user_a", PW, "codes/list", &[]).await.expect("200");
        app.call_as("user_a", PW, "codes/delete", &[("code", "100")]).await.expect("402");
    }

    async fn plan_limits_through_the_api(backend) {
        let app = TestApp::spawn(backend).await;
        let plan = id(app.admin("plans/create", &[("name", "Two codes")]).await).await.to_string();
        let c = id(app.admin("customers/create", &[("name", "C"), ("email", "c@c.c"), ("plan", &plan)]).await).await.to_string();
        let code = |n: &'static str| [("code", n), ("dtype", "busy"), ("dnumber", ""), ("customer", c.as_str())];
        // No row: no limit.
        app.admin("codes/create", &code("1")).await.expect("204");
        app.admin("plans/features/set", &[("plan", &plan), ("feature", "codes"), ("maximum", "2")]).await.expect("204");
        app.admin("codes/create", &code("2")).await.expect("204");
        app.admin("codes/create", &code("3")).await.expect("403");
        // Validation also answers 403: the plan is checked before validation returns.
        let mut validate = code("3").to_vec();
        validate.push(("validation", "1"));
        app.admin("codes/create", &validate).await.expect("403");
        // Input errors come before the plan.
        app.admin("codes/create", &[("code", "x"), ("dtype", "busy"), ("dnumber", ""), ("customer", &c)]).await.expect_invalid(&["code"]);
        app.admin("plans/features/set", &[("plan", &plan), ("feature", "codes"), ("maximum", "0")]).await.expect("204");
        app.admin("codes/create", &code("4")).await.expect("403");
        app.admin("plans/features/set", &[("plan", &plan), ("feature", "codes"), ("maximum", "-1")]).await.expect("204");
        app.admin("codes/create", &code("4")).await.expect("204");
        // Deleting frees a slot.
        app.admin("plans/features/set", &[("plan", &plan), ("feature", "codes"), ("maximum", "3")]).await.expect("204");
        app.admin("codes/create", &code("5")).await.expect("403");
        app.admin("codes/delete", &[("code", "4"), ("customer", &c)]).await.expect("204");
        app.admin("codes/create", &code("5")).await.expect("204");
    }

    async fn validation_only_writes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        create(&app, "100", &[("validation", "1")]).await.expect("201");
        app.admin("codes/get", &[("code", "100")]).await.expect("404");
        create(&app, "100", &[]).await.expect("204");
        create(&app, "100", &[("validation", "1")]).await.expect_invalid(&["code"]);
        app.admin("codes/update", &[("code", "100"), ("dnumber", "999"), ("validation", "1")]).await.expect("201");
        app.admin("codes/delete", &[("code", "100"), ("validation", "1")]).await.expect("201");
        let row = app.admin("codes/get", &[("code", "100")]).await;
        assert_eq!(row.expect("200").data()["dnumber"], "1234567");
    }

    async fn racing_creates_of_one_code(backend) {
        let app = TestApp::spawn(backend).await;
        let attempts = (0..10).map(|_| create(&app, "*99", &[]));
        let answers = futures_util::future::join_all(attempts).await;
        assert_eq!(answers.iter().filter(|a| a.code() == "204").count(), 1);
        for answer in answers.iter().filter(|a| a.code() != "204") {
            answer.expect_invalid(&["code"]);
        }
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM codes").await, 1);
    }

    async fn list_sorts_bytewise_and_includes_shared_codes(backend) {
        let app = TestApp::spawn(backend).await;
        let c = customer(&app, "C", 1).await.to_string();
        for (code, dnumber) in [("99", "3"), ("0100", "1"), ("100", "2")] {
            app.admin("codes/create", &[("code", code), ("dtype", "phone"), ("dnumber", dnumber), ("customer", &c)]).await.expect("204");
        }
        create(&app, "*1", &[("shared", "1")]).await.expect("204");
        create(&app, "*2", &[]).await.expect("204");
        let codes = |answer: Answer| -> Vec<String> {
            answer.expect("200").data().as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_string()).collect()
        };
        assert_eq!(codes(app.admin("codes/list", &[("customer", &c)]).await), ["*1", "0100", "100", "99"]);
        assert_eq!(codes(app.admin("codes/list", &[("customer", &c), ("descending", "1")]).await), ["99", "100", "0100", "*1"]);
        // dnumbers "1" < "1234567" (the shared code) < "2" < "3", bytewise.
        assert_eq!(codes(app.admin("codes/list", &[("customer", &c), ("sort", "dnumber")]).await), ["0100", "*1", "100", "99"]);
        assert_eq!(codes(app.admin("codes/list", &[("customer", &c), ("limit", "2"), ("offset", "1")]).await), ["0100", "100"]);
        assert_eq!(app.admin("codes/list", &[("customer", &c), ("count", "1")]).await.data()["count"], 4);
        app.admin("codes/list", &[("sort", "owner")]).await.expect_invalid(&["sort"]);
        // A shared code is listed, but get, update and delete act on own codes only.
        app.admin("codes/get", &[("code", "*1"), ("customer", &c)]).await.expect("404");
        app.admin("codes/delete", &[("code", "*1"), ("customer", &c)]).await.expect("404");
        // A customer's own code may equal a shared one.
        app.admin("codes/create", &[("code", "*1"), ("dtype", "busy"), ("dnumber", ""), ("customer", &c)]).await.expect("204");
        assert_eq!(codes(app.admin("codes/list", &[("customer", &c)]).await), ["*1", "*1", "0100", "100", "99"]);
    }

    async fn update_keeps_absent_fields(backend) {
        let app = TestApp::spawn(backend).await;
        create(&app, "100", &[("description", "front desk"), ("language", "en"), ("maximum_seconds", "60")]).await.expect("204");
        app.admin("codes/update", &[("code", "100"), ("dtype", "forward"), ("dnumber", "+4411"), ("language", "")]).await.expect("204");
        let row = app.admin("codes/get", &[("code", "100")]).await;
        let row = row.expect("200").data();
        assert_eq!((row["dtype"].as_str(), row["dnumber"].as_str()), (Some("forward"), Some("+4411")));
        assert_eq!(row["description"], "front desk");
        assert_eq!(row["maximum_seconds"], 60);
        assert_eq!(row["language"], "", "a present empty value is given");
        // Same rules as create; a refused update changes nothing.
        app.admin("codes/update", &[("code", "100"), ("dtype", "phone"), ("screen", "7")]).await.expect_invalid(&["dnumber", "screen"]);
        app.admin("codes/update", &[("code", "100"), ("maximum_seconds", "")]).await.expect("204");
        assert_eq!(app.admin("codes/get", &[("code", "100")]).await.data()["maximum_seconds"], -1, "empty means the default");
        assert_eq!(app.admin("codes/get", &[("code", "100")]).await.data()["dtype"], "forward");
        app.admin("codes/update", &[("code", "404"), ("description", "x")]).await.expect("404");
        app.admin("codes/update", &[("code", "100"), ("dtype", "code"), ("dnumber", "100")]).await.expect_invalid(&["dnumber"]);
    }

    async fn users_update_only_their_own_codes(backend) {
        let app = TestApp::spawn(backend).await;
        let mine = person(&app, "me", 4, 1).await;
        person(&app, "admin3", 3, 1).await;
        create(&app, "1", &[("owner", &mine.to_string())]).await.expect("204");
        create(&app, "2", &[]).await.expect("204");
        app.call_as("me", PW, "codes/update", &[("code", "1"), ("description", "mine")]).await.expect("204");
        app.call_as("me", PW, "codes/update", &[("code", "2"), ("description", "not mine")]).await.expect("404");
        app.call_as("admin3", PW, "codes/update", &[("code", "2"), ("description", "admin")]).await.expect("204");
        app.call_as("admin3", PW, "codes/update", &[("code", "2"), ("shared", "1")]).await.expect("402");
        app.admin("codes/update", &[("code", "2"), ("shared", "1")]).await.expect("204");
        assert_eq!(app.admin("codes/get", &[("code", "1")]).await.data()["description"], "mine");
    }

    async fn delete_then_gone(backend) {
        let app = TestApp::spawn(backend).await;
        create(&app, "100", &[]).await.expect("204");
        app.admin("codes/delete", &[("code", "100")]).await.expect("204");
        app.admin("codes/delete", &[("code", "100")]).await.expect("404");
        app.admin("codes/get", &[("code", "100")]).await.expect("404");
        app.admin("codes/delete", &[]).await.expect_invalid(&["code"]);
    }

    async fn music_record_groups_and_time_groups(backend) {
        let app = TestApp::spawn(backend).await;
        let f = fixture(&app).await;
        person(&app, "admin3", 3, 1).await;
        for call in ["music/create", "timegroups/create"] {
            app.call_as("admin3", PW, call, &[("name", "mine"), ("shared", "1")]).await.expect("402");
            app.call_as("admin3", PW, call, &[("name", "mine")]).await.expect("200");
        }
        app.call_as("admin3", PW, "recording/groups/create", &[("name", "mine")]).await.expect("200");
        let music = app.admin("music/list", &[("customer", &f.other.to_string())]).await;
        let names: Vec<&str> = music.expect("200").data().as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Common", "Theirs"], "own and shared");
        let row = &music.data()[1];
        assert_eq!(row["customer"], f.other);
        assert_eq!(row["shared"], 0);
        let groups = app.admin("recording/groups/list", &[]).await;
        assert!(groups.data()[0].get("shared").is_none());
        assert_eq!(app.admin("timegroups/list", &[("count", "1")]).await.data()["count"], 3);
        app.admin("music/create", &[("name", ""), ("customer", "999"), ("shared", "x")]).await.expect_invalid(&["name", "customer", "shared"]);
        app.admin("timegroups/create", &[("name", "v"), ("validation", "1")]).await.expect("201");
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM timegroups WHERE name = 'v'").await, 0);
    }
}
