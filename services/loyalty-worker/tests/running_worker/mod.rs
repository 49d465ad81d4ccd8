//! The test builder: the real `loyalty-worker` binary as a child process with its stdout
//! in a file (to count what it recorded), and the queue seen through a plain Redis
//! connection, written in exactly the format transaction-api uses.

use std::fs::File;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use platform::testing::{Process, Redis, free_port, wait_until};
use platform::token::{Claims, Keys, now};
use redis::streams::StreamInfoGroupsReply;

/// The secret the workers under test share with the tokens the tests make.
pub const SECRET: &str = "loyalty-test-secret";
pub const STREAM: &str = "yoyo:transactions";
pub const GROUP: &str = "loyalty";

/// Generous bound for anything the worker should do "soon"; polls end as soon as it is done.
pub const SOON: Duration = Duration::from_secs(20);

/// A running worker, killed when dropped; its log is printed if the test failed.
pub struct Worker {
    pub process: Process,
    pub port: u16,
    exit: Option<Option<i32>>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Worker {
    /// Starts a worker on `redis` with a small claim time, plus `env` (which wins; an empty
    /// value removes the variable), and
    /// waits until `/health` answers 200.
    pub fn start(redis: &Redis, env: &[(&str, &str)]) -> Worker {
        let mut worker = Worker::spawn(&redis.url(), env);
        let port = worker.port;
        let healthy = wait_until(SOON, || {
            platform::health::check(port).is_ok() || !worker.alive()
        });
        assert!(
            healthy && worker.alive(),
            "worker did not become healthy:\n{}",
            worker.log()
        );
        worker
    }

    /// Starts a worker without waiting for anything.
    pub fn spawn(redis_url: &str, env: &[(&str, &str)]) -> Worker {
        let port = free_port();
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("worker.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_loyalty-worker"));
        command
            .env_clear()
            .env("HTTP_PORT", port.to_string())
            .env("JWT_SECRET", SECRET)
            .env("REDIS_URL", redis_url)
            .env("CLAIM_IDLE_MS", "300")
            .env("RUST_LOG", "info")
            .stdout(File::create(&log).expect("log file"))
            .stderr(File::create(dir.path().join("stderr")).expect("stderr file"));
        for (name, value) in env {
            if value.is_empty() {
                command.env_remove(name);
            } else {
                command.env(name, value);
            }
        }
        Worker {
            process: Process::spawn(command),
            port,
            exit: None,
            log,
            _dir: dir,
        }
    }

    /// Whether the process still runs (reaps it if it ended).
    pub fn alive(&mut self) -> bool {
        self.wait_exit(Duration::ZERO);
        self.exit.is_none()
    }

    /// Waits up to `timeout` for the process to end: its exit code (None when killed by a
    /// signal), or None when it still runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<Option<i32>> {
        if self.exit.is_none() {
            self.exit = self.process.wait(timeout);
        }
        self.exit
    }

    /// Everything the worker wrote to stdout so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many transactions this worker recorded (log lines).
    pub fn recorded(&self) -> usize {
        self.log().matches("transaction recorded").count()
    }

    /// `GET path` with an optional bearer token: status and JSON body.
    pub fn get(&self, path: &str, bearer: Option<&str>) -> (u16, serde_json::Value) {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let mut request = reqwest::Client::new()
                .get(&url)
                .timeout(Duration::from_secs(10));
            if let Some(token) = bearer {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("worker answers");
            let status = response.status().as_u16();
            let body = response.json().await.expect("JSON body");
            (status, body)
        })
    }

    /// `/balance` for the token's user, as (stamps, vouchers); panics unless 200.
    pub fn balance(&self, user_id: i64) -> (u64, u64) {
        let (status, body) = self.get("/balance", Some(&token(user_id)));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user_id"], user_id, "{body}");
        (
            body["stamps"].as_u64().unwrap(),
            body["vouchers"].as_u64().unwrap(),
        )
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- worker on port {} ({}), log:\n{}",
                self.port,
                self.process.description,
                self.log()
            );
        }
    }
}

/// A token for `user_id`, signed with the workers' secret.
pub fn token(user_id: i64) -> String {
    Keys::new(SECRET).unwrap().issue(&Claims {
        user_id,
        username: format!("user{user_id}"),
        can_transact: true,
        exp: now() + 300,
    })
}

/// The queue and balances, through a plain connection.
pub struct Queue {
    pub connection: redis::Connection,
}

impl Queue {
    pub fn open(redis: &Redis) -> Queue {
        let client = redis::Client::open(redis.url()).unwrap();
        Queue {
            connection: client.get_connection().expect("redis answers"),
        }
    }

    /// `XADD yoyo:transactions * id .. user_id .. amount .. currency GBP created_at ..`,
    /// as transaction-api writes it. Returns the entry id.
    pub fn add(&mut self, id: &str, user_id: i64, amount: i64) -> String {
        redis::cmd("XADD")
            .arg(STREAM)
            .arg("*")
            .arg(transaction_fields(id, user_id, amount))
            .query(&mut self.connection)
            .unwrap()
    }

    /// Adds many transactions in one round trip.
    pub fn add_all(&mut self, transactions: &[(String, i64, i64)]) {
        let mut pipe = redis::pipe();
        for (id, user_id, amount) in transactions {
            pipe.cmd("XADD")
                .arg(STREAM)
                .arg("*")
                .arg(transaction_fields(id, *user_id, *amount))
                .ignore();
        }
        pipe.query::<()>(&mut self.connection).unwrap();
    }

    /// Adds an entry with arbitrary fields.
    pub fn add_raw(&mut self, fields: &[(&str, &str)]) -> String {
        redis::cmd("XADD")
            .arg(STREAM)
            .arg("*")
            .arg(fields)
            .query(&mut self.connection)
            .unwrap()
    }

    /// The group's (pending, lag): entries delivered but not acknowledged, and entries not
    /// delivered yet.
    pub fn group_state(&mut self) -> Option<(usize, Option<usize>)> {
        let reply: StreamInfoGroupsReply = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(STREAM)
            .query(&mut self.connection)
            .ok()?;
        reply
            .groups
            .into_iter()
            .find(|group| group.name == GROUP)
            .map(|group| (group.pending, group.lag))
    }

    /// True once every entry was delivered and acknowledged.
    pub fn drained(&mut self) -> bool {
        self.group_state() == Some((0, Some(0)))
    }

    /// Waits (bounded) until drained; panics with the group's state otherwise.
    pub fn wait_drained(&mut self) {
        let drained = wait_until(SOON, || self.drained());
        assert!(drained, "queue not drained: {:?}", self.group_state());
    }

    /// Entries pending with one consumer.
    pub fn pending_with(&mut self, consumer: &str) -> usize {
        let entries: Vec<redis::Value> = redis::cmd("XPENDING")
            .arg(STREAM)
            .arg(GROUP)
            .arg("-")
            .arg("+")
            .arg(1_000_000)
            .arg(consumer)
            .query(&mut self.connection)
            .unwrap();
        entries.len()
    }

    /// Entries pending with anyone (the summary form of XPENDING).
    pub fn pending(&mut self) -> usize {
        let summary: (usize, redis::Value, redis::Value, redis::Value) = redis::cmd("XPENDING")
            .arg(STREAM)
            .arg(GROUP)
            .query(&mut self.connection)
            .unwrap();
        summary.0
    }

    /// A user's balance straight from Redis, as (stamps, vouchers).
    pub fn balance(&mut self, user_id: i64) -> (u64, u64) {
        let (stamps, vouchers): (Option<u64>, Option<u64>) = redis::cmd("HMGET")
            .arg(format!("yoyo:loyalty:{user_id}"))
            .arg("stamps")
            .arg("vouchers")
            .query(&mut self.connection)
            .unwrap();
        (stamps.unwrap_or(0), vouchers.unwrap_or(0))
    }

    pub fn len(&mut self, key: &str) -> usize {
        redis::cmd("XLEN")
            .arg(key)
            .query(&mut self.connection)
            .unwrap()
    }
}

fn transaction_fields(id: &str, user_id: i64, amount: i64) -> Vec<(&'static str, String)> {
    vec![
        ("id", id.to_owned()),
        ("user_id", user_id.to_string()),
        ("amount", amount.to_string()),
        ("currency", "GBP".to_owned()),
        ("created_at", now().to_string()),
    ]
}

/// The consumer name a worker announced in its log ("consuming ... consumer=NAME"),
/// waited for (bounded): the worker answers on HTTP before its consumer has joined the
/// group and logged the line.
pub fn consumer_name(worker: &Worker) -> Option<String> {
    let announced = || {
        let log = worker.log();
        let line = log.lines().find(|line| line.contains(" consuming "))?;
        let name = line.split("consumer=").nth(1)?.split_whitespace().next()?;
        Some(name.to_owned())
    };
    wait_until(SOON, || announced().is_some());
    announced()
}
