//! Numbers and addresses written as ASCII digits straight into a byte buffer.
//!
//! `core::fmt` goes through a formatter with padding and alignment support: writing an
//! IPv4 address that way cost about 2,700 instructions, and the router writes one into
//! every request (`X-Forwarded-For`) and every log line. These write what `Display`
//! writes, for a small fraction of that.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};

/// Appends `value` in decimal. (`u64`, not `u128`: 128-bit division is a library call.)
pub fn push_decimal(bytes: &mut Vec<u8>, mut value: u64) {
    // Most numbers written here (address octets, statuses, milliseconds) are below 1000:
    // pushed digit by digit, without the buffer and the copy below.
    if value < 1000 {
        if value >= 100 {
            bytes.push(b'0' + (value / 100) as u8);
        }
        if value >= 10 {
            bytes.push(b'0' + (value / 10 % 10) as u8);
        }
        bytes.push(b'0' + (value % 10) as u8);
        return;
    }
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    bytes.extend_from_slice(&digits[start..]);
}

/// Appends `value` with leading zeros to `width` digits (at most 10; `value` must fit).
pub fn push_padded(bytes: &mut Vec<u8>, value: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let mut rest = value;
    for slot in digits[..width].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    bytes.extend_from_slice(&digits[..width]);
}

/// Appends `ip` as `Display` writes it.
pub fn push_ip(bytes: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (index, octet) in v4.octets().into_iter().enumerate() {
                if index > 0 {
                    bytes.push(b'.');
                }
                push_decimal(bytes, u64::from(octet));
            }
        }
        // Rare here (Docker networks are IPv4); the general form is not worth copying.
        IpAddr::V6(v6) => {
            let _ = write!(bytes, "{v6}");
        }
    }
}

/// Appends `addr` as `Display` writes it (`1.2.3.4:80`, `[::1]:80`).
pub fn push_socket_addr(bytes: &mut Vec<u8>, addr: SocketAddr) {
    match addr {
        SocketAddr::V4(v4) => {
            push_ip(bytes, IpAddr::V4(*v4.ip()));
            bytes.push(b':');
            push_decimal(bytes, u64::from(v4.port()));
        }
        SocketAddr::V6(_) => {
            let _ = write!(bytes, "{addr}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_display_writes() {
        let mut bytes = Vec::new();
        for value in [0u64, 7, 10, 99, 100, 105, 999, 1000, 65_535, u64::MAX] {
            bytes.clear();
            push_decimal(&mut bytes, value);
            assert_eq!(bytes, value.to_string().as_bytes());
        }
        for addr in [
            "127.0.0.1:28001",
            "0.0.0.0:1",
            "255.255.255.255:65535",
            "[::1]:80",
            "[fe80::1:2]:5000",
        ] {
            let addr: SocketAddr = addr.parse().unwrap();
            bytes.clear();
            push_socket_addr(&mut bytes, addr);
            assert_eq!(bytes, addr.to_string().as_bytes());
            bytes.clear();
            push_ip(&mut bytes, addr.ip());
            assert_eq!(bytes, addr.ip().to_string().as_bytes());
        }
        for (value, width, want) in [(42, 6, "000042"), (0, 2, "00"), (999_999, 6, "999999")] {
            bytes.clear();
            push_padded(&mut bytes, value, width);
            assert_eq!(bytes, want.as_bytes());
        }
    }
}
