//! Accepting connections, and stopping gracefully: on shutdown the listener closes, each
//! open connection finishes the request in hand, and the process waits for them (up to
//! [`DRAIN_LIMIT`]) before it exits.

use crate::decimal_text::push_ip;
use crate::proxy::Proxy;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{info, warn};

/// Longest wait for open connections after a shutdown signal; Docker sends SIGKILL 10 s
/// after SIGTERM by default, so finish before that.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(8);
/// A client that has not sent a whole request head within this long is dropped.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `proxy` on `listener` until `shutdown` completes, then drains.
pub async fn serve(listener: TcpListener, proxy: Arc<Proxy>, shutdown: impl Future<Output = ()>) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Reap finished connection tasks so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
        let (stream, client) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little, do not spin.
                    warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let proxy = Arc::clone(&proxy);
        let mut stop = stop_rx.clone();
        // The client's address as `X-Forwarded-For` writes it, once per connection.
        let mut client_ip = Vec::new();
        push_ip(&mut client_ip, client.ip());
        let client_ip: Arc<[u8]> = client_ip.into();
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let proxy = Arc::clone(&proxy);
                let client_ip = Arc::clone(&client_ip);
                async move { Ok::<_, Infallible>(proxy.handle(&client_ip, request).await) }
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }

    drop(listener);
    while connections.try_join_next().is_some() {}
    let open = connections.len();
    info!(open_connections = open, "shutting down");
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN_LIMIT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!(
            still_open = connections.len(),
            "connections still open after {DRAIN_LIMIT:?}; closing them"
        );
        connections.shutdown().await;
    }
}

/// Completes on SIGTERM (what `docker stop` sends) or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(terminate) => terminate,
        Err(error) => {
            warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the router");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = terminate.recv() => info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => info!("SIGINT received"),
    }
}
