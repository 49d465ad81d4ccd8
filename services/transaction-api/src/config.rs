//! transaction-api's settings, all from the environment.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `HTTP_PORT` | port to bind on 0.0.0.0 | `5000` |
//! | `JWT_SECRET` | HS256 secret shared with auth-api and loyalty-worker | required |
//! | `REDIS_URL` | the queue's Redis | `redis://127.0.0.1:6379/0` |
//! | `QUEUE_STREAM` | the stream key (see `queue.rs`) | `yoyo:transactions` |

use platform::settings::{SettingError, Settings};
use platform::token::Keys;

use crate::queue::DEFAULT_STREAM;

/// `REDIS_URL` when unset.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379/0";

/// Everything transaction-api reads from the environment.
#[derive(Debug)]
pub struct Config {
    pub port: u16,
    pub keys: Keys,
    pub redis: redis::Client,
    /// For the log: the URL without any password in it.
    pub redis_address: String,
    pub stream: String,
}

impl Config {
    /// Reads and checks every setting; the error names the first bad variable.
    pub fn read<F: Fn(&str) -> Option<String>>(
        settings: &Settings<F>,
    ) -> Result<Self, SettingError> {
        let keys = settings.jwt_keys()?;
        let port = settings.http_port()?;
        let url = settings.or("REDIS_URL", DEFAULT_REDIS_URL)?;
        let redis = redis::Client::open(url.as_str()).map_err(|error| SettingError::Invalid {
            name: "REDIS_URL".into(),
            value: url.clone(),
            reason: error.to_string(),
        })?;
        let redis_address = redis.get_connection_info().addr().to_string();
        let stream = settings.or("QUEUE_STREAM", DEFAULT_STREAM)?;
        Ok(Config {
            port,
            keys,
            redis,
            redis_address,
            stream,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Config, String> {
        Config::read(&platform::settings::from_pairs(pairs)).map_err(|error| error.to_string())
    }

    #[test]
    fn defaults() {
        let config = read(&[("JWT_SECRET", "s")]).unwrap();
        assert_eq!(config.port, 5000);
        assert_eq!(config.redis_address, "127.0.0.1:6379");
        assert_eq!(config.stream, "yoyo:transactions");
    }

    #[test]
    fn overrides() {
        let config = read(&[
            ("JWT_SECRET", "s"),
            ("HTTP_PORT", "8082"),
            ("REDIS_URL", "redis://redis:6380/0"),
            ("QUEUE_STREAM", "test:stream"),
        ])
        .unwrap();
        assert_eq!(config.port, 8082);
        assert_eq!(config.redis_address, "redis:6380");
        assert_eq!(config.stream, "test:stream");
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
                &[("JWT_SECRET", "s"), ("REDIS_URL", "http://nope")],
                "REDIS_URL has an invalid value `http://nope`",
            ),
        ];
        for (env, expected) in cases {
            let error = read(env).unwrap_err();
            assert!(error.starts_with(expected), "{env:?}: {error}");
        }
    }
}
