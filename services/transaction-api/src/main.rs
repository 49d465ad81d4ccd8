//! transaction-api: takes customers' transactions (`POST /transactions`) and puts them on
//! the Redis Stream the loyalty-worker reads (format in `queue.rs`). Settings are in
//! `config.rs`; `transaction-api healthcheck` is the scratch image's HEALTHCHECK.
//!
//! It starts even when Redis is down: its /health answers 503 and POST /transactions 503
//! until Redis answers, then both recover by themselves. Refusing to start would only turn
//! a Redis that comes up a little later into a restart loop.

mod amount;
mod config;
mod currency;
mod order;
mod queue;
mod routes;

use std::process::ExitCode;

use platform::settings::{SettingError, Settings, exit_on_error};

use crate::config::Config;
use crate::queue::Queue;
use crate::routes::App;

fn main() -> ExitCode {
    let settings = Settings::from_env();
    if platform::health::requested() {
        return platform::health::command(exit_on_error(settings.http_port()));
    }
    platform::serve::init_logging();
    let config = exit_on_error(Config::read(&settings));
    serve(config)
}

#[tokio::main]
async fn serve(config: Config) -> ExitCode {
    // The connection manager needs the runtime, so it is made here rather than in main.
    let queue = exit_on_error(Queue::new(config.redis, config.stream).map_err(|error| {
        SettingError::Invalid {
            name: "REDIS_URL".into(),
            value: config.redis_address.clone(),
            reason: error.to_string(),
        }
    }));
    tracing::info!(redis = %config.redis_address, stream = queue.stream(), "queue configured");
    let app = routes::router(App {
        keys: config.keys,
        queue,
    });
    match platform::serve::serve(app, config.port).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(port = config.port, %error, "cannot serve");
            ExitCode::FAILURE
        }
    }
}
