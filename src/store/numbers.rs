//! The number inventory: set-based bulk adds of up to a million numbers
//! (PostgreSQL `COPY`, SQLite multi-row `INSERT ... SELECT` in large chunks),
//! generated and sent in chunks so memory does not grow with the range, all in
//! one transaction; and a list that streams its rows.

use serde::Serialize;
use sqlx::{PgConnection, Postgres, pool::PoolConnection};

use super::{
    Db, ListWindow, RowChunks, StoreError, Tx, is_unique_violation, now_epoch,
    stream::{Bind, bind_all},
};
use super::{
    audit::{NewAudit, record_on},
    idempotency::{ClaimRef, complete_on},
};
use super::{
    ledger::{EntryType, NewEntry, add_on},
    references::{Reference, hold_pg, hold_sqlite},
};
use crate::domain::{
    NumberKind,
    money::Money,
    numbers::{AliasSequence, NumberRange},
};

/// A number as stored and as answered.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct NumberRow {
    pub number: String,
    pub class: i64,
    pub ingroup: i64,
    pub customer: i64,
    pub region: i64,
    pub alias: String,
    pub stype: String,
    pub batch: i64,
    pub created: i64,
    pub shortcut: i64,
}

/// The columns an import writes; the rest take their defaults.
const INSERTED: &str = "number, class, ingroup, customer, region, alias, stype, batch, created";
/// The columns read back.
const COLUMNS: &str = "number, class, ingroup, customer, region, alias, stype, batch, created, shortcut";

/// Bytes of COPY data sent to PostgreSQL at a time.
const COPY_CHUNK_BYTES: usize = 256 * 1024;
/// Rows per SQLite INSERT statement (two bound values each).
const SQLITE_CHUNK_ROWS: u64 = 4000;
/// How many existing numbers a conflict message names at most (compressed).
pub const SAMPLE: i64 = 100;

/// What numbers/system/create adds.
pub struct NewNumbers {
    pub range: NumberRange,
    pub alias: Option<AliasSequence>,
    pub class: i64,
    pub ingroup: i64,
    pub customer: i64,
    pub region: i64,
    pub stype: NumberKind,
    /// `existing=skip`: leave existing numbers alone instead of refusing.
    pub skip_existing: bool,
    /// `charge_customer=1`: record one charge entry.
    pub charge: bool,
    pub person: i64,
    /// The call's audit row, completed with the count and batch and written
    /// in the same transaction as the numbers.
    pub audit: NewAudit,
    /// Under an `Idempotency-Key`: the claim, and the stored form of the
    /// answer for a count; written in the same transaction as the numbers.
    pub claim: Option<(ClaimRef, AnswerFor)>,
    /// Set just before COMMIT: the call's timeout then waits for the outcome.
    pub committing: std::sync::Arc<crate::base::CommitGate>,
}

impl NewNumbers {
    /// The objects the numbers name, by the parameter that names them.
    fn references(&self) -> Vec<(&'static str, Reference)> {
        let mut held = vec![
            ("class", Reference::Row { table: "classes", id: self.class }),
            ("ingroup", Reference::Row { table: "ingroups", id: self.ingroup }),
        ];
        if self.customer != 0 {
            held.push(("customer", Reference::Customer(self.customer)));
        }
        if self.region != 0 {
            held.push(("region", Reference::Row { table: "regions", id: self.region }));
        }
        held
    }
}

/// The stored form (HTTP status, body) of the answer for a count of numbers added.
pub type AnswerFor = Box<dyn Fn(u64) -> Option<(u16, String)> + Send + Sync>;

/// The audit row of an add that went through.
fn audit_of(new: &NewNumbers, count: u64, batch: i64) -> NewAudit {
    let mut audit = new.audit.clone();
    audit.object.insert("count".into(), count.into());
    audit.object.insert("batch".into(), batch.into());
    audit
}

#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    /// The numbers were added (fewer than the range with `existing=skip`), under `batch`.
    Count { count: u64, batch: i64 },
    /// Nothing was added: this many of the range exist; the first few given.
    Existing { count: i64, first: Vec<String> },
    /// Nothing was added: the objects named by these parameters are gone.
    Gone(Vec<&'static str>),
}

const IN_RANGE: &str = "number >= $1 AND number <= $2 AND length(number) = $3";

/// How many numbers of `$range` exist, and the first [`SAMPLE`] of them, on
/// `$executor` (evaluated once per query). Numbers of one width sort like
/// their values, so both queries are range scans of the key.
macro_rules! existing_in {
    ($executor:expr, $range:expr) => {{
        let (first, last, width) = ($range.first(), $range.last(), $range.width() as i64);
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM numbers WHERE {IN_RANGE}"))
            .bind(&first)
            .bind(&last)
            .bind(width)
            .fetch_one($executor)
            .await?;
        let sample: Vec<String> = if count == 0 {
            Vec::new()
        } else {
            sqlx::query_scalar(&format!("SELECT number FROM numbers WHERE {IN_RANGE} ORDER BY number LIMIT {SAMPLE}"))
                .bind(&first)
                .bind(&last)
                .bind(width)
                .fetch_all($executor)
                .await?
        };
        (count, sample)
    }};
}

/// The ledger row of `charge_customer=1`: the class's setup price for each
/// number added, and the references the numbers name, checked and held in
/// the import's own transaction, on `$conn` (evaluated more than once).
macro_rules! hold_and_charge {
    ($conn:expr, $new:expr, $added:expr, $batch:expr, $hold:path) => {{
        let new: &NewNumbers = $new;
        let mut gone = Vec::new();
        for (key, reference) in new.references() {
            if !$hold(&mut *$conn, &reference).await? {
                gone.push(key);
            }
        }
        if gone.is_empty() && new.charge {
            let setup: i64 = sqlx::query_scalar("SELECT setup FROM classes WHERE id = $1")
                .bind(new.class)
                .fetch_one(&mut *$conn)
                .await?;
            // Prices are at most a million units and a range a million numbers.
            let amount = Money::from_units(setup).times($added as i64).unwrap_or(Money::from_units(i64::MAX));
            let entry = NewEntry {
                customer: new.customer,
                entry_type: EntryType::Setup,
                amount: -amount,
                class: new.class,
                count: $added as i64,
                batch: $batch,
                number: "",
                description: "",
                person: new.person,
            };
            add_on!(&mut *$conn, entry)?;
        }
        gone
    }};
}

/// How many numbers of `range` exist, and the first few of them.
pub async fn existing(db: &Db, range: &NumberRange) -> Result<(i64, Vec<String>), StoreError> {
    Ok(on_read!(db, |pool| existing_in!(pool, range)))
}

/// Adds a range all or nothing.
pub async fn add(db: &Db, new: &NewNumbers) -> Result<Added, StoreError> {
    match db {
        Db::Postgres(pool) => {
            let outcome = add_postgres(Exclusive(Some(super::pool_wait::timed(pool.acquire()).await?)), new).await;
            match outcome {
                // Another call added part of the range between our check and our COPY:
                // the key decided, and nothing of ours was written.
                Err(err) if matches!(&err, StoreError::Other(e) if is_unique_violation(e, "numbers_pkey")) => {
                    let (count, first) = existing(db, &new.range).await?;
                    Ok(Added::Existing { count: count.max(1), first })
                }
                other => other,
            }
        }
        Db::Sqlite(_) => add_sqlite(db, new).await,
    }
}

/// A pooled connection used outside sqlx's `Transaction`, as COPY needs the
/// bare connection. Unless released after a clean COMMIT or ROLLBACK, it is
/// closed rather than returned to the pool: after a failed COPY its protocol
/// state cannot be trusted, and a call cancelled half-way may have left a
/// transaction open (closing it makes PostgreSQL roll that back).
struct Exclusive(Option<PoolConnection<Postgres>>);

impl Exclusive {
    fn conn(&mut self) -> &mut PgConnection {
        self.0.as_mut().expect("used before release")
    }

    fn release(mut self) {
        drop(self.0.take());
    }
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}

async fn add_postgres(mut session: Exclusive, new: &NewNumbers) -> Result<Added, StoreError> {
    let conn = session.conn();
    sqlx::query("BEGIN").execute(&mut *conn).await?;
    if !new.skip_existing {
        let (count, first) = existing_in!(&mut *conn, new.range);
        if count > 0 {
            sqlx::query("ROLLBACK").execute(&mut *conn).await?;
            session.release();
            return Ok(Added::Existing { count, first });
        }
    }
    let batch: i64 = sqlx::query_scalar("INSERT INTO number_batches (person, created) VALUES ($1, $2) RETURNING id")
        .bind(new.person)
        .bind(now_epoch())
        .fetch_one(&mut *conn)
        .await?;
    // With `existing=skip` the rows go to a scratch table first, so that the
    // insert into `numbers` can pass over the ones that exist.
    let target = if new.skip_existing {
        sqlx::query("CREATE TEMP TABLE numbers_import (LIKE numbers INCLUDING DEFAULTS) ON COMMIT DROP")
            .execute(&mut *conn)
            .await?;
        "numbers_import"
    } else {
        "numbers"
    };
    let mut copy = conn.copy_in_raw(&format!("COPY {target} ({INSERTED}) FROM STDIN")).await?;
    let constants = format!("\t{}\t{}\t{}\t{}\t", new.class, new.ingroup, new.customer, new.region);
    let tail = format!("\t{}\t{batch}\t{}\n", new.stype.as_str(), now_epoch());
    let mut chunk = Vec::with_capacity(COPY_CHUNK_BYTES + 256);
    for k in 0..new.range.count() {
        chunk.extend_from_slice(new.range.number(k).as_bytes());
        chunk.extend_from_slice(constants.as_bytes());
        if let Some(alias) = &new.alias {
            chunk.extend_from_slice(alias.alias(k).as_bytes());
        }
        chunk.extend_from_slice(tail.as_bytes());
        if chunk.len() >= COPY_CHUNK_BYTES {
            copy.send(chunk.as_slice()).await?;
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        copy.send(chunk.as_slice()).await?;
    }
    let copied = copy.finish().await?;
    let added = if new.skip_existing {
        sqlx::query(&format!(
            "INSERT INTO numbers ({INSERTED}) SELECT {INSERTED} FROM numbers_import ON CONFLICT (number) DO NOTHING"
        ))
        .execute(&mut *conn)
        .await?
        .rows_affected()
    } else {
        copied
    };
    let gone = hold_and_charge!(conn, new, added, batch, hold_pg);
    if !gone.is_empty() {
        sqlx::query("ROLLBACK").execute(&mut *conn).await?;
        session.release();
        return Ok(Added::Gone(gone));
    }
    let audit = audit_of(new, added, batch);
    record_on!(&mut *conn, audit)?;
    if let Some((claim, answer)) = &new.claim
        && let Some((status, body)) = answer(added)
        && !complete_on!(&mut *conn, claim, status, body)?
    {
        sqlx::query("ROLLBACK").execute(&mut *conn).await?;
        session.release();
        return Err(StoreError::Superseded);
    }
    new.committing.own_commit_begins();
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    session.release();
    Ok(Added::Count { count: added, batch })
}

/// SQLite: one write transaction on the single writer, so no other write can
/// come between the check and the insert; rows go in as multi-row
/// `INSERT ... SELECT ... FROM (VALUES ...)` statements of a few thousand rows,
/// binding only the number and the alias of each.
async fn add_sqlite(db: &Db, new: &NewNumbers) -> Result<Added, StoreError> {
    let mut tx = db.begin().await?;
    let Tx::Sqlite(lite) = &mut tx else { unreachable!("called for SQLite only") };
    let conn = &mut **lite;
    if !new.skip_existing {
        let (count, sample) = existing_in!(&mut *conn, new.range);
        if count > 0 {
            return Ok(Added::Existing { count, first: sample });
        }
    }
    let now = now_epoch();
    let batch: i64 = sqlx::query_scalar("INSERT INTO number_batches (person, created) VALUES ($1, $2) RETURNING id")
        .bind(new.person)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    let verb = if new.skip_existing { "INSERT OR IGNORE" } else { "INSERT" };
    // Anonymous `?` placeholders, bound in the order they appear: sqlx looks up
    // the name of every numbered one (`$N`), and SQLite finds a name by walking
    // all of them, which made a statement of 8,000 values quadratic (measured:
    // 92% of an import's time).
    let statement = |rows: u64| {
        let values = vec!["(?, ?)"; rows as usize].join(", ");
        format!("{verb} INTO numbers ({INSERTED}) SELECT column1, ?, ?, ?, ?, column2, ?, ?, ? FROM (VALUES {values})")
    };
    let full = statement(SQLITE_CHUNK_ROWS);
    let mut added = 0;
    let mut k = 0;
    while k < new.range.count() {
        let rows = SQLITE_CHUNK_ROWS.min(new.range.count() - k);
        let partial;
        let sql = if rows == SQLITE_CHUNK_ROWS {
            &full
        } else {
            partial = statement(rows);
            &partial
        };
        let mut query = sqlx::query(sql)
            .bind(new.class)
            .bind(new.ingroup)
            .bind(new.customer)
            .bind(new.region)
            .bind(new.stype.as_str())
            .bind(batch)
            .bind(now);
        for i in k..k + rows {
            query = query.bind(new.range.number(i)).bind(new.alias.map(|a| a.alias(i)).unwrap_or_default());
        }
        added += query.execute(&mut *conn).await?.rows_affected();
        k += rows;
    }
    let gone = hold_and_charge!(conn, new, added, batch, hold_sqlite);
    if !gone.is_empty() {
        return Ok(Added::Gone(gone));
    }
    let audit = audit_of(new, added, batch);
    record_on!(&mut *conn, audit)?;
    if let Some((claim, answer)) = &new.claim
        && let Some((status, body)) = answer(added)
        && !complete_on!(&mut *conn, claim, status, body)?
    {
        return Err(StoreError::Superseded);
    }
    new.committing.own_commit_begins();
    tx.commit().await?;
    Ok(Added::Count { count: added, batch })
}

pub async fn get(db: &Db, number: &str) -> Result<Option<NumberRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM numbers WHERE number = $1");
    Ok(on_read!(db, |pool| sqlx::query_as(&sql).bind(number).fetch_optional(pool).await)?)
}

/// Whether `number` is in the inventory and owned by `customer`.
pub async fn owned_by(db: &Db, customer: i64, number: &str) -> Result<bool, StoreError> {
    let found: Option<String> =
        on_read!(db, |pool| sqlx::query_scalar("SELECT number FROM numbers WHERE number = $1 AND customer = $2")
            .bind(number)
            .bind(customer)
            .fetch_optional(pool)
            .await)?;
    Ok(found.is_some())
}

/// The fields numbers/system/update may change (`None` keeps the value).
#[derive(Debug, Default)]
pub struct NumberChanges {
    pub alias: Option<String>,
    pub shortcut: Option<i64>,
    pub class: Option<i64>,
    pub customer: Option<i64>,
    pub region: Option<i64>,
}

pub async fn update(tx: &mut Tx, number: &str, changes: &NumberChanges) -> Result<bool, StoreError> {
    let rows = on_tx!(tx, |conn| sqlx::query(
        "UPDATE numbers SET alias = COALESCE($2, alias), class = COALESCE($3, class), \
         customer = COALESCE($4, customer), region = COALESCE($5, region), shortcut = COALESCE($6, shortcut) \
         WHERE number = $1"
    )
    .bind(number)
    .bind(&changes.alias)
    .bind(changes.class)
    .bind(changes.customer)
    .bind(changes.region)
    .bind(changes.shortcut)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(rows == 1)
}

/// What numbers/system/delete removes.
pub enum Doomed<'a> {
    Range { range: &'a NumberRange, skip_missing: bool },
    Batch(i64),
}

/// Deletes all or nothing: `None` when a number of the range is missing (and
/// missing ones are not to be skipped), or nothing matched.
pub async fn delete(tx: &mut Tx, doomed: &Doomed<'_>) -> Result<Option<u64>, StoreError> {
    let deleted = match doomed {
        Doomed::Range { range, skip_missing } => {
            let (first, last, width) = (range.first(), range.last(), range.width() as i64);
            let sql = format!("DELETE FROM numbers WHERE {IN_RANGE}");
            let deleted = on_tx!(tx, |conn| sqlx::query(&sql)
                .bind(&first)
                .bind(&last)
                .bind(width)
                .execute(conn)
                .await
                .map(|r| r.rows_affected()))?;
            // The transaction is rolled back by the caller when this is refused.
            if !skip_missing && deleted != range.count() {
                return Ok(None);
            }
            deleted
        }
        Doomed::Batch(batch) => on_tx!(tx, |conn| sqlx::query("DELETE FROM numbers WHERE batch = $1")
            .bind(*batch)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?,
    };
    Ok((deleted > 0).then_some(deleted))
}

/// The filters of numbers/system/list and numbers/list.
#[derive(Debug, Default, Clone)]
pub struct NumberFilter {
    /// Only numbers with a customer.
    pub assigned: bool,
    pub class: Option<i64>,
    pub ingroup: Option<i64>,
    pub region: Option<i64>,
    pub customer: Option<i64>,
    pub batch: Option<i64>,
    /// A substring of the number (not a pattern: `%` and `_` are themselves).
    pub search: Option<String>,
    /// Digits the number starts with (see [`prefix_range`]).
    pub prefix: Option<String>,
}

/// The numbers starting with `prefix` as a range of the key, `number >= $a
/// AND number < $b`: both databases compare numbers bytewise (SQLite's
/// BINARY, PostgreSQL's `COLLATE "C"`), so exactly the strings that start
/// with `prefix` lie between it and `prefix` followed by `:`, the byte after
/// `9`. A `LIKE 'p%'` would use the index on SQLite only without its
/// case-insensitivity and on PostgreSQL only with `text_pattern_ops`.
pub fn prefix_range(prefix: &str) -> (String, String) {
    (prefix.to_string(), format!("{prefix}:"))
}

/// The keyset condition of `after` on `column`, in the list's direction.
pub fn after_condition(column: &str, descending: bool, placeholder: usize) -> String {
    format!("{column} {} ${placeholder}", if descending { "<" } else { ">" })
}

impl NumberFilter {
    /// ` WHERE ...` and the values it binds, `$1` onward.
    fn clause(&self, db: &Db) -> (String, Vec<Bind>) {
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        if self.assigned {
            conditions.push("customer <> 0".to_string());
        }
        for (column, value) in [
            ("class", self.class),
            ("ingroup", self.ingroup),
            ("region", self.region),
            ("customer", self.customer),
            ("batch", self.batch),
        ] {
            if let Some(value) = value {
                binds.push(Bind::Int(value));
                conditions.push(format!("{column} = ${}", binds.len()));
            }
        }
        if let Some(prefix) = &self.prefix {
            let (low, high) = prefix_range(prefix);
            binds.push(Bind::Text(low));
            binds.push(Bind::Text(high));
            conditions.push(format!("number >= ${} AND number < ${}", binds.len() - 1, binds.len()));
        }
        if let Some(search) = &self.search {
            binds.push(Bind::Text(search.clone()));
            let find = match db {
                Db::Sqlite(_) => "instr(number, $N) > 0",
                Db::Postgres(_) => "strpos(number, $N) > 0",
            };
            conditions.push(find.replace("$N", &format!("${}", binds.len())));
        }
        let clause = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        (clause, binds)
    }
}

pub async fn count(db: &Db, filter: &NumberFilter) -> Result<i64, StoreError> {
    let (clause, binds) = filter.clause(db);
    let sql = format!("SELECT COUNT(*) FROM numbers{clause}");
    Ok(on_read!(db, |pool| bind_all!(sqlx::query_scalar(&sql), &binds).fetch_one(pool).await)?)
}

/// Streams the matching numbers, sorted by number, only those past `after`
/// in that order if given, at the database's own export speed (see
/// [`json_list`](super::json_list)).
pub async fn stream(
    db: &Db,
    filter: &NumberFilter,
    after: Option<&str>,
    window: &ListWindow,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Result<RowChunks, StoreError> {
    use super::json_list::{Json, JsonList};
    /// [`COLUMNS`] with how each is answered, as [`NumberRow`] serialises.
    const ANSWERED: &[(&str, Json)] = &[
        ("number", Json::Text),
        ("class", Json::Int),
        ("ingroup", Json::Int),
        ("customer", Json::Int),
        ("region", Json::Int),
        ("alias", Json::Text),
        ("stype", Json::Text),
        ("batch", Json::Int),
        ("created", Json::Int),
        ("shortcut", Json::Int),
    ];
    let (mut clause, mut binds) = filter.clause(db);
    if let Some(after) = after {
        binds.push(Bind::Text(after.to_string()));
        let keyset = after_condition("number", window.descending, binds.len());
        clause = if clause.is_empty() { format!(" WHERE {keyset}") } else { format!("{clause} AND {keyset}") };
    }
    let list = JsonList { table: "numbers", columns: ANSWERED, clause, binds, key: "number", window: *window };
    super::json_list::stream(db, list, permit).await
}
