//! The wire parser on raw query strings and form bodies, against the
//! reference model of the spec's rules: both must accept the same parameters
//! in the same order, or refuse the same keys with the same messages.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::http::params::ParamsBuilder;
use switchyard_fuzz::{Outcome, fold, urlencoded_items};

fuzz_target!(|data: &[u8]| {
    // The first byte says where the query string ends and the body begins,
    // so that repeats across the two are exercised as often as within one.
    let Some((&split, rest)) = data.split_first() else { return };
    let (query, body) = rest.split_at(usize::from(split).min(rest.len()));

    let mut builder = ParamsBuilder::default();
    builder.add_urlencoded(query);
    builder.add_urlencoded(body);
    let real = Outcome::of(builder.finish());

    let model = fold(urlencoded_items(query).into_iter().chain(urlencoded_items(body)));
    assert_eq!(real, model, "query {query:?} body {body:?}");

    // A query string and a body are one list of pairs: the same as sending
    // all of them in one place.
    let mut joined = query.to_vec();
    joined.push(b'&');
    joined.extend_from_slice(body);
    let mut builder = ParamsBuilder::default();
    builder.add_urlencoded(&joined);
    assert_eq!(Outcome::of(builder.finish()), real, "joined {joined:?}");
});
