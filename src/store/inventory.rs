//! Number classes, inbound groups and regions: system-wide objects that
//! numbers refer to. One implementation serves the three; each has one column
//! of its own besides name and description (or none).

use serde_json::{Map, Value};
use sqlx::Row;

use super::{Db, ListWindow, StoreError, Tx, now_epoch};
use crate::{on_read, on_tx};

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
}

pub const CLASSES: InventoryKind = InventoryKind { table: "classes", extra: Extra::Integer("rank") };
pub const INGROUPS: InventoryKind = InventoryKind { table: "ingroups", extra: Extra::Text("code") };
pub const REGIONS: InventoryKind = InventoryKind { table: "regions", extra: Extra::None };

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

pub async fn exists(db: &Db, kind: &InventoryKind, id: i64) -> Result<bool, StoreError> {
    let sql = format!("SELECT id FROM {} WHERE id = $1", kind.table);
    let found: Option<i64> = on_read!(db, |pool| sqlx::query_scalar(&sql).bind(id).fetch_optional(pool).await)?;
    Ok(found.is_some())
}

pub async fn count(db: &Db, kind: &InventoryKind) -> Result<i64, StoreError> {
    let sql = format!("SELECT COUNT(*) FROM {}", kind.table);
    Ok(on_read!(db, |pool| sqlx::query_scalar(&sql).fetch_one(pool).await)?)
}

/// Rows as JSON objects: `id`, `name`, `description`, the kind's column, `created`.
pub async fn list(db: &Db, kind: &InventoryKind, window: &ListWindow) -> Result<Vec<Value>, StoreError> {
    let column = match kind.extra {
        Extra::None => "NULL AS extra".to_string(),
        Extra::Integer(c) | Extra::Text(c) => format!("{c} AS extra"),
    };
    let sql = format!(
        "SELECT id, name, description, {column}, created FROM {} ORDER BY id {} LIMIT $1 OFFSET $2",
        kind.table,
        window.order()
    );
    let extra = kind.extra;
    let rows = on_read!(db, |pool| {
        let rows = sqlx::query(&sql).bind(window.limit_or_all()).bind(window.offset).fetch_all(pool).await?;
        rows.iter()
            .map(|row| {
                let mut object = Map::new();
                object.insert("id".into(), row.try_get::<i64, _>("id")?.into());
                object.insert("name".into(), row.try_get::<String, _>("name")?.into());
                object.insert("description".into(), row.try_get::<String, _>("description")?.into());
                match extra {
                    Extra::None => {}
                    Extra::Integer(c) => {
                        object.insert(c.into(), row.try_get::<i64, _>("extra")?.into());
                    }
                    Extra::Text(c) => {
                        object.insert(c.into(), row.try_get::<String, _>("extra")?.into());
                    }
                }
                object.insert("created".into(), row.try_get::<i64, _>("created")?.into());
                Ok::<_, sqlx::Error>(Value::Object(object))
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(rows)
}
