//! Against the real Docker daemon: an apply in which one service cannot start. The work in
//! flight finishes and is recorded, what depends on the failed service is skipped, the
//! root cause is named, nothing half-made is left running, and the next plan offers to
//! finish the job.

mod project;
mod yoyoform;

use std::path::{Path, PathBuf};

use yoyoform::Yoyoform;

const REPOSITORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// `broken` is the router without its required ROUTES: it exits at once. `dependent`
/// refers to it, so it must be skipped. The network and the secret depend on nothing.
const ENV: &str = r#"
[project]
name = "overridden-by-the-test"

[network.net]

[secret.token]
length = 16

[service.broken]
build = { context = "services/router", binary = "router" }
network = "network.net"

[service.dependent]
build = { context = "services/router", binary = "router" }
network = "network.net"
env = { ROUTES = "/x=${service.broken.url}", TOKEN = "${secret.token.value}" }
"#;

/// Removes the env file and everything labelled with the project, however the test ends.
struct Cleanup {
    env_file: PathBuf,
    _sweep: project::Sweep,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.env_file);
    }
}

#[test]
fn a_failed_service_skips_its_dependents_and_keeps_the_rest() {
    let project = project::unique("fail");
    // Next to env.toml, so that the build contexts resolve as in the real file.
    let env_file = Path::new(REPOSITORY).join(format!(".test-{project}.env.toml"));
    std::fs::write(&env_file, ENV).expect("writing the env file");
    let state_dir = tempfile::tempdir().expect("a temp dir");
    let state = state_dir.path().join("state.json");
    let _cleanup = Cleanup {
        env_file: env_file.clone(),
        _sweep: project::Sweep(project.clone()),
    };
    let yoyoform = |args: &[&str]| {
        let mut all = vec![
            "-f".to_owned(),
            env_file.display().to_string(),
            "--project".to_owned(),
            project.clone(),
            "--state".to_owned(),
            state.display().to_string(),
            "--no-color".to_owned(),
        ];
        all.extend(args.iter().map(|arg| arg.to_string()));
        Yoyoform::new(REPOSITORY).args(all).run()
    };

    let ran = yoyoform(&["apply", "--auto-approve"])
        .code(1)
        .stdout_has("service.dependent: Skipped, because service.broken failed")
        .stdout_has("network.net: Creation complete")
        .stdout_has("secret.token: Creation complete");
    // The root cause, with what the container said, and only it.
    if !ran.stderr.contains("Error: service.broken:") || !ran.stderr.contains("ROUTES") {
        ran.fail("stderr should name service.broken and what it said about ROUTES");
    }
    if ran.stderr.contains("Error: service.dependent") {
        ran.fail("a skipped dependent is not an error of its own");
    }

    // What finished is in the state file; what failed or was skipped is not.
    let recorded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).expect("the state file")).unwrap();
    let mut addresses: Vec<&str> = recorded["resources"]
        .as_object()
        .expect("resources")
        .keys()
        .map(String::as_str)
        .collect();
    addresses.sort();
    assert_eq!(addresses, ["network.net", "secret.token"], "{recorded:#}");

    // The failed container was removed, not left behind stopped.
    let left = project::labelled(&project);
    assert!(
        !left.iter().any(|object| object.starts_with("container")),
        "no container should be left after the failure: {left:?}"
    );

    // The next plan offers exactly what is missing.
    yoyoform(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("# service.broken will be created")
        .stdout_has("# service.dependent will be created")
        .stdout_has("Plan: 2 to add, 0 to change, 0 to destroy.");

    yoyoform(&["destroy", "--auto-approve"]).code(0);
    let left = project::labelled(&project);
    assert!(left.is_empty(), "destroy should leave nothing: {left:?}");
}
