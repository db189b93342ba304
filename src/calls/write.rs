//! The last steps of every writing call, shared: the customer a call acts in,
//! and one transaction that either commits, or (with `validation=1`) rolls back
//! after every check has passed and answers 201.

use crate::{
    auth::Caller,
    calls::{CallResult, Input, Kind, Param},
    http::envelope::Reply,
    store::{self, Db, StoreError, Tx},
};

/// The `validation` parameter every writing call takes.
pub const VALIDATION: Param =
    Param::optional("validation", Kind::Flag, "0", "1 to validate input then return, 0 for full action.");

/// Runs `act` (plan check, conflicts, writes) in one transaction. Any error
/// rolls everything back; with `validation` the transaction is rolled back
/// after `act` succeeded, so validation runs exactly the checks a real call
/// would, including the database's own constraints, and writes nothing.
pub async fn in_transaction(db: &Db, validation: bool, act: impl AsyncFnOnce(&mut Tx) -> CallResult) -> CallResult {
    let mut tx = db.begin().await?;
    let reply = act(&mut tx).await?;
    if validation {
        tx.rollback().await?;
        return Ok(Reply::Validated);
    }
    tx.commit().await?;
    Ok(reply)
}

/// Checks that customer `id` (from parameter `key`) exists and is seen by the
/// caller, recording a 400 for `key` otherwise. An unseen customer is answered
/// exactly like one that does not exist.
pub async fn check_seen_customer(
    db: &Db,
    caller: &Caller,
    input: &mut Input<'_>,
    key: &str,
    id: Option<i64>,
) -> Result<(), StoreError> {
    // The caller's own customer is always seen: no need to ask the database.
    if let Some(id) = id
        && id != caller.customer
        && !store::customers::is_visible(db, caller.scope(), id).await?
    {
        input.error(key, "This customer does not exist.");
    }
    Ok(())
}

/// The `customer` parameter (default: the caller's own customer), checked to
/// be seen by the caller.
pub async fn customer_param(db: &Db, caller: &Caller, input: &mut Input<'_>) -> Result<i64, StoreError> {
    let customer = input.int("customer", caller.customer).unwrap_or(caller.customer);
    check_seen_customer(db, caller, input, "customer", Some(customer)).await?;
    Ok(customer)
}

/// Text of at most `max` characters (and, when `required`, at least one).
pub fn bounded_text<'a>(input: &mut Input<'a>, key: &str, required: bool, max: usize) -> Option<&'a str> {
    let value = if required { input.required_text(key)? } else { input.text(key).unwrap_or("") };
    if value.chars().count() > max {
        input.error(key, &format!("This parameter must be at most {max} characters."));
    }
    Some(value)
}

/// An e-mail address: something@something, no spaces, at most 255 characters.
pub fn email<'a>(input: &mut Input<'a>, key: &str, required: bool) -> Option<&'a str> {
    let value = bounded_text(input, key, required, 255)?;
    if !value.is_empty() && !is_email(value) {
        input.error(key, "This parameter must be an e-mail address.");
    }
    Some(value)
}

pub fn is_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !value.contains(char::is_whitespace)
        }
        None => false,
    }
}

pub fn id_json(id: i64) -> Reply {
    Reply::Data(serde_json::json!({ "id": id }))
}
