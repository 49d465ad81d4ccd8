//! The repository's env.toml on a real multi-node swarm: a manager and two workers, each
//! a dockerd in a network namespace of its own, with a registry, made by
//! `scripts/swarm-cluster` (`scripts/test-swarm-cluster` makes one, runs this test on it
//! and removes it, passed or failed). Two keys changed: `backend = "swarm"` and the
//! cluster's `registry`. Applied with the loyalty workers spread over the nodes, the
//! customer flow, then a worker node lost (its dockerd and containers killed): its tasks
//! move to the other nodes and no transaction the platform accepted is lost.
//!
//! Ignored by `cargo test`: it needs root and the cluster; `scripts/test-swarm-cluster`
//! runs it. Every request goes to the manager's own address in the cluster's namespace,
//! where the router publishes its port.

mod platform;
mod project;
mod yoyoform;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use platform::{Clock, Platform, REPOSITORY};
use reqwest::StatusCode;
use resources::swarm::task::TaskState;

/// At most this many transactions while the node is lost, one every 100 ms.
const TRANSACTIONS: usize = 600;
/// How long the tasks may take to move off the lost node (heartbeat 1 s: about 3 s).
const MOVE_WITHIN: Duration = Duration::from_secs(60);
/// How long the accepted transactions may take to be counted: an entry the lost worker
/// held is claimed by another after CLAIM_IDLE_MS (10 s).
const COUNTED_WITHIN: Duration = Duration::from_secs(60);

#[test]
#[ignore = "needs a multi-node test swarm: run scripts/test-swarm-cluster"]
fn the_platform_on_a_three_node_swarm() {
    let cluster = Cluster::from_env();
    let mut platform = Platform::new("cluster");
    // The router publishes in host mode on the manager: reached at the manager's address.
    platform.address = cluster.get("MANAGER_ADDR");
    let mut clock = Clock::new("cluster");
    let copy = platform.write_copy(|document| {
        let project = document["project"].as_table_mut().expect("[project]");
        project.insert("backend".into(), "swarm".into());
        project.insert("registry".into(), cluster.get("REGISTRY").into());
    });

    let ran = platform
        .yoyoform(Some(&copy), &["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete! Resources: 7 added, 0 changed, 0 destroyed.");
    clock.lap("first apply", &ran);

    // The images came from the registry: every service names it.
    for name in [
        "auth-api",
        "transaction-api",
        "loyalty-worker",
        "queue",
        "platform",
    ] {
        let image = platform.service(name).image;
        let registry = cluster.get("REGISTRY");
        if !image.starts_with(&format!("{registry}/")) {
            ran.fail(&format!("{name} runs {image}, not an image of {registry}"));
        }
    }
    // Where the tasks run: one loyalty worker on each node (swarm spreads a service's
    // replicas), the router and Redis on the manager (its port, its volume).
    let nodes = cluster.node_ids();
    let workers = platform.running_on("loyalty-worker");
    let spread: BTreeSet<&String> = workers.iter().collect();
    assert_eq!(
        spread.len(),
        3,
        "loyalty-worker tasks on {:?} (nodes {nodes:?})",
        names(&workers, &nodes)
    );
    for name in ["queue", "platform"] {
        assert_eq!(
            names(&platform.running_on(name), &nodes),
            vec!["manager"],
            "{name}"
        );
    }
    eprintln!(
        "[cluster] loyalty-worker on {:?}, auth-api on {:?}, transaction-api on {:?}",
        names(&workers, &nodes),
        names(&platform.running_on("auth-api"), &nodes),
        names(&platform.running_on("transaction-api"), &nodes)
    );

    // The customer flow through the router.
    let alice = platform.token("alice");
    platform.transact(&alice, StatusCode::OK);
    platform.wait_for_stamps(&alice, 1);
    let charlie = platform.token("charlie");
    let refused = platform.transact(&charlie, StatusCode::FORBIDDEN);
    assert_eq!(refused["error"], "User cannot transact");
    let ran = platform
        .yoyoform(Some(&copy), &["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
    clock.lap("customer flow, no changes", &ran);

    // A worker node lost while bob pays, one request at a time: every transaction the
    // platform accepted (200) must be counted, and none twice. A request that got no
    // answer, or a 5xx, may or may not have been queued: it bounds the count from above.
    let lost = "worker1";
    let lost_id = nodes[lost].clone();
    let mut bob = Token::new(&platform, "bob");
    let (mut accepted, mut unsure, mut refused) = (0u64, 0u64, 0u64);
    let mut killed_at = None;
    let mut moved_at = None;
    let started = Instant::now();
    for round in 0..TRANSACTIONS {
        if round == 20 {
            cluster.kill(lost);
            killed_at = Some(Instant::now());
        }
        if let Some(token) = bob.get(&platform) {
            match platform.try_transact(&token) {
                Ok((StatusCode::OK, _)) => accepted += 1,
                Ok((status, _)) if status.is_server_error() => unsure += 1,
                Ok((status, body)) => {
                    refused += 1;
                    eprintln!("[cluster] refused: {status} {body}");
                }
                Err(_) => unsure += 1,
            }
        }
        // Once every task runs again off the lost node, a few more rounds, then stop.
        if killed_at.is_some() && moved_at.is_none() && round % 10 == 0 {
            let off = ["auth-api", "transaction-api", "loyalty-worker"]
                .iter()
                .all(|name| platform.all_running_off(name, &lost_id));
            if off {
                moved_at = Some(round);
            }
        }
        if moved_at.is_some_and(|at| round >= at + 30) {
            break;
        }
        if killed_at.is_some_and(|at| at.elapsed() > MOVE_WITHIN) {
            panic!(
                "the tasks did not move off {lost} within {MOVE_WITHIN:?}: loyalty-worker \
                 on {:?}",
                names(&platform.running_on("loyalty-worker"), &nodes)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let moved_after = killed_at.expect("killed").elapsed();
    assert!(moved_at.is_some(), "the tasks had not moved off {lost}");
    assert!(accepted > 20, "only {accepted} transactions accepted");
    assert_eq!(refused, 0, "transactions refused");
    // Settled: three running, none on the lost node (a task swarm restarts in between,
    // as one whose health check failed, shows in the report with its error).
    let settled = Instant::now() + Duration::from_secs(30);
    let mut workers = platform.running_on("loyalty-worker");
    while (workers.len() != 3 || workers.contains(&lost_id)) && Instant::now() < settled {
        std::thread::sleep(Duration::from_millis(500));
        workers = platform.running_on("loyalty-worker");
    }
    eprintln!("{}", platform.tasks_report("loyalty-worker", &nodes));
    assert!(
        workers.len() == 3 && !workers.contains(&lost_id),
        "loyalty-worker tasks running on {:?}, not 3 off {lost}:\n{}",
        names(&workers, &nodes),
        platform.tasks_report("loyalty-worker", &nodes)
    );
    eprintln!(
        "[cluster] {lost} lost: tasks moved within {moved_after:.1?}, loyalty-worker now on \
         {:?}; {accepted} accepted, {unsure} unsure in {:.1?}",
        names(&workers, &nodes),
        started.elapsed()
    );

    // Every accepted transaction counted, none twice.
    let deadline = Instant::now() + COUNTED_WITHIN;
    let counted = loop {
        let token = bob.get(&platform).expect("a token for bob");
        let counted = platform.counted(&token);
        if matches!(counted, Ok(n) if n >= accepted) || Instant::now() > deadline {
            break counted;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let counted = counted.unwrap_or_else(|problem| platform.http_failed(&problem));
    assert!(
        (accepted..=accepted + unsure).contains(&counted),
        "{accepted} accepted and {unsure} unsure, but {counted} counted"
    );
    eprintln!("[cluster] {counted} counted of {accepted} accepted and {unsure} unsure");
    let ran = platform
        .yoyoform(Some(&copy), &["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
    clock.lap("node lost, tasks moved, transactions counted", &ran);

    let ran = platform.destroy_leaves_nothing(&copy);
    clock.lap("destroy", &ran);
    eprintln!("[cluster] total {:.1?}", clock.started.elapsed());
}

/// The test swarm `scripts/swarm-cluster up` made: its folder (`YOYOFORM_SWARM_CLUSTER`)
/// and what its `env` file says.
struct Cluster {
    dir: PathBuf,
    env: BTreeMap<String, String>,
}

impl Cluster {
    fn from_env() -> Cluster {
        let dir = std::env::var_os("YOYOFORM_SWARM_CLUSTER")
            .map(PathBuf::from)
            .expect("YOYOFORM_SWARM_CLUSTER names a test swarm's folder: run scripts/test-swarm-cluster");
        let text = std::fs::read_to_string(dir.join("env"))
            .unwrap_or_else(|error| panic!("{}/env: {error}", dir.display()));
        let env: BTreeMap<String, String> = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        let cluster = Cluster { dir, env };
        // The test's own calls to Docker, and yoyoform's, go to DOCKER_HOST.
        assert_eq!(
            std::env::var("DOCKER_HOST").ok(),
            Some(cluster.get("DOCKER_HOST")),
            "DOCKER_HOST must be the test swarm's manager"
        );
        cluster
    }

    fn get(&self, key: &str) -> String {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {}/env", self.dir.display()))
            .clone()
    }

    /// Each node's swarm id, by name.
    fn node_ids(&self) -> BTreeMap<String, String> {
        self.get("NODES")
            .split(',')
            .map(|node| {
                let key = format!("{}_NODE_ID", node.to_uppercase().replace('-', "_"));
                (node.to_owned(), self.get(&key))
            })
            .collect()
    }

    /// Kills the node's dockerd and everything it runs: the node is lost.
    fn kill(&self, node: &str) {
        let script = Path::new(REPOSITORY).join("scripts/swarm-cluster");
        let status = Command::new(script)
            .arg("stop-node")
            .arg(&self.dir)
            .args([node, "--kill"])
            .status()
            .expect("running scripts/swarm-cluster");
        assert!(status.success(), "stop-node {node} --kill: {status}");
    }
}

/// The names of the nodes with these ids, sorted.
fn names(ids: &[String], nodes: &BTreeMap<String, String>) -> Vec<String> {
    let mut found: Vec<String> = ids
        .iter()
        .map(|id| {
            nodes
                .iter()
                .find(|(_, node)| *node == id)
                .map_or_else(|| id.clone(), |(name, _)| name.clone())
        })
        .collect();
    found.sort();
    found
}

/// A user's token, fetched again before its 30 s are up; `None` while auth-api does not
/// answer (its task may be on the lost node).
struct Token {
    user: &'static str,
    token: Option<(String, Instant)>,
}

impl Token {
    fn new(platform: &Platform, user: &'static str) -> Token {
        let mut token = Token { user, token: None };
        token.get(platform).expect("a first token");
        token
    }

    fn get(&mut self, platform: &Platform) -> Option<String> {
        let fresh = |(_, at): &(String, Instant)| at.elapsed() < Duration::from_secs(20);
        if !self.token.as_ref().is_some_and(fresh) {
            self.token = platform
                .try_token(self.user)
                .ok()
                .map(|token| (token, Instant::now()));
        }
        self.token.as_ref().map(|(token, _)| token.clone())
    }
}

/// What only a swarm has: services and where their tasks run.
impl Platform {
    /// The nodes the service's running tasks are on, one entry a task.
    fn running_on(&self, name: &str) -> Vec<String> {
        self.tasks(name)
            .into_iter()
            .filter(|task| {
                task.desired_state == TaskState::Running && task.state == TaskState::Running
            })
            .filter_map(|task| task.node_id)
            .collect()
    }

    /// Every task of the service, one a line: slot, node, desired and actual state,
    /// swarm's message and error.
    fn tasks_report(&self, name: &str, nodes: &BTreeMap<String, String>) -> String {
        let service = format!("{}-{name}", self.project);
        self.tasks(name)
            .iter()
            .map(|task| {
                let node = task.node_id.clone().map(|id| names(&[id], nodes).remove(0));
                format!(
                    "  {service} slot {:?} on {node:?}: desired {:?}, {:?} ({}) {:?}",
                    task.slot, task.desired_state, task.state, task.message, task.error
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Whether every task swarm wants running runs, none on `node`.
    fn all_running_off(&self, name: &str, node: &str) -> bool {
        let tasks = self.tasks(name);
        let wanted: Vec<_> = tasks
            .iter()
            .filter(|task| task.desired_state == TaskState::Running)
            .collect();
        !wanted.is_empty()
            && wanted.iter().all(|task| {
                task.state == TaskState::Running && task.node_id.as_deref() != Some(node)
            })
    }
}
