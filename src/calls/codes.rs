//! Feature codes: dialable short codes that route a caller to a destination.
//! Create and update read the same fields into one record and check it with
//! the same rules; update starts from the stored record, so an absent field
//! keeps its value.

use serde_json::{Value, json};

use super::{
    Access, CallResult, CallSpec, Ctx, Input, Kind, Param,
    write::{VALIDATION, customer_param, in_transaction},
};
use crate::{
    auth::privilege::Privilege,
    domain::{
        RINGTONES, Routing,
        destination::{DestinationType, is_digits, is_feature_code},
        is_language_tag,
    },
    http::{envelope::Reply, error::ApiError},
    store::{
        self, Db, StoreError,
        codes::{CodeRecord, InsertError, Sort},
        groups::{MUSIC, RECORD_GROUPS, TIME_GROUPS},
        plans::Feature,
    },
};

const CODE: Param = Param::required("code", Kind::Text, "Feature code: 1 to 32 of 0-9 * #.");
const CUSTOMER: Param =
    Param::optional("customer", Kind::Integer, "Customer of authentication user.", "ID of customer to act in.");

/// Every field after `code`, `dtype`, `dnumber` and `customer`, in the seed's order.
macro_rules! code_fields {
    ($($head:expr),* $(,)?) => {
        &[
            $($head,)*
            Param::optional("description", Kind::Text, "", "Description, at most 255 characters."),
            Param::optional("direct", Kind::Flag, "0", "1 to allow callers to enter feature code in IVRs and attendant, 0 not to."),
            Param::optional("fax_detect", Kind::Flag, "0", "1 to detect faxes, 0 not to."),
            Param::optional("fax_dtype", Kind::Text, "", "Destination type on fax detection: a destination type or email."),
            Param::optional("fax_dnumber", Kind::Text, "", "Destination number on fax detection."),
            Param::optional("language", Kind::Text, "", "Language code such as en or en-GB. Empty string for default."),
            Param::optional("maximum_seconds", Kind::Integer, "-1", "Maximum seconds to let call run for, -1 for no limit."),
            Param::optional("music", Kind::Integer, "0", "ID of music class to play. 0 for default."),
            Param::optional("owner", Kind::Integer, "0", "ID of owner (a person of the customer). 0 for none."),
            Param::optional("panel", Kind::Flag, "0", "1 to display in control panel, 0 not to."),
            Param::optional("password", Kind::Text, "", "PIN (1 to 20 digits) to update feature code. Empty string to forbid."),
            Param::optional("play_message", Kind::Integer, "0", "1 to play message to callers, 2 to play without answering, 0 not to play."),
            Param::optional("recordgroup", Kind::Integer, "0", "ID of record group. 0 for none."),
            Param::optional("ringtone", Kind::Text, "", "Ring tone to force, or empty string for none."),
            Param::optional("routing", Kind::Text, "", "Temporary routing: default, timegroup_<ID>, a number, or empty string for normal."),
            Param::optional("screen", Kind::Integer, "0", "0 not to screen; 1 caller ID; 2 ask name; 3 play file; 4 file and caller ID."),
            Param::optional("shared", Kind::Flag, "0", "1 to share with all customers on system (system privilege), 0 not to."),
            Param::optional("sname", Kind::Text, "", "Force caller name, at most 64 characters. Empty string for no change."),
            Param::optional("sname_action", Kind::Text, "replace", "replace, prepend or append the caller name."),
            Param::optional("text_dtype", Kind::Text, "none", "Destination type for text messages: none, email, phone, forward, url."),
            Param::optional("text_dnumber", Kind::Text, "", "Destination number for text messages."),
            Param::optional("update_routing", Kind::Flag, "0", "1 to automatically update routing, 0 not to."),
            VALIDATION,
        ]
    };
}

const EDITORS: &[Privilege] = &[Privilege::Administrator, Privilege::Wholesale];
const READ: Access = Access::Requires { any_of: &[Privilege::User], writes: false };

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "codes/create",
        summary: "Creates a new feature code.",
        access: Access::Requires { any_of: EDITORS, writes: true },
        params: code_fields![
            CODE,
            Param::required("dtype", Kind::Text, "Destination type."),
            Param::required("dnumber", Kind::Text, "Destination number, valid for the destination type."),
            CUSTOMER,
        ],
        list: false,
        handler: |ctx| Box::pin(create(ctx)),
    },
    CallSpec {
        name: "codes/get",
        summary: "Gets one of a customer's own feature codes.",
        access: READ,
        params: &[CODE, CUSTOMER],
        list: false,
        handler: |ctx| Box::pin(get(ctx)),
    },
    CallSpec {
        name: "codes/list",
        summary: "Lists a customer's feature codes and those the system owner shares.",
        access: READ,
        params: &[CUSTOMER, Param::optional("sort", Kind::Text, "code", "Sort by code, dtype or dnumber.")],
        list: true,
        handler: |ctx| Box::pin(list(ctx)),
    },
    CallSpec {
        name: "codes/update",
        summary: "Changes a feature code; absent fields keep their value. Without administrator or wholesale, only codes the caller owns.",
        access: Access::Requires {
            any_of: &[Privilege::Administrator, Privilege::User, Privilege::Wholesale],
            writes: true,
        },
        params: code_fields![
            CODE,
            Param::optional("dtype", Kind::Text, "Unchanged.", "Destination type."),
            Param::optional("dnumber", Kind::Text, "Unchanged.", "Destination number, valid for the destination type."),
            CUSTOMER,
        ],
        list: false,
        handler: |ctx| Box::pin(update(ctx)),
    },
    CallSpec {
        name: "codes/delete",
        summary: "Deletes one of a customer's own feature codes.",
        access: Access::Requires { any_of: EDITORS, writes: true },
        params: &[CODE, CUSTOMER, VALIDATION],
        list: false,
        handler: |ctx| Box::pin(delete(ctx)),
    },
];

/// A new code's fields before any parameter is applied: the seed's defaults.
fn defaults(customer: i64, code: &str) -> CodeRecord {
    CodeRecord {
        customer,
        code: code.to_string(),
        dtype: String::new(),
        dnumber: String::new(),
        description: String::new(),
        direct: 0,
        fax_detect: 0,
        fax_dtype: String::new(),
        fax_dnumber: String::new(),
        language: String::new(),
        maximum_seconds: -1,
        music: 0,
        owner: 0,
        panel: 0,
        password: String::new(),
        play_message: 0,
        recordgroup: 0,
        ringtone: String::new(),
        routing: String::new(),
        screen: 0,
        shared: 0,
        sname: String::new(),
        sname_action: "replace".into(),
        text_dtype: "none".into(),
        text_dnumber: String::new(),
        update_routing: 0,
        created: store::now_epoch(),
    }
}

/// Copies every field given into `record`; a wrongly typed value is recorded
/// as an error and leaves the field as it was.
fn apply_given(input: &mut Input<'_>, r: &mut CodeRecord) {
    let texts: [(&str, &mut String); 13] = [
        ("dtype", &mut r.dtype),
        ("dnumber", &mut r.dnumber),
        ("description", &mut r.description),
        ("fax_dtype", &mut r.fax_dtype),
        ("fax_dnumber", &mut r.fax_dnumber),
        ("language", &mut r.language),
        ("password", &mut r.password),
        ("ringtone", &mut r.ringtone),
        ("routing", &mut r.routing),
        ("sname", &mut r.sname),
        ("sname_action", &mut r.sname_action),
        ("text_dtype", &mut r.text_dtype),
        ("text_dnumber", &mut r.text_dnumber),
    ];
    for (key, field) in texts {
        if let Some(value) = input.text(key) {
            *field = value.to_string();
        }
    }
    let integers: [(&str, i64, &mut i64); 6] = [
        ("maximum_seconds", -1, &mut r.maximum_seconds),
        ("music", 0, &mut r.music),
        ("owner", 0, &mut r.owner),
        ("play_message", 0, &mut r.play_message),
        ("recordgroup", 0, &mut r.recordgroup),
        ("screen", 0, &mut r.screen),
    ];
    for (key, default, field) in integers {
        if let Some(value) = input.int(key, default) {
            *field = value;
        }
    }
    let flags: [(&str, &mut i64); 5] = [
        ("direct", &mut r.direct),
        ("fax_detect", &mut r.fax_detect),
        ("panel", &mut r.panel),
        ("shared", &mut r.shared),
        ("update_routing", &mut r.update_routing),
    ];
    for (key, field) in flags {
        if let Some(value) = input.flag(key, false) {
            *field = value as i64;
        }
    }
}

/// The rules of the spec's table that need no database, on the whole record.
fn check_syntax(input: &mut Input<'_>, r: &CodeRecord) {
    let mut rule = |ok: bool, key: &str, message: &str| {
        if !ok {
            input.error(key, message);
        }
    };
    match DestinationType::parse_call(&r.dtype) {
        Some(dtype) => {
            if let Err(message) = dtype.check(&r.dnumber) {
                rule(false, "dnumber", message);
            }
        }
        None => rule(false, "dtype", "This is not a known destination type."),
    }
    rule(r.description.chars().count() <= 255, "description", "This parameter must be at most 255 characters.");
    if r.fax_dtype.is_empty() {
        rule(r.fax_detect == 0, "fax_dtype", "A fax destination type is required when fax_detect is 1.");
        rule(r.fax_dnumber.is_empty(), "fax_dnumber", "This parameter must be empty when fax_dtype is empty.");
    } else {
        match DestinationType::parse_fax(&r.fax_dtype) {
            Some(fax) => {
                if let Err(message) = fax.check(&r.fax_dnumber) {
                    rule(false, "fax_dnumber", message);
                }
            }
            None => rule(false, "fax_dtype", "This must be empty, a destination type or email."),
        }
    }
    rule(
        r.language.is_empty() || is_language_tag(&r.language),
        "language",
        "This must be empty or a language tag such as en or en-GB.",
    );
    rule(
        r.maximum_seconds == -1 || r.maximum_seconds > 0,
        "maximum_seconds",
        "This must be -1 or a positive number of seconds.",
    );
    rule(r.music >= 0, "music", "This must be 0 or the ID of a music class.");
    rule(r.owner >= 0, "owner", "This must be 0 or the ID of a person of the customer.");
    rule(r.password.is_empty() || is_digits(&r.password, 20), "password", "A PIN must be empty or 1 to 20 digits.");
    rule((0..=2).contains(&r.play_message), "play_message", "This must be 0, 1 or 2.");
    rule(r.recordgroup >= 0, "recordgroup", "This must be 0 or the ID of a record group.");
    rule(
        r.ringtone.is_empty() || RINGTONES.contains(&r.ringtone.as_str()),
        "ringtone",
        "This is not a known ring tone.",
    );
    rule(Routing::parse(&r.routing).is_some(), "routing", "This must be empty, default, timegroup_<ID> or a number.");
    rule((0..=4).contains(&r.screen), "screen", "This must be 0 to 4.");
    rule(r.sname.chars().count() <= 64, "sname", "This parameter must be at most 64 characters.");
    rule(
        ["replace", "prepend", "append"].contains(&r.sname_action.as_str()),
        "sname_action",
        "This must be replace, prepend or append.",
    );
    if r.text_dtype == "none" {
        rule(r.text_dnumber.is_empty(), "text_dnumber", "This parameter must be empty when text_dtype is none.");
    } else {
        match DestinationType::parse_text(&r.text_dtype) {
            Some(text) => {
                if let Err(message) = text.check(&r.text_dnumber) {
                    rule(false, "text_dnumber", message);
                }
            }
            None => rule(false, "text_dtype", "This must be none, email, phone, forward or url."),
        }
    }
}

/// The rules that need the database: referenced objects exist and are seen by
/// the code's customer. `given(key)` says whether a rule's fields were sent
/// (on update, untouched fields are not re-judged: references may dangle).
async fn check_references(
    db: &Db,
    input: &mut Input<'_>,
    r: &CodeRecord,
    given: impl Fn(&[&str]) -> bool,
) -> Result<(), StoreError> {
    let customer = r.customer;
    if given(&["music"]) && r.music > 0 && !store::groups::seen_by(db, &MUSIC, customer, r.music).await? {
        input.error("music", "This music class does not exist.");
    }
    if given(&["owner"]) && r.owner > 0 {
        let person = store::people::get(db, r.owner).await?;
        if person.is_none_or(|p| p.customer != customer) {
            input.error("owner", "This person does not exist in the customer.");
        }
    }
    if given(&["recordgroup"])
        && r.recordgroup > 0
        && !store::groups::seen_by(db, &RECORD_GROUPS, customer, r.recordgroup).await?
    {
        input.error("recordgroup", "This record group does not exist.");
    }
    if given(&["routing"])
        && let Some(Routing::TimeGroup(id)) = Routing::parse(&r.routing)
        && !store::groups::seen_by(db, &TIME_GROUPS, customer, id).await?
    {
        input.error("routing", "This time group does not exist.");
    }
    for (type_key, number_key, dtype, dnumber) in
        [("dtype", "dnumber", &r.dtype, &r.dnumber), ("fax_dtype", "fax_dnumber", &r.fax_dtype, &r.fax_dnumber)]
    {
        if !given(&[type_key, number_key]) || !input.is_ok(type_key) || !input.is_ok(number_key) {
            continue;
        }
        match DestinationType::parse_fax(dtype) {
            Some(DestinationType::Number) if !store::numbers::owned_by(db, customer, dnumber).await? => {
                input.error(number_key, "This number is not in the customer's inventory.");
            }
            Some(DestinationType::Code) if *dnumber == r.code => {
                input.error(number_key, "A feature code cannot route to itself.");
            }
            Some(DestinationType::Code) if store::codes::get(db, customer, dnumber).await?.is_none() => {
                input.error(number_key, "This feature code does not exist in the customer.");
            }
            _ => {}
        }
    }
    Ok(())
}

/// The `code` parameter, checked for its syntax.
fn code_param<'a>(input: &mut Input<'a>) -> Option<&'a str> {
    let code = input.required_text("code")?;
    if !is_feature_code(code) {
        input.error("code", "A feature code must be 1 to 32 of 0-9 * #.");
    }
    Some(code)
}

async fn create(ctx: Ctx) -> CallResult {
    let (db, caller) = (&ctx.state.db, ctx.caller());
    let mut input = ctx.input();
    let code = code_param(&mut input);
    for key in ["dtype", "dnumber"] {
        if input.text(key).is_none() {
            input.error(key, super::input::MSG_REQUIRED);
        }
    }
    let customer = customer_param(db, caller, &mut input).await?;
    let validation = input.flag("validation", false).unwrap_or(false);
    let mut record = defaults(customer, code.unwrap_or_default());
    apply_given(&mut input, &mut record);
    check_syntax(&mut input, &record);
    if input.is_ok("customer") && input.is_ok("code") {
        check_references(db, &mut input, &record, |_| true).await?;
    }
    input.finish()?;
    if record.shared == 1 && !caller.privileges.has_full(Privilege::System) {
        return Err(ApiError::RoleForbids);
    }
    let reply = in_transaction(db, validation, async |tx| {
        if !store::plans::allows_one_more(tx, customer, Feature::Codes).await? {
            return Err(ApiError::PlanForbids);
        }
        // The primary key is the one judge of an existing code, racing or not.
        match store::codes::insert(tx, &record).await {
            Ok(()) => Ok(Reply::Done),
            Err(InsertError::Exists) => Err(ApiError::invalid("code", "This feature code already exists.")),
            Err(InsertError::Store(err)) => Err(err.into()),
        }
    })
    .await?;
    if matches!(reply, Reply::Done) {
        ctx.state.metrics.codes_created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(reply)
}

async fn get(ctx: Ctx) -> CallResult {
    let (db, caller) = (&ctx.state.db, ctx.caller());
    let mut input = ctx.input();
    let code = code_param(&mut input);
    let customer = customer_param(db, caller, &mut input).await?;
    input.finish()?;
    let record = store::codes::get(db, customer, code.expect("validated")).await?.ok_or(ApiError::NotFound)?;
    Ok(Reply::Data(json!(record)))
}

async fn list(ctx: Ctx) -> CallResult {
    let (db, caller) = (&ctx.state.db, ctx.caller());
    let mut input = ctx.input();
    let customer = customer_param(db, caller, &mut input).await?;
    let sort = match input.text("sort") {
        None | Some("") => Sort::Code,
        Some(value) => Sort::parse(value).unwrap_or_else(|| {
            input.error("sort", "This must be code, dtype or dnumber.");
            Sort::Code
        }),
    };
    let (window, count) = input.list_window();
    input.finish()?;
    if count {
        return Ok(Reply::Data(json!({ "count": store::codes::count(db, customer).await? })));
    }
    let rows = store::codes::list(db, customer, sort, &window).await?;
    Ok(Reply::Data(Value::Array(rows.into_iter().map(|r| json!(r)).collect())))
}

async fn update(ctx: Ctx) -> CallResult {
    let (db, caller) = (&ctx.state.db, ctx.caller());
    let mut input = ctx.input();
    let code = code_param(&mut input);
    let customer = customer_param(db, caller, &mut input).await?;
    let validation = input.flag("validation", false).unwrap_or(false);
    let stored = match code {
        Some(code) if input.is_ok("code") && input.is_ok("customer") => store::codes::get(db, customer, code).await?,
        _ => None,
    };
    // A person who may not edit every code sees only the codes they own.
    let editor = caller.privileges.admits(EDITORS, true);
    let found = stored.filter(|r| editor || r.owner == caller.person);
    let mut record = found.clone().unwrap_or_else(|| defaults(customer, code.unwrap_or_default()));
    apply_given(&mut input, &mut record);
    if found.is_some() {
        check_syntax(&mut input, &record);
        let params = &ctx.params;
        check_references(db, &mut input, &record, |keys| keys.iter().any(|k| params.get(k).is_some())).await?;
    }
    input.finish()?;
    if found.is_none() {
        return Err(ApiError::NotFound);
    }
    if ctx.params.get("shared") == Some("1") && !caller.privileges.has_full(Privilege::System) {
        return Err(ApiError::RoleForbids);
    }
    in_transaction(db, validation, async |tx| {
        if store::codes::update(tx, &record).await? { Ok(Reply::Done) } else { Err(ApiError::NotFound) }
    })
    .await
}

async fn delete(ctx: Ctx) -> CallResult {
    let (db, caller) = (&ctx.state.db, ctx.caller());
    let mut input = ctx.input();
    let code = code_param(&mut input);
    let customer = customer_param(db, caller, &mut input).await?;
    let validation = input.flag("validation", false).unwrap_or(false);
    input.finish()?;
    let code = code.expect("validated");
    in_transaction(db, validation, async |tx| {
        if store::codes::delete(tx, customer, code).await? { Ok(Reply::Done) } else { Err(ApiError::NotFound) }
    })
    .await
}
