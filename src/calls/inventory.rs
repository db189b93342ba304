//! Number classes, inbound groups and regions: system-wide objects that
//! numbers refer to. One implementation serves the three.

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler,
    param::{
        common::{DESCRIPTION, NAME},
        parse,
    },
    write::in_transaction,
};
use crate::{
    base::{Count, Created, Reply},
    domain::privilege::Privilege,
    domain::{destination::is_digits, money::Money},
    store::{
        self, StoreError,
        inventory::{CLASSES, ExtraValue, INGROUPS, InventoryKind, REGIONS},
    },
};

const CREATE: Access = Access::Requires { any_of: &[Privilege::System], writes: true };
const LIST: Access = Access::Requires { any_of: &[Privilege::System], writes: false };

const RANK: Param<i64> =
    Param::with_default("rank", Kind::Integer, 1, "Rank, 1 to 10.", |v| match parse::integer(v)? {
        n if (1..=10).contains(&n) => Ok(n),
        _ => Err("This must be 1 to 10.".into()),
    });
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
    Param::with_default("code", Kind::Text, String::new(), "Empty string or digits.", |v| {
        if v.is_empty() || is_digits(v, 32) {
            Ok(v.to_string())
        } else {
            Err("This must be empty or 1 to 32 digits.".into())
        }
    });

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
        handler: handler!(InventoryNew<CLASS>, |ctx, new| create(ctx, new, &CLASSES)),
    },
    CallSpec {
        name: "classes/list",
        summary: "Lists the number classes.",
        access: LIST,
        params: &[],
        list: true,
        handler: handler!((), |ctx, ()| list(ctx, &CLASSES)),
    },
    CallSpec {
        name: "ingroups/create",
        summary: "Creates an inbound group; answers its id.",
        access: CREATE,
        params: &[&NAME, &DESCRIPTION, &INGROUP_CODE],
        list: false,
        handler: handler!(InventoryNew<INGROUP>, |ctx, new| create(ctx, new, &INGROUPS)),
    },
    CallSpec {
        name: "ingroups/list",
        summary: "Lists the inbound groups.",
        access: LIST,
        params: &[],
        list: true,
        handler: handler!((), |ctx, ()| list(ctx, &INGROUPS)),
    },
    CallSpec {
        name: "regions/create",
        summary: "Creates a region; answers its id.",
        access: CREATE,
        params: &[&NAME, &DESCRIPTION],
        list: false,
        handler: handler!(InventoryNew<REGION>, |ctx, new| create(ctx, new, &REGIONS)),
    },
    CallSpec {
        name: "regions/list",
        summary: "Lists the regions.",
        access: LIST,
        params: &[],
        list: true,
        handler: handler!((), |ctx, ()| list(ctx, &REGIONS)),
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
