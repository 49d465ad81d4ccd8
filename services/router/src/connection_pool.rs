//! Keep-alive connections to upstream addresses, reused from one request to the next.
//!
//! Each worker has its own pool (see `workers`), so the lock below is never contended;
//! it is there because the proxy is shared with the worker's tasks. Idle connections are
//! kept per address, most recently used last; a connection comes back when the response
//! it carried is complete (see `upstream_http1::UpstreamBody`).

use crate::upstream_http1::Connection;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Idle connections are closed after this long, well before a typical backend's own
/// keep-alive limit, to avoid reusing a connection the backend is closing.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(20);
/// At most this many idle connections are kept per address; more are closed.
const MAX_IDLE_PER_ADDRESS: usize = 64;

/// The idle connections of each upstream address.
#[derive(Debug)]
pub struct ConnectionPool {
    /// Per address, idle connections in the order they became idle. A short list scanned
    /// in order: a route has a few addresses.
    idle: Mutex<Vec<(SocketAddr, Vec<Idle>)>>,
    connect_timeout: Duration,
}

#[derive(Debug)]
struct Idle {
    connection: Connection,
    since: Instant,
}

impl ConnectionPool {
    /// An empty pool whose new connections give up after `connect_timeout`.
    pub fn new(connect_timeout: Duration) -> Self {
        ConnectionPool {
            idle: Mutex::new(Vec::new()),
            connect_timeout,
        }
    }

    /// The most recently used idle connection to `addr` that can still carry a request,
    /// if there is one. Connections the upstream closed while they were idle, and those
    /// idle for longer than [`IDLE_TIMEOUT`] before `now` (the request's arrival), are
    /// dropped on the way.
    pub fn checkout(&self, addr: SocketAddr, now: Instant) -> Option<Connection> {
        let mut idle = lock(&self.idle);
        let list = &mut idle.iter_mut().find(|(a, _)| *a == addr)?.1;
        while let Some(entry) = list.pop() {
            if now.saturating_duration_since(entry.since) > IDLE_TIMEOUT {
                // The most recent one has expired, so have all the others.
                list.clear();
                return None;
            }
            if entry.connection.is_reusable() {
                return Some(entry.connection);
            }
        }
        None
    }

    /// Takes back a connection whose response is complete.
    pub fn checkin(&self, addr: SocketAddr, connection: Connection) {
        let now = Instant::now();
        let mut idle = lock(&self.idle);
        let list = match idle.iter().position(|(a, _)| *a == addr) {
            Some(index) => &mut idle[index].1,
            None => {
                idle.push((addr, Vec::new()));
                &mut idle.last_mut().expect("just pushed").1
            }
        };
        // The oldest idle connection is the first; close it once it is too old to reuse,
        // so that connections left over after a burst do not stay open for ever.
        if list
            .first()
            .is_some_and(|oldest| now.duration_since(oldest.since) > IDLE_TIMEOUT)
        {
            list.remove(0);
        }
        if list.len() < MAX_IDLE_PER_ADDRESS {
            list.push(Idle {
                connection,
                since: now,
            });
        }
    }

    /// Opens a new connection to `addr`, giving up after the connect timeout.
    pub async fn connect(&self, addr: SocketAddr) -> std::io::Result<Connection> {
        tokio::time::timeout(self.connect_timeout, Connection::connect(addr))
            .await
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection within {:?}", self.connect_timeout),
                )
            })?
    }
}

/// Locks a mutex, recovering it if a panicking thread poisoned it: the idle lists are
/// always in a usable state.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
