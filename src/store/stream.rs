//! Lists that can run to millions of rows are streamed: a task reads rows
//! from the database one at a time and hands their JSON to the client in
//! chunks through a small channel, so neither the rows nor their text pile
//! up in memory. Also the values such lists bind, whose number and types
//! depend on the filters sent.

use bytes::Bytes;
use futures_util::TryStreamExt;
use serde::Serialize;
use sqlx::{postgres::PgRow, sqlite::SqliteRow};
use tokio::sync::mpsc;

use super::{Db, RowChunks, StoreError};

/// A value bound to a query built from optional filters.
#[derive(Debug, Clone)]
pub enum Bind {
    Int(i64),
    Text(String),
}

/// Binds every value of `$binds` to `$query`, in order.
macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for bind in $binds {
            query = match bind {
                $crate::store::stream::Bind::Int(value) => query.bind(*value),
                $crate::store::stream::Bind::Text(value) => query.bind(value.clone()),
            };
        }
        query
    }};
}
pub(crate) use bind_all;

/// JSON text sent to the client at a time.
const STREAM_CHUNK_BYTES: usize = 64 * 1024;

/// Streams the rows of `sql` (with `binds`) as JSON objects separated by
/// commas. A connection is taken before this returns, so an unreachable
/// database is still an ordinary 503; a failure part-way ends the stream
/// with an error, which ends the HTTP connection. `permit` (a slot among the
/// streams allowed at once) is held until the last row is sent or the
/// client is gone.
pub async fn rows<T>(
    db: &Db,
    sql: String,
    binds: Vec<Bind>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Result<RowChunks, StoreError>
where
    T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Serialize + Send + Unpin + 'static,
{
    let (sender, receiver) = mpsc::channel(4);
    macro_rules! produce {
        ($conn:expr) => {{
            let mut conn = $conn;
            tokio::spawn(async move {
                let _permit = permit;
                let result: Result<(), sqlx::Error> = async {
                    let mut rows = bind_all!(sqlx::query_as::<_, T>(&sql), &binds).fetch(&mut *conn);
                    let mut chunk = Vec::with_capacity(STREAM_CHUNK_BYTES + 512);
                    let mut first = true;
                    while let Some(row) = rows.try_next().await? {
                        if !first {
                            chunk.push(b',');
                        }
                        first = false;
                        serde_json::to_writer(&mut chunk, &row).expect("a stored row serialises");
                        if chunk.len() >= STREAM_CHUNK_BYTES {
                            let full = std::mem::replace(&mut chunk, Vec::with_capacity(STREAM_CHUNK_BYTES + 512));
                            if sender.send(Ok(Bytes::from(full))).await.is_err() {
                                return Ok(()); // the client went away
                            }
                        }
                    }
                    if !chunk.is_empty() {
                        let _ = sender.send(Ok(Bytes::from(chunk))).await;
                    }
                    Ok(())
                }
                .await;
                if let Err(err) = result {
                    tracing::warn!(%err, "a streamed list failed part-way; ending the connection");
                    let _ = sender.send(Err(std::io::Error::other("the list could not be completed"))).await;
                }
            });
        }};
    }
    match db {
        Db::Sqlite(lite) => produce!(super::pool_wait::timed(lite.read.acquire()).await?),
        Db::Postgres(pool) => produce!(super::pool_wait::timed(pool.acquire()).await?),
    }
    Ok(receiver)
}
