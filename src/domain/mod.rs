//! The rules of values, independent of HTTP and storage: each type can only
//! be built valid, each function decides whether a value is well-formed, and
//! each owns its unit tests. Nothing here imports another layer.

pub mod destination;
pub mod money;
pub mod numbers;
pub mod privilege;
pub mod shadowing;

/// A closed set of words, each a variant: `as_str`, and `parse` that answers
/// `$refusal` for anything else.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $word:literal),+ $(,)? } else $refusal:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every word, in declaration order: what `parse` accepts, and
            /// the `enum` the published description gives.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $word),+ }
            }

            pub fn parse(value: &str) -> Result<Self, &'static str> {
                match value {
                    $($word => Ok(Self::$variant),)+
                    _ => Err($refusal),
                }
            }
        }
    };
}

words! {
    /// What a forced caller name does to the caller's own.
    SnameAction { Replace = "replace", Prepend = "prepend", Append = "append" }
    else "This must be replace, prepend or append."
}

words! {
    /// What numbers/system/create adds: numbers to call, or caller IDs to present.
    NumberKind { Number = "number", CallerId = "callerid" }
    else "This must be number or callerid."
}

words! {
    /// What a range does about numbers that already exist (create) or are
    /// already gone (delete): refuse the whole call, or pass over them.
    Existing { Fail = "fail", Skip = "skip" }
    else "This must be fail or skip."
}

words! {
    /// Where a feature code sends text messages: nowhere, or a destination of one of these types.
    TextDtype { None = "none", Email = "email", Phone = "phone", Forward = "forward", Url = "url" }
    else "This must be none, email, phone, forward or url."
}

impl TextDtype {
    pub fn destination_type(self) -> Option<destination::DestinationType> {
        destination::DestinationType::parse_text(self.as_str())
    }
}

words! {
    /// The orders codes/list offers: `destination` is the type, then the
    /// number (`dtype`, its name in earlier Switchyard releases, says the same).
    CodeSort { Code = "code", Destination = "destination", Dtype = "dtype", Dnumber = "dnumber" }
    else "This must be code, destination or dnumber."
}

words! {
    /// The orders numbers/list offers; `destination` is the type, then the number.
    NumberSort { Number = "number", Destination = "destination", Dnumber = "dnumber" }
    else "This must be number, destination or dnumber."
}

words! {
    /// Who may present a number as their caller ID.
    AllowCallerId { Customer = "customer", Owner = "owner", Recursive = "recursive" }
    else "This must be customer, owner or recursive."
}

/// A number's outgoing caller ID: empty (none set), a number, or asked of
/// the caller (alone, or before or after the original).
pub fn parse_callerid(value: &str) -> Result<String, &'static str> {
    if value.is_empty()
        || ["ask", "ask_prepend_original", "ask_append_original"].contains(&value)
        || destination::is_digits(value, 32)
    {
        Ok(value.to_string())
    } else {
        Err("This must be empty, 1 to 32 digits, ask, ask_prepend_original or ask_append_original.")
    }
}

/// A feature code: 1 to 32 of `0-9 * #`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureCode(String);

impl FeatureCode {
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        if destination::is_feature_code(value) {
            Ok(Self(value.to_string()))
        } else {
            Err("A feature code must be 1 to 32 of 0-9 * #.")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// something@something, no spaces.
pub fn is_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !value.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// Empty, or one of [`RINGTONES`].
pub fn parse_ringtone(value: &str) -> Result<String, &'static str> {
    if value.is_empty() || RINGTONES.contains(&value) {
        Ok(value.to_string())
    } else {
        Err("This is not a known ring tone.")
    }
}

/// Empty, or a language tag.
pub fn parse_language(value: &str) -> Result<String, &'static str> {
    if value.is_empty() || is_language_tag(value) {
        Ok(value.to_string())
    } else {
        Err("This must be empty or a language tag such as en or en-GB.")
    }
}

/// The ring tones a feature code may force.
pub const RINGTONES: [&str; 11] = [
    "auto-callback",
    "call-waiting",
    "delayed",
    "external",
    "forward",
    "hold-recall",
    "internal",
    "normal",
    "priority",
    "short",
    "transfer-recall",
];

/// 2 or 3 letters, optionally `-` or `_` and 2 to 8 letters or digits (`en`, `en-GB`, `pt_BR`).
pub fn is_language_tag(value: &str) -> bool {
    let (primary, subtag) = match value.find(['-', '_']) {
        Some(i) => (&value[..i], Some(&value[i + 1..])),
        None => (value, None),
    };
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && subtag.is_none_or(|s| (2..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A feature code's temporary routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// `""`: normal routing.
    Normal,
    /// `default`: the default destination only.
    Default,
    /// `timegroup_<ID>`.
    TimeGroup(i64),
    /// A number: optional `+`, 1 to 32 digits.
    Number,
}

impl Routing {
    /// Checks a routing text, keeping it as given (it is stored as text).
    pub fn check(value: &str) -> Result<String, &'static str> {
        match Self::parse(value) {
            Some(_) => Ok(value.to_string()),
            None => Err("This must be empty, default, timegroup_<ID> or a number."),
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "" => Some(Self::Normal),
            "default" => Some(Self::Default),
            _ => {
                if let Some(id) = value.strip_prefix("timegroup_") {
                    return destination::is_digits(id, 19)
                        .then(|| id.parse::<i64>().ok().filter(|&id| id > 0).map(Self::TimeGroup))
                        .flatten();
                }
                destination::is_phone_number(value).then_some(Self::Number)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        for good in ["en", "eng", "en-GB", "pt_BR", "de-1996", "zh-Hant"] {
            assert!(is_language_tag(good), "{good}");
        }
        for bad in ["", "e", "engl", "en-", "en-G", "en-GB-x", "e1", "en GB", "en-abcdefghi"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn words_parse_only_their_own() {
        assert_eq!(SnameAction::parse("prepend"), Ok(SnameAction::Prepend));
        assert!(SnameAction::parse("Prepend").is_err());
        assert_eq!(Existing::parse("skip").map(Existing::as_str), Ok("skip"));
        assert!(CodeSort::parse("").is_err());
        assert!(FeatureCode::parse("*72#").is_ok());
        assert!(FeatureCode::parse("72a").is_err());
        assert_eq!(NumberSort::parse("destination"), Ok(NumberSort::Destination));
        assert!(AllowCallerId::parse("Owner").is_err());
        assert!(parse_callerid("ask_append_original").is_ok() && parse_callerid("+44").is_err());
        assert!(is_email("a@b") && !is_email("a b@c") && !is_email("@b") && !is_email("a@b@c"));
    }

    #[test]
    fn routings() {
        assert_eq!(Routing::parse(""), Some(Routing::Normal));
        assert_eq!(Routing::parse("default"), Some(Routing::Default));
        assert_eq!(Routing::parse("timegroup_12"), Some(Routing::TimeGroup(12)));
        assert_eq!(Routing::parse("+442071234567"), Some(Routing::Number));
        for bad in ["timegroup_", "timegroup_0", "timegroup_x", "Default", "12a", "timegroup_-1"] {
            assert_eq!(Routing::parse(bad), None, "{bad}");
        }
    }
}
