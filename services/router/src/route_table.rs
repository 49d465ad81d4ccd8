//! The route table: which path prefix goes to which upstreams, parsed from `ROUTES`.
//!
//! `ROUTES` is a comma-separated list of `prefix=upstream`, where `upstream` may list
//! several URLs separated by `|`:
//! `/authentication=http://auth-api:5000,/loyalty=http://a:5000|http://b:5000`.

use crate::request_path::RequestPath;
use crate::upstream::{Upstream, UpstreamError};
use thiserror::Error;

/// Path the router answers itself; no route may claim it.
pub const HEALTH_PATH: &str = "/health";

/// One route: a path prefix and the upstreams that serve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The prefix as configured, normalised (`/authentication`; `/` for a catch-all).
    pub prefix: String,
    /// The prefix split into segments, for whole-segment matching.
    segments: Vec<String>,
    /// The backends; requests are spread over them and over their addresses.
    pub upstreams: Vec<Upstream>,
}

/// All routes, longest prefix first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<Route>,
}

/// A request path matched to a route.
#[derive(Debug, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    /// Index of the route in [`RouteTable::routes`].
    pub index: usize,
    /// The matched route.
    pub route: &'a Route,
    /// The path the upstream must see: the request path with the prefix stripped.
    pub upstream_path: String,
}

/// Why `ROUTES` was refused. The message names the entry at fault.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RoutesError {
    /// Nothing but blanks, commas and newlines.
    #[error("no routes given; expected /prefix=http://host:port[,...]")]
    Empty,
    /// An entry without `=`.
    #[error("entry `{0}` has no `=`; expected /prefix=http://host:port")]
    MissingEquals(String),
    /// A prefix that does not start with `/`.
    #[error("prefix `{0}` must start with /")]
    PrefixNotAbsolute(String),
    /// A prefix with characters or segments that a request path could never match plainly.
    #[error(
        "prefix `{0}` may not contain empty, `.` or `..` segments, `%`, `?`, `#`, `\\` or blanks"
    )]
    BadPrefix(String),
    /// The router's own health path.
    #[error("prefix `{0}` is taken: the router answers {HEALTH_PATH} itself")]
    ReservedPrefix(String),
    /// The same prefix twice.
    #[error("prefix `{0}` is given twice")]
    DuplicatePrefix(String),
    /// A bad upstream URL.
    #[error("route `{prefix}`: {source}")]
    BadUpstream {
        /// The prefix of the entry at fault.
        prefix: String,
        /// What is wrong with the URL.
        source: UpstreamError,
    },
}

impl RouteTable {
    /// Parses the value of `ROUTES`: entries separated by commas or newlines (yoyoform
    /// writes one a line, so that a plan diffs routes line by line).
    pub fn parse(text: &str) -> Result<Self, RoutesError> {
        let mut routes: Vec<Route> = Vec::new();
        let entries = text.split([',', '\n']).map(str::trim);
        for entry in entries.filter(|e| !e.is_empty()) {
            let (prefix, upstreams) = entry
                .split_once('=')
                .ok_or_else(|| RoutesError::MissingEquals(entry.to_owned()))?;
            let (prefix, segments) = parse_prefix(prefix.trim())?;
            if routes.iter().any(|r| r.prefix == prefix) {
                return Err(RoutesError::DuplicatePrefix(prefix));
            }
            let upstreams = upstreams
                .split('|')
                .map(Upstream::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| RoutesError::BadUpstream {
                    prefix: prefix.clone(),
                    source,
                })?;
            routes.push(Route {
                prefix,
                segments,
                upstreams,
            });
        }
        if routes.is_empty() {
            return Err(RoutesError::Empty);
        }
        // Longest prefix first, so the first match is the most specific one.
        routes.sort_by_key(|route| std::cmp::Reverse(route.segments.len()));
        Ok(RouteTable { routes })
    }

    /// The routes, longest prefix first.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route for `path` (longest whole-segment prefix), with the path stripped of it.
    pub fn find(&self, path: &RequestPath<'_>) -> Option<RouteMatch<'_>> {
        self.routes.iter().enumerate().find_map(|(index, route)| {
            path.strip_prefix(&route.segments)
                .map(|upstream_path| RouteMatch {
                    index,
                    route,
                    upstream_path,
                })
        })
    }
}

/// Checks a prefix and splits it into segments; a trailing `/` is dropped (`/a/` is `/a`).
fn parse_prefix(prefix: &str) -> Result<(String, Vec<String>), RoutesError> {
    if !prefix.starts_with('/') {
        return Err(RoutesError::PrefixNotAbsolute(prefix.to_owned()));
    }
    let bad_char = |c: char| matches!(c, '%' | '?' | '#' | '\\') || !c.is_ascii_graphic();
    let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
    let segments: Vec<String> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed[1..].split('/').map(str::to_owned).collect()
    };
    let bad_segment = |s: &String| s.is_empty() || s == "." || s == ".." || s.contains(bad_char);
    if segments.iter().any(bad_segment) {
        return Err(RoutesError::BadPrefix(prefix.to_owned()));
    }
    let normalised = format!("/{}", segments.join("/"));
    if normalised == HEALTH_PATH {
        return Err(RoutesError::ReservedPrefix(normalised));
    }
    Ok((normalised, segments))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(host: &str, port: u16) -> Upstream {
        let authority = format!("{host}:{port}");
        Upstream {
            host: host.into(),
            port,
            host_header: authority.parse().unwrap(),
            authority,
        }
    }

    #[test]
    fn parses_good_tables() {
        let table = RouteTable::parse(
            "/authentication=http://auth-api:5000, /transactions=http://transaction-api:5000,\
             /loyalty=http://127.0.0.1:5001|http://127.0.0.1:5002,",
        )
        .unwrap();
        let got: Vec<(&str, Vec<Upstream>)> = table
            .routes()
            .iter()
            .map(|r| (r.prefix.as_str(), r.upstreams.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/authentication", vec![upstream("auth-api", 5000)]),
                ("/transactions", vec![upstream("transaction-api", 5000)]),
                (
                    "/loyalty",
                    vec![upstream("127.0.0.1", 5001), upstream("127.0.0.1", 5002)]
                ),
            ]
        );

        let cases = [
            ("/=http://a:1", "/"),
            ("/a/=http://a:1", "/a"),
            ("/a/b=http://a:1", "/a/b"),
            ("  /a = http://a:1  ", "/a"),
            ("/healthy=http://a:1", "/healthy"),
        ];
        for (text, prefix) in cases {
            let table = RouteTable::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(table.routes()[0].prefix, prefix, "{text}");
        }
    }

    #[test]
    fn entries_may_be_one_a_line() {
        let by_line = RouteTable::parse(
            "/authentication=http://auth-api:5000\n/transactions=http://transaction-api:5000\n",
        )
        .unwrap();
        let by_comma = RouteTable::parse(
            "/authentication=http://auth-api:5000,/transactions=http://transaction-api:5000",
        )
        .unwrap();
        assert_eq!(by_line.routes(), by_comma.routes());
        assert_eq!(by_line.routes().len(), 2);
    }

    #[test]
    fn refuses_bad_tables() {
        let cases = [
            ("", RoutesError::Empty),
            (" , ,", RoutesError::Empty),
            ("/a", RoutesError::MissingEquals("/a".into())),
            ("a=http://a:1", RoutesError::PrefixNotAbsolute("a".into())),
            ("=http://a:1", RoutesError::PrefixNotAbsolute("".into())),
            ("/a//b=http://a:1", RoutesError::BadPrefix("/a//b".into())),
            (
                "/a/../b=http://a:1",
                RoutesError::BadPrefix("/a/../b".into()),
            ),
            ("/./b=http://a:1", RoutesError::BadPrefix("/./b".into())),
            ("/a%2fb=http://a:1", RoutesError::BadPrefix("/a%2fb".into())),
            ("/a?x=http://a:1", RoutesError::BadPrefix("/a?x".into())),
            ("/a b=http://a:1", RoutesError::BadPrefix("/a b".into())),
            (
                "/health=http://a:1",
                RoutesError::ReservedPrefix("/health".into()),
            ),
            (
                "/a=http://a:1,/a/=http://b:1",
                RoutesError::DuplicatePrefix("/a".into()),
            ),
            (
                "/a=",
                RoutesError::BadUpstream {
                    prefix: "/a".into(),
                    source: UpstreamError::Empty,
                },
            ),
            (
                "/a=http://a:1||http://b:1",
                RoutesError::BadUpstream {
                    prefix: "/a".into(),
                    source: UpstreamError::Empty,
                },
            ),
            (
                "/a=ftp://a",
                RoutesError::BadUpstream {
                    prefix: "/a".into(),
                    source: UpstreamError::UnsupportedScheme("ftp://a".into()),
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(RouteTable::parse(text), Err(want), "{text:?}");
        }
    }

    #[test]
    fn finds_longest_whole_segment_prefix() {
        let table = RouteTable::parse(
            "/authentication=http://auth:1,/transactions=http://tx:1,\
             /transactions/admin=http://admin:1,/=http://fallback:1",
        )
        .unwrap();
        let cases = [
            ("/authentication", Some(("/authentication", "/"))),
            ("/authentication/token", Some(("/authentication", "/token"))),
            ("/authentication/a%20b", Some(("/authentication", "/a%20b"))),
            ("/authenticationX", Some(("/", "/authenticationX"))),
            (
                "/transactions/transactions",
                Some(("/transactions", "/transactions")),
            ),
            ("/transactions/admin", Some(("/transactions/admin", "/"))),
            ("/transactions/admin/x", Some(("/transactions/admin", "/x"))),
            (
                "/transactions/administrator",
                Some(("/transactions", "/administrator")),
            ),
            (
                "/transactions//admin/./x",
                Some(("/transactions/admin", "/x")),
            ),
            ("/other", Some(("/", "/other"))),
            ("/", Some(("/", "/"))),
        ];
        for (raw, want) in cases {
            let path = RequestPath::parse(raw).unwrap();
            let got = table
                .find(&path)
                .map(|m| (m.route.prefix.as_str(), m.upstream_path));
            let want = want.map(|(p, u)| (p, u.to_owned()));
            assert_eq!(got, want, "{raw}");
        }
    }

    #[test]
    fn finds_nothing_without_a_matching_route() {
        let table = RouteTable::parse("/authentication=http://auth:1,/loyalty=http://l:1").unwrap();
        for raw in ["/", "/x", "/authenticationX", "/auth", "/loyaltyx/balance"] {
            let path = RequestPath::parse(raw).unwrap();
            assert_eq!(table.find(&path), None, "{raw}");
        }
    }

    #[test]
    fn traversal_never_reaches_another_route() {
        // A path that would resolve into another route is refused before any matching.
        for raw in [
            "/authentication/../transactions/x",
            "/authentication/%2e%2e/transactions/x",
            "/authentication/%2E%2e/transactions",
            "/authentication%2f..%2ftransactions",
            "/authentication/%252e%252e/transactions",
        ] {
            assert!(RequestPath::parse(raw).is_err(), "{raw} must be refused");
        }
    }
}
