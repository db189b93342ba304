//! Stored first answers for `Idempotency-Key`, and the leases of the calls
//! still running under a key.

use super::{Db, StoreError, Tx, is_unique_violation, now_epoch};

/// How long a key is remembered.
pub const KEEP_SECS: i64 = 24 * 60 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub fingerprint: String,
    /// 0 while the first call is still running.
    pub http_status: i64,
    pub body: String,
}

/// Who holds a running claim, and until when.
#[derive(Debug, Clone, Copy)]
pub struct Lease<'a> {
    /// This claim's holder: the server process and a token of the claim's own,
    /// so that a claim taken over (even within one process) is told apart.
    pub owner: &'a str,
    pub secs: i64,
}

/// A claim as its holder names it when it writes under the key.
#[derive(Debug, Clone)]
pub struct ClaimRef {
    pub person: i64,
    pub key: String,
    pub owner: String,
}

/// Claims `key` for a first call, or takes over a running claim whose lease
/// has run out (its owner died or hung). Returns false when the key is taken:
/// the caller then reads what is stored.
pub async fn claim(db: &Db, person: i64, key: &str, fingerprint: &str, lease: Lease<'_>) -> Result<bool, StoreError> {
    let now = now_epoch();
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |conn| sqlx::query(
        "DELETE FROM idempotency_keys WHERE person = $1 AND key = $2 AND created < $3"
    )
    .bind(person)
    .bind(key)
    .bind(now - KEEP_SECS)
    .execute(conn)
    .await
    .map(|_| ()))?;
    let inserted = on_tx!(&mut tx, |conn| {
        sqlx::query(
            "INSERT INTO idempotency_keys (person, key, fingerprint, http_status, body, created, owner, lease_until) \
             VALUES ($1, $2, $3, 0, '', $4, $5, $6)",
        )
        .bind(person)
        .bind(key)
        .bind(fingerprint)
        .bind(now)
        .bind(lease.owner)
        .bind(now + lease.secs)
        .execute(conn)
        .await
        .map(|_| ())
    });
    match inserted {
        Ok(()) => {
            tx.commit().await?;
            Ok(true)
        }
        Err(err) if is_unique_violation(&err, "idempotency_keys_pkey") => {
            tx.rollback().await?;
            take_over(db, person, key, fingerprint, lease).await
        }
        Err(err) => Err(err.into()),
    }
}

/// Takes a running claim with the same parameters whose lease has expired.
/// One statement decides, so two retries racing for it cannot both win.
async fn take_over(db: &Db, person: i64, key: &str, fingerprint: &str, lease: Lease<'_>) -> Result<bool, StoreError> {
    let now = now_epoch();
    let mut tx = db.begin().await?;
    let taken = on_tx!(&mut tx, |conn| sqlx::query(
        "UPDATE idempotency_keys SET owner = $4, lease_until = $5 \
         WHERE person = $1 AND key = $2 AND fingerprint = $3 AND http_status = 0 AND lease_until < $6"
    )
    .bind(person)
    .bind(key)
    .bind(fingerprint)
    .bind(lease.owner)
    .bind(now + lease.secs)
    .bind(now)
    .execute(conn)
    .await
    .map(|done| done.rows_affected() == 1))?;
    tx.commit().await?;
    Ok(taken)
}

/// How many live keys `person` holds.
pub async fn held_by(db: &Db, person: i64) -> Result<i64, StoreError> {
    Ok(on_read!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM idempotency_keys WHERE person = $1 AND created >= $2"
    )
    .bind(person)
    .bind(now_epoch() - KEEP_SECS)
    .fetch_one(pool)
    .await)?)
}

/// Deletes every key older than [`KEEP_SECS`]; answers how many.
pub async fn purge(db: &Db) -> Result<u64, StoreError> {
    let mut tx = db.begin().await?;
    let gone = on_tx!(&mut tx, |conn| sqlx::query("DELETE FROM idempotency_keys WHERE created < $1")
        .bind(now_epoch() - KEEP_SECS)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(gone)
}

/// Extends the lease of a claim this holder holds.
pub async fn renew(db: &Db, person: i64, key: &str, lease: Lease<'_>) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |conn| sqlx::query(
        "UPDATE idempotency_keys SET lease_until = $4 WHERE person = $1 AND key = $2 AND owner = $3 AND http_status = 0"
    )
    .bind(person)
    .bind(key)
    .bind(lease.owner)
    .bind(now_epoch() + lease.secs)
    .execute(conn)
    .await
    .map(|_| ()))?;
    tx.commit().await
}

pub async fn read(db: &Db, person: i64, key: &str) -> Result<Option<Stored>, StoreError> {
    let row: Option<(String, i64, String)> = on_read!(db, |pool| sqlx::query_as(
        "SELECT fingerprint, http_status, body FROM idempotency_keys WHERE person = $1 AND key = $2"
    )
    .bind(person)
    .bind(key)
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(|(fingerprint, http_status, body)| Stored { fingerprint, http_status, body }))
}

/// Stores a first answer on a bare connection already inside a transaction
/// (bulk loads manage their own); see [`complete_in`].
macro_rules! complete_on {
    ($conn:expr, $claim:expr, $status:expr, $body:expr) => {
        sqlx::query(
            "UPDATE idempotency_keys SET http_status = $4, body = $5 \
             WHERE person = $1 AND key = $2 AND owner = $3 AND http_status = 0",
        )
        .bind($claim.person)
        .bind(&$claim.key)
        .bind(&$claim.owner)
        .bind(i64::from($status))
        .bind($body)
        .execute($conn)
        .await
        .map(|done| done.rows_affected() == 1)
        .map_err($crate::store::StoreError::from)
    };
}
pub(crate) use complete_on;

/// Stores the first call's answer inside the transaction of the change it
/// answers for, if the claim is still this holder's and unanswered. `false`:
/// a retry took the claim over, and the change must be rolled back. On
/// PostgreSQL the row stays locked until the transaction ends, so a takeover
/// racing with this commit waits for it and then finds the answer.
pub async fn complete_in(tx: &mut Tx, claim: &ClaimRef, http_status: u16, body: &str) -> Result<bool, StoreError> {
    on_tx!(tx, |conn| complete_on!(conn, claim, http_status, body))
}

/// Stores the first call's answer when the call wrote nothing (a refusal):
/// only while the claim is this holder's and unanswered.
pub async fn complete(db: &Db, claim: &ClaimRef, http_status: u16, body: &str) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let stored = complete_in(&mut tx, claim, http_status, body).await?;
    tx.commit().await?;
    Ok(stored)
}

/// Forgets a claim whose call failed on the server's side, so that a retry
/// acts; only while it is this holder's and unanswered.
pub async fn release(db: &Db, claim: &ClaimRef) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |conn| sqlx::query(
        "DELETE FROM idempotency_keys WHERE person = $1 AND key = $2 AND owner = $3 AND http_status = 0"
    )
    .bind(claim.person)
    .bind(&claim.key)
    .bind(&claim.owner)
    .execute(conn)
    .await
    .map(|_| ()))?;
    tx.commit().await
}
