//! Customers: the tenant tree, and which part of it a person sees.

use super::{Db, ListWindow, StoreError, Tx, now_epoch};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct CustomerRow {
    pub id: i64,
    pub parent: i64,
    pub name: String,
    pub email: String,
    pub plan: i64,
    pub created: i64,
}

/// What part of the tree a person sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every customer (the system privilege).
    All,
    /// Their own customer and all its descendants (wholesale).
    Subtree(i64),
    /// Only their own customer.
    Own(i64),
}

/// The ancestors of `$1`, itself included, walking up: cheap, since trees are shallow.
const ANCESTORS: &str = "WITH RECURSIVE up(id, parent) AS ( \
       SELECT id, parent FROM customers WHERE id = $1 \
       UNION ALL SELECT c.id, c.parent FROM customers c JOIN up ON c.id = up.parent) ";

/// `$1` and all its descendants.
const SUBTREE: &str = "WITH RECURSIVE down(id) AS ( \
       SELECT id FROM customers WHERE id = $1 \
       UNION ALL SELECT c.id FROM customers c JOIN down ON c.parent = down.id) ";

const COLUMNS: &str = "id, parent, name, email, plan, created";

/// Whether `customer` exists and is seen from `scope`.
pub async fn is_visible(db: &Db, scope: Scope, customer: i64) -> Result<bool, StoreError> {
    let found: Option<i64> = match scope {
        Scope::All | Scope::Own(_) => {
            if matches!(scope, Scope::Own(own) if own != customer) {
                return Ok(false);
            }
            on_read!(db, |pool| sqlx::query_scalar("SELECT id FROM customers WHERE id = $1")
                .bind(customer)
                .fetch_optional(pool)
                .await)?
        }
        Scope::Subtree(root) => {
            let sql = format!("{ANCESTORS} SELECT id FROM up WHERE id = $2");
            on_read!(db, |pool| sqlx::query_scalar(&sql).bind(customer).bind(root).fetch_optional(pool).await)?
        }
    };
    Ok(found.is_some())
}

pub async fn get(db: &Db, id: i64) -> Result<Option<CustomerRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM customers WHERE id = $1");
    Ok(on_read!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?)
}

/// SQL over the customers seen from `scope` (and children of `parent` when
/// given), binding `$1` the scope's root, `$2`/`$3` the parent filter.
fn scoped(scope: Scope, select: &str, tail: &str) -> (String, i64) {
    let (cte, condition, root) = match scope {
        // `$1` is bound for every scope so that the parameter list stays the same.
        Scope::All => ("", "$1 = 0", 0),
        Scope::Subtree(root) => (SUBTREE, "id IN (SELECT id FROM down)", root),
        Scope::Own(own) => ("", "id = $1", own),
    };
    (format!("{cte} SELECT {select} FROM customers WHERE {condition} AND ($2 = 0 OR parent = $3) {tail}"), root)
}

/// The customers seen from `scope`, optionally only the children of `parent`.
pub async fn list(
    db: &Db,
    scope: Scope,
    parent: Option<i64>,
    window: &ListWindow,
) -> Result<Vec<CustomerRow>, StoreError> {
    let (sql, root) = scoped(scope, COLUMNS, &format!("ORDER BY id {} LIMIT $4 OFFSET $5", window.order()));
    Ok(on_read!(db, |pool| sqlx::query_as(&sql)
        .bind(root)
        .bind(parent.is_some() as i64)
        .bind(parent.unwrap_or(0))
        .bind(window.limit_or_all())
        .bind(window.offset)
        .fetch_all(pool)
        .await)?)
}

pub async fn count(db: &Db, scope: Scope, parent: Option<i64>) -> Result<i64, StoreError> {
    let (sql, root) = scoped(scope, "COUNT(*)", "");
    Ok(on_read!(db, |pool| sqlx::query_scalar(&sql)
        .bind(root)
        .bind(parent.is_some() as i64)
        .bind(parent.unwrap_or(0))
        .fetch_one(pool)
        .await)?)
}

pub async fn create(tx: &mut Tx, parent: i64, name: &str, email: &str, plan: i64) -> Result<i64, StoreError> {
    Ok(on_tx!(tx, |conn| sqlx::query_scalar(
        "INSERT INTO customers (parent, name, email, plan, created) VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    .bind(parent)
    .bind(name)
    .bind(email)
    .bind(plan)
    .bind(now_epoch())
    .fetch_one(conn)
    .await)?)
}
