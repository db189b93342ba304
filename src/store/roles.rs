//! Roles and the privileges they hold.

use sqlx::Row;

use super::{Db, ListWindow, StoreError, Tx, now_epoch};
use crate::domain::privilege::{Access, Privilege, Privileges};

#[derive(Debug, Clone)]
pub struct RoleRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub privileges: Privileges,
}

pub async fn count(db: &Db) -> Result<i64, StoreError> {
    Ok(on_read!(db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM roles").fetch_one(pool).await)?)
}

pub async fn list(db: &Db, window: &ListWindow) -> Result<Vec<RoleRow>, StoreError> {
    let order = window.order();
    let sql = format!(
        "SELECT r.id, r.name, r.description, rp.privilege, rp.access \
         FROM (SELECT id, name, description FROM roles ORDER BY id {order} LIMIT $1 OFFSET $2) r \
         LEFT JOIN role_privileges rp ON rp.role = r.id ORDER BY r.id {order}"
    );
    let rows = on_read!(db, |pool| {
        sqlx::query(&sql)
            .bind(window.limit_or_all())
            .bind(window.offset)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| {
                Ok::<_, sqlx::Error>((
                    row.try_get::<i64, _>(0)?,
                    row.try_get::<String, _>(1)?,
                    row.try_get::<String, _>(2)?,
                    row.try_get::<Option<String>, _>(3)?,
                    row.try_get::<Option<i64>, _>(4)?,
                ))
            })
            .collect::<Result<Vec<_>, _>>()?
    });
    let mut roles: Vec<RoleRow> = Vec::new();
    for (id, name, description, privilege, access) in rows {
        if roles.last().is_none_or(|r| r.id != id) {
            roles.push(RoleRow { id, name, description, privileges: Privileges::default() });
        }
        roles.last_mut().expect("pushed above").privileges.grant_stored(privilege.as_deref(), access);
    }
    Ok(roles)
}

pub async fn exists(db: &Db, role: i64) -> Result<bool, StoreError> {
    let found: Option<i64> = on_read!(db, |pool| sqlx::query_scalar("SELECT id FROM roles WHERE id = $1")
        .bind(role)
        .fetch_optional(pool)
        .await)?;
    Ok(found.is_some())
}

/// The privileges a role holds.
pub async fn privileges(db: &Db, role: i64) -> Result<Privileges, StoreError> {
    let rows: Vec<(String, i64)> =
        on_read!(db, |pool| sqlx::query_as("SELECT privilege, access FROM role_privileges WHERE role = $1")
            .bind(role)
            .fetch_all(pool)
            .await)?;
    let mut privileges = Privileges::default();
    for (name, code) in rows {
        privileges.grant_stored(Some(&name), Some(code));
    }
    Ok(privileges)
}

pub async fn create(tx: &mut Tx, name: &str, description: &str) -> Result<i64, StoreError> {
    Ok(on_tx!(tx, |conn| sqlx::query_scalar(
        "INSERT INTO roles (name, description, created) VALUES ($1, $2, $3) RETURNING id"
    )
    .bind(name)
    .bind(description)
    .bind(now_epoch())
    .fetch_one(conn)
    .await)?)
}

/// Sets how a role holds a privilege; `None` removes it.
pub async fn set_access(
    tx: &mut Tx,
    role: i64,
    privilege: Privilege,
    access: Option<Access>,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| sqlx::query("DELETE FROM role_privileges WHERE role = $1 AND privilege = $2")
        .bind(role)
        .bind(privilege.as_str())
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    if let Some(access) = access {
        on_tx!(tx, |conn| sqlx::query("INSERT INTO role_privileges (role, privilege, access) VALUES ($1, $2, $3)")
            .bind(role)
            .bind(privilege.as_str())
            .bind(access.code())
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// One role with the privileges it holds.
pub async fn get(db: &Db, role: i64) -> Result<Option<RoleRow>, StoreError> {
    let row: Option<(i64, String, String)> =
        on_read!(db, |pool| sqlx::query_as("SELECT id, name, description FROM roles WHERE id = $1")
            .bind(role)
            .fetch_optional(pool)
            .await)?;
    let Some((id, name, description)) = row else { return Ok(None) };
    Ok(Some(RoleRow { id, name, description, privileges: privileges(db, id).await? }))
}

/// Changes the fields given (`None` keeps); answers whether the role exists.
pub async fn update(tx: &mut Tx, role: i64, name: Option<&str>, description: Option<&str>) -> Result<bool, StoreError> {
    let changed = on_tx!(tx, |conn| sqlx::query(
        "UPDATE roles SET name = COALESCE($2, name), description = COALESCE($3, description) WHERE id = $1"
    )
    .bind(role)
    .bind(name)
    .bind(description)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(changed > 0)
}

/// Whether `role` exists now, locked until `tx` ends on PostgreSQL.
pub async fn lock(tx: &mut Tx, role: i64) -> Result<bool, StoreError> {
    super::references::lock_row(tx, "roles", role).await
}

/// How many people hold `role`.
pub async fn holders(tx: &mut Tx, role: i64) -> Result<i64, StoreError> {
    Ok(on_tx!(tx, |conn| sqlx::query_scalar("SELECT COUNT(*) FROM people WHERE role = $1")
        .bind(role)
        .fetch_one(conn)
        .await)?)
}

/// Deletes a role and the privileges it holds.
pub async fn delete(tx: &mut Tx, role: i64) -> Result<(), StoreError> {
    for sql in ["DELETE FROM role_privileges WHERE role = $1", "DELETE FROM roles WHERE id = $1"] {
        on_tx!(tx, |conn| sqlx::query(sql).bind(role).execute(conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}
