//! The HTTP endpoints: `POST /transactions` and `GET /health`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use platform::fields::Fields;
use platform::token::Keys;
use serde::Serialize;
use serde_json::{Value, json};

use crate::order::Order;
use crate::queue::{Queue, QueueError, Transaction};

/// What every request needs.
#[derive(Debug)]
pub struct App {
    pub keys: Keys,
    pub queue: Queue,
}

/// The routes, ready to serve.
pub fn router(app: App) -> axum::Router {
    axum::Router::new()
        .route("/health", get(health))
        .route("/transactions", post(create_transaction))
        .with_state(Arc::new(app))
}

/// The 200 answer: the transaction as queued.
#[derive(Debug, Serialize)]
pub struct Receipt {
    pub id: String,
    pub user_id: i64,
    pub amount: u64,
    pub currency: String,
}

async fn create_transaction(
    State(app): State<Arc<App>>,
    fields: Fields,
) -> Result<Json<Receipt>, Response> {
    let order = Order::from_fields(&fields, &app.keys)
        .inspect_err(|refusal| {
            // The token is a credential: only the outcome is logged, never the token.
            tracing::info!(
                status = refusal.status.as_u16(),
                reason = %refusal.message,
                "transaction refused"
            );
        })
        .map_err(IntoResponse::into_response)?;
    let transaction = Transaction {
        id: order.id.unwrap_or_else(uuid::Uuid::new_v4),
        user_id: order.user_id,
        amount: order.amount,
        currency: order.currency,
        created_at: platform::token::now(),
    };
    let entry = app.queue.push(&transaction).await.map_err(|error| {
        tracing::error!(
            id = %transaction.id,
            user_id = transaction.user_id,
            %error,
            "transaction not queued"
        );
        // When Redis did not answer in time it may still have taken the entry: the client
        // gets the id, and a retry with it is awarded once (the worker counts an id once).
        let message = match error {
            QueueError::Timeout => {
                "The queue did not confirm in time; the transaction may have been queued: retry with the same id"
            }
            QueueError::Redis(_) => {
                "Transaction not accepted: the queue is unavailable; retry with the same id"
            }
        };
        let body = json!({ "error": message, "id": transaction.id.hyphenated().to_string() });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    })?;
    tracing::info!(
        id = %transaction.id,
        user_id = transaction.user_id,
        amount = transaction.amount.minor_units(),
        currency = %transaction.currency,
        stream = app.queue.stream(),
        entry = %entry,
        "transaction queued"
    );
    Ok(Json(Receipt {
        id: transaction.id.hyphenated().to_string(),
        user_id: transaction.user_id,
        amount: transaction.amount.minor_units(),
        currency: transaction.currency.to_string(),
    }))
}

/// 200 when Redis answers PING, 503 otherwise: without Redis no transaction can be taken,
/// so a 200 would be a lie to the load balancer and to Docker's health check.
async fn health(State(app): State<Arc<App>>) -> (StatusCode, Json<Value>) {
    match app.queue.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"healthy": true, "redis": true})),
        ),
        Err(error) => {
            tracing::warn!(%error, "health: Redis does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"healthy": false, "redis": false, "error": error.to_string()})),
            )
        }
    }
}
