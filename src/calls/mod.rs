//! The calls of the API, each described once by a [`CallSpec`]: its name, who
//! may make it, its parameters and its handler. A handler first reads its
//! typed request (every 400 at once, in table order), then keeps only what
//! needs a valid request: visibility (404), the plan's limit (403) and the
//! write, with the audit row in the write's own transaction.

pub mod answer;
pub mod audit;
pub mod codes;
pub mod customers;
pub mod groups;
pub mod inventory;
pub mod ledger;
pub mod numbers;
pub mod owned_numbers;
pub mod param;
pub mod people;
pub mod plans;
pub mod reader;
pub mod roles;
pub mod routing;
pub mod write;

use std::{collections::HashMap, future::Future, net::IpAddr, pin::Pin, sync::Arc};

use crate::{
    auth::{Authenticator, Caller},
    base::{ApiError, Params, Reply},
    domain::privilege::Privilege,
    metrics::Metrics,
    store::{Db, ListWindow},
};

pub use answer::Answer;
pub use param::{Kind, Param, ParamInfo, Shape};
pub use reader::{Reader, Request};

pub type CallResult = Result<Reply, ApiError>;
pub type Handler = fn(Ctx) -> Pin<Box<dyn Future<Output = CallResult> + Send>>;

/// A handler that reads request `$request`, then runs `$act(ctx, request)`.
macro_rules! handler {
    ($request:ty, $act:expr) => {
        |mut ctx| {
            Box::pin(async move {
                let request = ctx.read::<$request>().await?;
                ($act)(ctx, request).await
            })
        }
    };
}
pub(crate) use handler;

/// `n` of something, for the 400 of a delete refused while rows refer to the
/// object: "1 customer", "3 customers".
pub fn how_many(n: i64, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// Who may make a call.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    /// No credentials needed; any sent are ignored.
    Public,
    /// Any one of `any_of`; read-only access to it admits the call only if it does not write.
    Requires { any_of: &'static [Privilege], writes: bool },
}

/// The parameters every list call takes, after its own.
pub const COUNT: Param<bool> =
    Param::with_default("count", Kind::Flag, false, "1 to answer only {\"count\": N}.", param::parse::flag);
pub const DESCENDING: Param<bool> =
    Param::with_default("descending", Kind::Flag, false, "1 to sort in descending order.", param::parse::flag);
pub const LIMIT: Param<i64> =
    Param::with_default("limit", Kind::Integer, 0, "Most rows to return; 0 for all.", param::parse::integer)
        .shaped(param::Shape::at_least(0));
pub const OFFSET: Param<i64> = Param::with_default("offset", Kind::Integer, 0, "Rows to skip.", param::parse::integer)
    .shaped(param::Shape::at_least(0));
const LIST_PARAMS: [&dyn ParamInfo; 4] = [&COUNT, &DESCENDING, &LIMIT, &OFFSET];

/// The parameter every writing call takes, after its own.
pub const VALIDATION: Param<bool> = Param::with_default(
    "validation",
    Kind::Flag,
    false,
    "1 to validate input then return, 0 for full action.",
    param::parse::flag,
);
const WRITE_PARAMS: [&dyn ParamInfo; 1] = [&VALIDATION];

pub struct CallSpec {
    pub name: &'static str,
    pub summary: &'static str,
    pub access: Access,
    /// The call's own parameters, in the order of its table.
    pub params: &'static [&'static dyn ParamInfo],
    /// Whether the call also takes the list parameters.
    pub list: bool,
    /// What `data` holds when the call succeeds.
    pub answer: Answer,
    pub handler: Handler,
}

impl CallSpec {
    /// Whether the call writes, and so also takes `validation`.
    pub fn writes(&self) -> bool {
        matches!(self.access, Access::Requires { writes: true, .. })
    }

    /// Every parameter the call reads: its own, then `validation` (writing
    /// calls) or the list ones (list calls).
    pub fn all_params(&self) -> impl Iterator<Item = &'static dyn ParamInfo> {
        let list: &'static [&dyn ParamInfo] = if self.list { &LIST_PARAMS } else { &[] };
        let write: &'static [&dyn ParamInfo] = if self.writes() { &WRITE_PARAMS } else { &[] };
        self.params.iter().chain(write).chain(list).copied()
    }
}

/// What a handler is given: the database, the caller (absent only for public
/// calls), the raw parameters (for the audit trail) and, once read, what the
/// implied parameters said.
pub struct Ctx {
    pub db: Db,
    pub caller: Option<Caller>,
    pub spec: &'static CallSpec,
    pub params: Params,
    pub client: IpAddr,
    /// Password hashing, and the throttle that counts username probes.
    pub auth: Arc<Authenticator>,
    pub metrics: Arc<Metrics>,
    /// Unknown parameters are refused.
    pub strict: bool,
    /// `validation=1` on a writing call: check everything, write nothing.
    pub validation: bool,
    /// `limit`, `offset` and `descending` of a list call.
    pub window: ListWindow,
    /// `count=1` on a list call.
    pub count: bool,
    /// The `Idempotency-Key` claim a writing call acts under, if any.
    pub claim: Option<Claim>,
    /// Streamed lists at once: a list takes a permit or answers 503.
    pub streams: Arc<tokio::sync::Semaphore>,
    /// Passed when the call's transaction starts to commit: from then on the
    /// call timeout waits for the outcome instead of cancelling, since a
    /// commit under way may already have taken effect.
    pub committing: Arc<crate::base::CommitGate>,
    /// Where the usual codes/create goes to be written with others.
    pub code_batches: Arc<crate::store::code_batches::CodeBatches>,
}

/// An `Idempotency-Key` claim: the call's answer is stored in the same
/// transaction as its change, and only while the claim is still this call's,
/// so a call whose claim a retry took over cannot also act.
pub struct Claim {
    pub key: crate::store::idempotency::ClaimRef,
    /// The stored form (HTTP status, body) of a successful answer, drawn by the wire layer.
    pub render: fn(&Reply) -> Option<(u16, String)>,
}

impl Ctx {
    /// Reads the call's typed request and the parameters its kind implies.
    pub async fn read<R: Request>(&mut self) -> Result<R, ApiError> {
        let mut reader = reader::Reader::new(&self.params, self.spec, &self.db, self.caller.as_ref());
        let request = R::read(&mut reader).await?;
        if self.spec.writes() {
            self.validation = reader.get(&VALIDATION).unwrap_or(false);
        }
        if self.spec.list {
            self.count = reader.get(&COUNT).unwrap_or(false);
            self.window = ListWindow {
                descending: reader.get(&DESCENDING).unwrap_or(false),
                limit: reader.get(&LIMIT).unwrap_or(0),
                offset: reader.get(&OFFSET).unwrap_or(0),
            };
        }
        reader.finish(request, self.strict)
    }

    /// A slot for a streamed answer. A stream holds a database connection for
    /// as long as its client reads: only so many at once, so that logins and
    /// short calls keep theirs; past that, 503.
    pub fn stream_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.streams.clone().try_acquire_owned().map_err(|_| ApiError::Overloaded)
    }

    /// The authenticated caller of a call that requires one.
    pub fn caller(&self) -> Result<&Caller, ApiError> {
        self.caller.as_ref().ok_or_else(|| ApiError::internal("a call that needs a caller was run without one"))
    }
}

/// Every call, by name.
pub struct Registry(HashMap<&'static str, &'static CallSpec>);

impl Registry {
    pub fn new() -> Self {
        let all = [
            roles::CALLS,
            plans::CALLS,
            customers::CALLS,
            people::CALLS,
            groups::CALLS,
            codes::CALLS,
            inventory::CALLS,
            numbers::CALLS,
            owned_numbers::CALLS,
            ledger::CALLS,
            audit::CALLS,
        ]
        .into_iter()
        .flatten();
        let mut map = HashMap::new();
        for spec in all {
            assert!(map.insert(spec.name, spec).is_none(), "call {} registered twice", spec.name);
        }
        Self(map)
    }

    pub fn get(&self, name: &str) -> Option<&'static CallSpec> {
        self.0.get(name).copied()
    }

    /// Every call, sorted by name.
    pub fn all(&self) -> Vec<&'static CallSpec> {
        let mut calls: Vec<_> = self.0.values().copied().collect();
        calls.sort_by_key(|c| c.name);
        calls
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}
