//! The repository's env.toml on a single-node Docker swarm, with one key changed
//! (`[project] backend = "swarm"`): moved there from one daemon, the customer flow through
//! the router, `No changes.`, the loyalty workers scaled 3 → 5 → 2 in place, an env change
//! rolled out with no request through the router failing, a secret and a file taken off
//! by hand put back, a new secret value rolled out, a service scaled by hand planned back,
//! and destroy leaving no service, secret, config or network.
//!
//! The swarm is the running daemon's: made by the test if the daemon is in none (and left
//! again when the test ends), used as it is otherwise (and never left). One test, because
//! each step starts from where the one before left the platform; everything it makes is
//! removed by label when it ends, passed or failed.

mod platform;
mod project;
mod yoyoform;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use platform::{Clock, Platform, Probe, change_headers};
use reqwest::StatusCode;
use resources::swarm::task::TaskState;

#[test]
fn the_platform_on_a_single_node_swarm() {
    let runtime = project::runtime();
    // First the swarm, then the platform: the platform's sweep (dropped first) runs while
    // the swarm is still there to remove its services from.
    let _swarm = runtime
        .block_on(async {
            let docker = resources::Docker::connect().await?;
            resources::swarm::testing::Swarm::join(&docker).await
        })
        .expect("a single-node swarm on the daemon");
    let platform = Platform::new("swarm");
    let mut clock = Clock::new("swarm");
    let on_swarm = |replicas: i64, marker: Option<&str>| -> PathBuf {
        platform.write_copy(|document| {
            set(document, &["project", "backend"], "swarm".into());
            set(
                document,
                &["service", "loyalty-worker", "replicas"],
                replicas.into(),
            );
            if let Some(marker) = marker {
                set(
                    document,
                    &["service", "transaction-api", "env", "SWARM_MARKER"],
                    marker.into(),
                );
            }
        })
    };

    // Up on one daemon, as the repository's env.toml is.
    let ran = platform
        .yoyoform(None, &["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete! Resources: 9 added, 0 changed, 0 destroyed.");
    clock.lap("apply on docker", &ran);

    // Moved to the swarm with the one key changed: everything replaced, old first, and
    // the plan says why; the three worker containers become one service.
    let copy = on_swarm(3, None);
    let moves = "# (the project moves from the docker backend to the swarm backend)";
    let ran = platform
        .yoyoform(Some(&copy), &["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("# service.auth-api must be replaced")
        .stdout_has(moves)
        .stdout_has("# service.loyalty-worker[2] will be destroyed")
        .stdout_has("# service.loyalty-worker will be created")
        .stdout_has("+ replicas")
        .stdout_has("+ update_order")
        .stdout_has("\"JWT_SECRET_FILE\" = \"/run/secrets/jwt\"")
        .stdout_has("+ driver")
        .stdout_has("Plan: 7 to add, 0 to change, 9 to destroy.");
    clock.lap("plan", &ran);
    let ran = platform
        .yoyoform(Some(&copy), &["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete! Resources: 7 added, 0 changed, 9 destroyed.")
        .stdout_has(&format!("url = \"{}\"", platform.url()));
    clock.lap("moved to swarm", &ran);
    platform.state_is_private(&ran);
    assert_eq!(platform.running_tasks("loyalty-worker"), 3);
    // The secret reaches the services as a file, never in their environment.
    let env = platform.service("auth-api").env;
    assert!(
        env.contains_key("JWT_SECRET_FILE") && !env.contains_key("JWT_SECRET"),
        "{env:?}"
    );

    // The customer flow through the router: alice pays and is stamped, charlie may not pay.
    let alice = platform.token("alice");
    platform.transact(&alice, StatusCode::OK);
    platform.wait_for_stamps(&alice, 1);
    let charlie = platform.token("charlie");
    let refused = platform.transact(&charlie, StatusCode::FORBIDDEN);
    assert_eq!(refused["error"], "User cannot transact");
    clock.lap("customer flow", &ran);
    let ran = platform
        .yoyoform(Some(&copy), &["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.")
        .stderr_is("");
    clock.lap("plan, unchanged", &ran);

    // The workers scaled in place: one service whose replica count changes.
    for (from, to) in [(3, 5), (5, 2)] {
        let copy = on_swarm(to, None);
        let ran = platform
            .yoyoform(Some(&copy), &["plan", "--detailed-exitcode"])
            .code(2)
            .stdout_has("# service.loyalty-worker will be updated in-place")
            .stdout_has("~ replicas")
            .stdout_has(&format!("= \"{from}\" -> \"{to}\""))
            .stdout_has("Plan: 0 to add, 1 to change, 0 to destroy.");
        let headers = change_headers(&ran.stdout);
        if headers.len() != 1 {
            ran.fail(&format!("expected exactly one change, found {headers:?}"));
        }
        let ran = platform
            .yoyoform(Some(&copy), &["apply", "--auto-approve"])
            .code(0)
            .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
        clock.lap(&format!("replicas {from} -> {to}"), &ran);
        assert_eq!(platform.running_tasks("loyalty-worker"), to as usize);
    }

    // An env value changed: a rolling update, the new task healthy before the old one
    // stops; requests through the router all the while must all succeed.
    let copy = on_swarm(2, Some(&platform.project));
    platform
        .yoyoform(Some(&copy), &["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("# service.transaction-api will be updated in-place")
        .stdout_has("+ \"SWARM_MARKER\"")
        .stdout_has(&format!("= \"{}\"", platform.project))
        .stdout_has("Plan: 0 to add, 1 to change, 0 to destroy.");
    let probe = Probe::start(&platform.address, platform.port, "/transactions/health");
    let ran = platform
        .yoyoform(Some(&copy), &["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    let answers = probe.stop();
    let failed: Vec<&String> = answers.iter().filter(|answer| *answer != "200").collect();
    if answers.is_empty() || !failed.is_empty() {
        eprintln!("{ran}");
        platform.http_failed(&format!(
            "during the rolling update, {} of {} requests through the router failed: {failed:?}",
            failed.len(),
            answers.len()
        ));
    }
    clock.lap("rolling update", &ran);
    let env = platform.service("transaction-api").env;
    assert_eq!(env.get("SWARM_MARKER"), Some(&platform.project));
    let alice = platform.token("alice");
    platform.transact(&alice, StatusCode::OK);
    platform.wait_for_stamps(&alice, 2);

    // Its secret and its users.json taken off by hand (and the update let through
    // although the new task cannot start without them): planned back, and put back by a
    // rolling update.
    let service = format!("{}-auth-api", platform.project);
    let before = platform.service("auth-api");
    let (secrets, configs) = (before.secrets, before.configs);
    platform.docker_cli(&[
        "service",
        "update",
        "--detach",
        "--update-failure-action",
        "continue",
        "--secret-rm",
        &secrets[0],
        "--config-rm",
        &configs[0],
        &service,
    ]);
    platform
        .yoyoform(Some(&copy), &["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("# service.auth-api will be updated in-place")
        .stdout_has("the service was changed outside yoyoform")
        .stdout_has("~ secrets")
        .stdout_has("~ \"jwt\" = (sensitive value) -> (sensitive value)")
        .stdout_has("~ files")
        .stdout_has("\"username\": \"alice\"")
        .stdout_has("Plan: 0 to add, 1 to change, 0 to destroy.");
    let ran = platform
        .yoyoform(Some(&copy), &["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    clock.lap("secret and file taken off by hand, put back", &ran);
    let after = platform.service("auth-api");
    assert_eq!((after.secrets, after.configs), (secrets.clone(), configs));
    platform.token("alice");

    // A new secret value: a new swarm secret (secrets cannot change), and a rolling
    // update of every service that mounts it; the old one is removed once unused.
    let copy = platform.write_copy(|document| {
        set(document, &["project", "backend"], "swarm".into());
        set(
            document,
            &["service", "loyalty-worker", "replicas"],
            2.into(),
        );
        set(
            document,
            &["service", "transaction-api", "env", "SWARM_MARKER"],
            platform.project.clone().into(),
        );
        set(document, &["secret", "jwt", "length"], 40.into());
    });
    platform
        .yoyoform(Some(&copy), &["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("# secret.jwt must be replaced")
        .stdout_has("# service.auth-api will be updated in-place")
        .stdout_has("# service.loyalty-worker will be updated in-place")
        .stdout_has("Plan: 1 to add, 3 to change, 1 to destroy.");
    let ran = platform
        .yoyoform(Some(&copy), &["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete! Resources: 1 added, 3 changed, 1 destroyed.");
    clock.lap("a new secret value rolled out", &ran);
    let renewed = platform.service("auth-api").secrets;
    assert!(
        renewed.len() == 1 && renewed != secrets,
        "{renewed:?} after {secrets:?}"
    );
    assert_eq!(platform.service("transaction-api").secrets, renewed);
    let left = project::labelled(&platform.project);
    if left.iter().any(|object| object.contains(&secrets[0])) {
        ran.fail(&format!(
            "the old secret `{}` is still there: {left:?}",
            secrets[0]
        ));
    }
    let alice = platform.token("alice");
    platform.transact(&alice, StatusCode::OK);
    platform.wait_for_stamps(&alice, 3);

    // Scaled by hand: planned back.
    platform.scale_by_hand("loyalty-worker", 4);
    platform
        .yoyoform(Some(&copy), &["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("# service.loyalty-worker will be updated in-place")
        .stdout_has("the service was changed outside yoyoform")
        .stdout_has("~ replicas")
        .stdout_has("= \"4\" -> \"2\"");
    let ran = platform
        .yoyoform(Some(&copy), &["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    clock.lap("scaled by hand, repaired", &ran);
    assert_eq!(platform.running_tasks("loyalty-worker"), 2);
    platform
        .yoyoform(Some(&copy), &["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // Destroy leaves no service, secret, config, network or anything else labelled.
    let ran = platform.destroy_leaves_nothing(&copy);
    clock.lap("destroy", &ran);
    eprintln!("[swarm] total {:.1?}", clock.started.elapsed());
}

/// Sets `path` in a TOML document, making the tables on the way.
fn set(document: &mut toml::Table, path: &[&str], value: toml::Value) {
    let (last, tables) = path.split_last().expect("a path");
    let mut table = document;
    for name in tables {
        table = table
            .entry(name.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .unwrap_or_else(|| panic!("`{name}` is a table"));
    }
    table.insert(last.to_string(), value);
}

/// What only a swarm has: services, by name.
impl Platform {
    /// How many of the service's tasks run, once swarm has settled (within a bound).
    fn running_tasks(&self, name: &str) -> usize {
        let started = Instant::now();
        loop {
            let tasks = self.tasks(name);
            let settled = tasks
                .iter()
                .all(|task| task.state == task.desired_state || task.state.is_final());
            let running = tasks
                .iter()
                .filter(|task| task.state == TaskState::Running)
                .count();
            if settled || started.elapsed() > Duration::from_secs(30) {
                return running;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Scales the service as a user would, with `docker service scale`: the Docker CLI
    /// sends back the spec it read with the replica count changed. (bollard's models
    /// would not: they lose the health check of a 20.10 daemon's spec on the way.)
    fn scale_by_hand(&self, name: &str, replicas: i64) {
        let name = format!("{}-{name}", self.project);
        self.docker_cli(&[
            "service",
            "scale",
            "--detach",
            &format!("{name}={replicas}"),
        ]);
    }

    /// Runs the Docker CLI, as a user changing things by hand would.
    fn docker_cli(&self, args: &[&str]) {
        let output = std::process::Command::new("docker")
            .args(args)
            .output()
            .expect("running the docker CLI");
        assert!(
            output.status.success(),
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
