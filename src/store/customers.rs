//! Customers: the tenant tree, and which part of it a person sees.

use super::{Db, ListWindow, StoreError, Tx, now_epoch};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct CustomerRow {
    pub id: i64,
    pub parent: i64,
    pub name: String,
    pub email: String,
    pub plan: i64,
    pub created: i64,
}

/// What part of the tree a person sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every customer (the system privilege).
    All,
    /// Their own customer and all its descendants (wholesale).
    Subtree(i64),
    /// Only their own customer.
    Own(i64),
}

/// The ancestors of `$1`, itself included, walking up: cheap, since trees are shallow.
const ANCESTORS: &str = "WITH RECURSIVE up(id, parent) AS ( \
       SELECT id, parent FROM customers WHERE id = $1 \
       UNION ALL SELECT c.id, c.parent FROM customers c JOIN up ON c.id = up.parent) ";

/// `$1` and all its descendants.
const SUBTREE: &str = "WITH RECURSIVE down(id) AS ( \
       SELECT id FROM customers WHERE id = $1 \
       UNION ALL SELECT c.id FROM customers c JOIN down ON c.parent = down.id) ";

const COLUMNS: &str = "id, parent, name, email, plan, created";

/// Whether `customer` exists and is seen from `scope`.
pub async fn is_visible(db: &Db, scope: Scope, customer: i64) -> Result<bool, StoreError> {
    let found: Option<i64> = match scope {
        Scope::All | Scope::Own(_) => {
            if matches!(scope, Scope::Own(own) if own != customer) {
                return Ok(false);
            }
            on_read!(db, |pool| sqlx::query_scalar("SELECT id FROM customers WHERE id = $1")
                .bind(customer)
                .fetch_optional(pool)
                .await)?
        }
        Scope::Subtree(root) => {
            let sql = format!("{ANCESTORS} SELECT id FROM up WHERE id = $2");
            on_read!(db, |pool| sqlx::query_scalar(&sql).bind(customer).bind(root).fetch_optional(pool).await)?
        }
    };
    Ok(found.is_some())
}

pub async fn get(db: &Db, id: i64) -> Result<Option<CustomerRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM customers WHERE id = $1");
    Ok(on_read!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?)
}

/// SQL over the customers seen from `scope` (and children of `parent` when
/// given), binding `$1` the scope's root, `$2`/`$3` the parent filter.
fn scoped(scope: Scope, select: &str, tail: &str) -> (String, i64) {
    let (cte, condition, root) = match scope {
        // `$1` is bound for every scope so that the parameter list stays the same.
        Scope::All => ("", "$1 = 0", 0),
        Scope::Subtree(root) => (SUBTREE, "id IN (SELECT id FROM down)", root),
        Scope::Own(own) => ("", "id = $1", own),
    };
    (format!("{cte} SELECT {select} FROM customers WHERE {condition} AND ($2 = 0 OR parent = $3) {tail}"), root)
}

/// The customers seen from `scope`, optionally only the children of `parent`.
pub async fn list(
    db: &Db,
    scope: Scope,
    parent: Option<i64>,
    window: &ListWindow,
) -> Result<Vec<CustomerRow>, StoreError> {
    let (sql, root) = scoped(scope, COLUMNS, &format!("ORDER BY id {} LIMIT $4 OFFSET $5", window.order()));
    Ok(on_read!(db, |pool| sqlx::query_as(&sql)
        .bind(root)
        .bind(parent.is_some() as i64)
        .bind(parent.unwrap_or(0))
        .bind(window.limit_or_all())
        .bind(window.offset)
        .fetch_all(pool)
        .await)?)
}

pub async fn count(db: &Db, scope: Scope, parent: Option<i64>) -> Result<i64, StoreError> {
    let (sql, root) = scoped(scope, "COUNT(*)", "");
    Ok(on_read!(db, |pool| sqlx::query_scalar(&sql)
        .bind(root)
        .bind(parent.is_some() as i64)
        .bind(parent.unwrap_or(0))
        .fetch_one(pool)
        .await)?)
}

pub async fn create(tx: &mut Tx, parent: i64, name: &str, email: &str, plan: i64) -> Result<i64, StoreError> {
    Ok(on_tx!(tx, |conn| sqlx::query_scalar(
        "INSERT INTO customers (parent, name, email, plan, created) VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    .bind(parent)
    .bind(name)
    .bind(email)
    .bind(plan)
    .bind(now_epoch())
    .fetch_one(conn)
    .await)?)
}

/// Customer `id`, locked (PostgreSQL: `FOR UPDATE`) until `tx` ends. Every
/// writer that adds something to a customer holds its row (`FOR KEY SHARE`,
/// see `plans::allows_one_more` and `references`), so a delete that has
/// locked it counts what is left after those writers are done.
pub async fn lock(tx: &mut Tx, id: i64) -> Result<Option<CustomerRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM customers WHERE id = $1");
    Ok(match tx {
        Tx::Sqlite(lite) => sqlx::query_as(&sql).bind(id).fetch_optional(&mut **lite).await?,
        Tx::Postgres(pg) => sqlx::query_as(&format!("{sql} FOR UPDATE")).bind(id).fetch_optional(&mut **pg).await?,
    })
}

/// Writes `name`, `email` and `plan` of customer `row.id`.
pub async fn update(tx: &mut Tx, row: &CustomerRow) -> Result<(), StoreError> {
    on_tx!(tx, |conn| sqlx::query("UPDATE customers SET name = $2, email = $3, plan = $4 WHERE id = $1")
        .bind(row.id)
        .bind(&row.name)
        .bind(&row.email)
        .bind(row.plan)
        .execute(conn)
        .await
        .map(drop))?;
    Ok(())
}

/// Serialises moves (PostgreSQL): two moves that would each be fine alone
/// (A under B, B under A) could otherwise make a cycle together. Moves are
/// rare; the lock ends with the transaction. SQLite's single writer already
/// runs them one at a time.
pub async fn serialise_moves(tx: &mut Tx) -> Result<(), StoreError> {
    if let Tx::Postgres(pg) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock(7400002)").execute(&mut **pg).await?;
    }
    Ok(())
}

/// Whether `id` is `root` or one of its descendants, read inside `tx`.
pub async fn in_subtree(tx: &mut Tx, root: i64, id: i64) -> Result<bool, StoreError> {
    let sql = format!("{ANCESTORS} SELECT id FROM up WHERE id = $2");
    let found: Option<i64> =
        on_tx!(tx, |conn| sqlx::query_scalar(&sql).bind(id).bind(root).fetch_optional(conn).await)?;
    Ok(found.is_some())
}

/// Puts customer `id` under `parent` with `plan`.
pub async fn move_to(tx: &mut Tx, id: i64, parent: i64, plan: i64) -> Result<(), StoreError> {
    on_tx!(tx, |conn| sqlx::query("UPDATE customers SET parent = $2, plan = $3 WHERE id = $1")
        .bind(id)
        .bind(parent)
        .bind(plan)
        .execute(conn)
        .await
        .map(drop))?;
    Ok(())
}

/// What a customer still has that a plain delete refuses to take with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Remains {
    pub customers: i64,
    pub people: i64,
    pub codes: i64,
    pub numbers: i64,
}

impl Remains {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Counts what customer `id` still has, inside `tx` (after [`lock`]).
pub async fn remains(tx: &mut Tx, id: i64) -> Result<Remains, StoreError> {
    const SQL: &str = "SELECT (SELECT COUNT(*) FROM customers WHERE parent = $1), \
         (SELECT COUNT(*) FROM people WHERE customer = $1), \
         (SELECT COUNT(*) FROM codes WHERE customer = $1), \
         (SELECT COUNT(*) FROM numbers WHERE customer = $1 AND customer <> 0)";
    let (customers, people, codes, numbers): (i64, i64, i64, i64) =
        on_tx!(tx, |conn| sqlx::query_as(SQL).bind(id).fetch_one(conn).await)?;
    Ok(Remains { customers, people, codes, numbers })
}

/// Locks customer `id` and all its descendants (PostgreSQL: `FOR UPDATE`)
/// until `tx` ends, and answers how many there are (0: `id` is gone). A
/// child added by a transaction that committed while this one waited is not
/// in the first statement's snapshot, so the subtree is read again until it
/// stands still; from then on no child can be added (adding one holds its
/// parent's row).
pub async fn lock_subtree(tx: &mut Tx, id: i64) -> Result<usize, StoreError> {
    let select = format!("{SUBTREE} SELECT id FROM customers WHERE id IN (SELECT id FROM down) ORDER BY id");
    match tx {
        Tx::Sqlite(lite) => Ok(sqlx::query_scalar::<_, i64>(&select).bind(id).fetch_all(&mut **lite).await?.len()),
        Tx::Postgres(pg) => {
            let lock = format!("{select} FOR UPDATE");
            let mut locked: Vec<i64> = sqlx::query_scalar(&lock).bind(id).fetch_all(&mut **pg).await?;
            loop {
                let now: Vec<i64> = sqlx::query_scalar(&lock).bind(id).fetch_all(&mut **pg).await?;
                if now == locked {
                    return Ok(now.len());
                }
                locked = now;
            }
        }
    }
}

/// What outside the subtree of `id` routes to a number inside it: feature
/// codes and numbers of other customers.
pub async fn routed_from_outside(tx: &mut Tx, id: i64) -> Result<super::owned_numbers::RoutedBy, StoreError> {
    let routed = |table: &str, key: &str| {
        format!(
            "{SUBTREE} SELECT DISTINCT t.{key} FROM {table} t JOIN numbers n ON \
             (t.dtype = 'number' AND n.number = t.dnumber) OR (t.fax_dtype = 'number' AND n.number = t.fax_dnumber) \
             WHERE n.customer IN (SELECT id FROM down) AND t.customer NOT IN (SELECT id FROM down) ORDER BY t.{key}"
        )
    };
    let (codes, numbers) = (routed("codes", "code"), routed("number_routes", "number"));
    Ok(on_tx!(tx, |conn| {
        let codes = sqlx::query_scalar(&codes).bind(id).fetch_all(&mut *conn).await?;
        let numbers = sqlx::query_scalar(&numbers).bind(id).fetch_all(&mut *conn).await?;
        super::owned_numbers::RoutedBy { codes, numbers }
    }))
}

/// Locks the groups (music classes, record groups, time groups) of customer
/// `id`'s subtree (PostgreSQL: `FOR UPDATE`, which waits for writers holding
/// them) and counts the feature codes and numbers of customers outside it
/// that use one: a shared music class or time group may be used anywhere.
pub async fn groups_used_from_outside(tx: &mut Tx, id: i64) -> Result<i64, StoreError> {
    let within = "IN (SELECT id FROM down)";
    if let Tx::Postgres(pg) = &mut *tx {
        for table in ["music", "recordgroups", "timegroups"] {
            let lock = format!("{SUBTREE} SELECT id FROM {table} WHERE customer {within} FOR UPDATE");
            sqlx::query(&lock).bind(id).execute(&mut **pg).await?;
        }
    }
    let used_by = |table: &str| {
        format!(
            "(SELECT COUNT(*) FROM {table} t WHERE t.customer NOT {within} AND ( \
               t.music IN (SELECT g.id FROM music g WHERE g.customer {within}) \
               OR t.recordgroup IN (SELECT g.id FROM recordgroups g WHERE g.customer {within}) \
               OR (substr(t.routing, 1, 10) = 'timegroup_' AND ltrim(substr(t.routing, 11), '0') IN \
                   (SELECT CAST(g.id AS TEXT) FROM timegroups g WHERE g.customer {within}))))"
        )
    };
    let sql = format!("{SUBTREE} SELECT {} + {}", used_by("codes"), used_by("number_routes"));
    Ok(on_tx!(tx, |conn| sqlx::query_scalar(&sql).bind(id).fetch_one(conn).await)?)
}

/// How much a subtree delete took with it.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Deleted {
    pub customers: u64,
    pub people: u64,
    pub codes: u64,
    pub numbers: u64,
}

/// Deletes customer `id` and its descendants with their people, feature
/// codes and groups (music, record groups, time groups), and gives their
/// numbers back to the pool (customer 0, customer-side fields forgotten).
/// The caller has locked the subtree ([`lock_subtree`]) in `tx`.
pub async fn delete_subtree(tx: &mut Tx, id: i64) -> Result<Deleted, StoreError> {
    let within = "IN (SELECT id FROM down)";
    let statements = [
        format!("{SUBTREE} DELETE FROM people WHERE customer {within}"),
        format!("{SUBTREE} DELETE FROM codes WHERE customer {within}"),
        format!("{SUBTREE} DELETE FROM music WHERE customer {within}"),
        format!("{SUBTREE} DELETE FROM recordgroups WHERE customer {within}"),
        format!("{SUBTREE} DELETE FROM timegroups WHERE customer {within}"),
        // The numbers first: their update waits for any routing of them that is
        // being written, so the routes' delete after it sees that row too.
        format!("{SUBTREE} UPDATE numbers SET customer = 0 WHERE customer {within} AND customer <> 0"),
        format!("{SUBTREE} DELETE FROM number_routes WHERE customer {within}"),
        // Last: every statement above finds the subtree through these rows.
        format!("{SUBTREE} DELETE FROM customers WHERE id {within}"),
    ];
    let mut affected = Vec::with_capacity(statements.len());
    for sql in &statements {
        affected.push(on_tx!(tx, |conn| sqlx::query(sql)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?);
    }
    Ok(Deleted { people: affected[0], codes: affected[1], numbers: affected[5], customers: affected[7] })
}
