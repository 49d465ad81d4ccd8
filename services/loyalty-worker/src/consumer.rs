//! The queue consumer: reads new entries through the consumer group, takes over entries
//! that a dead replica left pending, records each transaction, and keeps going through
//! Redis outages by reconnecting with backoff.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use redis::{Client, RedisResult};
use tokio::sync::watch;

use crate::connection::{Backoff, broken, connect};
use crate::ledger::{Ledger, Outcome};
use crate::transaction::Transaction;

/// How long one read waits for new entries. Short, so a stop request is noticed within it.
const BLOCK: Duration = Duration::from_secs(1);
/// Entries taken per read; a stop waits for at most this many to be recorded.
const BATCH: usize = 10;

/// One replica's consumer in the group.
pub struct Consumer {
    /// Where the transactions are recorded.
    pub ledger: Arc<Ledger>,
    /// Redis.
    pub client: Client,
    /// This replica's consumer name, unique in the group.
    pub name: String,
    /// Pending entries idle longer than this are taken over.
    pub claim_idle: Duration,
}

impl Consumer {
    /// Consumes until `stop` turns true; the batch in hand is finished first.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        loop {
            match self.session(&stop, &mut backoff).await {
                Ok(()) => break,
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(
                        %error,
                        retry_in_ms = delay.as_millis() as u64,
                        "cannot consume the queue, retrying"
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stopped(&mut stop) => break,
                    }
                }
            }
        }
        self.leave().await;
        tracing::info!(consumer = %self.name, "consumer stopped");
    }

    /// One connection's worth of consuming; Ok when stopped, Err when Redis failed.
    async fn session(
        &self,
        stop: &watch::Receiver<bool>,
        backoff: &mut Backoff,
    ) -> RedisResult<()> {
        let mut connection = connect(&self.client, BLOCK + Duration::from_secs(3)).await?;
        let ledger = &self.ledger;
        if ledger.ensure_group(&mut connection).await? {
            tracing::info!(stream = %ledger.stream, group = %ledger.group, "consumer group created");
        }
        backoff.reset();
        tracing::info!(
            stream = %ledger.stream,
            group = %ledger.group,
            consumer = %self.name,
            "consuming"
        );
        // Look for abandoned entries at about twice the rate they can become claimable.
        let claim_every =
            (self.claim_idle / 2).clamp(Duration::from_millis(100), Duration::from_secs(5));
        let block = BLOCK.min(claim_every);
        let mut next_claim = Instant::now();
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            if Instant::now() >= next_claim {
                self.claim_abandoned(&mut connection, stop).await?;
                next_claim = Instant::now() + claim_every;
            }
            let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(&ledger.group)
                .arg(&self.name)
                .arg("COUNT")
                .arg(BATCH)
                .arg("BLOCK")
                .arg(block.as_millis() as u64)
                .arg("STREAMS")
                .arg(&ledger.stream)
                .arg(">")
                .query_async(&mut connection)
                .await?;
            for entry in reply
                .into_iter()
                .flat_map(|reply| reply.keys)
                .flat_map(|key| key.ids)
            {
                self.handle(&mut connection, &entry).await?;
            }
        }
    }

    /// Takes over entries pending with any consumer for longer than `claim_idle` (their
    /// consumer died or lost Redis) and records them.
    async fn claim_abandoned(
        &self,
        connection: &mut MultiplexedConnection,
        stop: &watch::Receiver<bool>,
    ) -> RedisResult<()> {
        let mut cursor = "0-0".to_owned();
        loop {
            let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                .arg(&self.ledger.stream)
                .arg(&self.ledger.group)
                .arg(&self.name)
                .arg(self.claim_idle.as_millis() as u64)
                .arg(&cursor)
                .arg("COUNT")
                .arg(BATCH)
                .query_async(connection)
                .await?;
            if !reply.claimed.is_empty() {
                tracing::info!(
                    count = reply.claimed.len(),
                    "took over entries another consumer left pending"
                );
            }
            for entry in &reply.claimed {
                self.handle(connection, entry).await?;
            }
            if reply.next_stream_id == "0-0" || *stop.borrow() {
                return Ok(());
            }
            cursor = reply.next_stream_id;
        }
    }

    /// Records one entry, or dead-letters it when it is not a transaction. Only an error
    /// of the connection is returned: the entry then stays pending and is taken over later.
    async fn handle(
        &self,
        connection: &mut MultiplexedConnection,
        entry: &StreamId,
    ) -> RedisResult<()> {
        let transaction = match Transaction::from_fields(&entry.map) {
            Ok(transaction) => transaction,
            Err(error) => return self.reject(connection, entry, &error.to_string()).await,
        };
        let outcome = match self
            .ledger
            .record(connection, &entry.id, &transaction)
            .await
        {
            Ok(outcome) => outcome,
            // Redis refused the script for this entry (say a balance key of the wrong
            // type): retrying cannot help, so it must not block the queue.
            Err(error) if !broken(&error) => {
                return self
                    .reject(connection, entry, &format!("redis refused it: {error}"))
                    .await;
            }
            Err(error) => return Err(error),
        };
        let Transaction {
            id,
            user_id,
            amount,
            currency,
            ..
        } = &transaction;
        match outcome {
            Outcome::Recorded { stamp, balance } => tracing::info!(
                id = %id,
                user_id,
                amount,
                currency = %currency,
                stamps = balance.stamps,
                vouchers = balance.vouchers,
                stamp,
                entry = %entry.id,
                "transaction recorded"
            ),
            Outcome::AlreadyRecorded => tracing::info!(
                id = %id,
                user_id,
                entry = %entry.id,
                "transaction already recorded, redelivery acknowledged"
            ),
        }
        Ok(())
    }

    async fn reject(
        &self,
        connection: &mut MultiplexedConnection,
        entry: &StreamId,
        reason: &str,
    ) -> RedisResult<()> {
        tracing::warn!(
            entry = %entry.id,
            reason,
            dead_letters = %self.ledger.dead_letter_stream(),
            "not a transaction, moved to the dead-letter stream"
        );
        self.ledger
            .dead_letter(connection, &entry.id, &entry.map, reason)
            .await
    }

    /// On a clean stop, removes this consumer from the group when it holds no pending
    /// entries, so `XINFO CONSUMERS` does not fill up with every replica that ever ran.
    /// Best effort: leftovers are harmless.
    async fn leave(&self) {
        let attempt = async {
            let mut connection = connect(&self.client, Duration::from_secs(1)).await?;
            let pending: Vec<redis::Value> = redis::cmd("XPENDING")
                .arg(&self.ledger.stream)
                .arg(&self.ledger.group)
                .arg("-")
                .arg("+")
                .arg(1)
                .arg(&self.name)
                .query_async(&mut connection)
                .await?;
            if pending.is_empty() {
                redis::cmd("XGROUP")
                    .arg("DELCONSUMER")
                    .arg(&self.ledger.stream)
                    .arg(&self.ledger.group)
                    .arg(&self.name)
                    .query_async::<()>(&mut connection)
                    .await?;
            }
            RedisResult::Ok(pending.is_empty())
        };
        match tokio::time::timeout(Duration::from_secs(2), attempt).await {
            Ok(Ok(true)) => tracing::info!(consumer = %self.name, "left the consumer group"),
            Ok(Ok(false)) => {
                tracing::info!(consumer = %self.name, "entries still pending, another replica will take them over")
            }
            Ok(Err(error)) => tracing::info!(%error, "could not leave the consumer group"),
            Err(_) => tracing::info!("could not leave the consumer group in time"),
        }
    }
}

/// Resolves once a stop is requested (or nobody can request one any more).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}
