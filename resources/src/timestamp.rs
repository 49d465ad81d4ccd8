//! Instants as Docker writes them, RFC 3339 (`2026-12-02T10:04:05.123456789Z`): the time
//! of each log line, when a container started, when a swarm task last changed. Parsed
//! here rather than with a date crate: Docker writes one format, in UTC, and the
//! conversion from a calendar date is a few lines.

use std::time::{SystemTime, UNIX_EPOCH};

/// An instant, in nanoseconds since 1970-01-01T00:00:00Z; it orders in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(i64);

impl Time {
    /// Now, by this machine's clock.
    pub fn now() -> Time {
        Time::from(SystemTime::now())
    }

    /// `seconds` since the epoch.
    pub fn from_seconds(seconds: i64) -> Time {
        Time(seconds.saturating_mul(1_000_000_000))
    }

    /// Nanoseconds since the epoch.
    pub fn nanos(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch, rounded down (Docker's `since` takes seconds).
    pub fn seconds(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// This instant moved back by `by`.
    pub fn before(self, by: std::time::Duration) -> Time {
        Time(
            self.0
                .saturating_sub(i64::try_from(by.as_nanos()).unwrap_or(i64::MAX)),
        )
    }

    /// How long after `earlier` this is; zero when it is not after it.
    pub fn since(self, earlier: Time) -> std::time::Duration {
        std::time::Duration::from_nanos(u64::try_from(self.0 - earlier.0).unwrap_or(0))
    }

    /// Reads an RFC 3339 time: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of a second
    /// (up to nine digits), then `Z` or an offset `+HH:MM` / `-HH:MM`. `None` for anything
    /// else, and for Docker's zero time (`0001-01-01T00:00:00Z`: "never"), which is before
    /// the epoch.
    pub fn parse(text: &str) -> Option<Time> {
        let bytes = text.as_bytes();
        if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        if !matches!(bytes[10], b'T' | b't' | b' ') || bytes[13] != b':' || bytes[16] != b':' {
            return None;
        }
        let number = |range| number_in(text, range);
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
            return None;
        }
        // A leap second (`:60`) is allowed by RFC 3339; it counts as the next second.
        if second > 60 {
            return None;
        }
        let mut rest = &text[19..];
        let mut nanos = 0;
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            let padded = format!("{:0<9}", &fraction[..digits]);
            nanos = padded.parse::<i64>().ok()?;
            rest = &fraction[digits..];
        }
        let offset_seconds = match rest {
            "Z" | "z" => 0,
            offset if offset.len() == 6 && offset.as_bytes()[3] == b':' => {
                let sign = match offset.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let hours = number_in(offset, 1..3)?;
                let minutes = number_in(offset, 4..6)?;
                sign * (hours * 3600 + minutes * 60)
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
        (seconds >= 0).then(|| Time(seconds * 1_000_000_000 + nanos))
    }
}

impl From<SystemTime> for Time {
    fn from(time: SystemTime) -> Time {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => Time(i64::try_from(after.as_nanos()).unwrap_or(i64::MAX)),
            Err(before) => Time(-i64::try_from(before.duration().as_nanos()).unwrap_or(i64::MAX)),
        }
    }
}

/// The number written in `text[range]`, digits only.
fn number_in(text: &str, range: std::ops::Range<usize>) -> Option<i64> {
    let digits = text.get(range)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's method: years
/// counted from March, so the leap day ends the year, in 400-year eras).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_times_and_offsets() {
        let cases = [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2000-02-29T00:00:00Z", Some(951_782_400_000_000_000)),
            ("2000-03-01T00:00:00Z", Some(951_868_800_000_000_000)),
            ("2026-11-30T09:13:20Z", Some(1_796_030_000_000_000_000)),
            ("2026-11-30T09:13:20.5Z", Some(1_796_030_000_500_000_000)),
            (
                "2026-11-30T09:13:20.123456789Z",
                Some(1_796_030_000_123_456_789),
            ),
            ("2026-11-30T10:13:20+01:00", Some(1_796_030_000_000_000_000)),
            (
                "2026-11-30T08:43:20.000000001-00:30",
                Some(1_796_030_000_000_000_001),
            ),
            // Docker's "never".
            ("0001-01-01T00:00:00Z", None),
            ("2026-11-30T09:13:20", None),
            ("2026-11-30T09:13:20.Z", None),
            ("2026-11-30T09:13:20.1234567890Z", None),
            ("2026-13-30T09:13:20Z", None),
            ("2026-11-30X09:13:20Z", None),
            ("2026-11-30T09:13:20+0100", None),
            ("yesterday", None),
            ("", None),
        ];
        for (text, nanos) in cases {
            assert_eq!(Time::parse(text).map(Time::nanos), nanos, "{text}");
        }
    }

    #[test]
    fn seconds_round_down_and_durations_do_not_go_negative() {
        let time = Time::parse("2026-11-30T09:13:20.999Z").unwrap();
        assert_eq!(time.seconds(), 1_796_030_000);
        assert_eq!(
            Time::from_seconds(1_796_030_000).nanos(),
            1_796_030_000_000_000_000
        );
        let earlier = time.before(std::time::Duration::from_secs(90));
        assert_eq!(time.since(earlier), std::time::Duration::from_secs(90));
        assert_eq!(earlier.since(time), std::time::Duration::ZERO);
        assert!(earlier < time);
    }
}
