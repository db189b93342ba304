//! Rate plans: per-feature limits on what a customer may hold.

use serde::Serialize;

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler,
    param::{common::NAME, parse},
    write::in_transaction,
};
use crate::{
    auth::Caller,
    base::{ApiError, Count, Created, Reply},
    domain::privilege::Privilege,
    store::{
        self, StoreError,
        plans::{Feature, FeatureLimit, PlanScope},
    },
};

const PLAN: Param<i64> = Param::required("plan", Kind::Integer, "ID of the rate plan.", parse::integer);
const FEATURE: Param<Feature> = Param::required(
    "feature",
    Kind::Text,
    "Feature key: \"codes\", \"numbers\", \"people\" or \"customers\" (direct child customers, counted against the parent's plan).",
    |v| Feature::parse(v).ok_or("This is not a known feature.".into()),
);
const MAXIMUM: Param<i64> =
    Param::with_default("maximum", Kind::Integer, -1, "-1 for no limit, 0 to forbid, N for at most N.", |v| {
        match parse::integer(v)? {
            n if n >= -1 => Ok(n),
            _ => Err("This parameter must be -1 or more.".into()),
        }
    });
const INCLUDED: Param<i64> = Param::with_default(
    "included",
    Kind::Integer,
    0,
    "How many are included in the plan's price.",
    parse::non_negative,
);

/// The customer that owns a new plan.
const OWNER: Param<i64> = Param::decided(
    "customer",
    Kind::Integer,
    "Customer of authentication user.",
    "ID of the customer that owns the plan (one the caller may act in).",
    parse::integer,
);

const COMMERCE_WRITES: Access = Access::Requires { any_of: &[Privilege::Commerce], writes: true };

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "plans/create",
        summary: "Creates a rate plan with no limits, owned by the caller's customer (or one they may act in); answers its id.",
        access: COMMERCE_WRITES,
        params: &[&NAME, &OWNER],
        list: false,
        handler: handler!(PlanNew, create),
    },
    CallSpec {
        name: "plans/list",
        summary: "Lists the rate plans the caller may change, and the plan of their own customer.",
        access: Access::Requires { any_of: &[Privilege::Commerce], writes: false },
        params: &[],
        list: true,
        handler: handler!((), list),
    },
    CallSpec {
        name: "plans/features/set",
        summary: "Sets a rate plan's limit for a feature: maximum -1 no limit, 0 forbidden, N at most N per customer. Only a plan owned by the caller's customer or one beneath it, and governing neither it nor a customer above it (system: any plan).",
        access: COMMERCE_WRITES,
        params: &[&PLAN, &FEATURE, &MAXIMUM, &INCLUDED],
        list: false,
        handler: handler!(LimitSet, features_set),
    },
    CallSpec {
        name: "plans/features/get",
        summary: "Gets one feature limit of a rate plan. No credentials needed.",
        access: Access::Public,
        params: &[&PLAN, &FEATURE],
        list: false,
        handler: handler!(PlanFeature, features_get),
    },
    CallSpec {
        name: "plans/features/list",
        summary: "Lists the feature limits a rate plan sets. No credentials needed.",
        access: Access::Public,
        params: &[&PLAN],
        list: true,
        handler: handler!(PlanId, features_list),
    },
];

impl super::param::Documented for Feature {
    fn documented(&self) -> serde_json::Value {
        self.key().into()
    }
}

/// One feature limit as answered.
#[derive(Serialize)]
struct LimitView<'a> {
    plan: i64,
    feature: &'a str,
    included: i64,
    maximum: i64,
}

impl<'a> LimitView<'a> {
    fn new(plan: i64, limit: &'a FeatureLimit) -> Self {
        Self { plan, feature: &limit.feature, included: limit.included, maximum: limit.maximum }
    }
}

/// Whose plans `caller` may see and change, from privileges held with full
/// access only (as every write): every plan with `system`, those owned in the
/// tree below their customer with `wholesale`, else their own customer's.
pub fn plan_scope(caller: &Caller) -> PlanScope {
    if caller.privileges.has_full(Privilege::System) {
        PlanScope::All
    } else if caller.privileges.has_full(Privilege::Wholesale) {
        PlanScope::Tree(caller.customer)
    } else {
        PlanScope::Own(caller.customer)
    }
}

struct PlanNew {
    name: String,
    owner: i64,
}

impl Request for PlanNew {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let name = r.get(&NAME);
        let owner = r.seen_customer(&OWNER).await?;
        Ok(name.map(|name| Self { name, owner }))
    }
}

struct PlanId(i64);

impl Request for PlanId {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        Ok(r.get(&PLAN).map(Self))
    }
}

struct PlanFeature {
    plan: i64,
    feature: Feature,
}

impl Request for PlanFeature {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let plan = r.get(&PLAN);
        let feature = r.get(&FEATURE);
        Ok((|| Some(Self { plan: plan?, feature: feature? }))())
    }
}

struct LimitSet {
    plan: i64,
    limit: FeatureLimit,
}

impl Request for LimitSet {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let plan = r.get(&PLAN);
        let feature = r.get(&FEATURE);
        let maximum = r.get(&MAXIMUM);
        let included = r.get(&INCLUDED);
        // A plan the caller may not change is answered as one that does not exist.
        if let Some(id) = plan
            && !store::plans::may_change(r.db, plan_scope(r.caller()?), id).await?
        {
            r.error(PLAN.name, "This rate plan does not exist.");
        }
        Ok((|| {
            let limit = FeatureLimit { feature: feature?.key().to_string(), included: included?, maximum: maximum? };
            Some(Self { plan: plan?, limit })
        })())
    }
}

async fn create(ctx: Ctx, new: PlanNew) -> CallResult {
    in_transaction(&ctx, async |tx| Reply::data(&Created { id: store::plans::create(tx, &new.name, new.owner).await? }))
        .await
}

async fn list(ctx: Ctx, (): ()) -> CallResult {
    let scope = plan_scope(ctx.caller()?);
    if ctx.count {
        return Reply::data(&Count { count: store::plans::count(&ctx.db, scope).await? });
    }
    Reply::data(&store::plans::list(&ctx.db, scope, &ctx.window).await?)
}

async fn features_set(ctx: Ctx, set: LimitSet) -> CallResult {
    in_transaction(&ctx, async |tx| {
        store::plans::set_feature(tx, set.plan, &set.limit).await?;
        Ok(Reply::Done)
    })
    .await
}

async fn features_get(ctx: Ctx, PlanFeature { plan, feature }: PlanFeature) -> CallResult {
    if !store::plans::exists(&ctx.db, plan).await? {
        return Err(ApiError::NotFound);
    }
    let limit = store::plans::feature(&ctx.db, plan, feature.key()).await?.unwrap_or_else(|| unlimited(feature));
    Reply::data(&LimitView::new(plan, &limit))
}

async fn features_list(ctx: Ctx, PlanId(plan): PlanId) -> CallResult {
    if !store::plans::exists(&ctx.db, plan).await? {
        return Err(ApiError::NotFound);
    }
    let mut rows = store::plans::features(&ctx.db, plan).await?;
    if ctx.count {
        return Reply::data(&Count { count: rows.len() as i64 });
    }
    if ctx.window.descending {
        rows.reverse();
    }
    let window = rows.iter().skip(ctx.window.offset as usize).take(ctx.window.limit_or_all() as usize);
    Reply::data(&window.map(|limit| LimitView::new(plan, limit)).collect::<Vec<_>>())
}

/// A known feature with no row in the plan: no limit.
fn unlimited(feature: Feature) -> FeatureLimit {
    FeatureLimit { feature: feature.key().to_string(), included: 0, maximum: -1 }
}
