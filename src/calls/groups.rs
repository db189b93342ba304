//! Music classes, record groups and time groups: what feature codes refer to.
//! One implementation serves the three; music classes and time groups may be
//! shared with every customer, which needs the system privilege.

use serde::Serialize;

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler,
    param::{
        common::{CUSTOMER, DESCRIPTION, NAME},
        parse,
    },
    people::InCustomer,
    write::in_transaction,
};
use crate::{
    base::{ApiError, Count, Created, Reply},
    domain::privilege::Privilege,
    store::{
        self, StoreError,
        groups::{GroupKind, GroupRow, MUSIC, RECORD_GROUPS, TIME_GROUPS},
    },
};

const CREATE: Access = Access::Requires { any_of: &[Privilege::Administrator], writes: true };
const LIST: Access = Access::Requires { any_of: &[Privilege::User], writes: false };

const SHARED: Param<bool> =
    Param::with_default("shared", Kind::Flag, false, "1 to share with every customer (system only).", parse::flag);

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "music/create",
        summary: "Creates a music class (music on hold); answers its id.",
        access: CREATE,
        params: &[&NAME, &CUSTOMER, &DESCRIPTION, &SHARED],
        list: false,
        handler: handler!(GroupNew<true>, |ctx, new| create(ctx, new, &MUSIC)),
    },
    CallSpec {
        name: "music/list",
        summary: "Lists a customer's music classes and the shared ones.",
        access: LIST,
        params: &[&CUSTOMER],
        list: true,
        handler: handler!(InCustomer, |ctx, customer| list(ctx, customer, &MUSIC)),
    },
    CallSpec {
        name: "recording/groups/create",
        summary: "Creates a record group; answers its id.",
        access: CREATE,
        params: &[&NAME, &CUSTOMER, &DESCRIPTION],
        list: false,
        handler: handler!(GroupNew<false>, |ctx, new| create(ctx, new, &RECORD_GROUPS)),
    },
    CallSpec {
        name: "recording/groups/list",
        summary: "Lists a customer's record groups.",
        access: LIST,
        params: &[&CUSTOMER],
        list: true,
        handler: handler!(InCustomer, |ctx, customer| list(ctx, customer, &RECORD_GROUPS)),
    },
    CallSpec {
        name: "timegroups/create",
        summary: "Creates a time group; answers its id.",
        access: CREATE,
        params: &[&NAME, &CUSTOMER, &DESCRIPTION, &SHARED],
        list: false,
        handler: handler!(GroupNew<true>, |ctx, new| create(ctx, new, &TIME_GROUPS)),
    },
    CallSpec {
        name: "timegroups/list",
        summary: "Lists a customer's time groups and the shared ones.",
        access: LIST,
        params: &[&CUSTOMER],
        list: true,
        handler: handler!(InCustomer, |ctx, customer| list(ctx, customer, &TIME_GROUPS)),
    },
];

/// A new group; `SHAREABLE` kinds also read `shared`.
struct GroupNew<const SHAREABLE: bool> {
    name: String,
    customer: i64,
    description: String,
    shared: bool,
}

impl<const SHAREABLE: bool> Request for GroupNew<SHAREABLE> {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let name = r.get(&NAME);
        let customer = r.seen_customer(&CUSTOMER).await?;
        let description = r.get(&DESCRIPTION);
        let shared = if SHAREABLE { r.get(&SHARED) } else { Some(false) };
        Ok((|| Some(Self { name: name?, customer, description: description?, shared: shared? }))())
    }
}

/// A group as answered; `shared` only for kinds that can be shared.
#[derive(Serialize)]
struct GroupView {
    id: i64,
    customer: i64,
    name: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    shared: Option<i64>,
    created: i64,
}

impl GroupView {
    fn new(kind: &GroupKind, row: GroupRow) -> Self {
        Self {
            id: row.id,
            customer: row.customer,
            name: row.name,
            description: row.description,
            shared: kind.shareable.then_some(row.shared),
            created: row.created,
        }
    }
}

async fn create<const SHAREABLE: bool>(ctx: Ctx, new: GroupNew<SHAREABLE>, kind: &'static GroupKind) -> CallResult {
    if new.shared && !ctx.caller()?.privileges.has_full(Privilege::System) {
        return Err(ApiError::RoleForbids);
    }
    in_transaction(&ctx, async |tx| {
        let id = store::groups::create(tx, kind, new.customer, &new.name, &new.description, new.shared).await?;
        Reply::data(&Created { id })
    })
    .await
}

async fn list(ctx: Ctx, InCustomer(customer): InCustomer, kind: &'static GroupKind) -> CallResult {
    if ctx.count {
        return Reply::data(&Count { count: store::groups::count(&ctx.db, kind, customer).await? });
    }
    let rows = store::groups::list(&ctx.db, kind, customer, &ctx.window).await?;
    Reply::data(&rows.into_iter().map(|row| GroupView::new(kind, row)).collect::<Vec<_>>())
}
