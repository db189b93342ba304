//! What a call answers when it succeeds, before the envelope is drawn around it.

use serde::Serialize;
use serde_json::Value;

use crate::base::ApiError;

/// Rows of a streamed list: comma-separated JSON chunks, produced by the store
/// as the database yields them.
pub type RowChunks = tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>;

#[derive(Debug)]
pub enum Reply {
    /// 204: done, no data.
    Done,
    /// 201: `validation=1` and every check passed; nothing was written.
    Validated,
    /// 201 with `data`: what validation found worth saying besides (a
    /// feature code's conflicts).
    ValidatedWith(Value),
    /// 200 with `data`.
    Data(Value),
    /// 200 with `data` an array whose rows arrive as comma-separated JSON
    /// chunks, sent as they come rather than built up in memory first.
    Rows(RowChunks),
    /// A stored answer replayed for an `Idempotency-Key`, as it was sent.
    Stored { status: u16, body: bytes::Bytes },
}

impl Reply {
    /// 200 with `data` drawn from a response struct.
    pub fn data(value: &impl Serialize) -> Result<Self, ApiError> {
        serde_json::to_value(value).map(Self::Data).map_err(ApiError::internal)
    }

    /// The `id` a creating call answers, for the audit trail.
    pub fn created_id(&self) -> Option<i64> {
        match self {
            Self::Data(data) => data.get("id").and_then(Value::as_i64),
            _ => None,
        }
    }
}

/// `{"id": N}`: what a creating call answers.
#[derive(Debug, Serialize)]
pub struct Created {
    pub id: i64,
}

/// `{"count": N}`: what a list answers with `count=1`, and a number range's size.
#[derive(Debug, Serialize)]
pub struct Count {
    pub count: i64,
}
