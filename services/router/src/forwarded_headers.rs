//! Headers on the way through: hop-by-hop ones dropped, `X-Forwarded-*` and
//! `X-Request-Id` set.

use hyper::HeaderMap;
use hyper::header::{
    CONNECTION, EXPECT, HOST, HeaderName, HeaderValue, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE,
    TRAILER, TRANSFER_ENCODING, UPGRADE,
};

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

/// The header fields to send upstream for a request that arrived with `incoming` from
/// the client whose address is `client_ip` (as text) and matched a route whose prefix is `forwarded_prefix` (`None` for the
/// catch-all route, which strips nothing); `host` is the upstream's own `Host`. Each
/// field is handed to `put` as (name, value), in the order they go on the wire.
///
/// One pass over `incoming`: what is not passed on is skipped, not copied and then
/// removed, and nothing is collected into a map (the caller writes the fields out as they
/// come). The incoming map stays as it is, for another attempt.
pub fn upstream_request_fields(
    incoming: &HeaderMap,
    client_ip: &[u8],
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
    // Earlier hops' addresses, if the client sent any (most do not).
    let mut forwarded_for: Vec<u8> = Vec::new();
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
    if forwarded_for.is_empty() {
        put(X_FORWARDED_FOR.as_str().as_bytes(), client_ip);
    } else {
        forwarded_for.extend_from_slice(client_ip);
        put(X_FORWARDED_FOR.as_str().as_bytes(), &forwarded_for);
    }
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

/// Whether `name` is a hop-by-hop header (RFC 9110, section 7.6.1): one that concerns a
/// single connection and is never passed on.
pub fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(name)
}

fn is_set_by_router(name: &HeaderName) -> bool {
    SET_BY_ROUTER.contains(name)
}

/// The header names listed in `Connection`, other than the hop-by-hop ones dropped anyway
/// and the `close` option.
fn connection_listed(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|token| connection_listed_name(token.as_bytes()))
        .collect()
}

/// The header a `Connection` option names, unless it is empty, `close`, or a hop-by-hop
/// header dropped anyway. The usual `keep-alive` and `close` are recognised as text,
/// before a `HeaderName` (an allocation for a name `http` does not know) is made.
pub fn connection_listed_name(token: &[u8]) -> Option<HeaderName> {
    let token = token.trim_ascii();
    let known = |name: &str| token.eq_ignore_ascii_case(name.as_bytes());
    if token.is_empty() || known("close") || HOP_BY_HOP.iter().any(|name| known(name.as_str())) {
        return None;
    }
    HeaderName::from_bytes(token).ok()
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
                b"10.1.2.3",
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
