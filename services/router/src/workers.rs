//! The router's worker threads: one per core, each a single-threaded tokio runtime with a
//! listening socket and an upstream connection pool of its own, the way nginx runs one
//! worker process per core.
//!
//! With one multi-threaded runtime, a proxied request hopped between threads: the
//! client's connection task, the upstream connection's task and the response went
//! through queues that any worker could pick up, with the wake-ups and cache traffic
//! that implies. Here a request is served from accept to response on the thread that
//! accepted its connection. The kernel spreads new connections over the workers' sockets
//! (`SO_REUSEPORT`), so there is no shared accept queue to contend on either.
//!
//! What the workers share is read-mostly: the route table, and the balancer (its
//! round-robin counters and its DNS answers, so a name is looked up once, not once per
//! worker).

use crate::access_log;
use crate::balancer::Balancer;
use crate::config::Config;
use crate::proxy::Proxy;
use crate::server;
use socket2::{Domain, Protocol, Socket, Type};
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::{mpsc, watch};
use tracing::error;

/// Pending connections each listening socket holds before the kernel refuses more.
const LISTEN_BACKLOG: i32 = 1024;

/// How many workers to run: one per core this process may use.
pub fn count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `count` sockets listening on `addr`, all bound with `SO_REUSEPORT` so each worker can
/// have its own. Binding all of them before any worker starts makes a port that is
/// already taken fail at start. (Another process that also sets `SO_REUSEPORT`, under
/// the same user, could share the port: a second router started on the same port would
/// take a share of the connections instead of failing.)
pub fn listen(addr: SocketAddr, count: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    (0..count)
        .map(|_| {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
            socket.set_reuse_address(true)?;
            socket.set_reuse_port(true)?;
            socket.set_nonblocking(true)?;
            socket.bind(&addr.into())?;
            socket.listen(LISTEN_BACKLOG)?;
            Ok(socket.into())
        })
        .collect()
}

/// Running workers, and how to stop them.
pub struct Workers {
    threads: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    ended: mpsc::UnboundedReceiver<usize>,
}

impl Workers {
    /// Starts one worker per listener. A worker that cannot build its runtime is logged
    /// and reported as ended (see [`Workers::one_ended`]).
    pub fn start(config: &Config, listeners: Vec<std::net::TcpListener>) -> Self {
        let balancer = Arc::new(Balancer::new(&config.routes, config.connect_timeout));
        let (stop, stop_rx) = watch::channel(false);
        let (ended_tx, ended) = mpsc::unbounded_channel();
        let threads = listeners
            .into_iter()
            .enumerate()
            .map(|(index, listener)| {
                let proxy = Arc::new(Proxy::new(config, Arc::clone(&balancer)));
                let mut stop_rx = stop_rx.clone();
                let ended_tx = ended_tx.clone();
                std::thread::Builder::new()
                    .name(format!("router-worker-{index}"))
                    .spawn(move || {
                        work(listener, proxy, async move {
                            let _ = stop_rx.wait_for(|stop| *stop).await;
                        });
                        let _ = ended_tx.send(index);
                    })
                    .expect("spawn a worker thread")
            })
            .collect();
        Workers {
            threads,
            stop,
            ended,
        }
    }

    /// Completes when a worker ends on its own (only after [`Workers::stop`] in normal
    /// operation), with its index.
    pub async fn one_ended(&mut self) -> Option<usize> {
        self.ended.recv().await
    }

    /// Tells every worker to stop accepting and drain, and waits for all of them.
    pub fn stop(self) {
        let _ = self.stop.send(true);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// One worker: serves `listener` with `proxy` until `shutdown` completes, then drains.
fn work(
    listener: std::net::TcpListener,
    proxy: Arc<Proxy>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            error!(%error, "cannot start a worker's async runtime");
            return;
        }
    };
    runtime.block_on(async {
        tokio::spawn(access_log::flush_periodically());
        match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => server::serve(listener, proxy, shutdown).await,
            Err(error) => error!(%error, "cannot use the listening socket"),
        }
    });
    access_log::flush();
}
