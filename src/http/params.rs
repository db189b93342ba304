//! One parser for every way Enswitch clients send parameters: query strings and
//! urlencoded bodies split on `;` or `&`, multipart text fields, and flat JSON
//! objects. Stock parsers split only on `&`, decode lossily and keep the last of
//! a duplicated key; the contract needs strict UTF-8, and a key given twice
//! with different values refused (so that `a=1;a=2` cannot show one value to a
//! proxy and another to Switchyard). A key repeated with the identical value is
//! one parameter: clients that add credentials to the caller's map send them
//! twice on a retry.

use std::collections::{HashMap, HashSet, hash_map::Entry};

use bytes::Bytes;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::base::{FieldError, Params};

/// How a POST body is encoded, from its `Content-Type`.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyKind {
    UrlEncoded,
    Multipart(String),
    Json,
    Unsupported,
}

impl BodyKind {
    /// A body without a `Content-Type` is read as a form: HTTP libraries send
    /// a plain string body (`data="a=1;b=2"`) that way.
    pub fn from_content_type(content_type: Option<&str>) -> Self {
        let Some(content_type) = content_type else { return Self::UrlEncoded };
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/x-www-form-urlencoded" => Self::UrlEncoded,
            "application/json" => Self::Json,
            "multipart/form-data" => match multer::parse_boundary(content_type) {
                Ok(boundary) => Self::Multipart(boundary),
                Err(_) => Self::Unsupported,
            },
            _ => Self::Unsupported,
        }
    }
}

/// Collects parameters from the query string and the body, and every problem
/// with them, so that all of them can be reported in one answer.
#[derive(Debug, Default)]
pub struct ParamsBuilder {
    entries: Vec<(String, String)>,
    /// Each key given so far, with its value (`None` for a JSON `null`).
    seen: HashMap<String, Option<String>>,
    errors: Vec<FieldError>,
    /// Keys already at fault, so that recording a problem stays constant-time
    /// however many keys a client sends.
    faulty: HashSet<String>,
}

impl ParamsBuilder {
    /// Records a key; `None` is a JSON `null`: present for duplicate detection, absent as a value.
    fn push(&mut self, key: String, value: Option<String>) {
        match self.seen.entry(key) {
            Entry::Occupied(first) if *first.get() == value => {}
            Entry::Occupied(first) => {
                let key = first.key().clone();
                self.error(&key, "This parameter was given more than once, with different values.");
            }
            Entry::Vacant(slot) => {
                let key = slot.key().clone();
                slot.insert(value.clone());
                match value {
                    Some(value) if value.chars().any(is_forbidden_control) => {
                        self.error(&key, "This parameter contains a control character.")
                    }
                    Some(value) => self.entries.push((key, value)),
                    None => {}
                }
            }
        }
    }

    /// One entry per key: a later problem with a key already at fault adds nothing.
    fn error(&mut self, key: &str, message: &str) {
        if self.faulty.insert(key.to_string()) {
            self.errors.push(FieldError::new(key, message));
        }
    }

    /// `a=1;b=2&c` as in a query string or an `application/x-www-form-urlencoded` body.
    pub fn add_urlencoded(&mut self, input: &[u8]) {
        for pair in input.split(|&b| b == b'&' || b == b';') {
            if pair.is_empty() {
                continue;
            }
            let (raw_key, raw_value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            let key = match decode_component(raw_key) {
                Ok(key) if !key.chars().any(is_forbidden_control) => key,
                _ => {
                    self.error("", "A parameter name could not be decoded.");
                    continue;
                }
            };
            match decode_component(raw_value) {
                Ok(value) => self.push(key, Some(value)),
                Err(DecodeError::BadEscape) => {
                    self.error(&key, "This parameter has a '%' not followed by two hexadecimal digits.")
                }
                Err(DecodeError::NotUtf8) => self.error(&key, "This parameter is not valid UTF-8."),
            }
        }
    }

    /// One flat JSON object of strings, integers, booleans and nulls.
    pub fn add_json(&mut self, body: &[u8]) {
        let pairs = match serde_json::from_slice::<JsonPairs>(body) {
            Ok(JsonPairs(pairs)) => pairs,
            Err(_) => {
                self.error("", "The request body is not a flat JSON object.");
                return;
            }
        };
        for (key, raw) in pairs {
            if key.chars().any(is_forbidden_control) {
                self.error("", "A parameter name contains a control character.");
                continue;
            }
            match json_scalar(raw.get()) {
                Ok(value) => self.push(key, value),
                Err(message) => {
                    self.seen.entry(key.clone()).or_insert(None);
                    self.error(&key, message);
                }
            }
        }
    }

    /// `multipart/form-data` with text fields; a part that is not UTF-8 is refused, not mangled.
    pub async fn add_multipart(&mut self, body: Bytes, boundary: String) {
        let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        loop {
            match multipart.next_field().await {
                Ok(Some(field)) => {
                    let Some(name) = field.name().map(str::to_owned) else {
                        self.error("", "A multipart part has no name.");
                        continue;
                    };
                    match field.bytes().await {
                        Ok(bytes) => match String::from_utf8(bytes.to_vec()) {
                            Ok(value) => self.push(name, Some(value)),
                            Err(_) => self.error(&name, "This parameter is not valid UTF-8."),
                        },
                        Err(_) => {
                            self.error(&name, "This multipart part could not be read.");
                            return;
                        }
                    }
                }
                Ok(None) => return,
                Err(_) => {
                    self.error("", "The multipart body could not be parsed.");
                    return;
                }
            }
        }
    }

    /// Records that the body as a whole could not be used.
    pub fn reject_body(&mut self, message: &str) {
        self.error("", message);
    }

    pub fn finish(self) -> Result<Params, Vec<FieldError>> {
        if self.errors.is_empty() { Ok(Params::from_entries(self.entries)) } else { Err(self.errors) }
    }
}

/// C0 controls other than tab, and DEL.
fn is_forbidden_control(c: char) -> bool {
    (c < ' ' && c != '\t') || c == '\u{7f}'
}

#[derive(Debug, PartialEq, Eq)]
enum DecodeError {
    BadEscape,
    NotUtf8,
}

/// `+` is a space and `%XX` a byte; anything else after `%` is an error rather
/// than passed through, and the bytes must form UTF-8.
fn decode_component(input: &[u8]) -> Result<String, DecodeError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
                match (hex(input.get(i + 1)), hex(input.get(i + 2))) {
                    (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                    _ => return Err(DecodeError::BadEscape),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8)
}

/// The members of a JSON object in order, values left as raw text so that long
/// integers keep every digit and repeated keys are seen rather than overwritten.
struct JsonPairs(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for JsonPairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = JsonPairs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonPairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    pairs.push((key, map.next_value::<Box<RawValue>>()?));
                }
                Ok(JsonPairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

/// A JSON value as a parameter: strings as they are, integers as their exact
/// decimal text, booleans as 1/0, `null` as absent.
fn json_scalar(raw: &str) -> Result<Option<String>, &'static str> {
    match raw.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(raw).map(Some).map_err(|_| "This parameter is not valid UTF-8."),
        Some(b't') => Ok(Some("1".into())),
        Some(b'f') => Ok(Some("0".into())),
        Some(b'n') => Ok(None),
        Some(b'-' | b'0'..=b'9') => {
            let digits = raw.strip_prefix('-').unwrap_or(raw);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                Ok(Some(raw.to_string()))
            } else {
                Err("This parameter must be a whole number, not a fraction or exponent.")
            }
        }
        _ => Err("This parameter must be a string, an integer or a boolean."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Result<Params, Vec<FieldError>> {
        let mut builder = ParamsBuilder::default();
        builder.add_urlencoded(input.as_bytes());
        builder.finish()
    }

    fn keys(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.key).collect()
    }

    #[test]
    fn both_separators_plus_and_escapes() {
        let p = parse("a=1;b=x+y&c=%2A72%23;;d").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("x y"));
        assert_eq!(p.get("c"), Some("*72#"));
        assert_eq!(p.get("d"), Some(""));
        assert_eq!(p.get("e"), None);
    }

    #[test]
    fn every_bad_key_reported_once() {
        let errors = parse("a=1;a=2;a=3;b=%zz;c=%ff;d=%0a;e=%7F;f=ok").unwrap_err();
        assert_eq!(keys(errors), ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn a_key_repeated_with_its_own_value_is_one_parameter() {
        let p = parse("auth_username=a;auth_password=p&auth_username=a&auth_password=p;x=1").unwrap();
        assert_eq!(p.iter().collect::<Vec<_>>(), [("auth_username", "a"), ("auth_password", "p"), ("x", "1")]);
        assert_eq!(keys(parse("a=1;a=1;a=2").unwrap_err()), ["a"]);
        // Decoding comes first: the same value spelt two ways is the same value.
        assert_eq!(parse("c=%2A72;c=*72").unwrap().get("c"), Some("*72"));
        assert_eq!(parse("a=;a").unwrap().get("a"), Some(""));
        assert_eq!(keys(parse("a=x;a=").unwrap_err()), ["a"]);
    }

    #[test]
    fn tab_is_allowed_but_not_other_controls() {
        assert_eq!(parse("a=x%09y").unwrap().get("a"), Some("x\ty"));
        assert_eq!(keys(parse("a=x%00y").unwrap_err()), ["a"]);
    }

    #[test]
    fn undecodable_key_is_blank_key() {
        assert_eq!(keys(parse("%ff=1").unwrap_err()), [""]);
        assert_eq!(keys(parse("%=1").unwrap_err()), [""]);
    }

    #[test]
    fn json_scalars() {
        let mut b = ParamsBuilder::default();
        b.add_json(
            br#"{"code": 100, "start": 12345678901234567890123456789012, "s": "x", "t": true, "f": false, "n": null}"#,
        );
        let p = b.finish().unwrap();
        assert_eq!(p.get("code"), Some("100"));
        assert_eq!(p.get("start"), Some("12345678901234567890123456789012"));
        assert_eq!(p.get("t"), Some("1"));
        assert_eq!(p.get("f"), Some("0"));
        assert_eq!(p.get("n"), None);
    }

    #[test]
    fn json_refusals_name_their_key() {
        let mut b = ParamsBuilder::default();
        b.add_json(br#"{"a": 1.0, "b": 1e2, "c": [1], "d": {"x": 1}, "e": "\u0001", "f": 1, "f": 2}"#);
        assert_eq!(keys(b.finish().unwrap_err()), ["a", "b", "c", "d", "e", "f"]);
        for body in [&b"[1]"[..], b"{", b"", b"\"x\""] {
            let mut b = ParamsBuilder::default();
            b.add_json(body);
            assert_eq!(keys(b.finish().unwrap_err()), [""]);
        }
    }

    #[test]
    fn query_and_body_duplicates_collide() {
        let mut b = ParamsBuilder::default();
        b.add_urlencoded(b"a=1");
        b.add_json(br#"{"a": null}"#);
        assert_eq!(keys(b.finish().unwrap_err()), ["a"]);
    }

    #[tokio::test]
    async fn multipart_text_and_bad_utf8() {
        let body = "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--XX\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n\u{0}\r\n--XX--\r\n";
        let mut b = ParamsBuilder::default();
        b.add_multipart(Bytes::from(body), "XX".into()).await;
        assert_eq!(keys(b.finish().unwrap_err()), ["b"]);

        let mut raw = b"--XX\r\nContent-Disposition: form-data; name=\"c\"\r\n\r\n".to_vec();
        raw.extend_from_slice(&[0xff, 0xfe]);
        raw.extend_from_slice(b"\r\n--XX--\r\n");
        let mut b = ParamsBuilder::default();
        b.add_multipart(Bytes::from(raw), "XX".into()).await;
        assert_eq!(keys(b.finish().unwrap_err()), ["c"]);
    }

    #[test]
    fn body_kinds() {
        assert_eq!(BodyKind::from_content_type(Some("application/json; charset=utf-8")), BodyKind::Json);
        assert_eq!(BodyKind::from_content_type(Some("Application/X-WWW-Form-Urlencoded")), BodyKind::UrlEncoded);
        assert_eq!(
            BodyKind::from_content_type(Some("multipart/form-data; boundary=abc")),
            BodyKind::Multipart("abc".into())
        );
        assert_eq!(BodyKind::from_content_type(Some("text/plain")), BodyKind::Unsupported);
        assert_eq!(BodyKind::from_content_type(None), BodyKind::UrlEncoded);
    }
}
