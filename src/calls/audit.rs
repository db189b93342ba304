//! audit/list: what was done, by whom, from where and when.

use serde_json::{Value, json};

use super::{Access, CallResult, CallSpec, Ctx, Kind, Param};
use crate::{
    auth::privilege::Privilege,
    http::envelope::Reply,
    store::{self, audit::AuditFilter},
};

pub const CALLS: &[CallSpec] = &[CallSpec {
    name: "audit/list",
    summary: "Lists the audit trail: one row per call that acted.",
    access: Access::Requires { any_of: &[Privilege::System], writes: false },
    params: &[
        Param::optional("person", Kind::Integer, "", "Only calls by this person (ID)."),
        Param::optional("customer", Kind::Integer, "", "Only calls acting in this customer."),
        Param::optional("call", Kind::Text, "", "Only this call, such as codes/create."),
        Param::optional("since", Kind::Integer, "", "Only calls at or after this time (epoch seconds)."),
        Param::optional("until", Kind::Integer, "", "Only calls at or before this time (epoch seconds)."),
    ],
    list: true,
    handler: |ctx| Box::pin(list(ctx)),
}];

async fn list(ctx: Ctx) -> CallResult {
    let mut input = ctx.input();
    let filter = AuditFilter {
        person: input.filter_int("person"),
        customer: input.filter_int("customer"),
        call: input.text("call").filter(|c| !c.is_empty()).map(str::to_string),
        since: input.filter_int("since"),
        until: input.filter_int("until"),
    };
    let (window, count) = input.list_window();
    input.finish()?;
    if count {
        let all = store::audit::list(&ctx.state.db, &filter, &store::ListWindow::default()).await?;
        return Ok(Reply::Data(json!({ "count": all.len() })));
    }
    let rows = store::audit::list(&ctx.state.db, &filter, &window).await?;
    Ok(Reply::Data(Value::Array(rows.into_iter().map(|r| json!(r)).collect())))
}
