//! Number classes, inbound groups and regions: system-wide objects that
//! numbers refer to. One implementation serves the three.

use super::param::Shape;
use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler,
    param::{
        common::{self, DESCRIPTION, NAME, NEW_DESCRIPTION, NEW_NAME},
        parse,
    },
    write::in_transaction,
};
use crate::{
    base::{ApiError, Count, Created, Message, Reply},
    domain::privilege::Privilege,
    domain::{destination::is_digits, money::Money},
    store::{
        self, StoreError,
        inventory::{CLASSES, Changes, ExtraChange, ExtraValue, INGROUPS, InventoryKind, REGIONS},
    },
};

const CREATE: Access = Access::Requires { any_of: &[Privilege::System], writes: true };
const LIST: Access = Access::Requires { any_of: &[Privilege::System], writes: false };

fn ingroup_code(v: &str) -> Result<String, Message> {
    if v.is_empty() || is_digits(v, 32) {
        Ok(v.to_string())
    } else {
        Err("This must be empty or 1 to 32 digits.".into())
    }
}

const RANK: Param<i64> = Param::with_default("rank", Kind::Integer, 1, "Rank, 1 to 10.", parse::integer).shaped(RANKS);
const SETUP: Param<Money> = Param::with_default(
    "setup",
    Kind::Text,
    Money::ZERO,
    "Price charged once when a number of the class is bought: a decimal with at most 4 places, such as 1.5.",
    parse::price,
);
const MONTHLY: Param<Money> = Param::with_default(
    "monthly",
    Kind::Text,
    Money::ZERO,
    "Price per month of holding a number of the class: a decimal with at most 4 places.",
    parse::price,
);
const INGROUP_CODE: Param<String> =
    Param::with_default("code", Kind::Text, String::new(), "Empty string or digits.", ingroup_code);

// An update's fields: absent keeps; an empty rank is the default, 1.
const ID: Param<i64> = common::id("ID of the object.");
const NEW_RANK: Param<i64> = Param::kept("rank", Kind::Integer, 1, "Rank, 1 to 10.", parse::integer).shaped(RANKS);
const RANKS: Shape = Shape::Range { min: 1, max: 10 };
const NEW_SETUP: Param<Money> = Param::kept(
    "setup",
    Kind::Text,
    Money::ZERO,
    "Price charged once when a number of the class is bought.",
    parse::price,
);
const NEW_MONTHLY: Param<Money> =
    Param::kept("monthly", Kind::Text, Money::ZERO, "Price per month of holding a number of the class.", parse::price);
const NEW_INGROUP_CODE: Param<String> =
    Param::kept("code", Kind::Text, String::new(), "Empty string or digits.", ingroup_code);

/// Which of the kinds' own columns a request reads.
const CLASS: u8 = 0;
const INGROUP: u8 = 1;
const REGION: u8 = 2;

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "classes/create",
        summary: "Creates a number class; answers its id.",
        access: CREATE,
        params: &[&NAME, &DESCRIPTION, &RANK, &SETUP, &MONTHLY],
        list: false,
        answer: super::Answer::Id,
        handler: handler!(InventoryNew<CLASS>, |ctx, new| create(ctx, new, &CLASSES)),
    },
    CallSpec {
        name: "classes/list",
        summary: "Lists the number classes.",
        access: LIST,
        params: &[],
        list: true,
        answer: super::Answer::Rows(super::answer::INVENTORY),
        handler: handler!((), |ctx, ()| list(ctx, &CLASSES)),
    },
    CallSpec {
        name: "classes/get",
        summary: "Gets one number class.",
        access: LIST,
        params: &[&ID],
        list: false,
        answer: super::Answer::Object(super::answer::INVENTORY),
        handler: handler!(InventoryRef, |ctx, r| get(ctx, r, &CLASSES)),
    },
    CallSpec {
        name: "classes/update",
        summary: "Changes a number class (absent fields keep their value).",
        access: CREATE,
        params: &[&ID, &NEW_NAME, &NEW_DESCRIPTION, &NEW_RANK, &NEW_SETUP, &NEW_MONTHLY],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(InventoryChange<CLASS>, |ctx, change| update(ctx, change, &CLASSES)),
    },
    CallSpec {
        name: "classes/delete",
        summary: "Deletes a number class; refused while numbers refer to it.",
        access: CREATE,
        params: &[&ID],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(InventoryRef, |ctx, r| delete(ctx, r, &CLASSES)),
    },
    CallSpec {
        name: "ingroups/create",
        summary: "Creates an inbound group; answers its id.",
        access: CREATE,
        params: &[&NAME, &DESCRIPTION, &INGROUP_CODE],
        list: false,
        answer: super::Answer::Id,
        handler: handler!(InventoryNew<INGROUP>, |ctx, new| create(ctx, new, &INGROUPS)),
    },
    CallSpec {
        name: "ingroups/list",
        summary: "Lists the inbound groups.",
        access: LIST,
        params: &[],
        list: true,
        answer: super::Answer::Rows(super::answer::INVENTORY),
        handler: handler!((), |ctx, ()| list(ctx, &INGROUPS)),
    },
    CallSpec {
        name: "ingroups/get",
        summary: "Gets one inbound group.",
        access: LIST,
        params: &[&ID],
        list: false,
        answer: super::Answer::Object(super::answer::INVENTORY),
        handler: handler!(InventoryRef, |ctx, r| get(ctx, r, &INGROUPS)),
    },
    CallSpec {
        name: "ingroups/update",
        summary: "Changes a inbound group (absent fields keep their value).",
        access: CREATE,
        params: &[&ID, &NEW_NAME, &NEW_DESCRIPTION, &NEW_INGROUP_CODE],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(InventoryChange<INGROUP>, |ctx, change| update(ctx, change, &INGROUPS)),
    },
    CallSpec {
        name: "ingroups/delete",
        summary: "Deletes a inbound group; refused while numbers refer to it.",
        access: CREATE,
        params: &[&ID],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(InventoryRef, |ctx, r| delete(ctx, r, &INGROUPS)),
    },
    CallSpec {
        name: "regions/create",
        summary: "Creates a region; answers its id.",
        access: CREATE,
        params: &[&NAME, &DESCRIPTION],
        list: false,
        answer: super::Answer::Id,
        handler: handler!(InventoryNew<REGION>, |ctx, new| create(ctx, new, &REGIONS)),
    },
    CallSpec {
        name: "regions/list",
        summary: "Lists the regions.",
        access: LIST,
        params: &[],
        list: true,
        answer: super::Answer::Rows(super::answer::INVENTORY),
        handler: handler!((), |ctx, ()| list(ctx, &REGIONS)),
    },
    CallSpec {
        name: "regions/get",
        summary: "Gets one region.",
        access: LIST,
        params: &[&ID],
        list: false,
        answer: super::Answer::Object(super::answer::INVENTORY),
        handler: handler!(InventoryRef, |ctx, r| get(ctx, r, &REGIONS)),
    },
    CallSpec {
        name: "regions/update",
        summary: "Changes a region (absent fields keep their value).",
        access: CREATE,
        params: &[&ID, &NEW_NAME, &NEW_DESCRIPTION],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(InventoryChange<REGION>, |ctx, change| update(ctx, change, &REGIONS)),
    },
    CallSpec {
        name: "regions/delete",
        summary: "Deletes a region; refused while numbers refer to it.",
        access: CREATE,
        params: &[&ID],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(InventoryRef, |ctx, r| delete(ctx, r, &REGIONS)),
    },
];

/// A new object of kind `KIND`, which reads only its own column's parameter.
struct InventoryNew<const KIND: u8> {
    name: String,
    description: String,
    extra: Extra,
}

enum Extra {
    None,
    Class { rank: i64, setup: Money, monthly: Money },
    Code(String),
}

impl<const KIND: u8> Request for InventoryNew<KIND> {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let name = r.get(&NAME);
        let description = r.get(&DESCRIPTION);
        let extra = match KIND {
            CLASS => {
                let (rank, setup, monthly) = (r.get(&RANK), r.get(&SETUP), r.get(&MONTHLY));
                (|| Some(Extra::Class { rank: rank?, setup: setup?, monthly: monthly? }))()
            }
            INGROUP => r.get(&INGROUP_CODE).map(Extra::Code),
            _ => Some(Extra::None),
        };
        Ok((|| Some(Self { name: name?, description: description?, extra: extra? }))())
    }
}

async fn create<const KIND: u8>(ctx: Ctx, new: InventoryNew<KIND>, kind: &'static InventoryKind) -> CallResult {
    let extra = match &new.extra {
        Extra::None => ExtraValue::None,
        Extra::Class { rank, .. } => ExtraValue::Integer(*rank),
        Extra::Code(code) => ExtraValue::Text(code),
    };
    in_transaction(&ctx, async |tx| {
        let id = store::inventory::create(tx, kind, &new.name, &new.description, extra).await?;
        if let Extra::Class { setup, monthly, .. } = new.extra {
            store::inventory::set_prices(tx, id, setup, monthly).await?;
        }
        Reply::data(&Created { id })
    })
    .await
}

async fn list(ctx: Ctx, kind: &'static InventoryKind) -> CallResult {
    if ctx.count {
        return Reply::data(&Count { count: store::inventory::count(&ctx.db, kind).await? });
    }
    Reply::data(&store::inventory::list(&ctx.db, kind, &ctx.window).await?)
}

/// `id` of an object the call reads or deletes.
struct InventoryRef(i64);

impl Request for InventoryRef {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        Ok(r.get(&ID).map(Self))
    }
}

/// An update of an object of kind `KIND`, which reads only its own column's parameters.
struct InventoryChange<const KIND: u8> {
    id: i64,
    changes: Changes,
}

impl<const KIND: u8> Request for InventoryChange<KIND> {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let id = r.get(&ID);
        let mut changes =
            Changes { name: r.given(&NEW_NAME), description: r.given(&NEW_DESCRIPTION), ..Changes::default() };
        let mut keys = vec![NEW_NAME.name, NEW_DESCRIPTION.name];
        match KIND {
            CLASS => {
                changes.extra = r.given(&NEW_RANK).map(ExtraChange::Integer);
                changes.setup = r.given(&NEW_SETUP);
                changes.monthly = r.given(&NEW_MONTHLY);
                keys.extend([NEW_RANK.name, NEW_SETUP.name, NEW_MONTHLY.name]);
            }
            INGROUP => {
                changes.extra = r.given(&NEW_INGROUP_CODE).map(ExtraChange::Text);
                keys.push(NEW_INGROUP_CODE.name);
            }
            _ => {}
        }
        let fine = keys.iter().all(|key| r.is_ok(key));
        Ok(id.filter(|_| fine).map(|id| Self { id, changes }))
    }
}

async fn get(ctx: Ctx, InventoryRef(id): InventoryRef, kind: &'static InventoryKind) -> CallResult {
    Reply::data(&store::inventory::get(&ctx.db, kind, id).await?.ok_or(ApiError::NotFoundNamed(kind.missing))?)
}

async fn update<const KIND: u8>(ctx: Ctx, change: InventoryChange<KIND>, kind: &'static InventoryKind) -> CallResult {
    in_transaction(&ctx, async |tx| {
        if store::inventory::update(tx, kind, change.id, &change.changes).await? {
            Ok(Reply::Done)
        } else {
            Err(ApiError::NotFoundNamed(kind.missing))
        }
    })
    .await
}

/// Refused while numbers refer to the object. On PostgreSQL the row is locked
/// before the count: a `numbers/system/create` or `update` naming it holds it
/// (`FOR KEY SHARE`) until it commits, so either it commits first and is
/// counted, or it waits for the delete and then finds the object gone.
async fn delete(ctx: Ctx, InventoryRef(id): InventoryRef, kind: &'static InventoryKind) -> CallResult {
    in_transaction(&ctx, async |tx| {
        if !store::inventory::lock(tx, kind, id).await? {
            return Err(ApiError::NotFoundNamed(kind.missing));
        }
        match store::inventory::numbers_using(tx, kind, id).await? {
            0 => {}
            n => {
                let used = format!("This {} is used by {}.", kind.noun, super::how_many(n, "number", "numbers"));
                return Err(ApiError::invalid(ID.name, &used));
            }
        }
        store::inventory::delete(tx, kind, id).await?;
        Ok(Reply::Done)
    })
    .await
}
