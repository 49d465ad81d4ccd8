//! The Yoyo platform as the end-to-end tests bring it up: the repository's env.toml (or a
//! copy of it with changes) applied under a project and port of the test's own, and the
//! customer's requests through the router. Dropping it removes everything labelled with
//! the project, passed or failed, and the env.toml copy.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::query_parameters::{ListContainersOptions, LogsOptions};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;

use super::project;
use super::yoyoform::{Ran, Yoyoform};

/// The repository, where env.toml is.
pub const REPOSITORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// How long the loyalty worker (asynchronous, behind a Redis stream) may take to count a
/// transaction.
const STAMP_DEADLINE: Duration = Duration::from_secs(30);

/// Requests made in a loop on another thread, through the router, until stopped: one at a
/// time, 20 ms apart, at most 3000, each with a 10 s deadline.
pub struct Probe {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<String>>,
}

impl Probe {
    /// Requests to `http://ADDRESS:PORT{path}`.
    pub fn start(address: &str, port: u16, path: &'static str) -> Probe {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let address = address.to_owned();
        let thread = std::thread::spawn(move || {
            let mut answers = Vec::new();
            while !stopped.load(Ordering::Relaxed) && answers.len() < 3000 {
                let answer = (|| -> std::io::Result<String> {
                    let mut stream = std::net::TcpStream::connect((address.as_str(), port))?;
                    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
                    write!(
                        stream,
                        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
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

    pub fn stop(self) -> Vec<String> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().expect("the probe thread")
    }
}

/// The test's platform: its project, port, state file and HTTP client; dropping it
/// removes everything labelled with the project and the env.toml copy.
pub struct Platform {
    /// The project: names and labels.
    pub project: String,
    /// Where the router answers: 127.0.0.1, or a test swarm node's own address.
    pub address: String,
    pub port: u16,
    state: PathBuf,
    env_copy: PathBuf,
    /// For the tests' own calls to Docker.
    pub runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    // Dropped after `Drop::drop` below has run; holds the state file's folder.
    _state_dir: tempfile::TempDir,
    _sweep: project::Sweep,
}

impl Platform {
    /// A platform of a project `PREFIX-...` of its own; nothing is made yet.
    pub fn new(prefix: &str) -> Platform {
        let project = project::unique(prefix);
        let state_dir = tempfile::tempdir().expect("temp dir");
        Platform {
            address: "127.0.0.1".to_owned(),
            port: free_port(),
            state: state_dir.path().join(format!("{project}.state.json")),
            // Beside env.toml, so that its relative paths (build contexts, files) resolve.
            env_copy: Path::new(REPOSITORY).join(format!(".test-{project}.env.toml")),
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

    pub fn url(&self) -> String {
        format!("http://{}:{}", self.address, self.port)
    }

    /// Runs yoyoform on `file` (the repository's env.toml when `None`) with this
    /// platform's project, port and state file.
    pub fn yoyoform(&self, file: Option<&Path>, args: &[&str]) -> Ran {
        let file = file.map_or_else(|| Path::new(REPOSITORY).join("env.toml"), Path::to_path_buf);
        Yoyoform::new(REPOSITORY)
            .args(["-f".as_ref(), file.as_os_str()])
            .args(["--project", &self.project, "--no-color"])
            .args(["--var".to_owned(), format!("router_port={}", self.port)])
            .args(["--state".as_ref(), self.state.as_os_str()])
            .args(args)
            .run()
    }

    /// `destroy --auto-approve` on `file`; then nothing labelled with the project is left
    /// (containers, networks, volumes, images, and services, secrets and configs on a
    /// swarm manager).
    pub fn destroy_leaves_nothing(&self, file: &Path) -> Ran {
        let ran = self
            .yoyoform(Some(file), &["destroy", "--auto-approve"])
            .code(0)
            .stdout_has("Destroy complete!");
        let left = project::labelled(&self.project);
        if !left.is_empty() {
            ran.fail(&format!("destroy left {left:?}"));
        }
        ran
    }

    /// The state file and its backup hold the JWT secret: only their owner may read them.
    pub fn state_is_private(&self, ran: &Ran) {
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

    /// The repository's env.toml as `change` leaves it, written where the guard will
    /// delete it (each copy in place of the one before).
    pub fn write_copy(&self, change: impl FnOnce(&mut toml::Table)) -> PathBuf {
        let source = fs::read_to_string(Path::new(REPOSITORY).join("env.toml")).unwrap();
        let mut document: toml::Table = source.parse().expect("env.toml parses");
        change(&mut document);
        fs::write(&self.env_copy, toml::to_string(&document).unwrap()).unwrap();
        self.env_copy.clone()
    }

    pub fn token(&self, username: &str) -> String {
        self.try_token(username)
            .unwrap_or_else(|problem| self.http_failed(&problem))
    }

    pub fn transact(&self, token: &str, expected: StatusCode) -> Value {
        let (status, body) = self
            .try_transact(token)
            .unwrap_or_else(|problem| self.http_failed(&problem));
        if status != expected {
            self.http_failed(&format!(
                "POST /transactions/transactions: expected {expected}, got {status} {body}"
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
    pub fn wait_for_stamps(&self, token: &str, stamps: u64) {
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
    pub fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        self.try_send(request)
            .unwrap_or_else(|problem| self.http_failed(&problem))
    }

    /// [`Platform::send`], with what went wrong as the error instead of a panic.
    pub fn try_send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Value), String> {
        let answer = self.runtime.block_on(async {
            let response = request.send().await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        });
        match answer {
            Ok((status, text)) => serde_json::from_str(&text)
                .map(|body| (status, body))
                .map_err(|_| format!("{status} with a body that is not JSON: {text:?}")),
            Err(error) => Err(format!("no answer from the router: {error:?}")),
        }
    }

    /// A user's token, or what went wrong.
    pub fn try_token(&self, username: &str) -> Result<String, String> {
        let url = format!("{}/authentication/token", self.url());
        let form = [("username", username), ("password", "password")];
        let (status, body) = self.try_send(self.http.post(&url).form(&form))?;
        match body["token"].as_str() {
            Some(token) if status == StatusCode::OK => Ok(token.to_owned()),
            _ => Err(format!("POST {url} for {username}: {status} {body}")),
        }
    }

    /// One transaction of 20.00 GBP: its status, or what went wrong before one came.
    pub fn try_transact(&self, token: &str) -> Result<(StatusCode, Value), String> {
        let url = format!("{}/transactions/transactions", self.url());
        let form = [("token", token), ("amount", "2000"), ("currency", "GBP")];
        self.try_send(self.http.post(&url).form(&form))
    }

    /// How many of the user's transactions the loyalty worker has counted: its stamps and
    /// the stamps its vouchers were made of (env.toml keeps the default, 10 a voucher).
    pub fn counted(&self, token: &str) -> Result<u64, String> {
        let url = format!("{}/loyalty/balance", self.url());
        match self.try_send(self.http.get(&url).bearer_auth(token))? {
            (StatusCode::OK, body) => match (body["stamps"].as_u64(), body["vouchers"].as_u64()) {
                (Some(stamps), Some(vouchers)) => Ok(stamps + 10 * vouchers),
                _ => Err(format!("GET {url}: {body}")),
            },
            (status, body) => Err(format!("GET {url}: {status} {body}")),
        }
    }

    /// The swarm service `<project>-<name>`, as swarm has it.
    pub fn service(&self, name: &str) -> resources::swarm::service::ServiceActual {
        let name = format!("{}-{name}", self.project);
        self.runtime.block_on(async {
            let docker = resources::Docker::connect().await.expect("Docker");
            resources::swarm::service::inspect(&docker, &name)
                .await
                .expect("inspecting the service")
                .unwrap_or_else(|| panic!("no service {name}"))
        })
    }

    /// The tasks of the swarm service `<project>-<name>`, as swarm lists them.
    pub fn tasks(&self, name: &str) -> Vec<resources::swarm::task::Task> {
        let name = format!("{}-{name}", self.project);
        self.runtime.block_on(async {
            let docker = resources::Docker::connect().await.expect("Docker");
            resources::swarm::task::list(&docker, &name)
                .await
                .expect("listing tasks")
        })
    }

    /// Panics with `why` and the router's last log lines, which name the upstream
    /// address each request went to and how it ended.
    pub fn http_failed(&self, why: &str) -> ! {
        let logs = self.runtime.block_on(async {
            let docker = resources::Docker::connect().await.expect("Docker");
            // Its container, or on swarm its task's: by label either way.
            let filters = HashMap::from([(
                "label".to_owned(),
                vec![
                    format!("{}={}", resources::labels::PROJECT, self.project),
                    format!("{}=router.platform", resources::labels::ADDRESS),
                ],
            )]);
            let options = ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            };
            let found = docker.client().list_containers(Some(options)).await;
            let Some(id) = found.ok().into_iter().flatten().find_map(|found| found.id) else {
                return "(no router container)".to_owned();
            };
            let options = LogsOptions {
                stdout: true,
                stderr: true,
                tail: "20".to_owned(),
                ..Default::default()
            };
            let mut stream = docker.client().logs(&id, Some(options));
            let mut text = String::new();
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(output) => text.push_str(&output.to_string()),
                    Err(error) => text.push_str(&format!("(reading the logs: {error})\n")),
                }
            }
            text
        });
        panic!("{why}\n\n---------------- router logs ----------------\n{logs}");
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
pub fn change_headers(plan: &str) -> Vec<&str> {
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
pub struct Clock {
    /// The test's name, before each line.
    test: &'static str,
    /// When the test started.
    pub started: Instant,
    last: Instant,
}

impl Clock {
    pub fn new(test: &'static str) -> Clock {
        let now = Instant::now();
        Clock {
            test,
            started: now,
            last: now,
        }
    }

    pub fn lap(&mut self, step: &str, ran: &Ran) {
        eprintln!(
            "[{}] {step}: {:.1?} (last command {:.1?})",
            self.test,
            self.last.elapsed(),
            ran.elapsed
        );
        self.last = Instant::now();
    }
}
