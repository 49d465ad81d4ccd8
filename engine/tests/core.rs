//! The core on the in-memory backend, without Docker: apply order along the graph,
//! parallelism, replacement order, failures skipping their dependents, drift, saved plans,
//! the plan/apply consistency check and destroy. Fast, and exact about what happened in
//! which order (the backend logs every operation).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine::apply::{self, Event, Outcome};
use engine::backend::memory::MemoryBackend;
use engine::config::{self, Overrides};
use engine::plan::{Action, Plan, SavedPlan};
use engine::session::Session;

/// A folder with an env.toml, its state file, and the memory backend they run on.
struct World {
    dir: tempfile::TempDir,
    backend: MemoryBackend,
}

impl World {
    fn new(env: &str) -> World {
        let world = World {
            dir: tempfile::tempdir().expect("a temp dir"),
            backend: MemoryBackend::new(),
        };
        world.write(env);
        world
    }

    fn write(&self, env: &str) {
        self.write_on("docker", env);
    }

    /// Writes env.toml with `[project] backend = BACKEND`. (The memory backend stands for
    /// every backend: what is tested is the plan and the order of apply.)
    fn write_on(&self, backend: &str, env: &str) {
        std::fs::write(
            self.env_file(),
            format!("[project]\nname = \"core\"\nbackend = \"{backend}\"\n\n{env}"),
        )
        .unwrap();
    }

    fn env_file(&self) -> PathBuf {
        self.dir.path().join("env.toml")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    async fn session(&self, operation: &str) -> Session {
        let config = config::load(&self.env_file(), &Overrides::new())
            .unwrap_or_else(|problems| panic!("{problems}"));
        let state = self.path("state.json");
        Session::open(
            config,
            &state,
            operation,
            Arc::new(self.backend.clone()),
            engine::session::Reading::default(),
        )
        .await
        .expect("a session")
    }

    /// A session of `destroy`: its plans remove what the state records.
    async fn destroying(&self) -> Session {
        let mut session = self.session("destroy").await;
        session.scope.mode = engine::plan::Mode::Destroy;
        session
    }

    async fn plan(&self) -> Plan {
        self.session("plan").await.plan().await.expect("a plan")
    }

    /// Plans and applies, `parallelism` at once; the outcome and the events in order.
    async fn apply(&self, parallelism: usize) -> (Outcome, Vec<Event>) {
        let session = self.session("apply").await;
        let plan = session.plan().await.expect("a plan");
        apply_plan(&session, &plan, parallelism).await
    }
}

async fn apply_plan(session: &Session, plan: &Plan, parallelism: usize) -> (Outcome, Vec<Event>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let applier = session.applier(Arc::new(move |event| seen.lock().unwrap().push(event)));
    let outcome = apply::apply(applier.clone(), plan, parallelism).await;
    session.record_outputs(&applier.outputs()).unwrap();
    let events = events.lock().unwrap().clone();
    (outcome, events)
}

fn summary(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .map(|change| format!("{} {}", change.symbol(), change.instance))
        .collect()
}

/// The position of the first log line starting with `prefix`.
fn position(log: &[String], prefix: &str) -> usize {
    log.iter()
        .position(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` in {log:#?}"))
}

const PLATFORM: &str = r#"
[secret.key]

[network.net]

[service.api]
image = "api:1"
network = "network.net"
env = { KEY = "${secret.key.value}" }

[service.web]
image = "web:1"
network = "network.net"
env = { API = "${service.api.url}" }

[router.edge]
image = "router:1"
network = "network.net"
listen = "127.0.0.1:18080"
routes = { "/web" = "${service.web.url}" }

[output.url]
value = "${router.edge.url}"
"#;

#[tokio::test]
async fn apply_follows_the_graph_and_a_second_plan_has_nothing_to_do() {
    let world = World::new(PLATFORM);
    let (outcome, _) = world.apply(10).await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!(
        (outcome.added, outcome.changed, outcome.destroyed),
        (5, 0, 0)
    );
    let log = world.backend.log();
    for (first, then) in [
        ("create secret.key", "create service.api"),
        ("create network.net", "create service.api"),
        ("create service.api", "create service.web"),
        ("create service.web", "create router.edge"),
    ] {
        assert!(position(&log, first) < position(&log, then), "{log:#?}");
    }
    // The secret went into api's env as the value it got.
    let objects = world.backend.objects();
    let value = objects["secret.key"].get_text("value").unwrap().to_owned();
    assert_eq!(objects["service.api"].get_map("env").unwrap()["KEY"], value);
    assert!(world.plan().await.is_empty());
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(world.path("state.json")).unwrap()).unwrap();
    assert_eq!(state["outputs"]["url"]["value"], "http://127.0.0.1:18080");
}

#[tokio::test]
async fn no_more_than_parallelism_changes_run_at_once() {
    let services: String = (0..6)
        .map(|i| format!("[service.s{i}]\nimage = \"x\"\n\n"))
        .collect();
    for (parallelism, peak) in [(2, 2), (10, 6)] {
        let world = World::new(&services);
        world.backend.delay(Duration::from_millis(50));
        let (outcome, _) = world.apply(parallelism).await;
        assert_eq!(outcome.added, 6);
        assert_eq!(
            world.backend.peak_concurrency(),
            peak,
            "parallelism {parallelism}"
        );
    }
}

#[tokio::test]
async fn a_replacement_goes_new_one_first_unless_a_host_port_or_volume_is_held() {
    let world = World::new(PLATFORM);
    world.apply(10).await;
    let changed = PLATFORM
        .replace("image = \"web:1\"", "image = \"web:2\"")
        .replace("image = \"router:1\"", "image = \"router:2\"");
    world.write(&changed);
    let plan = world.plan().await;
    assert_eq!(summary(&plan), ["+/- service.web", "-/+ router.edge"]);
    let before = world.backend.log().len();
    let (outcome, _) = world.apply(10).await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!((outcome.added, outcome.destroyed), (2, 2));
    let log = world.backend.log()[before..].to_vec();
    // web: the new one is made while the old one runs; the router (a host port): the old
    // one goes first.
    assert!(position(&log, "create service.web") < position(&log, "delete service.web"));
    assert!(position(&log, "delete router.edge") < position(&log, "create router.edge"));
    assert!(world.plan().await.is_empty());
}

#[tokio::test]
async fn a_failure_skips_only_its_dependents_and_the_next_plan_finishes_the_job() {
    let world = World::new(PLATFORM);
    world.backend.fail("service.api", "out of luck");
    let (outcome, events) = world.apply(10).await;
    let failed: Vec<String> = outcome
        .failures
        .iter()
        .map(|(i, _)| i.to_string())
        .collect();
    assert_eq!(failed, ["service.api"]);
    assert!(
        outcome.failures[0].1.to_string().contains("out of luck"),
        "{}",
        outcome.failures[0].1
    );
    let skipped: Vec<String> = outcome.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(skipped, ["service.web", "router.edge"]);
    assert!(events.iter().any(|event| matches!(
        event,
        Event::Skipped(skipped, root) if skipped.to_string() == "router.edge" && root.to_string() == "service.api"
    )));
    // What finished is recorded; the rest is planned again.
    assert_eq!(outcome.added, 2);
    let plan = world.plan().await;
    assert_eq!(
        summary(&plan),
        ["+ service.api", "+ service.web", "+ router.edge"]
    );
}

#[tokio::test]
async fn drift_is_planned_as_its_repair() {
    let world = World::new(PLATFORM);
    world.apply(10).await;
    world.backend.remove("service.web");
    world.backend.set("service.api", "image", "api:hacked");
    let plan = world.plan().await;
    assert_eq!(summary(&plan), ["+/- service.api", "+ service.web"]);
    let reasons: Vec<Option<&str>> = plan
        .changes
        .iter()
        .map(|change| change.reason.as_deref())
        .collect();
    assert_eq!(
        reasons,
        [
            Some("the container was changed outside yoyoform"),
            Some("the container was removed outside yoyoform")
        ]
    );
    world.apply(10).await;
    assert!(world.plan().await.is_empty());
}

#[tokio::test]
async fn a_result_other_than_planned_is_reported_as_a_bug_and_not_recorded() {
    let world = World::new(PLATFORM);
    world.backend.tamper("service.web", "image", "web:other");
    let (outcome, _) = world.apply(10).await;
    let (instance, error) = &outcome.failures[0];
    assert_eq!(instance.to_string(), "service.web");
    assert_eq!(
        error.to_string(),
        "bug in yoyoform: after the creation of service.web, `image` is \"web:other\" where \
         the plan said \"web:1\" (please report this)"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(world.path("state.json")).unwrap()).unwrap();
    assert!(state["resources"].get("service.web").is_none(), "{state:#}");
}

#[tokio::test]
async fn a_sensitive_value_is_not_printed_in_a_broken_promise() {
    let world = World::new(PLATFORM);
    world.backend.tamper("secret.key", "length", "7");
    let (outcome, _) = world.apply(10).await;
    let message = outcome.failures[0].1.to_string();
    assert!(message.contains("`length` is \"7\""), "{message}");
    let world = World::new(
        "[variable.token]\ndefault = \"t0k3n\"\nsensitive = true\n\n\
         [service.api]\nimage = \"api:1\"\nenv = { TOKEN = \"${var.token}\" }\n",
    );
    world
        .backend
        .tamper("service.api", "env[\"TOKEN\"]", "leaked");
    let (outcome, _) = world.apply(10).await;
    assert_eq!(
        outcome.failures[0].1.to_string(),
        "bug in yoyoform: after the creation of service.api, `env[\"TOKEN\"]` is \
         (sensitive value) where the plan said (sensitive value) (please report this)"
    );
}

#[tokio::test]
async fn a_saved_plan_is_applied_as_saved_and_refused_once_its_inputs_move() {
    let env = format!(
        "{PLATFORM}\n[service.files]\nimage = \"f:1\"\nfiles = {{ \"/etc/conf\" = \"conf.txt\" }}\n"
    );
    let world = World::new(&env);
    std::fs::write(world.path("conf.txt"), "one\n").unwrap();
    let session = world.session("plan").await;
    let plan = session.plan().await.unwrap();
    SavedPlan::new(plan, &session.config)
        .unwrap()
        .save(&world.path("saved.plan"))
        .unwrap();
    drop(session);

    // The file it copies changed since: refused, nothing done.
    std::fs::write(world.path("conf.txt"), "two\n").unwrap();
    let session = world.session("apply").await;
    let error = session
        .saved_plan(SavedPlan::load(&world.path("saved.plan")).unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the saved plan is stale: `files[\"/etc/conf\"]` of service.files is not what it was \
         when it was saved (a file or source it is made from changed); run `yoyoform plan --out` again"
    );
    drop(session);

    // Back as it was: applied as saved, then stale because the state moved on.
    std::fs::write(world.path("conf.txt"), "one\n").unwrap();
    let session = world.session("apply").await;
    let plan = session
        .saved_plan(SavedPlan::load(&world.path("saved.plan")).unwrap())
        .await
        .unwrap();
    let (outcome, _) = apply_plan(&session, &plan, 10).await;
    assert_eq!(outcome.added, 6);
    assert_eq!(
        world.backend.objects()["service.files"]
            .get_map("files")
            .unwrap()["/etc/conf"],
        "one\n"
    );
    drop(session);
    let session = world.session("apply").await;
    let error = session
        .saved_plan(SavedPlan::load(&world.path("saved.plan")).unwrap())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("the state file changed"),
        "{error}"
    );
}

#[tokio::test]
async fn a_file_changed_between_plan_and_apply_stops_its_change() {
    let world =
        World::new("[service.files]\nimage = \"f:1\"\nfiles = { \"/etc/conf\" = \"conf.txt\" }\n");
    std::fs::write(world.path("conf.txt"), "one\n").unwrap();
    let session = world.session("apply").await;
    let plan = session.plan().await.unwrap();
    std::fs::write(world.path("conf.txt"), "two\n").unwrap();
    let (outcome, _) = apply_plan(&session, &plan, 10).await;
    assert_eq!(
        outcome.failures[0].1.to_string(),
        "`files[\"/etc/conf\"]` of service.files changed since the plan was made (a file or \
         source it is made from changed); nothing was done, run plan again"
    );
    assert!(world.backend.objects().is_empty());
}

#[tokio::test]
async fn destroy_removes_dependents_first_then_sweeps_and_forgets() {
    let world = World::new(PLATFORM);
    world.apply(10).await;
    let session = world.destroying().await;
    let plan = session.plan().await.unwrap();
    assert!(
        plan.changes
            .iter()
            .all(|change| change.action == Action::Delete)
    );
    let (mut outcome, _) = apply_plan(&session, &plan, 10).await;
    let covered = session.sweep(&mut outcome, false).await.unwrap();
    assert!(covered.is_empty());
    assert_eq!(outcome.destroyed, 5);
    let log = world.backend.log();
    for (first, then) in [
        ("delete router.edge", "delete service.web"),
        ("delete service.web", "delete service.api"),
        ("delete service.api", "delete network.net"),
        ("delete service.api", "delete secret.key"),
    ] {
        assert!(position(&log, first) < position(&log, then), "{log:#?}");
    }
    assert_eq!(log.last().map(String::as_str), Some("sweep"));
    assert!(world.backend.objects().is_empty());
    drop(session);
    assert_eq!(
        summary(&world.plan().await),
        [
            "+ network.net",
            "+ secret.key",
            "+ service.api",
            "+ service.web",
            "+ router.edge"
        ]
    );
}

#[tokio::test]
async fn fewer_replicas_delete_the_extra_ones_only() {
    let workers = |n: u32| format!("[service.worker]\nimage = \"w:1\"\nreplicas = {n}\n");
    let world = World::new(&workers(3));
    world.apply(10).await;
    world.write(&workers(1));
    assert_eq!(
        summary(&world.plan().await),
        ["- service.worker[1]", "- service.worker[2]"]
    );
    world.apply(10).await;
    let objects: Vec<String> = world.backend.objects().into_keys().collect();
    assert_eq!(objects, ["service.worker[0]"]);
}

#[tokio::test]
async fn a_plan_of_an_empty_state_needs_no_backend_read() {
    let world = World::new(PLATFORM);
    let plan = world.plan().await;
    assert_eq!(plan.changes.len(), 5);
    assert!(world.backend.log().is_empty());
    // Nothing is written either: a plan changes nothing.
    assert!(!Path::new(&world.path("state.json")).exists());
}

const WITH_JOB: &str = r#"
[job.migrate]
image = "migrate:1"
command = ["up"]

[service.api]
image = "api:1"
depends_on = ["job.migrate"]
"#;

#[tokio::test]
async fn a_job_runs_before_its_dependents_once_and_again_only_when_it_changes() {
    let world = World::new(WITH_JOB);
    let plan = world.plan().await;
    let job = plan.changes[0].after.as_ref().unwrap();
    // A job is done when it exits: no health check, no restart, not `running`.
    assert_eq!(job.get_text("health"), Some("none"));
    assert_eq!(job.get_text("restart"), Some("no"));
    assert_eq!(job.get_text("running"), None);
    world.apply(10).await;
    let log = world.backend.log();
    assert!(position(&log, "create job.migrate") < position(&log, "create service.api"));
    assert!(world.plan().await.is_empty());

    world.write(&WITH_JOB.replace("[\"up\"]", "[\"up\", \"--to\", \"2\"]"));
    assert_eq!(summary(&world.plan().await), ["-/+ job.migrate"]);
}

#[tokio::test]
async fn a_failed_job_holds_back_its_dependents() {
    let world = World::new(WITH_JOB);
    world.backend.fail("job.migrate", "exited with code 3");
    let (outcome, _) = world.apply(10).await;
    assert_eq!(outcome.failures[0].0.to_string(), "job.migrate");
    let skipped: Vec<String> = outcome.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(skipped, ["service.api"]);
    assert!(world.backend.objects().is_empty());
}

const WITH_VOLUME: &str = r#"
[volume.data]

[job.seed]
image = "tools:1"
volumes = { "/data" = "volume.data" }

[service.db]
image = "db:1"
volumes = { "/var/lib/db" = "volume.data" }
depends_on = ["job.seed"]
"#;

#[tokio::test]
async fn a_volume_is_made_before_what_mounts_it_and_goes_after() {
    let world = World::new(WITH_VOLUME);
    let plan = world.plan().await;
    let db = plan
        .changes
        .iter()
        .find(|change| change.instance.to_string() == "service.db")
        .and_then(|change| change.after.as_ref())
        .unwrap();
    assert_eq!(db.get_map("volumes").unwrap()["/var/lib/db"], "core-data");
    world.apply(10).await;
    let log = world.backend.log();
    assert!(position(&log, "create volume.data") < position(&log, "create job.seed"));
    assert!(position(&log, "create job.seed") < position(&log, "create service.db"));

    // A service holding a volume is replaced old one first.
    world.write(&WITH_VOLUME.replace("db:1", "db:2"));
    assert_eq!(summary(&world.plan().await), ["-/+ service.db"]);
    world.apply(10).await;

    // Destroy: the volume goes once nothing mounts it.
    let session = world.destroying().await;
    let plan = session.plan().await.unwrap();
    let before = world.backend.log().len();
    apply_plan(&session, &plan, 10).await;
    let log = world.backend.log()[before..].to_vec();
    assert!(position(&log, "delete service.db") < position(&log, "delete volume.data"));
    assert!(position(&log, "delete job.seed") < position(&log, "delete volume.data"));
}

/// The lineage of the world's state file.
fn lineage(world: &World) -> String {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(world.path("state.json")).unwrap()).unwrap();
    state["lineage"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_object_this_state_made_and_did_not_record_is_adopted() {
    let world = World::new("[secret.key]\n");
    world.apply(10).await;
    let lineage = lineage(&world);
    // A killed apply: the network was made, the state never heard of it.
    world.write("[secret.key]\n\n[network.net]\n");
    let id = world.backend.put(
        "network",
        "core-net",
        &[
            ("yoyoform.project", "core"),
            ("yoyoform.address", "network.net"),
            ("yoyoform.lineage", &lineage),
        ],
    );
    let plan = world.plan().await;
    assert_eq!(summary(&plan), ["+ network.net"]);
    assert_eq!(plan.changes[0].unrecorded.as_deref(), Some(id.as_str()));
    let text = engine::plan::render(&plan, engine::plan::Style::default());
    assert!(text.contains("# network.net will be adopted"), "{text}");
    let (outcome, _) = world.apply(10).await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert!(
        world
            .backend
            .log()
            .contains(&format!("adopt network.net #{id}"))
    );
    // One network, recorded: nothing left to do.
    let networks = world
        .backend
        .objects_by_id()
        .into_values()
        .filter(|object| object.object == "network")
        .count();
    assert_eq!(networks, 1);
    assert!(world.plan().await.is_empty());
}

#[tokio::test]
async fn what_this_state_left_for_a_resource_it_no_longer_declares_is_removed() {
    let world = World::new("[network.net]\n");
    world.apply(10).await;
    let lineage = lineage(&world);
    let id = world.backend.put(
        "container",
        "core-gone",
        &[
            ("yoyoform.project", "core"),
            ("yoyoform.address", "service.gone"),
            ("yoyoform.lineage", &lineage),
        ],
    );
    let plan = world.plan().await;
    assert_eq!(summary(&plan), ["- service.gone"]);
    world.apply(10).await;
    assert!(!world.backend.objects_by_id().contains_key(&id));
    assert!(world.plan().await.is_empty());
}

#[tokio::test]
async fn what_this_state_did_not_make_is_refused_at_plan_and_left_alone() {
    let world = World::new(PLATFORM);
    world.apply(10).await;
    // Another state file of the same project: everything it would make is another's.
    let other = World {
        dir: tempfile::tempdir().unwrap(),
        backend: world.backend.clone(),
    };
    other.write(PLATFORM);
    let session = other.session("plan").await;
    let error = session.plan().await.unwrap_err().to_string();
    let first = lineage(&world);
    for expected in [
        "the backend holds what this state did not make",
        "network `core-net` (",
        &format!(") was made by another state of this project (lineage {first})"),
        "yoyoform import ADDRESS ID",
    ] {
        assert!(error.contains(expected), "{error}");
    }
    // Someone's object under a name the plan wants, with no label at all.
    let fresh = World::new("[network.mine]\n");
    fresh.backend.put("network", "core-mine", &[]);
    let error = fresh
        .session("plan")
        .await
        .plan()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("network `core-mine` (1) was not made by yoyoform"),
        "{error}"
    );
    assert_eq!(fresh.backend.objects().len(), 1);
}

#[tokio::test]
async fn apply_settles_what_did_not_stay_as_it_made_it() {
    for repair in [true, false] {
        let world = World::new(PLATFORM);
        let mut session = world.session("apply").await;
        let plan = session.plan().await.unwrap();
        let (mut outcome, _) = apply_plan(&session, &plan, 10).await;
        // Up when apply looked, stopped right after.
        world.backend.set("service.web", "running", "false");
        let applier = session.applier(Arc::new(|_| {}));
        let shown = Mutex::new(Vec::new());
        let show = |plan: &Plan| shown.lock().unwrap().push(summary(plan));
        session
            .settle(&applier, &mut outcome, repair, 10, &show)
            .await
            .unwrap();
        if repair {
            assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
            assert_eq!(*shown.lock().unwrap(), [vec!["~ service.web".to_owned()]]);
            assert!(
                world
                    .backend
                    .log()
                    .iter()
                    .any(|line| line.starts_with("update service.web"))
            );
            drop((applier, session));
            assert!(world.plan().await.is_empty());
        } else {
            // A saved plan is applied as it was reviewed: what differs after is a failure.
            let failed: Vec<String> = outcome
                .failures
                .iter()
                .map(|(instance, error)| format!("{instance}: {error}"))
                .collect();
            assert_eq!(
                failed,
                ["service.web: after apply it is not as planned: the container is stopped"]
            );
        }
    }
}

#[tokio::test]
async fn an_instance_whose_removal_did_not_finish_is_made_anew() {
    let world = World::new(PLATFORM);
    world.apply(10).await;
    // As a destroy killed while it stopped the router leaves the state.
    let path = world.path("state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    state["resources"]["router.edge"]["tainted"] = true.into();
    std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
    let plan = world.plan().await;
    assert_eq!(summary(&plan), ["-/+ router.edge"]);
    assert_eq!(
        plan.changes[0].reason.as_deref(),
        Some("its removal was started and did not finish")
    );
    world.apply(10).await;
    assert!(world.plan().await.is_empty());
}

#[tokio::test]
async fn a_deletion_marks_its_record_before_it_starts() {
    let world = World::new(PLATFORM);
    world.apply(10).await;
    // A removal that fails half-way leaves the mark: the next plan makes it anew.
    world.backend.fail("router.edge", "killed");
    let session = world.destroying().await;
    let plan = session.plan().await.unwrap();
    apply_plan(&session, &plan, 10).await;
    drop(session);
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(world.path("state.json")).unwrap()).unwrap();
    assert_eq!(
        state["resources"]["router.edge"]["tainted"], true,
        "{state:#}"
    );
}

/// The attributes a change plans, by instance.
fn planned(plan: &Plan, instance: &str) -> engine::attributes::Attributes {
    plan.changes
        .iter()
        .find(|change| change.instance.to_string() == instance)
        .and_then(|change| change.after.clone())
        .unwrap_or_else(|| panic!("no change of {instance} in {:#?}", summary(plan)))
}

#[tokio::test]
async fn on_swarm_a_service_is_one_instance_whose_replicas_change_in_place() {
    let worker = |replicas: u32, level: &str| {
        format!(
            "[service.worker]\nimage = \"w:1\"\nreplicas = {replicas}\nenv = {{ LEVEL = \"{level}\" }}\n"
        )
    };
    let world = World::new("");
    world.write_on("swarm", &worker(3, "info"));
    let plan = world.plan().await;
    assert_eq!(summary(&plan), ["+ service.worker"]);
    let worker_attributes = planned(&plan, "service.worker");
    assert_eq!(worker_attributes.get_text("replicas"), Some("3"));
    assert_eq!(worker_attributes.get_text("name"), Some("core-worker"));
    assert_eq!(
        worker_attributes.get_text("update_order"),
        Some("start-first")
    );
    // A swarm service has no stopped state of its own to start again.
    assert_eq!(worker_attributes.get_text("running"), None);
    world.apply(10).await;
    assert!(world.plan().await.is_empty());
    // More replicas, then an env change: rolling updates of the one service.
    for (replicas, level) in [(5, "info"), (2, "info"), (2, "debug")] {
        world.write_on("swarm", &worker(replicas, level));
        let plan = world.plan().await;
        assert_eq!(summary(&plan), ["~ service.worker"], "{replicas} {level}");
        let before = world.backend.log().len();
        let (outcome, _) = world.apply(10).await;
        assert_eq!(
            (outcome.added, outcome.changed, outcome.destroyed),
            (0, 1, 0)
        );
        let log = world.backend.log()[before..].to_vec();
        assert!(
            log.len() == 1 && log[0].starts_with("update service.worker"),
            "{log:#?}"
        );
        assert!(world.plan().await.is_empty());
    }
    let objects: Vec<String> = world.backend.objects().into_keys().collect();
    assert_eq!(objects, ["service.worker"]);
}

#[tokio::test]
async fn on_swarm_a_secret_reaches_a_service_as_a_file_and_what_holds_a_port_runs_on_the_manager() {
    let world = World::new("");
    world.write_on("swarm", PLATFORM);
    let plan = world.plan().await;
    let api = planned(&plan, "service.api");
    let env = api.get_map("env").unwrap();
    assert_eq!(
        env.get("KEY_FILE").map(String::as_str),
        Some("/run/secrets/key")
    );
    assert!(!env.contains_key("KEY"), "{env:?}");
    let secret = engine::attributes::Path::key("secrets", "key");
    assert!(api.is_unknown(&secret) && api.sensitive.contains(&secret));
    let router = planned(&plan, "router.edge");
    assert_eq!(router.get_list("ports").unwrap(), ["0.0.0.0:18080:5000"]);
    assert_eq!(
        router.get_list("placement").unwrap(),
        ["node.role == manager"]
    );
    assert_eq!(router.get_text("update_order"), Some("stop-first"));
    assert_eq!(
        planned(&plan, "network.net").get_text("driver"),
        Some("overlay")
    );
    world.apply(10).await;
    let objects = world.backend.objects();
    let value = objects["secret.key"].get_text("value").unwrap().to_owned();
    assert_eq!(
        objects["service.api"].get_map("secrets").unwrap()["key"],
        value
    );
    assert!(world.plan().await.is_empty());
}

#[tokio::test]
async fn moving_to_swarm_removes_replicas_that_become_one_service_before_their_network() {
    let replicated = PLATFORM.replace("image = \"web:1\"", "image = \"web:1\"\nreplicas = 2");
    let world = World::new(&replicated);
    world.apply(10).await;
    world.write_on("swarm", &replicated);
    let plan = world.plan().await;
    assert_eq!(
        summary(&plan),
        [
            "-/+ network.net",
            "-/+ secret.key",
            "-/+ service.api",
            "+ service.web",
            "-/+ router.edge",
            "- service.web[0]",
            "- service.web[1]"
        ]
    );
    let before = world.backend.log().len();
    let (outcome, _) = world.apply(10).await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!((outcome.added, outcome.destroyed), (5, 6));
    let log = world.backend.log()[before..].to_vec();
    for replica in ["delete service.web[0]", "delete service.web[1]"] {
        assert!(
            position(&log, replica) < position(&log, "delete network.net"),
            "{log:#?}"
        );
    }
    assert!(world.plan().await.is_empty());
}

#[tokio::test]
async fn moving_to_swarm_replaces_everything_old_ones_first_dependents_before_what_they_use() {
    let world = World::new(PLATFORM);
    world.apply(10).await;
    world.write_on("swarm", PLATFORM);
    let plan = world.plan().await;
    assert_eq!(
        summary(&plan),
        [
            "-/+ network.net",
            "-/+ secret.key",
            "-/+ service.api",
            "-/+ service.web",
            "-/+ router.edge"
        ]
    );
    for change in &plan.changes {
        assert!(change.moves, "{}", change.instance);
        assert_eq!(
            change.reason.as_deref(),
            Some("the project moves from the docker backend to the swarm backend")
        );
        assert!(change.forces_replacement.is_empty());
    }
    let before = world.backend.log().len();
    let (outcome, _) = world.apply(10).await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!((outcome.added, outcome.destroyed), (5, 5));
    let log = world.backend.log()[before..].to_vec();
    let last_delete = log
        .iter()
        .rposition(|line| line.starts_with("delete"))
        .unwrap();
    let first_create = log
        .iter()
        .position(|line| line.starts_with("create"))
        .unwrap();
    assert!(last_delete < first_create, "{log:#?}");
    for (first, then) in [
        ("delete router.edge", "delete service.web"),
        ("delete service.web", "delete service.api"),
        ("delete service.api", "delete network.net"),
        ("delete service.api", "delete secret.key"),
    ] {
        assert!(position(&log, first) < position(&log, then), "{log:#?}");
    }
    assert!(world.plan().await.is_empty());
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(world.path("state.json")).unwrap()).unwrap();
    for (address, recorded) in state["resources"].as_object().unwrap() {
        assert_eq!(recorded["backend"], "swarm", "{address}");
    }
    // And back: one Docker daemon's records name no backend.
    world.write(PLATFORM);
    assert_eq!(world.plan().await.changes.len(), 5);
    world.apply(10).await;
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(world.path("state.json")).unwrap()).unwrap();
    for (address, recorded) in state["resources"].as_object().unwrap() {
        assert!(recorded.get("backend").is_none(), "{address}");
    }
    assert!(world.plan().await.is_empty());
}

#[tokio::test]
async fn a_record_of_a_backend_this_yoyoform_does_not_know_stops_everything() {
    let world = World::new(PLATFORM);
    world.apply(10).await;
    let path = world.path("state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    state["resources"]["service.api"]["backend"] = "nomad".into();
    std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
    let config = config::load(&world.env_file(), &Overrides::new()).unwrap();
    let opened = Session::open(
        config,
        &path,
        "plan",
        Arc::new(world.backend.clone()),
        engine::session::Reading::default(),
    )
    .await;
    let error = opened.err().expect("refused").to_string();
    assert!(
        error.contains("records `service.api` on the backend `nomad`"),
        "{error}"
    );
}

/// Every change that makes something is prepared (its image built) as apply starts, before
/// any operation, whatever it waits for in the graph; a replacement too, and no deletion.
#[tokio::test]
async fn every_create_and_replacement_is_prepared_as_apply_starts() {
    let world = World::new(PLATFORM);
    world.backend.delay(Duration::from_millis(20));
    let (outcome, _) = world.apply(10).await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let mut prepared = world.backend.prepared();
    prepared.sort();
    let mut expected: Vec<(String, usize)> = [
        "network.net",
        "router.edge",
        "secret.key",
        "service.api",
        "service.web",
    ]
    .iter()
    .map(|instance| (instance.to_string(), 0))
    .collect();
    expected.sort();
    assert_eq!(prepared, expected);

    // web's image changes: only its replacement is prepared, before anything is done.
    world.write(&PLATFORM.replace("web:1", "web:2"));
    let done = world.backend.log().len();
    let (outcome, _) = world.apply(10).await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let prepared = world.backend.prepared();
    assert_eq!(prepared.last(), Some(&("service.web".to_string(), done)));
    assert_eq!(prepared.len(), expected.len() + 1);
}
