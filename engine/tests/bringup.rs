//! How apply brings things up, against the real Docker daemon: an image is built as soon
//! as apply starts, alongside the containers its resource waits for, not once they are
//! healthy; an image shared by replicas is built and reported once.
//!
//! The images are built here from Debian's static busybox. Everything the test makes is
//! removed by label when it ends, passed or failed.

mod busybox;
mod project;
mod yoyoform;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use yoyoform::{Ran, Yoyoform};

/// `service.slow` becomes healthy four seconds after it starts; `service.front` needs it
/// (so its containers start only then) and has an image of its own to build, with two
/// replicas sharing it.
const ENV: &str = r#"
[project]
name = "overridden-by-the-test"

[service.slow]
build = "slow"
command = ["sh", "-c", "sleep 4; touch /ready; exec sleep 600"]
health = { test = ["test", "-f", "/ready"], interval = "200ms" }

[service.front]
build = "front"
replicas = 2
command = ["sleep", "600"]
health = false
depends_on = ["service.slow"]
"#;

/// `apply --auto-approve` of the env.toml in `dir` under `project`, which must add
/// `added` instances.
fn applied(dir: &std::path::Path, project: &str, added: usize) -> Ran {
    Yoyoform::new(dir)
        .args([
            "--project",
            project,
            "--no-color",
            "apply",
            "--auto-approve",
        ])
        .run()
        .code(0)
        .stdout_has(&format!(
            "Apply complete! Resources: {added} added, 0 changed, 0 destroyed."
        ))
}

/// The position of the first line of `ran`'s stdout that starts with `start`.
fn line(ran: &Ran, start: &str) -> usize {
    ran.stdout
        .lines()
        .position(|line| line.starts_with(start))
        .unwrap_or_else(|| ran.fail(&format!("no line starts with `{start}`")))
}

#[test]
fn an_image_is_built_while_what_its_resource_needs_comes_up() {
    let dir = tempfile::tempdir().expect("a temp dir");
    busybox::context(dir.path(), "slow");
    busybox::context(dir.path(), "front");
    // Another image than slow's: Docker's cache would otherwise make front's build a
    // lookup.
    std::fs::write(dir.path().join("front/marker"), "front\n").unwrap();
    let dockerfile = dir.path().join("front/Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    std::fs::write(&dockerfile, format!("{text}COPY marker /marker\n")).unwrap();
    std::fs::write(dir.path().join("env.toml"), ENV).unwrap();
    let project = project::unique("bringup");
    let _sweep = project::Sweep(project.clone());
    let began = SystemTime::now();

    let ran = applied(dir.path(), &project, 3);

    // The lines say it: front's image was built before slow was up, and front's
    // containers were made after.
    let built = line(&ran, &format!("service.front: Image {project}-front:"));
    let slow_up = line(&ran, "service.slow: Creation complete after");
    let front_starts = line(&ran, "service.front[0]: Creating...");
    if !(built < slow_up && slow_up < front_starts) {
        ran.fail("front's image should be built before slow is healthy, its containers after");
    }
    // Once for both replicas: one build, said once, of the resource.
    let building: Vec<&str> = ran
        .stdout
        .lines()
        .filter(|line| line.contains("Building image"))
        .collect();
    if building.len() != 2
        || !building
            .iter()
            .all(|line| line.starts_with("service.slow: ") || line.starts_with("service.front: "))
    {
        ran.fail("each image's build should be said once, by its resource");
    }

    // And Docker's own clock says it: the image was made before slow turned healthy.
    let runtime = project::runtime();
    runtime.block_on(async {
        let docker = resources::Docker::connect().await.expect("Docker");
        let images = resources::image::list_by_label(&docker, &project)
            .await
            .expect("the project's images");
        let front = images
            .iter()
            .find(|image| {
                image
                    .tags
                    .iter()
                    .any(|tag| tag.starts_with(&format!("{project}-front:")))
            })
            .unwrap_or_else(|| panic!("no front image: {images:?}"));
        let inspected = docker
            .client()
            .inspect_image(&front.id)
            .await
            .expect("inspecting front's image");
        let created = inspected
            .created
            .as_deref()
            .and_then(resources::timestamp::Time::parse)
            .expect("the image's creation time");
        let seconds = |time: SystemTime| time.duration_since(UNIX_EPOCH).unwrap().as_secs();
        let filters = HashMap::from([
            (
                "label".to_owned(),
                vec![format!("yoyoform.project={project}")],
            ),
            ("event".to_owned(), vec!["health_status".to_owned()]),
        ]);
        let events: Vec<_> = docker
            .client()
            .events(Some(EventsOptions {
                since: Some(seconds(began).to_string()),
                until: Some((seconds(SystemTime::now()) + 1).to_string()),
                filters: Some(filters),
            }))
            .collect()
            .await;
        let healthy = events
            .into_iter()
            .map(|event| event.expect("an event"))
            .find(|event| {
                event.action.as_deref() == Some("health_status: healthy")
                    && event
                        .actor
                        .as_ref()
                        .and_then(|actor| actor.attributes.as_ref())
                        .and_then(|attributes| attributes.get("name"))
                        .map(String::as_str)
                        == Some(&format!("{project}-slow"))
            })
            .expect("slow's health_status: healthy event");
        let healthy_at = i128::from(healthy.time_nano.expect("the event's time"));
        assert!(
            created.nanos() < healthy_at,
            "front's image was made at {} ns, slow turned healthy at {healthy_at} ns",
            created.nanos()
        );
        // Slow took its four seconds: the test did test something.
        assert!(
            Duration::from_nanos(u64::try_from(healthy_at - created.nanos()).unwrap_or(0))
                > Duration::from_secs(1),
            "slow turned healthy too soon after front's build to tell"
        );
    });
}

/// Two images whose binaries cargo builds (a workspace of two tiny crates): the builds run
/// one at a time, and the one that waits says so rather than counting the other's time as
/// its own; each build is said once, with its end.
#[test]
fn cargo_builds_take_turns_and_say_so() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let root = dir.path();
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = [\"one\", \"two\"]\n",
    )
    .unwrap();
    let mut lock = String::from("version = 4\n");
    for name in ["one", "two"] {
        let package = root.join(name);
        std::fs::create_dir_all(package.join("src")).unwrap();
        std::fs::write(
            package.join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n"),
        )
        .unwrap();
        // Stays up: a container that runs a second without a check is up.
        std::fs::write(
            package.join("src/main.rs"),
            "fn main() { loop { std::thread::sleep(std::time::Duration::from_secs(60)); } }\n",
        )
        .unwrap();
        std::fs::write(
            package.join("Dockerfile"),
            format!("FROM scratch\nCOPY {name} /{name}\nENTRYPOINT [\"/{name}\"]\n"),
        )
        .unwrap();
        std::fs::write(
            package.join(".dockerignore"),
            "*\n!Dockerfile\n!one\n!two\n",
        )
        .unwrap();
        lock.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"0.1.0\"\n"
        ));
    }
    std::fs::write(root.join("Cargo.lock"), lock).unwrap();
    std::fs::write(
        root.join("env.toml"),
        r#"
[project]
name = "overridden-by-the-test"

[service.one]
build = { context = "one", binary = "one" }
health = false

[service.two]
build = { context = "two", binary = "two" }
health = false
"#,
    )
    .unwrap();
    let project = project::unique("cargo-turns");
    let _sweep = project::Sweep(project.clone());

    let ran = applied(root, &project, 2);
    let count = |text: &str| ran.stdout.matches(text).count();
    if count(": Building image ") != 2 || count(" built after ") != 2 {
        ran.fail("each image's build should be said once, and its end");
    }
    // The second in line waited, said so, then said when its own compiling began.
    let waiting = ran
        .stdout
        .lines()
        .filter(|line| line.ends_with(": Waiting for another image's cargo build to finish..."))
        .collect::<Vec<_>>();
    if waiting.len() != 1 {
        ran.fail("exactly one build should have waited for the other");
    }
    let waited = line(&ran, waiting[0]);
    let who = waiting[0].split(':').next().unwrap_or_default();
    let name = who.trim_start_matches("service.");
    let compiling = line(&ran, &format!("{who}: Compiling {name}..."));
    let built = line(&ran, &format!("{who}: Image {project}-{name}:"));
    if !(waited < compiling && compiling < built) {
        ran.fail("the waiting build should say when its compiling begins, before it ends");
    }
}
