//! audit/list: what was done, by whom, from where and when.

use serde::Serialize;
use serde_json::Value;

use super::{Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler, param::parse};
use crate::{
    base::{Count, Reply},
    domain::privilege::Privilege,
    store::{
        self, StoreError,
        audit::{AuditFilter, AuditRow},
    },
};

const PERSON: Param<i64> =
    Param::decided("person", Kind::Integer, "", "Only calls by this person (ID).", parse::integer);
const CUSTOMER: Param<i64> =
    Param::decided("customer", Kind::Integer, "", "Only calls acting in this customer.", parse::integer);
const CALL: Param<String> =
    Param::with_default("call", Kind::Text, String::new(), "Only this call, such as codes/create.", parse::text);
const SINCE: Param<i64> =
    Param::decided("since", Kind::Integer, "", "Only calls at or after this time (epoch seconds).", parse::integer);
const UNTIL: Param<i64> =
    Param::decided("until", Kind::Integer, "", "Only calls at or before this time (epoch seconds).", parse::integer);

pub const CALLS: &[CallSpec] = &[CallSpec {
    name: "audit/list",
    summary: "Lists the audit trail: one row per call that acted.",
    access: Access::Requires { any_of: &[Privilege::System], writes: false },
    params: &[&PERSON, &CUSTOMER, &CALL, &SINCE, &UNTIL],
    list: true,
    answer: super::Answer::Rows(super::answer::AUDIT),
    handler: handler!(Filter, list),
}];

struct Filter(AuditFilter);

impl Request for Filter {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        Ok(Some(Self(AuditFilter {
            person: r.given(&PERSON),
            customer: r.given(&CUSTOMER),
            call: r.get(&CALL).filter(|c| !c.is_empty()),
            since: r.given(&SINCE),
            until: r.given(&UNTIL),
        })))
    }
}

/// An audit row as answered: `object` is the JSON object of the identifying
/// parameters it was written with.
#[derive(Serialize)]
struct AuditView {
    id: i64,
    person: i64,
    username: String,
    customer: i64,
    client: String,
    call: String,
    object: Value,
    created: i64,
}

impl From<AuditRow> for AuditView {
    fn from(row: AuditRow) -> Self {
        // Rows written before objects were structured hold plain text.
        let object = serde_json::from_str(&row.object).unwrap_or(Value::String(row.object));
        Self {
            id: row.id,
            person: row.person,
            username: row.username,
            customer: row.customer,
            client: row.client,
            call: row.call,
            object,
            created: row.created,
        }
    }
}

async fn list(ctx: Ctx, Filter(filter): Filter) -> CallResult {
    if ctx.count {
        return Reply::data(&Count { count: store::audit::count(&ctx.db, &filter).await? });
    }
    let rows = store::audit::list(&ctx.db, &filter, &ctx.window).await?;
    Reply::data(&rows.into_iter().map(AuditView::from).collect::<Vec<_>>())
}
