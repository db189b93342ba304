//! Customers: the tenant tree. A customer outside what the caller sees is
//! answered exactly like one that does not exist.

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler,
    param::{common::id, parse},
    write::in_transaction,
};
use crate::{
    base::{ApiError, Count, Created, Reply},
    domain::privilege::Privilege,
    store::{self, StoreError},
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

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "customers/create",
        summary: "Creates a customer under a parent the caller sees; answers its id.",
        access: Access::Requires { any_of: &[Privilege::Commerce], writes: true },
        params: &[&NAME, &EMAIL, &PLAN, &PARENT],
        list: false,
        handler: handler!(CustomerNew, create),
    },
    CallSpec {
        name: "customers/get",
        summary: "Gets one customer the caller sees.",
        access: READ,
        params: &[&ID],
        list: false,
        handler: handler!(CustomerId, get),
    },
    CallSpec {
        name: "customers/list",
        summary: "Lists the customers the caller sees, optionally only the children of one.",
        access: READ,
        params: &[&CHILDREN_OF],
        list: true,
        handler: handler!(Children, list),
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

async fn create(ctx: Ctx, new: CustomerNew) -> CallResult {
    in_transaction(&ctx, async |tx| {
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
