//! Feature codes: dialable short codes that route a caller to a destination.
//! Create and update read the same fields with the same parsers; create takes
//! each field's declared default, update keeps the stored value of each field
//! not sent. The merged record is then checked whole (a destination's type
//! and number together) and its references against the database.

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, ParamInfo, Reader, Request, handler,
    owned_numbers::routed_message,
    param::{
        Absent, Chars, Shape,
        common::{CUSTOMER, DESCRIPTION},
        parse,
    },
    people::InCustomer,
    routing::{
        self, DNUMBER_KEPT, DTYPE_KEPT, FAX_DETECT, FAX_DNUMBER, FAX_DTYPE, Itself, LANGUAGE, MAXIMUM_SECONDS,
        MUSIC_CLASS, Named, OWNER, PASSWORD, RECORDGROUP, RINGTONE, ROUTING, RouteView, SCREEN, SNAME, SNAME_ACTION,
        check_destination, check_fax, check_references, hold_references, plan_allows, route_fields, route_view,
        updated_destination,
    },
    write::{audit_entry, in_transaction, in_transaction_auditing},
};
use crate::{
    base::{ApiError, Count, Reply},
    domain::privilege::Privilege,
    domain::{
        CodeSort, FeatureCode, SnameAction, TextDtype,
        destination::{Destination, DestinationType},
        shadowing::{Overlap, prefix_pairs},
    },
    store::{
        self, StoreError,
        codes::{CodeRecord, CodeRoute, InsertError, PlanInsert},
        owned_numbers::Saved,
        plans::Feature,
    },
};

const CODE: Param<FeatureCode> =
    Param::required("code", Kind::Text, "Feature code: 1 to 32 of 0-9 * #.", |v| parse::with(FeatureCode::parse(v)))
        .shaped(Shape::Chars { chars: Chars::Dialable, min: 1, max: 32 });
const DTYPE: Param<DestinationType> = Param {
    name: "dtype",
    kind: Kind::Text,
    doc: "Destination type.",
    absent: Absent::RequiredMayBeEmpty,
    parse: |v| parse::with(DestinationType::call_type(v)),
    shape: super::param::Shape::Any,
};
const DNUMBER: Param<String> = Param {
    name: "dnumber",
    kind: Kind::Text,
    doc: "Destination number, valid for the destination type.",
    absent: Absent::RequiredMayBeEmpty,
    parse: parse::text,
    shape: super::param::Shape::Any,
};
const DIRECT: Param<bool> = Param::with_default(
    "direct",
    Kind::Flag,
    false,
    "1 to allow callers to enter feature code in IVRs and attendant, 0 not to.",
    parse::flag,
);
const PANEL: Param<bool> =
    Param::with_default("panel", Kind::Flag, false, "1 to display in control panel, 0 not to.", parse::flag);
const PLAY_MESSAGE: Param<i64> = Param::with_default(
    "play_message",
    Kind::Integer,
    0,
    "1 to play message to callers, 2 to play without answering, 0 not to play.",
    parse::integer,
)
.shaped(Shape::Range { min: 0, max: 2 });
const SHARED: Param<bool> = Param::with_default(
    "shared",
    Kind::Flag,
    false,
    "1 to share with all customers on system (system privilege), 0 not to.",
    parse::flag,
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
    doc: "Sort by code, destination (type, then number) or dnumber.",
    absent: Absent::Value(CodeSort::Code),
    parse: |v| parse::with(CodeSort::parse(v)),
    shape: super::param::Shape::Any,
};

// Every field after the code, its destination and its customer, in the
// seed's order: its parameter, and how its value is stored.
route_fields! {
    CodeFields for CodeRecord,
    params: {
        CREATE_PARAMS: [CODE, DTYPE, DNUMBER, CUSTOMER],
        UPDATE_PARAMS: [CODE, DTYPE_KEPT, DNUMBER_KEPT, CUSTOMER],
    },
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

const PAGES: Param<bool> = super::param::common::PAGES;

const EDITORS: &[Privilege] = &[Privilege::Administrator, Privilege::Wholesale];
const READ: Access = Access::Requires { any_of: &[Privilege::User], writes: false };

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "codes/create",
        summary: "Creates a new feature code.",
        access: Access::Requires { any_of: EDITORS, writes: true },
        params: CREATE_PARAMS,
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(NewCode, create),
    },
    CallSpec {
        name: "codes/get",
        summary: "Gets one of a customer's own feature codes.",
        access: READ,
        params: &[&CODE, &CUSTOMER],
        list: false,
        answer: super::Answer::Object(super::answer::CODE),
        handler: handler!(CodeKey, get),
    },
    CallSpec {
        name: "codes/list",
        summary: "Lists a customer's feature codes and those the system owner shares.",
        access: READ,
        params: &[&CUSTOMER, &PAGES, &SORT],
        list: true,
        answer: super::Answer::Rows(super::answer::CODE),
        handler: handler!(ListCodes, list),
    },
    CallSpec {
        name: "codes/conflicts",
        summary: "Lists the pairs of feature codes a customer can dial (its own and the shared ones) where one is a prefix of the other, so the shorter fires before the longer can be dialled.",
        access: Access::Requires { any_of: EDITORS, writes: false },
        params: &[&CUSTOMER],
        list: false,
        answer: super::Answer::Array(super::answer::CODE_CONFLICT),
        handler: handler!(InCustomer, conflicts),
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
        answer: super::Answer::Nothing,
        handler: handler!(CodeChange, update),
    },
    CallSpec {
        name: "codes/delete",
        summary: "Deletes one of a customer's own feature codes.",
        access: Access::Requires { any_of: EDITORS, writes: true },
        params: &[&CODE, &CUSTOMER],
        list: false,
        answer: super::Answer::Nothing,
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
    /// What the record names, held again in the write's transaction.
    named: Vec<Named>,
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
        let named = routing::references(&view(&record), |_| true);
        if r.is_ok("customer") && r.is_ok("code") {
            check_references(r, &view(&record), &named).await?;
        }
        record.created = store::now_epoch();
        Ok(code.and(destination).map(|_| Self { record, named }))
    }
}

/// codes/update: the stored record (if the caller may change it) with the
/// fields sent applied, checked.
struct CodeChange {
    /// `None`: no such code, or not one the caller may change (404).
    record: Option<CodeRecord>,
    /// The code as read, which the checks were made against.
    read: Option<CodeRecord>,
    named: Vec<Named>,
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
            return Ok(code.map(|_| Self { record: None, read: None, named: Vec::new(), shares }));
        };
        let changed = r.given_names(UPDATE_PARAMS);
        let read = record.clone();
        fields.apply(&mut record);
        if let Some(destination) = updated_destination(r, dtype, dnumber, &read.dtype, &read.dnumber) {
            destination.store_in(&mut record);
        }
        check_record(r, &record);
        let named = routing::references(&view(&record), |keys| keys.iter().any(|k| changed.contains(k)));
        check_references(r, &view(&record), &named).await?;
        Ok(Some(Self { record: Some(record), read: Some(read), named, shares }))
    }
}

struct ListCodes {
    customer: i64,
    sort: CodeSort,
}

impl Request for ListCodes {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let customer = r.seen_customer(&CUSTOMER).await?;
        let pages = r.get(&PAGES);
        let sort = r.get(&SORT);
        Ok(pages.and(sort).map(|sort| Self { customer, sort }))
    }
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

/// The rules between fields of the merged record: the fax destination, and
/// the text destination's number suiting its type.
fn check_record(r: &mut Reader<'_>, record: &CodeRecord) {
    check_fax(r, &view(record));
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

fn view(record: &CodeRecord) -> RouteView<'_> {
    route_view!(record, customer: record.customer, itself: Itself::Code(&record.code))
}

/// Enswitch's words for a code that is not there, or not the caller's to see.
fn not_found() -> ApiError {
    ApiError::NotFoundNamed("The feature code does not exist, or you do not have permission to view it.")
}

async fn create(ctx: Ctx, request: NewCode) -> CallResult {
    let caller = ctx.caller()?;
    let record = &request.record;
    if record.shared == 1 && !caller.privileges.has_full(Privilege::System) {
        return Err(ApiError::RoleForbids);
    }
    let reply = match create_alone(&ctx, &request).await? {
        Some(reply) => reply,
        None => {
            in_transaction_auditing(&ctx, async |tx, entry| {
                match store::codes::insert_within_plan(tx, record, entry).await? {
                    PlanInsert::Limited => {
                        plan_allows(tx, record.customer, Feature::Codes, CUSTOMER.name).await?;
                        // The primary key is the one judge of an existing code, racing or not.
                        match store::codes::insert(tx, record).await {
                            Ok(()) => store::audit::record(tx, entry).await?,
                            Err(InsertError::Exists) => return Err(code_exists()),
                            Err(InsertError::Store(err)) => return Err(err.into()),
                        }
                    }
                    other => plan_answer(other)?,
                }
                // Held after the customer, in the order every writer takes them.
                hold_references(tx, &request.named).await?;
                Ok(Reply::Done)
            })
            .await?
        }
    };
    if matches!(reply, Reply::Done) {
        ctx.metrics.codes_created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    with_conflicts(&ctx, reply, record.customer, &record.code).await
}

/// The usual create (no object named, no maximum in the plan, neither
/// validation nor an `Idempotency-Key`): one trip to the database and one
/// commit, shared with the creates that arrive at the same moment. `None`
/// when the call needs the whole transaction.
async fn create_alone(ctx: &Ctx, request: &NewCode) -> Result<Option<Reply>, ApiError> {
    if !request.named.is_empty() || ctx.validation || ctx.claim.is_some() {
        return Ok(None);
    }
    // The writer passes the gate as it takes the create into a batch: a
    // timeout before then withdraws it, one after waits for the batch.
    let outcome = ctx.code_batches.insert(request.record.clone(), audit_entry(ctx)?, &ctx.committing).await;
    match outcome? {
        // Nothing was written: the call goes on to its own transaction,
        // which a timeout may again abandon until that commits.
        PlanInsert::Limited => {
            ctx.committing.commit_ends();
            Ok(None)
        }
        other => plan_answer(other).map(|()| Some(Reply::Done)),
    }
}

/// What a create's plan check and insert answered, other than `Limited`.
fn plan_answer(outcome: PlanInsert) -> Result<(), ApiError> {
    match outcome {
        PlanInsert::Inserted | PlanInsert::Limited => Ok(()),
        PlanInsert::Exists => Err(code_exists()),
        PlanInsert::Forbidden => Err(ApiError::PlanForbids),
        PlanInsert::NoCustomer => Err(ApiError::invalid(CUSTOMER.name, "This customer does not exist.")),
    }
}

fn code_exists() -> ApiError {
    ApiError::invalid("code", "This feature code already exists.")
}

/// One conflict: the shorter code fires before the longer can be dialled.
#[derive(serde::Serialize)]
struct Conflict<'a> {
    shorter: &'a CodeRoute,
    longer: &'a CodeRoute,
}

async fn conflicts(ctx: Ctx, InCustomer(customer): InCustomer) -> CallResult {
    let dialable = store::codes::dialable(&ctx.db, customer).await?;
    let pairs = prefix_pairs(&dialable, |route| route.code.as_str());
    let conflicts: Vec<Conflict> = pairs
        .into_iter()
        .map(|(shorter, longer)| Conflict { shorter: &dialable[shorter], longer: &dialable[longer] })
        .collect();
    Reply::data(&conflicts)
}

/// A code the one being validated overlaps, and how.
#[derive(serde::Serialize)]
struct Overlapping {
    #[serde(flatten)]
    code: CodeRoute,
    overlap: &'static str,
}

/// `validation=1` of a create or update: 201, and the codes this one would
/// shadow or be shadowed by, so that a portal can warn before writing.
async fn with_conflicts(ctx: &Ctx, reply: Reply, customer: i64, code: &str) -> CallResult {
    if !matches!(reply, Reply::Validated) {
        return Ok(reply);
    }
    let conflicts: Vec<Overlapping> = store::codes::overlapping(&ctx.db, customer, code)
        .await?
        .into_iter()
        .filter_map(|other| {
            Overlap::of(code, &other.code).map(|overlap| Overlapping { code: other, overlap: overlap.as_str() })
        })
        .collect();
    let data = serde_json::json!({ "conflicts": conflicts });
    Ok(Reply::ValidatedWith(data))
}

async fn get(ctx: Ctx, key: CodeKey) -> CallResult {
    let record = store::codes::get(&ctx.db, key.customer, key.code.as_str()).await?.ok_or_else(not_found)?;
    Reply::data(&record)
}

async fn list(ctx: Ctx, request: ListCodes) -> CallResult {
    if ctx.count {
        return Reply::data(&Count { count: store::codes::count(&ctx.db, request.customer).await? });
    }
    Reply::data(&store::codes::list(&ctx.db, request.customer, request.sort, &ctx.window).await?)
}

async fn update(ctx: Ctx, change: CodeChange) -> CallResult {
    let (Some(record), Some(read)) = (change.record, change.read) else { return Err(not_found()) };
    if change.shares && !ctx.caller()?.privileges.has_full(Privilege::System) {
        return Err(ApiError::RoleForbids);
    }
    let reply = in_transaction(&ctx, async |tx| {
        hold_references(tx, &change.named).await?;
        match store::codes::update(tx, &read, &record).await? {
            Saved::Done => Ok(Reply::Done),
            Saved::NotHeld => Err(not_found()),
            // Written whole, the fields read earlier would undo that change.
            Saved::Changed => Err(ApiError::Unavailable("the feature code changed while the call ran".into())),
        }
    })
    .await?;
    with_conflicts(&ctx, reply, record.customer, &record.code).await
}

async fn delete(ctx: Ctx, key: CodeKey) -> CallResult {
    in_transaction(&ctx, async |tx| match store::codes::delete(tx, key.customer, key.code.as_str()).await? {
        Ok(true) => Ok(Reply::Done),
        Ok(false) => Err(not_found()),
        Err(routed) => Err(ApiError::invalid("code", &routed_message(&routed, "this code"))),
    })
    .await
}
