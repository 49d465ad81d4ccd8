//! `router`: the Yoyo platform's path-based reverse proxy.
//!
//! `router` serves; `router healthcheck` asks a running router's `/health` (Docker's
//! HEALTHCHECK). Configuration comes only from the environment: `HTTP_PORT`, `ROUTES`,
//! `UPSTREAM_CONNECT_TIMEOUT_MS`, `UPSTREAM_TIMEOUT_MS` (see `config`).
//!
//! Exit codes: 0 after a clean stop or a healthy check; 1 when the router cannot listen,
//! or the check finds it unhealthy; 2 for a configuration or usage error.

mod access_log;
mod balancer;
mod config;
mod connection_pool;
mod decimal_text;
mod forwarded_headers;
mod healthcheck;
mod idle_body;
mod json_reply;
mod proxy;
mod request_path;
mod response_body;
mod retry_body;
mod route_table;
mod server;
mod upstream;
mod upstream_http1;
mod workers;

use config::Config;
use std::io::IsTerminal;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use tracing::{error, info};
use workers::Workers;

const EXIT_FAILURE: u8 = 1;
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => serve(),
        [command] if command == "healthcheck" => healthcheck(),
        _ => {
            eprintln!(
                "router: usage: router [healthcheck] (configuration comes from the environment)"
            );
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

fn healthcheck() -> ExitCode {
    let port = match config::http_port_from_env() {
        Ok(port) => port,
        Err(error) => {
            eprintln!("router healthcheck: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match healthcheck::check(port) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("router healthcheck: {error}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("router: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::stdout().is_terminal())
        .with_writer(access_log::Stdout)
        .init();

    let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, config.http_port));
    let worker_count = workers::count();
    let listeners = match workers::listen(addr, worker_count) {
        Ok(listeners) => listeners,
        Err(error) => {
            error!(%addr, %error, "cannot listen");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    for route in config.routes.routes() {
        let upstreams: Vec<&str> = route
            .upstreams
            .iter()
            .map(|u| u.authority.as_str())
            .collect();
        info!(prefix = %route.prefix, upstreams = %upstreams.join("|"), "route");
    }
    info!(
        %addr,
        workers = worker_count,
        connect_timeout_ms = config.connect_timeout.as_millis(),
        upstream_timeout_ms = config.upstream_timeout.as_millis(),
        "router listening"
    );
    let mut workers = Workers::start(&config, listeners);

    // The main thread only waits for a signal (or a worker that died) and then stops the
    // workers; each drains its own connections.
    let control = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            error!(%error, "cannot start the async runtime");
            workers.stop();
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let clean = control.block_on(async {
        tokio::select! {
            () = server::shutdown_signal() => true,
            ended = workers.one_ended() => {
                error!(worker = ?ended, "a worker stopped on its own; stopping the router");
                false
            }
        }
    });
    workers.stop();
    info!("router stopped");
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}
