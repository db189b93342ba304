//! Roles: named sets of privileges.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler,
    param::{
        Documented,
        common::{DESCRIPTION, NAME},
        parse,
    },
    write::in_transaction,
};
use crate::{
    base::{Count, Created, Reply},
    domain::privilege::{self, Privilege},
    store::{self, StoreError, roles::RoleRow},
};

const SYSTEM_WRITES: Access = Access::Requires { any_of: &[Privilege::System], writes: true };

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
    });

impl Documented for Privilege {
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
        handler: handler!(RoleNew, create),
    },
    CallSpec {
        name: "roles/list",
        summary: "Lists the roles with the privileges each holds (1 full, 2 read-only).",
        access: Access::Requires { any_of: &[Privilege::User], writes: false },
        params: &[],
        list: true,
        handler: handler!((), list),
    },
    CallSpec {
        name: "roles/access/set",
        summary: "Sets how a role holds a privilege: 0 not at all, 1 full, 2 read-only (get and list calls only).",
        access: SYSTEM_WRITES,
        params: &[&ROLE, &PRIVILEGE, &ACCESS],
        list: false,
        handler: handler!(AccessSet, access_set),
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

async fn create(ctx: Ctx, new: RoleNew) -> CallResult {
    in_transaction(&ctx, async |tx| {
        Reply::data(&Created { id: store::roles::create(tx, &new.name, &new.description).await? })
    })
    .await
}

async fn access_set(ctx: Ctx, set: AccessSet) -> CallResult {
    in_transaction(&ctx, async |tx| {
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
