//! What a call answers in the envelope's `data`, declared beside its
//! `CallSpec` and published as the JSON Schema of `data` in `/api/openapi.json`.
//! Each row below mirrors the struct that serialises it (named in its comment);
//! the document test and the schemathesis run check answers against them.

use serde_json::{Value, json};

/// The JSON type of one field of an answer.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Int,
    Text,
    /// A decimal amount, sent as text ("1.5000").
    Money,
    /// Any JSON value (the audit trail's `object`).
    Json,
    /// A map of names to integers (a role's privileges).
    IntMap,
    Object(&'static [Field]),
    /// An array of objects.
    Rows(&'static [Field]),
}

/// A field of an answer's object: its name, type, and whether it is always there.
pub type Field = (&'static str, Ty, bool);

/// The shape of `data` on success.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// No data: code 204 (done) or 201 (validated).
    Nothing,
    /// `{"id": N}`: the object created.
    Id,
    /// `{"count": N}`.
    Count,
    /// One object.
    Object(&'static [Field]),
    /// An array of rows; `{"count": N}` with `count=1`.
    Rows(&'static [Field]),
    /// An array of rows, without `count`.
    Array(&'static [Field]),
    /// No data, or with `force=1` this object (what else went with it).
    NothingOr(&'static [Field]),
}

fn object(fields: &[Field]) -> Value {
    let properties: serde_json::Map<String, Value> =
        fields.iter().map(|(name, ty, _)| (name.to_string(), ty_schema(*ty))).collect();
    let required: Vec<&str> = fields.iter().filter(|(_, _, always)| *always).map(|(name, _, _)| *name).collect();
    json!({ "type": "object", "properties": properties, "required": required })
}

fn ty_schema(ty: Ty) -> Value {
    match ty {
        Ty::Int => json!({ "type": "integer" }),
        Ty::Text => json!({ "type": "string" }),
        Ty::Money => json!({ "type": "string", "pattern": "^-?[0-9]+\\.[0-9]{4}$" }),
        Ty::Json => json!({}),
        Ty::IntMap => json!({ "type": "object", "additionalProperties": { "type": "integer" } }),
        Ty::Object(fields) => object(fields),
        Ty::Rows(fields) => json!({ "type": "array", "items": object(fields) }),
    }
}

fn id() -> Value {
    object(&[("id", Ty::Int, true)])
}

fn count() -> Value {
    object(&[("count", Ty::Int, true)])
}

impl Answer {
    /// The JSON Schema of `data` when a call succeeds; `None` when it has none.
    pub fn schema(self) -> Option<Value> {
        match self {
            Self::Nothing => None,
            Self::Id => Some(id()),
            Self::Count => Some(count()),
            Self::Object(fields) | Self::NothingOr(fields) => Some(object(fields)),
            Self::Rows(fields) => Some(json!({ "oneOf": [ty_schema(Ty::Rows(fields)), count()] })),
            Self::Array(fields) => Some(ty_schema(Ty::Rows(fields))),
        }
    }
}

/// `store::customers::CustomerRow`.
pub const CUSTOMER: &[Field] = &[
    ("id", Ty::Int, true),
    ("parent", Ty::Int, true),
    ("name", Ty::Text, true),
    ("email", Ty::Text, true),
    ("plan", Ty::Int, true),
    ("created", Ty::Int, true),
];

/// `store::customers::Deleted`.
pub const CUSTOMERS_DELETED: &[Field] =
    &[("customers", Ty::Int, true), ("people", Ty::Int, true), ("codes", Ty::Int, true), ("numbers", Ty::Int, true)];

/// `store::people::PersonRow`.
pub const PERSON: &[Field] = &[
    ("id", Ty::Int, true),
    ("customer", Ty::Int, true),
    ("username", Ty::Text, true),
    ("role", Ty::Int, true),
    ("email", Ty::Text, true),
    ("forename", Ty::Text, true),
    ("surname", Ty::Text, true),
    ("created", Ty::Int, true),
];

/// `store::codes::CodeRecord`.
pub const CODE: &[Field] = &[
    ("customer", Ty::Int, true),
    ("code", Ty::Text, true),
    ("dtype", Ty::Text, true),
    ("dnumber", Ty::Text, true),
    ("description", Ty::Text, true),
    ("direct", Ty::Int, true),
    ("fax_detect", Ty::Int, true),
    ("fax_dtype", Ty::Text, true),
    ("fax_dnumber", Ty::Text, true),
    ("language", Ty::Text, true),
    ("maximum_seconds", Ty::Int, true),
    ("music", Ty::Int, true),
    ("owner", Ty::Int, true),
    ("panel", Ty::Int, true),
    ("password", Ty::Text, true),
    ("play_message", Ty::Int, true),
    ("recordgroup", Ty::Int, true),
    ("ringtone", Ty::Text, true),
    ("routing", Ty::Text, true),
    ("screen", Ty::Int, true),
    ("shared", Ty::Int, true),
    ("sname", Ty::Text, true),
    ("sname_action", Ty::Text, true),
    ("text_dtype", Ty::Text, true),
    ("text_dnumber", Ty::Text, true),
    ("update_routing", Ty::Int, true),
    ("created", Ty::Int, true),
];

/// `store::codes::CodeRoute`.
const CODE_ROUTE: &[Field] =
    &[("code", Ty::Text, true), ("customer", Ty::Int, true), ("dtype", Ty::Text, true), ("dnumber", Ty::Text, true)];

/// `calls::codes::Conflict`.
pub const CODE_CONFLICT: &[Field] =
    &[("shorter", Ty::Object(CODE_ROUTE), true), ("longer", Ty::Object(CODE_ROUTE), true)];

/// `calls::groups::GroupView`; `shared` only for the kinds that can be shared.
pub const GROUP: &[Field] = &[
    ("id", Ty::Int, true),
    ("customer", Ty::Int, true),
    ("name", Ty::Text, true),
    ("description", Ty::Text, true),
    ("shared", Ty::Int, false),
    ("created", Ty::Int, true),
];

/// `store::inventory::InventoryRow`; the optional fields belong to some kinds.
pub const INVENTORY: &[Field] = &[
    ("id", Ty::Int, true),
    ("name", Ty::Text, true),
    ("description", Ty::Text, true),
    ("rank", Ty::Int, false),
    ("code", Ty::Text, false),
    ("setup", Ty::Money, false),
    ("monthly", Ty::Money, false),
    ("created", Ty::Int, true),
];

/// `calls::ledger::Balance`.
pub const BALANCE: &[Field] = &[("customer", Ty::Int, true), ("balance", Ty::Money, true)];

/// `store::ledger::Entry`.
pub const LEDGER_ENTRY: &[Field] = &[
    ("id", Ty::Int, true),
    ("customer", Ty::Int, true),
    ("type", Ty::Text, true),
    ("amount", Ty::Money, true),
    ("class", Ty::Int, true),
    ("count", Ty::Int, true),
    ("batch", Ty::Int, true),
    ("number", Ty::Text, true),
    ("description", Ty::Text, true),
    ("person", Ty::Int, true),
    ("created", Ty::Int, true),
];

/// `store::owned_numbers::MonthlyByClass`.
const MONTHLY_CLASS: &[Field] = &[
    ("class", Ty::Int, true),
    ("name", Ty::Text, true),
    ("count", Ty::Int, true),
    ("monthly", Ty::Money, true),
    ("total", Ty::Money, true),
];

/// `calls::ledger::Monthly`.
pub const MONTHLY: &[Field] =
    &[("customer", Ty::Int, true), ("classes", Ty::Rows(MONTHLY_CLASS), true), ("total", Ty::Money, true)];

/// `store::numbers::NumberRow`.
pub const NUMBER: &[Field] = &[
    ("number", Ty::Text, true),
    ("class", Ty::Int, true),
    ("ingroup", Ty::Int, true),
    ("customer", Ty::Int, true),
    ("region", Ty::Int, true),
    ("alias", Ty::Text, true),
    ("stype", Ty::Text, true),
    ("batch", Ty::Int, true),
    ("created", Ty::Int, true),
    ("shortcut", Ty::Int, true),
];

/// `calls::numbers::Cleared`.
pub const NUMBERS_CLEARED: &[Field] = &[("codes", Ty::Int, true), ("numbers", Ty::Int, true)];

/// `store::owned_numbers::OwnedNumber`: a [`NUMBER`] row with its routing.
pub const OWNED_NUMBER: &[Field] = &[
    ("number", Ty::Text, true),
    ("class", Ty::Int, true),
    ("ingroup", Ty::Int, true),
    ("customer", Ty::Int, true),
    ("region", Ty::Int, true),
    ("alias", Ty::Text, true),
    ("stype", Ty::Text, true),
    ("batch", Ty::Int, true),
    ("created", Ty::Int, true),
    ("shortcut", Ty::Int, true),
    ("description", Ty::Text, true),
    ("dtype", Ty::Text, true),
    ("dnumber", Ty::Text, true),
    ("fax_detect", Ty::Int, true),
    ("fax_dtype", Ty::Text, true),
    ("fax_dnumber", Ty::Text, true),
    ("callerid", Ty::Text, true),
    ("allow_callerid", Ty::Text, true),
    ("directory", Ty::Int, true),
    ("language", Ty::Text, true),
    ("maximum_seconds", Ty::Int, true),
    ("music", Ty::Int, true),
    ("owner", Ty::Int, true),
    ("password", Ty::Text, true),
    ("recordgroup", Ty::Int, true),
    ("ringtone", Ty::Text, true),
    ("routing", Ty::Text, true),
    ("screen", Ty::Int, true),
    ("sname", Ty::Text, true),
    ("sname_action", Ty::Text, true),
];

/// `store::plans::PlanRow`.
pub const PLAN: &[Field] =
    &[("id", Ty::Int, true), ("name", Ty::Text, true), ("customer", Ty::Int, true), ("created", Ty::Int, true)];

/// `calls::plans::LimitView`.
pub const PLAN_LIMIT: &[Field] =
    &[("plan", Ty::Int, true), ("feature", Ty::Text, true), ("included", Ty::Int, true), ("maximum", Ty::Int, true)];

/// plans/features/maximum.
pub const MAXIMUM: &[Field] = &[("maximum", Ty::Int, true)];

/// `calls::roles::RoleView`.
pub const ROLE: &[Field] = &[
    ("id", Ty::Int, true),
    ("name", Ty::Text, true),
    ("description", Ty::Text, true),
    ("privileges", Ty::IntMap, true),
];

/// `calls::audit::AuditView`.
pub const AUDIT: &[Field] = &[
    ("id", Ty::Int, true),
    ("person", Ty::Int, true),
    ("username", Ty::Text, true),
    ("customer", Ty::Int, true),
    ("client", Ty::Text, true),
    ("call", Ty::Text, true),
    ("object", Ty::Json, true),
    ("created", Ty::Int, true),
];
