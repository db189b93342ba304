//! Each customer's ledger: what it was charged (a negative amount) and
//! credited (positive). Rows are only ever added, in the transaction of the
//! change they account for; the balance is their sum, so it cannot drift
//! from them.

use serde::Serialize;

use super::{
    Db, ListWindow, RowChunks, StoreError, Tx,
    stream::{self, Bind, bind_all},
};
use crate::domain::money::Money;

/// Why a ledger row was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    /// A number class's setup price, for a purchase or a charged import.
    Setup,
    /// customers/balance/add with a positive amount.
    Credit,
    /// customers/balance/add with a negative amount.
    Adjustment,
}

impl EntryType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Setup => "setup",
            Self::Credit => "credit",
            Self::Adjustment => "adjustment",
        }
    }
}

/// A row to add.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub customer: i64,
    pub entry_type: EntryType,
    pub amount: Money,
    /// The number class charged for (0: none).
    pub class: i64,
    /// How many numbers were charged for (0: none).
    pub count: i64,
    /// The import charged for (0: none).
    pub batch: i64,
    /// The number bought ("" for none).
    pub number: &'a str,
    pub description: &'a str,
    pub person: i64,
}

pub const INSERT: &str = "INSERT INTO ledger \
    (customer, type, amount, class, count, batch, number, description, person, created) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Binds a [`NewEntry`] to [`INSERT`] and runs it on `$conn`.
macro_rules! add_on {
    ($conn:expr, $entry:expr) => {{
        let entry = &$entry;
        sqlx::query($crate::store::ledger::INSERT)
            .bind(entry.customer)
            .bind(entry.entry_type.as_str())
            .bind(entry.amount.units())
            .bind(entry.class)
            .bind(entry.count)
            .bind(entry.batch)
            .bind(entry.number)
            .bind(entry.description)
            .bind(entry.person)
            .bind($crate::store::now_epoch())
            .execute($conn)
            .await
            .map(drop)
            .map_err($crate::store::StoreError::from)
    }};
}
pub(crate) use add_on;

pub async fn add(tx: &mut Tx, entry: &NewEntry<'_>) -> Result<(), StoreError> {
    on_tx!(tx, |conn| add_on!(conn, entry))
}

const SUM: &str = "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger WHERE customer = $1";

/// The sum of `customer`'s ledger inside `tx` (where an addition is judged).
pub async fn balance_in(tx: &mut Tx, customer: i64) -> Result<Money, StoreError> {
    let sum: i64 = on_tx!(tx, |conn| sqlx::query_scalar(SUM).bind(customer).fetch_one(conn).await)?;
    Ok(Money::from_units(sum))
}

/// The sum of `customer`'s ledger.
pub async fn balance(db: &Db, customer: i64) -> Result<Money, StoreError> {
    let sum: i64 = on_read!(db, |pool| sqlx::query_scalar(SUM).bind(customer).fetch_one(pool).await)?;
    Ok(Money::from_units(sum))
}

/// A ledger row as answered.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: i64,
    pub customer: i64,
    #[serde(rename = "type")]
    pub entry_type: String,
    pub amount: Money,
    pub class: i64,
    pub count: i64,
    pub batch: i64,
    pub number: String,
    pub description: String,
    pub person: i64,
    pub created: i64,
}

macro_rules! entry_from_row {
    ($row_type:ty) => {
        impl<'r> sqlx::FromRow<'r, $row_type> for Entry {
            fn from_row(row: &'r $row_type) -> Result<Self, sqlx::Error> {
                use sqlx::Row;
                Ok(Self {
                    id: row.try_get("id")?,
                    customer: row.try_get("customer")?,
                    entry_type: row.try_get("type")?,
                    amount: Money::from_units(row.try_get("amount")?),
                    class: row.try_get("class")?,
                    count: row.try_get("count")?,
                    batch: row.try_get("batch")?,
                    number: row.try_get("number")?,
                    description: row.try_get("description")?,
                    person: row.try_get("person")?,
                    created: row.try_get("created")?,
                })
            }
        }
    };
}
entry_from_row!(sqlx::sqlite::SqliteRow);
entry_from_row!(sqlx::postgres::PgRow);

/// The rows of a customer's ledger written in `since <= created < until`
/// (`until` 0: no bound).
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub since: i64,
    pub until: i64,
}

fn clause(customer: i64, period: Period) -> (String, Vec<Bind>) {
    let mut binds = vec![Bind::Int(customer), Bind::Int(period.since)];
    let mut clause = " WHERE customer = $1 AND created >= $2".to_string();
    if period.until != 0 {
        binds.push(Bind::Int(period.until));
        clause.push_str(" AND created < $3");
    }
    (clause, binds)
}

pub async fn count(db: &Db, customer: i64, period: Period) -> Result<i64, StoreError> {
    let (clause, binds) = clause(customer, period);
    let sql = format!("SELECT COUNT(*) FROM ledger{clause}");
    Ok(on_read!(db, |pool| bind_all!(sqlx::query_scalar(&sql), &binds).fetch_one(pool).await)?)
}

/// Streams the rows in the order they were written.
pub async fn stream(
    db: &Db,
    customer: i64,
    period: Period,
    window: &ListWindow,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Result<RowChunks, StoreError> {
    let (clause, mut binds) = clause(customer, period);
    binds.push(Bind::Int(window.limit_or_all()));
    binds.push(Bind::Int(window.offset));
    let sql = format!(
        "SELECT id, customer, type, amount, class, count, batch, number, description, person, created \
         FROM ledger{clause} ORDER BY id {} LIMIT ${} OFFSET ${}",
        window.order(),
        binds.len() - 1,
        binds.len()
    );
    stream::rows::<Entry>(db, sql, binds, permit).await
}
