//! The server as a value: shared state, the router, and a `serve` that takes an
//! already-bound listener so that tests run on port 0 without waiting.

use std::{convert::Infallible, future::Future, net::SocketAddr, time::Duration};

use axum::{
    Router,
    extract::{ConnectInfo, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::net::TcpListener;
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;

pub use crate::state::AppState;
use crate::{base::ApiError, http::envelope::render_error, pipeline};

pub fn router(state: AppState) -> Router {
    let mode = state.settings.http_status;
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/docs", get(docs))
        // The page that lets a reader try calls is the natural front door;
        // other methods still get the envelope's 404, as any unknown path does.
        .route("/", get(|| async { axum::response::Redirect::to("/api/docs") }).fallback(pipeline::api))
        .fallback(pipeline::api)
        // A bug must still answer with the envelope, not hyper's empty reply.
        .layer(CatchPanicLayer::custom(move |_: Box<dyn std::any::Any + Send>| {
            render_error(&ApiError::internal("a request handler panicked"), mode)
        }))
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), state.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response(),
    }
}

async fn openapi_json(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok());
    let scheme = crate::http::request::forwarded_scheme(peer.ip(), &headers, &state.settings.trusted_proxies);
    axum::Json(crate::openapi::document_for(&state.calls, scheme, host)).into_response()
}

async fn docs(State(state): State<AppState>) -> Response {
    use axum::http::header;
    let page = crate::docs_page::html(&crate::openapi::document(&state.calls));
    (
        [
            (header::CONTENT_SECURITY_POLICY, crate::docs_page::content_security_policy()),
            (header::REFERRER_POLICY, "no-referrer".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        axum::response::Html(page),
    )
        .into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let in_flight = state.settings.limits.max_in_flight.saturating_sub(state.in_flight.available_permits());
    let body = state.metrics.render(&state.auth.stats, &state.auth.cache, &state.db, in_flight);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Serves until `shutdown` resolves, then stops accepting and lets the calls
/// in flight finish for at most the grace period.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let limits = state.settings.limits.clone();
    let in_flight = state.in_flight.clone();
    let purge = tokio::spawn(pipeline::idempotency::purge_expired(state.clone()));
    let listening = match &state.db {
        crate::store::Db::Postgres(pool) => Some(state.auth.clone().start_listening(pool.clone()).await),
        crate::store::Db::Sqlite(_) => None,
    };
    let state_auth = state.auth.clone();
    let app = router(state);
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // Without a header-read timeout a client trickling bytes holds its connection forever.
    http.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(limits.header_read_timeout_secs));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: back off rather than spin.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers go out as soon as they are written: with Nagle's algorithm on,
        // the last small chunk of a streamed answer waited for the client's
        // delayed ACK (about 40 ms on Linux) on every keep-alive request.
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, "could not set TCP_NODELAY");
        }
        let app = app.clone();
        let service = TowerToHyperService::new(tower::service_fn(move |mut request: axum::extract::Request<_>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            let app = app.clone();
            async move {
                let response = app.oneshot(request.map(axum::body::Body::new)).await;
                Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
            }
        }));
        // A client that takes none of its answer for this long is cut off, so
        // that an answer it never reads (a streamed list and the database
        // connection behind it) is not held forever.
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_write_timeout(Some(Duration::from_secs(limits.body_write_timeout_secs)));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(Box::pin(stream)), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "connection closed with an error");
            }
        });
    }
    drop(listener);
    purge.abort();
    if let Some(listening) = listening {
        listening.abort();
        // Nobody hears changes any more: the calls still finishing read their logins.
        state_auth.cache.set_announced(false);
    }
    tracing::info!("shutting down: no longer accepting; finishing calls in flight");
    // Connections first, then the calls' own tasks: a call whose client hung
    // up has no connection left, but still its transaction and its answer.
    let calls = async {
        let _all = in_flight.acquire_many(limits.max_in_flight as u32).await;
    };
    let finished = async {
        graceful.shutdown().await;
        calls.await;
    };
    tokio::select! {
        () = finished => tracing::info!("all calls finished"),
        () = tokio::time::sleep(Duration::from_secs(limits.shutdown_grace_secs)) => {
            tracing::warn!("grace period over; closing the remaining connections");
        }
    }
    Ok(())
}
