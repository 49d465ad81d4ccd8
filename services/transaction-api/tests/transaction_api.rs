//! The transaction-api binary against the contract: a real process on a free loopback
//! port, a real redis-server behind it, and the real auth-api binary for tokens.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use platform::testing::{
    Process, Redis, free_port, port_open, start_service, wait_until, workspace_binary,
};
use platform::token::{Claims, Keys, now};
use serde_json::{Value, json};

const SECRET: &str = "transaction-api-test-secret";
const STREAM: &str = "yoyo:transactions";

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_transaction-api"))
}

fn token(user_id: i64, can_transact: bool, exp: u64) -> String {
    Keys::new(SECRET).unwrap().issue(&Claims {
        user_id,
        username: format!("user{user_id}"),
        can_transact,
        exp,
    })
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn claims_json(user_id: i64, exp: u64) -> String {
    format!(r#"{{"user_id":{user_id},"username":"alice","can_transact":true,"exp":{exp}}}"#)
}

/// A token signed by hand with HMAC-SHA256 or -SHA512, whatever the header says.
fn forged(header: &str, claims: &str, sha512: bool) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let signature = if sha512 {
        let mut mac = Hmac::<sha2::Sha512>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        mac.finalize().into_bytes().to_vec()
    } else {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    format!("{input}.{}", b64(&signature))
}

/// A running transaction-api and a client for it.
struct TransactionApi {
    /// Killed when the test ends.
    _process: Process,
    port: u16,
    client: reqwest::Client,
}

impl TransactionApi {
    fn env(redis_url: String, port: u16) -> Vec<(&'static str, String)> {
        vec![
            ("JWT_SECRET", SECRET.to_owned()),
            ("REDIS_URL", redis_url),
            ("HTTP_PORT", port.to_string()),
        ]
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    /// Started against `redis` and waited for until /health answers 200.
    fn start(redis: &Redis) -> Self {
        let port = free_port();
        let process = start_service(&binary(), port, &Self::env(redis.url(), port));
        TransactionApi {
            _process: process,
            port,
            client: Self::client(),
        }
    }

    /// Started against a Redis that does not exist: it must come up all the same, so this
    /// waits for the port, not for a healthy /health.
    fn start_without_redis() -> Self {
        let port = free_port();
        let redis_url = format!("redis://127.0.0.1:{}/0", free_port());
        let mut command = Command::new(binary());
        command.env_clear().envs(Self::env(redis_url, port));
        let process = Process::spawn(command);
        assert!(
            wait_until(Duration::from_secs(15), || port_open(port)),
            "transaction-api did not listen on {port} with Redis down"
        );
        TransactionApi {
            _process: process,
            port,
            client: Self::client(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn answer(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        platform::testing::json_answer(request).await
    }

    async fn post(&self, form: &[(&str, String)]) -> (u16, Value) {
        self.answer(self.client.post(self.url("/transactions")).form(form))
            .await
    }

    async fn health(&self) -> (u16, Value) {
        self.answer(self.client.get(self.url("/health"))).await
    }
}

/// The stream's entries as (entry id, [(field, value)]) in stream and field order.
fn stream_entries(redis: &Redis) -> Vec<(String, Vec<(String, String)>)> {
    let mut connection = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let reply: redis::Value = redis::cmd("XRANGE")
        .arg(STREAM)
        .arg("-")
        .arg("+")
        .query(&mut connection)
        .unwrap();
    let text = |value: &redis::Value| -> String { redis::from_redis_value_ref(value).unwrap() };
    let redis::Value::Array(entries) = reply else {
        panic!("XRANGE gave {reply:?}")
    };
    entries
        .iter()
        .map(|entry| {
            let redis::Value::Array(parts) = entry else {
                panic!("entry {entry:?}")
            };
            let redis::Value::Array(flat) = &parts[1] else {
                panic!("fields {:?}", parts[1])
            };
            let fields = flat
                .chunks(2)
                .map(|pair| (text(&pair[0]), text(&pair[1])))
                .collect();
            (text(&parts[0]), fields)
        })
        .collect()
}

/// Form fields sent, status expected, and the error expected (None: a 200 receipt).
type Case = (Vec<(&'static str, String)>, u16, Option<&'static str>);

fn form(token: &str, amount: &str, currency: &str) -> Vec<(&'static str, String)> {
    vec![
        ("token", token.to_owned()),
        ("amount", amount.to_owned()),
        ("currency", currency.to_owned()),
    ]
}

#[tokio::test]
async fn transaction_contract_with_form_bodies() {
    let redis = Redis::start();
    let api = TransactionApi::start(&redis);
    let good = token(1, true, now() + 60);
    let not_integer = "Amount must be a whole number of minor units, e.g. 2000 for 20.00";
    let cases: Vec<Case> = vec![
        (vec![], 422, Some("Token is blank")),
        (form("", "2000", "GBP"), 422, Some("Token is blank")),
        (
            vec![("token", good.clone()), ("currency", "GBP".into())],
            422,
            Some("Amount is blank"),
        ),
        (form(&good, "", "GBP"), 422, Some("Amount is blank")),
        (form(&good, "0", "GBP"), 422, Some("Amount is blank")),
        (form(&good, "abc", "GBP"), 422, Some(not_integer)),
        (form(&good, "10.5", "GBP"), 422, Some(not_integer)),
        (
            form(&good, "-5", "GBP"),
            422,
            Some("Amount must be positive"),
        ),
        (
            form(&good, "100000000000000000000000000", "GBP"),
            422,
            Some("Amount is too large: at most 9007199254740991"),
        ),
        (
            vec![("token", good.clone()), ("amount", "2000".into())],
            422,
            Some("Currency is blank"),
        ),
        (form(&good, "2000", ""), 422, Some("Currency is blank")),
        (
            form(&good, "2000", "gbp"),
            422,
            Some("Invalid currency code"),
        ),
        (
            form(&good, "2000", "GBPX"),
            422,
            Some("Invalid currency code"),
        ),
        (
            form(&good, "2000", "G1P"),
            422,
            Some("Invalid currency code"),
        ),
        (
            form("nonsense", "2000", "GBP"),
            422,
            Some("Not enough segments"),
        ),
        (
            form(&token(3, false, now() + 60), "2000", "GBP"),
            403,
            Some("User cannot transact"),
        ),
        (form(&good, "2000", "GBP"), 200, None),
    ];
    for (form, status, error) in &cases {
        let (got_status, body) = api.post(form).await;
        assert_eq!(got_status, *status, "{form:?}: {body}");
        match error {
            Some(message) => assert_eq!(body, json!({ "error": message }), "{form:?}"),
            None => {
                assert_eq!(body["user_id"], 1, "{body}");
                assert_eq!(body["amount"], 2000, "{body}");
                assert_eq!(body["currency"], "GBP", "{body}");
                let id = body["id"].as_str().expect("an id");
                assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
            }
        }
    }
    // Only the one valid request reached the queue.
    assert_eq!(stream_entries(&redis).len(), 1);
}

#[tokio::test]
async fn token_refusals() {
    let redis = Redis::start();
    let api = TransactionApi::start(&redis);
    let fresh = now() + 60;
    let foreign = Keys::new("another-secret").unwrap().issue(&Claims {
        user_id: 1,
        username: "alice".into(),
        can_transact: true,
        exp: fresh,
    });
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            token(1, true, now() - 5),
            "Signature has expired",
        ),
        ("wrong secret", foreign, "Signature verification failed"),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"JWT"}"#),
                b64(claims_json(1, fresh).as_bytes())
            ),
            "The specified alg value is not allowed",
        ),
        (
            "HS512",
            forged(
                r#"{"alg":"HS512","typ":"JWT"}"#,
                &claims_json(1, fresh),
                true,
            ),
            "The specified alg value is not allowed",
        ),
        ("two segments", "abc.def".into(), "Not enough segments"),
    ];
    for (name, token, message) in cases {
        let (status, body) = api.post(&form(&token, "2000", "GBP")).await;
        assert_eq!((status, body), (422, json!({ "error": message })), "{name}");
    }
    // A token missing claims gets a 422 with a reason, whatever its exact words.
    let no_user = forged(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &format!(r#"{{"username":"alice","exp":{fresh}}}"#),
        false,
    );
    let (status, body) = api.post(&form(&no_user, "2000", "GBP")).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("Invalid claims"),
        "{body}"
    );
    // A hand-signed HS256 token, as another team's service would make, is accepted.
    let hand_signed = forged(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &claims_json(2, fresh),
        false,
    );
    let (status, body) = api.post(&form(&hand_signed, "150", "EUR")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_id"], 2);
    assert!(stream_entries(&redis).len() == 1);
}

#[tokio::test]
async fn accepted_transaction_is_on_the_stream_with_the_exact_fields() {
    let redis = Redis::start();
    let api = TransactionApi::start(&redis);
    let before = now();
    let (status, body) = api
        .post(&form(&token(2, true, now() + 60), "2000", "GBP"))
        .await;
    let after = now();
    assert_eq!(status, 200, "{body}");
    let entries = stream_entries(&redis);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let (_, fields) = &entries[0];
    let names: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["id", "user_id", "amount", "currency", "created_at"]);
    let value = |name: &str| fields.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(value("id"), body["id"].as_str().unwrap());
    assert_eq!(value("user_id"), "2");
    assert_eq!(value("amount"), "2000");
    assert_eq!(value("currency"), "GBP");
    let created_at: u64 = value("created_at").parse().unwrap();
    assert!((before..=after).contains(&created_at), "{created_at}");
    assert_eq!(
        body.as_object().unwrap().len(),
        4,
        "receipt has id, user_id, amount, currency only: {body}"
    );
}

#[tokio::test]
async fn a_client_id_is_kept_so_a_retry_is_the_same_transaction() {
    let redis = Redis::start();
    let api = TransactionApi::start(&redis);
    let good = token(1, true, now() + 60);
    let id = "67e55044-10b1-426f-9247-bb680e5fe0c8".to_owned();
    let mut with_id = form(&good, "2000", "GBP");
    with_id.push(("id", id.clone()));
    for _ in 0..2 {
        let (status, body) = api.post(&with_id).await;
        assert_eq!(
            (status, body["id"].as_str()),
            (200, Some(id.as_str())),
            "{body}"
        );
    }
    // Both on the stream under one id: the worker counts an id once.
    let ids: Vec<String> = stream_entries(&redis)
        .into_iter()
        .map(|(_, fields)| fields.into_iter().find(|(name, _)| name == "id").unwrap().1)
        .collect();
    assert_eq!(ids, [id.clone(), id]);

    let mut bad = form(&good, "2000", "GBP");
    bad.push(("id", "not-a-uuid".to_owned()));
    let (status, body) = api.post(&bad).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"],
        "Invalid transaction id: give a UUID, or no id"
    );
}

#[tokio::test]
async fn json_bodies_are_accepted_too() {
    let redis = Redis::start();
    let api = TransactionApi::start(&redis);
    let url = api.url("/transactions");
    let good = token(1, true, now() + 60);
    let (status, body) = api
        .answer(
            api.client
                .post(&url)
                .json(&json!({"token": good, "amount": 2500, "currency": "USD"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["amount"].clone(), body["currency"].clone()),
        (json!(2500), json!("USD"))
    );
    let (status, body) = api
        .answer(
            api.client
                .post(&url)
                .json(&json!({"token": good, "amount": 10.5, "currency": "USD"})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(stream_entries(&redis).len(), 1);
}

#[tokio::test]
async fn errors_are_json_everywhere() {
    let redis = Redis::start();
    let api = TransactionApi::start(&redis);
    let (status, body) = api.health().await;
    assert_eq!(
        (status, body),
        (200, json!({"healthy": true, "redis": true}))
    );
    let (status, body) = api.answer(api.client.get(api.url("/nowhere"))).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].is_string());
    let (status, body) = api.answer(api.client.get(api.url("/transactions"))).await;
    assert_eq!(status, 405, "{body}");
    assert!(body["error"].is_string());
    for (content_type, text) in [
        ("application/json", "{\"token\": "),
        ("application/json", "42"),
        ("application/xml", "<token/>"),
    ] {
        let (status, body) = api
            .answer(
                api.client
                    .post(api.url("/transactions"))
                    .header("content-type", content_type)
                    .body(text),
            )
            .await;
        assert!((400..500).contains(&status), "{content_type}: {status}");
        assert!(body["error"].is_string(), "{content_type}: {body}");
    }
}

#[tokio::test]
async fn token_from_the_real_auth_api_is_accepted() {
    let auth_binary =
        std::panic::catch_unwind(|| workspace_binary("auth-api")).unwrap_or_else(|_| {
            panic!(
                "this test runs the auth-api binary: build it first with \
                 `cargo build -p auth-api` (or run `cargo test --workspace`)"
            )
        });
    let auth_port = free_port();
    let _auth = start_service(
        &auth_binary,
        auth_port,
        &[
            ("JWT_SECRET", SECRET.to_owned()),
            (
                "USERS_FILE",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../auth-api/users.json").to_owned(),
            ),
        ],
    );
    let redis = Redis::start();
    let api = TransactionApi::start(&redis);
    let client = TransactionApi::client();
    for (username, expected_status) in [("alice", 200), ("charlie", 403)] {
        let reply: Value = client
            .post(format!("http://127.0.0.1:{auth_port}/token"))
            .form(&[("username", username), ("password", "password")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = reply["token"].as_str().expect("auth-api gives a token");
        let (status, body) = api.post(&form(token, "2000", "GBP")).await;
        assert_eq!(status, expected_status, "{username}: {body}");
        if status == 200 {
            assert_eq!(body["user_id"], 1);
        }
    }
}

#[tokio::test]
async fn redis_going_away_gives_503_quickly_then_recovers() {
    let mut redis = Redis::start();
    let api = TransactionApi::start(&redis);
    let good = token(1, true, now() + 120);
    assert_eq!(api.post(&form(&good, "100", "GBP")).await.0, 200);

    redis.process.signal("KILL");
    redis.process.wait(Duration::from_secs(5));
    for _ in 0..3 {
        let started = Instant::now();
        let (status, body) = api.post(&form(&good, "100", "GBP")).await;
        assert_eq!(status, 503, "{body}");
        assert!(body["error"].is_string(), "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    let (status, body) = api.health().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        (body["healthy"].clone(), body["redis"].clone()),
        (json!(false), json!(false))
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        !healthcheck(api.port),
        "healthcheck must fail while Redis is down"
    );

    // A new Redis on the same port: the service reconnects by itself.
    let mut command = Command::new("redis-server");
    command
        .args(["--port", &redis.port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null());
    let _revived = Process::spawn(command);
    assert!(wait_until(Duration::from_secs(10), || port_open(
        redis.port
    )));
    let mut recovered = false;
    for _ in 0..50 {
        if api.post(&form(&good, "100", "GBP")).await.0 == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "no 200 within 10 s of Redis coming back");
    assert_eq!(api.health().await.0, 200);
}

#[tokio::test]
async fn redis_that_stops_answering_gives_503_not_a_hang() {
    let redis = Redis::start();
    let api = TransactionApi::start(&redis);
    let good = token(1, true, now() + 120);
    assert_eq!(api.post(&form(&good, "100", "GBP")).await.0, 200);

    // SIGSTOP: the connection stays open but nothing answers, the worst case for a client.
    redis.process.signal("STOP");
    let resume = ResumeOnDrop(&redis.process);
    let started = Instant::now();
    let (status, body) = api.post(&form(&good, "100", "GBP")).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("retry with the same id"),
        "{body}"
    );
    // The id to retry with: Redis may yet take the entry, so the retry must name it.
    let id = body["id"].as_str().expect("the transaction's id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    assert_eq!(api.health().await.0, 503);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop(resume);

    let mut recovered = false;
    for _ in 0..50 {
        if api.post(&form(&good, "100", "GBP")).await.0 == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "no 200 within 10 s of Redis answering again");
}

/// Sends SIGCONT to a stopped process when the test ends, failed or not, so the drop
/// guard's SIGKILL of the stopped redis-server is reaped at once.
struct ResumeOnDrop<'p>(&'p Process);

impl Drop for ResumeOnDrop<'_> {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(self.0.pid().to_string())
            .status();
    }
}

#[tokio::test]
async fn starts_without_redis_and_says_so() {
    let api = TransactionApi::start_without_redis();
    let started = Instant::now();
    let (status, body) = api.health().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["healthy"], false);
    let (status, body) = api
        .post(&form(&token(1, true, now() + 60), "100", "GBP"))
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].is_string());
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    // Field errors do not need Redis and are still answered as such.
    let (status, body) = api.post(&form("", "100", "GBP")).await;
    assert_eq!((status, body), (422, json!({"error": "Token is blank"})));
}

fn healthcheck(port: u16) -> bool {
    Command::new(binary())
        .arg("healthcheck")
        .env_clear()
        .env("HTTP_PORT", port.to_string())
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn healthcheck_command_passes_with_redis() {
    let redis = Redis::start();
    let api = TransactionApi::start(&redis);
    assert!(healthcheck(api.port));
    assert!(!healthcheck(free_port()));
}

#[test]
fn bad_configuration_stops_the_service() {
    let port = free_port().to_string();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("HTTP_PORT", &port)], "JWT_SECRET"),
        (&[("JWT_SECRET", ""), ("HTTP_PORT", &port)], "JWT_SECRET"),
        (&[("JWT_SECRET", "s"), ("HTTP_PORT", "abc")], "HTTP_PORT"),
        (
            &[
                ("JWT_SECRET", "s"),
                ("HTTP_PORT", &port),
                ("REDIS_URL", "nope://x"),
            ],
            "REDIS_URL",
        ),
    ];
    for (env, variable) in cases {
        let output = Command::new(binary())
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("transaction-api runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            !output.status.success() && output.status.code().is_some(),
            "{env:?}: {:?} {stdout}",
            output.status
        );
        let lines: Vec<&str> = stdout.lines().filter(|l| l.contains(variable)).collect();
        assert_eq!(lines.len(), 1, "{env:?}: {stdout}");
    }
}
