//! `plan --base REV [--head REV]`: the review of a change of env.toml, from a git
//! repository alone. The test makes a repository with a cargo workspace of two services,
//! and one commit per kind of change; each is planned against the one before, with
//! `DOCKER_HOST` pointing at nothing (Docker is never asked) and a state file beside
//! env.toml that must be left byte for byte as it was, and unlocked.

mod yoyoform;

use std::path::PathBuf;
use std::process::Command;

use yoyoform::{Ran, Yoyoform};

const ENV: &str = r#"[project]
name = "shop"

[secret.jwt]
length = 32

[network.net]

[service.api]
build = { context = "svc/api", binary = "api" }
network = "network.net"
env = { JWT = "${secret.jwt.value}", MODE = "fast" }

[service.web]
build = { context = "svc/web", binary = "web" }
network = "network.net"
replicas = 2
env = { API = "${service.api.url}" }
files = { "/etc/web/users.json" = "users.json" }
"#;

const WORKSPACE: &str = "[workspace]\nmembers = [\"svc/api\", \"svc/web\"]\nresolver = \"2\"\n";

fn lock(hyper: &str) -> String {
    format!(
        "version = 4\n\n\
         [[package]]\nname = \"api\"\nversion = \"0.1.0\"\ndependencies = [\"hyper\"]\n\n\
         [[package]]\nname = \"hyper\"\nversion = \"{hyper}\"\n\
         source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
         checksum = \"{hyper}0000\"\n\n\
         [[package]]\nname = \"serde\"\nversion = \"1.0.0\"\n\
         source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
         checksum = \"serde0000\"\n\n\
         [[package]]\nname = \"web\"\nversion = \"0.1.0\"\ndependencies = [\"serde\"]\n"
    )
}

/// The repository: a commit per step, named by its tag.
struct Repository {
    dir: tempfile::TempDir,
}

impl Repository {
    fn new() -> Repository {
        let repository = Repository {
            dir: tempfile::tempdir().expect("a temp dir"),
        };
        repository.git(&["init", "-q"]);
        repository.git(&["config", "user.email", "review@test"]);
        repository.git(&["config", "user.name", "review"]);
        repository.write("Cargo.toml", WORKSPACE);
        repository.write("Cargo.lock", &lock("1.0.0"));
        for (name, dependency) in [("api", "hyper"), ("web", "serde")] {
            repository.write(
                &format!("svc/{name}/Cargo.toml"),
                &format!(
                    "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
                     [dependencies]\n{dependency} = \"1\"\n"
                ),
            );
            repository.write(&format!("svc/{name}/src/main.rs"), "fn main() {}\n");
            repository.write(&format!("svc/{name}/Dockerfile"), "FROM scratch\n");
        }
        repository.write("users.json", "[\n  \"alice\"\n]\n");
        repository.write("env.toml", ENV);
        repository.commit("start");
        repository
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn write(&self, file: &str, text: &str) {
        let path = self.path(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.path(file)).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        self.write(file, &text.replacen(from, to, 1));
    }

    fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(self.dir.path())
            .status()
            .expect("git");
        assert!(status.success(), "git {args:?}");
    }

    fn commit(&self, tag: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", tag]);
        self.git(&["tag", tag]);
    }

    /// `yoyoform --no-color ARGS` in the repository, Docker unreachable.
    fn yoyoform(&self, args: &[&str]) -> Ran {
        Yoyoform::new(self.dir.path())
            .args(["--no-color"])
            .args(args)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .run()
    }

    fn review(&self, base: &str, head: &str) -> Ran {
        self.yoyoform(&["plan", "--base", base, "--head", head])
            .code(0)
            .stderr_is("")
    }
}

/// Checks the text of a review exactly, showing the difference when it is not.
fn expect(ran: &Ran, expected: &str) {
    if ran.stdout != expected {
        ran.fail(&format!("expected stdout:\n{expected}"));
    }
}

#[test]
fn each_kind_of_change_plans_what_it_changes_and_nothing_else() {
    let repository = Repository::new();
    // A state file beside env.toml: a review must not read, lock or change it.
    let state = repository.path(".yoyoform/shop.state.json");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    std::fs::write(&state, "{\"not\": \"touched\"}\n").unwrap();

    // One env value.
    repository.edit("env.toml", "MODE = \"fast\"", "MODE = \"safe\"");
    repository.commit("env-value");
    let ran = repository.review("start", "env-value");
    expect(
        &ran,
        "yoyoform will perform the following actions:

  # service.api must be replaced (the new one first, then the old one goes)
+/- service.api {
      ~ env      = {
          ~ \"MODE\" = \"fast\" -> \"safe\"
            # (1 unchanged element hidden)
        } # forces replacement
      ~ id       = \"(id of service.api)\" -> (known after apply)
        # (8 unchanged attributes hidden)
    }

Plan: 1 to add, 0 to change, 1 to destroy.
",
    );

    // A source file of one service: that service, and the file named.
    repository.edit(
        "svc/api/src/main.rs",
        "fn main() {}",
        "fn main() { serve() }",
    );
    repository.commit("source");
    let ran = repository.review("env-value", "source");
    if !ran.stdout.contains(
        "  # service.api must be replaced (the new one first, then the old one goes)\n  \
         # (image changes: svc/api/src/main.rs)\n",
    ) || ran.stdout.contains("service.web")
        || !ran
            .stdout
            .contains("Plan: 1 to add, 0 to change, 1 to destroy.")
    {
        ran.fail("only service.api, for svc/api/src/main.rs");
    }

    // Cargo.lock, for a package only one binary uses.
    repository.write("Cargo.lock", &lock("1.0.1"));
    repository.commit("lock");
    let ran = repository.review("source", "lock");
    if !ran
        .stdout
        .contains("# (image changes: Cargo.lock (package hyper))")
        || ran.stdout.contains("service.web")
    {
        ran.fail("only service.api, for the package hyper of Cargo.lock");
    }

    // One more replica: the new one only.
    repository.edit("env.toml", "replicas = 2", "replicas = 3");
    repository.commit("replicas");
    let ran = repository.review("lock", "replicas");
    let headers: Vec<&str> = ran
        .stdout
        .lines()
        .filter(|line| line.starts_with("  # "))
        .collect();
    if headers != ["  # service.web[2] will be created"] {
        ran.fail("the new replica only");
    }

    // A rename: the old one goes, the new one comes.
    repository.edit("env.toml", "[service.api]", "[service.backend]");
    repository.edit("env.toml", "${service.api.url}", "${service.backend.url}");
    repository.commit("rename");
    let ran = repository.review("replicas", "rename");
    for expected in [
        "  # service.api will be destroyed\n",
        "  # service.backend will be created\n",
        "Plan: 4 to add, 0 to change, 4 to destroy.\n",
    ] {
        if !ran.stdout.contains(expected) {
            ran.fail(&format!("the rename should show {expected:?}"));
        }
    }

    // Comments, formatting and key order only.
    let reordered = std::fs::read_to_string(repository.path("env.toml"))
        .unwrap()
        .replace("[secret.jwt]\nlength = 32\n", "# The signing key.\n[secret.jwt]\nlength    =   32   # characters\n")
        .replace(
            "build = { context = \"svc/web\", binary = \"web\" }\nnetwork = \"network.net\"\n",
            "network = \"network.net\"   # the same network\nbuild = { binary = \"web\", context = \"svc/web\" }\n",
        );
    repository.write("env.toml", &reordered);
    repository.commit("comments");
    let ran = repository.review("rename", "comments");
    expect(
        &ran,
        "No changes. The change of env.toml from `rename` to `comments` changes nothing applied.\n",
    );

    // A new secret, given to a service: sensitive, known after apply.
    repository.edit(
        "env.toml",
        "[network.net]",
        "[secret.session]\n\n[network.net]",
    );
    repository.edit(
        "env.toml",
        "env = { API = ",
        "env = { SESSION = \"${secret.session.value}\", API = ",
    );
    repository.commit("secret");
    let ran = repository.review("comments", "secret");
    for expected in [
        "  # secret.session will be created\n  + secret.session {\n      + length = \"32\"\n      + value  = (sensitive value)\n    }\n",
        "          + \"SESSION\" = (sensitive value)\n",
    ] {
        if !ran.stdout.contains(expected) {
            ran.fail(&format!("the new secret should show {expected:?}"));
        }
    }

    // As Markdown and as JSON.
    let markdown = repository
        .yoyoform(&[
            "plan",
            "--base",
            "start",
            "--head",
            "env-value",
            "--format",
            "markdown",
        ])
        .code(0);
    expect(
        &markdown,
        "### yoyoform: 1 to add, 0 to change, 1 to destroy (`start` → `env-value`)

**Plan:** 1 to add, 0 to change, 1 to destroy; 1 change (1 replacement).

<details><summary><code>+/- service.api</code> must be replaced (the new one first, then the old one goes)</summary>

````diff
+/- service.api {
~       env      = {
~           \"MODE\" = \"fast\" -> \"safe\"
            # (1 unchanged element hidden)
        } # forces replacement
~       id       = \"(id of service.api)\" -> (known after apply)
        # (8 unchanged attributes hidden)
    }
````

</details>
",
    );
    let json = repository
        .yoyoform(&["plan", "--base", "comments", "--head", "secret", "--json"])
        .code(0);
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(plan["format_version"], 2);
    let secret = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["instance"] == "secret.session")
        .expect("the new secret");
    assert_eq!(secret["action"], "create");
    assert_eq!(secret["after"]["values"]["value"], "(sensitive value)");
    assert!(
        !json.stdout.contains("(value of secret.jwt)"),
        "{}",
        json.stdout
    );

    // The work tree is the default head; the state file was never opened.
    repository
        .yoyoform(&["plan", "--base", "secret"])
        .code(0)
        .stdout_has("No changes.");
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"not\": \"touched\"}\n"
    );
    assert!(!state.with_extension("json.lock").exists(), "no lock taken");
}

#[test]
fn bad_input_is_a_clear_error() {
    let repository = Repository::new();
    repository
        .yoyoform(&["plan", "--base", "no-such-revision"])
        .code(1)
        .stderr_is(
            "Error: git reading revision `no-such-revision`: no such revision in this repository\n",
        );
    // Broken at the base: its problems name the revision.
    repository.edit("env.toml", "length = 32", "length = \"32\"");
    repository.commit("broken");
    repository.edit("env.toml", "length = \"32\"", "length = 32");
    repository
        .yoyoform(&["plan", "--base", "broken"])
        .code(1)
        .stderr_is(
            "broken:env.toml:5:10: error: `length` must be an integer, found a string\n\
             1 problem in `broken:env.toml`; nothing was changed\n",
        );
    // An env.toml outside the repository.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("env.toml"), ENV).unwrap();
    let file = outside.path().join("env.toml");
    let ran = Yoyoform::new(repository.dir.path())
        .args(["plan", "--base", "start", "-f"])
        .args([&file])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run()
        .code(1);
    if !ran.stderr.contains("is outside the repository") {
        ran.fail("an env.toml outside the repository is an error that says so");
    }
}

/// A change of thousands of resources: the comment stays under GitHub's limit and says
/// what it left out.
#[test]
fn a_long_review_is_cut_under_the_comment_limit() {
    let repository = Repository::new();
    let services = |image: &str| -> String {
        (0..2000)
            .map(|i| format!("[service.s{i}]\nimage = \"{image}\"\nenv = {{ N = \"{i}\" }}\n\n"))
            .collect()
    };
    repository.write(
        "env.toml",
        &format!("[project]\nname = \"big\"\n\n{}", services("x:1")),
    );
    repository.commit("small");
    repository.write(
        "env.toml",
        &format!("[project]\nname = \"big\"\n\n{}", services("x:2")),
    );
    repository.commit("big");
    let ran = repository
        .yoyoform(&[
            "plan", "--base", "small", "--head", "big", "--format", "markdown",
        ])
        .code(0);
    let length = ran.stdout.chars().count();
    assert!(length < 65_536, "{length} characters");
    if !ran.stdout.contains("more changes not shown** (")
        || !ran
            .stdout
            .contains("The whole plan: `yoyoform plan --base small --head big`")
    {
        ran.fail("the comment should say what it left out and how to see it all");
    }
    assert!(
        ran.stdout
            .starts_with("### yoyoform: 2000 to add, 0 to change, 2000 to destroy")
    );
}
