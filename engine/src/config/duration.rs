//! Durations as env.toml and plans write them: `500ms`, `1s`, `2m`, `1h`.

/// `500ms`, `1s`, `2m`, `1h` → milliseconds.
pub fn parse(text: &str) -> Option<u64> {
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    number.checked_mul(scale)
}

/// Milliseconds as [`parse`] reads them, in the largest unit that says them exactly.
pub fn format(millis: u64) -> String {
    match millis {
        0 => "0s".to_owned(),
        _ if millis.is_multiple_of(3_600_000) => format!("{}h", millis / 3_600_000),
        _ if millis.is_multiple_of(60_000) => format!("{}m", millis / 60_000),
        _ if millis.is_multiple_of(1_000) => format!("{}s", millis / 1_000),
        _ => format!("{millis}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let table = [
            ("500ms", Some(500)),
            ("1s", Some(1_000)),
            ("2m", Some(120_000)),
            ("1h", Some(3_600_000)),
            ("0s", Some(0)),
            ("1", None),
            ("s", None),
            ("1 s", None),
            ("1.5s", None),
            ("-1s", None),
            ("1d", None),
        ];
        for (text, expected) in table {
            assert_eq!(parse(text), expected, "{text:?}");
        }
    }

    #[test]
    fn formats_what_it_parses_back() {
        let table = [
            (0, "0s"),
            (500, "500ms"),
            (1_000, "1s"),
            (1_500, "1500ms"),
            (30_000, "30s"),
            (120_000, "2m"),
            (90_000, "90s"),
            (3_600_000, "1h"),
        ];
        for (millis, text) in table {
            assert_eq!(format(millis), text);
            assert_eq!(parse(text), Some(millis));
        }
    }
}
