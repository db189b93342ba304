//! The number inventory: adding a number or a range of up to a million in one
//! call, reading it back (lists are streamed), changing and removing it.

use serde_json::json;

use super::{
    Access, CallResult, CallSpec, Ctx, Input, Kind, Param,
    write::{VALIDATION, customer_param, in_transaction},
};
use crate::{
    auth::privilege::Privilege,
    domain::{
        destination::is_digits,
        numbers::{AliasSequence, NumberRange, compress},
    },
    http::{envelope::Reply, error::ApiError},
    store::{
        self, Db, StoreError,
        inventory::{CLASSES, INGROUPS, InventoryKind, REGIONS},
        numbers::{Added, Doomed, NewNumbers, NumberChanges, NumberFilter},
    },
};

const SYSTEM_WRITES: Access = Access::Requires { any_of: &[Privilege::System], writes: true };
const SYSTEM_READS: Access = Access::Requires { any_of: &[Privilege::System], writes: false };
const NUMBER: Param = Param::required("number", Kind::Text, "The number.");
const EXISTING: Param = Param::optional(
    "existing",
    Kind::Text,
    "fail",
    "fail: any existing number refuses the whole call; skip: existing numbers are left alone.",
);

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "numbers/system/create",
        summary: "Adds one or more new numbers to the system: all of them or none. Answers {\"count\": N}.",
        access: SYSTEM_WRITES,
        params: &[
            Param::required("start", Kind::Text, "The first number to add: 1 to 32 digits, leading zeros kept."),
            Param::required("class", Kind::Integer, "The number class to put the number(s) in."),
            Param::required("ingroup", Kind::Integer, "The inbound group to put the number(s) in."),
            Param::optional("alias", Kind::Text, "", "The alias for the first number; later ones follow in sequence."),
            Param::optional("charge_customer", Kind::Flag, "0", "1 to charge the customer for the numbers, 0 not to."),
            Param::optional(
                "customer",
                Kind::Integer,
                "0",
                "ID of the customer to assign the number(s) to; 0 for the pool.",
            ),
            Param::optional("end", Kind::Text, "", "The last number to add. Empty string to just add one number."),
            Param::optional("region", Kind::Integer, "0", "ID of region to add numbers to. 0 for no region."),
            Param::optional("stype", Kind::Text, "number", "number or callerid."),
            EXISTING,
            VALIDATION,
        ],
        list: false,
        handler: |ctx| Box::pin(create(ctx)),
    },
    CallSpec {
        name: "numbers/system/get",
        summary: "Gets one number of the inventory.",
        access: SYSTEM_READS,
        params: &[NUMBER],
        list: false,
        handler: |ctx| Box::pin(get(ctx)),
    },
    CallSpec {
        name: "numbers/system/list",
        summary: "Lists the inventory, sorted by number; the answer is streamed.",
        access: SYSTEM_READS,
        params: &[
            Param::optional("assigned", Kind::Flag, "0", "1 for only numbers assigned to a customer."),
            Param::optional("class", Kind::Integer, "", "Only this number class."),
            Param::optional("ingroup", Kind::Integer, "", "Only this inbound group."),
            Param::optional("region", Kind::Integer, "", "Only this region."),
            Param::optional("customer", Kind::Integer, "", "Only this customer's numbers (0: the pool)."),
            Param::optional("batch", Kind::Integer, "", "Only the numbers one create added."),
            Param::optional("search", Kind::Text, "", "Only numbers containing this text."),
        ],
        list: true,
        handler: |ctx| Box::pin(system_list(ctx)),
    },
    CallSpec {
        name: "numbers/system/update",
        summary: "Changes a number's alias, class, customer or region; absent fields keep their value.",
        access: SYSTEM_WRITES,
        params: &[
            NUMBER,
            Param::optional("alias", Kind::Text, "Unchanged.", "Empty string or 1 to 32 digits."),
            Param::optional("class", Kind::Integer, "Unchanged.", "An existing number class."),
            Param::optional("customer", Kind::Integer, "Unchanged.", "0 for the pool, or an existing customer."),
            Param::optional("region", Kind::Integer, "Unchanged.", "0 or an existing region."),
            VALIDATION,
        ],
        list: false,
        handler: |ctx| Box::pin(update(ctx)),
    },
    CallSpec {
        name: "numbers/system/delete",
        summary: "Deletes a number, a range (with end) or everything one create added (batch): all or nothing.",
        access: SYSTEM_WRITES,
        params: &[
            Param::optional("number", Kind::Text, "", "The (first) number; required unless batch is given."),
            Param::optional("end", Kind::Text, "", "The last number of a range, as in create."),
            Param::optional("batch", Kind::Integer, "", "Delete every number one create added."),
            EXISTING,
            VALIDATION,
        ],
        list: false,
        handler: |ctx| Box::pin(delete(ctx)),
    },
    CallSpec {
        name: "numbers/list",
        summary: "Lists the numbers a customer owns; the answer is streamed.",
        access: Access::Requires { any_of: &[Privilege::User, Privilege::Wholesale], writes: false },
        params: &[Param::optional(
            "customer",
            Kind::Integer,
            "Customer of authentication user.",
            "ID of the customer.",
        )],
        list: true,
        handler: |ctx| Box::pin(customer_list(ctx)),
    },
];

/// Records a 400 for `key` unless `id` is 0 (when `zero_ok`) or an existing object.
async fn check_exists(
    db: &Db,
    input: &mut Input<'_>,
    key: &str,
    kind: &InventoryKind,
    id: Option<i64>,
    zero_ok: bool,
) -> Result<(), StoreError> {
    if let Some(id) = id
        && !(zero_ok && id == 0)
        && !store::inventory::exists(db, kind, id).await?
    {
        input.error(key, "This does not exist.");
    }
    Ok(())
}

/// 0 for the pool, or an existing customer (the system privilege sees them all).
async fn check_owner(db: &Db, input: &mut Input<'_>, customer: Option<i64>) -> Result<(), StoreError> {
    if let Some(id) = customer
        && id != 0
        && store::customers::get(db, id).await?.is_none()
    {
        input.error("customer", "This customer does not exist.");
    }
    Ok(())
}

/// `start` and `end` as a range, each bad one reported under its own key.
fn range_params(input: &mut Input<'_>, start_key: &str) -> Option<NumberRange> {
    let start = input.required_text(start_key)?;
    let end = input.text("end");
    let range = match NumberRange::parse(start, None).and_then(|_| NumberRange::parse(start, end)) {
        Ok(range) => Some(range),
        Err(err) => {
            input.error(if err.key == "start" { start_key } else { err.key }, err.message);
            None
        }
    };
    if range.is_none() && end.is_some_and(|e| !e.is_empty() && !is_digits(e, 32)) {
        input.error("end", "This must be empty or 1 to 32 digits.");
    }
    range
}

/// `existing=fail` (default) or `skip`.
fn skip_existing(input: &mut Input<'_>) -> bool {
    match input.text("existing") {
        None | Some("") | Some("fail") => false,
        Some("skip") => true,
        Some(_) => {
            input.error("existing", "This must be fail or skip.");
            false
        }
    }
}

async fn create(ctx: Ctx) -> CallResult {
    let (db, caller) = (&ctx.state.db, ctx.caller());
    let mut input = ctx.input();
    let range = range_params(&mut input, "start");
    let class = input.required_int("class");
    let ingroup = input.required_int("ingroup");
    let alias = match (input.text("alias"), range) {
        (Some(alias), Some(range)) => AliasSequence::parse(alias, range.count()).unwrap_or_else(|message| {
            input.error("alias", message);
            None
        }),
        _ => None,
    };
    let charge = input.flag("charge_customer", false).unwrap_or(false);
    let customer = input.int("customer", 0).unwrap_or(0);
    if charge && customer == 0 {
        input.error("charge_customer", "Charging needs a customer to charge.");
    }
    let region = input.int("region", 0).unwrap_or(0);
    let stype = input.text("stype").unwrap_or("number");
    if !["number", "callerid"].contains(&stype) {
        input.error("stype", "This must be number or callerid.");
    }
    let skip = skip_existing(&mut input);
    let validation = input.flag("validation", false).unwrap_or(false);
    check_exists(db, &mut input, "class", &CLASSES, class, false).await?;
    check_exists(db, &mut input, "ingroup", &INGROUPS, ingroup, false).await?;
    check_owner(db, &mut input, Some(customer)).await?;
    check_exists(db, &mut input, "region", &REGIONS, Some(region), true).await?;
    input.finish()?;
    let range = range.expect("validated");
    if validation {
        if !skip {
            let (count, first) = store::numbers::existing(db, &range).await?;
            refuse_existing(count, &first)?;
        }
        return Ok(Reply::Validated);
    }
    let new = NewNumbers {
        range,
        alias,
        class: class.expect("validated"),
        ingroup: ingroup.expect("validated"),
        customer,
        region,
        stype: stype.to_string(),
        skip_existing: skip,
        charge,
        person: caller.person,
    };
    match store::numbers::add(db, &new).await? {
        Added::Count { count, batch } => {
            ctx.state.metrics.numbers_added.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
            let (first, last) = (new.range.first(), new.range.last());
            ctx.audit.set(format!("numbers {first}-{last} count={count} batch={batch}"));
            Ok(Reply::Data(json!({ "count": count })))
        }
        Added::Existing { count, first } => refuse_existing(count, &first).map(|()| Reply::Done),
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

async fn get(ctx: Ctx) -> CallResult {
    let mut input = ctx.input();
    let number = input.required_text("number");
    input.finish()?;
    let row = store::numbers::get(&ctx.state.db, number.expect("validated")).await?.ok_or(ApiError::NotFound)?;
    Ok(Reply::Data(json!(row)))
}

/// Answers a list: `{"count": N}`, or the rows streamed.
async fn answer_list(
    db: &Db,
    filter: NumberFilter,
    input: Input<'_>,
    count: bool,
    window: store::ListWindow,
) -> CallResult {
    input.finish()?;
    if count {
        return Ok(Reply::Data(json!({ "count": store::numbers::count(db, &filter).await? })));
    }
    Ok(Reply::Rows(store::numbers::stream(db, &filter, &window).await?))
}

async fn system_list(ctx: Ctx) -> CallResult {
    let mut input = ctx.input();
    let mut filter = NumberFilter {
        assigned: input.flag("assigned", false).unwrap_or(false),
        class: input.filter_int("class"),
        ingroup: input.filter_int("ingroup"),
        region: input.filter_int("region"),
        customer: input.filter_int("customer"),
        batch: input.filter_int("batch"),
        search: input.text("search").filter(|s| !s.is_empty()).map(str::to_string),
    };
    // Assigned numbers have an index of their own; say so when it applies.
    if filter.customer.is_some_and(|c| c != 0) {
        filter.assigned = true;
    }
    let (window, count) = input.list_window();
    answer_list(&ctx.state.db, filter, input, count, window).await
}

async fn customer_list(ctx: Ctx) -> CallResult {
    let (db, caller) = (&ctx.state.db, ctx.caller());
    let mut input = ctx.input();
    let customer = customer_param(db, caller, &mut input).await?;
    let (window, count) = input.list_window();
    let filter = NumberFilter { assigned: true, customer: Some(customer), ..NumberFilter::default() };
    answer_list(db, filter, input, count, window).await
}

async fn update(ctx: Ctx) -> CallResult {
    let db = &ctx.state.db;
    let mut input = ctx.input();
    let number = input.required_text("number");
    let alias = input.text("alias");
    if let Some(alias) = alias
        && !alias.is_empty()
        && !is_digits(alias, 32)
    {
        input.error("alias", "An alias must be empty or 1 to 32 digits.");
    }
    let class = input.int("class", 0);
    let customer = input.int("customer", 0);
    let region = input.int("region", 0);
    let validation = input.flag("validation", false).unwrap_or(false);
    check_exists(db, &mut input, "class", &CLASSES, class, false).await?;
    check_owner(db, &mut input, customer).await?;
    check_exists(db, &mut input, "region", &REGIONS, region, true).await?;
    input.finish()?;
    let number = number.expect("validated");
    let changes = NumberChanges { alias: alias.map(str::to_string), class, customer, region };
    in_transaction(db, validation, async |tx| {
        if store::numbers::update(tx, number, &changes).await? { Ok(Reply::Done) } else { Err(ApiError::NotFound) }
    })
    .await
}

async fn delete(ctx: Ctx) -> CallResult {
    let db = &ctx.state.db;
    let mut input = ctx.input();
    let batch = input.filter_int("batch");
    let range = match (batch, input.text("number")) {
        (Some(_), None) => None,
        (Some(_), Some(_)) => {
            input.error("batch", "Give either number or batch, not both.");
            None
        }
        (None, _) => range_params(&mut input, "number"),
    };
    let skip = skip_existing(&mut input);
    let validation = input.flag("validation", false).unwrap_or(false);
    input.finish()?;
    let doomed = match (&range, batch) {
        (Some(range), _) => Doomed::Range { range, skip_missing: skip },
        (None, Some(batch)) => Doomed::Batch(batch),
        (None, None) => unreachable!("validated"),
    };
    in_transaction(db, validation, async |tx| match store::numbers::delete(tx, &doomed).await? {
        Some(_) => Ok(Reply::Done),
        None => Err(ApiError::NotFound),
    })
    .await
}
