//! Customers: the tenant tree. A customer outside what the caller sees is
//! answered exactly like one that does not exist.

use serde_json::{Value, json};

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param,
    write::{VALIDATION, bounded_text, check_seen_customer, email, id_json, in_transaction},
};
use crate::{
    auth::privilege::Privilege,
    http::{envelope::Reply, error::ApiError},
    store::{self, customers::CustomerRow},
};

const READ: Access = Access::Requires { any_of: &[Privilege::User], writes: false };

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "customers/create",
        summary: "Creates a customer under a parent the caller sees; answers its id.",
        access: Access::Requires { any_of: &[Privilege::Commerce], writes: true },
        params: &[
            Param::required("name", Kind::Text, "Name, at most 255 characters."),
            Param::required("email", Kind::Text, "Contact e-mail address."),
            Param::required("plan", Kind::Integer, "ID of the customer's rate plan."),
            Param::optional("parent", Kind::Integer, "Customer of authentication user.", "ID of the parent customer."),
            VALIDATION,
        ],
        list: false,
        handler: |ctx| Box::pin(create(ctx)),
    },
    CallSpec {
        name: "customers/get",
        summary: "Gets one customer the caller sees.",
        access: READ,
        params: &[Param::required("id", Kind::Integer, "ID of the customer.")],
        list: false,
        handler: |ctx| Box::pin(get(ctx)),
    },
    CallSpec {
        name: "customers/list",
        summary: "Lists the customers the caller sees, optionally only the children of one.",
        access: READ,
        params: &[Param::optional("parent", Kind::Integer, "", "Only the children of this customer.")],
        list: true,
        handler: |ctx| Box::pin(list(ctx)),
    },
];

async fn create(ctx: Ctx) -> CallResult {
    let (db, caller) = (&ctx.state.db, ctx.caller());
    let mut input = ctx.input();
    let name = bounded_text(&mut input, "name", true, 255);
    let email = email(&mut input, "email", true);
    let plan = input.required_int("plan");
    let parent = input.int("parent", caller.customer).unwrap_or(caller.customer);
    let validation = input.flag("validation", false).unwrap_or(false);
    if let Some(plan) = plan
        && !store::plans::exists(db, plan).await?
    {
        input.error("plan", "This rate plan does not exist.");
    }
    check_seen_customer(db, caller, &mut input, "parent", Some(parent)).await?;
    input.finish()?;
    let (name, email, plan, parent) =
        (name.expect("validated"), email.expect("validated"), plan.expect("validated"), parent);
    in_transaction(db, validation, async |tx| {
        Ok(id_json(store::customers::create(tx, parent, name, email, plan).await?))
    })
    .await
}

async fn get(ctx: Ctx) -> CallResult {
    let mut input = ctx.input();
    let id = input.required_int("id");
    input.finish()?;
    let id = id.expect("validated");
    let db = &ctx.state.db;
    if !store::customers::is_visible(db, ctx.caller().scope(), id).await? {
        return Err(ApiError::NotFound);
    }
    let row = store::customers::get(db, id).await?.ok_or(ApiError::NotFound)?;
    Ok(Reply::Data(customer_json(row)))
}

async fn list(ctx: Ctx) -> CallResult {
    let mut input = ctx.input();
    let parent = input.int("parent", 0).filter(|&p| p != 0);
    let (window, count) = input.list_window();
    input.finish()?;
    let (db, scope) = (&ctx.state.db, ctx.caller().scope());
    if count {
        return Ok(Reply::Data(json!({ "count": store::customers::count(db, scope, parent).await? })));
    }
    let rows = store::customers::list(db, scope, parent, &window).await?;
    Ok(Reply::Data(Value::Array(rows.into_iter().map(customer_json).collect())))
}

fn customer_json(row: CustomerRow) -> Value {
    json!({
        "id": row.id, "parent": row.parent, "name": row.name,
        "email": row.email, "plan": row.plan, "created": row.created,
    })
}
