//! One backend of a route, as written in `ROUTES`: `http://host:port`.

use hyper::Uri;
use hyper::header::HeaderValue;
use thiserror::Error;

/// A backend named by host and port. The host may resolve to several addresses (one per
/// replica behind a Docker network alias); the router spreads requests over all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Host name or IP literal, without IPv6 brackets: what is resolved.
    pub host: String,
    /// Port to connect to (80 when the URL gives none).
    pub port: u16,
    /// `host[:port]` as written in the URL: sent as the `Host` header.
    pub authority: String,
    /// `authority` as a header value, made once instead of for every request.
    pub host_header: HeaderValue,
}

/// Why an upstream URL was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum UpstreamError {
    /// Empty text where a URL was expected (e.g. `a||b`).
    #[error("empty upstream URL")]
    Empty,
    /// Not a URL at all.
    #[error("`{0}` is not a URL")]
    NotAUrl(String),
    /// A scheme other than `http`.
    #[error("`{0}`: only http:// upstreams are supported")]
    UnsupportedScheme(String),
    /// No host, or user info before the host.
    #[error("`{0}`: expected http://host[:port]")]
    BadAuthority(String),
    /// A port that is not a number from 1 to 65535.
    #[error("`{0}`: the port must be a number from 1 to 65535")]
    BadPort(String),
    /// A path (other than `/`), query or fragment after the authority.
    #[error("`{0}`: an upstream URL takes no path or query, only http://host[:port]")]
    HasPath(String),
}

impl Upstream {
    /// Parses `http://host[:port]` (a trailing `/` is allowed).
    pub fn parse(text: &str) -> Result<Self, UpstreamError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(UpstreamError::Empty);
        }
        let uri: Uri = text
            .parse()
            .map_err(|_| UpstreamError::NotAUrl(text.to_owned()))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(_) => return Err(UpstreamError::UnsupportedScheme(text.to_owned())),
            None => return Err(UpstreamError::NotAUrl(text.to_owned())),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| UpstreamError::BadAuthority(text.to_owned()))?;
        if authority.as_str().contains('@') || authority.host().is_empty() {
            return Err(UpstreamError::BadAuthority(text.to_owned()));
        }
        let path_is_empty = matches!(uri.path(), "" | "/");
        if !path_is_empty || uri.query().is_some() || text.contains('#') {
            return Err(UpstreamError::HasPath(text.to_owned()));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        // `Authority::port` quietly yields `None` for `:99999`; read the port ourselves.
        let port = match authority.as_str()[authority.host().len()..].strip_prefix(':') {
            None => 80,
            Some(digits) => match digits.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(UpstreamError::BadPort(text.to_owned())),
            },
        };
        let host_header = HeaderValue::from_str(authority.as_str())
            .map_err(|_| UpstreamError::BadAuthority(text.to_owned()))?;
        Ok(Upstream {
            host,
            port,
            authority: authority.as_str().to_owned(),
            host_header,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_good_urls() {
        let cases = [
            ("http://auth-api:5000", "auth-api", 5000, "auth-api:5000"),
            ("http://auth-api:5000/", "auth-api", 5000, "auth-api:5000"),
            ("  http://auth-api ", "auth-api", 80, "auth-api"),
            ("http://127.0.0.1:5001", "127.0.0.1", 5001, "127.0.0.1:5001"),
            ("http://[::1]:5002", "::1", 5002, "[::1]:5002"),
        ];
        for (text, host, port, authority) in cases {
            let want = Upstream {
                host: host.into(),
                port,
                authority: authority.into(),
                host_header: HeaderValue::from_static(authority),
            };
            assert_eq!(Upstream::parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn refuses_bad_urls() {
        let cases = [
            ("", UpstreamError::Empty),
            (
                "auth-api:5000",
                UpstreamError::NotAUrl("auth-api:5000".into()),
            ),
            ("not a url", UpstreamError::NotAUrl("not a url".into())),
            (
                "https://auth-api",
                UpstreamError::UnsupportedScheme("https://auth-api".into()),
            ),
            (
                "http://user@auth-api",
                UpstreamError::BadAuthority("http://user@auth-api".into()),
            ),
            (
                "http://auth-api/api",
                UpstreamError::HasPath("http://auth-api/api".into()),
            ),
            (
                "http://auth-api?x=1",
                UpstreamError::HasPath("http://auth-api?x=1".into()),
            ),
            (
                "http://auth-api:99999",
                UpstreamError::BadPort("http://auth-api:99999".into()),
            ),
            (
                "http://auth-api:0",
                UpstreamError::BadPort("http://auth-api:0".into()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Upstream::parse(text), Err(want), "{text:?}");
        }
    }
}
