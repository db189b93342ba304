//! The Enswitch envelope, `{"responses":[{"code","key","message"}],"data":...}`,
//! and the policy that maps envelope codes to HTTP statuses. Enswitch clients
//! expect string codes and HTTP 200 for every answer a call gives; the
//! `mirror` setting is for clients that prefer real statuses.

use axum::{
    body::Body,
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use serde::Serialize;
use serde_json::Value;

use crate::{
    base::{ApiError, Reply, RowChunks},
    settings::HttpStatusMode,
};

/// The envelope code sent, kept on the response so the request log can report it.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeCode(pub u16);

#[derive(Serialize)]
struct Entry<'a> {
    code: String,
    key: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct Envelope<'a> {
    responses: Vec<Entry<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
}

/// The most 400 entries an answer lists; one more entry counts the rest.
pub const MAX_ENTRIES: usize = 100;

pub const MSG_UNAUTHORIZED: &str = "The authentication details provided are invalid.";
pub const MSG_ROLE: &str = "Your role does not allow this.";
pub const MSG_PLAN: &str = "Your rate plan does not allow this.";

pub fn render(outcome: Result<Reply, ApiError>, mode: HttpStatusMode) -> Response {
    match outcome {
        Ok(Reply::Done) => envelope(StatusCode::OK, 204, &[("", "OK")], None),
        Ok(Reply::Validated) => envelope(StatusCode::OK, 201, &[("", "Input passed validation.")], None),
        Ok(Reply::ValidatedWith(data)) => {
            envelope(StatusCode::OK, 201, &[("", "Input passed validation.")], Some(&data))
        }
        Ok(Reply::Data(data)) => envelope(StatusCode::OK, 200, &[("", "OK")], Some(&data)),
        Ok(Reply::Rows(chunks)) => streamed_rows(chunks),
        Ok(Reply::Stored { status, body }) => stored(status, body),
        Err(err) => render_error(&err, mode),
    }
}

pub fn render_error(err: &ApiError, mode: HttpStatusMode) -> Response {
    let code = err.code();
    let status = if err.is_transport() || mode == HttpStatusMode::Mirror {
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    } else {
        StatusCode::OK
    };
    let mut response = match err {
        ApiError::Invalid(fields) => {
            // A client sending thousands of bad keys gets the first hundred and a count.
            let mut entries: Vec<(&str, &str)> =
                fields.iter().take(MAX_ENTRIES).map(|f| (f.key.as_str(), f.message.as_str())).collect();
            let more = fields.len().saturating_sub(MAX_ENTRIES);
            let summary = format!("{more} more parameters were refused.");
            if more > 0 {
                entries.push(("", &summary));
            }
            envelope(status, code, &entries, None)
        }
        ApiError::UnknownCall => envelope(status, code, &[("", "The requested function does not exist.")], None),
        ApiError::MethodNotAllowed => envelope(status, code, &[("", "Only GET, HEAD and POST are allowed.")], None),
        ApiError::PayloadTooLarge => envelope(status, code, &[("", "The request body is too large.")], None),
        ApiError::Unauthorized { .. } => envelope(status, code, &[("", MSG_UNAUTHORIZED)], None),
        ApiError::RoleForbids => envelope(status, code, &[("", MSG_ROLE)], None),
        ApiError::PlanForbids => envelope(status, code, &[("", MSG_PLAN)], None),
        ApiError::NotFound => envelope(status, code, &[("", "The requested object does not exist.")], None),
        ApiError::NotFoundNamed(message) => envelope(status, code, &[("", message)], None),
        ApiError::Overloaded | ApiError::Unavailable(_) | ApiError::TimedOut(_) | ApiError::Superseded => {
            envelope(status, code, &[("", "The service is temporarily unavailable. Please try again.")], None)
        }
        ApiError::StorageFull(cause) => {
            tracing::error!(%cause, "the database's storage is full; the call was rolled back");
            envelope(
                status,
                code,
                &[("", "The database has no space left; nothing was written. Please try again later.")],
                None,
            )
        }
        ApiError::Internal(cause) => {
            tracing::error!(%cause, "internal error");
            envelope(status, code, &[("", "Internal server error.")], None)
        }
    };
    match err {
        ApiError::MethodNotAllowed => {
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
        }
        ApiError::Unauthorized { retry_after: Some(secs) } => {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*secs));
        }
        ApiError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
        ApiError::TimedOut(secs) => {
            tracing::warn!(timeout_secs = secs, "call timed out; its transaction was rolled back")
        }
        _ => {}
    }
    // Every 503 says "try again": say when, so that a client's retry loop
    // (and a generated client) backs off instead of spinning.
    if code == 503 {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// What a successful answer is stored as for an `Idempotency-Key`: its HTTP
/// status and body, exactly as [`render`] sends them. `None` for answers that
/// are not whole envelopes (streams, replays).
pub fn stored_form(reply: &Reply) -> Option<(u16, String)> {
    let (code, message, data) = match reply {
        Reply::Done => (204, "OK", None),
        Reply::Validated => (201, "Input passed validation.", None),
        Reply::ValidatedWith(data) => (201, "Input passed validation.", Some(data)),
        Reply::Data(data) => (200, "OK", Some(data)),
        Reply::Rows(_) | Reply::Stored { .. } => return None,
    };
    let body = Envelope { responses: vec![Entry { code: code.to_string(), key: "", message }], data };
    Some((StatusCode::OK.as_u16(), serde_json::to_string(&body).ok()?))
}

/// The envelope around a streamed array: the head, the rows as they come, the
/// tail. An error from the rows ends the body, and with it the connection, so
/// the client sees truncated JSON rather than a complete-looking answer.
fn streamed_rows(chunks: RowChunks) -> Response {
    use futures_util::StreamExt;
    const HEAD: &str = r#"{"responses":[{"code":"200","key":"","message":"OK"}],"data":["#;
    let rows =
        futures_util::stream::unfold(chunks, |mut chunks| async move { chunks.recv().await.map(|c| (c, chunks)) });
    let body = futures_util::stream::once(async { Ok(bytes::Bytes::from_static(HEAD.as_bytes())) })
        .chain(rows)
        .chain(futures_util::stream::once(async { Ok(bytes::Bytes::from_static(b"]}")) }));
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.extensions_mut().insert(EnvelopeCode(200));
    response
}

fn stored(status: u16, body: bytes::Bytes) -> Response {
    // The envelope code of the first entry, for the request log and metrics.
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["responses"][0]["code"].as_str().and_then(|c| c.parse().ok()))
        .unwrap_or(200);
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.extensions_mut().insert(EnvelopeCode(code));
    response
}

fn envelope(status: StatusCode, code: u16, entries: &[(&str, &str)], data: Option<&Value>) -> Response {
    let body = Envelope {
        responses: entries.iter().map(|(key, message)| Entry { code: code.to_string(), key, message }).collect(),
        data,
    };
    let bytes = serde_json::to_vec(&body).expect("an envelope always serialises");
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.extensions_mut().insert(EnvelopeCode(code));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::FieldError;
    use http_body_util::BodyExt;

    async fn body(response: Response) -> String {
        String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn success_shapes() {
        let r = render(Ok(Reply::Done), HttpStatusMode::Enswitch);
        assert_eq!(body(r).await, r#"{"responses":[{"code":"204","key":"","message":"OK"}]}"#);
        let r = render(Ok(Reply::Data(serde_json::json!({"count": 1}))), HttpStatusMode::Enswitch);
        assert_eq!(body(r).await, r#"{"responses":[{"code":"200","key":"","message":"OK"}],"data":{"count":1}}"#);
    }

    #[tokio::test]
    async fn status_modes() {
        let err = || ApiError::Invalid(vec![FieldError::new("a", "x"), FieldError::new("b", "y")]);
        assert_eq!(render(Err(err()), HttpStatusMode::Enswitch).status(), StatusCode::OK);
        assert_eq!(render(Err(err()), HttpStatusMode::Mirror).status(), StatusCode::BAD_REQUEST);
        assert_eq!(render(Err(ApiError::UnknownCall), HttpStatusMode::Enswitch).status(), StatusCode::NOT_FOUND);
        let text = body(render(Err(err()), HttpStatusMode::Enswitch)).await;
        assert_eq!(
            text,
            r#"{"responses":[{"code":"400","key":"a","message":"x"},{"code":"400","key":"b","message":"y"}]}"#
        );
    }

    #[tokio::test]
    async fn internal_causes_stay_inside() {
        let r = render(Err(ApiError::internal("relation \"people\" does not exist")), HttpStatusMode::Enswitch);
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body(r).await.contains("people"));
    }
}
