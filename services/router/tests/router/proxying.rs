//! What reaches the upstream, and what comes back, when all goes well.

use crate::harness::{EchoServer, RawServer, RouterProcess};
use std::collections::HashMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strips_the_prefix_and_keeps_the_query() {
    let auth = EchoServer::start("auth").await;
    let transactions = EchoServer::start("transactions").await;
    let routes = format!(
        "/authentication={},/transactions={}",
        auth.url(),
        transactions.url()
    );
    let router = RouterProcess::start(&[("ROUTES", &routes)]).await;

    let cases = [
        ("/authentication/token", "auth", "/token", None),
        ("/authentication", "auth", "/", None),
        ("/authentication/", "auth", "/", None),
        ("/authentication/a/b/", "auth", "/a/b/", None),
        (
            "/authentication/token?x=1&y=a%20b",
            "auth",
            "/token",
            Some("x=1&y=a%20b"),
        ),
        ("/authentication?next=/x", "auth", "/", Some("next=/x")),
        (
            "/transactions/transactions",
            "transactions",
            "/transactions",
            None,
        ),
        (
            "//transactions//./transactions",
            "transactions",
            "/transactions",
            None,
        ),
    ];
    for (path, name, upstream_path, query) in cases {
        let response = router.get(path, &[]).await;
        assert_eq!(response.status, 200, "{path}: {response:?}");
        let seen = response.json();
        assert_eq!(seen["name"], name, "{path}");
        assert_eq!(seen["path"], upstream_path, "{path}");
        assert_eq!(seen["query"].as_str(), query, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longest_prefix_wins_on_whole_segments() {
    let api = EchoServer::start("api").await;
    let admin = EchoServer::start("admin").await;
    let routes = format!("/api={},/api/admin={}", api.url(), admin.url());
    let router = RouterProcess::start(&[("ROUTES", &routes)]).await;

    let cases = [
        ("/api/x", Some(("api", "/x"))),
        ("/api/admin", Some(("admin", "/"))),
        ("/api/admin/users", Some(("admin", "/users"))),
        ("/api/administrator", Some(("api", "/administrator"))),
        ("/apix", None),
    ];
    for (path, want) in cases {
        let response = router.get(path, &[]).await;
        match want {
            Some((name, upstream_path)) => {
                assert_eq!(response.status, 200, "{path}: {response:?}");
                let seen = response.json();
                assert_eq!(
                    (seen["name"].as_str(), seen["path"].as_str()),
                    (Some(name), Some(upstream_path)),
                    "{path}"
                );
            }
            None => {
                response.assert_json_error(404);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sets_forwarding_headers_and_the_request_id() {
    let auth = EchoServer::start("auth").await;
    let routes = format!("/authentication={}", auth.url());
    let router = RouterProcess::start(&[("ROUTES", &routes)]).await;

    // No incoming id: the router makes a UUID v4, sends it upstream and returns it.
    let response = router.get("/authentication/token", &[]).await;
    assert_eq!(response.status, 200);
    let seen = response.json();
    let headers = &seen["headers"];
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(headers["x-forwarded-prefix"], "/authentication");
    assert_eq!(headers["x-forwarded-host"], "platform.test");
    // The Host the upstream sees is the upstream URL's, not the client's.
    assert_eq!(headers["host"], auth.addr.to_string());
    let id = response
        .header("x-request-id")
        .expect("x-request-id in the response");
    assert_eq!(headers["x-request-id"], id);
    let uuid = uuid::Uuid::parse_str(id).expect("a UUID");
    assert_eq!(uuid.get_version_num(), 4);

    // An incoming id and forwarding chain are passed on.
    let response = router
        .get(
            "/authentication/token",
            &[
                ("X-Request-Id", "req-42"),
                ("X-Forwarded-For", "203.0.113.9"),
            ],
        )
        .await;
    let seen = response.json();
    assert_eq!(seen["headers"]["x-request-id"], "req-42");
    assert_eq!(response.header("x-request-id"), Some("req-42"));
    assert_eq!(seen["headers"]["x-forwarded-for"], "203.0.113.9, 127.0.0.1");

    // Hop-by-hop headers stop at the router.
    let response = router
        .get(
            "/authentication/token",
            &[
                ("Connection", "close, X-Hop"),
                ("X-Hop", "1"),
                ("Keep-Alive", "timeout=5"),
            ],
        )
        .await;
    let seen = response.json();
    assert!(seen["headers"].get("x-hop").is_none(), "{seen}");
    assert!(seen["headers"].get("keep-alive").is_none(), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_request_bodies_through() {
    let auth = EchoServer::start("auth").await;
    let routes = format!("/authentication={}", auth.url());
    let router = RouterProcess::start(&[("ROUTES", &routes)]).await;

    let form = "username=alice&password=password";
    let request = format!(
        "POST /authentication/token HTTP/1.1\r\nHost: platform.test\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    let seen = router.send(request.as_bytes()).await.json();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["body_len"], form.len());
    assert_eq!(
        seen["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );

    // A chunked body of 1 MiB arrives whole.
    let chunk = vec![b'x'; 64 * 1024];
    let mut request = b"POST /authentication/upload HTTP/1.1\r\nHost: platform.test\r\n\
        Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for _ in 0..16 {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let seen = router.send(&request).await.json();
    assert_eq!(seen["body_len"], 16 * 64 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spreads_requests_over_replicas() {
    let first = EchoServer::start("first").await;
    let second = EchoServer::start("second").await;
    let routes = format!("/loyalty={}|{}", first.url(), second.url());
    let router = RouterProcess::start(&[("ROUTES", &routes)]).await;

    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..20 {
        let response = router.get("/loyalty/balance", &[]).await;
        assert_eq!(response.status, 200, "{response:?}");
        let name = response.json()["name"].as_str().unwrap().to_owned();
        *counts.entry(name).or_default() += 1;
    }
    // Round-robin: an even split.
    assert_eq!(counts.get("first"), Some(&10), "{counts:?}");
    assert_eq!(counts.get("second"), Some(&10), "{counts:?}");
    assert_eq!((first.hits(), second.hits()), (10, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_upstream_answers_back_without_hop_by_hop_headers() {
    let old = RawServer::start(
        b"HTTP/1.0 201 Created\r\nContent-Type: application/json\r\nX-Hop: 1\r\n\
          Connection: X-Hop\r\nKeep-Alive: timeout=5\r\nContent-Length: 11\r\n\r\n{\"ok\":true}",
    )
    .await;
    let routes = format!("/old={}", old.url());
    let router = RouterProcess::start(&[("ROUTES", &routes)]).await;
    let response = router.get("/old/thing", &[]).await;
    assert_eq!(response.status, 201);
    // The client spoke HTTP/1.1 to the router; the backend's HTTP/1.0 does not leak.
    assert_eq!(response.version, "HTTP/1.1");
    assert_eq!(response.json(), serde_json::json!({ "ok": true }));
    assert_eq!(response.header("x-hop"), None);
    assert_eq!(response.header("keep-alive"), None);
    assert!(response.header("x-request-id").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_one_line_per_request() {
    let auth = EchoServer::start("auth").await;
    let routes = format!("/authentication={}", auth.url());
    let router = RouterProcess::start(&[("ROUTES", &routes)]).await;

    let response = router
        .get("/authentication/token?x=1", &[("X-Request-Id", "line-1")])
        .await;
    assert_eq!(response.status, 200);
    router.get("/nowhere", &[("X-Request-Id", "line-2")]).await;
    // (request id, the line after its time stamp, without the `ms=` field)
    let want = [
        (
            "line-1",
            format!(
                "  INFO router::proxy: request method=GET path=/authentication/token \
                 route=/authentication upstream={addr} addr={addr} status=200 request_id=line-1",
                addr = auth.addr
            ),
        ),
        (
            "line-2",
            "  INFO router::proxy: request method=GET path=/nowhere route=- upstream=- addr=- \
             status=404 request_id=line-2"
                .to_owned(),
        ),
    ];
    // Lines are buffered by the worker thread that served the request and written at
    // least every 100 ms.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let log = loop {
        let log = router.log_text();
        if want
            .iter()
            .all(|(id, _)| log.contains(&format!("request_id={id}")))
        {
            break log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "missing request lines in:\n{log}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("request method="))
        .collect();
    assert_eq!(lines.len(), 2, "one line per request:\n{log}");
    for (id, line_want) in want {
        let line = lines
            .iter()
            .find(|l| l.ends_with(&format!("request_id={id}")))
            .unwrap();
        let (_time, rest) = line.split_once('Z').unwrap();
        let (before_ms, after_ms) = rest.split_once(" ms=").unwrap();
        let (_ms, after) = after_ms.split_once(' ').unwrap();
        assert_eq!(format!("{before_ms} {after}"), line_want, "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_on_every_kind_of_response_body() {
    // (upstream's raw answer, request, status, body the client must get)
    let cases: [(&'static [u8], &[u8], u16, &str); 5] = [
        // Chunked, with an extension and trailers.
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
              4;x=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\n",
            b"GET /u/x HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n",
            200,
            "Wikipedia",
        ),
        // Delimited by the end of the connection.
        (
            b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
            b"GET /u/x HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n",
            200,
            "until the end",
        ),
        // An interim answer first.
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
            b"GET /u/x HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n",
            201,
            "ok",
        ),
        // No body for 204, whatever follows.
        (
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"GET /u/x HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n",
            204,
            "",
        ),
        // No body for HEAD, even with a length.
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
            b"HEAD /u/x HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n",
            200,
            "",
        ),
    ];
    for (answer, request, status, body) in cases {
        let upstream = RawServer::start(answer).await;
        let routes = format!("/u={}", upstream.url());
        let router = RouterProcess::start(&[("ROUTES", &routes)]).await;
        let response = router.send(request).await;
        let name = String::from_utf8_lossy(answer);
        assert_eq!(response.status, status, "{name}: {response:?}");
        assert_eq!(String::from_utf8_lossy(&response.body), body, "{name}");
        assert_eq!(response.header("x-trailer"), None, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuses_upstream_connections_and_copes_when_the_upstream_closes_them() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Answers requests on a connection as they come, with keep-alive; `close_after`
    // requests on a connection, it waits a little and closes it (an idle timeout).
    async fn upstream(close_after: usize) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 65536];
                    for _ in 0..close_after {
                        let mut request = Vec::new();
                        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                            match stream.read(&mut buffer).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => request.extend_from_slice(&buffer[..n]),
                            }
                        }
                        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                        if stream.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                });
            }
        });
        (url, connections)
    }

    // Kept open: ten requests in a row, on one client connection, take one upstream one.
    let (url, connections) = upstream(usize::MAX).await;
    let router = RouterProcess::start(&[("ROUTES", &format!("/u={url}"))]).await;
    let mut client = tokio::net::TcpStream::connect(("127.0.0.1", router.port))
        .await
        .unwrap();
    for _ in 0..10 {
        client
            .write_all(b"GET /u/x HTTP/1.1\r\nHost: p\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        while !answer.ends_with(b"ok") {
            let mut buffer = [0u8; 4096];
            let n = client.read(&mut buffer).await.unwrap();
            assert!(n > 0, "router closed: {answer:?}");
            answer.extend_from_slice(&buffer[..n]);
        }
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 1);

    // Closed after each answer: a POST after the close must not fail, nor be sent twice.
    let (url, connections) = upstream(1).await;
    let router = RouterProcess::start(&[("ROUTES", &format!("/u={url}"))]).await;
    let post =
        b"POST /u/x HTTP/1.1\r\nHost: p\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc";
    for round in 0..3 {
        let response = router.send(post).await;
        assert_eq!(response.status, 200, "round {round}: {response:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(connections.load(Ordering::SeqCst), 3);
}
