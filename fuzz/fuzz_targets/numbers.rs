//! Number ranges and alias sequences (API.md 5.2): a range is accepted
//! exactly when the spec's rules hold, its numbers are `count` consecutive
//! values of one width from `start` to `end`; an alias sequence starts at
//! the alias and never outgrows its width; and `compress` lists exactly the
//! numbers it was given.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::domain::numbers::{AliasSequence, MAX_RANGE, NumberRange, compress};

fn digits(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// The numbers a compressed list names, spelt as given.
fn expand(list: &str, width: usize) -> Vec<String> {
    if list.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for part in list.split(", ") {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        assert!(first.len() == width && last.len() == width, "{part:?} in {list:?}");
        let (first, last): (u128, u128) = (first.parse().unwrap(), last.parse().unwrap());
        assert!(first <= last, "{part:?} in {list:?}");
        out.extend((first..=last).map(|n| format!("{n:0width$}")));
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // `start/end/alias/k/subset`; missing fields are absent.
    let mut fields = text.split('/');
    let start = fields.next().unwrap_or_default();
    let end = fields.next();
    let alias = fields.next().unwrap_or_default();
    let k: u64 = fields.next().and_then(|k| k.parse().ok()).unwrap_or(0);
    let subset: u64 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);

    let range = NumberRange::parse(start, end);
    let end_given = end.filter(|e| !e.is_empty());
    // Numbers of one width compare as their text does.
    let expected_ok = digits(start)
        && end_given.is_none_or(|e| {
            digits(e)
                && e.len() == start.len()
                && e >= start
                && e.parse::<u128>().unwrap() - start.parse::<u128>().unwrap() < u128::from(MAX_RANGE)
        });
    assert_eq!(range.is_ok(), expected_ok, "{start:?} {end:?}: {range:?}");
    let Ok(range) = range else {
        let key = range.unwrap_err().key;
        assert_eq!(key, if digits(start) { "end" } else { "start" });
        return;
    };

    let count = range.count();
    assert!((1..=MAX_RANGE).contains(&count));
    assert_eq!(range.width(), start.len());
    assert_eq!(range.first(), start);
    assert_eq!(range.last(), end_given.unwrap_or(start));
    assert_eq!(range.number(0), start);
    let k = k % count;
    let (kth, next) = (range.number(k), range.number((k + 1).min(count - 1)));
    assert_eq!(kth.len(), range.width());
    assert!(kth.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(kth.parse::<u128>().unwrap(), start.parse::<u128>().unwrap() + u128::from(k));
    assert!(k + 1 == count || (next > kth && next.len() == kth.len()));

    match AliasSequence::parse(alias, count) {
        Ok(None) => assert!(alias.is_empty()),
        Ok(Some(sequence)) => {
            assert!(digits(alias), "{alias:?}");
            assert_eq!(sequence.alias(0), alias);
            let last = sequence.alias(count - 1);
            assert_eq!(last.len(), alias.len(), "{alias:?} outgrew its width over {count}");
            let kth_alias = sequence.alias(k);
            assert_eq!(kth_alias.len(), alias.len());
            assert_eq!(kth_alias.parse::<u128>().unwrap(), alias.parse::<u128>().unwrap() + u128::from(k));
        }
        Err(_) => {
            let fits = digits(alias) && {
                let last = alias.parse::<u128>().unwrap() + u128::from(count - 1);
                last.to_string().len() <= alias.len()
            };
            assert!(!fits, "{alias:?} refused for {count}");
        }
    }

    // Up to 64 numbers of the range, chosen by the bits of `subset`.
    let chosen: Vec<String> = (0..count.min(64)).filter(|i| subset >> i & 1 == 1).map(|i| range.number(i)).collect();
    assert_eq!(expand(&compress(&chosen), range.width()), chosen);
});
