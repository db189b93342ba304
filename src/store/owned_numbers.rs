//! Numbers a customer holds: buying one from the pool, its customer-side
//! fields (where calls to it go), giving it back, and what routes to it.
//! The customer-side fields live in `number_routes`, one row per number that
//! has been changed by numbers/update; a number without one has the
//! defaults, so the pool and bulk imports never pay for these columns.

use std::sync::LazyLock;

use serde::Serialize;
use sqlx::{Row, postgres::PgRow, sqlite::SqliteRow};

use super::{
    Db, ListWindow, RowChunks, StoreError, Tx,
    numbers::NumberRow,
    stream::{self, Bind, bind_all},
};
use crate::domain::{NumberSort, money::Money};

stored_record! {
    /// The customer-side fields of a number (numbers/update), in table order.
    NumberRoute {
        description: String,
        dtype: String,
        dnumber: String,
        fax_detect: i64,
        fax_dtype: String,
        fax_dnumber: String,
        callerid: String,
        allow_callerid: String,
        directory: i64,
        language: String,
        maximum_seconds: i64,
        music: i64,
        owner: i64,
        password: String,
        recordgroup: i64,
        ringtone: String,
        routing: String,
        screen: i64,
        sname: String,
        sname_action: String,
    }
}

/// What a number without customer-side fields has: calls to it hang up.
impl Default for NumberRoute {
    fn default() -> Self {
        Self {
            description: String::new(),
            dtype: "hangup".into(),
            dnumber: String::new(),
            fax_detect: 0,
            fax_dtype: String::new(),
            fax_dnumber: String::new(),
            callerid: String::new(),
            allow_callerid: "customer".into(),
            directory: 0,
            language: String::new(),
            maximum_seconds: -1,
            music: 0,
            owner: 0,
            password: String::new(),
            recordgroup: 0,
            ringtone: String::new(),
            routing: String::new(),
            screen: 0,
            sname: String::new(),
            sname_action: "replace".into(),
        }
    }
}

/// A number as its customer sees it (numbers/get, numbers/list rows).
#[derive(Debug, Clone, Serialize)]
pub struct OwnedNumber {
    #[serde(flatten)]
    pub inventory: NumberRow,
    #[serde(flatten)]
    pub route: NumberRoute,
}

/// Reads the joined row: the route's columns are all NULL (and `routed` is)
/// when the number has no row of its own, and then it has the defaults.
macro_rules! owned_from_row {
    ($row_type:ty) => {
        impl<'r> sqlx::FromRow<'r, $row_type> for OwnedNumber {
            fn from_row(row: &'r $row_type) -> Result<Self, sqlx::Error> {
                let routed: Option<String> = row.try_get("routed")?;
                Ok(Self {
                    inventory: NumberRow::from_row(row)?,
                    route: if routed.is_some() { NumberRoute::from_row(row)? } else { NumberRoute::default() },
                })
            }
        }
    };
}
owned_from_row!(SqliteRow);
owned_from_row!(PgRow);

/// A number with its customer-side fields, if it has any.
const JOINED: &str = "numbers n LEFT JOIN number_routes r ON r.number = n.number AND r.customer = n.customer";

/// `n.*` of the inventory, `r.number AS routed`, then the route's columns.
static SELECT: LazyLock<String> = LazyLock::new(|| {
    let route: Vec<String> = FIELDS.iter().map(|f| format!("r.{f}")).collect();
    format!(
        "SELECT n.number, n.class, n.ingroup, n.customer, n.region, n.alias, n.stype, n.batch, n.created, n.shortcut, \
         r.number AS routed, {} FROM {JOINED}",
        route.join(", ")
    )
});

/// Writes a number's customer-side fields, replacing any it had.
static UPSERT: LazyLock<String> = LazyLock::new(|| {
    let sets: Vec<String> = FIELDS.iter().map(|f| format!("{f} = excluded.{f}")).collect();
    format!(
        "INSERT INTO number_routes (number, customer, {}) VALUES ($1, $2, {}) \
         ON CONFLICT (number) DO UPDATE SET customer = excluded.customer, {}",
        FIELDS.join(", "),
        super::placeholders(3, FIELDS.len() + 2),
        sets.join(", ")
    )
});

pub async fn get(db: &Db, customer: i64, number: &str) -> Result<Option<OwnedNumber>, StoreError> {
    let sql = format!("{} WHERE n.number = $1 AND n.customer = $2", *SELECT);
    Ok(on_read!(db, |pool| sqlx::query_as(&sql).bind(number).bind(customer).fetch_optional(pool).await)?)
}

/// Which of a customer's numbers numbers/list shows.
#[derive(Debug, Clone, Default)]
pub struct HeldFilter {
    /// Also those only usable as a caller ID (`stype=callerid`).
    pub callerid: bool,
    /// Only those listed in the directory.
    pub directory: bool,
    /// Only those starting with these digits.
    pub prefix: Option<String>,
}

/// The condition of numbers/list.
fn list_clause(customer: i64, filter: &HeldFilter) -> (String, Vec<Bind>) {
    let kinds = if filter.callerid { "" } else { " AND n.stype = 'number'" };
    let directory = if filter.directory { " AND r.directory = 1" } else { "" };
    let mut binds = vec![Bind::Int(customer)];
    let prefix = match &filter.prefix {
        Some(prefix) => {
            let (low, high) = super::numbers::prefix_range(prefix);
            binds.extend([Bind::Text(low), Bind::Text(high)]);
            " AND n.number >= $2 AND n.number < $3"
        }
        None => "",
    };
    // `customer <> 0` lets the planner use the index of assigned numbers.
    (format!(" WHERE n.customer = $1 AND n.customer <> 0{kinds}{directory}{prefix}"), binds)
}

pub async fn count(db: &Db, customer: i64, filter: &HeldFilter) -> Result<i64, StoreError> {
    let (clause, binds) = list_clause(customer, filter);
    let sql = format!("SELECT COUNT(*) FROM {JOINED}{clause}");
    Ok(on_read!(db, |pool| bind_all!(sqlx::query_scalar(&sql), &binds).fetch_one(pool).await)?)
}

/// Streams a customer's numbers in `sort` order (ties by number), only those
/// past `after` in number order if given.
pub async fn stream(
    db: &Db,
    customer: i64,
    filter: &HeldFilter,
    sort: NumberSort,
    after: Option<&str>,
    window: &ListWindow,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Result<RowChunks, StoreError> {
    let (mut clause, mut binds) = list_clause(customer, filter);
    // The call allows `after` with the number sort only, where it is a keyset.
    if let Some(after) = after {
        binds.push(Bind::Text(after.to_string()));
        clause.push_str(" AND ");
        clause.push_str(&super::numbers::after_condition("n.number", window.descending, binds.len()));
    }
    let order = window.order();
    // An unrouted number sorts as its defaults: type hangup, no number.
    let keys = match sort {
        NumberSort::Number => format!("n.number {order}"),
        NumberSort::Destination => {
            format!("COALESCE(r.dtype, 'hangup') {order}, COALESCE(r.dnumber, '') {order}, n.number {order}")
        }
        NumberSort::Dnumber => format!("COALESCE(r.dnumber, '') {order}, n.number {order}"),
    };
    binds.push(Bind::Int(window.limit_or_all()));
    binds.push(Bind::Int(window.offset));
    let sql = format!("{}{clause} ORDER BY {keys} LIMIT ${} OFFSET ${}", *SELECT, binds.len() - 1, binds.len());
    stream::rows::<OwnedNumber>(db, sql, binds, permit).await
}

/// How a write locks the number it acts on (PostgreSQL).
#[derive(Debug, Clone, Copy)]
enum Lock {
    /// Changing its fields: waits for a release, but not for writers that
    /// merely hold the number as a destination (`FOR KEY SHARE`), so two
    /// numbers routed to each other at once cannot deadlock.
    Change,
    /// Releasing it: waits for every writer that holds it as a destination,
    /// so that what routes to it is seen before it goes.
    Release,
}

/// The number `customer` holds, locked (PostgreSQL) until `tx` ends.
async fn lock_owned(tx: &mut Tx, customer: i64, number: &str, lock: Lock) -> Result<bool, StoreError> {
    let sql = "SELECT number FROM numbers WHERE number = $1 AND customer = $2";
    let found: Option<String> = match tx {
        Tx::Sqlite(lite) => sqlx::query_scalar(sql).bind(number).bind(customer).fetch_optional(&mut **lite).await?,
        Tx::Postgres(pg) => {
            let mode = match lock {
                Lock::Change => "FOR NO KEY UPDATE",
                Lock::Release => "FOR UPDATE",
            };
            sqlx::query_scalar(&format!("{sql} {mode}")).bind(number).bind(customer).fetch_optional(&mut **pg).await?
        }
    };
    Ok(found.is_some())
}

/// A number bought: its class and that class's setup price.
#[derive(Debug, Clone, Copy)]
pub struct Bought {
    pub class: i64,
    pub setup: Money,
}

/// Moves `number` from the pool to `customer`: `None` when it is not in the
/// pool. Two purchases of one number race on its row: the second waits for
/// the first and then finds it no longer in the pool.
pub async fn purchase(tx: &mut Tx, customer: i64, number: &str) -> Result<Option<Bought>, StoreError> {
    let class: Option<i64> = on_tx!(tx, |conn| sqlx::query_scalar(
        "UPDATE numbers SET customer = $1 WHERE number = $2 AND customer = 0 RETURNING class"
    )
    .bind(customer)
    .bind(number)
    .fetch_optional(&mut *conn)
    .await)?;
    let Some(class) = class else { return Ok(None) };
    let setup: Option<i64> = on_tx!(tx, |conn| sqlx::query_scalar("SELECT setup FROM classes WHERE id = $1")
        .bind(class)
        .fetch_optional(&mut *conn)
        .await)?;
    Ok(Some(Bought { class, setup: Money::from_units(setup.unwrap_or(0)) }))
}

/// What [`save_route`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Saved {
    Done,
    /// The customer holds no such number (any more).
    NotHeld,
    /// Its fields changed since they were read: the checks made on them no longer hold.
    Changed,
}

/// Writes the customer-side fields of a number `customer` holds, if they are
/// still `read` (what the request's checks were made against): the number is
/// locked first, so no other write comes between this comparison and the write.
pub async fn save_route(
    tx: &mut Tx,
    customer: i64,
    number: &str,
    read: &NumberRoute,
    route: &NumberRoute,
) -> Result<Saved, StoreError> {
    if !lock_owned(tx, customer, number, Lock::Change).await? {
        return Ok(Saved::NotHeld);
    }
    let sql = format!("{} WHERE n.number = $1 AND n.customer = $2", *SELECT);
    let now: Option<OwnedNumber> =
        on_tx!(tx, |conn| sqlx::query_as(&sql).bind(number).bind(customer).fetch_optional(&mut *conn).await)?;
    if now.is_none_or(|now| now.route != *read) {
        return Ok(Saved::Changed);
    }
    on_tx!(tx, |conn| bind_record(sqlx::query(&UPSERT).bind(number).bind(customer), route)
        .execute(&mut *conn)
        .await
        .map(drop))?;
    Ok(Saved::Done)
}

/// The numbers a change of hands or a delete acts on.
#[derive(Debug, Clone, Copy)]
pub enum Targets<'a> {
    One(&'a str),
    /// `first..=last` of one width.
    Range {
        first: &'a str,
        last: &'a str,
        width: i64,
    },
    Batch(i64),
}

impl Targets<'_> {
    /// A condition that `column` holds one of the targets, binding `$1` on.
    /// A number or a range is judged by value (so it still works after the
    /// numbers are deleted); a batch through the numbers that carry it.
    fn holds(&self, column: &str) -> (String, Vec<Bind>) {
        match *self {
            Self::One(number) => (format!("{column} = $1"), vec![Bind::Text(number.into())]),
            Self::Range { first, last, width } => (
                format!("{column} >= $1 AND {column} <= $2 AND length({column}) = $3"),
                vec![Bind::Text(first.into()), Bind::Text(last.into()), Bind::Int(width)],
            ),
            Self::Batch(batch) => {
                (format!("{column} IN (SELECT number FROM numbers WHERE batch = $1)"), vec![Bind::Int(batch)])
            }
        }
    }
}

/// What routes to some numbers: feature codes (by code) and other numbers.
#[derive(Debug, Default)]
pub struct RoutedBy {
    pub codes: Vec<String>,
    pub numbers: Vec<String>,
}

impl RoutedBy {
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty() && self.numbers.is_empty()
    }
}

/// `(call or fax destination of type number) IN targets`, on the columns of
/// codes and number_routes alike.
fn routes_to(targets: Targets<'_>) -> (String, Vec<Bind>) {
    let (call, binds) = targets.holds("dnumber");
    let (fax, _) = targets.holds("fax_dnumber");
    (format!("((dtype = 'number' AND {call}) OR (fax_dtype = 'number' AND {fax}))"), binds)
}

/// Locks `targets` (PostgreSQL, `FOR UPDATE`) until `tx` ends: a writer
/// routing to one of them holds it `FOR KEY SHARE`, so it has either
/// committed (and [`routed_to`] sees it) or waits (and then finds its
/// destination gone or moved). A `Range` is not locked here: its caller
/// deletes it first, which takes the same locks, and judges it by value
/// after; locking a million rows only to delete them would more than double
/// a range delete (measured: 0.62 s of locking before a 0.46 s delete of
/// 1,000,000 numbers).
pub async fn lock(tx: &mut Tx, targets: Targets<'_>) -> Result<(), StoreError> {
    if let (Tx::Postgres(pg), Targets::One(_) | Targets::Batch(_)) = (tx, targets) {
        let (condition, binds) = targets.holds("number");
        let lock = format!("SELECT COUNT(*) FROM (SELECT 1 FROM numbers WHERE {condition} FOR UPDATE) locked");
        bind_all!(sqlx::query_scalar::<_, i64>(&lock), &binds).fetch_one(&mut **pg).await?;
    }
    Ok(())
}

/// What routes to `targets`, by call or fax destination, seen by a fresh
/// statement (race-safe once they are locked or deleted: see [`lock`]).
pub async fn routed_to(tx: &mut Tx, targets: Targets<'_>) -> Result<RoutedBy, StoreError> {
    let (to_targets, binds) = routes_to(targets);
    let codes = format!("SELECT DISTINCT code FROM codes WHERE {to_targets} ORDER BY code");
    let numbers = format!("SELECT number FROM number_routes WHERE {to_targets} ORDER BY number");
    Ok(on_tx!(tx, |conn| {
        let codes = bind_all!(sqlx::query_scalar(&codes), &binds).fetch_all(&mut *conn).await?;
        let numbers = bind_all!(sqlx::query_scalar(&numbers), &binds).fetch_all(&mut *conn).await?;
        RoutedBy { codes, numbers }
    }))
}

/// Clears every call or fax destination that routes to `targets` (call
/// destinations become `hangup`, fax ones none): how many codes and how many
/// numbers had one cleared.
pub async fn clear_routes_to(tx: &mut Tx, targets: Targets<'_>) -> Result<(u64, u64), StoreError> {
    let (to_targets, binds) = routes_to(targets);
    let mut cleared = [0u64; 2];
    for (i, table) in ["codes", "number_routes"].into_iter().enumerate() {
        // One statement per table, so that a row routing both ways counts once.
        let sql = format!(
            "UPDATE {table} SET \
             dnumber = CASE WHEN dtype = 'number' THEN '' ELSE dnumber END, \
             dtype = CASE WHEN dtype = 'number' THEN 'hangup' ELSE dtype END, \
             fax_detect = CASE WHEN fax_dtype = 'number' THEN 0 ELSE fax_detect END, \
             fax_dnumber = CASE WHEN fax_dtype = 'number' THEN '' ELSE fax_dnumber END, \
             fax_dtype = CASE WHEN fax_dtype = 'number' THEN '' ELSE fax_dtype END \
             WHERE {to_targets}"
        );
        cleared[i] = on_tx!(tx, |conn| bind_all!(sqlx::query(&sql), &binds)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok((cleared[0], cleared[1]))
}

/// Forgets the customer-side fields of `targets` (when they are deleted or
/// change hands; a batch before its numbers are deleted).
pub async fn forget_routes(tx: &mut Tx, targets: Targets<'_>) -> Result<(), StoreError> {
    let (condition, binds) = targets.holds("number");
    let sql = format!("DELETE FROM number_routes WHERE {condition}");
    on_tx!(tx, |conn| bind_all!(sqlx::query(&sql), &binds).execute(&mut *conn).await.map(drop))?;
    Ok(())
}

/// Who holds `number` now (0: the pool), inside `tx`.
pub async fn holder(tx: &mut Tx, number: &str) -> Result<Option<i64>, StoreError> {
    Ok(on_tx!(tx, |conn| sqlx::query_scalar("SELECT customer FROM numbers WHERE number = $1")
        .bind(number)
        .fetch_optional(&mut *conn)
        .await)?)
}

/// Releases a number `customer` holds to the pool, its routing forgotten.
/// `Err(routed)` while something routes to it; `Ok(false)` when the
/// customer holds no such number.
pub async fn release(tx: &mut Tx, customer: i64, number: &str) -> Result<Result<bool, RoutedBy>, StoreError> {
    if !lock_owned(tx, customer, number, Lock::Release).await? {
        return Ok(Ok(false));
    }
    let routed = routed_to(tx, Targets::One(number)).await?;
    if !routed.is_empty() {
        return Ok(Err(routed));
    }
    forget_routes(tx, Targets::One(number)).await?;
    on_tx!(tx, |conn| sqlx::query("UPDATE numbers SET customer = 0 WHERE number = $1")
        .bind(number)
        .execute(&mut *conn)
        .await
        .map(drop))?;
    Ok(Ok(true))
}

/// One class's part of what a customer's numbers cost per month.
#[derive(Debug, Clone, Serialize)]
pub struct MonthlyByClass {
    pub class: i64,
    pub name: String,
    pub count: i64,
    pub monthly: Money,
    pub total: Money,
}

/// What `customer`'s numbers cost per month now, per class.
pub async fn monthly(db: &Db, customer: i64) -> Result<Vec<MonthlyByClass>, StoreError> {
    let rows: Vec<(i64, Option<String>, i64, Option<i64>)> = on_read!(db, |pool| sqlx::query_as(
        "SELECT n.class, c.name, COUNT(*), c.monthly FROM numbers n LEFT JOIN classes c ON c.id = n.class \
         WHERE n.customer = $1 AND n.customer <> 0 GROUP BY n.class, c.name, c.monthly ORDER BY n.class"
    )
    .bind(customer)
    .fetch_all(pool)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(class, name, count, monthly)| {
            let monthly = Money::from_units(monthly.unwrap_or(0));
            // Prices are at most a million units; only a table of billions
            // of numbers could reach the bound, which then holds.
            let total = monthly.times(count).unwrap_or(Money::from_units(i64::MAX));
            MonthlyByClass { class, name: name.unwrap_or_default(), count, monthly, total }
        })
        .collect())
}
