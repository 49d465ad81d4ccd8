//! Loyalty in Redis: the key layout, the atomic award, the dead-letter stream for entries
//! that are not transactions, and balance reads.
//!
//! Keys:
//! - `<stream>` (default `yoyo:transactions`): the queue, read through a consumer group;
//!   an entry is deleted from it once recorded (or dead-lettered) and acknowledged.
//! - `<stream>:dead`: entries that could not be read as transactions, with the reason.
//! - `yoyo:processed:<transaction id>`: set once a transaction is recorded; holds the
//!   stream entry id that recorded it.
//! - `yoyo:loyalty:<user id>`: hash with the fields `stamps` and `vouchers`.

use std::collections::HashMap;

use redis::aio::MultiplexedConnection;
use redis::{RedisResult, Script, Value};

use crate::loyalty::{Balance, Rule};
use crate::transaction::Transaction;

/// Dead letters kept at most (approximately): enough to inspect a bad producer, bounded so
/// one cannot fill Redis.
const DEAD_LETTERS_KEPT: usize = 10_000;

/// The key of a user's balance hash.
pub fn balance_key(user_id: i64) -> String {
    format!("yoyo:loyalty:{user_id}")
}

/// The key marking a transaction as recorded.
pub fn processed_key(transaction_id: &str) -> String {
    format!("yoyo:processed:{transaction_id}")
}

/// What recording a transaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Recorded now: a stamp when `stamp` (else the amount was below the minimum).
    Recorded {
        /// Whether a stamp was awarded.
        stamp: bool,
        /// The user's balance after it.
        balance: Balance,
    },
    /// The transaction had been recorded before (a redelivery): nothing changed.
    AlreadyRecorded,
}

/// The queue and the balances of one deployment.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// The stream transaction-api writes to.
    pub stream: String,
    /// The consumer group all replicas share.
    pub group: String,
    /// How transactions become stamps and vouchers.
    pub rule: Rule,
    /// Lifetime of the processed markers in seconds; 0 keeps them forever.
    pub marker_ttl_seconds: u64,
    award: Script,
}

impl Ledger {
    /// A ledger over `stream`, read by `group`.
    pub fn new(stream: String, group: String, rule: Rule, marker_ttl_seconds: u64) -> Self {
        Ledger {
            stream,
            group,
            rule,
            marker_ttl_seconds,
            award: Script::new(include_str!("award.lua")),
        }
    }

    /// Where entries that are not transactions go.
    pub fn dead_letter_stream(&self) -> String {
        format!("{}:dead", self.stream)
    }

    /// Creates the stream and the consumer group if they do not exist yet. The group starts
    /// at the beginning of the stream, so transactions queued before any worker ever ran
    /// are recorded too. True when the group was created now.
    pub async fn ensure_group(&self, connection: &mut MultiplexedConnection) -> RedisResult<bool> {
        let created: RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.stream)
            .arg(&self.group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(connection)
            .await;
        match created {
            Ok(()) => Ok(true),
            // Another replica (or an earlier run) made it: that is the normal case.
            Err(error) if error.code() == Some("BUSYGROUP") => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Records the transaction of stream entry `entry_id` and acknowledges the entry, in one
    /// atomic step.
    pub async fn record(
        &self,
        connection: &mut MultiplexedConnection,
        entry_id: &str,
        transaction: &Transaction,
    ) -> RedisResult<Outcome> {
        let earns = self.rule.earns_stamp(transaction.amount);
        let (outcome, stamps_before, vouchers_before, stamps, vouchers): (u8, u64, u64, u64, u64) =
            self.award
                .key(&self.stream)
                .key(processed_key(&transaction.id))
                .key(balance_key(transaction.user_id))
                .arg(&self.group)
                .arg(entry_id)
                .arg(if earns { "1" } else { "0" })
                .arg(self.rule.stamps_per_voucher)
                .arg(self.marker_ttl_seconds)
                .invoke_async(connection)
                .await?;
        if outcome == 0 {
            return Ok(Outcome::AlreadyRecorded);
        }
        let before = Balance {
            stamps: stamps_before,
            vouchers: vouchers_before,
        };
        let balance = Balance { stamps, vouchers };
        // The script and Rule::apply are two writings of one rule; a difference is a bug
        // in this program, not in the data, and is reported as such.
        let expected = self.rule.apply(before, transaction.amount);
        if balance != expected {
            tracing::error!(
                user_id = transaction.user_id,
                ?before,
                ?balance,
                ?expected,
                "bug: the award script and the loyalty rule disagree"
            );
        }
        Ok(Outcome::Recorded {
            stamp: outcome == 1,
            balance,
        })
    }

    /// Moves an entry that is not a transaction to the dead-letter stream, acknowledges it
    /// and deletes it from the queue, atomically, so it is neither lost nor retried forever.
    pub async fn dead_letter(
        &self,
        connection: &mut MultiplexedConnection,
        entry_id: &str,
        fields: &HashMap<String, Value>,
        reason: &str,
    ) -> RedisResult<()> {
        let mut letter = redis::cmd("XADD");
        letter
            .arg(self.dead_letter_stream())
            .arg("MAXLEN")
            .arg("~")
            .arg(DEAD_LETTERS_KEPT)
            .arg("*")
            .arg("dead_entry_id")
            .arg(entry_id)
            .arg("dead_reason")
            .arg(reason);
        for (name, value) in fields {
            letter.arg(name);
            match value {
                Value::BulkString(bytes) => letter.arg(bytes.as_slice()),
                other => letter.arg(format!("{other:?}")),
            };
        }
        redis::pipe()
            .atomic()
            .add_command(letter)
            .ignore()
            .cmd("XACK")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(entry_id)
            .ignore()
            .cmd("XDEL")
            .arg(&self.stream)
            .arg(entry_id)
            .ignore()
            .query_async::<()>(connection)
            .await
    }

    /// A user's balance; zero when nothing was recorded for them yet.
    pub async fn balance(
        &self,
        connection: &mut MultiplexedConnection,
        user_id: i64,
    ) -> RedisResult<Balance> {
        let (stamps, vouchers): (Option<u64>, Option<u64>) = redis::cmd("HMGET")
            .arg(balance_key(user_id))
            .arg("stamps")
            .arg("vouchers")
            .query_async(connection)
            .await?;
        Ok(Balance {
            stamps: stamps.unwrap_or_default(),
            vouchers: vouchers.unwrap_or_default(),
        })
    }
}
