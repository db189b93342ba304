//! Rate plans: per-feature limits on what a customer may hold.

use serde_json::{Value, json};

use super::{
    Access, CallResult, CallSpec, Ctx, Kind, Param,
    write::{VALIDATION, bounded_text, id_json, in_transaction},
};
use crate::{
    auth::privilege::Privilege,
    http::{envelope::Reply, error::ApiError},
    store::{
        self,
        plans::{Feature, FeatureLimit},
    },
};

const PLAN: Param = Param::required("plan", Kind::Integer, "ID of the rate plan.");
const FEATURE: Param = Param::required("feature", Kind::Text, "Feature key: \"codes\".");

const COMMERCE_WRITES: Access = Access::Requires { any_of: &[Privilege::Commerce], writes: true };

pub const CALLS: &[CallSpec] = &[
    CallSpec {
        name: "plans/create",
        summary: "Creates a rate plan with no limits; answers its id.",
        access: COMMERCE_WRITES,
        params: &[Param::required("name", Kind::Text, "Name, at most 255 characters."), VALIDATION],
        list: false,
        handler: |ctx| Box::pin(create(ctx)),
    },
    CallSpec {
        name: "plans/list",
        summary: "Lists the rate plans.",
        access: Access::Requires { any_of: &[Privilege::Commerce], writes: false },
        params: &[],
        list: true,
        handler: |ctx| Box::pin(list(ctx)),
    },
    CallSpec {
        name: "plans/features/set",
        summary: "Sets a rate plan's limit for a feature: maximum -1 no limit, 0 forbidden, N at most N per customer.",
        access: COMMERCE_WRITES,
        params: &[
            PLAN,
            FEATURE,
            Param::optional("maximum", Kind::Integer, "-1", "-1 for no limit, 0 to forbid, N for at most N."),
            Param::optional("included", Kind::Integer, "0", "How many are included in the plan's price."),
            VALIDATION,
        ],
        list: false,
        handler: |ctx| Box::pin(features_set(ctx)),
    },
    CallSpec {
        name: "plans/features/get",
        summary: "Gets one feature limit of a rate plan. No credentials needed.",
        access: Access::Public,
        params: &[PLAN, FEATURE],
        list: false,
        handler: |ctx| Box::pin(features_get(ctx)),
    },
    CallSpec {
        name: "plans/features/list",
        summary: "Lists the feature limits a rate plan sets. No credentials needed.",
        access: Access::Public,
        params: &[PLAN],
        list: true,
        handler: |ctx| Box::pin(features_list(ctx)),
    },
];

/// The `feature` parameter: a feature key a plan can limit.
fn feature_param(input: &mut super::Input<'_>) -> Option<Feature> {
    let name = input.required_text("feature")?;
    let feature = Feature::parse(name);
    if feature.is_none() {
        input.error("feature", "This is not a known feature.");
    }
    feature
}

async fn create(ctx: Ctx) -> CallResult {
    let mut input = ctx.input();
    let name = bounded_text(&mut input, "name", true, 255);
    let validation = input.flag("validation", false).unwrap_or(false);
    input.finish()?;
    let name = name.expect("validated");
    in_transaction(&ctx.state.db, validation, async |tx| Ok(id_json(store::plans::create(tx, name).await?))).await
}

async fn list(ctx: Ctx) -> CallResult {
    let mut input = ctx.input();
    let (window, count) = input.list_window();
    input.finish()?;
    let db = &ctx.state.db;
    if count {
        return Ok(Reply::Data(json!({ "count": store::plans::count(db).await? })));
    }
    let rows = store::plans::list(db, &window).await?;
    let rows = rows.into_iter().map(|p| json!({ "id": p.id, "name": p.name, "created": p.created }));
    Ok(Reply::Data(Value::Array(rows.collect())))
}

async fn features_set(ctx: Ctx) -> CallResult {
    let db = &ctx.state.db;
    let mut input = ctx.input();
    let plan = input.required_int("plan");
    let feature = feature_param(&mut input);
    let maximum = input.int("maximum", -1).unwrap_or(-1);
    if maximum < -1 {
        input.error("maximum", "This parameter must be -1 or more.");
    }
    let included = input.int("included", 0).unwrap_or(0);
    if included < 0 {
        input.error("included", "This parameter must not be negative.");
    }
    let validation = input.flag("validation", false).unwrap_or(false);
    if let Some(id) = plan
        && !store::plans::exists(db, id).await?
    {
        input.error("plan", "This rate plan does not exist.");
    }
    input.finish()?;
    let plan = plan.expect("validated");
    let limit = FeatureLimit { feature: feature.expect("validated").key().to_string(), included, maximum };
    in_transaction(db, validation, async |tx| {
        store::plans::set_feature(tx, plan, &limit).await?;
        Ok(Reply::Done)
    })
    .await
}

async fn features_get(ctx: Ctx) -> CallResult {
    let mut input = ctx.input();
    let plan = input.required_int("plan");
    let feature = feature_param(&mut input);
    input.finish()?;
    let (plan, feature) = (plan.expect("validated"), feature.expect("validated").key());
    let db = &ctx.state.db;
    if !store::plans::exists(db, plan).await? {
        return Err(ApiError::NotFound);
    }
    let limit = store::plans::feature(db, plan, feature).await?.unwrap_or_else(|| unlimited(feature));
    Ok(Reply::Data(limit_json(plan, &limit)))
}

async fn features_list(ctx: Ctx) -> CallResult {
    let mut input = ctx.input();
    let plan = input.required_int("plan");
    let (window, count) = input.list_window();
    input.finish()?;
    let plan = plan.expect("validated");
    let db = &ctx.state.db;
    if !store::plans::exists(db, plan).await? {
        return Err(ApiError::NotFound);
    }
    let mut rows = store::plans::features(db, plan).await?;
    if count {
        return Ok(Reply::Data(json!({ "count": rows.len() })));
    }
    if window.descending {
        rows.reverse();
    }
    let rows = rows.iter().skip(window.offset as usize).take(window.limit_or_all() as usize);
    Ok(Reply::Data(Value::Array(rows.map(|limit| limit_json(plan, limit)).collect())))
}

/// A known feature with no row in the plan: no limit.
fn unlimited(feature: &str) -> FeatureLimit {
    FeatureLimit { feature: feature.to_string(), included: 0, maximum: -1 }
}

fn limit_json(plan: i64, limit: &FeatureLimit) -> Value {
    json!({ "plan": plan, "feature": limit.feature, "included": limit.included, "maximum": limit.maximum })
}
