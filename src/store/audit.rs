//! The audit trail: one row per call that acted.

use serde_json::{Map, Value};

use super::{Db, ListWindow, StoreError, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub person: i64,
    pub username: String,
    pub customer: i64,
    pub client: String,
    pub call: String,
    /// A JSON object of the identifying parameters.
    pub object: String,
    pub created: i64,
}

/// The row of a call that acted, written in the call's own transaction.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub person: i64,
    pub username: String,
    pub customer: i64,
    pub client: String,
    pub call: &'static str,
    /// The identifying parameters (and what the call made: an id, a count).
    pub object: Map<String, Value>,
}

/// The statement's head, for statements that take the values from a query
/// of their own (see [`bind_entry`]).
macro_rules! insert_into {
    () => {
        "INSERT INTO audit (person, username, customer, client, call, object, created)"
    };
}
pub const INSERT_INTO: &str = insert_into!();
pub const INSERT: &str = concat!(insert_into!(), " VALUES ($1, $2, $3, $4, $5, $6, $7)");

/// Binds `entry` as the seven values of [`INSERT`], in its order, for a
/// statement that writes the audit row itself (see `codes::insert_within_plan`).
pub fn bind_entry<'q, DB: sqlx::Database>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    entry: &'q NewAudit,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    query
        .bind(entry.person)
        .bind(entry.username.as_str())
        .bind(entry.customer)
        .bind(entry.client.as_str())
        .bind(entry.call)
        .bind(Value::Object(entry.object.clone()).to_string())
        .bind(super::now_epoch())
}

/// `entry` as a row of the `audit` table in JSON, for a statement that
/// writes many rows from one array (see `codes::insert_together`).
pub fn as_row(entry: &NewAudit) -> Value {
    serde_json::json!({
        "person": entry.person,
        "username": entry.username,
        "customer": entry.customer,
        "client": entry.client,
        "call": entry.call,
        "object": Value::Object(entry.object.clone()).to_string(),
        "created": super::now_epoch(),
    })
}

/// The same, on a bare connection already inside a transaction (bulk loads
/// manage their own).
macro_rules! record_on {
    ($conn:expr, $entry:expr) => {{
        let object = serde_json::Value::Object($entry.object.clone()).to_string();
        sqlx::query($crate::store::audit::INSERT)
            .bind($entry.person)
            .bind(&$entry.username)
            .bind($entry.customer)
            .bind(&$entry.client)
            .bind($entry.call)
            .bind(object)
            .bind($crate::store::now_epoch())
            .execute($conn)
            .await
            .map(|_| ())
            .map_err($crate::store::StoreError::from)
    }};
}
pub(crate) use record_on;

/// Writes the row inside `tx`: it commits or rolls back with the change.
pub async fn record(tx: &mut Tx, entry: &NewAudit) -> Result<(), StoreError> {
    on_tx!(tx, |conn| record_on!(conn, entry))
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

/// The rows matching `filter`; every filter is bound, a sentinel (-1, '')
/// standing for "any".
const MATCHING: &str = "FROM audit WHERE ($1 = -1 OR person = $1) AND ($2 = -1 OR customer = $2) \
     AND ($3 = '' OR call = $3) AND created >= $4 AND created <= $5";

pub async fn list(db: &Db, filter: &AuditFilter, window: &ListWindow) -> Result<Vec<AuditRow>, StoreError> {
    let sql = format!(
        "SELECT id, person, username, customer, client, call, object, created {MATCHING} \
         ORDER BY id {} LIMIT $6 OFFSET $7",
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

/// How many rows match `filter`, counted by the database.
pub async fn count(db: &Db, filter: &AuditFilter) -> Result<i64, StoreError> {
    let sql = format!("SELECT COUNT(*) {MATCHING}");
    Ok(on_read!(db, |pool| sqlx::query_scalar(&sql)
        .bind(filter.person.unwrap_or(-1))
        .bind(filter.customer.unwrap_or(-1))
        .bind(filter.call.clone().unwrap_or_default())
        .bind(filter.since.unwrap_or(i64::MIN))
        .bind(filter.until.unwrap_or(i64::MAX))
        .fetch_one(pool)
        .await)?)
}
