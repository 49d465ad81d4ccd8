//! The one line the router logs for every proxied request.
//!
//! It is written by hand instead of through `tracing`'s fmt layer: with the layer, the
//! line cost about 13,000 instructions a request (field visitors, `core::fmt`, padding,
//! an ANSI style check) and one `write` system call to stdout. Here it is appended to a
//! buffer of the worker thread that served the request, in the same format as the fmt
//! layer's lines (`<UTC time>  INFO router::proxy: request method=...`), so the log reads
//! as before. The buffer goes to stdout:
//! - every [`FLUSH_EVERY`] (each worker runs [`flush_periodically`]), so on a quiet router
//!   a line appears at most that long after its request was answered;
//! - when it holds [`FLUSH_AT`] bytes, so a busy thread writes in large blocks;
//! - when the wall-clock second changes (the formatted date and time is kept per second);
//! - before any other log line of the same thread (see [`Stdout`]), so a thread's lines
//!   keep their order.

use crate::decimal_text::{push_decimal, push_padded, push_socket_addr};
use hyper::Method;
use std::cell::RefCell;
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A thread's buffer is written out once it holds this many bytes (about 80 lines).
const FLUSH_AT: usize = 16 * 1024;
/// ... and at least this often. (Flushing whenever the worker went idle, as a first
/// version did, meant a `write` for every 3 lines under load: it idles between bursts.)
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// What the line says about one request.
pub struct RequestLine<'a> {
    /// The request's method.
    pub method: &'a Method,
    /// The path as the client sent it.
    pub path: &'a str,
    /// The matched route's prefix, if any.
    pub route: Option<&'a str>,
    /// The upstream (`host:port` as configured) of the last attempt, if any.
    pub upstream: Option<&'a str>,
    /// The address the last attempt went to, if any.
    pub addr: Option<SocketAddr>,
    /// The status sent to the client.
    pub status: u16,
    /// Whole milliseconds from the request's arrival to its response head.
    pub ms: u64,
    /// The request id sent upstream and back.
    pub request_id: &'a str,
}

/// Lines not yet written, and the formatted date and time of the current second.
struct Buffer {
    bytes: Vec<u8>,
    /// The second `second_text` shows, in seconds since the Unix epoch.
    second: u64,
    /// `YYYY-MM-DDTHH:MM:SS` of `second`.
    second_text: [u8; 19],
}

thread_local! {
    static BUFFER: RefCell<Buffer> = const {
        RefCell::new(Buffer { bytes: Vec::new(), second: 0, second_text: [b'0'; 19] })
    };
}

/// Appends the line for `line` to this thread's buffer (written out as described in the
/// module documentation).
pub fn record(line: &RequestLine<'_>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    BUFFER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        let second = now.as_secs();
        if second != buffer.second {
            // Lines from an earlier second go out before the first line of this one.
            write_out(&mut buffer.bytes);
            buffer.second = second;
            buffer.second_text = date_time(second);
        }
        let Buffer {
            bytes, second_text, ..
        } = &mut *buffer;
        bytes.extend_from_slice(second_text);
        bytes.push(b'.');
        push_padded(bytes, now.subsec_micros(), 6);
        bytes.extend_from_slice(b"Z  INFO router::proxy: request method=");
        bytes.extend_from_slice(line.method.as_str().as_bytes());
        bytes.extend_from_slice(b" path=");
        bytes.extend_from_slice(line.path.as_bytes());
        bytes.extend_from_slice(b" route=");
        bytes.extend_from_slice(line.route.unwrap_or("-").as_bytes());
        bytes.extend_from_slice(b" upstream=");
        bytes.extend_from_slice(line.upstream.unwrap_or("-").as_bytes());
        bytes.extend_from_slice(b" addr=");
        match line.addr {
            Some(addr) => push_socket_addr(bytes, addr),
            None => bytes.push(b'-'),
        }
        bytes.extend_from_slice(b" status=");
        push_decimal(bytes, u64::from(line.status));
        bytes.extend_from_slice(b" ms=");
        push_decimal(bytes, line.ms);
        bytes.extend_from_slice(b" request_id=");
        bytes.extend_from_slice(line.request_id.as_bytes());
        bytes.push(b'\n');
        if bytes.len() >= FLUSH_AT {
            write_out(bytes);
        }
    });
}

/// Writes out the buffered lines of the thread it runs on every [`FLUSH_EVERY`]; for a
/// worker's single-threaded runtime, that is the worker's buffer. Runs until the runtime
/// is dropped.
pub async fn flush_periodically() {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        flush();
    }
}

/// Writes this thread's buffered lines to stdout.
pub fn flush() {
    // `try_with`: a thread that is being torn down has nothing left to write.
    let _ = BUFFER.try_with(|buffer| {
        if let Ok(mut buffer) = buffer.try_borrow_mut() {
            write_out(&mut buffer.bytes);
        }
    });
}

fn write_out(bytes: &mut Vec<u8>) {
    if bytes.is_empty() {
        return;
    }
    // A log that cannot be written (stdout closed) must not take requests down with it.
    let _ = std::io::stdout().lock().write_all(bytes);
    bytes.clear();
}

/// The writer of every other log line (`tracing`'s fmt layer): stdout, after this
/// thread's buffered request lines, so that lines of one thread keep their order.
pub struct Stdout;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Stdout {
    type Writer = std::io::Stdout;

    fn make_writer(&'a self) -> Self::Writer {
        flush();
        std::io::stdout()
    }
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) of `unix_seconds`.
fn date_time(unix_seconds: u64) -> [u8; 19] {
    let days = (unix_seconds / 86_400) as i64;
    let in_day = unix_seconds % 86_400;
    let (year, month, day) = civil_date(days);
    let mut text = [0u8; 19];
    let mut put = |at: usize, value: u64, width: usize| {
        let mut rest = value;
        for index in (at..at + width).rev() {
            text[index] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
    };
    put(0, year as u64, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, in_day / 3600, 2);
    put(14, in_day / 60 % 60, 2);
    put(17, in_day % 60, 2);
    text[4] = b'-';
    text[7] = b'-';
    text[10] = b'T';
    text[13] = b':';
    text[16] = b':';
    text
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01, by
/// counting in 400-year eras of 146,097 days, with years starting on 1 March so that the
/// leap day is the last day of a year.
fn civil_date(days_since_epoch: i64) -> (i64, u64, u64) {
    let days = days_since_epoch + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u64;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u64;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates_and_times_in_utc() {
        let cases = [
            (0, "1970-01-01T00:00:00"),
            (951_782_400, "2000-02-29T00:00:00"),
            (951_868_799, "2000-02-29T23:59:59"),
            (1_709_251_199, "2024-02-29T23:59:59"),
            (1_796_681_259, "2026-12-07T22:07:39"),
            (4_107_542_400, "2100-03-01T00:00:00"),
        ];
        for (seconds, want) in cases {
            let text = date_time(seconds);
            assert_eq!(std::str::from_utf8(&text).unwrap(), want, "{seconds}");
        }
    }

    #[test]
    fn a_line_reads_like_the_fmt_layers() {
        let method = Method::GET;
        record(&RequestLine {
            method: &method,
            path: "/up/x",
            route: Some("/up"),
            upstream: Some("auth-api:5000"),
            addr: Some("10.0.0.5:5000".parse().unwrap()),
            status: 200,
            ms: 3,
            request_id: "abc",
        });
        let line = BUFFER.with(|buffer| {
            let mut buffer = buffer.borrow_mut();
            let text = String::from_utf8(buffer.bytes.clone()).unwrap();
            buffer.bytes.clear();
            text
        });
        let (time, rest) = line.split_once('Z').unwrap();
        assert_eq!(time.len(), "2026-12-07T22:07:39.351533".len(), "{line}");
        assert_eq!(
            rest,
            "  INFO router::proxy: request method=GET path=/up/x route=/up \
             upstream=auth-api:5000 addr=10.0.0.5:5000 status=200 ms=3 request_id=abc\n"
        );
    }
}
