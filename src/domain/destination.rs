//! Where a call can be sent: Switchyard's closed list of destination types and
//! the grammar of the destination number (`dnumber`) each takes. References
//! to other objects (a number of the inventory, another code) are checked
//! against the database by the caller; here only their syntax.

/// A destination type of `dtype`, `fax_dtype` or `text_dtype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationType {
    Phone,
    Forward,
    Number,
    Peer,
    SipUri,
    Code,
    Queue,
    HuntGroup,
    Ivr,
    Conference,
    Mailbox,
    Url,
    Hangup,
    Busy,
    /// Only as `fax_dtype` and `text_dtype`.
    Email,
}

/// The types `dtype` accepts, in the documentation's order.
pub const CALL_TYPES: [DestinationType; 14] = [
    DestinationType::Phone,
    DestinationType::Forward,
    DestinationType::Number,
    DestinationType::Peer,
    DestinationType::SipUri,
    DestinationType::Code,
    DestinationType::Queue,
    DestinationType::HuntGroup,
    DestinationType::Ivr,
    DestinationType::Conference,
    DestinationType::Mailbox,
    DestinationType::Url,
    DestinationType::Hangup,
    DestinationType::Busy,
];

/// The types `text_dtype` accepts besides `none`.
pub const TEXT_TYPES: [DestinationType; 4] =
    [DestinationType::Email, DestinationType::Phone, DestinationType::Forward, DestinationType::Url];

/// The words of [`CALL_TYPES`]: the `enum` published for `dtype`.
pub const CALL_TYPE_WORDS: [&str; CALL_TYPES.len()] = words_of(CALL_TYPES);

/// What `fax_dtype` accepts: empty for none, a call type, or `email`.
pub const FAX_TYPE_WORDS: [&str; CALL_TYPES.len() + 2] = {
    let mut words = [""; CALL_TYPES.len() + 2];
    let mut i = 0;
    while i < CALL_TYPES.len() {
        words[i + 1] = CALL_TYPES[i].as_str();
        i += 1;
    }
    words[CALL_TYPES.len() + 1] = DestinationType::Email.as_str();
    words
};

const fn words_of<const N: usize>(types: [DestinationType; N]) -> [&'static str; N] {
    let mut words = [""; N];
    let mut i = 0;
    while i < N {
        words[i] = types[i].as_str();
        i += 1;
    }
    words
}

impl DestinationType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Forward => "forward",
            Self::Number => "number",
            Self::Peer => "peer",
            Self::SipUri => "sipuri",
            Self::Code => "code",
            Self::Queue => "queue",
            Self::HuntGroup => "huntgroup",
            Self::Ivr => "ivr",
            Self::Conference => "conference",
            Self::Mailbox => "mailbox",
            Self::Url => "url",
            Self::Hangup => "hangup",
            Self::Busy => "busy",
            Self::Email => "email",
        }
    }

    /// `dtype` as a parameter parser.
    pub fn call_type(name: &str) -> Result<Self, &'static str> {
        Self::parse_call(name).ok_or("This is not a known destination type.")
    }

    /// `fax_dtype`: empty for none, a call type, or `email`.
    pub fn fax_type(name: &str) -> Result<Option<Self>, &'static str> {
        if name.is_empty() {
            return Ok(None);
        }
        Self::parse_fax(name).map(Some).ok_or("This must be empty, a destination type or email.")
    }

    /// A call destination type (`dtype`).
    pub fn parse_call(name: &str) -> Option<Self> {
        CALL_TYPES.into_iter().find(|t| t.as_str() == name)
    }

    /// A fax destination type: any call type, or `email`.
    pub fn parse_fax(name: &str) -> Option<Self> {
        Self::parse_call(name).or((name == "email").then_some(Self::Email))
    }

    /// A text-message destination type other than `none`.
    pub fn parse_text(name: &str) -> Option<Self> {
        TEXT_TYPES.into_iter().find(|t| t.as_str() == name)
    }

    /// Checks the syntax of a destination number for this type; the message
    /// says what was expected.
    pub fn check(self, dnumber: &str) -> Result<(), &'static str> {
        let ok = match self {
            Self::Phone | Self::Number => is_digits(dnumber, 32),
            Self::Forward => is_phone_number(dnumber),
            Self::Peer => match dnumber.split_once('@') {
                Some((digits, peer)) => {
                    is_digits(digits, 32)
                        && (1..=64).contains(&peer.len())
                        && peer.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
                }
                None => false,
            },
            Self::SipUri => is_sip_uri(dnumber),
            Self::Code => is_feature_code(dnumber),
            Self::Queue | Self::HuntGroup | Self::Ivr | Self::Conference | Self::Mailbox => {
                is_digits(dnumber, 19) && dnumber.parse::<i64>().is_ok_and(|id| id > 0)
            }
            Self::Url => {
                let rest = dnumber.strip_prefix("https://").or_else(|| dnumber.strip_prefix("http://"));
                rest.is_some_and(|r| !r.is_empty())
                    && dnumber.chars().count() <= 1024
                    && !dnumber.contains(char::is_whitespace)
            }
            Self::Hangup | Self::Busy => dnumber.is_empty(),
            Self::Email => super::is_email(dnumber) && dnumber.chars().count() <= 255,
        };
        if ok { Ok(()) } else { Err(self.expectation()) }
    }

    fn expectation(self) -> &'static str {
        match self {
            Self::Phone => "A phone destination must be 1 to 32 digits.",
            Self::Number => "A number destination must be 1 to 32 digits.",
            Self::Forward => "A forward destination must be an optional + and 1 to 32 digits.",
            Self::Peer => "A peer destination must be digits@peer (peer: 1 to 64 of A-Z a-z 0-9 . _ -).",
            Self::SipUri => "A sipuri destination must be a sip: or sips: URI with a user and a host.",
            Self::Code => "A code destination must be a feature code (1 to 32 of 0-9 * #).",
            Self::Queue | Self::HuntGroup | Self::Ivr | Self::Conference | Self::Mailbox => {
                "This destination must be a positive whole number (an ID)."
            }
            Self::Url => "A url destination must be an http:// or https:// URL of at most 1024 characters.",
            Self::Hangup | Self::Busy => "This destination type takes no destination number.",
            Self::Email => "An email destination must be an e-mail address.",
        }
    }
}

/// A destination: a type and a number that suits it, checked together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub dtype: DestinationType,
    pub dnumber: String,
}

impl Destination {
    pub fn new(dtype: DestinationType, dnumber: &str) -> Result<Self, &'static str> {
        dtype.check(dnumber)?;
        Ok(Self { dtype, dnumber: dnumber.to_string() })
    }

    /// An optional destination (fax, text): with no type, the number must be empty.
    pub fn optional(
        dtype: Option<DestinationType>,
        dnumber: &str,
        empty: &'static str,
    ) -> Result<Option<Self>, &'static str> {
        match dtype {
            Some(dtype) => Self::new(dtype, dnumber).map(Some),
            None if dnumber.is_empty() => Ok(None),
            None => Err(empty),
        }
    }
}

/// 1 to `max` ASCII digits.
pub fn is_digits(value: &str, max: usize) -> bool {
    (1..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

/// An optional `+` and 1 to 32 digits.
pub fn is_phone_number(value: &str) -> bool {
    is_digits(value.strip_prefix('+').unwrap_or(value), 32)
}

/// 1 to 32 of `0-9 * #`.
pub fn is_feature_code(value: &str) -> bool {
    (1..=32).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
}

fn is_sip_uri(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("sips:").or_else(|| value.strip_prefix("sip:")) else { return false };
    match rest.split_once('@') {
        Some((user, host)) => {
            !user.is_empty() && !host.is_empty() && value.chars().count() <= 255 && !value.contains(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::DestinationType as T;

    #[test]
    fn grammar_of_each_type() {
        let cases: &[(T, &[&str], &[&str])] = &[
            (T::Phone, &["1234567", "0"], &["", "+1", "12a", &"1".repeat(33)]),
            (T::Forward, &["+441234", "0044"], &["+", "++1", "1-2"]),
            (T::Peer, &["100@carrier.example", "1@a_b-c"], &["@x", "100@", "100", "x@y", "1@a b"]),
            (
                T::SipUri,
                &["sip:alice@example.com", "sips:100@10.0.0.1:5061"],
                &["sip:@x", "sip:alice", "http://x", "sip:a b@c"],
            ),
            (T::Code, &["*72#", "100"], &["", "12a", "*72 "]),
            (T::Queue, &["1", "42"], &["0", "-1", "x", "99999999999999999999"]),
            (T::Url, &["https://example.com/hook", "http://x"], &["https://", "ftp://x", "http://a b"]),
            (T::Hangup, &[""], &["1"]),
            (T::Email, &["fax@example.com"], &["fax", "@x", "a@"]),
        ];
        for (kind, good, bad) in cases {
            for value in *good {
                assert_eq!(kind.check(value), Ok(()), "{kind:?} {value}");
            }
            for value in *bad {
                assert!(kind.check(value).is_err(), "{kind:?} accepted {value:?}");
            }
        }
        assert!(T::Url.check(&format!("https://{}", "a".repeat(1020))).is_err());
    }

    /// Found by the `destination` fuzz target: the limits are documented in
    /// characters, and were counted in bytes, so a sipuri, url or email of
    /// fewer characters than the limit but more UTF-8 bytes was refused.
    #[test]
    fn length_limits_count_characters_not_bytes() {
        let sip = format!("sip:{}@example.com", "é".repeat(200));
        assert!(sip.len() > 255 && sip.chars().count() <= 255);
        assert_eq!(T::SipUri.check(&sip), Ok(()));
        let url = format!("https://example.com/{}", "ü".repeat(1000));
        assert!(url.len() > 1024 && url.chars().count() <= 1024);
        assert_eq!(T::Url.check(&url), Ok(()));
        let email = format!("{}@example.com", "ß".repeat(200));
        assert_eq!(T::Email.check(&email), Ok(()));
        assert!(T::SipUri.check(&format!("sip:{}@x", "é".repeat(250))).is_err());
        assert!(T::Url.check(&format!("https://{}", "ü".repeat(1017))).is_err());
    }

    #[test]
    fn which_types_each_field_takes() {
        assert_eq!(T::parse_call("email"), None);
        assert_eq!(T::parse_fax("email"), Some(T::Email));
        assert_eq!(T::parse_fax("busy"), Some(T::Busy));
        assert_eq!(T::parse_text("peer"), None);
        assert_eq!(T::parse_text("url"), Some(T::Url));
        assert_eq!(T::parse_call("Phone"), None);
    }
}
