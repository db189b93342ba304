//! The calls of the API, each described once by a [`CallSpec`]: its name, who
//! may make it, its parameters and its handler. Dispatch, the privilege check
//! and parameter ordering are driven by these descriptions, so no handler
//! re-implements them and the API's description cannot drift from what runs.

pub mod audit;
pub mod codes;
pub mod customers;
pub mod groups;
pub mod input;
pub mod inventory;
pub mod numbers;
pub mod people;
pub mod plans;
pub mod roles;
pub mod write;

use std::{collections::HashMap, future::Future, pin::Pin};

use crate::{
    app::AppState,
    auth::{Caller, privilege::Privilege},
    http::{envelope::Reply, error::ApiError, params::Params},
};

pub use input::Input;

pub type CallResult = Result<Reply, ApiError>;
pub type Handler = fn(Ctx) -> Pin<Box<dyn Future<Output = CallResult> + Send>>;

/// Who may make a call.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    /// No credentials needed; any sent are ignored.
    Public,
    /// Any one of `any_of`; read-only access to it admits the call only if it does not write.
    Requires { any_of: &'static [Privilege], writes: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    /// `0` or `1`.
    Flag,
}

/// One parameter of a call, in the order of the call's table.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// The default as documented ("" for none).
    pub default: &'static str,
    pub doc: &'static str,
}

impl Param {
    pub const fn required(name: &'static str, kind: Kind, doc: &'static str) -> Self {
        Self { name, kind, required: true, default: "", doc }
    }

    pub const fn optional(name: &'static str, kind: Kind, default: &'static str, doc: &'static str) -> Self {
        Self { name, kind, required: false, default, doc }
    }
}

/// The parameters every list call takes, after its own.
pub const LIST_PARAMS: [Param; 4] = [
    Param::optional("count", Kind::Flag, "0", "1 to answer only {\"count\": N}."),
    Param::optional("descending", Kind::Flag, "0", "1 to sort in descending order."),
    Param::optional("limit", Kind::Integer, "0", "Most rows to return; 0 for all."),
    Param::optional("offset", Kind::Integer, "0", "Rows to skip."),
];

pub struct CallSpec {
    pub name: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub params: &'static [Param],
    /// Whether the call also takes the list parameters.
    pub list: bool,
    pub handler: Handler,
}

impl CallSpec {
    /// Every parameter the call reads, its own first, then the list ones.
    pub fn all_params(&self) -> impl Iterator<Item = &'static Param> {
        let list: &'static [Param] = if self.list { &LIST_PARAMS } else { &[] };
        self.params.iter().chain(list.iter())
    }
}

/// What a handler is given: the server's state, the parameters and the
/// authenticated caller (absent only for public calls).
pub struct Ctx {
    pub state: AppState,
    pub params: Params,
    pub caller: Option<Caller>,
    pub spec: &'static CallSpec,
    /// What the call acted on, when its parameters alone do not say it (a
    /// number range's count and batch); dispatch writes it to the audit trail.
    pub audit: AuditNote,
}

/// A note a handler leaves for the audit trail.
#[derive(Clone, Default)]
pub struct AuditNote(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl AuditNote {
    pub fn set(&self, note: String) {
        *self.0.lock().expect("audit note lock") = Some(note);
    }

    pub fn take(&self) -> Option<String> {
        self.0.lock().expect("audit note lock").take()
    }
}

impl Ctx {
    /// The validator over this call's parameters.
    pub fn input(&self) -> Input<'_> {
        Input::new(&self.params, self.spec, self.state.settings.strict_params)
    }

    /// The authenticated caller of a call that requires one.
    pub fn caller(&self) -> &Caller {
        self.caller.as_ref().expect("dispatch authenticates every non-public call")
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
