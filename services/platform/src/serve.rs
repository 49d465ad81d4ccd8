//! Serving an axum app: logs to stdout one event a line, JSON for unknown paths and
//! methods, and a graceful stop on SIGTERM or Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use axum::http::StatusCode;
use tokio::net::TcpListener;

use crate::reply::ApiError;

/// Sends tracing events to stdout, one line each; `RUST_LOG` filters (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .init();
}

/// Adds JSON answers for unknown paths (404) and wrong methods (405), where axum would
/// answer with an empty or plain-text body.
pub fn with_json_errors(app: Router) -> Router {
    app.fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "Not found") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
        })
}

/// Binds 0.0.0.0:`port` and serves `app` until SIGTERM or Ctrl-C; requests in flight are
/// finished first.
pub async fn serve(app: Router, port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))).await?;
    tracing::info!(port, "listening");
    axum::serve(listener, with_json_errors(app))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Resolves on the first SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler can be installed");
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received, stopping"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received, stopping"),
    }
}
