//! What a plan covers, from the command line, on the real daemon (networks, a volume and a
//! secret: nothing to build): `--target` with what a target depends on (and, for a
//! destroy, what depends on it), a target that matches nothing, `--replace`, `plan
//! --destroy` saved and applied, and `--refresh-only` recording what was removed by hand.

mod project;
mod yoyoform;

use std::fs;
use std::path::Path;

use project::{Sweep, labelled};
use yoyoform::{Ran, Yoyoform};

const ENV: &str = "[project]\nname = \"scope\"\n\n\
    [network.back]\n\n\
    [network.front]\ndepends_on = [\"network.back\"]\n\n\
    [secret.key]\nlength = 16\n\n\
    [volume.data]\ndepends_on = [\"secret.key\"]\n\n\
    [output.front]\nvalue = \"${network.front.name}\"\n";

fn run(dir: &Path, project: &str, args: &[&str]) -> Ran {
    Yoyoform::new(dir)
        .args(["--no-color", "--project", project])
        .args(args)
        .run()
}

/// The text with Docker's 64-hex ids as `<id>`.
fn without_ids(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..=start]);
        rest = &rest[start + 1..];
        let id = rest.len() >= 65
            && rest.as_bytes()[64] == b'"'
            && rest[..64].bytes().all(|b| b.is_ascii_hexdigit());
        if id {
            out.push_str("<id>");
            rest = &rest[64..];
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn targets_replacements_destroy_plans_and_refresh_only() {
    let project = project::unique("scope");
    let _sweep = Sweep(project.clone());
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    fs::write(dir.join("env.toml"), ENV).unwrap();
    let run = |args: &[&str]| run(dir, &project, args);

    // A target and what it depends on; nothing else.
    run(&["plan", "--target", "network.front"])
        .code(0)
        .stderr_is("")
        .stdout_is(&format!(
            "yoyoform will perform the following actions:\n\n  \
             # network.back will be created\n  + network.back {{\n      \
             + id   = (known after apply)\n      + name = \"{project}-back\"\n    }}\n\n  \
             # network.front will be created\n  + network.front {{\n      \
             + id   = (known after apply)\n      + name = \"{project}-front\"\n    }}\n\n\
             Plan: 2 to add, 0 to change, 0 to destroy.\n\n\
             Changes to Outputs:\n  + front = \"{project}-front\"\n\n\
             Note: this plan covers only --target `network.front` and what it depends on; \
             other differences wait for a plan without --target.\n"
        ));
    // A target that matches nothing is an error, not a plan of nothing.
    for (flag, address, expected) in [
        (
            "--target",
            "network.frnt",
            "Error: --target `network.frnt` matches nothing env.toml declares or the state \
             records; did you mean `network.front`?\n",
        ),
        (
            "--target",
            "service.web",
            "Error: --target `service.web` matches nothing env.toml declares or the state \
             records\n",
        ),
        (
            "--replace",
            "secret.key",
            "Error: --replace `secret.key`: nothing is recorded there to replace; a plan \
             makes it anyway\n",
        ),
    ] {
        run(&["plan", flag, address])
            .code(1)
            .stdout_is("")
            .stderr_is(expected);
    }
    assert!(
        !dir.join(format!(".yoyoform/{project}.state.json")).exists()
            || labelled(&project).is_empty(),
        "a refused plan makes nothing"
    );

    run(&["apply", "--auto-approve", "--target", "network.front"])
        .code(0)
        .stdout_has("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.");
    // What the target left out is all that is left to do.
    run(&["plan"])
        .code(0)
        .stdout_has("+ secret.key {")
        .stdout_has("+ volume.data {")
        .stdout_has("Plan: 2 to add, 0 to change, 0 to destroy.");
    run(&["apply", "--auto-approve"]).code(0);

    // --replace: made anew though nothing changed; what only waits for it stays.
    let ran = run(&["apply", "--auto-approve", "--replace", "secret.key"])
        .code(0)
        .stdout_has("# (its replacement was asked for with --replace)")
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 1 destroyed.");
    if ran.stdout.contains("volume.data") {
        ran.fail("the volume only waits for the secret: it is not replaced");
    }
    run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // A destroy plan of one target takes what depends on it, saved and applied as saved.
    let ran = run(&[
        "plan",
        "--destroy",
        "--target",
        "network.back",
        "--out",
        "d.plan",
    ])
    .code(0);
    assert_eq!(
        without_ids(&ran.stdout),
        "yoyoform will perform the following actions:\n\n  \
         # network.front will be destroyed\n  - network.front {\n      \
         - id   = \"<id>\"\n      - name = \"PROJECT-front\"\n    }\n\n  \
         # network.back will be destroyed\n  - network.back {\n      \
         - id   = \"<id>\"\n      - name = \"PROJECT-back\"\n    }\n\n\
         Plan: 0 to add, 0 to change, 2 to destroy.\n\n\
         Note: this plan covers only --target `network.back` and what depends on it; other \
         differences wait for a plan without --target.\n\n\
         Saved the plan to `d.plan`. To carry out exactly these actions, run:\n    \
         yoyoform apply d.plan\n"
            .replace("PROJECT", &project),
        "{ran}"
    );
    run(&["apply", "d.plan"])
        .code(0)
        .stdout_has("Destroy complete! Resources: 2 destroyed.");
    let ran = run(&["state", "list"]).code(0);
    assert_eq!(ran.stdout, "secret.key\nvolume.data\n", "{ran}");

    // --refresh-only: what was removed by hand is forgotten, nothing is made.
    run(&["apply", "--auto-approve"]).code(0);
    let removed = std::process::Command::new("docker")
        .args(["network", "rm", &format!("{project}-front")])
        .output()
        .expect("docker network rm");
    assert!(removed.status.success(), "{removed:?}");
    let ran = run(&["plan", "--refresh-only", "--detailed-exitcode"]).code(2);
    assert_eq!(
        without_ids(&ran.stdout),
        format!(
            "yoyoform found changes made outside yoyoform:\n\n  \
             # network.front has been removed outside yoyoform\n  - network.front {{\n      \
             - id   = \"<id>\"\n      - name = \"{project}-front\"\n    }}\n\n\
             This is a refresh-only plan: applying it records these changes in the state \
             file, and changes nothing on the backend.\n"
        ),
        "{ran}"
    );
    run(&["apply", "--refresh-only", "--auto-approve"])
        .code(0)
        .stdout_has(
            "Apply complete! The state file records 1 change made outside yoyoform; nothing \
             on the backend changed.",
        );
    run(&["plan", "--refresh-only"]).code(0).stdout_is(
        "No changes. What the backend has is what the state file records: nothing changed \
         outside yoyoform.\n",
    );
    // Now a plain create, no longer a repair of something removed.
    let ran = run(&["plan"])
        .code(0)
        .stdout_has("# network.front will be created\n");
    if ran.stdout.contains("removed outside yoyoform") {
        ran.fail("the state no longer records the removed network");
    }

    run(&["destroy", "--auto-approve"]).code(0);
    assert_eq!(labelled(&project), Vec::<String>::new());
}
