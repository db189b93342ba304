//! Feature codes: dialable short codes that route a caller to a destination.
//! Create and update read the same fields with the same parsers; create takes
//! each field's declared default, update keeps the stored value of each field
//! not sent. The merged record is then checked whole (a destination's type
//! and number together) and its references against the database.

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, ParamInfo, Reader, Request, handler,
    param::{
        Absent,
        common::{CUSTOMER, DESCRIPTION},
        parse,
    },
    write::in_transaction,
};
use crate::{
    base::{ApiError, Count, Reply},
    domain::privilege::Privilege,
    domain::{
        CodeSort, FeatureCode, Routing, SnameAction, TextDtype,
        destination::{Destination, DestinationType, is_digits},
        parse_language, parse_ringtone,
    },
    store::{
        self, StoreError,
        codes::{CodeRecord, InsertError},
        groups::{MUSIC, RECORD_GROUPS, TIME_GROUPS},
        plans::Feature,
    },
};

const CODE: Param<FeatureCode> =
    Param::required("code", Kind::Text, "Feature code: 1 to 32 of 0-9 * #.", |v| parse::with(FeatureCode::parse(v)));
const DTYPE: Param<DestinationType> = Param {
    name: "dtype",
    kind: Kind::Text,
    doc: "Destination type.",
    absent: Absent::RequiredMayBeEmpty,
    parse: |v| parse::with(DestinationType::call_type(v)),
};
const DNUMBER: Param<String> = Param {
    name: "dnumber",
    kind: Kind::Text,
    doc: "Destination number, valid for the destination type.",
    absent: Absent::RequiredMayBeEmpty,
    parse: parse::text,
};
const DTYPE_KEPT: Param<DestinationType> =
    Param::decided("dtype", Kind::Text, "Unchanged.", "Destination type.", |v| {
        parse::with(DestinationType::call_type(v))
    });
const DNUMBER_KEPT: Param<String> = Param::decided(
    "dnumber",
    Kind::Text,
    "Unchanged.",
    "Destination number, valid for the destination type.",
    parse::text,
);

const DIRECT: Param<bool> = Param::with_default(
    "direct",
    Kind::Flag,
    false,
    "1 to allow callers to enter feature code in IVRs and attendant, 0 not to.",
    parse::flag,
);
const FAX_DETECT: Param<bool> =
    Param::with_default("fax_detect", Kind::Flag, false, "1 to detect faxes, 0 not to.", parse::flag);
const FAX_DTYPE: Param<Option<DestinationType>> = Param::with_default(
    "fax_dtype",
    Kind::Text,
    None,
    "Destination type on fax detection: a destination type or email.",
    |v| parse::with(DestinationType::fax_type(v)),
);
const FAX_DNUMBER: Param<String> =
    Param::with_default("fax_dnumber", Kind::Text, String::new(), "Destination number on fax detection.", parse::text);
const LANGUAGE: Param<String> = Param::with_default(
    "language",
    Kind::Text,
    String::new(),
    "Language code such as en or en-GB. Empty string for default.",
    |v| parse::with(parse_language(v)),
);
const MAXIMUM_SECONDS: Param<i64> = Param::with_default(
    "maximum_seconds",
    Kind::Integer,
    -1,
    "Maximum seconds to let call run for, -1 for no limit.",
    |v| match parse::integer(v)? {
        n if n == -1 || n > 0 => Ok(n),
        _ => Err("This must be -1 or a positive number of seconds.".into()),
    },
);
const MUSIC_CLASS: Param<i64> =
    Param::with_default("music", Kind::Integer, 0, "ID of music class to play. 0 for default.", |v| {
        at_least_zero(v, "This must be 0 or the ID of a music class.")
    });
const OWNER: Param<i64> =
    Param::with_default("owner", Kind::Integer, 0, "ID of owner (a person of the customer). 0 for none.", |v| {
        at_least_zero(v, "This must be 0 or the ID of a person of the customer.")
    });
const PANEL: Param<bool> =
    Param::with_default("panel", Kind::Flag, false, "1 to display in control panel, 0 not to.", parse::flag);
const PASSWORD: Param<String> = Param::with_default(
    "password",
    Kind::Text,
    String::new(),
    "PIN (1 to 20 digits) to update feature code. Empty string to forbid.",
    |v| {
        if v.is_empty() || is_digits(v, 20) {
            Ok(v.to_string())
        } else {
            Err("A PIN must be empty or 1 to 20 digits.".into())
        }
    },
);
const PLAY_MESSAGE: Param<i64> = Param::with_default(
    "play_message",
    Kind::Integer,
    0,
    "1 to play message to callers, 2 to play without answering, 0 not to play.",
    |v| in_range(v, 0..=2, "This must be 0, 1 or 2."),
);
const RECORDGROUP: Param<i64> =
    Param::with_default("recordgroup", Kind::Integer, 0, "ID of record group. 0 for none.", |v| {
        at_least_zero(v, "This must be 0 or the ID of a record group.")
    });
const RINGTONE: Param<String> =
    Param::with_default("ringtone", Kind::Text, String::new(), "Ring tone to force, or empty string for none.", |v| {
        parse::with(parse_ringtone(v))
    });
const ROUTING: Param<String> = Param::with_default(
    "routing",
    Kind::Text,
    String::new(),
    "Temporary routing: default, timegroup_<ID>, a number, or empty string for normal.",
    |v| parse::with(Routing::check(v)),
);
const SCREEN: Param<i64> = Param::with_default(
    "screen",
    Kind::Integer,
    0,
    "0 not to screen; 1 caller ID; 2 ask name; 3 play file; 4 file and caller ID.",
    |v| in_range(v, 0..=4, "This must be 0 to 4."),
);
const SHARED: Param<bool> = Param::with_default(
    "shared",
    Kind::Flag,
    false,
    "1 to share with all customers on system (system privilege), 0 not to.",
    parse::flag,
);
const SNAME: Param<String> = Param::with_default(
    "sname",
    Kind::Text,
    String::new(),
    "Force caller name, at most 64 characters. Empty string for no change.",
    parse::bounded::<64>,
);
const SNAME_ACTION: Param<SnameAction> = Param::with_default(
    "sname_action",
    Kind::Text,
    SnameAction::Replace,
    "replace, prepend or append the caller name.",
    |v| parse::with(SnameAction::parse(v)),
);
const TEXT_DTYPE: Param<TextDtype> = Param::with_default(
    "text_dtype",
    Kind::Text,
    TextDtype::None,
    "Destination type for text messages: none, email, phone, forward, url.",
    |v| parse::with(TextDtype::parse(v)),
);
const TEXT_DNUMBER: Param<String> = Param::with_default(
    "text_dnumber",
    Kind::Text,
    String::new(),
    "Destination number for text messages.",
    parse::text,
);
const UPDATE_ROUTING: Param<bool> = Param::with_default(
    "update_routing",
    Kind::Flag,
    false,
    "1 to automatically update routing, 0 not to.",
    parse::flag,
);
const SORT: Param<CodeSort> = Param {
    name: "sort",
    kind: Kind::Text,
    doc: "Sort by code, dtype or dnumber.",
    absent: Absent::ValueWhenEmpty(CodeSort::Code),
    parse: |v| parse::with(CodeSort::parse(v)),
};

fn at_least_zero(value: &str, message: &'static str) -> Result<i64, crate::base::Message> {
    match parse::integer(value)? {
        n if n >= 0 => Ok(n),
        _ => Err(message.into()),
    }
}

fn in_range(
    value: &str,
    range: std::ops::RangeInclusive<i64>,
    message: &'static str,
) -> Result<i64, crate::base::Message> {
    match parse::integer(value)? {
        n if range.contains(&n) => Ok(n),
        _ => Err(message.into()),
    }
}

/// Every field after the code, its destination and its customer, in the
/// seed's order: its parameter, and how its value is stored. This one list
/// makes the fields' struct, their reading and their merge into a record.
macro_rules! code_fields {
    (create: [$($create:ident),*], update: [$($update:ident),*], fields: {
        $($field:ident: $ty:ty = $param:ident => $stored:expr),* $(,)?
    }) => {
        /// The fields sent (update) or sent-or-defaulted (create).
        struct CodeFields {
            $($field: Option<$ty>,)*
        }

        const CREATE_PARAMS: &[&dyn ParamInfo] = &[$(&$create,)* $(&$param,)*];
        const UPDATE_PARAMS: &[&dyn ParamInfo] = &[$(&$update,)* $(&$param,)*];

        impl CodeFields {
            fn read(r: &mut Reader<'_>, with_defaults: bool) -> Self {
                Self { $($field: if with_defaults { r.get(&$param) } else { r.given(&$param) },)* }
            }

            /// Copies every field present into `record`.
            fn apply(self, record: &mut CodeRecord) {
                $(if let Some(value) = self.$field {
                    record.$field = ($stored)(value);
                })*
            }
        }
    };
}

code_fields! {
    create: [CODE, DTYPE, DNUMBER, CUSTOMER],
    update: [CODE, DTYPE_KEPT, DNUMBER_KEPT, CUSTOMER],
    fields: {
        description: String = DESCRIPTION => |v| v,
        direct: bool = DIRECT => i64::from,
        fax_detect: bool = FAX_DETECT => i64::from,
        fax_dtype: Option<DestinationType> = FAX_DTYPE => |v: Option<DestinationType>| v.map_or_else(String::new, |t| t.as_str().to_string()),
        fax_dnumber: String = FAX_DNUMBER => |v| v,
        language: String = LANGUAGE => |v| v,
        maximum_seconds: i64 = MAXIMUM_SECONDS => |v| v,
        music: i64 = MUSIC_CLASS => |v| v,
        owner: i64 = OWNER => |v| v,
        panel: bool = PANEL => i64::from,
        password: String = PASSWORD => |v| v,
        play_message: i64 = PLAY_MESSAGE => |v| v,
        recordgroup: i64 = RECORDGROUP => |v| v,
        ringtone: String = RINGTONE => |v| v,
        routing: String = ROUTING => |v| v,
        screen: i64 = SCREEN => |v| v,
        shared: bool = SHARED => i64::from,
        sname: String = SNAME => |v| v,
        sname_action: SnameAction = SNAME_ACTION => |v: SnameAction| v.as_str().to_string(),
        text_dtype: TextDtype = TEXT_DTYPE => |v: TextDtype| v.as_str().to_string(),
        text_dnumber: String = TEXT_DNUMBER => |v| v,
        update_routing: bool = UPDATE_ROUTING => i64::from,
    }
}

const EDITORS: &[Privilege] = &[Privilege::Administrator, Privilege::Wholesale];
const READ: Access = Access::Requires { any_of: &[Privilege::User], writes: false };

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "codes/create",
        summary: "Creates a new feature code.",
        access: Access::Requires { any_of: EDITORS, writes: true },
        params: CREATE_PARAMS,
        list: false,
        handler: handler!(NewCode, create),
    },
    CallSpec {
        name: "codes/get",
        summary: "Gets one of a customer's own feature codes.",
        access: READ,
        params: &[&CODE, &CUSTOMER],
        list: false,
        handler: handler!(CodeKey, get),
    },
    CallSpec {
        name: "codes/list",
        summary: "Lists a customer's feature codes and those the system owner shares.",
        access: READ,
        params: &[&CUSTOMER, &SORT],
        list: true,
        handler: handler!(ListCodes, list),
    },
    CallSpec {
        name: "codes/update",
        summary: "Changes a feature code; absent fields keep their value. Without administrator or wholesale, only codes the caller owns.",
        access: Access::Requires {
            any_of: &[Privilege::Administrator, Privilege::User, Privilege::Wholesale],
            writes: true,
        },
        params: UPDATE_PARAMS,
        list: false,
        handler: handler!(CodeChange, update),
    },
    CallSpec {
        name: "codes/delete",
        summary: "Deletes one of a customer's own feature codes.",
        access: Access::Requires { any_of: EDITORS, writes: true },
        params: &[&CODE, &CUSTOMER],
        list: false,
        handler: handler!(CodeKey, delete),
    },
];

/// A code of a customer the caller sees.
struct CodeKey {
    code: FeatureCode,
    customer: i64,
}

impl Request for CodeKey {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let code = r.get(&CODE);
        let customer = r.seen_customer(&CUSTOMER).await?;
        Ok(code.map(|code| Self { code, customer }))
    }
}

/// codes/create: a whole record, checked.
struct NewCode {
    record: CodeRecord,
}

impl Request for NewCode {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let code = r.get(&CODE);
        let dtype = r.get(&DTYPE);
        let dnumber = r.get(&DNUMBER);
        let customer = r.seen_customer(&CUSTOMER).await?;
        let fields = CodeFields::read(r, true);
        let code_text = code.as_ref().map_or("", FeatureCode::as_str).to_string();
        let mut record = CodeRecord { customer, code: code_text, ..CodeRecord::default() };
        fields.apply(&mut record);
        let destination = check_destination(r, dtype, dnumber.as_deref());
        if let Some(destination) = &destination {
            destination.store_in(&mut record);
        }
        check_record(r, &record);
        if r.is_ok("customer") && r.is_ok("code") {
            check_references(r, &record, |_| true).await?;
        }
        record.created = store::now_epoch();
        Ok(code.and(destination).map(|_| Self { record }))
    }
}

/// codes/update: the stored record (if the caller may change it) with the
/// fields sent applied, checked.
struct CodeChange {
    /// `None`: no such code, or not one the caller may change (404).
    record: Option<CodeRecord>,
    shares: bool,
}

impl Request for CodeChange {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let caller = r.caller()?;
        let code = r.get(&CODE);
        let dtype = r.given(&DTYPE_KEPT);
        let dnumber = r.given(&DNUMBER_KEPT);
        let customer = r.seen_customer(&CUSTOMER).await?;
        let shares = r.given(&SHARED) == Some(true);
        let fields = CodeFields::read(r, false);
        let stored = match &code {
            Some(code) if r.is_ok("customer") => store::codes::get(r.db, customer, code.as_str()).await?,
            _ => None,
        };
        // A person who may not edit every code sees only the codes they own.
        let editor = caller.privileges.admits(EDITORS, true);
        let Some(mut record) = stored.filter(|stored| editor || stored.owner == caller.person) else {
            return Ok(code.map(|_| Self { record: None, shares }));
        };
        let given = |name: &str| r.is_given_name(name);
        let changed: Vec<&str> = UPDATE_PARAMS.iter().map(|p| p.name()).filter(|name| given(name)).collect();
        fields.apply(&mut record);
        // A refused type was reported; the number is not judged against the old one.
        let dtype =
            if r.is_ok(DTYPE.name) { dtype.or_else(|| DestinationType::parse_call(&record.dtype)) } else { None };
        let dnumber = dnumber.unwrap_or_else(|| record.dnumber.clone());
        if let Some(destination) = check_destination(r, dtype, Some(&dnumber)) {
            destination.store_in(&mut record);
        }
        check_record(r, &record);
        check_references(r, &record, |keys| keys.iter().any(|k| changed.contains(k))).await?;
        Ok(Some(Self { record: Some(record), shares }))
    }
}

struct ListCodes {
    customer: i64,
    sort: CodeSort,
}

impl Request for ListCodes {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let customer = r.seen_customer(&CUSTOMER).await?;
        let sort = r.get(&SORT);
        Ok(sort.map(|sort| Self { customer, sort }))
    }
}

/// The call destination: type and number checked together (the number's
/// fault when they do not suit each other).
fn check_destination(r: &mut Reader<'_>, dtype: Option<DestinationType>, dnumber: Option<&str>) -> Option<Destination> {
    let (dtype, dnumber) = (dtype?, dnumber?);
    Destination::new(dtype, dnumber).map_err(|message| r.error(DNUMBER.name, message)).ok()
}

trait StoreIn {
    fn store_in(&self, record: &mut CodeRecord);
}

impl StoreIn for Destination {
    fn store_in(&self, record: &mut CodeRecord) {
        record.dtype = self.dtype.as_str().to_string();
        record.dnumber.clone_from(&self.dnumber);
    }
}

/// The rules between fields of the merged record: a fax destination needs a
/// type when fax detection is on, and each optional destination's number must
/// suit its type.
fn check_record(r: &mut Reader<'_>, record: &CodeRecord) {
    // A refused type was already reported; its number is not judged against it.
    if r.is_ok(FAX_DTYPE.name) {
        check_fax(r, record);
    }
    if !r.is_ok(TEXT_DTYPE.name) {
        return;
    }
    let text_type = TextDtype::parse(&record.text_dtype).ok().and_then(TextDtype::destination_type);
    if let Err(message) =
        Destination::optional(text_type, &record.text_dnumber, "This parameter must be empty when text_dtype is none.")
    {
        r.error(TEXT_DNUMBER.name, message);
    }
}

fn check_fax(r: &mut Reader<'_>, record: &CodeRecord) {
    let fax_type = DestinationType::fax_type(&record.fax_dtype).unwrap_or(None);
    if fax_type.is_none() && record.fax_detect == 1 {
        r.error(FAX_DTYPE.name, "A fax destination type is required when fax_detect is 1.");
    }
    if let Err(message) =
        Destination::optional(fax_type, &record.fax_dnumber, "This parameter must be empty when fax_dtype is empty.")
    {
        r.error(FAX_DNUMBER.name, message);
    }
}

/// The rules that need the database: referenced objects exist and are seen by
/// the code's customer. `given(keys)` says whether a rule's fields were sent
/// (on update, untouched fields are not re-judged: references may dangle).
async fn check_references(
    r: &mut Reader<'_>,
    record: &CodeRecord,
    given: impl Fn(&[&str]) -> bool,
) -> Result<(), StoreError> {
    let (db, customer) = (r.db, record.customer);
    if given(&["music"])
        && r.is_ok("music")
        && record.music > 0
        && !store::groups::seen_by(db, &MUSIC, customer, record.music).await?
    {
        r.error("music", "This music class does not exist.");
    }
    if given(&["owner"]) && r.is_ok("owner") && record.owner > 0 {
        let person = store::people::get(db, record.owner).await?;
        if person.is_none_or(|p| p.customer != customer) {
            r.error("owner", "This person does not exist in the customer.");
        }
    }
    if given(&["recordgroup"])
        && r.is_ok("recordgroup")
        && record.recordgroup > 0
        && !store::groups::seen_by(db, &RECORD_GROUPS, customer, record.recordgroup).await?
    {
        r.error("recordgroup", "This record group does not exist.");
    }
    if given(&["routing"])
        && r.is_ok("routing")
        && let Some(Routing::TimeGroup(id)) = Routing::parse(&record.routing)
        && !store::groups::seen_by(db, &TIME_GROUPS, customer, id).await?
    {
        r.error("routing", "This time group does not exist.");
    }
    for (type_key, number_key, dtype, dnumber) in [
        ("dtype", "dnumber", &record.dtype, &record.dnumber),
        ("fax_dtype", "fax_dnumber", &record.fax_dtype, &record.fax_dnumber),
    ] {
        if !given(&[type_key, number_key]) || !r.is_ok(type_key) || !r.is_ok(number_key) {
            continue;
        }
        match DestinationType::parse_fax(dtype) {
            Some(DestinationType::Number) if !store::numbers::owned_by(db, customer, dnumber).await? => {
                r.error(number_key, "This number is not in the customer's inventory.");
            }
            Some(DestinationType::Code) if *dnumber == record.code => {
                r.error(number_key, "A feature code cannot route to itself.");
            }
            Some(DestinationType::Code) if store::codes::get(db, customer, dnumber).await?.is_none() => {
                r.error(number_key, "This feature code does not exist in the customer.");
            }
            _ => {}
        }
    }
    Ok(())
}

async fn create(ctx: Ctx, request: NewCode) -> CallResult {
    let caller = ctx.caller()?;
    let record = request.record;
    if record.shared == 1 && !caller.privileges.has_full(Privilege::System) {
        return Err(ApiError::RoleForbids);
    }
    let reply = in_transaction(&ctx, async |tx| {
        if !store::plans::allows_one_more(tx, record.customer, Feature::Codes).await? {
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
        ctx.metrics.codes_created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(reply)
}

async fn get(ctx: Ctx, key: CodeKey) -> CallResult {
    let record = store::codes::get(&ctx.db, key.customer, key.code.as_str()).await?.ok_or(ApiError::NotFound)?;
    Reply::data(&record)
}

async fn list(ctx: Ctx, request: ListCodes) -> CallResult {
    if ctx.count {
        return Reply::data(&Count { count: store::codes::count(&ctx.db, request.customer).await? });
    }
    Reply::data(&store::codes::list(&ctx.db, request.customer, request.sort, &ctx.window).await?)
}

async fn update(ctx: Ctx, change: CodeChange) -> CallResult {
    let record = change.record.ok_or(ApiError::NotFound)?;
    if change.shares && !ctx.caller()?.privileges.has_full(Privilege::System) {
        return Err(ApiError::RoleForbids);
    }
    in_transaction(&ctx, async |tx| {
        if store::codes::update(tx, &record).await? { Ok(Reply::Done) } else { Err(ApiError::NotFound) }
    })
    .await
}

async fn delete(ctx: Ctx, key: CodeKey) -> CallResult {
    in_transaction(&ctx, async |tx| {
        if store::codes::delete(tx, key.customer, key.code.as_str()).await? {
            Ok(Reply::Done)
        } else {
            Err(ApiError::NotFound)
        }
    })
    .await
}
