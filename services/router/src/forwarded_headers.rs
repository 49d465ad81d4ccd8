//! Headers on the way through: hop-by-hop ones dropped, `X-Forwarded-*` and
//! `X-Request-Id` set.

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
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .expect("a UUID is a valid header value")
        })
}

/// Removes the headers that concern one connection only (RFC 9110 section 7.6.1): those
/// named in `Connection`, and the well-known hop-by-hop ones.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in [
        CONNECTION,
        KEEP_ALIVE,
        PROXY_CONNECTION,
        PROXY_AUTHENTICATE,
        PROXY_AUTHORIZATION,
        TE,
        TRAILER,
        TRANSFER_ENCODING,
        UPGRADE,
    ] {
        headers.remove(name);
    }
}

/// The headers to send upstream for a request that arrived with `incoming` from
/// `client_ip` and matched the route `prefix`. `Host` is left for the caller: it depends
/// on the upstream chosen.
pub fn upstream_request_headers(
    incoming: &HeaderMap,
    client_ip: IpAddr,
    prefix: &str,
    request_id: &HeaderValue,
) -> HeaderMap {
    let mut headers = incoming.clone();
    remove_hop_by_hop(&mut headers);
    // The router answers `Expect: 100-continue` to the client itself.
    headers.remove(EXPECT);
    let original_host = headers.remove(HOST);

    let mut forwarded_for: Vec<String> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .collect();
    forwarded_for.push(client_ip.to_string());
    headers.remove(X_FORWARDED_FOR);
    if let Ok(value) = HeaderValue::from_str(&forwarded_for.join(", ")) {
        headers.insert(X_FORWARDED_FOR, value);
    }

    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    headers.remove(X_FORWARDED_PREFIX);
    // A catch-all route strips nothing, so there is no prefix to report.
    if let Ok(value) = HeaderValue::from_str(prefix)
        && prefix != "/"
    {
        headers.insert(X_FORWARDED_PREFIX, value);
    }
    headers.remove(X_FORWARDED_HOST);
    if let Some(host) = original_host {
        headers.insert(X_FORWARDED_HOST, host);
    }
    headers.insert(X_REQUEST_ID, request_id.clone());
    headers
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
                    ("host", None),
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
        for (incoming, prefix, want) in cases {
            let got =
                upstream_request_headers(&headers(incoming), [10, 1, 2, 3].into(), prefix, &rid);
            for (name, value) in want {
                let have = got.get(*name).map(|v| v.to_str().unwrap());
                assert_eq!(have, *value, "{name} for {incoming:?}");
            }
        }
    }
}
