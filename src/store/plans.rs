//! Rate plans and their per-feature limits.

use super::{Db, ListWindow, StoreError, Tx, now_epoch};

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

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct PlanRow {
    pub id: i64,
    pub name: String,
    /// The customer that owns the plan.
    pub customer: i64,
    pub created: i64,
}

pub async fn create(tx: &mut Tx, name: &str, owner: i64) -> Result<i64, StoreError> {
    Ok(on_tx!(tx, |conn| sqlx::query_scalar(
        "INSERT INTO plans (name, customer, created) VALUES ($1, $2, $3) RETURNING id"
    )
    .bind(name)
    .bind(owner)
    .bind(now_epoch())
    .fetch_one(conn)
    .await)?)
}

/// Whose plans a person may see and change: everyone's (the operator,
/// `system` with full access), those of the tree below their customer
/// (`wholesale` with full access), or their own customer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanScope {
    All,
    /// A person of this customer who acts in its subtree.
    Tree(i64),
    /// A person of this customer who acts in it alone.
    Own(i64),
}

impl PlanScope {
    /// The caller's customer, and the condition on a plan's owner.
    fn reach(self) -> Option<(i64, &'static str)> {
        match self {
            Self::All => None,
            Self::Tree(customer) => Some((customer, "customer IN (SELECT id FROM down)")),
            Self::Own(customer) => Some((customer, "customer = $1")),
        }
    }
}

/// The customers above `$1` (itself included) with their plans, and `$1`'s
/// subtree: what plan ownership is decided on.
const TREE: &str = "WITH RECURSIVE up(id, parent, plan) AS ( \
       SELECT id, parent, plan FROM customers WHERE id = $1 \
       UNION ALL SELECT c.id, c.parent, c.plan FROM customers c JOIN up ON c.id = up.parent), \
     down(id) AS ( \
       SELECT id FROM customers WHERE id = $1 \
       UNION ALL SELECT c.id FROM customers c JOIN down ON c.parent = down.id) ";

/// Plans owned where the person reaches (`owned`) that govern neither `$1`
/// nor a customer above it.
fn changeable(owned: &str) -> String {
    format!("{owned} AND id NOT IN (SELECT plan FROM up)")
}

/// Whether a person in `scope` may change `plan`. A plan they may not change
/// is answered as one that does not exist.
pub async fn may_change(db: &Db, scope: PlanScope, plan: i64) -> Result<bool, StoreError> {
    let Some((customer, owned)) = scope.reach() else { return exists(db, plan).await };
    let sql = format!("{TREE} SELECT id FROM plans WHERE id = $2 AND {}", changeable(owned));
    let found: Option<i64> =
        on_read!(db, |pool| sqlx::query_scalar(&sql).bind(customer).bind(plan).fetch_optional(pool).await)?;
    Ok(found.is_some())
}

/// Whether a person in `scope` may give `plan` to a customer: a plan owned by
/// their own customer or one above it.
pub async fn may_use(db: &Db, scope: PlanScope, plan: i64) -> Result<bool, StoreError> {
    let Some((customer, _)) = scope.reach() else { return exists(db, plan).await };
    let sql = format!("{TREE} SELECT id FROM plans WHERE id = $2 AND customer IN (SELECT id FROM up)");
    let found: Option<i64> =
        on_read!(db, |pool| sqlx::query_scalar(&sql).bind(customer).bind(plan).fetch_optional(pool).await)?;
    Ok(found.is_some())
}

/// The plans a person in `scope` may change, and the plan of their own customer.
fn listed(scope: PlanScope, select: &str, tail: &str) -> (String, i64) {
    match scope.reach() {
        None => (format!("{TREE} SELECT {select} FROM plans WHERE $1 = 0 {tail}"), 0),
        Some((customer, owned)) => (
            format!(
                "{TREE} SELECT {select} FROM plans WHERE ({}) OR id = (SELECT plan FROM up WHERE id = $1) {tail}",
                changeable(owned)
            ),
            customer,
        ),
    }
}

pub async fn list(db: &Db, scope: PlanScope, window: &ListWindow) -> Result<Vec<PlanRow>, StoreError> {
    let (sql, root) =
        listed(scope, "id, name, customer, created", &format!("ORDER BY id {} LIMIT $2 OFFSET $3", window.order()));
    Ok(on_read!(db, |pool| sqlx::query_as(&sql)
        .bind(root)
        .bind(window.limit_or_all())
        .bind(window.offset)
        .fetch_all(pool)
        .await)?)
}

pub async fn count(db: &Db, scope: PlanScope) -> Result<i64, StoreError> {
    let (sql, root) = listed(scope, "COUNT(*)", "");
    Ok(on_read!(db, |pool| sqlx::query_scalar(&sql).bind(root).fetch_one(pool).await)?)
}

/// Sets (or replaces) a plan's limit for a feature.
pub async fn set_feature(tx: &mut Tx, plan: i64, limit: &FeatureLimit) -> Result<(), StoreError> {
    on_tx!(tx, |conn| sqlx::query(
        "INSERT INTO plan_features (plan, feature, included, maximum) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (plan, feature) DO UPDATE SET included = excluded.included, maximum = excluded.maximum"
    )
    .bind(plan)
    .bind(&limit.feature)
    .bind(limit.included)
    .bind(limit.maximum)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The customer that owns `plan`, inside `tx`.
pub async fn owner_in(tx: &mut Tx, plan: i64) -> Result<Option<i64>, StoreError> {
    Ok(on_tx!(tx, |conn| sqlx::query_scalar("SELECT customer FROM plans WHERE id = $1")
        .bind(plan)
        .fetch_optional(conn)
        .await)?)
}

/// A feature a rate plan can limit, and how to count what a customer holds of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    Codes,
    /// Numbers held (bought from the pool, or assigned).
    Numbers,
    /// People (logins) in the customer.
    People,
    /// Direct child customers: counted under the parent, against the parent's plan.
    Customers,
}

impl Feature {
    pub const ALL: [Feature; 4] = [Feature::Codes, Feature::Numbers, Feature::People, Feature::Customers];

    /// Every feature's key, in the order of [`Self::ALL`]: what `parse` accepts.
    pub const KEYS: [&'static str; 4] = {
        let mut keys = [""; 4];
        let mut i = 0;
        while i < keys.len() {
            keys[i] = Self::ALL[i].key();
            i += 1;
        }
        keys
    };

    pub const fn key(self) -> &'static str {
        match self {
            Self::Codes => "codes",
            Self::Numbers => "numbers",
            Self::People => "people",
            Self::Customers => "customers",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.key() == key)
    }

    fn count_sql(self) -> &'static str {
        match self {
            Self::Codes => "SELECT COUNT(*) FROM codes WHERE customer = $1",
            // `customer <> 0` lets the planner use the index of assigned numbers.
            Self::Numbers => "SELECT COUNT(*) FROM numbers WHERE customer = $1 AND customer <> 0",
            Self::People => "SELECT COUNT(*) FROM people WHERE customer = $1",
            Self::Customers => "SELECT COUNT(*) FROM customers WHERE parent = $1",
        }
    }
}

/// What a customer's plan says to one more of a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    Allowed,
    /// The plan's maximum is reached (or is 0): 403.
    Forbidden,
    /// The customer does not exist (any more).
    NoCustomer,
}

/// Whether `customer`'s plan lets it hold one more of `feature`, decided inside
/// the transaction that will add it. The customer's row is also held there
/// (`FOR KEY SHARE` on PostgreSQL), so the customer cannot be deleted before
/// the addition commits: this is the write's check that its customer exists.
///
/// A plan without a finite limit needs no count and no exclusive lock.
/// Otherwise racing creates for one customer must count one after another:
/// on PostgreSQL the customer's row is locked (`FOR NO KEY UPDATE`, which
/// does not conflict with the holds of other writers), so the second racer
/// counts only after the first has committed or rolled back; on SQLite the
/// single writer connection already runs write transactions one at a time.
pub async fn allows_one_more(tx: &mut Tx, customer: i64, feature: Feature) -> Result<Allowance, StoreError> {
    const LIMIT: &str = "SELECT c.plan, f.maximum FROM customers c \
         LEFT JOIN plan_features f ON f.plan = c.plan AND f.feature = $2 WHERE c.id = $1";
    let limit: Option<(i64, Option<i64>)> = match tx {
        Tx::Sqlite(lite) => {
            sqlx::query_as(LIMIT).bind(customer).bind(feature.key()).fetch_optional(&mut **lite).await?
        }
        Tx::Postgres(pg) => {
            sqlx::query_as(&format!("{LIMIT} FOR KEY SHARE OF c"))
                .bind(customer)
                .bind(feature.key())
                .fetch_optional(&mut **pg)
                .await?
        }
    };
    let maximum = match limit {
        None => return Ok(Allowance::NoCustomer),
        Some((_, None | Some(-1))) => return Ok(Allowance::Allowed),
        Some((_, Some(maximum))) if maximum <= 0 => return Ok(Allowance::Forbidden),
        Some((_, Some(maximum))) => maximum,
    };
    if let Tx::Postgres(pg) = tx {
        sqlx::query("SELECT id FROM customers WHERE id = $1 FOR NO KEY UPDATE")
            .bind(customer)
            .execute(&mut **pg)
            .await?;
    }
    let held: i64 = on_tx!(tx, |conn| sqlx::query_scalar(feature.count_sql()).bind(customer).fetch_one(conn).await)?;
    Ok(if held < maximum { Allowance::Allowed } else { Allowance::Forbidden })
}

/// One plan, whoever may see it (the call decides that).
pub async fn get(db: &Db, plan: i64) -> Result<Option<PlanRow>, StoreError> {
    Ok(on_read!(db, |pool| sqlx::query_as("SELECT id, name, customer, created FROM plans WHERE id = $1")
        .bind(plan)
        .fetch_optional(pool)
        .await)?)
}

/// Whether a person in `scope` sees `plan`: one they may give to a customer
/// or one they may change.
pub async fn may_see(db: &Db, scope: PlanScope, plan: i64) -> Result<bool, StoreError> {
    Ok(may_use(db, scope, plan).await? || may_change(db, scope, plan).await?)
}

/// Renames a plan; answers whether it (still) exists.
pub async fn rename(tx: &mut Tx, plan: i64, name: &str) -> Result<bool, StoreError> {
    let changed = on_tx!(tx, |conn| sqlx::query("UPDATE plans SET name = $2 WHERE id = $1")
        .bind(plan)
        .bind(name)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed > 0)
}

/// Whether `plan` exists now; on PostgreSQL the row is locked (`FOR UPDATE`)
/// until `tx` ends, so a writer holding it must finish first and one arriving
/// later waits for the delete (see `references`).
pub async fn lock(tx: &mut Tx, plan: i64) -> Result<bool, StoreError> {
    super::references::lock_row(tx, "plans", plan).await
}

/// How many customers `plan` governs.
pub async fn customers_on(tx: &mut Tx, plan: i64) -> Result<i64, StoreError> {
    Ok(on_tx!(tx, |conn| sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE plan = $1")
        .bind(plan)
        .fetch_one(conn)
        .await)?)
}

/// Deletes a plan and the limits it sets.
pub async fn delete(tx: &mut Tx, plan: i64) -> Result<(), StoreError> {
    for sql in ["DELETE FROM plan_features WHERE plan = $1", "DELETE FROM plans WHERE id = $1"] {
        on_tx!(tx, |conn| sqlx::query(sql).bind(plan).execute(conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// The maximum `customer`'s plan sets for `feature` (-1 when it sets none);
/// `None` when the customer does not exist.
pub async fn customer_maximum(db: &Db, customer: i64, feature: Feature) -> Result<Option<i64>, StoreError> {
    let row: Option<(Option<i64>,)> = on_read!(db, |pool| sqlx::query_as(
        "SELECT f.maximum FROM customers c \
         LEFT JOIN plan_features f ON f.plan = c.plan AND f.feature = $2 WHERE c.id = $1"
    )
    .bind(customer)
    .bind(feature.key())
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(|(maximum,)| maximum.unwrap_or(-1)))
}
