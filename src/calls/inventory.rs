//! Number classes, inbound groups and regions: system-wide objects that
//! numbers refer to. One implementation serves the three.

use serde_json::{Value, json};

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param,
    write::{VALIDATION, bounded_text, id_json, in_transaction},
};
use crate::{
    auth::privilege::Privilege,
    domain::destination::is_digits,
    http::envelope::Reply,
    store::{
        self,
        inventory::{CLASSES, Extra, ExtraValue, INGROUPS, InventoryKind, REGIONS},
    },
};

const CREATE: Access = Access::Requires { any_of: &[Privilege::System], writes: true };
const LIST: Access = Access::Requires { any_of: &[Privilege::System], writes: false };
const NAME: Param = Param::required("name", Kind::Text, "Name, at most 255 characters.");
const DESCRIPTION: Param = Param::optional("description", Kind::Text, "", "Description, at most 255 characters.");

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "classes/create",
        summary: "Creates a number class; answers its id.",
        access: CREATE,
        params: &[NAME, DESCRIPTION, Param::optional("rank", Kind::Integer, "1", "Rank, 1 to 10."), VALIDATION],
        list: false,
        handler: |ctx| Box::pin(create(ctx, &CLASSES)),
    },
    CallSpec {
        name: "classes/list",
        summary: "Lists the number classes.",
        access: LIST,
        params: &[],
        list: true,
        handler: |ctx| Box::pin(list(ctx, &CLASSES)),
    },
    CallSpec {
        name: "ingroups/create",
        summary: "Creates an inbound group; answers its id.",
        access: CREATE,
        params: &[NAME, DESCRIPTION, Param::optional("code", Kind::Text, "", "Empty string or digits."), VALIDATION],
        list: false,
        handler: |ctx| Box::pin(create(ctx, &INGROUPS)),
    },
    CallSpec {
        name: "ingroups/list",
        summary: "Lists the inbound groups.",
        access: LIST,
        params: &[],
        list: true,
        handler: |ctx| Box::pin(list(ctx, &INGROUPS)),
    },
    CallSpec {
        name: "regions/create",
        summary: "Creates a region; answers its id.",
        access: CREATE,
        params: &[NAME, DESCRIPTION, VALIDATION],
        list: false,
        handler: |ctx| Box::pin(create(ctx, &REGIONS)),
    },
    CallSpec {
        name: "regions/list",
        summary: "Lists the regions.",
        access: LIST,
        params: &[],
        list: true,
        handler: |ctx| Box::pin(list(ctx, &REGIONS)),
    },
];

async fn create(ctx: Ctx, kind: &'static InventoryKind) -> CallResult {
    let mut input = ctx.input();
    let name = bounded_text(&mut input, "name", true, 255);
    let description = bounded_text(&mut input, "description", false, 255);
    // Each kind reads only its own column's parameter.
    let extra = match kind.extra {
        Extra::Integer(key) => {
            let rank = input.int(key, 1).unwrap_or(1);
            if !(1..=10).contains(&rank) {
                input.error(key, "This must be 1 to 10.");
            }
            ExtraValue::Integer(rank)
        }
        Extra::Text(key) => {
            let code = input.text(key).unwrap_or("");
            if !code.is_empty() && !is_digits(code, 32) {
                input.error(key, "This must be empty or 1 to 32 digits.");
            }
            ExtraValue::Text(code)
        }
        Extra::None => ExtraValue::None,
    };
    let validation = input.flag("validation", false).unwrap_or(false);
    input.finish()?;
    let (name, description) = (name.expect("validated"), description.unwrap_or(""));
    in_transaction(&ctx.state.db, validation, async |tx| {
        Ok(id_json(store::inventory::create(tx, kind, name, description, extra).await?))
    })
    .await
}

async fn list(ctx: Ctx, kind: &'static InventoryKind) -> CallResult {
    let mut input = ctx.input();
    let (window, count) = input.list_window();
    input.finish()?;
    let db = &ctx.state.db;
    if count {
        return Ok(Reply::Data(json!({ "count": store::inventory::count(db, kind).await? })));
    }
    Ok(Reply::Data(Value::Array(store::inventory::list(db, kind, &window).await?)))
}
