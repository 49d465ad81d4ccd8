//! Networks, images and containers against the real Docker daemon. Each test works in a
//! project of its own, swept when it ends.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use resources::container::{self, ContainerSpec, HealthSpec, HealthStatus, HealthTimings};
use resources::{Docker, Error, image, network};
use support::{Project, exec, free_port};

async fn docker() -> Docker {
    Docker::connect().await.expect("Docker is running")
}

#[tokio::test]
async fn connect_negotiates_the_daemon_api_version() {
    let docker = docker().await;
    // The daemon here is Docker 20.10, API 1.41; bollard's default (1.53) is refused by it.
    let version = docker.client().version().await.expect("version");
    assert_eq!(Some(docker.api_version()), version.api_version);
}

#[tokio::test]
async fn network_create_inspect_remove() {
    let docker = docker().await;
    let project = Project::new();
    let name = format!("{}-platform", project.name);
    let labels = project.labels("network.platform");
    let id = network::create(&docker, &name, &labels).await.unwrap();

    let actual = network::inspect(&docker, &id)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(actual.id, id);
    assert_eq!(actual.name, name);
    assert_eq!(actual.labels, labels);

    network::remove(&docker, &id).await.unwrap();
    assert_eq!(network::inspect(&docker, &id).await.unwrap(), None);
    // Already gone: still done.
    network::remove(&docker, &id).await.unwrap();
}

#[tokio::test]
async fn redis_container_lifecycle() {
    let docker = docker().await;
    let project = Project::new();
    let tag = project.redis_image(&docker).await;
    assert!(image::exists(&docker, &tag).await.unwrap());
    let images = image::list_by_label(&docker, &project.name).await.unwrap();
    assert!(images.iter().any(|i| i.tags.contains(&tag)), "{images:?}");

    let network_name = format!("{}-platform", project.name);
    network::create(&docker, &network_name, &project.labels("network.platform"))
        .await
        .unwrap();
    let port = free_port();
    let volume_name = format!("{}-queue-data", project.name);
    resources::volume::create(&docker, &volume_name, &project.labels("redis.queue"))
        .await
        .unwrap();
    let spec = ContainerSpec {
        name: format!("{}-queue", project.name),
        image: tag.clone(),
        env: BTreeMap::from([("GREETING".into(), "hello world=1".into())]),
        files: BTreeMap::from([("/etc/yoyo/check.lua".into(), b"return 'file-ok'\n".to_vec())]),
        ports: vec![(port, 6379)],
        command: Some(vec!["--maxclients".into(), "77".into()]),
        networks: vec![network_name.clone()],
        aliases: vec!["queue".into()],
        labels: project.labels("redis.queue"),
        health: Some(HealthSpec::Timings(HealthTimings {
            interval: Some(Duration::from_millis(500)),
            retries: Some(5),
            ..Default::default()
        })),
        volumes: vec![(
            volume_name.clone(),
            resources::redis_image::DATA_DIR.to_owned(),
        )],
    };
    let id = container::create(&docker, &spec).await.unwrap();

    let mut progress_calls = 0;
    container::wait_healthy(&docker, &id, Duration::from_secs(30), |_| {
        progress_calls += 1
    })
    .await
    .unwrap();
    assert_eq!(progress_calls, 0, "healthy well within 10 s");
    container::set_restart_policy(&docker, &id, "unless-stopped")
        .await
        .unwrap();

    let actual = container::inspect(&docker, &spec.name)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(actual.id, id);
    assert_eq!(actual.name, spec.name);
    assert_eq!(actual.image, tag);
    assert_eq!(actual.env["GREETING"], "hello world=1");
    for (key, value) in &spec.labels {
        assert_eq!(actual.labels.get(key), Some(value));
    }
    assert!(actual.running);
    assert_eq!(actual.health, Some(HealthStatus::Healthy));
    assert_eq!(actual.ports, vec![(port, 6379)]);
    assert_eq!(actual.command, spec.command);
    assert!(actual.networks[&network_name].contains(&"queue".to_string()));
    assert_eq!(actual.restart_policy, "unless-stopped");
    assert_eq!(actual.restart_count, 0);
    // Docker merged the empty test with the image's and kept our interval.
    let check = actual.health_check.expect("health check");
    assert_eq!(check.test, ["CMD", "/usr/bin/redis-cli", "-e", "ping"]);
    assert_eq!(check.interval, Some(Duration::from_millis(500)));
    assert_eq!(check.retries, Some(5));

    // Inside the container, as its non-root user: the server answers, took the command's
    // arguments, and the copied file is readable.
    assert_eq!(
        exec(&docker, &id, &["/usr/bin/redis-cli", "ping"]).await,
        (0, "PONG\n".into())
    );
    let (code, output) = exec(
        &docker,
        &id,
        &["/usr/bin/redis-cli", "config", "get", "maxclients"],
    )
    .await;
    assert_eq!((code, output.as_str()), (0, "maxclients\n77\n"));
    let (code, output) = exec(
        &docker,
        &id,
        &["/usr/bin/redis-cli", "--eval", "/etc/yoyo/check.lua"],
    )
    .await;
    assert_eq!((code, output.as_str()), (0, "file-ok\n"));

    // From the host, through the port published on loopback.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(b"PING\r\n").unwrap();
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"+PONG\r\n");

    // Stopped behind yoyoform's back: inspect says so.
    let stop = bollard::query_parameters::StopContainerOptions {
        t: Some(1),
        ..Default::default()
    };
    docker
        .client()
        .stop_container(&id, Some(stop))
        .await
        .unwrap();
    let stopped = container::inspect(&docker, &id)
        .await
        .unwrap()
        .expect("still exists");
    assert!(!stopped.running);
    assert_eq!(stopped.status, "exited");

    // Renamed out of the way (as a replacement does), started again, removed twice.
    let old_name = format!("{}-queue-old", project.name);
    container::rename(&docker, &id, &old_name).await.unwrap();
    container::start(&docker, &id).await.unwrap();
    let renamed = container::inspect(&docker, &old_name)
        .await
        .unwrap()
        .expect("renamed");
    assert!(renamed.running);
    assert_eq!(container::inspect(&docker, &spec.name).await.unwrap(), None);
    container::remove(&docker, &id).await.unwrap();
    assert_eq!(container::inspect(&docker, &id).await.unwrap(), None);
    container::remove(&docker, &id).await.unwrap();

    let removed = resources::sweep::remove_project(&docker, &project.name, None, false)
        .await
        .unwrap();
    assert_eq!(removed.containers, Vec::<String>::new());
    assert_eq!(removed.networks, vec![network_name]);
    assert_eq!(removed.volumes, vec![volume_name]);
    assert_eq!(removed.images, vec![tag.clone()]);
    assert!(!image::exists(&docker, &tag).await.unwrap());
}

#[tokio::test]
async fn a_container_that_exits_is_reported_with_its_exit_code_and_logs() {
    let docker = docker().await;
    let project = Project::new();
    let tag = project.redis_image(&docker).await;
    let spec = ContainerSpec {
        name: format!("{}-broken", project.name),
        image: tag,
        command: Some(vec!["--no-such-option".into(), "x".into()]),
        labels: project.labels("redis.broken"),
        ..Default::default()
    };
    let id = container::create(&docker, &spec).await.unwrap();
    let began = Instant::now();
    let error = container::wait_healthy(&docker, &id, Duration::from_secs(30), |_| {})
        .await
        .unwrap_err();
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    match &error {
        Error::Exited {
            container,
            exit_code,
            logs,
        } => {
            assert_eq!(container, &spec.name);
            assert_eq!(*exit_code, 1);
            assert!(logs.contains("no-such-option"), "{logs}");
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(error.to_string().contains("exited with code 1"), "{error}");
}

#[tokio::test]
async fn wait_exit_tells_a_finished_run_from_a_failed_one() {
    let docker = docker().await;
    let project = Project::new();
    let tag = project.redis_image(&docker).await;
    let run = |name: &str, arguments: &[&str]| ContainerSpec {
        name: format!("{}-{name}", project.name),
        image: tag.clone(),
        command: Some(
            arguments
                .iter()
                .map(|argument| argument.to_string())
                .collect(),
        ),
        labels: project.labels(&format!("job.{name}")),
        health: Some(HealthSpec::Disabled),
        ..Default::default()
    };
    // Redis exits 0 when it is told to stop (SIGTERM, a graceful shutdown).
    let id = container::create(&docker, &run("done", &["--loglevel", "notice"]))
        .await
        .unwrap();
    let stopper = {
        let docker = docker.clone();
        let id = id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            docker.client().stop_container(&id, None).await
        })
    };
    container::wait_exit(&docker, &id, Duration::from_secs(30))
        .await
        .unwrap();
    stopper.await.unwrap().unwrap();
    let id = container::create(&docker, &run("failed", &["--no-such-option"]))
        .await
        .unwrap();
    match container::wait_exit(&docker, &id, Duration::from_secs(30)).await {
        Err(Error::Exited {
            exit_code, logs, ..
        }) => {
            assert_eq!(exit_code, 1);
            assert!(logs.contains("no-such-option"), "{logs}");
        }
        other => panic!("unexpected: {other:?}"),
    }
}

#[tokio::test]
async fn a_container_joins_every_network_with_its_aliases_and_runs_a_health_command() {
    let docker = docker().await;
    let project = Project::new();
    let tag = project.redis_image(&docker).await;
    let mut networks = Vec::new();
    for name in ["front", "back"] {
        let network = format!("{}-{name}", project.name);
        let labels = project.labels(&format!("network.{name}"));
        network::create(&docker, &network, &labels).await.unwrap();
        networks.push(network);
    }
    let spec = ContainerSpec {
        name: format!("{}-both", project.name),
        image: tag,
        networks: networks.clone(),
        aliases: vec!["both".into()],
        labels: project.labels("redis.both"),
        // The image's own check is replaced by one of ours.
        health: Some(HealthSpec::Command(
            vec!["/usr/bin/redis-cli".into(), "-e".into(), "info".into()],
            HealthTimings {
                interval: Some(Duration::from_millis(300)),
                ..Default::default()
            },
        )),
        ..Default::default()
    };
    let id = container::create(&docker, &spec).await.unwrap();
    container::wait_healthy(&docker, &id, Duration::from_secs(30), |_| {})
        .await
        .unwrap();
    let actual = container::inspect(&docker, &id).await.unwrap().unwrap();
    for network in &networks {
        assert!(
            actual.networks[network].contains(&"both".to_string()),
            "{network}: {:?}",
            actual.networks
        );
    }
    assert_eq!(
        actual.health_check.unwrap().test,
        ["CMD", "/usr/bin/redis-cli", "-e", "info"]
    );
}

/// A Redis whose server listens elsewhere than where the image's check looks: unhealthy
/// after two checks, 200 ms apart.
fn unhealthy_redis(project: &Project, image: String, name: &str) -> ContainerSpec {
    ContainerSpec {
        name: format!("{}-{name}", project.name),
        image,
        command: Some(vec!["--port".into(), "6380".into()]),
        labels: project.labels(&format!("redis.{name}")),
        health: Some(HealthSpec::Timings(HealthTimings {
            interval: Some(Duration::from_millis(200)),
            retries: Some(2),
            start_period: Some(Duration::from_millis(1)),
            timeout: Some(Duration::from_secs(2)),
        })),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_failing_health_check_is_reported_with_its_output() {
    let docker = docker().await;
    let project = Project::new();
    let tag = project.redis_image(&docker).await;
    let spec = unhealthy_redis(&project, tag, "unhealthy");
    let id = container::create(&docker, &spec).await.unwrap();
    let error = container::wait_healthy(&docker, &id, Duration::from_secs(30), |_| {})
        .await
        .unwrap_err();
    match &error {
        Error::Unhealthy { container, output } => {
            assert_eq!(container, &spec.name);
            assert!(output.contains("Connection refused"), "{output}");
        }
        other => panic!("unexpected error: {other}"),
    }
}

#[tokio::test]
async fn a_disabled_health_check_waits_for_running_only() {
    let docker = docker().await;
    let project = Project::new();
    let tag = project.redis_image(&docker).await;
    let spec = ContainerSpec {
        name: format!("{}-nocheck", project.name),
        image: tag,
        labels: project.labels("redis.nocheck"),
        health: Some(HealthSpec::Disabled),
        ..Default::default()
    };
    let id = container::create(&docker, &spec).await.unwrap();
    container::wait_healthy(&docker, &id, Duration::from_secs(10), |_| {})
        .await
        .unwrap();
    let actual = container::inspect(&docker, &id).await.unwrap().unwrap();
    assert!(actual.running);
    assert_eq!(actual.health, None);
    assert_eq!(actual.health_check.unwrap().test, ["NONE"]);
}

#[tokio::test]
async fn wait_healthy_reports_progress_every_10_s_then_times_out() {
    let docker = docker().await;
    let project = Project::new();
    let tag = project.redis_image(&docker).await;
    // A long start period keeps the container `starting` while its checks fail.
    let spec = ContainerSpec {
        name: format!("{}-slow", project.name),
        image: tag,
        command: Some(vec!["--port".into(), "6380".into()]),
        labels: project.labels("redis.slow"),
        health: Some(HealthSpec::Timings(HealthTimings {
            start_period: Some(Duration::from_secs(60)),
            interval: Some(Duration::from_millis(500)),
            ..Default::default()
        })),
        ..Default::default()
    };
    let id = container::create(&docker, &spec).await.unwrap();
    let mut progress = Vec::new();
    let error = container::wait_healthy(&docker, &id, Duration::from_secs(11), |elapsed| {
        progress.push(elapsed)
    })
    .await
    .unwrap_err();
    assert_eq!(progress.len(), 1, "{progress:?}");
    assert!(progress[0] >= Duration::from_secs(10), "{progress:?}");
    assert!(progress[0] < Duration::from_secs(11), "{progress:?}");
    match &error {
        Error::HealthTimeout {
            status,
            output,
            waited,
            ..
        } => {
            assert_eq!(status, "running");
            assert!(*waited >= Duration::from_secs(11), "{waited:?}");
            assert!(output.contains("Connection refused"), "{output}");
        }
        other => panic!("unexpected error: {other}"),
    }
}

#[tokio::test]
async fn a_failed_build_step_returns_the_log_tail() {
    let docker = docker().await;
    let project = Project::new();
    let context = tempfile::tempdir().unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM scratch\nCOPY present /present\nCOPY absent /absent\n",
    )
    .unwrap();
    std::fs::write(context.path().join("present"), "x").unwrap();
    let tag = format!("{}-broken:1", project.name);
    let error = image::build(
        &docker,
        &tag,
        context.path(),
        &project.labels("service.broken"),
    )
    .await
    .unwrap_err();
    match &error {
        Error::Build {
            tag: built,
            message,
            log,
        } => {
            assert_eq!(built, &tag);
            assert!(message.contains("absent"), "{message}");
            assert!(log.contains("COPY present /present"), "{log}");
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(!image::exists(&docker, &tag).await.unwrap());
    // The step that worked left an image (unlabelled: labels go on the final image only);
    // it was removed with the failure.
    let Error::Build { log, .. } = &error else {
        unreachable!()
    };
    let intermediates: Vec<&str> = log
        .lines()
        .filter_map(|line| line.trim().strip_prefix("---> "))
        .filter(|id| id.chars().all(|c| c.is_ascii_hexdigit()))
        .collect();
    assert!(!intermediates.is_empty(), "{log}");
    for id in intermediates {
        assert!(
            !image::exists(&docker, id).await.unwrap(),
            "{id} left behind"
        );
    }
    image::remove(&docker, &tag).await.unwrap();
}

#[tokio::test]
async fn an_absent_image_that_cannot_be_pulled_is_a_clear_error() {
    let docker = docker().await;
    // `.invalid` never resolves: the daemon fails at once, nothing is fetched.
    let name = "yoyoform-absent.invalid/none:1";
    assert!(!image::exists(&docker, name).await.unwrap());
    let error = image::pull(&docker, name).await.unwrap_err();
    assert!(matches!(error, Error::Pull { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with(
            "image `yoyoform-absent.invalid/none:1` is not present and cannot be pulled: "
        ),
        "{message}"
    );
}

/// A registry of Debian's `docker-registry` package on a loopback port, with its storage in
/// a temporary folder; stopped when dropped. `None` when the package is not installed.
struct Registry {
    address: String,
    process: std::process::Child,
    _storage: tempfile::TempDir,
}

impl Registry {
    const PROGRAM: &str = "/usr/bin/docker-registry";

    fn start() -> Option<Registry> {
        if !std::path::Path::new(Registry::PROGRAM).exists() {
            return None;
        }
        let storage = tempfile::tempdir().unwrap();
        let address = format!("127.0.0.1:{}", free_port());
        let config = storage.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
                storage.path().join("data").display()
            ),
        )
        .unwrap();
        let process = std::process::Command::new(Registry::PROGRAM)
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let registry = Registry {
            address,
            process,
            _storage: storage,
        };
        let began = Instant::now();
        while std::net::TcpStream::connect(&registry.address).is_err() {
            assert!(
                began.elapsed() < Duration::from_secs(10),
                "the registry did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(registry)
    }

    /// `GET path` on the registry's API; the body.
    fn get(&self, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(&self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n",
            self.address
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or(response)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[tokio::test]
async fn an_image_is_pushed_to_a_registry_or_the_error_says_why_not() {
    let docker = docker().await;
    let project = Project::new();
    let tag = project.busybox_image(&docker).await;

    // Nothing listens there: the daemon says so, at once.
    let nowhere = format!("127.0.0.1:{}", free_port());
    let began = Instant::now();
    let error = image::push(&docker, &tag, &nowhere).await.unwrap_err();
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "{:?}",
        began.elapsed()
    );
    match &error {
        Error::Push {
            image,
            registry,
            message,
        } => {
            assert_eq!(image, &format!("{nowhere}/{tag}"));
            assert_eq!(registry, &nowhere);
            assert!(message.contains("connection refused"), "{message}");
        }
        other => panic!("unexpected error: {other}"),
    }

    let Some(registry) = Registry::start() else {
        // scripts/prerequisites does not install it (yet): say so rather than pass quietly.
        eprintln!(
            "SKIPPED the push to a registry: {} is not installed (apt-get install docker-registry)",
            Registry::PROGRAM
        );
        return;
    };
    let pushed = image::push(&docker, &tag, &registry.address).await.unwrap();
    assert_eq!(pushed, format!("{}/{tag}", registry.address));
    let (repository, version) = tag.split_once(':').unwrap();
    let tags = registry.get(&format!("/v2/{repository}/tags/list"));
    assert_eq!(
        tags.trim(),
        format!("{{\"name\":\"{repository}\",\"tags\":[\"{version}\"]}}")
    );
    // The registry's tag is the project's image too: the sweep removes it with the image.
    assert!(image::exists(&docker, &pushed).await.unwrap());
    resources::sweep::remove_project(&docker, &project.name, None, false)
        .await
        .unwrap();
    assert!(!image::exists(&docker, &pushed).await.unwrap());
    assert!(!image::exists(&docker, &tag).await.unwrap());
}

/// The waits react to Docker's events: each returns within a few milliseconds of the
/// event that decides it (`health_status: healthy`, `health_status: unhealthy`, `die`), by
/// Docker's own timestamps, where looking every 250 ms lagged 125 ms behind on average.
/// Containers that become healthy, one that becomes unhealthy, one that exits.
#[tokio::test]
async fn waits_return_as_soon_as_docker_says_what_decides_them() {
    use std::time::SystemTime;

    use bollard::query_parameters::EventsOptions;
    use futures_util::StreamExt;

    let docker = docker().await;
    let project = Project::new();
    let tag = project.redis_image(&docker).await;
    let began = SystemTime::now();
    let timings = |retries| HealthTimings {
        interval: Some(Duration::from_millis(300)),
        retries: Some(retries),
        start_period: Some(Duration::from_millis(1)),
        timeout: Some(Duration::from_secs(2)),
    };
    let spec = |name: &str, command: Option<Vec<String>>, health| ContainerSpec {
        name: format!("{}-{name}", project.name),
        image: tag.clone(),
        command,
        labels: project.labels(&format!("redis.{name}")),
        health: Some(health),
        ..Default::default()
    };
    let mut waits = Vec::new();
    for index in 0..4 {
        let spec = spec(
            &format!("healthy-{index}"),
            None,
            HealthSpec::Timings(timings(3)),
        );
        waits.push((spec, "health_status: healthy"));
    }
    // Listening elsewhere than where the image's check looks: unhealthy after 2 checks.
    let command = Some(vec!["--port".into(), "6380".into()]);
    waits.push((
        spec("unhealthy", command, HealthSpec::Timings(timings(2))),
        "health_status: unhealthy",
    ));
    // Exits 3 after a second, once the wait has long started.
    let exits = ContainerSpec {
        image: project.busybox_image(&docker).await,
        command: Some(vec!["sh".into(), "-c".into(), "sleep 1; exit 3".into()]),
        ..spec("exits", None, HealthSpec::Disabled)
    };
    let mut tasks = Vec::new();
    for (spec, decisive) in waits {
        let docker = docker.clone();
        tasks.push(tokio::spawn(async move {
            let id = container::create(&docker, &spec).await.unwrap();
            let result =
                container::wait_healthy(&docker, &id, Duration::from_secs(30), |_| {}).await;
            (id, decisive, result.is_ok(), SystemTime::now())
        }));
    }
    {
        let docker = docker.clone();
        tasks.push(tokio::spawn(async move {
            let id = container::create(&docker, &exits).await.unwrap();
            let result = container::wait_exit(&docker, &id, Duration::from_secs(30)).await;
            (id, "die", result.is_ok(), SystemTime::now())
        }));
    }
    let mut returned = Vec::new();
    for task in tasks {
        returned.push(task.await.unwrap());
    }
    // Docker's own record of when each event happened.
    let nanos = |time: SystemTime| time.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    let since = nanos(began).as_secs().to_string();
    let until = format!("{}", nanos(SystemTime::now()).as_secs() + 1);
    let filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!("yoyoform.project={}", project.name)],
    )]);
    let events: Vec<_> = docker
        .client()
        .events(Some(EventsOptions {
            since: Some(since),
            until: Some(until),
            filters: Some(filters),
        }))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(|event| event.expect("an event"))
        .collect();
    let mut lags = Vec::new();
    for (id, decisive, ok, at) in &returned {
        assert_eq!(*ok, decisive.ends_with(": healthy"), "{decisive}");
        let event = events
            .iter()
            .find(|event| {
                event.action.as_deref() == Some(decisive)
                    && event.actor.as_ref().and_then(|actor| actor.id.as_deref()) == Some(id)
            })
            .unwrap_or_else(|| panic!("no `{decisive}` event for {id}: {events:?}"));
        let happened = Duration::from_nanos(event.time_nano.unwrap() as u64);
        lags.push(nanos(*at).saturating_sub(happened));
    }
    lags.sort();
    // The median of six, so that one wait slowed by the machine's other load does not
    // decide; the wait also reads the container's state and, on a failure, its logs.
    eprintln!("from the deciding event to the wait's return: {lags:?}");
    let median = lags[lags.len() / 2];
    assert!(median < Duration::from_millis(80), "{lags:?}");
}

/// `wait_checked` runs the container's own check as soon as it can: a server ready at once
/// is up long before Docker's first check, one whole interval (here 5 s) after the start,
/// while Docker still says `starting`. A check that fails there is tried again until it
/// passes; one that cannot pass leaves Docker's verdict to decide.
#[tokio::test]
async fn wait_checked_runs_the_check_before_dockers_first_interval() {
    let docker = docker().await;
    let project = Project::new();
    let tag = project.redis_image(&docker).await;
    let spec = ContainerSpec {
        name: format!("{}-quick", project.name),
        image: tag.clone(),
        labels: project.labels("redis.quick"),
        health: Some(HealthSpec::Timings(HealthTimings {
            interval: Some(Duration::from_secs(5)),
            ..Default::default()
        })),
        ..Default::default()
    };
    let checked = |id: String| {
        let docker = docker.clone();
        async move {
            let every = Duration::from_millis(100);
            container::wait_checked(&docker, &id, Duration::from_secs(30), every, |_| {}).await
        }
    };
    let id = container::create(&docker, &spec).await.unwrap();
    let began = Instant::now();
    checked(id.clone()).await.unwrap();
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "{:?}",
        began.elapsed()
    );
    let actual = container::inspect(&docker, &id).await.unwrap().unwrap();
    assert_eq!(actual.health, Some(HealthStatus::Starting));

    // The check run here fails every time: Docker's verdict decides.
    let spec = unhealthy_redis(&project, tag, "never");
    let id = container::create(&docker, &spec).await.unwrap();
    let error = checked(id).await.unwrap_err();
    assert!(matches!(error, Error::Unhealthy { .. }), "{error}");
}
