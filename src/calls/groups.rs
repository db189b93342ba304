//! Music classes, record groups and time groups: what feature codes refer to.
//! One implementation serves the three; music classes and time groups may be
//! shared with every customer, which needs the system privilege.

use serde_json::{Map, Value, json};

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param,
    write::{VALIDATION, bounded_text, customer_param, id_json, in_transaction},
};
use crate::{
    auth::privilege::Privilege,
    http::{envelope::Reply, error::ApiError},
    store::{
        self,
        groups::{GroupKind, GroupRow, MUSIC, RECORD_GROUPS, TIME_GROUPS},
    },
};

const CREATE: Access = Access::Requires { any_of: &[Privilege::Administrator], writes: true };
const LIST: Access = Access::Requires { any_of: &[Privilege::User], writes: false };

const NAME: Param = Param::required("name", Kind::Text, "Name, at most 255 characters.");
const CUSTOMER: Param =
    Param::optional("customer", Kind::Integer, "Customer of authentication user.", "ID of the customer.");
const DESCRIPTION: Param = Param::optional("description", Kind::Text, "", "Description, at most 255 characters.");
const SHARED: Param = Param::optional("shared", Kind::Flag, "0", "1 to share with every customer (system only).");

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "music/create",
        summary: "Creates a music class (music on hold); answers its id.",
        access: CREATE,
        params: &[NAME, CUSTOMER, DESCRIPTION, SHARED, VALIDATION],
        list: false,
        handler: |ctx| Box::pin(create(ctx, &MUSIC)),
    },
    CallSpec {
        name: "music/list",
        summary: "Lists a customer's music classes and the shared ones.",
        access: LIST,
        params: &[CUSTOMER],
        list: true,
        handler: |ctx| Box::pin(list(ctx, &MUSIC)),
    },
    CallSpec {
        name: "recording/groups/create",
        summary: "Creates a record group; answers its id.",
        access: CREATE,
        params: &[NAME, CUSTOMER, DESCRIPTION, VALIDATION],
        list: false,
        handler: |ctx| Box::pin(create(ctx, &RECORD_GROUPS)),
    },
    CallSpec {
        name: "recording/groups/list",
        summary: "Lists a customer's record groups.",
        access: LIST,
        params: &[CUSTOMER],
        list: true,
        handler: |ctx| Box::pin(list(ctx, &RECORD_GROUPS)),
    },
    CallSpec {
        name: "timegroups/create",
        summary: "Creates a time group; answers its id.",
        access: CREATE,
        params: &[NAME, CUSTOMER, DESCRIPTION, SHARED, VALIDATION],
        list: false,
        handler: |ctx| Box::pin(create(ctx, &TIME_GROUPS)),
    },
    CallSpec {
        name: "timegroups/list",
        summary: "Lists a customer's time groups and the shared ones.",
        access: LIST,
        params: &[CUSTOMER],
        list: true,
        handler: |ctx| Box::pin(list(ctx, &TIME_GROUPS)),
    },
];

async fn create(ctx: Ctx, kind: &'static GroupKind) -> CallResult {
    let (db, caller) = (&ctx.state.db, ctx.caller());
    let mut input = ctx.input();
    let name = bounded_text(&mut input, "name", true, 255);
    let customer = customer_param(db, caller, &mut input).await?;
    let description = bounded_text(&mut input, "description", false, 255);
    let shared = if kind.shareable { input.flag("shared", false).unwrap_or(false) } else { false };
    let validation = input.flag("validation", false).unwrap_or(false);
    input.finish()?;
    if shared && !caller.privileges.has_full(Privilege::System) {
        return Err(ApiError::RoleForbids);
    }
    let (name, description) = (name.expect("validated"), description.unwrap_or(""));
    in_transaction(db, validation, async |tx| {
        Ok(id_json(store::groups::create(tx, kind, customer, name, description, shared).await?))
    })
    .await
}

async fn list(ctx: Ctx, kind: &'static GroupKind) -> CallResult {
    let (db, caller) = (&ctx.state.db, ctx.caller());
    let mut input = ctx.input();
    let customer = customer_param(db, caller, &mut input).await?;
    let (window, count) = input.list_window();
    input.finish()?;
    if count {
        return Ok(Reply::Data(json!({ "count": store::groups::count(db, kind, customer).await? })));
    }
    let rows = store::groups::list(db, kind, customer, &window).await?;
    Ok(Reply::Data(Value::Array(rows.into_iter().map(|row| group_json(kind, row)).collect())))
}

fn group_json(kind: &GroupKind, row: GroupRow) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), row.id.into());
    object.insert("customer".into(), row.customer.into());
    object.insert("name".into(), row.name.into());
    object.insert("description".into(), row.description.into());
    if kind.shareable {
        object.insert("shared".into(), row.shared.into());
    }
    object.insert("created".into(), row.created.into());
    Value::Object(object)
}
