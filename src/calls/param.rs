//! A call's parameters, each declared once: its name, kind, documentation,
//! what its absence means (required, a default value, or a default the call
//! decides) and the parser that turns its text into a typed value. The reader,
//! strict mode, the order of 400 entries, the audit trail and the published
//! description (`/api/openapi.json`, `/api/docs`) all read these constants, so
//! what is documented is what runs.

use serde_json::Value;

use crate::base::Message;

pub const MSG_REQUIRED: &str = "This parameter is required.";

/// The wire type of a parameter, as documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    /// `0` or `1`.
    Flag,
}

/// The values a parameter takes beyond its kind. The reader refuses a value
/// outside it after the parser took it, and the description publishes it as
/// the standard `enum`, `pattern`, `minimum`/`maximum` keywords: what is
/// published is what is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Whatever the parser takes.
    Any,
    /// One of these words.
    Words(&'static [&'static str]),
    /// `min` to `max` characters of `chars`.
    Chars { chars: Chars, min: usize, max: usize },
    /// A whole number in `min..=max`; `i64::MAX` means no upper bound.
    Range { min: i64, max: i64 },
}

/// The character sets of [`Shape::Chars`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chars {
    /// ASCII digits.
    Digits,
    /// ASCII digits, `*` and `#`: a feature code.
    Dialable,
}

impl Chars {
    fn admits(self, c: char) -> bool {
        match self {
            Self::Digits => c.is_ascii_digit(),
            Self::Dialable => c.is_ascii_digit() || c == '*' || c == '#',
        }
    }

    /// The set as a regular expression class.
    fn class(self) -> &'static str {
        match self {
            Self::Digits => "0-9",
            Self::Dialable => "0-9*#",
        }
    }
}

impl Shape {
    /// Digit strings of `min` to `max` digits.
    pub const fn digits(min: usize, max: usize) -> Self {
        Self::Chars { chars: Chars::Digits, min, max }
    }

    /// Whole numbers of at least `min`.
    pub const fn at_least(min: i64) -> Self {
        Self::Range { min, max: i64::MAX }
    }

    /// `Ok` when `raw` (a value the parser took) is within the shape.
    pub fn check(self, raw: &str) -> Result<(), Message> {
        match self {
            Self::Any => Ok(()),
            Self::Words(words) if words.contains(&raw) => Ok(()),
            Self::Words(words) => Err(format!("This must be one of: {}.", words.join(", ")).into()),
            Self::Chars { chars, min, max } => {
                let n = raw.chars().count();
                if (min..=max).contains(&n) && raw.chars().all(|c| chars.admits(c)) {
                    Ok(())
                } else {
                    Err(format!("This must be {min} to {max} of {}.", chars.class()).into())
                }
            }
            Self::Range { min, max } => match parse::parse_integer(raw) {
                Some(n) if (min..=max).contains(&n) => Ok(()),
                _ if max == i64::MAX => Err(format!("This must be a whole number of at least {min}.").into()),
                _ => Err(format!("This must be a whole number from {min} to {max}.").into()),
            },
        }
    }

    /// The JSON Schema keywords that say the same: `enum`, `pattern`, `minimum`, `maximum`.
    pub fn keywords(self) -> Vec<(&'static str, Value)> {
        match self {
            Self::Any => Vec::new(),
            Self::Words(words) => vec![("enum", Value::from(words.to_vec()))],
            Self::Chars { chars, min, max } => {
                vec![("pattern", Value::from(format!("^[{}]{{{min},{max}}}$", chars.class())))]
            }
            Self::Range { min, max } if max == i64::MAX => vec![("minimum", Value::from(min))],
            Self::Range { min, max } => vec![("minimum", Value::from(min)), ("maximum", Value::from(max))],
        }
    }
}

/// What a parameter means when it is not given. Sent empty, a parameter with
/// a default value takes it (form posts send every field); an empty integer
/// or flag without one counts as not given (Enswitch's convention); any other
/// empty text is a value, handed to the parser.
pub enum Absent<T: 'static> {
    /// A 400 "This parameter is required." when absent; text also when empty.
    Required,
    /// A 400 when absent; an empty text is handed to the parser (a destination
    /// number may be empty).
    RequiredMayBeEmpty,
    /// This value, also when sent empty.
    Value(T),
    /// Unchanged (an update): the field keeps its value; sent empty, this value.
    Kept(T),
    /// The call decides; the text says how ("Customer of authentication
    /// user.", "Unchanged."), or is empty for "no filter".
    Decided(&'static str),
}

/// One parameter: the single source of everything said and done about it.
pub struct Param<T: 'static> {
    pub name: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
    pub absent: Absent<T>,
    pub parse: fn(&str) -> Result<T, Message>,
    /// Checked after `parse`; [`Shape::Any`] takes the words of `T`, if it has some.
    pub shape: Shape,
}

impl Param<bool> {
    /// A flag Enswitch documents that Switchyard does not act on: 0 (or
    /// absent) is accepted, 1 is refused with a 400 saying so, so that no
    /// script is silently served something other than it asked for.
    pub const fn unsupported(name: &'static str, doc: &'static str) -> Self {
        Self::with_default(name, Kind::Flag, false, doc, |v| match parse::flag(v)? {
            false => Ok(false),
            true => Err("Switchyard does not support this parameter: send 0 or leave it out.".into()),
        })
        .shaped(Shape::Range { min: 0, max: 0 })
    }
}

impl<T> Param<T> {
    pub const fn required(
        name: &'static str,
        kind: Kind,
        doc: &'static str,
        parse: fn(&str) -> Result<T, Message>,
    ) -> Self {
        Self { name, kind, doc, absent: Absent::Required, parse, shape: Shape::Any }
    }

    pub const fn with_default(
        name: &'static str,
        kind: Kind,
        default: T,
        doc: &'static str,
        parse: fn(&str) -> Result<T, Message>,
    ) -> Self {
        Self { name, kind, doc, absent: Absent::Value(default), parse, shape: Shape::Any }
    }

    /// A field of an update: absent, it keeps its value; sent empty, `empty`.
    pub const fn kept(
        name: &'static str,
        kind: Kind,
        empty: T,
        doc: &'static str,
        parse: fn(&str) -> Result<T, Message>,
    ) -> Self {
        Self { name, kind, doc, absent: Absent::Kept(empty), parse, shape: Shape::Any }
    }

    /// The same parameter, limited to `shape`.
    pub const fn shaped(mut self, shape: Shape) -> Self {
        // Set in place: a const fn may not drop any part of a `Param<String>`.
        self.shape = shape;
        self
    }

    /// The shape the reader checks and the description publishes.
    pub fn effective_shape(&self) -> Shape
    where
        T: Documented,
    {
        match (self.shape, T::WORDS) {
            (Shape::Any, Some(words)) => Shape::Words(words),
            (shape, _) => shape,
        }
    }

    pub const fn decided(
        name: &'static str,
        kind: Kind,
        decided: &'static str,
        doc: &'static str,
        parse: fn(&str) -> Result<T, Message>,
    ) -> Self {
        Self { name, kind, doc, absent: Absent::Decided(decided), parse, shape: Shape::Any }
    }
}

/// A default as the published description shows it.
pub trait Documented {
    /// The only words a value of this type is parsed from, if it is a word.
    const WORDS: Option<&'static [&'static str]> = None;

    fn documented(&self) -> Value;
}

impl Documented for i64 {
    fn documented(&self) -> Value {
        Value::from(*self)
    }
}

impl Documented for bool {
    fn documented(&self) -> Value {
        Value::from(i64::from(*self))
    }
}

impl Documented for String {
    fn documented(&self) -> Value {
        Value::from(self.as_str())
    }
}

/// What the description, strict mode and error ordering need of a parameter,
/// whatever its type.
pub trait ParamInfo: Sync {
    fn name(&self) -> &'static str;
    fn kind(&self) -> Kind;
    fn doc(&self) -> &'static str;
    fn required(&self) -> bool;
    /// The default when it is a value.
    fn default_value(&self) -> Option<Value>;
    /// The default when the call decides it, in words (may be empty).
    fn default_words(&self) -> Option<&'static str>;
    /// The values it takes beyond its kind.
    fn shape(&self) -> Shape;
    /// Whether a required parameter may be sent empty (a destination number).
    fn empty_allowed(&self) -> bool;
}

impl<T: Documented + Sync> ParamInfo for Param<T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn kind(&self) -> Kind {
        self.kind
    }
    fn doc(&self) -> &'static str {
        self.doc
    }
    fn required(&self) -> bool {
        matches!(self.absent, Absent::Required | Absent::RequiredMayBeEmpty)
    }
    fn default_value(&self) -> Option<Value> {
        match &self.absent {
            Absent::Value(value) => Some(value.documented()),
            _ => None,
        }
    }
    fn default_words(&self) -> Option<&'static str> {
        match self.absent {
            Absent::Decided(words) => Some(words),
            Absent::Kept(_) => Some("Unchanged."),
            _ => None,
        }
    }
    fn shape(&self) -> Shape {
        self.effective_shape()
    }
    fn empty_allowed(&self) -> bool {
        matches!(self.absent, Absent::RequiredMayBeEmpty)
    }
}

/// The parsers parameters share. Each answers the message a client sees.
pub mod parse {
    use crate::base::Message;

    /// Optional `-`, then ASCII digits, fitting in 64 bits.
    pub fn parse_integer(value: &str) -> Option<i64> {
        let digits = value.strip_prefix('-').unwrap_or(value);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        value.parse().ok()
    }

    pub fn integer(value: &str) -> Result<i64, Message> {
        parse_integer(value).ok_or(Message::Borrowed("This parameter must be a whole number."))
    }

    pub fn non_negative(value: &str) -> Result<i64, Message> {
        match integer(value)? {
            n if n < 0 => Err("This parameter must not be negative.".into()),
            n => Ok(n),
        }
    }

    pub fn flag(value: &str) -> Result<bool, Message> {
        match value {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err("This parameter must be 0 or 1.".into()),
        }
    }

    pub fn text(value: &str) -> Result<String, Message> {
        Ok(value.to_string())
    }

    /// Text of at most `MAX` characters.
    pub fn bounded<const MAX: usize>(value: &str) -> Result<String, Message> {
        if value.chars().count() > MAX {
            return Err(format!("This parameter must be at most {MAX} characters.").into());
        }
        Ok(value.to_string())
    }

    /// Empty, or an e-mail address of at most 255 characters.
    pub fn email(value: &str) -> Result<String, Message> {
        let value = bounded::<255>(value)?;
        if !value.is_empty() && !crate::domain::is_email(&value) {
            return Err("This parameter must be an e-mail address.".into());
        }
        Ok(value)
    }

    /// A domain parser's fixed message, as a client message.
    /// A price: a decimal amount from 0 to a million, at most 4 places.
    pub fn price(value: &str) -> Result<crate::domain::money::Money, Message> {
        match crate::domain::money::Money::parse(value, 1_000_000) {
            Ok(price) if price.is_negative() => Err("A price must not be negative.".into()),
            parsed => with(parsed),
        }
    }

    /// Empty, or 1 to 32 ASCII digits (a number or the start of one).
    pub fn digits(name: &str, value: &str) -> Result<String, Message> {
        if value.is_empty() || crate::domain::destination::is_digits(value, 32) {
            Ok(value.to_string())
        } else {
            Err(format!("The {name} parameter must be 1 to 32 digits (0-9).").into())
        }
    }

    pub fn with<T>(parsed: Result<T, &'static str>) -> Result<T, Message> {
        parsed.map_err(Message::Borrowed)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn shapes_check_what_they_publish() {
            use super::super::Shape;
            let digits = Shape::digits(0, 3);
            assert!(digits.check("").is_ok() && digits.check("123").is_ok());
            assert!(digits.check("1234").is_err() && digits.check("12a").is_err());
            assert_eq!(digits.keywords(), vec![("pattern", serde_json::json!("^[0-9]{0,3}$"))]);
            let range = Shape::Range { min: 0, max: 2 };
            assert!(range.check("0").is_ok() && range.check("2").is_ok());
            assert!(range.check("3").is_err() && range.check("-1").is_err());
            let at_least = Shape::at_least(-1);
            assert!(at_least.check("-1").is_ok() && at_least.check("-2").is_err());
            assert_eq!(at_least.keywords(), vec![("minimum", serde_json::json!(-1))]);
            let words = Shape::Words(&["a", "b"]);
            assert!(words.check("a").is_ok() && words.check("c").is_err());
        }

        #[test]
        fn integers() {
            assert_eq!(parse_integer("42"), Some(42));
            assert_eq!(parse_integer("-1"), Some(-1));
            assert_eq!(parse_integer("007"), Some(7));
            for bad in ["+1", "", "-", "1.0", " 1", "1e2", "9223372036854775808", "０"] {
                assert_eq!(parse_integer(bad), None, "{bad}");
            }
            assert_eq!(parse_integer("-9223372036854775808"), Some(i64::MIN));
        }
    }
}

/// Parameters several categories share, declared once.
pub mod common {
    use super::{Kind, Param, Shape, parse};

    /// The customer a call acts in: the caller's own unless given, and always one the caller sees.
    pub const CUSTOMER: Param<i64> = Param::decided(
        "customer",
        Kind::Integer,
        "Customer of authentication user.",
        "ID of the customer to act in.",
        parse::integer,
    );

    /// Enswitch's reduced rows for a pages select box, which lists do not offer.
    pub const PAGES: Param<bool> = Param::unsupported(
        "pages",
        "Not supported: 0 (full rows) only; the reduced rows for a pages select box are not offered.",
    );

    pub const NAME: Param<String> =
        Param::required("name", Kind::Text, "Name, at most 255 characters.", parse::bounded::<255>);

    pub const DESCRIPTION: Param<String> = Param::with_default(
        "description",
        Kind::Text,
        String::new(),
        "Description, at most 255 characters.",
        parse::bounded::<255>,
    );

    /// `name` of an update: absent keeps; never empty (a create needs one too).
    pub const NEW_NAME: Param<String> =
        Param::kept("name", Kind::Text, String::new(), "Name, 1 to 255 characters.", |v| {
            if v.is_empty() { Err("This parameter must not be empty.".into()) } else { parse::bounded::<255>(v) }
        });

    /// `description` of an update: absent keeps; may be emptied.
    pub const NEW_DESCRIPTION: Param<String> = Param::kept(
        "description",
        Kind::Text,
        String::new(),
        "Description, at most 255 characters.",
        parse::bounded::<255>,
    );

    /// Keyset paging of the lists sorted by number: only the rows after this
    /// number in the list's order (below it with `descending=1`). Unlike
    /// `offset`, it costs the same on any page: a seek in the key's index.
    pub const AFTER: Param<String> = Param::with_default(
        "after",
        Kind::Text,
        String::new(),
        "Only numbers after this one in the list's order (before it with descending=1): 1 to 32 digits, for the next page pass the last number of the previous one; empty for no bound. Applied before offset and limit; count=1 ignores it.",
        |v| parse::digits("after", v),
    )
    .shaped(Shape::digits(0, 32));

    /// Numbers that start with these digits, read as one range of the key.
    pub const PREFIX: Param<String> = Param::with_default(
        "prefix",
        Kind::Text,
        String::new(),
        "Only numbers starting with these digits (1 to 32); empty for all. Served by the key's index, unlike search.",
        |v| parse::digits("prefix", v),
    )
    .shaped(Shape::digits(0, 32));

    /// An object's ID, required.
    pub const fn id(doc: &'static str) -> Param<i64> {
        Param::required("id", Kind::Integer, doc, parse::integer)
    }
}

/// Domain values are documented by their word.
macro_rules! documented_as_str {
    ($($ty:ty),*) => {
        $(impl Documented for $ty {
            fn documented(&self) -> Value {
                Value::from(self.as_str())
            }
        })*
    };
}

documented_as_str!(crate::domain::FeatureCode);

/// Words are documented as themselves, and published as the `enum` of their parameter.
macro_rules! documented_words {
    ($($ty:ty),*) => {
        $(impl Documented for $ty {
            const WORDS: Option<&'static [&'static str]> = Some(<$ty>::WORDS);

            fn documented(&self) -> Value {
                Value::from(self.as_str())
            }
        })*
    };
}

documented_words!(
    crate::domain::SnameAction,
    crate::domain::TextDtype,
    crate::domain::CodeSort,
    crate::domain::NumberSort,
    crate::domain::AllowCallerId,
    crate::domain::NumberKind,
    crate::domain::Existing
);

/// `dtype`: a call destination type.
impl Documented for crate::domain::destination::DestinationType {
    const WORDS: Option<&'static [&'static str]> = Some(&crate::domain::destination::CALL_TYPE_WORDS);

    fn documented(&self) -> Value {
        Value::from(self.as_str())
    }
}

/// Money is documented as the decimal text it is sent and answered as.
impl Documented for crate::domain::money::Money {
    fn documented(&self) -> Value {
        Value::from(self.to_string())
    }
}

/// An optional destination type (`fax_dtype`): empty for none.
impl Documented for Option<crate::domain::destination::DestinationType> {
    const WORDS: Option<&'static [&'static str]> = Some(&crate::domain::destination::FAX_TYPE_WORDS);

    fn documented(&self) -> Value {
        Value::from(self.map_or("", |t| t.as_str()))
    }
}
