//! Lists of up to millions of rows at the speed of the database's own export:
//! rows never become Rust values one at a time. PostgreSQL sends them with
//! `COPY ... TO STDOUT` (its fastest output, the same as `psql`'s `\copy`),
//! turned into JSON here as the bytes pass; SQLite writes each page of a few
//! thousand rows as JSON text itself (`json_object`, `group_concat`), walking
//! the list's unique key inside one read transaction, so the pages are one
//! snapshot and each costs a single trip to the connection's thread.

use bytes::Bytes;
use futures_util::TryStreamExt;
use tokio::sync::mpsc;

use super::{Db, ListWindow, RowChunks, StoreError, stream::Bind};

/// How a column's value is written in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Json {
    /// An integer, written as the database prints it.
    Int,
    /// Text, written as a JSON string.
    Text,
}

/// A list answered as JSON objects, one per row, keyed by column name.
pub struct JsonList {
    pub table: &'static str,
    /// The columns answered, in order.
    pub columns: &'static [(&'static str, Json)],
    /// ` WHERE ...` (or empty), with `$1`... bound to `binds`.
    pub clause: String,
    pub binds: Vec<Bind>,
    /// A unique text column the list is sorted by.
    pub key: &'static str,
    pub window: ListWindow,
}

/// Rows per SQLite page: large enough that a page's trip to the connection's
/// thread costs nothing beside its rows, small enough to stay a few hundred KB.
const PAGE_ROWS: i64 = 2_000;
/// JSON text handed to the client at a time.
const CHUNK_BYTES: usize = 64 * 1024;

/// Streams `list` as JSON objects separated by commas (the caller writes the
/// brackets). A connection is taken before this returns, so an unreachable
/// database is an ordinary 503; a failure part-way ends the stream with an
/// error, which ends the HTTP connection. `permit` is held until the last row
/// is sent or the client is gone.
pub async fn stream(
    db: &Db,
    list: JsonList,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Result<RowChunks, StoreError> {
    let (sender, receiver) = mpsc::channel(4);
    match db {
        Db::Postgres(pool) => {
            let statement = copy_statement(&list)?;
            let mut conn = super::pool_wait::timed(pool.acquire()).await?;
            tokio::spawn(async move {
                let _permit = permit;
                let sent = copy_out(&mut conn, &statement, list.columns, &sender).await;
                let whole = matches!(sent, Ok(true));
                finish(sent, &sender).await;
                if !whole {
                    // Unread COPY data would wait for the connection's next user.
                    conn.close_on_drop();
                }
            });
        }
        Db::Sqlite(lite) => {
            let mut conn = super::pool_wait::timed(lite.read.acquire()).await?;
            tokio::spawn(async move {
                let _permit = permit;
                let sent = sqlite_pages(&mut conn, &list, &sender).await;
                finish(sent, &sender).await;
            });
        }
    }
    Ok(receiver)
}

/// Ends the stream: with an error the client sees as a cut connection.
async fn finish(sent: Result<bool, sqlx::Error>, sender: &mpsc::Sender<Result<Bytes, std::io::Error>>) {
    if let Err(err) = sent {
        tracing::warn!(%err, "a streamed list failed part-way; ending the connection");
        let _ = sender.send(Err(std::io::Error::other("the list could not be completed"))).await;
    }
}

/// The list as one `COPY` statement. `COPY` takes no bound parameters, so
/// the values are written into it as literals (see [`literal`]).
fn copy_statement(list: &JsonList) -> Result<String, sqlx::Error> {
    let columns: Vec<&str> = list.columns.iter().map(|(name, _)| *name).collect();
    let mut select = format!(
        "SELECT {} FROM {}{} ORDER BY {} {}",
        columns.join(", "),
        list.table,
        list.clause,
        list.key,
        list.window.order()
    );
    if list.window.limit > 0 {
        select.push_str(&format!(" LIMIT {}", list.window.limit));
    }
    select.push_str(&format!(" OFFSET {}", list.window.offset));
    Ok(format!("COPY ({}) TO STDOUT", inline(&select, &list.binds)?))
}

/// `sql` with each `$N` replaced by the literal of `binds[N - 1]`.
fn inline(sql: &str, binds: &[Bind]) -> Result<String, sqlx::Error> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
        let index: usize = rest[at + 1..at + 1 + digits]
            .parse()
            .map_err(|_| sqlx::Error::Protocol(format!("a placeholder without a number in {sql}")))?;
        let bind = index
            .checked_sub(1)
            .and_then(|i| binds.get(i))
            .ok_or_else(|| sqlx::Error::Protocol(format!("no value for ${index}")))?;
        out.push_str(&literal(bind)?);
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A value as a PostgreSQL literal. Text is an escape string (`E'...'`),
/// which reads the same whatever `standard_conforming_strings` is set to.
fn literal(bind: &Bind) -> Result<String, sqlx::Error> {
    match bind {
        Bind::Int(value) => Ok(value.to_string()),
        Bind::Text(text) if text.contains('\0') => Err(sqlx::Error::Protocol("a NUL in a list filter".into())),
        Bind::Text(text) => Ok(format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))),
    }
}

/// Sends the rows of `statement`; `Ok(false)` when the client went away.
async fn copy_out(
    conn: &mut sqlx::PgConnection,
    statement: &str,
    columns: &'static [(&'static str, Json)],
    sender: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<bool, sqlx::Error> {
    let mut data = conn.copy_out_raw(statement).await?;
    let mut chunk = Vec::with_capacity(CHUNK_BYTES + 1024);
    // PostgreSQL sends one row per message; a row split across messages is still read whole.
    let mut partial: Vec<u8> = Vec::new();
    let mut first = true;
    while let Some(bytes) = data.try_next().await? {
        partial.extend_from_slice(&bytes);
        let mut used = 0;
        while let Some(end) = partial[used..].iter().position(|&b| b == b'\n') {
            if !first {
                chunk.push(b',');
            }
            first = false;
            write_copy_row(&mut chunk, &partial[used..used + end], columns)?;
            used += end + 1;
        }
        partial.drain(..used);
        if chunk.len() >= CHUNK_BYTES {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_BYTES + 1024));
            if sender.send(Ok(Bytes::from(full))).await.is_err() {
                return Ok(false);
            }
        }
    }
    if !partial.is_empty() {
        return Err(sqlx::Error::Protocol("a COPY row without its end".into()));
    }
    if !chunk.is_empty() && sender.send(Ok(Bytes::from(chunk))).await.is_err() {
        return Ok(false);
    }
    Ok(true)
}

/// One row of `COPY` text format (tab-separated, backslash escapes, `\N`
/// for NULL) as a JSON object.
fn write_copy_row(out: &mut Vec<u8>, row: &[u8], columns: &[(&str, Json)]) -> Result<(), sqlx::Error> {
    let mut fields = row.split(|&b| b == b'\t');
    out.push(b'{');
    for (i, (name, kind)) in columns.iter().enumerate() {
        let field = fields.next().ok_or_else(|| sqlx::Error::Protocol("a COPY row with too few columns".into()))?;
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        match kind {
            _ if field == b"\\N" => out.extend_from_slice(b"null"),
            Json::Int if !field.is_empty() && field.iter().all(|b| b.is_ascii_digit() || *b == b'-') => {
                out.extend_from_slice(field)
            }
            Json::Int => return Err(sqlx::Error::Protocol("a COPY integer that is not one".into())),
            Json::Text => write_text(out, field),
        }
    }
    if fields.next().is_some() {
        return Err(sqlx::Error::Protocol("a COPY row with too many columns".into()));
    }
    out.push(b'}');
    Ok(())
}

/// A `COPY` text field as a JSON string: its escapes undone, JSON's applied.
fn write_text(out: &mut Vec<u8>, field: &[u8]) {
    out.push(b'"');
    let mut bytes = field.iter().copied();
    while let Some(byte) = bytes.next() {
        let byte = if byte == b'\\' {
            match bytes.next() {
                Some(b'b') => 0x08,
                Some(b'f') => 0x0c,
                Some(b'n') => b'\n',
                Some(b'r') => b'\r',
                Some(b't') => b'\t',
                Some(b'v') => 0x0b,
                Some(other) => other,
                None => b'\\',
            }
        } else {
            byte
        };
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..0x20 => out.extend_from_slice(format!("\\u{byte:04x}").as_bytes()),
            _ => out.push(byte),
        }
    }
    out.push(b'"');
}

/// Sends the list's pages from SQLite; `Ok(false)` when the client went away.
async fn sqlite_pages(
    conn: &mut sqlx::SqliteConnection,
    list: &JsonList,
    sender: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    let objects: Vec<String> = list.columns.iter().map(|(name, _)| format!("'{name}', {name}")).collect();
    let (order, last, beyond) = if list.window.descending { ("DESC", "min", "<") } else { ("ASC", "max", ">") };
    let key = list.key;
    let page_sql = |keyset: bool| {
        let filter = match (list.clause.is_empty(), keyset) {
            (_, false) => list.clause.clone(),
            (true, true) => format!(" WHERE {key} {beyond} $K"),
            (false, true) => format!("{} AND {key} {beyond} $K", list.clause),
        };
        let n = list.binds.len();
        format!(
            "SELECT group_concat(row, ',' ORDER BY k {order}), {last}(k), count(*) FROM \
             (SELECT json_object({}) AS row, {key} AS k FROM {}{} ORDER BY {key} {order} LIMIT ${} OFFSET ${})",
            objects.join(", "),
            list.table,
            filter.replace("$K", &format!("${}", n + 3)),
            n + 1,
            n + 2,
        )
    };
    let (first_sql, next_sql) = (page_sql(false), page_sql(true));
    let mut tx = conn.begin().await?;
    let mut remaining = if list.window.limit > 0 { list.window.limit } else { i64::MAX };
    let mut after: Option<String> = None;
    let mut first = true;
    while remaining > 0 {
        let size = remaining.min(PAGE_ROWS);
        let sql = if after.is_some() { &next_sql } else { &first_sql };
        let mut query = crate::store::stream::bind_all!(
            sqlx::query_as::<_, (Option<String>, Option<String>, i64)>(sql),
            &list.binds
        )
        .bind(size)
        .bind(if after.is_some() { 0 } else { list.window.offset });
        if let Some(after) = &after {
            query = query.bind(after.clone());
        }
        let (json, last_key, rows) = query.fetch_one(&mut *tx).await?;
        let Some(json) = json else { break };
        let mut page = Vec::with_capacity(json.len() + 1);
        if !first {
            page.push(b',');
        }
        first = false;
        page.extend_from_slice(json.as_bytes());
        if sender.send(Ok(Bytes::from(page))).await.is_err() {
            return Ok(false);
        }
        if rows < size {
            break;
        }
        remaining -= rows;
        after = last_key;
    }
    tx.rollback().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_become_the_json_serde_would_write() {
        const COLUMNS: &[(&str, Json)] = &[("number", Json::Text), ("class", Json::Int), ("alias", Json::Text)];
        let mut out = Vec::new();
        write_copy_row(&mut out, b"0123\t-7\ta\\tb\\\\c\"d\\n\x01", COLUMNS).unwrap();
        #[derive(serde::Serialize)]
        struct Row {
            number: &'static str,
            class: i64,
            alias: &'static str,
        }
        let expected = Row { number: "0123", class: -7, alias: "a\tb\\c\"d\n\u{1}" };
        assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&expected).unwrap());
        for bad in [&b"1\t2"[..], b"1\t2\t3\t4", b"1\tx\t3", b"1\t\t3"] {
            assert!(write_copy_row(&mut Vec::new(), bad, COLUMNS).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values_are_inlined_as_literals_that_cannot_escape() {
        let binds = [Bind::Int(-3), Bind::Text("a'b\\c".into())];
        assert_eq!(inline("x = $1 AND y = $2 AND z = $1", &binds).unwrap(), "x = -3 AND y = E'a''b\\\\c' AND z = -3");
        assert!(inline("x = $3", &binds).is_err());
        assert!(inline("x = $", &binds).is_err());
        assert!(literal(&Bind::Text("a\0".into())).is_err());
    }
}
