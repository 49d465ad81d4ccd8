//! Starting, refusing to start, the health check command and stopping.

use crate::harness::{EchoServer, RouterProcess, free_port, run_to_exit};
use std::process::Command;
use std::time::Duration;

#[test]
fn refuses_bad_configuration_naming_the_variable() {
    let routes = "/a=http://127.0.0.1:9";
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[], "ROUTES"),
        (&[("ROUTES", "/a")], "ROUTES"),
        (&[("ROUTES", "a=http://x:1")], "ROUTES"),
        (&[("ROUTES", "/a=https://x:1")], "ROUTES"),
        (&[("ROUTES", routes), ("HTTP_PORT", "abc")], "HTTP_PORT"),
        (&[("ROUTES", routes), ("HTTP_PORT", "65536")], "HTTP_PORT"),
        (
            &[("ROUTES", routes), ("UPSTREAM_TIMEOUT_MS", "soon")],
            "UPSTREAM_TIMEOUT_MS",
        ),
    ];
    for (env, variable) in cases {
        let (code, stderr) = run_to_exit(&[], env);
        assert_eq!(code, Some(2), "{env:?}: {stderr}");
        assert_eq!(
            stderr.lines().count(),
            1,
            "one line for {env:?}: {stderr:?}"
        );
        assert!(
            stderr.contains(variable),
            "{env:?} must name {variable}: {stderr:?}"
        );
    }
}

#[test]
fn refuses_unknown_arguments() {
    let (code, stderr) = run_to_exit(&["serve-please"], &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("usage"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_passes_against_a_live_router() {
    let router = RouterProcess::start(&[("ROUTES", "/a=http://127.0.0.1:9")]).await;
    let port = router.port.to_string();
    let (code, stderr) =
        tokio::task::spawn_blocking(move || run_to_exit(&["healthcheck"], &[("HTTP_PORT", &port)]))
            .await
            .unwrap();
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn healthcheck_fails_when_nothing_listens() {
    let port = free_port().to_string();
    let (code, stderr) = run_to_exit(&["healthcheck"], &[("HTTP_PORT", &port)]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("/health"), "{stderr}");

    let (code, stderr) = run_to_exit(&["healthcheck"], &[("HTTP_PORT", "x")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("HTTP_PORT"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_fails_against_something_else() {
    // A server that answers /health with 503 once.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            if let Ok((mut stream, _)) = listener.accept() {
                let mut buffer = [0u8; 1024];
                let _ = stream.read(&mut buffer);
                let _ = stream.write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        port
    };
    let port_text = port.to_string();
    let (code, stderr) = tokio::task::spawn_blocking(move || {
        run_to_exit(&["healthcheck"], &[("HTTP_PORT", &port_text)])
    })
    .await
    .unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("503"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stops_cleanly_on_sigterm() {
    let mut router = RouterProcess::start(&[("ROUTES", "/a=http://127.0.0.1:9")]).await;
    let status = Command::new("kill")
        .args(["-TERM", &router.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let exit = router.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(
        exit.and_then(|s| s.code()),
        Some(0),
        "{}",
        router.log_text()
    );
    assert!(
        router.log_text().contains("router stopped"),
        "{}",
        router.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finishes_the_request_in_hand_before_stopping() {
    let slow = EchoServer::start("slow").await;
    let routes = format!("/slow={}", slow.url());
    let mut router = RouterProcess::start(&[("ROUTES", &routes)]).await;

    let port = router.port;
    let in_flight = tokio::spawn(async move {
        let request = crate::harness::get_request("/slow/x?delay_ms=800", &[]);
        crate::harness::send_to(port, &request).await
    });
    // Wait until the request is with the upstream, then ask the router to stop.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while slow.hits() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "request never reached upstream"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = Command::new("kill")
        .args(["-TERM", &router.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());

    let response = in_flight
        .await
        .unwrap()
        .expect("the request in hand is answered");
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["name"], "slow");
    let exit = router.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(
        exit.and_then(|s| s.code()),
        Some(0),
        "{}",
        router.log_text()
    );
}
