//! End to end, against the real Docker daemon: the repository's env.toml applied under a
//! project and port of this test's own, the customer flow through the router, a change
//! planned and applied, drift repaired, and destroy leaving nothing with the label.
//!
//! One test, because each step starts from where the one before left the platform.
//! Everything it makes is removed by label when it ends, passed or failed.

mod project;
mod yoyoform;

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::query_parameters::{LogsOptions, RemoveContainerOptions};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use yoyoform::{Ran, Yoyoform};

const REPOSITORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// How long the loyalty worker (asynchronous, behind a Redis stream) may take to count a
/// transaction.
const STAMP_DEADLINE: Duration = Duration::from_secs(30);

#[test]
fn apply_use_change_repair_and_destroy_the_platform() {
    let platform = Platform::new();
    let mut clock = Clock::new();

    // Up from the repository's env.toml.
    let ran = platform
        .yoyoform(None, &["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete! Resources: ")
        .stdout_has(&format!("url = \"{}\"", platform.url()));
    clock.lap("first apply", &ran);
    platform.state_is_private(&ran);
    let ran = platform.yoyoform(None, &["output", "url"]).code(0);
    if ran.stdout.trim() != platform.url() {
        ran.fail("`output url` should print the router's URL");
    }

    // The customer flow through the router: alice pays and is stamped, charlie may not pay.
    let alice = platform.token("alice");
    platform.transact(&alice, StatusCode::OK);
    platform.wait_for_stamps(&alice, 1);
    let charlie = platform.token("charlie");
    let refused = platform.transact(&charlie, StatusCode::FORBIDDEN);
    assert_eq!(refused["error"], "User cannot transact");
    clock.lap("customer flow", &ran);

    // Right after apply, nothing is left to do.
    let ran = platform
        .yoyoform(None, &["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.")
        .stderr_is("");
    clock.lap("plan, unchanged", &ran);

    // One env value changed: exactly one resource is replaced, and only that.
    let copy = platform.write_changed_copy();
    let ran = platform
        .yoyoform(Some(&copy), &["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("# service.transaction-api must be replaced (the new one first")
        .stdout_has("+/- service.transaction-api {")
        .stdout_has(&format!("+ \"E2E_MARKER\" = \"{}\"", platform.project))
        .stdout_has("} # forces replacement")
        .stdout_has("Plan: 1 to add, 0 to change, 1 to destroy.");
    let headers = change_headers(&ran.stdout);
    if headers.len() != 1 {
        ran.fail(&format!("expected exactly one change, found {headers:?}"));
    }
    clock.lap("plan, one env value changed", &ran);
    // The replacement starts the new container before the old one goes: requests made
    // through the router all the while must all succeed.
    let probe = Probe::start(platform.port, "/transactions/health");
    let ran = platform
        .yoyoform(Some(&copy), &["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 1 destroyed.");
    let answers = probe.stop();
    let failed: Vec<&String> = answers.iter().filter(|answer| *answer != "200").collect();
    if answers.is_empty() || !failed.is_empty() {
        eprintln!("{}", ran);
        platform.http_failed(&format!(
            "during the replacement, {} of {} requests through the router failed: {failed:?}",
            failed.len(),
            answers.len()
        ));
    }
    clock.lap("apply the change", &ran);
    // The replaced transaction-api takes transactions at once.
    let alice = platform.token("alice");
    platform.transact(&alice, StatusCode::OK);
    platform.wait_for_stamps(&alice, 2);
    let env = platform.container_env("transaction-api");
    let marker = format!("E2E_MARKER={}", platform.project);
    assert!(
        env.contains(&marker),
        "the replaced transaction-api should have {marker}, has {env:?}"
    );
    let ran = platform
        .yoyoform(Some(&copy), &["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
    clock.lap("flow and plan after the change", &ran);

    // Containers removed behind yoyoform's back are planned for creation and restored;
    // Redis comes back with its data (a volume), so alice's stamps are still there.
    platform.remove_container("auth-api");
    platform.remove_container("queue");
    let ran = platform
        .yoyoform(Some(&copy), &["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("# service.auth-api will be created")
        .stdout_has("# redis.queue will be created")
        .stdout_has("Plan: 2 to add, 0 to change, 0 to destroy.");
    let headers = change_headers(&ran.stdout);
    if headers.len() != 2 {
        ran.fail(&format!("expected exactly two changes, found {headers:?}"));
    }
    clock.lap("plan after drift", &ran);
    let ran = platform
        .yoyoform(Some(&copy), &["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.");
    clock.lap("apply the repair", &ran);
    let alice = platform.token("alice");
    platform.transact(&alice, StatusCode::OK);
    platform.wait_for_stamps(&alice, 3);
    platform.state_is_private(&ran);
    let ran = platform
        .yoyoform(Some(&copy), &["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
    clock.lap("flow and plan after the repair", &ran);

    // Destroy leaves nothing with the project's label: containers, network, images.
    let ran = platform
        .yoyoform(Some(&copy), &["destroy", "--auto-approve"])
        .code(0)
        .stdout_has("Destroy complete!");
    clock.lap("destroy", &ran);
    let left = project::labelled(&platform.project);
    if !left.is_empty() {
        ran.fail(&format!("destroy left {left:?}"));
    }
    eprintln!("[e2e] total {:.1?}", clock.started.elapsed());
}

/// Requests made in a loop on another thread, through the router, until stopped: one at a
/// time, 20 ms apart, at most 3000, each with a 10 s deadline.
struct Probe {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<String>>,
}

impl Probe {
    fn start(port: u16, path: &'static str) -> Probe {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut answers = Vec::new();
            while !stopped.load(Ordering::Relaxed) && answers.len() < 3000 {
                let answer = (|| -> std::io::Result<String> {
                    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
                    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
                    write!(
                        stream,
                        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                    )?;
                    let mut response = String::new();
                    stream.read_to_string(&mut response)?;
                    Ok(response
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("none")
                        .to_owned())
                })();
                answers.push(answer.unwrap_or_else(|error| error.to_string()));
                std::thread::sleep(Duration::from_millis(20));
            }
            answers
        });
        Probe { stop, thread }
    }

    fn stop(self) -> Vec<String> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().expect("the probe thread")
    }
}

/// The test's platform: its project, port, state file and HTTP client; dropping it
/// removes everything labelled with the project and the env.toml copy.
struct Platform {
    project: String,
    port: u16,
    state: PathBuf,
    env_copy: PathBuf,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    // Dropped after `Drop::drop` below has run; holds the state file's folder.
    _state_dir: tempfile::TempDir,
    _sweep: project::Sweep,
}

impl Platform {
    fn new() -> Platform {
        let project = project::unique("e2e");
        let state_dir = tempfile::tempdir().expect("temp dir");
        Platform {
            port: free_port(),
            state: state_dir.path().join(format!("{project}.state.json")),
            // Beside env.toml, so that its relative paths (build contexts, files) resolve.
            env_copy: Path::new(REPOSITORY).join(format!(".e2e-{project}.env.toml")),
            runtime: project::runtime(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client"),
            _state_dir: state_dir,
            _sweep: project::Sweep(project.clone()),
            project,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs yoyoform on `file` (the repository's env.toml when `None`) with this
    /// platform's project, port and state file.
    fn yoyoform(&self, file: Option<&Path>, args: &[&str]) -> Ran {
        let file = file.map_or_else(|| Path::new(REPOSITORY).join("env.toml"), Path::to_path_buf);
        Yoyoform::new(REPOSITORY)
            .args(["-f".as_ref(), file.as_os_str()])
            .args(["--project", &self.project, "--no-color"])
            .args(["--var".to_owned(), format!("router_port={}", self.port)])
            .args(["--state".as_ref(), self.state.as_os_str()])
            .args(args)
            .run()
    }

    /// The state file and its backup hold the JWT secret: only their owner may read them.
    fn state_is_private(&self, ran: &Ran) {
        let backup = self.state.with_extension("json.backup");
        for path in [&self.state, &backup] {
            let mode = fs::metadata(path)
                .unwrap_or_else(|error| ran.fail(&format!("{}: {error}", path.display())))
                .permissions()
                .mode();
            if mode & 0o777 != 0o600 {
                ran.fail(&format!(
                    "{} has mode {:o}, not 600",
                    path.display(),
                    mode & 0o777
                ));
            }
        }
    }

    /// The repository's env.toml with one env value added to transaction-api, written
    /// where the guard will delete it.
    fn write_changed_copy(&self) -> PathBuf {
        let source = fs::read_to_string(Path::new(REPOSITORY).join("env.toml")).unwrap();
        let mut document: toml::Table = source.parse().expect("env.toml parses");
        let env = document
            .get_mut("service")
            .and_then(|services| services.get_mut("transaction-api"))
            .and_then(|service| service.get_mut("env"))
            .and_then(toml::Value::as_table_mut)
            .expect("env.toml has service.transaction-api.env");
        env.insert("E2E_MARKER".to_owned(), self.project.clone().into());
        fs::write(&self.env_copy, toml::to_string(&document).unwrap()).unwrap();
        self.env_copy.clone()
    }

    fn token(&self, username: &str) -> String {
        let url = format!("{}/authentication/token", self.url());
        let form = [("username", username), ("password", "password")];
        let (status, body) = self.send(self.http.post(&url).form(&form));
        match body["token"].as_str() {
            Some(token) if status == StatusCode::OK => token.to_owned(),
            _ => self.http_failed(&format!("POST {url} for {username}: {status} {body}")),
        }
    }

    fn transact(&self, token: &str, expected: StatusCode) -> Value {
        let url = format!("{}/transactions/transactions", self.url());
        let form = [("token", token), ("amount", "2000"), ("currency", "GBP")];
        let (status, body) = self.send(self.http.post(&url).form(&form));
        if status != expected {
            self.http_failed(&format!(
                "POST {url}: expected {expected}, got {status} {body}"
            ));
        }
        if status == StatusCode::OK {
            assert_eq!(body["amount"], 2000, "{body}");
            assert_eq!(body["currency"], "GBP", "{body}");
        }
        body
    }

    /// Polls `/loyalty/balance` until the worker has counted `stamps` of the user's
    /// transactions; panics with the last answer when it takes longer than the deadline.
    fn wait_for_stamps(&self, token: &str, stamps: u64) {
        let url = format!("{}/loyalty/balance", self.url());
        let started = Instant::now();
        loop {
            let (status, body) = self.send(self.http.get(&url).bearer_auth(token));
            if status == StatusCode::OK && body["stamps"] == stamps {
                assert_eq!(body["vouchers"], 0, "{body}");
                return;
            }
            if started.elapsed() > STAMP_DEADLINE {
                self.http_failed(&format!(
                    "GET {url}: expected {stamps} stamps within {STAMP_DEADLINE:?}, \
                     last answer {status} {body}"
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Sends a request to the router; every answer, errors included, must be JSON.
    fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let answer = self.runtime.block_on(async {
            let response = request.send().await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        });
        match answer {
            Ok((status, text)) => match serde_json::from_str(&text) {
                Ok(body) => (status, body),
                Err(_) => {
                    self.http_failed(&format!("{status} with a body that is not JSON: {text:?}"))
                }
            },
            Err(error) => self.http_failed(&format!("no answer from the router: {error:?}")),
        }
    }

    /// Panics with `why` and the router's last log lines, which name the upstream
    /// address each request went to and how it ended.
    fn http_failed(&self, why: &str) -> ! {
        let router = format!("{}-platform", self.project);
        let logs = self.runtime.block_on(async {
            let docker = resources::Docker::connect().await.expect("Docker");
            let options = LogsOptions {
                stdout: true,
                stderr: true,
                tail: "20".to_owned(),
                ..Default::default()
            };
            let mut stream = docker.client().logs(&router, Some(options));
            let mut text = String::new();
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(output) => text.push_str(&output.to_string()),
                    Err(error) => text.push_str(&format!("(reading the logs: {error})\n")),
                }
            }
            text
        });
        panic!("{why}\n\n---------------- {router} logs ----------------\n{logs}");
    }

    /// The environment of the container yoyoform named `<project>-<name>`.
    fn container_env(&self, name: &str) -> Vec<String> {
        let name = format!("{}-{name}", self.project);
        self.runtime.block_on(async {
            let docker = resources::Docker::connect().await.expect("Docker");
            let inspected = docker
                .client()
                .inspect_container(&name, None)
                .await
                .unwrap_or_else(|error| panic!("inspecting {name}: {error}"));
            inspected
                .config
                .and_then(|config| config.env)
                .unwrap_or_default()
        })
    }

    /// Removes a container with the Docker API, as someone might by hand.
    fn remove_container(&self, name: &str) {
        let name = format!("{}-{name}", self.project);
        self.runtime.block_on(async {
            let docker = resources::Docker::connect().await.expect("Docker");
            let options = RemoveContainerOptions {
                force: true,
                ..Default::default()
            };
            docker
                .client()
                .remove_container(&name, Some(options))
                .await
                .unwrap_or_else(|error| panic!("removing {name}: {error}"));
        });
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        // The sweep by label runs when `_sweep` is dropped, right after this.
        if let Err(error) = fs::remove_file(&self.env_copy)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!("removing {}: {error}", self.env_copy.display());
        }
    }
}

/// The resource header lines of a plan (`# service.x will be created`, `... must be
/// replaced`, ...): one per change.
fn change_headers(plan: &str) -> Vec<&str> {
    plan.lines()
        .map(str::trim)
        .filter(|line| {
            line.starts_with("# ")
                && [" will be ", " must be "]
                    .iter()
                    .any(|verb| line.contains(verb))
        })
        .collect()
}

/// A port nothing listens on right now (the kernel's pick), for the router.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("its address").port()
}

/// Step timings, printed as the test goes (visible with `--nocapture`).
struct Clock {
    started: Instant,
    last: Instant,
}

impl Clock {
    fn new() -> Clock {
        let now = Instant::now();
        Clock {
            started: now,
            last: now,
        }
    }

    fn lap(&mut self, step: &str, ran: &Ran) {
        eprintln!(
            "[e2e] {step}: {:.1?} (last command {:.1?})",
            self.last.elapsed(),
            ran.elapsed
        );
        self.last = Instant::now();
    }
}
