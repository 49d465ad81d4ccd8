//! auth-api: issues the customers' HS256 tokens (`POST /token`) from a JSON user database.
//! Settings are in `config.rs`; `auth-api healthcheck` is the scratch image's HEALTHCHECK.

mod config;
mod login;
mod users;

use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use platform::settings::{SettingError, Settings, exit_on_error};

use crate::config::Config;
use crate::login::Issuer;
use crate::users::Users;

fn main() -> ExitCode {
    let settings = Settings::from_env();
    if platform::health::requested() {
        return platform::health::command(exit_on_error(settings.http_port()));
    }
    platform::serve::init_logging();
    let config = exit_on_error(Config::read(&settings));
    let users =
        exit_on_error(
            Users::load(&config.users_file).map_err(|error| SettingError::Invalid {
                name: "USERS_FILE".into(),
                value: config.users_file.display().to_string(),
                reason: error.to_string(),
            }),
        );
    tracing::info!(
        users = users.len(),
        file = %config.users_file.display(),
        ttl_seconds = config.token_ttl_seconds,
        "user database loaded"
    );
    let issuer = Issuer {
        users,
        keys: config.keys,
        ttl_seconds: config.token_ttl_seconds,
    };
    serve(app(issuer), config.port)
}

fn app(issuer: Issuer) -> Router {
    Router::new()
        .route("/health", get(platform::reply::healthy))
        .route("/token", post(login::issue_token))
        .with_state(Arc::new(issuer))
}

#[tokio::main]
async fn serve(app: Router, port: u16) -> ExitCode {
    match platform::serve::serve(app, port).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(port, %error, "cannot serve");
            ExitCode::FAILURE
        }
    }
}
