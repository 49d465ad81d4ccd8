//! End to end, against the real Docker daemon: the repository's env.toml applied under a
//! project and port of this test's own, the customer flow through the router, a change
//! planned and applied, drift repaired, and destroy leaving nothing with the label.
//!
//! One test, because each step starts from where the one before left the platform.
//! Everything it makes is removed by label when it ends, passed or failed.

mod platform;
mod project;
mod yoyoform;

use bollard::query_parameters::RemoveContainerOptions;
use platform::{Clock, Platform, Probe, change_headers};
use reqwest::StatusCode;

#[test]
fn apply_use_change_repair_and_destroy_the_platform() {
    let platform = Platform::new("e2e");
    let mut clock = Clock::new("e2e");

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
    let copy = platform.write_copy(|document| {
        let env = document
            .get_mut("service")
            .and_then(|services| services.get_mut("transaction-api"))
            .and_then(|service| service.get_mut("env"))
            .and_then(toml::Value::as_table_mut)
            .expect("env.toml has service.transaction-api.env");
        env.insert("E2E_MARKER".to_owned(), platform.project.clone().into());
    });
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
    let probe = Probe::start(&platform.address, platform.port, "/transactions/health");
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
    let ran = platform.destroy_leaves_nothing(&copy);
    clock.lap("destroy", &ran);
    eprintln!("[e2e] total {:.1?}", clock.started.elapsed());
}

/// What only one Docker daemon has: containers, by name.
impl Platform {
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
