//! Customers: the tenant tree. A customer outside what the caller sees is
//! answered exactly like one that does not exist.

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler,
    owned_numbers::routed_message,
    param::{MSG_REQUIRED, common::id, parse},
    routing::{hold_references, plan_allows},
    write::{in_transaction, in_transaction_changing_logins},
};
use crate::{
    base::{ApiError, Count, Created, Reply},
    domain::privilege::Privilege,
    store::{
        self, StoreError, Tx,
        customers::{Remains, Scope},
        plans::Feature,
        references::Reference,
    },
};

const READ: Access = Access::Requires { any_of: &[Privilege::User], writes: false };

const NAME: Param<String> = super::param::common::NAME;
const EMAIL: Param<String> = Param::required("email", Kind::Text, "Contact e-mail address.", parse::email);
const PLAN: Param<i64> = Param::required(
    "plan",
    Kind::Integer,
    "ID of the customer's rate plan: one owned by the caller's customer or a customer above it.",
    parse::integer,
);
const PARENT: Param<i64> = Param::decided(
    "parent",
    Kind::Integer,
    "Customer of authentication user.",
    "ID of the parent customer.",
    parse::integer,
);
const CHILDREN_OF: Param<i64> =
    Param::decided("parent", Kind::Integer, "", "Only the children of this customer; 0 for all.", parse::integer);
const ID: Param<i64> = id("ID of the customer.");

/// An update's `email`: absent keeps it; given, it must be an address (a customer always has one).
const NEW_EMAIL: Param<String> =
    Param::kept("email", Kind::Text, String::new(), "Contact e-mail address.", |v| match parse::email(v)? {
        v if v.is_empty() => Err("This parameter must be an e-mail address.".into()),
        v => Ok(v),
    });
const NEW_NAME: Param<String> = Param::kept("name", Kind::Text, String::new(), "Name, at most 255 characters.", |v| {
    match parse::bounded::<255>(v)? {
        v if v.is_empty() => Err(MSG_REQUIRED.into()),
        v => Ok(v),
    }
});
const NEW_PLAN: Param<i64> = Param::kept(
    "plan",
    Kind::Integer,
    0,
    "ID of the new rate plan: one owned by the caller's customer or a customer above it. Never the caller's own customer's (402).",
    parse::integer,
);
const MOVE_PARENT: Param<i64> = Param::required(
    "parent",
    Kind::Integer,
    "ID of the new parent customer: neither the customer itself nor one beneath it.",
    parse::integer,
);
const MOVE_PLAN: Param<i64> =
    Param::required("plan", Kind::Integer, "ID of the customer's rate plan under its new parent.", parse::integer);
const RECURSIVE: Param<bool> = Param::with_default(
    "recursive",
    Kind::Flag,
    false,
    "1 (system only) to delete the customer's whole subtree with its people, feature codes and groups, releasing its numbers to the pool; 0 to refuse while anything is left.",
    parse::flag,
);

const COMMERCE_WRITES: Access = Access::Requires { any_of: &[Privilege::Commerce], writes: true };

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "customers/create",
        summary: "Creates a customer under a parent the caller sees; answers its id.",
        access: COMMERCE_WRITES,
        params: &[&NAME, &EMAIL, &PLAN, &PARENT],
        list: false,
        answer: super::Answer::Id,
        handler: handler!(CustomerNew, create),
    },
    CallSpec {
        name: "customers/get",
        summary: "Gets one customer the caller sees.",
        access: READ,
        params: &[&ID],
        list: false,
        answer: super::Answer::Object(super::answer::CUSTOMER),
        handler: handler!(CustomerId, get),
    },
    CallSpec {
        name: "customers/list",
        summary: "Lists the customers the caller sees, optionally only the children of one.",
        access: READ,
        params: &[&CHILDREN_OF],
        list: true,
        answer: super::Answer::Rows(super::answer::CUSTOMER),
        handler: handler!(Children, list),
    },
    CallSpec {
        name: "customers/update",
        summary: "Changes a customer's name, e-mail or rate plan; absent fields keep their value. A customer never changes its own plan.",
        access: COMMERCE_WRITES,
        params: &[&ID, &NEW_NAME, &NEW_EMAIL, &NEW_PLAN],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(CustomerChange, update),
    },
    CallSpec {
        name: "customers/move",
        summary: "Moves a customer (not customer 1) under another parent, with the plan it has there.",
        access: Access::Requires { any_of: &[Privilege::System], writes: true },
        params: &[&ID, &MOVE_PARENT, &MOVE_PLAN],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(CustomerMove, move_customer),
    },
    CallSpec {
        name: "customers/delete",
        summary: "Deletes a customer that has no child customers, people, feature codes or numbers left; with recursive=1 (system) its whole subtree, releasing its numbers.",
        access: COMMERCE_WRITES,
        params: &[&ID, &RECURSIVE],
        list: false,
        answer: super::Answer::NothingOr(super::answer::CUSTOMERS_DELETED),
        handler: handler!(CustomerGone, delete),
    },
];

struct CustomerNew {
    name: String,
    email: String,
    plan: i64,
    parent: i64,
}

impl Request for CustomerNew {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let name = r.get(&NAME);
        let email = r.get(&EMAIL);
        let plan = r.get(&PLAN);
        let parent = r.seen_customer(&PARENT).await?;
        // A plan owned by the caller's customer or one above it; any other is
        // answered as one that does not exist.
        if let Some(plan) = plan
            && !store::plans::may_use(r.db, super::plans::plan_scope(r.caller()?), plan).await?
        {
            r.error(PLAN.name, "This rate plan does not exist.");
        }
        Ok((|| Some(Self { name: name?, email: email?, plan: plan?, parent }))())
    }
}

struct CustomerId(i64);

impl Request for CustomerId {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        Ok(r.get(&ID).map(Self))
    }
}

/// `parent` as a filter: `None` (or 0) for every customer seen.
struct Children(Option<i64>);

impl Request for Children {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let parent = r.given(&CHILDREN_OF).filter(|&p| p != 0);
        Ok(Some(Self(parent)))
    }
}

/// Holds the rate plan a customer is put on, so that a racing plans/delete
/// either waits and then counts this customer, or wins and this write is a 400.
async fn hold_plan(tx: &mut Tx, plan: i64) -> Result<(), ApiError> {
    let plan = Reference::Row { table: "plans", id: plan };
    hold_references(tx, &[("plan", plan, "This rate plan does not exist.")]).await
}

/// A plan is one `parent` may give to its children: owned by it or a
/// customer above it, so that no reseller holds the limits of a customer
/// outside its tree (whoever is calling, the system owner too).
async fn plan_fits(tx: &mut Tx, plan: i64, parent: i64, key: &str) -> Result<(), ApiError> {
    let owner = store::plans::owner_in(tx, plan).await?.unwrap_or(0);
    if owner == parent || store::customers::in_subtree(tx, owner, parent).await? {
        return Ok(());
    }
    Err(ApiError::invalid(
        key,
        "This rate plan is not one the parent may give: use a plan of the parent or a customer above it.",
    ))
}

async fn create(ctx: Ctx, new: CustomerNew) -> CallResult {
    in_transaction(&ctx, async |tx| {
        // The parent gains a child: its plan decides, and its row is held.
        plan_allows(tx, new.parent, Feature::Customers, PARENT.name).await?;
        hold_plan(tx, new.plan).await?;
        plan_fits(tx, new.plan, new.parent, PLAN.name).await?;
        let id = store::customers::create(tx, new.parent, &new.name, &new.email, new.plan).await?;
        Reply::data(&Created { id })
    })
    .await
}

async fn get(ctx: Ctx, CustomerId(id): CustomerId) -> CallResult {
    if !store::customers::is_visible(&ctx.db, ctx.caller()?.scope(), id).await? {
        return Err(ApiError::NotFound);
    }
    let row = store::customers::get(&ctx.db, id).await?.ok_or(ApiError::NotFound)?;
    Reply::data(&row)
}

async fn list(ctx: Ctx, Children(parent): Children) -> CallResult {
    let scope = ctx.caller()?.scope();
    if ctx.count {
        return Reply::data(&Count { count: store::customers::count(&ctx.db, scope, parent).await? });
    }
    Reply::data(&store::customers::list(&ctx.db, scope, parent, &ctx.window).await?)
}

/// Reads a plan the caller may give: one owned by their customer or above it.
async fn read_plan(r: &mut Reader<'_>, param: &Param<i64>) -> Result<Option<i64>, StoreError> {
    let plan = r.get(param);
    if let Some(id) = plan
        && !store::plans::may_use(r.db, super::plans::plan_scope(r.caller()?), id).await?
    {
        r.error(param.name, "This rate plan does not exist.");
    }
    Ok(plan)
}

struct CustomerChange {
    id: i64,
    name: Option<String>,
    email: Option<String>,
    plan: Option<i64>,
}

impl Request for CustomerChange {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let id = r.get(&ID);
        let name = r.get(&NEW_NAME);
        let email = r.get(&NEW_EMAIL);
        let plan = read_plan(r, &NEW_PLAN).await?;
        Ok(id.map(|id| Self { id, name, email, plan }))
    }
}

struct CustomerMove {
    id: i64,
    parent: i64,
    plan: i64,
}

impl Request for CustomerMove {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let id = r.get(&ID);
        if id == Some(1) {
            r.error(ID.name, "Customer 1 is the root of the tree and cannot be moved.");
        }
        let parent = r.get(&MOVE_PARENT);
        if let Some(parent) = parent {
            r.check_seen(MOVE_PARENT.name, parent).await?;
        }
        let plan = read_plan(r, &MOVE_PLAN).await?;
        Ok((|| Some(Self { id: id?, parent: parent?, plan: plan? }))())
    }
}

struct CustomerGone {
    id: i64,
    recursive: bool,
}

impl Request for CustomerGone {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let id = r.get(&ID);
        let recursive = r.get(&RECURSIVE);
        if id == Some(1) {
            r.error(ID.name, "Customer 1 is the root of the tree and cannot be deleted.");
        }
        Ok((|| Some(Self { id: id?, recursive: recursive? }))())
    }
}

/// Whether the caller may write in customer `id` (else 404, as if absent).
/// Checked before the write's transaction: a read through the pool while it
/// holds a row lock would let racing writers hold every connection.
async fn writable(ctx: &Ctx, id: i64) -> Result<(), ApiError> {
    if store::customers::is_visible(&ctx.db, ctx.caller()?.write_scope(), id).await? {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Whether customer `id` is the caller's own or one above it: a plan there
/// governs the caller, and deleting it would delete the caller.
async fn governs_caller(ctx: &Ctx, id: i64) -> Result<bool, ApiError> {
    let own = ctx.caller()?.customer;
    Ok(own == id || store::customers::is_visible(&ctx.db, Scope::Subtree(id), own).await?)
}

async fn update(ctx: Ctx, change: CustomerChange) -> CallResult {
    writable(&ctx, change.id).await?;
    let governs = governs_caller(&ctx, change.id).await?;
    in_transaction(&ctx, async |tx| {
        let mut row = store::customers::lock(tx, change.id).await?.ok_or(ApiError::NotFound)?;
        if let Some(plan) = change.plan.filter(|&p| p != row.plan) {
            // A customer never changes its own plan (nor one above it, which
            // governs it too): that is its parent's decision.
            if governs {
                return Err(ApiError::RoleForbids);
            }
            hold_plan(tx, plan).await?;
            plan_fits(tx, plan, row.parent, PLAN.name).await?;
            row.plan = plan;
        }
        if let Some(name) = change.name {
            row.name = name;
        }
        if let Some(email) = change.email {
            row.email = email;
        }
        store::customers::update(tx, &row).await?;
        Ok(Reply::Done)
    })
    .await
}

async fn move_customer(ctx: Ctx, change: CustomerMove) -> CallResult {
    in_transaction(&ctx, async |tx| {
        store::customers::serialise_moves(tx).await?;
        let row = store::customers::lock(tx, change.id).await?.ok_or(ApiError::NotFound)?;
        if store::customers::in_subtree(tx, change.id, change.parent).await? {
            return Err(ApiError::invalid(
                MOVE_PARENT.name,
                "A customer cannot be moved under itself or one of its own descendants.",
            ));
        }
        if row.parent != change.parent {
            // The new parent gains a child: its plan decides, and its row is held.
            plan_allows(tx, change.parent, Feature::Customers, MOVE_PARENT.name).await?;
        }
        hold_plan(tx, change.plan).await?;
        plan_fits(tx, change.plan, change.parent, MOVE_PLAN.name).await?;
        store::customers::move_to(tx, change.id, change.parent, change.plan).await?;
        Ok(Reply::Done)
    })
    .await
}

/// "2 customers, 1 person and 3 feature codes".
fn remains_message(left: &Remains) -> String {
    let mut parts = Vec::new();
    for (count, one, many) in [
        (left.customers, "child customer", "child customers"),
        (left.people, "person", "people"),
        (left.codes, "feature code", "feature codes"),
        (left.numbers, "number", "numbers"),
    ] {
        if count > 0 {
            parts.push(format!("{count} {}", if count == 1 { one } else { many }));
        }
    }
    let listed = match parts.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    format!("This customer still has {listed}. Delete them first, or (system) delete with recursive=1.")
}

async fn delete(ctx: Ctx, gone: CustomerGone) -> CallResult {
    let caller = ctx.caller()?;
    writable(&ctx, gone.id).await?;
    if gone.recursive && !caller.privileges.has_full(Privilege::System) {
        return Err(ApiError::RoleForbids);
    }
    if governs_caller(&ctx, gone.id).await? {
        return Err(ApiError::invalid(ID.name, "A person cannot delete their own customer or one above it."));
    }
    in_transaction_changing_logins(&ctx, async |tx| {
        store::customers::lock(tx, gone.id).await?.ok_or(ApiError::NotFound)?;
        // Customers before their groups, in the order writers take them
        // (a code's create holds its customer, then the groups it names).
        if gone.recursive {
            store::customers::lock_subtree(tx, gone.id).await?;
        }
        // Its groups go with it: not while another customer's code or number uses one.
        let used = store::customers::groups_used_from_outside(tx, gone.id).await?;
        if used > 0 {
            let message = format!(
                "{used} feature codes or numbers of other customers use music classes, record groups or time groups of these customers."
            );
            return Err(ApiError::invalid(ID.name, &message));
        }
        if gone.recursive {
            let routed = store::customers::routed_from_outside(tx, gone.id).await?;
            if !routed.is_empty() {
                return Err(ApiError::invalid(ID.name, &routed_message(&routed, "numbers of these customers")));
            }
            let deleted = store::customers::delete_subtree(tx, gone.id).await?;
            return Reply::data(&deleted);
        }
        let left = store::customers::remains(tx, gone.id).await?;
        if !left.is_empty() {
            return Err(ApiError::invalid(ID.name, &remains_message(&left)));
        }
        // Nothing left but its groups, which go with it.
        store::customers::delete_subtree(tx, gone.id).await?;
        Ok(Reply::Done)
    })
    .await
}
