//! `fixed-rate URL RATE SECONDS [CONNECTIONS]`: sends `GET URL` at a fixed rate for a
//! fixed time and prints the latency percentiles, for `bench/router-vs-nginx-latency`.
//!
//! The load is open-loop, like wrk2's: request *n* is due at `start + n / RATE` whether
//! or not earlier answers have come back, and its latency is counted from when it was
//! due, not from when it could be sent. A load generator that waits for each answer
//! before sending the next (wrk, ab) stops sending while the server stalls, so the stall
//! hides in a few slow samples ("coordinated omission"); here every request that had to
//! wait behind it is counted as late.
//!
//! The requests are spread over CONNECTIONS keep-alive connections (default 16), each
//! driven by its own thread with blocking sockets: request *n* goes on connection
//! `n % CONNECTIONS`. Only loopback addresses are accepted, and the run is bounded by
//! `RATE * SECONDS` requests and a 10 s limit on every read.
//!
//! Prints one line of `key=value` figures (microseconds): `requests errors seconds
//! rate p50_us p90_us p99_us p999_us max_us service_p50_us service_p99_us`, where
//! `service_*` is measured from the moment the request was actually written.

mod connection;
mod latencies;

use connection::{Connection, Target};
use latencies::Latencies;
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Most requests one run may send (a bound on a mistyped rate).
const MAX_REQUESTS: u64 = 10_000_000;
/// Longest run accepted, in seconds.
const MAX_SECONDS: u64 = 600;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args)
        .and_then(|(target, rate, seconds, connections)| run(&target, rate, seconds, connections))
    {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("fixed-rate: {message}");
            ExitCode::from(2)
        }
    }
}

fn parse_args(args: &[String]) -> Result<(Target, f64, u64, usize), String> {
    let usage = "usage: fixed-rate http://127.0.0.1:PORT/PATH RATE SECONDS [CONNECTIONS]";
    let (url, rate, seconds, connections) = match args {
        [url, rate, seconds] => (url, rate, seconds, "16"),
        [url, rate, seconds, connections] => (url, rate, seconds, connections.as_str()),
        _ => return Err(usage.to_owned()),
    };
    let target = Target::parse(url)?;
    let rate: f64 = rate
        .parse()
        .ok()
        .filter(|rate: &f64| *rate > 0.0 && rate.is_finite())
        .ok_or_else(|| format!("RATE `{rate}` is not a positive number of requests a second"))?;
    let seconds: u64 = seconds
        .parse()
        .ok()
        .filter(|s| (1..=MAX_SECONDS).contains(s))
        .ok_or_else(|| {
            format!("SECONDS `{seconds}` is not a whole number from 1 to {MAX_SECONDS}")
        })?;
    let connections: usize = connections
        .parse()
        .ok()
        .filter(|c| (1..=1024).contains(c))
        .ok_or_else(|| format!("CONNECTIONS `{connections}` is not a number from 1 to 1024"))?;
    if rate * seconds as f64 > MAX_REQUESTS as f64 {
        return Err(format!("RATE * SECONDS is over {MAX_REQUESTS} requests"));
    }
    Ok((target, rate, seconds, connections))
}

/// What one connection's thread measured.
struct Measured {
    /// Due-to-answer latencies, in microseconds.
    latencies: Vec<u32>,
    /// Written-to-answer latencies, in microseconds.
    service: Vec<u32>,
    errors: u64,
}

fn run(target: &Target, rate: f64, seconds: u64, connections: usize) -> Result<String, String> {
    let total = (rate * seconds as f64).round() as u64;
    // Every connection is opened (and answers once, unmeasured) before the clock starts.
    let mut opened = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut connection = Connection::open(target).map_err(|e| format!("connect: {e}"))?;
        connection
            .exchange()
            .map_err(|e| format!("first request: {e}"))?;
        opened.push(connection);
    }
    let ready = Arc::new(Barrier::new(connections + 1));
    let start_slot = Arc::new(std::sync::OnceLock::new());
    let threads: Vec<_> = opened
        .into_iter()
        .enumerate()
        .map(|(index, connection)| {
            let ready = Arc::clone(&ready);
            let start_slot = Arc::clone(&start_slot);
            let target = target.clone();
            std::thread::spawn(move || {
                precise_sleeps();
                ready.wait();
                let start: Instant = *start_slot.get().expect("set before the barrier");
                drive(
                    connection,
                    &target,
                    index as u64,
                    connections as u64,
                    total,
                    rate,
                    start,
                )
            })
        })
        .collect();
    start_slot
        .set(Instant::now() + Duration::from_millis(20))
        .expect("set once");
    ready.wait();
    let started = Instant::now();
    let mut latencies = Latencies::default();
    let mut service = Latencies::default();
    let mut errors = 0;
    for thread in threads {
        let measured = thread
            .join()
            .map_err(|_| "a load thread panicked".to_owned())?;
        latencies.extend(measured.latencies);
        service.extend(measured.service);
        errors += measured.errors;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let answered = latencies.len() as u64;
    Ok(format!(
        "requests={answered} errors={errors} seconds={elapsed:.2} rate={:.0} p50_us={} p90_us={} \
         p99_us={} p999_us={} max_us={} service_p50_us={} service_p99_us={}",
        answered as f64 / elapsed,
        latencies.percentile(0.50),
        latencies.percentile(0.90),
        latencies.percentile(0.99),
        latencies.percentile(0.999),
        latencies.percentile(1.0),
        service.percentile(0.50),
        service.percentile(0.99),
    ))
}

/// Sends requests `index`, `index + stride`, ... below `total`, each at its due time.
fn drive(
    mut connection: Connection,
    target: &Target,
    index: u64,
    stride: u64,
    total: u64,
    rate: f64,
    start: Instant,
) -> Measured {
    let mut measured = Measured {
        latencies: Vec::with_capacity((total / stride + 1) as usize),
        service: Vec::with_capacity((total / stride + 1) as usize),
        errors: 0,
    };
    let mut n = index;
    while n < total {
        let due = start + Duration::from_secs_f64(n as f64 / rate);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let written = Instant::now();
        match connection.exchange() {
            Ok(()) => {
                let done = Instant::now();
                measured.latencies.push(micros(done - due));
                measured.service.push(micros(done - written));
            }
            Err(_) => {
                measured.errors += 1;
                // A broken connection is replaced; if that fails too, this thread stops.
                match Connection::open(target) {
                    Ok(fresh) => connection = fresh,
                    Err(_) => break,
                }
            }
        }
        n += stride;
    }
    measured
}

fn micros(duration: Duration) -> u32 {
    u32::try_from(duration.as_micros()).unwrap_or(u32::MAX)
}

/// Asks the kernel to wake this thread's sleeps on time: the default 50 µs of timer slack
/// would add up to that much to every measured latency.
fn precise_sleeps() {
    // SAFETY: PR_SET_TIMERSLACK takes an integer and changes only this thread's slack.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_arguments() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for (list, want) in [
            (&["http://127.0.0.1:1/"][..], "usage"),
            (&["http://10.0.0.1:80/", "10", "1"], "loopback"),
            (&["http://127.0.0.1:1/", "0", "1"], "RATE"),
            (&["http://127.0.0.1:1/", "10", "0"], "SECONDS"),
            (&["http://127.0.0.1:1/", "10", "1", "0"], "CONNECTIONS"),
            (&["http://127.0.0.1:1/", "1e9", "100"], "over"),
        ] {
            let error = parse_args(&args(list)).unwrap_err();
            assert!(error.contains(want), "{list:?}: {error}");
        }
        assert!(parse_args(&args(&["http://127.0.0.1:8080/up/", "5000", "10"])).is_ok());
    }
}
