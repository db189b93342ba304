//! Storage on SQLite (the embedded default) and PostgreSQL (production).
//!
//! Most statements are the same text on both databases (`$1` placeholders work
//! on each), so one function serves both through [`on_read!`] and [`on_tx!`],
//! which expand to a `match` with one arm per database: each arm is type-checked
//! against its own driver, unlike sqlx's `Any`. Where the databases really
//! differ (bulk loads, locking) the code says so in a match of its own.
//!
//! SQLite has one writer connection: writes queue for it in the pool instead of
//! failing with "database is locked", and a write transaction sees every row.

// The macros come first so that every module below sees them by name.
/// Runs `$body` with `$pool` bound to a read pool of whichever database is in use.
#[macro_export]
macro_rules! on_read {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite(db) => {
                let $pool = &db.read;
                $body
            }
            $crate::store::Db::Postgres(pool) => {
                let $pool = pool;
                $body
            }
        }
    };
}

/// Runs `$body` with `$conn` bound to the connection of a write transaction.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::store::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

/// Declares a stored record from one list of its columns, in table order:
/// the struct (as stored and as answered), `FIELDS` (the column names) and
/// `bind_record` (binds a record's values in that order), so a column is
/// named once for the struct, the statements and the bindings.
macro_rules! stored_record {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
        pub struct $name {
            $(pub $field: $ty,)*
        }

        /// The columns in the order [`bind_record`] binds them.
        const FIELDS: &[&str] = &[$(stringify!($field)),*];

        /// Binds every field of `record`, in the order of [`FIELDS`].
        fn bind_record<'q, DB: sqlx::Database>(
            query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
            record: &'q $name,
        ) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
        where
            $($ty: sqlx::Encode<'q, DB> + sqlx::Type<DB>,)*
        {
            query$(.bind(&record.$field))*
        }
    };
}

pub mod announcements;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod bootstrap;
pub mod code_batches;
pub mod codes;
pub mod customers;
pub mod groups;
pub mod idempotency;
pub mod inventory;
pub mod json_list;
pub mod ledger;
pub mod numbers;
pub mod owned_numbers;
pub mod people;
pub mod plans;
pub mod pool_wait;
pub mod references;
pub mod roles;
pub mod stream;
pub mod throttle;

use std::{str::FromStr, time::Duration};

use sqlx::{
    PgPool, Postgres, Sqlite, SqlitePool, Transaction,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

pub use crate::base::RowChunks;
use crate::{base::ApiError, settings::Settings};

/// How long a pooled PostgreSQL connection may sit unused before it is
/// checked with a ping on its next use.
/// The longest a stopping process waits to fold SQLite's write-ahead log
/// into the database file.
const CHECKPOINT_AT_CLOSE: Duration = Duration::from_secs(5);

const IDLE_BEFORE_PING: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqliteDb),
    Postgres(PgPool),
}

#[derive(Clone, Debug)]
pub struct SqliteDb {
    /// Readers run side by side under WAL.
    pub read: SqlitePool,
    /// The single writer: every write transaction goes through it.
    pub write: SqlitePool,
}

/// A write transaction on either database.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or no connection was free in time: a 503.
    #[error("{0}")]
    Unavailable(sqlx::Error),
    #[error("{0}")]
    Other(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Something the server itself should have made impossible: a 500, never a panic.
    #[error("{0}")]
    Invariant(&'static str),
    /// The database has no space left for the write, which was rolled back.
    #[error("{0}")]
    Full(sqlx::Error),
    /// The `Idempotency-Key` claim this write ran under was taken over; the
    /// write was rolled back.
    #[error("the Idempotency-Key claim was taken over")]
    Superseded,
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if is_unavailable(&err) {
            Self::Unavailable(err)
        } else if is_storage_full(&err) {
            Self::Full(err)
        } else {
            Self::Other(err)
        }
    }
}

/// Whether the single SQLite writer may go back to its pool. A statement
/// that fails with `SQLITE_FULL` (among others) makes SQLite roll the whole
/// transaction back by itself; the rollback sqlx then sends finds none and
/// fails, and sqlx goes on counting the connection as inside a transaction,
/// so every later write on it fails until a restart. Such a connection is
/// closed instead, and the pool opens a fresh writer for the next call.
/// Checked as the writer is taken: by then the pool's own ping at release has
/// run any rollback a dropped transaction queued, so the count is final.
fn left_clean(conn: &mut sqlx::SqliteConnection) -> bool {
    use sqlx::Connection;
    if conn.is_in_transaction() {
        tracing::warn!("the SQLite writer was left inside a transaction; reopening it");
        return false;
    }
    true
}

/// SQLite's `SQLITE_FULL` (13) and PostgreSQL's `disk_full` (53100).
fn is_storage_full(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().is_some_and(|code| code == "13" || code == "53100"))
}

fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL's connection exceptions (08xxx), shutdown and cannot-connect-now (57P0x),
        // too many connections (53300),
        // and a transaction it chose to end (deadlock 40P01, serialization 40001):
        // nothing was written, and the same call sent again can succeed.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57P0") || code == "53300" || code == "40P01" || code == "40001"
        }),
        _ => false,
    }
}

/// Whether `err` is a violation of the unique constraint `constraint`.
///
/// PostgreSQL reports the constraint's name. SQLite reports only the columns in
/// its message text, so there the caller's knowledge that its statement has a
/// single unique constraint beside the key is what names it.
pub fn is_unique_violation(err: &sqlx::Error, constraint: &str) -> bool {
    match err {
        sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation => {
            db.constraint().is_none_or(|name| name == constraint)
        }
        _ => false,
    }
}

/// `$from, ..., $to`: the placeholders of statements built from a column list.
pub fn placeholders(from: usize, to: usize) -> String {
    (from..=to).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

pub fn now_epoch() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Db {
    /// Opens the database named by `database_url`, creating a SQLite file if missing.
    pub async fn connect(settings: &Settings) -> Result<Self, StoreError> {
        let url = settings.database_url.as_str();
        let acquire = Duration::from_secs(settings.database.acquire_timeout_secs);
        if url.starts_with("sqlite:") {
            // Writers queue behind a running import for as long as a call may run.
            let writer_wait = Duration::from_secs(settings.limits.call_timeout_secs);
            let options = SqliteConnectOptions::from_str(url)?;
            create_owner_only(options.get_filename())?;
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(writer_wait)
                // References may dangle by contract (deleting never fails on them).
                .foreign_keys(false);
            // SQLite connections are never recycled: unlike a PostgreSQL
            // backend they hold nothing on a server, and each new one is a new
            // worker thread whose allocations land in a fresh malloc arena,
            // which the soak run saw as 20 MB of resident memory at the 30th
            // minute (sqlx's default lifetime) that was never given back.
            let write = SqlitePoolOptions::new()
                .max_lifetime(None)
                .idle_timeout(None)
                .max_connections(1)
                .acquire_timeout(writer_wait)
                .before_acquire(|conn, _| Box::pin(async move { Ok(left_clean(conn)) }))
                .connect_with(options.clone())
                .await?;
            let read = SqlitePoolOptions::new()
                .max_lifetime(None)
                .idle_timeout(None)
                .max_connections(settings.database.max_connections)
                .acquire_timeout(acquire)
                .connect_with(options)
                .await?;
            Ok(Self::Sqlite(SqliteDb { read, write }))
        } else {
            let options = PgConnectOptions::from_str(url)?.application_name("switchyard");
            let pool = PgPoolOptions::new()
                .max_connections(settings.database.max_connections)
                .acquire_timeout(acquire)
                // sqlx pings every connection it hands out by default: a round
                // trip per acquire. Only a connection idle for a while (which
                // may have died with a database restart) is worth the check.
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for > IDLE_BEFORE_PING {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(options)
                .await?;
            Ok(Self::Postgres(pool))
        }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(db) => sqlx::migrate!("./migrations/sqlite").run(&db.write).await?,
            Self::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), since a deferred transaction that reads and then
    /// writes fails with SQLITE_BUSY when another process wrote in between.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Self::Sqlite(db) => Tx::Sqlite(pool_wait::timed(db.write.begin_with("BEGIN IMMEDIATE")).await?),
            Self::Postgres(pool) => Tx::Postgres(pool_wait::timed(pool.begin()).await?),
        })
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_read!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// Closes the pools. On SQLite it first moves the write-ahead log into the
    /// database file and empties it, so that a stopped server, `migrate` or
    /// `admin passwd` leaves all its data in the one `.db` file (a copy of that
    /// file alone, or a look with another tool, sees everything).
    pub async fn close(&self) {
        match self {
            Self::Sqlite(db) => {
                // Readers first: a reader's snapshot would keep the log from being emptied.
                db.read.close().await;
                // Bounded: a call still holding the writer after the grace
                // period, or another process reading (a second server, a
                // backup), must not hold up the stop. The log stays valid
                // without the checkpoint; only the one-file copy waits.
                let checkpoint = async {
                    let mut writer = db.write.acquire().await?;
                    sqlx::query("PRAGMA busy_timeout = 1000").execute(&mut *writer).await?;
                    sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
                        .fetch_one(&mut *writer)
                        .await
                };
                match tokio::time::timeout(CHECKPOINT_AT_CLOSE, checkpoint).await {
                    Ok(Ok((busy, _, _))) if busy != 0 => {
                        tracing::info!("the write-ahead log is in use by another process; it is left for a later close")
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(err)) => tracing::warn!(%err, "cannot checkpoint the write-ahead log"),
                    Err(_) => tracing::warn!("the write-ahead log was not checkpointed: the writer stayed busy"),
                }
                db.write.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// Creates a missing SQLite file readable by its owner only: it holds password
/// hashes. SQLite gives the `-wal` and `-shm` files it makes later the
/// permissions of the database file.
fn create_owner_only(path: &std::path::Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" || path.exists() {
        return Ok(());
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
        // Another process made it in between: theirs stands.
        .or_else(|err| if err.kind() == std::io::ErrorKind::AlreadyExists { Ok(()) } else { Err(err) })
        .map_err(|err| StoreError::Unavailable(sqlx::Error::Io(err)))
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(tx) => tx.commit().await?,
            Self::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// The `limit`, `offset` and `descending` every list call takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListWindow {
    /// 0 means all rows.
    pub limit: i64,
    pub offset: i64,
    pub descending: bool,
}

impl ListWindow {
    pub fn order(&self) -> &'static str {
        if self.descending { "DESC" } else { "ASC" }
    }

    /// A bound for `LIMIT` that both databases read as "no limit" when none is wanted.
    pub fn limit_or_all(&self) -> i64 {
        if self.limit == 0 { i64::MAX } else { self.limit }
    }
}

impl Tx {
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(tx) => tx.rollback().await?,
            Self::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(e) => Self::Unavailable(e.to_string()),
            StoreError::Superseded => Self::Superseded,
            StoreError::Full(e) => Self::StorageFull(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}
