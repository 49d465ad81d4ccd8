//! A single-node swarm on the running daemon, for tests that need one.
//!
//! ```no_run
//! # async fn example() -> resources::Result<()> {
//! let docker = resources::Docker::connect().await?;
//! // First the swarm, then the project: the project's sweep (on drop) runs while the swarm
//! // is still there to remove its services from.
//! let _swarm = resources::swarm::testing::Swarm::join(&docker).await?;
//! // ... create services ...
//! # Ok(())
//! # }
//! ```
//!
//! The swarm is shared by every [`Swarm`] of the process: the tests of one test binary run
//! on parallel threads, each with a runtime of its own, and one swarm serves them all. The
//! first one in makes it (unless the daemon was in a swarm already: that one is used and
//! never left), the last one out leaves it (by force) and removes the `docker_gwbridge`
//! network swarm left behind, so the daemon is as it was. `cargo test` runs test binaries
//! one after another, never two at once, so no other process shares or leaves the swarm
//! meanwhile; two test runs at once against one daemon would.

use std::sync::LazyLock;

use crate::docker::Docker;
use crate::error::Result;
use crate::network;
use crate::swarm::{SwarmInfo, info, init, leave};

/// Who holds the swarm in this process.
#[derive(Debug, Default)]
struct Users {
    /// How many [`Swarm`]s are alive.
    count: usize,
    /// Whether this process made the swarm (and so leaves it).
    ours: bool,
}

/// A tokio mutex, as the first user holds it across `init` so the others wait for the
/// swarm; it works from every test's runtime, and from a plain thread (`blocking_lock`).
static USERS: LazyLock<tokio::sync::Mutex<Users>> =
    LazyLock::new(|| tokio::sync::Mutex::new(Users::default()));

/// The address the swarm of tests advertises and listens on: loopback, reachable from
/// this machine only.
const ADDRESS: &str = "127.0.0.1";

/// A share of the test swarm; the last one dropped leaves the swarm if this process made
/// it.
#[derive(Debug)]
pub struct Swarm {
    /// What the daemon said of the swarm when this share was taken.
    pub info: SwarmInfo,
}

impl Swarm {
    /// Takes a share of the swarm, making it first if the daemon is in none. Fails when
    /// `swarm init` does (and then holds no share). A daemon that is a worker of a swarm
    /// is taken as it is: services cannot be made there, and the tests say so.
    pub async fn join(docker: &Docker) -> Result<Swarm> {
        let mut users = USERS.lock().await;
        let mut found = info(docker).await?;
        if users.count == 0 {
            users.ours = false;
            if !found.active {
                init(docker, ADDRESS).await?;
                users.ours = true;
                found = info(docker).await?;
            }
        }
        users.count += 1;
        Ok(Swarm { info: found })
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be the one dropping us: leave on a
        // thread of its own, with its own runtime and connection.
        let left = std::thread::spawn(|| {
            let mut users = USERS.blocking_lock();
            users.count -= 1;
            if users.count > 0 || !users.ours {
                return Ok(());
            }
            users.ours = false;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to leave the test swarm");
            runtime.block_on(async {
                let docker = Docker::connect().await?;
                leave(&docker).await?;
                network::remove(&docker, "docker_gwbridge").await
            })
        })
        .join();
        match left {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("leaving the test swarm: {error}"),
            Err(_) => eprintln!("leaving the test swarm panicked"),
        }
    }
}
