//! Money as exact decimals: prices and ledger amounts are integers of
//! 1/10,000 of the currency unit, read from and written as decimal text
//! (`"1.5000"`). A float never holds an amount, so a sum of a million
//! charges is exact and the balance always equals the sum of the ledger.

use std::fmt;

/// Ten-thousandths in one unit.
const SCALE: i64 = 10_000;
/// Decimal places accepted and answered.
const PLACES: usize = 4;

/// An amount of money in ten-thousandths of the currency unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn from_units(ten_thousandths: i64) -> Self {
        Self(ten_thousandths)
    }

    /// The amount in ten-thousandths, as stored.
    pub fn units(self) -> i64 {
        self.0
    }

    /// Parses `-?digits(.digits{1,4})?` with at most `max` whole units either
    /// way: no sign `+`, no exponent, no separators, no empty parts.
    pub fn parse(text: &str, max: i64) -> Result<Self, &'static str> {
        const REFUSAL: &str = "This must be a decimal amount with at most 4 decimal places, such as 1.5.";
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !is_digits(whole)
            || !is_digits(fraction)
            || (digits.contains('.') && fraction.is_empty())
        {
            return Err(REFUSAL);
        }
        if fraction.len() > PLACES {
            return Err("This has more than 4 decimal places.");
        }
        let whole: i64 = match whole.trim_start_matches('0') {
            "" => 0,
            w if w.len() > 15 => return Err("This amount is too large."),
            w => w.parse().map_err(|_| REFUSAL)?,
        };
        if whole > max || (whole == max && fraction.bytes().any(|b| b != b'0')) {
            return Err("This amount is too large.");
        }
        let fraction: i64 = format!("{fraction:0<4}").parse().map_err(|_| REFUSAL)?;
        let units = whole * SCALE + fraction;
        Ok(Self(if negative { -units } else { units }))
    }

    /// `self` times `count`, or `None` on overflow.
    pub fn times(self, count: i64) -> Option<Self> {
        self.0.checked_mul(count).map(Self)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl std::ops::Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:04}", abs / SCALE as u64, abs % SCALE as u64)
    }
}

/// Answered as decimal text, never as a JSON number.
impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        for (text, units) in [
            ("0", 0),
            ("1", 10_000),
            ("1.5", 15_000),
            ("0.0001", 1),
            ("-2.25", -22_500),
            ("007.1000", 71_000),
            ("-0", 0),
            ("1000000", 10_000_000_000),
        ] {
            assert_eq!(Money::parse(text, 1_000_000).map(Money::units), Ok(units), "{text}");
        }
        for bad in ["", "-", ".5", "1.", "1.23456", "1e3", "+1", "1,5", " 1", "1 ", "0x10", "1.-5", "--1", "١"] {
            assert!(Money::parse(bad, 1_000_000).is_err(), "{bad}");
        }
        assert!(Money::parse("1000000.0001", 1_000_000).is_err());
        assert!(Money::parse("99999999999999999999", 1_000_000).is_err());
    }

    #[test]
    fn writes_four_places() {
        assert_eq!(Money::from_units(15_000).to_string(), "1.5000");
        assert_eq!(Money::from_units(-5_000).to_string(), "-0.5000");
        assert_eq!(Money::from_units(-1).to_string(), "-0.0001");
        assert_eq!(Money::ZERO.to_string(), "0.0000");
        assert_eq!(Money::from_units(i64::MIN).to_string(), "-922337203685477.5808");
        assert_eq!(serde_json::to_string(&Money::from_units(12_345)).unwrap(), "\"1.2345\"");
    }

    #[test]
    fn round_trips() {
        for units in [0, 1, -1, 9_999, 10_000, -123_456_789, 10_000_000_000] {
            let money = Money::from_units(units);
            assert_eq!(Money::parse(&money.to_string(), 1_000_000), Ok(money));
        }
    }
}
