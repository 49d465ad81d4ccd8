//! One keep-alive HTTP/1.1 connection with blocking I/O: send `GET`, read the answer.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

/// Longest wait for any read or write: a run never hangs on a dead server.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the requests go: a loopback address and a path.
#[derive(Debug, Clone)]
pub struct Target {
    addr: SocketAddr,
    request: Vec<u8>,
}

impl Target {
    /// Parses `http://IP:PORT/PATH`; only loopback addresses are accepted (this tool is
    /// for benchmarks on this machine).
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("`{url}`: only http:// URLs"))?;
        let (authority, path) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, "/"),
        };
        let addr: SocketAddr = authority
            .parse()
            .map_err(|_| format!("`{url}`: expected http://IP:PORT/PATH"))?;
        let loopback = match addr.ip() {
            IpAddr::V4(ip) => ip.is_loopback(),
            IpAddr::V6(ip) => ip.is_loopback(),
        };
        if !loopback {
            return Err(format!("`{url}`: only loopback addresses are allowed"));
        }
        let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\n\r\n").into_bytes();
        Ok(Target { addr, request })
    }
}

/// An open connection to a [`Target`].
pub struct Connection {
    stream: TcpStream,
    request: Vec<u8>,
    buffer: Vec<u8>,
}

impl Connection {
    /// Connects to `target`.
    pub fn open(target: &Target) -> io::Result<Connection> {
        let stream = TcpStream::connect_timeout(&target.addr, IO_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(Connection {
            stream,
            request: target.request.clone(),
            buffer: Vec::with_capacity(4096),
        })
    }

    /// Sends the request and reads the whole answer, which must be a 2xx with a
    /// `Content-Length` (what both proxies send for the benchmark's upstream).
    pub fn exchange(&mut self) -> io::Result<()> {
        self.stream.write_all(&self.request)?;
        self.buffer.clear();
        let head_end = loop {
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            self.fill()?;
        };
        let head =
            std::str::from_utf8(&self.buffer[..head_end]).map_err(|_| bad("head is not text"))?;
        let status_ok = head
            .split(' ')
            .nth(1)
            .is_some_and(|status| status.starts_with('2'));
        let length: usize = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, value)| value.trim().parse().ok())
            .ok_or_else(|| bad("no Content-Length"))?;
        while self.buffer.len() < head_end + length {
            self.fill()?;
        }
        if !status_ok {
            return Err(bad("not a 2xx answer"));
        }
        Ok(())
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        let read = self.stream.read(&mut chunk)?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed by the server",
            ));
        }
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(())
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_loopback_http_urls() {
        let target = Target::parse("http://127.0.0.1:8080/up/").unwrap();
        assert_eq!(target.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            target.request,
            b"GET /up/ HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
        );
        assert!(Target::parse("http://[::1]:80").is_ok());
        for bad in [
            "https://127.0.0.1:1/",
            "http://example.com/",
            "http://192.168.1.1:80/",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
