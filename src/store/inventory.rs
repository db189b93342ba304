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
    /// The column of `numbers` that refers to a row.
    pub numbers_column: &'static str,
    /// What a row is called, and the 404 of one that does not exist.
    pub noun: &'static str,
    pub missing: &'static str,
}

// The extra columns' names are those of [`InventoryRow`]'s optional fields.
pub const CLASSES: InventoryKind = InventoryKind {
    table: "classes",
    extra: Extra::Integer("rank"),
    priced: true,
    numbers_column: "class",
    noun: "number class",
    missing: "The number class does not exist.",
};
pub const INGROUPS: InventoryKind = InventoryKind {
    table: "ingroups",
    extra: Extra::Text("code"),
    priced: false,
    numbers_column: "ingroup",
    noun: "inbound group",
    missing: "The inbound group does not exist.",
};
pub const REGIONS: InventoryKind = InventoryKind {
    table: "regions",
    extra: Extra::None,
    priced: false,
    numbers_column: "region",
    noun: "region",
    missing: "The region does not exist.",
};

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

impl InventoryKind {
    /// The columns answered, in [`InventoryRow`]'s order.
    fn columns(&self) -> String {
        let column = match self.extra {
            Extra::None => "NULL AS extra".to_string(),
            Extra::Integer(c) | Extra::Text(c) => format!("{c} AS extra"),
        };
        let prices = if self.priced { "setup, monthly" } else { "0 AS setup, 0 AS monthly" };
        format!("id, name, description, {column}, {prices}, created")
    }
}

/// An [`InventoryRow`] from a row of [`InventoryKind::columns`], on either driver.
macro_rules! inventory_row {
    ($row:expr, $kind:expr) => {{
        let row = $row;
        let (rank, code) = match $kind.extra {
            Extra::None => (None, None),
            Extra::Integer(_) => (Some(row.try_get::<i64, _>("extra")?), None),
            Extra::Text(_) => (None, Some(row.try_get::<String, _>("extra")?)),
        };
        let priced = $kind.priced;
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
    }};
}

pub async fn list(db: &Db, kind: &InventoryKind, window: &ListWindow) -> Result<Vec<InventoryRow>, StoreError> {
    let sql =
        format!("SELECT {} FROM {} ORDER BY id {} LIMIT $1 OFFSET $2", kind.columns(), kind.table, window.order());
    let rows = on_read!(db, |pool| {
        let rows = sqlx::query(&sql).bind(window.limit_or_all()).bind(window.offset).fetch_all(pool).await?;
        rows.iter().map(|row| inventory_row!(row, kind)).collect::<Result<Vec<_>, _>>()
    })?;
    Ok(rows)
}

pub async fn get(db: &Db, kind: &InventoryKind, id: i64) -> Result<Option<InventoryRow>, StoreError> {
    let sql = format!("SELECT {} FROM {} WHERE id = $1", kind.columns(), kind.table);
    let row = on_read!(db, |pool| {
        match sqlx::query(&sql).bind(id).fetch_optional(pool).await? {
            Some(row) => inventory_row!(&row, kind).map(Some),
            None => Ok(None),
        }
    })?;
    Ok(row)
}

/// The fields an update sets; `None` keeps the stored value.
#[derive(Debug, Default)]
pub struct Changes {
    pub name: Option<String>,
    pub description: Option<String>,
    /// The kind's own column: a class's rank or an inbound group's code.
    pub extra: Option<ExtraChange>,
    pub setup: Option<Money>,
    pub monthly: Option<Money>,
}

#[derive(Debug)]
pub enum ExtraChange {
    Integer(i64),
    Text(String),
}

/// Changes the fields given, and only those, in one statement (two
/// concurrent updates of different fields both keep theirs); answers whether
/// the row exists.
pub async fn update(tx: &mut Tx, kind: &InventoryKind, id: i64, changes: &Changes) -> Result<bool, StoreError> {
    use super::stream::Bind::{Int, Text};
    let mut sets = Vec::new();
    let mut binds = vec![Int(id)];
    let mut set = |column: &str, value| {
        binds.push(value);
        sets.push(format!("{column} = ${}", binds.len()));
    };
    if let Some(name) = &changes.name {
        set("name", Text(name.clone()));
    }
    if let Some(description) = &changes.description {
        set("description", Text(description.clone()));
    }
    match (kind.extra, &changes.extra) {
        (Extra::Integer(column), Some(ExtraChange::Integer(n))) => set(column, Int(*n)),
        (Extra::Text(column), Some(ExtraChange::Text(t))) => set(column, Text(t.clone())),
        _ => {}
    }
    if kind.priced {
        if let Some(setup) = changes.setup {
            set("setup", Int(setup.units()));
        }
        if let Some(monthly) = changes.monthly {
            set("monthly", Int(monthly.units()));
        }
    }
    // Nothing to change still answers whether the row exists.
    let sets = if sets.is_empty() { "name = name".to_string() } else { sets.join(", ") };
    let sql = format!("UPDATE {} SET {sets} WHERE id = $1", kind.table);
    let changed = on_tx!(tx, |conn| super::stream::bind_all!(sqlx::query(&sql), &binds)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed > 0)
}

/// Whether row `id` exists now, locked until `tx` ends on PostgreSQL.
pub async fn lock(tx: &mut Tx, kind: &InventoryKind, id: i64) -> Result<bool, StoreError> {
    super::references::lock_row(tx, kind.table, id).await
}

/// How many numbers refer to row `id`. No index serves this (every index on
/// `numbers` is paid on every bulk import), so it reads the table: deletes of
/// classes, inbound groups and regions are rare.
pub async fn numbers_using(tx: &mut Tx, kind: &InventoryKind, id: i64) -> Result<i64, StoreError> {
    let sql = format!("SELECT COUNT(*) FROM numbers WHERE {} = $1", kind.numbers_column);
    Ok(on_tx!(tx, |conn| sqlx::query_scalar(&sql).bind(id).fetch_one(conn).await)?)
}

pub async fn delete(tx: &mut Tx, kind: &InventoryKind, id: i64) -> Result<(), StoreError> {
    let sql = format!("DELETE FROM {} WHERE id = $1", kind.table);
    on_tx!(tx, |conn| sqlx::query(&sql).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
