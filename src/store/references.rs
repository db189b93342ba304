//! The objects a write names are checked again inside the write's own
//! transaction, and on PostgreSQL held there (`FOR KEY SHARE`) until it
//! commits: a delete, or a release that locks the row `FOR UPDATE`, then
//! waits for the write, and its own checks see what the write left. The
//! weakest lock that does this is used so that holders never conflict with
//! each other nor with the plan check's `FOR NO KEY UPDATE` of the customer
//! (two writers each holding a share and asking for more would deadlock). Without this, a reference checked
//! while the request was read could be deleted before the write commits.
//! On SQLite the single writer runs write transactions one at a time.

use sqlx::{PgConnection, SqliteConnection};

use super::{
    Db, StoreError, Tx,
    groups::GroupKind,
    stream::{Bind, bind_all},
};

/// An object a row refers to, as its writer names it.
#[derive(Debug, Clone)]
pub enum Reference {
    Customer(i64),
    /// A row of a system-wide table by id: a number class, inbound group,
    /// region, rate plan or role.
    Row {
        table: &'static str,
        id: i64,
    },
    /// A music class, record group or time group seen by `customer`.
    Group {
        kind: &'static GroupKind,
        customer: i64,
        id: i64,
    },
    /// A person of `customer`.
    Person {
        customer: i64,
        id: i64,
    },
    /// A number `customer` holds.
    Number {
        customer: i64,
        number: String,
    },
    /// A feature code of `customer`.
    Code {
        customer: i64,
        code: String,
    },
}

impl Reference {
    fn query(&self) -> (String, Vec<Bind>) {
        use Bind::{Int, Text};
        match self {
            Self::Customer(id) => ("SELECT 1 FROM customers WHERE id = $1".into(), vec![Int(*id)]),
            Self::Row { table, id } => (format!("SELECT 1 FROM {table} WHERE id = $1"), vec![Int(*id)]),
            Self::Group { kind, customer, id } => (
                format!("SELECT 1 FROM {} WHERE {} AND id = $2", kind.table, kind.seen_condition()),
                vec![Int(*customer), Int(*id)],
            ),
            Self::Person { customer, id } => {
                ("SELECT 1 FROM people WHERE customer = $1 AND id = $2".into(), vec![Int(*customer), Int(*id)])
            }
            Self::Number { customer, number } => (
                "SELECT 1 FROM numbers WHERE customer = $1 AND number = $2".into(),
                vec![Int(*customer), Text(number.clone())],
            ),
            Self::Code { customer, code } => (
                "SELECT 1 FROM codes WHERE customer = $1 AND code = $2".into(),
                vec![Int(*customer), Text(code.clone())],
            ),
        }
    }
}

/// Whether `reference` exists, read outside any transaction (while a request is read).
pub async fn exists(db: &Db, reference: &Reference) -> Result<bool, StoreError> {
    let (sql, binds) = reference.query();
    let found: Option<i32> =
        on_read!(db, |pool| bind_all!(sqlx::query_scalar(&sql), &binds).fetch_optional(pool).await)?;
    Ok(found.is_some())
}

/// Whether `reference` exists now, holding it (PostgreSQL) until `tx` ends.
pub async fn hold(tx: &mut Tx, reference: &Reference) -> Result<bool, StoreError> {
    match tx {
        Tx::Sqlite(lite) => hold_sqlite(lite, reference).await,
        Tx::Postgres(pg) => hold_pg(pg, reference).await,
    }
}

/// [`hold`] on a bare PostgreSQL connection inside a transaction.
pub async fn hold_pg(conn: &mut PgConnection, reference: &Reference) -> Result<bool, StoreError> {
    let (sql, binds) = reference.query();
    let sql = format!("{sql} FOR KEY SHARE");
    let found: Option<i32> = bind_all!(sqlx::query_scalar(&sql), &binds).fetch_optional(conn).await?;
    Ok(found.is_some())
}

/// [`hold`] on SQLite's writer, inside a write transaction.
pub async fn hold_sqlite(conn: &mut SqliteConnection, reference: &Reference) -> Result<bool, StoreError> {
    let (sql, binds) = reference.query();
    let found: Option<i32> = bind_all!(sqlx::query_scalar(&sql), &binds).fetch_optional(conn).await?;
    Ok(found.is_some())
}

/// Holds each `(key, reference, message)`; answers the ones that are gone.
pub async fn hold_all<'a>(
    tx: &mut Tx,
    references: &'a [(&'a str, Reference, &'a str)],
) -> Result<Vec<(&'a str, &'a str)>, StoreError> {
    let mut gone = Vec::new();
    for (key, reference, message) in references {
        if !hold(tx, reference).await? {
            gone.push((*key, *message));
        }
    }
    Ok(gone)
}

/// Whether row `id` of `table` exists now, locking it on PostgreSQL
/// (`FOR UPDATE`) until `tx` ends: what a delete does before counting what
/// refers to the row. The lock waits for every writer holding the row
/// (`FOR KEY SHARE`) to commit, so the count that follows sees their rows; a
/// writer arriving later waits for the delete and then finds the row gone.
/// On SQLite the single writer already runs write transactions one at a time.
pub async fn lock_row(tx: &mut Tx, table: &'static str, id: i64) -> Result<bool, StoreError> {
    let found: Option<i64> = match tx {
        Tx::Sqlite(lite) => {
            sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut **lite)
                .await?
        }
        Tx::Postgres(pg) => {
            sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE id = $1 FOR UPDATE"))
                .bind(id)
                .fetch_optional(&mut **pg)
                .await?
        }
    };
    Ok(found.is_some())
}
