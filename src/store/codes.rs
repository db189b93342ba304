//! Feature codes: one row per (customer, code), every field of codes/create.

use std::sync::LazyLock;

use super::{
    Db, ListWindow, StoreError, Tx,
    audit::{self, NewAudit},
    is_unique_violation,
    owned_numbers::{RoutedBy, Saved},
    placeholders,
    plans::Feature,
};
use crate::domain::CodeSort;

stored_record! {
    /// A feature code as stored and as answered (`codes/get`, `codes/list` rows).
    #[derive(Default)]
    CodeRecord {
        customer: i64,
        code: String,
        dtype: String,
        dnumber: String,
        description: String,
        direct: i64,
        fax_detect: i64,
        fax_dtype: String,
        fax_dnumber: String,
        language: String,
        maximum_seconds: i64,
        music: i64,
        owner: i64,
        panel: i64,
        password: String,
        play_message: i64,
        recordgroup: i64,
        ringtone: String,
        routing: String,
        screen: i64,
        shared: i64,
        sname: String,
        sname_action: String,
        text_dtype: String,
        text_dnumber: String,
        update_routing: i64,
        created: i64,
    }
}

static COLUMNS: LazyLock<String> = LazyLock::new(|| FIELDS.join(", "));
static INSERT: LazyLock<String> =
    LazyLock::new(|| format!("INSERT INTO codes ({}) VALUES ({})", *COLUMNS, placeholders(1, FIELDS.len())));
/// The customer's plan and its maximum for codes, joined as in
/// `plans::allows_one_more`, for the statement that checks and inserts at once.
static PLAN_OF_CUSTOMER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "FROM customers c LEFT JOIN plan_features f ON f.plan = c.plan AND f.feature = '{}' WHERE c.id = $1",
        Feature::Codes.key()
    )
});

/// A maximum that sets no limit (no feature row, or -1): only then does the
/// statement insert, because counting under a limit needs the customer's lock
/// taken before the count (a statement of its own; see `allows_one_more`).
const UNLIMITED: &str = "(f.maximum IS NULL OR f.maximum = -1)";

/// codes/create in one statement on PostgreSQL: the plan check, the insert
/// and the audit row, holding the customer (`FOR KEY SHARE`) like every
/// writer that names it.
static INSERT_WITHIN_PLAN_PG: LazyLock<String> = LazyLock::new(|| {
    let n = FIELDS.len();
    format!(
        "WITH plan AS (SELECT f.maximum AS maximum {plan} FOR KEY SHARE OF c), \
         code AS (INSERT INTO codes ({columns}) SELECT {values} FROM plan f WHERE {UNLIMITED} RETURNING 1), \
         audit_row AS ({audit_into} SELECT {audit} FROM code) \
         SELECT maximum, (SELECT COUNT(*) FROM code) FROM plan",
        plan = *PLAN_OF_CUSTOMER,
        columns = *COLUMNS,
        values = placeholders(1, n),
        audit_into = audit::INSERT_INTO,
        audit = placeholders(n + 1, n + 7),
    )
});

/// The same on SQLite, as three statements sent at once (one trip to the
/// writer connection's thread); `changes()` carries whether the code went in.
static INSERT_WITHIN_PLAN_LITE: LazyLock<String> = LazyLock::new(|| {
    let n = FIELDS.len();
    format!(
        "INSERT INTO codes ({columns}) SELECT {values} {plan} AND {UNLIMITED}; \
         {audit_into} SELECT {audit} WHERE changes() = 1; \
         SELECT f.maximum, changes() {plan}",
        plan = *PLAN_OF_CUSTOMER,
        columns = *COLUMNS,
        values = placeholders(1, n),
        audit_into = audit::INSERT_INTO,
        audit = placeholders(n + 1, n + 7),
    )
});
/// [`INSERT_WITHIN_PLAN_LITE`] as a transaction of its own.
static INSERT_ALONE_LITE: LazyLock<String> =
    LazyLock::new(|| format!("BEGIN IMMEDIATE; {}; COMMIT", *INSERT_WITHIN_PLAN_LITE));
static UPDATE: LazyLock<String> = LazyLock::new(|| {
    let sets: Vec<String> = FIELDS.iter().enumerate().skip(2).map(|(i, f)| format!("{f} = ${}", i + 1)).collect();
    format!("UPDATE codes SET {} WHERE customer = $1 AND code = $2", sets.join(", "))
});

/// The sort keys of `sort`, each in `order`, before the code itself.
fn sort_keys(sort: CodeSort, order: &str) -> String {
    match sort {
        CodeSort::Code => String::new(),
        CodeSort::Destination | CodeSort::Dtype => format!("dtype {order}, dnumber {order}, "),
        CodeSort::Dnumber => format!("dnumber {order}, "),
    }
}

/// The owner of shared codes: the system owner's customer.
pub const SHARING_CUSTOMER: i64 = 1;

pub async fn get(db: &Db, customer: i64, code: &str) -> Result<Option<CodeRecord>, StoreError> {
    let sql = format!("SELECT {} FROM codes WHERE customer = $1 AND code = $2", *COLUMNS);
    Ok(on_read!(db, |pool| sqlx::query_as(&sql).bind(customer).bind(code).fetch_optional(pool).await)?)
}

/// A customer's own codes plus those the system owner shares, in `sort` order (bytewise).
pub async fn list(db: &Db, customer: i64, sort: CodeSort, window: &ListWindow) -> Result<Vec<CodeRecord>, StoreError> {
    let order = window.order();
    let sql = format!(
        "SELECT {} FROM codes WHERE customer = $1 OR (customer = $2 AND shared = 1) \
         ORDER BY {}code {order}, customer {order} LIMIT $3 OFFSET $4",
        *COLUMNS,
        sort_keys(sort, order)
    );
    Ok(on_read!(db, |pool| sqlx::query_as(&sql)
        .bind(customer)
        .bind(SHARING_CUSTOMER)
        .bind(window.limit_or_all())
        .bind(window.offset)
        .fetch_all(pool)
        .await)?)
}

pub async fn count(db: &Db, customer: i64) -> Result<i64, StoreError> {
    Ok(on_read!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM codes WHERE customer = $1 OR (customer = $2 AND shared = 1)"
    )
    .bind(customer)
    .bind(SHARING_CUSTOMER)
    .fetch_one(pool)
    .await)?)
}

#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("the code exists")]
    Exists,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`insert_within_plan`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum PlanInsert {
    /// The code and its audit row are in.
    Inserted,
    Exists,
    /// The plan sets a maximum: nothing was written; count under the
    /// customer's lock (`plans::allows_one_more`) and insert the usual way.
    Limited,
    /// The plan allows no codes at all.
    Forbidden,
    NoCustomer,
}

/// Inserts `record` with its audit row `entry` when the customer's plan sets
/// no maximum for codes, the usual case: plan check, insert and audit row in
/// one round trip. Otherwise writes nothing and says why.
pub async fn insert_within_plan(tx: &mut Tx, record: &CodeRecord, entry: &NewAudit) -> Result<PlanInsert, StoreError> {
    judge(match tx {
        Tx::Postgres(pg) => within_plan_pg(&mut **pg, record, entry).await,
        Tx::Sqlite(lite) => within_plan_lite(&mut **lite, &INSERT_WITHIN_PLAN_LITE, record, entry).await,
    })
}

/// [`insert_within_plan`] as its own transaction, in one trip to the
/// database: on PostgreSQL a single statement (one round trip, one commit);
/// on SQLite its three statements between `BEGIN IMMEDIATE` and `COMMIT`,
/// sent at once to the writer connection's thread. A statement that fails
/// leaves SQLite's transaction open, so it is rolled back before the writer
/// goes back to its pool.
pub async fn insert_alone(db: &Db, record: &CodeRecord, entry: &NewAudit) -> Result<PlanInsert, StoreError> {
    judge(match db {
        Db::Postgres(pool) => within_plan_pg(&mut *super::pool_wait::timed(pool.acquire()).await?, record, entry).await,
        Db::Sqlite(lite) => {
            let mut writer = super::pool_wait::timed(lite.write.acquire()).await?;
            let found = within_plan_lite(&mut *writer, &INSERT_ALONE_LITE, record, entry).await;
            if found.is_err() {
                // "No transaction is active" when it failed before BEGIN or
                // after COMMIT: nothing to undo then.
                if let Err(err) = sqlx::query("ROLLBACK").execute(&mut *writer).await {
                    tracing::debug!(%err, "nothing to roll back after a failed code create");
                }
            }
            found
        }
    })
}

/// (the plan's maximum, rows inserted), or no row when there is no such customer.
type WithinPlan = Result<Option<(Option<i64>, i64)>, sqlx::Error>;

async fn within_plan_pg<'e>(on: impl sqlx::PgExecutor<'e>, record: &CodeRecord, entry: &NewAudit) -> WithinPlan {
    let query = audit::bind_entry(bind_record(sqlx::query(&INSERT_WITHIN_PLAN_PG), record), entry);
    query.fetch_optional(on).await?.map(|row| plan_outcome(&row)).transpose()
}

/// `sql`'s statements on SQLite: only the last one answers a row.
async fn within_plan_lite<'e>(
    on: impl sqlx::SqliteExecutor<'e>,
    sql: &str,
    record: &CodeRecord,
    entry: &NewAudit,
) -> WithinPlan {
    let rows = audit::bind_entry(bind_record(sqlx::query(sql), record), entry).fetch_all(on).await?;
    rows.last().map(plan_outcome).transpose()
}

/// What the statement's answer (the plan's maximum, rows inserted) means.
fn judge(found: WithinPlan) -> Result<PlanInsert, StoreError> {
    match found {
        Err(err) if is_unique_violation(&err, "codes_pkey") => Ok(PlanInsert::Exists),
        Err(err) => Err(err.into()),
        Ok(None) => Ok(PlanInsert::NoCustomer),
        Ok(Some((_, inserted))) if inserted > 0 => Ok(PlanInsert::Inserted),
        Ok(Some((Some(maximum), _))) if maximum > 0 => Ok(PlanInsert::Limited),
        Ok(Some(_)) => Ok(PlanInsert::Forbidden),
    }
}

/// (the plan's maximum, rows inserted) from the last row of either statement.
fn plan_outcome<R: sqlx::Row>(row: &R) -> Result<(Option<i64>, i64), sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database>,
{
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Inserts a code; the primary key decides a race between two creates of one code.
pub async fn insert(tx: &mut Tx, record: &CodeRecord) -> Result<(), InsertError> {
    let done = on_tx!(tx, |conn| bind_record(sqlx::query(&INSERT), record).execute(conn).await.map(|_| ()));
    match done {
        Ok(()) => Ok(()),
        Err(err) if is_unique_violation(&err, "codes_pkey") => Err(InsertError::Exists),
        Err(err) => Err(InsertError::Store(err.into())),
    }
}

/// Replaces every field of an existing code (found by customer and code), if
/// it is still `read` (what the request's checks were made against): the code
/// is locked first (PostgreSQL), so no other write comes between the
/// comparison and the write, and a concurrent change is never undone.
pub async fn update(tx: &mut Tx, read: &CodeRecord, record: &CodeRecord) -> Result<Saved, StoreError> {
    let find = format!("SELECT {} FROM codes WHERE customer = $1 AND code = $2", *COLUMNS);
    let now: Option<CodeRecord> = match tx {
        Tx::Sqlite(lite) => {
            sqlx::query_as(&find).bind(read.customer).bind(&read.code).fetch_optional(&mut **lite).await?
        }
        Tx::Postgres(pg) => {
            sqlx::query_as(&format!("{find} FOR NO KEY UPDATE"))
                .bind(read.customer)
                .bind(&read.code)
                .fetch_optional(&mut **pg)
                .await?
        }
    };
    match now {
        None => return Ok(Saved::NotHeld),
        Some(now) if now != *read => return Ok(Saved::Changed),
        Some(_) => {}
    }
    on_tx!(tx, |conn| bind_record(sqlx::query(&UPDATE), record).execute(conn).await.map(drop))?;
    Ok(Saved::Done)
}

/// Deletes a code of `customer`: `Ok(false)` when there is none, `Err`
/// naming what routes to it (other codes, numbers) while anything does.
/// The code is locked first (PostgreSQL), so a writer routing to it, which
/// holds it `FOR KEY SHARE`, has either committed (and is seen) or waits
/// (and then finds it gone).
pub async fn delete(tx: &mut Tx, customer: i64, code: &str) -> Result<Result<bool, RoutedBy>, StoreError> {
    const FIND: &str = "SELECT code FROM codes WHERE customer = $1 AND code = $2";
    let found: Option<String> = match tx {
        Tx::Sqlite(lite) => sqlx::query_scalar(FIND).bind(customer).bind(code).fetch_optional(&mut **lite).await?,
        Tx::Postgres(pg) => {
            let sql = format!("{FIND} FOR UPDATE");
            sqlx::query_scalar(&sql).bind(customer).bind(code).fetch_optional(&mut **pg).await?
        }
    };
    if found.is_none() {
        return Ok(Ok(false));
    }
    let to_it = "customer = $1 AND ((dtype = 'code' AND dnumber = $2) OR (fax_dtype = 'code' AND fax_dnumber = $2))";
    let codes_sql = format!("SELECT code FROM codes WHERE {to_it} AND code <> $2 ORDER BY code");
    let numbers_sql = format!("SELECT number FROM number_routes WHERE {to_it} ORDER BY number");
    let routed = on_tx!(tx, |conn| {
        let codes = sqlx::query_scalar(&codes_sql).bind(customer).bind(code).fetch_all(&mut *conn).await?;
        let numbers = sqlx::query_scalar(&numbers_sql).bind(customer).bind(code).fetch_all(&mut *conn).await?;
        RoutedBy { codes, numbers }
    });
    if !routed.is_empty() {
        return Ok(Err(routed));
    }
    on_tx!(tx, |conn| sqlx::query("DELETE FROM codes WHERE customer = $1 AND code = $2")
        .bind(customer)
        .bind(code)
        .execute(conn)
        .await
        .map(drop))?;
    Ok(Ok(true))
}

/// A code and where it sends calls: one side of a conflict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct CodeRoute {
    pub code: String,
    pub customer: i64,
    pub dtype: String,
    pub dnumber: String,
}

/// The codes `customer` can dial (its own and the shared ones), sorted by
/// code bytewise: a code's extensions follow it directly.
pub async fn dialable(db: &Db, customer: i64) -> Result<Vec<CodeRoute>, StoreError> {
    Ok(on_read!(db, |pool| sqlx::query_as(
        "SELECT code, customer, dtype, dnumber FROM codes WHERE customer = $1 OR (customer = $2 AND shared = 1) \
         ORDER BY code, customer"
    )
    .bind(customer)
    .bind(SHARING_CUSTOMER)
    .fetch_all(pool)
    .await)?)
}

/// The codes `customer` can dial that `code` is a prefix of, or that are a
/// prefix of `code` (the code itself in `customer` excepted).
pub async fn overlapping(db: &Db, customer: i64, code: &str) -> Result<Vec<CodeRoute>, StoreError> {
    Ok(on_read!(db, |pool| sqlx::query_as(
        "SELECT code, customer, dtype, dnumber FROM codes \
         WHERE (customer = $1 OR (customer = $2 AND shared = 1)) AND NOT (customer = $1 AND code = $3) \
         AND (substr(code, 1, length($3)) = $3 OR substr($3, 1, length(code)) = code) ORDER BY code, customer"
    )
    .bind(customer)
    .bind(SHARING_CUSTOMER)
    .bind(code)
    .fetch_all(pool)
    .await)?)
}
