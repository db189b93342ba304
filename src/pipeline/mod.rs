//! The one path every API request takes, in the order of checks of the
//! contract: routing (404, 405), load (503), size (413), parameters as bytes
//! (400), credentials (401), role privilege (402); then the call's handler
//! reads its typed request and does the rest.
//!
//! Everything after routing runs in a task of its own, which owns everything
//! the call leaves behind: its transaction (with the audit row), the stored
//! answer of an `Idempotency-Key`, the request log line and the metrics. A
//! client that hangs up drops only the wait for the answer, never the call's
//! side effects; the log line says that it hung up.

pub mod idempotency;

use std::{
    net::{IpAddr, SocketAddr},
    panic::AssertUnwindSafe,
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, request::Parts},
    response::Response,
};
use futures_util::FutureExt;
use tokio::sync::OwnedSemaphorePermit;
use tracing::{Instrument, field};

use crate::{
    auth::Caller,
    base::{ApiError, Params},
    calls::{Access, CallResult, CallSpec, Claim, Ctx},
    http::{
        envelope::{EnvelopeCode, render, render_error, stored_form},
        request::{client_address, credentials, read_params},
    },
    state::AppState,
};
use idempotency::{Decision, Ticket};

const API_PREFIX: &str = "/api/json/";
pub const REQUEST_ID: &str = "x-request-id";

/// The handler behind `/api/json/...` (and, as the router's fallback, every unknown path).
pub async fn api(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let client = client_address(peer.ip(), request.headers(), &state.settings.trusted_proxies);
    let request_id = request_id(request.headers());
    let spec = request
        .uri()
        .path()
        .strip_prefix(API_PREFIX)
        .map(|call| call.strip_suffix('/').unwrap_or(call))
        .and_then(|call| state.calls.get(call));
    let name = spec.map_or("(unknown)", |s| s.name);
    let span =
        tracing::info_span!("call", call = name, person = field::Empty, client = %client, request_id = %request_id);
    let (answer, answered) = tokio::sync::oneshot::channel();
    let mode = state.settings.http_status;
    tokio::spawn(
        async move {
            // The in-flight permit is held until the log line is written, so
            // that a graceful shutdown waits for everything the call leaves.
            let (mut response, caller, _permit) = match spec {
                Some(spec) => run(&state, spec, client, request).await,
                None => (render_error(&ApiError::UnknownCall, mode), None, None),
            };
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            let code = response.extensions().get::<EnvelopeCode>().map_or(0, |c| c.0);
            let status = response.status().as_u16();
            // A failed send means the client hung up before its answer was ready.
            let hung_up = answer.send(response).is_err();
            let elapsed = started.elapsed();
            state.metrics.observe(name, code, status, elapsed.as_secs_f64());
            tracing::info!(
                target: "switchyard::request",
                call = name,
                person = caller.as_ref().map_or("-", |c| c.username.as_str()),
                client = %client,
                request_id = %request_id,
                code,
                status,
                duration_ms = (elapsed.as_secs_f64() * 10_000.0).round() / 10.0,
                hung_up,
                "call"
            );
        }
        .instrument(span),
    );
    answered.await.unwrap_or_else(|_| render_error(&ApiError::internal("a call's task ended without an answer"), mode))
}

/// The client's own request id when it is a plain token, else a new one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            (1..=64).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map_or_else(crate::state::random_id, str::to_string)
}

/// The call from its parameters to its rendered answer, with the caller it
/// ran for and the in-flight permit it holds.
async fn run(
    state: &AppState,
    spec: &'static CallSpec,
    client: IpAddr,
    request: Request,
) -> (Response, Option<Caller>, Option<OwnedSemaphorePermit>) {
    let mode = state.settings.http_status;
    if ![Method::GET, Method::HEAD, Method::POST].contains(request.method()) {
        return (render_error(&ApiError::MethodNotAllowed, mode), None, None);
    }
    // The body is read (bounded in size and time) before a call slot is
    // taken, under a limit of its own: clients that send headers and never a
    // body cannot take the slots of calls.
    let (parts, body) = request.into_parts();
    let params = {
        // Only a POST's body is read.
        let reading = (parts.method == Method::POST).then(|| state.body_readers.clone().try_acquire_owned());
        if let Some(Err(_)) = reading {
            return (render_error(&ApiError::Overloaded, mode), None, None);
        }
        read_params(&state.settings, &parts, body).await
    };
    let Ok(permit) = state.in_flight.clone().try_acquire_owned() else {
        return (render_error(&ApiError::Overloaded, mode), None, None);
    };
    // HEAD is GET without a body (hyper leaves it out), and is never meant
    // to change anything: a writing call only validates, and a list only
    // counts rather than stream rows nobody reads.
    let params = match params {
        Ok(params) if parts.method == Method::HEAD && spec.writes() => Ok(params.with("validation", "1")),
        Ok(params) if parts.method == Method::HEAD && spec.list => Ok(params.with("count", "1")),
        other => other,
    };
    let (outcome, caller, ticket) = match params {
        Ok(params) => admit_and_call(state, spec, client, &parts, params).await,
        Err(err) => (Err(err), None, None),
    };
    let mut response = render(outcome, mode);
    if let Some(ticket) = ticket {
        response = idempotency::finish(state, ticket, response).await;
    }
    (response, caller, Some(permit))
}

/// What a call answered, who made it, and the `Idempotency-Key` it acted under.
type Ran = (CallResult, Option<Caller>, Option<Ticket>);

async fn admit_and_call(
    state: &AppState,
    spec: &'static CallSpec,
    client: IpAddr,
    parts: &Parts,
    params: Params,
) -> Ran {
    let caller = match spec.access {
        Access::Public => None,
        Access::Requires { any_of, writes } => {
            let credentials = credentials(&params, &parts.headers);
            let caller = match state.auth.authenticate(&state.db, credentials, client).await {
                Ok(caller) => caller,
                Err(err) => return (Err(err), None, None),
            };
            tracing::Span::current().record("person", caller.username.as_str());
            if !caller.privileges.admits(any_of, writes) {
                return (Err(ApiError::RoleForbids), Some(caller), None);
            }
            Some(caller)
        }
    };
    // A retry under a known key is answered here, before anything acts again.
    let mut ticket = None;
    if let (true, Some(person)) = (spec.writes(), &caller) {
        // A malformed key is refused also under validation=1, which must
        // answer as the real call would; only a well-formed one is then ignored.
        let key = match idempotency::key_from(&parts.headers) {
            Ok(key) => key,
            Err(err) => return (Err(err), caller, None),
        };
        if let Some(key) = key.filter(|_| params.get("validation") != Some("1")) {
            match idempotency::decide(state, person.person, key, spec.name, &params).await {
                Ok(Decision::Act(granted)) => ticket = Some(granted),
                Ok(Decision::Replay(reply)) => return (Ok(reply), caller, None),
                Err(err) => return (Err(err), caller, None),
            }
        }
    }
    let committing = std::sync::Arc::new(crate::base::CommitGate::default());
    let ctx = Ctx {
        db: state.db.clone(),
        caller: caller.clone(),
        spec,
        params,
        client,
        auth: state.auth.clone(),
        metrics: state.metrics.clone(),
        strict: state.settings.strict_params,
        validation: false,
        window: Default::default(),
        count: false,
        claim: ticket.as_ref().map(|ticket| Claim { key: ticket.claim().clone(), render: stored_form }),
        streams: state.streams.clone(),
        committing: committing.clone(),
        code_batches: state.code_batches.clone(),
    };
    let secs = state.settings.limits.call_timeout_secs;
    // A panic in a handler is a 500 like any other fault, not a lost task.
    let handler = AssertUnwindSafe((spec.handler)(ctx)).catch_unwind();
    let call = async {
        let panicked = |_| Err(ApiError::internal(format_args!("call {} panicked", spec.name)));
        tokio::pin!(handler);
        match tokio::time::timeout(Duration::from_secs(secs), &mut handler).await {
            Ok(outcome) => outcome.unwrap_or_else(panicked),
            // A commit under way may already have taken effect: its outcome,
            // not a guess, is the answer.
            Err(_) if !committing.abandon() => handler.await.unwrap_or_else(panicked),
            // Dropping the handler before its commit rolls its transaction back.
            Err(_) => Err(ApiError::TimedOut(secs)),
        }
    };
    let outcome = match &ticket {
        Some(ticket) => tokio::select! {
            outcome = call => outcome,
            never = idempotency::keep_alive(state, ticket) => match never {},
        },
        None => call.await,
    };
    (outcome, caller, ticket)
}
