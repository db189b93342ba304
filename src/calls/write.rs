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

/// As [`in_transaction`], for a call that may change what authentication
/// reads (a person, a role's privileges): once committed, it answers only
/// after this process has heard the change announced, so that the caller's
/// very next call here already meets the new login.
pub async fn in_transaction_changing_logins(ctx: &Ctx, act: impl AsyncFnOnce(&mut Tx) -> CallResult) -> CallResult {
    let reply = in_transaction(ctx, act).await?;
    if !ctx.validation {
        // The change is committed: whatever happens to the wait, the answer is its own.
        ctx.auth.catch_up(&ctx.db).await;
    }
    Ok(reply)
}

/// Runs `act` (plan check, conflicts, writes) in one transaction with the
/// call's audit row. Any error rolls everything back; with `validation` the
/// transaction is rolled back after `act` succeeded, so validation runs
/// exactly the checks a real call would, including the database's own
/// constraints, and writes nothing.
pub async fn in_transaction(ctx: &Ctx, act: impl AsyncFnOnce(&mut Tx) -> CallResult) -> CallResult {
    in_transaction_auditing(ctx, async |tx, entry| {
        let reply = act(tx).await?;
        if !ctx.validation {
            let mut entry = entry.clone();
            if let Some(id) = reply.created_id() {
                entry.object.insert("id".into(), Value::from(id));
            }
            store::audit::record(tx, &entry).await?;
        }
        Ok(reply)
    })
    .await
}

/// As [`in_transaction`], for an act that writes the call's audit row
/// `entry` itself, in a statement of its own making: one round trip fewer
/// for the calls made most often.
pub async fn in_transaction_auditing(ctx: &Ctx, act: impl AsyncFnOnce(&mut Tx, &NewAudit) -> CallResult) -> CallResult {
    let entry = audit_entry(ctx)?;
    let mut tx = ctx.db.begin().await?;
    let reply = act(&mut tx, &entry).await?;
    if ctx.validation {
        tx.rollback().await?;
        return Ok(Reply::Validated);
    }
    if let Some(claim) = &ctx.claim
        && let Some((status, body)) = (claim.render)(&reply)
        && !store::idempotency::complete_in(&mut tx, &claim.key, status, &body).await?
    {
        tx.rollback().await?;
        return Err(ApiError::Superseded);
    }
    ctx.committing.own_commit_begins();
    tx.commit().await?;
    Ok(reply)
}
