//! Compose's runtime views against the real Docker daemon, one daemon and a single-node
//! swarm: `ps` shows each instance running (healthy, with its port), `exec` runs a command
//! in one and returns its exit status, `logs` puts the lines of every replica in time
//! order after their names (`--since`, `--tail`), `logs -f` streams a line written after
//! it started; an unknown address is an error with a suggestion, nothing recorded is said
//! so, an unreachable daemon is one line.
//!
//! The lines the logs are checked against are written by `exec` into the output of each
//! container's first process (`/proc/1/fd/1`), one after the other, so their order is
//! known. The images are built here from Debian's static busybox (no registry can be
//! reached). Everything a test makes is removed by label when it ends, passed or failed.

mod busybox;
mod project;
mod yoyoform;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use yoyoform::{Ran, Yoyoform};

const ENV: &str = r#"
[project]
name = "overridden-by-the-test"
backend = "BACKEND"

[variable.port]
default = 1

[service.web]
build = "tools"
ports = ["127.0.0.1:${var.port}:8000"]
command = ["sh", "-c", "mkdir -p /srv && echo ok > /srv/ok && echo web ready && exec httpd -f -p 8000 -h /srv"]
health = { test = ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/ok"], interval = "500ms" }

[service.worker]
build = "tools"
replicas = 2
health = false
command = ["sh", "-c", "echo started && exec sleep 100000"]

[network.unused]
"#;

/// A test's folder (env.toml, the image's context, the state file), project and port.
struct Views {
    dir: tempfile::TempDir,
    project: String,
    port: u16,
    _sweep: project::Sweep,
}

impl Views {
    fn new(prefix: &str, backend: &str) -> Views {
        let dir = tempfile::tempdir().expect("a temp dir");
        busybox::context(dir.path(), "tools");
        std::fs::write(dir.path().join("env.toml"), ENV.replace("BACKEND", backend)).unwrap();
        let project = project::unique(prefix);
        Views {
            dir,
            port: free_port(),
            _sweep: project::Sweep(project.clone()),
            project,
        }
    }

    fn yoyoform(&self, args: &[&str]) -> Ran {
        Yoyoform::new(self.dir.path())
            .args(["--project", &self.project, "--no-color"])
            .args(["--var".to_owned(), format!("port={}", self.port)])
            .args(args)
            .run()
    }

    /// Writes `line` to the logs of `process`, through the output of its first process.
    fn say(&self, process: &str, line: &str) {
        let script = format!("echo {line} > /proc/1/fd/1");
        self.yoyoform(&["exec", process, "--", "sh", "-c", &script])
            .code(0)
            .stderr_is("");
    }

    /// `yoyoform ARGS` (a shell command line) on a pseudo-terminal (`script`), with
    /// NO_COLOR as given: what the terminal showed, and the exit status.
    fn on_terminal(&self, args: &str, no_color: Option<&str>) -> (String, Option<i32>) {
        let binary = env!("CARGO_BIN_EXE_yoyoform");
        let line = format!("{binary} --project {} {args}", self.project);
        let mut command = Command::new("script");
        command
            .args(["-qec", &line, "/dev/null"])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .env_remove("NO_COLOR");
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        let output = command.output().expect("running script(1)");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        (text, output.status.code())
    }

    /// `logs -f ARGS` running: its stdout lines as they come; killed when dropped.
    fn follow(&self, args: &[&str]) -> Following {
        let mut child = Command::new(env!("CARGO_BIN_EXE_yoyoform"))
            .current_dir(self.dir.path())
            .args(["--project", &self.project, "--no-color", "logs", "-f"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting logs -f");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Following { child, lines }
    }
}

/// A `logs -f` running.
struct Following {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Following {
    /// The next line, waiting up to 30 s for it.
    fn next(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(30))
            .expect("logs -f printed the line within 30 s")
    }

    /// Whether it still runs.
    fn running(&mut self) -> bool {
        self.child.try_wait().expect("asking logs -f").is_none()
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next whole second of the clock, once it has come: a `--since` after everything
/// written before it (Docker's `since` counts whole seconds).
fn next_second() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    std::thread::sleep(Duration::from_nanos(
        1_000_000_000 - u64::from(now.subsec_nanos()),
    ));
    now.as_secs() + 1
}

/// `ps`'s table with each `Up ...` uptime made `Up *`, and nothing else changed: the
/// uptimes are the one thing in it that changes from run to run.
fn without_uptimes(ran: &Ran) -> String {
    let mut text = String::new();
    for line in ran.stdout.lines() {
        match line.find("   Up ") {
            Some(at) => text.push_str(&format!("{}   Up *", &line[..at])),
            None => text.push_str(line),
        }
        text.push('\n');
    }
    text
}

/// Rows as `ps` aligns them: each column as wide as its widest cell, three spaces between.
fn aligned(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|column| rows.iter().map(|row| row[column].len()).max().unwrap())
        .collect();
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        text.push_str(cells.join("   ").trim_end());
        text.push('\n');
    }
    text
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|cell| cell.to_string()).collect()
}

#[test]
fn ps_logs_and_exec_on_one_daemon() {
    let views = Views::new("views", "docker");
    views
        .yoyoform(&["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete! Resources: 4 added, 0 changed, 0 destroyed.");

    // Each instance that runs a container, running, the web healthy with its port.
    let ran = views.yoyoform(&["ps"]).code(0).stderr_is("");
    let project = &views.project;
    let port = format!("127.0.0.1:{}->8000/tcp", views.port);
    let expected = aligned(&[
        row(&["ADDRESS", "CONTAINER", "STATE", "HEALTH", "PORTS", "UPTIME"]),
        row(&[
            "service.web",
            &format!("{project}-web"),
            "running",
            "healthy",
            &port,
            "Up *",
        ]),
        row(&[
            "service.worker[0]",
            &format!("{project}-worker-0"),
            "running",
            "-",
            "-",
            "Up *",
        ]),
        row(&[
            "service.worker[1]",
            &format!("{project}-worker-1"),
            "running",
            "-",
            "-",
            "Up *",
        ]),
    ]);
    if without_uptimes(&ran) != expected {
        ran.fail(&format!("expected (uptimes aside):\n{expected}"));
    }
    let ran = views.yoyoform(&["ps", "--json"]).code(0).stderr_is("");
    let listed: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let web = &listed[0];
    assert_eq!(web["address"], "service.web", "{ran}");
    assert_eq!(web["health"], "healthy", "{ran}");
    assert_eq!(web["ports"], serde_json::json!([port]), "{ran}");
    assert!(web["uptime_seconds"].is_u64(), "{ran}");
    assert_eq!(listed.as_array().unwrap().len(), 3, "{ran}");

    // exec: the command's output, error and exit status are yoyoform's; a resource with
    // replicas runs it in the first, and says so.
    let ran = views
        .yoyoform(&[
            "exec",
            "service.web",
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ])
        .code(3)
        .stderr_is("err\n");
    assert_eq!(ran.stdout, "out\n", "{ran}");
    let ran = views
        .yoyoform(&[
            "exec",
            "service.worker",
            "--",
            "sh",
            "-c",
            "echo in $HOSTNAME",
        ])
        .code(0)
        .stderr_is(
            "`service.worker` has 2 instances; running in `service.worker[0]` (name another \
             one, e.g. `service.worker[1]`, to run there)\n",
        );
    assert!(ran.stdout.starts_with("in "), "{ran}");

    // logs: every replica's lines in time order, after their names, padded to one width.
    let since = next_second().to_string();
    views.say("service.worker[0]", "one");
    views.say("service.worker[1]", "two");
    views.say("service.worker[0]", "three");
    let ran = views
        .yoyoform(&["logs", "service.worker", "--since", &since])
        .code(0)
        .stderr_is("");
    assert_eq!(
        ran.stdout, "service.worker[0] | one\nservice.worker[1] | two\nservice.worker[0] | three\n",
        "{ran}"
    );
    // Without addresses: everything; the last line of each, in time order.
    let ran = views
        .yoyoform(&["logs", "--tail", "1"])
        .code(0)
        .stderr_is("");
    assert_eq!(
        ran.stdout,
        "service.web       | web ready\nservice.worker[1] | two\nservice.worker[0] | three\n",
        "{ran}"
    );
    let ran = views.yoyoform(&["logs", "service.worker[1]"]).code(0);
    assert_eq!(
        ran.stdout, "service.worker[1] | started\nservice.worker[1] | two\n",
        "{ran}"
    );

    // logs -f: what was there, then a line written after it started.
    let mut following = views.follow(&["service.worker[1]", "--tail", "1"]);
    assert_eq!(following.next(), "service.worker[1] | two");
    views.say("service.worker[1]", "four");
    assert_eq!(following.next(), "service.worker[1] | four");
    assert!(
        following.running(),
        "logs -f goes on while the container runs"
    );
    drop(following);

    // Names that match nothing, or nothing that runs.
    views
        .yoyoform(&["logs", "service.wroker"])
        .code(1)
        .stderr_is(
            "Error: the state has no instance `service.wroker`; did you mean `service.worker`?\n",
        );
    views
        .yoyoform(&["exec", "service.web[3]", "--", "true"])
        .code(1)
        .stderr_is(
            "Error: the state has no instance `service.web[3]`; did you mean `service.web`?\n",
        );
    views
        .yoyoform(&["logs", "network.unused"])
        .code(1)
        .stderr_is(
            "Error: `network.unused` runs no container (it is a network); `yoyoform ps` lists \
             what does\n",
        );
    views
        .yoyoform(&["logs", "--since", "yesterday"])
        .code(2)
        .stderr_is(
            "error: invalid value 'yesterday' for '--since <DURATION|TIMESTAMP>': `yesterday` \
             is neither a duration (`10m`, `1h`), a UNIX timestamp nor an RFC 3339 time \
             (`2026-12-02T10:00:00Z`)\n\nFor more information, try '--help'.\n",
        );

    // On a terminal: the names in colour unless NO_COLOR; exec on a TTY of the container's.
    let (text, _) = views.on_terminal("logs service.worker --tail 1", None);
    assert!(
        text.contains("\x1b[36mservice.worker[0] |\x1b[0m three"),
        "{text:?}"
    );
    let (text, _) = views.on_terminal("logs service.worker --tail 1", Some("1"));
    assert!(
        text.contains("service.worker[0] | three") && !text.contains('\x1b'),
        "{text:?}"
    );
    let (text, code) = views.on_terminal("exec service.web -- sh -c 'tty; exit 5'", None);
    assert!(text.contains("/dev/pts/"), "{text:?}");
    assert_eq!(code, Some(5), "{text:?}");

    views
        .yoyoform(&["destroy", "--auto-approve"])
        .code(0)
        .stdout_has("Destroy complete!");
    let ran = views.yoyoform(&["ps"]).code(0).stderr_is("");
    assert_eq!(
        ran.stdout,
        format!(
            "Nothing is recorded for the project `{project}`: `yoyoform apply` brings it up.\n"
        ),
        "{ran}"
    );
}

/// On a single-node swarm an instance is one service and each task a process, named by
/// its slot: `ps` lists the tasks (read from their containers, which run on this daemon),
/// `exec` runs in one, `logs` interleaves the tasks' lines.
#[test]
fn ps_logs_and_exec_on_a_single_node_swarm() {
    // First the swarm, then the project: the project's sweep (dropped first) runs while
    // the swarm is still there to remove its services from.
    let _swarm = project::runtime()
        .block_on(async {
            let docker = resources::Docker::connect().await?;
            resources::swarm::testing::Swarm::join(&docker).await
        })
        .expect("a single-node swarm on the daemon");
    let views = Views::new("views-swarm", "swarm");
    views
        .yoyoform(&["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete! Resources: 3 added, 0 changed, 0 destroyed.");

    let ran = views.yoyoform(&["ps"]).code(0).stderr_is("");
    let project = &views.project;
    // The cells of each row (none holds two spaces); a task's container is named
    // `SERVICE.SLOT.TASK-ID`.
    let rows: Vec<Vec<&str>> = ran
        .stdout
        .lines()
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .collect()
        })
        .collect();
    let port = format!("0.0.0.0:{}->8000/tcp", views.port);
    let expected = [
        ["ADDRESS", "CONTAINER", "STATE", "HEALTH", "PORTS", "UPTIME"],
        [
            "service.web#1",
            "web.1.",
            "running",
            "healthy",
            &port,
            "Up ",
        ],
        ["service.worker#1", "worker.1.", "running", "-", "-", "Up "],
        ["service.worker#2", "worker.2.", "running", "-", "-", "Up "],
    ];
    let matches = rows.len() == expected.len()
        && rows
            .iter()
            .zip(&expected)
            .enumerate()
            .all(|(at, (row, expected))| {
                let container = format!("{project}-{}", expected[1]);
                row.len() == 6
                    && row[0] == expected[0]
                    && (at == 0 && row[1] == "CONTAINER" || row[1].starts_with(&container))
                    && row[2..5] == expected[2..5]
                    && row[5].starts_with(expected[5])
            });
    if !matches {
        ran.fail(&format!("expected rows like {expected:?}"));
    }
    let ran = views.yoyoform(&["ps", "--json"]).code(0);
    let listed: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(listed[0]["backend"], "swarm", "{ran}");

    let since = next_second().to_string();
    views.say("service.worker#1", "one");
    views.say("service.worker#2", "two");
    views.say("service.worker#1", "three");
    let ran = views
        .yoyoform(&["logs", "service.worker", "--since", &since])
        .code(0)
        .stderr_is("");
    assert_eq!(
        ran.stdout, "service.worker#1 | one\nservice.worker#2 | two\nservice.worker#1 | three\n",
        "{ran}"
    );
    let ran = views
        .yoyoform(&["logs", "service.worker#2", "--tail", "1"])
        .code(0);
    assert_eq!(ran.stdout, "service.worker#2 | two\n", "{ran}");
    views
        .yoyoform(&["exec", "service.worker", "--", "sh", "-c", "exit 4"])
        .code(4)
        .stderr_is(
            "`service.worker` has 2 instances; running in `service.worker#1` (name another \
             one, e.g. `service.worker#2`, to run there)\n",
        );
    views
        .yoyoform(&["logs", "service.worker#3"])
        .code(1)
        .stderr_is(
            "Error: `service.worker` has no task `#3`; its tasks: service.worker#1, \
             service.worker#2\n",
        );
    views.yoyoform(&["destroy", "--auto-approve"]).code(0);
}

/// Without a state file: `ps` and `logs` say there is nothing (exit 0), `ps --json` is an
/// empty list, `exec` names nothing; no daemon is asked. With one whose daemon cannot be
/// reached: the one line every command gives.
#[test]
fn nothing_recorded_and_no_daemon() {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        dir.path().join("env.toml"),
        "[project]\nname = \"quiet\"\n\n[service.web]\nimage = \"x\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Yoyoform::new(dir.path())
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .args(args)
            .run()
    };
    let nothing = "Nothing is recorded for the project `quiet`: `yoyoform apply` brings it up.\n";
    for args in [&["ps"][..], &["logs"], &["logs", "-f"]] {
        let ran = run(args).code(0).stderr_is("");
        assert_eq!(ran.stdout, nothing, "{ran}");
    }
    let ran = run(&["ps", "--json"]).code(0).stderr_is("");
    assert_eq!(ran.stdout, "[]\n", "{ran}");
    run(&["exec", "service.web", "--", "true"])
        .code(1)
        .stderr_is("Error: the state has no instance `service.web`\n");

    let state = serde_json::json!({
        "version": 1, "serial": 1, "lineage": "l",
        "resources": { "service.web": {
            "address": "service.web", "kind": "service", "docker_ids": ["c0ffee"],
            "attributes": { "name": "quiet-web" },
        }},
    });
    std::fs::create_dir(dir.path().join(".yoyoform")).unwrap();
    std::fs::write(
        dir.path().join(".yoyoform/quiet.state.json"),
        state.to_string(),
    )
    .unwrap();
    let unreachable = "Error: cannot connect to the Docker daemon at \
                       `unix:///nonexistent/docker.sock`: Socket not found: \
                       /nonexistent/docker.sock; check that the daemon runs and that --host \
                       or DOCKER_HOST names it\n";
    for args in [
        &["ps"][..],
        &["logs"],
        &["exec", "service.web", "--", "true"],
    ] {
        run(args).code(1).stderr_is(unreachable);
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("its address").port()
}
