//! The `yoyoform` binary on the command line: broken env.toml files give exit 1 and the
//! exact `FILE:LINE:COL: error: ...` lines on stderr, and nothing else happens; the
//! repository's env.toml validates; apply refuses to go ahead without a terminal or
//! `--auto-approve`; `--var` for an undeclared variable is an error.

mod project;
mod yoyoform;

use std::fs;
use std::path::Path;

use project::{Sweep, labelled};
use yoyoform::Yoyoform;

const REPOSITORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

const PROJECT: &str = "[project]\nname = \"demo\"\n\n";

/// Each broken file (after `PROJECT`, lines 1-3, so it starts at line 4) and the exact
/// stderr every command that reads it must print.
const BROKEN: &[(&str, &str, &str)] = &[
    (
        "unknown key, with the near one suggested",
        "[service.api]\nimage = \"x\"\nreplcias = 2\n",
        "env.toml:6:1: error: unknown key `replcias` in `service.api`\n  \
         help: did you mean `replicas`?\n\
         1 problem in `env.toml`; nothing was changed\n",
    ),
    (
        "reference to a resource that is not declared",
        "[service.auth]\nimage = \"x\"\n\n\
         [service.web]\nimage = \"x\"\nenv = { AUTH_URL = \"${service.ath.url}\" }\n",
        "env.toml:9:21: error: unknown resource `service.ath`\n  \
         help: did you mean `service.auth`?\n\
         1 problem in `env.toml`; nothing was changed\n",
    ),
    (
        "two services that need each other",
        "[service.a]\nimage = \"x\"\nenv = { B = \"${service.b.url}\" }\n\n\
         [service.b]\nimage = \"x\"\nenv = { A = \"${service.a.url}\" }\n",
        "env.toml:4:1: error: dependency cycle `service.a -> service.b -> service.a`\n\
         1 problem in `env.toml`; nothing was changed\n",
    ),
    (
        "one host port published by two resources",
        "[service.a]\nimage = \"x\"\nports = [\"127.0.0.1:8080:5000\"]\n\n\
         [service.b]\nimage = \"x\"\nports = [\"8080:5000\"]\n",
        "env.toml:10:10: error: host port 8080 is published by both `service.a` and `service.b`\n\
         1 problem in `env.toml`; nothing was changed\n",
    ),
    (
        "a string where an integer belongs",
        "[service.api]\nimage = \"x\"\nreplicas = \"3\"\n",
        "env.toml:6:12: error: `replicas` must be an integer, found a string\n\
         1 problem in `env.toml`; nothing was changed\n",
    ),
    (
        "every problem at once, in file order",
        "[service.api]\nimage = \"x\"\nreplicas = \"3\"\nnetwork = \"network.platfrom\"\n\n\
         [network.platform]\n",
        "env.toml:6:12: error: `replicas` must be an integer, found a string\n\
         env.toml:7:11: error: unknown resource `network.platfrom`\n  \
         help: did you mean `network.platform`?\n\
         2 problems in `env.toml`; nothing was changed\n",
    ),
];

#[test]
fn broken_files_are_reported_with_their_place_and_nothing_happens() {
    for (case, body, expected) in BROKEN {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("env.toml"), format!("{PROJECT}{body}")).unwrap();
        // Every command reads env.toml first; none may get past a broken one. Docker is
        // not needed to say so, and the state file (default place: `.yoyoform/` beside
        // env.toml) must not be created.
        for command in [
            &["validate"][..],
            &["plan", "--detailed-exitcode"],
            &["apply", "--auto-approve"],
            &["destroy", "--auto-approve"],
        ] {
            let ran = Yoyoform::new(dir.path()).args(command).run();
            if ran.status.code() != Some(1) || ran.stderr != *expected || !ran.stdout.is_empty() {
                ran.fail(&format!(
                    "case `{case}`: expected exit 1, no stdout and exactly this stderr:\n{expected}"
                ));
            }
            assert_eq!(
                folder_entries(dir.path()),
                ["env.toml"],
                "case `{case}`: `{}` left something behind",
                command.join(" ")
            );
        }
    }
}

#[test]
fn messages_name_the_file_as_it_was_given() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::create_dir(dir.path().join("envs")).unwrap();
    fs::write(
        dir.path().join("envs/broken.toml"),
        format!("{PROJECT}[service.api]\nimage = \"x\"\nreplicas = \"3\"\n"),
    )
    .unwrap();
    Yoyoform::new(dir.path())
        .args(["-f", "envs/broken.toml", "validate"])
        .run()
        .code(1)
        .stderr_is(
            "envs/broken.toml:6:12: error: `replicas` must be an integer, found a string\n\
             1 problem in `envs/broken.toml`; nothing was changed\n",
        );
}

#[test]
fn the_repository_env_toml_is_valid() {
    let ran = Yoyoform::new(REPOSITORY)
        .args(["validate"])
        .run()
        .code(0)
        .stderr_is("");
    if ran.stdout != "Success! The configuration is valid.\n" {
        ran.fail("expected only the success line on stdout");
    }
}

#[test]
fn undeclared_variables_on_the_command_line_are_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("env.toml"),
        format!("{PROJECT}[variable.port]\ndefault = 8080\n"),
    )
    .unwrap();
    Yoyoform::new(dir.path())
        .args(["--var", "prot=9000", "validate"])
        .run()
        .code(1)
        .stderr_is(
            "env.toml: error: `--var prot=...` sets variable `prot`, which env.toml does not declare\n  \
             help: did you mean `port`?\n\
             1 problem in `env.toml`; nothing was changed\n",
        );
    Yoyoform::new(dir.path())
        .args(["--var", "colour=red", "plan"])
        .run()
        .code(1)
        .stderr_is(
            "env.toml: error: `--var colour=...` sets variable `colour`, which env.toml does not declare\n\
             1 problem in `env.toml`; nothing was changed\n",
        );
    // A declared one is accepted.
    Yoyoform::new(dir.path())
        .args(["--var", "port=9000", "validate"])
        .run()
        .code(0)
        .stdout_has("Success! The configuration is valid.");
    assert_eq!(folder_entries(dir.path()), ["env.toml"]);
}

/// `plan --json` says everything apply will make, for a program to read: the router's
/// routes as the environment it gets, every container's health check, Redis's data
/// volume. An empty state is planned without Docker.
#[test]
fn the_json_plan_shows_what_apply_makes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state.json");
    let env_file = Path::new(REPOSITORY).join("env.toml");
    let ran = Yoyoform::new(dir.path())
        .args(["-f".as_ref(), env_file.as_os_str()])
        .args(["--state".as_ref(), state.as_os_str()])
        .args(["plan", "--json"])
        .run()
        .code(0)
        .stderr_is("");
    let plan: serde_json::Value = serde_json::from_str(&ran.stdout).expect("JSON on stdout");
    assert_eq!(plan["format_version"], 2);
    let after = |instance: &str| -> &serde_json::Value {
        let changes = plan["changes"].as_array().expect("changes");
        let change = changes
            .iter()
            .find(|change| change["instance"] == instance)
            .unwrap_or_else(|| panic!("no change of {instance}"));
        &change["after"]["values"]
    };
    let router = after("router.platform");
    assert_eq!(
        router["env"]["ROUTES"],
        "/authentication=http://auth-api:5000\n/loyalty=http://loyalty-worker:5000\n\
         /transactions=http://transaction-api:5000\n"
    );
    assert_eq!(router["env"]["HTTP_PORT"], "5000");
    assert_eq!(router["ports"][0], "127.0.0.1:8080:5000");
    for instance in [
        "redis.queue",
        "service.auth-api",
        "service.transaction-api",
        "service.loyalty-worker[0]",
        "router.platform",
    ] {
        assert_eq!(after(instance)["health"]["interval"], "1s", "{instance}");
    }
    assert_eq!(after("redis.queue")["volumes"]["/data"], "yoyo-queue-data");
    // The secret is not known yet, and would not be shown if it were.
    assert_eq!(
        after("service.auth-api")["env"]["JWT_SECRET"],
        "(sensitive value)"
    );
    assert!(!state.exists(), "a plan writes no state");
}

/// A `build` with `binary` finds its cargo workspace from the build context, so an
/// env.toml in another folder plans the same image as the repository's own.
#[test]
fn a_binary_build_plans_the_same_wherever_env_toml_is() {
    let image_of = |env: &Path, instance: &str| -> String {
        let state = tempfile::tempdir().expect("temp dir");
        let state = state.path().join("state.json");
        let ran = Yoyoform::new(env.parent().unwrap())
            .args(["-f".as_ref(), env.as_os_str()])
            .args(["--state".as_ref(), state.as_os_str()])
            .args(["plan", "--json"])
            .run()
            .code(0);
        let plan: serde_json::Value = serde_json::from_str(&ran.stdout).expect("JSON");
        let changes = plan["changes"].as_array().expect("changes");
        changes
            .iter()
            .find(|change| change["instance"] == instance)
            .and_then(|change| change["after"]["values"]["image"].as_str())
            .unwrap_or_else(|| ran.fail(&format!("no image planned for {instance}")))
            .to_owned()
    };
    // Three folders down in the repository: <repository>/target/<temp>/envs/env.toml.
    let nested = tempfile::tempdir_in(Path::new(REPOSITORY).join("target")).expect("temp dir");
    let envs = nested.path().join("envs");
    fs::create_dir(&envs).unwrap();
    fs::write(
        envs.join("env.toml"),
        "[project]\nname = \"yoyo\"\n\n[service.auth-api]\n\
         build = { context = \"../../../services/auth-api\", binary = \"auth-api\" }\n",
    )
    .unwrap();
    assert_eq!(
        image_of(&envs.join("env.toml"), "service.auth-api"),
        image_of(&Path::new(REPOSITORY).join("env.toml"), "service.auth-api")
    );
}

/// Apply plans first (that reads Docker), then has to ask; with stdin not a terminal and
/// no `--auto-approve` it must refuse, and Docker must be left exactly as it was.
#[test]
fn apply_without_a_terminal_or_auto_approve_refuses() {
    let project = project::unique("cli-refuse");
    let _sweep = Sweep(project.clone());
    let state_dir = tempfile::tempdir().expect("temp dir");
    let state = state_dir.path().join("refuse.state.json");
    let env_file = Path::new(REPOSITORY).join("env.toml");
    let ran = Yoyoform::new(state_dir.path())
        .args(["-f".as_ref(), env_file.as_os_str()])
        .args(["--project", &project, "--var", "router_port=1"])
        .args(["--state".as_ref(), state.as_os_str()])
        .args(["apply"])
        .run()
        .code(1)
        .stdout_has("to add")
        .stderr_is(
            "Error: apply needs confirmation, and there is no terminal to ask on: pass --auto-approve\n",
        );
    assert!(
        !state.exists(),
        "a refused apply wrote the state file\n\n{ran}"
    );
    let left = labelled(&project);
    assert!(left.is_empty(), "a refused apply made {left:?}\n\n{ran}");
}

fn folder_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `plan --refresh=false` plans against the state file alone (Docker is not asked), and
/// `--lock=false` reads it while someone else holds its lock, writing nothing.
#[test]
fn a_plan_against_the_state_alone_and_without_its_lock() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("env.toml"),
        format!("{PROJECT}[network.net]\n"),
    )
    .unwrap();
    // What an apply recorded: the network, with the attributes it was planned with.
    let state = dir.path().join("state.json");
    let recorded = serde_json::json!({
        "version": 1, "serial": 3, "lineage": "0a1b2c3d", "yoyoform_version": "0.1.0",
        "resources": { "network.net": {
            "address": "network.net", "kind": "network", "docker_ids": ["n3t"],
            "config_hash": "", "attributes": { "id": "n3t", "name": "demo-net" },
            "sensitive_attributes": [], "dependencies": []
        }},
        "outputs": {}
    });
    fs::write(&state, serde_json::to_vec_pretty(&recorded).unwrap()).unwrap();
    let before = fs::read(&state).unwrap();
    let plan = |args: &[&str]| {
        Yoyoform::new(dir.path())
            .args(["--no-color", "--state"])
            .args([&state])
            .args(["plan"])
            .args(args)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .run()
    };
    let ran = plan(&[]).code(1);
    if !ran.stderr.contains("cannot connect to the Docker daemon") {
        ran.fail("a plan that refreshes asks Docker");
    }
    plan(&["--refresh=false"]).code(0).stdout_has("No changes.");

    // Someone applies: the lock is theirs.
    let held = state::StateFile::new(&state)
        .open("apply")
        .expect("taking the lock");
    let ran = plan(&["--refresh=false"]).code(1);
    if !ran.stderr.contains("is locked by") {
        ran.fail("the lock is held");
    }
    plan(&["--refresh=false", "--lock=false"])
        .code(0)
        .stdout_has("No changes.");
    drop(held);
    assert_eq!(fs::read(&state).unwrap(), before, "nothing was written");
}

/// `output`: nothing applied is an error that says so; the recorded outputs as text, as
/// JSON (a sensitive value as null), one by name (a sensitive one too), and one by name
/// as a JSON string.
#[test]
fn outputs_from_the_state_as_text_and_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("env.toml"),
        format!("{PROJECT}[secret.key]\n"),
    )
    .unwrap();
    let output = |args: &[&str]| {
        Yoyoform::new(dir.path())
            .args(["--no-color", "output"])
            .args(args)
            .run()
    };
    let nothing_applied = "Error: no state file at ./.yoyoform/demo.state.json: nothing has \
         been applied for the project `demo`; `yoyoform apply` records what it makes\n";
    output(&[]).code(1).stderr_is(nothing_applied);
    Yoyoform::new(dir.path())
        .args(["show"])
        .run()
        .code(1)
        .stderr_is(nothing_applied);

    let recorded = serde_json::json!({
        "version": 1, "serial": 1, "lineage": "0a1b2c3d", "yoyoform_version": "0.1.0",
        "resources": {},
        "outputs": {
            "url": { "value": "http://127.0.0.1:8080" },
            "key": { "value": "s3cret \"quoted\"", "sensitive": true }
        }
    });
    fs::create_dir(dir.path().join(".yoyoform")).unwrap();
    fs::write(
        dir.path().join(".yoyoform/demo.state.json"),
        serde_json::to_vec_pretty(&recorded).unwrap(),
    )
    .unwrap();
    let ran = output(&[]).code(0).stderr_is("");
    assert_eq!(
        ran.stdout, "  key = (sensitive value)\n  url = \"http://127.0.0.1:8080\"\n",
        "{ran}"
    );
    let ran = output(&["--json"]).code(0).stderr_is("");
    assert_eq!(
        ran.stdout,
        "{\n  \"key\": {\n    \"sensitive\": true,\n    \"value\": null\n  },\n  \"url\": {\n    \
         \"sensitive\": false,\n    \"value\": \"http://127.0.0.1:8080\"\n  }\n}\n",
        "{ran}"
    );
    let ran = output(&["key"]).code(0);
    assert_eq!(ran.stdout, "s3cret \"quoted\"\n", "{ran}");
    let ran = output(&["key", "--json"]).code(0);
    assert_eq!(ran.stdout, "\"s3cret \\\"quoted\\\"\"\n", "{ran}");
    output(&["nope"])
        .code(1)
        .stderr_is("Error: no output named `nope` in the state file\n");
}

/// A plan shows each output that changes as before -> after, a new one as `+`, one no
/// longer declared as `-`; an unchanged one not at all.
#[test]
fn plans_show_output_changes_before_and_after() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("env.toml"),
        format!(
            "{PROJECT}[variable.port]\ndefault = 9000\n\n\
             [output.url]\nvalue = \"http://127.0.0.1:${{var.port}}\"\n\n\
             [output.greeting]\nvalue = \"hello\"\n\n[output.same]\nvalue = \"as before\"\n"
        ),
    )
    .unwrap();
    let recorded = serde_json::json!({
        "version": 1, "serial": 1, "lineage": "0a1b2c3d", "yoyoform_version": "0.1.0",
        "resources": {},
        "outputs": {
            "url": { "value": "http://127.0.0.1:8080" },
            "same": { "value": "as before" },
            "key": { "value": "s3cret", "sensitive": true }
        }
    });
    fs::create_dir(dir.path().join(".yoyoform")).unwrap();
    fs::write(
        dir.path().join(".yoyoform/demo.state.json"),
        serde_json::to_vec_pretty(&recorded).unwrap(),
    )
    .unwrap();
    Yoyoform::new(dir.path())
        .args(["--no-color", "plan", "--refresh=false"])
        .run()
        .code(0)
        .stderr_is("")
        .stdout_is(
            "Changes to Outputs:\n  \
             + greeting = \"hello\"\n  \
             - key      = (sensitive value) -> null\n  \
             ~ url      = \"http://127.0.0.1:8080\" -> \"http://127.0.0.1:9000\"\n",
        );
}

/// `fmt`: env.toml in the canonical layout, comments kept; `--check` (exit 3, the file
/// named, nothing changed) and `--diff`; a file that is not TOML is an error that says
/// where, and is left alone. The repository's env.toml is in the canonical layout.
#[test]
fn fmt_rewrites_env_toml_canonically() {
    let repository = Path::new(REPOSITORY).join("env.toml");
    Yoyoform::new(REPOSITORY)
        .args(["fmt", "--check", "-f"])
        .args([&repository])
        .run()
        .code(0)
        .stdout_is("")
        .stderr_is("");

    let dir = tempfile::tempdir().expect("temp dir");
    let messy = "[project]\nname=\"demo\"   # ours\n\n\n[secret.key]\n  # how long\n  length=16\n";
    let canonical = "[project]\nname = \"demo\" # ours\n\n[secret.key]\n# how long\nlength = 16\n";
    fs::write(dir.path().join("env.toml"), messy).unwrap();
    let fmt = |args: &[&str]| Yoyoform::new(dir.path()).args(["fmt"]).args(args).run();
    fmt(&["--check"])
        .code(3)
        .stdout_is("env.toml\n")
        .stderr_is("");
    fmt(&["--check", "--diff"]).code(3).stdout_is(
        "--- env.toml\n+++ env.toml\n@@ -1,7 +1,6 @@\n [project]\n\
             -name=\"demo\"   # ours\n-\n+name = \"demo\" # ours\n \n [secret.key]\n\
             -  # how long\n-  length=16\n+# how long\n+length = 16\nenv.toml\n",
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("env.toml")).unwrap(),
        messy
    );
    fmt(&[]).code(0).stdout_is("env.toml\n").stderr_is("");
    assert_eq!(
        fs::read_to_string(dir.path().join("env.toml")).unwrap(),
        canonical
    );
    fmt(&["--check"]).code(0).stdout_is("");

    let broken = "[project]\nname = \n";
    fs::write(dir.path().join("env.toml"), broken).unwrap();
    fmt(&[]).code(1).stdout_is("").stderr_is(
        "env.toml:2:8: error: string values must be quoted, expected literal string\n\
         1 problem in `env.toml`; nothing was changed\n",
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("env.toml")).unwrap(),
        broken
    );
}

/// `YOYOFORM_LOG`: yoyoform's own diagnostics on stderr at the level asked for, stdout as
/// without; a value that is no level is an error before anything is done.
#[test]
fn yoyoform_log_sets_the_level_of_diagnostics_on_stderr() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("env.toml"),
        format!("{PROJECT}[secret.key]\n"),
    )
    .unwrap();
    let plan = |level: Option<&str>| {
        let mut command = Yoyoform::new(dir.path()).args(["plan", "--refresh=false"]);
        if let Some(level) = level {
            command = command.env("YOYOFORM_LOG", level);
        }
        command.run()
    };
    let quiet = plan(None).code(0).stderr_is("");
    let debug = plan(Some("debug")).code(0);
    assert_eq!(debug.stdout, quiet.stdout, "{debug}");
    for line in [
        " DEBUG engine::session: state file read path=./.yoyoform/demo.state.json operation=\"plan\"",
        " DEBUG engine::session: planned resources=1 changes=1 ",
    ] {
        if !debug.stderr.contains(line) {
            debug.fail(&format!("stderr should have a line with {line:?}"));
        }
    }
    plan(Some("info")).code(0).stderr_is("");
    plan(Some("loud")).code(1).stdout_is("").stderr_is(
        "Error: YOYOFORM_LOG=loud is not a log level: write `debug`, `trace`, or \
         `engine=debug,resources=trace` (error parsing level filter: expected one of \"off\", \
         \"error\", \"warn\", \"info\", \"debug\", \"trace\", or a number 0-5)\n",
    );
}

/// `--parallelism 0` is refused by the argument parser (exit 2, as every usage error),
/// before anything is read.
#[test]
fn parallelism_is_at_least_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    Yoyoform::new(dir.path())
        .args(["apply", "--parallelism", "0"])
        .run()
        .code(2)
        .stderr_is(
            "error: invalid value '0' for '--parallelism <PARALLELISM>': 0 is not in 1..=65535\n\n\
             For more information, try '--help'.\n",
        );
}

/// What `yoyoform ARGUMENTS` prints run in `dir` on a pseudo-terminal (`script`), with
/// NO_COLOR set to `no_color` (unset when `None`); it must succeed.
fn on_a_terminal(dir: &Path, arguments: &str, no_color: Option<&str>) -> String {
    let binary = env!("CARGO_BIN_EXE_yoyoform");
    let mut command = std::process::Command::new("script");
    command
        .args(["-qec", &format!("{binary} {arguments}"), "/dev/null"])
        .current_dir(dir)
        .env_remove("NO_COLOR");
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let output = command.output().expect("running script(1)");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Colours only on a terminal, and not there when NO_COLOR is set to anything but empty
/// (no-color.org): a plan run on a pseudo-terminal (`script`) with and without it.
#[test]
fn no_color_turns_the_colours_of_a_terminal_off() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("env.toml"),
        format!("{PROJECT}[secret.key]\n"),
    )
    .unwrap();
    let on_terminal = |no_color: Option<&str>| {
        let text = on_a_terminal(dir.path(), "plan --refresh=false", no_color);
        assert!(text.contains("secret.key will be created"), "{text}");
        text.contains("\x1b[")
    };
    assert!(on_terminal(None), "a terminal gets colours");
    assert!(on_terminal(Some("")), "an empty NO_COLOR is unset");
    assert!(!on_terminal(Some("1")), "NO_COLOR=1 turns them off");
}

/// On a terminal apply draws its progress (indicatif) and leaves each step's line as the
/// plain form prints it; NO_COLOR keeps every colour out of it. (A secret needs no Docker.)
#[test]
fn apply_on_a_terminal_shows_its_steps_without_colours_under_no_color() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("env.toml"),
        format!("{PROJECT}[secret.key]\n"),
    )
    .unwrap();
    let text = on_a_terminal(dir.path(), "apply --auto-approve", Some("1"));
    assert!(
        text.contains("secret.key: Creation complete after 0s"),
        "{text}"
    );
    assert!(
        text.contains("Apply complete! Resources: 1 added"),
        "{text}"
    );
    // Select Graphic Rendition (`ESC [ ... m`): colours and bold. The bars may still move
    // the cursor.
    let sgr = text
        .split("\x1b[")
        .skip(1)
        .any(|sequence| sequence.chars().find(|c| !c.is_ascii_digit() && *c != ';') == Some('m'));
    assert!(!sgr, "NO_COLOR=1, yet colours: {text:?}");
}

/// `completions SHELL` prints clap's completion script, naming the commands.
#[test]
fn completions_for_each_shell() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (shell, marker) in [
        ("bash", "complete -F _yoyoform"),
        ("zsh", "#compdef yoyoform"),
        ("fish", "complete -c yoyoform"),
    ] {
        let ran = Yoyoform::new(dir.path())
            .args(["completions", shell])
            .run()
            .code(0)
            .stderr_is("")
            .stdout_has(marker);
        for command in ["plan", "apply", "destroy", "import", "output"] {
            if !ran.stdout.contains(command) {
                ran.fail(&format!("the {shell} script does not name `{command}`"));
            }
        }
    }
}

/// Docker unreachable: one line naming the address tried, the cause once, and what to
/// check; for a socket, over TCP and with --host (which wins over DOCKER_HOST).
#[test]
fn an_unreachable_daemon_is_one_line_with_the_address_and_the_cause() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("env.toml"),
        format!("{PROJECT}[network.net]\n"),
    )
    .unwrap();
    let check = "check that the daemon runs and that --host or DOCKER_HOST names it";
    for (docker_host, host, cause) in [
        (
            "unix:///nonexistent/docker.sock",
            None,
            "Socket not found: /nonexistent/docker.sock",
        ),
        (
            "unix:///nonexistent/docker.sock",
            Some("tcp://127.0.0.1:1"),
            "Connection refused (os error 111)",
        ),
    ] {
        let mut yoyoform = Yoyoform::new(dir.path())
            .args(["--no-color", "plan"])
            .env("DOCKER_HOST", docker_host);
        if let Some(host) = host {
            yoyoform = yoyoform.args(["--host", host]);
        }
        let address = host.unwrap_or(docker_host);
        yoyoform.run().code(1).stderr_is(&format!(
            "Error: cannot connect to the Docker daemon at `{address}`: {cause}; {check}\n"
        ));
    }
}

/// `validate --json`: for each broken file the same problems as the text, as Terraform's
/// document (exit 1, nothing on stderr, nothing left behind); the repository's env.toml is
/// valid (exit 0).
#[test]
fn validate_json_carries_the_problems_of_the_text() {
    for (case, body, expected) in BROKEN {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("env.toml"), format!("{PROJECT}{body}")).unwrap();
        let ran = Yoyoform::new(dir.path())
            .args(["validate", "--json"])
            .run()
            .code(1)
            .stderr_is("");
        let document: serde_json::Value = serde_json::from_str(&ran.stdout)
            .unwrap_or_else(|error| ran.fail(&format!("case `{case}`: not JSON: {error}")));
        assert_eq!(document["format_version"], "1.0");
        assert_eq!(document["valid"], false, "case `{case}`");
        let diagnostics = document["diagnostics"].as_array().expect("diagnostics");
        assert_eq!(document["error_count"], diagnostics.len(), "case `{case}`");
        // Written back in the text's form, they are the text.
        let mut text: Vec<String> = diagnostics
            .iter()
            .map(|diagnostic| {
                assert_eq!(diagnostic["severity"], "error");
                let range = &diagnostic["range"];
                let mut line = format!(
                    "{}:{}:{}: error: {}",
                    range["filename"].as_str().unwrap(),
                    range["start"]["line"],
                    range["start"]["column"],
                    diagnostic["summary"].as_str().unwrap()
                );
                let detail = diagnostic["detail"].as_str().unwrap();
                if !detail.is_empty() {
                    line.push_str(&format!("\n  help: {detail}"));
                }
                line
            })
            .collect();
        let plural = if diagnostics.len() == 1 { "" } else { "s" };
        text.push(format!(
            "{} problem{plural} in `env.toml`; nothing was changed\n",
            diagnostics.len()
        ));
        assert_eq!(text.join("\n"), *expected, "case `{case}`");
        assert_eq!(folder_entries(dir.path()), ["env.toml"], "case `{case}`");
    }
    let ran = Yoyoform::new(REPOSITORY)
        .args(["validate", "--json"])
        .run()
        .code(0)
        .stderr_is("");
    let document: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(
        (&document["valid"], &document["error_count"]),
        (&true.into(), &0.into()),
        "{ran}"
    );
}

/// `graph`: env.toml's dependency graph as DOT (an edge from each resource to what it
/// depends on; a resource referred to twice is one edge) and as JSON, dependencies first;
/// a cycle is env.toml's problem, reported as by every command.
#[test]
fn graph_prints_the_dependencies_as_dot_and_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("env.toml"),
        format!(
            "{PROJECT}[secret.key]\n\n[network.net]\n\n\
             [service.api]\nimage = \"x\"\nnetwork = \"network.net\"\n\
             env = {{ A = \"${{secret.key.value}}\", B = \"${{secret.key.value}}\" }}\n\n\
             [service.web]\nimage = \"x\"\ndepends_on = [\"service.api\"]\n"
        ),
    )
    .unwrap();
    let graph = |args: &[&str]| Yoyoform::new(dir.path()).args(["graph"]).args(args).run();
    let ran = graph(&[]).code(0).stderr_is("");
    assert_eq!(
        ran.stdout,
        "digraph yoyoform {\n  rankdir = \"RL\";\n  \"network.net\";\n  \"secret.key\";\n  \
         \"service.api\";\n  \"service.web\";\n  \"service.api\" -> \"network.net\";\n  \
         \"service.api\" -> \"secret.key\";\n  \"service.web\" -> \"service.api\";\n}\n",
        "{ran}"
    );
    let ran = graph(&["--format", "json"]).code(0).stderr_is("");
    let document: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(
        document,
        serde_json::json!({ "resources": [
            { "address": "network.net", "depends_on": [] },
            { "address": "secret.key", "depends_on": [] },
            { "address": "service.api", "depends_on": ["network.net", "secret.key"] },
            { "address": "service.web", "depends_on": ["service.api"] },
        ]}),
        "{ran}"
    );
    // A picture, drawn by Graphviz (scripts/prerequisites installs it): each resource a
    // node named by its address.
    let ran = graph(&["--format", "svg"]).code(0).stderr_is("");
    for part in [
        "<svg",
        "<title>service.api</title>",
        "<title>service.api&#45;&gt;secret.key</title>",
    ] {
        if !ran.stdout.contains(part) {
            ran.fail(&format!("the SVG should contain {part}"));
        }
    }
    let empty = tempfile::tempdir().expect("temp dir");
    Yoyoform::new(dir.path())
        .args(["graph", "--format", "svg"])
        .env("PATH", empty.path())
        .run()
        .code(1)
        .stdout_is("")
        .stderr_is(
            "Error: Graphviz's `dot` is not installed (apt-get install graphviz); `yoyoform \
             graph` prints the DOT it would draw\n",
        );
    let (_, body, expected) = BROKEN
        .iter()
        .find(|(case, ..)| case.contains("need each other"))
        .expect("the cycle case");
    fs::write(dir.path().join("env.toml"), format!("{PROJECT}{body}")).unwrap();
    graph(&[]).code(1).stderr_is(expected);
}

/// `state list`, `state show`, `state mv` (a resource renamed in env.toml, then a plan
/// with no changes) and `state rm` (forgotten, then a plan without it has no changes),
/// with their refusals; applied for real (secrets: nothing is made on Docker).
#[test]
fn state_commands_list_show_move_and_forget() {
    let project = project::unique("cli-state");
    let _sweep = Sweep(project.clone());
    let dir = tempfile::tempdir().expect("temp dir");
    let write =
        |body: &str| fs::write(dir.path().join("env.toml"), format!("{PROJECT}{body}")).unwrap();
    let run = |args: &[&str]| {
        Yoyoform::new(dir.path())
            .args(["--no-color", "--project", &project])
            .args(args)
            .run()
    };
    write("[secret.key]\nlength = 16\n\n[secret.other]\n");
    run(&["apply", "--auto-approve"]).code(0);

    let ran = run(&["state", "list"]).code(0).stderr_is("");
    assert_eq!(ran.stdout, "secret.key\nsecret.other\n", "{ran}");
    let ran = run(&["state", "show", "secret.key"]).code(0).stderr_is("");
    assert_eq!(
        ran.stdout,
        "# secret.key: a secret on the docker backend, ids []\nsecret.key {\n    \
         length = \"16\"\n    value  = (sensitive value)\n}\n",
        "{ran}"
    );
    let value = |address: &str| {
        let path = dir.path().join(format!(".yoyoform/{project}.state.json"));
        let state: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        state["resources"][address]["attributes"]["value"].clone()
    };
    let key = value("secret.key");
    assert!(
        !ran.stdout.contains(key.as_str().unwrap()),
        "the value is hidden"
    );
    // `show`: the whole state, each instance as `state show` prints it; as JSON too.
    let ran = run(&["show"]).code(0).stderr_is("");
    assert_eq!(
        ran.stdout,
        "# secret.key: a secret on the docker backend, ids []\nsecret.key {\n    \
         length = \"16\"\n    value  = (sensitive value)\n}\n\n\
         # secret.other: a secret on the docker backend, ids []\nsecret.other {\n    \
         length = \"32\"\n    value  = (sensitive value)\n}\n",
        "{ran}"
    );
    let ran = run(&["show", "--json"]).code(0).stderr_is("");
    let document: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(document["format_version"], 1, "{ran}");
    assert_eq!(document["resources"][0]["address"], "secret.key", "{ran}");
    assert_eq!(
        document["resources"][0]["attributes"]["value"], "(sensitive value)",
        "{ran}"
    );
    assert!(!ran.stdout.contains(key.as_str().unwrap()), "{ran}");

    // Renamed in env.toml: a replacement, unless the state follows.
    write("[secret.token]\nlength = 16\n\n[secret.other]\n");
    run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("Plan: 1 to add, 0 to change, 1 to destroy.");
    run(&["state", "mv", "secret.key", "secret.tokn"])
        .code(0)
        .stdout_has("Moved secret.key to secret.tokn");
    run(&["state", "mv", "secret.tokn", "secret.other"])
        .code(1)
        .stderr_is(
            "Error: the state already has `secret.other`; `state rm` it first, or move to \
             another address\n",
        );
    run(&["state", "mv", "secret.tokn", "secret.token"]).code(0);
    run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
    assert_eq!(
        value("secret.token"),
        key,
        "the same secret, under its new name"
    );

    // Forgotten: no longer planned for removal once env.toml drops it.
    run(&["state", "rm", "secret.othr"]).code(1).stderr_is(
        "Error: the state has no instance `secret.othr`; did you mean `secret.other`?\n",
    );
    let ran = run(&["state", "rm", "secret.other"]).code(0).stderr_is("");
    assert_eq!(
        ran.stdout,
        "Removed secret.other\nIts objects were left as they are; yoyoform no longer manages them.\n"
    );
    write("[secret.token]\nlength = 16\n");
    run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
    let ran = run(&["state", "list"]).code(0);
    assert_eq!(ran.stdout, "secret.token\n", "{ran}");
}

/// A variable's value, weakest first: its default, `.env` beside env.toml, the
/// environment, `--var-file` (TOML), `--var`; a bad var file names itself and the problem.
#[test]
fn variables_from_dotenv_var_files_the_environment_and_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("env.toml"),
        format!(
            "{PROJECT}[variable.a]\ndefault = \"default\"\n\n[variable.b]\ndefault = \"default\"\n\n\
             [variable.c]\ndefault = \"default\"\n\n[variable.d]\ndefault = 1\n\n\
             [variable.e]\ndefault = \"default\"\n\n\
             [output.all]\nvalue = \"${{var.a}} ${{var.b}} ${{var.c}} ${{var.d}} ${{var.e}}\"\n"
        ),
    )
    .unwrap();
    fs::write(
        dir.path().join(".env"),
        "# Compose's keys are left alone\nCOMPOSE_PROJECT_NAME=x\n\
         YOYOFORM_VAR_b=dotenv\nYOYOFORM_VAR_c=dotenv\nYOYOFORM_VAR_d=\"2\"\nYOYOFORM_VAR_e=dotenv\n",
    )
    .unwrap();
    fs::write(dir.path().join("vars.toml"), "d = 3\ne = \"file\"\n").unwrap();
    let outputs = |args: &[&str]| {
        let ran = Yoyoform::new(dir.path())
            .args(["plan", "--refresh=false", "--json"])
            .args(args)
            .env("YOYOFORM_VAR_c", "environment")
            .env("YOYOFORM_VAR_e", "environment")
            .run()
            .code(0);
        let plan: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
        plan["outputs"]["all"]["value"]
            .as_str()
            .unwrap_or_else(|| ran.fail("no output"))
            .to_owned()
    };
    assert_eq!(outputs(&[]), "default dotenv environment 2 environment");
    assert_eq!(
        outputs(&["--var-file", "vars.toml"]),
        "default dotenv environment 3 file"
    );
    assert_eq!(
        outputs(&[
            "--var-file",
            "vars.toml",
            "--var",
            "e=flag",
            "--var",
            "a=flag"
        ]),
        "flag dotenv environment 3 flag"
    );

    fs::write(dir.path().join("bad.toml"), "d = [1, 2]\n").unwrap();
    Yoyoform::new(dir.path())
        .args(["validate", "--var-file", "bad.toml"])
        .run()
        .code(1)
        .stderr_is(
            "Error: `bad.toml`: `d` must be a string, a number or a boolean, found an array\n",
        );
    Yoyoform::new(dir.path())
        .args(["validate", "--var-file", "missing.toml"])
        .run()
        .code(1)
        .stderr_is(
            "Error: cannot read the var file `missing.toml`: No such file or directory (os error 2)\n",
        );
}

/// `--lock-timeout`: a command waits that long for a lock someone holds, then gives up
/// naming the holder; one let go of meanwhile is taken. A bad duration is a usage error.
#[test]
fn lock_timeout_waits_for_the_holder() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("env.toml"),
        format!("{PROJECT}[secret.key]\n"),
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let plan = |timeout: &str| {
        Yoyoform::new(dir.path())
            .args(["--no-color", "--state"])
            .args([&state])
            .args(["plan", "--refresh=false", "--lock-timeout", timeout])
            .run()
    };
    let held = state::StateFile::new(&state)
        .open("apply")
        .expect("taking the lock");
    let started = std::time::Instant::now();
    let ran = plan("1s").code(1);
    if !ran.stderr.contains("is locked by") || started.elapsed() < std::time::Duration::from_secs(1)
    {
        ran.fail("a held lock is waited for a second, then refused");
    }
    let letting_go = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(500));
        drop(held);
    });
    plan("20s").code(0).stdout_has("secret.key will be created");
    letting_go.join().unwrap();
    plan("soon").code(2).stderr_is(
        "error: invalid value 'soon' for '--lock-timeout <DURATION>': `soon` is not a duration: \
         write `500ms`, `30s`, `2m` or `1h`\n\nFor more information, try '--help'.\n",
    );
}
