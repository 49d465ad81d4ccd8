//! `router healthcheck`: the Docker HEALTHCHECK command. The image is `FROM scratch`, so
//! there is no curl; this is a minimal HTTP/1.1 GET over a plain TCP stream.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;
use thiserror::Error;

/// Longest the whole check may take per step (connect, write, read).
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Why the router was found unhealthy.
#[derive(Debug, Error)]
pub enum HealthcheckError {
    /// Could not connect, send or read.
    #[error("http://{addr}/health: {source}")]
    Io {
        /// Address that was asked.
        addr: SocketAddr,
        /// What failed.
        source: std::io::Error,
    },
    /// An answer that is not `200`.
    #[error("http://{addr}/health answered `{status_line}`")]
    Unhealthy {
        /// Address that was asked.
        addr: SocketAddr,
        /// The status line received (or what came instead of one).
        status_line: String,
    },
}

/// Asks `GET /health` on 127.0.0.1:`port`; `Ok` only for a `200` answer.
pub fn check(port: u16) -> Result<(), HealthcheckError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let io = |source| HealthcheckError::Io { addr, source };
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(io)?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
    let request = format!(
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: router-healthcheck\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(io)?;

    // Only the status line matters; read until its end (it is short).
    let mut head = Vec::new();
    let mut buffer = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 1024 {
        let read = stream.read(&mut buffer).map_err(io)?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let status_line = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let mut fields = status_line.split(' ');
    let version_ok = fields.next().is_some_and(|v| v.starts_with("HTTP/1."));
    if version_ok && fields.next() == Some("200") {
        Ok(())
    } else {
        Err(HealthcheckError::Unhealthy { addr, status_line })
    }
}
