//! The transaction queue, and THE ONE PLACE its format is defined.
//!
//! The loyalty-worker reads exactly this, so it must not change without the worker:
//!
//! - a Redis Stream, key `yoyo:transactions` (env `QUEUE_STREAM` overrides it);
//! - one entry per accepted transaction, added with
//!   `XADD yoyo:transactions * id <uuid> user_id <int> amount <int> currency <AAA> created_at <unix seconds>`
//!   - `id`: the transaction's UUID (v4, hyphenated lower-case), also returned to the client;
//!   - `user_id`: the token's `user_id`, decimal;
//!   - `amount`: minor units, decimal, 1..=2^53-1;
//!   - `currency`: three upper-case ASCII letters;
//!   - `created_at`: seconds since the Unix epoch when the service accepted it, decimal.
//!
//! The stream is never trimmed here: an entry leaves only when the workers are done with
//! it, which is their consumer group's business, not this service's.
//!
//! A 200 is given only after XADD answered with the entry's id, so an accepted transaction
//! is on the queue. When XADD fails or does not answer within [`COMMAND_TIMEOUT`], the
//! client gets a 503 with the transaction's id. Redis may have applied a command whose
//! answer was lost, so the 503 says so, and a client that retries sends the same `id`:
//! the entry may then be on the stream twice, and the worker, which counts a transaction
//! id once, awards it once. A 200 for a transaction that is not queued cannot happen.

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::amount::Amount;
use crate::currency::Currency;

/// The stream key when `QUEUE_STREAM` is not set.
pub const DEFAULT_STREAM: &str = "yoyo:transactions";

/// The field names of an entry, in the order they are written.
pub const FIELDS: [&str; 5] = ["id", "user_id", "amount", "currency", "created_at"];

/// The longest a request waits on Redis, connecting included: a dead Redis must give a
/// quick 503, not a hung client. Below the 2 s of `healthcheck`, so /health answers in time.
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(1500);

/// One queued transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub id: uuid::Uuid,
    pub user_id: i64,
    pub amount: Amount,
    pub currency: Currency,
    pub created_at: u64,
}

impl Transaction {
    /// The entry's field-value pairs, in [`FIELDS`] order.
    pub fn entry(&self) -> [(&'static str, String); 5] {
        [
            (FIELDS[0], self.id.hyphenated().to_string()),
            (FIELDS[1], self.user_id.to_string()),
            (FIELDS[2], self.amount.to_string()),
            (FIELDS[3], self.currency.to_string()),
            (FIELDS[4], self.created_at.to_string()),
        ]
    }
}

/// Why Redis could not do its part.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("Redis did not answer within {} ms", COMMAND_TIMEOUT.as_millis())]
    Timeout,
    #[error("Redis failed: {0}")]
    Redis(#[from] redis::RedisError),
}

/// The stream transactions are added to, through a connection that reconnects by itself.
#[derive(Clone)]
pub struct Queue {
    connection: ConnectionManager,
    stream: String,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl Queue {
    /// A queue on `stream` at `client`'s server. Nothing is sent yet: the service starts
    /// even when Redis is down (its /health says so), and connects on the first use.
    pub fn new(client: redis::Client, stream: String) -> Result<Self, redis::RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(1000)))
            // Few, short retries: a request waits COMMAND_TIMEOUT at most anyway, and the
            // next request starts a new attempt.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let connection = client.get_connection_manager_lazy(config)?;
        Ok(Queue { connection, stream })
    }

    /// The stream's key.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Adds `transaction` to the stream; the answer is the entry's id, given once Redis
    /// has it.
    pub async fn push(&self, transaction: &Transaction) -> Result<String, QueueError> {
        let mut command = redis::cmd("XADD");
        command.arg(&self.stream).arg("*");
        for (field, value) in transaction.entry() {
            command.arg(field).arg(value);
        }
        let mut connection = self.connection.clone();
        bounded(command.query_async::<String>(&mut connection)).await
    }

    /// Whether Redis answers PING.
    pub async fn ping(&self) -> Result<(), QueueError> {
        let mut connection = self.connection.clone();
        bounded(redis::cmd("PING").query_async::<String>(&mut connection))
            .await
            .map(drop)
    }
}

async fn bounded<T>(future: impl Future<Output = redis::RedisResult<T>>) -> Result<T, QueueError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, future).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(QueueError::Timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_has_the_documented_fields_in_order() {
        let transaction = Transaction {
            id: uuid::Uuid::parse_str("67e55044-10b1-426f-9247-bb680e5fe0c8").unwrap(),
            user_id: 1,
            amount: Amount::parse(Some("2000")).unwrap(),
            currency: Currency::parse(Some("GBP")).unwrap(),
            created_at: 1_700_000_000,
        };
        assert_eq!(
            transaction.entry(),
            [
                ("id", "67e55044-10b1-426f-9247-bb680e5fe0c8".to_owned()),
                ("user_id", "1".to_owned()),
                ("amount", "2000".to_owned()),
                ("currency", "GBP".to_owned()),
                ("created_at", "1700000000".to_owned()),
            ]
        );
    }
}
