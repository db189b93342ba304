//! Rate plans and their per-feature limits.

use super::{Db, StoreError};
use crate::on_read;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureLimit {
    pub feature: String,
    pub included: i64,
    pub maximum: i64,
}

pub async fn exists(db: &Db, plan: i64) -> Result<bool, StoreError> {
    let found: Option<i64> = on_read!(db, |pool| {
        sqlx::query_scalar("SELECT id FROM plans WHERE id = $1").bind(plan).fetch_optional(pool).await
    })?;
    Ok(found.is_some())
}

/// The plan's row for `feature`, if it has one.
pub async fn feature(db: &Db, plan: i64, feature: &str) -> Result<Option<FeatureLimit>, StoreError> {
    let row: Option<(String, i64, i64)> = on_read!(db, |pool| {
        sqlx::query_as("SELECT feature, included, maximum FROM plan_features WHERE plan = $1 AND feature = $2")
            .bind(plan)
            .bind(feature)
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.map(|(feature, included, maximum)| FeatureLimit { feature, included, maximum }))
}

/// Every row the plan has, by feature name.
pub async fn features(db: &Db, plan: i64) -> Result<Vec<FeatureLimit>, StoreError> {
    let rows: Vec<(String, i64, i64)> = on_read!(db, |pool| {
        sqlx::query_as("SELECT feature, included, maximum FROM plan_features WHERE plan = $1 ORDER BY feature")
            .bind(plan)
            .fetch_all(pool)
            .await
    })?;
    Ok(rows.into_iter().map(|(feature, included, maximum)| FeatureLimit { feature, included, maximum }).collect())
}
