//! Swarm services, tasks, secrets and configs against the real daemon, in a single-node
//! swarm that the tests of this binary share (made and left by `swarm::testing::Swarm`, or
//! the daemon's own swarm if it is in one). Each test works in a project of its own, swept
//! when it ends; the swarm is joined before the project is made so that the sweep (on drop)
//! runs while the swarm is still there.
//!
//! Images are scratch images of Debian's static busybox. Containers are reached only
//! through ports published on 127.0.0.1, or from inside (exec).

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use resources::container::{HealthSpec, HealthTimings};
use resources::network::{self, Driver};
use resources::swarm::converge::{wait_converged, wait_job};
use resources::swarm::secret::{self, Kind};
use resources::swarm::service::{
    self, FileReference, Mode, RestartCondition, ServiceSpec, UpdateOrder, UpdateState, VolumeMount,
};
use resources::swarm::task::{self, TaskState};
use resources::swarm::testing::Swarm;
use resources::{Docker, Error, inventory, sweep, volume};
use support::{Project, exec, free_port};

/// Long enough for any of these services on a loaded machine; they take a few seconds.
const CONVERGE_WITHIN: Duration = Duration::from_secs(60);

async fn docker() -> Docker {
    Docker::connect().await.expect("Docker is running")
}

/// A content-addressed name, as the engine makes them: the digest of the data in it.
fn addressed(project: &Project, name: &str, data: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut hasher);
    format!("{}-{name}-{:016x}", project.name, hasher.finish())
}

/// A spec every test starts from: quick to stop, quick to restart, quick to update.
fn base_spec(project: &Project, name: &str, image: &str) -> ServiceSpec {
    ServiceSpec {
        name: format!("{}-{name}", project.name),
        image: image.to_string(),
        labels: project.labels(&format!("service.{name}")),
        restart_delay: Some(Duration::from_millis(200)),
        update_monitor: Some(Duration::from_secs(1)),
        // busybox as PID 1 ignores SIGTERM: do not wait the default 10 s for it.
        stop_grace_period: Some(Duration::from_millis(500)),
        ..Default::default()
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// The tasks swarm wants running, in slot order.
async fn running_tasks(docker: &Docker, service: &str) -> Vec<task::Task> {
    task::list(docker, service)
        .await
        .unwrap()
        .into_iter()
        .filter(|task| task.desired_state == TaskState::Running)
        .collect()
}

#[tokio::test]
async fn a_replicated_service_converges_scales_and_rolls_out_an_env_change() {
    let docker = docker().await;
    let swarm = Swarm::join(&docker).await.expect("a swarm");
    let project = Project::new();
    let began = Instant::now();

    let info = resources::swarm::info(&docker).await.unwrap();
    assert!(info.active && info.manager, "{info:?}");
    assert_eq!(info, swarm.info);
    let node_id = info.node_id.clone().expect("a node id");

    let image = project.busybox_image(&docker).await;
    let network_name = format!("{}-platform", project.name);
    let network_labels = project.labels("network.platform");
    network::create_with_driver(&docker, &network_name, &network_labels, Driver::Overlay)
        .await
        .unwrap();

    let token = format!("token-of-{}", project.name);
    let token_name = addressed(&project, "token", token.as_bytes());
    let token_labels = project.labels("secret.token");
    let token_id = secret::ensure(
        &docker,
        Kind::Secret,
        &token_name,
        token.as_bytes(),
        &token_labels,
    )
    .await
    .unwrap();
    let motd = "hello from a config";
    let motd_name = addressed(&project, "motd", motd.as_bytes());
    let motd_id = secret::ensure(
        &docker,
        Kind::Config,
        &motd_name,
        motd.as_bytes(),
        &project.labels("config.motd"),
    )
    .await
    .unwrap();

    let volume_name = format!("{}-data", project.name);
    let volume_labels = project.labels("volume.data");
    // The check passes only once the secret and the config hold what was stored: the
    // tasks cannot be `running` otherwise.
    let check = format!("grep -qx '{token}' /run/secrets/token && grep -qx '{motd}' /etc/motd");
    let mut spec = ServiceSpec {
        env: BTreeMap::from([("GREETING".into(), "hello".into())]),
        command: Some(strings(&[
            "sh",
            "-c",
            "echo up > /data/$HOSTNAME; exec sleep 3600",
        ])),
        mode: Mode::Replicated { replicas: 2 },
        networks: BTreeMap::from([(network_name.clone(), vec!["web".to_string()])]),
        volumes: vec![VolumeMount {
            volume: volume_name.clone(),
            target: "/data".into(),
            labels: volume_labels.clone(),
        }],
        secrets: vec![FileReference {
            id: token_id.clone(),
            name: token_name.clone(),
            target: "token".into(),
            uid: 5,
            gid: 6,
            mode: 0o400,
        }],
        configs: vec![FileReference {
            id: motd_id.clone(),
            name: motd_name.clone(),
            target: "/etc/motd".into(),
            uid: 0,
            gid: 0,
            mode: 0o444,
        }],
        health: Some(HealthSpec::Command(
            strings(&["sh", "-c", &check]),
            HealthTimings {
                interval: Some(Duration::from_millis(300)),
                timeout: Some(Duration::from_secs(2)),
                retries: Some(3),
                ..Default::default()
            },
        )),
        constraints: vec!["node.role==manager".into()],
        update_order: UpdateOrder::StartFirst,
        ..base_spec(&project, "web", &image)
    };
    let id = service::create(&docker, &spec).await.unwrap();
    wait_converged(&docker, &spec.name, CONVERGE_WITHIN)
        .await
        .unwrap();
    eprintln!("2 replicas converged after {:?}", began.elapsed());

    let tasks = running_tasks(&docker, &id).await;
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    for (task, slot) in tasks.iter().zip(1..) {
        assert_eq!(task.slot, Some(slot));
        assert_eq!(task.state, TaskState::Running);
        assert_eq!(task.node_id.as_deref(), Some(node_id.as_str()));
        assert_eq!((task.error.as_deref(), task.exit_code), (None, None));
        // Inside the task's container: the secret's file as declared, and the env.
        let container = task.container_id.as_deref().expect("a container");
        let (code, output) = exec(
            &docker,
            container,
            &[
                "sh",
                "-c",
                "cat /run/secrets/token; echo; stat -c '%u %g %a' /run/secrets/token; echo $GREETING",
            ],
        )
        .await;
        assert_eq!((code, output), (0, format!("{token}\n5 6 400\nhello\n")));
        // The task container carries the service's labels (the sweep finds it by them).
        let actual = resources::container::inspect(&docker, container)
            .await
            .unwrap()
            .unwrap();
        for (key, value) in &spec.labels {
            assert_eq!(actual.labels.get(key), Some(value), "{key}");
        }
    }

    let actual = service::inspect(&docker, &spec.name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(actual.id, id);
    assert_eq!(actual.name, spec.name);
    assert_eq!(actual.image, image);
    assert_eq!(actual.env, spec.env);
    assert_eq!(actual.command, spec.command);
    assert_eq!(actual.mode, Mode::Replicated { replicas: 2 });
    assert_eq!(actual.networks, spec.networks);
    assert_eq!(actual.secrets, vec![token_name.clone()]);
    assert_eq!(actual.configs, vec![motd_name.clone()]);
    assert_eq!(actual.ports, vec![]);
    assert_eq!(actual.labels, spec.labels);
    assert_eq!(actual.constraints, spec.constraints);
    assert_eq!(actual.update_status, None);
    assert_eq!(
        service::inspect(&docker, &id).await.unwrap(),
        Some(actual.clone())
    );
    // Swarm names an overlay network's driver once it has allocated the network: not
    // always as soon as it is made.
    let found = network::inspect(&docker, &network_name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.driver.as_str(), &found.labels),
        ("overlay", &network_labels)
    );
    // Swarm made the volume, with the labels given.
    let data = volume::inspect(&docker, &volume_name)
        .await
        .unwrap()
        .expect("the volume");
    assert_eq!(data.labels, volume_labels);

    // Scaled by an update: the two tasks stay, a third comes.
    spec.mode = Mode::Replicated { replicas: 3 };
    service::update(&docker, &id, actual.version, &spec)
        .await
        .unwrap();
    wait_converged(&docker, &id, CONVERGE_WITHIN).await.unwrap();
    let scaled = running_tasks(&docker, &id).await;
    assert_eq!(scaled.len(), 3, "{scaled:?}");
    assert_eq!(
        scaled[..2].iter().map(|t| &t.id).collect::<Vec<_>>(),
        tasks.iter().map(|t| &t.id).collect::<Vec<_>>()
    );
    eprintln!("scaled to 3 after {:?}", began.elapsed());

    // An env change: a rolling update replacing each task, start-first.
    let stale = actual.version;
    let actual = service::inspect(&docker, &id).await.unwrap().unwrap();
    assert!(actual.version > stale);
    spec.env.insert("GREETING".into(), "bonjour".into());
    service::update(&docker, &id, actual.version, &spec)
        .await
        .unwrap();
    wait_converged(&docker, &id, CONVERGE_WITHIN).await.unwrap();
    eprintln!("env rolled out after {:?}", began.elapsed());
    let actual = service::inspect(&docker, &id).await.unwrap().unwrap();
    assert_eq!(actual.env["GREETING"], "bonjour");
    assert_eq!(actual.mode, Mode::Replicated { replicas: 3 });
    let status = actual.update_status.expect("an update status");
    assert_eq!(status.state, UpdateState::Completed, "{status:?}");
    let updated = running_tasks(&docker, &id).await;
    assert_eq!(updated.len(), 3, "{updated:?}");
    for task in &updated {
        assert!(
            scaled.iter().all(|old| old.id != task.id),
            "{task:?} was not replaced"
        );
        let container = task.container_id.as_deref().expect("a container");
        assert_eq!(
            exec(&docker, container, &["sh", "-c", "echo $GREETING"]).await,
            (0, "bonjour\n".to_string())
        );
    }
    // The replaced tasks are kept in the list, shut down.
    let all = task::list(&docker, &id).await.unwrap();
    assert!(
        all.iter()
            .filter(|t| t.desired_state == TaskState::Shutdown)
            .count()
            >= 3,
        "{all:?}"
    );

    // A version read before the last update is refused.
    let error = service::update(&docker, &id, stale, &spec)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("update out of sequence"),
        "{error}"
    );

    // The secret is in use: swarm refuses to remove it, and it stays.
    assert!(
        !secret::remove(&docker, Kind::Secret, &token_id)
            .await
            .unwrap()
    );
    assert!(
        secret::inspect(&docker, Kind::Secret, &token_id)
            .await
            .unwrap()
            .is_some()
    );

    // The inventory of a manager lists its services too; not the tasks' containers, nor
    // the secrets and configs, whose names no plan claims.
    let objects = inventory::all(&docker).await.unwrap();
    for (kind, name) in [("service", &spec.name), ("network", &network_name)] {
        assert!(
            objects
                .iter()
                .any(|object| object.kind == kind && &object.name == name),
            "{kind} {name} missing from the inventory"
        );
    }
    let ours =
        |object: &&inventory::Object| object.labels.get("yoyoform.project") == Some(&project.name);
    let kinds: Vec<&str> = objects
        .iter()
        .filter(ours)
        .map(|object| object.kind)
        .collect();
    assert!(
        kinds
            .iter()
            .all(|kind| ["service", "network", "volume"].contains(kind)),
        "{kinds:?}"
    );
    assert!(
        !objects
            .iter()
            .any(|object| object.name == token_name || object.name == motd_name)
    );

    // The sweep removes everything by label, the services first.
    let removed = sweep::remove_project(&docker, &project.name, None, false)
        .await
        .unwrap();
    eprintln!("swept after {:?}", began.elapsed());
    assert_eq!(removed.services, vec![spec.name.clone()]);
    assert_eq!(removed.secrets, vec![token_name.clone()]);
    assert_eq!(removed.configs, vec![motd_name.clone()]);
    assert_eq!(
        removed.containers,
        Vec::<String>::new(),
        "task containers go with their service"
    );
    assert_eq!(removed.networks, vec![network_name.clone()]);
    assert_eq!(removed.volumes, vec![volume_name.clone()]);
    assert_eq!(removed.images, vec![image.clone()]);
    assert_eq!(service::inspect(&docker, &id).await.unwrap(), None);
    assert!(
        secret::list(&docker, Kind::Secret, &project.name)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        secret::list(&docker, Kind::Config, &project.name)
            .await
            .unwrap()
            .is_empty()
    );
    // Nothing of the project is left; an overlay network swarm removed stays listed for a
    // moment (the node lets go of it after the manager).
    let swept = Instant::now();
    loop {
        let objects = inventory::all(&docker).await.unwrap();
        let left: Vec<_> = objects
            .iter()
            .filter(|object| object.labels.get("yoyoform.project") == Some(&project.name))
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            left.iter().all(|object| object.kind == "network")
                && swept.elapsed() < Duration::from_secs(10),
            "{left:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("the network left the listing after {:?}", swept.elapsed());
    // Removing what is gone is done.
    service::remove(&docker, &id).await.unwrap();
}

#[tokio::test]
async fn a_published_port_answers_on_loopback_in_host_mode() {
    let docker = docker().await;
    let _swarm = Swarm::join(&docker).await.expect("a swarm");
    let project = Project::new();
    let image = project.busybox_image(&docker).await;
    let page = format!("served by {}\n", project.name);
    let page_name = addressed(&project, "page", page.as_bytes());
    let page_id = secret::ensure(
        &docker,
        Kind::Config,
        &page_name,
        page.as_bytes(),
        &project.labels("config.page"),
    )
    .await
    .unwrap();
    let port = free_port();
    let spec = ServiceSpec {
        command: Some(strings(&["httpd", "-f", "-p", "8080", "-h", "/www"])),
        ports: vec![(port, 8080)],
        configs: vec![FileReference {
            id: page_id,
            name: page_name,
            target: "/www/index.html".into(),
            uid: 0,
            gid: 0,
            mode: 0o444,
        }],
        health: Some(HealthSpec::Command(
            strings(&["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]),
            HealthTimings {
                interval: Some(Duration::from_millis(300)),
                ..Default::default()
            },
        )),
        ..base_spec(&project, "site", &image)
    };
    service::create(&docker, &spec).await.unwrap();
    wait_converged(&docker, &spec.name, CONVERGE_WITHIN)
        .await
        .unwrap();
    let actual = service::inspect(&docker, &spec.name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(actual.ports, vec![(port, 8080)]);

    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("the published port");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with(&format!("\r\n\r\n{page}")), "{response}");
}

#[tokio::test]
async fn a_command_that_cannot_start_fails_with_the_tasks_message() {
    let docker = docker().await;
    let _swarm = Swarm::join(&docker).await.expect("a swarm");
    let project = Project::new();
    let image = project.busybox_image(&docker).await;
    let spec = ServiceSpec {
        command: Some(strings(&["/no/such/program"])),
        ..base_spec(&project, "broken", &image)
    };
    service::create(&docker, &spec).await.unwrap();
    let began = Instant::now();
    let error = wait_converged(&docker, &spec.name, CONVERGE_WITHIN)
        .await
        .unwrap_err();
    eprintln!("failed after {:?}: {error}", began.elapsed());
    assert!(
        began.elapsed() < Duration::from_secs(20),
        "{:?}",
        began.elapsed()
    );
    let Error::ServiceFailed { service, message } = &error else {
        panic!("unexpected: {error}");
    };
    assert_eq!(service, &spec.name);
    assert!(
        message.starts_with("task 1 failed: starting container failed: "),
        "{message}"
    );
    assert!(message.contains("/no/such/program"), "{message}");
    // Swarm tried it again and again (three times before we gave up), each a new task.
    let tasks = task::list(&docker, &spec.name).await.unwrap();
    let failed: Vec<_> = tasks
        .iter()
        .filter(|t| t.state == TaskState::Failed)
        .collect();
    assert!(failed.len() >= 3, "{tasks:?}");
    assert!(
        failed
            .iter()
            .all(|t| t.exit_code.is_some() && t.container_id.is_some()),
        "{failed:?}"
    );
}

#[tokio::test]
async fn an_update_whose_tasks_fail_is_rolled_back_and_reported() {
    let docker = docker().await;
    let _swarm = Swarm::join(&docker).await.expect("a swarm");
    let project = Project::new();
    let image = project.busybox_image(&docker).await;
    let mut spec = ServiceSpec {
        command: Some(strings(&["sleep", "3600"])),
        ..base_spec(&project, "worker", &image)
    };
    let id = service::create(&docker, &spec).await.unwrap();
    wait_converged(&docker, &id, CONVERGE_WITHIN).await.unwrap();
    let good = running_tasks(&docker, &id).await;

    let version = service::inspect(&docker, &id)
        .await
        .unwrap()
        .unwrap()
        .version;
    spec.command = Some(strings(&["sh", "-c", "echo cannot start; exit 3"]));
    service::update(&docker, &id, version, &spec).await.unwrap();
    let began = Instant::now();
    let error = wait_converged(&docker, &id, CONVERGE_WITHIN)
        .await
        .unwrap_err();
    eprintln!("rolled back after {:?}: {error}", began.elapsed());
    let Error::ServiceFailed { message, .. } = &error else {
        panic!("unexpected: {error}");
    };
    assert!(
        message.starts_with("its update ended rollback_completed ("),
        "{message}"
    );
    assert!(
        message.ends_with("; task 1 failed: task: non-zero exit (3)"),
        "{message}"
    );
    // The previous spec is back, and runs.
    let actual = service::inspect(&docker, &id).await.unwrap().unwrap();
    assert_eq!(actual.command, Some(strings(&["sleep", "3600"])));
    assert_eq!(
        actual.update_status.map(|s| s.state),
        Some(UpdateState::RollbackCompleted)
    );
    // Swarm may say the rollback completed a moment before it has made the old spec's
    // task again.
    let mut back = running_tasks(&docker, &id).await;
    while back
        .first()
        .is_none_or(|task| task.state != TaskState::Running)
        && began.elapsed() < CONVERGE_WITHIN
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
        back = running_tasks(&docker, &id).await;
    }
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].state, TaskState::Running);
    assert_ne!(
        back[0].id, good[0].id,
        "stop-first: the old task was replaced, then put back"
    );
}

#[tokio::test]
async fn a_job_runs_to_completion_or_reports_its_failure() {
    let docker = docker().await;
    let _swarm = Swarm::join(&docker).await.expect("a swarm");
    let project = Project::new();
    let image = project.busybox_image(&docker).await;
    let job = |name: &str, script: &str| ServiceSpec {
        mode: Mode::Job,
        restart: RestartCondition::None,
        command: Some(strings(&["sh", "-c", script])),
        ..base_spec(&project, name, &image)
    };

    let done = job("migrate", "echo migrated");
    service::create(&docker, &done).await.unwrap();
    wait_job(&docker, &done.name, CONVERGE_WITHIN)
        .await
        .unwrap();
    let tasks = task::list(&docker, &done.name).await.unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let run = &tasks[0];
    assert_eq!(
        (run.slot, run.state, run.desired_state),
        (None, TaskState::Complete, TaskState::Complete)
    );
    assert_eq!(run.exit_code, Some(0));
    assert!(run.container_id.is_some());
    assert_eq!(
        service::inspect(&docker, &done.name)
            .await
            .unwrap()
            .unwrap()
            .mode,
        Mode::Job
    );
    // A job is not a replicated service: waiting for it to converge says so.
    let error = wait_converged(&docker, &done.name, CONVERGE_WITHIN)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("not a replicated service"),
        "{error}"
    );

    // Removed and waited for: the finished container swarm keeps of a job goes too.
    service::remove_and_wait(&docker, &done.name, Duration::from_secs(30))
        .await
        .unwrap();
    let container = run.container_id.as_deref().unwrap();
    assert_eq!(
        resources::container::inspect(&docker, container)
            .await
            .unwrap(),
        None
    );
    service::remove_and_wait(&docker, &done.name, Duration::from_secs(30))
        .await
        .unwrap();

    let failing = job("seed", "echo no database; exit 3");
    service::create(&docker, &failing).await.unwrap();
    let error = wait_job(&docker, &failing.name, CONVERGE_WITHIN)
        .await
        .unwrap_err();
    let Error::ServiceFailed { message, .. } = &error else {
        panic!("unexpected: {error}");
    };
    assert!(message.starts_with("task "), "{message}");
    assert!(
        message.ends_with(" failed: task: non-zero exit (3)"),
        "{message}"
    );
    let tasks = task::list(&docker, &failing.name).await.unwrap();
    assert_eq!(
        tasks.len(),
        1,
        "restart condition none: never run again: {tasks:?}"
    );
    assert_eq!(tasks[0].exit_code, Some(3));
}

#[tokio::test]
async fn secrets_and_configs_are_content_addressed_listed_and_removed() {
    let docker = docker().await;
    let _swarm = Swarm::join(&docker).await.expect("a swarm");
    let project = Project::new();
    for kind in [Kind::Secret, Kind::Config] {
        let name = addressed(&project, kind.as_str(), b"v1");
        let labels = project.labels(&format!("{}.x", kind.as_str()));
        let id = secret::ensure(&docker, kind, &name, b"v1", &labels)
            .await
            .unwrap();
        // The name stands for the data: a second ensure finds the first object.
        assert_eq!(
            secret::ensure(&docker, kind, &name, b"v1", &labels)
                .await
                .unwrap(),
            id
        );
        let listed = secret::list(&docker, kind, &project.name).await.unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(
            (
                listed[0].kind,
                &listed[0].id,
                &listed[0].name,
                &listed[0].labels
            ),
            (kind, &id, &name, &labels)
        );
        assert_eq!(
            secret::inspect(&docker, kind, &name).await.unwrap(),
            Some(listed[0].clone())
        );
        // By name as well as by id; gone is gone.
        assert!(secret::remove(&docker, kind, &name).await.unwrap());
        assert!(secret::remove(&docker, kind, &id).await.unwrap());
        assert_eq!(secret::inspect(&docker, kind, &id).await.unwrap(), None);
        assert!(
            secret::list(&docker, kind, &project.name)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn a_task_stays_starting_until_its_health_check_passes() {
    let docker = docker().await;
    let _swarm = Swarm::join(&docker).await.expect("a swarm");
    let project = Project::new();
    let image = project.busybox_image(&docker).await;
    let spec = ServiceSpec {
        command: Some(strings(&[
            "sh",
            "-c",
            "sleep 2; touch /ready; exec sleep 3600",
        ])),
        health: Some(HealthSpec::Command(
            strings(&["cat", "/ready"]),
            HealthTimings {
                interval: Some(Duration::from_millis(200)),
                // Failures before it is ready do not count.
                start_period: Some(Duration::from_secs(30)),
                ..Default::default()
            },
        )),
        ..base_spec(&project, "slow", &image)
    };
    let created = Instant::now();
    service::create(&docker, &spec).await.unwrap();
    // Not converged while the check fails: the timeout says what is pending.
    let error = wait_converged(&docker, &spec.name, Duration::from_secs(1))
        .await
        .unwrap_err();
    let Error::ServiceTimeout { pending, .. } = &error else {
        panic!("unexpected: {error}");
    };
    assert_eq!(pending, "0 of 1 tasks running; task 1 starting", "{error}");
    // Its container runs all the while: `starting` is swarm waiting for the check.
    let tasks = running_tasks(&docker, &spec.name).await;
    assert_eq!(tasks[0].state, TaskState::Starting);
    let container = tasks[0].container_id.as_deref().expect("a container");
    let actual = resources::container::inspect(&docker, container)
        .await
        .unwrap()
        .unwrap();
    assert!(actual.running);
    wait_converged(&docker, &spec.name, CONVERGE_WITHIN)
        .await
        .unwrap();
    let waited = created.elapsed();
    eprintln!("healthy and running after {waited:?}");
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
    assert_eq!(
        running_tasks(&docker, &spec.name).await[0].state,
        TaskState::Running
    );
}
