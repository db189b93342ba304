//! The audit trail: one row per call that acted.

use serde::Serialize;

use super::{Db, ListWindow, StoreError, now_epoch};
use crate::on_read;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub person: i64,
    pub username: String,
    pub customer: i64,
    pub client: String,
    pub call: String,
    pub object: String,
    pub created: i64,
}

pub struct NewAudit<'a> {
    pub person: i64,
    pub username: &'a str,
    pub customer: i64,
    pub client: &'a str,
    pub call: &'a str,
    pub object: &'a str,
}

pub async fn record(db: &Db, entry: &NewAudit<'_>) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    crate::on_tx!(&mut tx, |conn| {
        sqlx::query(
        "INSERT INTO audit (person, username, customer, client, call, object, created) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(entry.person)
    .bind(entry.username)
    .bind(entry.customer)
    .bind(entry.client)
    .bind(entry.call)
    .bind(entry.object)
    .bind(now_epoch())
    .execute(conn)
    .await
    .map(|_| ())
    })?;
    tx.commit().await
}

/// Filters of audit/list; `None` means any.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub person: Option<i64>,
    pub customer: Option<i64>,
    pub call: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

pub async fn list(db: &Db, filter: &AuditFilter, window: &ListWindow) -> Result<Vec<AuditRow>, StoreError> {
    // Every filter is bound; a sentinel (-1, '') stands for "any".
    let sql = format!(
        "SELECT id, person, username, customer, client, call, object, created FROM audit \
         WHERE ($1 = -1 OR person = $1) AND ($2 = -1 OR customer = $2) AND ($3 = '' OR call = $3) \
         AND created >= $4 AND created <= $5 ORDER BY id {} LIMIT $6 OFFSET $7",
        window.order()
    );
    Ok(on_read!(db, |pool| sqlx::query_as(&sql)
        .bind(filter.person.unwrap_or(-1))
        .bind(filter.customer.unwrap_or(-1))
        .bind(filter.call.clone().unwrap_or_default())
        .bind(filter.since.unwrap_or(i64::MIN))
        .bind(filter.until.unwrap_or(i64::MAX))
        .bind(window.limit_or_all())
        .bind(window.offset)
        .fetch_all(pool)
        .await)?)
}
