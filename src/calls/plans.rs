//! Rate plans: per-feature limits on what a customer may hold.

use serde_json::{Value, json};

use super::{Access, CallResult, CallSpec, Ctx, Kind, Param};
use crate::{
    http::{envelope::Reply, error::ApiError},
    store::{self, plans::FeatureLimit},
};

/// The features a plan can limit.
pub const FEATURES: [&str; 1] = ["codes"];

const PLAN: Param = Param::required("plan", Kind::Integer, "ID of the rate plan.");
const FEATURE: Param = Param::required("feature", Kind::Text, "Feature key: \"codes\".");

pub const CALLS: &[CallSpec] = &[
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

async fn features_get(ctx: Ctx) -> CallResult {
    let mut input = ctx.input();
    let plan = input.required_int("plan");
    let feature = input.required_text("feature");
    if let Some(name) = feature
        && !FEATURES.contains(&name)
    {
        input.error("feature", "This is not a known feature.");
    }
    input.finish()?;
    let (plan, feature) = (plan.expect("validated"), feature.expect("validated"));
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
