//! The worker's settings, all from the environment.

use std::time::Duration;

use platform::settings::{SettingError, Settings};
use platform::token::Keys;

use crate::loyalty::Rule;

/// Everything the worker reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HTTP_PORT` (default 5000): `/health` and `/balance`.
    pub http_port: u16,
    /// `JWT_SECRET` (required): checks customer tokens for `/balance`.
    pub keys: Keys,
    /// `REDIS_URL` (default `redis://127.0.0.1:6379/0`).
    pub redis: redis::Client,
    /// `QUEUE_STREAM` (default `yoyo:transactions`).
    pub stream: String,
    /// `CONSUMER_GROUP` (default `loyalty`).
    pub group: String,
    /// `CONSUMER_NAME` (default: host name, process id and a random suffix); must differ
    /// between replicas.
    pub consumer: String,
    /// `STAMPS_PER_VOUCHER` (default 10) and `MIN_AMOUNT` (default 0).
    pub rule: Rule,
    /// `CLAIM_IDLE_MS` (default 10000): entries pending longer than this with another
    /// consumer are taken over, as that consumer is presumed dead.
    pub claim_idle: Duration,
    /// `PROCESSED_TTL_SECONDS` (default 7 days; 0 = forever): how long a transaction id
    /// is remembered as recorded, so a client retrying with the same id within that time
    /// is awarded once.
    pub marker_ttl_seconds: u64,
}

impl Config {
    /// Reads and checks all settings.
    pub fn from_settings<F>(settings: &Settings<F>) -> Result<Self, SettingError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let http_port = settings.http_port()?;
        let keys = settings.jwt_keys()?;
        let redis_url = settings.or("REDIS_URL", "redis://127.0.0.1:6379/0")?;
        let redis = redis::Client::open(redis_url.as_str()).map_err(|error| {
            invalid(
                "REDIS_URL",
                &without_password(&redis_url),
                &error.to_string(),
            )
        })?;
        let stamps_per_voucher: u64 = settings.parsed("STAMPS_PER_VOUCHER", 10)?;
        // The award script counts in Lua numbers (doubles): keep far from their limits.
        if !(1..=MAX_STAMPS_PER_VOUCHER).contains(&stamps_per_voucher) {
            return Err(invalid(
                "STAMPS_PER_VOUCHER",
                &stamps_per_voucher.to_string(),
                &format!("must be between 1 and {MAX_STAMPS_PER_VOUCHER}"),
            ));
        }
        let claim_idle_ms: u64 = settings.parsed("CLAIM_IDLE_MS", 10_000)?;
        if claim_idle_ms == 0 {
            return Err(invalid("CLAIM_IDLE_MS", "0", "must be at least 1"));
        }
        Ok(Config {
            http_port,
            keys,
            redis,
            stream: settings.or("QUEUE_STREAM", "yoyo:transactions")?,
            group: settings.or("CONSUMER_GROUP", "loyalty")?,
            consumer: settings
                .required("CONSUMER_NAME")
                .unwrap_or_else(|_| default_consumer_name()),
            rule: Rule {
                stamps_per_voucher,
                min_amount: settings.parsed("MIN_AMOUNT", 0)?,
            },
            claim_idle: Duration::from_millis(claim_idle_ms),
            marker_ttl_seconds: settings
                .parsed("PROCESSED_TTL_SECONDS", DEFAULT_MARKER_TTL_SECONDS)?,
        })
    }
}

/// How long a recorded transaction id is remembered when `PROCESSED_TTL_SECONDS` is not set.
const DEFAULT_MARKER_TTL_SECONDS: u64 = 7 * 24 * 60 * 60;

/// The largest `STAMPS_PER_VOUCHER` accepted.
const MAX_STAMPS_PER_VOUCHER: u64 = 1_000_000;

/// The URL with any password replaced, fit for an error message.
fn without_password(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) if rest.contains('@') => {
            let host = rest
                .rsplit_once('@')
                .map(|(_, host)| host)
                .unwrap_or_default();
            format!("{scheme}://***@{host}")
        }
        _ => url.to_owned(),
    }
}

fn invalid(name: &str, value: &str, reason: &str) -> SettingError {
    SettingError::Invalid {
        name: name.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

/// `<host>-<pid>-<random>`: the host name (a container's id) says which replica it is when
/// reading `XINFO CONSUMERS`; the random part keeps a restarted container, whose process id
/// is 1 again, from taking over its dead predecessor's name.
fn default_consumer_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "worker".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &random[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_settings(&platform::settings::from_pairs(pairs))
            .map_err(|error| error.to_string())
    }

    #[test]
    fn defaults() {
        let config = config(&[("JWT_SECRET", "s")]).unwrap();
        assert_eq!(config.http_port, 5000);
        assert_eq!(config.stream, "yoyo:transactions");
        assert_eq!(config.group, "loyalty");
        assert_eq!(
            config.rule,
            Rule {
                stamps_per_voucher: 10,
                min_amount: 0
            }
        );
        assert_eq!(config.claim_idle, Duration::from_secs(10));
        assert_eq!(config.marker_ttl_seconds, 7 * 24 * 60 * 60);
        assert_eq!(
            config.redis.get_connection_info().addr().to_string(),
            "127.0.0.1:6379"
        );
        assert!(!config.consumer.is_empty());
    }

    #[test]
    fn consumer_names_differ_between_processes_on_one_host() {
        assert_ne!(default_consumer_name(), default_consumer_name());
    }

    #[test]
    fn values_are_read() {
        let config = config(&[
            ("JWT_SECRET", "s"),
            ("HTTP_PORT", "8081"),
            ("REDIS_URL", "redis://redis:6380/2"),
            ("QUEUE_STREAM", "q"),
            ("CONSUMER_GROUP", "g"),
            ("CONSUMER_NAME", "c1"),
            ("STAMPS_PER_VOUCHER", "3"),
            ("MIN_AMOUNT", "500"),
            ("CLAIM_IDLE_MS", "250"),
            ("PROCESSED_TTL_SECONDS", "86400"),
        ])
        .unwrap();
        assert_eq!(config.http_port, 8081);
        assert_eq!(
            config.redis.get_connection_info().addr().to_string(),
            "redis:6380"
        );
        assert_eq!((config.stream.as_str(), config.group.as_str()), ("q", "g"));
        assert_eq!(config.consumer, "c1");
        assert_eq!(
            config.rule,
            Rule {
                stamps_per_voucher: 3,
                min_amount: 500
            }
        );
        assert_eq!(config.claim_idle, Duration::from_millis(250));
        assert_eq!(config.marker_ttl_seconds, 86400);
    }

    #[test]
    fn refusals_name_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "JWT_SECRET is required but not set"),
            (&[("JWT_SECRET", "")], "JWT_SECRET is required but not set"),
            (
                &[("JWT_SECRET", "s"), ("HTTP_PORT", "abc")],
                "HTTP_PORT has an invalid value `abc`",
            ),
            (
                &[("JWT_SECRET", "s"), ("REDIS_URL", "not a url")],
                "REDIS_URL has an invalid value `not a url`",
            ),
            (
                &[("JWT_SECRET", "s"), ("STAMPS_PER_VOUCHER", "0")],
                "STAMPS_PER_VOUCHER has an invalid value `0`: must be between 1 and 1000000",
            ),
            (
                &[("JWT_SECRET", "s"), ("STAMPS_PER_VOUCHER", "1000001")],
                "STAMPS_PER_VOUCHER has an invalid value `1000001`: must be between",
            ),
            (
                &[
                    ("JWT_SECRET", "s"),
                    ("REDIS_URL", "redis://:hunter2@redis:x/0"),
                ],
                "REDIS_URL has an invalid value `redis://***@redis:x/0`",
            ),
            (
                &[("JWT_SECRET", "s"), ("STAMPS_PER_VOUCHER", "-1")],
                "STAMPS_PER_VOUCHER has an invalid value `-1`",
            ),
            (
                &[("JWT_SECRET", "s"), ("MIN_AMOUNT", "ten")],
                "MIN_AMOUNT has an invalid value `ten`",
            ),
            (
                &[("JWT_SECRET", "s"), ("CLAIM_IDLE_MS", "0")],
                "CLAIM_IDLE_MS has an invalid value `0`: must be at least 1",
            ),
            (
                &[("JWT_SECRET", "s"), ("PROCESSED_TTL_SECONDS", "1h")],
                "PROCESSED_TTL_SECONDS has an invalid value `1h`",
            ),
        ];
        for (env, expected) in cases {
            let error = config(env).unwrap_err();
            assert!(error.starts_with(expected), "{env:?}: {error}");
        }
    }
}
