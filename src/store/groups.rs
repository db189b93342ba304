//! Music classes, record groups and time groups: small named objects of a
//! customer that feature codes refer to. One implementation serves all three;
//! music classes and time groups may also be shared with every customer.

use super::{Db, ListWindow, StoreError, Tx, now_epoch};

#[derive(Debug)]
pub struct GroupKind {
    pub table: &'static str,
    pub shareable: bool,
    /// The condition on a feature code's or number's routing columns under
    /// which it refers to group `$1`.
    referred_by: &'static str,
    /// What a row is called, and the 404 of one that does not exist.
    pub noun: &'static str,
    pub missing: &'static str,
}

pub const MUSIC: GroupKind = GroupKind {
    table: "music",
    shareable: true,
    referred_by: "music = $1",
    noun: "music class",
    missing: "The music class does not exist.",
};
pub const RECORD_GROUPS: GroupKind = GroupKind {
    table: "recordgroups",
    shareable: false,
    referred_by: "recordgroup = $1",
    noun: "record group",
    missing: "The record group does not exist.",
};
/// `routing` is kept as sent, and `timegroup_007` names group 7 too.
pub const TIME_GROUPS: GroupKind = GroupKind {
    table: "timegroups",
    shareable: true,
    referred_by: "substr(routing, 1, 10) = 'timegroup_' AND ltrim(substr(routing, 11), '0') = CAST($1 AS TEXT)",
    noun: "time group",
    missing: "The time group does not exist.",
};

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

/// Object `id` if `customer` sees it (its own, or a shared one).
pub async fn get(db: &Db, kind: &GroupKind, customer: i64, id: i64) -> Result<Option<GroupRow>, StoreError> {
    let sql = format!(
        "SELECT id, customer, name, description, {}, created FROM {} WHERE {} AND id = $2",
        kind.shared_column(),
        kind.table,
        kind.seen_condition()
    );
    Ok(on_read!(db, |pool| sqlx::query_as(&sql).bind(customer).bind(id).fetch_optional(pool).await)?)
}

/// Changes the fields given (`None` keeps; `shared` only for shareable
/// kinds); answers whether the object exists.
pub async fn update(
    tx: &mut Tx,
    kind: &GroupKind,
    id: i64,
    name: Option<&str>,
    description: Option<&str>,
    shared: Option<bool>,
) -> Result<bool, StoreError> {
    let shared_set = if kind.shareable { ", shared = COALESCE($4, shared)" } else { "" };
    let sql = format!(
        "UPDATE {} SET name = COALESCE($2, name), description = COALESCE($3, description){shared_set} WHERE id = $1",
        kind.table
    );
    let changed = on_tx!(tx, |conn| {
        let query = sqlx::query(&sql).bind(id).bind(name).bind(description);
        let query = if kind.shareable { query.bind(shared.map(i64::from)) } else { query };
        query.execute(conn).await.map(|r| r.rows_affected())
    })?;
    Ok(changed > 0)
}

/// Whether object `id` exists now, locked until `tx` ends on PostgreSQL.
pub async fn lock(tx: &mut Tx, kind: &GroupKind, id: i64) -> Result<bool, StoreError> {
    super::references::lock_row(tx, kind.table, id).await
}

/// How many feature codes, and how many numbers, refer to object `id`
/// (of any customer: a shared object is referred to by many).
pub async fn users(tx: &mut Tx, kind: &GroupKind, id: i64) -> Result<(i64, i64), StoreError> {
    let mut counts = [0; 2];
    for (count, table) in counts.iter_mut().zip(["codes", "number_routes"]) {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {}", kind.referred_by);
        *count = on_tx!(tx, |conn| sqlx::query_scalar(&sql).bind(id).fetch_one(conn).await)?;
    }
    Ok((counts[0], counts[1]))
}

pub async fn delete(tx: &mut Tx, kind: &GroupKind, id: i64) -> Result<(), StoreError> {
    let sql = format!("DELETE FROM {} WHERE id = $1", kind.table);
    on_tx!(tx, |conn| sqlx::query(&sql).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
