//! The worker's HTTP side: `GET /health` (does Redis answer?) and `GET /balance`, where a
//! customer reads their own stamps and vouchers with their token.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use platform::reply::ApiError;
use platform::token::Keys;
use serde::Serialize;

use crate::connection::SharedConnection;
use crate::ledger::Ledger;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Checks customer tokens.
    pub keys: Keys,
    /// Where balances are read.
    pub ledger: Arc<Ledger>,
    /// Redis, for requests.
    pub redis: Arc<SharedConnection>,
}

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/balance", get(balance))
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> Response {
    let ping = state
        .redis
        .with(async |connection| redis::cmd("PING").query_async::<String>(connection).await)
        .await;
    match ping {
        Ok(_) => Json(serde_json::json!({ "healthy": true, "redis": "ok" })).into_response(),
        // Without Redis the worker can neither consume nor answer balances: say so, and
        // Docker's health check (which wants a 200) reports the replica unhealthy.
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "healthy": false, "redis": error.to_string() })),
        )
            .into_response(),
    }
}

/// The answer of `/balance`.
#[derive(Debug, Serialize)]
struct BalanceReply {
    user_id: i64,
    stamps: u64,
    vouchers: u64,
}

async fn balance(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<BalanceReply>, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid query: {rejection}"),
        )
    })?;
    let token = bearer_token(&headers)
        .or_else(|| query.get("token").map(String::as_str))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| ApiError::unprocessable("Token is blank"))?;
    let claims = state
        .keys
        .verify(token)
        .map_err(|error| ApiError::unprocessable(error.to_string()))?;
    // Only the token's own user: any user id in the query is ignored on purpose.
    let user_id = claims.user_id;
    let ledger = state.ledger.clone();
    let balance = state
        .redis
        .with(async move |connection| ledger.balance(connection, user_id).await)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "cannot read a balance");
            ApiError::unavailable("Loyalty balances are unavailable right now")
        })?;
    Ok(Json(BalanceReply {
        user_id,
        stamps: balance.stamps,
        vouchers: balance.vouchers,
    }))
}

/// The token of an `Authorization: Bearer <token>` header, if there is one.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(|c: char| c.is_ascii_whitespace())?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_tokens() {
        let cases: &[(&str, Option<&str>)] = &[
            ("Bearer abc.def.ghi", Some("abc.def.ghi")),
            ("bearer abc", Some("abc")),
            ("Bearer   abc", Some("abc")),
            ("Bearer\tabc", Some("abc")),
            ("Basic dXNlcjpwYXNz", None),
            ("Bearer", None),
            ("abc", None),
        ];
        for (value, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            assert_eq!(bearer_token(&headers), *expected, "{value}");
        }
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
