//! Failed-login windows in PostgreSQL, so that every process on one database
//! counts against the same limits. Each operation is one statement: the
//! check and the count cannot be split by a racing process.

use sqlx::PgPool;

use super::StoreError;

/// What a window counts: failures of a username, of a client address, or
/// username probes by a person.
#[derive(Debug, Clone, Copy)]
pub enum WindowKind {
    Username,
    Address,
    Probe,
}

impl WindowKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Username => "username",
            Self::Address => "address",
            Self::Probe => "probe",
        }
    }
}

/// The limits of one window, in whole seconds of wall-clock time.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub limit: i64,
    pub length: i64,
    /// Over the limit, one attempt per `pace` seconds is still let through;
    /// 0 refuses every one until the window ends.
    pub pace: i64,
}

/// Counts an attempt, unless the window is over its limit: then the seconds to wait.
pub async fn reserve(
    pool: &PgPool,
    kind: WindowKind,
    key: &str,
    now: i64,
    limits: Limits,
) -> Result<Result<(), u64>, StoreError> {
    let counted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO auth_windows AS w (kind, key, failures, ends, last_slowed) VALUES ($1, $2, 1, $3 + $4, 0) \
         ON CONFLICT (kind, key) DO UPDATE SET \
           failures = CASE WHEN w.ends <= $3 THEN 1 ELSE w.failures + 1 END, \
           last_slowed = CASE WHEN w.ends <= $3 THEN 0 WHEN w.failures >= $5 THEN $3 ELSE w.last_slowed END, \
           ends = CASE WHEN w.ends <= $3 THEN $3 + $4 ELSE w.ends END \
         WHERE w.ends <= $3 OR w.failures < $5 \
            OR ($6 > 0 AND $3 >= GREATEST(w.last_slowed, w.ends - $4) + $6) \
         RETURNING failures",
    )
    .bind(kind.as_str())
    .bind(key)
    .bind(now)
    .bind(limits.length)
    .bind(limits.limit)
    .bind(limits.pace)
    .fetch_optional(pool)
    .await?;
    if counted.is_some() {
        return Ok(Ok(()));
    }
    // Over the limit: until the next paced attempt, or the window's end.
    let (ends, last_slowed): (i64, i64) =
        sqlx::query_as("SELECT ends, last_slowed FROM auth_windows WHERE kind = $1 AND key = $2")
            .bind(kind.as_str())
            .bind(key)
            .fetch_one(pool)
            .await?;
    let until = if limits.pace > 0 { (last_slowed.max(ends - limits.length) + limits.pace).min(ends) } else { ends };
    Ok(Err((until - now).max(1) as u64))
}

/// Seconds to wait when the window is over its limit now.
pub async fn blocked_for(
    pool: &PgPool,
    kind: WindowKind,
    key: &str,
    now: i64,
    limit: i64,
) -> Result<Option<u64>, StoreError> {
    let ends: Option<i64> = sqlx::query_scalar(
        "SELECT ends FROM auth_windows WHERE kind = $1 AND key = $2 AND ends > $3 AND failures >= $4",
    )
    .bind(kind.as_str())
    .bind(key)
    .bind(now)
    .bind(limit)
    .fetch_optional(pool)
    .await?;
    Ok(ends.map(|ends| (ends - now).max(1) as u64))
}

/// Counts a failure without a check (a username probe).
pub async fn count(pool: &PgPool, kind: WindowKind, key: &str, now: i64, length: i64) -> Result<(), StoreError> {
    let unlimited = Limits { limit: i64::MAX, length, pace: 0 };
    reserve(pool, kind, key, now, unlimited).await?.ok();
    Ok(())
}

/// Takes back one counted attempt.
pub async fn unreserve(pool: &PgPool, kind: WindowKind, key: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE auth_windows SET failures = GREATEST(failures - 1, 0) WHERE kind = $1 AND key = $2")
        .bind(kind.as_str())
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets a window (a username's, after a success).
pub async fn reset(pool: &PgPool, kind: WindowKind, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM auth_windows WHERE kind = $1 AND key = $2")
        .bind(kind.as_str())
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes every window that has ended.
pub async fn purge(pool: &PgPool, now: i64) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM auth_windows WHERE ends <= $1").bind(now).execute(pool).await?.rows_affected())
}
