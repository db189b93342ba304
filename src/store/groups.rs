//! Music classes, record groups and time groups: small named objects of a
//! customer that feature codes refer to. One implementation serves all three;
//! music classes and time groups may also be shared with every customer.

use super::{Db, ListWindow, StoreError, Tx, now_epoch};

#[derive(Debug)]
pub struct GroupKind {
    pub table: &'static str,
    pub shareable: bool,
}

pub const MUSIC: GroupKind = GroupKind { table: "music", shareable: true };
pub const RECORD_GROUPS: GroupKind = GroupKind { table: "recordgroups", shareable: false };
pub const TIME_GROUPS: GroupKind = GroupKind { table: "timegroups", shareable: true };

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupRow {
    pub id: i64,
    pub customer: i64,
    pub name: String,
    pub description: String,
    pub shared: i64,
    pub created: i64,
}

impl GroupKind {
    fn shared_column(&self) -> &'static str {
        if self.shareable { "shared" } else { "CAST(0 AS BIGINT) AS shared" }
    }

    /// Rows of `$1`, plus the shared ones where the kind can be shared.
    pub(super) fn seen_condition(&self) -> &'static str {
        if self.shareable { "(customer = $1 OR shared = 1)" } else { "customer = $1" }
    }
}

pub async fn create(
    tx: &mut Tx,
    kind: &GroupKind,
    customer: i64,
    name: &str,
    description: &str,
    shared: bool,
) -> Result<i64, StoreError> {
    let (shared_column, shared_value) = if kind.shareable { (", shared", ", $5") } else { ("", "") };
    let sql = format!(
        "INSERT INTO {} (customer, name, description, created{shared_column}) \
         VALUES ($1, $2, $3, $4{shared_value}) RETURNING id",
        kind.table
    );
    Ok(on_tx!(tx, |conn| {
        let query = sqlx::query_scalar(&sql).bind(customer).bind(name).bind(description).bind(now_epoch());
        let query = if kind.shareable { query.bind(shared as i64) } else { query };
        query.fetch_one(conn).await
    })?)
}

/// Whether object `id` belongs to `customer` or, for a shareable kind, is shared.
pub async fn seen_by(db: &Db, kind: &GroupKind, customer: i64, id: i64) -> Result<bool, StoreError> {
    let sql = format!("SELECT id FROM {} WHERE {} AND id = $2", kind.table, kind.seen_condition());
    let found: Option<i64> =
        on_read!(db, |pool| sqlx::query_scalar(&sql).bind(customer).bind(id).fetch_optional(pool).await)?;
    Ok(found.is_some())
}

pub async fn list(db: &Db, kind: &GroupKind, customer: i64, window: &ListWindow) -> Result<Vec<GroupRow>, StoreError> {
    let sql = format!(
        "SELECT id, customer, name, description, {}, created FROM {} WHERE {} ORDER BY id {} LIMIT $2 OFFSET $3",
        kind.shared_column(),
        kind.table,
        kind.seen_condition(),
        window.order()
    );
    Ok(on_read!(db, |pool| sqlx::query_as(&sql)
        .bind(customer)
        .bind(window.limit_or_all())
        .bind(window.offset)
        .fetch_all(pool)
        .await)?)
}

pub async fn count(db: &Db, kind: &GroupKind, customer: i64) -> Result<i64, StoreError> {
    let sql = format!("SELECT COUNT(*) FROM {} WHERE {}", kind.table, kind.seen_condition());
    Ok(on_read!(db, |pool| sqlx::query_scalar(&sql).bind(customer).fetch_one(pool).await)?)
}
