//! What the router's integration tests run against: the real binary in a child process,
//! small upstream servers inside the test, and a raw HTTP/1.1 client (raw so that paths
//! like `/a/../b` reach the router exactly as written; ordinary clients normalise them).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use serde_json::{Value, json};
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Path of the router binary built by cargo for these tests.
pub const ROUTER: &str = env!("CARGO_BIN_EXE_router");

/// A port on 127.0.0.1 that nothing listens on (it was free a moment ago).
pub fn free_port() -> u16 {
    let listener = StdTcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().unwrap().port()
}

/// A running router; killed (and its log printed, if the test failed) when dropped.
pub struct RouterProcess {
    pub port: u16,
    child: Child,
    log: PathBuf,
}

impl RouterProcess {
    /// Starts the router with `HTTP_PORT` set to a free port plus `env`, and waits until
    /// its `/health` answers.
    pub async fn start(env: &[(&str, &str)]) -> RouterProcess {
        let port = free_port();
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("router-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("create router log");
        let mut command = Command::new(ROUTER);
        command
            .env_remove("ROUTES")
            .env_remove("UPSTREAM_CONNECT_TIMEOUT_MS")
            .env_remove("UPSTREAM_TIMEOUT_MS")
            .env("HTTP_PORT", port.to_string())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("start the router binary");
        let mut router = RouterProcess { port, child, log };
        router.wait_ready().await;
        router
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("router exited early with {status}:\n{}", self.log_text());
            }
            if let Ok(response) = send_to(self.port, &get_request("/health", &[])).await
                && response.status == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "router not ready:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends `GET path` with extra `headers`.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> RawResponse {
        self.send(&get_request(path, headers)).await
    }

    /// Sends a raw request (it must ask for `Connection: close`).
    pub async fn send(&self, request: &[u8]) -> RawResponse {
        match send_to(self.port, request).await {
            Ok(response) => response,
            Err(error) => panic!("request to router failed: {error}\n{}", self.log_text()),
        }
    }

    /// The process id, to send it signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the process to exit.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// Everything the router printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for RouterProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- router log ({}) ---\n{}",
                self.log.display(),
                self.log_text()
            );
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A response as read off the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub version: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts a JSON error answer with `status`, and returns its `error` text.
    pub fn assert_json_error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "status of {self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        let body = self.json();
        body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error text in {body}"))
            .to_owned()
    }
}

/// `GET path HTTP/1.1` with `Connection: close` and extra `headers`.
pub fn get_request(path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: platform.test\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// Sends a raw request to 127.0.0.1:`port` and reads the whole answer.
pub async fn send_to(port: u16, request: &[u8]) -> Result<RawResponse, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        stream
            .write_all(request)
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("read: {e}"))?;
        parse_response(&raw)
    };
    tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .map_err(|_| "no complete answer within 20 s".to_owned())?
}

fn parse_response(raw: &[u8]) -> Result<RawResponse, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no header end in {:?}", String::from_utf8_lossy(raw)))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let version = status_line.split(' ').next().unwrap_or_default().to_owned();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(RawResponse {
        version,
        status,
        headers,
        body,
    })
}

fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("chunk size line not terminated")?;
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .map_err(|e| format!("bad chunk size {size_text:?}: {e}"))?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(raw.get(..size).ok_or("chunk shorter than announced")?);
        raw = raw.get(size + 2..).ok_or("chunk not terminated")?;
    }
}

/// An upstream that answers every request with a JSON description of what it received:
/// `{"name", "method", "path", "query", "headers": {name: value}, "body_len"}`. A query
/// parameter `delay_ms=N` makes it wait N ms first.
pub struct EchoServer {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl EchoServer {
    /// Starts an echo server on a free 127.0.0.1 port, answering with `name`.
    pub async fn start(name: &'static str) -> EchoServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new()
            .fallback(echo)
            .with_state((name, Arc::clone(&hits)));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        EchoServer { addr, hits, task }
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests reached this server.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn echo(
    State((name, hits)): State<(&'static str, Arc<AtomicUsize>)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<Value> {
    hits.fetch_add(1, Ordering::SeqCst);
    let delay = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("delay_ms="))
        .and_then(|ms| ms.parse().ok());
    if let Some(ms) = delay {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), json!(String::from_utf8_lossy(v.as_bytes()))))
        .collect();
    axum::Json(json!({
        "name": name,
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query(),
        "headers": headers,
        "body_len": body.len(),
    }))
}

/// An upstream that answers every request with a fixed raw HTTP response, then closes.
pub struct RawServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl RawServer {
    /// Starts one on a free 127.0.0.1 port, answering `response`.
    pub async fn start(response: &'static [u8]) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    let _ = stream.read(&mut buffer).await;
                    let _ = stream.write_all(response).await;
                });
            }
        });
        RawServer { addr, task }
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An upstream that accepts connections and never answers.
pub struct SilentServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl SilentServer {
    /// Starts one on a free 127.0.0.1 port.
    pub async fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        SilentServer { addr, task }
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs the router binary with `env` (and nothing else of ours) to completion, for the
/// cases where it must refuse to start. Returns its exit code and stderr.
pub fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(ROUTER);
    command
        .args(args)
        .env_remove("HTTP_PORT")
        .env_remove("ROUTES")
        .env_remove("UPSTREAM_CONNECT_TIMEOUT_MS")
        .env_remove("UPSTREAM_TIMEOUT_MS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command.spawn().expect("start the router binary");
    let guard = ChildGuard(Some(child));
    let output = guard.wait_with_timeout(Duration::from_secs(10));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Kills a child that did not exit in time, so no test leaves one behind.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn wait_with_timeout(mut self, limit: Duration) -> std::process::Output {
        let deadline = Instant::now() + limit;
        let child = self.0.as_mut().unwrap();
        while child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "router did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        self.0.take().unwrap().wait_with_output().unwrap()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
