//! Headers on the way through: hop-by-hop ones dropped, `X-Forwarded-*` and
//! `X-Request-Id` set.

use crate::decimal_text::push_ip;
use hyper::HeaderMap;
use hyper::header::{
    CONNECTION, EXPECT, HOST, HeaderName, HeaderValue, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE,
    TRAILER, TRANSFER_ENCODING, UPGRADE,
};
use std::net::IpAddr;

/// Header carrying the id that ties the router's and the services' log lines together.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Longest incoming request id that is passed on; a longer one is replaced.
const MAX_REQUEST_ID_LEN: usize = 200;

/// The incoming `X-Request-Id` if it is a sane token (printable ASCII without blanks, at
/// most 200 characters, so it cannot forge log lines), else a new UUID v4.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(X_REQUEST_ID)
        .filter(|value| {
            let bytes = value.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= MAX_REQUEST_ID_LEN
                && bytes.iter().all(u8::is_ascii_graphic)
        })
        .cloned()
        .unwrap_or_else(|| {
            let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
            let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
            HeaderValue::from_str(text).expect("a UUID is a valid header value")
        })
}

/// Removes the headers that concern one connection only (RFC 9110 section 7.6.1): those
/// named in `Connection`, and the well-known hop-by-hop ones.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    // One pass over the names finds what to remove; most responses carry nothing but
    // `Connection: keep-alive`, and a `remove` costs a hash and a probe.
    let mut doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_hop_by_hop(name))
        .cloned()
        .collect();
    if doomed.is_empty() {
        return;
    }
    doomed.extend(connection_listed(headers));
    for name in doomed {
        headers.remove(name);
    }
}

/// The header fields to send upstream for a request that arrived with `incoming` from
/// `client_ip` and matched a route whose prefix is `forwarded_prefix` (`None` for the
/// catch-all route, which strips nothing); `host` is the upstream's own `Host`. Each
/// field is handed to `put` as (name, value), in the order they go on the wire.
///
/// One pass over `incoming`: what is not passed on is skipped, not copied and then
/// removed, and nothing is collected into a map (the caller writes the fields out as they
/// come). The incoming map stays as it is, for another attempt.
pub fn upstream_request_fields(
    incoming: &HeaderMap,
    client_ip: IpAddr,
    forwarded_prefix: Option<&HeaderValue>,
    request_id: &HeaderValue,
    host: &HeaderValue,
    put: &mut dyn FnMut(&[u8], &[u8]),
) {
    let listed = if incoming.contains_key(CONNECTION) {
        connection_listed(incoming)
    } else {
        Vec::new()
    };
    put(HOST.as_str().as_bytes(), host.as_bytes());
    let mut original_host = None;
    let mut forwarded_for: Vec<u8> = Vec::with_capacity(48);
    for (name, value) in incoming {
        if is_hop_by_hop(name) || listed.contains(name) {
            continue;
        }
        if *name == HOST {
            original_host.get_or_insert(value);
        } else if *name == X_FORWARDED_FOR {
            // Earlier hops' addresses, in order; a value that is not visible ASCII or
            // blank is dropped.
            if let Ok(text) = value.to_str()
                && !text.trim().is_empty()
            {
                forwarded_for.extend_from_slice(text.trim().as_bytes());
                forwarded_for.extend_from_slice(b", ");
            }
        } else if !is_set_by_router(name) {
            put(name.as_str().as_bytes(), value.as_bytes());
        }
    }
    push_ip(&mut forwarded_for, client_ip);
    put(X_FORWARDED_FOR.as_str().as_bytes(), &forwarded_for);
    put(X_FORWARDED_PROTO.as_str().as_bytes(), b"http");
    if let Some(prefix) = forwarded_prefix {
        put(X_FORWARDED_PREFIX.as_str().as_bytes(), prefix.as_bytes());
    }
    if let Some(original_host) = original_host {
        put(
            X_FORWARDED_HOST.as_str().as_bytes(),
            original_host.as_bytes(),
        );
    }
    put(X_REQUEST_ID.as_str().as_bytes(), request_id.as_bytes());
}

/// The `X-Forwarded-Prefix` value for a route prefix: `None` for the catch-all `/`.
pub fn forwarded_prefix(prefix: &str) -> Option<HeaderValue> {
    (prefix != "/")
        .then(|| HeaderValue::from_str(prefix).ok())
        .flatten()
}

/// Hop-by-hop headers that every proxy drops, whether or not `Connection` names them.
/// (A `static`: an array built in the function would be built and dropped per call.)
static HOP_BY_HOP: [HeaderName; 9] = [
    CONNECTION,
    KEEP_ALIVE,
    PROXY_CONNECTION,
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
];

/// Headers of the client's request that the router replaces with its own (or drops:
/// it answers `Expect: 100-continue` to the client itself).
static SET_BY_ROUTER: [HeaderName; 5] = [
    EXPECT,
    X_FORWARDED_PROTO,
    X_FORWARDED_PREFIX,
    X_FORWARDED_HOST,
    X_REQUEST_ID,
];

fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(name)
}

fn is_set_by_router(name: &HeaderName) -> bool {
    SET_BY_ROUTER.contains(name)
}

/// The header names listed in `Connection`, other than the hop-by-hop ones dropped anyway
/// and the `close` option. The usual `keep-alive` and `close` are recognised as text,
/// before a `HeaderName` (an allocation for a name `http` does not know) is made.
fn connection_listed(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|token| {
            !token.is_empty()
                && !HOP_BY_HOP
                    .iter()
                    .chain([&HeaderName::from_static("close")])
                    .any(|known| token.eq_ignore_ascii_case(known.as_str()))
        })
        .filter_map(|token| HeaderName::from_bytes(token.as_bytes()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn keeps_sane_request_ids_and_replaces_others() {
        let keep = headers(&[("x-request-id", "abc-123")]);
        assert_eq!(request_id(&keep), "abc-123");
        for bad in ["", "two words", &"x".repeat(201)] {
            let id = request_id(&headers(&[("x-request-id", bad)]));
            assert!(
                uuid::Uuid::parse_str(id.to_str().unwrap()).is_ok(),
                "{bad:?} -> {id:?}"
            );
        }
        let id = request_id(&HeaderMap::new());
        let parsed = uuid::Uuid::parse_str(id.to_str().unwrap()).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
    }

    #[test]
    fn sets_forwarding_headers() {
        // (incoming headers, route prefix, expected upstream headers; None = absent)
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            &'a str,
            &'a [(&'a str, Option<&'a str>)],
        );
        let cases: [Case; 4] = [
            (
                &[("host", "platform:8080"), ("accept", "*/*")],
                "/authentication",
                &[
                    ("x-forwarded-for", Some("10.1.2.3")),
                    ("x-forwarded-proto", Some("http")),
                    ("x-forwarded-prefix", Some("/authentication")),
                    ("x-forwarded-host", Some("platform:8080")),
                    ("x-request-id", Some("rid")),
                    ("accept", Some("*/*")),
                    ("host", Some("auth-api:5000")),
                ],
            ),
            (
                &[
                    ("x-forwarded-for", "1.1.1.1"),
                    ("x-forwarded-for", "2.2.2.2, 3.3.3.3"),
                ],
                "/a",
                &[(
                    "x-forwarded-for",
                    Some("1.1.1.1, 2.2.2.2, 3.3.3.3, 10.1.2.3"),
                )],
            ),
            (
                &[
                    ("connection", "keep-alive, x-secret"),
                    ("x-secret", "s"),
                    ("keep-alive", "timeout=5"),
                    ("transfer-encoding", "chunked"),
                    ("upgrade", "websocket"),
                    ("te", "trailers"),
                    ("proxy-authorization", "Basic x"),
                    ("expect", "100-continue"),
                    ("authorization", "Bearer t"),
                ],
                "/a",
                &[
                    ("connection", None),
                    ("x-secret", None),
                    ("keep-alive", None),
                    ("transfer-encoding", None),
                    ("upgrade", None),
                    ("te", None),
                    ("proxy-authorization", None),
                    ("expect", None),
                    ("authorization", Some("Bearer t")),
                ],
            ),
            (
                &[
                    ("x-forwarded-prefix", "/spoofed"),
                    ("x-forwarded-proto", "https"),
                ],
                "/",
                &[
                    ("x-forwarded-prefix", None),
                    ("x-forwarded-proto", Some("http")),
                ],
            ),
        ];
        let rid = HeaderValue::from_static("rid");
        let host = HeaderValue::from_static("auth-api:5000");
        for (incoming, prefix, want) in cases {
            let prefix = forwarded_prefix(prefix);
            let mut got: Vec<(String, String)> = Vec::new();
            upstream_request_fields(
                &headers(incoming),
                [10, 1, 2, 3].into(),
                prefix.as_ref(),
                &rid,
                &host,
                &mut |name, value| {
                    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).unwrap();
                    got.push((text(name), text(value)));
                },
            );
            for (name, value) in want {
                let have: Vec<&str> = got
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
                    .collect();
                assert_eq!(
                    have,
                    value.iter().copied().collect::<Vec<_>>(),
                    "{name} for {incoming:?}"
                );
            }
        }
    }
}
