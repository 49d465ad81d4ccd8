//! The auth-api binary against the contract: started as a real process on a free loopback
//! port, spoken to over HTTP with form and JSON bodies.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use platform::testing::{Process, free_port, start_service};
use platform::token::Keys;
use serde_json::{Value, json};

const SECRET: &str = "auth-api-test-secret";

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_auth-api"))
}

fn shipped_users() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/users.json").to_owned()
}

/// A running auth-api and a client for it.
struct AuthApi {
    _process: Process,
    base: String,
    client: reqwest::Client,
}

impl AuthApi {
    fn start(extra_env: &[(&str, String)]) -> Self {
        let port = free_port();
        let mut env = vec![
            ("JWT_SECRET", SECRET.to_owned()),
            ("USERS_FILE", shipped_users()),
        ];
        env.extend(extra_env.iter().cloned());
        let process = start_service(&binary(), port, &env);
        AuthApi {
            _process: process,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    async fn answer(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        platform::testing::json_answer(request).await
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        self.answer(self.client.post(format!("{}{path}", self.base)).form(form))
            .await
    }
}

/// Form fields sent, status expected, and the error message expected (None: a token).
type Case = (
    &'static [(&'static str, &'static str)],
    u16,
    Option<&'static str>,
);

#[tokio::test]
async fn token_contract_with_form_bodies() {
    let api = AuthApi::start(&[]);
    let cases: &[Case] = &[
        (&[("password", "password")], 422, Some("Username is blank")),
        (
            &[("username", ""), ("password", "password")],
            422,
            Some("Username is blank"),
        ),
        (&[("username", "alice")], 422, Some("Password is blank")),
        (
            &[("username", "alice"), ("password", "")],
            422,
            Some("Password is blank"),
        ),
        (
            &[("username", "mallory"), ("password", "password")],
            404,
            Some("User not found"),
        ),
        (
            &[("username", "alice"), ("password", "wrong")],
            401,
            Some("Invalid password"),
        ),
        (
            &[("username", "alice"), ("password", "password")],
            200,
            None,
        ),
    ];
    for (form, status, error) in cases {
        let (got_status, body) = api.post_form("/token", form).await;
        assert_eq!(got_status, *status, "{form:?}: {body}");
        match error {
            Some(message) => assert_eq!(body, json!({ "error": message }), "{form:?}"),
            None => assert!(body["token"].is_string(), "{form:?}: {body}"),
        }
    }
}

#[tokio::test]
async fn issued_token_carries_the_users_claims() {
    let api = AuthApi::start(&[("TOKEN_TTL_SECONDS", "120".to_owned())]);
    let keys = Keys::new(SECRET).unwrap();
    for (username, user_id, can_transact) in [("alice", 1, true), ("charlie", 3, false)] {
        let before = platform::token::now();
        let (status, body) = api
            .post_form(
                "/token",
                &[("username", username), ("password", "password")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let claims = keys.verify(body["token"].as_str().unwrap()).unwrap();
        assert_eq!(claims.user_id, user_id);
        assert_eq!(claims.username, username);
        assert_eq!(claims.can_transact, can_transact);
        let after = platform::token::now();
        assert!(
            (before + 120..=after + 120).contains(&claims.exp),
            "exp {} not now + 120",
            claims.exp
        );
    }
}

#[tokio::test]
async fn json_bodies_are_accepted_too() {
    let api = AuthApi::start(&[]);
    let url = format!("{}/token", api.base);
    let (status, body) = api
        .answer(
            api.client
                .post(&url)
                .json(&json!({"username": "bob", "password": "password"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["token"].is_string());
    let (status, body) = api
        .answer(api.client.post(&url).json(&json!({"username": "bob"})))
        .await;
    assert_eq!((status, body), (422, json!({"error": "Password is blank"})));
}

#[tokio::test]
async fn errors_are_json_everywhere() {
    let api = AuthApi::start(&[]);
    let base = &api.base;
    let (status, body) = api.answer(api.client.get(format!("{base}/health"))).await;
    assert_eq!((status, body), (200, json!({"healthy": true})));

    let (status, body) = api.answer(api.client.get(format!("{base}/nowhere"))).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].is_string());

    let (status, body) = api.answer(api.client.get(format!("{base}/token"))).await;
    assert_eq!(status, 405, "{body}");
    assert!(body["error"].is_string());

    let malformed = [
        ("application/json", "{\"username\": "),
        ("application/json", "[\"alice\"]"),
        ("text/plain", "username=alice"),
    ];
    for (content_type, text) in malformed {
        let (status, body) = api
            .answer(
                api.client
                    .post(format!("{base}/token"))
                    .header("content-type", content_type)
                    .body(text),
            )
            .await;
        assert!(
            (400..500).contains(&status),
            "{content_type} {text}: {status}"
        );
        assert!(body["error"].is_string(), "{content_type} {text}: {body}");
    }
}

/// Runs the binary with exactly `env` and expects it to stop at once with a non-zero exit
/// code and one line naming `variable`.
fn assert_refuses_to_start(env: &[(&str, &str)], variable: &str) {
    let mut command = Command::new(binary());
    command.env_clear().envs(env.iter().copied());
    let output = command
        .stdin(Stdio::null())
        .output()
        .expect("auth-api runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success() && output.status.code().is_some(),
        "{env:?}: status {:?}, stdout {stdout}",
        output.status
    );
    let lines: Vec<&str> = stdout.lines().filter(|l| l.contains(variable)).collect();
    assert_eq!(lines.len(), 1, "{env:?}: stdout {stdout}");
}

#[test]
fn bad_configuration_stops_the_service() {
    let users = shipped_users();
    let port = free_port().to_string();
    let invalid_users = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(invalid_users.path(), "[{\"id\": 1}]").unwrap();
    let invalid_users = invalid_users.path().to_str().unwrap().to_owned();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("USERS_FILE", &users), ("HTTP_PORT", &port)],
            "JWT_SECRET",
        ),
        (
            vec![
                ("JWT_SECRET", "s"),
                ("USERS_FILE", &users),
                ("HTTP_PORT", "abc"),
            ],
            "HTTP_PORT",
        ),
        (
            vec![
                ("JWT_SECRET", "s"),
                ("USERS_FILE", "/nonexistent/users.json"),
                ("HTTP_PORT", &port),
            ],
            "USERS_FILE",
        ),
        (
            vec![
                ("JWT_SECRET", "s"),
                ("USERS_FILE", &invalid_users),
                ("HTTP_PORT", &port),
            ],
            "USERS_FILE",
        ),
        (
            vec![
                ("JWT_SECRET", "s"),
                ("USERS_FILE", &users),
                ("HTTP_PORT", &port),
                ("TOKEN_TTL_SECONDS", "soon"),
            ],
            "TOKEN_TTL_SECONDS",
        ),
    ];
    for (env, variable) in cases {
        assert_refuses_to_start(&env, variable);
    }
}

#[test]
fn expired_tokens_follow_the_ttl() {
    // A 1-second TTL: the token is good now and refused once its second has passed.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let api = AuthApi::start(&[("TOKEN_TTL_SECONDS", "1".to_owned())]);
    let (status, body) = runtime
        .block_on(api.post_form("/token", &[("username", "alice"), ("password", "password")]));
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let keys = Keys::new(SECRET).unwrap();
    let exp = keys.verify(&token).map(|claims| claims.exp);
    // Issued within this second, so it expires at most 1 s from now.
    assert!(exp.is_ok_and(|exp| exp <= platform::token::now() + 1));
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        keys.verify(&token).unwrap_err().to_string(),
        "Signature has expired"
    );
}

#[test]
fn healthcheck_command_reflects_the_service() {
    let api = AuthApi::start(&[]);
    let port = api.base.rsplit(':').next().unwrap().to_owned();
    let run = |port: &str| {
        Command::new(binary())
            .arg("healthcheck")
            .env_clear()
            .env("HTTP_PORT", port)
            .stdout(Stdio::null())
            .status()
            .unwrap()
    };
    assert!(run(&port).success());
    assert!(!run(&free_port().to_string()).success());
}
