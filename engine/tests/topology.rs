//! Against the real Docker daemon, an environment that is not the Yoyo platform: a job
//! seeds a volume that a service then serves (one volume mounted by the two in turn), the
//! service sits on two networks and is reached from each, its image has no health check of
//! its own so env.toml gives one, its restart policy is seen on the container, a failing
//! job holds back its dependent, and a volume yoyoform did not make is left alone.
//!
//! The images are built here from Debian's static busybox (no registry can be reached).
//! Everything the test makes is removed by label when it ends, passed or failed.

mod busybox;
mod project;
mod yoyoform;

use std::time::Duration;

use bollard::models::VolumeCreateRequest;
use yoyoform::{Ran, Yoyoform};

const ENV: &str = r#"
[project]
name = "overridden-by-the-test"

[variable.port]
default = 1

[network.front]

[network.back]

[volume.data]

# Writes what the service serves, before it starts.
[job.seed]
build = "tools"
volumes = { "/data" = "volume.data" }
command = ["sh", "-c", "echo seeded > /data/greeting"]

[service.web]
build = "tools"
networks = ["network.front", "network.back"]
volumes = { "/srv" = "volume.data" }
ports = ["127.0.0.1:${var.port}:8000"]
command = ["httpd", "-f", "-p", "8000", "-h", "/srv"]
health = { test = ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/greeting"], interval = "500ms" }
restart = "on-failure"
depends_on = ["job.seed"]

# Each asks the service by name over one of its networks.
[job.from-front]
build = "tools"
network = "network.front"
command = ["sh", "-c", "wget -q -O - http://web:8000/greeting | grep seeded"]
depends_on = ["service.web"]

[job.from-back]
build = "tools"
network = "network.back"
command = ["sh", "-c", "wget -q -O - http://web:8000/greeting | grep seeded"]
depends_on = ["service.web"]
"#;

const BROKEN_JOB: &str = r#"
[job.broken]
build = "tools"
command = ["sh", "-c", "echo about to fail; exit 3"]

[service.after-broken]
build = "tools"
command = ["sleep", "600"]
health = false
depends_on = ["job.broken"]
"#;

const FOREIGN_VOLUME: &str = "\n[volume.foreign]\n";

/// The test's folder (env.toml, the image's build context, the state file), project and
/// port; dropping it removes everything labelled with the project, and the volume it made
/// as someone else.
struct Topology {
    dir: tempfile::TempDir,
    project: String,
    port: u16,
    runtime: tokio::runtime::Runtime,
    _sweep: project::Sweep,
}

impl Topology {
    fn new() -> Topology {
        let dir = tempfile::tempdir().expect("a temp dir");
        busybox::context(dir.path(), "tools");
        let project = project::unique("topology");
        Topology {
            dir,
            port: free_port(),
            runtime: project::runtime(),
            _sweep: project::Sweep(project.clone()),
            project,
        }
    }

    fn write(&self, env: &str) {
        std::fs::write(self.dir.path().join("env.toml"), env).unwrap();
    }

    fn yoyoform(&self, args: &[&str]) -> Ran {
        Yoyoform::new(self.dir.path())
            .args(["--project", &self.project, "--no-color"])
            .args(["--var".to_owned(), format!("port={}", self.port)])
            .args(args)
            .run()
    }

    fn docker(&self) -> resources::Docker {
        self.runtime
            .block_on(resources::Docker::connect())
            .expect("Docker")
    }

    fn inspect(&self, name: &str) -> bollard::models::ContainerInspectResponse {
        let docker = self.docker();
        let name = format!("{}-{name}", self.project);
        self.runtime
            .block_on(docker.client().inspect_container(&name, None))
            .unwrap_or_else(|error| panic!("inspecting {name}: {error}"))
    }

    fn volume_exists(&self, name: &str) -> bool {
        let docker = self.docker();
        let name = format!("{}-{name}", self.project);
        self.runtime
            .block_on(resources::volume::inspect(&docker, &name))
            .expect("inspecting a volume")
            .is_some()
    }

    /// GET a path of the service through its published port.
    fn get(&self, path: &str) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        let docker = self.docker();
        let foreign = format!("{}-foreign", self.project);
        let _ = self
            .runtime
            .block_on(resources::volume::remove(&docker, &foreign));
    }
}

#[test]
fn volumes_networks_jobs_health_and_restart_on_docker() {
    let topology = Topology::new();
    topology.write(ENV);

    let ran = topology
        .yoyoform(&["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete! Resources: 7 added, 0 changed, 0 destroyed.");
    // The job wrote into the volume before the service, which mounts it, started.
    let response = topology.get("/greeting");
    if !response.ends_with("\r\n\r\nseeded\n") {
        ran.fail(&format!(
            "the service should serve what the job wrote: {response:?}"
        ));
    }
    let web = topology.inspect("web");
    let networks = web
        .network_settings
        .and_then(|settings| settings.networks)
        .unwrap_or_default();
    for network in ["front", "back"] {
        let name = format!("{}-{network}", topology.project);
        let aliases = networks
            .get(&name)
            .and_then(|endpoint| endpoint.aliases.clone())
            .unwrap_or_else(|| panic!("web is not on {name}: {networks:?}"));
        assert!(aliases.contains(&"web".to_owned()), "{aliases:?}");
    }
    let policy = web
        .host_config
        .and_then(|host| host.restart_policy)
        .and_then(|policy| policy.name)
        .map(|name| name.to_string());
    assert_eq!(policy.as_deref(), Some("on-failure"));
    let test = web
        .config
        .and_then(|config| config.healthcheck)
        .and_then(|check| check.test);
    assert_eq!(
        test.unwrap_or_default(),
        [
            "CMD",
            "wget",
            "-q",
            "-O",
            "/dev/null",
            "http://127.0.0.1:8000/greeting"
        ]
    );

    // Done is done: the jobs do not run again.
    topology
        .yoyoform(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // A job that fails: its dependent is skipped, the cause is named with its logs, and
    // nothing of it is left.
    topology.write(&format!("{ENV}{BROKEN_JOB}"));
    let ran = topology
        .yoyoform(&["apply", "--auto-approve"])
        .code(1)
        .stdout_has("service.after-broken: Skipped, because job.broken failed");
    for expected in ["Error: job.broken:", "exited with code 3", "about to fail"] {
        if !ran.stderr.contains(expected) {
            ran.fail(&format!("stderr should contain {expected:?}"));
        }
    }
    let left = project::labelled(&topology.project);
    let broken = |object: &String| object.starts_with("container") && object.contains("broken");
    if left.iter().any(broken) {
        ran.fail(&format!("the failed job left a container: {left:?}"));
    }
    topology.write(ENV);
    topology
        .yoyoform(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // A volume of the name yoyoform would give, made by someone else: not adopted.
    let foreign = format!("{}-foreign", topology.project);
    let docker = topology.docker();
    topology
        .runtime
        .block_on(docker.client().create_volume(VolumeCreateRequest {
            name: Some(foreign.clone()),
            labels: Some([("owner".to_owned(), "someone-else".to_owned())].into()),
            ..Default::default()
        }))
        .expect("creating the foreign volume");
    topology.write(&format!("{ENV}{FOREIGN_VOLUME}"));
    let ran = topology.yoyoform(&["apply", "--auto-approve"]).code(1);
    // Refused at plan, before anything is made.
    let refusal = format!("volume `{foreign}` was not made by yoyoform");
    if !ran.stderr.contains(&refusal) {
        ran.fail(&format!("stderr should say: {refusal}"));
    }

    // Destroy removes what it made, the seeded volume included, and nothing else.
    let ran = topology
        .yoyoform(&["destroy", "--auto-approve"])
        .code(0)
        .stdout_has("Destroy complete!");
    let left = project::labelled(&topology.project);
    if !left.is_empty() {
        ran.fail(&format!("destroy left {left:?}"));
    }
    assert!(!topology.volume_exists("data"), "the seeded volume is gone");
    assert!(
        topology.volume_exists("foreign"),
        "someone else's volume stays"
    );
}

/// A port nothing listens on right now (the kernel's pick).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("its address").port()
}
