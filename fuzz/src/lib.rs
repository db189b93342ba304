//! What the fuzz targets share: a reference model of the wire rules of
//! API.md section 1, written as plainly as possible and independently of
//! `src/http/params.rs`, so that a target can assert that the real parser
//! and the model agree; and a way to drive the multipart parser's future
//! without a runtime.

use std::{
    collections::BTreeMap,
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
};

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use switchyard::base::{FieldError, Params};

/// The parser's messages, as the model must give them too: a client sees
/// them, so a change to one is a change of behaviour the targets should see.
pub const DIFFERENT: &str = "This parameter was given more than once, with different values.";
pub const CONTROL: &str = "This parameter contains a control character.";
pub const BAD_NAME: &str = "A parameter name could not be decoded.";
pub const BAD_ESCAPE: &str = "This parameter has a '%' not followed by two hexadecimal digits.";
pub const NOT_UTF8: &str = "This parameter is not valid UTF-8.";
pub const NOT_OBJECT: &str = "The request body is not a flat JSON object.";
pub const KEY_CONTROL: &str = "A parameter name contains a control character.";
pub const NOT_WHOLE: &str = "This parameter must be a whole number, not a fraction or exponent.";
pub const NOT_SCALAR: &str = "This parameter must be a string, an integer or a boolean.";

/// What a parser made of one request: the parameters in the order first
/// given, or each key at fault once, in the order of its first fault, with
/// that first fault's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted(Vec<(String, String)>),
    Refused(Vec<(String, String)>),
}

impl Outcome {
    pub fn of(result: Result<Params, Vec<FieldError>>) -> Self {
        match result {
            Ok(params) => Self::Accepted(params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            Err(errors) => Self::Refused(errors.into_iter().map(|e| (e.key, e.message)).collect()),
        }
    }

    /// The same outcome with the messages left out, for comparisons where
    /// two encodings word the same fault differently.
    pub fn keys_only(&self) -> Self {
        match self {
            Self::Accepted(pairs) => Self::Accepted(pairs.clone()),
            Self::Refused(faults) => Self::Refused(faults.iter().map(|(k, _)| (k.clone(), String::new())).collect()),
        }
    }
}

/// One thing a request said, before the rules about repeats are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A key with its value; `None` is JSON's `null`: given, but absent.
    Pair(String, Option<String>),
    /// A key whose value (or whose own name, then key `""`) was unusable.
    Fault(String, &'static str),
}

/// C0 controls other than tab, and DEL: what no key or value may hold.
pub fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_control() && c != '\t')
}

#[derive(Debug, PartialEq, Eq)]
pub enum DecodeFault {
    Escape,
    Utf8,
}

/// `+` is a space, `%` and two hex digits a byte, any other `%` a fault; the
/// bytes must be UTF-8.
pub fn percent_decode(mut rest: &[u8]) -> Result<String, DecodeFault> {
    let mut out = Vec::new();
    loop {
        rest = match rest {
            [] => break,
            [b'+', tail @ ..] => {
                out.push(b' ');
                tail
            }
            [b'%', hi, lo, tail @ ..] if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() => {
                let hex = [*hi, *lo];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap());
                tail
            }
            [b'%', ..] => return Err(DecodeFault::Escape),
            [byte, tail @ ..] => {
                out.push(*byte);
                tail
            }
        };
    }
    String::from_utf8(out).map_err(|_| DecodeFault::Utf8)
}

/// A query string or form body: pairs split on `&` or `;`, empty pairs
/// skipped, a pair without `=` a key with an empty value.
pub fn urlencoded_items(input: &[u8]) -> Vec<Item> {
    input
        .split(|b| *b == b'&' || *b == b';')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut halves = pair.splitn(2, |b| *b == b'=');
            let raw_key = halves.next().unwrap_or_default();
            let raw_value = halves.next().unwrap_or_default();
            match percent_decode(raw_key) {
                Ok(key) if !has_control(&key) => match percent_decode(raw_value) {
                    Ok(value) => Item::Pair(key, Some(value)),
                    Err(DecodeFault::Escape) => Item::Fault(key, BAD_ESCAPE),
                    Err(DecodeFault::Utf8) => Item::Fault(key, NOT_UTF8),
                },
                _ => Item::Fault(String::new(), BAD_NAME),
            }
        })
        .collect()
}

/// The members of a JSON object in order, repeats included, each value as
/// its text; `None` if the body is not a JSON object.
pub fn json_members(body: &[u8]) -> Option<Vec<(String, Box<RawValue>)>> {
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(String, Box<RawValue>)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut members = Vec::new();
            while let Some(member) = map.next_entry()? {
                members.push(member);
            }
            Ok(members)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let members = deserializer.deserialize_map(Members).ok()?;
    deserializer.end().ok()?;
    Some(members)
}

/// A flat JSON object: strings as they are, integers as their exact text,
/// booleans as 1/0, `null` given but absent; anything else refused.
pub fn json_outcome(body: &[u8]) -> Outcome {
    let Some(members) = json_members(body) else {
        return Outcome::Refused(vec![(String::new(), NOT_OBJECT.to_string())]);
    };
    fold(members.into_iter().map(|(key, raw)| {
        if has_control(&key) {
            return Item::Fault(String::new(), KEY_CONTROL);
        }
        let text = raw.get();
        match text {
            "null" => Item::Pair(key, None),
            "true" => Item::Pair(key, Some("1".into())),
            "false" => Item::Pair(key, Some("0".into())),
            // A string with an escaped lone surrogate: no UTF-8 spells it.
            _ if text.starts_with('"') => match serde_json::from_str::<String>(text) {
                Ok(s) => Item::Pair(key, Some(s)),
                Err(_) => Item::Fault(key, NOT_UTF8),
            },
            _ if text.starts_with(['[', '{']) => Item::Fault(key, NOT_SCALAR),
            // A number: whole when it has neither fraction nor exponent.
            _ if text.contains(['.', 'e', 'E']) => Item::Fault(key, NOT_WHOLE),
            _ => Item::Pair(key, Some(text.to_string())),
        }
    }))
}

/// The rules about repeats, over everything a request said in order: a key
/// given again with the same value (`null` included) is one parameter, with
/// another value a fault; a value with a control character is a fault.
pub fn fold(items: impl IntoIterator<Item = Item>) -> Outcome {
    let mut first_values: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut accepted = Vec::new();
    let mut faults: Vec<(String, String)> = Vec::new();
    let mut fault = |key: &str, message: &str| {
        if !faults.iter().any(|(k, _)| k == key) {
            faults.push((key.to_string(), message.to_string()));
        }
    };
    for item in items {
        match item {
            Item::Fault(key, message) => fault(&key, message),
            Item::Pair(key, value) => match first_values.get(&key) {
                Some(first) if *first == value => {}
                Some(_) => fault(&key, DIFFERENT),
                None => {
                    first_values.insert(key.clone(), value.clone());
                    match value {
                        Some(value) if has_control(&value) => fault(&key, CONTROL),
                        Some(value) => accepted.push((key, value)),
                        None => {}
                    }
                }
            },
        }
    }
    if faults.is_empty() { Outcome::Accepted(accepted) } else { Outcome::Refused(faults) }
}

/// Runs a future that never waits on anything outside itself (the multipart
/// parser over a body already in memory); one that would wait is a bug.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("a future over an in-memory body never finished");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_follows_the_spec_examples() {
        assert_eq!(
            fold(urlencoded_items(b"a=1;b=x+y&c=%2A72%23;;d")),
            Outcome::Accepted(vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), "*72#".into()),
                ("d".into(), "".into()),
            ])
        );
        assert_eq!(fold(urlencoded_items(b"a=1;a=2")), Outcome::Refused(vec![("a".into(), DIFFERENT.into())]));
    }
}
