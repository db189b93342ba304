//! The rows a fresh database needs before anyone can log in: roles 1 to 4,
//! plan 1, customer 1 and the system-owner person.

use super::{Db, StoreError, Tx, now_epoch};
use crate::domain::privilege::Privilege;

const ROLES: [(i64, &str, &[Privilege]); 4] = [
    (
        1,
        "System owner",
        &[Privilege::System, Privilege::Commerce, Privilege::Wholesale, Privilege::Administrator, Privilege::User],
    ),
    (2, "Reseller", &[Privilege::Commerce, Privilege::Wholesale, Privilege::Administrator, Privilege::User]),
    (3, "Administrator", &[Privilege::Administrator, Privilege::User]),
    (4, "User", &[Privilege::User]),
];

/// Whether the first start has already happened.
pub async fn is_seeded(db: &Db) -> Result<bool, StoreError> {
    let roles: i64 = on_read!(db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM roles").fetch_one(pool).await)?;
    Ok(roles > 0)
}

/// Seeds an empty database. Returns false, changing nothing, when another
/// process got there first.
pub async fn seed(db: &Db, admin_username: &str, admin_hash: &str) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    if let Tx::Postgres(pg) = &mut tx {
        // Two processes starting at once on one database: the second waits here.
        sqlx::query("SELECT pg_advisory_xact_lock(7400001)").execute(&mut **pg).await?;
    }
    let roles: i64 = on_tx!(&mut tx, |conn| sqlx::query_scalar("SELECT COUNT(*) FROM roles").fetch_one(conn).await)?;
    if roles > 0 {
        return Ok(false);
    }
    let now = now_epoch();
    for (id, name, privileges) in ROLES {
        on_tx!(&mut tx, |conn| sqlx::query(
            "INSERT INTO roles (id, name, description, created) VALUES ($1, $2, '', $3)"
        )
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
        for privilege in privileges {
            on_tx!(&mut tx, |conn| sqlx::query(
                "INSERT INTO role_privileges (role, privilege, access) VALUES ($1, $2, 1)"
            )
            .bind(id)
            .bind(privilege.as_str())
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        }
    }
    on_tx!(&mut tx, |conn| sqlx::query("INSERT INTO plans (id, name, created) VALUES (1, 'Default', $1)")
        .bind(now)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    on_tx!(&mut tx, |conn| sqlx::query(
        "INSERT INTO customers (id, parent, name, email, plan, created) VALUES (1, 0, 'System owner', '', 1, $1)"
    )
    .bind(now)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    on_tx!(&mut tx, |conn| sqlx::query(
        "INSERT INTO people (id, customer, username, password_hash, role, created) VALUES (1, 1, $1, $2, 1, $3)"
    )
    .bind(admin_username)
    .bind(admin_hash)
    .bind(now)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    if let Tx::Postgres(pg) = &mut tx {
        // Explicit ids do not advance identity sequences; without this the next create collides.
        for table in ["roles", "plans", "customers", "people"] {
            let sql = format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))");
            sqlx::query(&sql).execute(&mut **pg).await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}
