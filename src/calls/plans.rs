//! Rate plans: per-feature limits on what a customer may hold.

use serde::Serialize;

use super::param::Shape;
use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param, Reader, Request, handler,
    param::{
        common::{self, CUSTOMER, NAME, NEW_NAME},
        parse,
    },
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

const ID: Param<i64> = common::id("ID of the rate plan.");
const PLAN: Param<i64> = Param::required("plan", Kind::Integer, "ID of the rate plan.", parse::integer);
const FEATURE: Param<Feature> = Param::required(
    "feature",
    Kind::Text,
    "Feature key: \"codes\", \"numbers\", \"people\" or \"customers\" (direct child customers, counted against the parent's plan).",
    |v| Feature::parse(v).ok_or("This is not a known feature.".into()),
);
const MAXIMUM: Param<i64> =
    Param::with_default("maximum", Kind::Integer, -1, "-1 for no limit, 0 to forbid, N for at most N.", parse::integer)
        .shaped(Shape::at_least(-1));
const INCLUDED: Param<i64> =
    Param::with_default("included", Kind::Integer, 0, "How many are included in the plan's price.", parse::integer)
        .shaped(Shape::at_least(0));

/// The customer that owns a new plan.
const OWNER: Param<i64> = Param::decided(
    "customer",
    Kind::Integer,
    "Customer of authentication user.",
    "ID of the customer that owns the plan (one the caller may act in).",
    parse::integer,
);

const COMMERCE_WRITES: Access = Access::Requires { any_of: &[Privilege::Commerce], writes: true };
const COMMERCE_READS: Access = Access::Requires { any_of: &[Privilege::Commerce], writes: false };

/// The 404 of a plan that does not exist or that the caller may not see (or change).
const NO_PLAN: ApiError = ApiError::NotFoundNamed("The rate plan does not exist.");
/// The plan new customers get, which also stands for "no plan of one's own".
const DEFAULT_PLAN: i64 = 1;

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "plans/create",
        summary: "Creates a rate plan with no limits, owned by the caller's customer (or one they may act in); answers its id.",
        access: COMMERCE_WRITES,
        params: &[&NAME, &OWNER],
        list: false,
        answer: super::Answer::Id,
        handler: handler!(PlanNew, create),
    },
    CallSpec {
        name: "plans/list",
        summary: "Lists the rate plans the caller may change, and the plan of their own customer.",
        access: COMMERCE_READS,
        params: &[],
        list: true,
        answer: super::Answer::Rows(super::answer::PLAN),
        handler: handler!((), list),
    },
    CallSpec {
        name: "plans/get",
        summary: "Gets a rate plan the caller may give to a customer or may change.",
        access: COMMERCE_READS,
        params: &[&ID],
        list: false,
        answer: super::Answer::Object(super::answer::PLAN),
        handler: handler!(PlanRef, get),
    },
    CallSpec {
        name: "plans/update",
        summary: "Renames a rate plan the caller may change.",
        access: COMMERCE_WRITES,
        params: &[&ID, &NEW_NAME],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(PlanChange, update),
    },
    CallSpec {
        name: "plans/delete",
        summary: "Deletes a rate plan the caller may change, with its feature limits; refused while a customer is on it. Plan 1 cannot be deleted.",
        access: COMMERCE_WRITES,
        params: &[&ID],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(PlanGone, delete),
    },
    CallSpec {
        name: "plans/features/set",
        summary: "Sets a rate plan's limit for a feature: maximum -1 no limit, 0 forbidden, N at most N per customer. Only a plan owned by the caller's customer or one beneath it, and governing neither it nor a customer above it (system: any plan).",
        access: COMMERCE_WRITES,
        params: &[&PLAN, &FEATURE, &MAXIMUM, &INCLUDED],
        list: false,
        answer: super::Answer::Nothing,
        handler: handler!(LimitSet, features_set),
    },
    CallSpec {
        name: "plans/features/get",
        summary: "Gets one feature limit of a rate plan. No credentials needed.",
        access: Access::Public,
        params: &[&PLAN, &FEATURE],
        list: false,
        answer: super::Answer::Object(super::answer::PLAN_LIMIT),
        handler: handler!(PlanFeature, features_get),
    },
    CallSpec {
        name: "plans/features/list",
        summary: "Lists the feature limits a rate plan sets. No credentials needed.",
        access: Access::Public,
        params: &[&PLAN],
        list: true,
        answer: super::Answer::Rows(super::answer::PLAN_LIMIT),
        handler: handler!(PlanId, features_list),
    },
    CallSpec {
        name: "plans/features/maximum",
        summary: "The maximum of a feature for a customer, from its rate plan: -1 when the plan sets no limit.",
        access: Access::Requires { any_of: &[Privilege::User], writes: false },
        params: &[&FEATURE, &CUSTOMER],
        list: false,
        answer: super::Answer::Object(super::answer::MAXIMUM),
        handler: handler!(CustomerFeature, features_maximum),
    },
];

impl super::param::Documented for Feature {
    const WORDS: Option<&'static [&'static str]> = Some(&Feature::KEYS);

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
        Ok(known_plan(r).await?.map(Self))
    }
}

/// `plan` of the public feature calls: a plan that does not exist is a 400
/// on `plan` (Enswitch's code). The calls are public, so every plan is seen.
async fn known_plan(r: &mut Reader<'_>) -> Result<Option<i64>, StoreError> {
    let plan = r.get(&PLAN);
    if let Some(id) = plan
        && !store::plans::exists(r.db, id).await?
    {
        r.error(PLAN.name, "This rate plan does not exist.");
        return Ok(None);
    }
    Ok(plan)
}

/// `id` of a plan the call reads or changes; the handler decides whether the
/// caller sees it.
struct PlanRef(i64);

impl Request for PlanRef {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        Ok(r.get(&ID).map(Self))
    }
}

struct PlanChange {
    id: i64,
    name: Option<String>,
}

impl Request for PlanChange {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let id = r.get(&ID);
        let name = r.given(&NEW_NAME);
        Ok(if r.is_ok(NEW_NAME.name) { id.map(|id| Self { id, name }) } else { None })
    }
}

struct PlanGone(i64);

impl Request for PlanGone {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let id = r.get(&ID);
        if id == Some(DEFAULT_PLAN) {
            r.error(ID.name, "Plan 1 is the default plan and cannot be deleted.");
            return Ok(None);
        }
        Ok(id.map(Self))
    }
}

struct CustomerFeature {
    feature: Feature,
    customer: i64,
}

impl Request for CustomerFeature {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let feature = r.get(&FEATURE);
        let customer = r.seen_customer(&CUSTOMER).await?;
        Ok(if r.is_ok(CUSTOMER.name) { feature.map(|feature| Self { feature, customer }) } else { None })
    }
}

struct PlanFeature {
    plan: i64,
    feature: Feature,
}

impl Request for PlanFeature {
    async fn read(r: &mut Reader<'_>) -> Result<Option<Self>, StoreError> {
        let plan = known_plan(r).await?;
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
    // A feature the plan does not set is a 404 (Enswitch's code): it has no row.
    let limit = store::plans::feature(&ctx.db, plan, feature.key())
        .await?
        .ok_or(ApiError::NotFoundNamed("The rate plan does not set this feature."))?;
    Reply::data(&LimitView::new(plan, &limit))
}

async fn features_list(ctx: Ctx, PlanId(plan): PlanId) -> CallResult {
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

async fn get(ctx: Ctx, PlanRef(id): PlanRef) -> CallResult {
    if !store::plans::may_see(&ctx.db, plan_scope(ctx.caller()?), id).await? {
        return Err(NO_PLAN);
    }
    Reply::data(&store::plans::get(&ctx.db, id).await?.ok_or(NO_PLAN)?)
}

async fn update(ctx: Ctx, change: PlanChange) -> CallResult {
    // A plan the caller may see but not change is answered as one that does
    // not exist, as `plans/features/set` does.
    if !store::plans::may_change(&ctx.db, plan_scope(ctx.caller()?), change.id).await? {
        return Err(NO_PLAN);
    }
    in_transaction(&ctx, async |tx| {
        let found = match &change.name {
            Some(name) => store::plans::rename(tx, change.id, name).await?,
            None => store::plans::lock(tx, change.id).await?,
        };
        if found { Ok(Reply::Done) } else { Err(NO_PLAN) }
    })
    .await
}

async fn delete(ctx: Ctx, PlanGone(id): PlanGone) -> CallResult {
    if !store::plans::may_change(&ctx.db, plan_scope(ctx.caller()?), id).await? {
        return Err(NO_PLAN);
    }
    in_transaction(&ctx, async |tx| {
        // Locked first (PostgreSQL), so the count is of what the delete leaves behind.
        if !store::plans::lock(tx, id).await? {
            return Err(NO_PLAN);
        }
        match store::plans::customers_on(tx, id).await? {
            0 => {}
            n => {
                return Err(ApiError::invalid(
                    ID.name,
                    &format!("This rate plan is used by {}.", super::how_many(n, "customer", "customers")),
                ));
            }
        }
        store::plans::delete(tx, id).await?;
        Ok(Reply::Done)
    })
    .await
}

async fn features_maximum(ctx: Ctx, CustomerFeature { feature, customer }: CustomerFeature) -> CallResult {
    let maximum = store::plans::customer_maximum(&ctx.db, customer, feature)
        .await?
        .ok_or(ApiError::NotFoundNamed("The customer does not exist."))?;
    Reply::data(&serde_json::json!({ "maximum": maximum }))
}
