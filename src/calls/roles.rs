//! Roles: named sets of privileges.

use serde_json::{Map, Value, json};

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param,
    write::{VALIDATION, bounded_text, id_json, in_transaction},
};
use crate::{
    auth::privilege::{self, Privilege},
    http::envelope::Reply,
    store,
};

const SYSTEM_WRITES: Access = Access::Requires { any_of: &[Privilege::System], writes: true };

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "roles/create",
        summary: "Creates a role with no privileges; answers its id.",
        access: SYSTEM_WRITES,
        params: &[
            Param::required("name", Kind::Text, "Name, at most 255 characters."),
            Param::optional("description", Kind::Text, "", "Description, at most 255 characters."),
            VALIDATION,
        ],
        list: false,
        handler: |ctx| Box::pin(create(ctx)),
    },
    CallSpec {
        name: "roles/list",
        summary: "Lists the roles with the privileges each holds (1 full, 2 read-only).",
        access: Access::Requires { any_of: &[Privilege::User], writes: false },
        params: &[],
        list: true,
        handler: |ctx| Box::pin(list(ctx)),
    },
    CallSpec {
        name: "roles/access/set",
        summary: "Sets how a role holds a privilege: 0 not at all, 1 full, 2 read-only (get and list calls only).",
        access: SYSTEM_WRITES,
        params: &[
            Param::required("role", Kind::Integer, "ID of the role."),
            Param::required("privilege", Kind::Text, "user, administrator, wholesale, commerce or system."),
            Param::required("access", Kind::Integer, "0 none, 1 full, 2 read-only."),
            VALIDATION,
        ],
        list: false,
        handler: |ctx| Box::pin(access_set(ctx)),
    },
];

async fn create(ctx: Ctx) -> CallResult {
    let mut input = ctx.input();
    let name = bounded_text(&mut input, "name", true, 255);
    let description = bounded_text(&mut input, "description", false, 255);
    let validation = input.flag("validation", false).unwrap_or(false);
    input.finish()?;
    let (name, description) = (name.expect("validated"), description.unwrap_or(""));
    in_transaction(&ctx.state.db, validation, async |tx| {
        Ok(id_json(store::roles::create(tx, name, description).await?))
    })
    .await
}

async fn access_set(ctx: Ctx) -> CallResult {
    let mut input = ctx.input();
    let role = input.required_int("role");
    let privilege = input.required_text("privilege").and_then(|name| {
        let parsed = Privilege::parse(name);
        if parsed.is_none() {
            input.error("privilege", "This is not a known privilege.");
        }
        parsed
    });
    let access = match input.required_int("access") {
        Some(0) => Some(None),
        Some(code) => match privilege::Access::from_code(code) {
            Some(access) => Some(Some(access)),
            None => {
                input.error("access", "This parameter must be 0, 1 or 2.");
                None
            }
        },
        None => None,
    };
    let validation = input.flag("validation", false).unwrap_or(false);
    if let Some(id) = role
        && !store::roles::exists(&ctx.state.db, id).await?
    {
        input.error("role", "This role does not exist.");
    }
    input.finish()?;
    let (role, privilege, access) =
        (role.expect("validated"), privilege.expect("validated"), access.expect("validated"));
    in_transaction(&ctx.state.db, validation, async |tx| {
        store::roles::set_access(tx, role, privilege, access).await?;
        Ok(Reply::Done)
    })
    .await
}

async fn list(ctx: Ctx) -> CallResult {
    let mut input = ctx.input();
    let (window, count) = input.list_window();
    input.finish()?;
    let db = &ctx.state.db;
    if count {
        return Ok(Reply::Data(json!({ "count": store::roles::count(db).await? })));
    }
    let rows = store::roles::list(db, &window).await?;
    Ok(Reply::Data(Value::Array(rows.into_iter().map(role_json).collect())))
}

fn role_json(role: store::roles::RoleRow) -> Value {
    let privileges: Map<String, Value> =
        role.privileges.iter().map(|(p, a)| (p.as_str().to_string(), Value::from(a.code()))).collect();
    json!({ "id": role.id, "name": role.name, "description": role.description, "privileges": privileges })
}
