//! Roles: named sets of privileges.

use std::collections::BTreeMap;

use serde::Serialize;

use super::param::Shape;
use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler,
    param::{
        Documented,
        common::{self, DESCRIPTION, NAME, NEW_DESCRIPTION, NEW_NAME},
        parse,
    },
    write::{in_transaction, in_transaction_changing_logins},
};
use crate::{
    base::{ApiError, Count, Created, Reply},
    domain::privilege::{self, Privilege},
    store::{self, StoreError, roles::RoleRow},
};

const SYSTEM_WRITES: Access = Access::Requires { any_of: &[Privilege::System], writes: true };

const ID: Param<i64> = common::id("ID of the role.");
const NO_ROLE: ApiError = ApiError::NotFoundNamed("The role does not exist.");
/// Roles 1-4 (system owner, reseller, administrator, user) are made at first
/// start and stand for the built-in privilege levels.
const BUILT_IN: std::ops::RangeInclusive<i64> = 1..=4;

const ROLE: Param<i64> = Param::required("role", Kind::Integer, "ID of the role.", parse::integer);
const PRIVILEGE: Param<Privilege> =
    Param::required("privilege", Kind::Text, "user, administrator, wholesale, commerce or system.", |v| {
        Privilege::parse(v).ok_or("This is not a known privilege.".into())
    });
/// `None`: the role does not hold the privilege.
const ACCESS: Param<Option<privilege::Access>> =
    Param::required("access", Kind::Integer, "0 none, 1 full, 2 read-only.", |v| match parse::integer(v)? {
        0 => Ok(None),
        code => privilege::Access::from_code(code).map(Some).ok_or("This parameter must be 0, 1 or 2.".into()),
    })
    .shaped(Shape::Range { min: 0, max: 2 });

impl Documented for Privilege {
    const WORDS: Option<&'static [&'static str]> = Some(&Privilege::WORDS);

    fn documented(&self) -> serde_json::Value {
        self.as_str().into()
    }
}

impl Documented for Option<privilege::Access> {
    fn documented(&self) -> serde_json::Value {
        self.map_or(0, privilege::Access::code).into()
    }
}

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "roles/create",
        summary: "Creates a role with no privileges; answers its id.",
        access: SYSTEM_WRITES,
        params: &[&NAME, &DESCRIPTION],
        list: false,
        answer: super::Answer::Id,
        handler: handler!(RoleNew, create),
    },
    CallSpec {
        name: "roles/list",
        summary: "Lists the roles with the privileges each holds (1 full, 2 read-only).",
        access: Access::Requires { any_of: &[Privilege::User], writes: false },
        params: &[],
        list: true,
        answer: super::Answer::Rows(super::answer::ROLE),
        handler: handler!((), list),
    },
    CallSpec {
        name: "roles/access/set",
        summary: "Sets how a role holds a privilege: 0 not at all, 1 full, 2 read-only (get and list calls only). The caller's own role can be raised but not lowered.",
        access: SYSTEM_WRITES,
        params: &[&ROLE, &PRIVILEGE, &ACCESS],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(AccessSet, access_set),
    },
    CallSpec {
        name: "roles/get",
        summary: "Gets a role with the privileges it holds.",
        access: Access::Requires { any_of: &[Privilege::User], writes: false },
        params: &[&ID],
        list: false,
        answer: super::Answer::Object(super::answer::ROLE),
        handler: handler!(RoleRef, get),
    },
    CallSpec {
        name: "roles/update",
        summary: "Changes a role's name or description (absent keeps).",
        access: SYSTEM_WRITES,
        params: &[&ID, &NEW_NAME, &NEW_DESCRIPTION],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(RoleChange, update),
    },
    CallSpec {
        name: "roles/delete",
        summary: "Deletes a role with its privileges; refused while a person holds it. Roles 1-4 cannot be deleted.",
        access: SYSTEM_WRITES,
        params: &[&ID],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(RoleGone, delete),
    },
];

/// A role as answered: its privileges by name, 1 full and 2 read-only.
#[derive(Serialize)]
struct RoleView {
    id: i64,
    name: String,
    description: String,
    privileges: BTreeMap<&'static str, i64>,
}

impl From<RoleRow> for RoleView {
    fn from(role: RoleRow) -> Self {
        let privileges = role.privileges.iter().map(|(p, a)| (p.as_str(), a.code())).collect();
        Self { id: role.id, name: role.name, description: role.description, privileges }
    }
}

struct RoleNew {
    name: String,
    description: String,
}

impl Request for RoleNew {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let name = r.get(&NAME);
        let description = r.get(&DESCRIPTION);
        Ok((|| Some(Self { name: name?, description: description? }))())
    }
}

struct AccessSet {
    role: i64,
    privilege: Privilege,
    access: Option<privilege::Access>,
}

impl Request for AccessSet {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let role = r.get(&ROLE);
        let privilege = r.get(&PRIVILEGE);
        let access = r.get(&ACCESS);
        if let Some(id) = role
            && !store::roles::exists(r.db, id).await?
        {
            r.error(ROLE.name, "This role does not exist.");
        }
        Ok((|| Some(Self { role: role?, privilege: privilege?, access: access? }))())
    }
}

/// Whether holding a privilege as `now`, then as `then`, is less access.
fn lowers(now: Option<privilege::Access>, then: Option<privilege::Access>) -> bool {
    use privilege::Access::{Full, ReadOnly};
    matches!((now, then), (Some(Full), Some(ReadOnly) | None) | (Some(ReadOnly), None))
}

struct RoleRef(i64);

impl Request for RoleRef {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        Ok(r.get(&ID).map(Self))
    }
}

struct RoleChange {
    id: i64,
    name: Option<String>,
    description: Option<String>,
}

impl Request for RoleChange {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let id = r.get(&ID);
        let name = r.given(&NEW_NAME);
        let description = r.given(&NEW_DESCRIPTION);
        let fine = r.is_ok(NEW_NAME.name) && r.is_ok(NEW_DESCRIPTION.name);
        Ok(id.filter(|_| fine).map(|id| Self { id, name, description }))
    }
}

struct RoleGone(i64);

impl Request for RoleGone {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let id = r.get(&ID);
        if id.is_some_and(|id| BUILT_IN.contains(&id)) {
            r.error(ID.name, "Roles 1 to 4 are built in and cannot be deleted.");
            return Ok(None);
        }
        Ok(id.map(Self))
    }
}

async fn get(ctx: Ctx, RoleRef(id): RoleRef) -> CallResult {
    Reply::data(&RoleView::from(store::roles::get(&ctx.db, id).await?.ok_or(NO_ROLE)?))
}

async fn update(ctx: Ctx, change: RoleChange) -> CallResult {
    in_transaction_changing_logins(&ctx, async |tx| {
        let found = store::roles::update(tx, change.id, change.name.as_deref(), change.description.as_deref()).await?;
        if found { Ok(Reply::Done) } else { Err(NO_ROLE) }
    })
    .await
}

async fn delete(ctx: Ctx, RoleGone(id): RoleGone) -> CallResult {
    in_transaction_changing_logins(&ctx, async |tx| {
        // Locked first (PostgreSQL), so the count is of what the delete leaves behind.
        if !store::roles::lock(tx, id).await? {
            return Err(NO_ROLE);
        }
        match store::roles::holders(tx, id).await? {
            0 => {}
            n => {
                let held = format!("This role is held by {}.", super::how_many(n, "person", "people"));
                return Err(ApiError::invalid(ID.name, &held));
            }
        }
        store::roles::delete(tx, id).await?;
        Ok(Reply::Done)
    })
    .await
}

async fn create(ctx: Ctx, new: RoleNew) -> CallResult {
    in_transaction(&ctx, async |tx| {
        Reply::data(&Created { id: store::roles::create(tx, &new.name, &new.description).await? })
    })
    .await
}

async fn access_set(ctx: Ctx, set: AccessSet) -> CallResult {
    let caller = ctx.caller()?;
    // Lowering the role one acts under takes away the access that made the
    // change: the only system owner could lock everyone out with one call.
    // Someone acting under another role must do it. The role is read afresh:
    // the login may come from a cache that has not yet heard of a new role.
    let own_role = store::people::get(&ctx.db, caller.person).await?.map_or(caller.role, |me| me.role);
    let held = if own_role == caller.role {
        caller.privileges.get(set.privilege)
    } else {
        store::roles::privileges(&ctx.db, own_role).await?.get(set.privilege)
    };
    if set.role == own_role && lowers(held, set.access) {
        return Err(ApiError::invalid(
            ROLE.name,
            "This is your own role: its access can be lowered only by someone acting under another role.",
        ));
    }
    in_transaction_changing_logins(&ctx, async |tx| {
        // Taking full `system` from a role must leave someone who holds it,
        // as people/update and people/delete insist (owners are locked, so
        // those calls and this one queue).
        if set.privilege == Privilege::System && set.access != Some(privilege::Access::Full) {
            let owners = store::people::system_owners(tx).await?;
            if !owners.is_empty() && owners.iter().all(|owner| owner.role == set.role) {
                return Err(ApiError::invalid(
                    ACCESS.name,
                    "This would leave no system owner: give another person a role with full system access first.",
                ));
            }
        }
        store::roles::set_access(tx, set.role, set.privilege, set.access).await?;
        Ok(Reply::Done)
    })
    .await
}

async fn list(ctx: Ctx, (): ()) -> CallResult {
    if ctx.count {
        return Reply::data(&Count { count: store::roles::count(&ctx.db).await? });
    }
    let rows = store::roles::list(&ctx.db, &ctx.window).await?;
    Reply::data(&rows.into_iter().map(RoleView::from).collect::<Vec<_>>())
}
