//! People: logins. Rows read here never carry the password hash.

use super::{Db, ListWindow, StoreError, Tx, is_unique_violation, now_epoch};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct PersonRow {
    pub id: i64,
    pub customer: i64,
    pub username: String,
    pub role: i64,
    pub email: String,
    pub forename: String,
    pub surname: String,
    pub created: i64,
}

const COLUMNS: &str = "id, customer, username, role, email, forename, surname, created";

pub struct NewPerson<'a> {
    pub customer: i64,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: i64,
    pub email: &'a str,
    pub forename: &'a str,
    pub surname: &'a str,
}

/// Why a person could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("username taken")]
    UsernameTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub async fn get(db: &Db, id: i64) -> Result<Option<PersonRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM people WHERE id = $1");
    Ok(on_read!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?)
}

pub async fn list(db: &Db, customer: i64, window: &ListWindow) -> Result<Vec<PersonRow>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM people WHERE customer = $1 ORDER BY id {} LIMIT $2 OFFSET $3", window.order());
    Ok(on_read!(db, |pool| sqlx::query_as(&sql)
        .bind(customer)
        .bind(window.limit_or_all())
        .bind(window.offset)
        .fetch_all(pool)
        .await)?)
}

pub async fn count(db: &Db, customer: i64) -> Result<i64, StoreError> {
    Ok(on_read!(db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM people WHERE customer = $1")
        .bind(customer)
        .fetch_one(pool)
        .await)?)
}

pub async fn username_taken(tx: &mut Tx, username: &str) -> Result<bool, StoreError> {
    let found: Option<i64> = on_tx!(tx, |conn| sqlx::query_scalar("SELECT id FROM people WHERE username = $1")
        .bind(username)
        .fetch_optional(conn)
        .await)?;
    Ok(found.is_some())
}

/// Inserts a person; the unique index on `username` settles a race between two creates.
pub async fn create(tx: &mut Tx, person: &NewPerson<'_>) -> Result<i64, CreateError> {
    let inserted = on_tx!(tx, |conn| sqlx::query_scalar(
        "INSERT INTO people (customer, username, password_hash, role, email, forename, surname, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"
    )
    .bind(person.customer)
    .bind(person.username)
    .bind(person.password_hash)
    .bind(person.role)
    .bind(person.email)
    .bind(person.forename)
    .bind(person.surname)
    .bind(now_epoch())
    .fetch_one(conn)
    .await);
    match inserted {
        Ok(id) => Ok(id),
        Err(err) if is_unique_violation(&err, "people_username_key") => Err(CreateError::UsernameTaken),
        Err(err) => Err(CreateError::Store(err.into())),
    }
}

/// The person `id`, locked (PostgreSQL: `FOR UPDATE`) until `tx` ends, so
/// that the checks made on it hold for the write that follows.
pub async fn lock(tx: &mut Tx, id: i64) -> Result<Option<PersonRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM people WHERE id = $1");
    Ok(match tx {
        Tx::Sqlite(lite) => sqlx::query_as(&sql).bind(id).fetch_optional(&mut **lite).await?,
        Tx::Postgres(pg) => sqlx::query_as(&format!("{sql} FOR UPDATE")).bind(id).fetch_optional(&mut **pg).await?,
    })
}

/// Writes every changeable field of `row` (all but username and created).
pub async fn update(tx: &mut Tx, row: &PersonRow) -> Result<(), StoreError> {
    on_tx!(tx, |conn| sqlx::query(
        "UPDATE people SET customer = $2, role = $3, email = $4, forename = $5, surname = $6 WHERE id = $1"
    )
    .bind(row.id)
    .bind(row.customer)
    .bind(row.role)
    .bind(&row.email)
    .bind(&row.forename)
    .bind(&row.surname)
    .execute(conn)
    .await
    .map(drop))?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, id: i64) -> Result<(), StoreError> {
    on_tx!(tx, |conn| sqlx::query("DELETE FROM people WHERE id = $1").bind(id).execute(conn).await.map(drop))?;
    Ok(())
}

/// The people who own the system: in customer 1, with a role holding
/// `system` with full access. On PostgreSQL every call that may take
/// ownership away queues here until `tx` ends (one lock of its own, taken
/// before the count, so that the count's snapshot already holds what the
/// call before it committed), and the owners are locked as well: two deletes
/// or demotions of two of the last two, or two owners taking `system` from
/// each other's roles at once, cannot each see the other still there.
pub async fn system_owners(tx: &mut Tx) -> Result<Vec<SystemOwner>, StoreError> {
    const SQL: &str = "SELECT p.id, p.role FROM people p JOIN role_privileges rp ON rp.role = p.role \
         WHERE p.customer = 1 AND rp.privilege = 'system' AND rp.access = 1 ORDER BY p.id";
    Ok(match tx {
        Tx::Sqlite(lite) => sqlx::query_as(SQL).fetch_all(&mut **lite).await?,
        Tx::Postgres(pg) => {
            sqlx::query("SELECT pg_advisory_xact_lock(7400003)").execute(&mut **pg).await?;
            sqlx::query_as(&format!("{SQL} FOR UPDATE OF p")).fetch_all(&mut **pg).await?
        }
    })
}

/// A person who owns the system, and the role that makes them one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct SystemOwner {
    pub id: i64,
    pub role: i64,
}

/// A person's current password hash (for checking `old_password`).
pub async fn password_hash(db: &Db, id: i64) -> Result<Option<String>, StoreError> {
    Ok(on_read!(db, |pool| sqlx::query_scalar("SELECT password_hash FROM people WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}
