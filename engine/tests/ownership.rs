//! Against the real Docker daemon: yoyoform never takes over or removes what it cannot
//! prove it made. A network an apply made and could not record (the window a kill leaves)
//! is adopted, once; one labelled for the project by hand is refused at plan, not
//! duplicated; a second state file for a running project is refused and touches nothing,
//! not even with destroy; a volume of someone else's under Redis's data name is refused at
//! plan.
//!
//! Everything the test makes is removed by label when it ends, passed or failed.

mod busybox;
mod project;
mod yoyoform;

use std::collections::BTreeMap;
use std::path::PathBuf;

use bollard::models::{NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::ListNetworksOptions;
use yoyoform::{Ran, Yoyoform};

const ENV: &str = r#"
[project]
name = "overridden-by-the-test"

[network.platform]

[service.web]
build = "tools"
network = "network.platform"
command = ["sleep", "600"]
health = false
"#;

/// The test's folder and project; the objects it makes by hand are removed with the rest.
struct Owned {
    dir: tempfile::TempDir,
    project: String,
    runtime: tokio::runtime::Runtime,
    docker: resources::Docker,
    /// Networks made by hand: some carry no label for the sweep to find them by.
    by_hand: std::cell::RefCell<Vec<String>>,
    _sweep: project::Sweep,
}

impl Drop for Owned {
    fn drop(&mut self) {
        // Before the sweep (a field, dropped after this). One already gone is fine.
        for id in self.by_hand.borrow().iter() {
            let _ = self
                .runtime
                .block_on(resources::network::remove(&self.docker, id));
        }
    }
}

impl Owned {
    fn new() -> Owned {
        let dir = tempfile::tempdir().expect("a temp dir");
        busybox::context(dir.path(), "tools");
        std::fs::write(dir.path().join("env.toml"), ENV).unwrap();
        let project = project::unique("owned");
        let runtime = project::runtime();
        let docker = runtime
            .block_on(resources::Docker::connect())
            .expect("Docker");
        Owned {
            dir,
            runtime,
            docker,
            by_hand: std::cell::RefCell::new(Vec::new()),
            _sweep: project::Sweep(project.clone()),
            project,
        }
    }

    fn state(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.state.json"))
    }

    fn yoyoform(&self, state: &str, args: &[&str]) -> Ran {
        Yoyoform::new(self.dir.path())
            .args(["--project", &self.project, "--no-color", "--state"])
            .args([self.state(state)])
            .args(args)
            .run()
    }

    fn lineage(&self, state: &str) -> String {
        let text = std::fs::read(self.state(state)).expect("a state file");
        let state: serde_json::Value = serde_json::from_slice(&text).unwrap();
        state["lineage"].as_str().unwrap().to_owned()
    }

    fn recorded_id(&self, state: &str, address: &str) -> String {
        let text = std::fs::read(self.state(state)).expect("a state file");
        let state: serde_json::Value = serde_json::from_slice(&text).unwrap();
        state["resources"][address]["docker_ids"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn name(&self, name: &str) -> String {
        format!("{}-{name}", self.project)
    }

    /// The ids of the networks called `name`.
    fn networks(&self, name: &str) -> Vec<String> {
        let filters = [("name".to_owned(), vec![name.to_owned()])].into();
        let networks = self
            .runtime
            .block_on(
                self.docker
                    .client()
                    .list_networks(Some(ListNetworksOptions {
                        filters: Some(filters),
                    })),
            )
            .expect("listing networks");
        networks
            .into_iter()
            .filter(|network| network.name.as_deref() == Some(name))
            .filter_map(|network| network.id)
            .collect()
    }

    fn make_network(&self, name: &str, labels: &[(&str, &str)]) -> String {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        let request = NetworkCreateRequest {
            name: name.to_owned(),
            labels: Some(labels.into_iter().collect()),
            ..Default::default()
        };
        let id = self
            .runtime
            .block_on(self.docker.client().create_network(request))
            .expect("creating a network")
            .id;
        self.by_hand.borrow_mut().push(id.clone());
        id
    }

    fn remove_network(&self, id: &str) {
        self.runtime
            .block_on(resources::network::remove(&self.docker, id))
            .expect("removing a network");
    }

    fn container_id(&self, name: &str) -> Option<String> {
        let found = self
            .runtime
            .block_on(resources::container::inspect(
                &self.docker,
                &self.name(name),
            ))
            .expect("inspecting a container");
        found
            .filter(|container| container.running)
            .map(|container| container.id)
    }
}

#[test]
fn a_network_labelled_by_hand_is_refused_and_one_this_state_made_is_adopted() {
    let owned = Owned::new();
    let network = owned.name("platform");

    // Labelled for the project, but not by an apply of this state: refused, not doubled.
    let by_hand = owned.make_network(&network, &[("yoyoform.project", &owned.project)]);
    let ran = owned.yoyoform("a", &["apply", "--auto-approve"]).code(1);
    let expected = format!(
        "network `{network}` ({}) is labelled for this project but not by yoyoform's apply (no lineage)",
        &by_hand[..12]
    );
    if !ran.stderr.contains(&expected) || !ran.stderr.contains("yoyoform import ADDRESS ID") {
        ran.fail(&format!("stderr should say: {expected}"));
    }
    assert_eq!(owned.networks(&network), vec![by_hand.clone()], "{ran}");
    owned.remove_network(&by_hand);

    // The window a kill leaves: the network made, with this state's labels, never
    // recorded. The next apply takes it as it is.
    owned
        .yoyoform("a", &["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete! Resources: 2 added");
    let lineage = owned.lineage("a");
    let made = owned.recorded_id("a", "network.platform");
    owned.yoyoform("a", &["destroy", "--auto-approve"]).code(0);
    assert!(
        owned.networks(&network).is_empty(),
        "destroy removed {made}"
    );
    let left = owned.make_network(
        &network,
        &[
            ("yoyoform.project", &owned.project),
            ("yoyoform.address", "network.platform"),
            ("yoyoform.lineage", &lineage),
        ],
    );
    let ran = owned
        .yoyoform("a", &["apply", "--auto-approve"])
        .code(0)
        .stdout_has("# network.platform will be adopted")
        .stdout_has("Apply complete!");
    assert_eq!(owned.networks(&network), vec![left.clone()], "{ran}");
    assert_eq!(owned.recorded_id("a", "network.platform"), left);
    owned
        .yoyoform("a", &["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
}

#[test]
fn a_second_state_file_is_refused_and_touches_nothing() {
    let owned = Owned::new();
    owned
        .yoyoform("first", &["apply", "--auto-approve"])
        .code(0);
    let web = owned.container_id("web").expect("web runs");
    let lineage = owned.lineage("first");

    for command in [&["plan"][..], &["apply", "--auto-approve"]] {
        let ran = owned.yoyoform("second", command).code(1);
        let expected = format!("was made by another state of this project (lineage {lineage})");
        for line in [
            format!("container `{}`", owned.name("web")),
            format!("network `{}`", owned.name("platform")),
            expected,
        ] {
            if !ran.stderr.contains(&line) {
                ran.fail(&format!("stderr should name {line}"));
            }
        }
    }
    // Nothing it records, nothing it made: its destroy removes nothing of the first's.
    owned
        .yoyoform("second", &["destroy", "--auto-approve"])
        .code(0);
    assert_eq!(
        owned.container_id("web"),
        Some(web.clone()),
        "web was touched"
    );
    assert_eq!(owned.networks(&owned.name("platform")).len(), 1);
    owned
        .yoyoform("first", &["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
}

#[test]
fn someone_elses_volume_under_redis_data_name_is_refused_at_plan() {
    let owned = Owned::new();
    std::fs::write(
        owned.dir.path().join("env.toml"),
        "[project]\nname = \"x\"\n\n[redis.queue]\n",
    )
    .unwrap();
    let volume = owned.name("queue-data");
    let request = VolumeCreateRequest {
        name: Some(volume.clone()),
        labels: Some([("owner".to_owned(), "someone-else".to_owned())].into()),
        ..Default::default()
    };
    owned
        .runtime
        .block_on(owned.docker.client().create_volume(request))
        .expect("creating the volume");
    let ran = owned.yoyoform("a", &["plan"]).code(1);
    let expected = format!("volume `{volume}` was not made by yoyoform");
    if !ran.stderr.contains(&expected) {
        ran.fail(&format!("stderr should say: {expected}"));
    }
    owned.yoyoform("a", &["destroy", "--auto-approve"]).code(0);
    let still = owned
        .runtime
        .block_on(resources::volume::inspect(&owned.docker, &volume))
        .expect("inspecting the volume");
    assert!(still.is_some(), "someone else's volume must stay");
    owned
        .runtime
        .block_on(resources::volume::remove(&owned.docker, &volume))
        .expect("removing the volume");
}

/// A replacement that would publish a host port something else holds is refused before
/// the old container goes: the entry point keeps answering.
#[test]
fn a_taken_host_port_leaves_the_old_one_running() {
    let owned = Owned::new();
    let env = |port: u16| {
        format!(
            "[project]\nname = \"x\"\n\n[service.web]\nbuild = \"tools\"\n\
             ports = [\"127.0.0.1:{port}:8000\"]\n\
             command = [\"httpd\", \"-f\", \"-p\", \"8000\", \"-h\", \"/bin\"]\n"
        )
    };
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let first = free.local_addr().unwrap().port();
    drop(free);
    std::fs::write(owned.dir.path().join("env.toml"), env(first)).unwrap();
    owned.yoyoform("a", &["apply", "--auto-approve"]).code(0);
    let web = owned.container_id("web").expect("web runs");

    // Something else holds the port the change moves to.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = holder.local_addr().unwrap().port();
    std::fs::write(owned.dir.path().join("env.toml"), env(taken)).unwrap();
    let ran = owned.yoyoform("a", &["apply", "--auto-approve"]).code(1);
    let expected = format!("host port {taken} that service.web publishes is taken on 127.0.0.1");
    if !ran.stderr.contains(&expected) {
        ran.fail(&format!("stderr should say: {expected}"));
    }
    if !ran
        .stderr
        .contains("Done before the failure: 0 added, 0 changed, 0 destroyed")
    {
        ran.fail("nothing was destroyed, and the summary should say so");
    }
    assert_eq!(
        owned.container_id("web"),
        Some(web),
        "the old one must keep running"
    );
    let answer = std::net::TcpStream::connect(("127.0.0.1", first));
    assert!(answer.is_ok(), "the old one still answers on {first}");
    drop(holder);
}

/// A command that changes the project holds it on the daemon: another one, from another
/// state file, is told who holds it; a hold left by a process of this machine that is gone
/// is taken over; a read-only plan needs none.
#[test]
fn the_project_is_held_on_the_daemon_while_it_changes() {
    let owned = Owned::new();
    let lock = engine::backend::docker::lock_name(&owned.project);
    let hold = |host: &str, pid: u32| {
        let holder = serde_json::json!({
            "user": "someone", "host": host, "pid": pid,
            "operation": "apply", "since": "2026-12-01T10:00:00Z"
        });
        let request = VolumeCreateRequest {
            name: Some(lock.clone()),
            labels: Some(
                [
                    ("yoyoform.lock-of".to_owned(), owned.project.clone()),
                    ("yoyoform.lock-holder".to_owned(), holder.to_string()),
                    ("yoyoform.lock-token".to_owned(), "theirs".to_owned()),
                ]
                .into(),
            ),
            ..Default::default()
        };
        owned
            .runtime
            .block_on(owned.docker.client().create_volume(request))
            .expect("creating the lock");
    };
    let lock_exists = || {
        owned
            .runtime
            .block_on(resources::volume::inspect(&owned.docker, &lock))
            .expect("inspecting the lock")
            .is_some()
    };

    hold("elsewhere", 1);
    let ran = owned.yoyoform("a", &["apply", "--auto-approve"]).code(1);
    let expected = format!(
        "project `{}` is being changed on the Docker daemon by someone@elsewhere (pid 1, apply) \
         since 2026-12-01T10:00:00Z, from another state file",
        owned.project
    );
    if !ran.stderr.contains(&expected) {
        ran.fail(&format!("stderr should say: {expected}"));
    }
    assert!(owned.container_id("web").is_none(), "nothing was made");
    // Reading is not changing.
    owned.yoyoform("a", &["plan"]).code(0);
    // force-unlock: only the hold named by its id, and only when asked for sure.
    owned
        .yoyoform("a", &["force-unlock", "mine"])
        .code(1)
        .stderr_is(&format!(
            "Error: project `{}` is held by someone@elsewhere (pid 1, apply) since \
             2026-12-01T10:00:00Z under another lock id than `mine`; nothing was removed\n",
            owned.project
        ));
    owned
        .yoyoform("a", &["force-unlock", "theirs"])
        .code(1)
        .stderr_is(
            "Error: force-unlock needs confirmation, and there is no terminal to ask on: pass \
             --force\n",
        );
    assert!(lock_exists(), "nothing was removed without confirmation");
    owned
        .yoyoform("a", &["force-unlock", "theirs", "--force"])
        .code(0)
        .stdout_has(&format!(
            "yoyoform let go of the project `{}`'s hold on the Docker daemon.",
            owned.project
        ));
    assert!(!lock_exists(), "force-unlock removed the hold");
    owned
        .yoyoform("a", &["force-unlock", "theirs", "--force"])
        .code(1)
        .stderr_has("is not held on the Docker daemon");

    // Left by a process of this machine that no longer runs: taken over, then let go.
    let here = state::LockInfo::current("apply").host;
    hold(&here, 999_999_999);
    owned
        .yoyoform("a", &["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete!");
    assert!(!lock_exists(), "apply lets go of the project when it ends");
}

/// `import` records an object made by hand as a resource of env.toml, without touching it;
/// an object that is not the one env.toml names, or none, is refused.
#[test]
fn a_network_made_by_hand_is_imported() {
    let owned = Owned::new();
    let network = owned.name("platform");
    let id = owned.make_network(&network, &[]);
    let other = owned.make_network(&owned.name("other"), &[]);
    let ran = owned
        .yoyoform("a", &["import", "network.platform", &other])
        .code(1);
    let expected = format!(
        "network.platform is planned as the network `{network}`; `{other}` is called `{}`",
        owned.name("other")
    );
    if !ran.stderr.contains(&expected) {
        ran.fail(&format!("stderr should say: {expected}"));
    }
    owned.remove_network(&other);
    owned
        .yoyoform("a", &["import", "network.platform", "no-such-network"])
        .code(1)
        .stderr_is("Error: there is no network `no-such-network` to import\n");
    owned
        .yoyoform("a", &["import", "network.platform", &id])
        .code(0)
        .stdout_has("Import complete!");
    assert_eq!(owned.recorded_id("a", "network.platform"), id);
    let ran = owned
        .yoyoform("a", &["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("Plan: 1 to add, 0 to change, 0 to destroy.");
    if ran.stdout.contains("network.platform will") {
        ran.fail("the imported network is managed as it is");
    }
    owned
        .yoyoform("a", &["import", "network.platform", &id])
        .code(1)
        .stderr_is(
            "Error: network.platform is recorded in the state file already: there is nothing to import\n",
        );
}

/// The state a destroy leaves when it is killed while Docker stops a container: the record
/// marked, the container still running for a moment. One apply makes it anew, and the
/// plan after it has nothing to do (it did not trust the container that was going).
#[test]
fn a_destroy_killed_while_it_stopped_a_container_is_repaired_by_one_apply() {
    let owned = Owned::new();
    owned.yoyoform("a", &["apply", "--auto-approve"]).code(0);
    let web = owned.container_id("web").expect("web runs");
    let path = owned.state("a");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    state["resources"]["service.web"]["tainted"] = true.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    // Docker goes on stopping it after the destroy died.
    let stopping = {
        let name = owned.name("web");
        std::thread::spawn(move || {
            let _ = std::process::Command::new("docker")
                .args(["stop", "-t", "1", &name])
                .output();
        })
    };
    owned
        .yoyoform("a", &["apply", "--auto-approve"])
        .code(0)
        .stdout_has("its removal was started and did not finish")
        .stdout_has("Apply complete!");
    stopping.join().unwrap();
    let now = owned.container_id("web").expect("web runs again");
    assert_ne!(now, web, "web was made anew");
    owned
        .yoyoform("a", &["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
}
