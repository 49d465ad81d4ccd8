//! For the services' integration tests (feature `testing`): a real `redis-server` and the
//! real service binaries as child processes on free loopback ports, each killed when its
//! guard drops, so a failing test leaves nothing running.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Sends `request` and gives the status and the JSON body, asserting the body is JSON:
/// the contract wants JSON answers everywhere, errors included.
pub async fn json_answer(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = request.send().await.expect("the service answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let text = response.text().await.expect("a readable body");
    assert!(
        content_type.starts_with("application/json"),
        "status {status}, content type {content_type:?}, body {text}"
    );
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("status {status}, body {text}: not JSON: {error}"));
    (status, body)
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// Polls `ready` every 20 ms until it is true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ready()
}

/// A child process killed (SIGKILL) and reaped on drop.
#[derive(Debug)]
pub struct Process {
    child: Option<Child>,
    /// What was started, for failure messages.
    pub description: String,
}

impl Process {
    /// Starts `command` with stdout and stderr inherited (cargo test shows them on failure).
    pub fn spawn(mut command: Command) -> Self {
        let description = format!("{command:?}");
        let child = command
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {description}: {error}"));
        Process {
            child: Some(child),
            description,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_default()
    }

    /// Sends a signal (e.g. "TERM", "KILL") with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} {} failed", self.pid());
    }

    /// Waits for the process to end and gives its exit code (None when killed by a signal).
    pub fn wait(&mut self, timeout: Duration) -> Option<Option<i32>> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status.code());
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A real `redis-server` on a free loopback port, with no persistence, in a temp dir.
#[derive(Debug)]
pub struct Redis {
    /// The server process.
    pub process: Process,
    /// Its port on 127.0.0.1.
    pub port: u16,
    _dir: TempDir,
}

impl Redis {
    /// Starts redis-server and waits until it accepts connections.
    pub fn start() -> Self {
        let port = free_port();
        let dir = TempDir::new("redis");
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir.0)
            .stdout(Stdio::null());
        let process = Process::spawn(command);
        let redis = Redis {
            process,
            port,
            _dir: dir,
        };
        assert!(
            wait_until(Duration::from_secs(10), || port_open(port)),
            "redis-server did not start on port {port} (is it installed? apt-get install redis-server)"
        );
        redis
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// A service binary of this workspace, started with the given environment and waited for
/// until its `/health` answers 200.
pub fn start_service(binary: &Path, port: u16, env: &[(&str, String)]) -> Process {
    let mut command = Command::new(binary);
    command.env_clear().env("HTTP_PORT", port.to_string());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut process = Process::spawn(command);
    let healthy = wait_until(Duration::from_secs(15), || {
        crate::health::check(port).is_ok() || process_ended(&mut process)
    });
    assert!(
        healthy && !process_ended(&mut process),
        "{} did not become healthy on port {port}",
        process.description
    );
    process
}

fn process_ended(process: &mut Process) -> bool {
    process.wait(Duration::ZERO).is_some()
}

/// The path of a sibling binary of this workspace's target dir, e.g. `auth-api` from a
/// test of another package (cargo only gives `CARGO_BIN_EXE_*` for the package's own).
/// `current_test_exe` is `std::env::current_exe()` of the test: its grandparent is the
/// profile directory holding the binaries.
pub fn workspace_binary(name: &str) -> PathBuf {
    let test_exe = std::env::current_exe().expect("current test executable");
    let profile_dir = test_exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build -p {name})",
        path.display()
    );
    path
}

/// A directory under the system temp dir, removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "yoyo-{prefix}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&path).expect("temp dir can be made");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
