//! The last step of every writing call, shared: one transaction that holds
//! the change, its audit row and (under an `Idempotency-Key`) its stored
//! answer, and either commits them all or (with `validation=1`, or on any
//! error) rolls them all back. A call that acted always has its row and its
//! answer; a call that did not never has either, whatever happens to the
//! client's connection or the process.

use serde_json::{Map, Value};

use crate::{
    base::{ApiError, Reply},
    calls::{CallResult, Ctx},
    store::{self, Tx, audit::NewAudit},
};

/// Parameters that identify what a call acted on besides its required ones
/// (`id`: whose password `people/password` set, when not one's own).
const IDENTIFYING: [&str; 5] = ["customer", "end", "batch", "number", "id"];

/// The audit row of a call that acts: who, from where, in which customer, and
/// the identifying parameters as a JSON object (values as sent; a value can
/// never be read as another field). Never a password.
pub fn audit_entry(ctx: &Ctx) -> Result<NewAudit, ApiError> {
    let caller = ctx.caller()?;
    let mut object = Map::new();
    for param in ctx.spec.params {
        let name = param.name();
        if (param.required() || IDENTIFYING.contains(&name))
            && name != "password"
            && let Some(value) = ctx.params.get(name)
        {
            object.insert(name.to_string(), Value::from(value));
        }
    }
    let customer = ctx.params.get("customer").and_then(|c| c.parse::<i64>().ok()).unwrap_or(caller.customer);
    Ok(NewAudit {
        person: caller.person,
        username: caller.username.clone(),
        customer,
        client: ctx.client.to_string(),
        call: ctx.spec.name,
        object,
    })
}

/// Runs `act` (plan check, conflicts, writes) in one transaction with the
/// call's audit row. Any error rolls everything back; with `validation` the
/// transaction is rolled back after `act` succeeded, so validation runs
/// exactly the checks a real call would, including the database's own
/// constraints, and writes nothing.
pub async fn in_transaction(ctx: &Ctx, act: impl AsyncFnOnce(&mut Tx) -> CallResult) -> CallResult {
    let mut tx = ctx.db.begin().await?;
    let reply = act(&mut tx).await?;
    if ctx.validation {
        tx.rollback().await?;
        return Ok(Reply::Validated);
    }
    let mut entry = audit_entry(ctx)?;
    if let Some(id) = reply.created_id() {
        entry.object.insert("id".into(), Value::from(id));
    }
    store::audit::record(&mut tx, &entry).await?;
    if let Some(claim) = &ctx.claim
        && let Some((status, body)) = (claim.render)(&reply)
        && !store::idempotency::complete_in(&mut tx, &claim.key, status, &body).await?
    {
        tx.rollback().await?;
        return Err(ApiError::Superseded);
    }
    ctx.committing.store(true, std::sync::atomic::Ordering::SeqCst);
    tx.commit().await?;
    Ok(reply)
}
