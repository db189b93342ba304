//! Raw bodies of any declared content type, as `read_params` dispatches them:
//! no input may panic or hang the parser, an accepted request holds each key
//! once and no control character, a refused one names each key at fault
//! once; and a JSON body reaches the reference model's outcome.

#![no_main]

use std::collections::HashSet;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use switchyard::http::params::{BodyKind, ParamsBuilder};
use switchyard_fuzz::{Outcome, block_on, has_control, json_outcome};

fuzz_target!(|data: &[u8]| {
    // The first line is the Content-Type header (none if it is not text).
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b""[..], data),
    };
    let content_type = std::str::from_utf8(header).ok().filter(|h| !h.is_empty());
    let kind = BodyKind::from_content_type(content_type);
    let is_json = kind == BodyKind::Json;

    let mut builder = ParamsBuilder::default();
    match kind {
        BodyKind::UrlEncoded => builder.add_urlencoded(body),
        BodyKind::Json => builder.add_json(body),
        BodyKind::Multipart(boundary) => block_on(builder.add_multipart(Bytes::copy_from_slice(body), boundary)),
        BodyKind::Unsupported => builder.reject_body("unsupported"),
    }
    let outcome = Outcome::of(builder.finish());
    match &outcome {
        Outcome::Accepted(pairs) => {
            let mut keys = HashSet::new();
            for (key, value) in pairs {
                assert!(keys.insert(key), "{key:?} given twice in {outcome:?}");
                assert!(!has_control(key) && !has_control(value), "control character in {outcome:?}");
            }
        }
        Outcome::Refused(faults) => {
            assert!(!faults.is_empty());
            let mut keys = HashSet::new();
            for (key, _) in faults {
                assert!(keys.insert(key), "{key:?} at fault twice in {outcome:?}");
            }
        }
    }
    if is_json {
        assert_eq!(outcome, json_outcome(body), "{body:?}");
    }
});
