//! Number ranges as the contract defines them: digit strings of one width,
//! compared as values of that width (`0100`–`0199` is 100 numbers; `100` and
//! `0100` are different numbers), with an optional alias sequence beside them.

/// The most numbers one call may add or delete.
pub const MAX_RANGE: u64 = 1_000_000;

/// A validated range of numbers of one width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberRange {
    start: u128,
    count: u64,
    width: usize,
}

/// Why a range was refused, and which parameter is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeError {
    pub key: &'static str,
    pub message: &'static str,
}

fn digits(value: &str) -> Option<u128> {
    (!value.is_empty() && value.len() <= 32 && value.bytes().all(|b| b.is_ascii_digit()))
        .then(|| value.parse().ok())
        .flatten()
}

impl NumberRange {
    /// `start` (1 to 32 digits) and `end` (`None` or empty: one number; else
    /// the same width, not below `start`, at most [`MAX_RANGE`] numbers).
    pub fn parse(start: &str, end: Option<&str>) -> Result<Self, RangeError> {
        let first = digits(start).ok_or(RangeError { key: "start", message: "This must be 1 to 32 digits." })?;
        let width = start.len();
        let Some(end) = end.filter(|e| !e.is_empty()) else { return Ok(Self { start: first, count: 1, width }) };
        let last = digits(end).ok_or(RangeError { key: "end", message: "This must be empty or 1 to 32 digits." })?;
        if end.len() != width {
            return Err(RangeError { key: "end", message: "This must have as many digits as start." });
        }
        if last < first {
            return Err(RangeError { key: "end", message: "This must not be below start." });
        }
        let count = last - first + 1;
        if count > u128::from(MAX_RANGE) {
            return Err(RangeError { key: "end", message: "A range is limited to 1,000,000 numbers." });
        }
        Ok(Self { start: first, count: count as u64, width })
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// The `k`-th number of the range, zero-padded to the range's width.
    pub fn number(&self, k: u64) -> String {
        format!("{:0width$}", self.start + u128::from(k), width = self.width)
    }

    pub fn first(&self) -> String {
        self.number(0)
    }

    pub fn last(&self) -> String {
        self.number(self.count - 1)
    }
}

/// Aliases in sequence beside a range: number `start+k` gets `alias+k`,
/// zero-padded to the alias's width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AliasSequence {
    start: u128,
    width: usize,
}

impl AliasSequence {
    /// `""` means no aliases; otherwise 1 to 32 digits whose sequence must fit
    /// its width for `count` numbers.
    pub fn parse(alias: &str, count: u64) -> Result<Option<Self>, &'static str> {
        if alias.is_empty() {
            return Ok(None);
        }
        let start = digits(alias).ok_or("An alias must be empty or 1 to 32 digits.")?;
        let last = start + u128::from(count.saturating_sub(1));
        if last.to_string().len() > alias.len() {
            return Err("The alias sequence would outgrow the alias's number of digits.");
        }
        Ok(Some(Self { start, width: alias.len() }))
    }

    pub fn alias(&self, k: u64) -> String {
        format!("{:0width$}", self.start + u128::from(k), width = self.width)
    }
}

/// `a, a+1, ..., b, d` → `"a-b, d"`, for sorted numbers of one width.
pub fn compress(numbers: &[String]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut run: Option<(&str, &str, u128)> = None;
    for number in numbers {
        let value: u128 = number.parse().unwrap_or(0);
        run = match run {
            Some((first, _, prev)) if value == prev + 1 => Some((first, number, value)),
            Some((first, last, _)) => {
                parts.push(if first == last { first.to_string() } else { format!("{first}-{last}") });
                Some((number, number, value))
            }
            None => Some((number, number, value)),
        };
    }
    if let Some((first, last, _)) = run {
        parts.push(if first == last { first.to_string() } else { format!("{first}-{last}") });
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = NumberRange::parse("0100", Some("0199")).unwrap();
        assert_eq!((r.count(), r.first(), r.last()), (100, "0100".into(), "0199".into()));
        assert_eq!(NumberRange::parse("2125550000", None).unwrap().count(), 1);
        assert_eq!(NumberRange::parse("2125550000", Some("")).unwrap().count(), 1);
        let max = NumberRange::parse("000000", Some("999999")).unwrap();
        assert_eq!(max.count(), 1_000_000);
        assert_eq!(NumberRange::parse("0000000", Some("1000000")).unwrap_err().key, "end");
        assert_eq!(NumberRange::parse("100", Some("0199")).unwrap_err().key, "end");
        assert_eq!(NumberRange::parse("200", Some("199")).unwrap_err().key, "end");
        assert_eq!(NumberRange::parse("12a", None).unwrap_err().key, "start");
        assert_eq!(NumberRange::parse("", None).unwrap_err().key, "start");
        let long = "9".repeat(32);
        assert_eq!(NumberRange::parse(&long, Some(&long)).unwrap().first(), long);
        assert_eq!(NumberRange::parse(&"1".repeat(33), None).unwrap_err().key, "start");
    }

    #[test]
    fn aliases() {
        let a = AliasSequence::parse("0098", 3).unwrap().unwrap();
        assert_eq!([a.alias(0), a.alias(1), a.alias(2)], ["0098", "0099", "0100"]);
        assert!(AliasSequence::parse("98", 3).is_err());
        assert!(AliasSequence::parse("98", 2).is_ok());
        assert_eq!(AliasSequence::parse("", 10), Ok(None));
        assert!(AliasSequence::parse("x1", 1).is_err());
    }

    #[test]
    fn compresses_runs() {
        let numbers: Vec<String> = ["100", "101", "102", "105", "107", "108"].map(String::from).to_vec();
        assert_eq!(compress(&numbers), "100-102, 105, 107-108");
        assert_eq!(compress(&[]), "");
    }
}
