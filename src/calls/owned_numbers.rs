//! A number's life after the pool, as billing portals drive it: a customer
//! buys one (`numbers/purchase`, under its plan, charged the class's setup
//! price), routes it (`numbers/update`), reads it back (`numbers/get`,
//! `numbers/list`) and gives it back (`numbers/delete`).

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, ParamInfo, Reader, Request, handler,
    param::{
        Absent,
        common::{CUSTOMER, DESCRIPTION},
        parse,
    },
    routing::{
        DNUMBER_KEPT, DTYPE_KEPT, FAX_DETECT, FAX_DNUMBER, FAX_DTYPE, Itself, LANGUAGE, MAXIMUM_SECONDS, MUSIC_CLASS,
        Named, OWNER, PASSWORD, RECORDGROUP, RINGTONE, ROUTING, RouteView, SCREEN, SNAME, SNAME_ACTION, check_fax,
        check_references, hold_references, plan_allows, route_fields, route_view, updated_destination,
    },
    write::in_transaction,
};
use crate::{
    base::{ApiError, Count, Reply},
    domain::{
        AllowCallerId, NumberSort, SnameAction, destination::DestinationType, parse_callerid, privilege::Privilege,
    },
    store::{
        self, StoreError,
        ledger::{EntryType, NewEntry},
        owned_numbers::{HeldFilter, NumberRoute, RoutedBy, Saved},
        plans::Feature,
    },
};

const NUMBER: Param<String> = Param::required("number", Kind::Text, "The number.", parse::text);
const PORT_INGROUP: Param<String> = Param::with_default(
    "ingroup",
    Kind::Text,
    String::new(),
    "ID of inbound group to add a ported number to. Switchyard does not port numbers in: leave it empty.",
    |v| {
        if v.is_empty() {
            Ok(String::new())
        } else {
            Err("Porting numbers in is not supported: buy a number from the pool.".into())
        }
    },
);
const CALLERID: Param<String> = Param::with_default(
    "callerid",
    Kind::Text,
    String::new(),
    "Caller ID to present: empty for none, a number, ask, ask_prepend_original or ask_append_original.",
    |v| parse::with(parse_callerid(v)),
);
const ALLOW_CALLERID: Param<AllowCallerId> = Param::with_default(
    "allow_callerid",
    Kind::Text,
    AllowCallerId::Customer,
    "Who may use this number as caller ID: customer, owner or recursive.",
    |v| parse::with(AllowCallerId::parse(v)),
);
const DIRECTORY: Param<bool> =
    Param::with_default("directory", Kind::Flag, false, "1 to list in the directory, 0 not to.", parse::flag);
const SORT: Param<NumberSort> = Param {
    name: "sort",
    kind: Kind::Text,
    doc: "Sort by number, destination (type, then number) or dnumber.",
    absent: Absent::Value(NumberSort::Number),
    parse: |v| parse::with(NumberSort::parse(v)),
    shape: super::param::Shape::Any,
};
const PAGES: Param<bool> = super::param::common::PAGES;
const PREFIX: Param<String> = super::param::common::PREFIX;
const AFTER: Param<String> = super::param::common::AFTER;
const CALLERID_LOCATION: Param<bool> =
    Param::unsupported("callerid_location", "Not supported: location caller IDs are not offered; 0 only.");
const DIRECTORY_FILTER: Param<bool> = Param::with_default(
    "directory",
    Kind::Flag,
    false,
    "1 to list only numbers listed in the directory, 0 for all.",
    parse::flag,
);
const CALLERID_FILTER: Param<bool> = Param::with_default(
    "callerid",
    Kind::Flag,
    false,
    "1 to list numbers usable as caller ID (including caller-ID-only ones), 0 for normal numbers only.",
    parse::flag,
);

route_fields! {
    NumberFields for NumberRoute,
    params: { UPDATE_PARAMS: [NUMBER, CUSTOMER, DTYPE_KEPT, DNUMBER_KEPT] },
    fields: {
        description: String = DESCRIPTION => |v| v,
        fax_detect: bool = FAX_DETECT => i64::from,
        fax_dtype: Option<DestinationType> = FAX_DTYPE => |v: Option<DestinationType>| v.map_or_else(String::new, |t| t.as_str().to_string()),
        fax_dnumber: String = FAX_DNUMBER => |v| v,
        callerid: String = CALLERID => |v| v,
        allow_callerid: AllowCallerId = ALLOW_CALLERID => |v: AllowCallerId| v.as_str().to_string(),
        directory: bool = DIRECTORY => i64::from,
        language: String = LANGUAGE => |v| v,
        maximum_seconds: i64 = MAXIMUM_SECONDS => |v| v,
        music: i64 = MUSIC_CLASS => |v| v,
        owner: i64 = OWNER => |v| v,
        password: String = PASSWORD => |v| v,
        recordgroup: i64 = RECORDGROUP => |v| v,
        ringtone: String = RINGTONE => |v| v,
        routing: String = ROUTING => |v| v,
        screen: i64 = SCREEN => |v| v,
        sname: String = SNAME => |v| v,
        sname_action: SnameAction = SNAME_ACTION => |v: SnameAction| v.as_str().to_string(),
    }
}

const SELLERS: &[Privilege] = &[Privilege::Administrator, Privilege::Wholesale];

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "numbers/purchase",
        summary: "Buys a number from the pool for a customer, under its plan's numbers limit, charging its class's setup price.",
        access: Access::Requires { any_of: SELLERS, writes: true },
        params: &[&NUMBER, &PORT_INGROUP, &CUSTOMER],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(Purchase, purchase),
    },
    CallSpec {
        name: "numbers/get",
        summary: "Gets one of a customer's numbers with its routing.",
        access: Access::Requires {
            any_of: &[Privilege::User, Privilege::Administrator, Privilege::Wholesale],
            writes: false,
        },
        params: &[&NUMBER, &CUSTOMER],
        list: false,
        answer: super::Answer::Object(super::answer::OWNED_NUMBER),
        handler: handler!(Held, get),
    },
    CallSpec {
        name: "numbers/list",
        summary: "Lists the numbers a customer holds, with their routing; the answer is streamed.",
        access: Access::Requires { any_of: &[Privilege::User, Privilege::Wholesale], writes: false },
        params: &[&CALLERID_FILTER, &CALLERID_LOCATION, &CUSTOMER, &DIRECTORY_FILTER, &PAGES, &SORT, &PREFIX, &AFTER],
        list: true,
        answer: super::Answer::Rows(super::answer::OWNED_NUMBER),
        handler: handler!(HeldList, list),
    },
    CallSpec {
        name: "numbers/update",
        summary: "Changes a customer's number: where calls go and the rest; absent fields keep their value. Without administrator or wholesale, only numbers the caller owns.",
        access: Access::Requires {
            any_of: &[Privilege::Administrator, Privilege::User, Privilege::Wholesale],
            writes: true,
        },
        params: UPDATE_PARAMS,
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(RouteChange, update),
    },
    CallSpec {
        name: "numbers/delete",
        summary: "Releases a customer's number to the pool, its routing cleared; refused while a feature code or another number routes to it.",
        access: Access::Requires { any_of: SELLERS, writes: true },
        params: &[&NUMBER, &CUSTOMER],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(Held, release),
    },
];

/// A number named for a customer the caller sees.
struct Held {
    number: String,
    customer: i64,
}

impl Request for Held {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let number = r.get(&NUMBER);
        let customer = r.seen_customer(&CUSTOMER).await?;
        Ok(number.map(|number| Self { number, customer }))
    }
}

/// numbers/purchase: a number for a customer, and no porting.
struct Purchase(Held);

impl Request for Purchase {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let held = Held::read(r).await?;
        let no_porting = r.get(&PORT_INGROUP);
        Ok(no_porting.and(held).map(Self))
    }
}

struct HeldList {
    customer: i64,
    filter: HeldFilter,
    sort: NumberSort,
    /// `after`: keyset paging, by number only.
    after: Option<String>,
}

impl Request for HeldList {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let callerid = r.get(&CALLERID_FILTER);
        let location = r.get(&CALLERID_LOCATION);
        let customer = r.seen_customer(&CUSTOMER).await?;
        let directory = r.get(&DIRECTORY_FILTER);
        let pages = r.get(&PAGES);
        let sort = r.get(&SORT);
        let prefix = r.get(&PREFIX);
        let after = r.get(&AFTER).filter(|a| !a.is_empty());
        // A page boundary by number means nothing in another order, where
        // numbers past it may sort anywhere; refused rather than guessed.
        if after.is_some() && sort.is_some_and(|sort| sort != NumberSort::Number) {
            r.error(AFTER.name, "The after parameter pages by number: use it with sort=number (or without sort).");
        }
        Ok((|| {
            let (_, _) = (location?, pages?);
            let filter = HeldFilter {
                callerid: callerid?,
                directory: directory?,
                prefix: Some(prefix?).filter(|p| !p.is_empty()),
            };
            Some(Self { customer, filter, sort: sort?, after })
        })())
    }
}

/// numbers/update: the number's current fields (if the caller may change
/// them) with those sent applied, checked.
struct RouteChange {
    number: String,
    customer: i64,
    /// `None`: the customer holds no such number, or the caller may not change it (404).
    route: Option<NumberRoute>,
    /// The fields as read, which the checks were made against.
    read: Option<NumberRoute>,
    named: Vec<Named>,
}

impl Request for RouteChange {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let caller = r.caller()?;
        let number = r.get(&NUMBER);
        let customer = r.seen_customer(&CUSTOMER).await?;
        let dtype = r.given(&DTYPE_KEPT);
        let dnumber = r.given(&DNUMBER_KEPT);
        let fields = NumberFields::read(r, false);
        let Some(number) = number else { return Ok(None) };
        let stored = match r.is_ok(CUSTOMER.name) {
            true => store::owned_numbers::get(r.db, customer, &number).await?,
            false => None,
        };
        // A person who may not edit every number sees only the numbers they own.
        let editor = caller.privileges.admits(SELLERS, true);
        let Some(mut route) = stored.map(|held| held.route).filter(|route| editor || route.owner == caller.person)
        else {
            return Ok(Some(Self { number, customer, route: None, read: None, named: Vec::new() }));
        };
        let changed = r.given_names(UPDATE_PARAMS);
        let read = route.clone();
        fields.apply(&mut route);
        if let Some(destination) = updated_destination(r, dtype, dnumber, &read.dtype, &read.dnumber) {
            route.dtype = destination.dtype.as_str().to_string();
            route.dnumber = destination.dnumber;
        }
        let view = view(&route, customer, &number);
        check_fax(r, &view);
        let named = super::routing::references(&view, |keys| keys.iter().any(|k| changed.contains(k)));
        check_references(r, &view, &named).await?;
        Ok(Some(Self { number, customer, route: Some(route), read: Some(read), named }))
    }
}

fn view<'a>(route: &'a NumberRoute, customer: i64, number: &'a str) -> RouteView<'a> {
    route_view!(route, customer: customer, itself: Itself::Number(number))
}

async fn purchase(ctx: Ctx, Purchase(held): Purchase) -> CallResult {
    let person = ctx.caller()?.person;
    in_transaction(&ctx, async |tx| {
        plan_allows(tx, held.customer, Feature::Numbers, CUSTOMER.name).await?;
        let Some(bought) = store::owned_numbers::purchase(tx, held.customer, &held.number).await? else {
            return Err(ApiError::invalid(NUMBER.name, "This number is not available to purchase."));
        };
        let charge = NewEntry {
            customer: held.customer,
            entry_type: EntryType::Setup,
            amount: -bought.setup,
            class: bought.class,
            count: 1,
            batch: 0,
            number: &held.number,
            description: "",
            person,
        };
        store::ledger::add(tx, &charge).await?;
        Ok(Reply::Done)
    })
    .await
}

async fn get(ctx: Ctx, held: Held) -> CallResult {
    let number = store::owned_numbers::get(&ctx.db, held.customer, &held.number).await?;
    Reply::data(&number.ok_or_else(not_found)?)
}

/// Enswitch's words for a number that is not there (or not the caller's to see).
pub const NUMBER_NOT_FOUND: &str = "The number does not exist.";

fn not_found() -> ApiError {
    ApiError::NotFoundNamed(NUMBER_NOT_FOUND)
}

async fn list(ctx: Ctx, request: HeldList) -> CallResult {
    if ctx.count {
        let count = store::owned_numbers::count(&ctx.db, request.customer, &request.filter).await?;
        return Reply::data(&Count { count });
    }
    let permit = ctx.stream_slot()?;
    let HeldList { customer, filter, sort, after } = request;
    let keyset = after.as_deref();
    Ok(Reply::Rows(store::owned_numbers::stream(&ctx.db, customer, &filter, sort, keyset, &ctx.window, permit).await?))
}

async fn update(ctx: Ctx, change: RouteChange) -> CallResult {
    let (Some(route), Some(read)) = (change.route, change.read) else { return Err(not_found()) };
    in_transaction(&ctx, async |tx| {
        hold_references(tx, &change.named).await?;
        match store::owned_numbers::save_route(tx, change.customer, &change.number, &read, &route).await? {
            Saved::Done => Ok(Reply::Done),
            Saved::NotHeld => Err(not_found()),
            // Written whole, the fields read earlier would undo that change.
            Saved::Changed => Err(ApiError::Unavailable("the number changed while the call ran".into())),
        }
    })
    .await
}

async fn release(ctx: Ctx, held: Held) -> CallResult {
    in_transaction(&ctx, async |tx| match store::owned_numbers::release(tx, held.customer, &held.number).await? {
        Ok(true) => Ok(Reply::Done),
        Ok(false) => Err(not_found()),
        Err(routed) => Err(ApiError::invalid(NUMBER.name, &routed_message(&routed, "this number"))),
    })
    .await
}

/// The 400 message naming what still routes to `what` ("this number",
/// "these numbers"): the first few codes and numbers, and how many more.
pub fn routed_message(routed: &RoutedBy, what: &str) -> String {
    const SHOWN: usize = 10;
    let name = |items: &[String]| {
        let shown: Vec<&str> = items.iter().take(SHOWN).map(String::as_str).collect();
        let more = items.len().saturating_sub(SHOWN);
        if more > 0 { format!("{} and {more} more", shown.join(", ")) } else { shown.join(", ") }
    };
    let mut parts = Vec::new();
    if !routed.codes.is_empty() {
        parts.push(format!("Feature codes route to {what}: {}.", name(&routed.codes)));
    }
    if !routed.numbers.is_empty() {
        parts.push(format!("Numbers route to {what}: {}.", name(&routed.numbers)));
    }
    parts.push("Change their destinations first.".into());
    parts.join(" ")
}
