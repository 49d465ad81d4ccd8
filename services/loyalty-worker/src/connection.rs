//! Connections to Redis that survive Redis being away: at start (a container may start
//! before Redis is ready) and later (a Redis restart). The consumer reconnects with
//! backoff; the HTTP side connects lazily and drops a connection that failed.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisError, RedisResult};
use tokio::sync::Mutex;

/// How long establishing a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Opens a connection whose commands time out after `response_timeout`. A connection that
/// runs blocking reads needs a timeout longer than the block.
pub async fn connect(
    client: &Client,
    response_timeout: Duration,
) -> RedisResult<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(response_timeout));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// Exponential backoff between reconnection attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `first`, doubles each time, never above `max`.
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// The wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    /// Back to the first delay, after a success.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

/// One connection shared by the HTTP handlers, opened on first use and replaced after a
/// failure, so a request never waits for more than one connection attempt.
pub struct SharedConnection {
    client: Client,
    connection: Mutex<Option<MultiplexedConnection>>,
}

/// Commands from HTTP requests are short; a slow Redis is reported, not waited for.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

impl SharedConnection {
    /// Not connected yet.
    pub fn new(client: Client) -> Self {
        SharedConnection {
            client,
            connection: Mutex::new(None),
        }
    }

    /// Runs `command` on the connection, connecting first when needed. After an error the
    /// connection is dropped, so the next request starts afresh.
    pub async fn with<T, F>(&self, command: F) -> RedisResult<T>
    where
        F: AsyncFnOnce(&mut MultiplexedConnection) -> RedisResult<T>,
    {
        let mut connection = self.current().await?;
        let result = command(&mut connection).await;
        if let Err(error) = &result
            && broken(error)
        {
            self.connection.lock().await.take();
        }
        result
    }

    async fn current(&self) -> RedisResult<MultiplexedConnection> {
        // The lock is held while connecting so concurrent requests do not each open one.
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let connection = connect(&self.client, REQUEST_TIMEOUT).await?;
        *slot = Some(connection.clone());
        Ok(connection)
    }
}

/// Whether the error says the connection is no good (as opposed to a command error).
pub fn broken(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_unrecoverable_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_max_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let delays: Vec<u64> = (0..5)
            .map(|_| backoff.next_delay().as_millis() as u64)
            .collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
    }
}
