//! The one error type every call returns. Each variant is an envelope code; the
//! internal causes of 500s are logged where the envelope is rendered and never
//! reach the client.

/// One bad parameter: the `key` and `message` of a 400 envelope entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub key: String,
    pub message: String,
}

impl FieldError {
    pub fn new(key: &str, message: &str) -> Self {
        Self { key: key.to_string(), message: message.to_string() }
    }
}

/// What is wrong with one parameter's value, said to the client as it is.
pub type Message = std::borrow::Cow<'static, str>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unknown call")]
    UnknownCall,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// `retry_after` is set when the attempt was throttled rather than checked.
    #[error("authentication failed")]
    Unauthorized { retry_after: Option<u64> },
    #[error("role does not allow this")]
    RoleForbids,
    #[error("rate plan does not allow this")]
    PlanForbids,
    #[error("not found")]
    NotFound,
    /// Not found, in the words Enswitch uses for that kind of object.
    #[error("not found: {0}")]
    NotFoundNamed(&'static str),
    #[error("too many calls in flight")]
    Overloaded,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The call ran past `call_timeout_secs` and was stopped (its transaction rolled back).
    #[error("call timed out after {0} s")]
    TimedOut(u64),
    /// A retry took this call's `Idempotency-Key` over while it ran (its lease
    /// lapsed): the call's change was rolled back, so only the retry acts.
    #[error("a retry took this call's Idempotency-Key over")]
    Superseded,
    /// The database has no space left for the call's writes (SQLite's
    /// `SQLITE_FULL`, PostgreSQL's `disk_full`): rolled back whole, and worth
    /// retrying once the operator frees space.
    #[error("database storage full: {0}")]
    StorageFull(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 for a single parameter.
    pub fn invalid(key: &str, message: &str) -> Self {
        Self::Invalid(vec![FieldError::new(key, message)])
    }

    pub fn unauthorized() -> Self {
        Self::Unauthorized { retry_after: None }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// The envelope code.
    pub fn code(&self) -> u16 {
        match self {
            Self::UnknownCall | Self::NotFound | Self::NotFoundNamed(_) => 404,
            Self::MethodNotAllowed => 405,
            Self::PayloadTooLarge => 413,
            Self::Invalid(_) => 400,
            Self::Unauthorized { .. } => 401,
            Self::RoleForbids => 402,
            Self::PlanForbids => 403,
            Self::Overloaded | Self::Unavailable(_) | Self::TimedOut(_) | Self::Superseded => 503,
            Self::Internal(_) => 500,
            Self::StorageFull(_) => 507,
        }
    }

    /// Errors of routing and transport keep their HTTP status whatever `http_status` says.
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            Self::UnknownCall
                | Self::MethodNotAllowed
                | Self::PayloadTooLarge
                | Self::Overloaded
                | Self::Unavailable(_)
                | Self::TimedOut(_)
                | Self::Superseded
                | Self::StorageFull(_)
                | Self::Internal(_)
        )
    }
}
