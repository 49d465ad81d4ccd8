//! loyalty-worker: takes transactions from the Redis Stream that transaction-api writes,
//! awards stamps and vouchers exactly once in effect, and serves `/health` and `/balance`.
//! Runs as n replicas sharing one consumer group.

mod api;
mod config;
mod connection;
mod consumer;
mod ledger;
mod loyalty;
mod transaction;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use platform::settings::{Settings, exit_on_error};
use tokio::sync::watch;

use crate::config::Config;
use crate::connection::SharedConnection;
use crate::consumer::{Consumer, stopped};
use crate::ledger::Ledger;

/// How long open HTTP connections may delay the exit after a stop.
const HTTP_DRAIN: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    if platform::health::requested() {
        return platform::health::command(exit_on_error(Settings::from_env().http_port()));
    }
    platform::serve::init_logging();
    let config = exit_on_error(Config::from_settings(&Settings::from_env()));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config))
}

async fn run(config: Config) -> ExitCode {
    let address = SocketAddr::from((Ipv4Addr::UNSPECIFIED, config.http_port));
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, %address, "cannot listen (HTTP_PORT)");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(port = config.http_port, "listening");

    let ledger = Arc::new(Ledger::new(
        config.stream,
        config.group,
        config.rule,
        config.marker_ttl_seconds,
    ));
    // One stop flag for both halves, set by the one signal handler, so SIGTERM stops the
    // consumer and the HTTP server together.
    let (stop_sender, stop) = watch::channel(false);

    let consumer = tokio::spawn(
        Consumer {
            ledger: ledger.clone(),
            client: config.redis.clone(),
            name: config.consumer,
            claim_idle: config.claim_idle,
        }
        .run(stop.clone()),
    );

    let app = platform::serve::with_json_errors(api::router(api::AppState {
        keys: config.keys,
        ledger,
        redis: Arc::new(SharedConnection::new(config.redis)),
    }));
    let mut http_stop = stop.clone();
    let http = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stopped(&mut http_stop).await })
            .await
    });

    platform::serve::shutdown_signal().await;
    let _ = stop_sender.send(true);

    let mut code = ExitCode::SUCCESS;
    // The consumer finishes the batch in hand; that is bounded by Redis' response timeout.
    if let Err(error) = consumer.await {
        tracing::error!(%error, "the consumer failed");
        code = ExitCode::FAILURE;
    }
    match tokio::time::timeout(HTTP_DRAIN, http).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(error))) => {
            tracing::error!(%error, "the HTTP server failed");
            code = ExitCode::FAILURE;
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "the HTTP server failed");
            code = ExitCode::FAILURE;
        }
        Err(_) => tracing::warn!("HTTP connections still open after the drain time, closing"),
    }
    tracing::info!("stopped");
    code
}
