//! Typed reads of a call's parameters that collect every problem instead of
//! stopping at the first, then report them in the order of the call's table.

use crate::{
    calls::CallSpec,
    http::{error::ApiError, error::FieldError, params::Params},
    store::ListWindow,
};

/// Parameters any call accepts without declaring them.
const CREDENTIAL_KEYS: [&str; 2] = ["auth_username", "auth_password"];

pub const MSG_REQUIRED: &str = "This parameter is required.";

pub struct Input<'a> {
    params: &'a Params,
    spec: &'static CallSpec,
    strict: bool,
    errors: Vec<FieldError>,
}

impl<'a> Input<'a> {
    pub fn new(params: &'a Params, spec: &'static CallSpec, strict: bool) -> Self {
        Self { params, spec, strict, errors: Vec::new() }
    }

    /// Records a problem with `key`; only the first problem of a key is kept.
    pub fn error(&mut self, key: &str, message: &str) {
        if self.is_ok(key) {
            self.errors.push(FieldError::new(key, message));
        }
    }

    /// Whether no problem has been recorded for `key` so far.
    pub fn is_ok(&self, key: &str) -> bool {
        !self.errors.iter().any(|e| e.key == key)
    }

    /// The text given for `key`, possibly empty; `None` when absent.
    pub fn text(&mut self, key: &str) -> Option<&'a str> {
        self.params.get(key)
    }

    /// The non-empty text given for `key`, or a "required" error.
    pub fn required_text(&mut self, key: &str) -> Option<&'a str> {
        match self.params.get(key) {
            Some(value) if !value.is_empty() => Some(value),
            _ => {
                self.error(key, MSG_REQUIRED);
                None
            }
        }
    }

    /// An integer: `None` when absent (or invalid, with the error recorded);
    /// `default` when given empty.
    pub fn int(&mut self, key: &str, default: i64) -> Option<i64> {
        let value = self.params.get(key)?;
        if value.is_empty() {
            return Some(default);
        }
        let parsed = parse_integer(value);
        if parsed.is_none() {
            self.error(key, "This parameter must be a whole number.");
        }
        parsed
    }

    /// An integer filter: `None` when absent or empty (no filter).
    pub fn filter_int(&mut self, key: &str) -> Option<i64> {
        self.int(key, 0).filter(|_| self.params.get(key) != Some(""))
    }

    /// An integer that must be given and not empty.
    pub fn required_int(&mut self, key: &str) -> Option<i64> {
        match self.params.get(key) {
            Some(value) if !value.is_empty() => self.int(key, 0),
            _ => {
                self.error(key, MSG_REQUIRED);
                None
            }
        }
    }

    /// A `0`/`1` flag: `None` when absent (or invalid); `default` when given empty.
    pub fn flag(&mut self, key: &str, default: bool) -> Option<bool> {
        match self.params.get(key)? {
            "" => Some(default),
            "0" => Some(false),
            "1" => Some(true),
            _ => {
                self.error(key, "This parameter must be 0 or 1.");
                None
            }
        }
    }

    /// `limit`, `offset`, `descending` and `count`, as every list call takes them.
    pub fn list_window(&mut self) -> (ListWindow, bool) {
        let non_negative = |input: &mut Self, key: &str| match input.int(key, 0) {
            Some(n) if n < 0 => {
                input.error(key, "This parameter must not be negative.");
                0
            }
            n => n.unwrap_or(0),
        };
        let limit = non_negative(self, "limit");
        let offset = non_negative(self, "offset");
        let descending = self.flag("descending", false).unwrap_or(false);
        let count = self.flag("count", false).unwrap_or(false);
        (ListWindow { limit, offset, descending }, count)
    }

    /// Ends validation: `Ok` when every parameter passed, else one 400 entry per
    /// bad parameter in the order of the call's table (then unknown keys, under
    /// `strict_params`, in the order given).
    pub fn finish(mut self) -> Result<(), ApiError> {
        if self.strict {
            let unknown: Vec<&str> = self
                .params
                .keys()
                .filter(|key| !CREDENTIAL_KEYS.contains(key) && !self.spec.all_params().any(|p| p.name == *key))
                .collect();
            for key in unknown {
                self.error(key, "This parameter is not known to this function.");
            }
        }
        if self.errors.is_empty() {
            return Ok(());
        }
        let position = |key: &str| self.spec.all_params().position(|p| p.name == key).unwrap_or(usize::MAX);
        self.errors.sort_by_key(|e| position(&e.key));
        Err(ApiError::Invalid(self.errors))
    }
}

/// Optional `-`, then ASCII digits, fitting in 64 bits.
pub fn parse_integer(value: &str) -> Option<i64> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_integer("42"), Some(42));
        assert_eq!(parse_integer("-1"), Some(-1));
        assert_eq!(parse_integer("007"), Some(7));
        for bad in ["+1", "", "-", "1.0", " 1", "1e2", "9223372036854775808", "０"] {
            assert_eq!(parse_integer(bad), None, "{bad}");
        }
        assert_eq!(parse_integer("-9223372036854775808"), Some(i64::MIN));
    }
}
