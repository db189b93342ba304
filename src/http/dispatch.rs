//! The one path every API request takes, in the order of checks of the
//! contract: routing (404, 405), load (503), size (413), parameters as bytes
//! (400), credentials (401), role privilege (402); then the call's handler does
//! the rest. One log line per request, which never holds a parameter value.

use std::{
    net::{IpAddr, SocketAddr},
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, Method, header, request::Parts},
    response::Response,
};
use base64::Engine;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::{
    app::AppState,
    auth::{Caller, Credentials},
    calls::{Access, AuditNote, CallResult, CallSpec, Ctx},
    http::{
        envelope::{EnvelopeCode, Reply, render},
        error::ApiError,
        idempotency::{self, Decision, Ticket},
        params::{BodyKind, Params, ParamsBuilder},
    },
    store::{self, audit::NewAudit},
};

const API_PREFIX: &str = "/api/json/";

/// The handler behind `/api/json/...` (and, as the router's fallback, every unknown path).
pub async fn api(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let client = client_address(peer.ip(), request.headers(), &state.settings.trusted_proxies);
    let spec = request
        .uri()
        .path()
        .strip_prefix(API_PREFIX)
        .map(|call| call.strip_suffix('/').unwrap_or(call))
        .and_then(|call| state.calls.get(call));
    let (outcome, caller, ticket) = match spec {
        Some(spec) => run(&state, spec, client, request).await,
        None => (Err(ApiError::UnknownCall), None, None),
    };
    let mut response = render(outcome, state.settings.http_status);
    if let Some(ticket) = ticket {
        response = idempotency::finish(&state, ticket, response).await;
    }
    let code = response.extensions().get::<EnvelopeCode>().map_or(0, |c| c.0);
    let elapsed = started.elapsed().as_secs_f64();
    state.metrics.observe(spec.map_or("(unknown)", |s| s.name), code, elapsed);
    tracing::info!(
        target: "switchyard::request",
        call = spec.map_or("(unknown)", |s| s.name),
        person = caller.as_ref().map_or("-", |c| c.username.as_str()),
        client = %client,
        code,
        duration_ms = elapsed * 1000.0,
        "call"
    );
    response
}

/// What a call answered, who made it, and the `Idempotency-Key` it acted under.
type Ran = (CallResult, Option<Caller>, Option<Ticket>);

async fn run(state: &AppState, spec: &'static CallSpec, client: IpAddr, request: Request) -> Ran {
    if request.method() != Method::GET && request.method() != Method::POST {
        return (Err(ApiError::MethodNotAllowed), None, None);
    }
    let Ok(_permit) = state.in_flight.clone().try_acquire_owned() else {
        return (Err(ApiError::Overloaded), None, None);
    };
    let (parts, body) = request.into_parts();
    let params = match read_params(state, &parts, body).await {
        Ok(params) => params,
        Err(err) => return (Err(err), None, None),
    };
    let caller = match spec.access {
        Access::Public => None,
        Access::Requires { any_of, writes } => {
            let credentials = credentials(&params, &parts.headers);
            let caller = match state.auth.authenticate(&state.db, credentials, client).await {
                Ok(caller) => caller,
                Err(err) => return (Err(err), None, None),
            };
            if !caller.privileges.admits(any_of, writes) {
                return (Err(ApiError::RoleForbids), Some(caller), None);
            }
            Some(caller)
        }
    };
    // A retry under a known key is answered here, before anything acts again.
    let mut ticket = None;
    if let (Access::Requires { writes: true, .. }, Some(person)) = (spec.access, &caller)
        && params.get("validation") != Some("1")
    {
        let key = match idempotency::key_from(&parts.headers) {
            Ok(key) => key,
            Err(err) => return (Err(err), caller, None),
        };
        if let Some(key) = key {
            match idempotency::decide(state, person.person, key, spec.name, &params).await {
                Ok(Decision::Act(granted)) => ticket = Some(granted),
                Ok(Decision::Replay(reply)) => return (Ok(reply), caller, None),
                Err(err) => return (Err(err), caller, None),
            }
        }
    }
    // What an audit row needs from the parameters, taken before they move into
    // the handler; only writing calls are audited, so reads skip the work.
    let audit_basis = matches!(spec.access, Access::Requires { writes: true, .. })
        .then(|| (describe(spec, &params), params.get("customer").and_then(|c| c.parse::<i64>().ok())));
    let audit = AuditNote::default();
    let ctx = Ctx { state: state.clone(), params, caller: caller.clone(), spec, audit: audit.clone() };
    // The handler runs in its own task so that a client hanging up cannot stop
    // it half-way; its transaction commits or rolls back whole either way.
    let mut task = tokio::spawn((spec.handler)(ctx));
    let timeout = Duration::from_secs(state.settings.limits.call_timeout_secs);
    let outcome = match tokio::time::timeout(timeout, &mut task).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(join)) => Err(ApiError::internal(format_args!("call {} failed: {join}", spec.name))),
        Err(_) => {
            task.abort();
            Err(ApiError::Unavailable(format!("call {} timed out", spec.name)))
        }
    };
    if let (Ok(reply), Some((described, target_customer)), Some(caller)) = (&outcome, audit_basis, &caller)
        && !matches!(reply, Reply::Validated)
    {
        let object = audit.take().unwrap_or(described);
        record_audit(state, spec, caller, client, target_customer, object, reply).await;
    }
    (outcome, caller, ticket)
}

/// One audit row for a writing call that acted. The call has committed by
/// now, so a failure here is logged, not answered.
async fn record_audit(
    state: &AppState,
    spec: &CallSpec,
    caller: &Caller,
    client: IpAddr,
    customer: Option<i64>,
    mut object: String,
    reply: &Reply,
) {
    if let Reply::Data(data) = reply
        && let Some(id) = data.get("id")
    {
        object = format!("{object} id={id}").trim().to_string();
    }
    let entry = NewAudit {
        person: caller.person,
        username: &caller.username,
        customer: customer.unwrap_or(caller.customer),
        client: &client.to_string(),
        call: spec.name,
        object: &object,
    };
    if let Err(err) = store::audit::record(&state.db, &entry).await {
        tracing::error!(%err, call = spec.name, "could not write the audit row");
    }
}

/// The object a writing call acts on, from its identifying parameters: the
/// required ones and `customer`, `end`, `batch`; never a password.
fn describe(spec: &CallSpec, params: &Params) -> String {
    spec.params
        .iter()
        .filter(|p| (p.required || ["customer", "end", "batch", "number"].contains(&p.name)) && p.name != "password")
        .filter_map(|p| params.get(p.name).map(|value| format!("{}={value}", p.name)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Query string, then (for POST) the body: urlencoded, multipart or flat JSON.
async fn read_params(state: &AppState, parts: &Parts, body: Body) -> Result<Params, ApiError> {
    let settings = &state.settings;
    let mut builder = ParamsBuilder::default();
    if let Some(query) = parts.uri.query() {
        builder.add_urlencoded(query.as_bytes());
    }
    if parts.method == Method::POST {
        let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|len| len > settings.max_body_bytes as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        let read = Limited::new(body, settings.max_body_bytes).collect();
        let bytes = match tokio::time::timeout(Duration::from_secs(settings.limits.body_read_timeout_secs), read).await
        {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(err)) if err.is::<LengthLimitError>() => return Err(ApiError::PayloadTooLarge),
            Ok(Err(_)) | Err(_) => return Err(ApiError::invalid("", "The request body could not be read.")),
        };
        if !bytes.is_empty() {
            let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
            match BodyKind::from_content_type(content_type) {
                BodyKind::UrlEncoded => builder.add_urlencoded(&bytes),
                BodyKind::Json => builder.add_json(&bytes),
                BodyKind::Multipart(boundary) => builder.add_multipart(bytes, boundary).await,
                BodyKind::Unsupported => builder.reject_body("The request body's content type is not supported."),
            }
        }
    }
    builder.finish().map_err(ApiError::Invalid)
}

/// `auth_username`/`auth_password` parameters, else HTTP Basic. Parameters win
/// when both are present.
fn credentials(params: &Params, headers: &HeaderMap) -> Option<crate::auth::Credentials> {
    let (username, password) = (params.get("auth_username"), params.get("auth_password"));
    if username.is_some() || password.is_some() {
        return Some(Credentials {
            username: username.unwrap_or_default().to_string(),
            password: password.unwrap_or_default().to_string(),
        });
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (username, password) = decoded.split_once(':')?;
    Some(Credentials { username: username.to_string(), password: password.to_string() })
}

/// The peer's address, unless the peer is a trusted proxy: then the last
/// address of `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded.into_iter().rev().find(|a| !trusted.contains(a)).unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7, 10.0.0.1".parse().unwrap());
        assert_eq!(client_address(proxy, &headers, &[]), proxy);
        assert_eq!(client_address(proxy, &headers, &[proxy]), "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(client_address(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }

    #[test]
    fn parameters_win_over_basic() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Basic YWRtaW46c2VjcmV0".parse().unwrap());
        let basic = credentials(&Params::default(), &headers).unwrap();
        assert_eq!((basic.username.as_str(), basic.password.as_str()), ("admin", "secret"));
        let params = Params::from_pairs([("auth_username", "bob"), ("auth_password", "pw")]);
        assert_eq!(credentials(&params, &headers).unwrap().username, "bob");
        assert!(credentials(&Params::default(), &HeaderMap::new()).is_none());
    }
}
