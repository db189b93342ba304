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
/// The customer bound at `$customer`, its plan and the plan's maximum for
/// codes, joined as in `plans::allows_one_more`, for the statements that
/// check and insert at once.
fn plan_of_customer(customer: usize) -> String {
    format!(
        "FROM customers c LEFT JOIN plan_features f ON f.plan = c.plan AND f.feature = '{}' WHERE c.id = ${customer}",
        Feature::Codes.key()
    )
}

/// A maximum that sets no limit (no feature row, or -1): only then does a
/// statement insert, because counting under a limit needs the customer's lock
/// taken before the count (a statement of its own; see `allows_one_more`).
const UNLIMITED: &str = "(f.maximum IS NULL OR f.maximum = -1)";

/// Values bound per create: the record's fields, then the audit row's seven.
const BOUND_PER_CREATE: usize = FIELDS.len() + 7;

/// codes/create on SQLite, its values bound from `$first` on: the plan check
/// and the insert, the audit row when the code went in (`changes()` carries
/// that), and one row saying what happened: whether the customer exists, its
/// plan's maximum, and whether the code went in. An existing code is passed
/// over, not an error, so that one create cannot undo the others sent with it.
fn create_lite(first: usize) -> String {
    let fields = FIELDS.len();
    // The customer is the record's first field.
    let plan = plan_of_customer(first);
    format!(
        "INSERT INTO codes ({columns}) SELECT {values} {plan} AND {UNLIMITED} ON CONFLICT DO NOTHING; \
         {audit_into} SELECT {audit} WHERE changes() = 1; \
         SELECT EXISTS (SELECT 1 FROM customers WHERE id = ${first}), (SELECT f.maximum {plan}), changes() = 1",
        columns = *COLUMNS,
        values = placeholders(first, first + fields - 1),
        audit_into = audit::INSERT_INTO,
        audit = placeholders(first + fields, first + BOUND_PER_CREATE - 1),
    )
}

/// [`create_lite`] inside a transaction the caller holds.
static CREATE_LITE: LazyLock<String> = LazyLock::new(|| create_lite(1));

/// `count` creates on SQLite as one transaction, sent at once to the writer
/// connection's thread.
fn create_together_lite(count: usize) -> String {
    let creates: Vec<String> = (0..count).map(|k| create_lite(1 + k * BOUND_PER_CREATE)).collect();
    format!("BEGIN IMMEDIATE; {}; COMMIT", creates.join("; "))
}

/// codes/create on PostgreSQL for any number of codes in one statement (one
/// round trip, one commit): the records and their audit rows arrive as two
/// JSON arrays (`$1`, `$2`) in the shape of their tables. The customers are
/// held (`FOR KEY SHARE`) like every writer that names one holds it, in id
/// order (a lock clause after `ORDER BY` takes its rows in that order), and
/// codes go in key order: two batches wait for each other's customers and
/// codes in one order and cannot deadlock on them. A writer that locks
/// customers in another order (a recursive delete starts at its root) can
/// still meet a batch in a deadlock; the batch is then written one create at
/// a time, each holding one customer. An existing code, or the second of
/// two equal codes sent together, is passed over; the answer is one row per
/// create, in order, as on SQLite.
static CREATE_PG: LazyLock<String> = LazyLock::new(|| {
    let record_columns: Vec<String> = FIELDS.iter().map(|f| format!("r.{f}")).collect();
    format!(
        "WITH r AS (SELECT * FROM json_populate_recordset(NULL::codes, $1::json) WITH ORDINALITY), \
         a AS (SELECT * FROM json_populate_recordset(NULL::audit, $2::json) WITH ORDINALITY), \
         plan AS (SELECT r.ordinality AS ord, f.maximum FROM r JOIN customers c ON c.id = r.customer \
                  LEFT JOIN plan_features f ON f.plan = c.plan AND f.feature = '{feature}' ORDER BY c.id FOR KEY SHARE OF c), \
         code AS (INSERT INTO codes ({columns}) SELECT {record_columns} FROM r JOIN plan f ON f.ord = r.ordinality \
                  WHERE {UNLIMITED} ORDER BY r.customer, r.code, r.ordinality ON CONFLICT DO NOTHING RETURNING customer, code), \
         won AS (SELECT DISTINCT ON (r.customer, r.code) r.ordinality AS ord FROM r \
                 JOIN code ON code.customer = r.customer AND code.code = r.code ORDER BY r.customer, r.code, r.ordinality), \
         audit_row AS ({audit_into} SELECT a.person, a.username, a.customer, a.client, a.call, a.object, a.created \
                       FROM a JOIN won ON won.ord = a.ordinality) \
         SELECT p.ord IS NOT NULL, p.maximum, w.ord IS NOT NULL FROM r \
         LEFT JOIN plan p ON p.ord = r.ordinality LEFT JOIN won w ON w.ord = r.ordinality ORDER BY r.ordinality",
        feature = Feature::Codes.key(),
        columns = *COLUMNS,
        record_columns = record_columns.join(", "),
        audit_into = audit::INSERT_INTO,
    )
});
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

/// Inserts `record` with its audit row `entry`, inside `tx`, when the
/// customer's plan sets no maximum for codes, the usual case: plan check,
/// insert and audit row in one round trip. Otherwise writes nothing and says why.
pub async fn insert_within_plan(tx: &mut Tx, record: &CodeRecord, entry: &NewAudit) -> Result<PlanInsert, StoreError> {
    let create = [(record, entry)];
    let mut outcomes = match tx {
        Tx::Postgres(pg) => created_pg(&mut **pg, &create).await?,
        Tx::Sqlite(lite) => created_lite(&mut **lite, &CREATE_LITE, &create).await?,
    };
    outcomes.pop().ok_or(StoreError::Invariant("a code create answered no row"))
}

/// Creates that arrived together, each under [`insert_within_plan`]'s rules,
/// as one transaction of their own in one trip to the database: on
/// PostgreSQL a single statement, on SQLite their statements between `BEGIN
/// IMMEDIATE` and `COMMIT`, sent at once to the writer connection's thread.
/// One outcome per create, in order. On an error nothing was written (a
/// SQLite statement that fails leaves the transaction open, so it is rolled
/// back before the writer goes back to its pool).
pub async fn insert_together(db: &Db, creates: &[(&CodeRecord, &NewAudit)]) -> Result<Vec<PlanInsert>, StoreError> {
    let outcomes = match db {
        Db::Postgres(pool) => created_pg(&mut *super::pool_wait::timed(pool.acquire()).await?, creates).await?,
        Db::Sqlite(lite) => {
            let mut writer = super::pool_wait::timed(lite.write.acquire()).await?;
            let found = created_lite(&mut *writer, &create_together_lite(creates.len()), creates).await;
            if found.is_err() {
                // "No transaction is active" when it failed before BEGIN or
                // after COMMIT: nothing to undo then.
                if let Err(err) = sqlx::query("ROLLBACK").execute(&mut *writer).await {
                    tracing::debug!(%err, "nothing to roll back after failed code creates");
                }
            }
            found?
        }
    };
    if outcomes.len() != creates.len() {
        return Err(StoreError::Invariant("code creates answered another number of rows"));
    }
    Ok(outcomes)
}

async fn created_pg<'e>(
    on: impl sqlx::PgExecutor<'e>,
    creates: &[(&CodeRecord, &NewAudit)],
) -> Result<Vec<PlanInsert>, StoreError> {
    let records: Vec<&CodeRecord> = creates.iter().map(|(record, _)| *record).collect();
    let audits: Vec<serde_json::Value> = creates.iter().map(|(_, entry)| audit::as_row(entry)).collect();
    let rows = sqlx::query(&CREATE_PG)
        .bind(serde_json::to_string(&records).map_err(|_| StoreError::Invariant("a code that is not JSON"))?)
        .bind(serde_json::Value::Array(audits).to_string())
        .fetch_all(on)
        .await?;
    rows.iter().map(plan_outcome).collect()
}

/// `sql`'s statements on SQLite: each create's last statement answers its row.
async fn created_lite<'e>(
    on: impl sqlx::SqliteExecutor<'e>,
    sql: &str,
    creates: &[(&CodeRecord, &NewAudit)],
) -> Result<Vec<PlanInsert>, StoreError> {
    let mut query = sqlx::query(sql);
    for (record, entry) in creates {
        query = audit::bind_entry(bind_record(query, record), entry);
    }
    let rows = query.fetch_all(on).await?;
    rows.iter().map(plan_outcome).collect()
}

/// What a create's row (customer exists, the plan's maximum, inserted) means.
fn plan_outcome<R: sqlx::Row>(row: &R) -> Result<PlanInsert, StoreError>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let (customer, maximum, inserted): (bool, Option<i64>, bool) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    Ok(match maximum {
        _ if !customer => PlanInsert::NoCustomer,
        _ if inserted => PlanInsert::Inserted,
        None | Some(-1) => PlanInsert::Exists,
        Some(maximum) if maximum > 0 => PlanInsert::Limited,
        Some(_) => PlanInsert::Forbidden,
    })
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
