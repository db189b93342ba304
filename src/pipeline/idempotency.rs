//! `Idempotency-Key` on writing calls: a retry with the same key and the same
//! parameters within 24 hours gets the first answer again without acting
//! twice, also while the first call is still running (the retry waits for its
//! answer); the same key with other parameters is a 400. Keys belong to the
//! person who sent them and live in the database, so every process honours
//! them. Calls that write nothing (reads, `validation=1`) ignore the header.
//!
//! A running claim holds a lease that its process renews while the call runs;
//! a retry that finds the lease run out (the process died, or the call was
//! lost) takes the claim over and acts, rather than waiting out the call
//! timeout for an answer that will never come.

use std::time::Duration;

use axum::{body::Body, http::HeaderMap, response::Response};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

use crate::{
    base::{ApiError, Params, Reply},
    state::AppState,
    store::{
        self,
        idempotency::{ClaimRef, Lease},
    },
};

pub const HEADER: &str = "Idempotency-Key";

/// The right to act once under a key, and to store the answer.
pub struct Ticket {
    claim: ClaimRef,
}

impl Ticket {
    /// The claim as the call's own transaction names it when it stores its answer.
    pub fn claim(&self) -> &ClaimRef {
        &self.claim
    }
}

/// The key sent, if any: 1 to 255 visible ASCII characters.
pub fn key_from(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(HEADER) else { return Ok(None) };
    match value.to_str() {
        Ok(key) if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(key.to_string()))
        }
        _ => Err(ApiError::invalid(HEADER, "This header must be 1 to 255 visible ASCII characters.")),
    }
}

/// The call and its parameters, credentials left out, in a stable order.
fn fingerprint(call: &str, params: &Params) -> String {
    let mut pairs: Vec<(&str, &str)> = params.iter().filter(|(k, _)| !k.starts_with("auth_")).collect();
    pairs.sort_unstable();
    let mut hash = Sha256::new();
    hash.update(call.as_bytes());
    for (key, value) in pairs {
        hash.update([0]);
        hash.update(key.as_bytes());
        hash.update([1]);
        hash.update(value.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn lease<'a>(state: &AppState, owner: &'a str) -> Lease<'a> {
    Lease { owner, secs: state.settings.limits.idempotency_lease_secs as i64 }
}

/// What to do with a keyed call.
pub enum Decision {
    /// First time (or a claim taken over): act, then store the answer with the ticket.
    Act(Ticket),
    /// A retry: answer what the first call answered.
    Replay(Reply),
}

pub async fn decide(
    state: &AppState,
    person: i64,
    key: String,
    call: &str,
    params: &Params,
) -> Result<Decision, ApiError> {
    let fingerprint = fingerprint(call, params);
    // The process, and this claim among its others.
    let owner = format!("{}:{}", state.instance, crate::state::random_id());
    let timeout = state.settings.limits.call_timeout_secs;
    // Keys are rows: one person cannot make the table grow without bound.
    let most = state.settings.limits.idempotency_keys_per_person;
    if store::idempotency::held_by(&state.db, person).await? >= most as i64
        && store::idempotency::read(&state.db, person, &key).await?.is_none()
    {
        return Err(ApiError::invalid(
            HEADER,
            &format!("At most {most} keys are kept per person; send this call without one, or later."),
        ));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        if store::idempotency::claim(&state.db, person, &key, &fingerprint, lease(state, &owner)).await? {
            return Ok(Decision::Act(Ticket { claim: ClaimRef { person, key, owner } }));
        }
        if let Some(stored) = store::idempotency::read(&state.db, person, &key).await? {
            if stored.fingerprint != fingerprint {
                return Err(ApiError::invalid(HEADER, "This key was used with other parameters."));
            }
            if stored.http_status != 0 {
                return Ok(Decision::Replay(Reply::Stored {
                    status: stored.http_status as u16,
                    body: stored.body.into(),
                }));
            }
        }
        // The first call is still running under a live lease: wait.
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::TimedOut(timeout));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Renews the ticket's lease until the future is dropped (when the call ends).
pub async fn keep_alive(state: &AppState, ticket: &Ticket) -> std::convert::Infallible {
    let every = Duration::from_millis((state.settings.limits.idempotency_lease_secs * 1000 / 3).max(100));
    loop {
        tokio::time::sleep(every).await;
        let claim = &ticket.claim;
        if let Err(err) =
            store::idempotency::renew(&state.db, claim.person, &claim.key, lease(state, &claim.owner)).await
        {
            tracing::warn!(%err, "could not renew the lease of an Idempotency-Key");
        }
    }
}

/// Stores the answer under the ticket's key, unless the call's own
/// transaction already did (a call that acted), and sends it on. A
/// server-side failure (5xx) is not stored: the key is released so that a
/// retry acts. Both only while the claim is still this call's.
pub async fn finish(state: &AppState, ticket: Ticket, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    if parts.status.is_server_error() {
        if let Err(err) = store::idempotency::release(&state.db, &ticket.claim).await {
            tracing::warn!(%err, "could not release an Idempotency-Key");
        }
        return Response::from_parts(parts, body);
    }
    // Writing calls answer with a whole envelope, never a stream.
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    let text = String::from_utf8_lossy(&bytes);
    if let Err(err) = store::idempotency::complete(&state.db, &ticket.claim, parts.status.as_u16(), &text).await {
        tracing::warn!(%err, "could not store the answer of an Idempotency-Key");
        let _ = store::idempotency::release(&state.db, &ticket.claim).await;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Deletes expired keys and ended failure windows every
/// `limits.idempotency_purge_secs`, for as long as the server runs.
pub async fn purge_expired(state: AppState) {
    let every = Duration::from_secs(state.settings.limits.idempotency_purge_secs);
    loop {
        tokio::time::sleep(every).await;
        match store::idempotency::purge(&state.db).await {
            Ok(0) => {}
            Ok(gone) => tracing::debug!(gone, "expired Idempotency-Keys deleted"),
            Err(err) => tracing::warn!(%err, "could not delete expired Idempotency-Keys"),
        }
        // Ended failure windows go on the same beat.
        if let Err(err) = state.auth.purge_windows(&state.db).await {
            tracing::warn!(%err, "could not delete ended failure windows");
        }
    }
}
