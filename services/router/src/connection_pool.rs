//! Keep-alive connections to upstream addresses, reused from one request to the next.
//!
//! hyper-util's pooled client did the same job at a cost the router could see per
//! request: a pool keyed by hashed scheme and authority behind a shared lock, a URI in
//! absolute form rebuilt and parsed per request, and, because a connection is only
//! reusable once the response body has been read, an extra task spawned for almost
//! every request to wait for that moment. Here a connection is one
//! `hyper::client::conn::http1` connection (its I/O driven by a task of its own), idle
//! connections are kept per address, most recently used first, and a connection goes
//! back to the pool when the response body that was using it is finished, without any
//! task: [`PooledBody`] does it as it is dropped.

use crate::retry_body::AttemptBody;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tracing::debug;

/// Idle connections are closed after this long, well before a typical backend's own
/// keep-alive limit, to avoid reusing a connection the backend is closing.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(20);
/// At most this many idle connections are kept per address; more are closed.
const MAX_IDLE_PER_ADDRESS: usize = 64;

/// The sending half of one upstream connection.
pub type Sender = SendRequest<AttemptBody>;

/// The idle connections of each upstream address.
#[derive(Debug)]
pub struct ConnectionPool {
    /// Per address, idle connections in the order they became idle (the last is the
    /// most recently used). A short list scanned in order: a route has a few addresses.
    idle: Mutex<Vec<(SocketAddr, Vec<Idle>)>>,
    connect_timeout: Duration,
}

#[derive(Debug)]
struct Idle {
    sender: Sender,
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

    /// An idle connection to `addr` that is ready to take a request, if there is one.
    /// Connections found closed (the upstream hung up while they were idle) or idle for
    /// longer than [`IDLE_TIMEOUT`] are dropped on the way.
    pub async fn checkout(&self, addr: SocketAddr) -> Option<Sender> {
        loop {
            let mut sender = self.take_idle(addr)?;
            // Usually ready at once; a connection given back the moment its response body
            // ended may still be finishing that response.
            if sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    fn take_idle(&self, addr: SocketAddr) -> Option<Sender> {
        let mut idle = lock(&self.idle);
        let list = &mut idle.iter_mut().find(|(a, _)| *a == addr)?.1;
        while let Some(entry) = list.pop() {
            if entry.since.elapsed() > IDLE_TIMEOUT {
                // The most recent one has expired, so have all the others.
                list.clear();
                return None;
            }
            if !entry.sender.is_closed() {
                return Some(entry.sender);
            }
        }
        None
    }

    /// Gives a connection back once the response it carried is complete.
    pub fn checkin(&self, addr: SocketAddr, sender: Sender) {
        if sender.is_closed() {
            return;
        }
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
            list.push(Idle { sender, since: now });
        }
    }

    /// Opens a new connection to `addr`; its I/O runs in a task of its own, which ends
    /// when the upstream closes the connection or every [`Sender`] of it is dropped.
    pub async fn connect(&self, addr: SocketAddr) -> std::io::Result<Sender> {
        let stream = tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection within {:?}", self.connect_timeout),
                )
            })??;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                debug!(%addr, %error, "upstream connection ended");
            }
        });
        Ok(sender)
    }
}

/// An upstream's response body that gives its connection back to the pool when it is
/// dropped after being read to the end (a body dropped half-way takes its connection
/// with it: the rest of the response would still be on the wire).
pub struct PooledBody {
    inner: Incoming,
    /// Where the connection goes back to, until it does.
    home: Option<(Arc<ConnectionPool>, SocketAddr, Sender)>,
    ended: bool,
}

impl PooledBody {
    /// `inner`, read from the connection `sender` to `addr` of `pool`.
    pub fn new(
        inner: Incoming,
        pool: Arc<ConnectionPool>,
        addr: SocketAddr,
        sender: Sender,
    ) -> Self {
        PooledBody {
            inner,
            home: Some((pool, addr, sender)),
            ended: false,
        }
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        if (self.ended || self.inner.is_end_stream())
            && let Some((pool, addr, sender)) = self.home.take()
        {
            pool.checkin(addr, sender);
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Locks a mutex, recovering it if a panicking thread poisoned it: the idle lists are
/// always in a usable state.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
