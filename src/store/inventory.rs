//! Number classes, inbound groups and regions: system-wide objects that
//! numbers refer to. One implementation serves the three; each has one column
//! of its own besides name and description (or none).

use sqlx::Row;

use super::{Db, ListWindow, StoreError, Tx, now_epoch};
use crate::domain::money::Money;

/// The column a kind has besides `id`, `name`, `description` and `created`.
#[derive(Debug, Clone, Copy)]
pub enum Extra {
    None,
    /// An integer column.
    Integer(&'static str),
    /// A text column.
    Text(&'static str),
}

#[derive(Debug)]
pub struct InventoryKind {
    pub table: &'static str,
    pub extra: Extra,
    /// Whether rows carry a setup and a monthly price (number classes).
    pub priced: bool,
}

// The extra columns' names are those of [`InventoryRow`]'s optional fields.
pub const CLASSES: InventoryKind = InventoryKind { table: "classes", extra: Extra::Integer("rank"), priced: true };
pub const INGROUPS: InventoryKind = InventoryKind { table: "ingroups", extra: Extra::Text("code"), priced: false };
pub const REGIONS: InventoryKind = InventoryKind { table: "regions", extra: Extra::None, priced: false };

/// A value for the kind's own column.
pub enum ExtraValue<'a> {
    None,
    Integer(i64),
    Text(&'a str),
}

pub async fn create(
    tx: &mut Tx,
    kind: &InventoryKind,
    name: &str,
    description: &str,
    extra: ExtraValue<'_>,
) -> Result<i64, StoreError> {
    let (column, value) = match kind.extra {
        Extra::None => ("", ""),
        Extra::Integer(c) | Extra::Text(c) => (c, ", $4"),
    };
    let column = if column.is_empty() { String::new() } else { format!(", {column}") };
    let sql = format!(
        "INSERT INTO {} (name, description, created{column}) VALUES ($1, $2, $3{value}) RETURNING id",
        kind.table
    );
    Ok(on_tx!(tx, |conn| {
        let query = sqlx::query_scalar(&sql).bind(name).bind(description).bind(now_epoch());
        let query = match &extra {
            ExtraValue::None => query,
            ExtraValue::Integer(n) => query.bind(*n),
            ExtraValue::Text(t) => query.bind(*t),
        };
        query.fetch_one(conn).await
    })?)
}

/// Sets a number class's prices.
pub async fn set_prices(tx: &mut Tx, class: i64, setup: Money, monthly: Money) -> Result<(), StoreError> {
    on_tx!(tx, |conn| sqlx::query("UPDATE classes SET setup = $2, monthly = $3 WHERE id = $1")
        .bind(class)
        .bind(setup.units())
        .bind(monthly.units())
        .execute(conn)
        .await
        .map(drop))?;
    Ok(())
}

pub async fn exists(db: &Db, kind: &InventoryKind, id: i64) -> Result<bool, StoreError> {
    let sql = format!("SELECT id FROM {} WHERE id = $1", kind.table);
    let found: Option<i64> = on_read!(db, |pool| sqlx::query_scalar(&sql).bind(id).fetch_optional(pool).await)?;
    Ok(found.is_some())
}

pub async fn count(db: &Db, kind: &InventoryKind) -> Result<i64, StoreError> {
    let sql = format!("SELECT COUNT(*) FROM {}", kind.table);
    Ok(on_read!(db, |pool| sqlx::query_scalar(&sql).fetch_one(pool).await)?)
}

/// One row as stored and answered: `id`, `name`, `description`, the kind's own
/// column (if it has one), `created`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InventoryRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly: Option<Money>,
    pub created: i64,
}

pub async fn list(db: &Db, kind: &InventoryKind, window: &ListWindow) -> Result<Vec<InventoryRow>, StoreError> {
    let column = match kind.extra {
        Extra::None => "NULL AS extra".to_string(),
        Extra::Integer(c) | Extra::Text(c) => format!("{c} AS extra"),
    };
    let prices = if kind.priced { "setup, monthly" } else { "0 AS setup, 0 AS monthly" };
    let sql = format!(
        "SELECT id, name, description, {column}, {prices}, created FROM {} ORDER BY id {} LIMIT $1 OFFSET $2",
        kind.table,
        window.order()
    );
    let (extra, priced) = (kind.extra, kind.priced);
    let rows = on_read!(db, |pool| {
        let rows = sqlx::query(&sql).bind(window.limit_or_all()).bind(window.offset).fetch_all(pool).await?;
        rows.iter()
            .map(|row| {
                let (rank, code) = match extra {
                    Extra::None => (None, None),
                    Extra::Integer(_) => (Some(row.try_get::<i64, _>("extra")?), None),
                    Extra::Text(_) => (None, Some(row.try_get::<String, _>("extra")?)),
                };
                Ok::<_, sqlx::Error>(InventoryRow {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    description: row.try_get("description")?,
                    rank,
                    code,
                    setup: if priced { Some(Money::from_units(row.try_get("setup")?)) } else { None },
                    monthly: if priced { Some(Money::from_units(row.try_get("monthly")?)) } else { None },
                    created: row.try_get("created")?,
                })
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(rows)
}
