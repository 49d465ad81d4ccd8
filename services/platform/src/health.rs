//! The `healthcheck` command. A scratch image has no curl, so Docker's HEALTHCHECK runs
//! the service's own binary with this argument: it asks the service's `/health` on
//! localhost and exits 0 only on a 200.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

/// How long the check may take in all; Docker's own timeout is a little longer.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Whether `GET /health` on 127.0.0.1:`port` answers 200.
pub fn check(port: u16) -> Result<(), String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)
        .map_err(|error| format!("cannot connect to {address}: {error}"))?;
    stream.set_read_timeout(Some(TIMEOUT)).ok();
    stream.set_write_timeout(Some(TIMEOUT)).ok();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|error| format!("cannot send the request: {error}"))?;
    // The status line is all that matters; read just enough of it.
    let mut head = [0u8; 32];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(error) => return Err(format!("no answer: {error}")),
        }
    }
    let status_line = String::from_utf8_lossy(&head[..read]);
    match status_line.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        Some(status) => Err(format!("/health answered {status}")),
        None => Err("/health gave no status line".to_owned()),
    }
}

/// Runs the check for the service's `HTTP_PORT` and turns it into an exit code.
pub fn command(port: u16) -> ExitCode {
    match check(port) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            println!("unhealthy: {error}");
            ExitCode::FAILURE
        }
    }
}

/// True when the process was started as `<binary> healthcheck`.
pub fn requested() -> bool {
    std::env::args().nth(1).as_deref() == Some("healthcheck")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_once(answer: &'static [u8]) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 256];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(answer);
        });
        port
    }

    #[test]
    fn answers() {
        let cases: &[(&[u8], bool)] = &[
            (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", true),
            (b"HTTP/1.1 503 Service Unavailable\r\n\r\n", false),
            (b"", false),
        ];
        for (answer, healthy) in cases {
            let port = serve_once(answer);
            assert_eq!(
                check(port).is_ok(),
                *healthy,
                "{}",
                String::from_utf8_lossy(answer)
            );
        }
    }

    #[test]
    fn nothing_listening_is_unhealthy() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(check(port).unwrap_err().starts_with("cannot connect"));
    }
}
