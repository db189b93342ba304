//! Roles: named sets of privileges.

use serde_json::{Map, Value, json};

use super::{Access, CallResult, CallSpec, Ctx};
use crate::{auth::privilege::Privilege, http::envelope::Reply, store};

pub const CALLS: &[CallSpec] = &[CallSpec {
    name: "roles/list",
    summary: "Lists the roles with the privileges each holds (1 full, 2 read-only).",
    access: Access::Requires { any_of: &[Privilege::User], writes: false },
    params: &[],
    list: true,
    handler: |ctx| Box::pin(list(ctx)),
}];

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
