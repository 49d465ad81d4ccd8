//! Instants as Docker writes them, RFC 3339 (`2026-12-02T10:04:05.123456789Z`): the time
//! of each log line, when a container started, when a swarm task last changed. Read with
//! jiff; this type keeps to what the views need of it.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// An instant; it orders in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(Timestamp);

impl Time {
    /// Now, by this machine's clock.
    pub fn now() -> Time {
        Time(Timestamp::now())
    }

    /// `seconds` since the epoch (clamped to the range jiff can hold).
    pub fn from_seconds(seconds: i64) -> Time {
        let clamped = seconds.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
        Time(Timestamp::from_second(clamped).expect("a second within jiff's range"))
    }

    /// Nanoseconds since the epoch.
    pub fn nanos(self) -> i128 {
        self.0.as_nanosecond()
    }

    /// Whole seconds since the epoch, rounded down (Docker's `since` takes seconds).
    pub fn seconds(self) -> i64 {
        self.0.as_second()
    }

    /// This instant moved back by `by` (no further than jiff's earliest instant).
    pub fn before(self, by: Duration) -> Time {
        let by = SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
        Time(self.0.checked_sub(by).unwrap_or(Timestamp::MIN))
    }

    /// How long after `earlier` this is; zero when it is not after it.
    pub fn since(self, earlier: Time) -> Duration {
        Duration::try_from(self.0.duration_since(earlier.0)).unwrap_or(Duration::ZERO)
    }

    /// Reads an RFC 3339 time (`Z` or an offset); `None` for anything else, and for
    /// Docker's zero time (`0001-01-01T00:00:00Z`: "never"), which is before the epoch.
    pub fn parse(text: &str) -> Option<Time> {
        let time: Timestamp = text.parse().ok()?;
        (time >= Timestamp::UNIX_EPOCH).then_some(Time(time))
    }
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
