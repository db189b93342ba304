//! Music classes, record groups and time groups: what feature codes refer to.
//! One implementation serves the three; music classes and time groups may be
//! shared with every customer, which needs the system privilege.

use serde::Serialize;

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler,
    param::{
        common::{self, CUSTOMER, DESCRIPTION, NAME, NEW_DESCRIPTION, NEW_NAME},
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
const NEW_SHARED: Param<bool> =
    Param::kept("shared", Kind::Flag, false, "1 to share with every customer, 0 not to (system only).", parse::flag);
const ID: Param<i64> = common::id("ID of the object.");

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "music/create",
        summary: "Creates a music class (music on hold); answers its id.",
        access: CREATE,
        params: &[&NAME, &CUSTOMER, &DESCRIPTION, &SHARED],
        list: false,
        answer: super::Answer::Id,
        handler: handler!(GroupNew<true>, |ctx, new| create(ctx, new, &MUSIC)),
    },
    CallSpec {
        name: "music/list",
        summary: "Lists a customer's music classes and the shared ones.",
        access: LIST,
        params: &[&CUSTOMER],
        list: true,
        answer: super::Answer::Rows(super::answer::GROUP),
        handler: handler!(InCustomer, |ctx, customer| list(ctx, customer, &MUSIC)),
    },
    CallSpec {
        name: "music/get",
        summary: "Gets one of a customer's music classes or a shared one.",
        access: LIST,
        params: &[&ID, &CUSTOMER],
        list: false,
        answer: super::Answer::Object(super::answer::GROUP),
        handler: handler!(GroupRef, |ctx, r| get(ctx, r, &MUSIC)),
    },
    CallSpec {
        name: "music/update",
        summary: "Changes one of a customer's music classes (absent fields keep their value); a shared one, or sharing, needs system.",
        access: CREATE,
        params: &[&ID, &CUSTOMER, &NEW_NAME, &NEW_DESCRIPTION, &NEW_SHARED],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(GroupChange<true>, |ctx, change| update(ctx, change, &MUSIC)),
    },
    CallSpec {
        name: "music/delete",
        summary: "Deletes one of a customer's music classes (a shared one needs system); refused while feature codes or numbers refer to it.",
        access: CREATE,
        params: &[&ID, &CUSTOMER],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(GroupRef, |ctx, r| delete(ctx, r, &MUSIC)),
    },
    CallSpec {
        name: "recording/groups/create",
        summary: "Creates a record group; answers its id.",
        access: CREATE,
        params: &[&NAME, &CUSTOMER, &DESCRIPTION],
        list: false,
        answer: super::Answer::Id,
        handler: handler!(GroupNew<false>, |ctx, new| create(ctx, new, &RECORD_GROUPS)),
    },
    CallSpec {
        name: "recording/groups/list",
        summary: "Lists a customer's record groups.",
        access: LIST,
        params: &[&CUSTOMER],
        list: true,
        answer: super::Answer::Rows(super::answer::GROUP),
        handler: handler!(InCustomer, |ctx, customer| list(ctx, customer, &RECORD_GROUPS)),
    },
    CallSpec {
        name: "recording/groups/get",
        summary: "Gets one of a customer's record groups.",
        access: LIST,
        params: &[&ID, &CUSTOMER],
        list: false,
        answer: super::Answer::Object(super::answer::GROUP),
        handler: handler!(GroupRef, |ctx, r| get(ctx, r, &RECORD_GROUPS)),
    },
    CallSpec {
        name: "recording/groups/update",
        summary: "Changes one of a customer's record groups (absent fields keep their value).",
        access: CREATE,
        params: &[&ID, &CUSTOMER, &NEW_NAME, &NEW_DESCRIPTION],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(GroupChange<false>, |ctx, change| update(ctx, change, &RECORD_GROUPS)),
    },
    CallSpec {
        name: "recording/groups/delete",
        summary: "Deletes one of a customer's record groups; refused while feature codes or numbers refer to it.",
        access: CREATE,
        params: &[&ID, &CUSTOMER],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(GroupRef, |ctx, r| delete(ctx, r, &RECORD_GROUPS)),
    },
    CallSpec {
        name: "timegroups/create",
        summary: "Creates a time group; answers its id.",
        access: CREATE,
        params: &[&NAME, &CUSTOMER, &DESCRIPTION, &SHARED],
        list: false,
        answer: super::Answer::Id,
        handler: handler!(GroupNew<true>, |ctx, new| create(ctx, new, &TIME_GROUPS)),
    },
    CallSpec {
        name: "timegroups/list",
        summary: "Lists a customer's time groups and the shared ones.",
        access: LIST,
        params: &[&CUSTOMER],
        list: true,
        answer: super::Answer::Rows(super::answer::GROUP),
        handler: handler!(InCustomer, |ctx, customer| list(ctx, customer, &TIME_GROUPS)),
    },
    CallSpec {
        name: "timegroups/get",
        summary: "Gets one of a customer's time groups or a shared one.",
        access: LIST,
        params: &[&ID, &CUSTOMER],
        list: false,
        answer: super::Answer::Object(super::answer::GROUP),
        handler: handler!(GroupRef, |ctx, r| get(ctx, r, &TIME_GROUPS)),
    },
    CallSpec {
        name: "timegroups/update",
        summary: "Changes one of a customer's time groups (absent fields keep their value); a shared one, or sharing, needs system.",
        access: CREATE,
        params: &[&ID, &CUSTOMER, &NEW_NAME, &NEW_DESCRIPTION, &NEW_SHARED],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(GroupChange<true>, |ctx, change| update(ctx, change, &TIME_GROUPS)),
    },
    CallSpec {
        name: "timegroups/delete",
        summary: "Deletes one of a customer's time groups (a shared one needs system); refused while feature codes or numbers refer to it.",
        access: CREATE,
        params: &[&ID, &CUSTOMER],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(GroupRef, |ctx, r| delete(ctx, r, &TIME_GROUPS)),
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

/// An object named by `id`, as `customer` (default the caller's, seen) sees it.
struct GroupRef {
    id: i64,
    customer: i64,
}

impl Request for GroupRef {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let id = r.get(&ID);
        let customer = r.seen_customer(&CUSTOMER).await?;
        Ok(id.filter(|_| r.is_ok(CUSTOMER.name)).map(|id| Self { id, customer }))
    }
}

/// An update; `SHAREABLE` kinds also read `shared`.
struct GroupChange<const SHAREABLE: bool> {
    at: GroupRef,
    name: Option<String>,
    description: Option<String>,
    shared: Option<bool>,
}

impl<const SHAREABLE: bool> Request for GroupChange<SHAREABLE> {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let at = GroupRef::read(r).await?;
        let name = r.given(&NEW_NAME);
        let description = r.given(&NEW_DESCRIPTION);
        let shared = if SHAREABLE { r.given(&NEW_SHARED) } else { None };
        let fine = [NEW_NAME.name, NEW_DESCRIPTION.name, NEW_SHARED.name].iter().all(|key| r.is_ok(key));
        Ok(at.filter(|_| fine).map(|at| Self { at, name, description, shared }))
    }
}

/// The object `at` names, if its customer sees it (404 otherwise), and
/// whether the caller may change it: a shared object only with system (402).
async fn changeable(ctx: &Ctx, at: &GroupRef, kind: &'static GroupKind) -> Result<GroupRow, ApiError> {
    let row =
        store::groups::get(&ctx.db, kind, at.customer, at.id).await?.ok_or(ApiError::NotFoundNamed(kind.missing))?;
    if (row.shared == 1 || row.customer != at.customer) && !ctx.caller()?.privileges.has_full(Privilege::System) {
        return Err(ApiError::RoleForbids);
    }
    Ok(row)
}

async fn get(ctx: Ctx, at: GroupRef, kind: &'static GroupKind) -> CallResult {
    let row =
        store::groups::get(&ctx.db, kind, at.customer, at.id).await?.ok_or(ApiError::NotFoundNamed(kind.missing))?;
    Reply::data(&GroupView::new(kind, row))
}

async fn update<const SHAREABLE: bool>(
    ctx: Ctx,
    change: GroupChange<SHAREABLE>,
    kind: &'static GroupKind,
) -> CallResult {
    changeable(&ctx, &change.at, kind).await?;
    // Sharing or unsharing is system's, as when creating.
    if change.shared.is_some() && !ctx.caller()?.privileges.has_full(Privilege::System) {
        return Err(ApiError::RoleForbids);
    }
    in_transaction(&ctx, async |tx| {
        let found = store::groups::update(
            tx,
            kind,
            change.at.id,
            change.name.as_deref(),
            change.description.as_deref(),
            change.shared,
        )
        .await?;
        if found { Ok(Reply::Done) } else { Err(ApiError::NotFoundNamed(kind.missing)) }
    })
    .await
}

/// Refused while feature codes or numbers refer to the object (of any
/// customer: a shared one serves many). On PostgreSQL the row is locked
/// before counting: a code or number naming it holds it (`FOR KEY SHARE`)
/// until it commits, so either it is counted or it finds the object gone.
async fn delete(ctx: Ctx, at: GroupRef, kind: &'static GroupKind) -> CallResult {
    changeable(&ctx, &at, kind).await?;
    in_transaction(&ctx, async |tx| {
        if !store::groups::lock(tx, kind, at.id).await? {
            return Err(ApiError::NotFoundNamed(kind.missing));
        }
        let (codes, numbers) = store::groups::users(tx, kind, at.id).await?;
        if codes + numbers > 0 {
            let used = format!(
                "This {} is used by {} and {}.",
                kind.noun,
                super::how_many(codes, "feature code", "feature codes"),
                super::how_many(numbers, "number", "numbers")
            );
            return Err(ApiError::invalid(ID.name, &used));
        }
        store::groups::delete(tx, kind, at.id).await?;
        Ok(Reply::Done)
    })
    .await
}
