//! Roles and the privileges they hold.

use sqlx::Row;

use super::{Db, ListWindow, StoreError};
use crate::{
    auth::privilege::{Access, Privilege, Privileges},
    on_read,
};

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
        if let (Some(p), Some(a)) =
            (privilege.as_deref().and_then(Privilege::parse), access.and_then(Access::from_code))
        {
            roles.last_mut().expect("pushed above").privileges.set(p, Some(a));
        }
    }
    Ok(roles)
}
