//! What a dialable thing does with a call, shared by feature codes and the
//! numbers customers hold: the parameters that set it (the same names,
//! grammar and defaults on `codes/*` and `numbers/update`), the rules between
//! them, and the objects they name. Those objects are checked twice: while
//! the request is read (so each bad one is a 400 in the parameter table's
//! order, also under `validation=1`), and again, held, inside the write's
//! own transaction (so a racing delete cannot leave a dangling reference).

use super::param::Shape;
use super::{Kind, Param, Reader, param::parse};
use crate::{
    base::{ApiError, FieldError},
    domain::{
        Routing, SnameAction,
        destination::{Destination, DestinationType, is_digits},
        parse_language, parse_ringtone,
    },
    store::{
        self, StoreError, Tx,
        groups::{MUSIC, RECORD_GROUPS, TIME_GROUPS},
        plans::{Allowance, Feature},
        references::Reference,
    },
};

pub const DTYPE_KEPT: Param<DestinationType> =
    Param::decided("dtype", Kind::Text, "Unchanged.", "Destination type.", |v| {
        parse::with(DestinationType::call_type(v))
    });
pub const DNUMBER_KEPT: Param<String> = Param::decided(
    "dnumber",
    Kind::Text,
    "Unchanged.",
    "Destination number, valid for the destination type.",
    parse::text,
);

pub const FAX_DETECT: Param<bool> =
    Param::with_default("fax_detect", Kind::Flag, false, "1 to detect faxes, 0 not to.", parse::flag);
pub const FAX_DTYPE: Param<Option<DestinationType>> = Param::with_default(
    "fax_dtype",
    Kind::Text,
    None,
    "Destination type on fax detection: a destination type or email.",
    |v| parse::with(DestinationType::fax_type(v)),
);
pub const FAX_DNUMBER: Param<String> =
    Param::with_default("fax_dnumber", Kind::Text, String::new(), "Destination number on fax detection.", parse::text);
pub const LANGUAGE: Param<String> = Param::with_default(
    "language",
    Kind::Text,
    String::new(),
    "Language code such as en or en-GB. Empty string for default.",
    |v| parse::with(parse_language(v)),
);
pub const MAXIMUM_SECONDS: Param<i64> = Param::with_default(
    "maximum_seconds",
    Kind::Integer,
    -1,
    "Maximum seconds to let call run for, -1 for no limit.",
    |v| match parse::integer(v)? {
        n if n == -1 || n > 0 => Ok(n),
        _ => Err("This must be -1 or a positive number of seconds.".into()),
    },
);
pub const MUSIC_CLASS: Param<i64> =
    Param::with_default("music", Kind::Integer, 0, "ID of music class to play. 0 for default.", |v| {
        at_least_zero(v, "This must be 0 or the ID of a music class.")
    })
    .shaped(Shape::at_least(0));
pub const OWNER: Param<i64> =
    Param::with_default("owner", Kind::Integer, 0, "ID of owner (a person of the customer). 0 for none.", |v| {
        at_least_zero(v, "This must be 0 or the ID of a person of the customer.")
    })
    .shaped(Shape::at_least(0));
pub const PASSWORD: Param<String> = Param::with_default(
    "password",
    Kind::Text,
    String::new(),
    "PIN (1 to 20 digits) to update feature code. Empty string to forbid.",
    |v| {
        if v.is_empty() || is_digits(v, 20) {
            Ok(v.to_string())
        } else {
            Err("A PIN must be empty or 1 to 20 digits.".into())
        }
    },
)
.shaped(Shape::digits(0, 20));
pub const RECORDGROUP: Param<i64> =
    Param::with_default("recordgroup", Kind::Integer, 0, "ID of record group. 0 for none.", |v| {
        at_least_zero(v, "This must be 0 or the ID of a record group.")
    })
    .shaped(Shape::at_least(0));
pub const RINGTONE: Param<String> =
    Param::with_default("ringtone", Kind::Text, String::new(), "Ring tone to force, or empty string for none.", |v| {
        parse::with(parse_ringtone(v))
    });
pub const ROUTING: Param<String> = Param::with_default(
    "routing",
    Kind::Text,
    String::new(),
    "Temporary routing: default, timegroup_<ID>, a number, or empty string for normal.",
    |v| parse::with(Routing::check(v)),
);
pub const SCREEN: Param<i64> = Param::with_default(
    "screen",
    Kind::Integer,
    0,
    "0 not to screen; 1 caller ID; 2 ask name; 3 play file; 4 file and caller ID.",
    parse::integer,
)
.shaped(Shape::Range { min: 0, max: 4 });
pub const SNAME: Param<String> = Param::with_default(
    "sname",
    Kind::Text,
    String::new(),
    "Force caller name, at most 64 characters. Empty string for no change.",
    parse::bounded::<64>,
);
pub const SNAME_ACTION: Param<SnameAction> = Param::with_default(
    "sname_action",
    Kind::Text,
    SnameAction::Replace,
    "replace, prepend or append the caller name.",
    |v| parse::with(SnameAction::parse(v)),
);
pub fn at_least_zero(value: &str, message: &'static str) -> Result<i64, crate::base::Message> {
    match parse::integer(value)? {
        n if n >= 0 => Ok(n),
        _ => Err(message.into()),
    }
}

/// Declares the struct of a record's optional fields from one list of them
/// (each with its parameter and how its value is stored): `read` takes each
/// sent (or, with defaults, defaulted) value, `apply` copies those present
/// into the record. Each `SET: [leading params]` becomes a parameter table
/// of the leading parameters followed by the fields' own.
macro_rules! route_fields {
    ($fields:ident for $record:ty, params: { $($set:ident: [$($lead:ident),*]),* $(,)? }, fields: $body:tt) => {
        route_fields!(@struct $fields $record $body);
        $(route_fields!(@params $set [$($lead),*] $body);)*
    };
    (@struct $fields:ident $record:ty { $($field:ident: $ty:ty = $param:ident => $stored:expr),* $(,)? }) => {
        /// The fields sent (update) or sent-or-defaulted (create).
        struct $fields {
            $($field: Option<$ty>,)*
        }

        impl $fields {
            fn read(r: &mut Reader<'_>, with_defaults: bool) -> Self {
                Self { $($field: if with_defaults { r.get(&$param) } else { r.given(&$param) },)* }
            }

            /// Copies every field present into `record`.
            fn apply(self, record: &mut $record) {
                $(if let Some(value) = self.$field {
                    record.$field = ($stored)(value);
                })*
            }
        }
    };
    (@params $set:ident [$($lead:ident),*] { $($field:ident: $ty:ty = $param:ident => $stored:expr),* $(,)? }) => {
        const $set: &[&dyn ParamInfo] = &[$(&$lead,)* $(&$param,)*];
    };
}
pub(crate) use route_fields;

/// What a code or a number is, so that routing to itself can be refused.
#[derive(Debug, Clone, Copy)]
pub enum Itself<'a> {
    Code(&'a str),
    Number(&'a str),
}

/// The fields of a record that name other objects or must agree with each
/// other, borrowed from a code or a number.
#[derive(Debug, Clone, Copy)]
pub struct RouteView<'a> {
    pub customer: i64,
    pub itself: Itself<'a>,
    pub dtype: &'a str,
    pub dnumber: &'a str,
    pub fax_detect: i64,
    pub fax_dtype: &'a str,
    pub fax_dnumber: &'a str,
    pub music: i64,
    pub owner: i64,
    pub recordgroup: i64,
    pub routing: &'a str,
}

/// Borrows the routing fields of `$record` (a code or a number's route).
macro_rules! route_view {
    ($record:expr, customer: $customer:expr, itself: $itself:expr) => {{
        let record = &$record;
        $crate::calls::routing::RouteView {
            customer: $customer,
            itself: $itself,
            dtype: &record.dtype,
            dnumber: &record.dnumber,
            fax_detect: record.fax_detect,
            fax_dtype: &record.fax_dtype,
            fax_dnumber: &record.fax_dnumber,
            music: record.music,
            owner: record.owner,
            recordgroup: record.recordgroup,
            routing: &record.routing,
        }
    }};
}
pub(crate) use route_view;

/// The call destination: type and number checked together (the number's
/// fault when they do not suit each other).
pub fn check_destination(
    r: &mut Reader<'_>,
    dtype: Option<DestinationType>,
    dnumber: Option<&str>,
) -> Option<Destination> {
    let (dtype, dnumber) = (dtype?, dnumber?);
    Destination::new(dtype, dnumber).map_err(|message| r.error("dnumber", message)).ok()
}

/// An update's call destination: the type and number sent, each falling
/// back to the stored one, judged together. A refused type was already
/// reported, so the number is not judged against the stored one instead.
pub fn updated_destination(
    r: &mut Reader<'_>,
    dtype: Option<DestinationType>,
    dnumber: Option<String>,
    stored_dtype: &str,
    stored_dnumber: &str,
) -> Option<Destination> {
    let dtype = if r.is_ok("dtype") { dtype.or_else(|| DestinationType::parse_call(stored_dtype)) } else { None };
    let dnumber = dnumber.unwrap_or_else(|| stored_dnumber.to_string());
    check_destination(r, dtype, Some(&dnumber))
}

/// A fax destination needs a type when fax detection is on, and its number
/// must suit its type.
pub fn check_fax(r: &mut Reader<'_>, route: &RouteView<'_>) {
    // A refused type was already reported; its number is not judged against it.
    if !r.is_ok(FAX_DTYPE.name) {
        return;
    }
    let fax_type = DestinationType::fax_type(route.fax_dtype).unwrap_or(None);
    if fax_type.is_none() && route.fax_detect == 1 {
        r.error(FAX_DTYPE.name, "A fax destination type is required when fax_detect is 1.");
    }
    if let Err(message) =
        Destination::optional(fax_type, route.fax_dnumber, "This parameter must be empty when fax_dtype is empty.")
    {
        r.error(FAX_DNUMBER.name, message);
    }
}

/// A reference to check: the parameter at fault, the object, and the 400's message.
pub type Named = (&'static str, Reference, &'static str);

/// The objects `route` names, each under the parameter that named it.
/// `given(keys)` says whether a rule's fields were sent (on update, fields
/// left alone are not judged again: what they name may have gone since).
pub fn references(route: &RouteView<'_>, given: impl Fn(&[&str]) -> bool) -> Vec<Named> {
    let customer = route.customer;
    let mut named = Vec::new();
    let group = |kind, id| Reference::Group { kind, customer, id };
    if given(&["music"]) && route.music > 0 {
        named.push(("music", group(&MUSIC, route.music), "This music class does not exist."));
    }
    if given(&["owner"]) && route.owner > 0 {
        named.push((
            "owner",
            Reference::Person { customer, id: route.owner },
            "This person does not exist in the customer.",
        ));
    }
    if given(&["recordgroup"]) && route.recordgroup > 0 {
        named.push(("recordgroup", group(&RECORD_GROUPS, route.recordgroup), "This record group does not exist."));
    }
    if given(&["routing"])
        && let Some(Routing::TimeGroup(id)) = Routing::parse(route.routing)
    {
        named.push(("routing", group(&TIME_GROUPS, id), "This time group does not exist."));
    }
    for (type_key, number_key, dtype, dnumber) in [
        ("dtype", "dnumber", route.dtype, route.dnumber),
        ("fax_dtype", "fax_dnumber", route.fax_dtype, route.fax_dnumber),
    ] {
        if !given(&[type_key, number_key]) {
            continue;
        }
        match DestinationType::parse_fax(dtype) {
            Some(DestinationType::Number) => named.push((
                number_key,
                Reference::Number { customer, number: dnumber.to_string() },
                "This number is not in the customer's inventory.",
            )),
            Some(DestinationType::Code) => named.push((
                number_key,
                Reference::Code { customer, code: dnumber.to_string() },
                "This feature code does not exist in the customer.",
            )),
            _ => {}
        }
    }
    named
}

/// Records a 400 for a code or number routing to itself, and for each named
/// object that does not exist now (keys already at fault are not judged).
pub async fn check_references(r: &mut Reader<'_>, route: &RouteView<'_>, named: &[Named]) -> Result<(), StoreError> {
    for (type_key, number_key, dtype, dnumber) in [
        ("dtype", "dnumber", route.dtype, route.dnumber),
        ("fax_dtype", "fax_dnumber", route.fax_dtype, route.fax_dnumber),
    ] {
        let to_itself = match (DestinationType::parse_fax(dtype), route.itself) {
            (Some(DestinationType::Code), Itself::Code(code)) if code == dnumber => {
                Some("A feature code cannot route to itself.")
            }
            (Some(DestinationType::Number), Itself::Number(number)) if number == dnumber => {
                Some("A number cannot route to itself.")
            }
            _ => None,
        };
        if let Some(message) = to_itself
            && r.is_ok(type_key)
        {
            r.error(number_key, message);
        }
    }
    for (key, reference, message) in named {
        // A destination number is not judged against a refused type.
        let type_ok = match *key {
            "dnumber" => r.is_ok("dtype"),
            "fax_dnumber" => r.is_ok("fax_dtype"),
            _ => true,
        };
        if type_ok && r.is_ok(key) && !store::references::exists(r.db, reference).await? {
            r.error(key, *message);
        }
    }
    Ok(())
}

/// Inside the write's transaction: the plan's word on one more `feature`
/// for `customer`, which also holds the customer (see [`store::plans::allows_one_more`]).
/// `key` names the parameter that named the customer, for the 400 when it is gone.
pub async fn plan_allows(tx: &mut Tx, customer: i64, feature: Feature, key: &str) -> Result<(), ApiError> {
    match store::plans::allows_one_more(tx, customer, feature).await? {
        Allowance::Allowed => Ok(()),
        Allowance::Forbidden => Err(ApiError::PlanForbids),
        Allowance::NoCustomer => Err(ApiError::invalid(key, "This customer does not exist.")),
    }
}

/// Inside the write's transaction: holds every named object, or answers the
/// 400 for those that have gone since the request was read.
pub async fn hold_references(tx: &mut Tx, named: &[Named]) -> Result<(), ApiError> {
    let gone = store::references::hold_all(tx, named).await?;
    if gone.is_empty() {
        return Ok(());
    }
    Err(ApiError::Invalid(gone.into_iter().map(|(key, message)| FieldError::new(key, message)).collect()))
}
