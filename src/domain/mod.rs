//! The rules of values, independent of HTTP and storage: each function decides
//! whether a value is well-formed, and owns its unit tests.

pub mod destination;
pub mod numbers;

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
