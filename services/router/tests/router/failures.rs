//! Errors: always JSON, always quick, never a side door.

use crate::harness::{EchoServer, RawServer, RouterProcess, SilentServer, free_port, get_request};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_404_json_without_a_route() {
    let auth = EchoServer::start("auth").await;
    let routes = format!("/authentication={}", auth.url());
    let router = RouterProcess::start(&[("ROUTES", &routes)]).await;

    for path in ["/x", "/", "/authenticationX", "/auth/token"] {
        let response = router.get(path, &[]).await;
        let error = response.assert_json_error(404);
        assert_eq!(error, format!("No route for {path}"));
        assert!(response.header("x-request-id").is_some(), "{path}");
    }
    assert_eq!(auth.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_health_itself() {
    let auth = EchoServer::start("auth").await;
    let routes = format!("/={}", auth.url());
    let router = RouterProcess::start(&[("ROUTES", &routes)]).await;

    let response = router.get("/health", &[]).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), serde_json::json!({ "healthy": true }));
    // Even a catch-all route does not take /health; anything below it is routed.
    assert_eq!(auth.hits(), 0);
    let response = router.get("/health/deep", &[]).await;
    assert_eq!(response.json()["path"], "/health/deep");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_502_json_quickly_for_a_dead_upstream() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let routes = format!("/transactions={dead}");
    let router = RouterProcess::start(&[("ROUTES", &routes)]).await;

    let started = Instant::now();
    let response = router.get("/transactions/transactions", &[]).await;
    let elapsed = started.elapsed();
    let error = response.assert_json_error(502);
    assert!(error.contains("/transactions"), "{error}");
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_504_json_in_time_for_a_silent_upstream() {
    let silent = SilentServer::start().await;
    let routes = format!("/loyalty={}", silent.url());
    let router = RouterProcess::start(&[("ROUTES", &routes), ("UPSTREAM_TIMEOUT_MS", "300")]).await;

    let started = Instant::now();
    let response = router.get("/loyalty/balance", &[]).await;
    let elapsed = started.elapsed();
    let error = response.assert_json_error(504);
    assert!(error.contains("300 ms"), "{error}");
    assert!(
        elapsed >= Duration::from_millis(290),
        "took only {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_replica_is_skipped_for_a_live_one() {
    let live = EchoServer::start("live").await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let routes = format!("/loyalty={dead}|{}", live.url());
    let router = RouterProcess::start(&[("ROUTES", &routes)]).await;

    // Half the round-robin choices land on the dead replica first; every request must
    // still be answered by the live one, since nothing was sent before the connect failed.
    for _ in 0..6 {
        let response = router.get("/loyalty/balance", &[]).await;
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(response.json()["name"], "live");
    }
    let post =
        b"POST /loyalty/x HTTP/1.1\r\nHost: p\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc";
    for _ in 0..2 {
        let seen = router.send(post).await.json();
        assert_eq!(
            (seen["name"].as_str(), seen["body_len"].as_u64()),
            (Some("live"), Some(3))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_traversal_instead_of_side_routing() {
    let auth = EchoServer::start("auth").await;
    let transactions = EchoServer::start("transactions").await;
    let routes = format!(
        "/authentication={},/transactions={}",
        auth.url(),
        transactions.url()
    );
    let router = RouterProcess::start(&[("ROUTES", &routes)]).await;

    for path in [
        "/authentication/../transactions/x",
        "/authentication/./../transactions/x",
        "/authentication/%2e%2e/transactions/x",
        "/authentication/%2E%2E/transactions/x",
        "/authentication/.%2e/transactions/x",
        "/authentication%2f..%2ftransactions/x",
        "/authentication/%252e%252e/transactions/x",
        "/nothing/../transactions/x",
        "/authentication/..",
    ] {
        let response = router.get(path, &[]).await;
        response.assert_json_error(400);
    }
    assert_eq!((auth.hits(), transactions.hits()), (0, 0));

    // The path `*` of `OPTIONS *` is no path: refused as well.
    let response = router
        .send(b"OPTIONS * HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n")
        .await;
    response.assert_json_error(400);

    // A request target in absolute form is routed on its path like any other.
    let request = get_request("http://platform.test/authentication/token", &[]);
    let response = router.send(&request).await;
    assert_eq!(response.json()["path"], "/token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_502_json_for_an_unresolvable_upstream() {
    // `.invalid` never resolves (RFC 6761).
    let routes = "/auth=http://no-such-host.invalid:5000";
    let router = RouterProcess::start(&[("ROUTES", routes), ("UPSTREAM_TIMEOUT_MS", "3000")]).await;
    let started = Instant::now();
    let response = router.get("/auth/token", &[]).await;
    let error = response.assert_json_error(502);
    assert!(error.contains("could not be resolved"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_502_json_when_the_upstream_hangs_up() {
    // Accepts, reads, and closes without a word.
    let rude = RawServer::start(b"").await;
    let routes = format!("/x={}", rude.url());
    let router = RouterProcess::start(&[("ROUTES", &routes)]).await;
    let response = router.get("/x/y", &[]).await;
    response.assert_json_error(502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_drops_a_get_is_skipped_but_a_post_is_not_repeated() {
    // Reads the request and hangs up without an answer, as a stopping container may.
    let dropping = RawServer::start(b"").await;
    let live = EchoServer::start("live").await;
    let routes = format!("/x={}|{}", dropping.url(), live.url());
    let router = RouterProcess::start(&[("ROUTES", &routes)]).await;
    // A GET may be sent again: whichever replica the round robin picks first, it succeeds.
    for _ in 0..4 {
        let response = router.get("/x/y", &[]).await;
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(response.json()["name"], "live");
    }
    // A POST that reached the dropping replica may have had its effect there: it is not
    // repeated elsewhere, the client gets a 502.
    let post =
        b"POST /x/y HTTP/1.1\r\nHost: p\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc";
    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(router.send(post).await.status);
        }
        statuses
    };
    assert!(statuses.contains(&502), "{statuses:?}");
    assert!(statuses.contains(&200), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closes_the_connection_when_the_upstream_body_stalls() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Headers and the start of the body, then silence with the connection held open.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"partial\":";
                let _ = stream.write_all(head).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    let routes = format!("/x=http://{upstream}");
    let router = RouterProcess::start(&[("ROUTES", &routes), ("UPSTREAM_TIMEOUT_MS", "300")]).await;

    let started = Instant::now();
    let mut client = tokio::net::TcpStream::connect(("127.0.0.1", router.port))
        .await
        .unwrap();
    client
        .write_all(b"GET /x/y HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut received)).await;
    server.abort();
    assert!(
        read.is_ok(),
        "the router held the stalled response open for 5 s"
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(3),
        "closed only after {elapsed:?}"
    );
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.ends_with("{\"partial\":"),
        "the body was cut where it stalled: {text}"
    );
}
