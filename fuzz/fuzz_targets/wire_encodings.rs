//! The same parameters sent every way a client may send them: in the query
//! string, then in a form, JSON or multipart body, each spelt in many legal
//! ways (either separator, empty pairs, `+` or `%20`, escapes where none are
//! needed, JSON `\u` escapes and surrogate pairs, whitespace). Whatever the
//! spelling, the parser must reach the reference model's outcome for the
//! parameters as they were meant.

#![no_main]

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use switchyard::http::params::{BodyKind, ParamsBuilder};
use switchyard_fuzz::{Item, Outcome, block_on, fold, has_control};

/// Keys and values that make repeats and the awkward cases common, since
/// arbitrary strings rarely collide.
const KEYS: [&str; 8] = ["a", "b", "auth_username", "", "c d", "é", "x=y", "k;&+%"];
const VALUES: [&str; 10] = ["", "1", "0", "x y", "*72#", "a\tb", "%", "+", "ü😀", "1\u{0}"];
const BOUNDARY: &str = "SwitchyardFuzz";

#[derive(Arbitrary, Debug, Clone)]
enum Text {
    Common(u8),
    Any(String),
}

impl Text {
    fn get(&self, common: &[&str]) -> String {
        match self {
            Self::Common(i) => common[usize::from(*i) % common.len()].to_string(),
            Self::Any(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
enum Value {
    Text(Text),
    Int { negative: bool, digits: Vec<u8> },
    Bool(bool),
    Null,
}

#[derive(Arbitrary, Debug, Clone)]
struct Param {
    key: Text,
    value: Value,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    None,
    Form,
    Json,
    Multipart,
}

#[derive(Arbitrary, Debug)]
struct Input {
    params: Vec<Param>,
    body: Body,
    in_query: u8,
    spelling: Vec<u8>,
}

/// The choices between legal spellings, drawn from the input.
struct Spelling {
    bytes: Vec<u8>,
    at: usize,
}

impl Spelling {
    fn next(&mut self) -> u8 {
        let byte = if self.bytes.is_empty() { 0 } else { self.bytes[self.at % self.bytes.len()] };
        self.at += 1;
        byte.rotate_left(self.at as u32 % 8)
    }

    fn one_in(&mut self, n: u8) -> bool {
        self.next().is_multiple_of(n)
    }
}

/// A JSON integer's text: no leading zeros, which JSON forbids.
fn int_text(negative: bool, digits: &[u8]) -> String {
    let digits: String = digits.iter().map(|d| char::from(b'0' + d % 10)).collect();
    let digits = digits.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if negative { format!("-{digits}") } else { digits.to_string() }
}

/// The value as a form or multipart field carries it; `null` has no such spelling.
fn field_text(value: &Value) -> Option<String> {
    match value {
        Value::Text(text) => Some(text.get(&VALUES)),
        Value::Int { negative, digits } => Some(int_text(*negative, digits)),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        Value::Null => None,
    }
}

fn push_escape(out: &mut Vec<u8>, byte: u8, spelling: &mut Spelling) {
    let hex = if spelling.one_in(2) { format!("%{byte:02X}") } else { format!("%{byte:02x}") };
    out.extend_from_slice(hex.as_bytes());
}

fn urlencode(text: &str, is_key: bool, spelling: &mut Spelling) -> Vec<u8> {
    let mut out = Vec::new();
    for &byte in text.as_bytes() {
        match byte {
            b' ' if spelling.one_in(2) => out.push(b'+'),
            b'=' if !is_key && spelling.one_in(2) => out.push(b'='),
            b' ' | b'&' | b';' | b'=' | b'%' | b'+' => push_escape(&mut out, byte, spelling),
            _ if spelling.one_in(4) => push_escape(&mut out, byte, spelling),
            _ => out.push(byte),
        }
    }
    out
}

fn separator(out: &mut Vec<u8>, spelling: &mut Spelling) {
    // Sometimes with empty pairs, which are skipped.
    for _ in 0..1 + usize::from(spelling.one_in(8)) * usize::from(spelling.next() % 3) {
        out.push(if spelling.one_in(2) { b'&' } else { b';' });
    }
}

fn urlencoded(pairs: &[(String, String)], spelling: &mut Spelling) -> Vec<u8> {
    let mut out = Vec::new();
    if spelling.one_in(8) {
        separator(&mut out, spelling);
    }
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            separator(&mut out, spelling);
        }
        out.extend(urlencode(key, true, spelling));
        // A bare key is the key with an empty value, but a bare empty key
        // would be an empty pair, which is skipped.
        if !(value.is_empty() && !key.is_empty() && spelling.one_in(2)) {
            out.push(b'=');
            out.extend(urlencode(value, false, spelling));
        }
    }
    if spelling.one_in(8) {
        separator(&mut out, spelling);
    }
    out
}

fn json_string(text: &str, spelling: &mut Spelling) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        let escape = spelling.one_in(4);
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' if !escape => out.push_str("\\n"),
            '\t' if !escape => out.push_str("\\t"),
            '/' if escape => out.push_str("\\/"),
            c if (c as u32) < 0x20 || escape => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_space(spelling: &mut Spelling) -> &'static str {
    ["", "", " ", "\n", "\t", "\r\n "][usize::from(spelling.next()) % 6]
}

fn json_body(params: &[(String, Value)], spelling: &mut Spelling) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(json_space(spelling));
    out.push('{');
    for (i, (key, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(json_space(spelling));
        out.push_str(&json_string(key, spelling));
        out.push_str(json_space(spelling));
        out.push(':');
        out.push_str(json_space(spelling));
        match value {
            Value::Text(text) => out.push_str(&json_string(&text.get(&VALUES), spelling)),
            Value::Int { negative, digits } => out.push_str(&int_text(*negative, digits)),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Null => out.push_str("null"),
        }
        out.push_str(json_space(spelling));
    }
    out.push('}');
    out.push_str(json_space(spelling));
    out.into_bytes()
}

/// A key a `Content-Disposition` header can carry in quotes: no quote,
/// backslash or control other than tab (a header cannot hold those).
fn multipart_key(key: &str) -> bool {
    !key.chars().any(|c| c == '"' || c == '\\' || (c.is_ascii_control() && c != '\t'))
}

fn multipart_body(pairs: &[(String, String)], spelling: &mut Spelling) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in pairs {
        out.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n").as_bytes());
        if spelling.one_in(4) {
            out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// What the model expects of a form-like field: a key with a control
/// character cannot be decoded, so it is refused under key `""`.
fn form_item(key: String, value: String) -> Item {
    if has_control(&key) { Item::Fault(String::new(), "") } else { Item::Pair(key, Some(value)) }
}

fuzz_target!(|input: Input| {
    let mut spelling = Spelling { bytes: input.spelling, at: 0 };
    let params: Vec<(String, Value)> = input.params.iter().map(|p| (p.key.get(&KEYS), p.value.clone())).collect();
    let in_query =
        if input.body == Body::None { params.len() } else { usize::from(input.in_query) % (params.len() + 1) };
    let (query_params, body_params) = params.split_at(in_query);

    let mut expected = Vec::new();
    let query_pairs: Vec<(String, String)> =
        query_params.iter().filter_map(|(k, v)| Some((k.clone(), field_text(v)?))).collect();
    expected.extend(query_pairs.iter().cloned().map(|(k, v)| form_item(k, v)));

    let mut builder = ParamsBuilder::default();
    builder.add_urlencoded(&urlencoded(&query_pairs, &mut spelling));
    match input.body {
        Body::None => {}
        Body::Form => {
            let pairs: Vec<(String, String)> =
                body_params.iter().filter_map(|(k, v)| Some((k.clone(), field_text(v)?))).collect();
            expected.extend(pairs.iter().cloned().map(|(k, v)| form_item(k, v)));
            let content_type = if spelling.one_in(2) { None } else { Some("application/x-www-form-urlencoded") };
            assert_eq!(BodyKind::from_content_type(content_type), BodyKind::UrlEncoded);
            builder.add_urlencoded(&urlencoded(&pairs, &mut spelling));
        }
        Body::Json => {
            for (key, value) in body_params {
                expected.push(if has_control(key) {
                    Item::Fault(String::new(), "")
                } else {
                    Item::Pair(key.clone(), if matches!(value, Value::Null) { None } else { field_text(value) })
                });
            }
            assert_eq!(BodyKind::from_content_type(Some("application/json; charset=utf-8")), BodyKind::Json);
            builder.add_json(&json_body(body_params, &mut spelling));
        }
        Body::Multipart => {
            let delimiter = format!("--{BOUNDARY}");
            let pairs: Vec<(String, String)> = body_params
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), field_text(v)?)))
                .filter(|(k, v)| multipart_key(k) && !v.contains(&delimiter))
                .collect();
            expected.extend(pairs.iter().cloned().map(|(k, v)| Item::Pair(k, Some(v))));
            let content_type = if spelling.one_in(2) {
                format!("multipart/form-data; boundary={BOUNDARY}")
            } else {
                format!("Multipart/Form-Data; charset=utf-8; boundary=\"{BOUNDARY}\"")
            };
            let BodyKind::Multipart(boundary) = BodyKind::from_content_type(Some(&content_type)) else {
                panic!("{content_type} is not multipart");
            };
            assert_eq!(boundary, BOUNDARY);
            // An empty body is not parsed at all (see `read_params`).
            if !pairs.is_empty() {
                block_on(builder.add_multipart(Bytes::from(multipart_body(&pairs, &mut spelling)), boundary));
            }
        }
    }
    let real = Outcome::of(builder.finish());
    assert_eq!(real.keys_only(), fold(expected).keys_only(), "{params:?} in_query {in_query}");
});
