//! What authentication reads and changes: a person's password hash and the
//! privileges of their role, fetched together in one round trip.

use sqlx::Row;

use super::{Db, StoreError, Tx};
use crate::domain::privilege::Privileges;

/// A person as authentication sees them. The hash stays inside the server.
#[derive(Debug, Clone)]
pub struct Login {
    pub person: i64,
    pub customer: i64,
    pub role: i64,
    pub password_hash: String,
    pub privileges: Privileges,
}

const FIND_LOGIN: &str = "SELECT p.id, p.customer, p.role, p.password_hash, rp.privilege, rp.access \
     FROM people p LEFT JOIN role_privileges rp ON rp.role = p.role WHERE p.username = $1";

pub async fn find_login(db: &Db, username: &str) -> Result<Option<Login>, StoreError> {
    let rows = on_read!(db, |pool| {
        sqlx::query(FIND_LOGIN)
            .bind(username)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| {
                Ok::<_, sqlx::Error>((
                    row.try_get::<i64, _>(0)?,
                    row.try_get::<i64, _>(1)?,
                    row.try_get::<i64, _>(2)?,
                    row.try_get::<String, _>(3)?,
                    row.try_get::<Option<String>, _>(4)?,
                    row.try_get::<Option<i64>, _>(5)?,
                ))
            })
            .collect::<Result<Vec<_>, _>>()?
    });
    let mut login: Option<Login> = None;
    for (person, customer, role, password_hash, privilege, access) in rows {
        let login = login.get_or_insert_with(|| Login {
            person,
            customer,
            role,
            password_hash,
            privileges: Privileges::default(),
        });
        login.privileges.grant_stored(privilege.as_deref(), access);
    }
    Ok(login)
}

/// Replaces a person's password hash (`switchyard admin passwd`). Returns
/// false when there is no such person.
pub async fn set_password_hash(db: &Db, username: &str, hash: &str) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let person: Option<i64> = on_tx!(&mut tx, |conn| sqlx::query_scalar("SELECT id FROM people WHERE username = $1")
        .bind(username)
        .fetch_optional(conn)
        .await)?;
    let Some(person) = person else { return Ok(false) };
    let done = replace_hash(&mut tx, person, hash).await?;
    tx.commit().await?;
    Ok(done)
}

/// Replaces person `person`'s password hash inside `tx`: the one statement
/// both `admin passwd` and `people/password` change a password with. Every
/// process's credential cache forgets the old password on the very next
/// call, because each cached entry holds the hash it was proven against and
/// every call reads the current hash (a new hash always differs: its salt
/// is new).
pub async fn replace_hash(tx: &mut Tx, person: i64, hash: &str) -> Result<bool, StoreError> {
    let done = on_tx!(tx, |conn| sqlx::query("UPDATE people SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(person)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(done == 1)
}
