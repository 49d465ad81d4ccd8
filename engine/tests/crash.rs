//! Against the real Docker daemon: SIGKILL of `apply` and of `destroy` at 20 moments spread
//! over their run. After each kill, one `apply` must bring the environment up and say so,
//! and the `plan` right after must have nothing to do: nothing a killed command left (a
//! network made and not recorded, a container half-stopped, a replacement half-way) may
//! stand in the way or be mistaken for done. At the end, destroy leaves nothing labelled.
//!
//! Bounded: 20 trials of a small environment whose images are built once, about three
//! minutes here. Everything is removed by label when it ends, passed or failed.

mod busybox;
mod project;
mod yoyoform;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bollard::query_parameters::ListNetworksOptions;
use yoyoform::{Ran, Yoyoform};

/// A little of everything apply does: a network, a volume, a job seeding it, a service
/// publishing a port and waiting for its health check, replicas.
const ENV: &str = r#"
[project]
name = "overridden-by-the-test"

[variable.port]
default = 1

[network.net]

[volume.data]

[job.seed]
build = "tools"
volumes = { "/data" = "volume.data" }
command = ["sh", "-c", "echo seeded > /data/greeting"]

[service.web]
build = "tools"
network = "network.net"
volumes = { "/srv" = "volume.data" }
ports = ["127.0.0.1:${var.port}:8000"]
command = ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 8000 -h /srv & wait"]
health = { test = ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/greeting"], interval = "300ms" }
depends_on = ["job.seed"]

[service.worker]
build = "tools"
network = "network.net"
replicas = 2
command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
health = false
"#;

/// Kills of apply, then of destroy.
const APPLY_KILLS: u32 = 12;
const DESTROY_KILLS: u32 = 8;

struct Crash {
    dir: tempfile::TempDir,
    project: String,
    port: u16,
    _sweep: project::Sweep,
}

impl Crash {
    fn new() -> Crash {
        let dir = tempfile::tempdir().expect("a temp dir");
        busybox::context(dir.path(), "tools");
        std::fs::write(dir.path().join("env.toml"), ENV).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let project = project::unique("crash");
        Crash {
            dir,
            port,
            _sweep: project::Sweep(project.clone()),
            project,
        }
    }

    fn args(&self) -> Vec<String> {
        vec![
            "--project".to_owned(),
            self.project.clone(),
            "--no-color".to_owned(),
            "--var".to_owned(),
            format!("port={}", self.port),
        ]
    }

    fn yoyoform(&self, args: &[&str]) -> Ran {
        Yoyoform::new(self.dir.path())
            .args(self.args())
            .args(args)
            .run()
    }

    /// Starts `args` and SIGKILLs it after `delay` (or lets it be, if it ended first).
    fn kill_after(&self, args: &[&str], delay: Duration) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_yoyoform"))
            .current_dir(self.dir.path())
            .args(self.args())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting yoyoform");
        let deadline = Instant::now() + delay;
        while Instant::now() < deadline {
            if child.try_wait().expect("waiting").is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// One apply brings it all up; the plan after it has nothing to do.
    fn converges(&self, after: &str) {
        let ran = self.yoyoform(&["apply", "--auto-approve"]);
        if ran.status.code() != Some(0) || !ran.stdout.contains("Apply complete!") {
            ran.fail(&format!(
                "after {after}, one apply should bring everything up"
            ));
        }
        let ran = self.yoyoform(&["plan", "--detailed-exitcode"]);
        if ran.status.code() != Some(0) {
            ran.fail(&format!(
                "after {after} and one apply, plan should have nothing to do"
            ));
        }
        // One network of the name: a killed apply did not leave a second.
        let name = format!("{}-net", self.project);
        let networks = networks_named(&name);
        assert_eq!(
            networks, 1,
            "after {after}: {networks} networks named {name}"
        );
    }

    fn timed(&self, args: &[&str]) -> Duration {
        let began = Instant::now();
        self.yoyoform(args).code(0);
        began.elapsed()
    }
}

fn networks_named(name: &str) -> usize {
    project::runtime().block_on(async {
        let docker = resources::Docker::connect().await.expect("Docker");
        let filters = [("name".to_owned(), vec![name.to_owned()])].into();
        let networks = docker
            .client()
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filters),
            }))
            .await
            .expect("listing networks");
        networks
            .iter()
            .filter(|network| network.name.as_deref() == Some(name))
            .count()
    })
}

#[test]
fn kills_of_apply_and_destroy_at_any_moment_converge_with_one_apply() {
    let crash = Crash::new();
    let began = Instant::now();
    // The images are built once; the runs timed and killed reuse them.
    crash.yoyoform(&["apply", "--auto-approve"]).code(0);
    crash
        .yoyoform(&["destroy", "--auto-approve", "--keep-images"])
        .code(0);
    let apply = crash.timed(&["apply", "--auto-approve"]);
    let destroy = crash.timed(&["destroy", "--auto-approve", "--keep-images"]);
    eprintln!("[crash] apply takes {apply:.1?}, destroy {destroy:.1?}");

    for trial in 0..APPLY_KILLS {
        let delay = apply.mul_f64((f64::from(trial) + 0.5) / f64::from(APPLY_KILLS));
        crash.kill_after(&["apply", "--auto-approve"], delay);
        crash.converges(&format!("apply killed after {delay:.2?}"));
        // The next trial starts from nothing.
        crash
            .yoyoform(&["destroy", "--auto-approve", "--keep-images"])
            .code(0);
    }
    crash.yoyoform(&["apply", "--auto-approve"]).code(0);
    for trial in 0..DESTROY_KILLS {
        let delay = destroy.mul_f64((f64::from(trial) + 0.5) / f64::from(DESTROY_KILLS));
        crash.kill_after(&["destroy", "--auto-approve", "--keep-images"], delay);
        crash.converges(&format!("destroy killed after {delay:.2?}"));
    }

    let ran = crash
        .yoyoform(&["destroy", "--auto-approve"])
        .code(0)
        .stdout_has("Destroy complete!");
    let left = project::labelled(&crash.project);
    if !left.is_empty() {
        ran.fail(&format!("destroy left {left:?}"));
    }
    eprintln!(
        "[crash] {} trials in {:.1?}",
        APPLY_KILLS + DESTROY_KILLS,
        began.elapsed()
    );
}
