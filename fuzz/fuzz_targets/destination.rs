//! The destination grammar (API.md section 6) and the other value rules of
//! `src/domain`: each accepted value satisfies its documented rule, written
//! out again here from the spec's table, and each value that satisfies the
//! rule is accepted; type names parse only as themselves.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::domain::{
    FeatureCode, Routing,
    destination::{CALL_TYPE_WORDS, CALL_TYPES, Destination, DestinationType, FAX_TYPE_WORDS, TEXT_TYPES},
    is_email, is_language_tag, parse_callerid,
};

const ALL_TYPES: [DestinationType; 15] = [
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
    DestinationType::Email,
];

fn digits(s: &str, min: usize, max: usize) -> bool {
    let n = s.chars().count();
    min <= n && n <= max && s.chars().all(|c| c.is_ascii_digit())
}

fn no_space(s: &str) -> bool {
    !s.chars().any(char::is_whitespace)
}

/// The spec's table, one rule per type.
fn rule(dtype: DestinationType, d: &str) -> bool {
    use DestinationType as T;
    match dtype {
        T::Phone | T::Number => digits(d, 1, 32),
        T::Forward => digits(d.strip_prefix('+').unwrap_or(d), 1, 32),
        T::Peer => {
            let parts: Vec<&str> = d.split('@').collect();
            parts.len() == 2
                && digits(parts[0], 1, 32)
                && (1..=64).contains(&parts[1].chars().count())
                && parts[1].chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        }
        T::SipUri => {
            let rest = if let Some(r) = d.strip_prefix("sips:") { r } else { d.strip_prefix("sip:").unwrap_or("") };
            (d.starts_with("sip:") || d.starts_with("sips:"))
                && rest.find('@').is_some_and(|at| at > 0 && at + 1 < rest.len())
                && d.chars().count() <= 255
                && no_space(d)
        }
        T::Code => (1..=32).contains(&d.len()) && d.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#'),
        T::Queue | T::HuntGroup | T::Ivr | T::Conference | T::Mailbox => {
            digits(d, 1, 19) && d.parse::<u64>().is_ok_and(|id| id >= 1 && id <= i64::MAX as u64)
        }
        T::Url => {
            let rest = d.strip_prefix("http://").or(d.strip_prefix("https://"));
            rest.is_some_and(|r| !r.is_empty()) && d.chars().count() <= 1024 && no_space(d)
        }
        T::Hangup | T::Busy => d.is_empty(),
        T::Email => {
            d.matches('@').count() == 1
                && !d.starts_with('@')
                && !d.ends_with('@')
                && no_space(d)
                && d.chars().count() <= 255
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // `word|dnumber`, or a dnumber alone checked against every type.
    let (word, dnumber) = text.split_once('|').unwrap_or(("", text));

    for dtype in ALL_TYPES {
        let accepted = dtype.check(dnumber).is_ok();
        assert_eq!(accepted, rule(dtype, dnumber), "{dtype:?} {dnumber:?}");
        let built = Destination::new(dtype, dnumber);
        assert_eq!(built.is_ok(), accepted);
        if let Ok(destination) = built {
            assert_eq!((destination.dtype, destination.dnumber.as_str()), (dtype, dnumber));
        }
        assert_eq!(Destination::optional(Some(dtype), dnumber, "none").is_ok(), accepted);
    }
    assert_eq!(Destination::optional(None, dnumber, "none").is_ok(), dnumber.is_empty());

    // Type names: exactly the published words, spelt exactly.
    let call = DestinationType::parse_call(word);
    assert_eq!(call.is_some(), CALL_TYPE_WORDS.contains(&word), "{word:?}");
    assert_eq!(DestinationType::call_type(word).ok(), call);
    assert!(call.is_none_or(|t| t.as_str() == word && CALL_TYPES.contains(&t)));
    let fax = DestinationType::parse_fax(word);
    assert_eq!(fax.is_some(), !word.is_empty() && FAX_TYPE_WORDS.contains(&word), "{word:?}");
    assert!(fax.is_none_or(|t| t.as_str() == word));
    assert_eq!(DestinationType::fax_type(word).is_ok(), FAX_TYPE_WORDS.contains(&word));
    let text_type = DestinationType::parse_text(word);
    assert_eq!(text_type.is_some(), TEXT_TYPES.iter().any(|t| t.as_str() == word), "{word:?}");
    assert!(text_type.is_none_or(|t| t.as_str() == word));

    // The other value rules of the domain, from their documentation.
    let value = dnumber;
    assert_eq!(FeatureCode::parse(value).is_ok(), rule(DestinationType::Code, value));
    assert_eq!(FeatureCode::parse(value).map(|c| c.as_str().to_string()).ok().as_deref().unwrap_or(value), value);
    let email_ok =
        value.matches('@').count() == 1 && !value.starts_with('@') && !value.ends_with('@') && no_space(value);
    assert_eq!(is_email(value), email_ok, "{value:?}");
    let callerid_ok = value.is_empty()
        || ["ask", "ask_prepend_original", "ask_append_original"].contains(&value)
        || digits(value, 1, 32);
    assert_eq!(parse_callerid(value).is_ok(), callerid_ok, "{value:?}");
    let routing_ok = match value {
        "" | "default" => true,
        _ => match value.strip_prefix("timegroup_") {
            Some(id) => rule(DestinationType::Queue, id),
            None => rule(DestinationType::Forward, value),
        },
    };
    assert_eq!(Routing::parse(value).is_some(), routing_ok, "{value:?}");
    assert_eq!(Routing::check(value).is_ok(), routing_ok);
    let language_ok = {
        let (primary, subtag) = match value.split_once(['-', '_']) {
            Some((p, s)) => (p, Some(s)),
            None => (value, None),
        };
        (2..=3).contains(&primary.len())
            && primary.chars().all(|c| c.is_ascii_alphabetic())
            && subtag.is_none_or(|s| (2..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric()))
    };
    assert_eq!(is_language_tag(value), language_ok, "{value:?}");
});
