//! The `currency` field: an ISO 4217-shaped code, three upper-case ASCII letters.

use std::fmt;

/// A currency code such as `GBP`. Only the shape is checked, not the ISO list: a new code
/// must not need a release of this service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency([u8; 3]);

/// Why a currency was refused; the message is what clients read in `error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    #[error("Currency is blank")]
    Blank,
    #[error("Invalid currency code")]
    Invalid,
}

impl Currency {
    /// Parses the field's value; `None` is a missing or blank field.
    pub fn parse(text: Option<&str>) -> Result<Self, CurrencyError> {
        let text = text.map(str::trim).unwrap_or_default();
        if text.is_empty() {
            return Err(CurrencyError::Blank);
        }
        match <[u8; 3]>::try_from(text.as_bytes()) {
            Ok(code) if code.iter().all(u8::is_ascii_uppercase) => Ok(Currency(code)),
            _ => Err(CurrencyError::Invalid),
        }
    }

    /// The code, e.g. `GBP`.
    pub fn as_str(&self) -> &str {
        // Three ASCII letters, checked in parse.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_cases() {
        let cases: &[(Option<&str>, Result<&str, CurrencyError>)] = &[
            (Some("GBP"), Ok("GBP")),
            (Some("EUR"), Ok("EUR")),
            (Some(" USD "), Ok("USD")),
            (None, Err(CurrencyError::Blank)),
            (Some(""), Err(CurrencyError::Blank)),
            (Some(" "), Err(CurrencyError::Blank)),
            (Some("gbp"), Err(CurrencyError::Invalid)),
            (Some("Gbp"), Err(CurrencyError::Invalid)),
            (Some("GB"), Err(CurrencyError::Invalid)),
            (Some("GBPX"), Err(CurrencyError::Invalid)),
            (Some("G1P"), Err(CurrencyError::Invalid)),
            (Some("G P"), Err(CurrencyError::Invalid)),
            (Some("ÄBC"), Err(CurrencyError::Invalid)),
            (Some("£"), Err(CurrencyError::Invalid)),
        ];
        for (text, expected) in cases {
            let got = Currency::parse(*text);
            let got = got.as_ref().map(Currency::as_str).map_err(Clone::clone);
            assert_eq!(&got, expected, "{text:?}");
        }
    }
}
