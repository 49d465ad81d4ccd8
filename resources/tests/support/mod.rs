//! What the Docker tests share: a per-test project whose objects are swept when the test
//! ends, however it ends, and small helpers to act inside containers.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use bollard::exec::{CreateExecOptions, StartExecResults};
use futures_util::StreamExt;
use resources::{Docker, labels::Labels};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Held while a test builds an image or sweeps its project. The tests build the Redis
/// image in parallel from the same cached layers; removing one project's image makes
/// Docker delete the untagged parent layers it no longer sees a child of, which can be a
/// layer another build has just taken from the cache ("failed to get digest").
static IMAGES: std::sync::LazyLock<tokio::sync::Mutex<()>> =
    std::sync::LazyLock::new(|| tokio::sync::Mutex::new(()));

/// A unique project name; dropping it removes every object carrying its label.
pub struct Project {
    pub name: String,
}

impl Project {
    pub fn new() -> Project {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        Project {
            name: format!("rtest-{}-{n}", std::process::id()),
        }
    }

    /// Labels of an object of this project at `address`.
    pub fn labels(&self, address: &str) -> BTreeMap<String, String> {
        Labels::new(&self.name).address(address).build()
    }

    /// Builds the Redis image for this project and returns its tag.
    pub async fn redis_image(&self, docker: &Docker) -> String {
        let hash = resources::redis_image::redis_inputs_hash().expect("redis inputs hash");
        let tag = format!("{}-redis:{}", self.name, &hash[..16]);
        let _images = IMAGES.lock().await;
        resources::redis_image::build(docker, &tag, &self.labels("redis.queue"))
            .await
            .expect("build the redis image");
        tag
    }
}

impl Project {
    /// Builds a scratch image of Debian's static busybox (`sh`, `httpd`, `cat`, `sleep`, ...)
    /// for this project and returns its tag: no registry can be reached, nothing is pulled.
    pub async fn busybox_image(&self, docker: &Docker) -> String {
        const BUSYBOX: &str = "/bin/busybox";
        let context = tempfile::tempdir().expect("temporary folder");
        std::fs::copy(BUSYBOX, context.path().join("busybox")).unwrap_or_else(|error| {
            panic!("{BUSYBOX}: {error} (scripts/prerequisites installs busybox-static)")
        });
        std::fs::write(
            context.path().join("Dockerfile"),
            "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
        )
        .expect("write the Dockerfile");
        let tag = format!("{}-busybox:1", self.name);
        let _images = IMAGES.lock().await;
        resources::image::build(docker, &tag, context.path(), &self.labels("image.busybox"))
            .await
            .expect("build the busybox image");
        tag
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let project = self.name.clone();
        // Drop cannot await, and the test's runtime may be the one dropping us: sweep on a
        // thread of its own, with its own runtime and connection.
        let swept = std::thread::spawn(move || {
            let _images = IMAGES.blocking_lock();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let docker = Docker::connect().await?;
                resources::sweep::remove_project(&docker, &project, None, false).await
            })
        })
        .join();
        match swept {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => eprintln!("sweeping project {}: {error}", self.name),
            Err(_) => eprintln!("sweeping project {} panicked", self.name),
        }
    }
}

/// Runs a command in a running container; returns (exit code, stdout and stderr).
pub async fn exec(docker: &Docker, container: &str, command: &[&str]) -> (i64, String) {
    let client = docker.client();
    let created = client
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(command.to_vec()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .expect("create exec");
    let mut text = String::new();
    match client
        .start_exec(&created.id, None)
        .await
        .expect("start exec")
    {
        StartExecResults::Attached { mut output, .. } => {
            while let Some(chunk) = output.next().await {
                text.push_str(&chunk.expect("exec output").to_string());
            }
        }
        StartExecResults::Detached => panic!("exec detached"),
    }
    let inspected = client
        .inspect_exec(&created.id)
        .await
        .expect("inspect exec");
    (inspected.exit_code.expect("exit code"), text)
}

/// A port on 127.0.0.1 that is free right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}
