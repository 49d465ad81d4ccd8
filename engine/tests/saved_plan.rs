//! `plan --out FILE` then `apply FILE`: exactly the saved plan is carried out, once; a
//! plan whose env.toml or state moved on is refused and changes nothing. Secrets only, so
//! Docker is read (refresh) but no Docker object is made.

mod yoyoform;

use std::path::Path;

use yoyoform::{Ran, Yoyoform};

fn env(length: u32) -> String {
    format!(
        "[project]\nname = \"saved\"\n\n[secret.key]\nlength = {length}\n\n[output.key_length]\nvalue = \"{length}\"\n"
    )
}

fn run(dir: &Path, args: &[&str]) -> Ran {
    Yoyoform::new(dir).args(["--no-color"]).args(args).run()
}

fn serial(dir: &Path) -> u64 {
    let text = std::fs::read(dir.join(".yoyoform/saved.state.json")).expect("a state file");
    let state: serde_json::Value = serde_json::from_slice(&text).expect("JSON");
    state["serial"].as_u64().expect("a serial")
}

#[test]
fn a_saved_plan_is_applied_once_and_refused_when_stale() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let dir = dir.path();
    std::fs::write(dir.join("env.toml"), env(8)).unwrap();

    let ran = run(dir, &["plan", "--out", "first.plan"])
        .code(0)
        .stdout_has("+ secret.key {")
        .stdout_has("yoyoform apply first.plan");
    let mode = std::fs::metadata(dir.join("first.plan")).unwrap();
    if std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777 != 0o600 {
        ran.fail("a saved plan may hold secrets: it must be mode 0600");
    }

    // Applied as saved, without a question (no terminal, no --auto-approve).
    run(dir, &["apply", "first.plan"])
        .code(0)
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.")
        .stdout_has("key_length = \"8\"");
    let after_first = serial(dir);

    // Once only: the state moved on.
    run(dir, &["apply", "first.plan"])
        .code(1)
        .stderr_is(&format!(
            "Error: the saved plan is stale: the state file changed since it was saved (serial 0 then, {after_first} now); run `yoyoform plan --out` again\n"
        ));

    // A plan saved before env.toml changed is refused, and nothing happens.
    run(dir, &["plan", "--out", "second.plan"]).code(0);
    std::fs::write(dir.join("env.toml"), env(12)).unwrap();
    run(dir, &["apply", "second.plan"])
        .code(1)
        .stderr_is("Error: the saved plan is stale: env.toml, a variable or a file it copies changed since it was saved; run `yoyoform plan --out` again\n");
    assert_eq!(serial(dir), after_first, "a refused plan changes nothing");

    // `show` prints a saved plan as plan did, and as JSON.
    let saved = run(dir, &["show", "first.plan"])
        .code(0)
        .stdout_has("+ secret.key {")
        .stdout_has("Plan: 1 to add, 0 to change, 0 to destroy.");
    let shown = run(dir, &["show", "first.plan", "--json"]).code(0);
    let json: serde_json::Value = serde_json::from_str(&shown.stdout).expect("JSON");
    if json["format_version"] != 2 || json["changes"][0]["instance"] != "secret.key" {
        saved.fail(&format!(
            "show --json should print the plan: {}",
            shown.stdout
        ));
    }

    // `--json` tells the same plan to a program, without the secret.
    let ran = run(dir, &["plan", "--json"]).code(0);
    let plan: serde_json::Value = serde_json::from_str(&ran.stdout).expect("JSON on stdout");
    let change = &plan["changes"][0];
    assert_eq!(change["instance"], "secret.key");
    assert_eq!(change["action"], "replace");
    assert_eq!(change["before"]["values"]["value"], "(sensitive value)");
}

#[test]
fn a_saved_plan_carries_its_variables() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let dir = dir.path();
    std::fs::write(
        dir.join("env.toml"),
        "[project]\nname = \"saved\"\n\n[variable.length]\ndefault = 8\n\n\
         [secret.key]\nlength = 8\n\n[output.key_length]\nvalue = \"${var.length}\"\n",
    )
    .unwrap();
    run(dir, &["plan", "--var", "length=12", "--out", "vars.plan"]).code(0);

    // Given again, they are refused rather than merged; nothing happens.
    run(dir, &["apply", "vars.plan", "--var", "length=12"])
        .code(1)
        .stderr_is(
            "Error: a saved plan carries the variables it was made with: --var and --var-file \
             cannot be given with it (make a new plan with `yoyoform plan --out` to change them)\n",
        );
    if dir.join(".yoyoform/saved.state.json").exists() {
        assert_eq!(serial(dir), 0, "a refused plan changes nothing");
    }

    // Not given: the plan's own are used, whatever the environment says.
    Yoyoform::new(dir)
        .args(["--no-color", "apply", "vars.plan"])
        .env("YOYOFORM_VAR_length", "20")
        .run()
        .code(0)
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.")
        .stdout_has("key_length = \"12\"");
}
