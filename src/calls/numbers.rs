//! The number inventory: adding a number or a range of up to a million in one
//! call, reading it back (lists are streamed), changing and removing it.

use super::param::Shape;
use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler,
    owned_numbers::routed_message,
    param::{Absent, parse},
    routing::{Named, hold_references},
    write::{audit_entry, in_transaction},
};
use crate::{
    base::{ApiError, Count, FieldError, Reply},
    domain::privilege::Privilege,
    domain::{
        Existing, NumberKind,
        destination::is_digits,
        numbers::{AliasSequence, NumberRange, compress},
    },
    store::{
        self, ListWindow, StoreError,
        inventory::{CLASSES, INGROUPS, InventoryKind, REGIONS},
        numbers::{Added, AnswerFor, Doomed, NewNumbers, NumberChanges, NumberFilter},
        owned_numbers::Targets,
        references::Reference,
    },
};

const SYSTEM_WRITES: Access = Access::Requires { any_of: &[Privilege::System], writes: true };
const SYSTEM_READS: Access = Access::Requires { any_of: &[Privilege::System], writes: false };

const NUMBER: Param<String> = Param::required("number", Kind::Text, "The number.", parse::text);
const START: Param<String> =
    Param::required("start", Kind::Text, "The first number to add: 1 to 32 digits, leading zeros kept.", parse::text);
const END: Param<String> = Param::with_default(
    "end",
    Kind::Text,
    String::new(),
    "The last number to add. Empty string to just add one number.",
    parse::text,
);
const CLASS: Param<i64> =
    Param::required("class", Kind::Integer, "The number class to put the number(s) in.", parse::integer);
const INGROUP: Param<i64> =
    Param::required("ingroup", Kind::Integer, "The inbound group to put the number(s) in.", parse::integer);
const ALIAS: Param<String> = Param::with_default(
    "alias",
    Kind::Text,
    String::new(),
    "The alias for the first number; later ones follow in sequence.",
    parse::text,
);
const CHARGE_CUSTOMER: Param<bool> = Param::with_default(
    "charge_customer",
    Kind::Flag,
    false,
    "1 to charge the customer for the numbers, 0 not to.",
    parse::flag,
);
const OWNER: Param<i64> = Param::with_default(
    "customer",
    Kind::Integer,
    0,
    "ID of the customer to assign the number(s) to; 0 for the pool.",
    parse::integer,
);
const REGION: Param<i64> =
    Param::with_default("region", Kind::Integer, 0, "ID of region to add numbers to. 0 for no region.", parse::integer);
const STYPE: Param<NumberKind> =
    Param::with_default("stype", Kind::Text, NumberKind::Number, "number or callerid.", |v| {
        parse::with(NumberKind::parse(v))
    });
const EXISTING: Param<Existing> = Param {
    name: "existing",
    kind: Kind::Text,
    doc: "fail: any existing number refuses the whole call; skip: existing numbers are left alone.",
    absent: Absent::Value(Existing::Fail),
    parse: |v| parse::with(Existing::parse(v)),
    shape: super::param::Shape::Any,
};

const ASSIGNED: Param<bool> =
    Param::with_default("assigned", Kind::Flag, false, "1 for only numbers assigned to a customer.", parse::flag);
const BY_CLASS: Param<i64> =
    Param::with_default("class", Kind::Integer, 0, "Only this number class; 0 for all.", parse::integer);
const BY_INGROUP: Param<i64> =
    Param::with_default("ingroup", Kind::Integer, 0, "Only this inbound group; 0 for all.", parse::integer);
const BY_REGION: Param<i64> = Param::decided("region", Kind::Integer, "", "Only this region.", parse::integer);
const BY_CUSTOMER: Param<i64> =
    Param::decided("customer", Kind::Integer, "", "Only this customer's numbers (0: the pool).", parse::integer);
const BY_BATCH: Param<i64> =
    Param::decided("batch", Kind::Integer, "", "Only the numbers one create added.", parse::integer);
const PAGES: Param<bool> = super::param::common::PAGES;
const SEARCH: Param<String> = Param::with_default(
    "search",
    Kind::Text,
    String::new(),
    "Only numbers containing this text anywhere. Reads every number the other filters leave: use prefix for the start of a number.",
    parse::text,
);
const PREFIX: Param<String> = super::param::common::PREFIX;
const AFTER: Param<String> = super::param::common::AFTER;

const NEW_ALIAS: Param<String> =
    Param::kept("alias", Kind::Text, String::new(), "Empty string or 1 to 32 digits.", |v| {
        if v.is_empty() || is_digits(v, 32) {
            Ok(v.to_string())
        } else {
            Err("An alias must be empty or 1 to 32 digits.".into())
        }
    })
    .shaped(Shape::digits(0, 32));
// Sent empty, each means 0, as in create: the pool, no region, and (refused) no class.
const NEW_CLASS: Param<i64> = Param::kept("class", Kind::Integer, 0, "An existing number class.", parse::integer);
const NEW_OWNER: Param<i64> =
    Param::kept("customer", Kind::Integer, 0, "0 for the pool, or an existing customer.", parse::integer);
const NEW_REGION: Param<i64> = Param::kept("region", Kind::Integer, 0, "0 or an existing region.", parse::integer);
const NEW_SHORTCUT: Param<bool> =
    Param::kept("shortcut", Kind::Flag, false, "1 to route calls to the number internally, 0 not to.", parse::flag);

const FIRST: Param<String> =
    Param::decided("number", Kind::Text, "", "The (first) number; required unless batch is given.", parse::text);
const LAST: Param<String> =
    Param::with_default("end", Kind::Text, String::new(), "The last number of a range, as in create.", parse::text);
const BATCH: Param<i64> =
    Param::decided("batch", Kind::Integer, "", "Delete every number one create added.", parse::integer);
const FORCE: Param<bool> = Param::with_default(
    "force",
    Kind::Flag,
    false,
    "1 to clear the destinations of feature codes and numbers that route to the numbers deleted (they become hangup) and answer how many; 0 to refuse while any do.",
    parse::flag,
);

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "numbers/system/create",
        summary: "Adds one or more new numbers to the system: all of them or none. Answers {\"count\": N}.",
        access: SYSTEM_WRITES,
        params: &[&START, &CLASS, &INGROUP, &ALIAS, &CHARGE_CUSTOMER, &OWNER, &END, &REGION, &STYPE, &EXISTING],
        list: false,
        answer: super::Answer::Count,
        handler: handler!(NumbersNew, create),
    },
    CallSpec {
        name: "numbers/system/get",
        summary: "Gets one number of the inventory.",
        access: SYSTEM_READS,
        params: &[&NUMBER],
        list: false,
        answer: super::Answer::Object(super::answer::NUMBER),
        handler: handler!(NumberKey, get),
    },
    CallSpec {
        name: "numbers/system/list",
        summary: "Lists the inventory, sorted by number; the answer is streamed.",
        access: SYSTEM_READS,
        params: &[
            &ASSIGNED,
            &BY_CLASS,
            &BY_INGROUP,
            &BY_REGION,
            &BY_CUSTOMER,
            &BY_BATCH,
            &PAGES,
            &SEARCH,
            &PREFIX,
            &AFTER,
        ],
        list: true,
        answer: super::Answer::Rows(super::answer::NUMBER),
        handler: handler!(SystemFilter, system_list),
    },
    CallSpec {
        name: "numbers/system/update",
        summary: "Changes a number's alias, class, customer or region; absent fields keep their value.",
        access: SYSTEM_WRITES,
        params: &[&NUMBER, &NEW_ALIAS, &NEW_CLASS, &NEW_OWNER, &NEW_REGION, &NEW_SHORTCUT],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(NumberChange, update),
    },
    CallSpec {
        name: "numbers/system/delete",
        summary: "Deletes a number, a range (with end) or everything one create added (batch): all or nothing.",
        access: SYSTEM_WRITES,
        params: &[&FIRST, &LAST, &BATCH, &EXISTING, &FORCE],
        list: false,
        answer: super::Answer::NothingOr(super::answer::NUMBERS_CLEARED),
        handler: handler!(Removal, delete),
    },
];

/// Records a 400 for `key` unless `id` is 0 (when `zero_ok`) or an existing object.
async fn check_exists(
    r: &mut Reader<'_>,
    key: &str,
    kind: &InventoryKind,
    id: Option<i64>,
    zero_ok: bool,
) -> Result<(), StoreError> {
    if let Some(id) = id
        && !(zero_ok && id == 0)
        && !store::inventory::exists(r.db, kind, id).await?
    {
        r.error(key, "This does not exist.");
    }
    Ok(())
}

/// 0 for the pool, or an existing customer (the system privilege sees them all).
async fn check_owner(r: &mut Reader<'_>, customer: Option<i64>) -> Result<(), StoreError> {
    if let Some(id) = customer
        && id != 0
        && store::customers::get(r.db, id).await?.is_none()
    {
        r.error("customer", "This customer does not exist.");
    }
    Ok(())
}

/// The first number and `end` as a range, each bad one reported under its own key.
fn read_range(r: &mut Reader<'_>, start: Option<String>, end: Option<String>, start_key: &str) -> Option<NumberRange> {
    let start = start?;
    let end = end.as_deref();
    let range = match NumberRange::parse(&start, None).and_then(|_| NumberRange::parse(&start, end)) {
        Ok(range) => Some(range),
        Err(err) => {
            r.error(if err.key == "start" { start_key } else { err.key }, err.message);
            None
        }
    };
    if range.is_none() && end.is_some_and(|e| !e.is_empty() && !is_digits(e, 32)) {
        r.error("end", "This must be empty or 1 to 32 digits.");
    }
    range
}

struct NumbersNew {
    range: NumberRange,
    class: i64,
    ingroup: i64,
    alias: Option<AliasSequence>,
    charge: bool,
    customer: i64,
    region: i64,
    stype: NumberKind,
    existing: Existing,
}

impl Request for NumbersNew {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let (start, end) = (r.get(&START), r.get(&END));
        let range = read_range(r, start, end, START.name);
        let class = r.get(&CLASS);
        let ingroup = r.get(&INGROUP);
        let alias = match (r.get(&ALIAS), range) {
            (Some(alias), Some(range)) => AliasSequence::parse(&alias, range.count()).unwrap_or_else(|message| {
                r.error(ALIAS.name, message);
                None
            }),
            _ => None,
        };
        let charge = r.get(&CHARGE_CUSTOMER);
        let customer = r.get(&OWNER);
        // A refused customer cannot be charged either.
        if charge == Some(true) && customer.is_none_or(|c| c == 0) {
            r.error(CHARGE_CUSTOMER.name, "Charging needs a customer to charge.");
        }
        let region = r.get(&REGION);
        let stype = r.get(&STYPE);
        let existing = r.get(&EXISTING);
        check_exists(r, CLASS.name, &CLASSES, class, false).await?;
        check_exists(r, INGROUP.name, &INGROUPS, ingroup, false).await?;
        check_owner(r, customer).await?;
        check_exists(r, REGION.name, &REGIONS, region, true).await?;
        Ok((|| {
            Some(Self {
                range: range?,
                class: class?,
                ingroup: ingroup?,
                alias,
                charge: charge?,
                customer: customer?,
                region: region?,
                stype: stype?,
                existing: existing?,
            })
        })())
    }
}

struct NumberKey(String);

impl Request for NumberKey {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        Ok(r.get(&NUMBER).map(Self))
    }
}

struct SystemFilter {
    filter: NumberFilter,
    /// `after`: keyset paging by number.
    after: Option<String>,
}

impl Request for SystemFilter {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let assigned = r.get(&ASSIGNED);
        let pages = r.get(&PAGES);
        let mut filter = NumberFilter {
            assigned: assigned.unwrap_or(false),
            // 0 means all, as Enswitch has it (no number is in class or group 0).
            class: r.given(&BY_CLASS).filter(|&class| class != 0),
            ingroup: r.given(&BY_INGROUP).filter(|&ingroup| ingroup != 0),
            region: r.given(&BY_REGION),
            customer: r.given(&BY_CUSTOMER),
            batch: r.given(&BY_BATCH),
            search: r.get(&SEARCH).filter(|s| !s.is_empty()),
            prefix: r.get(&PREFIX).filter(|p| !p.is_empty()),
        };
        let after = r.get(&AFTER).filter(|a| !a.is_empty());
        // Assigned numbers have an index of their own; say so when it applies.
        if filter.customer.is_some_and(|c| c != 0) {
            filter.assigned = true;
        }
        Ok(assigned.and(pages).map(|_| Self { filter, after }))
    }
}

struct NumberChange {
    number: String,
    changes: NumberChanges,
}

impl Request for NumberChange {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let number = r.get(&NUMBER);
        let changes = NumberChanges {
            alias: r.given(&NEW_ALIAS),
            class: r.given(&NEW_CLASS),
            customer: r.given(&NEW_OWNER),
            region: r.given(&NEW_REGION),
            shortcut: r.given(&NEW_SHORTCUT).map(i64::from),
        };
        check_exists(r, NEW_CLASS.name, &CLASSES, changes.class, false).await?;
        check_owner(r, changes.customer).await?;
        check_exists(r, NEW_REGION.name, &REGIONS, changes.region, true).await?;
        Ok(number.map(|number| Self { number, changes }))
    }
}

/// numbers/system/delete: what it removes, and whether it may clear what routes there.
struct Removal {
    gone: NumbersGone,
    force: bool,
}

impl Request for Removal {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let gone = NumbersGone::read(r).await?;
        let force = r.get(&FORCE);
        Ok((|| Some(Self { gone: gone?, force: force? }))())
    }
}

/// What numbers/system/delete removes: a range, or a batch.
enum NumbersGone {
    Range { range: NumberRange, skip_missing: bool },
    Batch(i64),
}

impl Request for NumbersGone {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let batch = r.given(&BATCH);
        let first = r.given(&FIRST);
        let range = match (batch, &first) {
            (Some(_), None) => None,
            (Some(_), Some(_)) => {
                r.error(BATCH.name, "Give either number or batch, not both.");
                None
            }
            (None, None) => {
                r.error(FIRST.name, super::param::MSG_REQUIRED);
                None
            }
            (None, Some(first)) if first.is_empty() => {
                r.error(FIRST.name, super::param::MSG_REQUIRED);
                None
            }
            (None, Some(_)) => {
                let end = r.get(&LAST);
                read_range(r, first, end, FIRST.name)
            }
        };
        let skip_missing = r.get(&EXISTING) == Some(Existing::Skip);
        Ok(match (range, batch) {
            (Some(range), _) => Some(Self::Range { range, skip_missing }),
            (None, Some(batch)) => Some(Self::Batch(batch)),
            (None, None) => None,
        })
    }
}

async fn create(ctx: Ctx, new: NumbersNew) -> CallResult {
    let skip = new.existing == Existing::Skip;
    if ctx.validation {
        if !skip {
            let (count, first) = store::numbers::existing(&ctx.db, &new.range).await?;
            refuse_existing(count, &first)?;
        }
        return Ok(Reply::Validated);
    }
    let caller = ctx.caller()?;
    let add = NewNumbers {
        range: new.range,
        alias: new.alias,
        class: new.class,
        ingroup: new.ingroup,
        customer: new.customer,
        region: new.region,
        stype: new.stype,
        skip_existing: skip,
        charge: new.charge,
        person: caller.person,
        audit: audit_entry(&ctx)?,
        committing: ctx.committing.clone(),
        claim: ctx.claim.as_ref().map(|claim| {
            let render = claim.render;
            let answer: AnswerFor = Box::new(move |count| {
                Reply::data(&Count { count: count as i64 }).ok().and_then(|reply| render(&reply))
            });
            (claim.key.clone(), answer)
        }),
    };
    match store::numbers::add(&ctx.db, &add).await? {
        Added::Count { count, .. } => {
            ctx.metrics.numbers_added.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
            Reply::data(&Count { count: count as i64 })
        }
        Added::Existing { count, first } => refuse_existing(count, &first).map(|()| Reply::Done),
        Added::Gone(keys) => {
            Err(ApiError::Invalid(keys.into_iter().map(|key| FieldError::new(key, "This does not exist.")).collect()))
        }
    }
}

/// The 400 for `existing=fail` when numbers of the range exist: how many, and
/// the first few as compressed sub-ranges.
fn refuse_existing(count: i64, first: &[String]) -> Result<(), ApiError> {
    if count == 0 {
        return Ok(());
    }
    let runs = compress(first);
    let shown: Vec<&str> = runs.split(", ").take(5).collect();
    let more = if shown.len() < runs.split(", ").count() || count > first.len() as i64 { ", ..." } else { "" };
    let message = format!("{count} of these numbers already exist: {}{more}", shown.join(", "));
    Err(ApiError::invalid("start", &message))
}

async fn get(ctx: Ctx, NumberKey(number): NumberKey) -> CallResult {
    let row = store::numbers::get(&ctx.db, &number).await?.ok_or_else(not_found)?;
    Reply::data(&row)
}

/// Enswitch's words for a number that is not there.
fn not_found() -> ApiError {
    ApiError::NotFoundNamed(super::owned_numbers::NUMBER_NOT_FOUND)
}

/// Answers a list: `{"count": N}`, or the rows streamed.
async fn answer_list(ctx: &Ctx, filter: NumberFilter, after: Option<&str>, window: ListWindow) -> CallResult {
    if ctx.count {
        return Reply::data(&Count { count: store::numbers::count(&ctx.db, &filter).await? });
    }
    let permit = ctx.stream_slot()?;
    Ok(Reply::Rows(store::numbers::stream(&ctx.db, &filter, after, &window, permit).await?))
}

async fn system_list(ctx: Ctx, SystemFilter { filter, after }: SystemFilter) -> CallResult {
    answer_list(&ctx, filter, after.as_deref(), ctx.window).await
}

async fn update(ctx: Ctx, change: NumberChange) -> CallResult {
    let changes = &change.changes;
    let mut named: Vec<Named> = Vec::new();
    if let Some(class) = changes.class {
        named.push(("class", Reference::Row { table: "classes", id: class }, "This does not exist."));
    }
    if let Some(customer) = changes.customer.filter(|&c| c != 0) {
        named.push(("customer", Reference::Customer(customer), "This customer does not exist."));
    }
    if let Some(region) = changes.region.filter(|&r| r != 0) {
        named.push(("region", Reference::Row { table: "regions", id: region }, "This does not exist."));
    }
    in_transaction(&ctx, async |tx| {
        hold_references(tx, &named).await?;
        let one = Targets::One(&change.number);
        if let Some(customer) = change.changes.customer {
            // Changing hands: what routes to the number stays with the old
            // holder, so it must not route there any more; the old holder's
            // routing of the number is forgotten.
            store::owned_numbers::lock(tx, one).await?;
            let routed = store::owned_numbers::routed_to(tx, one).await?;
            let holder = store::owned_numbers::holder(tx, &change.number).await?;
            if holder.is_some_and(|holder| holder != customer) {
                if !routed.is_empty() {
                    return Err(ApiError::invalid(NEW_OWNER.name, &routed_message(&routed, "this number")));
                }
                store::owned_numbers::forget_routes(tx, one).await?;
            }
        }
        if store::numbers::update(tx, &change.number, &change.changes).await? {
            Ok(Reply::Done)
        } else {
            Err(not_found())
        }
    })
    .await
}

/// The count of destinations `force=1` cleared: of feature codes, of numbers.
#[derive(serde::Serialize)]
struct Cleared {
    codes: u64,
    numbers: u64,
}

async fn delete(ctx: Ctx, Removal { gone, force }: Removal) -> CallResult {
    let (first, last) = match &gone {
        NumbersGone::Range { range, .. } => (range.first(), range.last()),
        NumbersGone::Batch(_) => (String::new(), String::new()),
    };
    let (doomed, targets, key) = match &gone {
        NumbersGone::Range { range, skip_missing } => (
            Doomed::Range { range, skip_missing: *skip_missing },
            Targets::Range { first: &first, last: &last, width: range.width() as i64 },
            FIRST.name,
        ),
        NumbersGone::Batch(batch) => (Doomed::Batch(*batch), Targets::Batch(*batch), BATCH.name),
    };
    // A range is deleted first and judged by value after (see `lock`); a
    // batch is locked, judged through its numbers, then deleted.
    let deleted_first = matches!(doomed, Doomed::Range { .. });
    in_transaction(&ctx, async |tx| {
        if deleted_first {
            store::numbers::delete(tx, &doomed).await?.ok_or_else(not_found)?;
        } else {
            store::owned_numbers::lock(tx, targets).await?;
        }
        // The numbers' own routing goes with them, and is not in the way.
        store::owned_numbers::forget_routes(tx, targets).await?;
        let routed = store::owned_numbers::routed_to(tx, targets).await?;
        let mut cleared = Cleared { codes: 0, numbers: 0 };
        if !routed.is_empty() {
            if !force {
                let message = routed_message(&routed, "these numbers");
                return Err(ApiError::invalid(key, &format!("{message} Or send force=1 to make them hang up.")));
            }
            (cleared.codes, cleared.numbers) = store::owned_numbers::clear_routes_to(tx, targets).await?;
        }
        if !deleted_first {
            store::numbers::delete(tx, &doomed).await?.ok_or_else(not_found)?;
        }
        if force { Reply::data(&cleared) } else { Ok(Reply::Done) }
    })
    .await
}
