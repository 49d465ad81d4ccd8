//! The `amount` field: a positive whole number of minor units (2000 = £20.00).

use std::fmt;

/// The largest amount taken: 2^53 - 1, the largest integer every JSON reader (JavaScript's
/// included) holds exactly, so the amount echoed back and queued is never rounded.
pub const MAX_AMOUNT: u64 = (1 << 53) - 1;

/// A valid amount in minor units, 1..=MAX_AMOUNT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(u64);

/// Why an amount was refused; the message is what clients read in `error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Missing, empty or zero: the contract answers all three the same way.
    #[error("Amount is blank")]
    Blank,
    /// Not made of digits: `abc`, `10.5`, `1e3`, `+5`.
    #[error("Amount must be a whole number of minor units, e.g. 2000 for 20.00")]
    NotAnInteger,
    /// A minus sign.
    #[error("Amount must be positive")]
    Negative,
    /// More than MAX_AMOUNT.
    #[error("Amount is too large: at most 9007199254740991")]
    TooLarge,
}

impl Amount {
    /// Parses the field's value; `None` is a missing or blank field.
    pub fn parse(text: Option<&str>) -> Result<Self, AmountError> {
        let text = text.map(str::trim).unwrap_or_default();
        if text.is_empty() {
            return Err(AmountError::Blank);
        }
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(AmountError::NotAnInteger);
        }
        // Zero is "blank" whatever its spelling (`0`, `000`, `-0`), as the reference had it.
        if digits.bytes().all(|byte| byte == b'0') {
            return Err(AmountError::Blank);
        }
        if negative {
            return Err(AmountError::Negative);
        }
        match digits.parse::<u64>() {
            Ok(value) if value <= MAX_AMOUNT => Ok(Amount(value)),
            // Digits only, so the one way parse can fail here is overflow.
            _ => Err(AmountError::TooLarge),
        }
    }

    /// The amount in minor units.
    pub fn minor_units(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_cases() {
        let cases: &[(Option<&str>, Result<u64, AmountError>)] = &[
            (Some("2000"), Ok(2000)),
            (Some("1"), Ok(1)),
            (Some(" 42 "), Ok(42)),
            (Some("007"), Ok(7)),
            (Some("9007199254740991"), Ok(MAX_AMOUNT)),
            (None, Err(AmountError::Blank)),
            (Some(""), Err(AmountError::Blank)),
            (Some("   "), Err(AmountError::Blank)),
            (Some("0"), Err(AmountError::Blank)),
            (Some("000"), Err(AmountError::Blank)),
            (Some("-0"), Err(AmountError::Blank)),
            (Some("abc"), Err(AmountError::NotAnInteger)),
            (Some("10.5"), Err(AmountError::NotAnInteger)),
            (Some("10.0"), Err(AmountError::NotAnInteger)),
            (Some("1e3"), Err(AmountError::NotAnInteger)),
            (Some("+5"), Err(AmountError::NotAnInteger)),
            (Some("-"), Err(AmountError::NotAnInteger)),
            (Some("--5"), Err(AmountError::NotAnInteger)),
            (Some("1 000"), Err(AmountError::NotAnInteger)),
            (Some("٣"), Err(AmountError::NotAnInteger)),
            (Some("-5"), Err(AmountError::Negative)),
            (Some("-99999999999999999999999"), Err(AmountError::Negative)),
            (Some("9007199254740992"), Err(AmountError::TooLarge)),
            (Some("18446744073709551616"), Err(AmountError::TooLarge)),
            (
                Some("99999999999999999999999999999999999999999"),
                Err(AmountError::TooLarge),
            ),
        ];
        for (text, expected) in cases {
            let got = Amount::parse(*text).map(Amount::minor_units);
            assert_eq!(&got, expected, "{text:?}");
        }
    }
}
